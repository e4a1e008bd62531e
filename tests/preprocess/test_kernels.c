/* The column statistics and the transforms at every column count the kernels treat apart
 * (vectors of 8 and of 4 columns, the columns left over), on whole matrices and on views
 * whose rows are longer than their columns, across block and task boundaries: statistics
 * against GSL's two-pass functions and bit for bit at every thread count; the transforms and
 * their inverse bit for bit against the scalar formulas of the fitted parameters; non-finite
 * values found in row order wherever they fall in a task, and skipped when asked. */
#include <criterion/criterion.h>
#include <gsl/gsl_math.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ndpar/ndpar_preprocess.h"
#include "test_util.h"

static const size_t widths[] = {1, 2, 3, 4, 5, 7, 8, 9, 12, 13, 16, 17};
#define NWIDTHS (sizeof widths / sizeof *widths)

/* offset + N(0, j + 1) in column j, in a view of cols columns inside a matrix `extra`
 * columns wider (extra 0: the whole matrix). Free with gsl_matrix_free(view's owner). */
static gsl_matrix *owner_of(gsl_rng *r, size_t rows, size_t cols, size_t extra, double offset,
                            gsl_matrix_view *view) {
  gsl_matrix *m = test_random_matrix(r, rows, cols + extra);
  for (size_t i = 0; i < rows; i++)
    for (size_t j = 0; j < cols + extra; j++)
      gsl_matrix_set(m, i, j, offset + gsl_matrix_get(m, i, j) * (double)(j + 1));
  *view = gsl_matrix_submatrix(m, 0, extra ? 1 : 0, rows, cols);
  return m;
}

typedef struct {
  gsl_vector *mean, *sd, *min, *max;
} colstats;

static colstats colstats_alloc(size_t cols) {
  return (colstats){gsl_vector_alloc(cols), gsl_vector_alloc(cols), gsl_vector_alloc(cols),
                    gsl_vector_alloc(cols)};
}

static void colstats_free(colstats s) {
  gsl_vector_free(s.mean);
  gsl_vector_free(s.sd);
  gsl_vector_free(s.min);
  gsl_vector_free(s.max);
}

static int colstats_equal(colstats a, colstats b, size_t cols) {
  size_t bytes = cols * sizeof(double);
  return !memcmp(a.mean->data, b.mean->data, bytes) && !memcmp(a.sd->data, b.sd->data, bytes) &&
         !memcmp(a.min->data, b.min->data, bytes) && !memcmp(a.max->data, b.max->data, bytes);
}

static void against_gsl(const gsl_matrix *x, colstats s) {
  for (size_t j = 0; j < x->size2; j++) {
    gsl_vector_const_view c = gsl_matrix_const_column(x, j);
    const double *d = c.vector.data;
    size_t st = c.vector.stride, n = c.vector.size;
    double mean = gsl_stats_mean(d, st, n), sd = gsl_stats_sd(d, st, n);
    cr_assert(fabs(gsl_vector_get(s.mean, j) - mean) <= 1e-12 * fabs(mean) + 1e-14,
              "%zu columns: mean %zu %.17g vs %.17g", x->size2, j, gsl_vector_get(s.mean, j), mean);
    cr_assert(fabs(gsl_vector_get(s.sd, j) - sd) <= 1e-12 * sd, "%zu columns: sd %zu %.17g vs %.17g",
              x->size2, j, gsl_vector_get(s.sd, j), sd);
    cr_assert_eq(gsl_vector_get(s.min, j), gsl_stats_min(d, st, n));
    cr_assert_eq(gsl_vector_get(s.max, j), gsl_stats_max(d, st, n));
  }
}

Test(kernels, statistics_at_every_strip_width_against_gsl_and_bit_identical_across_threads) {
  gsl_rng *r = test_rng();
  size_t T = test_max_threads();
  for (size_t w = 0; w < NWIDTHS; w++)
    for (size_t extra = 0; extra <= 3; extra += 3) {
      size_t cols = widths[w];
      /* past several tasks of 65536 values, ending inside a block */
      size_t rows = 3 * 65536 / cols + 2048 / cols / 2 + 1 + gsl_rng_uniform_int(r, 7);
      gsl_matrix_view v;
      gsl_matrix *owner = owner_of(r, rows, cols, extra, 50.0, &v);
      colstats ref = colstats_alloc(cols), got = colstats_alloc(cols);
      for (size_t threads = 1; threads <= T; threads++) {
        ndpar_pool *p = test_pool_of(threads);
        colstats *s = threads == 1 ? &ref : &got;
        cr_assert_eq(ndpar_colstats(p, &v.matrix, 0, s->mean, s->sd, s->min, s->max), GSL_SUCCESS);
        if (threads == 1) against_gsl(&v.matrix, ref);
        else cr_assert(colstats_equal(ref, got, cols), "%zu columns, %zu threads", cols, threads);
        ndpar_pool_free(p);
      }
      colstats_free(ref);
      colstats_free(got);
      gsl_matrix_free(owner);
    }
  gsl_rng_free(r);
}

/* A column's statistics do not depend on where it sits: in a strip of 4 or 8 columns (the
 * AVX2 form, whose second pass of a block runs together with the next block's first) or
 * among the columns left over (the portable loops). Column 0 and the last column swapped
 * give each other's statistics bit for bit, across blocks, tasks and threads. */
Test(kernels, a_column_gives_the_same_bits_in_a_strip_and_left_over) {
  gsl_rng *r = test_rng();
  size_t ws[] = {5, 9, 13, 17};
  for (size_t w = 0; w < sizeof ws / sizeof *ws; w++) {
    size_t cols = ws[w], last = cols - 1;
    size_t rows = 3 * 65536 / cols + 2048 / cols / 2 + 1 + gsl_rng_uniform_int(r, 7);
    gsl_matrix_view v;
    gsl_matrix *owner = owner_of(r, rows, cols, 0, 1e6, &v);
    gsl_matrix *swapped = gsl_matrix_alloc(rows, cols);
    gsl_matrix_memcpy(swapped, &v.matrix);
    gsl_matrix_swap_columns(swapped, 0, last);
    colstats a = colstats_alloc(cols), b = colstats_alloc(cols);
    for (size_t threads = 1; threads <= test_max_threads(); threads++) {
      ndpar_pool *p = test_pool_of(threads);
      cr_assert_eq(ndpar_colstats(p, &v.matrix, 0, a.mean, a.sd, a.min, a.max), GSL_SUCCESS);
      cr_assert_eq(ndpar_colstats(p, swapped, 0, b.mean, b.sd, b.min, b.max), GSL_SUCCESS);
      gsl_vector *sa[] = {a.mean, a.sd, a.min, a.max}, *sb[] = {b.mean, b.sd, b.min, b.max};
      for (int q = 0; q < 4; q++) {
        double a0 = gsl_vector_get(sa[q], 0), al = gsl_vector_get(sa[q], last);
        double b0 = gsl_vector_get(sb[q], 0), bl = gsl_vector_get(sb[q], last);
        cr_assert(memcmp(&a0, &bl, sizeof a0) == 0 && memcmp(&al, &b0, sizeof al) == 0,
                  "%zu columns, %zu threads, statistic %d: %.17g %.17g vs %.17g %.17g", cols, threads, q, a0,
                  al, bl, b0);
      }
      ndpar_pool_free(p);
    }
    colstats_free(a);
    colstats_free(b);
    gsl_matrix_free(swapped);
    gsl_matrix_free(owner);
  }
  gsl_rng_free(r);
}

/* What each kind's transform must give, from the fitted parameters (and MINMAX1's ends):
 * the formulas as a scalar loop evaluates them, two roundings each. */
static double expected_forward(ndpar_scale_kind kind, double x, double center, double scale,
                               double lo, double hi) {
  if (kind == NDPAR_SCALE_MINMAX1) {
    if (x == lo) return -1.0;
    if (x == hi) return 1.0;
    double mul = 2.0 / (hi - lo), y = x * mul;
    return y + (-1.0 - lo * mul);
  }
  double inv = 1.0 / scale;
  return (x - center) * inv;
}

static double expected_inverse(ndpar_scale_kind kind, double y, double center, double scale,
                               double lo, double hi) {
  if (kind == NDPAR_SCALE_MINMAX1 && y == -1.0) return lo;
  if (kind == NDPAR_SCALE_MINMAX1 && y == 1.0) return hi;
  double v = y * scale;
  return v + center;
}

static void transforms_of(gsl_rng *r, ndpar_scale_kind kind, size_t cols, size_t extra) {
  size_t rows = 40000 / cols + 3 + gsl_rng_uniform_int(r, 5);
  gsl_matrix_view v;
  gsl_matrix *owner = owner_of(r, rows, cols, extra, -3.0, &v);
  gsl_matrix *x = &v.matrix, *orig = gsl_matrix_alloc(rows, cols), *fwd = gsl_matrix_alloc(rows, cols);
  gsl_matrix_memcpy(orig, x);
  colstats s = colstats_alloc(cols);
  cr_assert_eq(ndpar_colstats(NULL, x, 0, s.mean, s.sd, s.min, s.max), GSL_SUCCESS);
  ndpar_scaler *sc = ndpar_scaler_alloc(kind, cols);
  const gsl_vector *center, *scale;
  cr_assert_eq(ndpar_scaler_fit(NULL, sc, x), GSL_SUCCESS);
  cr_assert_eq(ndpar_scaler_params(sc, &center, &scale), GSL_SUCCESS);
  cr_assert_eq(ndpar_scaler_transform(NULL, sc, x), GSL_SUCCESS);
  gsl_matrix_memcpy(fwd, x);
  cr_assert_eq(ndpar_scaler_inverse(NULL, sc, x), GSL_SUCCESS);
  for (size_t i = 0; i < rows; i++)
    for (size_t j = 0; j < cols; j++) {
      double c = gsl_vector_get(center, j), k = gsl_vector_get(scale, j);
      double lo = gsl_vector_get(s.min, j), hi = gsl_vector_get(s.max, j);
      double want = expected_forward(kind, gsl_matrix_get(orig, i, j), c, k, lo, hi);
      double got = gsl_matrix_get(fwd, i, j);
      cr_assert(got == want, "kind %d, %zu columns (+%zu), [%zu][%zu]: %.17g vs %.17g", (int)kind,
                cols, extra, i, j, got, want);
      want = expected_inverse(kind, got, c, k, lo, hi);
      cr_assert(gsl_matrix_get(x, i, j) == want, "inverse, kind %d, %zu columns, [%zu][%zu]: %.17g vs %.17g",
                (int)kind, cols, i, j, gsl_matrix_get(x, i, j), want);
    }
  ndpar_scaler_free(sc);
  colstats_free(s);
  gsl_matrix_free(orig);
  gsl_matrix_free(fwd);
  gsl_matrix_free(owner);
}

Test(kernels, transforms_and_inverse_bit_for_bit_as_the_scalar_formulas) {
  gsl_rng *r = test_rng();
  ndpar_scale_kind kinds[] = {NDPAR_SCALE_STANDARD, NDPAR_SCALE_MINMAX, NDPAR_SCALE_MINMAX1,
                              NDPAR_SCALE_MAXABS};
  for (size_t k = 0; k < 4; k++)
    for (size_t w = 0; w < NWIDTHS; w++) {
      transforms_of(r, kinds[k], widths[w], 0);
      transforms_of(r, kinds[k], widths[w], 3);
    }
  gsl_rng_free(r);
}

Test(kernels, the_views_neighbours_are_never_written) {
  gsl_rng *r = test_rng();
  gsl_matrix_view v;
  gsl_matrix *owner = owner_of(r, 20000, 9, 3, 1.0, &v), *copy = gsl_matrix_alloc(20000, 12);
  gsl_matrix_memcpy(copy, owner);
  ndpar_scaler *s = ndpar_scaler_alloc(NDPAR_SCALE_MINMAX1, 9);
  cr_assert_eq(ndpar_scaler_fit(NULL, s, &v.matrix), GSL_SUCCESS);
  cr_assert_eq(ndpar_scaler_transform(NULL, s, &v.matrix), GSL_SUCCESS);
  for (size_t i = 0; i < 20000; i++)
    for (size_t j = 0; j < 12; j++)
      if (j == 0 || j > 9) cr_assert_eq(gsl_matrix_get(owner, i, j), gsl_matrix_get(copy, i, j));
  ndpar_scaler_free(s);
  gsl_matrix_free(owner);
  gsl_matrix_free(copy);
  gsl_rng_free(r);
}

/* 8 columns: blocks of 256 rows, tasks of 8192. */
Test(kernels, nonfinite_found_in_row_order_inside_a_task_or_skipped_when_asked) {
  test_quiet_gsl_errors();
  gsl_rng *r = test_rng();
  size_t rows = 4 * 8192 + 100, cols = 8;
  gsl_matrix *x = test_random_matrix(r, rows, cols);
  size_t bad = 8192 + 3 * 256 + 17 + gsl_rng_uniform_int(r, 200); /* a later block of task 1 */
  gsl_matrix_set(x, bad, 5, -INFINITY);
  gsl_matrix_set(x, bad + 1, 2, NAN);
  gsl_matrix_set(x, 2 * 8192 + 5, 0, INFINITY);
  for (size_t i = 3 * 8192; i < 3 * 8192 + 256; i++) gsl_matrix_set(x, i, 7, NAN); /* a whole block's column */
  for (size_t i = 8192 * 4; i < rows; i++) gsl_matrix_set(x, i, 3, NAN);     /* the last task's column */
  colstats s = colstats_alloc(cols);
  gsl_vector_set_all(s.mean, 7.0);
  for (size_t threads = 1; threads <= 3; threads++) {
    ndpar_pool *p = test_pool_of(threads);
    cr_assert_eq(ndpar_colstats(p, x, 0, s.mean, s.sd, s.min, s.max), GSL_EDOM);
    char expect[64];
    snprintf(expect, sizeof expect, "x[%zu][5]", bad);
    cr_assert(strstr(test_gsl_last_reason(), expect) != NULL, "%s", test_gsl_last_reason());
    cr_assert_eq(gsl_vector_get(s.mean, 0), 7.0, "untouched");
    ndpar_pool_free(p);
  }
  cr_assert_eq(ndpar_colstats(NULL, x, NDPAR_PREPROCESS_IGNORE_NONFINITE, s.mean, s.sd, s.min, s.max),
               GSL_SUCCESS);
  double *col = malloc(rows * sizeof *col);
  for (size_t j = 0; j < cols; j++) {
    size_t n = 0;
    for (size_t i = 0; i < rows; i++)
      if (isfinite(gsl_matrix_get(x, i, j))) col[n++] = gsl_matrix_get(x, i, j);
    double mean = gsl_stats_mean(col, 1, n), sd = gsl_stats_sd(col, 1, n);
    cr_assert(fabs(gsl_vector_get(s.mean, j) - mean) <= 1e-12 * fabs(mean) + 1e-14, "mean %zu", j);
    cr_assert(fabs(gsl_vector_get(s.sd, j) - sd) <= 1e-12 * sd, "sd %zu", j);
    cr_assert_eq(gsl_vector_get(s.min, j), gsl_stats_min(col, 1, n));
    cr_assert_eq(gsl_vector_get(s.max, j), gsl_stats_max(col, 1, n));
  }
  free(col);
  colstats_free(s);
  gsl_matrix_free(x);
  gsl_rng_free(r);
}
