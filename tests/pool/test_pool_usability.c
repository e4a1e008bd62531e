/* Tests of what a program around the pool needs: a quiet library with a log handler, a
 * default pool settable between runs (and refused, never raced, during one), and GSL errors
 * raised inside tasks captured as the task's failure. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_matrix.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ndpar/ndpar_pool.h"
#include "test_util.h"

/* ---- quiet by default ---------------------------------------------------------------- */

static void oversubscribe(void) {
  ndpar_pool_config cfg;
  ndpar_pool_config_init(&cfg);
  cfg.threads = 2 * ndpar_physical_cores() + 1;
  ndpar_pool *p = ndpar_pool_alloc(&cfg);
  cr_assert_not_null(p);
  cr_assert_eq(ndpar_pool_binding(p), NDPAR_BIND_NONE, "the state stays queryable");
  ndpar_pool_free(p);
}

static void redirect_quietly(void) {
  unsetenv("NDPAR_VERBOSE");
  cr_redirect_stderr();
}

Test(pool_quiet, nothing_on_stderr_unasked, .init = redirect_quietly) {
  setenv("NDPAR_NUM_THREADS", "lots", 1); /* an ignored variable: logged, not printed */
  ndpar_pool_config cfg;
  ndpar_pool_config_init(&cfg);
  cr_assert_eq(cfg.threads, 0);
  oversubscribe();
  fflush(stderr);
  cr_assert_stderr_eq_str("");
}

static void verbose_redirect(void) {
  setenv("NDPAR_VERBOSE", "1", 1);
  cr_redirect_stderr();
}

Test(pool_quiet, ndpar_verbose_prints, .init = verbose_redirect) {
  oversubscribe();
  fflush(stderr);
  char expected[128];
  snprintf(expected, sizeof expected, "ndpar: %zu threads on %zu physical cores: workers run unpinned\n",
           2 * ndpar_physical_cores() + 1, ndpar_physical_cores());
  cr_assert_stderr_eq_str(expected);
}

typedef struct {
  int calls;
  char last[256];
} log_record;

static void record_log(const char *message, void *ctx) {
  log_record *r = ctx;
  r->calls++;
  snprintf(r->last, sizeof r->last, "%s", message);
}

Test(pool_quiet, a_log_handler_gets_each_message_once, .init = redirect_quietly) {
  log_record r = {0, ""};
  ndpar_set_log_handler(record_log, &r);
  oversubscribe();
  oversubscribe(); /* said once per process */
  cr_assert_eq(r.calls, 1);
  cr_assert(strstr(r.last, "workers run unpinned") != NULL, "got: %s", r.last);
  cr_assert(r.last[strlen(r.last) - 1] != '\n');
  ndpar_set_log_handler(NULL, NULL);
  fflush(stderr);
  cr_assert_stderr_eq_str("");
}

/* ---- the default pool, settable between runs ------------------------------------------ */

static ndpar_pool_config config_of(size_t threads, ndpar_bind bind) {
  ndpar_pool_config cfg;
  ndpar_pool_config_init(&cfg);
  cfg.threads = threads;
  cfg.bind = bind;
  return cfg;
}

typedef struct {
  atomic_size_t sum;
  size_t threads;
  atomic_int bad_slot;
} sum_ctx;

static int sum_task(const ndpar_task *t, void *vctx) {
  sum_ctx *c = vctx;
  atomic_fetch_add_explicit(&c->sum, t->index + 1, memory_order_relaxed);
  if (t->worker >= c->threads) atomic_store(&c->bad_slot, 1);
  return 0;
}

/* A run of n tasks on the default pool covers every index once (the sum 1..n). */
static int default_run_is_right(size_t n) {
  sum_ctx c = {0, ndpar_pool_threads(NULL), 0};
  /* threads of the pool the run will use: a concurrent set may change the default between
   * the two calls, so bound the slot by the most threads the tests ever ask for. */
  c.threads = NDPAR_MAX_THREADS;
  int rc = ndpar_pool_run(NULL, n, sum_task, &c);
  return rc == GSL_SUCCESS && atomic_load(&c.sum) == n * (n + 1) / 2 &&
         atomic_load(&c.bad_slot) == 0;
}

Test(pool_default_set, sets_threads_and_binding_between_runs) {
  for (size_t t = 1; t <= test_max_threads(); t++) {
    ndpar_pool_config cfg = config_of(t, NDPAR_BIND_NONE);
    cr_assert_eq(ndpar_pool_default_set(&cfg), GSL_SUCCESS);
    cr_assert_eq(ndpar_pool_threads(NULL), t);
    cr_assert_eq(ndpar_pool_threads(ndpar_pool_default()), t);
    cr_assert_eq(ndpar_pool_binding(NULL), NDPAR_BIND_NONE);
    cr_assert(default_run_is_right(100000));
  }
  if (ndpar_physical_cores() >= 2) {
    ndpar_pool_config cfg = config_of(ndpar_physical_cores(), NDPAR_BIND_CORES);
    cr_assert_eq(ndpar_pool_default_set(&cfg), GSL_SUCCESS);
    cr_assert_eq(ndpar_pool_binding(NULL), NDPAR_BIND_CORES);
  }
  cr_assert_eq(ndpar_pool_default_set(NULL), GSL_SUCCESS, "NULL: the environment's defaults");
  cr_assert_eq(ndpar_pool_threads(NULL), ndpar_physical_cores());
}

Test(pool_default_set, an_earlier_handle_keeps_its_pool) {
  ndpar_pool_config two = config_of(2, NDPAR_BIND_NONE), three = config_of(3, NDPAR_BIND_NONE);
  cr_assert_eq(ndpar_pool_default_set(&two), GSL_SUCCESS);
  ndpar_pool *old = ndpar_pool_default();
  cr_assert_eq(ndpar_pool_default_set(&three), GSL_SUCCESS);
  cr_assert_neq(ndpar_pool_default(), old);
  cr_assert_eq(ndpar_pool_threads(old), 2);
  sum_ctx c = {0, 2, 0};
  cr_assert_eq(ndpar_pool_run(old, 1000, sum_task, &c), GSL_SUCCESS);
  cr_assert_eq(atomic_load(&c.sum), 1000 * 1001 / 2);
  cr_assert_eq(atomic_load(&c.bad_slot), 0);
  cr_assert_eq(ndpar_pool_default_set(&two), GSL_SUCCESS);
  cr_assert_eq(ndpar_pool_default(), old, "setting a configuration again takes its pool back");
}

Test(pool_default_set, bad_configurations_change_nothing) {
  test_quiet_gsl_errors();
  ndpar_pool_config two = config_of(2, NDPAR_BIND_NONE);
  cr_assert_eq(ndpar_pool_default_set(&two), GSL_SUCCESS);
  ndpar_pool_config bad = two;
  bad.threads = NDPAR_MAX_THREADS + 1;
  cr_assert_eq(ndpar_pool_default_set(&bad), GSL_EINVAL);
  bad = two;
  bad.min_parallel = 0;
  cr_assert_eq(ndpar_pool_default_set(&bad), GSL_EINVAL);
  bad = two;
  bad.bind = (ndpar_bind)7;
  cr_assert_eq(ndpar_pool_default_set(&bad), GSL_EINVAL);
  cr_assert(strstr(test_gsl_last_reason(), "cfg->bind") != NULL);
  cr_assert_eq(ndpar_pool_threads(NULL), 2);
}

/* A run on the default pool that holds its tasks until released. */
typedef struct {
  atomic_int started, release;
} hold_ctx;

static int hold_task(const ndpar_task *t, void *vctx) {
  hold_ctx *h = vctx;
  (void)t;
  atomic_store(&h->started, 1);
  while (!atomic_load(&h->release)) sched_yield();
  return 0;
}

static void *hold_run(void *vctx) {
  return (void *)(intptr_t)ndpar_pool_run(NULL, 4, hold_task, vctx);
}

static int set_inside(const ndpar_task *t, void *vctx) {
  (void)t;
  ndpar_pool_config *cfg = vctx;
  return ndpar_pool_default_set(cfg) == GSL_EFAILED ? 0 : GSL_EFAILED;
}

Test(pool_default_set, refused_while_a_run_is_in_flight) {
  test_quiet_gsl_errors();
  ndpar_pool_config two = config_of(2, NDPAR_BIND_NONE), three = config_of(3, NDPAR_BIND_NONE);
  cr_assert_eq(ndpar_pool_default_set(&two), GSL_SUCCESS);
  hold_ctx h = {0, 0};
  pthread_t tid;
  pthread_create(&tid, NULL, hold_run, &h);
  while (!atomic_load(&h.started)) sched_yield();
  cr_assert_eq(ndpar_pool_default_set(&three), GSL_EFAILED);
  cr_assert(strstr(test_gsl_last_reason(), "in flight") != NULL, "got: %s", test_gsl_last_reason());
  cr_assert_eq(ndpar_pool_threads(NULL), 2, "unchanged");
  atomic_store(&h.release, 1);
  void *rc;
  pthread_join(tid, &rc);
  cr_assert_eq((int)(intptr_t)rc, GSL_SUCCESS);
  cr_assert_eq(ndpar_pool_default_set(&three), GSL_SUCCESS);
  cr_assert_eq(ndpar_pool_threads(NULL), 3);
  /* From inside a task: refused too. */
  cr_assert_eq(ndpar_pool_run(NULL, 1, set_inside, &two), GSL_SUCCESS);
  cr_assert_eq(ndpar_pool_threads(NULL), 3);
}

/* Several application threads run on the default pool while another sets it: every run is
 * right, every set either succeeds or is refused, and (under TSan) nothing races. */
typedef struct {
  atomic_int stop, wrong;
} hammer_ctx;

static void *hammer_runs(void *vctx) {
  hammer_ctx *h = vctx;
  while (!atomic_load(&h->stop))
    if (!default_run_is_right(2000)) atomic_store(&h->wrong, 1);
  return NULL;
}

Test(pool_default_set, concurrent_callers_never_race) {
  test_quiet_gsl_errors();
  hammer_ctx h = {0, 0};
  pthread_t tid[3];
  for (int i = 0; i < 3; i++) pthread_create(&tid[i], NULL, hammer_runs, &h);
  size_t ok = 0, refused = 0, last = 0;
  for (int k = 0; k < 200; k++) {
    ndpar_pool_config cfg = config_of(1 + (size_t)k % 3, NDPAR_BIND_NONE);
    int rc = ndpar_pool_default_set(&cfg);
    cr_assert(rc == GSL_SUCCESS || rc == GSL_EFAILED, "rc %d", rc);
    if (rc == GSL_SUCCESS) {
      ok++;
      last = cfg.threads;
    } else {
      refused++;
    }
  }
  atomic_store(&h.stop, 1);
  for (int i = 0; i < 3; i++) pthread_join(tid[i], NULL);
  cr_assert_eq(atomic_load(&h.wrong), 0);
  cr_assert_eq(ok + refused, 200);
  if (ok > 0) cr_assert_eq(ndpar_pool_threads(NULL), last);
}

/* ---- GSL errors inside tasks ------------------------------------------------------------ */

/* A failing GSL call: copying a 3 x 3 matrix into a 2 x 2 one is GSL_EBADLEN through the
 * error handler. */
static int copy_mismatched(void) {
  gsl_matrix *a = gsl_matrix_calloc(2, 2), *b = gsl_matrix_calloc(3, 3);
  int rc = gsl_matrix_memcpy(a, b);
  gsl_matrix_free(a);
  gsl_matrix_free(b);
  return rc;
}

/* Task 5 makes the failing call and, the callback being careless, returns 0 anyway; the
 * others succeed. */
static int fail_at_5(const ndpar_task *t, void *ctx) {
  (void)ctx;
  if (t->index == 5) copy_mismatched();
  return 0;
}

/* A singular LU solve on task 3: gsl_linalg_LU_solve reports GSL_EDOM. */
static int singular_solve_at_3(const ndpar_task *t, void *ctx) {
  (void)ctx;
  if (t->index != 3) return 0;
  gsl_matrix *a = gsl_matrix_calloc(2, 2);
  gsl_vector *b = gsl_vector_calloc(2), *x = gsl_vector_alloc(2);
  gsl_permutation *perm = gsl_permutation_alloc(2);
  int sign;
  gsl_linalg_LU_decomp(a, perm, &sign);
  int rc = gsl_linalg_LU_solve(a, perm, b, x);
  gsl_permutation_free(perm);
  gsl_vector_free(x);
  gsl_vector_free(b);
  gsl_matrix_free(a);
  return rc;
}

static void check_capture(size_t threads, ndpar_task_fn fn, int code, size_t index,
                          const char *reason_part) {
  ndpar_pool_config cfg = config_of(threads, NDPAR_BIND_NONE);
  ndpar_pool *p = ndpar_pool_alloc(&cfg);
  size_t failed = 0;
  int rc = ndpar_pool_run_ex(p, 64, fn, NULL, &failed);
  cr_assert_eq(rc, code, "threads %zu: the run returns the captured code (got %d)", threads, rc);
  cr_assert_eq(failed, index);
  ndpar_task_error e;
  cr_assert_eq(ndpar_task_error_last(&e), code);
  cr_assert_eq(e.code, code);
  cr_assert_eq(e.index, index);
  cr_assert(strstr(e.reason, reason_part) != NULL, "reason: %s", e.reason);
  cr_assert(strlen(e.file) > 0 && e.line > 0, "file %s line %d", e.file, e.line);
  /* The next successful run clears it. */
  cr_assert_eq(ndpar_pool_run(p, 64, sum_task, &(sum_ctx){0, threads, 0}), GSL_SUCCESS);
  cr_assert_eq(ndpar_task_error_last(NULL), 0);
  ndpar_pool_free(p);
}

Test(pool_capture, a_gsl_error_on_a_worker_fails_its_task_under_the_abort_handler) {
  gsl_set_error_handler(NULL); /* GSL's default: abort */
  cr_assert_null(ndpar_capture_gsl_errors());
  for (size_t t = 1; t <= test_max_threads(); t++) {
    check_capture(t, fail_at_5, GSL_EBADLEN, 5, "different");
    check_capture(t, singular_solve_at_3, GSL_EDOM, 3, "singular");
  }
}

static int count_handler_calls;
static void counting_handler(const char *reason, const char *file, int line, int gsl_errno) {
  (void)reason, (void)file, (void)line, (void)gsl_errno;
  count_handler_calls++;
}

Test(pool_capture, outside_tasks_the_previous_handler_is_called) {
  gsl_set_error_handler(counting_handler);
  cr_assert_eq(ndpar_capture_gsl_errors(), counting_handler);
  cr_assert_eq(ndpar_capture_gsl_errors(), ndpar_gsl_capture_handler, "twice: no loop");
  cr_assert_eq(copy_mismatched(), GSL_EBADLEN);
  cr_assert_eq(count_handler_calls, 1);
  /* Inside a task it is captured, not passed on. */
  cr_assert_eq(ndpar_pool_run(NULL, 16, fail_at_5, NULL), GSL_EBADLEN);
  cr_assert_eq(count_handler_calls, 1);
}

Test(pool_capture, without_a_task_error_the_last_error_is_empty) {
  ndpar_capture_gsl_errors();
  cr_assert_eq(ndpar_pool_run(NULL, 0, sum_task, NULL), GSL_SUCCESS);
  cr_assert_eq(ndpar_task_error_last(NULL), 0);
  ndpar_task_error e = {.code = 99};
  cr_assert_eq(ndpar_task_error_last(&e), 0);
  cr_assert_eq(e.code, 0);
}

static void default_handler_then_abort(void) {
  gsl_set_error_handler(NULL);
  ndpar_capture_gsl_errors();
  copy_mismatched(); /* outside a task: GSL's default handler, which aborts */
}

Test(pool_capture, outside_tasks_the_default_still_aborts, .signal = SIGABRT,
     .init = cr_redirect_stderr) {
  default_handler_then_abort();
}
