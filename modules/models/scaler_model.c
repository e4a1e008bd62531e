/* scaler_model.c: every scaler of the preprocess module as a transformer. */
#include "models/models_internal.h"
#include "ndpar_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  ndpar_scale_kind kind;
  int flags;
  ndpar_scaler *scaler; /* once fitted */
} scaler_state;

static int kind_ok(double kind) {
  return kind == NDPAR_SCALE_STANDARD || kind == NDPAR_SCALE_MINMAX ||
         kind == NDPAR_SCALE_MINMAX1 || kind == NDPAR_SCALE_ROBUST || kind == NDPAR_SCALE_MAXABS;
}

static void scaler_free(void *vs) {
  scaler_state *s = vs;
  if (s == NULL) return;
  ndpar_scaler_free(s->scaler);
  free(s);
}

static void *scaler_clone(const void *vs) {
  const scaler_state *s = vs;
  scaler_state *c = calloc(1, sizeof *c);
  if (c == NULL) return NULL;
  c->kind = s->kind;
  c->flags = s->flags;
  return c;
}

static int scaler_set(void *vs, const char *name, double value) {
  scaler_state *s = vs;
  if (strcmp(name, "kind") == 0 && kind_ok(value)) {
    s->kind = (ndpar_scale_kind)value;
    return GSL_SUCCESS;
  }
  int all = NDPAR_PREPROCESS_IGNORE_NONFINITE | NDPAR_PREPROCESS_POPULATION_SD |
            NDPAR_PREPROCESS_SKLEARN_CONSTANT;
  if (strcmp(name, "flags") == 0 && value >= 0 && value <= all && value == floor(value) &&
      ((int)value & ~all) == 0) {
    s->flags = (int)value;
    return GSL_SUCCESS;
  }
  return GSL_EINVAL;
}

static int scaler_get(const void *vs, const char *name, double *value) {
  const scaler_state *s = vs;
  if (strcmp(name, "kind") == 0) {
    *value = s->kind;
    return GSL_SUCCESS;
  }
  if (strcmp(name, "flags") == 0) {
    *value = s->flags;
    return GSL_SUCCESS;
  }
  return GSL_EINVAL;
}

/* A new scaler of the state's kind and flags for cols columns (NULL: no memory). The
 * arguments are valid, so the preprocess module reports nothing. */
static ndpar_scaler *new_scaler(const scaler_state *s, size_t cols) {
  ndpar_scaler *sc = ndpar_scaler_alloc(s->kind, cols);
  if (sc != NULL) ndpar_scaler_set_flags(sc, s->flags);
  return sc;
}

static int scaler_fit(ndpar_pool *p, void *vs, const gsl_matrix *x, const gsl_matrix *y,
                      size_t *outputs) {
  (void)y;
  scaler_state *s = vs;
  ndpar_scaler *sc = new_scaler(s, x->size2);
  if (sc == NULL) return GSL_ENOMEM;
  int status = ndpar_scaler_fit(p, sc, x);
  if (status != GSL_SUCCESS) {
    ndpar_scaler_free(sc);
    return status;
  }
  ndpar_scaler_free(s->scaler);
  s->scaler = sc;
  *outputs = x->size2;
  return GSL_SUCCESS;
}

static int scaler_predict(const void *vs, const gsl_matrix *x, gsl_matrix *y, gsl_rng *rng) {
  (void)rng;
  const scaler_state *s = vs;
  if (x->size1 == 0) return GSL_SUCCESS;
  gsl_matrix_memcpy(y, x);
  /* inside a task this runs inline on the task's worker */
  return ndpar_scaler_transform(NULL, s->scaler, y);
}

void models_scaler_shape(const void *vs, size_t *inputs, size_t *outputs) {
  const scaler_state *s = vs;
  const gsl_vector *center = NULL;
  const gsl_vector *scale = NULL;
  size_t cols = 0;
  if (s->scaler != NULL && ndpar_scaler_params(s->scaler, &center, &scale) == GSL_SUCCESS)
    cols = center->size;
  *inputs = cols;
  *outputs = cols;
}

/* The statistics ndpar_scaler_set_stats rebuilds the scaler from, bit for bit, as 1 x cols
 * rows (NaN where a range is unknown). */
static const char *const stat_names[] = {"center", "scale", "min", "max", "half"};

static int scaler_save(const void *vs, ndpar_model_archive *a) {
  const scaler_state *s = vs;
  const gsl_vector *stats[5];
  int status = ndpar_scaler_stats(s->scaler, &stats[0], &stats[1], &stats[2], &stats[3], &stats[4]);
  for (size_t i = 0; i < 5 && status == GSL_SUCCESS; i++) {
    gsl_matrix_const_view row = gsl_matrix_const_view_vector(stats[i], 1, stats[i]->size);
    status = ndpar_model_archive_put(a, stat_names[i], &row.matrix);
  }
  return status;
}

static int scaler_load(void *vs, const ndpar_model_archive *a) {
  scaler_state *s = vs;
  gsl_matrix *rows[5] = {NULL, NULL, NULL, NULL, NULL};
  int status = GSL_SUCCESS;
  for (size_t i = 0; i < 5 && status == GSL_SUCCESS; i++) {
    status = ndpar_model_archive_get(a, stat_names[i], &rows[i]);
    if (status == GSL_SUCCESS && (rows[i]->size1 != 1 || rows[i]->size2 != rows[0]->size2))
      status = GSL_EBADLEN;
  }
  ndpar_scaler *sc = status == GSL_SUCCESS ? new_scaler(s, rows[0]->size2) : NULL;
  if (status == GSL_SUCCESS && sc == NULL) status = GSL_ENOMEM;
  if (status == GSL_SUCCESS) {
    gsl_vector_view v[5];
    for (size_t i = 0; i < 5; i++) v[i] = gsl_matrix_row(rows[i], 0);
    status = ndpar_scaler_set_stats(sc, &v[0].vector, &v[1].vector, &v[2].vector, &v[3].vector,
                                    &v[4].vector);
  }
  if (status == GSL_SUCCESS) {
    ndpar_scaler_free(s->scaler);
    s->scaler = sc;
    sc = NULL;
  }
  ndpar_scaler_free(sc);
  for (size_t i = 0; i < 5; i++) gsl_matrix_free(rows[i]);
  return status;
}

static const char *const scaler_params[] = {"kind", "flags", NULL};

const ndpar_model_type models_scaler_type = {
    "scaler", NDPAR_MODEL_TRANSFORMER, scaler_params, scaler_clone, scaler_free, scaler_set,
    scaler_get, scaler_fit, scaler_predict, 0, scaler_save, scaler_load};

ndpar_model *ndpar_scaler_model_alloc(ndpar_scale_kind kind) {
  if (!kind_ok(kind)) NDPAR_ERROR_NULL_FMT(GSL_EINVAL, "scaler_model_alloc: unknown kind %d", (int)kind);
  scaler_state *s = calloc(1, sizeof *s);
  NDPAR_REQUIRE_NULL(s != NULL, "scaler_model_alloc: out of memory", GSL_ENOMEM);
  s->kind = kind;
  s->flags = NDPAR_PREPROCESS_SKLEARN; /* the transformer follows scikit-learn's scalers */
  ndpar_model *m = models_wrap(&models_scaler_type, s);
  NDPAR_REQUIRE_NULL(m != NULL, "scaler_model_alloc: out of memory", GSL_ENOMEM);
  return m;
}
