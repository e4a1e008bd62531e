/* Tests of ndpar_series_regular: the bundled CO2 series against pandas' asfreq("MS") and
 * interpolate(method="time"), calendar steps against timegm, random gaps against a
 * reference fill, and every error with its row. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ndpar/ndpar_io.h"
#include "test_util.h"

TestSuite(series);

/* Seconds since the epoch of a UTC civil time (timegm: an independent calendar). */
static double utc(int y, int mo, int d, int h, int mi, int s) {
  struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = s};
  return (double)timegm(&tm);
}

static gsl_matrix *read_co2(void) {
  gsl_matrix *x = NULL;
  ndpar_csv_error err;
  cr_assert_eq(ndpar_csv_read(NULL, NDPAR_TEST_DATA_DIR "/co2-concentration.csv", NULL, &x, NULL, &err),
               GSL_SUCCESS, "%s", err.message);
  return x;
}

static int regular(const gsl_matrix *x, ndpar_step_unit unit, size_t k, ndpar_fill fill, ndpar_series **s,
                   ndpar_csv_error *err) {
  gsl_vector_const_view d = gsl_matrix_const_column(x, 0);
  gsl_matrix_const_view v = gsl_matrix_const_submatrix(x, 0, 1, x->size1, x->size2 - 1);
  return ndpar_series_regular(&d.vector, &v.matrix, unit, k, fill, s, err);
}

/* /usr/bin/python3: df = pd.read_csv(co2, parse_dates=["Date"]).set_index("Date");
 * df.asfreq("MS").interpolate(method="time") at the rows asfreq left empty (pandas 1.5.3). */
static const struct {
  size_t row;
  int y, m;
  double co2, adjusted;
} co2_pandas[] = {
    {3, 1958, 6, 316.6714754098361, 314.9539344262295},   {7, 1958, 10, 313.2690163934426, 315.6472131147541},
    {71, 1964, 2, 320.259173553719, 319.496694214876},    {72, 1964, 3, 320.9038842975207, 319.4655371900826},
    {73, 1964, 4, 321.5930578512397, 319.43223140495866},
};

Test(series, co2_months_filled_as_pandas_asfreq_interpolate_time) {
  gsl_matrix *x = read_co2();
  ndpar_series *s = NULL;
  ndpar_csv_error err;
  cr_assert_eq(regular(x, NDPAR_STEP_MONTH, 1, NDPAR_FILL_LINEAR, &s, &err), GSL_SUCCESS, "%s", err.message);
  cr_assert_eq(s->dates->size, 746); /* pandas: len(df.asfreq("MS")) */
  cr_assert_eq(s->values->size1, 746);
  cr_assert_eq(s->values->size2, 2);
  cr_assert_eq(s->nfilled, 5);
  for (size_t i = 0; i < 5; i++) {
    size_t r = co2_pandas[i].row;
    cr_assert_eq(s->filled[i], r);
    cr_assert_eq(gsl_vector_get(s->dates, r), utc(co2_pandas[i].y, co2_pandas[i].m, 1, 0, 0, 0));
    /* numpy.interp's formula on seconds, pandas' on nanoseconds: within 2 ulp */
    cr_assert_float_eq(gsl_matrix_get(s->values, r, 0), co2_pandas[i].co2, 1.2e-13, "row %zu", r);
    cr_assert_float_eq(gsl_matrix_get(s->values, r, 1), co2_pandas[i].adjusted, 1.2e-13, "row %zu", r);
  }
  /* every date the first of a month at midnight, one month after the one before */
  for (size_t i = 0; i < s->dates->size; i++) {
    time_t t = (time_t)gsl_vector_get(s->dates, i);
    struct tm tm;
    gmtime_r(&t, &tm);
    cr_assert_eq(gsl_vector_get(s->dates, i), utc(1958 + (int)(i + 2) / 12, (int)(i + 2) % 12 + 1, 1, 0, 0, 0),
                 "row %zu", i);
  }
  /* the rows present, bit for bit, in order */
  size_t in = 0;
  for (size_t i = 0; i < s->dates->size; i++) {
    int filled = 0;
    for (size_t f = 0; f < s->nfilled; f++) filled |= s->filled[f] == i;
    if (filled) continue;
    cr_assert_eq(gsl_vector_get(s->dates, i), gsl_matrix_get(x, in, 0));
    cr_assert_eq(gsl_matrix_get(s->values, i, 0), gsl_matrix_get(x, in, 1));
    cr_assert_eq(gsl_matrix_get(s->values, i, 1), gsl_matrix_get(x, in, 2));
    in++;
  }
  cr_assert_eq(in, x->size1);
  ndpar_series_free(s);
  gsl_matrix_free(x);
}

Test(series, co2_nan_and_previous_fills) {
  gsl_matrix *x = read_co2();
  ndpar_series *nan_fill = NULL, *prev = NULL;
  cr_assert_eq(regular(x, NDPAR_STEP_MONTH, 1, NDPAR_FILL_NAN, &nan_fill, NULL), GSL_SUCCESS);
  cr_assert_eq(regular(x, NDPAR_STEP_MONTH, 1, NDPAR_FILL_PREVIOUS, &prev, NULL), GSL_SUCCESS);
  cr_assert_eq(nan_fill->nfilled, 5);
  for (size_t i = 0; i < 5; i++) {
    size_t r = co2_pandas[i].row;
    cr_assert(isnan(gsl_matrix_get(nan_fill->values, r, 0)) && isnan(gsl_matrix_get(nan_fill->values, r, 1)));
    /* the row before the gap: 3 -> input row 2, 7 -> 5, 71..73 -> 68 */
    size_t before = r == 3 ? 2 : r == 7 ? 5 : 68;
    cr_assert_eq(gsl_matrix_get(prev->values, r, 0), gsl_matrix_get(x, before, 1));
    cr_assert_eq(gsl_matrix_get(prev->values, r, 1), gsl_matrix_get(x, before, 2));
  }
  ndpar_series_free(nan_fill);
  ndpar_series_free(prev);
  gsl_matrix_free(x);
}

/* A series of the given dates (rows) and values v[i][j] = i + j / 8. */
static void make_series(const double *dates, size_t n, size_t cols, gsl_vector **d, gsl_matrix **v) {
  *d = gsl_vector_alloc(n);
  *v = gsl_matrix_alloc(n, cols);
  for (size_t i = 0; i < n; i++) {
    gsl_vector_set(*d, i, dates[i]);
    for (size_t j = 0; j < cols; j++) gsl_matrix_set(*v, i, j, (double)i + (double)j / 8);
  }
}

Test(series, month_ends_clamp_to_shorter_months) {
  const double dates[] = {utc(2020, 1, 31, 6, 30, 0), utc(2020, 2, 29, 6, 30, 0), utc(2020, 3, 31, 6, 30, 0),
                          utc(2020, 5, 31, 6, 30, 0), utc(2021, 2, 28, 6, 30, 0)};
  gsl_vector *d;
  gsl_matrix *v;
  make_series(dates, 5, 1, &d, &v);
  ndpar_series *s = NULL;
  ndpar_csv_error err;
  cr_assert_eq(ndpar_series_regular(d, v, NDPAR_STEP_MONTH, 1, NDPAR_FILL_LINEAR, &s, &err), GSL_SUCCESS, "%s",
               err.message);
  cr_assert_eq(s->dates->size, 14);
  static const int days[14] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31, 31, 28};
  for (size_t i = 0; i < 14; i++)
    cr_assert_eq(gsl_vector_get(s->dates, i), utc(2020 + (int)i / 12, (int)i % 12 + 1, days[i], 6, 30, 0), "%zu", i);
  cr_assert_eq(s->nfilled, 14 - 5);
  cr_assert_eq(s->filled[0], 3);
  /* April 30 between March 31 (value 2) and May 31 (value 3): 30 of the 61 days */
  cr_assert_float_eq(gsl_matrix_get(s->values, 3, 0), 2 + 30.0 / 61, 1e-15);
  ndpar_series_free(s);
  /* yearly from a 29 February: 28 February in common years, 29 in leap years */
  const double leap[] = {utc(2020, 2, 29, 0, 0, 0), utc(2024, 2, 29, 0, 0, 0)};
  gsl_vector_view lv = gsl_vector_view_array((double *)leap, 2);
  gsl_matrix_view vv = gsl_matrix_submatrix(v, 0, 0, 2, 1);
  cr_assert_eq(ndpar_series_regular(&lv.vector, &vv.matrix, NDPAR_STEP_YEAR, 1, NDPAR_FILL_NAN, &s, &err),
               GSL_SUCCESS, "%s", err.message);
  cr_assert_eq(s->dates->size, 5);
  cr_assert_eq(gsl_vector_get(s->dates, 1), utc(2021, 2, 28, 0, 0, 0));
  cr_assert_eq(gsl_vector_get(s->dates, 3), utc(2023, 2, 28, 0, 0, 0));
  cr_assert_eq(gsl_vector_get(s->dates, 4), utc(2024, 2, 29, 0, 0, 0));
  ndpar_series_free(s);
  /* every 3 months (quarters) and every 2 years across 1970, before and after the epoch */
  const double q[] = {utc(1969, 11, 1, 0, 0, 0), utc(1970, 5, 1, 0, 0, 0)};
  lv = gsl_vector_view_array((double *)q, 2);
  cr_assert_eq(ndpar_series_regular(&lv.vector, &vv.matrix, NDPAR_STEP_MONTH, 3, NDPAR_FILL_LINEAR, &s, &err),
               GSL_SUCCESS, "%s", err.message);
  cr_assert_eq(s->dates->size, 3);
  cr_assert_eq(gsl_vector_get(s->dates, 1), utc(1970, 2, 1, 0, 0, 0));
  ndpar_series_free(s);
  const double y2[] = {utc(1961, 7, 4, 12, 0, 0), utc(1971, 7, 4, 12, 0, 0)};
  lv = gsl_vector_view_array((double *)y2, 2);
  cr_assert_eq(ndpar_series_regular(&lv.vector, &vv.matrix, NDPAR_STEP_YEAR, 2, NDPAR_FILL_LINEAR, &s, &err),
               GSL_SUCCESS, "%s", err.message);
  cr_assert_eq(s->dates->size, 6);
  for (size_t i = 0; i < 6; i++)
    cr_assert_eq(gsl_vector_get(s->dates, i), utc(1961 + 2 * (int)i, 7, 4, 12, 0, 0));
  ndpar_series_free(s);
  gsl_vector_free(d);
  gsl_matrix_free(v);
}

/* Random gaps on a fixed-length grid against a reference fill computed here. */
static void check_random_gaps(gsl_rng *r, ndpar_step_unit unit, double unit_seconds, size_t k, size_t steps,
                              size_t cols, ndpar_fill fill) {
  double origin = -1e9 + (double)gsl_rng_uniform_int(r, 2000000000);
  double step = unit_seconds * (double)k;
  /* which steps are present: the first and the last always */
  char *present = malloc(steps);
  size_t n = 0;
  for (size_t p = 0; p < steps; p++) {
    present[p] = p == 0 || p + 1 == steps || gsl_rng_uniform(r) < 0.6;
    n += (size_t)present[p];
  }
  gsl_vector *d = gsl_vector_alloc(n);
  gsl_matrix *v = gsl_matrix_alloc(n, cols);
  for (size_t p = 0, i = 0; p < steps; p++) {
    if (!present[p]) continue;
    gsl_vector_set(d, i, origin + (double)p * step);
    for (size_t j = 0; j < cols; j++) gsl_matrix_set(v, i, j, gsl_rng_uniform(r) * 100 - 50);
    i++;
  }
  ndpar_series *s = NULL;
  ndpar_csv_error err;
  cr_assert_eq(ndpar_series_regular(d, v, unit, k, fill, &s, &err), GSL_SUCCESS, "%s", err.message);
  cr_assert_eq(s->dates->size, steps);
  cr_assert_eq(s->nfilled, steps - n);
  size_t i = 0, f = 0;
  for (size_t p = 0; p < steps; p++) {
    double t = origin + (double)p * step;
    cr_assert_eq(gsl_vector_get(s->dates, p), t);
    if (present[p]) {
      for (size_t j = 0; j < cols; j++) cr_assert_eq(gsl_matrix_get(s->values, p, j), gsl_matrix_get(v, i, j));
      i++;
      continue;
    }
    cr_assert_eq(s->filled[f++], p);
    double t0 = gsl_vector_get(d, i - 1), t1 = gsl_vector_get(d, i);
    for (size_t j = 0; j < cols; j++) {
      double v0 = gsl_matrix_get(v, i - 1, j), v1 = gsl_matrix_get(v, i, j), got = gsl_matrix_get(s->values, p, j);
      if (fill == NDPAR_FILL_NAN) cr_assert(isnan(got));
      else if (fill == NDPAR_FILL_PREVIOUS) cr_assert_eq(got, v0);
      else cr_assert_float_eq(got, v0 + (v1 - v0) * (t - t0) / (t1 - t0), 1e-12, "step %zu col %zu", p, j);
    }
  }
  ndpar_series_free(s);
  gsl_vector_free(d);
  gsl_matrix_free(v);
  free(present);
}

Test(series, random_gaps_at_fixed_steps_match_a_reference) {
  gsl_rng *r = test_rng();
  static const struct {
    ndpar_step_unit unit;
    double seconds;
  } units[] = {{NDPAR_STEP_SECOND, 1},    {NDPAR_STEP_MINUTE, 60},  {NDPAR_STEP_HOUR, 3600},
               {NDPAR_STEP_DAY, 86400},   {NDPAR_STEP_WEEK, 604800}};
  static const size_t steps[] = {1, 2, 3, 17, 1000, 100000};
  for (size_t u = 0; u < 5; u++)
    for (size_t s = 0; s < sizeof steps / sizeof *steps; s++)
      for (ndpar_fill fill = NDPAR_FILL_LINEAR; fill <= NDPAR_FILL_PREVIOUS; fill++)
        check_random_gaps(r, units[u].unit, units[u].seconds, 1 + gsl_rng_uniform_int(r, 5), steps[s],
                          1 + gsl_rng_uniform_int(r, 4), fill);
  gsl_rng_free(r);
}

Test(series, a_nan_value_present_stays_nan) {
  const double dates[] = {0, 7200};
  gsl_vector *d;
  gsl_matrix *v;
  make_series(dates, 2, 2, &d, &v);
  gsl_matrix_set(v, 0, 0, NAN);
  ndpar_series *s = NULL;
  cr_assert_eq(ndpar_series_regular(d, v, NDPAR_STEP_HOUR, 1, NDPAR_FILL_LINEAR, &s, NULL), GSL_SUCCESS);
  cr_assert(isnan(gsl_matrix_get(s->values, 0, 0)));
  cr_assert(isnan(gsl_matrix_get(s->values, 1, 0))); /* interpolated from a NaN */
  cr_assert_float_eq(gsl_matrix_get(s->values, 1, 1), 0.125 + 0.5, 1e-15);
  ndpar_series_free(s);
  /* one row: itself */
  gsl_vector_view one = gsl_vector_subvector(d, 0, 1);
  gsl_matrix_view onev = gsl_matrix_submatrix(v, 0, 0, 1, 2);
  cr_assert_eq(ndpar_series_regular(&one.vector, &onev.matrix, NDPAR_STEP_DAY, 1, NDPAR_FILL_LINEAR, &s, NULL),
               GSL_SUCCESS);
  cr_assert_eq(s->dates->size, 1);
  cr_assert_eq(s->nfilled, 0);
  ndpar_series_free(s);
  gsl_vector_free(d);
  gsl_matrix_free(v);
}

/* An error of the data: its code, the 1-based row in err, a message naming the row, *out
 * untouched. */
static void expect_row_error(const double *dates, size_t n, ndpar_step_unit unit, size_t k, int code, size_t row,
                             const char *text) {
  gsl_vector *d;
  gsl_matrix *v;
  make_series(dates, n, 1, &d, &v);
  ndpar_series *s = (ndpar_series *)&s;
  ndpar_csv_error err;
  memset(&err, 0, sizeof err);
  test_quiet_gsl_errors();
  size_t before = test_gsl_error_count();
  cr_assert_eq(ndpar_series_regular(d, v, unit, k, NDPAR_FILL_LINEAR, &s, &err), code);
  cr_assert_eq(test_gsl_error_count(), before + 1);
  cr_assert_eq(s, (ndpar_series *)&s, "out untouched");
  cr_assert_eq(err.code, code);
  cr_assert_eq(err.line, row, "line %zu, expected %zu: %s", err.line, row, err.message);
  cr_assert_eq(err.column, 0);
  cr_assert_not_null(strstr(err.message, text), "\"%s\" lacks \"%s\"", err.message, text);
  cr_assert_str_eq(test_gsl_last_reason(), err.message);
  gsl_vector_free(d);
  gsl_matrix_free(v);
}

Test(series, duplicate_unordered_and_off_grid_dates_name_the_row) {
  double m[] = {utc(1958, 3, 1, 0, 0, 0), utc(1958, 4, 1, 0, 0, 0), utc(1958, 5, 1, 0, 0, 0),
                utc(1958, 7, 1, 0, 0, 0), utc(1958, 7, 1, 0, 0, 0)};
  expect_row_error(m, 5, NDPAR_STEP_MONTH, 1, GSL_EINVAL, 5,
                   "data row 5 (dates[4]) repeats the date 1958-07-01 of row 4");
  m[4] = utc(1958, 6, 1, 0, 0, 0);
  expect_row_error(m, 5, NDPAR_STEP_MONTH, 1, GSL_EINVAL, 5,
                   "data row 5 (dates[4]): 1958-06-01 comes before 1958-07-01 of row 4");
  m[4] = utc(1958, 7, 15, 0, 0, 0);
  expect_row_error(m, 5, NDPAR_STEP_MONTH, 1, GSL_EINVAL, 5,
                   "data row 5 (dates[4]): 1958-07-15 is not on the grid of 1 month from 1958-03-01");
  m[4] = utc(1958, 8, 1, 0, 0, 1);
  expect_row_error(m, 5, NDPAR_STEP_MONTH, 1, GSL_EINVAL, 5, "1958-08-01T00:00:01 is not on the grid");
  /* every 2 months from March: May and July, not April */
  expect_row_error(m, 2, NDPAR_STEP_MONTH, 2, GSL_EINVAL, 2, "1958-04-01 is not on the grid of 2 months");
  double h[] = {0, 3600, 5400};
  expect_row_error(h, 3, NDPAR_STEP_HOUR, 1, GSL_EINVAL, 3, "1970-01-01T01:30:00 is not on the grid of 1 hour");
  h[1] = NAN;
  expect_row_error(h, 3, NDPAR_STEP_HOUR, 1, GSL_EINVAL, 2, "data row 2 (dates[1]): nan is not a date");
  h[1] = INFINITY;
  expect_row_error(h, 3, NDPAR_STEP_HOUR, 1, GSL_EINVAL, 2, "inf is not a date");
  h[0] = -2e15;
  expect_row_error(h, 3, NDPAR_STEP_HOUR, 1, GSL_EINVAL, 1, "data row 1 (dates[0]): -2e+15 is not a date");
}

Test(series, argument_errors_leave_out_untouched) {
  const double dates[] = {0, 86400};
  gsl_vector *d;
  gsl_matrix *v;
  make_series(dates, 2, 1, &d, &v);
  ndpar_series *s = (ndpar_series *)&s;
  test_quiet_gsl_errors();
  cr_assert_eq(ndpar_series_regular(NULL, v, NDPAR_STEP_DAY, 1, NDPAR_FILL_LINEAR, &s, NULL), GSL_EFAULT);
  cr_assert_eq(ndpar_series_regular(d, NULL, NDPAR_STEP_DAY, 1, NDPAR_FILL_LINEAR, &s, NULL), GSL_EFAULT);
  cr_assert_eq(ndpar_series_regular(d, v, NDPAR_STEP_DAY, 1, NDPAR_FILL_LINEAR, NULL, NULL), GSL_EFAULT);
  cr_assert_eq(ndpar_series_regular(d, v, NDPAR_STEP_DAY, 0, NDPAR_FILL_LINEAR, &s, NULL), GSL_EINVAL);
  cr_assert_eq(ndpar_series_regular(d, v, (ndpar_step_unit)7, 1, NDPAR_FILL_LINEAR, &s, NULL), GSL_EINVAL);
  cr_assert_eq(ndpar_series_regular(d, v, (ndpar_step_unit)-1, 1, NDPAR_FILL_LINEAR, &s, NULL), GSL_EINVAL);
  cr_assert_eq(ndpar_series_regular(d, v, NDPAR_STEP_DAY, 1, (ndpar_fill)3, &s, NULL), GSL_EINVAL);
  gsl_matrix_view one = gsl_matrix_submatrix(v, 0, 0, 1, 1);
  cr_assert_eq(ndpar_series_regular(d, &one.matrix, NDPAR_STEP_DAY, 1, NDPAR_FILL_LINEAR, &s, NULL), GSL_EBADLEN);
  gsl_vector empty = {0};
  cr_assert_eq(ndpar_series_regular(&empty, v, NDPAR_STEP_DAY, 1, NDPAR_FILL_LINEAR, &s, NULL), GSL_EBADLEN);
  cr_assert_eq(s, (ndpar_series *)&s);
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__) /* (sanitizers abort on a request this large) */
  /* a grid too long to hold: seconds from 0 to 1e15 */
  gsl_vector_set(d, 1, 1e15);
  ndpar_csv_error err;
  cr_assert_eq(ndpar_series_regular(d, v, NDPAR_STEP_SECOND, 1, NDPAR_FILL_LINEAR, &s, &err), GSL_ENOMEM);
  cr_assert_eq(s, (ndpar_series *)&s);
  cr_assert_eq(err.code, GSL_ENOMEM);
#endif
  ndpar_series_free(NULL);
  gsl_vector_free(d);
  gsl_matrix_free(v);
}
