// tbb_peers.cpp: the oneTBB side of bench_peers' check (see tbb_peers.h). C++ lives in the
// benchmarks only.
#include "tbb_peers.h"

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/parallel_reduce.h>
#include <oneapi/tbb/task_arena.h>

#include <functional>

using range = tbb::blocked_range<size_t>;

namespace {
// TBB caps its workers at the core count unless told otherwise: an arena of more threads
// (T = cores + 1) then runs on fewer and warns. The limit is raised for the call's length.
tbb::global_control workers_for(size_t threads) {
  return tbb::global_control(tbb::global_control::max_allowed_parallelism, threads);
}
}  // namespace

extern "C" void tbb_peers_for(size_t threads, size_t n, size_t grain, int simple,
                              void (*body)(void *, size_t, size_t), void *ctx) {
  tbb::global_control limit = workers_for(threads);
  tbb::task_arena arena((int)threads);
  auto leaf = [=](const range &r) { body(ctx, r.begin(), r.end()); };
  arena.execute([&] {
    if (simple)
      tbb::parallel_for(range(0, n, grain), leaf, tbb::simple_partitioner());
    else
      tbb::parallel_for(range(0, n, grain), leaf, tbb::auto_partitioner());
  });
}

extern "C" double tbb_peers_sum(size_t threads, size_t n, size_t grain, int deterministic) {
  tbb::global_control limit = workers_for(threads);
  tbb::task_arena arena((int)threads);
  auto fold = [](const range &r, double acc) {
    for (size_t i = r.begin(); i != r.end(); ++i) acc += (double)i;
    return acc;
  };
  double sum = 0;
  arena.execute([&] {
    if (deterministic)
      sum = tbb::parallel_deterministic_reduce(range(0, n, grain), 0.0, fold, std::plus<double>());
    else
      sum = tbb::parallel_reduce(range(0, n, grain), 0.0, fold, std::plus<double>());
  });
  return sum;
}
