/* cv.c: fold sets and parallel cross-validation. */
#include "ndpar/ndpar_cv.h"
#include "cv/cv_internal.h"
#include "ndpar_internal.h"

#include <gsl/gsl_math.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct ndpar_folds {
  size_t n, k;
  size_t **train, **val;
  size_t *ntrain, *nval;
};

/* ---- fold sets ---- */

ndpar_folds *ndpar_folds_alloc(size_t n, size_t k) {
  NDPAR_REQUIRE_NULL(k > 0, "folds_alloc: k must be positive", GSL_EINVAL);
  NDPAR_REQUIRE_NULL(n > 0, "folds_alloc: n must be positive", GSL_EINVAL);
  ndpar_folds *f = calloc(1, sizeof *f);
  if (f) {
    f->n = n;
    f->k = k;
    f->train = calloc(k, sizeof *f->train);
    f->val = calloc(k, sizeof *f->val);
    f->ntrain = calloc(k, sizeof *f->ntrain);
    f->nval = calloc(k, sizeof *f->nval);
  }
  if (!f || !f->train || !f->val || !f->ntrain || !f->nval) {
    ndpar_folds_free(f);
    NDPAR_ERROR_NULL_FMT(GSL_ENOMEM, "folds_alloc: out of memory for k = %zu folds", k);
  }
  return f;
}

void ndpar_folds_free(ndpar_folds *f) {
  if (f == NULL) return;
  for (size_t i = 0; f->train && i < f->k; i++) free(f->train[i]);
  for (size_t i = 0; f->val && i < f->k; i++) free(f->val[i]);
  free(f->train);
  free(f->val);
  free(f->ntrain);
  free(f->nval);
  free(f);
}

/* Takes ownership of the two arrays (no checks: the callers built them). */
static void set_owned(ndpar_folds *f, size_t i, size_t *train, size_t ntrain, size_t *val, size_t nval) {
  f->train[i] = train;
  f->ntrain[i] = ntrain;
  f->val[i] = val;
  f->nval[i] = nval;
}

int ndpar_folds_set(ndpar_folds *f, size_t i, const size_t *train, size_t ntrain,
                    const size_t *val, size_t nval) {
  NDPAR_REQUIRE(f != NULL, "folds_set: f is NULL", GSL_EFAULT);
  if (i >= f->k) NDPAR_ERROR_FMT(GSL_EINVAL, "folds_set: fold i = %zu of %zu", i, f->k);
  NDPAR_REQUIRE(train != NULL && val != NULL, "folds_set: train or val is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(ntrain > 0 && nval > 0, "folds_set: ntrain and nval must be positive (a fold needs training and validation indices)", GSL_EINVAL);
  size_t bytes;
  NDPAR_REQUIRE(ndpar_size_mul(ntrain, sizeof *train, &bytes) && ndpar_size_mul(nval, sizeof *val, &bytes),
                "folds_set: ntrain or nval is too large", GSL_EINVAL);
  for (size_t j = 0; j < ntrain; j++)
    if (train[j] >= f->n) NDPAR_ERROR_FMT(GSL_EINVAL, "folds_set: train[%zu] = %zu is not below n = %zu", j, train[j], f->n);
  for (size_t j = 0; j < nval; j++)
    if (val[j] >= f->n) NDPAR_ERROR_FMT(GSL_EINVAL, "folds_set: val[%zu] = %zu is not below n = %zu", j, val[j], f->n);
  size_t *tr = malloc(ntrain * sizeof *tr), *va = malloc(nval * sizeof *va);
  if (!tr || !va) {
    free(tr);
    free(va);
    GSL_ERROR("folds_set: out of memory", GSL_ENOMEM);
  }
  memcpy(tr, train, ntrain * sizeof *tr);
  memcpy(va, val, nval * sizeof *va);
  free(f->train[i]);
  free(f->val[i]);
  set_owned(f, i, tr, ntrain, va, nval);
  return GSL_SUCCESS;
}

static int cmp_size(const void *a, const void *b) {
  size_t x = *(const size_t *)a, y = *(const size_t *)b;
  return (x > y) - (x < y);
}

ndpar_folds *ndpar_folds_kfold(size_t n, size_t k, int shuffle, unsigned long seed) {
  NDPAR_REQUIRE_NULL(k >= 2, "folds_kfold: k must be at least 2", GSL_EINVAL);
  NDPAR_REQUIRE_NULL(k <= n, "folds_kfold: k is larger than n (a fold would be empty)", GSL_EINVAL);
  size_t bytes;
  NDPAR_REQUIRE_NULL(ndpar_size_mul(n, sizeof(size_t), &bytes),
                     "folds_kfold: n is too large (n indices overflow the address space)", GSL_EINVAL);
  size_t *order = malloc(bytes);
  ndpar_folds *f = order ? ndpar_folds_alloc(n, k) : NULL;
  gsl_rng *r = shuffle && f ? gsl_rng_alloc(gsl_rng_taus2) : NULL;
  if (f == NULL || (shuffle && r == NULL)) {
    free(order);
    ndpar_folds_free(f);
    GSL_ERROR_NULL("folds_kfold: out of memory", GSL_ENOMEM);
  }
  for (size_t i = 0; i < n; i++) order[i] = i;
  if (shuffle) {
    gsl_rng_set(r, ndpar_stream_seed(seed, 0));
    gsl_ran_shuffle(r, order, n, sizeof *order);
    gsl_rng_free(r);
  }
  size_t start = 0;
  for (size_t i = 0; i < k; i++) {
    size_t size = n / k + (i < n % k), end = start + size;
    size_t *val = malloc(size * sizeof *val), *train = malloc((n - size) * sizeof *train);
    if (!val || !train) {
      free(val);
      free(train);
      free(order);
      ndpar_folds_free(f);
      GSL_ERROR_NULL("folds_kfold: out of memory", GSL_ENOMEM);
    }
    memcpy(val, order + start, size * sizeof *val);
    memcpy(train, order, start * sizeof *train);
    memcpy(train + start, order + end, (n - end) * sizeof *train);
    if (shuffle) { /* ascending: contiguous runs become views, and reads stay sequential */
      qsort(val, size, sizeof *val, cmp_size);
      qsort(train, n - size, sizeof *train, cmp_size);
    }
    set_owned(f, i, train, n - size, val, size);
    start = end;
  }
  free(order);
  return f;
}

/* The time-series split of both forms; messages name the fields as the caller wrote them:
 * `who` the function, `pre` what comes before a field's name ("" or "opt->"). */
static ndpar_folds *timeseries(const char *who, const char *pre, size_t n, size_t windows,
                               size_t horizon, size_t step, size_t gap, size_t max_train) {
  if (windows == 0) NDPAR_ERROR_NULL_FMT(GSL_EINVAL, "%s: %swindows must be positive", who, pre);
  if (horizon == 0) NDPAR_ERROR_NULL_FMT(GSL_EINVAL, "%s: %shorizon must be positive", who, pre);
  if (windows > 1 && step == 0) NDPAR_ERROR_NULL_FMT(GSL_EINVAL, "%s: %sstep must be positive", who, pre);
  /* the first window's validation start, computed without wrapping below zero */
  size_t back, bytes;
  if (!ndpar_size_mul(n, sizeof(size_t), &bytes))
    NDPAR_ERROR_NULL_FMT(GSL_EINVAL, "%s: n is too large (n indices overflow the address space)", who);
  if (!ndpar_size_mul(windows - 1, step, &back) || !ndpar_size_add(back, horizon, &back) || back > n)
    NDPAR_ERROR_NULL_FMT(GSL_EINVAL, "%s: %zu %swindows of %shorizon %zu, %sstep %zu do not fit n = %zu points",
                         who, windows, pre, pre, horizon, pre, step, n);
  if (n - back <= gap)
    NDPAR_ERROR_NULL_FMT(GSL_EINVAL, "%s: a %sgap of %zu leaves the first window no training data", who, pre, gap);
  ndpar_folds *f = ndpar_folds_alloc(n, windows);
  if (f == NULL) return NULL;
  for (size_t w = 0; w < windows; w++) {
    size_t val_start = n - horizon - (windows - 1 - w) * step, train_end = val_start - gap;
    size_t train_start = max_train && train_end > max_train ? train_end - max_train : 0;
    size_t *train = malloc((train_end - train_start) * sizeof *train), *val = malloc(horizon * sizeof *val);
    if (!train || !val) {
      free(train);
      free(val);
      ndpar_folds_free(f);
      NDPAR_ERROR_NULL_FMT(GSL_ENOMEM, "%s: out of memory for n = %zu points", who, n);
    }
    for (size_t j = 0; j < train_end - train_start; j++) train[j] = train_start + j;
    for (size_t j = 0; j < horizon; j++) val[j] = val_start + j;
    set_owned(f, w, train, train_end - train_start, val, horizon);
  }
  return f;
}

ndpar_folds *ndpar_folds_timeseries(size_t n, size_t windows, size_t horizon, size_t step,
                                    size_t gap, size_t max_train) {
  return timeseries("folds_timeseries", "", n, windows, horizon, step, gap, max_train);
}

void ndpar_timeseries_options_init(ndpar_timeseries_options *opt) {
  if (opt == NULL) return;
  opt->windows = 5;
  opt->horizon = 1;
  opt->step = 0;
  opt->gap = 0;
  opt->max_train = 0;
}

ndpar_folds *ndpar_folds_timeseries_opts(size_t n, const ndpar_timeseries_options *opt) {
  NDPAR_REQUIRE_NULL(opt != NULL, "folds_timeseries_opts: opt is NULL", GSL_EFAULT);
  size_t step = opt->step ? opt->step : opt->horizon; /* 0: windows back to back */
  return timeseries("folds_timeseries_opts", "opt->", n, opt->windows, opt->horizon, step,
                    opt->gap, opt->max_train);
}

size_t ndpar_folds_count(const ndpar_folds *f) { return f ? f->k : 0; }
size_t ndpar_folds_samples(const ndpar_folds *f) { return f ? f->n : 0; }

int ndpar_folds_get(const ndpar_folds *f, size_t i, const size_t **train, size_t *ntrain,
                    const size_t **val, size_t *nval) {
  NDPAR_REQUIRE(f != NULL, "folds_get: f is NULL", GSL_EFAULT);
  if (i >= f->k) NDPAR_ERROR_FMT(GSL_EINVAL, "folds_get: fold i = %zu of %zu", i, f->k);
  if (f->train[i] == NULL) NDPAR_ERROR_FMT(GSL_EINVAL, "folds_get: fold i = %zu was never set", i);
  NDPAR_REQUIRE((train == NULL || (void *)train != (void *)val) && (ntrain == NULL || ntrain != nval),
                "folds_get: train and val (or ntrain and nval) are the same output", GSL_EINVAL);
  if (train) *train = f->train[i];
  if (ntrain) *ntrain = f->ntrain[i];
  if (val) *val = f->val[i];
  if (nval) *nval = f->nval[i];
  return GSL_SUCCESS;
}

/* ---- the fold data a callback sees ---- */

struct cv_workspace {
  const gsl_matrix *x;
  const gsl_vector *y;
  const ndpar_folds *folds;
  size_t max_train, max_val;
  gsl_matrix **xtr, **xva; /* per worker */
  gsl_vector **ytr, **yva;
  size_t threads;
};

/* 1 if idx is one ascending run start, start+1, ...; its start in *start. */
static int contiguous(const size_t *idx, size_t n, size_t *start) {
  for (size_t j = 1; j < n; j++)
    if (idx[j] != idx[0] + j) return 0;
  *start = idx[0];
  return 1;
}

void cv_workspace_free(cv_workspace *w) {
  if (w == NULL) return;
  for (size_t t = 0; t < w->threads; t++) {
    if (w->xtr) gsl_matrix_free(w->xtr[t]);
    if (w->xva) gsl_matrix_free(w->xva[t]);
    if (w->ytr) gsl_vector_free(w->ytr[t]);
    if (w->yva) gsl_vector_free(w->yva[t]);
  }
  free(w->xtr);
  free(w->xva);
  free(w->ytr);
  free(w->yva);
  free(w);
}

/* The rows the gathered (not contiguous) folds need: at least 1 each, so that every
 * buffer exists. */
static void gathered_sizes(const ndpar_folds *folds, size_t *max_train, size_t *max_val) {
  *max_train = *max_val = 1;
  for (size_t i = 0; i < folds->k; i++) {
    size_t s;
    if (!contiguous(folds->train[i], folds->ntrain[i], &s)) *max_train = GSL_MAX(*max_train, folds->ntrain[i]);
    if (!contiguous(folds->val[i], folds->nval[i], &s)) *max_val = GSL_MAX(*max_val, folds->nval[i]);
  }
}

/* Per-worker buffers of the given sizes, or NULL (not reported). */
static cv_workspace *buffers_alloc(size_t max_train, size_t max_val, size_t cols, size_t threads) {
  cv_workspace *w = calloc(1, sizeof *w);
  if (w == NULL) return NULL;
  *w = (cv_workspace){NULL, NULL, NULL, max_train, max_val, NULL, NULL, NULL, NULL, threads};
  w->xtr = calloc(threads, sizeof *w->xtr);
  w->xva = calloc(threads, sizeof *w->xva);
  w->ytr = calloc(threads, sizeof *w->ytr);
  w->yva = calloc(threads, sizeof *w->yva);
  int ok = w->xtr && w->xva && w->ytr && w->yva;
  for (size_t t = 0; ok && t < threads; t++) {
    w->xtr[t] = ndpar_matrix_new(max_train, cols); /* gsl_matrix_alloc leaks on failure */
    w->xva[t] = ndpar_matrix_new(max_val, cols);
    w->ytr[t] = ndpar_vector_new(max_train);
    w->yva[t] = ndpar_vector_new(max_val);
    ok = w->xtr[t] && w->xva[t] && w->ytr[t] && w->yva[t];
  }
  if (!ok) {
    cv_workspace_free(w);
    return NULL;
  }
  return w;
}

static int check_folds(const char *who, const ndpar_folds *folds) {
  if (folds == NULL) NDPAR_ERROR_FMT(GSL_EFAULT, "%s: folds is NULL", who);
  for (size_t i = 0; i < folds->k; i++)
    if (folds->train[i] == NULL) NDPAR_ERROR_FMT(GSL_EINVAL, "%s: folds: fold %zu was never set", who, i);
  return GSL_SUCCESS;
}

static int check_data(const char *who, const gsl_matrix *x, const gsl_vector *y,
                      const ndpar_folds *folds) {
  int status = check_folds(who, folds);
  if (status) return status;
  if (x == NULL || y == NULL) NDPAR_ERROR_FMT(GSL_EFAULT, "%s: x or y is NULL", who);
  /* GSL refuses views with no columns: on a worker thread, where it would abort */
  if (x->size2 == 0) NDPAR_ERROR_FMT(GSL_EBADLEN, "%s: x has no columns", who);
  if (x->size1 != folds->n || y->size != folds->n)
    NDPAR_ERROR_FMT(GSL_EBADLEN, "%s: x has %zu rows and y %zu entries; the folds index %zu samples",
                    who, x->size1, y->size, folds->n);
  return GSL_SUCCESS;
}

int cv_workspace_alloc(const char *who, const gsl_matrix *x, const gsl_vector *y,
                       const ndpar_folds *folds, size_t threads, cv_workspace **out) {
  int status = check_data(who, x, y, folds);
  if (status) return status;
  size_t max_train, max_val;
  gathered_sizes(folds, &max_train, &max_val);
  cv_workspace *w = buffers_alloc(max_train, max_val, x->size2, threads);
  if (w == NULL) GSL_ERROR("cv: out of memory for the gathered folds", GSL_ENOMEM);
  w->x = x, w->y = y, w->folds = folds;
  *out = w;
  return GSL_SUCCESS;
}

/* A view of rows idx of (x, y): directly if they form one run, else gathered into bx, by. */
static void rows_of(const gsl_matrix *x, const gsl_vector *y, const size_t *idx, size_t n,
                    gsl_matrix *bx, gsl_vector *by, _gsl_matrix_const_view *vx,
                    _gsl_vector_const_view *vy) {
  size_t start;
  if (contiguous(idx, n, &start)) {
    *vx = gsl_matrix_const_submatrix(x, start, 0, n, x->size2);
    *vy = gsl_vector_const_subvector(y, start, n);
    return;
  }
  for (size_t j = 0; j < n; j++) {
    memcpy(gsl_matrix_ptr(bx, j, 0), gsl_matrix_const_ptr(x, idx[j], 0), x->size2 * sizeof(double));
    gsl_vector_set(by, j, gsl_vector_get(y, idx[j]));
  }
  *vx = gsl_matrix_const_submatrix(bx, 0, 0, n, x->size2);
  *vy = gsl_vector_const_subvector(by, 0, n);
}

void cv_fold(cv_workspace *w, size_t i, unsigned worker, cv_fold_data *d) {
  const ndpar_folds *f = w->folds;
  rows_of(w->x, w->y, f->train[i], f->ntrain[i], w->xtr[worker], w->ytr[worker], &d->xtr, &d->ytr);
  rows_of(w->x, w->y, f->val[i], f->nval[i], w->xva[worker], w->yva[worker], &d->xva, &d->yva);
}

/* ---- the run ---- */

typedef struct {
  cv_workspace *w;
  ndpar_fit_score_fn f;
  void *ctx;
  double *scores;
} cv_ctx;

static int fold_task(const ndpar_task *t, void *vc) {
  cv_ctx *c = vc;
  cv_fold_data d;
  cv_fold(c->w, t->index, t->worker, &d);
  return c->f(&d.xtr.matrix, &d.ytr.vector, &d.xva.matrix, &d.yva.vector, &c->scores[t->index], t, c->ctx);
}

/* ---- the public workspace ---- */

struct ndpar_cv_workspace {
  ndpar_pool *pool;
  size_t k, cols;
  cv_workspace *buffers; /* bound to the call's data at each run */
  double *scores;        /* k: written to the caller's only when every fold succeeded */
};

void ndpar_cv_workspace_free(ndpar_cv_workspace *w) {
  if (w == NULL) return;
  cv_workspace_free(w->buffers);
  free(w->scores);
  free(w);
}

/* The workspace on a pool (not NULL); NULL with GSL_ENOMEM reported. */
static ndpar_cv_workspace *workspace_make(ndpar_pool *pool, const ndpar_folds *folds, size_t cols) {
  size_t max_train, max_val;
  gathered_sizes(folds, &max_train, &max_val);
  size_t bytes; /* the overflow is a bad count (GSL_EINVAL); a size too large to have, GSL_ENOMEM */
  NDPAR_REQUIRE_NULL(ndpar_size_mul3(GSL_MAX(max_train, max_val), cols, sizeof(double), &bytes),
                     "cv_workspace_alloc: the gathered rows x cols overflow a size_t", GSL_EINVAL);
  ndpar_cv_workspace *w = calloc(1, sizeof *w);
  if (w) {
    *w = (ndpar_cv_workspace){pool, folds->k, cols, NULL, malloc(folds->k * sizeof(double))};
    w->buffers = buffers_alloc(max_train, max_val, cols, ndpar_pool_threads(pool));
  }
  if (w == NULL || w->scores == NULL || w->buffers == NULL) {
    ndpar_cv_workspace_free(w);
    NDPAR_ERROR_NULL_FMT(GSL_ENOMEM, "cv_workspace_alloc: out of memory for cols = %zu (gathered rows of the largest fold)", cols);
  }
  return w;
}

ndpar_cv_workspace *ndpar_cv_workspace_alloc(ndpar_pool *pool, const ndpar_folds *folds,
                                             size_t cols) {
  if (check_folds("cv_workspace_alloc", folds)) return NULL;
  NDPAR_REQUIRE_NULL(cols > 0, "cv_workspace_alloc: cols must be positive", GSL_EINVAL);
  if (pool == NULL && (pool = ndpar_pool_default()) == NULL) return NULL;
  return workspace_make(pool, folds, cols);
}

/* The call's folds and width against the workspace (GSL_EBADLEN, naming the argument). */
static int fits(const ndpar_cv_workspace *w, const gsl_matrix *x, const ndpar_folds *folds) {
  if (x->size2 != w->cols)
    NDPAR_ERROR_FMT(GSL_EBADLEN, "cv_run_ws: x has %zu columns, the workspace's %zu", x->size2, w->cols);
  if (folds->k > w->k)
    NDPAR_ERROR_FMT(GSL_EBADLEN, "cv_run_ws: folds has %zu folds, the workspace holds %zu", folds->k, w->k);
  size_t max_train, max_val;
  gathered_sizes(folds, &max_train, &max_val);
  if (max_train > w->buffers->max_train || max_val > w->buffers->max_val)
    NDPAR_ERROR_FMT(GSL_EBADLEN, "cv_run_ws: folds gathers %zu training and %zu validation rows, the workspace %zu and %zu",
                    max_train, max_val, w->buffers->max_train, w->buffers->max_val);
  return GSL_SUCCESS;
}

static int check_run(const char *who, const gsl_matrix *x, const gsl_vector *y,
                     const ndpar_folds *folds, ndpar_fit_score_fn f, const gsl_vector *scores) {
  if (f == NULL) NDPAR_ERROR_FMT(GSL_EFAULT, "%s: f is NULL", who);
  if (scores == NULL) NDPAR_ERROR_FMT(GSL_EFAULT, "%s: scores is NULL", who);
  int status = check_data(who, x, y, folds);
  if (status) return status;
  if (scores->size != folds->k)
    NDPAR_ERROR_FMT(GSL_EBADLEN, "%s: scores has %zu entries for %zu folds", who, scores->size, folds->k);
  return GSL_SUCCESS;
}

int ndpar_cv_run_ws(ndpar_cv_workspace *w, const gsl_matrix *x, const gsl_vector *y,
                    const ndpar_folds *folds, ndpar_fit_score_fn f, void *ctx,
                    gsl_vector *scores, size_t *failed) {
  NDPAR_REQUIRE(w != NULL, "cv_run_ws: w is NULL", GSL_EFAULT);
  int status = check_run("cv_run_ws", x, y, folds, f, scores);
  if (status == GSL_SUCCESS) status = fits(w, x, folds);
  if (status) return status;
  w->buffers->x = x, w->buffers->y = y, w->buffers->folds = folds;
  cv_ctx c = {w->buffers, f, ctx, w->scores};
  status = ndpar_pool_run_ex(w->pool, folds->k, fold_task, &c, failed);
  if (status == GSL_SUCCESS)
    for (size_t i = 0; i < folds->k; i++) gsl_vector_set(scores, i, c.scores[i]);
  return status;
}

/* The allocating form: a workspace sized for this call. */
int ndpar_cv_run_ex(ndpar_pool *p, const gsl_matrix *x, const gsl_vector *y,
                    const ndpar_folds *folds, ndpar_fit_score_fn f, void *ctx,
                    gsl_vector *scores, size_t *failed) {
  int status = check_run("cv_run", x, y, folds, f, scores);
  if (status) return status;
  if (p == NULL && (p = ndpar_pool_default()) == NULL) return GSL_EFAILED;
  ndpar_cv_workspace *w = workspace_make(p, folds, x->size2);
  if (w == NULL) return GSL_ENOMEM;
  status = ndpar_cv_run_ws(w, x, y, folds, f, ctx, scores, failed);
  ndpar_cv_workspace_free(w);
  return status;
}

int ndpar_cv_run(ndpar_pool *p, const gsl_matrix *x, const gsl_vector *y,
                 const ndpar_folds *folds, ndpar_fit_score_fn f, void *ctx, gsl_vector *scores) {
  return ndpar_cv_run_ex(p, x, y, folds, f, ctx, scores, NULL);
}

int ndpar_cv_summary(const gsl_vector *scores, double *mean, double *sd) {
  NDPAR_REQUIRE(scores != NULL, "cv_summary: scores is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(mean == NULL || mean != sd, "cv_summary: mean and sd are the same double", GSL_EINVAL);
  double *v = malloc((scores->size ? scores->size : 1) * sizeof *v);
  if (v == NULL) GSL_ERROR("cv_summary: out of memory", GSL_ENOMEM);
  size_t n = 0;
  for (size_t i = 0; i < scores->size; i++)
    if (!isnan(gsl_vector_get(scores, i))) v[n++] = gsl_vector_get(scores, i);
  double m = n ? ndpar_stats_mean(v, 1, n) : GSL_NAN; /* [inf, inf]: inf, not NaN */
  if (mean) *mean = m;
  if (sd) *sd = isinf(m) ? GSL_NAN : n > 1 ? ndpar_stats_sd(v, 1, n) : n == 1 ? 0.0 : GSL_NAN;
  free(v);
  return GSL_SUCCESS;
}
