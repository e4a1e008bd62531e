/* timing.h: the timing method and table output that the benchmarks and scalebench share
 * (part of the internal reference library, libndpar_ref.a; not part of ndpar's API). */
#ifndef NDPAR_REF_TIMING_H
#define NDPAR_REF_TIMING_H

#include <stddef.h>
#include <stdio.h>

/* Times several variants of one kernel, interleaved: each repeat runs every variant once
 * (after bench_settle and one untimed call of its own), so a slow phase of a shared machine hits all variants
 * alike. medians[i] (seconds) of variant i after `warmup` untimed rounds. */
void bench_compare(void (*const *fns)(void *), size_t nfns, void *ctx, int warmup, int reps,
                   double *medians);
/* The same, calling prepare(ctx) (if not NULL) right before each timed call, after the
 * untimed one: for variants that consume their input (an in-place transform). */
void bench_compare_prepared(void (*const *fns)(void *), size_t nfns, void *ctx, int warmup,
                            int reps, void (*prepare)(void *), double *medians);

/* A variant's fastest, median and slowest timed call. */
typedef struct {
  double min, med, max;
} bench_stats;

/* bench_compare_prepared giving each variant's min, median and max (seconds) in stats[i]. */
void bench_compare_stats(void (*const *fns)(void *), size_t nfns, void *ctx, int warmup,
                         int reps, void (*prepare)(void *), bench_stats *stats);
/* The same in milliseconds. */
void bench_compare_stats_ms(void (*const *fns)(void *), size_t nfns, void *ctx, int warmup,
                            int reps, void (*prepare)(void *), bench_stats *stats);

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

#endif
