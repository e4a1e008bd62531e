/* bench_batch: batch inference and MC dropout of the reference MLP (24 lags, 64 tanh units,
 * 6-hour horizon) on the bundled Seattle series, sequential vs ndpar vs OpenMP
 * schedule(dynamic,1), in one run (the kernels: ref/kernels.c). */
#include "ref/timing.h"
#include "ref/kernel_bench.h"

int main(int argc, char **argv) {
  const bench_case cases[] = {
      {"batch", {.batches = 100, .rows = 64}},
      {"batch", {.batches = 1000, .rows = 8}},
      {"mc", {.batches = 2, .samples = 100, .rows = 64}},
  };
  return bench_kernel_main(argc, argv, "bench_batch",
                           "Batch inference (100 x 64 rows, 1,000 x 8 rows) and MC dropout (2 batches x\n"
                           "100 samples) of the reference MLP on the bundled series: sequential vs ndpar\n"
                           "vs OpenMP schedule(dynamic,1).",
                           "batch inference (ms per call; speedup over sequential)", cases, 3, 21);
}
