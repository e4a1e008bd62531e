/* args.c: scalebench's command line, parsed into sb_options (a function of its own, so
 * that a fuzz target can call it without running anything). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ref/kernels.h"
#include "scalebench.h"

/* ---- parsing ---- */

static size_t parse_count(const char *opt, const char *s, size_t lo, size_t hi) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (*s == '\0' || *s == '-' || *end != '\0' || errno || v < lo || v > hi)
    sb_usage_error("%s: '%s' is not a whole number from %zu to %zu", opt, s, lo, hi);
  return (size_t)v;
}

static double parse_fraction(const char *opt, const char *s, double lo, double hi) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (*s == '\0' || *end != '\0' || errno || !(v > lo && v < hi))
    sb_usage_error("%s: '%s' is not a number between %g and %g", opt, s, lo, hi);
  return v;
}

static void add_thread_count(sb_options *o, size_t t) {
  for (size_t i = 0; i < o->nthreads; i++)
    if (o->threads[i] == t) return;
  if (o->nthreads == SB_MAX_POINTS) sb_usage_error("--threads: at most %d counts", SB_MAX_POINTS);
  o->threads[o->nthreads++] = t;
}

static void parse_threads(sb_options *o, const char *list) {
  char buf[1024];
  if (strlen(list) >= sizeof buf) sb_usage_error("--threads: the list is too long");
  strcpy(buf, list);
  o->nthreads = 0;
  add_thread_count(o, 1); /* the baseline of every speedup */
  for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ","))
    add_thread_count(o, parse_count("--threads", tok, 1, NDPAR_MAX_THREADS));
}

static void default_threads(sb_options *o) {
  size_t cores = ndpar_physical_cores();
  o->nthreads = 0;
  for (size_t t = 1; t <= cores; t *= 2) add_thread_count(o, t);
  add_thread_count(o, cores);
  add_thread_count(o, 2 * cores); /* one oversubscribed point */
}

static void parse_workloads(sb_options *o, const char *list) {
  char buf[256];
  if (strlen(list) >= sizeof buf) sb_usage_error("--workload: the list is too long");
  strcpy(buf, list);
  o->nkernels = 0;
  for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
    if (strcmp(tok, "all") == 0) {
      o->nkernels = 0;
      for (const wl_kernel *k = wl_kernels; k->name; k++)
        if (!wl_kernel_on_request(k)) o->kernels[o->nkernels++] = k;
      return;
    }
    const wl_kernel *k = wl_kernel_find(tok);
    if (k == NULL) sb_usage_error("--workload: unknown workload '%s' (try --help)", tok);
    if (o->nkernels < SB_MAX_WORKLOADS) o->kernels[o->nkernels++] = k;
  }
  if (o->nkernels == 0) sb_usage_error("--workload: no workload named");
}

static void check_name(const char *opt, const char *name) {
  if (*name == '\0') sb_usage_error("%s: the name is empty", opt);
  for (const char *c = name; *c; c++)
    if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
          *c == '.' || *c == '_' || *c == '-'))
      sb_usage_error("%s: '%s' may hold only letters, digits, '.', '_' and '-'", opt, name);
}

static const char *value_of(int argc, char **argv, int *i) {
  if (*i + 1 >= argc) sb_usage_error("%s needs a value (try --help)", argv[*i]);
  return argv[++*i];
}

void sb_parse_args(int argc, char **argv, sb_options *o) {
  memset(o, 0, sizeof *o);
  ndpar_scal_config_init(&o->scal); /* 11 timed runs after 2 warm-ups: make run's too */
  o->significance = SB_SIGNIFICANCE;
  o->noise_threshold = SB_NOISE_THRESHOLD;
  default_threads(o);
  parse_workloads(o, "all");
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) { o->help = 1; return; }
    else if (strcmp(a, "--version") == 0) { o->version = 1; return; }
    else if (strcmp(a, "--threads") == 0) parse_threads(o, value_of(argc, argv, &i));
    else if (strcmp(a, "--workload") == 0) parse_workloads(o, value_of(argc, argv, &i));
    else if (strcmp(a, "--batches") == 0) o->params.batches = parse_count(a, value_of(argc, argv, &i), 1, 1000000);
    else if (strcmp(a, "--rows") == 0) o->params.rows = parse_count(a, value_of(argc, argv, &i), 1, 1000000);
    else if (strcmp(a, "--repeat") == 0) o->scal.repeats = parse_count(a, value_of(argc, argv, &i), 1, 100000);
    else if (strcmp(a, "--warmup") == 0) o->scal.warmup = parse_count(a, value_of(argc, argv, &i), 0, 100000);
    else if (strcmp(a, "--bind") == 0) {
      const char *b = value_of(argc, argv, &i);
      if (strcmp(b, "cores") == 0) o->scal.bind = NDPAR_BIND_CORES;
      else if (strcmp(b, "none") == 0) o->scal.bind = NDPAR_BIND_NONE;
      else sb_usage_error("--bind: '%s' is neither cores nor none", b);
    } else if (strcmp(a, "--csv") == 0) o->csv = value_of(argc, argv, &i);
    else if (strcmp(a, "--json") == 0) o->json = value_of(argc, argv, &i);
    else if (strcmp(a, "--plot") == 0) {
      const char *path = value_of(argc, argv, &i);
      if (o->nplots == SB_MAX_PLOTS) sb_usage_error("--plot: at most %d files", SB_MAX_PLOTS);
      o->plots[o->nplots++] = path;
    }
    else if (strcmp(a, "--markdown") == 0) o->markdown = value_of(argc, argv, &i);
    else if (strcmp(a, "--significance") == 0) o->significance = parse_fraction(a, value_of(argc, argv, &i), 0, 0.5);
    else if (strcmp(a, "--noise-threshold") == 0) o->noise_threshold = parse_fraction(a, value_of(argc, argv, &i), 0, 1);
    else if (strcmp(a, "--save-baseline") == 0) check_name(a, o->save_baseline = value_of(argc, argv, &i));
    else if (strcmp(a, "--baseline") == 0) check_name(a, o->baseline = value_of(argc, argv, &i));
    else if (strcmp(a, "--data") == 0) o->params.data_dir = value_of(argc, argv, &i);
    else if (strcmp(a, "--openmp") == 0) o->openmp = 1;
    else if (strcmp(a, "--quiet") == 0) o->quiet = 1;
    else sb_usage_error("unknown option '%s' (try --help)", a);
  }
}
