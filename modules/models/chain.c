/* chain.c: transformers, then one model, fitted and applied as one (scikit-learn's
 * Pipeline). Fitting passes each step's transformed rows on to the next step, so every
 * statistic a transformer learns comes from the rows the chain was fitted on. */
#include "models/models_internal.h"
#include "ndpar_internal.h"

#include "ndpar/ndpar_batch.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  size_t n;
  ndpar_model **steps;
} chain_state;

static void chain_free(void *vs) {
  chain_state *s = vs;
  if (s == NULL) return;
  for (size_t i = 0; i < s->n; i++) ndpar_model_free(s->steps[i]);
  free(s->steps);
  free(s);
}

/* A state of n empty steps (NULL: no memory). */
static chain_state *chain_state_alloc(size_t n) {
  chain_state *s = calloc(1, sizeof *s);
  if (s == NULL) return NULL;
  s->steps = calloc(n, sizeof *s->steps);
  if (s->steps == NULL) {
    free(s);
    return NULL;
  }
  s->n = n;
  return s;
}

static void *chain_clone(const void *vs) {
  const chain_state *s = vs;
  chain_state *c = chain_state_alloc(s->n);
  if (c == NULL) return NULL;
  for (size_t i = 0; i < s->n; i++) {
    c->steps[i] = models_clone(s->steps[i]);
    if (c->steps[i] == NULL) {
      chain_free(c);
      return NULL;
    }
  }
  return c;
}

/* The step that `name`'s part before the first '.' names (its position, or the first
 * step of that type name), and in *rest what follows the '.'; NULL if none. */
static ndpar_model *step_of(const chain_state *s, const char *name, const char **rest) {
  const char *dot = strchr(name, '.');
  if (dot == NULL || dot == name) return NULL;
  size_t len = (size_t)(dot - name);
  *rest = dot + 1;
  if (isdigit((unsigned char)name[0])) {
    char *end = NULL;
    unsigned long i = strtoul(name, &end, 10);
    return end == dot && i < s->n ? s->steps[i] : NULL;
  }
  for (size_t i = 0; i < s->n; i++) {
    const char *type = s->steps[i]->type->name;
    if (strlen(type) == len && strncmp(type, name, len) == 0) return s->steps[i];
  }
  return NULL;
}

static int chain_set(void *vs, const char *name, double value) {
  const char *rest = NULL;
  ndpar_model *step = step_of(vs, name, &rest);
  return step != NULL ? models_set(step, rest, value) : GSL_EINVAL;
}

static int chain_get(const void *vs, const char *name, double *value) {
  const char *rest = NULL;
  ndpar_model *step = step_of(vs, name, &rest);
  return step != NULL ? models_get(step, rest, value) : GSL_EINVAL;
}

/* The rows of x through a fitted step into a new matrix, in parallel on p. */
static int transform_rows(ndpar_pool *p, const ndpar_model *step, const gsl_matrix *x,
                          gsl_matrix **out) {
  gsl_matrix *y = gsl_matrix_alloc(x->size1, step->outputs);
  if (y == NULL) return GSL_ENOMEM;
  size_t batch_rows = x->size1 / 64 + 64;
  int status = ndpar_batch_infer_rows(p, x, batch_rows, y, ndpar_model_predict_fn,
                                      (void *)step, NULL);
  if (status != GSL_SUCCESS) {
    gsl_matrix_free(y);
    return status;
  }
  *out = y;
  return GSL_SUCCESS;
}

static int chain_fit(ndpar_pool *p, void *vs, const gsl_matrix *x, const gsl_matrix *y,
                     size_t *outputs) {
  chain_state *s = vs;
  const gsl_matrix *cur = x;
  gsl_matrix *owned = NULL;
  int status = GSL_SUCCESS;
  for (size_t i = 0; i < s->n && status == GSL_SUCCESS; i++) {
    ndpar_model *step = s->steps[i];
    int regressor = step->type->kind == NDPAR_MODEL_REGRESSOR;
    status = models_fit(p, step, cur, regressor ? y : NULL);
    if (status != GSL_SUCCESS || i + 1 == s->n) break;
    gsl_matrix *next = NULL;
    status = transform_rows(p, step, cur, &next);
    gsl_matrix_free(owned);
    owned = next;
    cur = next;
  }
  gsl_matrix_free(owned);
  if (status == GSL_SUCCESS) *outputs = s->steps[s->n - 1]->outputs;
  return status;
}

/* Worker-safe: the steps one after another on this batch, through matrices of its own. */
static int chain_predict(const void *vs, const gsl_matrix *x, gsl_matrix *y, gsl_rng *rng) {
  const chain_state *s = vs;
  const gsl_matrix *cur = x;
  gsl_matrix *owned = NULL;
  int status = GSL_SUCCESS;
  for (size_t i = 0; i + 1 < s->n && status == GSL_SUCCESS; i++) {
    gsl_matrix *next = gsl_matrix_alloc(x->size1, s->steps[i]->outputs);
    if (next == NULL) {
      status = GSL_ENOMEM;
      break;
    }
    status = models_predict_batch(s->steps[i], cur, next, rng);
    gsl_matrix_free(owned);
    owned = next;
    cur = next;
  }
  if (status == GSL_SUCCESS) status = models_predict_batch(s->steps[s->n - 1], cur, y, rng);
  gsl_matrix_free(owned);
  return status;
}

/* A chain is a model if its last step is one, else a transformer; stochastic if one of
 * its steps is (models_stochastic). */
const ndpar_model_type models_chain_type = {
    "chain", NDPAR_MODEL_REGRESSOR, NULL, chain_clone, chain_free, chain_set, chain_get,
    chain_fit, chain_predict, 0, NULL, NULL};
const ndpar_model_type models_chain_transformer_type = {
    "chain", NDPAR_MODEL_TRANSFORMER, NULL, chain_clone, chain_free, chain_set, chain_get,
    chain_fit, chain_predict, 0, NULL, NULL};

int models_is_chain(const ndpar_model *m) {
  return m->type == &models_chain_type || m->type == &models_chain_transformer_type;
}

size_t models_chain_size(const ndpar_model *m) {
  return ((const chain_state *)m->state)->n;
}

/* Checks steps for ndpar_chain_alloc; reports through GSL_ERROR. */
static int check_steps(ndpar_model *const *steps, size_t n) {
  NDPAR_REQUIRE(steps != NULL, "chain_alloc: steps is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(n > 0, "chain_alloc: n must be positive", GSL_EINVAL);
  for (size_t i = 0; i < n; i++) {
    if (steps[i] == NULL) NDPAR_ERROR_FMT(GSL_EFAULT, "chain_alloc: steps[%zu] is NULL", i);
    if (steps[i]->fitted) NDPAR_ERROR_FMT(GSL_EINVAL, "chain_alloc: steps[%zu] is fitted", i);
    if (i + 1 < n && steps[i]->type->kind == NDPAR_MODEL_REGRESSOR)
      NDPAR_ERROR_FMT(GSL_EINVAL, "chain_alloc: steps[%zu] (%s) is a model before the last step",
                      i, steps[i]->type->name);
    for (size_t j = 0; j < i; j++)
      if (steps[j] == steps[i])
        NDPAR_ERROR_FMT(GSL_EINVAL, "chain_alloc: steps[%zu] is steps[%zu] again", i, j);
  }
  return GSL_SUCCESS;
}

ndpar_model *models_chain_of(ndpar_model **steps, size_t n) {
  chain_state *s = chain_state_alloc(n);
  if (s == NULL) return NULL;
  ndpar_model *m = calloc(1, sizeof *m);
  if (m == NULL) {
    free(s->steps);
    free(s);
    return NULL;
  }
  memcpy(s->steps, steps, n * sizeof *steps);
  int model_last = steps[n - 1]->type->kind == NDPAR_MODEL_REGRESSOR;
  m->type = model_last ? &models_chain_type : &models_chain_transformer_type;
  m->state = s;
  return m;
}

ndpar_model *ndpar_chain_alloc(ndpar_model *const *steps, size_t n) {
  if (check_steps(steps, n) != GSL_SUCCESS) return NULL;
  ndpar_model *m = models_chain_of((ndpar_model **)steps, n);
  NDPAR_REQUIRE_NULL(m != NULL, "chain_alloc: out of memory", GSL_ENOMEM);
  return m;
}

ndpar_model *ndpar_chain_step(const ndpar_model *chain, size_t i) {
  if (chain == NULL || !models_is_chain(chain)) return NULL;
  const chain_state *s = chain->state;
  return i < s->n ? s->steps[i] : NULL;
}
