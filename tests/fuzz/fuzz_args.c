/* libFuzzer target: scalebench's command line (sb_parse_args). The input is split at
 * newlines and NULs into arguments. Bad usage must end in sb_usage_error (here a jump
 * back, not an exit); anything parsed must be a runnable configuration. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scalebench.h"
#include "usage_error.h"

enum { MAX_ARGS = 64 };

static void check(const sb_options *o) {
  if (o->help || o->version) return;
  int has_one = 0;
  if (o->nthreads == 0 || o->nthreads > SB_MAX_POINTS) abort();
  for (size_t i = 0; i < o->nthreads; i++) {
    if (o->threads[i] == 0 || o->threads[i] > NDPAR_MAX_THREADS) abort();
    has_one |= o->threads[i] == 1;
  }
  if (!has_one || o->nkernels == 0 || o->nkernels > SB_MAX_WORKLOADS) abort();
  for (size_t i = 0; i < o->nkernels; i++)
    if (o->kernels[i] == NULL || o->kernels[i]->name == NULL) abort();
  if (o->scal.repeats == 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *buf = malloc(size + 1);
  if (buf == NULL) return 0;
  memcpy(buf, data, size);
  buf[size] = '\0';
  char *argv[MAX_ARGS + 2] = {"scalebench"};
  int argc = 1;
  char *p = buf, *end = buf + size;
  while (p <= end && argc <= MAX_ARGS) {
    argv[argc++] = p;
    char *nl = p;
    while (nl < end && *nl != '\n' && *nl != '\0') nl++;
    *nl = '\0';
    p = nl + 1;
  }
  argv[argc] = NULL;
  static sb_options o;
  if (setjmp(fuzz_usage_error) == 0) {
    sb_parse_args(argc, argv, &o);
    check(&o);
  }
  free(buf);
  return 0;
}
