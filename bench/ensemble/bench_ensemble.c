/* bench_ensemble: 3 and 16 reference MLPs over 100 batches of 64 rows of the bundled series,
 * mean and spread across members: sequential vs ndpar's batched form vs OpenMP (collapse(2)
 * over batches and members, schedule(dynamic,1)); kernels in ref/kernels.c. */
#include "ref/timing.h"
#include "ref/kernel_bench.h"

int main(int argc, char **argv) {
  const bench_case cases[] = {
      {"ensemble", {.batches = 100, .rows = 64, .members = 3}},
      {"ensemble", {.batches = 100, .rows = 64, .members = 16}},
  };
  return bench_kernel_main(argc, argv, "bench_ensemble",
                           "Ensembles of 3 and 16 reference MLPs over 100 batches of 64 rows of the\n"
                           "bundled series (mean and spread): sequential vs ndpar vs OpenMP.",
                           "ensemble prediction, mean and spread (ms; speedup over sequential)",
                           cases, 2, 11);
}
