/* series_read.c: the shortest ways from a file to a model's rows: a dated CSV file onto a
 * regular grid in one call, and lag windows into new matrices. */
#include "ndpar/ndpar_io.h"
#include "ndpar_internal.h"

int ndpar_series_read(ndpar_pool *p, const char *path, const ndpar_csv_options *opt,
                      ndpar_step_unit unit, size_t k, ndpar_fill fill, ndpar_series **out,
                      ndpar_csv_error *err) {
  NDPAR_REQUIRE(path != NULL, "ndpar_series_read: path is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(out != NULL, "ndpar_series_read: out is NULL", GSL_EFAULT);
  ndpar_csv_options defaults;
  ndpar_csv_options_init(&defaults);
  gsl_matrix *raw = NULL;
  int status = ndpar_csv_read(p, path, opt != NULL ? opt : &defaults, &raw, NULL, err);
  if (status) return status;
  if (raw->size2 < 2) {
    size_t cols = raw->size2;
    gsl_matrix_free(raw);
    NDPAR_ERROR_FMT(GSL_EBADLEN, "ndpar_series_read: path %s has %zu column(s) read; needs the dates and at least one value column",
                    path, cols);
  }
  gsl_vector_const_view dates = gsl_matrix_const_column(raw, 0);
  gsl_matrix_const_view values = gsl_matrix_const_submatrix(raw, 0, 1, raw->size1, raw->size2 - 1);
  status = ndpar_series_regular(&dates.vector, &values.matrix, unit, k, fill, out, err);
  gsl_matrix_free(raw);
  return status;
}

int ndpar_windows_alloc(const gsl_vector *series, size_t lags, size_t horizon, size_t step,
                        gsl_matrix **x, gsl_matrix **y) {
  NDPAR_REQUIRE(series != NULL, "ndpar_windows_alloc: series is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(x != NULL, "ndpar_windows_alloc: x is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(y != NULL, "ndpar_windows_alloc: y is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(x != y, "ndpar_windows_alloc: x and y are the same pointer", GSL_EINVAL);
  NDPAR_REQUIRE(lags > 0, "ndpar_windows_alloc: lags must be > 0", GSL_EINVAL);
  NDPAR_REQUIRE(horizon > 0, "ndpar_windows_alloc: horizon must be > 0", GSL_EINVAL);
  NDPAR_REQUIRE(step > 0, "ndpar_windows_alloc: step must be > 0", GSL_EINVAL);
  size_t count = ndpar_windows_count(series->size, lags, horizon, step);
  if (count == 0)
    NDPAR_ERROR_FMT(GSL_EINVAL, "ndpar_windows_alloc: a series of %zu values has no window of %zu lags and horizon %zu",
                    series->size, lags, horizon);
  size_t elems;
  NDPAR_REQUIRE(ndpar_size_mul(count, lags + horizon, &elems), "ndpar_windows_alloc: the windows of series overflow a size_t", GSL_EINVAL);
  gsl_matrix *xs = gsl_matrix_alloc(count, lags);
  gsl_matrix *ys = xs != NULL ? gsl_matrix_alloc(count, horizon) : NULL;
  if (ys == NULL) {
    gsl_matrix_free(xs);
    GSL_ERROR("ndpar_windows_alloc: out of memory", GSL_ENOMEM);
  }
  int status = ndpar_windows(series, lags, horizon, step, xs, ys);
  if (status) {
    gsl_matrix_free(xs);
    gsl_matrix_free(ys);
    return status;
  }
  *x = xs;
  *y = ys;
  return GSL_SUCCESS;
}
