/* ranks.c: the default pool of a process that is one of several MPI ranks on its node: its
 * share of the node's cores, found from the launcher's environment without MPI (so that a
 * NULL pool means the same in every call of an MPI program, the mpi module's included). */
#include "ndpar_internal.h"
#include "pool/pool_internal.h"

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

void ndpar_cores_share(size_t n, size_t ranks, size_t rank, size_t *first, size_t *len) {
  size_t base = n / ranks, extra = n % ranks;
  *first = rank * base + (rank < extra ? rank : extra);
  *len = base + (rank < extra);
  if (*len == 0) { /* more ranks than cores: share one */
    *first = rank % n;
    *len = 1;
  }
}

ndpar_pool *ndpar_pool_on_share(const ndpar_pool_config *cfg, const ndpar_cores *node,
                                size_t first, size_t len) {
  ndpar_pool_config defaults;
  if (cfg == NULL) {
    ndpar_pool_config_init(&defaults);
    cfg = &defaults;
  }
  ndpar_cores mine = *node;
  mine.cpu = node->cpu + first;
  mine.count = len;
  cpu_set_t set;
  CPU_ZERO(&set);
  for (size_t i = 0; i < len; i++) CPU_SET(mine.cpu[i], &set);
  if (cfg->bind == NDPAR_BIND_CORES)
    pthread_setaffinity_np(pthread_self(), sizeof set, &set); /* refused: run unbound */
  return pool_alloc_on(cfg, &mine);
}

int ndpar_launcher_local(size_t *rank, size_t *size) {
  static const char *names[][2] = {{"OMPI_COMM_WORLD_LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_SIZE"},
                                   {"MPI_LOCALRANKID", "MPI_LOCALNRANKS"},
                                   {"SLURM_LOCALID", "SLURM_NTASKS_PER_NODE"}};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    const char *r = getenv(names[i][0]), *s = getenv(names[i][1]);
    if (r && s && atol(s) > 0 && atol(r) >= 0 && atol(r) < atol(s)) {
      *rank = (size_t)atol(r);
      *size = (size_t)atol(s);
      return 1;
    }
  }
  return 0;
}

ndpar_pool *ndpar_pool_rank_alloc(const ndpar_pool_config *cfg, int *status) {
  size_t rank, size;
  if (!ndpar_launcher_local(&rank, &size)) return ndpar_pool_alloc_status(cfg, status);
  const ndpar_cores *own = ndpar_cores_get(), *machine = ndpar_cores_machine();
  ndpar_pool *p = NULL;
  if (size > 1 && own->count == machine->count) { /* unbound ranks: split the node */
    size_t first, len;
    ndpar_cores_share(own->count, size, rank, &first, &len);
    p = ndpar_pool_on_share(cfg, own, first, len);
  } else if (size == 1 && own->count < machine->count) {
    /* Alone on its node: the launcher's binding (one core, by default, for mpirun -np 1 or
     * 2) is not the program's choice; every core of the node is this rank's. */
    p = ndpar_pool_on_share(cfg, machine, 0, machine->count);
  } else { /* bound by the launcher to a share of its own */
    return ndpar_pool_alloc_status(cfg, status);
  }
  *status = p != NULL ? GSL_SUCCESS : GSL_EFAILED;
  return p;
}
