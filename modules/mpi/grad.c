/* grad.c: the gradient over every rank's batches.
 *
 * FAST: each rank's row-weighted sums by the fast mode's workers, combined straight into
 * the buffer that one allreduce (in buckets, see fast()) sums over the ranks; the division
 * by the rows is the one pass after it.
 * DETERMINISTIC: the single-process mode's groups (grad_internal.h), a group cut by a rank
 * boundary continued on the next rank in order, then the ranks' reproducible (binned)
 * sums merged by an allreduce whose user operation merges accumulators exactly; the final
 * division is the single-process mode's own. Exact merging makes the result independent
 * of the reduction tree MPI chooses, and so of the number of ranks. */
#include "mpi/mpi_internal.h"
#include "grad/grad_internal.h"
#include "ndpar_internal.h"

#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define WHO "mpi_grad_compute"

/* This rank's own arguments (reported here with GSL errors). */
static int check_local(const gsl_matrix *const *x, const gsl_vector *const *y, size_t n,
                       ndpar_grad_fn f, ndpar_reduce mode, const gsl_vector *grad) {
  NDPAR_REQUIRE(f != NULL, WHO ": f is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(grad != NULL, WHO ": grad is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(grad->size > 0, WHO ": grad has length 0", GSL_EBADLEN);
  NDPAR_REQUIRE(mode == NDPAR_REDUCE_FAST || mode == NDPAR_REDUCE_DETERMINISTIC,
                WHO ": mode is neither NDPAR_REDUCE_FAST nor NDPAR_REDUCE_DETERMINISTIC", GSL_EINVAL);
  NDPAR_REQUIRE(mode == NDPAR_REDUCE_FAST || grad->size < (size_t)INT_MAX - 2,
                WHO ": grad's length must be below 2^31 - 3 in NDPAR_REDUCE_DETERMINISTIC", GSL_EBADLEN);
  if (n == 0) return GSL_SUCCESS;
  int status = ndpar_check_inputs(WHO, x, n);
  if (status) return status;
  NDPAR_REQUIRE(y != NULL, WHO ": y is NULL", GSL_EFAULT);
  for (size_t i = 0; i < n; i++) {
    if (y[i] == NULL) NDPAR_ERROR_FMT(GSL_EFAULT, WHO ": y[%zu] is NULL", i);
    if (x[i]->size1 == 0) NDPAR_ERROR_FMT(GSL_EINVAL, WHO ": batch %zu has no rows", i);
    if (y[i]->size != x[i]->size1)
      NDPAR_ERROR_FMT(GSL_EBADLEN, WHO ": y[%zu] has %zu entries, x[%zu] has %zu rows", i,
                      y[i]->size, i, x[i]->size1);
  }
  return GSL_SUCCESS;
}

/* Failure travels with the data: a rank whose callback failed sends NaN as its row count,
 * so the reduced row count is NaN, every rank sees it and only then asks (one more round)
 * which rank failed and with what code. The successful call is one allreduce. */

/* ---- working memory, kept from one call to the next ----
 * A training loop calls with the same pool, batch count and P at every step: the memory
 * of the last call of each mode (a grad workspace and the allreduce buffer) is kept for
 * the next one,
 * so that a step does not fault in fresh pages. The key includes the pool's thread count:
 * a workspace is sized per worker. A call that finds it in use (another thread's, under
 * MPI_THREAD_MULTIPLE) allocates its own. */

typedef struct {
  ndpar_grad_workspace *ws; /* FAST: ndpar_grad_workspace_alloc; DETERMINISTIC: reproducible */
  double *buf;              /* FAST: P + 2 doubles (for a large P, used only where grad is strided) */
  ndpar_pool *pool;
  size_t threads, n, P;
  ndpar_reduce mode;
} grad_memory;

static pthread_mutex_t memory_lock = PTHREAD_MUTEX_INITIALIZER;
static grad_memory kept_of[2]; /* per mode */
static int busy_of[2];

static void memory_free(grad_memory *m) {
  ndpar_grad_workspace_free(m->ws);
  free(m->buf);
  *m = (grad_memory){0};
}

static int memory_matches(const grad_memory *m, ndpar_pool *p, size_t n, size_t P, ndpar_reduce mode) {
  return m->pool == p && m->threads == ndpar_pool_threads(p) && m->P == P && m->mode == mode &&
         (mode == NDPAR_REDUCE_DETERMINISTIC || m->n == n);
}

/* The memory of a call (reported on failure: GSL_ENOMEM). */
static int memory_take(grad_memory *m, ndpar_pool *p, size_t n, size_t P, ndpar_reduce mode) {
  grad_memory *kept = &kept_of[mode != NDPAR_REDUCE_FAST];
  int *kept_busy = &busy_of[mode != NDPAR_REDUCE_FAST];
  pthread_mutex_lock(&memory_lock);
  int mine = !*kept_busy;
  if (mine && memory_matches(kept, p, n, P, mode)) {
    *kept_busy = 1;
    *m = *kept;
    pthread_mutex_unlock(&memory_lock);
    return GSL_SUCCESS;
  }
  if (mine) memory_free(kept); /* another shape now: the old memory goes */
  pthread_mutex_unlock(&memory_lock);
  *m = (grad_memory){NULL, NULL, p, ndpar_pool_threads(p), n, P, mode};
  if (mode == NDPAR_REDUCE_DETERMINISTIC) {
    m->ws = grad_reproducible_workspace(p, P);
  } else {
    m->buf = malloc((P + 2) * sizeof *m->buf);
    m->ws = n ? ndpar_grad_workspace_alloc(p, n, P) : NULL;
    if (m->buf == NULL) ndpar_error_fmt(GSL_ENOMEM, __FILE__, __LINE__, WHO ": out of memory");
  }
  int ok = (mode == NDPAR_REDUCE_FAST ? m->buf != NULL && (n == 0 || m->ws) : m->ws != NULL);
  if (!ok) {
    memory_free(m);
    return GSL_ENOMEM;
  }
  if (mine) {
    pthread_mutex_lock(&memory_lock);
    *kept_busy = 1;
    *kept = *m;
    pthread_mutex_unlock(&memory_lock);
  }
  return GSL_SUCCESS;
}

static void memory_give(grad_memory *m) {
  grad_memory *kept = &kept_of[m->mode != NDPAR_REDUCE_FAST];
  int *kept_busy = &busy_of[m->mode != NDPAR_REDUCE_FAST];
  pthread_mutex_lock(&memory_lock);
  int is_kept = *kept_busy && kept->ws == m->ws && kept->buf == m->buf;
  if (is_kept) *kept_busy = 0;
  pthread_mutex_unlock(&memory_lock);
  if (!is_kept) memory_free(m);
}

/* ---- FAST ----
 * Every rank knows the total row count R from the opening round, so each rank's sums are
 * divided by R as the pool combines them, and an allreduce of the quotients leaves the
 * mean. A failure must leave grad as it was, so a failing rank's count travels with the
 * data:
 * - a gradient of one bucket goes in one allreduce of P + 2 doubles (the quotients, the
 *   loss sum, the failed ranks) through a kept buffer, copied into grad if none failed:
 *   one round, as latency rules small messages on a network;
 * - a larger one first has the loss sum and the failed ranks summed (two doubles), then,
 *   if none failed, is combined straight into grad and summed there in place, bucket by
 *   bucket: no pass over P after the communication. */

/* The gradient goes out in buckets of BUCKET doubles (fewer than MAX_BUCKETS of them;
 * larger buckets past that), each a non-blocking allreduce started as soon as the pool has
 * combined it, so that the combine of one bucket runs while the previous one travels. */
#ifndef BUCKET
#define BUCKET ((size_t)1 << 17)
#endif
#define MAX_BUCKETS 64

typedef struct {
  size_t size, count; /* doubles per bucket; buckets */
} buckets;

static buckets buckets_of(size_t len) {
  size_t size = BUCKET;
  if ((len + size - 1) / size > MAX_BUCKETS) size = (len + MAX_BUCKETS - 1) / MAX_BUCKETS;
  if (size > (size_t)1 << 30) size = (size_t)1 << 30; /* counts are ints */
  return (buckets){size, (len + size - 1) / size};
}

/* The loss sum and the failed ranks (a rank with no batches adds nothing) in
 * tail[0..2), summed over the ranks with the first `before` doubles of buf (the
 * quotients), in one allreduce of before + 2 doubles. */
static int fast_round(coll_call *c, grad_memory *m, size_t n, size_t P, int status, double *buf,
                      size_t before, double *loss_sum) {
  double *tail = buf + before;
  tail[0] = 0.0, tail[1] = status ? 1.0 : 0.0;
  if (n && !status) grad_fast_combine(m->ws, tail, 1, 1.0, P, 1);
  if (before && n && !status) grad_fast_combine(m->ws, buf, 1, c->weight, 0, before);
  else if (before) memset(buf, 0, before * sizeof *buf);
  int rc = MPI_Allreduce(MPI_IN_PLACE, buf, (int)(before + 2), MPI_DOUBLE, MPI_SUM, c->comm);
  if (rc != MPI_SUCCESS) return coll_check(c, rc, "summing the gradients");
  if (tail[1] != 0.0) return coll_agree(c, status, 0);
  *loss_sum = tail[0];
  return GSL_SUCCESS;
}

/* out[0..P): this rank's sums / R, then summed over the ranks in place, bucket by bucket. */
static int fast_sum(coll_call *c, grad_memory *m, size_t n, double *out, size_t P) {
  buckets b = buckets_of(P);
  MPI_Request req[MAX_BUCKETS];
  int rc = MPI_SUCCESS;
  size_t started = 0;
  for (; started < b.count && rc == MPI_SUCCESS; started++) {
    size_t lo = started * b.size, len = lo + b.size < P ? b.size : P - lo;
    if (n) grad_fast_combine(m->ws, out + lo, 1, c->weight, lo, len);
    else memset(out + lo, 0, len * sizeof *out);
    if (b.count == 1)
      rc = MPI_Allreduce(MPI_IN_PLACE, out, (int)len, MPI_DOUBLE, MPI_SUM, c->comm), req[0] = MPI_REQUEST_NULL;
    else
      rc = MPI_Iallreduce(MPI_IN_PLACE, out + lo, (int)len, MPI_DOUBLE, MPI_SUM, c->comm, &req[started]);
    int done; /* progress for the buckets in flight (only this thread calls MPI) */
    if (rc == MPI_SUCCESS && started > 0) rc = MPI_Testall((int)started, req, &done, MPI_STATUSES_IGNORE);
  }
  for (size_t k = 0; k < started; k++) {
    int rk = MPI_Wait(&req[k], MPI_STATUS_IGNORE);
    if (rc == MPI_SUCCESS) rc = rk;
  }
  return rc == MPI_SUCCESS ? GSL_SUCCESS : coll_check(c, rc, "summing the gradients");
}

static int fast(coll_call *c, grad_memory *m, const gsl_matrix *const *x, const gsl_vector *const *y,
                size_t n, ndpar_grad_fn f, void *ctx, gsl_vector *grad, double *loss) {
  size_t P = grad->size;
  double loss_sum = 0.0, tail[2];
  int one_round = P + 2 <= BUCKET;
  /* the sum lands in the kept buffer (then copied) for one round or a strided grad */
  double *out = one_round || grad->stride != 1 ? m->buf : grad->data;
  int status = n ? grad_fast_run(m->ws, x, y, n, c->index0, f, ctx) : GSL_SUCCESS;
  if (one_round) {
    status = fast_round(c, m, n, P, status, out, P, &loss_sum);
  } else {
    status = fast_round(c, m, n, P, status, tail, 0, &loss_sum);
    if (status == GSL_SUCCESS) status = fast_sum(c, m, n, out, P);
  }
  if (status) return status;
  if (out != grad->data) {
    gsl_vector_const_view sum = gsl_vector_const_view_array(out, P);
    gsl_vector_memcpy(grad, &sum.vector);
  }
  if (loss) *loss = loss_sum / c->weight;
  return GSL_SUCCESS;
}

/* ---- DETERMINISTIC ---- */

static void merge_op(void *in, void *inout, int *len, MPI_Datatype *type) {
  (void)type;
  ndpar_rsumv_merge(inout, in, (size_t)*len);
}

/* n blocks of accumulators. */
static int merge_over_ranks(coll_call *c, ndpar_rsum_block *sums, size_t n) {
  MPI_Datatype type;
  MPI_Op op = MPI_OP_NULL;
  int rc = MPI_Type_contiguous((int)sizeof(ndpar_rsum_block), MPI_BYTE, &type);
  if (rc == MPI_SUCCESS) rc = MPI_Type_commit(&type);
  if (rc != MPI_SUCCESS) return coll_check(c, rc, "making the accumulator type");
  rc = MPI_Op_create(merge_op, 1, &op); /* commutative and associative: merges are exact */
  for (size_t at = 0; rc == MPI_SUCCESS && at < n;) {
    int m = n - at < (size_t)1 << 26 ? (int)(n - at) : 1 << 26; /* counts are ints */
    rc = MPI_Allreduce(MPI_IN_PLACE, sums + at, m, type, op, c->comm);
    at += (size_t)m;
  }
  int status = coll_check(c, rc, "merging the reproducible sums");
  if (op != MPI_OP_NULL) MPI_Op_free(&op);
  MPI_Type_free(&type);
  return status;
}

/* A group cut by rank boundaries is continued in rank order: rank r receives the group's
 * sum so far from rank r - 1 when its first batch (global index a) is not a group's first
 * (a % G != 0, a < total), and sends its last group's sum so far to rank r + 1 when its end
 * b is not a group's end (b % G != 0, b < total). A rank whose batches all lie inside one
 * group (or that has none) continues what it received and passes it on. A failure travels
 * as a NaN row count in the message. Only neighbours talk, and a rank waits only on lower
 * ranks, so the chain cannot deadlock. */
#define CHAIN_TAG 1917

typedef struct {
  coll_call *c;
  ndpar_grad_workspace *w;
  const gsl_matrix *const *x;
  const gsl_vector *const *y;
  ndpar_grad_fn f;
  void *ctx;
  size_t P, G, a, b; /* this rank's batches: global [a, b) */
} det_run;

static int chain_count(size_t P) { return (int)(P + 2); } /* P < 2^31 - 2: checked by the caller */

/* The head: batches [a, head_end) continue the group received from rank - 1, which then
 * ends here (deposited) or goes on to rank + 1. Returns the callback's status. */
static int det_head(det_run *d, MPI_Request *recv, size_t head_end, int ends_here, int *rc) {
  double *part = grad_det_chain_buffer(d->w, 0);
  *rc = MPI_Wait(recv, MPI_STATUS_IGNORE);
  int status = *rc == MPI_SUCCESS
                   ? grad_det_chain(d->w, d->x, d->y, 0, head_end - d->a, d->a, d->f, d->ctx, part, 0)
                   : GSL_EFAILED;
  if (status) part[d->P + 1] = NAN;
  if (ends_here && !isnan(part[d->P + 1])) grad_det_deposit(d->w, part);
  if (!ends_here && *rc == MPI_SUCCESS)
    *rc = MPI_Send(part, chain_count(d->P), MPI_DOUBLE, d->c->rank + 1, CHAIN_TAG, d->c->comm);
  return isnan(part[d->P + 1]) && status == GSL_SUCCESS ? GSL_EFAILED : status;
}

/* This rank's share of the sums: returns its callbacks' status (GSL_EFAILED if a rank
 * below failed in a group continued here) and *rc an MPI code. */
static int det_local(det_run *d, int *rc) {
  size_t G = d->G, a = d->a, b = d->b, total = d->c->total;
  int from_below = a % G != 0 && a < total, to_above = b % G != 0 && b < total;
  size_t head_end = from_below ? (a / G + 1) * G < b ? (a / G + 1) * G : b : a;
  int inside = from_below && head_end == b && to_above; /* the group goes on past b */
  size_t tail_start = to_above && !inside ? (b / G) * G : b;
  MPI_Request recv = MPI_REQUEST_NULL, send = MPI_REQUEST_NULL;
  double *tail = grad_det_chain_buffer(d->w, 1);
  *rc = MPI_SUCCESS;
  if (from_below)
    *rc = MPI_Irecv(grad_det_chain_buffer(d->w, 0), chain_count(d->P), MPI_DOUBLE, d->c->rank - 1,
                    CHAIN_TAG, d->c->comm, &recv);
  int status = GSL_SUCCESS;
  if (*rc == MPI_SUCCESS && !inside) { /* the groups that start here, the last maybe open */
    status = grad_det_groups(d->w, d->x, d->y, head_end - a, b - a, a, d->f, d->ctx,
                             tail_start < b ? tail : NULL, NULL);
    if (tail_start < b) {
      if (status) tail[d->P + 1] = NAN;
      *rc = MPI_Isend(tail, chain_count(d->P), MPI_DOUBLE, d->c->rank + 1, CHAIN_TAG, d->c->comm, &send);
    }
  }
  if (*rc == MPI_SUCCESS && from_below) {
    int head = det_head(d, &recv, head_end, !inside || !to_above, rc);
    if (status == GSL_SUCCESS) status = head;
  }
  int rc2 = MPI_Wait(&send, MPI_STATUS_IGNORE);
  if (*rc == MPI_SUCCESS) *rc = rc2;
  return status;
}

static int deterministic(coll_call *c, ndpar_grad_workspace *w, const gsl_matrix *const *x,
                         const gsl_vector *const *y, size_t n, ndpar_grad_fn f, void *ctx,
                         gsl_vector *grad, double *loss) {
  size_t P = grad->size;
  det_run d = {c, w, x, y, f, ctx, P, grad_group_size(P), c->index0, c->index0 + n};
  grad_det_begin(w);
  int rc, status = det_local(&d, &rc);
  if (rc != MPI_SUCCESS) return coll_check(c, rc, "passing a group's sum to the next rank");
  ndpar_rsum_block *sums = grad_det_sums(w);
  if (status) { /* a NaN row count: an Inf or NaN stays one through every merge */
    ndpar_rsumv_init(sums, P + 2);
    ndpar_rsumv_add(sums, P + 1, NAN);
  }
  rc = merge_over_ranks(c, sums, ndpar_rsumv_blocks(P + 2));
  if (rc) return rc;
  if (isnan(ndpar_rsumv_value(sums, P + 1))) return coll_agree(c, status, 0);
  grad_reproducible_finish(sums, P, grad, loss);
  return GSL_SUCCESS;
}

int ndpar_mpi_grad_compute(MPI_Comm comm, ndpar_pool *p, const gsl_matrix *const *x,
                           const gsl_vector *const *y, size_t n_local, ndpar_grad_fn f, void *ctx,
                           ndpar_reduce mode, gsl_vector *grad, double *loss) {
  /* The working memory is taken before the call opens, so that running out of it is one
   * more local error that every rank agrees on. */
  int checked = check_local(x, y, n_local, f, mode, grad);
  if (checked == GSL_SUCCESS && p == NULL && (p = ndpar_mpi_pool_default()) == NULL) checked = GSL_EFAILED;
  grad_memory m = {0};
  if (checked == GSL_SUCCESS) checked = memory_take(&m, p, n_local, grad->size, mode);
  coll_arg args[] = {{"grad's length (P)", grad ? (long long)grad->size : -1, GSL_EBADLEN, COLL_INTEGER},
                     {"mode", (long long)mode, GSL_EINVAL, COLL_INTEGER}};
  double rows = 0.0; /* the opening round sums them: FAST divides as it combines */
  for (size_t i = 0; checked == GSL_SUCCESS && i < n_local; i++) rows += (double)x[i]->size1;
  coll_local mine = {checked, args, 2, n_local, rows};
  coll_call c;
  int status = coll_open(&c, WHO, comm, &p, &mine);
  if (status == GSL_SUCCESS && c.total == 0)
    status = ndpar_error_fmt(GSL_EINVAL, __FILE__, __LINE__,
                             WHO ": no rank has a batch (the mean of nothing is undefined)");
  if (status == GSL_SUCCESS) { /* rows weigh 2^-e in the sums, as in one process */
    double scale = grad_row_scale(c.weight);
    grad_set_row_scale(m.ws, scale);
    c.weight *= scale; /* FAST's divisor: the weighted rows */
  }
  if (status == GSL_SUCCESS)
    status = mode == NDPAR_REDUCE_FAST ? fast(&c, &m, x, y, n_local, f, ctx, grad, loss)
                                       : deterministic(&c, m.ws, x, y, n_local, f, ctx, grad, loss);
  if (checked == GSL_SUCCESS) memory_give(&m);
  return status;
}
