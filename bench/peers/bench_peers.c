/* bench_peers: checks the benchmarks' peers before any benchmark times them (make
 * bench-peers-check, and a step of make bench).
 *
 *   Rayon (bench/rayon, where cargo and librust-rayon-dev are installed):
 *     rayon_peer_for covers every index of [0, n) exactly once, in non-empty leaves of at
 *     least min_len indices; rayon_peer_reduce gives the exact sums of integers a
 *     sequential loop gives; rayon_peer_join runs both tasks once; rayon_peer_init rejects
 *     0 threads and can be called again (a thread-count sweep); the empty join's latency is
 *     a positive number.
 *   oneTBB (tbb_peers.cpp, built by the rule every .cpp of a bench/<name>/ goes through,
 *     where libtbb-dev is installed): parallel_for (auto and simple partitioners) covers every
 *     index exactly once; parallel_reduce and parallel_deterministic_reduce give the exact
 *     sum.
 * at 1 thread, --threads and --threads + 1, on sizes 0, 1, T-1, T, T+1 and large.
 * Names every failed check and exits 1; a peer that is not built is named and skipped.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "ref/timing.h"

#ifdef NDPAR_BENCH_HAVE_RAYON
#include "rayon_peer.h"
#endif
#ifdef NDPAR_BENCH_HAVE_TBB
#include "tbb_peers.h"
#endif

static int failures;

#if defined NDPAR_BENCH_HAVE_RAYON || defined NDPAR_BENCH_HAVE_TBB

static void expect(int ok, const char *peer, const char *what, size_t threads, size_t n,
                   size_t min_len) {
  if (ok) return;
  failures++;
  fprintf(stderr, "bench_peers: %s: %s (threads %zu, n %zu, min_len/grain %zu)\n", peer, what,
          threads, n, min_len);
}

/* "ok", or "FAILED" when a check failed since `failures_before` was read. */
static const char *verdict(int failures_before) {
  return failures == failures_before ? "ok" : "FAILED";
}

/* ---- coverage: every index in exactly one non-empty leaf ---- */

typedef struct {
  _Atomic unsigned char *hits;
  size_t n, min_leaf;
  atomic_size_t leaves, short_leaves, bad_leaves;
} cover_t;

static void cover_leaf(void *vc, size_t lo, size_t hi) {
  cover_t *c = vc;
  atomic_fetch_add(&c->leaves, 1);
  if (lo >= hi || hi > c->n) {
    atomic_fetch_add(&c->bad_leaves, 1);
    return;
  }
  if (hi - lo < c->min_leaf) atomic_fetch_add(&c->short_leaves, 1);
  for (size_t i = lo; i < hi; i++) atomic_fetch_add_explicit(&c->hits[i], 1, memory_order_relaxed);
}

static void cover_reset(cover_t *c, size_t n, size_t min_leaf) {
  c->n = n;
  c->min_leaf = min_leaf;
  atomic_store(&c->leaves, 0);
  atomic_store(&c->short_leaves, 0);
  atomic_store(&c->bad_leaves, 0);
  for (size_t i = 0; i < n; i++) atomic_store(&c->hits[i], 0);
}

static int covered_once(cover_t *c) {
  for (size_t i = 0; i < c->n; i++)
    if (atomic_load(&c->hits[i]) != 1) return 0;
  return atomic_load(&c->bad_leaves) == 0;
}

/* ---- the sums a fold must reproduce: sum of i, of 1, of i mod 7 over [lo, hi) ---- */

enum { SUMS = 3 };

static void sums_seq(size_t lo, size_t hi, uint64_t s[SUMS]) {
  for (size_t i = lo; i < hi; i++) s[0] += i, s[1] += 1, s[2] += i % 7;
}

#endif /* a peer is built */

#ifdef NDPAR_BENCH_HAVE_RAYON
static void sums_fold(void *ctx, size_t lo, size_t hi, double *acc) {
  (void)ctx;
  uint64_t s[SUMS] = {0, 0, 0};
  sums_seq(lo, hi, s);
  for (int k = 0; k < SUMS; k++) acc[k] += (double)s[k];
}

static void count_task(void *ctx) { atomic_fetch_add((atomic_int *)ctx, 1); }
static void count_task_b(void *ctx) { atomic_fetch_add((atomic_int *)ctx + 1, 1); }

static void check_rayon(size_t T, const size_t *sizes, size_t nsizes, cover_t *c) {
  int before = failures;
  expect(rayon_peer_init(T) == 0, "Rayon", "rayon_peer_init failed", T, 0, 0);
  for (size_t s = 0; s < nsizes; s++) {
    size_t n = sizes[s];
    size_t min_lens[] = {0, 1, 3, 64, n + 1};
    for (size_t m = 0; m < sizeof min_lens / sizeof *min_lens; m++) {
      size_t min_len = min_lens[m], want = min_len ? min_len : 1;
      cover_reset(c, n, want < n ? want : n);
      rayon_peer_for(n, min_len, cover_leaf, c);
      expect(covered_once(c), "Rayon", "rayon_peer_for: an index not run exactly once", T, n,
             min_len);
      expect(atomic_load(&c->short_leaves) == 0, "Rayon", "rayon_peer_for: a leaf under min_len",
             T, n, min_len);
      expect(n == 0 ? atomic_load(&c->leaves) == 0 : atomic_load(&c->leaves) >= 1, "Rayon",
             "rayon_peer_for: leaves for n = 0, or none for n > 0", T, n, min_len);

      uint64_t want_sums[SUMS] = {0, 0, 0};
      sums_seq(0, n, want_sums);
      double out[SUMS] = {NAN, NAN, NAN};
      rayon_peer_reduce(n, min_len, SUMS, sums_fold, NULL, out);
      for (int k = 0; k < SUMS; k++)
        expect(out[k] == (double)want_sums[k], "Rayon", "rayon_peer_reduce: sum not exact", T, n,
               min_len);
    }
  }
  atomic_int ran[2] = {0, 0};
  rayon_peer_join(count_task, count_task_b, ran);
  expect(atomic_load(&ran[0]) == 1 && atomic_load(&ran[1]) == 1, "Rayon",
         "rayon_peer_join: a task not run exactly once", T, 0, 0);
  double ns = rayon_peer_empty_join_ns(10000);
  expect(isfinite(ns) && ns > 0, "Rayon", "rayon_peer_empty_join_ns: not a positive time", T, 0,
         0);
  printf("Rayon, %zu threads: for, reduce, join %s; empty join %.0f ns\n", T, verdict(before), ns);
}
#endif

#ifdef NDPAR_BENCH_HAVE_TBB
static void check_tbb(size_t T, const size_t *sizes, size_t nsizes, cover_t *c) {
  int before = failures;
  for (size_t s = 0; s < nsizes; s++) {
    size_t n = sizes[s];
    size_t grains[] = {1, 3, 64, n + 1};
    for (size_t g = 0; g < sizeof grains / sizeof *grains; g++) {
      for (int simple = 0; simple < 2; simple++) {
        cover_reset(c, n, 0);
        tbb_peers_for(T, n, grains[g], simple, cover_leaf, c);
        expect(covered_once(c), "oneTBB",
               simple ? "parallel_for (simple): an index not run exactly once"
                      : "parallel_for (auto): an index not run exactly once",
               T, n, grains[g]);
      }
      uint64_t want[SUMS] = {0, 0, 0};
      sums_seq(0, n, want);
      for (int det = 0; det < 2; det++)
        expect(tbb_peers_sum(T, n, grains[g], det) == (double)want[0], "oneTBB",
               det ? "parallel_deterministic_reduce: sum not exact"
                   : "parallel_reduce: sum not exact",
               T, n, grains[g]);
    }
  }
  printf("oneTBB, %zu threads: parallel_for, parallel_reduce, parallel_deterministic_reduce %s\n",
         T, verdict(before));
}
#endif

#if defined NDPAR_BENCH_HAVE_RAYON || defined NDPAR_BENCH_HAVE_TBB
/* Every built peer at 1, threads and threads + 1 threads, up to `large` indices. */
static void check_peers(size_t threads, size_t large) {
  cover_t c;
  c.hits = malloc(large * sizeof *c.hits);
  if (!c.hits) {
    expect(0, "bench_peers", "out of memory", threads, large, 0);
    return;
  }
  size_t counts[] = {1, threads, threads + 1};
  for (size_t k = 0; k < 3; k++) {
    size_t T = counts[k];
    size_t sizes[] = {0, 1, T - 1, T, T + 1, 1000, large};
    size_t nsizes = sizeof sizes / sizeof *sizes;
#ifdef NDPAR_BENCH_HAVE_RAYON
    check_rayon(T, sizes, nsizes, &c);
#endif
#ifdef NDPAR_BENCH_HAVE_TBB
    check_tbb(T, sizes, nsizes, &c);
#endif
  }
  free(c.hits);
}
#endif

int main(int argc, char **argv) {
  bench_options o;
  bench_parse(argc, argv, "bench_peers",
              "Checks the benchmarks' peers (Rayon's bench/rayon, oneTBB's C++ build): every\n"
              "index run exactly once, exact sums, both join tasks run.",
              &o);
#if defined NDPAR_BENCH_HAVE_RAYON || defined NDPAR_BENCH_HAVE_TBB
  check_peers(o.threads, o.quick ? (size_t)1 << 16 : (size_t)1 << 20);
#endif
#ifdef NDPAR_BENCH_HAVE_RAYON
  expect(rayon_peer_init(0) == -1, "Rayon", "rayon_peer_init(0) accepted", 0, 0, 0);
#else
  printf("Rayon: not installed (make bench-deps)\n");
#endif
#ifndef NDPAR_BENCH_HAVE_TBB
  printf("TBB: not installed (make bench-deps)\n");
#endif
  if (failures) {
    fprintf(stderr, "bench_peers: %d check(s) failed\n", failures);
    return 1;
  }
  printf("bench_peers: ok\n");
  return 0;
}
