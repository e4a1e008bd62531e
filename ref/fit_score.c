/* fit_score.c: the cv and grid workloads' fit-and-score model, on the public MLP. */
#include <math.h>
#include <stdlib.h>

#include "models/models_internal.h" /* models_fit, models_predict_batch: worker-safe forms */
#include "ndpar/ndpar_models.h"
#include "ref/wl.h"

int wl_mlp_fit_score(double lr, const gsl_matrix *xtr, const gsl_vector *ytr, const gsl_matrix *xva,
                     const gsl_vector *yva, double *score) {
  ndpar_mlp_options o;
  ndpar_mlp_options_init(&o);
  o.hidden[0] = WL_FIT_HIDDEN;
  o.activation = NDPAR_ACT_TANH;
  o.solver = NDPAR_SOLVER_SGD;
  o.momentum = 0;
  o.nesterov = 0;
  o.lr = 2 * lr;
  o.l2 = 0;
  o.batch = xtr->size1;
  o.epochs = WL_FIT_STEPS;
  o.shuffle = 0;
  o.shards = 1;
  o.seed = 11;
  if (!(o.lr > 0) || !isfinite(o.lr) || ytr->size != xtr->size1 || yva->size != xva->size1)
    return GSL_EINVAL;
  ndpar_model *m = ndpar_mlp_alloc(&o);
  gsl_matrix *pred = gsl_matrix_alloc(xva->size1, 1);
  int status = m != NULL && pred != NULL ? GSL_SUCCESS : GSL_ENOMEM;
  gsl_matrix_const_view y = gsl_matrix_const_view_array_with_tda(ytr->data, ytr->size, 1, ytr->stride);
  if (status == GSL_SUCCESS) status = models_fit(NULL, m, xtr, &y.matrix);
  if (status == GSL_ERUNAWAY) {
    *score = -INFINITY;
    status = GSL_SUCCESS;
  } else if (status == GSL_SUCCESS) {
    status = models_predict_batch(m, xva, pred, NULL);
    double ss = 0;
    for (size_t i = 0; i < yva->size; i++) {
      double e = gsl_matrix_get(pred, i, 0) - gsl_vector_get(yva, i);
      ss += e * e;
    }
    if (status == GSL_SUCCESS) *score = -ss / (double)yva->size;
  }
  gsl_matrix_free(pred);
  ndpar_model_free(m);
  return status;
}

int wl_mlp_fit_param(const void *params, size_t candidate, const gsl_matrix *xtr, const gsl_vector *ytr,
                     const gsl_matrix *xva, const gsl_vector *yva, double *score, const ndpar_task *t,
                     void *ctx) {
  (void)candidate;
  (void)t;
  (void)ctx;
  return wl_mlp_fit_score(*(const double *)params, xtr, ytr, xva, yva, score);
}
