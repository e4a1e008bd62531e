/* pool_internal.h: what the modules above the pool need beyond its public header. Not
 * installed. */
#ifndef NDPAR_POOL_INTERNAL_H
#define NDPAR_POOL_INTERNAL_H

#include "ndpar/ndpar_pool.h"
#include "pool/topology.h"

/* ndpar_pool_alloc, and the GSL code of its failure in *status (GSL_SUCCESS with a pool):
 * for callers that pass the real reason on (GSL_EINVAL, GSL_ENOMEM or GSL_EFAILED). */
ndpar_pool *ndpar_pool_alloc_status(const ndpar_pool_config *cfg, int *status);

/* The GSL error the capture handler recorded in the current thread's task (code 0: none),
 * and what the last run called on this thread failed with (capture.c). */
extern __thread ndpar_task_error ndpar_captured __attribute__((visibility("hidden")));
extern __thread ndpar_task_error ndpar_last_error __attribute__((visibility("hidden")));

/* Whether the current thread is running a task of some pool (pool.c). */
int ndpar_pool_in_task(void);

/* ndpar_pool_alloc with the workers on `cores` instead of the process's own cores
 * (cfg->threads = 0: cores->count threads; the caller is expected to run on cores->cpu[0]):
 * for the mpi module, which splits a node's cores between the ranks sharing it. */
ndpar_pool *pool_alloc_on(const ndpar_pool_config *cfg, const ndpar_cores *cores);

/* ---- MPI ranks (ranks.c; no MPI needed) ---- */

/* This rank's share of n cores among `ranks` local ranks, in local-rank order: the first
 * n % ranks ranks take one more; a rank left without a core (more ranks than cores) shares
 * one. */
void ndpar_cores_share(size_t n, size_t ranks, size_t rank, size_t *first, size_t *len);

/* A pool on node->cpu[first .. first + len) (cfg NULL: the defaults), the calling thread
 * bound to those cores when the configuration binds. */
ndpar_pool *ndpar_pool_on_share(const ndpar_pool_config *cfg, const ndpar_cores *node,
                                size_t first, size_t len);

/* This process's local rank and the ranks on its node, from the launcher's environment
 * (Open MPI, MPICH/Hydra, SLURM); 0 when none says (not an MPI rank, or not known). */
int ndpar_launcher_local(size_t *rank, size_t *size);

/* The default pool of this process (cfg NULL: the defaults): outside MPI, ndpar_pool_alloc.
 * A rank whose launcher says how many ranks share its node: unbound (it may run on every
 * core of the machine) and not alone, its share by local rank; alone on its node, every
 * core of the machine whatever the launcher bound it to; bound and not alone, its binding.
 * *status: GSL_SUCCESS, or the failure's code. */
ndpar_pool *ndpar_pool_rank_alloc(const ndpar_pool_config *cfg, int *status);

#endif
