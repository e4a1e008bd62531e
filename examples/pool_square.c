/* examples/pool_square.c: out[i] = i * i for 1000 indices, in parallel on the default pool
 * (one thread per physical core). A failing call reports what ndpar_error_last() says. */
#include <stdio.h>
#include <ndpar/ndpar_pool.h>

static int square(const ndpar_task *t, void *ctx) {
  double *out = ctx;
  out[t->index] = (double)t->index * (double)t->index;
  return GSL_SUCCESS;            /* non-zero stops the run */
}

int main(void) {
  double out[1000];
  int status = ndpar_pool_run(NULL, 1000, square, out);   /* NULL: the default pool */
  if (status != GSL_SUCCESS) {
    fprintf(stderr, "pool_square: %s\n", ndpar_error_last()->message);
    return 1;
  }
  for (size_t i = 0; i < 1000; i++)
    if (out[i] != (double)i * (double)i) return 1;
  printf("pool_square: 1000 squares on %zu threads\n", ndpar_pool_threads(NULL));
  return 0;
}
