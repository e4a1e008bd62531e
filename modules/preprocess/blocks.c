/* blocks.c: the two passes over one block of rows and its merge into the running moments,
 * and the scalers' transforms of a range of rows: portable for any columns, and with AVX2
 * for four or eight columns at a time on x86-64.
 *
 * Both forms do the same operations in the same order on every column (per column: a sum
 * over the block's rows in row order, min and max by comparison, the same merge formulas;
 * no fused multiply-add, ISO C's -ffp-contract=off), so they give the same bits: the AVX2
 * form only keeps each column's accumulators in registers across the rows. The portable
 * form's accumulators are arrays over a column count known at run time, which the compiler
 * must load and store at every row; on a 4M x 8 matrix that made the fit 1.9x the cost of
 * a plain read pass; a transform's loop over a row's few columns also paid a runtime alias
 * check and loop set-up per row. The AVX2 forms hold a strip's parameters in registers and
 * loop over the rows (docs/PERFORMANCE.md). */
#include "preprocess/preprocess_internal.h"
#include "ndpar_internal.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#define BLOCKS_AVX2 1
#include <immintrin.h>
#endif

void block_run_reset(block_run r, size_t cols) {
  for (size_t j = 0; j < cols; j++) r.n[j] = 0, r.mean[j] = 0, r.m2[j] = 0, r.mn[j] = INFINITY, r.mx[j] = -INFINITY;
}

void block_run_merge(block_run r, size_t j, double n, double mean, double m2, double mn, double mx) {
  if (n == 0) return;
  if (r.n[j] == 0) {
    r.n[j] = n, r.mean[j] = mean, r.m2[j] = m2, r.mn[j] = mn, r.mx[j] = mx;
    return;
  }
  double na = r.n[j], total = na + n, delta = mean - r.mean[j];
  r.mean[j] += delta * (n / total);
  r.m2[j] += m2 + delta * delta * (na * n / total);
  r.n[j] = total;
  r.mn[j] = r.mn[j] < mn ? r.mn[j] : mn;
  r.mx[j] = r.mx[j] > mx ? r.mx[j] : mx;
}

/* ---- portable: columns [j0, j1) ---- */

static void pass1_cols(const gsl_matrix *x, const double *restrict shift, size_t r0, size_t r1,
                       size_t j0, size_t j1, block_acc a) {
  if (j0 == j1) return;
  for (size_t j = j0; j < j1; j++) a.sum[j] = 0, a.mn[j] = INFINITY, a.mx[j] = -INFINITY;
  for (size_t r = r0; r < r1; r++) {
    const double *restrict row = x->data + r * x->tda;
    for (size_t j = j0; j < j1; j++) {
      double v = row[j];
      a.sum[j] += v - shift[j];
      a.mn[j] = v < a.mn[j] ? v : a.mn[j];
      a.mx[j] = v > a.mx[j] ? v : a.mx[j];
    }
  }
}

/* a.sum holds the block means here. */
static void pass2_cols(const gsl_matrix *x, const double *restrict shift, size_t r0, size_t r1,
                       size_t j0, size_t j1, block_acc a) {
  if (j0 == j1) return;
  for (size_t j = j0; j < j1; j++) a.m2[j] = 0, a.comp[j] = 0;
  for (size_t r = r0; r < r1; r++) {
    const double *restrict row = x->data + r * x->tda;
    for (size_t j = j0; j < j1; j++) {
      double d = (row[j] - shift[j]) - a.sum[j];
      a.m2[j] += d * d;
      a.comp[j] += d;
    }
  }
}

/* The corrected two-pass block moments (Bjorck; Chan, Golub, LeVeque 1983): the first
 * pass's mean carries the rounding of a long sum, so the second pass also sums the
 * deviations, comp = sum (x - mean), and M2 = sum (x - mean)^2 - comp^2 / n and
 * mean' = mean + comp / n remove that error. */
static void merge_cols(block_acc a, double n, size_t j0, size_t j1, block_run run) {
  for (size_t j = j0; j < j1; j++)
    block_run_merge(run, j, n, a.sum[j] + a.comp[j] / n, a.m2[j] - a.comp[j] * a.comp[j] / n,
                    a.mn[j], a.mx[j]);
}

/* ---- the transforms: rows [0, rows) of x (row stride tda), columns [j0, cols) ---- */

static void sub_mul_cols(double *restrict x, size_t tda, size_t rows, size_t j0, size_t cols,
                         const double *restrict c, const double *restrict k) {
  for (size_t r = 0; r < rows; r++)
    for (size_t j = j0; j < cols; j++) x[r * tda + j] = (x[r * tda + j] - c[j]) * k[j];
}

static void mul_add_cols(double *restrict x, size_t tda, size_t rows, size_t j0, size_t cols,
                         const double *restrict k, const double *restrict c) {
  for (size_t r = 0; r < rows; r++)
    for (size_t j = j0; j < cols; j++) x[r * tda + j] = x[r * tda + j] * k[j] + c[j];
}

/* y = x * mul + add, except where x == from_lo (to_lo) or x == from_hi (to_hi); the loads
 * before the selects let them vectorise. */
static void ends_cols(double *restrict x, size_t tda, size_t rows, size_t j0, size_t cols,
                      const block_ends *e) {
  const double *restrict mul = e->mul, *restrict add = e->add, *restrict from_lo = e->from_lo,
                         *restrict from_hi = e->from_hi, *restrict to_lo = e->to_lo, *restrict to_hi = e->to_hi;
  for (size_t r = 0; r < rows; r++)
    for (size_t j = j0; j < cols; j++) {
      double v = x[r * tda + j], y = v * mul[j], lo = to_lo[j], hi = to_hi[j];
      y += add[j];
      y = v == from_hi[j] ? hi : y;
      x[r * tda + j] = v == from_lo[j] ? lo : y;
    }
}

/* ---- AVX2: strips of nv (1 or 2) vectors of 4 columns from column j ---- */

#ifdef BLOCKS_AVX2

/* The first pass and the transforms prefetch the data a block (2048 doubles) ahead: with
 * the hardware prefetchers alone, the fit of 4M x 8 on 2 threads took 1.15-1.3x a plain
 * read pass (1.15-1.2x for the min/max-only pass); with prefetches into L1 (T0), about
 * 1.05x and 0.95x on the EPYC VM. Into L2 (T1), where a line waits without holding one of
 * L1's few miss buffers for a block's time, is faster still: on the Xeon VM z-score fit +
 * transform went from 1.15x the plain passes to 0.95x at 1 thread and from 1.05x to 0.95-0.99x
 * at 2 (docs/PERFORMANCE.md). The second pass, over a block already in cache, prefetched
 * the next block's rows too, which the first pass had already asked for: 1.10x instead of
 * 1.04x at 2 threads (T0). Prefetches past the matrix's end never fault. */
#define PREFETCH_BYTES 16384

/* The two passes' accumulators of a strip of nv vectors, in registers, and one row's step
 * (one vector of a row) of each: the strips of one pass and the fused strips below run the
 * same steps. */
typedef struct {
  __m256d s[2], lo[2], hi[2];
} pass1_regs;

typedef struct {
  __m256d q[2], c[2], mean[2];
} pass2_regs;

NDPAR_AVX2_INLINE void load_shift(__m256d sh[2], const double *shift, size_t j, int nv) {
  for (int k = 0; k < nv; k++) sh[k] = _mm256_loadu_pd(shift + j + 4 * k);
}

NDPAR_AVX2_INLINE void pass1_start(pass1_regs *r, int nv) {
  for (int k = 0; k < nv; k++) {
    r->s[k] = _mm256_setzero_pd();
    r->lo[k] = _mm256_set1_pd(INFINITY);
    r->hi[k] = _mm256_set1_pd(-INFINITY);
  }
}

/* Vector k of a row at p. */
NDPAR_AVX2_INLINE void pass1_step(pass1_regs *r, const double *p, const __m256d sh[2], int k) {
  __m256d v = _mm256_loadu_pd(p + 4 * k);
  r->s[k] = _mm256_add_pd(r->s[k], _mm256_sub_pd(v, sh[k]));
  r->lo[k] = _mm256_min_pd(v, r->lo[k]); /* v < lo ? v : lo, as the portable form */
  r->hi[k] = _mm256_max_pd(v, r->hi[k]);
}

NDPAR_AVX2_INLINE void pass1_store(const pass1_regs *r, block_acc a, size_t j, int nv) {
  for (int k = 0; k < nv; k++) {
    _mm256_storeu_pd(a.sum + j + 4 * k, r->s[k]);
    _mm256_storeu_pd(a.mn + j + 4 * k, r->lo[k]);
    _mm256_storeu_pd(a.mx + j + 4 * k, r->hi[k]);
  }
}

/* The second pass starts from the block's means (in a.sum after the first). */
NDPAR_AVX2_INLINE void pass2_start(pass2_regs *r, block_acc a, size_t j, int nv) {
  for (int k = 0; k < nv; k++) {
    r->q[k] = r->c[k] = _mm256_setzero_pd();
    r->mean[k] = _mm256_loadu_pd(a.sum + j + 4 * k);
  }
}

NDPAR_AVX2_INLINE void pass2_step(pass2_regs *r, const double *p, const __m256d sh[2], int k) {
  __m256d d = _mm256_sub_pd(_mm256_sub_pd(_mm256_loadu_pd(p + 4 * k), sh[k]), r->mean[k]);
  r->q[k] = _mm256_add_pd(r->q[k], _mm256_mul_pd(d, d));
  r->c[k] = _mm256_add_pd(r->c[k], d);
}

NDPAR_AVX2_INLINE void pass2_store(const pass2_regs *r, block_acc a, size_t j, int nv) {
  for (int k = 0; k < nv; k++) {
    _mm256_storeu_pd(a.m2 + j + 4 * k, r->q[k]);
    _mm256_storeu_pd(a.comp + j + 4 * k, r->c[k]);
  }
}

NDPAR_AVX2_INLINE void strip_pass1(const gsl_matrix *x, const double *shift, size_t r0, size_t r1,
                                   size_t j, int nv, block_acc a) {
  __m256d sh[2];
  pass1_regs r;
  load_shift(sh, shift, j, nv);
  pass1_start(&r, nv);
  const double *p = x->data + r0 * x->tda + j;
  for (size_t i = r0; i < r1; i++, p += x->tda) {
    _mm_prefetch((const char *)((uintptr_t)p + PREFETCH_BYTES), _MM_HINT_T1);
    for (int k = 0; k < nv; k++) pass1_step(&r, p, sh, k);
  }
  pass1_store(&r, a, j, nv);
}

NDPAR_AVX2_INLINE void strip_pass2(const gsl_matrix *x, const double *shift, size_t r0, size_t r1,
                                   size_t j, int nv, block_acc a) {
  __m256d sh[2];
  pass2_regs r;
  load_shift(sh, shift, j, nv);
  pass2_start(&r, a, j, nv);
  const double *p = x->data + r0 * x->tda + j;
  for (size_t i = r0; i < r1; i++, p += x->tda)
    for (int k = 0; k < nv; k++) pass2_step(&r, p, sh, k);
  pass2_store(&r, a, j, nv);
}

/* The second pass of the block at row r0 (its means in a.sum) and the first pass of the
 * block at row q0, rows rows each, row by row together: the first streams the next block
 * from memory while the second works on the block in cache, so that the second pass's
 * arithmetic hides behind the stream instead of following it (the same steps, in the same
 * order, per block and column as strip_pass2 and strip_pass1). */
NDPAR_AVX2_INLINE void strip_fused(const gsl_matrix *x, const double *shift, size_t r0, size_t q0,
                                   size_t rows, size_t j, int nv, block_acc a, block_acc b) {
  __m256d sh[2];
  pass2_regs r2;
  pass1_regs r1;
  load_shift(sh, shift, j, nv);
  pass2_start(&r2, a, j, nv);
  pass1_start(&r1, nv);
  const double *p = x->data + r0 * x->tda + j, *n = x->data + q0 * x->tda + j;
  for (size_t i = 0; i < rows; i++, p += x->tda, n += x->tda) {
    _mm_prefetch((const char *)((uintptr_t)n + PREFETCH_BYTES), _MM_HINT_T1);
    for (int k = 0; k < nv; k++) {
      pass2_step(&r2, p, sh, k);
      pass1_step(&r1, n, sh, k);
    }
  }
  pass2_store(&r2, a, j, nv);
  pass1_store(&r1, b, j, nv);
}

/* merge_cols on 4 columns from j: block_run_merge's formulas, and its copy where a column
 * is still empty (n = 0). */
NDPAR_AVX2_INLINE void strip_merge(block_acc a, double nb, size_t j, block_run run) {
  __m256d n = _mm256_set1_pd(nb), na = _mm256_loadu_pd(run.n + j);
  __m256d empty = _mm256_cmp_pd(na, _mm256_setzero_pd(), _CMP_EQ_OQ), total = _mm256_add_pd(na, n);
  __m256d comp = _mm256_loadu_pd(a.comp + j);
  __m256d mean = _mm256_add_pd(_mm256_loadu_pd(a.sum + j), _mm256_div_pd(comp, n));
  __m256d m2 = _mm256_sub_pd(_mm256_loadu_pd(a.m2 + j), _mm256_div_pd(_mm256_mul_pd(comp, comp), n));
  __m256d ma = _mm256_loadu_pd(run.mean + j), delta = _mm256_sub_pd(mean, ma);
  __m256d weight = _mm256_div_pd(_mm256_mul_pd(na, n), total);
  __m256d merged_mean = _mm256_add_pd(ma, _mm256_mul_pd(delta, _mm256_div_pd(n, total)));
  __m256d merged_m2 = _mm256_add_pd(_mm256_loadu_pd(run.m2 + j),
                                    _mm256_add_pd(m2, _mm256_mul_pd(_mm256_mul_pd(delta, delta), weight)));
  _mm256_storeu_pd(run.mean + j, _mm256_blendv_pd(merged_mean, mean, empty));
  _mm256_storeu_pd(run.m2 + j, _mm256_blendv_pd(merged_m2, m2, empty));
  _mm256_storeu_pd(run.n + j, total);
  _mm256_storeu_pd(run.mn + j, _mm256_min_pd(_mm256_loadu_pd(run.mn + j), _mm256_loadu_pd(a.mn + j)));
  _mm256_storeu_pd(run.mx + j, _mm256_max_pd(_mm256_loadu_pd(run.mx + j), _mm256_loadu_pd(a.mx + j)));
}

/* Each returns the first column it left to the portable form (cols rounded down to 4).
 * The first pass, or the second where `second`. */
NDPAR_AVX2_FN static size_t avx2_pass(int second, const gsl_matrix *x,
                                                       const double *shift, size_t r0, size_t r1,
                                                       block_acc a) {
  size_t j = 0, cols = x->size2;
  for (; j + 8 <= cols; j += 8)
    second ? strip_pass2(x, shift, r0, r1, j, 2, a) : strip_pass1(x, shift, r0, r1, j, 2, a);
  if (j + 4 <= cols) {
    second ? strip_pass2(x, shift, r0, r1, j, 1, a) : strip_pass1(x, shift, r0, r1, j, 1, a);
    j += 4;
  }
  return j;
}

NDPAR_AVX2_FN static size_t avx2_fused(const gsl_matrix *x, const double *shift, size_t r0, size_t q0,
                                       size_t rows, block_acc a, block_acc b) {
  size_t j = 0, cols = x->size2;
  for (; j + 8 <= cols; j += 8) strip_fused(x, shift, r0, q0, rows, j, 2, a, b);
  if (j + 4 <= cols) {
    strip_fused(x, shift, r0, q0, rows, j, 1, a, b);
    j += 4;
  }
  return j;
}

NDPAR_AVX2_FN static size_t avx2_merge(block_acc a, double n, size_t cols,
                                                        block_run run) {
  size_t j = 0;
  for (; j + 4 <= cols; j += 4) strip_merge(a, n, j, run);
  return j;
}

/* The transforms on strips of nv vectors from column j, the parameters in registers:
 * (x - a) * b where sub_mul, else x * a + b. */
NDPAR_AVX2_INLINE void strip_affine(double *x, size_t tda, size_t rows, size_t j, int nv, const double *a,
                              const double *b, int sub_mul) {
  __m256d av[2], bv[2];
  for (int q = 0; q < nv; q++) av[q] = _mm256_loadu_pd(a + j + 4 * q), bv[q] = _mm256_loadu_pd(b + j + 4 * q);
  for (double *p = x + j; rows > 0; rows--, p += tda) {
    _mm_prefetch((const char *)((uintptr_t)p + PREFETCH_BYTES), _MM_HINT_T1);
    for (int q = 0; q < nv; q++) {
      __m256d v = _mm256_loadu_pd(p + 4 * q);
      v = sub_mul ? _mm256_mul_pd(_mm256_sub_pd(v, av[q]), bv[q]) : _mm256_add_pd(_mm256_mul_pd(v, av[q]), bv[q]);
      _mm256_storeu_pd(p + 4 * q, v);
    }
  }
}

NDPAR_AVX2_INLINE void strip_ends(double *x, size_t tda, size_t rows, size_t j, int nv, const block_ends *e) {
  __m256d mul[2], add[2], flo[2], fhi[2], tlo[2], thi[2];
  for (int q = 0; q < nv; q++) {
    size_t o = j + 4 * q;
    mul[q] = _mm256_loadu_pd(e->mul + o), add[q] = _mm256_loadu_pd(e->add + o);
    flo[q] = _mm256_loadu_pd(e->from_lo + o), fhi[q] = _mm256_loadu_pd(e->from_hi + o);
    tlo[q] = _mm256_loadu_pd(e->to_lo + o), thi[q] = _mm256_loadu_pd(e->to_hi + o);
  }
  for (double *p = x + j; rows > 0; rows--, p += tda) {
    _mm_prefetch((const char *)((uintptr_t)p + PREFETCH_BYTES), _MM_HINT_T1);
    for (int q = 0; q < nv; q++) {
      __m256d v = _mm256_loadu_pd(p + 4 * q);
      __m256d y = _mm256_add_pd(_mm256_mul_pd(v, mul[q]), add[q]);
      __m256d at_hi = _mm256_cmp_pd(v, fhi[q], _CMP_EQ_OQ), at_lo = _mm256_cmp_pd(v, flo[q], _CMP_EQ_OQ);
      if (_mm256_movemask_pd(_mm256_or_pd(at_hi, at_lo))) /* rare: a column's min or max */
        y = _mm256_blendv_pd(_mm256_blendv_pd(y, thi[q], at_hi), tlo[q], at_lo);
      _mm256_storeu_pd(p + 4 * q, y);
    }
  }
}

/* op: 0 sub_mul (a = c, b = k), 1 mul_add (a = k, b = c), 2 ends (e). */
NDPAR_AVX2_FN static size_t avx2_transform(int op, double *x, size_t tda, size_t rows,
                                                            size_t cols, const double *a,
                                                            const double *b, const block_ends *e) {
  size_t j = 0;
  for (; j + 4 <= cols; j += j + 8 <= cols ? 8 : 4) {
    int nv = j + 8 <= cols ? 2 : 1; /* constant arguments: each call its own loop */
    if (op == 0 && nv == 2) strip_affine(x, tda, rows, j, 2, a, b, 1);
    else if (op == 0) strip_affine(x, tda, rows, j, 1, a, b, 1);
    else if (op == 1 && nv == 2) strip_affine(x, tda, rows, j, 2, a, b, 0);
    else if (op == 1) strip_affine(x, tda, rows, j, 1, a, b, 0);
    else if (nv == 2) strip_ends(x, tda, rows, j, 2, e);
    else strip_ends(x, tda, rows, j, 1, e);
  }
  return j;
}

static int have_avx2(void) { return ndpar_cpu_has_avx2(); }
#else
static int have_avx2(void) { return 0; }
static size_t avx2_pass(int second, const gsl_matrix *x, const double *shift, size_t r0, size_t r1,
                        block_acc a) {
  (void)second, (void)x, (void)shift, (void)r0, (void)r1, (void)a;
  return 0;
}
static size_t avx2_merge(block_acc a, double n, size_t cols, block_run run) {
  (void)a, (void)n, (void)cols, (void)run;
  return 0;
}
static size_t avx2_fused(const gsl_matrix *x, const double *shift, size_t r0, size_t q0, size_t rows,
                         block_acc a, block_acc b) {
  (void)x, (void)shift, (void)r0, (void)q0, (void)rows, (void)a, (void)b;
  return 0;
}
static size_t avx2_transform(int op, double *x, size_t tda, size_t rows, size_t cols,
                             const double *a, const double *b, const block_ends *e) {
  (void)op, (void)x, (void)tda, (void)rows, (void)cols, (void)a, (void)b, (void)e;
  return 0;
}
#endif

/* ---- blocks in order ---- */

static void pass1(const gsl_matrix *x, const double *shift, size_t r0, size_t r1, block_acc a, int avx2) {
  pass1_cols(x, shift, r0, r1, avx2 ? avx2_pass(0, x, shift, r0, r1, a) : 0, x->size2, a);
}

static void pass2(const gsl_matrix *x, const double *shift, size_t r0, size_t r1, block_acc a, int avx2) {
  pass2_cols(x, shift, r0, r1, avx2 ? avx2_pass(1, x, shift, r0, r1, a) : 0, x->size2, a);
}

/* After the first pass of n rows: 0 if a column's sum is not finite; else the sums become
 * the block's means and the second pass's sums start at 0. */
static int block_means(block_acc a, size_t cols, double n) {
  int finite = 1;
  for (size_t j = 0; j < cols; j++) finite &= isfinite(a.sum[j]) != 0;
  if (!finite) return 0;
  for (size_t j = 0; j < cols; j++) a.sum[j] /= n, a.m2[j] = 0, a.comp[j] = 0;
  return 1;
}

/* The second pass of rows [r0, r1) into a, and the first of [q0, q1) into b: together
 * where both blocks have the same rows (all but a task's last), else one after the other. */
static void pass2_and_next(const gsl_matrix *x, const double *shift, size_t r0, size_t r1, block_acc a,
                           size_t q0, size_t q1, block_acc b, int avx2) {
  if (avx2 && r1 - r0 == q1 - q0) {
    size_t j = avx2_fused(x, shift, r0, q0, r1 - r0, a, b);
    pass2_cols(x, shift, r0, r1, j, x->size2, a);
    pass1_cols(x, shift, q0, q1, j, x->size2, b);
  } else {
    pass2(x, shift, r0, r1, a, avx2);
    pass1(x, shift, q0, q1, b, avx2);
  }
}

size_t blocks_fast(const gsl_matrix *x, const double *shift, size_t r0, size_t r1, size_t block_rows,
                   int minmax_only, block_acc acc[2], block_run run) {
  size_t cols = x->size2, b0 = r0, b1 = r0 + block_rows < r1 ? r0 + block_rows : r1;
  int avx2 = have_avx2(), k = 0;
  pass1(x, shift, b0, b1, acc[k], avx2);
  for (;;) {
    if (!block_means(acc[k], cols, (double)(b1 - b0))) return b0;
    size_t q0 = b1, q1 = q0 + block_rows < r1 ? q0 + block_rows : r1;
    if (q0 < r1 && !minmax_only) pass2_and_next(x, shift, b0, b1, acc[k], q0, q1, acc[!k], avx2);
    else if (q0 < r1) pass1(x, shift, q0, q1, acc[!k], avx2);
    else if (!minmax_only) pass2(x, shift, b0, b1, acc[k], avx2);
    double n = (double)(b1 - b0);
    merge_cols(acc[k], n, avx2 ? avx2_merge(acc[k], n, cols, run) : 0, cols, run);
    if (q0 >= r1) return r1;
    k = !k, b0 = q0, b1 = q1;
  }
}

void rows_sub_mul(double *x, size_t tda, size_t rows, size_t cols, const double *c, const double *k) {
  size_t j = have_avx2() ? avx2_transform(0, x, tda, rows, cols, c, k, NULL) : 0;
  if (j < cols) sub_mul_cols(x, tda, rows, j, cols, c, k);
}

void rows_mul_add(double *x, size_t tda, size_t rows, size_t cols, const double *k, const double *c) {
  size_t j = have_avx2() ? avx2_transform(1, x, tda, rows, cols, k, c, NULL) : 0;
  if (j < cols) mul_add_cols(x, tda, rows, j, cols, k, c);
}

/* 1 if x * mul + add (two roundings) gives `to` at x = from bit for bit, or from is NaN (no
 * value equals it): the select of that end changes nothing. */
static int end_exact(double from, double mul, double add, double to) {
  if (isnan(from)) return 1;
  double y = from * mul;
  y += add;
  return memcmp(&y, &to, sizeof y) == 0;
}

void rows_ends(double *x, size_t tda, size_t rows, size_t cols, const block_ends *e) {
  int exact = 1; /* often so: then the plain x * mul + add, without compares */
  for (size_t j = 0; j < cols && exact; j++)
    exact = end_exact(e->from_lo[j], e->mul[j], e->add[j], e->to_lo[j]) &&
            end_exact(e->from_hi[j], e->mul[j], e->add[j], e->to_hi[j]);
  if (exact) {
    rows_mul_add(x, tda, rows, cols, e->mul, e->add);
    return;
  }
  size_t j = have_avx2() ? avx2_transform(2, x, tda, rows, cols, NULL, NULL, e) : 0;
  if (j < cols) ends_cols(x, tda, rows, j, cols, e);
}
