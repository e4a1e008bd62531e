/* Writes the seed corpus of tests/fuzz/fuzz_model.c: saved models (a fitted ridge, a fitted
 * least-squares model, a chain of a standard scaler and ridge, a min-max scaler alone, an
 * unfitted ridge), each prefixed by the target's mode byte (1: the target rewrites length
 * and checksum; the fitted ridge also with 0: the bytes as they are).
 *   make build/lib/libndpar.a && cc -std=c11 -D_GNU_SOURCE -Iinclude tests/fuzz/model_seeds.c \
 *     build/lib/libndpar.a -lgsl -lgslcblas -lhwloc -lm -pthread -o build/model_seeds &&
 *     build/model_seeds tests/fuzz/corpus/model */
#include <gsl/gsl_matrix.h>
#include <stdio.h>
#include <stdlib.h>

#include "ndpar/ndpar_models.h"

static const char *dir;

/* Saves m, then writes mode + the file's bytes to dir/name. */
static void seed(const ndpar_model *m, const char *name, int mode) {
  char tmp[512];
  char out[512];
  snprintf(tmp, sizeof tmp, "%s/.tmp.ndpar", dir);
  snprintf(out, sizeof out, "%s/%s", dir, name);
  if (ndpar_model_save(m, tmp) != GSL_SUCCESS) exit(1);
  FILE *in = fopen(tmp, "rb");
  FILE *f = fopen(out, "wb");
  if (in == NULL || f == NULL) exit(1);
  fputc(mode, f);
  int c;
  while ((c = fgetc(in)) != EOF) fputc(c, f);
  fclose(in);
  fclose(f);
  remove(tmp);
}

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  dir = argv[1];
  gsl_matrix *x = gsl_matrix_alloc(6, 3);
  gsl_matrix *y = gsl_matrix_alloc(6, 2);
  for (size_t i = 0; i < 6; i++) {
    for (size_t j = 0; j < 3; j++) gsl_matrix_set(x, i, j, (double)((i * (j + 2)) % 5) - 1.5);
    gsl_matrix_set(y, i, 0, (double)i);
    gsl_matrix_set(y, i, 1, (double)(i * i) / 3);
  }
  ndpar_model *ridge = ndpar_ridge_alloc(0.5);
  ndpar_model *linear = ndpar_linear_alloc();
  ndpar_model *steps[2] = {ndpar_scaler_model_alloc(NDPAR_SCALE_STANDARD), ndpar_ridge_alloc(2.0)};
  ndpar_model *chain = ndpar_chain_alloc(steps, 2);
  ndpar_model *minmax = ndpar_scaler_model_alloc(NDPAR_SCALE_MINMAX);
  ndpar_model *unfitted = ndpar_ridge_alloc(3.0);
  if (ndpar_model_fit(NULL, ridge, x, y) || ndpar_model_fit(NULL, linear, x, y) ||
      ndpar_model_fit(NULL, chain, x, y) || ndpar_model_fit(NULL, minmax, x, NULL))
    return 1;
  seed(ridge, "ridge", 1);
  seed(ridge, "ridge-raw", 0);
  seed(linear, "linear", 1);
  seed(chain, "chain-scaler-ridge", 1);
  seed(minmax, "scaler-minmax", 1);
  seed(unfitted, "ridge-unfitted", 1);
  ndpar_model_free(ridge);
  ndpar_model_free(linear);
  ndpar_model_free(chain);
  ndpar_model_free(minmax);
  ndpar_model_free(unfitted);
  gsl_matrix_free(x);
  gsl_matrix_free(y);
  return 0;
}
