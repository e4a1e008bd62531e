/* Bad input to the workspace forms (allocate once, then compute allocation-free). */
#include "badinput.h"

static void free_batch_ws(void *w) { ndpar_batch_workspace_free(w); }
static void free_ensemble_ws(void *w) { ndpar_ensemble_workspace_free(w); }
static void free_grad_ws(void *w) { ndpar_grad_workspace_free(w); }
static void free_preprocess_ws(void *w) { ndpar_preprocess_workspace_free(w); }
static void free_cv_ws(void *w) { ndpar_cv_workspace_free(w); }
static void free_folds(void *f) { ndpar_folds_free(f); }

/* ---- batch ---- */

CASE(ndpar_batch_workspace_alloc, "n or samples 0; sizes whose products overflow") {
  EXPECT_NULL(ndpar_batch_workspace_alloc(NULL, 0, 10, 1, 4));
  EXPECT_NULL(ndpar_batch_workspace_alloc(NULL, 2, 10, 1, 0));
  EXPECT_NULL(ndpar_batch_workspace_alloc(NULL, 2, (size_t)1 << 40, (size_t)1 << 40, 4));
  EXPECT_NULL(ndpar_batch_workspace_alloc(NULL, 2, 10, 1, (size_t)1 << 62));
  EXPECT_NULL(ndpar_batch_workspace_alloc(NULL, SIZE_MAX, 10, 1, 2));
  EXPECT_NULL(ndpar_batch_workspace_alloc(NULL, 2, SIZE_MAX, SIZE_MAX, SIZE_MAX));
}

CASE(ndpar_batch_workspace_free, "NULL") { ndpar_batch_workspace_free(NULL); }

CASE(ndpar_batch_infer_mc_ws,
     "NULL workspace; more batches, rows or samples than it holds; other widths") {
  ndpar_batch_workspace *w =
      bi_hold(ndpar_batch_workspace_alloc(bi_pool(2), 1, 3, 1, 4), free_batch_ws);
  EXPECT_TRUE(w != NULL);
  const gsl_matrix *x[2] = {bi_matrix(3, 2), bi_matrix(1, 2)}, *big[1] = {bi_matrix(4, 2)};
  gsl_matrix *mean[2] = {bi_sentinel_matrix(3, 1), bi_sentinel_matrix(1, 1)},
             *m4[1] = {bi_sentinel_matrix(4, 1)};
  gsl_matrix *wide[1] = {bi_sentinel_matrix(3, 2)};
  size_t failed = 77;
  EXPECT_CODE(ndpar_batch_infer_mc_ws(NULL, x, 1, 4, 1, 0, bi_predict_copy, NULL, mean, NULL, NULL,
                                      NULL, &failed),
              GSL_EFAULT);
  EXPECT_CODE(ndpar_batch_infer_mc_ws(w, x, 2, 4, 1, 0, bi_predict_copy, NULL, mean, NULL, NULL,
                                      NULL, &failed),
              GSL_EBADLEN);
  EXPECT_CODE(ndpar_batch_infer_mc_ws(w, big, 1, 4, 1, 0, bi_predict_copy, NULL, m4, NULL, NULL,
                                      NULL, &failed),
              GSL_EBADLEN);
  EXPECT_CODE(ndpar_batch_infer_mc_ws(w, x, 1, 5, 1, 0, bi_predict_copy, NULL, mean, NULL, NULL,
                                      NULL, &failed),
              GSL_EBADLEN);
  EXPECT_CODE(ndpar_batch_infer_mc_ws(w, x, 1, 4, 1, 0, bi_predict_copy, NULL, wide, NULL, NULL,
                                      NULL, &failed),
              GSL_EBADLEN);
  EXPECT_CODE(ndpar_batch_infer_mc_ws(w, x, 1, 4, 1, NAN, bi_predict_copy, NULL, mean, NULL, NULL,
                                      NULL, &failed),
              GSL_EINVAL);
  EXPECT_CODE(
      ndpar_batch_infer_mc_ws(w, x, 1, 4, 1, 0, NULL, NULL, mean, NULL, NULL, NULL, &failed),
      GSL_EFAULT);
  bi_assert_untouched_matrix(mean[0], "mean");
  bi_assert_untouched_matrix(m4[0], "mean");
  bi_assert_untouched_matrix(wide[0], "mean");
  EXPECT_OK(ndpar_batch_infer_mc_ws(w, x, 1, 4, 1, 0, bi_predict_copy, NULL, mean, NULL, NULL, NULL,
                                    &failed));
}

/* ---- ensemble ---- */

static const ndpar_predictor two_members[2] = {{bi_predict_copy, NULL}, {bi_predict_copy, NULL}};

CASE(ndpar_ensemble_workspace_alloc, "n or m 0; sizes whose products overflow") {
  EXPECT_NULL(ndpar_ensemble_workspace_alloc(NULL, 0, 10, 1, 2));
  EXPECT_NULL(ndpar_ensemble_workspace_alloc(NULL, 1, 10, 1, 0));
  EXPECT_NULL(ndpar_ensemble_workspace_alloc(NULL, 1, (size_t)1 << 40, (size_t)1 << 40, 2));
  EXPECT_NULL(ndpar_ensemble_workspace_alloc(NULL, 1, 10, 1, SIZE_MAX));
  EXPECT_NULL(ndpar_ensemble_workspace_alloc(NULL, SIZE_MAX, SIZE_MAX, 1, 2));
}

CASE(ndpar_ensemble_workspace_free, "NULL") { ndpar_ensemble_workspace_free(NULL); }

CASE(ndpar_ensemble_predict_batches_ws,
     "NULL workspace; more batches or rows; m not its own; other widths") {
  ndpar_ensemble_workspace *w =
      bi_hold(ndpar_ensemble_workspace_alloc(bi_pool(2), 1, 3, 1, 2), free_ensemble_ws);
  EXPECT_TRUE(w != NULL);
  const gsl_matrix *x[2] = {bi_matrix(3, 2), bi_matrix(2, 2)}, *big[1] = {bi_matrix(4, 2)};
  gsl_matrix *out[2] = {bi_sentinel_matrix(3, 1), bi_sentinel_matrix(2, 1)},
             *o4[1] = {bi_sentinel_matrix(4, 1)};
  gsl_matrix *wide[1] = {bi_sentinel_matrix(3, 2)};
  EXPECT_CODE(ndpar_ensemble_predict_batches_ws(NULL, x, 1, two_members, 2, NDPAR_AGG_MEAN, NULL, 0,
                                                out, NULL, NULL, NULL),
              GSL_EFAULT);
  EXPECT_CODE(ndpar_ensemble_predict_batches_ws(w, x, 2, two_members, 2, NDPAR_AGG_MEAN, NULL, 0,
                                                out, NULL, NULL, NULL),
              GSL_EBADLEN);
  EXPECT_CODE(ndpar_ensemble_predict_batches_ws(w, big, 1, two_members, 2, NDPAR_AGG_MEAN, NULL, 0,
                                                o4, NULL, NULL, NULL),
              GSL_EBADLEN);
  EXPECT_CODE(ndpar_ensemble_predict_batches_ws(w, x, 1, two_members, 1, NDPAR_AGG_MEAN, NULL, 0,
                                                out, NULL, NULL, NULL),
              GSL_EBADLEN);
  EXPECT_CODE(ndpar_ensemble_predict_batches_ws(w, x, 1, two_members, 2, NDPAR_AGG_MEAN, NULL, 0,
                                                wide, NULL, NULL, NULL),
              GSL_EBADLEN);
  const double nan_w[2] = {NAN, 1};
  EXPECT_CODE(ndpar_ensemble_predict_batches_ws(w, x, 1, two_members, 2, NDPAR_AGG_WEIGHTED_MEAN,
                                                nan_w, 0, out, NULL, NULL, NULL),
              GSL_EDOM);
  bi_assert_untouched_matrix(out[0], "out");
  bi_assert_untouched_matrix(o4[0], "out");
  bi_assert_untouched_matrix(wide[0], "out");
  EXPECT_OK(ndpar_ensemble_predict_batches_ws(w, x, 1, two_members, 2, NDPAR_AGG_MEAN, NULL, 0, out,
                                              NULL, NULL, NULL));
}

/* ---- grad ---- */

CASE(ndpar_grad_workspace_alloc, "n or P 0; P x the accumulators overflows") {
  EXPECT_NULL(ndpar_grad_workspace_alloc(NULL, 0, 4));
  EXPECT_NULL(ndpar_grad_workspace_alloc(NULL, 4, 0));
  EXPECT_NULL(ndpar_grad_workspace_alloc(NULL, 4, (size_t)1 << 61));
  EXPECT_NULL(ndpar_grad_workspace_alloc(NULL, 4, SIZE_MAX));
}

CASE(ndpar_grad_workspace_free, "NULL") { ndpar_grad_workspace_free(NULL); }

static int grad_rows(const gsl_matrix *x, const gsl_vector *y, gsl_vector *grad, double *loss,
                     const ndpar_task *t, void *ctx) {
  (void)y, (void)t, (void)ctx;
  gsl_vector_set_all(grad, (double)x->size1);
  *loss = 0;
  return GSL_SUCCESS;
}

CASE(ndpar_grad_compute_ws, "NULL workspace; n or P not its own") {
  ndpar_grad_workspace *w = bi_hold(ndpar_grad_workspace_alloc(bi_pool(2), 2, 3), free_grad_ws);
  EXPECT_TRUE(w != NULL);
  const gsl_matrix *x[3] = {bi_matrix(2, 1), bi_matrix(3, 1), bi_matrix(1, 1)};
  const gsl_vector *y[3] = {bi_vector(2), bi_vector(3), bi_vector(1)};
  gsl_vector *g = bi_sentinel_vector(3), *g4 = bi_sentinel_vector(4);
  double loss = BI_SENTINEL;
  size_t failed = 77;
  EXPECT_CODE(
      ndpar_grad_compute_ws(NULL, x, y, 2, grad_rows, NULL, NDPAR_REDUCE_FAST, g, &loss, &failed),
      GSL_EFAULT);
  EXPECT_CODE(
      ndpar_grad_compute_ws(w, x, y, 3, grad_rows, NULL, NDPAR_REDUCE_FAST, g, &loss, &failed),
      GSL_EBADLEN);
  EXPECT_CODE(
      ndpar_grad_compute_ws(w, x, y, 2, grad_rows, NULL, NDPAR_REDUCE_FAST, g4, &loss, &failed),
      GSL_EBADLEN);
  EXPECT_CODE(ndpar_grad_compute_ws(w, x, y, 2, NULL, NULL, NDPAR_REDUCE_FAST, g, &loss, &failed),
              GSL_EFAULT);
  EXPECT_CODE(
      ndpar_grad_compute_ws(w, x, y, 2, grad_rows, NULL, (ndpar_reduce)5, g, &loss, &failed),
      GSL_EINVAL);
  bi_assert_untouched_vector(g, "grad");
  bi_assert_untouched_vector(g4, "grad");
  EXPECT_TRUE(loss == BI_SENTINEL);
  EXPECT_OK(ndpar_grad_compute_ws(w, x, y, 2, grad_rows, NULL, NDPAR_REDUCE_DETERMINISTIC, g, &loss,
                                  &failed));
  EXPECT_TRUE(gsl_vector_get(g, 0) == (2.0 * 2 + 3.0 * 3) / 5); /* rows-weighted mean of rows */
}

/* ---- preprocess ---- */

CASE(ndpar_preprocess_workspace_alloc, "rows or cols 0; too large") {
  EXPECT_NULL(ndpar_preprocess_workspace_alloc(NULL, 0, 3));
  EXPECT_NULL(ndpar_preprocess_workspace_alloc(NULL, 3, 0));
  EXPECT_NULL(ndpar_preprocess_workspace_alloc(NULL, SIZE_MAX, SIZE_MAX));
  EXPECT_NULL(ndpar_preprocess_workspace_alloc(NULL, 4, (size_t)1 << 61));
}

CASE(ndpar_preprocess_workspace_free, "NULL") { ndpar_preprocess_workspace_free(NULL); }

CASE(ndpar_colstats_ws, "NULL workspace; x not its shape; NaN") {
  ndpar_preprocess_workspace *w =
      bi_hold(ndpar_preprocess_workspace_alloc(bi_pool(2), 5, 2), free_preprocess_ws);
  EXPECT_TRUE(w != NULL);
  gsl_matrix *x = bi_matrix(5, 2), *x6 = bi_matrix(6, 2), *x3 = bi_matrix(5, 3);
  gsl_vector *mean = bi_sentinel_vector(2);
  EXPECT_CODE(ndpar_colstats_ws(NULL, x, 0, mean, NULL, NULL, NULL), GSL_EFAULT);
  EXPECT_CODE(ndpar_colstats_ws(w, x6, 0, mean, NULL, NULL, NULL), GSL_EBADLEN);
  EXPECT_CODE(ndpar_colstats_ws(w, x3, 0, mean, NULL, NULL, NULL), GSL_EBADLEN);
  EXPECT_CODE(ndpar_colstats_ws(w, NULL, 0, mean, NULL, NULL, NULL), GSL_EFAULT);
  gsl_matrix_set(x, 4, 1, NAN);
  EXPECT_CODE(ndpar_colstats_ws(w, x, 0, mean, NULL, NULL, NULL), GSL_EDOM);
  bi_assert_untouched_vector(mean, "mean");
}

CASE(ndpar_preprocess_ex, "NULL callback, array, entry: failed untouched") {
  gsl_matrix *ch[2] = {bi_sentinel_matrix(2, 2), NULL};
  size_t failed = 77;
  EXPECT_CODE(ndpar_preprocess_ex(NULL, ch, 1, NULL, NULL, &failed), GSL_EFAULT);
  EXPECT_CODE(ndpar_preprocess_ex(NULL, NULL, 1, bi_chunk_ok, NULL, &failed), GSL_EFAULT);
  EXPECT_CODE(ndpar_preprocess_ex(bi_pool(2), ch, 2, bi_chunk_ok, NULL, &failed), GSL_EFAULT);
  EXPECT_TRUE(failed == 77);
  EXPECT_OK(ndpar_preprocess_ex(bi_pool(2), ch, 1, bi_chunk_ok, NULL, &failed));
  EXPECT_TRUE(failed == 1);
}

/* ---- cv ---- */

CASE(ndpar_cv_workspace_alloc, "NULL folds; a fold never set; cols 0 or too large") {
  ndpar_folds *f = bi_hold(ndpar_folds_kfold(6, 3, 0, 1), free_folds);
  ndpar_folds *unset = bi_hold(ndpar_folds_alloc(6, 2), free_folds);
  EXPECT_NULL(ndpar_cv_workspace_alloc(NULL, NULL, 2));
  EXPECT_NULL(ndpar_cv_workspace_alloc(NULL, unset, 2));
  EXPECT_NULL(ndpar_cv_workspace_alloc(NULL, f, 0));
  EXPECT_NULL(ndpar_cv_workspace_alloc(NULL, f, SIZE_MAX));
  EXPECT_NULL(ndpar_cv_workspace_alloc(NULL, f, (size_t)1 << 60));
}

CASE(ndpar_cv_workspace_free, "NULL") { ndpar_cv_workspace_free(NULL); }

CASE(ndpar_cv_run_ws, "NULL workspace; x of other columns; larger folds than it holds") {
  ndpar_folds *f = bi_hold(ndpar_folds_kfold(6, 3, 0, 1), free_folds);
  ndpar_folds *more = bi_hold(ndpar_folds_kfold(12, 4, 0, 1), free_folds);
  ndpar_cv_workspace *w = bi_hold(ndpar_cv_workspace_alloc(bi_pool(2), f, 2), free_cv_ws);
  EXPECT_TRUE(w != NULL);
  gsl_matrix *x = bi_matrix(6, 2), *x3 = bi_matrix(6, 3), *x12 = bi_matrix(12, 2);
  gsl_vector *y = bi_vector(6), *y12 = bi_vector(12), *sc = bi_sentinel_vector(3),
             *sc4 = bi_sentinel_vector(4);
  size_t failed = 77;
  EXPECT_CODE(ndpar_cv_run_ws(NULL, x, y, f, bi_fit_score, NULL, sc, &failed), GSL_EFAULT);
  EXPECT_CODE(ndpar_cv_run_ws(w, x3, y, f, bi_fit_score, NULL, sc, &failed), GSL_EBADLEN);
  EXPECT_CODE(ndpar_cv_run_ws(w, x12, y12, more, bi_fit_score, NULL, sc4, &failed), GSL_EBADLEN);
  EXPECT_CODE(ndpar_cv_run_ws(w, x, y, f, NULL, NULL, sc, &failed), GSL_EFAULT);
  bi_assert_untouched_vector(sc, "scores");
  bi_assert_untouched_vector(sc4, "scores");
  EXPECT_OK(ndpar_cv_run_ws(w, x, y, f, bi_fit_score, NULL, sc, &failed));
  EXPECT_TRUE(gsl_vector_get(sc, 0) == 2); /* 4 training - 2 validation indices */
}
