/* SPDX-License-Identifier: MIT */
/* hipc_bench: the benchmark program (the same code runs as `hipcctl bench`). */
#include "bench.h"

int main(int argc, char **argv)
{
    return hipc_bench_main(argc, argv);
}
