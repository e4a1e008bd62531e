/* infer.c: batch inference over every rank's local batches. Batch i of rank r is known
 * by its global index (the batches of lower ranks first), which the callback sees and
 * from which Monte Carlo streams derive: (seed, global batch, sample) alone decides every
 * draw, so the statistics of a batch are the same bits wherever it runs. */
#include "mpi/mpi_internal.h"
#include "batch/batch_internal.h"
#include "ndpar_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  ndpar_predict_fn f;
  void *ctx;
  size_t index0;
} offset_ctx;

static int offset_fn(const gsl_matrix *x, gsl_matrix *y, const ndpar_task *t, void *vctx) {
  const offset_ctx *o = vctx;
  ndpar_task global = {o->index0 + t->index, t->worker, t->rng};
  return o->f(x, y, &global, o->ctx);
}

int ndpar_mpi_batch_infer(MPI_Comm comm, ndpar_pool *p, const gsl_matrix *const *x,
                          gsl_matrix *const *y, size_t n_local, ndpar_predict_fn f, void *ctx) {
  const char *who = "mpi_batch_infer";
  size_t cols = SIZE_MAX;
  int checked = f ? GSL_SUCCESS : GSL_EFAULT;
  if (checked) ndpar_error_raise(checked, __FILE__, __LINE__, "mpi_batch_infer: f is NULL");
  if (checked == GSL_SUCCESS && n_local > 0) checked = ndpar_check_inputs(who, x, n_local);
  if (checked == GSL_SUCCESS && n_local > 0) checked = ndpar_check_outputs(who, "y", x, y, n_local, &cols);
  coll_local mine = {checked, NULL, 0, n_local, 0.0};
  coll_call c;
  int status = coll_open(&c, who, comm, &p, &mine);
  if (status == GSL_SUCCESS) {
    offset_ctx o = {f, ctx, c.index0};
    status = coll_agree(&c, n_local ? ndpar_batch_infer(p, x, y, n_local, offset_fn, &o) : 0, 0);
  }
  return status;
}

/* Output matrices shaped like `like` (n of them), or NULL arrays where like is NULL. */
static gsl_matrix **shaped_like(gsl_matrix *const *like, size_t n, int *ok) {
  if (like == NULL || n == 0) return NULL;
  gsl_matrix **m = calloc(n, sizeof *m);
  *ok = *ok && m != NULL;
  for (size_t i = 0; *ok && i < n; i++)
    *ok = (m[i] = gsl_matrix_alloc(like[i]->size1, like[i]->size2)) != NULL;
  return m;
}

static void copy_into(gsl_matrix *const *to, gsl_matrix **from, size_t n) {
  for (size_t i = 0; to && from && i < n; i++) gsl_matrix_memcpy(to[i], from[i]);
}

static void free_shaped(gsl_matrix **m, size_t n) {
  for (size_t i = 0; m && i < n; i++) gsl_matrix_free(m[i]);
  free(m);
}

/* The lowest global index of a failing batch over the ranks (total if none). */
static int lowest_failure(coll_call *c, int local_status, size_t local_failed, size_t index0,
                          size_t total, size_t *failed) {
  unsigned long long mine = local_status ? index0 + local_failed : total, low = total;
  int rc = MPI_Allreduce(&mine, &low, 1, MPI_UNSIGNED_LONG_LONG, MPI_MIN, c->comm);
  if (failed) *failed = (size_t)low;
  return coll_check(c, rc, "finding the failing batch");
}

int ndpar_mpi_batch_infer_mc_interval(MPI_Comm comm, ndpar_pool *p, const gsl_matrix *const *x,
                                      size_t n_local, size_t samples, unsigned long seed,
                                      double level, ndpar_predict_fn f, void *ctx,
                                      gsl_matrix *const *mean, gsl_matrix *const *sd,
                                      gsl_matrix *const *lower, gsl_matrix *const *upper,
                                      size_t *failed) {
  size_t cols = 0;
  int checked = batch_mc_check(x, n_local, samples, level, f, mean, sd, lower, upper, &cols);
  coll_arg args[] = {{"samples", (long long)samples, GSL_EINVAL, COLL_INTEGER},
                     {"seed", (long long)seed, GSL_EINVAL, COLL_UNSIGNED},
                     {"level", coll_double_bits(level), GSL_EINVAL, COLL_DOUBLE},
                     {"whether sd is wanted", sd != NULL, GSL_EINVAL, COLL_INTEGER}};
  coll_local mine = {checked, args, 4, n_local, 0.0};
  coll_call c;
  int status = coll_open(&c, "mpi_batch_infer_mc", comm, &p, &mine);
  if (status) return status;
  size_t index0 = c.index0, total = c.total;
  /* Into private outputs first: a rank's outputs change only if every rank succeeded. */
  int ok = 1;
  gsl_matrix **m = shaped_like(mean, n_local, &ok), **s = shaped_like(sd, n_local, &ok);
  gsl_matrix **lo = level > 0 ? shaped_like(lower, n_local, &ok) : NULL;
  gsl_matrix **hi = level > 0 ? shaped_like(upper, n_local, &ok) : NULL;
  int local = ok ? GSL_SUCCESS : GSL_ENOMEM;
  if (!ok) ndpar_error_raise(local, __FILE__, __LINE__, "mpi_batch_infer_mc: out of memory");
  size_t at = n_local;
  if (local == GSL_SUCCESS && n_local > 0)
    local = batch_infer_mc_from(p, x, n_local, index0, samples, seed, level, f, ctx, m, s, lo, hi, &at);
  status = coll_agree(&c, local, 0);
  if (failed) *failed = total;
  if (status != GSL_SUCCESS) lowest_failure(&c, local, at, index0, total, failed); /* on every rank */
  if (status == GSL_SUCCESS) {
    copy_into(mean, m, n_local);
    copy_into(sd, s, n_local);
    copy_into(level > 0 ? lower : NULL, lo, n_local);
    copy_into(level > 0 ? upper : NULL, hi, n_local);
  }
  free_shaped(m, n_local);
  free_shaped(s, n_local);
  free_shaped(lo, n_local);
  free_shaped(hi, n_local);
  return status;
}

int ndpar_mpi_batch_infer_mc(MPI_Comm comm, ndpar_pool *p, const gsl_matrix *const *x,
                             size_t n_local, size_t samples, unsigned long seed,
                             ndpar_predict_fn f, void *ctx, gsl_matrix *const *mean,
                             gsl_matrix *const *sd) {
  return ndpar_mpi_batch_infer_mc_interval(comm, p, x, n_local, samples, seed, 0, f, ctx, mean, sd,
                                           NULL, NULL, NULL);
}
