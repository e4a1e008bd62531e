#include "ref/timing.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ndpar/ndpar_pool.h"

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double bench_median(double *v, size_t n) {
  qsort(v, n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

void bench_compare_stats(void (*const *fns)(void *), size_t nfns, void *ctx, int warmup,
                         int reps, void (*prepare)(void *), bench_stats *stats) {
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
  for (size_t f = 0; f < nfns; f++) {
    double *v = t + f * (size_t)reps;
    double med = bench_median(v, (size_t)reps); /* sorts v */
    stats[f] = (bench_stats){v[0], med, v[reps - 1]};
  }
  free(t);
}

void bench_compare_stats_ms(void (*const *fns)(void *), size_t nfns, void *ctx, int warmup,
                            int reps, void (*prepare)(void *), bench_stats *stats) {
  bench_compare_stats(fns, nfns, ctx, warmup, reps, prepare, stats);
  for (size_t f = 0; f < nfns; f++) stats[f] = (bench_stats){1e3 * stats[f].min, 1e3 * stats[f].med, 1e3 * stats[f].max};
}

void bench_compare_prepared(void (*const *fns)(void *), size_t nfns, void *ctx, int warmup,
                            int reps, void (*prepare)(void *), double *medians) {
  bench_stats *s = malloc(nfns * sizeof *s);
  bench_compare_stats(fns, nfns, ctx, warmup, reps, prepare, s);
  for (size_t f = 0; f < nfns; f++) medians[f] = s[f].med;
  free(s);
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
