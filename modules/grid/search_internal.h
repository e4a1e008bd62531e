/* search_internal.h: the one summary of every search form (fit-and-score, estimator,
 * successive halving, and the mpi module's), and the result's extra fields. Not installed. */
#ifndef NDPAR_GRID_SEARCH_INTERNAL_H
#define NDPAR_GRID_SEARCH_INTERNAL_H

#include "ndpar/ndpar_grid.h"

/* What every (candidate, fold) task left: a record of doubles per task, in this order:
 * nscores validation scores, nscores training scores (if train), fit and score seconds (if
 * timed); and its status. */
typedef struct {
  size_t ncand, k, nscores;
  int train, timed;
  const double *rec;   /* ncand x k records */
  const int *status;   /* ncand x k task statuses (NULL: none failed) */
  const size_t *level; /* per candidate: halving's round, ranked first (NULL: all 0) */
  int flags;           /* the options' (NDPAR_GRID_POPULATION_SD) */
  size_t rank_score;
} grid_summary_in;

size_t grid_record_width(size_t nscores, int train, int timed);

/* Fills every field of r but best_params and refit: per-candidate scores, means and sds
 * (of each score, the training scores and the times), status (the first failing fold's),
 * rank as scipy's rankdata(method="min") over (level, mean) and best. r was checked to be
 * of this shape. GSL_ENOMEM (reported) is the only error. */
int grid_summary(const grid_summary_in *in, ndpar_grid_result *r);

/* result->best_params = a copy of the best candidate's parameters (NULL if none);
 * GSL_ENOMEM reported. */
int grid_result_set_best_params(ndpar_grid_result *r, const char *base, size_t size);

/* The result's fields beyond the fit-and-score ones (allocation: GSL_ENOMEM, not reported;
 * free: NULL fields skipped, the refit model released). */
int grid_result_extras_alloc(ndpar_grid_result *r, size_t nscores, int train);
void grid_result_extras_free(ndpar_grid_result *r);

#endif
