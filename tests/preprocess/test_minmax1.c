/* The [-1, 1] scaler against scikit-learn's MinMaxScaler(feature_range=(-1, 1)): its
 * formula x * scale_ + min_, scale_ = 2 / (max - min), min_ = -1 - min * scale_, evaluated
 * the same way (two roundings), within 1 ulp; the column's min and max exactly -1 and 1,
 * also at large offsets where that formula misses them; and back exactly by the inverse. */
#include <criterion/criterion.h>
#include <gsl/gsl_randist.h>
#include <math.h>

#include "ndpar/ndpar_preprocess.h"
#include "test_util.h"

static double sklearn_minmax1(double x, double lo, double hi) {
  double scale = 2.0 / (hi - lo);
  double min_ = -1.0 - lo * scale;
  double y = x * scale;
  y += min_;
  return y;
}

static int within_one_ulp(double a, double b) {
  return a == b || nextafter(a, b) == b;
}

static void check_offset(double offset, double spread, size_t threads) {
  gsl_rng *r = test_rng();
  size_t rows = 5000, cols = 3;
  gsl_matrix *x = gsl_matrix_alloc(rows, cols), *y = gsl_matrix_alloc(rows, cols);
  for (size_t i = 0; i < rows; i++)
    for (size_t j = 0; j < cols; j++)
      gsl_matrix_set(x, i, j, offset * (double)(j + 1) + spread * gsl_ran_gaussian(r, 1.0));
  ndpar_pool *p = test_pool_of(threads);
  ndpar_scaler *s = ndpar_scaler_alloc(NDPAR_SCALE_MINMAX1, cols);
  cr_assert_eq(ndpar_scaler_fit(p, s, x), GSL_SUCCESS);
  gsl_matrix_memcpy(y, x);
  cr_assert_eq(ndpar_scaler_transform(p, s, y), GSL_SUCCESS);
  for (size_t j = 0; j < cols; j++) {
    gsl_vector_view c = gsl_matrix_column(x, j);
    double lo = gsl_vector_min(&c.vector), hi = gsl_vector_max(&c.vector);
    size_t at_lo = gsl_vector_min_index(&c.vector), at_hi = gsl_vector_max_index(&c.vector);
    cr_assert_eq(gsl_matrix_get(y, at_lo, j), -1.0, "offset %g col %zu: min -> %.17g", offset, j,
                 gsl_matrix_get(y, at_lo, j));
    cr_assert_eq(gsl_matrix_get(y, at_hi, j), 1.0, "offset %g col %zu: max -> %.17g", offset, j,
                 gsl_matrix_get(y, at_hi, j));
    for (size_t i = 0; i < rows; i++) {
      if (i == at_lo || i == at_hi) continue;
      double want = sklearn_minmax1(gsl_matrix_get(x, i, j), lo, hi), got = gsl_matrix_get(y, i, j);
      cr_assert(within_one_ulp(got, want), "offset %g (%zu, %zu): %.17g, scikit-learn %.17g",
                offset, i, j, got, want);
    }
  }
  cr_assert_eq(ndpar_scaler_inverse(p, s, y), GSL_SUCCESS);
  for (size_t j = 0; j < cols; j++) {
    gsl_vector_view c = gsl_matrix_column(x, j);
    size_t at_lo = gsl_vector_min_index(&c.vector), at_hi = gsl_vector_max_index(&c.vector);
    cr_assert_eq(gsl_matrix_get(y, at_lo, j), gsl_matrix_get(x, at_lo, j), "inverse: min exact");
    cr_assert_eq(gsl_matrix_get(y, at_hi, j), gsl_matrix_get(x, at_hi, j), "inverse: max exact");
  }
  ndpar_scaler_free(s);
  ndpar_pool_free(p);
  gsl_matrix_free(x);
  gsl_matrix_free(y);
  gsl_rng_free(r);
}

Test(minmax1, exact_ends_and_sklearn_elsewhere_at_large_offsets) {
  const double offsets[] = {0, 1, 1e9, 1e12, -1e15, 1e300};
  for (size_t k = 0; k < sizeof offsets / sizeof *offsets; k++)
    for (size_t t = 1; t <= test_max_threads(); t++)
      check_offset(offsets[k], offsets[k] > 1e100 ? 1e290 : 1.0, t);
}

Test(minmax1, the_reported_column_near_1e9) {
  /* The case that gave [-0.99999998679706747, 1.0000000132029325]. */
  gsl_matrix *x = gsl_matrix_alloc(4, 1);
  double v[4] = {1e9 + 0.25, 1e9 + 3.5, 1e9 + 1.75, 1e9 + 0.5};
  for (size_t i = 0; i < 4; i++) gsl_matrix_set(x, i, 0, v[i]);
  ndpar_scaler *s = ndpar_scaler_alloc(NDPAR_SCALE_MINMAX1, 1);
  cr_assert_eq(ndpar_scaler_fit(NULL, s, x), GSL_SUCCESS);
  cr_assert_eq(ndpar_scaler_transform(NULL, s, x), GSL_SUCCESS);
  cr_assert_eq(gsl_matrix_get(x, 0, 0), -1.0);
  cr_assert_eq(gsl_matrix_get(x, 1, 0), 1.0);
  cr_assert(within_one_ulp(gsl_matrix_get(x, 2, 0), sklearn_minmax1(1e9 + 1.75, 1e9 + 0.25, 1e9 + 3.5)));
  ndpar_scaler_free(s);
  gsl_matrix_free(x);
}

/* A constant column maps to -1, the low end (MinMaxScaler((-1, 1)) counts its range as 1). */
Test(minmax1, a_constant_column_maps_to_the_low_end_and_back) {
  gsl_matrix *x = gsl_matrix_alloc(7, 1);
  gsl_matrix_set_all(x, 1e9);
  ndpar_scaler *s = ndpar_scaler_alloc(NDPAR_SCALE_MINMAX1, 1);
  cr_assert_eq(ndpar_scaler_fit(NULL, s, x), GSL_SUCCESS);
  cr_assert_eq(ndpar_scaler_transform(NULL, s, x), GSL_SUCCESS);
  for (size_t i = 0; i < 7; i++) cr_assert_eq(gsl_matrix_get(x, i, 0), -1.0);
  cr_assert_eq(ndpar_scaler_inverse(NULL, s, x), GSL_SUCCESS);
  for (size_t i = 0; i < 7; i++) cr_assert_eq(gsl_matrix_get(x, i, 0), 1e9);
  ndpar_scaler_free(s);
  gsl_matrix_free(x);
}
