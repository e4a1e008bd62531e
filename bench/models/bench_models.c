/* bench_models: one training epoch of the MLP regressor (24 lags -> 64 relu -> 1, Adam,
 * minibatch 64, l2 1e-4) on the windows of the bundled Seattle series:
 * - a plain sequential C loop, as a C programmer would first write it (row by row, plain
 *   arrays, the same Glorot init, loss, gradient and Adam step);
 * - ndpar_model_fit with epochs = 1 at 1 thread and at --threads, deterministic and fast
 *   reductions (the default 4 shards per minibatch), and deterministic with 2 shards;
 * - scikit-learn's MLPRegressor(max_iter=1) on the same rows (bench/models/sklearn_epoch.py,
 *   run by /usr/bin/python3 on the same data, numpy's BLAS on --threads threads; skipped
 *   with a note if it cannot run).
 * Every variant fits from scratch (setup and one epoch), as MLPRegressor.fit does. */
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ndpar/ndpar_models.h"
#include "ref/timing.h"
#include "ref/wl.h"
#include "ridge_grid.h"

#define LAGS 24
#define HIDDEN 64
#define BATCH 64

/* ---- the sequential loop ---- */

typedef struct {
  const gsl_matrix *x;
  const gsl_matrix *y;
  double loss; /* the epoch's mean loss, to keep the work observable */
} seq_ctx;

/* One epoch of Adam on a 1-hidden-layer relu MLP, a row at a time. */
static double seq_epoch(const double *x, const double *y, size_t rows, size_t in, size_t h) {
  size_t nw1 = h * in;
  size_t P = nw1 + h + h + 1;
  double *theta = malloc(P * sizeof *theta);
  double *g = malloc(P * sizeof *g);
  double *m = calloc(P, sizeof *m);
  double *v = calloc(P, sizeof *v);
  double *a = malloc(h * sizeof *a);
  size_t *order = malloc(rows * sizeof *order);
  double *w1 = theta;
  double *b1 = theta + nw1;
  double *w2 = b1 + h;
  double *b2 = w2 + h;
  gsl_rng *r = gsl_rng_alloc(gsl_rng_taus2);
  gsl_rng_set(r, 1);
  double bound1 = sqrt(6.0 / (double)(in + h));
  double bound2 = sqrt(6.0 / (double)(h + 1));
  for (size_t i = 0; i < nw1 + h; i++) theta[i] = bound1 * (2 * gsl_rng_uniform(r) - 1);
  for (size_t i = nw1 + h; i < P; i++) theta[i] = bound2 * (2 * gsl_rng_uniform(r) - 1);
  for (size_t i = 0; i < rows; i++) order[i] = i;
  for (size_t i = rows; i > 1; i--) {
    size_t j = gsl_rng_uniform_int(r, i);
    size_t t = order[i - 1];
    order[i - 1] = order[j];
    order[j] = t;
  }
  double total = 0;
  size_t step = 0;
  for (size_t start = 0; start < rows; start += BATCH) {
    size_t n = rows - start < BATCH ? rows - start : BATCH;
    memset(g, 0, P * sizeof *g);
    double loss = 0;
    for (size_t k = 0; k < n; k++) {
      const double *xr = x + order[start + k] * in;
      double out = b2[0];
      for (size_t j = 0; j < h; j++) {
        double z = b1[j];
        for (size_t i = 0; i < in; i++) z += w1[j * in + i] * xr[i];
        a[j] = z > 0 ? z : 0;
        out += w2[j] * a[j];
      }
      double e = out - y[order[start + k]];
      loss += 0.5 * e * e;
      double d = e / (double)n;
      g[P - 1] += d;
      for (size_t j = 0; j < h; j++) {
        g[nw1 + h + j] += d * a[j];
        if (a[j] <= 0) continue;
        double dz = d * w2[j];
        g[nw1 + j] += dz;
        for (size_t i = 0; i < in; i++) g[j * in + i] += dz * xr[i];
      }
    }
    loss /= (double)n;
    double l2 = 1e-4 / (double)n;
    for (size_t i = 0; i < nw1; i++) g[i] += l2 * w1[i];
    for (size_t j = 0; j < h; j++) g[nw1 + h + j] += l2 * w2[j];
    step++;
    double lr = 1e-3 * sqrt(1 - pow(0.999, (double)step)) / (1 - pow(0.9, (double)step));
    for (size_t i = 0; i < P; i++) {
      m[i] = 0.9 * m[i] + 0.1 * g[i];
      v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i];
      theta[i] -= lr * m[i] / (sqrt(v[i]) + 1e-8);
    }
    total += loss * (double)n;
  }
  gsl_rng_free(r);
  free(theta);
  free(g);
  free(m);
  free(v);
  free(a);
  free(order);
  return total / (double)rows;
}

static void run_seq(void *vc) {
  seq_ctx *c = vc;
  c->loss = seq_epoch(c->x->data, c->y->data, c->x->size1, c->x->size2, HIDDEN);
}

/* ---- ndpar ---- */

typedef struct {
  const gsl_matrix *x;
  const gsl_matrix *y;
  ndpar_pool *one;
  ndpar_pool *many;
  ndpar_model *det;
  ndpar_model *fast;
  ndpar_model *det2;
  int failed;
} nd_ctx;

static void fit_on(nd_ctx *c, ndpar_pool *p, ndpar_model *m) {
  if (ndpar_model_fit(p, m, c->x, c->y) != GSL_SUCCESS) c->failed = 1;
}

static void run_det_1(void *vc) {
  nd_ctx *c = vc;
  fit_on(c, c->one, c->det);
}

static void run_det_t(void *vc) {
  nd_ctx *c = vc;
  fit_on(c, c->many, c->det);
}

static void run_fast_t(void *vc) {
  nd_ctx *c = vc;
  fit_on(c, c->many, c->fast);
}

static void run_det2_t(void *vc) {
  nd_ctx *c = vc;
  fit_on(c, c->many, c->det2);
}

typedef struct {
  seq_ctx seq;
  nd_ctx nd;
} both;

static void v_seq(void *vb) {
  run_seq(&((both *)vb)->seq);
}
static void v_det_1(void *vb) {
  run_det_1(&((both *)vb)->nd);
}
static void v_det_t(void *vb) {
  run_det_t(&((both *)vb)->nd);
}
static void v_fast_t(void *vb) {
  run_fast_t(&((both *)vb)->nd);
}
static void v_det2_t(void *vb) {
  run_det2_t(&((both *)vb)->nd);
}

/* shards 0: the default (4) */
static ndpar_model *epoch_model(ndpar_reduce reduce, size_t shards) {
  ndpar_mlp_options o;
  ndpar_mlp_options_init(&o);
  o.hidden[0] = HIDDEN;
  o.batch = BATCH;
  o.epochs = 1;
  o.reduce = reduce;
  o.shards = shards;
  return ndpar_mlp_alloc(&o);
}

/* ---- scikit-learn ---- */

/* Writes x and y as raw doubles for the python script; runs it; reads "min med max" (ms). */
static int sklearn_epoch(const gsl_matrix *x, const gsl_matrix *y, size_t threads, int reps,
                         bench_stats *st) {
  char xpath[] = "/tmp/bench_models_xXXXXXX";
  int fd = mkstemp(xpath);
  if (fd < 0) return 1;
  FILE *f = fdopen(fd, "wb");
  fwrite(x->data, sizeof(double), x->size1 * x->size2, f);
  fwrite(y->data, sizeof(double), y->size1, f);
  fclose(f);
  char cmd[2048];
  /* the script sits in the source tree beside this file: data/../bench/models/ */
  /* Debian's python3 (its scikit-learn and numpy), numpy's BLAS on as many threads as ours */
  snprintf(cmd, sizeof cmd,
           "OPENBLAS_NUM_THREADS=%zu OMP_NUM_THREADS=%zu %s '%s/../bench/models/sklearn_epoch.py' "
           "%s %zu %zu %d %d %d",
           threads, threads, bench_python(), wl_data_dir(NULL), xpath, x->size1, x->size2, HIDDEN,
           BATCH, reps);
  FILE *p = popen(cmd, "r");
  int ok = p != NULL && fscanf(p, "%lf %lf %lf", &st->min, &st->med, &st->max) == 3;
  if (p != NULL) pclose(p);
  remove(xpath);
  return ok ? 0 : 1;
}

int main(int argc, char **argv) {
  bench_options opt;
  bench_parse(argc, argv, "bench_models",
              "One MLP training epoch (24 lags -> 64 relu -> 1, Adam, minibatch 64) on the bundled\n"
              "Seattle series: a sequential C loop vs ndpar_model_fit (1 and T threads,\n"
              "deterministic and fast) vs scikit-learn's MLPRegressor.",
              &opt);
  int reps = opt.reps > 0 ? opt.reps : (opt.quick ? 3 : 15);
  gsl_matrix *x = NULL;
  gsl_matrix *yw = NULL;
  char err[256];
  if (wl_default_windows(NULL, LAGS, 1, &x, &yw, err, sizeof err) != GSL_SUCCESS) {
    fprintf(stderr, "bench_models: %s\n", err);
    return 1;
  }
  ndpar_pool_config cfg;
  ndpar_pool_config_init(&cfg);
  cfg.threads = 1;
  ndpar_pool *one = ndpar_pool_alloc(&cfg);
  cfg.threads = opt.threads;
  ndpar_pool *many = ndpar_pool_alloc(&cfg);
  both b = {{x, yw, 0},
            {x, yw, one, many, epoch_model(NDPAR_REDUCE_DETERMINISTIC, 0),
             epoch_model(NDPAR_REDUCE_FAST, 0), epoch_model(NDPAR_REDUCE_DETERMINISTIC, 2), 0}};
  if (one == NULL || many == NULL || b.nd.det == NULL || b.nd.fast == NULL || b.nd.det2 == NULL)
    return 1;
  printf("one epoch: %zu rows x %d lags, %d relu units, Adam, minibatch %d (%zu minibatches)\n",
         x->size1, LAGS, HIDDEN, BATCH, (x->size1 + BATCH - 1) / BATCH);
  void (*const fns[])(void *) = {v_seq, v_det_1, v_det_t, v_fast_t, v_det2_t};
  const char *names[] = {"sequential C loop", "ndpar det", "ndpar det", "ndpar fast",
                         "ndpar det, 2 shards"};
  size_t threads[] = {1, 1, opt.threads, opt.threads, opt.threads};
  enum { NV = 5 };
  bench_stats st[NV + 1];
  bench_compare_stats_ms(fns, NV, &b, 1, reps, NULL, st);
  if (b.nd.failed) {
    fprintf(stderr, "bench_models: a fit failed\n");
    return 1;
  }
  int have_sk = sklearn_epoch(x, yw, opt.threads, reps, &st[NV]) == 0;
  printf("%-24s %3s %9s %9s %9s %10s\n", "variant", "T", "min ms", "med ms", "max ms",
         "seq/this");
  for (size_t i = 0; i < NV; i++)
    printf("%-24s %3zu %9.2f %9.2f %9.2f %9.2fx\n", names[i], threads[i], st[i].min, st[i].med,
           st[i].max, st[0].med / st[i].med);
  if (have_sk)
    printf("%-24s %3zu %9.2f %9.2f %9.2f %9.2fx\n", "scikit-learn MLPRegressor", opt.threads,
           st[NV].min, st[NV].med, st[NV].max, st[0].med / st[NV].med);
  else
    printf("scikit-learn: skipped (%s with scikit-learn could not run the script)\n", bench_python());
  if (have_sk)
    printf("ndpar det at %zu threads vs scikit-learn: %.2fx faster (medians)\n", opt.threads,
           st[NV].med / st[2].med);
  printf("sequential loop's epoch loss %.6f (work kept observable)\n", b.seq.loss);
  ndpar_model_free(b.nd.det);
  ndpar_model_free(b.nd.fast);
  ndpar_model_free(b.nd.det2);
  ndpar_pool_free(one);
  ndpar_pool_free(many);
  gsl_matrix_free(x);
  gsl_matrix_free(yw);
  return bench_ridge_grid(&opt);
}
