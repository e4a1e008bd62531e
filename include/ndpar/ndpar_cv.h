/* ndpar_cv.h: cross-validation: fold sets as index lists, and every fold's fit-and-score
 * in parallel. Scores follow scikit-learn: higher is better.
 */
#ifndef NDPAR_CV_H
#define NDPAR_CV_H

#include "ndpar/ndpar_core.h"
#include "ndpar/ndpar_pool.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ndpar_folds ndpar_folds;

/* k folds of the indices 0..n-1: fold i validates on its block and trains on the rest.
 * Blocks are contiguous (shuffle = 0) or drawn from a permutation seeded by seed; sizes
 * differ by at most one (the first n % k folds have one more). 2 <= k <= n, else NULL
 * with GSL_EINVAL naming the argument. */
NDPAR_API ndpar_folds *ndpar_folds_kfold(size_t n, size_t k, int shuffle, unsigned long seed);

/* Time-series windows, as neuralforecast's cross_validation and scikit-learn's
 * TimeSeriesSplit: `windows` validation windows of `horizon` points; the last ends at n,
 * and each earlier one starts `step` points before the next. Window w trains on the points
 * before (validation start - gap): all of them (max_train = 0, expanding) or the last
 * max_train (rolling). Never trains on an index at or after validation start - gap.
 * NULL with GSL_EINVAL if windows, horizon or (for windows > 1) step is 0, or if the first
 * window would leave no training data. */
NDPAR_API ndpar_folds *ndpar_folds_timeseries(size_t n, size_t windows, size_t horizon, size_t step,
                                              size_t gap, size_t max_train);

/* The time-series split's sizes by name: five counts in a row cannot be swapped silently.
 * ndpar_folds_timeseries stays as the positional form (a thin wrapper of the same code). */
typedef struct {
  size_t windows;   /* validation windows (>= 1) */
  size_t horizon;   /* points per validation window (>= 1) */
  size_t step;      /* points between window starts; 0: horizon (windows back to back) */
  size_t gap;       /* points left out between training and validation */
  size_t max_train; /* 0: expanding (every earlier point); else the last max_train points */
} ndpar_timeseries_options;

/* The defaults: 5 windows of horizon 1, back to back, no gap, expanding. NULL: a no-op. */
NDPAR_API void ndpar_timeseries_options_init(ndpar_timeseries_options *opt);

/* ndpar_folds_timeseries(n, opt->windows, opt->horizon, opt->step or opt->horizon when 0,
 * opt->gap, opt->max_train): the same folds. NULL with GSL_EFAULT for opt NULL, GSL_EINVAL
 * naming the field ("opt->horizon") as ndpar_folds_timeseries. */
NDPAR_API ndpar_folds *ndpar_folds_timeseries_opts(size_t n, const ndpar_timeseries_options *opt);

/* ---- more splitters (scikit-learn's; validation and training indices ascending) ----
 * Where scikit-learn's splitter is deterministic (no shuffle), these give its folds index
 * for index. Shuffled forms draw from ndpar's streams, not numpy's: reproducible from the
 * seed, independent of threads, but not scikit-learn's permutations. */

/* RepeatedKFold: repeats x k folds; fold r k + i is fold i of the shuffled k-fold
 * ndpar_folds_kfold(n, k, 1, ndpar_stream_seed(seed, r)). 2 <= k <= n, repeats >= 1. */
NDPAR_API ndpar_folds *ndpar_folds_repeated_kfold(size_t n, size_t k, size_t repeats,
                                                  unsigned long seed);

/* StratifiedKFold: k folds that keep the class proportions of y (n integer labels).
 * Classes are numbered by first appearance and their samples dealt to the folds as
 * scikit-learn deals them (round robin over the class-sorted samples, each class's
 * samples in index order, or shuffled with the seed). GSL_EINVAL: k < 2, k > n, or every
 * class smaller than k (classes smaller than k are allowed where one is not, as
 * scikit-learn warns and goes on). */
NDPAR_API ndpar_folds *ndpar_folds_stratified(const int *y, size_t n, size_t k, int shuffle,
                                              unsigned long seed);

/* GroupKFold: k folds over n samples in groups (n integer labels); no group is on both
 * sides of a fold. Groups, largest first, go each to the fold with the fewest samples so
 * far (the lowest index among equals); among groups of equal size the larger label goes
 * first, as a stable argsort gives. scikit-learn's folds for up to 16 groups in all (numpy's
 * default argsort is stable only there); from 17 groups on, ties may be ordered otherwise
 * by numpy, and folds differ where sizes tie (docs/cv.md).
 * GSL_EINVAL: k < 2, k > n, fewer than k groups. */
NDPAR_API ndpar_folds *ndpar_folds_group(const int *groups, size_t n, size_t k);

/* ShuffleSplit: `splits` independent random splits; split s validates on nval samples and
 * trains on ntrain others (0: all the other n - nval), drawn by a permutation from stream
 * (seed, s). scikit-learn's fractions are counts here: test_size = f gives nval =
 * ceil(f n), train_size = f gives ntrain = floor(f n). GSL_EINVAL: splits or nval 0,
 * nval >= n, nval + ntrain > n. */
NDPAR_API ndpar_folds *ndpar_folds_shuffle_split(size_t n, size_t splits, size_t nval,
                                                 size_t ntrain, unsigned long seed);

/* Folds the caller supplies: allocate k empty folds, then set each (the arrays are copied;
 * indices must be < n, neither set empty). */
NDPAR_API ndpar_folds *ndpar_folds_alloc(size_t n, size_t k);
NDPAR_API int ndpar_folds_set(ndpar_folds *f, size_t i, const size_t *train, size_t ntrain,
                              const size_t *val, size_t nval);

NDPAR_API size_t ndpar_folds_count(const ndpar_folds *f);
/* The number of samples the folds index into. */
NDPAR_API size_t ndpar_folds_samples(const ndpar_folds *f);
/* Fold i's training and validation indices (any output may be NULL). *train and *val point
 * into the folds' own arrays: read-only, valid until fold i is set again or the folds are
 * freed. GSL_EINVAL for i >= the fold count, a fold never set, or train and val (ntrain
 * and nval) the same output. */
NDPAR_API int ndpar_folds_get(const ndpar_folds *f, size_t i, const size_t **train, size_t *ntrain,
                              const size_t **val, size_t *nval);
NDPAR_API void ndpar_folds_free(ndpar_folds *f);

/* Fits on (xtr, ytr), scores on (xva, yva) into *score (higher is better). The matrices
 * are views into x (contiguous index runs) or per-worker copies; never write to them.
 * t->index is the fold. Return 0 or a status; never call the GSL error handler. */
typedef int (*ndpar_fit_score_fn)(const gsl_matrix *xtr, const gsl_vector *ytr,
                                  const gsl_matrix *xva, const gsl_vector *yva, double *score,
                                  const ndpar_task *t, void *ctx);

/* scores[i] = the score of fold i, every fold in parallel. x rows = y length = the folds'
 * sample count (GSL_EBADLEN), scores of the folds' count (GSL_EBADLEN). A failing fold
 * stops the run and returns its status (scores untouched). ndpar_cv_run_ex: *failed
 * (optional) = the failing fold (the fold count on success; untouched when an argument is
 * rejected). These allocate the gathered folds' buffers on every call: repeated runs
 * should use a workspace and ndpar_cv_run_ws, which gives the same scores. */
NDPAR_API int ndpar_cv_run(ndpar_pool *p, const gsl_matrix *x, const gsl_vector *y,
                           const ndpar_folds *folds, ndpar_fit_score_fn f, void *ctx,
                           gsl_vector *scores);
NDPAR_API int ndpar_cv_run_ex(ndpar_pool *p, const gsl_matrix *x, const gsl_vector *y,
                              const ndpar_folds *folds, ndpar_fit_score_fn f, void *ctx,
                              gsl_vector *scores, size_t *failed);

/* ---- workspace: cross-validation without allocation ----
 * The working memory of ndpar_cv_run, allocated once (as gsl_multifit_linear_workspace):
 * per worker of the pool, a training and a validation matrix and vector for the folds whose
 * indices are not one ascending run (those are gathered; runs are views), and the scores. */
typedef struct ndpar_cv_workspace ndpar_cv_workspace;

/* A workspace for runs over folds like `folds` (at most as many folds, gathered folds at
 * most as large) of data with cols columns, on pool (NULL: the default pool; it must
 * outlive the workspace). NULL with a GSL error: folds NULL (GSL_EFAULT), a fold never set
 * or cols 0 (GSL_EINVAL), the default pool cannot start (GSL_EFAILED), out of memory
 * (GSL_ENOMEM). */
NDPAR_API ndpar_cv_workspace *ndpar_cv_workspace_alloc(ndpar_pool *pool,
                                                       const ndpar_folds *folds, size_t cols);
/* NULL is a no-op. */
NDPAR_API void ndpar_cv_workspace_free(ndpar_cv_workspace *w);

/* ndpar_cv_run_ex on the workspace's pool and memory: allocates nothing (the callback
 * aside) and gives the same scores. Before any work: w NULL (GSL_EFAULT); x not of the
 * workspace's columns, more folds or larger gathered folds than it holds (GSL_EBADLEN,
 * naming the argument); the other checks as ndpar_cv_run. One call at a time per
 * workspace. */
NDPAR_API int ndpar_cv_run_ws(ndpar_cv_workspace *w, const gsl_matrix *x, const gsl_vector *y,
                              const ndpar_folds *folds, ndpar_fit_score_fn f, void *ctx,
                              gsl_vector *scores, size_t *failed);

/* The mean and sample sd (divisor n - 1; 0 for one score) of the scores, skipping NaN;
 * mean and sd the same double: GSL_EINVAL.
 * Infinite scores as numpy's mean and std: +Inf on every fold (or +Inf and finite ones) is a
 * mean of +Inf, +Inf and -Inf a NaN mean; the sd of any infinite score is NaN. */
NDPAR_API int ndpar_cv_summary(const gsl_vector *scores, double *mean, double *sd);

#ifdef __cplusplus
}
#endif
#endif /* NDPAR_CV_H */
