/* tbb_batch.h: oneTBB's parallel_for over the same C per-batch kernel as ndpar's batch
 * inference, for bench_batch's comparison. Built only where libtbb-dev is installed (make
 * bench-deps); the benchmark calls these under NDPAR_BENCH_HAVE_TBB. */
#ifndef NDPAR_BENCH_TBB_BATCH_H
#define NDPAR_BENCH_TBB_BATCH_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The task arena of `threads` threads every tbb_batch_for runs in (made once; a later call
 * with another count replaces it). */
void tbb_batch_init(size_t threads);
/* Frees the arena. */
void tbb_batch_free(void);

/* tbb::parallel_for over [0, n) with grain 1: body(ctx, lo, hi) per leaf range.
 * partitioner: 0 simple_partitioner, 1 auto_partitioner. */
void tbb_batch_for(size_t n, int partitioner, void (*body)(void *ctx, size_t lo, size_t hi),
                   void *ctx);

#ifdef __cplusplus
}
#endif
#endif
