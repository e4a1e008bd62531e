/* scalebench-mpi: `mpirun -np R scalebench --mpi`: how the grid and grad workloads scale
 * with ranks x threads per rank. scalebench itself does not link MPI: its --mpi option
 * executes this program (built beside it with mpicc), which keeps the process that mpirun
 * started. Exit status: 0 done, 1 a workload or a file failed, 2 bad usage.
 *
 * One run measures every point: for r = 1 .. R the first r ranks form a communicator (the
 * others wait), and each point (r ranks x t threads per rank) runs the workload on it,
 * after warm-up, timed as the slowest rank's time between barriers. The table gives the
 * median, the speedup over 1 x 1 and the efficiency (speedup / (r t)); for grad also the
 * share of the time that is communication: the same call with a gradient callback that
 * does no work (opening the call, the allreduce, the reduction), over the full call. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ndpar/ndpar_mpi.h"
#include "ref/timing.h"
#include "ref/wl.h"

#define LAGS 24
#define MAX_POINTS 256

typedef struct {
  int repeats, warmup, quick, deterministic, grid, grad;
  const char *csv, *json;
} options;

typedef struct {
  const char *workload;
  int ranks;
  size_t threads;
  double median, min, max, speedup, efficiency, comm_share; /* comm_share < 0: none */
} point;

static int rank, nranks;

static void usage(void) {
  printf("usage: mpirun -np R scalebench --mpi [options]\n"
         "The reference grid and grad workloads over 1 .. R ranks x 1 .. T threads per rank\n"
         "(T: this rank's share of its cores): time, speedup over 1 x 1, efficiency, and for\n"
         "grad the share of time spent communicating.\n\n"
         "  --workload grid|grad|all   (default all)\n"
         "  --repeat N        timed runs per point (default 5)\n"
         "  --warmup N        untimed runs first (default 1)\n"
         "  --deterministic   grad with NDPAR_REDUCE_DETERMINISTIC (default FAST)\n"
         "  --quick           a smaller grid and 2 timed runs: a smoke run\n"
         "  --csv FILE        write the points as CSV      --json FILE  and as JSON\n"
         "  --help\n");
}

static int parse(int argc, char **argv, options *o) {
  *o = (options){5, 1, 0, 0, 1, 1, NULL, NULL};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--help") == 0) {
      if (rank == 0) usage();
      return 1;
    }
    if (strcmp(a, "--quick") == 0) o->quick = 1, o->repeats = 2;
    else if (strcmp(a, "--deterministic") == 0) o->deterministic = 1;
    else if (strcmp(a, "--repeat") == 0 && v && atoi(v) > 0) o->repeats = atoi(argv[++i]);
    else if (strcmp(a, "--warmup") == 0 && v && atoi(v) >= 0) o->warmup = atoi(argv[++i]);
    else if (strcmp(a, "--csv") == 0 && v) o->csv = argv[++i];
    else if (strcmp(a, "--json") == 0 && v) o->json = argv[++i];
    else if (strcmp(a, "--workload") == 0 && v && strcmp(v, "grid") == 0) o->grad = 0, i++;
    else if (strcmp(a, "--workload") == 0 && v && strcmp(v, "grad") == 0) o->grid = 0, i++;
    else if (strcmp(a, "--workload") == 0 && v && strcmp(v, "all") == 0) i++;
    else {
      if (rank == 0) fprintf(stderr, "scalebench --mpi: bad option '%s' (try --help)\n", a);
      return 2;
    }
  }
  return 0;
}

/* ---- the workloads: one run on comm with pool ---- */

typedef struct {
  gsl_matrix *x, *y; /* the default windows */
  /* grid */
  double lrs[24];
  size_t ncand;
  ndpar_folds *folds;
  ndpar_grid_result *result;
  /* grad: 50 batches of 128 rows, spread over the ranks of the point */
  wl_mlp *mlp;
  gsl_vector *grad;
  const gsl_matrix *bx[50];
  const gsl_vector *by[50];
  _gsl_matrix_const_view xv[50];
  _gsl_vector_const_view yv[50];
  ndpar_reduce mode;
  int empty; /* grad: a callback that does no work (the communication alone) */
} workload;

static int no_work(const gsl_matrix *x, const gsl_vector *y, gsl_vector *grad, double *loss,
                   const ndpar_task *t, void *ctx) {
  (void)x, (void)y, (void)t, (void)ctx;
  gsl_vector_set_zero(grad);
  *loss = 0;
  return GSL_SUCCESS;
}

static int run_grid(MPI_Comm comm, ndpar_pool *pool, workload *w) {
  gsl_matrix_const_view x = gsl_matrix_const_submatrix(w->x, 0, 0, 2000, LAGS);
  gsl_vector_const_view y = gsl_matrix_const_subcolumn(w->y, 0, 0, 2000);
  return ndpar_mpi_grid_search_params(comm, pool, w->lrs, sizeof(double), w->ncand, &x.matrix, &y.vector,
                                      w->folds, wl_mlp_fit_param, NULL, NULL, w->result);
}

static int run_grad(MPI_Comm comm, ndpar_pool *pool, workload *w) {
  int r, size;
  MPI_Comm_rank(comm, &r);
  MPI_Comm_size(comm, &size);
  size_t first = 50 * (size_t)r / (size_t)size, last = 50 * (size_t)(r + 1) / (size_t)size;
  double loss;
  return ndpar_mpi_grad_compute(comm, pool, w->bx + first, w->by + first, last - first,
                                w->empty ? no_work : wl_mlp_grad, w->mlp, w->mode, w->grad, &loss);
}

static int setup(workload *w, const options *o) {
  char err[256];
  if (wl_default_windows(NULL, LAGS, 1, &w->x, &w->y, err, sizeof err)) {
    if (rank == 0) fprintf(stderr, "scalebench --mpi: %s\n", err);
    return 1;
  }
  w->ncand = o->quick ? 8 : 24;
  for (size_t i = 0; i < w->ncand; i++) w->lrs[i] = 0.01 * pow(30.0, (double)i / (double)(w->ncand - 1));
  w->folds = ndpar_folds_kfold(2000, o->quick ? 3 : 5, 0, 0);
  w->result = ndpar_grid_result_alloc(w->ncand, ndpar_folds_count(w->folds));
  w->mlp = wl_mlp_alloc(LAGS, 64, 1);
  wl_mlp_init(w->mlp, 7);
  w->grad = gsl_vector_alloc(w->mlp->theta->size);
  for (size_t b = 0; b < 50; b++) {
    w->xv[b] = gsl_matrix_const_submatrix(w->x, b * 128, 0, 128, LAGS);
    w->yv[b] = gsl_matrix_const_subcolumn(w->y, 0, b * 128, 128);
    w->bx[b] = &w->xv[b].matrix;
    w->by[b] = &w->yv[b].vector;
  }
  w->mode = o->deterministic ? NDPAR_REDUCE_DETERMINISTIC : NDPAR_REDUCE_FAST;
  return 0;
}

static void teardown(workload *w) {
  gsl_matrix_free(w->x);
  gsl_matrix_free(w->y);
  ndpar_folds_free(w->folds);
  ndpar_grid_result_free(w->result);
  wl_mlp_free(w->mlp);
  gsl_vector_free(w->grad);
}

/* ---- timing ---- */

/* Median, min and max (ms) of the slowest rank's time of run on comm. */
static int time_point(int (*run)(MPI_Comm, ndpar_pool *, workload *), MPI_Comm comm, ndpar_pool *pool,
                      workload *w, const options *o, double out[3]) {
  double t[64] = {0};
  int n = o->repeats < 64 ? o->repeats : 64, status = 0;
  for (int i = 0; i < o->warmup && !status; i++) status = run(comm, pool, w);
  for (int i = 0; i < n && !status; i++) {
    MPI_Barrier(comm);
    double t0 = MPI_Wtime();
    status = run(comm, pool, w);
    double dt = (MPI_Wtime() - t0) * 1e3;
    MPI_Allreduce(&dt, &t[i], 1, MPI_DOUBLE, MPI_MAX, comm);
  }
  if (status) return status;
  out[1] = out[2] = t[0];
  for (int i = 1; i < n; i++) out[1] = fmin(out[1], t[i]), out[2] = fmax(out[2], t[i]);
  out[0] = bench_median(t, (size_t)n);
  return 0;
}

/* Every point of one workload; rank 0 fills pts. */
static int measure(const char *name, int (*run)(MPI_Comm, ndpar_pool *, workload *), workload *w,
                   const options *o, size_t max_threads, point *pts, size_t *npts) {
  size_t first = *npts;
  int failed = 0;
  for (int r = 1; r <= nranks && !failed; r++) {
    MPI_Comm sub;
    MPI_Comm_split(MPI_COMM_WORLD, rank < r ? 0 : MPI_UNDEFINED, rank, &sub);
    for (size_t t = 1; t <= max_threads && !failed; t = t == max_threads ? t + 1 : max_threads) {
      ndpar_pool_config cfg;
      ndpar_pool_config_init(&cfg);
      cfg.threads = t;
      ndpar_pool *pool = ndpar_mpi_pool_alloc(MPI_COMM_WORLD, &cfg); /* every rank: collective */
      double ms[3] = {0, 0, 0}, share = -1;
      int status = 0;
      if (sub != MPI_COMM_NULL) {
        status = time_point(run, sub, pool, w, o, ms);
        if (!status && run == run_grad) { /* the same call without the gradients' work */
          double comm_ms[3];
          w->empty = 1;
          status = time_point(run, sub, pool, w, o, comm_ms);
          w->empty = 0;
          share = comm_ms[0] / ms[0];
        }
      }
      MPI_Allreduce(MPI_IN_PLACE, &status, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
      failed = status != 0;
      if (rank == 0 && !failed && *npts < MAX_POINTS)
        pts[(*npts)++] = (point){name, r, t, ms[0], ms[1], ms[2], 0, 0, share};
      ndpar_pool_free(pool);
    }
    if (sub != MPI_COMM_NULL) MPI_Comm_free(&sub);
  }
  for (size_t i = first; rank == 0 && i < *npts; i++) {
    pts[i].speedup = pts[first].median / pts[i].median;
    pts[i].efficiency = pts[i].speedup / ((double)pts[i].ranks * (double)pts[i].threads);
  }
  return failed;
}

/* ---- output ---- */

static void print_table(const char *title, const point *p, size_t n, const char *name) {
  printf("\n%s\n%6s %8s %12s %12s %12s %9s %11s", title, "ranks", "threads", "median_ms", "min_ms", "max_ms",
         "speedup", "efficiency");
  if (strcmp(name, "grad") == 0) printf(" %11s", "comm_share");
  printf("\n");
  for (size_t i = 0; i < n; i++) {
    if (strcmp(p[i].workload, name) != 0) continue;
    printf("%6d %8zu %12.3f %12.3f %12.3f %8.2fx %10.0f%%", p[i].ranks, p[i].threads, p[i].median, p[i].min,
           p[i].max, p[i].speedup, 100 * p[i].efficiency);
    if (p[i].comm_share >= 0) printf(" %10.0f%%", 100 * p[i].comm_share);
    printf("\n");
  }
}

static int write_csv(const char *path, const point *p, size_t n) {
  FILE *f = fopen(path, "w");
  if (f == NULL) return fprintf(stderr, "scalebench --mpi: cannot write %s: %s\n", path, strerror(errno)), 1;
  fprintf(f, "workload,ranks,threads,median_ms,min_ms,max_ms,speedup,efficiency,comm_share\n");
  for (size_t i = 0; i < n; i++) {
    fprintf(f, "%s,%d,%zu,%.6f,%.6f,%.6f,%.6f,%.6f,", p[i].workload, p[i].ranks, p[i].threads, p[i].median,
            p[i].min, p[i].max, p[i].speedup, p[i].efficiency);
    if (p[i].comm_share >= 0) fprintf(f, "%.6f", p[i].comm_share);
    fprintf(f, "\n");
  }
  return fclose(f) != 0;
}

static int write_json(const char *path, const point *p, size_t n) {
  FILE *f = fopen(path, "w");
  if (f == NULL) return fprintf(stderr, "scalebench --mpi: cannot write %s: %s\n", path, strerror(errno)), 1;
  fprintf(f, "{\n  \"tool\": \"scalebench --mpi\",\n  \"version\": \"%s\",\n  \"ranks\": %d,\n  \"points\": [\n",
          NDPAR_VERSION, nranks);
  for (size_t i = 0; i < n; i++) {
    fprintf(f, "    {\"workload\": \"%s\", \"ranks\": %d, \"threads\": %zu, \"median_ms\": %.6f, \"min_ms\": %.6f, "
            "\"max_ms\": %.6f, \"speedup\": %.6f, \"efficiency\": %.6f", p[i].workload, p[i].ranks, p[i].threads,
            p[i].median, p[i].min, p[i].max, p[i].speedup, p[i].efficiency);
    if (p[i].comm_share >= 0) fprintf(f, ", \"comm_share\": %.6f", p[i].comm_share);
    fprintf(f, "}%s\n", i + 1 < n ? "," : "");
  }
  fprintf(f, "  ]\n}\n");
  return fclose(f) != 0;
}

int main(int argc, char **argv) {
  int provided;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &nranks);
  options o;
  int status = parse(argc, argv, &o); /* 1: --help, 2: bad usage */
  if (status) {
    MPI_Finalize();
    return status == 1 ? 0 : 2;
  }
  workload w = {0};
  status = setup(&w, &o);
  MPI_Allreduce(MPI_IN_PLACE, &status, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (status) {
    MPI_Finalize();
    return 1;
  }
  ndpar_pool *probe = ndpar_mpi_pool_alloc(MPI_COMM_WORLD, NULL);
  size_t max_threads = ndpar_pool_threads(probe);
  ndpar_bind bind = ndpar_pool_binding(probe);
  ndpar_pool_free(probe);
  if (rank == 0)
    printf("scalebench --mpi %s: %d ranks, up to %zu threads per rank (%s); %d warm-up and %d timed runs per point\n",
           NDPAR_VERSION, nranks, max_threads, bind == NDPAR_BIND_CORES ? "pinned" : "unpinned", o.warmup,
           o.repeats);
  static point pts[MAX_POINTS];
  size_t npts = 0;
  int failed = 0;
  if (o.grid) failed = measure("grid", run_grid, &w, &o, max_threads, pts, &npts);
  if (o.grad && !failed) failed = measure("grad", run_grad, &w, &o, max_threads, pts, &npts);
  if (rank == 0 && !failed) {
    char title[160];
    snprintf(title, sizeof title, "grid: %zu learning rates x %zu folds of the reference MLP (2000 rows)", w.ncand,
             ndpar_folds_count(w.folds));
    if (o.grid) print_table(title, pts, npts, "grid");
    snprintf(title, sizeof title, "grad (%s): 50 batches x 128 rows, P = %zu",
             o.deterministic ? "DETERMINISTIC" : "FAST", w.grad->size);
    if (o.grad) print_table(title, pts, npts, "grad");
    if (o.csv) failed |= write_csv(o.csv, pts, npts);
    if (o.json) failed |= write_json(o.json, pts, npts);
  }
  if (rank == 0 && failed) fprintf(stderr, "scalebench --mpi: a workload or a file failed\n");
  MPI_Bcast(&failed, 1, MPI_INT, 0, MPI_COMM_WORLD);
  teardown(&w);
  MPI_Finalize();
  return failed ? 1 : 0;
}
