/* bench_cv: 5-fold cross-validation and a 4 x 5 grid search of the reference MLP (a short
 * training per fold) on the bundled series, sequential vs ndpar vs OpenMP (kernels in
 * ref/kernels.c). */
#include "ref/timing.h"
#include "ref/kernel_bench.h"

int main(int argc, char **argv) {
  const bench_case cases[] = {
      {"cv", {.batches = 5, .rows = 2000}},
      {"grid", {.batches = 5, .rows = 2000}},
  };
  return bench_kernel_main(argc, argv, "bench_cv",
                           "5-fold cross-validation and a 4 x 5 grid search (learning rates x folds) of\n"
                           "the reference MLP, 10 training steps per fold on 2,000 windows of the\n"
                           "bundled series: sequential vs ndpar vs OpenMP.",
                           "cross-validation and grid search (ms; speedup over sequential)", cases, 2, 7);
}
