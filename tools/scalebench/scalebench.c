/* scalebench: how the reference workloads scale with threads on this machine.
 * See docs/scalebench.1 or --help. Exit status: 0 done, 1 a workload or a file failed,
 * 2 bad usage or input. */
#include <errno.h>
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
         "  --repeat N        timed runs per thread count (default 5)\n"
         "  --warmup N        untimed runs first (default 1)\n"
         "  --bind cores|none pin workers to cores or not (default cores)\n"
         "  --openmp          also run the same kernels under OpenMP and print the ratio\n"
         "  --csv FILE        write the points as CSV      --json FILE  and as JSON\n"
         "  --plot FILE       speedup plot, .svg or .png (needs gnuplot)\n"
         "  --save-baseline NAME   save this run as a baseline (in $SCALEBENCH_BASELINE_DIR,\n"
         "                         default .scalebench/)\n"
         "  --baseline NAME   compare with a saved baseline, flagging changes beyond the noise\n"
         "  --data DIR        folder of the bundled CSV files (default: NDPAR_DATA_DIR, else the\n"
         "                    installed share/ndpar/data, else the build's data/)\n"
         "  --quiet           print nothing but errors (files are still written)\n"
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
  if (o->plot) sb_check_writable("--plot", o->plot);
  if (o->plot) {
    const char *dot = strrchr(o->plot, '.');
    if (!dot || (strcmp(dot, ".svg") != 0 && strcmp(dot, ".png") != 0))
      sb_usage_error("--plot %s: the file must end in .svg or .png", o->plot);
    if (!sb_gnuplot_available())
      sb_usage_error("--plot needs gnuplot, which is not installed (apt-get install gnuplot-nox)");
  }
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
} run_ctx;

static int run_ndpar(ndpar_pool *pool, void *vc) {
  run_ctx *c = vc;
  return c->k->run_ndpar(pool, c->state);
}

static void progress(size_t done, size_t total, void *vc) {
  run_ctx *c = vc;
  if (c->show) fprintf(stderr, "\r  %s: %zu/%zu timed runs", c->name, done, total);
  if (c->show && done == total) fprintf(stderr, "\r%*s\r", 60, "");
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
 * threads than physical cores) are shown in the table but left out of the fit. */
static size_t fit_points(const sb_result *r, ndpar_scal_point *pts) {
  size_t n = 0, cores = ndpar_physical_cores();
  for (size_t i = 0; i < r->npts; i++)
    if (r->pts[i].threads <= cores) pts[n++] = r->pts[i];
  return n;
}

static void fit_amdahl(sb_result *r) {
  ndpar_scal_point pts[SB_MAX_POINTS];
  r->fit_n = fit_points(r, pts);
  r->fit_ok = ndpar_scal_amdahl(pts, r->fit_n, &r->fit_f, &r->fit_smax, &r->fit_res) == GSL_SUCCESS;
}

static int run_workload(const sb_options *o, const wl_kernel *k, sb_result *r) {
  char err[512];
  void *state = k->setup(&o->params, err, sizeof err);
  if (state == NULL) {
    fprintf(stderr, "scalebench: %s: %s\n", k->name, err);
    return 1;
  }
  run_ctx c = {k, state, k->name, !o->quiet && isatty(STDERR_FILENO)};
  ndpar_scal_config cfg = o->scal;
  cfg.progress = progress;
  cfg.progress_ctx = &c;
  r->name = k->name;
  snprintf(r->desc, sizeof r->desc, "%s", k->describe(state));
  r->npts = o->nthreads;
  int status = ndpar_scal_run(o->threads, o->nthreads, &cfg, run_ndpar, &c, r->pts);
  if (status == GSL_SUCCESS) {
    r->par_index = parallel_point(r);
    fit_amdahl(r);
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

static void print_workload(const sb_result *r) {
  printf("\n== %s: %s\n", r->name, r->desc);
  ndpar_scal_print(stdout, r->pts, r->npts);
  size_t cores = ndpar_physical_cores();
  const char *why = r->fit_ok ? ndpar_scal_amdahl_degenerate(r->fit_f, r->fit_res) : NULL;
  if (r->fit_ok && why == NULL)
    printf("Amdahl fit (%zu points up to %zu threads): parallel fraction %.4f, predicted maximum "
           "speedup %.1fx, residual %.1f%%\n", r->fit_n, cores, r->fit_f, r->fit_smax,
           100 * r->fit_res);
  else if (r->fit_ok)
    printf("Amdahl fit (%zu points up to %zu threads): parallel fraction %.4f, residual %.1f%%: %s\n",
           r->fit_n, cores, r->fit_f, 100 * r->fit_res, why);
  else
    printf("Amdahl fit: needs two thread counts within the %zu physical cores\n", cores);
  int any = 0;
  for (size_t i = 0; i < r->npts; i++)
    if (r->pts[i].threads > cores)
      printf("%s%zu", any++ ? ", " : "Not fitted (more threads than physical cores): ", r->pts[i].threads);
  if (any) printf(" threads\n");
}

static void print_operations(const sb_result *r, size_t n, int openmp) {
  printf("\n%-10s %16s %16s %9s %9s", "Operation", "Sequential (ms)", "Parallel (ms)", "Threads", "Speedup");
  if (openmp) printf(" %12s %12s %13s", "ndpar* (ms)", "OpenMP* (ms)", "OpenMP/ndpar");
  printf("\n");
  for (size_t i = 0; i < n; i++) {
    const ndpar_scal_point *p = &r[i].pts[r[i].par_index];
    printf("%-10s %16.3f %16.3f %9zu %8.2fx", r[i].name, r[i].seq_ms, p->median_ms, p->threads,
           r[i].seq_ms / p->median_ms);
    if (openmp) printf(" %12.3f %12.3f %12.2fx", r[i].ndpar_ms, r[i].omp_ms, r[i].omp_ms / r[i].ndpar_ms);
    printf("\n");
  }
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
  sb_result *res = calloc(o.nkernels, sizeof *res);
  int failed = 0;
  for (size_t i = 0; i < o.nkernels && !failed; i++) {
    failed = run_workload(&o, o.kernels[i], &res[i]);
    if (!failed && !o.quiet) print_workload(&res[i]);
  }
  if (!failed) {
    if (!o.quiet) print_operations(res, o.nkernels, o.openmp);
    if (o.baseline) sb_compare_baseline(o.quiet ? stderr : stdout, o.baseline, &base, res, o.nkernels);
    if (o.csv) failed |= sb_write_csv(o.csv, res, o.nkernels);
    if (o.json) failed |= sb_write_json(o.json, res, o.nkernels);
    if (o.plot) failed |= sb_plot(o.plot, res, o.nkernels);
    if (o.save_baseline) failed |= sb_save_baseline(o.save_baseline, res, o.nkernels);
  }
  free(res);
  sb_baseline_free(&base);
  return failed ? 1 : 0;
}
