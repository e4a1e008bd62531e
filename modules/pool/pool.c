/* pool.c: persistent pinned workers and fork-join runs.
 *
 * A run takes one of the pool's POOL_JOBS job records (several runs from several threads
 * proceed at once, each on its own record), publishes its job there (fn, ctx, n), opens it,
 * bumps the pool's generation word and works on the job itself as slot 0. Workers see the
 * new generation (spinning, or asleep on a futex), look through the open records, enter one
 * with work left, claim chunks of indices from its counter until none are left, leave, and
 * look again. When the caller runs out of chunks it closes its record and waits only for
 * the workers inside it: a worker that comes late finds the record closed and never
 * touches the job, so a run never waits for a sleeping thread that has nothing left to do.
 *
 * A record's state word holds the closed bit and the count of workers inside (both in one
 * word, so entering and closing each take one atomic operation, ordered against each other
 * by the word itself). Everything a run touches lies on one cache line per record (the
 * job, the state word, the claim counter), and record 0's line also holds the pool's
 * generation word: a hot run from a single caller moves one line between the cores.
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
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define NDPAR_DEFAULT_SPIN_US 100
#define NDPAR_MAX_SPIN_US 1000000

/* Runs in flight on one pool at once; a caller that finds every record taken runs its
 * tasks inline (it and the callers holding the records already keep every core busy). */
#define POOL_JOBS 8

/* A record's state word: CLOSED, plus INSIDE for each worker inside the job. */
#define CLOSED 1u
#define INSIDE 2u

typedef struct {
  /* One line: everything a run touches (the caller writes it; the workers inside write
   * the state and the counter). Record 0's line also carries the pool's generation word,
   * so that a hot run from a single caller writes one line only. */
  alignas(NDPAR_CACHELINE) atomic_uint state; /* futex word: CLOSED | INSIDE * workers */
  atomic_uint join_waiting;                   /* the owner sleeps on state */
  atomic_size_t next;                         /* first unclaimed index */
  atomic_size_t n;                            /* atomic: idle workers peek at it */
  ndpar_task_fn fn;
  ndpar_range_fn range_fn;
  void *ctx;
  atomic_int stop;  /* a task failed: start no more */
  atomic_int owner; /* a caller holds this record */
  atomic_uint gen;      /* record 0 only: futex word, bumped once per run opened */
  atomic_uint sleepers; /* record 0 only: workers asleep on gen */
  /* Failures: rare, under err_lock. */
  alignas(NDPAR_CACHELINE) pthread_mutex_t err_lock;
  size_t err_index; /* lowest failing index so far (n: none) */
  int err_status;
  ndpar_task_error err_info; /* its captured GSL error (code 0: none) */
  ndpar_error_info own_info; /* what its failing ndpar call recorded (code 0: none) */
} pool_job;
_Static_assert(offsetof(pool_job, err_lock) == NDPAR_CACHELINE,
               "a record's hot fields fill exactly one cache line");

struct ndpar_pool {
  /* Fixed at alloc. */
  size_t threads;
  size_t min_parallel;
  unsigned spin_us;
  ndpar_bind binding;
  ndpar_bind bind_asked; /* cfg->bind: what a configuration is compared by */
  ndpar_pool *retired_next; /* the default pools replaced by ndpar_pool_default_set */
  pthread_t *tids; /* tids[i] runs slot i + 1 */
  int caller_cpu;        /* the core left to the calling thread (binding == CORES) */
  cpu_set_t worker_cpus; /* the CPUs the workers are pinned to */
  atomic_int shutdown;
  /* 1: the last run whose caller started on a worker's core lasted MOVE_AFTER_SECONDS or
   * more, so the next such caller moves at once (see caller_move_start). Relaxed: a hint. */
  atomic_int caller_runs_long;

  /* Workers standing aside while as many runs are open as the pool has threads (each run's
   * caller already keeps a core busy): a run that closes then bumps gen to call them back. */
  alignas(NDPAR_CACHELINE) atomic_uint aside;

  pool_job jobs[POOL_JOBS];
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

/* Returns at once if *word != expected (checked atomically by the kernel); after
 * timeout_s seconds if timeout_s > 0. 0 when a futex_wake woke it, -1 otherwise. */
static long futex_wait(atomic_uint *word, unsigned expected, double timeout_s) {
  struct timespec ts, *tp = NULL;
  if (timeout_s > 0) {
    ts.tv_sec = (time_t)timeout_s;
    ts.tv_nsec = (long)(1e9 * (timeout_s - (double)ts.tv_sec));
    tp = &ts;
  }
  return syscall(SYS_futex, (unsigned *)word, FUTEX_WAIT_PRIVATE, expected, tp, NULL, 0);
}

/* The number of threads woken. */
static long futex_wake(atomic_uint *word, int count) {
  long woken = syscall(SYS_futex, (unsigned *)word, FUTEX_WAKE_PRIVATE, count, NULL, NULL, 0);
  return woken > 0 ? woken : 0;
}

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

/* Spins until *word != value or the clock passes `until`; returns the last value seen.
 * Looks at the word every `stride` pauses (1: as fast as it can; more: a worker that keeps
 * arriving too late to help stops pulling the word's cache line away from the caller
 * on every run). The clock is read once per ~64 pauses' worth of looks. */
static unsigned spin_until(atomic_uint *word, unsigned value, double until, unsigned stride) {
  unsigned v = atomic_load(word), looks = stride >= 64 ? 1 : 64 / stride;
  while (v == value) {
    for (unsigned k = 0; k < looks; k++) {
      for (unsigned s = 0; s < stride; s++) cpu_relax();
      /* seq_cst (a plain load on x86): ordered before the scan of the records that follows
       * a change (see worker_main). */
      if ((v = atomic_load(word)) != value) return v;
    }
    if (ndpar_time_now() > until) break;
  }
  return v;
}

/* ---- claiming and running tasks ---------------------------------------------------- */

/* How much work one claim should carry. Each thread times its chunks and sizes the next
 * one to about this long: one index at a time for tasks of 100 us (so a thread that
 * stalls, e.g. a descheduled vCPU, holds back at most one task), thousands at a time for
 * tasks of a nanosecond (so claims cost nothing). A claim costs ~50-100 ns when contended:
 * under 1% of 20 us. */
#define CHUNK_TARGET_SECONDS 20e-6

/* Claims up to `want` indices, never more than remaining / (2 * threads) (guided: the last
 * indices spread over all threads), at least 1. *capped: the guided bound, not `want`,
 * was at most 1, so timing this chunk could not change the next one. */
static int claim(pool_job *j, size_t n, size_t divisor, size_t want, size_t *begin, size_t *end,
                 int *capped) {
  size_t cur = atomic_load_explicit(&j->next, memory_order_relaxed);
  for (;;) {
    if (cur >= n) return 0;
    size_t chunk = (n - cur) / divisor;
    *capped = chunk <= 1;
    if (chunk > want) chunk = want;
    if (chunk == 0) chunk = 1;
    /* relaxed: the counter only hands out indices; the job itself was published by the
     * owner's release when it opened the record (acquired on entering), and results are
     * published by the release on leaving it. */
    if (atomic_compare_exchange_weak_explicit(&j->next, &cur, cur + chunk, memory_order_relaxed,
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

static void record_failure(pool_job *j, size_t index, int status) {
  pthread_mutex_lock(&j->err_lock);
  if (index < j->err_index) {
    j->err_index = index;
    j->err_status = status;
    j->err_info.code = 0;
    if (ndpar_captured.code) {
      j->err_info = ndpar_captured;
      j->err_info.index = index;
    }
    /* The thread's last error, forgotten when it entered the run, if the task failed with
     * its code: what the task's failing ndpar call said. */
    j->own_info.code = 0;
    if (ndpar_tls_error.code == status) j->own_info = ndpar_tls_error;
  }
  pthread_mutex_unlock(&j->err_lock);
  /* relaxed: only a hint to stop early; the failure itself is under err_lock. */
  atomic_store_explicit(&j->stop, 1, memory_order_relaxed);
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

/* The calling thread's last error after a run whose task `index` failed with `status`: what
 * the task's captured GSL error or failing ndpar call said, else the code's text. Recorded
 * only (a task's failure is the call's code, not an argument error). */
static void note_task_failure(int status, size_t index, const ndpar_task_error *captured,
                              const ndpar_error_info *own) {
  if (captured != NULL && captured->code)
    ndpar_error_note(status, captured->file, captured->line, "task %zu failed: %s", index,
                     captured->reason);
  else if (own != NULL && own->code == status)
    ndpar_error_note(status, own->file, own->line, "task %zu failed: %s", index, own->message);
  else
    ndpar_error_note(status, __FILE__, __LINE__, "task %zu failed: its callback returned %d (%s)",
                     index, status, gsl_strerror(status));
}

/* Makes this thread quiet (no GSL handler: it runs tasks) and forgets its last error, so
 * that an error recorded during the run is the run's own; returns the quiet level before. */
static inline int quiet_enter(void) {
  int before = ndpar_tls_quiet;
  ndpar_tls_quiet = 1;
  ndpar_error_forget();
  return before;
}

static int stopped(pool_job *j) {
  return atomic_load_explicit(&j->stop, memory_order_relaxed);
}

static int run_chunk(pool_job *j, ndpar_task *task, size_t begin, size_t end) {
  if (j->range_fn) {
    task->index = begin;
    capture_clear();
    int status = capture_status(j->range_fn(begin, end, task, j->ctx));
    if (NDPAR_UNLIKELY(status)) record_failure(j, begin, status);
    return status;
  }
  for (size_t i = begin; i < end; i++) {
    if (NDPAR_UNLIKELY(stopped(j))) return GSL_EFAILED;
    task->index = i;
    capture_clear();
    int status = capture_status(j->fn(task, j->ctx));
    if (NDPAR_UNLIKELY(status)) {
      record_failure(j, i, status);
      return status;
    }
  }
  return GSL_SUCCESS;
}

/* Whether as many runs are open as the pool has threads: their callers keep every core
 * busy, and a worker helping one of them would only take turns on a core with a caller.
 * seq_cst loads: see stand_aside. */
static int callers_fill_pool(ndpar_pool *p) {
  size_t open = 0;
  for (int r = 0; r < POOL_JOBS; r++) open += !(atomic_load(&p->jobs[r].state) & CLOSED);
  return open >= p->threads;
}

/* A worker's leaving code for work_on_job (*moving): the callers fill the pool. */
#define STAND_ASIDE (-2)

/* The open record with the most work left if that is more than twice `left` indices, else
 * -1: a worker then moves there, so that runs from several callers end at about the same
 * time (the caller whose run ends first would otherwise wait, or spin at the end of its omp
 * region, while the other still runs). */
static int more_work_elsewhere(ndpar_pool *p, const pool_job *j, size_t left) {
  int best = -1;
  size_t most = 2 * left + 1;
  for (int r = 0; r < POOL_JOBS; r++) {
    pool_job *o = &p->jobs[r];
    /* A peek (see help_job): open, then n and next of that run or a later one. */
    if (o == j || (atomic_load(&o->state) & CLOSED)) continue;
    size_t n = atomic_load_explicit(&o->n, memory_order_relaxed);
    size_t next = atomic_load_explicit(&o->next, memory_order_relaxed);
    if (next < n && n - next > most) {
      most = n - next;
      best = r;
    }
  }
  return best;
}

/* How often a worker looks at the other runs (see more_work_elsewhere). */
#define REBALANCE_SECONDS 50e-6

/* An unpinned caller that finds itself on a pinned worker's CPU would share that core
 * for the whole run while the core left for it idles: the scheduler does not move a busy
 * thread promptly (measured: 1.28x instead of 2x on 2 cores for back-to-back runs). Such a
 * caller is moved to its core for the run; end_run_on_own_core restores its own mask,
 * and since widening a running thread's mask does not move it, later runs find no
 * collision and pay nothing (one vDSO sched_getcpu). A caller whose own mask excludes
 * that core stays where it is.
 *
 * The caller of record r >= 1 (runs from several threads at once) whose run fills the pool
 * (as many runs open as threads: the workers stand aside) gets the core of the worker of
 * slot r instead, unless it is there already: threads woken together (an omp team) are
 * often placed on one core, and two callers would then share it while a worker's core
 * idles.
 *
 * A move costs ~15 us (the thread is migrated by the kernel), more than a short run: so a
 * run of at most `threads` tasks moves its caller only once it has worked MOVE_AFTER_SECONDS
 * (see work_on_job), a larger run at its start. The caller can only move between its own
 * tasks, so a run of `threads` long tasks would share a core for its whole first task (two
 * tasks of 2 ms on 2 cores took 8.7 ms instead of 4.4): when the last run that started on
 * a worker's core lasted MOVE_AFTER_SECONDS or more, the next one moves at once. */
#define MOVE_AFTER_SECONDS 50e-6

static int move_to(int cpu, cpu_set_t *saved) {
  if (pthread_getaffinity_np(pthread_self(), sizeof *saved, saved) != 0) return 0;
  if (!CPU_ISSET(cpu, saved)) return 0;
  cpu_set_t own;
  CPU_ZERO(&own);
  CPU_SET(cpu, &own);
  return pthread_setaffinity_np(pthread_self(), sizeof own, &own) == 0;
}

/* The CPU the worker of slot `slot` is pinned to (binding == CORES), or -1. */
static int worker_cpu(const ndpar_pool *p, int slot) {
  for (int c = 0, k = 0; c < CPU_SETSIZE; c++)
    if (CPU_ISSET(c, &p->worker_cpus) && ++k == slot) return c;
  return -1;
}

static int run_on_own_core(ndpar_pool *p, int record, cpu_set_t *saved) {
  if (p->binding != NDPAR_BIND_CORES || record < 0) return 0;
  int cpu = sched_getcpu();
  if (cpu < 0 || cpu >= CPU_SETSIZE) return 0;
  if (record == 0)
    return CPU_ISSET(cpu, &p->worker_cpus) ? move_to(p->caller_cpu, saved) : 0;
  if ((size_t)record >= p->threads || !callers_fill_pool(p)) return 0;
  int own = worker_cpu(p, record);
  return own >= 0 && own != cpu ? move_to(own, saved) : 0;
}

static void end_run_on_own_core(const cpu_set_t *saved) {
  pthread_setaffinity_np(pthread_self(), sizeof *saved, saved);
}

/* Where the calling thread's run moved it (see run_on_own_core). */
typedef struct {
  int record;     /* the caller's record */
  int moved;      /* moved: restore `saved` after the run */
  double pending; /* > 0: on a worker's core at this time; move after MOVE_AFTER_SECONDS */
  double started; /* > 0: a run of at most `threads` tasks began on a worker's core then */
  cpu_set_t saved;
} caller_move;

/* Whether the caller sits on a pinned worker's CPU (cheap: one vDSO sched_getcpu). */
static int on_a_workers_core(const ndpar_pool *p) {
  if (p->binding != NDPAR_BIND_CORES) return 0;
  int cpu = sched_getcpu();
  return cpu >= 0 && cpu < CPU_SETSIZE && CPU_ISSET(cpu, &p->worker_cpus);
}

/* At the start of a run: move now (a run of more tasks than threads, or one from a worker's
 * core after a long such run), or note the time to move once the caller has worked
 * MOVE_AFTER_SECONDS (a short run may end first). */
static void caller_move_start(ndpar_pool *p, caller_move *cm, size_t n) {
  if (n > p->threads) {
    cm->moved = run_on_own_core(p, cm->record, &cm->saved);
  } else if (cm->record == 0 && on_a_workers_core(p)) {
    cm->started = ndpar_time_now();
    if (atomic_load_explicit(&p->caller_runs_long, memory_order_relaxed))
      cm->moved = run_on_own_core(p, cm->record, &cm->saved);
    else
      cm->pending = cm->started;
  } else if (cm->record > 0) {
    cm->pending = ndpar_time_now();
  }
}

/* At the end of a run that began on a worker's core: whether the caller's own share of it
 * (`worked` seconds in its tasks and claims, not the move nor the wait for the workers) was
 * long. (The whole run would not do: a run whose caller waits for a worker it shares a core
 * with, or that paid for a move, can last 50 us with empty tasks, and every later run would
 * then pay a move.) */
static void caller_move_end(ndpar_pool *p, const caller_move *cm, double worked) {
  if (cm->started > 0)
    atomic_store_explicit(&p->caller_runs_long, worked >= MOVE_AFTER_SECONDS, memory_order_relaxed);
}

/* After a chunk of the caller's: the pending move, when its time has come. */
static void caller_move_check(ndpar_pool *p, caller_move *cm) {
  if (ndpar_time_now() - cm->pending < MOVE_AFTER_SECONDS) return;
  cm->pending = 0;
  cm->moved = run_on_own_core(p, cm->record, &cm->saved);
}

/* Runs chunks until none are left or a task fails (or, on a worker, until another run has
 * much more left: then *moving is its record; or until the callers fill the pool: then
 * *moving is STAND_ASIDE); returns the indices claimed. The first claim is a
 * single index: its time sizes the next claim (see CHUNK_TARGET_SECONDS); chunks that the
 * guided bound holds to one index are not timed. */
static size_t work_on_job(ndpar_pool *p, pool_job *j, unsigned slot, int *moving,
                          caller_move *cm) {
  ndpar_task task = {0, slot, NULL};
  ndpar_error_forget(); /* an error recorded from here on is this run's (record_failure) */
  size_t n = atomic_load_explicit(&j->n, memory_order_relaxed), divisor = 2 * p->threads;
  size_t begin, end, want = 1, claimed = 0;
  double looked = 0;
  int capped;
  while (!stopped(j) && claim(j, n, divisor, want, &begin, &end, &capped)) {
    claimed += end - begin;
    if (capped) {
      if (run_chunk(j, &task, begin, end) != GSL_SUCCESS) break;
      if (cm && cm->pending > 0) caller_move_check(p, cm);
      continue;
    }
    double t0 = ndpar_time_now();
    if (run_chunk(j, &task, begin, end) != GSL_SUCCESS) break;
    double t1 = ndpar_time_now();
    want = next_want(end - begin, t1 - t0);
    if (cm && cm->pending > 0) caller_move_check(p, cm);
    if (slot != 0 && t1 - looked > REBALANCE_SECONDS) { /* slot 0: the run's own caller */
      looked = t1;
      size_t at = atomic_load_explicit(&j->next, memory_order_relaxed);
      if (callers_fill_pool(p)) {
        *moving = STAND_ASIDE;
        break;
      }
      if ((*moving = more_work_elsewhere(p, j, at < n ? n - at : 0)) >= 0) break;
    }
  }
  return claimed;
}

/* ---- workers ------------------------------------------------------------------------ */

/* Enters record j if it is open, works on its job, leaves; returns the indices it ran. */
static size_t help_job(ndpar_pool *p, pool_job *j, unsigned slot, int *moving) {
  /* seq_cst load (plain on x86): a peek that keeps a late worker from writing the state
   * line of a run it cannot help. Seeing it open with an acquire also makes n and next
   * of that run (stored before the owner opened it) visible to the peek below. */
  if (atomic_load(&j->state) & CLOSED) return 0;
  if (atomic_load_explicit(&j->next, memory_order_relaxed) >=
      atomic_load_explicit(&j->n, memory_order_relaxed))
    return 0;
  /* acquire: synchronises with the owner's release that opened the record (directly or
   * through the release sequence of other workers' entries), so the job fields it wrote
   * before are visible. The owner's close is an RMW of the same word, so the word itself
   * orders the two: either the close counts us (and the owner waits for us), or we see
   * CLOSED and touch nothing of the job. */
  unsigned s = atomic_fetch_add(&j->state, INSIDE);
  size_t ran = 0;
  if (!(s & CLOSED)) ran = work_on_job(p, j, slot, moving, NULL);
  /* release: our tasks' writes happen before the owner's acquire that sees us gone.
   * seq_cst: Dekker with the owner's store of join_waiting then load of state (see
   * close_and_wait): either it sees us gone, or we see it waiting and wake it. */
  s = atomic_fetch_sub(&j->state, INSIDE);
  if (s == (CLOSED | INSIDE) && atomic_load(&j->join_waiting)) futex_wake(&j->state, 1);
  return ran;
}

/* Every open record with work left, once; after leaving one for a run with more work left,
 * that run, then again from the first record (the one left still has work). Returns the
 * indices run. */
static size_t help_open_jobs(ndpar_pool *p, unsigned slot) {
  size_t ran = 0;
  for (int r = 0; r < POOL_JOBS; r++) {
    int moving = -1;
    ran += help_job(p, &p->jobs[r], slot, &moving);
    if (moving == STAND_ASIDE) break;
    while (moving >= 0) {
      int to = moving;
      moving = -1;
      ran += help_job(p, &p->jobs[to], slot, &moving);
      r = -1;
    }
    if (moving == STAND_ASIDE) break;
  }
  return ran;
}

/* Whether this worker stands aside until gen changes (then it must take itself off
 * p->aside): the callers fill the pool. Dekker with close_and_wait (all seq_cst): the
 * worker counts itself in aside, then looks at the records again; the owner of a closing
 * run closes, then looks at aside. Either the owner sees us and bumps gen, or we see its
 * record closed and help the runs left. */
static int stand_aside(ndpar_pool *p) {
  if (!callers_fill_pool(p)) return 0;
  atomic_fetch_add(&p->aside, 1);
  if (callers_fill_pool(p)) return 1;
  atomic_fetch_sub(&p->aside, 1);
  return 0;
}

/* ---- waiting for the next run (adaptive) ----------------------------------------------
 * An idle worker spins for spin_us, then sleeps on the generation futex. A program that
 * calls the pool at a steady pace (a run every few milliseconds) would pay a futex wake-up
 * (~10-20 us on a VM) at the start of each run; so each worker learns the idle gaps it saw
 * last, and when they are regular and short (under GAP_LEARN_MAX) it sleeps with a timeout
 * until shortly before the next run is due, then spins across the window where it is
 * expected (the spread of the last gaps plus margins, at most SPIN_WINDOW_MAX). A run that
 * does not come in that window sends the worker to sleep without timeout: runs that stop
 * cost one window of CPU, then nothing. */
#define GAPS 4
#define GAP_LEARN_MAX 20e-3
#define SPIN_WINDOW_MAX 400e-6
#define MARGIN_MIN 30e-6
#define HELP_WORTH_SECONDS 2e-6
#define MAX_STRIDE 256

typedef struct {
  double gap[GAPS]; /* the last idle gaps, seconds */
  unsigned next, known;
  unsigned stride; /* pauses between looks while spinning (see spin_until) */
} idle_model;

static void learn_gap(idle_model *m, double gap) {
  if (gap > GAP_LEARN_MAX) {
    m->known = 0; /* runs stopped: forget the pace */
    return;
  }
  m->gap[m->next++ % GAPS] = gap;
  if (m->known < GAPS) m->known++;
}

/* The window [*lo, *hi] (seconds after the idle start) where the next run is expected:
 * the spread of the last gaps (at least 2 of them; of 4, the middle two, so that one gap
 * stretched by a descheduled thread does not move the window), widened by a margin for
 * the timers' jitter (more on the late side: a caller's sleep overshoots, it never ends
 * early); 0 if no pace is known. */
static int expected_window(const idle_model *m, double *lo, double *hi) {
  if (m->known < 2) return 0;
  double g[GAPS];
  unsigned k = m->known;
  for (unsigned i = 0; i < k; i++) {
    double x = m->gap[(m->next - 1 - i) % GAPS];
    unsigned at = i;
    for (; at > 0 && g[at - 1] > x; at--) g[at] = g[at - 1]; /* insertion sort */
    g[at] = x;
  }
  double a = k == GAPS ? g[1] : g[0], b = k == GAPS ? g[GAPS - 2] : g[k - 1];
  *lo = a - (MARGIN_MIN + a / 64);
  *hi = b + (MARGIN_MIN + b / 16);
  if (*hi - *lo > SPIN_WINDOW_MAX) *hi = *lo + SPIN_WINDOW_MAX;
  return 1;
}

/* Sleeps on gen (registered in sleepers) until it changes, or for timeout_s if > 0.
 * sleepers counts the workers registered and not yet woken: a waker takes off those its
 * futex_wake woke (wake_sleepers), a worker that returns for any other reason (gen had
 * changed, timeout) takes itself off. So once a worker is woken, later runs do not pay
 * another futex_wake for it while it is still on its way (on a busy machine a woken
 * thread may wait milliseconds for a CPU, and the caller would otherwise make a system
 * call on every run meanwhile). */
static unsigned sleep_on_generation(ndpar_pool *p, unsigned seen, double timeout_s) {
  /* Dekker with the caller (both seq_cst): either it sees sleepers > 0 and wakes us, or
   * we see its new generation before sleeping. */
  atomic_fetch_add(&p->jobs[0].sleepers, 1);
  unsigned g = atomic_load(&p->jobs[0].gen);
  if (g != seen || futex_wait(&p->jobs[0].gen, seen, timeout_s) != 0)
    atomic_fetch_sub(&p->jobs[0].sleepers, 1);
  return atomic_load(&p->jobs[0].gen);
}

/* Wakes the workers asleep on gen (after a change of gen). */
static void wake_sleepers(ndpar_pool *p) {
  long woken = futex_wake(&p->jobs[0].gen, INT_MAX);
  if (woken > 0) atomic_fetch_sub(&p->jobs[0].sleepers, (unsigned)woken);
}

/* Waits until gen != seen and returns it. Runs coming at a learnt pace: sleeps until the
 * window where the next is expected and spins across it (from the start if the window
 * opens within spin_us). Otherwise: spins spin_us. Then sleeps until woken. */
static unsigned wait_for_generation(ndpar_pool *p, unsigned seen, idle_model *m) {
  double t0 = ndpar_time_now(), lo, hi, spin = 1e-6 * p->spin_us;
  unsigned g = seen;
  if (p->spin_us > 0 && expected_window(m, &lo, &hi)) {
    if (lo < spin) lo = 0; /* a run due within spin_us: spin from now */
    double now = t0;
    while (g == seen && now < t0 + lo) {
      g = sleep_on_generation(p, seen, t0 + lo - now);
      now = ndpar_time_now();
    }
    if (g == seen) g = spin_until(&p->jobs[0].gen, seen, t0 + (hi > spin ? hi : spin), m->stride);
  } else {
    g = spin_until(&p->jobs[0].gen, seen, t0 + spin, m->stride);
  }
  while (g == seen) g = sleep_on_generation(p, seen, 0);
  learn_gap(m, ndpar_time_now() - t0);
  return g;
}

static void *worker_main(void *arg) {
  worker_arg *w = arg;
  ndpar_pool *p = w->pool;
  tls_pool = p;
  tls_slot = w->slot;
  ndpar_tls_quiet = 1; /* a thread ndpar started never calls the GSL error handler */
  free(w);
  /* Timed sleeps (the adaptive wait) end within a microsecond of when they are due rather
   * than the default 50 us of timer slack. */
  prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
  idle_model m = {{0}, 0, 0, 1};
  /* seq_cst, and before the scan: a run opened after the scan bumps gen after this load,
   * so the wait below returns at once instead of missing it. */
  unsigned seen = atomic_load(&p->jobs[0].gen);
  for (;;) {
    if (atomic_load_explicit(&p->shutdown, memory_order_acquire)) break;
    /* A worker whose look found nothing to do (it arrived after the caller had taken every
     * task), or under HELP_WORTH_SECONDS of it (tiny runs back to back), looks less often
     * (twice as many pauses between looks after each such look, up to MAX_STRIDE, ~5-10
     * us) until a look pays again: chasing such runs only pulls their cache line away
     * from the caller, and makes it wait for a worker that took the last task of a run the
     * caller would have finished alone in nanoseconds. A run with real work waits at most
     * that long for the worker's first look. */
    double t0 = ndpar_time_now();
    int aside = stand_aside(p);
    size_t ran = aside ? 0 : help_open_jobs(p, tls_slot);
    int paid = ran && ndpar_time_now() - t0 >= HELP_WORTH_SECONDS;
    m.stride = paid ? 1 : m.stride >= MAX_STRIDE ? MAX_STRIDE : 2 * m.stride;
    if (aside) { /* no spinning: the callers need every core */
      while (atomic_load(&p->jobs[0].gen) == seen) sleep_on_generation(p, seen, 0);
      seen = atomic_load(&p->jobs[0].gen);
      atomic_fetch_sub(&p->aside, 1);
    } else {
      seen = wait_for_generation(p, seen, &m);
    }
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
  atomic_fetch_add(&p->jobs[0].gen, 1); /* seq_cst: after the store above, Dekker with sleepers */
  wake_sleepers(p);
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
  for (int r = 0; r < POOL_JOBS; r++) pthread_mutex_destroy(&p->jobs[r].err_lock);
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
  for (int r = 0; r < POOL_JOBS; r++) {
    pthread_mutex_init(&p->jobs[r].err_lock, NULL);
    atomic_init(&p->jobs[r].state, CLOSED);
  }
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
  stop_workers(pool, pool->threads - 1);
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
    int status;
    p = ndpar_pool_rank_alloc(NULL, &status); /* an MPI rank's share of its node */
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

/* A parallel run holds a job record from start to end. */
static int run_in_flight(ndpar_pool *p) {
  for (int r = 0; r < POOL_JOBS; r++)
    if (atomic_load(&p->jobs[r].owner)) return 1;
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
  int quiet = quiet_enter();
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
  ndpar_tls_quiet = quiet;
  if (status) note_task_failure(status, at, ndpar_captured.code ? &ndpar_captured : NULL,
                                &ndpar_tls_error);
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

/* Closes the record, then waits for the workers inside it (spins for spin_us, then
 * sleeps), unless the caller claimed every index itself (`alone`): then no worker ran a
 * task of this run, and one still inside can claim nothing (the counter stays at n until
 * the record is reopened, which take_job allows only once every such worker has left).
 * A worker still on its way in finds the record closed and leaves at once. */
static void close_and_wait(ndpar_pool *p, pool_job *j, int alone) {
  /* An RMW of the word the workers enter by (see help_job); acquire: a worker that
   * already left published its tasks' writes with its release. */
  unsigned s = atomic_fetch_or(&j->state, CLOSED);
  /* seq_cst, after the close: workers standing aside (stand_aside) come back for the runs
   * still open. */
  if (NDPAR_UNLIKELY(atomic_load(&p->aside) > 0)) {
    atomic_fetch_add(&p->jobs[0].gen, 1);
    if (atomic_load(&p->jobs[0].sleepers) > 0) wake_sleepers(p);
  }
  if (alone) return;
  if (s < INSIDE) return; /* nobody inside: the common case for a short run */
  double deadline = ndpar_time_now() + 1e-6 * p->spin_us;
  do {
    for (int k = 0; k < 128; k++) {
      /* acquire (seq_cst): the last worker's release on leaving makes its writes visible. */
      if (atomic_load(&j->state) == CLOSED) return;
      cpu_relax();
    }
  } while (ndpar_time_now() < deadline);
  /* seq_cst: Dekker with the worker's fetch_sub then load of join_waiting (help_job). */
  atomic_store(&j->join_waiting, 1);
  while ((s = atomic_load(&j->state)) != CLOSED) futex_wait(&j->state, s, 0);
  atomic_store_explicit(&j->join_waiting, 0, memory_order_relaxed);
}

/* A free job record of the pool, taken; NULL if every one is in use. Record 0 first, so a
 * program that calls from one thread at a time always uses the same lines. A record is
 * free when no caller owns it and no worker that entered it while it was open is still
 * inside (its last owner may have returned without waiting for one that claimed nothing:
 * see close_and_wait). */
static pool_job *take_job(ndpar_pool *p, int *index) {
  for (int r = 0; r < POOL_JOBS; r++) {
    pool_job *j = &p->jobs[r];
    /* acquire: the previous owner's writes to the record (its release below) come first. */
    if (atomic_load_explicit(&j->owner, memory_order_relaxed) != 0 ||
        atomic_exchange_explicit(&j->owner, 1, memory_order_acquire) != 0)
      continue;
    /* The previous owner's close happens before this load, so it reads the close or a
     * later value: CLOSED alone means every worker that entered the open record has left.
     * Workers entering from now on see CLOSED (until we reopen) and touch nothing. */
    if (atomic_load(&j->state) == CLOSED) {
      *index = r;
      return j;
    }
    atomic_store_explicit(&j->owner, 0, memory_order_release);
  }
  return NULL;
}

static int run_parallel(ndpar_pool *p, pool_job *j, int record, size_t n, ndpar_task_fn fn,
                        ndpar_range_fn range_fn, void *ctx, size_t *failed) {
  caller_move cm = {record, 0, 0, 0, {{0}}};
  if (record == 0) caller_move_start(p, &cm, n);
  /* The job, then the open that publishes it. Every worker that entered the record while
   * an earlier run had it open has left (take_job), and late ones only look at the state
   * word (and n and next, atomically) until they see it open. */
  atomic_store_explicit(&j->n, n, memory_order_relaxed);
  j->fn = fn;
  j->range_fn = range_fn;
  j->ctx = ctx;
  j->err_index = n;
  j->err_status = GSL_SUCCESS;
  j->err_info.code = 0;
  atomic_store_explicit(&j->next, 0, memory_order_relaxed);
  atomic_store_explicit(&j->stop, 0, memory_order_relaxed);
  /* seq_cst RMW (a release): opens the record, publishing the writes above to every worker
   * whose entry reads it, keeping the count of late workers that are still leaving. */
  atomic_fetch_and(&j->state, ~CLOSED);
  /* seq_cst, after the open: a worker that read gen before this and scanned the records
   * after it sees the open; one that scanned before sees gen change (worker_main). And
   * Dekker with sleep_on_generation on sleepers. */
  atomic_fetch_add(&p->jobs[0].gen, 1);
  if (atomic_load(&p->jobs[0].sleepers) > 0) wake_sleepers(p);
  /* A second caller's core: only now that its own run counts among the open ones. */
  if (record > 0) caller_move_start(p, &cm, n);

  tls_pool = p;
  tls_slot = 0;
  int quiet = quiet_enter();
  int moving = -1; /* never set for slot 0 */
  double work_from = cm.started > 0 ? ndpar_time_now() : 0;
  size_t claimed = work_on_job(p, j, 0, &moving, &cm);
  double worked = cm.started > 0 ? ndpar_time_now() - work_from : 0;
  tls_pool = NULL;
  ndpar_tls_quiet = quiet;
  ndpar_captured.code = 0;
  close_and_wait(p, j, claimed == n); /* every worker's writes are visible now */

  int status = j->err_status;
  ndpar_last_error.code = 0;
  if (status && j->err_info.code) ndpar_last_error = j->err_info;
  if (status) note_task_failure(status, j->err_index, &j->err_info, &j->own_info);
  if (failed) *failed = j->err_index;
  caller_move_end(p, &cm, worked);
  if (cm.moved) end_run_on_own_core(&cm.saved);
  /* release: the record's next owner sees it as we left it. */
  atomic_store_explicit(&j->owner, 0, memory_order_release);
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
  int record;
  pool_job *j = take_job(pool, &record);
  if (j == NULL) /* every record busy: the cores are too; this caller's tasks run here */
    return run_inline(pool, n, fn, range_fn, ctx, 0, failed);
  return run_parallel(pool, j, record, n, fn, range_fn, ctx, failed);
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
