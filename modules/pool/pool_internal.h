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

#endif
