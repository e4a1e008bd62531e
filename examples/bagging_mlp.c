/* examples/bagging_mlp.c: five MLPs fitted in parallel on bootstrap samples of the hours
 * (bagging), then Monte Carlo dropout through every member: a forecast of the next six
 * hours' temperature with a 90% interval. The members and the interval are the same at any
 * thread count: each member's rows and each pass's dropout come from seeds alone. */
#include <stdio.h>
#include <ndpar/ndpar.h>

static int fail(void) {
  fprintf(stderr, "bagging_mlp: %s\n", ndpar_error_last()->message);
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
  /* the last 60 days of hours: 24 lags in, 6 hours out */
  gsl_vector_view temp = gsl_matrix_subcolumn(s->values, 0, s->values->size1 - 1440, 1440);
  gsl_matrix *x = NULL;
  gsl_matrix *y = NULL;
  if (ndpar_windows_alloc(&temp.vector, 24, 6, 1, &x, &y)) return fail();

  ndpar_mlp_options mlp;
  ndpar_mlp_options_init(&mlp);
  mlp.hidden[0] = 32;
  mlp.epochs = 30;
  mlp.lr = 3e-3;
  mlp.dropout = 0.1; /* in training, and in every Monte Carlo pass */
  ndpar_model *steps[] = {ndpar_scaler_model_alloc(NDPAR_SCALE_STANDARD), ndpar_mlp_alloc(&mlp)};
  ndpar_model *net = ndpar_chain_alloc(steps, 2);
  ndpar_bagging_options bag;
  ndpar_bagging_options_init(&bag);
  bag.members = 5;
  bag.seed = 7;
  ndpar_model *bagged = ndpar_bagging_alloc(net, &bag);
  if (bagged == NULL) return fail();
  if (ndpar_model_fit(NULL, bagged, x, y)) return fail();

  /* the last window: the 24 hours before the forecast */
  gsl_matrix_const_view last = gsl_matrix_const_submatrix(x, x->size1 - 1, 0, 1, 24);
  gsl_matrix *mean = gsl_matrix_alloc(1, 6);
  gsl_matrix *lower = gsl_matrix_alloc(1, 6);
  gsl_matrix *upper = gsl_matrix_alloc(1, 6);
  if (ndpar_model_predict_interval(NULL, bagged, &last.matrix, 200, 42, 0.9, mean, lower, upper))
    return fail();
  for (size_t h = 0; h < 6; h++)
    printf("hour +%zu: %5.2f C  (90%%: %5.2f .. %5.2f; observed %5.2f)\n", h + 1,
           gsl_matrix_get(mean, 0, h), gsl_matrix_get(lower, 0, h), gsl_matrix_get(upper, 0, h),
           gsl_matrix_get(y, y->size1 - 1, h));
  for (size_t k = 0; k < bag.members; k++) {
    gsl_matrix *one = gsl_matrix_alloc(1, 6);
    if (ndpar_model_predict(NULL, ndpar_bagging_member(bagged, k), &last.matrix, one)) return fail();
    printf("member %zu: +1 h %5.2f C\n", k, gsl_matrix_get(one, 0, 0));
    gsl_matrix_free(one);
  }
  gsl_matrix_free(mean);
  gsl_matrix_free(lower);
  gsl_matrix_free(upper);
  ndpar_model_free(bagged);
  ndpar_model_free(net);
  gsl_matrix_free(x);
  gsl_matrix_free(y);
  ndpar_series_free(s);
  return 0;
}
