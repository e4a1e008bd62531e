/* cases_audit.c: the cases an audit of every entry point asked for (issue 28): `_init(NULL)`
 * for every options struct, size x n products in every call that takes an array of the
 * caller's parameter structs, and every pair of outputs passed as the same object. */
#include "badinput.h"

#include "ndpar/ndpar_io.h"

/* ---- _init(NULL): a no-op for every options struct ---- */

CASE(ndpar_csv_options_init, "NULL is a no-op") { ndpar_csv_options_init(NULL); }

CASE(ndpar_pool_config_init, "NULL is a no-op") { ndpar_pool_config_init(NULL); }

CASE(ndpar_scal_config_init, "NULL is a no-op") { ndpar_scal_config_init(NULL); }

/* ---- size x n: every call that takes n of the caller's parameter structs ---- */

static void free_folds(void *f) { ndpar_folds_free(f); }
static void free_result(void *r) { ndpar_grid_result_free(r); }

static int audit_fit(const void *params, size_t candidate, size_t resource, const gsl_matrix *xtr,
                     const gsl_vector *ytr, void **model, const ndpar_task *t, void *ctx) {
  (void)params, (void)candidate, (void)resource, (void)xtr, (void)ytr, (void)t, (void)ctx;
  *model = NULL;
  return GSL_SUCCESS;
}

static int audit_score(const void *model, const void *params, const gsl_matrix *x,
                       const gsl_vector *y, double *scores, const ndpar_task *t, void *ctx) {
  (void)model, (void)params, (void)x, (void)y, (void)t, (void)ctx;
  scores[0] = 1;
  return GSL_SUCCESS;
}

static const ndpar_estimator audit_est = {audit_fit, audit_score, NULL, 1, NULL};

/* (size, n) pairs whose product overflows a size_t, or cannot be an object: each with a
 * result of n candidates, so that nothing but the product can refuse the call. */
typedef struct {
  size_t size, n;
} size_by_n;

static const size_by_n overflowing[] = {
    {(size_t)1 << 62, 4}, /* wraps to 0 */
    {SIZE_MAX, 3},
    {SIZE_MAX / 2 + 1, 2},
    {(size_t)PTRDIFF_MAX / 2 + 1, 2}, /* fits a size_t, larger than any object */
    {8, (size_t)1 << 61},
};

static ndpar_grid_result *sentinel_result(size_t candidates, size_t folds) {
  ndpar_grid_result *r = bi_hold(ndpar_grid_result_alloc(candidates, folds), free_result);
  cr_assert_not_null(r);
  gsl_matrix_set_all(r->scores, BI_SENTINEL);
  return r;
}

CASE(ndpar_grid_search_params, "size x n overflows, with a result of n candidates") {
  static const double params[4] = {1, 2, 3, 4};
  ndpar_folds *f = bi_hold(ndpar_folds_kfold(6, 2, 0, 1), free_folds);
  gsl_matrix *x = bi_matrix(6, 2);
  gsl_vector *y = bi_vector(6);
  for (size_t i = 0; i < sizeof overflowing / sizeof *overflowing; i++) {
    size_t n = overflowing[i].n, size = overflowing[i].size;
    if (n > 64) continue; /* a result of 2^61 candidates cannot be made: below */
    ndpar_grid_result *r = sentinel_result(n, 2);
    EXPECT_CODE(ndpar_grid_search_params(bi_pool(2), params, size, n, x, y, f, bi_param_fit_score,
                                         NULL, NULL, r),
                GSL_EINVAL);
    bi_assert_untouched_matrix(r->scores, "result->scores");
  }
  ndpar_grid_result *r = sentinel_result(3, 2);
  EXPECT_CODE(ndpar_grid_search_params(bi_pool(2), params, 8, (size_t)1 << 61, x, y, f,
                                       bi_param_fit_score, NULL, NULL, r),
              GSL_EINVAL);
  bi_assert_untouched_matrix(r->scores, "result->scores");
}

CASE(ndpar_grid_search_est_params, "size x n overflows, with a result of n candidates") {
  static const double params[4] = {1, 2, 3, 4};
  ndpar_folds *f = bi_hold(ndpar_folds_kfold(6, 2, 0, 1), free_folds);
  gsl_matrix *x = bi_matrix(6, 2);
  gsl_vector *y = bi_vector(6);
  for (size_t i = 0; i < sizeof overflowing / sizeof *overflowing; i++) {
    size_t n = overflowing[i].n, size = overflowing[i].size;
    ndpar_grid_result *r = sentinel_result(n > 64 ? 3 : n, 2);
    EXPECT_CODE(ndpar_grid_search_est_params(bi_pool(2), params, size, n, x, y, f, &audit_est, NULL, r),
                GSL_EINVAL);
    bi_assert_untouched_matrix(r->scores, "result->scores");
  }
}

CASE(ndpar_grid_halving, "size x n overflows, with a result of n candidates") {
  static const double params[4] = {1, 2, 3, 4};
  ndpar_folds *f = bi_hold(ndpar_folds_kfold(6, 2, 0, 1), free_folds);
  gsl_matrix *x = bi_matrix(6, 2);
  gsl_vector *y = bi_vector(6);
  ndpar_halving h = {2, 1, 4, 0};
  for (size_t i = 0; i < sizeof overflowing / sizeof *overflowing; i++) {
    size_t n = overflowing[i].n, size = overflowing[i].size;
    ndpar_grid_result *r = sentinel_result(n > 64 ? 3 : n, 2);
    EXPECT_CODE(ndpar_grid_halving(bi_pool(2), params, size, n, x, y, f, &audit_est, &h, NULL, r),
                GSL_EINVAL);
    bi_assert_untouched_matrix(r->scores, "result->scores");
  }
}
