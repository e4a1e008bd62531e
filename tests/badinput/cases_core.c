/* Bad input to lib/ (ndpar_core.h) and the pool. */
#include <stdlib.h>

#include "badinput.h"

/* ---- slots, cache lines, scratch ---- */

CASE(ndpar_slots_alloc, "NULL slots") { EXPECT_CODE(ndpar_slots_alloc(NULL, 4, 8), GSL_EFAULT); }

CASE(ndpar_slots_alloc, "bytes = SIZE_MAX: stride overflows") {
  ndpar_slots s = {(void *)&s, 77, 77};
  EXPECT_EITHER(ndpar_slots_alloc(&s, 1, SIZE_MAX), GSL_EINVAL, GSL_ENOMEM);
  EXPECT_TRUE(s.base == (void *)&s && s.stride == 77 && s.n == 77);
}

CASE(ndpar_slots_alloc, "n x bytes overflows") {
  ndpar_slots s = {(void *)&s, 77, 77};
  EXPECT_EITHER(ndpar_slots_alloc(&s, SIZE_MAX / 64 + 2, 64), GSL_EINVAL, GSL_ENOMEM);
  EXPECT_TRUE(s.base == (void *)&s && s.stride == 77 && s.n == 77);
}

CASE(ndpar_slots_alloc, "more than memory: ENOMEM") {
  ndpar_slots s = {(void *)&s, 77, 77};
  EXPECT_EITHER(ndpar_slots_alloc(&s, (size_t)1 << 20, (size_t)1 << 40), GSL_ENOMEM, GSL_EINVAL);
  EXPECT_TRUE(s.base == (void *)&s && s.stride == 77 && s.n == 77);
}

CASE(ndpar_slots_free, "NULL, and zeroed slots") {
  ndpar_slots_free(NULL);
  ndpar_slots s = {0};
  ndpar_slots_free(&s);
  EXPECT_OK(ndpar_slots_alloc(&s, 0, 0));
  ndpar_slots_free(&s);
}

CASE(ndpar_slots_at, "zero-byte slots stay on their own lines") {
  ndpar_slots s;
  EXPECT_OK(ndpar_slots_alloc(&s, 3, 0));
  EXPECT_TRUE(s.stride >= NDPAR_CACHELINE && s.stride % NDPAR_CACHELINE == 0);
  char *a = ndpar_slots_at(&s, 0), *c = ndpar_slots_at(&s, 2);
  EXPECT_TRUE((size_t)(c - a) == 2 * s.stride && (uintptr_t)c % NDPAR_CACHELINE == 0);
  ndpar_slots_free(&s);
}

CASE(ndpar_cacheline_round, "0, 1, a line, and sizes near SIZE_MAX never wrap") {
  EXPECT_TRUE(ndpar_cacheline_round(1) == NDPAR_CACHELINE);
  EXPECT_TRUE(ndpar_cacheline_round(NDPAR_CACHELINE) == NDPAR_CACHELINE);
  EXPECT_TRUE(ndpar_cacheline_round(NDPAR_CACHELINE + 1) == 2 * NDPAR_CACHELINE);
  size_t top = SIZE_MAX / NDPAR_CACHELINE * NDPAR_CACHELINE;
  EXPECT_TRUE(ndpar_cacheline_round(top) == top);
  /* Beyond the last multiple the answer cannot be >= bytes: it must not be a small
   * number that a caller would allocate and overrun. */
  size_t r = ndpar_cacheline_round(SIZE_MAX);
  cr_assert(r == 0 || r >= top, "%s: ndpar_cacheline_round(SIZE_MAX) = %zu", bi_label(), r);
  r = ndpar_cacheline_round(top + 1);
  cr_assert(r == 0 || r >= top, "%s: ndpar_cacheline_round(top + 1) = %zu", bi_label(), r);
}

CASE(ndpar_thread_scratch, "SIZE_MAX and SIZE_MAX - 1: NULL, not a small buffer") {
  EXPECT_TRUE(ndpar_thread_scratch(SIZE_MAX) == NULL);
  EXPECT_TRUE(ndpar_thread_scratch(SIZE_MAX - 1) == NULL);
  EXPECT_TRUE(ndpar_thread_scratch((size_t)1 << 62) == NULL);
  char *p = ndpar_thread_scratch(100);
  EXPECT_TRUE(p != NULL);
  p[99] = 1;
  EXPECT_TRUE(ndpar_thread_scratch(SIZE_MAX) == NULL);
  ndpar_thread_scratch_release();
}

CASE(ndpar_thread_scratch, "0 bytes") {
  (void)ndpar_thread_scratch(0); /* any answer; no crash */
  ndpar_thread_scratch_release();
}

CASE(ndpar_thread_scratch_release, "with nothing held, twice") {
  ndpar_thread_scratch_release();
  ndpar_thread_scratch_release();
  EXPECT_TRUE(ndpar_thread_scratch(64) != NULL);
  ndpar_thread_scratch_release();
  ndpar_thread_scratch_release();
}

/* ---- streams ---- */

static void free_streams(void *s) { ndpar_streams_free(s); }

CASE(ndpar_stream_seed, "extreme seeds and indices are distinct and stable") {
  unsigned long a = ndpar_stream_seed(0, 0), b = ndpar_stream_seed(0, SIZE_MAX);
  unsigned long c = ndpar_stream_seed(ULONG_MAX, 0), d = ndpar_stream_seed(ULONG_MAX, SIZE_MAX);
  EXPECT_TRUE(a != b && a != c && a != d && b != c && b != d && c != d);
  EXPECT_TRUE(ndpar_stream_seed(ULONG_MAX, SIZE_MAX) == d);
}

CASE(ndpar_streams_alloc, "0 workers") { EXPECT_NULL(ndpar_streams_alloc(0, 1)); }

CASE(ndpar_streams_alloc, "SIZE_MAX workers") { EXPECT_NULL(ndpar_streams_alloc(SIZE_MAX, 1)); }

CASE(ndpar_streams_alloc, "2^61 workers: the array size overflows") {
  EXPECT_NULL(ndpar_streams_alloc((size_t)1 << 61, 1));
}

CASE(ndpar_streams_free, "NULL") { ndpar_streams_free(NULL); }

CASE(ndpar_streams_at, "NULL streams: a defined answer, no crash") {
  EXPECT_TRUE(ndpar_streams_at(NULL, 0, 0) == NULL);
}

CASE(ndpar_streams_at, "extreme index on a valid stream") {
  ndpar_streams *s = bi_hold(ndpar_streams_alloc(2, ULONG_MAX), free_streams);
  EXPECT_TRUE(s != NULL);
  gsl_rng *r = ndpar_streams_at(s, 1, SIZE_MAX);
  EXPECT_TRUE(r != NULL);
  unsigned long x = gsl_rng_get(r);
  EXPECT_TRUE(gsl_rng_get(ndpar_streams_at(s, 0, SIZE_MAX)) == x);
}

CASE(ndpar_streams_at_pair, "NULL streams: a defined answer, no crash") {
  EXPECT_TRUE(ndpar_streams_at_pair(NULL, 0, 0, 0) == NULL);
}

CASE(ndpar_streams_at_pair, "extreme pair on a valid stream") {
  ndpar_streams *s = bi_hold(ndpar_streams_alloc(1, 0), free_streams);
  EXPECT_TRUE(s != NULL);
  unsigned long x = gsl_rng_get(ndpar_streams_at_pair(s, 0, SIZE_MAX, SIZE_MAX));
  unsigned long y = gsl_rng_get(ndpar_streams_at_pair(s, 0, SIZE_MAX, 0));
  EXPECT_TRUE(x != y);
}

/* ---- timer and row batches ---- */

CASE(ndpar_time_now, "finite and monotonic") {
  double a = ndpar_time_now(), b = ndpar_time_now();
  EXPECT_TRUE(isfinite(a) && b >= a);
}

CASE(ndpar_rows_nbatches, "zero sizes and sizes near SIZE_MAX") {
  EXPECT_TRUE(ndpar_rows_nbatches(0, 5) == 0);
  EXPECT_TRUE(ndpar_rows_nbatches(5, 0) == 0);
  EXPECT_TRUE(ndpar_rows_nbatches(SIZE_MAX, 1) == SIZE_MAX);
  EXPECT_TRUE(ndpar_rows_nbatches(SIZE_MAX, 2) == SIZE_MAX / 2 + 1);
  EXPECT_TRUE(ndpar_rows_nbatches(SIZE_MAX, SIZE_MAX) == 1);
  EXPECT_TRUE(ndpar_rows_nbatches(1, SIZE_MAX) == 1);
}

CASE(ndpar_rows_batch_const, "NULL matrix: a defined answer, no crash") {
  _gsl_matrix_const_view v = ndpar_rows_batch_const(NULL, 4, 0);
  EXPECT_TRUE(v.matrix.data == NULL);
}

CASE(ndpar_rows_batch_const, "huge batch_rows: one batch of every row") {
  gsl_matrix *m = bi_matrix(5, 3);
  _gsl_matrix_const_view v = ndpar_rows_batch_const(m, SIZE_MAX, 0);
  EXPECT_TRUE(v.matrix.size1 == 5 && v.matrix.size2 == 3 && v.matrix.data == m->data);
}

CASE(ndpar_rows_batch_const, "batch index past the end, or wrapping: an empty view") {
  gsl_matrix *m = bi_matrix(5, 3);
  _gsl_matrix_const_view v = ndpar_rows_batch_const(m, 2, 3);
  EXPECT_TRUE(v.matrix.data == NULL && v.matrix.size1 == 0);
  v = ndpar_rows_batch_const(m, 2, SIZE_MAX / 2 + 1); /* i * batch_rows wraps to 0 */
  EXPECT_TRUE(v.matrix.data == NULL && v.matrix.size1 == 0);
  v = ndpar_rows_batch_const(m, 0, 0);
  EXPECT_TRUE(v.matrix.data == NULL && v.matrix.size1 == 0);
}

CASE(ndpar_rows_batch, "NULL matrix: a defined answer, no crash") {
  _gsl_matrix_view v = ndpar_rows_batch(NULL, 4, 0);
  EXPECT_TRUE(v.matrix.data == NULL);
}

CASE(ndpar_rows_batch, "batch index past the end, or wrapping: an empty view") {
  gsl_matrix *m = bi_matrix(5, 3);
  _gsl_matrix_view v = ndpar_rows_batch(m, 5, 1);
  EXPECT_TRUE(v.matrix.data == NULL && v.matrix.size1 == 0);
  v = ndpar_rows_batch(m, (size_t)1 << 63, 2); /* i * batch_rows wraps to 0 */
  EXPECT_TRUE(v.matrix.data == NULL && v.matrix.size1 == 0);
}

CASE(ndpar_rows_batch_vector_const, "NULL vector: a defined answer, no crash") {
  _gsl_vector_const_view v = ndpar_rows_batch_vector_const(NULL, 4, 0);
  EXPECT_TRUE(v.vector.data == NULL);
}

CASE(ndpar_rows_batch_vector_const, "index past the end, or wrapping: an empty view") {
  gsl_vector *x = bi_vector(7);
  _gsl_vector_const_view v = ndpar_rows_batch_vector_const(x, 3, 3);
  EXPECT_TRUE(v.vector.data == NULL && v.vector.size == 0);
  v = ndpar_rows_batch_vector_const(x, (size_t)1 << 63, 2);
  EXPECT_TRUE(v.vector.data == NULL && v.vector.size == 0);
  v = ndpar_rows_batch_vector_const(x, 3, 2); /* the short last batch */
  EXPECT_TRUE(v.vector.size == 1 && v.vector.data == x->data + 6);
}

/* ---- pool ---- */

CASE(ndpar_pool_config_init, "garbage in the environment is ignored") {
  setenv("NDPAR_NUM_THREADS", "99999999999999999999999", 1);
  setenv("NDPAR_BIND", "sideways", 1);
  setenv("NDPAR_SPIN_US", "-5", 1);
  ndpar_pool_config c;
  ndpar_pool_config_init(&c);
  EXPECT_TRUE(c.threads == 0 && c.bind == NDPAR_BIND_CORES && c.min_parallel >= 1);
  EXPECT_TRUE(c.spin_us == 100);
}

CASE(ndpar_pool_config_init, "thread counts that wrap or are negative are ignored") {
  setenv("NDPAR_NUM_THREADS", "-1", 1);
  ndpar_pool_config c;
  ndpar_pool_config_init(&c);
  EXPECT_TRUE(c.threads == 0);
  setenv("NDPAR_NUM_THREADS", "18446744073709551616", 1); /* 2^64 */
  ndpar_pool_config_init(&c);
  EXPECT_TRUE(c.threads == 0);
}

static ndpar_pool_config config_of(size_t threads) {
  ndpar_pool_config c;
  ndpar_pool_config_init(&c);
  c.threads = threads;
  c.bind = NDPAR_BIND_NONE;
  return c;
}

CASE(ndpar_pool_alloc, "SIZE_MAX threads") {
  ndpar_pool_config c = config_of(SIZE_MAX);
  EXPECT_NULL(ndpar_pool_alloc(&c));
}

CASE(ndpar_pool_alloc, "2^60 threads: the worker array overflows") {
  ndpar_pool_config c = config_of((size_t)1 << 60);
  EXPECT_NULL(ndpar_pool_alloc(&c));
}

CASE(ndpar_pool_alloc, "min_parallel 0") {
  ndpar_pool_config c = config_of(2);
  c.min_parallel = 0;
  EXPECT_NULL(ndpar_pool_alloc(&c));
}

CASE(ndpar_pool_alloc, "unknown binding") {
  ndpar_pool_config c = config_of(2);
  c.bind = (ndpar_bind)42;
  EXPECT_NULL(ndpar_pool_alloc(&c));
}

CASE(ndpar_pool_free, "NULL") { ndpar_pool_free(NULL); }

CASE(ndpar_pool_threads, "NULL is the default pool") {
  EXPECT_TRUE(ndpar_pool_threads(NULL) >= 1);
  EXPECT_TRUE(ndpar_pool_threads(NULL) == ndpar_pool_threads(ndpar_pool_default()));
}

CASE(ndpar_pool_binding, "NULL is the default pool") {
  ndpar_bind b = ndpar_pool_binding(NULL);
  EXPECT_TRUE(b == NDPAR_BIND_CORES || b == NDPAR_BIND_NONE);
}

CASE(ndpar_pool_default, "one pool for every caller") {
  EXPECT_TRUE(ndpar_pool_default() != NULL && ndpar_pool_default() == ndpar_pool_default());
}

CASE(ndpar_pool_default, "a bad NDPAR_NUM_THREADS still gives a pool") {
  setenv("NDPAR_NUM_THREADS", "abc", 1);
  EXPECT_TRUE(ndpar_pool_default() != NULL);
}

CASE(ndpar_pool_run, "NULL callback") {
  EXPECT_CODE(ndpar_pool_run(bi_pool(2), 4, NULL, NULL), GSL_EFAULT);
}

static int fail_at_zero(const ndpar_task *t, void *ctx) {
  (void)ctx;
  return t->index == 0 ? GSL_EDOM : GSL_SUCCESS;
}

static int fail_always(const ndpar_task *t, void *ctx) {
  (void)t, (void)ctx;
  return GSL_ERANGE;
}

CASE(ndpar_pool_run, "n = SIZE_MAX with a failing task stops, no wrap") {
  cr_assert_eq(ndpar_pool_run(bi_pool(3), SIZE_MAX, fail_always, NULL), GSL_ERANGE, "%s",
               bi_label());
}

CASE(ndpar_pool_run_ex, "NULL callback; NULL failed is allowed") {
  size_t failed = 99;
  EXPECT_CODE(ndpar_pool_run_ex(bi_pool(2), 4, NULL, NULL, &failed), GSL_EFAULT);
  EXPECT_TRUE(failed == 99);
  EXPECT_OK(ndpar_pool_run_ex(bi_pool(2), 4, bi_task_ok, NULL, NULL));
}

CASE(ndpar_pool_run_ex, "n = SIZE_MAX: the failing index is right") {
  size_t failed = 99;
  cr_assert_eq(ndpar_pool_run_ex(bi_pool(3), SIZE_MAX, fail_at_zero, NULL, &failed), GSL_EDOM, "%s",
               bi_label());
  EXPECT_TRUE(failed == 0);
}

static int range_fail(size_t begin, size_t end, const ndpar_task *t, void *ctx) {
  (void)end, (void)t, (void)ctx;
  return begin == 0 ? GSL_EDOM : GSL_SUCCESS;
}

/* Every chunk in range and non-empty, even near SIZE_MAX. */
static int range_in_bounds(size_t begin, size_t end, const ndpar_task *t, void *ctx) {
  (void)t;
  size_t n = *(size_t *)ctx;
  if (!(begin < end && end <= n)) return GSL_ESANITY;
  return GSL_SUCCESS;
}

CASE(ndpar_pool_run_range, "NULL callback") {
  EXPECT_CODE(ndpar_pool_run_range(bi_pool(2), 10, NULL, NULL, NULL), GSL_EFAULT);
}

CASE(ndpar_pool_run_range, "n = SIZE_MAX: chunks never wrap, failure stops the run") {
  size_t failed = 99;
  cr_assert_eq(ndpar_pool_run_range(bi_pool(3), SIZE_MAX, range_fail, NULL, &failed), GSL_EDOM,
               "%s", bi_label());
  EXPECT_TRUE(failed == 0);
}

CASE(ndpar_pool_run_range, "n = 0 and n = 1") {
  size_t n = 1, failed = 99;
  EXPECT_OK(ndpar_pool_run_range(bi_pool(3), 0, range_in_bounds, &n, &failed));
  EXPECT_OK(ndpar_pool_run_range(bi_pool(3), 1, range_in_bounds, &n, &failed));
  EXPECT_TRUE(failed == 1);
}

CASE(ndpar_physical_cores, "at least one, stable") {
  size_t c = ndpar_physical_cores();
  EXPECT_TRUE(c >= 1 && c == ndpar_physical_cores());
}
