/* libFuzzer target: the CSV reader of the io module (ndpar_csv_read). The first byte picks
 * the options (header, delimiter, missing values as errors, dates, a tiny chunk size so the
 * parallel cut runs on small inputs), the rest is the file. A success must give a matrix
 * of at least one row (and as many names as columns); an error must leave the outputs
 * untouched and name its code in the error record. */
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
static ndpar_pool *pool;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  gsl_set_error_handler_off();
  fd = memfd_create("fuzz-csv", 0);
  if (fd < 0) abort();
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  ndpar_pool_config cfg;
  ndpar_pool_config_init(&cfg);
  cfg.threads = 2;
  cfg.bind = NDPAR_BIND_NONE;
  pool = ndpar_pool_alloc(&cfg);
  return pool ? 0 : 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  if (ftruncate(fd, 0) != 0 || pwrite(fd, data + 1, size - 1, 0) != (ssize_t)(size - 1)) abort();
  ndpar_csv_options opt;
  ndpar_csv_options_init(&opt);
  uint8_t o = data[0];
  opt.header = o & 1;
  opt.delimiter = o & 2 ? ';' : ',';
  opt.missing_is_error = (o >> 2) & 1;
  opt.dates = (o >> 3) & 1;
  opt.chunk_bytes = o & 0x10 ? 1 + (o >> 5) : 0;
  gsl_matrix *sentinel = (gsl_matrix *)&fd, *x = sentinel;
  ndpar_csv_header *hsentinel = (ndpar_csv_header *)&fd, *h = hsentinel;
  ndpar_csv_error err = {0, 0, 0, ""};
  int status = ndpar_csv_read(pool, path, &opt, &x, &h, &err);
  if (status == GSL_SUCCESS) {
    if (x == sentinel || x == NULL || x->size1 == 0) abort();
    if (opt.header && (h == hsentinel || h == NULL || h->n != x->size2)) abort();
    gsl_matrix_free(x);
    if (h != hsentinel) ndpar_csv_header_free(h);
  } else if (x != sentinel || h != hsentinel || err.code != status || err.message[0] == '\0') {
    abort();
  }
  return 0;
}
