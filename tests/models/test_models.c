/* test_models.c: the model object, ridge and least squares against scikit-learn, scalers
 * as transformers, chains without leakage, cross-validation, forecasts, files. */
#include <criterion/criterion.h>
#include <gsl/gsl_blas.h>
#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ndpar/ndpar_io.h"
#include "ndpar/ndpar_models.h"
#include "test_util.h"

#ifndef NDPAR_TEST_MODELS_DATA
#define NDPAR_TEST_MODELS_DATA "tests/models/data"
#endif

/* ---- helpers ---- */

static double max_abs(const gsl_matrix *m) {
  double most = 0;
  for (size_t i = 0; i < m->size1; i++)
    for (size_t j = 0; j < m->size2; j++) most = fmax(most, fabs(gsl_matrix_get(m, i, j)));
  return most;
}

/* max |a - b| / max(|b|) over the matrices (0 if b is all zero and a equals it). */
static double rel_diff(const gsl_matrix *a, const gsl_matrix *b) {
  double most = 0;
  for (size_t i = 0; i < a->size1; i++)
    for (size_t j = 0; j < a->size2; j++)
      most = fmax(most, fabs(gsl_matrix_get(a, i, j) - gsl_matrix_get(b, i, j)));
  double scale = max_abs(b);
  return scale > 0 ? most / scale : most;
}

static int bits_equal(const gsl_matrix *a, const gsl_matrix *b) {
  if (a->size1 != b->size1 || a->size2 != b->size2) return 0;
  for (size_t i = 0; i < a->size1; i++)
    if (memcmp(gsl_matrix_const_ptr(a, i, 0), gsl_matrix_const_ptr(b, i, 0),
               a->size2 * sizeof(double)) != 0)
      return 0;
  return 1;
}

/* Targets y = x w + 2 + noise, w fixed per column, k outputs. */
static gsl_matrix *linear_targets(gsl_rng *r, const gsl_matrix *x, size_t k) {
  gsl_matrix *y = gsl_matrix_alloc(x->size1, k);
  for (size_t i = 0; i < x->size1; i++)
    for (size_t o = 0; o < k; o++) {
      double t = 2.0 + 0.1 * gsl_ran_gaussian(r, 1.0);
      for (size_t j = 0; j < x->size2; j++)
        t += gsl_matrix_get(x, i, j) * ((double)(j + 1) / (double)(o + 1));
      gsl_matrix_set(y, i, o, t);
    }
  return y;
}

/* ---- scikit-learn references (tests/models/sklearn_reference.py) ---- */

typedef struct {
  size_t n, p, k;
  double alpha;
  gsl_matrix *x, *y, *coef, *pred;
  gsl_vector *intercept;
} sk_case;

static sk_case sk_load(const char *name) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s.csv", NDPAR_TEST_MODELS_DATA, name);
  ndpar_csv_options opt;
  ndpar_csv_options_init(&opt);
  opt.header = 0;
  gsl_matrix *all = NULL;
  cr_assert_eq(ndpar_csv_read(NULL, path, &opt, &all, NULL, NULL), GSL_SUCCESS, "%s", path);
  sk_case c;
  c.n = (size_t)gsl_matrix_get(all, 0, 0);
  c.p = (size_t)gsl_matrix_get(all, 0, 1);
  c.k = (size_t)gsl_matrix_get(all, 0, 2);
  c.alpha = gsl_matrix_get(all, 0, 3);
  c.x = gsl_matrix_alloc(c.n, c.p);
  c.y = gsl_matrix_alloc(c.n, c.k);
  c.coef = gsl_matrix_alloc(c.p, c.k);
  c.intercept = gsl_vector_alloc(c.k);
  c.pred = gsl_matrix_alloc(c.n, c.k);
  for (size_t i = 0; i < c.n; i++) {
    for (size_t j = 0; j < c.p; j++) gsl_matrix_set(c.x, i, j, gsl_matrix_get(all, 1 + i, j));
    for (size_t o = 0; o < c.k; o++) gsl_matrix_set(c.y, i, o, gsl_matrix_get(all, 1 + i, c.p + o));
  }
  for (size_t j = 0; j < c.p; j++)
    for (size_t o = 0; o < c.k; o++) gsl_matrix_set(c.coef, j, o, gsl_matrix_get(all, 1 + c.n + j, o));
  for (size_t o = 0; o < c.k; o++) gsl_vector_set(c.intercept, o, gsl_matrix_get(all, 1 + c.n + c.p, o));
  for (size_t i = 0; i < c.n; i++)
    for (size_t o = 0; o < c.k; o++)
      gsl_matrix_set(c.pred, i, o, gsl_matrix_get(all, 2 + c.n + c.p + i, o));
  gsl_matrix_free(all);
  return c;
}

static void sk_free(sk_case *c) {
  gsl_matrix_free(c->x);
  gsl_matrix_free(c->y);
  gsl_matrix_free(c->coef);
  gsl_matrix_free(c->pred);
  gsl_vector_free(c->intercept);
}

/* ndpar's ridge (alpha >= 0) or least squares (alpha < 0) against scikit-learn's fit of the
 * same data: predictions within pred_tol, coefficients within coef_tol (relative). */
static void check_sklearn(const char *name, double coef_tol, double pred_tol) {
  sk_case c = sk_load(name);
  ndpar_model *m = c.alpha < 0 ? ndpar_linear_alloc() : ndpar_ridge_alloc(c.alpha);
  cr_assert_eq(ndpar_model_fit(NULL, m, c.x, c.y), GSL_SUCCESS);
  const gsl_matrix *coef = NULL;
  const gsl_vector *intercept = NULL;
  cr_assert_eq(ndpar_model_coef(m, &coef, &intercept), GSL_SUCCESS);
  double dc = rel_diff(coef, c.coef);
  gsl_matrix_const_view iv = gsl_matrix_const_view_vector(intercept, 1, c.k);
  gsl_matrix_const_view rv = gsl_matrix_const_view_vector(c.intercept, 1, c.k);
  double di = rel_diff(&iv.matrix, &rv.matrix);
  gsl_matrix *pred = gsl_matrix_alloc(c.n, c.k);
  cr_assert_eq(ndpar_model_predict(NULL, m, c.x, pred), GSL_SUCCESS);
  double dp = rel_diff(pred, c.pred);
  cr_log_info("%s: coef %.3g, intercept %.3g, predictions %.3g relative", name, dc, di, dp);
  cr_expect(dc <= coef_tol, "%s: coefficients differ by %.3g relative (tolerance %.3g)", name, dc, coef_tol);
  cr_expect(di <= coef_tol, "%s: intercepts differ by %.3g relative", name, di);
  cr_expect(dp <= pred_tol, "%s: predictions differ by %.3g relative (tolerance %.3g)", name, dp, pred_tol);
  gsl_matrix_free(pred);
  ndpar_model_free(m);
  sk_free(&c);
}

Test(models, ridge_equals_sklearn) {
  check_sklearn("ridge_50x5x1", 1e-10, 1e-10);
  check_sklearn("ridge_40x8x3", 1e-10, 1e-10);
  check_sklearn("ridge_12x30x2", 1e-10, 1e-10); /* more features than rows: kernel form */
  /* 7 rows and 7 features: the centred x has rank 6, so at alpha = 1e-3 the normal
   * equations' condition number is about 1e8 and two correct Cholesky solvers (LAPACK's and
   * this one) agree on the coefficients to about 1e8 eps; the predictions stay within 1e-10 */
  check_sklearn("ridge_7x7x1", 1e-8, 1e-10);
  check_sklearn("ridge_co2", 1e-10, 1e-10);
}

Test(models, least_squares_equals_sklearn) {
  check_sklearn("ols_30x4x2", 1e-10, 1e-10);
  check_sklearn("ols_10x25x2", 1e-10, 1e-10); /* minimum-norm solution of a wide system */
  /* twelve nearly collinear monthly lags (condition number ~1e5): the coefficients move
   * with the solver's rounding, the predictions do not */
  check_sklearn("ols_co2", 1e-8, 1e-12);
}

/* Ridge's normal equations hold at the solution: (Xc^T Xc + alpha I) w = Xc^T yc, and
 * the intercept makes the residuals sum to zero. */
Test(models, ridge_satisfies_its_normal_equations) {
  gsl_rng *r = test_rng();
  size_t shapes[][2] = {{1, 1}, {2, 3}, {20, 4}, {9, 40}, {300, 17}};
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    size_t n = shapes[s][0];
    size_t p = shapes[s][1];
    gsl_matrix *x = test_random_matrix(r, n, p);
    gsl_matrix *y = linear_targets(r, x, 2);
    double alpha = 0.5;
    ndpar_model *m = ndpar_ridge_alloc(alpha);
    cr_assert_eq(ndpar_model_fit(NULL, m, x, y), GSL_SUCCESS);
    gsl_matrix *pred = gsl_matrix_alloc(n, 2);
    cr_assert_eq(ndpar_model_predict(NULL, m, x, pred), GSL_SUCCESS);
    const gsl_matrix *w = NULL;
    const gsl_vector *b = NULL;
    ndpar_model_coef(m, &w, &b);
    for (size_t o = 0; o < 2; o++) {
      double resid_sum = 0;
      for (size_t i = 0; i < n; i++) resid_sum += gsl_matrix_get(y, i, o) - gsl_matrix_get(pred, i, o);
      cr_expect(fabs(resid_sum) < 1e-9 * (1 + max_abs(y)) * (double)n, "residual sum %g", resid_sum);
      /* gradient of the penalised loss: -X^T r + alpha w = 0 (centred or not, since sum r = 0) */
      for (size_t j = 0; j < p; j++) {
        double g = alpha * gsl_matrix_get(w, j, o);
        for (size_t i = 0; i < n; i++)
          g -= gsl_matrix_get(x, i, j) * (gsl_matrix_get(y, i, o) - gsl_matrix_get(pred, i, o));
        cr_expect(fabs(g) < 1e-8 * (1 + max_abs(y)) * (double)n, "shape %zu x %zu: gradient %g", n, p, g);
      }
    }
    gsl_matrix_free(pred);
    gsl_matrix_free(x);
    gsl_matrix_free(y);
    ndpar_model_free(m);
  }
  gsl_rng_free(r);
}

/* ---- predict in parallel ---- */

Test(models, parallel_predict_equals_one_batch) {
  gsl_rng *r = test_rng();
  size_t threads_max = test_max_threads();
  size_t sizes[] = {0, 1, 2, 3, 63, 64, 65, 1000, 4099};
  gsl_matrix *xtr = test_random_matrix(r, 200, 6);
  gsl_matrix *ytr = linear_targets(r, xtr, 3);
  ndpar_model *steps[] = {ndpar_scaler_model_alloc(NDPAR_SCALE_ROBUST), ndpar_ridge_alloc(2.0)};
  ndpar_model *m = ndpar_chain_alloc(steps, 2);
  cr_assert_eq(ndpar_model_fit(NULL, m, xtr, ytr), GSL_SUCCESS);
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
    size_t n = sizes[s];
    gsl_matrix *x = n > 0 ? test_random_matrix(r, n, 6) : NULL;
    gsl_matrix *ref = n > 0 ? gsl_matrix_alloc(n, 3) : NULL;
    if (n == 0) continue;
    /* one batch, in this thread: the task callback directly */
    cr_assert_eq(ndpar_model_predict_fn(x, ref, NULL, m), GSL_SUCCESS);
    for (size_t t = 1; t <= threads_max; t++) {
      ndpar_pool *pool = test_pool_of(t);
      gsl_matrix *y = gsl_matrix_alloc(n, 3);
      cr_assert_eq(ndpar_model_predict(pool, m, x, y), GSL_SUCCESS);
      cr_expect(bits_equal(y, ref), "%zu rows at %zu threads", n, t);
      gsl_matrix_free(y);
      ndpar_pool_free(pool);
    }
    gsl_matrix_free(x);
    gsl_matrix_free(ref);
  }
  ndpar_model_free(m);
  gsl_matrix_free(xtr);
  gsl_matrix_free(ytr);
  gsl_rng_free(r);
}

/* ---- parameters ---- */

Test(models, parameters_by_name) {
  test_quiet_gsl_errors();
  ndpar_model *steps[] = {ndpar_scaler_model_alloc(NDPAR_SCALE_STANDARD), ndpar_ridge_alloc(1.0)};
  ndpar_model *chain = ndpar_chain_alloc(steps, 2);
  double v = 0;
  cr_assert_eq(ndpar_model_set(chain, "ridge.alpha", 3.5), GSL_SUCCESS);
  cr_assert_eq(ndpar_model_get(chain, "ridge.alpha", &v), GSL_SUCCESS);
  cr_expect_eq(v, 3.5);
  cr_assert_eq(ndpar_model_get(chain, "1.alpha", &v), GSL_SUCCESS);
  cr_expect_eq(v, 3.5);
  cr_assert_eq(ndpar_model_get(steps[1], "alpha", &v), GSL_SUCCESS);
  cr_expect_eq(v, 3.5);
  cr_assert_eq(ndpar_model_get(steps[1], "ridge.alpha", &v), GSL_SUCCESS);
  cr_assert_eq(ndpar_model_set(chain, "scaler.kind", NDPAR_SCALE_MAXABS), GSL_SUCCESS);
  cr_assert_eq(ndpar_model_get(chain, "0.kind", &v), GSL_SUCCESS);
  cr_expect_eq(v, NDPAR_SCALE_MAXABS);
  /* unknown names and bad values: GSL_EINVAL naming them, value untouched */
  size_t errors = test_gsl_error_count();
  v = 42;
  cr_expect_eq(ndpar_model_set(chain, "ridge.alpa", 1.0), GSL_EINVAL);
  cr_expect(strstr(test_gsl_last_reason(), "ridge.alpa") != NULL, "%s", test_gsl_last_reason());
  cr_expect_eq(ndpar_model_set(chain, "ridge.alpha", -1.0), GSL_EINVAL);
  cr_expect_eq(ndpar_model_set(chain, "ridge.alpha", NAN), GSL_EINVAL);
  cr_expect_eq(ndpar_model_set(chain, "scaler.kind", 17), GSL_EINVAL);
  cr_expect_eq(ndpar_model_set(chain, "scaler.kind", 0.5), GSL_EINVAL);
  cr_expect_eq(ndpar_model_set(chain, "7.alpha", 1.0), GSL_EINVAL);
  cr_expect_eq(ndpar_model_set(chain, "alpha", 1.0), GSL_EINVAL);
  cr_expect_eq(ndpar_model_get(chain, "mlp.lr", &v), GSL_EINVAL);
  cr_expect_eq(v, 42);
  cr_expect_eq(test_gsl_error_count(), errors + 8);
  cr_assert_eq(ndpar_model_get(chain, "ridge.alpha", &v), GSL_SUCCESS);
  cr_expect_eq(v, 3.5);
  ndpar_model_free(chain);
}

Test(models, clone_is_unfitted_with_the_same_parameters) {
  gsl_rng *r = test_rng();
  gsl_matrix *x = test_random_matrix(r, 50, 3);
  gsl_matrix *y = linear_targets(r, x, 1);
  ndpar_model *steps[] = {ndpar_scaler_model_alloc(NDPAR_SCALE_MINMAX1), ndpar_ridge_alloc(0.25)};
  ndpar_model *chain = ndpar_chain_alloc(steps, 2);
  cr_assert_eq(ndpar_model_fit(NULL, chain, x, y), GSL_SUCCESS);
  cr_expect(ndpar_model_fitted(chain));
  cr_expect_eq(ndpar_model_inputs(chain), 3);
  cr_expect_eq(ndpar_model_outputs(chain), 1);
  ndpar_model *c = ndpar_model_clone(chain);
  cr_expect(!ndpar_model_fitted(c));
  cr_expect_eq(ndpar_model_outputs(c), 0);
  double v = 0;
  ndpar_model_get(c, "ridge.alpha", &v);
  cr_expect_eq(v, 0.25);
  ndpar_model_get(c, "scaler.kind", &v);
  cr_expect_eq(v, NDPAR_SCALE_MINMAX1);
  /* the clone fitted on the same data predicts the same bits */
  cr_assert_eq(ndpar_model_fit(NULL, c, x, y), GSL_SUCCESS);
  gsl_matrix *p1 = gsl_matrix_alloc(50, 1);
  gsl_matrix *p2 = gsl_matrix_alloc(50, 1);
  ndpar_model_predict(NULL, chain, x, p1);
  ndpar_model_predict(NULL, c, x, p2);
  cr_expect(bits_equal(p1, p2));
  /* a parameter change unfits */
  ndpar_model_set(c, "ridge.alpha", 1.0);
  cr_expect(!ndpar_model_fitted(c));
  gsl_matrix_free(p1);
  gsl_matrix_free(p2);
  ndpar_model_free(c);
  ndpar_model_free(chain);
  gsl_matrix_free(x);
  gsl_matrix_free(y);
  gsl_rng_free(r);
}

/* ---- chains: no leakage ---- */

/* A chain fitted on training rows transforms other rows with the training statistics:
 * equal, bit for bit, to a scaler fitted on the training rows alone, then ridge. */
Test(models, chain_uses_training_statistics) {
  gsl_rng *r = test_rng();
  gsl_matrix *xtr = test_random_matrix(r, 80, 4);
  gsl_matrix *xva = test_random_matrix(r, 30, 4);
  gsl_matrix_scale(xva, 7.0); /* other statistics than the training rows' */
  gsl_matrix_add_constant(xva, 3.0);
  gsl_matrix *ytr = linear_targets(r, xtr, 2);
  ndpar_scale_kind kinds[] = {NDPAR_SCALE_STANDARD, NDPAR_SCALE_MINMAX, NDPAR_SCALE_MINMAX1,
                              NDPAR_SCALE_ROBUST, NDPAR_SCALE_MAXABS};
  for (size_t k = 0; k < 5; k++) {
    ndpar_model *steps[] = {ndpar_scaler_model_alloc(kinds[k]), ndpar_ridge_alloc(1.0)};
    ndpar_model *chain = ndpar_chain_alloc(steps, 2);
    cr_assert_eq(ndpar_model_fit(NULL, chain, xtr, ytr), GSL_SUCCESS);
    gsl_matrix *got = gsl_matrix_alloc(30, 2);
    cr_assert_eq(ndpar_model_predict(NULL, chain, xva, got), GSL_SUCCESS);
    /* by hand */
    ndpar_scaler *s = ndpar_scaler_alloc(kinds[k], 4);
    ndpar_scaler_set_flags(s, NDPAR_PREPROCESS_SKLEARN); /* the transformer's default */
    ndpar_scaler_fit(NULL, s, xtr);
    gsl_matrix *ztr = gsl_matrix_alloc(80, 4);
    gsl_matrix *zva = gsl_matrix_alloc(30, 4);
    gsl_matrix_memcpy(ztr, xtr);
    gsl_matrix_memcpy(zva, xva);
    ndpar_scaler_transform(NULL, s, ztr);
    ndpar_scaler_transform(NULL, s, zva);
    ndpar_model *ridge = ndpar_ridge_alloc(1.0);
    cr_assert_eq(ndpar_model_fit(NULL, ridge, ztr, ytr), GSL_SUCCESS);
    gsl_matrix *want = gsl_matrix_alloc(30, 2);
    ndpar_model_predict(NULL, ridge, zva, want);
    cr_expect(bits_equal(got, want), "scaler kind %d", (int)kinds[k]);
    gsl_matrix_free(got);
    gsl_matrix_free(want);
    gsl_matrix_free(ztr);
    gsl_matrix_free(zva);
    ndpar_scaler_free(s);
    ndpar_model_free(ridge);
    ndpar_model_free(chain);
  }
  gsl_matrix_free(xtr);
  gsl_matrix_free(xva);
  gsl_matrix_free(ytr);
  gsl_rng_free(r);
}

Test(models, chain_refuses_bad_steps) {
  test_quiet_gsl_errors();
  ndpar_model *ridge = ndpar_ridge_alloc(1.0);
  ndpar_model *scaler = ndpar_scaler_model_alloc(NDPAR_SCALE_STANDARD);
  ndpar_model *two_models[] = {ridge, ridge};
  cr_expect_null(ndpar_chain_alloc(two_models, 2));
  ndpar_model *model_first[] = {ridge, scaler};
  cr_expect_null(ndpar_chain_alloc(model_first, 2));
  ndpar_model *with_null[] = {scaler, NULL};
  cr_expect_null(ndpar_chain_alloc(with_null, 2));
  cr_expect_null(ndpar_chain_alloc(NULL, 1));
  cr_expect_null(ndpar_chain_alloc(model_first, 0));
  /* transformers only: a transformer chain, fitted without targets */
  ndpar_model *only[] = {scaler};
  ndpar_model *chain = ndpar_chain_alloc(only, 1);
  cr_assert_not_null(chain);
  gsl_rng *r = test_rng();
  gsl_matrix *x = test_random_matrix(r, 10, 2);
  cr_expect_eq(ndpar_model_fit(NULL, chain, x, NULL), GSL_SUCCESS);
  cr_expect_eq(ndpar_model_outputs(chain), 2);
  cr_expect_eq(ndpar_model_fit(NULL, ridge, x, NULL), GSL_EFAULT);
  gsl_matrix_free(x);
  gsl_rng_free(r);
  ndpar_model_free(chain);
  ndpar_model_free(ridge);
}

/* ---- cross-validation ---- */

Test(models, cross_validation_fits_each_fold_apart) {
  gsl_rng *r = test_rng();
  gsl_matrix *x = test_random_matrix(r, 97, 3);
  gsl_matrix *y = linear_targets(r, x, 2);
  ndpar_folds *folds = ndpar_folds_kfold(97, 5, 1, 7);
  ndpar_model *steps[] = {ndpar_scaler_model_alloc(NDPAR_SCALE_STANDARD), ndpar_ridge_alloc(0.3)};
  ndpar_model *chain = ndpar_chain_alloc(steps, 2);
  ndpar_score_kind kinds[] = {NDPAR_SCORE_NEG_MSE, NDPAR_SCORE_NEG_MAE, NDPAR_SCORE_R2,
                              NDPAR_SCORE_NEG_MAPE};
  for (size_t kk = 0; kk < 4; kk++) {
    gsl_vector *ref = gsl_vector_alloc(5);
    for (size_t f = 0; f < 5; f++) {
      const size_t *tr;
      const size_t *va;
      size_t ntr;
      size_t nva;
      ndpar_folds_get(folds, f, &tr, &ntr, &va, &nva);
      gsl_matrix *xs[2] = {gsl_matrix_alloc(ntr, 3), gsl_matrix_alloc(nva, 3)};
      gsl_matrix *ys[2] = {gsl_matrix_alloc(ntr, 2), gsl_matrix_alloc(nva, 2)};
      for (size_t i = 0; i < ntr + nva; i++) {
        size_t side = i < ntr ? 0 : 1;
        size_t row = side ? va[i - ntr] : tr[i];
        size_t at = side ? i - ntr : i;
        for (size_t j = 0; j < 3; j++) gsl_matrix_set(xs[side], at, j, gsl_matrix_get(x, row, j));
        for (size_t o = 0; o < 2; o++) gsl_matrix_set(ys[side], at, o, gsl_matrix_get(y, row, o));
      }
      ndpar_model *c = ndpar_model_clone(chain);
      cr_assert_eq(ndpar_model_fit(NULL, c, xs[0], ys[0]), GSL_SUCCESS);
      double s = 0;
      cr_assert_eq(ndpar_model_score(NULL, c, kinds[kk], xs[1], ys[1], &s), GSL_SUCCESS);
      gsl_vector_set(ref, f, s);
      ndpar_model_free(c);
      for (int side = 0; side < 2; side++) {
        gsl_matrix_free(xs[side]);
        gsl_matrix_free(ys[side]);
      }
    }
    for (size_t t = 1; t <= test_max_threads(); t++) {
      ndpar_pool *pool = test_pool_of(t);
      gsl_vector *scores = gsl_vector_alloc(5);
      cr_assert_eq(ndpar_model_cross_validate(pool, chain, x, y, folds, kinds[kk], scores), GSL_SUCCESS);
      for (size_t f = 0; f < 5; f++)
        cr_expect_eq(gsl_vector_get(scores, f), gsl_vector_get(ref, f), "kind %zu fold %zu", kk, f);
      gsl_vector_free(scores);
      ndpar_pool_free(pool);
    }
    gsl_vector_free(ref);
  }
  cr_expect(!ndpar_model_fitted(chain), "cross-validation leaves the model itself unfitted");
  ndpar_model_free(chain);
  ndpar_folds_free(folds);
  gsl_matrix_free(x);
  gsl_matrix_free(y);
  gsl_rng_free(r);
}

/* ---- scores: closed forms and scikit-learn's conventions ---- */

Test(models, scores_follow_sklearn) {
  /* y_true = [[3, -0.5], [2, 0], [7, 2]] (rows), y_pred = [[2.5, 0], [2, 0], [8, 2]]:
   * mean_squared_error uniform_average = ((0.25 + 0 + 1)/3 + (0.25 + 0 + 0)/3) / 2 = 0.25,
   * mean_absolute_error = ((0.5 + 0 + 1)/3 + (0.5 + 0 + 0)/3) / 2 = 1/3,
   * r2_score: column 0: 1 - 1.25 / 14 ... (sklearn: 0.9365079365... for column 0? computed
   * below from the definition), MAPE with |0| guarded by eps. */
  double yt[] = {3, -0.5, 2, 0, 7, 2};
  double yp[] = {2.5, 0, 2, 0, 8, 2};
  gsl_matrix_view t = gsl_matrix_view_array(yt, 3, 2);
  gsl_matrix_view p = gsl_matrix_view_array(yp, 3, 2);
  double s = 0;
  cr_assert_eq(ndpar_score(NDPAR_SCORE_NEG_MSE, &t.matrix, &p.matrix, &s), GSL_SUCCESS);
  cr_expect(fabs(s - (-0.25)) < 1e-15, "%g", s);
  cr_assert_eq(ndpar_score(NDPAR_SCORE_NEG_MAE, &t.matrix, &p.matrix, &s), GSL_SUCCESS);
  cr_expect(fabs(s - (-1.0 / 3.0)) < 1e-15, "%g", s);
  /* r2: column 0 mean 4, ss_tot = 1 + 4 + 9 = 14, ss_res = 1.25 -> 1 - 1.25/14;
   * column 1 mean 0.5, ss_tot = 1 + 0.25 + 2.25 = 3.5, ss_res = 0.25 -> 1 - 0.25/3.5.
   * scikit-learn: r2_score(yt, yp) = 0.9285714285714286 ... (the mean of the two) */
  cr_assert_eq(ndpar_score(NDPAR_SCORE_R2, &t.matrix, &p.matrix, &s), GSL_SUCCESS);
  double r2 = ((1 - 1.25 / 14) + (1 - 0.25 / 3.5)) / 2;
  cr_expect(fabs(s - r2) < 1e-15, "%.17g vs %.17g", s, r2);
  /* MAPE: column 0: (0.5/3 + 0 + 1/7)/3, column 1: (0.5/0.5 + 0/eps + 0/2)/3 */
  cr_assert_eq(ndpar_score(NDPAR_SCORE_NEG_MAPE, &t.matrix, &p.matrix, &s), GSL_SUCCESS);
  double mape = ((0.5 / 3 + 0 + 1.0 / 7) / 3 + (1.0 + 0 + 0) / 3) / 2;
  cr_expect(fabs(s + mape) < 1e-15, "%.17g vs %.17g", -s, mape);
  /* a constant truth: 1 if predicted exactly, else 0 (scikit-learn's r2_score) */
  double ct[] = {5, 5, 5};
  double cp[] = {5, 5, 5};
  double cq[] = {5, 5, 6};
  gsl_matrix_view tc = gsl_matrix_view_array(ct, 3, 1);
  gsl_matrix_view pc = gsl_matrix_view_array(cp, 3, 1);
  gsl_matrix_view qc = gsl_matrix_view_array(cq, 3, 1);
  ndpar_score(NDPAR_SCORE_R2, &tc.matrix, &pc.matrix, &s);
  cr_expect_eq(s, 1.0);
  ndpar_score(NDPAR_SCORE_R2, &tc.matrix, &qc.matrix, &s);
  cr_expect_eq(s, 0.0);
}

/* ---- forecasting ---- */

Test(models, forecast_recursive_and_direct) {
  /* a series that a linear model on 3 lags fits exactly: s[t] = 0.5 s[t-1] + 0.3 s[t-2] +
   * 0.1 s[t-3] + 1 */
  size_t n = 60;
  gsl_vector *series = gsl_vector_alloc(n);
  double a[] = {1.0, 2.0, 0.5};
  for (size_t t = 0; t < n; t++) {
    double v = t < 3 ? a[t] : 0.5 * gsl_vector_get(series, t - 1) + 0.3 * gsl_vector_get(series, t - 2) +
                                  0.1 * gsl_vector_get(series, t - 3) + 1.0;
    gsl_vector_set(series, t, v);
  }
  /* the true continuation */
  double truth[10];
  double w[3] = {gsl_vector_get(series, n - 3), gsl_vector_get(series, n - 2), gsl_vector_get(series, n - 1)};
  for (size_t h = 0; h < 10; h++) {
    double v = 0.5 * w[2] + 0.3 * w[1] + 0.1 * w[0] + 1.0;
    truth[h] = v;
    w[0] = w[1];
    w[1] = w[2];
    w[2] = v;
  }
  for (size_t horizon = 1; horizon <= 4; horizon += 3) {
    size_t rows = ndpar_windows_count(n, 3, horizon, 1);
    gsl_matrix *x = gsl_matrix_alloc(rows, 3);
    gsl_matrix *y = gsl_matrix_alloc(rows, horizon);
    cr_assert_eq(ndpar_windows(series, 3, horizon, 1, x, y), GSL_SUCCESS);
    ndpar_model *m = ndpar_linear_alloc();
    cr_assert_eq(ndpar_model_fit(NULL, m, x, y), GSL_SUCCESS);
    gsl_vector *out = gsl_vector_alloc(10);
    cr_assert_eq(ndpar_model_forecast(NULL, m, series, out), GSL_SUCCESS);
    for (size_t h = 0; h < 10; h++)
      cr_expect(fabs(gsl_vector_get(out, h) - truth[h]) < 1e-8 * fabs(truth[h]),
                "horizon %zu step %zu: %.17g vs %.17g", horizon, h, gsl_vector_get(out, h), truth[h]);
    gsl_vector_free(out);
    ndpar_model_free(m);
    gsl_matrix_free(x);
    gsl_matrix_free(y);
  }
  gsl_vector_free(series);
}

/* ---- files ---- */

static char *temp_path(void) {
  static char path[64];
  snprintf(path, sizeof path, "/tmp/ndpar_model_%d.bin", (int)getpid());
  return path;
}

static unsigned char *file_bytes(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  cr_assert_not_null(f);
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *b = malloc((size_t)len + 1);
  cr_assert_eq(fread(b, 1, (size_t)len, f), (size_t)len);
  fclose(f);
  *n = (size_t)len;
  return b;
}

static ndpar_model *fitted_chain(gsl_rng *r, const gsl_matrix *x, size_t k) {
  gsl_matrix *y = linear_targets(r, x, k);
  ndpar_model *steps[] = {ndpar_scaler_model_alloc(NDPAR_SCALE_MINMAX1),
                          ndpar_scaler_model_alloc(NDPAR_SCALE_STANDARD), ndpar_ridge_alloc(0.7)};
  ndpar_model *chain = ndpar_chain_alloc(steps, 3);
  cr_assert_eq(ndpar_model_fit(NULL, chain, x, y), GSL_SUCCESS);
  gsl_matrix_free(y);
  return chain;
}

Test(models, save_load_predicts_the_same_bits) {
  gsl_rng *r = test_rng();
  gsl_matrix *x = test_random_matrix(r, 64, 5);
  gsl_matrix *y = linear_targets(r, x, 2);
  ndpar_model *models[4];
  models[0] = ndpar_ridge_alloc(0.1);
  models[1] = ndpar_linear_alloc();
  models[2] = fitted_chain(r, x, 2);
  models[3] = ndpar_ridge_alloc(4.0); /* saved unfitted */
  ndpar_model_fit(NULL, models[0], x, y);
  ndpar_model_fit(NULL, models[1], x, y);
  char *path = temp_path();
  for (size_t i = 0; i < 4; i++) {
    cr_assert_eq(ndpar_model_save(models[i], path), GSL_SUCCESS);
    ndpar_model *back = NULL;
    cr_assert_eq(ndpar_model_load(path, &back), GSL_SUCCESS);
    cr_expect_str_eq(ndpar_model_name(back), ndpar_model_name(models[i]));
    cr_expect_eq(ndpar_model_fitted(back), ndpar_model_fitted(models[i]));
    if (ndpar_model_fitted(back)) {
      gsl_matrix *p1 = gsl_matrix_alloc(64, 2);
      gsl_matrix *p2 = gsl_matrix_alloc(64, 2);
      ndpar_model_predict(NULL, models[i], x, p1);
      cr_assert_eq(ndpar_model_predict(NULL, back, x, p2), GSL_SUCCESS);
      cr_expect(bits_equal(p1, p2), "model %zu", i);
      gsl_matrix_free(p1);
      gsl_matrix_free(p2);
    } else {
      double v = 0;
      ndpar_model_get(back, "alpha", &v);
      cr_expect_eq(v, 4.0);
    }
    ndpar_model_free(back);
  }
  unlink(path);
  for (size_t i = 0; i < 4; i++) ndpar_model_free(models[i]);
  gsl_matrix_free(x);
  gsl_matrix_free(y);
  gsl_rng_free(r);
}

/* Every truncation and every flipped byte of a saved chain is refused with GSL_EINVAL and
 * leaves *m untouched; ASan's leak check sees that nothing is left allocated. */
Test(models, corrupt_files_are_refused) {
  test_quiet_gsl_errors();
  gsl_rng *r = test_rng();
  gsl_matrix *x = test_random_matrix(r, 20, 2);
  ndpar_model *chain = fitted_chain(r, x, 1);
  char *path = temp_path();
  cr_assert_eq(ndpar_model_save(chain, path), GSL_SUCCESS);
  size_t n = 0;
  unsigned char *bytes = file_bytes(path, &n);
  ndpar_model *sentinel = (ndpar_model *)bytes;
  for (size_t cut = 0; cut < n; cut++) {
    ndpar_model *m = sentinel;
    cr_expect_eq(ndpar_model_load_bytes(bytes, cut, &m), GSL_EINVAL, "cut at %zu", cut);
    cr_expect_eq(m, sentinel);
  }
  for (size_t i = 0; i < n; i++) {
    for (unsigned bit = 0; bit < 8; bit += 3) {
      bytes[i] ^= (unsigned char)(1u << bit);
      ndpar_model *m = sentinel;
      cr_expect_eq(ndpar_model_load_bytes(bytes, n, &m), GSL_EINVAL, "byte %zu bit %u", i, bit);
      cr_expect_eq(m, sentinel);
      bytes[i] ^= (unsigned char)(1u << bit);
    }
  }
  /* another version: the message says so */
  bytes[8] = 2;
  ndpar_model *m = sentinel;
  cr_expect_eq(ndpar_model_load_bytes(bytes, n, &m), GSL_EINVAL);
  cr_expect(strstr(test_gsl_last_reason(), "version") != NULL, "%s", test_gsl_last_reason());
  bytes[8] = 1;
  cr_expect_eq(ndpar_model_load_bytes(bytes, n, &m), GSL_SUCCESS);
  ndpar_model_free(m);
  cr_expect_eq(ndpar_model_load("/nonexistent/ndpar.model", &m), GSL_EFAILED);
  free(bytes);
  unlink(path);
  ndpar_model_free(chain);
  gsl_matrix_free(x);
  gsl_rng_free(r);
}

/* The vector forms take a column of a matrix (a strided vector) as it is. */
Test(models, vector_forms_take_strided_vectors) {
  gsl_rng *r = test_rng();
  gsl_matrix *x = test_random_matrix(r, 40, 3);
  gsl_matrix *y = linear_targets(r, x, 2);
  gsl_vector_view col = gsl_matrix_column(y, 1);
  ndpar_model *a = ndpar_ridge_alloc(0.5);
  ndpar_model *b = ndpar_ridge_alloc(0.5);
  cr_assert_eq(ndpar_model_fit_vector(NULL, a, x, &col.vector), GSL_SUCCESS);
  gsl_matrix_view ym = gsl_matrix_submatrix(y, 0, 1, 40, 1);
  cr_assert_eq(ndpar_model_fit(NULL, b, x, &ym.matrix), GSL_SUCCESS);
  gsl_matrix *both = gsl_matrix_alloc(40, 2);
  gsl_vector_view into = gsl_matrix_column(both, 0);
  cr_assert_eq(ndpar_model_predict_vector(NULL, a, x, &into.vector), GSL_SUCCESS);
  gsl_matrix_view second = gsl_matrix_submatrix(both, 0, 1, 40, 1);
  cr_assert_eq(ndpar_model_predict(NULL, b, x, &second.matrix), GSL_SUCCESS);
  for (size_t i = 0; i < 40; i++) cr_expect_eq(gsl_matrix_get(both, i, 0), gsl_matrix_get(both, i, 1));
  gsl_matrix_free(both);
  ndpar_model_free(a);
  ndpar_model_free(b);
  gsl_matrix_free(x);
  gsl_matrix_free(y);
  gsl_rng_free(r);
}

/* ---- argument errors leave outputs untouched ---- */

Test(models, rejected_calls_leave_outputs_untouched) {
  test_quiet_gsl_errors();
  gsl_rng *r = test_rng();
  gsl_matrix *x = test_random_matrix(r, 10, 3);
  gsl_matrix *y = linear_targets(r, x, 2);
  ndpar_model *m = ndpar_ridge_alloc(1.0);
  gsl_matrix *out = gsl_matrix_alloc(10, 2);
  gsl_matrix_set_all(out, 17.0);
  cr_expect_eq(ndpar_model_predict(NULL, m, x, out), GSL_EINVAL); /* not fitted */
  cr_expect_eq(ndpar_model_fit(NULL, m, x, y), GSL_SUCCESS);
  gsl_matrix *wrong = gsl_matrix_alloc(10, 3);
  cr_expect_eq(ndpar_model_predict(NULL, m, x, wrong), GSL_EBADLEN);
  gsl_matrix *x4 = test_random_matrix(r, 10, 4);
  cr_expect_eq(ndpar_model_predict(NULL, m, x4, out), GSL_EBADLEN);
  cr_expect_eq(gsl_matrix_get(out, 3, 1), 17.0);
  gsl_matrix_set(x, 4, 1, NAN);
  cr_expect_eq(ndpar_model_fit(NULL, m, x, y), GSL_EDOM);
  cr_expect(ndpar_model_fitted(m), "a rejected fit leaves the fitted model as it was");
  gsl_matrix_set(x, 4, 1, 0.0);
  gsl_matrix *y9 = gsl_matrix_alloc(9, 2);
  cr_expect_eq(ndpar_model_fit(NULL, m, x, y9), GSL_EBADLEN);
  gsl_matrix_free(y9);
  gsl_matrix_free(x4);
  gsl_matrix_free(wrong);
  gsl_matrix_free(out);
  ndpar_model_free(m);
  gsl_matrix_free(x);
  gsl_matrix_free(y);
  gsl_rng_free(r);
}
