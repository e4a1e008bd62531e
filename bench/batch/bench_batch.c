/* bench_batch: batch inference and MC dropout of the reference MLP on the bundled data,
 * sequential vs ndpar vs OpenMP schedule(dynamic,1), in one run.
 *
 *   100 batches x 64 rows     coarse batches
 *   1,000 batches x 8 rows    fine-grained batches
 *   MC: 2 batches x 100 samples of 64 rows (dropout 0.2): mean and sd
 */
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "ndpar/ndpar_batch.h"
#include "wl.h"

#define LAGS 24
#define HIDDEN 64
#define HORIZON 6
#define MC_BATCHES 2
#define MC_SAMPLES 100
#define MC_ROWS 64

typedef struct {
  ndpar_pool *pool;
  size_t threads;
  wl_mlp *mlp;
  const gsl_matrix *x; /* the rows used: nbatches * batch_rows */
  gsl_matrix *y;
  size_t batch_rows, nbatches;
  /* MC */
  const gsl_matrix *mc_x[MC_BATCHES];
  gsl_matrix *mc_mean[MC_BATCHES], *mc_sd[MC_BATCHES];
  double *samples; /* [batch][sample][rows x horizon], as ndpar lays them out */
} ctx_t;

/* ---- plain inference ---- */

static void forward_batch(ctx_t *c, size_t i) {
  gsl_matrix_const_view xb = ndpar_rows_batch_const(c->x, c->batch_rows, i);
  gsl_matrix_view yb = ndpar_rows_batch(c->y, c->batch_rows, i);
  wl_mlp_forward(c->mlp, NULL, &xb.matrix, &yb.matrix, NULL);
}

static void seq_infer(void *vc) {
  ctx_t *c = vc;
  for (size_t i = 0; i < c->nbatches; i++) forward_batch(c, i);
}

static void ndpar_infer(void *vc) {
  ctx_t *c = vc;
  ndpar_batch_infer_rows(c->pool, c->x, c->batch_rows, c->y, wl_mlp_predict, c->mlp, NULL);
}

static void omp_infer(void *vc) {
  ctx_t *c = vc;
  long n = (long)c->nbatches;
#pragma omp parallel for schedule(dynamic, 1) num_threads(c->threads)
  for (long i = 0; i < n; i++) forward_batch(c, (size_t)i);
}

/* ---- Monte Carlo: the same sample kernel and statistics for the baselines ---- */

static void mc_sample(ctx_t *c, size_t idx, ndpar_streams *st, unsigned worker) {
  size_t b = idx / MC_SAMPLES, s = idx % MC_SAMPLES, per = MC_ROWS * HORIZON;
  gsl_matrix_view y = gsl_matrix_view_array(c->samples + (b * MC_SAMPLES + s) * per, MC_ROWS, HORIZON);
  wl_mlp_forward(c->mlp, NULL, c->mc_x[b], &y.matrix, ndpar_streams_at_pair(st, worker, b, s));
}

static void mc_stats(ctx_t *c, size_t b) {
  size_t per = MC_ROWS * HORIZON;
  for (size_t e = 0; e < per; e++) {
    const double *d = c->samples + b * MC_SAMPLES * per + e;
    double m = gsl_stats_mean(d, per, MC_SAMPLES);
    c->mc_mean[b]->data[e] = m;
    c->mc_sd[b]->data[e] = gsl_stats_sd_m(d, per, MC_SAMPLES, m);
  }
}

static void seq_mc(void *vc) {
  ctx_t *c = vc;
  ndpar_streams *st = ndpar_streams_alloc(1, 42);
  for (size_t i = 0; i < MC_BATCHES * MC_SAMPLES; i++) mc_sample(c, i, st, 0);
  for (size_t b = 0; b < MC_BATCHES; b++) mc_stats(c, b);
  ndpar_streams_free(st);
}

static void ndpar_mc(void *vc) {
  ctx_t *c = vc;
  ndpar_batch_infer_mc(c->pool, c->mc_x, MC_BATCHES, MC_SAMPLES, 42, wl_mlp_predict, c->mlp,
                       c->mc_mean, c->mc_sd);
}

static void omp_mc(void *vc) {
  ctx_t *c = vc;
  ndpar_streams *st = ndpar_streams_alloc(c->threads, 42);
#pragma omp parallel num_threads(c->threads)
  {
#pragma omp for schedule(dynamic, 1)
    for (long i = 0; i < MC_BATCHES * MC_SAMPLES; i++)
      mc_sample(c, (size_t)i, st, (unsigned)omp_get_thread_num());
#pragma omp for schedule(static)
    for (long b = 0; b < MC_BATCHES; b++) mc_stats(c, (size_t)b);
  }
  ndpar_streams_free(st);
}

/* ---- driver ---- */

static void run_case(const char *label, ctx_t *c, void (*seq)(void *), void (*par)(void *),
                     void (*omp)(void *), int reps) {
  double v[5];
  void (*const fns[3])(void *) = {seq, par, omp};
  bench_compare(fns, 3, c, 2, reps, v);
  for (int i = 0; i < 3; i++) v[i] *= 1e3;
  v[3] = v[0] / v[1];
  v[4] = v[0] / v[2];
  bench_row(label, c->threads, v, 5, "ms, x");
}

int main(int argc, char **argv) {
  bench_options o;
  bench_parse(argc, argv, "bench_batch",
              "Batch inference and MC dropout of the reference MLP (24 lags, 64 tanh units,\n"
              "6-hour horizon) on the bundled Seattle temperature series, sequential vs ndpar\n"
              "vs OpenMP schedule(dynamic,1).",
              &o);
  int reps = o.reps ? o.reps : (o.quick ? 3 : 21);
  gsl_matrix *x, *y;
  char err[512];
  if (wl_default_windows(NULL, LAGS, HORIZON, &x, &y, err, sizeof err)) {
    fprintf(stderr, "bench_batch: %s\n", err);
    return 1;
  }
  wl_mlp *mlp = wl_mlp_alloc(LAGS, HIDDEN, HORIZON);
  wl_mlp_init(mlp, 1);
  mlp->dropout = 0.2;
  gsl_matrix *out = gsl_matrix_alloc(x->size1, HORIZON);
  double *samples = malloc(MC_BATCHES * MC_SAMPLES * MC_ROWS * HORIZON * sizeof *samples);
  printf("bench_batch: %zu windows of the Seattle series; %zu physical cores; medians of %d\n",
         x->size1, ndpar_physical_cores(), reps);
  const char *cols[] = {"sequential", "ndpar", "OpenMP", "ndpar-speedup", "omp-speedup"};
  bench_header("batch inference (ms per call; speedup over sequential)", cols, 5);

  size_t counts[2] = {1, o.threads};
  for (int k = 0; k < 2; k++) {
    ndpar_pool_config cfg;
    ndpar_pool_config_init(&cfg);
    cfg.threads = counts[k];
    ctx_t c = {.pool = ndpar_pool_alloc(&cfg), .threads = counts[k], .mlp = mlp, .samples = samples};
    struct { size_t nb, rows; const char *label; } cases[] = {
        {100, 64, "100 batches x 64 rows"}, {1000, 8, "1,000 batches x 8 rows"}};
    for (int j = 0; j < 2; j++) {
      gsl_matrix_const_view xs = gsl_matrix_const_submatrix(x, 0, 0, cases[j].nb * cases[j].rows, LAGS);
      gsl_matrix_view ys = gsl_matrix_submatrix(out, 0, 0, cases[j].nb * cases[j].rows, HORIZON);
      c.x = &xs.matrix;
      c.y = &ys.matrix;
      c.nbatches = cases[j].nb;
      c.batch_rows = cases[j].rows;
      run_case(cases[j].label, &c, seq_infer, ndpar_infer, omp_infer, reps);
    }
    _gsl_matrix_const_view mcx[MC_BATCHES];
    for (size_t b = 0; b < MC_BATCHES; b++) {
      mcx[b] = gsl_matrix_const_submatrix(x, 1000 * b, 0, MC_ROWS, LAGS);
      c.mc_x[b] = &mcx[b].matrix;
      c.mc_mean[b] = gsl_matrix_alloc(MC_ROWS, HORIZON);
      c.mc_sd[b] = gsl_matrix_alloc(MC_ROWS, HORIZON);
    }
    run_case("MC 2 batches x 100 samples", &c, seq_mc, ndpar_mc, omp_mc, reps);
    for (size_t b = 0; b < MC_BATCHES; b++) {
      gsl_matrix_free(c.mc_mean[b]);
      gsl_matrix_free(c.mc_sd[b]);
    }
    ndpar_pool_free(c.pool);
  }
  free(samples);
  gsl_matrix_free(out);
  gsl_matrix_free(x);
  gsl_matrix_free(y);
  wl_mlp_free(mlp);
  return 0;
}
