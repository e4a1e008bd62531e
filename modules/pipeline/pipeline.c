/* pipeline.c: a source and stages over the pool, at most max_tokens items alive.
 *
 * One shared state under one mutex. Each item lives in a token (allocated up front, one per
 * allowed live item) that records the item's number and the next stage it needs. Tokens
 * wait in a queue per stage: a FIFO for PARALLEL and SERIAL_OUT_OF_ORDER stages, a min-heap
 * on the item number for SERIAL_IN_ORDER ones (which take only the number they expect
 * next). The run is one ndpar_pool_run of `threads` tasks; each task loops: take the
 * runnable token furthest downstream (else call the source, if a token is free), run the
 * stage outside the lock, then carry the token straight on to its next stage when that
 * stage can take it (no queueing, no wake-up), else queue it and wake a sleeper only if
 * there is more runnable work than the awake threads that will look for it (every awake
 * thread that is not in a stage call searches before it sleeps): a wake-up is a futex call
 * under the lock, and with many threads and cheap stages, waking a thread for work that the
 * waker takes itself made every item pay one. A thread with nothing runnable sleeps on the
 * condition variable.
 *
 * Why no deadlock: every thread can run every non-blocking stage, and the item a serial
 * in-order stage waits for was produced before every later one, so it is either running,
 * runnable, or queued for an earlier stage; one thread alone (a nested, inline run) drives
 * the whole pipeline. Blocking stages have a helper thread each (its own condition
 * variable), which runs its stage inside a one-thread pool run, so that a call it makes to
 * ndpar runs inline instead of waiting for the pipeline's own pool run.
 */
#include "ndpar/ndpar_pipeline.h"
#include "ndpar_internal.h"

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct token {
  void *item;
  size_t index;      /* the item's number in source order */
  size_t stage;      /* the next stage to run on it */
  int ghost;         /* dropped by a stage: passes the rest without calls */
  struct token *next; /* free list / FIFO link */
} token;

typedef struct {
  /* FIFO (PARALLEL, SERIAL_OUT_OF_ORDER) */
  token *head, *tail;
  /* min-heap on index (SERIAL_IN_ORDER) */
  token **heap;
  size_t heap_n;
  size_t expected; /* in order: the next item number this stage takes */
  size_t queued;
  int busy;        /* serial: a call is running */
} stage_state;

typedef struct {
  pthread_cond_t cv;
  int waiting;
  size_t stage;
  unsigned worker;
  pthread_t tid;
  ndpar_pool *solo; /* one-thread pool: ndpar calls from the stage run inline */
  struct pipeline *pl;
} helper;

typedef struct pipeline {
  const ndpar_stage *stages;
  size_t n, max_tokens;
  pthread_mutex_t lock;
  pthread_cond_t cv; /* the pool's threads sleep here */
  size_t waiting;    /* pool threads asleep on cv */
  size_t in_loop;    /* pool threads inside pool_loop */
  size_t running;    /* pool threads in a stage call (outside the lock) */
  token *tokens, *free_tokens;
  size_t live;       /* tokens taken: items alive, and a source call's reserved token */
  size_t produced;   /* items the source has produced */
  int source_busy, source_done, stop;
  stage_state *st;
  helper *helpers;
  size_t nhelpers;
  /* The failure with the lowest item number. */
  int err_status;
  ndpar_error_info err_info; /* what the failing stage's ndpar call recorded (code 0: none) */
  size_t err_stage, err_item;
} pipeline;

/* ---- queues ---------------------------------------------------------------------------- */

static int in_order(const pipeline *pl, size_t s) {
  return pl->stages[s].mode == NDPAR_STAGE_SERIAL_IN_ORDER;
}

static int blocking(const pipeline *pl, size_t s) {
  return (pl->stages[s].flags & NDPAR_STAGE_BLOCKING) != 0;
}

static void heap_push(stage_state *q, token *t) {
  size_t i = q->heap_n++;
  while (i > 0 && q->heap[(i - 1) / 2]->index > t->index) {
    q->heap[i] = q->heap[(i - 1) / 2];
    i = (i - 1) / 2;
  }
  q->heap[i] = t;
}

static token *heap_pop(stage_state *q) {
  token *top = q->heap[0], *last = q->heap[--q->heap_n];
  size_t i = 0, n = q->heap_n;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= n) break;
    if (c + 1 < n && q->heap[c + 1]->index < q->heap[c]->index) c++;
    if (last->index <= q->heap[c]->index) break;
    q->heap[i] = q->heap[c];
    i = c;
  }
  if (n > 0) q->heap[i] = last;
  return top;
}

static void enqueue(pipeline *pl, token *t) {
  stage_state *q = &pl->st[t->stage];
  q->queued++;
  if (in_order(pl, t->stage)) {
    heap_push(q, t);
    return;
  }
  t->next = NULL;
  if (q->tail) q->tail->next = t;
  else q->head = t;
  q->tail = t;
}

/* Any queued token of stage s (for cleanup after a failure). */
static token *dequeue_any(pipeline *pl, size_t s) {
  stage_state *q = &pl->st[s];
  if (q->queued == 0) return NULL;
  q->queued--;
  if (in_order(pl, s)) return heap_pop(q);
  token *t = q->head;
  q->head = t->next;
  if (q->head == NULL) q->tail = NULL;
  return t;
}

/* Can stage s start a call on token t now (t queued or carried)? */
static int can_take(const pipeline *pl, size_t s, const token *t) {
  const stage_state *q = &pl->st[s];
  if (pl->stages[s].mode == NDPAR_STAGE_PARALLEL) return 1;
  if (q->busy) return 0;
  return !in_order(pl, s) || q->expected == t->index;
}

/* The queued token stage s can start now, or NULL. */
static token *peek_runnable(const pipeline *pl, size_t s) {
  const stage_state *q = &pl->st[s];
  if (q->queued == 0) return NULL;
  token *t = in_order(pl, s) ? q->heap[0] : q->head;
  return can_take(pl, s, t) ? t : NULL;
}

static int source_runnable(const pipeline *pl) {
  return !pl->source_done && !pl->stop && !pl->source_busy && pl->live < pl->max_tokens;
}

/* ---- taking work ----------------------------------------------------------------------- */

typedef enum { WORK_NONE, WORK_SOURCE, WORK_STAGE, WORK_CLEANUP } work_kind;

static void start_call(pipeline *pl, token *t) {
  stage_state *q = &pl->st[t->stage];
  if (pl->stages[t->stage].mode != NDPAR_STAGE_PARALLEL) q->busy = 1;
}

static token *take_token(pipeline *pl) {
  token *t = pl->free_tokens;
  pl->free_tokens = t->next;
  pl->live++;
  return t;
}

/* Reserves a token for a source call: the item it may produce is number `produced`. */
static token *take_source(pipeline *pl) {
  token *t = take_token(pl);
  pl->source_busy = 1;
  t->index = pl->produced;
  t->stage = 0;
  t->ghost = 0;
  return t;
}

static void retire(pipeline *pl, token *t) {
  t->next = pl->free_tokens;
  pl->free_tokens = t;
  pl->live--;
}

/* Takes work for a pool thread: after a failure, a queued token to clean (any stage);
 * otherwise the runnable non-blocking stage furthest downstream, then the source. */
static work_kind take_pool_work(pipeline *pl, token **out) {
  for (size_t s = pl->n; s-- > 1;) {
    if (pl->stop) {
      if (pl->st[s].queued == 0) continue;
      *out = dequeue_any(pl, s);
      return WORK_CLEANUP;
    }
    if (blocking(pl, s)) continue;
    token *t = peek_runnable(pl, s);
    if (t == NULL) continue;
    dequeue_any(pl, s); /* the runnable one is the FIFO head or the heap top */
    start_call(pl, t);
    *out = t;
    return WORK_STAGE;
  }
  if (!blocking(pl, 0) && source_runnable(pl)) {
    *out = take_source(pl);
    return WORK_SOURCE;
  }
  return WORK_NONE;
}

static work_kind find_helper_work(pipeline *pl, const helper *h, token **out) {
  if (h->stage == 0) {
    if (!source_runnable(pl)) return WORK_NONE;
    *out = take_source(pl);
    return WORK_SOURCE;
  }
  if (pl->stop) return WORK_NONE; /* the pool's threads clean the queues */
  token *t = peek_runnable(pl, h->stage);
  if (t == NULL) return WORK_NONE;
  dequeue_any(pl, h->stage);
  start_call(pl, t);
  *out = t;
  return WORK_STAGE;
}

static int finished(const pipeline *pl) {
  return (pl->source_done || pl->stop) && !pl->source_busy && pl->live == 0;
}

/* The units of work the pool's threads could start now, counted up to cap. */
static size_t count_pool_work(const pipeline *pl, size_t cap) {
  size_t w = 0;
  for (size_t s = pl->n; s-- > 1 && w < cap;) {
    if (pl->stop) {
      w += pl->st[s].queued; /* cleanup */
      continue;
    }
    if (blocking(pl, s)) continue;
    if (pl->stages[s].mode == NDPAR_STAGE_PARALLEL) w += pl->st[s].queued;
    else w += peek_runnable(pl, s) != NULL;
  }
  if (w < cap && !blocking(pl, 0) && source_runnable(pl)) w++;
  return w;
}

/* Who calls wake (lock held): a pool thread that will search next (it ends a call and does
 * not carry its token on), a pool thread about to run a call, or a helper thread. */
typedef enum { WAKER_SEARCHES, WAKER_BUSY, WAKER_HELPER } waker;

/* Wakes whoever has work waiting for them: a pool thread if the pool has more work than
 * its awake threads outside stage calls (the waker among them if it searches next), each
 * helper whose stage has work; everyone once the run is over. */
static void wake(pipeline *pl, waker who) {
  if (finished(pl)) {
    pthread_cond_broadcast(&pl->cv);
    for (size_t h = 0; h < pl->nhelpers; h++) pthread_cond_signal(&pl->helpers[h].cv);
    return;
  }
  if (pl->waiting > 0) {
    /* The awake pool threads outside stage calls: each searches (under the lock) before it
     * sleeps. A busy waker is one of them until it unlocks, but will not search. */
    size_t searchers = pl->in_loop - pl->waiting - pl->running - (who == WAKER_BUSY);
    if (count_pool_work(pl, searchers + 1) > searchers) pthread_cond_signal(&pl->cv);
  }
  for (size_t h = 0; h < pl->nhelpers; h++) {
    helper *hp = &pl->helpers[h];
    if (!hp->waiting) continue;
    size_t s = hp->stage;
    if (s == 0 ? source_runnable(pl) : (!pl->stop && peek_runnable(pl, s) != NULL))
      pthread_cond_signal(&hp->cv);
  }
}

/* ---- running --------------------------------------------------------------------------- */

static void record_failure(pipeline *pl, size_t stage, size_t item, int status) {
  if (pl->err_status == GSL_SUCCESS || item < pl->err_item) {
    pl->err_status = status;
    pl->err_stage = stage;
    pl->err_item = item;
    /* Forgotten when this thread entered the pool's run: the stage's own failing call. */
    pl->err_info.code = 0;
    if (ndpar_tls_error.code == status) pl->err_info = ndpar_tls_error;
  }
  pl->stop = 1;
}

static void cleanup_item(const pipeline *pl, size_t producer, void *item) {
  const ndpar_stage *s = &pl->stages[producer];
  if (item != NULL && s->cleanup != NULL) s->cleanup(item, s->ctx);
}

/* Calls the source or stage on t, outside the lock. */
static int call_stage(pipeline *pl, token *t, unsigned worker, void **out) {
  const ndpar_stage *s = &pl->stages[t->stage];
  *out = NULL;
  if (t->ghost) return GSL_SUCCESS;
  ndpar_task task = {t->index, worker, NULL};
  return s->fn(t->stage == 0 ? NULL : t->item, out, &task, s->ctx);
}

/* After a call on t (lock held): moves t on, or frees it. Returns t if the caller may run
 * its next stage at once (carry), else NULL. *clean is set to an item to hand to
 * stage *clean_stage's cleanup once the lock is released. */
static token *finish_call(pipeline *pl, token *t, int status, void *out, int carry,
                          void **clean, size_t *clean_stage) {
  size_t s = t->stage;
  *clean = NULL;
  if (s == 0) {
    pl->source_busy = 0;
  } else if (pl->stages[s].mode != NDPAR_STAGE_PARALLEL) {
    pl->st[s].busy = 0;
    if (in_order(pl, s)) pl->st[s].expected++;
  }
  if (status != GSL_SUCCESS) {
    record_failure(pl, s, t->index, status);
    if (s > 0) {
      *clean = t->item;
      *clean_stage = s - 1;
    }
    retire(pl, t);
    return NULL;
  }
  if (s == 0) {
    if (out == NULL) {
      pl->source_done = 1;
      retire(pl, t);
      return NULL;
    }
    pl->produced++;
  }
  if (s + 1 == pl->n) { /* consumed */
    retire(pl, t);
    return NULL;
  }
  if (s > 0 && out == NULL) t->ghost = 1;
  t->item = out;
  t->stage = s + 1;
  if (pl->stop) { /* hand on to nobody: clean what this stage produced */
    *clean = t->ghost ? NULL : out;
    *clean_stage = s;
    retire(pl, t);
    return NULL;
  }
  if (carry && !blocking(pl, t->stage) && can_take(pl, t->stage, t)) {
    start_call(pl, t);
    return t;
  }
  enqueue(pl, t);
  return NULL;
}

/* Runs t's stage calls until it must queue, then returns with the lock held. pool: the
 * caller is one of the pool's threads (else a helper, which does not carry). */
static void run_token(pipeline *pl, token *t, unsigned worker, int pool) {
  while (t != NULL) {
    pl->running += pool;
    pthread_mutex_unlock(&pl->lock);
    void *out;
    int status = call_stage(pl, t, worker, &out);
    pthread_mutex_lock(&pl->lock);
    pl->running -= pool;
    void *clean;
    size_t clean_stage;
    t = finish_call(pl, t, status, out, pool, &clean, &clean_stage);
    if (clean != NULL) {
      pthread_mutex_unlock(&pl->lock);
      cleanup_item(pl, clean_stage, clean);
      pthread_mutex_lock(&pl->lock);
    }
    wake(pl, !pool ? WAKER_HELPER : t != NULL ? WAKER_BUSY : WAKER_SEARCHES);
  }
}

/* Cleans queued token t (the stage before t->stage produced it), lock held. */
static void clean_token(pipeline *pl, token *t) {
  void *item = t->ghost ? NULL : t->item;
  size_t producer = t->stage - 1;
  retire(pl, t);
  pthread_mutex_unlock(&pl->lock);
  cleanup_item(pl, producer, item);
  pthread_mutex_lock(&pl->lock);
  wake(pl, WAKER_SEARCHES);
}

/* One pool task: take work until the run is over. */
static int pool_loop(const ndpar_task *task, void *ctx) {
  pipeline *pl = ctx;
  pthread_mutex_lock(&pl->lock);
  pl->in_loop++;
  while (!finished(pl)) {
    token *t = NULL;
    work_kind k = take_pool_work(pl, &t);
    if (k == WORK_NONE) {
      pl->waiting++;
      pthread_cond_wait(&pl->cv, &pl->lock);
      pl->waiting--;
      continue;
    }
    wake(pl, WAKER_BUSY); /* more work than this thread takes: pass the word on */
    if (k == WORK_CLEANUP)
      clean_token(pl, t);
    else
      run_token(pl, t, task->worker, 1);
  }
  pl->in_loop--;
  pthread_mutex_unlock(&pl->lock);
  return GSL_SUCCESS;
}

static int helper_loop(const ndpar_task *task, void *ctx) {
  (void)task;
  helper *h = ctx;
  pipeline *pl = h->pl;
  pthread_mutex_lock(&pl->lock);
  while (!finished(pl)) {
    token *t = NULL;
    if (find_helper_work(pl, h, &t) == WORK_NONE) {
      h->waiting = 1;
      pthread_cond_wait(&h->cv, &pl->lock);
      h->waiting = 0;
      continue;
    }
    run_token(pl, t, h->worker, 0);
  }
  pthread_mutex_unlock(&pl->lock);
  return GSL_SUCCESS;
}

static void *helper_main(void *arg) {
  helper *h = arg;
  ndpar_tls_quiet = 1; /* a thread ndpar started never calls the GSL error handler */
  ndpar_pool_run(h->solo, 1, helper_loop, h);
  return NULL;
}

/* ---- setup ----------------------------------------------------------------------------- */

static size_t count_blocking(const ndpar_stage *stages, size_t n) {
  size_t b = 0;
  for (size_t s = 0; s < n; s++) b += (stages[s].flags & NDPAR_STAGE_BLOCKING) != 0;
  return b;
}

static int check_args(size_t max_tokens, const ndpar_stage *stages, size_t n) {
  NDPAR_REQUIRE(stages != NULL, "pipeline_run: stages is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(n >= 2, "pipeline_run: n must be 0 or at least 2 (a source and a stage)", GSL_EINVAL);
  NDPAR_REQUIRE(max_tokens >= 1, "pipeline_run: max_tokens must be at least 1", GSL_EINVAL);
  NDPAR_REQUIRE(max_tokens <= NDPAR_PIPELINE_MAX_TOKENS,
                "pipeline_run: max_tokens is larger than NDPAR_PIPELINE_MAX_TOKENS", GSL_EINVAL);
  NDPAR_REQUIRE(n <= SIZE_MAX / (sizeof(stage_state) + sizeof(helper)),
                "pipeline_run: n is too large", GSL_EINVAL);
  for (size_t s = 0; s < n; s++) {
    const ndpar_stage *st = &stages[s];
    if (st->fn == NULL) NDPAR_ERROR_FMT(GSL_EFAULT, "pipeline_run: stages[%zu].fn is NULL", s);
    if (st->mode != NDPAR_STAGE_PARALLEL && st->mode != NDPAR_STAGE_SERIAL_IN_ORDER &&
        st->mode != NDPAR_STAGE_SERIAL_OUT_OF_ORDER)
      NDPAR_ERROR_FMT(GSL_EINVAL, "pipeline_run: stages[%zu].mode is not an ndpar_stage_mode", s);
    if (st->flags & ~NDPAR_STAGE_BLOCKING)
      NDPAR_ERROR_FMT(GSL_EINVAL, "pipeline_run: stages[%zu].flags has unknown bits", s);
    if (st->mode == NDPAR_STAGE_PARALLEL && s == 0)
      GSL_ERROR("pipeline_run: stages[0].mode (the source) must be serial", GSL_EINVAL);
    if (st->mode == NDPAR_STAGE_PARALLEL && (st->flags & NDPAR_STAGE_BLOCKING))
      NDPAR_ERROR_FMT(GSL_EINVAL, "pipeline_run: stages[%zu] is PARALLEL and BLOCKING", s);
  }
  return GSL_SUCCESS;
}

static void pipeline_free(pipeline *pl) {
  for (size_t h = 0; h < pl->nhelpers; h++) {
    pthread_cond_destroy(&pl->helpers[h].cv);
    ndpar_pool_free(pl->helpers[h].solo);
  }
  free(pl->helpers);
  if (pl->st)
    for (size_t s = 0; s < pl->n; s++) free(pl->st[s].heap);
  free(pl->st);
  free(pl->tokens);
  pthread_cond_destroy(&pl->cv);
  pthread_mutex_destroy(&pl->lock);
}

/* Allocates the run's state (calling thread; GSL errors). */
static int pipeline_init(pipeline *pl, ndpar_pool *p, size_t max_tokens,
                         const ndpar_stage *stages, size_t n) {
  memset(pl, 0, sizeof *pl);
  pl->stages = stages;
  pl->n = n;
  pl->max_tokens = max_tokens;
  pl->err_stage = n;
  /* Adaptive: critical sections are a few dozen instructions, so a contended lock is
   * better spun on briefly than slept on (a futex round trip costs microseconds). */
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
  pthread_mutex_init(&pl->lock, &attr);
  pthread_mutexattr_destroy(&attr);
  pthread_cond_init(&pl->cv, NULL);
  pl->nhelpers = count_blocking(stages, n);
  pl->tokens = calloc(max_tokens, sizeof *pl->tokens);
  pl->st = calloc(n, sizeof *pl->st);
  pl->helpers = calloc(pl->nhelpers ? pl->nhelpers : 1, sizeof *pl->helpers);
  int ok = pl->tokens && pl->st && pl->helpers;
  for (size_t s = 0; ok && s < n; s++)
    if (stages[s].mode == NDPAR_STAGE_SERIAL_IN_ORDER && s > 0)
      ok = (pl->st[s].heap = malloc(max_tokens * sizeof(token *))) != NULL;
  if (!ok) {
    pl->nhelpers = 0;
    pipeline_free(pl);
    GSL_ERROR("pipeline_run: out of memory", GSL_ENOMEM);
  }
  for (size_t i = 0; i < max_tokens; i++) pl->tokens[i].next = i + 1 < max_tokens ? &pl->tokens[i + 1] : NULL;
  pl->free_tokens = pl->tokens;

  ndpar_pool_config solo_cfg;
  ndpar_pool_config_init(&solo_cfg);
  solo_cfg.threads = 1;
  solo_cfg.bind = NDPAR_BIND_NONE;
  size_t threads = ndpar_pool_threads(p), made = 0;
  for (size_t s = 0; s < n; s++) {
    if (!(stages[s].flags & NDPAR_STAGE_BLOCKING)) continue;
    helper *h = &pl->helpers[made];
    h->stage = s;
    h->worker = (unsigned)(threads + made);
    h->pl = pl;
    pthread_cond_init(&h->cv, NULL);
    made++;
    if ((h->solo = ndpar_pool_alloc(&solo_cfg)) == NULL) {
      pl->nhelpers = made;
      pipeline_free(pl);
      return GSL_ENOMEM;
    }
  }
  return GSL_SUCCESS;
}

/* Starts the helpers and returns how many started. Helpers block every signal, as the
 * pool's workers do: the application's handlers run on its own threads. If one cannot
 * start, the run is stopped before it begins: the pool's threads then hand whatever the
 * started helpers produced to its cleanup, as after a failure. */
static size_t start_helpers(pipeline *pl) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  size_t h = 0;
  while (h < pl->nhelpers && pthread_create(&pl->helpers[h].tid, NULL, helper_main, &pl->helpers[h]) == 0)
    h++;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (h < pl->nhelpers) {
    pthread_mutex_lock(&pl->lock);
    pl->stop = 1;
    wake(pl, WAKER_HELPER); /* the calling thread, before the pool's run */
    pthread_mutex_unlock(&pl->lock);
  }
  return h;
}

/* The calling thread's last error after a failed run: the stage and item, and what the
 * stage's failing ndpar call said (the pool's note names its own task, not the stage). */
static void note_stage_failure(const pipeline *pl) {
  const ndpar_error_info *e = &pl->err_info;
  if (e->code)
    ndpar_error_note(pl->err_status, e->file, e->line, "pipeline_run: stage %zu failed on item %zu: %s",
                     pl->err_stage, pl->err_item, e->message);
  else
    ndpar_error_note(pl->err_status, __FILE__, __LINE__,
                     "pipeline_run: stage %zu failed on item %zu: it returned %d (%s)",
                     pl->err_stage, pl->err_item, pl->err_status, gsl_strerror(pl->err_status));
}

int ndpar_pipeline_run(ndpar_pool *p, size_t max_tokens, const ndpar_stage *stages, size_t n,
                       ndpar_pipeline_status *status) {
  if (n == 0) { /* no stages: a successful no-op, as every run over nothing */
    if (status) *status = (ndpar_pipeline_status){0, 0, 0};
    return GSL_SUCCESS;
  }
  int rc = check_args(max_tokens, stages, n);
  if (rc != GSL_SUCCESS) return rc;
  if (p == NULL && (p = ndpar_pool_default()) == NULL) return GSL_EFAILED;
  pipeline pl;
  if ((rc = pipeline_init(&pl, p, max_tokens, stages, n)) != GSL_SUCCESS) return rc;
  size_t started = start_helpers(&pl);
  ndpar_pool_run(p, ndpar_pool_threads(p), pool_loop, &pl);
  for (size_t h = 0; h < started; h++) pthread_join(pl.helpers[h].tid, NULL);
  if (started < pl.nhelpers) {
    pipeline_free(&pl);
    GSL_ERROR("pipeline_run: cannot start a helper thread for a blocking stage", GSL_EFAILED);
  }
  if (status) {
    status->items = pl.produced;
    status->failed_stage = pl.err_status ? pl.err_stage : n;
    status->failed_item = pl.err_status ? pl.err_item : pl.produced;
  }
  rc = pl.err_status;
  if (rc) note_stage_failure(&pl);
  pipeline_free(&pl);
  return rc;
}

size_t ndpar_pipeline_workers(const ndpar_pool *p, const ndpar_stage *stages, size_t n) {
  return ndpar_pool_threads(p) + (stages ? count_blocking(stages, n) : 0);
}
