/* mlp.c: the reference MLP autoregressor on GSL BLAS. */
#include "ref/wl.h"

#include <gsl/gsl_blas.h>
#include <math.h>
#include <stdlib.h>

size_t wl_mlp_nparams(size_t lags, size_t hidden, size_t horizon) {
  return hidden * lags + hidden + horizon * hidden + horizon;
}

wl_mlp *wl_mlp_alloc(size_t lags, size_t hidden, size_t horizon) {
  wl_mlp *m = calloc(1, sizeof *m);
  if (m == NULL) return NULL;
  m->lags = lags;
  m->hidden = hidden;
  m->horizon = horizon;
  m->theta = gsl_vector_calloc(wl_mlp_nparams(lags, hidden, horizon));
  if (m->theta == NULL) {
    free(m);
    return NULL;
  }
  return m;
}

void wl_mlp_free(wl_mlp *m) {
  if (m == NULL) return;
  gsl_vector_free(m->theta);
  free(m);
}

/* The four parameter blocks of a theta-shaped vector, as views. */
typedef struct {
  _gsl_matrix_const_view w1, w2;
  _gsl_vector_const_view b1, b2;
} blocks;

static blocks blocks_of(const wl_mlp *m, const gsl_vector *theta) {
  size_t h = m->hidden, l = m->lags, k = m->horizon, at = 0;
  blocks b;
  b.w1 = gsl_matrix_const_view_vector(theta, h, l);
  at += h * l;
  b.b1 = gsl_vector_const_subvector(theta, at, h);
  at += h;
  gsl_vector_const_view w2v = gsl_vector_const_subvector(theta, at, k * h);
  b.w2 = gsl_matrix_const_view_vector(&w2v.vector, k, h);
  at += k * h;
  b.b2 = gsl_vector_const_subvector(theta, at, k);
  return b;
}

void wl_mlp_init(wl_mlp *m, unsigned long seed) {
  gsl_rng *r = gsl_rng_alloc(gsl_rng_taus2);
  gsl_rng_set(r, seed);
  gsl_vector_set_zero(m->theta);
  double a1 = sqrt(6.0 / (double)(m->lags + m->hidden));
  double a2 = sqrt(6.0 / (double)(m->hidden + m->horizon));
  size_t n1 = m->hidden * m->lags, off2 = n1 + m->hidden, n2 = m->horizon * m->hidden;
  for (size_t i = 0; i < n1; i++) gsl_vector_set(m->theta, i, a1 * (2 * gsl_rng_uniform(r) - 1));
  for (size_t i = 0; i < n2; i++)
    gsl_vector_set(m->theta, off2 + i, a2 * (2 * gsl_rng_uniform(r) - 1));
  gsl_rng_free(r);
}

/* a = tanh(x W1^T + b1), with dropout if rng. a is rows x hidden. */
static void hidden_layer(const wl_mlp *m, const blocks *b, const gsl_matrix *x, gsl_matrix *a,
                         gsl_rng *rng) {
  gsl_blas_dgemm(CblasNoTrans, CblasTrans, 1.0, x, &b->w1.matrix, 0.0, a);
  double keep = 1.0 - m->dropout, scale = 1.0 / keep;
  int drop = rng != NULL && m->dropout > 0;
  for (size_t i = 0; i < a->size1; i++) {
    double *row = gsl_matrix_ptr(a, i, 0);
    for (size_t j = 0; j < a->size2; j++) {
      double v = tanh(row[j] + gsl_vector_get(&b->b1.vector, j));
      if (drop) v = gsl_rng_uniform(rng) < keep ? v * scale : 0.0;
      row[j] = v;
    }
  }
}

/* y = a W2^T + b2 */
static void output_layer(const blocks *b, const gsl_matrix *a, gsl_matrix *y) {
  gsl_blas_dgemm(CblasNoTrans, CblasTrans, 1.0, a, &b->w2.matrix, 0.0, y);
  for (size_t i = 0; i < y->size1; i++)
    for (size_t k = 0; k < y->size2; k++)
      *gsl_matrix_ptr(y, i, k) += gsl_vector_get(&b->b2.vector, k);
}

static int shapes_ok(const wl_mlp *m, const gsl_vector *theta, const gsl_matrix *x,
                     const gsl_matrix *y) {
  return theta->size == m->theta->size && x->size2 == m->lags && y->size1 == x->size1 &&
         y->size2 == m->horizon;
}

int wl_mlp_forward(const wl_mlp *m, const gsl_vector *theta, const gsl_matrix *x, gsl_matrix *y,
                   gsl_rng *rng) {
  if (theta == NULL) theta = m->theta;
  if (!shapes_ok(m, theta, x, y)) return GSL_EBADLEN;
  if (x->size1 == 0) return GSL_SUCCESS;
  double *scratch = ndpar_thread_scratch(x->size1 * m->hidden * sizeof(double));
  if (scratch == NULL) return GSL_ENOMEM;
  gsl_matrix_view a = gsl_matrix_view_array(scratch, x->size1, m->hidden);
  blocks b = blocks_of(m, theta);
  hidden_layer(m, &b, x, &a.matrix, rng);
  output_layer(&b, &a.matrix, y);
  return GSL_SUCCESS;
}

int wl_mlp_predict(const gsl_matrix *x, gsl_matrix *y, const ndpar_task *t, void *ctx) {
  const wl_mlp *m = ctx;
  return wl_mlp_forward(m, m->theta, x, y, t ? t->rng : NULL);
}

/* Sum over rows of g into out (out = 1^T g). */
static void column_sums(const gsl_matrix *g, gsl_vector *out) {
  gsl_vector_set_zero(out);
  for (size_t i = 0; i < g->size1; i++) {
    gsl_vector_const_view row = gsl_matrix_const_row(g, i);
    gsl_vector_add(out, &row.vector);
  }
}

int wl_mlp_loss_grad(const wl_mlp *m, const gsl_vector *theta, const gsl_matrix *x,
                     const gsl_matrix *target, gsl_vector *grad, double *loss) {
  if (theta == NULL) theta = m->theta;
  if (!shapes_ok(m, theta, x, target) || grad->size != theta->size) return GSL_EBADLEN;
  size_t rows = x->size1, h = m->hidden, k = m->horizon, l = m->lags;
  gsl_vector_set_zero(grad);
  *loss = 0;
  if (rows == 0) return GSL_SUCCESS;
  double *scratch = ndpar_thread_scratch(rows * (2 * h + k) * sizeof(double));
  if (scratch == NULL) return GSL_ENOMEM;
  gsl_matrix_view a = gsl_matrix_view_array(scratch, rows, h);
  gsl_matrix_view da = gsl_matrix_view_array(scratch + rows * h, rows, h);
  gsl_matrix_view dy = gsl_matrix_view_array(scratch + 2 * rows * h, rows, k);
  blocks b = blocks_of(m, theta);
  hidden_layer(m, &b, x, &a.matrix, NULL);
  output_layer(&b, &a.matrix, &dy.matrix);

  /* loss = mean (y - t)^2; dL/dy = 2 (y - t) / (rows * k) */
  double sum = 0, scale = 2.0 / (double)(rows * k);
  for (size_t i = 0; i < rows; i++)
    for (size_t j = 0; j < k; j++) {
      double e = gsl_matrix_get(&dy.matrix, i, j) - gsl_matrix_get(target, i, j);
      sum += e * e;
      gsl_matrix_set(&dy.matrix, i, j, scale * e);
    }
  *loss = sum / (double)(rows * k);

  size_t at = 0;
  gsl_matrix_view gw1 = gsl_matrix_view_vector(grad, h, l);
  at += h * l;
  gsl_vector_view gb1 = gsl_vector_subvector(grad, at, h);
  at += h;
  gsl_vector_view gw2v = gsl_vector_subvector(grad, at, k * h);
  gsl_matrix_view gw2 = gsl_matrix_view_vector(&gw2v.vector, k, h);
  at += k * h;
  gsl_vector_view gb2 = gsl_vector_subvector(grad, at, k);

  gsl_blas_dgemm(CblasTrans, CblasNoTrans, 1.0, &dy.matrix, &a.matrix, 0.0, &gw2.matrix);
  column_sums(&dy.matrix, &gb2.vector);
  gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, &dy.matrix, &b.w2.matrix, 0.0, &da.matrix);
  for (size_t i = 0; i < rows; i++) /* through tanh: dz = da (1 - a^2) */
    for (size_t j = 0; j < h; j++) {
      double av = gsl_matrix_get(&a.matrix, i, j);
      *gsl_matrix_ptr(&da.matrix, i, j) *= 1.0 - av * av;
    }
  gsl_blas_dgemm(CblasTrans, CblasNoTrans, 1.0, &da.matrix, x, 0.0, &gw1.matrix);
  column_sums(&da.matrix, &gb1.vector);
  return GSL_SUCCESS;
}
