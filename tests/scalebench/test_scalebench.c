/* Tests of the scalebench tool: the built binary, run as a user would. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
  cr_assert(strstr(r.out, "Threads  Duration (ms)  Speedup  Efficiency") != NULL);
  cr_assert(strstr(r.out, "Amdahl fit") != NULL, "the fit, or why there is none");
  cr_assert(strstr(r.out, "Operation") && strstr(r.out, "Sequential (ms)") && strstr(r.out, "Parallel (ms)"));
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
  cr_assert(strstr(row, "within noise") || strstr(row, "FASTER") || strstr(row, "SLOWER"));
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
