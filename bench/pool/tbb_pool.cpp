// tbb_pool.cpp: oneTBB's fork-join forms for bench_pool (see tbb_pool.h). C++ lives in the
// benchmark only.
#include "tbb_pool.h"

#include <chrono>
#include <memory>
#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/parallel_invoke.h>
#include <oneapi/tbb/partitioner.h>
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>

namespace {

std::unique_ptr<tbb::task_arena> arena;

template <class Partitioner>
void for_with(size_t n, void (*body)(void *, size_t, size_t), void *ctx, Partitioner &&part) {
  tbb::parallel_for(
      tbb::blocked_range<size_t>(0, n, 1),
      [=](const tbb::blocked_range<size_t> &r) { body(ctx, r.begin(), r.end()); }, part);
}

void for_any(size_t n, int partitioner, void (*body)(void *, size_t, size_t), void *ctx) {
  if (partitioner == 0)
    for_with(n, body, ctx, tbb::simple_partitioner());
  else if (partitioner == 1)
    for_with(n, body, ctx, tbb::auto_partitioner());
  else
    for_with(n, body, ctx, tbb::static_partitioner());
}

volatile size_t sink;

void empty_body(void *, size_t lo, size_t) { sink = lo; }
void empty_task(void *, size_t i) { sink = i; }
void empty_one() { sink = 0; }

void group_any(size_t n, void (*task)(void *, size_t), void *ctx) {
  tbb::task_group g;
  for (size_t i = 1; i < n; i++) g.run([=] { task(ctx, i); });
  task(ctx, 0);
  g.wait();
}

}  // namespace

extern "C" void tbb_pool_init(size_t threads) {
  arena.reset(new tbb::task_arena((int)threads));
  arena->initialize();
}

extern "C" void tbb_pool_for(size_t n, int partitioner, void (*body)(void *, size_t, size_t),
                             void *ctx) {
  arena->execute([&] { for_any(n, partitioner, body, ctx); });
}

extern "C" void tbb_pool_invoke2(void (*a)(void *), void (*b)(void *), void *ctx) {
  arena->execute([&] { tbb::parallel_invoke([=] { a(ctx); }, [=] { b(ctx); }); });
}

extern "C" void tbb_pool_group(size_t n, void (*task)(void *, size_t), void *ctx) {
  arena->execute([&] { group_any(n, task, ctx); });
}

extern "C" double tbb_pool_empty_ns(size_t n, int form, size_t iters) {
  double ns = 0;
  arena->execute([&] {
    auto t0 = std::chrono::steady_clock::now();
    for (size_t k = 0; k < iters; k++) {
      if (form <= 1)
        for_any(n, form, empty_body, nullptr);
      else if (n == 2)
        tbb::parallel_invoke(empty_one, empty_one);
      else
        group_any(n, empty_task, nullptr);
    }
    ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
  });
  return ns / (double)iters;
}
