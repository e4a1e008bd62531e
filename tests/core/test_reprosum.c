/* Reproducible sums: the same bits in any order and any split into merged parts, exact
 * where the exact sum is representable, within the documented bound elsewhere, and IEEE's
 * answers for infinities and NaN. */
#include <criterion/criterion.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ndpar_internal.h"
#include "test_util.h"

static double sum_in_order(const double *x, size_t n) {
  ndpar_rsum s;
  ndpar_rsum_init(&s, 1);
  for (size_t i = 0; i < n; i++) ndpar_rsum_add(&s, x[i]);
  return ndpar_rsum_value(&s);
}

/* x cut at random points into parts, each summed alone, the parts merged in random order. */
static double sum_in_parts(const double *x, size_t n, gsl_rng *r) {
  size_t parts = 1 + gsl_rng_uniform_int(r, 8);
  ndpar_rsum *p = malloc(parts * sizeof *p), total;
  ndpar_rsum_init(p, parts);
  ndpar_rsum_init(&total, 1);
  for (size_t i = 0; i < n; i++) ndpar_rsum_add(&p[gsl_rng_uniform_int(r, parts)], x[i]);
  size_t *order = malloc(parts * sizeof *order);
  for (size_t i = 0; i < parts; i++) order[i] = i;
  gsl_ran_shuffle(r, order, parts, sizeof *order);
  for (size_t i = 0; i < parts; i++) ndpar_rsum_merge(&total, &p[order[i]]);
  free(order);
  free(p);
  return ndpar_rsum_value(&total);
}

static int same_bits(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

/* Values over a wide range of exponents and both signs. */
static void wide_values(gsl_rng *r, double *x, size_t n, int emin, int emax) {
  for (size_t i = 0; i < n; i++) {
    int e = emin + (int)gsl_rng_uniform_int(r, (unsigned long)(emax - emin + 1));
    x[i] = ldexp(gsl_rng_uniform(r) + 0.5, e) * (gsl_rng_uniform(r) < 0.5 ? -1 : 1);
  }
}

Test(reprosum, any_order_and_split_gives_the_same_bits) {
  gsl_rng *r = test_rng();
  size_t sizes[] = {0, 1, 2, 3, 1000, 5000};
  int ranges[][2] = {{-3, 3}, {-60, 60}, {-1074, -1000}, {900, 1020}, {-1074, 1020}};
  for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++)
    for (size_t g = 0; g < sizeof ranges / sizeof *ranges; g++) {
      size_t n = sizes[s];
      double *x = malloc((n ? n : 1) * sizeof *x);
      wide_values(r, x, n, ranges[g][0], ranges[g][1]);
      double ref = sum_in_order(x, n);
      for (int trial = 0; trial < 5; trial++) {
        if (n > 1) gsl_ran_shuffle(r, x, n, sizeof *x);
        cr_assert(same_bits(sum_in_order(x, n), ref), "n=%zu range %d: shuffled", n, g);
        cr_assert(same_bits(sum_in_parts(x, n, r), ref), "n=%zu range %d: split", n, g);
      }
      free(x);
    }
  gsl_rng_free(r);
}

/* Integers times a power of two whose exact sum fits in 53 bits: the sum is exact. */
Test(reprosum, exact_where_the_sum_is_representable) {
  gsl_rng *r = test_rng();
  int scales[] = {-1074, -1040, -500, 0, 300, 900};
  for (size_t k = 0; k < sizeof scales / sizeof *scales; k++) {
    double exact = 0, x[1000];
    for (size_t i = 0; i < 1000; i++) {
      x[i] = ldexp(floor(gsl_rng_uniform(r) * 0x1p40) - 0x1p39, scales[k]);
      exact += x[i]; /* exact: every partial sum fits in 50 bits times the scale */
    }
    cr_assert(same_bits(sum_in_order(x, 1000), exact), "scale 2^%d", scales[k]);
  }
  gsl_rng_free(r);
}

/* Where the sum cancels, the error stays below n max|x| 2^-79. */
Test(reprosum, error_bound_under_cancellation) {
  gsl_rng *r = test_rng();
  enum { N = 2000 };
  double x[N];
  for (size_t i = 0; i < N / 2; i++) {
    x[i] = gsl_ran_gaussian(r, 1e10);
    x[N / 2 + i] = -x[i] + ldexp(gsl_rng_uniform(r), -20); /* leaves small terms */
  }
  long double exact = 0; /* the pairs first, each exact, then the small rests */
  for (size_t i = 0; i < N / 2; i++) exact += (long double)x[i] + (long double)x[N / 2 + i];
  double got = sum_in_order(x, N), maxabs = 0;
  for (size_t i = 0; i < N; i++) maxabs = fmax(maxabs, fabs(x[i]));
  cr_assert(fabsl((long double)got - exact) <= N * maxabs * 0x1p-79 + fabsl(exact) * 0x1p-52,
            "got %.17g, exact %.17Lg", got, exact);
  gsl_rng_free(r);
}

Test(reprosum, extremes) {
  double big[] = {1e308, 1e308};
  cr_assert(isinf(sum_in_order(big, 2)) && sum_in_order(big, 2) > 0, "overflow is +Inf");
  double one[] = {1e308};
  cr_assert_eq(sum_in_order(one, 1), 1e308);
  double neg[] = {-1e308, 1e308, -DBL_MAX};
  cr_assert_eq(sum_in_order(neg, 3), -DBL_MAX);
  double sub[] = {4.9e-324, 4.9e-324, 4.9e-324, DBL_MIN};
  cr_assert_eq(sum_in_order(sub, 4), 3 * 4.9e-324 + DBL_MIN, "subnormals add exactly");
  double inf[] = {1.0, INFINITY, 2.0};
  cr_assert(isinf(sum_in_order(inf, 3)));
  double both[] = {INFINITY, 1.0, -INFINITY};
  cr_assert(isnan(sum_in_order(both, 3)));
  double nan1[] = {NAN, 1.0}, nan2[] = {1.0, -NAN};
  cr_assert(same_bits(sum_in_order(nan1, 2), sum_in_order(nan2, 2)), "one canonical NaN");
  double zeros[] = {0.0, -0.0};
  cr_assert_eq(sum_in_order(zeros, 2), 0.0);
}

/* The vector form adds w * x[i] into s[i]. */
Test(reprosum, scaled_vector_add) {
  double x[3] = {1.5, -2.25, 1e-300};
  ndpar_rsum s[3];
  ndpar_rsum_init(s, 3);
  ndpar_rsum_add_scaled(s, x, 4.0, 3);
  ndpar_rsum_add_scaled(s, x, 4.0, 3);
  for (size_t i = 0; i < 3; i++) cr_assert_eq(ndpar_rsum_value(&s[i]), 8.0 * x[i]);
}

/* set is init then add, bit for bit in every field, over values of every kind. */
Test(reprosum, set_equals_init_then_add) {
  double x[] = {1.5, -2.25, 1e-300, 0x1p-1074, -0.0, 1e308, -1.7976931348623157e308, INFINITY, NAN, 3.0};
  size_t n = sizeof x / sizeof *x;
  ndpar_rsum a[10], b[10];
  ndpar_rsum_init(a, n);
  ndpar_rsum_add_scaled(a, x, 1.0, n);
  memset(b, 0x5a, sizeof b); /* whatever was there */
  ndpar_rsum_set(b, x, n);
  for (size_t i = 0; i < n; i++) {
    cr_assert(memcmp(&a[i], &b[i], sizeof a[i]) == 0, "entry %zu", i);
    ndpar_rsum_add(&a[i], 2.0);
    ndpar_rsum_add(&b[i], 2.0);
    cr_assert(same_bits(ndpar_rsum_value(&a[i]), ndpar_rsum_value(&b[i])), "entry %zu", i);
  }
}

/* ---- blocks of four ---- */

static int same_sum(const ndpar_rsum *a, const ndpar_rsum *b) {
  return memcmp(a->prim, b->prim, sizeof a->prim) == 0 && memcmp(a->carry, b->carry, sizeof a->carry) == 0 &&
         a->index == b->index;
}

/* Values of every kind, mostly the common case (so that whole blocks take the SIMD path),
 * with zeros, subnormals, the ends of the range, infinities and NaN in some blocks. */
static void mixed_values(gsl_rng *r, double *x, size_t n, int rare) {
  static const double odd[] = {0.0, -0.0, 0x1p-1074, -0x1p-1060, 1e308, -1.7976931348623157e308, INFINITY, -INFINITY, NAN, 1e-310};
  wide_values(r, x, n, -60, 60);
  for (size_t i = 0; rare && i < n; i++)
    if (gsl_rng_uniform(r) < 0.02) x[i] = odd[gsl_rng_uniform_int(r, sizeof odd / sizeof *odd)];
    else if (gsl_rng_uniform(r) < 0.02) x[i] = ldexp(x[i], 200); /* raises the window */
}

/* set, add_scaled, merge and values on blocks leave every lane exactly as the scalar
 * operations leave one accumulator, with the SIMD code and without it, at sizes that are
 * and are not multiples of four, common-case data and data with rare cases in it. */
Test(reprosum, blocks_equal_scalar_lane_by_lane) {
  gsl_rng *r = test_rng();
  int had = ndpar_rsumv_simd(-1);
  size_t sizes[] = {1, 3, 4, 5, 64, 1001};
  for (int simd = 0; simd < 2; simd++) {
    ndpar_rsumv_simd(simd);
    for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++)
      for (int rare = 0; rare < 2; rare++) {
        size_t n = sizes[si], nb = ndpar_rsumv_blocks(n);
        double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y), *z = malloc(n * sizeof *z);
        ndpar_rsum *a = malloc(n * sizeof *a), *c = malloc(n * sizeof *c);
        ndpar_rsum_block *b = malloc(nb * sizeof *b), *d = malloc(nb * sizeof *d);
        memset(b, 0x5a, nb * sizeof *b); /* whatever was there */
        mixed_values(r, x, n, rare);
        mixed_values(r, y, n, rare);
        mixed_values(r, z, n, rare);
        ndpar_rsum_set(a, x, n);
        ndpar_rsumv_set(b, x, n);
        ndpar_rsum_add_scaled(a, y, 0.75, n);
        ndpar_rsumv_add_scaled(b, y, 0.75, n);
        ndpar_rsum_set(c, z, n);
        ndpar_rsumv_set(d, z, n);
        ndpar_rsum_add_scaled(c, x, -3.0, n);
        ndpar_rsumv_add_scaled(d, x, -3.0, n);
        for (size_t j = 0; j < n; j++) ndpar_rsum_merge(&a[j], &c[j]);
        ndpar_rsumv_merge(b, d, nb);
        for (size_t j = 0; j < nb * NDPAR_RSUM_LANES; j++) {
          ndpar_rsum lane = ndpar_rsumv_get(b, j);
          if (j < n) cr_assert(same_sum(&lane, &a[j]), "simd %d, n %zu, rare %d: lane %zu", simd, n, rare, j);
          else cr_assert(lane.index == -1, "lane %zu past n %zu is not empty", j, n);
        }
        for (size_t k = 0; k < nb; k++) {
          double v[NDPAR_RSUM_LANES];
          ndpar_rsumv_values(&b[k], v);
          for (size_t l = 0; l < NDPAR_RSUM_LANES && k * NDPAR_RSUM_LANES + l < n; l++) {
            size_t j = k * NDPAR_RSUM_LANES + l;
            cr_assert(same_bits(v[l], ndpar_rsum_value(&a[j])), "value of %zu", j);
            cr_assert(same_bits(ndpar_rsumv_value(b, j), ndpar_rsum_value(&a[j])), "element %zu", j);
          }
        }
        free(x), free(y), free(z), free(a), free(c), free(b), free(d);
      }
  }
  ndpar_rsumv_simd(had);
  gsl_rng_free(r);
}

/* set_arrays and add_arrays (m arrays in one pass over the blocks) leave every lane as
 * set or add of the arrays one after another leaves it, with the SIMD code and without,
 * for m = 0..3, common-case data and data with rare cases (which send a block's remaining
 * arrays through the scalar code part-way). */
Test(reprosum, arrays_in_one_pass_equal_one_at_a_time) {
  gsl_rng *r = test_rng();
  int had = ndpar_rsumv_simd(-1);
  size_t sizes[] = {1, 4, 7, 64, 1001};
  for (int simd = 0; simd < 2; simd++) {
    ndpar_rsumv_simd(simd);
    for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++)
      for (int rare = 0; rare < 2; rare++)
        for (size_t m = 0; m <= 3; m++) {
          size_t n = sizes[si], nb = ndpar_rsumv_blocks(n);
          double *x[3];
          for (size_t i = 0; i < 3; i++) {
            x[i] = malloc(n * sizeof *x[i]);
            mixed_values(r, x[i], n, rare);
          }
          ndpar_rsum *a = malloc(n * sizeof *a), *c = malloc(n * sizeof *c);
          ndpar_rsum_block *b = malloc(nb * sizeof *b), *d = malloc(nb * sizeof *d);
          memset(b, 0x5a, nb * sizeof *b); /* whatever was there */
          ndpar_rsum_init(a, n);
          ndpar_rsum_set(c, x[2], n);
          ndpar_rsumv_set(d, x[2], n);
          for (size_t i = 0; i < m; i++) {
            ndpar_rsum_add_scaled(a, x[i], 1.0, n);
            ndpar_rsum_add_scaled(c, x[i], 1.0, n);
          }
          ndpar_rsumv_set_arrays(b, (const double *const *)x, m, n);
          ndpar_rsumv_add_arrays(d, (const double *const *)x, m, n);
          for (size_t j = 0; j < nb * NDPAR_RSUM_LANES; j++) {
            ndpar_rsum lb = ndpar_rsumv_get(b, j), ld = ndpar_rsumv_get(d, j);
            if (j < n) {
              cr_assert(same_sum(&lb, &a[j]), "set: simd %d, n %zu, rare %d, m %zu: lane %zu", simd, n, rare, m, j);
              cr_assert(same_sum(&ld, &c[j]), "add: simd %d, n %zu, rare %d, m %zu: lane %zu", simd, n, rare, m, j);
            } else {
              cr_assert(lb.index == -1 && ld.index == -1, "lane %zu past n %zu is not empty", j, n);
            }
          }
          for (size_t i = 0; i < 3; i++) free(x[i]);
          free(a), free(c), free(b), free(d);
        }
  }
  ndpar_rsumv_simd(had);
  gsl_rng_free(r);
}

/* Many arrays in one pass: the SIMD code renormalises the accumulators once per block
 * (and every 1,024 deposits), not after every deposit; with 6,000 arrays of same-sign
 * values at the top of a bin, each deposit moves a bin's sum by nearly the most it can, so
 * that too few renormalisations would leave the bin's range and change the state. */
Test(reprosum, many_arrays_in_one_pass_equal_one_at_a_time) {
  enum { M = 6000, N = 8 };
  gsl_rng *r = test_rng();
  int had = ndpar_rsumv_simd(-1);
  double x[N];
  static const double *xs[M];
  for (size_t j = 0; j < N; j++) /* biased exponent 40 * 26 - 53: the largest of bin 26 */
    x[j] = ldexp(2.0 - 0x1p-52 * (double)(1 + gsl_rng_uniform_int(r, 1000)), 40 * 26 - 53 - 1023);
  for (size_t i = 0; i < M; i++) xs[i] = x;
  for (int simd = 0; simd < 2; simd++) {
    ndpar_rsumv_simd(simd);
    ndpar_rsum a[N];
    ndpar_rsum_block b[N / NDPAR_RSUM_LANES];
    ndpar_rsum_init(a, N);
    for (size_t i = 0; i < M; i++) ndpar_rsum_add_scaled(a, x, 1.0, N);
    ndpar_rsumv_set_arrays(b, xs, M, N);
    for (size_t j = 0; j < N; j++) {
      ndpar_rsum lane = ndpar_rsumv_get(b, j);
      cr_assert(same_sum(&lane, &a[j]), "simd %d: lane %zu", simd, j);
    }
  }
  ndpar_rsumv_simd(had);
  gsl_rng_free(r);
}

/* The blocked sums keep the reproducibility the scalar ones have: values added into
 * separate block arrays in any split, merged in any order, give the same bits. */
Test(reprosum, blocks_any_split_same_bits) {
  gsl_rng *r = test_rng();
  enum { N = 37, TERMS = 50 };
  size_t nb = ndpar_rsumv_blocks(N);
  double x[TERMS][N];
  for (int t = 0; t < TERMS; t++) mixed_values(r, x[t], N, 0);
  ndpar_rsum_block ref[10], parts[4][10], sum[10];
  ndpar_rsumv_init(ref, N);
  for (int t = 0; t < TERMS; t++) ndpar_rsumv_add_scaled(ref, x[t], 1.0, N);
  for (int trial = 0; trial < 5; trial++) {
    for (int p = 0; p < 4; p++) ndpar_rsumv_init(parts[p], N);
    for (int t = TERMS - 1; t >= 0; t--) ndpar_rsumv_add_scaled(parts[gsl_rng_uniform_int(r, 4)], x[t], 1.0, N);
    ndpar_rsumv_init(sum, N);
    for (int p = 3; p >= 0; p--) ndpar_rsumv_merge(sum, parts[(p + trial) % 4], nb);
    for (size_t j = 0; j < N; j++) cr_assert(same_bits(ndpar_rsumv_value(sum, j), ndpar_rsumv_value(ref, j)), "element %zu", j);
  }
  gsl_rng_free(r);
}

/* Every binade, at its bottom and its top, and the subnormals: set and add on blocks as
 * on scalars (the SIMD code finds each value's bin from its exponent by a multiplication). */
Test(reprosum, blocks_every_binade) {
  enum { N = 2 * 2046 + 4 };
  static double x[N];
  size_t n = 0;
  for (int e = -1022; e <= 1023; e++) {
    x[n++] = ldexp(1.0, e);
    x[n++] = -ldexp(2.0 - 0x1p-52, e);
  }
  x[n++] = 0x1p-1074, x[n++] = -0x1p-1060, x[n++] = 0x1.8p-1030, x[n++] = 3.0;
  int had = ndpar_rsumv_simd(-1);
  for (int simd = 0; simd < 2; simd++) {
    ndpar_rsumv_simd(simd);
    static ndpar_rsum a[N];
    static ndpar_rsum_block b[N / NDPAR_RSUM_LANES + 1];
    ndpar_rsum_set(a, x, n);
    ndpar_rsumv_set(b, x, n);
    for (size_t j = 0; j < n; j++) {
      ndpar_rsum lane = ndpar_rsumv_get(b, j);
      cr_assert(same_sum(&lane, &a[j]), "simd %d: set of %a", simd, x[j]);
    }
    ndpar_rsum_add_scaled(a, x, -0.5, n);
    ndpar_rsumv_add_scaled(b, x, -0.5, n);
    for (size_t j = 0; j < n; j++) {
      ndpar_rsum lane = ndpar_rsumv_get(b, j);
      cr_assert(same_sum(&lane, &a[j]), "simd %d: add of %a", simd, x[j]);
    }
  }
  ndpar_rsumv_simd(had);
}
