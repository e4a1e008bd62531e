/* capture.c: the opt-in GSL error handler that turns an error raised inside a task into
 * that task's failure (see ndpar_capture_gsl_errors in ndpar_pool.h). */
#include "ndpar/ndpar_pool.h"
#include "ndpar_internal.h"
#include "pool/pool_internal.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__thread ndpar_task_error ndpar_captured;
__thread ndpar_task_error ndpar_last_error;

/* The handler the capture handler replaced: called outside tasks. */
static _Atomic(gsl_error_handler_t *) previous;

gsl_error_handler_t *ndpar_capture_gsl_errors(void) {
  gsl_error_handler_t *old = gsl_set_error_handler(ndpar_gsl_capture_handler);
  if (old != ndpar_gsl_capture_handler) atomic_store(&previous, old);
  return old;
}

/* What GSL's own default handler does (it is not exported, so it is done here). */
static void default_abort(const char *reason, const char *file, int line, int gsl_errno) {
  fprintf(stderr, "gsl: %s:%d: ERROR: %s (code %d)\n", file ? file : "?", line,
          reason ? reason : "", gsl_errno);
  fprintf(stderr, "Default GSL error handler invoked.\n");
  fflush(stderr);
  abort();
}

static void copy_text(char *dst, size_t size, const char *src) {
  snprintf(dst, size, "%s", src ? src : "");
}

void ndpar_gsl_capture_handler(const char *reason, const char *file, int line, int gsl_errno) {
  if (ndpar_pool_in_task()) {
    if (ndpar_captured.code == 0) { /* the first error of the task is kept */
      ndpar_captured.code = gsl_errno ? gsl_errno : GSL_EFAILED;
      ndpar_captured.line = line;
      copy_text(ndpar_captured.file, sizeof ndpar_captured.file, file);
      copy_text(ndpar_captured.reason, sizeof ndpar_captured.reason, reason);
    }
    return;
  }
  gsl_error_handler_t *h = atomic_load(&previous);
  if (h != NULL && h != ndpar_gsl_capture_handler)
    h(reason, file, line, gsl_errno);
  else
    default_abort(reason, file, line, gsl_errno);
}

int ndpar_task_error_last(ndpar_task_error *err) {
  if (err != NULL) *err = ndpar_last_error;
  return ndpar_last_error.code;
}
