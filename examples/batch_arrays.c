/* batch_arrays: arrays of batches as gsl_matrix_alloc gives them, passed without a cast.
 * A linear model y = x w over 8 batches: predictions (batch), the mean squared-error
 * gradient (grad) and a scaling of every batch (preprocess), each checked against a plain
 * loop. Exits 1 if any differs. */
#include <math.h>
#include <stdio.h>
#include <gsl/gsl_blas.h>
#include <ndpar/ndpar.h>

#define N 8
#define COLS 3

static int predict(const gsl_matrix *x, gsl_matrix *y, const ndpar_task *t, void *ctx) {
  (void)t;
  gsl_vector_const_view w = gsl_vector_const_view_array(ctx, COLS);
  gsl_vector_view out = gsl_matrix_column(y, 0);
  return gsl_blas_dgemv(CblasNoTrans, 1.0, x, &w.vector, 0.0, &out.vector);
}

static int gradient(const gsl_matrix *x, const gsl_vector *y, gsl_vector *grad, double *loss,
                    const ndpar_task *t, void *ctx) {
  (void)t;
  gsl_vector_const_view w = gsl_vector_const_view_array(ctx, COLS);
  gsl_vector *r = gsl_vector_alloc(x->size1);
  gsl_vector_memcpy(r, y);
  gsl_blas_dgemv(CblasNoTrans, 1.0, x, &w.vector, -1.0, r); /* r = x w - y */
  gsl_blas_ddot(r, r, loss);
  *loss /= (double)x->size1;
  gsl_blas_dgemv(CblasTrans, 2.0 / (double)x->size1, x, r, 0.0, grad);
  gsl_vector_free(r);
  return GSL_SUCCESS;
}

static int halve(const gsl_matrix *in, gsl_matrix *out, const ndpar_task *t, void *ctx) {
  (void)t, (void)ctx;
  gsl_matrix_memcpy(out, in);
  return gsl_matrix_scale(out, 0.5);
}

int main(void) {
  double w[COLS] = {0.5, -1.0, 2.0};
  gsl_matrix *x[N], *pred[N], *half[N];
  gsl_vector *y[N];
  for (size_t i = 0; i < N; i++) {
    size_t rows = 10 + i;
    x[i] = gsl_matrix_alloc(rows, COLS);
    pred[i] = gsl_matrix_alloc(rows, 1);
    half[i] = gsl_matrix_alloc(rows, COLS);
    y[i] = gsl_vector_alloc(rows);
    for (size_t r = 0; r < rows; r++) {
      for (size_t c = 0; c < COLS; c++) gsl_matrix_set(x[i], r, c, sin((double)(i * 31 + r * 7 + c)));
      gsl_vector_set(y[i], r, cos((double)(i + r)));
    }
  }
  gsl_vector *grad = gsl_vector_alloc(COLS);
  double loss;
  int rc = ndpar_batch_infer(NULL, x, pred, N, predict, w);
  if (!rc) rc = ndpar_grad_compute(NULL, x, y, N, gradient, w, NDPAR_REDUCE_DETERMINISTIC, grad, &loss);
  if (!rc) rc = ndpar_preprocess_map(NULL, x, half, N, halve, NULL, NULL);
  if (rc) {
    fprintf(stderr, "batch_arrays: %s\n", ndpar_error_last()->message);
    return 1;
  }
  /* The same by plain loops. */
  double g[COLS] = {0, 0, 0}, l = 0, bad = 0;
  size_t total = 0;
  for (size_t i = 0; i < N; i++) {
    for (size_t r = 0; r < x[i]->size1; r++) {
      double p = 0;
      for (size_t c = 0; c < COLS; c++) {
        p += gsl_matrix_get(x[i], r, c) * w[c];
        bad = fmax(bad, fabs(gsl_matrix_get(half[i], r, c) - 0.5 * gsl_matrix_get(x[i], r, c)));
      }
      bad = fmax(bad, fabs(p - gsl_matrix_get(pred[i], r, 0)));
      double e = p - gsl_vector_get(y[i], r);
      l += e * e;
      for (size_t c = 0; c < COLS; c++) g[c] += 2 * e * gsl_matrix_get(x[i], r, c);
    }
    total += x[i]->size1;
  }
  for (size_t c = 0; c < COLS; c++) bad = fmax(bad, fabs(g[c] / (double)total - gsl_vector_get(grad, c)));
  bad = fmax(bad, fabs(l / (double)total - loss));
  printf("batch_arrays: %d batches, loss %.6f, largest difference from the loops %.1e\n", N, loss, bad);
  for (size_t i = 0; i < N; i++) {
    gsl_matrix_free(x[i]);
    gsl_matrix_free(pred[i]);
    gsl_matrix_free(half[i]);
    gsl_vector_free(y[i]);
  }
  gsl_vector_free(grad);
  return bad < 1e-12 ? 0 : 1;
}
