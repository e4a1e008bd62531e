/* bench_grad: gradient aggregation of the reference MLP's backward pass, sequential vs ndpar
 * (fast and deterministic) vs OpenMP (per-thread sums merged in a critical section; kernels in
 * ref/kernels.c), and a false-sharing demonstration: per-thread accumulators packed into one
 * cache line vs padded.
 */
#include <stdlib.h>

#include "ref/timing.h"
#include "ref/kernel_bench.h"

/* ---- false sharing: T workers each add into their own accumulator ---- */

#define FS_ADDS 20000000

typedef struct {
  ndpar_pool *pool;
  size_t threads;
  double *packed;      /* acc[t] = packed[t]: neighbours in one cache line */
  ndpar_slots padded;  /* acc[t] in its own line */
} fs_ctx;

static void accumulate(volatile double *acc) {
  for (long k = 0; k < FS_ADDS; k++) *acc += 1.0;
}

static int fs_packed_task(const ndpar_task *t, void *vc) {
  accumulate(((fs_ctx *)vc)->packed + t->index);
  return 0;
}

static int fs_padded_task(const ndpar_task *t, void *vc) {
  accumulate(ndpar_slots_at(&((fs_ctx *)vc)->padded, t->index));
  return 0;
}

static void fs_packed(void *vc) {
  fs_ctx *c = vc;
  ndpar_pool_run(c->pool, c->threads, fs_packed_task, c);
}

static void fs_padded(void *vc) {
  fs_ctx *c = vc;
  ndpar_pool_run(c->pool, c->threads, fs_padded_task, c);
}

int main(int argc, char **argv) {
  const bench_case cases[] = {
      {"grad", {.batches = 50, .rows = 128}},
      {"grad", {.batches = 50, .rows = 128, .deterministic = 1}},
  };
  int status = bench_kernel_main(argc, argv, "bench_grad",
                                 "Gradient of the reference MLP (24 lags, 64 units, horizon 1) over 50 batches\n"
                                 "of 128 rows of the bundled series: sequential vs ndpar (fast, deterministic)\n"
                                 "vs OpenMP (critical-section merge); then packed vs cache-line padded\n"
                                 "per-thread accumulators.",
                                 "gradient over 50 batches (ms; speedup over sequential)", cases, 2, 21);
  if (status) return status;
  bench_options o;
  bench_parse(argc, argv, "bench_grad", "", &o);
  const char *fs_cols[] = {"packed", "padded", "packed/padded"};
  double fs_rows[2][3];
  size_t counts[2] = {1, o.threads};
  for (int k = 0; k < 2; k++) {
    ndpar_pool_config cfg;
    ndpar_pool_config_init(&cfg);
    cfg.threads = counts[k];
    fs_ctx f = {ndpar_pool_alloc(&cfg), counts[k], calloc(counts[k], sizeof(double)), {0}};
    ndpar_slots_alloc(&f.padded, counts[k], sizeof(double));
    void (*const fs[2])(void *) = {fs_packed, fs_padded};
    bench_compare(fs, 2, &f, 1, o.quick ? 3 : 7, fs_rows[k]);
    fs_rows[k][0] *= 1e3;
    fs_rows[k][1] *= 1e3;
    fs_rows[k][2] = fs_rows[k][0] / fs_rows[k][1];
    free(f.packed);
    ndpar_slots_free(&f.padded);
    ndpar_pool_free(f.pool);
  }
  bench_header("false sharing: 2*10^7 adds per thread into its own accumulator (ms)", fs_cols, 3);
  for (int k = 0; k < 2; k++) bench_row("acc[t] += 1", counts[k], fs_rows[k], 3, "ms, x");
  return 0;
}
