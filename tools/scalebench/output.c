/* output.c: scalebench's files: CSV, JSON and baselines, all written atomically (plots,
 * Markdown and the comparison with a baseline: report.c). */
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

int sb_atomic_open(sb_atomic_file *a, const char *path) {
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

int sb_atomic_close(sb_atomic_file *a) {
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
  sb_atomic_file a;
  if (sb_atomic_open(&a, path)) return 1;
  csv_body(a.f, r, n);
  return sb_atomic_close(&a);
}

int sb_write_json(const char *path, const sb_result *r, size_t n) {
  sb_atomic_file a;
  if (sb_atomic_open(&a, path)) return 1;
  fprintf(a.f, "{\"tool\": \"scalebench\", \"version\": \"%s\", \"cores\": %zu, \"workloads\": {\n",
          NDPAR_VERSION, ndpar_physical_cores());
  for (size_t i = 0; i < n; i++) {
    fprintf(a.f, "\"%s\": ", r[i].name);
    ndpar_scal_write_json(a.f, r[i].pts, r[i].npts);
    fprintf(a.f, "%s", i + 1 < n ? ",\n" : "");
  }
  fprintf(a.f, "}}\n");
  return sb_atomic_close(&a);
}

/* ---- baselines ---- */

void sb_baseline_path(const char *name, char *path, size_t size) {
  const char *dir = getenv("SCALEBENCH_BASELINE_DIR");
  snprintf(path, size, "%s/%s.csv", dir && *dir ? dir : ".scalebench", name);
}

int sb_save_baseline(const char *name, const sb_result *r, size_t n, const sb_reference *ref) {
  char path[4096];
  sb_baseline_path(name, path, sizeof path);
  char *slash = strrchr(path, '/');
  *slash = '\0';
  if (mkdir(path, 0755) != 0 && errno != EEXIST) {
    fprintf(stderr, "scalebench: cannot create %s: %s\n", path, strerror(errno));
    return 1;
  }
  *slash = '/';
  sb_atomic_file a;
  if (sb_atomic_open(&a, path)) return 1;
  fprintf(a.f, "%s\n", SB_BASELINE_HEADER);
  for (size_t k = 0; ref && k < ref->repeats; k++)
    fprintf(a.f, "%s,%zu,%zu,%.17g\n", SB_REFERENCE, ref->threads, k, ref->samples[k]);
  for (size_t i = 0; i < n; i++)
    for (size_t p = 0; p < r[i].npts; p++)
      for (size_t k = 0; k < r[i].repeats; k++)
        fprintf(a.f, "%s,%zu,%zu,%.17g\n", r[i].name, r[i].pts[p].threads, k,
                r[i].samples[p * r[i].repeats + k]);
  return sb_atomic_close(&a);
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

/* A baseline line's time: a positive, finite number ending the line. */
static double time_field(const char *what, const char *path, size_t line, const char *text) {
  char *end;
  double v = strtod(text, &end);
  if (end == text || *end != '\0' || !isfinite(v) || v <= 0)
    sb_usage_error("%s: %s line %zu: the time is not a positive number", what, path, line);
  return v;
}

/* A whole number field ending at a comma, from lo to hi. */
static size_t count_field(const char *what, const char *path, size_t line, const char *name,
                          const char *text, size_t lo, size_t hi) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(text, &end, 10);
  if (*text < '0' || *text > '9' || *end != ',' || errno || v < lo || v > hi)
    sb_usage_error("%s: %s line %zu: the %s is not a whole number from %zu to %zu", what, path,
                   line, name, lo, hi);
  return (size_t)v;
}

/* Parses one run line: workload,threads,run,ms. */
static void parse_point(const char *what, const char *path, size_t line, char *text, sb_saved_point *p) {
  char *comma = strchr(text, ',');
  if (comma == NULL || comma == text || (size_t)(comma - text) >= sizeof p->workload)
    sb_usage_error("%s: %s line %zu: not a run (workload,threads,run,ms)", what, path, line);
  memcpy(p->workload, text, (size_t)(comma - text));
  p->workload[comma - text] = '\0';
  const char *f[3] = {comma + 1};
  for (int i = 1; i < 3; i++) {
    f[i] = strchr(f[i - 1], ',');
    if (f[i] == NULL) sb_usage_error("%s: %s line %zu: too few fields", what, path, line);
    f[i]++;
  }
  p->threads = count_field(what, path, line, "thread count", f[0], 1, NDPAR_MAX_THREADS);
  (void)count_field(what, path, line, "run number", f[1], 0, 100000);
  p->ms = time_field(what, path, line, f[2]);
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
  char *save = NULL, *line = strtok_r(text, "\r\n", &save);
  if (line != NULL && strncmp(line, "workload,threads,median_ms,", 27) == 0)
    sb_usage_error("%s: %s was saved by an older scalebench that kept no runs: save it again",
                   what, path);
  if (line == NULL || strcmp(line, SB_BASELINE_HEADER) != 0)
    sb_usage_error("%s: %s does not start with scalebench's baseline header (%s)", what, path,
                   SB_BASELINE_HEADER);
  b->pts = NULL;
  b->n = 0;
  size_t cap = 0, lineno = 1;
  while ((line = strtok_r(NULL, "\r\n", &save)) != NULL) {
    lineno++;
    if (b->n == cap) {
      cap = cap ? 2 * cap : 256;
      sb_saved_point *grown = realloc(b->pts, cap * sizeof *grown);
      if (grown == NULL) sb_usage_error("%s: out of memory", what);
      b->pts = grown;
    }
    parse_point(what, path, lineno, line, &b->pts[b->n++]);
  }
  free(text);
  if (b->n == 0) sb_usage_error("%s: %s holds a header but no runs", what, path);
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
