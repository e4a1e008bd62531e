/* libFuzzer target: the CSV reader three ways. The first byte picks the options (delimiter,
 * header, comment, missing-is-error, skipped rows, a column selection, the piece size), the
 * rest is the file. ndpar_csv_read on 1 thread, on 3 threads with small pieces, and the
 * streaming reader (blocks of 3 rows) must agree: the same matrix bit for bit, or the same
 * error code and message; anything else aborts (make fuzz, target io). */
#include <gsl/gsl_errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "ndpar/ndpar_io.h"

static int fd = -1;
static char path[64];
static ndpar_pool *p1, *p3;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  gsl_set_error_handler_off();
  fd = memfd_create("fuzz-io", 0);
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  ndpar_pool_config c; ndpar_pool_config_init(&c); c.threads = 1; c.bind = NDPAR_BIND_NONE;
  p1 = ndpar_pool_alloc(&c); c.threads = 3; p3 = ndpar_pool_alloc(&c);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  uint8_t o0 = data[0];
  if (ftruncate(fd, 0) != 0 || pwrite(fd, data + 1, size - 1, 0) != (ssize_t)(size - 1)) abort();
  ndpar_csv_options o; ndpar_csv_options_init(&o);
  o.delimiter = (o0 & 1) ? ';' : ',';
  o.header = (o0 >> 1) & 1;
  o.comment = (o0 & 4) ? '#' : 0;
  o.missing_is_error = (o0 >> 3) & 1;
  o.skip_rows = (o0 >> 4) & 1;
  size_t idx[] = {1, 0};
  if (o0 & 32) { o.indices = idx; o.ncolumns = 2; }
  gsl_matrix *a = NULL, *b = NULL;
  ndpar_csv_error ea, eb;
  int sa = ndpar_csv_read(p1, path, &o, &a, NULL, &ea);
  o.chunk_bytes = 1 + (o0 >> 6) * 7;
  int sb = ndpar_csv_read(p3, path, &o, &b, NULL, &eb);
  if (sa != sb) abort();
  if (sa == GSL_ESANITY) abort();
  if (sa) { if (strcmp(ea.message, eb.message)) abort(); }
  else if (a->size1 != b->size1 || a->size2 != b->size2 || memcmp(a->data, b->data, a->size1 * a->size2 * 8)) abort();
  ndpar_csv_reader *r = ndpar_csv_reader_open(path, &o, 3, &eb);
  int ss;
  size_t rows = 0;
  if (!r) ss = eb.code;
  else {
    gsl_matrix *m;
    while ((ss = ndpar_csv_reader_next(r, &m)) == GSL_SUCCESS) {
      if (sa == 0 && (rows + m->size1 > a->size1 || memcmp(m->data, a->data + rows * a->size2, m->size1 * m->size2 * 8))) abort();
      rows += m->size1;
      gsl_matrix_free(m);
    }
    if (ss == GSL_EOF) ss = 0; else eb = *ndpar_csv_reader_error(r);
    ndpar_csv_reader_close(r);
  }
  if (ss != sa) abort();
  if (sa && strcmp(ea.message, eb.message)) abort();
  if (!sa && rows != a->size1) abort();
  gsl_matrix_free(a); gsl_matrix_free(b);
  return 0;
}
