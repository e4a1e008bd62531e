/* ndpar_ensemble.h: ensembles of models, members predicting in parallel, outputs
 * aggregated element by element in parallel.
 */
#ifndef NDPAR_ENSEMBLE_H
#define NDPAR_ENSEMBLE_H

#include "ndpar/ndpar_core.h"
#include "ndpar/ndpar_pool.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A member: its predict callback (ndpar_predict_fn, ndpar_core.h) and that callback's context. The task a
 * member receives has index = the batch, worker = the slot, rng = NULL. */
typedef struct {
  ndpar_predict_fn predict;
  void *ctx;
} ndpar_model;

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
NDPAR_API int ndpar_ensemble_predict(ndpar_pool *p, const gsl_matrix *x, const ndpar_model *models,
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
                                             const ndpar_model *models, size_t m, ndpar_agg agg,
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
                                                const ndpar_model *models, size_t m,
                                                ndpar_agg agg, const double *weights, int flags,
                                                gsl_matrix *const *out, gsl_matrix *const *spread,
                                                size_t *failed_member, size_t *failed_batch);

/* Arrays as users hold them (gsl_matrix *x[n]) without a cast: see ndpar_core.h. */
#ifdef NDPAR_GENERIC_ARRAYS
#define ndpar_ensemble_predict_batches(p, x, ...) (ndpar_ensemble_predict_batches)((p), NDPAR_MATRICES(x), __VA_ARGS__)
#define ndpar_ensemble_predict_batches_ws(w, x, ...) (ndpar_ensemble_predict_batches_ws)((w), NDPAR_MATRICES(x), __VA_ARGS__)
#endif

#ifdef __cplusplus
}
#endif
#endif /* NDPAR_ENSEMBLE_H */
