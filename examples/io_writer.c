/* examples/io_writer.c: a file of any size transformed a block at a time. The streaming
 * reader gives blocks of rows; each gets a new column (the temperature in Fahrenheit) and
 * goes to the streaming writer, dates written back as ISO 8601. The output appears under
 * its name only when the writer closes: a failure halfway leaves no partial file. */
#include <stdio.h>

#include <ndpar/ndpar_io.h>

int main(int argc, char **argv) {
  const char *in = argc > 1 ? argv[1] : "data/seattle-weather-hourly-normals.csv";
  const char *out = argc > 2 ? argv[2] : "/tmp/ndpar-io-writer-example.csv";
  gsl_set_error_handler_off(); /* errors come back as codes (and messages, below) */
  ndpar_csv_options opt;
  ndpar_csv_options_init(&opt);
  const char *const columns[] = {"date", "temperature"};
  opt.columns = columns;
  opt.ncolumns = 2;
  ndpar_csv_error err;
  ndpar_csv_reader *r = ndpar_csv_reader_open(in, &opt, 4096, &err);
  if (r == NULL) {
    fprintf(stderr, "%s\n", err.message);
    return 1;
  }
  const char *const names[] = {"date", "celsius", "fahrenheit"};
  ndpar_csv_header *h = ndpar_csv_header_alloc(3, names);
  ndpar_csv_write_options wopt;
  ndpar_csv_write_options_init(&wopt);
  const size_t date_column[] = {0};
  wopt.dates = date_column; /* seconds since the epoch -> 2010-01-01T01:00:00 */
  wopt.ndates = 1;
  ndpar_csv_writer *w = ndpar_csv_writer_open(NULL, out, h, &wopt);
  int status = w != NULL ? GSL_SUCCESS : GSL_EFAILED;
  size_t rows = 0;
  gsl_matrix *block;
  while (status == GSL_SUCCESS && (status = ndpar_csv_reader_next(r, &block)) == GSL_SUCCESS) {
    gsl_matrix *y = gsl_matrix_alloc(block->size1, 3);
    for (size_t i = 0; i < block->size1; i++) {
      double celsius = gsl_matrix_get(block, i, 1);
      gsl_matrix_set(y, i, 0, gsl_matrix_get(block, i, 0));
      gsl_matrix_set(y, i, 1, celsius);
      gsl_matrix_set(y, i, 2, celsius * 9 / 5 + 32);
    }
    status = ndpar_csv_writer_write(w, y);
    rows += block->size1;
    gsl_matrix_free(y);
    gsl_matrix_free(block);
  }
  if (status == GSL_EOF) {
    status = ndpar_csv_writer_close(w); /* the file appears at out, complete, or not at all */
  } else {
    fprintf(stderr, "stopped: %s\n", ndpar_csv_reader_error(r)->code ? ndpar_csv_reader_error(r)->message : "a write failed");
    ndpar_csv_writer_discard(w);
  }
  ndpar_csv_reader_close(r);
  ndpar_csv_header_free(h);
  if (status != GSL_SUCCESS) return 1;
  printf("%zu rows written to %s; its first lines:\n", rows, out);
  FILE *f = fopen(out, "r");
  char line[128];
  for (int i = 0; i < 3 && f != NULL && fgets(line, sizeof line, f) != NULL; i++) printf("  %s", line);
  if (f != NULL) fclose(f);
  remove(out);
  return 0;
}
