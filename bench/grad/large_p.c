/* large_p.c: the gradient of a linear model (loss = mean (x w - y)^2) over many small
 * batches at P = 10^5 .. 10^6 parameters: sequential, ndpar fast and deterministic, the
 * memory-bandwidth floor of the same bytes on the same pool, OpenMP (per-thread partial
 * vectors, then a blocked combine), oneTBB parallel_reduce and parallel_deterministic_reduce,
 * Rayon fold/reduce. Every variant's result is checked against the sequential one before
 * anything is timed; the variants are interleaved in every repeat, each after a pause and an
 * untimed call of its own. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_grad.h"
#include "ref/timing.h"
#ifdef NDPAR_BENCH_HAVE_TBB
#include "tbb_grad.h"
#endif
#ifdef NDPAR_BENCH_HAVE_RAYON
#include "rayon_peer.h"
#endif

/* The callback every variant runs: grad = 2/rows x^T (x w - y), loss = mean (x w - y)^2.
 * Two passes over x (x is rows x P, row-major) as BLAS's dgemv pair would make them: the
 * residuals (vectorised dot products), then the gradient. */
int lin_grad(const gsl_matrix *x, const gsl_vector *y, gsl_vector *grad, double *loss,
             const ndpar_task *t, void *ctx) {
  (void)t;
  const double *w = ctx;
  size_t rows = x->size1, P = x->size2;
  double r[LIN_MAX_ROWS], l = 0;
  for (size_t i = 0; i < rows; i++) {
    const double *xi = x->data + i * x->tda;
    double d = 0;
#pragma omp simd reduction(+ : d)
    for (size_t j = 0; j < P; j++) d += xi[j] * w[j];
    r[i] = d - y->data[i * y->stride];
    l += r[i] * r[i];
    r[i] *= 2.0 / (double)rows;
  }
  double *g = grad->data;
  const double *x0 = x->data;
  for (size_t j = 0; j < P; j++) g[j] = r[0] * x0[j];
  for (size_t i = 1; i < rows; i++) {
    const double *xi = x->data + i * x->tda;
    for (size_t j = 0; j < P; j++) g[j] += r[i] * xi[j];
  }
  *loss = l / (double)rows;
  return 0;
}

/* ---- the problem: n batches of `rows` rows, each its own data ----
 * As in an epoch, no two batches share data. (Batches cycling over fewer blocks of data
 * flattered static schedules: with a cycle that divides n / threads, OpenMP's static split
 * had both threads read the same block at the same moment, one fetch serving two; on this
 * VM, at P = 10^6 with one-row batches over 16 blocks, OpenMP took 70 ms and ndpar's dynamic
 * schedule 85, ndpar with two contiguous chunks per thread 68, while over 64 distinct
 * batches the three took the same time.) */

void lin_problem_free(lin_problem *b) {
  free(b->data);
  free(b->y);
  free(b->w);
  free(b->xv);
  free(b->yv);
  free(b->xs);
  free(b->ys);
  free(b->scratch);
  free(b->sum);
  memset(b, 0, sizeof *b);
}

int lin_problem_alloc(lin_problem *b, size_t P, size_t rows, size_t n, size_t threads) {
  memset(b, 0, sizeof *b);
  b->P = P, b->rows = rows, b->n = n, b->threads = threads;
  b->data = malloc(n * rows * P * sizeof *b->data);
  b->y = malloc(n * rows * sizeof *b->y);
  b->w = malloc(P * sizeof *b->w);
  b->xv = malloc(n * sizeof *b->xv);
  b->yv = malloc(n * sizeof *b->yv);
  b->xs = malloc(n * sizeof *b->xs);
  b->ys = malloc(n * sizeof *b->ys);
  b->scratch = malloc(P * sizeof *b->scratch);
  b->sum = malloc(P * sizeof *b->sum);
  if (!b->data || !b->y || !b->w || !b->xv || !b->yv || !b->xs || !b->ys || !b->scratch || !b->sum) {
    lin_problem_free(b);
    return 1;
  }
  unsigned long long s = 0x9e3779b97f4a7c15ULL; /* a fixed xorshift stream */
  for (size_t k = 0; k < n * rows * P; k++) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    b->data[k] = (double)(s >> 11) * 0x1p-53 - 0.5;
  }
  for (size_t k = 0; k < n * rows; k++) b->y[k] = (double)(k % 7) - 3.0;
  for (size_t j = 0; j < P; j++) b->w[j] = 1.0 / (double)(1 + j % 13);
  for (size_t i = 0; i < n; i++) {
    size_t d = i;
    b->xv[i] = gsl_matrix_const_view_array(b->data + d * rows * P, rows, P);
    b->yv[i] = gsl_vector_const_view_array(b->y + d * rows, rows);
    b->xs[i] = &b->xv[i].matrix;
    b->ys[i] = &b->yv[i].vector;
  }
  return 0;
}

/* ---- the variants: each writes the mean gradient into out ---- */

/* What a user writes without a library: one scratch vector, one running sum. */
void lin_sequential(lin_problem *b, double *out) {
  double rows = 0, loss;
  memset(b->sum, 0, b->P * sizeof *b->sum);
  for (size_t i = 0; i < b->n; i++) {
    gsl_vector_view g = gsl_vector_view_array(b->scratch, b->P);
    lin_grad(b->xs[i], b->ys[i], &g.vector, &loss, NULL, b->w);
    double r = (double)b->xs[i]->size1;
    for (size_t j = 0; j < b->P; j++) b->sum[j] += r * b->scratch[j];
    rows += r;
  }
  for (size_t j = 0; j < b->P; j++) out[j] = b->sum[j] / rows;
}

/* OpenMP's best form: per-thread scratch and partial vectors (allocated once, outside the
 * timing), batches statically split, then a blocked combine in parallel over parameters. */
typedef struct {
  double *part; /* threads x P, each row 64-byte aligned by P rounding */
  double *scratch;
  size_t stride;
} omp_mem;

static omp_mem omp_m;

int lin_omp_alloc(lin_problem *b) {
  omp_m.stride = (b->P + 7) & ~(size_t)7;
  omp_m.part = aligned_alloc(64, b->threads * omp_m.stride * sizeof(double));
  omp_m.scratch = aligned_alloc(64, b->threads * omp_m.stride * sizeof(double));
  return omp_m.part && omp_m.scratch ? 0 : 1;
}

void lin_omp_free(void) {
  free(omp_m.part);
  free(omp_m.scratch);
}

void lin_omp(lin_problem *b, double *out) {
  size_t P = b->P, n = b->n, st = omp_m.stride;
  int T = (int)b->threads;
  double rows = 0;
  for (size_t i = 0; i < n; i++) rows += (double)b->xs[i]->size1;
#pragma omp parallel num_threads(T)
  {
    int t = omp_get_thread_num();
    double *part = omp_m.part + (size_t)t * st, *g = omp_m.scratch + (size_t)t * st, loss;
    memset(part, 0, P * sizeof *part);
    gsl_vector_view gv = gsl_vector_view_array(g, P);
#pragma omp for schedule(static)
    for (size_t i = 0; i < n; i++) {
      lin_grad(b->xs[i], b->ys[i], &gv.vector, &loss, NULL, b->w);
      double r = (double)b->xs[i]->size1;
      for (size_t j = 0; j < P; j++) part[j] += r * g[j];
    }
#pragma omp for schedule(static)
    for (size_t j0 = 0; j0 < P; j0 += 4096) {
      size_t j1 = j0 + 4096 < P ? j0 + 4096 : P;
      for (size_t j = j0; j < j1; j++) {
        double s = 0;
        for (int k = 0; k < T; k++) s += omp_m.part[(size_t)k * st + j];
        out[j] = s / rows;
      }
    }
  }
}

/* The memory floor: the bytes the fast mode's kernel touches, streamed with no arithmetic
 * to wait on, on the same pool and the same split (one batch per task): its x read twice
 * (the callback's two passes) and w once per row, a P-vector written, then read with the
 * worker's sum read and written once. */
#define FLOOR_CHUNK 1

typedef struct {
  lin_problem *b;
  ndpar_slots acc, out; /* per worker: the sum; FLOOR_CHUNK output vectors */
  double sink[NDPAR_MAX_THREADS];
} floor_ctx;

static floor_ctx floor_c;

static void floor_batch(floor_ctx *c, size_t i, double *g, unsigned worker) {
  const lin_problem *b = c->b;
  const gsl_matrix *x = b->xs[i];
  size_t P = b->P;
  double d = 0;
  for (size_t r = 0; r < x->size1; r++) {
    const double *xr = x->data + r * x->tda;
#pragma omp simd reduction(+ : d)
    for (size_t j = 0; j < P; j++) d += xr[j] + b->w[j];
  }
  memcpy(g, x->data, P * sizeof *g);
  for (size_t r = 1; r < x->size1; r++) {
    const double *xr = x->data + r * x->tda;
    for (size_t j = 0; j < P; j++) g[j] += xr[j];
  }
  c->sink[worker] += d;
}

static int floor_task(const ndpar_task *t, void *vc) {
  floor_ctx *c = vc;
  const lin_problem *b = c->b;
  size_t P = b->P, stride = (P + 7) & ~(size_t)7, lo = t->index * FLOOR_CHUNK;
  size_t k = b->n - lo < FLOOR_CHUNK ? b->n - lo : FLOOR_CHUNK;
  double *acc = ndpar_slots_at(&c->acc, t->worker), *g = ndpar_slots_at(&c->out, t->worker);
  for (size_t q = 0; q < k; q++) floor_batch(c, lo + q, g + q * stride, t->worker);
  for (size_t q = 0; q < k; q++)
    for (size_t j = 0; j < P; j++) acc[j] += g[q * stride + j];
  return 0;
}

int lin_floor_alloc(lin_problem *b) {
  floor_c.b = b;
  size_t stride = (b->P + 7) & ~(size_t)7;
  if (ndpar_slots_alloc(&floor_c.acc, b->threads, b->P * sizeof(double))) return 1;
  return ndpar_slots_alloc(&floor_c.out, b->threads, FLOOR_CHUNK * stride * sizeof(double));
}

void lin_floor_free(void) {
  ndpar_slots_free(&floor_c.acc);
  ndpar_slots_free(&floor_c.out);
}

void lin_floor(ndpar_pool *pool) {
  ndpar_pool_run(pool, (floor_c.b->n + FLOOR_CHUNK - 1) / FLOOR_CHUNK, floor_task, &floor_c);
}

/* The fold the TBB and Rayon variants run over a range of batches: acc[0..P) += rows *
 * gradient, acc[P] += rows. The callback's output goes into a per-thread scratch vector
 * (grown once per thread), as the other variants' per-worker scratch. */
static __thread double *fold_scratch;
static __thread size_t fold_scratch_len;

void lin_fold(void *vc, size_t lo, size_t hi, double *acc) {
  lin_problem *b = vc;
  if (fold_scratch_len < b->P) {
    free(fold_scratch);
    fold_scratch = malloc(b->P * sizeof *fold_scratch);
    fold_scratch_len = fold_scratch ? b->P : 0;
    if (!fold_scratch) abort();
  }
  double *g = fold_scratch, loss;
  gsl_vector_view gv = gsl_vector_view_array(g, b->P);
  for (size_t i = lo; i < hi; i++) {
    lin_grad(b->xs[i], b->ys[i], &gv.vector, &loss, NULL, b->w);
    double r = (double)b->xs[i]->size1;
    for (size_t j = 0; j < b->P; j++) acc[j] += r * g[j];
    acc[b->P] += r;
  }
}

/* ---- the driver ---- */

enum { V_SEQ, V_FAST, V_DET, V_FLOOR, V_FLOOR1, V_OMP, V_TBB, V_TBB_DET, V_RAYON, NV };
static const char *const v_names[NV] = {"sequential", "ndpar fast", "ndpar deterministic",
                                        "floor (stream)", "floor, 1 thread", "OpenMP", "TBB reduce",
                                        "TBB det_reduce", "Rayon fold"};

typedef struct {
  lin_problem b;
  ndpar_pool *pool, *pool1; /* the threads asked for; one thread */
  ndpar_grad_workspace *ws;
  gsl_vector *out;
  int have[NV];
} large_ctx;

/* Runs variant v into c->out (the floor writes nothing). Non-zero on failure. */
static int run_variant(large_ctx *c, int v) {
  double loss;
  switch (v) {
  case V_SEQ: lin_sequential(&c->b, c->out->data); return 0;
  case V_FAST:
  case V_DET:
    return ndpar_grad_compute_ws(c->ws, c->b.xs, c->b.ys, c->b.n, lin_grad, c->b.w,
                                 v == V_FAST ? NDPAR_REDUCE_FAST : NDPAR_REDUCE_DETERMINISTIC,
                                 c->out, &loss, NULL);
  case V_FLOOR: lin_floor(c->pool); return 0;
  case V_FLOOR1: lin_floor(c->pool1); return 0;
  case V_OMP: lin_omp(&c->b, c->out->data); return 0;
#ifdef NDPAR_BENCH_HAVE_TBB
  case V_TBB:
  case V_TBB_DET:
    tbb_grad_reduce(c->b.n, c->b.P, lin_fold, &c->b, c->out->data, (int)c->b.threads, v == V_TBB_DET);
    return 0;
#endif
#ifdef NDPAR_BENCH_HAVE_RAYON
  case V_RAYON: {
    double *tot = malloc((c->b.P + 1) * sizeof *tot);
    if (tot == NULL) return 1;
    size_t leaf = c->b.n / (4 * c->b.threads) ? c->b.n / (4 * c->b.threads) : 1;
    rayon_peer_reduce(c->b.n, leaf, c->b.P + 1, lin_fold, &c->b, tot);
    for (size_t j = 0; j < c->b.P; j++) c->out->data[j] = tot[j] / tot[c->b.P];
    free(tot);
    return 0;
  }
#endif
  default: return 1;
  }
}

/* Every variant against the sequential result: |v - s| <= 1e-9 max |s|, entry by entry. */
static int check_variants(large_ctx *c, const char *label) {
  size_t P = c->b.P;
  double *ref = malloc(P * sizeof *ref), scale = 0;
  if (ref == NULL || run_variant(c, V_SEQ)) return free(ref), 1;
  memcpy(ref, c->out->data, P * sizeof *ref);
  for (size_t j = 0; j < P; j++) scale = fmax(scale, fabs(ref[j]));
  int bad = 0;
  for (int v = V_FAST; v < NV && !bad; v++) {
    if (!c->have[v] || v == V_FLOOR || v == V_FLOOR1) continue;
    gsl_vector_set_all(c->out, NAN);
    if (run_variant(c, v)) bad = 1;
    for (size_t j = 0; j < P && !bad; j++)
      if (!(fabs(c->out->data[j] - ref[j]) <= 1e-9 * scale)) {
        fprintf(stderr, "bench_grad: %s: %s differs from sequential at %zu: %.17g vs %.17g\n",
                label, v_names[v], j, c->out->data[j], ref[j]);
        bad = 1;
      }
  }
  free(ref);
  return bad;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static int large_case(const bench_options *o, size_t P, size_t rows, size_t n, int reps) {
  large_ctx c = {0};
  ndpar_pool_config cfg;
  ndpar_pool_config_init(&cfg);
  cfg.threads = o->threads;
  c.pool = ndpar_pool_alloc(&cfg);
  cfg.threads = 1;
  c.pool1 = ndpar_pool_alloc(&cfg);
  int status = c.pool == NULL || c.pool1 == NULL || lin_problem_alloc(&c.b, P, rows, n, o->threads);
  if (!status) {
    c.ws = ndpar_grad_workspace_alloc(c.pool, n, P);
    c.out = gsl_vector_alloc(P);
    status = c.ws == NULL || lin_omp_alloc(&c.b) || lin_floor_alloc(&c.b);
  }
  for (int v = 0; v < NV; v++) c.have[v] = v <= V_OMP;
#ifdef NDPAR_BENCH_HAVE_TBB
  c.have[V_TBB] = c.have[V_TBB_DET] = 1;
#endif
#ifdef NDPAR_BENCH_HAVE_RAYON
  c.have[V_RAYON] = 1;
#endif
  char label[96];
  snprintf(label, sizeof label, "P=%zu, %zu batches x %zu rows", P, n, rows);
  if (!status) status = check_variants(&c, label);
  double *t = status ? NULL : malloc((size_t)NV * (size_t)reps * sizeof *t);
  status = status || t == NULL;
  /* the project's timing method (ref/timing.h): before each timed call a pause, so that
   * the previous variant's spinning threads (libgomp's, TBB's, Rayon's, ndpar's) have gone
   * to sleep, and one untimed call of its own */
  for (int r = 0; r < reps && !status; r++)
    for (int v = 0; v < NV && !status; v++) {
      if (!c.have[v]) continue;
      bench_settle();
      status = run_variant(&c, v);
      double t0 = ndpar_time_now();
      if (!status) status = run_variant(&c, v);
      t[v * reps + r] = 1e3 * (ndpar_time_now() - t0);
    }
  if (!status) {
    printf("\n%s, %zu threads (ms over %d interleaved repeats; ratios of medians)\n", label,
           o->threads, reps);
    printf("  %-22s %9s %9s %9s %10s %11s\n", "variant", "min", "median", "max", "seq/this",
           "this/floor");
    double med[NV];
    for (int v = 0; v < NV; v++) {
      if (!c.have[v]) continue;
      qsort(t + v * reps, (size_t)reps, sizeof *t, cmp_double);
      med[v] = t[v * reps + reps / 2];
    }
    for (int v = 0; v < NV; v++) {
      if (!c.have[v]) continue;
      const double *tv = t + v * reps;
      printf("  %-22s %9.3f %9.3f %9.3f %9.2fx %10.2fx\n", v_names[v], tv[0], med[v],
             tv[reps - 1], med[V_SEQ] / med[v], med[v] / med[V_FLOOR]);
    }
  }
  free(t);
  lin_floor_free();
  lin_omp_free();
  gsl_vector_free(c.out);
  ndpar_grad_workspace_free(c.ws);
  lin_problem_free(&c.b);
  ndpar_pool_free(c.pool);
  ndpar_pool_free(c.pool1);
  return status;
}

int bench_large_p(const bench_options *o) {
#ifndef NDPAR_BENCH_HAVE_TBB
  printf("TBB: not installed (make bench-deps)\n");
#endif
#ifndef NDPAR_BENCH_HAVE_RAYON
  printf("Rayon: not installed (make bench-deps)\n");
#else
  if (rayon_peer_init(o->threads) != 0) {
    fprintf(stderr, "bench_grad: Rayon's pool of %zu threads could not be built\n", o->threads);
    return 1;
  }
#endif
  int reps = o->reps ? o->reps : (o->quick ? 3 : 11);
  /* 0.5-1 GB of batch data per shape: beyond the caches (the VM reports a 480 MiB L3) */
  int status = large_case(o, 100000, 4, 256, reps);
  if (!status) status = large_case(o, 1000000, 4, 32, reps);
  if (!status) status = large_case(o, 1000000, 1, 64, reps);
  return status;
}
