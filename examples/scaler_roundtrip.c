/* scaler_roundtrip: standardise a training and a test matrix with the training columns'
 * mean and sd, forecast in scaled units (here: each test row's first column, persisted),
 * and bring the forecast back to data units with the inverse. Checks the scaled training
 * columns (mean 0, sd 1) and that the round trip gives the data back. */
#include <math.h>
#include <stdio.h>
#include <gsl/gsl_statistics_double.h>
#include <ndpar/ndpar.h>

int main(void) {
  gsl_matrix *x = gsl_matrix_alloc(1000, 3), *train = gsl_matrix_alloc(800, 3),
             *test = gsl_matrix_alloc(200, 3), *forecast = gsl_matrix_alloc(200, 3);
  for (size_t i = 0; i < 1000; i++)
    for (size_t j = 0; j < 3; j++) gsl_matrix_set(x, i, j, 1e3 * (double)j + sin((double)(i * (j + 1))));
  gsl_matrix_const_view top = gsl_matrix_const_submatrix(x, 0, 0, 800, 3);
  gsl_matrix_const_view rest = gsl_matrix_const_submatrix(x, 800, 0, 200, 3);
  gsl_matrix_memcpy(train, &top.matrix);
  gsl_matrix_memcpy(test, &rest.matrix);

  ndpar_scaler *s = ndpar_scaler_alloc(NDPAR_SCALE_STANDARD, x->size2);
  ndpar_scaler_fit(NULL, s, train);          /* learn mean and sd per column */
  ndpar_scaler_transform(NULL, s, train);    /* in place: (x - mean) / sd */
  ndpar_scaler_transform(NULL, s, test);
  gsl_matrix_memcpy(forecast, test);         /* forecast in scaled units */
  ndpar_scaler_inverse(NULL, s, forecast);   /* back to data units, to rounding */
  ndpar_scaler_free(s);

  double worst = 0;
  for (size_t j = 0; j < 3; j++) {
    gsl_vector_view c = gsl_matrix_column(train, j);
    double m = gsl_stats_mean(c.vector.data, c.vector.stride, c.vector.size);
    worst = fmax(worst, fabs(m) + fabs(gsl_stats_sd_m(c.vector.data, c.vector.stride, c.vector.size, m) - 1));
    for (size_t i = 0; i < 200; i++)
      worst = fmax(worst, fabs(gsl_matrix_get(forecast, i, j) - gsl_matrix_get(&rest.matrix, i, j)) /
                              fmax(1, fabs(gsl_matrix_get(&rest.matrix, i, j))));
  }
  printf("scaler_roundtrip: scaled training columns and the round trip within %.1e\n", worst);
  gsl_matrix_free(x), gsl_matrix_free(train), gsl_matrix_free(test), gsl_matrix_free(forecast);
  return worst < 1e-12 ? 0 : 1;
}
