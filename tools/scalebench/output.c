/* output.c: scalebench's files: CSV, JSON, baselines and plots, all written atomically. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "scalebench.h"

/* ---- atomic files ---- */

typedef struct {
  FILE *f;
  char tmp[4200];
  const char *path;
} atomic_file;

static int atomic_open(atomic_file *a, const char *path) {
  a->path = path;
  struct stat st;
  if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
    fprintf(stderr, "scalebench: cannot write %s: it is not a regular file\n", path);
    return 1;
  }
  snprintf(a->tmp, sizeof a->tmp, "%s.tmp.XXXXXX", path);
  int fd = mkstemp(a->tmp);
  a->f = fd >= 0 ? fdopen(fd, "w") : NULL;
  if (a->f == NULL) {
    fprintf(stderr, "scalebench: cannot write %s: %s\n", path, strerror(errno));
    if (fd >= 0) close(fd), unlink(a->tmp);
    return 1;
  }
  return 0;
}

static int atomic_close(atomic_file *a) {
  int bad = ferror(a->f) != 0;
  bad |= fclose(a->f) != 0;
  if (!bad && chmod(a->tmp, 0644) == 0 && rename(a->tmp, a->path) == 0) return 0;
  fprintf(stderr, "scalebench: cannot write %s: %s\n", a->path, strerror(errno));
  unlink(a->tmp);
  return 1;
}

/* ---- CSV and JSON ---- */

static void csv_body(FILE *f, const sb_result *r, size_t n) {
  fprintf(f, "workload,%s\n", ndpar_scal_csv_header);
  for (size_t i = 0; i < n; i++) ndpar_scal_write_csv_rows(f, r[i].name, r[i].pts, r[i].npts);
}

int sb_write_csv(const char *path, const sb_result *r, size_t n) {
  atomic_file a;
  if (atomic_open(&a, path)) return 1;
  csv_body(a.f, r, n);
  return atomic_close(&a);
}

int sb_write_json(const char *path, const sb_result *r, size_t n) {
  atomic_file a;
  if (atomic_open(&a, path)) return 1;
  fprintf(a.f, "{\"tool\": \"scalebench\", \"version\": \"%s\", \"cores\": %zu, \"workloads\": {\n",
          NDPAR_VERSION, ndpar_physical_cores());
  for (size_t i = 0; i < n; i++) {
    fprintf(a.f, "\"%s\": ", r[i].name);
    ndpar_scal_write_json(a.f, r[i].pts, r[i].npts);
    fprintf(a.f, "%s", i + 1 < n ? ",\n" : "");
  }
  fprintf(a.f, "}}\n");
  return atomic_close(&a);
}

/* ---- baselines ---- */

void sb_baseline_path(const char *name, char *path, size_t size) {
  const char *dir = getenv("SCALEBENCH_BASELINE_DIR");
  snprintf(path, size, "%s/%s.csv", dir && *dir ? dir : ".scalebench", name);
}

int sb_save_baseline(const char *name, const sb_result *r, size_t n) {
  char path[4096];
  sb_baseline_path(name, path, sizeof path);
  char *slash = strrchr(path, '/');
  *slash = '\0';
  if (mkdir(path, 0755) != 0 && errno != EEXIST) {
    fprintf(stderr, "scalebench: cannot create %s: %s\n", path, strerror(errno));
    return 1;
  }
  *slash = '/';
  return sb_write_csv(path, r, n);
}

/* The saved point of (workload, threads), or NULL. */
static const sb_saved_point *find_saved(const sb_baseline *b, const char *workload, size_t threads) {
  for (size_t i = 0; i < b->n; i++)
    if (b->pts[i].threads == threads && strcmp(b->pts[i].workload, workload) == 0) return &b->pts[i];
  return NULL;
}

void sb_compare_baseline(FILE *out, const char *name, const sb_baseline *b, const sb_result *r,
                         size_t n) {
  fprintf(out, "\nChange against baseline '%s' (flagged: beyond 2 x the runs' combined MAD)\n", name);
  fprintf(out, "%-10s %7s  %12s  %12s  %8s  %s\n", "Workload", "Threads", "Baseline (ms)", "Now (ms)",
          "Change", "Verdict");
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < r[i].npts; k++) {
      const ndpar_scal_point *p = &r[i].pts[k];
      const sb_saved_point *old = find_saved(b, r[i].name, p->threads);
      if (old == NULL) continue;
      double change = p->median_ms - old->median_ms, noise = 2 * (old->mad_ms + p->mad_ms);
      const char *verdict = fabs(change) <= noise ? "within noise" : change < 0 ? "FASTER" : "SLOWER";
      fprintf(out, "%-10s %7zu  %12.3f  %12.3f  %+7.1f%%  %s\n", r[i].name, p->threads, old->median_ms,
              p->median_ms, 100 * change / old->median_ms, verdict);
    }
}

/* ---- reading a baseline ---- */

/* Reads at most SB_BASELINE_MAX + 1 bytes of a regular file into a NUL-terminated buffer;
 * usage error (naming what) otherwise. Opened without blocking, so a FIFO cannot hang it. */
static char *read_bounded(const char *what, const char *path, size_t *len) {
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) sb_usage_error("%s: cannot read %s: %s", what, path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    sb_usage_error("%s: %s is not a regular file", what, path);
  }
  char *buf = malloc(SB_BASELINE_MAX + 2);
  size_t n = 0;
  ssize_t got = 1;
  while (buf && n <= SB_BASELINE_MAX && (got = read(fd, buf + n, SB_BASELINE_MAX + 1 - n)) > 0)
    n += (size_t)got;
  close(fd);
  if (buf == NULL) sb_usage_error("%s: out of memory reading %s", what, path);
  if (got < 0) sb_usage_error("%s: cannot read %s: %s", what, path, strerror(errno));
  if (n > SB_BASELINE_MAX)
    sb_usage_error("%s: %s is larger than %zu bytes: not a baseline", what, path, SB_BASELINE_MAX);
  buf[n] = '\0';
  *len = n;
  return buf;
}

/* A field of a baseline line as a finite, non-negative number (positive if asked). */
static double number_field(const char *what, const char *path, size_t line, const char *name,
                           const char *text, int positive) {
  char *end;
  double v = strtod(text, &end);
  if (end == text || (*end != ',' && *end != '\0') || !isfinite(v) || v < 0 || (positive && v == 0))
    sb_usage_error("%s: %s line %zu: the %s is not a %s number", what, path, line, name,
                   positive ? "positive" : "non-negative");
  return v;
}

/* Parses one point line: workload,threads,median,min,max,mad,... */
static void parse_point(const char *what, const char *path, size_t line, char *text, sb_saved_point *p) {
  char *comma = strchr(text, ',');
  if (comma == NULL || comma == text || (size_t)(comma - text) >= sizeof p->workload)
    sb_usage_error("%s: %s line %zu: not a point (workload,threads,median_ms,...)", what, path, line);
  memcpy(p->workload, text, (size_t)(comma - text));
  p->workload[comma - text] = '\0';
  const char *f[6] = {comma + 1};
  for (int i = 1; i < 6; i++) {
    f[i] = strchr(f[i - 1], ',');
    if (f[i] == NULL) sb_usage_error("%s: %s line %zu: too few fields", what, path, line);
    f[i]++;
  }
  char *end;
  errno = 0;
  unsigned long long t = strtoull(f[0], &end, 10);
  if (*f[0] < '0' || *f[0] > '9' || *end != ',' || errno || t < 1 || t > 4096)
    sb_usage_error("%s: %s line %zu: the thread count is not a whole number from 1 to 4096", what,
                   path, line);
  p->threads = (size_t)t;
  p->median_ms = number_field(what, path, line, "median", f[1], 1);
  double mn = number_field(what, path, line, "minimum", f[2], 0);
  double mx = number_field(what, path, line, "maximum", f[3], 0);
  p->mad_ms = number_field(what, path, line, "MAD", f[4], 0);
  if (!(mn <= p->median_ms && p->median_ms <= mx))
    sb_usage_error("%s: %s line %zu: the median is not between the minimum and the maximum", what,
                   path, line);
}

void sb_load_baseline(const char *name, sb_baseline *b) {
  char path[4096], what[160];
  sb_baseline_path(name, path, sizeof path);
  snprintf(what, sizeof what, "--baseline %s", name);
  size_t len;
  char *text = read_bounded(what, path, &len);
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)text[i];
    if (!(c == '\n' || c == '\r' || c == '\t' || (c >= 0x20 && c < 0x7f)))
      sb_usage_error("%s: %s is not a text file (byte %zu is 0x%02x)", what, path, i, c);
  }
  if (len == 0) sb_usage_error("%s: %s is empty", what, path);
  char header[256];
  snprintf(header, sizeof header, "workload,%s", ndpar_scal_csv_header);
  char *save = NULL, *line = strtok_r(text, "\r\n", &save);
  if (line == NULL || strcmp(line, header) != 0)
    sb_usage_error("%s: %s does not start with scalebench's CSV header", what, path);
  b->pts = NULL;
  b->n = 0;
  size_t cap = 0, lineno = 1;
  while ((line = strtok_r(NULL, "\r\n", &save)) != NULL) {
    lineno++;
    if (b->n == cap) {
      cap = cap ? 2 * cap : 64;
      sb_saved_point *grown = realloc(b->pts, cap * sizeof *grown);
      if (grown == NULL) sb_usage_error("%s: out of memory", what);
      b->pts = grown;
    }
    parse_point(what, path, lineno, line, &b->pts[b->n++]);
  }
  free(text);
  if (b->n == 0) sb_usage_error("%s: %s holds a header but no points", what, path);
}

void sb_baseline_free(sb_baseline *b) {
  free(b->pts);
  b->pts = NULL;
  b->n = 0;
}

/* ---- checks before the run ---- */

void sb_check_writable(const char *opt, const char *path) {
  struct stat st;
  if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
    sb_usage_error("%s %s: it exists and is not a regular file", opt, path);
  char dir[4096], probe[4200];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash == dir) dir[1] = '\0';
  else if (slash) *slash = '\0';
  else strcpy(dir, ".");
  snprintf(probe, sizeof probe, "%s/.scalebench-probe-XXXXXX", dir);
  int fd = mkstemp(probe);
  if (fd < 0) sb_usage_error("%s %s: cannot write in %s: %s", opt, path, dir, strerror(errno));
  close(fd);
  unlink(probe);
}

/* ---- plots ---- */

int sb_gnuplot_available(void) {
  return system("command -v gnuplot >/dev/null 2>&1") == 0;
}

static const char *terminal_for(const char *path) {
  const char *dot = strrchr(path, '.');
  if (dot && strcmp(dot, ".svg") == 0) return "svg size 800,500 dynamic";
  if (dot && strcmp(dot, ".png") == 0) return "png size 800,500";
  return NULL;
}

int sb_plot(const char *path, const sb_result *r, size_t n) {
  const char *term = terminal_for(path);
  if (term == NULL) sb_usage_error("--plot %s: the file must end in .svg or .png", path);
  char data[] = "/tmp/scalebench-data-XXXXXX", script[] = "/tmp/scalebench-plot-XXXXXX";
  int dfd = mkstemp(data), sfd = mkstemp(script);
  FILE *d = dfd >= 0 ? fdopen(dfd, "w") : NULL, *s = sfd >= 0 ? fdopen(sfd, "w") : NULL;
  if (d == NULL || s == NULL) {
    fprintf(stderr, "scalebench: cannot create temporary plot files\n");
    return 1;
  }
  size_t maxt = 1;
  for (size_t i = 0; i < n; i++) {
    for (size_t k = 0; k < r[i].npts; k++) {
      fprintf(d, "%zu %.6g\n", r[i].pts[k].threads, r[i].pts[k].speedup);
      if (r[i].pts[k].threads > maxt) maxt = r[i].pts[k].threads;
    }
    fprintf(d, "\n\n"); /* one gnuplot data block per workload */
  }
  fclose(d);
  char tmp_out[4200];
  snprintf(tmp_out, sizeof tmp_out, "%s.tmp.%d", path, (int)getpid());
  fprintf(s, "set terminal %s\nset output '%s'\n", term, tmp_out);
  fprintf(s, "set title 'ndpar scalebench: speedup over 1 thread'\nset xlabel 'threads'\n"
             "set ylabel 'speedup'\nset key left top\nset grid\nset xrange [1:%zu]\nset yrange [0:*]\n",
          maxt);
  fprintf(s, "plot x title 'ideal' with lines dashtype 2 lc rgb 'gray'");
  for (size_t i = 0; i < n; i++) {
    double f = r[i].fit_f;
    fprintf(s, ", '%s' index %zu title '%s' with linespoints pt 7", data, i, r[i].name);
    if (r[i].fit_ok)
      fprintf(s, ", 1/((1-%.6f)+%.6f/x) title '%s, Amdahl p=%.3f' with lines dashtype 3", f, f,
              r[i].name, f);
  }
  fprintf(s, "\n");
  fclose(s);
  char cmd[4300];
  snprintf(cmd, sizeof cmd, "gnuplot '%s' 2>&1", script);
  int rc = system(cmd);
  unlink(data);
  unlink(script);
  if (rc != 0 || rename(tmp_out, path) != 0) {
    unlink(tmp_out);
    fprintf(stderr, "scalebench: gnuplot could not write %s\n", path);
    return 1;
  }
  return 0;
}
