/* grid.c: parameter grids, random search, and flat (candidate x fold) parallel search. */
#include "ndpar/ndpar_grid.h"
#include "cv/cv_internal.h"
#include "grid/grid_internal.h"
#include "grid/search_internal.h"
#include "ndpar_internal.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_math.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct ndpar_grid {
  size_t naxes;
  char **names;
  double **values; /* Cartesian: values[axis][0 .. nvalues[axis]) */
  size_t *nvalues;
  double *drawn;   /* random search: ndrawn x naxes, or NULL */
  size_t ndrawn;
};

ndpar_grid *ndpar_grid_alloc(void) {
  ndpar_grid *g = calloc(1, sizeof *g);
  if (g == NULL) GSL_ERROR_NULL("grid_alloc: out of memory", GSL_ENOMEM);
  return g;
}

void ndpar_grid_free(ndpar_grid *g) {
  if (g == NULL) return;
  for (size_t a = 0; a < g->naxes; a++) {
    free(g->names[a]);
    free(g->values[a]);
  }
  free(g->names);
  free(g->values);
  free(g->nvalues);
  free(g->drawn);
  free(g);
}

/* Appends an axis (name copied; values taken over, may be NULL for random search). */
static int push_axis(ndpar_grid *g, const char *name, double *values, size_t n) {
  char **names = realloc(g->names, (g->naxes + 1) * sizeof *names);
  if (names) g->names = names;
  double **vals = realloc(g->values, (g->naxes + 1) * sizeof *vals);
  if (vals) g->values = vals;
  size_t *nv = realloc(g->nvalues, (g->naxes + 1) * sizeof *nv);
  if (nv) g->nvalues = nv;
  char *copy = malloc(strlen(name) + 1);
  if (!names || !vals || !nv || !copy) {
    free(copy);
    GSL_ERROR("grid: out of memory", GSL_ENOMEM);
  }
  strcpy(copy, name);
  g->names[g->naxes] = copy;
  g->values[g->naxes] = values;
  g->nvalues[g->naxes] = n;
  g->naxes++;
  return GSL_SUCCESS;
}

static int check_name(const ndpar_grid *g, const char *name) {
  NDPAR_REQUIRE(name != NULL && *name != '\0', "grid: an axis needs a name (name, or axes[i].name, is NULL or empty)", GSL_EINVAL);
  for (size_t a = 0; a < g->naxes; a++)
    if (strcmp(g->names[a], name) == 0) NDPAR_ERROR_FMT(GSL_EINVAL, "grid: name: axis \"%s\" is already there (in g or axes)", name);
  return GSL_SUCCESS;
}

int ndpar_grid_add(ndpar_grid *g, const char *name, const double *values, size_t n) {
  NDPAR_REQUIRE(g != NULL, "grid_add: g is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(g->drawn == NULL, "grid_add: a random-search grid takes no more axes", GSL_EINVAL);
  int status = check_name(g, name);
  if (status) return status;
  if (n == 0) NDPAR_ERROR_FMT(GSL_EINVAL, "grid_add: axis \"%s\" has no values", name);
  if (values == NULL) NDPAR_ERROR_FMT(GSL_EFAULT, "grid_add: axis \"%s\": values is NULL", name);
  size_t total, bytes;
  if (!ndpar_size_mul(ndpar_grid_size(g) ? ndpar_grid_size(g) : 1, n, &total) ||
      !ndpar_size_mul(total, (g->naxes + 1) * sizeof(double), &bytes))
    NDPAR_ERROR_FMT(GSL_EINVAL, "grid_add: axis \"%s\": the grid's candidates would overflow a size_t",
                    name);
  double *copy = malloc(n * sizeof *copy);
  if (copy == NULL) GSL_ERROR("grid_add: out of memory", GSL_ENOMEM);
  memcpy(copy, values, n * sizeof *copy);
  status = push_axis(g, name, copy, n);
  if (status) free(copy);
  return status;
}

static ndpar_grid *random_grid(const char *who, const ndpar_grid_dist *axes, size_t naxes, size_t n,
                               unsigned long seed);

/* lo + u (hi - lo); where hi - lo overflows (bounds of opposite sign near the ends of the
 * double range) the same point as a weighted mean of the bounds, which cannot. */
static double uniform_on(double lo, double hi, double u) {
  if (isfinite(hi - lo)) return lo + u * (hi - lo);
  double v = (1 - u) * lo + u * hi;
  return v < lo ? lo : v > hi ? hi : v;
}

/* The ranges as uniform and log-uniform distributions (the same draws). */
ndpar_grid *ndpar_grid_random(const ndpar_grid_range *axes, size_t naxes, size_t n,
                              unsigned long seed) {
  NDPAR_REQUIRE_NULL(naxes > 0, "grid_random: no axes", GSL_EINVAL);
  NDPAR_REQUIRE_NULL(axes != NULL, "grid_random: axes is NULL", GSL_EFAULT);
  ndpar_grid_dist *d = malloc(naxes * sizeof *d);
  if (d == NULL) GSL_ERROR_NULL("grid_random: out of memory", GSL_ENOMEM);
  for (size_t a = 0; a < naxes; a++)
    d[a] = (ndpar_grid_dist){axes[a].name, axes[a].log ? NDPAR_DIST_LOG_UNIFORM : NDPAR_DIST_UNIFORM,
                             axes[a].lo, axes[a].hi, NULL, 0};
  ndpar_grid *g = random_grid("grid_random", d, naxes, n, seed);
  free(d);
  return g;
}

size_t ndpar_grid_size(const ndpar_grid *g) {
  if (g == NULL || g->naxes == 0) return 0;
  if (g->drawn) return g->ndrawn;
  size_t n = 1;
  for (size_t a = 0; a < g->naxes; a++) n *= g->nvalues[a];
  return n;
}

size_t ndpar_grid_naxes(const ndpar_grid *g) { return g ? g->naxes : 0; }

const char *ndpar_grid_axis_name(const ndpar_grid *g, size_t axis) {
  return g && axis < g->naxes ? g->names[axis] : NULL;
}

int ndpar_grid_candidate(const ndpar_grid *g, size_t i, double *params) {
  NDPAR_REQUIRE(g != NULL && params != NULL, "grid_candidate: g or params is NULL", GSL_EFAULT);
  if (i >= ndpar_grid_size(g)) NDPAR_ERROR_FMT(GSL_EINVAL, "grid_candidate: i = %zu of %zu candidates in g", i, ndpar_grid_size(g));
  if (g->drawn) {
    memcpy(params, g->drawn + i * g->naxes, g->naxes * sizeof *params);
    return GSL_SUCCESS;
  }
  for (size_t a = g->naxes; a-- > 0;) { /* mixed radix, the last axis fastest */
    params[a] = g->values[a][i % g->nvalues[a]];
    i /= g->nvalues[a];
  }
  return GSL_SUCCESS;
}

/* ---- results ---- */

ndpar_grid_result *ndpar_grid_result_alloc(size_t candidates, size_t folds) {
  NDPAR_REQUIRE_NULL(candidates > 0 && folds > 0, "grid_result_alloc: candidates and folds must be positive", GSL_EINVAL);
  size_t bytes; /* an overflowing count is GSL_EINVAL; a size too large to have, GSL_ENOMEM */
  NDPAR_REQUIRE_NULL(ndpar_size_mul3(candidates, folds, sizeof(double), &bytes),
                     "grid_result_alloc: candidates x folds scores overflow a size_t", GSL_EINVAL);
  ndpar_grid_result *r = calloc(1, sizeof *r);
  if (r) {
    r->candidates = candidates;
    r->folds = folds;
    r->scores = ndpar_matrix_new(candidates, folds);
    r->mean = ndpar_vector_new(candidates);
    r->sd = ndpar_vector_new(candidates);
    r->rank = calloc(candidates, sizeof *r->rank);
    r->status = calloc(candidates, sizeof *r->status);
    r->best = candidates;
  }
  if (!r || !r->scores || !r->mean || !r->sd || !r->rank || !r->status ||
      grid_result_extras_alloc(r, 1, 0)) {
    ndpar_grid_result_free(r);
    NDPAR_ERROR_NULL_FMT(GSL_ENOMEM, "grid_result_alloc: out of memory for candidates x folds = %zu x %zu", candidates, folds);
  }
  return r;
}

void ndpar_grid_result_free(ndpar_grid_result *r) {
  if (r == NULL) return;
  gsl_matrix_free(r->scores);
  gsl_vector_free(r->mean);
  gsl_vector_free(r->sd);
  free(r->rank);
  free(r->status);
  grid_result_extras_free(r);
  free(r);
}

/* ---- the search ---- */

struct grid_runner {
  const char *base;
  size_t size, ncand, k;
  ndpar_pool *pool;
  cv_workspace *w;
  ndpar_param_fit_score_fn f;
  void *ctx;
  int stop_on_error;
  double fail_score;         /* a failed task's score: NaN, or opts->error_score */
  double *scores;            /* ncand x k, the caller's */
  int *status;               /* ncand x k, the caller's: each task's status */
  atomic_size_t *folds_done; /* per candidate */
  atomic_size_t cand_done;
  size_t reported;           /* touched by the calling thread (slot 0) alone */
  const ndpar_grid_options *opts;
};

static void report_progress(grid_runner *c) {
  size_t done = atomic_load(&c->cand_done);
  if (c->opts && c->opts->progress && done > c->reported) {
    c->reported = done;
    c->opts->progress(done, c->ncand, c->opts->progress_ctx);
  }
}

static int search_task(const ndpar_task *t, void *vc) {
  grid_runner *c = vc;
  size_t cand = t->index / c->k, fold = t->index % c->k;
  cv_fold_data d;
  cv_fold(c->w, fold, t->worker, &d);
  double score = GSL_NAN;
  int status = c->f(c->base + cand * c->size, cand, &d.xtr.matrix, &d.ytr.vector, &d.xva.matrix,
                    &d.yva.vector, &score, t, c->ctx);
  c->scores[t->index] = status ? c->fail_score : score;
  c->status[t->index] = status;
  if (atomic_fetch_add(&c->folds_done[cand], 1) + 1 == c->k) atomic_fetch_add(&c->cand_done, 1);
  if (t->worker == 0) report_progress(c); /* slot 0 is the calling thread */
  return c->stop_on_error ? status : GSL_SUCCESS;
}

/* The one summary (grid_summary) of every task's score and status, and the best's
 * parameters. */
int grid_summarise(size_t ncand, size_t k, const double *scores, const int *status,
                   const ndpar_grid_options *opts, const void *base, size_t size,
                   ndpar_grid_result *r) {
  grid_summary_in in = {ncand, k, 1, 0, 0, scores, status, NULL, opts ? opts->flags : 0, 0};
  int rc = grid_summary(&in, r);
  return rc ? rc : grid_result_set_best_params(r, base, size);
}

int grid_check(const char *who, size_t ncand, const ndpar_folds *folds,
               ndpar_param_fit_score_fn f, const ndpar_grid_options *opts,
               const ndpar_grid_result *result) {
  if (f == NULL) NDPAR_ERROR_FMT(GSL_EFAULT, "%s: f is NULL", who);
  if (result == NULL) NDPAR_ERROR_FMT(GSL_EFAULT, "%s: result is NULL", who);
  if (folds == NULL) NDPAR_ERROR_FMT(GSL_EFAULT, "%s: folds is NULL", who);
  size_t k = ndpar_folds_count(folds);
  if (result->candidates != ncand || result->folds != k || result->nscores != 1)
    NDPAR_ERROR_FMT(GSL_EBADLEN, "%s: result is for %zu candidates x %zu folds x %zu scores, the search has %zu x %zu x 1",
                    who, result->candidates, result->folds, result->nscores, ncand, k);
  if (opts != NULL && (opts->flags & ~(NDPAR_GRID_STOP_ON_ERROR | NDPAR_GRID_ERROR_SCORE | NDPAR_GRID_POPULATION_SD)) != 0)
    NDPAR_ERROR_FMT(GSL_EINVAL, "%s: opts: unknown flags (training scores and refit need an estimator)", who);
  return GSL_SUCCESS;
}

void grid_runner_free(grid_runner *c) {
  if (c == NULL) return;
  free(c->folds_done);
  cv_workspace_free(c->w);
  free(c);
}

int grid_runner_alloc(const char *who, ndpar_pool *p, const void *base, size_t size, size_t ncand,
                      const gsl_matrix *x, const gsl_vector *y, const ndpar_folds *folds,
                      ndpar_param_fit_score_fn f, void *ctx, const ndpar_grid_options *opts,
                      double *scores, int *status, grid_runner **out) {
  if (p == NULL && (p = ndpar_pool_default()) == NULL) return GSL_EFAILED;
  grid_runner *c = calloc(1, sizeof *c);
  if (c == NULL) GSL_ERROR("grid_search: out of memory", GSL_ENOMEM);
  *c = (grid_runner){.base = base, .size = size, .ncand = ncand, .k = ndpar_folds_count(folds),
                     .pool = p, .f = f, .ctx = ctx, .scores = scores, .status = status,
                     .stop_on_error = opts && (opts->flags & NDPAR_GRID_STOP_ON_ERROR), .opts = opts,
                     .fail_score = opts && (opts->flags & NDPAR_GRID_ERROR_SCORE) ? opts->error_score : GSL_NAN};
  int rc = cv_workspace_alloc(who, x, y, folds, ndpar_pool_threads(p), &c->w);
  if (rc == GSL_SUCCESS && (c->folds_done = calloc(ncand, sizeof *c->folds_done)) == NULL)
    rc = GSL_ENOMEM;
  if (rc) {
    grid_runner_free(c);
    if (rc == GSL_ENOMEM) GSL_ERROR("grid_search: out of memory", GSL_ENOMEM);
    return rc;
  }
  *out = c;
  return GSL_SUCCESS;
}

typedef struct {
  grid_runner *r;
  size_t begin;
} span_ctx;

static int span_task(const ndpar_task *t, void *vc) {
  span_ctx *s = vc;
  ndpar_task flat = {s->begin + t->index, t->worker, t->rng};
  return search_task(&flat, s->r);
}

int grid_runner_run(grid_runner *c, size_t begin, size_t end, size_t *failed) {
  span_ctx s = {c, begin};
  size_t at = 0;
  int rc = ndpar_pool_run_ex(c->pool, end - begin, span_task, &s, &at);
  if (failed) *failed = begin + at;
  return rc;
}

static int search_core(ndpar_pool *p, const void *base, size_t size, size_t ncand,
                       const gsl_matrix *x, const gsl_vector *y, const ndpar_folds *folds,
                       ndpar_param_fit_score_fn f, void *ctx, const ndpar_grid_options *opts,
                       ndpar_grid_result *result) {
  int status = grid_check("grid_search", ncand, folds, f, opts, result);
  if (status) return status;
  size_t k = ndpar_folds_count(folds), bytes;
  if (!ndpar_size_mul3(ncand, k, sizeof(double), &bytes))
    NDPAR_ERROR_FMT(GSL_EINVAL, "grid_search: %zu candidates x %zu folds overflow a size_t", ncand, k);
  double *scores = malloc(bytes);
  int *task_status = calloc(ncand * k, sizeof *task_status);
  grid_runner *r = NULL;
  if (scores == NULL || task_status == NULL) {
    free(scores);
    free(task_status);
    GSL_ERROR("grid_search: out of memory", GSL_ENOMEM);
  }
  status = grid_runner_alloc("grid_search", p, base, size, ncand, x, y, folds, f, ctx, opts, scores,
                             task_status, &r);
  if (status == GSL_SUCCESS) status = grid_runner_run(r, 0, ncand * k, NULL);
  if (status == GSL_SUCCESS) {
    report_progress(r);
    status = grid_summarise(ncand, k, scores, task_status, opts, base, size, result);
  }
  grid_runner_free(r);
  free(scores);
  free(task_status);
  return status;
}

int ndpar_grid_search_opts(ndpar_pool *p, const ndpar_grid *g, const gsl_matrix *x,
                           const gsl_vector *y, const ndpar_folds *folds,
                           ndpar_param_fit_score_fn f, void *ctx,
                           const ndpar_grid_options *opts, ndpar_grid_result *result) {
  NDPAR_REQUIRE(g != NULL, "grid_search: g is NULL", GSL_EFAULT);
  size_t n = ndpar_grid_size(g);
  NDPAR_REQUIRE(n > 0, "grid_search: g, the grid, is empty (no axes)", GSL_EINVAL);
  size_t bytes;
  NDPAR_REQUIRE(ndpar_size_mul3(n, g->naxes, sizeof(double), &bytes),
                "grid_search: the grid's parameters overflow a size_t", GSL_EINVAL);
  double *params = malloc(bytes);
  if (params == NULL) GSL_ERROR("grid_search: out of memory", GSL_ENOMEM);
  for (size_t i = 0; i < n; i++) ndpar_grid_candidate(g, i, params + i * g->naxes);
  int status = search_core(p, params, g->naxes * sizeof *params, n, x, y, folds, f, ctx, opts, result);
  free(params);
  return status;
}

int ndpar_grid_search(ndpar_pool *p, const ndpar_grid *g, const gsl_matrix *x,
                      const gsl_vector *y, const ndpar_folds *folds,
                      ndpar_param_fit_score_fn f, void *ctx, ndpar_grid_result *result) {
  return ndpar_grid_search_opts(p, g, x, y, folds, f, ctx, NULL, result);
}

int grid_check_params(const char *who, const void *params, size_t size, size_t n) {
  if (params == NULL) NDPAR_ERROR_FMT(GSL_EFAULT, "%s: params is NULL", who);
  if (n == 0 || size == 0) NDPAR_ERROR_FMT(GSL_EINVAL, "%s: params: no candidates (size or n is 0)", who);
  size_t bytes;
  if (!ndpar_size_mul(n, size, &bytes) || bytes > PTRDIFF_MAX || bytes > UINTPTR_MAX - (uintptr_t)params)
    NDPAR_ERROR_FMT(GSL_EINVAL, "%s: params: %zu candidates of %zu bytes (n x size) overflow the address space", who, n, size);
  return GSL_SUCCESS;
}

int ndpar_grid_search_params(ndpar_pool *p, const void *params, size_t size, size_t n,
                             const gsl_matrix *x, const gsl_vector *y, const ndpar_folds *folds,
                             ndpar_param_fit_score_fn f, void *ctx,
                             const ndpar_grid_options *opts, ndpar_grid_result *result) {
  int status = grid_check_params("grid_search_params", params, size, n);
  if (status) return status;
  return search_core(p, params, size, n, x, y, folds, f, ctx, opts, result);
}

/* ---- random search over distributions ---- */

static int check_dist(const char *who, const ndpar_grid_dist *d) {
  if (!isfinite(d->a) || !isfinite(d->b)) NDPAR_ERROR_FMT(GSL_EDOM, "%s: axes: axis \"%s\": bounds not finite", who, d->name);
  switch (d->kind) {
    case NDPAR_DIST_UNIFORM:
    case NDPAR_DIST_LOG_UNIFORM:
    case NDPAR_DIST_INT:
      if (d->a > d->b) NDPAR_ERROR_FMT(GSL_EINVAL, "%s: axes: axis \"%s\": the lower bound is above the upper", who, d->name);
      if (d->kind == NDPAR_DIST_LOG_UNIFORM && d->a <= 0)
        NDPAR_ERROR_FMT(GSL_EINVAL, "%s: axes: axis \"%s\": a log-uniform axis needs a positive lower bound", who, d->name);
      if (d->kind == NDPAR_DIST_INT && (d->a != floor(d->a) || d->b != floor(d->b) || d->b - d->a >= 0x1p53))
        NDPAR_ERROR_FMT(GSL_EINVAL, "%s: axes: axis \"%s\": an integer range needs integer bounds less than 2^53 apart", who, d->name);
      return GSL_SUCCESS;
    case NDPAR_DIST_CHOICE:
      if (d->nvalues == 0) NDPAR_ERROR_FMT(GSL_EINVAL, "%s: axes: axis \"%s\": a choice needs values", who, d->name);
      if (d->values == NULL) NDPAR_ERROR_FMT(GSL_EFAULT, "%s: axes: axis \"%s\": values is NULL", who, d->name);
      return GSL_SUCCESS;
    case NDPAR_DIST_NORMAL:
      if (d->b < 0) NDPAR_ERROR_FMT(GSL_EINVAL, "%s: axes: axis \"%s\": the sd b is negative", who, d->name);
      return GSL_SUCCESS;
  }
  NDPAR_ERROR_FMT(GSL_EINVAL, "%s: axes: axis \"%s\": unknown distribution %d", who, d->name, (int)d->kind);
}

/* The axis's value for the uniform draw u in [0, 1) (gsl_rng_uniform's). */
static double dist_value(const ndpar_grid_dist *d, double u) {
  switch (d->kind) {
    case NDPAR_DIST_UNIFORM:
      return uniform_on(d->a, d->b, u);
    case NDPAR_DIST_LOG_UNIFORM:
      return exp(log(d->a) + u * (log(d->b) - log(d->a)));
    case NDPAR_DIST_INT:
      return d->a + floor(u * (d->b - d->a + 1));
    case NDPAR_DIST_CHOICE:
      return d->values[(size_t)(u * (double)d->nvalues)];
    default: /* NORMAL: u moved half a step of the generator's 2^-32 grid into (0, 1) */
      return d->a + d->b * gsl_cdf_ugaussian_Pinv(u + 0x1p-33);
  }
}

static ndpar_grid *random_grid(const char *who, const ndpar_grid_dist *axes, size_t naxes, size_t n,
                               unsigned long seed) {
  if (naxes == 0) NDPAR_ERROR_NULL_FMT(GSL_EINVAL, "%s: no axes", who);
  if (axes == NULL) NDPAR_ERROR_NULL_FMT(GSL_EFAULT, "%s: axes is NULL", who);
  if (n == 0) NDPAR_ERROR_NULL_FMT(GSL_EINVAL, "%s: n must be positive", who);
  size_t bytes;
  if (!ndpar_size_mul3(n, naxes, sizeof(double), &bytes))
    NDPAR_ERROR_NULL_FMT(GSL_EINVAL, "%s: n * naxes candidates' values overflow a size_t", who);
  ndpar_grid *g = ndpar_grid_alloc();
  if (g == NULL) return NULL;
  for (size_t a = 0; a < naxes; a++)
    if (check_name(g, axes[a].name) || check_dist(who, &axes[a]) || push_axis(g, axes[a].name, NULL, 0)) {
      ndpar_grid_free(g);
      return NULL;
    }
  g->drawn = malloc(bytes);
  gsl_rng *r = gsl_rng_alloc(gsl_rng_taus2);
  if (g->drawn == NULL || r == NULL) {
    gsl_rng_free(r);
    ndpar_grid_free(g);
    NDPAR_ERROR_NULL_FMT(GSL_ENOMEM, "%s: out of memory", who);
  }
  g->ndrawn = n;
  for (size_t i = 0; i < n; i++) {
    gsl_rng_set(r, ndpar_stream_seed(seed, i)); /* candidate i depends on (seed, i) alone */
    for (size_t a = 0; a < naxes; a++) g->drawn[i * naxes + a] = dist_value(&axes[a], gsl_rng_uniform(r));
  }
  gsl_rng_free(r);
  return g;
}

ndpar_grid *ndpar_grid_random_dist(const ndpar_grid_dist *axes, size_t naxes, size_t n,
                                   unsigned long seed) {
  return random_grid("grid_random_dist", axes, naxes, n, seed);
}
