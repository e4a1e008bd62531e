/* ndpar_scaler_partial_fit: a fit in k chunks against one fit of all the rows (within a
 * few ulps for STANDARD, exactly for the range scalers), against scikit-learn's
 * StandardScaler / MinMaxScaler / MaxAbsScaler.partial_fit on a transcribed case with NaN,
 * the same bits at any thread count, and its refusals (ROBUST, set_stats without counts,
 * NaN without the flag) with the scaler untouched. */
#include <criterion/criterion.h>
#include <float.h>
#include <gsl/gsl_math.h>
#include <gsl/gsl_randist.h>
#include <math.h>
#include <string.h>

#include "ndpar/ndpar_preprocess.h"
#include "test_util.h"

static const char *kind_name[] = {"standard", "minmax", "minmax1", "robust", "maxabs"};

static int same_bits(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

/* partial_fit of x's rows cut at the given ends (ascending, the last x->size1). */
static int fit_in_chunks(ndpar_pool *p, ndpar_scaler *s, const gsl_matrix *x, const size_t *ends, size_t k) {
  size_t r0 = 0;
  for (size_t c = 0; c < k; c++) {
    gsl_matrix_const_view v = gsl_matrix_const_submatrix(x, r0, 0, ends[c] - r0, x->size2);
    int status = ndpar_scaler_partial_fit(p, s, &v.matrix);
    if (status) return status;
    r0 = ends[c];
  }
  return GSL_SUCCESS;
}

/* k random cut points of rows (k - 1 distinct inner ends, then rows); chunks of 1 row
 * included when k is close to rows. */
static size_t random_ends(gsl_rng *r, size_t rows, size_t k, size_t *ends) {
  size_t n = 0;
  for (size_t c = 1; c < k; c++) {
    size_t e = 1 + gsl_rng_uniform_int(r, rows - 1);
    int dup = 0;
    for (size_t i = 0; i < n; i++) dup |= ends[i] == e;
    if (!dup) ends[n++] = e;
  }
  for (size_t i = 1; i < n; i++) /* insertion sort */
    for (size_t m = i; m > 0 && ends[m - 1] > ends[m]; m--) {
      size_t t = ends[m];
      ends[m] = ends[m - 1];
      ends[m - 1] = t;
    }
  ends[n++] = rows;
  return n;
}

/* got within ulps units in the last place of size (|want|, or more: a mean is exact to
 * ulps of its spread, not of itself when it is near 0). */
static void within_ulps_of(double got, double want, double size, double ulps, const char *what, size_t j) {
  double tol = ulps * DBL_EPSILON * size;
  cr_assert(fabs(got - want) <= tol || same_bits(got, want), "%s column %zu: %.17g, one fit %.17g", what, j, got,
            want);
}

Test(partial_fit, k_chunks_equal_one_fit_for_every_streaming_kind_and_flag) {
  gsl_rng *r = test_rng();
  size_t rows_list[] = {1, 2, 3, 17, 1000, 40000};
  size_t k_list[] = {1, 2, 3, 7, 40};
  size_t cols = 5, ends[40];
  for (size_t a = 0; a < sizeof rows_list / sizeof rows_list[0]; a++) {
    size_t rows = rows_list[a];
    gsl_matrix *x = test_random_matrix(r, rows, cols);
    for (size_t i = 0; i < rows; i++) { /* offsets and spreads per column; a constant column */
      gsl_matrix_set(x, i, 0, 1e6 + gsl_matrix_get(x, i, 0));
      gsl_matrix_set(x, i, 1, -3 + 1e-3 * gsl_matrix_get(x, i, 1));
      gsl_matrix_set(x, i, 3, 42.0);
      if (i % 7 == 3) gsl_matrix_set(x, i, 4, NAN);
    }
    for (size_t b = 0; b < sizeof k_list / sizeof k_list[0]; b++) {
      if (k_list[b] > rows) continue;
      size_t k = random_ends(r, rows, k_list[b], ends);
      for (int kind = 0; kind < 5; kind++) {
        if (kind == NDPAR_SCALE_ROBUST) continue;
        for (int flags = 0; flags < 8; flags++) {
          if (!(flags & NDPAR_PREPROCESS_IGNORE_NONFINITE) && rows > 3) continue; /* column 4 has NaN */
          ndpar_scaler *one = ndpar_scaler_alloc((ndpar_scale_kind)kind, cols);
          ndpar_scaler *part = ndpar_scaler_alloc((ndpar_scale_kind)kind, cols);
          ndpar_scaler_set_flags(one, flags);
          ndpar_scaler_set_flags(part, flags);
          cr_assert_eq(ndpar_scaler_fit(NULL, one, x), GSL_SUCCESS);
          cr_assert_eq(fit_in_chunks(NULL, part, x, ends, k), GSL_SUCCESS);
          const gsl_vector *o[5], *q[5];
          ndpar_scaler_stats(one, &o[0], &o[1], &o[2], &o[3], &o[4]);
          ndpar_scaler_stats(part, &q[0], &q[1], &q[2], &q[3], &q[4]);
          char what[96];
          snprintf(what, sizeof what, "%s flags %d rows %zu chunks %zu", kind_name[kind], flags, rows, k);
          for (size_t j = 0; j < cols; j++)
            for (int f = 0; f < 5; f++) {
              double got = gsl_vector_get(q[f], j), want = gsl_vector_get(o[f], j);
              double size = GSL_MAX(fabs(want), f == 0 ? gsl_vector_get(o[1], j) : 0);
              if (kind == NDPAR_SCALE_STANDARD && f != 2 && f != 3)
                within_ulps_of(got, want, size, 8, what, j); /* the merges' roundings */
              else
                cr_assert(same_bits(got, want), "%s field %d column %zu: %.17g vs %.17g", what, f, j, got, want);
            }
          ndpar_scaler_free(one);
          ndpar_scaler_free(part);
        }
      }
    }
    gsl_matrix_free(x);
  }
  gsl_rng_free(r);
}

/* scikit-learn 1.2 (Debian's python3-sklearn), chunks X[0:2], X[2:3], X[3:6], X[6:7]:
 *   s = StandardScaler(); [s.partial_fit(c) for c in chunks]
 *   n_samples_seen_ [6 6 7]; mean_ [2.25, 1.9583333333333333, 10.0]
 *   scale_ [2.4409697526461347, 3.5835755732074204, 1.0]   (one fit: ...74195 in column 1)
 *   m = MinMaxScaler((-1, 1)), the same chunks: transform(X) below; MaxAbsScaler: max_abs_
 *   [7, 8.5, 10]. NaN is skipped per column (NDPAR_PREPROCESS_IGNORE_NONFINITE). */
static const double sk_x[7][3] = {{1.5, -2.0, 10.0}, {2.25, NAN, 10.0}, {-0.75, 4.0, 10.0}, {3.0, 8.5, 10.0},
                                  {NAN, -1.25, 10.0}, {0.5, 0.0, 10.0},  {7.0, 2.5, 10.0}};
static const size_t sk_ends[] = {2, 3, 6, 7};
static const double sk_mean[3] = {2.25, 1.9583333333333333, 10.0};
static const double sk_scale[3] = {2.4409697526461347, 3.5835755732074204, 1.0};
static const double sk_minmax1[7][3] = {{-0.4193548387096774, -1.0, -1.0},
                                        {-0.22580645161290325, NAN, -1.0},
                                        {-1.0, 0.1428571428571428, -1.0},
                                        {-0.032258064516129004, 1.0, -1.0},
                                        {NAN, -0.8571428571428572, -1.0},
                                        {-0.6774193548387096, -0.6190476190476191, -1.0},
                                        {1.0, -0.1428571428571429, -1.0}};

static gsl_matrix *sk_matrix(void) {
  gsl_matrix *x = gsl_matrix_alloc(7, 3);
  for (size_t i = 0; i < 7; i++)
    for (size_t j = 0; j < 3; j++) gsl_matrix_set(x, i, j, sk_x[i][j]);
  return x;
}

Test(partial_fit, scikit_learn_partial_fit_transcribed) {
  gsl_matrix *x = sk_matrix();
  int flags = NDPAR_PREPROCESS_SKLEARN | NDPAR_PREPROCESS_IGNORE_NONFINITE;
  ndpar_scaler *s = ndpar_scaler_alloc(NDPAR_SCALE_STANDARD, 3);
  ndpar_scaler_set_flags(s, flags);
  cr_assert_eq(fit_in_chunks(NULL, s, x, sk_ends, 4), GSL_SUCCESS);
  const gsl_vector *center, *scale;
  cr_assert_eq(ndpar_scaler_params(s, &center, &scale), GSL_SUCCESS);
  for (size_t j = 0; j < 3; j++) {
    within_ulps_of(gsl_vector_get(center, j), sk_mean[j], fabs(sk_mean[j]), 2, "StandardScaler.mean_", j);
    within_ulps_of(gsl_vector_get(scale, j), sk_scale[j], sk_scale[j], 4, "StandardScaler.scale_", j);
  }
  ndpar_scaler_free(s);

  s = ndpar_scaler_alloc(NDPAR_SCALE_MINMAX1, 3);
  ndpar_scaler_set_flags(s, flags);
  cr_assert_eq(fit_in_chunks(NULL, s, x, sk_ends, 4), GSL_SUCCESS);
  gsl_matrix *y = sk_matrix();
  cr_assert_eq(ndpar_scaler_transform(NULL, s, y), GSL_SUCCESS);
  for (size_t i = 0; i < 7; i++)
    for (size_t j = 0; j < 3; j++) {
      double got = gsl_matrix_get(y, i, j), want = sk_minmax1[i][j];
      cr_assert(got == want || (isnan(got) && isnan(want)) || nextafter(got, want) == want,
                "MinMaxScaler((-1, 1)) (%zu, %zu): %.17g vs %.17g", i, j, got, want);
    }
  ndpar_scaler_free(s);

  s = ndpar_scaler_alloc(NDPAR_SCALE_MAXABS, 3);
  ndpar_scaler_set_flags(s, flags);
  cr_assert_eq(fit_in_chunks(NULL, s, x, sk_ends, 4), GSL_SUCCESS);
  cr_assert_eq(ndpar_scaler_params(s, &center, &scale), GSL_SUCCESS);
  cr_assert(gsl_vector_get(scale, 0) == 7 && gsl_vector_get(scale, 1) == 8.5 && gsl_vector_get(scale, 2) == 10);
  ndpar_scaler_free(s);
  gsl_matrix_free(y);
  gsl_matrix_free(x);
}

/* Each chunk's statistics are the same bits at any thread count, so the stream's are. */
Test(partial_fit, same_bits_at_any_thread_count) {
  gsl_rng *r = test_rng();
  size_t rows = 30000, cols = 6, ends[8];
  gsl_matrix *x = test_random_matrix(r, rows, cols);
  size_t k = random_ends(r, rows, 8, ends);
  gsl_vector *ref = NULL;
  for (size_t threads = 1; threads <= test_max_threads(); threads++) {
    ndpar_pool *p = test_pool_of(threads);
    ndpar_scaler *s = ndpar_scaler_alloc(NDPAR_SCALE_STANDARD, cols);
    cr_assert_eq(fit_in_chunks(p, s, x, ends, k), GSL_SUCCESS);
    const gsl_vector *scale;
    ndpar_scaler_params(s, NULL, &scale);
    if (ref == NULL) {
      ref = gsl_vector_alloc(cols);
      gsl_vector_memcpy(ref, scale);
    }
    for (size_t j = 0; j < cols; j++)
      cr_assert(same_bits(gsl_vector_get(scale, j), gsl_vector_get(ref, j)), "%zu threads column %zu", threads, j);
    ndpar_scaler_free(s);
    ndpar_pool_free(p);
  }
  gsl_vector_free(ref);
  gsl_matrix_free(x);
  gsl_rng_free(r);
}

/* The first partial_fit is a fit; a fitted scaler continues with its count (one more row
 * of the same values moves the mean as n / (n + 1) says). */
Test(partial_fit, first_call_is_a_fit_and_a_fit_continues_with_its_count) {
  gsl_rng *r = test_rng();
  gsl_matrix *x = test_random_matrix(r, 100, 3);
  ndpar_scaler *a = ndpar_scaler_alloc(NDPAR_SCALE_STANDARD, 3), *b = ndpar_scaler_alloc(NDPAR_SCALE_STANDARD, 3);
  cr_assert_eq(ndpar_scaler_fit(NULL, a, x), GSL_SUCCESS);
  cr_assert_eq(ndpar_scaler_partial_fit(NULL, b, x), GSL_SUCCESS);
  const gsl_vector *ca, *sa, *cb, *sb;
  ndpar_scaler_params(a, &ca, &sa);
  ndpar_scaler_params(b, &cb, &sb);
  for (size_t j = 0; j < 3; j++)
    cr_assert(same_bits(gsl_vector_get(ca, j), gsl_vector_get(cb, j)) &&
              same_bits(gsl_vector_get(sa, j), gsl_vector_get(sb, j)));
  double mean0 = gsl_vector_get(ca, 0);
  gsl_matrix *one = gsl_matrix_calloc(1, 3);
  gsl_matrix_set(one, 0, 0, mean0 + 101.0);
  cr_assert_eq(ndpar_scaler_partial_fit(NULL, a, one), GSL_SUCCESS); /* continues from fit's 100 rows */
  cr_assert(fabs(gsl_vector_get(ca, 0) - (mean0 + 1.0)) < 1e-12, "%.17g vs %.17g", gsl_vector_get(ca, 0), mean0 + 1);
  ndpar_scaler_free(a);
  ndpar_scaler_free(b);
  gsl_matrix_free(one);
  gsl_matrix_free(x);
  gsl_rng_free(r);
}

/* Chunks at the ends of the double range: the sd of +-1e308 data streamed in chunks is
 * the one fit's to 1e-12, finite; subnormal chunks likewise. */
Test(partial_fit, extreme_chunks_stay_finite_and_match_one_fit) {
  gsl_rng *r = test_rng();
  size_t rows = 3000, cols = 3, ends[4];
  gsl_matrix *x = gsl_matrix_alloc(rows, cols);
  for (size_t i = 0; i < rows; i++) {
    double sign = gsl_rng_uniform(r) < 0.5 ? -1 : 1;
    gsl_matrix_set(x, i, 0, sign * 1e308 * (0.5 + 0.5 * gsl_rng_uniform(r)));
    gsl_matrix_set(x, i, 1, 1e-310 * gsl_rng_uniform(r));
    gsl_matrix_set(x, i, 2, i < rows / 2 ? 1e-200 * gsl_rng_uniform(r) : 1e200 * gsl_rng_uniform(r)); /* units differ */
  }
  ndpar_scaler *one = ndpar_scaler_alloc(NDPAR_SCALE_STANDARD, cols), *part = ndpar_scaler_alloc(NDPAR_SCALE_STANDARD, cols);
  cr_assert_eq(ndpar_scaler_fit(NULL, one, x), GSL_SUCCESS);
  ends[0] = rows / 2; /* the first chunk is all 1e-200 in column 2 */
  ends[1] = rows / 2 + 7;
  ends[2] = 2000;
  ends[3] = rows;
  cr_assert_eq(fit_in_chunks(NULL, part, x, ends, 4), GSL_SUCCESS);
  const gsl_vector *co, *so, *cp, *sp;
  ndpar_scaler_params(one, &co, &so);
  ndpar_scaler_params(part, &cp, &sp);
  for (size_t j = 0; j < cols; j++) {
    double s1 = gsl_vector_get(so, j), s2 = gsl_vector_get(sp, j);
    cr_assert(isfinite(s2) && s2 > 0, "column %zu: sd %g", j, s2);
    cr_assert(fabs(s2 - s1) <= 1e-12 * s1, "column %zu: sd %.17g, one fit %.17g", j, s2, s1);
    double m1 = gsl_vector_get(co, j), m2 = gsl_vector_get(cp, j);
    cr_assert(fabs(m2 - m1) <= 1e-12 * s1, "column %zu: mean %.17g, one fit %.17g", j, m2, m1);
  }
  ndpar_scaler_free(one);
  ndpar_scaler_free(part);
  gsl_matrix_free(x);
  gsl_rng_free(r);
}

/* Refusals leave the scaler as it was: NaN without the flag (GSL_EDOM naming the chunk's
 * row and column), ROBUST, set_stats without counts; a MINMAX scaler set from a fitted
 * one's statistics (min and max given) continues as the fitted one does. */
Test(partial_fit, refusals_leave_the_scaler_untouched_and_set_stats_rules) {
  test_quiet_gsl_errors();
  gsl_rng *r = test_rng();
  gsl_matrix *x = test_random_matrix(r, 50, 2), *more = test_random_matrix(r, 20, 2);
  ndpar_scaler *s = ndpar_scaler_alloc(NDPAR_SCALE_STANDARD, 2);
  cr_assert_eq(ndpar_scaler_partial_fit(NULL, s, x), GSL_SUCCESS);
  const gsl_vector *c, *sc;
  ndpar_scaler_params(s, &c, &sc);
  double c1 = gsl_vector_get(c, 1), s1 = gsl_vector_get(sc, 1);
  gsl_matrix_set(more, 4, 1, NAN);
  cr_assert_eq(ndpar_scaler_partial_fit(NULL, s, more), GSL_EDOM);
  cr_assert(strstr(test_gsl_last_reason(), "row 4, column 1") != NULL, "%s", test_gsl_last_reason());
  cr_assert(same_bits(gsl_vector_get(c, 1), c1) && same_bits(gsl_vector_get(sc, 1), s1));
  ndpar_scaler_set_flags(s, NDPAR_PREPROCESS_IGNORE_NONFINITE);
  cr_assert_eq(ndpar_scaler_partial_fit(NULL, s, more), GSL_SUCCESS); /* skipped: 69 values in column 1 */

  ndpar_scaler *rb = ndpar_scaler_alloc(NDPAR_SCALE_ROBUST, 2);
  cr_assert_eq(ndpar_scaler_partial_fit(NULL, rb, x), GSL_EINVAL);
  cr_assert_eq(ndpar_scaler_fit(NULL, rb, x), GSL_SUCCESS);
  cr_assert_eq(ndpar_scaler_partial_fit(NULL, rb, x), GSL_EINVAL);
  ndpar_scaler_free(rb);

  ndpar_scaler *st = ndpar_scaler_alloc(NDPAR_SCALE_STANDARD, 2);
  cr_assert_eq(ndpar_scaler_set_stats(st, c, sc, NULL, NULL, NULL), GSL_SUCCESS);
  cr_assert_eq(ndpar_scaler_partial_fit(NULL, st, x), GSL_EINVAL);
  cr_assert(strstr(test_gsl_last_reason(), "count") != NULL, "%s", test_gsl_last_reason());
  ndpar_scaler_free(st);

  gsl_matrix_set(more, 4, 1, 0.5);
  for (int kind = NDPAR_SCALE_MINMAX; kind <= NDPAR_SCALE_MAXABS; kind++) {
    if (kind == NDPAR_SCALE_ROBUST) continue;
    ndpar_scaler *f = ndpar_scaler_alloc((ndpar_scale_kind)kind, 2), *g = ndpar_scaler_alloc((ndpar_scale_kind)kind, 2);
    cr_assert_eq(ndpar_scaler_fit(NULL, f, x), GSL_SUCCESS);
    const gsl_vector *v[5];
    ndpar_scaler_stats(f, &v[0], &v[1], &v[2], &v[3], &v[4]);
    cr_assert_eq(ndpar_scaler_set_stats(g, v[0], v[1], NULL, NULL, NULL), GSL_SUCCESS);
    /* without min and max: MINMAX and MINMAX1 derive a range, MAXABS has none: no stream */
    cr_assert_eq(ndpar_scaler_partial_fit(NULL, g, more), GSL_EINVAL, "%s", kind_name[kind]);
    cr_assert_eq(ndpar_scaler_set_stats(g, v[0], v[1], v[2], v[3], v[4]), GSL_SUCCESS);
    cr_assert_eq(ndpar_scaler_partial_fit(NULL, f, more), GSL_SUCCESS);
    cr_assert_eq(ndpar_scaler_partial_fit(NULL, g, more), GSL_SUCCESS, "%s: %s", kind_name[kind], test_gsl_last_reason());
    const gsl_vector *w[5];
    ndpar_scaler_stats(f, &v[0], &v[1], &v[2], &v[3], &v[4]);
    ndpar_scaler_stats(g, &w[0], &w[1], &w[2], &w[3], &w[4]);
    for (int fld = 0; fld < 5; fld++)
      for (size_t j = 0; j < 2; j++)
        cr_assert(same_bits(gsl_vector_get(v[fld], j), gsl_vector_get(w[fld], j)), "%s field %d column %zu",
                  kind_name[kind], fld, j);
    ndpar_scaler_free(f);
    ndpar_scaler_free(g);
  }
  ndpar_scaler_free(s);
  gsl_matrix_free(x);
  gsl_matrix_free(more);
  gsl_rng_free(r);
}
