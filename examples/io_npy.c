/* examples/io_npy.c: the Seattle series to numpy's .npy format and back. In Python,
 * numpy.load("/tmp/ndpar-seattle.npy") gives the same 8759 x 4 array, bit for bit. */
#include <stdio.h>
#include <string.h>

#include <ndpar/ndpar_io.h>

int main(int argc, char **argv) {
  const char *path = argc > 1 ? argv[1] : "data/seattle-weather-hourly-normals.csv";
  const char *out = argc > 2 ? argv[2] : "/tmp/ndpar-seattle.npy";
  gsl_set_error_handler_off();
  gsl_matrix *x, *y;
  ndpar_csv_error err;
  if (ndpar_csv_read(NULL, path, NULL, &x, NULL, &err) != GSL_SUCCESS) {
    fprintf(stderr, "%s\n", err.message);
    return 1;
  }
  int status = ndpar_npy_write(out, x);
  if (status == GSL_SUCCESS) status = ndpar_npy_read(out, &y);
  if (status == GSL_SUCCESS) {
    int same = memcmp(x->data, y->data, x->size1 * x->size2 * sizeof(double)) == 0;
    printf("%zu x %zu written to %s and read back %s\n", y->size1, y->size2, out, same ? "bit for bit" : "DIFFERENT");
    gsl_matrix_free(y);
  }
  gsl_matrix_free(x);
  remove(out);
  return status != GSL_SUCCESS;
}
