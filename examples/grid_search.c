/* grid_search: a grid of ridge penalties and lag counts, every candidate on every
 * time-series fold in one parallel run. The model: GSL's regularised least squares
 * (gsl_multifit_linear_solve, penalty alpha = lambda^2) on the last `lags` columns of 24
 * lag windows of an hourly series. Checks every score against a plain loop over the
 * candidates and folds. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <gsl/gsl_blas.h>
#include <gsl/gsl_math.h>
#include <gsl/gsl_multifit.h>
#include <gsl/gsl_randist.h>
#include <ndpar/ndpar.h>

/* Fits candidate {alpha, lags} on the training fold and scores it on the validation fold:
 * minus the MSE. An ndpar_param_fit_score_fn. */
static int fit_candidate(const void *params, size_t candidate, const gsl_matrix *xtr,
                         const gsl_vector *ytr, const gsl_matrix *xva, const gsl_vector *yva,
                         double *score, const ndpar_task *t, void *ctx) {
  (void)candidate, (void)t, (void)ctx;
  const double *p = params;
  size_t lags = (size_t)p[1], first = xtr->size2 - lags;
  gsl_matrix_const_view a = gsl_matrix_const_submatrix(xtr, 0, first, xtr->size1, lags);
  gsl_matrix_const_view b = gsl_matrix_const_submatrix(xva, 0, first, xva->size1, lags);
  gsl_multifit_linear_workspace *w = gsl_multifit_linear_alloc(xtr->size1, lags);
  gsl_vector *c = gsl_vector_alloc(lags), *yhat = gsl_vector_alloc(xva->size1);
  double rnorm, snorm;
  int status = gsl_multifit_linear_svd(&a.matrix, w);
  if (!status) status = gsl_multifit_linear_solve(sqrt(p[0]), &a.matrix, ytr, c, &rnorm, &snorm, w);
  gsl_blas_dgemv(CblasNoTrans, 1.0, &b.matrix, c, 0.0, yhat);
  gsl_vector_sub(yhat, yva);
  *score = -gsl_pow_2(gsl_blas_dnrm2(yhat)) / (double)xva->size1;
  gsl_multifit_linear_free(w);
  gsl_vector_free(c);
  gsl_vector_free(yhat);
  return status;
}

int main(void) {
  size_t hours = 24 * 60, n = hours - 24;
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_taus2);
  gsl_matrix *x = gsl_matrix_alloc(n, 24);
  gsl_vector *y = gsl_vector_alloc(n), *s = gsl_vector_alloc(hours);
  for (size_t t = 0; t < hours; t++)
    gsl_vector_set(s, t, sin(2 * M_PI * (double)t / 24) + 0.3 * gsl_ran_gaussian(rng, 1));
  for (size_t i = 0; i < n; i++) {
    for (size_t j = 0; j < 24; j++) gsl_matrix_set(x, i, j, gsl_vector_get(s, i + j));
    gsl_vector_set(y, i, gsl_vector_get(s, i + 24));
  }
  ndpar_folds *folds = ndpar_folds_timeseries(n, 5, 24, 24, 0, 0);
  void *ctx = NULL;
  ndpar_grid *g = ndpar_grid_alloc();
  double alpha[] = {0.01, 0.1, 1, 10}, lags[] = {12, 24};
  ndpar_grid_add(g, "alpha", alpha, 4);
  ndpar_grid_add(g, "lags", lags, 2);                     /* 8 candidates */
  ndpar_grid_result *r = ndpar_grid_result_alloc(ndpar_grid_size(g), ndpar_folds_count(folds));
  int status = ndpar_grid_search(NULL, g, x, y, folds, fit_candidate, ctx, r);
  double best[2];
  ndpar_grid_candidate(g, r->best, best);

  int same = status == GSL_SUCCESS;
  for (size_t k = 0; k < ndpar_grid_size(g); k++) {
    double p[2];
    ndpar_grid_candidate(g, k, p);
    for (size_t f = 0; f < ndpar_folds_count(folds); f++) {
      const size_t *tr, *va; /* time-series folds: consecutive indices */
      size_t ntr, nva;
      double score;
      ndpar_folds_get(folds, f, &tr, &ntr, &va, &nva);
      gsl_matrix_const_view xtr = gsl_matrix_const_submatrix(x, tr[0], 0, ntr, 24);
      gsl_matrix_const_view xva = gsl_matrix_const_submatrix(x, va[0], 0, nva, 24);
      gsl_vector_const_view ytr = gsl_vector_const_subvector(y, tr[0], ntr);
      gsl_vector_const_view yva = gsl_vector_const_subvector(y, va[0], nva);
      fit_candidate(p, k, &xtr.matrix, &ytr.vector, &xva.matrix, &yva.vector, &score, NULL, NULL);
      same &= score == gsl_matrix_get(r->scores, k, f);
    }
  }
  printf("grid_search: best alpha %g with %g lags, MSE %.4f; every score as in a plain loop: %s\n",
         best[0], best[1], -gsl_vector_get(r->mean, r->best), same ? "yes" : "no");
  ndpar_grid_result_free(r);
  ndpar_grid_free(g);
  ndpar_folds_free(folds);
  gsl_matrix_free(x);
  gsl_vector_free(y);
  gsl_vector_free(s);
  gsl_rng_free(rng);
  return same ? 0 : 1;
}
