/* bench_pipeline: ndpar's pipeline against a plain loop and oneTBB's parallel_pipeline
 * driving the same C stage functions, in one run with the variants interleaved.
 *
 *  1. Per-item overhead of an empty 3-stage pipeline (serial in-order source, a PARALLEL
 *     pass-through, a serial in-order sink): ns per item.
 *  2. The streaming forecast (parse -> scale -> MLP inference -> format -> write, in order):
 *     the pipeline's wall time against its slowest stage alone and against the stages run
 *     one after another on the pool (each over all chunks), and against TBB.
 *  3. Peak RSS of the streaming forecast at two input sizes (each in a fresh process).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "ndpar/ndpar_pipeline.h"
#include "tbb_pipeline.h"

/* ---- timing: interleaved variants, min / median / max ------------------------------------ */

typedef struct {
  const char *name;
  int (*run)(void *ctx); /* non-zero: the variant failed */
} variant;

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

typedef struct {
  double min, med, max;
} spread;

/* Each repeat runs every variant once (after a settle and an untimed call of its own). */
static int time_variants(const variant *v, size_t nv, void *ctx, int warmup, int reps,
                         spread *out) {
  double *t = malloc(nv * (size_t)reps * sizeof *t);
  for (int r = -warmup; r < reps; r++)
    for (size_t i = 0; i < nv; i++) {
      bench_settle();
      if (r == -warmup && v[i].run(ctx) != 0) return free(t), fprintf(stderr, "%s failed\n", v[i].name), 1;
      double t0 = ndpar_time_now();
      if (v[i].run(ctx) != 0) return free(t), fprintf(stderr, "%s failed\n", v[i].name), 1;
      if (r >= 0) t[i * (size_t)reps + (size_t)r] = ndpar_time_now() - t0;
    }
  for (size_t i = 0; i < nv; i++) {
    double *ti = t + i * (size_t)reps;
    qsort(ti, (size_t)reps, sizeof *ti, cmp_double);
    out[i] = (spread){ti[0], ti[reps / 2], ti[reps - 1]};
  }
  free(t);
  return 0;
}

/* ---- 1. the empty pipeline ------------------------------------------------------------------ */

typedef struct {
  size_t items, threads, tokens;
  ndpar_pool *pool;
  ndpar_stage stages[3];
} empty_run;

static int count_source(void *in, void **out, const ndpar_task *t, void *ctx) {
  (void)in;
  *out = t->index < *(const size_t *)ctx ? (void *)(t->index + 1) : NULL;
  return 0;
}

static int pass(void *in, void **out, const ndpar_task *t, void *ctx) {
  (void)t, (void)ctx;
  *out = in;
  return 0;
}

static int sink(void *in, void **out, const ndpar_task *t, void *ctx) {
  (void)out, (void)ctx;
  return (size_t)in == t->index + 1 ? 0 : GSL_ESANITY;
}

static int empty_loop(void *v) {
  empty_run *e = v;
  ndpar_task t = {0, 0, NULL};
  for (;; t.index++) {
    void *a, *b, *c;
    /* Through the stage table, as the pipelines call them (no inlining). */
    e->stages[0].fn(NULL, &a, &t, e->stages[0].ctx);
    if (a == NULL) return 0;
    e->stages[1].fn(a, &b, &t, e->stages[1].ctx);
    if (e->stages[2].fn(b, &c, &t, e->stages[2].ctx)) return 1;
  }
}

static int empty_ndpar(void *v) {
  empty_run *e = v;
  return ndpar_pipeline_run(e->pool, e->tokens, e->stages, 3, NULL);
}

static int empty_tbb(void *v) {
  empty_run *e = v;
  return bench_tbb_pipeline(e->threads, e->tokens, e->stages, 3);
}

static int bench_empty(size_t threads, int reps) {
  ndpar_pool_config cfg;
  ndpar_pool_config_init(&cfg);
  cfg.threads = threads;
  static empty_run e;
  e = (empty_run){200000, threads, 4 * threads, ndpar_pool_alloc(&cfg), {{0}}};
  e.stages[0] = (ndpar_stage){NDPAR_STAGE_SERIAL_IN_ORDER, count_source, NULL, &e.items, 0};
  e.stages[1] = (ndpar_stage){NDPAR_STAGE_PARALLEL, pass, NULL, NULL, 0};
  e.stages[2] = (ndpar_stage){NDPAR_STAGE_SERIAL_IN_ORDER, sink, NULL, NULL, 0};
  variant v[] = {{"calls", empty_loop}, {"ndpar", empty_ndpar}, {"tbb", empty_tbb}};
  size_t nv = bench_tbb_pipeline ? 3 : 2;
  spread s[3];
  int rc = time_variants(v, nv, &e, 1, reps, s);
  if (rc == 0)
    for (size_t i = 0; i < nv; i++)
      printf("empty 3-stage, %zu items, tokens %-3zu %-6s T=%zu  ns/item min %7.1f  median %7.1f  max %7.1f%s\n",
             e.items, e.tokens, v[i].name, i == 0 ? (size_t)1 : threads, 1e9 * s[i].min / e.items,
             1e9 * s[i].med / e.items, 1e9 * s[i].max / e.items,
             i == 0 ? "  (the stage calls alone)" : "");
  if (rc == 0 && nv == 3)
    printf("  ndpar / tbb (median): %.2f\n", s[1].med / s[2].med);
  ndpar_pool_free(e.pool);
  return rc;
}

int main(int argc, char **argv) {
  bench_options o;
  bench_parse(argc, argv, "bench_pipeline",
              "Pipeline overhead (an empty 3-stage pipeline, ns/item) and the streaming forecast\n"
              "(parse -> scale -> MLP -> format -> write in order): ndpar's pipeline vs its slowest\n"
              "stage alone vs the stages one after another vs oneTBB's parallel_pipeline.",
              &o);
  int reps = o.reps ? o.reps : o.quick ? 3 : 11;
  if (!bench_tbb_pipeline)
    printf("oneTBB not built in (libtbb-dev missing: make bench-deps): TBB columns skipped\n");
  printf("machine: %zu physical cores; threads %zu; %d repeats, variants interleaved\n",
         ndpar_physical_cores(), o.threads, reps);
  int rc = 0;
  size_t tl[2] = {1, o.threads};
  for (size_t i = 0; i < (o.threads > 1 ? 2u : 1u) && rc == 0; i++) rc = bench_empty(tl[i], reps);
  return rc;
}
