/* ndpar_pool.h: persistent workers pinned to physical cores, fork-join runs over n tasks.
 *
 * A pool of T threads is the calling thread (worker slot 0) plus T-1 persistent workers
 * named ndpar-w1 .. ndpar-w<T-1>, each pinned to its own physical core. The caller takes
 * part in every run, as OpenMP's master thread does. Tasks are claimed dynamically in
 * chunks that each thread sizes to about 20 us of work from the time its last chunk took
 * (one index at a time for coarse tasks, thousands for tiny ones), capped as the run nears
 * its end (guided), so both millions of tiny tasks and a handful of uneven ones keep
 * every core busy.
 *
 * Several threads may call runs on one pool at once (application threads, the threads of
 * an `omp parallel` region): the runs proceed together, none waits for another to finish.
 * Each caller takes part in its own run as its slot 0, and each worker helps one run at a
 * time, moving to another run when its own has no tasks left or far fewer than the other;
 * while as many runs are open as the pool has threads, the callers keep every core busy
 * and the workers stand aside.
 * A caller that finds eight runs in flight on the pool runs its tasks inline.
 */
#ifndef NDPAR_POOL_H
#define NDPAR_POOL_H

#include <stddef.h>
#include "ndpar/ndpar_core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ndpar_pool ndpar_pool;

/* The most threads a pool may have (and the largest thread count any ndpar function
 * accepts: scalability's lists, the tools' --threads). */
#define NDPAR_MAX_THREADS 4096

typedef enum { NDPAR_BIND_CORES, NDPAR_BIND_NONE } ndpar_bind;

typedef struct {
  size_t threads;       /* 0: one per physical core this process may use */
  ndpar_bind bind;      /* NDPAR_BIND_CORES: pin each worker to one core */
  size_t min_parallel;  /* runs of fewer tasks than this run inline on the caller (>= 1) */
  unsigned spin_us;     /* how long an idle worker spins before it sleeps, microseconds
                           (0: never spin); runs that come at a steady pace are learnt
                           and spun for only around the time the next one is due */
} ndpar_pool_config;

/* Fills the defaults: threads from NDPAR_NUM_THREADS (else 0), bind from
 * NDPAR_BIND=cores|none (else cores), min_parallel 2, spin_us from NDPAR_SPIN_US (else 100).
 * An invalid value in the environment is ignored (and logged once: ndpar_set_log_handler). */
NDPAR_API void ndpar_pool_config_init(ndpar_pool_config *cfg);

/* A pool per the configuration (NULL: ndpar_pool_config_init's defaults). More threads
 * than cores works, with the workers unpinned (logged once: ndpar_set_log_handler, and
 * ndpar_pool_binding says so); a binding the system
 * refuses (ENOSYS, EXDEV) leaves the workers unpinned too. Returns NULL with a GSL error
 * (GSL_EINVAL for a bad configuration, GSL_ENOMEM, GSL_EFAILED if a thread cannot start). */
NDPAR_API ndpar_pool *ndpar_pool_alloc(const ndpar_pool_config *cfg);

/* Stops and joins the workers. Must not be called while a run on the pool is in progress
 * or from inside one of its tasks. NULL is a no-op. */
NDPAR_API void ndpar_pool_free(ndpar_pool *pool);

/* Threads taking part in a run, the caller included (>= 1). NULL: the default pool. */
NDPAR_API size_t ndpar_pool_threads(const ndpar_pool *pool);

/* NDPAR_BIND_CORES if every worker is pinned to its own core, else NDPAR_BIND_NONE. */
NDPAR_API ndpar_bind ndpar_pool_binding(const ndpar_pool *pool);

/* The process-wide pool that every function taking a pool uses when given NULL, created
 * on first use with the defaults (or as ndpar_pool_default_set configured it) and kept
 * until the process exits. In an MPI rank (the launcher's Open MPI, MPICH/Hydra or SLURM
 * variables say how many ranks share its node) it is the rank's share of the node: unbound
 * ranks split the node's cores by local rank, a rank alone on its node takes every core
 * (mpirun -np 1 binds it to one), a bound rank keeps to its binding; the same pool
 * ndpar_mpi_pool_default returns, so NULL means one pool in every call of the program. NULL if it cannot be created (with a GSL error); the next call
 * tries again, so a transient failure (threads that could not be started for the moment)
 * does not disable it. Safe to call from several threads. */
NDPAR_API ndpar_pool *ndpar_pool_default(void);

/* Sets the default pool's configuration between runs, as omp_set_num_threads does (NULL:
 * ndpar_pool_config_init's defaults, i.e. the environment again). Calls made afterwards with
 * a NULL pool use the new configuration. A handle from ndpar_pool_default() or a workspace
 * allocated for the default pool before the call keeps its pool (with its thread count) and
 * stays valid: replaced pools are kept asleep until the process exits, and setting their
 * configuration again takes them back. Returns GSL_SUCCESS; GSL_EINVAL for a bad
 * configuration (as ndpar_pool_alloc); GSL_EFAILED, the default pool unchanged, while a
 * parallel run on the default pool is in flight (from any thread), when called from inside a
 * task, or if the new pool's threads cannot start. Safe to call from several threads. */
NDPAR_API int ndpar_pool_default_set(const ndpar_pool_config *cfg);

/* Runs fn(task, ctx) once for every index in [0, n), in parallel, and returns when all
 * have finished. Returns GSL_SUCCESS, or the status of the failing task with the lowest
 * index among those that failed: the first failure stops new tasks from starting (tasks
 * already running finish). n = 0 is a no-op. A call from inside a task (of any pool) runs
 * inline on that thread, so nesting never oversubscribes or deadlocks: in the same pool as
 * the task's slot, in another pool as slot 0 (see ndpar_task for what that means for
 * scratch). Calls from several application threads at once proceed together (see the top of
 * this header): slots are exclusive within each run, and each index is one call whichever
 * thread makes it, so a task that computes from its index gives the same results. A call of fewer than
 * min_parallel tasks runs inline on its caller as slot 0. Inside a task ndpar's own calls
 * never call the GSL error handler (they return their code); a failed run leaves "task <i>
 * failed: ..." in ndpar_error_last() on the calling thread. GSL's own functions still call
 * the handler: a task returns a status instead, or the program captures them
 * (ndpar_capture_gsl_errors). fn NULL: GSL_EFAULT. */
NDPAR_API int ndpar_pool_run(ndpar_pool *pool, size_t n, ndpar_task_fn fn, void *ctx);

/* ndpar_pool_run, and on failure stores the failing task's index in *failed (if not
 * NULL); on success *failed is set to n; a rejected call leaves it untouched. */
NDPAR_API int ndpar_pool_run_ex(ndpar_pool *pool, size_t n, ndpar_task_fn fn, void *ctx,
                                size_t *failed);

/* The range form: fn(begin, end, task, ctx) over consecutive chunks [begin, end) that
 * together cover [0, n) once. task->index is begin. For loops whose body is too small to
 * pay a call per index. On failure *failed (if not NULL) is the begin of the failing chunk. */
typedef int (*ndpar_range_fn)(size_t begin, size_t end, const ndpar_task *task, void *ctx);
NDPAR_API int ndpar_pool_run_range(ndpar_pool *pool, size_t n, ndpar_range_fn fn, void *ctx,
                                   size_t *failed);

/* ndpar_pool_run_ex with a random stream per task: t->rng is a gsl_rng (taus2) seeded from
 * ndpar_stream_seed(seed, t->index), so what a task draws depends on (seed, index) alone, not
 * on the thread count or the worker that runs it (as batch Monte Carlo's streams). The
 * generator belongs to the run: valid during the task only. Allocates one generator per
 * thread for the call (a loop of many small runs keeps an ndpar_streams and calls
 * ndpar_streams_at itself). fn NULL: GSL_EFAULT; n = 0: a no-op, *failed = 0. */
NDPAR_API int ndpar_pool_run_streams(ndpar_pool *pool, size_t n, unsigned long seed,
                                     ndpar_task_fn fn, void *ctx, size_t *failed);

/* ---- GSL errors inside tasks (opt-in) ---------------------------------------------------
 * Most GSL functions report failure through the GSL error handler, whose default aborts.
 * ndpar_capture_gsl_errors() installs ndpar_gsl_capture_handler, which, on a thread running
 * a task of any pool (a worker, or the caller taking part), records the error's code,
 * reason, file and line for that task instead and returns, so that the GSL function returns
 * its error code to the callback as usual; when the task returns, the pool fails it with
 * that code (unless the task returned a non-zero status of its own, which wins), and the
 * run returns it as for any failing task. Called anywhere else, the handler calls the
 * handler that was installed before (GSL's default, printing and aborting, if none was).
 * The first error of a task is kept. Retrieve the failing task's error after the run with
 * ndpar_task_error_last on the thread that called the run. */
typedef struct {
  int code;         /* the GSL code; 0: no captured error */
  size_t index;     /* the index of the task it failed (range form: the chunk's begin) */
  int line;
  char file[128];   /* truncated to fit */
  char reason[256]; /* truncated to fit */
} ndpar_task_error;

/* Installs the capture handler (gsl_set_error_handler) and returns the handler it replaced,
 * which is what the capture handler calls outside tasks; reinstall that one to stop
 * capturing. Installing twice keeps the first replaced handler. */
NDPAR_API gsl_error_handler_t *ndpar_capture_gsl_errors(void);

/* The capture handler itself, for gsl_set_error_handler (its previous handler is then
 * GSL's default). */
NDPAR_API void ndpar_gsl_capture_handler(const char *reason, const char *file, int line,
                                         int gsl_errno);

/* The captured GSL error that failed the last run this thread called (any pool, any
 * module): its code, or 0 if that run succeeded or failed otherwise (a task returning a
 * status without a GSL error). Fills *err when err is not NULL (err->code 0 for none).
 * A view with the task's index: the same error is also the thread's ndpar_error_last(). */
NDPAR_API int ndpar_task_error_last(ndpar_task_error *err);

/* Physical cores this process may use: the topology's cores within its CPU binding
 * (taskset, cpusets), capped by a cgroup CPU quota (cpu.max, or cpu.cfs_quota_us). >= 1. */
NDPAR_API size_t ndpar_physical_cores(void);

#ifdef __cplusplus
}
#endif
#endif /* NDPAR_POOL_H */
