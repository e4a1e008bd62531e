/* Tests of the MLP regressor: its gradient against finite differences, bit-identical
 * deterministic fits at 1..4 threads, the fast mode within rounding, learning a smooth
 * function, early stopping, MC dropout, allocation once per fit, options by name. */
#include <criterion/criterion.h>
#include <gsl/gsl_errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "models/mlp_internal.h"
#include "ndpar/ndpar_models.h"
#include "test_util.h"

/* rows x inputs of N(0, 1) draws and a smooth target of `outputs` columns:
 * y_j = sin(x_0 + j) + 0.5 x_1^2 - 0.3 x_2 (missing columns taken as 0). */
static void smooth_data(gsl_rng *r, size_t rows, size_t inputs, size_t outputs, gsl_matrix **x,
                        gsl_matrix **y) {
  *x = test_random_matrix(r, rows, inputs);
  *y = gsl_matrix_alloc(rows, outputs);
  for (size_t i = 0; i < rows; i++) {
    double x0 = gsl_matrix_get(*x, i, 0);
    double x1 = inputs > 1 ? gsl_matrix_get(*x, i, 1) : 0;
    double x2 = inputs > 2 ? gsl_matrix_get(*x, i, 2) : 0;
    for (size_t j = 0; j < outputs; j++)
      gsl_matrix_set(*y, i, j, sin(x0 + (double)j) + 0.5 * x1 * x1 - 0.3 * x2);
  }
}

static ndpar_mlp_options small_options(void) {
  ndpar_mlp_options o;
  ndpar_mlp_options_init(&o);
  o.layers = 2;
  o.hidden[0] = 12;
  o.hidden[1] = 7;
  o.activation = NDPAR_ACT_TANH;
  o.batch = 16;
  o.epochs = 5;
  o.seed = 42;
  return o;
}

/* ---- the gradient ---------------------------------------------------------------------- */

/* The analytic gradient of one shard against central differences of its loss, with and
 * without dropout (the same mask for every evaluation: the rng reseeded each time). */
static void check_gradient(ndpar_activation act, double dropout) {
  gsl_rng *r = test_rng();
  ndpar_mlp_options o = small_options();
  o.activation = act;
  o.dropout = dropout;
  size_t rows = 9;
  gsl_matrix *x = NULL;
  gsl_matrix *y = NULL;
  smooth_data(r, rows, 4, 3, &x, &y);
  net g;
  models_mlp_net(&o, 4, 3, &g);
  cr_assert_eq(g.P, 12 * 4 + 12 + 7 * 12 + 7 + 3 * 7 + 3);
  double *theta = malloc(g.P * sizeof *theta);
  double *grad = malloc(g.P * sizeof *grad);
  double *dummy = malloc(g.P * sizeof *dummy);
  double *work = malloc(models_mlp_work_doubles(&g, dropout > 0, rows) * sizeof *work);
  for (size_t i = 0; i < g.P; i++) theta[i] = 0.5 * (2 * gsl_rng_uniform(r) - 1);
  gsl_rng *mask = gsl_rng_alloc(gsl_rng_taus2);
  gsl_rng *use = dropout > 0 ? mask : NULL;
  double loss = 0;
  gsl_rng_set(mask, 7);
  cr_assert_eq(models_mlp_loss_grad(&g, &o, theta, x, y, grad, &loss, use, work), GSL_SUCCESS);
  cr_assert(loss > 0);
  double worst = 0;
  for (size_t i = 0; i < g.P; i++) {
    double keep = theta[i];
    double h = 1e-6;
    double lp = 0;
    double lm = 0;
    theta[i] = keep + h;
    gsl_rng_set(mask, 7);
    models_mlp_loss_grad(&g, &o, theta, x, y, dummy, &lp, use, work);
    theta[i] = keep - h;
    gsl_rng_set(mask, 7);
    models_mlp_loss_grad(&g, &o, theta, x, y, dummy, &lm, use, work);
    theta[i] = keep;
    double fd = (lp - lm) / (2 * h);
    double err = fabs(fd - grad[i]) / fmax(1e-3, fabs(fd) + fabs(grad[i]));
    worst = fmax(worst, err);
  }
  cr_assert(worst < 1e-6, "finite differences: worst relative error %g", worst);
  gsl_rng_free(mask);
  free(theta);
  free(grad);
  free(dummy);
  free(work);
  gsl_matrix_free(x);
  gsl_matrix_free(y);
  gsl_rng_free(r);
}

Test(mlp, gradient_tanh_matches_finite_differences) {
  check_gradient(NDPAR_ACT_TANH, 0);
}

Test(mlp, gradient_relu_matches_finite_differences) {
  check_gradient(NDPAR_ACT_RELU, 0);
}

Test(mlp, gradient_with_dropout_matches_finite_differences) {
  check_gradient(NDPAR_ACT_TANH, 0.3);
}

/* ---- determinism ----------------------------------------------------------------------- */

/* Fits a clone of o on (x, y) on a pool of `threads` and predicts x into pred. */
static void fit_predict(const ndpar_mlp_options *o, size_t threads, const gsl_matrix *x,
                        const gsl_matrix *y, gsl_matrix *pred) {
  ndpar_pool *p = test_pool_of(threads);
  ndpar_model *m = ndpar_mlp_alloc(o);
  cr_assert_not_null(m);
  cr_assert_eq(ndpar_model_fit(p, m, x, y), GSL_SUCCESS);
  cr_assert_eq(ndpar_model_predict(p, m, x, pred), GSL_SUCCESS);
  ndpar_model_free(m);
  ndpar_pool_free(p);
}

/* Deterministic fits (shuffled, with dropout, a partial last minibatch, shards of uneven
 * rows, two outputs) give bit-identical weights at 1, 2, 3 and 4 threads. */
Test(mlp, deterministic_bit_identical_at_any_thread_count) {
  gsl_rng *r = test_rng();
  gsl_matrix *x = NULL;
  gsl_matrix *y = NULL;
  smooth_data(r, 203, 5, 2, &x, &y);
  ndpar_mlp_options o = small_options();
  o.dropout = 0.1;
  o.batch = 37;
  o.shards = 5;
  o.validation = 0.1;
  gsl_matrix *ref = gsl_matrix_alloc(203, 2);
  gsl_matrix *got = gsl_matrix_alloc(203, 2);
  fit_predict(&o, 1, x, y, ref);
  for (size_t t = 2; t <= 4; t++) {
    fit_predict(&o, t, x, y, got);
    cr_assert(memcmp(ref->data, got->data, 203 * 2 * sizeof(double)) == 0,
              "%zu threads: predictions differ from 1 thread", t);
  }
  /* SGD with momentum, relu, too */
  o.solver = NDPAR_SOLVER_SGD;
  o.activation = NDPAR_ACT_RELU;
  o.lr = 0.01;
  fit_predict(&o, 1, x, y, ref);
  for (size_t t = 2; t <= 4; t++) {
    fit_predict(&o, t, x, y, got);
    cr_assert(memcmp(ref->data, got->data, 203 * 2 * sizeof(double)) == 0,
              "sgd, %zu threads: predictions differ from 1 thread", t);
  }
  gsl_matrix_free(ref);
  gsl_matrix_free(got);
  gsl_matrix_free(x);
  gsl_matrix_free(y);
  gsl_rng_free(r);
}

/* The AVX2 kernels (where the CPU has them) and the portable ones give the same bits. */
Test(mlp, simd_and_portable_kernels_agree_bit_for_bit) {
  gsl_rng *r = test_rng();
  gsl_matrix *x = NULL;
  gsl_matrix *y = NULL;
  smooth_data(r, 97, 11, 3, &x, &y);
  ndpar_mlp_options o = small_options();
  o.hidden[0] = 21; /* blocks of 8 units and a rest */
  o.hidden[1] = 16;
  o.activation = NDPAR_ACT_RELU;
  o.dropout = 0.1;
  gsl_matrix *a = gsl_matrix_alloc(97, 3);
  gsl_matrix *b = gsl_matrix_alloc(97, 3);
  int was = models_mlp_simd(1);
  int simd = models_mlp_simd(-1);
  fit_predict(&o, 2, x, y, a);
  models_mlp_simd(0);
  fit_predict(&o, 2, x, y, b);
  models_mlp_simd(was);
  cr_log_info("AVX2 kernels %s on this CPU", simd ? "ran" : "are not available");
  cr_assert(memcmp(a->data, b->data, 97 * 3 * sizeof(double)) == 0);
  gsl_matrix_free(a);
  gsl_matrix_free(b);
  gsl_matrix_free(x);
  gsl_matrix_free(y);
  gsl_rng_free(r);
}

/* The fast reduction rounds differently but trains the same network. */
Test(mlp, fast_mode_equals_deterministic_within_rounding) {
  gsl_rng *r = test_rng();
  gsl_matrix *x = NULL;
  gsl_matrix *y = NULL;
  smooth_data(r, 150, 3, 1, &x, &y);
  ndpar_mlp_options o = small_options();
  o.epochs = 3;
  gsl_matrix *det = gsl_matrix_alloc(150, 1);
  gsl_matrix *fast = gsl_matrix_alloc(150, 1);
  size_t threads = test_max_threads();
  fit_predict(&o, threads, x, y, det);
  o.reduce = NDPAR_REDUCE_FAST;
  fit_predict(&o, threads, x, y, fast);
  for (size_t i = 0; i < 150; i++) {
    double a = gsl_matrix_get(det, i, 0);
    double b = gsl_matrix_get(fast, i, 0);
    cr_assert(fabs(a - b) <= 1e-8 * fmax(1, fabs(a)), "row %zu: %.17g vs %.17g", i, a, b);
  }
  gsl_matrix_free(det);
  gsl_matrix_free(fast);
  gsl_matrix_free(x);
  gsl_matrix_free(y);
  gsl_rng_free(r);
}

/* ---- learning -------------------------------------------------------------------------- */

Test(mlp, learns_a_smooth_function) {
  gsl_rng *r = test_rng();
  gsl_matrix *x = NULL;
  gsl_matrix *y = NULL;
  gsl_matrix *xt = NULL;
  gsl_matrix *yt = NULL;
  smooth_data(r, 800, 3, 1, &x, &y);
  smooth_data(r, 300, 3, 1, &xt, &yt);
  ndpar_mlp_options o;
  ndpar_mlp_options_init(&o);
  o.hidden[0] = 32;
  o.activation = NDPAR_ACT_TANH;
  o.lr = 0.01;
  o.batch = 32;
  o.epochs = 1;
  ndpar_model *m = ndpar_mlp_alloc(&o);
  cr_assert_eq(ndpar_model_fit(NULL, m, x, y), GSL_SUCCESS);
  double first = 0;
  cr_assert_eq(ndpar_model_get(m, "loss", &first), GSL_SUCCESS);
  cr_assert_eq(ndpar_model_set(m, "mlp.epochs", 150), GSL_SUCCESS);
  cr_assert_eq(ndpar_model_fit(NULL, m, x, y), GSL_SUCCESS);
  double last = 0;
  double n_iter = 0;
  cr_assert_eq(ndpar_model_get(m, "loss", &last), GSL_SUCCESS);
  cr_assert_eq(ndpar_model_get(m, "n_iter", &n_iter), GSL_SUCCESS);
  cr_assert_eq(n_iter, 150);
  cr_assert(last < first / 5, "loss %g after 150 epochs, %g after 1", last, first);
  double r2 = 0;
  cr_assert_eq(ndpar_model_score(NULL, m, NDPAR_SCORE_R2, xt, yt, &r2), GSL_SUCCESS);
  cr_assert(r2 > 0.95, "held-out R^2 %g", r2);
  /* SGD with Nesterov momentum learns it too */
  cr_assert_eq(ndpar_model_set(m, "solver", NDPAR_SOLVER_SGD), GSL_SUCCESS);
  cr_assert_eq(ndpar_model_fit(NULL, m, x, y), GSL_SUCCESS);
  cr_assert_eq(ndpar_model_score(NULL, m, NDPAR_SCORE_R2, xt, yt, &r2), GSL_SUCCESS);
  cr_assert(r2 > 0.9, "sgd: held-out R^2 %g", r2);
  ndpar_model_free(m);
  gsl_matrix_free(x);
  gsl_matrix_free(y);
  gsl_matrix_free(xt);
  gsl_matrix_free(yt);
  gsl_rng_free(r);
}

/* Early stopping ends a fit whose validation score no longer improves, long before its
 * epochs, and keeps weights as good on the held-out rows as the best epoch's. */
Test(mlp, early_stopping_stops) {
  gsl_rng *r = test_rng();
  gsl_matrix *x = NULL;
  gsl_matrix *y = NULL;
  smooth_data(r, 300, 3, 1, &x, &y);
  ndpar_mlp_options o = small_options();
  o.lr = 0.01;
  o.epochs = 5000;
  o.validation = 0.2;
  o.patience = 3;
  o.tol = 1e-3;
  ndpar_model *m = ndpar_mlp_alloc(&o);
  cr_assert_eq(ndpar_model_fit(NULL, m, x, y), GSL_SUCCESS);
  double n_iter = 0;
  cr_assert_eq(ndpar_model_get(m, "n_iter", &n_iter), GSL_SUCCESS);
  cr_assert(n_iter >= 4 && n_iter < 5000, "ran %g epochs", n_iter);
  double r2 = 0;
  cr_assert_eq(ndpar_model_score(NULL, m, NDPAR_SCORE_R2, x, y, &r2), GSL_SUCCESS);
  cr_assert(r2 > 0.8, "R^2 %g", r2);
  /* without a validation fraction every epoch runs */
  cr_assert_eq(ndpar_model_set(m, "validation", 0), GSL_SUCCESS);
  cr_assert_eq(ndpar_model_set(m, "epochs", 7), GSL_SUCCESS);
  cr_assert_eq(ndpar_model_fit(NULL, m, x, y), GSL_SUCCESS);
  cr_assert_eq(ndpar_model_get(m, "n_iter", &n_iter), GSL_SUCCESS);
  cr_assert_eq(n_iter, 7);
  ndpar_model_free(m);
  gsl_matrix_free(x);
  gsl_matrix_free(y);
  gsl_rng_free(r);
}

/* Sizes: one row, rows around the thread count, a batch above the rows (clipped). */
Test(mlp, small_sizes) {
  gsl_rng *r = test_rng();
  size_t t = test_max_threads();
  size_t sizes[] = {1, 2, t - 1 > 0 ? t - 1 : 1, t, t + 1};
  for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
    gsl_matrix *x = NULL;
    gsl_matrix *y = NULL;
    smooth_data(r, sizes[k], 2, 1, &x, &y);
    ndpar_mlp_options o = small_options();
    o.batch = 1000;
    ndpar_model *m = ndpar_mlp_alloc(&o);
    gsl_matrix *p = gsl_matrix_alloc(sizes[k], 1);
    cr_assert_eq(ndpar_model_fit(NULL, m, x, y), GSL_SUCCESS, "%zu rows", sizes[k]);
    cr_assert_eq(ndpar_model_predict(NULL, m, x, p), GSL_SUCCESS);
    for (size_t i = 0; i < sizes[k]; i++) cr_assert(isfinite(gsl_matrix_get(p, i, 0)));
    ndpar_model_free(m);
    gsl_matrix_free(p);
    gsl_matrix_free(x);
    gsl_matrix_free(y);
  }
  /* a validation fraction that leaves no training row is the fit's error */
  gsl_matrix *x = NULL;
  gsl_matrix *y = NULL;
  smooth_data(r, 1, 2, 1, &x, &y);
  ndpar_mlp_options o = small_options();
  o.validation = 0.5;
  ndpar_model *m = ndpar_mlp_alloc(&o);
  test_quiet_gsl_errors();
  cr_assert_eq(ndpar_model_fit(NULL, m, x, y), GSL_EINVAL);
  cr_assert(!ndpar_model_fitted(m));
  ndpar_model_free(m);
  gsl_matrix_free(x);
  gsl_matrix_free(y);
  gsl_rng_free(r);
}

/* A fit allocates once: as many allocations for 1 epoch as for 6. */
Test(mlp, fit_allocates_per_fit_not_per_minibatch) {
  if (!test_alloc_counting()) cr_skip_test("allocation counting unavailable");
  gsl_rng *r = test_rng();
  gsl_matrix *x = NULL;
  gsl_matrix *y = NULL;
  smooth_data(r, 250, 3, 2, &x, &y);
  ndpar_pool *p = test_pool_of(2);
  ndpar_mlp_options o = small_options();
  o.dropout = 0.2;
  o.validation = 0.2;
  o.epochs = 1;
  ndpar_model *m = ndpar_mlp_alloc(&o);
  cr_assert_eq(ndpar_model_fit(p, m, x, y), GSL_SUCCESS); /* warm-up: the pool's own */
  size_t before = test_alloc_count();
  cr_assert_eq(ndpar_model_fit(p, m, x, y), GSL_SUCCESS);
  size_t one = test_alloc_count() - before;
  cr_assert_eq(ndpar_model_set(m, "epochs", 6), GSL_SUCCESS);
  cr_assert_eq(ndpar_model_set(m, "tol", 0), GSL_SUCCESS);
  cr_assert_eq(ndpar_model_set(m, "patience", 100), GSL_SUCCESS);
  before = test_alloc_count();
  cr_assert_eq(ndpar_model_fit(p, m, x, y), GSL_SUCCESS);
  size_t six = test_alloc_count() - before;
  cr_assert_eq(one, six, "1 epoch: %zu allocations, 6 epochs: %zu", one, six);
  ndpar_model_free(m);
  ndpar_pool_free(p);
  gsl_matrix_free(x);
  gsl_matrix_free(y);
  gsl_rng_free(r);
}

/* ---- MC dropout ------------------------------------------------------------------------ */

Test(mlp, mc_dropout_spread_same_at_any_thread_count) {
  gsl_rng *r = test_rng();
  gsl_matrix *x = NULL;
  gsl_matrix *y = NULL;
  smooth_data(r, 300, 3, 2, &x, &y);
  ndpar_mlp_options o = small_options();
  o.dropout = 0.2;
  ndpar_model *m = ndpar_mlp_alloc(&o);
  cr_assert_eq(ndpar_model_fit(NULL, m, x, y), GSL_SUCCESS);
  gsl_matrix *mean1 = gsl_matrix_alloc(300, 2);
  gsl_matrix *sd1 = gsl_matrix_alloc(300, 2);
  gsl_matrix *mean = gsl_matrix_alloc(300, 2);
  gsl_matrix *sd = gsl_matrix_alloc(300, 2);
  gsl_matrix *plain = gsl_matrix_alloc(300, 2);
  ndpar_pool *p1 = test_pool_of(1);
  cr_assert_eq(ndpar_model_predict_mc(p1, m, x, 50, 9, mean1, sd1), GSL_SUCCESS);
  ndpar_pool_free(p1);
  for (size_t i = 0; i < 300; i++)
    for (size_t j = 0; j < 2; j++) cr_assert(gsl_matrix_get(sd1, i, j) > 0);
  for (size_t t = 2; t <= 4; t++) {
    ndpar_pool *p = test_pool_of(t);
    cr_assert_eq(ndpar_model_predict_mc(p, m, x, 50, 9, mean, sd), GSL_SUCCESS);
    ndpar_pool_free(p);
    cr_assert(memcmp(mean->data, mean1->data, 600 * sizeof(double)) == 0, "%zu threads", t);
    cr_assert(memcmp(sd->data, sd1->data, 600 * sizeof(double)) == 0, "%zu threads", t);
  }
  /* the plain pass drops nothing: twice the same, and close to the MC mean */
  cr_assert_eq(ndpar_model_predict(NULL, m, x, plain), GSL_SUCCESS);
  cr_assert_eq(ndpar_model_predict(NULL, m, x, mean), GSL_SUCCESS);
  cr_assert(memcmp(mean->data, plain->data, 600 * sizeof(double)) == 0);
  ndpar_model_free(m);
  gsl_matrix_free(mean1);
  gsl_matrix_free(sd1);
  gsl_matrix_free(mean);
  gsl_matrix_free(sd);
  gsl_matrix_free(plain);
  gsl_matrix_free(x);
  gsl_matrix_free(y);
  gsl_rng_free(r);
}

/* ---- options --------------------------------------------------------------------------- */

Test(mlp, options_defaults_are_sklearns) {
  ndpar_mlp_options o;
  ndpar_mlp_options_init(&o);
  cr_assert_eq(o.layers, 1);
  cr_assert_eq(o.hidden[0], 100);
  cr_assert_eq(o.activation, NDPAR_ACT_RELU);
  cr_assert_eq(o.solver, NDPAR_SOLVER_ADAM);
  cr_assert_eq(o.lr, 1e-3);
  cr_assert_eq(o.l2, 1e-4);
  cr_assert_eq(o.epochs, 200);
  cr_assert_eq(o.patience, 10);
  cr_assert_eq(o.tol, 1e-4);
  cr_assert_eq(o.reduce, NDPAR_REDUCE_DETERMINISTIC);
  ndpar_mlp_options_init(NULL); /* a no-op */
}

typedef struct {
  const char *field;
  void (*spoil)(ndpar_mlp_options *o);
} bad_option;

static void spoil_layers(ndpar_mlp_options *o) { o->layers = 0; }
static void spoil_layers_max(ndpar_mlp_options *o) { o->layers = NDPAR_MLP_MAX_LAYERS + 1; }
static void spoil_hidden(ndpar_mlp_options *o) { o->hidden[0] = 0; }
static void spoil_lr(ndpar_mlp_options *o) { o->lr = 0; }
static void spoil_lr_nan(ndpar_mlp_options *o) { o->lr = NAN; }
static void spoil_momentum(ndpar_mlp_options *o) { o->momentum = 1; }
static void spoil_beta2(ndpar_mlp_options *o) { o->beta2 = -0.1; }
static void spoil_eps(ndpar_mlp_options *o) { o->eps = 0; }
static void spoil_l2(ndpar_mlp_options *o) { o->l2 = -1; }
static void spoil_epochs(ndpar_mlp_options *o) { o->epochs = 0; }
static void spoil_validation(ndpar_mlp_options *o) { o->validation = 1; }
static void spoil_dropout(ndpar_mlp_options *o) { o->dropout = 1; }
static void spoil_tol(ndpar_mlp_options *o) { o->tol = INFINITY; }
static void spoil_activation(ndpar_mlp_options *o) { o->activation = (ndpar_activation)7; }
static void spoil_solver(ndpar_mlp_options *o) { o->solver = (ndpar_solver)7; }
static void spoil_reduce(ndpar_mlp_options *o) { o->reduce = (ndpar_reduce)7; }

Test(mlp, alloc_rejects_each_bad_field_naming_it) {
  bad_option bad[] = {{"layers", spoil_layers},         {"layers", spoil_layers_max},
                      {"hidden", spoil_hidden},         {"lr", spoil_lr},
                      {"lr", spoil_lr_nan},             {"momentum", spoil_momentum},
                      {"beta2", spoil_beta2},           {"eps", spoil_eps},
                      {"l2", spoil_l2},                 {"epochs", spoil_epochs},
                      {"validation", spoil_validation}, {"dropout", spoil_dropout},
                      {"tol", spoil_tol},               {"activation", spoil_activation},
                      {"solver", spoil_solver},         {"reduce", spoil_reduce}};
  test_quiet_gsl_errors();
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ndpar_mlp_options o;
    ndpar_mlp_options_init(&o);
    bad[i].spoil(&o);
    size_t errors = test_gsl_error_count();
    cr_assert_null(ndpar_mlp_alloc(&o), "%s", bad[i].field);
    cr_assert_eq(test_gsl_error_count(), errors + 1);
    cr_assert(strstr(test_gsl_last_reason(), bad[i].field) != NULL, "%s: \"%s\"", bad[i].field,
              test_gsl_last_reason());
  }
  ndpar_model *m = ndpar_mlp_alloc(NULL); /* the defaults */
  cr_assert_not_null(m);
  cr_assert_str_eq(ndpar_model_name(m), "mlp");
  ndpar_model_free(m);
}

Test(mlp, parameters_by_name) {
  ndpar_model *m = ndpar_mlp_alloc(NULL);
  double v = 0;
  cr_assert_eq(ndpar_model_set(m, "mlp.lr", 0.05), GSL_SUCCESS);
  cr_assert_eq(ndpar_model_get(m, "lr", &v), GSL_SUCCESS);
  cr_assert_eq(v, 0.05);
  cr_assert_eq(ndpar_model_set(m, "hidden", 16), GSL_SUCCESS);
  cr_assert_eq(ndpar_model_set(m, "layers", 3), GSL_SUCCESS);
  cr_assert_eq(ndpar_model_set(m, "hidden2", 5), GSL_SUCCESS);
  cr_assert_eq(ndpar_model_get(m, "mlp.hidden1", &v), GSL_SUCCESS);
  cr_assert_eq(v, 16);
  cr_assert_eq(ndpar_model_get(m, "hidden2", &v), GSL_SUCCESS);
  cr_assert_eq(v, 5);
  const char *names[] = {"momentum", "nesterov", "beta1", "beta2", "eps", "l2", "batch",
                         "epochs", "shuffle", "validation", "patience", "tol", "dropout",
                         "seed", "reduce", "shards", "activation", "solver"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    cr_assert_eq(ndpar_model_get(m, names[i], &v), GSL_SUCCESS, "%s", names[i]);
    cr_assert_eq(ndpar_model_set(m, names[i], v), GSL_SUCCESS, "%s = %g", names[i], v);
  }
  cr_assert_eq(ndpar_model_set(m, "seed", 12345), GSL_SUCCESS);
  cr_assert_eq(ndpar_model_get(m, "seed", &v), GSL_SUCCESS);
  cr_assert_eq(v, 12345);
  /* the largest seed reads back as a value that sets again (files store parameters so) */
  ndpar_mlp_options big;
  ndpar_mlp_options_init(&big);
  big.seed = ~0UL;
  ndpar_model *b = ndpar_mlp_alloc(&big);
  cr_assert_eq(ndpar_model_get(b, "seed", &v), GSL_SUCCESS);
  cr_assert_eq(ndpar_model_set(b, "seed", v), GSL_SUCCESS);
  ndpar_model_free(b);
  /* bad values and names are rejected, the parameter unchanged */
  test_quiet_gsl_errors();
  cr_assert_eq(ndpar_model_set(m, "lr", -1), GSL_EINVAL);
  cr_assert_eq(ndpar_model_set(m, "dropout", 1), GSL_EINVAL);
  cr_assert_eq(ndpar_model_set(m, "batch", 2.5), GSL_EINVAL);
  cr_assert_eq(ndpar_model_set(m, "hidden", 0), GSL_EINVAL);
  cr_assert_eq(ndpar_model_set(m, "layers", 9), GSL_EINVAL);
  cr_assert_eq(ndpar_model_set(m, "activation", 2), GSL_EINVAL);
  cr_assert_eq(ndpar_model_set(m, "shuffle", 2), GSL_EINVAL);
  cr_assert_eq(ndpar_model_set(m, "hidden8", 3), GSL_EINVAL);
  cr_assert_eq(ndpar_model_set(m, "nonsense", 3), GSL_EINVAL);
  cr_assert_eq(ndpar_model_set(m, "n_iter", 3), GSL_EINVAL);
  cr_assert_eq(ndpar_model_get(m, "n_iter", &v), GSL_EINVAL); /* not fitted */
  cr_assert_eq(ndpar_model_get(m, "lr", &v), GSL_SUCCESS);
  cr_assert_eq(v, 0.05);
  /* a clone has the parameters */
  ndpar_model *c = ndpar_model_clone(m);
  cr_assert_eq(ndpar_model_get(c, "hidden2", &v), GSL_SUCCESS);
  cr_assert_eq(v, 5);
  ndpar_model_free(c);
  ndpar_model_free(m);
}

/* In a chain after a scaler, addressed as "mlp.lr", fitted and predicting. */
Test(mlp, in_a_chain) {
  gsl_rng *r = test_rng();
  gsl_matrix *x = NULL;
  gsl_matrix *y = NULL;
  smooth_data(r, 120, 3, 1, &x, &y);
  ndpar_model *steps[2] = {ndpar_scaler_model_alloc(NDPAR_SCALE_STANDARD), ndpar_mlp_alloc(NULL)};
  ndpar_model *chain = ndpar_chain_alloc(steps, 2);
  cr_assert_not_null(chain);
  cr_assert_eq(ndpar_model_set(chain, "mlp.hidden", 8), GSL_SUCCESS);
  cr_assert_eq(ndpar_model_set(chain, "mlp.epochs", 3), GSL_SUCCESS);
  cr_assert_eq(ndpar_model_fit(NULL, chain, x, y), GSL_SUCCESS);
  gsl_matrix *p = gsl_matrix_alloc(120, 1);
  cr_assert_eq(ndpar_model_predict(NULL, chain, x, p), GSL_SUCCESS);
  cr_assert(isfinite(gsl_matrix_get(p, 0, 0)));
  gsl_matrix_free(p);
  ndpar_model_free(chain);
  gsl_matrix_free(x);
  gsl_matrix_free(y);
  gsl_rng_free(r);
}

/* ---- persistence ----------------------------------------------------------------------- */

/* Saved and loaded, an MLP predicts (and MC-predicts) bit for bit as the saved one, with
 * its parameters and read-only state. */
Test(mlp, save_load_round_trip) {
  gsl_rng *r = test_rng();
  gsl_matrix *x = NULL;
  gsl_matrix *y = NULL;
  smooth_data(r, 90, 4, 3, &x, &y);
  ndpar_mlp_options o = small_options();
  o.dropout = 0.15;
  o.layers = 3;
  o.hidden[2] = 5;
  ndpar_model *m = ndpar_mlp_alloc(&o);
  cr_assert_eq(ndpar_model_fit(NULL, m, x, y), GSL_SUCCESS);
  char path[] = "/tmp/ndpar_test_mlp_XXXXXX";
  int fd = mkstemp(path);
  cr_assert(fd >= 0);
  close(fd);
  cr_assert_eq(ndpar_model_save(m, path), GSL_SUCCESS);
  ndpar_model *back = NULL;
  cr_assert_eq(ndpar_model_load(path, &back), GSL_SUCCESS);
  remove(path);
  cr_assert_str_eq(ndpar_model_name(back), "mlp");
  cr_assert_eq(ndpar_model_inputs(back), 4);
  cr_assert_eq(ndpar_model_outputs(back), 3);
  double a = 0;
  double b = 0;
  cr_assert_eq(ndpar_model_get(back, "hidden2", &b), GSL_SUCCESS);
  cr_assert_eq(b, 5);
  cr_assert_eq(ndpar_model_get(m, "loss", &a), GSL_SUCCESS);
  cr_assert_eq(ndpar_model_get(back, "loss", &b), GSL_SUCCESS);
  cr_assert_eq(a, b);
  gsl_matrix *p1 = gsl_matrix_alloc(90, 3);
  gsl_matrix *p2 = gsl_matrix_alloc(90, 3);
  cr_assert_eq(ndpar_model_predict(NULL, m, x, p1), GSL_SUCCESS);
  cr_assert_eq(ndpar_model_predict(NULL, back, x, p2), GSL_SUCCESS);
  cr_assert(memcmp(p1->data, p2->data, 270 * sizeof(double)) == 0);
  cr_assert_eq(ndpar_model_predict_mc(NULL, m, x, 10, 3, p1, NULL), GSL_SUCCESS);
  cr_assert_eq(ndpar_model_predict_mc(NULL, back, x, 10, 3, p2, NULL), GSL_SUCCESS);
  cr_assert(memcmp(p1->data, p2->data, 270 * sizeof(double)) == 0);
  gsl_matrix_free(p1);
  gsl_matrix_free(p2);
  ndpar_model_free(back);
  ndpar_model_free(m);
  gsl_matrix_free(x);
  gsl_matrix_free(y);
  gsl_rng_free(r);
}
