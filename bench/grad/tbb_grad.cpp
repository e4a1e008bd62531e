// tbb_grad.cpp: oneTBB's parallel_reduce and parallel_deterministic_reduce over the same C
// fold the other variants run (see tbb_grad.h).
#include "tbb_grad.h"

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_reduce.h>
#include <oneapi/tbb/partitioner.h>
#include <oneapi/tbb/task_arena.h>

#include <memory>
#include <vector>

namespace {

typedef void (*fold_fn)(void *, size_t, size_t, double *);

// A reduction body: one accumulator of P + 1 doubles per split, added elementwise at join.
struct GradBody {
  size_t len;
  fold_fn fold;
  void *ctx;
  std::vector<double> acc;
  GradBody(size_t len_, fold_fn f, void *c) : len(len_), fold(f), ctx(c), acc(len_, 0.0) {}
  GradBody(GradBody &o, tbb::split) : len(o.len), fold(o.fold), ctx(o.ctx), acc(o.len, 0.0) {}
  void operator()(const tbb::blocked_range<size_t> &r) { fold(ctx, r.begin(), r.end(), acc.data()); }
  void join(GradBody &o) {
    double *a = acc.data();
    const double *b = o.acc.data();
    for (size_t j = 0; j < len; j++) a[j] += b[j];
  }
};

std::unique_ptr<tbb::task_arena> arena;
int arena_threads;

}  // namespace

extern "C" void tbb_grad_reduce(size_t n, size_t P, fold_fn fold, void *ctx, double *out,
                                int threads, int deterministic) {
  if (!arena || arena_threads != threads) {
    arena.reset(new tbb::task_arena(threads));
    arena_threads = threads;
  }
  GradBody body(P + 1, fold, ctx);
  arena->execute([&] {
    if (deterministic) {
      size_t grain = n / (4 * (size_t)threads) ? n / (4 * (size_t)threads) : 1;
      tbb::parallel_deterministic_reduce(tbb::blocked_range<size_t>(0, n, grain), body,
                                         tbb::simple_partitioner());
    } else {
      tbb::parallel_reduce(tbb::blocked_range<size_t>(0, n), body, tbb::auto_partitioner());
    }
  });
  for (size_t j = 0; j < P; j++) out[j] = body.acc[j] / body.acc[P];
}
