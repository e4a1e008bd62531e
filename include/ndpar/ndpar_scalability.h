/* ndpar_scalability.h: how a workload scales with threads: timings, speedup, efficiency,
 * Karp-Flatt serial fraction, an Amdahl fit, and writers for tables, CSV and JSON.
 */
#ifndef NDPAR_SCALABILITY_H
#define NDPAR_SCALABILITY_H

#include <stdio.h>

#include "ndpar/ndpar_core.h"
#include "ndpar/ndpar_pool.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Runs the workload once on the given pool; 0 or a status that stops the measurement. */
typedef int (*ndpar_workload_fn)(ndpar_pool *pool, void *ctx);

typedef struct {
  size_t warmup;   /* untimed runs before timing, per thread count (default 2) */
  size_t repeats;  /* timed runs per thread count (default 11, at least 1: the fewest whose
                    * 95% median interval lies strictly inside [min, max]) */
  ndpar_bind bind; /* binding of each pool (default NDPAR_BIND_CORES) */
  /* Called from the calling thread after each timed run (NULL: none): done of total runs. */
  void (*progress)(size_t done, size_t total, void *ctx);
  void *progress_ctx;
  /* NULL (default), or n x repeats doubles that receive every timed run in ms, in the order
   * run: samples[i * repeats + r] is run r of threads[i] (for a later comparison). */
  double *samples;
} ndpar_scal_config;

/* The confidence level of every interval ndpar_scal_run computes. */
#define NDPAR_SCAL_LEVEL 0.95

NDPAR_API void ndpar_scal_config_init(ndpar_scal_config *cfg);

typedef struct {
  size_t threads;
  double median_ms, min_ms, max_ms, mad_ms; /* mad: median absolute deviation from the median */
  double speedup;         /* median at 1 thread / median here */
  double efficiency;      /* speedup / threads */
  double serial_fraction; /* Karp-Flatt: (1/S - 1/p) / (1 - 1/p); NaN at p = 1 */
  /* The 95% confidence interval of the median (ndpar_scal_median_interval of the runs) and
   * of the speedup (ndpar_scal_run: a bootstrap of the ratio of the two medians over the
   * runs; ndpar_scal_derive: the ratio of the two median intervals' ends, which covers
   * at least as often). [1, 1] at the 1-thread point; NaN where unknown. */
  double median_lo_ms, median_hi_ms;
  double speedup_lo, speedup_hi;
} ndpar_scal_point;

/* Measures the workload at each thread count of the list (each on a pool of that size,
 * allocated and freed in turn), in the order given; n = 0: success, nothing measured.
 * Otherwise the list must contain 1 (the baseline
 * of the speedups), no 0, and at most NDPAR_MAX_THREADS per entry. cfg NULL: the defaults.
 * Errors (GSL_EINVAL/GSL_EFAULT: bad lists, an unknown cfg->bind, repeats whose storage
 * would overflow) are reported before any run; a failing workload returns its status, and
 * a pool that cannot be made the pool's own code (GSL_ENOMEM, or GSL_EFAILED when its
 * threads cannot start: more than memory or the thread limit allow). out[i] belongs to
 * threads[i]. */
NDPAR_API int ndpar_scal_run(const size_t *threads, size_t n, const ndpar_scal_config *cfg,
                             ndpar_workload_fn f, void *ctx, ndpar_scal_point *out);

/* Fills speedup, efficiency and serial_fraction of every point from the medians and the
 * 1-thread point (used by ndpar_scal_run; useful for points measured elsewhere). */
NDPAR_API int ndpar_scal_derive(ndpar_scal_point *pts, size_t n);

/* A distribution-free confidence interval of the median of x[0..n) at the given level
 * (e.g. 0.95): the order statistics that the binomial distribution of the count of runs below
 * the median brackets, interpolated between the two nearest such intervals (Hettmansperger
 * and Sheather, 1986), so the coverage is close to the level, not just at least it, for any
 * continuous distribution of the times. With fewer than 6 values no pair of order statistics
 * reaches 95%: the interval is then [min, max], which covers with probability 1 - 2^(1-n).
 * x is left as it is. Errors: x, lo or hi NULL (GSL_EFAULT), level outside (0, 1)
 * (GSL_EINVAL), a NaN in x (GSL_EDOM); n = 0 does nothing. */
NDPAR_API int ndpar_scal_median_interval(const double *x, size_t n, double level, double *lo,
                                         double *hi);

/* The two-sided p-value of the Mann-Whitney U test (Wilcoxon rank-sum) that the samples a
 * and b come from one distribution, against one tending to larger values than the other:
 * exact (the distribution of U counted) when na x nb <= 2500, else the normal
 * approximation with the tie correction and a continuity correction. Ties count one half
 * (the exact distribution assumes none: with ties the exact p-value is approximate).
 * Free of any assumption about the shape of the times' distribution. Errors: a, b or
 * p_value NULL (GSL_EFAULT), a NaN (GSL_EDOM), na x nb overflowing (GSL_EINVAL); na or nb
 * = 0 does nothing. */
NDPAR_API int ndpar_scal_mann_whitney(const double *a, size_t na, const double *b, size_t nb,
                                      double *p_value);

/* The Karp-Flatt serial fraction of a speedup S on p threads; NaN for p <= 1. */
NDPAR_API double ndpar_scal_karp_flatt(double speedup, size_t threads);

/* Fits Amdahl's law to all points: T(p) = a + b / p (a = T1 (1 - f), b = T1 f) by least
 * squares weighted by 1/T^2, so the 1-thread time is estimated from every point rather
 * than taken from one noisy measurement. Gives the parallel fraction f = b / (a + b)
 * (clamped to [0, 1]), the predicted maximum speedup 1 / (1 - f) (GSL_POSINF for f = 1)
 * and the residual: the root-mean-square relative misfit of the times (NULL outputs are
 * skipped). Needs two distinct thread counts (GSL_EINVAL). For two points this is the
 * per-point estimate p (S - 1) / (S (p - 1)). Any positive finite times fit, from subnormal
 * ones to DBL_MAX (they are scaled by the largest before weighting). */
NDPAR_API int ndpar_scal_amdahl(const ndpar_scal_point *pts, size_t n, double *parallel_fraction,
                                double *max_speedup, double *residual);

/* A confidence interval at the given level of the parallel fraction that ndpar_scal_amdahl
 * fits to pts, from the raw runs (samples[i * repeats + r] is run r of pts[i], as
 * ndpar_scal_config.samples holds them): a percentile bootstrap, 2000 resamples of every
 * point's runs (fixed seed: the same runs give the same interval), each refitted. Fit only
 * points within the physical cores, as for ndpar_scal_amdahl. Errors: pts, samples, lo or
 * hi NULL (GSL_EFAULT), repeats 0 or level outside (0, 1) or fewer than two distinct thread
 * counts (GSL_EINVAL), sizes that overflow (GSL_EINVAL), no memory (GSL_ENOMEM). */
NDPAR_API int ndpar_scal_amdahl_interval(const ndpar_scal_point *pts, size_t n,
                                         const double *samples, size_t repeats, double level,
                                         double *lo, double *hi);

/* Whether an Amdahl fit says anything: NULL if it does, else why not, in words (a static
 * string): a parallel fraction of 1 (the times fall as fast as 1/p or faster, so no serial
 * part shows and no maximum speedup can be predicted), or a residual above 10% (the law
 * does not describe the points). Fit only points with at most as many threads as physical
 * cores: Amdahl's law models threads that each have a core. */
NDPAR_API const char *ndpar_scal_amdahl_degenerate(double parallel_fraction, double residual);

/* The table (Threads, Duration (ms), Speedup, Efficiency),
 * followed by min, max, MAD and Karp-Flatt columns. */
NDPAR_API int ndpar_scal_print(FILE *stream, const ndpar_scal_point *pts, size_t n);

/* CSV: a header line, then one line per point, full precision (%.17g). */
NDPAR_API int ndpar_scal_write_csv(FILE *stream, const ndpar_scal_point *pts, size_t n);

/* The lines alone, each prefixed by "label," when label is not NULL (for one file holding
 * several workloads under a header of "workload," followed by ndpar_scal_csv_header). A
 * label holding a comma, a double quote or a line break is written as one quoted field
 * (RFC 4180, its quotes doubled). */
NDPAR_API int ndpar_scal_write_csv_rows(FILE *stream, const char *label,
                                        const ndpar_scal_point *pts, size_t n);
NDPAR_API extern const char ndpar_scal_csv_header[];

/* JSON: {"points": [{...}, ...], "amdahl": {...}} (amdahl omitted when it cannot be fitted):
 * the fit over the points within the physical cores, with "max_speedup" null unless three or
 * more points were fitted and the fit is not degenerate (two points always fit exactly). */
NDPAR_API int ndpar_scal_write_json(FILE *stream, const ndpar_scal_point *pts, size_t n);

/* The writers above flush the stream and return GSL_EFAILED if any write or the flush
 * failed (a full disk shows only there); the stream stays the caller's to close. */

/* The CSV (JSON) file at path, written whole or not at all: into a temporary in the same
 * folder, renamed over path once every write, the flush and the close succeeded. Errors:
 * path or pts NULL (GSL_EFAULT), path an existing non-regular file such as a device or a
 * folder (GSL_EINVAL), any failure to create, write or rename (GSL_EFAILED, naming the
 * path and the reason; path is then left as it was and no temporary remains). */
NDPAR_API int ndpar_scal_save_csv(const char *path, const ndpar_scal_point *pts, size_t n);
NDPAR_API int ndpar_scal_save_json(const char *path, const ndpar_scal_point *pts, size_t n);

#ifdef __cplusplus
}
#endif
#endif /* NDPAR_SCALABILITY_H */
