/* libFuzzer target: the strict CSV loader (wl_csv_column). The first byte picks the
 * column asked for, the rest is the file. A success must give finite values only; an
 * error must leave *out untouched and say why. */
#include <gsl/gsl_errno.h>
#include <gsl/gsl_vector.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ref/wl.h"

static int fd = -1;
static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  gsl_set_error_handler_off();
  fd = memfd_create("fuzz-csv", 0);
  if (fd < 0) abort();
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char *columns[] = {"temperature", "CO2", "a", "", "adjusted CO2", "x,y"};
  if (size == 0) return 0;
  const char *column = columns[data[0] % (sizeof columns / sizeof *columns)];
  if (ftruncate(fd, 0) != 0 || pwrite(fd, data + 1, size - 1, 0) != (ssize_t)(size - 1)) abort();
  gsl_vector *sentinel = (gsl_vector *)&fd, *out = sentinel;
  char err[256] = "";
  int status = wl_csv_column(path, column, &out, err, sizeof err);
  if (status == GSL_SUCCESS) {
    if (out == sentinel || out == NULL || out->size == 0) abort();
    for (size_t i = 0; i < out->size; i++)
      if (!isfinite(gsl_vector_get(out, i))) abort();
    gsl_vector_free(out);
  } else if (out != sentinel || err[0] == '\0') {
    abort();
  }
  return 0;
}
