/* windows.c: lag windows of a series into caller matrices. */
#include <stdint.h>
#include <string.h>

#include "ndpar/ndpar_io.h"
#include "ndpar_internal.h"

size_t ndpar_windows_count(size_t n, size_t lags, size_t horizon, size_t step) {
  if (lags == 0 || step == 0 || horizon > SIZE_MAX - lags || n < lags + horizon) return 0;
  return (n - lags - horizon) / step + 1;
}

/* Copies series[from .. from + m->size2) into row i of m. */
static void copy_row(const gsl_vector *series, size_t from, gsl_matrix *m, size_t i) {
  double *row = m->data + i * m->tda;
  if (series->stride == 1) {
    memcpy(row, series->data + from, m->size2 * sizeof *row);
    return;
  }
  for (size_t j = 0; j < m->size2; j++) row[j] = series->data[(from + j) * series->stride];
}

int ndpar_windows(const gsl_vector *series, size_t lags, size_t horizon, size_t step,
                  gsl_matrix *x, gsl_matrix *y) {
  NDPAR_REQUIRE(series != NULL, "ndpar_windows: series is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(x != NULL, "ndpar_windows: x is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(y != NULL || horizon == 0, "ndpar_windows: y is NULL and horizon > 0", GSL_EFAULT);
  NDPAR_REQUIRE(lags > 0, "ndpar_windows: lags must be > 0", GSL_EINVAL);
  NDPAR_REQUIRE(step > 0, "ndpar_windows: step must be > 0", GSL_EINVAL);
  size_t count = ndpar_windows_count(series->size, lags, horizon, step);
  if (count == 0)
    NDPAR_ERROR_FMT(GSL_EINVAL, "ndpar_windows: a series of %zu values has no window of %zu lags and horizon %zu",
                    series->size, lags, horizon);
  if (x->size1 != count || x->size2 != lags)
    NDPAR_ERROR_FMT(GSL_EBADLEN, "ndpar_windows: x is %zu x %zu, expected %zu x %zu", x->size1,
                    x->size2, count, lags);
  if (y != NULL && (y->size1 != count || y->size2 != horizon))
    NDPAR_ERROR_FMT(GSL_EBADLEN, "ndpar_windows: y is %zu x %zu, expected %zu x %zu", y->size1,
                    y->size2, count, horizon);
  if (y != NULL && ndpar_matrices_overlap(x, y))
    NDPAR_ERROR_FMT(GSL_EINVAL, "ndpar_windows: x and y share memory");
  for (size_t w = 0; w < count; w++) {
    copy_row(series, w * step, x, w);
    if (y != NULL && horizon > 0) copy_row(series, w * step + lags, y, w);
  }
  return GSL_SUCCESS;
}
