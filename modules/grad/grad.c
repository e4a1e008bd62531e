/* grad.c: parallel gradients with padded per-worker or reproducible (binned) aggregation. */
#include "ndpar/ndpar_grad.h"
#include "ndpar_internal.h"
#include "grad/grad_internal.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Folds and aggregates over fewer parameters than this run on the calling thread. */
#define PARALLEL_PARAMS 8192

/* Deterministic mode: batches per group from GROUP_MIN_PARAMS parameters on; below, where
 * a batch's binned additions cost little next to its gradient, every batch is a group of
 * its own, so that few batches still spread over the workers. */
#define GROUP_BATCHES 16
#define GROUP_MIN_PARAMS 4096

/* Deterministic mode: group sums a worker keeps in plain double before it adds them into
 * its binned accumulators, all at once (one pass over their 40 bytes per parameter for
 * PENDING_GROUPS groups); those still kept at the end are added in the final merge. */
#define PENDING_GROUPS 2

/* A running sum: P gradient entries, then sum of rows * loss, then sum of rows. */
#define SUM_LOSS(P) (P)
#define SUM_ROWS(P) ((P) + 1)
#define SUM_LEN(P) ((P) + 2)

typedef struct {
  const gsl_matrix *const *x;
  const gsl_vector *const *y;
  size_t n, P;
  ndpar_grad_fn f;
  void *ctx;
  ndpar_slots scratch; /* per worker: the callback's output, P doubles */
  ndpar_slots sums;    /* fast: per worker */
  double *out;         /* fast: where the combine writes entry out_from, every ostride doubles */
  size_t ostride, out_from;
  double divisor;      /* fast: the combine's divisor (1: the plain sums) */
  ndpar_slots acc;     /* deterministic: per worker, SUM_LEN(P) accumulators; worker 0's
                          become the sums */
  ndpar_slots part;    /* deterministic: per worker, PENDING_GROUPS group sums, SUM_LEN(P) each */
  ndpar_slots fail;    /* per worker, the batch whose callback failed */
  size_t index0, threads; /* deterministic: batch i is index0 + i; the pool's threads */
  size_t lo, hi, group;   /* deterministic: the groups' batches [lo, hi), G; fast: a chunk */
  double row_scale;       /* the rows' weight: 2^-e with every batch's rows in all times it
                             at most 1 (grad_row_scale) */
  size_t ngroups;
  double *open_tail;      /* deterministic: if not NULL, the last group's sum goes here */
} grad_ctx;

/* ---- folding the callbacks' outputs ----
 * A worker runs a batch's callback into its own buffer, then adds the batch's terms t_i =
 * rows_i * (gradient_i, loss_i, 1) into its target, in index order: target = (((target +
 * t_0) + t_1) + ...). (Folding four buffers per pass over the target saves target traffic
 * but lets the buffers fall out of cache: on the 2-core VM, bench_grad's large-P tables in
 * quiet runs, alternately, one buffer took 82 vs 101 ms at P = 10^6 with one-row batches,
 * 82 vs 86 ms at P = 10^5, 150 vs 144 ms at P = 10^6 with 4 rows.) */

/* Batch i (local) into target (fresh: target = t_i); on failure *fail_at = i. */
static int fold_batch(grad_ctx *c, size_t i, unsigned worker, double *target, int fresh,
                      size_t *fail_at) {
  size_t P = c->P;
  double *g = ndpar_slots_at(&c->scratch, worker), loss = 0;
  gsl_vector_view gv = gsl_vector_view_array(g, P);
  ndpar_task bt = {c->index0 + i, worker, NULL};
  int status = c->f(c->x[i], c->y[i], &gv.vector, &loss, &bt, c->ctx);
  if (status) {
    *fail_at = i;
    return status;
  }
  double r = (double)c->x[i]->size1 * c->row_scale; /* exact: a power of two */
  if (fresh) {
    for (size_t j = 0; j < P; j++) target[j] = r * g[j];
    target[SUM_LOSS(P)] = r * loss;
    target[SUM_ROWS(P)] = r;
  } else {
    for (size_t j = 0; j < P; j++) target[j] += r * g[j];
    target[SUM_LOSS(P)] += r * loss;
    target[SUM_ROWS(P)] += r;
  }
  return GSL_SUCCESS;
}

/* Batches [lo, hi) folded in order into target; on failure *fail_at = the failing batch. */
static int fold_run(grad_ctx *c, size_t lo, size_t hi, unsigned worker, double *target, int fresh,
                    size_t *fail_at) {
  for (size_t i = lo; i < hi; i++) {
    int status = fold_batch(c, i, worker, target, fresh && i == lo, fail_at);
    if (status) return status;
  }
  return GSL_SUCCESS;
}

/* The batch that failed in chunk k of `size` from lo: the worker that ran it recorded it. */
static size_t failed_batch(const grad_ctx *c, size_t lo, size_t k, size_t size) {
  size_t first = lo + k * size;
  for (size_t w = 0; w < c->threads; w++) {
    size_t at = *(size_t *)ndpar_slots_at(&c->fail, w);
    if (at >= first && at - first < size) return at;
  }
  return first;
}

/* ---- fast: per-worker padded sums ----
 * A worker's first chunk writes its sums (no zeroing pass); the combine adds the sums of
 * the workers that ran, in worker order, and writes the result once. */

/* [0] failed batch; [1] started (fast: has sums; deterministic: its accumulators hold
 * sums); [2] deterministic: group sums pending */
static size_t *worker_state(const grad_ctx *c, size_t worker) {
  return ndpar_slots_at(&c->fail, worker);
}

static int fast_task(const ndpar_task *t, void *vc) {
  grad_ctx *c = vc;
  size_t lo = t->index * c->group, hi = lo + c->group < c->n ? lo + c->group : c->n;
  size_t *state = worker_state(c, t->worker);
  int fresh = !state[1];
  state[1] = 1;
  return fold_run(c, lo, hi, t->worker, ndpar_slots_at(&c->sums, t->worker), fresh, &state[0]);
}

/* out[(j - out_from) * ostride] = (sums[w0][j] + sums[w1][j] + ...) / divisor over the
 * workers that ran, for j in [begin, end). */
static int combine_range(size_t begin, size_t end, const ndpar_task *t, void *vc) {
  (void)t;
  grad_ctx *c = vc;
  const double *s[NDPAR_MAX_THREADS];
  size_t m = 0;
  for (size_t w = 0; w < c->threads; w++)
    if (worker_state(c, w)[1]) s[m++] = ndpar_slots_at(&c->sums, w);
  double *out = c->out, d = c->divisor;
  size_t os = c->ostride, from = c->out_from;
  for (size_t j = begin; j < end; j++) {
    double v = s[0][j];
    for (size_t k = 1; k < m; k++) v += s[k][j];
    out[(j - from) * os] = v / d;
  }
  return GSL_SUCCESS;
}

static int combine_shifted(size_t begin, size_t end, const ndpar_task *t, void *vc) {
  grad_ctx *c = vc;
  return combine_range(begin + c->out_from, end + c->out_from, t, c);
}

/* Entries [from, from + len) combined into c->out; in parallel over them when many. */
static void combine(ndpar_pool *p, grad_ctx *c, size_t from, size_t len) {
  c->out_from = from;
  if (len < PARALLEL_PARAMS) {
    ndpar_task t = {0, 0, NULL};
    combine_range(from, from + len, &t, c);
  } else {
    ndpar_pool_run_range(p, len, combine_shifted, c, NULL);
  }
}

/* The workers' sums of rows * (gradient, loss, 1) over the chunks of the n batches. */
static int run_fast(ndpar_pool *p, grad_ctx *c, size_t *failed) {
  c->group = 1; /* a task per batch */
  for (size_t w = 0; w < c->threads; w++) worker_state(c, w)[0] = SIZE_MAX, worker_state(c, w)[1] = 0;
  size_t chunks = (c->n + c->group - 1) / c->group, k = chunks;
  int status = ndpar_pool_run_ex(p, chunks, fast_task, c, &k);
  if (status && failed) *failed = failed_batch(c, 0, k, c->group);
  return status;
}

/* ---- deterministic: groups in order, reproducible sums of the groups ----
 * The batches are cut into groups of G = grad_group_size(P) consecutive global indices
 * (G depends on P alone: the same for every thread and rank count). One worker folds a
 * group in plain double in index order, part = (((t_0 + t_1) + t_2) + ...) with t_i =
 * rows_i * (gradient_i, loss_i, 1), and the group's sum goes into binned accumulators
 * (lib/reprosum.c), which add and merge exactly: the sums depend neither on which worker
 * did which group, nor on when a group's sum was added, nor on how the groups are split
 * between calls or processes. So a worker keeps up to PENDING_GROUPS group sums and adds
 * them into its own accumulators together when it needs the room; the final merge takes
 * the workers' accumulators and the sums still pending. The binned cost is paid once per
 * group, the accumulators' memory traffic once per PENDING_GROUPS groups (or never, for
 * a worker with at most PENDING_GROUPS groups). A group cut by a process boundary is
 * continued in order by the next process (grad_det_chain). */

size_t grad_group_size(size_t P) { return P < GROUP_MIN_PARAMS ? 1 : GROUP_BATCHES; }

static double *pending_sum(const grad_ctx *c, size_t worker, size_t k) {
  return (double *)ndpar_slots_at(&c->part, worker) + k * SUM_LEN(c->P);
}

/* The worker's m group sums into its accumulators: its first deposit sets them (no
 * separate emptying pass), later ones add. */
static void deposit_sums(const grad_ctx *c, size_t worker, const double *const *sums, size_t m) {
  size_t *state = worker_state(c, worker);
  ndpar_rsum_block *acc = ndpar_slots_at(&c->acc, worker);
  if (state[1]) {
    ndpar_rsumv_add_arrays(acc, sums, m, SUM_LEN(c->P));
  } else {
    ndpar_rsumv_set_arrays(acc, sums, m, SUM_LEN(c->P));
    state[1] = 1;
  }
}

/* The worker's pending group sums into its accumulators. */
static void flush_pending(const grad_ctx *c, size_t worker) {
  size_t *state = worker_state(c, worker);
  const double *sums[PENDING_GROUPS];
  for (size_t k = 0; k < state[2]; k++) sums[k] = pending_sum(c, worker, k);
  deposit_sums(c, worker, sums, state[2]);
  state[2] = 0;
}

/* Group k of [c->lo, c->hi), folded on this worker into a free pending sum. */
static int group_task(const ndpar_task *t, void *vc) {
  grad_ctx *c = vc;
  size_t lo = c->lo + t->index * c->group, hi = lo + c->group < c->hi ? lo + c->group : c->hi;
  size_t *state = worker_state(c, t->worker);
  int open = c->open_tail && t->index == c->ngroups - 1; /* continued by the next process */
  if (!open && state[2] == PENDING_GROUPS) flush_pending(c, t->worker);
  double *part = open ? c->open_tail : pending_sum(c, t->worker, state[2]);
  int status = fold_run(c, lo, hi, t->worker, part, 1, &state[0]);
  if (status == GSL_SUCCESS && !open) state[2]++;
  return status;
}

/* Runs the groups of [lo, hi) on the pool (lo a group's first batch). On failure *failed
 * is the failing batch of the lowest failing group. */
static int run_groups(ndpar_pool *p, grad_ctx *c, size_t lo, size_t hi, size_t *failed) {
  c->lo = lo, c->hi = hi, c->group = grad_group_size(c->P);
  size_t ngroups = (hi - lo + c->group - 1) / c->group, k = ngroups;
  c->ngroups = ngroups;
  int status = ndpar_pool_run_ex(p, ngroups, group_task, c, &k);
  if (status && failed) *failed = failed_batch(c, lo, k, c->group);
  return status;
}

/* Pending sums added into blocks per pass: the four of two workers in one pass, and a
 * bound on the pointers kept on the stack. */
#define MERGE_ARRAYS 4

/* m's n elements += the np sums (m emptied first unless *any; then *any = 1). */
static void add_pending(ndpar_rsum_block *m, const double *const *sums, size_t np, size_t n, int *any) {
  if (*any) ndpar_rsumv_add_arrays(m, sums, np, n);
  else ndpar_rsumv_set_arrays(m, sums, np, n);
  *any = 1;
}

/* Blocks [k0, k0 + nb) of the sums: the started workers' accumulators merged into m (or m
 * emptied, none started) and every worker's pending group sums added. m may be worker 0's
 * own blocks (merged in place: its sums are already there). */
static void merged_blocks(const grad_ctx *c, size_t k0, size_t nb, ndpar_rsum_block *m) {
  size_t len = SUM_LEN(c->P) - k0 * NDPAR_RSUM_LANES;
  int any = 0;
  if (len > nb * NDPAR_RSUM_LANES) len = nb * NDPAR_RSUM_LANES;
  for (size_t w = 0; w < c->threads; w++) {
    if (!worker_state(c, w)[1]) continue;
    const ndpar_rsum_block *e = (const ndpar_rsum_block *)ndpar_slots_at(&c->acc, w) + k0;
    if (e == m) any = 1; /* worker 0's, first in the loop */
    else if (any) ndpar_rsumv_merge(m, e, nb);
    else memcpy(m, e, nb * sizeof *m), any = 1;
  }
  const double *pending[MERGE_ARRAYS];
  size_t np = 0;
  for (size_t w = 0; w < c->threads; w++)
    for (size_t k = 0; k < worker_state(c, w)[2]; k++) {
      pending[np++] = pending_sum(c, w, k) + k0 * NDPAR_RSUM_LANES;
      if (np == MERGE_ARRAYS) add_pending(m, pending, np, len, &any), np = 0;
    }
  if (np > 0 || !any) add_pending(m, pending, np, len, &any);
}

/* Worker 0's accumulators take the others' and the pending sums, in place. */
static int repro_merge_range(size_t begin, size_t end, const ndpar_task *t, void *vc) {
  (void)t;
  grad_ctx *c = vc; /* begin, end: blocks of accumulators */
  merged_blocks(c, begin, end - begin, (ndpar_rsum_block *)ndpar_slots_at(&c->acc, 0) + begin);
  return GSL_SUCCESS;
}

static void merge_workers(ndpar_pool *p, grad_ctx *c) {
  size_t blocks = ndpar_rsumv_blocks(SUM_LEN(c->P));
  if (SUM_LEN(c->P) < PARALLEL_PARAMS) {
    ndpar_task t = {0, 0, NULL};
    repro_merge_range(0, blocks, &t, c);
  } else {
    ndpar_pool_run_range(p, blocks, repro_merge_range, c, NULL);
  }
  worker_state(c, 0)[1] = 1;
  for (size_t w = 0; w < c->threads; w++) worker_state(c, w)[2] = 0;
}

/* The single-process finish in one pass: the workers' sums merged a few blocks at a time
 * into a buffer that stays in cache, divided by the rows and written to grad (no merged
 * array is written). */
#define FINISH_BLOCKS 64

typedef struct {
  grad_ctx *c;
  gsl_vector *grad;
  double rows;
} finish_ctx;

static double merged_value(const grad_ctx *c, size_t j) {
  ndpar_rsum_block m;
  merged_blocks(c, j / NDPAR_RSUM_LANES, 1, &m);
  return ndpar_rsumv_value(&m, j % NDPAR_RSUM_LANES);
}

/* The gradient entries of block k of the sums (not the loss and rows past P), / rows. */
static void finish_block(const ndpar_rsum_block *b, size_t k, size_t P, double rows, gsl_vector *grad) {
  double v[NDPAR_RSUM_LANES];
  ndpar_rsumv_values(b, v);
  for (size_t l = 0, j = k * NDPAR_RSUM_LANES; l < NDPAR_RSUM_LANES && j < P; l++, j++)
    gsl_vector_set(grad, j, v[l] / rows);
}

/* Blocks [begin, end) of the workers' sums, merged. */
static int finish_range(size_t begin, size_t end, const ndpar_task *t, void *vf) {
  (void)t;
  finish_ctx *f = vf;
  ndpar_rsum_block m[FINISH_BLOCKS];
  for (size_t k0 = begin; k0 < end; k0 += FINISH_BLOCKS) {
    size_t nb = end - k0 < FINISH_BLOCKS ? end - k0 : FINISH_BLOCKS;
    merged_blocks(f->c, k0, nb, m);
    for (size_t k = 0; k < nb; k++) finish_block(&m[k], k0 + k, f->c->P, f->rows, f->grad);
  }
  return GSL_SUCCESS;
}

static void merge_finish(ndpar_pool *p, grad_ctx *c, gsl_vector *grad, double *loss) {
  size_t P = c->P;
  finish_ctx f = {c, grad, merged_value(c, SUM_ROWS(P))};
  size_t blocks = ndpar_rsumv_blocks(P);
  if (P < PARALLEL_PARAMS) {
    ndpar_task t = {0, 0, NULL};
    finish_range(0, blocks, &t, &f);
  } else {
    ndpar_pool_run_range(p, blocks, finish_range, &f, NULL);
  }
  if (loss) *loss = merged_value(c, SUM_LOSS(P)) / f.rows;
}

void grad_reproducible_finish(const ndpar_rsum_block *sums, size_t P, gsl_vector *grad, double *loss) {
  double rows = ndpar_rsumv_value(sums, SUM_ROWS(P));
  for (size_t k = 0; k < ndpar_rsumv_blocks(P); k++) finish_block(&sums[k], k, P, rows, grad);
  if (loss) *loss = ndpar_rsumv_value(sums, SUM_LOSS(P)) / rows;
}

static int check_compute(const gsl_matrix *const *x, const gsl_vector *const *y, size_t n,
                         ndpar_grad_fn f, ndpar_reduce mode, const gsl_vector *grad) {
  NDPAR_REQUIRE(f != NULL, "grad_compute: f is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(grad != NULL, "grad_compute: grad is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(grad->size > 0, "grad_compute: grad has length 0", GSL_EBADLEN);
  NDPAR_REQUIRE(mode == NDPAR_REDUCE_FAST || mode == NDPAR_REDUCE_DETERMINISTIC,
                "grad_compute: mode is neither NDPAR_REDUCE_FAST nor NDPAR_REDUCE_DETERMINISTIC",
                GSL_EINVAL);
  if (n == 0) return GSL_SUCCESS; /* a no-op, whatever the arrays */
  NDPAR_REQUIRE(x != NULL, "grad_compute: x is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(y != NULL, "grad_compute: y is NULL", GSL_EFAULT);
  for (size_t i = 0; i < n; i++) {
    if (x[i] == NULL) NDPAR_ERROR_FMT(GSL_EFAULT, "grad_compute: x[%zu] is NULL", i);
    if (y[i] == NULL) NDPAR_ERROR_FMT(GSL_EFAULT, "grad_compute: y[%zu] is NULL", i);
    if (x[i]->size1 == 0) NDPAR_ERROR_FMT(GSL_EINVAL, "grad_compute: batch %zu has no rows", i);
    if (y[i]->size != x[i]->size1)
      NDPAR_ERROR_FMT(GSL_EBADLEN, "grad_compute: y[%zu] has %zu entries, x[%zu] has %zu rows", i,
                      y[i]->size, i, x[i]->size1);
  }
  return GSL_SUCCESS;
}

/* ---- the workspace ---- */

struct ndpar_grad_workspace {
  ndpar_pool *pool;
  size_t n, P, threads;
  ndpar_slots scratch; /* per worker: the callback's output, P doubles */
  ndpar_slots sums;    /* fast: per worker, SUM_LEN(P) doubles */
  ndpar_slots acc;     /* deterministic: per worker, SUM_LEN(P) reproducible accumulators */
  ndpar_slots part;    /* deterministic: per worker, PENDING_GROUPS group sums, SUM_LEN(P) doubles each */
  ndpar_slots fail;    /* per worker, a failing batch */
  double *chain;       /* deterministic: two groups cut by a process boundary,
                          2 SUM_LEN(P) doubles (grad_det_chain_buffer) */
  double row_scale;    /* the call's grad_row_scale (grad_set_row_scale) */
};

void ndpar_grad_workspace_free(ndpar_grad_workspace *w) {
  if (w == NULL) return;
  ndpar_slots_free(&w->scratch);
  ndpar_slots_free(&w->sums);
  ndpar_slots_free(&w->acc);
  ndpar_slots_free(&w->part);
  ndpar_slots_free(&w->fail);
  free(w->chain);
  free(w);
}

static ndpar_grad_workspace *workspace_alloc(ndpar_pool *pool, size_t n, size_t P, int fast,
                                             int det) {
  NDPAR_REQUIRE_NULL(n > 0, "grad_workspace_alloc: n must be positive", GSL_EINVAL);
  NDPAR_REQUIRE_NULL(P > 0, "grad_workspace_alloc: P must be positive", GSL_EINVAL);
  NDPAR_REQUIRE_NULL(P < SIZE_MAX / sizeof(ndpar_rsum_block) - 3, "grad_workspace_alloc: P is too large",
                     GSL_EINVAL);
  if (pool == NULL && (pool = ndpar_pool_default()) == NULL) return NULL;
  ndpar_grad_workspace *w = calloc(1, sizeof *w);
  if (w == NULL) GSL_ERROR_NULL("grad_workspace_alloc: out of memory", GSL_ENOMEM);
  *w = (ndpar_grad_workspace){.pool = pool, .n = n, .P = P, .threads = ndpar_pool_threads(pool), .row_scale = 1.0};
  w->chain = det ? malloc(2 * SUM_LEN(P) * sizeof *w->chain) : NULL;
  if (det && w->chain == NULL) {
    ndpar_grad_workspace_free(w);
    GSL_ERROR_NULL("grad_workspace_alloc: out of memory", GSL_ENOMEM);
  }
  /* (ndpar_slots_alloc reports its own failures) */
  int status = ndpar_slots_alloc(&w->scratch, w->threads, P * sizeof(double));
  if (status == GSL_SUCCESS) status = ndpar_slots_alloc(&w->fail, w->threads, 3 * sizeof(size_t));
  if (status == GSL_SUCCESS && fast)
    status = ndpar_slots_alloc(&w->sums, w->threads, SUM_LEN(P) * sizeof(double));
  if (status == GSL_SUCCESS && det)
    status = ndpar_slots_alloc(&w->acc, w->threads, ndpar_rsumv_blocks(SUM_LEN(P)) * sizeof(ndpar_rsum_block));
  if (status == GSL_SUCCESS && det)
    status = ndpar_slots_alloc(&w->part, w->threads, PENDING_GROUPS * SUM_LEN(P) * sizeof(double));
  if (status) {
    ndpar_grad_workspace_free(w);
    return NULL;
  }
  return w;
}

ndpar_grad_workspace *ndpar_grad_workspace_alloc(ndpar_pool *pool, size_t n, size_t P) {
  return workspace_alloc(pool, n, P, 1, 1);
}

static int check_workspace(const ndpar_grad_workspace *w, size_t n, const gsl_vector *grad) {
  NDPAR_REQUIRE(w != NULL, "grad_compute_ws: w is NULL", GSL_EFAULT);
  if (n != 0 && n != w->n)
    NDPAR_ERROR_FMT(GSL_EBADLEN, "grad_compute_ws: n is %zu, the workspace's is %zu", n, w->n);
  if (grad != NULL && grad->size != w->P)
    NDPAR_ERROR_FMT(GSL_EBADLEN, "grad_compute_ws: grad has length %zu, the workspace's P is %zu",
                    grad->size, w->P);
  return GSL_SUCCESS;
}

double grad_row_scale(double total_rows) {
  int e;
  frexp(total_rows, &e); /* total_rows = f 2^e, f in [1/2, 1) */
  return ldexp(1.0, -e);
}

void grad_set_row_scale(ndpar_grad_workspace *w, double scale) {
  if (w) w->row_scale = scale;
}

/* The deterministic mode's parts, for the mpi module (see grad_internal.h). */
static grad_ctx det_ctx(ndpar_grad_workspace *w, const gsl_matrix *const *x,
                        const gsl_vector *const *y, size_t index0, ndpar_grad_fn f, void *ctx) {
  return (grad_ctx){.x = x, .y = y, .P = w->P, .f = f, .ctx = ctx, .scratch = w->scratch,
                    .acc = w->acc, .part = w->part, .fail = w->fail, .index0 = index0,
                    .threads = w->threads, .row_scale = w->row_scale};
}

static grad_ctx fast_ctx(ndpar_grad_workspace *w, const gsl_matrix *const *x,
                         const gsl_vector *const *y, size_t n, ndpar_grad_fn f, void *ctx) {
  return (grad_ctx){.x = x, .y = y, .n = n, .P = w->P, .f = f, .ctx = ctx,
                    .scratch = w->scratch, .sums = w->sums,
                    .fail = w->fail, .threads = w->threads, .row_scale = w->row_scale};
}

int (ndpar_grad_compute_ws)(ndpar_grad_workspace *w, const gsl_matrix *const *x,
                          const gsl_vector *const *y, size_t n, ndpar_grad_fn f, void *ctx,
                          ndpar_reduce mode, gsl_vector *grad, double *loss, size_t *failed) {
  int status = check_workspace(w, n, grad);
  if (status == GSL_SUCCESS) status = check_compute(x, y, n, f, mode, grad);
  if (status) return status;
  if (failed) *failed = n;
  if (n == 0) return GSL_SUCCESS;
  size_t P = w->P;
  double rows = 0; /* exact: a count below 2^53 */
  for (size_t i = 0; i < n; i++) rows += (double)x[i]->size1;
  grad_set_row_scale(w, grad_row_scale(rows));
  if (mode == NDPAR_REDUCE_DETERMINISTIC) {
    grad_det_begin(w);
    grad_ctx c = det_ctx(w, x, y, 0, f, ctx);
    status = run_groups(w->pool, &c, 0, n, failed);
    if (status == GSL_SUCCESS) merge_finish(w->pool, &c, grad, loss);
    return status;
  }
  grad_ctx c = fast_ctx(w, x, y, n, f, ctx);
  status = run_fast(w->pool, &c, failed);
  if (status) return status;
  /* rows and loss first: the gradient is divided in the combine's one pass */
  double tail[2];
  c.out = tail, c.ostride = 1, c.divisor = 1.0;
  combine(w->pool, &c, SUM_LOSS(P), 2);
  c.out = grad->data, c.ostride = grad->stride, c.divisor = tail[1];
  combine(w->pool, &c, 0, P);
  if (loss) *loss = tail[0] / tail[1];
  return GSL_SUCCESS;
}

ndpar_grad_workspace *grad_reproducible_workspace(ndpar_pool *p, size_t P) {
  return workspace_alloc(p, 1, P, 0, 1);
}

void grad_det_begin(ndpar_grad_workspace *w) {
  for (size_t k = 0; k < w->threads; k++) { /* no failure, no group yet */
    size_t *state = ndpar_slots_at(&w->fail, k);
    state[0] = SIZE_MAX, state[1] = 0, state[2] = 0;
  }
}

int grad_det_groups(ndpar_grad_workspace *w, const gsl_matrix *const *x,
                    const gsl_vector *const *y, size_t lo, size_t hi, size_t index0,
                    ndpar_grad_fn f, void *ctx, double *open_tail, size_t *failed) {
  if (hi <= lo) return GSL_SUCCESS;
  grad_ctx c = det_ctx(w, x, y, index0, f, ctx);
  c.open_tail = open_tail;
  return run_groups(w->pool, &c, lo, hi, failed);
}

/* One task: the chain's batches in order on one worker. */
typedef struct {
  grad_ctx *c;
  double *part;
  int fresh;
} chain_ctx;

static int chain_task(const ndpar_task *t, void *vc) {
  chain_ctx *k = vc;
  size_t at;
  return fold_run(k->c, k->c->lo, k->c->hi, t->worker, k->part, k->fresh, &at);
}

int grad_det_chain(ndpar_grad_workspace *w, const gsl_matrix *const *x,
                   const gsl_vector *const *y, size_t lo, size_t hi, size_t index0,
                   ndpar_grad_fn f, void *ctx, double *part, int fresh) {
  if (hi <= lo) return GSL_SUCCESS;
  grad_ctx c = det_ctx(w, x, y, index0, f, ctx);
  c.lo = lo, c.hi = hi;
  chain_ctx k = {&c, part, fresh};
  return ndpar_pool_run(w->pool, 1, chain_task, &k);
}

double *grad_det_chain_buffer(ndpar_grad_workspace *w, int which) {
  return w->chain + (which ? SUM_LEN(w->P) : 0);
}

void grad_det_deposit(ndpar_grad_workspace *w, const double *part) {
  grad_ctx c = det_ctx(w, NULL, NULL, 0, NULL, NULL);
  deposit_sums(&c, 0, &part, 1);
}

ndpar_rsum_block *grad_det_sums(ndpar_grad_workspace *w) {
  grad_ctx c = det_ctx(w, NULL, NULL, 0, NULL, NULL);
  merge_workers(w->pool, &c);
  return ndpar_slots_at(&w->acc, 0);
}

int grad_fast_run(ndpar_grad_workspace *w, const gsl_matrix *const *x,
                  const gsl_vector *const *y, size_t n, size_t index0, ndpar_grad_fn f,
                  void *ctx) {
  grad_ctx c = fast_ctx(w, x, y, n, f, ctx);
  c.index0 = index0;
  return run_fast(w->pool, &c, NULL);
}

void grad_fast_combine(ndpar_grad_workspace *w, double *out, size_t ostride, double divisor,
                       size_t from, size_t len) {
  grad_ctx c = fast_ctx(w, NULL, NULL, 0, NULL, NULL);
  c.out = out, c.ostride = ostride, c.divisor = divisor;
  combine(w->pool, &c, from, len);
}

/* The allocating form: a workspace sized for this call and this mode alone. */
int (ndpar_grad_compute_ex)(ndpar_pool *p, const gsl_matrix *const *x, const gsl_vector *const *y,
                          size_t n, ndpar_grad_fn f, void *ctx, ndpar_reduce mode,
                          gsl_vector *grad, double *loss, size_t *failed) {
  int status = check_compute(x, y, n, f, mode, grad);
  if (status) return status;
  if (failed) *failed = n;
  if (n == 0) return GSL_SUCCESS;
  if (p == NULL && (p = ndpar_pool_default()) == NULL) return GSL_EFAILED;
  ndpar_grad_workspace *w =
      workspace_alloc(p, n, grad->size, mode == NDPAR_REDUCE_FAST, mode != NDPAR_REDUCE_FAST);
  if (w == NULL) return GSL_ENOMEM;
  status = ndpar_grad_compute_ws(w, x, y, n, f, ctx, mode, grad, loss, failed);
  ndpar_grad_workspace_free(w);
  return status;
}

int (ndpar_grad_compute)(ndpar_pool *p, const gsl_matrix *const *x, const gsl_vector *const *y,
                       size_t n, ndpar_grad_fn f, void *ctx, ndpar_reduce mode, gsl_vector *grad,
                       double *loss) {
  return ndpar_grad_compute_ex(p, x, y, n, f, ctx, mode, grad, loss, NULL);
}

/* ---- aggregate ---- */

/* The weights are used scaled by 2^e = f1 f2 (two factors: 2^e alone may not be a double),
 * e chosen so that the largest is in [1, 2): exact, and weights near DBL_MAX (or subnormal)
 * overflow neither their sum nor their products with the gradients. */
typedef struct {
  const gsl_vector *const *grads;
  const double *weights; /* the caller's */
  double f1, f2;
  size_t n;
  double wsum; /* of the scaled weights */
  gsl_vector *out;
} agg_ctx;

static double weight_of(const agg_ctx *c, size_t i) {
  return c->weights ? c->weights[i] * c->f1 * c->f2 : 1.0;
}

/* The same mean as sum (w_i / wsum) g_i: no partial sum exceeds max |g|, so it stays
 * finite for gradients near DBL_MAX, where the plain sum overflows. */
static double convex_mean(const agg_ctx *c, size_t j) {
  double acc = 0;
  for (size_t i = 0; i < c->n; i++) acc += weight_of(c, i) / c->wsum * gsl_vector_get(c->grads[i], j);
  return acc;
}

static int aggregate_range(size_t begin, size_t end, const ndpar_task *t, void *vc) {
  (void)t;
  agg_ctx *c = vc;
  for (size_t j = begin; j < end; j++) {
    double acc = 0;
    for (size_t i = 0; i < c->n; i++) acc += weight_of(c, i) * gsl_vector_get(c->grads[i], j);
    double mean = acc / c->wsum;
    gsl_vector_set(c->out, j, isfinite(mean) ? mean : convex_mean(c, j));
  }
  return GSL_SUCCESS;
}

/* f1, f2 and the scaled weights' sum (see agg_ctx). */
static void scale_weights(agg_ctx *c) {
  int e = ndpar_pow2_exponent_of_max(c->weights, c->n);
  c->f1 = ldexp(1.0, e / 2);
  c->f2 = ldexp(1.0, e - e / 2);
  c->wsum = 0;
  for (size_t i = 0; i < c->n; i++) c->wsum += weight_of(c, i);
}

int (ndpar_grad_aggregate)(ndpar_pool *p, const gsl_vector *const *grads, const double *weights,
                         size_t n, gsl_vector *out) {
  NDPAR_REQUIRE(out != NULL, "grad_aggregate: out is NULL", GSL_EFAULT);
  if (n == 0) return GSL_SUCCESS; /* a no-op, whatever grads: out untouched */
  NDPAR_REQUIRE(grads != NULL, "grad_aggregate: grads is NULL", GSL_EFAULT);
  double wsum = 0;
  for (size_t i = 0; i < n; i++) {
    if (grads[i] == NULL) NDPAR_ERROR_FMT(GSL_EFAULT, "grad_aggregate: grads[%zu] is NULL", i);
    if (grads[i]->size != out->size)
      NDPAR_ERROR_FMT(GSL_EBADLEN, "grad_aggregate: grads[%zu] has length %zu, out has %zu", i,
                      grads[i]->size, out->size);
    if (weights) {
      if (!isfinite(weights[i]))
        NDPAR_ERROR_FMT(GSL_EDOM, "grad_aggregate: weights[%zu] is not finite", i);
      if (weights[i] < 0) NDPAR_ERROR_FMT(GSL_EINVAL, "grad_aggregate: weights[%zu] is negative", i);
    }
    wsum += weights ? weights[i] : 1.0;
  }
  NDPAR_REQUIRE(wsum > 0, "grad_aggregate: the weights sum to zero", GSL_EINVAL);
  agg_ctx c = {grads, weights, 1.0, 1.0, n, wsum, out};
  if (weights) scale_weights(&c);
  if (out->size < PARALLEL_PARAMS) {
    ndpar_task t = {0, 0, NULL};
    return aggregate_range(0, out->size, &t, &c);
  }
  return ndpar_pool_run_range(p, out->size, aggregate_range, &c, NULL);
}
