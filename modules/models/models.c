/* models.c: the model object: parameters, clone, fit, predict, MC, scores, forecasts. */
#include "models/models_internal.h"
#include "ndpar_internal.h"

#include "ndpar/ndpar_batch.h"

#include <gsl/gsl_machine.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- the object ---------------------------------------------------------------------- */

ndpar_model *models_wrap(const ndpar_model_type *type, void *state) {
  ndpar_model *m = calloc(1, sizeof *m);
  if (m == NULL) {
    type->free(state);
    return NULL;
  }
  m->type = type;
  m->state = state;
  return m;
}

ndpar_model *ndpar_model_define(const ndpar_model_type *type, void *state) {
  NDPAR_REQUIRE_NULL(type != NULL, "model_define: type is NULL", GSL_EFAULT);
  NDPAR_REQUIRE_NULL(state != NULL, "model_define: state is NULL", GSL_EFAULT);
  NDPAR_REQUIRE_NULL(type->name != NULL && type->name[0] != '\0',
                     "model_define: type->name is NULL or empty", GSL_EFAULT);
  NDPAR_REQUIRE_NULL(type->clone != NULL && type->free != NULL && type->set != NULL &&
                         type->get != NULL && type->fit != NULL && type->predict != NULL,
                     "model_define: type->clone, free, set, get, fit or predict is NULL",
                     GSL_EFAULT);
  NDPAR_REQUIRE_NULL((type->save == NULL) == (type->load == NULL),
                     "model_define: type->save and type->load must both be set or both NULL",
                     GSL_EFAULT);
  NDPAR_REQUIRE_NULL(type->kind == NDPAR_MODEL_REGRESSOR || type->kind == NDPAR_MODEL_TRANSFORMER,
                     "model_define: type->kind is neither a regressor nor a transformer", GSL_EINVAL);
  NDPAR_REQUIRE_NULL(strchr(type->name, '.') == NULL,
                     "model_define: type->name must not contain '.'", GSL_EINVAL);
  ndpar_model *m = calloc(1, sizeof *m);
  NDPAR_REQUIRE_NULL(m != NULL, "model_define: out of memory", GSL_ENOMEM);
  m->type = type;
  m->state = state;
  m->user = 1;
  return m;
}

void *ndpar_model_state(const ndpar_model *m) {
  return m != NULL && m->user ? m->state : NULL;
}

void ndpar_model_free(ndpar_model *m) {
  if (m == NULL) return;
  m->type->free(m->state);
  free(m);
}

const char *ndpar_model_name(const ndpar_model *m) {
  return m != NULL ? m->type->name : NULL;
}

int ndpar_model_fitted(const ndpar_model *m) {
  return m != NULL && m->fitted;
}

size_t ndpar_model_inputs(const ndpar_model *m) {
  return m != NULL && m->fitted ? m->inputs : 0;
}

size_t ndpar_model_outputs(const ndpar_model *m) {
  return m != NULL && m->fitted ? m->outputs : 0;
}

int models_stochastic(const ndpar_model *m) {
  if (!models_is_chain(m)) return m->type->stochastic;
  for (size_t i = 0; i < models_chain_size(m); i++)
    if (models_stochastic(ndpar_chain_step(m, i))) return 1;
  return 0;
}

/* ---- parameters ---------------------------------------------------------------------- */

/* name without a leading "<type>." (the type's own prefix is optional). */
static const char *short_name(const ndpar_model *m, const char *name) {
  size_t len = strlen(m->type->name);
  if (strncmp(name, m->type->name, len) == 0 && name[len] == '.') return name + len + 1;
  return name;
}

int models_set(ndpar_model *m, const char *name, double value) {
  int status = m->type->set(m->state, short_name(m, name), value);
  if (status == GSL_SUCCESS) {
    m->fitted = 0;
    m->inputs = 0;
    m->outputs = 0;
  }
  return status;
}

int ndpar_model_set(ndpar_model *m, const char *name, double value) {
  NDPAR_REQUIRE(m != NULL, "model_set: m is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(name != NULL, "model_set: name is NULL", GSL_EFAULT);
  if (models_set(m, name, value) != GSL_SUCCESS)
    NDPAR_ERROR_FMT(GSL_EINVAL, "model_set: name \"%s\" is no parameter of m (%s), or value %.17g is refused",
                    name, m->type->name, value);
  return GSL_SUCCESS;
}

int models_get(const ndpar_model *m, const char *name, double *value) {
  return m->type->get(m->state, short_name(m, name), value);
}

int ndpar_model_get(const ndpar_model *m, const char *name, double *value) {
  NDPAR_REQUIRE(m != NULL, "model_get: m is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(name != NULL, "model_get: name is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(value != NULL, "model_get: value is NULL", GSL_EFAULT);
  double got = 0;
  if (models_get(m, name, &got) != GSL_SUCCESS)
    NDPAR_ERROR_FMT(GSL_EINVAL, "model_get: name \"%s\" is no parameter of m (%s)", name, m->type->name);
  *value = got;
  return GSL_SUCCESS;
}

ndpar_model *models_clone(const ndpar_model *m) {
  void *state = m->type->clone(m->state);
  if (state == NULL) return NULL;
  ndpar_model *c = calloc(1, sizeof *c);
  if (c == NULL) {
    m->type->free(state);
    return NULL;
  }
  c->type = m->type;
  c->state = state;
  c->user = m->user;
  return c;
}

ndpar_model *ndpar_model_clone(const ndpar_model *m) {
  NDPAR_REQUIRE_NULL(m != NULL, "model_clone: m is NULL", GSL_EFAULT);
  ndpar_model *c = models_clone(m);
  NDPAR_REQUIRE_NULL(c != NULL, "model_clone: out of memory", GSL_ENOMEM);
  return c;
}

/* ---- fit ----------------------------------------------------------------------------- */

int models_all_finite(const gsl_matrix *x) {
  for (size_t i = 0; i < x->size1; i++) {
    const double *row = gsl_matrix_const_ptr(x, i, 0);
    for (size_t j = 0; j < x->size2; j++)
      if (!isfinite(row[j])) return 0;
  }
  return 1;
}

int models_fit(ndpar_pool *p, ndpar_model *m, const gsl_matrix *x, const gsl_matrix *y) {
  m->fitted = 0;
  m->inputs = 0;
  m->outputs = 0;
  size_t outputs = 0;
  /* quiet: what the type calls reports through the caller's code, never the handler */
  int before = ndpar_tls_quiet;
  ndpar_tls_quiet = 1;
  int status = m->type->fit(p, m->state, x, y, &outputs);
  ndpar_tls_quiet = before;
  if (status != GSL_SUCCESS) return status;
  m->fitted = 1;
  m->inputs = x->size2;
  m->outputs = outputs;
  return GSL_SUCCESS;
}

/* The checks every fit shares; y may be NULL for a transformer. */
int models_check_fit(const char *who, const ndpar_model *m, const gsl_matrix *x,
                     const gsl_matrix *y) {
  if (m == NULL) NDPAR_ERROR_FMT(GSL_EFAULT, "%s: m is NULL", who);
  if (x == NULL) NDPAR_ERROR_FMT(GSL_EFAULT, "%s: x is NULL", who);
  if (x->size1 == 0 || x->size2 == 0)
    NDPAR_ERROR_FMT(GSL_EINVAL, "%s: x is %zu x %zu, needs rows and columns", who, x->size1,
                    x->size2);
  if (y == NULL && m->type->kind == NDPAR_MODEL_REGRESSOR)
    NDPAR_ERROR_FMT(GSL_EFAULT, "%s: y is NULL and %s needs targets", who, m->type->name);
  if (y != NULL && y->size1 != x->size1)
    NDPAR_ERROR_FMT(GSL_EBADLEN, "%s: y has %zu rows, x has %zu", who, y->size1, x->size1);
  if (!models_all_finite(x)) NDPAR_ERROR_FMT(GSL_EDOM, "%s: x holds NaN or Inf", who);
  if (y != NULL && !models_all_finite(y)) NDPAR_ERROR_FMT(GSL_EDOM, "%s: y holds NaN or Inf", who);
  return GSL_SUCCESS;
}

int ndpar_model_fit(ndpar_pool *p, ndpar_model *m, const gsl_matrix *x, const gsl_matrix *y) {
  int status = models_check_fit("model_fit", m, x, y);
  if (status) return status;
  ndpar_error_forget();
  status = models_fit(p, m, x, y);
  if (status) {
    const ndpar_error_info *inner = ndpar_error_last();
    NDPAR_ERROR_FMT(status, "model_fit: fitting %s failed: %s", m->type->name,
                    inner->code != 0 ? inner->message : gsl_strerror(status));
  }
  return GSL_SUCCESS;
}

/* A vector as a one-column matrix over its elements, whatever its stride (GSL's
 * gsl_matrix_view_vector_with_tda takes only unit strides): row i is element i, tda the
 * stride. */
static gsl_matrix models_column_of(const gsl_vector *v) {
  gsl_matrix m = {v->size, 1, v->stride, v->data, NULL, 0};
  return m;
}

int ndpar_model_fit_vector(ndpar_pool *p, ndpar_model *m, const gsl_matrix *x,
                           const gsl_vector *y) {
  NDPAR_REQUIRE(y != NULL, "model_fit_vector: y is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(y->size > 0, "model_fit_vector: y is empty", GSL_EINVAL);
  gsl_matrix ym = models_column_of(y);
  return ndpar_model_fit(p, m, x, &ym);
}

/* ---- predict ------------------------------------------------------------------------- */

int models_predict_batch(const ndpar_model *m, const gsl_matrix *x, gsl_matrix *y, gsl_rng *rng) {
  return m->type->predict(m->state, x, y, rng);
}

int ndpar_model_predict_fn(const gsl_matrix *x, gsl_matrix *y, const ndpar_task *t, void *ctx) {
  const ndpar_model *m = ctx;
  if (m == NULL || !m->fitted) return GSL_EINVAL;
  if (x == NULL || y == NULL) return GSL_EFAULT;
  if (x->size2 != m->inputs || y->size2 != m->outputs || y->size1 != x->size1)
    return GSL_EBADLEN;
  return models_predict_batch(m, x, y, t != NULL ? t->rng : NULL);
}

static int check_predict(const char *who, const ndpar_model *m, const gsl_matrix *x,
                         const gsl_matrix *y, const char *yname) {
  if (m == NULL) NDPAR_ERROR_FMT(GSL_EFAULT, "%s: m is NULL", who);
  if (x == NULL) NDPAR_ERROR_FMT(GSL_EFAULT, "%s: x is NULL", who);
  if (y == NULL) NDPAR_ERROR_FMT(GSL_EFAULT, "%s: %s is NULL", who, yname);
  if (!m->fitted) NDPAR_ERROR_FMT(GSL_EINVAL, "%s: m (%s) is not fitted", who, m->type->name);
  if (x->size2 != m->inputs)
    NDPAR_ERROR_FMT(GSL_EBADLEN, "%s: x has %zu columns, the model was fitted on %zu", who,
                    x->size2, m->inputs);
  if (y->size1 != x->size1 || y->size2 != m->outputs)
    NDPAR_ERROR_FMT(GSL_EBADLEN, "%s: %s is %zu x %zu, needs %zu x %zu", who, yname, y->size1,
                    y->size2, x->size1, m->outputs);
  return GSL_SUCCESS;
}

/* Rows per parallel predict task: about four tasks per thread, at least 64 rows. */
static size_t predict_batch_rows(ndpar_pool *p, size_t rows) {
  ndpar_pool *pool = p != NULL ? p : ndpar_pool_default();
  size_t threads = pool != NULL ? ndpar_pool_threads(pool) : 1;
  size_t per = rows / (4 * threads) + 1;
  return per < 64 ? 64 : per;
}

int ndpar_model_predict(ndpar_pool *p, const ndpar_model *m, const gsl_matrix *x, gsl_matrix *y) {
  int status = check_predict("model_predict", m, x, y, "y");
  if (status) return status;
  if (x->size1 == 0) return GSL_SUCCESS;
  status = ndpar_batch_infer_rows(p, x, predict_batch_rows(p, x->size1), y,
                                  ndpar_model_predict_fn, (void *)m, NULL);
  if (status)
    NDPAR_ERROR_FMT(status, "model_predict: %s failed: %s", m->type->name, gsl_strerror(status));
  return GSL_SUCCESS;
}

int ndpar_model_predict_vector(ndpar_pool *p, const ndpar_model *m, const gsl_matrix *x,
                               gsl_vector *y) {
  NDPAR_REQUIRE(y != NULL, "model_predict_vector: y is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(y->size > 0, "model_predict_vector: y is empty", GSL_EBADLEN);
  gsl_matrix ym = models_column_of(y);
  return ndpar_model_predict(p, m, x, &ym);
}

/* MC passes run over row batches of a fixed size, so the streams (seed, batch, sample)
 * and hence the result do not depend on the thread count. */
#define MC_BATCH_ROWS 256

/* Row-batch views of x and of up to four outputs (NULL: none), as the batch module takes
 * them: outs[o][i] is batch i of output o. */
typedef struct {
  size_t n;
  _gsl_matrix_const_view *xv;
  const gsl_matrix **xs;
  _gsl_matrix_view *ov[4];
  gsl_matrix **os[4];
} mc_views;

static void mc_views_free(mc_views *v) {
  free(v->xv);
  free(v->xs);
  for (int o = 0; o < 4; o++) {
    free(v->ov[o]);
    free(v->os[o]);
  }
}

static int mc_views_of(mc_views *v, const gsl_matrix *x, gsl_matrix *const outs[4]) {
  memset(v, 0, sizeof *v);
  v->n = ndpar_rows_nbatches(x->size1, MC_BATCH_ROWS);
  v->xv = malloc(v->n * sizeof *v->xv);
  v->xs = malloc(v->n * sizeof *v->xs);
  int ok = v->xv != NULL && v->xs != NULL;
  for (int o = 0; o < 4 && ok; o++) {
    if (outs[o] == NULL) continue;
    v->ov[o] = malloc(v->n * sizeof *v->ov[o]);
    v->os[o] = malloc(v->n * sizeof *v->os[o]);
    ok = v->ov[o] != NULL && v->os[o] != NULL;
  }
  if (!ok) {
    mc_views_free(v);
    return GSL_ENOMEM;
  }
  for (size_t i = 0; i < v->n; i++) {
    v->xv[i] = ndpar_rows_batch_const(x, MC_BATCH_ROWS, i);
    v->xs[i] = &v->xv[i].matrix;
    for (int o = 0; o < 4; o++) {
      if (outs[o] == NULL) continue;
      v->ov[o][i] = ndpar_rows_batch(outs[o], MC_BATCH_ROWS, i);
      v->os[o][i] = &v->ov[o][i].matrix;
    }
  }
  return GSL_SUCCESS;
}

/* The checks the MC forms share: m, x, mean as for predict; each other output (NULL: not
 * asked for) of mean's shape; samples; a model with stochastic passes. */
static int check_mc(const char *who, const ndpar_model *m, const gsl_matrix *x,
                    gsl_matrix *const outs[4], const char *const names[4], size_t samples) {
  int status = check_predict(who, m, x, outs[0], names[0]);
  if (status) return status;
  for (int o = 1; o < 4; o++)
    if (outs[o] != NULL && (outs[o]->size1 != outs[0]->size1 || outs[o]->size2 != outs[0]->size2))
      NDPAR_ERROR_FMT(GSL_EBADLEN, "%s: %s is %zu x %zu, mean %zu x %zu", who, names[o],
                      outs[o]->size1, outs[o]->size2, outs[0]->size1, outs[0]->size2);
  for (int a = 0; a < 4; a++)
    for (int b = a + 1; b < 4; b++)
      if (outs[a] != NULL && outs[b] != NULL && outs[a]->data != NULL && outs[a]->data == outs[b]->data)
        NDPAR_ERROR_FMT(GSL_EINVAL, "%s: %s and %s are the same matrix", who, names[a], names[b]);
  if (samples == 0) NDPAR_ERROR_FMT(GSL_EINVAL, "%s: samples must be positive", who);
  /* the batch module's workspace holds every sample: refused here, reported once */
  size_t elems;
  if (!ndpar_size_mul3(x->size1, m->outputs, samples, &elems) || elems > SIZE_MAX / sizeof(double))
    NDPAR_ERROR_FMT(GSL_EINVAL, "%s: samples %zu of x's rows x outputs overflow a size_t", who, samples);
  if (!models_stochastic(m))
    NDPAR_ERROR_FMT(GSL_EINVAL, "%s: m (%s) has no stochastic passes", who, m->type->name);
  return GSL_SUCCESS;
}

/* The MC run over x's row batches: mean, sd, lower, upper in outs (any but mean NULL). */
static int run_mc(const char *who, ndpar_pool *p, const ndpar_model *m, const gsl_matrix *x,
                  size_t samples, unsigned long seed, double level, gsl_matrix *const outs[4]) {
  if (x->size1 == 0) return GSL_SUCCESS;
  mc_views v;
  if (mc_views_of(&v, x, outs) != GSL_SUCCESS) NDPAR_ERROR_FMT(GSL_ENOMEM, "%s: out of memory", who);
  int status = (ndpar_batch_infer_mc_interval)(p, v.xs, v.n, samples, seed, level,
                                               ndpar_model_predict_fn, (void *)m, v.os[0], v.os[1],
                                               v.os[2], v.os[3], NULL);
  mc_views_free(&v);
  if (status) NDPAR_ERROR_FMT(status, "%s: %s failed: %s", who, m->type->name, gsl_strerror(status));
  return GSL_SUCCESS;
}

int ndpar_model_predict_mc(ndpar_pool *p, const ndpar_model *m, const gsl_matrix *x,
                           size_t samples, unsigned long seed, gsl_matrix *mean, gsl_matrix *sd) {
  gsl_matrix *const outs[4] = {mean, sd, NULL, NULL};
  const char *const names[4] = {"mean", "sd", "", ""};
  int status = check_mc("model_predict_mc", m, x, outs, names, samples);
  if (status) return status;
  NDPAR_REQUIRE(sd == NULL || samples >= 2, "model_predict_mc: sd needs samples >= 2", GSL_EINVAL);
  return run_mc("model_predict_mc", p, m, x, samples, seed, 0.0, outs);
}

int ndpar_model_predict_interval(ndpar_pool *p, const ndpar_model *m, const gsl_matrix *x,
                                 size_t samples, unsigned long seed, double level,
                                 gsl_matrix *mean, gsl_matrix *lower, gsl_matrix *upper) {
  NDPAR_REQUIRE(lower != NULL, "model_predict_interval: lower is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(upper != NULL, "model_predict_interval: upper is NULL", GSL_EFAULT);
  gsl_matrix *const outs[4] = {mean, NULL, lower, upper};
  const char *const names[4] = {"mean", "", "lower", "upper"};
  int status = check_mc("model_predict_interval", m, x, outs, names, samples);
  if (status) return status;
  NDPAR_REQUIRE(level > 0 && level < 1, "model_predict_interval: level must be in (0, 1)", GSL_EINVAL);
  return run_mc("model_predict_interval", p, m, x, samples, seed, level, outs);
}

/* ---- scores -------------------------------------------------------------------------- */

/* One output column's score; the kinds other than R^2 are means over every element, so
 * their per-column values are averaged with equal weight (every column has the same rows),
 * as scikit-learn's multioutput="uniform_average". */
static double column_score(ndpar_score_kind kind, const gsl_matrix *y, const gsl_matrix *p,
                           size_t j) {
  size_t n = y->size1;
  double sum = 0;
  if (kind == NDPAR_SCORE_R2) {
    double mean = 0;
    for (size_t i = 0; i < n; i++) mean += gsl_matrix_get(y, i, j);
    mean /= (double)n;
    double ss_res = 0;
    double ss_tot = 0;
    for (size_t i = 0; i < n; i++) {
      double e = gsl_matrix_get(y, i, j) - gsl_matrix_get(p, i, j);
      double d = gsl_matrix_get(y, i, j) - mean;
      ss_res += e * e;
      ss_tot += d * d;
    }
    /* scikit-learn's r2_score: a constant truth scores 1 when predicted exactly, else 0 */
    if (ss_tot == 0) return ss_res == 0 ? 1.0 : 0.0;
    return 1.0 - ss_res / ss_tot;
  }
  for (size_t i = 0; i < n; i++) {
    double t = gsl_matrix_get(y, i, j);
    double e = t - gsl_matrix_get(p, i, j);
    if (kind == NDPAR_SCORE_NEG_MSE) sum += e * e;
    if (kind == NDPAR_SCORE_NEG_MAE) sum += fabs(e);
    /* scikit-learn's mean_absolute_percentage_error: |e| / max(|t|, machine epsilon) */
    if (kind == NDPAR_SCORE_NEG_MAPE) sum += fabs(e) / fmax(fabs(t), GSL_DBL_EPSILON);
  }
  return -sum / (double)n;
}

/* The score without checks (worker-safe). */
static double score_of(ndpar_score_kind kind, const gsl_matrix *y, const gsl_matrix *p) {
  double sum = 0;
  for (size_t j = 0; j < y->size2; j++) sum += column_score(kind, y, p, j);
  return sum / (double)y->size2;
}

int models_score_kind_ok(ndpar_score_kind kind) {
  return kind == NDPAR_SCORE_NEG_MSE || kind == NDPAR_SCORE_NEG_MAE || kind == NDPAR_SCORE_R2 ||
         kind == NDPAR_SCORE_NEG_MAPE;
}

int ndpar_score(ndpar_score_kind kind, const gsl_matrix *y, const gsl_matrix *p, double *score) {
  NDPAR_REQUIRE(y != NULL, "score: y is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(p != NULL, "score: p is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(score != NULL, "score: score is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(models_score_kind_ok(kind), "score: unknown kind", GSL_EINVAL);
  if (p->size1 != y->size1 || p->size2 != y->size2)
    NDPAR_ERROR_FMT(GSL_EBADLEN, "score: p is %zu x %zu, y %zu x %zu", p->size1, p->size2,
                    y->size1, y->size2);
  NDPAR_REQUIRE(y->size1 > 0, "score: y has no rows", GSL_EINVAL);
  *score = score_of(kind, y, p);
  return GSL_SUCCESS;
}

/* Predicts x with m into a new matrix and scores it against y, worker-safe. */
int models_score_quiet(const ndpar_model *m, ndpar_score_kind kind, const gsl_matrix *x,
                             const gsl_matrix *y, double *score) {
  gsl_matrix *pred = gsl_matrix_alloc(y->size1, y->size2);
  if (pred == NULL) return GSL_ENOMEM;
  int status = models_predict_batch(m, x, pred, NULL);
  if (status == GSL_SUCCESS) *score = score_of(kind, y, pred);
  gsl_matrix_free(pred);
  return status;
}

int ndpar_model_score(ndpar_pool *p, const ndpar_model *m, ndpar_score_kind kind,
                      const gsl_matrix *x, const gsl_matrix *y, double *score) {
  NDPAR_REQUIRE(score != NULL, "model_score: score is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(models_score_kind_ok(kind), "model_score: unknown kind", GSL_EINVAL);
  int status = check_predict("model_score", m, x, y, "y");
  if (status) return status;
  NDPAR_REQUIRE(x->size1 > 0, "model_score: x has no rows", GSL_EINVAL);
  gsl_matrix *pred = gsl_matrix_alloc(y->size1, y->size2);
  NDPAR_REQUIRE(pred != NULL, "model_score: out of memory", GSL_ENOMEM);
  status = ndpar_model_predict(p, m, x, pred);
  if (status == GSL_SUCCESS) *score = score_of(kind, y, pred);
  gsl_matrix_free(pred);
  return status;
}

/* ---- cross-validation ---------------------------------------------------------------- *
 * ndpar_cv_run gathers a fold's rows of one matrix and one vector. The model's targets are
 * a matrix, so the folds run over [x | y] side by side (one copy), with a dummy vector, and
 * each task splits its rows back into views of x and y. */

typedef struct {
  const ndpar_model *model;
  size_t inputs;
  ndpar_score_kind kind;
} cv_ctx;

static int cv_task(const gsl_matrix *tr, const gsl_vector *ytr, const gsl_matrix *va,
                   const gsl_vector *yva, double *score, const ndpar_task *t, void *vc) {
  (void)ytr;
  (void)yva;
  (void)t;
  const cv_ctx *c = vc;
  _gsl_matrix_const_view xtr;
  _gsl_matrix_const_view ytrm;
  _gsl_matrix_const_view xva;
  _gsl_matrix_const_view yvam;
  models_split_xy(tr, c->inputs, &xtr, &ytrm);
  models_split_xy(va, c->inputs, &xva, &yvam);
  ndpar_model *clone = models_clone(c->model);
  if (clone == NULL) return GSL_ENOMEM;
  /* a fit inside a task runs its parallel parts inline on this worker (NULL pool) */
  int status = models_fit(NULL, clone, &xtr.matrix, &ytrm.matrix);
  if (status == GSL_SUCCESS) status = models_score_quiet(clone, c->kind, &xva.matrix, &yvam.matrix, score);
  ndpar_model_free(clone);
  return status;
}

int models_side_by_side(const gsl_matrix *x, const gsl_matrix *y, gsl_matrix **xy) {
  gsl_matrix *both = gsl_matrix_alloc(x->size1, x->size2 + y->size2);
  if (both == NULL) return GSL_ENOMEM;
  gsl_matrix_view left = gsl_matrix_submatrix(both, 0, 0, x->size1, x->size2);
  gsl_matrix_view right = gsl_matrix_submatrix(both, 0, x->size2, x->size1, y->size2);
  gsl_matrix_memcpy(&left.matrix, x);
  gsl_matrix_memcpy(&right.matrix, y);
  *xy = both;
  return GSL_SUCCESS;
}

void models_split_xy(const gsl_matrix *xy, size_t inputs, _gsl_matrix_const_view *x,
                     _gsl_matrix_const_view *y) {
  *x = gsl_matrix_const_submatrix(xy, 0, 0, xy->size1, inputs);
  *y = gsl_matrix_const_submatrix(xy, 0, inputs, xy->size1, xy->size2 - inputs);
}

int ndpar_model_cross_validate(ndpar_pool *p, const ndpar_model *m, const gsl_matrix *x,
                               const gsl_matrix *y, const ndpar_folds *folds,
                               ndpar_score_kind kind, gsl_vector *scores) {
  int status = models_check_fit("model_cross_validate", m, x, y);
  if (status) return status;
  NDPAR_REQUIRE(y != NULL, "model_cross_validate: y is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(folds != NULL, "model_cross_validate: folds is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(scores != NULL, "model_cross_validate: scores is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(models_score_kind_ok(kind), "model_cross_validate: unknown kind", GSL_EINVAL);
  if (ndpar_folds_samples(folds) != x->size1)
    NDPAR_ERROR_FMT(GSL_EBADLEN, "model_cross_validate: folds are of %zu samples, x has %zu rows",
                    ndpar_folds_samples(folds), x->size1);
  if (scores->size != ndpar_folds_count(folds))
    NDPAR_ERROR_FMT(GSL_EBADLEN, "model_cross_validate: scores has %zu entries, folds %zu",
                    scores->size, ndpar_folds_count(folds));
  gsl_matrix *xy = NULL;
  NDPAR_REQUIRE(models_side_by_side(x, y, &xy) == GSL_SUCCESS,
                "model_cross_validate: out of memory", GSL_ENOMEM);
  gsl_vector *dummy = gsl_vector_calloc(x->size1);
  if (dummy == NULL) {
    gsl_matrix_free(xy);
    GSL_ERROR("model_cross_validate: out of memory", GSL_ENOMEM);
  }
  cv_ctx c = {m, x->size2, kind};
  status = ndpar_cv_run(p, xy, dummy, folds, cv_task, &c, scores);
  gsl_matrix_free(xy);
  gsl_vector_free(dummy);
  return status;
}

/* ---- forecasting --------------------------------------------------------------------- */

int ndpar_model_forecast(ndpar_pool *p, const ndpar_model *m, const gsl_vector *series,
                         gsl_vector *out) {
  NDPAR_REQUIRE(m != NULL, "model_forecast: m is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(series != NULL, "model_forecast: series is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(out != NULL, "model_forecast: out is NULL", GSL_EFAULT);
  if (!m->fitted) NDPAR_ERROR_FMT(GSL_EINVAL, "model_forecast: m (%s) is not fitted", m->type->name);
  size_t lags = m->inputs;
  size_t k = m->outputs;
  if (series->size < lags)
    NDPAR_ERROR_FMT(GSL_EBADLEN, "model_forecast: the series has %zu values, the model needs %zu lags",
                    series->size, lags);
  for (size_t i = series->size - lags; i < series->size; i++)
    if (!isfinite(gsl_vector_get(series, i)))
      NDPAR_ERROR_FMT(GSL_EDOM, "model_forecast: series[%zu] is NaN or Inf", i);
  /* the window, then the forecasts after it */
  double *buf = malloc((lags + out->size + k) * sizeof *buf);
  NDPAR_REQUIRE(buf != NULL, "model_forecast: out of memory", GSL_ENOMEM);
  for (size_t i = 0; i < lags; i++) buf[i] = gsl_vector_get(series, series->size - lags + i);
  int status = GSL_SUCCESS;
  for (size_t done = 0; done < out->size && status == GSL_SUCCESS; done += k) {
    gsl_matrix_view window = gsl_matrix_view_array(buf + done, 1, lags);
    gsl_matrix_view next = gsl_matrix_view_array(buf + lags + done, 1, k);
    status = ndpar_model_predict(p, m, &window.matrix, &next.matrix);
  }
  if (status == GSL_SUCCESS)
    for (size_t i = 0; i < out->size; i++) gsl_vector_set(out, i, buf[lags + i]);
  free(buf);
  return status;
}
