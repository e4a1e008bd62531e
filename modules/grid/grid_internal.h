/* grid_internal.h: the pieces of a grid search, for searches spread over several
 * processes (the mpi module): run any span of the flat (candidate x fold) tasks, then
 * summarise the complete scores with the same code as one process. Not installed. */
#ifndef NDPAR_GRID_INTERNAL_H
#define NDPAR_GRID_INTERNAL_H

#include "ndpar/ndpar_grid.h"

/* The argument checks of a search of ncand candidates (GSL errors naming `who`). */
int grid_check(const char *who, size_t ncand, const ndpar_folds *folds,
               ndpar_param_fit_score_fn f, const ndpar_grid_options *opts,
               const ndpar_grid_result *result);

/* The checks of an array of n caller's parameter structs of size bytes each: params NULL
 * (GSL_EFAULT), n or size 0 (GSL_EINVAL), and n x size bytes that overflow a size_t or
 * cannot be an object at params (GSL_EINVAL): candidate i's struct is at params + i size,
 * which must not wrap. GSL errors naming `who`. */
int grid_check_params(const char *who, const void *params, size_t size, size_t n);

/* Runs spans of the flat tasks (task t = candidate t / k, fold t % k) on a pool (NULL: the
 * default pool), writing scores[t] (NaN on failure) and status[t]; both arrays of
 * ncand x k entries belong to the caller. Progress from opts is reported from the calling
 * thread as the candidates whose folds all ran here complete. Checks x and y against the
 * folds (GSL errors naming `who`). */
typedef struct grid_runner grid_runner;
int grid_runner_alloc(const char *who, ndpar_pool *p, const void *base, size_t size, size_t ncand,
                      const gsl_matrix *x, const gsl_vector *y, const ndpar_folds *folds,
                      ndpar_param_fit_score_fn f, void *ctx, const ndpar_grid_options *opts,
                      double *scores, int *status, grid_runner **out);
/* Tasks [begin, end). With NDPAR_GRID_STOP_ON_ERROR a failure stops the span and its
 * status is returned, with the failing task in *failed (if not NULL). */
int grid_runner_run(grid_runner *r, size_t begin, size_t end, size_t *failed);
void grid_runner_free(grid_runner *r);

/* Fills result (scores, mean, sd, rank, status, best, best_params) from every task's score
 * and status, as opts (NULL: the defaults) asks (the population sd): the one summary of a
 * search, in one process or many (grid_summary in search_internal.h). base and size: the
 * candidates' parameters. */
int grid_summarise(size_t ncand, size_t k, const double *scores, const int *status,
                   const ndpar_grid_options *opts, const void *base, size_t size,
                   ndpar_grid_result *result);

/* ---- model searches (model_search.c; the mpi module's too) ---- */

/* A new clone of proto with the candidate's values (one per axis of g, by the axes' names)
 * and, if resource_param is given and resource > 0, that parameter set to resource; NULL on
 * no memory (the values were checked by grid_model_check). Worker-safe. */
ndpar_model *grid_model_candidate(const ndpar_model *proto, const ndpar_grid *g,
                                  const double *values, const char *resource_param,
                                  size_t resource);
/* The checks of a model search, reported as `who`: proto, x and y (as ndpar_model_fit's),
 * every value of every axis of g a value proto's parameter of that name takes, and
 * resource_param (if given) a parameter of proto. */
int grid_model_check(const char *who, const ndpar_model *proto, const ndpar_grid *g,
                     const gsl_matrix *x, const gsl_matrix *y, const char *resource_param);

/* Gives result the fitted model m as its refit (ndpar_grid_result_model), releasing the
 * refit it held. */
void grid_result_set_model(ndpar_grid_result *r, ndpar_model *m);

#endif
