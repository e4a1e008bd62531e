/* ndpar_grid.h: hyperparameter search: a parameter grid (named axes, Cartesian product),
 * random search, or the caller's own parameter structs, cross-validated with every
 * (candidate, fold) pair in one flat parallel run.
 */
#ifndef NDPAR_GRID_H
#define NDPAR_GRID_H

#include "ndpar/ndpar_cv.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ndpar_grid ndpar_grid;

NDPAR_API ndpar_grid *ndpar_grid_alloc(void);
NDPAR_API void ndpar_grid_free(ndpar_grid *g);

/* Adds a named axis of n values (copied). The grid is the Cartesian product of its axes,
 * in scikit-learn's ParameterGrid order: the last axis added varies fastest. Errors: NULL
 * or empty name, n = 0 (GSL_EINVAL, naming the axis), a name already used. */
NDPAR_API int ndpar_grid_add(ndpar_grid *g, const char *name, const double *values, size_t n);

/* Random search: a grid of n candidates drawn from the axes' ranges, one draw per axis per
 * candidate from a stream derived from (seed, candidate): uniform on [lo, hi], or
 * log-uniform (log = 1; then 0 < lo). Errors: lo > hi, non-finite bounds, lo <= 0 for a
 * log axis, n = 0, no axes. */
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
  size_t *rank;       /* 1 = best; ties to the lower index; failed candidates last */
  int *status;        /* per candidate: 0, or the first failing fold's status */
  size_t best;        /* the highest mean, ties to the lowest index; candidates if none */
} ndpar_grid_result;

NDPAR_API ndpar_grid_result *ndpar_grid_result_alloc(size_t candidates, size_t folds);
NDPAR_API void ndpar_grid_result_free(ndpar_grid_result *r);

enum {
  NDPAR_GRID_STOP_ON_ERROR = 1 /* stop at the first failure and return its status, instead
                                  of scoring the failed candidate NaN (scikit-learn's
                                  error_score) and going on */
};

typedef struct {
  int flags;
  /* Called from the calling thread as candidates complete: done of total (NULL: none). */
  void (*progress)(size_t done, size_t total, void *ctx);
  void *progress_ctx;
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

#ifdef __cplusplus
}
#endif
#endif /* NDPAR_GRID_H */
