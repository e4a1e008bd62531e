/* mlp.c: the MLP regressor (scikit-learn's MLPRegressor, with dropout).
 *
 * inputs -> hidden layers (tanh or relu) -> linear outputs. All parameters live in one
 * vector theta, layer after layer: W_l (units_l x units_{l+1}, row-major: scikit-learn's
 * coefs_[l]), then b_l, so that a gradient is a vector of the same layout and ndpar_grad
 * can reduce it. The layer products are this file's own loops, each output row an axpy
 * over a contiguous weight row (vectorised at -O3; the Makefile builds this file so): on
 * shards of a few rows they run 3x faster than GSL's reference CBLAS, in a fixed order
 * (the same bits at any thread count). A relu unit at 0 is skipped (its products are 0).
 *
 * Training follows scikit-learn's conventions (sklearn/neural_network/_multilayer_perceptron.py
 * and _stochastic_optimizers.py): Glorot-uniform weights and biases, bound
 * sqrt(6 / (fan_in + fan_out)); the loss of a minibatch of b rows is the mean over its
 * elements of the squared error / 2 plus 0.5 l2 ||W||^2 / b (biases not penalised); Adam
 * with the bias correction folded into the step size; SGD with (Nesterov) momentum.
 * Where scikit-learn differs: with several outputs its backward pass uses the gradient of
 * the per-row sum of squares / 2 (outputs times the gradient of the loss it reports);
 * here the gradient is the loss's own, so a finite-difference check holds.
 *
 * Each minibatch is cut into a fixed number of row shards (opt.shards, never the thread
 * count), whose mean gradients ndpar_grad computes on every core and reduces weighted by
 * rows; the L2 term and the optimizer step then run on the calling thread. With
 * NDPAR_REDUCE_DETERMINISTIC the reduction, and so every weight, is bit-identical at any
 * thread count. Dropout masks come from streams of (seed, step, shard) alone.
 *
 * Memory beyond the data: the row order (one index per row), two minibatch buffers, the
 * optimizer's state (2 P), the grad workspaces (O(P x threads)) and per worker the
 * activations of one shard. Nothing is allocated per minibatch. */
#include "models/mlp_internal.h"
#include "ndpar_internal.h"

#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- options ------------------------------------------------------------------------- */

#define MLP_DEFAULT_SHARDS 4

void ndpar_mlp_options_init(ndpar_mlp_options *opt) {
  if (opt == NULL) return;
  memset(opt, 0, sizeof *opt);
  opt->layers = 1;
  for (size_t l = 0; l < NDPAR_MLP_MAX_LAYERS; l++) opt->hidden[l] = 100;
  opt->activation = NDPAR_ACT_RELU;
  opt->solver = NDPAR_SOLVER_ADAM;
  opt->lr = 1e-3;
  opt->momentum = 0.9;
  opt->beta1 = 0.9;
  opt->beta2 = 0.999;
  opt->eps = 1e-8;
  opt->l2 = 1e-4;
  opt->batch = 0;
  opt->epochs = 200;
  opt->shuffle = 1;
  opt->validation = 0;
  opt->patience = 10;
  opt->tol = 1e-4;
  opt->dropout = 0;
  opt->seed = 0;
  opt->reduce = NDPAR_REDUCE_DETERMINISTIC;
  opt->nesterov = 1;
  opt->shards = 0;
}

static int in_unit(double v) { /* v in [0, 1) */
  return v >= 0 && v < 1;
}

/* The name of opt's first bad field, or NULL if every field is valid. */
static const char *options_bad(const ndpar_mlp_options *o) {
  if (o->layers == 0 || o->layers > NDPAR_MLP_MAX_LAYERS) return "layers";
  for (size_t l = 0; l < o->layers; l++)
    if (o->hidden[l] == 0) return "hidden";
  if (o->activation != NDPAR_ACT_TANH && o->activation != NDPAR_ACT_RELU) return "activation";
  if (o->solver != NDPAR_SOLVER_ADAM && o->solver != NDPAR_SOLVER_SGD) return "solver";
  if (!(o->lr > 0) || !isfinite(o->lr)) return "lr";
  if (!in_unit(o->momentum)) return "momentum";
  if (!in_unit(o->beta1)) return "beta1";
  if (!in_unit(o->beta2)) return "beta2";
  if (!(o->eps > 0) || !isfinite(o->eps)) return "eps";
  if (!(o->l2 >= 0) || !isfinite(o->l2)) return "l2";
  if (o->epochs == 0) return "epochs";
  if (!in_unit(o->validation)) return "validation";
  if (!(o->tol >= 0) || !isfinite(o->tol)) return "tol";
  if (!in_unit(o->dropout)) return "dropout";
  if (o->reduce != NDPAR_REDUCE_FAST && o->reduce != NDPAR_REDUCE_DETERMINISTIC) return "reduce";
  return NULL;
}

/* ---- the network's geometry ---------------------------------------------------------- */

void models_mlp_net(const ndpar_mlp_options *o, size_t inputs, size_t outputs, net *g) {
  g->nw = o->layers + 1;
  g->units[0] = inputs;
  g->maxh = 0;
  g->sumh = 0;
  for (size_t l = 0; l < o->layers; l++) {
    g->units[l + 1] = o->hidden[l];
    g->maxh = o->hidden[l] > g->maxh ? o->hidden[l] : g->maxh;
    g->sumh += o->hidden[l];
  }
  g->units[g->nw] = outputs;
  size_t at = 0;
  for (size_t l = 0; l < g->nw; l++) {
    g->ow[l] = at;
    at += g->units[l + 1] * g->units[l];
    g->ob[l] = at;
    at += g->units[l + 1];
  }
  g->P = at;
}

typedef struct {
  ndpar_mlp_options opt;
  net g;              /* once fitted */
  gsl_vector *theta;  /* once fitted: the weights */
  size_t n_iter;      /* epochs run by the last fit */
  double loss;        /* its last epoch's mean training loss */
} mlp_state;

static void mlp_free(void *vs) {
  mlp_state *s = vs;
  if (s == NULL) return;
  gsl_vector_free(s->theta);
  free(s);
}

static void *mlp_clone(const void *vs) {
  const mlp_state *s = vs;
  mlp_state *c = calloc(1, sizeof *c);
  if (c == NULL) return NULL;
  c->opt = s->opt;
  return c;
}

/* ---- parameters by name ---------------------------------------------------------------- */

/* value as a count (an integer in [0, 2^53]); 0 if it is not one. */
static int as_count(double value, size_t *out) {
  if (!(value >= 0) || value > 9007199254740992.0 || value != floor(value)) return 0;
  *out = (size_t)value;
  return 1;
}

/* value as a seed: an integer in [0, 2^64) (read back as the nearest double below 2^64). */
static int as_seed(double value, unsigned long *out) {
  if (!(value >= 0) || value >= 18446744073709551616.0 || value != floor(value)) return GSL_EINVAL;
  *out = (unsigned long)value;
  return GSL_SUCCESS;
}

static double seed_value(unsigned long seed) {
  double v = (double)seed;
  return v < 18446744073709551616.0 ? v : nextafter(v, 0);
}

/* The hidden layer a "hidden<k>" name addresses, or -1. */
static int hidden_index(const char *name) {
  if (strncmp(name, "hidden", 6) != 0) return -1;
  const char *d = name + 6;
  if (d[0] < '0' || d[0] >= '0' + NDPAR_MLP_MAX_LAYERS || d[1] != '\0') return -1;
  return d[0] - '0';
}

/* The double-valued fields by name. */
static double *real_field(ndpar_mlp_options *o, const char *name) {
  if (strcmp(name, "lr") == 0) return &o->lr;
  if (strcmp(name, "momentum") == 0) return &o->momentum;
  if (strcmp(name, "beta1") == 0) return &o->beta1;
  if (strcmp(name, "beta2") == 0) return &o->beta2;
  if (strcmp(name, "eps") == 0) return &o->eps;
  if (strcmp(name, "l2") == 0) return &o->l2;
  if (strcmp(name, "validation") == 0) return &o->validation;
  if (strcmp(name, "tol") == 0) return &o->tol;
  if (strcmp(name, "dropout") == 0) return &o->dropout;
  return NULL;
}

/* The count-valued fields by name. */
static size_t *count_field(ndpar_mlp_options *o, const char *name) {
  if (strcmp(name, "batch") == 0) return &o->batch;
  if (strcmp(name, "epochs") == 0) return &o->epochs;
  if (strcmp(name, "patience") == 0) return &o->patience;
  if (strcmp(name, "layers") == 0) return &o->layers;
  if (strcmp(name, "shards") == 0) return &o->shards;
  int k = hidden_index(name);
  if (k >= 0) return &o->hidden[k];
  return NULL;
}

/* The enum and flag fields: set from a count, read as one. */
static int set_small(ndpar_mlp_options *o, const char *name, size_t v) {
  if (strcmp(name, "activation") == 0) {
    o->activation = v == 0 ? NDPAR_ACT_TANH : (v == 1 ? NDPAR_ACT_RELU : (ndpar_activation)-1);
  } else if (strcmp(name, "solver") == 0) {
    o->solver = v == 0 ? NDPAR_SOLVER_ADAM : (v == 1 ? NDPAR_SOLVER_SGD : (ndpar_solver)-1);
  } else if (strcmp(name, "reduce") == 0) {
    o->reduce = v == 0 ? NDPAR_REDUCE_FAST : (v == 1 ? NDPAR_REDUCE_DETERMINISTIC : (ndpar_reduce)-1);
  } else if (strcmp(name, "shuffle") == 0 && v <= 1) {
    o->shuffle = (int)v;
  } else if (strcmp(name, "nesterov") == 0 && v <= 1) {
    o->nesterov = (int)v;
  } else {
    return GSL_EINVAL;
  }
  return GSL_SUCCESS;
}

static int mlp_set(void *vs, const char *name, double value) {
  mlp_state *s = vs;
  ndpar_mlp_options o = s->opt;
  double *real = real_field(&o, name);
  size_t *count = count_field(&o, name);
  size_t v = 0;
  int status = GSL_SUCCESS;
  if (real != NULL) {
    *real = value;
  } else if (strcmp(name, "seed") == 0) {
    status = as_seed(value, &o.seed);
  } else if (!as_count(value, &v)) {
    status = GSL_EINVAL;
  } else if (count != NULL) {
    *count = v;
  } else if (strcmp(name, "hidden") == 0) {
    for (size_t l = 0; l < NDPAR_MLP_MAX_LAYERS; l++) o.hidden[l] = v;
  } else {
    status = set_small(&o, name, v);
  }
  if (status == GSL_SUCCESS && options_bad(&o) != NULL) status = GSL_EINVAL;
  if (status == GSL_SUCCESS) s->opt = o;
  return status;
}

static int mlp_get(const void *vs, const char *name, double *value) {
  const mlp_state *s = vs;
  ndpar_mlp_options o = s->opt;
  double *real = real_field(&o, name);
  size_t *count = count_field(&o, name);
  if (real != NULL) {
    *value = *real;
  } else if (count != NULL) {
    *value = (double)*count;
  } else if (strcmp(name, "hidden") == 0) {
    *value = (double)o.hidden[0];
  } else if (strcmp(name, "seed") == 0) {
    *value = seed_value(o.seed);
  } else if (strcmp(name, "activation") == 0) {
    *value = o.activation == NDPAR_ACT_TANH ? 0 : 1;
  } else if (strcmp(name, "solver") == 0) {
    *value = o.solver == NDPAR_SOLVER_ADAM ? 0 : 1;
  } else if (strcmp(name, "reduce") == 0) {
    *value = o.reduce == NDPAR_REDUCE_FAST ? 0 : 1;
  } else if (strcmp(name, "shuffle") == 0) {
    *value = o.shuffle;
  } else if (strcmp(name, "nesterov") == 0) {
    *value = o.nesterov;
  } else if (strcmp(name, "n_iter") == 0 && s->theta != NULL) {
    *value = (double)s->n_iter;
  } else if (strcmp(name, "loss") == 0 && s->theta != NULL) {
    *value = s->loss;
  } else {
    return GSL_EINVAL;
  }
  return GSL_SUCCESS;
}

/* ---- forward pass ---------------------------------------------------------------------- */

/* Units per register block of the layer products: JB sums kept in registers while the
 * loop runs over the layer's inputs (or the shard's rows), so that each weight (or delta)
 * is loaded once per block instead of a sum being loaded and stored per term. */
#define JB 8

/* The two register-blocked kernels, generated twice: for the build's target (SSE2 on
 * x86-64) and, where the CPU has it, AVX2 (four doubles a vector instead of two). Neither
 * uses FMA, so both round every product and sum alike: the same bits on any x86-64 CPU.
 * ATTR is the target attribute, SUFFIX the kernels' name suffix. */
#define MLP_KERNELS(ATTR, SUFFIX)                                                                  \
/* zr[0..JB) = b[0..JB) + the sum over i, in order, of ar[i] w[i * stride + (0..JB)]               \
 * (a zero ar[i] adds nothing and is skipped). */                                                  \
ATTR static void affine_block##SUFFIX(const double *ar, size_t in, const double *w, size_t stride, \
                         const double *b, double *zr) {                                            \
  double acc[JB];                                                                                  \
  for (size_t t = 0; t < JB; t++) acc[t] = b[t];                                                   \
  for (size_t i = 0; i < in; i++) {                                                                \
    double ai = ar[i];                                                                             \
    if (ai == 0) continue;                                                                         \
    const double *wi = w + i * stride;                                                             \
    for (size_t t = 0; t < JB; t++) acc[t] += ai * wi[t];                                          \
  }                                                                                                \
  for (size_t t = 0; t < JB; t++) zr[t] = acc[t];                                                  \
}                                                                                                  \
                                                                                                   \
/* gw[i][j0 .. j0 + JB) for the inputs i0 and i0 + 1 (two = 1: i0 alone) of a (tda ta),            \
 * summed over the rows in order; d: delta's column j0 (tda td). */                                \
ATTR static void weight_block##SUFFIX(const double *a, size_t ta, size_t rows, size_t i0, int two, \
                         const double *d, size_t td, double *g0, double *g1) {                     \
  double s0[JB] = {0};                                                                             \
  double s1[JB] = {0};                                                                             \
  for (size_t r = 0; r < rows; r++) {                                                              \
    double a0 = a[r * ta + i0];                                                                    \
    double a1 = two ? a[r * ta + i0 + 1] : 0;                                                      \
    const double *dr = d + r * td;                                                                 \
    for (size_t t = 0; t < JB; t++) {                                                              \
      s0[t] += a0 * dr[t];                                                                         \
      s1[t] += a1 * dr[t];                                                                         \
    }                                                                                              \
  }                                                                                                \
  for (size_t t = 0; t < JB; t++) g0[t] = s0[t];                                                   \
  if (two)                                                                                         \
    for (size_t t = 0; t < JB; t++) g1[t] = s1[t];                                                 \
}                                                                                                  \
  /* end of MLP_KERNELS */

MLP_KERNELS(, _base)

#if defined(__x86_64__) && defined(__GNUC__)
MLP_KERNELS(NDPAR_AVX2_FN, _avx2)
#define MLP_HAVE_AVX2_PATH 1
#else
#define MLP_HAVE_AVX2_PATH 0
#endif

/* Whether the AVX2 kernels run: the CPU's answer, unless a test turned them off. */
static int mlp_simd_off;

int models_mlp_simd(int on) {
  int was = !mlp_simd_off && ndpar_cpu_has_avx2() && MLP_HAVE_AVX2_PATH;
  if (on >= 0) mlp_simd_off = !on;
  return was;
}

static int use_avx2(void) {
  return MLP_HAVE_AVX2_PATH && !mlp_simd_off && ndpar_cpu_has_avx2();
}

static void affine_block(int avx2, const double *ar, size_t in, const double *w, size_t stride,
                         const double *b, double *zr) {
#if MLP_HAVE_AVX2_PATH
  if (avx2) {
    affine_block_avx2(ar, in, w, stride, b, zr);
    return;
  }
#endif
  (void)avx2;
  affine_block_base(ar, in, w, stride, b, zr);
}

static void weight_block(int avx2, const double *a, size_t ta, size_t rows, size_t i0, int two,
                         const double *d, size_t td, double *g0, double *g1) {
#if MLP_HAVE_AVX2_PATH
  if (avx2) {
    weight_block_avx2(a, ta, rows, i0, two, d, td, g0, g1);
    return;
  }
#endif
  (void)avx2;
  weight_block_base(a, ta, rows, i0, two, d, td, g0, g1);
}

/* z = a W_l + b_l for weight layer l of theta (a: rows x units[l], z: rows x units[l+1]):
 * register blocks of JB units, the last units one by one, every sum in order of inputs. */
static void affine(const net *g, const double *theta, size_t l, const gsl_matrix *a,
                   gsl_matrix *z) {
  size_t in = g->units[l];
  size_t out = g->units[l + 1];
  size_t full = out - out % JB;
  const double *w = theta + g->ow[l];
  const double *b = theta + g->ob[l];
  int avx2 = use_avx2();
  for (size_t r = 0; r < a->size1; r++) {
    const double *ar = a->data + r * a->tda;
    double *zr = z->data + r * z->tda;
    for (size_t j = 0; j < full; j += JB) affine_block(avx2, ar, in, w + j, out, b + j, zr + j);
    for (size_t j = full; j < out; j++) {
      double sum = b[j];
      for (size_t i = 0; i < in; i++) sum += ar[i] * w[i * out + j];
      zr[j] = sum;
    }
  }
}

/* gw (units[l] x units[l+1]) = a^T delta: gw[i][j] = the sum over rows r, in order, of
 * a[r][i] delta[r][j]; register blocks of 2 inputs x JB units, the last units one by one. */
static void weight_grad(const gsl_matrix *a, const gsl_matrix *delta, double *gw) {
  size_t in = a->size2;
  size_t out = delta->size2;
  size_t rows = a->size1;
  size_t full = out - out % JB;
  int avx2 = use_avx2();
  for (size_t i = 0; i < in; i += 2) {
    int two = i + 1 < in;
    for (size_t j = 0; j < full; j += JB)
      weight_block(avx2, a->data, a->tda, rows, i, two, delta->data + j, delta->tda, gw + i * out + j,
                   gw + (i + 1) * out + j);
    for (size_t k = i; k < i + 1 + (size_t)two; k++)
      for (size_t j = full; j < out; j++) {
        double sum = 0;
        for (size_t r = 0; r < rows; r++) sum += a->data[r * a->tda + k] * delta->data[r * delta->tda + j];
        gw[k * out + j] = sum;
      }
  }
}

/* back (rows x units[l]) = delta W_l^T: each entry a dot product of a delta row and a
 * weight row. */
static void back_through(const net *g, const double *theta, size_t l, const gsl_matrix *delta,
                         gsl_matrix *back) {
  size_t in = g->units[l];
  size_t out = g->units[l + 1];
  const double *w = theta + g->ow[l];
  for (size_t r = 0; r < delta->size1; r++) {
    const double *dr = gsl_matrix_const_ptr(delta, r, 0);
    double *br = gsl_matrix_ptr(back, r, 0);
    for (size_t i = 0; i < in; i++) {
      const double *wi = w + i * out;
      double sum = 0;
      for (size_t j = 0; j < out; j++) sum += dr[j] * wi[j];
      br[i] = sum;
    }
  }
}

static void activate(ndpar_activation act, gsl_matrix *z) {
  for (size_t i = 0; i < z->size1; i++) {
    double *row = gsl_matrix_ptr(z, i, 0);
    for (size_t j = 0; j < z->size2; j++) {
      if (act == NDPAR_ACT_TANH)
        row[j] = tanh(row[j]);
      else
        row[j] = row[j] > 0 ? row[j] : 0.0;
    }
  }
}

/* Inverted dropout of h into a (same shape): each unit kept with probability 1 - p and
 * scaled by 1 / (1 - p), else 0. mult (may be NULL, else h's shape) records the factor. */
static void drop(double p, gsl_rng *rng, const gsl_matrix *h, gsl_matrix *a, gsl_matrix *mult) {
  double keep = 1.0 - p;
  double scale = 1.0 / keep;
  for (size_t i = 0; i < h->size1; i++) {
    const double *hr = gsl_matrix_const_ptr(h, i, 0);
    double *ar = gsl_matrix_ptr(a, i, 0);
    for (size_t j = 0; j < h->size2; j++) {
      double f = gsl_rng_uniform(rng) < keep ? scale : 0.0;
      ar[j] = hr[j] * f;
      if (mult != NULL) *gsl_matrix_ptr(mult, i, j) = f;
    }
  }
}

/* The rows of x through the network into y, with dropout when rng is set and p > 0;
 * buf holds 2 x rows x maxh doubles. */
static void forward(const net *g, const ndpar_mlp_options *o, const double *theta,
                    const gsl_matrix *x, gsl_matrix *y, gsl_rng *rng, double *buf) {
  size_t rows = x->size1;
  const gsl_matrix *a = x;
  gsl_matrix_view h[NDPAR_MLP_MAX_LAYERS];
  for (size_t l = 0; l + 1 < g->nw; l++) {
    double *at = buf + (l % 2) * rows * g->maxh;
    h[l] = gsl_matrix_view_array(at, rows, g->units[l + 1]);
    affine(g, theta, l, a, &h[l].matrix);
    activate(o->activation, &h[l].matrix);
    if (rng != NULL && o->dropout > 0) drop(o->dropout, rng, &h[l].matrix, &h[l].matrix, NULL);
    a = &h[l].matrix;
  }
  affine(g, theta, g->nw - 1, a, y);
}

/* Worker-safe: allocates its own buffer per call (a chain step may hold the thread's
 * scratch, so ndpar_thread_scratch is not used). */
static int mlp_predict(const void *vs, const gsl_matrix *x, gsl_matrix *y, gsl_rng *rng) {
  const mlp_state *s = vs;
  if (x->size1 == 0) return GSL_SUCCESS;
  double *buf = malloc(2 * x->size1 * s->g.maxh * sizeof *buf);
  if (buf == NULL) return GSL_ENOMEM;
  forward(&s->g, &s->opt, s->theta->data, x, y, rng, buf);
  free(buf);
  return GSL_SUCCESS;
}

/* ---- the gradient of one shard --------------------------------------------------------- */

/* What the grad callback needs: the weights, the shards' targets (by task index), per
 * worker an activation buffer, and the dropout streams. */
typedef struct {
  const net *g;
  const ndpar_mlp_options *o;
  const double *theta;
  const gsl_matrix *const *targets; /* shard t->index's targets, rows x outputs */
  double *work;                     /* worker w's buffer at work + w * stride */
  size_t stride;
  size_t shard_rows;                /* the most rows of any shard */
  ndpar_streams *streams;           /* dropout: stream (step, shard) */
  size_t step;
} grad_ctx;

/* Per hidden layer its activations h (and with dropout the factors and the dropped
 * activations), the output, and two deltas. */
size_t models_mlp_work_doubles(const net *g, int dropout, size_t rows) {
  size_t per_hidden = dropout ? 3 : 1;
  return rows * (per_hidden * g->sumh + g->units[g->nw] + 2 * g->maxh);
}

/* delta *= mult (if any) * act'(h): act' from the activation's value h. */
static void through_activation(ndpar_activation act, const gsl_matrix *h, const gsl_matrix *mult,
                               gsl_matrix *delta) {
  for (size_t i = 0; i < h->size1; i++) {
    const double *hr = gsl_matrix_const_ptr(h, i, 0);
    double *dr = gsl_matrix_ptr(delta, i, 0);
    const double *mr = mult != NULL ? gsl_matrix_const_ptr(mult, i, 0) : NULL;
    for (size_t j = 0; j < h->size2; j++) {
      double d = act == NDPAR_ACT_TANH ? 1.0 - hr[j] * hr[j] : (hr[j] > 0 ? 1.0 : 0.0);
      if (mr != NULL) d *= mr[j];
      dr[j] *= d;
    }
  }
}

/* The column sums of d into out. */
static void column_sums(const gsl_matrix *d, double *out) {
  for (size_t j = 0; j < d->size2; j++) out[j] = 0;
  for (size_t i = 0; i < d->size1; i++) {
    const double *row = gsl_matrix_const_ptr(d, i, 0);
    for (size_t j = 0; j < d->size2; j++) out[j] += row[j];
  }
}

int models_mlp_loss_grad(const net *g, const ndpar_mlp_options *o, const double *theta,
                         const gsl_matrix *x, const gsl_matrix *target, double *grad,
                         double *loss, gsl_rng *rng, double *work) {
  size_t rows = x->size1;
  size_t k = g->units[g->nw];
  size_t hl = g->nw - 1;
  int dropping = rng != NULL && o->dropout > 0;
  gsl_matrix_view h[NDPAR_MLP_MAX_LAYERS];    /* activations */
  gsl_matrix_view mult[NDPAR_MLP_MAX_LAYERS]; /* dropout factors */
  gsl_matrix_view a[NDPAR_MLP_MAX_LAYERS];    /* what the next layer sees */
  double *at = work;
  const gsl_matrix *in = x;
  for (size_t l = 0; l < hl; l++) {
    size_t u = g->units[l + 1];
    h[l] = gsl_matrix_view_array(at, rows, u);
    at += rows * u;
    affine(g, theta, l, in, &h[l].matrix);
    activate(o->activation, &h[l].matrix);
    a[l] = h[l];
    if (dropping) {
      mult[l] = gsl_matrix_view_array(at, rows, u);
      at += rows * u;
      a[l] = gsl_matrix_view_array(at, rows, u);
      at += rows * u;
      drop(o->dropout, rng, &h[l].matrix, &a[l].matrix, &mult[l].matrix);
    }
    in = &a[l].matrix;
  }
  gsl_matrix_view out = gsl_matrix_view_array(at, rows, k);
  at += rows * k;
  double *dbuf[2] = {at, at + rows * g->maxh};
  affine(g, theta, hl, in, &out.matrix);

  /* loss = sum e^2 / (2 rows k); its gradient with respect to the outputs e / (rows k) */
  double sum = 0;
  double scale = 1.0 / (double)(rows * k);
  for (size_t i = 0; i < rows; i++) {
    double *orow = gsl_matrix_ptr(&out.matrix, i, 0);
    const double *trow = gsl_matrix_const_ptr(target, i, 0);
    for (size_t j = 0; j < k; j++) {
      double e = orow[j] - trow[j];
      sum += e * e;
      orow[j] = e * scale;
    }
  }
  *loss = 0.5 * sum * scale;

  gsl_matrix *delta = &out.matrix;
  gsl_matrix_view next[NDPAR_MLP_MAX_LAYERS + 1]; /* delta of layer l's inputs */
  for (size_t l = g->nw; l-- > 0;) {
    const gsl_matrix *prev = l == 0 ? x : &a[l - 1].matrix;
    weight_grad(prev, delta, grad + g->ow[l]);
    column_sums(delta, grad + g->ob[l]);
    if (l == 0) break;
    next[l] = gsl_matrix_view_array(dbuf[l % 2], rows, g->units[l]);
    back_through(g, theta, l, delta, &next[l].matrix);
    through_activation(o->activation, &h[l - 1].matrix, dropping ? &mult[l - 1].matrix : NULL,
                       &next[l].matrix);
    delta = &next[l].matrix;
  }
  return GSL_SUCCESS;
}

/* The ndpar_grad_fn: y is a placeholder of the shard's rows; its targets are the
 * context's matrix of the same index. */
static int mlp_grad_fn(const gsl_matrix *x, const gsl_vector *y, gsl_vector *grad, double *loss,
                       const ndpar_task *t, void *vctx) {
  (void)y;
  const grad_ctx *c = vctx;
  if (grad->stride != 1 || x->size1 > c->shard_rows) return GSL_EBADLEN;
  gsl_rng *rng = NULL;
  if (c->o->dropout > 0) {
    rng = ndpar_streams_at_pair(c->streams, t->worker, c->step, t->index);
    if (rng == NULL) return GSL_EFAILED;
  }
  double *work = c->work + (size_t)t->worker * c->stride;
  return models_mlp_loss_grad(c->g, c->o, c->theta, x, c->targets[t->index], grad->data, loss,
                              rng, work);
}

/* ---- initialisation and optimizers ------------------------------------------------------ */

/* Glorot-uniform weights and biases (scikit-learn's _init_coef for tanh and relu). */
static void glorot(const net *g, double *theta, gsl_rng *rng) {
  for (size_t l = 0; l < g->nw; l++) {
    size_t fan_in = g->units[l];
    size_t fan_out = g->units[l + 1];
    double bound = sqrt(6.0 / (double)(fan_in + fan_out));
    size_t n = fan_out * fan_in + fan_out; /* W then b, contiguous */
    for (size_t i = 0; i < n; i++) theta[g->ow[l] + i] = bound * (2 * gsl_rng_uniform(rng) - 1);
  }
}

/* The optimizer's state: Adam's moments or SGD's velocity (in m). */
typedef struct {
  double *m;
  double *v;
  size_t t;
} optim;

/* theta += the step for gradient grad (P entries). */
static void optim_step(const ndpar_mlp_options *o, optim *st, double *theta, const double *grad,
                       size_t P) {
  if (o->solver == NDPAR_SOLVER_ADAM) {
    st->t++;
    double lr = o->lr * sqrt(1 - pow(o->beta2, (double)st->t)) /
                (1 - pow(o->beta1, (double)st->t));
    for (size_t i = 0; i < P; i++) {
      st->m[i] = o->beta1 * st->m[i] + (1 - o->beta1) * grad[i];
      st->v[i] = o->beta2 * st->v[i] + (1 - o->beta2) * grad[i] * grad[i];
      theta[i] -= lr * st->m[i] / (sqrt(st->v[i]) + o->eps);
    }
    return;
  }
  for (size_t i = 0; i < P; i++) {
    st->m[i] = o->momentum * st->m[i] - o->lr * grad[i];
    double step = o->nesterov ? o->momentum * st->m[i] - o->lr * grad[i] : st->m[i];
    theta[i] += step;
  }
}

/* The L2 term of a b-row minibatch: loss += 0.5 l2 ||W||^2 / b, grad_W += l2 W / b. */
static double add_l2(const net *g, double l2, size_t b, const double *theta, double *grad) {
  if (l2 == 0) return 0;
  double ss = 0;
  double f = l2 / (double)b;
  for (size_t l = 0; l < g->nw; l++) {
    size_t n = g->units[l + 1] * g->units[l];
    const double *w = theta + g->ow[l];
    double *gw = grad + g->ow[l];
    for (size_t i = 0; i < n; i++) {
      ss += w[i] * w[i];
      gw[i] += f * w[i];
    }
  }
  return 0.5 * f * ss;
}

/* ---- fitting -------------------------------------------------------------------------- */

/* The minibatches of a fit: b rows (the last one of an epoch may hold fewer), each cut
 * into shards of shard_rows rows, and what ndpar_grad needs to run them. */
typedef struct {
  size_t rows;        /* this minibatch's rows */
  size_t shard_rows;
  size_t nshards;
  ndpar_grad_workspace *ws;
} batch_plan;

static void plan_of(size_t rows, size_t shards, batch_plan *bp) {
  bp->rows = rows;
  bp->shard_rows = ndpar_rows_nbatches(rows, shards);
  bp->nshards = ndpar_rows_nbatches(rows, bp->shard_rows);
  bp->ws = NULL;
}

/* Everything one fit allocates, once. */
typedef struct {
  net g;
  size_t ntrain, nval, batch;
  size_t *order;        /* rows: the first ntrain train (shuffled per epoch), then validation */
  gsl_matrix *xb, *yb;  /* one minibatch, gathered */
  batch_plan full, last;
  const gsl_matrix **xs;
  const gsl_vector **ys;
  const gsl_matrix **ts;
  _gsl_matrix_const_view *xv, *tv;
  _gsl_vector_const_view *yv;
  gsl_vector *grad;
  double *theta, *best;
  optim st;
  double *work;
  size_t stride;
  ndpar_streams *streams;
  gsl_rng *rng;         /* init, split, order */
  double *vbuf;         /* validation: forward buffers and a prediction chunk */
  double *sst;          /* validation: per output sum of squares about the mean */
  double *sse;          /* validation: per output sum of squared errors */
} fit_mem;

#define VAL_CHUNK 256

static void fit_mem_free(fit_mem *f) {
  free(f->order);
  gsl_matrix_free(f->xb);
  gsl_matrix_free(f->yb);
  ndpar_grad_workspace_free(f->full.ws);
  ndpar_grad_workspace_free(f->last.ws);
  free(f->xs);
  free(f->ys);
  free(f->ts);
  free(f->xv);
  free(f->tv);
  free(f->yv);
  gsl_vector_free(f->grad);
  free(f->theta);
  free(f->best);
  free(f->st.m);
  free(f->st.v);
  free(f->work);
  ndpar_streams_free(f->streams);
  gsl_rng_free(f->rng);
  free(f->vbuf);
  free(f->sst);
  free(f->sse);
}

static int fit_mem_alloc(ndpar_pool *p, const ndpar_mlp_options *o, const gsl_matrix *x,
                         const gsl_matrix *y, fit_mem *f) {
  memset(f, 0, sizeof *f);
  size_t rows = x->size1;
  models_mlp_net(o, x->size2, y->size2, &f->g);
  size_t P = f->g.P;
  f->nval = o->validation > 0 ? (size_t)ceil(o->validation * (double)rows) : 0;
  if (f->nval >= rows || (o->validation > 0 && f->nval == 0)) return GSL_EINVAL;
  f->ntrain = rows - f->nval;
  size_t b = o->batch == 0 ? 200 : o->batch;
  f->batch = b < f->ntrain ? b : f->ntrain;
  size_t shards = o->shards == 0 ? MLP_DEFAULT_SHARDS : o->shards;
  plan_of(f->batch, shards, &f->full);
  plan_of(f->ntrain % f->batch, shards, &f->last);
  ndpar_pool *pool = p != NULL ? p : ndpar_pool_default();
  if (pool == NULL) return GSL_EFAILED;
  size_t threads = ndpar_pool_threads(pool);
  size_t n = f->full.nshards;
  f->order = malloc(rows * sizeof *f->order);
  f->xb = gsl_matrix_alloc(f->batch, x->size2);
  f->yb = gsl_matrix_alloc(f->batch, y->size2);
  f->full.ws = ndpar_grad_workspace_alloc(pool, n, P);
  if (f->last.rows > 0) f->last.ws = ndpar_grad_workspace_alloc(pool, f->last.nshards, P);
  f->xs = malloc(n * sizeof *f->xs);
  f->ys = malloc(n * sizeof *f->ys);
  f->ts = malloc(n * sizeof *f->ts);
  f->xv = malloc(n * sizeof *f->xv);
  f->tv = malloc(n * sizeof *f->tv);
  f->yv = malloc(n * sizeof *f->yv);
  f->grad = gsl_vector_alloc(P);
  f->theta = malloc(P * sizeof *f->theta);
  f->best = f->nval > 0 ? malloc(P * sizeof *f->best) : NULL;
  f->st.m = calloc(P, sizeof *f->st.m);
  f->st.v = calloc(P, sizeof *f->st.v);
  f->stride = ndpar_cacheline_round(models_mlp_work_doubles(&f->g, o->dropout > 0, f->full.shard_rows) *
                                    sizeof(double)) / sizeof(double);
  f->work = aligned_alloc(NDPAR_CACHELINE, threads * f->stride * sizeof(double));
  f->streams = o->dropout > 0 ? ndpar_streams_alloc(threads, ndpar_stream_seed(o->seed, 3)) : NULL;
  f->rng = gsl_rng_alloc(gsl_rng_taus2);
  f->vbuf = f->nval > 0 ? malloc(VAL_CHUNK * (2 * f->g.maxh + y->size2) * sizeof *f->vbuf) : NULL;
  f->sst = f->nval > 0 ? calloc(y->size2, sizeof *f->sst) : NULL;
  f->sse = f->nval > 0 ? calloc(y->size2, sizeof *f->sse) : NULL;
  int ok = f->order && f->xb && f->yb && f->full.ws && (f->last.rows == 0 || f->last.ws) &&
           f->xs && f->ys && f->ts && f->xv && f->tv && f->yv && f->grad && f->theta &&
           (f->nval == 0 || (f->best && f->vbuf && f->sst && f->sse)) && f->st.m && f->st.v && f->work &&
           (o->dropout == 0 || f->streams) && f->rng;
  return ok ? GSL_SUCCESS : GSL_ENOMEM;
}

/* A uniform shuffle of a[0..n) (Fisher-Yates) from rng. */
static void shuffle(size_t *a, size_t n, gsl_rng *rng) {
  for (size_t i = n; i > 1; i--) {
    size_t j = (size_t)gsl_rng_uniform_int(rng, i);
    size_t t = a[i - 1];
    a[i - 1] = a[j];
    a[j] = t;
  }
}

/* The validation rows' R^2 (averaged over outputs, scikit-learn's r2_score) under theta,
 * forward on the calling thread in chunks gathered into the minibatch buffer. */
static double validation_r2(const fit_mem *f, const ndpar_mlp_options *o, const gsl_matrix *x,
                            const gsl_matrix *y) {
  size_t k = y->size2;
  size_t chunk = f->xb->size1 < VAL_CHUNK ? f->xb->size1 : VAL_CHUNK;
  double *pred = f->vbuf + 2 * VAL_CHUNK * f->g.maxh;
  const size_t *val = f->order + f->ntrain;
  for (size_t j = 0; j < k; j++) f->sse[j] = 0;
  for (size_t start = 0; start < f->nval; start += chunk) {
    size_t m = f->nval - start < chunk ? f->nval - start : chunk;
    gsl_matrix_view xm = gsl_matrix_submatrix(f->xb, 0, 0, m, x->size2);
    gsl_matrix_view pm = gsl_matrix_view_array(pred, m, k);
    for (size_t i = 0; i < m; i++) {
      gsl_vector_const_view src = gsl_matrix_const_row(x, val[start + i]);
      gsl_vector_view dst = gsl_matrix_row(&xm.matrix, i);
      gsl_vector_memcpy(&dst.vector, &src.vector);
    }
    forward(&f->g, o, f->theta, &xm.matrix, &pm.matrix, NULL, f->vbuf);
    for (size_t i = 0; i < m; i++)
      for (size_t j = 0; j < k; j++) {
        double e = pred[i * k + j] - gsl_matrix_get(y, val[start + i], j);
        f->sse[j] += e * e;
      }
  }
  double r2 = 0;
  for (size_t j = 0; j < k; j++)
    r2 += f->sst[j] > 0 ? 1 - f->sse[j] / f->sst[j] : (f->sse[j] == 0 ? 1.0 : 0.0);
  return r2 / (double)k;
}

/* Per output, the validation targets' sum of squares about their mean. */
static void validation_sst(fit_mem *f, const gsl_matrix *y) {
  const size_t *val = f->order + f->ntrain;
  for (size_t j = 0; j < y->size2; j++) {
    double mean = 0;
    for (size_t i = 0; i < f->nval; i++) mean += gsl_matrix_get(y, val[i], j);
    mean /= (double)f->nval;
    double ss = 0;
    for (size_t i = 0; i < f->nval; i++) {
      double d = gsl_matrix_get(y, val[i], j) - mean;
      ss += d * d;
    }
    f->sst[j] = ss;
  }
}

/* One minibatch: rows order[start .. start + bp->rows) gathered, their gradient over the
 * shards by ndpar_grad, the L2 term, one optimizer step. *loss = the minibatch's loss. */
static int train_batch(fit_mem *f, const ndpar_mlp_options *o, const gsl_matrix *x,
                       const gsl_matrix *y, size_t start, const batch_plan *bp, size_t step,
                       double *loss) {
  gsl_matrix_view xb = gsl_matrix_submatrix(f->xb, 0, 0, bp->rows, x->size2);
  gsl_matrix_view yb = gsl_matrix_submatrix(f->yb, 0, 0, bp->rows, y->size2);
  for (size_t i = 0; i < bp->rows; i++) {
    gsl_vector_const_view xs = gsl_matrix_const_row(x, f->order[start + i]);
    gsl_vector_const_view ys = gsl_matrix_const_row(y, f->order[start + i]);
    gsl_vector_view xd = gsl_matrix_row(&xb.matrix, i);
    gsl_vector_view yd = gsl_matrix_row(&yb.matrix, i);
    gsl_vector_memcpy(&xd.vector, &xs.vector);
    gsl_vector_memcpy(&yd.vector, &ys.vector);
  }
  for (size_t k = 0; k < bp->nshards; k++) {
    f->xv[k] = ndpar_rows_batch_const(&xb.matrix, bp->shard_rows, k);
    f->tv[k] = ndpar_rows_batch_const(&yb.matrix, bp->shard_rows, k);
    f->yv[k] = gsl_matrix_const_column(&f->tv[k].matrix, 0);
    f->xs[k] = &f->xv[k].matrix;
    f->ts[k] = &f->tv[k].matrix;
    f->ys[k] = &f->yv[k].vector;
  }
  grad_ctx c = {&f->g, o, f->theta, f->ts, f->work, f->stride, f->full.shard_rows, f->streams,
                step};
  double l = 0;
  int status = ndpar_grad_compute_ws(bp->ws, f->xs, f->ys, bp->nshards, mlp_grad_fn, &c,
                                     o->reduce, f->grad, &l, NULL);
  if (status != GSL_SUCCESS) return status;
  l += add_l2(&f->g, o->l2, bp->rows, f->theta, f->grad->data);
  optim_step(o, &f->st, f->theta, f->grad->data, f->g.P);
  *loss = l;
  return GSL_SUCCESS;
}

/* One epoch over the training rows; *loss = the row-weighted mean minibatch loss. */
static int train_epoch(fit_mem *f, const ndpar_mlp_options *o, const gsl_matrix *x,
                       const gsl_matrix *y, size_t *step, double *loss) {
  if (o->shuffle) shuffle(f->order, f->ntrain, f->rng);
  double sum = 0;
  for (size_t start = 0; start < f->ntrain; start += f->batch) {
    const batch_plan *bp = f->ntrain - start >= f->batch ? &f->full : &f->last;
    double l = 0;
    int status = train_batch(f, o, x, y, start, bp, *step, &l);
    if (status != GSL_SUCCESS) return status;
    (*step)++;
    sum += l * (double)bp->rows;
  }
  *loss = sum / (double)f->ntrain;
  return isfinite(*loss) ? GSL_SUCCESS : GSL_ERUNAWAY;
}

static int train(fit_mem *f, const ndpar_mlp_options *o, const gsl_matrix *x, const gsl_matrix *y,
                 size_t *n_iter, double *loss) {
  size_t rows = x->size1;
  gsl_rng_set(f->rng, ndpar_stream_seed(o->seed, 0));
  glorot(&f->g, f->theta, f->rng);
  for (size_t i = 0; i < rows; i++) f->order[i] = i;
  if (f->nval > 0) {
    shuffle(f->order, rows, f->rng); /* the held-out rows: the last nval of a permutation */
    validation_sst(f, y);
  }
  double best = -INFINITY;
  size_t stale = 0;
  size_t step = 0;
  size_t e = 0;
  while (e < o->epochs) {
    int status = train_epoch(f, o, x, y, &step, loss);
    if (status != GSL_SUCCESS) return status;
    e++;
    if (f->nval == 0) continue;
    /* scikit-learn's _update_no_improvement_count with early_stopping */
    double score = validation_r2(f, o, x, y);
    stale = score < best + o->tol ? stale + 1 : 0;
    if (score > best) {
      best = score;
      memcpy(f->best, f->theta, f->g.P * sizeof *f->best);
    }
    if (stale > o->patience) break;
  }
  if (f->nval > 0) memcpy(f->theta, f->best, f->g.P * sizeof *f->theta);
  *n_iter = e;
  return GSL_SUCCESS;
}

static int mlp_fit(ndpar_pool *p, void *vs, const gsl_matrix *x, const gsl_matrix *y,
                   size_t *outputs) {
  mlp_state *s = vs;
  fit_mem f;
  int status = fit_mem_alloc(p, &s->opt, x, y, &f);
  size_t n_iter = 0;
  double loss = 0;
  gsl_vector *theta = NULL;
  if (status == GSL_SUCCESS) status = train(&f, &s->opt, x, y, &n_iter, &loss);
  if (status == GSL_SUCCESS) {
    theta = gsl_vector_alloc(f.g.P);
    if (theta == NULL) status = GSL_ENOMEM;
  }
  if (status == GSL_SUCCESS) {
    memcpy(theta->data, f.theta, f.g.P * sizeof *f.theta);
    gsl_vector_free(s->theta);
    s->theta = theta;
    s->g = f.g;
    s->n_iter = n_iter;
    s->loss = loss;
    *outputs = y->size2;
  }
  fit_mem_free(&f);
  return status;
}

/* ---- persistence ---------------------------------------------------------------------- */

/* The fitted state: theta as a 1 x P matrix and the geometry (inputs, outputs). */
static int mlp_save(const void *vs, ndpar_model_archive *a) {
  const mlp_state *s = vs;
  gsl_matrix_const_view t = gsl_matrix_const_view_vector(s->theta, 1, s->theta->size);
  double shape[2] = {(double)s->g.units[0], (double)s->g.units[s->g.nw]};
  gsl_matrix_const_view sh = gsl_matrix_const_view_array(shape, 1, 2);
  double fitted[2] = {(double)s->n_iter, s->loss};
  gsl_matrix_const_view fv = gsl_matrix_const_view_array(fitted, 1, 2);
  int status = ndpar_model_archive_put(a, "theta", &t.matrix);
  if (status == GSL_SUCCESS) status = ndpar_model_archive_put(a, "shape", &sh.matrix);
  if (status == GSL_SUCCESS) status = ndpar_model_archive_put(a, "fitted", &fv.matrix);
  return status;
}

static int mlp_load(void *vs, const ndpar_model_archive *a) {
  mlp_state *s = vs;
  gsl_matrix *t = NULL;
  gsl_matrix *sh = NULL;
  gsl_matrix *fv = NULL;
  int status = ndpar_model_archive_get(a, "theta", &t);
  if (status == GSL_SUCCESS) status = ndpar_model_archive_get(a, "shape", &sh);
  if (status == GSL_SUCCESS) status = ndpar_model_archive_get(a, "fitted", &fv);
  size_t in = 0;
  size_t out = 0;
  if (status == GSL_SUCCESS &&
      (sh->size1 != 1 || sh->size2 != 2 || fv->size1 != 1 || fv->size2 != 2 || t->size1 != 1 ||
       !as_count(gsl_matrix_get(sh, 0, 0), &in) || !as_count(gsl_matrix_get(sh, 0, 1), &out) ||
       in == 0 || out == 0 || options_bad(&s->opt) != NULL))
    status = GSL_EINVAL;
  net g;
  if (status == GSL_SUCCESS) {
    models_mlp_net(&s->opt, in, out, &g);
    if (t->size2 != g.P) status = GSL_EBADLEN;
  }
  gsl_vector *theta = NULL;
  if (status == GSL_SUCCESS) {
    theta = gsl_vector_alloc(g.P);
    if (theta == NULL) status = GSL_ENOMEM;
  }
  if (status == GSL_SUCCESS) {
    memcpy(theta->data, t->data, g.P * sizeof *theta->data);
    gsl_vector_free(s->theta);
    s->theta = theta;
    s->g = g;
    s->n_iter = (size_t)gsl_matrix_get(fv, 0, 0);
    s->loss = gsl_matrix_get(fv, 0, 1);
  }
  gsl_matrix_free(t);
  gsl_matrix_free(sh);
  gsl_matrix_free(fv);
  return status;
}

void models_mlp_shape(const void *vs, size_t *inputs, size_t *outputs) {
  const mlp_state *s = vs;
  *inputs = s->theta != NULL ? s->g.units[0] : 0;
  *outputs = s->theta != NULL ? s->g.units[s->g.nw] : 0;
}

/* ---- the type ------------------------------------------------------------------------- */

static const char *const mlp_params[] = {
    "lr",      "momentum", "nesterov", "beta1",      "beta2",    "eps",    "l2",
    "batch",   "epochs",   "shuffle",  "validation", "patience", "tol",    "dropout",
    "seed",    "reduce",   "shards",   "layers",     "hidden",   "activation", "solver",
    "hidden0", "hidden1",  "hidden2",  "hidden3",    "hidden4",  "hidden5", "hidden6",
    "hidden7", NULL};

const ndpar_model_type models_mlp_type = {
    "mlp",     NDPAR_MODEL_REGRESSOR, mlp_params, mlp_clone, mlp_free, mlp_set, mlp_get,
    mlp_fit,   mlp_predict,           1,          mlp_save,  mlp_load};

ndpar_model *ndpar_mlp_alloc(const ndpar_mlp_options *opt) {
  ndpar_mlp_options o;
  ndpar_mlp_options_init(&o);
  if (opt != NULL) o = *opt;
  const char *bad = options_bad(&o);
  if (bad != NULL) NDPAR_ERROR_NULL_FMT(GSL_EINVAL, "mlp_alloc: opt->%s is invalid", bad);
  mlp_state *s = calloc(1, sizeof *s);
  NDPAR_REQUIRE_NULL(s != NULL, "mlp_alloc: out of memory", GSL_ENOMEM);
  s->opt = o;
  ndpar_model *m = models_wrap(&models_mlp_type, s);
  NDPAR_REQUIRE_NULL(m != NULL, "mlp_alloc: out of memory", GSL_ENOMEM);
  return m;
}
