/* ndpar_grid.h: hyperparameter search: a parameter grid (named axes, Cartesian product),
 * random search, or the caller's own parameter structs, cross-validated with every
 * (candidate, fold) pair in one flat parallel run.
 */
#ifndef NDPAR_GRID_H
#define NDPAR_GRID_H

#include "ndpar/ndpar_cv.h"
#include "ndpar/ndpar_models.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ndpar_grid ndpar_grid;

NDPAR_API ndpar_grid *ndpar_grid_alloc(void);
NDPAR_API void ndpar_grid_free(ndpar_grid *g);

/* Adds a named axis of n values (copied). The grid is the Cartesian product of its axes in
 * the order they were added, the last added varying fastest. (scikit-learn's ParameterGrid
 * sorts the names first: add the axes in strcmp order of their names to number the
 * candidates as it does.) Errors: NULL
 * or empty name, n = 0 (GSL_EINVAL, naming the axis), a name already used. */
NDPAR_API int ndpar_grid_add(ndpar_grid *g, const char *name, const double *values, size_t n);

/* Random search: a grid of n candidates drawn from the axes' ranges, one draw per axis per
 * candidate from a stream derived from (seed, candidate): uniform on [lo, hi], or
 * log-uniform (log = 1; then 0 < lo). Errors (NULL): lo > hi, non-finite bounds, lo <= 0
 * for a log axis, n = 0, no axes (GSL_EINVAL); axes NULL (GSL_EFAULT). */
typedef struct {
  const char *name;
  double lo, hi;
  int log;
} ndpar_grid_range;
NDPAR_API ndpar_grid *ndpar_grid_random(const ndpar_grid_range *axes, size_t naxes, size_t n,
                                        unsigned long seed);

NDPAR_API size_t ndpar_grid_size(const ndpar_grid *g);  /* candidates (0 for an empty grid) */
NDPAR_API size_t ndpar_grid_naxes(const ndpar_grid *g);
/* The name of an axis (NULL for axis >= naxes or g NULL): the grid's own copy, valid until
 * the grid is freed. */
NDPAR_API const char *ndpar_grid_axis_name(const ndpar_grid *g, size_t axis);
/* The values of candidate i, one per axis, into params (naxes entries). */
NDPAR_API int ndpar_grid_candidate(const ndpar_grid *g, size_t i, double *params);

/* Fits candidate `params` on the training fold and scores it on the validation fold
 * (higher is better). For a grid, params points to the candidate's naxes doubles (in axis
 * order); for ndpar_grid_search_params, to the caller's struct. t->index is the flat
 * (candidate x folds + fold) task. Never call the GSL error handler: return a status. */
typedef int (*ndpar_param_fit_score_fn)(const void *params, size_t candidate,
                                        const gsl_matrix *xtr, const gsl_vector *ytr,
                                        const gsl_matrix *xva, const gsl_vector *yva,
                                        double *score, const ndpar_task *t, void *ctx);

/* What a search returns; allocate with ndpar_grid_result_alloc(candidates, folds). */
typedef struct {
  size_t candidates, folds;
  gsl_matrix *scores; /* candidates x folds; NaN where a fold failed */
  gsl_vector *mean;   /* per candidate, over its folds (NaN if any fold failed) */
  gsl_vector *sd;     /* sample sd over the folds (0 for one fold) */
  size_t *rank;       /* scipy's rankdata(-mean, method="min"), as scikit-learn's rank_test_score:
                         1 = best, equal means share the best rank of their group (1, 2, 2, 4),
                         NaN means tie after the others (all NaN: all 1) */
  int *status;        /* per candidate: 0, or the first failing fold's status */
  size_t best;        /* the highest mean, ties to the lowest index; candidates if none */
  /* ---- every score, times, refit (the estimator forms below; see ndpar_grid_search_est) ----
   * scores, mean and sd above are those of the ranking score (opts->rank_score). */
  size_t nscores;           /* scores per (candidate, fold): 1 for the fit-and-score forms */
  gsl_matrix *all_scores;   /* candidates x (folds nscores): fold j's score s at column j nscores + s */
  gsl_matrix *all_mean, *all_sd;       /* candidates x nscores, over the folds */
  gsl_matrix *train_scores;            /* as all_scores, on the training folds: only in results
                                          allocated with train = 1 (else NULL) */
  gsl_matrix *train_mean, *train_sd;   /* candidates x nscores, or NULL */
  gsl_vector *fit_time_mean, *fit_time_sd;     /* seconds per fit, over the folds (NaN where not */
  gsl_vector *score_time_mean, *score_time_sd; /* measured: the fit-and-score forms) */
  size_t *round;            /* successive halving: the last round each candidate ran (0 otherwise) */
  void *best_params;        /* a copy of the best candidate's parameters (NULL if none) */
  size_t params_size;       /* its bytes */
  void *refit;              /* NDPAR_GRID_REFIT: the best candidate fitted on all the data (the
                               estimator's model), released with the result */
  void (*refit_release)(void *model, void *ctx); /* (how the result releases it) */
  void *refit_ctx;
} ndpar_grid_result;

NDPAR_API ndpar_grid_result *ndpar_grid_result_alloc(size_t candidates, size_t folds);
/* A result for an estimator search of nscores scores per fold (>= 1), with the training
 * scores' matrices if train is not 0. */
NDPAR_API ndpar_grid_result *ndpar_grid_result_alloc_est(size_t candidates, size_t folds,
                                                         size_t nscores, int train);
NDPAR_API void ndpar_grid_result_free(ndpar_grid_result *r);

enum {
  NDPAR_GRID_STOP_ON_ERROR = 1, /* stop at the first failure and return its status, instead
                                   of scoring the failed candidate NaN (scikit-learn's
                                   error_score) and going on */
  NDPAR_GRID_ERROR_SCORE = 2,   /* score a failed fit opts->error_score (a number, as
                                   scikit-learn's numeric error_score) instead of NaN */
  NDPAR_GRID_POPULATION_SD = 4, /* sd over the folds with divisor k (ddof = 0, scikit-learn's
                                   std_test_score) instead of k - 1 */
  NDPAR_GRID_TRAIN_SCORES = 8,  /* estimator forms: also score each fit on its training fold
                                   (return_train_score); the result needs train = 1 */
  NDPAR_GRID_REFIT = 16         /* estimator forms: fit the best candidate on all the data
                                   afterwards, into result->refit */
};

/* Zero-initialised options are the defaults: go on past failures scoring NaN, sample sd,
 * rank by the first score, no progress. */
typedef struct {
  int flags;
  /* Called from the calling thread as candidates complete: done of total (NULL: none). */
  void (*progress)(size_t done, size_t total, void *ctx);
  void *progress_ctx;
  double error_score; /* with NDPAR_GRID_ERROR_SCORE: every score of a failed fit */
  size_t rank_score;  /* estimator forms: which of the nscores scores ranks (scikit-learn's
                         refit="name"); 0: the first */
  /* model forms: the scores of each fit (nscores of them; NULL or 0: NDPAR_SCORE_NEG_MSE
     alone); rank_score picks the one that ranks. */
  const ndpar_score_kind *scores;
  size_t nscores;
} ndpar_grid_options;

/* Every candidate of g on every fold, as one flat parallel run of candidates x folds
 * tasks, so a 4 x 5 search keeps every core busy even if one candidate is slow. opts may
 * be NULL (go on past failures, no progress). Errors: an empty grid, NULL arguments,
 * result sized for another search (GSL_EBADLEN), x and y not matching the folds. Returns
 * GSL_SUCCESS even when some candidates failed (see result->status), unless
 * NDPAR_GRID_STOP_ON_ERROR. */
NDPAR_API int ndpar_grid_search(ndpar_pool *p, const ndpar_grid *g, const gsl_matrix *x,
                                const gsl_vector *y, const ndpar_folds *folds,
                                ndpar_param_fit_score_fn f, void *ctx, ndpar_grid_result *result);
NDPAR_API int ndpar_grid_search_opts(ndpar_pool *p, const ndpar_grid *g, const gsl_matrix *x,
                                     const gsl_vector *y, const ndpar_folds *folds,
                                     ndpar_param_fit_score_fn f, void *ctx,
                                     const ndpar_grid_options *opts, ndpar_grid_result *result);

/* The struct form: n candidates given as an array of the caller's structs of `size`
 * bytes each; the callback receives a pointer to candidate i's struct. */
NDPAR_API int ndpar_grid_search_params(ndpar_pool *p, const void *params, size_t size, size_t n,
                                       const gsl_matrix *x, const gsl_vector *y,
                                       const ndpar_folds *folds, ndpar_param_fit_score_fn f,
                                       void *ctx, const ndpar_grid_options *opts,
                                       ndpar_grid_result *result);

/* ---- random search distributions ---- */

typedef enum {
  NDPAR_DIST_UNIFORM,     /* uniform on [a, b] */
  NDPAR_DIST_LOG_UNIFORM, /* log-uniform on [a, b], 0 < a (scipy's loguniform) */
  NDPAR_DIST_INT,         /* an integer of [a, b], each equally likely (scipy's randint(a, b + 1)) */
  NDPAR_DIST_CHOICE,      /* one of values[0 .. nvalues), each equally likely (a list) */
  NDPAR_DIST_NORMAL       /* normal of mean a and sd b >= 0 (scipy's norm(a, b)) */
} ndpar_dist_kind;

typedef struct {
  const char *name;
  ndpar_dist_kind kind;
  double a, b;          /* the bounds or mean and sd, as kind says */
  const double *values; /* NDPAR_DIST_CHOICE: the values (copied), else unused */
  size_t nvalues;
} ndpar_grid_dist;

/* Random search over any of the distributions: n candidates, one uniform draw per axis per
 * candidate from the stream of (seed, candidate), mapped through the axis's distribution
 * (the normal by its inverse CDF), so candidate i depends on (seed, i) alone, as in
 * ndpar_grid_random (whose uniform and log-uniform axes give the same values as these).
 * Errors (NULL, a GSL error naming the axis): non-finite a or b, a > b (uniform, log, int),
 * a <= 0 (log), b < 0 (normal), an integer range with non-integer bounds or more than 2^53
 * values, a choice without values, n = 0, no axes, a name twice (GSL_EINVAL); axes NULL,
 * or a choice's values NULL (GSL_EFAULT). */
NDPAR_API ndpar_grid *ndpar_grid_random_dist(const ndpar_grid_dist *axes, size_t naxes, size_t n,
                                             unsigned long seed);

/* ---- estimators: fit and score apart ----
 * What scikit-learn's cross_validate and GridSearchCV give beyond a score per fold:
 * several scores, training scores, fit and score times, refit, successive halving. */

/* Fits candidate `params` (as for ndpar_param_fit_score_fn) on (xtr, ytr) and returns the
 * fitted model in *model (whatever score needs; released by the estimator's release).
 * resource: 0 in a full search; in successive halving, the round's resource (iterations to
 * run, or the training rows it was given). Return 0 or a status; never call the GSL error
 * handler. */
typedef int (*ndpar_est_fit_fn)(const void *params, size_t candidate, size_t resource,
                                const gsl_matrix *xtr, const gsl_vector *ytr, void **model,
                                const ndpar_task *t, void *ctx);
/* The fitted model's nscores scores on (x, y) into scores[0 .. nscores) (higher is better). */
typedef int (*ndpar_est_score_fn)(const void *model, const void *params, const gsl_matrix *x,
                                  const gsl_vector *y, double *scores, const ndpar_task *t,
                                  void *ctx);

typedef struct {
  ndpar_est_fit_fn fit;
  ndpar_est_score_fn score;
  void (*release)(void *model, void *ctx); /* frees a model fit returned (NULL: nothing to free) */
  size_t nscores;                          /* scores per score call, >= 1 */
  void *ctx;                               /* passed to all three */
} ndpar_estimator;

/* Every candidate on every fold as one flat parallel run of fit-then-score tasks, each fit
 * and score timed (CLOCK_MONOTONIC); the model is released after its scores. Fills every
 * field of result (allocated by ndpar_grid_result_alloc_est with the estimator's nscores,
 * and train = 1 for NDPAR_GRID_TRAIN_SCORES); mean, sd, rank and best follow the ranking
 * score opts->rank_score. With NDPAR_GRID_REFIT the best candidate is then fitted on all of
 * (x, y) (resource 0) into result->refit. opts may be NULL. Errors as ndpar_grid_search,
 * and: e, e->fit or e->score NULL (GSL_EFAULT), nscores 0 or rank_score >= nscores
 * (GSL_EINVAL), result of other nscores or without training matrices when asked
 * (GSL_EBADLEN), a failing refit (its status; the rest of the result is filled). Progress
 * (opts->progress) is reported once, at the end. */
NDPAR_API int ndpar_grid_search_est(ndpar_pool *p, const ndpar_grid *g, const gsl_matrix *x,
                                    const gsl_vector *y, const ndpar_folds *folds,
                                    const ndpar_estimator *e, const ndpar_grid_options *opts,
                                    ndpar_grid_result *result);
/* The same over an array of the caller's parameter structs (n of `size` bytes). */
NDPAR_API int ndpar_grid_search_est_params(ndpar_pool *p, const void *params, size_t size,
                                           size_t n, const gsl_matrix *x, const gsl_vector *y,
                                           const ndpar_folds *folds, const ndpar_estimator *e,
                                           const ndpar_grid_options *opts,
                                           ndpar_grid_result *result);

/* ---- successive halving (scikit-learn's HalvingGridSearchCV, Hyperband's core) ---- */

typedef struct {
  size_t factor;       /* >= 2: each round keeps the best ceil(n / factor) and multiplies the
                          resource by factor */
  size_t min_resource; /* the first round's resource (0: scikit-learn's "exhaust",
                          max(1, max_resource // factor^(rounds needed - 1)), with exact
                          integer logarithms where scikit-learn's math.log rounds: docs/grid.md) */
  size_t max_resource; /* the most a round may use; with rows, 0 means the smallest training fold */
  int rows;            /* 1: the resource is training rows: each fold's training set is cut to
                          that many rows, spread evenly over it (validation sets stay whole);
                          0: the resource is passed to fit (iterations, epochs, trees) */
} ndpar_halving;

/* Successive halving: round r runs the surviving candidates on every fold with resource
 * min_resource factor^r, as one flat parallel run, and keeps the best ceil(survivors /
 * factor) by the ranking score's mean (ties to the lower index, failed candidates last);
 * rounds = min(1 + floor(log_factor n), 1 + floor(log_factor(max / min))). result holds,
 * per candidate, the scores of the last round it ran (result->round); rank orders the
 * candidates by that round (later first), then by mean; best is the best of the last round.
 * Refit (NDPAR_GRID_REFIT) uses resource max_resource (rows: all the data). Errors as
 * ndpar_grid_search_est, and: h NULL (GSL_EFAULT), factor < 2, min_resource > max_resource,
 * max_resource 0 without rows, rows beyond the smallest training fold (GSL_EINVAL).
 * Progress: after each round, the candidates eliminated so far, and all at the end. */
NDPAR_API int ndpar_grid_halving(ndpar_pool *p, const void *params, size_t size, size_t n,
                                 const gsl_matrix *x, const gsl_vector *y,
                                 const ndpar_folds *folds, const ndpar_estimator *e,
                                 const ndpar_halving *h, const ndpar_grid_options *opts,
                                 ndpar_grid_result *result);

/* ---- models: search a model's parameters ----
 * The grid's axes name parameters of m ("ridge.alpha", "scaler.kind", "mlp.lr"); every
 * (candidate, fold) task fits a clone of m with the candidate's values on the fold's
 * training rows only (a chain's transformers learn their statistics there, no leakage) and
 * scores it on the validation rows with opts->scores (default: NDPAR_SCORE_NEG_MSE), as
 * scikit-learn's GridSearchCV(estimator, param_grid, scoring, refit). y holds the targets
 * (x's rows x outputs). result: ndpar_grid_result_alloc_est(candidates, folds, nscores,
 * train). With NDPAR_GRID_REFIT, the best candidate's clone fitted on all of (x, y) is
 * ndpar_grid_result_model(result). Errors as ndpar_grid_search_est, and: m NULL
 * (GSL_EFAULT), an axis that is not a parameter of m or a value it refuses (GSL_EINVAL,
 * naming the axis), an unknown score kind, y's rows (GSL_EBADLEN), NaN or Inf in x or y
 * (GSL_EDOM). m itself is not changed. */
NDPAR_API int ndpar_grid_search_model(ndpar_pool *p, const ndpar_grid *g, const gsl_matrix *x,
                                      const gsl_matrix *y, const ndpar_folds *folds,
                                      const ndpar_model *m, const ndpar_grid_options *opts,
                                      ndpar_grid_result *result);
/* Successive halving over the grid's candidates (as ndpar_grid_halving): with h->rows the
 * resource is training rows (param NULL); else param names the model parameter that each
 * round's resource sets ("mlp.epochs"; the refit sets it to the most). Errors as
 * ndpar_grid_search_model and ndpar_grid_halving, and: param NULL without h->rows, param
 * given with h->rows, param not a parameter of m (GSL_EINVAL). */
NDPAR_API int ndpar_grid_halving_model(ndpar_pool *p, const ndpar_grid *g, const gsl_matrix *x,
                                       const gsl_matrix *y, const ndpar_folds *folds,
                                       const ndpar_model *m, const ndpar_halving *h,
                                       const char *param, const ndpar_grid_options *opts,
                                       ndpar_grid_result *result);
/* The refit model of a model search (fitted, the result's own: valid until the result is
 * freed or reused); NULL when there is none (no NDPAR_GRID_REFIT, a failed search, or a
 * search of another form). ndpar_model_clone copies its parameters; to keep the fitted
 * model beyond the result, take it with ndpar_grid_result_take_model. */
NDPAR_API ndpar_model *ndpar_grid_result_model(const ndpar_grid_result *r);
/* The refit model, now the caller's (free it with ndpar_model_free); the result no longer
 * holds it. NULL as ndpar_grid_result_model. */
NDPAR_API ndpar_model *ndpar_grid_result_take_model(ndpar_grid_result *r);

#ifdef __cplusplus
}
#endif
#endif /* NDPAR_GRID_H */
