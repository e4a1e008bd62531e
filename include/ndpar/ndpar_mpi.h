/* ndpar_mpi.h: ndpar across processes with MPI: distributed search and cross-validation,
 * a gradient allreduce (fast, or reproducible for any number of ranks), and batch
 * inference whose random streams do not depend on how the batches are spread.
 *
 * Hybrid model: one rank per node (or per socket), each running its own pool on the cores
 * it is bound to. Every function is collective over comm: every rank of comm calls it
 * with the same shared arguments (grid, folds, options, sizes, mode) and its own local
 * batches. Only the calling thread calls MPI, so MPI_THREAD_FUNNELED is enough (and
 * MPI_THREAD_SINGLE with a one-thread pool). ndpar works on a duplicate of comm whose
 * error handler is MPI_ERRORS_RETURN, turns MPI failures into GSL_EFAILED, and agrees on
 * every error collectively: when one rank finds a bad argument, or one rank's callback
 * fails, every rank returns the same code (the lowest failing rank's), and the GSL error
 * handler is called on every rank with a message that names the rank and the argument.
 * Arguments that must agree and differ between ranks give GSL_EBADLEN (sizes) or
 * GSL_EINVAL (modes, flags, contents), naming the first rank that differs from rank 0.
 * MPI not initialised (or already finalised), MPI_COMM_NULL, or a thread level below
 * MPI_THREAD_FUNNELED with a pool of more than one thread: GSL_EINVAL.
 *
 * A NULL pool means this rank's share of its node: ndpar_mpi_pool_default(). Link with
 * libndpar_mpi and libndpar (pkg-config ndpar-mpi); compile with mpicc.
 */
#ifndef NDPAR_MPI_H
#define NDPAR_MPI_H

#include <mpi.h>
#include "ndpar/ndpar_batch.h"
#include "ndpar/ndpar_grad.h"
#include "ndpar/ndpar_grid.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A pool for this rank (cfg NULL: ndpar_pool_config_init's defaults). A rank whose cores
 * are its own (mpirun --bind-to core with a share of cores each, srun --cpu-bind) keeps to
 * them, as every pool does. Ranks of one node that see the same cores (all of the node's
 * with mpirun --bind-to none; a socket's with --bind-to socket) split those cores between
 * them (MPI_Comm_split_type(MPI_COMM_TYPE_SHARED), then by core set), in local-rank order,
 * the first (cores % ranks) one more, and the calling thread is bound to its share, so no
 * two workers of one node are pinned to one core. cfg->threads = 0 then means the share's
 * size. Collective over comm. NULL with a GSL error on failure. */
NDPAR_API ndpar_pool *ndpar_mpi_pool_alloc(MPI_Comm comm, const ndpar_pool_config *cfg);

/* The pool every ndpar_mpi function uses when given NULL: the process's default pool
 * (ndpar_pool_default), so NULL means this one pool in every call of an MPI program, the
 * other modules' included. Made by the first use and kept until exit, without communicating
 * (so that any rank may call first): a rank that may run on every core of its machine and
 * whose launcher says how many ranks share the node (Open MPI, MPICH/Hydra or SLURM
 * variables) takes its share by local rank, as ndpar_mpi_pool_alloc does; a rank alone on
 * its node takes every core (whatever mpirun -np 1 bound it to); any other rank keeps to its
 * binding. Ranks bound to a socket with others: pass ndpar_mpi_pool_alloc's pool. NULL with
 * a GSL error on failure. */
NDPAR_API ndpar_pool *ndpar_mpi_pool_default(void);

/* The grid search of ndpar_grid_search_opts over every rank: the candidates x folds tasks
 * are handed out in chunks of the asking rank's pool size from a counter on rank 0
 * (MPI_Fetch_and_op), so a rank that finishes asks for more and a slow candidate holds up
 * only the workers running it. Each rank's chunks run on its pool; the scores are then
 * combined and summarised by the same code as in one process, so the result on every
 * rank is bit for bit ndpar_grid_search's (scores, mean, sd, rank, status, best) for any
 * number of ranks, given a callback whose score depends on its arguments alone. Every
 * rank passes the same grid, folds and flags and the same x, y (each rank scores folds of
 * the whole data). Progress (opts->progress) is reported on rank 0 as candidates complete
 * on any rank. Errors as ndpar_grid_search, agreed over the ranks. */
NDPAR_API int ndpar_mpi_grid_search(MPI_Comm comm, ndpar_pool *p, const ndpar_grid *g,
                                    const gsl_matrix *x, const gsl_vector *y,
                                    const ndpar_folds *folds, ndpar_param_fit_score_fn f,
                                    void *ctx, ndpar_grid_result *result);
NDPAR_API int ndpar_mpi_grid_search_opts(MPI_Comm comm, ndpar_pool *p, const ndpar_grid *g,
                                         const gsl_matrix *x, const gsl_vector *y,
                                         const ndpar_folds *folds, ndpar_param_fit_score_fn f,
                                         void *ctx, const ndpar_grid_options *opts,
                                         ndpar_grid_result *result);
/* The caller's parameter structs (n of `size` bytes). They are compared between ranks byte
 * for byte (a hash), so give every rank the same bytes: zero the structs' padding (memset
 * before filling them) or use structs without padding. */
NDPAR_API int ndpar_mpi_grid_search_params(MPI_Comm comm, ndpar_pool *p, const void *params,
                                           size_t size, size_t n, const gsl_matrix *x,
                                           const gsl_vector *y, const ndpar_folds *folds,
                                           ndpar_param_fit_score_fn f, void *ctx,
                                           const ndpar_grid_options *opts,
                                           ndpar_grid_result *result);

/* ndpar_grid_search_model across the ranks: every (candidate, fold) fit of a clone of m
 * runs on one rank, the scores are combined as for ndpar_mpi_grid_search, and with
 * NDPAR_GRID_REFIT every rank fits the best candidate on all of (x, y) (the same model on
 * every rank: ndpar_grid_result_model). One score per fold, the ranking one
 * (opts->scores[opts->rank_score], default NDPAR_SCORE_NEG_MSE): result is
 * ndpar_grid_result_alloc(candidates, folds), and its scores, mean, sd, rank and best are
 * ndpar_grid_search_model's bit for bit, for any number of ranks and threads. Every rank
 * passes the same grid, data, folds, model and options; argument errors are found alike on
 * every rank before any communication. */
NDPAR_API int ndpar_mpi_grid_search_model(MPI_Comm comm, ndpar_pool *p, const ndpar_grid *g,
                                          const gsl_matrix *x, const gsl_matrix *y,
                                          const ndpar_folds *folds, const ndpar_model *m,
                                          const ndpar_grid_options *opts,
                                          ndpar_grid_result *result);

/* ndpar_model_cross_validate over every rank: a clone of m fitted on each fold's training
 * rows and scored on its validation rows, the folds spread as ndpar_mpi_cv_run spreads
 * them; scores (one per fold) on every rank, bit for bit the one-process call's. Errors as
 * ndpar_model_cross_validate's and ndpar_mpi_cv_run's. */
NDPAR_API int ndpar_mpi_model_cross_validate(MPI_Comm comm, ndpar_pool *p, const ndpar_model *m,
                                             const gsl_matrix *x, const gsl_matrix *y,
                                             const ndpar_folds *folds, ndpar_score_kind kind,
                                             gsl_vector *scores);

/* ndpar_cv_run over every rank: the folds are spread as the search's tasks are, and
 * scores lands on every rank. A failing fold stops the run on every rank, which all
 * return the status of the lowest failing fold; scores is then untouched. */
NDPAR_API int ndpar_mpi_cv_run(MPI_Comm comm, ndpar_pool *p, const gsl_matrix *x,
                               const gsl_vector *y, const ndpar_folds *folds,
                               ndpar_fit_score_fn f, void *ctx, gsl_vector *scores);

/* The gradient and loss over every rank's batches: each rank passes its n_local batches
 * (n_local may be 0 on some ranks, not on all), and every rank receives the row-weighted
 * mean over all of them, as ndpar_grad_compute over the concatenation of every rank's
 * batches in rank order. The callback sees t->index = the batch's global index (the
 * batches of lower ranks first).
 *
 * NDPAR_REDUCE_FAST: the rank's sum by ndpar_grad_compute's fast mode, divided by every
 * rank's rows together, then summed over the ranks: one MPI_Allreduce of P + 2 doubles or,
 * past 2^17 parameters, one of two doubles (loss, failures) and then grad itself, in
 * place, in buckets; rounding depends on ranks and threads.
 * NDPAR_REDUCE_DETERMINISTIC: every rank sums into reproducible (binned) accumulators,
 * merged by one allreduce with an exact user operation: the result is bit for bit
 * ndpar_grad_compute(..., NDPAR_REDUCE_DETERMINISTIC, ...) in one process, for any number
 * of ranks and threads per rank. Memory O(threads x P) per rank, no gathering on one rank;
 * the allreduce moves 40 bytes per parameter instead of 8.
 *
 * Errors as ndpar_grad_compute, agreed over the ranks; grad's length (P) and mode must
 * agree (GSL_EBADLEN / GSL_EINVAL naming the rank). On any error grad and loss are
 * untouched on every rank, but for an MPI failure in the middle of a FAST sum past 2^17
 * parameters, which may leave grad partly written. */
NDPAR_API int ndpar_mpi_grad_compute(MPI_Comm comm, ndpar_pool *p, const gsl_matrix *const *x,
                                     const gsl_vector *const *y, size_t n_local,
                                     ndpar_grad_fn f, void *ctx, ndpar_reduce mode,
                                     gsl_vector *grad, double *loss);

/* ndpar_batch_infer of every rank's local batches, with t->index the global batch index.
 * A failure on any rank is returned on every rank. */
NDPAR_API int ndpar_mpi_batch_infer(MPI_Comm comm, ndpar_pool *p, const gsl_matrix *const *x,
                                    gsl_matrix *const *y, size_t n_local, ndpar_predict_fn f,
                                    void *ctx);

/* ndpar_batch_infer_mc of every rank's local batches, the stream of each (batch, sample)
 * derived from (seed, global batch index, sample): means and sds are bit for bit those of
 * one process over the concatenated batches, for any number of ranks. */
NDPAR_API int ndpar_mpi_batch_infer_mc(MPI_Comm comm, ndpar_pool *p, const gsl_matrix *const *x,
                                       size_t n_local, size_t samples, unsigned long seed,
                                       ndpar_predict_fn f, void *ctx, gsl_matrix *const *mean,
                                       gsl_matrix *const *sd);

/* The interval form (ndpar_batch_infer_mc_interval); *failed (if not NULL): the global
 * index of the failing batch on the lowest failing rank, the total batch count on success. */
NDPAR_API int ndpar_mpi_batch_infer_mc_interval(MPI_Comm comm, ndpar_pool *p,
                                                const gsl_matrix *const *x, size_t n_local,
                                                size_t samples, unsigned long seed, double level,
                                                ndpar_predict_fn f, void *ctx,
                                                gsl_matrix *const *mean, gsl_matrix *const *sd,
                                                gsl_matrix *const *lower,
                                                gsl_matrix *const *upper, size_t *failed);

#ifdef __cplusplus
}
#endif
#endif /* NDPAR_MPI_H */
