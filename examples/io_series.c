/* examples/io_series.c: the monthly CO2 series made regular. Five months are absent from the
 * file; ndpar_series_regular puts every row on its month and fills the gaps linearly in
 * time, reporting which rows it filled. */
#define _POSIX_C_SOURCE 200809L /* gmtime_r under -std=c11 */
#include <stdio.h>
#include <time.h>

#include <ndpar/ndpar_io.h>

int main(int argc, char **argv) {
  const char *path = argc > 1 ? argv[1] : "data/co2-concentration.csv";
  gsl_set_error_handler_off(); /* errors come back as codes, with the message in err */
  ndpar_csv_options opt;
  ndpar_csv_options_init(&opt); /* dates on: the Date column reads as seconds since the epoch */
  const char *const columns[] = {"Date", "CO2"};
  opt.columns = columns;
  opt.ncolumns = 2;
  gsl_matrix *x;
  ndpar_csv_error err;
  if (ndpar_csv_read(NULL, path, &opt, &x, NULL, &err) != GSL_SUCCESS) {
    fprintf(stderr, "%s\n", err.message);
    return 1;
  }
  gsl_vector_const_view dates = gsl_matrix_const_column(x, 0);
  gsl_matrix_const_view values = gsl_matrix_const_submatrix(x, 0, 1, x->size1, 1);
  ndpar_series *s;
  if (ndpar_series_regular(&dates.vector, &values.matrix, NDPAR_STEP_MONTH, 1, NDPAR_FILL_LINEAR, &s, &err) !=
      GSL_SUCCESS) {
    fprintf(stderr, "%s\n", err.message);
    gsl_matrix_free(x);
    return 1;
  }
  for (size_t i = 0; i < s->nfilled; i++) {
    size_t row = s->filled[i];
    time_t t = (time_t)gsl_vector_get(s->dates, row);
    struct tm tm;
    gmtime_r(&t, &tm);
    printf("filled row %zu: %04d-%02d, CO2 %.3f\n", row, tm.tm_year + 1900, tm.tm_mon + 1,
           gsl_matrix_get(s->values, row, 0));
  }
  printf("%zu rows read, %zu monthly rows, %zu filled\n", x->size1, s->dates->size, s->nfilled);
  ndpar_series_free(s);
  gsl_matrix_free(x);
  return 0;
}
