/* sgd.c: the training example: synchronous data-parallel SGD on the reference MLP. */
#include <stdlib.h>

#include "ref/wl.h"

int wl_mlp_grad(const gsl_matrix *x, const gsl_vector *y, gsl_vector *grad, double *loss,
                const ndpar_task *t, void *ctx) {
  (void)t;
  const wl_mlp *m = ctx;
  if (m->horizon != 1 || y->stride != 1) return GSL_EBADLEN;
  gsl_matrix_const_view target = gsl_matrix_const_view_array(y->data, y->size, 1);
  return wl_mlp_loss_grad(m, NULL, x, &target.matrix, grad, loss);
}

int wl_sgd_train(ndpar_pool *p, wl_mlp *m, const gsl_matrix *x, const gsl_vector *y,
                 size_t batch_rows, size_t shards, size_t steps, double lr, ndpar_reduce mode,
                 double *losses) {
  if (batch_rows == 0 || shards == 0 || batch_rows > x->size1 || y->size != x->size1)
    return GSL_EINVAL;
  size_t shard_rows = ndpar_rows_nbatches(batch_rows, shards);
  size_t nshards = ndpar_rows_nbatches(batch_rows, shard_rows);
  const gsl_matrix **xs = malloc(nshards * sizeof *xs);
  const gsl_vector **ys = malloc(nshards * sizeof *ys);
  _gsl_matrix_const_view *xv = malloc(nshards * sizeof *xv);
  _gsl_vector_const_view *yv = malloc(nshards * sizeof *yv);
  gsl_vector *grad = gsl_vector_alloc(m->theta->size);
  /* every step's working memory, allocated once: no step allocates */
  ndpar_grad_workspace *w = ndpar_grad_workspace_alloc(p, nshards, m->theta->size);
  int status = (xs && ys && xv && yv && grad && w) ? GSL_SUCCESS : GSL_ENOMEM;
  size_t start = 0;
  for (size_t s = 0; s < steps && status == GSL_SUCCESS; s++) {
    if (start + batch_rows > x->size1) start = 0;
    gsl_matrix_const_view xb = gsl_matrix_const_submatrix(x, start, 0, batch_rows, x->size2);
    gsl_vector_const_view yb = gsl_vector_const_subvector(y, start, batch_rows);
    for (size_t k = 0; k < nshards; k++) {
      xv[k] = ndpar_rows_batch_const(&xb.matrix, shard_rows, k);
      yv[k] = ndpar_rows_batch_vector_const(&yb.vector, shard_rows, k);
      xs[k] = &xv[k].matrix;
      ys[k] = &yv[k].vector;
    }
    double loss = 0;
    status = ndpar_grad_compute_ws(w, xs, ys, nshards, wl_mlp_grad, m, mode, grad, &loss, NULL);
    if (status == GSL_SUCCESS) {
      gsl_vector_axpby(-lr, grad, 1.0, m->theta); /* the one optimizer step, in the caller */
      if (losses) losses[s] = loss;
    }
    start += batch_rows;
  }
  free(xs);
  free(ys);
  free(xv);
  free(yv);
  gsl_vector_free(grad);
  ndpar_grad_workspace_free(w);
  return status;
}
