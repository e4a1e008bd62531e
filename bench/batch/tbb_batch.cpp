// tbb_batch.cpp: oneTBB's parallel_for for bench_batch (see tbb_batch.h). C++ lives in the
// benchmark only.
#include "tbb_batch.h"

#include <memory>
#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/partitioner.h>
#include <oneapi/tbb/task_arena.h>

namespace {

std::unique_ptr<tbb::task_arena> arena;

template <class Partitioner>
void for_with(size_t n, void (*body)(void *, size_t, size_t), void *ctx, Partitioner &&part) {
  tbb::parallel_for(
      tbb::blocked_range<size_t>(0, n, 1),
      [=](const tbb::blocked_range<size_t> &r) { body(ctx, r.begin(), r.end()); }, part);
}

}  // namespace

extern "C" void tbb_batch_init(size_t threads) {
  arena.reset(new tbb::task_arena((int)threads));
  arena->initialize();
}

extern "C" void tbb_batch_free(void) { arena.reset(); }

extern "C" void tbb_batch_for(size_t n, int partitioner, void (*body)(void *, size_t, size_t),
                              void *ctx) {
  arena->execute([&] {
    if (partitioner == 0)
      for_with(n, body, ctx, tbb::simple_partitioner());
    else
      for_with(n, body, ctx, tbb::auto_partitioner());
  });
}
