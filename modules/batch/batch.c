/* batch.c: parallel batch inference and Monte Carlo uncertainty. */
#include "ndpar/ndpar_batch.h"
#include "ndpar_internal.h"
#include "batch/batch_internal.h"

#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- plain inference ---------------------------------------------------------------- */

typedef struct {
  const gsl_matrix *const *x;
  gsl_matrix *const *y;
  ndpar_predict_fn f;
  void *ctx;
} infer_ctx;

static int infer_task(const ndpar_task *t, void *vc) {
  infer_ctx *c = vc;
  return c->f(c->x[t->index], c->y[t->index], t, c->ctx);
}

int (ndpar_batch_infer_ex)(ndpar_pool *p, const gsl_matrix *const *x, gsl_matrix *const *y,
                         size_t n, ndpar_predict_fn f, void *ctx, size_t *failed) {
  NDPAR_REQUIRE(f != NULL, "batch_infer: f is NULL", GSL_EFAULT);
  if (n == 0) { /* a no-op, whatever the arrays */
    if (failed) *failed = 0;
    return GSL_SUCCESS;
  }
  int status = ndpar_check_inputs("batch_infer", x, n);
  size_t cols = SIZE_MAX;
  if (status == GSL_SUCCESS) status = ndpar_check_outputs("batch_infer", "y", x, y, n, &cols);
  if (status) return status;
  infer_ctx c = {x, y, f, ctx};
  return ndpar_pool_run_ex(p, n, infer_task, &c, failed);
}

int (ndpar_batch_infer)(ndpar_pool *p, const gsl_matrix *const *x, gsl_matrix *const *y, size_t n,
                      ndpar_predict_fn f, void *ctx) {
  return ndpar_batch_infer_ex(p, x, y, n, f, ctx, NULL);
}

typedef struct {
  const gsl_matrix *x;
  gsl_matrix *y;
  size_t batch_rows;
  ndpar_predict_fn f;
  void *ctx;
} rows_ctx;

static int rows_task(const ndpar_task *t, void *vc) {
  rows_ctx *c = vc;
  gsl_matrix_const_view xb = ndpar_rows_batch_const(c->x, c->batch_rows, t->index);
  gsl_matrix_view yb = ndpar_rows_batch(c->y, c->batch_rows, t->index);
  return c->f(&xb.matrix, &yb.matrix, t, c->ctx);
}

int ndpar_batch_infer_rows(ndpar_pool *p, const gsl_matrix *x, size_t batch_rows, gsl_matrix *y,
                           ndpar_predict_fn f, void *ctx, size_t *failed) {
  NDPAR_REQUIRE(f != NULL, "batch_infer_rows: f is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(x != NULL, "batch_infer_rows: x is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(y != NULL, "batch_infer_rows: y is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(batch_rows > 0, "batch_infer_rows: batch_rows must be positive", GSL_EINVAL);
  if (y->size1 != x->size1)
    NDPAR_ERROR_FMT(GSL_EBADLEN, "batch_infer_rows: y has %zu rows, x has %zu", y->size1,
                    x->size1);
  /* GSL refuses views with no columns: on a worker thread, where it would abort */
  NDPAR_REQUIRE(x->size2 > 0, "batch_infer_rows: x has no columns", GSL_EBADLEN);
  NDPAR_REQUIRE(y->size2 > 0, "batch_infer_rows: y has no columns", GSL_EBADLEN);
  rows_ctx c = {x, y, batch_rows, f, ctx};
  return ndpar_pool_run_ex(p, ndpar_rows_nbatches(x->size1, batch_rows), rows_task, &c, failed);
}

/* ---- Monte Carlo -------------------------------------------------------------------- */

/* The samples lie in an ndpar_blocks buffer (copies = samples): each task writes one
 * contiguous matrix, and the samples of one output element are rows * cols apart. */
typedef struct {
  const gsl_matrix *const *x;
  size_t n, samples, cols;
  size_t index0;    /* the global index of batch 0: streams and t->index use index0 + b */
  ndpar_blocks out; /* the samples: copies = samples */
  ndpar_streams *streams;
  ndpar_predict_fn f;
  void *ctx;
  /* statistics pass */
  double lo_q, hi_q;
  gsl_matrix *const *mean, *const *sd, *const *lower, *const *upper;
  ndpar_slots sort_scratch;
} mc_ctx;

static int mc_sample_task(const ndpar_task *t, void *vc) {
  mc_ctx *c = vc;
  size_t b = t->index / c->samples, s = t->index % c->samples;
  size_t rows = c->x[b]->size1;
  gsl_matrix_view y = gsl_matrix_view_array(ndpar_blocks_copy(&c->out, b, s), rows, c->cols);
  size_t global = c->index0 + b;
  ndpar_task sample = {global, t->worker, ndpar_streams_at_pair(c->streams, t->worker, global, s)};
  return c->f(c->x[b], &y.matrix, &sample, c->ctx);
}

/* The statistics of one output element from its samples (stride apart). */
static void mc_element(mc_ctx *c, const double *data, size_t stride, unsigned worker, size_t b,
                       size_t r, size_t k) {
  double m = gsl_stats_mean(data, stride, c->samples);
  gsl_matrix_set(c->mean[b], r, k, m);
  if (c->sd) gsl_matrix_set(c->sd[b], r, k, ndpar_stats_sd_m(data, stride, c->samples, m));
  if (c->lower) {
    double *sorted = ndpar_slots_at(&c->sort_scratch, worker);
    for (size_t s = 0; s < c->samples; s++) sorted[s] = data[s * stride];
    gsl_sort(sorted, 1, c->samples);
    gsl_matrix_set(c->lower[b], r, k, gsl_stats_quantile_from_sorted_data(sorted, 1, c->samples, c->lo_q));
    gsl_matrix_set(c->upper[b], r, k, gsl_stats_quantile_from_sorted_data(sorted, 1, c->samples, c->hi_q));
  }
}

/* Output rows [begin, end) over all batches (global row numbering by rowstart). */
static int mc_stats_range(size_t begin, size_t end, const ndpar_task *t, void *vc) {
  mc_ctx *c = vc;
  size_t b = 0;
  for (size_t g = begin; g < end; g++) {
    b = ndpar_blocks_batch_of(&c->out, g, b);
    size_t r = g - c->out.rowstart[b], stride = c->x[b]->size1 * c->cols;
    for (size_t k = 0; k < c->cols; k++)
      mc_element(c, ndpar_blocks_copy(&c->out, b, 0) + r * c->cols + k, stride, t->worker, b, r, k);
  }
  return GSL_SUCCESS;
}

int batch_mc_check(const gsl_matrix *const *x, size_t n, size_t samples, double level,
                    ndpar_predict_fn f, gsl_matrix *const *mean, gsl_matrix *const *sd,
                    gsl_matrix *const *lower, gsl_matrix *const *upper, size_t *cols) {
  NDPAR_REQUIRE(f != NULL, "batch_infer_mc: f is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(samples > 0, "batch_infer_mc: samples must be positive", GSL_EINVAL);
  NDPAR_REQUIRE(sd == NULL || samples >= 2,
                "batch_infer_mc: sd needs samples >= 2 (divisor samples - 1)", GSL_EINVAL);
  NDPAR_REQUIRE(level == 0 || (level > 0 && level < 1),
                "batch_infer_mc: level must be 0 (no interval) or in (0, 1)", GSL_EINVAL);
  if (n == 0) return GSL_SUCCESS; /* a no-op, whatever the arrays */
  size_t tasks;
  NDPAR_REQUIRE(ndpar_size_mul(n, samples, &tasks), "batch_infer_mc: n * samples overflows a size_t",
                GSL_EINVAL);
  const char *who = "batch_infer_mc";
  int status = ndpar_check_inputs(who, x, n);
  *cols = SIZE_MAX; /* set by mean; sd, lower and upper must match it */
  if (status == GSL_SUCCESS) status = ndpar_check_outputs(who, "mean", x, mean, n, cols);
  if (status == GSL_SUCCESS && sd) status = ndpar_check_outputs(who, "sd", x, sd, n, cols);
  if (status == GSL_SUCCESS && level > 0) status = ndpar_check_outputs(who, "lower", x, lower, n, cols);
  if (status == GSL_SUCCESS && level > 0) status = ndpar_check_outputs(who, "upper", x, upper, n, cols);
  /* Each statistic is written over the ones before it where two outputs share memory. */
  static const char *const names[] = {"mean", "sd", "lower", "upper"};
  gsl_matrix *const *const outs[] = {mean, sd, level > 0 ? lower : NULL, level > 0 ? upper : NULL};
  if (status == GSL_SUCCESS) status = ndpar_check_distinct_arrays(who, names, outs, 4, n);
  return status;
}

/* ---- the workspace ---- */

struct ndpar_batch_workspace {
  ndpar_pool *pool;
  size_t cols, samples;   /* (batches and rows: out's capacity) */
  ndpar_blocks out;       /* the samples */
  ndpar_streams *streams; /* one generator per worker */
  ndpar_slots sort;       /* per worker: one element's samples, for the quantiles */
};

void ndpar_batch_workspace_free(ndpar_batch_workspace *w) {
  if (w == NULL) return;
  ndpar_blocks_free(&w->out);
  ndpar_streams_free(w->streams);
  ndpar_slots_free(&w->sort);
  free(w);
}

/* The workspace on a pool (not NULL), or NULL with the failure's code in *status (already
 * reported: the allocators report their own failures). */
static ndpar_batch_workspace *workspace_make(ndpar_pool *pool, size_t n, size_t rows, size_t cols,
                                             size_t samples, int *status) {
  ndpar_batch_workspace *w = calloc(1, sizeof *w);
  *status = GSL_ENOMEM;
  if (w == NULL) GSL_ERROR_NULL("batch_workspace_alloc: out of memory", GSL_ENOMEM);
  *w = (ndpar_batch_workspace){.pool = pool, .cols = cols, .samples = samples};
  size_t threads = ndpar_pool_threads(pool);
  *status = ndpar_blocks_alloc(&w->out, "batch_workspace_alloc", n, rows, samples, cols);
  if (*status == GSL_SUCCESS && (w->streams = ndpar_streams_alloc(threads, 0)) == NULL)
    *status = GSL_ENOMEM;
  size_t bytes; /* samples doubles per worker; SIZE_MAX (refused by slots_alloc) if that wraps */
  if (!ndpar_size_mul(samples, sizeof(double), &bytes)) bytes = SIZE_MAX;
  if (*status == GSL_SUCCESS) *status = ndpar_slots_alloc(&w->sort, threads, bytes);
  if (*status) {
    ndpar_batch_workspace_free(w);
    return NULL;
  }
  return w;
}

ndpar_batch_workspace *ndpar_batch_workspace_alloc(ndpar_pool *pool, size_t n, size_t rows,
                                                   size_t cols, size_t samples) {
  NDPAR_REQUIRE_NULL(n > 0, "batch_workspace_alloc: n must be positive", GSL_EINVAL);
  NDPAR_REQUIRE_NULL(samples > 0, "batch_workspace_alloc: samples must be positive", GSL_EINVAL);
  if (pool == NULL && (pool = ndpar_pool_default()) == NULL) return NULL;
  int status;
  return workspace_make(pool, n, rows, cols, samples, &status);
}

/* The call's batches, samples and width against the workspace (GSL_EBADLEN, naming the
 * argument). */
static int mc_fits(const ndpar_batch_workspace *w, const gsl_matrix *const *x, size_t n,
                   size_t samples, size_t cols) {
  int status = ndpar_blocks_fits(&w->out, "batch_infer_mc_ws", x, n);
  if (status) return status;
  if (samples != w->samples)
    NDPAR_ERROR_FMT(GSL_EBADLEN, "batch_infer_mc_ws: samples is %zu, the workspace's is %zu", samples, w->samples);
  if (cols != w->cols)
    NDPAR_ERROR_FMT(GSL_EBADLEN, "batch_infer_mc_ws: mean has %zu columns, the workspace's %zu", cols, w->cols);
  return GSL_SUCCESS;
}

/* ndpar_batch_infer_mc_ws with batch b known as index0 + b. */
static int mc_ws_from(ndpar_batch_workspace *w, const gsl_matrix *const *x, size_t n, size_t index0,
                      size_t samples, unsigned long seed, double level, ndpar_predict_fn f,
                      void *ctx, gsl_matrix *const *mean, gsl_matrix *const *sd,
                      gsl_matrix *const *lower, gsl_matrix *const *upper, size_t *failed) {
  NDPAR_REQUIRE(w != NULL, "batch_infer_mc_ws: w is NULL", GSL_EFAULT);
  size_t cols = 0;
  int status = batch_mc_check(x, n, samples, level, f, mean, sd, lower, upper, &cols);
  if (status == GSL_SUCCESS && n > 0) status = mc_fits(w, x, n, samples, cols);
  if (status) return status;
  if (failed) *failed = n;
  if (n == 0) return GSL_SUCCESS;
  mc_ctx c = {.x = x, .n = n, .samples = samples, .cols = cols, .index0 = index0, .out = w->out,
              .streams = w->streams, .f = f, .ctx = ctx, .lo_q = 0.5 * (1 - level),
              .hi_q = 0.5 * (1 + level), .mean = mean, .sd = sd,
              .lower = level > 0 ? lower : NULL, .upper = level > 0 ? upper : NULL,
              .sort_scratch = w->sort};
  ndpar_blocks_layout(&c.out, x, n);
  ndpar_streams_reseed(c.streams, seed);
  size_t at = 0;
  status = ndpar_pool_run_ex(w->pool, n * samples, mc_sample_task, &c, &at);
  if (status && failed) *failed = at / samples;
  /* Only a complete set of samples reaches the outputs. */
  if (status == GSL_SUCCESS)
    status = ndpar_pool_run_range(w->pool, c.out.rowstart[n], mc_stats_range, &c, NULL);
  return status;
}

int (ndpar_batch_infer_mc_ws)(ndpar_batch_workspace *w, const gsl_matrix *const *x, size_t n,
                            size_t samples, unsigned long seed, double level, ndpar_predict_fn f,
                            void *ctx, gsl_matrix *const *mean, gsl_matrix *const *sd,
                            gsl_matrix *const *lower, gsl_matrix *const *upper, size_t *failed) {
  return mc_ws_from(w, x, n, 0, samples, seed, level, f, ctx, mean, sd, lower, upper, failed);
}

/* The allocating forms: a workspace sized for this call. */
int batch_infer_mc_from(ndpar_pool *p, const gsl_matrix *const *x, size_t n, size_t index0,
                        size_t samples, unsigned long seed, double level, ndpar_predict_fn f,
                        void *ctx, gsl_matrix *const *mean, gsl_matrix *const *sd,
                        gsl_matrix *const *lower, gsl_matrix *const *upper, size_t *failed) {
  size_t cols = 0, rows = 0;
  int status = batch_mc_check(x, n, samples, level, f, mean, sd, lower, upper, &cols);
  if (status == GSL_SUCCESS && n > 0) status = ndpar_total_rows("batch_infer_mc", x, n, &rows);
  if (status) return status;
  if (n == 0) {
    if (failed) *failed = 0;
    return GSL_SUCCESS;
  }
  if (p == NULL && (p = ndpar_pool_default()) == NULL) return GSL_EFAILED;
  ndpar_batch_workspace *w = workspace_make(p, n, rows, cols, samples, &status);
  if (w == NULL) return status;
  status = mc_ws_from(w, x, n, index0, samples, seed, level, f, ctx, mean, sd, lower, upper, failed);
  ndpar_batch_workspace_free(w);
  return status;
}

int (ndpar_batch_infer_mc_interval)(ndpar_pool *p, const gsl_matrix *const *x, size_t n,
                                  size_t samples, unsigned long seed, double level,
                                  ndpar_predict_fn f, void *ctx, gsl_matrix *const *mean,
                                  gsl_matrix *const *sd, gsl_matrix *const *lower,
                                  gsl_matrix *const *upper, size_t *failed) {
  return batch_infer_mc_from(p, x, n, 0, samples, seed, level, f, ctx, mean, sd, lower, upper, failed);
}

int (ndpar_batch_infer_mc)(ndpar_pool *p, const gsl_matrix *const *x, size_t n, size_t samples,
                         unsigned long seed, ndpar_predict_fn f, void *ctx,
                         gsl_matrix *const *mean, gsl_matrix *const *sd) {
  return ndpar_batch_infer_mc_interval(p, x, n, samples, seed, 0, f, ctx, mean, sd, NULL, NULL,
                                       NULL);
}

/* ---- Monte Carlo options by name --------------------------------------------------------- */

void ndpar_mc_options_init(ndpar_mc_options *opt) {
  if (opt == NULL) return;
  opt->samples = 100;
  opt->seed = 0;
  opt->level = 0;
}

/* The options' fields, named as the caller wrote them (the plain forms name the arguments). */
static int mc_options_check(const char *who, const ndpar_mc_options *opt, const void *sd) {
  if (opt == NULL) NDPAR_ERROR_FMT(GSL_EFAULT, "%s: opt is NULL", who);
  if (opt->samples == 0) NDPAR_ERROR_FMT(GSL_EINVAL, "%s: opt->samples must be positive", who);
  if (sd != NULL && opt->samples < 2)
    NDPAR_ERROR_FMT(GSL_EINVAL, "%s: sd needs opt->samples >= 2 (divisor samples - 1)", who);
  if (!(opt->level == 0 || (opt->level > 0 && opt->level < 1)))
    NDPAR_ERROR_FMT(GSL_EINVAL, "%s: opt->level must be 0 (no interval) or in (0, 1)", who);
  return GSL_SUCCESS;
}

int (ndpar_batch_infer_mc_opts)(ndpar_pool *p, const gsl_matrix *const *x, size_t n,
                                ndpar_predict_fn f, void *ctx, const ndpar_mc_options *opt,
                                gsl_matrix *const *mean, gsl_matrix *const *sd,
                                gsl_matrix *const *lower, gsl_matrix *const *upper,
                                size_t *failed) {
  int status = mc_options_check("batch_infer_mc_opts", opt, sd);
  if (status != GSL_SUCCESS) return status;
  return (ndpar_batch_infer_mc_interval)(p, x, n, opt->samples, opt->seed, opt->level, f, ctx,
                                         mean, sd, lower, upper, failed);
}

/* An output of the rows form: NULL stays NULL (optional), else its rows must be x's. */
static int rows_output_check(const char *name, const gsl_matrix *m, const gsl_matrix *x) {
  if (m == NULL) return GSL_SUCCESS;
  if (m->size1 != x->size1)
    NDPAR_ERROR_FMT(GSL_EBADLEN, "batch_infer_mc_rows: %s has %zu rows, x has %zu", name,
                    m->size1, x->size1);
  if (m->size2 == 0) NDPAR_ERROR_FMT(GSL_EBADLEN, "batch_infer_mc_rows: %s has no columns", name);
  return GSL_SUCCESS;
}

/* The batches of m (NULL: none) as views into views[], their pointers in ptrs[]. */
static void rows_views(gsl_matrix *m, size_t batch_rows, size_t nb, gsl_matrix *views,
                       gsl_matrix **ptrs) {
  for (size_t i = 0; i < nb; i++) {
    if (m == NULL) {
      ptrs[i] = NULL;
      continue;
    }
    views[i] = ndpar_rows_batch(m, batch_rows, i).matrix;
    ptrs[i] = &views[i];
  }
}

int ndpar_batch_infer_mc_rows(ndpar_pool *p, const gsl_matrix *x, size_t batch_rows,
                              ndpar_predict_fn f, void *ctx, const ndpar_mc_options *opt,
                              gsl_matrix *mean, gsl_matrix *sd, gsl_matrix *lower,
                              gsl_matrix *upper, size_t *failed) {
  const char *who = "batch_infer_mc_rows";
  NDPAR_REQUIRE(f != NULL, "batch_infer_mc_rows: f is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(x != NULL, "batch_infer_mc_rows: x is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(mean != NULL, "batch_infer_mc_rows: mean is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(batch_rows > 0, "batch_infer_mc_rows: batch_rows must be positive", GSL_EINVAL);
  int status = mc_options_check(who, opt, sd);
  /* GSL refuses views with no columns: on a worker thread, where it would abort */
  if (status == GSL_SUCCESS && x->size2 == 0)
    NDPAR_ERROR_FMT(GSL_EBADLEN, "%s: x has no columns", who);
  if (status == GSL_SUCCESS) status = rows_output_check("mean", mean, x);
  if (status == GSL_SUCCESS) status = rows_output_check("sd", sd, x);
  if (status == GSL_SUCCESS) status = rows_output_check("lower", lower, x);
  if (status == GSL_SUCCESS) status = rows_output_check("upper", upper, x);
  if (status != GSL_SUCCESS) return status;
  size_t nb = ndpar_rows_nbatches(x->size1, batch_rows);
  /* Five arrays of views and five of pointers, in one block: x, mean, sd, lower, upper. */
  size_t bytes;
  NDPAR_REQUIRE(ndpar_size_mul(nb, 5 * (sizeof(gsl_matrix) + sizeof(gsl_matrix *)), &bytes),
                "batch_infer_mc_rows: x has too many batches of batch_rows rows", GSL_EINVAL);
  gsl_matrix *views = malloc(bytes ? bytes : 1);
  NDPAR_REQUIRE(views != NULL, "batch_infer_mc_rows: out of memory for x's batches", GSL_ENOMEM);
  gsl_matrix **ptrs = (gsl_matrix **)(views + 5 * nb);
  const gsl_matrix **xs = (const gsl_matrix **)ptrs;
  for (size_t i = 0; i < nb; i++) {
    views[i] = ndpar_rows_batch_const(x, batch_rows, i).matrix;
    xs[i] = &views[i];
  }
  gsl_matrix *outs[4] = {mean, sd, lower, upper};
  for (size_t k = 0; k < 4; k++)
    rows_views(outs[k], batch_rows, nb, views + (k + 1) * nb, ptrs + (k + 1) * nb);
  /* An absent output is a NULL array, as the array forms take it. */
  gsl_matrix *const *arr[4];
  for (size_t k = 0; k < 4; k++) arr[k] = outs[k] ? ptrs + (k + 1) * nb : NULL;
  status = (ndpar_batch_infer_mc_interval)(p, xs, nb, opt->samples, opt->seed, opt->level, f,
                                           ctx, arr[0], arr[1], arr[2], arr[3], failed);
  free(views);
  return status;
}
