/* Bad input to the program-wide settings: the log handler, the default pool's
 * configuration, the GSL error capture and the Amdahl fit's verdict. */
#include <math.h>

#include "badinput.h"

static void count_message(const char *message, void *ctx) {
  (void)message;
  ++*(int *)ctx;
}

CASE(ndpar_set_log_handler, "NULL resets to the default; a handler gets messages") {
  static int calls;
  ndpar_set_log_handler(count_message, &calls);
  ndpar_set_log_handler(NULL, NULL);
  ndpar_set_log_handler(NULL, &calls); /* ctx without fn: ignored */
  EXPECT_TRUE(calls == 0);
}

CASE(ndpar_pool_default_set, "threads over the cap, min_parallel 0, an unknown binding") {
  ndpar_pool_config cfg;
  ndpar_pool_config_init(&cfg);
  cfg.threads = NDPAR_MAX_THREADS + 1;
  EXPECT_CODE(ndpar_pool_default_set(&cfg), GSL_EINVAL);
  ndpar_pool_config_init(&cfg);
  cfg.min_parallel = 0;
  EXPECT_CODE(ndpar_pool_default_set(&cfg), GSL_EINVAL);
  ndpar_pool_config_init(&cfg);
  cfg.bind = (ndpar_bind)99;
  EXPECT_CODE(ndpar_pool_default_set(&cfg), GSL_EINVAL);
  ndpar_pool_config_init(&cfg);
  cfg.spin_us = 2000000;
  EXPECT_CODE(ndpar_pool_default_set(&cfg), GSL_EINVAL);
  EXPECT_OK(ndpar_pool_default_set(NULL)); /* NULL: the environment's defaults */
}

static int set_from_task(const ndpar_task *t, void *ctx) {
  (void)t, (void)ctx;
  return ndpar_pool_default_set(NULL);
}

CASE(ndpar_pool_default_set, "from inside a task: GSL_EFAILED, no handler, the last error") {
  EXPECT_QUIET(ndpar_pool_run(NULL, 1, set_from_task, NULL), GSL_EFAILED,
               "task 0 failed: pool_default_set: called from inside a task");
}

CASE(ndpar_capture_gsl_errors, "installed twice; outside tasks the handler before is called") {
  gsl_error_handler_t *before = ndpar_capture_gsl_errors();
  EXPECT_TRUE(before != ndpar_gsl_capture_handler);
  EXPECT_TRUE(ndpar_capture_gsl_errors() == ndpar_gsl_capture_handler);
  EXPECT_CODE(ndpar_pool_default_set(&(ndpar_pool_config){.min_parallel = 0}), GSL_EINVAL);
  gsl_set_error_handler(before);
}

CASE(ndpar_gsl_capture_handler, "NULL reason and file, code 0, outside a task") {
  gsl_error_handler_t *before = ndpar_capture_gsl_errors();
  size_t e0 = bi_errors();
  ndpar_gsl_capture_handler(NULL, NULL, 0, 0);
  EXPECT_TRUE(bi_errors() == e0 + 1); /* passed on to the handler before */
  gsl_set_error_handler(before);
}

CASE(ndpar_task_error_last, "NULL out; before any run") {
  EXPECT_TRUE(ndpar_task_error_last(NULL) == 0);
  ndpar_task_error e = {.code = 7};
  EXPECT_TRUE(ndpar_task_error_last(&e) == 0 && e.code == 0);
}

CASE(ndpar_scal_amdahl_degenerate, "NaN, Inf, negative and out-of-range values") {
  EXPECT_TRUE(ndpar_scal_amdahl_degenerate(NAN, 0.0) != NULL);
  EXPECT_TRUE(ndpar_scal_amdahl_degenerate(0.5, NAN) != NULL);
  EXPECT_TRUE(ndpar_scal_amdahl_degenerate(INFINITY, 0.0) != NULL);
  EXPECT_TRUE(ndpar_scal_amdahl_degenerate(0.5, INFINITY) != NULL);
  EXPECT_TRUE(ndpar_scal_amdahl_degenerate(-1.0, 0.0) == NULL); /* a fit clamps f to [0, 1] */
  EXPECT_TRUE(ndpar_scal_amdahl_degenerate(0.5, -1.0) == NULL);
}

/* ---- the last error (ndpar_error_last) ---- */

CASE(ndpar_error_last, "recorded with the GSL error handler off") {
  gsl_error_handler_t *before = gsl_set_error_handler_off();
  ndpar_error_clear();
  EXPECT_TRUE(ndpar_error_last()->code == 0);
  int rc = ndpar_pool_run(NULL, 3, NULL, NULL);
  gsl_set_error_handler(before);
  EXPECT_TRUE(rc == GSL_EFAULT);
  const ndpar_error_info *e = ndpar_error_last();
  EXPECT_TRUE(e->code == GSL_EFAULT);
  EXPECT_TRUE(strstr(e->message, "fn is NULL") != NULL);
  EXPECT_TRUE(strstr(e->file, "pool.c") != NULL && e->line > 0);
}

CASE(ndpar_error_clear, "forgets the last error") {
  EXPECT_CODE(ndpar_pool_run(NULL, 3, NULL, NULL), GSL_EFAULT);
  ndpar_error_clear();
  EXPECT_TRUE(ndpar_error_last()->code == 0);
}

/* A task that makes an ndpar call with a bad argument (y[1] NULL), on whichever thread runs it. */
static int bad_nested_call(const ndpar_task *t, void *ctx) {
  (void)ctx;
  if (t->index != 5) return GSL_SUCCESS;
  const gsl_matrix *x[2] = {bi_matrix(1, 2), bi_matrix(1, 2)};
  gsl_matrix *y[2] = {bi_sentinel_matrix(1, 2), NULL};
  return ndpar_batch_infer(NULL, x, y, 2, bi_predict_copy, NULL);
}

static int returns_edom(const ndpar_task *t, void *ctx) {
  (void)ctx;
  return t->index == 2 ? GSL_EDOM : GSL_SUCCESS;
}

CASE(ndpar_error_last, "inside a task: no handler; the run's caller reads what the task's call said") {
  for (size_t threads = 1; threads <= 3; threads++) {
    EXPECT_QUIET(ndpar_pool_run(bi_pool(threads), 8, bad_nested_call, NULL), GSL_EFAULT,
                 "task 5 failed: batch_infer: y[1] is NULL");
    EXPECT_TRUE(strstr(ndpar_error_last()->file, "core.c") != NULL);
  }
  EXPECT_QUIET(ndpar_pool_run(bi_pool(2), 4, returns_edom, NULL), GSL_EDOM,
               "task 2 failed: its callback returned");
}

/* ---- runs with a stream per task ---- */

CASE(ndpar_pool_run_streams, "NULL callback; n = 0 a no-op; failed untouched when rejected") {
  size_t failed = 77;
  EXPECT_CODE(ndpar_pool_run_streams(bi_pool(2), 5, 1, NULL, NULL, &failed), GSL_EFAULT);
  EXPECT_TRUE(failed == 77);
  EXPECT_OK(ndpar_pool_run_streams(bi_pool(2), 0, 1, bi_task_ok, NULL, &failed));
  EXPECT_TRUE(failed == 0);
  EXPECT_OK(ndpar_pool_run_streams(bi_pool(3), 9, 1, bi_task_ok, NULL, &failed));
  EXPECT_TRUE(failed == 9);
}
