/* tbb_preprocess.h: oneTBB's parallel_for and parallel_reduce / parallel_deterministic_reduce
 * over a range of rows, driving bench_preprocess's C kernels (scaler_kernels.h) in a task
 * arena of a set thread count. Compiled where Debian's libtbb-dev is installed (make
 * bench-deps); the C side then has NDPAR_BENCH_HAVE_TBB. */
#ifndef NDPAR_BENCH_TBB_PREPROCESS_H
#define NDPAR_BENCH_TBB_PREPROCESS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The partitioners; TBB_PP_DETERMINISTIC is parallel_deterministic_reduce (whose only
 * partitioner is the simple one) and, for tbb_pp_for, the simple partitioner. */
enum { TBB_PP_AUTO, TBB_PP_SIMPLE, TBB_PP_STATIC, TBB_PP_DETERMINISTIC };

/* The arena every later call runs in, of `threads` threads (TBB's worker limit raised to
 * match); calling it again replaces it. 0 on success, -1 for threads 0. */
int tbb_pp_init(size_t threads);
void tbb_pp_free(void);

/* tbb::parallel_for over blocked_range [0, n) of grain `grain` with the partitioner:
 * body(ctx, lo, hi) on each subrange. */
void tbb_pp_for(size_t n, size_t grain, int partitioner,
                void (*body)(void *ctx, size_t lo, size_t hi), void *ctx);

/* A reduction over [0, n) of grain `grain` (tbb::parallel_reduce with the partitioner, or
 * parallel_deterministic_reduce), in TBB's imperative form: each body's accumulator of
 * acc_len (<= TBB_PP_MAX_ACC) doubles starts as init (NULL: zeros) makes, fold(ctx, lo, hi,
 * acc) folds subranges into it, and join(acc, other, acc_len) (NULL: elementwise sum)
 * combines two. The result into out[0..acc_len). */
#define TBB_PP_MAX_ACC 64
void tbb_pp_reduce(size_t n, size_t grain, int partitioner, size_t acc_len,
                   void (*init)(double *acc, size_t len),
                   void (*fold)(void *ctx, size_t lo, size_t hi, double *acc),
                   void (*join)(double *acc, const double *other, size_t len), void *ctx,
                   double *out);

#ifdef __cplusplus
}
#endif
#endif
