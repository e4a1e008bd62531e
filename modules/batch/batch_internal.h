/* batch_internal.h: Monte Carlo inference of batches numbered from index0, for batches
 * spread over several processes (the mpi module). Not installed. */
#ifndef NDPAR_BATCH_INTERNAL_H
#define NDPAR_BATCH_INTERNAL_H

#include "ndpar/ndpar_batch.h"

/* ndpar_batch_infer_mc_interval with batch b known as index0 + b: its streams derive from
 * (seed, index0 + b, sample) and its callbacks see t->index = index0 + b. *failed is the
 * local index. */
int batch_infer_mc_from(ndpar_pool *p, const gsl_matrix *const *x, size_t n, size_t index0,
                        size_t samples, unsigned long seed, double level, ndpar_predict_fn f,
                        void *ctx, gsl_matrix *const *mean, gsl_matrix *const *sd,
                        gsl_matrix *const *lower, gsl_matrix *const *upper, size_t *failed);

/* The checks of ndpar_batch_infer_mc_interval (GSL errors from the calling thread); *cols
 * receives the outputs' column count. */
int batch_mc_check(const gsl_matrix *const *x, size_t n, size_t samples, double level,
                   ndpar_predict_fn f, gsl_matrix *const *mean, gsl_matrix *const *sd,
                   gsl_matrix *const *lower, gsl_matrix *const *upper, size_t *cols);

#endif
