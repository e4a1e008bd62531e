/* test_util.h: what every module's tests share. */
#ifndef NDPAR_TEST_UTIL_H
#define NDPAR_TEST_UTIL_H

#include <gsl/gsl_matrix.h>
#include <gsl/gsl_rng.h>
#include <stddef.h>

#include "ndpar/ndpar_pool.h"

/* A fresh seed per test process (NDPAR_TEST_SEED=<n> replays one), logged so that a
 * failure can be reproduced. */
unsigned long test_seed(void);
/* A generator seeded with test_seed(); free with gsl_rng_free. */
gsl_rng *test_rng(void);

/* A rows x cols matrix of N(0, 1) draws from r. */
gsl_matrix *test_random_matrix(gsl_rng *r, size_t rows, size_t cols);

/* A pool of exactly `threads` threads (the environment's other defaults). */
ndpar_pool *test_pool_of(size_t threads);

/* Turns GSL's abort-on-error handler off for error-path tests, counting the calls. */
void test_quiet_gsl_errors(void);
size_t test_gsl_error_count(void);
const char *test_gsl_last_reason(void);

/* The thread counts every parallel test runs at: 1 .. max(3, cores + 1). */
size_t test_max_threads(void);

/* Injected failures (tests/common/fault.c): while on (nonzero), every pthread_create
 * fails with EAGAIN, every gsl_rng_alloc returns NULL. Off by default. */
void test_fault_pthread_create(int fail);
void test_fault_gsl_rng_alloc(int fail);
/* The next `ok` pthread_create calls succeed, every later one fails with EAGAIN, after
 * calling hook (if not NULL: to let the threads started so far get somewhere first); -1
 * turns the countdown off. */
typedef void (*test_fault_hook)(void);
void test_fault_pthread_create_after(long ok, test_fault_hook hook);

/* Heap allocations made so far by every thread of the test process (malloc, calloc,
 * realloc, the aligned allocators): a workspace call allocates nothing if the count is the
 * same after it. test_alloc_counting() is 0 where counting is unavailable (sanitizer
 * builds, whose runtime owns the allocator): skip the check there. */
int test_alloc_counting(void);
size_t test_alloc_count(void);

/* The argument convention of docs/API.md, as a table: each row calls one entry point with
 * one kind of argument (a NULL callback, a NULL array, n = 0, ...) and says what must come
 * back. call receives a `failed` to pass on (entry points without one ignore it). A row
 * expecting an error must report exactly one GSL error and leave *failed untouched; a row
 * expecting success must report none and leave *failed == failed_after (TEST_UNTOUCHED:
 * untouched). */
#define TEST_UNTOUCHED ((size_t)0x5eed)
typedef struct {
  const char *what;
  int (*call)(size_t *failed);
  int expect;
  size_t failed_after;
} test_convention_row;
void test_convention_table(const test_convention_row *rows, size_t n);

#endif
