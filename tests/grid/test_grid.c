/* Tests of the grid module: grid order and size, random search, the search against a
 * sequential loop, ranking, failures, progress, the struct form, and bad input. */
#include <criterion/criterion.h>
#include <gsl/gsl_statistics_double.h>
#include <float.h>
#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ndpar/ndpar_grid.h"
#include "ridge.h"
#include "test_util.h"

Test(grid, cartesian_order_and_size) {
  ndpar_grid *g = ndpar_grid_alloc();
  double a[] = {1, 2, 3}, b[] = {10, 20};
  cr_assert_eq(ndpar_grid_add(g, "a", a, 3), GSL_SUCCESS);
  cr_assert_eq(ndpar_grid_add(g, "b", b, 2), GSL_SUCCESS);
  cr_assert_eq(ndpar_grid_size(g), 6);
  cr_assert_eq(ndpar_grid_naxes(g), 2);
  cr_assert_str_eq(ndpar_grid_axis_name(g, 1), "b");
  double expect[6][2] = {{1, 10}, {1, 20}, {2, 10}, {2, 20}, {3, 10}, {3, 20}}, got[2];
  for (size_t i = 0; i < 6; i++) {
    cr_assert_eq(ndpar_grid_candidate(g, i, got), GSL_SUCCESS);
    cr_assert(got[0] == expect[i][0] && got[1] == expect[i][1], "candidate %zu: (%g, %g)", i, got[0], got[1]);
  }
  ndpar_grid_free(g);
}

Test(grid, random_search_is_reproducible_and_in_range) {
  ndpar_grid_range axes[] = {{"lambda", 1e-4, 10, 1}, {"dropout", 0.0, 0.5, 0}};
  ndpar_grid *a = ndpar_grid_random(axes, 2, 200, 7), *b = ndpar_grid_random(axes, 2, 200, 7);
  ndpar_grid *c = ndpar_grid_random(axes, 2, 300, 7); /* more candidates: the first 200 stay */
  cr_assert_eq(ndpar_grid_size(a), 200);
  size_t small = 0;
  for (size_t i = 0; i < 200; i++) {
    double pa[2], pb[2], pc[2];
    ndpar_grid_candidate(a, i, pa);
    ndpar_grid_candidate(b, i, pb);
    ndpar_grid_candidate(c, i, pc);
    cr_assert(pa[0] == pb[0] && pa[1] == pb[1] && pa[0] == pc[0], "reproducible from the seed");
    cr_assert(pa[0] >= 1e-4 && pa[0] <= 10 && pa[1] >= 0 && pa[1] <= 0.5);
    small += pa[0] < 1e-2; /* log-uniform: two of five decades below 1e-2 */
  }
  cr_assert(small > 40 && small < 120, "%zu of 200 below 1e-2: not log-uniform", small);
  ndpar_grid_free(a);
  ndpar_grid_free(b);
  ndpar_grid_free(c);
}

/* ---- the search ---- */

static int ridge_grid_cb(const void *params, size_t candidate, const gsl_matrix *xtr,
                         const gsl_vector *ytr, const gsl_matrix *xva, const gsl_vector *yva,
                         double *score, const ndpar_task *t, void *ctx) {
  (void)candidate, (void)t, (void)ctx;
  return ridge_fit_score(((const double *)params)[0], xtr, ytr, xva, yva, score);
}

typedef struct {
  gsl_matrix *x;
  gsl_vector *y;
  ndpar_folds *folds;
  ndpar_grid *grid;
} problem;

static problem make_problem(void) {
  problem p = {gsl_matrix_alloc(400, 4), gsl_vector_alloc(400), ndpar_folds_kfold(400, 5, 1, 3), ndpar_grid_alloc()};
  ridge_data(p.x, p.y);
  double lambdas[] = {1e-3, 1e-1, 1, 10}, unused[] = {0, 1};
  ndpar_grid_add(p.grid, "lambda", lambdas, 4);
  ndpar_grid_add(p.grid, "other", unused, 2); /* 4 x 2 = 8 candidates, pairs tie */
  return p;
}

static void free_problem(problem *p) {
  gsl_matrix_free(p->x);
  gsl_vector_free(p->y);
  ndpar_folds_free(p->folds);
  ndpar_grid_free(p->grid);
}

Test(grid_search, scores_rank_and_best_against_a_sequential_loop) {
  problem pb = make_problem();
  size_t nc = 8, k = 5;
  ndpar_grid_result *ref = ndpar_grid_result_alloc(nc, k);
  for (size_t threads = 1; threads <= test_max_threads(); threads++) {
    ndpar_pool_config cfg;
    ndpar_pool_config_init(&cfg);
    cfg.threads = threads;
    ndpar_pool *pool = ndpar_pool_alloc(&cfg);
    ndpar_grid_result *r = ndpar_grid_result_alloc(nc, k);
    cr_assert_eq(ndpar_grid_search(pool, pb.grid, pb.x, pb.y, pb.folds, ridge_grid_cb, NULL, r), GSL_SUCCESS);
    /* (each score against a sequential fit: the next test) */
    for (size_t c = 0; c < nc; c++) {
      gsl_vector_view row = gsl_matrix_row(r->scores, c);
      cr_assert_eq(gsl_vector_get(r->mean, c), gsl_stats_mean(row.vector.data, 1, k));
      cr_assert_eq(gsl_vector_get(r->sd, c), gsl_stats_sd(row.vector.data, 1, k));
    }
    if (threads == 1) {
      gsl_matrix_memcpy(ref->scores, r->scores);
    } else {
      cr_assert(gsl_matrix_equal(ref->scores, r->scores), "identical at %zu threads", threads);
    }
    /* best: the highest mean, ties (the unused axis doubles every candidate) to the lower index */
    size_t best = 0;
    for (size_t c = 1; c < nc; c++)
      if (gsl_vector_get(r->mean, c) > gsl_vector_get(r->mean, best)) best = c;
    cr_assert_eq(r->best, best);
    cr_assert_eq(r->best % 2, 0, "of a tied pair, the lower index");
    cr_assert_eq(r->rank[best], 1);
    cr_assert_eq(r->rank[best + 1], 1, "its tie shares rank 1 (rankdata method=\"min\")");
    for (size_t c = 0; c < nc; c++) { /* scipy's rankdata(-mean, "min"): 1 + those strictly better */
      size_t above = 0;
      for (size_t d = 0; d < nc; d++) above += gsl_vector_get(r->mean, d) > gsl_vector_get(r->mean, c);
      cr_assert_eq(r->rank[c], above + 1, "rank of %zu", c);
      cr_assert_eq(r->rank[c] % 2, 1, "pairs tie: ranks 1, 1, 3, 3, ...");
    }
    ndpar_grid_result_free(r);
    ndpar_pool_free(pool);
  }
  ndpar_grid_result_free(ref);
  free_problem(&pb);
}

Test(grid_search, scores_equal_cross_validation_of_each_candidate) {
  problem pb = make_problem();
  ndpar_grid_result *r = ndpar_grid_result_alloc(8, 5);
  cr_assert_eq(ndpar_grid_search(NULL, pb.grid, pb.x, pb.y, pb.folds, ridge_grid_cb, NULL, r), GSL_SUCCESS);
  for (size_t c = 0; c < 8; c++) {
    double params[2];
    ndpar_grid_candidate(pb.grid, c, params);
    for (size_t f = 0; f < 5; f++)
      cr_assert_eq(gsl_matrix_get(r->scores, c, f), ridge_reference_score(pb.folds, f, pb.x, pb.y, params[0]),
                   "candidate %zu fold %zu", c, f);
  }
  ndpar_grid_result_free(r);
  free_problem(&pb);
}

/* ---- failures and progress ---- */

static int fail_candidate_2(const void *params, size_t candidate, const gsl_matrix *xtr,
                            const gsl_vector *ytr, const gsl_matrix *xva, const gsl_vector *yva,
                            double *score, const ndpar_task *t, void *ctx) {
  if (candidate == 2 && t->index % 5 == 3) return GSL_ERANGE;
  return ridge_grid_cb(params, candidate, xtr, ytr, xva, yva, score, t, ctx);
}

Test(grid_search, a_failing_candidate_scores_nan_and_the_others_go_on) {
  problem pb = make_problem();
  ndpar_grid_result *r = ndpar_grid_result_alloc(8, 5);
  cr_assert_eq(ndpar_grid_search(NULL, pb.grid, pb.x, pb.y, pb.folds, fail_candidate_2, NULL, r), GSL_SUCCESS);
  cr_assert_eq(r->status[2], GSL_ERANGE);
  cr_assert(isnan(gsl_matrix_get(r->scores, 2, 3)));
  cr_assert(isnan(gsl_vector_get(r->mean, 2)));
  cr_assert_eq(r->rank[2], 8, "failed candidates rank last");
  for (size_t c = 0; c < 8; c++)
    if (c != 2) cr_assert(r->status[c] == 0 && !isnan(gsl_vector_get(r->mean, c)));
  ndpar_grid_options stop = {.flags = NDPAR_GRID_STOP_ON_ERROR};
  gsl_matrix_set_all(r->scores, 7.0);
  cr_assert_eq(ndpar_grid_search_opts(NULL, pb.grid, pb.x, pb.y, pb.folds, fail_candidate_2, NULL, &stop, r), GSL_ERANGE);
  cr_assert_eq(gsl_matrix_get(r->scores, 0, 0), 7.0, "result untouched when stopped");
  ndpar_grid_result_free(r);
  free_problem(&pb);
}

typedef struct {
  pthread_t caller;
  size_t calls, last, total;
  int wrong_thread, not_increasing;
} progress_log;

static void on_progress(size_t done, size_t total, void *ctx) {
  progress_log *l = ctx;
  if (!pthread_equal(pthread_self(), l->caller)) l->wrong_thread = 1;
  if (done <= l->last) l->not_increasing = 1;
  l->last = done;
  l->total = total;
  l->calls++;
}

Test(grid_search, progress_is_reported_from_the_calling_thread) {
  problem pb = make_problem();
  ndpar_grid_result *r = ndpar_grid_result_alloc(8, 5);
  progress_log log = {pthread_self(), 0, 0, 0, 0, 0};
  ndpar_grid_options opts = {.progress = on_progress, .progress_ctx = &log};
  cr_assert_eq(ndpar_grid_search_opts(NULL, pb.grid, pb.x, pb.y, pb.folds, ridge_grid_cb, NULL, &opts, r), GSL_SUCCESS);
  cr_assert(log.calls >= 1);
  cr_assert_eq(log.last, 8, "the last report is every candidate");
  cr_assert_eq(log.total, 8);
  cr_assert_eq(log.wrong_thread, 0);
  cr_assert_eq(log.not_increasing, 0);
  ndpar_grid_result_free(r);
  free_problem(&pb);
}

/* ---- the caller's own parameter structs (the Rust guide's form) ---- */

typedef struct {
  double lambda;
  int tag;
} my_params;

static int struct_cb(const void *params, size_t candidate, const gsl_matrix *xtr,
                     const gsl_vector *ytr, const gsl_matrix *xva, const gsl_vector *yva,
                     double *score, const ndpar_task *t, void *ctx) {
  (void)t, (void)ctx;
  const my_params *mp = params;
  if (mp->tag != (int)candidate * 11) return GSL_EFAULT; /* the right struct reached us */
  return ridge_fit_score(mp->lambda, xtr, ytr, xva, yva, score);
}

Test(grid_search, the_struct_form_passes_each_candidates_struct) {
  problem pb = make_problem();
  my_params params[3] = {{10, 0}, {0.1, 11}, {1, 22}};
  ndpar_grid_result *r = ndpar_grid_result_alloc(3, 5), *g = ndpar_grid_result_alloc(8, 5);
  cr_assert_eq(ndpar_grid_search_params(NULL, params, sizeof *params, 3, pb.x, pb.y, pb.folds, struct_cb, NULL, NULL, r), GSL_SUCCESS);
  for (size_t c = 0; c < 3; c++) cr_assert_eq(r->status[c], 0);
  cr_assert_eq(ndpar_grid_search(NULL, pb.grid, pb.x, pb.y, pb.folds, ridge_grid_cb, NULL, g), GSL_SUCCESS);
  /* lambda 0.1 is candidate 1 here and candidate 2 of the grid (lambda 1e-1, other 0) */
  gsl_vector_view a = gsl_matrix_row(r->scores, 1), b = gsl_matrix_row(g->scores, 2);
  cr_assert(gsl_vector_equal(&a.vector, &b.vector));
  ndpar_grid_result_free(r);
  ndpar_grid_result_free(g);
  free_problem(&pb);
}

Test(grid_errors, bad_arguments_name_the_problem) {
  test_quiet_gsl_errors();
  problem pb = make_problem();
  double v[] = {1};
  cr_assert_eq(ndpar_grid_add(pb.grid, "lambda", v, 1), GSL_EINVAL);
  cr_assert(strstr(test_gsl_last_reason(), "\"lambda\" is already there"));
  cr_assert_eq(ndpar_grid_add(pb.grid, "x", v, 0), GSL_EINVAL);
  cr_assert(strstr(test_gsl_last_reason(), "\"x\" has no values"));
  cr_assert_eq(ndpar_grid_add(pb.grid, "", v, 1), GSL_EINVAL);
  cr_assert_eq(ndpar_grid_add(pb.grid, NULL, v, 1), GSL_EINVAL);
  ndpar_grid *empty = ndpar_grid_alloc();
  ndpar_grid_result *r = ndpar_grid_result_alloc(8, 5), *small = ndpar_grid_result_alloc(7, 5);
  gsl_matrix_set_all(r->scores, 7.0);
  cr_assert_eq(ndpar_grid_search(NULL, empty, pb.x, pb.y, pb.folds, ridge_grid_cb, NULL, r), GSL_EINVAL);
  cr_assert(strstr(test_gsl_last_reason(), "empty"));
  cr_assert_eq(ndpar_grid_search(NULL, pb.grid, pb.x, pb.y, pb.folds, ridge_grid_cb, NULL, small), GSL_EBADLEN);
  cr_assert_eq(ndpar_grid_search(NULL, pb.grid, pb.x, pb.y, NULL, ridge_grid_cb, NULL, r), GSL_EFAULT);
  cr_assert_eq(ndpar_grid_search(NULL, pb.grid, pb.x, pb.y, pb.folds, NULL, NULL, r), GSL_EFAULT);
  cr_assert_eq(gsl_matrix_get(r->scores, 0, 0), 7.0, "untouched");
  ndpar_grid_range bad[] = {{"lr", 1, 0.5, 0}}, neg[] = {{"lr", -1, 1, 1}}, inf[] = {{"lr", 0, INFINITY, 0}};
  cr_assert_null(ndpar_grid_random(bad, 1, 10, 1));
  cr_assert_null(ndpar_grid_random(neg, 1, 10, 1));
  cr_assert(strstr(test_gsl_last_reason(), "log-uniform"));
  cr_assert_null(ndpar_grid_random(inf, 1, 10, 1));
  cr_assert_null(ndpar_grid_random(bad, 1, 0, 1));
  ndpar_grid_free(empty);
  ndpar_grid_result_free(r);
  ndpar_grid_result_free(small);
  free_problem(&pb);
}

/* ---- sizes that overflow, extreme bounds, degenerate data ---- */

Test(grid_errors, candidate_counts_that_overflow_are_refused) {
  test_quiet_gsl_errors();
  size_t nv = 65536;
  double *v = malloc(nv * sizeof *v);
  for (size_t i = 0; i < nv; i++) v[i] = (double)i;
  ndpar_grid *g = ndpar_grid_alloc();
  const char *names[] = {"a", "b", "c", "d"};
  for (int a = 0; a < 3; a++) cr_assert_eq(ndpar_grid_add(g, names[a], v, nv), GSL_SUCCESS);
  cr_assert_eq(ndpar_grid_size(g), (size_t)1 << 48);
  cr_assert_eq(ndpar_grid_add(g, names[3], v, nv), GSL_EINVAL, "65536^4 = 2^64 candidates");
  cr_assert(strstr(test_gsl_last_reason(), "overflow"), "%s", test_gsl_last_reason());
  cr_assert_eq(ndpar_grid_size(g), (size_t)1 << 48, "the grid is as it was");
  cr_assert_eq(ndpar_grid_naxes(g), 3);
  ndpar_grid_free(g);
  free(v);
  ndpar_grid_range ax[] = {{"lr", 0, 1, 0}};
  cr_assert_null(ndpar_grid_random(ax, 1, ((size_t)1 << 61) + 1, 1), "n * 8 bytes wraps");
  cr_assert(strstr(test_gsl_last_reason(), "overflow"), "%s", test_gsl_last_reason());
  /* a result sized for a search whose score table cannot exist */
  problem pb = make_problem();
  size_t k = ndpar_folds_count(pb.folds), ncand = SIZE_MAX / k + 1;
  ndpar_grid_result huge = {.candidates = ncand, .folds = k, .nscores = 1};
  double p = 1;
  cr_assert_eq(ndpar_grid_search_params(NULL, &p, 1, ncand, pb.x, pb.y, pb.folds, ridge_grid_cb,
                                        NULL, NULL, &huge), GSL_EINVAL);
  cr_assert(strstr(test_gsl_last_reason(), "overflow"), "%s", test_gsl_last_reason());
  free_problem(&pb);
}

Test(grid, random_search_on_the_whole_double_range_stays_finite_and_uniform) {
  ndpar_grid_range ax[] = {{"w", -1e308, 1e308, 0}, {"v", -DBL_MAX, DBL_MAX, 0}};
  size_t n = 2000, above = 0;
  ndpar_grid *g = ndpar_grid_random(ax, 2, n, test_seed());
  cr_assert_not_null(g);
  for (size_t i = 0; i < n; i++) {
    double p[2];
    ndpar_grid_candidate(g, i, p);
    cr_assert(isfinite(p[0]) && p[0] >= -1e308 && p[0] <= 1e308, "candidate %zu: %g", i, p[0]);
    cr_assert(isfinite(p[1]), "candidate %zu: %g", i, p[1]);
    above += p[0] > 0.5e308;
  }
  /* a quarter of the range: 500 +- 5 sd (sd = sqrt(2000 * 0.25 * 0.75) = 19.4) */
  cr_assert(above > 403 && above < 597, "%zu of %zu in the top quarter", above, n);
  ndpar_grid_free(g);
}

static int count_calls(const void *params, size_t candidate, const gsl_matrix *xtr,
                       const gsl_vector *ytr, const gsl_matrix *xva, const gsl_vector *yva,
                       double *score, const ndpar_task *t, void *ctx) {
  (void)params, (void)candidate, (void)xtr, (void)ytr, (void)xva, (void)yva, (void)score, (void)t;
  atomic_fetch_add((atomic_int *)ctx, 1);
  return GSL_SUCCESS;
}

Test(grid_errors, zero_columns_are_refused_on_the_calling_thread) {
  test_quiet_gsl_errors();
  problem pb = make_problem();
  gsl_matrix x0 = {pb.x->size1, 0, 0, NULL, NULL, 0};
  ndpar_grid_result *r = ndpar_grid_result_alloc(ndpar_grid_size(pb.grid), ndpar_folds_count(pb.folds));
  gsl_matrix_set_all(r->scores, 7.0);
  atomic_int calls = 0;
  for (size_t threads = 1; threads <= test_max_threads(); threads++) {
    ndpar_pool *p = test_pool_of(threads);
    cr_assert_eq(ndpar_grid_search(p, pb.grid, &x0, pb.y, pb.folds, count_calls, &calls, r), GSL_EBADLEN);
    cr_assert(strstr(test_gsl_last_reason(), "no columns"), "%s", test_gsl_last_reason());
    ndpar_pool_free(p);
  }
  cr_assert_eq(atomic_load(&calls), 0);
  cr_assert_eq(gsl_matrix_get(r->scores, 0, 0), 7.0, "untouched");
  ndpar_grid_result_free(r);
  free_problem(&pb);
}

Test(grid_errors, a_result_table_that_overflows_is_refused) {
  test_quiet_gsl_errors();
  cr_assert_null(ndpar_grid_result_alloc((size_t)1 << 33, (size_t)1 << 31), "2^64 / 8 scores: wraps");
  cr_assert(strstr(test_gsl_last_reason(), "overflow"), "%s", test_gsl_last_reason());
  cr_assert_null(ndpar_grid_result_alloc(SIZE_MAX, 2));
  cr_assert_eq(test_gsl_error_count(), 2);
}

/* ridge_grid_cb's score times 2^(*ctx). */
static int scaled_cb(const void *params, size_t candidate, const gsl_matrix *xtr,
                     const gsl_vector *ytr, const gsl_matrix *xva, const gsl_vector *yva,
                     double *score, const ndpar_task *t, void *ctx) {
  int rc = ridge_grid_cb(params, candidate, xtr, ytr, xva, yva, score, t, NULL);
  if (rc == GSL_SUCCESS) *score = ldexp(*score, *(const int *)ctx);
  return rc;
}

Test(grid_search, sd_of_scores_near_the_double_limit_is_finite_and_scales_exactly) {
  problem pb = make_problem();
  size_t n = ndpar_grid_size(pb.grid);
  ndpar_grid_result *r = ndpar_grid_result_alloc(n, 5), *big = ndpar_grid_result_alloc(n, 5);
  int zero = 0, e = 1000; /* squares of 2^1000 x scores overflow a double */
  cr_assert_eq(ndpar_grid_search(NULL, pb.grid, pb.x, pb.y, pb.folds, scaled_cb, &zero, r), GSL_SUCCESS);
  cr_assert_eq(ndpar_grid_search(NULL, pb.grid, pb.x, pb.y, pb.folds, scaled_cb, &e, big), GSL_SUCCESS);
  for (size_t c = 0; c < n; c++) {
    gsl_vector_view row = gsl_matrix_row(r->scores, c);
    double sd = gsl_vector_get(r->sd, c);
    cr_assert(sd == gsl_stats_sd(row.vector.data, 1, 5), "candidate %zu: gsl's sd bit for bit", c);
    cr_assert(gsl_vector_get(big->mean, c) == ldexp(gsl_vector_get(r->mean, c), e));
    cr_assert(isfinite(gsl_vector_get(big->sd, c)) && gsl_vector_get(big->sd, c) == ldexp(sd, e),
              "candidate %zu: sd %g, want 2^1000 x %g", c, gsl_vector_get(big->sd, c), sd);
  }
  ndpar_grid_result_free(r);
  ndpar_grid_result_free(big);
  free_problem(&pb);
}

/* The code of the last GSL error (the convention: a NULL pointer is GSL_EFAULT, a bad
 * value GSL_EINVAL, which the NULL-returning constructors report only through it). */
static int last_code;
static void code_handler(const char *reason, const char *file, int line, int code) {
  (void)reason, (void)file, (void)line;
  last_code = code;
}

Test(grid, random_null_axes_is_efault) {
  gsl_error_handler_t *old = gsl_set_error_handler(code_handler);
  ndpar_grid_range ok = {"lr", 0, 1, 0};
  last_code = 0;
  cr_assert_null(ndpar_grid_random(NULL, 1, 5, 1));
  cr_assert_eq(last_code, GSL_EFAULT, "grid_random(NULL, ...): %s", gsl_strerror(last_code));
  cr_assert_null(ndpar_grid_random(&ok, 0, 5, 1));
  cr_assert_eq(last_code, GSL_EINVAL);
  cr_assert_null(ndpar_grid_random(NULL, 0, 5, 1));
  cr_assert_eq(last_code, GSL_EINVAL, "no axes: a count, read before the pointer");
  ndpar_grid_dist d = {"lr", NDPAR_DIST_UNIFORM, 0, 1, NULL, 0};
  last_code = 0;
  cr_assert_null(ndpar_grid_random_dist(NULL, 1, 5, 1));
  cr_assert_eq(last_code, GSL_EFAULT, "grid_random_dist(NULL, ...): %s", gsl_strerror(last_code));
  ndpar_grid_dist choice = {"c", NDPAR_DIST_CHOICE, 0, 0, NULL, 3};
  cr_assert_null(ndpar_grid_random_dist(&choice, 1, 5, 1));
  cr_assert_eq(last_code, GSL_EFAULT, "a choice's values NULL");
  choice.nvalues = 0;
  cr_assert_null(ndpar_grid_random_dist(&choice, 1, 5, 1));
  cr_assert_eq(last_code, GSL_EINVAL, "a choice of no values");
  ndpar_grid_free(ndpar_grid_random_dist(&d, 1, 5, 1));
  gsl_set_error_handler(old);
}

/* A result of a size no machine has (2^40 candidates x 2^10 folds: bytes that fit a
 * size_t) is NULL and holds nothing afterwards: gsl_matrix_alloc used to keep the struct of
 * each buffer it could not fill. The heap in use (glibc's count) must not grow. */
Test(grid, result_alloc_at_an_impossible_size_leaks_nothing) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  cr_skip_test("the sanitizer's allocator aborts on such sizes; tests/badinput has the case");
#endif
  gsl_error_handler_t *old = gsl_set_error_handler(code_handler);
  cr_assert_null(ndpar_grid_result_alloc((size_t)1 << 40, 1024));
  struct mallinfo2 before = mallinfo2();
  for (int i = 0; i < 100; i++) {
    cr_assert_null(ndpar_grid_result_alloc((size_t)1 << 40, 1024));
    cr_assert_null(ndpar_grid_result_alloc_est((size_t)1 << 20, (size_t)1 << 20, 1024, 1));
  }
  struct mallinfo2 after = mallinfo2();
  cr_assert_lt(after.uordblks, before.uordblks + 100 * 40, "%zu bytes more in use after 200 failed calls",
               after.uordblks - before.uordblks);
  gsl_set_error_handler(old);
}

/* score = the candidate's own parameter, on every fold. */
static int score_is_param(const void *params, size_t candidate, const gsl_matrix *xtr,
                          const gsl_vector *ytr, const gsl_matrix *xva, const gsl_vector *yva,
                          double *score, const ndpar_task *t, void *ctx) {
  (void)candidate, (void)xtr, (void)ytr, (void)xva, (void)yva, (void)t, (void)ctx;
  *score = *(const double *)params;
  return GSL_SUCCESS;
}

/* A candidate scoring +Inf on every fold has mean +Inf and ranks first, as in
 * scikit-learn (numpy's mean is inf; its std NaN); -Inf ranks last among the scored; it
 * used to get NaN, the failed candidates' mean, with status 0. */
Test(grid, infinite_scores_rank_as_numbers) {
  const double params[] = {1.0, INFINITY, -INFINITY, 2.0};
  ndpar_folds *f = ndpar_folds_kfold(6, 3, 0, 0);
  gsl_matrix *x = gsl_matrix_calloc(6, 1);
  gsl_vector *y = gsl_vector_calloc(6);
  ndpar_grid_result *r = ndpar_grid_result_alloc(4, 3);
  cr_assert_eq(ndpar_grid_search_params(NULL, params, sizeof *params, 4, x, y, f, score_is_param,
                                        NULL, NULL, r), GSL_SUCCESS);
  cr_assert_eq(gsl_vector_get(r->mean, 1), INFINITY);
  cr_assert_eq(gsl_vector_get(r->mean, 2), -INFINITY);
  cr_assert(isnan(gsl_vector_get(r->sd, 1)) && isnan(gsl_vector_get(r->sd, 2)), "numpy's std of infs");
  cr_assert_eq(r->best, 1);
  cr_assert(r->rank[1] == 1 && r->rank[3] == 2 && r->rank[0] == 3 && r->rank[2] == 4);
  for (size_t i = 0; i < 4; i++) cr_assert_eq(r->status[i], 0);
  ndpar_grid_result_free(r);
  ndpar_folds_free(f);
  gsl_matrix_free(x);
  gsl_vector_free(y);
}
