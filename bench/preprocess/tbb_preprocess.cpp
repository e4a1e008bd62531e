// tbb_preprocess.cpp: oneTBB's side of bench_preprocess (see tbb_preprocess.h). C++ lives
// in the benchmarks only.
#include "tbb_preprocess.h"

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/parallel_reduce.h>
#include <oneapi/tbb/task_arena.h>

#include <algorithm>
#include <memory>

using range = tbb::blocked_range<size_t>;

namespace {
std::unique_ptr<tbb::global_control> limit;
std::unique_ptr<tbb::task_arena> arena;

struct reducer {
  size_t len;
  void (*init)(double *, size_t);
  void (*fold)(void *, size_t, size_t, double *);
  void (*join_fn)(double *, const double *, size_t);
  void *ctx;
  double acc[TBB_PP_MAX_ACC];

  reducer(size_t len_, void (*init_)(double *, size_t), void (*fold_)(void *, size_t, size_t, double *),
          void (*join_)(double *, const double *, size_t), void *ctx_)
      : len(len_), init(init_), fold(fold_), join_fn(join_), ctx(ctx_) {
    reset();
  }
  reducer(reducer &o, tbb::split) : len(o.len), init(o.init), fold(o.fold), join_fn(o.join_fn), ctx(o.ctx) {
    reset();
  }
  void reset() {
    if (init)
      init(acc, len);
    else
      std::fill(acc, acc + len, 0.0);
  }
  void operator()(const range &r) { fold(ctx, r.begin(), r.end(), acc); }
  void join(const reducer &o) {
    if (join_fn)
      join_fn(acc, o.acc, len);
    else
      for (size_t i = 0; i < len; i++) acc[i] += o.acc[i];
  }
};
}  // namespace

extern "C" int tbb_pp_init(size_t threads) {
  if (threads == 0) return -1;
  arena.reset();
  // TBB caps its workers at the core count unless told otherwise.
  limit = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism, threads);
  arena = std::make_unique<tbb::task_arena>((int)threads);
  arena->initialize();
  return 0;
}

extern "C" void tbb_pp_free(void) {
  arena.reset();
  limit.reset();
}

extern "C" void tbb_pp_for(size_t n, size_t grain, int partitioner,
                           void (*body)(void *, size_t, size_t), void *ctx) {
  auto leaf = [=](const range &r) { body(ctx, r.begin(), r.end()); };
  range all(0, n, grain ? grain : 1);
  arena->execute([&] {
    switch (partitioner) {
      case TBB_PP_SIMPLE:
      case TBB_PP_DETERMINISTIC: tbb::parallel_for(all, leaf, tbb::simple_partitioner()); break;
      case TBB_PP_STATIC: tbb::parallel_for(all, leaf, tbb::static_partitioner()); break;
      default: tbb::parallel_for(all, leaf, tbb::auto_partitioner()); break;
    }
  });
}

extern "C" void tbb_pp_reduce(size_t n, size_t grain, int partitioner, size_t acc_len,
                              void (*init)(double *, size_t),
                              void (*fold)(void *, size_t, size_t, double *),
                              void (*join)(double *, const double *, size_t), void *ctx,
                              double *out) {
  reducer body(std::min<size_t>(acc_len, TBB_PP_MAX_ACC), init, fold, join, ctx);
  range all(0, n, grain ? grain : 1);
  arena->execute([&] {
    switch (partitioner) {
      case TBB_PP_DETERMINISTIC: tbb::parallel_deterministic_reduce(all, body, tbb::simple_partitioner()); break;
      case TBB_PP_SIMPLE: tbb::parallel_reduce(all, body, tbb::simple_partitioner()); break;
      case TBB_PP_STATIC: tbb::parallel_reduce(all, body, tbb::static_partitioner()); break;
      default: tbb::parallel_reduce(all, body, tbb::auto_partitioner()); break;
    }
  });
  std::copy(body.acc, body.acc + body.len, out);
}
