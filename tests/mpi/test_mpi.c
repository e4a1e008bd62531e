/* test_mpi.c: the mpi module's tests, run by `make test-mpi` under mpirun -np 1, 2, 3, 4.
 *
 * Not a Criterion binary: Criterion runs every test in a forked child, and MPI forbids
 * fork after MPI_Init (Open MPI warns, and a child cannot use the parent's communicator).
 * So this is a plain runner: main calls MPI_Init_thread(MPI_THREAD_FUNNELED) once and
 * runs every test in order in the one process; a test fails on a rank when one of its
 * CHECKs does, and the failures are summed over the ranks after each test, so every rank
 * agrees. Rank 0 prints Criterion-like lines ("[PASS] name", "[FAIL] name", and the
 * "Synthesis" line); the exit status is 1 if any test failed.
 *
 * Every result is compared with the one-process function on the same data, bit for bit.
 * Data come from a seed drawn on rank 0 and broadcast (NDPAR_TEST_SEED overrides it). */
#include "ndpar/ndpar_mpi.h"

#include <gsl/gsl_blas.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int rank, nranks;
static unsigned long seed;
static int failures;

#define CHECK(cond)                                                                    \
  do {                                                                                 \
    if (!(cond)) {                                                                     \
      failures++;                                                                      \
      fprintf(stderr, "rank %d: %s:%d: check failed: %s\n", rank, __FILE__, __LINE__, #cond); \
    }                                                                                  \
  } while (0)

/* ---- GSL errors: counted, the last reason kept ---- */
static int gsl_errors;
static char gsl_reason[512];
static void capture(const char *reason, const char *file, int line, int code) {
  (void)file, (void)line, (void)code;
  gsl_errors++;
  snprintf(gsl_reason, sizeof gsl_reason, "%s", reason);
}

static int same_bits(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

static int same_matrix(const gsl_matrix *a, const gsl_matrix *b) {
  if (a->size1 != b->size1 || a->size2 != b->size2) return 0;
  for (size_t i = 0; i < a->size1; i++)
    for (size_t j = 0; j < a->size2; j++)
      if (!same_bits(gsl_matrix_get(a, i, j), gsl_matrix_get(b, i, j))) return 0;
  return 1;
}

static int same_vector(const gsl_vector *a, const gsl_vector *b) {
  if (a->size != b->size) return 0;
  for (size_t i = 0; i < a->size; i++)
    if (!same_bits(gsl_vector_get(a, i), gsl_vector_get(b, i))) return 0;
  return 1;
}

static gsl_rng *rng_for(unsigned long salt) {
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(r, seed * 7919 + salt);
  return r;
}

/* ---- a model: ridge regression, scored by -MSE ---- */

static int ridge(double lambda, const gsl_matrix *xtr, const gsl_vector *ytr,
                 const gsl_matrix *xva, const gsl_vector *yva, double *score) {
  size_t p = xtr->size2;
  gsl_matrix *a = gsl_matrix_alloc(p, p);
  gsl_vector *b = gsl_vector_alloc(p), *w = gsl_vector_alloc(p), *r = gsl_vector_alloc(yva->size);
  gsl_blas_dgemm(CblasTrans, CblasNoTrans, 1.0, xtr, xtr, 0.0, a);
  for (size_t j = 0; j < p; j++) *gsl_matrix_ptr(a, j, j) += lambda;
  gsl_blas_dgemv(CblasTrans, 1.0, xtr, ytr, 0.0, b);
  gsl_error_handler_t *old = gsl_set_error_handler_off(); /* on worker threads: statuses only */
  int status = gsl_linalg_cholesky_decomp1(a);
  if (status == GSL_SUCCESS) status = gsl_linalg_cholesky_solve(a, b, w);
  gsl_set_error_handler(old);
  if (status == GSL_SUCCESS) {
    gsl_vector_memcpy(r, yva);
    gsl_blas_dgemv(CblasNoTrans, 1.0, xva, w, -1.0, r);
    double ss;
    gsl_blas_ddot(r, r, &ss);
    *score = -ss / (double)yva->size;
  }
  gsl_matrix_free(a);
  gsl_vector_free(b);
  gsl_vector_free(w);
  gsl_vector_free(r);
  return status;
}

typedef struct {
  double fail_lambda; /* this lambda fails ... */
  size_t fail_fold;   /* ... on this fold (GSL_EDOM) */
} model_ctx;

static int grid_fn(const void *params, size_t cand, const gsl_matrix *xtr, const gsl_vector *ytr,
                   const gsl_matrix *xva, const gsl_vector *yva, double *score,
                   const ndpar_task *t, void *vctx) {
  (void)cand;
  const model_ctx *m = vctx;
  double lambda = *(const double *)params;
  if (m && lambda == m->fail_lambda && t->index % 5 == m->fail_fold) return GSL_EDOM;
  return ridge(lambda, xtr, ytr, xva, yva, score);
}

static int cv_fn(const gsl_matrix *xtr, const gsl_vector *ytr, const gsl_matrix *xva,
                 const gsl_vector *yva, double *score, const ndpar_task *t, void *vctx) {
  const model_ctx *m = vctx;
  if (m && t->index == m->fail_fold) return GSL_ERANGE; /* on whichever rank runs it */
  return ridge(0.5, xtr, ytr, xva, yva, score);
}

static void ridge_data(gsl_matrix *x, gsl_vector *y) {
  gsl_rng *r = rng_for(1);
  for (size_t i = 0; i < x->size1; i++) {
    double t = 0;
    for (size_t j = 0; j < x->size2; j++) {
      double v = gsl_ran_gaussian(r, 1.0);
      gsl_matrix_set(x, i, j, v);
      t += v * (double)(j + 1);
    }
    gsl_vector_set(y, i, t + gsl_ran_gaussian(r, 0.5));
  }
  gsl_rng_free(r);
}

static int same_result(const ndpar_grid_result *a, const ndpar_grid_result *b) {
  int ok = same_matrix(a->scores, b->scores) && same_vector(a->mean, b->mean) &&
           same_vector(a->sd, b->sd) && a->best == b->best;
  for (size_t i = 0; ok && i < a->candidates; i++)
    ok = a->rank[i] == b->rank[i] && a->status[i] == b->status[i];
  return ok;
}

/* ---- progress ---- */
typedef struct {
  size_t calls, last, total;
  int increasing;
} progress_log;

static void on_progress(size_t done, size_t total, void *vctx) {
  progress_log *l = vctx;
  if (done <= l->last && l->calls) l->increasing = 0;
  l->calls++;
  l->last = done;
  l->total = total;
}

/* ---- the grid and cv tests ---- */

static void test_grid_matches_one_process(void) {
  const size_t n = 157, p = 4, k = 5;
  gsl_matrix *x = gsl_matrix_alloc(n, p);
  gsl_vector *y = gsl_vector_alloc(n);
  ridge_data(x, y);
  ndpar_folds *folds = ndpar_folds_kfold(n, k, 1, seed);
  for (size_t ncand = 1; ncand <= 13; ncand += 4) { /* fewer and more tasks than ranks x threads */
    double *lambdas = malloc(ncand * sizeof *lambdas);
    for (size_t i = 0; i < ncand; i++) lambdas[i] = pow(10.0, (double)i - 4.0);
    ndpar_grid *g = ndpar_grid_alloc();
    ndpar_grid_add(g, "lambda", lambdas, ncand);
    model_ctx m = {ncand > 1 ? lambdas[1] : -1, 2}; /* a failing fold: error_score NaN */
    ndpar_grid_result *one = ndpar_grid_result_alloc(ncand, k), *all = ndpar_grid_result_alloc(ncand, k);
    for (size_t threads = 1; threads <= 3; threads++) {
      ndpar_pool_config cfg;
      ndpar_pool_config_init(&cfg);
      cfg.threads = threads;
      cfg.bind = NDPAR_BIND_NONE;
      ndpar_pool *pool = ndpar_pool_alloc(&cfg);
      CHECK(ndpar_grid_search(pool, g, x, y, folds, grid_fn, &m, one) == GSL_SUCCESS);
      progress_log log = {0, 0, 0, 1};
      ndpar_grid_options opts = {0, on_progress, &log};
      CHECK(ndpar_mpi_grid_search_opts(MPI_COMM_WORLD, pool, g, x, y, folds, grid_fn, &m, &opts, all) == GSL_SUCCESS);
      CHECK(same_result(one, all));
      if (ncand > 1) CHECK(all->status[1] == GSL_EDOM && isnan(gsl_vector_get(all->mean, 1)));
      if (rank == 0) CHECK(log.calls >= 1 && log.last == ncand && log.total == ncand && log.increasing);
      else CHECK(log.calls == 0);
      ndpar_pool_free(pool);
    }
    /* The default pool, and the params form with the caller's structs. */
    CHECK(ndpar_mpi_grid_search_params(MPI_COMM_WORLD, NULL, lambdas, sizeof *lambdas, ncand, x, y, folds,
                                       grid_fn, &m, NULL, all) == GSL_SUCCESS);
    CHECK(same_result(one, all));
    ndpar_grid_result_free(one);
    ndpar_grid_result_free(all);
    ndpar_grid_free(g);
    free(lambdas);
  }
  ndpar_folds_free(folds);
  gsl_matrix_free(x);
  gsl_vector_free(y);
}

static void test_grid_stop_on_error(void) {
  const size_t n = 60, p = 3, k = 5, ncand = 6;
  gsl_matrix *x = gsl_matrix_alloc(n, p);
  gsl_vector *y = gsl_vector_alloc(n);
  ridge_data(x, y);
  ndpar_folds *folds = ndpar_folds_kfold(n, k, 0, 0);
  double lambdas[6] = {1, 2, 3, 4, 5, 6};
  model_ctx m = {4, 3};
  ndpar_grid_result *r = ndpar_grid_result_alloc(ncand, k);
  gsl_matrix_set_all(r->scores, 42.0);
  ndpar_grid_options opts = {NDPAR_GRID_STOP_ON_ERROR, NULL, NULL};
  int rc = ndpar_mpi_grid_search_params(MPI_COMM_WORLD, NULL, lambdas, sizeof(double), ncand, x, y,
                                        folds, grid_fn, &m, &opts, r);
  CHECK(rc == GSL_EDOM);
  CHECK(gsl_matrix_get(r->scores, 0, 0) == 42.0); /* untouched */
  ndpar_grid_result_free(r);
  ndpar_folds_free(folds);
  gsl_matrix_free(x);
  gsl_vector_free(y);
}

static void test_cv_matches_one_process(void) {
  const size_t n = 101, p = 3;
  gsl_matrix *x = gsl_matrix_alloc(n, p);
  gsl_vector *y = gsl_vector_alloc(n);
  ridge_data(x, y);
  for (size_t k = 2; k <= 7; k += 5) {
    ndpar_folds *folds = ndpar_folds_kfold(n, k, 1, seed + k);
    gsl_vector *one = gsl_vector_alloc(k), *all = gsl_vector_alloc(k);
    CHECK(ndpar_cv_run(NULL, x, y, folds, cv_fn, NULL, one) == GSL_SUCCESS);
    CHECK(ndpar_mpi_cv_run(MPI_COMM_WORLD, NULL, x, y, folds, cv_fn, NULL, all) == GSL_SUCCESS);
    CHECK(same_vector(one, all));
    /* Fold 1 fails on the rank that runs it: every rank returns its code, scores kept. */
    model_ctx m = {0, 1};
    gsl_vector_set_all(all, 7.0);
    CHECK(ndpar_mpi_cv_run(MPI_COMM_WORLD, NULL, x, y, folds, cv_fn, &m, all) == GSL_ERANGE);
    CHECK(gsl_vector_get(all, 0) == 7.0 && gsl_vector_get(all, k - 1) == 7.0);
    gsl_vector_free(one);
    gsl_vector_free(all);
    ndpar_folds_free(folds);
  }
  gsl_matrix_free(x);
  gsl_vector_free(y);
}

/* Arguments that must agree and do not: every rank returns the same code, and the
 * message names the argument and the rank. */
static void test_differing_arguments(void) {
  const size_t n = 40, p = 2;
  gsl_matrix *x = gsl_matrix_alloc(n, p);
  gsl_vector *y = gsl_vector_alloc(n);
  ridge_data(x, y);
  int last = nranks - 1;
  size_t k = rank == last && nranks > 1 ? 4 : 5;
  ndpar_folds *folds = ndpar_folds_kfold(n, k, 0, 0);
  gsl_vector *scores = gsl_vector_alloc(k);
  gsl_set_error_handler(capture);
  gsl_errors = 0;
  int rc = ndpar_mpi_cv_run(MPI_COMM_WORLD, NULL, x, y, folds, cv_fn, NULL, scores);
  if (nranks > 1) {
    char want[64];
    snprintf(want, sizeof want, "rank %d", last);
    CHECK(rc == GSL_EBADLEN && gsl_errors == 1);
    CHECK(strstr(gsl_reason, "number of folds") != NULL && strstr(gsl_reason, want) != NULL);
  } else {
    CHECK(rc == GSL_SUCCESS);
  }
  /* A NULL argument on one rank: its GSL_EFAULT on every rank. */
  gsl_errors = 0;
  rc = ndpar_mpi_cv_run(MPI_COMM_WORLD, NULL, x, y, folds, rank == last ? NULL : cv_fn, NULL, scores);
  CHECK(rc == GSL_EFAULT && gsl_errors >= 1);
  /* The grid's contents differ: GSL_EINVAL. */
  double lam[2] = {1, rank == last && nranks > 1 ? 3 : 2};
  ndpar_grid_result *r = ndpar_grid_result_alloc(2, k);
  gsl_errors = 0;
  ndpar_folds *same = ndpar_folds_kfold(n, 5, 0, 0);
  ndpar_grid_result *r5 = ndpar_grid_result_alloc(2, 5);
  rc = ndpar_mpi_grid_search_params(MPI_COMM_WORLD, NULL, lam, sizeof(double), 2, x, y, same, grid_fn,
                                    NULL, NULL, r5);
  CHECK(rc == (nranks > 1 ? GSL_EINVAL : GSL_SUCCESS));
  if (nranks > 1) CHECK(strstr(gsl_reason, "parameters") != NULL);
  gsl_set_error_handler(NULL);
  ndpar_grid_result_free(r);
  ndpar_grid_result_free(r5);
  ndpar_folds_free(same);
  ndpar_folds_free(folds);
  gsl_vector_free(scores);
  gsl_matrix_free(x);
  gsl_vector_free(y);
}

/* MPI_COMM_NULL is refused without any communication. */
static void test_bad_communicator(void) {
  gsl_set_error_handler(capture);
  gsl_errors = 0;
  gsl_vector *s = gsl_vector_alloc(2);
  CHECK(ndpar_mpi_cv_run(MPI_COMM_NULL, NULL, NULL, NULL, NULL, cv_fn, NULL, s) == GSL_EINVAL);
  CHECK(gsl_errors >= 1 && strstr(gsl_reason, "MPI_COMM_NULL") != NULL);
  gsl_set_error_handler(NULL);
  gsl_vector_free(s);
}

/* ---- the runner ---- */

typedef struct {
  const char *name;
  void (*fn)(void);
} test_case;

static const test_case tests[] = {
    {"grid_matches_one_process", test_grid_matches_one_process},
    {"grid_stop_on_error", test_grid_stop_on_error},
    {"cv_matches_one_process", test_cv_matches_one_process},
    {"differing_arguments", test_differing_arguments},
    {"bad_communicator", test_bad_communicator},
};

/* Before MPI_Init: a clear error, not a crash. */
static int test_not_initialised(void) {
  gsl_set_error_handler(capture);
  gsl_vector *s = gsl_vector_alloc(2);
  int ok = ndpar_mpi_cv_run(MPI_COMM_WORLD, NULL, NULL, NULL, NULL, cv_fn, NULL, s) == GSL_EINVAL &&
           strstr(gsl_reason, "not initialised") != NULL;
  gsl_vector_free(s);
  gsl_set_error_handler(NULL);
  return ok;
}

int main(int argc, char **argv) {
  int early_ok = test_not_initialised();
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &nranks);
  const char *env = getenv("NDPAR_TEST_SEED");
  seed = env ? strtoul(env, NULL, 10) : (unsigned long)time(NULL);
  MPI_Bcast(&seed, 1, MPI_UNSIGNED_LONG, 0, MPI_COMM_WORLD);
  if (rank == 0) printf("[----] %d ranks, random data seed: NDPAR_TEST_SEED=%lu\n", nranks, seed);
  int unbound_only = argc > 1 && strcmp(argv[1], "--unbound") == 0;
  int passed = 0, failed = 0, total = 0;
  if (!unbound_only) {
    int bad = 0, early_fail = !early_ok;
    MPI_Allreduce(&early_fail, &bad, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0) printf("[%s] not_initialised\n", bad ? "FAIL" : "PASS");
    total++, bad ? failed++ : passed++;
  }
  for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
    int unbound_test = strncmp(tests[i].name, "unbound", 7) == 0;
    if (unbound_test != unbound_only) continue;
    failures = 0;
    tests[i].fn();
    int bad = 0;
    MPI_Allreduce(&failures, &bad, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0) printf("[%s] %s\n", bad ? "FAIL" : "PASS", tests[i].name);
    total++, bad ? failed++ : passed++;
  }
  if (rank == 0)
    printf("[====] Synthesis: Tested: %d | Passing: %d | Failing: %d | Crashing: 0\n", total, passed, failed);
  fflush(stdout);
  MPI_Finalize();
  return failed ? 1 : 0;
}
