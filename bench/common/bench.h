/* bench.h: timing and table helpers shared by the benchmarks. */
#ifndef NDPAR_BENCH_H
#define NDPAR_BENCH_H

#include <stddef.h>
#include <stdio.h>

#include "ndpar/ndpar_pool.h"

typedef struct {
  double median, min, max; /* seconds per call */
} bench_stats;

/* Calls fn(ctx) `warmup` times, then times `reps` calls one by one. */
bench_stats bench_time(void (*fn)(void *), void *ctx, int warmup, int reps);

/* Times several variants of one kernel, interleaved: each repeat runs every variant once
 * (after bench_settle and one untimed call of its own), so a slow phase of a shared machine hits all variants
 * alike. medians[i] (seconds) of variant i after `warmup` untimed rounds. */
void bench_compare(void (*const *fns)(void *), size_t nfns, void *ctx, int warmup, int reps,
                   double *medians);

/* Sleeps long enough for every spinning runtime (ndpar's workers, libgomp's) to go to
 * sleep, so that the next variant measured has the cores to itself. */
void bench_settle(void);

double bench_median(double *v, size_t n);

/* Common command-line options: --threads N (default: every physical core), --reps N,
 * --quick (fewer repeats, for CI smoke runs), --help. Returns 0, or exits on --help or
 * on a bad option with a message. */
typedef struct {
  size_t threads;
  int reps;
  int quick;
} bench_options;
void bench_parse(int argc, char **argv, const char *name, const char *what, bench_options *o);

/* Prints "name  T  a  b  c ... ratio" rows with a header. */
void bench_header(const char *title, const char *const *columns, size_t ncolumns);
void bench_row(const char *label, size_t threads, const double *values, size_t nvalues,
               const char *unit);

/* One row of a kernel's table: sequential, ndpar and OpenMP (interleaved medians, ms) and
 * the two speedups over sequential. Returns non-zero if a variant failed. */
int bench_kernel_row(const char *label, const void *kernel, void *state, ndpar_pool *pool,
                     size_t threads, int reps);

#endif
