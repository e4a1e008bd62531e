/* Tests of the ensemble module: every aggregation against a direct sequential computation,
 * thread-count independence, the batched form, and bad input. */
#include <criterion/criterion.h>
#include <gsl/gsl_blas.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ndpar/ndpar_ensemble.h"
#include "test_util.h"

#define IN 5
#define OUT 3
#define MAXM 8

/* A linear member y = x W; `poison` >= 0 makes it write NaN into that output row. */
typedef struct {
  gsl_matrix *w;
  long poison;
  int status;
} member;

static int member_predict(const gsl_matrix *x, gsl_matrix *y, const ndpar_task *t, void *ctx) {
  (void)t;
  member *mb = ctx;
  gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, x, mb->w, 0.0, y);
  if (mb->poison >= 0 && (size_t)mb->poison < y->size1) gsl_matrix_set(y, (size_t)mb->poison, 0, NAN);
  return mb->status;
}

typedef struct {
  size_t m;
  member mb[MAXM];
  ndpar_predictor models[MAXM];
} ensemble;

static void make_ensemble(gsl_rng *r, size_t m, ensemble *e) {
  e->m = m;
  for (size_t k = 0; k < m; k++) {
    e->mb[k].w = gsl_matrix_alloc(IN, OUT);
    for (size_t i = 0; i < IN; i++)
      for (size_t j = 0; j < OUT; j++) gsl_matrix_set(e->mb[k].w, i, j, gsl_ran_gaussian(r, 1.0));
    e->mb[k].poison = -1;
    e->mb[k].status = GSL_SUCCESS;
    e->models[k] = (ndpar_predictor){member_predict, &e->mb[k]};
  }
}

static void free_ensemble(ensemble *e) {
  for (size_t k = 0; k < e->m; k++) gsl_matrix_free(e->mb[k].w);
}

/* The direct computation: every member's output, then the aggregation of each element. */
static void reference(const ensemble *e, const gsl_matrix *x, ndpar_agg agg, const double *w,
                      gsl_matrix *out, gsl_matrix *spread) {
  size_t m = e->m;
  gsl_matrix *y[MAXM];
  for (size_t k = 0; k < m; k++) {
    y[k] = gsl_matrix_alloc(x->size1, OUT);
    gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, x, e->mb[k].w, 0.0, y[k]);
  }
  double v[MAXM];
  for (size_t i = 0; i < x->size1; i++)
    for (size_t j = 0; j < OUT; j++) {
      for (size_t k = 0; k < m; k++) v[k] = gsl_matrix_get(y[k], i, j);
      double res = 0, sum = 0, wsum = 0;
      if (agg == NDPAR_AGG_MEAN) {
        for (size_t k = 0; k < m; k++) sum += v[k];
        res = sum / (double)m;
      } else if (agg == NDPAR_AGG_WEIGHTED_MEAN) {
        for (size_t k = 0; k < m; k++) sum += w[k] * v[k], wsum += w[k];
        res = sum / wsum;
      } else {
        double sorted[MAXM];
        memcpy(sorted, v, m * sizeof *v);
        gsl_sort(sorted, 1, m);
        if (agg == NDPAR_AGG_MEDIAN) {
          res = gsl_stats_median_from_sorted_data(sorted, 1, m);
        } else {
          size_t cut = (size_t)floor(w[0] * (double)m);
          for (size_t k = cut; k < m - cut; k++) sum += sorted[k];
          res = sum / (double)(m - 2 * cut);
        }
      }
      gsl_matrix_set(out, i, j, res);
      if (spread) {
        double mean = 0, ss = 0;
        for (size_t k = 0; k < m; k++) mean += v[k] / (double)m;
        for (size_t k = 0; k < m; k++) ss += (v[k] - mean) * (v[k] - mean);
        gsl_matrix_set(spread, i, j, m > 1 ? sqrt(ss / (double)(m - 1)) : 0.0);
      }
    }
  for (size_t k = 0; k < m; k++) gsl_matrix_free(y[k]);
}

static void assert_near(const gsl_matrix *a, const gsl_matrix *b, const char *what) {
  for (size_t i = 0; i < a->size1; i++)
    for (size_t j = 0; j < a->size2; j++) {
      double x = gsl_matrix_get(a, i, j), y = gsl_matrix_get(b, i, j);
      cr_assert(fabs(x - y) <= 1e-12 * (1 + fabs(y)), "%s (%zu,%zu): %.17g vs %.17g", what, i, j, x, y);
    }
}

static const char *agg_name[] = {"mean", "weighted", "median", "trimmed"};

Test(ensemble, every_aggregation_against_the_direct_computation) {
  gsl_rng *r = test_rng();
  size_t ms[] = {1, 2, 3, 4, 7};
  for (size_t mi = 0; mi < 5; mi++) {
    ensemble e;
    make_ensemble(r, ms[mi], &e);
    size_t rows = 1 + gsl_rng_uniform_int(r, 50);
    gsl_matrix *x = test_random_matrix(r, rows, IN), *out = gsl_matrix_alloc(rows, OUT);
    gsl_matrix *spread = gsl_matrix_alloc(rows, OUT), *ref = gsl_matrix_alloc(rows, OUT);
    gsl_matrix *ref_spread = gsl_matrix_alloc(rows, OUT);
    double w[MAXM], trim[] = {gsl_rng_uniform(r) * 0.49};
    for (size_t k = 0; k < e.m; k++) w[k] = gsl_rng_uniform(r) + 0.01;
    for (int agg = 0; agg < 4; agg++) {
      const double *weights = agg == NDPAR_AGG_WEIGHTED_MEAN ? w : agg == NDPAR_AGG_TRIMMED_MEAN ? trim : NULL;
      cr_assert_eq(ndpar_ensemble_predict(NULL, x, e.models, e.m, (ndpar_agg)agg, weights, out, spread),
                   GSL_SUCCESS);
      reference(&e, x, (ndpar_agg)agg, weights, ref, ref_spread);
      assert_near(out, ref, agg_name[agg]);
      assert_near(spread, ref_spread, "spread");
    }
    gsl_matrix_free(x);
    gsl_matrix_free(out);
    gsl_matrix_free(spread);
    gsl_matrix_free(ref);
    gsl_matrix_free(ref_spread);
    free_ensemble(&e);
  }
  gsl_rng_free(r);
}

Test(ensemble, median_is_the_true_median_for_even_counts) {
  /* Constant members 1, 2, 10, 20: the median is (2 + 10) / 2 = 6, not 2 or 10. */
  ensemble e;
  gsl_rng *r = test_rng();
  make_ensemble(r, 4, &e);
  double level[] = {1, 2, 10, 20};
  for (size_t k = 0; k < 4; k++) {
    gsl_matrix_set_zero(e.mb[k].w);
    for (size_t j = 0; j < OUT; j++) gsl_matrix_set(e.mb[k].w, 0, j, level[k]);
  }
  gsl_matrix *x = gsl_matrix_calloc(2, IN), *out = gsl_matrix_alloc(2, OUT);
  gsl_matrix_set(x, 0, 0, 1.0);
  gsl_matrix_set(x, 1, 0, 1.0);
  cr_assert_eq(ndpar_ensemble_predict(NULL, x, e.models, 4, NDPAR_AGG_MEDIAN, NULL, out, NULL), GSL_SUCCESS);
  cr_assert_eq(gsl_matrix_get(out, 1, 2), 6.0);
  double quarter[] = {0.25}; /* cuts one from each end: mean of 2 and 10 */
  cr_assert_eq(ndpar_ensemble_predict(NULL, x, e.models, 4, NDPAR_AGG_TRIMMED_MEAN, quarter, out, NULL), GSL_SUCCESS);
  cr_assert_eq(gsl_matrix_get(out, 0, 0), 6.0);
  gsl_matrix_free(x);
  gsl_matrix_free(out);
  free_ensemble(&e);
  gsl_rng_free(r);
}

Test(ensemble, weighted_mean_is_invariant_to_scaling_the_weights) {
  gsl_rng *r = test_rng();
  ensemble e;
  make_ensemble(r, 5, &e);
  gsl_matrix *x = test_random_matrix(r, 20, IN), *a = gsl_matrix_alloc(20, OUT), *b = gsl_matrix_alloc(20, OUT);
  double w[5], w1000[5];
  for (size_t k = 0; k < 5; k++) w1000[k] = 1000 * (w[k] = gsl_rng_uniform(r));
  w[2] = w1000[2] = 0; /* a zero weight is allowed */
  cr_assert_eq(ndpar_ensemble_predict(NULL, x, e.models, 5, NDPAR_AGG_WEIGHTED_MEAN, w, a, NULL), GSL_SUCCESS);
  cr_assert_eq(ndpar_ensemble_predict(NULL, x, e.models, 5, NDPAR_AGG_WEIGHTED_MEAN, w1000, b, NULL), GSL_SUCCESS);
  assert_near(a, b, "scaled weights");
  gsl_matrix_free(x);
  gsl_matrix_free(a);
  gsl_matrix_free(b);
  free_ensemble(&e);
  gsl_rng_free(r);
}

Test(ensemble, batched_form_is_identical_at_any_thread_count) {
  gsl_rng *r = test_rng();
  ensemble e;
  make_ensemble(r, 7, &e);
  size_t tmax = test_max_threads(), sizes[] = {1, tmax - 2, tmax - 1, tmax, 40};
  for (size_t s = 0; s < 5; s++) {
    size_t n = sizes[s];
    gsl_matrix **x = malloc(n * sizeof *x), **ref = malloc(n * sizeof *ref), **out = malloc(n * sizeof *out);
    for (size_t i = 0; i < n; i++) {
      size_t rows = 1 + gsl_rng_uniform_int(r, 30);
      x[i] = test_random_matrix(r, rows, IN);
      ref[i] = gsl_matrix_alloc(rows, OUT);
      out[i] = gsl_matrix_alloc(rows, OUT);
      /* the batched form equals the single-batch call */
      cr_assert_eq(ndpar_ensemble_predict(NULL, x[i], e.models, 7, NDPAR_AGG_MEDIAN, NULL, ref[i], NULL), GSL_SUCCESS);
    }
    for (size_t threads = 1; threads <= tmax; threads++) {
      ndpar_pool_config cfg;
      ndpar_pool_config_init(&cfg);
      cfg.threads = threads;
      ndpar_pool *p = ndpar_pool_alloc(&cfg);
      cr_assert_eq(ndpar_ensemble_predict_batches(p, (const gsl_matrix *const *)x, n, e.models, 7,
                                                  NDPAR_AGG_MEDIAN, NULL, 0, out, NULL, NULL, NULL),
                   GSL_SUCCESS);
      for (size_t i = 0; i < n; i++)
        cr_assert(memcmp(out[i]->data, ref[i]->data, ref[i]->size1 * OUT * sizeof(double)) == 0,
                  "batch %zu at %zu threads", i, threads);
      ndpar_pool_free(p);
    }
    for (size_t i = 0; i < n; i++) {
      gsl_matrix_free(x[i]);
      gsl_matrix_free(ref[i]);
      gsl_matrix_free(out[i]);
    }
    free(x);
    free(ref);
    free(out);
  }
  free_ensemble(&e);
  gsl_rng_free(r);
}

/* ---- the workspace ---- */

typedef struct {
  size_t n, rows;
  gsl_matrix **x, **a, **b, **sa, **sb; /* inputs; outputs and spreads of two forms */
} ws_case;

static ws_case make_ws_case(gsl_rng *r, size_t n) {
  ws_case c = {n, 0, calloc(n, sizeof(gsl_matrix *)), calloc(n, sizeof(gsl_matrix *)),
               calloc(n, sizeof(gsl_matrix *)), calloc(n, sizeof(gsl_matrix *)),
               calloc(n, sizeof(gsl_matrix *))};
  for (size_t i = 0; i < n; i++) {
    size_t rows = 1 + gsl_rng_uniform_int(r, 25);
    c.rows += rows;
    c.x[i] = test_random_matrix(r, rows, IN);
    c.a[i] = gsl_matrix_alloc(rows, OUT), c.b[i] = gsl_matrix_alloc(rows, OUT);
    c.sa[i] = gsl_matrix_alloc(rows, OUT), c.sb[i] = gsl_matrix_alloc(rows, OUT);
    gsl_matrix_set_all(c.b[i], 7.0);
    gsl_matrix_set_all(c.sb[i], 7.0);
  }
  return c;
}

static void free_ws_case(ws_case *c) {
  for (size_t i = 0; i < c->n; i++) {
    gsl_matrix_free(c->x[i]), gsl_matrix_free(c->a[i]), gsl_matrix_free(c->b[i]);
    gsl_matrix_free(c->sa[i]), gsl_matrix_free(c->sb[i]);
  }
  free(c->x), free(c->a), free(c->b), free(c->sa), free(c->sb);
}

Test(ensemble_workspace, same_results_as_the_allocating_form_at_1_to_3_threads) {
  gsl_rng *r = test_rng();
  ensemble e;
  make_ensemble(r, 6, &e);
  double weights[6] = {1, 2, 0.5, 3, 1, 0.25}, trim[1] = {0.2};
  for (size_t threads = 1; threads <= 3; threads++) {
    ndpar_pool *p = test_pool_of(threads);
    size_t sizes[] = {1, threads, threads + 1, 17};
    for (size_t k = 0; k < 4; k++) {
      ws_case c = make_ws_case(r, sizes[k]);
      ndpar_ensemble_workspace *w = ndpar_ensemble_workspace_alloc(p, c.n + 1, c.rows + 3, OUT, 6);
      cr_assert_not_null(w);
      for (int agg = 0; agg < 4; agg++) { /* one workspace, every aggregation */
        const double *wt = agg == NDPAR_AGG_WEIGHTED_MEAN ? weights : agg == NDPAR_AGG_TRIMMED_MEAN ? trim : NULL;
        size_t fm = 0, fb = 0;
        cr_assert_eq(ndpar_ensemble_predict_batches(p, (const gsl_matrix *const *)c.x, c.n, e.models, 6,
                                                    (ndpar_agg)agg, wt, 0, c.a, c.sa, NULL, NULL), GSL_SUCCESS);
        cr_assert_eq(ndpar_ensemble_predict_batches_ws(w, (const gsl_matrix *const *)c.x, c.n, e.models, 6,
                                                       (ndpar_agg)agg, wt, 0, c.b, c.sb, &fm, &fb), GSL_SUCCESS);
        cr_assert(fm == 6 && fb == c.n, "success names no task: m and n");
        for (size_t i = 0; i < c.n; i++) {
          size_t bytes = c.x[i]->size1 * OUT * sizeof(double);
          cr_assert(memcmp(c.a[i]->data, c.b[i]->data, bytes) == 0, "%s, batch %zu", agg_name[agg], i);
          cr_assert(memcmp(c.sa[i]->data, c.sb[i]->data, bytes) == 0, "spread, batch %zu", i);
        }
      }
      ndpar_ensemble_workspace_free(w);
      free_ws_case(&c);
    }
    ndpar_pool_free(p);
  }
  free_ensemble(&e);
  gsl_rng_free(r);
}

Test(ensemble_workspace, calls_that_do_not_fit_are_rejected_with_outputs_untouched) {
  test_quiet_gsl_errors();
  gsl_rng *r = test_rng();
  ensemble e;
  make_ensemble(r, 4, &e);
  ws_case c = make_ws_case(r, 5);
  size_t fm = 99, fb = 99, errors = test_gsl_error_count();
  ndpar_ensemble_workspace *ws[4] = {
      ndpar_ensemble_workspace_alloc(NULL, 4, c.rows, OUT, 4),     /* too few batches */
      ndpar_ensemble_workspace_alloc(NULL, 5, c.rows - 1, OUT, 4), /* too few rows */
      ndpar_ensemble_workspace_alloc(NULL, 5, c.rows, OUT + 1, 4), /* another width */
      ndpar_ensemble_workspace_alloc(NULL, 5, c.rows, OUT, 3)};    /* other members */
  const char *names[4] = {"n is 5", "rows in all", "out has 3 columns", "m is 4"};
  for (size_t k = 0; k < 4; k++) {
    cr_assert_eq(ndpar_ensemble_predict_batches_ws(ws[k], (const gsl_matrix *const *)c.x, 5, e.models, 4,
                                                   NDPAR_AGG_MEAN, NULL, 0, c.b, c.sb, &fm, &fb), GSL_EBADLEN);
    cr_assert(strstr(test_gsl_last_reason(), names[k]) != NULL, "%s", test_gsl_last_reason());
    ndpar_ensemble_workspace_free(ws[k]);
  }
  cr_assert_eq(ndpar_ensemble_predict_batches_ws(NULL, (const gsl_matrix *const *)c.x, 5, e.models, 4,
                                                 NDPAR_AGG_MEAN, NULL, 0, c.b, c.sb, &fm, &fb), GSL_EFAULT);
  cr_assert_eq(test_gsl_error_count(), errors + 5);
  cr_assert(fm == 99 && fb == 99);
  for (size_t i = 0; i < 5; i++)
    cr_assert(gsl_matrix_get(c.b[i], 0, 0) == 7.0 && gsl_matrix_get(c.sb[i], 0, 0) == 7.0);
  cr_assert_null(ndpar_ensemble_workspace_alloc(NULL, 0, 1, OUT, 4));
  cr_assert_null(ndpar_ensemble_workspace_alloc(NULL, 1, 1, OUT, 0));
  ndpar_ensemble_workspace_free(NULL);
  free_ws_case(&c);
  free_ensemble(&e);
  gsl_rng_free(r);
}

Test(ensemble_workspace, a_call_allocates_nothing) {
  if (!test_alloc_counting()) cr_skip_test("allocation counting is unavailable under a sanitizer");
  gsl_rng *r = test_rng();
  ensemble e;
  make_ensemble(r, 5, &e);
  for (size_t threads = 1; threads <= 3; threads++) {
    ndpar_pool *p = test_pool_of(threads);
    ws_case c = make_ws_case(r, 20);
    ndpar_ensemble_workspace *w = ndpar_ensemble_workspace_alloc(p, c.n, c.rows, OUT, 5);
    size_t before = test_alloc_count();
    for (int agg = 0; agg < 3; agg++)
      cr_assert_eq(ndpar_ensemble_predict_batches_ws(w, (const gsl_matrix *const *)c.x, c.n, e.models, 5,
                                                     (ndpar_agg)(agg == 1 ? 2 : agg), NULL, 0, c.b, c.sb,
                                                     NULL, NULL), GSL_SUCCESS);
    cr_assert_eq(test_alloc_count(), before, "%zu threads", threads);
    ndpar_ensemble_workspace_free(w);
    free_ws_case(&c);
    ndpar_pool_free(p);
  }
  free_ensemble(&e);
  gsl_rng_free(r);
}

/* ---- failures and bad input ---- */

Test(ensemble_errors, nan_member_is_reported_or_ignored) {
  test_quiet_gsl_errors();
  gsl_rng *r = test_rng();
  ensemble e;
  make_ensemble(r, 3, &e);
  e.mb[1].poison = 4;
  gsl_matrix *x = test_random_matrix(r, 10, IN), *out = gsl_matrix_alloc(10, OUT);
  gsl_matrix_set_all(out, 7.0);
  cr_assert_eq(ndpar_ensemble_predict(NULL, x, e.models, 3, NDPAR_AGG_MEAN, NULL, out, NULL), GSL_EDOM);
  cr_assert(strstr(test_gsl_last_reason(), "member 1") != NULL, "%s", test_gsl_last_reason());
  cr_assert_eq(gsl_matrix_get(out, 0, 0), 7.0, "out untouched");
  size_t member_at = 99, batch_at = 99;
  const gsl_matrix *xs[] = {x};
  gsl_matrix *outs[] = {out};
  cr_assert_eq(ndpar_ensemble_predict_batches(NULL, xs, 1, e.models, 3, NDPAR_AGG_MEAN, NULL, 0, outs,
                                              NULL, &member_at, &batch_at), GSL_EDOM);
  cr_assert_eq(member_at, 1);
  cr_assert_eq(batch_at, 0);
  /* ignored: row 4 column 0 is the mean of members 0 and 2 alone */
  cr_assert_eq(ndpar_ensemble_predict_batches(NULL, xs, 1, e.models, 3, NDPAR_AGG_MEAN, NULL,
                                              NDPAR_ENSEMBLE_IGNORE_NONFINITE, outs, NULL, NULL, NULL),
               GSL_SUCCESS);
  gsl_matrix *y0 = gsl_matrix_alloc(10, OUT), *y2 = gsl_matrix_alloc(10, OUT);
  gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, x, e.mb[0].w, 0.0, y0);
  gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, x, e.mb[2].w, 0.0, y2);
  double expect = (gsl_matrix_get(y0, 4, 0) + gsl_matrix_get(y2, 4, 0)) / 2;
  cr_assert(fabs(gsl_matrix_get(out, 4, 0) - expect) <= 1e-12 * (1 + fabs(expect)));
  gsl_matrix_free(y0);
  gsl_matrix_free(y2);
  gsl_matrix_free(x);
  gsl_matrix_free(out);
  free_ensemble(&e);
  gsl_rng_free(r);
}

Test(ensemble_errors, failing_member_returns_its_status_and_index) {
  gsl_rng *r = test_rng();
  ensemble e;
  make_ensemble(r, 4, &e);
  size_t bad = gsl_rng_uniform_int(r, 4);
  e.mb[bad].status = GSL_ERANGE;
  gsl_matrix *x = test_random_matrix(r, 6, IN), *out = gsl_matrix_alloc(6, OUT);
  gsl_matrix_set_all(out, 7.0);
  const gsl_matrix *xs[] = {x};
  gsl_matrix *outs[] = {out};
  size_t member_at = 99;
  cr_assert_eq(ndpar_ensemble_predict_batches(NULL, xs, 1, e.models, 4, NDPAR_AGG_MEDIAN, NULL, 0, outs,
                                              NULL, &member_at, NULL), GSL_ERANGE);
  cr_assert_eq(member_at, bad);
  cr_assert_eq(gsl_matrix_get(out, 0, 0), 7.0);
  gsl_matrix_free(x);
  gsl_matrix_free(out);
  free_ensemble(&e);
  gsl_rng_free(r);
}

Test(ensemble_errors, bad_arguments_are_rejected_before_any_work) {
  test_quiet_gsl_errors();
  gsl_rng *r = test_rng();
  ensemble e;
  make_ensemble(r, 3, &e);
  gsl_matrix *x = test_random_matrix(r, 4, IN), *out = gsl_matrix_alloc(4, OUT), *tall = gsl_matrix_alloc(5, OUT);
  gsl_matrix_set_all(out, 7.0);
  size_t errors = 0;
#define REJECT(call, code)                                \
  do {                                                    \
    cr_assert_eq((call), (code), #call);                  \
    cr_assert_eq(test_gsl_error_count(), ++errors);       \
    cr_assert_eq(gsl_matrix_get(out, 0, 0), 7.0);         \
  } while (0)
  double neg[] = {1, -1, 1}, zero[] = {0, 0, 0}, nanw[] = {1, NAN, 1}, half[] = {0.5}, minus[] = {-0.1}, nant[] = {NAN};
  REJECT(ndpar_ensemble_predict(NULL, x, e.models, 0, NDPAR_AGG_MEAN, NULL, out, NULL), GSL_EINVAL);
  REJECT(ndpar_ensemble_predict(NULL, x, NULL, 3, NDPAR_AGG_MEAN, NULL, out, NULL), GSL_EFAULT);
  REJECT(ndpar_ensemble_predict(NULL, x, e.models, 3, NDPAR_AGG_WEIGHTED_MEAN, NULL, out, NULL), GSL_EFAULT);
  REJECT(ndpar_ensemble_predict(NULL, x, e.models, 3, NDPAR_AGG_WEIGHTED_MEAN, neg, out, NULL), GSL_EINVAL);
  cr_assert(strstr(test_gsl_last_reason(), "weights[1]") != NULL);
  REJECT(ndpar_ensemble_predict(NULL, x, e.models, 3, NDPAR_AGG_WEIGHTED_MEAN, zero, out, NULL), GSL_EINVAL);
  REJECT(ndpar_ensemble_predict(NULL, x, e.models, 3, NDPAR_AGG_WEIGHTED_MEAN, nanw, out, NULL), GSL_EDOM);
  REJECT(ndpar_ensemble_predict(NULL, x, e.models, 3, NDPAR_AGG_TRIMMED_MEAN, half, out, NULL), GSL_EINVAL);
  REJECT(ndpar_ensemble_predict(NULL, x, e.models, 3, NDPAR_AGG_TRIMMED_MEAN, minus, out, NULL), GSL_EINVAL);
  REJECT(ndpar_ensemble_predict(NULL, x, e.models, 3, NDPAR_AGG_TRIMMED_MEAN, nant, out, NULL), GSL_EDOM);
  REJECT(ndpar_ensemble_predict(NULL, x, e.models, 3, (ndpar_agg)9, half, out, NULL), GSL_EINVAL);
  REJECT(ndpar_ensemble_predict(NULL, x, e.models, 3, NDPAR_AGG_MEAN, NULL, out, tall), GSL_EBADLEN);
  REJECT(ndpar_ensemble_predict(NULL, NULL, e.models, 3, NDPAR_AGG_MEAN, NULL, out, NULL), GSL_EFAULT);
  ndpar_predict_fn saved = e.models[2].predict;
  e.models[2].predict = NULL;
  REJECT(ndpar_ensemble_predict(NULL, x, e.models, 3, NDPAR_AGG_MEAN, NULL, out, NULL), GSL_EFAULT);
  cr_assert(strstr(test_gsl_last_reason(), "models[2]") != NULL);
  e.models[2].predict = saved;
  gsl_matrix_free(x);
  gsl_matrix_free(out);
  gsl_matrix_free(tall);
  free_ensemble(&e);
  gsl_rng_free(r);
}

/* out and spread that share memory: the spread, written after the mean, used to overwrite
 * it silently. Refused (GSL_EINVAL, both untouched); column blocks of one matrix share no
 * element and are fine, and give what separate matrices give. */
Test(ensemble_errors, out_and_spread_sharing_memory_are_refused) {
  test_quiet_gsl_errors();
  gsl_rng *r = test_rng();
  ensemble e;
  make_ensemble(r, 3, &e);
  gsl_matrix *x = test_random_matrix(r, 4, IN), *both = gsl_matrix_alloc(4, 2 * OUT);
  gsl_matrix *out = gsl_matrix_alloc(4, OUT), *spread = gsl_matrix_alloc(4, OUT);
  gsl_matrix_set_all(both, 7.0);
  size_t errors = test_gsl_error_count();
  cr_assert_eq(ndpar_ensemble_predict(NULL, x, e.models, 3, NDPAR_AGG_MEAN, NULL, both, both), GSL_EINVAL);
  cr_assert(strstr(test_gsl_last_reason(), "share memory") != NULL, "%s", test_gsl_last_reason());
  gsl_matrix_view left = gsl_matrix_submatrix(both, 0, 0, 4, OUT), right = gsl_matrix_submatrix(both, 0, OUT, 4, OUT);
  gsl_matrix_view shifted = gsl_matrix_submatrix(both, 0, 1, 4, OUT); /* overlaps left by OUT - 1 columns */
  cr_assert_eq(ndpar_ensemble_predict(NULL, x, e.models, 3, NDPAR_AGG_MEAN, NULL, &left.matrix, &shifted.matrix),
               GSL_EINVAL);
  gsl_matrix *outs[] = {&left.matrix}; /* the batched form, one array passed for both */
  const gsl_matrix *xs[] = {x};
  size_t fm = 99, fb = 99;
  cr_assert_eq(ndpar_ensemble_predict_batches(NULL, xs, 1, e.models, 3, NDPAR_AGG_MEAN, NULL, 0, outs, outs, &fm, &fb),
               GSL_EINVAL);
  cr_assert_eq(test_gsl_error_count(), errors + 3);
  cr_assert(fm == 99 && fb == 99);
  for (size_t i = 0; i < both->size1; i++)
    for (size_t j = 0; j < both->size2; j++) cr_assert_eq(gsl_matrix_get(both, i, j), 7.0, "untouched");
  cr_assert_eq(ndpar_ensemble_predict(NULL, x, e.models, 3, NDPAR_AGG_MEAN, NULL, &left.matrix, &right.matrix),
               GSL_SUCCESS);
  cr_assert_eq(ndpar_ensemble_predict(NULL, x, e.models, 3, NDPAR_AGG_MEAN, NULL, out, spread), GSL_SUCCESS);
  cr_assert(gsl_matrix_equal(&left.matrix, out) && gsl_matrix_equal(&right.matrix, spread));
  gsl_matrix_free(x), gsl_matrix_free(both), gsl_matrix_free(out), gsl_matrix_free(spread);
  free_ensemble(&e);
  gsl_rng_free(r);
}

/* ---- the argument convention (docs/API.md) ---- */

static ensemble conv_e;
static gsl_matrix *conv_x[2], *conv_out[2];
static const gsl_matrix *const *cx(void) { return (const gsl_matrix *const *)conv_x; }
static int conv_null_models(size_t *f) {
  return ndpar_ensemble_predict_batches(NULL, cx(), 2, NULL, 3, NDPAR_AGG_MEAN, NULL, 0, conv_out, NULL, NULL, f);
}
static int conv_null_predict(size_t *f) {
  ndpar_predictor m[3] = {conv_e.models[0], {NULL, NULL}, conv_e.models[2]};
  return ndpar_ensemble_predict_batches(NULL, cx(), 2, m, 3, NDPAR_AGG_MEAN, NULL, 0, conv_out, NULL, NULL, f);
}
static int conv_null_x(size_t *f) {
  return ndpar_ensemble_predict_batches(NULL, NULL, 2, conv_e.models, 3, NDPAR_AGG_MEAN, NULL, 0, conv_out, NULL, NULL, f);
}
static int conv_n0(size_t *f) {
  return ndpar_ensemble_predict_batches(NULL, NULL, 0, conv_e.models, 3, NDPAR_AGG_MEAN, NULL, 0, NULL, NULL, NULL, f);
}
static int conv_done(size_t *f) {
  size_t member = 0;
  int status = ndpar_ensemble_predict_batches(NULL, cx(), 2, conv_e.models, 3, NDPAR_AGG_MEAN, NULL, 0, conv_out,
                                              NULL, &member, f);
  cr_assert_eq(member, 3, "success: failed_member = m");
  return status;
}
static int conv_ws_null(size_t *f) {
  return ndpar_ensemble_predict_batches_ws(NULL, cx(), 2, conv_e.models, 3, NDPAR_AGG_MEAN, NULL, 0, conv_out,
                                           NULL, NULL, f);
}

Test(ensemble_convention, null_pointers_n0_and_failed_as_the_api_says) {
  gsl_rng *r = test_rng();
  make_ensemble(r, 3, &conv_e);
  for (int i = 0; i < 2; i++) conv_x[i] = test_random_matrix(r, 4, IN), conv_out[i] = gsl_matrix_alloc(4, OUT);
  const test_convention_row rows[] = {
      {"predict_batches, models NULL", conv_null_models, GSL_EFAULT, 0},
      {"predict_batches, models[1].predict NULL", conv_null_predict, GSL_EFAULT, 0},
      {"predict_batches, x NULL", conv_null_x, GSL_EFAULT, 0},
      {"predict_batches, n = 0, arrays NULL", conv_n0, GSL_SUCCESS, 0},
      {"predict_batches, success (failed_batch = n)", conv_done, GSL_SUCCESS, 2},
      {"predict_batches_ws, w NULL", conv_ws_null, GSL_EFAULT, 0},
  };
  test_convention_table(rows, sizeof rows / sizeof rows[0]);
  for (int i = 0; i < 2; i++) gsl_matrix_free(conv_x[i]), gsl_matrix_free(conv_out[i]);
  free_ensemble(&conv_e);
  gsl_rng_free(r);
}

/* The spread with divisor m (numpy's std, ddof = 0): the direct sqrt(mean((v - mean)^2)),
 * and sample sd x sqrt((m - 1) / m); m = 1 gives 0 either way. */
Test(ensemble, population_spread_is_numpys_std) {
  gsl_rng *r = test_rng();
  for (size_t m = 1; m <= MAXM; m++) {
    ensemble e;
    make_ensemble(r, m, &e);
    size_t rows = 1 + gsl_rng_uniform_int(r, 40);
    gsl_matrix *x = test_random_matrix(r, rows, IN);
    gsl_matrix *out = gsl_matrix_alloc(rows, OUT), *pop = gsl_matrix_alloc(rows, OUT);
    gsl_matrix *sample = gsl_matrix_alloc(rows, OUT), *ref = gsl_matrix_alloc(rows, OUT);
    const gsl_matrix *xs[] = {x};
    gsl_matrix *outs[] = {out}, *pops[] = {pop};
    cr_assert_eq(ndpar_ensemble_predict_batches(NULL, xs, 1, e.models, m, NDPAR_AGG_MEAN, NULL,
                                                NDPAR_ENSEMBLE_POPULATION_SD, outs, pops, NULL, NULL),
                 GSL_SUCCESS);
    cr_assert_eq(ndpar_ensemble_predict(NULL, x, e.models, m, NDPAR_AGG_MEAN, NULL, out, sample), GSL_SUCCESS);
    for (size_t i = 0; i < rows; i++)
      for (size_t j = 0; j < OUT; j++) {
        double v[MAXM], mean = 0, ss = 0;
        for (size_t k = 0; k < m; k++) {
          gsl_vector_const_view row = gsl_matrix_const_row(x, i);
          gsl_vector_const_view col = gsl_matrix_const_column(e.mb[k].w, j);
          gsl_blas_ddot(&row.vector, &col.vector, &v[k]);
          mean += v[k] / (double)m;
        }
        for (size_t k = 0; k < m; k++) ss += (v[k] - mean) * (v[k] - mean);
        gsl_matrix_set(ref, i, j, sqrt(ss / (double)m));
        double scaled = gsl_matrix_get(sample, i, j) * sqrt((double)(m - 1) / (double)m);
        cr_assert(fabs(gsl_matrix_get(pop, i, j) - scaled) <= 1e-12 * (1 + scaled));
      }
    assert_near(pop, ref, "population spread");
    gsl_matrix_free(x), gsl_matrix_free(out), gsl_matrix_free(pop), gsl_matrix_free(sample), gsl_matrix_free(ref);
    free_ensemble(&e);
  }
  gsl_rng_free(r);
}

/* ---- finite extremes ---- */

Test(ensemble, weights_near_dbl_max_or_subnormal_give_the_same_mean) {
  gsl_rng *r = test_rng();
  ensemble e;
  make_ensemble(r, 5, &e);
  size_t rows = test_max_threads() + 1;
  gsl_matrix *x = test_random_matrix(r, rows, IN), *a = gsl_matrix_alloc(rows, OUT);
  gsl_matrix *b = gsl_matrix_alloc(rows, OUT), *c = gsl_matrix_alloc(rows, OUT);
  double w[5], huge[5], tiny[5];
  for (size_t k = 0; k < 5; k++) {
    w[k] = 0.25 + gsl_rng_uniform(r);
    huge[k] = 1e308 * w[k] / 1.25; /* their sum and products overflow */
    tiny[k] = 1e-315 * w[k];       /* subnormal */
  }
  cr_assert_eq(ndpar_ensemble_predict(NULL, x, e.models, 5, NDPAR_AGG_WEIGHTED_MEAN, w, a, NULL), GSL_SUCCESS);
  cr_assert_eq(ndpar_ensemble_predict(NULL, x, e.models, 5, NDPAR_AGG_WEIGHTED_MEAN, huge, b, NULL), GSL_SUCCESS);
  cr_assert_eq(ndpar_ensemble_predict(NULL, x, e.models, 5, NDPAR_AGG_WEIGHTED_MEAN, tiny, c, NULL), GSL_SUCCESS);
  /* the subnormal weights hold fewer bits than w: compare with them scaled up (exactly) */
  gsl_matrix *d = gsl_matrix_alloc(rows, OUT);
  double tiny_up[5];
  for (size_t k = 0; k < 5; k++) tiny_up[k] = ldexp(tiny[k], 1050);
  cr_assert_eq(ndpar_ensemble_predict(NULL, x, e.models, 5, NDPAR_AGG_WEIGHTED_MEAN, tiny_up, d, NULL), GSL_SUCCESS);
  for (size_t i = 0; i < rows; i++)
    for (size_t j = 0; j < OUT; j++) {
      cr_assert(isfinite(gsl_matrix_get(b, i, j)) && isfinite(gsl_matrix_get(c, i, j)), "(%zu, %zu)", i, j);
      double ref = gsl_matrix_get(a, i, j), tol = 1e-12 * (fabs(ref) + 1);
      cr_assert(fabs(gsl_matrix_get(b, i, j) - ref) <= tol, "huge (%zu, %zu): %g vs %g", i, j, gsl_matrix_get(b, i, j), ref);
      cr_assert(fabs(gsl_matrix_get(c, i, j) - gsl_matrix_get(d, i, j)) <= tol, "tiny (%zu, %zu): %.17g vs %.17g", i, j,
                gsl_matrix_get(c, i, j), gsl_matrix_get(d, i, j));
    }
  gsl_matrix_free(d);
  gsl_matrix_free(x);
  gsl_matrix_free(a);
  gsl_matrix_free(b);
  gsl_matrix_free(c);
  free_ensemble(&e);
  gsl_rng_free(r);
}

/* ---- the spread near the ends of the double range ---- */

static int predict_constant(const gsl_matrix *x, gsl_matrix *y, const ndpar_task *t, void *ctx) {
  (void)x, (void)t;
  gsl_matrix_set_all(y, *(const double *)ctx);
  return GSL_SUCCESS;
}

Test(ensemble, spread_of_members_at_plus_minus_1e308_is_finite) {
  static const double big = 1e308, neg = -1e308;
  const ndpar_predictor models[3] = {{predict_constant, (void *)&big},
                                 {predict_constant, (void *)&big},
                                 {predict_constant, (void *)&neg}};
  gsl_matrix *x = gsl_matrix_calloc(4, 2), *out = gsl_matrix_alloc(4, 1), *spread = gsl_matrix_alloc(4, 1);
  cr_assert_eq(ndpar_ensemble_predict(NULL, x, models, 3, NDPAR_AGG_MEAN, NULL, out, spread), GSL_SUCCESS);
  const double unit[3] = {1, 1, -1};
  double want = gsl_stats_sd(unit, 1, 3) * 1e308; /* sqrt(4/3) 1e308 */
  for (size_t r = 0; r < 4; r++) {
    double s = gsl_matrix_get(spread, r, 0);
    cr_assert(isfinite(s) && fabs(s - want) <= 1e-15 * want, "row %zu: spread %.17g, want %.17g", r, s, want);
    cr_assert(fabs(gsl_matrix_get(out, r, 0) - 1e308 / 3) <= 1e-15 * 1e308);
  }
  gsl_matrix_free(x), gsl_matrix_free(out), gsl_matrix_free(spread);
}

Test(ensemble_workspace, member_counts_whose_weights_overflow_are_refused) {
  test_quiet_gsl_errors();
  /* (1 << 61) + 1 weights wrap to 8 bytes, though n * m itself fits */
  cr_assert_null(ndpar_ensemble_workspace_alloc(NULL, 1, 1, 1, ((size_t)1 << 61) + 1));
  cr_assert(strstr(test_gsl_last_reason(), "overflow"), "%s", test_gsl_last_reason());
  cr_assert_eq(test_gsl_error_count(), 1);
}
