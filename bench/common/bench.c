#include "bench.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels.h"
#include "ndpar/ndpar_pool.h"

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double bench_median(double *v, size_t n) {
  qsort(v, n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

void bench_compare_prepared(void (*const *fns)(void *), size_t nfns, void *ctx, int warmup,
                            int reps, void (*prepare)(void *), double *medians) {
  double *t = malloc(nfns * (size_t)reps * sizeof *t);
  for (int r = -warmup; r < reps; r++)
    for (size_t f = 0; f < nfns; f++) {
      bench_settle();
      fns[f](ctx); /* untimed: wakes the variant's threads and warms caches after the pause */
      if (prepare) prepare(ctx);
      double t0 = ndpar_time_now();
      fns[f](ctx);
      double dt = ndpar_time_now() - t0;
      if (r >= 0) t[f * (size_t)reps + (size_t)r] = dt;
    }
  for (size_t f = 0; f < nfns; f++) medians[f] = bench_median(t + f * (size_t)reps, (size_t)reps);
  free(t);
}

void bench_compare(void (*const *fns)(void *), size_t nfns, void *ctx, int warmup, int reps,
                   double *medians) {
  bench_compare_prepared(fns, nfns, ctx, warmup, reps, NULL, medians);
}

void bench_settle(void) {
  struct timespec ts = {0, 20 * 1000 * 1000};
  nanosleep(&ts, NULL);
}

void bench_parse(int argc, char **argv, const char *name, const char *what, bench_options *o) {
  o->threads = ndpar_physical_cores();
  o->reps = 0;
  o->quick = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      printf("usage: %s [--threads N] [--reps N] [--quick]\n%s\n"
             "  --threads N  threads for the parallel variants (default: physical cores, %zu)\n"
             "  --reps N     timed repeats per variant (default: per kernel)\n"
             "  --quick      few repeats: a smoke run, not a measurement\n",
             name, what, ndpar_physical_cores());
      exit(0);
    } else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
      char *end;
      long v = strtol(argv[++i], &end, 10);
      if (*end || v < 1 || v > NDPAR_MAX_THREADS) {
        fprintf(stderr, "%s: --threads takes a whole number from 1 to %d, not '%s'\n", name,
                NDPAR_MAX_THREADS, argv[i]);
        exit(2);
      }
      o->threads = (size_t)v;
    } else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
      char *end;
      long v = strtol(argv[++i], &end, 10);
      if (*end || v < 1) {
        fprintf(stderr, "%s: --reps takes a positive whole number, not '%s'\n", name, argv[i]);
        exit(2);
      }
      o->reps = (int)v;
    } else if (strcmp(argv[i], "--quick") == 0) {
      o->quick = 1;
    } else {
      fprintf(stderr, "%s: unknown option '%s' (try --help)\n", name, argv[i]);
      exit(2);
    }
  }
}

void bench_header(const char *title, const char *const *columns, size_t ncolumns) {
  printf("\n%s\n%-38s %3s", title, "kernel", "T");
  for (size_t i = 0; i < ncolumns; i++) printf(" %12s", columns[i]);
  printf("\n");
}

void bench_row(const char *label, size_t threads, const double *values, size_t nvalues,
               const char *unit) {
  printf("%-38s %3zu", label, threads);
  for (size_t i = 0; i < nvalues; i++) {
    if (values[i] != values[i]) /* NaN: not applicable */
      printf(" %12s", "-");
    else
      printf(" %12.3f", values[i]);
  }
  printf("  %s\n", unit);
  fflush(stdout);
}

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

int bench_kernel_compare(const void *kernel, void *state, ndpar_pool *pool, size_t threads,
                         size_t nvariants, int warmup, int reps, double *ms) {
  kernel_run r = {kernel, state, pool, threads, 0};
  void (*const fns[3])(void *) = {run_seq, run_ndpar, run_omp};
  bench_compare(fns, nvariants, &r, warmup, reps, ms);
  for (size_t i = 0; i < nvariants; i++) ms[i] *= 1e3;
  return r.failed;
}

int bench_kernel_row(const char *label, const void *kernel, void *state, ndpar_pool *pool,
                     size_t threads, int reps) {
  double v[5];
  int failed = bench_kernel_compare(kernel, state, pool, threads, 3, 1, reps, v);
  v[3] = v[0] / v[1];
  v[4] = v[0] / v[2];
  bench_row(label, threads, v, 5, "ms, x");
  return failed;
}

#include "kernel_main.h"

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
