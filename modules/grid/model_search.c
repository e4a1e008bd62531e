/* model_search.c: grid search and successive halving over an ndpar_model's parameters.
 *
 * A model search is an estimator search (search.c) whose estimator clones the model, sets
 * the candidate's values by the grid's axis names, fits and scores with the built-in
 * scorers. The estimator forms cut a fold's rows of one matrix and one vector; a model's
 * targets are a matrix, so the search runs over [x | y] side by side (one copy) with a
 * dummy vector, and each task takes its x and y back as column views. */
#include "ndpar/ndpar_grid.h"
#include "grid/grid_internal.h"
#include "models/models_internal.h"
#include "ndpar_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
  const ndpar_model *proto;
  const ndpar_grid *grid;
  size_t naxes, inputs;
  const ndpar_score_kind *kinds;
  size_t nkinds;
  const char *resource_param; /* halving by a parameter: its name, else NULL */
} model_est;

static const ndpar_score_kind default_score = NDPAR_SCORE_NEG_MSE;

ndpar_model *grid_model_candidate(const ndpar_model *proto, const ndpar_grid *g,
                                  const double *values, const char *resource_param,
                                  size_t resource) {
  ndpar_model *m = models_clone(proto);
  if (m == NULL) return NULL;
  int status = GSL_SUCCESS;
  for (size_t a = 0; a < ndpar_grid_naxes(g) && status == GSL_SUCCESS; a++)
    status = models_set(m, ndpar_grid_axis_name(g, a), values[a]);
  if (status == GSL_SUCCESS && resource_param != NULL && resource > 0)
    status = models_set(m, resource_param, (double)resource);
  if (status != GSL_SUCCESS) {
    ndpar_model_free(m);
    return NULL;
  }
  return m;
}

static int est_fit(const void *params, size_t candidate, size_t resource, const gsl_matrix *xy,
                   const gsl_vector *dummy, void **model, const ndpar_task *t, void *vc) {
  (void)candidate;
  (void)dummy;
  (void)t;
  const model_est *c = vc;
  ndpar_model *m = grid_model_candidate(c->proto, c->grid, params, c->resource_param, resource);
  if (m == NULL) return GSL_ENOMEM;
  _gsl_matrix_const_view x;
  _gsl_matrix_const_view y;
  models_split_xy(xy, c->inputs, &x, &y);
  /* inside a task: the fit's parallel parts run inline on this worker */
  int status = models_fit(NULL, m, &x.matrix, &y.matrix);
  if (status != GSL_SUCCESS) {
    ndpar_model_free(m);
    return status;
  }
  *model = m;
  return GSL_SUCCESS;
}

static int est_score(const void *model, const void *params, const gsl_matrix *xy,
                     const gsl_vector *dummy, double *scores, const ndpar_task *t, void *vc) {
  (void)params;
  (void)dummy;
  (void)t;
  const model_est *c = vc;
  _gsl_matrix_const_view x;
  _gsl_matrix_const_view y;
  models_split_xy(xy, c->inputs, &x, &y);
  int status = GSL_SUCCESS;
  for (size_t s = 0; s < c->nkinds && status == GSL_SUCCESS; s++)
    status = models_score_quiet(model, c->kinds[s], &x.matrix, &y.matrix, &scores[s]);
  return status;
}

static void est_release(void *model, void *ctx) {
  (void)ctx;
  ndpar_model_free(model);
}

int grid_model_check(const char *who, const ndpar_model *proto, const ndpar_grid *g,
                     const gsl_matrix *x, const gsl_matrix *y, const char *resource_param) {
  if (proto == NULL) NDPAR_ERROR_FMT(GSL_EFAULT, "%s: m is NULL", who);
  if (y == NULL) NDPAR_ERROR_FMT(GSL_EFAULT, "%s: y is NULL", who);
  int status = models_check_fit(who, proto, x, y);
  if (status) return status;
  size_t naxes = ndpar_grid_naxes(g);
  ndpar_model *probe = models_clone(proto);
  double *values = malloc((naxes + 1) * sizeof *values);
  status = probe != NULL && values != NULL ? GSL_SUCCESS : GSL_ENOMEM;
  for (size_t i = 0; i < ndpar_grid_size(g) && status == GSL_SUCCESS; i++) {
    ndpar_grid_candidate(g, i, values);
    for (size_t a = 0; a < naxes && status == GSL_SUCCESS; a++) {
      const char *name = ndpar_grid_axis_name(g, a);
      if (models_set(probe, name, values[a]) != GSL_SUCCESS) {
        ndpar_error_fmt(GSL_EINVAL, __FILE__, __LINE__,
                        "%s: g's axis \"%s\" = %.17g is not a parameter value of m (%s)",
                        who, name, values[a], proto->type->name);
        status = GSL_EINVAL;
      }
    }
  }
  if (status == GSL_SUCCESS && resource_param != NULL &&
      models_set(probe, resource_param, 1.0) != GSL_SUCCESS) {
    ndpar_error_fmt(GSL_EINVAL, __FILE__, __LINE__,
                    "%s: param \"%s\" is not a parameter of m (%s)", who, resource_param,
                    proto->type->name);
    status = GSL_EINVAL;
  }
  free(values);
  ndpar_model_free(probe);
  if (status == GSL_ENOMEM) NDPAR_ERROR_FMT(GSL_ENOMEM, "%s: out of memory", who);
  return status;
}

/* The scores a model search computes: opts's, or NDPAR_SCORE_NEG_MSE alone. */
static int check_scores(const char *who, const model_est *c, const ndpar_grid_options *opts) {
  if (opts != NULL && opts->nscores > 0 && opts->scores == NULL)
    NDPAR_ERROR_FMT(GSL_EFAULT, "%s: opts->scores is NULL with nscores %zu", who, opts->nscores);
  for (size_t s = 0; s < c->nkinds; s++)
    if (!models_score_kind_ok(c->kinds[s]))
      NDPAR_ERROR_FMT(GSL_EINVAL, "%s: opts->scores[%zu] is not a score kind", who, s);
  return GSL_SUCCESS;
}

/* The run every model form shares: [x | y], the estimator, then search (plain or halving). */
static int run_model_search(const char *who, ndpar_pool *p, const ndpar_grid *g,
                            const gsl_matrix *x, const gsl_matrix *y, const ndpar_folds *folds,
                            const ndpar_model *m, const ndpar_halving *h, const char *param,
                            const ndpar_grid_options *opts, ndpar_grid_result *result) {
  if (g == NULL) NDPAR_ERROR_FMT(GSL_EFAULT, "%s: g is NULL", who);
  if (ndpar_grid_size(g) == 0) NDPAR_ERROR_FMT(GSL_EINVAL, "%s: g is empty (no axes)", who);
  model_est c = {m, g, ndpar_grid_naxes(g), x != NULL ? x->size2 : 0, &default_score, 1, param};
  if (opts != NULL && opts->nscores > 0) {
    c.kinds = opts->scores;
    c.nkinds = opts->nscores;
  }
  int status = check_scores(who, &c, opts);
  if (status == GSL_SUCCESS) status = grid_model_check(who, m, g, x, y, param);
  if (status) return status;
  gsl_matrix *xy = NULL;
  if (models_side_by_side(x, y, &xy) != GSL_SUCCESS) NDPAR_ERROR_FMT(GSL_ENOMEM, "%s: out of memory", who);
  gsl_vector *dummy = gsl_vector_calloc(x->size1);
  if (dummy == NULL) {
    gsl_matrix_free(xy);
    NDPAR_ERROR_FMT(GSL_ENOMEM, "%s: out of memory", who);
  }
  size_t n = ndpar_grid_size(g);
  double *params = malloc(n * c.naxes * sizeof *params);
  status = params != NULL ? GSL_SUCCESS : GSL_ENOMEM;
  for (size_t i = 0; i < n && status == GSL_SUCCESS; i++) ndpar_grid_candidate(g, i, params + i * c.naxes);
  ndpar_estimator e = {est_fit, est_score, est_release, c.nkinds, &c};
  if (status == GSL_SUCCESS && h == NULL)
    status = ndpar_grid_search_est_params(p, params, c.naxes * sizeof *params, n, xy, dummy,
                                          folds, &e, opts, result);
  else if (status == GSL_SUCCESS)
    status = ndpar_grid_halving(p, params, c.naxes * sizeof *params, n, xy, dummy, folds, &e, h,
                                opts, result);
  else
    ndpar_error_fmt(GSL_ENOMEM, __FILE__, __LINE__, "%s: out of memory", who);
  free(params);
  gsl_vector_free(dummy);
  gsl_matrix_free(xy);
  return status;
}

int ndpar_grid_search_model(ndpar_pool *p, const ndpar_grid *g, const gsl_matrix *x,
                            const gsl_matrix *y, const ndpar_folds *folds, const ndpar_model *m,
                            const ndpar_grid_options *opts, ndpar_grid_result *result) {
  return run_model_search("grid_search_model", p, g, x, y, folds, m, NULL, NULL, opts, result);
}

int ndpar_grid_halving_model(ndpar_pool *p, const ndpar_grid *g, const gsl_matrix *x,
                             const gsl_matrix *y, const ndpar_folds *folds, const ndpar_model *m,
                             const ndpar_halving *h, const char *param,
                             const ndpar_grid_options *opts, ndpar_grid_result *result) {
  NDPAR_REQUIRE(h != NULL, "grid_halving_model: h is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(h->rows || param != NULL,
                "grid_halving_model: param is NULL, and the resource is not rows (h->rows 0)", GSL_EINVAL);
  NDPAR_REQUIRE(!h->rows || param == NULL,
                "grid_halving_model: param is given, and the resource is rows (h->rows 1)", GSL_EINVAL);
  return run_model_search("grid_halving_model", p, g, x, y, folds, m, h, param, opts, result);
}

ndpar_model *ndpar_grid_result_model(const ndpar_grid_result *r) {
  if (r == NULL || r->refit == NULL || r->refit_release != est_release) return NULL;
  return r->refit;
}

ndpar_model *ndpar_grid_result_take_model(ndpar_grid_result *r) {
  ndpar_model *m = ndpar_grid_result_model(r);
  if (m != NULL) {
    r->refit = NULL;
    r->refit_release = NULL;
  }
  return m;
}

void grid_result_set_model(ndpar_grid_result *r, ndpar_model *m) {
  if (r->refit != NULL && r->refit_release != NULL) r->refit_release(r->refit, r->refit_ctx);
  r->refit = m;
  r->refit_release = est_release;
  r->refit_ctx = NULL;
}
