/* bagging.c: fitted models as ensemble members, and bagging (one model fitted on many
 * resamplings of the rows, in parallel), itself a model. */
#include "ndpar/ndpar_ensemble.h"
#include "ensemble/ensemble_internal.h"
#include "models/models_internal.h"
#include "ndpar_internal.h"

#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void ndpar_ensemble_options_init(ndpar_ensemble_options *opt) {
  if (opt == NULL) return;
  opt->agg = NDPAR_AGG_MEAN;
  opt->weights = NULL;
  opt->trim = 0.1;
  opt->flags = 0;
}

/* What ndpar_ensemble_predict_batches takes as weights for an aggregation. */
static const double *agg_weights(const ndpar_ensemble_options *o) {
  return o->agg == NDPAR_AGG_TRIMMED_MEAN ? &o->trim : o->weights;
}

/* opt's aggregation, checked here so that the message names opt's fields (`field` is how
 * the caller's argument reaches them: "opt->" or "opt->combine."); the codes are the
 * ensemble module's. */
static int check_combine(const char *who, const char *field, const ndpar_ensemble_options *o,
                         size_t m) {
  if (o->agg != NDPAR_AGG_MEAN && o->agg != NDPAR_AGG_MEDIAN &&
      o->agg != NDPAR_AGG_TRIMMED_MEAN && o->agg != NDPAR_AGG_WEIGHTED_MEAN)
    NDPAR_ERROR_FMT(GSL_EINVAL, "%s: %sagg is not an aggregation", who, field);
  if (o->agg == NDPAR_AGG_TRIMMED_MEAN) {
    if (isnan(o->trim)) NDPAR_ERROR_FMT(GSL_EDOM, "%s: %strim is NaN", who, field);
    if (!(o->trim >= 0 && o->trim < 0.5))
      NDPAR_ERROR_FMT(GSL_EINVAL, "%s: %strim must be in [0, 0.5)", who, field);
  }
  if (o->agg != NDPAR_AGG_WEIGHTED_MEAN) return GSL_SUCCESS;
  if (o->weights == NULL) NDPAR_ERROR_FMT(GSL_EFAULT, "%s: %sweights is NULL", who, field);
  double sum = 0;
  for (size_t k = 0; k < m; k++) {
    if (!isfinite(o->weights[k]))
      NDPAR_ERROR_FMT(GSL_EDOM, "%s: %sweights[%zu] is not finite", who, field, k);
    if (o->weights[k] < 0)
      NDPAR_ERROR_FMT(GSL_EINVAL, "%s: %sweights[%zu] is negative", who, field, k);
    sum += o->weights[k];
  }
  if (!(sum > 0)) NDPAR_ERROR_FMT(GSL_EINVAL, "%s: %sweights are all zero", who, field);
  return GSL_SUCCESS;
}

int ndpar_ensemble_predict_opts(ndpar_pool *p, const gsl_matrix *x, const ndpar_predictor *members,
                                size_t m, const ndpar_ensemble_options *opt, gsl_matrix *out,
                                gsl_matrix *spread) {
  NDPAR_REQUIRE(x != NULL, "ensemble_predict_opts: x is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(out != NULL, "ensemble_predict_opts: out is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(m == 0 || members != NULL, "ensemble_predict_opts: members is NULL", GSL_EFAULT);
  for (size_t k = 0; k < m; k++)
    if (members[k].predict == NULL)
      NDPAR_ERROR_FMT(GSL_EFAULT, "ensemble_predict_opts: members[%zu].predict is NULL", k);
  ndpar_ensemble_options defaults;
  ndpar_ensemble_options_init(&defaults);
  const ndpar_ensemble_options *o = opt != NULL ? opt : &defaults;
  int status = m > 0 ? check_combine("ensemble_predict_opts", "opt->", o, m) : GSL_SUCCESS;
  if (status) return status;
  const gsl_matrix *xs[1] = {x};
  gsl_matrix *outs[1] = {out};
  gsl_matrix *spreads[1] = {spread};
  return ndpar_ensemble_predict_batches(p, xs, 1, members, m, o->agg, agg_weights(o), o->flags,
                                        outs, spread != NULL ? spreads : NULL, NULL, NULL);
}

int ndpar_ensemble_predict_models(ndpar_pool *p, const gsl_matrix *x,
                                  const ndpar_model *const *models, size_t m,
                                  const ndpar_ensemble_options *opt, gsl_matrix *out,
                                  gsl_matrix *spread) {
  NDPAR_REQUIRE(m > 0, "ensemble_predict_models: m is 0 (no members)", GSL_EINVAL);
  NDPAR_REQUIRE(models != NULL, "ensemble_predict_models: models is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(x != NULL, "ensemble_predict_models: x is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(out != NULL, "ensemble_predict_models: out is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(spread == NULL || spread->data == NULL || spread->data != out->data,
                "ensemble_predict_models: spread and out are the same matrix", GSL_EINVAL);
  for (size_t k = 0; k < m; k++) {
    if (models[k] == NULL) NDPAR_ERROR_FMT(GSL_EFAULT, "ensemble_predict_models: models[%zu] is NULL", k);
    if (!ndpar_model_fitted(models[k]))
      NDPAR_ERROR_FMT(GSL_EINVAL, "ensemble_predict_models: models[%zu] is not fitted", k);
    if (ndpar_model_inputs(models[k]) != x->size2 || ndpar_model_outputs(models[k]) != out->size2)
      NDPAR_ERROR_FMT(GSL_EBADLEN,
                      "ensemble_predict_models: models[%zu] maps %zu inputs to %zu outputs, x has "
                      "%zu columns and out %zu",
                      k, ndpar_model_inputs(models[k]), ndpar_model_outputs(models[k]), x->size2,
                      out->size2);
  }
  ndpar_ensemble_options defaults;
  ndpar_ensemble_options_init(&defaults);
  const ndpar_ensemble_options *o = opt != NULL ? opt : &defaults;
  int checked = check_combine("ensemble_predict_models", "opt->", o, m);
  if (checked != GSL_SUCCESS) return checked;
  ndpar_predictor *members = malloc(m * sizeof *members);
  NDPAR_REQUIRE(members != NULL, "ensemble_predict_models: out of memory", GSL_ENOMEM);
  for (size_t k = 0; k < m; k++) {
    members[k].predict = ndpar_model_predict_fn;
    members[k].ctx = (void *)models[k];
  }
  int status = ndpar_ensemble_predict_opts(p, x, members, m, opt, out, spread);
  free(members);
  return status;
}

/* ---- bagging ---- */

typedef struct {
  ndpar_model *base; /* unfitted: what every member is a clone of */
  size_t members;
  double samples;
  int bootstrap;
  unsigned long seed;
  ndpar_agg agg;
  double trim;
  int flags;
  double *weights;        /* members entries (weighted mean), the caller's values */
  double *scaled_weights; /* the same scaled by a power of two (ensemble_scale_weights) */
  /* once fitted: */
  ndpar_model **fitted;
  size_t **rows;
  size_t nrows;
} bag_state;

static void bag_unfit(bag_state *s) {
  for (size_t i = 0; s->fitted != NULL && i < s->members; i++) ndpar_model_free(s->fitted[i]);
  for (size_t i = 0; s->rows != NULL && i < s->members; i++) free(s->rows[i]);
  free(s->fitted);
  free(s->rows);
  s->fitted = NULL;
  s->rows = NULL;
  s->nrows = 0;
}

static void bag_free(void *vs) {
  bag_state *s = vs;
  if (s == NULL) return;
  bag_unfit(s);
  ndpar_model_free(s->base);
  free(s->weights);
  free(s->scaled_weights);
  free(s);
}

/* A state with o's settings over base (taken over); NULL on no memory (base freed). */
static bag_state *bag_state_of(ndpar_model *base, size_t members, double samples, int bootstrap,
                               unsigned long seed, ndpar_agg agg, double trim, int flags,
                               const double *weights) {
  bag_state *s = calloc(1, sizeof *s);
  if (s == NULL) {
    ndpar_model_free(base);
    return NULL;
  }
  s->base = base;
  s->members = members;
  s->samples = samples;
  s->bootstrap = bootstrap;
  s->seed = seed;
  s->agg = agg;
  s->trim = trim;
  s->flags = flags;
  if (weights != NULL) {
    s->weights = malloc(members * sizeof *s->weights);
    s->scaled_weights = malloc(members * sizeof *s->scaled_weights);
    if (s->weights == NULL || s->scaled_weights == NULL) {
      bag_free(s);
      return NULL;
    }
    memcpy(s->weights, weights, members * sizeof *weights);
    ensemble_scale_weights(weights, members, s->scaled_weights);
  }
  return s;
}

static void *bag_clone(const void *vs) {
  const bag_state *s = vs;
  ndpar_model *base = models_clone(s->base);
  if (base == NULL) return NULL;
  return bag_state_of(base, s->members, s->samples, s->bootstrap, s->seed, s->agg, s->trim,
                      s->flags, s->weights);
}

static int bag_set(void *vs, const char *name, double value) {
  bag_state *s = vs;
  int status = GSL_SUCCESS;
  if (strcmp(name, "members") == 0) {
    if (!(value >= 1 && value <= 1e9 && value == floor(value)) || s->weights != NULL) return GSL_EINVAL;
    s->members = (size_t)value;
  } else if (strcmp(name, "samples") == 0) {
    if (!(value > 0 && value <= 1)) return GSL_EINVAL;
    s->samples = value;
  } else if (strcmp(name, "bootstrap") == 0) {
    if (value != 0 && value != 1) return GSL_EINVAL;
    s->bootstrap = (int)value;
  } else if (strcmp(name, "seed") == 0) {
    if (!(value >= 0 && value <= 4294967295.0 && value == floor(value))) return GSL_EINVAL;
    s->seed = (unsigned long)value;
  } else if (strcmp(name, "trim") == 0) {
    if (!(value >= 0 && value < 0.5)) return GSL_EINVAL;
    s->trim = value;
  } else {
    status = models_set(s->base, name, value);
  }
  if (status == GSL_SUCCESS) bag_unfit(s);
  return status;
}

static int bag_get(const void *vs, const char *name, double *value) {
  const bag_state *s = vs;
  if (strcmp(name, "members") == 0) {
    *value = (double)s->members;
  } else if (strcmp(name, "samples") == 0) {
    *value = s->samples;
  } else if (strcmp(name, "bootstrap") == 0) {
    *value = s->bootstrap;
  } else if (strcmp(name, "seed") == 0) {
    *value = (double)s->seed;
  } else if (strcmp(name, "trim") == 0) {
    *value = s->trim;
  } else {
    return models_get(s->base, name, value);
  }
  return GSL_SUCCESS;
}

/* The rows of member i: drawn from the stream of (seed, i) alone, so they do not depend on
 * the thread that fits the member. With replacement: count uniform draws of [0, n);
 * without: gsl_ran_choose's selection (ascending). */
static int draw_rows(const bag_state *s, size_t i, size_t n, size_t *rows) {
  gsl_rng *r = gsl_rng_alloc(gsl_rng_taus2);
  if (r == NULL) return GSL_ENOMEM;
  gsl_rng_set(r, ndpar_stream_seed(s->seed, i));
  int status = GSL_SUCCESS;
  if (s->bootstrap) {
    for (size_t j = 0; j < s->nrows; j++) rows[j] = (size_t)gsl_rng_uniform_int(r, n);
  } else {
    size_t *all = malloc(n * sizeof *all);
    if (all == NULL) {
      status = GSL_ENOMEM;
    } else {
      for (size_t j = 0; j < n; j++) all[j] = j;
      gsl_ran_choose(r, rows, s->nrows, all, n, sizeof *all);
      free(all);
    }
  }
  gsl_rng_free(r);
  return status;
}

typedef struct {
  bag_state *s;
  const gsl_matrix *x, *y;
} bag_fit_ctx;

/* One member: its rows gathered, a clone of the base fitted on them (inline on this worker). */
static int fit_member(const ndpar_task *t, void *vc) {
  bag_fit_ctx *c = vc;
  bag_state *s = c->s;
  size_t i = t->index;
  gsl_matrix *xs = gsl_matrix_alloc(s->nrows, c->x->size2);
  gsl_matrix *ys = gsl_matrix_alloc(s->nrows, c->y->size2);
  ndpar_model *m = models_clone(s->base);
  int status = xs != NULL && ys != NULL && m != NULL ? GSL_SUCCESS : GSL_ENOMEM;
  if (status == GSL_SUCCESS) status = draw_rows(s, i, c->x->size1, s->rows[i]);
  for (size_t j = 0; j < s->nrows && status == GSL_SUCCESS; j++) {
    gsl_vector_const_view xr = gsl_matrix_const_row(c->x, s->rows[i][j]);
    gsl_vector_const_view yr = gsl_matrix_const_row(c->y, s->rows[i][j]);
    gsl_matrix_set_row(xs, j, &xr.vector);
    gsl_matrix_set_row(ys, j, &yr.vector);
  }
  if (status == GSL_SUCCESS) status = models_fit(NULL, m, xs, ys);
  gsl_matrix_free(xs);
  gsl_matrix_free(ys);
  if (status != GSL_SUCCESS) {
    ndpar_model_free(m);
    return status;
  }
  s->fitted[i] = m;
  return GSL_SUCCESS;
}

static int bag_fit(ndpar_pool *p, void *vs, const gsl_matrix *x, const gsl_matrix *y,
                   size_t *outputs) {
  bag_state *s = vs;
  bag_unfit(s);
  /* scikit-learn's int(max_samples * n_samples), at least one row */
  size_t nrows = (size_t)(s->samples * (double)x->size1);
  s->nrows = nrows > 0 ? nrows : 1;
  s->fitted = calloc(s->members, sizeof *s->fitted);
  s->rows = calloc(s->members, sizeof *s->rows);
  int status = s->fitted != NULL && s->rows != NULL ? GSL_SUCCESS : GSL_ENOMEM;
  for (size_t i = 0; i < s->members && status == GSL_SUCCESS; i++) {
    s->rows[i] = malloc(s->nrows * sizeof *s->rows[i]);
    if (s->rows[i] == NULL) status = GSL_ENOMEM;
  }
  bag_fit_ctx c = {s, x, y};
  if (status == GSL_SUCCESS) status = ndpar_pool_run(p, s->members, fit_member, &c);
  if (status != GSL_SUCCESS) {
    bag_unfit(s);
    return status;
  }
  *outputs = y->size2;
  return GSL_SUCCESS;
}

/* Worker-safe: every member on this batch (with rng: a stochastic pass of each, one after
 * another from the same stream), then each element combined. */
static int bag_predict(const void *vs, const gsl_matrix *x, gsl_matrix *y, gsl_rng *rng) {
  const bag_state *s = vs;
  size_t rows = x->size1;
  size_t cols = y->size2;
  size_t per = rows * cols;
  double *outs = malloc((s->members * per + s->members) * sizeof *outs);
  if (outs == NULL) return GSL_ENOMEM;
  double *v = outs + s->members * per;
  int status = GSL_SUCCESS;
  for (size_t k = 0; k < s->members && status == GSL_SUCCESS; k++) {
    gsl_matrix_view yk = gsl_matrix_view_array(outs + k * per, rows, cols);
    status = models_predict_batch(s->fitted[k], x, &yk.matrix, rng);
  }
  for (size_t e = 0; e < per && status == GSL_SUCCESS; e++) {
    double w_used = 0;
    for (size_t k = 0; k < s->members; k++) {
      double value = outs[k * per + e];
      v[k] = s->agg == NDPAR_AGG_WEIGHTED_MEAN ? s->scaled_weights[k] * value : value;
      if (s->agg == NDPAR_AGG_WEIGHTED_MEAN) w_used += s->scaled_weights[k];
    }
    gsl_matrix_set(y, e / cols, e % cols, ensemble_aggregate(s->agg, s->trim, v, s->members, w_used));
  }
  free(outs);
  return status;
}

static const char *const bag_params[] = {"members", "samples", "bootstrap", "seed", "trim", NULL};

/* Two types: the second for a base with stochastic passes (MC through every member). */
static const ndpar_model_type bag_type = {
    "bagging", NDPAR_MODEL_REGRESSOR, bag_params, bag_clone, bag_free, bag_set, bag_get,
    bag_fit, bag_predict, 0, NULL, NULL};
static const ndpar_model_type bag_stochastic_type = {
    "bagging", NDPAR_MODEL_REGRESSOR, bag_params, bag_clone, bag_free, bag_set, bag_get,
    bag_fit, bag_predict, 1, NULL, NULL};

void ndpar_bagging_options_init(ndpar_bagging_options *opt) {
  if (opt == NULL) return;
  opt->members = 10;
  opt->samples = 1.0;
  opt->bootstrap = 1;
  opt->seed = 0;
  ndpar_ensemble_options_init(&opt->combine);
}

/* The checks of ndpar_bagging_alloc's options, reported through GSL_ERROR. */
static int check_bagging(const ndpar_bagging_options *o) {
  NDPAR_REQUIRE(o->members > 0, "bagging_alloc: opt->members must be positive", GSL_EINVAL);
  NDPAR_REQUIRE(o->samples > 0 && o->samples <= 1, "bagging_alloc: opt->samples must be in (0, 1]",
                GSL_EINVAL);
  NDPAR_REQUIRE(o->bootstrap == 0 || o->bootstrap == 1, "bagging_alloc: opt->bootstrap must be 0 or 1",
                GSL_EINVAL);
  NDPAR_REQUIRE(o->combine.flags == 0, "bagging_alloc: opt->combine.flags must be 0", GSL_EINVAL);
  return check_combine("bagging_alloc", "opt->combine.", &o->combine, o->members);
}

ndpar_model *ndpar_bagging_alloc(const ndpar_model *base, const ndpar_bagging_options *opt) {
  NDPAR_REQUIRE_NULL(base != NULL, "bagging_alloc: base is NULL", GSL_EFAULT);
  NDPAR_REQUIRE_NULL(base->type->kind == NDPAR_MODEL_REGRESSOR,
                     "bagging_alloc: base is a transformer, not a model", GSL_EINVAL);
  ndpar_bagging_options defaults;
  ndpar_bagging_options_init(&defaults);
  const ndpar_bagging_options *o = opt != NULL ? opt : &defaults;
  if (check_bagging(o) != GSL_SUCCESS) return NULL;
  ndpar_model *clone = models_clone(base);
  NDPAR_REQUIRE_NULL(clone != NULL, "bagging_alloc: out of memory", GSL_ENOMEM);
  const ndpar_ensemble_options *c = &o->combine;
  bag_state *s = bag_state_of(clone, o->members, o->samples, o->bootstrap, o->seed, c->agg,
                              c->trim, c->flags,
                              c->agg == NDPAR_AGG_WEIGHTED_MEAN ? c->weights : NULL);
  NDPAR_REQUIRE_NULL(s != NULL, "bagging_alloc: out of memory", GSL_ENOMEM);
  ndpar_model *m = models_wrap(models_stochastic(base) ? &bag_stochastic_type : &bag_type, s);
  NDPAR_REQUIRE_NULL(m != NULL, "bagging_alloc: out of memory", GSL_ENOMEM);
  return m;
}

static const bag_state *fitted_bag(const ndpar_model *bag) {
  if (bag == NULL || (bag->type != &bag_type && bag->type != &bag_stochastic_type) || !bag->fitted)
    return NULL;
  return bag->state;
}

const ndpar_model *ndpar_bagging_member(const ndpar_model *bag, size_t i) {
  const bag_state *s = fitted_bag(bag);
  return s != NULL && i < s->members ? s->fitted[i] : NULL;
}

int ndpar_bagging_rows(const ndpar_model *bag, size_t i, const size_t **rows, size_t *count) {
  NDPAR_REQUIRE(rows != NULL, "bagging_rows: rows is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(count != NULL, "bagging_rows: count is NULL", GSL_EFAULT);
  const bag_state *s = fitted_bag(bag);
  NDPAR_REQUIRE(s != NULL, "bagging_rows: bag is not a fitted bagging model", GSL_EINVAL);
  if (i >= s->members)
    NDPAR_ERROR_FMT(GSL_EINVAL, "bagging_rows: i is %zu, bag has %zu members", i, s->members);
  *rows = s->rows[i];
  *count = s->nrows;
  return GSL_SUCCESS;
}
