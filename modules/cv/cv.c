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
    GSL_ERROR_NULL("folds_alloc: out of memory", GSL_ENOMEM);
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
  if (i >= f->k) NDPAR_ERROR_FMT(GSL_EINVAL, "folds_set: fold %zu of %zu", i, f->k);
  NDPAR_REQUIRE(train != NULL && val != NULL, "folds_set: train or val is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(ntrain > 0 && nval > 0, "folds_set: a fold needs training and validation indices", GSL_EINVAL);
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
  NDPAR_REQUIRE_NULL(ndpar_size_mul(n, sizeof(size_t), &bytes), "folds_kfold: n is too large (n indices overflow the address space)", GSL_EINVAL);
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

ndpar_folds *ndpar_folds_timeseries(size_t n, size_t windows, size_t horizon, size_t step,
                                    size_t gap, size_t max_train) {
  NDPAR_REQUIRE_NULL(windows > 0, "folds_timeseries: windows must be positive", GSL_EINVAL);
  NDPAR_REQUIRE_NULL(horizon > 0, "folds_timeseries: horizon must be positive", GSL_EINVAL);
  NDPAR_REQUIRE_NULL(windows == 1 || step > 0, "folds_timeseries: step must be positive", GSL_EINVAL);
  /* the first window's validation start, computed without wrapping below zero */
  size_t back, bytes;
  NDPAR_REQUIRE_NULL(ndpar_size_mul(n, sizeof(size_t), &bytes), "folds_timeseries: n is too large (n indices overflow the address space)", GSL_EINVAL);
  if (!ndpar_size_mul(windows - 1, step, &back) || !ndpar_size_add(back, horizon, &back) || back > n) NDPAR_ERROR_NULL_FMT(GSL_EINVAL, "folds_timeseries: %zu windows of horizon %zu, step %zu do not fit %zu points", windows, horizon, step, n);
  if (n - back <= gap)
    NDPAR_ERROR_NULL_FMT(GSL_EINVAL, "folds_timeseries: the gap of %zu leaves the first window no training data", gap);
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
      GSL_ERROR_NULL("folds_timeseries: out of memory", GSL_ENOMEM);
    }
    for (size_t j = 0; j < train_end - train_start; j++) train[j] = train_start + j;
    for (size_t j = 0; j < horizon; j++) val[j] = val_start + j;
    set_owned(f, w, train, train_end - train_start, val, horizon);
  }
  return f;
}

size_t ndpar_folds_count(const ndpar_folds *f) { return f ? f->k : 0; }
size_t ndpar_folds_samples(const ndpar_folds *f) { return f ? f->n : 0; }

int ndpar_folds_get(const ndpar_folds *f, size_t i, const size_t **train, size_t *ntrain,
                    const size_t **val, size_t *nval) {
  NDPAR_REQUIRE(f != NULL, "folds_get: f is NULL", GSL_EFAULT);
  if (i >= f->k) NDPAR_ERROR_FMT(GSL_EINVAL, "folds_get: fold %zu of %zu", i, f->k);
  if (f->train[i] == NULL) NDPAR_ERROR_FMT(GSL_EINVAL, "folds_get: fold %zu was never set", i);
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

int cv_workspace_alloc(const char *who, const gsl_matrix *x, const gsl_vector *y,
                       const ndpar_folds *folds, size_t threads, cv_workspace **out) {
  if (folds == NULL) NDPAR_ERROR_FMT(GSL_EFAULT, "%s: folds is NULL", who);
  if (x == NULL || y == NULL) NDPAR_ERROR_FMT(GSL_EFAULT, "%s: x or y is NULL", who);
  if (x->size2 == 0) NDPAR_ERROR_FMT(GSL_EBADLEN, "%s: x has no columns", who);
  if (x->size1 != folds->n || y->size != folds->n)
    NDPAR_ERROR_FMT(GSL_EBADLEN, "%s: x has %zu rows and y %zu entries; the folds index %zu samples",
                    who, x->size1, y->size, folds->n);
  for (size_t i = 0; i < folds->k; i++)
    if (folds->train[i] == NULL) NDPAR_ERROR_FMT(GSL_EINVAL, "%s: fold %zu was never set", who, i);
  cv_workspace *w = calloc(1, sizeof *w);
  if (w == NULL) GSL_ERROR("cv: out of memory", GSL_ENOMEM);
  *w = (cv_workspace){x, y, folds, 1, 1, NULL, NULL, NULL, NULL, threads};
  for (size_t i = 0; i < folds->k; i++) {
    size_t s;
    if (!contiguous(folds->train[i], folds->ntrain[i], &s)) w->max_train = GSL_MAX(w->max_train, folds->ntrain[i]);
    if (!contiguous(folds->val[i], folds->nval[i], &s)) w->max_val = GSL_MAX(w->max_val, folds->nval[i]);
  }
  w->xtr = calloc(threads, sizeof *w->xtr);
  w->xva = calloc(threads, sizeof *w->xva);
  w->ytr = calloc(threads, sizeof *w->ytr);
  w->yva = calloc(threads, sizeof *w->yva);
  int ok = w->xtr && w->xva && w->ytr && w->yva;
  for (size_t t = 0; ok && t < threads; t++) {
    w->xtr[t] = gsl_matrix_alloc(w->max_train, x->size2);
    w->xva[t] = gsl_matrix_alloc(w->max_val, x->size2);
    w->ytr[t] = gsl_vector_alloc(w->max_train);
    w->yva[t] = gsl_vector_alloc(w->max_val);
    ok = w->xtr[t] && w->xva[t] && w->ytr[t] && w->yva[t];
  }
  if (!ok) {
    cv_workspace_free(w);
    GSL_ERROR("cv: out of memory for the gathered folds", GSL_ENOMEM);
  }
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

int ndpar_cv_run_ex(ndpar_pool *p, const gsl_matrix *x, const gsl_vector *y,
                    const ndpar_folds *folds, ndpar_fit_score_fn f, void *ctx,
                    gsl_vector *scores, size_t *failed) {
  NDPAR_REQUIRE(f != NULL, "cv_run: f is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(scores != NULL, "cv_run: scores is NULL", GSL_EFAULT);
  if (folds && scores->size != folds->k)
    NDPAR_ERROR_FMT(GSL_EBADLEN, "cv_run: scores has %zu entries for %zu folds", scores->size, folds->k);
  if (p == NULL && (p = ndpar_pool_default()) == NULL) return GSL_EFAILED;
  cv_workspace *w;
  int status = cv_workspace_alloc("cv_run", x, y, folds, ndpar_pool_threads(p), &w);
  if (status) return status;
  cv_ctx c = {w, f, ctx, malloc(folds->k * sizeof(double))};
  if (c.scores == NULL) status = GSL_ENOMEM;
  if (status == GSL_SUCCESS) status = ndpar_pool_run_ex(p, folds->k, fold_task, &c, failed);
  if (status == GSL_SUCCESS)
    for (size_t i = 0; i < folds->k; i++) gsl_vector_set(scores, i, c.scores[i]);
  free(c.scores);
  cv_workspace_free(w);
  return status;
}

int ndpar_cv_run(ndpar_pool *p, const gsl_matrix *x, const gsl_vector *y,
                 const ndpar_folds *folds, ndpar_fit_score_fn f, void *ctx, gsl_vector *scores) {
  return ndpar_cv_run_ex(p, x, y, folds, f, ctx, scores, NULL);
}

int ndpar_cv_summary(const gsl_vector *scores, double *mean, double *sd) {
  NDPAR_REQUIRE(scores != NULL, "cv_summary: scores is NULL", GSL_EFAULT);
  double *v = malloc((scores->size ? scores->size : 1) * sizeof *v);
  if (v == NULL) GSL_ERROR("cv_summary: out of memory", GSL_ENOMEM);
  size_t n = 0;
  for (size_t i = 0; i < scores->size; i++)
    if (!isnan(gsl_vector_get(scores, i))) v[n++] = gsl_vector_get(scores, i);
  if (mean) *mean = n ? gsl_stats_mean(v, 1, n) : GSL_NAN;
  if (sd) *sd = n > 1 ? gsl_stats_sd(v, 1, n) : n == 1 ? 0.0 : GSL_NAN;
  free(v);
  return GSL_SUCCESS;
}
