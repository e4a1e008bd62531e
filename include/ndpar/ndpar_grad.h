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
  NDPAR_REDUCE_DETERMINISTIC /* reproducible sums: bit-identical for any thread and process count */
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
 * O(threads x P). NDPAR_REDUCE_DETERMINISTIC: the batches are cut into groups of G
 * consecutive batches (G = 16 from P = 4096 on, else 1: a function of P alone); one worker
 * folds a group in plain double in index order and adds the group's sum into its own
 * reproducible (binned) accumulators, whose sums do not depend on the order of the
 * additions and merge exactly (Demmel and Nguyen's binned summation, as in ReproBLAS): the
 * result is bit-identical for any thread count, and for any split of the batches over
 * processes (ndpar_mpi_grad_compute); memory 7 x threads x P doubles, whatever n. Its
 * error: a group's sum rounds as any sum of G terms, the sum of the groups' sums below
 * groups x max|group sum| x 2^-79 per entry.
 *
 * Checks: f, x, y, grad non-NULL and no NULL entry (GSL_EFAULT); x[i] and y[i] with the
 * same rows, and no zero-row batch (GSL_EBADLEN / GSL_EINVAL, naming the batch); grad of
 * length > 0; a known mode. n = 0: success, nothing done (grad and loss untouched; x and y
 * may then be NULL). loss may be NULL. On rejection or callback failure grad and loss are
 * untouched.
 *
 * This form allocates its working memory on every call (per worker a buffer for the
 * callback's output and the sums, in deterministic mode two group sums and a 40-byte accumulator per parameter); a loop
 * calling it many times should use a workspace
 * and ndpar_grad_compute_ws instead, which gives the same result bit for bit. */
NDPAR_API int ndpar_grad_compute(ndpar_pool *p, const gsl_matrix *const *x,
                                 const gsl_vector *const *y, size_t n, ndpar_grad_fn f, void *ctx,
                                 ndpar_reduce mode, gsl_vector *grad, double *loss);

/* ndpar_grad_compute, and on callback failure *failed = the failing batch (n on success;
 * untouched when an argument is rejected). failed may be NULL. */
NDPAR_API int ndpar_grad_compute_ex(ndpar_pool *p, const gsl_matrix *const *x,
                                    const gsl_vector *const *y, size_t n, ndpar_grad_fn f,
                                    void *ctx, ndpar_reduce mode, gsl_vector *grad, double *loss,
                                    size_t *failed);

/* out = sum_i w_i grads[i] / sum_i w_i, element by element in index order (deterministic);
 * weights NULL: the plain mean. In parallel over parameters on the pool when P is large.
 * Checks: no NULL (GSL_EFAULT), every grads[i] of out's length (GSL_EBADLEN, naming i),
 * weights finite (GSL_EDOM), non-negative and not summing to zero (GSL_EINVAL). n = 0:
 * success, nothing done (out untouched). */
NDPAR_API int ndpar_grad_aggregate(ndpar_pool *p, const gsl_vector *const *grads,
                                   const double *weights, size_t n, gsl_vector *out);


/* ---- workspace: gradients without allocation ----
 * The working memory of ndpar_grad_compute for batches of one shape, allocated once (as
 * gsl_multifit_linear_workspace): a padded P-vector per worker of the pool for the
 * callback's output, the running sums of either mode (threads x (P + 2) doubles for
 * NDPAR_REDUCE_FAST; for NDPAR_REDUCE_DETERMINISTIC two group sums and (P + 2) reproducible
 * accumulators of 40 bytes each per worker). A training loop allocates it before its first
 * step and calls ndpar_grad_compute_ws at every step: no step allocates. */
typedef struct ndpar_grad_workspace ndpar_grad_workspace;

/* A workspace for n batches and P parameters on pool (NULL: the default pool; it must
 * outlive the workspace). NULL with a GSL error: n or P is 0 (GSL_EINVAL), the default pool
 * cannot start (GSL_EFAILED), out of memory (GSL_ENOMEM). */
NDPAR_API ndpar_grad_workspace *ndpar_grad_workspace_alloc(ndpar_pool *pool, size_t n,
                                                           size_t P);
/* NULL is a no-op. Not while a call using the workspace runs. */
NDPAR_API void ndpar_grad_workspace_free(ndpar_grad_workspace *w);

/* ndpar_grad_compute_ex on the workspace's pool and memory: allocates nothing, and gives
 * the same gradient and loss bit for bit. n must be the workspace's n (or 0, a no-op) and
 * grad of length P (GSL_EBADLEN, naming the argument, before any work); w NULL: GSL_EFAULT.
 * One call at a time per workspace. */
NDPAR_API int ndpar_grad_compute_ws(ndpar_grad_workspace *w, const gsl_matrix *const *x,
                                    const gsl_vector *const *y, size_t n, ndpar_grad_fn f,
                                    void *ctx, ndpar_reduce mode, gsl_vector *grad,
                                    double *loss, size_t *failed);

/* Arrays as users hold them (gsl_matrix *x[n]) without a cast: see ndpar_core.h. */
#ifdef NDPAR_GENERIC_ARRAYS
#define ndpar_grad_compute(p, x, y, ...) (ndpar_grad_compute)((p), NDPAR_MATRICES(x), NDPAR_VECTORS(y), __VA_ARGS__)
#define ndpar_grad_compute_ex(p, x, y, ...) (ndpar_grad_compute_ex)((p), NDPAR_MATRICES(x), NDPAR_VECTORS(y), __VA_ARGS__)
#define ndpar_grad_compute_ws(w, x, y, ...) (ndpar_grad_compute_ws)((w), NDPAR_MATRICES(x), NDPAR_VECTORS(y), __VA_ARGS__)
#define ndpar_grad_aggregate(p, g, ...) (ndpar_grad_aggregate)((p), NDPAR_VECTORS(g), __VA_ARGS__)
#endif

#ifdef __cplusplus
}
#endif
#endif /* NDPAR_GRAD_H */
