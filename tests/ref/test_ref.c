/* Tests of the internal reference library (ref/): the MLP's gradient against central
 * differences, the default workload's data (read and windowed with ndpar's io module) on good
 * and broken files, standardisation against closed forms, and the timing method's bookkeeping. */
#include <criterion/criterion.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ref/timing.h"
#include "ref/wl.h"
#include "test_mlp.h"
#include "test_util.h"

#define LAGS 12
#define HIDDEN 16
#define HORIZON 3

static wl_mlp *make_mlp(double dropout) { return test_mlp(LAGS, HIDDEN, HORIZON, dropout); }

/* ---- the reference MLP ---------------------------------------------------------------- */

Test(workload_mlp, gradient_matches_central_differences) {
  gsl_rng *r = test_rng();
  wl_mlp *m = make_mlp(0);
  size_t rows = 1 + gsl_rng_uniform_int(r, 30);
  gsl_matrix *x = test_random_matrix(r, rows, LAGS), *t = test_random_matrix(r, rows, HORIZON);
  size_t p = m->theta->size;
  gsl_vector *g = gsl_vector_alloc(p), *scratch = gsl_vector_alloc(p), *theta = gsl_vector_alloc(p);
  double loss;
  cr_assert_eq(wl_mlp_loss_grad(m, NULL, x, t, g, &loss), GSL_SUCCESS);
  cr_assert(loss > 0);
  double h = 1e-6;
  for (size_t j = 0; j < p; j++) {
    gsl_vector_memcpy(theta, m->theta);
    double lp, lm;
    gsl_vector_set(theta, j, gsl_vector_get(m->theta, j) + h);
    wl_mlp_loss_grad(m, theta, x, t, scratch, &lp);
    gsl_vector_set(theta, j, gsl_vector_get(m->theta, j) - h);
    wl_mlp_loss_grad(m, theta, x, t, scratch, &lm);
    double fd = (lp - lm) / (2 * h), an = gsl_vector_get(g, j);
    cr_assert(fabs(fd - an) <= 1e-6 * (1 + fabs(an)), "parameter %zu: analytic %g, numeric %g", j, an, fd);
  }
  gsl_vector_free(g);
  gsl_vector_free(scratch);
  gsl_vector_free(theta);
  gsl_matrix_free(x);
  gsl_matrix_free(t);
  wl_mlp_free(m);
  gsl_rng_free(r);
}

Test(workload_mlp, shape_mismatch_is_reported_not_crashed) {
  wl_mlp *m = make_mlp(0);
  gsl_matrix *x = gsl_matrix_calloc(4, LAGS + 1), *y = gsl_matrix_alloc(4, HORIZON);
  cr_assert_eq(wl_mlp_forward(m, NULL, x, y, NULL), GSL_EBADLEN);
  gsl_matrix_free(x);
  gsl_matrix_free(y);
  wl_mlp_free(m);
}

/* ---- the default workload's data (read with ndpar's io module) -------------------------- */

/* A data folder holding a Seattle file with the given text; removed by the caller. */
static char *data_dir_with(const char *text) {
  static char dir[64];
  strcpy(dir, "/tmp/ndpar_ref_data_XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
  char path[128];
  snprintf(path, sizeof path, "%s/seattle-weather-hourly-normals.csv", dir);
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  fputs(text, f);
  cr_assert_eq(fclose(f), 0);
  return dir;
}

static void remove_data_dir(const char *dir) {
  char path[128];
  snprintf(path, sizeof path, "%s/seattle-weather-hourly-normals.csv", dir);
  unlink(path);
  rmdir(dir);
}

/* Errors come back as a code and ndpar_csv_read's message (file, line, field), never an
 * abort, and the outputs stay untouched. */
static void expect_data_error(const char *text, int code, const char *needle) {
  char *dir = data_dir_with(text);
  gsl_matrix *sentinel = (gsl_matrix *)0x1, *x = sentinel, *y = sentinel;
  char err[512] = "";
  cr_assert_eq(wl_default_windows(dir, 2, 1, &x, &y, err, sizeof err), code, "%s", err);
  cr_assert(x == sentinel && y == sentinel, "outputs untouched on error");
  cr_assert(strstr(err, dir) != NULL, "message names the file: %s", err);
  cr_assert(strstr(err, needle) != NULL, "message '%s' lacks '%s'", err, needle);
  remove_data_dir(dir);
}

Test(workload_data, broken_data_files_give_the_readers_messages) {
  expect_data_error("date,temperature\n2010-01-01,4\n2010-01-02,x\n2010-01-03,1\n", GSL_EINVAL,
                    ":3:2: \"x\" is not a number");
  expect_data_error("date,temperature\n2010-01-01,4\n2010-01-02,\n2010-01-03,1\n", GSL_EINVAL,
                    ":3:2: missing value (\"\")");
  expect_data_error("date,temperature\n1,2\n3,4,5\n", GSL_EBADLEN, ":3: 3 fields, expected 2");
  expect_data_error("date,wind\n1,2\n", GSL_EINVAL, ":1: no column named \"temperature\"");
  expect_data_error("date,temperature\n1,inf\n2,3\n3,4\n", GSL_EINVAL, "data row 1 of \"temperature\" is not a finite number");
  expect_data_error("date,temperature\n1,2\n2,3\n", GSL_EINVAL, "too short for 2 lags and horizon 1");
  gsl_matrix *x = NULL, *y = NULL;
  char err[512] = "";
  cr_assert_eq(wl_default_windows("/nonexistent", 2, 1, &x, &y, err, sizeof err), GSL_EFAILED);
  cr_assert(strstr(err, "/nonexistent/seattle-weather-hourly-normals.csv: cannot open") != NULL, "%s", err);
}

Test(workload_data, the_bundled_series_windows) {
  gsl_matrix *x = NULL, *y = NULL;
  char err[512] = "";
  cr_assert_eq(wl_default_windows(NULL, 24, 6, &x, &y, err, sizeof err), GSL_SUCCESS, "%s", err);
  cr_assert_eq(x->size1, 8759 - 24 - 6 + 1);
  cr_assert_eq(x->size2, 24);
  cr_assert_eq(y->size2, 6);
  /* window t+1 is window t shifted by one: the series is continuous */
  cr_assert_eq(gsl_matrix_get(x, 1, 0), gsl_matrix_get(x, 0, 1));
  cr_assert_eq(gsl_matrix_get(y, 0, 0), gsl_matrix_get(x, 1, 23));
  gsl_vector_const_view col = gsl_matrix_const_column(x, 0);
  cr_assert(fabs(gsl_stats_mean(col.vector.data, col.vector.stride, col.vector.size)) < 0.05);
  gsl_matrix_free(x);
  gsl_matrix_free(y);
}

/* ---- standardisation ------------------------------------------------------------------- */

/* The series 0, 1, 2, ...: window t's x row is t .. t+lags-1, its y row what follows. */
Test(workload_windows, standardize_gives_mean_0_sd_1_and_leaves_constants_centred) {
  gsl_rng *r = test_rng();
  gsl_vector *v = gsl_vector_alloc(1000);
  for (size_t i = 0; i < v->size; i++) gsl_vector_set(v, i, 1e3 + 50 * gsl_rng_uniform(r));
  wl_standardize(v);
  cr_assert(fabs(gsl_stats_mean(v->data, 1, v->size)) < 1e-12);
  cr_assert(fabs(gsl_stats_sd(v->data, 1, v->size) - 1) < 1e-12);
  gsl_vector_set_all(v, 7.5); /* sd 0: shifted only, never divided by zero */
  wl_standardize(v);
  for (size_t i = 0; i < v->size; i++) cr_assert_eq(gsl_vector_get(v, i), 0.0);
  gsl_vector_free(v);
  gsl_rng_free(r);
}

/* ---- the timing method ---------------------------------------------------------------- */

Test(timing, median_is_gsl_median_of_the_same_values) {
  gsl_rng *r = test_rng();
  for (size_t n = 1; n <= 9; n++) {
    double v[9], sorted[9];
    for (size_t i = 0; i < n; i++) sorted[i] = v[i] = gsl_rng_uniform(r) - 0.5;
    gsl_sort(sorted, 1, n);
    cr_assert_eq(bench_median(v, n), gsl_stats_median_from_sorted_data(sorted, 1, n), "n = %zu", n);
  }
  gsl_rng_free(r);
}

typedef struct {
  int calls[2];
  int prepared;
  int order_ok; /* prepare ran right before each timed call */
  int pending;
} counting;

static void sleep_ms(long ms) {
  struct timespec ts = {0, ms * 1000 * 1000};
  nanosleep(&ts, NULL);
}
static void variant_a(void *v) {
  counting *c = v;
  c->calls[0]++;
  c->pending = 0;
  sleep_ms(1);
}
static void variant_b(void *v) {
  counting *c = v;
  c->calls[1]++;
  c->pending = 0;
  sleep_ms(4);
}
static void prepare(void *v) {
  counting *c = v;
  c->prepared++;
  c->pending = 1;
}
static void variant_checked(void *v) {
  counting *c = v;
  if (c->calls[0] % 2 == 1 && !c->pending) c->order_ok = 0; /* every 2nd call is a timed one */
  variant_a(v);
}

/* Each repeat (warm-up ones too) runs every variant twice, once untimed and once timed;
 * a median is never below what the variant sleeps. */
Test(timing, compare_calls_each_variant_per_repeat_and_times_at_least_its_work) {
  counting c = {{0, 0}, 0, 1, 0};
  void (*const fns[2])(void *) = {variant_a, variant_b};
  double med[2];
  bench_compare(fns, 2, &c, 1, 3, med);
  cr_assert_eq(c.calls[0], 2 * (1 + 3));
  cr_assert_eq(c.calls[1], 2 * (1 + 3));
  cr_assert(med[0] >= 1e-3 && med[1] >= 4e-3, "medians %g %g s", med[0], med[1]);
  cr_assert(isfinite(med[0]) && isfinite(med[1]));
}

Test(timing, prepared_runs_prepare_right_before_every_timed_call) {
  counting c = {{0, 0}, 0, 1, 0};
  void (*const fns[1])(void *) = {variant_checked};
  double med;
  bench_compare_prepared(fns, 1, &c, 2, 3, prepare, &med);
  cr_assert_eq(c.calls[0], 2 * (2 + 3));
  cr_assert_eq(c.prepared, 2 + 3);
  cr_assert(c.order_ok);
  cr_assert(med >= 1e-3);
}

/* ---- the cv and grid workloads' model (the public MLP) ----------------------------------- */

/* wl_mlp_fit_score: a finite score better than predicting 0 (the standardised series'
 * mean) at a sensible rate, the same bits on every call, and -Inf, not an error, when the
 * rate makes the fit diverge. */
Test(workload_fit_score, learns_repeats_and_scores_divergence) {
  gsl_matrix *x = NULL;
  gsl_matrix *y = NULL;
  char err[512] = "";
  cr_assert_eq(wl_default_windows(NULL, 24, 1, &x, &y, err, sizeof err), GSL_SUCCESS, "%s", err);
  gsl_matrix_view xtr = gsl_matrix_submatrix(x, 0, 0, 1500, 24);
  gsl_matrix_view xva = gsl_matrix_submatrix(x, 1500, 0, 500, 24);
  gsl_vector_view ytr = gsl_matrix_subcolumn(y, 0, 0, 1500);
  gsl_vector_view yva = gsl_matrix_subcolumn(y, 0, 1500, 500);
  double s1 = 0;
  double s2 = 0;
  cr_assert_eq(wl_mlp_fit_score(0.1, &xtr.matrix, &ytr.vector, &xva.matrix, &yva.vector, &s1),
               GSL_SUCCESS);
  cr_assert_eq(wl_mlp_fit_score(0.1, &xtr.matrix, &ytr.vector, &xva.matrix, &yva.vector, &s2),
               GSL_SUCCESS);
  cr_assert(memcmp(&s1, &s2, sizeof s1) == 0);
  double zero = 0; /* the score of predicting 0 */
  for (size_t i = 0; i < 500; i++) zero -= gsl_vector_get(&yva.vector, i) * gsl_vector_get(&yva.vector, i);
  zero /= 500;
  cr_assert(isfinite(s1) && s1 > zero, "score %g, predicting 0: %g", s1, zero);
  double d = 0;
  cr_assert_eq(wl_mlp_fit_score(1e200, &xtr.matrix, &ytr.vector, &xva.matrix, &yva.vector, &d),
               GSL_SUCCESS);
  cr_assert(d == -INFINITY, "a diverging fit scores %g", d);
  gsl_matrix_free(x);
  gsl_matrix_free(y);
}
