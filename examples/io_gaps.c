/* examples/io_gaps.c: which months a monthly series skips. The dates read as seconds since
 * the epoch (UTC); consecutive rows more than one calendar month apart leave a gap. */
#define _POSIX_C_SOURCE 200809L /* gmtime_r, mkstemp, mkdtemp, fdopen under -std=c11 */
#include <stdio.h>
#include <time.h>

#include <ndpar/ndpar_io.h>

/* Months since January of year 0 of a time in seconds since the epoch (UTC). */
static long month_index(double seconds) {
  time_t t = (time_t)seconds;
  struct tm tm;
  gmtime_r(&t, &tm);
  return (tm.tm_year + 1900L) * 12 + tm.tm_mon;
}

int main(int argc, char **argv) {
  const char *path = argc > 1 ? argv[1] : "data/co2-concentration.csv";
  gsl_set_error_handler_off(); /* errors come back as codes, with the message in err */
  ndpar_csv_options opt;
  ndpar_csv_options_init(&opt);
  const char *const date[] = {"Date"};
  opt.columns = date;
  opt.ncolumns = 1;
  gsl_matrix *x;
  ndpar_csv_error err;
  if (ndpar_csv_read(NULL, path, &opt, &x, NULL, &err) != GSL_SUCCESS) {
    fprintf(stderr, "%s\n", err.message);
    return 1;
  }
  size_t missing = 0;
  for (size_t i = 1; i < x->size1; i++) {
    long prev = month_index(gsl_matrix_get(x, i - 1, 0)), cur = month_index(gsl_matrix_get(x, i, 0));
    for (long m = prev + 1; m < cur; m++, missing++)
      printf("missing: %ld-%02ld (between data rows %zu and %zu)\n", m / 12, m % 12 + 1, i, i + 1);
  }
  printf("%zu rows, %zu months missing\n", x->size1, missing);
  gsl_matrix_free(x);
  return 0;
}
