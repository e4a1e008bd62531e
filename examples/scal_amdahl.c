/* scal_amdahl: how a workload scales with threads: its time at 1 thread, 2 threads and every
 * physical core (11 timed runs each), the table with 95% intervals, and what the points
 * honestly say: with three or more points within the cores Amdahl's parallel fraction with
 * its interval (and a maximum speedup only where the interval bounds it); with two, only
 * the Karp-Flatt serial fraction. The workload: 200 tasks of ~50 us of arithmetic per run. */
#include <math.h>
#include <stdio.h>
#include <ndpar/ndpar.h>

static int busy(const ndpar_task *t, void *ctx) {
  double *out = ctx, acc = 0;
  for (int k = 1; k < 20000; k++) acc += sqrt((double)k + (double)t->index);
  out[t->index] = acc;
  return GSL_SUCCESS;
}

/* An ndpar_workload_fn: one run of the workload on the given pool. */
static int my_workload(ndpar_pool *pool, void *ctx) {
  return ndpar_pool_run(pool, 200, busy, ctx);
}

int main(void) {
  double out[200];
  void *my_ctx = out;
  size_t cores = ndpar_physical_cores();
  size_t threads[3] = {1, 2, cores}, n = cores >= 3 ? 3 : cores; /* distinct, within the cores */
  ndpar_scal_config cfg;
  ndpar_scal_config_init(&cfg); /* 11 timed runs after 2 warm-ups */
  double samples[3 * 11];
  cfg.samples = samples; /* every run, for the interval of the fit */
  ndpar_scal_point pts[3];
  int status = ndpar_scal_run(threads, n, &cfg, my_workload, my_ctx, pts);
  if (status != GSL_SUCCESS) {
    fprintf(stderr, "scal_amdahl: %s\n", ndpar_error_last()->message);
    return status;
  }
  ndpar_scal_print(stdout, pts, n);
  double f, smax, residual, lo, hi;
  if (n >= 3 && ndpar_scal_amdahl(pts, n, &f, &smax, &residual) == GSL_SUCCESS &&
      ndpar_scal_amdahl_interval(pts, n, samples, cfg.repeats, 0.95, &lo, &hi) == GSL_SUCCESS) {
    const char *why = ndpar_scal_amdahl_degenerate(f, residual);
    if (why == NULL && hi < 1)
      printf("parallel fraction %.3f [%.3f, %.3f]: at most %.1fx [%.1fx, %.1fx]\n", f, lo, hi, smax,
             1 / (1 - lo), 1 / (1 - hi));
    else
      printf("parallel fraction %.3f [%.3f, %.3f]: no maximum speedup (%s)\n", f, lo, hi,
             why ? why : "the interval reaches 1");
  } else if (n == 2) {
    printf("Karp-Flatt serial fraction at 2 threads: %.3f (two points fit Amdahl exactly: "
           "no maximum speedup)\n", pts[1].serial_fraction);
  }
  return GSL_SUCCESS;
}
