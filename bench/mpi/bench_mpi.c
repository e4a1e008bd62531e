/* bench_mpi: the mpi module against bare MPI, under mpirun.
 *
 *   mpirun -np R bench_mpi [--threads N] [--reps N] [--quick]
 *
 * 1. Gradient allreduce at P = 10^4 .. 10^7: a bare MPI_Allreduce of P doubles (what any
 *    data-parallel trainer pays at least), ndpar_mpi_grad_compute FAST and DETERMINISTIC,
 *    each rank summing one batch whose gradient callback copies a fixed vector (so the
 *    local work is the accumulation, not a model). Variants interleaved in every repeat;
 *    each time is the slowest rank's, between barriers.
 * 2. Grid search: the reference grid workload (24 learning rates x 5 folds, an MLP fitted
 *    per fold) over the ranks, each rank on a pool of 1 and of N threads, balanced and
 *    with one candidate ten times slower (dynamic balancing: the ratio to the balanced
 *    time should be near (24 + 9) / 24).
 * Prints min, median, max (ms) and the ratios. */
#include "ndpar/ndpar_mpi.h"

#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref/timing.h"
#include "ref/wl.h"

static int rank, nranks;

typedef struct {
  size_t P;
  const double *g; /* the fixed gradient */
  double *buf;     /* the bare allreduce's buffer */
  gsl_matrix *x;
  gsl_vector *y, *out;
  ndpar_pool *pool;
  ndpar_grad_workspace *ws; /* the local part alone: FAST in one process */
} grad_bench;

static int copy_grad(const gsl_matrix *x, const gsl_vector *y, gsl_vector *grad, double *loss,
                     const ndpar_task *t, void *ctx) {
  (void)x, (void)y, (void)t;
  memcpy(grad->data, ctx, grad->size * sizeof(double));
  *loss = 1.0;
  return GSL_SUCCESS;
}

static void run_bare(grad_bench *b) {
  memcpy(b->buf, b->g, b->P * sizeof(double));
  MPI_Allreduce(MPI_IN_PLACE, b->buf, (int)b->P, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
}

static void run_mode(grad_bench *b, ndpar_reduce mode) {
  const gsl_matrix *x[1] = {b->x};
  const gsl_vector *y[1] = {b->y};
  double loss;
  if (ndpar_mpi_grad_compute(MPI_COMM_WORLD, b->pool, x, y, 1, copy_grad, (void *)b->g, mode, b->out,
                             &loss) != GSL_SUCCESS)
    MPI_Abort(MPI_COMM_WORLD, 1);
}

static void run_fast(grad_bench *b) { run_mode(b, NDPAR_REDUCE_FAST); }

/* FAST's work without MPI: this rank's batch summed on the same pool (ndpar_grad_compute_ws,
 * which also divides once): what FAST costs beyond its communication. */
static void run_local(grad_bench *b) {
  const gsl_matrix *x[1] = {b->x};
  const gsl_vector *y[1] = {b->y};
  double loss;
  if (ndpar_grad_compute_ws(b->ws, x, y, 1, copy_grad, (void *)b->g, NDPAR_REDUCE_FAST, b->out, &loss,
                            NULL) != GSL_SUCCESS)
    MPI_Abort(MPI_COMM_WORLD, 1);
}
static void run_det(grad_bench *b) { run_mode(b, NDPAR_REDUCE_DETERMINISTIC); }

/* The slowest rank's time of fn, between barriers. */
static double timed(void (*fn)(grad_bench *), grad_bench *b) {
  MPI_Barrier(MPI_COMM_WORLD);
  double t0 = MPI_Wtime();
  fn(b);
  double t = MPI_Wtime() - t0, worst = 0;
  MPI_Allreduce(&t, &worst, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  return worst;
}

static void stats(double *v, int n, double *lo, double *med, double *hi) {
  *lo = *hi = v[0];
  for (int i = 1; i < n; i++) {
    if (v[i] < *lo) *lo = v[i];
    if (v[i] > *hi) *hi = v[i];
  }
  *med = bench_median(v, (size_t)n);
}

#define GRAD_VARIANTS 4

static void grad_table(ndpar_pool *pool, size_t threads, int reps, size_t max_p) {
  const char *names[GRAD_VARIANTS] = {"bare MPI_Allreduce", "ndpar FAST", "FAST's local part",
                                      "ndpar DETERMINISTIC"};
  if (rank == 0) {
    printf("\ngradient allreduce, %d ranks x %zu threads (ms: min / median / max of %d, slowest rank;"
           "\nbare: memcpy of the gradient + MPI_Allreduce of P doubles; local part: the same batch"
           "\nsummed by ndpar_grad_compute_ws FAST, no MPI; comm = FAST - local part)\n",
           nranks, threads, reps);
    printf("%10s  %-20s %9s %9s %9s %10s\n", "P", "variant", "min", "median", "max", "med/bare");
  }
  for (size_t P = 10000; P <= max_p; P *= 10) {
    grad_bench b = {.P = P, .pool = pool};
    double *g = malloc(P * sizeof *g);
    b.buf = malloc(P * sizeof *b.buf);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_taus2);
    gsl_rng_set(r, 1 + (unsigned long)rank);
    for (size_t j = 0; j < P; j++) g[j] = gsl_ran_gaussian(r, 1.0);
    gsl_rng_free(r);
    b.g = g;
    b.x = gsl_matrix_calloc(4, 1);
    b.y = gsl_vector_calloc(4);
    b.out = gsl_vector_alloc(P);
    b.ws = ndpar_grad_workspace_alloc(pool, 1, P);
    void (*fns[GRAD_VARIANTS])(grad_bench *) = {run_bare, run_fast, run_local, run_det};
    int n = P >= 10000000 ? (reps + 2) / 3 : reps;
    double *t[GRAD_VARIANTS], *comm = malloc((size_t)n * sizeof *comm);
    for (int v = 0; v < GRAD_VARIANTS; v++) t[v] = malloc((size_t)n * sizeof(double));
    for (int v = 0; v < GRAD_VARIANTS; v++) fns[v](&b); /* warm-up */
    for (int i = 0; i < n; i++)
      for (int v = 0; v < GRAD_VARIANTS; v++) t[v][i] = timed(fns[v], &b) * 1e3;
    for (int i = 0; i < n; i++) comm[i] = t[1][i] - t[2][i];
    double lo[GRAD_VARIANTS + 1], med[GRAD_VARIANTS + 1], hi[GRAD_VARIANTS + 1];
    for (int v = 0; v < GRAD_VARIANTS; v++) stats(t[v], n, &lo[v], &med[v], &hi[v]);
    stats(comm, n, &lo[GRAD_VARIANTS], &med[GRAD_VARIANTS], &hi[GRAD_VARIANTS]);
    for (int v = 0; rank == 0 && v <= GRAD_VARIANTS; v++)
      printf("%10zu  %-20s %9.3f %9.3f %9.3f %9.2fx\n", P, v < GRAD_VARIANTS ? names[v] : "FAST comm (per rep)",
             lo[v], med[v], hi[v], med[v] / med[0]);
    if (rank == 0)
      printf("%10s  FAST comm share %.0f%%, DETERMINISTIC / FAST %.2fx\n", "", 100 * med[GRAD_VARIANTS] / med[1],
             med[3] / med[1]);
    fflush(stdout);
    for (int v = 0; v < GRAD_VARIANTS; v++) free(t[v]);
    free(comm);
    free(g);
    free(b.buf);
    ndpar_grad_workspace_free(b.ws);
    gsl_matrix_free(b.x);
    gsl_vector_free(b.y);
    gsl_vector_free(b.out);
  }
}

/* ---- grid search: the reference grid workload (ref's MLP fit per fold) ---- */

/* ctx (if not NULL) names a candidate that fits ten times: a slow one. */
static int fit_fn(const void *params, size_t cand, const gsl_matrix *xtr, const gsl_vector *ytr,
                  const gsl_matrix *xva, const gsl_vector *yva, double *score, const ndpar_task *t,
                  void *ctx) {
  int times = ctx && *(const size_t *)ctx == cand ? 10 : 1, status = GSL_SUCCESS;
  for (int i = 0; i < times && status == GSL_SUCCESS; i++)
    status = wl_mlp_fit_param(params, cand, xtr, ytr, xva, yva, score, t, NULL);
  return status;
}

static double timed_search(ndpar_pool *pool, const double *lrs, size_t ncand, const gsl_matrix *x,
                           const gsl_vector *y, const ndpar_folds *folds, size_t *slow,
                           ndpar_grid_result *res) {
  MPI_Barrier(MPI_COMM_WORLD);
  double t0 = MPI_Wtime();
  if (ndpar_mpi_grid_search_params(MPI_COMM_WORLD, pool, lrs, sizeof *lrs, ncand, x, y, folds, fit_fn, slow,
                                   NULL, res) != GSL_SUCCESS)
    MPI_Abort(MPI_COMM_WORLD, 1);
  double dt = (MPI_Wtime() - t0) * 1e3, worst = 0;
  MPI_Allreduce(&dt, &worst, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  return worst;
}

static void grid_table(size_t threads, int reps) {
  enum { NCAND = 24, K = 5, ROWS = 2000 };
  gsl_matrix *all, *yall;
  char err[256];
  if (wl_default_windows(NULL, 24, 1, &all, &yall, err, sizeof err)) {
    if (rank == 0) fprintf(stderr, "bench_mpi: %s\n", err);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  gsl_matrix_const_view xv = gsl_matrix_const_submatrix(all, 0, 0, ROWS, 24);
  gsl_vector_const_view yv = gsl_matrix_const_subcolumn(yall, 0, 0, ROWS);
  double lrs[NCAND];
  for (size_t i = 0; i < NCAND; i++) lrs[i] = 0.01 * pow(30.0, (double)i / (NCAND - 1)); /* 0.01 .. 0.3 */
  ndpar_folds *folds = ndpar_folds_kfold(ROWS, K, 0, 0);
  ndpar_grid_result *res = ndpar_grid_result_alloc(NCAND, K);
  if (rank == 0) {
    printf("\ngrid search: %d learning rates x %d folds of the reference MLP (%d rows, %d fits of %d steps), "
           "%d ranks (ms: min / median / max of %d)\n", NCAND, K, ROWS, NCAND * K, WL_FIT_STEPS, nranks, reps);
    printf("%8s %8s %26s\n", "ranks", "threads", "ndpar_mpi_grid_search");
  }
  for (size_t T = 1; T <= threads; T = T == threads ? threads + 1 : threads) {
    ndpar_pool_config cfg;
    ndpar_pool_config_init(&cfg);
    cfg.threads = T;
    cfg.bind = NDPAR_BIND_NONE; /* ranks may share cores: oversubscribed runs say so */
    ndpar_pool *pool = ndpar_pool_alloc(&cfg);
    double med[2];
    for (int slow = 0; slow < 2; slow++) { /* balanced; candidate 0 ten times slower */
      size_t slow_cand = 0, *ctx = slow ? &slow_cand : NULL;
      double *t = malloc((size_t)reps * sizeof *t), lo, hi;
      timed_search(pool, lrs, NCAND, &xv.matrix, &yv.vector, folds, ctx, res); /* warm-up */
      for (int i = 0; i < reps; i++) t[i] = timed_search(pool, lrs, NCAND, &xv.matrix, &yv.vector, folds, ctx, res);
      stats(t, reps, &lo, &med[slow], &hi);
      if (rank == 0)
        printf("%8d %8zu %8.2f %8.2f %8.2f  %s\n", nranks, T, lo, med[slow], hi,
               slow ? "candidate 0 ten times slower" : "balanced");
      free(t);
    }
    if (rank == 0)
      printf("%17s slow/balanced %.2f (perfect balance: %.2f)\n", "", med[1] / med[0], (double)(NCAND + 9) / NCAND);
    fflush(stdout);
    ndpar_pool_free(pool);
  }
  ndpar_grid_result_free(res);
  ndpar_folds_free(folds);
  gsl_matrix_free(all);
  gsl_matrix_free(yall);
}

int main(int argc, char **argv) {
  int provided;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &nranks);
  bench_options o;
  bench_parse(argc, argv, "bench_mpi",
              "Under mpirun: gradient allreduce (bare MPI_Allreduce vs ndpar FAST vs\n"
              "DETERMINISTIC) at P = 1e4..1e7, and a grid search over the ranks at\n"
              "1 and N threads per rank.", &o);
  int reps = o.quick ? 3 : o.reps > 0 ? o.reps : 11;
  ndpar_pool *pool = ndpar_mpi_pool_alloc(MPI_COMM_WORLD, NULL);
  size_t threads = o.threads ? o.threads : ndpar_pool_threads(pool);
  if (rank == 0)
    printf("bench_mpi: %d ranks, pool of %zu threads per rank (%s)\n", nranks, ndpar_pool_threads(pool),
           ndpar_pool_binding(pool) == NDPAR_BIND_CORES ? "pinned" : "unpinned");
  grad_table(pool, ndpar_pool_threads(pool), reps, o.quick ? 100000 : 10000000); /* --quick: a smoke run */
  grid_table(threads, reps);
  ndpar_pool_free(pool);
  MPI_Finalize();
  return 0;
}
