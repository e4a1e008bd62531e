/* tbb_grad.h: oneTBB's reductions of a gradient, for bench_grad (C++ in tbb_grad.cpp). */
#ifndef NDPAR_BENCH_TBB_GRAD_H
#define NDPAR_BENCH_TBB_GRAD_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* out[0..P) = the mean gradient over n batches, summed by fold(ctx, lo, hi, acc) into
 * accumulators of P + 1 doubles (gradient sums, then rows) with tbb::parallel_reduce
 * (auto partitioner), or with tbb::parallel_deterministic_reduce (simple partitioner,
 * grain n / (4 threads)) when deterministic is non-zero; on a task_arena of `threads`. */
void tbb_grad_reduce(size_t n, size_t P, void (*fold)(void *ctx, size_t lo, size_t hi, double *acc),
                     void *ctx, double *out, int threads, int deterministic);

#ifdef __cplusplus
}
#endif
#endif
