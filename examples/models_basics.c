/* examples/models_basics.c: a model, a chain, parameters by name, cross-validation, a file.
 * Ridge regression on 24 hourly lags of the bundled Seattle temperatures, 6 hours ahead. */
#include <stdio.h>
#include <ndpar/ndpar.h>

static int fail(void) {
  fprintf(stderr, "models_basics: %s\n", ndpar_error_last()->message);
  return 1;
}

int main(void) {
  gsl_set_error_handler_off(); /* errors come back as codes; ndpar_error_last() says what */
  const char *const columns[] = {"date", "temperature"};
  ndpar_csv_options opt;
  ndpar_csv_options_init(&opt);
  opt.columns = columns;
  opt.ncolumns = 2;
  ndpar_series *s = NULL;
  if (ndpar_series_read(NULL, "data/seattle-weather-hourly-normals.csv", &opt, NDPAR_STEP_HOUR, 1,
                        NDPAR_FILL_LINEAR, &s, NULL))
    return fail();
  gsl_vector_view temp = gsl_matrix_column(s->values, 0);
  gsl_matrix *x = NULL;
  gsl_matrix *y = NULL;
  if (ndpar_windows_alloc(&temp.vector, 24, 6, 1, &x, &y)) return fail();

  /* A chain: the scaler learns its statistics from the rows the chain is fitted on. */
  ndpar_model *steps[] = {ndpar_scaler_model_alloc(NDPAR_SCALE_STANDARD), ndpar_ridge_alloc(1.0)};
  ndpar_model *chain = ndpar_chain_alloc(steps, 2);
  if (ndpar_model_set(chain, "ridge.alpha", 10.0)) return fail();

  /* Five time-series folds of 500 hours: a clone fitted per fold, on every core. */
  ndpar_folds *folds = ndpar_folds_timeseries(x->size1, 5, 500, 500, 0, 0);
  gsl_vector *r2 = gsl_vector_alloc(5);
  if (ndpar_model_cross_validate(NULL, chain, x, y, folds, NDPAR_SCORE_R2, r2)) return fail();
  for (size_t f = 0; f < 5; f++) printf("fold %zu: R^2 %.4f\n", f, gsl_vector_get(r2, f));

  /* Fit on everything, keep it in a file, load it back: the same predictions, bit for bit. */
  if (ndpar_model_fit(NULL, chain, x, y)) return fail();
  if (ndpar_model_save(chain, "models_basics.model")) return fail();
  ndpar_model *loaded = NULL;
  if (ndpar_model_load("models_basics.model", &loaded)) return fail();
  gsl_matrix *a = gsl_matrix_alloc(x->size1, 6);
  gsl_matrix *b = gsl_matrix_alloc(x->size1, 6);
  if (ndpar_model_predict(NULL, chain, x, a)) return fail();
  if (ndpar_model_predict(NULL, loaded, x, b)) return fail();
  double score = 0;
  if (ndpar_model_score(NULL, loaded, NDPAR_SCORE_NEG_MAE, x, y, &score)) return fail();
  printf("%s with %zu inputs and %zu outputs; loaded copy %s; training MAE %.3f degrees\n",
         ndpar_model_name(loaded), ndpar_model_inputs(loaded), ndpar_model_outputs(loaded),
         gsl_matrix_equal(a, b) ? "identical" : "DIFFERENT", -score);
  int same = gsl_matrix_equal(a, b);
  gsl_matrix_free(a);
  gsl_matrix_free(b);
  ndpar_model_free(loaded);
  gsl_vector_free(r2);
  ndpar_folds_free(folds);
  ndpar_model_free(chain);
  gsl_matrix_free(x);
  gsl_matrix_free(y);
  ndpar_series_free(s);
  return same ? 0 : 1;
}
