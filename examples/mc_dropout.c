/* mc_dropout: Monte Carlo dropout on a linear model: each of 100 passes drops every weight
 * with probability 0.2 (rescaling the rest by 1/0.8), from the task's own random stream, so
 * the mean and sd over the passes do not depend on the thread count. Checks that the
 * default pool and a 1-thread pool give the same numbers bit for bit, and that the mean is
 * near the model without dropout. */
#include <math.h>
#include <stdio.h>
#include <gsl/gsl_randist.h>
#include <ndpar/ndpar.h>

#define LAGS 24

typedef struct {
  double w[LAGS];
  double dropout;
} model;

static int predict(const gsl_matrix *x, gsl_matrix *y, const ndpar_task *t, void *ctx) {
  const model *m = ctx;
  double w[LAGS];
  for (size_t j = 0; j < LAGS; j++)
    w[j] = gsl_ran_bernoulli(t->rng, m->dropout) ? 0 : m->w[j] / (1 - m->dropout);
  for (size_t r = 0; r < x->size1; r++) {
    double s = 0;
    for (size_t j = 0; j < LAGS; j++) s += w[j] * gsl_matrix_get(x, r, j);
    gsl_matrix_set(y, r, 0, s);
  }
  return GSL_SUCCESS;
}

int main(void) {
  enum { nb = 4, rows = 50 };
  model mod;
  model *m = &mod;
  for (size_t j = 0; j < LAGS; j++) m->w[j] = 1.0 / LAGS;
  gsl_matrix *x[nb], *mean[nb], *sd[nb], *mean1[nb], *sd1[nb];
  for (size_t b = 0; b < nb; b++) {
    x[b] = gsl_matrix_alloc(rows, LAGS);
    for (size_t r = 0; r < rows; r++)
      for (size_t j = 0; j < LAGS; j++) gsl_matrix_set(x[b], r, j, cos(0.1 * (double)(b * rows + r + j)));
    mean[b] = gsl_matrix_alloc(rows, 1), sd[b] = gsl_matrix_alloc(rows, 1);
    mean1[b] = gsl_matrix_alloc(rows, 1), sd1[b] = gsl_matrix_alloc(rows, 1);
  }
  m->dropout = 0.2;
  int status = ndpar_batch_infer_mc(NULL, x, nb, 100, 42, predict, m, mean, sd);
  ndpar_pool_config one;
  ndpar_pool_config_init(&one);
  one.threads = 1;
  ndpar_pool *p1 = ndpar_pool_alloc(&one);
  if (status == GSL_SUCCESS) status = ndpar_batch_infer_mc(p1, x, nb, 100, 42, predict, m, mean1, sd1);
  int same = 1;
  double worst = 0;
  for (size_t b = 0; b < nb; b++) {
    same &= gsl_matrix_equal(mean[b], mean1[b]) && gsl_matrix_equal(sd[b], sd1[b]);
    for (size_t r = 0; r < rows; r++) {
      double plain = 0;
      for (size_t j = 0; j < LAGS; j++) plain += m->w[j] * gsl_matrix_get(x[b], r, j);
      worst = fmax(worst, fabs(gsl_matrix_get(mean[b], r, 0) - plain) / (gsl_matrix_get(sd[b], r, 0) + 1e-12));
    }
  }
  double se = worst * sqrt(100.0); /* in standard errors of the mean, sd / sqrt(100) */
  printf("mc_dropout: %d batches x 100 passes; same at 1 and %zu threads: %s; the mean is within "
         "%.1f standard errors of the model without dropout\n", nb, ndpar_pool_threads(NULL),
         same ? "yes" : "no", se);
  for (size_t b = 0; b < nb; b++) {
    gsl_matrix_free(x[b]), gsl_matrix_free(mean[b]), gsl_matrix_free(sd[b]);
    gsl_matrix_free(mean1[b]), gsl_matrix_free(sd1[b]);
  }
  ndpar_pool_free(p1);
  if (status != GSL_SUCCESS) fprintf(stderr, "mc_dropout: %s\n", ndpar_error_last()->message);
  return status == GSL_SUCCESS && same && se < 5 ? 0 : 1;
}
