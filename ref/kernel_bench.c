#include "ref/kernel_bench.h"

#include <stdio.h>
#include <stdlib.h>

#include "ref/timing.h"

typedef struct {
  const wl_kernel *k;
  void *state;
  ndpar_pool *pool;
  size_t threads;
  int failed;
} kernel_run;

static void run_seq(void *v) {
  kernel_run *r = v;
  r->failed |= r->k->run_seq(r->state);
}
static void run_ndpar(void *v) {
  kernel_run *r = v;
  r->failed |= r->k->run_ndpar(r->pool, r->state);
}
static void run_omp(void *v) {
  kernel_run *r = v;
  r->failed |= r->k->run_omp(r->threads, r->state);
}

int bench_kernel_compare(const wl_kernel *kernel, void *state, ndpar_pool *pool, size_t threads,
                         size_t nvariants, int warmup, int reps, double *ms) {
  kernel_run r = {kernel, state, pool, threads, 0};
  void (*const fns[3])(void *) = {run_seq, run_ndpar, run_omp};
  bench_compare(fns, nvariants, &r, warmup, reps, ms);
  for (size_t i = 0; i < nvariants; i++) ms[i] *= 1e3;
  return r.failed;
}

int bench_kernel_row(const char *label, const wl_kernel *kernel, void *state, ndpar_pool *pool,
                     size_t threads, int reps) {
  double v[5];
  int failed = bench_kernel_compare(kernel, state, pool, threads, 3, 1, reps, v);
  v[3] = v[0] / v[1];
  v[4] = v[0] / v[2];
  bench_row(label, threads, v, 5, "ms, x");
  return failed;
}

int bench_kernel_main(int argc, char **argv, const char *name, const char *what,
                      const char *title, const bench_case *cases, size_t ncases, int default_reps) {
  bench_options o;
  bench_parse(argc, argv, name, what, &o);
  int reps = o.reps ? o.reps : (o.quick ? 3 : default_reps);
  void **states = calloc(ncases, sizeof *states);
  for (size_t i = 0; i < ncases; i++) {
    char err[512];
    const wl_kernel *k = wl_kernel_find(cases[i].kernel);
    if (k == NULL || (states[i] = k->setup(&cases[i].params, err, sizeof err)) == NULL) {
      fprintf(stderr, "%s: %s: %s\n", name, cases[i].kernel, k ? err : "no such kernel");
      return 1;
    }
  }
  printf("%s: %zu physical cores; medians of %d interleaved repeats\n", name,
         ndpar_physical_cores(), reps);
  const char *cols[] = {"sequential", "ndpar", "OpenMP", "ndpar-speedup", "omp-speedup"};
  bench_header(title, cols, 5);
  size_t counts[2] = {1, o.threads};
  int failed = 0;
  for (int t = 0; t < 2; t++) {
    ndpar_pool_config cfg;
    ndpar_pool_config_init(&cfg);
    cfg.threads = counts[t];
    ndpar_pool *pool = ndpar_pool_alloc(&cfg);
    for (size_t i = 0; i < ncases; i++) {
      const wl_kernel *k = wl_kernel_find(cases[i].kernel);
      char label[64];
      snprintf(label, sizeof label, "%s", k->describe(states[i]));
      failed |= bench_kernel_row(label, k, states[i], pool, counts[t], reps);
    }
    ndpar_pool_free(pool);
  }
  for (size_t i = 0; i < ncases; i++) wl_kernel_find(cases[i].kernel)->teardown(states[i]);
  free(states);
  if (failed) fprintf(stderr, "%s: a variant failed\n", name);
  return failed ? 1 : 0;
}
