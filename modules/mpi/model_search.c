/* model_search.c: grid search over a model's parameters across the ranks.
 *
 * The distributed fit-and-score search (search.c) with a callback that fits a clone of
 * the model with the candidate's values and scores it; a model's targets are a matrix, so
 * the search runs over [x | y] side by side with a dummy vector (as the one-process model
 * search does). The scores are the one-process search's, bit for bit; the refit is then
 * done on every rank alike (the same fit of the same data: the same model). */
#include "ndpar/ndpar_mpi.h"
#include "grid/grid_internal.h"
#include "models/models_internal.h"
#include "ndpar_internal.h"

#include <stdlib.h>

typedef struct {
  const ndpar_model *proto;
  const ndpar_grid *grid;
  size_t inputs;
  ndpar_score_kind kind;
} mpi_model_ctx;

/* The candidate's clone, fitted on xy's rows (x | y); NULL on failure (*status). */
static ndpar_model *fit_candidate(const mpi_model_ctx *c, const double *values, const gsl_matrix *xy,
                                  int *status) {
  ndpar_model *m = grid_model_candidate(c->proto, c->grid, values, NULL, 0);
  _gsl_matrix_const_view x;
  _gsl_matrix_const_view y;
  models_split_xy(xy, c->inputs, &x, &y);
  *status = m != NULL ? models_fit(NULL, m, &x.matrix, &y.matrix) : GSL_ENOMEM;
  if (*status != GSL_SUCCESS) {
    ndpar_model_free(m);
    return NULL;
  }
  return m;
}

static int fit_score(const void *params, size_t candidate, const gsl_matrix *xtr,
                     const gsl_vector *ytr, const gsl_matrix *xva, const gsl_vector *yva,
                     double *score, const ndpar_task *t, void *vc) {
  (void)candidate;
  (void)ytr;
  (void)yva;
  (void)t;
  const mpi_model_ctx *c = vc;
  int status = GSL_SUCCESS;
  ndpar_model *m = fit_candidate(c, params, xtr, &status);
  if (m == NULL) return status;
  _gsl_matrix_const_view x;
  _gsl_matrix_const_view y;
  models_split_xy(xva, c->inputs, &x, &y);
  status = models_score_quiet(m, c->kind, &x.matrix, &y.matrix, score);
  ndpar_model_free(m);
  return status;
}

int ndpar_mpi_grid_search_model(MPI_Comm comm, ndpar_pool *p, const ndpar_grid *g,
                                const gsl_matrix *x, const gsl_matrix *y,
                                const ndpar_folds *folds, const ndpar_model *m,
                                const ndpar_grid_options *opts, ndpar_grid_result *result) {
  const char *who = "mpi_grid_search_model";
  /* The checks depend on the arguments alone, which every rank shares: every rank fails
   * them alike, before any collective call. */
  NDPAR_REQUIRE(g != NULL, "mpi_grid_search_model: g is NULL", GSL_EFAULT);
  size_t rank_score = opts != NULL ? opts->rank_score : 0;
  size_t nscores = opts != NULL && opts->nscores > 0 ? opts->nscores : 1;
  if (opts != NULL && opts->nscores > 0 && opts->scores == NULL)
    NDPAR_ERROR_FMT(GSL_EFAULT, "%s: opts->scores is NULL with nscores %zu", who, opts->nscores);
  if (rank_score >= nscores)
    NDPAR_ERROR_FMT(GSL_EINVAL, "%s: opts->rank_score %zu of %zu scores", who, rank_score, nscores);
  ndpar_score_kind kind = opts != NULL && opts->nscores > 0 ? opts->scores[rank_score] : NDPAR_SCORE_NEG_MSE;
  if (!models_score_kind_ok(kind)) NDPAR_ERROR_FMT(GSL_EINVAL, "%s: the ranking score is not a score kind", who);
  int status = grid_model_check(who, m, g, x, y, NULL);
  if (status) return status;
  double *values = malloc((ndpar_grid_naxes(g) + 1) * sizeof *values);
  NDPAR_REQUIRE(values != NULL, "mpi_grid_search_model: out of memory", GSL_ENOMEM);
  gsl_matrix *xy = NULL;
  gsl_vector *dummy = NULL;
  status = models_side_by_side(x, y, &xy);
  if (status == GSL_SUCCESS) {
    dummy = gsl_vector_calloc(x->size1);
    if (dummy == NULL) status = GSL_ENOMEM;
  }
  if (status == GSL_ENOMEM) ndpar_error_fmt(GSL_ENOMEM, __FILE__, __LINE__, "%s: out of memory", who);
  ndpar_grid_options local = {0};
  if (opts != NULL) local = *opts;
  local.flags &= ~NDPAR_GRID_REFIT; /* done here, after the search */
  mpi_model_ctx c = {m, g, x->size2, kind};
  if (status == GSL_SUCCESS)
    status = ndpar_mpi_grid_search_opts(comm, p, g, xy, dummy, folds, fit_score, &c, &local, result);
  int refit = opts != NULL && (opts->flags & NDPAR_GRID_REFIT);
  if (status == GSL_SUCCESS && refit && result->best < result->candidates) {
    ndpar_grid_candidate(g, result->best, values);
    ndpar_model *best = fit_candidate(&c, values, xy, &status);
    if (best == NULL)
      ndpar_error_fmt(status, __FILE__, __LINE__, "%s: the refit of candidate %zu failed", who, result->best);
    else
      grid_result_set_model(result, best);
  }
  free(values);
  gsl_matrix_free(xy);
  gsl_vector_free(dummy);
  return status;
}

/* ---- cross-validation of a model ---- */

typedef struct {
  const ndpar_model *model;
  size_t inputs;
  ndpar_score_kind kind;
} mpi_cv_ctx;

static int cv_fold(const gsl_matrix *tr, const gsl_vector *ytr, const gsl_matrix *va,
                   const gsl_vector *yva, double *score, const ndpar_task *t, void *vc) {
  (void)ytr;
  (void)yva;
  (void)t;
  const mpi_cv_ctx *c = vc;
  _gsl_matrix_const_view x;
  _gsl_matrix_const_view y;
  models_split_xy(tr, c->inputs, &x, &y);
  ndpar_model *m = models_clone(c->model);
  int status = m != NULL ? models_fit(NULL, m, &x.matrix, &y.matrix) : GSL_ENOMEM;
  models_split_xy(va, c->inputs, &x, &y);
  if (status == GSL_SUCCESS) status = models_score_quiet(m, c->kind, &x.matrix, &y.matrix, score);
  ndpar_model_free(m);
  return status;
}

int ndpar_mpi_model_cross_validate(MPI_Comm comm, ndpar_pool *p, const ndpar_model *m,
                                   const gsl_matrix *x, const gsl_matrix *y,
                                   const ndpar_folds *folds, ndpar_score_kind kind,
                                   gsl_vector *scores) {
  const char *who = "mpi_model_cross_validate";
  /* argument errors depend on the arguments alone, which every rank shares */
  int status = models_check_fit(who, m, x, y);
  if (status) return status;
  NDPAR_REQUIRE(y != NULL, "mpi_model_cross_validate: y is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(models_score_kind_ok(kind), "mpi_model_cross_validate: kind is not a score kind",
                GSL_EINVAL);
  gsl_matrix *xy = NULL;
  NDPAR_REQUIRE(models_side_by_side(x, y, &xy) == GSL_SUCCESS,
                "mpi_model_cross_validate: out of memory", GSL_ENOMEM);
  gsl_vector *dummy = gsl_vector_calloc(x->size1);
  if (dummy == NULL) {
    gsl_matrix_free(xy);
    GSL_ERROR("mpi_model_cross_validate: out of memory", GSL_ENOMEM);
  }
  mpi_cv_ctx c = {m, x->size2, kind};
  status = ndpar_mpi_cv_run(comm, p, xy, dummy, folds, cv_fold, &c, scores);
  gsl_vector_free(dummy);
  gsl_matrix_free(xy);
  return status;
}
