/* Bad input to the pipeline module. */
#include <string.h>

#include "badinput.h"
#include "ndpar/ndpar_pipeline.h"

/* A source of three items (their numbers), and a sink that counts them. */
static int bi_source(void *item, void **out, const ndpar_task *t, void *ctx) {
  (void)item;
  *out = t->index < 3 ? (void *)(uintptr_t)(t->index + 1) : NULL;
  (void)ctx;
  return GSL_SUCCESS;
}

static int bi_sink(void *item, void **out, const ndpar_task *t, void *ctx) {
  (void)item, (void)out, (void)t;
  ++*(size_t *)ctx;
  return GSL_SUCCESS;
}

static ndpar_pipeline_status sentinel_status(void) {
  ndpar_pipeline_status s = {77, 77, 77};
  return s;
}

static void status_untouched(const ndpar_pipeline_status *s) {
  cr_assert(s->items == 77 && s->failed_stage == 77 && s->failed_item == 77, "%s: status written",
            bi_label());
}

CASE(ndpar_pipeline_run, "NULL stages or fn, one stage, tokens 0 and too many, bad mode and flags") {
  size_t seen = 0;
  ndpar_stage good[2] = {{NDPAR_STAGE_SERIAL_IN_ORDER, bi_source, NULL, NULL, 0},
                         {NDPAR_STAGE_SERIAL_IN_ORDER, bi_sink, NULL, &seen, 0}};
  ndpar_stage st[2];
  ndpar_pipeline_status s = sentinel_status();
  EXPECT_CODE(ndpar_pipeline_run(NULL, 4, NULL, 2, &s), GSL_EFAULT);
  memcpy(st, good, sizeof st), st[1].fn = NULL;
  EXPECT_CODE(ndpar_pipeline_run(NULL, 4, st, 2, &s), GSL_EFAULT);
  EXPECT_CODE(ndpar_pipeline_run(NULL, 4, good, 1, &s), GSL_EINVAL);
  EXPECT_CODE(ndpar_pipeline_run(NULL, 0, good, 2, &s), GSL_EINVAL);
  EXPECT_CODE(ndpar_pipeline_run(NULL, NDPAR_PIPELINE_MAX_TOKENS + 1, good, 2, &s), GSL_EINVAL);
  EXPECT_CODE(ndpar_pipeline_run(NULL, SIZE_MAX, good, 2, &s), GSL_EINVAL);
  memcpy(st, good, sizeof st), st[1].mode = (ndpar_stage_mode)99;
  EXPECT_CODE(ndpar_pipeline_run(NULL, 4, st, 2, &s), GSL_EINVAL);
  memcpy(st, good, sizeof st), st[0].mode = NDPAR_STAGE_PARALLEL;
  EXPECT_CODE(ndpar_pipeline_run(NULL, 4, st, 2, &s), GSL_EINVAL);
  memcpy(st, good, sizeof st), st[1].flags = 0x80u;
  EXPECT_CODE(ndpar_pipeline_run(NULL, 4, st, 2, &s), GSL_EINVAL);
  memcpy(st, good, sizeof st), st[1].mode = NDPAR_STAGE_PARALLEL, st[1].flags = NDPAR_STAGE_BLOCKING;
  EXPECT_CODE(ndpar_pipeline_run(NULL, 4, st, 2, &s), GSL_EINVAL);
  status_untouched(&s);
  EXPECT_TRUE(seen == 0);
}

CASE(ndpar_pipeline_run, "n = 0 with NULL stages a no-op; a good run still consumes every item") {
  size_t seen = 0;
  ndpar_stage good[2] = {{NDPAR_STAGE_SERIAL_IN_ORDER, bi_source, NULL, NULL, 0},
                         {NDPAR_STAGE_PARALLEL, bi_sink, NULL, &seen, 0}};
  EXPECT_OK(ndpar_pipeline_run(bi_pool(2), 4, NULL, 0, NULL));
  ndpar_pipeline_status s = sentinel_status();
  EXPECT_OK(ndpar_pipeline_run(bi_pool(2), 1, good, 2, &s));
  EXPECT_TRUE(s.items == 3 && s.failed_stage == 2 && s.failed_item == 3);
}

CASE(ndpar_pipeline_workers, "NULL stages or n = 0: the pool's threads; blocking stages add one") {
  ndpar_stage st[2] = {{NDPAR_STAGE_SERIAL_IN_ORDER, bi_source, NULL, NULL, NDPAR_STAGE_BLOCKING},
                       {NDPAR_STAGE_SERIAL_IN_ORDER, bi_sink, NULL, NULL, 0}};
  size_t threads = ndpar_pool_threads(bi_pool(2));
  EXPECT_TRUE(ndpar_pipeline_workers(bi_pool(2), NULL, 0) == threads);
  EXPECT_TRUE(ndpar_pipeline_workers(bi_pool(2), st, 0) == threads);
  EXPECT_TRUE(ndpar_pipeline_workers(bi_pool(2), st, 2) == threads + 1);
}
