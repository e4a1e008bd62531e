/* ndpar_models.h: what a forecasting program fits. One opaque object, ndpar_model, for a
 * model (ridge, least squares, an MLP regressor), a transformer (every scaler) and a chain
 * of them (transformers, then one model), in the spirit of scikit-learn's estimators:
 * fit, predict, parameters by name, clone, save and load, and a way to define one's own.
 *
 * Data are GSL's: inputs x are rows x features, targets y are rows x outputs (a forecast
 * horizon is several outputs; the windows of ndpar_windows plug in unchanged). Errors are
 * GSL codes; argument errors are reported through GSL_ERROR on the calling thread before
 * any work starts, and a rejected call leaves every output untouched.
 */
#ifndef NDPAR_MODELS_H
#define NDPAR_MODELS_H

#include <stdio.h>

#include "ndpar/ndpar_core.h"
#include "ndpar/ndpar_cv.h"
#include "ndpar/ndpar_grad.h"
#include "ndpar/ndpar_pool.h"
#include "ndpar/ndpar_preprocess.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ndpar_model ndpar_model;

/* ---- built-in models ----
 * Each returns a new unfitted model, or NULL with a GSL error (a bad parameter value:
 * GSL_EINVAL naming it; out of memory: GSL_ENOMEM). Free with ndpar_model_free. */

/* Ridge regression: minimises ||y - x w - b||^2 + alpha ||w||^2 per output, the intercept
 * b fitted and not penalised (scikit-learn's Ridge(alpha), solver "cholesky": the normal
 * equations of the centred data when features <= rows, their kernel form otherwise).
 * alpha >= 0; alpha = 0 is least squares. Parameters: "alpha". */
NDPAR_API ndpar_model *ndpar_ridge_alloc(double alpha);

/* Ordinary least squares with an intercept (scikit-learn's LinearRegression): the
 * minimum-norm solution by SVD, singular values below max(rows, features) eps s_max
 * treated as zero (LAPACK gelsd's and scipy.linalg.lstsq's default), so it is defined
 * for rank-deficient x and for more features than rows. No parameters. */
NDPAR_API ndpar_model *ndpar_linear_alloc(void);

/* A transformer: the scaler of `kind` (ndpar_preprocess.h) fitted on the training rows,
 * applied to any rows after. As scikit-learn's scalers by default: flags
 * NDPAR_PREPROCESS_SKLEARN (STANDARD divides by the sd of divisor n, near-constant columns
 * count as constant), so a chain of it and ridge is scikit-learn's Pipeline(StandardScaler,
 * Ridge). Parameters: "kind" (an ndpar_scale_kind), "flags" (the scaler's NDPAR_PREPROCESS_*
 * flags; 0 for GSL's divisor n - 1). */
NDPAR_API ndpar_model *ndpar_scaler_model_alloc(ndpar_scale_kind kind);

/* The MLP regressor: inputs -> hidden layers (tanh or relu) -> linear outputs, trained on
 * the mean squared error (scikit-learn's MLPRegressor, loss 0.5 MSE), by minibatch SGD
 * with momentum or Adam, its gradients over minibatch shards computed on every core by
 * ndpar_grad (bit-identical at any thread count with NDPAR_REDUCE_DETERMINISTIC). */
typedef enum { NDPAR_ACT_TANH, NDPAR_ACT_RELU } ndpar_activation;
typedef enum { NDPAR_SOLVER_ADAM, NDPAR_SOLVER_SGD } ndpar_solver;

#define NDPAR_MLP_MAX_LAYERS 8
typedef struct {
  size_t layers;                          /* hidden layers, 1 .. NDPAR_MLP_MAX_LAYERS */
  size_t hidden[NDPAR_MLP_MAX_LAYERS];    /* units per hidden layer, each >= 1 */
  ndpar_activation activation;
  ndpar_solver solver;
  double lr;                /* learning rate (scikit-learn's learning_rate_init) */
  double momentum;          /* SGD: momentum in [0, 1) */
  double beta1, beta2, eps; /* Adam */
  double l2;                /* L2 penalty (scikit-learn's alpha) */
  size_t batch;             /* minibatch rows (0: min(200, rows), scikit-learn's "auto") */
  size_t epochs;            /* passes over the data (scikit-learn's max_iter) */
  int shuffle;              /* 1: a fresh order of the rows per epoch, from seed */
  double validation;        /* early stopping: a fraction in (0, 1) held out, 0: none */
  size_t patience;          /* early stopping: epochs without improvement by tol */
  double tol;
  double dropout;           /* probability of dropping a hidden unit, in [0, 1): used
                               in training, and by ndpar_model_predict_mc */
  unsigned long seed;       /* weights, order, dropout: all from this seed */
  ndpar_reduce reduce;      /* NDPAR_REDUCE_FAST or NDPAR_REDUCE_DETERMINISTIC */
  int nesterov;             /* SGD: 1: Nesterov's momentum (scikit-learn's default), 0: plain */
  size_t shards;            /* row shards per minibatch, the parallel gradient's tasks (0: 4).
                               A function of this alone, never of the thread count, so that
                               NDPAR_REDUCE_DETERMINISTIC fits are bit-identical at any */
} ndpar_mlp_options;

/* scikit-learn's MLPRegressor defaults: one hidden layer of 100 relu units, Adam at
 * lr 1e-3 (beta1 0.9, beta2 0.999, eps 1e-8), SGD momentum 0.9 (Nesterov), l2 1e-4,
 * batch "auto", 200 epochs, shuffle, no early stopping (patience 10, tol 1e-4 when it is
 * asked for), no dropout, seed 0, deterministic reduction, 4 shards. NULL is a no-op. */
NDPAR_API void ndpar_mlp_options_init(ndpar_mlp_options *opt);
/* NULL opt: the defaults. A bad field is GSL_EINVAL naming it (layers 0 or above
 * NDPAR_MLP_MAX_LAYERS, a hidden size 0, lr <= 0, momentum, beta1, beta2 or validation
 * outside [0, 1) (validation (0, 1) or 0), eps <= 0, l2 or tol < 0, dropout outside
 * [0, 1), an unknown activation, solver or reduce, epochs 0, a NaN anywhere).
 * Parameters (ndpar_model_set/_get, prefix "mlp."): "lr", "momentum", "nesterov",
 * "beta1", "beta2", "eps", "l2", "batch", "epochs", "shuffle", "validation", "patience",
 * "tol", "dropout", "seed", "reduce", "shards", "layers", "activation", "solver",
 * "hidden" (set: every layer's units; get: the first layer's) and "hidden0" ..
 * "hidden7" (one layer's). Read-only, once fitted: "n_iter" (epochs run: fewer than
 * "epochs" when early stopping stopped) and "loss" (the last epoch's mean training loss,
 * L2 term included, as scikit-learn's loss_). Early stopping keeps the weights of the
 * epoch with the best validation R^2 (scikit-learn's early_stopping=True). */
NDPAR_API ndpar_model *ndpar_mlp_alloc(const ndpar_mlp_options *opt);

/* ---- chains ----
 * A chain of n steps: transformers, then one model last (or transformers only). Fitting
 * the chain fits each transformer on the rows it is given and passes them on transformed
 * to the next step, so a chain fitted on a fold's training rows transforms that fold's
 * validation rows with the training statistics (no leakage), as scikit-learn's Pipeline.
 * The chain takes the steps over (freeing the chain frees them); on failure (NULL) they
 * stay the caller's. A step's parameter is addressed as "<step>.<param>", the step by its
 * type name ("ridge.alpha", "scaler.kind", "mlp.lr"; the first step of that name) or by
 * its position ("0.kind"). Errors: n = 0 (GSL_EINVAL), steps or a step NULL (GSL_EFAULT),
 * a step twice, a fitted step, a model before the last step (GSL_EINVAL). */
NDPAR_API ndpar_model *ndpar_chain_alloc(ndpar_model *const *steps, size_t n);
/* The chain's step i (NULL for i past the end or a model that is no chain). */
NDPAR_API ndpar_model *ndpar_chain_step(const ndpar_model *chain, size_t i);

/* ---- every model ---- */

/* Sets or reads a parameter by name: "alpha" or "<type>.alpha" on a model, "<step>.alpha"
 * on a chain. Setting a parameter of a fitted model makes it unfitted. Errors: NULL
 * (GSL_EFAULT), an unknown name or a bad value (GSL_EINVAL, naming it). */
NDPAR_API int ndpar_model_set(ndpar_model *m, const char *name, double value);
NDPAR_API int ndpar_model_get(const ndpar_model *m, const char *name, double *value);
/* A new unfitted model with the same parameters (scikit-learn's clone); NULL with a GSL
 * error when m is NULL or memory runs out. */
NDPAR_API ndpar_model *ndpar_model_clone(const ndpar_model *m);
/* Fits on (x, y): y has x's rows and one column per output (NULL for a transformer or a
 * chain of transformers only). Parallel work (the MLP's gradients, the scalers'
 * statistics) runs on pool p (NULL: the default pool). Errors: NULL, shapes
 * (GSL_EBADLEN), no rows (GSL_EINVAL), NaN or Inf in x or y (GSL_EDOM), what the model
 * reports (a singular system: GSL_ESING). On failure the model is unfitted. */
NDPAR_API int ndpar_model_fit(ndpar_pool *p, ndpar_model *m, const gsl_matrix *x,
                              const gsl_matrix *y);
/* The vector form: one output. */
NDPAR_API int ndpar_model_fit_vector(ndpar_pool *p, ndpar_model *m, const gsl_matrix *x,
                                     const gsl_vector *y);
/* Predicts (a transformer: transforms) the rows of x into y (x's rows x the model's
 * outputs), in row batches in parallel on p. Errors: NULL, not fitted (GSL_EINVAL),
 * shapes (GSL_EBADLEN). */
NDPAR_API int ndpar_model_predict(ndpar_pool *p, const ndpar_model *m, const gsl_matrix *x,
                                  gsl_matrix *y);
NDPAR_API int ndpar_model_predict_vector(ndpar_pool *p, const ndpar_model *m,
                                         const gsl_matrix *x, gsl_vector *y);
/* Monte Carlo: `samples` stochastic passes (MC dropout) over x, their element-wise mean
 * and sample sd into mean and sd (sd may be NULL), the passes' streams derived from
 * (seed, row batch, sample) alone, so the result is the same at any thread count.
 * Errors as ndpar_model_predict, samples 0 or too many to hold (GSL_EINVAL), a model
 * without stochastic passes (GSL_EINVAL), two outputs the same matrix (GSL_EINVAL). */
NDPAR_API int ndpar_model_predict_mc(ndpar_pool *p, const ndpar_model *m, const gsl_matrix *x,
                                     size_t samples, unsigned long seed, gsl_matrix *mean,
                                     gsl_matrix *sd);
/* The MC passes' central prediction interval: lower and upper receive the (1 - level)/2
 * and (1 + level)/2 quantiles of each element's samples (the batch module's
 * interpolation), mean their mean. level in (0, 1). Errors as ndpar_model_predict_mc. */
NDPAR_API int ndpar_model_predict_interval(ndpar_pool *p, const ndpar_model *m,
                                           const gsl_matrix *x, size_t samples,
                                           unsigned long seed, double level, gsl_matrix *mean,
                                           gsl_matrix *lower, gsl_matrix *upper);
/* Whether m is fitted; its input and output counts once it is (0 before). */
NDPAR_API int ndpar_model_fitted(const ndpar_model *m);
NDPAR_API size_t ndpar_model_inputs(const ndpar_model *m);
NDPAR_API size_t ndpar_model_outputs(const ndpar_model *m);
/* The type's name: "ridge", "linear", "mlp", "scaler", "chain" or a user type's. */
NDPAR_API const char *ndpar_model_name(const ndpar_model *m);
/* NULL is a no-op. */
NDPAR_API void ndpar_model_free(ndpar_model *m);

/* A linear model's fitted coefficients (features x outputs) and intercepts (outputs):
 * the model's own, read-only, valid until it is refitted or freed. GSL_EINVAL if m is not
 * a fitted ridge or linear model. */
NDPAR_API int ndpar_model_coef(const ndpar_model *m, const gsl_matrix **coef,
                               const gsl_vector **intercept);

/* ---- scores (higher is better, as scikit-learn's scorers) ---- */
typedef enum {
  NDPAR_SCORE_NEG_MSE,  /* -mean squared error (neg_mean_squared_error) */
  NDPAR_SCORE_NEG_MAE,  /* -mean absolute error (neg_mean_absolute_error) */
  NDPAR_SCORE_R2,       /* R^2, averaged over outputs (r2: multioutput="uniform_average"; an
                           output of constant truth scores 1 if predicted exactly, else 0) */
  NDPAR_SCORE_NEG_MAPE  /* -mean |y - p| / max(|y|, eps) (neg_mean_absolute_percentage_error) */
} ndpar_score_kind;
/* The score of predictions p against truth y (same shapes, at least one row). Errors:
 * NULL (GSL_EFAULT), shapes (GSL_EBADLEN), no rows or an unknown kind (GSL_EINVAL). */
NDPAR_API int ndpar_score(ndpar_score_kind kind, const gsl_matrix *y, const gsl_matrix *p,
                          double *score);
/* m's score on (x, y): predicts, then ndpar_score. */
NDPAR_API int ndpar_model_score(ndpar_pool *p, const ndpar_model *m, ndpar_score_kind kind,
                                const gsl_matrix *x, const gsl_matrix *y, double *score);

/* Cross-validation of a model: a clone fitted on each fold's training rows and scored on
 * its validation rows, the folds in parallel on p (scikit-learn's cross_val_score).
 * scores has one entry per fold. Errors as ndpar_cv_run and ndpar_model_fit; a fold
 * whose fit fails returns its status (its score NaN). */
NDPAR_API int ndpar_model_cross_validate(ndpar_pool *p, const ndpar_model *m,
                                         const gsl_matrix *x, const gsl_matrix *y,
                                         const ndpar_folds *folds, ndpar_score_kind kind,
                                         gsl_vector *scores);

/* ---- forecasting ----
 * From the last `lags` values of series (a model fitted on ndpar_windows(series, lags,
 * horizon, ...) windows, so inputs = lags and outputs = horizon), the next `steps` values
 * into out (steps entries): direct when the model's outputs cover them, else recursive:
 * each prediction is appended to the window and the window moves on by the outputs.
 * Errors: NULL, not fitted, inputs not lags or the series shorter (GSL_EBADLEN), out of
 * another length (GSL_EBADLEN). */
NDPAR_API int ndpar_model_forecast(ndpar_pool *p, const ndpar_model *m, const gsl_vector *series,
                                   gsl_vector *out);

/* ---- persistence ----
 * A documented file (docs/models.md, "File format"): little-endian whatever the host, a
 * version, the model's type, parameters and fitted state, and a checksum; written to a
 * temporary file beside path and renamed over it, so a reader sees the old file or the new
 * one, never half. A loaded model predicts bit for bit as the saved one. */
NDPAR_API int ndpar_model_save(const ndpar_model *m, const char *path);
/* Loads a built-in model, scaler or chain. Everything is checked before anything is
 * built: a short, corrupt (checksum), other-version or unknown-type file is GSL_EINVAL
 * with a message saying which, an unreadable file GSL_EFAILED; *m untouched then. */
NDPAR_API int ndpar_model_load(const char *path, ndpar_model **m);
/* The same from memory (n bytes): what ndpar_model_load does after reading the file. */
NDPAR_API int ndpar_model_load_bytes(const void *bytes, size_t n, ndpar_model **m);

/* ---- a model of one's own ----
 * A type is a table of functions over the type's own state (void *). The library calls
 * them with valid arguments only (shapes checked, fitted where needed), and never from two
 * threads on one state at once except predict, which must be safe to call concurrently
 * and allocate or use only what it is given or allocates itself. None may call the GSL
 * error handler (they may run on a worker): return a status. */
typedef struct ndpar_model_archive ndpar_model_archive;
typedef enum { NDPAR_MODEL_REGRESSOR, NDPAR_MODEL_TRANSFORMER } ndpar_model_kind;
typedef struct {
  const char *name;         /* the type's name, the prefix of its parameters */
  ndpar_model_kind kind;
  const char *const *params; /* its parameter names, NULL-terminated (may be NULL: none) */
  /* A new state with state's parameters, unfitted (NULL: out of memory). */
  void *(*clone)(const void *state);
  void (*free)(void *state);
  /* A parameter by its short name: GSL_EINVAL for an unknown name or a bad value. */
  int (*set)(void *state, const char *name, double value);
  int (*get)(const void *state, const char *name, double *value);
  /* Fits on (x, y) (y NULL for a transformer); sets *outputs (a transformer: the columns
   * it writes). May run work on pool p. */
  int (*fit)(ndpar_pool *p, void *state, const gsl_matrix *x, const gsl_matrix *y,
             size_t *outputs);
  /* Writes the rows of x (fitted inputs' width) into y (outputs wide). rng is NULL for a
   * plain pass, a stream for a stochastic one (NULL predict_stochastic: none). */
  int (*predict)(const void *state, const gsl_matrix *x, gsl_matrix *y, gsl_rng *rng);
  int stochastic;           /* 1: predict uses rng (MC passes are meaningful) */
  /* Optional (NULL: the model cannot be saved): the fitted state into / out of an
   * archive (ndpar_model_archive_put / _get). */
  int (*save)(const void *state, ndpar_model_archive *a);
  int (*load)(void *state, const ndpar_model_archive *a);
} ndpar_model_type;

/* A model of type `type` over `state` (owned by the model from now on, freed with it by
 * type->free). NULL with a GSL error: NULL type, state or required functions (GSL_EFAULT;
 * save and load may both be NULL), a kind neither NDPAR_MODEL_REGRESSOR nor
 * NDPAR_MODEL_TRANSFORMER or a name with a '.' (GSL_EINVAL), out of memory (then state is
 * the caller's still). */
NDPAR_API ndpar_model *ndpar_model_define(const ndpar_model_type *type, void *state);
/* The state a model was defined with (NULL for a built-in model). */
NDPAR_API void *ndpar_model_state(const ndpar_model *m);
/* For a type's save and load: a named matrix of the fitted state into the archive (a
 * copy), and back (a new matrix, the caller's; GSL_EINVAL if there is no such name). */
NDPAR_API int ndpar_model_archive_put(ndpar_model_archive *a, const char *name,
                                      const gsl_matrix *x);
NDPAR_API int ndpar_model_archive_get(const ndpar_model_archive *a, const char *name,
                                      gsl_matrix **x);
/* ndpar_model_load for files that hold models of one's own types: a node of a type named
 * like prototypes[i]'s is built as a clone of it (parameters set from the file, then the
 * type's load). A type's load must check that the arrays it gets agree with each other. */
NDPAR_API int ndpar_model_load_with(const char *path, const ndpar_model *const *prototypes,
                                    size_t n, ndpar_model **m);

/* The model as an ndpar_predict_fn and its context, for ndpar_batch_infer and the
 * ensemble's callback form: ndpar_model_predict_fn with ctx = the (fitted) model. */
NDPAR_API int ndpar_model_predict_fn(const gsl_matrix *x, gsl_matrix *y, const ndpar_task *t,
                                     void *ctx);

#ifdef __cplusplus
}
#endif
#endif /* NDPAR_MODELS_H */
