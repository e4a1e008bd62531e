/* output.c: scalebench's files: CSV, JSON, baselines and plots, all written atomically. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "scalebench.h"

void sb_usage_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "scalebench: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  exit(2);
}

/* ---- atomic files ---- */

typedef struct {
  FILE *f;
  char tmp[4200];
  const char *path;
} atomic_file;

static int atomic_open(atomic_file *a, const char *path) {
  a->path = path;
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

/* The saved point of (workload, threads), or 0 if the baseline has none. */
static int find_saved(FILE *f, const char *workload, size_t threads, double *median, double *mad) {
  char line[1024], name[128];
  rewind(f);
  if (fgets(line, sizeof line, f) == NULL) return 0; /* header */
  while (fgets(line, sizeof line, f)) {
    size_t t;
    double med, mn, mx, md;
    if (sscanf(line, "%127[^,],%zu,%lf,%lf,%lf,%lf", name, &t, &med, &mn, &mx, &md) != 6) continue;
    if (strcmp(name, workload) == 0 && t == threads) {
      *median = med;
      *mad = md;
      return 1;
    }
  }
  return 0;
}

int sb_compare_baseline(FILE *out, const char *name, const sb_result *r, size_t n) {
  char path[4096];
  sb_baseline_path(name, path, sizeof path);
  FILE *f = fopen(path, "r");
  if (f == NULL) {
    fprintf(stderr, "scalebench: no baseline '%s' (%s: %s)\n", name, path, strerror(errno));
    return 1;
  }
  fprintf(out, "\nChange against baseline '%s' (flagged: beyond 2 x the runs' combined MAD)\n", name);
  fprintf(out, "%-10s %7s  %12s  %12s  %8s  %s\n", "Workload", "Threads", "Baseline (ms)", "Now (ms)",
          "Change", "Verdict");
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < r[i].npts; k++) {
      const ndpar_scal_point *p = &r[i].pts[k];
      double old, old_mad;
      if (!find_saved(f, r[i].name, p->threads, &old, &old_mad)) continue;
      double change = p->median_ms - old, noise = 2 * (old_mad + p->mad_ms);
      const char *verdict = fabs(change) <= noise ? "within noise" : change < 0 ? "FASTER" : "SLOWER";
      fprintf(out, "%-10s %7zu  %12.3f  %12.3f  %+7.1f%%  %s\n", r[i].name, p->threads, old,
              p->median_ms, 100 * change / old, verdict);
    }
  fclose(f);
  return 0;
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
