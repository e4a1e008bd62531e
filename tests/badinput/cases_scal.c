/* Bad input to the scalability module. */
#include <stdlib.h>
#include <string.h>

#include "badinput.h"

static ndpar_scal_point point(size_t threads, double median) {
  ndpar_scal_point p = {.threads = threads, .median_ms = median, .min_ms = median, .max_ms = median};
  return p;
}

CASE(ndpar_scal_config_init, "fills sane defaults") {
  ndpar_scal_config c;
  memset(&c, 0xff, sizeof c);
  ndpar_scal_config_init(&c);
  EXPECT_TRUE(c.repeats >= 1 && c.warmup < 1000 && c.progress == NULL &&
              (c.bind == NDPAR_BIND_CORES || c.bind == NDPAR_BIND_NONE));
}

static ndpar_scal_point *sentinel_points(size_t n) {
  static ndpar_scal_point out[8];
  for (size_t i = 0; i < n; i++) out[i] = point(77, BI_SENTINEL);
  return out;
}

static void points_untouched(const ndpar_scal_point *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    cr_assert(p[i].threads == 77 && p[i].median_ms == BI_SENTINEL, "%s: out[%zu] written",
              bi_label(), i);
}

CASE(ndpar_scal_run,
     "NULL threads, workload, out; no 1; 0 and 4097 threads; an empty list a no-op") {
  const size_t t[2] = {1, 2}, no1[2] = {2, 3}, zero[2] = {1, 0}, big[2] = {1, 4097};
  ndpar_scal_point *out = sentinel_points(2);
  EXPECT_CODE(ndpar_scal_run(NULL, 2, NULL, bi_workload, NULL, out), GSL_EFAULT);
  EXPECT_CODE(ndpar_scal_run(t, 2, NULL, NULL, NULL, out), GSL_EFAULT);
  EXPECT_CODE(ndpar_scal_run(t, 2, NULL, bi_workload, NULL, NULL), GSL_EFAULT);
  EXPECT_CODE(ndpar_scal_run(no1, 2, NULL, bi_workload, NULL, out), GSL_EINVAL);
  EXPECT_CODE(ndpar_scal_run(zero, 2, NULL, bi_workload, NULL, out), GSL_EINVAL);
  EXPECT_CODE(ndpar_scal_run(big, 2, NULL, bi_workload, NULL, out), GSL_EINVAL);
  EXPECT_OK(ndpar_scal_run(t, 0, NULL, bi_workload, NULL, out));
  points_untouched(out, 2);
}

CASE(ndpar_scal_run, "n = 0 with NULL arrays: a no-op, as every run of no tasks") {
  EXPECT_OK(ndpar_scal_run(NULL, 0, NULL, bi_workload, NULL, NULL));
}

CASE(ndpar_scal_run, "repeats 0; an unknown binding is GSL_EINVAL") {
  const size_t t[1] = {1};
  ndpar_scal_point *out = sentinel_points(1);
  ndpar_scal_config c;
  ndpar_scal_config_init(&c);
  c.repeats = 0;
  EXPECT_CODE(ndpar_scal_run(t, 1, &c, bi_workload, NULL, out), GSL_EINVAL);
  ndpar_scal_config_init(&c);
  c.bind = (ndpar_bind)9;
  EXPECT_CODE(ndpar_scal_run(t, 1, &c, bi_workload, NULL, out), GSL_EINVAL);
  points_untouched(out, 1);
}

CASE(ndpar_scal_run, "repeats = 2^61 + 1: the timings' size overflows") {
  const size_t t[1] = {1};
  ndpar_scal_point *out = sentinel_points(1);
  ndpar_scal_config c;
  ndpar_scal_config_init(&c);
  c.repeats = ((size_t)1 << 61) + 1;
  EXPECT_EITHER(ndpar_scal_run(t, 1, &c, bi_workload, NULL, out), GSL_EINVAL, GSL_ENOMEM);
  points_untouched(out, 1);
}

static int failing_workload(ndpar_pool *pool, void *ctx) {
  (void)pool, (void)ctx;
  return GSL_ERANGE;
}

CASE(ndpar_scal_run, "a failing workload returns its status, out untouched") {
  const size_t t[2] = {1, 2};
  ndpar_scal_point *out = sentinel_points(2);
  cr_assert_eq(ndpar_scal_run(t, 2, NULL, failing_workload, NULL, out), GSL_ERANGE, "%s",
               bi_label());
  points_untouched(out, 2);
}

CASE(ndpar_scal_derive, "NULL; no 1-thread point; n = 0 a no-op") {
  ndpar_scal_point p[2] = {point(2, 1), point(4, 1)};
  EXPECT_CODE(ndpar_scal_derive(NULL, 2), GSL_EFAULT);
  EXPECT_CODE(ndpar_scal_derive(p, 2), GSL_EINVAL);
  EXPECT_OK(ndpar_scal_derive(p, 0));
  EXPECT_TRUE(p[0].speedup == 0 && p[1].speedup == 0);
}

CASE(ndpar_scal_derive, "extreme medians: 1e308 and subnormal give finite or refused speedups") {
  ndpar_scal_point p[2] = {point(1, 1e308), point(2, 4.9e-324)};
  if (ndpar_scal_derive(p, 2) != GSL_SUCCESS) return;
  cr_assert(!isnan(p[1].speedup) && !isnan(p[1].efficiency), "%s: speedup %g efficiency %g",
            bi_label(), p[1].speedup, p[1].efficiency);
}

CASE(ndpar_scal_karp_flatt, "p = 0, 1, SIZE_MAX; speedup NaN") {
  EXPECT_TRUE(isnan(ndpar_scal_karp_flatt(2, 0)) && isnan(ndpar_scal_karp_flatt(2, 1)));
  double e = ndpar_scal_karp_flatt(2, SIZE_MAX);
  cr_assert(isfinite(e) && fabs(e - 0.5) < 1e-9, "%s: karp_flatt(2, SIZE_MAX) = %g", bi_label(), e);
  EXPECT_TRUE(isnan(ndpar_scal_karp_flatt(NAN, 4)));
}

CASE(ndpar_scal_amdahl, "NULL; one point; one distinct thread count; NaN or negative times") {
  double f = BI_SENTINEL, s = BI_SENTINEL, r = BI_SENTINEL;
  ndpar_scal_point one[1] = {point(1, 10)}, same[2] = {point(2, 10), point(2, 11)};
  EXPECT_CODE(ndpar_scal_amdahl(NULL, 2, &f, &s, &r), GSL_EFAULT);
  EXPECT_CODE(ndpar_scal_amdahl(one, 1, &f, &s, &r), GSL_EINVAL);
  EXPECT_CODE(ndpar_scal_amdahl(same, 2, &f, &s, &r), GSL_EINVAL);
  EXPECT_TRUE(f == BI_SENTINEL && s == BI_SENTINEL && r == BI_SENTINEL);
  ndpar_scal_point nan[2] = {point(1, NAN), point(2, 5)}, neg[2] = {point(1, -10), point(2, 5)};
  int st = ndpar_scal_amdahl(nan, 2, &f, &s, &r);
  cr_assert(st != GSL_SUCCESS || (isfinite(f) && !isnan(s)), "%s: NaN time fitted f = %g",
            bi_label(), f);
  st = ndpar_scal_amdahl(neg, 2, &f, &s, &r);
  cr_assert(st != GSL_SUCCESS || (f >= 0 && f <= 1), "%s: negative time fitted f = %g", bi_label(),
            f);
}

CASE(ndpar_scal_amdahl, "times of 1e308 and subnormals: fitted, f in [0, 1]") {
  double f = BI_SENTINEL, s = BI_SENTINEL, r = BI_SENTINEL;
  ndpar_scal_point p[3] = {point(1, 1e308), point(2, 6e307), point(4, 4e307)};
  EXPECT_OK(ndpar_scal_amdahl(p, 3, &f, &s, &r)); /* valid times are fitted (issue 28, item 6) */
  cr_assert(f >= 0 && f <= 1 && !isnan(s) && isfinite(r), "%s: f %g smax %g residual %g",
              bi_label(), f, s, r);
  ndpar_scal_point q[2] = {point(1, 1e-310), point(2, 6e-311)};
  EXPECT_OK(ndpar_scal_amdahl(q, 2, &f, &s, &r));
  cr_assert(f >= 0 && f <= 1 && !isnan(s) && isfinite(r), "%s: f %g smax %g residual %g",
              bi_label(), f, s, r);
}

/* Every writer to /dev/full must report the failed write. */
static FILE *full_disk(void) {
  FILE *f = fopen("/dev/full", "w");
  cr_assert_not_null(f, "%s: /dev/full", bi_label());
  return f;
}

static const ndpar_scal_point two_points[2] = {{1, 10, 9, 11, 0.5, 1, 1, NAN, 9.5, 10.5, 1, 1},
                                               {2, 6, 5, 7, 0.5, 1.67, 0.83, 0.2, 5.5, 6.5, 1.5, 1.9}};

CASE(ndpar_scal_print, "NULL stream or points; a full disk") {
  EXPECT_CODE(ndpar_scal_print(NULL, two_points, 2), GSL_EFAULT);
  EXPECT_CODE(ndpar_scal_print(stdout, NULL, 2), GSL_EFAULT);
  FILE *f = full_disk();
  EXPECT_CODE(ndpar_scal_print(f, two_points, 2), GSL_EFAILED);
  fclose(f);
}

CASE(ndpar_scal_write_csv, "NULL stream or points; a full disk") {
  EXPECT_CODE(ndpar_scal_write_csv(NULL, two_points, 2), GSL_EFAULT);
  EXPECT_CODE(ndpar_scal_write_csv(stdout, NULL, 2), GSL_EFAULT);
  FILE *f = full_disk();
  EXPECT_CODE(ndpar_scal_write_csv(f, two_points, 2), GSL_EFAILED);
  fclose(f);
}

CASE(ndpar_scal_write_csv_rows, "NULL stream or points; a full disk") {
  EXPECT_CODE(ndpar_scal_write_csv_rows(NULL, "w", two_points, 2), GSL_EFAULT);
  EXPECT_CODE(ndpar_scal_write_csv_rows(stdout, "w", NULL, 2), GSL_EFAULT);
  FILE *f = full_disk();
  EXPECT_CODE(ndpar_scal_write_csv_rows(f, NULL, two_points, 2), GSL_EFAILED);
  fclose(f);
}

CASE(ndpar_scal_write_json, "NULL stream or points; a full disk; NaN and Inf stay valid JSON") {
  EXPECT_CODE(ndpar_scal_write_json(NULL, two_points, 2), GSL_EFAULT);
  EXPECT_CODE(ndpar_scal_write_json(stdout, NULL, 2), GSL_EFAULT);
  FILE *f = full_disk();
  EXPECT_CODE(ndpar_scal_write_json(f, two_points, 2), GSL_EFAILED);
  fclose(f);
  char *buf = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&buf, &len);
  ndpar_scal_point odd[2] = {{1, INFINITY, NAN, 1e308, 0, 1, 1, NAN, NAN, INFINITY, 1, 1},
                             {2, 1, 1, 1, 0, INFINITY, NAN, 0, -INFINITY, NAN, NAN, INFINITY}};
  EXPECT_OK(ndpar_scal_write_json(m, odd, 2));
  fclose(m);
  cr_assert(strstr(buf, "nan") == NULL && strstr(buf, "inf") == NULL, "%s: JSON holds nan/inf: %s",
            bi_label(), buf);
  free(buf);
}

CASE(ndpar_scal_save_csv, "NULL path or points; a device; a folder; a missing folder") {
  EXPECT_CODE(ndpar_scal_save_csv(NULL, two_points, 2), GSL_EFAULT);
  EXPECT_CODE(ndpar_scal_save_csv("/tmp/ndpar-badinput.csv", NULL, 2), GSL_EFAULT);
  EXPECT_CODE(ndpar_scal_save_csv("/dev/full", two_points, 2), GSL_EINVAL);
  EXPECT_CODE(ndpar_scal_save_csv("/tmp", two_points, 2), GSL_EINVAL);
  EXPECT_CODE(ndpar_scal_save_csv("/nonexistent-ndpar/dir/x.csv", two_points, 2), GSL_EFAILED);
  EXPECT_CODE(ndpar_scal_save_csv("", two_points, 2), GSL_EFAILED);
}

CASE(ndpar_scal_save_json, "NULL path or points; a device; a folder; a missing folder") {
  EXPECT_CODE(ndpar_scal_save_json(NULL, two_points, 2), GSL_EFAULT);
  EXPECT_CODE(ndpar_scal_save_json("/tmp/ndpar-badinput.json", NULL, 2), GSL_EFAULT);
  EXPECT_CODE(ndpar_scal_save_json("/dev/null", two_points, 2), GSL_EINVAL);
  EXPECT_CODE(ndpar_scal_save_json("/tmp", two_points, 2), GSL_EINVAL);
  EXPECT_CODE(ndpar_scal_save_json("/nonexistent-ndpar/x.json", two_points, 2), GSL_EFAILED);
}

CASE(ndpar_scal_median_interval, "NULL x, lo, hi; level 0, 1, NaN; a NaN value; n = 0 a no-op") {
  double x[3] = {1, 2, 3}, nan3[3] = {1, NAN, 3}, lo = BI_SENTINEL, hi = BI_SENTINEL;
  EXPECT_CODE(ndpar_scal_median_interval(NULL, 3, 0.95, &lo, &hi), GSL_EFAULT);
  EXPECT_CODE(ndpar_scal_median_interval(x, 3, 0.95, NULL, &hi), GSL_EFAULT);
  EXPECT_CODE(ndpar_scal_median_interval(x, 3, 0.95, &lo, NULL), GSL_EFAULT);
  EXPECT_CODE(ndpar_scal_median_interval(x, 3, 0, &lo, &hi), GSL_EINVAL);
  EXPECT_CODE(ndpar_scal_median_interval(x, 3, 1, &lo, &hi), GSL_EINVAL);
  EXPECT_CODE(ndpar_scal_median_interval(x, 3, NAN, &lo, &hi), GSL_EINVAL);
  EXPECT_CODE(ndpar_scal_median_interval(nan3, 3, 0.95, &lo, &hi), GSL_EDOM);
  EXPECT_OK(ndpar_scal_median_interval(x, 0, 0.95, &lo, &hi));
  EXPECT_TRUE(lo == BI_SENTINEL && hi == BI_SENTINEL);
  EXPECT_OK(ndpar_scal_median_interval(x, 1, 0.95, &lo, &hi));
  EXPECT_TRUE(lo == 1 && hi == 1);
}

CASE(ndpar_scal_mann_whitney, "NULL a, b, p; NaN values; empty samples a no-op; overflowing sizes") {
  double a[3] = {1, 2, 3}, b[3] = {4, 5, 6}, nan3[3] = {1, NAN, 3}, p = BI_SENTINEL;
  EXPECT_CODE(ndpar_scal_mann_whitney(NULL, 3, b, 3, &p), GSL_EFAULT);
  EXPECT_CODE(ndpar_scal_mann_whitney(a, 3, NULL, 3, &p), GSL_EFAULT);
  EXPECT_CODE(ndpar_scal_mann_whitney(a, 3, b, 3, NULL), GSL_EFAULT);
  EXPECT_CODE(ndpar_scal_mann_whitney(nan3, 3, b, 3, &p), GSL_EDOM);
  EXPECT_CODE(ndpar_scal_mann_whitney(a, 3, nan3, 3, &p), GSL_EDOM);
  EXPECT_CODE(ndpar_scal_mann_whitney(a, SIZE_MAX, b, 3, &p), GSL_EINVAL);
  EXPECT_OK(ndpar_scal_mann_whitney(a, 0, b, 3, &p));
  EXPECT_OK(ndpar_scal_mann_whitney(NULL, 0, NULL, 0, &p));
  EXPECT_TRUE(p == BI_SENTINEL);
  double inf[2] = {-INFINITY, INFINITY};
  EXPECT_OK(ndpar_scal_mann_whitney(inf, 2, b, 3, &p));
  EXPECT_TRUE(p >= 0 && p <= 1);
}

CASE(ndpar_scal_amdahl_interval, "NULL pts, samples, lo, hi; repeats 0; bad level; one thread count") {
  ndpar_scal_point two[2] = {point(1, 10), point(2, 6)}, same[2] = {point(2, 10), point(2, 11)};
  double s[4] = {10, 10, 6, 6}, lo = BI_SENTINEL, hi = BI_SENTINEL;
  EXPECT_CODE(ndpar_scal_amdahl_interval(NULL, 2, s, 2, 0.95, &lo, &hi), GSL_EFAULT);
  EXPECT_CODE(ndpar_scal_amdahl_interval(two, 2, NULL, 2, 0.95, &lo, &hi), GSL_EFAULT);
  EXPECT_CODE(ndpar_scal_amdahl_interval(two, 2, s, 2, 0.95, NULL, &hi), GSL_EFAULT);
  EXPECT_CODE(ndpar_scal_amdahl_interval(two, 2, s, 2, 0.95, &lo, NULL), GSL_EFAULT);
  EXPECT_CODE(ndpar_scal_amdahl_interval(two, 2, s, 0, 0.95, &lo, &hi), GSL_EINVAL);
  EXPECT_CODE(ndpar_scal_amdahl_interval(two, 2, s, 2, 1.5, &lo, &hi), GSL_EINVAL);
  EXPECT_CODE(ndpar_scal_amdahl_interval(two, 2, s, SIZE_MAX, 0.95, &lo, &hi), GSL_EINVAL);
  EXPECT_CODE(ndpar_scal_amdahl_interval(same, 2, s, 2, 0.95, &lo, &hi), GSL_EINVAL);
  EXPECT_TRUE(lo == BI_SENTINEL && hi == BI_SENTINEL);
  EXPECT_OK(ndpar_scal_amdahl_interval(two, 2, s, 2, 0.95, &lo, &hi));
  EXPECT_TRUE(lo <= hi && lo >= 0 && hi <= 1);
}
