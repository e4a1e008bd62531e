/* mlp_internal.h: the MLP's network geometry and one shard's gradient, shared by mlp.c
 * and its tests (the finite-difference check). Not installed. */
#ifndef NDPAR_MLP_INTERNAL_H
#define NDPAR_MLP_INTERNAL_H

#include "models/models_internal.h"

#include <gsl/gsl_rng.h>

/* units[0] inputs, units[1..layers] hidden, units[layers + 1] outputs; weight layer l maps
 * units[l] to units[l + 1], its W (units[l] x units[l+1], row-major) at theta + ow[l],
 * its b at theta + ob[l]; P parameters in all. */
typedef struct {
  size_t nw; /* weight layers: hidden layers + 1 */
  size_t units[NDPAR_MLP_MAX_LAYERS + 2];
  size_t ow[NDPAR_MLP_MAX_LAYERS + 1];
  size_t ob[NDPAR_MLP_MAX_LAYERS + 1];
  size_t P;
  size_t maxh; /* widest hidden layer */
  size_t sumh; /* all hidden units */
} net;

/* The geometry of o's network for `inputs` inputs and `outputs` outputs. */
void models_mlp_net(const ndpar_mlp_options *o, size_t inputs, size_t outputs, net *g);

/* The doubles of work models_mlp_loss_grad needs for `rows` rows (dropout: 1 if a
 * dropout rng will be given). */
size_t models_mlp_work_doubles(const net *g, int dropout, size_t rows);

/* The mean gradient of the data loss (mean over elements of the squared error / 2, no L2)
 * of the rows (x, target) with respect to theta (P entries) into grad (P entries, stride
 * 1), the loss into *loss; hidden units dropped from rng when rng is set and o->dropout
 * > 0. Worker-safe; allocates nothing. */
int models_mlp_loss_grad(const net *g, const ndpar_mlp_options *o, const double *theta,
                         const gsl_matrix *x, const gsl_matrix *target, double *grad,
                         double *loss, gsl_rng *rng, double *work);

/* Whether the layer products run their AVX2 kernels: on = 0 or 1 sets it (1 only where
 * the CPU has AVX2), -1 asks. Returns the setting before. For tests of both paths. */
int models_mlp_simd(int on);

#endif
