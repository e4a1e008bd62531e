/* The wrappers behind inject.h. Each __wrap_X counts the call when armed and fails the
 * chosen one as the real function fails (NULL and ENOMEM; GSL's allocators also report
 * through gsl_error, as GSL's own do); every other call goes to __real_X. */
#include "inject.h"

#include <errno.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_permutation.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_vector.h>
#include <pthread.h>
#include <stdlib.h>

static int armed;
static size_t fail_alloc_at, fail_thread_at, allocs, threads;
static int fired;

static size_t env_count(const char *name) {
  const char *s = getenv(name);
  return s ? strtoull(s, NULL, 10) : 0;
}

void inject_arm(void) {
  fail_alloc_at = env_count("FAIL_ALLOC_AT");
  fail_thread_at = env_count("FAIL_THREAD_AT");
  __atomic_store_n(&armed, 1, __ATOMIC_SEQ_CST);
}

void inject_disarm(void) { __atomic_store_n(&armed, 0, __ATOMIC_SEQ_CST); }
size_t inject_allocs(void) { return __atomic_load_n(&allocs, __ATOMIC_SEQ_CST); }
size_t inject_threads(void) { return __atomic_load_n(&threads, __ATOMIC_SEQ_CST); }
int inject_fired(void) { return __atomic_load_n(&fired, __ATOMIC_SEQ_CST); }

/* Under a sanitizer, FAULTS_TRACE=1 prints where the failure was injected. */
void __sanitizer_print_stack_trace(void) __attribute__((weak));

/* 1 if this call is the one to fail. */
static int should_fail(size_t *counter, size_t at) {
  if (!__atomic_load_n(&armed, __ATOMIC_SEQ_CST)) return 0;
  size_t n = __atomic_add_fetch(counter, 1, __ATOMIC_SEQ_CST);
  if (n != at) return 0;
  __atomic_store_n(&fired, 1, __ATOMIC_SEQ_CST);
  if (getenv("FAULTS_TRACE") && __sanitizer_print_stack_trace) __sanitizer_print_stack_trace();
  return 1;
}

static int alloc_fails(void) { return should_fail(&allocs, fail_alloc_at); }

/* ---- libc ---- */

void *__real_malloc(size_t);
void *__real_calloc(size_t, size_t);
void *__real_realloc(void *, size_t);
int __real_posix_memalign(void **, size_t, size_t);
void *__real_aligned_alloc(size_t, size_t);
int __real_pthread_create(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

void *__wrap_malloc(size_t n);
void *__wrap_malloc(size_t n) {
  if (alloc_fails()) return errno = ENOMEM, NULL;
  return __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size);
void *__wrap_calloc(size_t n, size_t size) {
  if (alloc_fails()) return errno = ENOMEM, NULL;
  return __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n) {
  if (alloc_fails()) return errno = ENOMEM, NULL;
  return __real_realloc(p, n);
}

int __wrap_posix_memalign(void **p, size_t align, size_t n);
int __wrap_posix_memalign(void **p, size_t align, size_t n) {
  if (alloc_fails()) return ENOMEM;
  return __real_posix_memalign(p, align, n);
}

void *__wrap_aligned_alloc(size_t align, size_t n);
void *__wrap_aligned_alloc(size_t align, size_t n) {
  if (alloc_fails()) return errno = ENOMEM, NULL;
  return __real_aligned_alloc(align, n);
}

int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg);
int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg) {
  if (should_fail(&threads, fail_thread_at)) return EAGAIN;
  return __real_pthread_create(t, a, fn, arg);
}

/* ---- GSL's allocators (their own malloc, inside libgsl, is out of reach) ---- */

/* __wrap_NAME fails as GSL's allocators do: gsl_error with GSL_ENOMEM, then NULL. */
#define WRAP_GSL_ALLOC(type, name, params, args)                                       \
  type *__real_##name params;                                                          \
  type *__wrap_##name params;                                                          \
  type *__wrap_##name params {                                                         \
    if (alloc_fails()) {                                                               \
      gsl_error("fault injection: allocation failed", __FILE__, __LINE__, GSL_ENOMEM); \
      return NULL;                                                                     \
    }                                                                                  \
    return __real_##name args;                                                         \
  }

WRAP_GSL_ALLOC(gsl_matrix, gsl_matrix_alloc, (size_t r, size_t c), (r, c))
WRAP_GSL_ALLOC(gsl_matrix, gsl_matrix_calloc, (size_t r, size_t c), (r, c))
WRAP_GSL_ALLOC(gsl_vector, gsl_vector_alloc, (size_t n), (n))
WRAP_GSL_ALLOC(gsl_vector, gsl_vector_calloc, (size_t n), (n))
WRAP_GSL_ALLOC(gsl_rng, gsl_rng_alloc, (const gsl_rng_type *t), (t))
WRAP_GSL_ALLOC(gsl_permutation, gsl_permutation_alloc, (size_t n), (n))
