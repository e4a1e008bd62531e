/* reprosum.c: reproducible (order-independent) summation with binned accumulators.
 *
 * The method is Demmel and Nguyen's ("Parallel reproducible summation", IEEE TC 2015;
 * ReproBLAS's indexed sums), written afresh here with two folds. The exponent range is cut
 * into bins of W = 40 bits at fixed places: bin b holds multiples of 2^a_b, a_b =
 * -1074 + 40 b. Every value x has one decomposition into pieces, one per bin, each the
 * rest of x rounded to the bin's multiple (ties away from zero); an accumulator keeps the
 * exact sums of the pieces in the three highest bins any of its values reached (its
 * index I, I - 1, I - 2), and drops what lies below: at least 79 bits below the largest
 * value (two folds would keep as few as 39, less than a double). Because the pieces depend on x alone and are
 * added exactly, the state after any set of additions and merges is the same in whatever
 * order they came: the sum is bit-identical for any number of threads and processes.
 *
 * A bin's sum lives in a double P whose ulp is the bin's unit: P starts at 1.5 * S with
 * S = 2^(a + 52), so P + x rounds x to the bin, and P - (P + x) recovers what was taken,
 * exactly. To make that rounding a function of x alone (not of P's last bit, which
 * round-to-nearest-even would consult at a tie), x's lowest mantissa bit is set first:
 * every value that reaches a bin has that bit far below half the bin's unit, so no value
 * is ever at a tie and exact ties of x round away from zero. After every step P is put
 * back into [1.5 S, 1.75 S) by moving multiples of S / 4 into an integer carry C, so that
 * the state (P, C) is canonical and two accumulators merge by plain exact addition.
 *
 * Values of |x| < 2^(a_b + 39) have their highest piece in bin b or below; one addition
 * moves P by less than S / 2^13, so a single carry step keeps P in range. The top bin's
 * P would overflow (1.5 * 2^(1006 + 52)): it is kept scaled by 2^-80. Bin 0's values are
 * multiples of its unit (subnormals) and are added without the low-bit step.
 *
 * Accuracy: the error is below n * max|x| * 2^-79 (the dropped bins), not relative to the
 * sum: a sum that cancels to far below its largest term keeps only 80 bits of that term.
 * Infinities and NaNs make the sum +Inf, -Inf or NaN (one canonical NaN), as IEEE sums
 * do, whatever the order. */
#include "ndpar_internal.h"

#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

#define BIN_BITS 40
#define FOLDS 3
#define BINS 53          /* a_52 = 1006: the top bin, scaled */
#define SCALED_BIN 52
#define TOP_SCALE 0x1p-80
#define EMPTY (-1)
#define SPECIAL (-2)   /* an Inf or NaN was added: prim[0] holds their IEEE sum */

static double bin_scale(int b) { return b == SCALED_BIN ? TOP_SCALE : 1.0; }
/* S of bin b, scaled: P lives in [S, 2S). S = 2^(a_b + 52) = 2^(-1022 + 40 b), built from
 * its biased exponent 1 + 40 b (the top bin's, 2^978 after scaling, is 2001). */
static double bin_s(int b) {
  uint64_t biased = b == SCALED_BIN ? 2001 : 1 + (uint64_t)BIN_BITS * (uint64_t)b, bits = biased << 52;
  double S;
  memcpy(&S, &bits, sizeof S);
  return S;
}

/* The lowest bin that holds x's highest piece: floor((E + 52) / 40) for the biased
 * exponent E, so that |x| < 2^(a_b + 39). Never below 2 (the last fold then is bin 0). */
static int bin_of(double x) {
  uint64_t bits;
  memcpy(&bits, &x, sizeof bits);
  int b = (int)(((bits >> 52) & 0x7ff) + 52) / BIN_BITS;
  return b < FOLDS - 1 ? FOLDS - 1 : b;
}

/* x with its lowest mantissa bit set; in vector registers (GCC's vector extension), where
 * the additions around it are, instead of a round trip through an integer register. */
typedef double rs_v2df __attribute__((vector_size(16)));
typedef long long rs_v2di __attribute__((vector_size(16)));
static inline double with_low_bit(double x) {
  rs_v2df v = {x, 0};
  rs_v2di bits = (rs_v2di)v | (rs_v2di){1, 0};
  return ((rs_v2df)bits)[0];
}

static void fresh_fold(ndpar_rsum *s, int k, int b) {
  s->prim[k] = 1.5 * bin_s(b);
  s->carry[k] = 0;
}

/* Moves the accumulator's window up to bin `top`: what falls below it is dropped. */
static void raise_index(ndpar_rsum *s, int top) {
  int shift = s->index == EMPTY ? FOLDS : top - (int)s->index;
  for (int k = FOLDS - 1; k >= 0; k--) {
    if (k - shift >= 0) {
      s->prim[k] = s->prim[k - shift];
      s->carry[k] = s->carry[k - shift];
    } else {
      fresh_fold(s, k, top - k);
    }
  }
  s->index = top;
}

/* P back into [1.5 S, 1.75 S): one step suffices after one addition or one merge. */
static inline __attribute__((always_inline)) void renormalise(ndpar_rsum *s, int k, double S) {
  if (s->prim[k] >= 1.75 * S) {
    s->prim[k] -= 0.25 * S;
    s->carry[k] += 1;
  } else if (s->prim[k] < 1.5 * S) {
    s->prim[k] += 0.25 * S;
    s->carry[k] -= 1;
  }
}

static double canonical_nan(double v) { return isnan(v) ? NAN : v; }

static void add_special(ndpar_rsum *s, double x) {
  s->prim[0] = s->index == SPECIAL ? canonical_nan(s->prim[0] + x) : canonical_nan(x);
  s->index = SPECIAL;
}

void ndpar_rsum_init(ndpar_rsum *s, size_t n) {
  for (size_t i = 0; i < n; i++) s[i] = (ndpar_rsum){{0, 0, 0}, {0, 0, 0}, EMPTY};
}

static inline __attribute__((always_inline)) void deposit(ndpar_rsum *s, double x) {
  if (!isfinite(x)) {
    add_special(s, x);
    return;
  }
  if (x == 0 || s->index == SPECIAL) return;
  int b = bin_of(x);
  if (b > s->index) raise_index(s, b);
  int top = (int)s->index;
  if (top < SCALED_BIN && top >= FOLDS) { /* the common case: no scaling, no bin 0 */
    double S = bin_s(top);
    for (int k = 0; k < FOLDS; k++, S *= 0x1p-40) {
      double before = s->prim[k];
      s->prim[k] += with_low_bit(x);
      x += before - s->prim[k]; /* exact: what the bin did not take */
      renormalise(s, k, S);
    }
    return;
  }
  /* Fold k takes the piece of what is left in bin top - k, exactly; the last fold drops
   * the rest. Bin 0 holds exact multiples of its unit already: no low bit there. Only
   * the top bin is scaled (by a power of two: the products are exact). */
  for (int k = 0; k < FOLDS; k++) {
    int bin = top - k;
    double scale = bin_scale(bin), xs = bin == SCALED_BIN ? x * scale : x, before = s->prim[k];
    s->prim[k] += bin == 0 ? xs : with_low_bit(xs);
    xs += before - s->prim[k]; /* exact: what the bin did not take */
    x = bin == SCALED_BIN ? xs * (1 / TOP_SCALE) : xs;
    renormalise(s, k, bin_s(bin));
  }
}

void ndpar_rsum_add(ndpar_rsum *s, double x) { deposit(s, x); }

void ndpar_rsum_add_scaled(ndpar_rsum *s, const double *x, double w, size_t n) {
  for (size_t i = 0; i < n; i++) deposit(&s[i], w * x[i]);
}

void ndpar_rsum_set(ndpar_rsum *s, const double *x, size_t n) {
  for (size_t i = 0; i < n; i++) {
    s[i] = (ndpar_rsum){{0, 0, 0}, {0, 0, 0}, EMPTY};
    deposit(&s[i], x[i]);
  }
}

void ndpar_rsum_merge(ndpar_rsum *into, const ndpar_rsum *from) {
  if (from->index == EMPTY) return;
  if (from->index == SPECIAL) {
    add_special(into, from->prim[0]);
    return;
  }
  if (into->index == SPECIAL) return;
  ndpar_rsum other = *from;
  if (other.index < into->index) raise_index(&other, (int)into->index);
  if (into->index < other.index) raise_index(into, (int)other.index);
  int top = (int)into->index;
  for (int k = 0; k < FOLDS; k++) {
    double S = bin_s(top - k);
    into->prim[k] += other.prim[k] - 1.5 * S; /* both in [1.5 S, 1.75 S): exact */
    into->carry[k] += other.carry[k];
    renormalise(into, k, S);
  }
}

void ndpar_rsum_merge_n(ndpar_rsum *into, const ndpar_rsum *from, size_t n) {
  for (size_t i = 0; i < n; i++) ndpar_rsum_merge(&into[i], &from[i]);
}

double ndpar_rsum_value(const ndpar_rsum *s) {
  if (s->index == EMPTY) return 0.0;
  if (s->index == SPECIAL) return s->prim[0];
  int top = (int)s->index;
  /* In the top bin's scale, so that a sum near DBL_MAX does not overflow early; the
   * folds from the lowest up. */
  double v = 0;
  for (int k = FOLDS - 1; k >= 0; k--) {
    double S = bin_s(top - k);
    v += ((double)s->carry[k] * (0.25 * S) + (s->prim[k] - 1.5 * S)) * (bin_scale(top) / bin_scale(top - k));
  }
  return v / bin_scale(top);
}

/* ---- blocks of four: the same accumulators laid out for SIMD ----
 * Lane l of a block is one ndpar_rsum; every operation gives each lane exactly the state
 * the scalar operation above gives it. With AVX2, four lanes whose case is the common one
 * (finite values in range of the lane's window, the window neither empty nor special nor
 * at the ends of the exponent range) go together; any other lane goes through the scalar
 * code. */

size_t ndpar_rsumv_blocks(size_t n) { return (n + NDPAR_RSUM_LANES - 1) / NDPAR_RSUM_LANES; }

ndpar_rsum ndpar_rsumv_get(const ndpar_rsum_block *b, size_t j) {
  const ndpar_rsum_block *k = &b[j / NDPAR_RSUM_LANES];
  size_t l = j % NDPAR_RSUM_LANES;
  return (ndpar_rsum){{k->prim[0][l], k->prim[1][l], k->prim[2][l]},
                      {k->carry[0][l], k->carry[1][l], k->carry[2][l]},
                      k->index[l]};
}

void ndpar_rsumv_put(ndpar_rsum_block *b, size_t j, const ndpar_rsum *s) {
  ndpar_rsum_block *k = &b[j / NDPAR_RSUM_LANES];
  size_t l = j % NDPAR_RSUM_LANES;
  for (int f = 0; f < FOLDS; f++) {
    k->prim[f][l] = s->prim[f];
    k->carry[f][l] = s->carry[f];
  }
  k->index[l] = s->index;
}

static void lane_deposit(ndpar_rsum_block *b, size_t j, double x) {
  ndpar_rsum s = ndpar_rsumv_get(b, j);
  deposit(&s, x);
  ndpar_rsumv_put(b, j, &s);
}

static void lane_merge(ndpar_rsum_block *into, const ndpar_rsum_block *from, size_t l) {
  ndpar_rsum a = ndpar_rsumv_get(into, l), b = ndpar_rsumv_get(from, l);
  ndpar_rsum_merge(&a, &b);
  ndpar_rsumv_put(into, l, &a);
}

static double lane_value(const ndpar_rsum_block *b, size_t l) {
  ndpar_rsum s = ndpar_rsumv_get(b, l);
  return ndpar_rsum_value(&s);
}

static const ndpar_rsum empty_sum = {{0, 0, 0}, {0, 0, 0}, EMPTY};

void ndpar_rsumv_init(ndpar_rsum_block *b, size_t n) {
  for (size_t j = 0; j < ndpar_rsumv_blocks(n) * NDPAR_RSUM_LANES; j++) ndpar_rsumv_put(b, j, &empty_sum);
}

void ndpar_rsumv_add(ndpar_rsum_block *b, size_t j, double x) { lane_deposit(b, j, x); }

double ndpar_rsumv_value(const ndpar_rsum_block *b, size_t j) {
  return lane_value(&b[j / NDPAR_RSUM_LANES], j % NDPAR_RSUM_LANES);
}

#if defined(__x86_64__) && defined(__GNUC__)

/* S of each lane's fold 0, 2^(-1022 + 40 index), built from the biased exponent. */
NDPAR_AVX2_INLINE __m256d v_bin_s(__m256i index) {
  __m256i forty = _mm256_add_epi64(_mm256_slli_epi64(index, 5), _mm256_slli_epi64(index, 3));
  return _mm256_castsi256_pd(_mm256_slli_epi64(_mm256_add_epi64(forty, _mm256_set1_epi64x(1)), 52));
}

/* The lanes whose window is an ordinary one: FOLDS <= index < SCALED_BIN. */
NDPAR_AVX2_INLINE __m256i v_ordinary(__m256i index) {
  return _mm256_and_si256(_mm256_cmpgt_epi64(index, _mm256_set1_epi64x(FOLDS - 1)),
                          _mm256_cmpgt_epi64(_mm256_set1_epi64x(SCALED_BIN), index));
}

/* A block's lanes in registers. */
typedef struct {
  __m256d prim[FOLDS];
  __m128i carry[FOLDS];
  __m256i index; /* 64-bit lanes */
} v_lanes;

NDPAR_AVX2_INLINE v_lanes v_load(const ndpar_rsum_block *b) {
  v_lanes v;
  for (int k = 0; k < FOLDS; k++) {
    v.prim[k] = _mm256_loadu_pd(b->prim[k]);
    v.carry[k] = _mm_loadu_si128((const __m128i *)b->carry[k]);
  }
  v.index = _mm256_cvtepi32_epi64(_mm_loadu_si128((const __m128i *)b->index));
  return v;
}

/* 64-bit lanes to 32-bit ones (the low halves). */
NDPAR_AVX2_INLINE __m128i v_narrow(__m256i a) {
  return _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(a, _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7)));
}

NDPAR_AVX2_INLINE void v_store(ndpar_rsum_block *b, const v_lanes *v) {
  for (int k = 0; k < FOLDS; k++) {
    _mm256_storeu_pd(b->prim[k], v->prim[k]);
    _mm_storeu_si128((__m128i *)b->carry[k], v->carry[k]);
  }
  _mm_storeu_si128((__m128i *)b->index, v_narrow(v->index));
}

NDPAR_AVX2_INLINE __m256i v_max(__m256i a, __m256i b) {
  return _mm256_blendv_epi8(a, b, _mm256_cmpgt_epi64(b, a));
}

/* raise_index() on four lanes with ordinary windows, to top >= index: fold k takes fold
 * k - s (s = top - index) where there is one, a fresh fold otherwise. */
NDPAR_AVX2_INLINE void v_raise(v_lanes *v, __m256i top) {
  __m256i s = _mm256_sub_epi64(top, v->index);
  __m256i same = _mm256_cmpeq_epi64(s, _mm256_setzero_si256());
  if (_mm256_movemask_pd(_mm256_castsi256_pd(same)) == 0xf) return;
  __m256i by1 = _mm256_cmpeq_epi64(s, _mm256_set1_epi64x(1)), by2 = _mm256_cmpeq_epi64(s, _mm256_set1_epi64x(2));
  __m128i same32 = v_narrow(same), by1_32 = v_narrow(by1), by2_32 = v_narrow(by2);
  __m256d S = v_bin_s(top), prim[FOLDS];
  __m128i carry[FOLDS];
  for (int k = 0; k < FOLDS; k++, S = _mm256_mul_pd(S, _mm256_set1_pd(0x1p-40))) {
    __m256d p = _mm256_mul_pd(S, _mm256_set1_pd(1.5)); /* fresh */
    __m128i c = _mm_setzero_si128();
    if (k >= 1) {
      p = _mm256_blendv_pd(p, v->prim[k - 1], _mm256_castsi256_pd(by1));
      c = _mm_blendv_epi8(c, v->carry[k - 1], by1_32);
    }
    if (k >= 2) {
      p = _mm256_blendv_pd(p, v->prim[k - 2], _mm256_castsi256_pd(by2));
      c = _mm_blendv_epi8(c, v->carry[k - 2], by2_32);
    }
    prim[k] = _mm256_blendv_pd(p, v->prim[k], _mm256_castsi256_pd(same));
    carry[k] = _mm_blendv_epi8(c, v->carry[k], same32);
  }
  for (int k = 0; k < FOLDS; k++) v->prim[k] = prim[k], v->carry[k] = carry[k];
  v->index = top;
}

/* renormalise() on four lanes: P back into [1.5 S, 1.75 S), the step into the carry. */
NDPAR_AVX2_INLINE __m256d v_renorm(__m256d P, __m256d S, __m128i *carry) {
  __m256d q = _mm256_mul_pd(S, _mm256_set1_pd(0.25));
  __m256d ge = _mm256_cmp_pd(P, _mm256_mul_pd(S, _mm256_set1_pd(1.75)), _CMP_GE_OQ);
  __m256d lt = _mm256_cmp_pd(P, _mm256_mul_pd(S, _mm256_set1_pd(1.5)), _CMP_LT_OQ);
  /* the masks are -1 where set: lt - ge is +1 where ge, -1 where lt: carry += it */
  __m256i d = _mm256_sub_epi64(_mm256_castpd_si256(lt), _mm256_castpd_si256(ge));
  *carry = _mm_add_epi32(*carry, v_narrow(d));
  return _mm256_add_pd(_mm256_sub_pd(P, _mm256_and_pd(ge, q)), _mm256_and_pd(lt, q));
}

/* bin_of() on four lanes: floor((E + 52) / 40), at least FOLDS - 1. For E + 52 <= 2099 the
 * product by the double nearest 1/40 (a little above it) floors to the same integer: at a
 * multiple 40 m it is m (1 + 6e-17), which rounds to m; below one, 40 m - 1, it is m - 0.025. */
NDPAR_AVX2_INLINE __m256i v_bin_of(__m256d x) {
  __m256i E = _mm256_and_si256(_mm256_srli_epi64(_mm256_castpd_si256(x), 52), _mm256_set1_epi64x(0x7ff));
  __m256d bins = _mm256_floor_pd(_mm256_mul_pd(_mm256_cvtepi32_pd(_mm_add_epi32(v_narrow(E), _mm_set1_epi32(52))),
                                               _mm256_set1_pd(1.0 / BIN_BITS)));
  return v_max(_mm256_cvtepi32_epi64(_mm256_cvttpd_epi32(bins)), _mm256_set1_epi64x(FOLDS - 1));
}

/* The lanes of a mask, as movemask bits. */
NDPAR_AVX2_INLINE int v_bits(__m256i mask) { return _mm256_movemask_pd(_mm256_castsi256_pd(mask)); }

/* The folds of deposit()'s common case: x's pieces into lanes whose window is top; the
 * folds renormalised unless renorm is 0 (see v_renorm_all). */
NDPAR_AVX2_INLINE void v_fold(v_lanes *v, __m256d x, __m256i top, int renorm) {
  __m256d S = v_bin_s(top);
  const __m256d low_bit = _mm256_castsi256_pd(_mm256_set1_epi64x(1));
  for (int k = 0; k < FOLDS; k++, S = _mm256_mul_pd(S, _mm256_set1_pd(0x1p-40))) {
    __m256d before = v->prim[k];
    __m256d P = _mm256_add_pd(before, _mm256_or_pd(x, low_bit));
    x = _mm256_add_pd(x, _mm256_sub_pd(before, P)); /* exact: what the bin did not take */
    v->prim[k] = renorm ? v_renorm(P, S, &v->carry[k]) : P;
  }
}

/* Every fold renormalised. Deposits folded without renormalising move P by less than
 * S / 2^13 each, so after fewer than 2^11 of them P is still in [S, 2S) (its ulp is still
 * the bin's unit, so each deposit took the same pieces) and less than S / 4 outside [1.5 S,
 * 1.75 S): one step brings it back, and (P, carry) ends as the step after every deposit
 * leaves it, the one pair with P in that range and the same P + carry S / 4. */
NDPAR_AVX2_INLINE void v_renorm_all(v_lanes *v) {
  __m256d S = v_bin_s(v->index);
  for (int k = 0; k < FOLDS; k++, S = _mm256_mul_pd(S, _mm256_set1_pd(0x1p-40)))
    v->prim[k] = v_renorm(v->prim[k], S, &v->carry[k]);
}

/* deposit() of x on four lanes in registers whose windows are ordinary and stay ordinary
 * when raised to x's bins (this excludes Inf and NaN, whose bin is 52); returns 0 (nothing
 * done) unless every lane is such. A zero goes through as it does in deposit(): P + tiny
 * rounds back to P, nothing is taken. */
NDPAR_AVX2_INLINE int v_deposit_regs(v_lanes *v, __m256d x, int renorm) {
  __m256i top = v_max(v->index, v_bin_of(x));
  if (v_bits(_mm256_and_si256(v_ordinary(v->index), v_ordinary(top))) != 0xf) return 0;
  v_raise(v, top);
  v_fold(v, x, top, renorm);
  return 1;
}

NDPAR_AVX2_INLINE int v_deposit(ndpar_rsum_block *b, __m256d x) {
  v_lanes v = v_load(b);
  if (!v_deposit_regs(&v, x, 1)) return 0;
  v_store(b, &v);
  return 1;
}

/* ndpar_rsum_set of four lanes in registers: each lane's window opened at its value's bin,
 * then the deposit. Returns 0 (nothing done) unless every window is ordinary and no value
 * is 0 (which leaves a lane empty). */
NDPAR_AVX2_INLINE int v_set_regs(v_lanes *v, __m256d x, int renorm) {
  __m256i top = v_bin_of(x);
  int nonzero = _mm256_movemask_pd(_mm256_cmp_pd(x, _mm256_setzero_pd(), _CMP_NEQ_UQ));
  if (v_bits(v_ordinary(top)) != 0xf || nonzero != 0xf) return 0;
  __m256d S = v_bin_s(top);
  for (int k = 0; k < FOLDS; k++, S = _mm256_mul_pd(S, _mm256_set1_pd(0x1p-40))) {
    v->prim[k] = _mm256_mul_pd(S, _mm256_set1_pd(1.5));
    v->carry[k] = _mm_setzero_si128();
  }
  v->index = top;
  v_fold(v, x, top, renorm);
  return 1;
}

/* Deposits folded between renormalisations: fewer than 2^11 (v_renorm_all). */
#define RENORM_EVERY 1024

/* The whole blocks of add_arrays() (below): each block loaded once (or opened, fresh),
 * the m arrays' values deposited in registers and renormalised once, stored once; a lane
 * outside the common case sends the block's remaining arrays through the scalar code.
 * Returns the elements done. */
NDPAR_AVX2_FN static size_t avx2_add_arrays(ndpar_rsum_block *b, const double *const *x, size_t m,
                                            size_t n, int fresh) {
  size_t full = n / NDPAR_RSUM_LANES;
  for (size_t k = 0; k < full; k++) {
    size_t o = k * NDPAR_RSUM_LANES, i = 0;
    v_lanes v;
    if (fresh && v_set_regs(&v, _mm256_loadu_pd(x[0] + o), 0)) {
      i = 1;
    } else {
      if (fresh)
        for (size_t l = 0; l < NDPAR_RSUM_LANES; l++) ndpar_rsumv_put(&b[k], l, &empty_sum);
      v = v_load(&b[k]);
    }
    while (i < m && v_deposit_regs(&v, _mm256_loadu_pd(x[i] + o), 0))
      if (++i % RENORM_EVERY == 0) v_renorm_all(&v);
    if (i > 0) v_renorm_all(&v); /* (i = 0: nothing was deposited here, the lanes may be empty) */
    v_store(&b[k], &v);
    for (; i < m; i++)
      for (size_t l = 0; l < NDPAR_RSUM_LANES; l++) lane_deposit(&b[k], l, x[i][o + l]);
  }
  return full * NDPAR_RSUM_LANES;
}

NDPAR_AVX2_FN static size_t avx2_add_scaled(ndpar_rsum_block *b, const double *x, double w, size_t n) {
  __m256d wv = _mm256_set1_pd(w);
  size_t full = n / NDPAR_RSUM_LANES;
  for (size_t k = 0; k < full; k++) {
    const double *xk = x + k * NDPAR_RSUM_LANES;
    if (v_deposit(&b[k], _mm256_mul_pd(wv, _mm256_loadu_pd(xk))) == 0)
      for (size_t l = 0; l < NDPAR_RSUM_LANES; l++) lane_deposit(&b[k], l, w * xk[l]);
  }
  return full * NDPAR_RSUM_LANES;
}

/* ndpar_rsum_merge of four lanes whose windows are both ordinary: both raised to the
 * higher, then P_into += P_from - 1.5 S (exact), carries added, renormalised. Returns 0
 * (nothing done) otherwise. */
NDPAR_AVX2_INLINE int v_merge(ndpar_rsum_block *into, const ndpar_rsum_block *from) {
  v_lanes a = v_load(into), f = v_load(from);
  if (v_bits(_mm256_and_si256(v_ordinary(a.index), v_ordinary(f.index))) != 0xf) return 0;
  __m256i top = v_max(a.index, f.index);
  v_raise(&a, top);
  v_raise(&f, top);
  __m256d S = v_bin_s(top);
  for (int k = 0; k < FOLDS; k++, S = _mm256_mul_pd(S, _mm256_set1_pd(0x1p-40))) {
    __m256d P = _mm256_add_pd(a.prim[k], _mm256_sub_pd(f.prim[k], _mm256_mul_pd(S, _mm256_set1_pd(1.5))));
    a.carry[k] = _mm_add_epi32(a.carry[k], f.carry[k]);
    a.prim[k] = v_renorm(P, S, &a.carry[k]);
  }
  v_store(into, &a);
  return 1;
}

NDPAR_AVX2_FN static void avx2_merge(ndpar_rsum_block *into, const ndpar_rsum_block *from, size_t nblocks) {
  for (size_t k = 0; k < nblocks; k++)
    if (!v_merge(&into[k], &from[k]))
      for (size_t l = 0; l < NDPAR_RSUM_LANES; l++) lane_merge(&into[k], &from[k], l);
}

/* ndpar_rsum_value of four ordinary lanes, in the scalar code's order of operations (the
 * scale factors are 1 below the top bin). Returns 0 (nothing done) otherwise. */
NDPAR_AVX2_FN static int avx2_values(const ndpar_rsum_block *b, double out[NDPAR_RSUM_LANES]) {
  __m256i index = _mm256_cvtepi32_epi64(_mm_loadu_si128((const __m128i *)b->index));
  if (_mm256_movemask_pd(_mm256_castsi256_pd(v_ordinary(index))) != 0xf) return 0;
  __m256d S = _mm256_mul_pd(v_bin_s(index), _mm256_set1_pd(0x1p-80)), v = _mm256_setzero_pd();
  for (int k = FOLDS - 1; k >= 0; k--, S = _mm256_mul_pd(S, _mm256_set1_pd(0x1p40))) {
    __m256d carry = _mm256_cvtepi32_pd(_mm_loadu_si128((const __m128i *)b->carry[k]));
    __m256d term = _mm256_add_pd(_mm256_mul_pd(carry, _mm256_mul_pd(_mm256_set1_pd(0.25), S)),
                                 _mm256_sub_pd(_mm256_loadu_pd(b->prim[k]), _mm256_mul_pd(_mm256_set1_pd(1.5), S)));
    v = _mm256_add_pd(v, term);
  }
  _mm256_storeu_pd(out, v);
  return 1;
}

/* -1: not asked yet. Relaxed: every thread that asks computes the same answer. */
static atomic_int use_avx2 = -1;

static int have_avx2(void) {
  int on = atomic_load_explicit(&use_avx2, memory_order_relaxed);
  if (on < 0) {
    on = ndpar_cpu_has_avx2();
    atomic_store_explicit(&use_avx2, on, memory_order_relaxed);
  }
  return on;
}

int ndpar_rsumv_simd(int on) {
  int was = have_avx2();
  if (on >= 0) atomic_store_explicit(&use_avx2, on && ndpar_cpu_has_avx2(), memory_order_relaxed);
  return was;
}
#else
static size_t avx2_add_arrays(ndpar_rsum_block *b, const double *const *x, size_t m, size_t n,
                              int fresh) {
  (void)b, (void)x, (void)m, (void)n, (void)fresh;
  return 0;
}
static size_t avx2_add_scaled(ndpar_rsum_block *b, const double *x, double w, size_t n) {
  (void)b, (void)x, (void)w, (void)n;
  return 0;
}
static void avx2_merge(ndpar_rsum_block *into, const ndpar_rsum_block *from, size_t nblocks) {
  (void)into, (void)from, (void)nblocks;
}
static int avx2_values(const ndpar_rsum_block *b, double out[NDPAR_RSUM_LANES]) {
  (void)b, (void)out;
  return 0;
}
static int have_avx2(void) { return 0; }
int ndpar_rsumv_simd(int on) {
  (void)on;
  return 0;
}
#endif

void ndpar_rsumv_add_scaled(ndpar_rsum_block *b, const double *x, double w, size_t n) {
  size_t j = have_avx2() ? avx2_add_scaled(b, x, w, n) : 0;
  for (; j < n; j++) lane_deposit(b, j, w * x[j]);
}

/* Element j of b (emptied first if fresh) += x[0][j], x[1][j], ..., x[m - 1][j], in one
 * pass over b: the m arrays cost one load and one store of the 40-byte accumulators. (Taking
 * the arrays in turn over a chunk of blocks kept in L1, each pass loading and storing the
 * blocks again, made the gradient's final merge of four arrays 12-15% slower.) */
static void add_arrays(ndpar_rsum_block *b, const double *const *x, size_t m, size_t n, int fresh) {
  if (m == 0) {
    if (fresh) ndpar_rsumv_init(b, n);
    return;
  }
  size_t j = have_avx2() ? avx2_add_arrays(b, x, m, n, fresh) : 0;
  if (fresh)
    for (size_t l = j; l < ndpar_rsumv_blocks(n) * NDPAR_RSUM_LANES; l++) ndpar_rsumv_put(b, l, &empty_sum);
  for (; j < n; j++)
    for (size_t i = 0; i < m; i++) lane_deposit(b, j, x[i][j]);
}

void ndpar_rsumv_set(ndpar_rsum_block *b, const double *x, size_t n) { add_arrays(b, &x, 1, n, 1); }

void ndpar_rsumv_set_arrays(ndpar_rsum_block *b, const double *const *x, size_t m, size_t n) {
  add_arrays(b, x, m, n, 1);
}

void ndpar_rsumv_add_arrays(ndpar_rsum_block *b, const double *const *x, size_t m, size_t n) {
  add_arrays(b, x, m, n, 0);
}

void ndpar_rsumv_merge(ndpar_rsum_block *into, const ndpar_rsum_block *from, size_t nblocks) {
  if (have_avx2()) {
    avx2_merge(into, from, nblocks);
    return;
  }
  for (size_t k = 0; k < nblocks; k++)
    for (size_t l = 0; l < NDPAR_RSUM_LANES; l++) lane_merge(&into[k], &from[k], l);
}

void ndpar_rsumv_values(const ndpar_rsum_block *b, double out[NDPAR_RSUM_LANES]) {
  if (have_avx2() && avx2_values(b, out)) return;
  for (size_t l = 0; l < NDPAR_RSUM_LANES; l++) out[l] = lane_value(b, l);
}
