/* bench_preprocess: the scalers' fit + transform of a 4,000,000 x 8 row-major matrix (256 MB)
 * against the memory floor and the strongest form of each peer, in one run with the variants
 * interleaved in every repetition; and z-score of 50 chunks through the per-chunk callback.
 *
 *   sequential  the peers' kernels (scaler_kernels.h) on one thread: a read pass, a transform
 *   ndpar       ndpar_scaler_fit + ndpar_scaler_transform
 *   floor       a plain read pass + a plain read-write pass over the same matrix on ndpar's
 *               pool at the same thread count: the least plain loops can take; and the same
 *               passes prefetching 16 KiB ahead into L2, as ndpar's do (on some CPUs faster
 *               than the plain floor: the floor for code that prefetches)
 *   OpenMP      blocked two-pass: per-thread column partials over the thread's row block,
 *               combined, then one parallel transform pass
 *   TBB         parallel_deterministic_reduce (simple partitioner) + parallel_for (simple),
 *               parallel_reduce + parallel_for with the auto and the static partitioner
 *   Rayon       rayon_peer_reduce + rayon_peer_for, the same kernels (z-score only: its
 *               reduction adds the partials)
 *
 * Every variant's output is checked against the sequential one before anything is timed. */
#include <gsl/gsl_randist.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref/timing.h"
#include "ref/kernels.h"
#include "ndpar/ndpar_preprocess.h"
#include "scaler_kernels.h"
#ifdef NDPAR_BENCH_HAVE_TBB
#include "tbb_preprocess.h"
#endif
#ifdef NDPAR_BENCH_HAVE_RAYON
#include "rayon_peer.h"
#endif

#define ROWS 4000000
#define COLS PK_COLS
#define CHUNKS 50
#define GRAIN 4096  /* rows per leaf for TBB's simple partitioner and Rayon's with_min_len */
#define MAX_VARIANTS 12
#define MAX_REPS 101

typedef enum { Z_SCORE, MIN_MAX } peer_kind;

typedef struct {
  ndpar_pool *pool;
  size_t threads;
  gsl_matrix *x, *orig, *ref;
  gsl_matrix_view chunk[CHUNKS];
  gsl_matrix *chunks[CHUNKS];
  ndpar_scaler *scaler;
  pk_data pk;
  peer_kind kind; /* what the peers compute */
} ctx_t;

static void restore(void *vc) {
  ctx_t *c = vc;
  memcpy(c->x->data, c->orig->data, (size_t)ROWS * COLS * sizeof(double));
}

/* ---- the peers' fit from combined partials ---- */

static void acc_init(const ctx_t *c, double *acc) {
  if (c->kind == Z_SCORE) memset(acc, 0, PK_ZSCORE_ACC * sizeof *acc);
  else pk_minmax_init(acc, PK_MINMAX_ACC);
}

static void acc_fold(ctx_t *c, size_t lo, size_t hi, double *acc) {
  (c->kind == Z_SCORE ? pk_zscore_fold : pk_minmax_fold)(&c->pk, lo, hi, acc);
}

static void acc_join(const ctx_t *c, double *acc, const double *other) {
  if (c->kind == MIN_MAX) pk_minmax_join(acc, other, PK_MINMAX_ACC);
  else for (size_t i = 0; i < PK_ZSCORE_ACC; i++) acc[i] += other[i];
}

static void params(ctx_t *c, const double *acc) {
  for (size_t j = 0; j < COLS; j++) c->pk.shift[j] = c->x->data[j];
  if (c->kind == Z_SCORE) pk_zscore_params(&c->pk, acc);
  else pk_minmax_params(&c->pk, acc);
}

/* The shift is row 0 (read before the fit: the peers' sums run on x - shift). */
static void set_shift(ctx_t *c) {
  for (size_t j = 0; j < COLS; j++) c->pk.shift[j] = c->x->data[j];
}

/* ---- the variants ---- */

static void seq_scale(void *vc) {
  ctx_t *c = vc;
  double acc[2 * COLS];
  set_shift(c);
  acc_init(c, acc);
  acc_fold(c, 0, ROWS, acc);
  params(c, acc);
  pk_transform(&c->pk, 0, ROWS);
}

static void ndpar_scale(void *vc) {
  ctx_t *c = vc;
  if (ndpar_scaler_fit(c->pool, c->scaler, c->x) || ndpar_scaler_transform(c->pool, c->scaler, c->x)) {
    fprintf(stderr, "bench_preprocess: ndpar_scaler_fit/transform failed\n");
    exit(1);
  }
}

static int floor_prefetch; /* the floor's passes prefetch (floor_passes_pf) */
static int floor_read(size_t b, size_t e, const ndpar_task *t, void *vc) {
  (void)t;
  (floor_prefetch ? pk_floor_read_pf : pk_floor_read)(&((ctx_t *)vc)->pk, b, e);
  return 0;
}
static int floor_update(size_t b, size_t e, const ndpar_task *t, void *vc) {
  (void)t;
  (floor_prefetch ? pk_floor_update_pf : pk_floor_update)(&((ctx_t *)vc)->pk, b, e);
  return 0;
}
static void floor_passes(void *vc) {
  ctx_t *c = vc;
  ndpar_pool_run_range(c->pool, ROWS, floor_read, c, NULL);
  ndpar_pool_run_range(c->pool, ROWS, floor_update, c, NULL);
}
static void floor_passes_pf(void *vc) {
  floor_prefetch = 1;
  floor_passes(vc);
  floor_prefetch = 0;
}

/* Blocked two-pass OpenMP: each thread folds its own block of rows into its own padded
 * partials, one thread combines them (in thread order) into the parameters, and every
 * thread transforms the same block it read. */
static void omp_scale(void *vc) {
  ctx_t *c = vc;
  int threads = (int)c->threads;
  double (*part)[2 * COLS] = aligned_alloc(64, (size_t)threads * sizeof *part); /* 128 B each */
  set_shift(c);
#pragma omp parallel num_threads(threads)
  {
    int t = omp_get_thread_num(), n = omp_get_num_threads();
    size_t lo = (size_t)ROWS * (size_t)t / (size_t)n, hi = (size_t)ROWS * (size_t)(t + 1) / (size_t)n;
    acc_init(c, part[t]);
    acc_fold(c, lo, hi, part[t]);
#pragma omp barrier
#pragma omp single
    {
      for (int k = 1; k < n; k++) acc_join(c, part[0], part[k]);
      params(c, part[0]);
    }
    pk_transform(&c->pk, lo, hi);
  }
  free(part);
}

#ifdef NDPAR_BENCH_HAVE_TBB
static void tbb_init_cb(double *acc, size_t len) { pk_minmax_init(acc, len); }
static void tbb_join_cb(double *acc, const double *other, size_t len) { pk_minmax_join(acc, other, len); }
static void tbb_scale(ctx_t *c, int partitioner) {
  double acc[2 * COLS];
  int z = c->kind == Z_SCORE;
  size_t grain = partitioner == TBB_PP_SIMPLE || partitioner == TBB_PP_DETERMINISTIC ? GRAIN : 1;
  set_shift(c);
  tbb_pp_reduce(ROWS, grain, partitioner, z ? PK_ZSCORE_ACC : PK_MINMAX_ACC, z ? NULL : tbb_init_cb,
                z ? pk_zscore_fold : pk_minmax_fold, z ? NULL : tbb_join_cb, &c->pk, acc);
  params(c, acc);
  tbb_pp_for(ROWS, grain, partitioner, pk_transform, &c->pk);
}
static void tbb_det(void *vc) { tbb_scale(vc, TBB_PP_DETERMINISTIC); }
static void tbb_auto(void *vc) { tbb_scale(vc, TBB_PP_AUTO); }
static void tbb_static(void *vc) { tbb_scale(vc, TBB_PP_STATIC); }
#endif

#ifdef NDPAR_BENCH_HAVE_RAYON
static void rayon_scale(void *vc) {
  ctx_t *c = vc;
  double acc[2 * COLS];
  set_shift(c);
  rayon_peer_reduce(ROWS, GRAIN, PK_ZSCORE_ACC, pk_zscore_fold, &c->pk, acc);
  params(c, acc);
  rayon_peer_for(ROWS, GRAIN, pk_transform, &c->pk);
}
#endif

/* ---- 50 chunks, each standardised on its own ---- */

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

/* ---- checking and timing ---- */

typedef struct {
  const char *name;
  void (*fn)(void *);
  int checked; /* its output is compared with the reference */
} variant;

/* Runs v on the original data and compares every value with the reference output (relative
 * to 1 + |reference|): the benchmark stops on any difference above tol. */
static void check_variant(ctx_t *c, const variant *v, double tol) {
  restore(c);
  v->fn(c);
  for (size_t i = 0; i < (size_t)ROWS * COLS; i++) {
    double got = c->x->data[i], want = c->ref->data[i];
    if (!(fabs(got - want) <= tol * (1 + fabs(want)))) {
      fprintf(stderr, "bench_preprocess: %s differs from the sequential result at row %zu, column %zu: %.17g vs %.17g\n",
              v->name, i / COLS, i % COLS, got, want);
      exit(1);
    }
  }
}

typedef bench_stats stats; /* in ms here */

/* Every variant once per repetition, interleaved, the data restored before each timed call
 * (bench_compare_stats_ms): a slow phase of the machine hits every variant alike. */
static void time_variants(ctx_t *c, const variant *v, size_t n, int reps, stats *out) {
  void (*fns[MAX_VARIANTS])(void *) = {0};
  for (size_t k = 0; k < n; k++) fns[k] = v[k].fn;
  bench_compare_stats_ms(fns, n, c, 1, reps, restore, out);
}

/* One table: a row per variant with min, median, max, the median and the min over the
 * floor's, and the median over ndpar's (a peer's ratio above 1: ndpar is faster). */
static void print_table(const char *title, size_t threads, const variant *v, size_t n, const stats *s,
                        int floor_at, int ndpar_at) {
  printf("\n%s, T = %zu (ms)\n", title, threads);
  printf("%-38s %9s %9s %9s %10s %10s %10s\n", "variant", "min", "median", "max", "med/floor",
         "min/floor", "med/ndpar");
  for (size_t k = 0; k < n; k++) {
    printf("%-38s %9.3f %9.3f %9.3f", v[k].name, s[k].min, s[k].med, s[k].max);
    if (floor_at >= 0) printf(" %10.3f %10.3f", s[k].med / s[floor_at].med, s[k].min / s[floor_at].min);
    else printf(" %10s %10s", "", "");
    if (ndpar_at >= 0) printf(" %10.3f", s[k].med / s[ndpar_at].med);
    printf("\n");
  }
}

/* The reference output of the sequential variant for the current kind into c->ref. */
static void make_reference(ctx_t *c, void (*seq)(void *)) {
  restore(c);
  seq(c);
  gsl_matrix_memcpy(c->ref, c->x);
}

/* Appends the installed peers' variants (Rayon's only where asked: its reduction adds). */
static size_t add_peers(variant *v, size_t n, int rayon) {
#ifdef NDPAR_BENCH_HAVE_TBB
  v[n++] = (variant){"TBB det_reduce + for, simple", tbb_det, 1};
  v[n++] = (variant){"TBB reduce + for, auto", tbb_auto, 1};
  v[n++] = (variant){"TBB reduce + for, static", tbb_static, 1};
#endif
#ifdef NDPAR_BENCH_HAVE_RAYON
  if (rayon) v[n++] = (variant){"Rayon fold/reduce + for", rayon_scale, 1};
#endif
  (void)v, (void)rayon;
  return n;
}

/* The z-score at one thread count: every variant, checked, then timed. */
static void zscore_part(ctx_t *c, int reps) {
  variant v[MAX_VARIANTS];
  size_t n = 0;
  v[n++] = (variant){"sequential (read pass, transform)", seq_scale, 1};
  v[n++] = (variant){"ndpar fit + transform", ndpar_scale, 1};
  v[n++] = (variant){"floor: read + read-write (pool)", floor_passes, 0};
  v[n++] = (variant){"floor, prefetching into L2", floor_passes_pf, 0};
  v[n++] = (variant){"OpenMP blocked two-pass", omp_scale, 1};
  n = add_peers(v, n, 1);
  c->kind = Z_SCORE;
  ndpar_scaler_free(c->scaler);
  c->scaler = ndpar_scaler_alloc(NDPAR_SCALE_STANDARD, COLS);
  make_reference(c, seq_scale);
  for (size_t k = 1; k < n; k++)
    if (v[k].checked) check_variant(c, &v[k], 1e-9);
  stats s[MAX_VARIANTS];
  time_variants(c, v, n, reps, s);
  print_table("z-score (STANDARD), fit + transform, 4,000,000 x 8", c->threads, v, n, s, 2, 1);
}

/* MINMAX, MINMAX1 and MAXABS through ndpar (each checked against its own closed form from the
 * sequential min and max), against the floor and the peers' min/max fit + transform. */
static ndpar_scale_kind range_kind;
static void ndpar_range(void *vc) {
  ctx_t *c = vc;
  ndpar_scaler_free(c->scaler);
  c->scaler = ndpar_scaler_alloc(range_kind, COLS);
  ndpar_scale(c);
}
static void check_range_kind(ctx_t *c, ndpar_scale_kind kind, const double *mn, const double *mx) {
  range_kind = kind;
  restore(c);
  ndpar_range(c);
  for (size_t i = 0; i < (size_t)ROWS * COLS; i++) {
    size_t j = i % COLS;
    double x = c->orig->data[i], want, m = fmax(fabs(mn[j]), fabs(mx[j]));
    if (kind == NDPAR_SCALE_MINMAX) want = (x - mn[j]) / (mx[j] - mn[j]);
    else if (kind == NDPAR_SCALE_MINMAX1) want = 2 * (x - mn[j]) / (mx[j] - mn[j]) - 1;
    else want = x / m;
    if (!(fabs(c->x->data[i] - want) <= 1e-12)) {
      fprintf(stderr, "bench_preprocess: ndpar scaler kind %d differs from its closed form at row %zu, column %zu: %.17g vs %.17g\n",
              (int)kind, i / COLS, j, c->x->data[i], want);
      exit(1);
    }
  }
}

static void ndpar_minmax(void *vc) { range_kind = NDPAR_SCALE_MINMAX; ndpar_range(vc); }
static void ndpar_minmax1(void *vc) { range_kind = NDPAR_SCALE_MINMAX1; ndpar_range(vc); }
static void ndpar_maxabs(void *vc) { range_kind = NDPAR_SCALE_MAXABS; ndpar_range(vc); }
static void ndpar_robust(void *vc) { range_kind = NDPAR_SCALE_ROBUST; ndpar_range(vc); }

static void range_part(ctx_t *c, int reps) {
  variant v[MAX_VARIANTS];
  size_t n = 0;
  v[n++] = (variant){"sequential min/max (read, transform)", seq_scale, 1};
  v[n++] = (variant){"ndpar MINMAX", ndpar_minmax, 0};
  v[n++] = (variant){"floor: read + read-write (pool)", floor_passes, 0};
  v[n++] = (variant){"floor, prefetching into L2", floor_passes_pf, 0};
  v[n++] = (variant){"ndpar MINMAX1", ndpar_minmax1, 0};
  v[n++] = (variant){"ndpar MAXABS", ndpar_maxabs, 0};
  v[n++] = (variant){"OpenMP blocked two-pass min/max", omp_scale, 1};
  n = add_peers(v, n, 0);
  c->kind = MIN_MAX;
  make_reference(c, seq_scale);
  double mn[COLS], mx[COLS];
  for (size_t j = 0; j < COLS; j++) {
    mn[j] = INFINITY, mx[j] = -INFINITY;
    for (size_t r = 0; r < ROWS; r++) {
      double x = c->orig->data[r * COLS + j];
      mn[j] = fmin(mn[j], x), mx[j] = fmax(mx[j], x);
    }
  }
  for (size_t k = 1; k < n; k++)
    if (v[k].checked) check_variant(c, &v[k], 1e-12);
  check_range_kind(c, NDPAR_SCALE_MINMAX, mn, mx);
  check_range_kind(c, NDPAR_SCALE_MINMAX1, mn, mx);
  check_range_kind(c, NDPAR_SCALE_MAXABS, mn, mx);
  stats s[MAX_VARIANTS];
  time_variants(c, v, n, reps, s);
  print_table("MINMAX, MINMAX1, MAXABS (peers: min/max), fit + transform, 4,000,000 x 8", c->threads,
              v, n, s, 2, 1);
}

static void robust_part(ctx_t *c, int reps) {
  variant v[] = {{"ndpar ROBUST (quartiles by selection)", ndpar_robust, 0},
                 {"floor: read + read-write (pool)", floor_passes, 0}};
  stats s[2];
  time_variants(c, v, 2, reps, s);
  print_table("ROBUST, fit + transform, 4,000,000 x 8 (no peer: a selection, not a two-pass kernel)",
              c->threads, v, 2, s, 1, -1);
}

static void chunks_part(ctx_t *c, int reps) {
  variant v[] = {{"sequential", seq_chunks, 0}, {"ndpar_preprocess", ndpar_chunks, 0},
                 {"OpenMP dynamic,1", omp_chunks, 0}};
  stats s[3];
  time_variants(c, v, 3, reps, s);
  print_table("50 chunks of 80,000 x 8, each z-scored on its own", c->threads, v, 3, s, -1, 1);
}

static void peers_start(size_t threads) {
#ifdef NDPAR_BENCH_HAVE_TBB
  if (tbb_pp_init(threads)) exit(1);
#endif
#ifdef NDPAR_BENCH_HAVE_RAYON
  if (rayon_peer_init(threads)) {
    fprintf(stderr, "bench_preprocess: Rayon's pool of %zu threads did not start\n", threads);
    exit(1);
  }
#endif
  (void)threads;
}

int main(int argc, char **argv) {
  bench_options o;
  bench_parse(argc, argv, "bench_preprocess",
              "The scalers' fit + transform of a 4,000,000 x 8 row-major matrix against the memory\n"
              "floor (read + read-write pass), OpenMP, oneTBB and Rayon; z-score of 50 chunks.",
              &o);
  setvbuf(stdout, NULL, _IOLBF, 0); /* each table as it is done, also into a file */
  int reps = o.reps ? o.reps : (o.quick ? 3 : 11);
  if (reps > MAX_REPS) reps = MAX_REPS;
  ctx_t c = {0};
  c.x = gsl_matrix_alloc(ROWS, COLS);
  c.orig = gsl_matrix_alloc(ROWS, COLS);
  c.ref = gsl_matrix_alloc(ROWS, COLS);
  gsl_rng *r = gsl_rng_alloc(gsl_rng_taus2);
  for (size_t i = 0; i < (size_t)ROWS * COLS; i++)
    c.orig->data[i] = 10.0 * (double)(i % COLS) + gsl_ran_gaussian(r, 1.0);
  gsl_rng_free(r);
  c.pk.x = c.x->data;
  c.pk.rows = ROWS;
  for (size_t i = 0; i < CHUNKS; i++) {
    c.chunk[i] = gsl_matrix_submatrix(c.x, i * (ROWS / CHUNKS), 0, ROWS / CHUNKS, COLS);
    c.chunks[i] = &c.chunk[i].matrix;
  }
  printf("bench_preprocess: %d x %d doubles (%.0f MB); %zu physical cores; min/median/max of %d "
         "interleaved repetitions\n", ROWS, COLS, ROWS * COLS * 8 / 1e6, ndpar_physical_cores(), reps);
#ifndef NDPAR_BENCH_HAVE_TBB
  printf("TBB: not installed (make bench-deps)\n");
#endif
#ifndef NDPAR_BENCH_HAVE_RAYON
  printf("Rayon: not installed (make bench-deps)\n");
#endif
  size_t counts[2] = {1, o.threads};
  for (int k = 0; k < 2; k++) {
    if (k == 1 && counts[1] == 1) break;
    ndpar_pool_config cfg;
    ndpar_pool_config_init(&cfg);
    cfg.threads = counts[k];
    c.pool = ndpar_pool_alloc(&cfg);
    c.threads = counts[k];
    peers_start(counts[k]);
    zscore_part(&c, reps);
    range_part(&c, reps);
    robust_part(&c, o.quick ? 1 : 3);
    chunks_part(&c, reps);
    ndpar_pool_free(c.pool);
  }
#ifdef NDPAR_BENCH_HAVE_TBB
  tbb_pp_free();
#endif
  ndpar_scaler_free(c.scaler);
  gsl_matrix_free(c.x);
  gsl_matrix_free(c.orig);
  gsl_matrix_free(c.ref);
  return 0;
}
