/* The error story in a pipeline: a stage reading a malformed CSV with the streaming reader
 * fails the run with the reader's code, with GSL's default (aborting) handler installed, and
 * the run's caller reads the stage, the item and the reader's message in ndpar_error_last. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ndpar/ndpar_io.h"
#include "ndpar/ndpar_pipeline.h"
#include "test_util.h"

static int read_block(void *in, void **out, const ndpar_task *t, void *ctx) {
  (void)in, (void)t;
  gsl_matrix *block = NULL;
  int rc = ndpar_csv_reader_next(ctx, &block);
  if (rc == GSL_EOF) {
    *out = NULL;
    return GSL_SUCCESS;
  }
  *out = block;
  return rc;
}

static int consume(void *in, void **out, const ndpar_task *t, void *ctx) {
  (void)out, (void)t, (void)ctx;
  gsl_matrix_free(in);
  return GSL_SUCCESS;
}

static void free_block(void *item, void *ctx) {
  (void)ctx;
  gsl_matrix_free(item);
}

Test(pipeline_errors, a_bad_field_read_in_a_stage_is_the_runs_code_not_an_abort) {
  char path[] = "/tmp/ndpar-pipeline-errors-XXXXXX";
  int fd = mkstemp(path);
  cr_assert(fd >= 0);
  const char text[] = "a,b\n1,2\n3,4\n5,oops\n7,8\n";
  cr_assert_eq(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
  close(fd);
  gsl_set_error_handler(NULL); /* GSL's default: an error reaching it aborts the test */
  for (size_t threads = 1; threads <= 3; threads++) {
    ndpar_csv_reader *r = ndpar_csv_reader_open(path, NULL, 1, NULL);
    cr_assert_not_null(r);
    ndpar_stage stages[2] = {{NDPAR_STAGE_SERIAL_IN_ORDER, read_block, free_block, r, 0},
                             {NDPAR_STAGE_PARALLEL, consume, NULL, NULL, 0}};
    ndpar_pipeline_status st;
    ndpar_pool *p = test_pool_of(threads);
    ndpar_error_clear();
    int rc = ndpar_pipeline_run(p, 4, stages, 2, &st);
    cr_assert_eq(rc, GSL_EINVAL, "threads %zu: %s", threads, gsl_strerror(rc));
    cr_assert_eq(st.failed_stage, 0);
    cr_assert_eq(st.failed_item, 2);
    const ndpar_error_info *e = ndpar_error_last();
    cr_assert_eq(e->code, GSL_EINVAL);
    cr_assert(strstr(e->message, "pipeline_run: stage 0 failed on item 2: ") != NULL, "%s",
              e->message);
    cr_assert(strstr(e->message, ":4:2: ") != NULL && strstr(e->message, "oops") != NULL,
              "the reader's line, column and field: %s", e->message);
    ndpar_pool_free(p);
    ndpar_csv_reader_close(r);
  }
  unlink(path);
}
