/* Bad input to the preprocess, grad and ensemble modules. */
#include "badinput.h"

static const gsl_matrix zero_cols = {4, 0, 0, NULL, NULL, 0}; /* GSL cannot allocate it */

/* A 4 x 2 matrix whose first column is +-1e308 (mean 0, range 2e308), second ordinary. */
static gsl_matrix *extreme_matrix(void) {
  gsl_matrix *x = bi_matrix(4, 2);
  for (size_t i = 0; i < 4; i++) gsl_matrix_set(x, i, 0, i % 2 ? -1e308 : 1e308);
  return x;
}

/* ---- colstats ---- */

CASE(ndpar_colstats, "NULL x; empty x; outputs of the wrong length; unknown flags") {
  gsl_matrix *x = bi_matrix(5, 3);
  gsl_vector *mean = bi_sentinel_vector(3), *sd = bi_sentinel_vector(2);
  EXPECT_CODE(ndpar_colstats(NULL, NULL, 0, mean, NULL, NULL, NULL), GSL_EFAULT);
  EXPECT_CODE(ndpar_colstats(NULL, &zero_cols, 0, mean, NULL, NULL, NULL), GSL_EBADLEN);
  EXPECT_CODE(ndpar_colstats(bi_pool(2), x, 0, mean, sd, NULL, NULL), GSL_EBADLEN);
  EXPECT_CODE(ndpar_colstats(bi_pool(2), x, 0x100, mean, NULL, NULL, NULL), GSL_EINVAL);
  bi_assert_untouched_vector(mean, "mean");
  bi_assert_untouched_vector(sd, "sd");
}

CASE(ndpar_colstats, "NaN and Inf: GSL_EDOM, outputs untouched") {
  gsl_matrix *x = bi_matrix(5, 3);
  gsl_vector *mean = bi_sentinel_vector(3);
  gsl_matrix_set(x, 3, 1, NAN);
  EXPECT_CODE(ndpar_colstats(bi_pool(2), x, 0, mean, NULL, NULL, NULL), GSL_EDOM);
  gsl_matrix_set(x, 3, 1, -INFINITY);
  EXPECT_CODE(ndpar_colstats(bi_pool(2), x, 0, mean, NULL, NULL, NULL), GSL_EDOM);
  bi_assert_untouched_vector(mean, "mean");
}

CASE(ndpar_colstats, "finite extremes +-1e308: mean 0, finite sd, or an error") {
  gsl_matrix *x = extreme_matrix();
  gsl_vector *mean = bi_sentinel_vector(2), *sd = bi_sentinel_vector(2);
  gsl_vector *mn = bi_sentinel_vector(2), *mx = bi_sentinel_vector(2);
  int s = ndpar_colstats(bi_pool(2), x, 0, mean, sd, mn, mx);
  if (s != GSL_SUCCESS) {
    bi_assert_untouched_vector(mean, "mean");
    return;
  }
  cr_assert(gsl_vector_get(mean, 0) == 0 && isfinite(gsl_vector_get(sd, 0)), "%s: mean %g sd %g",
            bi_label(), gsl_vector_get(mean, 0), gsl_vector_get(sd, 0));
  EXPECT_TRUE(gsl_vector_get(mn, 0) == -1e308 && gsl_vector_get(mx, 0) == 1e308);
}

CASE(ndpar_colstats, "subnormals and DBL_MAX keep their order of magnitude") {
  gsl_matrix *x = bi_matrix(3, 2);
  for (size_t i = 0; i < 3; i++) {
    gsl_matrix_set(x, i, 0, 4.9e-324 * (double)(i + 1));
    gsl_matrix_set(x, i, 1, DBL_MAX);
  }
  gsl_vector *mean = bi_sentinel_vector(2), *sd = bi_sentinel_vector(2);
  int s = ndpar_colstats(bi_pool(2), x, 0, mean, sd, NULL, NULL);
  if (s != GSL_SUCCESS) return;
  cr_assert(gsl_vector_get(mean, 0) > 0 && gsl_vector_get(mean, 0) < 1e-320, "%s: mean %g",
            bi_label(), gsl_vector_get(mean, 0));
  cr_assert(gsl_vector_get(mean, 1) == DBL_MAX && gsl_vector_get(sd, 1) == 0, "%s: mean %g sd %g",
            bi_label(), gsl_vector_get(mean, 1), gsl_vector_get(sd, 1));
}

/* ---- scalers ---- */

static void free_scaler(void *s) { ndpar_scaler_free(s); }

CASE(ndpar_scaler_alloc, "0 columns; unknown kind; SIZE_MAX columns") {
  EXPECT_NULL(ndpar_scaler_alloc(NDPAR_SCALE_STANDARD, 0));
  EXPECT_NULL(ndpar_scaler_alloc((ndpar_scale_kind)99, 3));
  EXPECT_NULL(ndpar_scaler_alloc((ndpar_scale_kind)-1, 3));
  EXPECT_NULL(ndpar_scaler_alloc(NDPAR_SCALE_ROBUST, SIZE_MAX));
  EXPECT_NULL(ndpar_scaler_alloc(NDPAR_SCALE_ROBUST, (size_t)1 << 61));
}

CASE(ndpar_scaler_free, "NULL") { ndpar_scaler_free(NULL); }

CASE(ndpar_scaler_set_flags, "NULL scaler; unknown flags") {
  EXPECT_CODE(ndpar_scaler_set_flags(NULL, 0), GSL_EFAULT);
  ndpar_scaler *s = bi_hold(ndpar_scaler_alloc(NDPAR_SCALE_STANDARD, 2), free_scaler);
  EXPECT_CODE(ndpar_scaler_set_flags(s, -1), GSL_EINVAL);
}

CASE(ndpar_scaler_fit, "NULL scaler and x; columns not the scaler's; empty x; NaN") {
  ndpar_scaler *s = bi_hold(ndpar_scaler_alloc(NDPAR_SCALE_STANDARD, 2), free_scaler);
  gsl_matrix *x = bi_matrix(4, 3);
  EXPECT_CODE(ndpar_scaler_fit(NULL, NULL, x), GSL_EFAULT);
  EXPECT_CODE(ndpar_scaler_fit(NULL, s, NULL), GSL_EFAULT);
  EXPECT_CODE(ndpar_scaler_fit(bi_pool(2), s, x), GSL_EBADLEN);
  EXPECT_CODE(ndpar_scaler_fit(NULL, s, &zero_cols), GSL_EBADLEN);
  gsl_matrix *y = bi_matrix(4, 2);
  gsl_matrix_set(y, 2, 1, NAN);
  EXPECT_CODE(ndpar_scaler_fit(bi_pool(2), s, y), GSL_EDOM);
  const gsl_vector *c, *sc;
  EXPECT_CODE(ndpar_scaler_params(s, &c, &sc), GSL_EINVAL); /* still unfitted */
}

/* Fits kind on the +-1e308 column and transforms: finite and in [lo, hi], or an error;
 * the inverse gives the data back. A scale whose range overflows is documented as +Inf. */
static void extreme_scaler(ndpar_scale_kind kind, double lo, double hi) {
  ndpar_scaler *s = bi_hold(ndpar_scaler_alloc(kind, 2), free_scaler);
  gsl_matrix *x = extreme_matrix(), *orig = extreme_matrix();
  if (ndpar_scaler_fit(bi_pool(2), s, x) != GSL_SUCCESS) return;
  const gsl_vector *center, *scale;
  EXPECT_OK(ndpar_scaler_params(s, &center, &scale));
  for (size_t j = 0; j < 2; j++)
    cr_assert(isfinite(gsl_vector_get(center, j)) && !isnan(gsl_vector_get(scale, j)) &&
                  gsl_vector_get(scale, j) > 0,
              "%s: center %g scale %g", bi_label(), gsl_vector_get(center, j),
              gsl_vector_get(scale, j));
  if (ndpar_scaler_transform(bi_pool(2), s, x) != GSL_SUCCESS) return;
  for (size_t i = 0; i < 4; i++) {
    double v = gsl_matrix_get(x, i, 0);
    cr_assert(isfinite(v) && v >= lo && v <= hi, "%s: row %zu scaled to %g", bi_label(), i, v);
  }
  if (ndpar_scaler_inverse(bi_pool(2), s, x) != GSL_SUCCESS) return;
  for (size_t i = 0; i < 4; i++)
    for (size_t j = 0; j < 2; j++) {
      double v = gsl_matrix_get(x, i, j), want = gsl_matrix_get(orig, i, j);
      cr_assert(isfinite(v) && fabs(v - want) <= 1e-12 * fabs(want) + 1e-12,
                "%s: (%zu, %zu) back as %g, was %g", bi_label(), i, j, v, want);
    }
}

CASE(ndpar_scaler_fit, "finite extremes, MINMAX: values in [0, 1], never NaN") {
  extreme_scaler(NDPAR_SCALE_MINMAX, 0, 1);
}
CASE(ndpar_scaler_fit, "finite extremes, MINMAX1: values in [-1, 1]") {
  extreme_scaler(NDPAR_SCALE_MINMAX1, -1, 1);
}
CASE(ndpar_scaler_fit, "finite extremes, STANDARD: finite") {
  extreme_scaler(NDPAR_SCALE_STANDARD, -10, 10);
}
CASE(ndpar_scaler_fit, "finite extremes, ROBUST: finite") {
  extreme_scaler(NDPAR_SCALE_ROBUST, -10, 10);
}
CASE(ndpar_scaler_fit, "finite extremes, MAXABS: in [-1, 1]") {
  extreme_scaler(NDPAR_SCALE_MAXABS, -1, 1);
}

CASE(ndpar_scaler_transform, "unfitted; NULL; wrong columns; empty: data untouched") {
  ndpar_scaler *s = bi_hold(ndpar_scaler_alloc(NDPAR_SCALE_MINMAX, 2), free_scaler);
  gsl_matrix *x = bi_sentinel_matrix(3, 2), *w = bi_sentinel_matrix(3, 3);
  EXPECT_CODE(ndpar_scaler_transform(NULL, s, x), GSL_EINVAL);
  EXPECT_CODE(ndpar_scaler_transform(NULL, NULL, x), GSL_EFAULT);
  EXPECT_OK(ndpar_scaler_fit(NULL, s, bi_matrix(4, 2)));
  EXPECT_CODE(ndpar_scaler_transform(NULL, s, NULL), GSL_EFAULT);
  EXPECT_CODE(ndpar_scaler_transform(bi_pool(2), s, w), GSL_EBADLEN);
  EXPECT_CODE(ndpar_scaler_transform(bi_pool(2), s, (gsl_matrix *)&zero_cols), GSL_EBADLEN);
  bi_assert_untouched_matrix(x, "x");
  bi_assert_untouched_matrix(w, "x");
}

CASE(ndpar_scaler_inverse, "unfitted; NULL; wrong columns: data untouched") {
  ndpar_scaler *s = bi_hold(ndpar_scaler_alloc(NDPAR_SCALE_ROBUST, 2), free_scaler);
  gsl_matrix *x = bi_sentinel_matrix(3, 2), *w = bi_sentinel_matrix(3, 1);
  EXPECT_CODE(ndpar_scaler_inverse(NULL, s, x), GSL_EINVAL);
  EXPECT_CODE(ndpar_scaler_inverse(NULL, NULL, x), GSL_EFAULT);
  EXPECT_OK(ndpar_scaler_fit(NULL, s, bi_matrix(4, 2)));
  EXPECT_CODE(ndpar_scaler_inverse(NULL, s, NULL), GSL_EFAULT);
  EXPECT_CODE(ndpar_scaler_inverse(bi_pool(2), s, w), GSL_EBADLEN);
  bi_assert_untouched_matrix(x, "x");
  bi_assert_untouched_matrix(w, "x");
}

CASE(ndpar_scaler_params, "NULL scaler; unfitted; NULL outputs") {
  const gsl_vector *c = (const gsl_vector *)&c, *sc = (const gsl_vector *)&sc;
  EXPECT_CODE(ndpar_scaler_params(NULL, &c, &sc), GSL_EFAULT);
  ndpar_scaler *s = bi_hold(ndpar_scaler_alloc(NDPAR_SCALE_MAXABS, 1), free_scaler);
  EXPECT_CODE(ndpar_scaler_params(s, &c, &sc), GSL_EINVAL);
  EXPECT_TRUE(c == (const gsl_vector *)&c && sc == (const gsl_vector *)&sc);
}

CASE(ndpar_scaler_stats, "NULL scaler; unfitted; NULL outputs") {
  const gsl_vector *c = (const gsl_vector *)&c, *mx = (const gsl_vector *)&mx;
  EXPECT_CODE(ndpar_scaler_stats(NULL, &c, NULL, NULL, &mx, NULL), GSL_EFAULT);
  ndpar_scaler *s = bi_hold(ndpar_scaler_alloc(NDPAR_SCALE_MINMAX, 2), free_scaler);
  EXPECT_CODE(ndpar_scaler_stats(s, &c, NULL, NULL, &mx, NULL), GSL_EINVAL);
  EXPECT_TRUE(c == (const gsl_vector *)&c && mx == (const gsl_vector *)&mx);
  EXPECT_OK(ndpar_scaler_fit(NULL, s, bi_matrix(4, 2)));
  EXPECT_OK(ndpar_scaler_stats(s, NULL, NULL, NULL, NULL, NULL));
}

/* Statistics of 2 columns, good but for entry 1 of one vector (NaN where none is allowed,
 * a scale of 0, min above max): refused, and the fitted scaler keeps its statistics. */
CASE(ndpar_scaler_set_stats, "NULL; lengths; min without max; NaN, zero scale, min > max: scaler untouched") {
  ndpar_scaler *s = bi_hold(ndpar_scaler_alloc(NDPAR_SCALE_STANDARD, 2), free_scaler);
  gsl_vector *c = bi_vector(2), *sc = bi_vector(2), *lo = bi_vector(2), *hi = bi_vector(2);
  gsl_vector *three = bi_vector(3);
  gsl_vector_set_all(c, 0.0);
  gsl_vector_set_all(sc, 1.0);
  gsl_vector_set_all(lo, 0.0);
  gsl_vector_set_all(hi, 2.0);
  EXPECT_CODE(ndpar_scaler_set_stats(NULL, c, sc, NULL, NULL, NULL), GSL_EFAULT);
  EXPECT_CODE(ndpar_scaler_set_stats(s, NULL, sc, NULL, NULL, NULL), GSL_EFAULT);
  EXPECT_CODE(ndpar_scaler_set_stats(s, c, NULL, NULL, NULL, NULL), GSL_EFAULT);
  EXPECT_CODE(ndpar_scaler_set_stats(s, c, sc, lo, NULL, NULL), GSL_EINVAL);
  EXPECT_CODE(ndpar_scaler_set_stats(s, three, sc, NULL, NULL, NULL), GSL_EBADLEN);
  EXPECT_CODE(ndpar_scaler_set_stats(s, c, sc, lo, hi, three), GSL_EBADLEN);
  const gsl_vector *out = NULL;
  EXPECT_CODE(ndpar_scaler_stats(s, &out, NULL, NULL, NULL, NULL), GSL_EINVAL); /* still unfitted */
  EXPECT_OK(ndpar_scaler_fit(NULL, s, bi_matrix(4, 2)));
  EXPECT_OK(ndpar_scaler_stats(s, &out, NULL, NULL, NULL, NULL));
  double before = gsl_vector_get(out, 1);
  gsl_vector_set(c, 1, NAN);
  EXPECT_CODE(ndpar_scaler_set_stats(s, c, sc, lo, hi, NULL), GSL_EDOM);
  gsl_vector_set(c, 1, 0.0);
  gsl_vector_set(sc, 1, 0.0);
  EXPECT_CODE(ndpar_scaler_set_stats(s, c, sc, lo, hi, NULL), GSL_EDOM);
  gsl_vector_set(sc, 1, 1.0);
  gsl_vector_set(lo, 1, 5.0);
  EXPECT_CODE(ndpar_scaler_set_stats(s, c, sc, lo, hi, NULL), GSL_EINVAL);
  EXPECT_TRUE(gsl_vector_get(out, 1) == before);
}

CASE(ndpar_scaler_partial_fit, "NULL; columns; empty; NaN; ROBUST; after set_stats: scaler untouched") {
  ndpar_scaler *s = bi_hold(ndpar_scaler_alloc(NDPAR_SCALE_STANDARD, 2), free_scaler);
  gsl_matrix *x = bi_matrix(4, 2);
  EXPECT_CODE(ndpar_scaler_partial_fit(NULL, NULL, x), GSL_EFAULT);
  EXPECT_CODE(ndpar_scaler_partial_fit(NULL, s, NULL), GSL_EFAULT);
  EXPECT_CODE(ndpar_scaler_partial_fit(bi_pool(2), s, bi_matrix(4, 3)), GSL_EBADLEN);
  EXPECT_CODE(ndpar_scaler_partial_fit(NULL, s, &zero_cols), GSL_EBADLEN);
  const gsl_vector *c;
  EXPECT_CODE(ndpar_scaler_stats(s, &c, NULL, NULL, NULL, NULL), GSL_EINVAL); /* still unfitted */
  EXPECT_OK(ndpar_scaler_partial_fit(bi_pool(2), s, x));
  EXPECT_OK(ndpar_scaler_stats(s, &c, NULL, NULL, NULL, NULL));
  double before = gsl_vector_get(c, 1);
  gsl_matrix *y = bi_matrix(4, 2);
  gsl_matrix_set(y, 2, 1, NAN);
  EXPECT_CODE(ndpar_scaler_partial_fit(bi_pool(2), s, y), GSL_EDOM);
  EXPECT_TRUE(gsl_vector_get(c, 1) == before);
  ndpar_scaler *r = bi_hold(ndpar_scaler_alloc(NDPAR_SCALE_ROBUST, 2), free_scaler);
  EXPECT_CODE(ndpar_scaler_partial_fit(NULL, r, x), GSL_EINVAL);
  const gsl_vector *sc;
  EXPECT_OK(ndpar_scaler_stats(s, &c, &sc, NULL, NULL, NULL));
  ndpar_scaler *t = bi_hold(ndpar_scaler_alloc(NDPAR_SCALE_STANDARD, 2), free_scaler);
  EXPECT_OK(ndpar_scaler_set_stats(t, c, sc, NULL, NULL, NULL));
  EXPECT_CODE(ndpar_scaler_partial_fit(NULL, t, x), GSL_EINVAL); /* no count to continue from */
}

/* ---- generic chunks ---- */

CASE(ndpar_preprocess, "NULL callback, array, entry") {
  gsl_matrix *ch[2] = {bi_sentinel_matrix(2, 2), NULL};
  EXPECT_CODE(ndpar_preprocess(NULL, ch, 1, NULL, NULL), GSL_EFAULT);
  EXPECT_CODE(ndpar_preprocess(NULL, NULL, 1, bi_chunk_ok, NULL), GSL_EFAULT);
  EXPECT_CODE(ndpar_preprocess(bi_pool(2), ch, 2, bi_chunk_ok, NULL), GSL_EFAULT);
  EXPECT_OK(ndpar_preprocess(NULL, NULL, 0, bi_chunk_ok, NULL));
}

CASE(ndpar_preprocess_map, "NULL callback, arrays, entries; rows that do not match") {
  const gsl_matrix *in[2] = {bi_matrix(3, 2), bi_matrix(2, 2)};
  gsl_matrix *out[2] = {bi_sentinel_matrix(3, 1), bi_sentinel_matrix(3, 1)};
  size_t failed = 77;
  EXPECT_CODE(ndpar_preprocess_map(NULL, in, out, 2, NULL, NULL, &failed), GSL_EFAULT);
  EXPECT_CODE(ndpar_preprocess_map(NULL, NULL, out, 2, bi_predict_copy, NULL, &failed), GSL_EFAULT);
  EXPECT_CODE(ndpar_preprocess_map(NULL, in, NULL, 2, bi_predict_copy, NULL, &failed), GSL_EFAULT);
  EXPECT_CODE(ndpar_preprocess_map(bi_pool(2), in, out, 2, bi_predict_copy, NULL, &failed),
              GSL_EBADLEN);
  bi_assert_untouched_matrix(out[0], "out");
  bi_assert_untouched_matrix(out[1], "out");
}

/* ---- grad ---- */

typedef struct {
  const gsl_matrix *x[2];
  const gsl_vector *y[2];
} gbatches;

static gbatches grad_batches(void) {
  gbatches b = {{bi_matrix(3, 2), bi_matrix(2, 2)}, {bi_vector(3), bi_vector(2)}};
  return b;
}

CASE(ndpar_grad_compute, "NULL callback, arrays, entries, grad; bad mode; n = 0 a no-op") {
  gbatches b = grad_batches();
  gsl_vector *g = bi_sentinel_vector(4);
  double loss = BI_SENTINEL;
  EXPECT_CODE(ndpar_grad_compute(NULL, b.x, b.y, 2, NULL, NULL, NDPAR_REDUCE_FAST, g, &loss),
              GSL_EFAULT);
  EXPECT_CODE(ndpar_grad_compute(NULL, NULL, b.y, 2, bi_grad, NULL, NDPAR_REDUCE_FAST, g, &loss),
              GSL_EFAULT);
  EXPECT_CODE(ndpar_grad_compute(NULL, b.x, NULL, 2, bi_grad, NULL, NDPAR_REDUCE_FAST, g, &loss),
              GSL_EFAULT);
  EXPECT_CODE(ndpar_grad_compute(NULL, b.x, b.y, 2, bi_grad, NULL, NDPAR_REDUCE_FAST, NULL, &loss),
              GSL_EFAULT);
  EXPECT_CODE(ndpar_grad_compute(NULL, b.x, b.y, 2, bi_grad, NULL, (ndpar_reduce)7, g, &loss),
              GSL_EINVAL);
  const gsl_vector *ys[2] = {b.y[0], NULL};
  EXPECT_CODE(
      ndpar_grad_compute(NULL, b.x, ys, 2, bi_grad, NULL, NDPAR_REDUCE_DETERMINISTIC, g, &loss),
      GSL_EFAULT);
  EXPECT_OK(ndpar_grad_compute(NULL, NULL, NULL, 0, bi_grad, NULL, NDPAR_REDUCE_FAST, g, &loss));
  bi_assert_untouched_vector(g, "grad");
  EXPECT_TRUE(loss == BI_SENTINEL);
}

static int grad_fail_second(const gsl_matrix *x, const gsl_vector *y, gsl_vector *grad,
                            double *loss, const ndpar_task *t, void *ctx) {
  return t->index == 1 ? GSL_ERANGE : bi_grad(x, y, grad, loss, t, ctx);
}

CASE(ndpar_grad_compute, "rows of x and y that differ; a zero-row batch") {
  gbatches b = grad_batches();
  gsl_vector *g = bi_sentinel_vector(4);
  double loss = BI_SENTINEL;
  const gsl_vector *ys[2] = {b.y[0], b.y[0]};
  EXPECT_CODE(
      ndpar_grad_compute(bi_pool(2), b.x, ys, 2, bi_grad, NULL, NDPAR_REDUCE_FAST, g, &loss),
      GSL_EBADLEN);
  gsl_matrix norows = {0, 2, 2, NULL, NULL, 0};
  const gsl_matrix *xs[2] = {b.x[0], &norows};
  EXPECT_EITHER(
      ndpar_grad_compute(bi_pool(2), xs, b.y, 2, bi_grad, NULL, NDPAR_REDUCE_FAST, g, &loss),
      GSL_EINVAL, GSL_EBADLEN);
  bi_assert_untouched_vector(g, "grad");
  EXPECT_TRUE(loss == BI_SENTINEL);
}

CASE(ndpar_grad_compute, "P = 2^61: the accumulators' size overflows") {
  gbatches b = grad_batches();
  gsl_vector huge = {(size_t)1 << 61, 1, (double *)&huge, NULL, 0}; /* never read: rejected first */
  double loss = BI_SENTINEL;
  EXPECT_EITHER(
      ndpar_grad_compute(bi_pool(2), b.x, b.y, 2, bi_grad, NULL, NDPAR_REDUCE_FAST, &huge, &loss),
      GSL_EINVAL, GSL_ENOMEM);
  EXPECT_TRUE(loss == BI_SENTINEL);
}

CASE(ndpar_grad_compute_ex, "NULL entry names the batch; failed untouched or set") {
  gbatches b = grad_batches();
  gsl_vector *g = bi_sentinel_vector(4);
  size_t failed = 77;
  const gsl_matrix *xs[2] = {b.x[0], NULL};
  EXPECT_CODE(
      ndpar_grad_compute_ex(NULL, xs, b.y, 2, bi_grad, NULL, NDPAR_REDUCE_FAST, g, NULL, &failed),
      GSL_EFAULT);
  EXPECT_CODE(
      ndpar_grad_compute_ex(NULL, b.x, b.y, 2, NULL, NULL, NDPAR_REDUCE_FAST, g, NULL, &failed),
      GSL_EFAULT);
  bi_assert_untouched_vector(g, "grad");
}

CASE(ndpar_grad_aggregate,
     "NULL grads, out, entries; lengths; weights NaN, Inf, negative, zero; n = 0 a no-op") {
  const gsl_vector *gr[2] = {bi_vector(3), bi_vector(3)};
  gsl_vector *out = bi_sentinel_vector(3);
  EXPECT_CODE(ndpar_grad_aggregate(NULL, NULL, NULL, 2, out), GSL_EFAULT);
  EXPECT_CODE(ndpar_grad_aggregate(NULL, gr, NULL, 2, NULL), GSL_EFAULT);
  EXPECT_OK(ndpar_grad_aggregate(NULL, NULL, NULL, 0, out));
  const gsl_vector *bad[2] = {gr[0], NULL}, *len[2] = {gr[0], bi_vector(2)};
  EXPECT_CODE(ndpar_grad_aggregate(NULL, bad, NULL, 2, out), GSL_EFAULT);
  EXPECT_CODE(ndpar_grad_aggregate(NULL, len, NULL, 2, out), GSL_EBADLEN);
  const double nan_w[2] = {1, NAN}, inf_w[2] = {INFINITY, 1}, neg_w[2] = {1, -1},
               zero_w[2] = {0, 0};
  EXPECT_CODE(ndpar_grad_aggregate(NULL, gr, nan_w, 2, out), GSL_EDOM);
  EXPECT_CODE(ndpar_grad_aggregate(NULL, gr, inf_w, 2, out), GSL_EDOM);
  EXPECT_CODE(ndpar_grad_aggregate(NULL, gr, neg_w, 2, out), GSL_EINVAL);
  EXPECT_CODE(ndpar_grad_aggregate(NULL, gr, zero_w, 2, out), GSL_EINVAL);
  bi_assert_untouched_vector(out, "out");
}

CASE(ndpar_grad_aggregate, "weights 1e308 (their sum overflows): the exact mean, or an error") {
  const gsl_vector *gr[2] = {bi_vector(3), bi_vector(3)};
  gsl_vector *out = bi_sentinel_vector(3);
  const double w[2] = {1e308, 1e308};
  if (ndpar_grad_aggregate(bi_pool(2), gr, w, 2, out) != GSL_SUCCESS) {
    bi_assert_untouched_vector(out, "out");
    return;
  }
  for (size_t i = 0; i < 3; i++)
    cr_assert(fabs(gsl_vector_get(out, i) - (double)i) <= 4 * DBL_EPSILON * (double)i,
              "%s: out[%zu] = %.17g, want %zu", bi_label(), i, gsl_vector_get(out, i), i);
}

CASE(ndpar_grad_aggregate, "gradients of +-1e308: finite, or an error") {
  gsl_vector *a = bi_vector(2), *b = bi_vector(2);
  gsl_vector_set_all(a, 1e308);
  gsl_vector_set_all(b, 1e308);
  const gsl_vector *gr[2] = {a, b};
  gsl_vector *out = bi_sentinel_vector(2);
  if (ndpar_grad_aggregate(NULL, gr, NULL, 2, out) != GSL_SUCCESS) return;
  cr_assert(gsl_vector_get(out, 0) == 1e308, "%s: mean of 1e308, 1e308 = %g", bi_label(),
            gsl_vector_get(out, 0));
}

/* ---- ensemble ---- */

static const ndpar_predictor members[3] = {
    {bi_predict_copy, NULL}, {bi_predict_copy, NULL}, {bi_predict_copy, NULL}};

CASE(ndpar_ensemble_predict, "m = 0; NULL models, member, x, out; unknown aggregation") {
  gsl_matrix *x = bi_matrix(3, 2), *out = bi_sentinel_matrix(3, 2),
             *spread = bi_sentinel_matrix(3, 2);
  EXPECT_CODE(ndpar_ensemble_predict(NULL, x, members, 0, NDPAR_AGG_MEAN, NULL, out, spread),
              GSL_EINVAL);
  EXPECT_CODE(ndpar_ensemble_predict(NULL, x, NULL, 3, NDPAR_AGG_MEAN, NULL, out, spread),
              GSL_EFAULT);
  const ndpar_predictor holes[2] = {{bi_predict_copy, NULL}, {NULL, NULL}};
  EXPECT_CODE(ndpar_ensemble_predict(NULL, x, holes, 2, NDPAR_AGG_MEAN, NULL, out, spread),
              GSL_EFAULT);
  EXPECT_CODE(ndpar_ensemble_predict(NULL, NULL, members, 3, NDPAR_AGG_MEAN, NULL, out, spread),
              GSL_EFAULT);
  EXPECT_CODE(ndpar_ensemble_predict(NULL, x, members, 3, NDPAR_AGG_MEAN, NULL, NULL, spread),
              GSL_EFAULT);
  EXPECT_CODE(ndpar_ensemble_predict(NULL, x, members, 3, (ndpar_agg)17, NULL, out, spread),
              GSL_EINVAL);
  bi_assert_untouched_matrix(out, "out");
  bi_assert_untouched_matrix(spread, "spread");
}

CASE(ndpar_ensemble_predict, "weights: missing, NaN, Inf, negative, all zero; trim NaN, 0.5, -1") {
  gsl_matrix *x = bi_matrix(3, 2), *out = bi_sentinel_matrix(3, 2);
  const double nan_w[3] = {1, NAN, 1}, inf_w[3] = {1, 1, INFINITY}, neg_w[3] = {1, -1, 1},
               zero_w[3] = {0, 0, 0};
  EXPECT_CODE(ndpar_ensemble_predict(NULL, x, members, 3, NDPAR_AGG_WEIGHTED_MEAN, NULL, out, NULL),
              GSL_EFAULT);
  EXPECT_CODE(
      ndpar_ensemble_predict(NULL, x, members, 3, NDPAR_AGG_WEIGHTED_MEAN, nan_w, out, NULL),
      GSL_EDOM);
  EXPECT_CODE(
      ndpar_ensemble_predict(NULL, x, members, 3, NDPAR_AGG_WEIGHTED_MEAN, inf_w, out, NULL),
      GSL_EDOM);
  EXPECT_CODE(
      ndpar_ensemble_predict(NULL, x, members, 3, NDPAR_AGG_WEIGHTED_MEAN, neg_w, out, NULL),
      GSL_EINVAL);
  EXPECT_CODE(
      ndpar_ensemble_predict(NULL, x, members, 3, NDPAR_AGG_WEIGHTED_MEAN, zero_w, out, NULL),
      GSL_EINVAL);
  const double tnan[1] = {NAN}, thalf[1] = {0.5}, tneg[1] = {-1};
  EXPECT_CODE(ndpar_ensemble_predict(NULL, x, members, 3, NDPAR_AGG_TRIMMED_MEAN, NULL, out, NULL),
              GSL_EFAULT);
  EXPECT_CODE(ndpar_ensemble_predict(NULL, x, members, 3, NDPAR_AGG_TRIMMED_MEAN, tnan, out, NULL),
              GSL_EDOM);
  EXPECT_CODE(ndpar_ensemble_predict(NULL, x, members, 3, NDPAR_AGG_TRIMMED_MEAN, thalf, out, NULL),
              GSL_EINVAL);
  EXPECT_CODE(ndpar_ensemble_predict(NULL, x, members, 3, NDPAR_AGG_TRIMMED_MEAN, tneg, out, NULL),
              GSL_EINVAL);
  bi_assert_untouched_matrix(out, "out");
}

CASE(ndpar_ensemble_predict, "out or spread of another shape; 0-column x") {
  gsl_matrix *x = bi_matrix(3, 2), *out = bi_sentinel_matrix(2, 2),
             *spread = bi_sentinel_matrix(3, 1);
  gsl_matrix *good = bi_sentinel_matrix(3, 2);
  EXPECT_CODE(ndpar_ensemble_predict(bi_pool(2), x, members, 3, NDPAR_AGG_MEAN, NULL, out, NULL),
              GSL_EBADLEN);
  EXPECT_CODE(ndpar_ensemble_predict(bi_pool(2), x, members, 3, NDPAR_AGG_MEAN, NULL, good, spread),
              GSL_EBADLEN);
  EXPECT_CODE(
      ndpar_ensemble_predict(bi_pool(2), &zero_cols, members, 3, NDPAR_AGG_MEAN, NULL, good, NULL),
      GSL_EBADLEN);
  bi_assert_untouched_matrix(out, "out");
  bi_assert_untouched_matrix(spread, "spread");
  bi_assert_untouched_matrix(good, "out");
}

CASE(ndpar_ensemble_predict, "weights 1e308 (their sum overflows): the exact mean, or an error") {
  gsl_matrix *x = bi_matrix(3, 2), *out = bi_sentinel_matrix(3, 2);
  const double w[3] = {1e308, 1e308, 1e308};
  if (ndpar_ensemble_predict(bi_pool(2), x, members, 3, NDPAR_AGG_WEIGHTED_MEAN, w, out, NULL) !=
      GSL_SUCCESS) {
    bi_assert_untouched_matrix(out, "out");
    return;
  }
  for (size_t i = 0; i < 3; i++)
    for (size_t j = 0; j < 2; j++) {
      double v = gsl_matrix_get(out, i, j), want = gsl_matrix_get(x, i, j);
      cr_assert(fabs(v - want) <= 4 * DBL_EPSILON * fabs(want),
                "%s: out(%zu, %zu) = %.17g, want %.17g", bi_label(), i, j, v, want);
    }
}

/* Member k writes +1e308 (k even) or -1e308: the mean of three is 1e308 / 3, finite. */
static int predict_extreme(const gsl_matrix *x, gsl_matrix *y, const ndpar_task *t, void *ctx) {
  (void)x, (void)t;
  gsl_matrix_set_all(y, *(const double *)ctx);
  return GSL_SUCCESS;
}

CASE(ndpar_ensemble_predict, "member outputs +-1e308: finite mean and spread, or an error") {
  static const double big = 1e308, neg = -1e308;
  const ndpar_predictor ext[3] = {{predict_extreme, (void *)&big},
                              {predict_extreme, (void *)&big},
                              {predict_extreme, (void *)&neg}};
  gsl_matrix *x = bi_matrix(2, 1), *out = bi_sentinel_matrix(2, 1),
             *spread = bi_sentinel_matrix(2, 1);
  if (ndpar_ensemble_predict(bi_pool(2), x, ext, 3, NDPAR_AGG_MEAN, NULL, out, spread) !=
      GSL_SUCCESS) {
    bi_assert_untouched_matrix(out, "out");
    return;
  }
  double m = gsl_matrix_get(out, 0, 0), s = gsl_matrix_get(spread, 0, 0);
  cr_assert(isfinite(m) && fabs(m - 1e308 / 3) < 1e293 && isfinite(s), "%s: mean %g spread %g",
            bi_label(), m, s);
}

CASE(ndpar_ensemble_predict_batches, "NULL arrays, entries; unknown flags; width that differs") {
  const gsl_matrix *x[2] = {bi_matrix(3, 2), bi_matrix(2, 2)};
  gsl_matrix *out[2] = {bi_sentinel_matrix(3, 2), bi_sentinel_matrix(2, 2)};
  size_t fm = 77, fb = 77;
  EXPECT_CODE(ndpar_ensemble_predict_batches(NULL, NULL, 2, members, 3, NDPAR_AGG_MEAN, NULL, 0,
                                             out, NULL, &fm, &fb),
              GSL_EFAULT);
  EXPECT_CODE(ndpar_ensemble_predict_batches(NULL, x, 2, members, 3, NDPAR_AGG_MEAN, NULL, 0, NULL,
                                             NULL, &fm, &fb),
              GSL_EFAULT);
  const gsl_matrix *xh[2] = {x[0], NULL};
  EXPECT_CODE(ndpar_ensemble_predict_batches(NULL, xh, 2, members, 3, NDPAR_AGG_MEAN, NULL, 0, out,
                                             NULL, &fm, &fb),
              GSL_EFAULT);
  EXPECT_CODE(ndpar_ensemble_predict_batches(NULL, x, 2, members, 3, NDPAR_AGG_MEAN, NULL, 8, out,
                                             NULL, &fm, &fb),
              GSL_EINVAL);
  gsl_matrix *wide[2] = {out[0], bi_sentinel_matrix(2, 3)};
  EXPECT_CODE(ndpar_ensemble_predict_batches(bi_pool(2), x, 2, members, 3, NDPAR_AGG_MEDIAN, NULL,
                                             0, wide, NULL, &fm, &fb),
              GSL_EBADLEN);
  bi_assert_untouched_matrix(out[0], "out");
  bi_assert_untouched_matrix(out[1], "out");
  bi_assert_untouched_matrix(wide[1], "out");
}

CASE(ndpar_ensemble_predict_batches, "negative aggregation; spread of another height") {
  const gsl_matrix *x[2] = {bi_matrix(3, 2), bi_matrix(2, 2)};
  gsl_matrix *out[2] = {bi_sentinel_matrix(3, 2), bi_sentinel_matrix(2, 2)};
  gsl_matrix *spread[2] = {bi_sentinel_matrix(3, 2), bi_sentinel_matrix(3, 2)};
  EXPECT_CODE(ndpar_ensemble_predict_batches(NULL, x, 2, members, 3, (ndpar_agg)-3, NULL, 0, out,
                                             NULL, NULL, NULL),
              GSL_EINVAL);
  EXPECT_CODE(ndpar_ensemble_predict_batches(bi_pool(2), x, 2, members, 3, NDPAR_AGG_MEAN, NULL, 0,
                                             out, spread, NULL, NULL),
              GSL_EBADLEN);
  bi_assert_untouched_matrix(out[0], "out");
  bi_assert_untouched_matrix(spread[0], "spread");
}

/* ---- NaN and Inf where the documentation promises an answer ---- */

static int predict_nan(const gsl_matrix *x, gsl_matrix *y, const ndpar_task *t, void *ctx) {
  (void)x, (void)t;
  gsl_matrix_set_all(y, *(const double *)ctx);
  return GSL_SUCCESS;
}

CASE(ndpar_ensemble_predict, "a member writing NaN or Inf: GSL_EDOM, outputs untouched") {
  static const double nan = NAN, inf = -INFINITY;
  const ndpar_predictor m[3] = {
      {bi_predict_copy, NULL}, {predict_nan, (void *)&nan}, {predict_nan, (void *)&inf}};
  gsl_matrix *x = bi_matrix(3, 2), *out = bi_sentinel_matrix(3, 2),
             *spread = bi_sentinel_matrix(3, 2);
  bi_unnamed("a member wrote NaN: the data, not an argument");
  EXPECT_CODE(ndpar_ensemble_predict(bi_pool(3), x, m, 3, NDPAR_AGG_MEAN, NULL, out, spread),
              GSL_EDOM);
  bi_unnamed("a member wrote NaN: the data, not an argument");
  EXPECT_CODE(ndpar_ensemble_predict(bi_pool(3), x, m + 2, 1, NDPAR_AGG_MEDIAN, NULL, out, NULL),
              GSL_EDOM);
  bi_assert_untouched_matrix(out, "out");
  bi_assert_untouched_matrix(spread, "spread");
}

CASE(ndpar_ensemble_predict_batches,
     "every member NaN, ignoring non-finite: NaN elements, success") {
  static const double nan = NAN;
  const ndpar_predictor m[2] = {{predict_nan, (void *)&nan}, {predict_nan, (void *)&nan}};
  const gsl_matrix *x[1] = {bi_matrix(2, 1)};
  gsl_matrix *out[1] = {bi_sentinel_matrix(2, 1)};
  EXPECT_OK(ndpar_ensemble_predict_batches(bi_pool(2), x, 1, m, 2, NDPAR_AGG_MEAN, NULL,
                                           NDPAR_ENSEMBLE_IGNORE_NONFINITE, out, NULL, NULL, NULL));
  EXPECT_TRUE(isnan(gsl_matrix_get(out[0], 0, 0)) && isnan(gsl_matrix_get(out[0], 1, 0)));
}

CASE(ndpar_colstats,
     "a column all NaN, ignoring non-finite: NaN statistics there, the others right") {
  gsl_matrix *x = bi_matrix(4, 2);
  for (size_t i = 0; i < 4; i++) gsl_matrix_set(x, i, 1, i % 2 ? NAN : INFINITY);
  gsl_vector *mean = bi_sentinel_vector(2), *mx = bi_sentinel_vector(2);
  EXPECT_OK(ndpar_colstats(bi_pool(2), x, NDPAR_PREPROCESS_IGNORE_NONFINITE, mean, NULL, NULL, mx));
  EXPECT_TRUE(isnan(gsl_vector_get(mean, 1)) && isnan(gsl_vector_get(mx, 1)));
  EXPECT_TRUE(gsl_vector_get(mean, 0) == 1.5 && gsl_vector_get(mx, 0) == 3);
}

CASE(ndpar_scaler_transform, "NaN and Inf in the data map to NaN and Inf, the rest scaled") {
  ndpar_scaler *s = bi_hold(ndpar_scaler_alloc(NDPAR_SCALE_MINMAX, 1), free_scaler);
  gsl_matrix *fit = bi_matrix(5, 1), *x = bi_matrix(3, 1);
  EXPECT_OK(ndpar_scaler_fit(NULL, s, fit)); /* column 0..4: min 0, range 4 */
  gsl_matrix_set(x, 0, 0, NAN);
  gsl_matrix_set(x, 1, 0, INFINITY);
  gsl_matrix_set(x, 2, 0, 2);
  EXPECT_OK(ndpar_scaler_transform(bi_pool(2), s, x));
  EXPECT_TRUE(isnan(gsl_matrix_get(x, 0, 0)) && isinf(gsl_matrix_get(x, 1, 0)) &&
              gsl_matrix_get(x, 2, 0) == 0.5);
}

CASE(ndpar_scaler_fit, "NaN with IGNORE_NONFINITE: fitted on the finite values") {
  ndpar_scaler *s = bi_hold(ndpar_scaler_alloc(NDPAR_SCALE_MAXABS, 1), free_scaler);
  gsl_matrix *x = bi_matrix(4, 1);
  gsl_matrix_set(x, 3, 0, NAN); /* 0, 1, 2, NaN: max |x| = 2 */
  EXPECT_OK(ndpar_scaler_set_flags(s, NDPAR_PREPROCESS_IGNORE_NONFINITE));
  EXPECT_OK(ndpar_scaler_fit(bi_pool(2), s, x));
  const gsl_vector *c, *sc;
  EXPECT_OK(ndpar_scaler_params(s, &c, &sc));
  EXPECT_TRUE(gsl_vector_get(sc, 0) == 2 && gsl_vector_get(c, 0) == 0);
}

CASE(ndpar_grad_compute, "a callback failing: its status, grad and loss untouched") {
  gbatches b = grad_batches();
  gsl_vector *g = bi_sentinel_vector(4);
  double loss = BI_SENTINEL;
  size_t failed = 77;
  cr_assert_eq(ndpar_grad_compute_ex(bi_pool(3), b.x, b.y, 2, grad_fail_second, NULL,
                                     NDPAR_REDUCE_FAST, g, &loss, &failed),
               GSL_ERANGE, "%s", bi_label());
  EXPECT_TRUE(failed == 1 && loss == BI_SENTINEL);
  bi_assert_untouched_vector(g, "grad");
}
