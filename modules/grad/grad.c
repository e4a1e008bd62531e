/* grad.c: parallel gradients with padded per-worker or reproducible (binned) aggregation. */
#include "ndpar/ndpar_grad.h"
#include "ndpar_internal.h"
#include "grad/grad_internal.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Folds and aggregates over fewer parameters than this run on the calling thread. */
#define PARALLEL_PARAMS 8192

/* A running sum: P gradient entries, then sum of rows * loss, then sum of rows. */
#define SUM_LOSS(P) (P)
#define SUM_ROWS(P) ((P) + 1)
#define SUM_LEN(P) ((P) + 2)

typedef struct {
  const gsl_matrix *const *x;
  const gsl_vector *const *y;
  size_t n, P;
  ndpar_grad_fn f;
  void *ctx;
  ndpar_slots scratch; /* per worker: the callback's output, P doubles */
  ndpar_slots sums;    /* fast: per worker */
  size_t nsums;
  double *total;       /* SUM_LEN(P) */
  ndpar_slots acc;     /* deterministic: per worker, SUM_LEN(P) accumulators; worker 0's
                          become the sums */
  size_t index0, threads; /* deterministic: batch i is index0 + i; the pool's threads */
} grad_ctx;

/* Adds rows * (gradient, loss) of batch i into sum. */
static int add_batch(grad_ctx *c, size_t i, unsigned worker, double *sum) {
  double *g = ndpar_slots_at(&c->scratch, worker), loss = 0;
  gsl_vector_view gv = gsl_vector_view_array(g, c->P);
  ndpar_task bt = {i, worker, NULL};
  int status = c->f(c->x[i], c->y[i], &gv.vector, &loss, &bt, c->ctx);
  if (status) return status;
  double rows = (double)c->x[i]->size1;
  for (size_t j = 0; j < c->P; j++) sum[j] += rows * g[j];
  sum[SUM_LOSS(c->P)] += rows * loss;
  sum[SUM_ROWS(c->P)] += rows;
  return GSL_SUCCESS;
}

static int fast_task(const ndpar_task *t, void *vc) {
  grad_ctx *c = vc;
  return add_batch(c, t->index, t->worker, ndpar_slots_at(&c->sums, t->worker));
}

/* total[j] += sums[0][j] + ... in slot order, for j in [begin, end): deterministic per
 * element, so it may run in parallel over parameters. */
static int fold_range(size_t begin, size_t end, const ndpar_task *t, void *vc) {
  (void)t;
  grad_ctx *c = vc;
  for (size_t s = 0; s < c->nsums; s++) {
    const double *sum = ndpar_slots_at(&c->sums, s);
    for (size_t j = begin; j < end; j++) c->total[j] += sum[j];
  }
  return GSL_SUCCESS;
}

static void fold(ndpar_pool *p, grad_ctx *c) {
  size_t len = SUM_LEN(c->P); /* gradient, loss and rows */
  if (len < PARALLEL_PARAMS) {
    ndpar_task t = {0, 0, NULL};
    fold_range(0, len, &t, c);
  } else {
    ndpar_pool_run_range(p, len, fold_range, c, NULL);
  }
}

static int run_fast(ndpar_pool *p, grad_ctx *c, size_t *failed) {
  int status = ndpar_pool_run_ex(p, c->n, fast_task, c, failed);
  if (status == GSL_SUCCESS) fold(p, c);
  return status;
}

/* ---- deterministic: reproducible sums ----
 * Every worker adds rows * (gradient, loss) and rows into its own binned accumulators
 * (lib/reprosum.c), which merge exactly: the sums do not depend on which worker added
 * what, nor on how the batches are split between calls or processes. */

static int repro_task(const ndpar_task *t, void *vc) {
  grad_ctx *c = vc;
  double *g = ndpar_slots_at(&c->scratch, t->worker), loss = 0;
  gsl_vector_view gv = gsl_vector_view_array(g, c->P);
  ndpar_task bt = {c->index0 + t->index, t->worker, NULL};
  int status = c->f(c->x[t->index], c->y[t->index], &gv.vector, &loss, &bt, c->ctx);
  if (status) return status;
  ndpar_rsum *acc = ndpar_slots_at(&c->acc, t->worker);
  double rows = (double)c->x[t->index]->size1;
  ndpar_rsum_add_scaled(acc, g, rows, c->P);
  ndpar_rsum_add(&acc[SUM_LOSS(c->P)], rows * loss);
  ndpar_rsum_add(&acc[SUM_ROWS(c->P)], rows);
  return GSL_SUCCESS;
}

/* Worker 0's accumulators take the others' (exact merges: the order does not matter). */
static int repro_merge_range(size_t begin, size_t end, const ndpar_task *t, void *vc) {
  (void)t;
  grad_ctx *c = vc;
  ndpar_rsum *out = ndpar_slots_at(&c->acc, 0);
  for (size_t w = 1; w < c->threads; w++)
    ndpar_rsum_merge_n(out + begin, (const ndpar_rsum *)ndpar_slots_at(&c->acc, w) + begin, end - begin);
  return GSL_SUCCESS;
}

static int run_reproducible(ndpar_pool *p, grad_ctx *c, size_t n, size_t *failed) {
  for (size_t w = 0; w < c->threads; w++) ndpar_rsum_init(ndpar_slots_at(&c->acc, w), SUM_LEN(c->P));
  int status = ndpar_pool_run_ex(p, n, repro_task, c, failed);
  if (status == GSL_SUCCESS && c->threads > 1) {
    if (SUM_LEN(c->P) < PARALLEL_PARAMS) {
      ndpar_task t = {0, 0, NULL};
      repro_merge_range(0, SUM_LEN(c->P), &t, c);
    } else {
      ndpar_pool_run_range(p, SUM_LEN(c->P), repro_merge_range, c, NULL);
    }
  }
  return status;
}

void grad_reproducible_finish(const ndpar_rsum *sums, size_t P, gsl_vector *grad, double *loss) {
  double rows = ndpar_rsum_value(&sums[SUM_ROWS(P)]);
  for (size_t j = 0; j < P; j++) gsl_vector_set(grad, j, ndpar_rsum_value(&sums[j]) / rows);
  if (loss) *loss = ndpar_rsum_value(&sums[SUM_LOSS(P)]) / rows;
}

static int check_compute(const gsl_matrix *const *x, const gsl_vector *const *y, size_t n,
                         ndpar_grad_fn f, ndpar_reduce mode, const gsl_vector *grad) {
  NDPAR_REQUIRE(f != NULL, "grad_compute: f is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(grad != NULL, "grad_compute: grad is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(grad->size > 0, "grad_compute: grad has length 0", GSL_EBADLEN);
  NDPAR_REQUIRE(mode == NDPAR_REDUCE_FAST || mode == NDPAR_REDUCE_DETERMINISTIC,
                "grad_compute: mode is neither NDPAR_REDUCE_FAST nor NDPAR_REDUCE_DETERMINISTIC",
                GSL_EINVAL);
  if (n == 0) return GSL_SUCCESS; /* a no-op, whatever the arrays */
  NDPAR_REQUIRE(x != NULL, "grad_compute: x is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(y != NULL, "grad_compute: y is NULL", GSL_EFAULT);
  for (size_t i = 0; i < n; i++) {
    if (x[i] == NULL) NDPAR_ERROR_FMT(GSL_EFAULT, "grad_compute: x[%zu] is NULL", i);
    if (y[i] == NULL) NDPAR_ERROR_FMT(GSL_EFAULT, "grad_compute: y[%zu] is NULL", i);
    if (x[i]->size1 == 0) NDPAR_ERROR_FMT(GSL_EINVAL, "grad_compute: batch %zu has no rows", i);
    if (y[i]->size != x[i]->size1)
      NDPAR_ERROR_FMT(GSL_EBADLEN, "grad_compute: y[%zu] has %zu entries, x[%zu] has %zu rows", i,
                      y[i]->size, i, x[i]->size1);
  }
  return GSL_SUCCESS;
}

/* ---- the workspace ---- */

struct ndpar_grad_workspace {
  ndpar_pool *pool;
  size_t n, P, threads;
  ndpar_slots scratch; /* per worker: the callback's output, P doubles */
  ndpar_slots sums;    /* fast: per worker, SUM_LEN(P) doubles */
  ndpar_slots acc;     /* deterministic: per worker, SUM_LEN(P) reproducible accumulators */
  double *total;       /* SUM_LEN(P) */
};

void ndpar_grad_workspace_free(ndpar_grad_workspace *w) {
  if (w == NULL) return;
  ndpar_slots_free(&w->scratch);
  ndpar_slots_free(&w->sums);
  ndpar_slots_free(&w->acc);
  free(w->total);
  free(w);
}

static ndpar_grad_workspace *workspace_alloc(ndpar_pool *pool, size_t n, size_t P, int fast,
                                             int det) {
  NDPAR_REQUIRE_NULL(n > 0, "grad_workspace_alloc: n must be positive", GSL_EINVAL);
  NDPAR_REQUIRE_NULL(P > 0, "grad_workspace_alloc: P must be positive", GSL_EINVAL);
  NDPAR_REQUIRE_NULL(P < SIZE_MAX / sizeof(ndpar_rsum) - 3, "grad_workspace_alloc: P is too large",
                     GSL_EINVAL);
  if (pool == NULL && (pool = ndpar_pool_default()) == NULL) return NULL;
  ndpar_grad_workspace *w = calloc(1, sizeof *w);
  if (w == NULL) GSL_ERROR_NULL("grad_workspace_alloc: out of memory", GSL_ENOMEM);
  *w = (ndpar_grad_workspace){.pool = pool, .n = n, .P = P, .threads = ndpar_pool_threads(pool)};
  w->total = malloc(SUM_LEN(P) * sizeof *w->total);
  if (w->total == NULL) {
    ndpar_grad_workspace_free(w);
    GSL_ERROR_NULL("grad_workspace_alloc: out of memory", GSL_ENOMEM);
  }
  /* (ndpar_slots_alloc reports its own failures) */
  int status = ndpar_slots_alloc(&w->scratch, w->threads, P * sizeof(double));
  if (status == GSL_SUCCESS && fast)
    status = ndpar_slots_alloc(&w->sums, w->threads, SUM_LEN(P) * sizeof(double));
  if (status == GSL_SUCCESS && det)
    status = ndpar_slots_alloc(&w->acc, w->threads, SUM_LEN(P) * sizeof(ndpar_rsum));
  if (status) {
    ndpar_grad_workspace_free(w);
    return NULL;
  }
  return w;
}

ndpar_grad_workspace *ndpar_grad_workspace_alloc(ndpar_pool *pool, size_t n, size_t P) {
  return workspace_alloc(pool, n, P, 1, 1);
}

static int check_workspace(const ndpar_grad_workspace *w, size_t n, const gsl_vector *grad) {
  NDPAR_REQUIRE(w != NULL, "grad_compute_ws: w is NULL", GSL_EFAULT);
  if (n != 0 && n != w->n)
    NDPAR_ERROR_FMT(GSL_EBADLEN, "grad_compute_ws: n is %zu, the workspace's is %zu", n, w->n);
  if (grad != NULL && grad->size != w->P)
    NDPAR_ERROR_FMT(GSL_EBADLEN, "grad_compute_ws: grad has length %zu, the workspace's P is %zu",
                    grad->size, w->P);
  return GSL_SUCCESS;
}

int (ndpar_grad_compute_ws)(ndpar_grad_workspace *w, const gsl_matrix *const *x,
                          const gsl_vector *const *y, size_t n, ndpar_grad_fn f, void *ctx,
                          ndpar_reduce mode, gsl_vector *grad, double *loss, size_t *failed) {
  int status = check_workspace(w, n, grad);
  if (status == GSL_SUCCESS) status = check_compute(x, y, n, f, mode, grad);
  if (status) return status;
  if (failed) *failed = n;
  if (n == 0) return GSL_SUCCESS;
  size_t P = w->P;
  if (mode == NDPAR_REDUCE_DETERMINISTIC) {
    grad_ctx r = {.x = x, .y = y, .n = n, .P = P, .f = f, .ctx = ctx, .scratch = w->scratch,
                  .acc = w->acc, .threads = w->threads};
    status = run_reproducible(w->pool, &r, n, failed);
    if (status == GSL_SUCCESS) grad_reproducible_finish(ndpar_slots_at(&w->acc, 0), P, grad, loss);
    return status;
  }
  grad_ctx c = {.x = x, .y = y, .n = n, .P = P, .f = f, .ctx = ctx, .scratch = w->scratch,
                .sums = w->sums, .total = w->total, .nsums = w->threads};
  memset(c.total, 0, SUM_LEN(P) * sizeof *c.total);
  memset(c.sums.base, 0, c.nsums * c.sums.stride);
  status = run_fast(w->pool, &c, failed);
  if (status == GSL_SUCCESS) {
    double rows = c.total[SUM_ROWS(P)];
    for (size_t j = 0; j < P; j++) gsl_vector_set(grad, j, c.total[j] / rows);
    if (loss) *loss = c.total[SUM_LOSS(P)] / rows;
  }
  return status;
}

ndpar_grad_workspace *grad_reproducible_workspace(ndpar_pool *p, size_t P) {
  return workspace_alloc(p, 1, P, 0, 1);
}

int grad_reproducible_sums(ndpar_grad_workspace *w, const gsl_matrix *const *x,
                           const gsl_vector *const *y, size_t n, size_t index0, ndpar_grad_fn f,
                           void *ctx, ndpar_rsum **sums) {
  grad_ctx r = {.x = x, .y = y, .n = n, .P = w->P, .f = f, .ctx = ctx, .scratch = w->scratch,
                .acc = w->acc, .index0 = index0, .threads = w->threads};
  *sums = ndpar_slots_at(&w->acc, 0);
  return run_reproducible(w->pool, &r, n, NULL);
}

/* The allocating form: a workspace sized for this call and this mode alone. */
int (ndpar_grad_compute_ex)(ndpar_pool *p, const gsl_matrix *const *x, const gsl_vector *const *y,
                          size_t n, ndpar_grad_fn f, void *ctx, ndpar_reduce mode,
                          gsl_vector *grad, double *loss, size_t *failed) {
  int status = check_compute(x, y, n, f, mode, grad);
  if (status) return status;
  if (failed) *failed = n;
  if (n == 0) return GSL_SUCCESS;
  if (p == NULL && (p = ndpar_pool_default()) == NULL) return GSL_EFAILED;
  ndpar_grad_workspace *w =
      workspace_alloc(p, n, grad->size, mode == NDPAR_REDUCE_FAST, mode != NDPAR_REDUCE_FAST);
  if (w == NULL) return GSL_ENOMEM;
  status = ndpar_grad_compute_ws(w, x, y, n, f, ctx, mode, grad, loss, failed);
  ndpar_grad_workspace_free(w);
  return status;
}

int (ndpar_grad_compute)(ndpar_pool *p, const gsl_matrix *const *x, const gsl_vector *const *y,
                       size_t n, ndpar_grad_fn f, void *ctx, ndpar_reduce mode, gsl_vector *grad,
                       double *loss) {
  return ndpar_grad_compute_ex(p, x, y, n, f, ctx, mode, grad, loss, NULL);
}

/* ---- aggregate ---- */

/* The weights are used scaled by 2^e = f1 f2 (two factors: 2^e alone may not be a double),
 * e chosen so that the largest is in [1, 2): exact, and weights near DBL_MAX (or subnormal)
 * overflow neither their sum nor their products with the gradients. */
typedef struct {
  const gsl_vector *const *grads;
  const double *weights; /* the caller's */
  double f1, f2;
  size_t n;
  double wsum; /* of the scaled weights */
  gsl_vector *out;
} agg_ctx;

static double weight_of(const agg_ctx *c, size_t i) {
  return c->weights ? c->weights[i] * c->f1 * c->f2 : 1.0;
}

/* The same mean as sum (w_i / wsum) g_i: no partial sum exceeds max |g|, so it stays
 * finite for gradients near DBL_MAX, where the plain sum overflows. */
static double convex_mean(const agg_ctx *c, size_t j) {
  double acc = 0;
  for (size_t i = 0; i < c->n; i++) acc += weight_of(c, i) / c->wsum * gsl_vector_get(c->grads[i], j);
  return acc;
}

static int aggregate_range(size_t begin, size_t end, const ndpar_task *t, void *vc) {
  (void)t;
  agg_ctx *c = vc;
  for (size_t j = begin; j < end; j++) {
    double acc = 0;
    for (size_t i = 0; i < c->n; i++) acc += weight_of(c, i) * gsl_vector_get(c->grads[i], j);
    double mean = acc / c->wsum;
    gsl_vector_set(c->out, j, isfinite(mean) ? mean : convex_mean(c, j));
  }
  return GSL_SUCCESS;
}

/* f1, f2 and the scaled weights' sum (see agg_ctx). */
static void scale_weights(agg_ctx *c) {
  int e = ndpar_pow2_exponent_of_max(c->weights, c->n);
  c->f1 = ldexp(1.0, e / 2);
  c->f2 = ldexp(1.0, e - e / 2);
  c->wsum = 0;
  for (size_t i = 0; i < c->n; i++) c->wsum += weight_of(c, i);
}

int (ndpar_grad_aggregate)(ndpar_pool *p, const gsl_vector *const *grads, const double *weights,
                         size_t n, gsl_vector *out) {
  NDPAR_REQUIRE(out != NULL, "grad_aggregate: out is NULL", GSL_EFAULT);
  if (n == 0) return GSL_SUCCESS; /* a no-op, whatever grads: out untouched */
  NDPAR_REQUIRE(grads != NULL, "grad_aggregate: grads is NULL", GSL_EFAULT);
  double wsum = 0;
  for (size_t i = 0; i < n; i++) {
    if (grads[i] == NULL) NDPAR_ERROR_FMT(GSL_EFAULT, "grad_aggregate: grads[%zu] is NULL", i);
    if (grads[i]->size != out->size)
      NDPAR_ERROR_FMT(GSL_EBADLEN, "grad_aggregate: grads[%zu] has length %zu, out has %zu", i,
                      grads[i]->size, out->size);
    if (weights) {
      if (!isfinite(weights[i]))
        NDPAR_ERROR_FMT(GSL_EDOM, "grad_aggregate: weights[%zu] is not finite", i);
      if (weights[i] < 0) NDPAR_ERROR_FMT(GSL_EINVAL, "grad_aggregate: weights[%zu] is negative", i);
    }
    wsum += weights ? weights[i] : 1.0;
  }
  NDPAR_REQUIRE(wsum > 0, "grad_aggregate: the weights sum to zero", GSL_EINVAL);
  agg_ctx c = {grads, weights, 1.0, 1.0, n, wsum, out};
  if (weights) scale_weights(&c);
  if (out->size < PARALLEL_PARAMS) {
    ndpar_task t = {0, 0, NULL};
    return aggregate_range(0, out->size, &t, &c);
  }
  return ndpar_pool_run_range(p, out->size, aggregate_range, &c, NULL);
}
