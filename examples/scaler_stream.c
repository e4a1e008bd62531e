/* scaler_stream: fit a standard scaler on a stream of chunks (ndpar_scaler_partial_fit),
 * keep its statistics in a text file (exact: hex floats), and rebuild it from the file in
 * a new scaler (ndpar_scaler_set_stats). Checks that the stream's statistics are one fit's
 * to within a few ulps and that the rebuilt scaler transforms bit for bit as the fitted one. */
#define _POSIX_C_SOURCE 200809L /* mkstemp, fdopen under -std=c11 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <ndpar/ndpar.h>

#define ROWS 10000
#define CHUNK 1000
#define COLS 3

/* The statistics of every column, one line each: center, scale, min, max, half. */
static int save(const ndpar_scaler *s, const char *path) {
  const gsl_vector *v[5];
  int status = ndpar_scaler_stats(s, &v[0], &v[1], &v[2], &v[3], &v[4]);
  FILE *f = status ? NULL : fopen(path, "w");
  if (f == NULL) return status ? status : GSL_EFAILED;
  for (size_t j = 0; j < COLS; j++)
    for (int k = 0; k < 5; k++) fprintf(f, "%a%c", gsl_vector_get(v[k], j), k < 4 ? ' ' : '\n');
  return fclose(f) == 0 ? GSL_SUCCESS : GSL_EFAILED;
}

/* A standard scaler rebuilt from the file; NULL if it cannot be read or is refused. */
static ndpar_scaler *load(const char *path) {
  gsl_vector *v[5];
  for (int k = 0; k < 5; k++) v[k] = gsl_vector_alloc(COLS);
  FILE *f = fopen(path, "r");
  int ok = f != NULL;
  for (size_t j = 0; ok && j < COLS; j++)
    for (int k = 0; ok && k < 5; k++) {
      double d;
      ok = fscanf(f, "%la", &d) == 1;
      if (ok) gsl_vector_set(v[k], j, d);
    }
  if (f != NULL) fclose(f);
  ndpar_scaler *s = ndpar_scaler_alloc(NDPAR_SCALE_STANDARD, COLS);
  if (ok) ok = ndpar_scaler_set_stats(s, v[0], v[1], v[2], v[3], v[4]) == GSL_SUCCESS;
  for (int k = 0; k < 5; k++) gsl_vector_free(v[k]);
  if (!ok) {
    ndpar_scaler_free(s);
    return NULL;
  }
  return s;
}

int main(void) {
  gsl_matrix *x = gsl_matrix_alloc(ROWS, COLS);
  for (size_t i = 0; i < ROWS; i++)
    for (size_t j = 0; j < COLS; j++) gsl_matrix_set(x, i, j, 1e6 * (double)j + sin((double)(i * (j + 1))));

  ndpar_scaler *stream = ndpar_scaler_alloc(NDPAR_SCALE_STANDARD, COLS);
  for (size_t r0 = 0; r0 < ROWS; r0 += CHUNK) { /* chunks as they arrive */
    gsl_matrix_const_view chunk = gsl_matrix_const_submatrix(x, r0, 0, CHUNK, COLS);
    ndpar_scaler_partial_fit(NULL, stream, &chunk.matrix);
  }
  char path[] = "/tmp/scaler_stream_XXXXXX";
  int fd = mkstemp(path);
  if (fd >= 0) close(fd);
  int saved = fd >= 0 && save(stream, path) == GSL_SUCCESS;
  ndpar_scaler *loaded = saved ? load(path) : NULL; /* in another process, later */
  remove(path);

  ndpar_scaler *one = ndpar_scaler_alloc(NDPAR_SCALE_STANDARD, COLS);
  ndpar_scaler_fit(NULL, one, x);
  const gsl_vector *a, *b;
  ndpar_scaler_params(stream, NULL, &a);
  ndpar_scaler_params(one, NULL, &b);
  double worst = 0;
  for (size_t j = 0; j < COLS; j++) worst = fmax(worst, fabs(gsl_vector_get(a, j) / gsl_vector_get(b, j) - 1));
  gsl_matrix *y = gsl_matrix_alloc(ROWS, COLS), *z = gsl_matrix_alloc(ROWS, COLS);
  gsl_matrix_memcpy(y, x);
  gsl_matrix_memcpy(z, x);
  ndpar_scaler_transform(NULL, stream, y);
  int same = loaded != NULL && ndpar_scaler_transform(NULL, loaded, z) == GSL_SUCCESS &&
             memcmp(y->data, z->data, sizeof(double) * ROWS * COLS) == 0;
  printf("scaler_stream: sd of %d chunks within %.1e of one fit; rebuilt from the file: %s\n", ROWS / CHUNK,
         worst, same ? "same bits" : "DIFFERENT");
  ndpar_scaler_free(stream);
  ndpar_scaler_free(loaded);
  ndpar_scaler_free(one);
  gsl_matrix_free(x);
  gsl_matrix_free(y);
  gsl_matrix_free(z);
  return same && worst < 1e-14 ? 0 : 1;
}
