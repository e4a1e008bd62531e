/* pipeline_basics: a source, a parallel stage and an in-order sink; then a failure.
 * Usage: pipeline_basics [items] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <ndpar/ndpar_pipeline.h>

typedef struct {
  size_t number;
  double x, y;
} record;

/* Stage 0, the source: a new record per call, NULL when the stream is done. */
static int produce(void *in, void **out, const ndpar_task *t, void *ctx) {
  (void)in;
  size_t items = *(const size_t *)ctx;
  if (t->index == items) return *out = NULL, GSL_SUCCESS;
  record *r = malloc(sizeof *r);
  if (r == NULL) return GSL_ENOMEM;
  r->number = t->index;
  r->x = (double)t->index;
  *out = r;
  return GSL_SUCCESS;
}

/* Stage 1, PARALLEL: the expensive part, any number of records at once. */
static int compute(void *in, void **out, const ndpar_task *t, void *ctx) {
  (void)t, (void)ctx;
  record *r = in;
  if (r->number == 13 && ctx != NULL) return GSL_EDOM; /* the failing run's bad record */
  r->y = 0;
  for (int k = 1; k <= 2000; k++) r->y += sin(r->x / k);
  *out = r; /* in place: the same record goes on */
  return GSL_SUCCESS;
}

/* Stage 2, SERIAL_IN_ORDER: sees records in source order; consumes them. */
static int consume(void *in, void **out, const ndpar_task *t, void *ctx) {
  (void)out, (void)t;
  record *r = in;
  double *checksum = ctx;
  *checksum = *checksum * 0.5 + r->y; /* order-dependent on purpose */
  free(r);
  return GSL_SUCCESS;
}

/* What a stage produced and nobody will see after a failure. */
static void free_record(void *item, void *ctx) {
  (void)ctx;
  free(item);
}

int main(int argc, char **argv) {
  size_t items = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000;
  double parallel_sum = 0, serial_sum = 0;
  ndpar_stage stages[] = {
      {NDPAR_STAGE_SERIAL_IN_ORDER, produce, free_record, &items, 0},
      {NDPAR_STAGE_PARALLEL, compute, free_record, NULL, 0},
      {NDPAR_STAGE_SERIAL_IN_ORDER, consume, NULL, &parallel_sum, 0},
  };
  ndpar_pipeline_status st;
  /* At most 4 records per thread alive at once, however long the stream. */
  size_t tokens = 4 * ndpar_pool_threads(NULL);
  int rc = ndpar_pipeline_run(NULL, tokens, stages, 3, &st);
  if (rc != GSL_SUCCESS) return 1;

  /* The same stages one after another, for comparison. */
  ndpar_task t = {0, 0, NULL};
  for (;; t.index++) {
    void *r = NULL, *y = NULL;
    produce(NULL, &r, &t, &items);
    if (r == NULL) break;
    compute(r, &y, &t, NULL);
    consume(y, NULL, &t, &serial_sum);
  }
  printf("%zu records, checksum %.12g (sequential %.12g)\n", st.items, parallel_sum, serial_sum);
  if (parallel_sum != serial_sum) return 1;

  /* A failing stage: the run stops, every record in flight is freed by free_record. */
  int fail = 1;
  stages[1].ctx = &fail;
  rc = ndpar_pipeline_run(NULL, tokens, stages, 3, &st);
  printf("failing run: %s at stage %zu, record %zu\n", gsl_strerror(rc), st.failed_stage,
         st.failed_item);
  printf("its last error: %s\n", ndpar_error_last()->message); /* names the stage and record */
  if (items <= 13) return rc == GSL_SUCCESS ? 0 : 1; /* record 13 never came */
  return rc == GSL_EDOM && st.failed_stage == 1 && st.failed_item == 13 ? 0 : 1;
}
