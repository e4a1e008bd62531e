/* Tests of the scalebench tool: the built binary, run as a user would. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"

#ifndef SCALEBENCH_BIN
#error "SCALEBENCH_BIN must name the built binary"
#endif

extern char **environ;

typedef struct {
  int status;
  char out[65536], err[8192];
} result;

static void slurp(const char *path, char *buf, size_t size) {
  FILE *f = fopen(path, "r");
  size_t n = f ? fread(buf, 1, size - 1, f) : 0;
  buf[n] = '\0';
  if (f) fclose(f);
}

/* Runs scalebench with args (NULL-terminated) and env_extra (NULL or "NAME=value"). */
static result run(const char *const *args, const char *env_extra) {
  static result r;
  char out[] = "/tmp/sb_out_XXXXXX", err[] = "/tmp/sb_err_XXXXXX";
  close(mkstemp(out));
  close(mkstemp(err));
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_TRUNC, 0);
  posix_spawn_file_actions_addopen(&fa, 2, err, O_WRONLY | O_TRUNC, 0);
  char *argv[32] = {SCALEBENCH_BIN};
  size_t k = 1;
  for (; args[k - 1] && k < 31; k++) argv[k] = (char *)args[k - 1];
  argv[k] = NULL;
  size_t n = 0;
  while (environ[n]) n++;
  char **env = calloc(n + 2, sizeof *env);
  memcpy(env, environ, n * sizeof *env);
  if (env_extra) env[n] = (char *)env_extra;
  pid_t pid;
  cr_assert_eq(posix_spawn(&pid, SCALEBENCH_BIN, &fa, NULL, argv, env), 0);
  int st;
  waitpid(pid, &st, 0);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
  slurp(out, r.out, sizeof r.out);
  slurp(err, r.err, sizeof r.err);
  unlink(out);
  unlink(err);
  free(env);
  posix_spawn_file_actions_destroy(&fa);
  return r;
}

/* A quick run: one small workload, two thread counts, few repeats. */
#define QUICK "--workload", "batch", "--batches", "6", "--rows", "8", "--threads", "1,2", \
              "--repeat", "3", "--warmup", "0"

static void expect_usage_error(const char *const *args, const char *needle) {
  result r = run(args, NULL);
  cr_assert_eq(r.status, 2, "%s %s: status %d", args[0], args[1] ? args[1] : "", r.status);
  cr_assert(strncmp(r.err, "scalebench: ", 12) == 0, "message: %s", r.err);
  cr_assert(strstr(r.err, needle) != NULL, "message '%s' lacks '%s'", r.err, needle);
  cr_assert(strchr(r.err, '\n') == r.err + strlen(r.err) - 1, "one line: %s", r.err);
  cr_assert_eq(r.out[0], '\0', "nothing on stdout");
}

Test(scalebench_cli, help_and_version) {
  result r = run((const char *[]){"--help", NULL}, NULL);
  cr_assert_eq(r.status, 0);
  cr_assert(strstr(r.out, "usage: scalebench") && strstr(r.out, "--threads") && strstr(r.out, "ensemble"));
  r = run((const char *[]){"--version", NULL}, NULL);
  cr_assert_eq(r.status, 0);
  cr_assert(strstr(r.out, "scalebench (ndpar) 0.1.0") != NULL, "%s", r.out);
}

Test(scalebench_cli, bad_input_exits_2_with_one_line) {
  expect_usage_error((const char *[]){"--bogus", NULL}, "unknown option '--bogus'");
  expect_usage_error((const char *[]){"--workload", "nope", NULL}, "unknown workload 'nope'");
  expect_usage_error((const char *[]){"--threads", "1,0", NULL}, "'0' is not a whole number");
  expect_usage_error((const char *[]){"--threads", "1,two", NULL}, "'two'");
  expect_usage_error((const char *[]){"--repeat", "0", NULL}, "--repeat");
  expect_usage_error((const char *[]){"--batches", "-3", NULL}, "--batches");
  expect_usage_error((const char *[]){"--bind", "sometimes", NULL}, "neither cores nor none");
  expect_usage_error((const char *[]){"--threads", NULL}, "--threads needs a value");
  expect_usage_error((const char *[]){"--data", "/nonexistent", NULL}, "/nonexistent/seattle");
  expect_usage_error((const char *[]){"--csv", "/nonexistent/dir/out.csv", NULL}, "cannot write in /nonexistent/dir");
  expect_usage_error((const char *[]){"--baseline", "never-saved", NULL}, "no readable baseline 'never-saved'");
  expect_usage_error((const char *[]){"--save-baseline", "../escape", NULL}, "may hold only");
  expect_usage_error((const char *[]){"--plot", "out.pdf", NULL}, ".svg or .png");
}

Test(scalebench_cli, prints_the_tables) {
  result r = run((const char *[]){QUICK, NULL}, NULL);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert(strstr(r.out, "== batch: 6 batches x 8 rows") != NULL, "%s", r.out);
  cr_assert(strstr(r.out, "Threads  Duration (ms) [95% CI]") != NULL, "%s", r.out);
  cr_assert(strstr(r.out, "Speedup [95% CI]") != NULL);
  cr_assert(strstr(r.out, "Amdahl fit") != NULL, "the fit, or why there is none");
  cr_assert(strstr(r.out, "Operation") && strstr(r.out, "Sequential (ms)") &&
            strstr(r.out, "ndpar 1 thread (ms)") && strstr(r.out, "ndpar parallel (ms)"));
  result q = run((const char *[]){QUICK, "--quiet", NULL}, NULL);
  cr_assert_eq(q.status, 0);
  cr_assert_eq(q.out[0], '\0', "--quiet prints nothing");
}

/* The printed median of (threads) in the batch table, to 3 decimals. */
static double printed_median(const char *out, size_t threads) {
  const char *at = strstr(out, "Threads  Duration");
  char pattern[32];
  snprintf(pattern, sizeof pattern, "\n%7zu ", threads);
  at = strstr(at, pattern);
  cr_assert_not_null(at);
  size_t t;
  double ms;
  cr_assert_eq(sscanf(at + 1, "%zu %lf", &t, &ms), 2);
  return ms;
}

Test(scalebench_cli, csv_and_json_parse_back_to_the_printed_numbers) {
  char dir[] = "/tmp/sb_files_XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char csv[256], json[256];
  snprintf(csv, sizeof csv, "%s/points.csv", dir);
  snprintf(json, sizeof json, "%s/points.json", dir);
  result r = run((const char *[]){QUICK, "--csv", csv, "--json", json, NULL}, NULL);
  cr_assert_eq(r.status, 0, "%s", r.err);
  char text[8192];
  slurp(csv, text, sizeof text);
  cr_assert(strncmp(text, "workload,threads,median_ms,", 27) == 0, "%s", text);
  char *line = strtok(text, "\n");
  size_t rows = 0;
  while ((line = strtok(NULL, "\n")) != NULL) {
    size_t t;
    double med;
    cr_assert_eq(sscanf(line, "batch,%zu,%lf", &t, &med), 2, "%s", line);
    cr_assert(fabs(med - printed_median(r.out, t)) <= 5e-4, "CSV %g vs printed", med);
    rows++;
  }
  cr_assert_eq(rows, 2);
  slurp(json, text, sizeof text);
  const char *b = strstr(text, "\"batch\": {");
  cr_assert_not_null(b, "%s", text);
  const char *p2 = strstr(b, "{\"threads\": 2, \"median_ms\": ");
  cr_assert_not_null(p2);
  double med2;
  cr_assert_eq(sscanf(p2, "{\"threads\": 2, \"median_ms\": %lf", &med2), 1);
  cr_assert(fabs(med2 - printed_median(r.out, 2)) <= 5e-4);
  cr_assert_not_null(strstr(text, "\"amdahl\""));
  unlink(csv);
  unlink(json);
  rmdir(dir);
}

Test(scalebench_cli, baseline_save_and_compare) {
  char dir[] = "/tmp/sb_base_XXXXXX", env[64];
  cr_assert_not_null(mkdtemp(dir));
  snprintf(env, sizeof env, "SCALEBENCH_BASELINE_DIR=%s", dir);
  result r = run((const char *[]){QUICK, "--save-baseline", "first", NULL}, env);
  cr_assert_eq(r.status, 0, "%s", r.err);
  char path[128];
  snprintf(path, sizeof path, "%s/first.csv", dir);
  cr_assert_eq(access(path, R_OK), 0, "the baseline file exists");
  r = run((const char *[]){QUICK, "--baseline", "first", NULL}, env);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert_not_null(strstr(r.out, "Change against baseline 'first'"));
  const char *row = strstr(r.out, "\nbatch ");
  cr_assert_not_null(row, "a row per point: %s", r.out);
  cr_assert(strstr(row, "no change") || strstr(row, "FASTER") || strstr(row, "SLOWER"));
  cr_assert_not_null(strstr(r.out, "\nreference "), "the machine's reference kernel: %s", r.out);
  cr_assert_not_null(strstr(r.out, " points flagged."));
  /* The file holds every run: 3 per point (QUICK), and the reference kernel's runs. */
  char text[8192];
  slurp(path, text, sizeof text);
  cr_assert(strncmp(text, "workload,threads,run,ms\n", 24) == 0, "%s", text);
  size_t batch = 0, reference = 0;
  for (const char *c = strchr(text, '\n'); c && c[1]; c = strchr(c + 1, '\n')) {
    batch += strncmp(c + 1, "batch,", 6) == 0;
    reference += strncmp(c + 1, "reference,", 10) == 0;
  }
  cr_assert(batch == 2 * 3 && reference >= 3, "%s", text);
  unlink(path);
  rmdir(dir);
}

Test(scalebench_cli, plot_with_gnuplot_or_a_clear_message) {
  char path[] = "/tmp/sb_plot_XXXXXX.svg";
  int fd = mkstemps(path, 4);
  close(fd);
  unlink(path);
  result r = run((const char *[]){QUICK, "--plot", path, NULL}, NULL);
  if (system("command -v gnuplot >/dev/null 2>&1") == 0) {
    cr_assert_eq(r.status, 0, "%s", r.err);
    char svg[512];
    slurp(path, svg, sizeof svg);
    cr_assert(strstr(svg, "<svg") != NULL || strstr(svg, "<?xml") != NULL, "an SVG: %.80s", svg);
    unlink(path);
  } else {
    cr_assert_eq(r.status, 2);
    cr_assert(strstr(r.err, "needs gnuplot") != NULL, "%s", r.err);
    cr_assert_neq(access(path, F_OK), 0, "nothing written");
  }
}

/* Copies src to dst (mode 0755 for the binary). */
static void copy_file(const char *src, const char *dst, mode_t mode) {
  FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
  cr_assert(in && out, "copy %s -> %s", src, dst);
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, in)) > 0) fwrite(buf, 1, n, out);
  fclose(in);
  fclose(out);
  chmod(dst, mode);
}

/* An installed scalebench (PREFIX/bin/scalebench) reads PREFIX/share/ndpar/data without
 * being told, whatever the build tree holds. */
Test(scalebench_cli, an_installed_scalebench_finds_the_installed_data) {
  char root[] = "/tmp/sb_prefix_XXXXXX", path[256], bin[256], data[256];
  cr_assert_not_null(mkdtemp(root));
  const char *dirs[] = {"bin", "share", "share/ndpar", "share/ndpar/data"};
  for (size_t i = 0; i < 4; i++) {
    snprintf(path, sizeof path, "%s/%s", root, dirs[i]);
    cr_assert_eq(mkdir(path, 0755), 0);
  }
  snprintf(bin, sizeof bin, "%s/bin/scalebench", root);
  copy_file(SCALEBENCH_BIN, bin, 0755);
  snprintf(data, sizeof data, "%s/share/ndpar/data/seattle-weather-hourly-normals.csv", root);
  copy_file(SCALEBENCH_DATA "/seattle-weather-hourly-normals.csv", data, 0644);
  char out[] = "/tmp/sb_iout_XXXXXX";
  close(mkstemp(out));
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "env -u NDPAR_DATA_DIR %s --workload batch --batches 4 --rows 8 "
           "--threads 1 --repeat 2 --warmup 0 > %s 2>&1", bin, out);
  cr_assert_eq(system(cmd), 0);
  static char text[65536];
  slurp(out, text, sizeof text);
  char want[300];
  snprintf(want, sizeof want, "data: %s/bin/../share/ndpar/data\n", root);
  cr_assert_not_null(strstr(text, want), "want '%s' in: %s", want, text);
  unlink(out);
  unlink(data);
  unlink(bin);
  for (int i = 3; i >= 0; i--) {
    snprintf(path, sizeof path, "%s/%s", root, dirs[i]);
    rmdir(path);
  }
  rmdir(root);
}

Test(scalebench_cli, oversubscribed_points_are_listed_not_fitted_and_never_infx) {
  char threads[32];
  snprintf(threads, sizeof threads, "1,%zu", 2 * ndpar_physical_cores());
  result r = run((const char *[]){"--workload", "batch", "--batches", "6", "--rows", "8",
                                  "--threads", threads, "--repeat", "3", "--warmup", "0", NULL},
                 NULL);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert_null(strstr(r.out, "infx"), "%s", r.out);
  char want[96];
  snprintf(want, sizeof want, "Not fitted (more threads than physical cores): %zu threads",
           2 * ndpar_physical_cores());
  cr_assert_not_null(strstr(r.out, want), "%s", r.out);
  if (ndpar_physical_cores() == 1) /* 1 thread alone within the cores: nothing to fit */
    cr_assert_not_null(strstr(r.out, "Amdahl fit: needs two thread counts"));
}

/* Piped output is line-buffered: killed mid-run, the lines printed so far have reached the
 * pipe (a fully buffered stdout would lose them). */
Test(scalebench_cli, piped_output_is_not_held_back) {
  char out[] = "/tmp/sb_pipe_XXXXXX";
  close(mkstemp(out));
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "timeout -s KILL 3 %s --workload batch --threads 1 --repeat 100000 "
           "--warmup 0 | cat > %s", SCALEBENCH_BIN, out);
  cr_assert_neq(system(cmd), -1);
  static char text[65536];
  slurp(out, text, sizeof text);
  cr_assert(strncmp(text, "scalebench ", 11) == 0 && strstr(text, "\ndata: ") != NULL,
            "got: '%s'", text);
  unlink(out);
}

/* ---- bad baselines and outputs, found before the run ---- */

static void write_file(const char *dir, const char *name, const void *data, size_t len) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s.csv", dir, name);
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  fwrite(data, 1, len, f);
  fclose(f);
}

#define SB_HEADER "workload,threads,run,ms\n"
#define OLD_HEADER "workload,threads,median_ms,min_ms,max_ms,mad_ms,speedup,efficiency,serial_fraction\n"

Test(scalebench_cli, a_bad_baseline_is_one_clear_line_and_exit_2) {
  char dir[] = "/tmp/sb_bad_XXXXXX", env[64], path[256];
  cr_assert_not_null(mkdtemp(dir));
  snprintf(env, sizeof env, "SCALEBENCH_BASELINE_DIR=%s", dir);
  snprintf(path, sizeof path, "%s/zero.csv", dir);
  cr_assert_eq(symlink("/dev/zero", path), 0);
  snprintf(path, sizeof path, "%s/urandom.csv", dir);
  cr_assert_eq(symlink("/dev/urandom", path), 0);
  snprintf(path, sizeof path, "%s/folder.csv", dir);
  cr_assert_eq(mkdir(path, 0755), 0);
  const char *nan_line = SB_HEADER "batch,1,0,nan\n";
  const char *neg_line = SB_HEADER "batch,1,0,-3\n";
  const char *bad_run = SB_HEADER "batch,1,x,1.5\n";
  const char *zero_threads = SB_HEADER "batch,0,0,1.5\n";
  const char *short_line = SB_HEADER "batch,1\n";
  const char *bad_header = "threads,median\n1,2\n";
  const char *old = OLD_HEADER "batch,1,1.5,1,2,0.1,1,1,nan\n";
  unsigned char binary[256];
  gsl_rng *r = test_rng();
  for (size_t i = 0; i < sizeof binary; i++) binary[i] = (unsigned char)gsl_rng_uniform_int(r, 256);
  binary[7] = 0;
  gsl_rng_free(r);
  write_file(dir, "nan", nan_line, strlen(nan_line));
  write_file(dir, "negative", neg_line, strlen(neg_line));
  write_file(dir, "badrun", bad_run, strlen(bad_run));
  write_file(dir, "zerothreads", zero_threads, strlen(zero_threads));
  write_file(dir, "short", short_line, strlen(short_line));
  write_file(dir, "badheader", bad_header, strlen(bad_header));
  write_file(dir, "old", old, strlen(old));
  write_file(dir, "binary", binary, sizeof binary);
  write_file(dir, "empty", "", 0);
  write_file(dir, "header", SB_HEADER, strlen(SB_HEADER));
  struct {
    const char *name, *needle;
  } cases[] = {{"zero", "not a regular file"},      {"urandom", "not a regular file"},
               {"folder", "not a regular file"},    {"nan", "time is not a positive number"},
               {"negative", "time is not a positive number"}, {"badrun", "run number"},
               {"zerothreads", "thread count"},     {"short", "too few fields"},
               {"badheader", "header"},             {"binary", "not a text file"},
               {"old", "older scalebench that kept no runs"},
               {"empty", "is empty"},               {"header", "no runs"}};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    /* QUICK first: a bad baseline must stop the tool before it measures anything */
    result res = run((const char *[]){QUICK, "--baseline", cases[i].name, NULL}, env);
    cr_assert_eq(res.status, 2, "%s: status %d, %s", cases[i].name, res.status, res.err);
    cr_assert(strncmp(res.err, "scalebench: --baseline ", 23) == 0, "%s: %s", cases[i].name, res.err);
    cr_assert(strstr(res.err, cases[i].needle), "%s: '%s' lacks '%s'", cases[i].name, res.err, cases[i].needle);
    cr_assert(strchr(res.err, '\n') == res.err + strlen(res.err) - 1, "one line: %s", res.err);
    cr_assert_eq(res.out[0], '\0', "%s: nothing measured or printed", cases[i].name);
  }
  const char *names[] = {"zero", "urandom", "nan", "negative", "badrun", "zerothreads", "short",
                         "badheader", "old", "binary", "empty", "header"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
    snprintf(path, sizeof path, "%s/%s.csv", dir, names[i]);
    unlink(path);
  }
  snprintf(path, sizeof path, "%s/folder.csv", dir);
  rmdir(path);
  rmdir(dir);
}

Test(scalebench_cli, unwritable_outputs_are_reported_before_the_run) {
  /* root ignores permission bits, so only failures root cannot bypass are tested: a device
   * that must never be replaced, a folder, a read-only file system */
  expect_usage_error((const char *[]){QUICK, "--csv", "/dev/full", NULL}, "--csv /dev/full: it exists and is not a regular file");
  expect_usage_error((const char *[]){QUICK, "--json", "/dev/null", NULL}, "not a regular file");
  expect_usage_error((const char *[]){QUICK, "--csv", "/tmp", NULL}, "not a regular file");
  expect_usage_error((const char *[]){QUICK, "--csv", "/proc/scalebench.csv", NULL}, "cannot write in /proc");
  struct stat st;
  cr_assert(stat("/dev/full", &st) == 0 && S_ISCHR(st.st_mode), "/dev/full is still the device");
}

Test(scalebench_cli, too_many_threads_for_memory_is_said_so) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  cr_skip_test("needs an address-space limit, which the sanitizers' shadow memory cannot run under");
#else
  /* 1 GiB of address space: thread stacks run out long before 4096 */
  struct rlimit old, small;
  getrlimit(RLIMIT_AS, &old);
  small = old;
  small.rlim_cur = (rlim_t)1 << 30;
  cr_assert_eq(setrlimit(RLIMIT_AS, &small), 0);
  result r = run((const char *[]){"--workload", "batch", "--batches", "6", "--rows", "8", "--threads",
                                  "1,4096", "--repeat", "1", "--warmup", "0", NULL}, NULL);
  setrlimit(RLIMIT_AS, &old);
  cr_assert_eq(r.status, 1, "%s", r.err);
  cr_assert(strstr(r.err, "cannot start a pool of 4096 threads"), "%s", r.err);
  cr_assert(strstr(r.err, "too many threads for this machine's memory"), "%s", r.err);
  cr_assert_null(strstr(r.err, "malloc failed"), "%s", r.err);
#endif
}

/* A baseline that lacks a workload asked for is a usage error before any run. */
Test(scalebench_cli, a_baseline_without_the_workload_exits_2) {
  char dir[] = "/tmp/sb_lack_XXXXXX", env[64], path[128];
  cr_assert_not_null(mkdtemp(dir));
  snprintf(env, sizeof env, "SCALEBENCH_BASELINE_DIR=%s", dir);
  result r = run((const char *[]){QUICK, "--save-baseline", "only-batch", NULL}, env);
  cr_assert_eq(r.status, 0, "%s", r.err);
  r = run((const char *[]){"--workload", "batch,mc", "--threads", "1", "--repeat", "1",
                           "--baseline", "only-batch", NULL}, env);
  cr_assert_eq(r.status, 2, "%s", r.err);
  cr_assert(strstr(r.err, "no point of the workload 'mc'") != NULL, "%s", r.err);
  cr_assert_eq(r.out[0], '\0', "nothing measured");
  snprintf(path, sizeof path, "%s/only-batch.csv", dir);
  unlink(path);
  rmdir(dir);
}

/* The header says "pinned" only when the workers are. */
Test(scalebench_cli, the_header_says_pinned_only_when_the_workers_are) {
  result r = run((const char *[]){QUICK, "--bind", "none", NULL}, NULL);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert_not_null(strstr(r.out, "workers unpinned;"), "%s", r.out);
  char threads[32];
  snprintf(threads, sizeof threads, "1,%zu", 2 * ndpar_physical_cores());
  r = run((const char *[]){"--workload", "batch", "--batches", "6", "--rows", "8", "--threads",
                           threads, "--repeat", "1", "--warmup", "0", NULL}, NULL);
  cr_assert_eq(r.status, 0, "%s", r.err);
  if (ndpar_physical_cores() > 1) {
    char want[96];
    snprintf(want, sizeof want, "workers pinned up to %zu threads, unpinned above;",
             ndpar_physical_cores());
    /* A container may refuse the binding: then "unpinned", never "pinned" alone. */
    cr_assert(strstr(r.out, want) || strstr(r.out, "workers unpinned;"), "%s", r.out);
  }
  cr_assert_null(strstr(r.out, "workers pinned;"), "%s", r.out);
}

/* The streaming forecast runs when named, at a size from --batches (MB); each variant
 * (sequential, ndpar's pipeline) fails the run unless every row comes out. (Not --openmp:
 * libgomp is not built for ThreadSanitizer, whose run of this test would see false races.) */
Test(scalebench_cli, the_pipeline_workload_streams_every_row) {
  result r = run((const char *[]){"--workload", "pipeline", "--batches", "2", "--threads", "1,2",
                                  "--repeat", "1", "--warmup", "0", NULL},
                 NULL);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert(strstr(r.out, "== pipeline: 2 MB CSV") != NULL, "%s", r.out);
  cr_assert(strstr(r.out, "Sequential (ms)") != NULL, "%s", r.out);
}

/* ---- the output rules of issue 27 ---- */

/* Two points within the cores fit a two-parameter law exactly: no maximum speedup is ever
 * predicted from them, the serial fraction is shown with its interval instead. */
Test(scalebench_rules, two_points_never_predict_a_maximum_speedup) {
  result r = run((const char *[]){QUICK, NULL}, NULL);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert_null(strstr(r.out, "predicted maximum speedup"), "%s", r.out);
  if (ndpar_physical_cores() >= 2) {
    cr_assert_not_null(strstr(r.out, "Serial fraction (Karp-Flatt) at 2 threads: "), "%s", r.out);
    cr_assert_not_null(strstr(r.out, "No Amdahl fit: 2 thread counts"), "%s", r.out);
  }
}

/* Three or more points within the cores: the parallel fraction with its interval. */
Test(scalebench_rules, three_points_within_the_cores_give_an_interval) {
  if (ndpar_physical_cores() < 3) cr_skip_test("needs 3 physical cores (this machine has fewer)");
  result r = run((const char *[]){"--workload", "batch", "--batches", "12", "--rows", "8",
                                  "--threads", "1,2,3", "--repeat", "7", "--warmup", "0", NULL}, NULL);
  cr_assert_eq(r.status, 0, "%s", r.err);
  const char *fit = strstr(r.out, "Amdahl fit (3 points up to ");
  cr_assert_not_null(fit, "%s", r.out);
  double f, lo, hi;
  const char *pf = strstr(fit, "parallel fraction ");
  cr_assert_eq(sscanf(pf, "parallel fraction %lf [%lf, %lf]", &f, &lo, &hi), 3, "%s", fit);
  cr_assert(lo <= f && f <= hi, "%s", fit);
  /* A maximum speedup only where the interval bounds it. */
  if (hi >= 1) cr_assert_null(strstr(fit, "predicted maximum speedup"), "%s", fit);
}

/* One default for make run and the command line: 11 runs after 2 warm-ups; the Makefile
 * adds none of its own. */
Test(scalebench_rules, the_defaults_are_eleven_runs_after_two_warmups) {
  result r = run((const char *[]){"--workload", "batch", "--batches", "6", "--rows", "8",
                                  "--threads", "1,2", NULL}, NULL);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert_not_null(strstr(r.out, "2 warm-up and 11 timed runs per point"), "%s", r.out);
  FILE *mk = fopen(SCALEBENCH_DATA "/../Makefile", "r");
  cr_assert_not_null(mk);
  char line[512];
  while (fgets(line, sizeof line, mk))
    if (strncmp(line, "RUN_DEFAULTS", 12) == 0)
      cr_assert(strstr(line, "--repeat") == NULL && strstr(line, "--warmup") == NULL,
                "make run has its own repeats: %s", line);
  fclose(mk);
}

/* Progress goes to stderr only on a terminal: captured (not a terminal), stderr is empty. */
Test(scalebench_rules, no_progress_off_a_terminal) {
  result r = run((const char *[]){QUICK, NULL}, NULL);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert_eq(r.err[0], '\0', "stderr: %s", r.err);
}

Test(scalebench_rules, markdown_is_a_table_to_paste) {
  char path[] = "/tmp/sb_md_XXXXXX.md";
  close(mkstemps(path, 3));
  result r = run((const char *[]){QUICK, "--markdown", path, NULL}, NULL);
  cr_assert_eq(r.status, 0, "%s", r.err);
  char text[4096];
  slurp(path, text, sizeof text);
  cr_assert(strncmp(text, "| Workload | Threads | Duration (ms) | 95% CI (ms) | Speedup | 95% CI |", 70) == 0,
            "%s", text);
  cr_assert_not_null(strstr(text, "\n| --- | ---: |"));
  cr_assert_not_null(strstr(text, "\n| batch | 1 | "));
  cr_assert_not_null(strstr(text, "\n| batch | 2 | "));
  unlink(path);
}

/* A baseline of the same binary with runs far slower (fabricated) is flagged FASTER at every
 * point, and a reference kernel that was far slower is named as the machine's change; with
 * too few runs nothing can be significant, and the output says so. */
static void fabricated_baseline(const char *dir, const char *name, double ms, double ref_ms,
                                size_t runs) {
  char text[4096];
  size_t len = (size_t)snprintf(text, sizeof text, "workload,threads,run,ms\n");
  for (size_t k = 0; k < runs; k++)
    len += (size_t)snprintf(text + len, sizeof text - len, "reference,%zu,%zu,%g\n",
                            ndpar_physical_cores(), k, ref_ms * (1 + 0.01 * (double)k));
  for (size_t t = 1; t <= 2; t++)
    for (size_t k = 0; k < runs; k++)
      len += (size_t)snprintf(text + len, sizeof text - len, "batch,%zu,%zu,%g\n", t, k, ms * (1 + 0.01 * (double)k));
  write_file(dir, name, text, len);
}

Test(scalebench_rules, changes_are_flagged_only_when_significant_and_beyond_the_noise) {
  char dir[] = "/tmp/sb_change_XXXXXX", env[64], path[256];
  cr_assert_not_null(mkdtemp(dir));
  snprintf(env, sizeof env, "SCALEBENCH_BASELINE_DIR=%s", dir);
  fabricated_baseline(dir, "slow", 1e6, 1e6, 8);
  const char *args8[] = {"--workload", "batch", "--batches", "6", "--rows", "8", "--threads", "1,2",
                         "--repeat", "8", "--warmup", "0", "--baseline", "slow", NULL};
  result r = run(args8, env);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert_not_null(strstr(r.out, "2 of 2 points flagged."), "%s", r.out);
  cr_assert_not_null(strstr(r.out, "FASTER"));
  cr_assert_not_null(strstr(r.out, "the machine itself changed speed"), "%s", r.out);
  /* The same runs with a noise threshold above the change: significant, but no change. */
  const char *wide[] = {"--workload", "batch", "--batches", "6", "--rows", "8", "--threads", "1,2",
                        "--repeat", "8", "--warmup", "0", "--baseline", "slow",
                        "--noise-threshold", "0.9999999999", NULL};
  r = run(wide, env);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert_not_null(strstr(r.out, "0 of 2 points flagged."), "%s", r.out);
  cr_assert_not_null(strstr(r.out, "no change (within the"), "%s", r.out);
  /* Three runs: the smallest p-value is 0.1, so nothing can be flagged, and that is said. */
  fabricated_baseline(dir, "few", 1e6, 1e6, 3);
  const char *args3[] = {QUICK, "--baseline", "few", NULL};
  r = run(args3, env);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert_not_null(strstr(r.out, "0 of 2 points flagged."), "%s", r.out);
  cr_assert_not_null(strstr(r.out, "no change (p >= 0.01)"), "%s", r.out);
  cr_assert_not_null(strstr(r.out, "smallest possible p-value is 0.1"), "%s", r.out);
  const char *names[] = {"slow", "few"};
  for (size_t i = 0; i < 2; i++) {
    snprintf(path, sizeof path, "%s/%s.csv", dir, names[i]);
    unlink(path);
  }
  rmdir(dir);
}

/* The plot: one panel per workload and the efficiency panel. */
Test(scalebench_rules, the_plot_has_a_panel_per_workload_and_efficiency) {
  if (system("command -v gnuplot >/dev/null 2>&1") != 0) cr_skip_test("no gnuplot");
  char path[] = "/tmp/sb_panels_XXXXXX.svg", png[] = "/tmp/sb_panels_XXXXXX.png";
  close(mkstemps(path, 4));
  close(mkstemps(png, 4));
  result r = run((const char *[]){"--workload", "batch,mc", "--batches", "6", "--rows", "8",
                                  "--threads", "1,2", "--repeat", "3", "--warmup", "0",
                                  "--plot", path, "--plot", png, NULL}, NULL);
  cr_assert_eq(r.status, 0, "%s", r.err);
  char magic[16];
  slurp(png, magic, sizeof magic);
  cr_assert(memcmp(magic, "\x89PNG", 4) == 0, "the same plot as PNG too");
  unlink(png);
  static char svg[1 << 20];
  slurp(path, svg, sizeof svg);
  cr_assert_not_null(strstr(svg, ">batch<"), "a batch panel");
  cr_assert_not_null(strstr(svg, ">mc<"), "an mc panel");
  cr_assert_not_null(strstr(svg, "efficiency (speedup / threads)"), "the efficiency panel");
  cr_assert_not_null(strstr(svg, "measured, 95% CI"));
  cr_assert_null(strstr(svg, "Amdahl, f ="), "no curve from two points");
  unlink(path);
}

/* On a terminal (a pseudo-terminal from script(1)), the progress line goes to stderr while
 * the run goes; --quiet silences it. */
Test(scalebench_rules, progress_on_a_terminal_unless_quiet) {
  if (system("command -v script >/dev/null 2>&1") != 0) cr_skip_test("no script(1) for a terminal");
  char out[] = "/tmp/sb_tty_XXXXXX";
  close(mkstemp(out));
  char cmd[1024];
  const char *quick = "--workload batch --batches 6 --rows 8 --threads 1,2 --repeat 3 --warmup 0";
  snprintf(cmd, sizeof cmd, "script -qec '%s %s >/dev/null' /dev/null > %s 2>&1", SCALEBENCH_BIN,
           quick, out);
  cr_assert_eq(system(cmd), 0);
  char text[4096];
  slurp(out, text, sizeof text);
  cr_assert_not_null(strstr(text, "workload 1 of 1, batch: "), "progress: %s", text);
  cr_assert_not_null(strstr(text, "timed runs"), "%s", text);
  snprintf(cmd, sizeof cmd, "script -qec '%s %s --quiet' /dev/null > %s 2>&1", SCALEBENCH_BIN,
           quick, out);
  cr_assert_eq(system(cmd), 0);
  slurp(out, text, sizeof text);
  cr_assert_null(strstr(text, "timed runs"), "--quiet: %s", text);
  unlink(out);
}
