/* ndpar_core.h: the data layer every ndpar module builds on.
 *
 * Data is GSL's (gsl_matrix batches, rows = samples), errors are GSL's codes reported
 * through GSL_ERROR from the calling thread, and every callback receives an ndpar_task.
 */
#ifndef NDPAR_CORE_H
#define NDPAR_CORE_H

#include <stddef.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_vector.h>
#include <gsl/gsl_rng.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NDPAR_VERSION "0.1.0"

/* NDPAR_API marks a declaration that libndpar exports. The library is built with hidden
 * visibility, so a function without the mark stays internal to the library. */
#if defined(__GNUC__)
#define NDPAR_API __attribute__((visibility("default")))
#else
#define NDPAR_API
#endif

/* The cache line size that per-worker data is padded and aligned to, so that no two
 * workers ever write the same line. 64 bytes on x86-64 and most AArch64 parts. */
#define NDPAR_CACHELINE 64

/* What every callback receives.
 * index:  the task's index in [0, n) of its run (for a range callback: the first index).
 * worker: the slot of the thread running it, in [0, threads); slot 0 is the calling thread.
 *         No two tasks of one run that execute at the same time share a slot, so scratch
 *         that belongs to the run (allocated per call, or by a workspace that one call
 *         uses at a time) and is indexed by slot needs no lock. Slots are not unique
 *         across runs: a run called from inside a task of another pool, or one too small
 *         to share, runs inline on its caller as slot 0 while another thread's run of the
 *         same pool may be using slot 0 too. Scratch kept across runs of a pool must
 *         therefore not be indexed by slot: use ndpar_thread_scratch (it belongs to the
 *         thread).
 * rng:    a random stream derived from (seed, index) alone, where the module says so;
 *         otherwise NULL. */
typedef struct {
  size_t index;
  unsigned worker;
  gsl_rng *rng;
} ndpar_task;

/* A per-task callback: return 0 (GSL_SUCCESS) or a non-zero status that stops the run. */
typedef int (*ndpar_task_fn)(const ndpar_task *task, void *ctx);

/* A predict callback, shared by the batch and ensemble modules: writes the prediction
 * for the input batch x (rows = samples) into the caller-allocated y, one output row per
 * input row. Return 0 or a status that stops the run; never call the GSL error handler. */
typedef int (*ndpar_predict_fn)(const gsl_matrix *x, gsl_matrix *y, const ndpar_task *t,
                                void *ctx);

/* ---- Arrays of batches as users hold them -------------------------------------------
 * Functions that read an array of batches declare it `const gsl_matrix *const *x` (they
 * change neither the array nor the matrices). An array built with gsl_matrix_alloc,
 * `gsl_matrix *x[n]`, does not convert to that type implicitly in C (GCC 14 makes it an
 * error). In C11 each such function is also a macro of the same name that accepts
 * gsl_matrix **, gsl_matrix *const *, const gsl_matrix ** and const gsl_matrix *const *
 * (and likewise for gsl_vector arrays) and passes them on unchanged, so
 *
 *   gsl_matrix *x[4], *y[4];              (each from gsl_matrix_alloc)
 *   ndpar_batch_infer(NULL, x, y, 4, f, ctx);
 *
 * compiles without a cast or a warning. Any other type goes to the function as it is, and
 * the compiler reports it as before. (ndpar_batch_infer) in parentheses names the function
 * itself; C++ and pre-C11 code pass const arrays or cast. */
#if !defined(__cplusplus) && defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define NDPAR_GENERIC_ARRAYS 1
#define NDPAR_MATRICES(x)                                             \
  _Generic((x), gsl_matrix **: (const gsl_matrix *const *)(x),        \
           gsl_matrix *const *: (const gsl_matrix *const *)(x),       \
           const gsl_matrix **: (const gsl_matrix *const *)(x),       \
           default: (x))
#define NDPAR_VECTORS(x)                                              \
  _Generic((x), gsl_vector **: (const gsl_vector *const *)(x),        \
           gsl_vector *const *: (const gsl_vector *const *)(x),       \
           const gsl_vector **: (const gsl_vector *const *)(x),       \
           default: (x))
#endif

/* ---- Padded per-worker slots -------------------------------------------------------
 * n slots of at least `bytes` each, every slot starting on its own cache line and
 * padded to a whole number of lines: for per-worker accumulators and scratch. */
typedef struct {
  void *base;     /* NDPAR_CACHELINE-aligned */
  size_t stride;  /* bytes between slots: a multiple of NDPAR_CACHELINE */
  size_t n;
} ndpar_slots;

/* Allocates zeroed slots; returns GSL_ENOMEM (through GSL_ERROR) on failure, GSL_EINVAL
 * if n slots of that size do not fit a size_t; slots untouched on any error. */
NDPAR_API int ndpar_slots_alloc(ndpar_slots *slots, size_t n, size_t bytes);
NDPAR_API void ndpar_slots_free(ndpar_slots *slots);
static inline void *ndpar_slots_at(const ndpar_slots *slots, size_t i) {
  return (char *)slots->base + i * slots->stride;
}

/* Rounds bytes up to a whole number of cache lines (0 bytes: one line). SIZE_MAX (not a
 * multiple of a line) when the result does not fit a size_t: an allocation of the result
 * then fails instead of succeeding small. */
NDPAR_API size_t ndpar_cacheline_round(size_t bytes);

/* ---- Thread-local scratch ----------------------------------------------------------
 * A cache-line-aligned buffer of at least `bytes`, owned by the calling thread and kept
 * across runs (the thread-local cache pattern): a pool's workers are persistent, so a
 * task asks for its scratch each time and allocates only when it needs more than before.
 * Freed when the thread exits, or by ndpar_thread_scratch_release(). 0 bytes is one line
 * (a thread that holds no buffer yet gets one). Returns NULL if the allocation fails or bytes does not fit a size_t once rounded to cache lines (never
 * calls the GSL error handler: it is safe on worker threads).
 * The buffer is valid until this thread's next call asks for more bytes than it holds, or
 * until ndpar_thread_scratch_release() or the thread's exit; its contents are not preserved
 * across a nested run on the same thread. */
NDPAR_API void *ndpar_thread_scratch(size_t bytes);
NDPAR_API void ndpar_thread_scratch_release(void);

/* ---- Random streams ----------------------------------------------------------------
 * A stream per task, derived from (seed, index) alone, so results do not depend on which
 * worker runs a task or how many workers there are. One gsl_rng per worker slot is
 * allocated up front; ndpar_streams_at() reseeds the worker's generator for a task. */
typedef struct ndpar_streams ndpar_streams;

/* The derived seed: SplitMix64's finaliser over seed and index (Steele, Lea, Flood,
 * "Fast splittable pseudorandom number generators", OOPSLA 2014). */
NDPAR_API unsigned long ndpar_stream_seed(unsigned long seed, size_t index);
NDPAR_API ndpar_streams *ndpar_streams_alloc(size_t workers, unsigned long seed);
NDPAR_API void ndpar_streams_free(ndpar_streams *s);
/* The generator of `worker`, reseeded for task `index`; NULL if s is NULL or worker is
 * not below the workers it was allocated for. The generator is gsl_rng_taus2
 * (L'Ecuyer's maximally equidistributed combined Tausworthe): it reseeds in a few
 * nanoseconds, where mt19937's 624-word state would cost a microsecond per task.
 * The generator belongs to the streams object: valid until the streams are freed, and
 * reseeded by the next ndpar_streams_at or ndpar_streams_at_pair for the same worker. */
NDPAR_API gsl_rng *ndpar_streams_at(ndpar_streams *s, unsigned worker, size_t index);

/* The generator of `worker`, reseeded for the pair (a, b), e.g. (batch, sample): the
 * stream depends on the pair alone, not on how many pairs there are. NULL as above. */
NDPAR_API gsl_rng *ndpar_streams_at_pair(ndpar_streams *s, unsigned worker, size_t a, size_t b);

/* ---- The last error ------------------------------------------------------------------
 * One error story for every module. A call that fails returns a GSL code, and records on
 * the calling thread what went wrong: the code, a message that names the function and the
 * argument ("batch_infer: y[1] is NULL") or the failing task, and the source file and line
 * where it was found. It is recorded whether the GSL error handler is on or off
 * (gsl_set_error_handler_off), so a program that turns the handler off loses nothing.
 * - On the calling thread GSL's convention stays: argument errors also go through the GSL
 *   error handler (GSL_ERROR), so a program's own gsl_set_error_handler sees them.
 * - Never from a thread ndpar started (pool workers, the streaming CSV reader's read-ahead
 *   thread, pipeline helpers) or from inside a task: there the error is only recorded, and
 *   comes back as the call's code.
 * - A run whose task failed records, on the thread that called the run, "task <i> failed:"
 *   and what the task's own failing ndpar call recorded (or the GSL code's text when the
 *   callback returned a status of its own).
 * The record is per thread and is overwritten by the next failing call on the thread; a
 * successful call may clear it, so read it right after the call that failed. */
typedef struct {
  int code;          /* the GSL code; 0: nothing recorded on this thread */
  int line;          /* where it was found */
  char file[128];    /* truncated to fit */
  char message[512]; /* names the function and the argument; truncated to fit */
} ndpar_error_info;

/* The calling thread's last error (never NULL; code 0 when none). The record belongs to the
 * thread: valid until the thread exits, overwritten by its next failing call. */
NDPAR_API const ndpar_error_info *ndpar_error_last(void);

/* Forgets the calling thread's last error (code 0). */
NDPAR_API void ndpar_error_clear(void);

/* ---- Messages -----------------------------------------------------------------------
 * The library writes nothing on its own. What it would say (an ignored NDPAR_* variable,
 * workers left unpinned) goes to the log handler if one is set, else to stderr if the
 * environment has NDPAR_VERBOSE=1, else nowhere; the state itself stays queryable
 * (ndpar_pool_binding, ndpar_pool_threads). The message has no trailing newline. */
typedef void (*ndpar_log_fn)(const char *message, void *ctx);

/* Sets the log handler (fn NULL: back to the default above). Safe from any thread; the
 * handler may be called from any thread, one call at a time. */
NDPAR_API void ndpar_set_log_handler(ndpar_log_fn fn, void *ctx);

/* ---- Timer -------------------------------------------------------------------------- */
/* Seconds on a monotonic clock (CLOCK_MONOTONIC): for intervals only. */
NDPAR_API double ndpar_time_now(void);

/* ---- Row batches as views ------------------------------------------------------------
 * A matrix split into consecutive batches of `batch_rows` rows (the last may be shorter),
 * each a view into the matrix: no copy. */
NDPAR_API size_t ndpar_rows_nbatches(size_t rows, size_t batch_rows);
/* Batch i of m (of v). A batch that does not exist (m or v NULL, batch_rows 0, or
 * i >= ndpar_rows_nbatches(rows, batch_rows)) gives an empty view: size 0, data NULL. */
NDPAR_API _gsl_matrix_const_view ndpar_rows_batch_const(const gsl_matrix *m, size_t batch_rows,
                                                        size_t i);
NDPAR_API _gsl_matrix_view ndpar_rows_batch(gsl_matrix *m, size_t batch_rows, size_t i);
NDPAR_API _gsl_vector_const_view ndpar_rows_batch_vector_const(const gsl_vector *v,
                                                              size_t batch_rows, size_t i);

#ifdef __cplusplus
}
#endif
#endif /* NDPAR_CORE_H */
