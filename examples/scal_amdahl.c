/* scal_amdahl: how a workload scales with threads: its time at 1 thread and at every
 * physical core, the table, and Amdahl's law fitted to those points (said in words when
 * the fit says nothing). The workload: 200 tasks of ~50 us of arithmetic per run. */
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
  size_t cores = ndpar_physical_cores(), n = cores > 1 ? 2 : 1;
  size_t threads[] = {1, cores};
  ndpar_scal_point pts[2];
  int status = ndpar_scal_run(threads, n, NULL, my_workload, my_ctx, pts);
  ndpar_scal_print(stdout, pts, n);
  double f, smax, residual;
  if (status == GSL_SUCCESS && n == 2 && ndpar_scal_amdahl(pts, n, &f, &smax, &residual) == GSL_SUCCESS) {
    const char *why = ndpar_scal_amdahl_degenerate(f, residual);
    if (why)
      printf("Amdahl fit: parallel fraction %.3f: %s\n", f, why);
    else
      printf("Amdahl fit: parallel fraction %.3f, at most %.1fx\n", f, smax);
  }
  if (status != GSL_SUCCESS) fprintf(stderr, "scal_amdahl: %s\n", ndpar_error_last()->message);
  return status;
}
