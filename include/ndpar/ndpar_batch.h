/* ndpar_batch.h: batch inference in parallel, and Monte Carlo (MC dropout) uncertainty.
 *
 * A predict callback maps one input batch (rows = samples) to its caller-allocated output
 * with one row per input row. Batches run in parallel on a pool (NULL: the default pool).
 */
#ifndef NDPAR_BATCH_H
#define NDPAR_BATCH_H

#include "ndpar/ndpar_core.h"
#include "ndpar/ndpar_pool.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The predict callback, ndpar_predict_fn (ndpar_core.h), writes the prediction for x into
 * y (y->size1 == x->size1). t->index is the batch index; in the MC functions t->rng is the
 * stream of this (batch, sample) pair, otherwise NULL. */

/* y[i] = predict(x[i]) for i in [0, n), in parallel. Every y[i] must have x[i]->size1 rows
 * and all y[i] the same number of columns (GSL_EBADLEN, naming the batch). NULL arrays or
 * entries: GSL_EFAULT. n = 0: success, nothing done (the arrays may then be NULL). A callback failure stops the run and
 * returns its status; the outputs of the batches that ran are then unspecified. */
NDPAR_API int ndpar_batch_infer(ndpar_pool *p, const gsl_matrix *const *x, gsl_matrix *const *y,
                                size_t n, ndpar_predict_fn f, void *ctx);

/* ndpar_batch_infer, and on failure *failed = the failing batch (n on success). */
NDPAR_API int ndpar_batch_infer_ex(ndpar_pool *p, const gsl_matrix *const *x, gsl_matrix *const *y,
                                   size_t n, ndpar_predict_fn f, void *ctx, size_t *failed);

/* One large matrix split into batches of batch_rows rows (the last may be shorter), each a
 * view: no copy. y has x->size1 rows; batch i writes rows [i*batch_rows, ...). t->index is
 * the batch index. batch_rows = 0: GSL_EINVAL. */
NDPAR_API int ndpar_batch_infer_rows(ndpar_pool *p, const gsl_matrix *x, size_t batch_rows,
                                     gsl_matrix *y, ndpar_predict_fn f, void *ctx, size_t *failed);

/* Monte Carlo inference: for every batch, `samples` stochastic passes (MC dropout), each
 * with t->rng the stream of (batch, sample) derived from `seed` alone; the output is the
 * element-wise mean and standard deviation over the samples.
 *
 * sd is the sample standard deviation, divisor samples - 1 (as gsl_stats_sd); it may be
 * NULL, and needs samples >= 2 when given. mean[i] and sd[i] have x[i]'s rows and one
 * common column count, and share no memory (GSL_EINVAL: one would overwrite the other;
 * the same for lower and upper in the interval form). The (batch, sample) pairs run as one flat parallel run, so 2
 * batches x 100 samples keep every core busy; the statistics are those of gsl_stats_mean
 * and gsl_stats_sd_m over the samples in sample order, so results are bit-identical for
 * any thread count. Memory: the sample outputs (samples x the total output size); inputs
 * are never copied. On any error or callback failure mean and sd are left untouched.
 * Allocates that memory on every call: repeated calls should use a workspace and
 * ndpar_batch_infer_mc_ws, which gives the same results bit for bit. */
NDPAR_API int ndpar_batch_infer_mc(ndpar_pool *p, const gsl_matrix *const *x, size_t n,
                                   size_t samples, unsigned long seed, ndpar_predict_fn f,
                                   void *ctx, gsl_matrix *const *mean, gsl_matrix *const *sd);

/* ndpar_batch_infer_mc with a central prediction interval: lower[i] and upper[i] (both
 * required when level > 0) receive the (1 - level)/2 and (1 + level)/2 quantiles of the
 * samples of every output element (gsl_stats_quantile_from_sorted_data: linear
 * interpolation between order statistics). level = 0: no interval (lower, upper may be
 * NULL); otherwise level must be in (0, 1). *failed (if not NULL): the failing batch (n on
 * success; untouched when an argument is rejected). */
NDPAR_API int ndpar_batch_infer_mc_interval(ndpar_pool *p, const gsl_matrix *const *x, size_t n,
                                            size_t samples, unsigned long seed, double level,
                                            ndpar_predict_fn f, void *ctx, gsl_matrix *const *mean,
                                            gsl_matrix *const *sd, gsl_matrix *const *lower,
                                            gsl_matrix *const *upper, size_t *failed);


/* ---- Monte Carlo options by name ----
 * The MC functions' three numbers travel in a struct, so that a call cannot swap samples,
 * seed and level silently: ndpar_batch_infer_mc and _mc_interval remain, as thin wrappers
 * with the same results. */
typedef struct {
  size_t samples;     /* stochastic passes per batch (> 0; >= 2 when sd is asked for) */
  unsigned long seed; /* the streams' seed: (seed, batch, sample) fixes each pass's stream */
  double level;       /* the central interval's level in (0, 1); 0: no interval */
} ndpar_mc_options;

/* The defaults: 100 samples, seed 0, level 0 (no interval). NULL is a no-op. */
NDPAR_API void ndpar_mc_options_init(ndpar_mc_options *opt);

/* ndpar_batch_infer_mc_interval with its numbers from *opt (opt NULL: GSL_EFAULT; a bad
 * field: GSL_EINVAL naming it, as "opt->samples"). Same results bit for bit. */
NDPAR_API int ndpar_batch_infer_mc_opts(ndpar_pool *p, const gsl_matrix *const *x, size_t n,
                                        ndpar_predict_fn f, void *ctx,
                                        const ndpar_mc_options *opt, gsl_matrix *const *mean,
                                        gsl_matrix *const *sd, gsl_matrix *const *lower,
                                        gsl_matrix *const *upper, size_t *failed);

/* One large matrix, no arrays: x split into batches of batch_rows rows (views, no copy, the
 * last may be shorter), each its own MC batch (stream of (seed, batch index, sample)); mean
 * (required), sd, lower and upper (optional as in ndpar_batch_infer_mc_interval) have x's
 * rows and one column count, and receive batch i in rows [i*batch_rows, ...). The same
 * numbers as ndpar_batch_infer_mc_opts over those batches. batch_rows 0: GSL_EINVAL;
 * *failed: the failing batch. Allocates the views' arrays (one block) per call. */
NDPAR_API int ndpar_batch_infer_mc_rows(ndpar_pool *p, const gsl_matrix *x, size_t batch_rows,
                                        ndpar_predict_fn f, void *ctx,
                                        const ndpar_mc_options *opt, gsl_matrix *mean,
                                        gsl_matrix *sd, gsl_matrix *lower, gsl_matrix *upper,
                                        size_t *failed);

/* ---- workspace: Monte Carlo inference without allocation ----
 * The working memory of the MC functions, allocated once (as gsl_multifit_linear_workspace):
 * the sample outputs (samples x rows x cols doubles), one random generator and one sort
 * buffer of `samples` doubles per worker of the pool. */
typedef struct ndpar_batch_workspace ndpar_batch_workspace;

/* A workspace for up to n batches of `rows` rows in all, with outputs of cols columns and
 * `samples` samples, on pool (NULL: the default pool; it must outlive the workspace). NULL
 * with a GSL error: n or samples 0, or a size that overflows (GSL_EINVAL), the default pool
 * cannot start (GSL_EFAILED), out of memory (GSL_ENOMEM). */
NDPAR_API ndpar_batch_workspace *ndpar_batch_workspace_alloc(ndpar_pool *pool, size_t n,
                                                             size_t rows, size_t cols,
                                                             size_t samples);
/* NULL is a no-op. */
NDPAR_API void ndpar_batch_workspace_free(ndpar_batch_workspace *w);

/* ndpar_batch_infer_mc_interval on the workspace's pool and memory: allocates nothing (the
 * callback aside) and gives the same results bit for bit. Before any work: w NULL
 * (GSL_EFAULT); more than the workspace's n batches or rows, samples not the workspace's,
 * outputs not of its cols columns (GSL_EBADLEN, naming the argument); the other checks as
 * ndpar_batch_infer_mc_interval. One call at a time per workspace. */
NDPAR_API int ndpar_batch_infer_mc_ws(ndpar_batch_workspace *w, const gsl_matrix *const *x,
                                      size_t n, size_t samples, unsigned long seed,
                                      double level, ndpar_predict_fn f, void *ctx,
                                      gsl_matrix *const *mean, gsl_matrix *const *sd,
                                      gsl_matrix *const *lower, gsl_matrix *const *upper,
                                      size_t *failed);

/* Arrays as users hold them (gsl_matrix *x[n]) without a cast: see ndpar_core.h. */
#ifdef NDPAR_GENERIC_ARRAYS
#define ndpar_batch_infer(p, x, ...) (ndpar_batch_infer)((p), NDPAR_MATRICES(x), __VA_ARGS__)
#define ndpar_batch_infer_ex(p, x, ...) (ndpar_batch_infer_ex)((p), NDPAR_MATRICES(x), __VA_ARGS__)
#define ndpar_batch_infer_mc(p, x, ...) (ndpar_batch_infer_mc)((p), NDPAR_MATRICES(x), __VA_ARGS__)
#define ndpar_batch_infer_mc_interval(p, x, ...) (ndpar_batch_infer_mc_interval)((p), NDPAR_MATRICES(x), __VA_ARGS__)
#define ndpar_batch_infer_mc_opts(p, x, ...) (ndpar_batch_infer_mc_opts)((p), NDPAR_MATRICES(x), __VA_ARGS__)
#define ndpar_batch_infer_mc_ws(w, x, ...) (ndpar_batch_infer_mc_ws)((w), NDPAR_MATRICES(x), __VA_ARGS__)
#endif

#ifdef __cplusplus
}
#endif
#endif /* NDPAR_BATCH_H */
