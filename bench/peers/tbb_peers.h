/* tbb_peers.h: oneTBB's parallel_for and parallel_(deterministic_)reduce over an index range,
 * for bench_peers' check that the benchmarks' TBB build (the .cpp files of every bench/<name>/,
 * compiled where libtbb-dev is installed) links and runs. */
#ifndef NDPAR_BENCH_TBB_PEERS_H
#define NDPAR_BENCH_TBB_PEERS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* tbb::parallel_for over blocked_range [0, n) with grain size `grain`, in a task_arena of
 * `threads` threads, with the simple_partitioner when `simple` is non-zero, else the
 * auto_partitioner: body(ctx, lo, hi) on each subrange. */
void tbb_peers_for(size_t threads, size_t n, size_t grain, int simple,
                   void (*body)(void *ctx, size_t lo, size_t hi), void *ctx);

/* The sum of the integers 0 .. n-1 as a double, by tbb::parallel_reduce (or
 * parallel_deterministic_reduce when `deterministic` is non-zero) over blocked_range [0, n)
 * with grain size `grain`, in a task_arena of `threads` threads. */
double tbb_peers_sum(size_t threads, size_t n, size_t grain, int deterministic);

#ifdef __cplusplus
}
#endif
#endif
