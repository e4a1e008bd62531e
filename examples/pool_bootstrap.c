/* examples/pool_bootstrap.c: 2000 bootstrap resamples of a mean in parallel, each task drawing
 * from its own stream (t->rng, from the seed and the task's index): the same estimates on any
 * thread count, with no stream set-up in the program. */
#include <stdio.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <ndpar/ndpar_pool.h>

#define N 500
#define B 2000

typedef struct {
  const double *data;
  double *means; /* one per resample */
} boot;

static int resample(const ndpar_task *t, void *ctx) {
  boot *b = ctx;
  double sum = 0;
  for (size_t i = 0; i < N; i++) sum += b->data[gsl_rng_uniform_int(t->rng, N)];
  b->means[t->index] = sum / N;
  return GSL_SUCCESS;
}

int main(void) {
  static double data[N], means[B], again[B];
  for (size_t i = 0; i < N; i++) data[i] = (double)(i % 17) + 0.25 * (double)(i % 5);
  boot b = {data, means};
  int status = ndpar_pool_run_streams(NULL, B, 2024, resample, &b, NULL);
  ndpar_pool_config cfg;
  ndpar_pool_config_init(&cfg);
  cfg.threads = 1;
  ndpar_pool *one = ndpar_pool_alloc(&cfg);
  boot b1 = {data, again};
  if (status == GSL_SUCCESS) status = ndpar_pool_run_streams(one, B, 2024, resample, &b1, NULL);
  ndpar_pool_free(one);
  if (status != GSL_SUCCESS) {
    fprintf(stderr, "pool_bootstrap: %s\n", ndpar_error_last()->message);
    return 1;
  }
  int same = 1;
  for (size_t k = 0; k < B; k++) same &= means[k] == again[k];
  gsl_sort(means, 1, B);
  printf("pool_bootstrap: mean %.4f, 95%% interval [%.4f, %.4f]; the same at 1 thread: %s\n",
         gsl_stats_mean(data, 1, N), gsl_stats_quantile_from_sorted_data(means, 1, B, 0.025),
         gsl_stats_quantile_from_sorted_data(means, 1, B, 0.975), same ? "yes" : "no");
  return same ? 0 : 1;
}
