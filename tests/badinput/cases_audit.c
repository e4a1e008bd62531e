/* cases_audit.c: the cases an audit of every entry point asked for (issue 28): `_init(NULL)`
 * for every options struct, size x n products in every call that takes an array of the
 * caller's parameter structs, and every pair of outputs passed as the same object. */
#include "badinput.h"

#include "ndpar/ndpar_batch.h"
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

/* ---- outputs that share memory: every pair of every function with several ---- */

/* k sentinel matrices of rows x cols, and the check that they all still are. */
static void sentinels(gsl_matrix **m, size_t k, size_t rows, size_t cols) {
  for (size_t i = 0; i < k; i++) m[i] = bi_sentinel_matrix(rows, cols);
}

static void all_untouched(gsl_matrix *const *m, size_t k) {
  for (size_t i = 0; i < k; i++) bi_assert_untouched_matrix(m[i], "an output");
}

CASE(ndpar_batch_infer_mc, "mean and sd the same matrix") {
  gsl_matrix *x[] = {bi_matrix(4, 2)}, *o[2];
  sentinels(o, 2, 4, 2);
  EXPECT_CODE(ndpar_batch_infer_mc(bi_pool(2), x, 1, 5, 1, bi_predict_copy, NULL, o, o), GSL_EINVAL);
  all_untouched(o, 2);
}

CASE(ndpar_batch_infer_mc_interval, "every pair of mean, sd, lower, upper aliased") {
  gsl_matrix *x[] = {bi_matrix(4, 2)}, *o[4];
  sentinels(o, 4, 4, 2);
  for (size_t i = 0; i < 4; i++)
    for (size_t j = i + 1; j < 4; j++) {
      gsl_matrix *a[4] = {o[0], o[1], o[2], o[3]};
      a[j] = a[i];
      gsl_matrix *m[] = {a[0]}, *s[] = {a[1]}, *lo[] = {a[2]}, *hi[] = {a[3]};
      size_t failed = 99;
      EXPECT_CODE(ndpar_batch_infer_mc_interval(bi_pool(2), x, 1, 5, 1, 0.9, bi_predict_copy, NULL, m, s, lo, hi, &failed),
                  GSL_EINVAL);
      EXPECT_TRUE(failed == 99);
      all_untouched(o, 4);
    }
  /* Column blocks of one matrix share no element: fine. */
  gsl_matrix *wide = bi_sentinel_matrix(4, 8);
  gsl_matrix_view v[4];
  gsl_matrix *m[1], *s[1], *lo[1], *hi[1];
  for (size_t i = 0; i < 4; i++) v[i] = gsl_matrix_submatrix(wide, 0, 2 * i, 4, 2);
  m[0] = &v[0].matrix, s[0] = &v[1].matrix, lo[0] = &v[2].matrix, hi[0] = &v[3].matrix;
  EXPECT_OK(ndpar_batch_infer_mc_interval(bi_pool(2), x, 1, 5, 1, 0.9, bi_predict_copy, NULL, m, s, lo, hi, NULL));
}

static void free_batch_ws(void *w) { ndpar_batch_workspace_free(w); }

CASE(ndpar_batch_infer_mc_ws, "every pair of mean, sd, lower, upper aliased") {
  gsl_matrix *x[] = {bi_matrix(4, 2)}, *o[4];
  sentinels(o, 4, 4, 2);
  ndpar_batch_workspace *w = bi_hold(ndpar_batch_workspace_alloc(bi_pool(2), 1, 4, 2, 5), free_batch_ws);
  for (size_t i = 0; i < 4; i++)
    for (size_t j = i + 1; j < 4; j++) {
      gsl_matrix *a[4] = {o[0], o[1], o[2], o[3]};
      a[j] = a[i];
      gsl_matrix *m[] = {a[0]}, *s[] = {a[1]}, *lo[] = {a[2]}, *hi[] = {a[3]};
      EXPECT_CODE(ndpar_batch_infer_mc_ws(w, x, 1, 5, 1, 0.9, bi_predict_copy, NULL, m, s, lo, hi, NULL),
                  GSL_EINVAL);
      all_untouched(o, 4);
    }
}

static const ndpar_predictor audit_members[] = {{bi_predict_copy, NULL}, {bi_predict_copy, NULL}};

CASE(ndpar_ensemble_predict, "out and spread the same matrix, or overlapping views") {
  gsl_matrix *x = bi_matrix(4, 2), *o = bi_sentinel_matrix(4, 3);
  EXPECT_CODE(ndpar_ensemble_predict(bi_pool(2), x, audit_members, 2, NDPAR_AGG_MEAN, NULL, o, o), GSL_EINVAL);
  gsl_matrix_view a = gsl_matrix_submatrix(o, 0, 0, 4, 2), b = gsl_matrix_submatrix(o, 0, 1, 4, 2);
  EXPECT_CODE(ndpar_ensemble_predict(bi_pool(2), x, audit_members, 2, NDPAR_AGG_MEAN, NULL, &a.matrix, &b.matrix),
              GSL_EINVAL);
  bi_assert_untouched_matrix(o, "out");
}

CASE(ndpar_ensemble_predict_batches, "one array passed as out and spread") {
  gsl_matrix *x[] = {bi_matrix(4, 2), bi_matrix(3, 2)}, *o[] = {bi_sentinel_matrix(4, 2), bi_sentinel_matrix(3, 2)};
  size_t fm = 99, fb = 99;
  EXPECT_CODE(ndpar_ensemble_predict_batches(bi_pool(2), x, 2, audit_members, 2, NDPAR_AGG_MEAN, NULL, 0, o, o, &fm, &fb),
              GSL_EINVAL);
  EXPECT_TRUE(fm == 99 && fb == 99);
  all_untouched(o, 2);
}

static void free_ensemble_ws(void *w) { ndpar_ensemble_workspace_free(w); }

CASE(ndpar_ensemble_predict_batches_ws, "one array passed as out and spread") {
  gsl_matrix *x[] = {bi_matrix(4, 2)}, *o[] = {bi_sentinel_matrix(4, 2)};
  ndpar_ensemble_workspace *w = bi_hold(ndpar_ensemble_workspace_alloc(bi_pool(2), 1, 4, 2, 2), free_ensemble_ws);
  EXPECT_CODE(ndpar_ensemble_predict_batches_ws(w, x, 1, audit_members, 2, NDPAR_AGG_MEAN, NULL, 0, o, o, NULL, NULL),
              GSL_EINVAL);
  all_untouched(o, 1);
}

static void free_preprocess_ws(void *w) { ndpar_preprocess_workspace_free(w); }

/* Every pair of (mean, sd, min, max) aliased, through the plain or the workspace form. */
static void colstats_pairs(ndpar_preprocess_workspace *w) {
  gsl_matrix *x = bi_matrix(5, 3);
  gsl_vector *o[4];
  for (size_t i = 0; i < 4; i++) o[i] = bi_sentinel_vector(3);
  for (size_t i = 0; i < 4; i++)
    for (size_t j = i + 1; j < 4; j++) {
      gsl_vector *a[4] = {o[0], o[1], o[2], o[3]};
      a[j] = a[i];
      if (w) EXPECT_CODE(ndpar_colstats_ws(w, x, 0, a[0], a[1], a[2], a[3]), GSL_EINVAL);
      else EXPECT_CODE(ndpar_colstats(bi_pool(2), x, 0, a[0], a[1], a[2], a[3]), GSL_EINVAL);
      for (size_t k = 0; k < 4; k++) bi_assert_untouched_vector(o[k], "an output");
    }
  /* Rows of one matrix, and interleaved strides, share no element: fine. */
  gsl_matrix *rows = bi_sentinel_matrix(4, 3);
  gsl_vector_view r[4];
  for (size_t i = 0; i < 4; i++) r[i] = gsl_matrix_row(rows, i);
  if (w) EXPECT_OK(ndpar_colstats_ws(w, x, 0, &r[0].vector, &r[1].vector, &r[2].vector, &r[3].vector));
  else EXPECT_OK(ndpar_colstats(bi_pool(2), x, 0, &r[0].vector, &r[1].vector, &r[2].vector, &r[3].vector));
}

CASE(ndpar_colstats, "every pair of mean, sd, min, max aliased") { colstats_pairs(NULL); }

CASE(ndpar_colstats_ws, "every pair of mean, sd, min, max aliased") {
  colstats_pairs(bi_hold(ndpar_preprocess_workspace_alloc(bi_pool(2), 5, 3), free_preprocess_ws));
}

CASE(ndpar_windows, "x and y the same matrix") {
  gsl_vector *series = bi_vector(10);
  gsl_matrix *both = bi_sentinel_matrix(7, 2); /* 7 windows of 2 lags and horizon 2 */
  EXPECT_CODE(ndpar_windows(series, 2, 2, 1, both, both), GSL_EINVAL);
  bi_assert_untouched_matrix(both, "x and y");
}

CASE(ndpar_cv_summary, "mean and sd the same double") {
  gsl_vector *s = bi_vector(4);
  double v = BI_SENTINEL;
  EXPECT_CODE(ndpar_cv_summary(s, &v, &v), GSL_EINVAL);
  EXPECT_TRUE(v == BI_SENTINEL);
}

CASE(ndpar_folds_get, "train and val, or ntrain and nval, the same output") {
  ndpar_folds *f = bi_hold(ndpar_folds_kfold(6, 2, 0, 1), free_folds);
  const size_t *p = NULL;
  size_t a = 77, b = 88;
  EXPECT_CODE(ndpar_folds_get(f, 0, &p, &a, &p, &b), GSL_EINVAL);
  EXPECT_CODE(ndpar_folds_get(f, 0, NULL, &a, NULL, &a), GSL_EINVAL);
  EXPECT_TRUE(p == NULL && a == 77 && b == 88);
}

/* ---- sizes that fit a size_t but no machine: NULL, nothing held (LeakSanitizer) ---- */

CASE(ndpar_cv_workspace_alloc, "2^58 columns: out of memory, nothing leaked") {
  ndpar_folds *f = bi_hold(ndpar_folds_kfold(6, 2, 0, 1), free_folds);
  EXPECT_NULL(ndpar_cv_workspace_alloc(bi_pool(1), f, (size_t)1 << 58));
}

CASE(ndpar_grid_result_alloc, "2^40 candidates x 2^10 folds: out of memory, nothing leaked") {
  EXPECT_NULL(ndpar_grid_result_alloc((size_t)1 << 40, 1024));
  EXPECT_NULL(ndpar_grid_result_alloc_est((size_t)1 << 20, (size_t)1 << 20, 1024, 1));
}
