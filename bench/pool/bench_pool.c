/* bench_pool: the pool's overheads against sequential code, OpenMP (libgomp), oneTBB and
 * Rayon, every variant interleaved with the others in each repeat, min / median / max.
 *
 *   fork-join, hot      one run of 2 and of T empty tasks, back to back (ns per run)
 *   first run after     one run of T empty tasks after 2 ms without work (us)
 *     2 ms idle
 *   CPU while idle      process CPU time over 2 s with no work, and over 2 s of one run of T
 *                       empty tasks every 5 ms (ms of CPU; the latency of those runs)
 *   dispatch per task   10^6 trivial tasks (ns per task)
 *   compute-bound       2,000 tasks of ~20 us (ms; speedup over sequential)
 *   several callers     the same 2,000 tasks split between 2 pthreads, or the 2 threads of an
 *                       `omp parallel` region, each calling a run at once (ms; ratio)
 * OpenMP runs in its best form for each (static schedule for the fork-joins, the best of
 * dynamic/guided/static for dispatch), TBB with its simple and auto partitioners and
 * parallel_invoke / task_group, Rayon (where cargo built it) join and its chunked for.
 */
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "ref/timing.h"
#include "ndpar/ndpar_pool.h"
#ifdef NDPAR_BENCH_HAVE_TBB
#include "tbb_pool.h"
#endif
#ifdef NDPAR_BENCH_HAVE_RAYON
#include "rayon_peer.h"
#endif

/* ---- variants and their statistics --------------------------------------------------- */

typedef struct bench_ctx bench_ctx;
typedef double (*measure_fn)(bench_ctx *c); /* one measurement of one variant */
typedef void (*fork_join_fn)(bench_ctx *c); /* one empty fork-join of c->n tasks */
typedef struct {
  const char *name;
  measure_fn fn;
  fork_join_fn fj; /* the runtime's fork-join, for measurements of any runtime (or NULL) */
} variant;

#define MAX_VARIANTS 12
#define MAX_REPS 64

struct bench_ctx {
  ndpar_pool *pool;
  size_t threads, n; /* n: tasks of the current fork-join */
  double *out;
  int quick;
  fork_join_fn fj; /* the variant being measured's fork-join */
};

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Runs every variant once per repeat, in turn (interleaved, so that a slow phase of the
 * machine hits them all alike), each after bench_settle (the previous variant's spinning
 * threads asleep), after one untimed round; prints min, median and max of each and the
 * ratio of each median to the first variant's (> 1: the first is faster). */
static void compare(const char *title, const char *unit, const variant *v, size_t nv,
                    bench_ctx *c, int reps, double *medians) {
  static double t[MAX_VARIANTS][MAX_REPS];
  if (reps > MAX_REPS) reps = MAX_REPS;
  for (int r = -1; r < reps; r++)
    for (size_t i = 0; i < nv; i++) {
      bench_settle();
      c->fj = v[i].fj;
      double x = v[i].fn(c);
      if (r >= 0) t[i][r] = x;
    }
  printf("\n%s (T = %zu, %d repeats)\n%-34s %12s %12s %12s %10s\n", title, c->threads, reps,
         "variant", "min", "median", "max", "ratio");
  double base = 0;
  for (size_t i = 0; i < nv; i++) {
    qsort(t[i], (size_t)reps, sizeof(double), cmp_double);
    double med = bench_median(t[i], (size_t)reps);
    if (i == 0) base = med;
    if (medians) medians[i] = med;
    printf("%-34s %12.3f %12.3f %12.3f %10.2f  %s\n", v[i].name, t[i][0], med, t[i][reps - 1],
           med / base, unit);
  }
  fflush(stdout);
}

static double cpu_seconds(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return (double)u.ru_utime.tv_sec + 1e-6 * (double)u.ru_utime.tv_usec +
         (double)u.ru_stime.tv_sec + 1e-6 * (double)u.ru_stime.tv_usec;
}

static void sleep_us(long us) {
  struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
  nanosleep(&ts, NULL);
}

/* ---- one empty fork-join of c->n tasks, per runtime ------------------------------------ */

static volatile size_t sink;

static int empty_task(const ndpar_task *t, void *ctx) {
  (void)ctx;
  sink = t->index;
  return 0;
}

static void fj_ndpar(bench_ctx *c) { ndpar_pool_run(c->pool, c->n, empty_task, NULL); }

static void fj_omp(bench_ctx *c) {
  long n = (long)c->n;
#pragma omp parallel for schedule(static) num_threads(c->threads)
  for (long i = 0; i < n; i++) sink = (size_t)i;
}

#if defined(NDPAR_BENCH_HAVE_TBB) || defined(NDPAR_BENCH_HAVE_RAYON)
static void empty_body(void *ctx, size_t lo, size_t hi) {
  (void)ctx, (void)hi;
  sink = lo;
}
#endif
#ifdef NDPAR_BENCH_HAVE_TBB
static void fj_tbb(bench_ctx *c) { tbb_pool_for(c->n, 0, empty_body, NULL); }
#endif
#ifdef NDPAR_BENCH_HAVE_RAYON
static void fj_rayon(bench_ctx *c) { rayon_peer_for(c->n, 1, empty_body, NULL); }
#endif

/* ---- fork-join, hot ------------------------------------------------------------------- */

#define HOT_RUNS 20000

static double loop_ns(bench_ctx *c, fork_join_fn fj) {
  int runs = c->quick ? HOT_RUNS / 10 : HOT_RUNS;
  fj(c);
  double t0 = ndpar_time_now();
  for (int i = 0; i < runs; i++) fj(c);
  return 1e9 * (ndpar_time_now() - t0) / runs;
}

static double hot_seq(bench_ctx *c) {
  int runs = c->quick ? HOT_RUNS / 10 : HOT_RUNS;
  double t0 = ndpar_time_now();
  for (int i = 0; i < runs; i++)
    for (size_t k = 0; k < c->n; k++) sink = k;
  return 1e9 * (ndpar_time_now() - t0) / runs;
}
static double hot_ndpar(bench_ctx *c) { return loop_ns(c, fj_ndpar); }
static double hot_omp(bench_ctx *c) { return loop_ns(c, fj_omp); }
#ifdef NDPAR_BENCH_HAVE_TBB
static size_t hot_iters(bench_ctx *c) { return c->quick ? HOT_RUNS / 10 : HOT_RUNS; }
static double hot_tbb_simple(bench_ctx *c) { return tbb_pool_empty_ns(c->n, 0, hot_iters(c)); }
static double hot_tbb_auto(bench_ctx *c) { return tbb_pool_empty_ns(c->n, 1, hot_iters(c)); }
static double hot_tbb_invoke(bench_ctx *c) { return tbb_pool_empty_ns(c->n, 2, hot_iters(c)); }
#endif
#ifdef NDPAR_BENCH_HAVE_RAYON
static double hot_rayon_join(bench_ctx *c) {
  return rayon_peer_empty_join_ns(c->quick ? HOT_RUNS / 10 : HOT_RUNS);
}
static double hot_rayon_for(bench_ctx *c) { return loop_ns(c, fj_rayon); }
static void empty_closure(void *ctx) {
  (void)ctx;
  sink = 0;
}
static void fj_rayon_join(bench_ctx *c) {
  (void)c;
  rayon_peer_join(empty_closure, empty_closure, NULL);
}
static double hot_rayon_join_outside(bench_ctx *c) { return loop_ns(c, fj_rayon_join); }
#endif

static void bench_hot(bench_ctx *c, size_t n, int reps) {
  c->n = n;
  variant v[MAX_VARIANTS] = {{"sequential (n empty calls)", hot_seq, NULL},
                             {"ndpar_pool_run", hot_ndpar, NULL},
                             {"OpenMP parallel for static", hot_omp, NULL}};
  size_t nv = 3;
#ifdef NDPAR_BENCH_HAVE_TBB
  v[nv++] = (variant){"TBB parallel_for simple", hot_tbb_simple, NULL};
  v[nv++] = (variant){"TBB parallel_for auto", hot_tbb_auto, NULL};
  v[nv++] = (variant){n == 2 ? "TBB parallel_invoke" : "TBB task_group", hot_tbb_invoke, NULL};
#endif
#ifdef NDPAR_BENCH_HAVE_RAYON
  if (n == 2) v[nv++] = (variant){"Rayon join (inside the pool)", hot_rayon_join, NULL};
  if (n == 2) v[nv++] = (variant){"Rayon join (from the caller)", hot_rayon_join_outside, NULL};
  v[nv++] = (variant){"Rayon par_iter for", hot_rayon_for, NULL};
#endif
  char title[96];
  snprintf(title, sizeof title, "empty fork-join of %zu tasks, back to back (ns per run)", n);
  compare(title, "ns", v + 1, nv - 1, c, reps, NULL);
  printf("%-34s %12s %12.3f\n", v[0].name, "", hot_seq(c));
}

/* ---- the first run after 2 ms idle ------------------------------------------------------ */

#define COLD_BLOCK 8

/* The median over COLD_BLOCK runs of c->fj each after 2 ms without work, in us. */
static double cold_us(bench_ctx *c) {
  double t[COLD_BLOCK];
  c->fj(c);
  for (int i = 0; i < COLD_BLOCK; i++) {
    sleep_us(2000);
    double t0 = ndpar_time_now();
    c->fj(c);
    t[i] = 1e6 * (ndpar_time_now() - t0);
  }
  return bench_median(t, COLD_BLOCK);
}

/* ---- CPU used with no work, and with a run every 5 ms ----------------------------------- */

static double idle_seconds(const bench_ctx *c) { return c->quick ? 0.5 : 2.0; }

/* Process CPU time over idle_seconds() of sleep after one run, in ms. */
static double idle_cpu_ms(bench_ctx *c, fork_join_fn fj) {
  sleep_us(200000); /* every runtime's threads asleep first */
  fj(c);
  double cpu0 = cpu_seconds();
  sleep_us((long)(1e6 * idle_seconds(c)));
  return 1e3 * (cpu_seconds() - cpu0);
}

/* Process CPU time over idle_seconds() of one run every 5 ms, in ms, less the same loop's
 * CPU time with the runs' own cost measured alone (the runs are empty: what is left is the
 * spinning and waking between them). The runs' median latency goes to *latency_us. */
static double every_5ms_cpu_ms(bench_ctx *c, fork_join_fn fj, double *latency_us) {
  size_t runs = (size_t)(idle_seconds(c) / 5e-3);
  double *t = malloc(runs * sizeof *t);
  sleep_us(200000);
  fj(c);
  double cpu0 = cpu_seconds();
  for (size_t i = 0; i < runs; i++) {
    sleep_us(5000);
    double t0 = ndpar_time_now();
    fj(c);
    t[i] = 1e6 * (ndpar_time_now() - t0);
  }
  double cpu = cpu_seconds() - cpu0;
  *latency_us = bench_median(t, runs);
  free(t);
  return 1e3 * cpu;
}

static void bench_cpu(bench_ctx *c, const variant *rt, size_t nrt, int reps) {
  static double idle[MAX_VARIANTS][MAX_REPS], busy[MAX_VARIANTS][MAX_REPS],
      lat[MAX_VARIANTS][MAX_REPS];
  for (int r = 0; r < reps; r++)
    for (size_t i = 0; i < nrt; i++) {
      idle[i][r] = idle_cpu_ms(c, rt[i].fj);
      busy[i][r] = every_5ms_cpu_ms(c, rt[i].fj, &lat[i][r]);
    }
  printf("\nCPU time of the whole process over %.1f s (ms; T = %zu, %d repeats: min / median / "
         "max)\n%-22s %26s %26s %26s\n",
         idle_seconds(c), c->threads, reps, "runtime", "idle after one run",
         "a run every 5 ms", "latency of those runs (us)");
  for (size_t i = 0; i < nrt; i++) {
    double *rows[3] = {idle[i], busy[i], lat[i]};
    printf("%-22s", rt[i].name);
    for (int k = 0; k < 3; k++) {
      qsort(rows[k], (size_t)reps, sizeof(double), cmp_double);
      printf("   %7.1f %7.1f %7.1f", rows[k][0], bench_median(rows[k], (size_t)reps),
             rows[k][reps - 1]);
    }
    printf("\n");
  }
  fflush(stdout);
}

/* ---- dispatch of trivial tasks ---------------------------------------------------------- */

#define TRIVIAL_N 1000000

static double timed(bench_ctx *c, void (*f)(bench_ctx *), double scale) {
  f(c);
  double t0 = ndpar_time_now();
  f(c);
  return scale * (ndpar_time_now() - t0);
}

static void seq_trivial(bench_ctx *c) {
  for (size_t i = 0; i < TRIVIAL_N; i++) c->out[i] = 0.5 * (double)i;
}
static int trivial_task(const ndpar_task *t, void *vc) {
  bench_ctx *c = vc;
  c->out[t->index] = 0.5 * (double)t->index;
  return 0;
}
static int trivial_range(size_t b, size_t e, const ndpar_task *t, void *vc) {
  (void)t;
  bench_ctx *c = vc;
  for (size_t i = b; i < e; i++) c->out[i] = 0.5 * (double)i;
  return 0;
}
static void ndpar_trivial(bench_ctx *c) { ndpar_pool_run(c->pool, TRIVIAL_N, trivial_task, c); }
static void ndpar_trivial_range(bench_ctx *c) {
  ndpar_pool_run_range(c->pool, TRIVIAL_N, trivial_range, c, NULL);
}
static void omp_trivial_dynamic(bench_ctx *c) {
  double *out = c->out;
#pragma omp parallel for schedule(dynamic, 1) num_threads(c->threads)
  for (long i = 0; i < TRIVIAL_N; i++) out[i] = 0.5 * (double)i;
}
static void omp_trivial_guided(bench_ctx *c) {
  double *out = c->out;
#pragma omp parallel for schedule(guided) num_threads(c->threads)
  for (long i = 0; i < TRIVIAL_N; i++) out[i] = 0.5 * (double)i;
}
static void omp_trivial_static(bench_ctx *c) {
  double *out = c->out;
#pragma omp parallel for schedule(static) num_threads(c->threads)
  for (long i = 0; i < TRIVIAL_N; i++) out[i] = 0.5 * (double)i;
}
#define NS_PER_TASK (1e9 / TRIVIAL_N)
static double d_seq(bench_ctx *c) { return timed(c, seq_trivial, NS_PER_TASK); }
static double d_ndpar(bench_ctx *c) { return timed(c, ndpar_trivial, NS_PER_TASK); }
static double d_ndpar_range(bench_ctx *c) { return timed(c, ndpar_trivial_range, NS_PER_TASK); }
static double d_omp_dyn(bench_ctx *c) { return timed(c, omp_trivial_dynamic, NS_PER_TASK); }
static double d_omp_guided(bench_ctx *c) { return timed(c, omp_trivial_guided, NS_PER_TASK); }
static double d_omp_static(bench_ctx *c) { return timed(c, omp_trivial_static, NS_PER_TASK); }
#if defined(NDPAR_BENCH_HAVE_TBB) || defined(NDPAR_BENCH_HAVE_RAYON)
static void trivial_body(void *vc, size_t b, size_t e) { trivial_range(b, e, NULL, vc); }
#endif
#ifdef NDPAR_BENCH_HAVE_TBB
static void tbb_trivial_simple(bench_ctx *c) { tbb_pool_for(TRIVIAL_N, 0, trivial_body, c); }
static void tbb_trivial_auto(bench_ctx *c) { tbb_pool_for(TRIVIAL_N, 1, trivial_body, c); }
static double d_tbb_simple(bench_ctx *c) { return timed(c, tbb_trivial_simple, NS_PER_TASK); }
static double d_tbb_auto(bench_ctx *c) { return timed(c, tbb_trivial_auto, NS_PER_TASK); }
#endif
#ifdef NDPAR_BENCH_HAVE_RAYON
static void rayon_trivial(bench_ctx *c) { rayon_peer_for(TRIVIAL_N, 1, trivial_body, c); }
static double d_rayon(bench_ctx *c) { return timed(c, rayon_trivial, NS_PER_TASK); }
#endif

/* ---- compute-bound tasks, and several callers at once ------------------------------------ */

#define COMPUTE_N 2000
#define COMPUTE_STEPS 4000

/* About 20 us of dependent floating-point work that the compiler cannot drop. */
static double compute_kernel(size_t i) {
  double x = 1.0 + 1e-3 * (double)(i % 97), acc = 0;
  for (int k = 0; k < COMPUTE_STEPS; k++) {
    x = x * 1.0000001 + 1e-7;
    acc += sqrt(x + (double)k);
  }
  return acc;
}
static void seq_compute(bench_ctx *c) {
  for (size_t i = 0; i < COMPUTE_N; i++) c->out[i] = compute_kernel(i);
}
static int compute_task(const ndpar_task *t, void *vc) {
  bench_ctx *c = vc;
  c->out[t->index] = compute_kernel(t->index);
  return 0;
}
static void ndpar_compute(bench_ctx *c) { ndpar_pool_run(c->pool, COMPUTE_N, compute_task, c); }
static void omp_compute(bench_ctx *c) {
  double *out = c->out;
#pragma omp parallel for schedule(dynamic, 1) num_threads(c->threads)
  for (long i = 0; i < COMPUTE_N; i++) out[i] = compute_kernel((size_t)i);
}
static double c_seq(bench_ctx *c) { return timed(c, seq_compute, 1e3); }
static double c_ndpar(bench_ctx *c) { return timed(c, ndpar_compute, 1e3); }
static double c_omp(bench_ctx *c) { return timed(c, omp_compute, 1e3); }
#if defined(NDPAR_BENCH_HAVE_TBB) || defined(NDPAR_BENCH_HAVE_RAYON)
static void compute_body(void *vc, size_t b, size_t e) {
  bench_ctx *c = vc;
  for (size_t i = b; i < e; i++) c->out[i] = compute_kernel(i);
}
#endif
#ifdef NDPAR_BENCH_HAVE_TBB
static void tbb_compute(bench_ctx *c) { tbb_pool_for(COMPUTE_N, 1, compute_body, c); }
static double c_tbb(bench_ctx *c) { return timed(c, tbb_compute, 1e3); }
#endif
#ifdef NDPAR_BENCH_HAVE_RAYON
static void rayon_compute(bench_ctx *c) { rayon_peer_for(COMPUTE_N, 1, compute_body, c); }
static double c_rayon(bench_ctx *c) { return timed(c, rayon_compute, 1e3); }
#endif

/* The same 2,000 compute tasks split between CALLERS application threads (pthreads, or the
 * threads of an `omp parallel` region) that each call ndpar_pool_run on the one pool at the
 * same time. */
#define CALLERS 2

typedef struct {
  bench_ctx *c;
  size_t begin, n;
} part_t;

static int part_task(const ndpar_task *t, void *vp) {
  part_t *p = vp;
  p->c->out[p->begin + t->index] = compute_kernel(p->begin + t->index);
  return 0;
}

static void run_part(bench_ctx *c, size_t k, size_t parts) {
  part_t p = {c, k * COMPUTE_N / parts, (k + 1) * COMPUTE_N / parts - k * COMPUTE_N / parts};
  ndpar_pool_run(c->pool, p.n, part_task, &p);
}

typedef struct {
  bench_ctx *c;
  size_t k;
} caller_t;

static void *caller_main(void *vp) {
  caller_t *a = vp;
  run_part(a->c, a->k, CALLERS);
  return NULL;
}

static void ndpar_pthread_callers(bench_ctx *c) {
  pthread_t tid[CALLERS];
  caller_t args[CALLERS];
  for (size_t k = 0; k < CALLERS; k++) {
    args[k] = (caller_t){c, k};
    pthread_create(&tid[k], NULL, caller_main, &args[k]);
  }
  for (size_t k = 0; k < CALLERS; k++) pthread_join(tid[k], NULL);
}

static void ndpar_from_omp_region(bench_ctx *c) {
#pragma omp parallel num_threads(CALLERS)
  run_part(c, (size_t)omp_get_thread_num(), (size_t)omp_get_num_threads());
}
static double k_pthreads(bench_ctx *c) { return timed(c, ndpar_pthread_callers, 1e3); }
static double k_omp(bench_ctx *c) { return timed(c, ndpar_from_omp_region, 1e3); }

/* ---- driver ------------------------------------------------------------------------------ */

int main(int argc, char **argv) {
  bench_options o;
  bench_parse(argc, argv, "bench_pool",
              "The pool's fork-join latency (hot, and after 2 ms idle), CPU used while idle,\n"
              "per-task dispatch, compute-bound speedup and concurrent callers, against\n"
              "sequential code, OpenMP, oneTBB and Rayon in one interleaved run.",
              &o);
  int reps = o.reps ? o.reps : (o.quick ? 3 : 11);
  size_t T = o.threads;
  ndpar_pool_config cfg;
  ndpar_pool_config_init(&cfg);
  cfg.threads = T;
  cfg.min_parallel = 1; /* measure the parallel path itself, even for 2 tasks */
  bench_ctx c = {ndpar_pool_alloc(&cfg), T, 2, malloc(TRIVIAL_N * sizeof(double)), o.quick, NULL};
  if (c.pool == NULL || c.out == NULL) return 1;
  printf("bench_pool: %zu physical cores, T = %zu (%s); OpenMP %d\n", ndpar_physical_cores(), T,
         ndpar_pool_binding(c.pool) == NDPAR_BIND_CORES ? "workers pinned to cores"
                                                        : "workers unpinned",
         _OPENMP);
#ifdef NDPAR_BENCH_HAVE_TBB
  tbb_pool_init(T);
#else
  printf("TBB: not installed (make bench-deps)\n");
#endif
#ifdef NDPAR_BENCH_HAVE_RAYON
  if (rayon_peer_init(T) != 0) return 1;
#else
  printf("Rayon: not installed (make bench-deps)\n");
#endif

  bench_hot(&c, 2, reps);
  if (T != 2) bench_hot(&c, T, reps);

  /* Each runtime's fork-join of T empty tasks: after 2 ms idle, and for the CPU it uses. */
  variant rt[MAX_VARIANTS] = {{"ndpar_pool_run", cold_us, fj_ndpar},
                              {"OpenMP parallel for", cold_us, fj_omp}};
  size_t nrt = 2;
#ifdef NDPAR_BENCH_HAVE_TBB
  rt[nrt++] = (variant){"TBB parallel_for simple", cold_us, fj_tbb};
#endif
#ifdef NDPAR_BENCH_HAVE_RAYON
  rt[nrt++] = (variant){"Rayon par_iter for", cold_us, fj_rayon};
#endif
  c.n = T;
  compare("first run of T empty tasks after 2 ms idle (us; each a median of 8)", "us", rt, nrt,
          &c, reps, NULL);
  bench_cpu(&c, rt, nrt, o.quick ? 1 : 3);

  variant disp[MAX_VARIANTS] = {{"sequential", d_seq, NULL},
                                {"ndpar_pool_run (per index)", d_ndpar, NULL},
                                {"ndpar_pool_run_range", d_ndpar_range, NULL},
                                {"OpenMP dynamic,1", d_omp_dyn, NULL},
                                {"OpenMP guided", d_omp_guided, NULL},
                                {"OpenMP static", d_omp_static, NULL}};
  size_t nd = 6;
#ifdef NDPAR_BENCH_HAVE_TBB
  disp[nd++] = (variant){"TBB parallel_for simple", d_tbb_simple, NULL};
  disp[nd++] = (variant){"TBB parallel_for auto", d_tbb_auto, NULL};
#endif
#ifdef NDPAR_BENCH_HAVE_RAYON
  disp[nd++] = (variant){"Rayon par_iter for", d_rayon, NULL};
#endif
  compare("dispatch of 10^6 trivial tasks (ns per task; ratio to sequential)", "ns", disp, nd, &c,
          reps, NULL);

  variant comp[MAX_VARIANTS] = {{"sequential", c_seq, NULL}, {"ndpar_pool_run", c_ndpar, NULL},
                                {"OpenMP dynamic,1", c_omp, NULL}};
  size_t nc = 3;
#ifdef NDPAR_BENCH_HAVE_TBB
  comp[nc++] = (variant){"TBB parallel_for auto", c_tbb, NULL};
#endif
#ifdef NDPAR_BENCH_HAVE_RAYON
  comp[nc++] = (variant){"Rayon par_iter for", c_rayon, NULL};
#endif
  compare("compute-bound: 2,000 tasks of ~20 us (ms; ratio to sequential)", "ms", comp, nc, &c,
          reps, NULL);

  variant callers[3] = {{"one caller, all 2,000 tasks", c_ndpar, NULL},
                        {"2 pthreads, 1,000 tasks each", k_pthreads, NULL},
                        {"omp parallel(2), 1,000 each", k_omp, NULL}};
  compare("the same tasks split between 2 callers at once (ms; ratio to one caller)", "ms",
          callers, 3, &c, reps, NULL);

  ndpar_pool_free(c.pool);
  free(c.out);
  return 0;
}
