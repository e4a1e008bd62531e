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

CASE(ndpar_pool_default_set, "from inside a task: GSL_EFAILED") {
  EXPECT_CODE(ndpar_pool_run(NULL, 1, set_from_task, NULL), GSL_EFAILED);
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
