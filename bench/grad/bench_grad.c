/* bench_grad: gradient aggregation of the reference MLP's backward pass, sequential vs ndpar
 * (fast and deterministic) vs OpenMP (per-thread sums merged in a critical section), and a
 * false-sharing demonstration: per-thread accumulators packed into one cache line vs padded.
 */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "ndpar/ndpar_grad.h"
#include "wl.h"

#define LAGS 24
#define HIDDEN 64
#define NBATCH 50
#define BATCH_ROWS 128

typedef struct {
  ndpar_pool *pool;
  size_t threads, P;
  wl_mlp *mlp;
  const gsl_matrix *xs[NBATCH];
  const gsl_vector *ys[NBATCH];
  gsl_vector *grad;
  double loss;
} ctx_t;

static void add_scaled(double *acc, const gsl_vector *g, double rows, double loss, size_t P) {
  for (size_t j = 0; j < P; j++) acc[j] += rows * gsl_vector_get(g, j);
  acc[P] += rows * loss;
  acc[P + 1] += rows;
}

static void finish(ctx_t *c, const double *acc) {
  for (size_t j = 0; j < c->P; j++) gsl_vector_set(c->grad, j, acc[j] / acc[c->P + 1]);
  c->loss = acc[c->P] / acc[c->P + 1];
}

static void seq_grad(void *vc) {
  ctx_t *c = vc;
  double *acc = calloc(c->P + 2, sizeof *acc);
  gsl_vector *g = gsl_vector_alloc(c->P);
  for (size_t i = 0; i < NBATCH; i++) {
    double loss;
    wl_mlp_grad(c->xs[i], c->ys[i], g, &loss, NULL, c->mlp);
    add_scaled(acc, g, (double)c->xs[i]->size1, loss, c->P);
  }
  finish(c, acc);
  gsl_vector_free(g);
  free(acc);
}

static void ndpar_fast(void *vc) {
  ctx_t *c = vc;
  ndpar_grad_compute(c->pool, c->xs, c->ys, NBATCH, wl_mlp_grad, c->mlp, NDPAR_REDUCE_FAST,
                     c->grad, &c->loss);
}

static void ndpar_det(void *vc) {
  ctx_t *c = vc;
  ndpar_grad_compute(c->pool, c->xs, c->ys, NBATCH, wl_mlp_grad, c->mlp,
                     NDPAR_REDUCE_DETERMINISTIC, c->grad, &c->loss);
}

static void omp_grad(void *vc) {
  ctx_t *c = vc;
  double *total = calloc(c->P + 2, sizeof *total);
#pragma omp parallel num_threads(c->threads)
  {
    double *acc = calloc(c->P + 2, sizeof *acc);
    gsl_vector *g = gsl_vector_alloc(c->P);
#pragma omp for schedule(dynamic, 1)
    for (long i = 0; i < NBATCH; i++) {
      double loss;
      wl_mlp_grad(c->xs[i], c->ys[i], g, &loss, NULL, c->mlp);
      add_scaled(acc, g, (double)c->xs[i]->size1, loss, c->P);
    }
#pragma omp critical
    for (size_t j = 0; j < c->P + 2; j++) total[j] += acc[j];
    gsl_vector_free(g);
    free(acc);
  }
  finish(c, total);
  free(total);
}

/* ---- false sharing: T workers each add into their own accumulator ---- */

#define FS_ADDS 20000000

typedef struct {
  ndpar_pool *pool;
  size_t threads;
  double *packed;      /* acc[t] = packed[t]: neighbours in one cache line */
  ndpar_slots padded;  /* acc[t] in its own line */
} fs_ctx;

static void accumulate(volatile double *acc) {
  for (long k = 0; k < FS_ADDS; k++) *acc += 1.0;
}

static int fs_packed_task(const ndpar_task *t, void *vc) {
  accumulate(((fs_ctx *)vc)->packed + t->index);
  return 0;
}

static int fs_padded_task(const ndpar_task *t, void *vc) {
  accumulate(ndpar_slots_at(&((fs_ctx *)vc)->padded, t->index));
  return 0;
}

static void fs_packed(void *vc) {
  fs_ctx *c = vc;
  ndpar_pool_run(c->pool, c->threads, fs_packed_task, c);
}

static void fs_padded(void *vc) {
  fs_ctx *c = vc;
  ndpar_pool_run(c->pool, c->threads, fs_padded_task, c);
}

int main(int argc, char **argv) {
  bench_options o;
  bench_parse(argc, argv, "bench_grad",
              "Gradient of the reference MLP (24 lags, 64 units, horizon 1) over 50 batches of\n"
              "128 rows of the bundled series: sequential vs ndpar fast / deterministic vs OpenMP;\n"
              "and packed vs cache-line padded per-thread accumulators.",
              &o);
  int reps = o.reps ? o.reps : (o.quick ? 3 : 21);
  gsl_matrix *x, *y;
  char err[512];
  if (wl_default_windows(NULL, LAGS, 1, &x, &y, err, sizeof err)) {
    fprintf(stderr, "bench_grad: %s\n", err);
    return 1;
  }
  gsl_vector *target = gsl_vector_alloc(y->size1);
  gsl_matrix_get_col(target, y, 0);
  wl_mlp *mlp = wl_mlp_alloc(LAGS, HIDDEN, 1);
  wl_mlp_init(mlp, 3);
  _gsl_matrix_const_view xv[NBATCH];
  _gsl_vector_const_view yv[NBATCH];
  printf("bench_grad: %zu parameters, %d batches of %d rows; %zu physical cores; medians of %d\n",
         mlp->theta->size, NBATCH, BATCH_ROWS, ndpar_physical_cores(), reps);
  const char *cols[] = {"sequential", "ndpar-fast", "ndpar-det", "OpenMP", "fast-x", "det-x", "omp-x"};
  bench_header("gradient over 50 batches (ms; speedup over sequential)", cols, 7);
  const char *fs_cols[] = {"packed", "padded", "packed/padded"};
  double fs_rows[2][3];
  size_t counts[2] = {1, o.threads};
  for (int k = 0; k < 2; k++) {
    ndpar_pool_config cfg;
    ndpar_pool_config_init(&cfg);
    cfg.threads = counts[k];
    ctx_t c = {.pool = ndpar_pool_alloc(&cfg), .threads = counts[k], .P = mlp->theta->size, .mlp = mlp};
    c.grad = gsl_vector_alloc(c.P);
    for (size_t i = 0; i < NBATCH; i++) {
      xv[i] = gsl_matrix_const_submatrix(x, i * BATCH_ROWS, 0, BATCH_ROWS, LAGS);
      yv[i] = gsl_vector_const_subvector(target, i * BATCH_ROWS, BATCH_ROWS);
      c.xs[i] = &xv[i].matrix;
      c.ys[i] = &yv[i].vector;
    }
    double v[7];
    void (*const fns[4])(void *) = {seq_grad, ndpar_fast, ndpar_det, omp_grad};
    bench_compare(fns, 4, &c, 2, reps, v);
    for (int i = 0; i < 4; i++) v[i] *= 1e3;
    for (int i = 0; i < 3; i++) v[4 + i] = v[0] / v[1 + i];
    bench_row("MLP backward, row-weighted mean", c.threads, v, 7, "ms, x");

    fs_ctx f = {c.pool, c.threads, calloc(c.threads, sizeof(double)), {0}};
    ndpar_slots_alloc(&f.padded, c.threads, sizeof(double));
    void (*const fs[2])(void *) = {fs_packed, fs_padded};
    bench_compare(fs, 2, &f, 1, o.quick ? 3 : 7, fs_rows[k]);
    fs_rows[k][0] *= 1e3;
    fs_rows[k][1] *= 1e3;
    fs_rows[k][2] = fs_rows[k][0] / fs_rows[k][1];
    free(f.packed);
    ndpar_slots_free(&f.padded);
    gsl_vector_free(c.grad);
    ndpar_pool_free(c.pool);
  }
  bench_header("false sharing: 2*10^7 adds per thread into its own accumulator (ms)", fs_cols, 3);
  for (int k = 0; k < 2; k++) bench_row("acc[t] += 1", counts[k], fs_rows[k], 3, "ms, x");
  wl_mlp_free(mlp);
  gsl_vector_free(target);
  gsl_matrix_free(x);
  gsl_matrix_free(y);
  return 0;
}
