/* fault.c: failures injected into calls the library makes, for the tests of its error
 * paths. The test binary defines the symbols itself, so calls from the (statically
 * linked) library reach these first; each passes through to the next definition (the
 * sanitizer's interceptor or libc/libgsl) unless a test asked it to fail. */
#include "test_util.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

static atomic_int fail_threads, fail_rngs;
static atomic_long threads_before_failing = -1; /* -1: no countdown */
static _Atomic(test_fault_hook) before_failing;

/* The next definition of `name` (POSIX's way to turn dlsym's pointer into a function's). */
static void next_symbol(const char *name, void *fn, size_t size) {
  void *sym = dlsym(RTLD_NEXT, name);
  memcpy(fn, &sym, size);
}

void test_fault_pthread_create(int fail) { atomic_store(&fail_threads, fail); }
void test_fault_gsl_rng_alloc(int fail) { atomic_store(&fail_rngs, fail); }
void test_fault_pthread_create_after(long ok, test_fault_hook hook) {
  atomic_store(&before_failing, hook);
  atomic_store(&threads_before_failing, ok);
}

/* The countdown of test_fault_pthread_create_after: 1 if this call must fail. */
static int countdown_fails(void) {
  long left = atomic_load(&threads_before_failing);
  while (left > 0 && !atomic_compare_exchange_weak(&threads_before_failing, &left, left - 1)) {}
  if (left != 0) return 0;
  test_fault_hook hook = atomic_load(&before_failing);
  if (hook) hook();
  return 1;
}

typedef int (*pthread_create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

int pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*start)(void *), void *arg) {
  static _Atomic(pthread_create_fn) next;
  if (atomic_load(&fail_threads) || countdown_fails()) return EAGAIN;
  pthread_create_fn f = atomic_load(&next);
  if (f == NULL) {
    next_symbol("pthread_create", &f, sizeof f);
    atomic_store(&next, f);
  }
  return f(t, attr, start, arg);
}

typedef gsl_rng *(*rng_alloc_fn)(const gsl_rng_type *);

gsl_rng *gsl_rng_alloc(const gsl_rng_type *type) {
  static _Atomic(rng_alloc_fn) next;
  if (atomic_load(&fail_rngs)) return NULL;
  rng_alloc_fn f = atomic_load(&next);
  if (f == NULL) {
    next_symbol("gsl_rng_alloc", &f, sizeof f);
    atomic_store(&next, f);
  }
  return f(type);
}
