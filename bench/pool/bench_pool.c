/* bench_pool: the pool's overheads and scaling against OpenMP, in one run.
 *
 *   fork-join latency   one run of T empty tasks vs an empty `omp parallel` region (µs)
 *   dispatch per task   10^6 trivial tasks: per-index and range forms vs
 *                       schedule(dynamic,1) and schedule(guided) (ns per task)
 *   compute-bound       2,000 tasks of ~20 µs of arithmetic (speedup over sequential)
 * each at T = 1 and T = --threads (default: every physical core).
 */
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "ref/timing.h"
#include "ndpar/ndpar_pool.h"

#define NAN_ (nan(""))

typedef struct {
  ndpar_pool *pool;
  size_t threads, n;
  double *out;
} ctx_t;

/* ---- fork-join latency ---- */

#define FORK_JOIN_RUNS 20000

static int empty_task(const ndpar_task *t, void *c) {
  (void)t, (void)c;
  return 0;
}

static void ndpar_fork_join(void *vc) {
  ctx_t *c = vc;
  for (int i = 0; i < FORK_JOIN_RUNS; i++) ndpar_pool_run(c->pool, c->threads, empty_task, NULL);
}

static volatile int omp_sink;

static void omp_fork_join(void *vc) {
  ctx_t *c = vc;
  for (int i = 0; i < FORK_JOIN_RUNS; i++) {
#pragma omp parallel num_threads(c->threads)
    { omp_sink = 0; }
  }
}

/* A run after 2 ms without work: the workers have stopped spinning and sleep, so this
 * times the futex wake-up that spinning avoids. Only the run itself is timed. */
#define COLD_RUNS 50

static double cold_latency_us(ctx_t *c, int use_omp) {
  double t[COLD_RUNS];
  struct timespec idle = {0, 2 * 1000 * 1000};
  for (int i = 0; i < COLD_RUNS; i++) {
    nanosleep(&idle, NULL);
    double t0 = ndpar_time_now();
    if (use_omp) {
#pragma omp parallel num_threads(c->threads)
      { omp_sink = 0; }
    } else {
      ndpar_pool_run(c->pool, c->threads, empty_task, NULL);
    }
    t[i] = ndpar_time_now() - t0;
  }
  return 1e6 * bench_median(t, COLD_RUNS);
}

/* ---- dispatch of trivial tasks ---- */

#define TRIVIAL_N 1000000

static void seq_trivial(void *vc) {
  ctx_t *c = vc;
  for (size_t i = 0; i < c->n; i++) c->out[i] = 0.5 * (double)i;
}

static int trivial_task(const ndpar_task *t, void *vc) {
  ctx_t *c = vc;
  c->out[t->index] = 0.5 * (double)t->index;
  return 0;
}

static int trivial_range(size_t b, size_t e, const ndpar_task *t, void *vc) {
  (void)t;
  ctx_t *c = vc;
  for (size_t i = b; i < e; i++) c->out[i] = 0.5 * (double)i;
  return 0;
}

static void ndpar_trivial(void *vc) {
  ctx_t *c = vc;
  ndpar_pool_run(c->pool, c->n, trivial_task, c);
}

static void ndpar_trivial_range(void *vc) {
  ctx_t *c = vc;
  ndpar_pool_run_range(c->pool, c->n, trivial_range, c, NULL);
}

static void omp_trivial_dynamic(void *vc) {
  ctx_t *c = vc;
  long n = (long)c->n;
  double *out = c->out;
#pragma omp parallel for schedule(dynamic, 1) num_threads(c->threads)
  for (long i = 0; i < n; i++) out[i] = 0.5 * (double)i;
}

static void omp_trivial_guided(void *vc) {
  ctx_t *c = vc;
  long n = (long)c->n;
  double *out = c->out;
#pragma omp parallel for schedule(guided) num_threads(c->threads)
  for (long i = 0; i < n; i++) out[i] = 0.5 * (double)i;
}

/* ---- compute-bound tasks ---- */

#define COMPUTE_N 2000
#define COMPUTE_STEPS 4000

/* About 20 µs of dependent floating-point work that the compiler cannot drop. */
static double compute_kernel(size_t i) {
  double x = 1.0 + 1e-3 * (double)(i % 97), acc = 0;
  for (int k = 0; k < COMPUTE_STEPS; k++) {
    x = x * 1.0000001 + 1e-7;
    acc += sqrt(x + (double)k);
  }
  return acc;
}

static void seq_compute(void *vc) {
  ctx_t *c = vc;
  for (size_t i = 0; i < COMPUTE_N; i++) c->out[i] = compute_kernel(i);
}

static int compute_task(const ndpar_task *t, void *vc) {
  ctx_t *c = vc;
  c->out[t->index] = compute_kernel(t->index);
  return 0;
}

static void ndpar_compute(void *vc) {
  ctx_t *c = vc;
  ndpar_pool_run(c->pool, COMPUTE_N, compute_task, c);
}

static void omp_compute(void *vc) {
  ctx_t *c = vc;
  double *out = c->out;
#pragma omp parallel for schedule(dynamic, 1) num_threads(c->threads)
  for (long i = 0; i < COMPUTE_N; i++) out[i] = compute_kernel((size_t)i);
}

/* ---- several callers at once ----
 * The same 2,000 compute tasks split between T application threads (pthreads, or the
 * threads of an `omp parallel` region) that each call ndpar_pool_run on the one pool at
 * the same time: the pool runs one call at a time, so the callers take turns; the cost of
 * taking turns is the difference from one caller running all the tasks. */

typedef struct {
  ctx_t *c;
  size_t begin, n;
} part_t;

static int part_task(const ndpar_task *t, void *vp) {
  part_t *p = vp;
  p->c->out[p->begin + t->index] = compute_kernel(p->begin + t->index);
  return 0;
}

static void run_part(ctx_t *c, size_t k, size_t parts) {
  part_t p = {c, k * COMPUTE_N / parts, (k + 1) * COMPUTE_N / parts - k * COMPUTE_N / parts};
  ndpar_pool_run(c->pool, p.n, part_task, &p);
}

typedef struct {
  ctx_t *c;
  size_t k, parts;
} caller_t;

static void *caller_main(void *vp) {
  caller_t *a = vp;
  run_part(a->c, a->k, a->parts);
  return NULL;
}

static void ndpar_concurrent_callers(void *vc) {
  ctx_t *c = vc;
  size_t parts = c->threads < 2 ? 2 : c->threads;
  pthread_t tid[64];
  caller_t args[64];
  if (parts > 64) parts = 64;
  for (size_t k = 0; k < parts; k++) {
    args[k] = (caller_t){c, k, parts};
    pthread_create(&tid[k], NULL, caller_main, &args[k]);
  }
  for (size_t k = 0; k < parts; k++) pthread_join(tid[k], NULL);
}

static void ndpar_from_omp_region(void *vc) {
  ctx_t *c = vc;
  int parts = c->threads < 2 ? 2 : (int)c->threads;
#pragma omp parallel num_threads(parts)
  run_part(c, (size_t)omp_get_thread_num(), (size_t)omp_get_num_threads());
}

/* ---- driver ---- */

/* Interleaved medians of the variants (see bench_compare), scaled. */
static void measure(void (*const *fns)(void *), size_t nfns, ctx_t *c, int reps, double scale,
                    double *out) {
  bench_compare(fns, nfns, c, 1, reps, out);
  for (size_t i = 0; i < nfns; i++) out[i] *= scale;
}

int main(int argc, char **argv) {
  bench_options o;
  bench_parse(argc, argv, "bench_pool",
              "The pool's fork-join latency, per-task dispatch cost and compute-bound speedup,\n"
              "against OpenMP (libgomp) on the same kernels, at 1 thread and at --threads.",
              &o);
  int reps = o.reps ? o.reps : (o.quick ? 3 : 15);
  double *out = malloc(TRIVIAL_N * sizeof *out);
  size_t counts[2] = {1, o.threads};
  printf("bench_pool: %zu physical cores; medians of %d repeats after warm-up\n",
         ndpar_physical_cores(), reps);

  const char *cols_latency[] = {"ndpar", "OpenMP", "ndpar/OpenMP"};
  const char *cols_dispatch[] = {"sequential", "ndpar", "ndpar-range", "omp-dyn1", "omp-guided"};
  const char *cols_compute[] = {"sequential", "ndpar", "OpenMP", "ndpar-speedup", "omp-speedup"};
  const char *cols_callers[] = {"one caller", "T pthreads", "omp region", "pthreads/one",
                                "omp/one"};
  double latency[2][3], cold[2][3], dispatch[2][5], compute[2][5], callers[2][5];

  for (int k = 0; k < 2; k++) {
    size_t T = counts[k];
    ndpar_pool_config cfg;
    ndpar_pool_config_init(&cfg);
    cfg.threads = T;
    cfg.min_parallel = 1; /* measure the parallel path itself, even for T tasks */
    ctx_t c = {ndpar_pool_alloc(&cfg), T, TRIVIAL_N, out};
    if (c.pool == NULL) return 1;

    void (*const fork_join[2])(void *) = {ndpar_fork_join, omp_fork_join};
    measure(fork_join, 2, &c, reps, 1e6 / FORK_JOIN_RUNS, latency[k]);
    latency[k][2] = latency[k][0] / latency[k][1];
    cold[k][0] = cold_latency_us(&c, 0);
    cold[k][1] = cold_latency_us(&c, 1);
    cold[k][2] = cold[k][0] / cold[k][1];

    void (*const trivial[5])(void *) = {seq_trivial, ndpar_trivial, ndpar_trivial_range,
                                         omp_trivial_dynamic, omp_trivial_guided};
    measure(trivial, 5, &c, reps, 1e9 / TRIVIAL_N, dispatch[k]);

    void (*const computes[3])(void *) = {seq_compute, ndpar_compute, omp_compute};
    measure(computes, 3, &c, reps, 1e3, compute[k]);
    compute[k][3] = compute[k][0] / compute[k][1];
    compute[k][4] = compute[k][0] / compute[k][2];

    void (*const concurrent[3])(void *) = {ndpar_compute, ndpar_concurrent_callers,
                                           ndpar_from_omp_region};
    measure(concurrent, 3, &c, reps, 1e3, callers[k]);
    callers[k][3] = callers[k][1] / callers[k][0];
    callers[k][4] = callers[k][2] / callers[k][0];
    printf("(T=%zu: %s)\n", T,
           T == 1 ? "the caller alone, no workers"
           : ndpar_pool_binding(c.pool) == NDPAR_BIND_CORES ? "workers pinned to cores"
                                                            : "workers unpinned");
    ndpar_pool_free(c.pool);
  }

  bench_header("fork-join latency of one run of T empty tasks (us)", cols_latency, 3);
  for (int k = 0; k < 2; k++) bench_row("empty run / omp parallel", counts[k], latency[k], 3, "us");
  for (int k = 0; k < 2; k++) bench_row("the same after 2 ms idle (asleep)", counts[k], cold[k], 3, "us");
  bench_header("dispatch cost per trivial task, 10^6 tasks (ns per task)", cols_dispatch, 5);
  for (int k = 0; k < 2; k++) bench_row("out[i] = 0.5 * i", counts[k], dispatch[k], 5, "ns");
  bench_header("compute-bound: 2,000 tasks of ~20 us (ms; speedup over sequential)", cols_compute, 5);
  for (int k = 0; k < 2; k++) bench_row("sqrt chain", counts[k], compute[k], 5, "ms, x");
  bench_header("the same 2,000 tasks split between max(T, 2) callers at once (ms; ratio to one caller)",
               cols_callers, 5);
  for (int k = 0; k < 2; k++) bench_row("callers take turns", counts[k], callers[k], 5, "ms, x");
  free(out);
  return 0;
}
