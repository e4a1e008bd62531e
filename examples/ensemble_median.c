/* ensemble_median: three models' predictions aggregated by their element-wise median, the
 * members predicting in parallel; spread is the sd across members. The members here are
 * y = a * mean(x row) for a = 1, 2, 4; checks the median (a = 2) and the spread. */
#include <math.h>
#include <stdio.h>
#include <ndpar/ndpar.h>

static int scaled_mean(const gsl_matrix *x, gsl_matrix *y, const ndpar_task *t, void *ctx) {
  (void)t;
  double a = *(const double *)ctx;
  for (size_t r = 0; r < x->size1; r++) {
    double s = 0;
    for (size_t j = 0; j < x->size2; j++) s += gsl_matrix_get(x, r, j);
    gsl_matrix_set(y, r, 0, a * s / (double)x->size2);
  }
  return GSL_SUCCESS;
}

int main(void) {
  double ka = 1, kb = 2, kc = 4;
  double *a = &ka, *b = &kb, *c = &kc;
  gsl_matrix *x = gsl_matrix_alloc(100, 8), *out = gsl_matrix_alloc(100, 1),
             *spread = gsl_matrix_alloc(100, 1);
  for (size_t i = 0; i < 100; i++)
    for (size_t j = 0; j < 8; j++) gsl_matrix_set(x, i, j, 1.0 + (double)(i % 7) + 0.1 * (double)j);
  ndpar_predictor members[3] = {{scaled_mean, a}, {scaled_mean, b}, {scaled_mean, c}};
  int status = ndpar_ensemble_predict(NULL, x, members, 3, NDPAR_AGG_MEDIAN, NULL, out, spread);
  /* The members give m, 2m and 4m (m: the row's mean): median 2m, sd sqrt(7/3) m. */
  double worst = 0;
  for (size_t i = 0; i < 100 && status == GSL_SUCCESS; i++) {
    double m = 0;
    for (size_t j = 0; j < 8; j++) m += gsl_matrix_get(x, i, j);
    m /= 8;
    double sd = sqrt(7 / 3.0) * m;
    worst = fmax(worst, fabs(gsl_matrix_get(out, i, 0) - 2 * m) / m);
    worst = fmax(worst, fabs(gsl_matrix_get(spread, i, 0) - sd) / sd);
  }
  printf("ensemble_median: 3 members, median and spread within %.1e of the closed form\n", worst);
  gsl_matrix_free(x);
  gsl_matrix_free(out);
  gsl_matrix_free(spread);
  return status == GSL_SUCCESS && worst < 1e-12 ? 0 : 1;
}
