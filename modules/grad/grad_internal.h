/* grad_internal.h: the deterministic mode's sums before the division, for gradients
 * summed over several processes (the mpi module). Not installed. */
#ifndef NDPAR_GRAD_INTERNAL_H
#define NDPAR_GRAD_INTERNAL_H

#include "ndpar/ndpar_grad.h"
#include "ndpar_internal.h"

/* (*out)[0 .. P): the reproducible sums of rows_i * gradient_i over the n batches (n may
 * be 0), (*out)[P] of rows_i * loss_i, (*out)[P + 1] of rows_i: P + 2 accumulators, in a
 * buffer of lib's cache that the caller gives back (ndpar_cache_give). The callback sees
 * t->index = index0 + i. Arguments are the caller's to check. On failure *failed (if not
 * NULL) is the failing batch's local index, and *out is untouched. */
int grad_reproducible_sums(ndpar_pool *p, const gsl_matrix *const *x, const gsl_vector *const *y,
                           size_t n, size_t index0, ndpar_grad_fn f, void *ctx, size_t P,
                           ndpar_rsum **out, size_t *failed);

/* grad = sums / rows, *loss (if not NULL) likewise: the one final step of the mode. */
void grad_reproducible_finish(const ndpar_rsum *sums, size_t P, gsl_vector *grad, double *loss);

#endif
