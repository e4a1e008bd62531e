/* grid_estimator: a ridge regression searched with fit and score apart: two scores per
 * fold (-MSE ranks, -MAE beside it), fit and score times, the best refitted on all the
 * data; then the same candidates by successive halving on training rows. */
#include <gsl/gsl_blas.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_randist.h>
#include <stdio.h>

#include "ndpar/ndpar_grid.h"

/* fit: w = (X'X + lambda I)^-1 X'y, the model handed to score and release */
static int ridge_fit(const void *params, size_t candidate, size_t resource, const gsl_matrix *xtr,
                     const gsl_vector *ytr, void **model, const ndpar_task *t, void *ctx) {
  (void)candidate, (void)resource, (void)t, (void)ctx;
  size_t p = xtr->size2;
  gsl_matrix *a = gsl_matrix_alloc(p, p);
  gsl_vector *b = gsl_vector_alloc(p), *w = gsl_vector_alloc(p);
  gsl_blas_dgemm(CblasTrans, CblasNoTrans, 1.0, xtr, xtr, 0.0, a);
  for (size_t i = 0; i < p; i++) *gsl_matrix_ptr(a, i, i) += *(const double *)params;
  gsl_blas_dgemv(CblasTrans, 1.0, xtr, ytr, 0.0, b);
  int status = gsl_linalg_cholesky_decomp1(a);
  if (status == GSL_SUCCESS) status = gsl_linalg_cholesky_solve(a, b, w);
  gsl_matrix_free(a);
  gsl_vector_free(b);
  *model = w;
  return status;
}

/* two scores: -MSE and -MAE (higher is better) */
static int ridge_score(const void *model, const void *params, const gsl_matrix *x, const gsl_vector *y,
                       double *scores, const ndpar_task *t, void *ctx) {
  (void)params, (void)t, (void)ctx;
  gsl_vector *r = gsl_vector_alloc(y->size);
  gsl_vector_memcpy(r, y);
  gsl_blas_dgemv(CblasNoTrans, 1.0, x, model, -1.0, r);
  double ss;
  gsl_blas_ddot(r, r, &ss);
  scores[0] = -ss / (double)y->size;
  scores[1] = -gsl_blas_dasum(r) / (double)y->size;
  gsl_vector_free(r);
  return GSL_SUCCESS;
}

static void ridge_release(void *model, void *ctx) {
  (void)ctx;
  gsl_vector_free(model);
}

int main(void) {
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_taus2);
  gsl_matrix *x = gsl_matrix_alloc(2000, 5);
  gsl_vector *y = gsl_vector_alloc(2000);
  for (size_t i = 0; i < 2000; i++) {
    double t = 0;
    for (size_t j = 0; j < 5; j++) {
      gsl_matrix_set(x, i, j, gsl_ran_gaussian(rng, 1.0));
      t += gsl_matrix_get(x, i, j) * (double)j;
    }
    gsl_vector_set(y, i, t + gsl_ran_gaussian(rng, 0.5));
  }
  double lambdas[] = {1e-3, 1e-2, 0.1, 1, 10, 30, 100, 300, 1000};
  ndpar_folds *folds = ndpar_folds_kfold(2000, 5, 1, 42);

  ndpar_estimator ridge = {ridge_fit, ridge_score, ridge_release, 2, NULL};
  ndpar_grid_options opts = {.flags = NDPAR_GRID_REFIT | NDPAR_GRID_POPULATION_SD, .rank_score = 0};
  ndpar_grid_result *r = ndpar_grid_result_alloc_est(9, 5, 2, 0);
  if (ndpar_grid_search_est_params(NULL, lambdas, sizeof(double), 9, x, y, folds, &ridge, &opts, r)) {
    fprintf(stderr, "grid_estimator: %s\n", ndpar_error_last()->message);
    return 1;
  }
  printf("best lambda %g: -MSE %.4f (sd %.4f), -MAE %.4f, fit %.2g s\n", *(double *)r->best_params,
         gsl_vector_get(r->mean, r->best), gsl_vector_get(r->sd, r->best),
         gsl_matrix_get(r->all_mean, r->best, 1), gsl_vector_get(r->fit_time_mean, r->best));
  const gsl_vector *w = r->refit; /* the best, fitted on all 2000 rows */
  printf("refit weights %.3f %.3f %.3f %.3f %.3f\n", gsl_vector_get(w, 0), gsl_vector_get(w, 1),
         gsl_vector_get(w, 2), gsl_vector_get(w, 3), gsl_vector_get(w, 4));

  ndpar_halving h = {.factor = 3, .rows = 1}; /* 9, 3, 1 candidates on 177, 531, 1593 rows */
  ndpar_grid_result *hr = ndpar_grid_result_alloc_est(9, 5, 2, 0);
  if (ndpar_grid_halving(NULL, lambdas, sizeof(double), 9, x, y, folds, &ridge, &h, NULL, hr)) {
    fprintf(stderr, "grid_estimator: %s\n", ndpar_error_last()->message);
    return 1;
  }
  printf("halving: best lambda %g after %zu rounds\n", lambdas[hr->best], hr->round[hr->best] + 1);

  ndpar_grid_result_free(r);
  ndpar_grid_result_free(hr);
  ndpar_folds_free(folds);
  gsl_matrix_free(x);
  gsl_vector_free(y);
  gsl_rng_free(rng);
  return 0;
}
