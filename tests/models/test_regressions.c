/* test_regressions.c: what the bad-input cases of the models module found (issue 25):
 * aliased MC outputs accepted, the predict callback's NULL arguments, a model type of an
 * unknown kind, and ndpar_windows_alloc handing both windows to one pointer. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "ndpar/ndpar_io.h"
#include "ndpar/ndpar_models.h"
#include "test_util.h"

/* A fitted MLP with dropout (it has stochastic passes) on 10 rows of 3 inputs, 2 outputs. */
static ndpar_model *fitted_mlp(gsl_rng *r, gsl_matrix **x) {
  *x = test_random_matrix(r, 10, 3);
  gsl_matrix *y = test_random_matrix(r, 10, 2);
  ndpar_mlp_options o;
  ndpar_mlp_options_init(&o);
  o.hidden[0] = 5;
  o.epochs = 2;
  o.dropout = 0.3;
  ndpar_model *m = ndpar_mlp_alloc(&o);
  cr_assert_not_null(m);
  cr_assert_eq(ndpar_model_fit(NULL, m, *x, y), GSL_SUCCESS);
  gsl_matrix_free(y);
  return m;
}

static int all_equal(const gsl_matrix *m, double v) {
  for (size_t i = 0; i < m->size1; i++)
    for (size_t j = 0; j < m->size2; j++)
      if (gsl_matrix_get(m, i, j) != v) return 0;
  return 1;
}

/* lower == upper used to succeed, the upper quantiles written over the lower ones. */
Test(regressions, interval_with_one_matrix_for_two_bounds_is_refused) {
  test_quiet_gsl_errors();
  gsl_rng *r = test_rng();
  gsl_matrix *x;
  ndpar_model *m = fitted_mlp(r, &x);
  gsl_matrix *mean = gsl_matrix_alloc(10, 2);
  gsl_matrix *bound = gsl_matrix_alloc(10, 2);
  gsl_matrix_set_all(mean, 7.0);
  gsl_matrix_set_all(bound, 7.0);
  size_t errors = test_gsl_error_count();
  cr_expect_eq(ndpar_model_predict_interval(NULL, m, x, 16, 1, 0.8, mean, bound, bound), GSL_EINVAL);
  cr_expect_eq(ndpar_model_predict_interval(NULL, m, x, 16, 1, 0.8, bound, bound, mean), GSL_EINVAL);
  cr_expect_eq(ndpar_model_predict_mc(NULL, m, x, 16, 1, mean, mean), GSL_EINVAL);
  cr_expect_eq(test_gsl_error_count() - errors, 3, "one GSL error per refused call");
  cr_expect(all_equal(mean, 7.0) && all_equal(bound, 7.0), "outputs written on a refusal");
  /* distinct matrices still work */
  gsl_matrix *upper = gsl_matrix_alloc(10, 2);
  cr_expect_eq(ndpar_model_predict_interval(NULL, m, x, 16, 1, 0.8, mean, bound, upper), GSL_SUCCESS);
  gsl_matrix_free(upper);
  gsl_matrix_free(mean);
  gsl_matrix_free(bound);
  gsl_matrix_free(x);
  ndpar_model_free(m);
  gsl_rng_free(r);
}

/* The callback crashed on a NULL x or y: it runs on workers, so a code and no GSL error. */
Test(regressions, predict_fn_with_null_matrices_returns_efault) {
  test_quiet_gsl_errors();
  gsl_rng *r = test_rng();
  gsl_matrix *x;
  ndpar_model *m = fitted_mlp(r, &x);
  gsl_matrix *y = gsl_matrix_alloc(10, 2);
  size_t errors = test_gsl_error_count();
  cr_expect_eq(ndpar_model_predict_fn(NULL, y, NULL, m), GSL_EFAULT);
  cr_expect_eq(ndpar_model_predict_fn(x, NULL, NULL, m), GSL_EFAULT);
  cr_expect_eq(ndpar_model_predict_fn(x, y, NULL, m), GSL_SUCCESS);
  cr_expect_eq(test_gsl_error_count(), errors);
  gsl_matrix_free(y);
  gsl_matrix_free(x);
  ndpar_model_free(m);
  gsl_rng_free(r);
}

static void *no_clone(const void *s) { return (void *)s; }
static void no_free(void *s) { (void)s; }
static int no_set(void *s, const char *n, double v) {
  (void)s, (void)n, (void)v;
  return GSL_EINVAL;
}
static int no_get(const void *s, const char *n, double *v) {
  (void)s, (void)n, (void)v;
  return GSL_EINVAL;
}
static int no_fit(ndpar_pool *p, void *s, const gsl_matrix *x, const gsl_matrix *y, size_t *o) {
  (void)p, (void)s, (void)x, (void)y;
  *o = 1;
  return GSL_SUCCESS;
}
static int no_predict(const void *s, const gsl_matrix *x, gsl_matrix *y, gsl_rng *r) {
  (void)s, (void)x, (void)r;
  gsl_matrix_set_zero(y);
  return GSL_SUCCESS;
}

/* A kind neither regressor nor transformer was taken (and then treated as a transformer). */
Test(regressions, define_refuses_an_unknown_kind) {
  test_quiet_gsl_errors();
  static int state;
  ndpar_model_type t = {"odd", (ndpar_model_kind)7, NULL, no_clone, no_free, no_set, no_get,
                        no_fit, no_predict, 0, NULL, NULL};
  cr_expect_null(ndpar_model_define(&t, &state));
  t.kind = NDPAR_MODEL_TRANSFORMER;
  ndpar_model *m = ndpar_model_define(&t, &state);
  cr_expect_not_null(m);
  ndpar_model_free(m);
}

/* &x, &x used to succeed, the x windows lost (a leak) and *x the y windows. */
Test(regressions, windows_alloc_refuses_one_pointer_for_both) {
  test_quiet_gsl_errors();
  gsl_vector *s = gsl_vector_alloc(10);
  for (size_t i = 0; i < s->size; i++) gsl_vector_set(s, i, (double)i);
  gsl_matrix *x = NULL;
  cr_expect_eq(ndpar_windows_alloc(s, 3, 1, 1, &x, &x), GSL_EINVAL);
  cr_expect_null(x);
  gsl_vector_free(s);
}
