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
#include <stdint.h>
#include <string.h>

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
