/* ndpar_grad.h: gradients over many batches in parallel, with false-sharing-free and
 * optionally deterministic aggregation.
 */
#ifndef NDPAR_GRAD_H
#define NDPAR_GRAD_H

#include "ndpar/ndpar_core.h"
#include "ndpar/ndpar_pool.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  NDPAR_REDUCE_FAST,         /* per-worker accumulators: fastest, rounding depends on scheduling */
  NDPAR_REDUCE_DETERMINISTIC /* fixed blocks summed in index order: bit-identical for any thread count */
} ndpar_reduce;

/* Writes the mean gradient of the batch (x, y) into grad (length P, the length of the
 * caller's result vector) and its mean loss into *loss. Return 0 or a status that stops
 * the run. Must not call the GSL error handler. */
typedef int (*ndpar_grad_fn)(const gsl_matrix *x, const gsl_vector *y, gsl_vector *grad,
                             double *loss, const ndpar_task *t, void *ctx);

/* The row-weighted mean of the batch gradients and losses, which is the gradient and loss
 * over all the data: grad = sum_i rows_i g_i / sum_i rows_i.
 *
 * NDPAR_REDUCE_FAST: each worker adds into its own cache-line padded accumulator; memory
 * O(threads x P). NDPAR_REDUCE_DETERMINISTIC: batches are cut into fixed blocks (the cut
 * depends on n alone), each block summed in index order, and block sums folded in block
 * order for every parameter: the result is bit-identical for any thread count (as oneTBB's
 * parallel_deterministic_reduce); memory O(max(threads, 64) x P).
 *
 * Checks: f, x, y, grad non-NULL and no NULL entry (GSL_EFAULT); x[i] and y[i] with the
 * same rows, and no zero-row batch (GSL_EBADLEN / GSL_EINVAL, naming the batch); grad of
 * length > 0; a known mode. n = 0: GSL_EINVAL (the mean of nothing). loss may be NULL. On
 * rejection or callback failure grad and loss are untouched. */
NDPAR_API int ndpar_grad_compute(ndpar_pool *p, const gsl_matrix *const *x,
                                 const gsl_vector *const *y, size_t n, ndpar_grad_fn f, void *ctx,
                                 ndpar_reduce mode, gsl_vector *grad, double *loss);

/* ndpar_grad_compute, and on callback failure *failed = the failing batch (n on success). */
NDPAR_API int ndpar_grad_compute_ex(ndpar_pool *p, const gsl_matrix *const *x,
                                    const gsl_vector *const *y, size_t n, ndpar_grad_fn f,
                                    void *ctx, ndpar_reduce mode, gsl_vector *grad, double *loss,
                                    size_t *failed);

/* out = sum_i w_i grads[i] / sum_i w_i, element by element in index order (deterministic);
 * weights NULL: the plain mean. In parallel over parameters on the pool when P is large.
 * Checks: n > 0, no NULL (GSL_EFAULT), every grads[i] of out's length (GSL_EBADLEN, naming
 * i), weights finite (GSL_EDOM), non-negative and not summing to zero (GSL_EINVAL). */
NDPAR_API int ndpar_grad_aggregate(ndpar_pool *p, const gsl_vector *const *grads,
                                   const double *weights, size_t n, gsl_vector *out);

#ifdef __cplusplus
}
#endif
#endif /* NDPAR_GRAD_H */
