/* examples/batch_infer_mpi.c: batch inference across MPI ranks. Each rank holds its own
 * batches (rank r: r + 1 batches of 4 rows); ndpar_mpi_batch_infer runs them on each rank's
 * share of its node, t->index the global batch index. Every rank checks its outputs; rank 0
 * prints the total. Run: mpirun -np 2 ./batch_infer_mpi */
#include <stdio.h>
#include <mpi.h>
#include <ndpar/ndpar_mpi.h>

/* y = 2 x + the global batch index, in one column. */
static int predict(const gsl_matrix *x, gsl_matrix *y, const ndpar_task *t, void *ctx) {
  (void)ctx;
  for (size_t i = 0; i < x->size1; i++)
    gsl_matrix_set(y, i, 0, 2 * gsl_matrix_get(x, i, 0) + (double)t->index);
  return GSL_SUCCESS;
}

int main(int argc, char **argv) {
  int provided, rank, ranks;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  size_t n = (size_t)rank + 1, first = (size_t)rank * ((size_t)rank + 1) / 2;
  gsl_matrix *xm[8], *y[8];
  const gsl_matrix *x[8]; /* the MPI functions take const arrays as they are */
  for (size_t b = 0; b < n && b < 8; b++) {
    xm[b] = gsl_matrix_alloc(4, 1);
    y[b] = gsl_matrix_alloc(4, 1);
    for (size_t i = 0; i < 4; i++) gsl_matrix_set(xm[b], i, 0, (double)i);
    x[b] = xm[b];
  }
  if (n > 8) n = 8;
  int status = ndpar_mpi_batch_infer(MPI_COMM_WORLD, NULL, x, y, n, predict, NULL);
  int wrong = status != GSL_SUCCESS;
  for (size_t b = 0; b < n && !wrong; b++)
    for (size_t i = 0; i < 4; i++)
      wrong |= gsl_matrix_get(y[b], i, 0) != 2.0 * (double)i + (double)(first + b);
  int any_wrong = 0;
  MPI_Allreduce(&wrong, &any_wrong, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (status != GSL_SUCCESS)
    fprintf(stderr, "batch_infer_mpi: rank %d: %s\n", rank, ndpar_error_last()->message);
  else if (rank == 0)
    printf("batch_infer_mpi: %d ranks, every batch's output right: %s\n", ranks,
           any_wrong ? "no" : "yes");
  for (size_t b = 0; b < n; b++) {
    gsl_matrix_free(xm[b]);
    gsl_matrix_free(y[b]);
  }
  MPI_Finalize();
  return any_wrong;
}
