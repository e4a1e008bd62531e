/* examples/mlp_mc.c: Seattle's temperature for the next 6 hours from the past 24, by an MLP
 * trained with dropout after a standard scaler, and Monte Carlo dropout intervals (mean
 * +- 1.96 sd of 200 stochastic passes) for the last two days, which it never saw. */
#include <math.h>
#include <stdio.h>

#include <ndpar/ndpar_io.h>
#include <ndpar/ndpar_models.h>

#define LAGS 24
#define HORIZON 6
#define HELD_OUT 48
#define SAMPLES 200

int main(int argc, char **argv) {
  const char *path = argc > 1 ? argv[1] : "data/seattle-weather-hourly-normals.csv";
  ndpar_csv_options csv;
  ndpar_csv_options_init(&csv);
  const char *const columns[] = {"temperature"};
  csv.columns = columns;
  csv.ncolumns = 1;
  gsl_matrix *data = NULL;
  if (ndpar_csv_read(NULL, path, &csv, &data, NULL, NULL) != GSL_SUCCESS) return 1;
  gsl_vector_const_view series = gsl_matrix_const_column(data, 0);
  size_t n = ndpar_windows_count(data->size1, LAGS, HORIZON, 1);
  gsl_matrix *x = gsl_matrix_alloc(n, LAGS);
  gsl_matrix *y = gsl_matrix_alloc(n, HORIZON);
  int status = ndpar_windows(&series.vector, LAGS, HORIZON, 1, x, y);
  size_t train = n - HELD_OUT;
  gsl_matrix_view xtr = gsl_matrix_submatrix(x, 0, 0, train, LAGS);
  gsl_matrix_view ytr = gsl_matrix_submatrix(y, 0, 0, train, HORIZON);
  gsl_matrix_view xte = gsl_matrix_submatrix(x, train, 0, HELD_OUT, LAGS);
  gsl_matrix_view yte = gsl_matrix_submatrix(y, train, 0, HELD_OUT, HORIZON);

  ndpar_mlp_options opt;
  ndpar_mlp_options_init(&opt);
  opt.hidden[0] = 64;
  opt.activation = NDPAR_ACT_TANH;
  opt.lr = 0.003;
  opt.batch = 64;
  opt.epochs = 20;
  opt.dropout = 0.1;
  opt.validation = 0.1; /* early stopping on 10% of the windows */
  ndpar_model *steps[2] = {ndpar_scaler_model_alloc(NDPAR_SCALE_STANDARD), ndpar_mlp_alloc(&opt)};
  ndpar_model *model = ndpar_chain_alloc(steps, 2);
  if (status == GSL_SUCCESS) status = ndpar_model_fit(NULL, model, &xtr.matrix, &ytr.matrix);

  gsl_matrix *mean = gsl_matrix_alloc(HELD_OUT, HORIZON);
  gsl_matrix *sd = gsl_matrix_alloc(HELD_OUT, HORIZON);
  if (status == GSL_SUCCESS)
    status = ndpar_model_predict_mc(NULL, model, &xte.matrix, SAMPLES, 7, mean, sd);
  if (status != GSL_SUCCESS) return 1;

  double epochs = 0;
  ndpar_model_get(model, "mlp.n_iter", &epochs);
  printf("trained on %zu windows for %.0f epochs; the last %d hours, %d MC passes:\n", train,
         epochs, HELD_OUT, SAMPLES);
  printf("window  +1h truth  +1h 95%% interval    +6h truth  +6h 95%% interval\n");
  size_t inside = 0;
  for (size_t i = 0; i < HELD_OUT; i++) {
    for (size_t h = 0; h < HORIZON; h++) {
      double half = 1.96 * gsl_matrix_get(sd, i, h);
      double miss = fabs(gsl_matrix_get(&yte.matrix, i, h) - gsl_matrix_get(mean, i, h));
      inside += miss <= half;
    }
    if (i % 8 != 0) continue;
    double m1 = gsl_matrix_get(mean, i, 0);
    double s1 = 1.96 * gsl_matrix_get(sd, i, 0);
    double m6 = gsl_matrix_get(mean, i, HORIZON - 1);
    double s6 = 1.96 * gsl_matrix_get(sd, i, HORIZON - 1);
    printf("%6zu  %9.2f  %6.2f +- %5.2f  %9.2f  %6.2f +- %5.2f\n", train + i,
           gsl_matrix_get(&yte.matrix, i, 0), m1, s1, gsl_matrix_get(&yte.matrix, i, HORIZON - 1),
           m6, s6);
  }
  double r2 = 0;
  ndpar_score(NDPAR_SCORE_R2, &yte.matrix, mean, &r2);
  printf("R^2 of the MC mean on the held-out hours: %.3f; truth inside the interval: %zu of %d\n",
         r2, inside, HELD_OUT * HORIZON);

  gsl_matrix_free(mean);
  gsl_matrix_free(sd);
  ndpar_model_free(model);
  gsl_matrix_free(x);
  gsl_matrix_free(y);
  gsl_matrix_free(data);
  return r2 > 0.5 ? 0 : 1;
}
