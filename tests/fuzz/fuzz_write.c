/* libFuzzer target: the CSV writer's number and date formatting. The input's bytes are
 * doubles (any bit patterns: subnormals, NaN payloads, infinities); the first byte picks
 * the columns, which of them are ISO dates, and the delimiter. The file written must read
 * back (ndpar_csv_read) to the same bits, NaN as NaN. */
#include <gsl/gsl_errno.h>
#include <gsl/gsl_matrix.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ndpar/ndpar_io.h"

static char path[64];
static ndpar_pool *pool;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  gsl_set_error_handler_off();
  snprintf(path, sizeof path, "/tmp/ndpar-fuzz-write-%d.csv", (int)getpid());
  ndpar_pool_config cfg;
  ndpar_pool_config_init(&cfg);
  cfg.threads = 2;
  cfg.bind = NDPAR_BIND_NONE;
  pool = ndpar_pool_alloc(&cfg);
  return pool ? 0 : 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 + sizeof(double)) return 0;
  size_t cols = 1 + (data[0] & 3), n = (size - 1) / sizeof(double), rows = n / cols;
  if (rows == 0) return 0;
  gsl_matrix *x = gsl_matrix_alloc(rows, cols);
  memcpy(x->data, data + 1, rows * cols * sizeof(double));
  ndpar_csv_write_options o;
  ndpar_csv_write_options_init(&o);
  o.delimiter = data[0] & 4 ? ';' : ',';
  size_t dates[] = {0};
  if (data[0] & 8) {
    o.dates = dates;
    o.ndates = 1;
  }
  if (ndpar_csv_write_opts(pool, path, x, NULL, &o) != GSL_SUCCESS) abort();
  ndpar_csv_options r;
  ndpar_csv_options_init(&r);
  r.header = 0;
  r.delimiter = o.delimiter;
  gsl_matrix *y = NULL;
  ndpar_csv_error err;
  if (ndpar_csv_read(pool, path, &r, &y, NULL, &err) != GSL_SUCCESS) abort();
  if (y->size1 != rows || y->size2 != cols) abort();
  for (size_t i = 0; i < rows * cols; i++) {
    double a = x->data[i], b = y->data[i];
    if (isnan(a) ? !isnan(b) : memcmp(&a, &b, sizeof a) != 0) abort();
  }
  gsl_matrix_free(x);
  gsl_matrix_free(y);
  unlink(path);
  return 0;
}
