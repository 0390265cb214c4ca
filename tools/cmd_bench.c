/* SPDX-License-Identifier: MIT */
/* hipcctl bench: the benchmark program's own code, compiled in here so
 * that `hipcctl bench` and bench/hipc_bench can never measure different
 * things (hipcctl links the library only, so the source is included). */
#include "hipcctl.h"

#include "../bench/bench.c"

int hipcctl_cmd_bench(int argc, char **argv)
{
    return hipc_bench_main(argc, argv);
}
