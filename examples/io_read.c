/* examples/io_read.c: the Seattle series into a matrix, the spacing of its dates, and lag
 * windows (24 past hours -> the next hour) ready for a model. */
#include <stdio.h>

#include <ndpar/ndpar_io.h>

int main(int argc, char **argv) {
  const char *path = argc > 1 ? argv[1] : "data/seattle-weather-hourly-normals.csv";
  gsl_set_error_handler_off(); /* errors come back as codes, with the message in err */
  ndpar_csv_options opt;
  ndpar_csv_options_init(&opt);
  const char *const columns[] = {"date", "temperature"};
  opt.columns = columns;
  opt.ncolumns = 2;
  gsl_matrix *x;
  ndpar_csv_header *header;
  ndpar_csv_error err;
  if (ndpar_csv_read(NULL, path, &opt, &x, &header, &err) != GSL_SUCCESS) {
    fprintf(stderr, "%s\n", err.message);
    return 1;
  }
  printf("%zu rows of %s, %s; first: %.0f s, %.1f; spacing %.0f s\n", x->size1, header->names[0],
         header->names[1], gsl_matrix_get(x, 0, 0), gsl_matrix_get(x, 0, 1),
         gsl_matrix_get(x, 1, 0) - gsl_matrix_get(x, 0, 0));

  size_t lags = 24, horizon = 1, step = 1;
  size_t n = ndpar_windows_count(x->size1, lags, horizon, step);
  gsl_matrix *inputs = gsl_matrix_alloc(n, lags), *targets = gsl_matrix_alloc(n, horizon);
  gsl_vector_const_view temperature = gsl_matrix_const_column(x, 1);
  int status = ndpar_windows(&temperature.vector, lags, horizon, step, inputs, targets);
  if (status == GSL_SUCCESS)
    printf("%zu windows: inputs %zu x %zu, targets %zu x %zu; window 0 predicts %.1f from %.1f .. %.1f\n", n,
           inputs->size1, inputs->size2, targets->size1, targets->size2, gsl_matrix_get(targets, 0, 0),
           gsl_matrix_get(inputs, 0, 0), gsl_matrix_get(inputs, 0, lags - 1));
  gsl_matrix_free(inputs);
  gsl_matrix_free(targets);
  gsl_matrix_free(x);
  ndpar_csv_header_free(header);
  return status != GSL_SUCCESS;
}
