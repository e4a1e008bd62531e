/* cv_timeseries: time-series cross-validation of a least-squares autoregression (GSL's
 * gsl_multifit_linear on 24 lags) over 5 daily windows of an hourly series, every fold in
 * parallel. Checks each fold's score against the same fit run in a plain loop. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <gsl/gsl_blas.h>
#include <gsl/gsl_math.h>
#include <gsl/gsl_multifit.h>
#include <gsl/gsl_randist.h>
#include <ndpar/ndpar.h>

#define LAGS 24

/* Fits y ~ x by least squares on the training fold; the score is minus the validation MSE
 * (higher is better). An ndpar_fit_score_fn. */
static int fit_and_score(const gsl_matrix *xtr, const gsl_vector *ytr, const gsl_matrix *xva,
                         const gsl_vector *yva, double *score, const ndpar_task *t, void *ctx) {
  (void)t, (void)ctx;
  gsl_multifit_linear_workspace *w = gsl_multifit_linear_alloc(xtr->size1, xtr->size2);
  gsl_vector *c = gsl_vector_alloc(xtr->size2);
  gsl_matrix *cov = gsl_matrix_alloc(xtr->size2, xtr->size2);
  double chisq, sse = 0;
  int status = gsl_multifit_linear(xtr, ytr, c, cov, &chisq, w);
  for (size_t i = 0; i < xva->size1 && status == GSL_SUCCESS; i++) {
    gsl_vector_const_view row = gsl_matrix_const_row(xva, i);
    double yhat, e;
    gsl_blas_ddot(&row.vector, c, &yhat);
    e = yhat - gsl_vector_get(yva, i);
    sse += e * e;
  }
  *score = -sse / (double)xva->size1;
  gsl_multifit_linear_free(w);
  gsl_vector_free(c);
  gsl_matrix_free(cov);
  return status;
}

/* The rows idx[0..k) of x and y, copied. */
static void gather(const gsl_matrix *x, const gsl_vector *y, const size_t *idx, size_t k,
                   gsl_matrix **xs, gsl_vector **ys) {
  *xs = gsl_matrix_alloc(k, x->size2), *ys = gsl_vector_alloc(k);
  for (size_t i = 0; i < k; i++) {
    gsl_vector_const_view row = gsl_matrix_const_row(x, idx[i]);
    gsl_matrix_set_row(*xs, i, &row.vector);
    gsl_vector_set(*ys, i, gsl_vector_get(y, idx[i]));
  }
}

int main(void) {
  size_t hours = 24 * 60, n = hours - LAGS;
  gsl_rng *r = gsl_rng_alloc(gsl_rng_taus2);
  double *s = malloc(hours * sizeof *s);
  for (size_t t = 0; t < hours; t++) s[t] = sin(2 * M_PI * (double)t / 24) + 0.1 * gsl_ran_gaussian(r, 1);
  gsl_matrix *x = gsl_matrix_alloc(n, LAGS);
  gsl_vector *y = gsl_vector_alloc(n);
  for (size_t i = 0; i < n; i++) {
    for (size_t j = 0; j < LAGS; j++) gsl_matrix_set(x, i, j, s[i + j]);
    gsl_vector_set(y, i, s[i + LAGS]);
  }
  void *model_ctx = NULL;
  ndpar_timeseries_options split;
  ndpar_timeseries_options_init(&split);
  split.windows = 5;
  split.horizon = 24;                                  /* 5 windows of a day, back to back */
  ndpar_folds *folds = ndpar_folds_timeseries_opts(n, &split);
  gsl_vector *scores = gsl_vector_alloc(ndpar_folds_count(folds));
  int status = ndpar_cv_run(NULL, x, y, folds, fit_and_score, model_ctx, scores);
  double mean, sd;
  ndpar_cv_summary(scores, &mean, &sd);

  if (status != GSL_SUCCESS) fprintf(stderr, "cv_timeseries: %s\n", ndpar_error_last()->message);
  int same = status == GSL_SUCCESS;
  for (size_t f = 0; f < ndpar_folds_count(folds); f++) {
    const size_t *tr, *va;
    size_t ntr, nva;
    gsl_matrix *xtr, *xva;
    gsl_vector *ytr, *yva;
    double score;
    ndpar_folds_get(folds, f, &tr, &ntr, &va, &nva);
    gather(x, y, tr, ntr, &xtr, &ytr);
    gather(x, y, va, nva, &xva, &yva);
    fit_and_score(xtr, ytr, xva, yva, &score, NULL, NULL);
    same &= score == gsl_vector_get(scores, f);
    gsl_matrix_free(xtr);
    gsl_matrix_free(xva);
    gsl_vector_free(ytr);
    gsl_vector_free(yva);
  }
  printf("cv_timeseries: 5 folds, MSE %.4f (sd %.4f); each fold as a plain loop gives: %s\n",
         -mean, sd, same ? "the same score" : "a different score");
  ndpar_folds_free(folds);
  gsl_vector_free(scores);
  gsl_matrix_free(x);
  gsl_vector_free(y);
  free(s);
  gsl_rng_free(r);
  return same ? 0 : 1;
}
