/* models_internal.h: what the models module's files share (not installed). */
#ifndef NDPAR_MODELS_INTERNAL_H
#define NDPAR_MODELS_INTERNAL_H

#include "ndpar/ndpar_models.h"

/* The object behind every model: its type, the type's state, and what fitting learnt.
 * user = 1 for ndpar_model_define's models (ndpar_model_state returns their state). */
struct ndpar_model {
  const ndpar_model_type *type;
  void *state;
  int fitted;
  int user;
  size_t inputs, outputs;
};

/* A built-in model over state (owned from now on); NULL on no memory (state freed then). */
ndpar_model *models_wrap(const ndpar_model_type *type, void *state);

/* The built-in types, for loading files. */
extern const ndpar_model_type models_ridge_type;
extern const ndpar_model_type models_linear_type;
extern const ndpar_model_type models_scaler_type;
extern const ndpar_model_type models_chain_type;             /* a model last */
extern const ndpar_model_type models_chain_transformer_type; /* transformers only */
extern const ndpar_model_type models_mlp_type;

/* Fits without reporting through GSL_ERROR (worker-safe): m unfitted on failure. What
 * ndpar_model_fit calls after its checks, and what searches call inside their tasks. */
int models_fit(ndpar_pool *p, ndpar_model *m, const gsl_matrix *x, const gsl_matrix *y);
/* m->type->predict on one batch (worker-safe, no checks). */
int models_predict_batch(const ndpar_model *m, const gsl_matrix *x, gsl_matrix *y, gsl_rng *rng);
/* ndpar_model_clone's work without reporting (NULL on no memory). */
ndpar_model *models_clone(const ndpar_model *m);
/* ndpar_model_set's work without reporting: GSL_EINVAL for an unknown name or bad value. */
int models_set(ndpar_model *m, const char *name, double value);
int models_get(const ndpar_model *m, const char *name, double *value);

/* Chains: whether m is one, its step count, and a chain over n checked steps (taken
 * over; NULL on no memory, the steps left to the caller). */
int models_is_chain(const ndpar_model *m);
size_t models_chain_size(const ndpar_model *m);
ndpar_model *models_chain_of(ndpar_model **steps, size_t n);
/* Whether m's predict makes use of a random stream (a chain: any of its steps'). */
int models_stochastic(const ndpar_model *m);

/* A fitted built-in state's input and output counts (for loading). */
void models_linear_shape(const void *state, size_t *inputs, size_t *outputs);
void models_scaler_shape(const void *state, size_t *inputs, size_t *outputs);
void models_mlp_shape(const void *state, size_t *inputs, size_t *outputs);

/* The checks of ndpar_model_fit's arguments (y NULL for a transformer), reported through
 * GSL_ERROR as `who`; calling thread only. */
int models_check_fit(const char *who, const ndpar_model *m, const gsl_matrix *x,
                     const gsl_matrix *y);
/* Worker-safe: m's predictions of x scored against y (kind already checked). */
int models_score_quiet(const ndpar_model *m, ndpar_score_kind kind, const gsl_matrix *x,
                       const gsl_matrix *y, double *score);
int models_score_kind_ok(ndpar_score_kind kind);

/* Whether every element of x is finite. */
int models_all_finite(const gsl_matrix *x);

/* [x | y] side by side in a new matrix (GSL_ENOMEM), and such rows taken apart again: x
 * the first `inputs` columns, y the rest (views). Searches and cross-validation cut the
 * rows of one matrix, and a model's targets are a matrix: they run over [x | y]. */
int models_side_by_side(const gsl_matrix *x, const gsl_matrix *y, gsl_matrix **xy);
void models_split_xy(const gsl_matrix *xy, size_t inputs, _gsl_matrix_const_view *x,
                     _gsl_matrix_const_view *y);

#endif
