/* pool.c: persistent pinned workers and fork-join runs.
 *
 * One run at a time per pool (run_lock). The caller publishes a job (fn, ctx, n), opens
 * it, bumps the generation word, and works on the job itself as slot 0; workers see the
 * new generation (spinning for spin_us, then asleep on a futex), enter the job, claim
 * chunks of indices from a shared counter until none are left, and leave. When the
 * caller runs out of chunks it closes the job and waits only for the workers inside it:
 * a worker still waking up finds the job closed and never touches it, so a run never
 * waits 15-45 us for a sleeping thread that has nothing left to do.
 */
#include "ndpar/ndpar_pool.h"
#include "ndpar_internal.h"
#include "pool/pool_internal.h"
#include "pool/topology.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NDPAR_DEFAULT_SPIN_US 100
#define NDPAR_MAX_SPIN_US 1000000

struct ndpar_pool {
  /* Fixed at alloc. */
  size_t threads;
  size_t min_parallel;
  unsigned spin_us;
  ndpar_bind binding;
  ndpar_bind bind_asked; /* cfg->bind: what a configuration is compared by */
  ndpar_pool *retired_next; /* the default pools replaced by ndpar_pool_default_set */
  pthread_t *tids; /* tids[i] runs slot i + 1 */
  pthread_mutex_t run_lock;
  int caller_cpu;        /* the core left to the calling thread (binding == CORES) */
  cpu_set_t worker_cpus; /* the CPUs the workers are pinned to */

  /* The job, written by the caller before it publishes a new generation. */
  size_t n;
  ndpar_task_fn fn;
  ndpar_range_fn range_fn;
  void *ctx;

  /* Each word every thread writes gets a cache line of its own. */
  alignas(NDPAR_CACHELINE) atomic_size_t next; /* first unclaimed index */
  alignas(NDPAR_CACHELINE) atomic_int stop;    /* a task failed: start no more */
  pthread_mutex_t err_lock;
  size_t err_index; /* lowest failing index so far (n: none) */
  int err_status;
  ndpar_task_error err_info; /* its captured GSL error (code 0: none) */
  alignas(NDPAR_CACHELINE) atomic_uint gen; /* futex word: bumped once per run */
  atomic_uint sleepers;                     /* workers asleep on gen */
  atomic_int shutdown;
  alignas(NDPAR_CACHELINE) atomic_uint active; /* futex word: workers inside the job */
  atomic_int closed;                           /* the caller has stopped letting workers in */
  atomic_uint join_waiting;                    /* the caller sleeps on active */
};

typedef struct {
  ndpar_pool *pool;
  unsigned slot;
} worker_arg;

/* The pool and slot whose task the current thread is running (pool NULL: none).
 * A worker thread keeps it for its whole life; a caller sets it while it takes part. */
static __thread const ndpar_pool *tls_pool;
static __thread unsigned tls_slot;

/* ---- futex and spinning ------------------------------------------------------------ */

static void futex_wait(atomic_uint *word, unsigned expected) {
  /* Returns at once if *word != expected (checked atomically by the kernel). */
  syscall(SYS_futex, (unsigned *)word, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
}

static void futex_wake(atomic_uint *word, int count) {
  syscall(SYS_futex, (unsigned *)word, FUTEX_WAKE_PRIVATE, count, NULL, NULL, 0);
}

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

/* Spins until *word != value or spin_us pass; returns the last value seen. The clock is
 * read once per 128 spins so that the spin itself stays a few cycles per look. */
static unsigned spin_while_equal(atomic_uint *word, unsigned value, unsigned spin_us) {
  unsigned v = atomic_load_explicit(word, memory_order_acquire);
  if (v != value || spin_us == 0) return v;
  double deadline = ndpar_time_now() + 1e-6 * spin_us;
  for (;;) {
    for (int k = 0; k < 128; k++) {
      v = atomic_load_explicit(word, memory_order_acquire);
      if (v != value) return v;
      cpu_relax();
    }
    if (ndpar_time_now() > deadline) return v;
  }
}

/* ---- claiming and running tasks ---------------------------------------------------- */

/* How much work one claim should carry. Each thread times its chunks and sizes the next
 * one to about this long: one index at a time for tasks of 100 us (so a thread that
 * stalls, e.g. a descheduled vCPU, holds back at most one task), thousands at a time for
 * tasks of a nanosecond (so claims cost nothing). A claim costs ~50-100 ns when contended:
 * under 1% of 20 us. */
#define CHUNK_TARGET_SECONDS 20e-6

/* Claims up to `want` indices, never more than remaining / (2 * threads) (guided: the last
 * indices spread over all threads), at least 1. */
static int claim(ndpar_pool *p, size_t want, size_t *begin, size_t *end) {
  size_t n = p->n, divisor = 2 * p->threads;
  size_t cur = atomic_load_explicit(&p->next, memory_order_relaxed);
  for (;;) {
    if (cur >= n) return 0;
    size_t chunk = (n - cur) / divisor;
    if (chunk > want) chunk = want;
    if (chunk == 0) chunk = 1;
    /* relaxed: the counter only hands out indices; the job itself was published by the
     * acquire on closed, and results are published by the release on active. */
    if (atomic_compare_exchange_weak_explicit(&p->next, &cur, cur + chunk, memory_order_relaxed,
                                              memory_order_relaxed)) {
      *begin = cur;
      *end = cur + chunk;
      return 1;
    }
  }
}

/* The next chunk size from the last one's duration: CHUNK_TARGET_SECONDS of work. */
static size_t next_want(size_t count, double seconds) {
  if (seconds <= 0) return count * 16;
  double per_task = seconds / (double)count;
  double want = CHUNK_TARGET_SECONDS / per_task;
  return want < 1 ? 1 : want > 1e15 ? (size_t)1e15 : (size_t)want;
}

static void record_failure(ndpar_pool *p, size_t index, int status) {
  pthread_mutex_lock(&p->err_lock);
  if (index < p->err_index) {
    p->err_index = index;
    p->err_status = status;
    p->err_info.code = 0;
    if (ndpar_captured.code) {
      p->err_info = ndpar_captured;
      p->err_info.index = index;
    }
  }
  pthread_mutex_unlock(&p->err_lock);
  atomic_store_explicit(&p->stop, 1, memory_order_relaxed);
}

/* A GSL error the capture handler recorded during a task fails it (ndpar_capture_gsl_errors):
 * cleared before each task, looked at after it. */
static inline void capture_clear(void) {
  if (NDPAR_UNLIKELY(ndpar_captured.code)) ndpar_captured.code = 0;
}
static inline int capture_status(int status) {
  return NDPAR_UNLIKELY(ndpar_captured.code) && status == GSL_SUCCESS ? ndpar_captured.code
                                                                     : status;
}

int ndpar_pool_in_task(void) { return tls_pool != NULL; }

static int stopped(ndpar_pool *p) {
  return atomic_load_explicit(&p->stop, memory_order_relaxed);
}

static int run_chunk(ndpar_pool *p, ndpar_task *task, size_t begin, size_t end) {
  if (p->range_fn) {
    task->index = begin;
    capture_clear();
    int status = capture_status(p->range_fn(begin, end, task, p->ctx));
    if (NDPAR_UNLIKELY(status)) record_failure(p, begin, status);
    return status;
  }
  for (size_t i = begin; i < end; i++) {
    if (NDPAR_UNLIKELY(stopped(p))) return GSL_EFAILED;
    task->index = i;
    capture_clear();
    int status = capture_status(p->fn(task, p->ctx));
    if (NDPAR_UNLIKELY(status)) {
      record_failure(p, i, status);
      return status;
    }
  }
  return GSL_SUCCESS;
}

/* Runs chunks until none are left or a task fails. The first claim is a single index: its
 * time sizes the next claim (see CHUNK_TARGET_SECONDS). */
static void work_on_job(ndpar_pool *p, unsigned slot) {
  ndpar_task task = {0, slot, NULL};
  size_t begin, end, want = 1;
  while (!stopped(p) && claim(p, want, &begin, &end)) {
    double t0 = ndpar_time_now();
    if (run_chunk(p, &task, begin, end) != GSL_SUCCESS) return;
    want = next_want(end - begin, ndpar_time_now() - t0);
  }
}

/* ---- workers ------------------------------------------------------------------------ */

static unsigned wait_for_generation(ndpar_pool *p, unsigned seen) {
  unsigned g = spin_while_equal(&p->gen, seen, p->spin_us);
  if (g != seen) return g;
  /* Dekker with the caller (both seq_cst): either it sees sleepers > 0 and wakes us, or
   * we see its new generation before sleeping. */
  atomic_fetch_add(&p->sleepers, 1);
  while ((g = atomic_load(&p->gen)) == seen) futex_wait(&p->gen, seen);
  atomic_fetch_sub(&p->sleepers, 1);
  return g;
}

static void *worker_main(void *arg) {
  worker_arg *w = arg;
  ndpar_pool *p = w->pool;
  tls_pool = p;
  tls_slot = w->slot;
  free(w);
  unsigned seen = 0;
  for (;;) {
    seen = wait_for_generation(p, seen);
    if (atomic_load_explicit(&p->shutdown, memory_order_acquire)) break;
    /* Dekker with the caller's close (all seq_cst): either the caller sees us in `active`
     * and waits for us, or we see `closed` and stay out. Reading closed == 0 from a
     * later run is fine: that run's job was written before it was opened. */
    atomic_fetch_add(&p->active, 1);
    if (!atomic_load(&p->closed)) work_on_job(p, tls_slot);
    if (atomic_fetch_sub(&p->active, 1) == 1 && atomic_load(&p->join_waiting))
      futex_wake(&p->active, 1);
  }
  ndpar_thread_scratch_release();
  return NULL;
}

/* ---- configuration ------------------------------------------------------------------ */

/* Reads a whole number in [lo, hi] from the environment; complains once per variable. */
static int env_number(const char *name, unsigned long lo, unsigned long hi, unsigned long *out,
                      atomic_int *warned) {
  const char *s = getenv(name);
  if (s == NULL || *s == '\0') return 0;
  char *end;
  errno = 0;
  unsigned long v = strtoul(s, &end, 10);
  if (errno == 0 && *end == '\0' && s[0] != '-' && v >= lo && v <= hi) {
    *out = v;
    return 1;
  }
  if (!atomic_exchange(warned, 1))
    ndpar_log("ignoring %s=%s (expected a whole number from %lu to %lu)", name, s, lo, hi);
  return 0;
}

void ndpar_pool_config_init(ndpar_pool_config *cfg) {
  static atomic_int warned_threads, warned_bind, warned_spin;
  if (cfg == NULL) return;
  unsigned long v;
  cfg->threads = env_number("NDPAR_NUM_THREADS", 1, NDPAR_MAX_THREADS, &v, &warned_threads) ? v : 0;
  cfg->spin_us = env_number("NDPAR_SPIN_US", 0, NDPAR_MAX_SPIN_US, &v, &warned_spin)
                     ? (unsigned)v
                     : NDPAR_DEFAULT_SPIN_US;
  cfg->bind = NDPAR_BIND_CORES;
  const char *b = getenv("NDPAR_BIND");
  if (b && strcmp(b, "none") == 0)
    cfg->bind = NDPAR_BIND_NONE;
  else if (b && *b && strcmp(b, "cores") != 0 && !atomic_exchange(&warned_bind, 1))
    ndpar_log("ignoring NDPAR_BIND=%s (expected cores or none)", b);
  cfg->min_parallel = 2;
}

size_t ndpar_physical_cores(void) { return ndpar_cores_get()->count; }

/* ---- alloc and free ----------------------------------------------------------------- */

static int pin_thread(pthread_t tid, int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return pthread_setaffinity_np(tid, sizeof set, &set);
}

/* Pins worker i (slot i + 1) to core i + 1, leaving core 0 to the caller. On any refusal
 * (ENOSYS, EXDEV, EINVAL in a container) every worker goes back to the whole process set. */
static ndpar_bind pin_workers(ndpar_pool *p, const ndpar_cores *cores, size_t started) {
  p->caller_cpu = cores->cpu[0];
  CPU_ZERO(&p->worker_cpus);
  for (size_t i = 0; i < started; i++) CPU_SET(cores->cpu[i + 1], &p->worker_cpus);
  for (size_t i = 0; i < started; i++) {
    if (pin_thread(p->tids[i], cores->cpu[i + 1]) != 0) {
      cpu_set_t all;
      if (sched_getaffinity(0, sizeof all, &all) == 0)
        for (size_t j = 0; j < i; j++) pthread_setaffinity_np(p->tids[j], sizeof all, &all);
      return NDPAR_BIND_NONE;
    }
  }
  return NDPAR_BIND_CORES;
}

static void stop_workers(ndpar_pool *p, size_t started) {
  atomic_store_explicit(&p->shutdown, 1, memory_order_release);
  atomic_fetch_add(&p->gen, 1);
  futex_wake(&p->gen, INT_MAX);
  for (size_t i = 0; i < started; i++) pthread_join(p->tids[i], NULL);
}

static size_t start_workers(ndpar_pool *p) {
  /* Workers block every signal: the application's handlers run on its own threads. */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  size_t started = 0;
  for (; started + 1 < p->threads; started++) {
    worker_arg *w = malloc(sizeof *w);
    if (w == NULL) break;
    w->pool = p;
    w->slot = (unsigned)(started + 1);
    if (pthread_create(&p->tids[started], NULL, worker_main, w) != 0) {
      free(w);
      break;
    }
    char name[16];
    snprintf(name, sizeof name, "ndpar-w%u", (unsigned)(started + 1));
    pthread_setname_np(p->tids[started], name);
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return started;
}

static void free_pool_memory(ndpar_pool *p) {
  pthread_mutex_destroy(&p->run_lock);
  pthread_mutex_destroy(&p->err_lock);
  free(p->tids);
  free(p);
}

static int config_valid(const ndpar_pool_config *c) {
  if (c->threads > NDPAR_MAX_THREADS)
    NDPAR_ERROR_FMT(GSL_EINVAL, "pool: cfg->threads is larger than %d", NDPAR_MAX_THREADS);
  NDPAR_REQUIRE(c->bind == NDPAR_BIND_CORES || c->bind == NDPAR_BIND_NONE,
                "pool: cfg->bind is neither NDPAR_BIND_CORES nor NDPAR_BIND_NONE", GSL_EINVAL);
  NDPAR_REQUIRE(c->min_parallel >= 1, "pool: cfg->min_parallel must be at least 1", GSL_EINVAL);
  NDPAR_REQUIRE(c->spin_us <= NDPAR_MAX_SPIN_US, "pool: cfg->spin_us is larger than 1000000",
                GSL_EINVAL);
  return GSL_SUCCESS;
}

static void warn_oversubscribed_once(size_t threads, size_t cores) {
  static atomic_int warned;
  if (!atomic_exchange(&warned, 1))
    ndpar_log("%zu threads on %zu physical cores: workers run unpinned", threads, cores);
}

/* The pool's memory and locks, no threads yet; NULL if out of memory (not reported). */
static ndpar_pool *pool_memory(const ndpar_pool_config *cfg, size_t threads) {
  ndpar_pool *p = NULL;
  if (posix_memalign((void **)&p, NDPAR_CACHELINE, sizeof *p) != 0) return NULL;
  memset(p, 0, sizeof *p);
  p->threads = threads;
  p->bind_asked = cfg->bind;
  p->min_parallel = cfg->min_parallel;
  p->spin_us = cfg->spin_us;
  p->tids = calloc(threads, sizeof *p->tids);
  if (p->tids == NULL) {
    free(p);
    return NULL;
  }
  pthread_mutex_init(&p->run_lock, NULL);
  pthread_mutex_init(&p->err_lock, NULL);
  return p;
}

/* ndpar_pool_alloc_status on the given cores. */
static ndpar_pool *alloc_on(const ndpar_pool_config *cfg, const ndpar_cores *cores, int *status) {
  ndpar_pool_config defaults;
  if (cfg == NULL) {
    ndpar_pool_config_init(&defaults);
    cfg = &defaults;
  }
  if ((*status = config_valid(cfg)) != GSL_SUCCESS) return NULL;
  *status = GSL_ENOMEM;
  size_t threads = cfg->threads ? cfg->threads : cores->count;
  ndpar_pool *p = pool_memory(cfg, threads);
  if (p == NULL) GSL_ERROR_NULL("pool: out of memory", GSL_ENOMEM);

  size_t started = start_workers(p);
  if (started + 1 < threads) {
    stop_workers(p, started);
    free_pool_memory(p);
    *status = GSL_EFAILED;
    NDPAR_ERROR_NULL_FMT(GSL_EFAILED, "pool: cannot start a pool of %zu threads (%zu of its %zu "
                         "workers started): too many threads for this machine's memory or its "
                         "limit on threads", threads, started, threads - 1);
  }
  p->binding = NDPAR_BIND_NONE;
  if (cfg->bind == NDPAR_BIND_CORES && threads > 1) {
    if (threads <= cores->count)
      p->binding = pin_workers(p, cores, started);
    else
      warn_oversubscribed_once(threads, cores->count);
  }
  *status = GSL_SUCCESS;
  return p;
}

ndpar_pool *ndpar_pool_alloc_status(const ndpar_pool_config *cfg, int *status) {
  return alloc_on(cfg, ndpar_cores_get(), status);
}

ndpar_pool *pool_alloc_on(const ndpar_pool_config *cfg, const ndpar_cores *cores) {
  int status;
  return alloc_on(cfg, cores, &status);
}

ndpar_pool *ndpar_pool_alloc(const ndpar_pool_config *cfg) {
  int status;
  return ndpar_pool_alloc_status(cfg, &status);
}

void ndpar_pool_free(ndpar_pool *pool) {
  if (pool == NULL) return;
  if (tls_pool == pool) {
    GSL_ERROR_VOID("pool_free: called from inside one of the pool's tasks", GSL_EINVAL);
  }
  pthread_mutex_lock(&pool->run_lock);
  stop_workers(pool, pool->threads - 1);
  pthread_mutex_unlock(&pool->run_lock);
  free_pool_memory(pool);
}

/* ---- the default pool ----------------------------------------------------------------
 * Created on first use (a failed start is retried by the next use). ndpar_pool_default_set
 * replaces it between runs; the pool it replaces is kept, asleep, on the retired list until
 * the process exits, so that a handle or workspace made earlier stays valid, and a later
 * set to the same configuration takes it back instead of starting threads again. */
static _Atomic(ndpar_pool *) default_pool;
static pthread_mutex_t default_lock = PTHREAD_MUTEX_INITIALIZER;
static ndpar_pool *retired; /* under default_lock */

ndpar_pool *ndpar_pool_default(void) {
  ndpar_pool *p = atomic_load_explicit(&default_pool, memory_order_acquire);
  if (p != NULL) return p;
  pthread_mutex_lock(&default_lock);
  if ((p = atomic_load_explicit(&default_pool, memory_order_relaxed)) == NULL) {
    p = ndpar_pool_alloc(NULL);
    atomic_store_explicit(&default_pool, p, memory_order_release);
  }
  pthread_mutex_unlock(&default_lock);
  if (p == NULL)
    GSL_ERROR_NULL("pool: the default pool could not be created (a later call tries again)", GSL_EFAILED);
  return p;
}

static int same_config(const ndpar_pool *p, const ndpar_pool_config *c, size_t threads) {
  return p->threads == threads && p->bind_asked == c->bind &&
         p->min_parallel == c->min_parallel && p->spin_us == c->spin_us;
}

/* A parallel run holds run_lock from start to end. */
static int run_in_flight(ndpar_pool *p) {
  if (pthread_mutex_trylock(&p->run_lock) != 0) return 1;
  pthread_mutex_unlock(&p->run_lock);
  return 0;
}

/* The retired pool of this configuration, taken off the list; NULL if none. */
static ndpar_pool *take_retired(const ndpar_pool_config *c, size_t threads) {
  for (ndpar_pool **at = &retired; *at != NULL; at = &(*at)->retired_next) {
    ndpar_pool *p = *at;
    if (same_config(p, c, threads)) {
      *at = p->retired_next;
      p->retired_next = NULL;
      return p;
    }
  }
  return NULL;
}

int ndpar_pool_default_set(const ndpar_pool_config *cfg) {
  ndpar_pool_config defaults;
  if (cfg == NULL) {
    ndpar_pool_config_init(&defaults);
    cfg = &defaults;
  }
  int status = config_valid(cfg);
  if (status != GSL_SUCCESS) return status;
  NDPAR_REQUIRE(tls_pool == NULL, "pool_default_set: called from inside a task", GSL_EFAILED);
  size_t threads = cfg->threads ? cfg->threads : ndpar_cores_get()->count;
  pthread_mutex_lock(&default_lock);
  ndpar_pool *cur = atomic_load_explicit(&default_pool, memory_order_relaxed);
  if (cur != NULL && run_in_flight(cur)) {
    pthread_mutex_unlock(&default_lock);
    GSL_ERROR("pool_default_set: a run on the default pool is in flight; set it between runs",
              GSL_EFAILED);
  }
  if (cur != NULL && same_config(cur, cfg, threads)) {
    pthread_mutex_unlock(&default_lock);
    return GSL_SUCCESS;
  }
  ndpar_pool *next = take_retired(cfg, threads);
  if (next == NULL) next = ndpar_pool_alloc_status(cfg, &status);
  if (next != NULL) {
    if (cur != NULL) {
      cur->retired_next = retired;
      retired = cur;
    }
    atomic_store_explicit(&default_pool, next, memory_order_release);
  }
  pthread_mutex_unlock(&default_lock);
  return next != NULL ? GSL_SUCCESS : status;
}

size_t ndpar_pool_threads(const ndpar_pool *pool) {
  if (pool == NULL) pool = ndpar_pool_default();
  return pool ? pool->threads : 1;
}

ndpar_bind ndpar_pool_binding(const ndpar_pool *pool) {
  if (pool == NULL) pool = ndpar_pool_default();
  return pool ? pool->binding : NDPAR_BIND_NONE;
}

/* ---- runs --------------------------------------------------------------------------- */

/* Every task on the calling thread, in index order, as slot `slot`. */
static int run_inline(const ndpar_pool *p, size_t n, ndpar_task_fn fn, ndpar_range_fn range_fn,
                      void *ctx, unsigned slot, size_t *failed) {
  const ndpar_pool *saved_pool = tls_pool;
  unsigned saved_slot = tls_slot;
  tls_pool = p;
  tls_slot = slot;
  /* Nested in a task that has captured an error already: that first error is kept. */
  ndpar_task_error outer;
  int outer_captured = ndpar_captured.code != 0;
  if (outer_captured) outer = ndpar_captured;
  ndpar_task task = {0, slot, NULL};
  int status = GSL_SUCCESS;
  size_t at = n;
  if (range_fn) {
    capture_clear();
    status = capture_status(range_fn(0, n, &task, ctx));
    if (status) at = 0;
  } else {
    for (size_t i = 0; i < n && status == GSL_SUCCESS; i++) {
      task.index = i;
      capture_clear();
      status = capture_status(fn(&task, ctx));
      if (status) at = i;
    }
  }
  ndpar_last_error.code = 0;
  if (status && ndpar_captured.code) {
    ndpar_last_error = ndpar_captured;
    ndpar_last_error.index = at;
  }
  /* A nested run leaves its task's error to the enclosing task; a top-level one clears it. */
  if (outer_captured)
    ndpar_captured = outer;
  else if (saved_pool == NULL)
    ndpar_captured.code = 0;
  tls_pool = saved_pool;
  tls_slot = saved_slot;
  if (failed) *failed = at;
  return status;
}

/* Closes the job, then waits for the workers inside it: spins for spin_us, then sleeps. */
static void close_and_wait(ndpar_pool *p) {
  atomic_store(&p->closed, 1);
  unsigned inside = atomic_load(&p->active);
  if (inside == 0) return;
  double deadline = ndpar_time_now() + 1e-6 * p->spin_us;
  do {
    for (int k = 0; k < 128; k++) {
      if ((inside = atomic_load(&p->active)) == 0) return;
      cpu_relax();
    }
  } while (ndpar_time_now() < deadline);
  /* seq_cst pairs with the worker's fetch_sub then load of join_waiting. */
  atomic_store(&p->join_waiting, 1);
  while ((inside = atomic_load(&p->active)) != 0) futex_wait(&p->active, inside);
  atomic_store_explicit(&p->join_waiting, 0, memory_order_relaxed);
}

/* An unpinned caller that finds itself on a pinned worker's CPU would share that core
 * for the whole run while the core left for it idles: the scheduler does not move a busy
 * thread promptly (measured: 1.28x instead of 2x on 2 cores for back-to-back runs). Such a
 * caller is moved to its core for the run; end_run_on_own_core restores its own mask,
 * and since widening a running thread's mask does not move it, later runs find no
 * collision and pay nothing (one vDSO sched_getcpu). A caller whose own mask excludes
 * that core stays where it is. */
static int run_on_own_core(const ndpar_pool *p, cpu_set_t *saved) {
  if (p->binding != NDPAR_BIND_CORES) return 0;
  int cpu = sched_getcpu();
  if (cpu < 0 || cpu >= CPU_SETSIZE || !CPU_ISSET(cpu, &p->worker_cpus)) return 0;
  if (pthread_getaffinity_np(pthread_self(), sizeof *saved, saved) != 0) return 0;
  if (!CPU_ISSET(p->caller_cpu, saved)) return 0;
  cpu_set_t own;
  CPU_ZERO(&own);
  CPU_SET(p->caller_cpu, &own);
  return pthread_setaffinity_np(pthread_self(), sizeof own, &own) == 0;
}

static void end_run_on_own_core(const cpu_set_t *saved) {
  pthread_setaffinity_np(pthread_self(), sizeof *saved, saved);
}

static int run_parallel(ndpar_pool *p, size_t n, ndpar_task_fn fn, ndpar_range_fn range_fn,
                        void *ctx, size_t *failed) {
  pthread_mutex_lock(&p->run_lock);
  cpu_set_t saved;
  int moved = run_on_own_core(p, &saved);
  p->n = n;
  p->fn = fn;
  p->range_fn = range_fn;
  p->ctx = ctx;
  p->err_index = n;
  p->err_status = GSL_SUCCESS;
  p->err_info.code = 0;
  atomic_store_explicit(&p->next, 0, memory_order_relaxed);
  atomic_store_explicit(&p->stop, 0, memory_order_relaxed);
  atomic_store(&p->closed, 0); /* opens the job: publishes the fields above (release) */
  /* seq_cst: orders against the sleepers load below (Dekker with wait_for_generation). */
  atomic_fetch_add(&p->gen, 1);
  if (atomic_load(&p->sleepers) > 0) futex_wake(&p->gen, INT_MAX);

  tls_pool = p;
  tls_slot = 0;
  work_on_job(p, 0);
  tls_pool = NULL;
  ndpar_captured.code = 0;
  close_and_wait(p); /* acquire on active: every worker's writes are visible now */

  int status = p->err_status;
  ndpar_last_error.code = 0;
  if (status && p->err_info.code) ndpar_last_error = p->err_info;
  if (failed) *failed = p->err_index;
  if (moved) end_run_on_own_core(&saved);
  pthread_mutex_unlock(&p->run_lock);
  return status;
}

static int run_any(ndpar_pool *pool, size_t n, ndpar_task_fn fn, ndpar_range_fn range_fn,
                   void *ctx, size_t *failed) {
  NDPAR_REQUIRE(fn != NULL || range_fn != NULL, "pool_run: fn is NULL", GSL_EFAULT);
  if (pool == NULL && (pool = ndpar_pool_default()) == NULL) return GSL_EFAILED;
  if (failed) *failed = n;
  ndpar_last_error.code = 0;
  if (n == 0) return GSL_SUCCESS;
  if (tls_pool != NULL) /* inside a task: inline, on this thread's slot if it is ours */
    return run_inline(pool, n, fn, range_fn, ctx, tls_pool == pool ? tls_slot : 0, failed);
  if (pool->threads == 1 || n < pool->min_parallel)
    return run_inline(pool, n, fn, range_fn, ctx, 0, failed);
  return run_parallel(pool, n, fn, range_fn, ctx, failed);
}

int ndpar_pool_run_ex(ndpar_pool *pool, size_t n, ndpar_task_fn fn, void *ctx, size_t *failed) {
  NDPAR_REQUIRE(fn != NULL, "pool_run: fn is NULL", GSL_EFAULT);
  return run_any(pool, n, fn, NULL, ctx, failed);
}

int ndpar_pool_run(ndpar_pool *pool, size_t n, ndpar_task_fn fn, void *ctx) {
  return ndpar_pool_run_ex(pool, n, fn, ctx, NULL);
}

int ndpar_pool_run_range(ndpar_pool *pool, size_t n, ndpar_range_fn fn, void *ctx,
                         size_t *failed) {
  NDPAR_REQUIRE(fn != NULL, "pool_run_range: fn is NULL", GSL_EFAULT);
  return run_any(pool, n, NULL, fn, ctx, failed);
}
