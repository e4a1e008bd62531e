/* kernels.c: the reference workloads, each as a sequential loop, an ndpar call and an OpenMP
 * loop over the same data and models (the reference MLP on the bundled Seattle series). */
#include "ref/kernels.h"

#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ndpar/ndpar_batch.h"
#include "ndpar/ndpar_grid.h"
#include "ndpar/ndpar_ensemble.h"
#include "ndpar/ndpar_grad.h"
#include "ndpar/ndpar_preprocess.h"
#include "ref/wl.h"

#define LAGS 24
#define HIDDEN 64
#define HORIZON 6
#define MAXM 64

typedef struct {
  size_t nb, rows, m, samples, horizon;
  int deterministic;
  gsl_matrix *x, *y;
  gsl_vector *target; /* grad: the horizon-1 targets, contiguous */
  wl_mlp *mlp[MAXM];
  ndpar_predictor models[MAXM];
  _gsl_matrix_const_view *xv;
  _gsl_vector_const_view *yv;
  const gsl_matrix **xs;
  const gsl_vector **ys;
  gsl_matrix **out, **spread; /* per batch, rows x horizon */
  double *buf;                /* sequential/OpenMP scratch: samples or member outputs */
  ndpar_streams *streams;     /* MC, sequential/OpenMP: one per thread */
  gsl_vector *grad;
  double loss;
  char desc[96];
} state;

/* ---- setup ---- */

static size_t or_default(size_t v, size_t d) { return v ? v : d; }

static void teardown(void *vs) {
  state *s = vs;
  if (s == NULL) return;
  for (size_t k = 0; k < MAXM; k++) wl_mlp_free(s->mlp[k]);
  for (size_t b = 0; s->out && b < s->nb; b++) {
    gsl_matrix_free(s->out[b]);
    gsl_matrix_free(s->spread[b]);
  }
  free(s->out);
  free(s->spread);
  free(s->xv);
  free(s->yv);
  free(s->xs);
  free(s->ys);
  free(s->buf);
  ndpar_streams_free(s->streams);
  gsl_vector_free(s->grad);
  gsl_vector_free(s->target);
  gsl_matrix_free(s->x);
  gsl_matrix_free(s->y);
  free(s);
}

/* Windows of the series, nb batches of `rows` rows as views, m MLPs, outputs per batch. */
static state *setup_common(const wl_params *p, size_t nb, size_t rows, size_t m, size_t horizon,
                           size_t buf_doubles, char *err, size_t errlen) {
  state *s = calloc(1, sizeof *s);
  if (s == NULL) return NULL;
  s->nb = nb, s->rows = rows, s->m = m, s->horizon = horizon;
  s->samples = or_default(p->samples, 100);
  s->deterministic = p->deterministic;
  if (m > MAXM) {
    snprintf(err, errlen, "at most %d members", MAXM);
    goto fail;
  }
  if (wl_default_windows(p->data_dir, LAGS, horizon, &s->x, &s->y, err, errlen)) goto fail;
  if (nb * rows > s->x->size1) {
    snprintf(err, errlen, "%zu batches of %zu rows need %zu windows; the series has %zu", nb, rows,
             nb * rows, s->x->size1);
    goto fail;
  }
  s->target = gsl_vector_alloc(s->y->size1);
  gsl_matrix_get_col(s->target, s->y, 0);
  s->xv = malloc(nb * sizeof *s->xv);
  s->yv = malloc(nb * sizeof *s->yv);
  s->xs = malloc(nb * sizeof *s->xs);
  s->ys = malloc(nb * sizeof *s->ys);
  s->out = calloc(nb, sizeof *s->out);
  s->spread = calloc(nb, sizeof *s->spread);
  s->buf = malloc((buf_doubles ? buf_doubles : 1) * sizeof *s->buf);
  for (size_t b = 0; b < nb; b++) {
    s->xv[b] = gsl_matrix_const_submatrix(s->x, b * rows, 0, rows, LAGS);
    s->yv[b] = gsl_vector_const_subvector(s->target, b * rows, rows);
    s->xs[b] = &s->xv[b].matrix;
    s->ys[b] = &s->yv[b].vector;
    s->out[b] = gsl_matrix_alloc(rows, horizon);
    s->spread[b] = gsl_matrix_alloc(rows, horizon);
  }
  for (size_t k = 0; k < m; k++) {
    s->mlp[k] = wl_mlp_alloc(LAGS, HIDDEN, horizon);
    wl_mlp_init(s->mlp[k], 100 + k);
    s->mlp[k]->dropout = 0.2;
    s->models[k] = (ndpar_predictor){wl_mlp_predict, s->mlp[k]};
  }
  s->grad = gsl_vector_alloc(s->mlp[0]->theta->size);
  s->streams = ndpar_streams_alloc(NDPAR_MAX_THREADS, 42); /* one per OpenMP thread id */
  return s;
fail:
  teardown(s);
  return NULL;
}

static const char *describe(void *vs) { return ((state *)vs)->desc; }

/* ---- batch: forward passes over row batches ---- */

static void forward(state *s, size_t b) {
  wl_mlp_forward(s->mlp[0], NULL, s->xs[b], s->out[b], NULL);
}

static void *batch_setup(const wl_params *p, char *err, size_t errlen) {
  state *s = setup_common(p, or_default(p->batches, 100), or_default(p->rows, 64), 1, HORIZON, 0,
                          err, errlen);
  if (s) snprintf(s->desc, sizeof s->desc, "%zu batches x %zu rows", s->nb, s->rows);
  return s;
}

static int batch_seq(void *vs) {
  state *s = vs;
  for (size_t b = 0; b < s->nb; b++) forward(s, b);
  return 0;
}

static int batch_ndpar(ndpar_pool *pool, void *vs) {
  state *s = vs;
  return ndpar_batch_infer(pool, s->xs, s->out, s->nb, wl_mlp_predict, s->mlp[0]);
}

static int batch_omp(size_t threads, void *vs) {
  state *s = vs;
  long nb = (long)s->nb;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
  for (long b = 0; b < nb; b++) forward(s, (size_t)b);
  return 0;
}

/* ---- mc: Monte Carlo dropout, mean and sd ---- */

static void *mc_setup(const wl_params *p, char *err, size_t errlen) {
  size_t nb = or_default(p->batches, 2), rows = or_default(p->rows, 64);
  size_t samples = or_default(p->samples, 100);
  state *s = setup_common(p, nb, rows, 1, HORIZON, nb * samples * rows * HORIZON, err, errlen);
  if (s) snprintf(s->desc, sizeof s->desc, "%zu batches x %zu samples of %zu rows", s->nb, s->samples, s->rows);
  return s;
}

/* The same layout as ndpar's: [batch][sample][rows x horizon]. */
static void mc_sample(state *s, size_t idx, unsigned worker) {
  size_t b = idx / s->samples, k = idx % s->samples, per = s->rows * HORIZON;
  gsl_matrix_view y = gsl_matrix_view_array(s->buf + (b * s->samples + k) * per, s->rows, HORIZON);
  wl_mlp_forward(s->mlp[0], NULL, s->xs[b], &y.matrix, ndpar_streams_at_pair(s->streams, worker, b, k));
}

static void mc_stats(state *s, size_t b) {
  size_t per = s->rows * HORIZON;
  for (size_t e = 0; e < per; e++) {
    const double *d = s->buf + b * s->samples * per + e;
    double mean = gsl_stats_mean(d, per, s->samples);
    s->out[b]->data[e] = mean;
    s->spread[b]->data[e] = gsl_stats_sd_m(d, per, s->samples, mean);
  }
}

static int mc_seq(void *vs) {
  state *s = vs;
  for (size_t i = 0; i < s->nb * s->samples; i++) mc_sample(s, i, 0);
  for (size_t b = 0; b < s->nb; b++) mc_stats(s, b);
  return 0;
}

static int mc_ndpar(ndpar_pool *pool, void *vs) {
  state *s = vs;
  return ndpar_batch_infer_mc(pool, s->xs, s->nb, s->samples, 42, wl_mlp_predict, s->mlp[0],
                              s->out, s->spread);
}

static int mc_omp(size_t threads, void *vs) {
  state *s = vs;
  long n = (long)(s->nb * s->samples), nb = (long)s->nb;
#pragma omp parallel num_threads(threads)
  {
#pragma omp for schedule(dynamic, 1)
    for (long i = 0; i < n; i++) mc_sample(s, (size_t)i, (unsigned)omp_get_thread_num());
#pragma omp for schedule(static)
    for (long b = 0; b < nb; b++) mc_stats(s, (size_t)b);
  }
  return 0;
}

/* ---- grad: the MLP's backward pass, row-weighted mean gradient ---- */

static void *grad_setup(const wl_params *p, char *err, size_t errlen) {
  state *s = setup_common(p, or_default(p->batches, 50), or_default(p->rows, 128), 1, 1, 0, err, errlen);
  if (s) snprintf(s->desc, sizeof s->desc, "%zu batches x %zu rows, %s", s->nb, s->rows,
                  s->deterministic ? "deterministic" : "fast");
  return s;
}

static void grad_add(state *s, size_t b, gsl_vector *g, double *acc) {
  double loss, rows = (double)s->rows;
  size_t P = g->size;
  wl_mlp_grad(s->xs[b], s->ys[b], g, &loss, NULL, s->mlp[0]);
  for (size_t j = 0; j < P; j++) acc[j] += rows * gsl_vector_get(g, j);
  acc[P] += rows * loss;
  acc[P + 1] += rows;
}

static void grad_finish(state *s, const double *acc) {
  size_t P = s->grad->size;
  for (size_t j = 0; j < P; j++) gsl_vector_set(s->grad, j, acc[j] / acc[P + 1]);
  s->loss = acc[P] / acc[P + 1];
}

static int grad_seq(void *vs) {
  state *s = vs;
  size_t P = s->grad->size;
  double *acc = calloc(P + 2, sizeof *acc);
  gsl_vector *g = gsl_vector_alloc(P);
  for (size_t b = 0; b < s->nb; b++) grad_add(s, b, g, acc);
  grad_finish(s, acc);
  gsl_vector_free(g);
  free(acc);
  return 0;
}

static int grad_ndpar(ndpar_pool *pool, void *vs) {
  state *s = vs;
  return ndpar_grad_compute(pool, s->xs, s->ys, s->nb, wl_mlp_grad, s->mlp[0],
                            s->deterministic ? NDPAR_REDUCE_DETERMINISTIC : NDPAR_REDUCE_FAST,
                            s->grad, &s->loss);
}

/* Per-thread sums, merged in a critical section. */
static int grad_omp(size_t threads, void *vs) {
  state *s = vs;
  size_t P = s->grad->size;
  double *total = calloc(P + 2, sizeof *total);
  long nb = (long)s->nb;
#pragma omp parallel num_threads(threads)
  {
    double *acc = calloc(P + 2, sizeof *acc);
    gsl_vector *g = gsl_vector_alloc(P);
#pragma omp for schedule(dynamic, 1)
    for (long b = 0; b < nb; b++) grad_add(s, (size_t)b, g, acc);
#pragma omp critical
    for (size_t j = 0; j < P + 2; j++) total[j] += acc[j];
    gsl_vector_free(g);
    free(acc);
  }
  grad_finish(s, total);
  free(total);
  return 0;
}

/* ---- ensemble: m MLPs, mean and spread ---- */

static void *ensemble_setup(const wl_params *p, char *err, size_t errlen) {
  size_t nb = or_default(p->batches, 100), rows = or_default(p->rows, 64), m = or_default(p->members, 3);
  state *s = setup_common(p, nb, rows, m, HORIZON, nb * m * rows * HORIZON, err, errlen);
  if (s) snprintf(s->desc, sizeof s->desc, "%zu MLPs x %zu batches of %zu rows", s->m, s->nb, s->rows);
  return s;
}

static double *member_out(state *s, size_t b, size_t k) {
  return s->buf + (b * s->m + k) * s->rows * HORIZON;
}

static void ensemble_member(state *s, size_t b, size_t k) {
  gsl_matrix_view y = gsl_matrix_view_array(member_out(s, b, k), s->rows, HORIZON);
  wl_mlp_forward(s->mlp[k], NULL, s->xs[b], &y.matrix, NULL);
}

static void ensemble_aggregate(state *s, size_t b) {
  double v[MAXM];
  for (size_t e = 0; e < s->rows * HORIZON; e++) {
    for (size_t k = 0; k < s->m; k++) v[k] = member_out(s, b, k)[e];
    s->out[b]->data[e] = gsl_stats_mean(v, 1, s->m);
    s->spread[b]->data[e] = s->m > 1 ? gsl_stats_sd(v, 1, s->m) : 0.0;
  }
}

static int ensemble_seq(void *vs) {
  state *s = vs;
  for (size_t b = 0; b < s->nb; b++) {
    for (size_t k = 0; k < s->m; k++) ensemble_member(s, b, k);
    ensemble_aggregate(s, b);
  }
  return 0;
}

static int ensemble_ndpar(ndpar_pool *pool, void *vs) {
  state *s = vs;
  return ndpar_ensemble_predict_batches(pool, s->xs, s->nb, s->models, s->m, NDPAR_AGG_MEAN, NULL,
                                        0, s->out, s->spread, NULL, NULL);
}

static int ensemble_omp(size_t threads, void *vs) {
  state *s = vs;
  long nb = (long)s->nb, m = (long)s->m;
#pragma omp parallel num_threads(threads)
  {
#pragma omp for collapse(2) schedule(dynamic, 1)
    for (long b = 0; b < nb; b++)
      for (long k = 0; k < m; k++) ensemble_member(s, (size_t)b, (size_t)k);
#pragma omp for schedule(static)
    for (long b = 0; b < nb; b++) ensemble_aggregate(s, (size_t)b);
  }
  return 0;
}

/* ---- preprocess: z-score of the windows, tiled to size ---- */

#define ZMAX_COLS 64

void wl_zscore_seq(gsl_matrix *x) {
  size_t rows = x->size1, cols = x->size2;
  double mean[ZMAX_COLS] = {0}, ss[ZMAX_COLS] = {0};
  for (size_t r = 0; r < rows; r++)
    for (size_t j = 0; j < cols; j++) mean[j] += x->data[r * x->tda + j];
  for (size_t j = 0; j < cols; j++) mean[j] /= (double)rows;
  for (size_t r = 0; r < rows; r++)
    for (size_t j = 0; j < cols; j++) {
      double d = x->data[r * x->tda + j] - mean[j];
      ss[j] += d * d;
    }
  for (size_t j = 0; j < cols; j++) ss[j] = ss[j] > 0 ? 1.0 / sqrt(ss[j] / (double)(rows - 1)) : 1.0;
  for (size_t r = 0; r < rows; r++)
    for (size_t j = 0; j < cols; j++) x->data[r * x->tda + j] = (x->data[r * x->tda + j] - mean[j]) * ss[j];
}

/* The blocked two-pass OpenMP form a good engineer writes: each thread folds its own block of
 * rows into padded partials (sums of x - shift and of their squares, the shift the first row,
 * so that the variance does not cancel), one thread combines them in thread order, and every
 * thread transforms the block it read: one read pass and one read-write pass over the data. */
typedef struct {
  double s[ZMAX_COLS], q[ZMAX_COLS];
} __attribute__((aligned(64))) zpartial;

void wl_zscore_omp(gsl_matrix *x, size_t threads) {
  size_t rows = x->size1, cols = x->size2, tda = x->tda;
  double *d = x->data, shift[ZMAX_COLS], mean[ZMAX_COLS], inv[ZMAX_COLS];
  zpartial *part = aligned_alloc(64, threads * sizeof *part);
  if (!part || rows < 2) {
    free(part);
    return;
  }
  for (size_t j = 0; j < cols; j++) shift[j] = d[j];
#pragma omp parallel num_threads(threads)
  {
    size_t t = (size_t)omp_get_thread_num(), n = (size_t)omp_get_num_threads();
    size_t lo = rows * t / n, hi = rows * (t + 1) / n;
    zpartial p = {{0}, {0}};
    for (size_t r = lo; r < hi; r++)
      for (size_t j = 0; j < cols; j++) {
        double v = d[r * tda + j] - shift[j];
        p.s[j] += v;
        p.q[j] += v * v;
      }
    part[t] = p;
#pragma omp barrier
#pragma omp single
    for (size_t j = 0; j < cols; j++) {
      double s = 0, q = 0;
      for (size_t k = 0; k < n; k++) s += part[k].s[j], q += part[k].q[j];
      double m = s / (double)rows, var = (q - s * m) / (double)(rows - 1);
      mean[j] = shift[j] + m;
      inv[j] = var > 0 ? 1.0 / sqrt(var) : 1.0;
    }
    for (size_t r = lo; r < hi; r++)
      for (size_t j = 0; j < cols; j++) d[r * tda + j] = (d[r * tda + j] - mean[j]) * inv[j];
  }
  free(part);
}

typedef struct {
  gsl_matrix *orig, *work;
  ndpar_scaler *scaler;
  char desc[96];
} zstate;

static void *preprocess_setup(const wl_params *p, char *err, size_t errlen) {
  size_t copies = or_default(p->batches, 50);
  gsl_matrix *x, *y;
  if (wl_default_windows(p->data_dir, LAGS, 1, &x, &y, err, errlen)) return NULL;
  zstate *z = calloc(1, sizeof *z);
  z->orig = gsl_matrix_alloc(copies * x->size1, LAGS);
  z->work = gsl_matrix_alloc(copies * x->size1, LAGS);
  for (size_t c = 0; c < copies; c++) {
    gsl_matrix_view dst = gsl_matrix_submatrix(z->orig, c * x->size1, 0, x->size1, LAGS);
    gsl_matrix_memcpy(&dst.matrix, x);
  }
  z->scaler = ndpar_scaler_alloc(NDPAR_SCALE_STANDARD, LAGS);
  snprintf(z->desc, sizeof z->desc, "z-score of %zu x %d windows (%zu copies of the series)",
           z->orig->size1, LAGS, copies);
  gsl_matrix_free(x);
  gsl_matrix_free(y);
  return z;
}

static void preprocess_teardown(void *vz) {
  zstate *z = vz;
  if (z == NULL) return;
  gsl_matrix_free(z->orig);
  gsl_matrix_free(z->work);
  ndpar_scaler_free(z->scaler);
  free(z);
}

/* Each run standardises a fresh copy of the data, made by the variant itself with its own
 * threads (a sequential copy in every variant would cap the parallel ones' speedup: at 16
 * threads the 84 MB copy alone held ndpar's to 1.8x). orig and work have the same shape and
 * tda, so rows [lo, hi) are one contiguous block. */
static void copy_rows(const zstate *z, size_t lo, size_t hi) {
  size_t tda = z->orig->tda;
  memcpy(z->work->data + lo * tda, z->orig->data + lo * tda, (hi - lo) * tda * sizeof(double));
}

static int copy_range(size_t begin, size_t end, const ndpar_task *t, void *vz) {
  (void)t;
  copy_rows(vz, begin, end);
  return GSL_SUCCESS;
}

static int preprocess_seq(void *vz) {
  zstate *z = vz;
  copy_rows(z, 0, z->orig->size1);
  wl_zscore_seq(z->work);
  return 0;
}

static int preprocess_ndpar(ndpar_pool *pool, void *vz) {
  zstate *z = vz;
  int status = ndpar_pool_run_range(pool, z->orig->size1, copy_range, z, NULL);
  if (status == GSL_SUCCESS) status = ndpar_scaler_fit(pool, z->scaler, z->work);
  return status ? status : ndpar_scaler_transform(pool, z->scaler, z->work);
}

static int preprocess_omp(size_t threads, void *vz) {
  zstate *z = vz;
  size_t rows = z->orig->size1;
#pragma omp parallel num_threads(threads)
  {
    size_t t = (size_t)omp_get_thread_num(), n = (size_t)omp_get_num_threads();
    copy_rows(z, rows * t / n, rows * (t + 1) / n);
  }
  wl_zscore_omp(z->work, threads);
  return 0;
}

static const char *preprocess_describe(void *vz) { return ((zstate *)vz)->desc; }

/* ---- cv and grid: short MLP training per fold ---- */


typedef struct {
  gsl_matrix *x, *y;
  gsl_vector *target;
  ndpar_folds *folds;
  ndpar_grid *grid;
  size_t k, ncand;
  double lrs[4];
  gsl_vector *scores;
  ndpar_grid_result *result;
  double *seq_scores;
  char desc[96];
} cvstate;

static int cv_cb(const gsl_matrix *xtr, const gsl_vector *ytr, const gsl_matrix *xva,
                 const gsl_vector *yva, double *score, const ndpar_task *t, void *ctx) {
  (void)t;
  return wl_mlp_fit_score(*(const double *)ctx, xtr, ytr, xva, yva, score);
}

/* The baselines gather each fold by hand, as a plain loop would. */
static double fold_by_hand(cvstate *c, size_t fold, double lr) {
  const size_t *tr, *va;
  size_t ntr, nva;
  ndpar_folds_get(c->folds, fold, &tr, &ntr, &va, &nva);
  gsl_matrix *xt = gsl_matrix_alloc(ntr, LAGS), *xv = gsl_matrix_alloc(nva, LAGS);
  gsl_vector *yt = gsl_vector_alloc(ntr), *yv = gsl_vector_alloc(nva);
  for (size_t j = 0; j < ntr; j++) {
    gsl_vector_const_view row = gsl_matrix_const_row(c->x, tr[j]);
    gsl_matrix_set_row(xt, j, &row.vector);
    gsl_vector_set(yt, j, gsl_vector_get(c->target, tr[j]));
  }
  for (size_t j = 0; j < nva; j++) {
    gsl_vector_const_view row = gsl_matrix_const_row(c->x, va[j]);
    gsl_matrix_set_row(xv, j, &row.vector);
    gsl_vector_set(yv, j, gsl_vector_get(c->target, va[j]));
  }
  double s = 0;
  wl_mlp_fit_score(lr, xt, yt, xv, yv, &s);
  gsl_matrix_free(xt);
  gsl_matrix_free(xv);
  gsl_vector_free(yt);
  gsl_vector_free(yv);
  return s;
}

static void *cv_setup(const wl_params *p, char *err, size_t errlen) {
  size_t rows = or_default(p->rows, 2000);
  cvstate *c = calloc(1, sizeof *c);
  if (wl_default_windows(p->data_dir, LAGS, 1, &c->x, &c->y, err, errlen)) {
    free(c);
    return NULL;
  }
  if (rows > c->x->size1) rows = c->x->size1;
  gsl_matrix *all = c->x;
  c->x = gsl_matrix_alloc(rows, LAGS);
  gsl_matrix_const_view top = gsl_matrix_const_submatrix(all, 0, 0, rows, LAGS);
  gsl_matrix_memcpy(c->x, &top.matrix);
  c->target = gsl_vector_alloc(rows);
  for (size_t i = 0; i < rows; i++) gsl_vector_set(c->target, i, gsl_matrix_get(c->y, i, 0));
  gsl_matrix_free(all);
  c->k = or_default(p->batches, 5);
  c->folds = ndpar_folds_kfold(rows, c->k, 0, 0);
  double lrs[4] = {0.01, 0.03, 0.1, 0.3};
  memcpy(c->lrs, lrs, sizeof lrs);
  c->grid = ndpar_grid_alloc();
  ndpar_grid_add(c->grid, "learning_rate", c->lrs, 4);
  c->ncand = 4;
  c->scores = gsl_vector_alloc(c->k);
  c->result = ndpar_grid_result_alloc(c->ncand, c->k);
  c->seq_scores = malloc(c->ncand * c->k * sizeof *c->seq_scores);
  return c;
}

static void cv_teardown(void *vc) {
  cvstate *c = vc;
  if (c == NULL) return;
  gsl_matrix_free(c->x);
  gsl_matrix_free(c->y);
  gsl_vector_free(c->target);
  ndpar_folds_free(c->folds);
  ndpar_grid_free(c->grid);
  gsl_vector_free(c->scores);
  ndpar_grid_result_free(c->result);
  free(c->seq_scores);
  free(c);
}

static void *cvk_setup(const wl_params *p, char *err, size_t errlen) {
  cvstate *c = cv_setup(p, err, errlen);
  if (c) snprintf(c->desc, sizeof c->desc, "%zu-fold CV, MLP trained %d steps per fold", c->k, WL_FIT_STEPS);
  return c;
}

static int cvk_seq(void *vc) {
  cvstate *c = vc;
  for (size_t f = 0; f < c->k; f++) c->seq_scores[f] = fold_by_hand(c, f, 0.1);
  return 0;
}

static int cvk_ndpar(ndpar_pool *pool, void *vc) {
  cvstate *c = vc;
  double lr = 0.1;
  return ndpar_cv_run(pool, c->x, c->target, c->folds, cv_cb, &lr, c->scores);
}

static int cvk_omp(size_t threads, void *vc) {
  cvstate *c = vc;
  long k = (long)c->k;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
  for (long f = 0; f < k; f++) c->seq_scores[f] = fold_by_hand(c, (size_t)f, 0.1);
  return 0;
}

static void *grid_setup(const wl_params *p, char *err, size_t errlen) {
  cvstate *c = cv_setup(p, err, errlen);
  if (c) snprintf(c->desc, sizeof c->desc, "%zu learning rates x %zu folds", c->ncand, c->k);
  return c;
}

static int grid_seq(void *vc) {
  cvstate *c = vc;
  for (size_t i = 0; i < c->ncand; i++)
    for (size_t f = 0; f < c->k; f++) c->seq_scores[i * c->k + f] = fold_by_hand(c, f, c->lrs[i]);
  return 0;
}

static int grid_ndpar(ndpar_pool *pool, void *vc) {
  cvstate *c = vc;
  return ndpar_grid_search(pool, c->grid, c->x, c->target, c->folds, wl_mlp_fit_param, NULL, c->result);
}

static int grid_omp(size_t threads, void *vc) {
  cvstate *c = vc;
  long nc = (long)c->ncand, k = (long)c->k;
#pragma omp parallel for collapse(2) schedule(dynamic, 1) num_threads(threads)
  for (long i = 0; i < nc; i++)
    for (long f = 0; f < k; f++) c->seq_scores[i * k + f] = fold_by_hand(c, (size_t)f, c->lrs[i]);
  return 0;
}

static const char *cv_describe(void *vc) { return ((cvstate *)vc)->desc; }

/* ---- the table ---- */

const wl_kernel wl_kernels[] = {
    {"batch", "batch inference: MLP forward passes over row batches", batch_setup, teardown,
     batch_seq, batch_ndpar, batch_omp, describe},
    {"mc", "Monte Carlo dropout: mean and sd of stochastic passes", mc_setup, teardown, mc_seq,
     mc_ndpar, mc_omp, describe},
    {"preprocess", "preprocessing: z-score scaler fit and transform of the windows", preprocess_setup,
     preprocess_teardown, preprocess_seq, preprocess_ndpar, preprocess_omp, preprocess_describe},
    {"grad", "gradient: MLP backward passes, row-weighted mean", grad_setup, teardown, grad_seq,
     grad_ndpar, grad_omp, describe},
    {"ensemble", "ensemble: several MLPs, mean and spread", ensemble_setup, teardown,
     ensemble_seq, ensemble_ndpar, ensemble_omp, describe},
    {"cv", "cross-validation: 5 folds, an MLP trained on each", cvk_setup, cv_teardown, cvk_seq,
     cvk_ndpar, cvk_omp, cv_describe},
    {"grid", "grid search: 4 learning rates x 5 folds in one flat run", grid_setup, cv_teardown,
     grid_seq, grid_ndpar, grid_omp, cv_describe},
    {"pipeline", "streaming forecast: 512 MB of CSV parsed, scaled, inferred, written in order\n"
     "                                (on request: not in all; --batches N: N MB)",
     wl_pipeline_setup, wl_pipeline_teardown, wl_pipeline_seq, wl_pipeline_ndpar, wl_pipeline_omp,
     wl_pipeline_describe},
    {0},
};

const wl_kernel *wl_kernel_find(const char *name) {
  for (const wl_kernel *k = wl_kernels; k->name; k++)
    if (strcmp(k->name, name) == 0) return k;
  return NULL;
}

int wl_kernel_on_request(const wl_kernel *k) { return strcmp(k->name, "pipeline") == 0; }
