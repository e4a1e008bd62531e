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
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ref/timing.h"
#include "ndpar/ndpar_pipeline.h"
#include "tbb_pipeline.h"
#include "ref/wl_stream.h"

extern char **environ;

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

/* ---- 2. the streaming forecast ---------------------------------------------------------------- */

typedef struct {
  const wl_stream_model *model;
  const char *in_path, *out_path;
  size_t threads, tokens;
  unsigned read_delay_us;
  ndpar_pool *pool, *solo; /* solo: one thread, for the calls inside the stages */
  double phase[WL_STREAM_STAGES]; /* the last phased run: each stage's time alone */
} forecast_run;

/* Opens the input and output and runs fn on a fresh stream. */
static int with_stream(forecast_run *f, int (*fn)(forecast_run *, wl_stream *)) {
  FILE *in = fopen(f->in_path, "r"), *out = fopen(f->out_path, "w");
  int rc = GSL_EFAILED;
  if (in && out) {
    wl_stream s;
    wl_stream_init(&s, f->model, f->solo, in, out, 0);
    s.read_delay_us = f->read_delay_us;
    rc = fn(f, &s);
  }
  if (in) fclose(in);
  if (out && fclose(out) != 0) rc = GSL_EFAILED;
  return rc;
}

static int do_sequential(forecast_run *f, wl_stream *s) {
  (void)f;
  return wl_stream_run_sequential(s);
}

static int do_pipeline(forecast_run *f, wl_stream *s, int blocking) {
  ndpar_stage st[WL_STREAM_STAGES];
  wl_stream_stages(s, st, blocking);
  return ndpar_pipeline_run(f->pool, f->tokens, st, WL_STREAM_STAGES, NULL);
}

static int do_pipeline_blocking(forecast_run *f, wl_stream *s) { return do_pipeline(f, s, 1); }
static int do_pipeline_plain(forecast_run *f, wl_stream *s) { return do_pipeline(f, s, 0); }

static int do_tbb(forecast_run *f, wl_stream *s) {
  ndpar_stage st[WL_STREAM_STAGES];
  wl_stream_stages(s, st, 0);
  return bench_tbb_pipeline(f->threads, f->tokens, st, WL_STREAM_STAGES);
}

/* The stages one after another: read every chunk, then each parallel stage over all chunks
 * on the pool, then write them all; each phase timed alone (the whole input in memory). */
typedef struct {
  const ndpar_stage *st;
  void **items;
  size_t k;
} phase_ctx;

static int phase_task(const ndpar_task *t, void *v) {
  phase_ctx *p = v;
  void *out = NULL;
  ndpar_task task = {t->index, t->worker, NULL};
  int rc = p->st[p->k].fn(p->items[t->index], &out, &task, p->st[p->k].ctx);
  if (rc == 0) p->items[t->index] = out;
  return rc;
}

static int do_phased(forecast_run *f, wl_stream *s) {
  ndpar_stage st[WL_STREAM_STAGES];
  wl_stream_stages(s, st, 0);
  size_t n = 0, cap = 64;
  void **items = malloc(cap * sizeof *items);
  double t0 = ndpar_time_now();
  int rc = 0;
  for (;;) {
    ndpar_task t = {n, 0, NULL};
    void *item = NULL;
    if ((rc = st[0].fn(NULL, &item, &t, st[0].ctx)) != 0 || item == NULL) break;
    if (n == cap) items = realloc(items, (cap *= 2) * sizeof *items);
    items[n++] = item;
  }
  f->phase[0] = ndpar_time_now() - t0;
  phase_ctx pc = {st, items, 0};
  for (size_t k = 1; k + 1 < WL_STREAM_STAGES && rc == 0; k++) {
    t0 = ndpar_time_now();
    pc.k = k;
    rc = ndpar_pool_run(f->pool, n, phase_task, &pc);
    f->phase[k] = ndpar_time_now() - t0;
  }
  t0 = ndpar_time_now();
  for (size_t i = 0; i < n && rc == 0; i++) {
    ndpar_task t = {i, 0, NULL};
    rc = st[WL_STREAM_STAGES - 1].fn(items[i], NULL, &t, st[WL_STREAM_STAGES - 1].ctx);
    items[i] = NULL;
  }
  f->phase[WL_STREAM_STAGES - 1] = ndpar_time_now() - t0;
  for (size_t i = 0; i < n; i++) wl_chunk_free(items[i], NULL);
  free(items);
  return rc;
}

static int v_sequential(void *f) { return with_stream(f, do_sequential); }
static int v_pipeline(void *f) { return with_stream(f, do_pipeline_blocking); }
static int v_pipeline_plain(void *f) { return with_stream(f, do_pipeline_plain); }
static int v_tbb(void *f) { return with_stream(f, do_tbb); }
static int v_phased(void *f) { return with_stream(f, do_phased); }

static const char *const STAGE_NAMES[WL_STREAM_STAGES] = {"read", "parse", "scale",
                                                          "infer", "format", "write"};

static int bench_forecast(const wl_stream_model *m, const char *in_path, const char *out_path,
                          size_t mb, size_t threads, int reps) {
  ndpar_pool_config cfg;
  ndpar_pool_config_init(&cfg);
  cfg.threads = threads;
  forecast_run f = {m, in_path, out_path, threads, 4 * threads, 0, ndpar_pool_alloc(&cfg), NULL, {0}};
  cfg.threads = 1;
  cfg.bind = NDPAR_BIND_NONE;
  f.solo = ndpar_pool_alloc(&cfg);
  variant v[] = {{"sequential (one thread)", v_sequential},
                 {"stages one after another", v_phased},
                 {"ndpar pipeline, blocking I/O", v_pipeline},
                 {"ndpar pipeline, no flags", v_pipeline_plain},
                 {"oneTBB parallel_pipeline", v_tbb}};
  size_t nv = bench_tbb_pipeline ? 5 : 4;
  spread s[5];
  /* The phases' own times: the median over the phased runs (collected as they run). */
  int rc = time_variants(v, nv, &f, 1, reps, s);
  double phase[WL_STREAM_STAGES];
  if (rc == 0) {
    double *samples = malloc((size_t)reps * WL_STREAM_STAGES * sizeof *samples);
    for (int r = 0; r < reps && rc == 0; r++) {
      bench_settle();
      rc = v_phased(&f);
      for (size_t k = 0; k < WL_STREAM_STAGES; k++) samples[k * (size_t)reps + (size_t)r] = f.phase[k];
    }
    for (size_t k = 0; k < WL_STREAM_STAGES && rc == 0; k++) {
      qsort(samples + k * (size_t)reps, (size_t)reps, sizeof *samples, cmp_double);
      phase[k] = samples[k * (size_t)reps + (size_t)reps / 2];
    }
    free(samples);
  }
  size_t slowest_k = 0;
  if (rc == 0) {
    size_t slowest = 0;
    printf("\nstreaming forecast, %zu MB CSV (24 lags -> scale -> MLP 24-64-6 -> 6 predictions), "
           "T=%zu, tokens %zu, 1 MiB chunks\n", mb, threads, f.tokens);
    printf("  stage alone (in the phased run; parallel stages on the pool), median s:");
    for (size_t k = 0; k < WL_STREAM_STAGES; k++) {
      printf(" %s %.3f", STAGE_NAMES[k], phase[k]);
      if (phase[k] > phase[slowest]) slowest = k;
    }
    printf("\n  %-30s %9s %9s %9s %9s %14s\n", "variant", "min s", "median s", "max s", "MB/s",
           "/ slowest stage");
    for (size_t i = 0; i < nv; i++)
      printf("  %-30s %9.3f %9.3f %9.3f %9.1f %14.2f\n", v[i].name, s[i].min, s[i].med, s[i].max,
             (double)mb / s[i].med, s[i].med / phase[slowest]);
    printf("  slowest stage alone: %s; pipeline / stages one after another %.2f",
           STAGE_NAMES[slowest], s[2].med / s[1].med);
    slowest_k = slowest;
    if (nv == 5) printf("; ndpar / TBB %.2f", s[2].med / s[4].med);
    printf(" (medians)\n");
  }
  /* A slow device: every chunk read waits 10 ms (100 MB/s). A blocking stage waits on its
   * helper while the pool's threads compute; unflagged, the waiting holds a pool thread. */
  f.read_delay_us = 10000;
  variant slow[] = {{"ndpar pipeline, blocking I/O", v_pipeline},
                    {"ndpar pipeline, no flags", v_pipeline_plain},
                    {"oneTBB parallel_pipeline", v_tbb}};
  size_t nslow = bench_tbb_pipeline ? 3 : 2;
  if (rc == 0) rc = time_variants(slow, nslow, &f, 0, reps, s);
  if (rc == 0) {
    /* The reader alone is the device's waits plus the reading itself. */
    double reader = 1e-6 * f.read_delay_us * (double)mb + phase[0];
    double slowest = reader > phase[slowest_k] ? reader : phase[slowest_k];
    printf("  the same from a slow device (each 1 MiB read waits 10 ms; the reader alone %.3f s,\n"
           "  slowest stage alone %.3f s):\n", reader, slowest);
    for (size_t i = 0; i < nslow; i++)
      printf("  %-30s %9.3f %9.3f %9.3f %9.1f %14.2f\n", slow[i].name, s[i].min, s[i].med,
             s[i].max, (double)mb / s[i].med, s[i].med / slowest);
    printf("  no flags / blocking I/O %.2f (medians)\n", s[1].med / s[0].med);
  }
  ndpar_pool_free(f.pool);
  ndpar_pool_free(f.solo);
  return rc;
}

/* ---- 3. peak RSS at two input sizes ---------------------------------------------------------- */

/* This process's peak resident set (VmHWM, kB), or -1. Read in the child itself: the
 * rusage of a spawned child would report the parent's peak, since Linux carries the peak
 * of the address space it leaves into the child's accounting at exec. */
static long own_peak_rss_kb(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kb = -1;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "VmHWM: %ld kB", &kb) == 1) break;
  if (f) fclose(f);
  return kb;
}

/* The child: one pipeline run over in_path, then its peak RSS (kB) on stdout. */
static int rss_child(const char *in_path, const char *out_path, size_t threads, size_t tokens) {
  char err[512];
  wl_stream_model m;
  if (wl_stream_model_load(NULL, &m, err, sizeof err)) return fprintf(stderr, "%s\n", err), 1;
  ndpar_pool_config cfg;
  ndpar_pool_config_init(&cfg);
  cfg.threads = threads;
  forecast_run f = {&m, in_path, out_path, threads, tokens, 0, ndpar_pool_alloc(&cfg), NULL, {0}};
  cfg.threads = 1;
  cfg.bind = NDPAR_BIND_NONE;
  f.solo = ndpar_pool_alloc(&cfg);
  int rc = v_pipeline(&f);
  ndpar_pool_free(f.pool);
  ndpar_pool_free(f.solo);
  wl_stream_model_free(&m);
  printf("%ld\n", own_peak_rss_kb());
  return rc != 0;
}

/* Runs the child in a fresh process and reads its answer from a pipe. */
static long child_peak_rss_kb(const char *in_path, const char *out_path, size_t threads,
                              size_t tokens) {
  char tbuf[32], kbuf[32];
  snprintf(tbuf, sizeof tbuf, "%zu", threads);
  snprintf(kbuf, sizeof kbuf, "%zu", tokens);
  char *args[] = {"bench_pipeline", "--rss-child", (char *)in_path, (char *)out_path, tbuf, kbuf, NULL};
  int fds[2];
  if (pipe(fds) != 0) return -1;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  pid_t pid;
  int spawned = posix_spawn(&pid, "/proc/self/exe", &fa, NULL, args, environ) == 0;
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  long kb = -1;
  FILE *answer = fdopen(fds[0], "r");
  if (answer == NULL || fscanf(answer, "%ld", &kb) != 1) kb = -1;
  if (answer) fclose(answer);
  else close(fds[0]);
  int status;
  if (!spawned || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
    return -1;
  return kb;
}

int main(int argc, char **argv) {
  if (argc == 6 && strcmp(argv[1], "--rss-child") == 0)
    return rss_child(argv[2], argv[3], strtoul(argv[4], NULL, 10), strtoul(argv[5], NULL, 10));
  /* --part empty|forecast|rss: one part alone (taken out before the common options). */
  const char *part = NULL;
  for (int i = 1; i + 1 < argc; i++)
    if (strcmp(argv[i], "--part") == 0) {
      part = argv[i + 1];
      for (int k = i; k + 2 <= argc; k++) argv[k] = argv[k + 2];
      argc -= 2;
      break;
    }
  bench_options o;
  bench_parse(argc, argv, "bench_pipeline",
              "Pipeline overhead (an empty 3-stage pipeline, ns/item) and the streaming forecast\n"
              "(parse -> scale -> MLP -> format -> write in order): ndpar's pipeline vs its slowest\n"
              "stage alone vs the stages one after another vs oneTBB's parallel_pipeline; peak RSS\n"
              "at two input sizes. --part empty|forecast|rss runs one part.",
              &o);
  int reps = o.reps ? o.reps : o.quick ? 3 : 11;
  if (!bench_tbb_pipeline)
    printf("oneTBB not built in (libtbb-dev missing: make bench-deps): TBB columns skipped\n");
  printf("machine: %zu physical cores; threads %zu; %d repeats, variants interleaved\n",
         ndpar_physical_cores(), o.threads, reps);
  int rc = 0;
  size_t tl[2] = {1, o.threads};
  int all = part == NULL, empty = all || strcmp(part, "empty") == 0;
  int forecast = all || strcmp(part, "forecast") == 0, rss = all || strcmp(part, "rss") == 0;
  if (!empty && !forecast && !rss) return fprintf(stderr, "bench_pipeline: --part empty|forecast|rss\n"), 2;
  for (size_t i = 0; empty && i < (o.threads > 1 ? 2u : 1u) && rc == 0; i++) rc = bench_empty(tl[i], reps);
  if (rc || !(forecast || rss)) return rc;

  char err[512], in_path[4096], out_path[4096], big_path[4096];
  wl_stream_model m;
  if (wl_stream_model_load(NULL, &m, err, sizeof err)) return fprintf(stderr, "%s\n", err), 1;
  FILE *fi = wl_stream_tempfile(in_path, sizeof in_path, "bench-pipeline-in");
  FILE *fo = wl_stream_tempfile(out_path, sizeof out_path, "bench-pipeline-out");
  FILE *fb = wl_stream_tempfile(big_path, sizeof big_path, "bench-pipeline-big");
  size_t small_mb = o.quick ? 8 : 64, big_mb = o.quick ? 32 : 512;
  if (!fi || !fo || !fb || wl_stream_generate(in_path, &m, small_mb << 20, NULL)) {
    fprintf(stderr, "bench_pipeline: cannot write %s\n", in_path);
    rc = 1;
  }
  if (rc == 0 && forecast) rc = bench_forecast(&m, in_path, out_path, small_mb, o.threads, o.quick ? 2 : 5);
  if (rc == 0 && rss && wl_stream_generate(big_path, &m, big_mb << 20, NULL)) rc = 1;
  if (rc == 0 && rss) {
    size_t t = o.threads;
    long small_kb = child_peak_rss_kb(in_path, out_path, t, 4 * t);
    long big_kb = child_peak_rss_kb(big_path, out_path, t, 4 * t);
    long big16_kb = child_peak_rss_kb(big_path, out_path, t, 16 * t);
    rc = small_kb < 0 || big_kb < 0 || big16_kb < 0;
    printf("\npeak RSS of one pipeline run (a fresh process each, T=%zu):\n"
           "  %4zu MB input, %3zu tokens: %6.1f MB\n  %4zu MB input, %3zu tokens: %6.1f MB\n"
           "  %4zu MB input, %3zu tokens: %6.1f MB\n", t, small_mb, 4 * t, small_kb / 1024.0,
           big_mb, 4 * t, big_kb / 1024.0, big_mb, 16 * t, big16_kb / 1024.0);
  }
  for (FILE **f = (FILE *[]){fi, fo, fb, NULL}; *f; f++) fclose(*f);
  remove(in_path), remove(out_path), remove(big_path);
  wl_stream_model_free(&m);
  return rc;
}
