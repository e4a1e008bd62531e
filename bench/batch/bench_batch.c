/* bench_batch: batch inference of the reference MLP (24 lags, 64 tanh units, 6-hour horizon)
 * on the bundled Seattle series, in one run with the variants interleaved:
 *   sequential   the loop over batches
 *   ndpar        ndpar_batch_infer
 *   OpenMP       parallel for, schedule(static): its best form here (the batches cost the
 *                same; schedule(dynamic, 1) and (dynamic, 4) measured 1-5% slower by the
 *                minimum on this machine, their medians within the noise)
 *   TBB          parallel_for, grain 1, auto_partitioner and simple_partitioner, in a
 *                task_arena of the same thread count (where libtbb-dev is installed)
 *   Rayon        (0..n).into_par_iter().with_min_len(1) (where cargo and rayon are)
 * All of them run the same C per-batch kernel (wl_mlp_predict), and each one's outputs are
 * checked bit for bit against the sequential ones before timing. Then MC dropout (2 batches
 * x 100 samples): sequential, ndpar, OpenMP (ref/kernels.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_matrix.h>

#include "ndpar/ndpar_batch.h"
#include "ndpar/ndpar_core.h"
#include "ndpar/ndpar_pool.h"
#include "ref/kernel_bench.h"
#include "ref/timing.h"
#include "ref/wl.h"

#ifdef NDPAR_BENCH_HAVE_TBB
#include "tbb_batch.h"
#endif
#ifdef NDPAR_BENCH_HAVE_RAYON
#include "rayon_peer.h"
#endif

#define LAGS 24
#define HIDDEN 64
#define HORIZON 6
#define MAX_VARIANTS 8
#define MAX_REPS 101

typedef struct {
  size_t nb, rows, threads;
  wl_mlp *mlp;
  _gsl_matrix_const_view *xv; /* (gsl_matrix_const_view is a const type) */
  const gsl_matrix **xs;
  gsl_matrix **out, **ref; /* per batch, rows x HORIZON: the variant's and the sequential's */
  ndpar_pool *pool;
  int failed;
} ctx_t;

/* The per-batch kernel every variant runs, over batches [lo, hi). */
static void infer_range(void *vc, size_t lo, size_t hi) {
  ctx_t *c = vc;
  for (size_t b = lo; b < hi; b++)
    if (wl_mlp_predict(c->xs[b], c->out[b], NULL, c->mlp)) __atomic_store_n(&c->failed, 1, __ATOMIC_RELAXED);
}

static void seq_infer(void *vc) { infer_range(vc, 0, ((ctx_t *)vc)->nb); }

static void ndpar_infer(void *vc) {
  ctx_t *c = vc;
  if (ndpar_batch_infer(c->pool, c->xs, c->out, c->nb, wl_mlp_predict, c->mlp)) c->failed = 1;
}

static void omp_static(void *vc) {
  ctx_t *c = vc;
  long nb = (long)c->nb;
#pragma omp parallel for schedule(static) num_threads(c->threads)
  for (long b = 0; b < nb; b++) infer_range(c, (size_t)b, (size_t)b + 1);
}

#ifdef NDPAR_BENCH_HAVE_TBB
static void tbb_auto(void *vc) { tbb_batch_for(((ctx_t *)vc)->nb, 1, infer_range, vc); }
static void tbb_simple(void *vc) { tbb_batch_for(((ctx_t *)vc)->nb, 0, infer_range, vc); }
#endif
#ifdef NDPAR_BENCH_HAVE_RAYON
static void rayon_infer(void *vc) { rayon_peer_for(((ctx_t *)vc)->nb, 1, infer_range, vc); }
#endif

typedef struct {
  const char *name;
  void (*fn)(void *);
} variant;

static size_t variants(variant *v) {
  size_t n = 0;
  v[n++] = (variant){"sequential", seq_infer};
  v[n++] = (variant){"ndpar_batch_infer", ndpar_infer};
  v[n++] = (variant){"OpenMP for, static", omp_static};
#ifdef NDPAR_BENCH_HAVE_TBB
  v[n++] = (variant){"TBB parallel_for, auto, grain 1", tbb_auto};
  v[n++] = (variant){"TBB parallel_for, simple, grain 1", tbb_simple};
#endif
#ifdef NDPAR_BENCH_HAVE_RAYON
  v[n++] = (variant){"Rayon for, with_min_len(1)", rayon_infer};
#endif
  return n;
}

/* ---- the data: nb batches of `rows` consecutive windows of the series ---- */

static void case_free(ctx_t *c) {
  for (size_t b = 0; c->out && b < c->nb; b++) {
    gsl_matrix_free(c->out[b]);
    gsl_matrix_free(c->ref[b]);
  }
  free(c->out);
  free(c->ref);
  free(c->xv);
  free(c->xs);
}

static void case_alloc(ctx_t *c, const gsl_matrix *x, size_t nb, size_t rows) {
  if (nb * rows > x->size1) {
    fprintf(stderr, "bench_batch: %zu batches of %zu rows need %zu windows; the series has %zu\n", nb,
            rows, nb * rows, x->size1);
    exit(1);
  }
  c->nb = nb, c->rows = rows;
  c->xv = malloc(nb * sizeof *c->xv);
  c->xs = malloc(nb * sizeof *c->xs);
  c->out = malloc(nb * sizeof *c->out);
  c->ref = malloc(nb * sizeof *c->ref);
  for (size_t b = 0; b < nb; b++) {
    c->xv[b] = gsl_matrix_const_submatrix(x, b * rows, 0, rows, LAGS);
    c->xs[b] = &c->xv[b].matrix;
    c->out[b] = gsl_matrix_alloc(rows, HORIZON);
    c->ref[b] = gsl_matrix_alloc(rows, HORIZON);
  }
}

/* ---- checking and timing ---- */

/* Runs v once on outputs filled with NaN and compares them bit for bit with the sequential
 * outputs (the same kernel on the same batch): the benchmark stops on any difference. */
static void check_variant(ctx_t *c, const variant *v) {
  for (size_t b = 0; b < c->nb; b++) gsl_matrix_set_all(c->out[b], NAN);
  v->fn(c);
  if (c->failed) {
    fprintf(stderr, "bench_batch: %s failed\n", v->name);
    exit(1);
  }
  for (size_t b = 0; b < c->nb; b++)
    for (size_t i = 0; i < c->rows * HORIZON; i++)
      if (memcmp(&c->out[b]->data[i], &c->ref[b]->data[i], sizeof(double)) != 0) {
        fprintf(stderr, "bench_batch: %s differs from the sequential result at batch %zu, row %zu, "
                "column %zu: %.17g vs %.17g\n", v->name, b, i / HORIZON, i % HORIZON,
                c->out[b]->data[i], c->ref[b]->data[i]);
        exit(1);
      }
}

typedef bench_stats stats; /* in ms here */

/* Every variant once per repetition, interleaved (bench_compare_stats_ms): a slow phase of the
 * machine hits every variant alike. */
static void time_variants(ctx_t *c, const variant *v, size_t n, int reps, stats *out) {
  void (*fns[MAX_VARIANTS])(void *) = {0};
  for (size_t k = 0; k < n; k++) fns[k] = v[k].fn;
  bench_compare_stats_ms(fns, n, c, 1, reps, NULL, out);
}

/* One table per case: min, median, max, speedup over sequential (medians), and the median
 * and the min over ndpar's (a peer's ratio above 1: ndpar is faster; on a shared machine
 * the min is the steadier of the two). */
static void print_table(const ctx_t *c, const variant *v, size_t n, const stats *s) {
  printf("\n%zu batches x %zu rows, T = %zu (ms)\n", c->nb, c->rows, c->threads);
  printf("%-36s %9s %9s %9s %9s %10s %10s\n", "variant", "min", "median", "max", "speedup",
         "med/ndpar", "min/ndpar");
  for (size_t k = 0; k < n; k++)
    printf("%-36s %9.3f %9.3f %9.3f %9.2f %10.3f %10.3f\n", v[k].name, s[k].min, s[k].med, s[k].max,
           s[0].med / s[k].med, s[k].med / s[1].med, s[k].min / s[1].min);
}

static void run_case(ctx_t *c, const gsl_matrix *x, size_t nb, size_t rows, int reps) {
  variant v[MAX_VARIANTS];
  stats s[MAX_VARIANTS];
  size_t n = variants(v);
  case_alloc(c, x, nb, rows);
  seq_infer(c);
  if (c->failed) {
    fprintf(stderr, "bench_batch: the sequential loop failed\n");
    exit(1);
  }
  for (size_t b = 0; b < nb; b++) gsl_matrix_memcpy(c->ref[b], c->out[b]);
  for (size_t k = 1; k < n; k++) check_variant(c, &v[k]);
  time_variants(c, v, n, reps, s);
  print_table(c, v, n, s);
  case_free(c);
}

static void peers_start(size_t threads) {
#ifdef NDPAR_BENCH_HAVE_TBB
  tbb_batch_init(threads);
#endif
#ifdef NDPAR_BENCH_HAVE_RAYON
  if (rayon_peer_init(threads)) {
    fprintf(stderr, "bench_batch: Rayon's pool of %zu threads did not start\n", threads);
    exit(1);
  }
#endif
  (void)threads;
}

/* MC dropout: sequential, ndpar and OpenMP (ref/kernels.c's "mc" kernel). */
static int mc_part(ndpar_pool *pool, size_t threads, int reps) {
  char err[512];
  const wl_kernel *k = wl_kernel_find("mc");
  wl_params p = {.batches = 2, .samples = 100, .rows = 64};
  void *state = k ? k->setup(&p, err, sizeof err) : NULL;
  if (state == NULL) {
    fprintf(stderr, "bench_batch: mc: %s\n", k ? err : "no such kernel");
    return 1;
  }
  const char *cols[] = {"sequential", "ndpar", "OpenMP", "ndpar-speedup", "omp-speedup"};
  printf("\n");
  bench_header("MC dropout (ms per call; speedup over sequential; medians)", cols, 5);
  int failed = bench_kernel_row(k->describe(state), k, state, pool, threads, reps);
  k->teardown(state);
  return failed;
}

int main(int argc, char **argv) {
  bench_options o;
  bench_parse(argc, argv, "bench_batch",
              "Batch inference (100 x 64 rows, 1,000 x 8 rows) of the reference MLP on the bundled\n"
              "series: sequential vs ndpar vs OpenMP (static), oneTBB parallel_for (auto,\n"
              "simple) and Rayon; then MC dropout (2 batches x 100 samples) vs OpenMP.",
              &o);
  setvbuf(stdout, NULL, _IOLBF, 0);
  int reps = o.reps ? o.reps : (o.quick ? 3 : 21);
  if (reps > MAX_REPS) reps = MAX_REPS;
  char err[512];
  gsl_matrix *x = NULL, *y = NULL;
  if (wl_default_windows(NULL, LAGS, HORIZON, &x, &y, err, sizeof err)) {
    fprintf(stderr, "bench_batch: %s\n", err);
    return 1;
  }
  ctx_t c = {0};
  c.mlp = wl_mlp_alloc(LAGS, HIDDEN, HORIZON);
  wl_mlp_init(c.mlp, 100);
  printf("bench_batch: %zu physical cores; min/median/max of %d interleaved repetitions\n",
         ndpar_physical_cores(), reps);
#ifndef NDPAR_BENCH_HAVE_TBB
  printf("TBB: not installed (make bench-deps)\n");
#endif
#ifndef NDPAR_BENCH_HAVE_RAYON
  printf("Rayon: not installed (make bench-deps)\n");
#endif
  size_t counts[2] = {1, o.threads};
  int failed = 0;
  for (int t = 0; t < 2; t++) {
    if (t == 1 && counts[1] == 1) break;
    ndpar_pool_config cfg;
    ndpar_pool_config_init(&cfg);
    cfg.threads = counts[t];
    c.pool = ndpar_pool_alloc(&cfg);
    c.threads = counts[t];
    peers_start(counts[t]);
    run_case(&c, x, 100, 64, reps);
    run_case(&c, x, 1000, 8, reps);
    failed |= mc_part(c.pool, counts[t], reps);
    ndpar_pool_free(c.pool);
  }
#ifdef NDPAR_BENCH_HAVE_TBB
  tbb_batch_free();
#endif
  wl_mlp_free(c.mlp);
  gsl_matrix_free(x);
  gsl_matrix_free(y);
  if (failed) fprintf(stderr, "bench_batch: a variant failed\n");
  return failed ? 1 : 0;
}
