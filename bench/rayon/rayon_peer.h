/* rayon_peer.h: Rayon (Rust) as a peer of the benchmarks, driving the same C kernels as the
 * other variants. Implemented by the crate in this folder (src/lib.rs), built offline by
 * Debian's cargo against Debian's librust-rayon-dev into build/lib/librayon_peer.a where
 * they are installed (make bench-deps). Bench code is then compiled with
 * -DNDPAR_BENCH_HAVE_RAYON -Ibench/rayon and linked with the archive; without it the bench
 * prints "Rayon: not installed (make bench-deps)" and leaves the column out.
 *
 * Not thread-safe against rayon_peer_init: call it from one thread while no other
 * rayon_peer_ call runs. The other functions may be called from any thread outside the
 * pool (and from the C callbacks, which then run nested on the pool). Callbacks must not
 * be NULL (a NULL callback makes the call do nothing). */
#ifndef NDPAR_BENCH_RAYON_PEER_H
#define NDPAR_BENCH_RAYON_PEER_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Builds the Rayon thread pool every later call runs on, with `threads` threads; call once
 * before the others (calls before it run on Rayon's default global pool). Calling it again
 * replaces the pool (a thread-count sweep). 0 on success; -1 when threads is 0 or Rayon
 * cannot start the threads. */
int rayon_peer_init(size_t threads);

/* Runs body(ctx, lo, hi) over [0, n) in parallel as Rayon's chunked form:
 * (0..n).into_par_iter().with_min_len(min_len), split by Rayon's own splitter, each leaf a
 * contiguous non-empty [lo, hi) of at least min_len indices (unless n < min_len), every
 * index in exactly one leaf. Returns when all leaves have run. min_len 0 means 1. */
void rayon_peer_for(size_t n, size_t min_len,
                    void (*body)(void *ctx, size_t lo, size_t hi), void *ctx);

/* Rayon's fold/reduce over [0, n): each split folds its ranges into its own accumulator of
 * acc_len doubles (zeroed) with fold(ctx, lo, hi, acc); accumulators are added elementwise;
 * the total is written to out[0..acc_len) (zeros for n = 0). The order of the additions
 * follows Rayon's splits: not deterministic across thread counts. */
void rayon_peer_reduce(size_t n, size_t min_len, size_t acc_len,
                       void (*fold)(void *ctx, size_t lo, size_t hi, double *acc),
                       void *ctx, double *out);

/* rayon::join(a, b) on the pool (from a non-pool thread: Rayon's install path): a(ctx) and
 * b(ctx), possibly at the same time; returns when both have run. */
void rayon_peer_join(void (*a)(void *), void (*b)(void *), void *ctx);

/* One rayon::join of two empty closures, `iters` times, from inside the pool (pool.install),
 * returning nanoseconds per join: Rayon's best case for fork-join latency (0 for iters 0). */
double rayon_peer_empty_join_ns(size_t iters);

#ifdef __cplusplus
}
#endif
#endif
