/* Tests of the preprocess module: column statistics against GSL's two-pass statistics,
 * scalers and their inverse (to rounding), non-finite data, determinism, chunk callbacks, errors. */
#include <criterion/criterion.h>
#include <gsl/gsl_math.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <float.h>

#include "ndpar/ndpar_preprocess.h"
#include "test_util.h"

/* offset + N(0, sd (j + 1)) in column j: columns of different spreads. */
static gsl_matrix *random_matrix(gsl_rng *r, size_t rows, size_t cols, double offset, double sd) {
  gsl_matrix *m = test_random_matrix(r, rows, cols);
  for (size_t i = 0; i < rows; i++)
    for (size_t j = 0; j < cols; j++) gsl_matrix_set(m, i, j, offset + gsl_matrix_get(m, i, j) * sd * (double)(j + 1));
  return m;
}

static void rel_close(double got, double ref, double rel, const char *what, size_t j) {
  cr_assert(fabs(got - ref) <= rel * fabs(ref) + 1e-300, "%s column %zu: %.17g vs %.17g", what, j, got, ref);
}

/* Every statistic of every column against GSL's two-pass functions on the column. */
static void check_colstats(ndpar_pool *p, const gsl_matrix *x) {
  size_t cols = x->size2;
  gsl_vector *mean = gsl_vector_alloc(cols), *sd = gsl_vector_alloc(cols);
  gsl_vector *mn = gsl_vector_alloc(cols), *mx = gsl_vector_alloc(cols);
  cr_assert_eq(ndpar_colstats(p, x, 0, mean, sd, mn, mx), GSL_SUCCESS);
  for (size_t j = 0; j < cols; j++) {
    gsl_vector_const_view c = gsl_matrix_const_column(x, j);
    const double *d = c.vector.data;
    size_t st = c.vector.stride, n = c.vector.size;
    rel_close(gsl_vector_get(mean, j), gsl_stats_mean(d, st, n), 1e-12, "mean", j);
    if (n > 1) rel_close(gsl_vector_get(sd, j), gsl_stats_sd(d, st, n), 1e-12, "sd", j);
    else cr_assert_eq(gsl_vector_get(sd, j), 0.0);
    cr_assert_eq(gsl_vector_get(mn, j), gsl_stats_min(d, st, n));
    cr_assert_eq(gsl_vector_get(mx, j), gsl_stats_max(d, st, n));
  }
  gsl_vector_free(mean);
  gsl_vector_free(sd);
  gsl_vector_free(mn);
  gsl_vector_free(mx);
}

Test(colstats, against_gsl_two_pass_statistics) {
  gsl_rng *r = test_rng();
  ndpar_pool *p = test_pool_of(test_max_threads());
  size_t T = test_max_threads();
  size_t rows_list[] = {1, T - 1, T, T + 1, 1000, 200000 + gsl_rng_uniform_int(r, 5000)};
  for (size_t k = 0; k < 6; k++) {
    gsl_matrix *x = random_matrix(r, rows_list[k], 1 + gsl_rng_uniform_int(r, 9), gsl_ran_gaussian(r, 5), 2.0);
    check_colstats(p, x);
    gsl_matrix_free(x);
  }
  ndpar_pool_free(p);
  gsl_rng_free(r);
}

/* A reference more exact than double two-pass: shifted by the first value (exact by
 * Sterbenz's lemma) and summed in long double. */
static void reference_moments(const double *d, size_t stride, size_t n, double *mean, double *sd) {
  long double k = d[0], s = 0, ss = 0;
  for (size_t i = 0; i < n; i++) s += (long double)d[i * stride] - k;
  long double m = s / (long double)n;
  for (size_t i = 0; i < n; i++) {
    long double dv = ((long double)d[i * stride] - k) - m;
    ss += dv * dv;
  }
  *mean = (double)(k + m);
  *sd = (double)sqrtl(ss / (long double)(n - 1));
}

Test(colstats, large_offset_where_a_sum_of_squares_fails) {
  gsl_rng *r = test_rng();
  size_t n = 300000;
  gsl_matrix *x = random_matrix(r, n, 4, 1e9, 1.0); /* 1e9 + noise */
  gsl_vector *mean = gsl_vector_alloc(4), *sd = gsl_vector_alloc(4);
  cr_assert_eq(ndpar_colstats(NULL, x, 0, mean, sd, NULL, NULL), GSL_SUCCESS);
  for (size_t j = 0; j < 4; j++) {
    gsl_vector_const_view c = gsl_matrix_const_column(x, j);
    const double *d = c.vector.data;
    size_t st = c.vector.stride;
    double ref_mean, ref_sd, naive_s = 0, naive_ss = 0;
    reference_moments(d, st, n, &ref_mean, &ref_sd);
    rel_close(gsl_vector_get(mean, j), ref_mean, 1e-15, "mean vs exact", j);
    rel_close(gsl_vector_get(sd, j), ref_sd, 1e-12, "sd vs exact", j);
    /* GSL's two-pass functions are themselves ~1e-10 off on such data (double sums of
     * values near 1e9); ndpar must agree with them to their own accuracy. */
    rel_close(gsl_vector_get(sd, j), gsl_stats_sd(d, st, n), 1e-9, "sd vs gsl", j);
    for (size_t i = 0; i < n; i++) naive_s += d[i * st], naive_ss += d[i * st] * d[i * st];
    double naive_var = (naive_ss - naive_s * naive_s / (double)n) / (double)(n - 1);
    cr_assert(!(fabs(sqrt(fabs(naive_var)) - ref_sd) < 1e-3 * ref_sd), "the naive sum of squares fails here");
  }
  gsl_vector_free(mean);
  gsl_vector_free(sd);
  gsl_matrix_free(x);
  gsl_rng_free(r);
}

Test(colstats, bit_identical_at_any_thread_count) {
  gsl_rng *r = test_rng();
  gsl_matrix *x = random_matrix(r, 100003, 7, 3.0, 1.0);
  gsl_vector *ref = gsl_vector_alloc(7), *got = gsl_vector_alloc(7), *ref_sd = gsl_vector_alloc(7), *sd = gsl_vector_alloc(7);
  for (size_t threads = 1; threads <= test_max_threads(); threads++) {
    ndpar_pool *p = test_pool_of(threads);
    gsl_vector *m = threads == 1 ? ref : got, *s = threads == 1 ? ref_sd : sd;
    cr_assert_eq(ndpar_colstats(p, x, 0, m, s, NULL, NULL), GSL_SUCCESS);
    if (threads > 1) {
      cr_assert(memcmp(got->data, ref->data, 7 * sizeof(double)) == 0);
      cr_assert(memcmp(sd->data, ref_sd->data, 7 * sizeof(double)) == 0);
    }
    ndpar_pool_free(p);
  }
  gsl_vector_free(ref);
  gsl_vector_free(got);
  gsl_vector_free(ref_sd);
  gsl_vector_free(sd);
  gsl_matrix_free(x);
  gsl_rng_free(r);
}

Test(colstats, nonfinite_rejected_naming_row_and_column_or_ignored) {
  test_quiet_gsl_errors();
  gsl_rng *r = test_rng();
  gsl_matrix *x = random_matrix(r, 50000, 3, 0, 1);
  size_t bad_r = 20000 + gsl_rng_uniform_int(r, 20000);
  gsl_matrix_set(x, bad_r, 2, NAN);
  gsl_matrix_set(x, bad_r + 5, 1, INFINITY); /* later in row order: not the one named */
  gsl_vector *mean = gsl_vector_alloc(3);
  gsl_vector_set_all(mean, 7.0);
  cr_assert_eq(ndpar_colstats(NULL, x, 0, mean, NULL, NULL, NULL), GSL_EDOM);
  char expect[64];
  snprintf(expect, sizeof expect, "x[%zu][2]", bad_r);
  cr_assert(strstr(test_gsl_last_reason(), expect) != NULL, "%s", test_gsl_last_reason());
  cr_assert_eq(gsl_vector_get(mean, 0), 7.0, "untouched");
  cr_assert_eq(ndpar_colstats(NULL, x, NDPAR_PREPROCESS_IGNORE_NONFINITE, mean, NULL, NULL, NULL), GSL_SUCCESS);
  /* column 2 without its NaN */
  double *col = malloc(50000 * sizeof *col);
  size_t n = 0;
  for (size_t i = 0; i < 50000; i++)
    if (isfinite(gsl_matrix_get(x, i, 2))) col[n++] = gsl_matrix_get(x, i, 2);
  cr_assert_eq(n, 49999);
  rel_close(gsl_vector_get(mean, 2), gsl_stats_mean(col, 1, n), 1e-12, "mean ignoring NaN", 2);
  free(col);
  gsl_vector_free(mean);
  gsl_matrix_free(x);
  gsl_rng_free(r);
}

/* ---- the workspace ---- */

Test(colstats_workspace, same_statistics_as_the_allocating_form_at_1_to_3_threads) {
  gsl_rng *r = test_rng();
  size_t shapes[][2] = {{1, 1}, {3, 5}, {40000, 3}, {7, 9000}}; /* 9000 columns: a row per block */
  for (size_t threads = 1; threads <= 3; threads++) {
    ndpar_pool *p = test_pool_of(threads);
    for (size_t k = 0; k < 4; k++) {
      size_t rows = shapes[k][0], cols = shapes[k][1];
      ndpar_preprocess_workspace *w = ndpar_preprocess_workspace_alloc(p, rows, cols);
      cr_assert_not_null(w);
      gsl_vector *a[4], *b[4];
      for (int q = 0; q < 4; q++) a[q] = gsl_vector_alloc(cols), b[q] = gsl_vector_alloc(cols);
      for (int call = 0; call < 2; call++) { /* reused on new data */
        gsl_matrix *x = random_matrix(r, rows, cols, 1e6 * call, 2.0);
        if (call) gsl_matrix_set(x, rows / 2, cols - 1, NAN);
        int flags = call ? NDPAR_PREPROCESS_IGNORE_NONFINITE : 0;
        cr_assert_eq(ndpar_colstats(p, x, flags, a[0], a[1], a[2], a[3]), GSL_SUCCESS);
        cr_assert_eq(ndpar_colstats_ws(w, x, flags, b[0], b[1], b[2], b[3]), GSL_SUCCESS);
        for (int q = 0; q < 4; q++)
          cr_assert(memcmp(a[q]->data, b[q]->data, cols * sizeof(double)) == 0,
                    "%zu x %zu, statistic %d, %zu threads", rows, cols, q, threads);
        gsl_matrix_free(x);
      }
      for (int q = 0; q < 4; q++) gsl_vector_free(a[q]), gsl_vector_free(b[q]);
      ndpar_preprocess_workspace_free(w);
    }
    ndpar_pool_free(p);
  }
  gsl_rng_free(r);
}

Test(colstats_workspace, other_shapes_are_rejected_with_outputs_untouched) {
  test_quiet_gsl_errors();
  gsl_rng *r = test_rng();
  ndpar_preprocess_workspace *w = ndpar_preprocess_workspace_alloc(NULL, 100, 4);
  gsl_matrix *taller = random_matrix(r, 101, 4, 0, 1), *wider = random_matrix(r, 100, 5, 0, 1);
  gsl_vector *mean4 = gsl_vector_alloc(4), *mean5 = gsl_vector_alloc(5);
  gsl_vector_set_all(mean4, 7.0);
  gsl_vector_set_all(mean5, 7.0);
  size_t errors = test_gsl_error_count();
  cr_assert_eq(ndpar_colstats_ws(w, taller, 0, mean4, NULL, NULL, NULL), GSL_EBADLEN);
  cr_assert(strstr(test_gsl_last_reason(), "x is 101 x 4") != NULL, "%s", test_gsl_last_reason());
  cr_assert_eq(ndpar_colstats_ws(w, wider, 0, mean5, NULL, NULL, NULL), GSL_EBADLEN);
  cr_assert_eq(ndpar_colstats_ws(NULL, taller, 0, mean4, NULL, NULL, NULL), GSL_EFAULT);
  cr_assert_eq(test_gsl_error_count(), errors + 3);
  cr_assert(gsl_vector_get(mean4, 0) == 7.0 && gsl_vector_get(mean5, 0) == 7.0);
  cr_assert_null(ndpar_preprocess_workspace_alloc(NULL, 0, 4));
  cr_assert_null(ndpar_preprocess_workspace_alloc(NULL, 4, 0));
  cr_assert_null(ndpar_preprocess_workspace_alloc(NULL, SIZE_MAX, SIZE_MAX / 2));
  ndpar_preprocess_workspace_free(NULL);
  gsl_vector_free(mean4), gsl_vector_free(mean5);
  gsl_matrix_free(taller), gsl_matrix_free(wider);
  ndpar_preprocess_workspace_free(w);
  gsl_rng_free(r);
}

Test(colstats_workspace, a_call_allocates_nothing) {
  if (!test_alloc_counting()) cr_skip_test("allocation counting is unavailable under a sanitizer");
  gsl_rng *r = test_rng();
  gsl_matrix *x = random_matrix(r, 60000, 6, 5.0, 1.0);
  gsl_vector *v[4];
  for (int q = 0; q < 4; q++) v[q] = gsl_vector_alloc(6);
  for (size_t threads = 1; threads <= 3; threads++) {
    ndpar_pool *p = test_pool_of(threads);
    ndpar_preprocess_workspace *w = ndpar_preprocess_workspace_alloc(p, 60000, 6);
    size_t before = test_alloc_count();
    for (int call = 0; call < 3; call++)
      cr_assert_eq(ndpar_colstats_ws(w, x, 0, v[0], v[1], v[2], v[3]), GSL_SUCCESS);
    cr_assert_eq(test_alloc_count(), before, "%zu threads", threads);
    ndpar_preprocess_workspace_free(w);
    ndpar_pool_free(p);
  }
  for (int q = 0; q < 4; q++) gsl_vector_free(v[q]);
  gsl_matrix_free(x);
  gsl_rng_free(r);
}

/* ---- scalers ---- */

static const char *kind_name[] = {"standard", "minmax", "minmax1", "robust", "maxabs"};

Test(scaler, transform_then_inverse_returns_the_input) {
  gsl_rng *r = test_rng();
  for (int kind = 0; kind < 5; kind++) {
    gsl_matrix *x = random_matrix(r, 5000 + gsl_rng_uniform_int(r, 1000), 6, 100.0, 3.0);
    gsl_matrix *y = gsl_matrix_alloc(x->size1, x->size2);
    gsl_matrix_memcpy(y, x);
    ndpar_scaler *s = ndpar_scaler_alloc((ndpar_scale_kind)kind, 6);
    cr_assert_eq(ndpar_scaler_fit(NULL, s, x), GSL_SUCCESS);
    cr_assert_eq(ndpar_scaler_transform(NULL, s, y), GSL_SUCCESS);
    cr_assert_eq(ndpar_scaler_inverse(NULL, s, y), GSL_SUCCESS);
    for (size_t i = 0; i < x->size1; i++)
      for (size_t j = 0; j < 6; j++)
        rel_close(gsl_matrix_get(y, i, j), gsl_matrix_get(x, i, j), 1e-12, kind_name[kind], j);
    ndpar_scaler_free(s);
    gsl_matrix_free(x);
    gsl_matrix_free(y);
  }
  gsl_rng_free(r);
}

Test(scaler, each_kind_maps_to_its_range) {
  gsl_rng *r = test_rng();
  gsl_matrix *x = random_matrix(r, 4001, 3, -5.0, 2.0);
  for (int kind = 0; kind < 5; kind++) {
    gsl_matrix *y = gsl_matrix_alloc(4001, 3);
    gsl_matrix_memcpy(y, x);
    ndpar_scaler *s = ndpar_scaler_alloc((ndpar_scale_kind)kind, 3);
    ndpar_scaler_fit(NULL, s, x);
    ndpar_scaler_transform(NULL, s, y);
    for (size_t j = 0; j < 3; j++) {
      gsl_vector_view c = gsl_matrix_column(y, j);
      const double *d = c.vector.data;
      size_t st = c.vector.stride, n = 4001;
      double lo = gsl_stats_min(d, st, n), hi = gsl_stats_max(d, st, n);
      switch (kind) {
        case NDPAR_SCALE_STANDARD:
          cr_assert(fabs(gsl_stats_mean(d, st, n)) < 1e-12 && fabs(gsl_stats_sd(d, st, n) - 1) < 1e-12);
          break;
        case NDPAR_SCALE_MINMAX:
          cr_assert(fabs(lo) < 1e-15 && fabs(hi - 1) < 1e-15, "[0,1]: %g %g", lo, hi);
          break;
        case NDPAR_SCALE_MINMAX1:
          cr_assert(fabs(lo + 1) < 1e-15 && fabs(hi - 1) < 1e-15, "[-1,1]: %g %g", lo, hi);
          break;
        case NDPAR_SCALE_MAXABS:
          cr_assert(fabs(GSL_MAX(fabs(lo), fabs(hi)) - 1) < 1e-15);
          break;
        default: { /* robust: the median maps to 0, against a full sort */
          double *sorted = malloc(n * sizeof *sorted);
          for (size_t i = 0; i < n; i++) sorted[i] = gsl_matrix_get(x, i, j);
          gsl_sort(sorted, 1, n);
          const gsl_vector *center, *scale;
          ndpar_scaler_params(s, &center, &scale);
          cr_assert_eq(gsl_vector_get(center, j), gsl_stats_median_from_sorted_data(sorted, 1, n));
          double iqr = gsl_stats_quantile_from_sorted_data(sorted, 1, n, 0.75) -
                       gsl_stats_quantile_from_sorted_data(sorted, 1, n, 0.25);
          rel_close(gsl_vector_get(scale, j), iqr, 1e-15, "IQR", j);
          free(sorted);
        }
      }
    }
    ndpar_scaler_free(s);
    gsl_matrix_free(y);
  }
  gsl_matrix_free(x);
  gsl_rng_free(r);
}

Test(scaler, robust_quartiles_by_selection_match_sorting_for_even_and_odd_counts) {
  gsl_rng *r = test_rng();
  size_t counts[] = {1, 2, 3, 4, 5, 10, 11, 1000, 1001};
  for (size_t k = 0; k < 9; k++) {
    size_t n = counts[k];
    gsl_matrix *x = random_matrix(r, n, 1, 0, 1);
    ndpar_scaler *s = ndpar_scaler_alloc(NDPAR_SCALE_ROBUST, 1);
    cr_assert_eq(ndpar_scaler_fit(NULL, s, x), GSL_SUCCESS);
    double *sorted = malloc(n * sizeof *sorted);
    memcpy(sorted, x->data, n * sizeof *sorted);
    gsl_sort(sorted, 1, n);
    const gsl_vector *center, *scale;
    ndpar_scaler_params(s, &center, &scale);
    double iqr = gsl_stats_quantile_from_sorted_data(sorted, 1, n, 0.75) - gsl_stats_quantile_from_sorted_data(sorted, 1, n, 0.25);
    cr_assert_eq(gsl_vector_get(center, 0), gsl_stats_median_from_sorted_data(sorted, 1, n), "n=%zu", n);
    cr_assert_eq(gsl_vector_get(scale, 0), iqr == 0 ? 1.0 : iqr, "n=%zu", n);
    free(sorted);
    ndpar_scaler_free(s);
    gsl_matrix_free(x);
  }
  gsl_rng_free(r);
}

Test(scaler, constant_columns_map_to_the_low_end_or_zero_not_nan) {
  gsl_matrix *x = gsl_matrix_alloc(100, 2);
  for (size_t i = 0; i < 100; i++) {
    gsl_matrix_set(x, i, 0, 42.0);
    gsl_matrix_set(x, i, 1, (double)i);
  }
  for (int kind = 0; kind < 5; kind++) {
    gsl_matrix *y = gsl_matrix_alloc(100, 2);
    gsl_matrix_memcpy(y, x);
    ndpar_scaler *s = ndpar_scaler_alloc((ndpar_scale_kind)kind, 2);
    ndpar_scaler_fit(NULL, s, x);
    ndpar_scaler_transform(NULL, s, y);
    /* a constant maps to 0, except under maxabs, which only scales: 42 / 42, and minmax1,
     * which maps it to -1 as MinMaxScaler(feature_range=(-1, 1)) */
    double expect = kind == NDPAR_SCALE_MAXABS ? 1.0 : kind == NDPAR_SCALE_MINMAX1 ? -1.0 : 0.0;
    for (size_t i = 0; i < 100; i++) cr_assert_eq(gsl_matrix_get(y, i, 0), expect, "%s", kind_name[kind]);
    ndpar_scaler_inverse(NULL, s, y);
    for (size_t i = 0; i < 100; i++) cr_assert_eq(gsl_matrix_get(y, i, 0), 42.0);
    ndpar_scaler_free(s);
    gsl_matrix_free(y);
  }
  gsl_matrix *zero = gsl_matrix_calloc(10, 1);
  ndpar_scaler *s = ndpar_scaler_alloc(NDPAR_SCALE_MAXABS, 1);
  ndpar_scaler_fit(NULL, s, zero);
  ndpar_scaler_transform(NULL, s, zero);
  cr_assert_eq(gsl_matrix_get(zero, 3, 0), 0.0, "an all-zero column stays 0");
  ndpar_scaler_free(s);
  gsl_matrix_free(zero);
  gsl_matrix_free(x);
}

Test(scaler, identical_results_at_1_2_3_threads) {
  gsl_rng *r = test_rng();
  gsl_matrix *x = random_matrix(r, 30011, 5, 1.0, 1.0), *ref = gsl_matrix_alloc(30011, 5), *y = gsl_matrix_alloc(30011, 5);
  for (int kind = 0; kind < 5; kind++)
    for (size_t threads = 1; threads <= 3; threads++) {
      ndpar_pool *p = test_pool_of(threads);
      ndpar_scaler *s = ndpar_scaler_alloc((ndpar_scale_kind)kind, 5);
      gsl_matrix *out = threads == 1 ? ref : y;
      gsl_matrix_memcpy(out, x);
      cr_assert_eq(ndpar_scaler_fit(p, s, x), GSL_SUCCESS);
      cr_assert_eq(ndpar_scaler_transform(p, s, out), GSL_SUCCESS);
      if (threads > 1) cr_assert(memcmp(y->data, ref->data, 30011 * 5 * sizeof(double)) == 0, "%s", kind_name[kind]);
      ndpar_scaler_free(s);
      ndpar_pool_free(p);
    }
  gsl_matrix_free(x);
  gsl_matrix_free(ref);
  gsl_matrix_free(y);
  gsl_rng_free(r);
}

Test(scaler, bad_input_leaves_data_untouched) {
  test_quiet_gsl_errors();
  gsl_matrix *x = gsl_matrix_alloc(10, 3), *four = gsl_matrix_alloc(10, 4);
  gsl_matrix_set_all(x, 7.0);
  gsl_matrix_set_all(four, 7.0);
  cr_assert_null(ndpar_scaler_alloc(NDPAR_SCALE_STANDARD, 0));
  cr_assert_null(ndpar_scaler_alloc((ndpar_scale_kind)42, 3));
  ndpar_scaler *s = ndpar_scaler_alloc(NDPAR_SCALE_STANDARD, 3);
  cr_assert_eq(ndpar_scaler_transform(NULL, s, x), GSL_EINVAL, "unfitted");
  cr_assert(strstr(test_gsl_last_reason(), "not fitted") != NULL);
  cr_assert_eq(ndpar_scaler_fit(NULL, s, four), GSL_EBADLEN);
  cr_assert_eq(ndpar_scaler_fit(NULL, s, NULL), GSL_EFAULT);
  cr_assert_eq(ndpar_scaler_fit(NULL, NULL, x), GSL_EFAULT);
  gsl_matrix empty = *x;
  empty.size1 = 0;
  cr_assert_eq(ndpar_scaler_fit(NULL, s, &empty), GSL_EBADLEN);
  cr_assert_eq(ndpar_scaler_fit(NULL, s, x), GSL_SUCCESS);
  cr_assert_eq(ndpar_scaler_transform(NULL, s, four), GSL_EBADLEN);
  cr_assert_eq(ndpar_scaler_inverse(NULL, s, four), GSL_EBADLEN);
  for (size_t j = 0; j < 4; j++) cr_assert_eq(gsl_matrix_get(four, 9, j), 7.0, "untouched");
  cr_assert_eq(ndpar_scaler_set_flags(s, 99), GSL_EINVAL);
  gsl_vector *v2 = gsl_vector_alloc(2);
  cr_assert_eq(ndpar_colstats(NULL, x, 0, v2, NULL, NULL, NULL), GSL_EBADLEN);
  cr_assert_eq(ndpar_colstats(NULL, x, 8, NULL, NULL, NULL, NULL), GSL_EINVAL);
  gsl_vector_free(v2);
  ndpar_scaler_free(s);
  ndpar_scaler_free(NULL);
  gsl_matrix_free(x);
  gsl_matrix_free(four);
}

/* ---- chunk callbacks ---- */

static int double_in_place(gsl_matrix *chunk, const ndpar_task *t, void *ctx) {
  (void)t, (void)ctx;
  gsl_matrix_scale(chunk, 2.0);
  return 0;
}

static int square_into(const gsl_matrix *in, gsl_matrix *out, const ndpar_task *t, void *ctx) {
  (void)ctx;
  gsl_matrix_memcpy(out, in);
  gsl_matrix_mul_elements(out, in);
  return t->index == 13 ? GSL_ERANGE : 0;
}

Test(chunks, in_place_and_into_outputs) {
  gsl_rng *r = test_rng();
  size_t n = 50;
  gsl_matrix *chunks[50], *copy[50], *out[50];
  for (size_t i = 0; i < n; i++) {
    chunks[i] = random_matrix(r, 1 + gsl_rng_uniform_int(r, 20), 3, 0, 1);
    copy[i] = gsl_matrix_alloc(chunks[i]->size1, 3);
    out[i] = gsl_matrix_alloc(chunks[i]->size1, 3);
    gsl_matrix_memcpy(copy[i], chunks[i]);
  }
  cr_assert_eq(ndpar_preprocess(NULL, chunks, n, double_in_place, NULL), GSL_SUCCESS);
  for (size_t i = 0; i < n; i++) {
    gsl_matrix_scale(copy[i], 2.0);
    cr_assert(gsl_matrix_equal(copy[i], chunks[i]));
  }
  size_t failed = 0;
  cr_assert_eq(ndpar_preprocess_map(NULL, (const gsl_matrix *const *)chunks, out, n, square_into, NULL, &failed), GSL_ERANGE);
  cr_assert_eq(failed, 13);
  cr_assert_eq(ndpar_preprocess_map(NULL, (const gsl_matrix *const *)chunks, out, 13, square_into, NULL, &failed), GSL_SUCCESS);
  cr_assert_eq(gsl_matrix_get(out[5], 0, 1), gsl_matrix_get(chunks[5], 0, 1) * gsl_matrix_get(chunks[5], 0, 1));
  for (size_t i = 0; i < n; i++) {
    gsl_matrix_free(chunks[i]);
    gsl_matrix_free(copy[i]);
    gsl_matrix_free(out[i]);
  }
  gsl_rng_free(r);
}

/* ---- the argument convention (docs/API.md) ---- */

static int conv_nothing(gsl_matrix *chunk, const ndpar_task *t, void *ctx) {
  (void)chunk, (void)t, (void)ctx;
  return GSL_SUCCESS;
}
static int conv_copy(const gsl_matrix *in, gsl_matrix *out, const ndpar_task *t, void *ctx) {
  (void)t, (void)ctx;
  return gsl_matrix_memcpy(out, in);
}
static gsl_matrix *conv_m[2];
static int conv_pre_null_f(size_t *f) { return ndpar_preprocess_ex(NULL, conv_m, 2, NULL, NULL, f); }
static int conv_pre_null_chunks(size_t *f) { return ndpar_preprocess_ex(NULL, NULL, 2, conv_nothing, NULL, f); }
static int conv_pre_n0(size_t *f) { return ndpar_preprocess_ex(NULL, NULL, 0, conv_nothing, NULL, f); }
static int conv_pre_done(size_t *f) { return ndpar_preprocess_ex(NULL, conv_m, 2, conv_nothing, NULL, f); }
static int conv_map_null_f(size_t *f) {
  return ndpar_preprocess_map(NULL, (const gsl_matrix *const *)conv_m, conv_m, 2, NULL, NULL, f);
}
static int conv_map_null_out(size_t *f) {
  return ndpar_preprocess_map(NULL, (const gsl_matrix *const *)conv_m, NULL, 2, conv_copy, NULL, f);
}
static int conv_map_n0(size_t *f) { return ndpar_preprocess_map(NULL, NULL, NULL, 0, conv_copy, NULL, f); }
static int conv_stats_null_x(size_t *f) {
  (void)f;
  return ndpar_colstats(NULL, NULL, 0, NULL, NULL, NULL, NULL);
}
static int conv_stats_ws_null(size_t *f) {
  (void)f;
  return ndpar_colstats_ws(NULL, conv_m[0], 0, NULL, NULL, NULL, NULL);
}

Test(preprocess_convention, null_pointers_n0_and_failed_as_the_api_says) {
  for (int i = 0; i < 2; i++) conv_m[i] = gsl_matrix_calloc(3, 2);
  const test_convention_row rows[] = {
      {"preprocess_ex, f NULL", conv_pre_null_f, GSL_EFAULT, 0},
      {"preprocess_ex, chunks NULL", conv_pre_null_chunks, GSL_EFAULT, 0},
      {"preprocess_ex, n = 0, arrays NULL", conv_pre_n0, GSL_SUCCESS, 0},
      {"preprocess_ex, success", conv_pre_done, GSL_SUCCESS, 2},
      {"preprocess_map, f NULL", conv_map_null_f, GSL_EFAULT, 0},
      {"preprocess_map, out NULL", conv_map_null_out, GSL_EFAULT, 0},
      {"preprocess_map, n = 0, arrays NULL", conv_map_n0, GSL_SUCCESS, 0},
      {"colstats, x NULL", conv_stats_null_x, GSL_EFAULT, 0},
      {"colstats_ws, w NULL", conv_stats_ws_null, GSL_EFAULT, 0},
  };
  test_convention_table(rows, sizeof rows / sizeof rows[0]);
  for (int i = 0; i < 2; i++) gsl_matrix_free(conv_m[i]);
}

/* ---- scikit-learn's conventions ---- */

/* NDPAR_PREPROCESS_POPULATION_SD: StandardScaler's scale_, numpy's std with ddof = 0:
 * sqrt(mean((x - mean)^2)) by the two-pass formula, to rounding; the default stays GSL's
 * sample sd. */
Test(scaler_sklearn, population_sd_is_standard_scalers_scale) {
  gsl_rng *r = test_rng();
  size_t ns[] = {1, 2, 3, 17, 4099};
  for (size_t a = 0; a < 5; a++) {
    size_t n = ns[a];
    gsl_matrix *x = random_matrix(r, n, 3, 1e3, 2.0);
    ndpar_scaler *pop = ndpar_scaler_alloc(NDPAR_SCALE_STANDARD, 3), *smp = ndpar_scaler_alloc(NDPAR_SCALE_STANDARD, 3);
    cr_assert_eq(ndpar_scaler_set_flags(pop, NDPAR_PREPROCESS_POPULATION_SD), GSL_SUCCESS);
    cr_assert_eq(ndpar_scaler_fit(NULL, pop, x), GSL_SUCCESS);
    cr_assert_eq(ndpar_scaler_fit(NULL, smp, x), GSL_SUCCESS);
    const gsl_vector *scale, *sscale;
    ndpar_scaler_params(pop, NULL, &scale);
    ndpar_scaler_params(smp, NULL, &sscale);
    for (size_t j = 0; j < 3; j++) {
      gsl_vector_const_view col = gsl_matrix_const_column(x, j);
      double mean = gsl_stats_mean(col.vector.data, col.vector.stride, n);
      double ref = gsl_stats_sd_with_fixed_mean(col.vector.data, col.vector.stride, n, mean);
      double sref = n > 1 ? gsl_stats_sd_m(col.vector.data, col.vector.stride, n, mean) : 0;
      if (n == 1) ref = sref = 1.0; /* one value: constant, scale 1 */
      rel_close(gsl_vector_get(scale, j), ref, 1e-13, "population sd", j);
      rel_close(gsl_vector_get(sscale, j), sref, 1e-13, "sample sd", j);
    }
    ndpar_scaler_free(pop), ndpar_scaler_free(smp);
    gsl_matrix_free(x);
  }
  gsl_rng_free(r);
}

/* A MINMAX1 constant column maps to -1 (MinMaxScaler((-1, 1))); a non-constant one still
 * spans [-1, 1]; with NDPAR_PREPROCESS_SKLEARN_CONSTANT a range below 10 eps is constant
 * (so maps as x - min for MINMAX, 2 (x - min) - 1 for MINMAX1), while the default scales a
 * column of values near 1e-20 to its full range. */
Test(scaler_sklearn, near_constant_columns_follow_scikit_learn_by_name) {
  gsl_matrix *x = gsl_matrix_alloc(64, 3);
  for (size_t i = 0; i < 64; i++) {
    gsl_matrix_set(x, i, 0, 7.25);                       /* constant */
    gsl_matrix_set(x, i, 1, 1e-20 * (double)(i % 5));    /* range 4e-20 < 10 eps */
    gsl_matrix_set(x, i, 2, 3.0 + 1e-16 * (double)(i % 3)); /* range 2e-16 (one ulp of 3 is 4.4e-16: 3 or 3 + 4.4e-16) */
  }
  for (int flags = 0; flags <= NDPAR_PREPROCESS_SKLEARN_CONSTANT; flags += NDPAR_PREPROCESS_SKLEARN_CONSTANT)
    for (int kind = NDPAR_SCALE_MINMAX; kind <= NDPAR_SCALE_MINMAX1; kind++) {
      gsl_matrix *y = gsl_matrix_alloc(64, 3);
      gsl_matrix_memcpy(y, x);
      ndpar_scaler *s = ndpar_scaler_alloc((ndpar_scale_kind)kind, 3);
      ndpar_scaler_set_flags(s, flags);
      cr_assert_eq(ndpar_scaler_fit(NULL, s, x), GSL_SUCCESS);
      cr_assert_eq(ndpar_scaler_transform(NULL, s, y), GSL_SUCCESS);
      double lo = kind == NDPAR_SCALE_MINMAX1 ? -1.0 : 0.0;
      for (size_t i = 0; i < 64; i++) {
        cr_assert_eq(gsl_matrix_get(y, i, 0), lo, "%s constant", kind_name[kind]);
        double v = gsl_matrix_get(x, i, 1), got = gsl_matrix_get(y, i, 1);
        double expect = flags ? (kind == NDPAR_SCALE_MINMAX1 ? 2 * v - 1 : v) /* range counts as 1 */
                              : (kind == NDPAR_SCALE_MINMAX1 ? v / 2e-20 - 1 : v / 4e-20);
        cr_assert(fabs(got - expect) <= 1e-15 * (1 + fabs(expect)), "%s flags %d row %zu: %g vs %g",
                  kind_name[kind], flags, i, got, expect);
      }
      ndpar_scaler_inverse(NULL, s, y);
      for (size_t i = 0; i < 64; i++) cr_assert_eq(gsl_matrix_get(y, i, 0), 7.25);
      ndpar_scaler_free(s);
      gsl_matrix_free(y);
    }
  gsl_matrix_free(x);
}

/* StandardScaler's relative rule (var <= n eps var + (n mean eps)^2 is constant): at
 * 1e9, noise of 1e-3 keeps its sd, noise of one ulp (1.2e-7, below n mean eps = 2.2e-5)
 * counts as constant under NDPAR_PREPROCESS_SKLEARN and is scaled up without it. */
Test(scaler_sklearn, standard_relative_constant_bound) {
  gsl_matrix *x = gsl_matrix_alloc(100, 2);
  double ulp = nextafter(1e9, 2e9) - 1e9;
  for (size_t i = 0; i < 100; i++) {
    gsl_matrix_set(x, i, 0, 1e9 + 1e-3 * (double)(i % 7));
    gsl_matrix_set(x, i, 1, 1e9 + ulp * (double)(i % 2));
  }
  for (int flags = 0; flags <= NDPAR_PREPROCESS_SKLEARN; flags += NDPAR_PREPROCESS_SKLEARN) {
    ndpar_scaler *s = ndpar_scaler_alloc(NDPAR_SCALE_STANDARD, 2);
    cr_assert_eq(ndpar_scaler_set_flags(s, flags), GSL_SUCCESS);
    cr_assert_eq(ndpar_scaler_fit(NULL, s, x), GSL_SUCCESS);
    const gsl_vector *scale;
    ndpar_scaler_params(s, NULL, &scale);
    cr_assert(gsl_vector_get(scale, 0) > 1e-3 && gsl_vector_get(scale, 0) < 3e-3, "%g", gsl_vector_get(scale, 0));
    double pop = ulp / 2; /* half the values one ulp up: population sd ulp / 2 */
    if (flags) cr_assert_eq(gsl_vector_get(scale, 1), 1.0, "constant up to rounding");
    else cr_assert(fabs(gsl_vector_get(scale, 1) - pop * sqrt(100.0 / 99.0)) < 1e-3 * pop, "%g", gsl_vector_get(scale, 1));
    ndpar_scaler_free(s);
  }
  gsl_matrix_free(x);
}

/* inverse(transform(x)) is x to within a few ulps of |x| + |center|, not bit for bit: the
 * bound 4 eps (|x| + |center|) holds for every kind, on data whose center dwarfs it. */
Test(scaler, inverse_is_within_ulps_of_the_input) {
  gsl_rng *r = test_rng();
  size_t inexact = 0;
  for (int kind = 0; kind < 5; kind++) {
    gsl_matrix *x = random_matrix(r, 3001, 4, 1e6, 1e-3);
    gsl_matrix *y = gsl_matrix_alloc(x->size1, x->size2);
    gsl_matrix_memcpy(y, x);
    ndpar_scaler *s = ndpar_scaler_alloc((ndpar_scale_kind)kind, 4);
    cr_assert_eq(ndpar_scaler_fit(NULL, s, x), GSL_SUCCESS);
    ndpar_scaler_transform(NULL, s, y);
    ndpar_scaler_inverse(NULL, s, y);
    const gsl_vector *center;
    ndpar_scaler_params(s, &center, NULL);
    for (size_t i = 0; i < x->size1; i++)
      for (size_t j = 0; j < 4; j++) {
        double a = gsl_matrix_get(x, i, j), b = gsl_matrix_get(y, i, j);
        cr_assert(fabs(a - b) <= 4 * GSL_DBL_EPSILON * (fabs(a) + fabs(gsl_vector_get(center, j))),
                  "%s (%zu,%zu): %.17g back as %.17g", kind_name[kind], i, j, a, b);
        inexact += a != b;
      }
    ndpar_scaler_free(s);
    gsl_matrix_free(x), gsl_matrix_free(y);
  }
  cr_assert(inexact > 0, "some values come back one ulp off: the docs must not say exact");
  gsl_rng_free(r);
}

/* ---- values at the ends of the double range ---- */

/* Mean and sample sd of column j in long double (range to 1e4932: no overflow, and the
 * subnormals of double are normal there), as the reference for data near 1e308 or 1e-310. */
static void long_double_stats(const gsl_matrix *x, size_t j, double *mean, double *sd) {
  long double sum = 0, n = (long double)x->size1, ss = 0;
  for (size_t i = 0; i < x->size1; i++) sum += gsl_matrix_get(x, i, j);
  long double m = sum / n;
  for (size_t i = 0; i < x->size1; i++) {
    long double d = gsl_matrix_get(x, i, j) - m;
    ss += d * d;
  }
  *mean = (double)m;
  *sd = (double)sqrtl(ss / (n - 1));
}

/* Column 0: +-1e308 with random signs and sizes; 1: same-sign values near 1e300; 2: values
 * near the subnormals, 1e-310; 3: ordinary N(0, 1) data. */
static gsl_matrix *extreme_matrix(gsl_rng *r, size_t rows) {
  gsl_matrix *x = gsl_matrix_alloc(rows, 4);
  for (size_t i = 0; i < rows; i++) {
    double sign = gsl_rng_uniform(r) < 0.5 ? -1 : 1;
    gsl_matrix_set(x, i, 0, sign * 1e308 * (0.5 + 0.5 * gsl_rng_uniform(r)));
    gsl_matrix_set(x, i, 1, 1e300 * (1 + 3 * gsl_rng_uniform(r)));
    gsl_matrix_set(x, i, 2, 1e-310 * gsl_rng_uniform(r));
    gsl_matrix_set(x, i, 3, gsl_ran_gaussian(r, 1));
  }
  return x;
}

Test(colstats, finite_extremes_give_the_true_mean_and_sd_never_nan) {
  gsl_rng *r = test_rng();
  size_t rows_list[] = {2, 3, test_max_threads(), 1000, 20000 + gsl_rng_uniform_int(r, 5000)};
  for (size_t k = 0; k < 5; k++) {
    gsl_matrix *x = extreme_matrix(r, rows_list[k]);
    gsl_vector *mean = gsl_vector_alloc(4), *sd = gsl_vector_alloc(4), *ref_sd = NULL;
    for (size_t threads = 1; threads <= test_max_threads(); threads++) {
      ndpar_pool *p = test_pool_of(threads);
      cr_assert_eq(ndpar_colstats(p, x, 0, mean, sd, NULL, NULL), GSL_SUCCESS);
      ndpar_pool_free(p);
      if (ref_sd == NULL) {
        ref_sd = gsl_vector_alloc(4);
        gsl_vector_memcpy(ref_sd, sd);
      }
      cr_assert(gsl_vector_equal(sd, ref_sd), "bit-identical at %zu threads", threads);
    }
    for (size_t j = 0; j < 4; j++) {
      double m, s;
      long_double_stats(x, j, &m, &s);
      cr_assert(isfinite(gsl_vector_get(mean, j)) && isfinite(gsl_vector_get(sd, j)),
                "rows %zu column %zu: mean %g sd %g", rows_list[k], j, gsl_vector_get(mean, j), gsl_vector_get(sd, j));
      /* the mean to within 1e-12 of the spread (it may be near 0 where the data are not) */
      cr_assert(fabs(gsl_vector_get(mean, j) - m) <= 1e-12 * s, "rows %zu mean %zu: %.17g vs %.17g",
                rows_list[k], j, gsl_vector_get(mean, j), m);
      rel_close(gsl_vector_get(sd, j), s, j == 2 ? 1e-9 : 1e-12, "sd", j);
    }
    gsl_vector_free(mean);
    gsl_vector_free(sd);
    gsl_vector_free(ref_sd);
    gsl_matrix_free(x);
  }
  gsl_rng_free(r);
}

Test(colstats, plus_minus_1e308_has_mean_zero) {
  gsl_matrix *x = gsl_matrix_alloc(1000, 1);
  for (size_t i = 0; i < 1000; i++) gsl_matrix_set(x, i, 0, i % 2 ? 1e308 : -1e308);
  gsl_vector *mean = gsl_vector_alloc(1), *sd = gsl_vector_alloc(1);
  cr_assert_eq(ndpar_colstats(NULL, x, 0, mean, sd, NULL, NULL), GSL_SUCCESS);
  cr_assert_eq(gsl_vector_get(mean, 0), 0.0);
  rel_close(gsl_vector_get(sd, 0), 1e308 * sqrt(1000.0 / 999.0), 1e-14, "sd", 0);
  gsl_vector_free(mean);
  gsl_vector_free(sd);
  gsl_matrix_free(x);
}

/* Every kind on the extreme columns: finite outputs in the kind's range, and the inverse
 * gives the input back (to a few ulps; subnormals to a few of their absolute spacing). */
Test(scaler, extreme_columns_transform_and_invert_without_overflow) {
  gsl_rng *r = test_rng();
  size_t rows_list[] = {3, 1000, 5000};
  for (size_t k = 0; k < 3; k++) {
    gsl_matrix *x = extreme_matrix(r, rows_list[k]);
    for (int kind = 0; kind < 5; kind++) {
      gsl_matrix *y = gsl_matrix_alloc(x->size1, 4);
      gsl_matrix_memcpy(y, x);
      ndpar_scaler *s = ndpar_scaler_alloc((ndpar_scale_kind)kind, 4);
      cr_assert_eq(ndpar_scaler_fit(NULL, s, x), GSL_SUCCESS);
      cr_assert_eq(ndpar_scaler_transform(NULL, s, y), GSL_SUCCESS);
      for (size_t j = 0; j < 4; j++) {
        gsl_vector_view c = gsl_matrix_column(y, j);
        double lo = gsl_stats_min(c.vector.data, c.vector.stride, x->size1);
        double hi = gsl_stats_max(c.vector.data, c.vector.stride, x->size1);
        cr_assert(isfinite(lo) && isfinite(hi), "%s rows %zu column %zu: [%g, %g]", kind_name[kind], x->size1, j, lo, hi);
        if (kind == NDPAR_SCALE_MINMAX) cr_assert(fabs(lo) < 1e-15 && fabs(hi - 1) < 1e-15, "[0,1]: %g %g", lo, hi);
        if (kind == NDPAR_SCALE_MINMAX1) { /* the centre's rounding: ulps of |center| / scale */
          const gsl_vector *center, *scale;
          ndpar_scaler_params(s, &center, &scale);
          double tol = 4 * DBL_EPSILON * (1 + fabs(gsl_vector_get(center, j)) / gsl_vector_get(scale, j)) +
                       4 * 4.9406564584124654e-324 / gsl_vector_get(scale, j); /* subnormal spacing */
          cr_assert(fabs(lo + 1) < tol && fabs(hi - 1) < tol, "column %zu [-1,1]: %.17g %.17g", j, lo, hi);
        }
        if (kind == NDPAR_SCALE_MAXABS) cr_assert(fabs(GSL_MAX(fabs(lo), fabs(hi)) - 1) < 1e-15);
        if (kind == NDPAR_SCALE_STANDARD) {
          double sd = gsl_stats_sd(c.vector.data, c.vector.stride, x->size1);
          cr_assert(fabs(sd - 1) < 1e-12, "%zu rows column %zu: sd %.17g", x->size1, j, sd);
        }
      }
      cr_assert_eq(ndpar_scaler_inverse(NULL, s, y), GSL_SUCCESS);
      const gsl_vector *center, *scale;
      ndpar_scaler_params(s, &center, &scale);
      for (size_t i = 0; i < x->size1; i++)
        for (size_t j = 0; j < 4; j++) {
          double got = gsl_matrix_get(y, i, j), want = gsl_matrix_get(x, i, j);
          /* a few ulps of the larger of the value, the centre and the scale (MINMAX's
           * scale of +-1e308 data is +inf: then of the value) */
          double size = GSL_MAX(fabs(want), fabs(gsl_vector_get(center, j)));
          if (isfinite(gsl_vector_get(scale, j))) size = GSL_MAX(size, gsl_vector_get(scale, j));
          double tol = j == 2 ? 8 * 4.9406564584124654e-324 : 1e-14 * size;
          cr_assert(fabs(got - want) <= tol, "%s inverse (%zu, %zu): %.17g vs %.17g", kind_name[kind], i, j, got, want);
        }
      ndpar_scaler_free(s);
      gsl_matrix_free(y);
    }
    gsl_matrix_free(x);
  }
  gsl_rng_free(r);
}

Test(scaler, standard_scale_near_1e300_is_the_true_sd) {
  gsl_matrix *x = gsl_matrix_alloc(3, 1);
  gsl_matrix_set(x, 0, 0, 1e300);
  gsl_matrix_set(x, 1, 0, 2e300);
  gsl_matrix_set(x, 2, 0, 3e300);
  ndpar_scaler *s = ndpar_scaler_alloc(NDPAR_SCALE_STANDARD, 1);
  cr_assert_eq(ndpar_scaler_fit(NULL, s, x), GSL_SUCCESS);
  const gsl_vector *center, *scale;
  ndpar_scaler_params(s, &center, &scale);
  rel_close(gsl_vector_get(center, 0), 2e300, 1e-15, "mean", 0);
  rel_close(gsl_vector_get(scale, 0), 1e300, 1e-15, "sd", 0);
  cr_assert_eq(ndpar_scaler_transform(NULL, s, x), GSL_SUCCESS);
  double want[] = {-1, 0, 1};
  for (size_t i = 0; i < 3; i++) cr_assert(fabs(gsl_matrix_get(x, i, 0) - want[i]) < 1e-15, "%g", gsl_matrix_get(x, i, 0));
  ndpar_scaler_free(s);
  gsl_matrix_free(x);
}

Test(scaler, a_subnormal_scale_divides_instead_of_overflowing) {
  /* scale 3 * 2^-1074 (1.5e-323): its reciprocal is +inf */
  double tiny = 4.9406564584124654e-324;
  gsl_matrix *x = gsl_matrix_alloc(4, 1);
  for (size_t i = 0; i < 4; i++) gsl_matrix_set(x, i, 0, (double)i * tiny);
  for (int kind = 1; kind < 5; kind++) { /* MINMAX, MINMAX1, ROBUST, MAXABS */
    gsl_matrix *y = gsl_matrix_alloc(4, 1);
    gsl_matrix_memcpy(y, x);
    ndpar_scaler *s = ndpar_scaler_alloc((ndpar_scale_kind)kind, 1);
    cr_assert_eq(ndpar_scaler_fit(NULL, s, x), GSL_SUCCESS);
    const gsl_vector *center, *scale;
    ndpar_scaler_params(s, &center, &scale);
    cr_assert(!isfinite(1.0 / gsl_vector_get(scale, 0)), "%s: the scale %g is subnormal", kind_name[kind], gsl_vector_get(scale, 0));
    cr_assert_eq(ndpar_scaler_transform(NULL, s, y), GSL_SUCCESS);
    for (size_t i = 0; i < 4; i++) {
      double want = ((double)i * tiny - gsl_vector_get(center, 0)) / gsl_vector_get(scale, 0);
      if (kind == NDPAR_SCALE_MINMAX1 && (i == 0 || i == 3)) want = i == 0 ? -1 : 1; /* exact ends */
      cr_assert(isfinite(gsl_matrix_get(y, i, 0)) && gsl_matrix_get(y, i, 0) == want, "%s row %zu: %g, want %g",
                kind_name[kind], i, gsl_matrix_get(y, i, 0), want);
    }
    if (kind == NDPAR_SCALE_MINMAX) cr_assert(gsl_matrix_get(y, 0, 0) == 0 && gsl_matrix_get(y, 3, 0) == 1);
    if (kind == NDPAR_SCALE_MAXABS) cr_assert(gsl_matrix_get(y, 3, 0) == 1);
    cr_assert_eq(ndpar_scaler_inverse(NULL, s, y), GSL_SUCCESS);
    for (size_t i = 0; i < 4; i++)
      cr_assert(fabs(gsl_matrix_get(y, i, 0) - (double)i * tiny) <= tiny, "%s inverse row %zu: %g",
                kind_name[kind], i, gsl_matrix_get(y, i, 0));
    ndpar_scaler_free(s);
    gsl_matrix_free(y);
  }
  gsl_matrix_free(x);
}

Test(scaler, minmax1_of_same_sign_values_near_dbl_max) {
  gsl_rng *r = test_rng();
  size_t n = 1000;
  gsl_matrix *x = gsl_matrix_alloc(n, 2);
  for (size_t i = 0; i < n; i++) {
    gsl_matrix_set(x, i, 0, DBL_MAX * (0.9 + 0.1 * gsl_rng_uniform(r)));
    gsl_matrix_set(x, i, 1, -DBL_MAX * (0.9 + 0.1 * gsl_rng_uniform(r)));
  }
  gsl_matrix_set(x, 0, 0, DBL_MAX);
  gsl_matrix_set(x, 1, 1, -DBL_MAX);
  gsl_matrix *y = gsl_matrix_alloc(n, 2);
  gsl_matrix_memcpy(y, x);
  ndpar_scaler *s = ndpar_scaler_alloc(NDPAR_SCALE_MINMAX1, 2);
  cr_assert_eq(ndpar_scaler_fit(NULL, s, x), GSL_SUCCESS);
  const gsl_vector *center;
  ndpar_scaler_params(s, &center, NULL);
  cr_assert(isfinite(gsl_vector_get(center, 0)) && isfinite(gsl_vector_get(center, 1)));
  const gsl_vector *scale;
  ndpar_scaler_params(s, NULL, &scale);
  cr_assert_eq(ndpar_scaler_transform(NULL, s, y), GSL_SUCCESS);
  for (size_t j = 0; j < 2; j++) {
    gsl_vector_view c = gsl_matrix_column(y, j);
    double lo = gsl_stats_min(c.vector.data, c.vector.stride, n), hi = gsl_stats_max(c.vector.data, c.vector.stride, n);
    /* the centre's rounding, relative to the scale: a few ulps of |center| / scale */
    double tol = 4 * DBL_EPSILON * (1 + fabs(gsl_vector_get(center, j)) / gsl_vector_get(scale, j));
    cr_assert(fabs(lo + 1) < tol && fabs(hi - 1) < tol, "column %zu: [%.17g, %.17g]", j, lo, hi);
  }
  cr_assert_eq(ndpar_scaler_inverse(NULL, s, y), GSL_SUCCESS);
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < 2; j++)
      rel_close(gsl_matrix_get(y, i, j), gsl_matrix_get(x, i, j), 1e-15, "inverse", j);
  ndpar_scaler_free(s);
  gsl_matrix_free(x);
  gsl_matrix_free(y);
  gsl_rng_free(r);
}

Test(scaler, minmax_of_plus_minus_1e308_is_0_and_1_not_nan) {
  gsl_matrix *x = gsl_matrix_alloc(3, 1);
  gsl_matrix_set(x, 0, 0, -1e308);
  gsl_matrix_set(x, 1, 0, 0);
  gsl_matrix_set(x, 2, 0, 1e308);
  gsl_matrix *y = gsl_matrix_alloc(3, 1);
  gsl_matrix_memcpy(y, x);
  ndpar_scaler *s = ndpar_scaler_alloc(NDPAR_SCALE_MINMAX, 1);
  cr_assert_eq(ndpar_scaler_fit(NULL, s, x), GSL_SUCCESS);
  const gsl_vector *scale;
  ndpar_scaler_params(s, NULL, &scale);
  cr_assert(isinf(gsl_vector_get(scale, 0)), "max - min overflows: reported as +Inf");
  cr_assert_eq(ndpar_scaler_transform(NULL, s, y), GSL_SUCCESS);
  cr_assert(gsl_matrix_get(y, 0, 0) == 0 && gsl_matrix_get(y, 1, 0) == 0.5 && gsl_matrix_get(y, 2, 0) == 1,
            "[%g, %g, %g]", gsl_matrix_get(y, 0, 0), gsl_matrix_get(y, 1, 0), gsl_matrix_get(y, 2, 0));
  cr_assert_eq(ndpar_scaler_inverse(NULL, s, y), GSL_SUCCESS);
  cr_assert(gsl_matrix_equal(x, y), "the inverse is exact here");
  ndpar_scaler_free(s);
  gsl_matrix_free(x);
  gsl_matrix_free(y);
}

Test(colstats, extremes_with_ignored_nonfinite_values) {
  gsl_matrix *x = gsl_matrix_alloc(5, 1);
  double v[] = {-1e308, NAN, 1e308, INFINITY, 1e308};
  for (size_t i = 0; i < 5; i++) gsl_matrix_set(x, i, 0, v[i]);
  gsl_vector *mean = gsl_vector_alloc(1), *sd = gsl_vector_alloc(1);
  cr_assert_eq(ndpar_colstats(NULL, x, NDPAR_PREPROCESS_IGNORE_NONFINITE, mean, sd, NULL, NULL), GSL_SUCCESS);
  rel_close(gsl_vector_get(mean, 0), 1e308 / 3, 1e-15, "mean of the finite values", 0);
  /* deviations -4/3, 2/3, 2/3 (x 1e308): sd = 1e308 sqrt((16/9 + 4/9 + 4/9) / 2) */
  rel_close(gsl_vector_get(sd, 0), 1e308 * sqrt(24.0 / 18.0), 1e-15, "sd", 0);
  gsl_vector_free(mean);
  gsl_vector_free(sd);
  gsl_matrix_free(x);
}

/* The population sd of a column near 1e300 (whose squares overflow) is finite and equals
 * the sample sd times sqrt((n - 1) / n), as for ordinary data. */
Test(scaler_sklearn, population_sd_near_1e300_is_finite) {
  gsl_matrix *x = gsl_matrix_alloc(1000, 1);
  for (size_t i = 0; i < 1000; i++) gsl_matrix_set(x, i, 0, 1e300 * (1.0 + (double)(i % 10)));
  ndpar_scaler *pop = ndpar_scaler_alloc(NDPAR_SCALE_STANDARD, 1), *smp = ndpar_scaler_alloc(NDPAR_SCALE_STANDARD, 1);
  ndpar_scaler_set_flags(pop, NDPAR_PREPROCESS_POPULATION_SD);
  cr_assert_eq(ndpar_scaler_fit(NULL, pop, x), GSL_SUCCESS);
  cr_assert_eq(ndpar_scaler_fit(NULL, smp, x), GSL_SUCCESS);
  const gsl_vector *a, *b;
  ndpar_scaler_params(pop, NULL, &a);
  ndpar_scaler_params(smp, NULL, &b);
  double s = gsl_vector_get(b, 0) * sqrt(999.0 / 1000.0);
  cr_assert(isfinite(gsl_vector_get(a, 0)) && fabs(gsl_vector_get(a, 0) - s) <= 1e-14 * s, "%g vs %g", gsl_vector_get(a, 0), s);
  rel_close(gsl_vector_get(a, 0), 1e300 * sqrt(8.25), 1e-13, "population sd of 1..10 x 1e300", 0);
  ndpar_scaler_free(pop), ndpar_scaler_free(smp);
  gsl_matrix_free(x);
}

Test(scaler, columns_whose_size_overflows_are_refused_before_allocating) {
  test_quiet_gsl_errors();
  /* (1 << 61) doubles wrap to 0 bytes: a vector GSL would hand out without storage */
  cr_assert_null(ndpar_scaler_alloc(NDPAR_SCALE_ROBUST, (size_t)1 << 61));
  cr_assert(strstr(test_gsl_last_reason(), "overflow"), "%s", test_gsl_last_reason());
  cr_assert_null(ndpar_scaler_alloc(NDPAR_SCALE_STANDARD, SIZE_MAX));
  cr_assert_eq(test_gsl_error_count(), 2);
}

/* ---- the ends of the double range, exactly (issue 28) ---- */

/* fit, transform into t, inverse into b; the scaler kept in *out if asked. */
static void fit_round_trip(ndpar_scale_kind kind, int flags, const double *v, size_t n, double *t, double *b,
                           double *scale) {
  gsl_matrix_const_view x = gsl_matrix_const_view_array(v, n, 1);
  gsl_matrix_view y = gsl_matrix_view_array(t, n, 1), z = gsl_matrix_view_array(b, n, 1);
  ndpar_scaler *s = ndpar_scaler_alloc(kind, 1);
  cr_assert_eq(ndpar_scaler_set_flags(s, flags), GSL_SUCCESS);
  cr_assert_eq(ndpar_scaler_fit(NULL, s, &x.matrix), GSL_SUCCESS);
  gsl_matrix_memcpy(&y.matrix, &x.matrix);
  cr_assert_eq(ndpar_scaler_transform(NULL, s, &y.matrix), GSL_SUCCESS);
  gsl_matrix_memcpy(&z.matrix, &y.matrix);
  cr_assert_eq(ndpar_scaler_inverse(NULL, s, &z.matrix), GSL_SUCCESS);
  const gsl_vector *sc;
  ndpar_scaler_params(s, NULL, &sc);
  if (scale) *scale = gsl_vector_get(sc, 0);
  ndpar_scaler_free(s);
}

/* [-DBL_MAX, DBL_MAX]: STANDARD's sd is DBL_MAX sqrt 2 (beyond the doubles: scale +Inf), its
 * z-scores -+1/sqrt 2 and the inverse -+DBL_MAX (they were -+Inf and NaN); ROBUST's IQR is
 * DBL_MAX, its transform exactly -+1 and the inverse -+DBL_MAX (they were -+(1 + 2^-52)
 * and -+Inf: the quartiles' interpolation rounded outward). */
Test(scaler_extremes, plus_minus_dbl_max_exactly) {
  const double v[2] = {-DBL_MAX, DBL_MAX};
  double t[2], b[2], scale;
  fit_round_trip(NDPAR_SCALE_STANDARD, 0, v, 2, t, b, &scale);
  cr_assert_eq(scale, INFINITY);
  for (int i = 0; i < 2; i++) {
    cr_assert(fabs(t[i] - (i ? M_SQRT1_2 : -M_SQRT1_2)) <= DBL_EPSILON, "STANDARD z %.17g", t[i]);
    cr_assert(isfinite(b[i]) && fabs(b[i] - v[i]) <= 2 * DBL_EPSILON * DBL_MAX, "STANDARD back %.17g", b[i]);
  }
  fit_round_trip(NDPAR_SCALE_ROBUST, 0, v, 2, t, b, &scale);
  cr_assert_eq(scale, DBL_MAX, "the IQR of [-M, M] is M");
  cr_assert(t[0] == -1 && t[1] == 1, "ROBUST %.17g %.17g", t[0], t[1]);
  cr_assert(b[0] == -DBL_MAX && b[1] == DBL_MAX, "ROBUST back %.17g %.17g", b[0], b[1]);
}

/* NDPAR_PREPROCESS_SKLEARN_CONSTANT's test, var <= n eps var + (n mean eps)^2, decided
 * without squaring: an sd above 1.3e154 (whose square overflowed) or below 1.5e-162 (whose
 * square underflowed) is not constant; [-DBL_MAX, DBL_MAX, 1e307] stays finite (it became
 * "constant", scale 1, and x - mean overflowed to -Inf). */
Test(scaler_extremes, sklearn_constant_test_does_not_square) {
  double t[3], b[3], scale, plain;
  const double wide[3] = {-DBL_MAX, DBL_MAX, 1e307};
  fit_round_trip(NDPAR_SCALE_STANDARD, NDPAR_PREPROCESS_SKLEARN_CONSTANT, wide, 3, t, b, &scale);
  for (int i = 0; i < 3; i++) cr_assert(isfinite(t[i]) && isfinite(b[i]), "row %d: %g back %g", i, t[i], b[i]);
  cr_assert_neq(scale, 1.0);
  const double big[3] = {-1e200, 1e200, 0}, tiny[3] = {-1e-170, 1e-170, 0}, near[3] = {-2e154, 2e154, 0};
  const double *cols[] = {big, tiny, near};
  for (int c = 0; c < 3; c++)
    for (int pop = 0; pop < 2; pop++) {
      int f = pop ? NDPAR_PREPROCESS_POPULATION_SD : 0;
      fit_round_trip(NDPAR_SCALE_STANDARD, f, cols[c], 3, t, b, &plain);
      fit_round_trip(NDPAR_SCALE_STANDARD, f | NDPAR_PREPROCESS_SKLEARN_CONSTANT, cols[c], 3, t, b, &scale);
      cr_assert_eq(scale, plain, "column %d: sd %g is not constant (got scale %g)", c, plain, scale);
      cr_assert(t[0] < 0 && t[1] > 0 && fabs(t[1] + t[0]) <= 4 * DBL_EPSILON);
    }
  /* ... and a truly constant column still is, at any magnitude */
  const double flat[3] = {1e300, 1e300, 1e300}, flat_tiny[3] = {1e-300, 1e-300, 1e-300};
  fit_round_trip(NDPAR_SCALE_STANDARD, NDPAR_PREPROCESS_SKLEARN_CONSTANT, flat, 3, t, b, &scale);
  cr_assert(scale == 1 && t[0] == 0 && b[0] == 1e300);
  fit_round_trip(NDPAR_SCALE_STANDARD, NDPAR_PREPROCESS_SKLEARN_CONSTANT, flat_tiny, 3, t, b, &scale);
  cr_assert(scale == 1 && t[0] == 0 && b[0] == 1e-300);
}

/* A constant column is its own median: a subnormal constant maps to 0 under ROBUST (GSL's
 * (1 - d) a + d a rounded it to another value, and the column mapped to -5e-324). */
Test(scaler_extremes, robust_constant_subnormal_column_maps_to_zero) {
  const double d = 4.9406564584124654e-324;
  for (size_t n = 2; n <= 6; n++)
    for (int m = 1; m <= 3; m++) {
      double v[6], t[6], b[6], scale;
      for (size_t i = 0; i < n; i++) v[i] = m * d;
      fit_round_trip(NDPAR_SCALE_ROBUST, 0, v, n, t, b, &scale);
      for (size_t i = 0; i < n; i++) {
        cr_assert(t[i] == 0 && !signbit(t[i]), "n %zu value %g: %g", n, v[i], t[i]);
        cr_assert_eq(b[i], v[i]);
      }
    }
}
