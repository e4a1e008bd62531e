/* wl.h: the reference workload that the benchmarks, scalebench and the docs' examples share:
 * an MLP autoregressor on GSL BLAS and the bundled real series. Part of the internal
 * reference library (libndpar_ref.a, never installed); not part of ndpar's API. */
#ifndef NDPAR_REF_WL_H
#define NDPAR_REF_WL_H

#include <gsl/gsl_matrix.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_vector.h>
#include <stddef.h>

#include "ndpar/ndpar_core.h"
#include "ndpar/ndpar_grad.h"
#include "ndpar/ndpar_grid.h"
#include "ndpar/ndpar_pool.h"

/* lags -> hidden (tanh) -> horizon. All parameters live in one vector theta, laid out
 * W1 (hidden x lags), b1 (hidden), W2 (horizon x hidden), b2 (horizon), so that gradients
 * are vectors of the same layout. */
typedef struct {
  size_t lags, hidden, horizon;
  double dropout; /* probability of dropping a hidden unit in a stochastic pass */
  gsl_vector *theta;
} wl_mlp;

wl_mlp *wl_mlp_alloc(size_t lags, size_t hidden, size_t horizon);
void wl_mlp_free(wl_mlp *m);
size_t wl_mlp_nparams(size_t lags, size_t hidden, size_t horizon);
/* Glorot-uniform weights from seed, zero biases. */
void wl_mlp_init(wl_mlp *m, unsigned long seed);

/* y (rows x horizon) = MLP(x (rows x lags)). With rng and m->dropout > 0, each hidden unit
 * of each row is dropped with probability dropout and the rest scaled by 1/(1 - dropout)
 * (inverted dropout), as MC dropout does. Returns GSL_EBADLEN on shape mismatch and
 * GSL_ENOMEM if scratch cannot be had; never calls the GSL error handler (worker-safe). */
int wl_mlp_forward(const wl_mlp *m, const gsl_vector *theta, const gsl_matrix *x, gsl_matrix *y,
                   gsl_rng *rng);

/* The mean squared error over rows and outputs of MLP(x) against target (rows x horizon),
 * and its gradient with respect to theta (same layout). Worker-safe like forward. */
int wl_mlp_loss_grad(const wl_mlp *m, const gsl_vector *theta, const gsl_matrix *x,
                     const gsl_matrix *target, gsl_vector *grad, double *loss);

/* An ndpar_predict_fn: ctx is a wl_mlp; dropout applies where the task carries an rng. */
int wl_mlp_predict(const gsl_matrix *x, gsl_matrix *y, const ndpar_task *t, void *ctx);

/* ---- data ---- */

/* (Reading CSV files and cutting lag windows is ndpar's public io module: ndpar_csv_read,
 * ndpar_windows in <ndpar/ndpar_io.h>.) */

/* Shifts and scales v to mean 0 and sd 1 (if sd > 0). */
void wl_standardize(gsl_vector *v);

/* The default workload's data: the bundled Seattle hourly temperature normals,
 * standardised and windowed (ndpar_csv_read, ndpar_windows). data_dir: the folder of the bundled CSV files (NULL: the
 * NDPAR_DATA_DIR environment variable, else the build's data/ folder). */
int wl_default_windows(const char *data_dir, size_t lags, size_t horizon, gsl_matrix **x,
                       gsl_matrix **y, char *err, size_t errlen);
const char *wl_data_dir(const char *data_dir);
/* The bundled Seattle temperature series as it is in the file (not standardised), into a new
 * vector. Same errors as wl_default_windows. */
int wl_series(const char *data_dir, gsl_vector **series, char *err, size_t errlen);
/* The path of the bundled Seattle series' file under data_dir (see wl_data_dir). */
void wl_series_path(const char *data_dir, char *path, size_t len);
/* Lag windows of a series (step 1) into new matrices x (lags columns) and y (horizon
 * columns), by ndpar_windows; GSL_EINVAL with a message naming `name` (the series' file)
 * when the series is too short. */
int wl_windows_of(const gsl_vector *series, const char *name, size_t lags, size_t horizon,
                  gsl_matrix **x, gsl_matrix **y, char *err, size_t errlen);

/* ---- gradients and training ---- */

/* An ndpar_grad_fn for a horizon-1 MLP: y (contiguous) holds the targets. */
int wl_mlp_grad(const gsl_matrix *x, const gsl_vector *y, gsl_vector *grad, double *loss,
                const ndpar_task *t, void *ctx);

/* Synchronous data-parallel SGD: each step takes the next `batch_rows` rows of (x, y)
 * (cycling), splits them into `shards` row views, computes their gradient in parallel
 * with ndpar_grad_compute, then updates theta in the calling thread, after the parallel
 * part: the optimizer never runs inside the parallel loop (the Rust guide's example
 * updates it from every task, a data race). losses[s] (if not NULL) = the loss at step s.
 * y must have stride 1. Returns the first error. */
int wl_sgd_train(ndpar_pool *p, wl_mlp *m, const gsl_matrix *x, const gsl_vector *y,
                 size_t batch_rows, size_t shards, size_t steps, double lr, ndpar_reduce mode,
                 double *losses);

/* The cv and grid workloads' model: the public MLP regressor (ndpar_mlp_alloc) with
 * WL_FIT_HIDDEN tanh units and one output, trained for WL_FIT_STEPS full-batch gradient
 * steps (plain SGD, no momentum, no L2, one shard: it runs on the calling thread) at rate
 * lr on (xtr, ytr), scored by -MSE on (xva, yva). The rate is that of the mean squared
 * error (the model's loss is half of it, so it trains at 2 lr: the same steps). A fit
 * that diverges scores -Inf (a search goes on, as scikit-learn's error_score). Worker-safe
 * (it reports through no GSL handler); returns 0 or a GSL status. In ref/fit_score.c,
 * apart from the SGD example, so that a program using only the latter needs no models
 * module. */
#define WL_FIT_HIDDEN 8
#define WL_FIT_STEPS 10
int wl_mlp_fit_score(double lr, const gsl_matrix *xtr, const gsl_vector *ytr, const gsl_matrix *xva,
                     const gsl_vector *yva, double *score);
/* wl_mlp_fit_score as a grid search's callback: params points to the learning rate. */
int wl_mlp_fit_param(const void *params, size_t candidate, const gsl_matrix *xtr, const gsl_vector *ytr,
                     const gsl_matrix *xva, const gsl_vector *yva, double *score, const ndpar_task *t,
                     void *ctx);

#endif
