/* search.c: the summary every search form shares, and the estimator forms: fit and score
 * apart (several scores, training scores, times), refit, and successive halving. */
#include "ndpar/ndpar_grid.h"
#include "cv/cv_internal.h"
#include "grid/grid_internal.h"
#include "grid/search_internal.h"
#include "ndpar_internal.h"

#include <gsl/gsl_math.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- the result's extra fields ---- */

int grid_result_extras_alloc(ndpar_grid_result *r, size_t nscores, int train) {
  size_t c = r->candidates, k = r->folds, cols, bytes;
  if (!ndpar_size_mul(k, nscores, &cols) || !ndpar_size_mul3(c, cols, sizeof(double), &bytes)) return GSL_EINVAL;
  r->nscores = nscores;
  r->all_scores = ndpar_matrix_new(c, cols);
  r->all_mean = ndpar_matrix_new(c, nscores);
  r->all_sd = ndpar_matrix_new(c, nscores);
  if (train) {
    r->train_scores = ndpar_matrix_new(c, cols);
    r->train_mean = ndpar_matrix_new(c, nscores);
    r->train_sd = ndpar_matrix_new(c, nscores);
  }
  r->fit_time_mean = ndpar_vector_new(c);
  r->fit_time_sd = ndpar_vector_new(c);
  r->score_time_mean = ndpar_vector_new(c);
  r->score_time_sd = ndpar_vector_new(c);
  r->round = calloc(c, sizeof *r->round);
  int ok = r->all_scores && r->all_mean && r->all_sd && r->fit_time_mean && r->fit_time_sd &&
           r->score_time_mean && r->score_time_sd && r->round &&
           (!train || (r->train_scores && r->train_mean && r->train_sd));
  return ok ? GSL_SUCCESS : GSL_ENOMEM;
}

static void release_refit(ndpar_grid_result *r) {
  if (r->refit && r->refit_release) r->refit_release(r->refit, r->refit_ctx);
  r->refit = NULL;
}

void grid_result_extras_free(ndpar_grid_result *r) {
  gsl_matrix *m[] = {r->all_scores, r->all_mean, r->all_sd, r->train_scores, r->train_mean, r->train_sd};
  for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
    if (m[i]) gsl_matrix_free(m[i]);
  gsl_vector *v[] = {r->fit_time_mean, r->fit_time_sd, r->score_time_mean, r->score_time_sd};
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
    if (v[i]) gsl_vector_free(v[i]);
  free(r->round);
  free(r->best_params);
  release_refit(r);
}

ndpar_grid_result *ndpar_grid_result_alloc_est(size_t candidates, size_t folds, size_t nscores,
                                               int train) {
  NDPAR_REQUIRE_NULL(nscores > 0, "grid_result_alloc_est: nscores must be positive", GSL_EINVAL);
  size_t cols, bytes;
  NDPAR_REQUIRE_NULL(ndpar_size_mul(folds, nscores, &cols) && ndpar_size_mul3(candidates, cols, sizeof(double), &bytes),
                     "grid_result_alloc_est: candidates x folds x nscores scores overflow a size_t", GSL_EINVAL);
  ndpar_grid_result *r = ndpar_grid_result_alloc(candidates, folds);
  if (r == NULL || (nscores == 1 && !train)) return r;
  grid_result_extras_free(r); /* the fit-and-score form's, replaced */
  memset(&r->nscores, 0, sizeof *r - offsetof(ndpar_grid_result, nscores));
  if (grid_result_extras_alloc(r, nscores, train)) {
    ndpar_grid_result_free(r);
    GSL_ERROR_NULL("grid_result_alloc_est: out of memory", GSL_ENOMEM);
  }
  return r;
}

/* ---- the summary ---- */

size_t grid_record_width(size_t nscores, int train, int timed) {
  return nscores * (train ? 2 : 1) + (timed ? 2 : 0);
}

/* Mean and sd over the k folds of the values at stride `width` from v: NaN if any is; the
 * sd with divisor k - 1 (0 for one fold) or k (population), finite where the true one is
 * (ndpar_stats_sd: bit-identical to gsl_stats_sd below 2^500). */
static void fold_stats(const double *v, size_t width, size_t k, int population, double *mean,
                       double *sd) {
  int any_nan = 0;
  for (size_t j = 0; j < k; j++) any_nan |= isnan(v[j * width]);
  if (any_nan) {
    *mean = *sd = GSL_NAN;
    return;
  }
  *mean = ndpar_stats_mean(v, width, k); /* +Inf on every fold: +Inf, as numpy's mean */
  if (population) *sd = ndpar_stats_sd_pop(v, width, k);
  else *sd = k > 1 ? ndpar_stats_sd(v, width, k) : 0.0;
  if (isinf(*mean)) *sd = GSL_NAN; /* numpy's std of anything infinite (inf - inf) */
}

typedef struct {
  double mean;
  size_t level, index;
} ranked;

/* Later rounds first, then the highest mean, NaN last, then the lower index. */
static int by_level_mean(const void *a, const void *b) {
  const ranked *p = a, *q = b;
  if (p->level != q->level) return p->level > q->level ? -1 : 1;
  if (isnan(p->mean) != isnan(q->mean)) return isnan(p->mean) ? 1 : -1;
  if (!isnan(p->mean) && p->mean != q->mean) return p->mean > q->mean ? -1 : 1;
  return (p->index > q->index) - (p->index < q->index);
}

static int ties(const ranked *p, const ranked *q) {
  return p->level == q->level && (p->mean == q->mean || (isnan(p->mean) && isnan(q->mean)));
}

/* scipy's rankdata(-mean, method="min") with NaN tied after every number, as scikit-learn
 * ranks (its NaN means become min - 1); best = the first of the order, none if NaN. */
static int rank_candidates(const grid_summary_in *in, ndpar_grid_result *r) {
  ranked *order = malloc(in->ncand * sizeof *order);
  if (order == NULL) GSL_ERROR("grid_search: out of memory", GSL_ENOMEM);
  for (size_t i = 0; i < in->ncand; i++)
    order[i] = (ranked){gsl_vector_get(r->mean, i), in->level ? in->level[i] : 0, i};
  qsort(order, in->ncand, sizeof *order, by_level_mean);
  for (size_t j = 0; j < in->ncand; j++)
    r->rank[order[j].index] = j > 0 && ties(&order[j - 1], &order[j]) ? r->rank[order[j - 1].index] : j + 1;
  r->best = isnan(order[0].mean) ? in->ncand : order[0].index;
  free(order);
  return GSL_SUCCESS;
}

int grid_summary(const grid_summary_in *in, ndpar_grid_result *r) {
  size_t k = in->k, ns = in->nscores, width = grid_record_width(ns, in->train, in->timed);
  int population = (in->flags & NDPAR_GRID_POPULATION_SD) != 0;
  for (size_t i = 0; i < in->ncand; i++) {
    const double *rec = in->rec + i * k * width;
    double mean, sd;
    r->status[i] = 0;
    for (size_t j = 0; j < k && in->status; j++)
      if (r->status[i] == 0) r->status[i] = in->status[i * k + j]; /* the first failing fold's */
    for (size_t j = 0; j < k; j++) {
      gsl_matrix_set(r->scores, i, j, rec[j * width + in->rank_score]);
      for (size_t s = 0; s < ns; s++) {
        gsl_matrix_set(r->all_scores, i, j * ns + s, rec[j * width + s]);
        if (in->train && r->train_scores) gsl_matrix_set(r->train_scores, i, j * ns + s, rec[j * width + ns + s]);
      }
    }
    for (size_t s = 0; s < ns; s++) {
      fold_stats(rec + s, width, k, population, &mean, &sd);
      gsl_matrix_set(r->all_mean, i, s, mean);
      gsl_matrix_set(r->all_sd, i, s, sd);
      if (s == in->rank_score) gsl_vector_set(r->mean, i, mean), gsl_vector_set(r->sd, i, sd);
      if (in->train && r->train_mean) {
        fold_stats(rec + ns + s, width, k, population, &mean, &sd);
        gsl_matrix_set(r->train_mean, i, s, mean);
        gsl_matrix_set(r->train_sd, i, s, sd);
      }
    }
    double fm = GSL_NAN, fs = GSL_NAN, sm = GSL_NAN, ss = GSL_NAN;
    if (in->timed) {
      fold_stats(rec + width - 2, width, k, population, &fm, &fs);
      fold_stats(rec + width - 1, width, k, population, &sm, &ss);
    }
    gsl_vector_set(r->fit_time_mean, i, fm), gsl_vector_set(r->fit_time_sd, i, fs);
    gsl_vector_set(r->score_time_mean, i, sm), gsl_vector_set(r->score_time_sd, i, ss);
    r->round[i] = in->level ? in->level[i] : 0;
  }
  return rank_candidates(in, r);
}

int grid_result_set_best_params(ndpar_grid_result *r, const char *base, size_t size) {
  free(r->best_params);
  r->best_params = NULL;
  r->params_size = size;
  if (r->best >= r->candidates) return GSL_SUCCESS;
  if ((r->best_params = malloc(size)) == NULL) GSL_ERROR("grid_search: out of memory", GSL_ENOMEM);
  memcpy(r->best_params, base + r->best * size, size);
  return GSL_SUCCESS;
}

/* ---- the estimator run: fit, score, time ---- */

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct {
  const char *base;
  size_t size, k, width, resource;
  const size_t *cand; /* task t runs candidate cand[t / k] on fold t % k */
  cv_workspace *w;
  const ndpar_estimator *e;
  int train, stop, error_score_set;
  double error_score;
  double *rec; /* per (candidate, fold): width doubles */
  int *status; /* per (candidate, fold) */
} est_run;

static int est_task(const ndpar_task *t, void *vc) {
  est_run *c = vc;
  const ndpar_estimator *e = c->e;
  size_t cand = c->cand[t->index / c->k], fold = t->index % c->k, ns = e->nscores;
  cv_fold_data d;
  cv_fold(c->w, fold, t->worker, &d);
  const void *params = c->base + cand * c->size;
  double *rec = c->rec + (cand * c->k + fold) * c->width;
  void *model = NULL;
  double t0 = now();
  int status = e->fit(params, cand, c->resource, &d.xtr.matrix, &d.ytr.vector, &model, t, e->ctx);
  double t1 = now();
  if (status == GSL_SUCCESS) status = e->score(model, params, &d.xva.matrix, &d.yva.vector, rec, t, e->ctx);
  double t2 = now();
  if (status == GSL_SUCCESS && c->train)
    status = e->score(model, params, &d.xtr.matrix, &d.ytr.vector, rec + ns, t, e->ctx);
  if (model && e->release) e->release(model, e->ctx);
  rec[c->width - 2] = t1 - t0;
  rec[c->width - 1] = t2 - t1;
  if (status)
    for (size_t s = 0; s < ns * (c->train ? 2 : 1); s++) rec[s] = c->error_score_set ? c->error_score : GSL_NAN;
  c->status[cand * c->k + fold] = status;
  return c->stop ? status : GSL_SUCCESS;
}

/* One flat run of the candidates cand[0 .. ncand) on every fold of folds. */
static int est_run_flat(est_run *c, ndpar_pool *p, const char *who, const gsl_matrix *x,
                        const gsl_vector *y, const ndpar_folds *folds, size_t ncand) {
  int status = cv_workspace_alloc(who, x, y, folds, ndpar_pool_threads(p), &c->w);
  if (status) return status;
  status = ndpar_pool_run(p, ncand * c->k, est_task, c);
  cv_workspace_free(c->w);
  c->w = NULL;
  return status;
}

/* ---- checks ---- */

static int check_est(const char *who, size_t ncand, const ndpar_folds *folds,
                     const ndpar_estimator *e, const ndpar_grid_options *opts,
                     const ndpar_grid_result *r) {
  if (e == NULL || e->fit == NULL || e->score == NULL)
    NDPAR_ERROR_FMT(GSL_EFAULT, "%s: e, the estimator, or its fit or score is NULL", who);
  if (e->nscores == 0) NDPAR_ERROR_FMT(GSL_EINVAL, "%s: e->nscores must be positive", who);
  if (r == NULL) NDPAR_ERROR_FMT(GSL_EFAULT, "%s: result is NULL", who);
  if (folds == NULL) NDPAR_ERROR_FMT(GSL_EFAULT, "%s: folds is NULL", who);
  int known = NDPAR_GRID_STOP_ON_ERROR | NDPAR_GRID_ERROR_SCORE | NDPAR_GRID_POPULATION_SD |
              NDPAR_GRID_TRAIN_SCORES | NDPAR_GRID_REFIT;
  if (opts && (opts->flags & ~known)) NDPAR_ERROR_FMT(GSL_EINVAL, "%s: opts->flags: unknown flags", who);
  if (opts && opts->rank_score >= e->nscores)
    NDPAR_ERROR_FMT(GSL_EINVAL, "%s: opts->rank_score %zu of %zu scores", who, opts->rank_score, e->nscores);
  size_t k = ndpar_folds_count(folds);
  if (r->candidates != ncand || r->folds != k || r->nscores != e->nscores)
    NDPAR_ERROR_FMT(GSL_EBADLEN, "%s: result is for %zu candidates x %zu folds x %zu scores, the search has %zu x %zu x %zu",
                    who, r->candidates, r->folds, r->nscores, ncand, k, e->nscores);
  if (opts && (opts->flags & NDPAR_GRID_TRAIN_SCORES) && r->train_scores == NULL)
    NDPAR_ERROR_FMT(GSL_EBADLEN, "%s: training scores asked for, result has none (allocate it with train = 1)", who);
  return GSL_SUCCESS;
}

/* ---- the search, plain or halving ---- */

typedef struct {
  const char *who;
  ndpar_pool *pool;
  const char *base;
  size_t size, ncand, k;
  const gsl_matrix *x;
  const gsl_vector *y;
  const ndpar_folds *folds;
  const ndpar_estimator *e;
  const ndpar_grid_options *opts;
  int flags;
  ndpar_grid_result *result;
  est_run run;
  size_t *level; /* per candidate: the last round it ran */
} search_call;

static int call_open(search_call *s) {
  int status = check_est(s->who, s->ncand, s->folds, s->e, s->opts, s->result);
  if (status) return status;
  if (s->pool == NULL && (s->pool = ndpar_pool_default()) == NULL) return GSL_EFAILED;
  s->flags = s->opts ? s->opts->flags : 0;
  s->k = ndpar_folds_count(s->folds);
  int train = (s->flags & NDPAR_GRID_TRAIN_SCORES) != 0;
  size_t width = grid_record_width(s->e->nscores, train, 1), tasks, n;
  if (!ndpar_size_mul(s->ncand, s->k, &tasks) || !ndpar_size_mul3(tasks, width, sizeof(double), &n))
    NDPAR_ERROR_FMT(GSL_EINVAL, "%s: %zu candidates x %zu folds overflow a size_t", s->who, s->ncand, s->k);
  s->run = (est_run){.base = s->base, .size = s->size, .k = s->k, .width = width, .e = s->e,
                     .train = train, .stop = (s->flags & NDPAR_GRID_STOP_ON_ERROR) != 0,
                     .error_score_set = (s->flags & NDPAR_GRID_ERROR_SCORE) != 0,
                     .error_score = s->opts ? s->opts->error_score : 0};
  s->run.rec = malloc(n);
  s->run.status = calloc(s->ncand * s->k, sizeof *s->run.status);
  size_t *cand = malloc(s->ncand * sizeof *cand);
  s->level = calloc(s->ncand, sizeof *s->level);
  s->run.cand = cand;
  if (!s->run.rec || !s->run.status || !cand || !s->level) GSL_ERROR("grid_search: out of memory", GSL_ENOMEM);
  for (size_t i = 0; i < s->ncand; i++) cand[i] = i;
  return GSL_SUCCESS;
}

static void call_close(search_call *s) {
  free(s->run.rec);
  free(s->run.status);
  free((size_t *)s->run.cand);
  free(s->level);
}

typedef struct {
  const search_call *s;
  size_t candidate, resource;
  void *model;
} refit_ctx;

static int refit_task(const ndpar_task *t, void *vc) {
  refit_ctx *c = vc;
  const search_call *s = c->s;
  return s->e->fit(s->base + c->candidate * s->size, c->candidate, c->resource, s->x, s->y,
                   &c->model, t, s->e->ctx);
}

/* The summary, the best parameters, the refit (resource as given), the final progress. */
static int call_finish(search_call *s, size_t resource) {
  ndpar_grid_result *r = s->result;
  grid_summary_in in = {s->ncand, s->k, s->e->nscores, s->run.train, 1, s->run.rec, s->run.status,
                        s->level, s->flags, s->opts ? s->opts->rank_score : 0};
  int status = grid_summary(&in, r);
  if (status == GSL_SUCCESS) status = grid_result_set_best_params(r, s->base, s->size);
  release_refit(r);
  if (status == GSL_SUCCESS && (s->flags & NDPAR_GRID_REFIT) && r->best < r->candidates) {
    refit_ctx c = {s, r->best, resource, NULL};
    status = ndpar_pool_run(s->pool, 1, refit_task, &c);
    if (status) {
      if (c.model && s->e->release) s->e->release(c.model, s->e->ctx);
      NDPAR_ERROR_FMT(status, "%s: the refit of candidate %zu failed (status %d)", s->who, r->best, status);
    }
    r->refit = c.model, r->refit_release = s->e->release, r->refit_ctx = s->e->ctx;
  }
  if (status == GSL_SUCCESS && s->opts && s->opts->progress)
    s->opts->progress(s->ncand, s->ncand, s->opts->progress_ctx);
  return status;
}

static int search_est(search_call *s) {
  int status = call_open(s);
  if (status == GSL_SUCCESS) status = est_run_flat(&s->run, s->pool, s->who, s->x, s->y, s->folds, s->ncand);
  if (status == GSL_SUCCESS) status = call_finish(s, 0);
  call_close(s);
  return status;
}

int ndpar_grid_search_est_params(ndpar_pool *p, const void *params, size_t size, size_t n,
                                 const gsl_matrix *x, const gsl_vector *y,
                                 const ndpar_folds *folds, const ndpar_estimator *e,
                                 const ndpar_grid_options *opts, ndpar_grid_result *result) {
  int status = grid_check_params("grid_search_est_params", params, size, n);
  if (status) return status;
  search_call s = {.who = "grid_search_est_params", .pool = p, .base = params, .size = size,
                   .ncand = n, .x = x, .y = y, .folds = folds, .e = e, .opts = opts, .result = result};
  return search_est(&s);
}

int ndpar_grid_search_est(ndpar_pool *p, const ndpar_grid *g, const gsl_matrix *x,
                          const gsl_vector *y, const ndpar_folds *folds, const ndpar_estimator *e,
                          const ndpar_grid_options *opts, ndpar_grid_result *result) {
  NDPAR_REQUIRE(g != NULL, "grid_search_est: g is NULL", GSL_EFAULT);
  size_t n = ndpar_grid_size(g), naxes = ndpar_grid_naxes(g);
  NDPAR_REQUIRE(n > 0, "grid_search_est: g, the grid, is empty (no axes)", GSL_EINVAL);
  size_t bytes;
  NDPAR_REQUIRE(ndpar_size_mul3(n, naxes, sizeof(double), &bytes),
                "grid_search_est: the grid's parameter table overflows a size_t", GSL_EINVAL);
  double *params = malloc(bytes);
  if (params == NULL) GSL_ERROR("grid_search_est: out of memory", GSL_ENOMEM);
  for (size_t i = 0; i < n; i++) ndpar_grid_candidate(g, i, params + i * naxes);
  search_call s = {.who = "grid_search_est", .pool = p, .base = (const char *)params,
                   .size = naxes * sizeof *params, .ncand = n, .x = x, .y = y, .folds = folds,
                   .e = e, .opts = opts, .result = result};
  int status = search_est(&s);
  free(params);
  return status;
}

/* ---- successive halving ---- */

/* floor(log_factor(v)) for v >= 1. */
static size_t floor_log(size_t v, size_t factor) {
  size_t p = 0;
  for (size_t f = factor; f <= v; p++) {
    if (f > SIZE_MAX / factor) return p + 1;
    f *= factor;
  }
  return p;
}

static size_t smallest_training_fold(const ndpar_folds *folds) {
  size_t least = SIZE_MAX;
  for (size_t i = 0; i < ndpar_folds_count(folds); i++) {
    size_t ntr = 0;
    if (ndpar_folds_get(folds, i, NULL, &ntr, NULL, NULL) == GSL_SUCCESS && ntr < least) least = ntr;
  }
  return least;
}

/* The folds with each training set cut to `rows` rows spread evenly over it (its
 * (j ntrain / rows)-th, j < rows), validation sets whole; NULL (reported) if out of memory. */
static ndpar_folds *cut_training(const ndpar_folds *folds, size_t rows) {
  size_t k = ndpar_folds_count(folds);
  ndpar_folds *cut = ndpar_folds_alloc(ndpar_folds_samples(folds), k);
  size_t *sub = cut ? malloc(rows * sizeof *sub) : NULL;
  int status = sub ? GSL_SUCCESS : GSL_ENOMEM;
  for (size_t i = 0; status == GSL_SUCCESS && i < k; i++) {
    const size_t *tr, *va;
    size_t ntr, nva;
    ndpar_folds_get(folds, i, &tr, &ntr, &va, &nva);
    for (size_t j = 0; j < rows; j++) sub[j] = tr[(size_t)((double)j * (double)ntr / (double)rows)];
    status = ndpar_folds_set(cut, i, sub, rows, va, nva);
  }
  free(sub);
  if (status) {
    ndpar_folds_free(cut);
    if (status == GSL_ENOMEM) GSL_ERROR_NULL("grid_halving: out of memory", GSL_ENOMEM);
    return NULL;
  }
  return cut;
}

static int cmp_size(const void *a, const void *b) {
  size_t x = *(const size_t *)a, y = *(const size_t *)b;
  return (x > y) - (x < y);
}

/* Keeps the best `keep` of the alive candidates cand[0 .. alive) by their mean ranking
 * score over the folds (ascending candidate order kept). */
static int keep_best(search_call *s, size_t *cand, size_t alive, size_t keep) {
  ranked *v = malloc(alive * sizeof *v);
  if (v == NULL) GSL_ERROR("grid_halving: out of memory", GSL_ENOMEM);
  size_t rank_score = s->opts ? s->opts->rank_score : 0;
  for (size_t i = 0; i < alive; i++) {
    const double *rec = s->run.rec + cand[i] * s->k * s->run.width + rank_score;
    double mean, sd;
    fold_stats(rec, s->run.width, s->k, 0, &mean, &sd);
    v[i] = (ranked){mean, 0, cand[i]};
  }
  qsort(v, alive, sizeof *v, by_level_mean);
  for (size_t i = 0; i < keep; i++) cand[i] = v[i].index;
  qsort(cand, keep, sizeof *cand, cmp_size);
  free(v);
  return GSL_SUCCESS;
}

/* The rounds, the first round's resource and the most, from h (GSL errors naming h). */
static int halving_plan(const search_call *s, const ndpar_halving *h, size_t *rounds,
                        size_t *min_res, size_t *max_res) {
  if (h == NULL) NDPAR_ERROR_FMT(GSL_EFAULT, "%s: h is NULL", s->who);
  if (h->factor < 2) NDPAR_ERROR_FMT(GSL_EINVAL, "%s: h->factor must be at least 2", s->who);
  size_t most = h->max_resource;
  if (h->rows) {
    size_t least = smallest_training_fold(s->folds);
    if (most == 0) most = least;
    if (most > least)
      NDPAR_ERROR_FMT(GSL_EINVAL, "%s: h->max_resource %zu rows, the smallest training fold has %zu", s->who, most, least);
  }
  if (most == 0) NDPAR_ERROR_FMT(GSL_EINVAL, "%s: h->max_resource must be positive", s->who);
  size_t required = 1 + floor_log(s->ncand, h->factor), least = h->min_resource;
  if (least == 0) { /* exhaust, as scikit-learn: max(1, most // factor^(required - 1)) */
    least = most;
    for (size_t r = 1; r < required; r++) least /= h->factor; /* floor of floors: the same */
    if (least == 0) least = 1;
  }
  if (least > most)
    NDPAR_ERROR_FMT(GSL_EINVAL, "%s: h->min_resource %zu is above the most, %zu", s->who, least, most);
  size_t possible = 1 + floor_log(most / least, h->factor);
  *rounds = required < possible ? required : possible;
  *min_res = least, *max_res = most;
  return GSL_SUCCESS;
}

static int halving_rounds(search_call *s, const ndpar_halving *h, size_t rounds, size_t resource) {
  size_t *cand = (size_t *)s->run.cand, alive = s->ncand, done = 0;
  int status = GSL_SUCCESS;
  for (size_t r = 0; status == GSL_SUCCESS && r < rounds; r++, resource *= h->factor) {
    ndpar_folds *cut = h->rows ? cut_training(s->folds, resource) : NULL;
    if (h->rows && cut == NULL) return GSL_ENOMEM;
    s->run.resource = resource;
    status = est_run_flat(&s->run, s->pool, s->who, s->x, s->y, cut ? cut : s->folds, alive);
    ndpar_folds_free(cut);
    for (size_t i = 0; i < alive; i++) s->level[cand[i]] = r;
    if (status || r + 1 == rounds) break;
    size_t keep = alive / h->factor + (alive % h->factor != 0);
    status = keep_best(s, cand, alive, keep);
    done += alive - keep, alive = keep;
    if (status == GSL_SUCCESS && s->opts && s->opts->progress)
      s->opts->progress(done, s->ncand, s->opts->progress_ctx);
  }
  return status;
}

int ndpar_grid_halving(ndpar_pool *p, const void *params, size_t size, size_t n,
                       const gsl_matrix *x, const gsl_vector *y, const ndpar_folds *folds,
                       const ndpar_estimator *e, const ndpar_halving *h,
                       const ndpar_grid_options *opts, ndpar_grid_result *result) {
  int status = grid_check_params("grid_halving", params, size, n);
  if (status) return status;
  search_call s = {.who = "grid_halving", .pool = p, .base = params, .size = size, .ncand = n,
                   .x = x, .y = y, .folds = folds, .e = e, .opts = opts, .result = result};
  size_t rounds = 0, min_res = 0, max_res = 0;
  status = check_est(s.who, n, folds, e, opts, result);
  if (status == GSL_SUCCESS) status = halving_plan(&s, h, &rounds, &min_res, &max_res);
  if (status) return status;
  status = call_open(&s);
  if (status == GSL_SUCCESS) status = halving_rounds(&s, h, rounds, min_res);
  if (status == GSL_SUCCESS) status = call_finish(&s, h->rows ? x->size1 : max_res);
  call_close(&s);
  return status;
}
