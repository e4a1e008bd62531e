/* train_sgd: synchronous data-parallel SGD on the reference MLP over the bundled Seattle
 * temperature series, with a deterministic gradient: the same weights at any thread count.
 * Usage: train_sgd [--threads N] [--steps N] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref/wl.h"

int main(int argc, char **argv) {
  size_t threads = 0, steps = 200;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0) {
      printf("usage: train_sgd [--threads N] [--steps N]\n"
             "Trains a 24-lag, 16-unit MLP for one-hour-ahead temperature with synchronous\n"
             "data-parallel SGD (parallel gradient over 8 shards, then one update) and prints\n"
             "the loss every 20 steps and a checksum of the weights.\n");
      return 0;
    } else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
      threads = strtoul(argv[++i], NULL, 10);
    } else if (strcmp(argv[i], "--steps") == 0 && i + 1 < argc) {
      steps = strtoul(argv[++i], NULL, 10);
    } else {
      fprintf(stderr, "train_sgd: unknown option '%s' (try --help)\n", argv[i]);
      return 2;
    }
  }
  gsl_matrix *x, *y;
  char err[512];
  if (wl_default_windows(NULL, 24, 1, &x, &y, err, sizeof err)) {
    fprintf(stderr, "train_sgd: %s\n", err);
    return 1;
  }
  gsl_vector *target = gsl_vector_alloc(y->size1);
  gsl_matrix_get_col(target, y, 0);
  ndpar_pool_config cfg;
  ndpar_pool_config_init(&cfg);
  if (threads) cfg.threads = threads;
  ndpar_pool *pool = ndpar_pool_alloc(&cfg);
  wl_mlp *m = wl_mlp_alloc(24, 16, 1);
  wl_mlp_init(m, 7);
  double *losses = malloc((steps ? steps : 1) * sizeof *losses);
  int status = pool ? wl_sgd_train(pool, m, x, target, 512, 8, steps, 0.05,
                                   NDPAR_REDUCE_DETERMINISTIC, losses)
                    : GSL_EFAILED;
  if (status == GSL_SUCCESS) {
    for (size_t s = 0; s < steps; s++)
      if (s % 20 == 0 || s + 1 == steps) printf("step %4zu  loss %.6f\n", s, losses[s]);
    double sum = 0;
    for (size_t j = 0; j < m->theta->size; j++) sum += gsl_vector_get(m->theta, j) * (double)(j + 1);
    printf("threads %zu, weights checksum %.17g\n", ndpar_pool_threads(pool), sum);
  } else {
    fprintf(stderr, "train_sgd: %s\n", ndpar_error_last()->message);
  }
  free(losses);
  wl_mlp_free(m);
  ndpar_pool_free(pool);
  gsl_vector_free(target);
  gsl_matrix_free(x);
  gsl_matrix_free(y);
  return status == GSL_SUCCESS ? 0 : 1;
}
