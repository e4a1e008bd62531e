/* Bad input to the cv and grid modules. */
#include <stdlib.h>

#include "badinput.h"

static void free_grid(void *g) { ndpar_grid_free(g); }
static void free_folds(void *f) { ndpar_folds_free(f); }
static void free_result(void *r) { ndpar_grid_result_free(r); }

/* ---- folds ---- */

CASE(ndpar_folds_kfold, "k < 2; k > n; n = 0") {
  EXPECT_NULL(ndpar_folds_kfold(10, 1, 0, 1));
  EXPECT_NULL(ndpar_folds_kfold(10, 0, 1, 1));
  EXPECT_NULL(ndpar_folds_kfold(3, 4, 0, 1));
  EXPECT_NULL(ndpar_folds_kfold(0, 2, 0, 1));
}

CASE(ndpar_folds_kfold, "n = 2^61 + 1: the index array's size overflows") {
  EXPECT_NULL(ndpar_folds_kfold(((size_t)1 << 61) + 1, 2, 0, 1));
}

CASE(ndpar_folds_kfold, "n = SIZE_MAX, shuffled") {
  EXPECT_NULL(ndpar_folds_kfold(SIZE_MAX, 2, 1, 1));
}

CASE(ndpar_folds_kfold, "k = SIZE_MAX = n") {
  EXPECT_NULL(ndpar_folds_kfold(SIZE_MAX, SIZE_MAX, 0, 1));
}

CASE(ndpar_folds_timeseries, "windows, horizon or step 0; no training data") {
  EXPECT_NULL(ndpar_folds_timeseries(100, 0, 1, 1, 0, 0));
  EXPECT_NULL(ndpar_folds_timeseries(100, 3, 0, 1, 0, 0));
  EXPECT_NULL(ndpar_folds_timeseries(100, 3, 1, 0, 0, 0));
  EXPECT_NULL(ndpar_folds_timeseries(10, 1, 10, 1, 0, 0));
  EXPECT_NULL(ndpar_folds_timeseries(10, 1, 5, 1, 5, 0));
  EXPECT_NULL(ndpar_folds_timeseries(0, 1, 1, 1, 0, 0));
}

CASE(ndpar_folds_timeseries_opts, "NULL opt; fields 0; no training data; sizes that wrap") {
  EXPECT_NULL(ndpar_folds_timeseries_opts(100, NULL));
  ndpar_timeseries_options o;
  ndpar_timeseries_options_init(&o);
  o.windows = 0;
  EXPECT_NULL(ndpar_folds_timeseries_opts(100, &o));
  ndpar_timeseries_options_init(&o);
  o.horizon = 0;
  EXPECT_NULL(ndpar_folds_timeseries_opts(100, &o));
  ndpar_timeseries_options_init(&o);
  o.windows = 1;
  o.horizon = 5;
  o.gap = 5;
  EXPECT_NULL(ndpar_folds_timeseries_opts(10, &o));
  ndpar_timeseries_options_init(&o);
  o.step = (size_t)1 << 63;
  EXPECT_NULL(ndpar_folds_timeseries_opts(100, &o));
  EXPECT_NULL(ndpar_folds_timeseries_opts(0, &o));
}

CASE(ndpar_timeseries_options_init, "NULL is a no-op; the defaults make folds") {
  ndpar_timeseries_options_init(NULL);
  ndpar_timeseries_options o;
  ndpar_timeseries_options_init(&o);
  ndpar_folds *f = ndpar_folds_timeseries_opts(10, &o);
  EXPECT_TRUE(f != NULL && ndpar_folds_count(f) == 5);
  ndpar_folds_free(f);
}

CASE(ndpar_folds_timeseries, "step = 2^63: the first window's start wraps") {
  EXPECT_NULL(ndpar_folds_timeseries(100, 3, 1, (size_t)1 << 63, 0, 0));
}

CASE(ndpar_folds_timeseries, "horizon, gap, windows near SIZE_MAX") {
  EXPECT_NULL(ndpar_folds_timeseries(100, 2, SIZE_MAX, 1, 0, 0));
  EXPECT_NULL(ndpar_folds_timeseries(100, 1, 1, 1, SIZE_MAX, 0));
  EXPECT_NULL(ndpar_folds_timeseries(100, SIZE_MAX, 1, 1, 0, 0));
  EXPECT_NULL(ndpar_folds_timeseries(100, 2, (size_t)1 << 63, (size_t)1 << 63, 0, 0));
}

CASE(ndpar_folds_timeseries, "max_train = SIZE_MAX is 'all'") {
  ndpar_folds *f = bi_hold(ndpar_folds_timeseries(20, 2, 2, 2, 0, SIZE_MAX), free_folds);
  EXPECT_TRUE(f != NULL);
  const size_t *tr, *va;
  size_t ntr, nva;
  EXPECT_OK(ndpar_folds_get(f, 0, &tr, &ntr, &va, &nva));
  EXPECT_TRUE(ntr == 16 && nva == 2 && tr[0] == 0 && va[0] == 16);
}

CASE(ndpar_folds_alloc, "k = 0; n = 0; k = SIZE_MAX; 2^61 folds") {
  EXPECT_NULL(ndpar_folds_alloc(10, 0));
  EXPECT_NULL(ndpar_folds_alloc(0, 2));
  EXPECT_NULL(ndpar_folds_alloc(10, SIZE_MAX));
  EXPECT_NULL(ndpar_folds_alloc(10, (size_t)1 << 61));
}

CASE(ndpar_folds_set, "NULL folds, arrays; fold past the end; empty sets; indices >= n") {
  ndpar_folds *f = bi_hold(ndpar_folds_alloc(5, 2), free_folds);
  const size_t tr[2] = {0, 1}, va[1] = {2}, out[1] = {5}, huge[1] = {SIZE_MAX};
  EXPECT_CODE(ndpar_folds_set(NULL, 0, tr, 2, va, 1), GSL_EFAULT);
  EXPECT_CODE(ndpar_folds_set(f, 2, tr, 2, va, 1), GSL_EINVAL);
  EXPECT_CODE(ndpar_folds_set(f, SIZE_MAX, tr, 2, va, 1), GSL_EINVAL);
  EXPECT_CODE(ndpar_folds_set(f, 0, NULL, 2, va, 1), GSL_EFAULT);
  EXPECT_CODE(ndpar_folds_set(f, 0, tr, 2, NULL, 1), GSL_EFAULT);
  EXPECT_CODE(ndpar_folds_set(f, 0, tr, 0, va, 1), GSL_EINVAL);
  EXPECT_CODE(ndpar_folds_set(f, 0, tr, 2, va, 0), GSL_EINVAL);
  EXPECT_CODE(ndpar_folds_set(f, 0, tr, 2, out, 1), GSL_EINVAL);
  EXPECT_CODE(ndpar_folds_set(f, 0, huge, 1, va, 1), GSL_EINVAL);
  const size_t *t = NULL, *v = NULL;
  size_t nt = 77, nv = 77;
  EXPECT_CODE(ndpar_folds_get(f, 0, &t, &nt, &v, &nv), GSL_EINVAL); /* still unset */
}

CASE(ndpar_folds_set, "ntrain = 2^61 (the copy's size overflows)") {
  ndpar_folds *f = bi_hold(ndpar_folds_alloc(5, 2), free_folds);
  const size_t tr[1] = {6}, va[1] = {2};
  /* An index check reads every entry: it must fail at tr[0] (not below n) before reading on. */
  EXPECT_EITHER(ndpar_folds_set(f, 0, tr, (size_t)1 << 61, va, 1), GSL_EINVAL, GSL_ENOMEM);
}

CASE(ndpar_folds_count, "NULL") { EXPECT_TRUE(ndpar_folds_count(NULL) == 0); }
CASE(ndpar_folds_samples, "NULL") { EXPECT_TRUE(ndpar_folds_samples(NULL) == 0); }
CASE(ndpar_folds_free, "NULL") { ndpar_folds_free(NULL); }

CASE(ndpar_folds_get, "NULL folds; fold past the end; outputs untouched") {
  ndpar_folds *f = bi_hold(ndpar_folds_kfold(6, 3, 0, 1), free_folds);
  const size_t *t = (const size_t *)&t, *v = (const size_t *)&v;
  size_t nt = 77, nv = 77;
  EXPECT_CODE(ndpar_folds_get(NULL, 0, &t, &nt, &v, &nv), GSL_EFAULT);
  EXPECT_CODE(ndpar_folds_get(f, 3, &t, &nt, &v, &nv), GSL_EINVAL);
  EXPECT_CODE(ndpar_folds_get(f, SIZE_MAX, &t, &nt, &v, &nv), GSL_EINVAL);
  EXPECT_TRUE(nt == 77 && nv == 77 && t == (const size_t *)&t && v == (const size_t *)&v);
}

/* ---- cv ---- */

CASE(ndpar_cv_run, "NULL x, y, folds, callback, scores") {
  ndpar_folds *f = bi_hold(ndpar_folds_kfold(6, 3, 0, 1), free_folds);
  gsl_matrix *x = bi_matrix(6, 2);
  gsl_vector *y = bi_vector(6), *sc = bi_sentinel_vector(3);
  EXPECT_CODE(ndpar_cv_run(NULL, NULL, y, f, bi_fit_score, NULL, sc), GSL_EFAULT);
  EXPECT_CODE(ndpar_cv_run(NULL, x, NULL, f, bi_fit_score, NULL, sc), GSL_EFAULT);
  EXPECT_CODE(ndpar_cv_run(NULL, x, y, NULL, bi_fit_score, NULL, sc), GSL_EFAULT);
  EXPECT_CODE(ndpar_cv_run(NULL, x, y, f, NULL, NULL, sc), GSL_EFAULT);
  EXPECT_CODE(ndpar_cv_run(NULL, x, y, f, bi_fit_score, NULL, NULL), GSL_EFAULT);
  bi_assert_untouched_vector(sc, "scores");
}

CASE(ndpar_cv_run, "rows, y length, scores length not the folds'") {
  ndpar_folds *f = bi_hold(ndpar_folds_kfold(6, 3, 0, 1), free_folds);
  gsl_matrix *x = bi_matrix(6, 2), *x5 = bi_matrix(5, 2);
  gsl_vector *y = bi_vector(6), *y7 = bi_vector(7), *sc = bi_sentinel_vector(3),
             *sc2 = bi_sentinel_vector(2);
  EXPECT_CODE(ndpar_cv_run(bi_pool(2), x5, y, f, bi_fit_score, NULL, sc), GSL_EBADLEN);
  EXPECT_CODE(ndpar_cv_run(bi_pool(2), x, y7, f, bi_fit_score, NULL, sc), GSL_EBADLEN);
  EXPECT_CODE(ndpar_cv_run(bi_pool(2), x, y, f, bi_fit_score, NULL, sc2), GSL_EBADLEN);
  bi_assert_untouched_vector(sc, "scores");
  bi_assert_untouched_vector(sc2, "scores");
}

CASE(ndpar_cv_run, "x with 0 columns: rejected on the calling thread") {
  ndpar_folds *f = bi_hold(ndpar_folds_kfold(6, 3, 1, 1), free_folds);
  gsl_matrix x = {6, 0, 0, NULL, NULL, 0};
  gsl_vector *y = bi_vector(6), *sc = bi_sentinel_vector(3);
  EXPECT_CODE(ndpar_cv_run(bi_pool(3), &x, y, f, bi_fit_score, NULL, sc), GSL_EBADLEN);
  bi_assert_untouched_vector(sc, "scores");
}

CASE(ndpar_cv_run_ex, "folds never set; NULL failed allowed") {
  ndpar_folds *f = bi_hold(ndpar_folds_alloc(6, 2), free_folds);
  gsl_matrix *x = bi_matrix(6, 2);
  gsl_vector *y = bi_vector(6), *sc = bi_sentinel_vector(2);
  size_t failed = 77;
  EXPECT_CODE(ndpar_cv_run_ex(bi_pool(2), x, y, f, bi_fit_score, NULL, sc, &failed), GSL_EINVAL);
  EXPECT_CODE(ndpar_cv_run_ex(bi_pool(2), x, y, f, bi_fit_score, NULL, sc, NULL), GSL_EINVAL);
  bi_assert_untouched_vector(sc, "scores");
}

CASE(ndpar_cv_summary, "NULL scores; NULL outputs; all NaN") {
  double mean = BI_SENTINEL, sd = BI_SENTINEL;
  EXPECT_CODE(ndpar_cv_summary(NULL, &mean, &sd), GSL_EFAULT);
  EXPECT_TRUE(mean == BI_SENTINEL && sd == BI_SENTINEL);
  gsl_vector *v = bi_vector(4);
  EXPECT_OK(ndpar_cv_summary(v, NULL, NULL));
  gsl_vector_set_all(v, NAN);
  int s = ndpar_cv_summary(v, &mean, &sd);
  EXPECT_TRUE(s != GSL_SUCCESS || (isnan(mean) || mean == BI_SENTINEL));
}

CASE(ndpar_cv_summary, "scores of +-1e308: mean 0 and the finite sd (1.15e308), or an error") {
  gsl_vector *v = bi_vector(4);
  double mean = BI_SENTINEL, sd = BI_SENTINEL;
  for (size_t i = 0; i < 4; i++) gsl_vector_set(v, i, i % 2 ? -1e308 : 1e308);
  if (ndpar_cv_summary(v, &mean, &sd) == GSL_SUCCESS)
    cr_assert(mean == 0 && isfinite(sd), "%s: mean %g sd %g of +-1e308", bi_label(), mean, sd);
}

/* ---- grid ---- */

static const double three[3] = {0.1, 1, 10};

CASE(ndpar_grid_alloc, "an empty grid has no candidates") {
  ndpar_grid *g = bi_hold(ndpar_grid_alloc(), free_grid);
  EXPECT_TRUE(g != NULL && ndpar_grid_size(g) == 0 && ndpar_grid_naxes(g) == 0);
}

CASE(ndpar_grid_free, "NULL") { ndpar_grid_free(NULL); }

CASE(ndpar_grid_add, "NULL grid, name, values; empty name; n = 0; a name used twice") {
  ndpar_grid *g = bi_hold(ndpar_grid_alloc(), free_grid);
  EXPECT_CODE(ndpar_grid_add(NULL, "a", three, 3), GSL_EFAULT);
  EXPECT_CODE(ndpar_grid_add(g, NULL, three, 3), GSL_EINVAL);
  EXPECT_CODE(ndpar_grid_add(g, "", three, 3), GSL_EINVAL);
  EXPECT_CODE(ndpar_grid_add(g, "a", NULL, 3), GSL_EFAULT);
  EXPECT_CODE(ndpar_grid_add(g, "a", three, 0), GSL_EINVAL);
  EXPECT_OK(ndpar_grid_add(g, "a", three, 3));
  EXPECT_CODE(ndpar_grid_add(g, "a", three, 3), GSL_EINVAL);
  EXPECT_TRUE(ndpar_grid_size(g) == 3 && ndpar_grid_naxes(g) == 1);
}

CASE(ndpar_grid_add, "n = 2^61: the copy's size overflows") {
  ndpar_grid *g = bi_hold(ndpar_grid_alloc(), free_grid);
  EXPECT_EITHER(ndpar_grid_add(g, "a", three, (size_t)1 << 61), GSL_EINVAL, GSL_ENOMEM);
  EXPECT_TRUE(ndpar_grid_naxes(g) == 0);
}

CASE(ndpar_grid_add, "4 axes x 65536 values: the product overflows, refused") {
  ndpar_grid *g = bi_hold(ndpar_grid_alloc(), free_grid);
  double *v = bi_hold(calloc(65536, sizeof *v), free);
  const char *names[4] = {"a", "b", "c", "d"};
  int s = GSL_SUCCESS;
  for (size_t a = 0; a < 4 && s == GSL_SUCCESS; a++) s = ndpar_grid_add(g, names[a], v, 65536);
  /* Either the fourth axis is refused, or the size is not a wrapped 0. */
  EXPECT_TRUE(s != GSL_SUCCESS || ndpar_grid_size(g) != 0);
}

CASE(ndpar_grid_random, "NULL axes; 0 axes; n = 0; NaN, Inf, lo > hi, log with lo <= 0") {
  ndpar_grid_range ok = {"a", 0, 1, 0};
  EXPECT_NULL(ndpar_grid_random(NULL, 1, 5, 1));
  EXPECT_NULL(ndpar_grid_random(&ok, 0, 5, 1));
  EXPECT_NULL(ndpar_grid_random(&ok, 1, 0, 1));
  ndpar_grid_range bad[] = {{"a", NAN, 1, 0}, {"a", 0, INFINITY, 0}, {"a", 2, 1, 0}, {"a", 0, 1, 1},
                            {"a", -1, 1, 1},  {NULL, 0, 1, 0},       {"", 0, 1, 0}};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    EXPECT_NULL(ndpar_grid_random(&bad[i], 1, 5, 1));
  ndpar_grid_range twice[2] = {{"a", 0, 1, 0}, {"a", 0, 1, 0}};
  EXPECT_NULL(ndpar_grid_random(twice, 2, 5, 1));
}

CASE(ndpar_grid_random, "n = 2^61 + 1: the draws' size overflows") {
  ndpar_grid_range ok = {"a", 0, 1, 0};
  EXPECT_NULL(ndpar_grid_random(&ok, 1, ((size_t)1 << 61) + 1, 1));
}

CASE(ndpar_grid_random, "[-1e308, 1e308] and [-DBL_MAX, DBL_MAX]: every draw finite and in range") {
  ndpar_grid_range r[2] = {{"a", -1e308, 1e308, 0}, {"b", -DBL_MAX, DBL_MAX, 0}};
  ndpar_grid *g = bi_hold(ndpar_grid_random(r, 2, 64, 7), free_grid);
  if (g == NULL) return; /* refused with a code: acceptable */
  double p[2];
  for (size_t i = 0; i < 64; i++) {
    EXPECT_OK(ndpar_grid_candidate(g, i, p));
    cr_assert(isfinite(p[0]) && isfinite(p[1]) && fabs(p[0]) <= 1e308,
              "%s: candidate %zu = (%g, %g)", bi_label(), i, p[0], p[1]);
  }
}

CASE(ndpar_grid_random, "log axis over [DBL_MIN, DBL_MAX]: finite and in range") {
  ndpar_grid_range r = {"a", DBL_MIN, DBL_MAX, 1};
  ndpar_grid *g = bi_hold(ndpar_grid_random(&r, 1, 64, 7), free_grid);
  if (g == NULL) return;
  for (size_t i = 0; i < 64; i++) {
    double p;
    EXPECT_OK(ndpar_grid_candidate(g, i, &p));
    cr_assert(isfinite(p) && p >= DBL_MIN && p <= DBL_MAX, "%s: candidate %zu = %g", bi_label(), i,
              p);
  }
}

CASE(ndpar_grid_size, "NULL") { EXPECT_TRUE(ndpar_grid_size(NULL) == 0); }
CASE(ndpar_grid_naxes, "NULL") { EXPECT_TRUE(ndpar_grid_naxes(NULL) == 0); }

CASE(ndpar_grid_axis_name, "NULL grid; axis past the end") {
  EXPECT_TRUE(ndpar_grid_axis_name(NULL, 0) == NULL);
  ndpar_grid *g = bi_hold(ndpar_grid_alloc(), free_grid);
  EXPECT_OK(ndpar_grid_add(g, "alpha", three, 3));
  EXPECT_TRUE(ndpar_grid_axis_name(g, 1) == NULL && ndpar_grid_axis_name(g, SIZE_MAX) == NULL);
}

CASE(ndpar_grid_candidate, "NULL grid, params; index past the end; an empty grid") {
  ndpar_grid *g = bi_hold(ndpar_grid_alloc(), free_grid);
  double p[2] = {BI_SENTINEL, BI_SENTINEL};
  EXPECT_CODE(ndpar_grid_candidate(g, 0, p), GSL_EINVAL);
  EXPECT_OK(ndpar_grid_add(g, "a", three, 3));
  EXPECT_CODE(ndpar_grid_candidate(NULL, 0, p), GSL_EFAULT);
  EXPECT_CODE(ndpar_grid_candidate(g, 0, NULL), GSL_EFAULT);
  EXPECT_CODE(ndpar_grid_candidate(g, 3, p), GSL_EINVAL);
  EXPECT_CODE(ndpar_grid_candidate(g, SIZE_MAX, p), GSL_EINVAL);
  EXPECT_TRUE(p[0] == BI_SENTINEL && p[1] == BI_SENTINEL);
}

CASE(ndpar_grid_result_alloc, "0 candidates or folds; products that overflow") {
  EXPECT_NULL(ndpar_grid_result_alloc(0, 3));
  EXPECT_NULL(ndpar_grid_result_alloc(3, 0));
  EXPECT_NULL(ndpar_grid_result_alloc(SIZE_MAX, 2));
  EXPECT_NULL(ndpar_grid_result_alloc((size_t)1 << 32, (size_t)1 << 32));
}

CASE(ndpar_grid_result_free, "NULL") { ndpar_grid_result_free(NULL); }

/* A 3-candidate grid, 6 samples in 2 folds, and a result of the right size. */
typedef struct {
  ndpar_grid *g;
  ndpar_folds *f;
  gsl_matrix *x;
  gsl_vector *y;
  ndpar_grid_result *r;
} search;

static search make_search(void) {
  search s = {ndpar_grid_alloc(), ndpar_folds_kfold(6, 2, 0, 1), bi_matrix(6, 2), bi_vector(6),
              ndpar_grid_result_alloc(3, 2)};
  bi_hold(s.g, free_grid);
  bi_hold(s.f, free_folds);
  bi_hold(s.r, free_result);
  cr_assert(ndpar_grid_add(s.g, "a", three, 3) == GSL_SUCCESS);
  gsl_matrix_set_all(s.r->scores, BI_SENTINEL);
  return s;
}

static void result_untouched(const search *s) {
  bi_assert_untouched_matrix(s->r->scores, "result->scores");
}

CASE(ndpar_grid_search, "NULL grid, x, y, folds, callback, result; empty grid") {
  search s = make_search();
  EXPECT_CODE(ndpar_grid_search(NULL, NULL, s.x, s.y, s.f, bi_param_fit_score, NULL, s.r),
              GSL_EFAULT);
  EXPECT_CODE(ndpar_grid_search(NULL, s.g, NULL, s.y, s.f, bi_param_fit_score, NULL, s.r),
              GSL_EFAULT);
  EXPECT_CODE(ndpar_grid_search(NULL, s.g, s.x, NULL, s.f, bi_param_fit_score, NULL, s.r),
              GSL_EFAULT);
  EXPECT_CODE(ndpar_grid_search(NULL, s.g, s.x, s.y, NULL, bi_param_fit_score, NULL, s.r),
              GSL_EFAULT);
  EXPECT_CODE(ndpar_grid_search(NULL, s.g, s.x, s.y, s.f, NULL, NULL, s.r), GSL_EFAULT);
  EXPECT_CODE(ndpar_grid_search(NULL, s.g, s.x, s.y, s.f, bi_param_fit_score, NULL, NULL),
              GSL_EFAULT);
  ndpar_grid *empty = bi_hold(ndpar_grid_alloc(), free_grid);
  EXPECT_CODE(ndpar_grid_search(NULL, empty, s.x, s.y, s.f, bi_param_fit_score, NULL, s.r),
              GSL_EINVAL);
  result_untouched(&s);
}

CASE(ndpar_grid_search, "a result sized for another search; x, y not the folds'") {
  search s = make_search();
  ndpar_grid_result *other = bi_hold(ndpar_grid_result_alloc(3, 3), free_result);
  gsl_matrix_set_all(other->scores, BI_SENTINEL);
  EXPECT_CODE(ndpar_grid_search(bi_pool(2), s.g, s.x, s.y, s.f, bi_param_fit_score, NULL, other),
              GSL_EBADLEN);
  bi_assert_untouched_matrix(other->scores, "result->scores");
  gsl_vector *y5 = bi_vector(5);
  EXPECT_CODE(ndpar_grid_search(bi_pool(2), s.g, s.x, y5, s.f, bi_param_fit_score, NULL, s.r),
              GSL_EBADLEN);
  result_untouched(&s);
}

CASE(ndpar_grid_search, "x with 0 columns: rejected on the calling thread") {
  search s = make_search();
  gsl_matrix x = {6, 0, 0, NULL, NULL, 0};
  EXPECT_CODE(ndpar_grid_search(bi_pool(3), s.g, &x, s.y, s.f, bi_param_fit_score, NULL, s.r),
              GSL_EBADLEN);
  result_untouched(&s);
}

CASE(ndpar_grid_search_opts, "unknown flags") {
  search s = make_search();
  ndpar_grid_options o = {.flags = 0x40};
  EXPECT_CODE(ndpar_grid_search_opts(NULL, s.g, s.x, s.y, s.f, bi_param_fit_score, NULL, &o, s.r),
              GSL_EINVAL);
  result_untouched(&s);
}

CASE(ndpar_grid_search_params, "NULL params; size or n 0; size x n overflows") {
  search s = make_search();
  double params[3] = {1, 2, 3};
  EXPECT_CODE(ndpar_grid_search_params(NULL, NULL, sizeof(double), 3, s.x, s.y, s.f,
                                       bi_param_fit_score, NULL, NULL, s.r),
              GSL_EFAULT);
  EXPECT_CODE(ndpar_grid_search_params(NULL, params, 0, 3, s.x, s.y, s.f, bi_param_fit_score, NULL,
                                       NULL, s.r),
              GSL_EINVAL);
  EXPECT_CODE(ndpar_grid_search_params(NULL, params, sizeof(double), 0, s.x, s.y, s.f,
                                       bi_param_fit_score, NULL, NULL, s.r),
              GSL_EINVAL);
  /* The result is for 3 candidates: n = SIZE_MAX / 4 is refused (size) before any access. */
  EXPECT_EITHER(ndpar_grid_search_params(NULL, params, 8, SIZE_MAX / 4, s.x, s.y, s.f,
                                         bi_param_fit_score, NULL, NULL, s.r),
                GSL_EBADLEN, GSL_EINVAL);
  result_untouched(&s);
}

static int fit_fail_fold1(const void *params, size_t candidate, const gsl_matrix *xtr,
                          const gsl_vector *ytr, const gsl_matrix *xva, const gsl_vector *yva,
                          double *score, const ndpar_task *t, void *ctx) {
  if (candidate == 1) return GSL_ERANGE;
  return bi_param_fit_score(params, candidate, xtr, ytr, xva, yva, score, t, ctx);
}

CASE(ndpar_grid_search_opts, "STOP_ON_ERROR with a failing candidate: its status") {
  search s = make_search();
  ndpar_grid_options o = {.flags = NDPAR_GRID_STOP_ON_ERROR};
  cr_assert_eq(
      ndpar_grid_search_opts(bi_pool(3), s.g, s.x, s.y, s.f, fit_fail_fold1, NULL, &o, s.r),
      GSL_ERANGE, "%s", bi_label());
}

CASE(ndpar_grid_search,
     "a failing candidate without STOP_ON_ERROR: success, NaN score, ranked last") {
  search s = make_search();
  EXPECT_OK(ndpar_grid_search(bi_pool(3), s.g, s.x, s.y, s.f, fit_fail_fold1, NULL, s.r));
  EXPECT_TRUE(s.r->status[1] == GSL_ERANGE && isnan(gsl_vector_get(s.r->mean, 1)) &&
              s.r->rank[1] == 3);
  EXPECT_TRUE(s.r->best != 1 && s.r->status[0] == 0 && isfinite(gsl_vector_get(s.r->mean, 0)));
}

static int fit_fail(const gsl_matrix *xtr, const gsl_vector *ytr, const gsl_matrix *xva,
                    const gsl_vector *yva, double *score, const ndpar_task *t, void *ctx) {
  return t->index == 2 ? GSL_EDOM : bi_fit_score(xtr, ytr, xva, yva, score, t, ctx);
}

CASE(ndpar_cv_run_ex, "a failing fold: its status and index, scores untouched") {
  ndpar_folds *f = bi_hold(ndpar_folds_kfold(9, 3, 1, 5), free_folds);
  gsl_matrix *x = bi_matrix(9, 2);
  gsl_vector *y = bi_vector(9), *sc = bi_sentinel_vector(3);
  size_t failed = 77;
  cr_assert_eq(ndpar_cv_run_ex(bi_pool(3), x, y, f, fit_fail, NULL, sc, &failed), GSL_EDOM, "%s",
               bi_label());
  EXPECT_TRUE(failed == 2);
  bi_assert_untouched_vector(sc, "scores");
}

/* ---- the splitters beyond k-fold ---- */

static const int labels[6] = {0, 1, 0, 1, 2, 2};

CASE(ndpar_folds_repeated_kfold, "k < 2; k > n; repeats 0; repeats x k overflows; n overflows") {
  EXPECT_NULL(ndpar_folds_repeated_kfold(10, 1, 2, 1));
  EXPECT_NULL(ndpar_folds_repeated_kfold(3, 4, 2, 1));
  EXPECT_NULL(ndpar_folds_repeated_kfold(10, 2, 0, 1));
  EXPECT_NULL(ndpar_folds_repeated_kfold(SIZE_MAX, 2, SIZE_MAX, 1));
  EXPECT_NULL(ndpar_folds_repeated_kfold(((size_t)1 << 61) + 1, 2, 1, 1));
}

CASE(ndpar_folds_stratified, "y NULL; k < 2; k > n; every class below k; n overflows") {
  EXPECT_NULL(ndpar_folds_stratified(NULL, 6, 2, 0, 1));
  EXPECT_NULL(ndpar_folds_stratified(labels, 6, 1, 0, 1));
  EXPECT_NULL(ndpar_folds_stratified(labels, 6, 7, 0, 1));
  EXPECT_NULL(ndpar_folds_stratified(labels, 6, 3, 1, 1));
  EXPECT_NULL(ndpar_folds_stratified(labels, SIZE_MAX, 2, 0, 1));
}

CASE(ndpar_folds_group, "groups NULL; k < 2; k > n; fewer groups than k; n overflows") {
  EXPECT_NULL(ndpar_folds_group(NULL, 6, 2));
  EXPECT_NULL(ndpar_folds_group(labels, 6, 1));
  EXPECT_NULL(ndpar_folds_group(labels, 6, 7));
  EXPECT_NULL(ndpar_folds_group(labels, 6, 4));
  EXPECT_NULL(ndpar_folds_group(labels, SIZE_MAX, 2));
}

CASE(ndpar_folds_shuffle_split, "splits or nval 0; nval >= n; nval + ntrain > n; n overflows") {
  EXPECT_NULL(ndpar_folds_shuffle_split(10, 0, 2, 0, 1));
  EXPECT_NULL(ndpar_folds_shuffle_split(10, 3, 0, 0, 1));
  EXPECT_NULL(ndpar_folds_shuffle_split(10, 3, 10, 0, 1));
  EXPECT_NULL(ndpar_folds_shuffle_split(10, 3, 4, 7, 1));
  EXPECT_NULL(ndpar_folds_shuffle_split(SIZE_MAX, 3, 4, 0, 1));
}

/* ---- random distributions ---- */

CASE(ndpar_grid_random_dist, "NULL axes; n 0; bad bounds; n x naxes overflows") {
  ndpar_grid_dist ok = {"a", NDPAR_DIST_UNIFORM, 0, 1, NULL, 0}, bad = {"b", NDPAR_DIST_INT, 0.5, 2, NULL, 0};
  EXPECT_NULL(ndpar_grid_random_dist(NULL, 1, 10, 1));
  EXPECT_NULL(ndpar_grid_random_dist(&ok, 1, 0, 1));
  EXPECT_NULL(ndpar_grid_random_dist(&bad, 1, 10, 1));
  EXPECT_NULL(ndpar_grid_random_dist(&ok, 1, ((size_t)1 << 61) + 1, 1));
}

/* ---- the estimator forms ---- */

static int est_fit(const void *params, size_t candidate, size_t resource, const gsl_matrix *xtr,
                   const gsl_vector *ytr, void **model, const ndpar_task *t, void *ctx) {
  (void)params, (void)candidate, (void)resource, (void)xtr, (void)ytr, (void)t, (void)ctx;
  *model = NULL;
  return GSL_SUCCESS;
}

static int est_score(const void *model, const void *params, const gsl_matrix *x, const gsl_vector *y,
                     double *scores, const ndpar_task *t, void *ctx) {
  (void)model, (void)params, (void)x, (void)y, (void)t, (void)ctx;
  scores[0] = 1;
  return GSL_SUCCESS;
}

static const ndpar_estimator est = {est_fit, est_score, NULL, 1, NULL};

CASE(ndpar_grid_result_alloc_est, "nscores 0; sizes 0; folds x nscores overflows") {
  EXPECT_NULL(ndpar_grid_result_alloc_est(3, 2, 0, 0));
  EXPECT_NULL(ndpar_grid_result_alloc_est(0, 2, 1, 0));
  EXPECT_NULL(ndpar_grid_result_alloc_est(3, (size_t)1 << 40, (size_t)1 << 40, 1));
}

CASE(ndpar_grid_search_est, "NULL grid, estimator, callbacks, folds, result; empty grid; bad options") {
  search s = make_search();
  ndpar_estimator nofit = est, noscores = est;
  nofit.fit = NULL, noscores.nscores = 0;
  ndpar_grid_options unknown = {.flags = 0x40}, rank = {.rank_score = 1}, train = {.flags = NDPAR_GRID_TRAIN_SCORES};
  EXPECT_CODE(ndpar_grid_search_est(NULL, NULL, s.x, s.y, s.f, &est, NULL, s.r), GSL_EFAULT);
  EXPECT_CODE(ndpar_grid_search_est(NULL, s.g, s.x, s.y, s.f, NULL, NULL, s.r), GSL_EFAULT);
  EXPECT_CODE(ndpar_grid_search_est(NULL, s.g, s.x, s.y, s.f, &nofit, NULL, s.r), GSL_EFAULT);
  EXPECT_CODE(ndpar_grid_search_est(NULL, s.g, s.x, s.y, s.f, &noscores, NULL, s.r), GSL_EINVAL);
  EXPECT_CODE(ndpar_grid_search_est(NULL, s.g, s.x, s.y, NULL, &est, NULL, s.r), GSL_EFAULT);
  EXPECT_CODE(ndpar_grid_search_est(NULL, s.g, s.x, s.y, s.f, &est, NULL, NULL), GSL_EFAULT);
  EXPECT_CODE(ndpar_grid_search_est(NULL, s.g, NULL, s.y, s.f, &est, NULL, s.r), GSL_EFAULT);
  EXPECT_CODE(ndpar_grid_search_est(NULL, s.g, s.x, s.y, s.f, &est, &unknown, s.r), GSL_EINVAL);
  EXPECT_CODE(ndpar_grid_search_est(NULL, s.g, s.x, s.y, s.f, &est, &rank, s.r), GSL_EINVAL);
  EXPECT_CODE(ndpar_grid_search_est(NULL, s.g, s.x, s.y, s.f, &est, &train, s.r), GSL_EBADLEN);
  ndpar_grid *empty = bi_hold(ndpar_grid_alloc(), free_grid);
  EXPECT_CODE(ndpar_grid_search_est(NULL, empty, s.x, s.y, s.f, &est, NULL, s.r), GSL_EINVAL);
  result_untouched(&s);
}

CASE(ndpar_grid_search_est_params, "NULL params; no candidates; result of another shape") {
  search s = make_search();
  ndpar_grid_result *small = bi_hold(ndpar_grid_result_alloc(2, 2), free_result);
  EXPECT_CODE(ndpar_grid_search_est_params(NULL, NULL, 8, 3, s.x, s.y, s.f, &est, NULL, s.r), GSL_EFAULT);
  EXPECT_CODE(ndpar_grid_search_est_params(NULL, three, 8, 0, s.x, s.y, s.f, &est, NULL, s.r), GSL_EINVAL);
  EXPECT_CODE(ndpar_grid_search_est_params(NULL, three, 0, 3, s.x, s.y, s.f, &est, NULL, s.r), GSL_EINVAL);
  EXPECT_CODE(ndpar_grid_search_est_params(NULL, three, 8, 3, s.x, s.y, s.f, &est, NULL, small), GSL_EBADLEN);
  result_untouched(&s);
}

CASE(ndpar_grid_halving, "NULL h; factor < 2; rows beyond the training folds; no max without rows") {
  search s = make_search();
  ndpar_halving one = {1, 0, 0, 1}, many = {3, 0, 100, 1}, nomax = {3, 0, 0, 0}, upside = {3, 9, 3, 0};
  EXPECT_CODE(ndpar_grid_halving(NULL, three, 8, 3, s.x, s.y, s.f, &est, NULL, NULL, s.r), GSL_EFAULT);
  EXPECT_CODE(ndpar_grid_halving(NULL, three, 8, 3, s.x, s.y, s.f, &est, &one, NULL, s.r), GSL_EINVAL);
  EXPECT_CODE(ndpar_grid_halving(NULL, three, 8, 3, s.x, s.y, s.f, &est, &many, NULL, s.r), GSL_EINVAL);
  EXPECT_CODE(ndpar_grid_halving(NULL, three, 8, 3, s.x, s.y, s.f, &est, &nomax, NULL, s.r), GSL_EINVAL);
  EXPECT_CODE(ndpar_grid_halving(NULL, three, 8, 3, s.x, s.y, s.f, &est, &upside, NULL, s.r), GSL_EINVAL);
  EXPECT_CODE(ndpar_grid_halving(NULL, NULL, 8, 3, s.x, s.y, s.f, &est, &nomax, NULL, s.r), GSL_EFAULT);
  EXPECT_CODE(ndpar_grid_halving(NULL, three, 8, 3, s.x, s.y, s.f, NULL, &nomax, NULL, s.r), GSL_EFAULT);
  result_untouched(&s);
}
