#include "ridge.h"

#include <gsl/gsl_blas.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_randist.h>

#include "test_util.h"

int ridge_fit(double lambda, const gsl_matrix *xtr, const gsl_vector *ytr, gsl_vector *w) {
  size_t p = xtr->size2;
  if (!(lambda > 0)) return GSL_EDOM;
  gsl_matrix *a = gsl_matrix_alloc(p, p);
  gsl_vector *b = gsl_vector_alloc(p);
  gsl_blas_dgemm(CblasTrans, CblasNoTrans, 1.0, xtr, xtr, 0.0, a);
  for (size_t i = 0; i < p; i++) *gsl_matrix_ptr(a, i, i) += lambda;
  gsl_blas_dgemv(CblasTrans, 1.0, xtr, ytr, 0.0, b);
  /* lambda > 0 makes a positive definite: the factorisation cannot fail (a worker must
   * never reach GSL's error handler, and toggling that global handler would race). */
  int status = gsl_linalg_cholesky_decomp1(a);
  if (status == GSL_SUCCESS) status = gsl_linalg_cholesky_solve(a, b, w);
  gsl_matrix_free(a);
  gsl_vector_free(b);
  return status;
}

void ridge_scores(const gsl_vector *w, const gsl_matrix *xva, const gsl_vector *yva, double *neg_mse,
                  double *neg_mae) {
  gsl_vector *r = gsl_vector_alloc(yva->size);
  gsl_vector_memcpy(r, yva);
  gsl_blas_dgemv(CblasNoTrans, 1.0, xva, w, -1.0, r);
  double ss;
  gsl_blas_ddot(r, r, &ss);
  *neg_mse = -ss / (double)yva->size;
  if (neg_mae) *neg_mae = -gsl_blas_dasum(r) / (double)yva->size;
  gsl_vector_free(r);
}

int ridge_fit_score(double lambda, const gsl_matrix *xtr, const gsl_vector *ytr,
                    const gsl_matrix *xva, const gsl_vector *yva, double *score) {
  gsl_vector *w = gsl_vector_alloc(xtr->size2);
  int status = ridge_fit(lambda, xtr, ytr, w);
  if (status == GSL_SUCCESS) ridge_scores(w, xva, yva, score, NULL);
  gsl_vector_free(w);
  return status;
}

void ridge_data(gsl_matrix *x, gsl_vector *y) {
  gsl_rng *r = test_rng();
  for (size_t i = 0; i < x->size1; i++) {
    double t = 0;
    for (size_t j = 0; j < x->size2; j++) {
      double v = gsl_ran_gaussian(r, 1.0);
      gsl_matrix_set(x, i, j, v);
      t += v * (double)(j + 1) * 0.5;
    }
    gsl_vector_set(y, i, t + gsl_ran_gaussian(r, 0.3));
  }
  gsl_rng_free(r);
}

double ridge_reference_score(const ndpar_folds *f, size_t i, const gsl_matrix *x,
                             const gsl_vector *y, double lambda) {
  const size_t *idx[2];
  size_t count[2];
  ndpar_folds_get(f, i, &idx[0], &count[0], &idx[1], &count[1]);
  gsl_matrix *xs[2];
  gsl_vector *ys[2];
  for (int s = 0; s < 2; s++) { /* 0: training rows, 1: validation rows */
    xs[s] = gsl_matrix_alloc(count[s], x->size2);
    ys[s] = gsl_vector_alloc(count[s]);
    for (size_t j = 0; j < count[s]; j++) {
      gsl_vector_const_view row = gsl_matrix_const_row(x, idx[s][j]);
      gsl_matrix_set_row(xs[s], j, &row.vector);
      gsl_vector_set(ys[s], j, gsl_vector_get(y, idx[s][j]));
    }
  }
  double score = 0;
  ridge_fit_score(lambda, xs[0], ys[0], xs[1], ys[1], &score);
  for (int s = 0; s < 2; s++) {
    gsl_matrix_free(xs[s]);
    gsl_vector_free(ys[s]);
  }
  return score;
}
