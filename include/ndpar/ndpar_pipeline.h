/* ndpar_pipeline.h: multi-stage streams on the pool, with bounded memory.
 *
 * A pipeline is a source (stage 0) that produces items one at a time until it says done,
 * followed by stages that each map an item to the next stage's item; the last stage
 * consumes. Each stage is PARALLEL (any number of items at once, any order),
 * SERIAL_IN_ORDER (one at a time, in the source's order) or SERIAL_OUT_OF_ORDER (one at a
 * time, any order). At most max_tokens items are alive at once (produced by the source and
 * not yet consumed), which bounds the memory a stream of any length takes.
 *
 * The run is one fork-join run on the pool: every thread of the pool, the caller included,
 * loops taking whichever item can advance (the one furthest downstream first) and sleeps
 * on a condition variable when none can: no thread per stage, no idle thread spinning.
 * A stage flagged NDPAR_STAGE_BLOCKING (I/O) is run by a helper thread of its own that
 * sleeps in the system call instead of holding one of the pool's threads, so the pool
 * keeps computing while it waits; a blocking source reads ahead up to max_tokens items.
 */
#ifndef NDPAR_PIPELINE_H
#define NDPAR_PIPELINE_H

#include <stddef.h>
#include "ndpar/ndpar_core.h"
#include "ndpar/ndpar_pool.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  NDPAR_STAGE_PARALLEL,
  NDPAR_STAGE_SERIAL_IN_ORDER,
  NDPAR_STAGE_SERIAL_OUT_OF_ORDER
} ndpar_stage_mode;

/* Stage flags. BLOCKING: the stage waits on I/O (reads a file, writes a socket); it runs on
 * a helper thread of its own, never on the pool's threads. Serial stages only. */
#define NDPAR_STAGE_BLOCKING 1u

/* A stage function. The source (stage 0) is called with item NULL and sets *out to a new
 * item, or to NULL when the stream is done. A later stage receives an item the stage before
 * produced and sets *out to the item it hands on (the same pointer to work in place), or
 * NULL to drop the item (it then frees it itself; later stages never see it). The last
 * stage consumes its item; its *out is ignored. t->index is the item's number in source
 * order (0, 1, 2, ...); t->worker is the slot of the thread running it, below
 * ndpar_pipeline_workers(p, stages, n), so per-worker scratch indexed by it needs no lock;
 * t->rng is NULL. Return 0, or a non-zero status that stops the pipeline: on failure the
 * stage must leave `item` as it was (the pipeline hands it to the cleanup of the stage that
 * produced it) and must not set *out. Never call the GSL error handler from a stage. */
typedef int (*ndpar_stage_fn)(void *item, void **out, const ndpar_task *t, void *ctx);

/* A stage's cleanup frees an item that this stage produced and no later stage will see
 * (after a failure). It may be NULL (the items are not owned, or nothing to free), and may
 * be called from any thread, concurrently for different items. The last stage's cleanup is
 * never called (it produces nothing). */
typedef void (*ndpar_cleanup_fn)(void *item, void *ctx);

typedef struct {
  ndpar_stage_mode mode;
  ndpar_stage_fn fn;
  ndpar_cleanup_fn cleanup; /* may be NULL */
  void *ctx;                /* passed to fn and cleanup */
  unsigned flags;           /* 0 or NDPAR_STAGE_BLOCKING */
} ndpar_stage;

/* What a run did. items: the items the source produced. On failure failed_stage and
 * failed_item name the failing call (the lowest item number among the calls that failed);
 * on success they are n (the stage count) and items. */
typedef struct {
  size_t items;
  size_t failed_stage, failed_item;
} ndpar_pipeline_status;

/* The largest max_tokens a run accepts (its token table is allocated up front). */
#define NDPAR_PIPELINE_MAX_TOKENS ((size_t)1 << 20)

/* Runs the pipeline stages[0..n) on pool p (NULL: the default pool) until the source is
 * done and every item is consumed, with at most max_tokens items alive at once. Returns
 * GSL_SUCCESS, or the status of the failing call with the lowest item number: the first
 * failure stops the source, lets the calls already running finish, starts no other stage
 * call, and hands every item still in flight to the cleanup of the stage that produced it;
 * then the run returns. status may be NULL. n = 0 is a successful no-op (stages may be NULL).
 *
 * A stage may call any ndpar function (ndpar_batch_infer on the same pool, say): the call
 * runs inline on the stage's thread, so nesting neither deadlocks nor oversubscribes. Called
 * from inside a pool task, the whole pipeline runs on that thread (and its blocking helpers).
 *
 * Errors, in the calling thread before anything runs (status untouched): stages NULL or a
 * stage's fn NULL (GSL_EFAULT); n = 1, max_tokens 0 or above NDPAR_PIPELINE_MAX_TOKENS, an
 * unknown mode or flag, a PARALLEL source, or BLOCKING on a PARALLEL stage (GSL_EINVAL);
 * GSL_ENOMEM, GSL_EFAILED (no default pool, a helper thread that cannot start: the run is
 * stopped as it begins, and anything a started helper produced goes to its cleanup). */
NDPAR_API int ndpar_pipeline_run(ndpar_pool *p, size_t max_tokens, const ndpar_stage *stages,
                                 size_t n, ndpar_pipeline_status *status);

/* The number of worker slots a run of these stages on p uses: the pool's threads plus one
 * per blocking stage (a blocking stage's helper has slot threads + its rank among them).
 * For sizing per-worker scratch. */
NDPAR_API size_t ndpar_pipeline_workers(const ndpar_pool *p, const ndpar_stage *stages, size_t n);

#ifdef __cplusplus
}
#endif
#endif /* NDPAR_PIPELINE_H */
