/* core.c: padded slots, thread-local scratch, random streams, timer, row views. */
#include "ndpar/ndpar_core.h"
#include "ndpar_internal.h"

#include <gsl/gsl_math.h>
#include <gsl/gsl_statistics_double.h>

#include <pthread.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- the last error (see ndpar_error_last) ------------------------------------------- */

__thread ndpar_error_info ndpar_tls_error;
__thread int ndpar_tls_quiet;

const ndpar_error_info *ndpar_error_last(void) { return &ndpar_tls_error; }

void ndpar_error_clear(void) { ndpar_tls_error.code = 0; }

static void error_record(int code, const char *file, int line, const char *reason) {
  ndpar_error_info *e = &ndpar_tls_error;
  e->code = code ? code : GSL_EFAILED;
  e->line = line;
  /* file and reason may point into this record (a task's error passed on): copy through
   * buffers. */
  char where[sizeof e->file];
  char text[sizeof e->message];
  snprintf(where, sizeof where, "%s", file ? file : "");
  snprintf(text, sizeof text, "%s", reason ? reason : "");
  memcpy(e->file, where, sizeof where);
  memcpy(e->message, text, sizeof text);
}

int ndpar_error_raise(int code, const char *file, int line, const char *reason) {
  error_record(code, file, line, reason);
  /* The record's copy: it stays valid after this call (a handler may keep the pointer). */
  if (ndpar_tls_quiet == 0) gsl_error(ndpar_tls_error.message, file, line, code);
  return code;
}

void ndpar_error_note(int code, const char *file, int line, const char *fmt, ...) {
  char reason[sizeof ndpar_tls_error.message];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(reason, sizeof reason, fmt, ap);
  va_end(ap);
  error_record(code, file, line, reason);
}

int ndpar_error_fmt(int code, const char *file, int line, const char *fmt, ...) {
  char reason[sizeof ndpar_tls_error.message];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(reason, sizeof reason, fmt, ap);
  va_end(ap);
  return ndpar_error_raise(code, file, line, reason);
}

/* ---- messages ------------------------------------------------------------------------ */

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static ndpar_log_fn log_fn;
static void *log_ctx;

void ndpar_set_log_handler(ndpar_log_fn fn, void *ctx) {
  pthread_mutex_lock(&log_lock);
  log_fn = fn;
  log_ctx = ctx;
  pthread_mutex_unlock(&log_lock);
}

static int verbose(void) {
  const char *v = getenv("NDPAR_VERBOSE");
  return v != NULL && strcmp(v, "1") == 0;
}

void ndpar_log(const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  /* Held during the call: the handler sees one message at a time. */
  pthread_mutex_lock(&log_lock);
  if (log_fn)
    log_fn(msg, log_ctx);
  else if (verbose())
    fprintf(stderr, "ndpar: %s\n", msg);
  pthread_mutex_unlock(&log_lock);
}

int ndpar_check_inputs_named(const char *who, const char *name, const gsl_matrix *const *x,
                             size_t n) {
  if (x == NULL) NDPAR_ERROR_FMT(GSL_EFAULT, "%s: %s is NULL", who, name);
  for (size_t i = 0; i < n; i++)
    if (x[i] == NULL) NDPAR_ERROR_FMT(GSL_EFAULT, "%s: %s[%zu] is NULL", who, name, i);
  return GSL_SUCCESS;
}

int ndpar_check_inputs(const char *who, const gsl_matrix *const *x, size_t n) {
  return ndpar_check_inputs_named(who, "x", x, n);
}

int ndpar_check_outputs(const char *who, const char *name, const gsl_matrix *const *x,
                        gsl_matrix *const *out, size_t n, size_t *cols) {
  if (out == NULL) NDPAR_ERROR_FMT(GSL_EFAULT, "%s: %s is NULL", who, name);
  for (size_t i = 0; i < n; i++) {
    if (out[i] == NULL) NDPAR_ERROR_FMT(GSL_EFAULT, "%s: %s[%zu] is NULL", who, name, i);
    if (out[i]->size1 != x[i]->size1)
      NDPAR_ERROR_FMT(GSL_EBADLEN, "%s: %s[%zu] has %zu rows, x[%zu] has %zu", who, name, i,
                      out[i]->size1, i, x[i]->size1);
    if (*cols == SIZE_MAX) *cols = out[i]->size2;
    if (out[i]->size2 != *cols)
      NDPAR_ERROR_FMT(GSL_EBADLEN, "%s: %s[%zu] has %zu columns, expected %zu", who, name, i,
                      out[i]->size2, *cols);
  }
  return GSL_SUCCESS;
}

/* ---- outputs that share memory ---- */

/* rows segments of len bytes, step bytes apart, from base. */
typedef struct {
  uintptr_t base;
  size_t rows, len, step;
} strided;

static int strided_overlap(strided a, strided b) {
  if (a.rows == 0 || a.len == 0 || b.rows == 0 || b.len == 0 || b.step == 0) return 0;
  uintptr_t a_end = a.base + (a.rows - 1) * a.step + a.len, b_end = b.base + (b.rows - 1) * b.step + b.len;
  if (a_end <= b.base || b_end <= a.base) return 0;
  for (size_t r = 0; r < a.rows; r++) {
    uintptr_t s = a.base + r * a.step, e = s + a.len;
    if (e <= b.base) continue;
    size_t k = (size_t)(e - 1 - b.base) / b.step; /* b's last segment starting before e */
    if (k >= b.rows) k = b.rows - 1;
    if (b.base + k * b.step + b.len > s) return 1; /* ends ascend: no earlier one reaches s */
  }
  return 0;
}

static strided of_matrix(const gsl_matrix *m) {
  return (strided){(uintptr_t)m->data, m->size1, m->size2 * sizeof(double), m->tda * sizeof(double)};
}

static strided of_vector(const gsl_vector *v) {
  return (strided){(uintptr_t)v->data, v->size, sizeof(double), v->stride * sizeof(double)};
}

int ndpar_matrices_overlap(const gsl_matrix *a, const gsl_matrix *b) {
  return a && b && a->data && b->data && strided_overlap(of_matrix(a), of_matrix(b));
}

int ndpar_vectors_overlap(const gsl_vector *a, const gsl_vector *b) {
  return a && b && a->data && b->data && strided_overlap(of_vector(a), of_vector(b));
}

int ndpar_check_distinct(const char *who, const char *aname, gsl_matrix *const *a,
                         const char *bname, gsl_matrix *const *b, size_t n) {
  if (a == NULL || b == NULL) return GSL_SUCCESS;
  for (size_t i = 0; i < n; i++)
    if (ndpar_matrices_overlap(a[i], b[i]))
      NDPAR_ERROR_FMT(GSL_EINVAL, "%s: %s[%zu] and %s[%zu] share memory", who, aname, i, bname, i);
  return GSL_SUCCESS;
}

int ndpar_check_distinct_arrays(const char *who, const char *const *names,
                                gsl_matrix *const *const *arrays, size_t k, size_t n) {
  for (size_t i = 0; i < k; i++)
    for (size_t j = i + 1; j < k; j++) {
      int status = ndpar_check_distinct(who, names[i], arrays[i], names[j], arrays[j], n);
      if (status) return status;
    }
  return GSL_SUCCESS;
}

int ndpar_check_distinct_vectors(const char *who, const char *const *names,
                                 const gsl_vector *const *v, size_t k) {
  for (size_t i = 0; i < k; i++)
    for (size_t j = i + 1; j < k; j++)
      if (ndpar_vectors_overlap(v[i], v[j]))
        NDPAR_ERROR_FMT(GSL_EINVAL, "%s: %s and %s share memory", who, names[i], names[j]);
  return GSL_SUCCESS;
}

size_t ndpar_cacheline_round(size_t bytes) {
  if (bytes == 0) return NDPAR_CACHELINE;
  size_t padded;
  if (!ndpar_size_add(bytes, NDPAR_CACHELINE - 1, &padded)) return SIZE_MAX; /* does not fit */
  return padded / NDPAR_CACHELINE * NDPAR_CACHELINE;
}

int ndpar_pow2_exponent(double max_abs) {
  if (!(max_abs > 0) || !isfinite(max_abs)) return 0;
  return -ilogb(max_abs);
}

int ndpar_pow2_exponent_of_max(const double *w, size_t n) {
  double wmax = 0;
  for (size_t i = 0; i < n; i++) wmax = w[i] > wmax ? w[i] : wmax;
  return ndpar_pow2_exponent(wmax);
}

double ndpar_stats_sd_m(const double *v, size_t stride, size_t n, double mean) {
  double max_abs = 0;
  for (size_t i = 0; i < n; i++) max_abs = GSL_MAX(max_abs, fabs(v[i * stride]));
  if (!isfinite(max_abs) || max_abs <= 0x1p500) return gsl_stats_sd_m(v, stride, n, mean);
  /* GSL's recurrence on the scaled values: |v| < 2 there, so nothing overflows. */
  int e = ndpar_pow2_exponent(max_abs);
  double scaled_mean = ldexp(mean, e);
  long double variance = 0;
  for (size_t i = 0; i < n; i++) {
    long double delta = ldexp(v[i * stride], e) - scaled_mean;
    variance += (delta * delta - variance) / (i + 1);
  }
  return ldexp(sqrt((double)variance * ((double)n / (double)(n - 1))), -e);
}

double ndpar_stats_mean(const double *v, size_t stride, size_t n) {
  int pos = 0, neg = 0;
  for (size_t i = 0; i < n; i++) {
    pos |= v[i * stride] == GSL_POSINF;
    neg |= v[i * stride] == GSL_NEGINF;
  }
  if (pos && neg) return GSL_NAN;
  if (pos) return GSL_POSINF;
  if (neg) return GSL_NEGINF;
  return gsl_stats_mean(v, stride, n);
}

double ndpar_stats_sd(const double *v, size_t stride, size_t n) {
  return ndpar_stats_sd_m(v, stride, n, gsl_stats_mean(v, stride, n));
}

double ndpar_stats_sd_pop(const double *v, size_t stride, size_t n) {
  return n > 1 ? ndpar_stats_sd(v, stride, n) * sqrt((double)(n - 1) / (double)n) : 0.0;
}

int ndpar_slots_alloc(ndpar_slots *slots, size_t n, size_t bytes) {
  NDPAR_REQUIRE(slots != NULL, "slots is NULL", GSL_EFAULT);
  size_t stride = ndpar_cacheline_round(bytes), total;
  NDPAR_REQUIRE(stride != SIZE_MAX && ndpar_size_mul(stride, n ? n : 1, &total),
                "slots: n * bytes overflows", GSL_EINVAL);
  void *base = NULL;
  if (posix_memalign(&base, NDPAR_CACHELINE, total) != 0)
    GSL_ERROR("slots: out of memory", GSL_ENOMEM);
  memset(base, 0, total);
  slots->base = base;
  slots->stride = stride;
  slots->n = n;
  return GSL_SUCCESS;
}

void ndpar_slots_free(ndpar_slots *slots) {
  if (slots == NULL) return;
  free(slots->base);
  slots->base = NULL;
  slots->n = 0;
}

/* ---- matrices that cannot leak ---- */

/* A block of n doubles, or NULL with nothing held. */
static gsl_block *block_new(size_t n) {
  size_t bytes;
  if (n == 0 || !ndpar_size_mul(n, sizeof(double), &bytes)) return NULL;
  gsl_block *b = malloc(sizeof *b);
  double *d = b ? malloc(bytes) : NULL;
  if (d == NULL) {
    free(b);
    return NULL;
  }
  *b = (gsl_block){.size = n, .data = d};
  return b;
}

gsl_matrix *ndpar_matrix_new(size_t rows, size_t cols) {
  size_t n;
  if (!ndpar_size_mul(rows, cols, &n)) return NULL;
  gsl_block *b = block_new(n);
  gsl_matrix *m = b ? malloc(sizeof *m) : NULL;
  if (m == NULL) {
    if (b) gsl_block_free(b);
    return NULL;
  }
  *m = (gsl_matrix){.size1 = rows, .size2 = cols, .tda = cols, .data = b->data, .block = b, .owner = 1};
  return m;
}

gsl_vector *ndpar_vector_new(size_t n) {
  gsl_block *b = block_new(n);
  gsl_vector *v = b ? malloc(sizeof *v) : NULL;
  if (v == NULL) {
    if (b) gsl_block_free(b);
    return NULL;
  }
  *v = (gsl_vector){.size = n, .stride = 1, .data = b->data, .block = b, .owner = 1};
  return v;
}

/* ---- thread-local scratch ---- */

/* The buffer lives in static TLS (so leak checkers see it reachable from a live thread);
 * the pthread key exists only for its destructor, which frees it at thread exit. */
static __thread void *scratch_buf;
static __thread size_t scratch_size;
static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void scratch_destroy(void *p) {
  free(p);
  scratch_buf = NULL;
  scratch_size = 0;
}

static void scratch_key_create(void) { pthread_key_create(&scratch_key, scratch_destroy); }

void *ndpar_thread_scratch(size_t bytes) {
  if (bytes <= scratch_size && scratch_buf != NULL) return scratch_buf;
  pthread_once(&scratch_once, scratch_key_create);
  size_t want = ndpar_cacheline_round(bytes);
  if (want == SIZE_MAX) return NULL; /* bytes does not fit a size_t once rounded */
  void *p = NULL;
  if (posix_memalign(&p, NDPAR_CACHELINE, want) != 0) return NULL;
  free(scratch_buf);
  scratch_buf = p;
  scratch_size = want;
  pthread_setspecific(scratch_key, p);
  return p;
}

void ndpar_thread_scratch_release(void) {
  if (scratch_buf == NULL) return;
  pthread_setspecific(scratch_key, NULL);
  free(scratch_buf);
  scratch_buf = NULL;
  scratch_size = 0;
}

/* ---- blocks of outputs ---- */

int ndpar_total_rows(const char *who, const gsl_matrix *const *x, size_t n, size_t *rows) {
  size_t total = 0;
  for (size_t i = 0; i < n; i++)
    if (!ndpar_size_add(total, x[i]->size1, &total))
      NDPAR_ERROR_FMT(GSL_EINVAL, "%s: the batches' row count overflows", who);
  *rows = total;
  return GSL_SUCCESS;
}

int ndpar_blocks_alloc(ndpar_blocks *b, const char *who, size_t n, size_t rows, size_t copies,
                       size_t cols) {
  *b = (ndpar_blocks){0, copies, cols, 0, 0, 0, NULL, NULL, NULL};
  size_t bytes;
  if (n >= SIZE_MAX / sizeof(size_t) || !ndpar_size_mul3(rows, cols, copies, &b->capacity) ||
      !ndpar_size_mul(b->capacity, sizeof(double), &bytes))
    NDPAR_ERROR_FMT(GSL_EINVAL, "%s: the output buffer's size (rows x cols x copies) overflows", who);
  b->offset = malloc((n + 1) * sizeof *b->offset);
  b->rowstart = malloc((n + 1) * sizeof *b->rowstart);
  void *buf = NULL;
  if (posix_memalign(&buf, NDPAR_CACHELINE, ndpar_cacheline_round(bytes)))
    buf = NULL;
  b->buf = buf;
  b->max_n = n;
  b->max_rows = rows;
  if (b->offset == NULL || b->rowstart == NULL || b->buf == NULL) {
    ndpar_blocks_free(b);
    NDPAR_ERROR_FMT(GSL_ENOMEM, "%s: out of memory for the outputs", who);
  }
  return GSL_SUCCESS;
}

int ndpar_blocks_fits(const ndpar_blocks *b, const char *who, const gsl_matrix *const *x,
                      size_t n) {
  size_t rows = 0;
  int status = ndpar_total_rows(who, x, n, &rows);
  if (status) return status;
  if (n > b->max_n)
    NDPAR_ERROR_FMT(GSL_EBADLEN, "%s: n is %zu, the workspace holds %zu batches", who, n, b->max_n);
  if (rows > b->max_rows)
    NDPAR_ERROR_FMT(GSL_EBADLEN, "%s: x has %zu rows in all, the workspace holds %zu", who, rows,
                    b->max_rows);
  return GSL_SUCCESS;
}

void ndpar_blocks_layout(ndpar_blocks *b, const gsl_matrix *const *x, size_t n) {
  b->n = n;
  b->offset[0] = b->rowstart[0] = 0;
  for (size_t i = 0; i < n; i++) {
    size_t rows = x[i]->size1;
    b->offset[i + 1] = b->offset[i] + b->copies * rows * b->cols;
    b->rowstart[i + 1] = b->rowstart[i] + rows;
  }
}

void ndpar_blocks_free(ndpar_blocks *b) {
  free(b->offset);
  free(b->rowstart);
  free(b->buf);
  b->offset = b->rowstart = NULL;
  b->buf = NULL;
}

/* ---- random streams ---- */

struct ndpar_streams {
  unsigned long seed;
  size_t n;
  gsl_rng **rng;
};

static uint64_t splitmix64_mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

unsigned long ndpar_stream_seed(unsigned long seed, size_t index) {
  /* Two rounds: mix the seed, then mix (mixed seed + golden-gamma * (index + 1)), so that
   * nearby seeds and nearby indices give unrelated streams. */
  uint64_t s = splitmix64_mix((uint64_t)seed + 0x9e3779b97f4a7c15ULL);
  uint64_t z = splitmix64_mix(s + 0x9e3779b97f4a7c15ULL * ((uint64_t)index + 1));
  return (unsigned long)(z ? z : 1); /* gsl's taus2 maps seed 0 to its default: avoid it */
}

/* gsl_rng_alloc's generator, but the struct and the state each on cache lines of their own:
 * gsl_rng_alloc mallocs both small (16 and 24 bytes for taus2), so consecutive workers'
 * generators shared lines, and every draw (a write of the state) took the line from the
 * other worker. Whether they did depended on where malloc put them: MC dropout at 2 threads
 * ran 10.7 ms in one process and 15 ms in another. gsl_rng's two fields are public, and
 * gsl_rng_free frees both with free(), which takes posix_memalign's memory. */
static gsl_rng *rng_alloc_own_lines(const gsl_rng_type *type) {
  void *r = NULL, *state = NULL;
  if (posix_memalign(&r, NDPAR_CACHELINE, ndpar_cacheline_round(sizeof(gsl_rng))) != 0) return NULL;
  if (posix_memalign(&state, NDPAR_CACHELINE, ndpar_cacheline_round(type->size ? type->size : 1)) != 0) {
    free(r);
    return NULL;
  }
  gsl_rng *g = r;
  g->type = type;
  g->state = state;
  gsl_rng_set(g, gsl_rng_default_seed);
  return g;
}

ndpar_streams *ndpar_streams_alloc(size_t workers, unsigned long seed) {
  NDPAR_REQUIRE_NULL(workers > 0, "streams: workers must be positive", GSL_EINVAL);
  ndpar_streams *s = calloc(1, sizeof *s);
  gsl_rng **rng = calloc(workers, sizeof *rng);
  if (s == NULL || rng == NULL) goto fail;
  s->rng = rng;
  s->n = workers;
  s->seed = seed;
  for (size_t w = 0; w < workers; w++) {
    rng[w] = rng_alloc_own_lines(gsl_rng_taus2);
    if (rng[w] == NULL) goto fail;
  }
  return s;
fail:
  ndpar_streams_free(s);
  if (s == NULL) free(rng);
  NDPAR_ERROR_NULL_FMT(GSL_ENOMEM, "streams_alloc: out of memory for %zu workers", workers);
}

void ndpar_streams_reseed(ndpar_streams *s, unsigned long seed) { s->seed = seed; }

void ndpar_streams_free(ndpar_streams *s) {
  if (s == NULL) return;
  if (s->rng)
    for (size_t w = 0; w < s->n; w++) gsl_rng_free(s->rng[w]);
  free(s->rng);
  free(s);
}

gsl_rng *ndpar_streams_at(ndpar_streams *s, unsigned worker, size_t index) {
  if (s == NULL || worker >= s->n) return NULL;
  gsl_rng *r = s->rng[worker];
  gsl_rng_set(r, ndpar_stream_seed(s->seed, index));
  return r;
}

gsl_rng *ndpar_streams_at_pair(ndpar_streams *s, unsigned worker, size_t a, size_t b) {
  if (s == NULL || worker >= s->n) return NULL;
  gsl_rng *r = s->rng[worker];
  gsl_rng_set(r, ndpar_stream_seed(ndpar_stream_seed(s->seed, a), b));
  return r;
}

int ndpar_cpu_has_avx2(void) {
#if defined(__x86_64__) && defined(__GNUC__)
  return __builtin_cpu_supports("avx2") != 0;
#else
  return 0;
#endif
}

/* ---- timer ---- */

double ndpar_time_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- row batches ---- */

size_t ndpar_rows_nbatches(size_t rows, size_t batch_rows) {
  if (batch_rows == 0) return 0;
  return rows / batch_rows + (rows % batch_rows != 0);
}

static size_t batch_len(size_t rows, size_t batch_rows, size_t i) {
  size_t first = i * batch_rows;
  return rows - first < batch_rows ? rows - first : batch_rows;
}

/* 1 if batch i of a rows-long object exists (else the views below are empty). */
static int batch_exists(const void *object, size_t rows, size_t batch_rows, size_t i) {
  return object != NULL && i < ndpar_rows_nbatches(rows, batch_rows);
}

_gsl_matrix_const_view ndpar_rows_batch_const(const gsl_matrix *m, size_t batch_rows, size_t i) {
  if (!batch_exists(m, m ? m->size1 : 0, batch_rows, i)) return (_gsl_matrix_const_view){{0}};
  return gsl_matrix_const_submatrix(m, i * batch_rows, 0, batch_len(m->size1, batch_rows, i),
                                    m->size2);
}

_gsl_matrix_view ndpar_rows_batch(gsl_matrix *m, size_t batch_rows, size_t i) {
  if (!batch_exists(m, m ? m->size1 : 0, batch_rows, i)) return (_gsl_matrix_view){{0}};
  return gsl_matrix_submatrix(m, i * batch_rows, 0, batch_len(m->size1, batch_rows, i),
                              m->size2);
}

_gsl_vector_const_view ndpar_rows_batch_vector_const(const gsl_vector *v, size_t batch_rows,
                                                    size_t i) {
  if (!batch_exists(v, v ? v->size : 0, batch_rows, i)) return (_gsl_vector_const_view){{0}};
  return gsl_vector_const_subvector(v, i * batch_rows, batch_len(v->size, batch_rows, i));
}
