/* tbb_pool.h: oneTBB's fork-join forms over the same C task functions as ndpar's pool, for
 * bench_pool's comparison. Built only where libtbb-dev is installed (make bench-deps); the
 * benchmark calls these under NDPAR_BENCH_HAVE_TBB. */
#ifndef NDPAR_BENCH_TBB_POOL_H
#define NDPAR_BENCH_TBB_POOL_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The task arena of `threads` threads every call below runs in (made once; a later call
 * with another count replaces it). */
void tbb_pool_init(size_t threads);

/* tbb::parallel_for over [0, n) with grain 1: body(ctx, lo, hi) per leaf range.
 * partitioner: 0 simple_partitioner, 1 auto_partitioner, 2 static_partitioner. */
void tbb_pool_for(size_t n, int partitioner, void (*body)(void *ctx, size_t lo, size_t hi),
                  void *ctx);

/* tbb::parallel_invoke(a, b). */
void tbb_pool_invoke2(void (*a)(void *), void (*b)(void *), void *ctx);

/* A tbb::task_group running task(ctx, i) for i in [0, n), then wait(). */
void tbb_pool_group(size_t n, void (*task)(void *ctx, size_t i), void *ctx);

/* `iters` empty fork-joins of n tasks from inside the arena (TBB's best case: no arena
 * entry per call), in nanoseconds per fork-join. form: 0 parallel_for simple, 1
 * parallel_for auto, 2 parallel_invoke (n = 2 only) or task_group (n > 2). */
double tbb_pool_empty_ns(size_t n, int form, size_t iters);

#ifdef __cplusplus
}
#endif
#endif
