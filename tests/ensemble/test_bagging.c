/* test_bagging.c: fitted models as members, and bagging. */
#include <criterion/criterion.h>
#include <gsl/gsl_randist.h>
#include <math.h>
#include <string.h>

#include "ndpar/ndpar_ensemble.h"
#include "test_util.h"

static int bits_equal(const gsl_matrix *a, const gsl_matrix *b) {
  for (size_t i = 0; i < a->size1; i++)
    if (memcmp(gsl_matrix_const_ptr(a, i, 0), gsl_matrix_const_ptr(b, i, 0), a->size2 * sizeof(double)))
      return 0;
  return 1;
}

/* y = x (1, 2, ...) + 1 + noise, two outputs (the second twice the first plus noise). */
static gsl_matrix *targets(gsl_rng *r, const gsl_matrix *x) {
  gsl_matrix *y = gsl_matrix_alloc(x->size1, 2);
  for (size_t i = 0; i < x->size1; i++) {
    double t = 1.0;
    for (size_t j = 0; j < x->size2; j++) t += (double)(j + 1) * gsl_matrix_get(x, i, j);
    gsl_matrix_set(y, i, 0, t + gsl_ran_gaussian(r, 0.5));
    gsl_matrix_set(y, i, 1, 2 * t + gsl_ran_gaussian(r, 0.5));
  }
  return y;
}

/* Members the same bits at every thread count; member i is a clone of the base fitted on
 * exactly its rows; the bag's prediction is the members' mean (or median, trimmed mean). */
Test(bagging, members_do_not_depend_on_threads) {
  gsl_rng *r = test_rng();
  gsl_matrix *x = test_random_matrix(r, 120, 4);
  gsl_matrix *y = targets(r, x);
  gsl_matrix *xt = test_random_matrix(r, 33, 4);
  ndpar_model *base = ndpar_ridge_alloc(0.5);
  ndpar_agg aggs[] = {NDPAR_AGG_MEAN, NDPAR_AGG_MEDIAN, NDPAR_AGG_TRIMMED_MEAN};
  for (size_t a = 0; a < 3; a++) {
    for (int bootstrap = 0; bootstrap <= 1; bootstrap++) {
      ndpar_bagging_options opt;
      ndpar_bagging_options_init(&opt);
      opt.members = 7;
      opt.samples = 0.6;
      opt.bootstrap = bootstrap;
      opt.seed = 99;
      opt.combine.agg = aggs[a];
      opt.combine.trim = 0.2;
      gsl_matrix *ref = gsl_matrix_alloc(33, 2);
      for (size_t t = 1; t <= test_max_threads(); t++) {
        ndpar_pool *pool = test_pool_of(t);
        ndpar_model *bag = ndpar_bagging_alloc(base, &opt);
        cr_assert_not_null(bag);
        cr_assert_eq(ndpar_model_fit(pool, bag, x, y), GSL_SUCCESS);
        gsl_matrix *pred = gsl_matrix_alloc(33, 2);
        cr_assert_eq(ndpar_model_predict(pool, bag, xt, pred), GSL_SUCCESS);
        if (t == 1) {
          gsl_matrix_memcpy(ref, pred);
          /* member i by hand: its rows, a fresh ridge */
          const ndpar_model *members[7];
          for (size_t i = 0; i < 7; i++) {
            const size_t *rows;
            size_t count;
            cr_assert_eq(ndpar_bagging_rows(bag, i, &rows, &count), GSL_SUCCESS);
            cr_expect_eq(count, 72);
            for (size_t j = 0; j + 1 < count && !bootstrap; j++)
              cr_expect_lt(rows[j], rows[j + 1], "subsampling draws distinct rows");
            gsl_matrix *xs = gsl_matrix_alloc(count, 4);
            gsl_matrix *ys = gsl_matrix_alloc(count, 2);
            for (size_t j = 0; j < count; j++) {
              gsl_vector_const_view xr = gsl_matrix_const_row(x, rows[j]);
              gsl_vector_const_view yr = gsl_matrix_const_row(y, rows[j]);
              gsl_matrix_set_row(xs, j, &xr.vector);
              gsl_matrix_set_row(ys, j, &yr.vector);
            }
            ndpar_model *own = ndpar_ridge_alloc(0.5);
            ndpar_model_fit(NULL, own, xs, ys);
            gsl_matrix *p1 = gsl_matrix_alloc(33, 2);
            gsl_matrix *p2 = gsl_matrix_alloc(33, 2);
            members[i] = ndpar_bagging_member(bag, i);
            ndpar_model_predict(NULL, own, xt, p1);
            ndpar_model_predict(NULL, members[i], xt, p2);
            cr_expect(bits_equal(p1, p2), "member %zu", i);
            gsl_matrix_free(p1);
            gsl_matrix_free(p2);
            gsl_matrix_free(xs);
            gsl_matrix_free(ys);
            ndpar_model_free(own);
          }
          /* the bag's prediction is the ensemble of its members */
          ndpar_ensemble_options eo;
          ndpar_ensemble_options_init(&eo);
          eo.agg = aggs[a];
          eo.trim = 0.2;
          gsl_matrix *ens = gsl_matrix_alloc(33, 2);
          cr_assert_eq(ndpar_ensemble_predict_models(NULL, xt, members, 7, &eo, ens, NULL), GSL_SUCCESS);
          cr_expect(bits_equal(ens, pred), "aggregation %zu", a);
          gsl_matrix_free(ens);
        } else {
          cr_expect(bits_equal(pred, ref), "%zu threads, aggregation %zu, bootstrap %d", t, a, bootstrap);
        }
        gsl_matrix_free(pred);
        ndpar_model_free(bag);
        ndpar_pool_free(pool);
      }
      gsl_matrix_free(ref);
    }
  }
  ndpar_model_free(base);
  gsl_matrix_free(x);
  gsl_matrix_free(y);
  gsl_matrix_free(xt);
  gsl_rng_free(r);
}

Test(bagging, parameters_and_errors) {
  test_quiet_gsl_errors();
  ndpar_model *base = ndpar_ridge_alloc(1.0);
  ndpar_bagging_options opt;
  ndpar_bagging_options_init(&opt);
  cr_expect_eq(opt.members, 10);
  cr_expect_eq(opt.samples, 1.0);
  cr_expect_eq(opt.bootstrap, 1);
  ndpar_model *bag = ndpar_bagging_alloc(base, &opt);
  double v = 0;
  cr_assert_eq(ndpar_model_set(bag, "ridge.alpha", 3.0), GSL_SUCCESS);
  cr_assert_eq(ndpar_model_get(bag, "alpha", &v), GSL_SUCCESS);
  cr_expect_eq(v, 3.0);
  cr_assert_eq(ndpar_model_get(base, "alpha", &v), GSL_SUCCESS);
  cr_expect_eq(v, 1.0, "the base stays the caller's, unchanged");
  cr_assert_eq(ndpar_model_set(bag, "bagging.members", 4), GSL_SUCCESS);
  cr_expect_eq(ndpar_model_set(bag, "members", 0), GSL_EINVAL);
  cr_expect_eq(ndpar_model_set(bag, "samples", 1.5), GSL_EINVAL);
  cr_expect_eq(ndpar_model_set(bag, "trim", 0.5), GSL_EINVAL);
  ndpar_model *c = ndpar_model_clone(bag);
  cr_assert_eq(ndpar_model_get(c, "members", &v), GSL_SUCCESS);
  cr_expect_eq(v, 4);
  cr_expect_null(ndpar_bagging_member(c, 0), "unfitted");
  cr_expect_eq(ndpar_model_save(bag, "/tmp/ndpar_bag_never"), GSL_EINVAL);
  opt.members = 0;
  cr_expect_null(ndpar_bagging_alloc(base, &opt));
  opt.members = 3;
  opt.samples = 0;
  cr_expect_null(ndpar_bagging_alloc(base, &opt));
  opt.samples = 1;
  opt.combine.agg = NDPAR_AGG_WEIGHTED_MEAN;
  cr_expect_null(ndpar_bagging_alloc(base, &opt));
  cr_expect_null(ndpar_bagging_alloc(NULL, NULL));
  ndpar_model *scaler = ndpar_scaler_model_alloc(NDPAR_SCALE_STANDARD);
  cr_expect_null(ndpar_bagging_alloc(scaler, NULL));
  ndpar_model_free(scaler);
  ndpar_model_free(c);
  ndpar_model_free(bag);
  ndpar_model_free(base);
}

Test(bagging, ensemble_of_models_checks_its_members) {
  test_quiet_gsl_errors();
  gsl_rng *r = test_rng();
  gsl_matrix *x = test_random_matrix(r, 30, 3);
  gsl_matrix *y = targets(r, x);
  ndpar_model *a = ndpar_ridge_alloc(1.0);
  ndpar_model *b = ndpar_linear_alloc();
  ndpar_model_fit(NULL, a, x, y);
  const ndpar_model *two[] = {a, b};
  gsl_matrix *out = gsl_matrix_alloc(30, 2);
  gsl_matrix_set_all(out, 5.0);
  cr_expect_eq(ndpar_ensemble_predict_models(NULL, x, two, 2, NULL, out, NULL), GSL_EINVAL);
  ndpar_model_fit(NULL, b, x, y);
  gsl_matrix *narrow = gsl_matrix_alloc(30, 1);
  cr_expect_eq(ndpar_ensemble_predict_models(NULL, x, two, 2, NULL, narrow, NULL), GSL_EBADLEN);
  cr_expect_eq(gsl_matrix_get(out, 0, 0), 5.0);
  gsl_matrix *spread = gsl_matrix_alloc(30, 2);
  cr_assert_eq(ndpar_ensemble_predict_models(NULL, x, two, 2, NULL, out, spread), GSL_SUCCESS);
  gsl_matrix *pa = gsl_matrix_alloc(30, 2);
  gsl_matrix *pb = gsl_matrix_alloc(30, 2);
  ndpar_model_predict(NULL, a, x, pa);
  ndpar_model_predict(NULL, b, x, pb);
  for (size_t i = 0; i < 30; i++)
    for (size_t j = 0; j < 2; j++) {
      double u = gsl_matrix_get(pa, i, j);
      double v = gsl_matrix_get(pb, i, j);
      cr_expect(fabs(gsl_matrix_get(out, i, j) - (u + v) / 2) <= 1e-12 * fabs(u + v));
      cr_expect(fabs(gsl_matrix_get(spread, i, j) - fabs(u - v) / sqrt(2)) <= 1e-9 * (1 + fabs(u - v)));
    }
  /* the callback form with options: the trimmed mean's fraction by name; with two members
   * and trim 0.4 nothing is cut (floor(0.8) = 0): the mean */
  ndpar_predictor cb[] = {{ndpar_model_predict_fn, a}, {ndpar_model_predict_fn, b}};
  ndpar_ensemble_options o;
  ndpar_ensemble_options_init(&o);
  o.agg = NDPAR_AGG_TRIMMED_MEAN;
  o.trim = 0.4;
  gsl_matrix *trimmed = gsl_matrix_alloc(30, 2);
  cr_assert_eq(ndpar_ensemble_predict_opts(NULL, x, cb, 2, &o, trimmed, NULL), GSL_SUCCESS);
  cr_expect(gsl_matrix_equal(trimmed, out));
  o.trim = 0.5;
  cr_expect_eq(ndpar_ensemble_predict_opts(NULL, x, cb, 2, &o, trimmed, NULL), GSL_EINVAL);
  gsl_matrix_free(trimmed);
  gsl_matrix_free(pa);
  gsl_matrix_free(pb);
  gsl_matrix_free(spread);
  gsl_matrix_free(narrow);
  gsl_matrix_free(out);
  ndpar_model_free(a);
  ndpar_model_free(b);
  gsl_matrix_free(x);
  gsl_matrix_free(y);
  gsl_rng_free(r);
}
