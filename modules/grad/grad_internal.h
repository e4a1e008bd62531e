/* grad_internal.h: the deterministic mode's sums before the division, for gradients
 * summed over several processes (the mpi module). Not installed. */
#ifndef NDPAR_GRAD_INTERNAL_H
#define NDPAR_GRAD_INTERNAL_H

#include "ndpar/ndpar_grad.h"
#include "ndpar_internal.h"

/* A workspace for the deterministic mode alone, for calls of any batch count (free it with
 * ndpar_grad_workspace_free). NULL with a GSL error. */
ndpar_grad_workspace *grad_reproducible_workspace(ndpar_pool *p, size_t P);

/* The reproducible sums over the n batches (n may be 0) into the workspace: *sums (P + 2
 * accumulators, inside w) = rows_i * gradient_i for [0, P), rows_i * loss_i at P, rows_i
 * at P + 1. The callback sees t->index = index0 + i. Arguments are the caller's to check.
 * Returns a callback's status on failure, with *sums unspecified. */
int grad_reproducible_sums(ndpar_grad_workspace *w, const gsl_matrix *const *x,
                           const gsl_vector *const *y, size_t n, size_t index0, ndpar_grad_fn f,
                           void *ctx, ndpar_rsum **sums);

/* grad = sums / rows, *loss (if not NULL) likewise: the one final step of the mode. */
void grad_reproducible_finish(const ndpar_rsum *sums, size_t P, gsl_vector *grad, double *loss);

#endif
