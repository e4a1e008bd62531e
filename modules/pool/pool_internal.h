/* pool_internal.h: a pool on a given set of cores, for the mpi module, which splits a
 * node's cores between the ranks sharing it. Not installed. */
#ifndef NDPAR_POOL_INTERNAL_H
#define NDPAR_POOL_INTERNAL_H

#include "ndpar/ndpar_pool.h"
#include "pool/topology.h"

/* ndpar_pool_alloc with the workers on `cores` instead of the process's own cores
 * (cfg->threads = 0: cores->count threads; the caller is expected to run on cores->cpu[0]). */
ndpar_pool *pool_alloc_on(const ndpar_pool_config *cfg, const ndpar_cores *cores);

#endif
