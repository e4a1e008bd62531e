/* kernel_pipeline.c: the streaming forecast as a kernel (scalebench's `pipeline` workload):
 * a generated CSV of `batches` MiB (default 512) through read -> parse -> scale -> MLP ->
 * format -> write in order. Sequential: the stages one chunk at a time. ndpar: the pipeline,
 * 4 tokens per thread, blocking reader and writer. OpenMP (which has no pipeline): windows
 * of 4 chunks per thread, read in order, the four compute stages over the window with
 * schedule(dynamic, 1), then written in order. */
#include "ref/kernels.h"

#include <stdio.h>
#include <omp.h>
#include <stdlib.h>

#include "ref/wl_stream.h"

#define PIPELINE_DEFAULT_MB 512

typedef struct {
  wl_stream_model model;
  char in_path[4096];
  size_t megabytes, rows;
  ndpar_pool *solo; /* one thread: the calls inside the stages */
  char desc[96];
} pstate;

void *wl_pipeline_setup(const wl_params *p, char *err, size_t errlen) {
  pstate *s = calloc(1, sizeof *s);
  if (s == NULL) return snprintf(err, errlen, "out of memory"), NULL;
  s->megabytes = p->batches ? p->batches : PIPELINE_DEFAULT_MB;
  if (wl_stream_model_load(p->data_dir, &s->model, err, errlen)) return free(s), NULL;
  FILE *f = wl_stream_tempfile(s->in_path, sizeof s->in_path, "scalebench-pipeline");
  if (f) fclose(f);
  ndpar_pool_config cfg;
  ndpar_pool_config_init(&cfg);
  cfg.threads = 1;
  cfg.bind = NDPAR_BIND_NONE;
  if (f == NULL || wl_stream_generate(s->in_path, &s->model, s->megabytes << 20, &s->rows) ||
      (s->solo = ndpar_pool_alloc(&cfg)) == NULL) {
    snprintf(err, errlen, "cannot write the generated CSV at %s", s->in_path);
    wl_pipeline_teardown(s);
    return NULL;
  }
  snprintf(s->desc, sizeof s->desc, "%zu MB CSV, %zu rows: parse, scale, MLP, write in order",
           s->megabytes, s->rows);
  return s;
}

void wl_pipeline_teardown(void *v) {
  pstate *s = v;
  if (s == NULL) return;
  if (s->in_path[0]) remove(s->in_path);
  ndpar_pool_free(s->solo);
  wl_stream_model_free(&s->model);
  free(s);
}

const char *wl_pipeline_describe(void *v) { return ((pstate *)v)->desc; }

/* Runs fn on a stream from the input to /dev/null (the output's bytes are the writer's
 * cost to the page cache, not to a disk); checks every row came out. */
static int with_stream(pstate *s, int (*fn)(wl_stream *, void *), void *arg) {
  FILE *in = fopen(s->in_path, "r"), *out = fopen("/dev/null", "w");
  int rc = GSL_EFAILED;
  if (in && out) {
    wl_stream w;
    wl_stream_init(&w, &s->model, s->solo, in, out, 0);
    rc = fn(&w, arg);
    if (rc == GSL_SUCCESS && w.rows_out != s->rows) rc = GSL_ESANITY;
  }
  if (in) fclose(in);
  if (out) fclose(out);
  return rc;
}

static int seq(wl_stream *w, void *arg) {
  (void)arg;
  return wl_stream_run_sequential(w);
}

static int pipe_run(wl_stream *w, void *pool) {
  ndpar_stage st[WL_STREAM_STAGES];
  wl_stream_stages(w, st, 1);
  size_t tokens = 4 * ndpar_pool_threads(pool);
  return ndpar_pipeline_run(pool, tokens, st, WL_STREAM_STAGES, NULL);
}

static int omp_run(wl_stream *w, void *vthreads) {
  size_t threads = *(size_t *)vthreads, window = 4 * threads;
  ndpar_stage st[WL_STREAM_STAGES];
  wl_stream_stages(w, st, 0);
  void **items = calloc(window, sizeof *items);
  int rc = items ? GSL_SUCCESS : GSL_ENOMEM, done = 0;
  for (size_t first = 0; !done && rc == GSL_SUCCESS; first += window) {
    size_t n = 0;
    for (; n < window; n++) {
      ndpar_task t = {first + n, 0, NULL};
      if ((rc = st[0].fn(NULL, &items[n], &t, st[0].ctx)) || items[n] == NULL) break;
    }
    done = n < window;
    int failed = 0;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) reduction(| : failed)
    for (long i = 0; i < (long)n; i++)
      for (size_t k = 1; k + 1 < WL_STREAM_STAGES && !failed; k++) {
        ndpar_task t = {first + (size_t)i, (unsigned)omp_get_thread_num(), NULL};
        void *out = NULL;
        failed |= st[k].fn(items[i], &out, &t, st[k].ctx) != 0;
        if (!failed) items[i] = out;
      }
    for (size_t i = 0; i < n; i++) {
      ndpar_task t = {first + i, 0, NULL};
      if (rc == GSL_SUCCESS && !failed)
        rc = st[WL_STREAM_STAGES - 1].fn(items[i], NULL, &t, st[WL_STREAM_STAGES - 1].ctx);
      else
        wl_chunk_free(items[i], NULL);
      items[i] = NULL;
    }
    if (failed && rc == GSL_SUCCESS) rc = GSL_EFAILED;
  }
  free(items);
  return rc;
}

int wl_pipeline_seq(void *v) { return with_stream(v, seq, NULL); }
int wl_pipeline_ndpar(ndpar_pool *pool, void *v) { return with_stream(v, pipe_run, pool); }
int wl_pipeline_omp(size_t threads, void *v) { return with_stream(v, omp_run, &threads); }
