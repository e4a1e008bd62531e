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
#include "ridge.h"

#include <gsl/gsl_randist.h>
#include <hwloc.h>
#include <gsl/gsl_rng.h>
#include <float.h>
#include <math.h>
#include <sched.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

/* ---- the model: ridge regression (tests/common/ridge.c), scored by -MSE ---- */

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
  return ridge_fit_score(lambda, xtr, ytr, xva, yva, score);
}

static int cv_fn(const gsl_matrix *xtr, const gsl_vector *ytr, const gsl_matrix *xva,
                 const gsl_vector *yva, double *score, const ndpar_task *t, void *vctx) {
  const model_ctx *m = vctx;
  if (m && t->index == m->fail_fold) return GSL_ERANGE; /* on whichever rank runs it */
  return ridge_fit_score(0.5, xtr, ytr, xva, yva, score);
}

/* n x p data, the same on every rank (the broadcast seed): y = x beta + noise. */
static void shared_data(size_t n, size_t p, gsl_matrix **x, gsl_vector **y) {
  *x = gsl_matrix_alloc(n, p);
  *y = gsl_vector_alloc(n);
  gsl_rng *r = rng_for(1);
  for (size_t i = 0; i < n; i++) {
    double t = 0;
    for (size_t j = 0; j < p; j++) {
      double v = gsl_ran_gaussian(r, 1.0);
      gsl_matrix_set(*x, i, j, v);
      t += v * (double)(j + 1);
    }
    gsl_vector_set(*y, i, t + gsl_ran_gaussian(r, 0.5));
  }
  gsl_rng_free(r);
}

static int same_result(const ndpar_grid_result *a, const ndpar_grid_result *b) {
  int ok = same_matrix(a->scores, b->scores) && same_vector(a->mean, b->mean) &&
           same_vector(a->sd, b->sd) && a->best == b->best && same_matrix(a->all_scores, b->all_scores) &&
           (a->best_params == NULL) == (b->best_params == NULL) &&
           (a->best_params == NULL || memcmp(a->best_params, b->best_params, a->params_size) == 0);
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
  gsl_matrix *x;
  gsl_vector *y;
  shared_data(n, p, &x, &y);
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
      ndpar_grid_options opts = {.progress = on_progress, .progress_ctx = &log};
      CHECK(ndpar_mpi_grid_search_opts(MPI_COMM_WORLD, pool, g, x, y, folds, grid_fn, &m, &opts, all) == GSL_SUCCESS);
      CHECK(same_result(one, all));
      if (ncand > 1) CHECK(all->status[1] == GSL_EDOM && isnan(gsl_vector_get(all->mean, 1)));
      /* a numeric error_score and the population sd: the same summary in both forms */
      ndpar_grid_options sk = {.flags = NDPAR_GRID_ERROR_SCORE | NDPAR_GRID_POPULATION_SD, .error_score = -5};
      CHECK(ndpar_grid_search_opts(pool, g, x, y, folds, grid_fn, &m, &sk, one) == GSL_SUCCESS);
      CHECK(ndpar_mpi_grid_search_opts(MPI_COMM_WORLD, pool, g, x, y, folds, grid_fn, &m, &sk, all) == GSL_SUCCESS);
      CHECK(same_result(one, all));
      if (ncand > 1) CHECK(all->status[1] == GSL_EDOM && gsl_matrix_get(all->scores, 1, 2) == -5);
      CHECK(ndpar_grid_search(pool, g, x, y, folds, grid_fn, &m, one) == GSL_SUCCESS);
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

static ndpar_pool *pool_of(size_t threads);

/* The model search over the ranks: the ranking score's matrix, means, sds, ranks and best
 * of the one-process model search, and the same refit model on every rank. */
static void test_model_search_matches_one_process(void) {
  const size_t n = 120, k = 4;
  gsl_matrix *x;
  gsl_vector *y1;
  shared_data(n, 3, &x, &y1);
  gsl_matrix *y = gsl_matrix_alloc(n, 2);
  for (size_t i = 0; i < n; i++) {
    gsl_matrix_set(y, i, 0, gsl_vector_get(y1, i));
    gsl_matrix_set(y, i, 1, 0.5 * gsl_vector_get(y1, i) + gsl_matrix_get(x, i, 0));
  }
  ndpar_folds *folds = ndpar_folds_timeseries(n, k, 15, 15, 2, 0);
  ndpar_model *steps[] = {ndpar_scaler_model_alloc(NDPAR_SCALE_STANDARD), ndpar_ridge_alloc(1.0)};
  ndpar_model *chain = ndpar_chain_alloc(steps, 2);
  double alphas[] = {1e-3, 0.1, 10, 1e3, 1e5};
  ndpar_grid *g = ndpar_grid_alloc();
  ndpar_grid_add(g, "ridge.alpha", alphas, 5);
  ndpar_score_kind kinds[] = {NDPAR_SCORE_R2, NDPAR_SCORE_NEG_MAE};
  ndpar_grid_options opts = {.flags = NDPAR_GRID_REFIT, .scores = kinds, .nscores = 2, .rank_score = 1};
  ndpar_grid_result *one = ndpar_grid_result_alloc_est(5, k, 2, 0);
  ndpar_grid_result *all = ndpar_grid_result_alloc(5, k);
  CHECK(ndpar_grid_search_model(NULL, g, x, y, folds, chain, &opts, one) == GSL_SUCCESS);
  for (size_t threads = 1; threads <= 2; threads++) {
    ndpar_pool *pool = pool_of(threads);
    CHECK(ndpar_mpi_grid_search_model(MPI_COMM_WORLD, pool, g, x, y, folds, chain, &opts, all) == GSL_SUCCESS);
    CHECK(same_matrix(one->scores, all->scores) && same_vector(one->mean, all->mean) &&
          same_vector(one->sd, all->sd) && one->best == all->best);
    for (size_t c = 0; c < 5; c++) CHECK(one->rank[c] == all->rank[c]);
    const ndpar_model *a = ndpar_grid_result_model(one);
    const ndpar_model *b = ndpar_grid_result_model(all);
    CHECK(a != NULL && b != NULL);
    if (a != NULL && b != NULL) {
      gsl_matrix *pa = gsl_matrix_alloc(n, 2);
      gsl_matrix *pb = gsl_matrix_alloc(n, 2);
      CHECK(ndpar_model_predict(pool, a, x, pa) == GSL_SUCCESS);
      CHECK(ndpar_model_predict(pool, b, x, pb) == GSL_SUCCESS);
      CHECK(same_matrix(pa, pb));
      gsl_matrix_free(pa);
      gsl_matrix_free(pb);
    }
    /* cross-validation of the refit's parameters: the one-process scores, bit for bit */
    gsl_vector *cv_one = gsl_vector_alloc(k);
    gsl_vector *cv_all = gsl_vector_alloc(k);
    CHECK(ndpar_model_cross_validate(pool, chain, x, y, folds, NDPAR_SCORE_R2, cv_one) == GSL_SUCCESS);
    CHECK(ndpar_mpi_model_cross_validate(MPI_COMM_WORLD, pool, chain, x, y, folds, NDPAR_SCORE_R2,
                                         cv_all) == GSL_SUCCESS);
    CHECK(same_vector(cv_one, cv_all));
    gsl_vector_free(cv_one);
    gsl_vector_free(cv_all);
    ndpar_pool_free(pool);
  }
  ndpar_grid_result_free(one);
  ndpar_grid_result_free(all);
  ndpar_grid_free(g);
  ndpar_model_free(chain);
  ndpar_folds_free(folds);
  gsl_matrix_free(x);
  gsl_matrix_free(y);
  gsl_vector_free(y1);
}

static void test_grid_stop_on_error(void) {
  const size_t n = 60, p = 3, k = 5, ncand = 6;
  gsl_matrix *x;
  gsl_vector *y;
  shared_data(n, p, &x, &y);
  ndpar_folds *folds = ndpar_folds_kfold(n, k, 0, 0);
  double lambdas[6] = {1, 2, 3, 4, 5, 6};
  model_ctx m = {4, 3};
  ndpar_grid_result *r = ndpar_grid_result_alloc(ncand, k);
  gsl_matrix_set_all(r->scores, 42.0);
  ndpar_grid_options opts = {.flags = NDPAR_GRID_STOP_ON_ERROR};
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
  gsl_matrix *x;
  gsl_vector *y;
  shared_data(n, p, &x, &y);
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
  gsl_matrix *x;
  gsl_vector *y;
  shared_data(n, p, &x, &y);
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

/* On communicators of the caller's that come and go (ndpar's duplicate of each is cached
 * on it and freed with it): halves of the world, each its own search, then freed. */
static void test_subcommunicators(void) {
  const size_t n = 50, p = 2;
  gsl_matrix *x;
  gsl_vector *y;
  shared_data(n, p, &x, &y);
  for (int round = 0; round < 3; round++) {
    MPI_Comm half;
    MPI_Comm_split(MPI_COMM_WORLD, rank % 2, rank, &half);
    ndpar_folds *folds = ndpar_folds_kfold(n, 3 + (size_t)(rank % 2), 1, seed);
    gsl_vector *one = gsl_vector_alloc(ndpar_folds_count(folds)), *all = gsl_vector_alloc(ndpar_folds_count(folds));
    CHECK(ndpar_cv_run(NULL, x, y, folds, cv_fn, NULL, one) == GSL_SUCCESS);
    for (int call = 0; call < 2; call++) { /* the second call finds the cached duplicate */
      CHECK(ndpar_mpi_cv_run(half, NULL, x, y, folds, cv_fn, NULL, all) == GSL_SUCCESS);
      CHECK(same_vector(one, all));
    }
    MPI_Comm_free(&half);
    gsl_vector_free(one);
    gsl_vector_free(all);
    ndpar_folds_free(folds);
  }
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


/* ---- gradients ---- */

/* The global batches are spread over the ranks unevenly, in rank order (rank 0 may have
 * none): rank r holds [first, first + count). */
static void my_share(size_t n, size_t *first, size_t *count) {
  size_t lo = 0;
  for (int r = 0; r <= rank; r++) {
    size_t c = r == 0 ? n / (2 * (size_t)nranks) : (n - n / (2 * (size_t)nranks)) / (size_t)(nranks > 1 ? nranks - 1 : 1);
    if (nranks == 1) c = n;
    if (r == nranks - 1) c = n - lo;
    if (r == rank) {
      *first = lo;
      *count = c;
    }
    lo += c;
  }
}

/* A gradient whose entries span many binades and signs, decided by (global batch, j) and
 * the rows: a wrong t->index or a lost batch changes the result. */
typedef struct {
  int fail_at; /* this global batch fails (-1: none) */
  int extreme;
} grad_opts;

static int grad_fn(const gsl_matrix *x, const gsl_vector *y, gsl_vector *g, double *loss,
                   const ndpar_task *t, void *vctx) {
  const grad_opts *o = vctx;
  if (o && o->fail_at >= 0 && (size_t)o->fail_at == t->index) return GSL_EDOM;
  /* extreme: batches whose gradients are near overflow, or subnormal */
  int shift = o && o->extreme ? (t->index % 3 == 0 ? 900 : t->index % 3 == 1 ? -1040 : 0) : 0;
  uint64_t h = 0x9e3779b97f4a7c15u * (t->index + 1);
  for (size_t j = 0; j < g->size; j++) {
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9u;
    double u = (double)(h >> 11) * 0x1p-53 - 0.5;
    gsl_vector_set(g, j, ldexp(u, (int)(h % 61) - 30 + shift) + (shift ? 0 : gsl_matrix_get(x, 0, 0)));
  }
  *loss = gsl_vector_get(y, 0) * (double)(t->index % 7);
  return GSL_SUCCESS;
}

typedef struct {
  size_t n;
  gsl_matrix **x;
  gsl_vector **y;
} batches;

static batches make_batches(size_t n, gsl_rng *r) {
  batches b = {n, malloc((n ? n : 1) * sizeof(gsl_matrix *)), malloc((n ? n : 1) * sizeof(gsl_vector *))};
  for (size_t i = 0; i < n; i++) {
    size_t rows = 1 + gsl_rng_uniform_int(r, 9);
    b.x[i] = gsl_matrix_alloc(rows, 2);
    b.y[i] = gsl_vector_alloc(rows);
    for (size_t k = 0; k < rows; k++) {
      gsl_matrix_set(b.x[i], k, 0, gsl_ran_gaussian(r, 1));
      gsl_matrix_set(b.x[i], k, 1, gsl_ran_gaussian(r, 1));
      gsl_vector_set(b.y[i], k, gsl_ran_gaussian(r, 1));
    }
  }
  return b;
}

static void free_batches(batches b) {
  for (size_t i = 0; i < b.n; i++) {
    gsl_matrix_free(b.x[i]);
    gsl_vector_free(b.y[i]);
  }
  free(b.x);
  free(b.y);
}

static ndpar_pool *pool_of(size_t threads) {
  ndpar_pool_config cfg;
  ndpar_pool_config_init(&cfg);
  cfg.threads = threads;
  cfg.bind = NDPAR_BIND_NONE;
  return ndpar_pool_alloc(&cfg);
}

static void test_grad_deterministic_matches_one_process(void) {
  size_t ns[] = {1, 3, 4, 5, 37, 300}, Ps[] = {1, 7, 20000};
  gsl_rng *r = rng_for(2);
  for (size_t a = 0; a < sizeof ns / sizeof *ns; a++)
    for (size_t b = 0; b < sizeof Ps / sizeof *Ps; b++) {
      size_t n = ns[a], P = Ps[b], first = 0, count = 0;
      batches all = make_batches(n, r);
      my_share(n, &first, &count);
      gsl_vector *one = gsl_vector_alloc(P), *dist = gsl_vector_alloc(P), *fast = gsl_vector_alloc(P);
      double l1 = 0, l2 = 0, l3 = 0;
      ndpar_pool *p1 = pool_of(1 + (size_t)rank % 3);
      /* Extremes (near overflow and subnormal batches) with the largest P and n. */
      grad_opts plain = {-1, 0}, extreme = {-1, 1}, *go = P == 20000 && n == 300 ? &extreme : &plain;
      CHECK(ndpar_grad_compute(p1, (const gsl_matrix *const *)all.x, (const gsl_vector *const *)all.y, n,
                               grad_fn, go, NDPAR_REDUCE_DETERMINISTIC, one, &l1) == GSL_SUCCESS);
      for (size_t threads = 1; threads <= 3; threads += 2) {
        ndpar_pool *p = pool_of(threads);
        CHECK(ndpar_mpi_grad_compute(MPI_COMM_WORLD, p, (const gsl_matrix *const *)all.x + first,
                                     (const gsl_vector *const *)all.y + first, count, grad_fn, go,
                                     NDPAR_REDUCE_DETERMINISTIC, dist, &l2) == GSL_SUCCESS);
        CHECK(same_vector(one, dist) && same_bits(l1, l2));
        ndpar_pool_free(p);
      }
      CHECK(ndpar_mpi_grad_compute(MPI_COMM_WORLD, NULL, (const gsl_matrix *const *)all.x + first,
                                   (const gsl_vector *const *)all.y + first, count, grad_fn, go,
                                   NDPAR_REDUCE_FAST, fast, &l3) == GSL_SUCCESS);
      /* Fast: within recursive summation's bound, n eps max|term| (terms reach 2^30 + |x|,
       * or 2^930 for the extremes). */
      double bound = 4.0 * (double)(n + 2) * DBL_EPSILON * (go->extreme ? 0x1p931 : 0x1p31);
      for (size_t j = 0; j < P; j++) CHECK(fabs(gsl_vector_get(fast, j) - gsl_vector_get(one, j)) <= bound);
      CHECK(fabs(l3 - l1) <= 1e-12 * (1 + fabs(l1)));
      ndpar_pool_free(p1);
      gsl_vector_free(one);
      gsl_vector_free(dist);
      gsl_vector_free(fast);
      free_batches(all);
    }
  gsl_rng_free(r);
}

/* ndpar_mpi_grad_compute over this rank's share of all, with global batch `at` failing:
 * GSL_EDOM (the callback's code) on every rank. */
static int fails_everywhere(ndpar_pool *p, const batches *all, size_t first, size_t count, size_t at,
                            ndpar_reduce mode, gsl_vector *out) {
  grad_opts fail = {(int)at, 0};
  double loss;
  gsl_set_error_handler(capture);
  int rc = ndpar_mpi_grad_compute(MPI_COMM_WORLD, p, (const gsl_matrix *const *)all->x + first,
                                  (const gsl_vector *const *)all->y + first, count, grad_fn, &fail, mode, out, &loss);
  gsl_set_error_handler(NULL);
  return rc == GSL_EDOM;
}

/* Groups of G = 16 batches (P >= 4096) cut by rank boundaries: every rank holds 0, 1,
 * G - 1, G or G + 1 batches, in every rotation of that pattern over the ranks, so that
 * groups start, end, pass through and are continued on ranks of every kind (a rank with
 * none, a rank inside one group). DETERMINISTIC equals one process over the concatenation
 * bit for bit at 1 and 3 threads per rank; a failure inside a continued group still comes
 * back everywhere. */
static void test_grad_groups_cut_by_ranks(void) {
  const size_t G = 16, P = 4100, pattern[5] = {0, 1, G - 1, G, G + 1};
  gsl_rng *r = rng_for(5);
  for (size_t shift = 0; shift < 5; shift++) {
    size_t n = 0, first = 0, count = 0;
    for (int k = 0; k < nranks; k++) {
      size_t c = pattern[((size_t)k + shift) % 5];
      if (k == rank) first = n, count = c;
      n += c;
    }
    if (n == 0) continue;
    batches all = make_batches(n, r);
    gsl_vector *one = gsl_vector_alloc(P), *dist = gsl_vector_alloc(P);
    double l1 = 0, l2 = 0;
    grad_opts plain = {-1, 0};
    ndpar_pool *p1 = pool_of(1 + (size_t)rank % 3);
    CHECK(ndpar_grad_compute(p1, (const gsl_matrix *const *)all.x, (const gsl_vector *const *)all.y, n, grad_fn,
                             &plain, NDPAR_REDUCE_DETERMINISTIC, one, &l1) == GSL_SUCCESS);
    for (size_t threads = 1; threads <= 3; threads += 2) {
      ndpar_pool *p = pool_of(threads);
      gsl_vector_set_all(dist, -1.0);
      CHECK(ndpar_mpi_grad_compute(MPI_COMM_WORLD, p, (const gsl_matrix *const *)all.x + first,
                                   (const gsl_vector *const *)all.y + first, count, grad_fn, &plain,
                                   NDPAR_REDUCE_DETERMINISTIC, dist, &l2) == GSL_SUCCESS);
      CHECK(same_vector(one, dist) && same_bits(l1, l2));
      ndpar_pool_free(p);
    }
    /* a failing batch in the middle of the global order: its code on every rank */
    CHECK(fails_everywhere(p1, &all, first, count, n / 2, NDPAR_REDUCE_DETERMINISTIC, dist));
    ndpar_pool_free(p1);
    gsl_vector_free(one);
    gsl_vector_free(dist);
    free_batches(all);
  }
  gsl_rng_free(r);
}

/* FAST equal to the one-process result within recursive summation's bound, at 1 and 3
 * threads per rank, loss included, into a contiguous grad and into a strided one (a
 * matrix column), past one bucket (P = 300,000: three buckets of 2^17 doubles and the
 * tail's) and within one; a failure still reaches every rank and leaves every entry of
 * grad as it was. */
static void fast_matches_one_process(size_t P, unsigned long seed) {
  const size_t n = 7;
  gsl_rng *r = rng_for(seed);
  batches all = make_batches(n, r);
  size_t first = 0, count = 0;
  my_share(n, &first, &count);
  gsl_vector *one = gsl_vector_alloc(P), *dist = gsl_vector_alloc(P);
  double l1 = 0, l2 = 0;
  grad_opts plain = {-1, 0};
  ndpar_pool *p1 = pool_of(1);
  CHECK(ndpar_grad_compute(p1, (const gsl_matrix *const *)all.x, (const gsl_vector *const *)all.y, n, grad_fn,
                           &plain, NDPAR_REDUCE_DETERMINISTIC, one, &l1) == GSL_SUCCESS);
  double bound = 4.0 * (double)(n + 2) * DBL_EPSILON * 0x1p31;
  for (size_t threads = 1; threads <= 3; threads += 2) {
    ndpar_pool *p = pool_of(threads);
    gsl_vector_set_all(dist, NAN);
    CHECK(ndpar_mpi_grad_compute(MPI_COMM_WORLD, p, (const gsl_matrix *const *)all.x + first,
                                 (const gsl_vector *const *)all.y + first, count, grad_fn, &plain,
                                 NDPAR_REDUCE_FAST, dist, &l2) == GSL_SUCCESS);
    int close = 1;
    for (size_t j = 0; j < P; j++) close &= fabs(gsl_vector_get(dist, j) - gsl_vector_get(one, j)) <= bound;
    CHECK(close);
    CHECK(fabs(l2 - l1) <= 1e-12 * (1 + fabs(l1)));
    ndpar_pool_free(p);
  }
  gsl_matrix *cols = gsl_matrix_alloc(P, 2);
  gsl_vector_view col = gsl_matrix_column(cols, 1);
  gsl_matrix_set_all(cols, NAN);
  double l3 = 0;
  CHECK(ndpar_mpi_grad_compute(MPI_COMM_WORLD, p1, (const gsl_matrix *const *)all.x + first,
                               (const gsl_vector *const *)all.y + first, count, grad_fn, &plain,
                               NDPAR_REDUCE_FAST, &col.vector, &l3) == GSL_SUCCESS);
  int strided_close = 1, other_column_kept = 1;
  for (size_t j = 0; j < P; j++) {
    strided_close &= fabs(gsl_matrix_get(cols, j, 1) - gsl_vector_get(one, j)) <= bound;
    other_column_kept &= isnan(gsl_matrix_get(cols, j, 0));
  }
  CHECK(strided_close && other_column_kept && fabs(l3 - l1) <= 1e-12 * (1 + fabs(l1)));
  gsl_matrix_free(cols);
  gsl_vector_set_all(dist, 7.0);
  CHECK(fails_everywhere(p1, &all, first, count, n - 1, NDPAR_REDUCE_FAST, dist));
  CHECK(gsl_vector_min(dist) == 7.0 && gsl_vector_max(dist) == 7.0);
  ndpar_pool_free(p1);
  gsl_vector_free(one);
  gsl_vector_free(dist);
  free_batches(all);
  gsl_rng_free(r);
}

static void test_grad_fast_in_buckets(void) {
  fast_matches_one_process(300000, 6); /* in buckets, straight into grad */
  fast_matches_one_process(5000, 7);   /* one round through the kept buffer */
}

static void test_grad_errors_agree(void) {
  gsl_rng *r = rng_for(3);
  size_t n = 12, first = 0, count = 0;
  batches all = make_batches(n, r);
  my_share(n, &first, &count);
  const gsl_matrix *const *x = (const gsl_matrix *const *)all.x + first;
  const gsl_vector *const *y = (const gsl_vector *const *)all.y + first;
  int last = nranks - 1;
  gsl_vector *g = gsl_vector_alloc(rank == last && nranks > 1 ? 4 : 3);
  gsl_vector_set_all(g, 5.0);
  double loss = 9;
  gsl_set_error_handler(capture);
  for (int mode = 0; mode < 2; mode++) {
    /* A callback failure (batch 10, on whichever rank holds it): its code everywhere. */
    grad_opts fail_at = {10, 0};
    loss = 9;
    gsl_vector *same = gsl_vector_alloc(3);
    gsl_vector_set_all(same, 5.0);
    CHECK(ndpar_mpi_grad_compute(MPI_COMM_WORLD, NULL, x, y, count, grad_fn, &fail_at, (ndpar_reduce)mode, same, &loss) == GSL_EDOM);
    CHECK(gsl_vector_get(same, 0) == 5.0 && loss == 9);
    /* P differs on the last rank. */
    gsl_errors = 0;
    int rc = ndpar_mpi_grad_compute(MPI_COMM_WORLD, NULL, x, y, count, grad_fn, NULL, (ndpar_reduce)mode, g, &loss);
    if (nranks > 1) CHECK(rc == GSL_EBADLEN && strstr(gsl_reason, "P)") != NULL && gsl_errors == 1);
    CHECK(gsl_vector_get(g, 0) == 5.0 || nranks == 1);
    /* The mode differs on the last rank. */
    ndpar_reduce m = rank == last ? (ndpar_reduce)(1 - mode) : (ndpar_reduce)mode;
    rc = ndpar_mpi_grad_compute(MPI_COMM_WORLD, NULL, x, y, count, grad_fn, NULL, m, same, &loss);
    CHECK(rc == (nranks > 1 ? GSL_EINVAL : GSL_SUCCESS));
    gsl_vector_free(same);
  }
  /* No batches anywhere: the mean of nothing. */
  gsl_vector *same = gsl_vector_alloc(3);
  CHECK(ndpar_mpi_grad_compute(MPI_COMM_WORLD, NULL, NULL, NULL, 0, grad_fn, NULL, NDPAR_REDUCE_FAST, same, NULL) == GSL_EINVAL);
  gsl_set_error_handler(NULL);
  gsl_vector_free(same);
  gsl_vector_free(g);
  free_batches(all);
  gsl_rng_free(r);
}

/* ---- inference ---- */

static int mc_fn(const gsl_matrix *x, gsl_matrix *y, const ndpar_task *t, void *vctx) {
  const int *fail_at = vctx;
  if (fail_at && (size_t)*fail_at == t->index) return GSL_EFAILED;
  for (size_t i = 0; i < x->size1; i++)
    for (size_t k = 0; k < y->size2; k++)
      gsl_matrix_set(y, i, k, gsl_matrix_get(x, i, k % x->size2) * (1 + gsl_ran_gaussian(t->rng, 0.1)) + (double)t->index);
  return GSL_SUCCESS;
}

static int plain_fn(const gsl_matrix *x, gsl_matrix *y, const ndpar_task *t, void *vctx) {
  (void)vctx;
  for (size_t i = 0; i < x->size1; i++) gsl_matrix_set(y, i, 0, gsl_matrix_get(x, i, 0) + (double)t->index);
  return GSL_SUCCESS;
}

static gsl_matrix **outputs(const batches *b, size_t cols) {
  gsl_matrix **m = malloc((b->n ? b->n : 1) * sizeof *m);
  for (size_t i = 0; i < b->n; i++) m[i] = gsl_matrix_alloc(b->x[i]->size1, cols);
  return m;
}

static void free_outputs(gsl_matrix **m, size_t n) {
  for (size_t i = 0; i < n; i++) gsl_matrix_free(m[i]);
  free(m);
}

static void test_batch_mc_matches_one_process(void) {
  gsl_rng *r = rng_for(4);
  size_t ns[] = {1, 4, 9, 23};
  for (size_t a = 0; a < sizeof ns / sizeof *ns; a++) {
    size_t n = ns[a], first = 0, count = 0, samples = 17;
    batches all = make_batches(n, r);
    my_share(n, &first, &count);
    gsl_matrix **m1 = outputs(&all, 3), **s1 = outputs(&all, 3), **lo1 = outputs(&all, 3), **hi1 = outputs(&all, 3);
    gsl_matrix **m2 = outputs(&all, 3), **s2 = outputs(&all, 3), **lo2 = outputs(&all, 3), **hi2 = outputs(&all, 3);
    const gsl_matrix *const *x = (const gsl_matrix *const *)all.x;
    CHECK(ndpar_batch_infer_mc_interval(NULL, x, n, samples, seed, 0.9, mc_fn, NULL, m1, s1, lo1, hi1, NULL) == GSL_SUCCESS);
    size_t failed = 0;
    CHECK(ndpar_mpi_batch_infer_mc_interval(MPI_COMM_WORLD, NULL, x + first, count, samples, seed, 0.9, mc_fn, NULL,
                                            m2 + first, s2 + first, lo2 + first, hi2 + first, &failed) == GSL_SUCCESS);
    CHECK(failed == n);
    for (size_t i = first; i < first + count; i++)
      CHECK(same_matrix(m1[i], m2[i]) && same_matrix(s1[i], s2[i]) && same_matrix(lo1[i], lo2[i]) && same_matrix(hi1[i], hi2[i]));
    CHECK(ndpar_mpi_batch_infer_mc(MPI_COMM_WORLD, NULL, x + first, count, samples, seed, mc_fn, NULL, m2 + first, NULL) == GSL_SUCCESS);
    for (size_t i = first; i < first + count; i++) CHECK(same_matrix(m1[i], m2[i]));
    /* A failure on the rank that holds the last batch: every rank, outputs untouched. */
    int fail_at = (int)n - 1;
    for (size_t i = first; i < first + count; i++) gsl_matrix_set_all(m2[i], -1);
    CHECK(ndpar_mpi_batch_infer_mc_interval(MPI_COMM_WORLD, NULL, x + first, count, samples, seed, 0, mc_fn, &fail_at,
                                            m2 + first, NULL, NULL, NULL, &failed) == GSL_EFAILED);
    CHECK(failed == n - 1);
    for (size_t i = first; i < first + count; i++) CHECK(gsl_matrix_get(m2[i], 0, 0) == -1);
    /* Plain inference: t->index is global. */
    CHECK(ndpar_mpi_batch_infer(MPI_COMM_WORLD, NULL, x + first, m2 + first, count, plain_fn, NULL) == GSL_SUCCESS);
    for (size_t i = first; i < first + count; i++)
      CHECK(gsl_matrix_get(m2[i], 0, 0) == gsl_matrix_get(x[i], 0, 0) + (double)i);
    free_outputs(m1, n), free_outputs(s1, n), free_outputs(lo1, n), free_outputs(hi1, n);
    free_outputs(m2, n), free_outputs(s2, n), free_outputs(lo2, n), free_outputs(hi2, n);
    free_batches(all);
  }
  gsl_rng_free(r);
}

/* A double or a seed that differs between ranks is named as the value it is (issue 28: the
 * level came out as its bit pattern, a seed above LLONG_MAX as a negative number), and a
 * parameter array that differs is not given a number at all. */
static void test_differing_values_read_as_written(void) {
  if (nranks < 2) return;
  int last = nranks - 1;
  gsl_matrix *x = gsl_matrix_alloc(2, 2), *m = gsl_matrix_alloc(2, 2), *lo = gsl_matrix_alloc(2, 2),
             *hi = gsl_matrix_alloc(2, 2);
  gsl_matrix_set_all(x, 1.0);
  const gsl_matrix *xs[] = {x};
  gsl_set_error_handler(capture);
  char want[128];
  int rc = ndpar_mpi_batch_infer_mc_interval(MPI_COMM_WORLD, NULL, xs, 1, 4, 1, rank == last ? 0.75 : 0.5,
                                             mc_fn, NULL, &m, NULL, &lo, &hi, NULL);
  snprintf(want, sizeof want, "level differs between ranks: rank %d has 0.75, rank 0 has 0.5", last);
  CHECK(rc == GSL_EINVAL && strstr(gsl_reason, want) != NULL);
  rc = ndpar_mpi_batch_infer_mc(MPI_COMM_WORLD, NULL, xs, 1, 4, rank == last ? ULONG_MAX : 1, mc_fn, NULL,
                                &m, NULL);
  snprintf(want, sizeof want, "seed differs between ranks: rank %d has %lu, rank 0 has 1", last, ULONG_MAX);
  CHECK(rc == GSL_EINVAL && strstr(gsl_reason, want) != NULL);
  gsl_set_error_handler(NULL);
  gsl_matrix_free(x), gsl_matrix_free(m), gsl_matrix_free(lo), gsl_matrix_free(hi);
}

/* ---- ranks sharing an unbound node (run under mpirun --bind-to none) ---- */

static unsigned long long my_cpus(void) {
  cpu_set_t set;
  unsigned long long mask = 0;
  if (sched_getaffinity(0, sizeof set, &set) == 0)
    for (int c = 0; c < 64; c++)
      if (CPU_ISSET(c, &set)) mask |= 1ull << c;
  return mask;
}

/* Each rank of the node takes its share of the cores: with as many ranks as cores, one
 * thread each, bound to different cores. */
static void test_unbound_ranks_split_the_node(void) {
  ndpar_pool *p = ndpar_mpi_pool_alloc(MPI_COMM_WORLD, NULL);
  CHECK(p != NULL);
  size_t threads = ndpar_pool_threads(p), cores = 0;
  unsigned long long mask = my_cpus(), all[64] = {0};
  MPI_Allgather(&mask, 1, MPI_UNSIGNED_LONG_LONG, all, 1, MPI_UNSIGNED_LONG_LONG, MPI_COMM_WORLD);
  for (int c = 0; c < 64; c++) cores += (all[0] | all[nranks - 1]) >> c & 1;
  CHECK((size_t)__builtin_popcountll(mask) == threads);
  if ((size_t)nranks <= (size_t)sysconf(_SC_NPROCESSORS_ONLN)) /* enough cores: disjoint shares */
    for (int r = 0; r < nranks; r++)
      if (r != rank) CHECK((all[r] & mask) == 0);
  if (nranks == 2 && sysconf(_SC_NPROCESSORS_ONLN) == 2) CHECK(threads == 1);
  /* The default pool of the ndpar_mpi functions splits the node the same way. */
  CHECK(ndpar_pool_threads(ndpar_mpi_pool_default()) == threads);
  ndpar_pool_free(p);
  (void)cores;
}

/* NULL means one pool in every call of an MPI program: the process's default pool is the
 * mpi functions' pool, the rank's share of the node. A plain ndpar_pool_run(NULL) on unbound
 * ranks keeps its threads on the rank's own cores: as many threads on the node as cores (no
 * oversubscription), on disjoint cores. */
static int busy_where(const ndpar_task *t, void *ctx) {
  (void)t;
  unsigned long long *seen = ctx;
  int cpu = sched_getcpu();
  if (cpu >= 0 && cpu < 64) __atomic_or_fetch(seen, 1ull << cpu, __ATOMIC_RELAXED);
  double until = ndpar_time_now() + 200e-6; /* long enough for every worker to take tasks */
  while (ndpar_time_now() < until) {
  }
  return GSL_SUCCESS;
}

static void test_unbound_null_pool_is_the_ranks_share(void) {
  CHECK(ndpar_pool_default() == ndpar_mpi_pool_default());
  unsigned long threads = ndpar_pool_threads(NULL), total = 0;
  MPI_Allreduce(&threads, &total, 1, MPI_UNSIGNED_LONG, MPI_SUM, MPI_COMM_WORLD);
  size_t cores = ndpar_physical_cores(); /* the node's: these ranks are unbound */
  if ((size_t)nranks <= cores) CHECK(total <= cores);
  unsigned long long seen = 0, all[64] = {0};
  CHECK(ndpar_pool_run(NULL, 200, busy_where, &seen) == GSL_SUCCESS);
  MPI_Allgather(&seen, 1, MPI_UNSIGNED_LONG_LONG, all, 1, MPI_UNSIGNED_LONG_LONG, MPI_COMM_WORLD);
  if ((size_t)nranks <= cores)
    for (int r = 0; r < nranks; r++)
      if (r != rank) CHECK((all[r] & seen) == 0);
}

/* mpirun -np 1 binds its one rank to one core by default: alone on its node, the rank's
 * default pool still takes every core of the machine. */
static void test_np1_default_pool_uses_every_core(void) {
  if (nranks != 1) return;
  hwloc_topology_t topo;
  CHECK(hwloc_topology_init(&topo) == 0);
  CHECK(hwloc_topology_load(topo) == 0);
  int machine = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
  if (machine <= 0) machine = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU);
  hwloc_topology_destroy(topo);
  if (getenv("OMPI_COMM_WORLD_LOCAL_SIZE") || getenv("MPI_LOCALNRANKS"))
    CHECK(ndpar_pool_threads(NULL) == (size_t)machine);
}

/* ---- MPI_THREAD_SINGLE (run with --single): a one-thread pool works, a larger one is a
 * clear error on every rank ---- */

static void test_single_thread_level(void) {
  const size_t n = 30, p = 2;
  gsl_matrix *x;
  gsl_vector *y;
  shared_data(n, p, &x, &y);
  ndpar_folds *folds = ndpar_folds_kfold(n, 3, 0, 0);
  gsl_vector *one = gsl_vector_alloc(3), *all = gsl_vector_alloc(3);
  ndpar_pool *p1 = pool_of(1), *p2 = pool_of(2);
  CHECK(ndpar_cv_run(p1, x, y, folds, cv_fn, NULL, one) == GSL_SUCCESS);
  CHECK(ndpar_mpi_cv_run(MPI_COMM_WORLD, p1, x, y, folds, cv_fn, NULL, all) == GSL_SUCCESS);
  CHECK(same_vector(one, all));
  gsl_set_error_handler(capture);
  gsl_errors = 0;
  CHECK(ndpar_mpi_cv_run(MPI_COMM_WORLD, p2, x, y, folds, cv_fn, NULL, all) == GSL_EINVAL);
  CHECK(gsl_errors == 1 && strstr(gsl_reason, "MPI_THREAD_SINGLE") != NULL);
  gsl_set_error_handler(NULL);
  ndpar_pool_free(p1);
  ndpar_pool_free(p2);
  gsl_vector_free(one);
  gsl_vector_free(all);
  ndpar_folds_free(folds);
  gsl_matrix_free(x);
  gsl_vector_free(y);
}

/* ---- the runner ---- */

/* Bad arguments given alike on every rank, one case per public form: the same GSL code on
 * every rank, reported through GSL_ERROR, and the outputs untouched (the sentinel stays). */
static void test_bad_arguments_every_form(void) {
  gsl_set_error_handler(capture);
  gsl_matrix *x = gsl_matrix_alloc(3, 2), *y = gsl_matrix_alloc(3, 1);
  gsl_matrix_set_all(x, 1.0);
  gsl_matrix_set_all(y, 7.0);
  const gsl_matrix *xs[] = {x};
  gsl_matrix *ys[] = {y};
  gsl_errors = 0;
  CHECK(ndpar_mpi_batch_infer(MPI_COMM_WORLD, NULL, xs, ys, 1, NULL, NULL) == GSL_EFAULT);
  CHECK(ndpar_mpi_batch_infer_mc(MPI_COMM_WORLD, NULL, xs, 1, 4, 1, NULL, NULL, ys, ys) == GSL_EFAULT);
  CHECK(ndpar_mpi_batch_infer_mc_interval(MPI_COMM_WORLD, NULL, xs, 1, 4, 1, 0.9, NULL, NULL, ys,
                                          ys, ys, ys, NULL) == GSL_EFAULT);
  CHECK(gsl_errors >= 3 && gsl_matrix_get(y, 0, 0) == 7.0 && gsl_matrix_max(y) == 7.0);
  ndpar_grid *g = ndpar_grid_alloc();
  const double lr[] = {0.1, 0.2};
  CHECK(g != NULL && ndpar_grid_add(g, "lr", lr, 2) == GSL_SUCCESS);
  ndpar_folds *folds = ndpar_folds_kfold(3, 3, 0, 0);
  gsl_vector *t = gsl_vector_alloc(3);
  gsl_vector_set_all(t, 1.0);
  gsl_errors = 0;
  CHECK(ndpar_mpi_grid_search(MPI_COMM_WORLD, NULL, g, x, t, folds, grid_fn, NULL, NULL) == GSL_EFAULT);
  CHECK(gsl_errors >= 1);
  /* size x n that overflows (issue 28): refused on every rank before the candidates'
   * hash or any task reads params, the result untouched. */
  ndpar_grid_result *r4 = ndpar_grid_result_alloc(4, 3);
  gsl_matrix_set_all(r4->scores, 7.0);
  gsl_errors = 0;
  CHECK(ndpar_mpi_grid_search_params(MPI_COMM_WORLD, NULL, lr, (size_t)1 << 62, 4, x, t, folds,
                                     grid_fn, NULL, NULL, r4) == GSL_EINVAL);
  CHECK(ndpar_mpi_grid_search_params(MPI_COMM_WORLD, NULL, lr, SIZE_MAX, 4, x, t, folds, grid_fn,
                                     NULL, NULL, r4) == GSL_EINVAL);
  CHECK(gsl_errors >= 2 && gsl_matrix_min(r4->scores) == 7.0 && gsl_matrix_max(r4->scores) == 7.0);
  ndpar_grid_result_free(r4);
  gsl_errors = 0;
  CHECK(ndpar_mpi_pool_alloc(MPI_COMM_NULL, NULL) == NULL && gsl_errors == 1);
  CHECK(ndpar_mpi_pool_default() != NULL);
  gsl_set_error_handler(NULL);
  ndpar_folds_free(folds);
  ndpar_grid_free(g);
  gsl_vector_free(t);
  gsl_matrix_free(x);
  gsl_matrix_free(y);
}

typedef struct {
  const char *name;
  void (*fn)(void);
} test_case;

static const test_case tests[] = {
    {"grid_matches_one_process", test_grid_matches_one_process},
    {"grid_stop_on_error", test_grid_stop_on_error},
    {"model_search_matches_one_process", test_model_search_matches_one_process},
    {"cv_matches_one_process", test_cv_matches_one_process},
    {"differing_arguments", test_differing_arguments},
    {"bad_communicator", test_bad_communicator},
    {"subcommunicators", test_subcommunicators},
    {"grad_deterministic_matches_one_process", test_grad_deterministic_matches_one_process},
    {"grad_errors_agree", test_grad_errors_agree},
    {"grad_groups_cut_by_ranks", test_grad_groups_cut_by_ranks},
    {"grad_fast_in_buckets", test_grad_fast_in_buckets},
    {"batch_mc_matches_one_process", test_batch_mc_matches_one_process},
    {"differing_values_read_as_written", test_differing_values_read_as_written},
    {"unbound_ranks_split_the_node", test_unbound_ranks_split_the_node},
    {"unbound_null_pool_is_the_ranks_share", test_unbound_null_pool_is_the_ranks_share},
    {"np1_default_pool_uses_every_core", test_np1_default_pool_uses_every_core},
    {"single_thread_level", test_single_thread_level},
    {"bad_arguments_every_form", test_bad_arguments_every_form},
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

/* A mode runs the tests whose name starts with its word: --unbound (under mpirun
 * --bind-to none), --single (MPI initialised with MPI_THREAD_SINGLE); no mode runs the rest. */
static const char *mode_of(const char *name) {
  return strncmp(name, "unbound", 7) == 0 ? "--unbound" : strncmp(name, "single", 6) == 0 ? "--single" : "";
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  int early_ok = test_not_initialised();
  int provided = 0;
  MPI_Init_thread(&argc, &argv, strcmp(mode, "--single") == 0 ? MPI_THREAD_SINGLE : MPI_THREAD_FUNNELED,
                  &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &nranks);
  const char *env = getenv("NDPAR_TEST_SEED");
  seed = env ? strtoul(env, NULL, 10) : (unsigned long)time(NULL);
  MPI_Bcast(&seed, 1, MPI_UNSIGNED_LONG, 0, MPI_COMM_WORLD);
  if (rank == 0) printf("[----] %d ranks, random data seed: NDPAR_TEST_SEED=%lu\n", nranks, seed);
  int passed = 0, failed = 0, total = 0;
  if (*mode == '\0') {
    int bad = 0, early_fail = !early_ok;
    MPI_Allreduce(&early_fail, &bad, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0) printf("[%s] not_initialised\n", bad ? "FAIL" : "PASS");
    total++, bad ? failed++ : passed++;
  }
  for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
    if (strcmp(mode_of(tests[i].name), mode) != 0) continue;
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
  return failed || total == 0 ? 1 : 0;
}
