/* Tests of the batch module (on the reference MLP of ref/wl.h). */
#include <criterion/criterion.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ndpar/ndpar_batch.h"
#include "test_util.h"
#include "ref/wl.h"
#include "test_mlp.h"

#define LAGS 12
#define HIDDEN 16
#define HORIZON 3

static wl_mlp *make_mlp(double dropout) { return test_mlp(LAGS, HIDDEN, HORIZON, dropout); }

/* n batches of 1..40 rows (inputs) and matching outputs of `cols` columns. */
typedef struct {
  size_t n;
  gsl_matrix **x, **y;
} batches;

static batches make_batches(gsl_rng *r, size_t n, size_t cols) {
  batches b = {n, calloc(n + 1, sizeof(gsl_matrix *)), calloc(n + 1, sizeof(gsl_matrix *))};
  for (size_t i = 0; i < n; i++) {
    size_t rows = 1 + gsl_rng_uniform_int(r, 40);
    b.x[i] = test_random_matrix(r, rows, LAGS);
    b.y[i] = gsl_matrix_alloc(rows, cols);
    gsl_matrix_set_all(b.y[i], 7.0);
  }
  return b;
}

static void free_batches(batches *b) {
  for (size_t i = 0; i < b->n; i++) {
    gsl_matrix_free(b->x[i]);
    gsl_matrix_free(b->y[i]);
  }
  free(b->x);
  free(b->y);
}

static size_t sizes_for(size_t threads, size_t *out) {
  size_t k = 0;
  out[k++] = 0;
  out[k++] = 1;
  if (threads > 1) out[k++] = threads - 1;
  out[k++] = threads;
  out[k++] = threads + 1;
  out[k++] = 200;
  return k;
}

/* ---- plain inference ------------------------------------------------------------------ */

Test(batch_infer, equals_the_sequential_loop_bit_for_bit) {
  gsl_rng *r = test_rng();
  wl_mlp *m = make_mlp(0);
  for (size_t threads = 1; threads <= test_max_threads(); threads++) {
    ndpar_pool *p = test_pool_of(threads);
    size_t sizes[8], ns = sizes_for(threads, sizes);
    for (size_t k = 0; k < ns; k++) {
      batches b = make_batches(r, sizes[k], HORIZON);
      size_t failed = 99;
      cr_assert_eq(ndpar_batch_infer_ex(p, (const gsl_matrix *const *)b.x, b.y, b.n,
                                        wl_mlp_predict, m, &failed), GSL_SUCCESS);
      cr_assert_eq(failed, b.n);
      for (size_t i = 0; i < b.n; i++) {
        gsl_matrix *ref = gsl_matrix_alloc(b.x[i]->size1, HORIZON);
        cr_assert_eq(wl_mlp_forward(m, NULL, b.x[i], ref, NULL), GSL_SUCCESS);
        cr_assert(memcmp(ref->data, b.y[i]->data, ref->size1 * HORIZON * sizeof(double)) == 0,
                  "batch %zu of %zu differs at %zu threads", i, b.n, threads);
        gsl_matrix_free(ref);
      }
      free_batches(&b);
    }
    ndpar_pool_free(p);
  }
  wl_mlp_free(m);
  gsl_rng_free(r);
}

Test(batch_infer, one_large_matrix_in_row_views) {
  gsl_rng *r = test_rng();
  wl_mlp *m = make_mlp(0);
  size_t rows = 1000 + gsl_rng_uniform_int(r, 500);
  gsl_matrix *x = test_random_matrix(r, rows, LAGS), *y = gsl_matrix_alloc(rows, HORIZON);
  gsl_matrix *ref = gsl_matrix_alloc(rows, HORIZON);
  size_t batch_rows_list[] = {1, 7, 64, rows, rows + 3};
  for (size_t k = 0; k < 5; k++) {
    size_t br = batch_rows_list[k];
    cr_assert_eq(ndpar_batch_infer_rows(NULL, x, br, y, wl_mlp_predict, m, NULL), GSL_SUCCESS);
    for (size_t i = 0; i < ndpar_rows_nbatches(rows, br); i++) {
      gsl_matrix_const_view xb = ndpar_rows_batch_const(x, br, i);
      gsl_matrix_view rb = ndpar_rows_batch(ref, br, i);
      wl_mlp_forward(m, NULL, &xb.matrix, &rb.matrix, NULL);
    }
    cr_assert(memcmp(ref->data, y->data, rows * HORIZON * sizeof(double)) == 0, "batch rows %zu", br);
  }
  gsl_matrix_free(x);
  gsl_matrix_free(y);
  gsl_matrix_free(ref);
  wl_mlp_free(m);
  gsl_rng_free(r);
}

/* ---- Monte Carlo -------------------------------------------------------------------- */

typedef struct {
  batches in;
  gsl_matrix **mean, **sd, **lo, **hi;
} mc_case;

static gsl_matrix **outputs_like(const batches *b, double fill) {
  gsl_matrix **o = calloc(b->n + 1, sizeof *o);
  for (size_t i = 0; i < b->n; i++) {
    o[i] = gsl_matrix_alloc(b->x[i]->size1, HORIZON);
    gsl_matrix_set_all(o[i], fill);
  }
  return o;
}

static void free_outputs(gsl_matrix **o, size_t n) {
  for (size_t i = 0; i < n; i++) gsl_matrix_free(o[i]);
  free(o);
}

static mc_case make_mc_case(gsl_rng *r, size_t n) {
  mc_case c;
  c.in = make_batches(r, n, HORIZON);
  c.mean = outputs_like(&c.in, 7.0);
  c.sd = outputs_like(&c.in, 7.0);
  c.lo = outputs_like(&c.in, 7.0);
  c.hi = outputs_like(&c.in, 7.0);
  return c;
}

static void free_mc_case(mc_case *c) {
  free_outputs(c->mean, c->in.n);
  free_outputs(c->sd, c->in.n);
  free_outputs(c->lo, c->in.n);
  free_outputs(c->hi, c->in.n);
  free_batches(&c->in);
}

static int run_mc(ndpar_pool *p, mc_case *c, const wl_mlp *m, size_t samples, unsigned long seed,
                  double level) {
  return ndpar_batch_infer_mc_interval(p, (const gsl_matrix *const *)c->in.x, c->in.n, samples,
                                       seed, level, wl_mlp_predict, (void *)m, c->mean, c->sd,
                                       c->lo, c->hi, NULL);
}

/* The samples of batch b, regenerated one by one from the same (seed, batch, sample)
 * streams: samples[s * rows * HORIZON + element]. */
static double *reference_samples(const wl_mlp *m, const gsl_matrix *x, size_t b, size_t samples,
                                 unsigned long seed) {
  size_t per = x->size1 * HORIZON;
  double *out = malloc(samples * per * sizeof *out);
  ndpar_streams *st = ndpar_streams_alloc(1, seed);
  for (size_t s = 0; s < samples; s++) {
    gsl_matrix_view y = gsl_matrix_view_array(out + s * per, x->size1, HORIZON);
    wl_mlp_forward(m, NULL, x, &y.matrix, ndpar_streams_at_pair(st, 0, b, s));
  }
  ndpar_streams_free(st);
  return out;
}

Test(batch_mc, mean_and_sd_are_gsl_statistics_of_the_same_samples) {
  gsl_rng *r = test_rng();
  wl_mlp *m = make_mlp(0.3);
  unsigned long seed = gsl_rng_get(r);
  size_t samples = 2 + gsl_rng_uniform_int(r, 40);
  mc_case c = make_mc_case(r, 5);
  cr_assert_eq(run_mc(NULL, &c, m, samples, seed, 0.9), GSL_SUCCESS);
  double *column = malloc(samples * sizeof *column);
  for (size_t b = 0; b < c.in.n; b++) {
    double *ref = reference_samples(m, c.in.x[b], b, samples, seed);
    size_t per = c.in.x[b]->size1 * HORIZON;
    for (size_t e = 0; e < per; e++) {
      for (size_t s = 0; s < samples; s++) column[s] = ref[s * per + e];
      double mean = gsl_stats_mean(column, 1, samples), sd = gsl_stats_sd(column, 1, samples);
      cr_assert_eq(c.mean[b]->data[e], mean, "batch %zu element %zu mean", b, e);
      cr_assert_eq(c.sd[b]->data[e], sd, "batch %zu element %zu sd", b, e);
      /* the interval against a plain sort and the interpolation formula */
      gsl_sort(column, 1, samples);
      for (int side = 0; side < 2; side++) {
        double f = side ? 0.95 : 0.05, idx = f * (double)(samples - 1);
        size_t lo = (size_t)floor(idx);
        double q = lo + 1 < samples ? column[lo] + (idx - lo) * (column[lo + 1] - column[lo]) : column[lo];
        double got = side ? c.hi[b]->data[e] : c.lo[b]->data[e];
        cr_assert(fabs(got - q) <= 1e-12 * (1 + fabs(q)), "quantile %g: %g vs %g", f, got, q);
      }
    }
    free(ref);
  }
  free(column);
  free_mc_case(&c);
  wl_mlp_free(m);
  gsl_rng_free(r);
}

Test(batch_mc, bit_identical_at_any_thread_count) {
  gsl_rng *r = test_rng();
  wl_mlp *m = make_mlp(0.2);
  unsigned long seed = gsl_rng_get(r);
  size_t sizes[8], ns = sizes_for(test_max_threads() - 1, sizes);
  for (size_t k = 0; k < ns; k++) {
    size_t n = sizes[k] > 20 ? 20 : sizes[k];
    mc_case ref;
    for (size_t threads = 1; threads <= test_max_threads(); threads++) {
      gsl_rng_set(r, test_seed() + k); /* the same inputs for every thread count */
      mc_case c = make_mc_case(r, n);
      ndpar_pool *p = test_pool_of(threads);
      cr_assert_eq(run_mc(p, &c, m, 17, seed, 0.8), GSL_SUCCESS);
      if (threads == 1) {
        ref = c;
      } else {
        for (size_t b = 0; b < n; b++) {
          size_t bytes = c.in.x[b]->size1 * HORIZON * sizeof(double);
          cr_assert(memcmp(c.mean[b]->data, ref.mean[b]->data, bytes) == 0);
          cr_assert(memcmp(c.sd[b]->data, ref.sd[b]->data, bytes) == 0);
          cr_assert(memcmp(c.lo[b]->data, ref.lo[b]->data, bytes) == 0);
          cr_assert(memcmp(c.hi[b]->data, ref.hi[b]->data, bytes) == 0);
        }
        free_mc_case(&c);
      }
      ndpar_pool_free(p);
    }
    free_mc_case(&ref);
  }
  wl_mlp_free(m);
  gsl_rng_free(r);
}

Test(batch_mc, dropout_makes_samples_differ_and_none_makes_them_equal) {
  gsl_rng *r = test_rng();
  mc_case c = make_mc_case(r, 3);
  wl_mlp *m = make_mlp(0.0);
  cr_assert_eq(ndpar_batch_infer_mc(NULL, (const gsl_matrix *const *)c.in.x, 3, 10, 1,
                                    wl_mlp_predict, m, c.mean, c.sd), GSL_SUCCESS);
  for (size_t b = 0; b < 3; b++)
    for (size_t e = 0; e < c.in.x[b]->size1 * HORIZON; e++) cr_assert_eq(c.sd[b]->data[e], 0.0);
  m->dropout = 0.5;
  cr_assert_eq(ndpar_batch_infer_mc(NULL, (const gsl_matrix *const *)c.in.x, 3, 10, 1,
                                    wl_mlp_predict, m, c.mean, NULL), GSL_SUCCESS);
  cr_assert_eq(ndpar_batch_infer_mc(NULL, (const gsl_matrix *const *)c.in.x, 3, 10, 1,
                                    wl_mlp_predict, m, c.mean, c.sd), GSL_SUCCESS);
  cr_assert(c.sd[0]->data[0] > 0, "dropout gives spread");
  free_mc_case(&c);
  wl_mlp_free(m);
  gsl_rng_free(r);
}

/* ---- errors ------------------------------------------------------------------------- */

static int fail_on_batch(const gsl_matrix *x, gsl_matrix *y, const ndpar_task *t, void *ctx) {
  (void)x;
  size_t bad = *(size_t *)ctx;
  gsl_matrix_set_all(y, 1.0);
  return t->index == bad ? GSL_EDOM : GSL_SUCCESS;
}

Test(batch_errors, callback_failure_returns_status_and_batch) {
  gsl_rng *r = test_rng();
  mc_case c = make_mc_case(r, 30);
  size_t bad = gsl_rng_uniform_int(r, 30), failed = 0;
  cr_assert_eq(ndpar_batch_infer_ex(NULL, (const gsl_matrix *const *)c.in.x, c.in.y, 30,
                                    fail_on_batch, &bad, &failed), GSL_EDOM);
  cr_assert_eq(failed, bad);
  failed = 0;
  cr_assert_eq(ndpar_batch_infer_mc_interval(NULL, (const gsl_matrix *const *)c.in.x, 30, 8, 1,
                                             0.5, fail_on_batch, &bad, c.mean, c.sd, c.lo, c.hi,
                                             &failed), GSL_EDOM);
  cr_assert_eq(failed, bad);
  for (size_t b = 0; b < 30; b++) cr_assert_eq(gsl_matrix_get(c.mean[b], 0, 0), 7.0, "mean untouched");
  free_mc_case(&c);
  gsl_rng_free(r);
}

static void assert_untouched(mc_case *c) {
  for (size_t b = 0; b < c->in.n; b++) {
    cr_assert_eq(gsl_matrix_get(c->in.y[b], 0, 0), 7.0);
    cr_assert_eq(gsl_matrix_get(c->mean[b], 0, 0), 7.0);
    cr_assert_eq(gsl_matrix_get(c->sd[b], 0, 0), 7.0);
  }
}

/* ---- the MC workspace ---------------------------------------------------------------- */

static size_t total_rows(const batches *b) {
  size_t rows = 0;
  for (size_t i = 0; i < b->n; i++) rows += b->x[i]->size1;
  return rows;
}

static int run_mc_ws(ndpar_batch_workspace *w, mc_case *c, const wl_mlp *m, size_t samples,
                     unsigned long seed, double level, size_t *failed) {
  return ndpar_batch_infer_mc_ws(w, (const gsl_matrix *const *)c->in.x, c->in.n, samples, seed,
                                 level, wl_mlp_predict, (void *)m, c->mean, c->sd, c->lo, c->hi,
                                 failed);
}

static void assert_same_outputs(const mc_case *a, const mc_case *b) {
  for (size_t i = 0; i < a->in.n; i++) {
    size_t bytes = a->in.x[i]->size1 * HORIZON * sizeof(double);
    cr_assert(memcmp(a->mean[i]->data, b->mean[i]->data, bytes) == 0, "mean of batch %zu", i);
    cr_assert(memcmp(a->sd[i]->data, b->sd[i]->data, bytes) == 0, "sd of batch %zu", i);
    cr_assert(memcmp(a->lo[i]->data, b->lo[i]->data, bytes) == 0, "lower of batch %zu", i);
    cr_assert(memcmp(a->hi[i]->data, b->hi[i]->data, bytes) == 0, "upper of batch %zu", i);
  }
}

Test(batch_workspace, same_results_as_the_allocating_form_at_1_to_3_threads) {
  gsl_rng *r = test_rng();
  wl_mlp *m = make_mlp(0.3);
  for (size_t threads = 1; threads <= 3; threads++) {
    ndpar_pool *p = test_pool_of(threads);
    size_t sizes[] = {1, threads, threads + 1, 9};
    for (size_t k = 0; k < 4; k++) {
      mc_case c = make_mc_case(r, sizes[k]);
      mc_case d = c; /* the same inputs, its own outputs */
      d.mean = outputs_like(&c.in, 7.0), d.sd = outputs_like(&c.in, 7.0);
      d.lo = outputs_like(&c.in, 7.0), d.hi = outputs_like(&c.in, 7.0);
      /* room to spare: a workspace serves any call that fits */
      ndpar_batch_workspace *w = ndpar_batch_workspace_alloc(p, c.in.n + 2, total_rows(&c.in) + 9,
                                                             HORIZON, 11);
      cr_assert_not_null(w);
      for (unsigned long seed = 1; seed <= 2; seed++) { /* reused, with another seed */
        size_t failed = 0;
        cr_assert_eq(run_mc(p, &c, m, 11, seed, 0.8), GSL_SUCCESS);
        cr_assert_eq(run_mc_ws(w, &d, m, 11, seed, 0.8, &failed), GSL_SUCCESS);
        cr_assert_eq(failed, c.in.n);
        assert_same_outputs(&c, &d);
      }
      ndpar_batch_workspace_free(w);
      free_outputs(d.mean, d.in.n), free_outputs(d.sd, d.in.n);
      free_outputs(d.lo, d.in.n), free_outputs(d.hi, d.in.n);
      free_mc_case(&c);
    }
    ndpar_pool_free(p);
  }
  wl_mlp_free(m);
  gsl_rng_free(r);
}

Test(batch_workspace, calls_that_do_not_fit_are_rejected_with_outputs_untouched) {
  test_quiet_gsl_errors();
  gsl_rng *r = test_rng();
  wl_mlp *m = make_mlp(0.3);
  mc_case c = make_mc_case(r, 4);
  size_t rows = total_rows(&c.in), failed = 99, errors = test_gsl_error_count();
  ndpar_batch_workspace *fits = ndpar_batch_workspace_alloc(NULL, 4, rows, HORIZON, 5);
  ndpar_batch_workspace *few_batches = ndpar_batch_workspace_alloc(NULL, 3, rows, HORIZON, 5);
  ndpar_batch_workspace *few_rows = ndpar_batch_workspace_alloc(NULL, 4, rows - 1, HORIZON, 5);
  ndpar_batch_workspace *narrow = ndpar_batch_workspace_alloc(NULL, 4, rows, HORIZON - 1, 5);
  struct {
    ndpar_batch_workspace *w;
    size_t samples;
    const char *names;
  } cases[] = {{few_batches, 5, "n is 4"}, {few_rows, 5, "rows in all"}, {narrow, 5, "mean has 3 columns"},
               {fits, 6, "samples is 6"}};
  for (size_t k = 0; k < 4; k++) {
    cr_assert_eq(run_mc_ws(cases[k].w, &c, m, cases[k].samples, 1, 0.5, &failed), GSL_EBADLEN);
    cr_assert(strstr(test_gsl_last_reason(), cases[k].names) != NULL, "%s", test_gsl_last_reason());
  }
  cr_assert_eq(run_mc_ws(NULL, &c, m, 5, 1, 0.5, &failed), GSL_EFAULT);
  cr_assert_eq(test_gsl_error_count(), errors + 5);
  cr_assert_eq(failed, 99);
  assert_untouched(&c);
  cr_assert_null(ndpar_batch_workspace_alloc(NULL, 0, rows, HORIZON, 5));
  cr_assert_null(ndpar_batch_workspace_alloc(NULL, 4, rows, HORIZON, 0));
  cr_assert_null(ndpar_batch_workspace_alloc(NULL, 4, SIZE_MAX / 2, HORIZON, 5));
  ndpar_batch_workspace_free(NULL);
  ndpar_batch_workspace_free(fits), ndpar_batch_workspace_free(few_batches);
  ndpar_batch_workspace_free(few_rows), ndpar_batch_workspace_free(narrow);
  free_mc_case(&c);
  wl_mlp_free(m);
  gsl_rng_free(r);
}

/* y = x's first HORIZON columns plus noise from the task's stream: allocates nothing. */
static int noisy_copy(const gsl_matrix *x, gsl_matrix *y, const ndpar_task *t, void *ctx) {
  (void)ctx;
  for (size_t i = 0; i < y->size1; i++)
    for (size_t j = 0; j < y->size2; j++)
      gsl_matrix_set(y, i, j, gsl_matrix_get(x, i, j) + gsl_rng_uniform(t->rng));
  return GSL_SUCCESS;
}

Test(batch_workspace, a_call_allocates_nothing) {
  if (!test_alloc_counting()) cr_skip_test("allocation counting is unavailable under a sanitizer");
  gsl_rng *r = test_rng();
  for (size_t threads = 1; threads <= 3; threads++) {
    ndpar_pool *p = test_pool_of(threads);
    mc_case c = make_mc_case(r, 12);
    ndpar_batch_workspace *w = ndpar_batch_workspace_alloc(p, 12, total_rows(&c.in), HORIZON, 9);
    size_t before = test_alloc_count();
    for (unsigned long seed = 0; seed < 3; seed++)
      cr_assert_eq(ndpar_batch_infer_mc_ws(w, (const gsl_matrix *const *)c.in.x, 12, 9, seed, 0.9,
                                           noisy_copy, NULL, c.mean, c.sd, c.lo, c.hi, NULL),
                   GSL_SUCCESS);
    cr_assert_eq(test_alloc_count(), before, "%zu threads", threads);
    ndpar_batch_workspace_free(w);
    free_mc_case(&c);
    ndpar_pool_free(p);
  }
  gsl_rng_free(r);
}

Test(batch_errors, bad_arguments_are_rejected_before_any_work) {
  test_quiet_gsl_errors();
  gsl_rng *r = test_rng();
  wl_mlp *m = make_mlp(0.1);
  mc_case c = make_mc_case(r, 4);
  const gsl_matrix *const *x = (const gsl_matrix *const *)c.in.x;
  size_t errors = 0;
#define REJECT(call, code)                      \
  do {                                          \
    cr_assert_eq((call), (code), #call);        \
    cr_assert_eq(test_gsl_error_count(), ++errors); \
    assert_untouched(&c);                       \
  } while (0)

  REJECT(ndpar_batch_infer(NULL, NULL, c.in.y, 4, wl_mlp_predict, m), GSL_EFAULT);
  REJECT(ndpar_batch_infer(NULL, x, NULL, 4, wl_mlp_predict, m), GSL_EFAULT);
  REJECT(ndpar_batch_infer(NULL, x, c.in.y, 4, NULL, m), GSL_EFAULT);
  gsl_matrix *keep = c.in.x[2];
  c.in.x[2] = NULL;
  REJECT(ndpar_batch_infer(NULL, x, c.in.y, 4, wl_mlp_predict, m), GSL_EFAULT);
  cr_assert(strstr(test_gsl_last_reason(), "x[2]"), "names the batch: %s", test_gsl_last_reason());
  c.in.x[2] = keep;
  gsl_matrix *wrong = gsl_matrix_alloc(c.in.x[3]->size1 + 1, HORIZON);
  gsl_matrix_set_all(wrong, 7.0);
  gsl_matrix *saved = c.in.y[3];
  c.in.y[3] = wrong;
  REJECT(ndpar_batch_infer(NULL, x, c.in.y, 4, wl_mlp_predict, m), GSL_EBADLEN);
  cr_assert(strstr(test_gsl_last_reason(), "y[3]"), "names the batch: %s", test_gsl_last_reason());
  c.in.y[3] = saved;
  gsl_matrix_free(wrong);

  REJECT(ndpar_batch_infer_mc(NULL, x, 4, 0, 1, wl_mlp_predict, m, c.mean, c.sd), GSL_EINVAL);
  REJECT(ndpar_batch_infer_mc(NULL, x, 4, 1, 1, wl_mlp_predict, m, c.mean, c.sd), GSL_EINVAL);
  REJECT(ndpar_batch_infer_mc(NULL, x, 4, 5, 1, wl_mlp_predict, m, NULL, c.sd), GSL_EFAULT);
  double levels[] = {1.0, -0.1, 1.5, NAN};
  for (int k = 0; k < 4; k++)
    REJECT(ndpar_batch_infer_mc_interval(NULL, x, 4, 5, 1, levels[k], wl_mlp_predict, m, c.mean,
                                         c.sd, c.lo, c.hi, NULL), GSL_EINVAL);
  REJECT(ndpar_batch_infer_mc_interval(NULL, x, 4, 5, 1, 0.9, wl_mlp_predict, m, c.mean, c.sd,
                                       NULL, c.hi, NULL), GSL_EFAULT);
  gsl_matrix *narrow = gsl_matrix_alloc(c.in.x[0]->size1, HORIZON + 1);
  gsl_matrix_set_all(narrow, 7.0);
  gsl_matrix *saved_sd = c.sd[0];
  c.sd[0] = narrow;
  REJECT(ndpar_batch_infer_mc(NULL, x, 4, 5, 1, wl_mlp_predict, m, c.mean, c.sd), GSL_EBADLEN);
  c.sd[0] = saved_sd;
  gsl_matrix_free(narrow);

  REJECT(ndpar_batch_infer_rows(NULL, c.in.x[0], 0, c.in.y[0], wl_mlp_predict, m, NULL), GSL_EINVAL);
  gsl_matrix *taller = gsl_matrix_alloc(c.in.x[0]->size1 + 1, HORIZON);
  REJECT(ndpar_batch_infer_rows(NULL, c.in.x[0], 2, taller, wl_mlp_predict, m, NULL), GSL_EBADLEN);
  gsl_matrix_free(taller);

  cr_assert_eq(ndpar_batch_infer(NULL, NULL, NULL, 0, wl_mlp_predict, m), GSL_SUCCESS, "n = 0 is a no-op");
  cr_assert_eq(ndpar_batch_infer_mc(NULL, NULL, 0, 5, 1, wl_mlp_predict, m, NULL, NULL), GSL_SUCCESS);
  free_mc_case(&c);
  wl_mlp_free(m);
  gsl_rng_free(r);
}

/* ---- the argument convention (docs/API.md) ---- */

static int ones(const gsl_matrix *x, gsl_matrix *y, const ndpar_task *t, void *ctx) {
  (void)x, (void)t, (void)ctx;
  gsl_matrix_set_all(y, 1.0);
  return GSL_SUCCESS;
}

static gsl_matrix *conv_x[2], *conv_y[2];
static const gsl_matrix *const *cx(void) { return (const gsl_matrix *const *)conv_x; }
static int conv_infer_null_f(size_t *f) { return ndpar_batch_infer_ex(NULL, cx(), conv_y, 2, NULL, NULL, f); }
static int conv_infer_null_x(size_t *f) { return ndpar_batch_infer_ex(NULL, NULL, conv_y, 2, ones, NULL, f); }
static int conv_infer_null_entry(size_t *f) {
  gsl_matrix *y[2] = {conv_y[0], NULL};
  return ndpar_batch_infer_ex(NULL, cx(), y, 2, ones, NULL, f);
}
static int conv_infer_n0(size_t *f) { return ndpar_batch_infer_ex(NULL, NULL, NULL, 0, ones, NULL, f); }
static int conv_infer_done(size_t *f) { return ndpar_batch_infer_ex(NULL, cx(), conv_y, 2, ones, NULL, f); }
static int conv_rows_null_f(size_t *f) { return ndpar_batch_infer_rows(NULL, conv_x[0], 2, conv_y[0], NULL, NULL, f); }
static int conv_rows_null_y(size_t *f) { return ndpar_batch_infer_rows(NULL, conv_x[0], 2, NULL, ones, NULL, f); }
static int conv_mc_null_f(size_t *f) {
  return ndpar_batch_infer_mc_interval(NULL, cx(), 2, 3, 1, 0, NULL, NULL, conv_y, NULL, NULL, NULL, f);
}
static int conv_mc_null_mean(size_t *f) {
  return ndpar_batch_infer_mc_interval(NULL, cx(), 2, 3, 1, 0, ones, NULL, NULL, NULL, NULL, NULL, f);
}
static int conv_mc_n0(size_t *f) {
  return ndpar_batch_infer_mc_interval(NULL, NULL, 0, 3, 1, 0, ones, NULL, NULL, NULL, NULL, NULL, f);
}
static int conv_mc_done(size_t *f) {
  return ndpar_batch_infer_mc_interval(NULL, cx(), 2, 3, 1, 0, ones, NULL, conv_y, NULL, NULL, NULL, f);
}
static int conv_mc_ws_null(size_t *f) {
  return ndpar_batch_infer_mc_ws(NULL, cx(), 2, 3, 1, 0, ones, NULL, conv_y, NULL, NULL, NULL, f);
}

Test(batch_convention, null_pointers_n0_and_failed_as_the_api_says) {
  for (int i = 0; i < 2; i++) conv_x[i] = gsl_matrix_calloc(4, 2), conv_y[i] = gsl_matrix_calloc(4, 3);
  const test_convention_row rows[] = {
      {"infer_ex, f NULL", conv_infer_null_f, GSL_EFAULT, 0},
      {"infer_ex, x NULL", conv_infer_null_x, GSL_EFAULT, 0},
      {"infer_ex, y[1] NULL", conv_infer_null_entry, GSL_EFAULT, 0},
      {"infer_ex, n = 0, arrays NULL", conv_infer_n0, GSL_SUCCESS, 0},
      {"infer_ex, success", conv_infer_done, GSL_SUCCESS, 2},
      {"infer_rows, f NULL", conv_rows_null_f, GSL_EFAULT, 0},
      {"infer_rows, y NULL", conv_rows_null_y, GSL_EFAULT, 0},
      {"infer_mc_interval, f NULL", conv_mc_null_f, GSL_EFAULT, 0},
      {"infer_mc_interval, mean NULL", conv_mc_null_mean, GSL_EFAULT, 0},
      {"infer_mc_interval, n = 0, arrays NULL", conv_mc_n0, GSL_SUCCESS, 0},
      {"infer_mc_interval, success", conv_mc_done, GSL_SUCCESS, 2},
      {"infer_mc_ws, w NULL", conv_mc_ws_null, GSL_EFAULT, 0},
  };
  test_convention_table(rows, sizeof rows / sizeof rows[0]);
  for (int i = 0; i < 2; i++) gsl_matrix_free(conv_x[i]), gsl_matrix_free(conv_y[i]);
}

/* ---- sizes that overflow, no columns ---- */

static int counting_predict(const gsl_matrix *x, gsl_matrix *y, const ndpar_task *t, void *ctx) {
  (void)x, (void)y, (void)t;
  __atomic_fetch_add((int *)ctx, 1, __ATOMIC_RELAXED);
  return GSL_SUCCESS;
}

Test(batch_errors, zero_columns_are_refused_on_the_calling_thread) {
  test_quiet_gsl_errors();
  gsl_matrix x0 = {10, 0, 0, NULL, NULL, 0};
  gsl_matrix *x = gsl_matrix_calloc(10, 3), *y = gsl_matrix_alloc(10, 2);
  gsl_matrix y0 = {10, 0, 0, NULL, NULL, 0};
  gsl_matrix_set_all(y, 7.0);
  int calls = 0;
  for (size_t threads = 1; threads <= test_max_threads(); threads++) {
    ndpar_pool *p = test_pool_of(threads);
    cr_assert_eq(ndpar_batch_infer_rows(p, &x0, 3, y, counting_predict, &calls, NULL), GSL_EBADLEN);
    cr_assert(strstr(test_gsl_last_reason(), "x has no columns"), "%s", test_gsl_last_reason());
    cr_assert_eq(ndpar_batch_infer_rows(p, x, 3, &y0, counting_predict, &calls, NULL), GSL_EBADLEN);
    cr_assert(strstr(test_gsl_last_reason(), "y has no columns"), "%s", test_gsl_last_reason());
    ndpar_pool_free(p);
  }
  cr_assert_eq(calls, 0);
  for (size_t i = 0; i < 10; i++) cr_assert_eq(gsl_matrix_get(y, i, 1), 7.0, "untouched");
  gsl_matrix_free(x);
  gsl_matrix_free(y);
}

Test(batch_errors, sample_counts_that_overflow_are_refused) {
  test_quiet_gsl_errors();
  size_t n = 16;
  gsl_matrix *x[16], *mean[16];
  for (size_t i = 0; i < n; i++) {
    x[i] = gsl_matrix_calloc(4, 2);
    mean[i] = gsl_matrix_alloc(4, 4);
    gsl_matrix_set_all(mean[i], 7.0);
  }
  const gsl_matrix *const *cx = (const gsl_matrix *const *)x;
  int calls = 0;
  /* 2^60 samples x 4 rows x 4 columns: the buffer's element count wraps to 0 */
  cr_assert_eq(ndpar_batch_infer_mc(NULL, cx, 1, (size_t)1 << 60, 1, counting_predict, &calls, mean, NULL), GSL_EINVAL);
  cr_assert(strstr(test_gsl_last_reason(), "overflow"), "%s", test_gsl_last_reason());
  /* 2^56 samples x 16 elements: each batch fits, their sum over 16 batches wraps */
  cr_assert_eq(ndpar_batch_infer_mc(NULL, cx, n, (size_t)1 << 56, 1, counting_predict, &calls, mean, NULL), GSL_EINVAL);
  /* n * samples: more tasks than a size_t counts */
  cr_assert_eq(ndpar_batch_infer_mc(NULL, cx, 2, SIZE_MAX / 2 + 1, 1, counting_predict, &calls, mean, NULL), GSL_EINVAL);
  cr_assert_eq(ndpar_batch_infer_mc(NULL, cx, 1, ((size_t)1 << 61) + 1, 1, counting_predict, &calls, mean, NULL), GSL_EINVAL);
  cr_assert_eq(calls, 0, "no sample was drawn");
  for (size_t i = 0; i < n; i++) {
    cr_assert_eq(gsl_matrix_get(mean[i], 3, 3), 7.0, "untouched");
    gsl_matrix_free(x[i]);
    gsl_matrix_free(mean[i]);
  }
}

/* ---- the MC sd near the ends of the double range ---- */

/* Every output +-(*ctx), the sign drawn from the sample's stream. */
static int predict_signed(const gsl_matrix *x, gsl_matrix *y, const ndpar_task *t, void *ctx) {
  (void)x;
  gsl_matrix_set_all(y, gsl_rng_uniform(t->rng) < 0.5 ? *(const double *)ctx : -*(const double *)ctx);
  return GSL_SUCCESS;
}

/* The mean and sd of one 3 x 2 batch's 16 samples of +-scale. */
static void mc_of_signs(double scale, gsl_matrix *mean, gsl_matrix *sd) {
  gsl_matrix *x = gsl_matrix_calloc(3, 2);
  const gsl_matrix *xs[] = {x};
  cr_assert_eq(ndpar_batch_infer_mc(NULL, xs, 1, 16, 7, predict_signed, &scale, &mean, &sd), GSL_SUCCESS);
  gsl_matrix_free(x);
}

Test(batch_mc, sd_of_samples_of_plus_minus_1e308_is_finite_and_scales_exactly) {
  gsl_matrix *m1 = gsl_matrix_alloc(3, 2), *s1 = gsl_matrix_alloc(3, 2);
  gsl_matrix *mb = gsl_matrix_alloc(3, 2), *sb = gsl_matrix_alloc(3, 2);
  mc_of_signs(1.0, m1, s1);
  mc_of_signs(0x1p1020, mb, sb); /* the same signs (same streams) times 2^1020 */
  for (size_t r = 0; r < 3; r++) {
    cr_assert(gsl_matrix_get(s1, r, 0) > 0, "the signs differ across samples");
    cr_assert(gsl_matrix_get(mb, r, 0) == ldexp(gsl_matrix_get(m1, r, 0), 1020));
    cr_assert(gsl_matrix_get(sb, r, 0) == ldexp(gsl_matrix_get(s1, r, 0), 1020), "row %zu: sd %g vs %g",
              r, gsl_matrix_get(sb, r, 0), ldexp(gsl_matrix_get(s1, r, 0), 1020));
  }
  mc_of_signs(1e308, mb, sb);
  for (size_t r = 0; r < 3; r++) {
    double want = gsl_matrix_get(s1, r, 0) * 1e308, sd = gsl_matrix_get(sb, r, 0);
    cr_assert(isfinite(sd) && fabs(sd - want) <= 1e-15 * want, "sd %.17g, want %.17g", sd, want);
  }
  gsl_matrix_free(m1), gsl_matrix_free(s1), gsl_matrix_free(mb), gsl_matrix_free(sb);
}
