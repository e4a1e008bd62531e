/* Bad input to the models module (ndpar_models.h): built-in models, chains, parameters,
 * fit, predict, MC, scores, cross-validation, forecasting, persistence and user types; and
 * to the functions that take a model in the ensemble (ndpar_ensemble_predict_models,
 * bagging), grid (model searches) and io (ndpar_series_read, ndpar_windows_alloc) modules. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gsl/gsl_statistics_double.h>

#include "badinput.h"
#include "ndpar/ndpar_io.h"
#include "ndpar/ndpar_models.h"

static void free_model(void *m) { ndpar_model_free(m); }
static void free_folds(void *f) { ndpar_folds_free(f); }
static void free_grid(void *g) { ndpar_grid_free(g); }
static void free_result(void *r) { ndpar_grid_result_free(r); }
static void free_series(void *s) { ndpar_series_free(s); }
static void unlink_free(void *p) {
  unlink(p);
  free(p);
}

/* A model the case owns until it ends. */
static ndpar_model *held(ndpar_model *m) {
  cr_assert_not_null(m, "%s: a model", bi_label());
  return bi_hold(m, free_model);
}

/* 12 rows of 3 features that are not collinear, and 2 outputs. */
static gsl_matrix *data_x(void) {
  gsl_matrix *x = bi_matrix(12, 3);
  for (size_t i = 0; i < x->size1; i++) gsl_matrix_set(x, i, 1, (double)((i * 7) % 5));
  for (size_t i = 0; i < x->size1; i++) gsl_matrix_set(x, i, 2, (double)((i * i) % 11));
  return x;
}

static gsl_matrix *data_y(void) { return bi_matrix(12, 2); }

/* A ridge model fitted on data_x, data_y (3 inputs, 2 outputs). */
static ndpar_model *fitted_ridge(void) {
  ndpar_model *m = held(ndpar_ridge_alloc(1.0));
  EXPECT_OK(ndpar_model_fit(NULL, m, data_x(), data_y()));
  return m;
}

/* A small MLP with dropout, fitted (it has stochastic passes). */
static ndpar_model *fitted_mlp(void) {
  ndpar_mlp_options o;
  ndpar_mlp_options_init(&o);
  o.layers = 1;
  o.hidden[0] = 4;
  o.epochs = 3;
  o.dropout = 0.2;
  ndpar_model *m = held(ndpar_mlp_alloc(&o));
  EXPECT_OK(ndpar_model_fit(NULL, m, data_x(), data_y()));
  return m;
}

/* A path in /tmp for a model file, removed when the case ends. */
static const char *temp_path(void) {
  char *path = strdup("/tmp/ndpar-badinput-model-XXXXXX");
  int fd = mkstemp(path);
  cr_assert(fd >= 0);
  close(fd);
  return bi_hold(path, unlink_free);
}

static const char *temp_text(const char *text) {
  const char *path = temp_path();
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  fputs(text, f);
  fclose(f);
  return path;
}

/* EXPECT_CODE and EXPECT_NULL, and the call reported exactly one GSL error. */
#define EXPECT_ONE(call, want)                                                               \
  do {                                                                                       \
    size_t bi_one_ = bi_errors();                                                            \
    EXPECT_CODE(call, want);                                                                 \
    cr_assert_eq(bi_errors() - bi_one_, 1, "%s: %s reported %zu GSL errors, want 1",         \
                 bi_label(), #call, bi_errors() - bi_one_);                                  \
  } while (0)
#define EXPECT_NULL1(call)                                                                   \
  do {                                                                                       \
    size_t bi_one_ = bi_errors();                                                            \
    EXPECT_NULL(call);                                                                       \
    cr_assert_eq(bi_errors() - bi_one_, 1, "%s: %s reported %zu GSL errors, want 1",         \
                 bi_label(), #call, bi_errors() - bi_one_);                                  \
  } while (0)

static ndpar_model *const untouched_model = (ndpar_model *)0x1;

/* ---- built-in models ---- */

CASE(ndpar_ridge_alloc, "alpha negative, NaN, infinite") {
  EXPECT_NULL1(ndpar_ridge_alloc(-1.0));
  EXPECT_NULL1(ndpar_ridge_alloc(NAN));
  EXPECT_NULL1(ndpar_ridge_alloc(INFINITY));
  held(ndpar_ridge_alloc(0.0)); /* alpha 0: least squares */
}

CASE(ndpar_linear_alloc, "a new model is unfitted, of no inputs or outputs") {
  ndpar_model *m = held(ndpar_linear_alloc());
  EXPECT_TRUE(!ndpar_model_fitted(m) && ndpar_model_inputs(m) == 0 && ndpar_model_outputs(m) == 0);
  EXPECT_TRUE(strcmp(ndpar_model_name(m), "linear") == 0);
}

CASE(ndpar_scaler_model_alloc, "an unknown kind") {
  EXPECT_NULL1(ndpar_scaler_model_alloc((ndpar_scale_kind)99));
  EXPECT_NULL1(ndpar_scaler_model_alloc((ndpar_scale_kind)-1));
}

CASE(ndpar_mlp_options_init, "NULL; fills every field") {
  ndpar_mlp_options_init(NULL);
  ndpar_mlp_options o;
  memset(&o, 0x5a, sizeof o);
  ndpar_mlp_options_init(&o);
  EXPECT_TRUE(o.layers == 1 && o.hidden[0] == 100 && o.lr == 1e-3 && o.epochs == 200);
  EXPECT_TRUE(o.dropout == 0 && o.validation == 0 && o.seed == 0);
}

CASE(ndpar_mlp_alloc, "every bad field is refused, naming opt") {
  ndpar_mlp_options o;
#define BAD_MLP(field, value)          \
  do {                                 \
    ndpar_mlp_options_init(&o);        \
    o.field = value;                   \
    EXPECT_NULL1(ndpar_mlp_alloc(&o));  \
  } while (0)
  BAD_MLP(layers, 0);
  BAD_MLP(layers, NDPAR_MLP_MAX_LAYERS + 1);
  BAD_MLP(hidden[0], 0);
  BAD_MLP(lr, 0.0);
  BAD_MLP(lr, NAN);
  BAD_MLP(momentum, 1.0);
  BAD_MLP(beta1, -0.1);
  BAD_MLP(beta2, 1.0);
  BAD_MLP(eps, 0.0);
  BAD_MLP(l2, -1.0);
  BAD_MLP(tol, NAN);
  BAD_MLP(epochs, 0);
  BAD_MLP(validation, 1.0);
  BAD_MLP(dropout, 1.0);
  BAD_MLP(activation, (ndpar_activation)7);
  BAD_MLP(solver, (ndpar_solver)7);
  BAD_MLP(reduce, (ndpar_reduce)7);
#undef BAD_MLP
  ndpar_mlp_options_init(&o);
  o.layers = 2;
  o.hidden[1] = 0; /* a layer in use of no units */
  EXPECT_NULL1(ndpar_mlp_alloc(&o));
  ndpar_model *m = held(ndpar_mlp_alloc(NULL)); /* NULL: the defaults */
  EXPECT_TRUE(strcmp(ndpar_model_name(m), "mlp") == 0);
}

/* ---- chains ---- */

CASE(ndpar_chain_alloc, "NULL steps, n 0, a NULL step, a step twice, a fitted step, a model first") {
  ndpar_model *s = held(ndpar_scaler_model_alloc(NDPAR_SCALE_STANDARD));
  ndpar_model *r = held(ndpar_ridge_alloc(1.0));
  EXPECT_NULL1(ndpar_chain_alloc(NULL, 2));
  EXPECT_NULL1(ndpar_chain_alloc((ndpar_model *const[]){s, r}, 0));
  EXPECT_NULL1(ndpar_chain_alloc((ndpar_model *const[]){s, NULL}, 2));
  EXPECT_NULL1(ndpar_chain_alloc((ndpar_model *const[]){s, s, r}, 3));
  EXPECT_NULL1(ndpar_chain_alloc((ndpar_model *const[]){r, s}, 2));
  EXPECT_NULL1(ndpar_chain_alloc((ndpar_model *const[]){s, fitted_ridge()}, 2));
  /* the steps stay the caller's after each refusal: held() frees them, and a chain that
   * had taken one would free it twice */
  EXPECT_TRUE(!ndpar_model_fitted(s) && !ndpar_model_fitted(r));
}

CASE(ndpar_chain_step, "NULL chain, a model that is no chain, i past the end") {
  EXPECT_TRUE(ndpar_chain_step(NULL, 0) == NULL);
  ndpar_model *r = fitted_ridge();
  EXPECT_TRUE(ndpar_chain_step(r, 0) == NULL);
  ndpar_model *s = ndpar_scaler_model_alloc(NDPAR_SCALE_STANDARD);
  ndpar_model *c = held(ndpar_chain_alloc((ndpar_model *const[]){s}, 1));
  EXPECT_TRUE(ndpar_chain_step(c, 0) == s && ndpar_chain_step(c, 1) == NULL);
  EXPECT_TRUE(ndpar_chain_step(c, SIZE_MAX) == NULL);
}

/* ---- parameters ---- */

CASE(ndpar_model_set, "NULL m or name; unknown names; refused values; a fitted model stays fitted") {
  ndpar_model *m = fitted_ridge();
  EXPECT_ONE(ndpar_model_set(NULL, "alpha", 1.0), GSL_EFAULT);
  EXPECT_ONE(ndpar_model_set(m, NULL, 1.0), GSL_EFAULT);
  EXPECT_ONE(ndpar_model_set(m, "", 1.0), GSL_EINVAL);
  EXPECT_ONE(ndpar_model_set(m, "nope", 1.0), GSL_EINVAL);
  EXPECT_ONE(ndpar_model_set(m, "mlp.alpha", 1.0), GSL_EINVAL);
  EXPECT_ONE(ndpar_model_set(m, "alpha", -1.0), GSL_EINVAL);
  EXPECT_ONE(ndpar_model_set(m, "alpha", NAN), GSL_EINVAL);
  EXPECT_TRUE(ndpar_model_fitted(m)); /* a refused set changes nothing */
  double a = 0;
  EXPECT_OK(ndpar_model_get(m, "alpha", &a));
  EXPECT_TRUE(a == 1.0);
  ndpar_model *s = ndpar_scaler_model_alloc(NDPAR_SCALE_STANDARD);
  ndpar_model *r = ndpar_ridge_alloc(1.0);
  ndpar_model *c = held(ndpar_chain_alloc((ndpar_model *const[]){s, r}, 2));
  EXPECT_ONE(ndpar_model_set(c, "alpha", 2.0), GSL_EINVAL); /* a chain's needs a step */
  EXPECT_ONE(ndpar_model_set(c, "linear.alpha", 2.0), GSL_EINVAL);
  EXPECT_ONE(ndpar_model_set(c, "2.alpha", 2.0), GSL_EINVAL);
  EXPECT_ONE(ndpar_model_set(c, "scaler.kind", 99), GSL_EINVAL);
  EXPECT_ONE(ndpar_model_set(c, "ridge.", 2.0), GSL_EINVAL);
  EXPECT_OK(ndpar_model_set(c, "1.alpha", 2.0));
  EXPECT_ONE(ndpar_model_set(held(ndpar_linear_alloc()), "alpha", 1.0), GSL_EINVAL);
}

CASE(ndpar_model_get, "NULL m, name or value; unknown names: value untouched") {
  ndpar_model *m = held(ndpar_ridge_alloc(3.0));
  double v = BI_SENTINEL;
  EXPECT_ONE(ndpar_model_get(NULL, "alpha", &v), GSL_EFAULT);
  EXPECT_ONE(ndpar_model_get(m, NULL, &v), GSL_EFAULT);
  EXPECT_ONE(ndpar_model_get(m, "alpha", NULL), GSL_EFAULT);
  EXPECT_ONE(ndpar_model_get(m, "nope", &v), GSL_EINVAL);
  EXPECT_ONE(ndpar_model_get(held(ndpar_mlp_alloc(NULL)), "mlp.hidden8", &v), GSL_EINVAL);
  EXPECT_TRUE(v == BI_SENTINEL);
}

CASE(ndpar_model_clone, "NULL; a clone of a fitted model is unfitted") {
  EXPECT_NULL1(ndpar_model_clone(NULL));
  ndpar_model *c = held(ndpar_model_clone(fitted_ridge()));
  EXPECT_TRUE(!ndpar_model_fitted(c));
}

/* ---- fit ---- */

static const gsl_matrix no_rows = {0, 3, 3, NULL, NULL, 0}; /* GSL cannot allocate these */
static const gsl_matrix no_cols = {12, 0, 0, NULL, NULL, 0};

CASE(ndpar_model_fit, "NULL m, x, y; no rows or columns; y's rows; NaN, Inf; a fitted model stays") {
  ndpar_model *m = fitted_ridge();
  const gsl_matrix *x = data_x();
  const gsl_matrix *y = data_y();
  EXPECT_ONE(ndpar_model_fit(NULL, NULL, x, y), GSL_EFAULT);
  EXPECT_ONE(ndpar_model_fit(NULL, m, NULL, y), GSL_EFAULT);
  EXPECT_ONE(ndpar_model_fit(NULL, m, x, NULL), GSL_EFAULT);
  EXPECT_ONE(ndpar_model_fit(NULL, m, &no_rows, y), GSL_EINVAL);
  EXPECT_ONE(ndpar_model_fit(NULL, m, &no_cols, y), GSL_EINVAL);
  EXPECT_ONE(ndpar_model_fit(NULL, m, bi_matrix(11, 3), y), GSL_EBADLEN);
  gsl_matrix *xn = data_x();
  gsl_matrix_set(xn, 5, 1, NAN);
  EXPECT_ONE(ndpar_model_fit(NULL, m, xn, y), GSL_EDOM);
  gsl_matrix *yi = data_y();
  gsl_matrix_set(yi, 11, 1, -INFINITY);
  EXPECT_ONE(ndpar_model_fit(bi_pool(2), m, x, yi), GSL_EDOM);
  /* a rejected call leaves the model as it was: fitted, of 3 inputs and 2 outputs */
  EXPECT_TRUE(ndpar_model_fitted(m) && ndpar_model_inputs(m) == 3 && ndpar_model_outputs(m) == 2);
}

CASE(ndpar_model_fit, "a transformer takes y NULL; a scaler's and an MLP's checks") {
  ndpar_model *s = held(ndpar_scaler_model_alloc(NDPAR_SCALE_ROBUST));
  EXPECT_OK(ndpar_model_fit(NULL, s, data_x(), NULL));
  EXPECT_TRUE(ndpar_model_outputs(s) == 3);
  ndpar_model *mlp = held(ndpar_mlp_alloc(NULL));
  EXPECT_ONE(ndpar_model_fit(NULL, mlp, data_x(), NULL), GSL_EFAULT);
  /* one row and a validation fraction: nothing to hold out; a fit or a refusal, never a
   * crash, and a refusal reported once with its message */
  EXPECT_OK(ndpar_model_set(mlp, "mlp.validation", 0.5));
  size_t e0 = bi_errors();
  ndpar_error_clear();
  int rc = ndpar_model_fit(NULL, mlp, bi_matrix(1, 3), bi_matrix(1, 1));
  EXPECT_TRUE(rc == GSL_SUCCESS || rc == GSL_EINVAL);
  if (rc != GSL_SUCCESS) {
    EXPECT_TRUE(bi_errors() - e0 == 1 && !ndpar_model_fitted(mlp));
    bi_unnamed("the data's size against the model's validation fraction");
    bi_check_last_error("ndpar_model_fit(", rc);
  }
}

CASE(ndpar_model_fit_vector, "NULL y; y empty or of other rows; NaN") {
  ndpar_model *m = fitted_ridge();
  static const gsl_vector empty = {0, 1, NULL, NULL, 0};
  EXPECT_ONE(ndpar_model_fit_vector(NULL, m, data_x(), NULL), GSL_EFAULT);
  EXPECT_ONE(ndpar_model_fit_vector(NULL, m, data_x(), &empty), GSL_EINVAL);
  EXPECT_ONE(ndpar_model_fit_vector(NULL, m, data_x(), bi_vector(13)), GSL_EBADLEN);
  EXPECT_ONE(ndpar_model_fit_vector(NULL, NULL, data_x(), bi_vector(12)), GSL_EFAULT);
  gsl_vector *yn = bi_vector(12);
  gsl_vector_set(yn, 3, NAN);
  EXPECT_ONE(ndpar_model_fit_vector(NULL, m, data_x(), yn), GSL_EDOM);
  EXPECT_TRUE(ndpar_model_outputs(m) == 2);
}

/* ---- predict ---- */

CASE(ndpar_model_predict, "NULL; unfitted; x's columns; y's shape: y untouched") {
  ndpar_model *m = fitted_ridge();
  const gsl_matrix *x = data_x();
  gsl_matrix *y = bi_sentinel_matrix(12, 2);
  EXPECT_ONE(ndpar_model_predict(NULL, NULL, x, y), GSL_EFAULT);
  EXPECT_ONE(ndpar_model_predict(NULL, m, NULL, y), GSL_EFAULT);
  EXPECT_ONE(ndpar_model_predict(NULL, m, x, NULL), GSL_EFAULT);
  EXPECT_ONE(ndpar_model_predict(NULL, held(ndpar_ridge_alloc(1)), x, y), GSL_EINVAL);
  EXPECT_ONE(ndpar_model_predict(NULL, m, bi_matrix(12, 2), y), GSL_EBADLEN);
  EXPECT_ONE(ndpar_model_predict(NULL, m, x, bi_sentinel_matrix(11, 2)), GSL_EBADLEN);
  EXPECT_ONE(ndpar_model_predict(NULL, m, x, bi_sentinel_matrix(12, 3)), GSL_EBADLEN);
  bi_assert_untouched_matrix(y, "y");
  /* no rows: a no-op */
  static const gsl_matrix x0 = {0, 3, 3, NULL, NULL, 0};
  static const gsl_matrix y0 = {0, 2, 2, NULL, NULL, 0};
  EXPECT_OK(ndpar_model_predict(NULL, m, &x0, (gsl_matrix *)&y0));
}

CASE(ndpar_model_predict, "a transformer predicting in place (y is x) or from a view of y") {
  ndpar_model *s = held(ndpar_scaler_model_alloc(NDPAR_SCALE_STANDARD));
  gsl_matrix *x = data_x();
  EXPECT_OK(ndpar_model_fit(NULL, s, x, NULL));
  gsl_matrix *want = bi_sentinel_matrix(12, 3);
  EXPECT_OK(ndpar_model_predict(NULL, s, x, want));
  /* y the same matrix as x: either refused, or the same values */
  gsl_matrix *inplace = data_x();
  int rc = ndpar_model_predict(NULL, s, inplace, inplace);
  if (rc != GSL_SUCCESS) bi_check_last_error("ndpar_model_predict(", rc);
  else EXPECT_TRUE(gsl_matrix_equal(inplace, want));
}

CASE(ndpar_model_predict_vector, "NULL y; y empty or of other rows; a model of 2 outputs") {
  ndpar_model *m = held(ndpar_ridge_alloc(1.0));
  EXPECT_OK(ndpar_model_fit_vector(NULL, m, data_x(), bi_vector(12)));
  gsl_vector *y = bi_sentinel_vector(12);
  static gsl_vector empty = {0, 1, NULL, NULL, 0};
  EXPECT_ONE(ndpar_model_predict_vector(NULL, m, data_x(), NULL), GSL_EFAULT);
  EXPECT_ONE(ndpar_model_predict_vector(NULL, m, data_x(), &empty), GSL_EBADLEN);
  EXPECT_ONE(ndpar_model_predict_vector(NULL, m, data_x(), bi_sentinel_vector(11)), GSL_EBADLEN);
  EXPECT_ONE(ndpar_model_predict_vector(NULL, NULL, data_x(), y), GSL_EFAULT);
  EXPECT_ONE(ndpar_model_predict_vector(NULL, fitted_ridge(), data_x(), y), GSL_EBADLEN);
  bi_assert_untouched_vector(y, "y");
}

CASE(ndpar_model_predict_mc, "samples 0 or 1 with sd; no stochastic passes; shapes; sd is mean") {
  ndpar_model *m = fitted_mlp();
  const gsl_matrix *x = data_x();
  gsl_matrix *mean = bi_sentinel_matrix(12, 2);
  gsl_matrix *sd = bi_sentinel_matrix(12, 2);
  EXPECT_ONE(ndpar_model_predict_mc(NULL, NULL, x, 4, 1, mean, sd), GSL_EFAULT);
  EXPECT_ONE(ndpar_model_predict_mc(NULL, m, NULL, 4, 1, mean, sd), GSL_EFAULT);
  EXPECT_ONE(ndpar_model_predict_mc(NULL, m, x, 4, 1, NULL, sd), GSL_EFAULT);
  EXPECT_ONE(ndpar_model_predict_mc(NULL, m, x, 0, 1, mean, sd), GSL_EINVAL);
  EXPECT_ONE(ndpar_model_predict_mc(NULL, m, x, 1, 1, mean, sd), GSL_EINVAL);
  EXPECT_ONE(ndpar_model_predict_mc(NULL, fitted_ridge(), x, 4, 1, mean, sd), GSL_EINVAL);
  EXPECT_ONE(ndpar_model_predict_mc(NULL, m, x, 4, 1, mean, bi_sentinel_matrix(12, 1)), GSL_EBADLEN);
  EXPECT_ONE(ndpar_model_predict_mc(NULL, m, x, 4, 1, bi_sentinel_matrix(11, 2), NULL), GSL_EBADLEN);
  EXPECT_ONE(ndpar_model_predict_mc(NULL, m, x, 4, 1, mean, mean), GSL_EINVAL);
  EXPECT_ONE(ndpar_model_predict_mc(NULL, m, x, SIZE_MAX, 1, mean, sd), GSL_EINVAL);
  bi_assert_untouched_matrix(mean, "mean");
  bi_assert_untouched_matrix(sd, "sd");
}

CASE(ndpar_model_predict_interval, "level 0, 1, NaN; NULL bounds; aliased outputs") {
  ndpar_model *m = fitted_mlp();
  const gsl_matrix *x = data_x();
  gsl_matrix *mean = bi_sentinel_matrix(12, 2);
  gsl_matrix *lo = bi_sentinel_matrix(12, 2);
  gsl_matrix *hi = bi_sentinel_matrix(12, 2);
  EXPECT_ONE(ndpar_model_predict_interval(NULL, m, x, 8, 1, 0.0, mean, lo, hi), GSL_EINVAL);
  EXPECT_ONE(ndpar_model_predict_interval(NULL, m, x, 8, 1, 1.0, mean, lo, hi), GSL_EINVAL);
  EXPECT_ONE(ndpar_model_predict_interval(NULL, m, x, 8, 1, NAN, mean, lo, hi), GSL_EINVAL);
  EXPECT_ONE(ndpar_model_predict_interval(NULL, m, x, 8, 1, 0.9, mean, NULL, hi), GSL_EFAULT);
  EXPECT_ONE(ndpar_model_predict_interval(NULL, m, x, 8, 1, 0.9, mean, lo, NULL), GSL_EFAULT);
  EXPECT_ONE(ndpar_model_predict_interval(NULL, m, x, 8, 1, 0.9, NULL, lo, hi), GSL_EFAULT);
  EXPECT_ONE(ndpar_model_predict_interval(NULL, m, x, 0, 1, 0.9, mean, lo, hi), GSL_EINVAL);
  EXPECT_ONE(ndpar_model_predict_interval(NULL, m, x, 8, 1, 0.9, mean, lo, lo), GSL_EINVAL);
  EXPECT_ONE(ndpar_model_predict_interval(NULL, m, x, 8, 1, 0.9, mean, mean, hi), GSL_EINVAL);
  EXPECT_ONE(ndpar_model_predict_interval(NULL, m, x, 8, 1, 0.9, hi, lo, hi), GSL_EINVAL);
  EXPECT_ONE(ndpar_model_predict_interval(NULL, m, x, 8, 1, 0.9, mean, lo, bi_sentinel_matrix(2, 2)),
              GSL_EBADLEN);
  EXPECT_ONE(ndpar_model_predict_interval(NULL, fitted_ridge(), x, 8, 1, 0.9, mean, lo, hi), GSL_EINVAL);
  bi_assert_untouched_matrix(mean, "mean");
  bi_assert_untouched_matrix(lo, "lower");
  bi_assert_untouched_matrix(hi, "upper");
}

CASE(ndpar_model_fitted, "NULL; unfitted") {
  EXPECT_TRUE(ndpar_model_fitted(NULL) == 0);
  EXPECT_TRUE(ndpar_model_fitted(held(ndpar_linear_alloc())) == 0);
}

CASE(ndpar_model_inputs, "NULL; unfitted: 0") {
  EXPECT_TRUE(ndpar_model_inputs(NULL) == 0);
  EXPECT_TRUE(ndpar_model_inputs(held(ndpar_linear_alloc())) == 0);
  EXPECT_TRUE(ndpar_model_inputs(fitted_ridge()) == 3);
}

CASE(ndpar_model_outputs, "NULL; unfitted: 0") {
  EXPECT_TRUE(ndpar_model_outputs(NULL) == 0);
  EXPECT_TRUE(ndpar_model_outputs(held(ndpar_linear_alloc())) == 0);
  EXPECT_TRUE(ndpar_model_outputs(fitted_ridge()) == 2);
}

CASE(ndpar_model_name, "NULL") {
  const char *name = ndpar_model_name(NULL);
  EXPECT_TRUE(name == NULL || name[0] != '\0');
  EXPECT_TRUE(strcmp(ndpar_model_name(fitted_ridge()), "ridge") == 0);
}

CASE(ndpar_model_free, "NULL") { ndpar_model_free(NULL); }

CASE(ndpar_model_coef, "NULL m or outputs; unfitted; not a linear model: outputs untouched") {
  const gsl_matrix *coef = (const gsl_matrix *)0x1;
  const gsl_vector *b = (const gsl_vector *)0x1;
  EXPECT_ONE(ndpar_model_coef(NULL, &coef, &b), GSL_EFAULT);
  EXPECT_ONE(ndpar_model_coef(fitted_ridge(), NULL, &b), GSL_EFAULT);
  EXPECT_ONE(ndpar_model_coef(fitted_ridge(), &coef, NULL), GSL_EFAULT);
  EXPECT_ONE(ndpar_model_coef(held(ndpar_ridge_alloc(1.0)), &coef, &b), GSL_EINVAL);
  EXPECT_ONE(ndpar_model_coef(fitted_mlp(), &coef, &b), GSL_EINVAL);
  EXPECT_TRUE(coef == (const gsl_matrix *)0x1 && b == (const gsl_vector *)0x1);
  EXPECT_OK(ndpar_model_coef(fitted_ridge(), &coef, &b));
  EXPECT_TRUE(coef->size1 == 3 && coef->size2 == 2 && b->size == 2);
}

/* ---- scores ---- */

CASE(ndpar_score, "NULL; shapes; no rows; unknown kind: score untouched") {
  double s = BI_SENTINEL;
  gsl_matrix *y = bi_matrix(4, 2);
  EXPECT_ONE(ndpar_score(NDPAR_SCORE_R2, NULL, y, &s), GSL_EFAULT);
  EXPECT_ONE(ndpar_score(NDPAR_SCORE_R2, y, NULL, &s), GSL_EFAULT);
  EXPECT_ONE(ndpar_score(NDPAR_SCORE_R2, y, y, NULL), GSL_EFAULT);
  EXPECT_ONE(ndpar_score((ndpar_score_kind)9, y, y, &s), GSL_EINVAL);
  EXPECT_ONE(ndpar_score(NDPAR_SCORE_NEG_MSE, y, bi_matrix(4, 1), &s), GSL_EBADLEN);
  EXPECT_ONE(ndpar_score(NDPAR_SCORE_NEG_MSE, y, bi_matrix(3, 2), &s), GSL_EBADLEN);
  EXPECT_ONE(ndpar_score(NDPAR_SCORE_NEG_MSE, &no_rows, &no_rows, &s), GSL_EINVAL);
  EXPECT_TRUE(s == BI_SENTINEL);
  EXPECT_OK(ndpar_score(NDPAR_SCORE_NEG_MAPE, y, y, &s)); /* zeros in y: eps, not a division by 0 */
  EXPECT_TRUE(s == 0);
}

CASE(ndpar_model_score, "NULL; unknown kind; unfitted; shapes: score untouched") {
  ndpar_model *m = fitted_ridge();
  double s = BI_SENTINEL;
  EXPECT_ONE(ndpar_model_score(NULL, m, NDPAR_SCORE_R2, data_x(), data_y(), NULL), GSL_EFAULT);
  EXPECT_ONE(ndpar_model_score(NULL, NULL, NDPAR_SCORE_R2, data_x(), data_y(), &s), GSL_EFAULT);
  EXPECT_ONE(ndpar_model_score(NULL, m, NDPAR_SCORE_R2, NULL, data_y(), &s), GSL_EFAULT);
  EXPECT_ONE(ndpar_model_score(NULL, m, NDPAR_SCORE_R2, data_x(), NULL, &s), GSL_EFAULT);
  EXPECT_ONE(ndpar_model_score(NULL, m, (ndpar_score_kind)-1, data_x(), data_y(), &s), GSL_EINVAL);
  EXPECT_ONE(ndpar_model_score(NULL, held(ndpar_linear_alloc()), NDPAR_SCORE_R2, data_x(), data_y(), &s),
              GSL_EINVAL);
  EXPECT_ONE(ndpar_model_score(NULL, m, NDPAR_SCORE_R2, data_x(), bi_matrix(12, 1), &s), GSL_EBADLEN);
  EXPECT_ONE(ndpar_model_score(NULL, m, NDPAR_SCORE_R2, &no_rows, &no_rows, &s), GSL_EBADLEN);
  EXPECT_TRUE(s == BI_SENTINEL);
}

CASE(ndpar_model_cross_validate, "NULL; folds of another n; scores' size; unknown kind") {
  ndpar_model *m = held(ndpar_ridge_alloc(1.0));
  ndpar_folds *f = bi_hold(ndpar_folds_kfold(12, 3, 0, 0), free_folds);
  gsl_vector *s = bi_sentinel_vector(3);
  const gsl_matrix *x = data_x();
  const gsl_matrix *y = data_y();
  EXPECT_ONE(ndpar_model_cross_validate(NULL, NULL, x, y, f, NDPAR_SCORE_R2, s), GSL_EFAULT);
  EXPECT_ONE(ndpar_model_cross_validate(NULL, m, NULL, y, f, NDPAR_SCORE_R2, s), GSL_EFAULT);
  EXPECT_ONE(ndpar_model_cross_validate(NULL, m, x, NULL, f, NDPAR_SCORE_R2, s), GSL_EFAULT);
  EXPECT_ONE(ndpar_model_cross_validate(NULL, m, x, y, NULL, NDPAR_SCORE_R2, s), GSL_EFAULT);
  EXPECT_ONE(ndpar_model_cross_validate(NULL, m, x, y, f, NDPAR_SCORE_R2, NULL), GSL_EFAULT);
  EXPECT_ONE(ndpar_model_cross_validate(NULL, m, x, y, f, (ndpar_score_kind)9, s), GSL_EINVAL);
  EXPECT_ONE(ndpar_model_cross_validate(NULL, m, x, y, f, NDPAR_SCORE_R2, bi_sentinel_vector(2)),
              GSL_EBADLEN);
  ndpar_folds *f13 = bi_hold(ndpar_folds_kfold(13, 3, 0, 0), free_folds);
  EXPECT_ONE(ndpar_model_cross_validate(NULL, m, x, y, f13, NDPAR_SCORE_R2, s), GSL_EBADLEN);
  EXPECT_ONE(ndpar_model_cross_validate(NULL, m, x, bi_matrix(11, 2), f, NDPAR_SCORE_R2, s), GSL_EBADLEN);
  gsl_matrix *xn = data_x();
  gsl_matrix_set(xn, 0, 0, NAN);
  EXPECT_ONE(ndpar_model_cross_validate(NULL, m, xn, y, f, NDPAR_SCORE_R2, s), GSL_EDOM);
  bi_assert_untouched_vector(s, "scores");
  EXPECT_TRUE(!ndpar_model_fitted(m));
}

/* ---- forecasting ---- */

CASE(ndpar_model_forecast, "NULL; unfitted; a series shorter than the lags; NaN; out empty") {
  ndpar_model *m = fitted_ridge(); /* 3 lags, 2 outputs */
  gsl_vector *series = bi_vector(10);
  gsl_vector *out = bi_sentinel_vector(5);
  EXPECT_ONE(ndpar_model_forecast(NULL, NULL, series, out), GSL_EFAULT);
  EXPECT_ONE(ndpar_model_forecast(NULL, m, NULL, out), GSL_EFAULT);
  EXPECT_ONE(ndpar_model_forecast(NULL, m, series, NULL), GSL_EFAULT);
  EXPECT_ONE(ndpar_model_forecast(NULL, held(ndpar_ridge_alloc(1)), series, out), GSL_EINVAL);
  EXPECT_ONE(ndpar_model_forecast(NULL, m, bi_vector(2), out), GSL_EBADLEN);
  gsl_vector *sn = bi_vector(10);
  gsl_vector_set(sn, 8, NAN);
  EXPECT_ONE(ndpar_model_forecast(NULL, m, sn, out), GSL_EDOM);
  bi_assert_untouched_vector(out, "out");
  gsl_vector_set(sn, 8, 1.0);
  gsl_vector_set(sn, 0, NAN); /* before the last window: not used */
  EXPECT_OK(ndpar_model_forecast(NULL, m, sn, out));
  static gsl_vector empty = {0, 1, NULL, NULL, 0};
  EXPECT_OK(ndpar_model_forecast(NULL, m, series, &empty)); /* no steps: a no-op */
}

/* ---- persistence ---- */

CASE(ndpar_model_save, "NULL m or path; a directory that does not exist; a bagging model") {
  ndpar_model *m = fitted_ridge();
  EXPECT_ONE(ndpar_model_save(NULL, temp_path()), GSL_EFAULT);
  EXPECT_ONE(ndpar_model_save(m, NULL), GSL_EFAULT);
  bi_unnamed("the file system, not an argument");
  EXPECT_ONE(ndpar_model_save(m, "/nonexistent/dir/m.ndpar"), GSL_EFAILED);
  ndpar_model *bag = held(ndpar_bagging_alloc(m, NULL));
  EXPECT_ONE(ndpar_model_save(bag, temp_path()), GSL_EINVAL);
  EXPECT_TRUE(access("/nonexistent/dir/m.ndpar", F_OK) != 0);
}

CASE(ndpar_model_load, "NULL path or m; a missing file; a directory; text; an empty file") {
  ndpar_model *m = untouched_model;
  EXPECT_ONE(ndpar_model_load(NULL, &m), GSL_EFAULT);
  EXPECT_ONE(ndpar_model_load(temp_path(), NULL), GSL_EFAULT);
  bi_unnamed("the file system, not an argument");
  EXPECT_ONE(ndpar_model_load("/nonexistent/m.ndpar", &m), GSL_EFAILED);
  bi_unnamed("the file system, not an argument");
  EXPECT_EITHER(ndpar_model_load("/tmp", &m), GSL_EFAILED, GSL_EINVAL);
  bi_unnamed("the file's contents, not an argument");
  EXPECT_ONE(ndpar_model_load(temp_text("alpha = 1\n"), &m), GSL_EINVAL);
  bi_unnamed("the file's contents, not an argument");
  EXPECT_ONE(ndpar_model_load(temp_path(), &m), GSL_EINVAL);
  EXPECT_TRUE(m == untouched_model);
}

/* The bytes of a saved model (a new buffer, freed when the case ends). */
static unsigned char *saved_bytes(const ndpar_model *m, size_t *n) {
  const char *path = temp_path();
  EXPECT_OK(ndpar_model_save(m, path));
  FILE *f = fopen(path, "rb");
  cr_assert_not_null(f);
  unsigned char *buf = bi_hold(malloc(1 << 16), free);
  *n = fread(buf, 1, 1 << 16, f);
  fclose(f);
  cr_assert(*n > 0 && *n < (1 << 16));
  return buf;
}

CASE(ndpar_model_load_bytes, "NULL bytes or m; n 0; every truncation; a flipped bit; trailing bytes") {
  ndpar_model *m = untouched_model;
  size_t n = 0;
  unsigned char *bytes = saved_bytes(fitted_ridge(), &n);
  EXPECT_ONE(ndpar_model_load_bytes(NULL, 10, &m), GSL_EFAULT);
  EXPECT_ONE(ndpar_model_load_bytes(bytes, n, NULL), GSL_EFAULT);
  bi_unnamed("the file's contents, not an argument");
  EXPECT_ONE(ndpar_model_load_bytes(NULL, 0, &m), GSL_EINVAL);
  for (size_t k = 0; k < n; k++) {
    bi_unnamed("the file's contents, not an argument");
    EXPECT_ONE(ndpar_model_load_bytes(bytes, k, &m), GSL_EINVAL);
  }
  for (size_t k = 0; k < n; k += 3) {
    bytes[k] ^= 0x10;
    bi_unnamed("the file's contents, not an argument");
    EXPECT_ONE(ndpar_model_load_bytes(bytes, n, &m), GSL_EINVAL);
    bytes[k] ^= 0x10;
  }
  EXPECT_TRUE(m == untouched_model);
  EXPECT_OK(ndpar_model_load_bytes(bytes, n, &m));
  bi_hold(m, free_model);
  EXPECT_TRUE(ndpar_model_fitted(m) && ndpar_model_outputs(m) == 2);
}

/* ---- a model of one's own: the column means of y ---- */

typedef struct {
  gsl_matrix *mean; /* 1 x outputs once fitted */
  int save_bad;     /* 1: save tries the archive with bad arguments first */
} own_state;

static void *own_clone(const void *s) {
  own_state *c = calloc(1, sizeof *c);
  if (c != NULL) c->save_bad = ((const own_state *)s)->save_bad;
  return c;
}

static void own_free(void *vs) {
  own_state *s = vs;
  if (s->mean != NULL) gsl_matrix_free(s->mean);
  free(s);
}

static int own_set(void *s, const char *name, double v) {
  (void)s, (void)name, (void)v;
  return GSL_EINVAL;
}

static int own_get(const void *s, const char *name, double *v) {
  (void)s, (void)name, (void)v;
  return GSL_EINVAL;
}

static int own_fit(ndpar_pool *p, void *vs, const gsl_matrix *x, const gsl_matrix *y,
                   size_t *outputs) {
  (void)p, (void)x;
  own_state *s = vs;
  gsl_matrix *mean = gsl_matrix_calloc(1, y->size2);
  if (mean == NULL) return GSL_ENOMEM;
  for (size_t j = 0; j < y->size2; j++) {
    gsl_vector_const_view c = gsl_matrix_const_column(y, j);
    gsl_matrix_set(mean, 0, j, gsl_stats_mean(c.vector.data, c.vector.stride, c.vector.size));
  }
  if (s->mean != NULL) gsl_matrix_free(s->mean);
  s->mean = mean;
  *outputs = y->size2;
  return GSL_SUCCESS;
}

static int own_predict(const void *vs, const gsl_matrix *x, gsl_matrix *y, gsl_rng *rng) {
  (void)x, (void)rng;
  const own_state *s = vs;
  for (size_t i = 0; i < y->size1; i++) {
    gsl_vector_view row = gsl_matrix_row(y, i);
    gsl_matrix_get_row(&row.vector, s->mean, 0);
  }
  return GSL_SUCCESS;
}

/* The archive's functions are worker-safe: bad arguments are codes, not GSL errors. */
static int own_save(const void *vs, ndpar_model_archive *a) {
  const own_state *s = vs;
  if (s->save_bad) {
    size_t e0 = bi_errors();
    cr_assert_eq(ndpar_model_archive_put(NULL, "mean", s->mean), GSL_EFAULT);
    cr_assert_eq(ndpar_model_archive_put(a, NULL, s->mean), GSL_EFAULT);
    cr_assert_eq(ndpar_model_archive_put(a, "mean", NULL), GSL_EFAULT);
    cr_assert_eq(ndpar_model_archive_put(a, "", s->mean), GSL_EINVAL);
    char longname[4096];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    cr_assert_eq(ndpar_model_archive_put(a, longname, s->mean), GSL_EINVAL);
    cr_assert_eq(ndpar_model_archive_put(a, "mean", s->mean), GSL_SUCCESS);
    cr_assert_eq(ndpar_model_archive_put(a, "mean", s->mean), GSL_EINVAL, "a name twice");
    cr_assert_eq(bi_errors(), e0, "the archive called the GSL error handler");
    return GSL_SUCCESS;
  }
  return ndpar_model_archive_put(a, "mean", s->mean);
}

static int own_load(void *vs, const ndpar_model_archive *a) {
  own_state *s = vs;
  gsl_matrix *mean = (gsl_matrix *)0x1;
  size_t e0 = bi_errors();
  cr_assert_eq(ndpar_model_archive_get(NULL, "mean", &mean), GSL_EFAULT);
  cr_assert_eq(ndpar_model_archive_get(a, NULL, &mean), GSL_EFAULT);
  cr_assert_eq(ndpar_model_archive_get(a, "mean", NULL), GSL_EFAULT);
  cr_assert_eq(ndpar_model_archive_get(a, "nope", &mean), GSL_EINVAL);
  cr_assert_eq(bi_errors(), e0, "the archive called the GSL error handler");
  cr_assert(mean == (gsl_matrix *)0x1, "archive_get wrote x on a refusal");
  int rc = ndpar_model_archive_get(a, "mean", &mean);
  if (rc != GSL_SUCCESS) return rc;
  if (mean->size1 != 1) {
    gsl_matrix_free(mean);
    return GSL_EINVAL;
  }
  if (s->mean != NULL) gsl_matrix_free(s->mean);
  s->mean = mean;
  return GSL_SUCCESS;
}

static const ndpar_model_type own_type = {
    "own", NDPAR_MODEL_REGRESSOR, NULL, own_clone, own_free, own_set, own_get,
    own_fit, own_predict, 0, own_save, own_load};

static ndpar_model *own_model(int save_bad) {
  own_state *s = calloc(1, sizeof *s);
  cr_assert_not_null(s);
  s->save_bad = save_bad;
  return held(ndpar_model_define(&own_type, s));
}

CASE(ndpar_model_define, "NULL type or state; a type without fit, predict, clone or free") {
  own_state s = {NULL, 0};
  EXPECT_NULL1(ndpar_model_define(NULL, &s));
  EXPECT_NULL1(ndpar_model_define(&own_type, NULL));
  ndpar_model_type t = own_type;
  t.fit = NULL;
  EXPECT_NULL1(ndpar_model_define(&t, &s));
  t = own_type;
  t.predict = NULL;
  EXPECT_NULL1(ndpar_model_define(&t, &s));
  t = own_type;
  t.clone = NULL;
  EXPECT_NULL1(ndpar_model_define(&t, &s));
  t = own_type;
  t.free = NULL;
  EXPECT_NULL1(ndpar_model_define(&t, &s));
  t = own_type;
  t.name = NULL;
  EXPECT_NULL1(ndpar_model_define(&t, &s));
  t = own_type;
  t.save = NULL; /* save without load or load without save */
  EXPECT_NULL1(ndpar_model_define(&t, &s));
  t = own_type;
  t.kind = (ndpar_model_kind)7;
  EXPECT_NULL1(ndpar_model_define(&t, &s));
  t = own_type;
  t.name = "my.own"; /* '.' separates a chain's step from its parameter */
  EXPECT_NULL1(ndpar_model_define(&t, &s));
}

CASE(ndpar_model_state, "NULL; a built-in model") {
  EXPECT_TRUE(ndpar_model_state(NULL) == NULL);
  EXPECT_TRUE(ndpar_model_state(fitted_ridge()) == NULL);
  EXPECT_TRUE(ndpar_model_state(own_model(0)) != NULL);
}

CASE(ndpar_model_archive_put, "NULL archive, name or x; an empty, long or repeated name") {
  ndpar_model *m = own_model(1);
  EXPECT_OK(ndpar_model_fit(NULL, m, data_x(), data_y()));
  EXPECT_OK(ndpar_model_save(m, temp_path()));
}

CASE(ndpar_model_archive_get, "NULL archive, name or x; a name not there: x untouched") {
  ndpar_model *m = own_model(0);
  EXPECT_OK(ndpar_model_fit(NULL, m, data_x(), data_y()));
  const char *path = temp_path();
  EXPECT_OK(ndpar_model_save(m, path));
  ndpar_model *back = NULL;
  EXPECT_OK(ndpar_model_load_with(path, (const ndpar_model *const[]){own_model(0)}, 1, &back));
  bi_hold(back, free_model);
  EXPECT_TRUE(ndpar_model_fitted(back) && ndpar_model_outputs(back) == 2);
}

CASE(ndpar_model_load_with, "NULL path, m or prototypes; a NULL prototype; a type not given") {
  ndpar_model *m = own_model(0);
  EXPECT_OK(ndpar_model_fit(NULL, m, data_x(), data_y()));
  const char *path = temp_path();
  EXPECT_OK(ndpar_model_save(m, path));
  ndpar_model *back = untouched_model;
  const ndpar_model *const protos[] = {own_model(0)};
  EXPECT_ONE(ndpar_model_load_with(NULL, protos, 1, &back), GSL_EFAULT);
  EXPECT_ONE(ndpar_model_load_with(path, protos, 1, NULL), GSL_EFAULT);
  EXPECT_ONE(ndpar_model_load_with(path, NULL, 1, &back), GSL_EFAULT);
  EXPECT_ONE(ndpar_model_load_with(path, (const ndpar_model *const[]){NULL}, 1, &back), GSL_EFAULT);
  bi_unnamed("the file's type, not an argument");
  EXPECT_ONE(ndpar_model_load_with(path, NULL, 0, &back), GSL_EINVAL);
  bi_unnamed("the file's type, not an argument");
  EXPECT_ONE(ndpar_model_load(path, &back), GSL_EINVAL);
  bi_unnamed("the file system, not an argument");
  EXPECT_ONE(ndpar_model_load_with("/nonexistent/m", protos, 1, &back), GSL_EFAILED);
  EXPECT_TRUE(back == untouched_model);
}

CASE(ndpar_model_predict_fn, "as a callback: NULL ctx, unfitted, shapes are codes, not GSL errors") {
  ndpar_model *m = fitted_ridge();
  gsl_matrix *y = bi_sentinel_matrix(12, 2);
  size_t e0 = bi_errors();
  EXPECT_TRUE(ndpar_model_predict_fn(data_x(), y, NULL, NULL) == GSL_EINVAL);
  EXPECT_TRUE(ndpar_model_predict_fn(data_x(), y, NULL, held(ndpar_ridge_alloc(1))) == GSL_EINVAL);
  EXPECT_TRUE(ndpar_model_predict_fn(bi_matrix(12, 2), y, NULL, m) == GSL_EBADLEN);
  EXPECT_TRUE(ndpar_model_predict_fn(data_x(), bi_sentinel_matrix(11, 2), NULL, m) == GSL_EBADLEN);
  EXPECT_TRUE(ndpar_model_predict_fn(NULL, y, NULL, m) == GSL_EFAULT);
  EXPECT_TRUE(ndpar_model_predict_fn(data_x(), NULL, NULL, m) == GSL_EFAULT);
  EXPECT_TRUE(bi_errors() == e0);
  bi_assert_untouched_matrix(y, "y");
  EXPECT_TRUE(ndpar_model_predict_fn(data_x(), y, NULL, m) == GSL_SUCCESS);
}

/* ---- ensemble: fitted models as members, bagging ---- */

CASE(ndpar_ensemble_options_init, "NULL; fills every field") {
  ndpar_ensemble_options_init(NULL);
  ndpar_ensemble_options o;
  memset(&o, 0x5a, sizeof o);
  ndpar_ensemble_options_init(&o);
  EXPECT_TRUE(o.agg == NDPAR_AGG_MEAN && o.weights == NULL && o.trim == 0.1 && o.flags == 0);
}

CASE(ndpar_ensemble_predict_models, "m 0; NULL; unfitted; other shapes; bad options; out is spread") {
  ndpar_model *a = fitted_ridge();
  ndpar_model *b = fitted_ridge();
  const ndpar_model *const two[] = {a, b};
  const gsl_matrix *x = data_x();
  gsl_matrix *out = bi_sentinel_matrix(12, 2);
  gsl_matrix *spread = bi_sentinel_matrix(12, 2);
  EXPECT_ONE(ndpar_ensemble_predict_models(NULL, x, two, 0, NULL, out, spread), GSL_EINVAL);
  EXPECT_ONE(ndpar_ensemble_predict_models(NULL, x, NULL, 2, NULL, out, spread), GSL_EFAULT);
  EXPECT_ONE(ndpar_ensemble_predict_models(NULL, NULL, two, 2, NULL, out, spread), GSL_EFAULT);
  EXPECT_ONE(ndpar_ensemble_predict_models(NULL, x, two, 2, NULL, NULL, spread), GSL_EFAULT);
  EXPECT_ONE(ndpar_ensemble_predict_models(NULL, x, (const ndpar_model *const[]){a, NULL}, 2, NULL,
                                            out, spread), GSL_EFAULT);
  ndpar_model *u = held(ndpar_ridge_alloc(1));
  EXPECT_ONE(ndpar_ensemble_predict_models(NULL, x, (const ndpar_model *const[]){a, u}, 2, NULL,
                                            out, spread), GSL_EINVAL);
  ndpar_model *one = held(ndpar_ridge_alloc(1));
  EXPECT_OK(ndpar_model_fit_vector(NULL, one, x, bi_vector(12)));
  EXPECT_ONE(ndpar_ensemble_predict_models(NULL, x, (const ndpar_model *const[]){a, one}, 2, NULL,
                                            out, spread), GSL_EBADLEN);
  EXPECT_ONE(ndpar_ensemble_predict_models(NULL, bi_matrix(12, 2), two, 2, NULL, out, spread),
              GSL_EBADLEN);
  EXPECT_ONE(ndpar_ensemble_predict_models(NULL, x, two, 2, NULL, bi_sentinel_matrix(12, 1), spread),
              GSL_EBADLEN);
  EXPECT_ONE(ndpar_ensemble_predict_models(NULL, x, two, 2, NULL, out, bi_sentinel_matrix(11, 2)),
              GSL_EBADLEN);
  ndpar_ensemble_options o;
  ndpar_ensemble_options_init(&o);
  o.agg = NDPAR_AGG_WEIGHTED_MEAN; /* weights NULL */
  EXPECT_ONE(ndpar_ensemble_predict_models(NULL, x, two, 2, &o, out, spread), GSL_EFAULT);
  o.weights = (const double[]){1, NAN};
  EXPECT_ONE(ndpar_ensemble_predict_models(NULL, x, two, 2, &o, out, spread), GSL_EDOM);
  o.weights = (const double[]){0, 0};
  EXPECT_ONE(ndpar_ensemble_predict_models(NULL, x, two, 2, &o, out, spread), GSL_EINVAL);
  ndpar_ensemble_options_init(&o);
  o.agg = NDPAR_AGG_TRIMMED_MEAN;
  o.trim = 0.5;
  EXPECT_ONE(ndpar_ensemble_predict_models(NULL, x, two, 2, &o, out, spread), GSL_EINVAL);
  o.trim = NAN;
  EXPECT_ONE(ndpar_ensemble_predict_models(NULL, x, two, 2, &o, out, spread), GSL_EDOM);
  ndpar_ensemble_options_init(&o);
  o.agg = (ndpar_agg)99;
  EXPECT_ONE(ndpar_ensemble_predict_models(NULL, x, two, 2, &o, out, spread), GSL_EINVAL);
  EXPECT_ONE(ndpar_ensemble_predict_models(NULL, x, two, 2, NULL, out, out), GSL_EINVAL);
  bi_assert_untouched_matrix(out, "out");
  bi_assert_untouched_matrix(spread, "spread");
}

CASE(ndpar_ensemble_predict_opts, "m 0; NULL x, out, members; bad options named opt; out is spread") {
  const gsl_matrix *x = data_x();
  gsl_matrix *out = bi_sentinel_matrix(12, 3);
  gsl_matrix *spread = bi_sentinel_matrix(12, 3);
  const ndpar_predictor two[] = {{bi_predict_copy, NULL}, {bi_predict_copy, NULL}};
  EXPECT_ONE(ndpar_ensemble_predict_opts(NULL, x, two, 0, NULL, out, spread), GSL_EINVAL);
  EXPECT_ONE(ndpar_ensemble_predict_opts(NULL, NULL, two, 2, NULL, out, spread), GSL_EFAULT);
  EXPECT_ONE(ndpar_ensemble_predict_opts(NULL, x, two, 2, NULL, NULL, spread), GSL_EFAULT);
  EXPECT_ONE(ndpar_ensemble_predict_opts(NULL, x, NULL, 2, NULL, out, spread), GSL_EFAULT);
  ndpar_ensemble_options o;
  ndpar_ensemble_options_init(&o);
  o.agg = NDPAR_AGG_TRIMMED_MEAN;
  o.trim = -0.1;
  EXPECT_ONE(ndpar_ensemble_predict_opts(NULL, x, two, 2, &o, out, spread), GSL_EINVAL);
  o.agg = NDPAR_AGG_WEIGHTED_MEAN;
  EXPECT_ONE(ndpar_ensemble_predict_opts(NULL, x, two, 2, &o, out, spread), GSL_EFAULT);
  EXPECT_ONE(ndpar_ensemble_predict_opts(NULL, x, two, 2, NULL, out, out), GSL_EINVAL);
  bi_assert_untouched_matrix(out, "out");
  bi_assert_untouched_matrix(spread, "spread");
}

CASE(ndpar_bagging_options_init, "NULL; fills every field") {
  ndpar_bagging_options_init(NULL);
  ndpar_bagging_options o;
  memset(&o, 0x5a, sizeof o);
  ndpar_bagging_options_init(&o);
  EXPECT_TRUE(o.members == 10 && o.samples == 1.0 && o.bootstrap == 1 && o.seed == 0);
  EXPECT_TRUE(o.combine.agg == NDPAR_AGG_MEAN && o.combine.weights == NULL);
}

CASE(ndpar_bagging_alloc, "NULL base; a transformer; members 0; samples out of (0, 1]; bad combine") {
  ndpar_model *base = held(ndpar_ridge_alloc(1.0));
  ndpar_bagging_options o;
  EXPECT_NULL1(ndpar_bagging_alloc(NULL, NULL));
  EXPECT_NULL1(ndpar_bagging_alloc(held(ndpar_scaler_model_alloc(NDPAR_SCALE_STANDARD)), NULL));
#define BAD_BAG(field, value)                \
  do {                                       \
    ndpar_bagging_options_init(&o);          \
    o.field = value;                         \
    EXPECT_NULL1(ndpar_bagging_alloc(base, &o)); \
  } while (0)
  BAD_BAG(members, 0);
  BAD_BAG(samples, 0.0);
  BAD_BAG(samples, 1.5);
  BAD_BAG(samples, NAN);
  BAD_BAG(bootstrap, 2);
  BAD_BAG(combine.flags, 1);
  BAD_BAG(combine.agg, (ndpar_agg)99);
#undef BAD_BAG
  ndpar_bagging_options_init(&o);
  o.combine.agg = NDPAR_AGG_TRIMMED_MEAN;
  o.combine.trim = 0.5;
  EXPECT_NULL1(ndpar_bagging_alloc(base, &o));
  ndpar_bagging_options_init(&o);
  o.combine.agg = NDPAR_AGG_WEIGHTED_MEAN;
  EXPECT_NULL1(ndpar_bagging_alloc(base, &o));
  o.members = 2;
  o.combine.weights = (const double[]){0, 0};
  EXPECT_NULL1(ndpar_bagging_alloc(base, &o));
  o.combine.weights = (const double[]){1, -1};
  EXPECT_NULL1(ndpar_bagging_alloc(base, &o));
}

CASE(ndpar_bagging_alloc, "members SIZE_MAX: refused at alloc or fit, never a crash") {
  ndpar_bagging_options o;
  ndpar_bagging_options_init(&o);
  o.members = SIZE_MAX;
  ndpar_model *bag = ndpar_bagging_alloc(held(ndpar_ridge_alloc(1.0)), &o);
  if (bag == NULL) {
    bi_check_last_error("ndpar_bagging_alloc(", 0);
    return;
  }
  bi_hold(bag, free_model);
  EXPECT_EITHER(ndpar_model_fit(NULL, bag, data_x(), data_y()), GSL_EINVAL, GSL_ENOMEM);
  EXPECT_TRUE(!ndpar_model_fitted(bag));
}

static ndpar_model *fitted_bag(void) {
  ndpar_bagging_options o;
  ndpar_bagging_options_init(&o);
  o.members = 3;
  ndpar_model *bag = held(ndpar_bagging_alloc(held(ndpar_ridge_alloc(1.0)), &o));
  EXPECT_OK(ndpar_model_fit(NULL, bag, data_x(), data_y()));
  return bag;
}

CASE(ndpar_bagging_member, "NULL; unfitted; no bagging model; i past the end") {
  EXPECT_TRUE(ndpar_bagging_member(NULL, 0) == NULL);
  EXPECT_TRUE(ndpar_bagging_member(fitted_ridge(), 0) == NULL);
  EXPECT_TRUE(ndpar_bagging_member(held(ndpar_bagging_alloc(fitted_ridge(), NULL)), 0) == NULL);
  ndpar_model *bag = fitted_bag();
  EXPECT_TRUE(ndpar_bagging_member(bag, 3) == NULL && ndpar_bagging_member(bag, SIZE_MAX) == NULL);
  EXPECT_TRUE(ndpar_model_fitted(ndpar_bagging_member(bag, 2)));
}

CASE(ndpar_bagging_rows, "NULL; unfitted; no bagging model; i past the end: outputs untouched") {
  const size_t *rows = (const size_t *)0x1;
  size_t count = 4242;
  ndpar_model *bag = fitted_bag();
  EXPECT_ONE(ndpar_bagging_rows(bag, 0, NULL, &count), GSL_EFAULT);
  EXPECT_ONE(ndpar_bagging_rows(bag, 0, &rows, NULL), GSL_EFAULT);
  EXPECT_ONE(ndpar_bagging_rows(NULL, 0, &rows, &count), GSL_EINVAL);
  EXPECT_ONE(ndpar_bagging_rows(fitted_ridge(), 0, &rows, &count), GSL_EINVAL);
  EXPECT_ONE(ndpar_bagging_rows(held(ndpar_bagging_alloc(fitted_ridge(), NULL)), 0, &rows, &count),
              GSL_EINVAL);
  EXPECT_ONE(ndpar_bagging_rows(bag, 3, &rows, &count), GSL_EINVAL);
  EXPECT_TRUE(rows == (const size_t *)0x1 && count == 4242);
  EXPECT_OK(ndpar_bagging_rows(bag, 2, &rows, &count));
  EXPECT_TRUE(count == 12);
}

/* ---- grid: searches of a model ---- */

static ndpar_grid *alpha_grid(const char *axis) {
  ndpar_grid *g = bi_hold(ndpar_grid_alloc(), free_grid);
  cr_assert_not_null(g);
  EXPECT_OK(ndpar_grid_add(g, axis, (const double[]){0.1, 1, 10}, 3));
  return g;
}

CASE(ndpar_grid_search_model, "NULL; an empty grid; an axis not a parameter; a refused value; shapes") {
  ndpar_model *m = held(ndpar_ridge_alloc(1.0));
  ndpar_grid *g = alpha_grid("ridge.alpha");
  ndpar_folds *f = bi_hold(ndpar_folds_kfold(12, 3, 0, 0), free_folds);
  ndpar_grid_result *r = bi_hold(ndpar_grid_result_alloc_est(3, 3, 1, 0), free_result);
  const gsl_matrix *x = data_x();
  const gsl_matrix *y = data_y();
  gsl_vector_set_all(r->mean, BI_SENTINEL);
  EXPECT_ONE(ndpar_grid_search_model(NULL, NULL, x, y, f, m, NULL, r), GSL_EFAULT);
  EXPECT_ONE(ndpar_grid_search_model(NULL, g, NULL, y, f, m, NULL, r), GSL_EFAULT);
  EXPECT_ONE(ndpar_grid_search_model(NULL, g, x, NULL, f, m, NULL, r), GSL_EFAULT);
  EXPECT_ONE(ndpar_grid_search_model(NULL, g, x, y, NULL, m, NULL, r), GSL_EFAULT);
  EXPECT_ONE(ndpar_grid_search_model(NULL, g, x, y, f, NULL, NULL, r), GSL_EFAULT);
  EXPECT_ONE(ndpar_grid_search_model(NULL, g, x, y, f, m, NULL, NULL), GSL_EFAULT);
  ndpar_grid *empty = bi_hold(ndpar_grid_alloc(), free_grid);
  EXPECT_ONE(ndpar_grid_search_model(NULL, empty, x, y, f, m, NULL, r), GSL_EINVAL);
  EXPECT_ONE(ndpar_grid_search_model(NULL, alpha_grid("mlp.lr"), x, y, f, m, NULL, r), GSL_EINVAL);
  ndpar_grid *neg = bi_hold(ndpar_grid_alloc(), free_grid);
  EXPECT_OK(ndpar_grid_add(neg, "alpha", (const double[]){1, -1}, 2));
  EXPECT_ONE(ndpar_grid_search_model(NULL, neg, x, y, f, m, NULL, r), GSL_EINVAL);
  EXPECT_ONE(ndpar_grid_search_model(NULL, g, x, bi_matrix(11, 2), f, m, NULL, r), GSL_EBADLEN);
  EXPECT_ONE(ndpar_grid_search_model(NULL, g, x, y, f, m, NULL,
                                      bi_hold(ndpar_grid_result_alloc_est(2, 3, 1, 0), free_result)),
              GSL_EBADLEN);
  ndpar_grid_options o = {0};
  o.nscores = 2; /* scores NULL */
  EXPECT_ONE(ndpar_grid_search_model(NULL, g, x, y, f, m, &o, r), GSL_EFAULT);
  o.scores = (const ndpar_score_kind[]){NDPAR_SCORE_R2, (ndpar_score_kind)9};
  EXPECT_ONE(ndpar_grid_search_model(NULL, g, x, y, f, m, &o, r), GSL_EINVAL);
  gsl_matrix *xn = data_x();
  gsl_matrix_set(xn, 2, 2, INFINITY);
  EXPECT_ONE(ndpar_grid_search_model(NULL, g, xn, y, f, m, NULL, r), GSL_EDOM);
  bi_assert_untouched_vector(r->mean, "result->mean");
  EXPECT_TRUE(!ndpar_model_fitted(m) && ndpar_grid_result_model(r) == NULL);
}

CASE(ndpar_grid_halving_model, "NULL h; param with rows or without; param not a parameter") {
  ndpar_model *m = held(ndpar_ridge_alloc(1.0));
  ndpar_grid *g = alpha_grid("alpha");
  ndpar_folds *f = bi_hold(ndpar_folds_kfold(12, 3, 0, 0), free_folds);
  ndpar_grid_result *r = bi_hold(ndpar_grid_result_alloc_est(3, 3, 1, 0), free_result);
  const gsl_matrix *x = data_x();
  const gsl_matrix *y = data_y();
  gsl_vector_set_all(r->mean, BI_SENTINEL);
  ndpar_halving h = {2, 4, 8, 1};
  EXPECT_ONE(ndpar_grid_halving_model(NULL, g, x, y, f, m, NULL, NULL, NULL, r), GSL_EFAULT);
  EXPECT_ONE(ndpar_grid_halving_model(NULL, g, x, y, f, NULL, &h, NULL, NULL, r), GSL_EFAULT);
  EXPECT_ONE(ndpar_grid_halving_model(NULL, g, x, y, f, m, &h, "alpha", NULL, r), GSL_EINVAL);
  h.rows = 0;
  EXPECT_ONE(ndpar_grid_halving_model(NULL, g, x, y, f, m, &h, NULL, NULL, r), GSL_EINVAL);
  EXPECT_ONE(ndpar_grid_halving_model(NULL, g, x, y, f, m, &h, "mlp.epochs", NULL, r), GSL_EINVAL);
  h.rows = 1;
  h.factor = 1;
  EXPECT_ONE(ndpar_grid_halving_model(NULL, g, x, y, f, m, &h, NULL, NULL, r), GSL_EINVAL);
  h.factor = 2;
  h.min_resource = 9; /* above max_resource */
  EXPECT_ONE(ndpar_grid_halving_model(NULL, g, x, y, f, m, &h, NULL, NULL, r), GSL_EINVAL);
  h.min_resource = 2;
  h.max_resource = 100; /* beyond the smallest training fold (8 rows) */
  EXPECT_ONE(ndpar_grid_halving_model(NULL, g, x, y, f, m, &h, NULL, NULL, r), GSL_EINVAL);
  bi_assert_untouched_vector(r->mean, "result->mean");
}

CASE(ndpar_grid_result_model, "NULL; no refit; a search of another form") {
  EXPECT_TRUE(ndpar_grid_result_model(NULL) == NULL);
  ndpar_grid_result *r = bi_hold(ndpar_grid_result_alloc_est(3, 3, 1, 0), free_result);
  EXPECT_TRUE(ndpar_grid_result_model(r) == NULL);
  ndpar_folds *f = bi_hold(ndpar_folds_kfold(12, 3, 0, 0), free_folds);
  EXPECT_OK(ndpar_grid_search_model(NULL, alpha_grid("alpha"), data_x(), data_y(), f,
                                    held(ndpar_ridge_alloc(1.0)), NULL, r));
  EXPECT_TRUE(ndpar_grid_result_model(r) == NULL); /* no NDPAR_GRID_REFIT */
}

CASE(ndpar_grid_result_take_model, "NULL; no refit; taken twice") {
  EXPECT_TRUE(ndpar_grid_result_take_model(NULL) == NULL);
  ndpar_grid_result *r = bi_hold(ndpar_grid_result_alloc_est(3, 3, 1, 0), free_result);
  EXPECT_TRUE(ndpar_grid_result_take_model(r) == NULL);
  ndpar_folds *f = bi_hold(ndpar_folds_kfold(12, 3, 0, 0), free_folds);
  ndpar_grid_options o = {0};
  o.flags = NDPAR_GRID_REFIT;
  EXPECT_OK(ndpar_grid_search_model(NULL, alpha_grid("alpha"), data_x(), data_y(), f,
                                    held(ndpar_ridge_alloc(1.0)), &o, r));
  ndpar_model *m = held(ndpar_grid_result_take_model(r));
  EXPECT_TRUE(ndpar_model_fitted(m));
  EXPECT_TRUE(ndpar_grid_result_take_model(r) == NULL && ndpar_grid_result_model(r) == NULL);
}

/* ---- io: a dated file onto a grid, windows into new matrices ---- */

CASE(ndpar_series_read, "NULL path or out; a missing file; one column; dates off the grid") {
  ndpar_series *s = (ndpar_series *)0x1;
  const char *ok = temp_text("date,v\n2020-01-01,1\n2020-03-01,3\n");
  EXPECT_ONE(ndpar_series_read(NULL, NULL, NULL, NDPAR_STEP_MONTH, 1, NDPAR_FILL_LINEAR, &s, NULL),
              GSL_EFAULT);
  EXPECT_ONE(ndpar_series_read(NULL, ok, NULL, NDPAR_STEP_MONTH, 1, NDPAR_FILL_LINEAR, NULL, NULL),
              GSL_EFAULT);
  EXPECT_ONE(ndpar_series_read(NULL, ok, NULL, NDPAR_STEP_MONTH, 0, NDPAR_FILL_LINEAR, &s, NULL),
              GSL_EINVAL);
  EXPECT_ONE(ndpar_series_read(NULL, ok, NULL, (ndpar_step_unit)99, 1, NDPAR_FILL_LINEAR, &s, NULL),
              GSL_EINVAL);
  EXPECT_ONE(ndpar_series_read(NULL, ok, NULL, NDPAR_STEP_MONTH, 1, (ndpar_fill)99, &s, NULL),
              GSL_EINVAL);
  bi_unnamed("the file system, not an argument");
  EXPECT_ONE(ndpar_series_read(NULL, "/nonexistent/s.csv", NULL, NDPAR_STEP_MONTH, 1,
                                NDPAR_FILL_LINEAR, &s, NULL), GSL_EFAILED);
  EXPECT_ONE(ndpar_series_read(NULL, temp_text("date\n2020-01-01\n"), NULL, NDPAR_STEP_MONTH, 1,
                                NDPAR_FILL_LINEAR, &s, NULL), GSL_EBADLEN);
  bi_unnamed("the file's dates, not an argument");
  EXPECT_ONE(ndpar_series_read(NULL, temp_text("date,v\n2020-01-01,1\n2020-01-15,3\n"), NULL,
                                NDPAR_STEP_MONTH, 1, NDPAR_FILL_LINEAR, &s, NULL), GSL_EINVAL);
  bi_unnamed("the file's dates, not an argument");
  EXPECT_ONE(ndpar_series_read(NULL, temp_text("date,v\n2020-03-01,1\n2020-01-01,3\n"), NULL,
                                NDPAR_STEP_MONTH, 1, NDPAR_FILL_LINEAR, &s, NULL), GSL_EINVAL);
  EXPECT_TRUE(s == (ndpar_series *)0x1);
  EXPECT_OK(ndpar_series_read(NULL, ok, NULL, NDPAR_STEP_MONTH, 1, NDPAR_FILL_LINEAR, &s, NULL));
  bi_hold(s, free_series);
  EXPECT_TRUE(s->values->size1 == 3 && s->nfilled == 1 && gsl_matrix_get(s->values, 1, 0) > 1);
}

CASE(ndpar_windows_alloc, "NULL; lags, horizon or step 0; a short series; x is y; a size overflow") {
  gsl_matrix *x = (gsl_matrix *)0x1;
  gsl_matrix *y = (gsl_matrix *)0x1;
  gsl_vector *s = bi_vector(10);
  EXPECT_ONE(ndpar_windows_alloc(NULL, 3, 1, 1, &x, &y), GSL_EFAULT);
  EXPECT_ONE(ndpar_windows_alloc(s, 3, 1, 1, NULL, &y), GSL_EFAULT);
  EXPECT_ONE(ndpar_windows_alloc(s, 3, 1, 1, &x, NULL), GSL_EFAULT);
  EXPECT_ONE(ndpar_windows_alloc(s, 0, 1, 1, &x, &y), GSL_EINVAL);
  EXPECT_ONE(ndpar_windows_alloc(s, 3, 0, 1, &x, &y), GSL_EINVAL);
  EXPECT_ONE(ndpar_windows_alloc(s, 3, 1, 0, &x, &y), GSL_EINVAL);
  EXPECT_ONE(ndpar_windows_alloc(s, 8, 3, 1, &x, &y), GSL_EINVAL);
  EXPECT_ONE(ndpar_windows_alloc(s, SIZE_MAX, 2, 1, &x, &y), GSL_EINVAL);
  EXPECT_ONE(ndpar_windows_alloc(s, 3, SIZE_MAX, 1, &x, &y), GSL_EINVAL);
  EXPECT_ONE(ndpar_windows_alloc(s, 3, 1, 1, &x, &x), GSL_EINVAL);
  /* a series of 2^40 values (stride 0: one double) whose windows cannot exist */
  double one = 1.0;
  gsl_vector huge = {(size_t)1 << 40, 0, &one, NULL, 0};
  EXPECT_EITHER(ndpar_windows_alloc(&huge, (size_t)1 << 30, (size_t)1 << 30, 1, &x, &y), GSL_EINVAL,
                GSL_ENOMEM);
  EXPECT_TRUE(x == (gsl_matrix *)0x1 && y == (gsl_matrix *)0x1);
  EXPECT_OK(ndpar_windows_alloc(s, 3, 2, 1, &x, &y));
  bi_hold(x, bi_free_matrix);
  bi_hold(y, bi_free_matrix);
  EXPECT_TRUE(x->size1 == 6 && x->size2 == 3 && y->size2 == 2 && gsl_matrix_get(y, 5, 1) == 9);
}
