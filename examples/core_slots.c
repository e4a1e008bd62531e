/* core_slots: per-worker accumulators on their own cache lines (ndpar_slots), and a matrix
 * walked in row batches that are views (no copy). Sums the squares of a 10,000 x 4 matrix
 * both ways and checks them against a plain loop. */
#include <math.h>
#include <stdio.h>
#include <ndpar/ndpar.h>

typedef struct {
  const gsl_matrix *x;
  ndpar_slots *acc;
} sum_ctx;

/* Adds the squares of row task->index to this worker's accumulator. */
static int add_row(const ndpar_task *task, void *vctx) {
  sum_ctx *c = vctx;
  size_t p = c->x->size2;
  double *mine = ndpar_slots_at(c->acc, task->worker);   /* own cache lines: no false sharing */
  for (size_t j = 0; j < p; j++) mine[j] += pow(gsl_matrix_get(c->x, task->index, j), 2);
  return GSL_SUCCESS;
}

int main(void) {
  ndpar_pool *pool = NULL; /* the default pool */
  gsl_matrix *x = gsl_matrix_alloc(10000, 4);
  for (size_t i = 0; i < x->size1; i++)
    for (size_t j = 0; j < x->size2; j++) gsl_matrix_set(x, i, j, sin((double)(i * 4 + j)));
  size_t p = x->size2;

  ndpar_slots acc;
  ndpar_slots_alloc(&acc, ndpar_pool_threads(pool), p * sizeof(double));
  sum_ctx c = {x, &acc};
  int status = ndpar_pool_run(pool, x->size1, add_row, &c);
  double parallel[4] = {0, 0, 0, 0};
  for (size_t w = 0; w < acc.n; w++)
    for (size_t j = 0; j < p; j++) parallel[j] += ((double *)ndpar_slots_at(&acc, w))[j];
  ndpar_slots_free(&acc);

  double batched[4] = {0, 0, 0, 0}, plain[4] = {0, 0, 0, 0};
  size_t nb = ndpar_rows_nbatches(x->size1, 64);
  for (size_t i = 0; i < nb; i++) {
    gsl_matrix_const_view b = ndpar_rows_batch_const(x, 64, i);   /* no copy */
    for (size_t r = 0; r < b.matrix.size1; r++)
      for (size_t j = 0; j < p; j++) batched[j] += pow(gsl_matrix_get(&b.matrix, r, j), 2);
  }
  for (size_t i = 0; i < x->size1; i++)
    for (size_t j = 0; j < p; j++) plain[j] += pow(gsl_matrix_get(x, i, j), 2);

  double worst = 0;
  for (size_t j = 0; j < p; j++)
    worst = fmax(worst, fmax(fabs(parallel[j] - plain[j]), fabs(batched[j] - plain[j])) / plain[j]);
  printf("core_slots: %zu batches of 64 rows; largest relative difference %.1e\n", nb, worst);
  gsl_matrix_free(x);
  if (status != GSL_SUCCESS) fprintf(stderr, "core_slots: %s\n", ndpar_error_last()->message);
  return status == GSL_SUCCESS && worst < 1e-12 ? 0 : 1;
}
