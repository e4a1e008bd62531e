/* Tests of the cv module: fold sets (k-fold, shuffled, time series, custom) and the
 * parallel run against a sequential loop. */
#include <criterion/criterion.h>
#include <gsl/gsl_math.h>
#include <gsl/gsl_statistics_double.h>
#include <malloc.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

#include "ndpar/ndpar_cv.h"
#include "ndpar/ndpar_pool.h"
#include "ridge.h"
#include "test_util.h"

/* Every index validated exactly once, never trained on in its own fold, train + val = all. */
static void check_partition(const ndpar_folds *f, size_t n, size_t k) {
  cr_assert_eq(ndpar_folds_count(f), k);
  cr_assert_eq(ndpar_folds_samples(f), n);
  int *seen = calloc(n, sizeof *seen), *in_fold = malloc(n * sizeof *in_fold);
  size_t min_size = n, max_size = 0;
  for (size_t i = 0; i < k; i++) {
    const size_t *tr, *va;
    size_t ntr, nva;
    cr_assert_eq(ndpar_folds_get(f, i, &tr, &ntr, &va, &nva), GSL_SUCCESS);
    cr_assert_eq(ntr + nva, n);
    memset(in_fold, 0, n * sizeof *in_fold);
    for (size_t j = 0; j < nva; j++) seen[va[j]]++, in_fold[va[j]] = 1;
    for (size_t j = 0; j < ntr; j++) cr_assert(!in_fold[tr[j]], "fold %zu trains on its own index %zu", i, tr[j]);
    min_size = nva < min_size ? nva : min_size;
    max_size = nva > max_size ? nva : max_size;
  }
  for (size_t j = 0; j < n; j++) cr_assert_eq(seen[j], 1, "index %zu validated %d times", j, seen[j]);
  cr_assert(max_size - min_size <= 1, "fold sizes %zu..%zu", min_size, max_size);
  free(seen);
  free(in_fold);
}

Test(folds, kfold_partitions_plain_and_shuffled) {
  gsl_rng *r = test_rng();
  size_t ks[] = {2, 3, 5, 10};
  for (int shuffle = 0; shuffle < 2; shuffle++)
    for (size_t a = 0; a < 4; a++) {
      size_t k = ks[a], ns[] = {k, k + 1, 2 * k - 1, 100 + gsl_rng_uniform_int(r, 1000)};
      for (size_t b = 0; b < 4; b++) {
        ndpar_folds *f = ndpar_folds_kfold(ns[b], k, shuffle, gsl_rng_get(r));
        cr_assert_not_null(f);
        check_partition(f, ns[b], k);
        if (!shuffle) { /* contiguous blocks, in order */
          const size_t *va;
          size_t nva, expect = 0;
          for (size_t i = 0; i < k; i++) {
            ndpar_folds_get(f, i, NULL, NULL, &va, &nva);
            for (size_t j = 0; j < nva; j++) cr_assert_eq(va[j], expect++);
          }
        }
        ndpar_folds_free(f);
      }
    }
  gsl_rng_free(r);
}

Test(folds, shuffled_folds_are_reproducible_from_the_seed) {
  ndpar_folds *a = ndpar_folds_kfold(500, 5, 1, 42), *b = ndpar_folds_kfold(500, 5, 1, 42);
  ndpar_folds *c = ndpar_folds_kfold(500, 5, 1, 43);
  int differs = 0;
  for (size_t i = 0; i < 5; i++) {
    const size_t *va, *vb, *vc;
    size_t na, nb, nc;
    ndpar_folds_get(a, i, NULL, NULL, &va, &na);
    ndpar_folds_get(b, i, NULL, NULL, &vb, &nb);
    ndpar_folds_get(c, i, NULL, NULL, &vc, &nc);
    cr_assert(na == nb && memcmp(va, vb, na * sizeof *va) == 0);
    differs |= memcmp(va, vc, na * sizeof *va) != 0;
  }
  cr_assert(differs, "another seed, other folds");
  ndpar_folds_free(a);
  ndpar_folds_free(b);
  ndpar_folds_free(c);
}

Test(folds, timeseries_windows_never_look_ahead) {
  test_quiet_gsl_errors();
  gsl_rng *r = test_rng();
  for (int trial = 0; trial < 200; trial++) {
    size_t n = 20 + gsl_rng_uniform_int(r, 500), windows = 1 + gsl_rng_uniform_int(r, 6);
    size_t horizon = 1 + gsl_rng_uniform_int(r, 10), step = 1 + gsl_rng_uniform_int(r, 10);
    size_t gap = gsl_rng_uniform_int(r, 5), max_train = gsl_rng_uniform_int(r, 2) ? 0 : 5 + gsl_rng_uniform_int(r, 30);
    ndpar_folds *f = ndpar_folds_timeseries(n, windows, horizon, step, gap, max_train);
    size_t needed = horizon + (windows - 1) * step + gap + 1; /* at least one training point */
    if (needed > n) {
      cr_assert_null(f, "%zu windows need %zu of %zu points", windows, needed, n);
      continue;
    }
    cr_assert_not_null(f);
    cr_assert_eq(ndpar_folds_count(f), windows);
    size_t prev_start = 0;
    for (size_t w = 0; w < windows; w++) {
      const size_t *tr, *va;
      size_t ntr, nva;
      ndpar_folds_get(f, w, &tr, &ntr, &va, &nva);
      cr_assert_eq(nva, horizon);
      for (size_t j = 1; j < nva; j++) cr_assert_eq(va[j], va[0] + j);
      for (size_t j = 0; j < ntr; j++) cr_assert(tr[j] + gap < va[0], "window %zu trains on %zu, validation starts %zu, gap %zu", w, tr[j], va[0], gap);
      cr_assert(ntr > 0);
      cr_assert_eq(tr[ntr - 1] + gap + 1, va[0], "training runs up to the gap");
      if (max_train) cr_assert(ntr <= max_train);
      else cr_assert_eq(tr[0], 0, "expanding window starts at 0");
      if (w > 0) cr_assert_eq(va[0], prev_start + step);
      prev_start = va[0];
      if (w + 1 == windows) cr_assert_eq(va[nva - 1], n - 1, "the last window ends the series");
    }
    ndpar_folds_free(f);
  }
  gsl_rng_free(r);
}

Test(folds, bad_arguments_name_the_problem) {
  test_quiet_gsl_errors();
  cr_assert_null(ndpar_folds_kfold(10, 1, 0, 0));
  cr_assert(strstr(test_gsl_last_reason(), "k must be at least 2"));
  cr_assert_null(ndpar_folds_kfold(3, 4, 0, 0));
  cr_assert(strstr(test_gsl_last_reason(), "k is larger than n"));
  cr_assert_null(ndpar_folds_timeseries(10, 5, 4, 2, 0, 0)); /* needs 12 points */
  cr_assert(strstr(test_gsl_last_reason(), "do not fit"));
  cr_assert_null(ndpar_folds_timeseries(20, 2, 4, 2, 14, 0));
  cr_assert(strstr(test_gsl_last_reason(), "gap"));
  cr_assert_null(ndpar_folds_timeseries(20, 0, 4, 2, 0, 0));
  cr_assert_null(ndpar_folds_timeseries(20, 2, 0, 2, 0, 0));
  cr_assert_null(ndpar_folds_timeseries(20, 2, 4, 0, 0, 0));
  ndpar_folds *f = ndpar_folds_alloc(10, 2);
  size_t tr[] = {0, 1, 2}, va[] = {3, 10};
  cr_assert_eq(ndpar_folds_set(f, 0, tr, 3, va, 2), GSL_EINVAL, "index 10 of 10");
  cr_assert_eq(ndpar_folds_set(f, 2, tr, 3, va, 1), GSL_EINVAL, "fold 2 of 2");
  cr_assert_eq(ndpar_folds_set(f, 0, tr, 0, va, 1), GSL_EINVAL);
  gsl_matrix *x = gsl_matrix_alloc(10, 2);
  gsl_vector *y = gsl_vector_alloc(10), *s = gsl_vector_alloc(2);
  cr_assert_eq(ndpar_folds_set(f, 0, tr, 3, va, 1), GSL_SUCCESS);
  cr_assert_eq(ndpar_cv_run(NULL, x, y, f, NULL, NULL, s), GSL_EFAULT);
  ndpar_folds_free(f);
  gsl_matrix_free(x);
  gsl_vector_free(y);
  gsl_vector_free(s);
}

/* ---- the run ---- */

static int ridge_cb(const gsl_matrix *xtr, const gsl_vector *ytr, const gsl_matrix *xva,
                    const gsl_vector *yva, double *score, const ndpar_task *t, void *ctx) {
  (void)t;
  return ridge_fit_score(*(double *)ctx, xtr, ytr, xva, yva, score);
}

Test(cv_run, equals_a_sequential_loop_at_any_thread_count) {
  size_t n = 600, p = 5;
  gsl_matrix *x = gsl_matrix_alloc(n, p);
  gsl_vector *y = gsl_vector_alloc(n), *scores = gsl_vector_alloc(10);
  ridge_data(x, y);
  double lambda = 0.5;
  ndpar_folds *sets[] = {ndpar_folds_kfold(n, 5, 0, 0), ndpar_folds_kfold(n, 7, 1, test_seed()),
                         ndpar_folds_timeseries(n, 4, 24, 24, 2, 0), ndpar_folds_timeseries(n, 3, 10, 5, 0, 100)};
  for (size_t s = 0; s < 4; s++) {
    size_t k = ndpar_folds_count(sets[s]);
    gsl_vector_view sc = gsl_vector_subvector(scores, 0, k);
    for (size_t threads = 1; threads <= test_max_threads(); threads++) {
      ndpar_pool_config cfg;
      ndpar_pool_config_init(&cfg);
      cfg.threads = threads;
      ndpar_pool *pool = ndpar_pool_alloc(&cfg);
      cr_assert_eq(ndpar_cv_run(pool, x, y, sets[s], ridge_cb, &lambda, &sc.vector), GSL_SUCCESS);
      for (size_t i = 0; i < k; i++)
        cr_assert_eq(gsl_vector_get(&sc.vector, i), ridge_reference_score(sets[s], i, x, y, lambda),
                     "set %zu fold %zu at %zu threads", s, i, threads);
      ndpar_pool_free(pool);
    }
    double mean, sd;
    cr_assert_eq(ndpar_cv_summary(&sc.vector, &mean, &sd), GSL_SUCCESS);
    cr_assert_eq(mean, gsl_stats_mean(sc.vector.data, sc.vector.stride, k));
    cr_assert_eq(sd, gsl_stats_sd(sc.vector.data, sc.vector.stride, k));
    ndpar_folds_free(sets[s]);
  }
  gsl_matrix_free(x);
  gsl_vector_free(y);
  gsl_vector_free(scores);
}

static int fail_fold_3(const gsl_matrix *xtr, const gsl_vector *ytr, const gsl_matrix *xva,
                       const gsl_vector *yva, double *score, const ndpar_task *t, void *ctx) {
  (void)xtr, (void)ytr, (void)xva, (void)yva, (void)ctx;
  *score = 1;
  return t->index == 3 ? GSL_ERANGE : 0;
}

Test(cv_run, a_failing_fold_returns_its_status_and_index) {
  test_quiet_gsl_errors();
  gsl_matrix *x = gsl_matrix_calloc(50, 2);
  gsl_vector *y = gsl_vector_calloc(50), *s = gsl_vector_alloc(5), *wrong = gsl_vector_alloc(4);
  gsl_vector_set_all(s, 7.0);
  ndpar_folds *f = ndpar_folds_kfold(50, 5, 0, 0);
  size_t failed = 0;
  cr_assert_eq(ndpar_cv_run_ex(NULL, x, y, f, fail_fold_3, NULL, s, &failed), GSL_ERANGE);
  cr_assert_eq(failed, 3);
  cr_assert_eq(gsl_vector_get(s, 0), 7.0, "scores untouched");
  cr_assert_eq(ndpar_cv_run(NULL, x, y, f, fail_fold_3, NULL, wrong), GSL_EBADLEN);
  gsl_vector *y49 = gsl_vector_calloc(49);
  cr_assert_eq(ndpar_cv_run(NULL, x, y49, f, fail_fold_3, NULL, s), GSL_EBADLEN);
  double nan_scores[] = {1, NAN, 3};
  gsl_vector_view v = gsl_vector_view_array(nan_scores, 3);
  double mean, sd;
  ndpar_cv_summary(&v.vector, &mean, &sd);
  cr_assert_eq(mean, 2.0, "NaN skipped");
  gsl_vector_free(y49);
  gsl_vector_free(wrong);
  ndpar_folds_free(f);
  gsl_matrix_free(x);
  gsl_vector_free(y);
  gsl_vector_free(s);
}

/* ---- the workspace ---- */

Test(cv_workspace, same_scores_as_the_allocating_form_at_1_to_3_threads) {
  size_t n = 300, p = 4;
  gsl_matrix *x = gsl_matrix_alloc(n, p);
  gsl_vector *y = gsl_vector_alloc(n), *a = gsl_vector_alloc(6), *b = gsl_vector_alloc(6);
  ridge_data(x, y);
  double lambda = 0.25;
  /* shuffled folds are gathered, plain and time-series ones are views */
  ndpar_folds *sets[] = {ndpar_folds_kfold(n, 6, 1, test_seed()), ndpar_folds_kfold(n, 4, 0, 0),
                         ndpar_folds_timeseries(n, 3, 20, 20, 1, 0)};
  for (size_t threads = 1; threads <= 3; threads++) {
    ndpar_pool *pool = test_pool_of(threads);
    ndpar_cv_workspace *w = ndpar_cv_workspace_alloc(pool, sets[0], p); /* the largest folds */
    cr_assert_not_null(w);
    for (size_t s = 0; s < 3; s++) { /* one workspace serves every set that fits */
      size_t k = ndpar_folds_count(sets[s]), failed = 0;
      gsl_vector_view va = gsl_vector_subvector(a, 0, k), vb = gsl_vector_subvector(b, 0, k);
      cr_assert_eq(ndpar_cv_run(pool, x, y, sets[s], ridge_cb, &lambda, &va.vector), GSL_SUCCESS);
      cr_assert_eq(ndpar_cv_run_ws(w, x, y, sets[s], ridge_cb, &lambda, &vb.vector, &failed), GSL_SUCCESS);
      cr_assert_eq(failed, k);
      cr_assert(memcmp(va.vector.data, vb.vector.data, k * sizeof(double)) == 0, "set %zu, %zu threads", s, threads);
    }
    ndpar_cv_workspace_free(w);
    ndpar_pool_free(pool);
  }
  for (size_t s = 0; s < 3; s++) ndpar_folds_free(sets[s]);
  gsl_matrix_free(x);
  gsl_vector_free(y), gsl_vector_free(a), gsl_vector_free(b);
}

Test(cv_workspace, folds_or_data_that_do_not_fit_are_rejected_with_scores_untouched) {
  test_quiet_gsl_errors();
  size_t n = 60;
  gsl_matrix *x = gsl_matrix_calloc(n, 3), *x2 = gsl_matrix_calloc(n, 2);
  gsl_vector *y = gsl_vector_calloc(n), *s5 = gsl_vector_alloc(5), *s6 = gsl_vector_alloc(6);
  gsl_vector_set_all(s5, 7.0);
  gsl_vector_set_all(s6, 7.0);
  ndpar_folds *small = ndpar_folds_kfold(n, 5, 1, 3), *more = ndpar_folds_kfold(n, 6, 0, 0);
  ndpar_folds *gathered_larger = ndpar_folds_kfold(n, 2, 1, 3);
  ndpar_cv_workspace *w = ndpar_cv_workspace_alloc(NULL, small, 3);
  size_t failed = 99, errors = test_gsl_error_count();
  cr_assert_eq(ndpar_cv_run_ws(w, x2, y, small, fail_fold_3, NULL, s5, &failed), GSL_EBADLEN);
  cr_assert(strstr(test_gsl_last_reason(), "x has 2 columns") != NULL, "%s", test_gsl_last_reason());
  cr_assert_eq(ndpar_cv_run_ws(w, x, y, more, fail_fold_3, NULL, s6, &failed), GSL_EBADLEN);
  cr_assert(strstr(test_gsl_last_reason(), "folds has 6 folds") != NULL, "%s", test_gsl_last_reason());
  gsl_vector_view s2 = gsl_vector_subvector(s5, 0, 2);
  cr_assert_eq(ndpar_cv_run_ws(w, x, y, gathered_larger, fail_fold_3, NULL, &s2.vector, &failed), GSL_EBADLEN);
  cr_assert(strstr(test_gsl_last_reason(), "folds gathers") != NULL, "%s", test_gsl_last_reason());
  cr_assert_eq(ndpar_cv_run_ws(NULL, x, y, small, fail_fold_3, NULL, s5, &failed), GSL_EFAULT);
  cr_assert_eq(test_gsl_error_count(), errors + 4);
  cr_assert(failed == 99 && gsl_vector_get(s5, 0) == 7.0 && gsl_vector_get(s6, 0) == 7.0);
  cr_assert_null(ndpar_cv_workspace_alloc(NULL, NULL, 3));
  cr_assert_null(ndpar_cv_workspace_alloc(NULL, small, 0));
  ndpar_cv_workspace_free(NULL);
  ndpar_cv_workspace_free(w);
  ndpar_folds_free(small), ndpar_folds_free(more), ndpar_folds_free(gathered_larger);
  gsl_matrix_free(x), gsl_matrix_free(x2);
  gsl_vector_free(y), gsl_vector_free(s5), gsl_vector_free(s6);
}

/* A workspace of a size no machine has (2^58 columns of one gathered row: bytes that fit a
 * size_t, memory that cannot be had) is GSL_ENOMEM and holds nothing afterwards: each call
 * used to keep gsl_matrix_alloc's struct of the failed buffers (96 bytes). The heap in use
 * (glibc's count; under ASan its leak check at exit says the same) must not grow. */
Test(cv_workspace, an_impossible_size_leaks_nothing) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  cr_skip_test("the sanitizer's allocator aborts on such sizes; tests/badinput has the case");
#endif
  test_quiet_gsl_errors();
  ndpar_pool_config cfg;
  ndpar_pool_config_init(&cfg);
  cfg.threads = 1;
  cfg.bind = NDPAR_BIND_NONE;
  ndpar_pool *pool = ndpar_pool_alloc(&cfg);
  ndpar_folds *f = ndpar_folds_kfold(6, 2, 0, 0);
  cr_assert_null(ndpar_cv_workspace_alloc(pool, f, (size_t)1 << 58)); /* the first call's
                                                                       * one-time allocations */
  struct mallinfo2 before = mallinfo2();
  for (int i = 0; i < 100; i++) cr_assert_null(ndpar_cv_workspace_alloc(pool, f, (size_t)1 << 58));
  struct mallinfo2 after = mallinfo2();
  cr_assert_lt(after.uordblks, before.uordblks + 100 * 48, "%zu bytes more in use after 100 failed calls",
               after.uordblks - before.uordblks);
  ndpar_folds_free(f);
  ndpar_pool_free(pool);
}

/* score = minus the mean squared error of predicting yva by the mean of ytr: no allocation */
static int mean_model(const gsl_matrix *xtr, const gsl_vector *ytr, const gsl_matrix *xva,
                      const gsl_vector *yva, double *score, const ndpar_task *t, void *ctx) {
  (void)xtr, (void)xva, (void)t, (void)ctx;
  double m = gsl_stats_mean(ytr->data, ytr->stride, ytr->size), sse = 0;
  for (size_t i = 0; i < yva->size; i++) sse += gsl_pow_2(gsl_vector_get(yva, i) - m);
  *score = -sse / (double)yva->size;
  return GSL_SUCCESS;
}

Test(cv_workspace, a_run_allocates_nothing) {
  if (!test_alloc_counting()) cr_skip_test("allocation counting is unavailable under a sanitizer");
  size_t n = 500;
  gsl_matrix *x = gsl_matrix_alloc(n, 3);
  gsl_vector *y = gsl_vector_alloc(n), *s = gsl_vector_alloc(8);
  ridge_data(x, y);
  ndpar_folds *f = ndpar_folds_kfold(n, 8, 1, test_seed()); /* gathered: the buffers are used */
  for (size_t threads = 1; threads <= 3; threads++) {
    ndpar_pool *pool = test_pool_of(threads);
    ndpar_cv_workspace *w = ndpar_cv_workspace_alloc(pool, f, 3);
    size_t before = test_alloc_count();
    for (int run = 0; run < 3; run++)
      cr_assert_eq(ndpar_cv_run_ws(w, x, y, f, mean_model, NULL, s, NULL), GSL_SUCCESS);
    cr_assert_eq(test_alloc_count(), before, "%zu threads", threads);
    ndpar_cv_workspace_free(w);
    ndpar_pool_free(pool);
  }
  ndpar_folds_free(f);
  gsl_matrix_free(x);
  gsl_vector_free(y), gsl_vector_free(s);
}

/* ---- the argument convention (docs/API.md) ---- */

static gsl_matrix *conv_x;
static gsl_vector *conv_y, *conv_s;
static ndpar_folds *conv_f;
static int conv_null_f(size_t *f) { return ndpar_cv_run_ex(NULL, conv_x, conv_y, conv_f, NULL, NULL, conv_s, f); }
static int conv_null_folds(size_t *f) { return ndpar_cv_run_ex(NULL, conv_x, conv_y, NULL, mean_model, NULL, conv_s, f); }
static int conv_null_x(size_t *f) { return ndpar_cv_run_ex(NULL, NULL, conv_y, conv_f, mean_model, NULL, conv_s, f); }
static int conv_null_scores(size_t *f) { return ndpar_cv_run_ex(NULL, conv_x, conv_y, conv_f, mean_model, NULL, NULL, f); }
static int conv_done(size_t *f) { return ndpar_cv_run_ex(NULL, conv_x, conv_y, conv_f, mean_model, NULL, conv_s, f); }
static int conv_ws_null(size_t *f) { return ndpar_cv_run_ws(NULL, conv_x, conv_y, conv_f, mean_model, NULL, conv_s, f); }

Test(cv_convention, null_pointers_and_failed_as_the_api_says) {
  conv_x = gsl_matrix_calloc(20, 2);
  conv_y = gsl_vector_calloc(20);
  conv_s = gsl_vector_alloc(4);
  conv_f = ndpar_folds_kfold(20, 4, 0, 0);
  const test_convention_row rows[] = {
      {"cv_run_ex, f NULL", conv_null_f, GSL_EFAULT, 0},
      {"cv_run_ex, folds NULL", conv_null_folds, GSL_EFAULT, 0},
      {"cv_run_ex, x NULL", conv_null_x, GSL_EFAULT, 0},
      {"cv_run_ex, scores NULL", conv_null_scores, GSL_EFAULT, 0},
      {"cv_run_ex, success (failed = folds)", conv_done, GSL_SUCCESS, 4},
      {"cv_run_ws, w NULL", conv_ws_null, GSL_EFAULT, 0},
  };
  test_convention_table(rows, sizeof rows / sizeof rows[0]);
  ndpar_folds_free(conv_f);
  gsl_matrix_free(conv_x);
  gsl_vector_free(conv_y), gsl_vector_free(conv_s);
}

/* ---- sizes that overflow, degenerate data, failed allocations ---- */

Test(folds, sizes_that_overflow_are_refused_before_allocating) {
  test_quiet_gsl_errors();
  size_t huge = ((size_t)1 << 61) + 1; /* huge * 8 wraps to 8 */
  cr_assert_null(ndpar_folds_kfold(huge, 2, 0, 0));
  cr_assert(strstr(test_gsl_last_reason(), "too large"), "%s", test_gsl_last_reason());
  cr_assert_null(ndpar_folds_kfold(huge, 2, 1, 0));
  cr_assert_null(ndpar_folds_timeseries(100, 3, 1, (size_t)1 << 63, 0, 0), "back wraps");
  cr_assert(strstr(test_gsl_last_reason(), "do not fit"), "%s", test_gsl_last_reason());
  cr_assert_null(ndpar_folds_timeseries(100, SIZE_MAX, 1, SIZE_MAX, 0, 0));
  cr_assert_null(ndpar_folds_timeseries(100, 2, SIZE_MAX, 1, 0, 0));
  cr_assert_null(ndpar_folds_timeseries(huge, 1, 1, 1, 0, 0));
  ndpar_folds *f = ndpar_folds_alloc(10, 2);
  size_t tr[] = {0, 1}, va[] = {3};
  cr_assert_eq(ndpar_folds_set(f, 0, tr, SIZE_MAX / 4, va, 1), GSL_EINVAL);
  cr_assert_eq(test_gsl_error_count(), 7);
  ndpar_folds_free(f);
}

Test(folds, a_failed_generator_is_a_clean_error) {
  test_quiet_gsl_errors();
  test_fault_gsl_rng_alloc(1);
  cr_assert_null(ndpar_folds_kfold(100, 5, 1, 7));
  cr_assert(strstr(test_gsl_last_reason(), "out of memory"));
  ndpar_folds *plain = ndpar_folds_kfold(100, 5, 0, 7);
  cr_assert_not_null(plain, "an unshuffled split needs no generator");
  test_fault_gsl_rng_alloc(0);
  ndpar_folds *f = ndpar_folds_kfold(100, 5, 1, 7);
  cr_assert_not_null(f, "works again once the generator can be had");
  ndpar_folds_free(f);
  ndpar_folds_free(plain);
}

static int never_called(const gsl_matrix *xtr, const gsl_vector *ytr, const gsl_matrix *xva,
                        const gsl_vector *yva, double *score, const ndpar_task *t, void *ctx) {
  (void)xtr, (void)ytr, (void)xva, (void)yva, (void)score, (void)t;
  ++*(int *)ctx;
  return GSL_SUCCESS;
}

Test(cv_run, zero_columns_are_refused_on_the_calling_thread) {
  test_quiet_gsl_errors();
  gsl_matrix x = {10, 0, 0, NULL, NULL, 0}; /* 10 rows, no columns */
  gsl_vector *y = gsl_vector_calloc(10), *s = gsl_vector_alloc(2);
  gsl_vector_set_all(s, 42);
  ndpar_folds *f = ndpar_folds_kfold(10, 2, 0, 0);
  int calls = 0;
  for (size_t threads = 1; threads <= test_max_threads(); threads++) {
    ndpar_pool *p = test_pool_of(threads);
    cr_assert_eq(ndpar_cv_run(p, &x, y, f, never_called, &calls, s), GSL_EBADLEN);
    cr_assert(strstr(test_gsl_last_reason(), "no columns"), "%s", test_gsl_last_reason());
    ndpar_pool_free(p);
  }
  cr_assert_eq(calls, 0);
  cr_assert(gsl_vector_get(s, 0) == 42 && gsl_vector_get(s, 1) == 42, "scores untouched");
  ndpar_folds_free(f);
  gsl_vector_free(y);
  gsl_vector_free(s);
}

/* ---- the summary's sd near the ends of the double range ---- */

static double summary_sd(const double *v, size_t n) {
  gsl_vector_const_view s = gsl_vector_const_view_array(v, n);
  double mean, sd;
  cr_assert_eq(ndpar_cv_summary(&s.vector, &mean, &sd), GSL_SUCCESS);
  return sd;
}

/* numpy's mean and std of infinite scores: [inf, inf] is inf (gsl_stats_mean's running
 * mean gave NaN: inf - inf), [inf, 1] inf, [inf, -inf] NaN; the sd of any of them NaN. */
Test(cv_summary, infinite_scores_as_numpy) {
  double mean, sd;
  double both[] = {INFINITY, INFINITY}, one[] = {INFINITY, 1.0}, signs[] = {INFINITY, -INFINITY},
         low[] = {-INFINITY, -INFINITY, -INFINITY};
  gsl_vector_view v = gsl_vector_view_array(both, 2);
  cr_assert_eq(ndpar_cv_summary(&v.vector, &mean, &sd), GSL_SUCCESS);
  cr_assert(mean == INFINITY && isnan(sd), "mean %g sd %g", mean, sd);
  v = gsl_vector_view_array(one, 2);
  ndpar_cv_summary(&v.vector, &mean, &sd);
  cr_assert(mean == INFINITY && isnan(sd));
  v = gsl_vector_view_array(signs, 2);
  ndpar_cv_summary(&v.vector, &mean, &sd);
  cr_assert(isnan(mean) && isnan(sd));
  v = gsl_vector_view_array(low, 3);
  ndpar_cv_summary(&v.vector, &mean, &sd);
  cr_assert(mean == -INFINITY && isnan(sd));
  v = gsl_vector_view_array(both, 1);
  ndpar_cv_summary(&v.vector, &mean, &sd);
  cr_assert(mean == INFINITY && isnan(sd), "one infinite score: numpy's std is NaN");
}

Test(cv_summary, sd_of_scores_of_plus_minus_1e308_is_finite) {
  double v[7], unit[7];
  for (size_t n = 2; n <= 7; n++) {
    for (size_t i = 0; i < n; i++) unit[i] = i % 2 ? -1.0 : 1.0, v[i] = unit[i] * 1e308;
    double want = gsl_stats_sd(unit, 1, n) * 1e308; /* the sd scales with the data */
    double sd = summary_sd(v, n);
    cr_assert(isfinite(sd) && fabs(sd - want) <= 1e-15 * want, "n %zu: sd %.17g, want %.17g", n, sd, want);
  }
  cr_assert(fabs(summary_sd(v, 2) - M_SQRT2 * 1e308) <= 1e-15 * 1e308, "+-1e308: sqrt(2) 1e308");
}

Test(cv_summary, sd_is_gsl_bit_for_bit_and_scales_exactly_by_powers_of_two) {
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(r, 20261126);
  double v[101], big[101];
  for (size_t i = 0; i < 101; i++) v[i] = gsl_rng_uniform(r) - 0.25, big[i] = ldexp(v[i], 1000);
  for (size_t n = 2; n <= 101; n += 33) {
    double sd = summary_sd(v, n);
    cr_assert(sd == gsl_stats_sd(v, 1, n), "n %zu: %.17g vs gsl %.17g", n, sd, gsl_stats_sd(v, 1, n));
    cr_assert(summary_sd(big, n) == ldexp(sd, 1000), "n %zu: 2^1000 x data gives 2^1000 x sd", n);
  }
  gsl_rng_free(r);
}

Test(cv_workspace, cols_whose_product_overflows_are_refused_before_allocating) {
  test_quiet_gsl_errors();
  size_t tr[] = {0, 2, 4}, va[] = {1, 3}; /* gathered (not one run): buffers of 3 x cols */
  ndpar_folds *f = ndpar_folds_alloc(5, 1);
  cr_assert_eq(ndpar_folds_set(f, 0, tr, 3, va, 2), GSL_SUCCESS);
  cr_assert_null(ndpar_cv_workspace_alloc(NULL, f, SIZE_MAX));
  cr_assert_null(ndpar_cv_workspace_alloc(NULL, f, SIZE_MAX / 16));
  cr_assert(strstr(test_gsl_last_reason(), "overflow"), "%s", test_gsl_last_reason());
  cr_assert_eq(test_gsl_error_count(), 2);
  ndpar_folds_free(f);
}

/* ---- the time-series split by name ---- */

static void assert_same_folds(const ndpar_folds *a, const ndpar_folds *b) {
  cr_assert_eq(ndpar_folds_count(a), ndpar_folds_count(b));
  for (size_t i = 0; i < ndpar_folds_count(a); i++) {
    const size_t *ta, *va, *tb, *vb;
    size_t nta, nva, ntb, nvb;
    cr_assert_eq(ndpar_folds_get(a, i, &ta, &nta, &va, &nva), GSL_SUCCESS);
    cr_assert_eq(ndpar_folds_get(b, i, &tb, &ntb, &vb, &nvb), GSL_SUCCESS);
    cr_assert(nta == ntb && nva == nvb, "fold %zu", i);
    cr_assert(memcmp(ta, tb, nta * sizeof *ta) == 0 && memcmp(va, vb, nva * sizeof *va) == 0);
  }
}

Test(cv_timeseries_opts, the_options_give_the_positional_forms_folds) {
  /* {n, windows, horizon, step, gap, max_train} */
  const size_t cases[][6] = {{100, 5, 10, 10, 0, 0}, {100, 3, 7, 4, 2, 0}, {50, 4, 5, 6, 1, 20},
                             {10, 1, 3, 1, 0, 0}, {24, 12, 1, 1, 0, 3}};
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
    const size_t *k = cases[c];
    ndpar_timeseries_options o;
    ndpar_timeseries_options_init(&o);
    o.windows = k[1];
    o.horizon = k[2];
    o.step = k[3];
    o.gap = k[4];
    o.max_train = k[5];
    ndpar_folds *a = ndpar_folds_timeseries(k[0], k[1], k[2], k[3], k[4], k[5]);
    ndpar_folds *b = ndpar_folds_timeseries_opts(k[0], &o);
    cr_assert(a != NULL && b != NULL, "case %zu", c);
    assert_same_folds(a, b);
    ndpar_folds_free(a);
    ndpar_folds_free(b);
  }
  /* step 0: windows back to back (step = horizon), as TimeSeriesSplit's default. */
  ndpar_timeseries_options o;
  ndpar_timeseries_options_init(&o);
  o.windows = 4;
  o.horizon = 6;
  ndpar_folds *a = ndpar_folds_timeseries(40, 4, 6, 6, 0, 0);
  ndpar_folds *b = ndpar_folds_timeseries_opts(40, &o);
  assert_same_folds(a, b);
  ndpar_folds_free(a);
  ndpar_folds_free(b);
}
