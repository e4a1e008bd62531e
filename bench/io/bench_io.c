/* bench_io: parsing a large numeric CSV file into a matrix. ndpar_csv_read on 1 and on T
 * threads, a naive strtod-per-field loader, and pandas.read_csv (its C engine, Debian's
 * python3-pandas; skipped with a note when absent), interleaved, each run in a fresh child
 * process so that its peak RSS is its own. Then the streaming reader: peak RSS on a 200 MB
 * and a 1 GB file, and how well read-ahead hides the parse behind a compute step.
 *
 * The file (Seattle's hourly pressure, temperature and wind, repeated with noise, six
 * columns) is generated under $TMPDIR (else /tmp) and deleted at the end.
 * Options: bench_parse's, plus --mb N (file size, default 200; --quick: 20) and
 * --stream-gb N (the large streaming file, default 1; 0: skip). */
#include <errno.h>
#include <fcntl.h>
#include <gsl/gsl_randist.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ref/timing.h"
#include "ndpar/ndpar_io.h"
#include "ref/wl.h"

#define PYTHON "/usr/bin/python3"

static char file_path[4096], big_path[4096 + 8];

static void remove_files(void) {
  if (file_path[0]) unlink(file_path);
  if (big_path[0]) unlink(big_path);
}

static void on_signal(int sig) {
  remove_files();
  signal(sig, SIG_DFL);
  raise(sig);
}

static void die(const char *what) {
  fprintf(stderr, "bench_io: %s\n", what);
  remove_files();
  exit(1);
}

/* ---- the file ------------------------------------------------------------------------ */

/* Writes about mb megabytes: the header, then rows of the three Seattle series with noise
 * and three more columns printed with more digits. Returns the bytes written. */
static size_t generate(const char *path, size_t mb, size_t *rows_out) {
  char data[4096];
  snprintf(data, sizeof data, "%s/seattle-weather-hourly-normals.csv", wl_data_dir(NULL));
  ndpar_csv_options o;
  ndpar_csv_options_init(&o);
  o.columns = (const char *const[]){"pressure", "temperature", "wind"};
  o.ncolumns = 3;
  gsl_matrix *s = NULL;
  ndpar_csv_error err;
  if (ndpar_csv_read(NULL, data, &o, &s, NULL, &err)) die(err.message);
  FILE *f = fopen(path, "w");
  if (f == NULL) die("cannot create the data file");
  setvbuf(f, NULL, _IOFBF, 1 << 20);
  gsl_rng *r = gsl_rng_alloc(gsl_rng_taus2);
  size_t bytes = (size_t)fprintf(f, "pressure,temperature,wind,pressure_hpa,temperature_c,wind_ms\n");
  size_t rows = 0;
  while (bytes < mb << 20) {
    size_t k = rows % s->size1;
    double p = gsl_matrix_get(s, k, 0), t = gsl_matrix_get(s, k, 1), w = gsl_matrix_get(s, k, 2);
    int n = fprintf(f, "%.1f,%.1f,%.1f,%.3f,%.4f,%.2f\n", p + gsl_ran_gaussian(r, 0.5),
                    t + gsl_ran_gaussian(r, 0.5), w + gsl_rng_uniform(r), p + gsl_ran_gaussian(r, 2),
                    t + gsl_ran_gaussian(r, 2), w * gsl_rng_uniform(r) * 2);
    if (n < 0) die("cannot write the data file");
    bytes += (size_t)n;
    rows++;
  }
  if (fclose(f) != 0) die("cannot write the data file");
  gsl_rng_free(r);
  gsl_matrix_free(s);
  *rows_out = rows;
  return bytes;
}

/* A copy of path's data rows repeated `times` times under one header. */
static size_t repeat_file(const char *path, const char *out, size_t times) {
  int in = open(path, O_RDONLY);
  FILE *f = fopen(out, "w");
  if (in < 0 || f == NULL) die("cannot create the large file");
  struct stat st;
  fstat(in, &st);
  char *text = malloc((size_t)st.st_size);
  if (text == NULL || read(in, text, (size_t)st.st_size) != st.st_size) die("cannot read the data file");
  close(in);
  char *body = strchr(text, '\n') + 1;
  size_t head = (size_t)(body - text), rest = (size_t)st.st_size - head, bytes = head;
  if (fwrite(text, 1, head, f) != head) die("cannot write the large file");
  for (size_t i = 0; i < times; i++, bytes += rest)
    if (fwrite(body, 1, rest, f) != rest) die("cannot write the large file");
  if (fclose(f) != 0) die("cannot write the large file");
  free(text);
  return bytes;
}

/* ---- the loaders ----------------------------------------------------------------------- */

/* The naive loader: a line at a time, strtod on each comma-separated field, values in a
 * growing array. Returns the number of values, or 0 on a malformed field. */
static size_t naive_strtod(const char *path) {
  FILE *f = fopen(path, "r");
  if (f == NULL) return 0;
  char *line = NULL;
  size_t cap = 0, n = 0, size = 1 << 20;
  double *v = malloc(size * sizeof *v);
  if (getline(&line, &cap, f) < 0) n = 0; /* the header */
  while (v && getline(&line, &cap, f) > 0) {
    for (char *p = line;;) {
      char *end;
      double x = strtod(p, &end);
      if (end == p) {
        n = 0;
        goto done;
      }
      if (n == size) {
        double *grown = realloc(v, (size *= 2) * sizeof *v);
        if (grown == NULL) goto done;
        v = grown;
      }
      v[n++] = x;
      if (*end != ',') break;
      p = end + 1;
    }
  }
done:
  free(v);
  free(line);
  fclose(f);
  return n;
}

enum { V_NDPAR1, V_NDPART, V_ONECOL, V_STRTOD, V_PANDAS, NVARIANTS };
static const char *const variant_name[NVARIANTS] = {"ndpar_csv_read", "ndpar_csv_read",
                                                    "ndpar_csv_read, 1 column", "strtod per field",
                                                    "pandas.read_csv (C engine)"};

/* CPU seconds of this process (all its threads). */
static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* In a child: runs variant v once on path and writes its wall and CPU seconds to fd. */
static void child_run(int v, const char *path, size_t threads, int fd) {
  double t[2] = {-1, -1};
  ndpar_pool *p = NULL;
  if (v != V_STRTOD) {
    ndpar_pool_config cfg;
    ndpar_pool_config_init(&cfg);
    cfg.threads = v == V_NDPAR1 ? 1 : threads;
    p = ndpar_pool_alloc(&cfg);
  }
  double t0 = ndpar_time_now(), c0 = cpu_now();
  int ok;
  if (v == V_STRTOD) {
    ok = naive_strtod(path) > 0;
  } else {
    gsl_matrix *x = NULL;
    ndpar_csv_options o;
    ndpar_csv_options_init(&o);
    o.indices = (const size_t[]){2}; /* V_ONECOL: the wind column alone */
    o.ncolumns = v == V_ONECOL;
    ok = p && ndpar_csv_read(p, path, &o, &x, NULL, NULL) == GSL_SUCCESS;
    gsl_matrix_free(x);
  }
  if (ok) {
    t[0] = ndpar_time_now() - t0;
    t[1] = cpu_now() - c0;
  }
  ndpar_pool_free(p);
  if (write(fd, t, sizeof t) != sizeof t) _exit(1);
  _exit(!ok);
}

/* Runs variant v in a child process: wall seconds (negative: failed), CPU seconds of the
 * parse, and peak RSS in MiB. */
static double run_variant(int v, const char *path, size_t threads, double *cpu, double *rss_mb) {
  int fd[2];
  if (pipe(fd) != 0) die("pipe");
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    close(fd[0]);
    if (v == V_PANDAS) {
      dup2(fd[1], STDOUT_FILENO);
      execl(PYTHON, PYTHON, "-c",
            "import sys, time, pandas\n"
            "t, c = time.perf_counter(), time.process_time()\n"
            "df = pandas.read_csv(sys.argv[1], engine='c')\n"
            "print(time.perf_counter() - t, time.process_time() - c)\n",
            path, (char *)NULL);
      _exit(127);
    }
    child_run(v, path, threads, fd[1]);
  }
  close(fd[1]);
  double t[2] = {-1, -1};
  char buf[128] = "";
  size_t len = 0;
  ssize_t got;
  while (len < sizeof buf - 1 && (got = read(fd[0], buf + len, sizeof buf - 1 - len)) > 0) len += (size_t)got;
  close(fd[0]);
  if (v == V_PANDAS && len > 0) {
    char *end;
    t[0] = strtod(buf, &end);
    t[1] = strtod(end, NULL);
  }
  if (v != V_PANDAS && len == sizeof t) memcpy(t, buf, sizeof t);
  int status;
  struct rusage ru;
  if (wait4(pid, &status, 0, &ru) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) t[0] = -1;
  *rss_mb = (double)ru.ru_maxrss / 1024;
  *cpu = t[1];
  return t[0];
}

static int pandas_available(void) {
  char cmd[256];
  snprintf(cmd, sizeof cmd, "%s -c 'import pandas' >/dev/null 2>&1", PYTHON);
  return system(cmd) == 0;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void parse_table(const char *path, size_t bytes, size_t rows, size_t threads, int reps) {
  int have_pandas = pandas_available();
  double t[NVARIANTS][64], cpu[NVARIANTS][64], rss[NVARIANTS][64];
  for (int r = -1; r < reps; r++) /* one untimed round first */
    for (int v = 0; v < NVARIANTS; v++) {
      if (v == V_PANDAS && !have_pandas) continue;
      bench_settle();
      double c, m, s = run_variant(v, path, threads, &c, &m);
      if (s < 0) die(v == V_PANDAS ? "pandas failed" : "a loader failed");
      if (r >= 0) {
        t[v][r] = s;
        cpu[v][r] = c;
        rss[v][r] = m;
      }
    }
  double matrix_mb = (double)rows * 6 * sizeof(double) / (1 << 20);
  printf("\nparse %.0f MB (%zu rows x 6 columns; the matrix: %.0f MiB), %d runs each, interleaved, each in\n"
         "a fresh process. CPU s: the parse's CPU time, all threads. Peak RSS: the process's largest\n"
         "(the interpreter and pandas' import included for pandas).\n",
         bytes / 1e6, rows, matrix_mb, reps);
  printf("%-27s %2s %7s %8s %7s %6s %6s %9s %8s %8s\n", "loader", "T", "min s", "median s", "max s", "MB/s",
         "CPU s", "RSS MiB", "x matrix", "vs 1T");
  double med1 = 0;
  for (int v = 0; v < NVARIANTS; v++) {
    if (v == V_PANDAS && !have_pandas) {
      printf("%-27s  -  skipped: %s cannot import pandas (make bench-deps installs python3-pandas)\n",
             variant_name[v], PYTHON);
      continue;
    }
    qsort(t[v], (size_t)reps, sizeof(double), cmp);
    qsort(cpu[v], (size_t)reps, sizeof(double), cmp);
    qsort(rss[v], (size_t)reps, sizeof(double), cmp);
    double med = t[v][reps / 2], mb = v == V_ONECOL ? matrix_mb / 6 : matrix_mb;
    if (v == V_NDPAR1) med1 = med;
    printf("%-27s %2zu %7.3f %8.3f %7.3f %6.0f %6.3f %9.0f %8.2f %8.2f\n", variant_name[v],
           v == V_NDPART || v == V_ONECOL ? threads : 1, t[v][0], med, t[v][reps - 1], bytes / 1e6 / med,
           cpu[v][reps / 2], rss[v][reps - 1], rss[v][reps - 1] / mb, med1 / med);
  }
}

/* ---- streaming ---------------------------------------------------------------------- */

#define BLOCK_ROWS 65536

/* Spins for `seconds`: a compute step that keeps one core busy. */
static void compute_for(double seconds) {
  double end = ndpar_time_now() + seconds;
  volatile double sink = 0;
  while (ndpar_time_now() < end)
    for (int i = 0; i < 1000; i++) sink += i;
}

/* Streams path in a child: compute > 0 spins that long per block. Seconds and peak RSS. */
static double stream_child(const char *path, double compute, double *rss_mb, size_t *blocks) {
  int fd[2];
  if (pipe(fd) != 0) die("pipe");
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    double out[2] = {-1, 0};
    double t0 = ndpar_time_now();
    ndpar_csv_reader *r = ndpar_csv_reader_open(path, NULL, BLOCK_ROWS, NULL);
    gsl_matrix *b;
    int status = r ? GSL_SUCCESS : GSL_EFAILED;
    while (r && (status = ndpar_csv_reader_next(r, &b)) == GSL_SUCCESS) {
      if (compute > 0) compute_for(compute);
      out[1]++;
      gsl_matrix_free(b);
    }
    ndpar_csv_reader_close(r);
    if (status == GSL_EOF) out[0] = ndpar_time_now() - t0;
    _exit(write(fd[1], out, sizeof out) != sizeof out);
  }
  close(fd[1]);
  double out[2] = {-1, 0};
  if (read(fd[0], out, sizeof out) != sizeof out) out[0] = -1;
  close(fd[0]);
  struct rusage ru;
  int status;
  wait4(pid, &status, 0, &ru);
  *rss_mb = (double)ru.ru_maxrss / 1024;
  if (blocks) *blocks = (size_t)out[1];
  if (out[0] < 0) die("the streaming reader failed");
  return out[0];
}

static void streaming_table(const char *path, size_t bytes, size_t stream_gb, int reps) {
  printf("\nstreaming (blocks of %d rows, read-ahead on a thread), each in a fresh process\n", BLOCK_ROWS);
  double rss, rss_big = 0;
  size_t blocks;
  double tp = stream_child(path, 0, &rss, &blocks);
  printf("  %4.0f MB file: %.3f s, %.0f MB/s, peak RSS %.0f MiB\n", bytes / 1e6, tp, bytes / 1e6 / tp, rss);
  if (stream_gb > 0) {
    size_t times = (stream_gb << 30) / bytes + 1;
    snprintf(big_path, sizeof big_path, "%s.big", path);
    size_t big = repeat_file(path, big_path, times);
    double tb = stream_child(big_path, 0, &rss_big, NULL);
    printf("  %4.0f MB file: %.3f s, %.0f MB/s, peak RSS %.0f MiB (%.2fx the small file's)\n", big / 1e6, tb,
           big / 1e6 / tb, rss_big, rss_big / rss);
    unlink(big_path);
    big_path[0] = '\0';
  }
  /* A compute step per block as slow as that block's parse (measured in the same round, on
   * the same loaded or quiet machine): overlapped, the total is about the slower of the two;
   * in turn, their sum. */
  double ratio_slower[64], ratio_sum[64], ts[64], tb[64];
  for (int r = 0; r < reps; r++) {
    bench_settle();
    ts[r] = stream_child(path, 0, &rss, NULL);
    double per_block = ts[r] / (double)blocks;
    bench_settle();
    double t0 = ndpar_time_now();
    for (size_t b = 0; b < blocks; b++) compute_for(per_block);
    double tc = ndpar_time_now() - t0;
    bench_settle();
    tb[r] = stream_child(path, per_block, &rss, NULL);
    ratio_slower[r] = tb[r] / (ts[r] > tc ? ts[r] : tc);
    ratio_sum[r] = tb[r] / (ts[r] + tc);
  }
  qsort(ts, (size_t)reps, sizeof(double), cmp);
  qsort(tb, (size_t)reps, sizeof(double), cmp);
  qsort(ratio_slower, (size_t)reps, sizeof(double), cmp);
  qsort(ratio_sum, (size_t)reps, sizeof(double), cmp);
  printf("  overlap, %d rounds (parse alone; a compute step per block as long as its parse; both):\n"
         "    parse alone median %.3f s; both median %.3f s; both / the slower of the two: median %.2f\n"
         "    (min %.2f, max %.2f; 1.00: the parse fully hidden); both / their sum: median %.2f\n",
         reps, ts[reps / 2], tb[reps / 2], ratio_slower[reps / 2], ratio_slower[0], ratio_slower[reps - 1],
         ratio_sum[reps / 2]);
}

/* ---- writing ------------------------------------------------------------------------------ */

enum { W_NDPAR1, W_NDPART, W_STREAM, W_PRINTF, W_PANDAS, NWRITERS };
static const char *const writer_name[NWRITERS] = {"ndpar_csv_write_opts", "ndpar_csv_write_opts",
                                                  "ndpar_csv_writer (blocks)", "fprintf %.17g per value",
                                                  "pandas.to_csv"};

/* One write of x to out by writer w: wall seconds (negative: failed). */
static double write_once(int w, const gsl_matrix *x, const char *in, const char *out, ndpar_pool *p1,
                         ndpar_pool *pt) {
  double t0 = ndpar_time_now();
  int ok = 1;
  if (w == W_NDPAR1 || w == W_NDPART) {
    ok = ndpar_csv_write_opts(w == W_NDPAR1 ? p1 : pt, out, x, NULL, NULL) == GSL_SUCCESS;
  } else if (w == W_STREAM) {
    ndpar_csv_writer *wr = ndpar_csv_writer_open(pt, out, NULL, NULL);
    ok = wr != NULL;
    for (size_t i = 0; ok && i < x->size1; i += 65536) {
      size_t n = x->size1 - i < 65536 ? x->size1 - i : 65536;
      gsl_matrix_const_view v = gsl_matrix_const_submatrix(x, i, 0, n, x->size2);
      ok = ndpar_csv_writer_write(wr, &v.matrix) == GSL_SUCCESS;
    }
    if (wr) ok = ndpar_csv_writer_close(wr) == GSL_SUCCESS && ok;
  } else if (w == W_PRINTF) {
    FILE *f = fopen(out, "w");
    ok = f != NULL;
    for (size_t i = 0; ok && i < x->size1; i++)
      for (size_t j = 0; j < x->size2; j++) fprintf(f, "%.17g%c", gsl_matrix_get(x, i, j), j + 1 < x->size2 ? ',' : '\n');
    if (f) ok = fclose(f) == 0 && ok;
  } else {
    char cmd[8192 + 512];
    snprintf(cmd, sizeof cmd,
             "%s -c 'import sys, time, pandas\ndf = pandas.read_csv(sys.argv[1], header=None, skiprows=1)\n"
             "t = time.perf_counter()\ndf.to_csv(sys.argv[2], index=False, header=False)\n"
             "print(time.perf_counter() - t)' %s %s",
             PYTHON, in, out);
    FILE *f = popen(cmd, "r");
    double t = -1;
    if (f == NULL || fscanf(f, "%lf", &t) != 1) t = -1;
    if (f) pclose(f);
    unlink(out);
    return t;
  }
  double t = ndpar_time_now() - t0;
  unlink(out);
  return ok ? t : -1;
}

static void write_table(const char *path, size_t threads, int reps) {
  gsl_matrix *x = NULL;
  if (ndpar_csv_read(NULL, path, NULL, &x, NULL, NULL) != GSL_SUCCESS) die("cannot read the data file back");
  char out[4096 + 8];
  snprintf(out, sizeof out, "%s.out", path);
  ndpar_pool_config cfg;
  ndpar_pool_config_init(&cfg);
  cfg.threads = 1;
  ndpar_pool *p1 = ndpar_pool_alloc(&cfg);
  cfg.threads = threads;
  ndpar_pool *pt = ndpar_pool_alloc(&cfg);
  int pandas = pandas_available();
  double t[NWRITERS][64];
  size_t bytes[NWRITERS] = {0};
  for (int r = 0; r < reps; r++)
    for (int w = 0; w < NWRITERS; w++) {
      if (w == W_PANDAS && !pandas) continue;
      t[w][r] = write_once(w, x, path, out, p1, pt);
    }
  /* the bytes ndpar writes, once more outside the timing */
  ndpar_csv_write_opts(pt, out, x, NULL, NULL);
  struct stat st;
  bytes[W_NDPAR1] = bytes[W_NDPART] = bytes[W_STREAM] = stat(out, &st) == 0 ? (size_t)st.st_size : 0;
  unlink(out);
  printf("\nwrite %zu rows x %zu columns (the parse table's values), %d runs each, interleaved, one process\n",
         x->size1, x->size2, reps);
  printf("  (the machine may be shared: compare ratios within one run)\n");
  printf("%-27s %2s %7s %8s %7s %9s\n", "writer", "T", "min s", "median s", "max s", "Mvalues/s");
  for (int w = 0; w < NWRITERS; w++) {
    if (w == W_PANDAS && !pandas) {
      printf("%-27s  -  skipped: %s cannot import pandas\n", writer_name[w], PYTHON);
      continue;
    }
    qsort(t[w], (size_t)reps, sizeof(double), cmp);
    double med = t[w][reps / 2];
    size_t T = w == W_NDPAR1 || w == W_PRINTF || w == W_PANDAS ? 1 : threads;
    printf("%-27s %2zu %7.3f %8.3f %7.3f %9.1f\n", writer_name[w], T, t[w][0], med, t[w][reps - 1],
           (double)(x->size1 * x->size2) / med / 1e6);
  }
  if (bytes[W_NDPAR1]) printf("  ndpar writes %.0f MB (shortest round-trip digits)\n", bytes[W_NDPAR1] / 1e6);
  ndpar_pool_free(p1);
  ndpar_pool_free(pt);
  gsl_matrix_free(x);
}

int main(int argc, char **argv) {
  size_t mb = 0, stream_gb = 1;
  char *rest[64];
  int nrest = 0;
  for (int i = 0; i < argc && nrest < 63; i++) {
    if (strcmp(argv[i], "--mb") == 0 && i + 1 < argc) mb = strtoul(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "--stream-gb") == 0 && i + 1 < argc) stream_gb = strtoul(argv[++i], NULL, 10);
    else rest[nrest++] = argv[i];
  }
  rest[nrest] = NULL;
  bench_options o;
  bench_parse(nrest, rest, "bench_io",
              "CSV parse: ndpar 1T/T, strtod per field, pandas.read_csv; streaming RSS and overlap;\n"
              "CSV write: ndpar 1T/T, the streaming writer, fprintf %.17g, pandas.to_csv.\n"
              "  --mb N        size of the generated file in MB (default 200)\n"
              "  --stream-gb N size of the large streaming file in GiB (default 1; 0: skip)",
              &o);
  if (mb == 0) mb = o.quick ? 20 : 200;
  if (o.quick) stream_gb = 0;
  int reps = o.reps ? o.reps : o.quick ? 1 : 5;
  if (reps > 64) reps = 64;
  const char *dir = getenv("TMPDIR");
  snprintf(file_path, sizeof file_path, "%s/ndpar-bench-io-XXXXXX", dir && *dir ? dir : "/tmp");
  int fd = mkstemp(file_path);
  if (fd < 0) die("cannot create the data file");
  close(fd);
  atexit(remove_files);
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  signal(SIGHUP, on_signal);
  signal(SIGPIPE, on_signal); /* e.g. piped into head */
  size_t rows;
  double t0 = ndpar_time_now();
  size_t bytes = generate(file_path, mb, &rows);
  printf("bench_io: generated %s, %.0f MB, %zu rows, in %.1f s\n", file_path, bytes / 1e6, rows,
         ndpar_time_now() - t0);
  parse_table(file_path, bytes, rows, o.threads, reps);
  streaming_table(file_path, bytes, stream_gb, reps);
  write_table(file_path, o.threads, reps);
  return 0;
}
