/* Tests of the scalability module: the Amdahl fit, Karp-Flatt, derived metrics, the runner,
 * and the table, CSV and JSON writers (parsed back). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_sort.h>
#include <float.h>
#include <math.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ndpar/ndpar_scalability.h"
#include "test_util.h"

static const size_t counts[] = {1, 2, 4, 8, 16, 32};

/* Points that follow Amdahl's law with parallel fraction f exactly (times in ms). */
static void amdahl_points(double f, ndpar_scal_point *pts, size_t n, double noise, gsl_rng *r) {
  for (size_t i = 0; i < n; i++) {
    double p = (double)counts[i], s = 1.0 / ((1 - f) + f / p);
    if (noise > 0) s *= 1 + gsl_ran_gaussian(r, noise);
    pts[i] = (ndpar_scal_point){.threads = counts[i], .median_ms = 100.0 / s};
    pts[i].min_ms = pts[i].max_ms = pts[i].median_ms;
  }
  cr_assert_eq(ndpar_scal_derive(pts, n), GSL_SUCCESS);
}

Test(amdahl, recovers_the_parallel_fraction_of_exact_points) {
  gsl_rng *r = test_rng();
  for (int trial = 0; trial < 20; trial++) {
    double f = gsl_rng_uniform(r) * 0.999, fit, smax, res;
    ndpar_scal_point pts[6];
    amdahl_points(f, pts, 6, 0, r);
    cr_assert_eq(ndpar_scal_amdahl(pts, 6, &fit, &smax, &res), GSL_SUCCESS);
    cr_assert(fabs(fit - f) < 1e-9, "f %.12f fitted %.12f", f, fit);
    cr_assert(fabs(smax - 1 / (1 - f)) < 1e-9 * smax);
    cr_assert(res < 1e-9, "residual %g", res);
  }
  gsl_rng_free(r);
}

Test(amdahl, recovers_the_parallel_fraction_of_noisy_points) {
  gsl_rng *r = test_rng();
  for (int trial = 0; trial < 20; trial++) {
    double f = 0.5 + 0.49 * gsl_rng_uniform(r), fit, res;
    ndpar_scal_point pts[6];
    /* 1% noise on every timing, the baseline's included. (At 2%, the baseline alone can
     * move any estimate of f by more than 0.02: simulated, see the module's comment.) */
    amdahl_points(f, pts, 6, 0.01, r);
    cr_assert_eq(ndpar_scal_amdahl(pts, 6, &fit, NULL, &res), GSL_SUCCESS);
    cr_assert(fabs(fit - f) < 0.02, "f %.4f fitted %.4f", f, fit);
    cr_assert(res > 0);
  }
  gsl_rng_free(r);
}

Test(amdahl, per_point_estimate_is_the_right_formula) {
  /* With one parallel point the fit is the per-point estimate p (S - 1) / (S (p - 1)). */
  ndpar_scal_point pts[2] = {{.threads = 1, .median_ms = 10}, {.threads = 8, .median_ms = 2.5}};
  ndpar_scal_derive(pts, 2);
  double fit, S = 4, p = 8;
  cr_assert_eq(ndpar_scal_amdahl(pts, 2, &fit, NULL, NULL), GSL_SUCCESS);
  cr_assert(fabs(fit - p * (S - 1) / (S * (p - 1))) < 1e-12);
}

Test(amdahl, edge_cases) {
  test_quiet_gsl_errors();
  ndpar_scal_point one = {.threads = 1, .median_ms = 5, .speedup = 1};
  cr_assert_eq(ndpar_scal_amdahl(&one, 1, NULL, NULL, NULL), GSL_EINVAL, "nothing to fit");
  ndpar_scal_point ideal[2] = {{.threads = 1, .median_ms = 8}, {.threads = 4, .median_ms = 2}};
  ndpar_scal_derive(ideal, 2);
  double f, smax;
  cr_assert_eq(ndpar_scal_amdahl(ideal, 2, &f, &smax, NULL), GSL_SUCCESS);
  cr_assert_eq(f, 1.0);
  cr_assert(isinf(smax));
  ndpar_scal_point slower[2] = {{.threads = 1, .median_ms = 8}, {.threads = 4, .median_ms = 16}};
  ndpar_scal_derive(slower, 2);
  cr_assert_eq(ndpar_scal_amdahl(slower, 2, &f, &smax, NULL), GSL_SUCCESS);
  cr_assert_eq(f, 0.0, "a slowdown clamps to no parallel fraction");
  cr_assert_eq(smax, 1.0);
}

Test(karp_flatt, matches_its_formula_and_amdahl) {
  gsl_rng *r = test_rng();
  double f = 0.9;
  ndpar_scal_point pts[6];
  amdahl_points(f, pts, 6, 0, r);
  cr_assert(isnan(pts[0].serial_fraction), "undefined at one thread");
  for (size_t i = 1; i < 6; i++) {
    double S = pts[i].speedup, p = (double)pts[i].threads;
    cr_assert(fabs(pts[i].serial_fraction - (1 / S - 1 / p) / (1 - 1 / p)) < 1e-15);
    cr_assert(fabs(pts[i].serial_fraction - (1 - f)) < 1e-12, "Amdahl data: e = 1 - f");
    cr_assert(fabs(pts[i].efficiency - S / p) < 1e-15);
  }
  cr_assert(isnan(ndpar_scal_karp_flatt(2.0, 1)));
  gsl_rng_free(r);
}

/* ---- the runner ---- */

static int spin_task(const ndpar_task *t, void *ctx) {
  (void)t, (void)ctx;
  for (volatile int k = 0; k < 20000; k++) {
  }
  return 0;
}

static int workload(ndpar_pool *pool, void *ctx) {
  atomic_fetch_add((atomic_int *)ctx, 1);
  return ndpar_pool_run(pool, 64, spin_task, NULL);
}

static void count_progress(size_t done, size_t total, void *ctx) {
  size_t *seen = ctx;
  cr_assert_eq(done, seen[0] + 1, "progress counts up by one");
  seen[0] = done;
  seen[1] = total;
}

Test(scal_run, measures_every_thread_count) {
  size_t threads[] = {2, 1, 3}, seen[2] = {0, 0};
  atomic_int calls = 0;
  ndpar_scal_config cfg;
  ndpar_scal_config_init(&cfg);
  cfg.warmup = 2;
  cfg.repeats = 4;
  cfg.progress = count_progress;
  cfg.progress_ctx = seen;
  ndpar_scal_point out[3];
  cr_assert_eq(ndpar_scal_run(threads, 3, &cfg, workload, &calls, out), GSL_SUCCESS);
  cr_assert_eq(atomic_load(&calls), 3 * (2 + 4));
  cr_assert_eq(seen[0], 12);
  cr_assert_eq(seen[1], 12);
  for (size_t i = 0; i < 3; i++) {
    cr_assert_eq(out[i].threads, threads[i], "points in the order given");
    cr_assert(out[i].min_ms <= out[i].median_ms && out[i].median_ms <= out[i].max_ms);
    cr_assert(out[i].mad_ms >= 0 && out[i].mad_ms <= out[i].max_ms - out[i].min_ms);
    cr_assert(fabs(out[i].efficiency - out[i].speedup / (double)out[i].threads) < 1e-15);
  }
  cr_assert_eq(out[1].speedup, 1.0, "the 1-thread point is the baseline");
}

static int failing_workload(ndpar_pool *pool, void *ctx) {
  (void)pool, (void)ctx;
  return GSL_EDOM;
}

Test(scal_run, bad_input_and_failures) {
  test_quiet_gsl_errors();
  ndpar_scal_point out[2] = {{.threads = 77}, {.threads = 77}};
  size_t no_one[] = {2, 4}, zero[] = {1, 0}, ok[] = {1, 2};
  atomic_int calls = 0;
  cr_assert_eq(ndpar_scal_run(no_one, 2, NULL, workload, &calls, out), GSL_EINVAL);
  cr_assert_eq(ndpar_scal_run(zero, 2, NULL, workload, &calls, out), GSL_EINVAL);
  cr_assert(strstr(test_gsl_last_reason(), "threads[1]") != NULL);
  cr_assert_eq(ndpar_scal_run(ok, 0, NULL, workload, &calls, out), GSL_SUCCESS, "n = 0: a no-op");
  cr_assert_eq(ndpar_scal_run(NULL, 0, NULL, workload, &calls, NULL), GSL_SUCCESS,
               "n = 0 reads neither array: NULL ones succeed");
  cr_assert_eq(ndpar_scal_run(NULL, 0, NULL, NULL, &calls, NULL), GSL_EFAULT, "f is still checked");
  cr_assert_eq(ndpar_scal_run(ok, 2, NULL, NULL, &calls, out), GSL_EFAULT);
  cr_assert_eq(ndpar_scal_run(NULL, 2, NULL, workload, &calls, out), GSL_EFAULT);
  cr_assert_eq(ndpar_scal_run(ok, 2, NULL, workload, &calls, NULL), GSL_EFAULT);
  ndpar_scal_config cfg;
  ndpar_scal_config_init(&cfg);
  cfg.repeats = 0;
  cr_assert_eq(ndpar_scal_run(ok, 2, &cfg, workload, &calls, out), GSL_EINVAL);
  ndpar_scal_config_init(&cfg);
  cfg.bind = (ndpar_bind)7; /* the pool would refuse it: caught before any run, as GSL_EINVAL */
  cr_assert_eq(ndpar_scal_run(ok, 2, &cfg, workload, &calls, out), GSL_EINVAL);
  cr_assert(strstr(test_gsl_last_reason(), "cfg->bind") != NULL, "%s", test_gsl_last_reason());
  size_t too_many[] = {1, NDPAR_MAX_THREADS + 1};
  cr_assert_eq(ndpar_scal_run(too_many, 2, NULL, workload, &calls, out), GSL_EINVAL);
  cr_assert_eq(ndpar_scal_derive(out, 0), GSL_SUCCESS, "n = 0: a no-op");
  cr_assert_eq(atomic_load(&calls), 0, "nothing ran");
  cr_assert_eq(ndpar_scal_run(ok, 2, NULL, failing_workload, NULL, out), GSL_EDOM);
  cr_assert_eq(out[0].threads, 77, "outputs untouched");
}

/* ---- writers ---- */

static ndpar_scal_point sample_points[3];

static void make_sample(void) {
  ndpar_scal_point p[3] = {{.threads = 1, .median_ms = 12.3456789012345, .min_ms = 12.0, .max_ms = 13.0, .mad_ms = 0.125,
                            .median_lo_ms = 12.1, .median_hi_ms = 12.7},
                           {.threads = 2, .median_ms = 6.5, .min_ms = 6.25, .max_ms = 7.0, .mad_ms = 0.0625,
                            .median_lo_ms = 6.4, .median_hi_ms = 6.8},
                           {.threads = 4, .median_ms = 4.0, .min_ms = 3.9, .max_ms = 4.4, .mad_ms = 0.05,
                            .median_lo_ms = 3.95, .median_hi_ms = 4.1}};
  memcpy(sample_points, p, sizeof p);
  ndpar_scal_derive(sample_points, 3);
}

static char *write_to_string(int (*writer)(FILE *, const ndpar_scal_point *, size_t)) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  cr_assert_eq(writer(f, sample_points, 3), GSL_SUCCESS);
  fclose(f);
  return buf;
}

Test(writers, table_has_the_guides_layout) {
  make_sample();
  char *text = write_to_string(ndpar_scal_print);
  char *header = strtok(text, "\n");
  const char *cols[] = {"Threads", "Duration (ms)", "Speedup", "Efficiency"};
  const char *at = header;
  for (int i = 0; i < 4; i++) {
    const char *found = strstr(at, cols[i]);
    cr_assert_not_null(found, "column %s in order", cols[i]);
    at = found;
  }
  for (size_t i = 0; i < 3; i++) {
    char *line = strtok(NULL, "\n");
    cr_assert_not_null(line);
    size_t t;
    double ms, s, e, mlo, mhi, slo, shi;
    cr_assert_eq(sscanf(line, "%zu %lf [%lf, %lf] %lf [%lf, %lf] %lf%%", &t, &ms, &mlo, &mhi, &s,
                        &slo, &shi, &e), 8, "line: %s", line);
    cr_assert(fabs(mlo - sample_points[i].median_lo_ms) < 5e-4 && fabs(shi - sample_points[i].speedup_hi) < 5e-3);
    cr_assert_eq(t, sample_points[i].threads);
    cr_assert(fabs(ms - sample_points[i].median_ms) < 5e-4);
    cr_assert(fabs(s - sample_points[i].speedup) < 5e-3);
    cr_assert(fabs(e - 100 * sample_points[i].efficiency) < 5e-2);
  }
  cr_assert_null(strtok(NULL, "\n"), "one line per point");
  free(text);
}

Test(writers, csv_parses_back_to_the_numbers) {
  make_sample();
  char *text = write_to_string(ndpar_scal_write_csv);
  char *line = strtok(text, "\n");
  cr_assert_str_eq(line, ndpar_scal_csv_header);
  for (size_t i = 0; i < 3; i++) {
    line = strtok(NULL, "\n");
    size_t t;
    double v[7];
    char kf[64];
    cr_assert_eq(sscanf(line, "%zu,%lf,%lf,%lf,%lf,%lf,%lf,%63[^,]", &t, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], kf), 8);
    const ndpar_scal_point *p = &sample_points[i];
    cr_assert(t == p->threads && v[0] == p->median_ms && v[1] == p->min_ms && v[2] == p->max_ms &&
              v[3] == p->mad_ms && v[4] == p->speedup && v[5] == p->efficiency, "exact round trip");
    double e = strtod(kf, NULL);
    cr_assert(i == 0 ? isnan(e) : e == p->serial_fraction);
  }
  free(text);
}

Test(writers, json_parses_back_to_the_numbers) {
  make_sample();
  char *text = write_to_string(ndpar_scal_write_json);
  const char *at = text;
  for (size_t i = 0; i < 3; i++) {
    at = strstr(at, "{\"threads\": ");
    cr_assert_not_null(at);
    size_t t;
    double med, mn, mx, mad, s, e;
    cr_assert_eq(sscanf(at, "{\"threads\": %zu, \"median_ms\": %lf, \"min_ms\": %lf, \"max_ms\": %lf, "
                            "\"mad_ms\": %lf, \"speedup\": %lf, \"efficiency\": %lf",
                        &t, &med, &mn, &mx, &mad, &s, &e), 7);
    cr_assert(t == sample_points[i].threads && med == sample_points[i].median_ms && s == sample_points[i].speedup);
    at++;
  }
  cr_assert_not_null(strstr(text, "\"karp_flatt\": null"), "NaN is written as null");
  /* The fit covers the points within the physical cores; the others are listed. */
  size_t cores = ndpar_physical_cores(), nfit = 0;
  ndpar_scal_point within[3];
  char listed[128] = "", one[32];
  for (size_t i = 0; i < 3; i++) {
    if (sample_points[i].threads <= cores) {
      within[nfit++] = sample_points[i];
    } else {
      snprintf(one, sizeof one, "%s%zu", listed[0] ? ", " : "", sample_points[i].threads);
      strcat(listed, one);
    }
  }
  char want[96];
  snprintf(want, sizeof want, "\"not_fitted_threads\": [%s]", listed);
  cr_assert_not_null(strstr(text, want), "%s in %s", want, text);
  double f, ref;
  const char *am = strstr(text, "\"parallel_fraction\": ");
  if (ndpar_scal_amdahl(within, nfit, &ref, NULL, NULL) == GSL_SUCCESS) {
    cr_assert_not_null(am);
    cr_assert_eq(sscanf(am, "\"parallel_fraction\": %lf", &f), 1);
    cr_assert_eq(f, ref);
    cr_assert_not_null(strstr(text, "\"degenerate\": "));
    /* Two fitted points fit a two-parameter law exactly: no maximum speedup from them. */
    if (nfit < 3) cr_assert_not_null(strstr(text, "\"max_speedup\": null"), "%s", text);
    else if (strstr(text, "\"degenerate\": false")) cr_assert_null(strstr(text, "\"max_speedup\": null"), "%s", text);
  } else {
    cr_assert_null(am, "no fit without two thread counts within the cores");
  }
  free(text);
}

Test(amdahl, a_degenerate_fit_is_said_in_words) {
  cr_assert_null(ndpar_scal_amdahl_degenerate(0.9, 0.01));
  cr_assert_null(ndpar_scal_amdahl_degenerate(0.0, 0.10));
  const char *why = ndpar_scal_amdahl_degenerate(1.0, 0.0);
  cr_assert_not_null(why);
  cr_assert(strstr(why, "no maximum speedup") != NULL);
  why = ndpar_scal_amdahl_degenerate(0.6, 0.23);
  cr_assert_not_null(why);
  cr_assert(strstr(why, "residual") != NULL);
  cr_assert_not_null(ndpar_scal_amdahl_degenerate(NAN, 0.01));
  cr_assert_not_null(ndpar_scal_amdahl_degenerate(0.5, NAN));
}

/* ---- sizes that overflow, unknown settings, pools that cannot start ---- */

Test(scal_run, overflowing_repeats_and_unknown_bind_are_refused_before_any_run) {
  test_quiet_gsl_errors();
  ndpar_scal_point out[2] = {{.threads = 77}, {.threads = 77}};
  size_t ok[] = {1, 2};
  atomic_int calls = 0;
  ndpar_scal_config cfg;
  ndpar_scal_config_init(&cfg);
  cfg.repeats = ((size_t)1 << 61) + 1; /* times 8 bytes wraps to 8 */
  cr_assert_eq(ndpar_scal_run(ok, 2, &cfg, workload, &calls, out), GSL_EINVAL);
  cr_assert(strstr(test_gsl_last_reason(), "overflow"), "%s", test_gsl_last_reason());
  cfg.repeats = SIZE_MAX / 2 + 1; /* n * repeats runs wraps */
  cr_assert_eq(ndpar_scal_run(ok, 2, &cfg, workload, &calls, out), GSL_EINVAL);
  ndpar_scal_config_init(&cfg);
  cfg.bind = (ndpar_bind)42;
  cr_assert_eq(ndpar_scal_run(ok, 2, &cfg, workload, &calls, out), GSL_EINVAL, "not GSL_ENOMEM");
  cr_assert(strstr(test_gsl_last_reason(), "bind"), "%s", test_gsl_last_reason());
  cr_assert_eq(atomic_load(&calls), 0, "nothing ran");
  cr_assert_eq(out[0].threads, 77, "outputs untouched");
}

Test(scal_run, a_pool_that_cannot_start_is_named_not_out_of_memory) {
  test_quiet_gsl_errors();
  ndpar_scal_point out[2] = {{.threads = 77}, {.threads = 77}};
  size_t list[] = {1, 4};
  atomic_int calls = 0;
  test_fault_pthread_create(1);
  cr_assert_eq(ndpar_scal_run(list, 2, NULL, workload, &calls, out), GSL_EFAILED);
  test_fault_pthread_create(0);
  cr_assert(strstr(test_gsl_last_reason(), "cannot start a pool of 4 threads"), "%s", test_gsl_last_reason());
  cr_assert(strstr(test_gsl_last_reason(), "too many threads"), "%s", test_gsl_last_reason());
  cr_assert_eq(out[0].threads, 77, "outputs untouched");
}

/* ---- writers that fail ---- */

Test(writers, a_full_disk_is_an_error) {
  test_quiet_gsl_errors();
  make_sample();
  int (*writers[])(FILE *, const ndpar_scal_point *, size_t) = {ndpar_scal_write_csv, ndpar_scal_write_json};
  for (int w = 0; w < 2; w++) {
    FILE *full = fopen("/dev/full", "w");
    cr_assert_not_null(full);
    cr_assert_eq(writers[w](full, sample_points, 3), GSL_EFAILED, "writer %d", w);
    cr_assert(strstr(test_gsl_last_reason(), "write error"), "%s", test_gsl_last_reason());
    fclose(full);
  }
  FILE *full = fopen("/dev/full", "w");
  cr_assert_eq(ndpar_scal_write_csv_rows(full, "w", sample_points, 3), GSL_EFAILED);
  fclose(full);
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "r");
  if (f == NULL) return NULL;
  char *buf = calloc(1, 1 << 16);
  size_t got = fread(buf, 1, (1 << 16) - 1, f);
  buf[got] = '\0';
  fclose(f);
  return buf;
}

static size_t files_in(const char *dir) {
  DIR *d = opendir(dir);
  size_t n = 0;
  for (struct dirent *e; (e = readdir(d));) n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

Test(writers, files_are_written_whole_or_not_at_all) {
  test_quiet_gsl_errors();
  make_sample();
  char dir[] = "/tmp/ndpar-scal-XXXXXX", path[64], json[64];
  cr_assert_not_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/points.csv", dir);
  snprintf(json, sizeof json, "%s/points.json", dir);
  cr_assert_eq(ndpar_scal_save_csv(path, sample_points, 3), GSL_SUCCESS);
  cr_assert_eq(ndpar_scal_save_json(json, sample_points, 3), GSL_SUCCESS);
  char *csv_text = write_to_string(ndpar_scal_write_csv), *json_text = write_to_string(ndpar_scal_write_json);
  char *saved = slurp(path), *saved_json = slurp(json);
  cr_assert_str_eq(saved, csv_text, "the file holds what the stream writer writes");
  cr_assert_str_eq(saved_json, json_text);
  free(saved_json);
  cr_assert_eq(files_in(dir), 2, "no temporary left behind");

  /* a write that fails part-way (a file-size limit binds root too): the old file stays */
  struct rlimit old, small = {64, 0};
  getrlimit(RLIMIT_FSIZE, &old);
  small.rlim_max = old.rlim_max;
  signal(SIGXFSZ, SIG_IGN);
  cr_assert_eq(setrlimit(RLIMIT_FSIZE, &small), 0);
  ndpar_scal_point other[3];
  memcpy(other, sample_points, sizeof other);
  other[0].median_ms = 99;
  cr_assert_eq(ndpar_scal_save_csv(path, other, 3), GSL_EFAILED);
  setrlimit(RLIMIT_FSIZE, &old);
  cr_assert(strstr(test_gsl_last_reason(), path), "names the file: %s", test_gsl_last_reason());
  char *after = slurp(path);
  cr_assert_str_eq(after, csv_text, "the old file is untouched");
  cr_assert_eq(files_in(dir), 2, "the temporary is removed");

  /* not regular files, and folders that do not exist */
  struct stat before;
  stat("/dev/full", &before);
  cr_assert_eq(ndpar_scal_save_csv("/dev/full", sample_points, 3), GSL_EINVAL);
  struct stat st;
  cr_assert(stat("/dev/full", &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == before.st_rdev,
            "the device is never replaced");
  cr_assert_eq(ndpar_scal_save_json(dir, sample_points, 3), GSL_EINVAL, "a folder");
  char missing[96];
  snprintf(missing, sizeof missing, "%s/no/such/folder.csv", dir);
  cr_assert_eq(ndpar_scal_save_csv(missing, sample_points, 3), GSL_EFAILED);
  cr_assert_eq(ndpar_scal_save_csv(NULL, sample_points, 3), GSL_EFAULT);
  cr_assert_eq(ndpar_scal_save_json(path, NULL, 3), GSL_EFAULT);

  unlink(path);
  unlink(json);
  rmdir(dir);
  free(csv_text);
  free(json_text);
  free(saved);
  free(after);
}

/* Issue 28 item 6: valid extreme times, T1/p with T1 = 1e308 or subnormal 1e-320, were
 * refused as "needs a point with more than one thread" (1/T^2 overflowed or underflowed). */
Test(amdahl, extreme_times_fit_as_well_as_ordinary_ones) {
  const double t1s[] = {1e308, 1e-320, DBL_MAX, 1.0};
  for (size_t k = 0; k < sizeof t1s / sizeof t1s[0]; k++) {
    ndpar_scal_point pts[3];
    for (size_t i = 0; i < 3; i++) {
      pts[i] = (ndpar_scal_point){.threads = counts[i], .median_ms = t1s[k] / (double)counts[i]};
      pts[i].min_ms = pts[i].max_ms = pts[i].median_ms;
    }
    double f = -1, smax = -1, res = -1;
    cr_assert_eq(ndpar_scal_amdahl(pts, 3, &f, &smax, &res), GSL_SUCCESS, "T1 = %g", t1s[k]);
    /* Times exactly T1/p: f = 1 (the subnormal's few significant bits leave a little error). */
    cr_assert(fabs(f - 1) < 1e-3, "T1 = %g: f = %.17g", t1s[k], f);
    cr_assert(res < 1e-3, "T1 = %g: residual %g", t1s[k], res);
  }
}

/* Issue 28 item 9: a label with a comma, a quote or a line break is one quoted CSV field. */
Test(writers, csv_rows_quote_a_label_that_needs_it) {
  ndpar_scal_point p = {.threads = 2, .median_ms = 1, .min_ms = 1, .max_ms = 1};
  const char *labels[] = {"plain", "a,b", "say \"hi\"", "two\nlines"};
  const char *want[] = {"plain,2,", "\"a,b\",2,", "\"say \"\"hi\"\"\",2,", "\"two\nlines\",2,"};
  for (size_t k = 0; k < 4; k++) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_eq(ndpar_scal_write_csv_rows(f, labels[k], &p, 1), GSL_SUCCESS);
    fclose(f);
    cr_assert(strncmp(buf, want[k], strlen(want[k])) == 0, "label '%s' written as: %s", labels[k], buf);
    free(buf);
  }
}

/* ---- the statistics of issue 27 ---- */

/* The 95% median interval covers the true median in 93-97% of 2,000 samples drawn from a
 * known distribution (lognormal, skewed as timings are, and exponential). */
Test(intervals, the_median_interval_covers_the_true_median_95_percent_of_the_time) {
  gsl_rng *r = test_rng();
  const size_t sizes[] = {11, 21, 7};
  for (size_t k = 0; k < 3; k++) {
    size_t n = sizes[k], covered_ln = 0, covered_exp = 0;
    double x[32], lo, hi;
    for (int draw = 0; draw < 2000; draw++) {
      for (size_t i = 0; i < n; i++) x[i] = gsl_ran_lognormal(r, log(20.0), 0.3);
      cr_assert_eq(ndpar_scal_median_interval(x, n, 0.95, &lo, &hi), GSL_SUCCESS);
      cr_assert(lo <= hi);
      covered_ln += lo <= 20.0 && 20.0 <= hi;
      for (size_t i = 0; i < n; i++) x[i] = gsl_ran_exponential(r, 1.0);
      cr_assert_eq(ndpar_scal_median_interval(x, n, 0.95, &lo, &hi), GSL_SUCCESS);
      covered_exp += lo <= M_LN2 && M_LN2 <= hi;
    }
    cr_log_info("median interval, n = %zu: covered %zu (lognormal), %zu (exponential) of 2000", n,
                covered_ln, covered_exp);
    cr_assert(covered_ln >= 1860 && covered_ln <= 1940, "n = %zu lognormal: %zu of 2000", n, covered_ln);
    cr_assert(covered_exp >= 1860 && covered_exp <= 1940, "n = %zu exponential: %zu of 2000", n, covered_exp);
  }
  gsl_rng_free(r);
}

Test(intervals, the_median_interval_of_few_values_is_the_range_and_leaves_x_alone) {
  double x[5] = {5, 1, 4, 2, 3}, lo, hi;
  cr_assert_eq(ndpar_scal_median_interval(x, 5, 0.95, &lo, &hi), GSL_SUCCESS);
  cr_assert(lo == 1 && hi == 5, "[%g, %g]", lo, hi);
  cr_assert(x[0] == 5 && x[1] == 1, "x is not sorted in place");
  /* 11 values: strictly inside the range (between the 2nd-3rd and 9th-10th values). */
  double y[11] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
  cr_assert_eq(ndpar_scal_median_interval(y, 11, 0.95, &lo, &hi), GSL_SUCCESS);
  cr_assert(lo >= 2 && lo <= 3 && hi >= 9 && hi <= 10, "[%g, %g]", lo, hi);
  cr_assert(fabs((lo + hi) / 2 - 6) < 1e-12, "symmetric around the median");
}

/* The rate at which the change test calls two samples of one distribution different is at
 * most its level: exactly (the size of the exact test, computed), and as observed over 2,000
 * pairs (within 2.33 standard errors: a 1% chance of failing a correct test). It finds a
 * real 20% change. */
/* A fixed seed: a check of a rate against its sampling error fails by chance now and then
 * (1% here) with fresh draws, which would make the suite flaky; these draws pass, and any
 * seed passes unless the test's size really exceeds its level. */
static gsl_rng *fixed_rng(unsigned long seed) {
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(r, seed);
  return r;
}

Test(change_test, false_positives_at_most_the_level_and_a_real_change_found) {
  gsl_rng *r = fixed_rng(20261207);
  const size_t sizes[] = {11, 60}; /* exact; normal approximation (60 x 60 > 2500) */
  const double levels[] = {0.05, 0.01};
  for (size_t k = 0; k < 2; k++) {
    size_t n = sizes[k], flagged[2] = {0, 0}, found = 0;
    double a[64], b[64], p;
    for (int draw = 0; draw < 2000; draw++) {
      for (size_t i = 0; i < n; i++) a[i] = gsl_ran_lognormal(r, log(20.0), 0.1);
      for (size_t i = 0; i < n; i++) b[i] = gsl_ran_lognormal(r, log(20.0), 0.1);
      cr_assert_eq(ndpar_scal_mann_whitney(a, n, b, n, &p), GSL_SUCCESS);
      cr_assert(p >= 0 && p <= 1);
      for (int l = 0; l < 2; l++) flagged[l] += p < levels[l];
      for (size_t i = 0; i < n; i++) b[i] *= 1.2;
      cr_assert_eq(ndpar_scal_mann_whitney(a, n, b, n, &p), GSL_SUCCESS);
      found += p < 0.05;
    }
    for (int l = 0; l < 2; l++) {
      double rate = flagged[l] / 2000.0, se = sqrt(levels[l] * (1 - levels[l]) / 2000);
      cr_log_info("change test, n = %zu, level %g: %zu of 2000 flagged; 20%% change found in %zu", n,
                  levels[l], flagged[l], found);
      cr_assert(rate <= levels[l] + 2.33 * se, "n = %zu level %g: %zu of 2000 flagged", n,
                levels[l], flagged[l]);
    }
    cr_assert(found > 1800, "n = %zu: a 20%% change found in only %zu of 2000", n, found);
  }
  gsl_rng_free(r);
}

/* The exact p-values against U's distribution counted by hand: for 3 + 3 values, the 20
 * orderings give U = 0..9 with counts 1 1 2 3 3 3 3 2 1 1, so P(|U - 4.5| >= 4.5) = 2/20,
 * >= 3.5: 4/20, >= 2.5: 8/20; for 11 + 11, U = 0 has p = 2 / C(22, 11). Ties count a half. */
Test(change_test, exact_p_values_match_the_counted_distribution) {
  double b[3] = {10, 20, 30}, p;
  const double a_for_u[3][3] = {{1, 2, 3}, {1, 2, 15}, {1, 2, 25}}; /* U = 0, 1, 2 */
  const double want[3] = {0.1, 0.2, 0.4};
  for (int u = 0; u < 3; u++) {
    cr_assert_eq(ndpar_scal_mann_whitney(a_for_u[u], 3, b, 3, &p), GSL_SUCCESS);
    cr_assert(fabs(p - want[u]) < 1e-12, "U = %d: p = %.15g, want %g", u, p, want[u]);
    cr_assert_eq(ndpar_scal_mann_whitney(b, 3, a_for_u[u], 3, &p), GSL_SUCCESS);
    cr_assert(fabs(p - want[u]) < 1e-12, "swapped, U = %d: p = %.15g", u, p);
  }
  double lo11[11], hi11[11];
  for (int i = 0; i < 11; i++) {
    lo11[i] = i;
    hi11[i] = 100 + i;
  }
  cr_assert_eq(ndpar_scal_mann_whitney(lo11, 11, hi11, 11, &p), GSL_SUCCESS);
  cr_assert(fabs(p - 2.0 / 705432.0) < 1e-15, "p = %g", p);
  cr_assert_eq(ndpar_scal_mann_whitney(lo11, 11, lo11, 11, &p), GSL_SUCCESS);
  cr_assert(p == 1, "identical samples (all ties): p = %g", p);
}

/* Amdahl's interval on synthetic runs: T(p) = 100 ((1 - f) + f / p) x lognormal noise, 11 runs
 * per point at 1, 2, 4, 8 threads: the 95% interval holds the fit and covers the true f in
 * most of 200 trials; exact runs give a zero-width interval at f. */
Test(amdahl, the_interval_of_the_parallel_fraction_covers_the_truth) {
  gsl_rng *r = test_rng();
  const size_t reps = 11, np = 4;
  double samples[4 * 11];
  size_t covered = 0;
  const double f = 0.9;
  gsl_rng_free(r);
  r = fixed_rng(27); /* as above: a coverage rate, checked once, not a fresh flake */
  for (int trial = 0; trial < 200; trial++) {
    ndpar_scal_point pts[4];
    for (size_t i = 0; i < np; i++) {
      double t = 100 * ((1 - f) + f / (double)counts[i]);
      for (size_t k = 0; k < reps; k++) samples[i * reps + k] = t * gsl_ran_lognormal(r, 0, 0.03);
      double sorted[11];
      memcpy(sorted, samples + i * reps, sizeof sorted);
      gsl_sort(sorted, 1, reps);
      pts[i] = (ndpar_scal_point){.threads = counts[i], .median_ms = sorted[5]};
    }
    double fit, lo, hi;
    cr_assert_eq(ndpar_scal_amdahl(pts, np, &fit, NULL, NULL), GSL_SUCCESS);
    cr_assert_eq(ndpar_scal_amdahl_interval(pts, np, samples, reps, 0.95, &lo, &hi), GSL_SUCCESS);
    cr_assert(lo <= fit + 1e-12 && fit <= hi + 1e-12, "fit %g outside [%g, %g]", fit, lo, hi);
    cr_assert(hi - lo < 0.1, "[%g, %g] too wide for 3%% noise", lo, hi);
    covered += lo <= f && f <= hi;
  }
  cr_log_info("Amdahl interval: covered the true f in %zu of 200 trials", covered);
  cr_assert(covered >= 170, "covered the true f in %zu of 200 trials", covered);
  ndpar_scal_point exact[4];
  for (size_t i = 0; i < np; i++) {
    double t = 100 * ((1 - f) + f / (double)counts[i]);
    for (size_t k = 0; k < reps; k++) samples[i * reps + k] = t;
    exact[i] = (ndpar_scal_point){.threads = counts[i], .median_ms = t};
  }
  double lo, hi;
  cr_assert_eq(ndpar_scal_amdahl_interval(exact, np, samples, reps, 0.95, &lo, &hi), GSL_SUCCESS);
  cr_assert(fabs(lo - f) < 1e-9 && fabs(hi - f) < 1e-9, "[%g, %g]", lo, hi);
  gsl_rng_free(r);
}

/* ndpar_scal_run fills the intervals and hands back every run. */
static int sleepy_workload(ndpar_pool *pool, void *ctx) {
  (void)pool;
  (void)ctx;
  volatile double acc = 0;
  for (int i = 0; i < 20000; i++) acc += sqrt((double)i);
  return GSL_SUCCESS;
}

Test(scal_run, intervals_hold_the_estimates_and_samples_are_every_run) {
  const size_t t[2] = {1, 2};
  ndpar_scal_config cfg;
  ndpar_scal_config_init(&cfg);
  cr_assert(cfg.repeats == 11 && cfg.warmup == 2, "the documented defaults");
  double samples[2 * 11];
  cfg.samples = samples;
  ndpar_scal_point pts[2];
  cr_assert_eq(ndpar_scal_run(t, 2, &cfg, sleepy_workload, NULL, pts), GSL_SUCCESS);
  for (size_t i = 0; i < 2; i++) {
    cr_assert(pts[i].median_lo_ms <= pts[i].median_ms && pts[i].median_ms <= pts[i].median_hi_ms);
    cr_assert(pts[i].min_ms <= pts[i].median_lo_ms && pts[i].median_hi_ms <= pts[i].max_ms);
    cr_assert(pts[i].speedup_lo <= pts[i].speedup && pts[i].speedup <= pts[i].speedup_hi,
              "speedup %g outside [%g, %g]", pts[i].speedup, pts[i].speedup_lo, pts[i].speedup_hi);
    double sorted[11];
    memcpy(sorted, samples + i * 11, sizeof sorted);
    gsl_sort(sorted, 1, 11);
    cr_assert(sorted[5] == pts[i].median_ms && sorted[0] == pts[i].min_ms, "the runs of point %zu", i);
  }
  cr_assert(pts[0].speedup_lo == 1 && pts[0].speedup_hi == 1);
}
