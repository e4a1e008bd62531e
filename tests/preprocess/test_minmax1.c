/* The [-1, 1] scaler against scikit-learn's MinMaxScaler(feature_range=(-1, 1)): its
 * formula x * scale_ + min_, scale_ = 2 / (max - min), min_ = -1 - min * scale_, evaluated
 * the same way (two roundings), within 1 ulp; the column's min and max exactly -1 and 1,
 * also at large offsets where that formula misses them; and back exactly by the inverse. */
#include <criterion/criterion.h>
#include <gsl/gsl_math.h>
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

/* The round trip's bound (docs/preprocess.md): MINMAX1 computes scikit-learn's x * mul +
 * add, and add = -1 - min * mul rounds at the scale of the column's ends, so a value near 0
 * in a wide column comes back within a few ulps of |x| + max(|min|, |max|), not of
 * |x| + |center| (the docs said that): [-0.7, 0.7000000001, 1e-10] returns 1e-10 as
 * 9.9999956e-11, far outside 4 eps (|x| + |center|) = 1.3e-25, inside 4 eps (|x| + 0.7). */
/* back[i] = inverse(transform(v))[i] under a MINMAX1 scaler fitted on v; returns the
 * column's max(|min|, |max|). */
static double round_trip(const double *v, size_t n, double *back) {
  gsl_matrix_const_view x = gsl_matrix_const_view_array(v, n, 1);
  gsl_matrix_view y = gsl_matrix_view_array(back, n, 1);
  gsl_matrix_memcpy(&y.matrix, &x.matrix);
  ndpar_scaler *s = ndpar_scaler_alloc(NDPAR_SCALE_MINMAX1, 1);
  cr_assert_eq(ndpar_scaler_fit(NULL, s, &x.matrix), GSL_SUCCESS);
  cr_assert_eq(ndpar_scaler_transform(NULL, s, &y.matrix), GSL_SUCCESS);
  cr_assert_eq(ndpar_scaler_inverse(NULL, s, &y.matrix), GSL_SUCCESS);
  ndpar_scaler_free(s);
  return GSL_MAX(fabs(gsl_matrix_min(&x.matrix)), fabs(gsl_matrix_max(&x.matrix)));
}

Test(minmax1, round_trip_is_within_ulps_of_the_columns_ends) {
  double v[] = {-0.7, 0.7000000001, 1e-10}, back[3];
  double ends = round_trip(v, 3, back), err = fabs(back[2] - v[2]), center = (0.7000000001 - 0.7) / 2;
  cr_assert_gt(err, 4 * GSL_DBL_EPSILON * (1e-10 + center), "the old bound does not hold here");
  cr_assert_leq(err, 4 * GSL_DBL_EPSILON * (1e-10 + ends), "%.3g", err);
  gsl_rng *r = test_rng();
  enum { N = 2001 };
  static double w[N], wb[N];
  for (int rep = 0; rep < 50; rep++) { /* wide columns around 0, values of every magnitude */
    double spread = pow(10, gsl_rng_uniform(r) * 20 - 10);
    for (size_t i = 0; i < N; i++) w[i] = spread * gsl_ran_gaussian(r, 1.0) * pow(10, -12 * gsl_rng_uniform(r));
    ends = round_trip(w, N, wb);
    for (size_t i = 0; i < N; i++)
      cr_assert_leq(fabs(wb[i] - w[i]), 4 * GSL_DBL_EPSILON * (fabs(w[i]) + ends), "%.17g back as %.17g", w[i], wb[i]);
  }
  gsl_rng_free(r);
}
