/* ensemble.c: members in one flat parallel run, then element-wise aggregation in parallel. */
#include "ndpar/ndpar_ensemble.h"
#include "ensemble/ensemble_internal.h"
#include "ndpar_internal.h"

#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The members' outputs lie in an ndpar_blocks buffer (copies = members): the m values of
 * one element are rows_b * cols apart. */
typedef struct {
  const gsl_matrix *const *x;
  size_t n, m, cols;
  const ndpar_predictor *models;
  ndpar_agg agg;
  const double *weights; /* the caller's, for the weighted mean, scaled by a power of two
                          * (exact) so that the largest is in [1, 2): weights near DBL_MAX
                          * neither overflow their sum nor their products */
  double trim;
  int ignore_nonfinite, population_sd;
  ndpar_blocks outs;
  unsigned char *nonfinite; /* per (batch, member) task: its output had NaN or Inf */
  gsl_matrix *const *out, *const *spread;
  ndpar_slots scratch; /* per worker: m values to select, sort or skip */
} ens_ctx;

static int member_task(const ndpar_task *t, void *vc) {
  ens_ctx *c = vc;
  size_t b = t->index / c->m, k = t->index % c->m, rows = c->x[b]->size1;
  double *y = ndpar_blocks_copy(&c->outs, b, k);
  gsl_matrix_view yv = gsl_matrix_view_array(y, rows, c->cols);
  ndpar_task bt = {b, t->worker, NULL};
  int status = c->models[k].predict(c->x[b], &yv.matrix, &bt, c->models[k].ctx);
  if (status || c->ignore_nonfinite) return status;
  for (size_t e = 0; e < rows * c->cols; e++)
    if (!isfinite(y[e])) {
      c->nonfinite[t->index] = 1;
      return GSL_EDOM;
    }
  return GSL_SUCCESS;
}

/* Gathers the (finite, if asked) member values of one element into v; returns how many. */
static size_t gather(const ens_ctx *c, const double *first, size_t stride, double *v,
                     double *w_used) {
  size_t count = 0;
  *w_used = 0;
  for (size_t k = 0; k < c->m; k++) {
    double y = first[k * stride];
    if (c->ignore_nonfinite && !isfinite(y)) continue;
    if (c->agg == NDPAR_AGG_WEIGHTED_MEAN) {
      v[count] = c->weights[k] * y;
      *w_used += c->weights[k];
    } else {
      v[count] = y;
    }
    count++;
  }
  return count;
}

double ensemble_aggregate(ndpar_agg agg, double trim, double *v, size_t count, double w_used) {
  if (count == 0) return NAN;
  switch (agg) {
    case NDPAR_AGG_MEAN:
      return gsl_stats_mean(v, 1, count);
    case NDPAR_AGG_WEIGHTED_MEAN: {
      double sum = 0; /* in member order */
      for (size_t k = 0; k < count; k++) sum += v[k];
      return w_used > 0 ? sum / w_used : NAN; /* normalised by the weights actually used */
    }
    case NDPAR_AGG_MEDIAN:
      return gsl_stats_median(v, 1, count); /* quickselect: no full sort */
    default:
      gsl_sort(v, 1, count);
      return gsl_stats_trmean_from_sorted_data(trim, v, 1, count);
  }
}

/* Spread: the sample sd of the (unweighted) member values, 0 for a single one; or their
 * population sd (divisor count, as numpy's std). */
static double spread_of(const ens_ctx *c, const double *first, size_t stride, double *v) {
  size_t count = 0;
  for (size_t k = 0; k < c->m; k++) {
    double y = first[k * stride];
    if (!(c->ignore_nonfinite && !isfinite(y))) v[count++] = y;
  }
  if (count == 0) return NAN;
  if (c->population_sd) return ndpar_stats_sd_pop(v, 1, count);
  return count == 1 ? 0.0 : ndpar_stats_sd(v, 1, count);
}

/* Output rows [begin, end) over all batches (global row numbering by rowstart). */
static int aggregate_range(size_t begin, size_t end, const ndpar_task *t, void *vc) {
  ens_ctx *c = vc;
  double *v = ndpar_slots_at(&c->scratch, t->worker);
  size_t b = 0;
  for (size_t g = begin; g < end; g++) {
    b = ndpar_blocks_batch_of(&c->outs, g, b);
    size_t r = g - c->outs.rowstart[b], stride = c->x[b]->size1 * c->cols;
    for (size_t j = 0; j < c->cols; j++) {
      const double *first = ndpar_blocks_copy(&c->outs, b, 0) + r * c->cols + j;
      double w_used;
      size_t count = gather(c, first, stride, v, &w_used);
      gsl_matrix_set(c->out[b], r, j, ensemble_aggregate(c->agg, c->trim, v, count, w_used));
      if (c->spread) gsl_matrix_set(c->spread[b], r, j, spread_of(c, first, stride, v));
    }
  }
  return GSL_SUCCESS;
}

/* ---- checks ---- */

static int check_models(const ndpar_predictor *models, size_t m) {
  NDPAR_REQUIRE(m > 0, "ensemble: m is 0 (no members)", GSL_EINVAL);
  NDPAR_REQUIRE(models != NULL, "ensemble: models is NULL", GSL_EFAULT);
  for (size_t k = 0; k < m; k++)
    if (models[k].predict == NULL) NDPAR_ERROR_FMT(GSL_EFAULT, "ensemble: models[%zu].predict is NULL", k);
  return GSL_SUCCESS;
}

static int check_weights(ndpar_agg agg, const double *weights, size_t m) {
  if (agg == NDPAR_AGG_MEAN || agg == NDPAR_AGG_MEDIAN) return GSL_SUCCESS;
  if (agg == NDPAR_AGG_TRIMMED_MEAN) {
    NDPAR_REQUIRE(weights != NULL, "ensemble: trimmed mean needs weights = {fraction}", GSL_EFAULT);
    NDPAR_REQUIRE(!isnan(weights[0]), "ensemble: the trim fraction is NaN", GSL_EDOM);
    NDPAR_REQUIRE(weights[0] >= 0 && weights[0] < 0.5,
                  "ensemble: the trim fraction must be in [0, 0.5)", GSL_EINVAL);
    return GSL_SUCCESS;
  }
  NDPAR_REQUIRE(agg == NDPAR_AGG_WEIGHTED_MEAN, "ensemble: unknown aggregation", GSL_EINVAL);
  NDPAR_REQUIRE(weights != NULL, "ensemble: weighted mean needs m weights", GSL_EFAULT);
  double sum = 0;
  for (size_t k = 0; k < m; k++) {
    if (!isfinite(weights[k])) NDPAR_ERROR_FMT(GSL_EDOM, "ensemble: weights[%zu] is not finite", k);
    if (weights[k] < 0) NDPAR_ERROR_FMT(GSL_EINVAL, "ensemble: weights[%zu] is negative", k);
    sum += weights[k];
  }
  NDPAR_REQUIRE(sum > 0, "ensemble: the weights are all zero", GSL_EINVAL);
  return GSL_SUCCESS;
}

static int check_all(const gsl_matrix *const *x, size_t n, const ndpar_predictor *models, size_t m,
                     ndpar_agg agg, const double *weights, int flags, gsl_matrix *const *out,
                     gsl_matrix *const *spread, size_t *cols) {
  int status = check_models(models, m);
  if (status == GSL_SUCCESS) status = check_weights(agg, weights, m);
  if (status) return status;
  NDPAR_REQUIRE((flags & ~(NDPAR_ENSEMBLE_IGNORE_NONFINITE | NDPAR_ENSEMBLE_POPULATION_SD)) == 0,
                "ensemble: unknown flags", GSL_EINVAL);
  if (n == 0) return GSL_SUCCESS; /* a no-op, whatever the arrays */
  status = ndpar_check_inputs("ensemble", x, n);
  *cols = SIZE_MAX;
  if (status == GSL_SUCCESS) status = ndpar_check_outputs("ensemble", "out", x, out, n, cols);
  if (status == GSL_SUCCESS && spread) status = ndpar_check_outputs("ensemble", "spread", x, spread, n, cols);
  /* The spread is written after the mean, element by element: over it, if they alias. */
  if (status == GSL_SUCCESS) status = ndpar_check_distinct("ensemble", "out", out, "spread", spread, n);
  return status;
}

/* ---- the workspace ---- */

/* out = weights scaled by 2^e so that the largest is in [1, 2): exact, and weights near
 * DBL_MAX overflow neither their sum nor their products with the members' values. */
void ensemble_scale_weights(const double *weights, size_t m, double *out) {
  int e = ndpar_pow2_exponent_of_max(weights, m);
  for (size_t k = 0; k < m; k++) out[k] = ldexp(weights[k], e);
}

struct ndpar_ensemble_workspace {
  ndpar_pool *pool;
  size_t cols, m;           /* (batches and rows: outs' capacity) */
  ndpar_blocks outs;        /* the members' outputs */
  unsigned char *nonfinite; /* n x m */
  ndpar_slots scratch;      /* per worker: m doubles */
  double *weights;          /* m: the weighted mean's weights, scaled (see ens_ctx) */
};

void ndpar_ensemble_workspace_free(ndpar_ensemble_workspace *w) {
  if (w == NULL) return;
  ndpar_blocks_free(&w->outs);
  free(w->nonfinite);
  ndpar_slots_free(&w->scratch);
  free(w->weights);
  free(w);
}

/* The workspace on a pool (not NULL), or NULL with the failure's code in *status (already
 * reported). */
static ndpar_ensemble_workspace *workspace_make(ndpar_pool *pool, size_t n, size_t rows,
                                                size_t cols, size_t m, int *status) {
  size_t tasks, bytes;
  if (!ndpar_size_mul(n, m, &tasks) || !ndpar_size_mul(m, sizeof(double), &bytes)) {
    *status = GSL_EINVAL;
    GSL_ERROR_NULL("ensemble_workspace_alloc: n * m or m weights overflow", GSL_EINVAL);
  }
  ndpar_ensemble_workspace *w = calloc(1, sizeof *w);
  unsigned char *nonfinite = malloc(n * m);
  double *weights = malloc(bytes);
  if (w == NULL || nonfinite == NULL || weights == NULL) {
    free(w);
    free(nonfinite);
    free(weights);
    *status = GSL_ENOMEM;
    GSL_ERROR_NULL("ensemble_workspace_alloc: out of memory", GSL_ENOMEM);
  }
  *w = (ndpar_ensemble_workspace){.pool = pool, .cols = cols, .m = m,
                                  .nonfinite = nonfinite, .weights = weights};
  *status = ndpar_blocks_alloc(&w->outs, "ensemble_workspace_alloc", n, rows, m, cols);
  if (*status == GSL_SUCCESS)
    *status = ndpar_slots_alloc(&w->scratch, ndpar_pool_threads(pool), m * sizeof(double));
  if (*status) {
    ndpar_ensemble_workspace_free(w);
    return NULL;
  }
  return w;
}

ndpar_ensemble_workspace *ndpar_ensemble_workspace_alloc(ndpar_pool *pool, size_t n,
                                                         size_t rows, size_t cols, size_t m) {
  NDPAR_REQUIRE_NULL(n > 0, "ensemble_workspace_alloc: n must be positive", GSL_EINVAL);
  NDPAR_REQUIRE_NULL(m > 0, "ensemble_workspace_alloc: m must be positive", GSL_EINVAL);
  if (pool == NULL && (pool = ndpar_pool_default()) == NULL) return NULL;
  int status;
  return workspace_make(pool, n, rows, cols, m, &status);
}

/* The call's batches, members and width against the workspace (GSL_EBADLEN, naming the
 * argument). */
static int fits(const ndpar_ensemble_workspace *w, const gsl_matrix *const *x, size_t n, size_t m,
                size_t cols) {
  int status = ndpar_blocks_fits(&w->outs, "ensemble_ws", x, n);
  if (status) return status;
  if (m != w->m) NDPAR_ERROR_FMT(GSL_EBADLEN, "ensemble_ws: m is %zu, the workspace's is %zu", m, w->m);
  if (cols != w->cols)
    NDPAR_ERROR_FMT(GSL_EBADLEN, "ensemble_ws: out has %zu columns, the workspace's %zu", cols, w->cols);
  return GSL_SUCCESS;
}

/* After a failed member run: the failing task, and the NaN report if that was the cause. */
static void report_failure(const ens_ctx *c, size_t at, size_t *failed_member, size_t *failed_batch) {
  if (at >= c->n * c->m) return;
  if (failed_member) *failed_member = at % c->m;
  if (failed_batch) *failed_batch = at / c->m;
  if (c->nonfinite[at])
    ndpar_error_fmt(GSL_EDOM, __FILE__, __LINE__, "ensemble: member %zu wrote NaN or Inf (batch %zu)",
                    at % c->m, at / c->m);
}

int (ndpar_ensemble_predict_batches_ws)(ndpar_ensemble_workspace *w, const gsl_matrix *const *x,
                                      size_t n, const ndpar_predictor *models, size_t m,
                                      ndpar_agg agg, const double *weights, int flags,
                                      gsl_matrix *const *out, gsl_matrix *const *spread,
                                      size_t *failed_member, size_t *failed_batch) {
  NDPAR_REQUIRE(w != NULL, "ensemble_ws: w is NULL", GSL_EFAULT);
  size_t cols = 0;
  int status = check_all(x, n, models, m, agg, weights, flags, out, spread, &cols);
  if (status == GSL_SUCCESS && n > 0) status = fits(w, x, n, m, cols);
  if (status) return status;
  if (failed_member) *failed_member = m;
  if (failed_batch) *failed_batch = n;
  if (n == 0) return GSL_SUCCESS;
  ens_ctx c = {.x = x, .n = n, .m = m, .cols = cols, .models = models, .agg = agg,
               .trim = agg == NDPAR_AGG_TRIMMED_MEAN ? weights[0] : 0,
               .weights = weights, .ignore_nonfinite = flags & NDPAR_ENSEMBLE_IGNORE_NONFINITE,
               .population_sd = (flags & NDPAR_ENSEMBLE_POPULATION_SD) != 0,
               .outs = w->outs, .nonfinite = w->nonfinite, .out = out, .spread = spread,
               .scratch = w->scratch};
  if (agg == NDPAR_AGG_WEIGHTED_MEAN) {
    ensemble_scale_weights(weights, m, w->weights);
    c.weights = w->weights;
  }
  ndpar_blocks_layout(&c.outs, x, n);
  memset(c.nonfinite, 0, n * m);
  size_t at = 0;
  status = ndpar_pool_run_ex(w->pool, n * m, member_task, &c, &at);
  if (status) report_failure(&c, at, failed_member, failed_batch);
  if (status == GSL_SUCCESS)
    status = ndpar_pool_run_range(w->pool, c.outs.rowstart[n], aggregate_range, &c, NULL);
  return status;
}

/* The allocating form: a workspace sized for this call. */
int (ndpar_ensemble_predict_batches)(ndpar_pool *p, const gsl_matrix *const *x, size_t n,
                                   const ndpar_predictor *models, size_t m, ndpar_agg agg,
                                   const double *weights, int flags, gsl_matrix *const *out,
                                   gsl_matrix *const *spread, size_t *failed_member,
                                   size_t *failed_batch) {
  size_t cols = 0, rows = 0;
  int status = check_all(x, n, models, m, agg, weights, flags, out, spread, &cols);
  if (status == GSL_SUCCESS && n > 0) status = ndpar_total_rows("ensemble", x, n, &rows);
  if (status) return status;
  if (n == 0) {
    if (failed_member) *failed_member = m;
    if (failed_batch) *failed_batch = 0;
    return GSL_SUCCESS;
  }
  if (p == NULL && (p = ndpar_pool_default()) == NULL) return GSL_EFAILED;
  ndpar_ensemble_workspace *w = workspace_make(p, n, rows, cols, m, &status);
  if (w == NULL) return status;
  status = ndpar_ensemble_predict_batches_ws(w, x, n, models, m, agg, weights, flags, out, spread,
                                             failed_member, failed_batch);
  ndpar_ensemble_workspace_free(w);
  return status;
}

int ndpar_ensemble_predict(ndpar_pool *p, const gsl_matrix *x, const ndpar_predictor *models,
                           size_t m, ndpar_agg agg, const double *weights, gsl_matrix *out,
                           gsl_matrix *spread) {
  NDPAR_REQUIRE(x != NULL, "ensemble: x is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(out != NULL, "ensemble: out is NULL", GSL_EFAULT);
  const gsl_matrix *xs[1] = {x};
  gsl_matrix *outs[1] = {out}, *spreads[1] = {spread};
  return ndpar_ensemble_predict_batches(p, xs, 1, models, m, agg, weights, 0, outs,
                                        spread ? spreads : NULL, NULL, NULL);
}
