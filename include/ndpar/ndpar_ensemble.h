/* ndpar_ensemble.h: ensembles of models, members predicting in parallel, outputs
 * aggregated element by element in parallel.
 */
#ifndef NDPAR_ENSEMBLE_H
#define NDPAR_ENSEMBLE_H

#include "ndpar/ndpar_core.h"
#include "ndpar/ndpar_models.h"
#include "ndpar/ndpar_pool.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A member given as a callback: its predict function (ndpar_predict_fn, ndpar_core.h) and
 * that function's context. The task a member receives has index = the batch, worker = the
 * slot, rng = NULL. A fitted ndpar_model (ndpar_models.h) is a member as it is: see
 * ndpar_ensemble_predict_models, or {ndpar_model_predict_fn, model} here. */
typedef struct {
  ndpar_predict_fn predict;
  void *ctx;
} ndpar_predictor;

typedef enum {
  NDPAR_AGG_MEAN,          /* the mean over members */
  NDPAR_AGG_WEIGHTED_MEAN, /* sum w_k y_k / sum w_k; weights: m finite, non-negative, not all 0 */
  NDPAR_AGG_MEDIAN,        /* the true median: the mean of the two middle values for even m */
  NDPAR_AGG_TRIMMED_MEAN   /* the mean after cutting floor(f m) values from each end;
                              weights: {f}, f in [0, 0.5) */
} ndpar_agg;

/* Flags for ndpar_ensemble_predict_batches. */
enum {
  NDPAR_ENSEMBLE_IGNORE_NONFINITE = 1 /* skip NaN/Inf member outputs (element by element)
                                         instead of failing with GSL_EDOM; an element with no
                                         finite member output is NaN */
  ,
  NDPAR_ENSEMBLE_POPULATION_SD = 2 /* spread with divisor m (ddof = 0, numpy's std and
                                      scikit-learn's convention) instead of m - 1 */
};

/* out = the members' predictions for x, aggregated element by element. out has x's rows and
 * the members' output width. spread (optional, NULL: none) receives the sample standard
 * deviation across members (divisor m - 1; 0 for m = 1), an uncertainty band (divisor m
 * with NDPAR_ENSEMBLE_POPULATION_SD in the batched form's flags).
 * A member that writes NaN or Inf fails the call with GSL_EDOM naming the member; a member
 * whose callback fails returns its status. Outputs are written only after every member
 * succeeded. Errors (calling thread, outputs untouched): m = 0 (GSL_EINVAL), NULL models
 * or callbacks, weights NULL where the aggregation needs them (GSL_EFAULT), weights of bad
 * value for the aggregation (GSL_EINVAL, NaN: GSL_EDOM), an unknown aggregation
 * (GSL_EINVAL), shapes (GSL_EBADLEN), out and spread sharing memory (GSL_EINVAL: the spread
 * would overwrite the mean). */
NDPAR_API int ndpar_ensemble_predict(ndpar_pool *p, const gsl_matrix *x, const ndpar_predictor *models,
                                     size_t m, ndpar_agg agg, const double *weights,
                                     gsl_matrix *out, gsl_matrix *spread);

/* The batched form: n input batches through the ensemble in one flat parallel run of
 * (batch, member) tasks, then one parallel aggregation. out[i] (and spread[i] if spread is
 * not NULL) have x[i]'s rows and one common width; out[i] and spread[i] must not share
 * memory (GSL_EINVAL). flags: NDPAR_ENSEMBLE_IGNORE_NONFINITE,
 * NDPAR_ENSEMBLE_POPULATION_SD, both or 0. *failed_member and *failed_batch (each optional) name the failing (batch, member) task;
 * on success they are m and n; a rejected call leaves them untouched. Allocates the
 * members' outputs on every call: repeated calls should use a workspace and
 * ndpar_ensemble_predict_batches_ws, which gives the same results bit for bit. */
NDPAR_API int ndpar_ensemble_predict_batches(ndpar_pool *p, const gsl_matrix *const *x, size_t n,
                                             const ndpar_predictor *models, size_t m, ndpar_agg agg,
                                             const double *weights, int flags,
                                             gsl_matrix *const *out, gsl_matrix *const *spread,
                                             size_t *failed_member, size_t *failed_batch);


/* ---- workspace: ensembles without allocation ----
 * The working memory of ndpar_ensemble_predict_batches, allocated once (as
 * gsl_multifit_linear_workspace): the members' outputs (m x rows x cols doubles), a flag per
 * (batch, member) task and m doubles per worker of the pool. */
typedef struct ndpar_ensemble_workspace ndpar_ensemble_workspace;

/* A workspace for up to n batches of `rows` rows in all, outputs of cols columns, m members,
 * on pool (NULL: the default pool; it must outlive the workspace). NULL with a GSL error: n
 * or m 0, or a size that overflows (GSL_EINVAL), the default pool cannot start
 * (GSL_EFAILED), out of memory (GSL_ENOMEM). */
NDPAR_API ndpar_ensemble_workspace *ndpar_ensemble_workspace_alloc(ndpar_pool *pool, size_t n,
                                                                   size_t rows, size_t cols,
                                                                   size_t m);
/* NULL is a no-op. */
NDPAR_API void ndpar_ensemble_workspace_free(ndpar_ensemble_workspace *w);

/* ndpar_ensemble_predict_batches on the workspace's pool and memory: allocates nothing (the
 * members aside) and gives the same results bit for bit. Before any work: w NULL
 * (GSL_EFAULT); more than the workspace's n batches or rows, m not the workspace's, outputs
 * not of its cols columns (GSL_EBADLEN, naming the argument); the other checks as
 * ndpar_ensemble_predict_batches. One call at a time per workspace. */
NDPAR_API int ndpar_ensemble_predict_batches_ws(ndpar_ensemble_workspace *w,
                                                const gsl_matrix *const *x, size_t n,
                                                const ndpar_predictor *models, size_t m,
                                                ndpar_agg agg, const double *weights, int flags,
                                                gsl_matrix *const *out, gsl_matrix *const *spread,
                                                size_t *failed_member, size_t *failed_batch);

/* ---- fitted models as members ---- */

/* How members' outputs are combined: the aggregation, its weights (WEIGHTED_MEAN: one per
 * member) or trim fraction (TRIMMED_MEAN: floor(trim m) values cut from each end, trim in
 * [0, 0.5)), and the flags of ndpar_ensemble_predict_batches. */
typedef struct {
  ndpar_agg agg;
  const double *weights;
  double trim;
  int flags;
} ndpar_ensemble_options;

/* The mean, no weights, trim 0.1, no flags. NULL is a no-op. */
NDPAR_API void ndpar_ensemble_options_init(ndpar_ensemble_options *opt);

/* ndpar_ensemble_predict with the aggregation given by name (opt NULL: the mean): the trim
 * fraction in opt->trim, not through weights. */
NDPAR_API int ndpar_ensemble_predict_opts(ndpar_pool *p, const gsl_matrix *x,
                                          const ndpar_predictor *members, size_t m,
                                          const ndpar_ensemble_options *opt, gsl_matrix *out,
                                          gsl_matrix *spread);

/* out = the fitted models' predictions of x, aggregated element by element as opt says
 * (NULL: the mean); spread (optional) the sd across them. Members predict in parallel, as
 * ndpar_ensemble_predict. Errors: m = 0 (GSL_EINVAL), models or a model NULL (GSL_EFAULT),
 * a model unfitted (GSL_EINVAL), models of other input or output counts than the first,
 * x or out of the wrong shape (GSL_EBADLEN), opt's as ndpar_ensemble_predict's weights,
 * spread the same matrix as out (GSL_EINVAL). */
NDPAR_API int ndpar_ensemble_predict_models(ndpar_pool *p, const gsl_matrix *x,
                                            const ndpar_model *const *models, size_t m,
                                            const ndpar_ensemble_options *opt, gsl_matrix *out,
                                            gsl_matrix *spread);

/* ---- bagging: one model, fitted many times on resampled rows ---- */

typedef struct {
  size_t members;        /* how many clones of the base model (scikit-learn's n_estimators) */
  double samples;        /* rows per member, as a fraction of the training rows, in (0, 1]
                            (max_samples; at least one row) */
  int bootstrap;         /* 1: rows drawn with replacement; 0: without (subsampling) */
  unsigned long seed;    /* member i's rows come from the stream of (seed, i) alone */
  ndpar_ensemble_options combine; /* how the members' predictions are combined (weights:
                            members entries, copied) */
} ndpar_bagging_options;

/* 10 members, samples 1.0, bootstrap, seed 0, the mean. NULL is a no-op. */
NDPAR_API void ndpar_bagging_options_init(ndpar_bagging_options *opt);

/* A bagging model over clones of base (scikit-learn's BaggingRegressor): an ndpar_model
 * like any other (fit, predict, clone, set, grid search, chains), whose fit fits the
 * members in parallel on p, each on the rows its stream (seed, member) draws, so the
 * members are the same at any thread count; predict combines the members' predictions;
 * MC passes (ndpar_model_predict_mc) run through every member when the base model has them
 * (MC dropout of a bagged MLP). Parameters: "members", "samples", "bootstrap", "seed",
 * "trim", and the base model's by its names ("alpha", "mlp.lr", "ridge.alpha"). It cannot
 * be saved. base is cloned (it stays the caller's). NULL with a GSL error: base NULL
 * (GSL_EFAULT), members 0, samples outside (0, 1], a bad aggregation (GSL_EINVAL). */
NDPAR_API ndpar_model *ndpar_bagging_alloc(const ndpar_model *base,
                                           const ndpar_bagging_options *opt);
/* The fitted member i of a bagging model (its own, valid until it is refitted or freed):
 * its predictions are the per-member predictions; NULL for i out of range, an unfitted
 * model or a model that is no bagging model. */
NDPAR_API const ndpar_model *ndpar_bagging_member(const ndpar_model *bag, size_t i);
/* Which training rows member i was fitted on: *rows (count entries, row indices into the
 * training x, with repeats when bootstrapping). GSL_EINVAL as for ndpar_bagging_member. */
NDPAR_API int ndpar_bagging_rows(const ndpar_model *bag, size_t i, const size_t **rows,
                                 size_t *count);

/* Arrays as users hold them (gsl_matrix *x[n]) without a cast: see ndpar_core.h. */
#ifdef NDPAR_GENERIC_ARRAYS
#define ndpar_ensemble_predict_batches(p, x, ...) (ndpar_ensemble_predict_batches)((p), NDPAR_MATRICES(x), __VA_ARGS__)
#define ndpar_ensemble_predict_batches_ws(w, x, ...) (ndpar_ensemble_predict_batches_ws)((w), NDPAR_MATRICES(x), __VA_ARGS__)
#endif

#ifdef __cplusplus
}
#endif
#endif /* NDPAR_ENSEMBLE_H */
