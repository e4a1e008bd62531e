/* examples/model_define.c: a model of one's own, the seasonal naive forecaster (each output
 * repeats the value one season earlier), used like a built-in one: cross-validated beside
 * ridge on the monthly CO2 series. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ndpar/ndpar.h>

typedef struct {
  double season; /* in steps; "naive.season" */
  size_t lags;   /* once fitted: the inputs */
} naive;

static void *naive_clone(const void *state) {
  naive *copy = malloc(sizeof *copy);
  if (copy == NULL) return NULL;
  copy->season = ((const naive *)state)->season;
  copy->lags = 0;
  return copy;
}

static int naive_set(void *state, const char *name, double value) {
  if (strcmp(name, "season") != 0 || !(value >= 1 && value <= 1e6) || value != (size_t)value)
    return GSL_EINVAL;
  ((naive *)state)->season = value;
  return GSL_SUCCESS;
}

static int naive_get(const void *state, const char *name, double *value) {
  if (strcmp(name, "season") != 0) return GSL_EINVAL;
  *value = ((const naive *)state)->season;
  return GSL_SUCCESS;
}

/* Nothing to learn but the shapes: the window must reach one season back. */
static int naive_fit(ndpar_pool *p, void *state, const gsl_matrix *x, const gsl_matrix *y,
                     size_t *outputs) {
  (void)p;
  naive *s = state;
  if (x->size2 < (size_t)s->season) return GSL_EBADLEN;
  s->lags = x->size2;
  *outputs = y->size2;
  return GSL_SUCCESS;
}

/* Output h of a row is the input one season before step h: x[lags - season + h % season]. */
static int naive_predict(const void *state, const gsl_matrix *x, gsl_matrix *y, gsl_rng *rng) {
  (void)rng;
  const naive *s = state;
  size_t season = (size_t)s->season;
  for (size_t i = 0; i < x->size1; i++)
    for (size_t h = 0; h < y->size2; h++)
      gsl_matrix_set(y, i, h, gsl_matrix_get(x, i, s->lags - season + h % season));
  return GSL_SUCCESS;
}

static const char *const naive_params[] = {"season", NULL};
static const ndpar_model_type naive_type = {
    .name = "naive", .kind = NDPAR_MODEL_REGRESSOR, .params = naive_params,
    .clone = naive_clone, .free = free, .set = naive_set, .get = naive_get,
    .fit = naive_fit, .predict = naive_predict};

static int fail(void) {
  fprintf(stderr, "model_define: %s\n", ndpar_error_last()->message);
  return 1;
}

int main(void) {
  gsl_set_error_handler_off(); /* errors come back as codes; ndpar_error_last() says what */
  ndpar_series *s = NULL;
  if (ndpar_series_read(NULL, "data/co2-concentration.csv", NULL, NDPAR_STEP_MONTH, 1,
                        NDPAR_FILL_LINEAR, &s, NULL))
    return fail();
  gsl_vector_view co2 = gsl_matrix_column(s->values, 0);
  gsl_matrix *x = NULL;
  gsl_matrix *y = NULL;
  if (ndpar_windows_alloc(&co2.vector, 24, 12, 1, &x, &y)) return fail();
  naive *state = malloc(sizeof *state);
  state->season = 12;
  ndpar_model *models[2] = {ndpar_model_define(&naive_type, state), ndpar_ridge_alloc(1.0)};
  if (models[0] == NULL) return fail();
  ndpar_folds *folds = ndpar_folds_timeseries(x->size1, 5, 12, 12, 0, 0);
  gsl_vector *mae = gsl_vector_alloc(5);
  for (size_t k = 0; k < 2; k++) {
    if (ndpar_model_cross_validate(NULL, models[k], x, y, folds, NDPAR_SCORE_NEG_MAE, mae))
      return fail();
    double mean = 0;
    double sd = 0;
    ndpar_cv_summary(mae, &mean, &sd);
    printf("%-6s 12-month forecasts: mean absolute error %.3f ppm (sd over folds %.3f)\n",
           ndpar_model_name(models[k]), -mean, sd);
  }
  gsl_vector_free(mae);
  ndpar_folds_free(folds);
  ndpar_model_free(models[0]);
  ndpar_model_free(models[1]);
  gsl_matrix_free(x);
  gsl_matrix_free(y);
  ndpar_series_free(s);
  return 0;
}
