/* The bad-input harness: the case registry, one child process per case, GSL's handler. */
#include "badinput.h"

#include <criterion/parameterized.h>
#include <ctype.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Huge allocations must come back NULL, as they do without a sanitizer, not abort. The
 * sanitizer runtime looks these up dynamically: exported despite -fvisibility=hidden. */
#define BI_EXPORT __attribute__((visibility("default")))
BI_EXPORT const char *__asan_default_options(void);
BI_EXPORT const char *__asan_default_options(void) { return "allocator_may_return_null=1"; }
BI_EXPORT const char *__tsan_default_options(void);
BI_EXPORT const char *__tsan_default_options(void) { return "allocator_may_return_null=1"; }

#define BI_MAX_CASES 1024

typedef struct {
  const char *fn, *what, *file;
  int line;
  void (*run)(void);
} bi_case;

static bi_case cases[BI_MAX_CASES];
static void release_held(void);
static size_t ncases;
static const bi_case *current;
static char label[256];

void bi_register(const char *fn, const char *what, const char *file, int line, void (*run)(void)) {
  if (ncases == BI_MAX_CASES) {
    fprintf(stderr, "badinput: more than %d cases: raise BI_MAX_CASES\n", BI_MAX_CASES);
    abort();
  }
  cases[ncases++] = (bi_case){fn, what, file, line, run};
}

const char *bi_label(void) { return label; }

/* ---- GSL's handler: count, and note errors raised off the calling thread ---- */

static pthread_t calling_thread;
static size_t errors, off_thread_errors;
static char off_thread_reason[256];

static void capture(const char *reason, const char *file, int line, int gsl_errno) {
  (void)file, (void)line, (void)gsl_errno;
  __atomic_add_fetch(&errors, 1, __ATOMIC_RELAXED);
  if (!pthread_equal(pthread_self(), calling_thread) &&
      __atomic_add_fetch(&off_thread_errors, 1, __ATOMIC_RELAXED) == 1)
    snprintf(off_thread_reason, sizeof off_thread_reason, "%s", reason);
}

size_t bi_errors(void) { return __atomic_load_n(&errors, __ATOMIC_RELAXED); }

/* A crash names its case before the signal goes on to its previous handler. */
static struct sigaction previous[NSIG];

static void name_the_crash(int sig) {
  char msg[400];
  int len = snprintf(msg, sizeof msg, "badinput: CRASH (signal %d) in case %s (%s:%d)\n", sig,
                     label, current ? current->file : "?", current ? current->line : 0);
  if (write(STDERR_FILENO, msg, (size_t)len) < 0) {
  }
  sigaction(sig, &previous[sig], NULL);
  raise(sig);
}

static void setup(void) {
  calling_thread = pthread_self();
  gsl_set_error_handler(capture);
  static const int sigs[] = {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL};
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = name_the_crash;
  for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++)
    sigaction(sigs[i], &sa, &previous[sigs[i]]);
}

ParameterizedTestParameters(badinput, every_case) {
  static size_t index[BI_MAX_CASES];
  for (size_t i = 0; i < ncases; i++) index[i] = i;
  return cr_make_param_array(size_t, index, ncases);
}

/* Runs after the case, also after a failed assertion: what it held goes back first. */
static void teardown(void) { release_held(); }

ParameterizedTest(size_t *i, badinput, every_case, .init = setup, .fini = teardown, .timeout = 60) {
  current = &cases[*i];
  snprintf(label, sizeof label, "%s: %s", current->fn, current->what);
  if (getenv("BADINPUT_TRACE")) fprintf(stderr, "badinput: case %s\n", label);
  current->run();
  cr_assert_eq(__atomic_load_n(&off_thread_errors, __ATOMIC_RELAXED), 0,
               "%s: GSL_ERROR raised on a worker thread: %s", label, off_thread_reason);
}

/* ---- the last error (ndpar_error_last) ---- */


/* Whether `word` occurs in `text` as a whole identifier. */
static int names_word(const char *text, const char *word, size_t len) {
  for (const char *at = strstr(text, word); at != NULL; at = strstr(at + 1, word)) {
    int before = at > text && (isalnum((unsigned char)at[-1]) || at[-1] == '_');
    int after = isalnum((unsigned char)at[len]) || at[len] == '_';
    if (!before && !after) return 1;
  }
  return 0;
}

/* Whether the message names one of the space-separated names. */
static int names_any(const char *message, const char *names) {
  for (const char *p = names; *p;) {
    while (*p == ' ') p++;
    size_t len = strcspn(p, " ");
    if (len > 0) {
      char word[64];
      snprintf(word, sizeof word, "%.*s", (int)len, p);
      if (names_word(message, word, len)) return 1;
    }
    p += len;
  }
  return 0;
}

static const char *params_for(const char *call) {
  size_t len = strcspn(call, "( ");
  for (size_t i = 0; i < bi_params_count; i++)
    if (strlen(bi_params_of[i].fn) == len && strncmp(bi_params_of[i].fn, call, len) == 0)
      return bi_params_of[i].params;
  return NULL;
}

static const char *unnamed_why;

void bi_unnamed(const char *why) { unnamed_why = why; }

void bi_check_last_error(const char *call, int code) {
  const ndpar_error_info *e = ndpar_error_last();
  int unnamed = unnamed_why != NULL;
  unnamed_why = NULL;
  if (code != 0)
    cr_assert_eq(e->code, code, "%s: %s returned %d, ndpar_error_last()->code is %d", label,
                 call, code, e->code);
  else
    cr_assert_neq(e->code, 0, "%s: %s failed, ndpar_error_last() has no error", label, call);
  cr_assert(e->message[0] != '\0', "%s: %s: ndpar_error_last() has no message", label, call);
  cr_assert(e->file[0] != '\0' && e->line > 0, "%s: %s: ndpar_error_last() has no file and line",
            label, call);
  const char *names = params_for(call);
  if (!unnamed && names != NULL && names[strspn(names, " ")] != '\0')
    cr_assert(names_any(e->message, names),
              "%s: %s: the last error \"%s\" names none of the parameters (%s)", label, call,
              e->message, names);
}

/* ---- what a case allocates through the helpers, freed when it ends, so that
 * LeakSanitizer's report at the child's exit is about the library alone ---- */

enum { BI_MAX_HELD = 256 };
static struct {
  void *p;
  void (*free)(void *);
} held[BI_MAX_HELD];
static size_t nheld;

void *bi_hold(void *p, void (*release)(void *)) {
  if (p == NULL) return NULL;
  cr_assert(nheld < BI_MAX_HELD, "badinput: raise BI_MAX_HELD");
  held[nheld].p = p;
  held[nheld++].free = release;
  return p;
}

void bi_free_matrix(void *m) { gsl_matrix_free(m); }
void bi_free_vector(void *v) { gsl_vector_free(v); }
void bi_free_pool(void *p) { ndpar_pool_free(p); }

static void release_held(void) {
  while (nheld > 0) {
    nheld--;
    held[nheld].free(held[nheld].p);
  }
}

/* ---- data ---- */

gsl_matrix *bi_sentinel_matrix(size_t rows, size_t cols) {
  gsl_matrix *m = bi_hold(gsl_matrix_alloc(rows, cols), bi_free_matrix);
  gsl_matrix_set_all(m, BI_SENTINEL);
  return m;
}

gsl_vector *bi_sentinel_vector(size_t n) {
  gsl_vector *v = bi_hold(gsl_vector_alloc(n), bi_free_vector);
  gsl_vector_set_all(v, BI_SENTINEL);
  return v;
}

void bi_assert_untouched_matrix(const gsl_matrix *m, const char *name) {
  for (size_t i = 0; i < m->size1; i++)
    for (size_t j = 0; j < m->size2; j++)
      cr_assert_eq(gsl_matrix_get(m, i, j), BI_SENTINEL, "%s: output %s written at (%zu, %zu)",
                   label, name, i, j);
}

void bi_assert_untouched_vector(const gsl_vector *v, const char *name) {
  for (size_t i = 0; i < v->size; i++)
    cr_assert_eq(gsl_vector_get(v, i), BI_SENTINEL, "%s: output %s written at %zu", label, name, i);
}

gsl_matrix *bi_matrix(size_t rows, size_t cols) {
  gsl_matrix *m = bi_hold(gsl_matrix_alloc(rows, cols), bi_free_matrix);
  for (size_t i = 0; i < rows; i++)
    for (size_t j = 0; j < cols; j++) gsl_matrix_set(m, i, j, (double)i - (double)j / 7.0);
  return m;
}

gsl_vector *bi_vector(size_t n) {
  gsl_vector *v = bi_hold(gsl_vector_alloc(n), bi_free_vector);
  for (size_t i = 0; i < n; i++) gsl_vector_set(v, i, (double)i);
  return v;
}

ndpar_pool *bi_pool(size_t threads) {
  ndpar_pool_config cfg;
  ndpar_pool_config_init(&cfg);
  cfg.threads = threads;
  cfg.bind = NDPAR_BIND_NONE;
  ndpar_pool *p = ndpar_pool_alloc(&cfg);
  cr_assert_not_null(p, "%s: a %zu-thread pool", label, threads);
  return bi_hold(p, bi_free_pool);
}

/* ---- callbacks ---- */

int bi_predict_copy(const gsl_matrix *x, gsl_matrix *y, const ndpar_task *t, void *ctx) {
  (void)t, (void)ctx;
  for (size_t i = 0; i < y->size1; i++)
    for (size_t j = 0; j < y->size2; j++)
      gsl_matrix_set(y, i, j, x->size2 ? gsl_matrix_get(x, i, j % x->size2) : 1.0);
  return GSL_SUCCESS;
}

int bi_task_ok(const ndpar_task *t, void *ctx) {
  (void)t, (void)ctx;
  return GSL_SUCCESS;
}

int bi_range_ok(size_t begin, size_t end, const ndpar_task *t, void *ctx) {
  (void)begin, (void)end, (void)t, (void)ctx;
  return GSL_SUCCESS;
}

int bi_fit_score(const gsl_matrix *xtr, const gsl_vector *ytr, const gsl_matrix *xva,
                 const gsl_vector *yva, double *score, const ndpar_task *t, void *ctx) {
  (void)xtr, (void)xva, (void)t, (void)ctx;
  *score = (double)ytr->size - (double)yva->size;
  return GSL_SUCCESS;
}

int bi_param_fit_score(const void *params, size_t candidate, const gsl_matrix *xtr,
                       const gsl_vector *ytr, const gsl_matrix *xva, const gsl_vector *yva,
                       double *score, const ndpar_task *t, void *ctx) {
  (void)params, (void)candidate;
  return bi_fit_score(xtr, ytr, xva, yva, score, t, ctx);
}

int bi_grad(const gsl_matrix *x, const gsl_vector *y, gsl_vector *grad, double *loss,
            const ndpar_task *t, void *ctx) {
  (void)x, (void)t, (void)ctx;
  gsl_vector_set_all(grad, (double)y->size);
  *loss = 1.0;
  return GSL_SUCCESS;
}

int bi_chunk_ok(gsl_matrix *chunk, const ndpar_task *t, void *ctx) {
  (void)chunk, (void)t, (void)ctx;
  return GSL_SUCCESS;
}

int bi_workload(ndpar_pool *pool, void *ctx) {
  (void)ctx;
  return ndpar_pool_run(pool, 4, bi_task_ok, NULL);
}
