/* badinput.h: the hostile-input cases of every public function.
 *
 * Each CASE(function, "what") { ... } registers one case; every case runs in its own child
 * process (a Criterion parameterized test), so a crash is one crashed case, not a lost run.
 * tools/badinput-coverage.sh fails `make check` when a public function has no case.
 * GSL's handler is a capturing one: an error reported from any thread but the calling one
 * fails the case, as does a bad-input error not reported through GSL_ERROR at all. */
#ifndef NDPAR_BADINPUT_H
#define NDPAR_BADINPUT_H

#include <criterion/criterion.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ndpar/ndpar_batch.h"
#include "ndpar/ndpar_core.h"
#include "ndpar/ndpar_cv.h"
#include "ndpar/ndpar_ensemble.h"
#include "ndpar/ndpar_grad.h"
#include "ndpar/ndpar_grid.h"
#include "ndpar/ndpar_pool.h"
#include "ndpar/ndpar_preprocess.h"
#include "ndpar/ndpar_scalability.h"

#define BI_CAT_(a, b) a##b
#define BI_CAT(a, b) BI_CAT_(a, b)

void bi_register(const char *fn, const char *what, const char *file, int line, void (*run)(void));

#define CASE(fn, what)                                                       \
  static void BI_CAT(bi_case_, __LINE__)(void);                              \
  __attribute__((constructor)) static void BI_CAT(bi_reg_, __LINE__)(void) { \
    bi_register(#fn, what, __FILE__, __LINE__, BI_CAT(bi_case_, __LINE__));  \
  }                                                                          \
  static void BI_CAT(bi_case_, __LINE__)(void)

/* After a call that failed with `code` (0: a call returning NULL): ndpar_error_last() has
 * that code, a file and line, and a message that names one of the called function's
 * parameters (the function is the name before the first '(' of `call`; its parameter names
 * come from the headers, tools/public-params.sh). */
void bi_check_last_error(const char *call, int code);

/* Every public function's parameter names, generated from the headers (build/gen/bi_params.c,
 * tools/public-params.sh): params is " a b c ". */
typedef struct {
  const char *fn, *params;
} bi_params;
extern const bi_params bi_params_of[];
extern const size_t bi_params_count;

/* The next failing call's error is not about one argument (the system is out of memory, a
 * file's contents are bad, a callback wrote NaN): its message need not name a parameter.
 * `why` says so in the case's source; one call only. */
void bi_unnamed(const char *why);

/* Errors reported through GSL's handler since the case began (any thread). */
size_t bi_errors(void);
/* The case's label, "function: what", for messages. */
const char *bi_label(void);

/* A value no computation produces, to see that outputs stay untouched. */
#define BI_SENTINEL 4242.4242

/* The call must fail with exactly `want`, reported through GSL_ERROR. */
#define EXPECT_CODE(call, want)                                                               \
  do {                                                                                        \
    size_t bi_e0_ = bi_errors();                                                              \
    ndpar_error_clear();                                                                      \
    int bi_got_ = (call);                                                                     \
    cr_assert_eq(bi_got_, (want), "%s: %s returned %d (%s), want %d (%s)", bi_label(), #call, \
                 bi_got_, gsl_strerror(bi_got_), (want), gsl_strerror(want));                 \
    cr_assert_gt(bi_errors(), bi_e0_, "%s: %s failed without GSL_ERROR", bi_label(), #call);  \
    bi_check_last_error(#call, bi_got_);                                                      \
  } while (0)

/* The call must fail with one of two codes (e.g. GSL_EINVAL or GSL_ENOMEM for a size that
 * overflows), reported through GSL_ERROR. */
#define EXPECT_EITHER(call, a, b)                                                            \
  do {                                                                                       \
    size_t bi_e0_ = bi_errors();                                                             \
    ndpar_error_clear();                                                                     \
    int bi_got_ = (call);                                                                    \
    cr_assert(bi_got_ == (a) || bi_got_ == (b), "%s: %s returned %d (%s), want %s or %s",    \
              bi_label(), #call, bi_got_, gsl_strerror(bi_got_), gsl_strerror(a),            \
              gsl_strerror(b));                                                              \
    cr_assert_gt(bi_errors(), bi_e0_, "%s: %s failed without GSL_ERROR", bi_label(), #call); \
  } while (0)

/* The call must fail with exactly `want` without the GSL error handler (the error was
 * raised inside a task, where ndpar never calls it), and leave the error in
 * ndpar_error_last() on this thread, its message containing `text`. */
#define EXPECT_QUIET(call, want, text)                                                        \
  do {                                                                                        \
    size_t bi_e0_ = bi_errors();                                                              \
    ndpar_error_clear();                                                                      \
    int bi_got_ = (call);                                                                     \
    cr_assert_eq(bi_got_, (want), "%s: %s returned %d (%s), want %d (%s)", bi_label(), #call, \
                 bi_got_, gsl_strerror(bi_got_), (want), gsl_strerror(want));                 \
    cr_assert_eq(bi_errors(), bi_e0_, "%s: %s called the GSL error handler", bi_label(), #call); \
    cr_assert_eq(ndpar_error_last()->code, (want), "%s: %s: last error code %d", bi_label(),  \
                 #call, ndpar_error_last()->code);                                            \
    cr_assert(strstr(ndpar_error_last()->message, (text)) != NULL,                            \
              "%s: %s: the last error \"%s\" lacks \"%s\"", bi_label(), #call,                \
              ndpar_error_last()->message, (text));                                           \
  } while (0)

/* A call that must succeed. */
#define EXPECT_OK(call)                                                                            \
  do {                                                                                             \
    int bi_got_ = (call);                                                                          \
    cr_assert_eq(bi_got_, GSL_SUCCESS, "%s: %s returned %d (%s), want success", bi_label(), #call, \
                 bi_got_, gsl_strerror(bi_got_));                                                  \
  } while (0)

/* A call returning a pointer that must be NULL, with the error through GSL_ERROR. */
#define EXPECT_NULL(call)                                                                    \
  do {                                                                                       \
    size_t bi_e0_ = bi_errors();                                                             \
    ndpar_error_clear();                                                                     \
    const void *bi_p_ = (call);                                                              \
    cr_assert_null(bi_p_, "%s: %s returned non-NULL", bi_label(), #call);                    \
    cr_assert_gt(bi_errors(), bi_e0_, "%s: %s failed without GSL_ERROR", bi_label(), #call); \
    bi_check_last_error(#call, 0);                                                           \
  } while (0)

#define EXPECT_TRUE(cond) cr_assert((cond), "%s: expected %s", bi_label(), #cond)

/* A matrix or vector filled with BI_SENTINEL, and the check that it still is. What the
 * bi_ helpers return is freed when the case ends: a leak report is the library's. */
gsl_matrix *bi_sentinel_matrix(size_t rows, size_t cols);
gsl_vector *bi_sentinel_vector(size_t n);
void bi_assert_untouched_matrix(const gsl_matrix *m, const char *name);
void bi_assert_untouched_vector(const gsl_vector *v, const char *name);
/* Holds p (if not NULL) until the case ends, then calls release(p); returns p. */
void *bi_hold(void *p, void (*release)(void *));
void bi_free_matrix(void *m);
void bi_free_vector(void *v);
void bi_free_pool(void *p);
/* A rows x cols matrix of small distinct values (i - j / 7); a vector of 0..n-1. */
gsl_matrix *bi_matrix(size_t rows, size_t cols);
gsl_vector *bi_vector(size_t n);
/* A pool of `threads` threads (unpinned, so cases never contend for cores). */
ndpar_pool *bi_pool(size_t threads);

/* Callbacks that do their job on any shape. */
int bi_predict_copy(const gsl_matrix *x, gsl_matrix *y, const ndpar_task *t, void *ctx);
int bi_task_ok(const ndpar_task *t, void *ctx);
int bi_range_ok(size_t begin, size_t end, const ndpar_task *t, void *ctx);
int bi_fit_score(const gsl_matrix *xtr, const gsl_vector *ytr, const gsl_matrix *xva,
                 const gsl_vector *yva, double *score, const ndpar_task *t, void *ctx);
int bi_param_fit_score(const void *params, size_t candidate, const gsl_matrix *xtr,
                       const gsl_vector *ytr, const gsl_matrix *xva, const gsl_vector *yva,
                       double *score, const ndpar_task *t, void *ctx);
int bi_grad(const gsl_matrix *x, const gsl_vector *y, gsl_vector *grad, double *loss,
            const ndpar_task *t, void *ctx);
int bi_chunk_ok(gsl_matrix *chunk, const ndpar_task *t, void *ctx);
int bi_workload(ndpar_pool *pool, void *ctx);

#endif
