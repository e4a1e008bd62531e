/* ridge_grid [CSV]: ridge regression on 24-hour lags of the Seattle temperatures, scaled per
 * fold, over 5 weekly time-series folds for 6 alphas, every (alpha, fold) pair in parallel. */
#include <stdio.h>
#include <gsl/gsl_blas.h>
#include <gsl/gsl_math.h>
#include <gsl/gsl_multifit.h>
#include <gsl/gsl_statistics_double.h>
#include <ndpar/ndpar.h>

static int fit_ridge(const void *pa, size_t candidate, const gsl_matrix *xtr,
                     const gsl_vector *ytr, const gsl_matrix *xva, const gsl_vector *yva,
                     double *score, const ndpar_task *t, void *ctx) {
  (void)candidate, (void)t, (void)ctx;
  size_t ntr = xtr->size1, nva = xva->size1, p = xtr->size2;
  gsl_matrix *a = gsl_matrix_alloc(ntr, p), *b = gsl_matrix_alloc(nva, p);
  gsl_vector *yc = gsl_vector_alloc(ntr), *c = gsl_vector_alloc(p), *err = gsl_vector_alloc(nva);
  gsl_multifit_linear_workspace *w = gsl_multifit_linear_alloc(ntr, p);
  ndpar_scaler *s = ndpar_scaler_alloc(NDPAR_SCALE_STANDARD, p);
  double rn, sn, ybar = gsl_stats_mean(ytr->data, ytr->stride, ntr);
  gsl_matrix_memcpy(a, xtr), gsl_matrix_memcpy(b, xva);
  gsl_vector_memcpy(yc, ytr), gsl_vector_add_constant(yc, -ybar);       /* the intercept */
  gsl_vector_memcpy(err, yva), gsl_vector_add_constant(err, -ybar);
  int status = ndpar_scaler_fit(NULL, s, a);           /* this fold's training rows only */
  for (int k = 0; k < 2 && !status; k++) status = ndpar_scaler_transform(NULL, s, k ? b : a);
  if (!status) status = gsl_multifit_linear_svd(a, w);
  if (!status) status = gsl_multifit_linear_solve(sqrt(*(const double *)pa), a, yc, c, &rn, &sn, w);
  if (!status) status = gsl_blas_dgemv(CblasNoTrans, 1.0, b, c, -1.0, err); /* yhat - y */
  *score = -gsl_pow_2(gsl_blas_dnrm2(err)) / (double)nva;   /* higher is better */
  gsl_matrix_free(a), gsl_matrix_free(b), gsl_vector_free(yc), gsl_vector_free(c);
  gsl_vector_free(err), gsl_multifit_linear_free(w), ndpar_scaler_free(s);
  return status;
}

int main(int argc, char **argv) {
  gsl_set_error_handler_off(), ndpar_capture_gsl_errors(); /* a GSL error fails its fold */
  const char *const columns[] = {"temperature"};
  ndpar_csv_options opt;
  ndpar_csv_options_init(&opt), opt.columns = columns, opt.ncolumns = 1;
  gsl_matrix *raw;
  ndpar_csv_error e;
  double t0 = ndpar_time_now(), alphas[] = {0.01, 0.1, 1, 10, 100, 1000};
  const char *path = argc > 1 ? argv[1] : "data/seattle-weather-hourly-normals.csv";
  if (ndpar_csv_read(NULL, path, &opt, &raw, NULL, &e))
    return fprintf(stderr, "%s\n", e.message), 1;
  size_t n = ndpar_windows_count(raw->size1, 24, 1, 1);
  gsl_matrix *x = gsl_matrix_alloc(n, 24), *y = gsl_matrix_alloc(n, 1);
  gsl_vector_const_view col = gsl_matrix_const_column(raw, 0), yv = gsl_matrix_const_column(y, 0);
  int status = ndpar_windows(&col.vector, 24, 1, 1, x, y);
  ndpar_folds *folds = ndpar_folds_timeseries(n, 5, 24 * 7, 24 * 7, 0, 0);
  ndpar_grid *g = ndpar_grid_alloc();
  ndpar_grid_add(g, "alpha", alphas, 6);
  ndpar_grid_result *r = ndpar_grid_result_alloc(6, 5);
  if (!status) status = ndpar_grid_search(NULL, g, x, &yv.vector, folds, fit_ridge, NULL, r);
  if (!status) printf("ridge_grid: best alpha %g, MSE %.4f (sd %.4f); %zu threads, %.3f s\n",
                      alphas[r->best], -r->mean->data[r->best], r->sd->data[r->best],
                      ndpar_pool_threads(NULL), ndpar_time_now() - t0);
  ndpar_grid_result_free(r), ndpar_grid_free(g), ndpar_folds_free(folds);
  gsl_matrix_free(raw), gsl_matrix_free(x), gsl_matrix_free(y);
  return status;
}
