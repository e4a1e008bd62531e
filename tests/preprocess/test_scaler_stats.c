/* A scaler's statistics out (ndpar_scaler_stats) and in (ndpar_scaler_set_stats): the
 * rebuilt scaler transforms and inverts bit for bit like the fitted one, for every kind and
 * flag, on random, constant, +-DBL_MAX, subnormal, near-constant and NaN columns; bad
 * statistics are refused naming the argument and column, with the scaler untouched. */
#include <criterion/criterion.h>
#include <float.h>
#include <gsl/gsl_math.h>
#include <gsl/gsl_randist.h>
#include <math.h>
#include <string.h>

#include "ndpar/ndpar_preprocess.h"
#include "test_util.h"

#define ZOO_COLS 9
static const char *kind_name[] = {"standard", "minmax", "minmax1", "robust", "maxabs"};

/* rows x ZOO_COLS of every hard case, one per column: 0 offset + N(0, 3); 1 constant; 2
 * values of both signs in [DBL_MAX / 2, DBL_MAX] (the range overflows, the sd does not);
 * 3 -DBL_MAX and DBL_MAX alternating (sd, range and IQR all above DBL_MAX); 4 subnormal; 5
 * one sign near 1e300; 6 1 + a few eps (near-constant: scikit-learn's constant rule); 7
 * mostly 0 and two values at +-DBL_MAX (ROBUST: IQR 0, range overflowing); 8 all
 * subnormal and equal. With holes: NaN and Inf scattered over columns 0 and 5, and column
 * 8 all NaN (for NDPAR_PREPROCESS_IGNORE_NONFINITE). */
static gsl_matrix *zoo(gsl_rng *r, size_t rows, int holes) {
  gsl_matrix *x = gsl_matrix_alloc(rows, ZOO_COLS);
  for (size_t i = 0; i < rows; i++) {
    double sign = gsl_rng_uniform(r) < 0.5 ? -1 : 1;
    gsl_matrix_set(x, i, 0, 1e3 + 3 * gsl_ran_gaussian(r, 1));
    gsl_matrix_set(x, i, 1, 7.25);
    gsl_matrix_set(x, i, 2, sign * DBL_MAX * (0.5 + 0.5 * gsl_rng_uniform(r)));
    gsl_matrix_set(x, i, 3, i % 2 ? DBL_MAX : -DBL_MAX);
    gsl_matrix_set(x, i, 4, 1e-310 * gsl_rng_uniform(r));
    gsl_matrix_set(x, i, 5, 1e300 * (1 + 3 * gsl_rng_uniform(r)));
    gsl_matrix_set(x, i, 6, 1 + (double)gsl_rng_uniform_int(r, 4) * DBL_EPSILON);
    gsl_matrix_set(x, i, 7, i == 1 ? DBL_MAX : i == 2 ? -DBL_MAX : 0.0);
    gsl_matrix_set(x, i, 8, holes ? NAN : 3e-320);
    if (holes && i % 3 == 1) gsl_matrix_set(x, i, 0, NAN);
    if (holes && i % 5 == 2) gsl_matrix_set(x, i, 5, -INFINITY);
  }
  return x;
}

/* Data to transform: the training rows, then values the fit never saw: each column's
 * values doubled, halved and negated, 0, +-DBL_MAX, subnormals, NaN and +-Inf. */
static gsl_matrix *probe(const gsl_matrix *x) {
  static const double extra[] = {0.0, -0.0, DBL_MAX, -DBL_MAX, 4.9406564584124654e-324, -1e-310,
                                 1.0, -1.0, 1e300, NAN, INFINITY, -INFINITY};
  size_t ne = sizeof extra / sizeof extra[0], rows = 4 * x->size1 + ne;
  gsl_matrix *y = gsl_matrix_alloc(rows, x->size2);
  for (size_t j = 0; j < x->size2; j++) {
    for (size_t i = 0; i < x->size1; i++) {
      double v = gsl_matrix_get(x, i, j);
      gsl_matrix_set(y, i, j, v);
      gsl_matrix_set(y, x->size1 + i, j, 2 * v);
      gsl_matrix_set(y, 2 * x->size1 + i, j, 0.5 * v);
      gsl_matrix_set(y, 3 * x->size1 + i, j, -v);
    }
    for (size_t e = 0; e < ne; e++) gsl_matrix_set(y, 4 * x->size1 + e, j, extra[e]);
  }
  return y;
}

static int same_bits(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

static void assert_same_matrix(const gsl_matrix *a, const gsl_matrix *b, const char *what) {
  for (size_t i = 0; i < a->size1; i++)
    for (size_t j = 0; j < a->size2; j++)
      cr_assert(same_bits(gsl_matrix_get(a, i, j), gsl_matrix_get(b, i, j)), "%s (%zu, %zu): %.17g vs %.17g",
                what, i, j, gsl_matrix_get(a, i, j), gsl_matrix_get(b, i, j));
}

static void assert_same_vector(const gsl_vector *a, const gsl_vector *b, const char *what) {
  for (size_t j = 0; j < a->size; j++)
    cr_assert(same_bits(gsl_vector_get(a, j), gsl_vector_get(b, j)), "%s[%zu]: %.17g vs %.17g", what, j,
              gsl_vector_get(a, j), gsl_vector_get(b, j));
}

/* A scaler of s's kind rebuilt from s's statistics; its statistics equal s's bit for bit. */
static ndpar_scaler *rebuilt(const ndpar_scaler *s, ndpar_scale_kind kind, size_t cols) {
  const gsl_vector *st[5], *rt[5];
  cr_assert_eq(ndpar_scaler_stats(s, &st[0], &st[1], &st[2], &st[3], &st[4]), GSL_SUCCESS);
  ndpar_scaler *r = ndpar_scaler_alloc(kind, cols);
  cr_assert_eq(ndpar_scaler_set_stats(r, st[0], st[1], st[2], st[3], st[4]), GSL_SUCCESS,
               "%s: %s", kind_name[kind], test_gsl_last_reason());
  cr_assert_eq(ndpar_scaler_stats(r, &rt[0], &rt[1], &rt[2], &rt[3], &rt[4]), GSL_SUCCESS);
  static const char *name[] = {"center", "scale", "min", "max", "half"};
  for (int k = 0; k < 5; k++) assert_same_vector(rt[k], st[k], name[k]);
  return r;
}

/* Transform and inverse of the probe by s and by r: the same bits. */
static void assert_same_transforms(const ndpar_scaler *s, const ndpar_scaler *r, const gsl_matrix *x,
                                   const char *what) {
  gsl_matrix *a = probe(x), *b = probe(x);
  cr_assert_eq(ndpar_scaler_transform(NULL, s, a), GSL_SUCCESS);
  cr_assert_eq(ndpar_scaler_transform(NULL, r, b), GSL_SUCCESS);
  assert_same_matrix(a, b, what);
  gsl_matrix_free(b);
  b = probe(x);
  gsl_matrix_memcpy(a, b);
  cr_assert_eq(ndpar_scaler_inverse(NULL, s, a), GSL_SUCCESS);
  cr_assert_eq(ndpar_scaler_inverse(NULL, r, b), GSL_SUCCESS);
  assert_same_matrix(a, b, what);
  gsl_matrix_free(a);
  gsl_matrix_free(b);
}

Test(scaler_stats, rebuilt_from_statistics_is_bit_for_bit_for_every_kind_and_flag) {
  test_quiet_gsl_errors();
  gsl_rng *r = test_rng();
  size_t rows_list[] = {1, 2, 3, 7, 100, 3000};
  for (size_t k = 0; k < sizeof rows_list / sizeof rows_list[0]; k++)
    for (int flags = 0; flags < 8; flags++) {
      int holes = flags & NDPAR_PREPROCESS_IGNORE_NONFINITE;
      gsl_matrix *x = zoo(r, rows_list[k], holes);
      for (int kind = 0; kind < 5; kind++) {
        ndpar_scaler *s = ndpar_scaler_alloc((ndpar_scale_kind)kind, ZOO_COLS);
        cr_assert_eq(ndpar_scaler_set_flags(s, flags), GSL_SUCCESS);
        cr_assert_eq(ndpar_scaler_fit(NULL, s, x), GSL_SUCCESS);
        ndpar_scaler *b = rebuilt(s, (ndpar_scale_kind)kind, ZOO_COLS);
        char what[96];
        snprintf(what, sizeof what, "%s flags %d rows %zu", kind_name[kind], flags, rows_list[k]);
        assert_same_transforms(s, b, x, what);
        ndpar_scaler *c = rebuilt(b, (ndpar_scale_kind)kind, ZOO_COLS); /* and again */
        assert_same_transforms(s, c, x, what);
        ndpar_scaler_free(c);
        ndpar_scaler_free(b);
        ndpar_scaler_free(s);
      }
      gsl_matrix_free(x);
    }
  gsl_rng_free(r);
}

/* The statistics are what they say: min and max the column's, half scale / 2, and where
 * the scale overflows (column 3: +-DBL_MAX) a finite half that makes the transform finite. */
Test(scaler_stats, min_max_and_half_are_the_columns) {
  gsl_rng *r = test_rng();
  gsl_matrix *x = zoo(r, 50, 0);
  for (int kind = 0; kind < 5; kind++) {
    ndpar_scaler *s = ndpar_scaler_alloc((ndpar_scale_kind)kind, ZOO_COLS);
    cr_assert_eq(ndpar_scaler_fit(NULL, s, x), GSL_SUCCESS);
    const gsl_vector *center, *scale, *mn, *mx, *half, *pc, *ps;
    cr_assert_eq(ndpar_scaler_stats(s, &center, &scale, &mn, &mx, &half), GSL_SUCCESS);
    cr_assert_eq(ndpar_scaler_params(s, &pc, &ps), GSL_SUCCESS);
    cr_assert(pc == center && ps == scale, "the same vectors as ndpar_scaler_params");
    for (size_t j = 0; j < ZOO_COLS; j++) {
      gsl_vector_const_view c = gsl_matrix_const_column(x, j);
      cr_assert_eq(gsl_vector_get(mn, j), gsl_vector_min(&c.vector));
      cr_assert_eq(gsl_vector_get(mx, j), gsl_vector_max(&c.vector));
      double sc = gsl_vector_get(scale, j), h = gsl_vector_get(half, j);
      if (isfinite(sc))
        cr_assert(same_bits(h, 0.5 * sc), "%s column %zu: half %.17g of %.17g", kind_name[kind], j, h, sc);
      else
        cr_assert(isfinite(h) && h > DBL_MAX / 4, "%s column %zu: half %g", kind_name[kind], j, h);
    }
    if (kind != NDPAR_SCALE_MINMAX1 && kind != NDPAR_SCALE_MAXABS)
      cr_assert(isinf(gsl_vector_get(scale, 3)), "%s: +-DBL_MAX's scale is +Inf", kind_name[kind]);
    gsl_matrix *y = gsl_matrix_alloc(x->size1, ZOO_COLS);
    gsl_matrix_memcpy(y, x);
    cr_assert_eq(ndpar_scaler_transform(NULL, s, y), GSL_SUCCESS);
    for (size_t i = 0; i < y->size1; i++)
      cr_assert(isfinite(gsl_matrix_get(y, i, 3)) && fabs(gsl_matrix_get(y, i, 3)) <= 1.5, "%s row %zu: %g",
                kind_name[kind], i, gsl_matrix_get(y, i, 3));
    gsl_matrix_free(y);
    ndpar_scaler_free(s);
  }
  gsl_matrix_free(x);
  gsl_rng_free(r);
}

/* STANDARD of -DBL_MAX, DBL_MAX: the sd, sqrt(2) DBL_MAX, overflows; the transform divides
 * by its finite half, so DBL_MAX maps to 1/sqrt(2) and back (it divided by 0 before). */
Test(scaler_stats, standard_sd_above_dbl_max_transforms_by_its_half) {
  gsl_matrix *x = gsl_matrix_alloc(2, 1);
  gsl_matrix_set(x, 0, 0, -DBL_MAX);
  gsl_matrix_set(x, 1, 0, DBL_MAX);
  ndpar_scaler *s = ndpar_scaler_alloc(NDPAR_SCALE_STANDARD, 1);
  cr_assert_eq(ndpar_scaler_fit(NULL, s, x), GSL_SUCCESS);
  gsl_matrix *y = gsl_matrix_alloc(2, 1);
  gsl_matrix_memcpy(y, x);
  cr_assert_eq(ndpar_scaler_transform(NULL, s, y), GSL_SUCCESS);
  cr_assert(fabs(gsl_matrix_get(y, 1, 0) - M_SQRT1_2) < 1e-15, "%.17g", gsl_matrix_get(y, 1, 0));
  cr_assert(fabs(gsl_matrix_get(y, 0, 0) + M_SQRT1_2) < 1e-15, "%.17g", gsl_matrix_get(y, 0, 0));
  cr_assert_eq(ndpar_scaler_inverse(NULL, s, y), GSL_SUCCESS);
  cr_assert(fabs(gsl_matrix_get(y, 1, 0) / DBL_MAX - 1) < 1e-15, "%.17g", gsl_matrix_get(y, 1, 0));
  ndpar_scaler_free(s);
  gsl_matrix_free(x);
  gsl_matrix_free(y);
}

/* Built from a user's statistics: STANDARD from ndpar_colstats' mean and sd is the fitted
 * scaler bit for bit; MINMAX without min and max takes [center, center + scale]; MINMAX1
 * without them maps center - scale and center + scale exactly to -1 and 1; STANDARD without
 * min and max reports them NaN. */
Test(scaler_stats, built_from_given_statistics) {
  test_quiet_gsl_errors();
  gsl_rng *r = test_rng();
  size_t rows = 500, cols = 4;
  gsl_matrix *x = test_random_matrix(r, rows, cols);
  gsl_vector *mean = gsl_vector_alloc(cols), *sd = gsl_vector_alloc(cols);
  gsl_vector *mn = gsl_vector_alloc(cols), *mx = gsl_vector_alloc(cols);
  cr_assert_eq(ndpar_colstats(NULL, x, 0, mean, sd, mn, mx), GSL_SUCCESS);
  ndpar_scaler *fitted = ndpar_scaler_alloc(NDPAR_SCALE_STANDARD, cols);
  ndpar_scaler *given = ndpar_scaler_alloc(NDPAR_SCALE_STANDARD, cols);
  cr_assert_eq(ndpar_scaler_fit(NULL, fitted, x), GSL_SUCCESS);
  cr_assert_eq(ndpar_scaler_set_stats(given, mean, sd, NULL, NULL, NULL), GSL_SUCCESS);
  assert_same_transforms(fitted, given, x, "standard from colstats");
  const gsl_vector *gmin, *gmax;
  cr_assert_eq(ndpar_scaler_stats(given, NULL, NULL, &gmin, &gmax, NULL), GSL_SUCCESS);
  for (size_t j = 0; j < cols; j++) cr_assert(isnan(gsl_vector_get(gmin, j)) && isnan(gsl_vector_get(gmax, j)));
  ndpar_scaler *rb = rebuilt(given, NDPAR_SCALE_STANDARD, cols); /* a set scaler round-trips too */
  assert_same_transforms(given, rb, x, "standard set, rebuilt");
  ndpar_scaler_free(rb);

  gsl_vector *center = gsl_vector_alloc(cols), *scale = gsl_vector_alloc(cols);
  for (size_t j = 0; j < cols; j++) {
    gsl_vector_set(center, j, -1.0 - (double)j);
    gsl_vector_set(scale, j, 0.5 + (double)j);
  }
  for (int kind = NDPAR_SCALE_MINMAX; kind <= NDPAR_SCALE_MINMAX1; kind++) {
    ndpar_scaler *s = ndpar_scaler_alloc((ndpar_scale_kind)kind, cols);
    cr_assert_eq(ndpar_scaler_set_stats(s, center, scale, NULL, NULL, NULL), GSL_SUCCESS);
    const gsl_vector *c, *sc, *lo, *hi;
    cr_assert_eq(ndpar_scaler_stats(s, &c, &sc, &lo, &hi, NULL), GSL_SUCCESS);
    gsl_matrix *y = gsl_matrix_alloc(2, cols);
    for (size_t j = 0; j < cols; j++) {
      double want_lo = kind == NDPAR_SCALE_MINMAX ? gsl_vector_get(center, j) : gsl_vector_get(center, j) - gsl_vector_get(scale, j);
      cr_assert_eq(gsl_vector_get(lo, j), want_lo);
      cr_assert_eq(gsl_vector_get(hi, j), gsl_vector_get(center, j) + gsl_vector_get(scale, j));
      cr_assert(fabs(gsl_vector_get(c, j) - gsl_vector_get(center, j)) <= 2 * DBL_EPSILON * fabs(gsl_vector_get(center, j)));
      cr_assert(fabs(gsl_vector_get(sc, j) - gsl_vector_get(scale, j)) <= 2 * DBL_EPSILON * gsl_vector_get(scale, j));
      gsl_matrix_set(y, 0, j, gsl_vector_get(lo, j));
      gsl_matrix_set(y, 1, j, gsl_vector_get(hi, j));
    }
    cr_assert_eq(ndpar_scaler_transform(NULL, s, y), GSL_SUCCESS);
    for (size_t j = 0; j < cols; j++) {
      cr_assert_eq(gsl_matrix_get(y, 0, j), kind == NDPAR_SCALE_MINMAX ? 0.0 : -1.0);
      cr_assert(fabs(gsl_matrix_get(y, 1, j) - 1) <= 2 * DBL_EPSILON, "%s column %zu: %.17g", kind_name[kind], j,
                gsl_matrix_get(y, 1, j));
    }
    ndpar_scaler *b = rebuilt(s, (ndpar_scale_kind)kind, cols);
    assert_same_transforms(s, b, x, kind_name[kind]);
    ndpar_scaler_free(b);
    gsl_matrix_free(y);
    ndpar_scaler_free(s);
  }
  ndpar_scaler_free(fitted);
  ndpar_scaler_free(given);
  gsl_vector_free(center);
  gsl_vector_free(scale);
  gsl_vector_free(mean);
  gsl_vector_free(sd);
  gsl_vector_free(mn);
  gsl_vector_free(mx);
  gsl_matrix_free(x);
  gsl_rng_free(r);
}

/* One bad value in column 1 of otherwise good statistics: code, a message naming the
 * argument and the column, and the scaler untouched (still unfitted, or its old stats). */
typedef struct {
  int kind;
  int field; /* 0 center 1 scale 2 min 3 max 4 half */
  double value;
  int code;
  const char *names;
} bad_case;

static void expect_refused(ndpar_scaler *s, const gsl_vector *const v[5], const bad_case *b) {
  int code = ndpar_scaler_set_stats(s, v[0], v[1], v[2], v[3], v[4]);
  cr_assert_eq(code, b->code, "%s field %d = %g: %d (%s)", kind_name[b->kind], b->field, b->value, code,
               test_gsl_last_reason());
  cr_assert(strstr(test_gsl_last_reason(), b->names) != NULL, "message '%s' names '%s'", test_gsl_last_reason(),
            b->names);
}

Test(scaler_stats, bad_statistics_are_refused_naming_argument_and_column) {
  test_quiet_gsl_errors();
  static const bad_case cases[] = {
      {NDPAR_SCALE_STANDARD, 0, NAN, GSL_EDOM, "center[1]"},
      {NDPAR_SCALE_STANDARD, 0, INFINITY, GSL_EDOM, "center[1]"},
      {NDPAR_SCALE_STANDARD, 1, NAN, GSL_EDOM, "scale[1]"},
      {NDPAR_SCALE_STANDARD, 1, 0.0, GSL_EDOM, "scale[1]"},
      {NDPAR_SCALE_ROBUST, 1, -2.0, GSL_EDOM, "scale[1]"},
      {NDPAR_SCALE_MAXABS, 1, INFINITY, GSL_EDOM, "scale[1]"},      /* the range does not overflow */
      {NDPAR_SCALE_MINMAX, 2, 9.0, GSL_EINVAL, "min[1]"},           /* min > max */
      {NDPAR_SCALE_MINMAX, 2, NAN, GSL_EDOM, "min[1]"},             /* one of the two NaN */
      {NDPAR_SCALE_MINMAX, 3, INFINITY, GSL_EDOM, "max[1]"},
      {NDPAR_SCALE_MINMAX1, 1, 3.0, GSL_EINVAL, "scale[1]"},        /* not the range's */
      {NDPAR_SCALE_MINMAX1, 0, 0.25, GSL_EINVAL, "center[1]"},
  };
  size_t cols = 3;
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    const bad_case *b = &cases[k];
    /* good statistics: center 0.5, scale 0.5 (MINMAX1's of [0, 1]; MINMAX: center 0, scale 1) */
    gsl_vector *v[5];
    for (int f = 0; f < 5; f++) v[f] = gsl_vector_alloc(cols);
    gsl_vector_set_all(v[0], b->kind == NDPAR_SCALE_MINMAX ? 0.0 : 0.5);
    gsl_vector_set_all(v[1], b->kind == NDPAR_SCALE_MINMAX ? 1.0 : 0.5);
    gsl_vector_set_all(v[2], 0.0);
    gsl_vector_set_all(v[3], 1.0);
    gsl_vector_set_all(v[4], 0.25);
    gsl_vector_set(v[b->field], 1, b->value);
    ndpar_scaler *s = ndpar_scaler_alloc((ndpar_scale_kind)b->kind, cols);
    expect_refused(s, (const gsl_vector *const *)v, b);
    const gsl_vector *c = NULL;
    cr_assert_eq(ndpar_scaler_stats(s, &c, NULL, NULL, NULL, NULL), GSL_EINVAL, "still unfitted");
    cr_assert_null(c);
    /* fitted, then refused: its statistics and transform unchanged */
    gsl_matrix *x = gsl_matrix_alloc(2, cols);
    gsl_matrix_set_all(x, 0.0);
    for (size_t j = 0; j < cols; j++) gsl_matrix_set(x, 1, j, 4.0 + (double)j);
    cr_assert_eq(ndpar_scaler_fit(NULL, s, x), GSL_SUCCESS);
    ndpar_scaler *before = rebuilt(s, (ndpar_scale_kind)b->kind, cols);
    expect_refused(s, (const gsl_vector *const *)v, b);
    ndpar_scaler *after = rebuilt(s, (ndpar_scale_kind)b->kind, cols);
    assert_same_transforms(before, after, x, "after a refused set_stats");
    assert_same_transforms(before, s, x, "after a refused set_stats");
    ndpar_scaler_free(before);
    ndpar_scaler_free(after);
    ndpar_scaler_free(s);
    gsl_matrix_free(x);
    for (int f = 0; f < 5; f++) gsl_vector_free(v[f]);
  }
}

/* The rules around infinite scales and unknown ranges. */
Test(scaler_stats, infinite_scales_need_an_overflowing_range_and_a_half) {
  test_quiet_gsl_errors();
  gsl_vector *center = gsl_vector_alloc(1), *scale = gsl_vector_alloc(1), *lo = gsl_vector_alloc(1),
             *hi = gsl_vector_alloc(1), *half = gsl_vector_alloc(1);
  gsl_vector_set(center, 0, 0.0);
  gsl_vector_set(scale, 0, INFINITY);
  gsl_vector_set(lo, 0, -DBL_MAX);
  gsl_vector_set(hi, 0, DBL_MAX);
  gsl_vector_set(half, 0, 0.75 * DBL_MAX);
  ndpar_scaler *s = ndpar_scaler_alloc(NDPAR_SCALE_STANDARD, 1);
  cr_assert_eq(ndpar_scaler_set_stats(s, center, scale, NULL, NULL, half), GSL_EDOM); /* no overflowing range */
  cr_assert_eq(ndpar_scaler_set_stats(s, center, scale, lo, hi, NULL), GSL_EINVAL);   /* no half */
  cr_assert(strstr(test_gsl_last_reason(), "half[0]") != NULL, "%s", test_gsl_last_reason());
  gsl_vector_set(half, 0, -1);
  cr_assert_eq(ndpar_scaler_set_stats(s, center, scale, lo, hi, half), GSL_EDOM);
  gsl_vector_set(half, 0, 0.75 * DBL_MAX);
  cr_assert_eq(ndpar_scaler_set_stats(s, center, scale, lo, hi, half), GSL_SUCCESS);
  gsl_matrix *x = gsl_matrix_alloc(1, 1);
  gsl_matrix_set(x, 0, 0, DBL_MAX);
  cr_assert_eq(ndpar_scaler_transform(NULL, s, x), GSL_SUCCESS);
  cr_assert(fabs(gsl_matrix_get(x, 0, 0) - 2.0 / 3.0) < 1e-15, "%.17g", gsl_matrix_get(x, 0, 0));
  ndpar_scaler_free(s);
  /* MINMAX derives its half from min and max; without them its range must be finite */
  s = ndpar_scaler_alloc(NDPAR_SCALE_MINMAX, 1);
  gsl_vector_set(center, 0, -DBL_MAX);
  cr_assert_eq(ndpar_scaler_set_stats(s, center, scale, lo, hi, NULL), GSL_SUCCESS);
  gsl_matrix_set(x, 0, 0, DBL_MAX);
  cr_assert_eq(ndpar_scaler_transform(NULL, s, x), GSL_SUCCESS);
  cr_assert_eq(gsl_matrix_get(x, 0, 0), 1.0);
  gsl_vector_set(scale, 0, 1.5 * DBL_MAX / 2);
  gsl_vector_set(center, 0, DBL_MAX / 2);
  cr_assert_eq(ndpar_scaler_set_stats(s, center, scale, NULL, NULL, NULL), GSL_EINVAL);
  cr_assert(strstr(test_gsl_last_reason(), "min[0] and max[0] are needed") != NULL, "%s", test_gsl_last_reason());
  /* NaN center and scale: a column without values, only with NaN min and max */
  gsl_vector_set(center, 0, NAN);
  gsl_vector_set(scale, 0, NAN);
  cr_assert_eq(ndpar_scaler_set_stats(s, center, scale, lo, hi, NULL), GSL_EDOM);
  cr_assert_eq(ndpar_scaler_set_stats(s, center, scale, NULL, NULL, NULL), GSL_SUCCESS);
  gsl_matrix_set(x, 0, 0, 1.0);
  cr_assert_eq(ndpar_scaler_transform(NULL, s, x), GSL_SUCCESS);
  cr_assert(isnan(gsl_matrix_get(x, 0, 0)));
  /* min without max; lengths; NULLs */
  cr_assert_eq(ndpar_scaler_set_stats(s, center, scale, lo, NULL, NULL), GSL_EINVAL);
  gsl_vector *two = gsl_vector_calloc(2);
  cr_assert_eq(ndpar_scaler_set_stats(s, center, scale, NULL, NULL, two), GSL_EBADLEN);
  cr_assert(strstr(test_gsl_last_reason(), "half") != NULL, "%s", test_gsl_last_reason());
  cr_assert_eq(ndpar_scaler_set_stats(s, center, two, NULL, NULL, NULL), GSL_EBADLEN);
  cr_assert_eq(ndpar_scaler_set_stats(s, NULL, scale, NULL, NULL, NULL), GSL_EFAULT);
  cr_assert_eq(ndpar_scaler_set_stats(s, center, NULL, NULL, NULL, NULL), GSL_EFAULT);
  cr_assert_eq(ndpar_scaler_set_stats(NULL, center, scale, NULL, NULL, NULL), GSL_EFAULT);
  gsl_vector_free(two);
  ndpar_scaler_free(s);
  gsl_matrix_free(x);
  gsl_vector_free(center);
  gsl_vector_free(scale);
  gsl_vector_free(lo);
  gsl_vector_free(hi);
  gsl_vector_free(half);
}
