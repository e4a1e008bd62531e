/* test_model_search.c: grid search and halving over a model's parameters. */
#include <criterion/criterion.h>
#include <gsl/gsl_randist.h>
#include <math.h>
#include <string.h>

#include "ndpar/ndpar_grid.h"
#include "test_util.h"

static gsl_matrix *targets(gsl_rng *r, const gsl_matrix *x) {
  gsl_matrix *y = gsl_matrix_alloc(x->size1, 2);
  for (size_t i = 0; i < x->size1; i++) {
    double t = 0.5;
    for (size_t j = 0; j < x->size2; j++) t += (double)(j + 1) * gsl_matrix_get(x, i, j);
    gsl_matrix_set(y, i, 0, t + gsl_ran_gaussian(r, 2.0));
    gsl_matrix_set(y, i, 1, -t + gsl_ran_gaussian(r, 2.0));
  }
  return y;
}

static ndpar_model *scaled_ridge(void) {
  ndpar_model *steps[] = {ndpar_scaler_model_alloc(NDPAR_SCALE_STANDARD), ndpar_ridge_alloc(1.0)};
  return ndpar_chain_alloc(steps, 2);
}

/* Every (candidate, fold) score is the score of a clone with the candidate's alpha
 * cross-validated alone (the same bits), at every thread count; the refit is the best
 * candidate fitted on all rows. */
Test(model_search, equals_cross_validation_per_candidate) {
  gsl_rng *r = test_rng();
  gsl_matrix *x = test_random_matrix(r, 150, 5);
  gsl_matrix *y = targets(r, x);
  ndpar_folds *folds = ndpar_folds_timeseries(150, 4, 20, 20, 0, 0);
  cr_assert_not_null(folds);
  ndpar_grid *g = ndpar_grid_alloc();
  double alphas[] = {0.01, 1.0, 30.0, 1000.0, 1e5};
  ndpar_grid_add(g, "ridge.alpha", alphas, 5);
  ndpar_model *chain = scaled_ridge();
  ndpar_score_kind kinds[] = {NDPAR_SCORE_NEG_MSE, NDPAR_SCORE_R2};
  ndpar_grid_options opts = {0};
  opts.flags = NDPAR_GRID_REFIT;
  opts.scores = kinds;
  opts.nscores = 2;
  for (size_t t = 1; t <= test_max_threads(); t++) {
    ndpar_pool *pool = test_pool_of(t);
    ndpar_grid_result *res = ndpar_grid_result_alloc_est(5, 4, 2, 0);
    cr_assert_eq(ndpar_grid_search_model(pool, g, x, y, folds, chain, &opts, res), GSL_SUCCESS);
    double best_mean = -INFINITY;
    size_t best = 5;
    for (size_t c = 0; c < 5; c++) {
      ndpar_model *one = ndpar_model_clone(chain);
      ndpar_model_set(one, "ridge.alpha", alphas[c]);
      for (size_t s = 0; s < 2; s++) {
        gsl_vector *scores = gsl_vector_alloc(4);
        cr_assert_eq(ndpar_model_cross_validate(NULL, one, x, y, folds, kinds[s], scores), GSL_SUCCESS);
        for (size_t f = 0; f < 4; f++)
          cr_expect_eq(gsl_matrix_get(res->all_scores, c, f * 2 + s), gsl_vector_get(scores, f),
                       "candidate %zu fold %zu score %zu", c, f, s);
        double mean = 0;
        for (size_t f = 0; f < 4; f++) mean += gsl_vector_get(scores, f);
        mean /= 4;
        if (s == 0 && mean > best_mean) {
          best_mean = mean;
          best = c;
        }
        gsl_vector_free(scores);
      }
      ndpar_model_free(one);
    }
    cr_expect_eq(res->best, best);
    ndpar_model *refit = ndpar_grid_result_model(res);
    cr_assert_not_null(refit);
    ndpar_model *own = ndpar_model_clone(chain);
    ndpar_model_set(own, "ridge.alpha", alphas[best]);
    ndpar_model_fit(NULL, own, x, y);
    gsl_matrix *p1 = gsl_matrix_alloc(150, 2);
    gsl_matrix *p2 = gsl_matrix_alloc(150, 2);
    ndpar_model_predict(NULL, own, x, p1);
    ndpar_model_predict(NULL, refit, x, p2);
    for (size_t i = 0; i < 150; i++)
      cr_expect(memcmp(gsl_matrix_ptr(p1, i, 0), gsl_matrix_ptr(p2, i, 0), 2 * sizeof(double)) == 0);
    ndpar_model *taken = ndpar_grid_result_take_model(res);
    cr_expect_eq(taken, refit);
    cr_expect_null(ndpar_grid_result_model(res));
    ndpar_model_free(taken);
    gsl_matrix_free(p1);
    gsl_matrix_free(p2);
    ndpar_model_free(own);
    ndpar_grid_result_free(res);
    ndpar_pool_free(pool);
  }
  cr_expect(!ndpar_model_fitted(chain));
  ndpar_model_free(chain);
  ndpar_grid_free(g);
  ndpar_folds_free(folds);
  gsl_matrix_free(x);
  gsl_matrix_free(y);
  gsl_rng_free(r);
}

Test(model_search, refuses_what_the_model_does_not_have) {
  test_quiet_gsl_errors();
  gsl_rng *r = test_rng();
  gsl_matrix *x = test_random_matrix(r, 40, 2);
  gsl_matrix *y = targets(r, x);
  ndpar_folds *folds = ndpar_folds_kfold(40, 4, 0, 0);
  ndpar_model *chain = scaled_ridge();
  ndpar_grid_result *res = ndpar_grid_result_alloc_est(2, 4, 1, 0);
  ndpar_grid *g = ndpar_grid_alloc();
  double v[] = {1, 2};
  ndpar_grid_add(g, "ridge.alfa", v, 2);
  cr_expect_eq(ndpar_grid_search_model(NULL, g, x, y, folds, chain, NULL, res), GSL_EINVAL);
  cr_expect(strstr(test_gsl_last_reason(), "ridge.alfa") != NULL, "%s", test_gsl_last_reason());
  ndpar_grid_free(g);
  g = ndpar_grid_alloc();
  double neg[] = {1, -2};
  ndpar_grid_add(g, "ridge.alpha", neg, 2);
  cr_expect_eq(ndpar_grid_search_model(NULL, g, x, y, folds, chain, NULL, res), GSL_EINVAL);
  cr_expect_eq(ndpar_grid_search_model(NULL, g, x, y, folds, NULL, NULL, res), GSL_EFAULT);
  cr_expect_eq(ndpar_grid_search_model(NULL, g, x, NULL, folds, chain, NULL, res), GSL_EFAULT);
  ndpar_score_kind bad = (ndpar_score_kind)42;
  ndpar_grid_options opts = {0};
  opts.scores = &bad;
  opts.nscores = 1;
  ndpar_grid_free(g);
  g = ndpar_grid_alloc();
  ndpar_grid_add(g, "ridge.alpha", v, 2);
  cr_expect_eq(ndpar_grid_search_model(NULL, g, x, y, folds, chain, &opts, res), GSL_EINVAL);
  gsl_matrix_set(x, 3, 1, NAN);
  cr_expect_eq(ndpar_grid_search_model(NULL, g, x, y, folds, chain, NULL, res), GSL_EDOM);
  gsl_matrix_set(x, 3, 1, 0);
  cr_expect_eq(ndpar_grid_search_model(NULL, g, x, y, folds, chain, NULL, res), GSL_SUCCESS);
  cr_expect_null(ndpar_grid_result_model(res), "no refit asked");
  ndpar_grid_free(g);
  ndpar_grid_result_free(res);
  ndpar_model_free(chain);
  ndpar_folds_free(folds);
  gsl_matrix_free(x);
  gsl_matrix_free(y);
  gsl_rng_free(r);
}

/* Halving by rows: the last round's survivors ran on the most rows; the winner's refit is
 * the chain fitted on all rows with its alpha. */
Test(model_search, halving_by_rows) {
  gsl_rng *r = test_rng();
  gsl_matrix *x = test_random_matrix(r, 200, 3);
  gsl_matrix *y = targets(r, x);
  ndpar_folds *folds = ndpar_folds_kfold(200, 4, 1, 3);
  ndpar_grid *g = ndpar_grid_alloc();
  double alphas[] = {1e-3, 1e-2, 0.1, 1, 10, 100, 1e3, 1e4, 1e5};
  ndpar_grid_add(g, "ridge.alpha", alphas, 9);
  ndpar_model *chain = scaled_ridge();
  ndpar_halving h = {3, 0, 0, 1};
  ndpar_grid_options opts = {0};
  opts.flags = NDPAR_GRID_REFIT;
  ndpar_grid_result *res = ndpar_grid_result_alloc_est(9, 4, 1, 0);
  cr_assert_eq(ndpar_grid_halving_model(NULL, g, x, y, folds, chain, &h, NULL, &opts, res), GSL_SUCCESS);
  cr_expect_eq(res->round[res->best], 2, "the winner ran the last of three rounds");
  size_t last = 0;
  for (size_t c = 0; c < 9; c++) last += res->round[c] == 2;
  cr_expect_eq(last, 1);
  ndpar_model *refit = ndpar_grid_result_model(res);
  cr_assert_not_null(refit);
  double alpha = 0;
  ndpar_model_get(refit, "ridge.alpha", &alpha);
  cr_expect_eq(alpha, alphas[res->best]);
  cr_expect_eq(ndpar_model_inputs(refit), 3);
  ndpar_grid_result_free(res);
  ndpar_model_free(chain);
  ndpar_grid_free(g);
  ndpar_folds_free(folds);
  gsl_matrix_free(x);
  gsl_matrix_free(y);
  gsl_rng_free(r);
}
