// tbb_pipeline.cpp: oneTBB's parallel_pipeline over the same C stage functions as ndpar's
// pipeline (see tbb_pipeline.h). C++ lives in the benchmark only.
#include "tbb_pipeline.h"

#include <atomic>
#include <oneapi/tbb/parallel_pipeline.h>
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>

namespace {

struct numbered {
  size_t index;
  void *item;
};

tbb::filter_mode mode_of(ndpar_stage_mode m) {
  switch (m) {
    case NDPAR_STAGE_PARALLEL: return tbb::filter_mode::parallel;
    case NDPAR_STAGE_SERIAL_IN_ORDER: return tbb::filter_mode::serial_in_order;
    default: return tbb::filter_mode::serial_out_of_order;
  }
}

unsigned worker() { return (unsigned)tbb::this_task_arena::current_thread_index(); }

}  // namespace

extern "C" int bench_tbb_pipeline(size_t threads, size_t max_tokens, const ndpar_stage *st,
                                  size_t n) {
  std::atomic<int> status{0};
  tbb::task_group_context group;
  auto fail = [&status, &group](int rc) {
    int zero = 0;
    status.compare_exchange_strong(zero, rc);
    group.cancel_group_execution();
  };
  tbb::task_arena arena((int)threads);
  arena.execute([&] {
    size_t next = 0;
    tbb::filter<void, numbered> chain = tbb::make_filter<void, numbered>(
        mode_of(st[0].mode), [&, st](tbb::flow_control &fc) -> numbered {
          void *out = nullptr;
          ndpar_task t = {next, worker(), nullptr};
          int rc = st[0].fn(nullptr, &out, &t, st[0].ctx);
          if (rc != 0 || out == nullptr) {
            if (rc != 0) status = rc;
            fc.stop();
            return numbered{0, nullptr};
          }
          return numbered{next++, out};
        });
    for (size_t s = 1; s + 1 < n; s++)
      chain = chain & tbb::make_filter<numbered, numbered>(
                          mode_of(st[s].mode), [st, s, &fail](numbered in) -> numbered {
                            void *out = nullptr;
                            ndpar_task t = {in.index, worker(), nullptr};
                            int rc = st[s].fn(in.item, &out, &t, st[s].ctx);
                            if (rc != 0) fail(rc);
                            return numbered{in.index, out};
                          });
    const ndpar_stage *last = &st[n - 1];
    tbb::filter<void, void> all =
        chain & tbb::make_filter<numbered, void>(mode_of(last->mode), [last, &fail](numbered in) {
          void *out = nullptr;
          ndpar_task t = {in.index, worker(), nullptr};
          int rc = last->fn(in.item, &out, &t, last->ctx);
          if (rc != 0) fail(rc);
        });
    tbb::parallel_pipeline(max_tokens, all, group);
  });
  return status.load();
}
