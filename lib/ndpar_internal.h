/* ndpar_internal.h: helpers shared by the modules, not installed. */
#ifndef NDPAR_INTERNAL_H
#define NDPAR_INTERNAL_H

#include <stdint.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_matrix.h>

#include "ndpar/ndpar_core.h"

/* Marks a branch the hot path rarely takes. */
#define NDPAR_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* ---- The error story (ndpar_error_last in ndpar_core.h) ------------------------------
 * Every error the library raises goes through ndpar_error_raise: it records the error as
 * the calling thread's last error, then calls the GSL error handler, unless this thread is
 * quiet (ndpar_tls_quiet > 0: a thread ndpar started, or one running a task), where the
 * error is only recorded and comes back as the call's code. GSL's own GSL_ERROR macros are
 * redefined below to go through it, so every module that includes this header (all do) and
 * every error it raises follows the story without a call site naming it. */
extern __thread ndpar_error_info ndpar_tls_error __attribute__((visibility("hidden")));
extern __thread int ndpar_tls_quiet __attribute__((visibility("hidden")));

int ndpar_error_raise(int code, const char *file, int line, const char *reason);
/* Records an error on the calling thread without calling the handler (a task's failure, a
 * status that is not an argument error). printf-style. */
void ndpar_error_note(int code, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Forgets this thread's last error when one is set (cheap when none is). */
static inline void ndpar_error_forget(void) {
  if (NDPAR_UNLIKELY(ndpar_tls_error.code)) ndpar_tls_error.code = 0;
}

#undef GSL_ERROR
#undef GSL_ERROR_VAL
#undef GSL_ERROR_NULL
#undef GSL_ERROR_VOID
#define GSL_ERROR(reason, gsl_errno)                                    \
  do {                                                                  \
    return ndpar_error_raise((gsl_errno), __FILE__, __LINE__, (reason)); \
  } while (0)
#define GSL_ERROR_VAL(reason, gsl_errno, value)                 \
  do {                                                          \
    ndpar_error_raise((gsl_errno), __FILE__, __LINE__, (reason)); \
    return value;                                               \
  } while (0)
#define GSL_ERROR_VOID(reason, gsl_errno)                       \
  do {                                                          \
    ndpar_error_raise((gsl_errno), __FILE__, __LINE__, (reason)); \
    return;                                                     \
  } while (0)
#define GSL_ERROR_NULL(reason, gsl_errno) GSL_ERROR_VAL(reason, gsl_errno, 0)

/* Checks one argument before any work starts; on failure reports through GSL_ERROR
 * (so the program's gsl_set_error_handler sees it) and returns the code. */
#define NDPAR_REQUIRE(cond, msg, code) \
  do {                                 \
    if (!(cond)) GSL_ERROR(msg, code); \
  } while (0)

#define NDPAR_REQUIRE_NULL(cond, msg, code) \
  do {                                      \
    if (!(cond)) GSL_ERROR_NULL(msg, code); \
  } while (0)

/* GSL_ERROR with a printf-style message (e.g. naming the bad batch): formats, then
 * ndpar_error_raise (recorded; the handler unless this thread is quiet); returns code. */
int ndpar_error_fmt(int code, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#define NDPAR_ERROR_FMT(code, ...) return ndpar_error_fmt((code), __FILE__, __LINE__, __VA_ARGS__)
#define NDPAR_ERROR_NULL_FMT(code, ...)                      \
  do {                                                       \
    ndpar_error_fmt((code), __FILE__, __LINE__, __VA_ARGS__); \
    return NULL;                                             \
  } while (0)

/* Says something to the log handler, or to stderr under NDPAR_VERBOSE=1, or to no one
 * (see ndpar_set_log_handler). printf-style; no trailing newline. */
void ndpar_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Checks an array of n input batches: the array and every entry non-NULL (GSL_EFAULT,
 * naming the entry as "<who>: x[i] is NULL"). */
int ndpar_check_inputs(const char *who, const gsl_matrix *const *x, size_t n);
/* The same for an argument of another name ("<who>: <name>[i] is NULL"). */
int ndpar_check_inputs_named(const char *who, const char *name, const gsl_matrix *const *x,
                             size_t n);

/* Checks an array of n outputs named `name` against the inputs: non-NULL (GSL_EFAULT),
 * out[i] with x[i]'s rows, all with one column count (GSL_EBADLEN, naming the entry). If
 * *cols is SIZE_MAX on entry it is set from out[0]; otherwise out[0] must have *cols. */
int ndpar_check_outputs(const char *who, const char *name, const gsl_matrix *const *x,
                        gsl_matrix *const *out, size_t n, size_t *cols);

/* Outputs that share memory: one would overwrite the other silently (a spread written over
 * the mean). 1 if some element of a is an element of b (exactly: two column blocks of one
 * matrix, or two rows of one, do not overlap); 0 for NULL or empty ones. */
int ndpar_matrices_overlap(const gsl_matrix *a, const gsl_matrix *b);
int ndpar_vectors_overlap(const gsl_vector *a, const gsl_vector *b);
/* GSL_EINVAL, naming both ("<who>: out[2] and spread[2] share memory"), if a[i] and b[i]
 * overlap for some i < n (the same array passed twice, or the same matrix in both); a or b
 * NULL, or NULL entries (checked elsewhere), pass. */
int ndpar_check_distinct(const char *who, const char *aname, gsl_matrix *const *a,
                         const char *bname, gsl_matrix *const *b, size_t n);
/* ndpar_check_distinct for every pair of k named output arrays (NULL arrays pass). */
int ndpar_check_distinct_arrays(const char *who, const char *const *names,
                                gsl_matrix *const *const *arrays, size_t k, size_t n);
/* The same for k named vectors (every pair): GSL_EINVAL naming the first pair that shares
 * memory; NULL ones pass. */
int ndpar_check_distinct_vectors(const char *who, const char *const *names,
                                 const gsl_vector *const *v, size_t k);

/* Several outputs per input batch in one buffer (MC samples, ensemble members): batch b
 * holds `copies` row-major matrices of rows_b x cols, one after another, at buf + offset[b],
 * so the copies of one element are rows_b * cols apart; rowstart numbers the rows of all
 * batches together (rowstart[n] in all), for one parallel pass over every output row.
 * alloc sizes the buffers once, for up to max_n batches of `rows` rows in all (a module's
 * workspace); layout lays the batches of one call out in them, allocating nothing (the
 * caller has checked that they fit). alloc: calling thread, GSL errors (GSL_EINVAL if the
 * size overflows, GSL_ENOMEM), b zeroed on failure. */
typedef struct {
  size_t n, copies, cols;
  size_t max_n, max_rows, capacity; /* what the buffers hold: batches, rows, doubles */
  size_t *offset, *rowstart; /* max_n + 1 entries each */
  double *buf;
} ndpar_blocks;

int ndpar_blocks_alloc(ndpar_blocks *b, const char *who, size_t max_n, size_t rows,
                       size_t copies, size_t cols);
void ndpar_blocks_layout(ndpar_blocks *b, const gsl_matrix *const *x, size_t n);
/* Whether x[0..n) fits b: at most max_n batches and max_rows rows in all (GSL_EBADLEN, or
 * GSL_EINVAL if the rows overflow; reported as "<who>: ..."). */
int ndpar_blocks_fits(const ndpar_blocks *b, const char *who, const gsl_matrix *const *x,
                      size_t n);
void ndpar_blocks_free(ndpar_blocks *b);
/* The rows of x[0..n) together in *rows; GSL_EINVAL (reported, naming `who`) on overflow. */
int ndpar_total_rows(const char *who, const gsl_matrix *const *x, size_t n, size_t *rows);
/* Copy k of batch i, a rows_i x cols matrix. */
static inline double *ndpar_blocks_copy(const ndpar_blocks *b, size_t i, size_t k) {
  return b->buf + b->offset[i] + k * (b->rowstart[i + 1] - b->rowstart[i]) * b->cols;
}
/* The batch holding global row g, searching onwards from batch `from` (rows ascending). */
static inline size_t ndpar_blocks_batch_of(const ndpar_blocks *b, size_t g, size_t from) {
  while (b->rowstart[from + 1] <= g) from++;
  return from;
}

/* Reseeds a stream set: ndpar_streams_at then derives its streams from `seed`. */
void ndpar_streams_reseed(ndpar_streams *s, unsigned long seed);

/* Overflow-checked size arithmetic: *out = a * b (or a + b, or a * b * c) and 1, or 0 when
 * the exact result does not fit a size_t (then *out is unspecified). Every size product
 * and sum computed from caller-given counts goes through these. */
static inline int ndpar_size_mul(size_t a, size_t b, size_t *out) {
  return !__builtin_mul_overflow(a, b, out);
}
static inline int ndpar_size_add(size_t a, size_t b, size_t *out) {
  return !__builtin_add_overflow(a, b, out);
}
static inline int ndpar_size_mul3(size_t a, size_t b, size_t c, size_t *out) {
  size_t ab;
  return ndpar_size_mul(a, b, &ab) && ndpar_size_mul(ab, c, out);
}

/* A rows x cols matrix (n-vector) on malloc that gsl_matrix_free (gsl_vector_free) frees,
 * or NULL when a size is 0, the bytes overflow a size_t or memory is short. Unlike
 * gsl_matrix_alloc it never calls GSL's error handler (worker threads may call it; the
 * caller reports) and leaks nothing when the data cannot be had (gsl_matrix_alloc keeps
 * its struct then). */
gsl_matrix *ndpar_matrix_new(size_t rows, size_t cols);
gsl_vector *ndpar_vector_new(size_t n);

/* The exponent e with ldexp(max_abs, e) in [1, 2), for rescaling values near the ends of
 * the double range before they are summed or squared (ldexp is exact while the result
 * stays normal; e may exceed what one power of two as a double could hold); 0 if max_abs
 * is 0 or not finite. */
int ndpar_pow2_exponent(double max_abs);
/* ndpar_pow2_exponent of the largest of n non-negative weights (0 for none). */
int ndpar_pow2_exponent_of_max(const double *w, size_t n);
/* The mean of v[0], v[stride], ... (n >= 1): gsl_stats_mean, bit for bit, on finite values;
 * with an infinite value, numpy's: the infinity when every infinite value has its sign, NaN
 * when both signs occur (gsl_stats_mean's running mean gives NaN for [inf, inf]: inf - inf).
 * A score of +Inf on every fold is then a mean of +Inf, the best, not a failure. */
double ndpar_stats_mean(const double *v, size_t stride, size_t n);
/* The sample standard deviation (divisor n - 1, n >= 2) of v[0], v[stride], ... about `mean`,
 * as gsl_stats_sd_m, and bit-identical to it unless the largest |v| exceeds 2^500: then its
 * squares would overflow, and the values are first scaled by a power of two (so a finite sd
 * stays finite, e.g. about 1.15e308 for data of +-1e308). ndpar_stats_sd about the mean. */
double ndpar_stats_sd_m(const double *v, size_t stride, size_t n, double mean);
double ndpar_stats_sd(const double *v, size_t stride, size_t n);
/* The population sd (divisor n, numpy's std with ddof = 0; 0 for n = 1) of the same values:
 * ndpar_stats_sd scaled by sqrt((n - 1) / n), so as finite as it (within 2 ulps of the
 * direct formula). */
double ndpar_stats_sd_pop(const double *v, size_t stride, size_t n);
/* ---- Reproducible sums (lib/reprosum.c) -----------------------------------------------
 * An accumulator whose value does not depend on the order of its additions and merges:
 * sums bit-identical for any number of threads and processes (binned summation after
 * Demmel and Nguyen, as in ReproBLAS). 40 bytes: three doubles, three 32-bit carries (one
 * carry step takes at least 2^11 additions, so they cannot overflow before 2^42 additions or
 * 2^31 merges) and the index; arrays of them travel in MPI messages as bytes (the ranks of
 * one run share one architecture). Error below n * max|x| * 2^-79; Inf and NaN as IEEE sums. */
typedef struct {
  double prim[3];    /* per fold: the bin sum */
  int32_t carry[3];  /* per fold: its carries */
  int32_t index;     /* the highest bin reached; -1 empty, -2 an Inf or NaN seen */
} ndpar_rsum;

void ndpar_rsum_init(ndpar_rsum *s, size_t n);              /* n empty accumulators */
void ndpar_rsum_add(ndpar_rsum *s, double x);
void ndpar_rsum_add_scaled(ndpar_rsum *s, const double *x, double w, size_t n); /* s[i] += w x[i] */
void ndpar_rsum_set(ndpar_rsum *s, const double *x, size_t n); /* s[i] = empty + x[i], one pass */
void ndpar_rsum_merge(ndpar_rsum *into, const ndpar_rsum *from);  /* exact: into += from */
void ndpar_rsum_merge_n(ndpar_rsum *into, const ndpar_rsum *from, size_t n);
double ndpar_rsum_value(const ndpar_rsum *s);               /* the sum, rounded once per bin */

/* The same accumulators four to a block, each field an array over the lanes (for SIMD):
 * element j of an array of blocks is lane j % 4 of block j / 4, 40 bytes per element as
 * above, and every operation leaves each lane exactly as the scalar operation would (with
 * AVX2 where the CPU has it, four common-case lanes at once; the scalar code otherwise).
 * An array of n elements takes ndpar_rsumv_blocks(n) blocks; the lanes past n in the last
 * block are kept empty by init and set. */
#define NDPAR_RSUM_LANES 4
typedef struct {
  double prim[3][NDPAR_RSUM_LANES];
  int32_t carry[3][NDPAR_RSUM_LANES];
  int32_t index[NDPAR_RSUM_LANES];
} ndpar_rsum_block;

size_t ndpar_rsumv_blocks(size_t n);
void ndpar_rsumv_init(ndpar_rsum_block *b, size_t n);                   /* n empty elements */
void ndpar_rsumv_set(ndpar_rsum_block *b, const double *x, size_t n);   /* element j = empty + x[j] */
void ndpar_rsumv_add_scaled(ndpar_rsum_block *b, const double *x, double w, size_t n); /* += w x[j] */
/* Element j = empty (set) or itself (add) + x[0][j] + ... + x[m - 1][j], in one pass over
 * the blocks: adding m arrays at once reads and writes the accumulators once. */
void ndpar_rsumv_set_arrays(ndpar_rsum_block *b, const double *const *x, size_t m, size_t n);
void ndpar_rsumv_add_arrays(ndpar_rsum_block *b, const double *const *x, size_t m, size_t n);
void ndpar_rsumv_merge(ndpar_rsum_block *into, const ndpar_rsum_block *from, size_t nblocks);
void ndpar_rsumv_values(const ndpar_rsum_block *b, double out[NDPAR_RSUM_LANES]); /* one block's */
void ndpar_rsumv_add(ndpar_rsum_block *b, size_t j, double x);           /* element j += x */
double ndpar_rsumv_value(const ndpar_rsum_block *b, size_t j);           /* element j's sum */
ndpar_rsum ndpar_rsumv_get(const ndpar_rsum_block *b, size_t j);         /* element j as one */
void ndpar_rsumv_put(ndpar_rsum_block *b, size_t j, const ndpar_rsum *s);
/* Whether the AVX2 code runs: on = 0 or 1 sets it (1 only where the CPU has AVX2), -1
 * asks. Returns the setting before. For tests of both paths. */
int ndpar_rsumv_simd(int on);

/* Code for AVX2, compiled with the target attribute whatever the build's -march, and run
 * only where ndpar_cpu_has_avx2() says the CPU has it (x86-64 with GCC or clang; 0 elsewhere). */
#define NDPAR_AVX2_FN __attribute__((target("avx2")))
#define NDPAR_AVX2_INLINE static inline __attribute__((always_inline, target("avx2")))
int ndpar_cpu_has_avx2(void);

#endif
