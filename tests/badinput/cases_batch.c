/* Bad input to the batch module. */
#include "badinput.h"

/* Two batches (3 and 2 rows, 4 columns) with sentinel outputs of 2 columns. */
typedef struct {
  const gsl_matrix *x[2];
  gsl_matrix *y[2];
} two;

static two two_batches(void) {
  two b = {{bi_matrix(3, 4), bi_matrix(2, 4)},
           {bi_sentinel_matrix(3, 2), bi_sentinel_matrix(2, 2)}};
  return b;
}

static void untouched(gsl_matrix *const *y, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (y[i]) bi_assert_untouched_matrix(y[i], name);
}

CASE(ndpar_batch_infer, "NULL callback, arrays, entries") {
  two b = two_batches();
  EXPECT_CODE(ndpar_batch_infer(NULL, b.x, b.y, 2, NULL, NULL), GSL_EFAULT);
  EXPECT_CODE(ndpar_batch_infer(NULL, NULL, b.y, 2, bi_predict_copy, NULL), GSL_EFAULT);
  EXPECT_CODE(ndpar_batch_infer(NULL, b.x, NULL, 2, bi_predict_copy, NULL), GSL_EFAULT);
  const gsl_matrix *xs[2] = {b.x[0], NULL};
  EXPECT_CODE(ndpar_batch_infer(NULL, xs, b.y, 2, bi_predict_copy, NULL), GSL_EFAULT);
  gsl_matrix *ys[2] = {b.y[0], NULL};
  EXPECT_CODE(ndpar_batch_infer(NULL, b.x, ys, 2, bi_predict_copy, NULL), GSL_EFAULT);
  untouched(b.y, 2, "y");
}

CASE(ndpar_batch_infer, "output rows or widths that do not match") {
  two b = two_batches();
  gsl_matrix *wrong_rows[2] = {b.y[0], bi_sentinel_matrix(3, 2)};
  EXPECT_CODE(ndpar_batch_infer(bi_pool(2), b.x, wrong_rows, 2, bi_predict_copy, NULL),
              GSL_EBADLEN);
  gsl_matrix *wrong_cols[2] = {b.y[0], bi_sentinel_matrix(2, 3)};
  EXPECT_CODE(ndpar_batch_infer(bi_pool(2), b.x, wrong_cols, 2, bi_predict_copy, NULL),
              GSL_EBADLEN);
  untouched(b.y, 2, "y");
  untouched(wrong_rows, 2, "y");
  untouched(wrong_cols, 2, "y");
}

CASE(ndpar_batch_infer, "n = 0 with NULL arrays is a no-op") {
  EXPECT_OK(ndpar_batch_infer(NULL, NULL, NULL, 0, bi_predict_copy, NULL));
}

CASE(ndpar_batch_infer, "0-column inputs and outputs") {
  const gsl_matrix *x[1] = {bi_matrix(3, 1)};
  gsl_matrix *y[1] = {bi_sentinel_matrix(2, 1)};
  EXPECT_CODE(ndpar_batch_infer(bi_pool(2), x, y, 1, bi_predict_copy, NULL), GSL_EBADLEN);
  untouched(y, 1, "y");
}

CASE(ndpar_batch_infer_ex, "NULL callback; mismatched rows name the batch") {
  two b = two_batches();
  size_t failed = 77;
  EXPECT_CODE(ndpar_batch_infer_ex(NULL, b.x, b.y, 2, NULL, NULL, &failed), GSL_EFAULT);
  gsl_matrix *wrong[2] = {bi_sentinel_matrix(1, 2), b.y[1]};
  EXPECT_CODE(ndpar_batch_infer_ex(bi_pool(3), b.x, wrong, 2, bi_predict_copy, NULL, &failed),
              GSL_EBADLEN);
  untouched(b.y, 2, "y");
  untouched(wrong, 2, "y");
}

CASE(ndpar_batch_infer_rows, "NULL x, y, callback; batch_rows 0") {
  gsl_matrix *x = bi_matrix(5, 2), *y = bi_sentinel_matrix(5, 1);
  EXPECT_CODE(ndpar_batch_infer_rows(NULL, NULL, 2, y, bi_predict_copy, NULL, NULL), GSL_EFAULT);
  EXPECT_CODE(ndpar_batch_infer_rows(NULL, x, 2, NULL, bi_predict_copy, NULL, NULL), GSL_EFAULT);
  EXPECT_CODE(ndpar_batch_infer_rows(NULL, x, 2, y, NULL, NULL, NULL), GSL_EFAULT);
  EXPECT_CODE(ndpar_batch_infer_rows(NULL, x, 0, y, bi_predict_copy, NULL, NULL), GSL_EINVAL);
  bi_assert_untouched_matrix(y, "y");
}

CASE(ndpar_batch_infer_rows, "rows that do not match") {
  gsl_matrix *x = bi_matrix(5, 2), *y = bi_sentinel_matrix(4, 1);
  EXPECT_CODE(ndpar_batch_infer_rows(bi_pool(2), x, 2, y, bi_predict_copy, NULL, NULL),
              GSL_EBADLEN);
  bi_assert_untouched_matrix(y, "y");
}

CASE(ndpar_batch_infer_rows, "x with 0 columns: rejected on the calling thread") {
  gsl_matrix x = {5, 0, 0, NULL, NULL, 0}; /* GSL cannot allocate 0 columns: a bare struct */
  gsl_matrix *y = bi_sentinel_matrix(5, 1);
  EXPECT_CODE(ndpar_batch_infer_rows(bi_pool(3), &x, 2, y, bi_predict_copy, NULL, NULL),
              GSL_EBADLEN);
  bi_assert_untouched_matrix(y, "y");
}

CASE(ndpar_batch_infer_rows, "y with 0 columns: rejected on the calling thread") {
  gsl_matrix *x = bi_matrix(5, 2);
  gsl_matrix y = {5, 0, 0, NULL, NULL, 0};
  EXPECT_CODE(ndpar_batch_infer_rows(bi_pool(3), x, 2, &y, bi_predict_copy, NULL, NULL),
              GSL_EBADLEN);
}

CASE(ndpar_batch_infer_rows, "batch_rows = SIZE_MAX: one batch, right answer") {
  gsl_matrix *x = bi_matrix(5, 2), *y = bi_sentinel_matrix(5, 2);
  size_t failed = 77;
  EXPECT_OK(ndpar_batch_infer_rows(bi_pool(2), x, SIZE_MAX, y, bi_predict_copy, NULL, &failed));
  EXPECT_TRUE(gsl_matrix_equal(x, y) && failed == 1);
}

/* ---- Monte Carlo ---- */

typedef struct {
  const gsl_matrix *x[1];
  gsl_matrix *mean[1], *sd[1], *lo[1], *hi[1];
} mc;

static mc mc_case(void) {
  mc c = {{bi_matrix(2, 3)},
          {bi_sentinel_matrix(2, 1)},
          {bi_sentinel_matrix(2, 1)},
          {bi_sentinel_matrix(2, 1)},
          {bi_sentinel_matrix(2, 1)}};
  return c;
}

static void mc_untouched(mc *c) {
  bi_assert_untouched_matrix(c->mean[0], "mean");
  bi_assert_untouched_matrix(c->sd[0], "sd");
  bi_assert_untouched_matrix(c->lo[0], "lower");
  bi_assert_untouched_matrix(c->hi[0], "upper");
}

CASE(ndpar_batch_infer_mc, "NULL callback, inputs, means; 0 samples; sd with 1 sample") {
  mc c = mc_case();
  EXPECT_CODE(ndpar_batch_infer_mc(NULL, c.x, 1, 4, 1, NULL, NULL, c.mean, c.sd), GSL_EFAULT);
  EXPECT_CODE(ndpar_batch_infer_mc(NULL, NULL, 1, 4, 1, bi_predict_copy, NULL, c.mean, c.sd),
              GSL_EFAULT);
  EXPECT_CODE(ndpar_batch_infer_mc(NULL, c.x, 1, 4, 1, bi_predict_copy, NULL, NULL, c.sd),
              GSL_EFAULT);
  EXPECT_CODE(ndpar_batch_infer_mc(NULL, c.x, 1, 0, 1, bi_predict_copy, NULL, c.mean, c.sd),
              GSL_EINVAL);
  EXPECT_CODE(ndpar_batch_infer_mc(NULL, c.x, 1, 1, 1, bi_predict_copy, NULL, c.mean, c.sd),
              GSL_EINVAL);
  mc_untouched(&c);
}

CASE(ndpar_batch_infer_mc, "mean and sd of other shapes") {
  mc c = mc_case();
  gsl_matrix *m3[1] = {bi_sentinel_matrix(3, 1)}, *w2[1] = {bi_sentinel_matrix(2, 2)};
  EXPECT_CODE(ndpar_batch_infer_mc(bi_pool(2), c.x, 1, 4, 1, bi_predict_copy, NULL, m3, c.sd),
              GSL_EBADLEN);
  EXPECT_CODE(ndpar_batch_infer_mc(bi_pool(2), c.x, 1, 4, 1, bi_predict_copy, NULL, c.mean, w2),
              GSL_EBADLEN);
  mc_untouched(&c);
  bi_assert_untouched_matrix(m3[0], "mean");
  bi_assert_untouched_matrix(w2[0], "sd");
}

CASE(ndpar_batch_infer_mc, "samples = 2^60: the sample buffer's size overflows") {
  mc c = mc_case();
  EXPECT_EITHER(ndpar_batch_infer_mc(bi_pool(2), c.x, 1, (size_t)1 << 60, 1, bi_predict_copy, NULL,
                                     c.mean, c.sd),
                GSL_EINVAL, GSL_ENOMEM);
  mc_untouched(&c);
}

CASE(ndpar_batch_infer_mc, "samples = SIZE_MAX") {
  mc c = mc_case();
  EXPECT_EITHER(
      ndpar_batch_infer_mc(bi_pool(2), c.x, 1, SIZE_MAX, 1, bi_predict_copy, NULL, c.mean, NULL),
      GSL_EINVAL, GSL_ENOMEM);
  mc_untouched(&c);
}

CASE(ndpar_batch_infer_mc_interval, "level NaN, Inf, negative, 1") {
  mc c = mc_case();
  const double levels[] = {NAN, INFINITY, -0.5, 1.0, 1e308};
  for (size_t i = 0; i < sizeof levels / sizeof *levels; i++)
    EXPECT_CODE(ndpar_batch_infer_mc_interval(NULL, c.x, 1, 4, 1, levels[i], bi_predict_copy, NULL,
                                              c.mean, c.sd, c.lo, c.hi, NULL),
                GSL_EINVAL);
  mc_untouched(&c);
}

CASE(ndpar_batch_infer_mc_interval, "level > 0 with NULL lower or upper") {
  mc c = mc_case();
  size_t failed = 77;
  EXPECT_EITHER(ndpar_batch_infer_mc_interval(NULL, c.x, 1, 4, 1, 0.9, bi_predict_copy, NULL,
                                              c.mean, c.sd, NULL, c.hi, &failed),
                GSL_EFAULT, GSL_EINVAL);
  EXPECT_EITHER(ndpar_batch_infer_mc_interval(NULL, c.x, 1, 4, 1, 0.9, bi_predict_copy, NULL,
                                              c.mean, c.sd, c.lo, NULL, &failed),
                GSL_EFAULT, GSL_EINVAL);
  mc_untouched(&c);
}

CASE(ndpar_batch_infer_mc_interval, "lower of another shape") {
  mc c = mc_case();
  gsl_matrix *lo[1] = {bi_sentinel_matrix(1, 1)};
  EXPECT_CODE(ndpar_batch_infer_mc_interval(bi_pool(2), c.x, 1, 4, 1, 0.5, bi_predict_copy, NULL,
                                            c.mean, c.sd, lo, c.hi, NULL),
              GSL_EBADLEN);
  mc_untouched(&c);
  bi_assert_untouched_matrix(lo[0], "lower");
}

CASE(ndpar_batch_infer_mc_interval, "samples x the sort scratch overflows") {
  mc c = mc_case();
  EXPECT_EITHER(
      ndpar_batch_infer_mc_interval(bi_pool(2), c.x, 1, (size_t)1 << 61, 1, 0.5, bi_predict_copy,
                                    NULL, c.mean, c.sd, c.lo, c.hi, NULL),
      GSL_EINVAL, GSL_ENOMEM);
  mc_untouched(&c);
}

/* +-1e308 by a draw of the sample's stream: the true mean, sd and quantiles are finite. */
static int predict_extreme(const gsl_matrix *x, gsl_matrix *y, const ndpar_task *t, void *ctx) {
  (void)x, (void)ctx;
  gsl_matrix_set_all(y, gsl_rng_uniform(t->rng) < 0.5 ? 1e308 : -1e308);
  return GSL_SUCCESS;
}

CASE(ndpar_batch_infer_mc_interval,
     "extremes: samples of +-1e308 give finite statistics or an error") {
  mc c = mc_case();
  int s = ndpar_batch_infer_mc_interval(bi_pool(2), c.x, 1, 16, 1, 0.5, predict_extreme, NULL,
                                        c.mean, c.sd, c.lo, c.hi, NULL);
  if (s != GSL_SUCCESS) {
    mc_untouched(&c);
    return;
  }
  for (size_t r = 0; r < 2; r++) {
    double m = gsl_matrix_get(c.mean[0], r, 0), sd = gsl_matrix_get(c.sd[0], r, 0);
    cr_assert(isfinite(m) && fabs(m) <= 1e308 && isfinite(sd), "%s: mean %g sd %g", bi_label(), m,
              sd);
    EXPECT_TRUE(isfinite(gsl_matrix_get(c.lo[0], r, 0)) && isfinite(gsl_matrix_get(c.hi[0], r, 0)));
  }
}

/* ---- MC options by name, and the single-matrix form ---- */

CASE(ndpar_batch_infer_mc_opts, "NULL opt; samples 0; sd with one sample; level out of range") {
  two b = two_batches();
  gsl_matrix *sd[2] = {bi_sentinel_matrix(3, 2), bi_sentinel_matrix(2, 2)};
  ndpar_mc_options o;
  ndpar_mc_options_init(&o);
  EXPECT_CODE(ndpar_batch_infer_mc_opts(NULL, b.x, 2, bi_predict_copy, NULL, NULL, b.y, NULL, NULL,
                                        NULL, NULL), GSL_EFAULT);
  o.samples = 0;
  EXPECT_CODE(ndpar_batch_infer_mc_opts(NULL, b.x, 2, bi_predict_copy, NULL, &o, b.y, NULL, NULL,
                                        NULL, NULL), GSL_EINVAL);
  o.samples = 1;
  EXPECT_CODE(ndpar_batch_infer_mc_opts(NULL, b.x, 2, bi_predict_copy, NULL, &o, b.y, sd, NULL,
                                        NULL, NULL), GSL_EINVAL);
  ndpar_mc_options_init(&o);
  o.level = NAN;
  EXPECT_CODE(ndpar_batch_infer_mc_opts(NULL, b.x, 2, bi_predict_copy, NULL, &o, b.y, NULL, NULL,
                                        NULL, NULL), GSL_EINVAL);
  o.level = 1;
  EXPECT_CODE(ndpar_batch_infer_mc_opts(NULL, b.x, 2, bi_predict_copy, NULL, &o, b.y, NULL, NULL,
                                        NULL, NULL), GSL_EINVAL);
  ndpar_mc_options_init(&o);
  EXPECT_CODE(ndpar_batch_infer_mc_opts(NULL, b.x, 2, NULL, NULL, &o, b.y, NULL, NULL, NULL, NULL),
              GSL_EFAULT);
  untouched(b.y, 2, "mean");
  untouched(sd, 2, "sd");
}

CASE(ndpar_mc_options_init, "NULL is a no-op") {
  ndpar_mc_options_init(NULL);
  ndpar_mc_options o;
  ndpar_mc_options_init(&o);
  EXPECT_TRUE(o.samples == 100 && o.seed == 0 && o.level == 0);
}

CASE(ndpar_batch_infer_mc_rows, "NULL x, mean, f, opt; batch_rows 0; rows or columns that do not match") {
  const gsl_matrix *x = bi_matrix(5, 2);
  gsl_matrix *mean = bi_sentinel_matrix(5, 1), *short_sd = bi_sentinel_matrix(4, 1);
  ndpar_mc_options o;
  ndpar_mc_options_init(&o);
  size_t failed = 77;
  EXPECT_CODE(ndpar_batch_infer_mc_rows(NULL, NULL, 2, bi_predict_copy, NULL, &o, mean, NULL, NULL,
                                        NULL, &failed), GSL_EFAULT);
  EXPECT_CODE(ndpar_batch_infer_mc_rows(NULL, x, 2, bi_predict_copy, NULL, &o, NULL, NULL, NULL,
                                        NULL, &failed), GSL_EFAULT);
  EXPECT_CODE(ndpar_batch_infer_mc_rows(NULL, x, 2, NULL, NULL, &o, mean, NULL, NULL, NULL, &failed),
              GSL_EFAULT);
  EXPECT_CODE(ndpar_batch_infer_mc_rows(NULL, x, 2, bi_predict_copy, NULL, NULL, mean, NULL, NULL,
                                        NULL, &failed), GSL_EFAULT);
  EXPECT_CODE(ndpar_batch_infer_mc_rows(NULL, x, 0, bi_predict_copy, NULL, &o, mean, NULL, NULL,
                                        NULL, &failed), GSL_EINVAL);
  EXPECT_CODE(ndpar_batch_infer_mc_rows(NULL, x, 2, bi_predict_copy, NULL, &o, mean, short_sd, NULL,
                                        NULL, &failed), GSL_EBADLEN);
  o.level = 0.9;
  EXPECT_CODE(ndpar_batch_infer_mc_rows(bi_pool(2), x, 2, bi_predict_copy, NULL, &o, mean, NULL,
                                        NULL, NULL, &failed), GSL_EFAULT);
  EXPECT_TRUE(failed == 77);
  bi_assert_untouched_matrix(mean, "mean");
  bi_assert_untouched_matrix(short_sd, "sd");
}
