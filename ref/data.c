/* data.c: the default workload's data: the bundled series, read and windowed with ndpar's io
 * module (ndpar_csv_read, ndpar_windows). */
#include "ref/wl.h"

#include "ndpar/ndpar_io.h"

#include <gsl/gsl_errno.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

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

/* The named column of a CSV file, strictly: a missing value or a non-finite number is an
 * error, with the file, line and field in err (ndpar_csv_read's messages). */
static int read_column(const char *path, const char *column, gsl_matrix **out, char *err, size_t errlen) {
  ndpar_csv_options opt;
  ndpar_csv_options_init(&opt);
  const char *const names[] = {column};
  opt.columns = names;
  opt.ncolumns = 1;
  opt.missing_is_error = 1;
  ndpar_csv_error e;
  /* The caller gets a code and a message, never GSL's abort. */
  gsl_error_handler_t *old = gsl_set_error_handler_off();
  int status = ndpar_csv_read(NULL, path, &opt, out, NULL, &e);
  gsl_set_error_handler(old);
  if (status) return fail(err, errlen, status, "%s", e.message);
  for (size_t i = 0; i < (*out)->size1; i++)
    if (!isfinite(gsl_matrix_get(*out, i, 0))) {
      status = fail(err, errlen, GSL_EINVAL, "%s: data row %zu of \"%s\" is not a finite number", path,
                    i + 1, column);
      gsl_matrix_free(*out);
      return status;
    }
  return GSL_SUCCESS;
}

void wl_series_path(const char *data_dir, char *path, size_t len) {
  snprintf(path, len, "%s/seattle-weather-hourly-normals.csv", wl_data_dir(data_dir));
}

int wl_series(const char *data_dir, gsl_vector **series, char *err, size_t errlen) {
  char path[4096];
  wl_series_path(data_dir, path, sizeof path);
  gsl_matrix *temperature = NULL;
  int status = read_column(path, "temperature", &temperature, err, errlen);
  if (status) return status;
  gsl_vector *v = gsl_vector_alloc(temperature->size1);
  if (v) gsl_matrix_get_col(v, temperature, 0);
  gsl_matrix_free(temperature);
  if (!v) return fail(err, errlen, GSL_ENOMEM, "%s: no memory for the series", path);
  *series = v;
  return GSL_SUCCESS;
}

int wl_windows_of(const gsl_vector *series, const char *name, size_t lags, size_t horizon,
                  gsl_matrix **x, gsl_matrix **y, char *err, size_t errlen) {
  size_t n = ndpar_windows_count(series->size, lags, horizon, 1);
  if (n == 0 || horizon == 0)
    return fail(err, errlen, GSL_EINVAL, "%s: too short for %zu lags and horizon %zu", name, lags,
                horizon);
  gsl_matrix *xm = gsl_matrix_alloc(n, lags), *ym = gsl_matrix_alloc(n, horizon);
  int status = xm && ym ? ndpar_windows(series, lags, horizon, 1, xm, ym) : GSL_ENOMEM;
  if (status) {
    gsl_matrix_free(xm);
    gsl_matrix_free(ym);
    return fail(err, errlen, status, "%s: cannot build %zu windows", name, n);
  }
  *x = xm;
  *y = ym;
  return GSL_SUCCESS;
}

int wl_default_windows(const char *data_dir, size_t lags, size_t horizon, gsl_matrix **x,
                       gsl_matrix **y, char *err, size_t errlen) {
  char path[4096];
  wl_series_path(data_dir, path, sizeof path);
  gsl_vector *series = NULL;
  int status = wl_series(data_dir, &series, err, errlen);
  if (status) return status;
  wl_standardize(series);
  status = wl_windows_of(series, path, lags, horizon, x, y, err, errlen);
  gsl_vector_free(series);
  return status;
}
