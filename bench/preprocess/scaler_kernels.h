/* scaler_kernels.h: the kernels every peer of bench_preprocess runs (OpenMP, oneTBB, Rayon)
 * and the memory floor, as C callbacks over a range of rows [lo, hi): one read pass that
 * folds column partials into an accumulator, the fitted parameters from the combined
 * partials, and one in-place transform pass. C and C++ (tbb_preprocess.cpp) include it.
 *
 * What a good engineer writes for a fixed shape: the column count a compile-time constant,
 * each partial a local array the compiler keeps in registers, the z-score's variance from
 * sums of x - shift (the first row: exact where it matters, by Sterbenz's lemma) and of its
 * square in the same single pass. On x86-64 with AVX2 (checked at run time) the same
 * loops with AVX2 intrinsics, the partials in registers: GCC's -O2, and even -O3, keep such
 * fixed-size local arrays on the stack or scalarise them, which cost these kernels up to
 * 1.9x a plain read pass (the library uses AVX2 the same way: the fair strongest form). */
#ifndef NDPAR_BENCH_SCALER_KERNELS_H
#define NDPAR_BENCH_SCALER_KERNELS_H

#include <math.h>
#include <stddef.h>
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define PK_HAVE_AVX2 1
#include <immintrin.h>
#endif

#define PK_COLS 8 /* the benchmark's column count */

typedef struct {
  double *x;     /* rows x PK_COLS, row-major, contiguous */
  size_t rows;
  double shift[PK_COLS];           /* the z-score's: row 0 */
  double center[PK_COLS], inv[PK_COLS]; /* the transform: (x - center) * inv */
  long long sink;                  /* the floor's read pass result (kept: not optimised away) */
} pk_data;

/* Accumulator lengths. */
#define PK_ZSCORE_ACC (2 * PK_COLS) /* sums of x - shift, then of its square */
#define PK_MINMAX_ACC (2 * PK_COLS) /* min, then max */

static inline void pk_zscore_fold_c(void *ctx, size_t lo, size_t hi, double *acc) {
  pk_data *d = (pk_data *)ctx;
  double s[PK_COLS] = {0}, q[PK_COLS] = {0}, sh[PK_COLS];
  for (int j = 0; j < PK_COLS; j++) sh[j] = d->shift[j];
  for (size_t r = lo; r < hi; r++) {
    const double *row = d->x + r * PK_COLS;
    for (int j = 0; j < PK_COLS; j++) {
      double v = row[j] - sh[j];
      s[j] += v;
      q[j] += v * v;
    }
  }
  for (int j = 0; j < PK_COLS; j++) acc[j] += s[j], acc[PK_COLS + j] += q[j];
}

/* center = mean, inv = 1 / sd (divisor n - 1; a constant column's 1) from the sums. */
static inline void pk_zscore_params(pk_data *d, const double *acc) {
  double n = (double)d->rows;
  for (int j = 0; j < PK_COLS; j++) {
    double m = acc[j] / n, var = (acc[PK_COLS + j] - acc[j] * m) / (n - 1);
    d->center[j] = d->shift[j] + m;
    d->inv[j] = var > 0 ? 1.0 / sqrt(var) : 1.0;
  }
}

static inline void pk_minmax_init(double *acc, size_t len) {
  for (size_t j = 0; j < len / 2; j++) acc[j] = INFINITY, acc[len / 2 + j] = -INFINITY;
}

static inline void pk_minmax_fold_c(void *ctx, size_t lo, size_t hi, double *acc) {
  pk_data *d = (pk_data *)ctx;
  double mn[PK_COLS], mx[PK_COLS];
  for (int j = 0; j < PK_COLS; j++) mn[j] = acc[j], mx[j] = acc[PK_COLS + j];
  for (size_t r = lo; r < hi; r++) {
    const double *row = d->x + r * PK_COLS;
    for (int j = 0; j < PK_COLS; j++) {
      double v = row[j];
      mn[j] = v < mn[j] ? v : mn[j];
      mx[j] = v > mx[j] ? v : mx[j];
    }
  }
  for (int j = 0; j < PK_COLS; j++) acc[j] = mn[j], acc[PK_COLS + j] = mx[j];
}

static inline void pk_minmax_join(double *acc, const double *other, size_t len) {
  for (size_t j = 0; j < len / 2; j++) {
    acc[j] = other[j] < acc[j] ? other[j] : acc[j];
    acc[len / 2 + j] = other[len / 2 + j] > acc[len / 2 + j] ? other[len / 2 + j] : acc[len / 2 + j];
  }
}

/* [0, 1]: center = min, inv = 1 / (max - min) (a constant column's 1). */
static inline void pk_minmax_params(pk_data *d, const double *acc) {
  for (int j = 0; j < PK_COLS; j++) {
    double range = acc[PK_COLS + j] - acc[j];
    d->center[j] = acc[j];
    d->inv[j] = range > 0 ? 1.0 / range : 1.0;
  }
}

static inline void pk_transform_c(void *ctx, size_t lo, size_t hi) {
  pk_data *d = (pk_data *)ctx;
  double c[PK_COLS], k[PK_COLS];
  for (int j = 0; j < PK_COLS; j++) c[j] = d->center[j], k[j] = d->inv[j];
  for (size_t r = lo; r < hi; r++) {
    double *row = d->x + r * PK_COLS;
    for (int j = 0; j < PK_COLS; j++) row[j] = (row[j] - c[j]) * k[j];
  }
}

/* ---- the memory floor: the least a read pass and a read-write pass can do ---- */

static inline void pk_floor_read_c(void *ctx, size_t lo, size_t hi) {
  pk_data *d = (pk_data *)ctx;
  double s[PK_COLS] = {0};
  for (size_t r = lo; r < hi; r++)
    for (int j = 0; j < PK_COLS; j++) s[j] += d->x[r * PK_COLS + j];
  double t = 0;
  for (int j = 0; j < PK_COLS; j++) t += s[j];
  __atomic_fetch_add(&d->sink, (long long)t, __ATOMIC_RELAXED);
}

static inline void pk_floor_update_c(void *ctx, size_t lo, size_t hi) {
  pk_data *d = (pk_data *)ctx;
  for (size_t i = lo * PK_COLS; i < hi * PK_COLS; i++) d->x[i] = d->x[i] * 1.0000001 + 1e-9;
}

/* ---- AVX2: the same loops, 8 columns as two vectors of 4 in registers ---- */

#ifdef PK_HAVE_AVX2
#define PK_AVX2 static __attribute__((target("avx2")))

PK_AVX2 void pk_zscore_fold_avx2(void *ctx, size_t lo, size_t hi, double *acc) {
  pk_data *d = (pk_data *)ctx;
  __m256d sh0 = _mm256_loadu_pd(d->shift), sh1 = _mm256_loadu_pd(d->shift + 4);
  __m256d s0 = _mm256_setzero_pd(), s1 = s0, q0 = s0, q1 = s0;
  for (const double *row = d->x + lo * PK_COLS, *end = d->x + hi * PK_COLS; row < end; row += PK_COLS) {
    __m256d a = _mm256_sub_pd(_mm256_loadu_pd(row), sh0), b = _mm256_sub_pd(_mm256_loadu_pd(row + 4), sh1);
    s0 = _mm256_add_pd(s0, a), s1 = _mm256_add_pd(s1, b);
    q0 = _mm256_add_pd(q0, _mm256_mul_pd(a, a)), q1 = _mm256_add_pd(q1, _mm256_mul_pd(b, b));
  }
  _mm256_storeu_pd(acc, _mm256_add_pd(_mm256_loadu_pd(acc), s0));
  _mm256_storeu_pd(acc + 4, _mm256_add_pd(_mm256_loadu_pd(acc + 4), s1));
  _mm256_storeu_pd(acc + 8, _mm256_add_pd(_mm256_loadu_pd(acc + 8), q0));
  _mm256_storeu_pd(acc + 12, _mm256_add_pd(_mm256_loadu_pd(acc + 12), q1));
}

PK_AVX2 void pk_minmax_fold_avx2(void *ctx, size_t lo, size_t hi, double *acc) {
  pk_data *d = (pk_data *)ctx;
  __m256d mn0 = _mm256_loadu_pd(acc), mn1 = _mm256_loadu_pd(acc + 4);
  __m256d mx0 = _mm256_loadu_pd(acc + 8), mx1 = _mm256_loadu_pd(acc + 12);
  for (const double *row = d->x + lo * PK_COLS, *end = d->x + hi * PK_COLS; row < end; row += PK_COLS) {
    __m256d a = _mm256_loadu_pd(row), b = _mm256_loadu_pd(row + 4);
    mn0 = _mm256_min_pd(a, mn0), mn1 = _mm256_min_pd(b, mn1);
    mx0 = _mm256_max_pd(a, mx0), mx1 = _mm256_max_pd(b, mx1);
  }
  _mm256_storeu_pd(acc, mn0), _mm256_storeu_pd(acc + 4, mn1);
  _mm256_storeu_pd(acc + 8, mx0), _mm256_storeu_pd(acc + 12, mx1);
}

PK_AVX2 void pk_transform_avx2(void *ctx, size_t lo, size_t hi) {
  pk_data *d = (pk_data *)ctx;
  __m256d c0 = _mm256_loadu_pd(d->center), c1 = _mm256_loadu_pd(d->center + 4);
  __m256d k0 = _mm256_loadu_pd(d->inv), k1 = _mm256_loadu_pd(d->inv + 4);
  for (double *row = d->x + lo * PK_COLS, *end = d->x + hi * PK_COLS; row < end; row += PK_COLS) {
    _mm256_storeu_pd(row, _mm256_mul_pd(_mm256_sub_pd(_mm256_loadu_pd(row), c0), k0));
    _mm256_storeu_pd(row + 4, _mm256_mul_pd(_mm256_sub_pd(_mm256_loadu_pd(row + 4), c1), k1));
  }
}

/* The floor's passes; with `prefetch`, asking for the data 16 KiB ahead into L2, as ndpar's
 * passes do: what plain loops reach when they also ask for the data early. */
#define PK_PREFETCH_BYTES 16384
static inline __attribute__((always_inline, target("avx2"))) void pk_floor_read_body(void *ctx, size_t lo, size_t hi,
                                                                                     int prefetch) {
  pk_data *d = (pk_data *)ctx;
  __m256d s0 = _mm256_setzero_pd(), s1 = s0;
  for (const double *row = d->x + lo * PK_COLS, *end = d->x + hi * PK_COLS; row < end; row += PK_COLS) {
    if (prefetch) _mm_prefetch((const char *)row + PK_PREFETCH_BYTES, _MM_HINT_T1);
    s0 = _mm256_add_pd(s0, _mm256_loadu_pd(row)), s1 = _mm256_add_pd(s1, _mm256_loadu_pd(row + 4));
  }
  double t[4];
  _mm256_storeu_pd(t, _mm256_add_pd(s0, s1));
  __atomic_fetch_add(&d->sink, (long long)(t[0] + t[1] + t[2] + t[3]), __ATOMIC_RELAXED);
}

static inline __attribute__((always_inline, target("avx2"))) void pk_floor_update_body(void *ctx, size_t lo, size_t hi,
                                                                                       int prefetch) {
  pk_data *d = (pk_data *)ctx;
  __m256d a = _mm256_set1_pd(1.0000001), b = _mm256_set1_pd(1e-9);
  for (double *p = d->x + lo * PK_COLS, *end = d->x + hi * PK_COLS; p < end; p += PK_COLS) {
    if (prefetch) _mm_prefetch((const char *)p + PK_PREFETCH_BYTES, _MM_HINT_T1);
    _mm256_storeu_pd(p, _mm256_add_pd(_mm256_mul_pd(_mm256_loadu_pd(p), a), b));
    _mm256_storeu_pd(p + 4, _mm256_add_pd(_mm256_mul_pd(_mm256_loadu_pd(p + 4), a), b));
  }
}

PK_AVX2 void pk_floor_read_avx2(void *ctx, size_t lo, size_t hi) { pk_floor_read_body(ctx, lo, hi, 0); }
PK_AVX2 void pk_floor_update_avx2(void *ctx, size_t lo, size_t hi) { pk_floor_update_body(ctx, lo, hi, 0); }
PK_AVX2 void pk_floor_read_pf_avx2(void *ctx, size_t lo, size_t hi) { pk_floor_read_body(ctx, lo, hi, 1); }
PK_AVX2 void pk_floor_update_pf_avx2(void *ctx, size_t lo, size_t hi) { pk_floor_update_body(ctx, lo, hi, 1); }

static inline int pk_avx2(void) { return __builtin_cpu_supports("avx2"); }
#else
#define pk_zscore_fold_avx2 pk_zscore_fold_c
#define pk_minmax_fold_avx2 pk_minmax_fold_c
#define pk_transform_avx2 pk_transform_c
#define pk_floor_read_avx2 pk_floor_read_c
#define pk_floor_update_avx2 pk_floor_update_c
#define pk_floor_read_pf_avx2 pk_floor_read_c
#define pk_floor_update_pf_avx2 pk_floor_update_c
static inline int pk_avx2(void) { return 0; }
#endif

/* The kernels the variants call: AVX2 where the CPU has it. */
static inline void pk_zscore_fold(void *ctx, size_t lo, size_t hi, double *acc) {
  (pk_avx2() ? pk_zscore_fold_avx2 : pk_zscore_fold_c)(ctx, lo, hi, acc);
}
static inline void pk_minmax_fold(void *ctx, size_t lo, size_t hi, double *acc) {
  (pk_avx2() ? pk_minmax_fold_avx2 : pk_minmax_fold_c)(ctx, lo, hi, acc);
}
static inline void pk_transform(void *ctx, size_t lo, size_t hi) {
  (pk_avx2() ? pk_transform_avx2 : pk_transform_c)(ctx, lo, hi);
}
static inline void pk_floor_read(void *ctx, size_t lo, size_t hi) {
  (pk_avx2() ? pk_floor_read_avx2 : pk_floor_read_c)(ctx, lo, hi);
}
static inline void pk_floor_update(void *ctx, size_t lo, size_t hi) {
  (pk_avx2() ? pk_floor_update_avx2 : pk_floor_update_c)(ctx, lo, hi);
}
static inline void pk_floor_read_pf(void *ctx, size_t lo, size_t hi) {
  (pk_avx2() ? pk_floor_read_pf_avx2 : pk_floor_read_c)(ctx, lo, hi);
}
static inline void pk_floor_update_pf(void *ctx, size_t lo, size_t hi) {
  (pk_avx2() ? pk_floor_update_pf_avx2 : pk_floor_update_c)(ctx, lo, hi);
}

#endif
