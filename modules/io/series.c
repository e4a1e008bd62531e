/* series.c: a dated series onto a regular calendar grid, the missing steps filled. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv_format.h"
#include "csv_internal.h"
#include "csv_number.h"
#include "ndpar/ndpar_io.h"
#include "ndpar_internal.h"

/* The grid: dates[0] plus p steps. Fixed units step by a number of seconds; months and
 * years by calendar months from dates[0]'s month, on dates[0]'s day of the month (the
 * month's last day where it is shorter) and its time of day. */
typedef struct {
  double origin;   /* dates[0] */
  double seconds;  /* fixed units: seconds per step; 0 for calendar steps */
  long months;     /* calendar units: months per step */
  long month0;     /* dates[0]'s month, counted from year 0 */
  unsigned day0;   /* dates[0]'s day of the month */
  double tod0;     /* dates[0]'s seconds since midnight */
} grid;

/* Dates beyond this many seconds from the epoch (31.7 million years) are refused: their
 * day numbers and month counts stay far inside a long. */
#define SERIES_MAX_SECONDS 1e15

static const char *unit_name(ndpar_step_unit u) {
  static const char *const names[] = {"second", "minute", "hour", "day", "week", "month", "year"};
  return names[u];
}

/* A day number and the seconds since its midnight of a time in seconds since the epoch. */
static long split_day(double t, double *tod) {
  double day = floor(t / 86400);
  *tod = t - day * 86400;
  return (long)day;
}

static void grid_init(grid *g, double origin, ndpar_step_unit unit, size_t k) {
  static const double unit_seconds[] = {1, 60, 3600, 86400, 604800};
  memset(g, 0, sizeof *g);
  g->origin = origin;
  if (unit <= NDPAR_STEP_WEEK) {
    g->seconds = (double)k * unit_seconds[unit];
    return;
  }
  g->months = (long)k * (unit == NDPAR_STEP_YEAR ? 12 : 1);
  long y;
  unsigned m;
  csv_civil_from_days(split_day(origin, &g->tod0), &y, &m, &g->day0);
  g->month0 = y * 12 + (long)m - 1;
}

/* The date of grid step p. */
static double grid_date(const grid *g, size_t p) {
  if (g->seconds > 0) return g->origin + (double)p * g->seconds;
  long month = g->month0 + (long)p * g->months;
  long y = month >= 0 ? month / 12 : (month - 11) / 12;
  unsigned m = (unsigned)(month - y * 12) + 1;
  unsigned last = csv_days_in_month(y, m);
  unsigned d = g->day0 < last ? g->day0 : last;
  return (double)csv_days_from_civil(y, m, d) * 86400 + g->tod0;
}

/* The step of grid date t (t >= origin), or -1 if t is not on the grid. */
static double grid_step(const grid *g, double t) {
  double p;
  if (g->seconds > 0) {
    p = floor((t - g->origin) / g->seconds + 0.5);
  } else {
    double tod;
    long y;
    unsigned m, d;
    csv_civil_from_days(split_day(t, &tod), &y, &m, &d);
    long diff = y * 12 + (long)m - 1 - g->month0;
    if (diff % g->months != 0) return -1;
    p = (double)(diff / g->months);
  }
  if (p < 0 || grid_date(g, (size_t)p) != t) return -1;
  return p;
}

/* A date as ISO 8601 text for a message (buf: at least CSV_FORMAT_MAX + 1 bytes). */
static void date_text(char *buf, double t) { buf[csv_format_iso_date(buf, t)] = '\0'; }

/* Reports a failure of the data at 0-based row i: into err (line = i + 1), and through
 * GSL_ERROR. */
static int series_fail(ndpar_csv_error *err, int code, size_t i, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int series_fail(ndpar_csv_error *err, int code, size_t i, const char *fmt, ...) {
  char msg[sizeof err->message];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (err) {
    err->code = code;
    err->line = i + 1;
    err->column = 0;
    snprintf(err->message, sizeof err->message, "%s", msg);
  }
  return ndpar_error_fmt(code, __FILE__, __LINE__, "%s", msg);
}

/* Every date finite, strictly after the one before, and on the grid: its step in pos[i]. */
static int place_rows(const gsl_vector *dates, const grid *g, ndpar_step_unit unit, size_t k,
                      size_t *pos, ndpar_csv_error *err) {
  char a[CSV_FORMAT_MAX + 1], b[CSV_FORMAT_MAX + 1];
  for (size_t i = 0; i < dates->size; i++) {
    double t = gsl_vector_get(dates, i);
    if (!(fabs(t) <= SERIES_MAX_SECONDS))
      return series_fail(err, GSL_EINVAL, i,
                         "ndpar_series_regular: data row %zu (dates[%zu]): %g is not a date within +-1e15 s",
                         i + 1, i, t);
    double prev = i ? gsl_vector_get(dates, i - 1) : t;
    date_text(a, t);
    date_text(b, prev);
    if (i && t == prev)
      return series_fail(err, GSL_EINVAL, i,
                         "ndpar_series_regular: data row %zu (dates[%zu]) repeats the date %s of row %zu",
                         i + 1, i, a, i);
    if (i && t < prev)
      return series_fail(err, GSL_EINVAL, i,
                         "ndpar_series_regular: data row %zu (dates[%zu]): %s comes before %s of row %zu "
                         "(dates must increase)",
                         i + 1, i, a, b, i);
    double p = grid_step(g, t);
    date_text(b, g->origin);
    if (p < 0)
      return series_fail(err, GSL_EINVAL, i,
                         "ndpar_series_regular: data row %zu (dates[%zu]): %s is not on the grid of %zu %s%s from %s",
                         i + 1, i, a, k, unit_name(unit), k == 1 ? "" : "s", b);
    pos[i] = (size_t)p;
  }
  return GSL_SUCCESS;
}

/* Row i of the result from the input rows lo (before) and hi (after) around it. */
static void fill_row(const ndpar_series *s, const gsl_matrix *values, size_t i, size_t lo, size_t hi,
                     double tlo, double thi, ndpar_fill fill) {
  double *row = s->values->data + i * s->values->tda;
  const double *v0 = values->data + lo * values->tda, *v1 = values->data + hi * values->tda;
  double dt = gsl_vector_get(s->dates, i) - tlo;
  for (size_t j = 0; j < values->size2; j++) {
    if (fill == NDPAR_FILL_NAN) row[j] = NAN;
    else if (fill == NDPAR_FILL_PREVIOUS) row[j] = v0[j];
    else row[j] = (v1[j] - v0[j]) / (thi - tlo) * dt + v0[j]; /* numpy.interp's form */
  }
}

/* The result: grid dates, input rows at their steps, the steps between filled. */
static void build(ndpar_series *s, const grid *g, const gsl_vector *dates, const gsl_matrix *values,
                  const size_t *pos, ndpar_fill fill) {
  size_t n = s->dates->size, nfilled = 0;
  for (size_t p = 0; p < n; p++) gsl_vector_set(s->dates, p, grid_date(g, p));
  for (size_t i = 0; i < dates->size; i++) {
    memcpy(s->values->data + pos[i] * s->values->tda, values->data + i * values->tda,
           values->size2 * sizeof(double));
    if (i == 0) continue;
    double tlo = gsl_vector_get(dates, i - 1), thi = gsl_vector_get(dates, i);
    for (size_t p = pos[i - 1] + 1; p < pos[i]; p++) {
      fill_row(s, values, p, i - 1, i, tlo, thi, fill);
      s->filled[nfilled++] = p;
    }
  }
  s->nfilled = nfilled;
}

void ndpar_series_free(ndpar_series *s) {
  if (s == NULL) return;
  gsl_vector_free(s->dates);
  gsl_matrix_free(s->values);
  free(s->filled);
  free(s);
}

/* A series of n rows and cols columns with room for n - rows filled positions; NULL if
 * memory is short. */
static ndpar_series *series_new(size_t n, size_t cols, size_t rows) {
  ndpar_series *s = calloc(1, sizeof *s);
  if (s == NULL) return NULL;
  s->values = csv_matrix_new(n, cols);
  s->dates = s->values ? gsl_vector_calloc(n) : NULL;
  s->filled = malloc((n - rows + 1) * sizeof *s->filled);
  if (s->values == NULL || s->dates == NULL || s->filled == NULL) {
    ndpar_series_free(s);
    return NULL;
  }
  return s;
}

int ndpar_series_regular(const gsl_vector *dates, const gsl_matrix *values, ndpar_step_unit unit,
                         size_t k, ndpar_fill fill, ndpar_series **out, ndpar_csv_error *err) {
  NDPAR_REQUIRE(dates != NULL, "ndpar_series_regular: dates is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(values != NULL, "ndpar_series_regular: values is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(out != NULL, "ndpar_series_regular: out is NULL", GSL_EFAULT);
  if ((unsigned)unit > NDPAR_STEP_YEAR)
    NDPAR_ERROR_FMT(GSL_EINVAL, "ndpar_series_regular: unknown step unit %d", (int)unit);
  if ((unsigned)fill > NDPAR_FILL_PREVIOUS)
    NDPAR_ERROR_FMT(GSL_EINVAL, "ndpar_series_regular: unknown fill %d", (int)fill);
  NDPAR_REQUIRE(k > 0, "ndpar_series_regular: k must be > 0", GSL_EINVAL);
  NDPAR_REQUIRE(k <= 1000000000, "ndpar_series_regular: k must be <= 10^9", GSL_EINVAL);
  if (dates->size == 0 || values->size2 == 0 || values->data == NULL)
    NDPAR_ERROR_FMT(GSL_EBADLEN, "ndpar_series_regular: %zu dates and %zu x %zu values: nothing to place",
                    dates->size, values->size1, values->size2);
  if (values->size1 != dates->size)
    NDPAR_ERROR_FMT(GSL_EBADLEN, "ndpar_series_regular: %zu dates but %zu rows of values", dates->size,
                    values->size1);
  grid g;
  grid_init(&g, gsl_vector_get(dates, 0), unit, k);
  size_t *pos = malloc(dates->size * sizeof *pos);
  NDPAR_REQUIRE(pos != NULL, "ndpar_series_regular: out of memory", GSL_ENOMEM);
  int status = place_rows(dates, &g, unit, k, pos, err);
  if (status != GSL_SUCCESS) {
    free(pos);
    return status;
  }
  size_t n = pos[dates->size - 1] + 1, bytes;
  ndpar_series *s = NULL;
  if (ndpar_size_mul3(n, values->size2 + 2, sizeof(double), &bytes))
    s = series_new(n, values->size2, dates->size);
  if (s == NULL) {
    free(pos);
    return series_fail(err, GSL_ENOMEM, dates->size - 1,
                       "ndpar_series_regular: out of memory for a series of %zu steps", n);
  }
  build(s, &g, dates, values, pos, fill);
  free(pos);
  *out = s;
  return GSL_SUCCESS;
}
