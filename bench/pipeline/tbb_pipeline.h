/* tbb_pipeline.h: oneTBB's parallel_pipeline driving ndpar_stage functions, for the
 * benchmark's comparison. Built only where libtbb-dev is installed (make bench-deps): the
 * symbol is weak, and NULL without it. */
#ifndef NDPAR_BENCH_TBB_PIPELINE_H
#define NDPAR_BENCH_TBB_PIPELINE_H

#include "ndpar/ndpar_pipeline.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Runs stages[0..n) as tbb::parallel_pipeline(max_tokens, ...) in a task_arena of `threads`
 * threads: each stage's mode maps to its filter_mode, items travel with their number
 * (t->index) and t->worker is the arena's thread index. Returns the first non-zero status
 * (a failing stage cancels the pipeline; there is no cleanup: benchmark stages do not fail). */
int bench_tbb_pipeline(size_t threads, size_t max_tokens, const ndpar_stage *stages, size_t n)
#ifndef __cplusplus
    __attribute__((weak))
#endif
    ;

#ifdef __cplusplus
}
#endif
#endif
