/* faults: a representative program that touches every module, for `make check-faults`.
 *
 * It runs every step once unarmed (the reference), then arms the fault injector
 * (inject.h: FAIL_ALLOC_AT=N fails the N-th allocation, FAIL_THREAD_AT=N the N-th
 * pthread_create) and runs every step again. A step that fails must return GSL_ENOMEM or
 * GSL_EFAILED (or NULL) after reporting through GSL_ERROR on the calling thread; a step
 * that succeeds must give the reference's result. Everything is freed, so LeakSanitizer
 * sees any leak on an error path. Exit status: 0 clean, 1 not. The last line on stderr
 * says how many allocations and thread starts the armed run made and whether the
 * requested failure was reached (tools/check-faults.sh loops N until it is not). */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "inject.h"
#include "ndpar/ndpar_batch.h"
#include "ndpar/ndpar_cv.h"
#include "ndpar/ndpar_ensemble.h"
#include "ndpar/ndpar_grad.h"
#include "ndpar/ndpar_grid.h"
#include "ndpar/ndpar_io.h"
#include "ndpar/ndpar_pipeline.h"
#include "ndpar/ndpar_pool.h"
#include "ndpar/ndpar_preprocess.h"
#include "ndpar/ndpar_scalability.h"

/* ---- GSL's handler: errors must come from the calling thread ---- */

static pthread_t main_thread;
static size_t errors, off_thread;

static void handler(const char *reason, const char *file, int line, int code) {
  (void)file, (void)line, (void)code;
  __atomic_add_fetch(&errors, 1, __ATOMIC_SEQ_CST);
  if (!pthread_equal(pthread_self(), main_thread)) {
    __atomic_add_fetch(&off_thread, 1, __ATOMIC_SEQ_CST);
    fprintf(stderr, "faults: GSL error on a worker thread: %s\n", reason);
  }
}

/* ---- the data every step shares (allocated before arming) ---- */

enum { ROWS = 60, COLS = 3, NB = 3, P = 4, SUMMARY = 16 };

typedef struct {
  gsl_matrix *x; /* ROWS x COLS */
  gsl_vector *y; /* ROWS */
  const gsl_matrix *xb[NB];
  const gsl_vector *yb[NB];
  gsl_matrix *out[NB], *out2[NB]; /* outputs per batch: rows x 1 */
  gsl_matrix *full;               /* ROWS x 1 */
  gsl_vector *g, *scores;
  ndpar_pool *pool; /* 3 threads, or NULL (the default pool) if it could not start */
} data;

static gsl_matrix_view xviews[NB];
static gsl_vector_view yviews[NB];

static void data_alloc(data *d) {
  memset(d, 0, sizeof *d);
  d->x = gsl_matrix_alloc(ROWS, COLS);
  d->y = gsl_vector_alloc(ROWS);
  for (size_t i = 0; i < ROWS; i++) {
    for (size_t j = 0; j < COLS; j++) gsl_matrix_set(d->x, i, j, sin((double)(i * COLS + j)));
    gsl_vector_set(d->y, i, cos((double)i));
  }
  for (size_t b = 0; b < NB; b++) {
    size_t r = ROWS / NB;
    xviews[b] = gsl_matrix_submatrix(d->x, b * r, 0, r, COLS);
    yviews[b] = gsl_vector_subvector(d->y, b * r, r);
    d->xb[b] = &xviews[b].matrix;
    d->yb[b] = &yviews[b].vector;
    d->out[b] = gsl_matrix_alloc(r, 1);
    d->out2[b] = gsl_matrix_alloc(r, 1);
  }
  d->full = gsl_matrix_alloc(ROWS, 1);
  d->g = gsl_vector_alloc(P);
  d->scores = gsl_vector_alloc(4);
}

static void data_free(data *d) {
  gsl_matrix_free(d->x);
  gsl_vector_free(d->y);
  for (size_t b = 0; b < NB; b++) gsl_matrix_free(d->out[b]), gsl_matrix_free(d->out2[b]);
  gsl_matrix_free(d->full);
  gsl_vector_free(d->g);
  gsl_vector_free(d->scores);
}

/* ---- callbacks ---- */

static int predict_sum(const gsl_matrix *x, gsl_matrix *y, const ndpar_task *t, void *ctx) {
  double scale = ctx ? *(const double *)ctx : 1.0;
  double noise = t->rng ? gsl_rng_uniform(t->rng) : 0.0;
  for (size_t i = 0; i < x->size1; i++) {
    double s = 0;
    for (size_t j = 0; j < x->size2; j++) s += gsl_matrix_get(x, i, j);
    gsl_matrix_set(y, i, 0, scale * s + noise);
  }
  return GSL_SUCCESS;
}

static int grad_fn(const gsl_matrix *x, const gsl_vector *y, gsl_vector *grad, double *loss,
                   const ndpar_task *t, void *ctx) {
  (void)t, (void)ctx;
  for (size_t p = 0; p < grad->size; p++) {
    double s = 0;
    for (size_t i = 0; i < x->size1; i++)
      s += gsl_matrix_get(x, i, p % x->size2) * gsl_vector_get(y, i);
    gsl_vector_set(grad, p, s / (double)x->size1);
  }
  *loss = gsl_vector_get(y, 0);
  return GSL_SUCCESS;
}

static int fit_score(const gsl_matrix *xtr, const gsl_vector *ytr, const gsl_matrix *xva,
                     const gsl_vector *yva, double *score, const ndpar_task *t, void *ctx) {
  (void)t, (void)ctx;
  double s = 0;
  for (size_t i = 0; i < ytr->size; i++) s += gsl_vector_get(ytr, i) * gsl_matrix_get(xtr, i, 0);
  for (size_t i = 0; i < yva->size; i++) s -= gsl_vector_get(yva, i) * gsl_matrix_get(xva, i, 0);
  *score = s;
  return GSL_SUCCESS;
}

static int param_fit_score(const void *params, size_t candidate, const gsl_matrix *xtr,
                           const gsl_vector *ytr, const gsl_matrix *xva, const gsl_vector *yva,
                           double *score, const ndpar_task *t, void *ctx) {
  (void)candidate;
  int s = fit_score(xtr, ytr, xva, yva, score, t, ctx);
  *score *= *(const double *)params;
  return s;
}

static int chunk_scale(gsl_matrix *chunk, const ndpar_task *t, void *ctx) {
  (void)t, (void)ctx;
  gsl_matrix_scale(chunk, 2.0);
  return GSL_SUCCESS;
}

static int count_task(const ndpar_task *t, void *ctx) {
  __atomic_add_fetch((size_t *)ctx, t->index + 1, __ATOMIC_RELAXED);
  return GSL_SUCCESS;
}

static int range_sum(size_t begin, size_t end, const ndpar_task *t, void *ctx) {
  (void)t;
  size_t s = 0;
  for (size_t i = begin; i < end; i++) s += i;
  __atomic_add_fetch((size_t *)ctx, s, __ATOMIC_RELAXED);
  return GSL_SUCCESS;
}

static int workload(ndpar_pool *pool, void *ctx) {
  size_t sum = 0;
  (void)ctx;
  return ndpar_pool_run(pool, 64, count_task, &sum);
}

/* ---- the steps: each returns a status and fills a summary of its result ---- */

typedef int (*step_fn)(data *d, double *s);

static double msum(const gsl_matrix *m) {
  double s = 0;
  for (size_t i = 0; i < m->size1; i++)
    for (size_t j = 0; j < m->size2; j++) s += gsl_matrix_get(m, i, j);
  return s;
}

static int step_core(data *d, double *s) {
  (void)d;
  ndpar_slots slots;
  int st = ndpar_slots_alloc(&slots, 4, 24);
  if (st) return st;
  ndpar_slots_free(&slots);
  if (ndpar_thread_scratch(1000) == NULL) return GSL_ENOMEM; /* never reports: by design */
  ndpar_thread_scratch_release();
  ndpar_streams *r = ndpar_streams_alloc(3, 42);
  if (r == NULL) return GSL_ENOMEM;
  s[0] = (double)gsl_rng_get(ndpar_streams_at(r, 2, 7));
  s[1] = (double)gsl_rng_get(ndpar_streams_at_pair(r, 1, 3, 4));
  ndpar_streams_free(r);
  return GSL_SUCCESS;
}

static int step_pool(data *d, double *s) {
  ndpar_pool_config cfg;
  ndpar_pool_config_init(&cfg);
  cfg.threads = 3;
  cfg.bind = NDPAR_BIND_NONE;
  d->pool = ndpar_pool_alloc(&cfg);
  if (d->pool == NULL) return GSL_ENOMEM;
  size_t a = 0, b = 0;
  int st = ndpar_pool_run(d->pool, 1000, count_task, &a);
  if (!st) st = ndpar_pool_run_range(d->pool, 100000, range_sum, &b, NULL);
  s[0] = (double)a, s[1] = (double)b;
  return st;
}

static int step_default_pool(data *d, double *s) {
  (void)d;
  size_t a = 0;
  int st = ndpar_pool_run(NULL, 500, count_task, &a);
  s[0] = (double)a;
  return st;
}

/* Per batch, the rows of d->full that batch b's inputs are (ROWS / NB each): a third set
 * of outputs, distinct from out and out2 (outputs of one call may not share memory). */
static void full_rows(data *d, gsl_matrix_view *v, gsl_matrix **m) {
  for (size_t b = 0; b < NB; b++) {
    v[b] = gsl_matrix_submatrix(d->full, b * (ROWS / NB), 0, ROWS / NB, 1);
    m[b] = &v[b].matrix;
  }
}

static int step_batch(data *d, double *s) {
  double two = 2;
  int st = ndpar_batch_infer(d->pool, d->xb, d->out, NB, predict_sum, &two);
  if (st) return st;
  s[0] = msum(d->out[0]) + msum(d->out[2]);
  st = ndpar_batch_infer_rows(d->pool, d->x, 7, d->full, predict_sum, NULL, NULL);
  if (st) return st;
  s[1] = msum(d->full);
  st = ndpar_batch_infer_mc_interval(d->pool, d->xb, NB, 5, 9, 0.0, predict_sum, NULL, d->out,
                                     d->out2, NULL, NULL, NULL);
  if (st) return st;
  s[2] = msum(d->out[1]) + msum(d->out2[2]);
  gsl_matrix_view hv[NB];
  gsl_matrix *hi[NB];
  full_rows(d, hv, hi);
  st = ndpar_batch_infer_mc_interval(d->pool, d->xb, NB, 5, 9, 0.5, predict_sum, NULL, d->out, NULL,
                                     d->out2, hi, NULL);
  s[3] = msum(d->out2[0]) + msum(d->full);
  return st;
}

static int step_preprocess(data *d, double *s) {
  gsl_vector *mean = d->g; /* P = 4 >= COLS: a view of its first COLS */
  gsl_vector_view m = gsl_vector_subvector(mean, 0, COLS);
  int st = ndpar_colstats(d->pool, d->x, 0, &m.vector, NULL, NULL, NULL);
  if (st) return st;
  s[0] = gsl_vector_get(&m.vector, 1);
  for (int kind = NDPAR_SCALE_STANDARD; kind <= NDPAR_SCALE_MAXABS; kind++) {
    ndpar_scaler *sc = ndpar_scaler_alloc((ndpar_scale_kind)kind, COLS);
    if (sc == NULL) return GSL_ENOMEM;
    gsl_matrix *c = gsl_matrix_alloc(ROWS, COLS);
    if (c == NULL) {
      ndpar_scaler_free(sc);
      return GSL_ENOMEM;
    }
    gsl_matrix_memcpy(c, d->x);
    st = ndpar_scaler_fit(d->pool, sc, d->x);
    if (!st) st = ndpar_scaler_transform(d->pool, sc, c);
    if (!st) s[1 + kind] = msum(c);
    if (!st) st = ndpar_scaler_inverse(d->pool, sc, c);
    ndpar_scaler_free(sc);
    gsl_matrix_free(c);
    if (st) return st;
  }
  st = ndpar_preprocess(d->pool, d->out, NB, chunk_scale, NULL);
  if (st) return st;
  st = ndpar_preprocess_map(d->pool, d->xb, d->out2, NB, predict_sum, NULL, NULL);
  s[7] = msum(d->out2[1]);
  return st;
}

static int step_grad(data *d, double *s) {
  double loss;
  int st = ndpar_grad_compute(d->pool, d->xb, d->yb, NB, grad_fn, NULL, NDPAR_REDUCE_DETERMINISTIC,
                              d->g, &loss);
  if (st) return st;
  s[0] = gsl_vector_get(d->g, 1), s[1] = loss;
  st = ndpar_grad_compute(d->pool, d->xb, d->yb, NB, grad_fn, NULL, NDPAR_REDUCE_FAST, d->g, &loss);
  if (st) return st;
  s[2] = gsl_vector_get(d->g, 3);
  const gsl_vector *gs[2] = {d->g, d->g};
  const double w[2] = {1, 3};
  gsl_vector *out = gsl_vector_alloc(P);
  if (out == NULL) return GSL_ENOMEM;
  st = ndpar_grad_aggregate(d->pool, gs, w, 2, out);
  if (!st) s[3] = gsl_vector_get(out, 0);
  gsl_vector_free(out);
  return st;
}

static int step_ensemble(data *d, double *s) {
  static const double k1 = 1, k2 = 2, k3 = -1;
  const ndpar_predictor m[3] = {
      {predict_sum, (void *)&k1}, {predict_sum, (void *)&k2}, {predict_sum, (void *)&k3}};
  int st = ndpar_ensemble_predict(d->pool, d->x, m, 3, NDPAR_AGG_MEDIAN, NULL, d->full, NULL);
  if (st) return st;
  s[0] = msum(d->full);
  const double trim[1] = {0.2};
  st = ndpar_ensemble_predict_batches(d->pool, d->xb, NB, m, 3, NDPAR_AGG_TRIMMED_MEAN, trim, 0,
                                      d->out, d->out2, NULL, NULL);
  s[1] = msum(d->out[2]) + msum(d->out2[0]);
  return st;
}

static int step_cv(data *d, double *s) {
  ndpar_folds *f = ndpar_folds_kfold(ROWS, 4, 1, 11);
  if (f == NULL) return GSL_ENOMEM;
  int st = ndpar_cv_run(d->pool, d->x, d->y, f, fit_score, NULL, d->scores);
  ndpar_folds_free(f);
  if (st) return st;
  s[0] = gsl_vector_get(d->scores, 3);
  f = ndpar_folds_timeseries(ROWS, 4, 5, 5, 1, 20);
  if (f == NULL) return GSL_ENOMEM;
  st = ndpar_cv_run(d->pool, d->x, d->y, f, fit_score, NULL, d->scores);
  ndpar_folds_free(f);
  if (st) return st;
  double mean, sd;
  st = ndpar_cv_summary(d->scores, &mean, &sd);
  s[1] = mean, s[2] = sd;
  if (st) return st;
  f = ndpar_folds_alloc(ROWS, 1);
  if (f == NULL) return GSL_ENOMEM;
  const size_t tr[3] = {0, 1, 2}, va[2] = {5, 6};
  st = ndpar_folds_set(f, 0, tr, 3, va, 2);
  gsl_vector_view one = gsl_vector_subvector(d->scores, 0, 1);
  if (!st) st = ndpar_cv_run(d->pool, d->x, d->y, f, fit_score, NULL, &one.vector);
  s[3] = gsl_vector_get(d->scores, 0);
  ndpar_folds_free(f);
  return st;
}

static int step_grid(data *d, double *s) {
  ndpar_folds *f = ndpar_folds_kfold(ROWS, 3, 0, 0);
  ndpar_grid *g = ndpar_grid_alloc();
  ndpar_grid_result *r = ndpar_grid_result_alloc(6, 3);
  const double a[3] = {1, 2, 3}, b[2] = {-1, 1};
  int st = f && g && r ? GSL_SUCCESS : GSL_ENOMEM;
  if (!st) st = ndpar_grid_add(g, "a", a, 3);
  if (!st) st = ndpar_grid_add(g, "b", b, 2);
  if (!st) st = ndpar_grid_search(d->pool, g, d->x, d->y, f, param_fit_score, NULL, r);
  if (!st) s[0] = gsl_vector_get(r->mean, 4), s[1] = (double)r->best;
  ndpar_grid_free(g);
  ndpar_grid_result_free(r);
  if (st) {
    ndpar_folds_free(f);
    return st;
  }
  const ndpar_grid_range ranges[2] = {{"lr", 1e-4, 1e-1, 1}, {"m", 0, 1, 0}};
  g = ndpar_grid_random(ranges, 2, 5, 3);
  r = ndpar_grid_result_alloc(5, 3);
  st = g && r ? GSL_SUCCESS : GSL_ENOMEM;
  ndpar_grid_options opts = {0};
  if (!st) st = ndpar_grid_search_opts(d->pool, g, d->x, d->y, f, param_fit_score, NULL, &opts, r);
  if (!st) s[2] = gsl_vector_get(r->mean, 2);
  ndpar_grid_free(g);
  ndpar_grid_result_free(r);
  r = st ? NULL : ndpar_grid_result_alloc(3, 3);
  if (!st && r == NULL) st = GSL_ENOMEM;
  if (!st)
    st = ndpar_grid_search_params(d->pool, a, sizeof(double), 3, d->x, d->y, f, param_fit_score,
                                  NULL, NULL, r);
  if (!st) s[3] = gsl_vector_get(r->mean, 1);
  ndpar_grid_result_free(r);
  ndpar_folds_free(f);
  return st;
}

static int step_scal(data *d, double *s) {
  (void)d;
  const size_t threads[2] = {1, 2};
  ndpar_scal_point pts[2];
  ndpar_scal_config cfg;
  ndpar_scal_config_init(&cfg);
  cfg.warmup = 0;
  cfg.repeats = 2;
  cfg.bind = NDPAR_BIND_NONE;
  int st = ndpar_scal_run(threads, 2, &cfg, workload, NULL, pts);
  if (st) return st;
  s[0] = (double)pts[1].threads;
  char *buf = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&buf, &len);
  if (m == NULL) return GSL_ENOMEM;
  st = ndpar_scal_write_csv(m, pts, 2);
  if (!st) st = ndpar_scal_write_json(m, pts, 2);
  fclose(m);
  free(buf);
  return st;
}

/* The workspace forms: allocated (where a failure is injected), then used allocation-free. */
static int step_workspaces(data *d, double *s) {
  ndpar_batch_workspace *bw = ndpar_batch_workspace_alloc(d->pool, NB, ROWS, 1, 4);
  ndpar_grad_workspace *gw = ndpar_grad_workspace_alloc(d->pool, NB, P);
  ndpar_ensemble_workspace *ew = ndpar_ensemble_workspace_alloc(d->pool, NB, ROWS, 1, 2);
  ndpar_preprocess_workspace *pw = ndpar_preprocess_workspace_alloc(d->pool, ROWS, COLS);
  ndpar_folds *f = ndpar_folds_kfold(ROWS, 4, 1, 11);
  ndpar_cv_workspace *cw = f ? ndpar_cv_workspace_alloc(d->pool, f, COLS) : NULL;
  int st = bw && gw && ew && pw && f && cw ? GSL_SUCCESS : GSL_ENOMEM;
  gsl_matrix_view hv[NB];
  gsl_matrix *hi[NB];
  full_rows(d, hv, hi);
  if (!st)
    st = ndpar_batch_infer_mc_ws(bw, d->xb, NB, 4, 9, 0.5, predict_sum, NULL, d->out, NULL, d->out2,
                                 hi, NULL);
  if (!st) s[0] = msum(d->out[1]) + msum(d->out2[2]) + msum(d->full);
  double loss;
  if (!st)
    st = ndpar_grad_compute_ws(gw, d->xb, d->yb, NB, grad_fn, NULL, NDPAR_REDUCE_DETERMINISTIC,
                               d->g, &loss, NULL);
  if (!st) s[1] = gsl_vector_get(d->g, 2) + loss;
  static const double k1 = 1, k2 = -3;
  const ndpar_predictor m[2] = {{predict_sum, (void *)&k1}, {predict_sum, (void *)&k2}};
  if (!st)
    st = ndpar_ensemble_predict_batches_ws(ew, d->xb, NB, m, 2, NDPAR_AGG_MEAN, NULL, 0, d->out,
                                           d->out2, NULL, NULL);
  if (!st) s[2] = msum(d->out[0]) + msum(d->out2[1]);
  gsl_vector_view mean = gsl_vector_subvector(d->g, 0, COLS);
  if (!st) st = ndpar_colstats_ws(pw, d->x, 0, &mean.vector, NULL, NULL, NULL);
  if (!st) s[3] = gsl_vector_get(&mean.vector, 2);
  if (!st) st = ndpar_cv_run_ws(cw, d->x, d->y, f, fit_score, NULL, d->scores, NULL);
  if (!st) s[4] = gsl_vector_get(d->scores, 1);
  if (!st) st = ndpar_preprocess_ex(d->pool, d->out, NB, chunk_scale, NULL, NULL);
  ndpar_batch_workspace_free(bw);
  ndpar_grad_workspace_free(gw);
  ndpar_ensemble_workspace_free(ew);
  ndpar_preprocess_workspace_free(pw);
  ndpar_cv_workspace_free(cw);
  ndpar_folds_free(f);
  return st;
}

/* The io module: the data written as CSV and read back (in parallel pieces). */
static int step_io(data *d, double *s) {
  char path[64];
  snprintf(path, sizeof path, "/tmp/ndpar-faults-%d.csv", (int)getpid());
  int st = ndpar_csv_write(path, d->x, NULL);
  gsl_matrix *back = NULL;
  ndpar_csv_options opt;
  ndpar_csv_options_init(&opt);
  opt.header = 0;
  opt.chunk_bytes = 256;
  if (!st) st = ndpar_csv_read(d->pool, path, &opt, &back, NULL, NULL);
  if (!st) s[0] = msum(back), s[1] = (double)back->size1;
  gsl_matrix_free(back);
  unlink(path);
  return st;
}

/* The pipeline module: a blocking source and sink (helper threads) around a parallel stage.
 * The items are numbers in the pointers, so that only the library's own allocations and
 * thread starts fail; the sink folds them in order (an order-sensitive summary). */
static int pl_source(void *in, void **out, const ndpar_task *t, void *ctx) {
  (void)in, (void)ctx;
  *out = t->index < 100 ? (void *)(uintptr_t)(t->index + 1) : NULL;
  return GSL_SUCCESS;
}

static int pl_square(void *in, void **out, const ndpar_task *t, void *ctx) {
  (void)t, (void)ctx;
  uintptr_t v = (uintptr_t)in;
  *out = (void *)(v * v);
  return GSL_SUCCESS;
}

static int pl_fold(void *in, void **out, const ndpar_task *t, void *ctx) {
  (void)out, (void)t;
  double *acc = ctx;
  *acc = *acc * 0.5 + (double)(uintptr_t)in;
  return GSL_SUCCESS;
}

static int step_pipeline(data *d, double *s) {
  double acc = 0;
  const ndpar_stage st[3] = {{NDPAR_STAGE_SERIAL_IN_ORDER, pl_source, NULL, NULL, NDPAR_STAGE_BLOCKING},
                             {NDPAR_STAGE_PARALLEL, pl_square, NULL, NULL, 0},
                             {NDPAR_STAGE_SERIAL_IN_ORDER, pl_fold, NULL, &acc, NDPAR_STAGE_BLOCKING}};
  ndpar_pipeline_status ps;
  int rc = ndpar_pipeline_run(d->pool, 6, st, 3, &ps);
  s[0] = acc;
  if (!rc) s[1] = (double)ps.items;
  return rc;
}

static const struct {
  const char *name;
  step_fn fn;
} steps[] = {{"core", step_core},
             {"pool", step_pool},
             {"default pool", step_default_pool},
             {"batch", step_batch},
             {"preprocess", step_preprocess},
             {"grad", step_grad},
             {"ensemble", step_ensemble},
             {"cv", step_cv},
             {"grid", step_grid},
             {"scalability", step_scal},
             {"workspaces", step_workspaces},
             {"io", step_io},
             {"pipeline", step_pipeline},
             {"default pool again", step_default_pool}};
enum { NSTEPS = sizeof steps / sizeof *steps };

/* Runs every step; status[i] and summary[i] per step. The reference run leaves the default
 * pool alone (its result has a closed form), so that the armed run starts it. */
static void run_all(data *d, int reference, int *status, double (*summary)[SUMMARY], size_t *errs) {
  for (size_t i = 0; i < NSTEPS; i++) {
    if (reference && steps[i].fn == step_default_pool) {
      status[i] = GSL_SUCCESS, summary[i][0] = 500.0 * 501 / 2, errs[i] = 0;
      continue;
    }
    size_t e0 = __atomic_load_n(&errors, __ATOMIC_SEQ_CST);
    status[i] = steps[i].fn(d, summary[i]);
    errs[i] = __atomic_load_n(&errors, __ATOMIC_SEQ_CST) - e0;
  }
  ndpar_pool_free(d->pool);
  d->pool = NULL;
}

static int same(double a, double b) {
  return a == b || fabs(a - b) <= 1e-9 * fmax(fabs(a), fabs(b));
}

int main(void) {
  main_thread = pthread_self();
  gsl_set_error_handler(handler);
  data d;
  data_alloc(&d);
  int ref_status[NSTEPS], status[NSTEPS];
  double ref[NSTEPS][SUMMARY], got[NSTEPS][SUMMARY];
  size_t ref_errs[NSTEPS], errs[NSTEPS];
  memset(ref, 0, sizeof ref);
  memset(got, 0, sizeof got);
  run_all(&d, 1, ref_status, ref, ref_errs);
  int bad = 0;
  for (size_t i = 0; i < NSTEPS; i++)
    if (ref_status[i] != GSL_SUCCESS) {
      fprintf(stderr, "faults: step %s failed without injection: %s\n", steps[i].name,
              gsl_strerror(ref_status[i]));
      bad = 1;
    }
  inject_arm();
  run_all(&d, 0, status, got, errs);
  inject_disarm();
  for (size_t i = 0; i < NSTEPS; i++) {
    if (status[i] == GSL_SUCCESS) {
      for (size_t k = 0; k < SUMMARY; k++)
        if (!same(got[i][k], ref[i][k])) {
          fprintf(stderr,
                  "faults: step %s succeeded with a wrong result (%zu: %.17g, want %.17g)\n",
                  steps[i].name, k, got[i][k], ref[i][k]);
          bad = 1;
        }
    } else if (status[i] != GSL_ENOMEM && status[i] != GSL_EFAILED) {
      fprintf(stderr, "faults: step %s failed with %s, not GSL_ENOMEM or GSL_EFAILED\n",
              steps[i].name, gsl_strerror(status[i]));
      bad = 1;
    } else if (errs[i] == 0 && strcmp(steps[i].name, "core") != 0) {
      fprintf(stderr, "faults: step %s failed (%s) without GSL_ERROR\n", steps[i].name,
              gsl_strerror(status[i]));
      bad = 1;
    } else {
      fprintf(stderr, "faults: step %s failed cleanly: %s\n", steps[i].name,
              gsl_strerror(status[i]));
    }
  }
  if (off_thread) bad = 1;
  data_free(&d);
  fprintf(stderr, "faults: %zu allocations, %zu thread starts; injected: %s; %s\n", inject_allocs(),
          inject_threads(), inject_fired() ? "yes" : "no", bad ? "NOT CLEAN" : "clean");
  return bad;
}
