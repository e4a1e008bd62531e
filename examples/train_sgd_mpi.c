/* train_sgd_mpi: synchronous data-parallel SGD on the reference MLP across MPI ranks.
 *
 *   mpirun -np R train_sgd_mpi [--epochs N] [--fast]
 *
 * Every step takes the next 512 rows of the bundled Seattle temperature windows, cut into
 * 8 shards; rank r computes the gradient of its consecutive shards on its own pool, and
 * ndpar_mpi_grad_compute gives every rank the gradient over all 8 shards, so every rank
 * takes the same step. With the deterministic reduction (the default) that gradient is the
 * same bits for any number of ranks and threads, so the loss printed for each epoch is
 * identical at np = 1, 2, 3, 4 and equal to one process's; --fast uses the fast reduction,
 * whose last bits depend on the rank count. Rank 0 prints one line per epoch. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ndpar/ndpar_mpi.h"
#include "ref/wl.h"

#define BATCH_ROWS 512
#define SHARDS 8

typedef struct {
  size_t epochs;
  ndpar_reduce mode;
} options;

static int parse(int argc, char **argv, int rank, options *o) {
  *o = (options){3, NDPAR_REDUCE_DETERMINISTIC};
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--epochs") == 0 && i + 1 < argc) {
      o->epochs = strtoul(argv[++i], NULL, 10);
    } else if (strcmp(argv[i], "--fast") == 0) {
      o->mode = NDPAR_REDUCE_FAST;
    } else {
      if (rank == 0)
        fprintf(stderr, "usage: mpirun -np R train_sgd_mpi [--epochs N] [--fast]\n"
                        "Data-parallel SGD over the ranks; prints the mean loss per epoch.\n");
      return strcmp(argv[i], "--help") == 0 ? 1 : 2;
    }
  }
  return 0;
}

/* This rank's shards of a step: [first, first + count) of SHARDS, consecutive in rank order. */
static void my_shards(int rank, int ranks, size_t *first, size_t *count) {
  size_t lo = SHARDS * (size_t)rank / (size_t)ranks, hi = SHARDS * (size_t)(rank + 1) / (size_t)ranks;
  *first = lo;
  *count = hi - lo;
}

/* One epoch: every full batch of the data once; returns the mean of the steps' losses. */
static int epoch(wl_mlp *m, const gsl_matrix *x, const gsl_vector *y, ndpar_reduce mode, int rank,
                 int ranks, gsl_vector *grad, double *mean_loss) {
  size_t steps = x->size1 / BATCH_ROWS, first, count, shard_rows = BATCH_ROWS / SHARDS;
  my_shards(rank, ranks, &first, &count);
  _gsl_matrix_const_view xv[SHARDS];
  _gsl_vector_const_view yv[SHARDS];
  const gsl_matrix *xs[SHARDS];
  const gsl_vector *ys[SHARDS];
  double sum = 0;
  for (size_t s = 0; s < steps; s++) {
    for (size_t k = 0; k < count; k++) {
      size_t row = s * BATCH_ROWS + (first + k) * shard_rows;
      xv[k] = gsl_matrix_const_submatrix(x, row, 0, shard_rows, x->size2);
      yv[k] = gsl_vector_const_subvector(y, row, shard_rows);
      xs[k] = &xv[k].matrix;
      ys[k] = &yv[k].vector;
    }
    double loss = 0;
    int status = ndpar_mpi_grad_compute(MPI_COMM_WORLD, NULL, xs, ys, count, wl_mlp_grad, m, mode,
                                        grad, &loss);
    if (status) return status;
    gsl_vector_axpby(-0.05, grad, 1.0, m->theta); /* the same step on every rank */
    sum += loss;
  }
  *mean_loss = sum / (double)steps;
  return GSL_SUCCESS;
}

int main(int argc, char **argv) {
  int provided, rank, ranks;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  options o;
  int status = parse(argc, argv, rank, &o);
  if (status) { /* 1: --help, 2: a bad option */
    MPI_Finalize();
    return status == 1 ? 0 : 2;
  }
  gsl_matrix *x, *y;
  char err[512];
  if (wl_default_windows(NULL, 24, 1, &x, &y, err, sizeof err)) {
    fprintf(stderr, "train_sgd_mpi: %s\n", err);
    MPI_Finalize();
    return 1;
  }
  gsl_vector_view target = gsl_matrix_column(y, 0); /* stride 1: y has one column */
  wl_mlp *m = wl_mlp_alloc(24, 16, 1);
  wl_mlp_init(m, 7); /* the same weights on every rank */
  gsl_vector *grad = gsl_vector_alloc(m->theta->size);
  for (size_t e = 0; e < o.epochs && status == GSL_SUCCESS; e++) {
    double loss = 0;
    status = epoch(m, x, &target.vector, o.mode, rank, ranks, grad, &loss);
    if (status == GSL_SUCCESS && rank == 0) printf("epoch %zu  loss %.17g\n", e, loss);
  }
  if (status && rank == 0) fprintf(stderr, "train_sgd_mpi: %s\n", ndpar_error_last()->message);
  gsl_vector_free(grad);
  wl_mlp_free(m);
  gsl_matrix_free(x);
  gsl_matrix_free(y);
  MPI_Finalize();
  return status ? 1 : 0;
}
