/* streams.c: pool runs whose tasks each get a random stream (ndpar_pool_run_streams). */
#include "ndpar/ndpar_pool.h"
#include "ndpar_internal.h"

typedef struct {
  ndpar_streams *streams;
  ndpar_task_fn fn;
  void *ctx;
} streams_run;

/* The caller's task, with the worker's generator reseeded for the task's index. */
static int with_stream(const ndpar_task *t, void *vctx) {
  const streams_run *c = vctx;
  ndpar_task task = *t;
  task.rng = ndpar_streams_at(c->streams, t->worker, t->index);
  return c->fn(&task, c->ctx);
}

int ndpar_pool_run_streams(ndpar_pool *pool, size_t n, unsigned long seed, ndpar_task_fn fn,
                           void *ctx, size_t *failed) {
  NDPAR_REQUIRE(fn != NULL, "pool_run_streams: fn is NULL", GSL_EFAULT);
  if (n == 0) {
    if (failed) *failed = 0;
    return GSL_SUCCESS;
  }
  if (pool == NULL && (pool = ndpar_pool_default()) == NULL) return GSL_EFAILED;
  /* Slots are below the pool's thread count, in a nested run too (pool_run's slot rule). */
  streams_run c = {ndpar_streams_alloc(ndpar_pool_threads(pool), seed), fn, ctx};
  if (c.streams == NULL) return GSL_ENOMEM;
  int status = ndpar_pool_run_ex(pool, n, with_stream, &c, failed);
  ndpar_streams_free(c.streams);
  return status;
}
