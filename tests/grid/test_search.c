/* Tests of the search features beyond a score per fold: scikit-learn's ranks, its order of
 * names, numeric error_score and the population sd; the estimator forms (several scores,
 * training scores, times, refit); successive halving; random-search distributions. */
#include <criterion/criterion.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ndpar/ndpar_grid.h"
#include "ridge.h"
#include "test_util.h"

#define N 400
#define K 5

typedef struct {
  gsl_matrix *x;
  gsl_vector *y;
  ndpar_folds *folds;
} data;

static data make_data(void) {
  data d = {gsl_matrix_alloc(N, 4), gsl_vector_alloc(N), ndpar_folds_kfold(N, K, 1, 3)};
  ridge_data(d.x, d.y);
  return d;
}

static void free_data(data *d) {
  gsl_matrix_free(d->x);
  gsl_vector_free(d->y);
  ndpar_folds_free(d->folds);
}

/* candidates: lambda = params[0]; candidates listed in fail[] fail on fold 1 */
typedef struct {
  size_t fail[8], nfail;
} failing;

static int fit_score_cb(const void *params, size_t candidate, const gsl_matrix *xtr,
                        const gsl_vector *ytr, const gsl_matrix *xva, const gsl_vector *yva,
                        double *score, const ndpar_task *t, void *ctx) {
  const failing *f = ctx;
  for (size_t i = 0; f && i < f->nfail; i++)
    if (f->fail[i] == candidate && t->index % K == 1) return GSL_ERANGE;
  return ridge_fit_score(((const double *)params)[0], xtr, ytr, xva, yva, score);
}

/* ---- scikit-learn's conventions on the fit-and-score form ---- */

/* Equal means share the best rank of their group (1, 1, 3, 3, ...); failed candidates tie
 * after every other (scikit-learn's NaN means at nanmin - 1); all failed: all rank 1, no best. */
Test(grid_rank, ties_and_failures_rank_as_rankdata_min) {
  data d = make_data();
  double lambdas[] = {10, 10, 0.1, 1, 1, 0.1, 100, 1e-3};
  failing f = {{6, 3}, 2};
  ndpar_grid_result *r = ndpar_grid_result_alloc(8, K);
  cr_assert_eq(ndpar_grid_search_params(NULL, lambdas, sizeof(double), 8, d.x, d.y, d.folds, fit_score_cb, &f, NULL, r), GSL_SUCCESS);
  for (size_t c = 0; c < 8; c++) {
    size_t better = 0, valid = 0;
    double mc = gsl_vector_get(r->mean, c);
    for (size_t e = 0; e < 8; e++) {
      double me = gsl_vector_get(r->mean, e);
      valid += !isnan(me);
      better += !isnan(me) && (isnan(mc) || me > mc);
    }
    cr_assert_eq(r->rank[c], better + 1, "candidate %zu", c);
    if (isnan(mc)) cr_assert_eq(r->rank[c], valid + 1);
  }
  cr_assert_eq(r->rank[6], r->rank[3], "the two failures tie");
  cr_assert_eq(r->rank[0], r->rank[1], "equal lambdas, equal means, one rank");
  cr_assert_eq(r->rank[2], r->rank[5]);
  size_t want = 8; /* the highest mean, the lowest index among equal ones (the data decide which) */
  for (size_t c = 0; c < 8; c++)
    if (!isnan(gsl_vector_get(r->mean, c)) && (want == 8 || gsl_vector_get(r->mean, c) > gsl_vector_get(r->mean, want)))
      want = c;
  cr_assert(want != 5 && want != 1, "a tie's higher index cannot be the first maximum");
  cr_assert_eq(r->best, want, "the best is the lower index of its tie");
  cr_assert(r->best_params && *(double *)r->best_params == lambdas[r->best], "best_params is the best's");
  failing all = {{0, 1, 2, 3, 4, 5, 6, 7}, 8};
  cr_assert_eq(ndpar_grid_search_params(NULL, lambdas, sizeof(double), 8, d.x, d.y, d.folds, fit_score_cb, &all, NULL, r), GSL_SUCCESS);
  for (size_t c = 0; c < 8; c++) cr_assert_eq(r->rank[c], 1, "all failed: all rank 1");
  cr_assert_eq(r->best, 8);
  cr_assert_null(r->best_params);
  ndpar_grid_result_free(r);
  free_data(&d);
}

/* Every fit failing: scikit-learn 1.2.1 raises ValueError ("All the 16 fits failed"),
 * whatever error_score; ndpar returns GSL_SUCCESS with every status set, and says so by best
 * (docs/grid.md): with NaN scores best = candidates (no best, all rank 1, no best_params);
 * with a numeric error_score every mean is that number, all tie at rank 1, best is 0. */
static int always_fails(const void *params, size_t candidate, const gsl_matrix *xtr,
                        const gsl_vector *ytr, const gsl_matrix *xva, const gsl_vector *yva,
                        double *score, const ndpar_task *t, void *ctx) {
  (void)params, (void)candidate, (void)xtr, (void)ytr, (void)xva, (void)yva, (void)score, (void)t, (void)ctx;
  return GSL_ERANGE;
}

Test(grid_rank, every_fit_failing_is_success_with_the_statuses_set) {
  data d = make_data();
  double lambdas[] = {10, 1, 0.1, 1e-3};
  ndpar_grid_result *r = ndpar_grid_result_alloc(4, K);
  ndpar_grid_options numeric = {.flags = NDPAR_GRID_ERROR_SCORE, .error_score = -1};
  for (int with_score = 0; with_score < 2; with_score++) {
    cr_assert_eq(ndpar_grid_search_params(NULL, lambdas, sizeof(double), 4, d.x, d.y, d.folds, always_fails, NULL,
                                          with_score ? &numeric : NULL, r),
                 GSL_SUCCESS);
    for (size_t c = 0; c < 4; c++) {
      cr_assert_neq(r->status[c], 0);
      cr_assert_eq(r->rank[c], 1);
      if (with_score) cr_assert_eq(gsl_vector_get(r->mean, c), -1.0);
    }
    cr_assert_eq(r->best, with_score ? 0u : 4u);
    if (with_score) cr_assert(r->best_params && *(double *)r->best_params == lambdas[0]);
    else cr_assert_null(r->best_params);
  }
  ndpar_grid_result_free(r);
  free_data(&d);
}

/* Candidates in the order the axes were added, the last fastest; adding them in sorted
 * name order numbers them as scikit-learn's ParameterGrid({"b": .., "a": ..}) does:
 * keys sorted, a slowest. */
Test(grid_order, insertion_order_and_parametergrids_sorted_names) {
  double b[] = {1, 2}, a[] = {10, 20, 30};
  ndpar_grid *ins = ndpar_grid_alloc(), *sorted = ndpar_grid_alloc();
  ndpar_grid_add(ins, "b", b, 2), ndpar_grid_add(ins, "a", a, 3);
  ndpar_grid_add(sorted, "a", a, 3), ndpar_grid_add(sorted, "b", b, 2);
  /* list(ParameterGrid({"b": [1, 2], "a": [10, 20, 30]})) */
  double sk[6][2] = {{10, 1}, {10, 2}, {20, 1}, {20, 2}, {30, 1}, {30, 2}};
  for (size_t i = 0; i < 6; i++) {
    double p[2], q[2];
    ndpar_grid_candidate(sorted, i, p);
    cr_assert(p[0] == sk[i][0] && p[1] == sk[i][1], "sorted names: ParameterGrid's candidate %zu", i);
    ndpar_grid_candidate(ins, i, q);
    cr_assert(q[0] == b[i / 3] && q[1] == a[i % 3], "insertion order: b slowest");
  }
  ndpar_grid_free(ins), ndpar_grid_free(sorted);
}

/* A numeric error_score scores the failed fold with that number (the mean is finite, the
 * status kept); the population sd is GSL's sd with divisor k. */
Test(grid_conventions, numeric_error_score_and_population_sd) {
  data d = make_data();
  double lambdas[] = {0.1, 1, 10};
  failing f = {{1}, 1};
  ndpar_grid_options o = {.flags = NDPAR_GRID_ERROR_SCORE | NDPAR_GRID_POPULATION_SD, .error_score = -1e3};
  ndpar_grid_result *r = ndpar_grid_result_alloc(3, K), *plain = ndpar_grid_result_alloc(3, K);
  cr_assert_eq(ndpar_grid_search_params(NULL, lambdas, sizeof(double), 3, d.x, d.y, d.folds, fit_score_cb, &f, &o, r), GSL_SUCCESS);
  cr_assert_eq(ndpar_grid_search_params(NULL, lambdas, sizeof(double), 3, d.x, d.y, d.folds, fit_score_cb, NULL, NULL, plain), GSL_SUCCESS);
  cr_assert_eq(gsl_matrix_get(r->scores, 1, 1), -1e3);
  cr_assert_eq(r->status[1], GSL_ERANGE);
  cr_assert(isfinite(gsl_vector_get(r->mean, 1)));
  cr_assert_eq(r->rank[1], 3, "its -1e3 ranks it last");
  for (size_t c = 0; c < 3; c++) {
    gsl_vector_view row = gsl_matrix_row(r->scores, c);
    double mean = gsl_stats_mean(row.vector.data, 1, K);
    cr_assert_eq(gsl_vector_get(r->mean, c), mean);
    double pop = gsl_stats_sd_with_fixed_mean(row.vector.data, 1, K, mean); /* numpy's std */
    cr_assert(fabs(gsl_vector_get(r->sd, c) - pop) <= 1e-15 * pop, "population sd within 2 ulps");
    if (c != 1) {
      double s = gsl_vector_get(plain->sd, c) * sqrt((K - 1.0) / K);
      cr_assert(fabs(gsl_vector_get(r->sd, c) - s) <= 1e-14 * s, "population = sample x sqrt((k-1)/k)");
    }
    cr_assert(isnan(gsl_vector_get(plain->fit_time_mean, c)), "the fit-and-score form has no times");
  }
  ndpar_grid_result_free(r), ndpar_grid_result_free(plain);
  free_data(&d);
}

/* ---- the estimator forms ---- */

typedef struct {
  atomic_size_t fits, releases;
  double fail_lambda; /* fits of this lambda fail */
} est_log;

static int ridge_fit_cb(const void *params, size_t candidate, size_t resource, const gsl_matrix *xtr,
                        const gsl_vector *ytr, void **model, const ndpar_task *t, void *ctx) {
  (void)candidate, (void)resource, (void)t;
  est_log *l = ctx;
  double lambda = ((const double *)params)[0];
  if (lambda == l->fail_lambda) return GSL_ERANGE;
  gsl_vector *w = gsl_vector_alloc(xtr->size2);
  atomic_fetch_add(&l->fits, 1);
  *model = w;
  return ridge_fit(lambda, xtr, ytr, w);
}

static int ridge_score_cb(const void *model, const void *params, const gsl_matrix *x,
                          const gsl_vector *y, double *scores, const ndpar_task *t, void *ctx) {
  (void)params, (void)t, (void)ctx;
  ridge_scores(model, x, y, &scores[0], &scores[1]);
  return GSL_SUCCESS;
}

static void ridge_release(void *model, void *ctx) {
  est_log *l = ctx;
  atomic_fetch_add(&l->releases, 1);
  gsl_vector_free(model);
}

/* Two scores (-MSE, -MAE) per fold: the first equal bit for bit to the fit-and-score
 * form's, at every thread count; training scores, times, rank by the second score, best
 * params, refit on all the data (w equal to a direct fit), every model released. */
Test(grid_est, several_scores_train_scores_times_and_refit) {
  data d = make_data();
  ndpar_grid *g = ndpar_grid_alloc();
  double lambdas[] = {1e-3, 0.1, 1, 10, 300}, other[] = {0, 1};
  ndpar_grid_add(g, "lambda", lambdas, 5);
  ndpar_grid_add(g, "other", other, 2);
  ndpar_grid_result *ref = ndpar_grid_result_alloc(10, K);
  cr_assert_eq(ndpar_grid_search(NULL, g, d.x, d.y, d.folds, fit_score_cb, NULL, ref), GSL_SUCCESS);
  gsl_matrix *first = NULL;
  for (size_t threads = 1; threads <= test_max_threads(); threads++) {
    ndpar_pool *pool = test_pool_of(threads);
    est_log l = {0, 0, -1};
    ndpar_estimator e = {ridge_fit_cb, ridge_score_cb, ridge_release, 2, &l};
    ndpar_grid_options o = {.flags = NDPAR_GRID_TRAIN_SCORES | NDPAR_GRID_REFIT, .rank_score = 1};
    ndpar_grid_result *r = ndpar_grid_result_alloc_est(10, K, 2, 1);
    cr_assert_eq(ndpar_grid_search_est(pool, g, d.x, d.y, d.folds, &e, &o, r), GSL_SUCCESS);
    for (size_t c = 0; c < 10; c++) {
      for (size_t f = 0; f < K; f++) {
        cr_assert_eq(gsl_matrix_get(r->all_scores, c, f * 2), gsl_matrix_get(ref->scores, c, f), "(%zu, %zu)", c, f);
        cr_assert_eq(gsl_matrix_get(r->scores, c, f), gsl_matrix_get(r->all_scores, c, f * 2 + 1), "ranked by -MAE");
        cr_assert(gsl_matrix_get(r->all_scores, c, f * 2 + 1) < 0);
        cr_assert(gsl_matrix_get(r->train_scores, c, f * 2) > gsl_matrix_get(r->all_scores, c, f * 2) - 1.0);
      }
      cr_assert_eq(gsl_matrix_get(r->all_mean, c, 0), gsl_vector_get(ref->mean, c));
      cr_assert_eq(gsl_matrix_get(r->all_sd, c, 0), gsl_vector_get(ref->sd, c));
      cr_assert_eq(gsl_vector_get(r->mean, c), gsl_matrix_get(r->all_mean, c, 1));
      double fit = gsl_vector_get(r->fit_time_mean, c), score = gsl_vector_get(r->score_time_mean, c);
      cr_assert(fit >= 0 && fit < 10 && score >= 0 && score < 10, "times %g %g", fit, score);
      cr_assert(gsl_vector_get(r->fit_time_sd, c) >= 0 && gsl_vector_get(r->score_time_sd, c) >= 0);
    }
    size_t best = 0; /* by -MAE, ties to the lower index */
    for (size_t c = 1; c < 10; c++)
      if (gsl_vector_get(r->mean, c) > gsl_vector_get(r->mean, best)) best = c;
    cr_assert_eq(r->best, best);
    double params[2];
    ndpar_grid_candidate(g, best, params);
    cr_assert(r->params_size == sizeof params && memcmp(r->best_params, params, sizeof params) == 0);
    gsl_vector *w = gsl_vector_alloc(4);
    ridge_fit(params[0], d.x, d.y, w);
    cr_assert_not_null(r->refit);
    cr_assert(gsl_vector_equal(w, r->refit), "refit: the best fitted on all the data");
    cr_assert_eq(atomic_load(&l.fits), 10 * K + 1);
    cr_assert_eq(atomic_load(&l.releases), 10 * K, "every fold's model released, the refit kept");
    if (first == NULL) {
      first = gsl_matrix_alloc(10, 2 * K);
      gsl_matrix_memcpy(first, r->all_scores);
    } else {
      cr_assert(gsl_matrix_equal(first, r->all_scores), "identical at %zu threads", threads);
    }
    ndpar_grid_result_free(r);
    cr_assert_eq(atomic_load(&l.releases), 10 * K + 1, "the refit released with the result");
    gsl_vector_free(w);
    ndpar_pool_free(pool);
  }
  gsl_matrix_free(first);
  ndpar_grid_result_free(ref);
  ndpar_grid_free(g);
  free_data(&d);
}

/* A failing fit: NaN or the error score for the validation and training scores, its status,
 * and with stop-on-error its status returned. */
Test(grid_est, failures_error_score_and_stop) {
  data d = make_data();
  double lambdas[] = {0.1, 1, 10};
  est_log l = {0, 0, 1};
  ndpar_estimator e = {ridge_fit_cb, ridge_score_cb, ridge_release, 2, &l};
  ndpar_grid_result *r = ndpar_grid_result_alloc_est(3, K, 2, 1);
  ndpar_grid_options o = {.flags = NDPAR_GRID_TRAIN_SCORES | NDPAR_GRID_ERROR_SCORE, .error_score = -7};
  cr_assert_eq(ndpar_grid_search_est_params(NULL, lambdas, sizeof(double), 3, d.x, d.y, d.folds, &e, &o, r), GSL_SUCCESS);
  cr_assert_eq(r->status[1], GSL_ERANGE);
  for (size_t j = 0; j < 2 * K; j++) {
    cr_assert_eq(gsl_matrix_get(r->all_scores, 1, j), -7);
    cr_assert_eq(gsl_matrix_get(r->train_scores, 1, j), -7);
  }
  cr_assert_eq(atomic_load(&l.releases), atomic_load(&l.fits));
  o.flags = NDPAR_GRID_STOP_ON_ERROR;
  cr_assert_eq(ndpar_grid_search_est_params(NULL, lambdas, sizeof(double), 3, d.x, d.y, d.folds, &e, &o, r), GSL_ERANGE);
  o.flags = 0;
  cr_assert_eq(ndpar_grid_search_est_params(NULL, lambdas, sizeof(double), 3, d.x, d.y, d.folds, &e, &o, r), GSL_SUCCESS);
  cr_assert(isnan(gsl_matrix_get(r->all_scores, 1, 0)) && isnan(gsl_vector_get(r->mean, 1)));
  cr_assert_eq(r->rank[1], 3);
  ndpar_grid_result_free(r);
  free_data(&d);
}

Test(grid_est, bad_arguments_are_rejected_before_any_work) {
  test_quiet_gsl_errors();
  data d = make_data();
  double lambdas[] = {0.1, 1};
  est_log l = {0, 0, -1};
  ndpar_estimator e = {ridge_fit_cb, ridge_score_cb, ridge_release, 2, &l}, nofit = e, none = e;
  nofit.fit = NULL, none.nscores = 0;
  ndpar_grid_result *r = ndpar_grid_result_alloc_est(2, K, 2, 0), *one = ndpar_grid_result_alloc(2, K);
  ndpar_grid_options train = {.flags = NDPAR_GRID_TRAIN_SCORES}, rank = {.rank_score = 2}, bad = {.flags = 64};
  cr_assert_eq(ndpar_grid_search_est_params(NULL, lambdas, 8, 2, d.x, d.y, d.folds, NULL, NULL, r), GSL_EFAULT);
  cr_assert_eq(ndpar_grid_search_est_params(NULL, lambdas, 8, 2, d.x, d.y, d.folds, &nofit, NULL, r), GSL_EFAULT);
  cr_assert_eq(ndpar_grid_search_est_params(NULL, lambdas, 8, 2, d.x, d.y, d.folds, &none, NULL, r), GSL_EINVAL);
  cr_assert_eq(ndpar_grid_search_est_params(NULL, lambdas, 8, 2, d.x, d.y, d.folds, &e, NULL, one), GSL_EBADLEN);
  cr_assert(strstr(test_gsl_last_reason(), "scores"));
  cr_assert_eq(ndpar_grid_search_est_params(NULL, lambdas, 8, 2, d.x, d.y, d.folds, &e, &train, r), GSL_EBADLEN);
  cr_assert(strstr(test_gsl_last_reason(), "train = 1"));
  cr_assert_eq(ndpar_grid_search_est_params(NULL, lambdas, 8, 2, d.x, d.y, d.folds, &e, &rank, r), GSL_EINVAL);
  cr_assert_eq(ndpar_grid_search_est_params(NULL, lambdas, 8, 2, d.x, d.y, d.folds, &e, &bad, r), GSL_EINVAL);
  cr_assert_eq(ndpar_grid_search_params(NULL, lambdas, 8, 2, d.x, d.y, d.folds, fit_score_cb, NULL, &train, one), GSL_EINVAL,
               "training scores need the estimator form");
  cr_assert_null(ndpar_grid_result_alloc_est(2, K, 0, 0));
  cr_assert_eq(atomic_load(&l.fits), 0, "no work was done");
  ndpar_halving h = {1, 0, 0, 1};
  cr_assert_eq(ndpar_grid_halving(NULL, lambdas, 8, 2, d.x, d.y, d.folds, &e, &h, NULL, r), GSL_EINVAL);
  h = (ndpar_halving){3, 0, 1000, 1};
  cr_assert_eq(ndpar_grid_halving(NULL, lambdas, 8, 2, d.x, d.y, d.folds, &e, &h, NULL, r), GSL_EINVAL);
  cr_assert(strstr(test_gsl_last_reason(), "smallest training fold"));
  h = (ndpar_halving){3, 0, 0, 0};
  cr_assert_eq(ndpar_grid_halving(NULL, lambdas, 8, 2, d.x, d.y, d.folds, &e, &h, NULL, r), GSL_EINVAL);
  cr_assert_eq(ndpar_grid_halving(NULL, lambdas, 8, 2, d.x, d.y, d.folds, &e, NULL, NULL, r), GSL_EFAULT);
  ndpar_grid_result_free(r), ndpar_grid_result_free(one);
  free_data(&d);
}

/* ---- successive halving ---- */

#define HC 9 /* candidates */
typedef struct {
  size_t resource, rows;
  int candidate;
} hmodel;

typedef struct {
  int rows_mode;
  pthread_mutex_t lock;
  double score[3][HC][K]; /* per round: each (candidate, fold)'s first score */
  int ran[3][HC][K];
  size_t resources[3];
} hlog;

static size_t round_of(hlog *l, size_t resource) {
  for (size_t r = 0; r < 3; r++)
    if (l->resources[r] == resource) return r;
  return 3;
}

static int halving_fit(const void *params, size_t candidate, size_t resource, const gsl_matrix *xtr,
                       const gsl_vector *ytr, void **model, const ndpar_task *t, void *ctx) {
  (void)t;
  hlog *l = ctx;
  hmodel *m = malloc(sizeof *m + 4 * sizeof(double));
  *m = (hmodel){resource, xtr->size1, (int)candidate};
  gsl_vector_view w = gsl_vector_view_array((double *)(m + 1), 4);
  *model = m;
  if (l->rows_mode && xtr->size1 != resource) return GSL_EBADLEN;
  return ridge_fit(((const double *)params)[0], xtr, ytr, &w.vector);
}

static int halving_score(const void *model, const void *params, const gsl_matrix *x,
                         const gsl_vector *y, double *scores, const ndpar_task *t, void *ctx) {
  (void)params;
  hlog *l = ctx;
  const hmodel *m = model;
  gsl_vector_const_view w = gsl_vector_const_view_array((const double *)(m + 1), 4);
  ridge_scores(&w.vector, x, y, &scores[0], &scores[1]);
  /* iterations mode: a model of fewer iterations is worse, by an amount that shrinks */
  if (!l->rows_mode) scores[0] -= 1.0 / (double)m->resource * (double)(m->candidate % 3);
  size_t r = round_of(l, m->resource), fold = t->index % K;
  if (r < 3 && x->size1 != N) { /* validation calls (training has N - N / K rows) */
    pthread_mutex_lock(&l->lock);
    l->score[r][m->candidate][fold] = scores[0];
    l->ran[r][m->candidate][fold]++;
    pthread_mutex_unlock(&l->lock);
  }
  return GSL_SUCCESS;
}

static void halving_release(void *model, void *ctx) {
  (void)ctx;
  free(model);
}

/* 9 candidates, factor 3: rounds of 9, 3 and 1 candidates on resources r, 3r, 9r (r by
 * "exhaust": 320 training rows / 9 = 35 rows; or 1, 3, 9 iterations); each round's survivors
 * are the best third by that round's mean; the result holds each candidate's last round,
 * ranks by round then mean, and the best is the last round's survivor. */
Test(grid_halving, rounds_resources_and_survivors_as_scikit_learn_halves) {
  data d = make_data();
  double lambdas[HC] = {30, 1e-3, 3, 0.1, 100, 1, 1e-2, 10, 0.3};
  for (int rows = 0; rows < 2; rows++) {
    hlog l = {.rows_mode = rows, .lock = PTHREAD_MUTEX_INITIALIZER};
    size_t r0 = rows ? (N - N / K) / 9 : 1;
    for (size_t r = 0; r < 3; r++) l.resources[r] = r0 * (r == 0 ? 1 : r == 1 ? 3 : 9);
    ndpar_estimator e = {halving_fit, halving_score, halving_release, 2, &l};
    ndpar_halving h = {3, 0, rows ? 0 : 9, rows};
    ndpar_grid_options o = {.flags = NDPAR_GRID_REFIT};
    ndpar_grid_result *res = ndpar_grid_result_alloc_est(HC, K, 2, 0);
    cr_assert_eq(ndpar_grid_halving(NULL, lambdas, sizeof(double), HC, d.x, d.y, d.folds, &e, &h, &o, res), GSL_SUCCESS);
    int alive[HC];
    for (size_t c = 0; c < HC; c++) alive[c] = 1;
    for (size_t r = 0; r < 3; r++) {
      size_t n_alive = 0;
      double mean[HC];
      for (size_t c = 0; c < HC; c++) {
        for (size_t f = 0; f < K; f++) cr_assert_eq(l.ran[r][c][f], alive[c], "round %zu candidate %zu fold %zu", r, c, f);
        n_alive += alive[c];
        mean[c] = alive[c] ? gsl_stats_mean(l.score[r][c], 1, K) : -INFINITY;
      }
      cr_assert_eq(n_alive, r == 0 ? 9 : r == 1 ? 3 : 1);
      size_t keep = n_alive / 3;
      for (size_t c = 0; c < HC; c++) { /* survivors: the best third (no ties here) */
        size_t better = 0;
        for (size_t e2 = 0; e2 < HC; e2++) better += alive[e2] && mean[e2] > mean[c];
        if (alive[c]) cr_assert_eq(res->round[c], r == 2 || better >= keep ? r : res->round[c]);
        if (alive[c] && r < 2) alive[c] = better < keep;
        if (alive[c] && r == 2) {
          cr_assert_eq(res->best, c, "the last round's candidate is the best");
          cr_assert_eq(res->rank[c], 1);
          cr_assert_eq(gsl_vector_get(res->mean, c), mean[c], "its last round's scores");
        }
      }
    }
    for (size_t c = 0; c < HC; c++) /* later rounds rank first */
      for (size_t e2 = 0; e2 < HC; e2++)
        if (res->round[c] > res->round[e2]) cr_assert_lt(res->rank[c], res->rank[e2]);
    hmodel *refit = res->refit;
    cr_assert_not_null(refit);
    cr_assert_eq(refit->rows, (size_t)N, "refit on all the data");
    cr_assert_eq(refit->resource, rows ? (size_t)N : 9u);
    ndpar_grid_result_free(res);
  }
  free_data(&d);
}

/* The exhaust schedule against scikit-learn 1.2.1's HalvingGridSearchCV (resource passed
 * to fit, max_resources = most, min_resources="exhaust": its n_resources_), including 17
 * candidates, factor 4, max 9, where ndpar used to run [2, 8] and scikit-learn runs [1, 4].
 * Where math.log rounds an exact power below its integer (log(243, 3) = 4.999...),
 * scikit-learn drops a round (its last round keeps 3 = factor candidates): ndpar counts
 * exactly, and that case is pinned to ndpar's schedule with scikit-learn's beside it. */
typedef struct {
  pthread_mutex_t lock;
  size_t seen[16], nseen;
} resource_log;

static int log_fit(const void *params, size_t candidate, size_t resource, const gsl_matrix *xtr,
                   const gsl_vector *ytr, void **model, const ndpar_task *t, void *ctx) {
  (void)params, (void)xtr, (void)ytr, (void)t;
  resource_log *l = ctx;
  pthread_mutex_lock(&l->lock);
  size_t i = 0;
  while (i < l->nseen && l->seen[i] != resource) i++;
  if (i == l->nseen && l->nseen < 16) l->seen[l->nseen++] = resource;
  pthread_mutex_unlock(&l->lock);
  *model = (void *)(uintptr_t)(candidate + 1);
  return GSL_SUCCESS;
}

static int log_score(const void *model, const void *params, const gsl_matrix *x, const gsl_vector *y,
                     double *scores, const ndpar_task *t, void *ctx) {
  (void)params, (void)x, (void)y, (void)t, (void)ctx;
  scores[0] = -(double)(uintptr_t)model; /* the lower candidates survive */
  return GSL_SUCCESS;
}

static int cmp_sizes(const void *a, const void *b) {
  size_t x = *(const size_t *)a, y = *(const size_t *)b;
  return (x > y) - (x < y);
}

Test(grid_halving, exhaust_schedules_are_scikit_learns) {
  static const struct {
    size_t ncand, factor, most, rounds, res[8];
  } cases[] = {
      {17, 4, 9, 2, {1, 4}},          {9, 3, 9, 3, {1, 3, 9}},           {9, 3, 320, 3, {35, 105, 315}},
      {5, 2, 3, 2, {1, 2}},           {64, 4, 1000, 4, {15, 60, 240, 960}}, {125, 5, 125, 4, {1, 5, 25, 125}},
      {30, 3, 10, 3, {1, 3, 9}},      {2, 2, 1, 1, {1}},
      /* scikit-learn: [3, 9, 27, 81, 243] (math.log rounding); ndpar exact: */
      {243, 3, 243, 6, {1, 3, 9, 27, 81, 243}},
  };
  gsl_matrix *x = gsl_matrix_calloc(4, 1);
  gsl_vector *y = gsl_vector_calloc(4);
  ndpar_folds *f = ndpar_folds_kfold(4, 2, 0, 0);
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
    size_t n = cases[c].ncand;
    double *params = calloc(n, sizeof *params);
    resource_log l = {.lock = PTHREAD_MUTEX_INITIALIZER};
    ndpar_estimator e = {log_fit, log_score, NULL, 1, &l};
    ndpar_halving h = {cases[c].factor, 0, cases[c].most, 0};
    ndpar_grid_result *r = ndpar_grid_result_alloc_est(n, 2, 1, 0);
    cr_assert_eq(ndpar_grid_halving(NULL, params, sizeof *params, n, x, y, f, &e, &h, NULL, r), GSL_SUCCESS);
    qsort(l.seen, l.nseen, sizeof *l.seen, cmp_sizes);
    cr_assert_eq(l.nseen, cases[c].rounds, "(%zu, %zu, %zu): %zu rounds", n, h.factor, h.max_resource, l.nseen);
    for (size_t i = 0; i < l.nseen; i++)
      cr_assert_eq(l.seen[i], cases[c].res[i], "(%zu, %zu, %zu) round %zu: resource %zu", n, h.factor,
                   h.max_resource, i, l.seen[i]);
    ndpar_grid_result_free(r);
    free(params);
  }
  ndpar_folds_free(f);
  gsl_matrix_free(x);
  gsl_vector_free(y);
}

/* ---- random-search distributions ---- */

Test(grid_random_dist, each_distribution_reproducible_and_as_drawn) {
  double choices[] = {0.5, 2, 8};
  ndpar_grid_dist axes[] = {
      {"lr", NDPAR_DIST_LOG_UNIFORM, 1e-4, 1, NULL, 0}, {"drop", NDPAR_DIST_UNIFORM, 0, 0.5, NULL, 0},
      {"layers", NDPAR_DIST_INT, 1, 4, NULL, 0},        {"width", NDPAR_DIST_CHOICE, 0, 0, choices, 3},
      {"init", NDPAR_DIST_NORMAL, 3, 0.5, NULL, 0}};
  size_t n = 4000;
  ndpar_grid *g = ndpar_grid_random_dist(axes, 5, n, 11), *more = ndpar_grid_random_dist(axes, 5, n + 100, 11);
  ndpar_grid_range old[] = {{"lr", 1e-4, 1, 1}, {"drop", 0, 0.5, 0}};
  ndpar_grid *prev = ndpar_grid_random(old, 2, n, 11);
  gsl_rng *stream = gsl_rng_alloc(gsl_rng_taus2);
  cr_assert_not_null(g);
  size_t ints[5] = {0}, picks[3] = {0};
  double *normal = malloc(n * sizeof *normal);
  for (size_t i = 0; i < n; i++) {
    double p[5], q[5], o[2];
    ndpar_grid_candidate(g, i, p);
    ndpar_grid_candidate(more, i, q);
    ndpar_grid_candidate(prev, i, o);
    cr_assert(memcmp(p, q, sizeof p) == 0, "candidate %zu depends on (seed, %zu) alone", i, i);
    cr_assert(p[0] == o[0] && p[1] == o[1], "uniform and log-uniform as ndpar_grid_random, bit for bit");
    gsl_rng_set(stream, ndpar_stream_seed(11, i)); /* one uniform draw per axis from (seed, i) */
    double u0 = gsl_rng_uniform(stream), u1 = gsl_rng_uniform(stream), u2 = gsl_rng_uniform(stream);
    double u3 = gsl_rng_uniform(stream);
    cr_assert_eq(p[0], exp(log(1e-4) + u0 * (log(1.0) - log(1e-4))));
    cr_assert_eq(p[1], 0 + u1 * 0.5);
    cr_assert_eq(p[2], 1 + floor(u2 * 4));
    cr_assert_eq(p[3], choices[(size_t)(u3 * 3)]);
    cr_assert(p[2] == floor(p[2]) && p[2] >= 1 && p[2] <= 4);
    ints[(size_t)p[2]]++;
    size_t c = 0;
    while (c < 3 && choices[c] != p[3]) c++;
    cr_assert_lt(c, 3, "a choice from the list");
    picks[c]++;
    normal[i] = p[4];
    cr_assert(isfinite(p[4]));
  }
  for (size_t v = 1; v <= 4; v++) cr_assert(ints[v] > 850 && ints[v] < 1150, "integer %zu drawn %zu times", v, ints[v]);
  for (size_t c = 0; c < 3; c++) cr_assert(picks[c] > 1150 && picks[c] < 1520, "choice %zu: %zu", c, picks[c]);
  double m = gsl_stats_mean(normal, 1, n), s = gsl_stats_sd(normal, 1, n);
  cr_assert(fabs(m - 3) < 0.05 && fabs(s - 0.5) < 0.03, "normal(3, 0.5): mean %g sd %g", m, s);
  free(normal);
  gsl_rng_free(stream);
  ndpar_grid_free(g), ndpar_grid_free(more), ndpar_grid_free(prev);
}

Test(grid_random_dist, bad_axes_name_the_problem) {
  test_quiet_gsl_errors();
  double v[] = {1};
  ndpar_grid_dist bad[] = {{"a", NDPAR_DIST_INT, 1.5, 3, NULL, 0}, {"b", NDPAR_DIST_CHOICE, 0, 0, NULL, 0},
                           {"c", NDPAR_DIST_NORMAL, 0, -1, NULL, 0},  {"d", NDPAR_DIST_LOG_UNIFORM, 0, 1, NULL, 0},
                           {"e", NDPAR_DIST_UNIFORM, 2, 1, NULL, 0},  {"f", NDPAR_DIST_NORMAL, NAN, 1, NULL, 0},
                           {"g", (ndpar_dist_kind)9, 0, 1, NULL, 0},  {"h", NDPAR_DIST_INT, 0, 0x1p60, NULL, 0}};
  const char *why[] = {"integer", "choice", "sd", "log-uniform", "above the upper", "not finite", "unknown", "2^53"};
  for (size_t i = 0; i < 8; i++) {
    cr_assert_null(ndpar_grid_random_dist(&bad[i], 1, 10, 1), "axis %zu", i);
    cr_assert(strstr(test_gsl_last_reason(), why[i]), "axis %zu: %s", i, test_gsl_last_reason());
  }
  ndpar_grid_dist twice[] = {{"a", NDPAR_DIST_CHOICE, 0, 0, v, 1}, {"a", NDPAR_DIST_UNIFORM, 0, 1, NULL, 0}};
  cr_assert_null(ndpar_grid_random_dist(twice, 2, 10, 1));
  cr_assert_null(ndpar_grid_random_dist(twice, 1, 0, 1));
  cr_assert_null(ndpar_grid_random_dist(NULL, 1, 10, 1));
}
