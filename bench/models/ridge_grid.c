/* ridge_grid.c: the forecasting job's search, timed: a chain of a standard scaler and ridge,
 * time-series cross-validated over six alphas, the best refitted on all rows:
 * - the plain sequential C loop a C programmer writes first (per alpha and fold: gather the
 *   rows, standardise with the training rows' mean and population sd, solve the centred
 *   normal equations by Cholesky, score the validation rows; then the refit);
 * - ndpar_grid_search_model at 1 thread and at --threads;
 * - scikit-learn's GridSearchCV(make_pipeline(StandardScaler(), Ridge()),
 *   TimeSeriesSplit) with n_jobs = 1 and n_jobs = --threads (sklearn_ridge_grid.py, timed
 *   in its own process between the C repeats).
 * Two shapes: the CO2 job (12 monthly lags) and 24 hourly lags of the Seattle series. */
#include "ridge_grid.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ndpar/ndpar_grid.h"
#include "ndpar/ndpar_io.h"
#include "ref/wl.h"

static const double alphas[] = {0.001, 0.01, 0.1, 1, 10, 100};
#define NALPHAS 6
#define FOLDS 5

const char *bench_python(void) {
  return access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
}

/* ---- the sequential loop ---- */

typedef struct {
  const gsl_matrix *x;
  const gsl_matrix *y; /* one column */
  size_t test;         /* validation rows per fold */
  size_t best;
  double best_score;
  double checksum; /* the refit's coefficients, kept observable */
} seq_job;

/* Fits ridge on rows [0, ntr) of x, y (standardised by their own mean and population sd)
 * and returns the validation MSE of rows [ntr, ntr + nva), or fills coef if nva is 0. */
static double seq_fold(const gsl_matrix *x, const gsl_matrix *y, size_t ntr, size_t nva,
                       double alpha, double *coef) {
  size_t p = x->size2;
  double *mean = calloc(p, sizeof *mean);
  double *sd = calloc(p, sizeof *sd);
  double *a = calloc(p * p, sizeof *a);
  double *b = calloc(p, sizeof *b);
  double *z = malloc(p * sizeof *z);
  double ymean = 0;
  for (size_t i = 0; i < ntr; i++) {
    ymean += gsl_matrix_get(y, i, 0);
    for (size_t j = 0; j < p; j++) mean[j] += gsl_matrix_get(x, i, j);
  }
  ymean /= (double)ntr;
  for (size_t j = 0; j < p; j++) mean[j] /= (double)ntr;
  for (size_t i = 0; i < ntr; i++)
    for (size_t j = 0; j < p; j++) {
      double d = gsl_matrix_get(x, i, j) - mean[j];
      sd[j] += d * d;
    }
  for (size_t j = 0; j < p; j++) sd[j] = sd[j] > 0 ? sqrt(sd[j] / (double)ntr) : 1.0;
  /* the scaled columns have mean 0: the centred normal equations */
  for (size_t i = 0; i < ntr; i++) {
    for (size_t j = 0; j < p; j++) z[j] = (gsl_matrix_get(x, i, j) - mean[j]) / sd[j];
    double t = gsl_matrix_get(y, i, 0) - ymean;
    for (size_t j = 0; j < p; j++) {
      b[j] += z[j] * t;
      for (size_t k = 0; k <= j; k++) a[j * p + k] += z[j] * z[k];
    }
  }
  for (size_t j = 0; j < p; j++) a[j * p + j] += alpha;
  for (size_t j = 0; j < p; j++) { /* Cholesky, lower triangle in place */
    for (size_t k = 0; k < j; k++) a[j * p + j] -= a[j * p + k] * a[j * p + k];
    a[j * p + j] = sqrt(a[j * p + j]);
    for (size_t i = j + 1; i < p; i++) {
      for (size_t k = 0; k < j; k++) a[i * p + j] -= a[i * p + k] * a[j * p + k];
      a[i * p + j] /= a[j * p + j];
    }
  }
  for (size_t j = 0; j < p; j++) { /* L w = b, then L^T w = w */
    for (size_t k = 0; k < j; k++) b[j] -= a[j * p + k] * b[k];
    b[j] /= a[j * p + j];
  }
  for (size_t j = p; j-- > 0;) {
    for (size_t k = j + 1; k < p; k++) b[j] -= a[k * p + j] * b[k];
    b[j] /= a[j * p + j];
  }
  double mse = 0;
  for (size_t i = ntr; i < ntr + nva; i++) {
    double pred = ymean;
    for (size_t j = 0; j < p; j++) pred += b[j] * (gsl_matrix_get(x, i, j) - mean[j]) / sd[j];
    double e = gsl_matrix_get(y, i, 0) - pred;
    mse += e * e;
  }
  if (coef != NULL) memcpy(coef, b, p * sizeof *b);
  free(mean);
  free(sd);
  free(a);
  free(b);
  free(z);
  return nva > 0 ? mse / (double)nva : 0;
}

static void run_seq(void *vj) {
  seq_job *j = vj;
  size_t n = j->x->size1;
  j->best_score = -INFINITY;
  for (size_t c = 0; c < NALPHAS; c++) {
    double sum = 0;
    for (size_t f = 0; f < FOLDS; f++) {
      size_t ntr = n - (FOLDS - f) * j->test;
      sum -= seq_fold(j->x, j->y, ntr, j->test, alphas[c], NULL);
    }
    if (sum / FOLDS > j->best_score) {
      j->best_score = sum / FOLDS;
      j->best = c;
    }
  }
  double *coef = malloc(j->x->size2 * sizeof *coef);
  seq_fold(j->x, j->y, n, 0, alphas[j->best], coef);
  j->checksum = coef[0];
  free(coef);
}

/* ---- ndpar ---- */

typedef struct {
  const gsl_matrix *x, *y;
  ndpar_pool *pool;
  const ndpar_grid *grid;
  const ndpar_folds *folds;
  const ndpar_model *chain;
  ndpar_grid_result *result;
  int failed;
} nd_job;

static void run_nd(void *vj) {
  nd_job *j = vj;
  ndpar_grid_options o = {0};
  o.flags = NDPAR_GRID_REFIT;
  if (ndpar_grid_search_model(j->pool, j->grid, j->x, j->y, j->folds, j->chain, &o, j->result))
    j->failed = 1;
}

typedef struct {
  seq_job seq;
  nd_job one, many;
} jobs;

static void v_seq(void *v) { run_seq(&((jobs *)v)->seq); }
static void v_one(void *v) { run_nd(&((jobs *)v)->one); }
static void v_many(void *v) { run_nd(&((jobs *)v)->many); }

/* scikit-learn's search of the same rows with n_jobs = jobs: its min, median, max (ms). */
static int sklearn_grid(const gsl_matrix *x, const gsl_matrix *y, size_t test, size_t jobs,
                        int reps, bench_stats *st, double *best_alpha) {
  char path[] = "/tmp/bench_ridge_gridXXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return 1;
  FILE *f = fdopen(fd, "wb");
  fwrite(x->data, sizeof(double), x->size1 * x->size2, f);
  for (size_t i = 0; i < y->size1; i++) fwrite(gsl_matrix_const_ptr(y, i, 0), sizeof(double), 1, f);
  fclose(f);
  char cmd[2048];
  int at = snprintf(cmd, sizeof cmd, "%s '%s/../bench/models/sklearn_ridge_grid.py' %s %zu %zu %d %zu %zu %d",
                    bench_python(), wl_data_dir(NULL), path, x->size1, x->size2, FOLDS, test, jobs, reps);
  for (size_t c = 0; c < NALPHAS; c++) at += snprintf(cmd + at, sizeof cmd - (size_t)at, " %.17g", alphas[c]);
  snprintf(cmd + at, sizeof cmd - (size_t)at, " 2>/dev/null");
  FILE *p = popen(cmd, "r");
  double score = 0;
  int ok = p != NULL && fscanf(p, "%lf %lf %lf %lf %lf", &st->min, &st->med, &st->max, best_alpha, &score) == 5;
  if (p != NULL) pclose(p);
  remove(path);
  return ok ? 0 : 1;
}

static int one_shape(const char *name, const gsl_vector *series, size_t lags, size_t test,
                     const bench_options *opt, ndpar_pool *one, ndpar_pool *many) {
  gsl_matrix *x = NULL;
  gsl_matrix *y = NULL;
  if (ndpar_windows_alloc(series, lags, 1, 1, &x, &y)) return 1;
  ndpar_folds *folds = ndpar_folds_timeseries(x->size1, FOLDS, test, test, 0, 0);
  ndpar_grid *grid = ndpar_grid_alloc();
  ndpar_grid_add(grid, "ridge.alpha", alphas, NALPHAS);
  ndpar_model *steps[] = {ndpar_scaler_model_alloc(NDPAR_SCALE_STANDARD), ndpar_ridge_alloc(1)};
  ndpar_model *chain = ndpar_chain_alloc(steps, 2);
  ndpar_grid_result *r1 = ndpar_grid_result_alloc_est(NALPHAS, FOLDS, 1, 0);
  ndpar_grid_result *rt = ndpar_grid_result_alloc_est(NALPHAS, FOLDS, 1, 0);
  jobs j = {{x, y, test, 0, 0, 0}, {x, y, one, grid, folds, chain, r1, 0}, {x, y, many, grid, folds, chain, rt, 0}};
  int reps = opt->reps > 0 ? opt->reps : (opt->quick ? 3 : 21);
  void (*const fns[])(void *) = {v_seq, v_one, v_many};
  bench_stats st[5];
  bench_compare_stats_ms(fns, 3, &j, 1, reps, NULL, st);
  int sk_reps = opt->quick ? 2 : 7;
  double sk_alpha[2] = {0, 0};
  int have1 = sklearn_grid(x, y, test, 1, sk_reps, &st[3], &sk_alpha[0]) == 0;
  int have2 = sklearn_grid(x, y, test, opt->threads, sk_reps, &st[4], &sk_alpha[1]) == 0;
  printf("\nridge grid job, %s: %zu rows x %zu lags, %d alphas x %d time-series folds of %zu, refit\n",
         name, x->size1, lags, NALPHAS, FOLDS, test);
  printf("%-34s %3s %9s %9s %9s %10s\n", "variant", "T", "min ms", "med ms", "max ms", "this/ndpar");
  const char *names[] = {"sequential C loop", "ndpar_grid_search_model", "ndpar_grid_search_model",
                         "scikit-learn GridSearchCV n_jobs=1", "scikit-learn GridSearchCV n_jobs=T"};
  size_t threads[] = {1, 1, opt->threads, 1, opt->threads};
  for (size_t i = 0; i < 5; i++) {
    if ((i == 3 && !have1) || (i == 4 && !have2)) {
      printf("%-34s: skipped (%s with scikit-learn could not run)\n", names[i], bench_python());
      continue;
    }
    printf("%-34s %3zu %9.3f %9.3f %9.3f %9.2fx\n", names[i], threads[i], st[i].min, st[i].med,
           st[i].max, st[i].med / st[2].med);
  }
  printf("best alpha: sequential %g, ndpar %g, scikit-learn %g\n", alphas[j.seq.best],
         alphas[rt->best < NALPHAS ? rt->best : 0], sk_alpha[1]);
  int bad = j.one.failed || j.many.failed || rt->best != j.seq.best;
  ndpar_grid_result_free(r1);
  ndpar_grid_result_free(rt);
  ndpar_model_free(chain);
  ndpar_grid_free(grid);
  ndpar_folds_free(folds);
  gsl_matrix_free(x);
  gsl_matrix_free(y);
  return bad;
}

int bench_ridge_grid(const bench_options *opt) {
  ndpar_pool_config cfg;
  ndpar_pool_config_init(&cfg);
  cfg.threads = 1;
  ndpar_pool *one = ndpar_pool_alloc(&cfg);
  cfg.threads = opt->threads;
  ndpar_pool *many = ndpar_pool_alloc(&cfg);
  char path[1024];
  snprintf(path, sizeof path, "%s/co2-concentration.csv", wl_data_dir(NULL));
  ndpar_series *co2 = NULL;
  int bad = one == NULL || many == NULL ||
            ndpar_series_read(NULL, path, NULL, NDPAR_STEP_MONTH, 1, NDPAR_FILL_LINEAR, &co2, NULL);
  if (!bad) {
    gsl_vector_view v = gsl_matrix_column(co2->values, 0);
    bad = one_shape("the CO2 job (monthly)", &v.vector, 12, 12, opt, one, many);
  }
  gsl_vector *seattle = NULL;
  char err[256];
  if (!bad) bad = wl_series(NULL, &seattle, err, sizeof err) != GSL_SUCCESS;
  if (!bad) bad = one_shape("Seattle hourly", seattle, 24, 500, opt, one, many);
  gsl_vector_free(seattle);
  ndpar_series_free(co2);
  ndpar_pool_free(one);
  ndpar_pool_free(many);
  if (bad) fprintf(stderr, "bench_models: the ridge grid job failed or disagreed on the best alpha\n");
  return bad;
}
