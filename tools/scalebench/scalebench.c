/* scalebench: how the reference workloads scale with threads on this machine.
 * See docs/scalebench.1 or --help. Exit status: 0 done, 1 a workload or a file failed,
 * 2 bad usage or input. */
#include <errno.h>
#include <gsl/gsl_math.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ref/timing.h"
#include "ref/kernel_bench.h"
#include "ref/kernels.h"
#include "ref/wl.h"
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

static void usage(void) {
  printf("usage: scalebench [sb_options]\n"
         "Measures how ndpar's reference workloads scale with threads on this machine: the\n"
         "scalability table, an Amdahl fit, and sequential vs parallel (vs OpenMP) per workload.\n"
         "The workloads run a small MLP autoregressor (24 lags, 64 tanh units) on the bundled\n"
         "Seattle hourly temperature series.\n\n"
         "  --workload NAME   one of:");
  for (const wl_kernel *k = wl_kernels; k->name; k++) printf(" %s", k->name);
  printf(", or all (default);\n"
         "                    a comma-separated list works too\n");
  for (const wl_kernel *k = wl_kernels; k->name; k++) printf("                      %-9s %s\n", k->name, k->what);
  printf("  --threads LIST    thread counts, e.g. 1,2,4 (default: 1, 2, 4, ... up to the %zu\n"
         "                    physical cores, then twice the cores); 1 is always measured\n"
         "  --batches N       input batches per run (default: the workload's own)\n"
         "  --rows N          rows per batch (default: the workload's own)\n"
         "  --repeat N        timed runs per thread count (default 11: the fewest for a 95%%\n"
         "                    interval of the median inside [min, max]; make run uses the same)\n"
         "  --warmup N        untimed runs first (default 2)\n"
         "  --bind cores|none pin workers to cores or not (default cores)\n"
         "  --openmp          also run the same kernels under OpenMP and print the ratio\n"
         "  --csv FILE        write the points as CSV      --json FILE  and as JSON\n"
         "  --markdown FILE   the table as Markdown, to paste\n"
         "  --plot FILE       one panel per workload and an efficiency panel, .svg or .png\n"
         "                    (needs gnuplot); once per file: --plot s.svg --plot s.png\n"
         "  --save-baseline NAME   save this run as a baseline (in $SCALEBENCH_BASELINE_DIR,\n"
         "                         default .scalebench/)\n"
         "  --baseline NAME   compare with a saved baseline: a point is flagged only when the\n"
         "                    Mann-Whitney test over the raw runs gives p < the significance\n"
         "                    and the medians differ by more than the noise threshold\n"
         "  --significance A  the test's level (default 0.01)\n"
         "  --noise-threshold R  the smallest relative change flagged (default 0.05: 5%%)\n"
         "  --data DIR        folder of the bundled CSV files (default: NDPAR_DATA_DIR, else the\n"
         "                    installed share/ndpar/data, else the build's data/)\n"
         "  --quiet           print nothing but errors (files are still written); without it\n"
         "                    a progress line goes to stderr when stderr is a terminal\n"
         "  --mpi             under mpirun: the grid and grad workloads over ranks x threads\n"
         "                    (runs scalebench-mpi, built beside scalebench with mpicc; see\n"
         "                    scalebench --mpi --help)\n"
         "  --help, --version\n",
         ndpar_physical_cores());
}

/* An installed scalebench (PREFIX/bin) finds the installed data (PREFIX/share/ndpar/data)
 * when neither --data nor NDPAR_DATA_DIR names a folder: it needs no build tree. */
#define SB_PATH_MAX 4096
static void find_installed_data(sb_options *o, char dir[SB_PATH_MAX]) {
  const char *env = getenv("NDPAR_DATA_DIR");
  if (o->params.data_dir != NULL || (env && *env)) return;
  char exe[SB_PATH_MAX - 64];
  ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (len <= 0) return;
  exe[len] = '\0';
  char *slash = strrchr(exe, '/');
  if (slash == NULL) return;
  *slash = '\0';
  char probe[4096 + 64];
  snprintf(dir, SB_PATH_MAX, "%s/../share/ndpar/data", exe);
  snprintf(probe, sizeof probe, "%s/seattle-weather-hourly-normals.csv", dir);
  if (access(probe, R_OK) == 0) o->params.data_dir = dir;
}

/* Problems found before any work: missing data or baseline, unwritable outputs, a plot
 * without gnuplot. */
static void check_before_running(const sb_options *o) {
  char data[4096];
  snprintf(data, sizeof data, "%s/seattle-weather-hourly-normals.csv", wl_data_dir(o->params.data_dir));
  if (access(data, R_OK) != 0) sb_usage_error("cannot read the bundled data %s: %s (see --data)", data, strerror(errno));
  if (o->csv) sb_check_writable("--csv", o->csv);
  if (o->json) sb_check_writable("--json", o->json);
  for (size_t i = 0; i < o->nplots; i++) sb_check_writable("--plot", o->plots[i]);
  if (o->markdown) sb_check_writable("--markdown", o->markdown);
  for (size_t i = 0; i < o->nplots; i++) {
    const char *dot = strrchr(o->plots[i], '.');
    if (!dot || (strcmp(dot, ".svg") != 0 && strcmp(dot, ".png") != 0))
      sb_usage_error("--plot %s: the file must end in .svg or .png", o->plots[i]);
  }
  if (o->nplots > 0 && !sb_gnuplot_available())
    sb_usage_error("--plot needs gnuplot, which is not installed (apt-get install gnuplot-nox)");
  if (o->baseline) {
    char path[4096];
    sb_baseline_path(o->baseline, path, sizeof path);
    if (access(path, R_OK) != 0) sb_usage_error("--baseline: no readable baseline '%s' at %s", o->baseline, path);
  }
}

/* The reason of the last GSL error on this thread (the library reports through it). */
static __thread char last_error[512];

static void remember_error(const char *reason, const char *file, int line, int gsl_errno) {
  (void)file, (void)line, (void)gsl_errno;
  snprintf(last_error, sizeof last_error, "%s", reason);
}

/* ---- running ---- */

typedef struct {
  const wl_kernel *k;
  void *state;
  const char *name;
  int show;
  size_t index, count; /* this workload's place among those run */
} run_ctx;

static int run_ndpar(ndpar_pool *pool, void *vc) {
  run_ctx *c = vc;
  return c->k->run_ndpar(pool, c->state);
}

static void progress(size_t done, size_t total, void *vc) {
  run_ctx *c = vc;
  if (c->show)
    fprintf(stderr, "\r  workload %zu of %zu, %s: %zu/%zu timed runs", c->index + 1, c->count,
            c->name, done, total);
  if (c->show && done == total) fprintf(stderr, "\r%*s\r", 70, "");
}

/* The sequential loop's median, and with --openmp ndpar's and OpenMP's at the parallel
 * point: timed alternately, each after a pause (libgomp's threads keep spinning for
 * milliseconds after a region and would slow whatever runs next) and an untimed call, as
 * the benchmarks time them (bench_kernel_compare). */
static int compare_variants(const sb_options *o, const wl_kernel *k, void *state, sb_result *r) {
  size_t threads = r->pts[r->par_index].threads, n = o->openmp ? 3 : 1;
  ndpar_pool_config pc;
  ndpar_pool_config_init(&pc);
  pc.threads = threads;
  pc.bind = o->scal.bind;
  ndpar_pool *pool = o->openmp ? ndpar_pool_alloc(&pc) : NULL;
  double ms[3] = {0, 0, 0};
  int failed = bench_kernel_compare(k, state, pool, threads, n, (int)o->scal.warmup,
                                    (int)o->scal.repeats, ms);
  ndpar_pool_free(pool);
  r->seq_ms = ms[0];
  r->ndpar_ms = ms[1];
  r->omp_ms = ms[2];
  return failed;
}

static size_t parallel_point(const sb_result *r) {
  size_t best = 0, cores = ndpar_physical_cores();
  for (size_t i = 0; i < r->npts; i++)
    if (r->pts[i].threads <= cores && r->pts[i].threads >= r->pts[best].threads) best = i;
  return best;
}

/* Amdahl's law models threads that each have a core: the oversubscribed points (more
 * threads than physical cores) are shown in the table but left out of the fit. With their
 * runs in samples, in the same order. */
static size_t fit_points(const sb_result *r, ndpar_scal_point *pts, double *samples) {
  size_t n = 0, cores = ndpar_physical_cores();
  for (size_t i = 0; i < r->npts; i++)
    if (r->pts[i].threads <= cores) {
      memcpy(samples + n * r->repeats, r->samples + i * r->repeats, r->repeats * sizeof *samples);
      pts[n++] = r->pts[i];
    }
  return n;
}

/* The fit, and with three or more points its interval (two points always fit exactly). */
static int fit_amdahl(sb_result *r) {
  ndpar_scal_point pts[SB_MAX_POINTS];
  double *samples = malloc(r->npts * r->repeats * sizeof *samples);
  if (samples == NULL) return GSL_ENOMEM;
  r->fit_n = fit_points(r, pts, samples);
  r->fit_ok = ndpar_scal_amdahl(pts, r->fit_n, &r->fit_f, &r->fit_smax, &r->fit_res) == GSL_SUCCESS;
  r->fit_lo = r->fit_hi = GSL_NAN;
  int status = GSL_SUCCESS;
  if (r->fit_ok && r->fit_n >= 3)
    status = ndpar_scal_amdahl_interval(pts, r->fit_n, samples, r->repeats, NDPAR_SCAL_LEVEL,
                                        &r->fit_lo, &r->fit_hi);
  free(samples);
  return status;
}

static int run_workload(const sb_options *o, size_t index, sb_result *r) {
  const wl_kernel *k = o->kernels[index];
  char err[512];
  void *state = k->setup(&o->params, err, sizeof err);
  if (state == NULL) {
    fprintf(stderr, "scalebench: %s: %s\n", k->name, err);
    return 1;
  }
  run_ctx c = {k, state, k->name, !o->quiet && isatty(STDERR_FILENO), index, o->nkernels};
  ndpar_scal_config cfg = o->scal;
  cfg.progress = progress;
  cfg.progress_ctx = &c;
  r->name = k->name;
  snprintf(r->desc, sizeof r->desc, "%s", k->describe(state));
  r->npts = o->nthreads;
  r->repeats = cfg.repeats;
  r->samples = malloc(o->nthreads * cfg.repeats * sizeof *r->samples);
  cfg.samples = r->samples;
  int status = r->samples ? ndpar_scal_run(o->threads, o->nthreads, &cfg, run_ndpar, &c, r->pts)
                          : GSL_ENOMEM;
  if (status == GSL_SUCCESS) status = fit_amdahl(r);
  if (status == GSL_SUCCESS) {
    r->par_index = parallel_point(r);
    if (compare_variants(o, k, state, r)) {
      fprintf(stderr, "scalebench: %s: a sequential or OpenMP variant failed\n", k->name);
      status = GSL_EFAILED;
    }
  } else {
    fprintf(stderr, "scalebench: %s failed: %s\n", k->name,
            last_error[0] ? last_error : gsl_strerror(status));
  }
  k->teardown(state);
  return status != GSL_SUCCESS;
}

/* Karp-Flatt's serial fraction at each point within the cores, with the interval that the
 * speedup's interval gives (e falls as S grows). */
static void print_karp_flatt(const sb_result *r, size_t cores) {
  for (size_t i = 0; i < r->npts; i++) {
    const ndpar_scal_point *p = &r->pts[i];
    if (p->threads < 2 || p->threads > cores) continue;
    printf("Serial fraction (Karp-Flatt) at %zu threads: %.3f [%.3f, %.3f]\n", p->threads,
           p->serial_fraction, ndpar_scal_karp_flatt(p->speedup_hi, p->threads),
           ndpar_scal_karp_flatt(p->speedup_lo, p->threads));
  }
}

/* The fit rules (docs/scalability.md): only points within the physical cores; fewer than
 * three of them fit a two-parameter law exactly, so only the serial fraction is shown; with
 * three or more, the parallel fraction's interval, and a maximum speedup only where that
 * interval stays below 1 (bounds it). */
static void print_fit(const sb_result *r, size_t cores) {
  if (!r->fit_ok) {
    printf("Amdahl fit: needs two thread counts within the %zu physical cores\n", cores);
    return;
  }
  if (r->fit_n < 3) {
    print_karp_flatt(r, cores);
    printf("No Amdahl fit: %zu thread counts within the %zu physical cores fit a two-parameter law "
           "exactly, so no maximum speedup can be predicted (it needs 3 or more)\n",
           r->fit_n, cores);
    return;
  }
  const char *why = ndpar_scal_amdahl_degenerate(r->fit_f, r->fit_res);
  printf("Amdahl fit (%zu points up to %zu threads): parallel fraction %.4f [%.4f, %.4f], residual %.1f%%",
         r->fit_n, cores, r->fit_f, r->fit_lo, r->fit_hi, 100 * r->fit_res);
  if (why) printf(": %s\n", why);
  else if (r->fit_hi < 1)
    printf(", predicted maximum speedup %.1fx [%.1fx, %.1fx]\n", r->fit_smax, 1 / (1 - r->fit_lo),
           1 / (1 - r->fit_hi));
  else printf(": no maximum speedup, as the interval of the parallel fraction reaches 1\n");
}

/* One line per point above 100% efficiency, which Amdahl's law cannot produce. */
static void explain_superlinear(const sb_result *r) {
  for (size_t i = 0; i < r->npts; i++) {
    const ndpar_scal_point *p = &r->pts[i];
    if (p->threads < 2 || !(p->efficiency > 1)) continue;
    if (p->speedup_lo <= (double)p->threads)
      printf("Above 100%% efficiency at %zu threads (negative Karp-Flatt), but the speedup's interval "
             "reaches %zu: within the noise\n", p->threads, p->threads);
    else
      printf("Superlinear at %zu threads (efficiency %.0f%%, negative Karp-Flatt): each thread's share "
             "of the data fits its own cache, or the 1-thread run is slowed by something the split "
             "avoids\n", p->threads, 100 * p->efficiency);
  }
}

static void print_workload(const sb_result *r) {
  printf("\n== %s: %s\n", r->name, r->desc);
  ndpar_scal_print(stdout, r->pts, r->npts);
  size_t cores = ndpar_physical_cores();
  explain_superlinear(r);
  print_fit(r, cores);
  int any = 0;
  for (size_t i = 0; i < r->npts; i++)
    if (r->pts[i].threads > cores)
      printf("%s%zu", any++ ? ", " : "Not fitted (more threads than physical cores): ", r->pts[i].threads);
  if (any) printf(" threads\n");
}

/* One baseline: the speedup is ndpar at 1 thread over ndpar at the Threads column (the same
 * code); the plain sequential loop is shown beside it, with how far it is from ndpar at 1
 * thread, and never divides a speedup. */
static void print_operations(const sb_result *r, size_t n, int openmp) {
  size_t cores = ndpar_physical_cores();
  printf("\n%-10s %15s %19s %30s %8s %21s", "Operation", "Sequential (ms)", "ndpar 1 thread (ms)",
         "ndpar parallel (ms) [95% CI]", "Threads", "Speedup [95% CI]");
  if (openmp) printf(" %12s %12s %13s", "ndpar* (ms)", "OpenMP* (ms)", "OpenMP/ndpar");
  printf("\n");
  int above = 0;
  for (size_t i = 0; i < n; i++) {
    const ndpar_scal_point *p = &r[i].pts[r[i].par_index], *one = &r[i].pts[0];
    for (size_t k = 0; k < r[i].npts; k++)
      if (r[i].pts[k].threads == 1) one = &r[i].pts[k];
    char sp[64], par[64];
    snprintf(sp, sizeof sp, "%.2fx [%.2f, %.2f]%s", p->speedup, p->speedup_lo, p->speedup_hi,
             p->speedup > (double)p->threads ? "+" : "");
    snprintf(par, sizeof par, "%.3f [%.3f, %.3f]", p->median_ms, p->median_lo_ms, p->median_hi_ms);
    above |= p->speedup > (double)p->threads;
    printf("%-10s %15.3f %19.3f %30s %8zu %21s", r[i].name, r[i].seq_ms, one->median_ms, par,
           p->threads, sp);
    if (openmp) printf(" %12.3f %12.3f %12.2fx", r[i].ndpar_ms, r[i].omp_ms, r[i].omp_ms / r[i].ndpar_ms);
    printf("\n");
  }
  printf("Speedup: ndpar at 1 thread over ndpar at Threads (the same code). Sequential is a plain loop\n"
         "over the same data (ref/kernels.c), not ndpar's code at 1 thread; it divides no speedup.\n");
  for (size_t i = 0; i < n; i++) {
    const ndpar_scal_point *one = &r[i].pts[0];
    for (size_t k = 0; k < r[i].npts; k++)
      if (r[i].pts[k].threads == 1) one = &r[i].pts[k];
    double gap = (r[i].seq_ms - one->median_ms) / one->median_ms;
    if (r[i].seq_ms > 0 && fabs(gap) > 0.10)
      printf("  %s: the plain loop is %.0f%% %s than ndpar at 1 thread (different code)\n", r[i].name,
             100 * fabs(gap), gap > 0 ? "slower" : "faster");
  }
  if (above)
    printf("+ more than the thread count: superlinear (the workload's lines above say why); %zu "
           "cores alone cannot give it\n", cores);
  if (openmp) printf("* timed alternately at the Threads column, so both see the same machine; "
                     "OpenMP/ndpar > 1: ndpar is faster\n");
}

/* "pinned" only if the workers really are: a pool at the largest thread count asked for,
 * with the binding asked for, tells (more threads than cores, or a refused binding, leave
 * them unpinned). */
static const char *binding_in_effect(const sb_options *o, char *buf, size_t size) {
  size_t most = 1, cores = ndpar_physical_cores();
  for (size_t i = 0; i < o->nthreads; i++)
    if (o->threads[i] > most) most = o->threads[i];
  ndpar_pool_config pc;
  ndpar_pool_config_init(&pc);
  pc.threads = most < cores ? most : cores;
  pc.bind = o->scal.bind;
  ndpar_pool *pool = ndpar_pool_alloc(&pc);
  int pinned = pool && pc.threads > 1 && ndpar_pool_binding(pool) == NDPAR_BIND_CORES;
  ndpar_pool_free(pool);
  if (!pinned) return "unpinned";
  if (most <= cores) return "pinned";
  snprintf(buf, size, "pinned up to %zu threads, unpinned above", cores);
  return buf;
}

/* A baseline compared against must hold every workload asked for: a change cannot be
 * judged against nothing (a usage error, exit 2, before any run). */
static void check_baseline_workloads(const sb_options *o, const sb_baseline *b) {
  for (size_t k = 0; k < o->nkernels; k++) {
    int found = 0;
    for (size_t i = 0; i < b->n && !found; i++) found = strcmp(b->pts[i].workload, o->kernels[k]->name) == 0;
    if (!found)
      sb_usage_error("--baseline %s: the baseline has no point of the workload '%s'", o->baseline,
                     o->kernels[k]->name);
  }
}

/* --mpi: this process becomes scalebench-mpi (beside this program), with the other
 * arguments. scalebench links no MPI; the process mpirun started stays the same. */
static void exec_mpi(int argc, char **argv) {
  char self[4096], path[4200];
  ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
  if (len <= 0) sb_usage_error("--mpi: cannot find this program's folder");
  self[len] = '\0';
  char *slash = strrchr(self, '/');
  if (slash) *slash = '\0';
  snprintf(path, sizeof path, "%s/scalebench-mpi", self);
  char **args = calloc((size_t)argc + 1, sizeof *args);
  int n = 0;
  args[n++] = path;
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "--mpi") != 0) args[n++] = argv[i];
  execv(path, args);
  sb_usage_error("--mpi: cannot run %s (%s): it is built with mpicc by make", path, strerror(errno));
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "--mpi") == 0) exec_mpi(argc, argv);
  sb_options o;
  sb_parse_args(argc, argv, &o);
  if (o.help) usage(), exit(0);
  if (o.version) printf("scalebench (ndpar) %s\n", NDPAR_VERSION), exit(0);
  static char installed_data[SB_PATH_MAX];
  find_installed_data(&o, installed_data);
  check_before_running(&o);
  setvbuf(stdout, NULL, _IOLBF, 0); /* piped output shows each line as it is printed */
  char bind_words[64];
  sb_baseline base = {NULL, 0};
  if (o.baseline) sb_load_baseline(o.baseline, &base); /* checked before the run, too */
  if (o.baseline) check_baseline_workloads(&o, &base);
  gsl_set_error_handler(remember_error); /* errors come back as codes and are reported here */
  if (!o.quiet)
    printf("scalebench %s: %zu physical cores, workers %s; %zu warm-up and %zu timed runs per point\n",
           NDPAR_VERSION, ndpar_physical_cores(), binding_in_effect(&o, bind_words, sizeof bind_words),
           o.scal.warmup, o.scal.repeats);
  if (!o.quiet) printf("data: %s\n", wl_data_dir(o.params.data_dir));
  if (!o.quiet && o.scal.repeats < 6) /* no pair of order statistics of 5 runs reaches 95% */
    printf("note: with %zu runs per point the intervals are [min, max], which cover the median "
           "only %.0f%% of the time (6 or more runs give 95%%)\n", o.scal.repeats,
           100 * (1 - ldexp(1, 1 - (int)o.scal.repeats)));
  sb_result *res = calloc(o.nkernels, sizeof *res);
  sb_reference ref = {NULL, 0, 0};
  int failed = res == NULL;
  /* The machine's own speed, for a comparison now or later (before the workloads). */
  int with_ref = o.baseline || o.save_baseline;
  if (!failed && with_ref) failed = sb_reference_time(&ref, o.scal.warmup, 0); /* warm-up only */
  for (size_t i = 0; i < o.nkernels && !failed; i++) {
    failed = run_workload(&o, i, &res[i]);
    /* The reference's runs spread over the whole run, as the workloads' are. */
    if (!failed && with_ref)
      failed = sb_reference_time(&ref, 0, (o.scal.repeats + o.nkernels - 1) / o.nkernels + 1);
    if (!failed && !o.quiet) print_workload(&res[i]);
  }
  if (!failed) {
    if (!o.quiet) print_operations(res, o.nkernels, o.openmp);
    if (o.baseline) sb_compare_baseline(o.quiet ? stderr : stdout, &o, &base, res, o.nkernels, &ref);
    if (o.csv) failed |= sb_write_csv(o.csv, res, o.nkernels);
    if (o.json) failed |= sb_write_json(o.json, res, o.nkernels);
    if (o.markdown) failed |= sb_write_markdown(o.markdown, res, o.nkernels);
    for (size_t i = 0; i < o.nplots; i++) failed |= sb_plot(o.plots[i], res, o.nkernels);
    if (o.save_baseline) failed |= sb_save_baseline(o.save_baseline, res, o.nkernels, &ref);
  }
  for (size_t i = 0; res && i < o.nkernels; i++) free(res[i].samples);
  free(res);
  free(ref.samples);
  sb_baseline_free(&base);
  return failed ? 1 : 0;
}
