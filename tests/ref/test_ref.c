/* Tests of the internal reference library (ref/): the MLP's gradient against central
 * differences, the strict CSV loader on good and broken files, the sliding windows and
 * standardisation against closed forms, and the timing method's bookkeeping. */
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

/* ---- the strict CSV loader ------------------------------------------------------------ */

static char *write_temp(const char *text) {
  static char path[64];
  strcpy(path, "/tmp/ndpar_csv_XXXXXX");
  int fd = mkstemp(path);
  cr_assert(fd >= 0);
  cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
  return path;
}

Test(workload_csv, reads_a_good_file) {
  char *path = write_temp("date,pressure,temperature\n2010-01-01,1016.6,4.0\n2010-01-02,1016.7,-3.5e1\r\n2010-01-03,1,0\n");
  gsl_vector *v = NULL;
  char err[256] = "";
  cr_assert_eq(wl_csv_column(path, "temperature", &v, err, sizeof err), GSL_SUCCESS, "%s", err);
  cr_assert_eq(v->size, 3);
  cr_assert_eq(gsl_vector_get(v, 0), 4.0);
  cr_assert_eq(gsl_vector_get(v, 1), -35.0);
  cr_assert_eq(gsl_vector_get(v, 2), 0.0);
  gsl_vector_free(v);
  unlink(path);
}

static void expect_csv_error(const char *text, const char *column, int code, const char *needle) {
  char *path = write_temp(text);
  gsl_vector *sentinel = (gsl_vector *)0x1, *v = sentinel;
  char err[512] = "";
  cr_assert_eq(wl_csv_column(path, column, &v, err, sizeof err), code, "%s", err);
  cr_assert_eq(v, sentinel, "output untouched on error");
  cr_assert(strstr(err, path) != NULL, "message names the file: %s", err);
  cr_assert(strstr(err, needle) != NULL, "message '%s' lacks '%s'", err, needle);
  unlink(path);
}

Test(workload_csv, rejects_broken_files_naming_line_and_column) {
  expect_csv_error("a,b\n1,2\n3,x\n", "b", GSL_EINVAL, ":3: column 2 (\"b\"): \"x\"");
  expect_csv_error("a,b\n1,2\n3\n", "b", GSL_EINVAL, ":3: 1 fields, the header has 2");
  expect_csv_error("a,b\n1,2\n3,4,5\n", "a", GSL_EINVAL, ":3: 3 fields");
  expect_csv_error("a,b\n1,\n", "b", GSL_EINVAL, ":2: column 2");
  expect_csv_error("a,b\n1,inf\n", "b", GSL_EINVAL, "not a finite number");
  expect_csv_error("a,b\n1,nan\n", "b", GSL_EINVAL, "not a finite number");
  expect_csv_error("a,b\n1,2.5abc\n", "b", GSL_EINVAL, "\"2.5abc\"");
  expect_csv_error("a,b\n1,2\n", "c", GSL_EINVAL, "no column named \"c\"");
  expect_csv_error("a,b\n", "a", GSL_EINVAL, "no data lines");
  expect_csv_error("", "a", GSL_EINVAL, "empty file");
  gsl_vector *v = NULL;
  char err[256];
  cr_assert_eq(wl_csv_column("/nonexistent/x.csv", "a", &v, err, sizeof err), GSL_EFAILED);
  cr_assert(strstr(err, "/nonexistent/x.csv") != NULL);
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

/* ---- windows and standardisation ------------------------------------------------------ */

/* The series 0, 1, 2, ...: window t's x row is t .. t+lags-1, its y row what follows. */
Test(workload_windows, rows_are_consecutive_slices_of_the_series) {
  size_t sizes[][2] = {{1, 1}, {3, 2}, {24, 6}};
  for (size_t c = 0; c < 3; c++) {
    size_t lags = sizes[c][0], horizon = sizes[c][1];
    for (size_t n = lags + horizon; n < lags + horizon + 5; n++) {
      gsl_vector *s = gsl_vector_alloc(n);
      for (size_t i = 0; i < n; i++) gsl_vector_set(s, i, (double)i);
      gsl_matrix *x = NULL, *y = NULL;
      cr_assert_eq(wl_windows(s, lags, horizon, &x, &y), GSL_SUCCESS);
      cr_assert_eq(x->size1, n - lags - horizon + 1);
      cr_assert_eq(y->size1, x->size1);
      for (size_t t = 0; t < x->size1; t++) {
        for (size_t j = 0; j < lags; j++) cr_assert_eq(gsl_matrix_get(x, t, j), (double)(t + j));
        for (size_t j = 0; j < horizon; j++)
          cr_assert_eq(gsl_matrix_get(y, t, j), (double)(t + lags + j));
      }
      gsl_matrix_free(x);
      gsl_matrix_free(y);
      gsl_vector_free(s);
    }
  }
}

Test(workload_windows, too_short_or_empty_shapes_are_rejected_outputs_untouched) {
  gsl_vector *s = gsl_vector_calloc(5);
  gsl_matrix *sentinel = (gsl_matrix *)0x1, *x = sentinel, *y = sentinel;
  cr_assert_eq(wl_windows(s, 4, 2, &x, &y), GSL_EINVAL);
  cr_assert_eq(wl_windows(s, 0, 2, &x, &y), GSL_EINVAL);
  cr_assert_eq(wl_windows(s, 2, 0, &x, &y), GSL_EINVAL);
  cr_assert(x == sentinel && y == sentinel);
  gsl_vector_free(s);
}

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
