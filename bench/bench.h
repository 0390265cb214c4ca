/* SPDX-License-Identifier: MIT */
/* hipc bench — the channel against raw pipes, memcpy and a bare cache line.
 * One implementation behind two faces: the hipc_bench program and
 * `hipcctl bench`. */
#ifndef HIPC_BENCH_H
#define HIPC_BENCH_H

/* argv[0] is the program or command name. Returns an exit code:
 * 0 measured, 1 a measurement failed, 2 bad command line. */
int hipc_bench_main(int argc, char **argv);

#endif
