/* ndpar_pool_run_streams: each task's t->rng is a stream of (seed, index) alone. */
#include <criterion/criterion.h>
#include <gsl/gsl_rng.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ndpar/ndpar_pool.h"
#include "test_util.h"

#define DRAWS 5

typedef struct {
  unsigned long *out; /* DRAWS per task */
  size_t fail_at;     /* a task that fails (SIZE_MAX: none) */
} draw_ctx;

static int draw(const ndpar_task *t, void *vctx) {
  draw_ctx *c = vctx;
  if (t->rng == NULL) return GSL_EFAULT;
  for (size_t k = 0; k < DRAWS; k++) c->out[t->index * DRAWS + k] = gsl_rng_get(t->rng);
  return t->index == c->fail_at ? GSL_EDOM : GSL_SUCCESS;
}

/* What task i must draw: taus2 seeded from ndpar_stream_seed(seed, i). */
static void reference(unsigned long seed, size_t n, unsigned long *out) {
  gsl_rng *r = gsl_rng_alloc(gsl_rng_taus2);
  for (size_t i = 0; i < n; i++) {
    gsl_rng_set(r, ndpar_stream_seed(seed, i));
    for (size_t k = 0; k < DRAWS; k++) out[i * DRAWS + k] = gsl_rng_get(r);
  }
  gsl_rng_free(r);
}

Test(pool_streams, every_task_draws_its_own_stream_whatever_the_thread_count) {
  size_t tmax = test_max_threads();
  size_t sizes[] = {1, tmax - 1, tmax, tmax + 1, 1000};
  for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++) {
    size_t n = sizes[si];
    unsigned long *want = malloc(n * DRAWS * sizeof *want);
    unsigned long *got = malloc(n * DRAWS * sizeof *got);
    reference(42, n, want);
    for (size_t threads = 1; threads <= tmax; threads++) {
      ndpar_pool *p = test_pool_of(threads);
      memset(got, 0, n * DRAWS * sizeof *got);
      draw_ctx c = {got, SIZE_MAX};
      size_t failed = 7;
      cr_assert_eq(ndpar_pool_run_streams(p, n, 42, draw, &c, &failed), GSL_SUCCESS);
      cr_assert_eq(failed, n);
      cr_assert(memcmp(got, want, n * DRAWS * sizeof *got) == 0, "n %zu, %zu threads", n, threads);
      ndpar_pool_free(p);
    }
    free(want);
    free(got);
  }
}

Test(pool_streams, another_seed_other_numbers_and_a_failure_names_its_task) {
  unsigned long a[100 * DRAWS], b[100 * DRAWS];
  draw_ctx ca = {a, SIZE_MAX}, cb = {b, 37};
  cr_assert_eq(ndpar_pool_run_streams(NULL, 100, 1, draw, &ca, NULL), GSL_SUCCESS);
  size_t failed = 0;
  cr_assert_eq(ndpar_pool_run_streams(NULL, 100, 2, draw, &cb, &failed), GSL_EDOM);
  cr_assert_eq(failed, 37);
  cr_assert_neq(a[0], b[0]);
  cr_assert_neq(a[5 * DRAWS], b[5 * DRAWS]);
  cr_assert(strstr(ndpar_error_last()->message, "task 37 failed") != NULL, "%s",
            ndpar_error_last()->message);
}

typedef struct {
  ndpar_pool *p;
  unsigned long got[3][20 * DRAWS];
} nest;

static int outer(const ndpar_task *t, void *vctx) {
  nest *ns = vctx;
  draw_ctx c = {ns->got[t->index], SIZE_MAX};
  return ndpar_pool_run_streams(ns->p, 20, 9, draw, &c, NULL);
}

Test(pool_streams, nested_in_a_task_of_the_same_pool) {
  /* A run from inside a task is inline on that task's slot: the streams still exist for it. */
  ndpar_pool *p = test_pool_of(3);
  unsigned long want[20 * DRAWS];
  reference(9, 20, want);
  static nest ns;
  ns.p = p;
  cr_assert_eq(ndpar_pool_run(p, 3, outer, &ns), GSL_SUCCESS);
  for (int i = 0; i < 3; i++) cr_assert(memcmp(ns.got[i], want, sizeof want) == 0, "task %d", i);
  ndpar_pool_free(p);
}
