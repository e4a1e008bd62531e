/* bench_grid: successive halving against the full grid on the reference workload: the MLP
 * autoregressor (ref/) trained by minibatch SGD on the bundled Seattle series, 27
 * candidates (hidden units x learning rate x batch size) x 3 folds, resource = epochs.
 * Both run as ndpar's flat parallel searches on the same pool, interleaved with halving on
 * one thread (the sequential baseline); prints min, median and max seconds, the ratio to
 * the full grid, and whether halving found the full grid's best (or one within 1% of its
 * score). */
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <gsl/gsl_math.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ndpar/ndpar_grid.h"
#include "ref/timing.h"
#include "ref/wl.h"

#define LAGS 24
#define FOLDS 3
#define MAX_EPOCHS 27

typedef struct {
  double hidden, lr, batch;
} candidate;

/* Trains a fresh MLP for `resource` epochs (0: MAX_EPOCHS) of minibatch SGD, in row order. */
static int mlp_fit(const void *params, size_t cand, size_t resource, const gsl_matrix *xtr,
                   const gsl_vector *ytr, void **model, const ndpar_task *t, void *ctx) {
  (void)cand, (void)t, (void)ctx;
  const candidate *c = params;
  size_t epochs = resource ? resource : MAX_EPOCHS, batch = (size_t)c->batch;
  wl_mlp *m = wl_mlp_alloc(LAGS, (size_t)c->hidden, 1);
  gsl_vector *g = m ? gsl_vector_alloc(m->theta->size) : NULL;
  if (g == NULL) {
    wl_mlp_free(m);
    return GSL_ENOMEM;
  }
  wl_mlp_init(m, 11);
  *model = m;
  int status = GSL_SUCCESS;
  for (size_t e = 0; e < epochs && status == GSL_SUCCESS; e++)
    for (size_t r = 0; r + batch <= xtr->size1 && status == GSL_SUCCESS; r += batch) {
      gsl_matrix_const_view xb = gsl_matrix_const_submatrix(xtr, r, 0, batch, LAGS);
      gsl_vector_const_view yb = gsl_vector_const_subvector(ytr, r, batch);
      double loss;
      status = wl_mlp_grad(&xb.matrix, &yb.vector, g, &loss, NULL, m);
      gsl_vector_axpby(-c->lr, g, 1.0, m->theta);
    }
  gsl_vector_free(g);
  return status;
}

static int mlp_score(const void *model, const void *params, const gsl_matrix *x, const gsl_vector *y,
                     double *scores, const ndpar_task *t, void *ctx) {
  (void)params, (void)t, (void)ctx;
  gsl_matrix *pred = gsl_matrix_alloc(x->size1, 1);
  if (pred == NULL) return GSL_ENOMEM;
  int status = wl_mlp_forward(model, NULL, x, pred, NULL);
  double ss = 0;
  for (size_t i = 0; i < y->size; i++) ss += gsl_pow_2(gsl_matrix_get(pred, i, 0) - gsl_vector_get(y, i));
  scores[0] = -ss / (double)y->size;
  gsl_matrix_free(pred);
  return status == GSL_SUCCESS && isfinite(scores[0]) ? GSL_SUCCESS : GSL_EDOM;
}

static void mlp_release(void *model, void *ctx) {
  (void)ctx;
  wl_mlp_free(model);
}

typedef struct {
  ndpar_pool *pool, *one; /* every core; one thread (the sequential baseline) */
  gsl_matrix *x;
  gsl_vector *y;
  ndpar_folds *folds;
  candidate c[27];
  ndpar_estimator e;
  ndpar_halving h;
  ndpar_grid_result *full, *halving;
  int status;
} bench;

static double seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double run_full(bench *b) {
  double t0 = seconds();
  b->status |= ndpar_grid_search_est_params(b->pool, b->c, sizeof b->c[0], 27, b->x, b->y, b->folds, &b->e, NULL, b->full);
  return seconds() - t0;
}

static double run_halving_on(bench *b, ndpar_pool *pool) {
  double t0 = seconds();
  b->status |= ndpar_grid_halving(pool, b->c, sizeof b->c[0], 27, b->x, b->y, b->folds, &b->e, &b->h, NULL, b->halving);
  return seconds() - t0;
}

static double run_halving(bench *b) { return run_halving_on(b, b->pool); }

static void summary(const char *name, double *t, int reps, double ref_median) {
  double sorted[64];
  memcpy(sorted, t, (size_t)reps * sizeof *t);
  gsl_sort(sorted, 1, (size_t)reps);
  double med = gsl_stats_median_from_sorted_data(sorted, 1, (size_t)reps);
  printf("%-10s %8.3f %8.3f %8.3f   %5.1f%%\n", name, sorted[0], med, sorted[reps - 1], 100 * med / ref_median);
}

int main(int argc, char **argv) {
  bench_options o;
  bench_parse(argc, argv, "bench_grid",
              "successive halving vs the full grid: 27 MLP candidates x 3 folds, up to 27 epochs", &o);
  int reps = o.quick ? 1 : (o.reps > 0 && o.reps <= 64 ? o.reps : 5);
  bench b = {0};
  gsl_matrix *ymat = NULL;
  char err[256];
  if (wl_default_windows(NULL, LAGS, 1, &b.x, &ymat, err, sizeof err)) {
    fprintf(stderr, "bench_grid: %s\n", err);
    return 1;
  }
  b.y = gsl_vector_alloc(ymat->size1);
  gsl_matrix_get_col(b.y, ymat, 0);
  b.folds = ndpar_folds_kfold(b.x->size1, FOLDS, 0, 0);
  ndpar_pool_config cfg;
  ndpar_pool_config_init(&cfg);
  cfg.threads = o.threads;
  b.pool = ndpar_pool_alloc(&cfg);
  cfg.threads = 1;
  b.one = ndpar_pool_alloc(&cfg);
  double hidden[] = {4, 8, 16}, lr[] = {0.003, 0.01, 0.03}, batch[] = {16, 64, 256};
  for (size_t i = 0; i < 27; i++) b.c[i] = (candidate){hidden[i / 9], lr[i / 3 % 3], batch[i % 3]};
  b.e = (ndpar_estimator){mlp_fit, mlp_score, mlp_release, 1, NULL};
  b.h = (ndpar_halving){3, 0, MAX_EPOCHS, 0}; /* 27, 9, 3, 1 candidates on 1, 3, 9, 27 epochs */
  b.full = ndpar_grid_result_alloc_est(27, FOLDS, 1, 0);
  b.halving = ndpar_grid_result_alloc_est(27, FOLDS, 1, 0);
  if (!b.folds || !b.pool || !b.one || !b.full || !b.halving) return 1;
  double tf[64], th[64], ts[64];
  run_halving(&b); /* warm-up */
  for (int r = 0; r < reps; r++) { /* interleaved */
    bench_settle();
    tf[r] = run_full(&b);
    bench_settle();
    ts[r] = run_halving_on(&b, b.one);
    bench_settle();
    th[r] = run_halving(&b); /* last: its result is the one reported */
  }
  if (b.status) {
    fprintf(stderr, "bench_grid: a search failed\n");
    return 1;
  }
  printf("successive halving vs full grid: %zu windows, 27 candidates x %d folds, %zu threads\n",
         b.x->size1, FOLDS, ndpar_pool_threads(b.pool));
  printf("%-10s %8s %8s %8s   %s\n", "search", "min s", "median", "max", "of full");
  double sorted[64];
  memcpy(sorted, tf, (size_t)reps * sizeof *tf);
  gsl_sort(sorted, 1, (size_t)reps);
  double full_median = gsl_stats_median_from_sorted_data(sorted, 1, (size_t)reps);
  summary("full", tf, reps, full_median);
  summary("halving-1t", ts, reps, full_median);
  summary("halving", th, reps, full_median);
  if (getenv("BENCH_GRID_VERBOSE"))
    for (size_t i = 0; i < 27; i++)
      printf("  candidate %2zu: full %.6g (status %d), halving round %zu %.6g\n", i, gsl_vector_get(b.full->mean, i),
             b.full->status[i], b.halving->round[i], gsl_vector_get(b.halving->mean, i));
  size_t fb = b.full->best, hb = b.halving->best;
  double fs = gsl_vector_get(b.full->mean, fb), hs = gsl_vector_get(b.full->mean, hb);
  printf("full best: candidate %zu (hidden %g, lr %g, batch %g), score %.6g\n", fb, b.c[fb].hidden, b.c[fb].lr,
         b.c[fb].batch, fs);
  printf("halving best: candidate %zu (hidden %g, lr %g, batch %g), its full-grid score %.6g (%.2f%% off)\n", hb,
         b.c[hb].hidden, b.c[hb].lr, b.c[hb].batch, hs, 100 * fabs(hs - fs) / fabs(fs));
  int ok = hb == fb || fabs(hs - fs) <= 0.01 * fabs(fs);
  printf("%s\n", ok ? "halving found the best or one within 1%" : "halving MISSED: more than 1% off the best");
  ndpar_grid_result_free(b.full);
  ndpar_grid_result_free(b.halving);
  ndpar_folds_free(b.folds);
  ndpar_pool_free(b.pool);
  ndpar_pool_free(b.one);
  gsl_matrix_free(b.x);
  gsl_matrix_free(ymat);
  gsl_vector_free(b.y);
  return ok ? 0 : 2;
}
