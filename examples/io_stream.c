/* examples/io_stream.c: the mean of every column of a file of any size, a block of rows at a
 * time. While this loop works on one block, the reader's thread parses the next. */
#include <stdio.h>
#include <stdlib.h>

#include <ndpar/ndpar_io.h>

int main(int argc, char **argv) {
  const char *path = argc > 1 ? argv[1] : "data/seattle-weather-hourly-normals.csv";
  gsl_set_error_handler_off();
  ndpar_csv_error err;
  ndpar_csv_reader *r = ndpar_csv_reader_open(path, NULL, 1000, &err);
  if (r == NULL) {
    fprintf(stderr, "%s\n", err.message);
    return 1;
  }
  const ndpar_csv_header *h = ndpar_csv_reader_header(r);
  double *sum = calloc(h->n, sizeof *sum);
  size_t rows = 0, blocks = 0;
  gsl_matrix *block;
  int status;
  while ((status = ndpar_csv_reader_next(r, &block)) == GSL_SUCCESS) {
    for (size_t i = 0; i < block->size1; i++)
      for (size_t j = 0; j < block->size2; j++) sum[j] += gsl_matrix_get(block, i, j);
    rows += block->size1;
    blocks++;
    gsl_matrix_free(block);
  }
  if (status != GSL_EOF) {
    fprintf(stderr, "%s\n", ndpar_csv_reader_error(r)->message);
  } else {
    printf("%zu rows in %zu blocks; means:", rows, blocks);
    for (size_t j = 0; j < h->n; j++) printf(" %s %.6g", h->names[j], sum[j] / (double)rows);
    printf("\n");
  }
  free(sum);
  ndpar_csv_reader_close(r);
  return status != GSL_EOF;
}
