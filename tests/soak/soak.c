/* soak: 4 application threads sharing the default pool for SOAK_SECONDS (default 20),
 * running batch inference, column statistics, deterministic gradients and plain runs whose
 * callbacks fail at random (from a random index on), while a fifth thread allocates, uses
 * and frees pools of random sizes. Every result is checked against a sequential
 * computation, every failing run must return the injected status and a failing index, and
 * a watchdog fails the soak if no thread makes progress for 60 s (a deadlock). Exit
 * status 0: all clean. */
#include <gsl/gsl_rng.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ndpar/ndpar_batch.h"
#include "ndpar/ndpar_grad.h"
#include "ndpar/ndpar_pool.h"
#include "ndpar/ndpar_preprocess.h"

enum { APP_THREADS = 4 };

static atomic_size_t progress, runs, failures_injected, errors;
static atomic_int stop;

static void fail_soak(const char *who, const char *what) {
  if (atomic_fetch_add(&errors, 1) < 10) fprintf(stderr, "soak: %s: %s\n", who, what);
}

/* ---- callbacks ---- */

static int predict_double(const gsl_matrix *x, gsl_matrix *y, const ndpar_task *t, void *ctx) {
  (void)t, (void)ctx;
  for (size_t i = 0; i < x->size1; i++) gsl_matrix_set(y, i, 0, 2 * gsl_matrix_get(x, i, 0));
  return GSL_SUCCESS;
}

/* Fails at every index >= fail_from with status GSL_EDOM (fail_from = n: never). */
typedef struct {
  size_t fail_from;
  atomic_size_t done;
} fail_ctx;

static int maybe_fail(const ndpar_task *t, void *vc) {
  fail_ctx *c = vc;
  if (t->index >= c->fail_from) return GSL_EDOM;
  atomic_fetch_add_explicit(&c->done, 1, memory_order_relaxed);
  return GSL_SUCCESS;
}

static int grad_fn(const gsl_matrix *x, const gsl_vector *y, gsl_vector *grad, double *loss,
                   const ndpar_task *t, void *ctx) {
  (void)t, (void)ctx;
  double s = 0;
  for (size_t i = 0; i < x->size1; i++) s += gsl_matrix_get(x, i, 0) * gsl_vector_get(y, i);
  gsl_vector_set_all(grad, s / (double)x->size1);
  *loss = s;
  return GSL_SUCCESS;
}

/* ---- one application thread's work ---- */

static void soak_failing_run(gsl_rng *r, const char *who, ndpar_pool *pool) {
  size_t n = 1 + gsl_rng_uniform_int(r, 5000);
  fail_ctx c = {gsl_rng_uniform_int(r, n + 1), 0};
  size_t failed = 0;
  int st = ndpar_pool_run_ex(pool, n, maybe_fail, &c, &failed);
  if (c.fail_from == n) {
    if (st != GSL_SUCCESS || failed != n || atomic_load(&c.done) != n)
      fail_soak(who, "a clean run failed or lost tasks");
  } else {
    atomic_fetch_add(&failures_injected, 1);
    /* The first failure stops new tasks: the one reported is a failing one that ran. */
    if (st != GSL_EDOM || failed < c.fail_from || failed >= n)
      fail_soak(who, "a failing run did not report a failing task");
  }
}

static void soak_batch(gsl_rng *r, const char *who, ndpar_pool *pool) {
  size_t n = 1 + gsl_rng_uniform_int(r, 8);
  gsl_matrix *x[8], *y[8];
  for (size_t i = 0; i < n; i++) {
    size_t rows = 1 + gsl_rng_uniform_int(r, 200);
    x[i] = gsl_matrix_alloc(rows, 2);
    y[i] = gsl_matrix_alloc(rows, 1);
    for (size_t k = 0; k < rows; k++)
      gsl_matrix_set(x[i], k, 0, gsl_rng_uniform(r)), gsl_matrix_set(x[i], k, 1, 0);
  }
  if (ndpar_batch_infer(pool, (const gsl_matrix *const *)x, y, n, predict_double, NULL) !=
      GSL_SUCCESS)
    fail_soak(who, "batch inference failed");
  for (size_t i = 0; i < n; i++) {
    for (size_t k = 0; k < x[i]->size1; k++)
      if (gsl_matrix_get(y[i], k, 0) != 2 * gsl_matrix_get(x[i], k, 0)) {
        fail_soak(who, "batch inference gave a wrong value");
        break;
      }
    gsl_matrix_free(x[i]);
    gsl_matrix_free(y[i]);
  }
}

static void soak_colstats(gsl_rng *r, const char *who, ndpar_pool *pool) {
  size_t rows = 1 + gsl_rng_uniform_int(r, 20000), cols = 1 + gsl_rng_uniform_int(r, 4);
  gsl_matrix *x = gsl_matrix_alloc(rows, cols);
  for (size_t i = 0; i < rows; i++)
    for (size_t j = 0; j < cols; j++) gsl_matrix_set(x, i, j, (double)((i * 7 + j) % 11));
  gsl_vector *mn = gsl_vector_alloc(cols), *mx = gsl_vector_alloc(cols);
  if (ndpar_colstats(pool, x, 0, NULL, NULL, mn, mx) != GSL_SUCCESS)
    fail_soak(who, "colstats failed");
  for (size_t j = 0; j < cols; j++) {
    double lo = 1e300, hi = -1e300;
    for (size_t i = 0; i < rows; i++) {
      double v = gsl_matrix_get(x, i, j);
      lo = v < lo ? v : lo, hi = v > hi ? v : hi;
    }
    if (gsl_vector_get(mn, j) != lo || gsl_vector_get(mx, j) != hi)
      fail_soak(who, "colstats min/max wrong");
  }
  gsl_matrix_free(x);
  gsl_vector_free(mn);
  gsl_vector_free(mx);
}

/* A deterministic gradient must be bit-identical on the shared pool and on one thread. */
static void soak_grad(gsl_rng *r, const char *who, ndpar_pool *pool, ndpar_pool *one) {
  size_t n = 1 + gsl_rng_uniform_int(r, 40);
  gsl_matrix **x = malloc(n * sizeof *x);
  gsl_vector **y = malloc(n * sizeof *y);
  for (size_t i = 0; i < n; i++) {
    size_t rows = 1 + gsl_rng_uniform_int(r, 30);
    x[i] = gsl_matrix_alloc(rows, 1);
    y[i] = gsl_vector_alloc(rows);
    for (size_t k = 0; k < rows; k++)
      gsl_matrix_set(x[i], k, 0, gsl_rng_uniform(r)), gsl_vector_set(y[i], k, gsl_rng_uniform(r));
  }
  gsl_vector *g = gsl_vector_alloc(3), *g1 = gsl_vector_alloc(3);
  double l, l1;
  int a = ndpar_grad_compute(pool, (const gsl_matrix *const *)x, (const gsl_vector *const *)y, n,
                             grad_fn, NULL, NDPAR_REDUCE_DETERMINISTIC, g, &l);
  int b = ndpar_grad_compute(one, (const gsl_matrix *const *)x, (const gsl_vector *const *)y, n,
                             grad_fn, NULL, NDPAR_REDUCE_DETERMINISTIC, g1, &l1);
  if (a || b)
    fail_soak(who, "grad_compute failed");
  else if (l != l1 || memcmp(g->data, g1->data, 3 * sizeof(double)) != 0)
    fail_soak(who, "deterministic gradient differs");
  for (size_t i = 0; i < n; i++) gsl_matrix_free(x[i]), gsl_vector_free(y[i]);
  free(x);
  free(y);
  gsl_vector_free(g);
  gsl_vector_free(g1);
}

static ndpar_pool *pool_of(size_t threads) {
  ndpar_pool_config cfg;
  ndpar_pool_config_init(&cfg);
  cfg.threads = threads;
  cfg.bind = NDPAR_BIND_NONE;
  return ndpar_pool_alloc(&cfg);
}

static void *app_thread(void *arg) {
  size_t id = (size_t)arg;
  char who[32];
  snprintf(who, sizeof who, "application thread %zu", id);
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(r, 1000 + id);
  ndpar_pool *one = pool_of(1);
  while (!atomic_load(&stop)) {
    switch (gsl_rng_uniform_int(r, 4)) {
      case 0: soak_failing_run(r, who, NULL); break;
      case 1: soak_batch(r, who, NULL); break;
      case 2: soak_colstats(r, who, NULL); break;
      default: soak_grad(r, who, NULL, one); break;
    }
    atomic_fetch_add(&runs, 1);
    atomic_fetch_add(&progress, 1);
  }
  ndpar_pool_free(one);
  gsl_rng_free(r);
  return NULL;
}

/* Pools come and go while the application threads run on the default pool. */
static atomic_size_t pool_cycles;

static void *pool_cycler(void *arg) {
  (void)arg;
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(r, 99);
  while (!atomic_load(&stop)) {
    ndpar_pool *p = pool_of(1 + gsl_rng_uniform_int(r, 4));
    if (p == NULL) {
      fail_soak("pool cycler", "pool_alloc failed");
      break;
    }
    if (gsl_rng_uniform(r) < 0.5) soak_failing_run(r, "pool cycler", p);
    ndpar_pool_free(p);
    atomic_fetch_add(&pool_cycles, 1);
    atomic_fetch_add(&progress, 1);
  }
  gsl_rng_free(r);
  return NULL;
}

int main(void) {
  const char *s = getenv("SOAK_SECONDS");
  double seconds = s ? atof(s) : 20;
  gsl_set_error_handler_off();
  if (ndpar_pool_default() == NULL) return fail_soak("main", "no default pool"), 1;
  pthread_t t[APP_THREADS + 1];
  for (size_t i = 0; i < APP_THREADS; i++) pthread_create(&t[i], NULL, app_thread, (void *)i);
  pthread_create(&t[APP_THREADS], NULL, pool_cycler, NULL);
  time_t start = time(NULL), last_change = start;
  size_t last = 0;
  while (difftime(time(NULL), start) < seconds) {
    sleep(1);
    size_t now = atomic_load(&progress);
    if (now != last) last = now, last_change = time(NULL);
    if (difftime(time(NULL), last_change) > 60) {
      fprintf(stderr, "soak: no progress for 60 s: deadlock\n");
      abort();
    }
  }
  atomic_store(&stop, 1);
  for (size_t i = 0; i <= APP_THREADS; i++) pthread_join(t[i], NULL);
  size_t bad = atomic_load(&errors);
  printf(
      "soak: %.0f s, %d application threads on the default pool: %zu runs (%zu with injected "
      "failures), "
      "%zu pool alloc/free cycles; %zu errors\n",
      seconds, APP_THREADS, atomic_load(&runs), atomic_load(&failures_injected),
      atomic_load(&pool_cycles), bad);
  return bad ? 1 : 0;
}
