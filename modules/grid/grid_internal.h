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

#endif
