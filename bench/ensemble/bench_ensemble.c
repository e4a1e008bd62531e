/* bench_ensemble: 3 and 16 reference MLPs (different initial weights) over 100 batches of
 * 64 rows of the bundled series, mean and spread across members: sequential vs ndpar's
 * batched form vs OpenMP (collapse(2) over batches and members, schedule(dynamic,1)). */
#include <gsl/gsl_statistics_double.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "ndpar/ndpar_ensemble.h"
#include "wl.h"

#define LAGS 24
#define HIDDEN 64
#define HORIZON 6
#define NB 100
#define ROWS 64
#define MAXM 16

typedef struct {
  ndpar_pool *pool;
  size_t threads, m;
  wl_mlp *mlp[MAXM];
  ndpar_model models[MAXM];
  const gsl_matrix *x[NB];
  gsl_matrix *out[NB], *spread[NB];
  double *member_out; /* [batch][member][ROWS x HORIZON] */
} ctx_t;

static double *slot(ctx_t *c, size_t b, size_t k) {
  return c->member_out + (b * c->m + k) * ROWS * HORIZON;
}

static void predict_member(ctx_t *c, size_t b, size_t k) {
  gsl_matrix_view y = gsl_matrix_view_array(slot(c, b, k), ROWS, HORIZON);
  wl_mlp_forward(c->mlp[k], NULL, c->x[b], &y.matrix, NULL);
}

static void aggregate_batch(ctx_t *c, size_t b) {
  double v[MAXM];
  for (size_t e = 0; e < ROWS * HORIZON; e++) {
    for (size_t k = 0; k < c->m; k++) v[k] = slot(c, b, k)[e];
    c->out[b]->data[e] = gsl_stats_mean(v, 1, c->m);
    c->spread[b]->data[e] = gsl_stats_sd(v, 1, c->m);
  }
}

static void seq_ensemble(void *vc) {
  ctx_t *c = vc;
  for (size_t b = 0; b < NB; b++) {
    for (size_t k = 0; k < c->m; k++) predict_member(c, b, k);
    aggregate_batch(c, b);
  }
}

static void ndpar_ensemble(void *vc) {
  ctx_t *c = vc;
  ndpar_ensemble_predict_batches(c->pool, c->x, NB, c->models, c->m, NDPAR_AGG_MEAN, NULL, 0,
                                 c->out, c->spread, NULL, NULL);
}

static void omp_ensemble(void *vc) {
  ctx_t *c = vc;
  long m = (long)c->m;
#pragma omp parallel num_threads(c->threads)
  {
#pragma omp for collapse(2) schedule(dynamic, 1)
    for (long b = 0; b < NB; b++)
      for (long k = 0; k < m; k++) predict_member(c, (size_t)b, (size_t)k);
#pragma omp for schedule(static)
    for (long b = 0; b < NB; b++) aggregate_batch(c, (size_t)b);
  }
}

int main(int argc, char **argv) {
  bench_options o;
  bench_parse(argc, argv, "bench_ensemble",
              "Ensembles of 3 and 16 reference MLPs over 100 batches of 64 rows of the bundled\n"
              "series (mean and spread across members): sequential vs ndpar vs OpenMP.",
              &o);
  int reps = o.reps ? o.reps : (o.quick ? 3 : 11);
  gsl_matrix *x, *y;
  char err[512];
  if (wl_default_windows(NULL, LAGS, HORIZON, &x, &y, err, sizeof err)) {
    fprintf(stderr, "bench_ensemble: %s\n", err);
    return 1;
  }
  ctx_t c = {0};
  _gsl_matrix_const_view xv[NB];
  for (size_t b = 0; b < NB; b++) {
    xv[b] = gsl_matrix_const_submatrix(x, b * ROWS, 0, ROWS, LAGS);
    c.x[b] = &xv[b].matrix;
    c.out[b] = gsl_matrix_alloc(ROWS, HORIZON);
    c.spread[b] = gsl_matrix_alloc(ROWS, HORIZON);
  }
  for (size_t k = 0; k < MAXM; k++) {
    c.mlp[k] = wl_mlp_alloc(LAGS, HIDDEN, HORIZON);
    wl_mlp_init(c.mlp[k], 100 + k);
    c.models[k] = (ndpar_model){wl_mlp_predict, c.mlp[k]};
  }
  c.member_out = malloc((size_t)NB * MAXM * ROWS * HORIZON * sizeof(double));
  printf("bench_ensemble: %d batches of %d rows; %zu physical cores; medians of %d\n", NB, ROWS,
         ndpar_physical_cores(), reps);
  const char *cols[] = {"sequential", "ndpar", "OpenMP", "ndpar-speedup", "omp-speedup"};
  bench_header("ensemble prediction, mean and spread (ms; speedup over sequential)", cols, 5);
  size_t counts[2] = {1, o.threads}, ms[2] = {3, 16};
  for (int k = 0; k < 2; k++) {
    ndpar_pool_config cfg;
    ndpar_pool_config_init(&cfg);
    cfg.threads = counts[k];
    c.pool = ndpar_pool_alloc(&cfg);
    c.threads = counts[k];
    for (int j = 0; j < 2; j++) {
      c.m = ms[j];
      double v[5];
      void (*const fns[3])(void *) = {seq_ensemble, ndpar_ensemble, omp_ensemble};
      bench_compare(fns, 3, &c, 1, reps, v);
      for (int i = 0; i < 3; i++) v[i] *= 1e3;
      v[3] = v[0] / v[1];
      v[4] = v[0] / v[2];
      char label[64];
      snprintf(label, sizeof label, "%zu MLPs x 100 batches", c.m);
      bench_row(label, c.threads, v, 5, "ms, x");
    }
    ndpar_pool_free(c.pool);
  }
  for (size_t b = 0; b < NB; b++) {
    gsl_matrix_free(c.out[b]);
    gsl_matrix_free(c.spread[b]);
  }
  for (size_t k = 0; k < MAXM; k++) wl_mlp_free(c.mlp[k]);
  free(c.member_out);
  gsl_matrix_free(x);
  gsl_matrix_free(y);
  return 0;
}
