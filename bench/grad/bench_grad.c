/* bench_grad: gradient aggregation of the reference MLP's backward pass, sequential vs ndpar
 * (fast and deterministic) vs OpenMP (per-thread sums merged in a critical section; kernels in
 * ref/kernels.c), a false-sharing demonstration (per-thread accumulators packed into one
 * cache line vs padded), one SGD step with the allocating ndpar_grad_compute vs the
 * workspace form ndpar_grad_compute_ws, and (large_p.c) a linear model's gradient over many
 * small batches at P = 10^5 .. 10^6 against the memory floor, OpenMP's best form, oneTBB and
 * Rayon.
 */
#include <stdlib.h>
#include <string.h>

#include "ref/kernel_bench.h"
#include "ref/timing.h"
#include "ref/wl.h"
#include "bench_grad.h"

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

/* ---- one SGD step: the allocating form vs the workspace ---- */

/* A step of examples/train_sgd (wl_sgd_train): the gradient of one 512-row batch, cut into
 * 8 shard views, then theta -= lr grad. */
typedef struct {
  ndpar_pool *pool;
  ndpar_grad_workspace *ws;
  wl_mlp *m;
  const gsl_matrix *x;
  const gsl_vector *y;
  size_t start, batch_rows, shard_rows, nshards;
  _gsl_matrix_const_view xv[8];
  _gsl_vector_const_view yv[8];
  const gsl_matrix *xs[8];
  const gsl_vector *ys[8];
  gsl_vector *grad;
} sgd_ctx;

static int sgd_step(sgd_ctx *c, int use_ws) {
  if (c->start + c->batch_rows > c->x->size1) c->start = 0;
  gsl_matrix_const_view xb = gsl_matrix_const_submatrix(c->x, c->start, 0, c->batch_rows, c->x->size2);
  gsl_vector_const_view yb = gsl_vector_const_subvector(c->y, c->start, c->batch_rows);
  for (size_t k = 0; k < c->nshards; k++) {
    c->xv[k] = ndpar_rows_batch_const(&xb.matrix, c->shard_rows, k);
    c->yv[k] = ndpar_rows_batch_vector_const(&yb.vector, c->shard_rows, k);
    c->xs[k] = &c->xv[k].matrix;
    c->ys[k] = &c->yv[k].vector;
  }
  double loss;
  int status = use_ws ? ndpar_grad_compute_ws(c->ws, c->xs, c->ys, c->nshards, wl_mlp_grad, c->m,
                                              NDPAR_REDUCE_DETERMINISTIC, c->grad, &loss, NULL)
                      : ndpar_grad_compute(c->pool, c->xs, c->ys, c->nshards, wl_mlp_grad, c->m,
                                           NDPAR_REDUCE_DETERMINISTIC, c->grad, &loss);
  gsl_vector_axpby(-0.01, c->grad, 1.0, c->m->theta);
  c->start += c->batch_rows;
  return status;
}

/* A gradient of P = 2^20 parameters over 16 one-row batches (deterministic: 64 MiB of block
 * sums per call in the allocating form). */
#define WIDE_P ((size_t)1 << 20)
#define WIDE_N 16

static int wide_grad(const gsl_matrix *x, const gsl_vector *y, gsl_vector *grad, double *loss,
                     const ndpar_task *t, void *ctx) {
  (void)x, (void)ctx;
  double v = gsl_vector_get(y, 0) + (double)t->index;
  for (size_t j = 0; j < grad->size; j++) gsl_vector_set(grad, j, v);
  *loss = v;
  return GSL_SUCCESS;
}

typedef struct {
  ndpar_pool *pool;
  ndpar_grad_workspace *ws;
  const gsl_matrix *xs[WIDE_N];
  const gsl_vector *ys[WIDE_N];
  gsl_vector *grad;
} wide_ctx;

static int wide_step(wide_ctx *c, int use_ws) {
  double loss;
  return use_ws ? ndpar_grad_compute_ws(c->ws, c->xs, c->ys, WIDE_N, wide_grad, NULL,
                                        NDPAR_REDUCE_DETERMINISTIC, c->grad, &loss, NULL)
                : ndpar_grad_compute(c->pool, c->xs, c->ys, WIDE_N, wide_grad, NULL,
                                     NDPAR_REDUCE_DETERMINISTIC, c->grad, &loss);
}

/* Times step(ctx, 0) and step(ctx, 1) alternately, reps times each (after `warmup` untimed
 * pairs); row = min, median, max of each (ms), then the median ratio. */
static int time_pair(int (*step)(void *, int), void *ctx, int warmup, int reps, double row[7]) {
  double *t = malloc(2 * (size_t)reps * sizeof *t);
  int status = t ? 0 : 1;
  for (int r = -warmup; r < reps && status == 0; r++)
    for (int v = 0; v < 2 && status == 0; v++) {
      double t0 = ndpar_time_now();
      status = step(ctx, v);
      if (r >= 0) t[v * reps + r] = 1e3 * (ndpar_time_now() - t0);
    }
  for (int v = 0; v < 2 && status == 0; v++) {
    double *tv = t + v * reps;
    row[3 * v + 1] = bench_median(tv, (size_t)reps); /* sorts tv */
    row[3 * v] = tv[0];
    row[3 * v + 2] = tv[reps - 1];
  }
  if (status == 0) row[6] = row[1] / row[4];
  free(t);
  return status;
}

static int sgd_step_any(void *c, int v) { return sgd_step(c, v); }
static int wide_step_any(void *c, int v) { return wide_step(c, v); }

static int bench_workspace(const bench_options *o) {
  gsl_matrix *x, *y;
  char err[512];
  if (wl_default_windows(NULL, 24, 1, &x, &y, err, sizeof err)) {
    fprintf(stderr, "bench_grad: %s\n", err);
    return 1;
  }
  gsl_vector *target = gsl_vector_alloc(y->size1);
  gsl_matrix_get_col(target, y, 0);
  ndpar_pool_config cfg;
  ndpar_pool_config_init(&cfg);
  cfg.threads = o->threads;
  sgd_ctx s = {.pool = ndpar_pool_alloc(&cfg), .m = wl_mlp_alloc(24, 16, 1), .x = x, .y = target,
               .batch_rows = 512, .shard_rows = 64, .nshards = 8};
  wl_mlp_init(s.m, 7);
  s.grad = gsl_vector_alloc(s.m->theta->size);
  s.ws = ndpar_grad_workspace_alloc(s.pool, s.nshards, s.m->theta->size);
  wide_ctx w = {.pool = s.pool, .ws = ndpar_grad_workspace_alloc(s.pool, WIDE_N, WIDE_P),
                .grad = gsl_vector_alloc(WIDE_P)};
  gsl_matrix *wx = gsl_matrix_calloc(WIDE_N, 1);
  gsl_vector *wy = gsl_vector_calloc(WIDE_N);
  _gsl_matrix_const_view wxv[WIDE_N];
  _gsl_vector_const_view wyv[WIDE_N];
  for (size_t i = 0; i < WIDE_N; i++) {
    wxv[i] = gsl_matrix_const_submatrix(wx, i, 0, 1, 1);
    wyv[i] = gsl_vector_const_subvector(wy, i, 1);
    w.xs[i] = &wxv[i].matrix;
    w.ys[i] = &wyv[i].vector;
  }
  double rows[2][7];
  int status = s.pool && s.ws && w.ws ? 0 : 1;
  if (status == 0) status = time_pair(sgd_step_any, &s, 50, o->quick ? 50 : 2001, rows[0]);
  if (status == 0) status = time_pair(wide_step_any, &w, 3, o->quick ? 5 : 41, rows[1]);
  if (status == 0) {
    const char *cols[] = {"alloc min", "alloc med", "alloc max", "ws min", "ws med", "ws max",
                          "alloc/ws"};
    bench_header("one gradient step: ndpar_grad_compute (alloc) vs ndpar_grad_compute_ws (ws), "
                 "deterministic, interleaved (ms)", cols, 7);
    bench_row("train_sgd step (P=417, 8 shards)", o->threads, rows[0], 7, "ms, x");
    bench_row("wide gradient (P=2^20, 16 batches)", o->threads, rows[1], 7, "ms, x");
  }
  gsl_matrix_free(wx);
  gsl_vector_free(wy);
  gsl_vector_free(w.grad);
  ndpar_grad_workspace_free(w.ws);
  ndpar_grad_workspace_free(s.ws);
  gsl_vector_free(s.grad);
  wl_mlp_free(s.m);
  ndpar_pool_free(s.pool);
  gsl_vector_free(target);
  gsl_matrix_free(x);
  gsl_matrix_free(y);
  return status;
}

int main(int argc, char **argv) {
  /* --part large: the large-P tables alone (taken out before the common options). */
  int large_only = 0;
  for (int i = 1; i + 1 < argc; i++)
    if (strcmp(argv[i], "--part") == 0 && strcmp(argv[i + 1], "large") == 0) {
      large_only = 1;
      for (int k = i; k + 2 <= argc; k++) argv[k] = argv[k + 2];
      argc -= 2;
      break;
    }
  if (large_only) {
    bench_options o;
    bench_parse(argc, argv, "bench_grad", "", &o);
    return bench_large_p(&o);
  }
  const bench_case cases[] = {
      {"grad", {.batches = 50, .rows = 128}},
      {"grad", {.batches = 50, .rows = 128, .deterministic = 1}},
  };
  int status = bench_kernel_main(argc, argv, "bench_grad",
                                 "Gradient of the reference MLP (24 lags, 64 units, horizon 1) over 50 batches\n"
                                 "of 128 rows of the bundled series: sequential vs ndpar (fast, deterministic)\n"
                                 "vs OpenMP (critical-section merge); then packed vs cache-line padded\n"
                                 "per-thread accumulators; then a linear model's gradient at P = 10^5 and\n"
                                 "10^6 over many small batches against OpenMP, oneTBB and Rayon\n"
                                 "(--part large: those tables alone).",
                                 "gradient over 50 batches (ms; speedup over sequential)", cases, 2, 21);
  if (status) return status;
  bench_options o;
  bench_parse(argc, argv, "bench_grad", "", &o);
  const char *fs_cols[] = {"packed", "padded", "packed/padded"};
  double fs_rows[2][3];
  size_t counts[2] = {1, o.threads};
  for (int k = 0; k < 2; k++) {
    ndpar_pool_config cfg;
    ndpar_pool_config_init(&cfg);
    cfg.threads = counts[k];
    fs_ctx f = {ndpar_pool_alloc(&cfg), counts[k], calloc(counts[k], sizeof(double)), {0}};
    ndpar_slots_alloc(&f.padded, counts[k], sizeof(double));
    void (*const fs[2])(void *) = {fs_packed, fs_padded};
    bench_compare(fs, 2, &f, 1, o.quick ? 3 : 7, fs_rows[k]);
    fs_rows[k][0] *= 1e3;
    fs_rows[k][1] *= 1e3;
    fs_rows[k][2] = fs_rows[k][0] / fs_rows[k][1];
    free(f.packed);
    ndpar_slots_free(&f.padded);
    ndpar_pool_free(f.pool);
  }
  bench_header("false sharing: 2*10^7 adds per thread into its own accumulator (ms)", fs_cols, 3);
  for (int k = 0; k < 2; k++) bench_row("acc[t] += 1", counts[k], fs_rows[k], 3, "ms, x");
  status = bench_workspace(&o);
  if (status == 0) status = bench_large_p(&o);
  return status;
}
