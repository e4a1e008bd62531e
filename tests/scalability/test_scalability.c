/* Tests of the scalability module: the Amdahl fit, Karp-Flatt, derived metrics, the runner,
 * and the table, CSV and JSON writers (parsed back). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <gsl/gsl_randist.h>
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
  ndpar_scal_point p[3] = {{.threads = 1, .median_ms = 12.3456789012345, .min_ms = 12.0, .max_ms = 13.0, .mad_ms = 0.125},
                           {.threads = 2, .median_ms = 6.5, .min_ms = 6.25, .max_ms = 7.0, .mad_ms = 0.0625},
                           {.threads = 4, .median_ms = 4.0, .min_ms = 3.9, .max_ms = 4.4, .mad_ms = 0.05}};
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
    double ms, s, e;
    cr_assert_eq(sscanf(line, "%zu %lf %lfx %lf%%", &t, &ms, &s, &e), 4, "line: %s", line);
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
    cr_assert_eq(sscanf(line, "%zu,%lf,%lf,%lf,%lf,%lf,%lf,%63s", &t, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], kf), 8);
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
  cr_assert_not_null(strstr(text, "\"serial_fraction\": null"), "NaN is written as null");
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
