#include "test_util.h"

#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_randist.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "ndpar/ndpar_pool.h"

unsigned long test_seed(void) {
  static unsigned long seed;
  static int have;
  if (!have) {
    const char *s = getenv("NDPAR_TEST_SEED");
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    seed = s ? strtoul(s, NULL, 10)
             : (unsigned long)ts.tv_nsec ^ ((unsigned long)getpid() << 20) ^ (unsigned long)ts.tv_sec;
    have = 1;
    cr_log_info("random data seed: NDPAR_TEST_SEED=%lu", seed);
  }
  return seed;
}

gsl_rng *test_rng(void) {
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(r, test_seed());
  return r;
}

static size_t error_count;
static const char *last_reason = "";

static void counting_handler(const char *reason, const char *file, int line, int gsl_errno) {
  (void)file, (void)line, (void)gsl_errno;
  error_count++;
  last_reason = reason;
}

void test_quiet_gsl_errors(void) { gsl_set_error_handler(counting_handler); }
size_t test_gsl_error_count(void) { return error_count; }
const char *test_gsl_last_reason(void) { return last_reason; }

size_t test_max_threads(void) {
  size_t t = ndpar_physical_cores() + 1;
  return t < 3 ? 3 : t;
}

gsl_matrix *test_random_matrix(gsl_rng *r, size_t rows, size_t cols) {
  gsl_matrix *m = gsl_matrix_alloc(rows, cols);
  for (size_t i = 0; i < rows; i++)
    for (size_t j = 0; j < cols; j++) gsl_matrix_set(m, i, j, gsl_ran_gaussian(r, 1.0));
  return m;
}

ndpar_pool *test_pool_of(size_t threads) {
  ndpar_pool_config cfg;
  ndpar_pool_config_init(&cfg);
  cfg.threads = threads;
  return ndpar_pool_alloc(&cfg);
}

void test_convention_table(const test_convention_row *rows, size_t n) {
  test_quiet_gsl_errors();
  for (size_t i = 0; i < n; i++) {
    size_t failed = TEST_UNTOUCHED, errors = test_gsl_error_count();
    int status = rows[i].call(&failed);
    cr_assert_eq(status, rows[i].expect, "%s: %s, expected %s", rows[i].what, gsl_strerror(status),
                 gsl_strerror(rows[i].expect));
    if (rows[i].expect != GSL_SUCCESS) {
      cr_assert_eq(test_gsl_error_count(), errors + 1, "%s: one GSL error", rows[i].what);
      cr_assert_eq(failed, TEST_UNTOUCHED, "%s: *failed untouched", rows[i].what);
    } else {
      cr_assert_eq(test_gsl_error_count(), errors, "%s: no GSL error", rows[i].what);
      cr_assert_eq(failed, rows[i].failed_after, "%s: *failed = %zu", rows[i].what, failed);
    }
  }
}
