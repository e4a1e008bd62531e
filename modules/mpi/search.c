/* search.c: grid search and cross-validation over the ranks.
 *
 * The flat candidates x folds tasks are handed out from a counter on rank 0 in an RMA
 * window: each rank's calling thread takes the next chunk (as many tasks as its pool has
 * threads) with MPI_Fetch_and_op, runs it on its pool, and asks again. Only the calling
 * thread calls MPI, between pool runs, so MPI_THREAD_FUNNELED suffices; no rank serves
 * requests, so rank 0 computes like the others. (A master that hands out work on request
 * would have to answer from inside its own pool runs, which FUNNELED allows only to the
 * calling thread, and only between its own tasks.) Passive-target atomics on one node go
 * through shared memory; across nodes they are as prompt as the network's RMA, at worst
 * waiting for rank 0's next MPI call.
 *
 * Each task's score and status land in arrays that are zero where the task ran elsewhere;
 * an allreduce with bitwise XOR (scores) and sum (statuses) completes them on every rank
 * without changing a bit, and grid_summarise, the one-process summary, does the rest. */
#include "mpi/mpi_internal.h"
#include "grid/grid_internal.h"
#include "ndpar_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  coll_call *c;
  MPI_Win win;
  long *counters; /* on rank 0: [0] the next task, [1 + i] candidate i's finished folds */
  size_t ncand, k, total;
  const ndpar_grid_options *opts; /* the caller's: progress on rank 0 */
  size_t reported;
} dealer;

static int dealer_open(dealer *d) {
  MPI_Aint bytes = d->c->rank == 0 ? (MPI_Aint)((d->ncand + 1) * sizeof(long)) : 0;
  int rc = MPI_Win_allocate(bytes, sizeof(long), MPI_INFO_NULL, d->c->comm, &d->counters, &d->win);
  if (rc != MPI_SUCCESS) return coll_check(d->c, rc, "creating the task counter");
  MPI_Win_set_errhandler(d->win, MPI_ERRORS_RETURN);
  rc = MPI_Win_lock_all(MPI_MODE_NOCHECK, d->win);
  if (rc == MPI_SUCCESS && d->c->rank == 0) {
    memset(d->counters, 0, (size_t)bytes);
    rc = MPI_Win_sync(d->win);
  }
  if (rc == MPI_SUCCESS) rc = MPI_Barrier(d->c->comm); /* no rank counts before rank 0 zeroed */
  return coll_check(d->c, rc, "starting the task counter");
}

static int dealer_close(dealer *d) {
  int rc = MPI_Win_unlock_all(d->win);
  int rc2 = MPI_Win_free(&d->win);
  return coll_check(d->c, rc != MPI_SUCCESS ? rc : rc2, "freeing the task counter");
}

/* The first task of this rank's next chunk of `want`. */
static int dealer_take(dealer *d, long want, long *first) {
  int rc = MPI_Fetch_and_op(&want, first, MPI_LONG, 0, 0, MPI_SUM, d->win);
  if (rc == MPI_SUCCESS) rc = MPI_Win_flush(0, d->win);
  return coll_check(d->c, rc, "taking tasks");
}

/* After a failure with NDPAR_GRID_STOP_ON_ERROR: no rank gets another task. */
static int dealer_stop(dealer *d) {
  long all = (long)d->total;
  int rc = MPI_Accumulate(&all, 1, MPI_LONG, 0, 0, 1, MPI_LONG, MPI_SUM, d->win);
  if (rc == MPI_SUCCESS) rc = MPI_Win_flush(0, d->win);
  return coll_check(d->c, rc, "stopping the search");
}

/* Counts the tasks [first, end) as done, per candidate, and on rank 0 reports the
 * candidates now complete on any rank. */
static int dealer_done(dealer *d, size_t first, size_t end) {
  int rc = MPI_SUCCESS;
  for (size_t t = first; rc == MPI_SUCCESS && t < end;) {
    size_t cand = t / d->k, stop = (cand + 1) * d->k < end ? (cand + 1) * d->k : end;
    long n = (long)(stop - t);
    rc = MPI_Accumulate(&n, 1, MPI_LONG, 0, (MPI_Aint)(1 + cand), 1, MPI_LONG, MPI_SUM, d->win);
    t = stop;
  }
  if (rc == MPI_SUCCESS) rc = MPI_Win_flush(0, d->win);
  if (rc == MPI_SUCCESS && d->c->rank == 0 && d->opts && d->opts->progress) {
    /* An atomic read of every candidate's count (a plain MPI_Get could race with the
     * other ranks' accumulates). */
    long *done = malloc(d->ncand * sizeof *done);
    if (done == NULL) return GSL_SUCCESS; /* progress is a courtesy: skip this report */
    rc = MPI_Get_accumulate(NULL, 0, MPI_LONG, done, (int)d->ncand, MPI_LONG, 0, 1, (int)d->ncand,
                            MPI_LONG, MPI_NO_OP, d->win);
    if (rc == MPI_SUCCESS) rc = MPI_Win_flush(0, d->win);
    size_t complete = 0;
    for (size_t i = 0; rc == MPI_SUCCESS && i < d->ncand; i++) complete += done[i] == (long)d->k;
    free(done);
    if (rc == MPI_SUCCESS && complete > d->reported) {
      d->reported = complete;
      d->opts->progress(complete, d->ncand, d->opts->progress_ctx);
    }
  }
  return coll_check(d->c, rc, "counting finished tasks");
}

/* Runs chunks until the counter passes the end, or a failure stops the search. */
static int deal(dealer *d, grid_runner *r, size_t chunk, int stop_on_error) {
  int status = dealer_open(d);
  while (status == GSL_SUCCESS) {
    long first = 0;
    if ((status = dealer_take(d, (long)chunk, &first))) break;
    if ((size_t)first >= d->total) break;
    size_t end = (size_t)first + chunk < d->total ? (size_t)first + chunk : d->total;
    int failed = grid_runner_run(r, (size_t)first, end, NULL);
    if (failed && stop_on_error) {
      status = dealer_stop(d);
      break;
    }
    status = dealer_done(d, (size_t)first, end);
  }
  int closed = dealer_close(d);
  return status ? status : closed;
}

/* Completes every rank's scores and statuses (zero where another rank ran the task). */
static int combine(coll_call *c, double *scores, int *status, size_t n) {
  int rc = MPI_SUCCESS;
  for (size_t at = 0; rc == MPI_SUCCESS && at < n;) { /* counts are ints: in pieces */
    int m = n - at < (size_t)1 << 28 ? (int)(n - at) : 1 << 28;
    rc = MPI_Allreduce(MPI_IN_PLACE, scores + at, m, MPI_UINT64_T, MPI_BXOR, c->comm);
    if (rc == MPI_SUCCESS) rc = MPI_Allreduce(MPI_IN_PLACE, status + at, m, MPI_INT, MPI_SUM, c->comm);
    at += (size_t)m;
  }
  return coll_check(c, rc, "gathering the scores");
}

typedef struct {
  const char *who;
  const void *base;
  size_t size, ncand;
  const gsl_matrix *x;
  const gsl_vector *y;
  const ndpar_folds *folds;
  ndpar_param_fit_score_fn f;
  void *ctx;
  const ndpar_grid_options *opts;
  int checked; /* the form's own checks on this rank (reported there) */
  MPI_Comm comm;
  size_t reported; /* progress reported on rank 0 */
} search_args;

/* Opens the call: this rank's checks, and the arguments every rank must share. */
static int open_search(coll_call *c, ndpar_pool **p, const search_args *a, int checked,
                       const ndpar_grid_result *res) {
  coll_arg args[] = {
      {"the number of candidates", (long long)a->ncand, GSL_EBADLEN, COLL_INTEGER},
      {"the parameter size", (long long)a->size, GSL_EBADLEN, COLL_INTEGER},
      {"the candidates' parameters", coll_hash(a->base, a->ncand * a->size), GSL_EINVAL, COLL_FINGERPRINT},
      {"the number of folds", a->folds ? (long long)ndpar_folds_count(a->folds) : -1, GSL_EBADLEN, COLL_INTEGER},
      {"the folds' sample count", a->folds ? (long long)ndpar_folds_samples(a->folds) : -1, GSL_EBADLEN, COLL_INTEGER},
      {"x's rows", a->x ? (long long)a->x->size1 : -1, GSL_EBADLEN, COLL_INTEGER},
      {"x's columns", a->x ? (long long)a->x->size2 : -1, GSL_EBADLEN, COLL_INTEGER},
      {"y's length", a->y ? (long long)a->y->size : -1, GSL_EBADLEN, COLL_INTEGER},
      {"opts->flags", a->opts ? a->opts->flags : 0, GSL_EINVAL, COLL_INTEGER},
      {"result's candidates", res ? (long long)res->candidates : -1, GSL_EBADLEN, COLL_INTEGER},
      {"result's folds", res ? (long long)res->folds : -1, GSL_EBADLEN, COLL_INTEGER},
  };
  coll_local mine = {checked, args, sizeof args / sizeof args[0], 0, 0.0};
  return coll_open(c, a->who, a->comm, p, &mine);
}

/* The distributed search: on success *scores and *status (ncand x k each, the caller
 * frees them) hold every task's score and status, on every rank. */
static int search(coll_call *c, ndpar_pool *p, search_args *a, double **scores, int **status) {
  size_t k = ndpar_folds_count(a->folds), n = a->ncand * k;
  ndpar_grid_options local = {0}; /* the caller's, but progress: ours */
  if (a->opts) local = *a->opts, local.progress = NULL, local.progress_ctx = NULL;
  *scores = calloc(n, sizeof **scores);
  *status = calloc(n, sizeof **status);
  grid_runner *r = NULL;
  int rc = *scores && *status ? GSL_SUCCESS : GSL_ENOMEM;
  if (rc) ndpar_error_raise(rc, __FILE__, __LINE__, "mpi_grid_search: out of memory");
  if (rc == GSL_SUCCESS)
    rc = grid_runner_alloc(a->who, p, a->base, a->size, a->ncand, a->x, a->y, a->folds, a->f,
                           a->ctx, &local, *scores, *status, &r);
  rc = coll_agree(c, rc, 1);
  if (rc == GSL_SUCCESS) {
    dealer d = {.c = c, .ncand = a->ncand, .k = k, .total = n, .opts = a->opts};
    rc = coll_agree(c, deal(&d, r, ndpar_pool_threads(p), local.flags & NDPAR_GRID_STOP_ON_ERROR), 1);
    a->reported = d.reported;
  }
  grid_runner_free(r);
  if (rc == GSL_SUCCESS) rc = combine(c, *scores, *status, n);
  if (rc) {
    free(*scores);
    free(*status);
    *scores = NULL;
    *status = NULL;
  }
  return rc;
}

/* The status of the lowest failing task: what one process's pool run returns. */
static int first_failure(const int *status, size_t n) {
  for (size_t t = 0; t < n; t++)
    if (status[t]) return status[t];
  return GSL_SUCCESS;
}

static int search_result(ndpar_pool *p, search_args *a, ndpar_grid_result *result) {
  coll_call c;
  int checked = a->checked ? a->checked : grid_check(a->who, a->ncand, a->folds, a->f, a->opts, result);
  int rc = open_search(&c, &p, a, checked, result);
  if (rc) return rc;
  size_t n = rc ? 0 : a->ncand * ndpar_folds_count(a->folds);
  double *scores = NULL;
  int *status = NULL;
  if (rc == GSL_SUCCESS) rc = search(&c, p, a, &scores, &status);
  int stop = a->opts && (a->opts->flags & NDPAR_GRID_STOP_ON_ERROR);
  if (rc == GSL_SUCCESS && stop) rc = first_failure(status, n);
  if (rc == GSL_SUCCESS)
    rc = grid_summarise(a->ncand, ndpar_folds_count(a->folds), scores, status, a->opts, a->base, a->size, result);
  if (rc == GSL_SUCCESS && c.rank == 0 && a->opts && a->opts->progress && a->reported < a->ncand)
    a->opts->progress(a->ncand, a->ncand, a->opts->progress_ctx);
  free(scores);
  free(status);
  return rc;
}

int ndpar_mpi_grid_search_params(MPI_Comm comm, ndpar_pool *p, const void *params, size_t size,
                                 size_t n, const gsl_matrix *x, const gsl_vector *y,
                                 const ndpar_folds *folds, ndpar_param_fit_score_fn f, void *ctx,
                                 const ndpar_grid_options *opts, ndpar_grid_result *result) {
  search_args a = {"mpi_grid_search_params", params, size, n, x, y, folds, f, ctx, opts, 0, comm, 0};
  a.checked = grid_check_params(a.who, params, size, n);
  if (a.checked) a.ncand = 0; /* the shared hash must not read past params */
  return search_result(p, &a, result);
}

int ndpar_mpi_grid_search_opts(MPI_Comm comm, ndpar_pool *p, const ndpar_grid *g,
                               const gsl_matrix *x, const gsl_vector *y, const ndpar_folds *folds,
                               ndpar_param_fit_score_fn f, void *ctx,
                               const ndpar_grid_options *opts, ndpar_grid_result *result) {
  size_t n = ndpar_grid_size(g), naxes = ndpar_grid_naxes(g);
  size_t bytes;
  int fits = ndpar_size_mul3(n, naxes, sizeof(double), &bytes);
  double *params = n && fits ? malloc(bytes) : NULL;
  search_args a = {"mpi_grid_search", params, naxes * sizeof *params, n, x, y, folds, f, ctx, opts, 0, comm, 0};
  if (g == NULL) {
    a.checked = GSL_EFAULT;
    ndpar_error_raise(GSL_EFAULT, __FILE__, __LINE__, "mpi_grid_search: g is NULL");
  } else if (n == 0) {
    a.checked = GSL_EINVAL;
    ndpar_error_raise(GSL_EINVAL, __FILE__, __LINE__, "mpi_grid_search: g, the grid, is empty (no axes)");
  } else if (!fits) {
    a.checked = GSL_EINVAL;
    ndpar_error_raise(GSL_EINVAL, __FILE__, __LINE__, "mpi_grid_search: the grid's parameters overflow a size_t");
  } else if (params == NULL) {
    a.checked = GSL_ENOMEM;
    ndpar_error_raise(GSL_ENOMEM, __FILE__, __LINE__, "mpi_grid_search: out of memory");
  }
  for (size_t i = 0; params && i < n; i++) ndpar_grid_candidate(g, i, params + i * naxes);
  int rc = search_result(p, &a, result);
  free(params);
  return rc;
}

int ndpar_mpi_grid_search(MPI_Comm comm, ndpar_pool *p, const ndpar_grid *g, const gsl_matrix *x,
                          const gsl_vector *y, const ndpar_folds *folds,
                          ndpar_param_fit_score_fn f, void *ctx, ndpar_grid_result *result) {
  return ndpar_mpi_grid_search_opts(comm, p, g, x, y, folds, f, ctx, NULL, result);
}

/* ---- cross-validation: a search of one candidate that stops at the first failure ---- */

typedef struct {
  ndpar_fit_score_fn f;
  void *ctx;
} cv_adapter;

static int cv_fold_fn(const void *params, size_t candidate, const gsl_matrix *xtr,
                      const gsl_vector *ytr, const gsl_matrix *xva, const gsl_vector *yva,
                      double *score, const ndpar_task *t, void *ctx) {
  (void)params;
  (void)candidate;
  const cv_adapter *a = ctx;
  return a->f(xtr, ytr, xva, yva, score, t, a->ctx);
}

int ndpar_mpi_cv_run(MPI_Comm comm, ndpar_pool *p, const gsl_matrix *x, const gsl_vector *y,
                     const ndpar_folds *folds, ndpar_fit_score_fn f, void *ctx,
                     gsl_vector *scores) {
  static const char one = 0;
  cv_adapter adapter = {f, ctx};
  ndpar_grid_options stop = {.flags = NDPAR_GRID_STOP_ON_ERROR};
  search_args a = {"mpi_cv_run", &one, 1, 1, x, y, folds, cv_fold_fn, &adapter, &stop, 0, comm, 0};
  size_t k = folds ? ndpar_folds_count(folds) : 0;
  if (f == NULL || scores == NULL || folds == NULL) {
    a.checked = GSL_EFAULT;
    ndpar_error_raise(GSL_EFAULT, __FILE__, __LINE__, "mpi_cv_run: f, scores or folds is NULL");
  } else if (scores->size != k) {
    a.checked = ndpar_error_fmt(GSL_EBADLEN, __FILE__, __LINE__,
                                "mpi_cv_run: scores has %zu entries for %zu folds", scores->size, k);
  }
  coll_call c;
  int rc = open_search(&c, &p, &a, a.checked, NULL);
  if (rc) return rc;
  double *s = NULL;
  int *status = NULL;
  if (rc == GSL_SUCCESS) rc = search(&c, p, &a, &s, &status);
  if (rc == GSL_SUCCESS) rc = first_failure(status, k);
  for (size_t i = 0; rc == GSL_SUCCESS && i < k; i++) gsl_vector_set(scores, i, s[i]);
  free(s);
  free(status);
  return rc;
}
