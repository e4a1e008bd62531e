/* grad_internal.h: the deterministic mode's sums before the division, for gradients
 * summed over several processes (the mpi module). Not installed. */
#ifndef NDPAR_GRAD_INTERNAL_H
#define NDPAR_GRAD_INTERNAL_H

#include "ndpar/ndpar_grad.h"
#include "ndpar_internal.h"

/* The buffers of the sums for P parameters on pool p's threads, from lib's cache (give
 * them back with ndpar_cache_give); NULL with GSL_ENOMEM reported. */
ndpar_rsum *grad_reproducible_take(ndpar_pool *p, size_t P);

/* Into buf (from grad_reproducible_take with the same p and P): buf[0 .. P) the
 * reproducible sums of rows_i * gradient_i over the n batches (n may be 0), buf[P] of
 * rows_i * loss_i, buf[P + 1] of rows_i. The callback sees t->index = index0 + i.
 * Arguments are the caller's to check. On failure *failed (if not NULL) is the failing
 * batch's local index and buf's contents are unspecified. */
int grad_reproducible_sums(ndpar_pool *p, ndpar_rsum *buf, const gsl_matrix *const *x,
                           const gsl_vector *const *y, size_t n, size_t index0, ndpar_grad_fn f,
                           void *ctx, size_t P, size_t *failed);

/* grad = sums / rows, *loss (if not NULL) likewise: the one final step of the mode. */
void grad_reproducible_finish(const ndpar_rsum *sums, size_t P, gsl_vector *grad, double *loss);

#endif
