/* linear.c: ridge regression and ordinary least squares, multi-output, with intercept.
 *
 * Both centre x and y on their column means (the intercept is fitted, not penalised) and
 * solve for the coefficients of the centred data, as scikit-learn's Ridge and
 * LinearRegression do:
 * - ridge, features <= rows: (Xc^T Xc + alpha I) W = Xc^T Yc by Cholesky (_solve_cholesky);
 * - ridge, features > rows: W = Xc^T D, (Xc Xc^T + alpha I) D = Yc (_solve_cholesky_kernel);
 * - least squares, or a ridge system Cholesky cannot factor: the SVD of Xc,
 *   W = V diag(s / (s^2 + alpha)) U^T Yc, singular values at or below eps s_max dropped
 *   (scipy.linalg.lstsq's default cut, and scikit-learn's fallback when Cholesky fails).
 * The intercepts are then mean(y) - mean(x) W. The solvers report failures as codes: they
 * run inside search tasks, where the GSL error handler must not be called, so the
 * Cholesky factorisation is this file's own (GSL's reports a non-positive-definite matrix
 * through the handler). */
#include "models/models_internal.h"
#include "ndpar_internal.h"

#include <gsl/gsl_blas.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_machine.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  double alpha;
  int ridge;           /* 0: least squares (no parameters) */
  gsl_matrix *coef;    /* features x outputs, once fitted */
  gsl_vector *intercept;
} linear_state;

static void linear_free(void *vs) {
  linear_state *s = vs;
  if (s == NULL) return;
  gsl_matrix_free(s->coef);
  gsl_vector_free(s->intercept);
  free(s);
}

static void *linear_clone(const void *vs) {
  const linear_state *s = vs;
  linear_state *c = calloc(1, sizeof *c);
  if (c == NULL) return NULL;
  c->alpha = s->alpha;
  c->ridge = s->ridge;
  return c;
}

static int linear_set(void *vs, const char *name, double value) {
  linear_state *s = vs;
  if (!s->ridge || strcmp(name, "alpha") != 0) return GSL_EINVAL;
  if (!(value >= 0) || !isfinite(value)) return GSL_EINVAL;
  s->alpha = value;
  return GSL_SUCCESS;
}

static int linear_get(const void *vs, const char *name, double *value) {
  const linear_state *s = vs;
  if (!s->ridge || strcmp(name, "alpha") != 0) return GSL_EINVAL;
  *value = s->alpha;
  return GSL_SUCCESS;
}

/* In-place lower Cholesky factor of the symmetric a (its lower triangle read);
 * GSL_EDOM if a is not numerically positive definite. */
static int cholesky(gsl_matrix *a) {
  size_t n = a->size1;
  for (size_t j = 0; j < n; j++) {
    double d = gsl_matrix_get(a, j, j);
    for (size_t k = 0; k < j; k++) d -= gsl_matrix_get(a, j, k) * gsl_matrix_get(a, j, k);
    if (!(d > 0)) return GSL_EDOM;
    double l = sqrt(d);
    gsl_matrix_set(a, j, j, l);
    for (size_t i = j + 1; i < n; i++) {
      double v = gsl_matrix_get(a, i, j);
      for (size_t k = 0; k < j; k++) v -= gsl_matrix_get(a, i, k) * gsl_matrix_get(a, j, k);
      gsl_matrix_set(a, i, j, v / l);
    }
  }
  return GSL_SUCCESS;
}

/* b := a^-1 b for the Cholesky factor l of a (lower), every column of b. */
static void cholesky_solve(const gsl_matrix *l, gsl_matrix *b) {
  gsl_blas_dtrsm(CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, 1.0, l, b);
  gsl_blas_dtrsm(CblasLeft, CblasLower, CblasTrans, CblasNonUnit, 1.0, l, b);
}

/* a (lower triangle) = xc^T xc and b = xc^T yc, a row of xc at a time: one pass over the
 * rows in memory order (GSL's reference BLAS walks the transposed product column by
 * column, several times slower on these tall, narrow matrices). */
static void gram(const gsl_matrix *xc, const gsl_matrix *yc, gsl_matrix *a, gsl_matrix *b) {
  size_t p = xc->size2;
  size_t k = yc->size2;
  gsl_matrix_set_zero(a);
  gsl_matrix_set_zero(b);
  for (size_t i = 0; i < xc->size1; i++) {
    const double *row = xc->data + i * xc->tda;
    const double *t = yc->data + i * yc->tda;
    for (size_t j = 0; j < p; j++) {
      double *aj = a->data + j * a->tda;
      double *bj = b->data + j * b->tda;
      for (size_t l = 0; l <= j; l++) aj[l] += row[j] * row[l];
      for (size_t o = 0; o < k; o++) bj[o] += row[j] * t[o];
    }
  }
}

/* coef = (xc^T xc + alpha I)^-1 xc^T yc, or GSL_EDOM if Cholesky fails. */
static int solve_primal(const gsl_matrix *xc, const gsl_matrix *yc, double alpha, gsl_matrix *coef) {
  size_t p = xc->size2;
  gsl_matrix *a = gsl_matrix_alloc(p, p);
  if (a == NULL) return GSL_ENOMEM;
  gram(xc, yc, a, coef);
  for (size_t i = 0; i < p; i++) *gsl_matrix_ptr(a, i, i) += alpha;
  int status = cholesky(a);
  if (status == GSL_SUCCESS) cholesky_solve(a, coef);
  gsl_matrix_free(a);
  return status;
}

/* coef = xc^T (xc xc^T + alpha I)^-1 yc, or GSL_EDOM if Cholesky fails. */
static int solve_kernel(const gsl_matrix *xc, const gsl_matrix *yc, double alpha, gsl_matrix *coef) {
  size_t n = xc->size1;
  gsl_matrix *k = gsl_matrix_alloc(n, n);
  gsl_matrix *dual = gsl_matrix_alloc(n, yc->size2);
  int status = GSL_ENOMEM;
  if (k != NULL && dual != NULL) {
    gsl_blas_dgemm(CblasNoTrans, CblasTrans, 1.0, xc, xc, 0.0, k);
    for (size_t i = 0; i < n; i++) *gsl_matrix_ptr(k, i, i) += alpha;
    status = cholesky(k);
    if (status == GSL_SUCCESS) {
      gsl_matrix_memcpy(dual, yc);
      cholesky_solve(k, dual);
      gsl_blas_dgemm(CblasTrans, CblasNoTrans, 1.0, xc, dual, 0.0, coef);
    }
  }
  gsl_matrix_free(k);
  gsl_matrix_free(dual);
  return status;
}

/* The SVD solution: coef = V diag(s / (s^2 + alpha)) U^T yc over the singular values
 * above eps s_max. GSL's SVD needs rows >= columns: a wide xc is decomposed transposed
 * (xc^T = U S V^T, so xc = V S U^T and the roles of U and V swap). */
static int solve_svd(const gsl_matrix *xc, const gsl_matrix *yc, double alpha, gsl_matrix *coef) {
  int wide = xc->size1 < xc->size2;
  size_t m = wide ? xc->size2 : xc->size1;
  size_t r = wide ? xc->size1 : xc->size2;
  gsl_matrix *u = gsl_matrix_alloc(m, r); /* xc (or xc^T) = u diag(s) v^T */
  gsl_matrix *v = gsl_matrix_alloc(r, r);
  gsl_vector *s = gsl_vector_alloc(r);
  gsl_vector *work = gsl_vector_alloc(r);
  gsl_matrix *t = gsl_matrix_alloc(r, yc->size2);
  int status = GSL_ENOMEM;
  if (u != NULL && v != NULL && s != NULL && work != NULL && t != NULL) {
    if (wide)
      gsl_matrix_transpose_memcpy(u, xc);
    else
      gsl_matrix_memcpy(u, xc);
    status = gsl_linalg_SV_decomp(u, v, s, work);
  }
  if (status == GSL_SUCCESS) {
    /* left = the factor whose columns span xc's column space (rows of xc): u, or v if wide */
    const gsl_matrix *left = wide ? v : u;
    const gsl_matrix *right = wide ? u : v;
    gsl_blas_dgemm(CblasTrans, CblasNoTrans, 1.0, left, yc, 0.0, t);
    double cut = GSL_DBL_EPSILON * gsl_vector_get(s, 0);
    for (size_t i = 0; i < r; i++) {
      double si = gsl_vector_get(s, i);
      double f = si > cut ? si / (si * si + alpha) : 0.0;
      gsl_vector_view row = gsl_matrix_row(t, i);
      gsl_vector_scale(&row.vector, f);
    }
    gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, right, t, 0.0, coef);
  }
  gsl_matrix_free(u);
  gsl_matrix_free(v);
  gsl_vector_free(s);
  gsl_vector_free(work);
  gsl_matrix_free(t);
  return status;
}

/* Column means of a into mean, and a centred in place (row by row, in memory order). */
static void centre(gsl_matrix *a, gsl_vector *mean) {
  size_t cols = a->size2;
  gsl_vector_set_zero(mean);
  for (size_t i = 0; i < a->size1; i++) {
    const double *row = a->data + i * a->tda;
    for (size_t j = 0; j < cols; j++) mean->data[j * mean->stride] += row[j];
  }
  gsl_vector_scale(mean, 1.0 / (double)a->size1);
  for (size_t i = 0; i < a->size1; i++) {
    double *row = a->data + i * a->tda;
    for (size_t j = 0; j < cols; j++) row[j] -= mean->data[j * mean->stride];
  }
}

static int solve(const linear_state *s, const gsl_matrix *xc, const gsl_matrix *yc,
                 gsl_matrix *coef) {
  if (!s->ridge || s->alpha == 0) return solve_svd(xc, yc, 0.0, coef);
  int status = xc->size2 <= xc->size1 ? solve_primal(xc, yc, s->alpha, coef)
                                      : solve_kernel(xc, yc, s->alpha, coef);
  if (status == GSL_EDOM) status = solve_svd(xc, yc, s->alpha, coef);
  return status;
}

static int linear_fit(ndpar_pool *p, void *vs, const gsl_matrix *x, const gsl_matrix *y,
                      size_t *outputs) {
  (void)p;
  linear_state *s = vs;
  size_t n = x->size1;
  size_t f = x->size2;
  size_t k = y->size2;
  gsl_matrix *xc = gsl_matrix_alloc(n, f);
  gsl_matrix *yc = gsl_matrix_alloc(n, k);
  gsl_vector *xmean = gsl_vector_alloc(f);
  gsl_matrix *coef = gsl_matrix_alloc(f, k);
  gsl_vector *intercept = gsl_vector_alloc(k);
  int status = GSL_ENOMEM;
  if (xc != NULL && yc != NULL && xmean != NULL && coef != NULL && intercept != NULL) {
    gsl_matrix_memcpy(xc, x);
    gsl_matrix_memcpy(yc, y);
    centre(xc, xmean);
    centre(yc, intercept); /* the y means, from which the intercepts follow */
    status = solve(s, xc, yc, coef);
  }
  if (status == GSL_SUCCESS) {
    /* intercept = mean(y) - mean(x) coef */
    gsl_blas_dgemv(CblasTrans, -1.0, coef, xmean, 1.0, intercept);
    gsl_matrix_free(s->coef);
    gsl_vector_free(s->intercept);
    s->coef = coef;
    s->intercept = intercept;
    coef = NULL;
    intercept = NULL;
    *outputs = k;
  }
  gsl_matrix_free(xc);
  gsl_matrix_free(yc);
  gsl_vector_free(xmean);
  gsl_matrix_free(coef);
  gsl_vector_free(intercept);
  return status;
}

/* y = x coef + intercept, a row at a time (a row batch of a few outputs: plain loops beat
 * the reference BLAS's dgemm call overhead and strides). */
static int linear_predict(const void *vs, const gsl_matrix *x, gsl_matrix *y, gsl_rng *rng) {
  (void)rng;
  const linear_state *s = vs;
  size_t p = x->size2;
  size_t k = y->size2;
  for (size_t i = 0; i < x->size1; i++) {
    const double *row = x->data + i * x->tda;
    double *out = y->data + i * y->tda;
    for (size_t o = 0; o < k; o++) out[o] = s->intercept->data[o * s->intercept->stride];
    for (size_t j = 0; j < p; j++) {
      const double *w = s->coef->data + j * s->coef->tda;
      for (size_t o = 0; o < k; o++) out[o] += row[j] * w[o];
    }
  }
  return GSL_SUCCESS;
}

static int linear_save(const void *vs, ndpar_model_archive *a) {
  const linear_state *s = vs;
  int status = ndpar_model_archive_put(a, "coef", s->coef);
  gsl_matrix_const_view b = gsl_matrix_const_view_vector(s->intercept, 1, s->intercept->size);
  if (status == GSL_SUCCESS) status = ndpar_model_archive_put(a, "intercept", &b.matrix);
  return status;
}

static int linear_load(void *vs, const ndpar_model_archive *a) {
  linear_state *s = vs;
  gsl_matrix *coef = NULL;
  gsl_matrix *b = NULL;
  int status = ndpar_model_archive_get(a, "coef", &coef);
  if (status == GSL_SUCCESS) status = ndpar_model_archive_get(a, "intercept", &b);
  if (status == GSL_SUCCESS && (b->size1 != 1 || b->size2 != coef->size2)) status = GSL_EBADLEN;
  gsl_vector *intercept = NULL;
  if (status == GSL_SUCCESS) {
    intercept = gsl_vector_alloc(b->size2);
    if (intercept == NULL) status = GSL_ENOMEM;
  }
  if (status == GSL_SUCCESS) {
    gsl_vector_view row = gsl_matrix_row(b, 0);
    gsl_vector_memcpy(intercept, &row.vector);
    gsl_matrix_free(s->coef);
    gsl_vector_free(s->intercept);
    s->coef = coef;
    s->intercept = intercept;
    coef = NULL;
  }
  gsl_matrix_free(coef);
  gsl_matrix_free(b);
  return status;
}

void models_linear_shape(const void *vs, size_t *inputs, size_t *outputs) {
  const linear_state *s = vs;
  *inputs = s->coef != NULL ? s->coef->size1 : 0;
  *outputs = s->coef != NULL ? s->coef->size2 : 0;
}

static const char *const ridge_params[] = {"alpha", NULL};

const ndpar_model_type models_ridge_type = {
    "ridge", NDPAR_MODEL_REGRESSOR, ridge_params, linear_clone, linear_free, linear_set,
    linear_get, linear_fit, linear_predict, 0, linear_save, linear_load};

const ndpar_model_type models_linear_type = {
    "linear", NDPAR_MODEL_REGRESSOR, NULL, linear_clone, linear_free, linear_set,
    linear_get, linear_fit, linear_predict, 0, linear_save, linear_load};

ndpar_model *ndpar_ridge_alloc(double alpha) {
  if (!(alpha >= 0) || !isfinite(alpha))
    NDPAR_ERROR_NULL_FMT(GSL_EINVAL, "ridge_alloc: alpha is %g, must be finite and >= 0", alpha);
  linear_state *s = calloc(1, sizeof *s);
  NDPAR_REQUIRE_NULL(s != NULL, "ridge_alloc: out of memory", GSL_ENOMEM);
  s->alpha = alpha;
  s->ridge = 1;
  ndpar_model *m = models_wrap(&models_ridge_type, s);
  NDPAR_REQUIRE_NULL(m != NULL, "ridge_alloc: out of memory", GSL_ENOMEM);
  return m;
}

ndpar_model *ndpar_linear_alloc(void) {
  linear_state *s = calloc(1, sizeof *s);
  NDPAR_REQUIRE_NULL(s != NULL, "linear_alloc: out of memory", GSL_ENOMEM);
  ndpar_model *m = models_wrap(&models_linear_type, s);
  NDPAR_REQUIRE_NULL(m != NULL, "linear_alloc: out of memory", GSL_ENOMEM);
  return m;
}

int ndpar_model_coef(const ndpar_model *m, const gsl_matrix **coef, const gsl_vector **intercept) {
  NDPAR_REQUIRE(m != NULL, "model_coef: m is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(coef != NULL, "model_coef: coef is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(intercept != NULL, "model_coef: intercept is NULL", GSL_EFAULT);
  if (m->type != &models_ridge_type && m->type != &models_linear_type)
    NDPAR_ERROR_FMT(GSL_EINVAL, "model_coef: m (%s) is not a linear model", m->type->name);
  NDPAR_REQUIRE(m->fitted, "model_coef: m is not fitted", GSL_EINVAL);
  const linear_state *s = m->state;
  *coef = s->coef;
  *intercept = s->intercept;
  return GSL_SUCCESS;
}
