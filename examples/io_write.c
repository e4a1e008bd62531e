/* examples/io_write.c: a matrix written and read back bit for bit, and the message a
 * malformed file gets. */
#define _POSIX_C_SOURCE 200809L /* gmtime_r, mkstemp, mkdtemp, fdopen under -std=c11 */
#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ndpar/ndpar_io.h>

int main(void) {
  gsl_set_error_handler_off();
  char dir[] = "/tmp/ndpar-io-example-XXXXXX", path[64], bad[64];
  if (mkdtemp(dir) == NULL) return 1;
  snprintf(path, sizeof path, "%s/x.csv", dir);
  snprintf(bad, sizeof bad, "%s/bad.csv", dir);

  gsl_matrix *x = gsl_matrix_alloc(3, 2);
  const double values[] = {1.0 / 3, -0.0, 1e308, DBL_TRUE_MIN, 0.1, -2.5};
  memcpy(x->data, values, sizeof values);
  const char *const names[] = {"a", "b, with a comma"};
  ndpar_csv_header *h = ndpar_csv_header_alloc(2, names);
  int status = ndpar_csv_write(path, x, h);
  gsl_matrix *y = NULL;
  ndpar_csv_error err;
  if (status == GSL_SUCCESS) status = ndpar_csv_read(NULL, path, NULL, &y, NULL, &err);
  if (status == GSL_SUCCESS)
    printf("read back %s\n", memcmp(x->data, y->data, sizeof values) == 0 ? "bit for bit" : "DIFFERENT");

  FILE *f = fopen(bad, "w");
  fputs("a,b\n1,2\n3,abc\n", f);
  fclose(f);
  gsl_matrix *z = NULL;
  int code = ndpar_csv_read(NULL, bad, NULL, &z, NULL, &err);
  printf("code %d (GSL_EINVAL is %d), line %zu, field %zu:\n  %s\n", code, GSL_EINVAL, err.line, err.column,
         err.message);

  unlink(path);
  unlink(bad);
  rmdir(dir);
  gsl_matrix_free(x);
  gsl_matrix_free(y);
  ndpar_csv_header_free(h);
  return status != GSL_SUCCESS || code != GSL_EINVAL;
}
