/* test_user_model.c: a model of one's own (ndpar_model_define): fit, predict, parameters,
 * Monte Carlo passes and intervals, files. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ndpar/ndpar_models.h"
#include "test_util.h"

/* "shift": predicts each output's training mean plus `offset`, plus uniform noise on
 * [-1, 1] in a stochastic pass. */
typedef struct {
  double offset;
  gsl_matrix *mean; /* 1 x outputs, once fitted */
} shift_state;

static void *shift_clone(const void *vs) {
  const shift_state *s = vs;
  shift_state *c = calloc(1, sizeof *c);
  if (c != NULL) c->offset = s->offset;
  return c;
}

static void shift_free(void *vs) {
  shift_state *s = vs;
  gsl_matrix_free(s->mean);
  free(s);
}

static int shift_set(void *vs, const char *name, double value) {
  shift_state *s = vs;
  if (strcmp(name, "offset") != 0 || !isfinite(value)) return GSL_EINVAL;
  s->offset = value;
  return GSL_SUCCESS;
}

static int shift_get(const void *vs, const char *name, double *value) {
  const shift_state *s = vs;
  if (strcmp(name, "offset") != 0) return GSL_EINVAL;
  *value = s->offset;
  return GSL_SUCCESS;
}

static int shift_fit(ndpar_pool *p, void *vs, const gsl_matrix *x, const gsl_matrix *y,
                     size_t *outputs) {
  (void)p;
  (void)x;
  shift_state *s = vs;
  gsl_matrix *mean = gsl_matrix_calloc(1, y->size2);
  if (mean == NULL) return GSL_ENOMEM;
  for (size_t i = 0; i < y->size1; i++)
    for (size_t o = 0; o < y->size2; o++)
      *gsl_matrix_ptr(mean, 0, o) += gsl_matrix_get(y, i, o) / (double)y->size1;
  gsl_matrix_free(s->mean);
  s->mean = mean;
  *outputs = y->size2;
  return GSL_SUCCESS;
}

static int shift_predict(const void *vs, const gsl_matrix *x, gsl_matrix *y, gsl_rng *rng) {
  const shift_state *s = vs;
  for (size_t i = 0; i < x->size1; i++)
    for (size_t o = 0; o < y->size2; o++) {
      double noise = rng != NULL ? 2 * gsl_rng_uniform(rng) - 1 : 0;
      gsl_matrix_set(y, i, o, gsl_matrix_get(s->mean, 0, o) + s->offset + noise);
    }
  return GSL_SUCCESS;
}

static int shift_save(const void *vs, ndpar_model_archive *a) {
  const shift_state *s = vs;
  return ndpar_model_archive_put(a, "mean", s->mean);
}

static int shift_load(void *vs, const ndpar_model_archive *a) {
  shift_state *s = vs;
  gsl_matrix *mean = NULL;
  int status = ndpar_model_archive_get(a, "mean", &mean);
  if (status != GSL_SUCCESS) return status;
  if (mean->size1 != 1) {
    gsl_matrix_free(mean);
    return GSL_EBADLEN;
  }
  gsl_matrix_free(s->mean);
  s->mean = mean;
  return GSL_SUCCESS;
}

static const char *const shift_params[] = {"offset", NULL};
static const ndpar_model_type shift_type = {"shift", NDPAR_MODEL_REGRESSOR, shift_params,
                                            shift_clone, shift_free, shift_set, shift_get,
                                            shift_fit, shift_predict, 1, shift_save, shift_load};

static ndpar_model *shift_alloc(double offset) {
  shift_state *s = calloc(1, sizeof *s);
  s->offset = offset;
  return ndpar_model_define(&shift_type, s);
}

static gsl_matrix *data_y(size_t n) {
  gsl_matrix *y = gsl_matrix_alloc(n, 2);
  for (size_t i = 0; i < n; i++) {
    gsl_matrix_set(y, i, 0, (double)i);
    gsl_matrix_set(y, i, 1, -2.0);
  }
  return y;
}

Test(user_model, fits_predicts_and_keeps_its_state) {
  ndpar_model *m = shift_alloc(0.5);
  cr_assert_not_null(m);
  cr_expect_str_eq(ndpar_model_name(m), "shift");
  shift_state *s = ndpar_model_state(m);
  cr_expect_eq(s->offset, 0.5);
  gsl_matrix *x = gsl_matrix_calloc(8, 3);
  gsl_matrix *y = data_y(8); /* means 3.5 and -2, sums of eighths: exact */
  cr_assert_eq(ndpar_model_fit(NULL, m, x, y), GSL_SUCCESS);
  gsl_matrix *p = gsl_matrix_alloc(8, 2);
  cr_assert_eq(ndpar_model_predict(NULL, m, x, p), GSL_SUCCESS);
  cr_expect_eq(gsl_matrix_get(p, 4, 0), 3.5 + 0.5);
  cr_expect_eq(gsl_matrix_get(p, 4, 1), -2.0 + 0.5);
  cr_expect_eq(ndpar_model_set(m, "shift.offset", 1.5), GSL_SUCCESS);
  cr_expect(!ndpar_model_fitted(m));
  ndpar_model *c = ndpar_model_clone(m);
  double v = 0;
  ndpar_model_get(c, "offset", &v);
  cr_expect_eq(v, 1.5);
  cr_expect_null(ndpar_model_state(c) == ndpar_model_state(m) ? c : NULL, "a clone has a state of its own");
  gsl_matrix_free(p);
  gsl_matrix_free(x);
  gsl_matrix_free(y);
  ndpar_model_free(c);
  ndpar_model_free(m);
}

Test(user_model, define_checks_the_type) {
  test_quiet_gsl_errors();
  shift_state s = {0, NULL};
  ndpar_model_type t = shift_type;
  cr_expect_null(ndpar_model_define(NULL, &s));
  cr_expect_null(ndpar_model_define(&t, NULL));
  t.fit = NULL;
  cr_expect_null(ndpar_model_define(&t, &s));
  t = shift_type;
  t.load = NULL;
  cr_expect_null(ndpar_model_define(&t, &s));
  t = shift_type;
  t.name = "a.b";
  cr_expect_null(ndpar_model_define(&t, &s));
  t.name = "";
  cr_expect_null(ndpar_model_define(&t, &s));
}

/* MC passes: the same bits at every thread count, the mean near the plain prediction,
 * the sd of uniform noise (1/sqrt(3)), the interval's ends near +-level. */
Test(user_model, monte_carlo_passes_and_intervals) {
  ndpar_model *m = shift_alloc(0.0);
  size_t n = 700; /* three row batches of the MC form */
  gsl_matrix *x = gsl_matrix_calloc(n, 1);
  gsl_matrix *y = data_y(n);
  ndpar_model_fit(NULL, m, x, y);
  size_t samples = 400;
  gsl_matrix *mean0 = gsl_matrix_alloc(n, 2);
  gsl_matrix *sd0 = gsl_matrix_alloc(n, 2);
  for (size_t t = 1; t <= test_max_threads(); t++) {
    ndpar_pool *pool = test_pool_of(t);
    gsl_matrix *mean = gsl_matrix_alloc(n, 2);
    gsl_matrix *sd = gsl_matrix_alloc(n, 2);
    cr_assert_eq(ndpar_model_predict_mc(pool, m, x, samples, 11, mean, sd), GSL_SUCCESS);
    if (t == 1) {
      gsl_matrix_memcpy(mean0, mean);
      gsl_matrix_memcpy(sd0, sd);
    } else {
      cr_expect(gsl_matrix_equal(mean, mean0) && gsl_matrix_equal(sd, sd0), "%zu threads", t);
    }
    gsl_matrix_free(mean);
    gsl_matrix_free(sd);
    ndpar_pool_free(pool);
  }
  double tol = 4.0 / sqrt(3.0) / sqrt((double)samples);
  for (size_t i = 0; i < n; i += 50) {
    double base = ((double)n - 1) / 2;
    cr_expect(fabs(gsl_matrix_get(mean0, i, 0) - base) < tol, "row %zu mean %g", i, gsl_matrix_get(mean0, i, 0));
    cr_expect(fabs(gsl_matrix_get(sd0, i, 1) - 1 / sqrt(3.0)) < 0.1, "sd %g", gsl_matrix_get(sd0, i, 1));
  }
  gsl_matrix *lo = gsl_matrix_alloc(n, 2);
  gsl_matrix *hi = gsl_matrix_alloc(n, 2);
  cr_assert_eq(ndpar_model_predict_interval(NULL, m, x, samples, 11, 0.9, mean0, lo, hi), GSL_SUCCESS);
  for (size_t i = 0; i < n; i += 70) {
    cr_expect(fabs(gsl_matrix_get(lo, i, 1) - (-2.0 - 0.9)) < 0.1, "lower %g", gsl_matrix_get(lo, i, 1));
    cr_expect(fabs(gsl_matrix_get(hi, i, 1) - (-2.0 + 0.9)) < 0.1, "upper %g", gsl_matrix_get(hi, i, 1));
  }
  /* a model without stochastic passes refuses MC */
  test_quiet_gsl_errors();
  ndpar_model *ridge = ndpar_ridge_alloc(1.0);
  ndpar_model_fit(NULL, ridge, x, y);
  cr_expect_eq(ndpar_model_predict_mc(NULL, ridge, x, 10, 1, mean0, NULL), GSL_EINVAL);
  cr_expect_eq(ndpar_model_predict_interval(NULL, m, x, 10, 1, 1.0, mean0, lo, hi), GSL_EINVAL);
  cr_expect_eq(ndpar_model_predict_mc(NULL, m, x, 1, 1, mean0, sd0), GSL_EINVAL);
  ndpar_model_free(ridge);
  gsl_matrix_free(lo);
  gsl_matrix_free(hi);
  gsl_matrix_free(mean0);
  gsl_matrix_free(sd0);
  gsl_matrix_free(x);
  gsl_matrix_free(y);
  ndpar_model_free(m);
}

Test(user_model, saved_and_loaded_with_a_prototype) {
  test_quiet_gsl_errors();
  ndpar_model *steps[] = {ndpar_scaler_model_alloc(NDPAR_SCALE_MAXABS), shift_alloc(-3.0)};
  ndpar_model *chain = ndpar_chain_alloc(steps, 2);
  gsl_matrix *x = gsl_matrix_calloc(5, 2);
  gsl_matrix_set(x, 1, 1, 4.0);
  gsl_matrix_set(x, 2, 0, -1.0);
  gsl_matrix *y = data_y(5);
  cr_assert_eq(ndpar_model_fit(NULL, chain, x, y), GSL_SUCCESS);
  char path[64];
  snprintf(path, sizeof path, "/tmp/ndpar_user_%d.model", (int)getpid());
  cr_assert_eq(ndpar_model_save(chain, path), GSL_SUCCESS);
  ndpar_model *back = NULL;
  cr_expect_eq(ndpar_model_load(path, &back), GSL_EINVAL);
  cr_expect(strstr(test_gsl_last_reason(), "shift") != NULL, "%s", test_gsl_last_reason());
  cr_expect_null(back);
  ndpar_model *proto = shift_alloc(0.0);
  const ndpar_model *protos[] = {proto};
  cr_assert_eq(ndpar_model_load_with(path, protos, 1, &back), GSL_SUCCESS);
  gsl_matrix *p1 = gsl_matrix_alloc(5, 2);
  gsl_matrix *p2 = gsl_matrix_alloc(5, 2);
  ndpar_model_predict(NULL, chain, x, p1);
  cr_assert_eq(ndpar_model_predict(NULL, back, x, p2), GSL_SUCCESS);
  cr_expect(gsl_matrix_equal(p1, p2));
  double v = 0;
  ndpar_model_get(back, "shift.offset", &v);
  cr_expect_eq(v, -3.0);
  unlink(path);
  gsl_matrix_free(p1);
  gsl_matrix_free(p2);
  ndpar_model_free(back);
  ndpar_model_free(proto);
  ndpar_model_free(chain);
  gsl_matrix_free(x);
  gsl_matrix_free(y);
}
