/* kernel_main.h: the driver the kernel benchmarks share: for T = 1 and T = --threads, one
 * row per case (a kernel and its parameters), sequential vs ndpar vs OpenMP. */
#ifndef NDPAR_BENCH_KERNEL_MAIN_H
#define NDPAR_BENCH_KERNEL_MAIN_H

#include "kernels.h"

typedef struct {
  const char *kernel;
  wl_params params;
} bench_case;

/* Runs the cases; returns the process exit status. */
int bench_kernel_main(int argc, char **argv, const char *name, const char *what,
                      const char *title, const bench_case *cases, size_t ncases, int default_reps);

#endif
