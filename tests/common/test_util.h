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

#endif
