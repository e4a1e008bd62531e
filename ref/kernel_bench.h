/* kernel_bench.h: timing a reference kernel's variants (sequential, ndpar, OpenMP) and the
 * driver the kernel benchmarks share: for T = 1 and T = --threads, one row per case (a kernel
 * and its parameters). Part of the internal reference library; not part of ndpar's API. */
#ifndef NDPAR_REF_KERNEL_BENCH_H
#define NDPAR_REF_KERNEL_BENCH_H

#include <stddef.h>

#include "ndpar/ndpar_pool.h"
#include "ref/kernels.h"

/* A kernel's sequential loop, ndpar call (on pool) and OpenMP loop (threads), timed as
 * bench_compare does: ms[0..nvariants) in that order (nvariants 1: the sequential loop
 * alone). Returns non-zero if a variant failed. */
int bench_kernel_compare(const wl_kernel *kernel, void *state, ndpar_pool *pool, size_t threads,
                         size_t nvariants, int warmup, int reps, double *ms);

/* One row of a kernel's table: sequential, ndpar and OpenMP (interleaved medians, ms) and
 * the two speedups over sequential. Returns non-zero if a variant failed. */
int bench_kernel_row(const char *label, const wl_kernel *kernel, void *state, ndpar_pool *pool,
                     size_t threads, int reps);

typedef struct {
  const char *kernel;
  wl_params params;
} bench_case;

/* Runs the cases; returns the process exit status. */
int bench_kernel_main(int argc, char **argv, const char *name, const char *what,
                      const char *title, const bench_case *cases, size_t ncases, int default_reps);

#endif
