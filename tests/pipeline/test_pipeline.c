/* Tests of the pipeline: order, concurrency, the token limit, failures and cleanup,
 * dropping, nesting, blocking stages, idling and bad arguments. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ndpar/ndpar_pipeline.h"
#include "test_util.h"

/* ---- a pipeline over numbered items ----------------------------------------------------
 * The source makes items 0 .. nitems-1 (malloc'd, so a leak shows under ASan); the
 * middle stages each add a known function of the number; the sink checks the value, the
 * order where it must hold, and frees. Counters say who saw what. */

#define MAX_STAGES 6

typedef struct {
  size_t number;
  double value;
  unsigned seen; /* bit s: stage s processed it */
} item;

typedef struct run run;
typedef struct {
  run *r;
  size_t s;
} stage_ctx;

struct run {
  size_t nitems, nstages, workers, threads;
  size_t fail_stage, fail_item; /* fail_stage == nstages: no failure */
  int fail_code;
  size_t drop_odd_at;           /* this stage drops odd items (0: none) */
  ndpar_stage stages[MAX_STAGES];
  stage_ctx sctx[MAX_STAGES];
  atomic_size_t live, max_live;            /* items alive: made and not consumed/cleaned */
  atomic_size_t made, consumed, cleaned[MAX_STAGES];
  atomic_size_t inside[MAX_STAGES], max_inside[MAX_STAGES];
  atomic_size_t next_in_order[MAX_STAGES]; /* serial in-order stages: the next number */
  atomic_int bad;                          /* a property failed in a stage (see why) */
  const char *why;
  atomic_uchar *consumed_flag, *cleaned_flag;
  int wait_for_company;                    /* PARALLEL stages wait to see another call */
  atomic_int saw_company;
};

static void flag_bad(run *r, const char *why) {
  if (!atomic_exchange(&r->bad, 1)) r->why = why;
}

/* The test's seed (fresh per process), read once on the main thread by run_alloc. */
static unsigned long seed;

/* What stage s adds to item `number`: drawn from the seed. */
static double stage_term(size_t s, size_t number) {
  return (double)(ndpar_stream_seed(seed + s, number) % 1000000) * 1e-3;
}

/* A random amount of work (0 to ~20 us) from the seed, so that a PARALLEL stage finishes
 * items out of order and the in-order stages after it must put them back in order. */
static void random_work(size_t s, size_t number) {
  volatile unsigned sink = 0;
  for (unsigned k = ndpar_stream_seed(seed ^ 0x5eed, s * 1000003 + number) % 20000; k; k--) sink += k;
}

static void note_live(run *r, size_t delta_plus) {
  size_t now = atomic_fetch_add(&r->live, delta_plus) + delta_plus;
  size_t m = atomic_load(&r->max_live);
  while (now > m && !atomic_compare_exchange_weak(&r->max_live, &m, now)) {}
}

/* A blocking stage runs on a helper (slot >= threads), the others on the pool's threads. */
static void check_worker(run *r, size_t s, const ndpar_task *t) {
  if (t->worker >= r->workers) flag_bad(r, "worker id out of range");
  int on_helper = t->worker >= r->threads;
  if (on_helper != ((r->stages[s].flags & NDPAR_STAGE_BLOCKING) != 0))
    flag_bad(r, "a blocking stage ran on a pool thread, or another stage on a helper");
}

static void enter(run *r, size_t s) {
  size_t now = atomic_fetch_add(&r->inside[s], 1) + 1;
  size_t m = atomic_load(&r->max_inside[s]);
  while (now > m && !atomic_compare_exchange_weak(&r->max_inside[s], &m, now)) {}
  if (r->stages[s].mode != NDPAR_STAGE_PARALLEL && now > 1) flag_bad(r, "a serial stage ran twice at once");
}

/* Waits (up to 2 s, sleeping) until another call of stage s is running too. */
static void wait_for_company(run *r, size_t s) {
  for (int k = 0; k < 2000 && !atomic_load(&r->saw_company); k++) {
    if (atomic_load(&r->inside[s]) >= 2) atomic_store(&r->saw_company, 1);
    else nanosleep(&(struct timespec){0, 1000000}, NULL);
  }
}

static void check_order(run *r, size_t s, size_t number) {
  if (r->stages[s].mode != NDPAR_STAGE_SERIAL_IN_ORDER) return;
  size_t expect = atomic_load(&r->next_in_order[s]);
  /* Dropped (odd) items never reach the stages after the dropping one. */
  if (r->drop_odd_at && s > r->drop_odd_at && expect % 2) expect++;
  if (number != expect) flag_bad(r, "an in-order stage saw an item out of order");
  atomic_store(&r->next_in_order[s], number + 1);
}

static void free_item(run *r, item *it, size_t producer) {
  atomic_fetch_add(&r->cleaned[producer], 1);
  if (atomic_fetch_add(&r->cleaned_flag[it->number], 1) || atomic_load(&r->consumed_flag[it->number]))
    flag_bad(r, "an item was cleaned twice or cleaned and consumed");
  atomic_fetch_sub(&r->live, 1);
  free(it);
}

static void cleanup(void *vitem, void *vctx) {
  stage_ctx *c = vctx;
  item *it = vitem;
  if (it->seen != (2u << c->s) - 1) flag_bad(c->r, "cleanup of a stage got another stage's item");
  free_item(c->r, it, c->s);
}

static int source(void *in, void **out, const ndpar_task *t, void *vctx) {
  stage_ctx *c = vctx;
  run *r = c->r;
  enter(r, 0);
  if (in != NULL) flag_bad(r, "the source got an item");
  check_worker(r, 0, t);
  if (t->index != atomic_load(&r->made)) flag_bad(r, "the source's index is not the item number");
  int rc = 0;
  if (r->fail_stage == 0 && t->index == r->fail_item) {
    rc = r->fail_code;
  } else if (t->index < r->nitems) {
    item *it = malloc(sizeof *it);
    it->number = t->index;
    it->value = 0;
    it->seen = 1;
    atomic_fetch_add(&r->made, 1);
    note_live(r, 1);
    *out = it;
  } else {
    *out = NULL;
  }
  atomic_fetch_sub(&r->inside[0], 1);
  return rc;
}

static int middle(void *in, void **out, const ndpar_task *t, void *vctx) {
  stage_ctx *c = vctx;
  run *r = c->r;
  size_t s = c->s;
  item *it = in;
  enter(r, s);
  if (t->index != it->number) flag_bad(r, "t->index is not the item's number");
  check_worker(r, s, t);
  if (it->seen != (1u << s) - 1) flag_bad(r, "an item skipped a stage");
  check_order(r, s, it->number);
  if (r->wait_for_company && r->stages[s].mode == NDPAR_STAGE_PARALLEL) wait_for_company(r, s);
  if (r->stages[s].mode == NDPAR_STAGE_PARALLEL) random_work(s, it->number);
  int rc = 0;
  if (r->fail_stage == s && it->number == r->fail_item) {
    rc = r->fail_code; /* leaves the item as it was */
  } else if (r->drop_odd_at == s && it->number % 2) {
    atomic_fetch_sub(&r->live, 1); /* dropped: this stage frees it */
    free(it);
    *out = NULL;
  } else {
    it->value += stage_term(s, it->number);
    it->seen |= 1u << s;
    *out = it;
  }
  atomic_fetch_sub(&r->inside[s], 1);
  return rc;
}

static int sink(void *in, void **out, const ndpar_task *t, void *vctx) {
  stage_ctx *c = vctx;
  run *r = c->r;
  size_t s = c->s;
  item *it = in;
  (void)out;
  enter(r, s);
  if (t->index != it->number) flag_bad(r, "t->index is not the item's number");
  check_worker(r, s, t);
  check_order(r, s, it->number);
  int rc = 0;
  if (r->fail_stage == s && it->number == r->fail_item) {
    rc = r->fail_code;
  } else {
    double want = 0;
    for (size_t k = 1; k < s; k++) want += stage_term(k, it->number);
    if (it->value != want || it->seen != (1u << s) - 1) flag_bad(r, "an item's value is wrong");
    atomic_fetch_add(&r->consumed_flag[it->number], 1);
    atomic_fetch_add(&r->consumed, 1);
    atomic_fetch_sub(&r->live, 1);
    free(it);
  }
  atomic_fetch_sub(&r->inside[s], 1);
  return rc;
}

/* A run over `modes` (stage 0 is the source, the last the sink). */
static run *run_alloc(const ndpar_stage_mode *modes, size_t nstages, size_t nitems) {
  run *r = calloc(1, sizeof *r);
  seed = test_seed();
  r->nitems = nitems;
  r->nstages = nstages;
  r->fail_stage = nstages;
  r->consumed_flag = calloc(nitems + 1, 1);
  r->cleaned_flag = calloc(nitems + 1, 1);
  for (size_t s = 0; s < nstages; s++) {
    r->sctx[s] = (stage_ctx){r, s};
    r->stages[s] = (ndpar_stage){modes[s], s == 0 ? source : s + 1 == nstages ? sink : middle,
                                 cleanup, &r->sctx[s], 0};
  }
  return r;
}

static void run_free(run *r) {
  free(r->consumed_flag);
  free(r->cleaned_flag);
  free(r);
}

static int run_on(run *r, ndpar_pool *p, size_t max_tokens, ndpar_pipeline_status *st) {
  r->workers = ndpar_pipeline_workers(p, r->stages, r->nstages);
  r->threads = ndpar_pool_threads(p);
  return ndpar_pipeline_run(p, max_tokens, r->stages, r->nstages, st);
}

static size_t total_cleaned(run *r) {
  size_t c = 0;
  for (size_t s = 0; s < r->nstages; s++) c += atomic_load(&r->cleaned[s]);
  return c;
}

static const ndpar_stage_mode MIXED[] = {NDPAR_STAGE_SERIAL_IN_ORDER, NDPAR_STAGE_PARALLEL,
                                         NDPAR_STAGE_SERIAL_OUT_OF_ORDER, NDPAR_STAGE_PARALLEL,
                                         NDPAR_STAGE_SERIAL_IN_ORDER};

/* ---- order, values, the token limit --------------------------------------------------- */

static void check_clean_run(size_t threads, size_t nitems, size_t max_tokens) {
  ndpar_pool *p = test_pool_of(threads);
  run *r = run_alloc(MIXED, 5, nitems);
  ndpar_pipeline_status st = {99, 99, 99};
  int rc = run_on(r, p, max_tokens, &st);
  cr_assert_eq(rc, GSL_SUCCESS, "threads %zu items %zu tokens %zu", threads, nitems, max_tokens);
  cr_assert_not(atomic_load(&r->bad), "%s (threads %zu items %zu tokens %zu)", r->why, threads,
                nitems, max_tokens);
  cr_assert_eq(st.items, nitems);
  cr_assert_eq(st.failed_stage, 5);
  cr_assert_eq(st.failed_item, nitems);
  cr_assert_eq(atomic_load(&r->consumed), nitems);
  cr_assert_eq(total_cleaned(r), 0);
  cr_assert_eq(atomic_load(&r->live), 0);
  cr_assert_leq(atomic_load(&r->max_live), max_tokens, "live items %zu > max_tokens %zu",
                atomic_load(&r->max_live), max_tokens);
  for (size_t i = 0; i < nitems; i++) cr_assert_eq(atomic_load(&r->consumed_flag[i]), 1);
  run_free(r);
  ndpar_pool_free(p);
}

Test(pipeline_run, every_item_in_order_through_every_stage) {
  size_t tmax = test_max_threads();
  for (size_t threads = 1; threads <= tmax; threads++) {
    size_t sizes[] = {0, 1, threads - 1, threads, threads + 1, 1000};
    size_t tokens[] = {1, 2, threads, 4 * threads};
    for (size_t a = 0; a < sizeof sizes / sizeof *sizes; a++)
      for (size_t b = 0; b < sizeof tokens / sizeof *tokens; b++)
        check_clean_run(threads, sizes[a], tokens[b]);
  }
}

Test(pipeline_run, default_pool_and_null_status) {
  run *r = run_alloc(MIXED, 5, 100);
  cr_assert_eq(run_on(r, NULL, 8, NULL), GSL_SUCCESS);
  cr_assert_not(atomic_load(&r->bad), "%s", r->why);
  cr_assert_eq(atomic_load(&r->consumed), 100);
  run_free(r);
}

Test(pipeline_run, the_token_limit_is_reached_and_never_exceeded) {
  /* A slow in-order sink lets the source run ahead: live items climb to max_tokens. */
  size_t threads = test_max_threads();
  ndpar_pool *p = test_pool_of(threads);
  for (size_t max_tokens = 1; max_tokens <= 9; max_tokens += 4) {
    static const ndpar_stage_mode m[] = {NDPAR_STAGE_SERIAL_IN_ORDER, NDPAR_STAGE_PARALLEL,
                                         NDPAR_STAGE_SERIAL_IN_ORDER};
    run *r = run_alloc(m, 3, 300);
    r->wait_for_company = threads >= 2 && max_tokens >= 2;
    cr_assert_eq(run_on(r, p, max_tokens, NULL), GSL_SUCCESS);
    cr_assert_not(atomic_load(&r->bad), "%s", r->why);
    cr_assert_leq(atomic_load(&r->max_live), max_tokens);
    cr_assert_geq(atomic_load(&r->max_live), max_tokens == 1 ? 1 : 2);
    run_free(r);
  }
  ndpar_pool_free(p);
}

Test(pipeline_run, a_parallel_stage_runs_items_at_once) {
  size_t threads = test_max_threads();
  ndpar_pool *p = test_pool_of(threads);
  static const ndpar_stage_mode m[] = {NDPAR_STAGE_SERIAL_IN_ORDER, NDPAR_STAGE_PARALLEL,
                                       NDPAR_STAGE_SERIAL_IN_ORDER};
  run *r = run_alloc(m, 3, 64);
  r->wait_for_company = 1;
  cr_assert_eq(run_on(r, p, 2 * threads, NULL), GSL_SUCCESS);
  cr_assert_not(atomic_load(&r->bad), "%s", r->why);
  cr_assert(atomic_load(&r->saw_company), "no two PARALLEL calls ever overlapped");
  cr_assert_geq(atomic_load(&r->max_inside[1]), 2);
  cr_assert_eq(atomic_load(&r->max_inside[0]), 1);
  cr_assert_eq(atomic_load(&r->max_inside[2]), 1);
  run_free(r);
  ndpar_pool_free(p);
}

Test(pipeline_run, max_tokens_one_runs_items_one_after_another) {
  ndpar_pool *p = test_pool_of(test_max_threads());
  run *r = run_alloc(MIXED, 5, 200);
  cr_assert_eq(run_on(r, p, 1, NULL), GSL_SUCCESS);
  cr_assert_not(atomic_load(&r->bad), "%s", r->why);
  cr_assert_eq(atomic_load(&r->max_live), 1);
  for (size_t s = 0; s < 5; s++) cr_assert_eq(atomic_load(&r->max_inside[s]), 1);
  run_free(r);
  ndpar_pool_free(p);
}

Test(pipeline_run, dropped_items_skip_the_later_stages_and_keep_the_order) {
  ndpar_pool *p = test_pool_of(test_max_threads());
  for (size_t at = 1; at <= 3; at++) {
    run *r = run_alloc(MIXED, 5, 501);
    r->drop_odd_at = at;
    ndpar_pipeline_status st;
    cr_assert_eq(run_on(r, p, 6, &st), GSL_SUCCESS);
    cr_assert_not(atomic_load(&r->bad), "%s (drop at %zu)", r->why, at);
    cr_assert_eq(st.items, 501);
    cr_assert_eq(atomic_load(&r->consumed), 251);
    for (size_t i = 0; i < 501; i++) cr_assert_eq(atomic_load(&r->consumed_flag[i]), i % 2 == 0);
    cr_assert_eq(atomic_load(&r->live), 0);
    run_free(r);
  }
  ndpar_pool_free(p);
}

/* ---- failures and cleanup ---------------------------------------------------------------- */

/* Stage shapes for the failure tests: between them every mode in every position (source,
 * middle, sink), serial stages with and without BLOCKING. bit s of `blocking` flags stage s. */
typedef struct {
  const ndpar_stage_mode *modes;
  unsigned blocking;
} shape;

static const ndpar_stage_mode OTHER[] = {NDPAR_STAGE_SERIAL_OUT_OF_ORDER, NDPAR_STAGE_SERIAL_IN_ORDER,
                                         NDPAR_STAGE_PARALLEL, NDPAR_STAGE_SERIAL_IN_ORDER,
                                         NDPAR_STAGE_PARALLEL};
static const shape SHAPES[] = {{MIXED, 0}, {MIXED, 0x15}, {OTHER, 0}, {OTHER, 0x0b}};
#define NSHAPES (sizeof SHAPES / sizeof *SHAPES)

static void check_failure(size_t shp, size_t threads, size_t max_tokens, size_t s, size_t k,
                          size_t nitems) {
  ndpar_pool *p = test_pool_of(threads);
  const shape *sh = &SHAPES[shp];
  run *r = run_alloc(sh->modes, 5, nitems);
  for (size_t j = 0; j < 5; j++)
    if (sh->blocking & (1u << j)) r->stages[j].flags = NDPAR_STAGE_BLOCKING;
  r->fail_stage = s;
  r->fail_item = k;
  r->fail_code = GSL_EDOM;
  ndpar_pipeline_status st = {0, 0, 0};
  int rc = run_on(r, p, max_tokens, &st);
#define WHAT "shape %zu threads %zu tokens %zu stage %zu item %zu", shp, threads, max_tokens, s, k
  cr_assert_eq(rc, GSL_EDOM, WHAT);
  cr_assert_not(atomic_load(&r->bad), "%s (shape %zu stage %zu item %zu)", r->why, shp, s, k);
  cr_assert_eq(st.failed_stage, s, WHAT);
  cr_assert_eq(st.failed_item, k, WHAT);
  size_t made = atomic_load(&r->made), consumed = atomic_load(&r->consumed);
  cr_assert_eq(st.items, made);
  /* Every item made is consumed or cleaned, exactly once (the flags): no leak. An in-order
   * stage after the failing one never sees an item past the failing one (check_order). */
  cr_assert_eq(made, consumed + total_cleaned(r), WHAT);
  cr_assert_eq(atomic_load(&r->live), 0);
  for (size_t i = 0; i < made; i++)
    cr_assert_eq(atomic_load(&r->consumed_flag[i]) + atomic_load(&r->cleaned_flag[i]), 1, WHAT);
  /* An in-order sink consumed a prefix, ending before the failing item. */
  if (sh->modes[4] == NDPAR_STAGE_SERIAL_IN_ORDER) {
    for (size_t i = 0; i < made; i++)
      cr_assert_eq(atomic_load(&r->consumed_flag[i]), i < consumed, WHAT);
    cr_assert_leq(consumed, k);
  }
  cr_assert_eq(atomic_load(&r->consumed_flag[k]), 0, "the failing item was consumed");
  if (s > 0) cr_assert_geq(atomic_load(&r->cleaned[s - 1]), 1, "the failing item is cleaned");
  if (s > 0) cr_assert_eq(atomic_load(&r->cleaned_flag[k]), 1, "the failing item is cleaned");
  if (max_tokens == 1) { /* one item at a time: everything is exact */
    cr_assert_eq(consumed, k, WHAT);
    cr_assert_eq(made, s == 0 ? k : k + 1, WHAT);
    cr_assert_eq(total_cleaned(r), s == 0 ? 0 : 1, WHAT);
    if (s > 0) cr_assert_eq(atomic_load(&r->cleaned[s - 1]), 1, WHAT);
  }
  cr_assert_leq(atomic_load(&r->max_live), max_tokens);
  run_free(r);
  ndpar_pool_free(p);
#undef WHAT
}

Test(pipeline_errors, failure_in_each_stage_at_the_first_a_middle_and_the_last_item, .timeout = 120) {
  size_t nitems = 40, tmax = test_max_threads();
  size_t items[] = {0, nitems / 2, nitems - 1};
  size_t threads[] = {1, 2, tmax};
  size_t tokens[] = {1, 3, 16};
  for (size_t h = 0; h < NSHAPES; h++)
    for (size_t a = 0; a < 3; a++)
      for (size_t b = 0; b < 3; b++)
        for (size_t s = 0; s < 5; s++)
          for (size_t i = 0; i < 3; i++) check_failure(h, threads[a], tokens[b], s, items[i], nitems);
}

/* Several items fail: the status reported is that of the lowest failing number, and it is
 * one that did fail (the code encodes the item). */
typedef struct {
  atomic_size_t failed_mask;
} multi_ctx;

static int multi_source(void *in, void **out, const ndpar_task *t, void *ctx) {
  (void)in, (void)ctx;
  *out = t->index < 200 ? (void *)(t->index + 1) : NULL;
  return 0;
}

static int multi_fail(void *in, void **out, const ndpar_task *t, void *vctx) {
  multi_ctx *c = vctx;
  size_t i = (size_t)in - 1;
  if (i != t->index) return GSL_EBADFUNC;
  if (i >= 20 && i % 10 == 0) {
    atomic_fetch_or(&c->failed_mask, (size_t)1 << (i / 10));
    return 1000 + (int)i;
  }
  *out = in;
  return 0;
}

static int multi_sink(void *in, void **out, const ndpar_task *t, void *ctx) {
  (void)in, (void)out, (void)t, (void)ctx;
  return 0;
}

Test(pipeline_errors, several_failures_report_the_lowest_that_failed) {
  for (size_t threads = 1; threads <= test_max_threads(); threads++) {
    ndpar_pool *p = test_pool_of(threads);
    multi_ctx c = {0};
    ndpar_stage st[] = {{NDPAR_STAGE_SERIAL_IN_ORDER, multi_source, NULL, NULL, 0},
                        {NDPAR_STAGE_PARALLEL, multi_fail, NULL, &c, 0},
                        {NDPAR_STAGE_SERIAL_IN_ORDER, multi_sink, NULL, NULL, 0}};
    ndpar_pipeline_status s;
    int rc = ndpar_pipeline_run(p, 32, st, 3, &s);
    cr_assert_eq(s.failed_stage, 1);
    cr_assert_eq(rc, 1000 + (int)s.failed_item);
    size_t mask = atomic_load(&c.failed_mask);
    cr_assert(mask & ((size_t)1 << (s.failed_item / 10)));
    cr_assert_eq(mask & (((size_t)1 << (s.failed_item / 10)) - 1), 0, "a lower failure was lost");
    ndpar_pool_free(p);
  }
}

/* ---- nesting ----------------------------------------------------------------------------- */

typedef struct {
  ndpar_pool *pool;
  atomic_int bad;
} nest_ctx;

/* Set on the thread running a nested call: its tasks must run on that same thread (inline:
 * no thread of the pool is woken, so nothing is oversubscribed). */
static _Thread_local int in_nested_call;

static int square_task(const ndpar_task *t, void *ctx) {
  double *v = ctx;
  v[t->index] = in_nested_call ? (double)t->index * (double)t->index : -1; /* -1: another thread */
  return 0;
}

/* Each item is a vector of 64 doubles filled by a nested pool run on the same pool. */
static int nest_source(void *in, void **out, const ndpar_task *t, void *ctx) {
  (void)in, (void)ctx;
  *out = t->index < 100 ? calloc(64, sizeof(double)) : NULL;
  return 0;
}

static int nest_parallel(void *in, void **out, const ndpar_task *t, void *vctx) {
  nest_ctx *c = vctx;
  (void)t;
  in_nested_call = 1;
  if (ndpar_pool_run(c->pool, 64, square_task, in) != 0) atomic_store(&c->bad, 1);
  in_nested_call = 0;
  *out = in;
  return 0;
}

static int nest_sink(void *in, void **out, const ndpar_task *t, void *vctx) {
  nest_ctx *c = vctx;
  double *v = in;
  (void)out, (void)t;
  for (size_t i = 0; i < 64; i++)
    if (v[i] != (double)(i * i)) atomic_store(&c->bad, 1);
  free(in);
  return 0;
}

static void free_vector(void *v, void *ctx) {
  (void)ctx;
  free(v);
}

static void run_nested_pipeline(ndpar_pool *p, nest_ctx *c, unsigned flags) {
  ndpar_stage st[] = {{NDPAR_STAGE_SERIAL_IN_ORDER, nest_source, free_vector, NULL, flags},
                      {NDPAR_STAGE_PARALLEL, nest_parallel, free_vector, c, 0},
                      {NDPAR_STAGE_SERIAL_IN_ORDER, nest_sink, NULL, c, flags}};
  ndpar_pipeline_status s;
  if (ndpar_pipeline_run(p, 8, st, 3, &s) != 0 || s.items != 100) atomic_store(&c->bad, 1);
}

Test(pipeline_nesting, a_parallel_stage_calls_the_same_pool, .timeout = 60) {
  for (size_t threads = 1; threads <= test_max_threads(); threads++) {
    ndpar_pool *p = test_pool_of(threads);
    nest_ctx c = {p, 0};
    run_nested_pipeline(p, &c, 0);
    run_nested_pipeline(p, &c, NDPAR_STAGE_BLOCKING);
    cr_assert_not(atomic_load(&c.bad), "threads %zu", threads);
    ndpar_pool_free(p);
  }
}

static int pipeline_task(const ndpar_task *t, void *vctx) {
  (void)t;
  nest_ctx *c = vctx;
  run_nested_pipeline(c->pool, c, t->index % 2 ? NDPAR_STAGE_BLOCKING : 0);
  return 0;
}

Test(pipeline_nesting, pipelines_inside_pool_tasks_run_inline, .timeout = 60) {
  ndpar_pool *p = test_pool_of(test_max_threads());
  nest_ctx c = {p, 0};
  cr_assert_eq(ndpar_pool_run(p, 8, pipeline_task, &c), 0);
  cr_assert_not(atomic_load(&c.bad));
  ndpar_pool_free(p);
}

/* ---- blocking stages and idling ------------------------------------------------------------ */

Test(pipeline_blocking, blocking_source_and_sink_run_on_helpers) {
  for (size_t threads = 1; threads <= test_max_threads(); threads++) {
    ndpar_pool *p = test_pool_of(threads);
    size_t sizes[] = {0, 1, 300};
    for (size_t tokens = 1; tokens <= 8; tokens *= 8)
      for (size_t a = 0; a < 3; a++) {
        run *r = run_alloc(MIXED, 5, sizes[a]);
        r->stages[0].flags = NDPAR_STAGE_BLOCKING;
        r->stages[2].flags = NDPAR_STAGE_BLOCKING;
        r->stages[4].flags = NDPAR_STAGE_BLOCKING;
        cr_assert_eq(ndpar_pipeline_workers(p, r->stages, 5), threads + 3);
        ndpar_pipeline_status st;
        cr_assert_eq(run_on(r, p, tokens, &st), GSL_SUCCESS);
        cr_assert_not(atomic_load(&r->bad), "%s", r->why);
        cr_assert_eq(st.items, sizes[a]);
        cr_assert_eq(atomic_load(&r->consumed), sizes[a]);
        cr_assert_leq(atomic_load(&r->max_live), tokens);
        run_free(r);
      }
    ndpar_pool_free(p);
  }
}

Test(pipeline_blocking, a_failing_blocking_stage_cleans_up) {
  for (size_t s = 0; s < 5; s += 2) {
    ndpar_pool *p = test_pool_of(test_max_threads());
    run *r = run_alloc(MIXED, 5, 60);
    r->stages[s].flags = NDPAR_STAGE_BLOCKING;
    r->fail_stage = s;
    r->fail_item = 30;
    r->fail_code = GSL_EFAILED;
    ndpar_pipeline_status st;
    cr_assert_eq(run_on(r, p, 4, &st), GSL_EFAILED);
    cr_assert_eq(st.failed_stage, s);
    cr_assert_eq(st.failed_item, 30);
    cr_assert_not(atomic_load(&r->bad), "%s", r->why);
    cr_assert_eq(atomic_load(&r->made), atomic_load(&r->consumed) + total_cleaned(r));
    run_free(r);
    ndpar_pool_free(p);
  }
}

/* Helpers start in stage order (source, stage 2, sink here). The `ok`-th start fails after
 * the helpers before it have run as far as they can: the source's has filled every token
 * (nothing else runs yet: the pool's threads join in after the helpers start). The run must
 * stop, hand every item made to the cleanup, join what started and report one GSL error
 * from the calling thread, the status untouched. `nested`: the pipeline runs inside a pool
 * task (inline on a worker), where its helpers are still threads of their own. */
enum { HELPER_FAIL_TOKENS = 4 };
static run *helper_fail_run;

static void let_the_source_fill_the_tokens(void) {
  run *r = helper_fail_run;
  for (int k = 0; k < 2000 && atomic_load(&r->made) < HELPER_FAIL_TOKENS; k++)
    nanosleep(&(struct timespec){0, 1000000}, NULL);
}

typedef struct {
  run *r;
  ndpar_pool *p;
  int rc;
  ndpar_pipeline_status st;
  char message[512]; /* the run's last error (ndpar_error_last) on the thread that ran it */
} helper_fail_ctx;

static int run_in_task(const ndpar_task *t, void *vctx) {
  (void)t;
  helper_fail_ctx *c = vctx;
  c->rc = run_on(c->r, c->p, HELPER_FAIL_TOKENS, &c->st);
  snprintf(c->message, sizeof c->message, "%s", ndpar_error_last()->message);
  return 0;
}

static void check_helper_start_failure(size_t threads, long ok, int nested) {
  ndpar_pool *p = test_pool_of(threads);
  run *r = run_alloc(MIXED, 5, 200);
  for (size_t s = 0; s < 5; s += 2) r->stages[s].flags = NDPAR_STAGE_BLOCKING;
  helper_fail_ctx c = {r, p, GSL_SUCCESS, {7, 7, 7}, ""};
  size_t errors = test_gsl_error_count();
  helper_fail_run = r;
  test_fault_pthread_create_after(ok, let_the_source_fill_the_tokens);
  if (nested) cr_assert_eq(ndpar_pool_run(p, 1, run_in_task, &c), GSL_SUCCESS);
  else run_in_task(NULL, &c);
  test_fault_pthread_create_after(-1, NULL);
#define WHAT "threads %zu, helper %ld fails to start, nested %d", threads, ok, nested
  cr_assert_eq(c.rc, GSL_EFAILED, WHAT);
  cr_assert(c.st.items == 7 && c.st.failed_stage == 7 && c.st.failed_item == 7, "status touched");
  /* From inside a task the GSL error handler is not called; the error is the thread's last. */
  cr_assert_eq(test_gsl_error_count(), errors + !nested, WHAT);
  if (!nested) cr_assert(strstr(test_gsl_last_reason(), "helper thread"), "%s", test_gsl_last_reason());
  cr_assert(strstr(c.message, "helper thread"), "%s", c.message);
  cr_assert_not(atomic_load(&r->bad), "%s", r->why);
  /* The source's helper made a token's worth (or nothing, if it never started); none of it
   * was consumed (the sink's helper never started), all of it was cleaned, once. */
  size_t made = atomic_load(&r->made);
  cr_assert_eq(made, ok == 0 ? 0 : HELPER_FAIL_TOKENS, WHAT);
  cr_assert_eq(atomic_load(&r->consumed), 0, WHAT);
  cr_assert_eq(atomic_load(&r->cleaned[0]), made, WHAT);
  cr_assert_eq(total_cleaned(r), made, WHAT);
  cr_assert_eq(atomic_load(&r->live), 0, WHAT);
  for (size_t i = 0; i < made; i++) cr_assert_eq(atomic_load(&r->cleaned_flag[i]), 1, WHAT);
#undef WHAT
  run_free(r);
  ndpar_pool_free(p);
}

Test(pipeline_blocking, a_helper_that_cannot_start_fails_the_run_cleanly, .timeout = 60) {
  test_quiet_gsl_errors();
  size_t threads[] = {1, 2, test_max_threads()};
  for (size_t a = 0; a < 3; a++)
    for (long ok = 0; ok < 3; ok++)
      for (int nested = 0; nested < 2; nested++) check_helper_start_failure(threads[a], ok, nested);
  /* Nothing is left behind: the next run of the same stages succeeds. */
  ndpar_pool *p = test_pool_of(2);
  run *r = run_alloc(MIXED, 5, 100);
  for (size_t s = 0; s < 5; s += 2) r->stages[s].flags = NDPAR_STAGE_BLOCKING;
  cr_assert_eq(run_on(r, p, 4, NULL), GSL_SUCCESS);
  cr_assert_not(atomic_load(&r->bad), "%s", r->why);
  cr_assert_eq(atomic_load(&r->consumed), 100);
  run_free(r);
  ndpar_pool_free(p);
}

/* The source waits 100 ms per item (as a read from a slow device would, but on the CPU
 * scheduler's terms): the other threads have nothing to do and must sleep, not spin. */
static int sleepy_source(void *in, void **out, const ndpar_task *t, void *ctx) {
  (void)in, (void)ctx;
  if (t->index >= 3) return *out = NULL, 0;
  nanosleep(&(struct timespec){0, 100000000}, NULL);
  *out = (void *)1;
  return 0;
}

static int pass_on(void *in, void **out, const ndpar_task *t, void *ctx) {
  (void)t, (void)ctx;
  *out = in;
  return 0;
}

static double cpu_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

Test(pipeline_blocking, threads_with_nothing_to_do_sleep) {
  size_t threads = test_max_threads();
  ndpar_pool *p = test_pool_of(threads);
  for (unsigned flags = 0; flags <= NDPAR_STAGE_BLOCKING; flags++) {
    ndpar_stage st[] = {{NDPAR_STAGE_SERIAL_IN_ORDER, sleepy_source, NULL, NULL, flags},
                        {NDPAR_STAGE_PARALLEL, pass_on, NULL, NULL, 0},
                        {NDPAR_STAGE_SERIAL_IN_ORDER, pass_on, NULL, NULL, 0}};
    double c0 = cpu_seconds(), w0 = ndpar_time_now();
    cr_assert_eq(ndpar_pipeline_run(p, 4, st, 3, NULL), 0);
    double cpu = cpu_seconds() - c0, wall = ndpar_time_now() - w0;
    cr_assert_geq(wall, 0.29);
    /* Spinning threads would burn (threads - 1) x 0.3 s; allow wake-ups and noise. */
    cr_assert_lt(cpu, 0.2 * wall, "cpu %.3f s over %.3f s wall with %zu threads", cpu, wall,
                 threads);
  }
  ndpar_pool_free(p);
}

/* ---- bad arguments -------------------------------------------------------------------------- */

static void expect_error(ndpar_pool *p, size_t tokens, const ndpar_stage *st, size_t n, int code,
                         const char *needle) {
  ndpar_pipeline_status s = {7, 7, 7};
  size_t before = test_gsl_error_count();
  cr_assert_eq(ndpar_pipeline_run(p, tokens, st, n, &s), code, "expected %s", needle);
  cr_assert_eq(test_gsl_error_count(), before + 1);
  cr_assert(strstr(test_gsl_last_reason(), needle), "'%s' does not name '%s'",
            test_gsl_last_reason(), needle);
  cr_assert(s.items == 7 && s.failed_stage == 7 && s.failed_item == 7, "status touched");
}

static int never(void *in, void **out, const ndpar_task *t, void *ctx) {
  (void)in, (void)out, (void)t, (void)ctx;
  cr_assert_fail("a stage ran after a rejected call");
  return 0;
}

Test(pipeline_errors, bad_arguments) {
  test_quiet_gsl_errors();
  ndpar_pool *p = test_pool_of(2);
  ndpar_stage ok[3] = {{NDPAR_STAGE_SERIAL_IN_ORDER, never, NULL, NULL, 0},
                       {NDPAR_STAGE_PARALLEL, never, NULL, NULL, 0},
                       {NDPAR_STAGE_SERIAL_OUT_OF_ORDER, never, NULL, NULL, 0}};
  ndpar_stage st[3];
  expect_error(p, 4, NULL, 3, GSL_EFAULT, "stages is NULL");
  expect_error(p, 4, ok, 1, GSL_EINVAL, "n must be");
  expect_error(p, 0, ok, 3, GSL_EINVAL, "max_tokens");
  expect_error(p, NDPAR_PIPELINE_MAX_TOKENS + 1, ok, 3, GSL_EINVAL, "max_tokens");
  memcpy(st, ok, sizeof ok);
  st[2].fn = NULL;
  expect_error(p, 4, st, 3, GSL_EFAULT, "stages[2].fn");
  memcpy(st, ok, sizeof ok);
  st[1].mode = (ndpar_stage_mode)7;
  expect_error(p, 4, st, 3, GSL_EINVAL, "stages[1].mode");
  memcpy(st, ok, sizeof ok);
  st[0].mode = NDPAR_STAGE_PARALLEL;
  expect_error(p, 4, st, 3, GSL_EINVAL, "stages[0].mode");
  memcpy(st, ok, sizeof ok);
  st[1].flags = NDPAR_STAGE_BLOCKING;
  expect_error(p, 4, st, 3, GSL_EINVAL, "stages[1]");
  memcpy(st, ok, sizeof ok);
  st[2].flags = 6;
  expect_error(p, 4, st, 3, GSL_EINVAL, "stages[2].flags");
  ndpar_pool_free(p);
}

/* The largest token limit is accepted (its table allocated up front) and works. */
Test(pipeline_errors, the_largest_token_limit_runs) {
  ndpar_pool *p = test_pool_of(2);
  run *r = run_alloc(MIXED, 5, 300);
  cr_assert_eq(run_on(r, p, NDPAR_PIPELINE_MAX_TOKENS, NULL), GSL_SUCCESS);
  cr_assert_not(atomic_load(&r->bad), "%s", r->why);
  cr_assert_eq(atomic_load(&r->consumed), 300);
  run_free(r);
  ndpar_pool_free(p);
}

/* ---- the argument convention (docs/API.md): status plays the role of *failed ------------ */

static int conv_source(void *in, void **out, const ndpar_task *t, void *ctx) {
  (void)in, (void)ctx;
  *out = t->index < 3 ? (void *)(t->index + 1) : NULL;
  return 0;
}

static int conv_sink(void *in, void **out, const ndpar_task *t, void *ctx) {
  (void)out, (void)ctx;
  return (size_t)in == t->index + 1 ? 0 : GSL_ESANITY;
}

/* Runs the pipeline and reports status->failed_stage as *failed, if the call wrote status. */
static int conv_run(size_t *failed, const ndpar_stage *st, size_t n) {
  ndpar_pipeline_status s = {TEST_UNTOUCHED, TEST_UNTOUCHED, TEST_UNTOUCHED};
  int rc = ndpar_pipeline_run(NULL, 4, st, n, &s);
  if (s.failed_stage != TEST_UNTOUCHED) *failed = s.failed_stage;
  return rc;
}

static const ndpar_stage CONV_OK[2] = {{NDPAR_STAGE_SERIAL_IN_ORDER, conv_source, NULL, NULL, 0},
                                       {NDPAR_STAGE_SERIAL_IN_ORDER, conv_sink, NULL, NULL, 0}};
static int conv_null_stages(size_t *f) { return conv_run(f, NULL, 2); }
static int conv_null_fn(size_t *f) {
  ndpar_stage st[2] = {CONV_OK[0], CONV_OK[1]};
  st[1].fn = NULL;
  return conv_run(f, st, 2);
}
static int conv_bad_mode(size_t *f) {
  ndpar_stage st[2] = {CONV_OK[0], CONV_OK[1]};
  st[1].mode = (ndpar_stage_mode)-1;
  return conv_run(f, st, 2);
}
static int conv_n0(size_t *f) { return conv_run(f, NULL, 0); }
static int conv_done(size_t *f) { return conv_run(f, CONV_OK, 2); }

Test(pipeline_convention, null_pointers_n0_and_failed_as_the_api_says) {
  const test_convention_row rows[] = {
      {"pipeline_run, stages NULL", conv_null_stages, GSL_EFAULT, 0},
      {"pipeline_run, stages[1].fn NULL", conv_null_fn, GSL_EFAULT, 0},
      {"pipeline_run, stages[1].mode unknown", conv_bad_mode, GSL_EINVAL, 0},
      {"pipeline_run, n = 0, stages NULL", conv_n0, GSL_SUCCESS, 0},
      {"pipeline_run, success", conv_done, GSL_SUCCESS, 2},
  };
  test_convention_table(rows, sizeof rows / sizeof rows[0]);
}
