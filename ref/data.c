/* data.c: the strict CSV loader and the windows of the default workload. */
#include "ref/wl.h"

#include <errno.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef NDPAR_BUILD_DATA_DIR
#define NDPAR_BUILD_DATA_DIR "data"
#endif

static int fail(char *err, size_t errlen, int code, const char *fmt, ...) {
  if (err && errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return code;
}

/* Splits line in place at commas; returns the field count (at most max). */
static size_t split_fields(char *line, char **fields, size_t max) {
  size_t n = 0;
  char *p = line;
  for (;;) {
    if (n < max) fields[n] = p;
    n++;
    char *comma = strchr(p, ',');
    if (comma == NULL) break;
    *comma = '\0';
    p = comma + 1;
  }
  return n;
}

static void chomp(char *s) {
  size_t len = strlen(s);
  while (len && (s[len - 1] == '\n' || s[len - 1] == '\r')) s[--len] = '\0';
}

#define MAX_FIELDS 64

int wl_csv_column(const char *path, const char *column, gsl_vector **out, char *err,
                  size_t errlen) {
  FILE *f = fopen(path, "r");
  if (f == NULL) return fail(err, errlen, GSL_EFAILED, "%s: cannot open: %s", path, strerror(errno));
  char *line = NULL;
  size_t cap = 0, nfields = 0, col = 0, lineno = 1, n = 0, size = 1024;
  char *fields[MAX_FIELDS];
  double *values = NULL;
  int status = GSL_SUCCESS;
  if (getline(&line, &cap, f) < 0) {
    status = fail(err, errlen, GSL_EINVAL, "%s: empty file, expected a header line", path);
    goto done;
  }
  chomp(line);
  nfields = split_fields(line, fields, MAX_FIELDS);
  if (nfields > MAX_FIELDS) {
    status = fail(err, errlen, GSL_EINVAL, "%s:1: more than %d columns", path, MAX_FIELDS);
    goto done;
  }
  for (col = 0; col < nfields && strcmp(fields[col], column) != 0; col++) {
  }
  if (col == nfields) {
    status = fail(err, errlen, GSL_EINVAL, "%s:1: no column named \"%s\" in the header", path, column);
    goto done;
  }
  values = malloc(size * sizeof *values);
  if (values == NULL) {
    status = fail(err, errlen, GSL_ENOMEM, "%s: out of memory", path);
    goto done;
  }
  while (getline(&line, &cap, f) >= 0) {
    lineno++;
    chomp(line);
    size_t got = split_fields(line, fields, MAX_FIELDS);
    if (got != nfields) {
      status = fail(err, errlen, GSL_EINVAL, "%s:%zu: %zu fields, the header has %zu", path,
                    lineno, got, nfields);
      goto done;
    }
    char *end;
    errno = 0;
    double v = strtod(fields[col], &end);
    if (fields[col][0] == '\0' || *end != '\0' || errno == ERANGE || !isfinite(v)) {
      status = fail(err, errlen, GSL_EINVAL, "%s:%zu: column %zu (\"%s\"): \"%s\" is not a finite number",
                    path, lineno, col + 1, column, fields[col]);
      goto done;
    }
    if (n == size) {
      double *grown = realloc(values, 2 * size * sizeof *values);
      if (grown == NULL) {
        status = fail(err, errlen, GSL_ENOMEM, "%s: out of memory", path);
        goto done;
      }
      values = grown;
      size *= 2;
    }
    values[n++] = v;
  }
  if (n == 0) {
    status = fail(err, errlen, GSL_EINVAL, "%s: no data lines after the header", path);
    goto done;
  }
  gsl_vector *v = gsl_vector_alloc(n);
  if (v == NULL) {
    status = fail(err, errlen, GSL_ENOMEM, "%s: out of memory", path);
    goto done;
  }
  memcpy(v->data, values, n * sizeof *values);
  *out = v;
done:
  free(values);
  free(line);
  fclose(f);
  return status;
}

int wl_windows(const gsl_vector *series, size_t lags, size_t horizon, gsl_matrix **x,
               gsl_matrix **y) {
  if (lags == 0 || horizon == 0 || series->size < lags + horizon) return GSL_EINVAL;
  size_t rows = series->size - lags - horizon + 1;
  gsl_matrix *xm = gsl_matrix_alloc(rows, lags), *ym = gsl_matrix_alloc(rows, horizon);
  if (xm == NULL || ym == NULL) {
    gsl_matrix_free(xm);
    gsl_matrix_free(ym);
    return GSL_ENOMEM;
  }
  for (size_t t = 0; t < rows; t++) {
    for (size_t j = 0; j < lags; j++) gsl_matrix_set(xm, t, j, gsl_vector_get(series, t + j));
    for (size_t j = 0; j < horizon; j++)
      gsl_matrix_set(ym, t, j, gsl_vector_get(series, t + lags + j));
  }
  *x = xm;
  *y = ym;
  return GSL_SUCCESS;
}

void wl_standardize(gsl_vector *v) {
  double mean = gsl_stats_mean(v->data, v->stride, v->size);
  double sd = v->size > 1 ? gsl_stats_sd_m(v->data, v->stride, v->size, mean) : 0;
  gsl_vector_add_constant(v, -mean);
  if (sd > 0) gsl_vector_scale(v, 1.0 / sd);
}

const char *wl_data_dir(const char *data_dir) {
  if (data_dir) return data_dir;
  const char *env = getenv("NDPAR_DATA_DIR");
  return env && *env ? env : NDPAR_BUILD_DATA_DIR;
}

int wl_default_windows(const char *data_dir, size_t lags, size_t horizon, gsl_matrix **x,
                       gsl_matrix **y, char *err, size_t errlen) {
  char path[4096];
  snprintf(path, sizeof path, "%s/seattle-weather-hourly-normals.csv", wl_data_dir(data_dir));
  gsl_vector *temperature = NULL;
  int status = wl_csv_column(path, "temperature", &temperature, err, errlen);
  if (status) return status;
  wl_standardize(temperature);
  status = wl_windows(temperature, lags, horizon, x, y);
  gsl_vector_free(temperature);
  if (status) return fail(err, errlen, status, "%s: too short for %zu lags and horizon %zu", path, lags, horizon);
  return GSL_SUCCESS;
}
