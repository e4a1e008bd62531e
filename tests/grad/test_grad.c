/* Tests of the grad module: closed-form least squares, determinism, aggregation, errors,
 * and the synchronous SGD training example. */
#include <criterion/criterion.h>
#include <gsl/gsl_blas.h>
#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <float.h>

#include "ndpar/ndpar_grad.h"
#include "ndpar_internal.h" /* ndpar_rsum: the reference of the deterministic mode */
#include "test_util.h"
#include "ref/wl.h"

/* ---- linear least squares: loss = mean (x w - y)^2, grad = 2/rows x^T (x w - y) ---- */

typedef struct {
  const gsl_vector *w;
} lsq;

static int lsq_grad(const gsl_matrix *x, const gsl_vector *y, gsl_vector *grad, double *loss,
                    const ndpar_task *t, void *ctx) {
  (void)t;
  const lsq *m = ctx;
  gsl_vector *r = gsl_vector_alloc(x->size1);
  gsl_vector_memcpy(r, y);
  gsl_blas_dgemv(CblasNoTrans, 1.0, x, m->w, -1.0, r); /* r = x w - y */
  double rows = (double)x->size1, rr;
  gsl_blas_ddot(r, r, &rr);
  *loss = rr / rows;
  gsl_blas_dgemv(CblasTrans, 2.0 / rows, x, r, 0.0, grad);
  gsl_vector_free(r);
  return GSL_SUCCESS;
}

typedef struct {
  gsl_matrix *x;   /* all rows */
  gsl_vector *y, *w;
  size_t n;        /* batches */
  _gsl_matrix_const_view *xv;
  _gsl_vector_const_view *yv;
  const gsl_matrix **xs;
  const gsl_vector **ys;
} problem;

/* n batches of 1..max_rows rows each, P features, over one matrix (batches are views). */
static problem make_problem(gsl_rng *r, size_t n, size_t P, size_t max_rows) {
  problem pb = {.n = n};
  size_t *rows = malloc((n ? n : 1) * sizeof *rows), total = 0;
  for (size_t i = 0; i < n; i++) total += rows[i] = 1 + gsl_rng_uniform_int(r, max_rows);
  pb.x = gsl_matrix_alloc(total ? total : 1, P);
  pb.y = gsl_vector_alloc(total ? total : 1);
  pb.w = gsl_vector_alloc(P);
  for (size_t i = 0; i < pb.x->size1; i++) {
    for (size_t j = 0; j < P; j++) gsl_matrix_set(pb.x, i, j, gsl_ran_gaussian(r, 1.0) + 3.0);
    gsl_vector_set(pb.y, i, gsl_ran_gaussian(r, 2.0));
  }
  for (size_t j = 0; j < P; j++) gsl_vector_set(pb.w, j, gsl_ran_gaussian(r, 1.0));
  pb.xv = malloc((n + 1) * sizeof *pb.xv);
  pb.yv = malloc((n + 1) * sizeof *pb.yv);
  pb.xs = malloc((n + 1) * sizeof *pb.xs);
  pb.ys = malloc((n + 1) * sizeof *pb.ys);
  size_t at = 0;
  for (size_t i = 0; i < n; i++) {
    pb.xv[i] = gsl_matrix_const_submatrix(pb.x, at, 0, rows[i], P);
    pb.yv[i] = gsl_vector_const_subvector(pb.y, at, rows[i]);
    pb.xs[i] = &pb.xv[i].matrix;
    pb.ys[i] = &pb.yv[i].vector;
    at += rows[i];
  }
  free(rows);
  return pb;
}

static void free_problem(problem *pb) {
  gsl_matrix_free(pb->x);
  gsl_vector_free(pb->y);
  gsl_vector_free(pb->w);
  free(pb->xv);
  free(pb->yv);
  free(pb->xs);
  free(pb->ys);
}

/* The closed form over all rows at once. */
static void full_gradient(const problem *pb, gsl_vector *g, double *loss) {
  lsq m = {pb->w};
  ndpar_task t = {0, 0, NULL};
  lsq_grad(pb->x, pb->y, g, loss, &t, &m);
}

/* Relative to the vector: |a - b|_inf <= rel |b|_inf. (Entry by entry would demand the
 * impossible of an entry that is a small difference of large terms.) */
static void assert_close(const gsl_vector *a, const gsl_vector *b, double rel, const char *what) {
  double scale = 0;
  for (size_t j = 0; j < b->size; j++) scale = fmax(scale, fabs(gsl_vector_get(b, j)));
  for (size_t j = 0; j < a->size; j++) {
    double x = gsl_vector_get(a, j), y = gsl_vector_get(b, j);
    cr_assert(fabs(x - y) <= rel * scale, "%s: entry %zu: %.17g vs %.17g (scale %g)", what, j, x, y, scale);
  }
}

Test(grad_compute, equals_the_full_data_gradient) {
  gsl_rng *r = test_rng();
  size_t P = 1 + gsl_rng_uniform_int(r, 20);
  for (size_t threads = 1; threads <= test_max_threads(); threads++) {
    ndpar_pool *p = test_pool_of(threads);
    size_t sizes[] = {1, threads > 1 ? threads - 1 : 1, threads, threads + 1, 300, 3000};
    for (size_t k = 0; k < 6; k++) {
      problem pb = make_problem(r, sizes[k], P, 40);
      lsq m = {pb.w};
      gsl_vector *ref = gsl_vector_alloc(P), *got = gsl_vector_alloc(P);
      double ref_loss, loss;
      full_gradient(&pb, ref, &ref_loss);
      for (int mode = 0; mode < 2; mode++) {
        cr_assert_eq(ndpar_grad_compute(p, pb.xs, pb.ys, pb.n, lsq_grad, &m, (ndpar_reduce)mode,
                                        got, &loss), GSL_SUCCESS);
        assert_close(got, ref, 1e-12, mode ? "deterministic" : "fast");
        cr_assert(fabs(loss - ref_loss) <= 1e-12 * ref_loss, "loss %g vs %g", loss, ref_loss);
      }
      gsl_vector_free(ref);
      gsl_vector_free(got);
      free_problem(&pb);
    }
    ndpar_pool_free(p);
  }
  gsl_rng_free(r);
}

Test(grad_compute, deterministic_mode_is_bit_identical_at_any_thread_count) {
  gsl_rng *r = test_rng();
  size_t sizes[] = {1, 2, 3, 7, 64, 1023, 1025, 5000}; /* > 1024: blocks of several batches */
  for (size_t k = 0; k < 8; k++) {
    problem pb = make_problem(r, sizes[k], 9, 12);
    lsq m = {pb.w};
    gsl_vector *ref = gsl_vector_alloc(9), *got = gsl_vector_alloc(9);
    double ref_loss = 0, loss = 0;
    for (size_t threads = 1; threads <= test_max_threads() + 1; threads++) {
      ndpar_pool *p = test_pool_of(threads);
      gsl_vector *out = threads == 1 ? ref : got;
      double *l = threads == 1 ? &ref_loss : &loss;
      cr_assert_eq(ndpar_grad_compute(p, pb.xs, pb.ys, pb.n, lsq_grad, &m,
                                      NDPAR_REDUCE_DETERMINISTIC, out, l), GSL_SUCCESS);
      if (threads > 1) {
        cr_assert(memcmp(got->data, ref->data, 9 * sizeof(double)) == 0, "n=%zu threads=%zu", pb.n, threads);
        cr_assert(memcmp(&loss, &ref_loss, sizeof loss) == 0);
      }
      ndpar_pool_free(p);
    }
    gsl_vector_free(ref);
    gsl_vector_free(got);
    free_problem(&pb);
  }
  gsl_rng_free(r);
}

Test(grad_compute, large_parameter_vectors_fold_in_parallel_the_same) {
  gsl_rng *r = test_rng();
  size_t P = 10000; /* above the parallel-fold threshold */
  problem pb = make_problem(r, 6, P, 3);
  lsq m = {pb.w};
  gsl_vector *ref = gsl_vector_alloc(P), *got = gsl_vector_alloc(P);
  double l;
  full_gradient(&pb, ref, &l);
  for (int mode = 0; mode < 2; mode++) {
    cr_assert_eq(ndpar_grad_compute(NULL, pb.xs, pb.ys, pb.n, lsq_grad, &m, (ndpar_reduce)mode, got, NULL),
                 GSL_SUCCESS);
    assert_close(got, ref, 1e-12, "large P");
  }
  gsl_vector_free(ref);
  gsl_vector_free(got);
  free_problem(&pb);
  gsl_rng_free(r);
}

/* ---- the deterministic mode's algorithm, bit for bit ----
 * Groups of G consecutive batches (G = 16 from 4096 parameters on, else 1), each folded
 * in plain double in index order (((t_0 + t_1) + t_2) + ...), t_i = rows_i (g_i, loss_i,
 * 1); the group sums added into binned accumulators; the sums divided by the rows. */
static size_t group_of(size_t P) { return P >= 4096 ? 16 : 1; }

static void reference_deterministic(const problem *pb, size_t P, gsl_vector *out, double *loss) {
  lsq m = {pb->w};
  ndpar_rsum *acc = malloc((P + 2) * sizeof *acc);
  double *part = malloc((P + 2) * sizeof *part);
  gsl_vector *g = gsl_vector_alloc(P);
  ndpar_rsum_init(acc, P + 2);
  size_t G = group_of(P);
  double total = 0; /* the rows weigh 2^-e, e with total 2^-e in [1/2, 1) (docs/grad.md) */
  int e;
  for (size_t i = 0; i < pb->n; i++) total += (double)pb->xs[i]->size1;
  frexp(total, &e);
  for (size_t lo = 0; lo < pb->n; lo += G) {
    for (size_t i = lo; i < lo + G && i < pb->n; i++) {
      ndpar_task t = {i, 0, NULL};
      double l, rows = ldexp((double)pb->xs[i]->size1, -e);
      lsq_grad(pb->xs[i], pb->ys[i], g, &l, &t, &m);
      for (size_t j = 0; j < P; j++) part[j] = i == lo ? rows * g->data[j] : part[j] + rows * g->data[j];
      part[P] = i == lo ? rows * l : part[P] + rows * l;
      part[P + 1] = i == lo ? rows : part[P + 1] + rows;
    }
    for (size_t j = 0; j < P + 2; j++) ndpar_rsum_add(&acc[j], part[j]);
  }
  double rows = ndpar_rsum_value(&acc[P + 1]);
  for (size_t j = 0; j < P; j++) gsl_vector_set(out, j, ndpar_rsum_value(&acc[j]) / rows);
  *loss = ndpar_rsum_value(&acc[P]) / rows;
  gsl_vector_free(g);
  free(part);
  free(acc);
}

Test(grad_compute, deterministic_mode_is_the_documented_group_fold_bit_for_bit) {
  gsl_rng *r = test_rng();
  /* 4096, 9000: groups of 16; up to 19 groups, so that a worker adds kept group sums into
   * its accumulators more than once, or never; 9000: the final merge in parallel; 12
   * threads: more kept sums than the final merge adds in one pass */
  size_t Ps[] = {5, 4096, 9000}, ns[] = {1, 15, 16, 17, 40, 100, 300};
  for (size_t a = 0; a < 3; a++)
    for (size_t b = 0; b < 7; b++) {
      size_t P = Ps[a], n = ns[b];
      problem pb = make_problem(r, n, P, 6);
      lsq m = {pb.w};
      gsl_vector *ref = gsl_vector_alloc(P), *got = gsl_vector_alloc(P);
      double ref_loss, loss;
      reference_deterministic(&pb, P, ref, &ref_loss);
      for (size_t k = 1; k <= test_max_threads() + 2; k++) {
        size_t threads = k == test_max_threads() + 2 ? 12 : k;
        ndpar_pool *p = test_pool_of(threads);
        cr_assert_eq(ndpar_grad_compute(p, pb.xs, pb.ys, n, lsq_grad, &m, NDPAR_REDUCE_DETERMINISTIC,
                                        got, &loss), GSL_SUCCESS);
        cr_assert(memcmp(got->data, ref->data, P * sizeof(double)) == 0, "P=%zu n=%zu threads=%zu", P, n, threads);
        cr_assert(memcmp(&loss, &ref_loss, sizeof loss) == 0, "P=%zu n=%zu threads=%zu", P, n, threads);
        ndpar_pool_free(p);
      }
      gsl_vector_free(ref);
      gsl_vector_free(got);
      free_problem(&pb);
    }
  gsl_rng_free(r);
}

/* Fast mode against the sequential loop, at P past the parallel combine, every chunking. */
Test(grad_compute, fast_mode_matches_the_sequential_loop_at_large_p) {
  gsl_rng *r = test_rng();
  size_t P = 9000, ns[] = {1, 2, 3, 5, 9, 33};
  for (size_t b = 0; b < 6; b++) {
    problem pb = make_problem(r, ns[b], P, 5);
    lsq m = {pb.w};
    gsl_vector *ref = gsl_vector_alloc(P), *got = gsl_vector_alloc(P), *g = gsl_vector_alloc(P);
    double rows = 0, lsum = 0, loss;
    gsl_vector_set_zero(ref);
    for (size_t i = 0; i < pb.n; i++) { /* the sequential loop */
      ndpar_task t = {i, 0, NULL};
      double l, ri = (double)pb.xs[i]->size1;
      lsq_grad(pb.xs[i], pb.ys[i], g, &l, &t, &m);
      gsl_blas_daxpy(ri, g, ref);
      rows += ri, lsum += ri * l;
    }
    gsl_vector_scale(ref, 1 / rows);
    for (size_t threads = 1; threads <= test_max_threads() + 1; threads++) {
      ndpar_pool *p = test_pool_of(threads);
      cr_assert_eq(ndpar_grad_compute(p, pb.xs, pb.ys, pb.n, lsq_grad, &m, NDPAR_REDUCE_FAST, got, &loss),
                   GSL_SUCCESS);
      assert_close(got, ref, 1e-13, "fast");
      cr_assert(fabs(loss - lsum / rows) <= 1e-13 * (lsum / rows));
      ndpar_pool_free(p);
    }
    gsl_vector_free(ref);
    gsl_vector_free(got);
    gsl_vector_free(g);
    free_problem(&pb);
  }
  gsl_rng_free(r);
}

/* What lsq_grad allocates over a problem: a residual gsl_vector per batch. */
static size_t residual_bytes(const problem *pb) {
  size_t b = 0;
  for (size_t i = 0; i < pb->n; i++)
    b += sizeof(gsl_vector) + sizeof(gsl_block) + pb->xs[i]->size1 * sizeof(double);
  return b;
}

/* The working memory is O(threads x P) and does not grow with the batch count. */
Test(grad_compute, memory_is_per_worker_not_per_batch) {
  if (!test_alloc_counting()) cr_skip_test("allocation counting is unavailable under a sanitizer");
  gsl_rng *r = test_rng();
  size_t P = 5000;
  problem small = make_problem(r, 4, P, 2), large = make_problem(r, 700, P, 2);
  lsq ms = {small.w}, ml = {large.w};
  gsl_vector *g = gsl_vector_alloc(P);
  double loss;
  for (size_t threads = 1; threads <= test_max_threads(); threads++) {
    ndpar_pool *p = test_pool_of(threads);
    for (int mode = 0; mode < 2; mode++) {
      size_t b0 = test_alloc_bytes();
      cr_assert_eq(ndpar_grad_compute(p, small.xs, small.ys, small.n, lsq_grad, &ms, (ndpar_reduce)mode, g,
                                      &loss), GSL_SUCCESS);
      size_t b1 = test_alloc_bytes();
      cr_assert_eq(ndpar_grad_compute(p, large.xs, large.ys, large.n, lsq_grad, &ml, (ndpar_reduce)mode, g,
                                      &loss), GSL_SUCCESS);
      size_t b2 = test_alloc_bytes();
      /* lsq_grad allocates one residual vector per batch: discounted exactly */
      size_t used_small = b1 - b0 - residual_bytes(&small), used_large = b2 - b1 - residual_bytes(&large);
      /* per worker: a callback buffer, two group sums, 40-byte binned accumulators (8 P doubles) */
      size_t bound = threads * 8 * (P + 64) * sizeof(double) + 2 * (P + 2) * sizeof(double) + 65536;
      cr_assert(used_large <= used_small, "mode %d threads %zu: %zu bytes for 700 batches, %zu for 4", mode,
                threads, used_large, used_small);
      cr_assert(used_small <= bound, "mode %d threads %zu: %zu bytes > %zu", mode, threads, used_small, bound);
    }
    ndpar_pool_free(p);
  }
  gsl_vector_free(g);
  free_problem(&small);
  free_problem(&large);
  gsl_rng_free(r);
}

/* ---- errors ---- */

static int fail_at(const gsl_matrix *x, const gsl_vector *y, gsl_vector *grad, double *loss,
                   const ndpar_task *t, void *ctx) {
  (void)x, (void)y;
  gsl_vector_set_all(grad, 1.0);
  *loss = 1.0;
  return t->index == *(size_t *)ctx ? GSL_ERANGE : GSL_SUCCESS;
}

Test(grad_errors, callback_failure_returns_status_and_batch_outputs_untouched) {
  gsl_rng *r = test_rng();
  for (int mode = 0; mode < 2; mode++) {
    size_t n = 2000;
    problem pb = make_problem(r, n, 4, 3);
    size_t bad = gsl_rng_uniform_int(r, n), failed = 0;
    gsl_vector *g = gsl_vector_alloc(4);
    gsl_vector_set_all(g, 7.0);
    double loss = 7.0;
    cr_assert_eq(ndpar_grad_compute_ex(NULL, pb.xs, pb.ys, n, fail_at, &bad, (ndpar_reduce)mode, g,
                                       &loss, &failed), GSL_ERANGE);
    cr_assert_eq(failed, bad, "mode %d: failed %zu, expected %zu", mode, failed, bad);
    cr_assert_eq(gsl_vector_get(g, 0), 7.0);
    cr_assert_eq(loss, 7.0);
    gsl_vector_free(g);
    free_problem(&pb);
  }
  gsl_rng_free(r);
}

/* A workspace reused after a failure reports the new failing batch, not the old one. */
Test(grad_errors, the_failing_batch_of_each_call_on_one_workspace) {
  gsl_rng *r = test_rng();
  size_t n = 64, P = 5000;
  problem pb = make_problem(r, n, P, 2);
  gsl_vector *g = gsl_vector_alloc(P);
  for (size_t threads = 1; threads <= test_max_threads(); threads++) {
    ndpar_pool *p = test_pool_of(threads);
    ndpar_grad_workspace *w = ndpar_grad_workspace_alloc(p, n, P);
    for (int mode = 0; mode < 2; mode++) {
      size_t bads[] = {9, 6, 63, 0, 17}, failed = 0;
      for (size_t k = 0; k < 5; k++) {
        double loss;
        cr_assert_eq(ndpar_grad_compute_ws(w, pb.xs, pb.ys, n, fail_at, &bads[k], (ndpar_reduce)mode, g, &loss,
                                           &failed), GSL_ERANGE);
        cr_assert_eq(failed, bads[k], "mode %d threads %zu: failed %zu, expected %zu", mode, threads, failed,
                     bads[k]);
      }
    }
    ndpar_grad_workspace_free(w);
    ndpar_pool_free(p);
  }
  gsl_vector_free(g);
  free_problem(&pb);
  gsl_rng_free(r);
}

Test(grad_errors, bad_arguments_are_rejected_before_any_work) {
  test_quiet_gsl_errors();
  gsl_rng *r = test_rng();
  problem pb = make_problem(r, 4, 3, 5);
  lsq m = {pb.w};
  gsl_vector *g = gsl_vector_alloc(3);
  gsl_vector_set_all(g, 7.0);
  double loss = 7.0;
  size_t errors = 0;
#define REJECT(call, code)                                   \
  do {                                                       \
    cr_assert_eq((call), (code), #call);                     \
    cr_assert_eq(test_gsl_error_count(), ++errors);          \
    cr_assert(gsl_vector_get(g, 0) == 7.0 && loss == 7.0);   \
  } while (0)
  REJECT(ndpar_grad_compute(NULL, pb.xs, pb.ys, 4, NULL, &m, NDPAR_REDUCE_FAST, g, &loss), GSL_EFAULT);
  REJECT(ndpar_grad_compute(NULL, NULL, pb.ys, 4, lsq_grad, &m, NDPAR_REDUCE_FAST, g, &loss), GSL_EFAULT);
  REJECT(ndpar_grad_compute(NULL, pb.xs, pb.ys, 4, lsq_grad, &m, NDPAR_REDUCE_FAST, NULL, &loss), GSL_EFAULT);
  REJECT(ndpar_grad_compute(NULL, pb.xs, pb.ys, 4, lsq_grad, &m, (ndpar_reduce)9, g, &loss), GSL_EINVAL);
  gsl_vector empty = {0, 1, g->data, NULL, 0};
  REJECT(ndpar_grad_compute(NULL, pb.xs, pb.ys, 4, lsq_grad, &m, NDPAR_REDUCE_FAST, &empty, &loss), GSL_EBADLEN);
  const gsl_vector *saved = pb.ys[2];
  gsl_vector *longer = gsl_vector_calloc(saved->size + 1);
  pb.ys[2] = longer;
  REJECT(ndpar_grad_compute(NULL, pb.xs, pb.ys, 4, lsq_grad, &m, NDPAR_REDUCE_FAST, g, &loss), GSL_EBADLEN);
  cr_assert(strstr(test_gsl_last_reason(), "y[2]") != NULL, "%s", test_gsl_last_reason());
  pb.ys[2] = saved;
  gsl_vector_free(longer);
  gsl_matrix norows = *pb.xs[1];
  norows.size1 = 0;
  const gsl_matrix *saved_x = pb.xs[1];
  pb.xs[1] = &norows;
  REJECT(ndpar_grad_compute(NULL, pb.xs, pb.ys, 4, lsq_grad, &m, NDPAR_REDUCE_FAST, g, &loss), GSL_EINVAL);
  cr_assert(strstr(test_gsl_last_reason(), "batch 1") != NULL, "%s", test_gsl_last_reason());
  pb.xs[1] = saved_x;
  pb.ys[0] = NULL;
  REJECT(ndpar_grad_compute(NULL, pb.xs, pb.ys, 4, lsq_grad, &m, NDPAR_REDUCE_DETERMINISTIC, g, &loss), GSL_EFAULT);
  /* n = 0 is a no-op (the API's convention): success, outputs untouched, arrays unread */
  size_t failed = 99;
  cr_assert_eq(ndpar_grad_compute_ex(NULL, NULL, NULL, 0, lsq_grad, &m, NDPAR_REDUCE_FAST, g,
                                     &loss, &failed), GSL_SUCCESS);
  cr_assert(failed == 0 && gsl_vector_get(g, 0) == 7.0 && loss == 7.0);
  cr_assert_eq(test_gsl_error_count(), errors);
  gsl_vector_free(g);
  free_problem(&pb);
  gsl_rng_free(r);
}

/* ---- workspace ---- */

/* lsq_grad without allocating: r_i = x_i w - y_i; grad = 2/rows sum r_i x_i. */
static int lsq_grad_inplace(const gsl_matrix *x, const gsl_vector *y, gsl_vector *grad,
                            double *loss, const ndpar_task *t, void *ctx) {
  (void)t;
  const lsq *m = ctx;
  double rows = (double)x->size1, rr = 0;
  gsl_vector_set_zero(grad);
  for (size_t i = 0; i < x->size1; i++) {
    double ri = -gsl_vector_get(y, i);
    for (size_t j = 0; j < x->size2; j++) ri += gsl_matrix_get(x, i, j) * gsl_vector_get(m->w, j);
    rr += ri * ri;
    for (size_t j = 0; j < x->size2; j++)
      gsl_vector_set(grad, j, gsl_vector_get(grad, j) + 2.0 / rows * ri * gsl_matrix_get(x, i, j));
  }
  *loss = rr / rows;
  return GSL_SUCCESS;
}

Test(grad_workspace, same_result_as_the_allocating_form_at_1_to_3_threads) {
  gsl_rng *r = test_rng();
  size_t sizes[] = {1, 2, 3, 4, 1025, 3000};
  for (size_t threads = 1; threads <= 3; threads++) {
    ndpar_pool *p = test_pool_of(threads);
    for (size_t k = 0; k < 6; k++) {
      size_t P = 1 + gsl_rng_uniform_int(r, 12);
      problem pb = make_problem(r, sizes[k], P, 9);
      lsq m = {pb.w};
      ndpar_grad_workspace *w = ndpar_grad_workspace_alloc(p, pb.n, P);
      cr_assert_not_null(w);
      gsl_vector *ref = gsl_vector_alloc(P), *got = gsl_vector_alloc(P);
      for (int step = 0; step < 3; step++) /* the workspace is reused: every step the same */
        for (int mode = 0; mode < 2; mode++) {
          double ref_loss, loss;
          size_t failed = 0;
          cr_assert_eq(ndpar_grad_compute(p, pb.xs, pb.ys, pb.n, lsq_grad, &m, (ndpar_reduce)mode,
                                          ref, &ref_loss), GSL_SUCCESS);
          cr_assert_eq(ndpar_grad_compute_ws(w, pb.xs, pb.ys, pb.n, lsq_grad, &m, (ndpar_reduce)mode,
                                             got, &loss, &failed), GSL_SUCCESS);
          cr_assert_eq(failed, pb.n);
          if (mode == NDPAR_REDUCE_DETERMINISTIC) { /* bit for bit */
            cr_assert(memcmp(got->data, ref->data, P * sizeof(double)) == 0,
                      "n=%zu threads=%zu", pb.n, threads);
            cr_assert(memcmp(&loss, &ref_loss, sizeof loss) == 0);
          } else { /* fast: the rounding follows the schedule, in either form */
            assert_close(got, ref, 1e-12, "fast, workspace");
            cr_assert(fabs(loss - ref_loss) <= 1e-12 * ref_loss);
          }
        }
      gsl_vector_free(ref);
      gsl_vector_free(got);
      ndpar_grad_workspace_free(w);
      free_problem(&pb);
    }
    ndpar_pool_free(p);
  }
  gsl_rng_free(r);
}

Test(grad_workspace, sizes_not_the_workspace_are_rejected_with_outputs_untouched) {
  test_quiet_gsl_errors();
  gsl_rng *r = test_rng();
  problem pb = make_problem(r, 5, 3, 4);
  lsq m = {pb.w};
  ndpar_grad_workspace *w = ndpar_grad_workspace_alloc(NULL, 5, 3);
  gsl_vector *g = gsl_vector_alloc(3), *g4 = gsl_vector_alloc(4);
  gsl_vector_set_all(g, 7.0);
  gsl_vector_set_all(g4, 7.0);
  double loss = 7.0;
  size_t failed = 99, errors = test_gsl_error_count();
  cr_assert_eq(ndpar_grad_compute_ws(w, pb.xs, pb.ys, 4, lsq_grad, &m, NDPAR_REDUCE_FAST, g,
                                     &loss, &failed), GSL_EBADLEN);
  cr_assert(strstr(test_gsl_last_reason(), "n is 4") != NULL, "%s", test_gsl_last_reason());
  cr_assert_eq(ndpar_grad_compute_ws(w, pb.xs, pb.ys, 5, lsq_grad, &m, NDPAR_REDUCE_FAST, g4,
                                     &loss, &failed), GSL_EBADLEN);
  cr_assert(strstr(test_gsl_last_reason(), "grad has length 4") != NULL, "%s", test_gsl_last_reason());
  cr_assert_eq(ndpar_grad_compute_ws(NULL, pb.xs, pb.ys, 5, lsq_grad, &m, NDPAR_REDUCE_FAST, g,
                                     &loss, &failed), GSL_EFAULT);
  cr_assert_eq(test_gsl_error_count(), errors + 3);
  cr_assert(gsl_vector_get(g, 0) == 7.0 && gsl_vector_get(g4, 0) == 7.0 && loss == 7.0 && failed == 99);
  cr_assert_null(ndpar_grad_workspace_alloc(NULL, 0, 3));
  cr_assert_null(ndpar_grad_workspace_alloc(NULL, 5, 0));
  ndpar_grad_workspace_free(NULL);
  gsl_vector_free(g);
  gsl_vector_free(g4);
  ndpar_grad_workspace_free(w);
  free_problem(&pb);
  gsl_rng_free(r);
}

Test(grad_workspace, a_step_allocates_nothing) {
  if (!test_alloc_counting()) cr_skip_test("allocation counting is unavailable under a sanitizer");
  gsl_rng *r = test_rng();
  for (size_t threads = 1; threads <= 3; threads++) {
    ndpar_pool *p = test_pool_of(threads);
    problem pb = make_problem(r, 1200, 10000, 3); /* P above the parallel-fold threshold */
    lsq m = {pb.w};
    ndpar_grad_workspace *w = ndpar_grad_workspace_alloc(p, pb.n, 10000);
    gsl_vector *g = gsl_vector_alloc(10000);
    double loss;
    for (int mode = 0; mode < 2; mode++) {
      size_t before = test_alloc_count();
      for (int step = 0; step < 3; step++)
        cr_assert_eq(ndpar_grad_compute_ws(w, pb.xs, pb.ys, pb.n, lsq_grad_inplace, &m,
                                           (ndpar_reduce)mode, g, &loss, NULL), GSL_SUCCESS);
      size_t after = test_alloc_count();
      cr_assert_eq(after, before, "mode %d, %zu threads: %zu allocations", mode, threads, after - before);
      /* the counter does count: the allocating form shows up */
      cr_assert_eq(ndpar_grad_compute(p, pb.xs, pb.ys, pb.n, lsq_grad_inplace, &m,
                                      (ndpar_reduce)mode, g, &loss), GSL_SUCCESS);
      cr_assert(test_alloc_count() > after);
    }
    gsl_vector_free(g);
    ndpar_grad_workspace_free(w);
    free_problem(&pb);
    ndpar_pool_free(p);
  }
  gsl_rng_free(r);
}

/* ---- aggregate ---- */

Test(grad_aggregate, weighted_mean_against_a_direct_loop) {
  gsl_rng *r = test_rng();
  size_t Ps[] = {1, 17, 20000}; /* 20000: the parallel path */
  for (size_t k = 0; k < 3; k++) {
    size_t P = Ps[k], n = 1 + gsl_rng_uniform_int(r, 9);
    gsl_vector **g = malloc(n * sizeof *g);
    double *w = malloc(n * sizeof *w), *w10 = malloc(n * sizeof *w10), wsum = 0;
    for (size_t i = 0; i < n; i++) {
      g[i] = gsl_vector_alloc(P);
      for (size_t j = 0; j < P; j++) gsl_vector_set(g[i], j, gsl_ran_gaussian(r, 1.0));
      w[i] = gsl_rng_uniform(r) + (i == 0);
      w10[i] = 10 * w[i];
      wsum += w[i];
    }
    gsl_vector *out = gsl_vector_alloc(P), *scaled = gsl_vector_alloc(P), *plain = gsl_vector_alloc(P);
    cr_assert_eq(ndpar_grad_aggregate(NULL, (const gsl_vector *const *)g, w, n, out), GSL_SUCCESS);
    cr_assert_eq(ndpar_grad_aggregate(NULL, (const gsl_vector *const *)g, w10, n, scaled), GSL_SUCCESS);
    cr_assert_eq(ndpar_grad_aggregate(NULL, (const gsl_vector *const *)g, NULL, n, plain), GSL_SUCCESS);
    for (size_t j = 0; j < P; j++) {
      double acc = 0, mean = 0;
      for (size_t i = 0; i < n; i++) {
        acc += w[i] * gsl_vector_get(g[i], j);
        mean += gsl_vector_get(g[i], j);
      }
      cr_assert_eq(gsl_vector_get(out, j), acc / wsum, "entry %zu", j);
      cr_assert(fabs(gsl_vector_get(scaled, j) - acc / wsum) <= 1e-12 * (fabs(acc / wsum) + 1),
                "invariant to scaling the weights");
      cr_assert_eq(gsl_vector_get(plain, j), mean / (double)n);
    }
    for (size_t i = 0; i < n; i++) gsl_vector_free(g[i]);
    free(g);
    free(w);
    free(w10);
    gsl_vector_free(out);
    gsl_vector_free(scaled);
    gsl_vector_free(plain);
  }
  gsl_rng_free(r);
}

Test(grad_aggregate, bad_weights_and_shapes) {
  test_quiet_gsl_errors();
  gsl_vector *a = gsl_vector_calloc(3), *b = gsl_vector_calloc(3), *c4 = gsl_vector_calloc(4);
  gsl_vector *out = gsl_vector_alloc(3);
  gsl_vector_set_all(out, 7.0);
  const gsl_vector *g[] = {a, b}, *bad[] = {a, c4}, *null_entry[] = {a, NULL};
  double neg[] = {1, -1}, zero[] = {0, 0}, nan_w[] = {1, NAN};
  cr_assert_eq(ndpar_grad_aggregate(NULL, g, neg, 2, out), GSL_EINVAL);
  cr_assert(strstr(test_gsl_last_reason(), "weights[1]") != NULL);
  cr_assert_eq(ndpar_grad_aggregate(NULL, g, zero, 2, out), GSL_EINVAL);
  cr_assert_eq(ndpar_grad_aggregate(NULL, g, nan_w, 2, out), GSL_EDOM);
  cr_assert_eq(ndpar_grad_aggregate(NULL, bad, NULL, 2, out), GSL_EBADLEN);
  cr_assert(strstr(test_gsl_last_reason(), "grads[1]") != NULL);
  cr_assert_eq(ndpar_grad_aggregate(NULL, null_entry, NULL, 2, out), GSL_EFAULT);
  cr_assert_eq(ndpar_grad_aggregate(NULL, NULL, NULL, 0, out), GSL_SUCCESS, "n = 0: a no-op");
  cr_assert_eq(ndpar_grad_aggregate(NULL, NULL, NULL, 2, out), GSL_EFAULT);
  cr_assert_eq(test_gsl_error_count(), 6);
  for (size_t j = 0; j < 3; j++) cr_assert_eq(gsl_vector_get(out, j), 7.0, "out untouched");
  gsl_vector_free(a);
  gsl_vector_free(b);
  gsl_vector_free(c4);
  gsl_vector_free(out);
}

/* ---- the training example ---- */

Test(grad_training, sgd_loss_falls_and_weights_match_across_thread_counts) {
  gsl_matrix *x, *y;
  char err[512];
  cr_assert_eq(wl_default_windows(NULL, 24, 1, &x, &y, err, sizeof err), GSL_SUCCESS, "%s", err);
  gsl_vector *target = gsl_vector_alloc(y->size1);
  gsl_matrix_get_col(target, y, 0);
  size_t steps = 60;
  double losses[60];
  gsl_vector *theta1 = NULL;
  for (size_t threads = 1; threads <= 3; threads++) {
    wl_mlp *m = wl_mlp_alloc(24, 16, 1);
    wl_mlp_init(m, 7);
    ndpar_pool *p = test_pool_of(threads);
    cr_assert_eq(wl_sgd_train(p, m, x, target, 512, 8, steps, 0.05, NDPAR_REDUCE_DETERMINISTIC,
                              losses), GSL_SUCCESS);
    double first = (losses[0] + losses[1] + losses[2]) / 3, last = (losses[57] + losses[58] + losses[59]) / 3;
    cr_assert(last < 0.5 * first, "loss fell from %g to %g only", first, last);
    if (threads == 1) {
      theta1 = gsl_vector_alloc(m->theta->size);
      gsl_vector_memcpy(theta1, m->theta);
    } else {
      cr_assert(memcmp(theta1->data, m->theta->data, theta1->size * sizeof(double)) == 0,
                "weights after training differ at %zu threads", threads);
    }
    ndpar_pool_free(p);
    wl_mlp_free(m);
  }
  gsl_vector_free(theta1);
  gsl_vector_free(target);
  gsl_matrix_free(x);
  gsl_matrix_free(y);
}

Test(grad_training, sgd_steps_allocate_nothing) {
  if (!test_alloc_counting()) cr_skip_test("allocation counting is unavailable under a sanitizer");
  gsl_matrix *x, *y;
  char err[512];
  cr_assert_eq(wl_default_windows(NULL, 24, 1, &x, &y, err, sizeof err), GSL_SUCCESS, "%s", err);
  gsl_vector *target = gsl_vector_alloc(y->size1);
  gsl_matrix_get_col(target, y, 0);
  wl_mlp *m = wl_mlp_alloc(24, 16, 1);
  wl_mlp_init(m, 7);
  /* One thread: every task runs on the caller, whose per-thread scratch the first call sizes
   * (with workers, one that first gets a task late would size its own then). */
  ndpar_pool *p = test_pool_of(1);
  cr_assert_eq(wl_sgd_train(p, m, x, target, 512, 8, 2, 0.05, NDPAR_REDUCE_DETERMINISTIC, NULL),
               GSL_SUCCESS);
  size_t count[2];
  size_t steps[2] = {2, 50};
  for (int k = 0; k < 2; k++) {
    size_t before = test_alloc_count();
    cr_assert_eq(wl_sgd_train(p, m, x, target, 512, 8, steps[k], 0.05,
                              NDPAR_REDUCE_DETERMINISTIC, NULL), GSL_SUCCESS);
    count[k] = test_alloc_count() - before;
  }
  /* the set-up allocates; the steps add nothing */
  cr_assert_eq(count[1], count[0], "2 steps: %zu allocations, 50 steps: %zu", count[0], count[1]);
  ndpar_pool_free(p);
  wl_mlp_free(m);
  gsl_vector_free(target);
  gsl_matrix_free(x);
  gsl_matrix_free(y);
}

/* ---- the argument convention (docs/API.md) ---- */

static problem conv_pb;
static gsl_vector *conv_g;
static int conv_cb(const gsl_matrix *x, const gsl_vector *y, gsl_vector *grad, double *loss,
                   const ndpar_task *t, void *ctx) {
  (void)x, (void)y, (void)t, (void)ctx;
  gsl_vector_set_all(grad, 1.0);
  *loss = 0;
  return GSL_SUCCESS;
}
static int conv_null_f(size_t *f) {
  return ndpar_grad_compute_ex(NULL, conv_pb.xs, conv_pb.ys, 3, NULL, NULL, NDPAR_REDUCE_FAST, conv_g, NULL, f);
}
static int conv_null_x(size_t *f) {
  return ndpar_grad_compute_ex(NULL, NULL, conv_pb.ys, 3, conv_cb, NULL, NDPAR_REDUCE_FAST, conv_g, NULL, f);
}
static int conv_null_grad(size_t *f) {
  return ndpar_grad_compute_ex(NULL, conv_pb.xs, conv_pb.ys, 3, conv_cb, NULL, NDPAR_REDUCE_FAST, NULL, NULL, f);
}
static int conv_n0(size_t *f) {
  return ndpar_grad_compute_ex(NULL, NULL, NULL, 0, conv_cb, NULL, NDPAR_REDUCE_DETERMINISTIC, conv_g, NULL, f);
}
static int conv_done(size_t *f) {
  return ndpar_grad_compute_ex(NULL, conv_pb.xs, conv_pb.ys, 3, conv_cb, NULL, NDPAR_REDUCE_FAST, conv_g, NULL, f);
}
static int conv_ws_null(size_t *f) {
  return ndpar_grad_compute_ws(NULL, conv_pb.xs, conv_pb.ys, 3, conv_cb, NULL, NDPAR_REDUCE_FAST, conv_g, NULL, f);
}
static int conv_agg_null_out(size_t *f) {
  (void)f;
  return ndpar_grad_aggregate(NULL, (const gsl_vector *const *)&conv_g, NULL, 1, NULL);
}
static int conv_agg_n0(size_t *f) {
  (void)f;
  return ndpar_grad_aggregate(NULL, NULL, NULL, 0, conv_g);
}

Test(grad_convention, null_pointers_n0_and_failed_as_the_api_says) {
  gsl_rng *r = test_rng();
  conv_pb = make_problem(r, 3, 2, 4);
  conv_g = gsl_vector_alloc(2);
  const test_convention_row rows[] = {
      {"compute_ex, f NULL", conv_null_f, GSL_EFAULT, 0},
      {"compute_ex, x NULL", conv_null_x, GSL_EFAULT, 0},
      {"compute_ex, grad NULL", conv_null_grad, GSL_EFAULT, 0},
      {"compute_ex, n = 0, arrays NULL", conv_n0, GSL_SUCCESS, 0},
      {"compute_ex, success", conv_done, GSL_SUCCESS, 3},
      {"compute_ws, w NULL", conv_ws_null, GSL_EFAULT, 0},
      {"aggregate, out NULL", conv_agg_null_out, GSL_EFAULT, 0},
      {"aggregate, n = 0, grads NULL", conv_agg_n0, GSL_SUCCESS, TEST_UNTOUCHED},
  };
  test_convention_table(rows, sizeof rows / sizeof rows[0]);
  gsl_vector_free(conv_g);
  free_problem(&conv_pb);
  gsl_rng_free(r);
}

/* ---- finite extremes ---- */

Test(grad_aggregate, weights_and_gradients_near_dbl_max_give_the_finite_mean) {
  gsl_rng *r = test_rng();
  size_t Ps[] = {5, 20000}, n = 4;
  for (size_t k = 0; k < 2; k++) {
    size_t P = Ps[k];
    gsl_vector *g[4], *g_big[4];
    double w[4], w_huge[4], w_tiny[4];
    for (size_t i = 0; i < n; i++) {
      g[i] = gsl_vector_alloc(P);
      g_big[i] = gsl_vector_alloc(P);
      for (size_t j = 0; j < P; j++) {
        gsl_vector_set(g[i], j, gsl_ran_gaussian(r, 1.0));
        gsl_vector_set(g_big[i], j, DBL_MAX * (0.5 + 0.5 * gsl_rng_uniform(r)));
      }
      w[i] = 0.25 + gsl_rng_uniform(r);
      w_huge[i] = 1e308 * w[i] / 1.25; /* the sum of these overflows */
      w_tiny[i] = 1e-310 * w[i];        /* subnormal weights */
    }
    const gsl_vector *const *cg = (const gsl_vector *const *)g, *const *cb = (const gsl_vector *const *)g_big;
    gsl_vector *ref = gsl_vector_alloc(P), *out = gsl_vector_alloc(P);
    cr_assert_eq(ndpar_grad_aggregate(NULL, cg, w, n, ref), GSL_SUCCESS);
    double *ws[] = {w_huge, w_tiny};
    for (int s = 0; s < 2; s++) {
      cr_assert_eq(ndpar_grad_aggregate(NULL, cg, ws[s], n, out), GSL_SUCCESS);
      for (size_t j = 0; j < P; j++)
        cr_assert(fabs(gsl_vector_get(out, j) - gsl_vector_get(ref, j)) <= 1e-13 * (fabs(gsl_vector_get(ref, j)) + 1),
                  "weights %d entry %zu: %.17g vs %.17g", s, j, gsl_vector_get(out, j), gsl_vector_get(ref, j));
    }
    /* gradients near DBL_MAX: the sum overflows, the mean does not */
    double *wlist[] = {NULL, w, w_huge};
    for (int s = 0; s < 3; s++) {
      cr_assert_eq(ndpar_grad_aggregate(NULL, cb, wlist[s], n, out), GSL_SUCCESS);
      for (size_t j = 0; j < P; j++) {
        long double acc = 0, ws_sum = 0;
        for (size_t i = 0; i < n; i++) {
          long double wi = wlist[s] ? wlist[s][i] : 1;
          acc += wi * gsl_vector_get(g_big[i], j);
          ws_sum += wi;
        }
        double want = (double)(acc / ws_sum), got = gsl_vector_get(out, j);
        cr_assert(isfinite(got) && fabs(got - want) <= 1e-14 * want, "weights %d entry %zu: %.17g vs %.17g", s, j, got, want);
      }
    }
    for (size_t i = 0; i < n; i++) {
      gsl_vector_free(g[i]);
      gsl_vector_free(g_big[i]);
    }
    gsl_vector_free(ref);
    gsl_vector_free(out);
  }
  gsl_rng_free(r);
}

/* Batches whose mean gradients (and losses) are near DBL_MAX: rows x gradient overflowed
 * and the mean came out +-Inf (issue 28). The terms weigh rows x 2^-e now, so the sums stay
 * finite: the mean is the row-weighted mean of the batches' gradients (long double
 * reference, values scaled by 2^-1000 so that it cannot overflow), in both modes, at any
 * thread count; 1, 2, 3 and 1000-row batches. */
typedef struct {
  const double *g; /* per batch: P gradient entries */
  const double *loss;
  size_t P;
} fixed_grads;

static int fixed_grad(const gsl_matrix *x, const gsl_vector *y, gsl_vector *grad, double *loss,
                      const ndpar_task *t, void *ctx) {
  (void)x, (void)y;
  const fixed_grads *f = ctx;
  for (size_t j = 0; j < f->P; j++) gsl_vector_set(grad, j, f->g[t->index * f->P + j]);
  *loss = f->loss[t->index];
  return GSL_SUCCESS;
}

Test(grad_compute, gradients_near_dbl_max_give_the_finite_mean) {
  gsl_rng *r = test_rng();
  enum { NB = 7, PP = 5 };
  size_t rows[NB] = {1, 2, 3, 1000, 2, 1, 3};
  double g[NB * PP], loss[NB];
  gsl_matrix *xs[NB];
  gsl_vector *ys[NB];
  for (size_t i = 0; i < NB; i++) {
    xs[i] = gsl_matrix_calloc(rows[i], 1);
    ys[i] = gsl_vector_calloc(rows[i]);
    loss[i] = DBL_MAX * (0.9 + 0.1 * gsl_rng_uniform(r));
    for (size_t j = 0; j < PP; j++) /* entry 0 all +, 1 all -, the others mixed */
      g[i * PP + j] = DBL_MAX * (0.5 + 0.5 * gsl_rng_uniform(r)) * (j == 0 ? 1 : j == 1 ? -1 : (i % 2 ? -1 : 1));
  }
  fixed_grads f = {g, loss, PP};
  double want[PP + 1];
  for (size_t j = 0; j <= PP; j++) {
    long double acc = 0, n = 0;
    for (size_t i = 0; i < NB; i++) {
      long double v = ldexpl(j < PP ? g[i * PP + j] : loss[i], -1000);
      acc += (long double)rows[i] * v;
      n += (long double)rows[i];
    }
    want[j] = ldexp((double)(acc / n), 1000);
  }
  gsl_vector *out = gsl_vector_alloc(PP);
  for (size_t threads = 1; threads <= 3; threads++)
    for (int mode = 0; mode < 2; mode++) {
      ndpar_pool *p = test_pool_of(threads);
      double l = 0;
      ndpar_reduce m = mode ? NDPAR_REDUCE_DETERMINISTIC : NDPAR_REDUCE_FAST;
      cr_assert_eq(ndpar_grad_compute(p, (const gsl_matrix *const *)xs, (const gsl_vector *const *)ys, NB,
                                      fixed_grad, &f, m, out, &l), GSL_SUCCESS);
      for (size_t j = 0; j < PP; j++) {
        double got = gsl_vector_get(out, j);
        cr_assert(isfinite(got) && fabs(got - want[j]) <= 1e-13 * fabs(want[j]) + 1e-13 * DBL_MAX * 1e-3,
                  "mode %d threads %zu entry %zu: %.17g vs %.17g", mode, threads, j, got, want[j]);
      }
      cr_assert(isfinite(l) && fabs(l - want[PP]) <= 1e-13 * want[PP], "loss %.17g vs %.17g", l, want[PP]);
      ndpar_pool_free(p);
    }
  gsl_vector_free(out);
  for (size_t i = 0; i < NB; i++) gsl_matrix_free(xs[i]), gsl_vector_free(ys[i]);
  gsl_rng_free(r);
}
