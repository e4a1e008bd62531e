/* examples/co2_forecast.c: the next 12 months of Mauna Loa CO2 (tests/models/co2_sklearn.py: the same in scikit-learn). */
#include <stdio.h>
#include <ndpar/ndpar.h>

static int fail(void) {
  fprintf(stderr, "co2_forecast: %s\n", ndpar_error_last()->message);
  return 1;
}

int main(void) {
  gsl_set_error_handler_off(); /* errors come back as codes; ndpar_error_last() says what */
  ndpar_series *s = NULL;
  if (ndpar_series_read(NULL, "data/co2-concentration.csv", NULL, NDPAR_STEP_MONTH, 1, NDPAR_FILL_LINEAR, &s, NULL)) return fail();
  gsl_vector_view co2 = gsl_matrix_column(s->values, 0);
  gsl_matrix *x = NULL;
  gsl_matrix *y = NULL;
  if (ndpar_windows_alloc(&co2.vector, 12, 1, 1, &x, &y)) return fail();
  ndpar_model *chain = ndpar_chain_alloc((ndpar_model *[]){ndpar_scaler_model_alloc(NDPAR_SCALE_STANDARD), ndpar_ridge_alloc(1)}, 2);
  ndpar_folds *folds = ndpar_folds_timeseries(x->size1, 5, 12, 12, 0, 0);
  double alphas[] = {0.001, 0.01, 0.1, 1, 10, 100};
  ndpar_grid *grid = ndpar_grid_alloc();
  ndpar_grid_add(grid, "ridge.alpha", alphas, 6);
  ndpar_grid_result *res = ndpar_grid_result_alloc_est(6, 5, 1, 0);
  if (ndpar_grid_search_model(NULL, grid, x, y, folds, chain, &(ndpar_grid_options){.flags = NDPAR_GRID_REFIT}, res)) return fail();
  if (ndpar_model_save(ndpar_grid_result_model(res), "co2.model")) return fail();
  ndpar_model *best = NULL;
  if (ndpar_model_load("co2.model", &best)) return fail();
  gsl_vector *next = gsl_vector_alloc(12);
  if (ndpar_model_forecast(NULL, best, &co2.vector, next)) return fail();
  printf("best alpha %.17g\n", alphas[res->best]);
  for (size_t c = 0; c < 6; c++)
    printf("alpha %.17g cv mean %.17g\n", alphas[c], gsl_vector_get(res->mean, c));
  for (size_t i = 0; i < 12; i++)
    printf("forecast %.17g\n", gsl_vector_get(next, i));
  gsl_vector_free(next);
  ndpar_model_free(best);
  ndpar_grid_result_free(res);
  ndpar_grid_free(grid);
  ndpar_folds_free(folds);
  ndpar_model_free(chain);
  gsl_matrix_free(x);
  gsl_matrix_free(y);
  ndpar_series_free(s);
  return 0;
}
