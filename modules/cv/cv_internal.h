/* cv_internal.h: the fold data a fit-and-score callback sees, shared with the grid module
 * (which is built on cv). Not installed. */
#ifndef NDPAR_CV_INTERNAL_H
#define NDPAR_CV_INTERNAL_H

#include "ndpar/ndpar_cv.h"

/* Per-worker buffers for gathering non-contiguous folds, sized for the largest fold. */
typedef struct cv_workspace cv_workspace;

/* Checks x, y against the folds (GSL errors from the calling thread) and allocates. */
int cv_workspace_alloc(const char *who, const gsl_matrix *x, const gsl_vector *y,
                       const ndpar_folds *folds, size_t threads, cv_workspace **out);
void cv_workspace_free(cv_workspace *w);

/* The four matrices of fold i as the given worker sees them: views into x and y where the
 * fold's indices form one ascending run, else rows gathered into the worker's buffers. */
typedef struct {
  _gsl_matrix_const_view xtr, xva;
  _gsl_vector_const_view ytr, yva;
} cv_fold_data;

void cv_fold(cv_workspace *w, size_t i, unsigned worker, cv_fold_data *d);

#endif
