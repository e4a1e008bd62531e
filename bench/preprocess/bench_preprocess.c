/* bench_preprocess: z-score (fit + transform) of a 4,000,000 x 8 row-major matrix and of
 * 50 chunks, sequential vs ndpar vs OpenMP in one run, with the machine's memory floor
 * measured in the same run: copy bandwidth, and a plain read pass plus a plain in-place
 * update pass over the same matrix (the least a two-pass scaler can take). */
#include <gsl/gsl_randist.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref/timing.h"
#include "ref/kernels.h"
#include "ndpar/ndpar_preprocess.h"

#define ROWS 4000000
#define COLS 8
#define CHUNKS 50

typedef struct {
  ndpar_pool *pool;
  size_t threads;
  gsl_matrix *x, *orig;
  gsl_matrix_view chunk[CHUNKS];
  gsl_matrix *chunks[CHUNKS];
  ndpar_scaler *scaler;
  double *copy_dst;
  volatile double sink;
} ctx_t;

static void restore(void *vc) {
  ctx_t *c = vc;
  memcpy(c->x->data, c->orig->data, (size_t)ROWS * COLS * sizeof(double));
}

static void seq_zscore(void *vc) { wl_zscore_seq(((ctx_t *)vc)->x); }
static void omp_zscore(void *vc) {
  ctx_t *c = vc;
  wl_zscore_omp(c->x, c->threads);
}
static void ndpar_zscore(void *vc) {
  ctx_t *c = vc;
  ndpar_scaler_fit(c->pool, c->scaler, c->x);
  ndpar_scaler_transform(c->pool, c->scaler, c->x);
}

/* ---- 50 chunks, each standardised on its own (the Rust guide's case) ---- */

static int chunk_zscore(gsl_matrix *chunk, const ndpar_task *t, void *ctx) {
  (void)t, (void)ctx;
  wl_zscore_seq(chunk);
  return 0;
}
static void seq_chunks(void *vc) {
  ctx_t *c = vc;
  for (size_t i = 0; i < CHUNKS; i++) wl_zscore_seq(c->chunks[i]);
}
static void ndpar_chunks(void *vc) {
  ctx_t *c = vc;
  ndpar_preprocess(c->pool, c->chunks, CHUNKS, chunk_zscore, NULL);
}
static void omp_chunks(void *vc) {
  ctx_t *c = vc;
#pragma omp parallel for schedule(dynamic, 1) num_threads(c->threads)
  for (long i = 0; i < CHUNKS; i++) wl_zscore_seq(c->chunks[i]);
}

/* ---- the memory floor ---- */

static int read_range(size_t b, size_t e, const ndpar_task *t, void *vc) {
  (void)t;
  ctx_t *c = vc;
  double s = 0;
  for (size_t i = b * COLS; i < e * COLS; i++) s += c->x->data[i];
  c->sink = s;
  return 0;
}
static int update_range(size_t b, size_t e, const ndpar_task *t, void *vc) {
  (void)t;
  ctx_t *c = vc;
  for (size_t i = b * COLS; i < e * COLS; i++) c->x->data[i] = c->x->data[i] * 1.0000001 + 1e-9;
  return 0;
}
static void floor_passes(void *vc) {
  ctx_t *c = vc;
  ndpar_pool_run_range(c->pool, ROWS, read_range, c, NULL);
  ndpar_pool_run_range(c->pool, ROWS, update_range, c, NULL);
}
static int copy_range(size_t b, size_t e, const ndpar_task *t, void *vc) {
  (void)t;
  ctx_t *c = vc;
  memcpy(c->copy_dst + b * COLS, c->x->data + b * COLS, (e - b) * COLS * sizeof(double));
  return 0;
}
static void copy_pass(void *vc) {
  ctx_t *c = vc;
  ndpar_pool_run_range(c->pool, ROWS, copy_range, c, NULL);
}

/* Medians (ms) of the variants, each timed on data restored to the original: the
 * transforms work in place. */
static void compare_restored(void (*const *fns)(void *), size_t n, ctx_t *c, int reps, double *ms) {
  bench_compare_prepared(fns, n, c, 1, reps, restore, ms);
  for (size_t f = 0; f < n; f++) ms[f] *= 1e3;
}

int main(int argc, char **argv) {
  bench_options o;
  bench_parse(argc, argv, "bench_preprocess",
              "z-score (fit + transform) of a 4,000,000 x 8 row-major matrix and of 50 chunks:\n"
              "sequential vs ndpar vs OpenMP, with copy bandwidth and the read + update floor.",
              &o);
  int reps = o.reps ? o.reps : (o.quick ? 3 : 11);
  ctx_t c = {0};
  c.x = gsl_matrix_alloc(ROWS, COLS);
  c.orig = gsl_matrix_alloc(ROWS, COLS);
  c.copy_dst = malloc((size_t)ROWS * COLS * sizeof(double));
  gsl_rng *r = gsl_rng_alloc(gsl_rng_taus2);
  for (size_t i = 0; i < (size_t)ROWS * COLS; i++) c.orig->data[i] = 10.0 * (double)(i % COLS) + gsl_ran_gaussian(r, 1.0);
  gsl_rng_free(r);
  for (size_t i = 0; i < CHUNKS; i++) {
    c.chunk[i] = gsl_matrix_submatrix(c.x, i * (ROWS / CHUNKS), 0, ROWS / CHUNKS, COLS);
    c.chunks[i] = &c.chunk[i].matrix;
  }
  c.scaler = ndpar_scaler_alloc(NDPAR_SCALE_STANDARD, COLS);
  printf("bench_preprocess: %d x %d doubles (%.0f MB); %zu physical cores; medians of %d\n", ROWS,
         COLS, ROWS * COLS * 8 / 1e6, ndpar_physical_cores(), reps);
  const char *cols[] = {"sequential", "ndpar", "OpenMP", "ndpar-speedup", "omp-speedup"};
  const char *fcols[] = {"copy GB/s", "read+update", "ndpar/floor"};
  double rows[2][2][5], floors[2][3];
  size_t counts[2] = {1, o.threads};
  for (int k = 0; k < 2; k++) {
    ndpar_pool_config cfg;
    ndpar_pool_config_init(&cfg);
    cfg.threads = counts[k];
    c.pool = ndpar_pool_alloc(&cfg);
    c.threads = counts[k];
    void (*const whole[3])(void *) = {seq_zscore, ndpar_zscore, omp_zscore};
    compare_restored(whole, 3, &c, reps, rows[k][0]);
    void (*const parts[3])(void *) = {seq_chunks, ndpar_chunks, omp_chunks};
    compare_restored(parts, 3, &c, reps, rows[k][1]);
    for (int j = 0; j < 2; j++) {
      rows[k][j][3] = rows[k][j][0] / rows[k][j][1];
      rows[k][j][4] = rows[k][j][0] / rows[k][j][2];
    }
    void (*const fl[2])(void *) = {copy_pass, floor_passes};
    double f[2];
    compare_restored(fl, 2, &c, reps, f);
    floors[k][0] = 2.0 * ROWS * COLS * 8 / (f[0] * 1e-3) / 1e9; /* read + write bytes */
    floors[k][1] = f[1];
    floors[k][2] = rows[k][0][1] / f[1];
    ndpar_pool_free(c.pool);
  }
  bench_header("z-score, fit + transform (ms; speedup over sequential)", cols, 5);
  for (int k = 0; k < 2; k++) bench_row("4,000,000 x 8 row-major", counts[k], rows[k][0], 5, "ms, x");
  for (int k = 0; k < 2; k++) bench_row("50 chunks of 80,000 x 8", counts[k], rows[k][1], 5, "ms, x");
  bench_header("memory floor over the same matrix", fcols, 3);
  for (int k = 0; k < 2; k++) bench_row("copy; read pass + update pass (ms)", counts[k], floors[k], 3, "GB/s, ms, x");
  ndpar_scaler_free(c.scaler);
  gsl_matrix_free(c.x);
  gsl_matrix_free(c.orig);
  free(c.copy_dst);
  return 0;
}
