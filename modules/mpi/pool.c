/* pool.c: a rank's pool: its own binding, or its share of an unbound node's cores. */
#include "mpi/mpi_internal.h"
#include "ndpar_internal.h"
#include "pool/pool_internal.h"

#include <stdlib.h>

/* The ranks of comm on this node that see the same cores as this one (unbound ranks all
 * do; ranks bound to one socket each do per socket), and this rank's place among them. */
static int peers(MPI_Comm comm, const ndpar_cores *cores, int *local, int *nlocal) {
  MPI_Comm node = MPI_COMM_NULL, same = MPI_COMM_NULL;
  int rc = MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
  if (rc != MPI_SUCCESS) return rc;
  int color = (int)(coll_hash(cores->cpu, cores->count * sizeof *cores->cpu) & 0x7fffffff);
  rc = MPI_Comm_split(node, color, 0, &same);
  if (rc == MPI_SUCCESS) rc = MPI_Comm_rank(same, local);
  if (rc == MPI_SUCCESS) rc = MPI_Comm_size(same, nlocal);
  if (same != MPI_COMM_NULL) MPI_Comm_free(&same);
  MPI_Comm_free(&node);
  return rc;
}

ndpar_pool *ndpar_mpi_pool_alloc(MPI_Comm comm, const ndpar_pool_config *cfg) {
  int initialised = 0;
  MPI_Initialized(&initialised);
  if (!initialised) GSL_ERROR_NULL("mpi_pool_alloc: MPI is not initialised", GSL_EINVAL);
  if (comm == MPI_COMM_NULL) GSL_ERROR_NULL("mpi_pool_alloc: comm is MPI_COMM_NULL", GSL_EINVAL);
  const ndpar_cores *cores = ndpar_cores_get();
  int local = 0, nlocal = 1, rc = peers(comm, cores, &local, &nlocal);
  if (rc != MPI_SUCCESS) {
    coll_call c = {.comm = MPI_COMM_NULL, .size = 1, .who = "mpi_pool_alloc"};
    coll_check(&c, rc, "finding the ranks that share this rank's cores");
    return NULL;
  }
  if (nlocal == 1) { /* its cores are its own; alone on its node, the node's (as the default) */
    int status;
    ndpar_pool *p = ndpar_pool_rank_alloc(cfg, &status);
    if (p == NULL) GSL_ERROR_NULL("mpi_pool_alloc: the pool could not be created", status);
    return p;
  }
  size_t first, len;
  ndpar_cores_share(cores->count, (size_t)nlocal, (size_t)local, &first, &len);
  return ndpar_pool_on_share(cfg, cores, first, len);
}

/* One pool for NULL in every call of an MPI program: the process's default pool, which is
 * the rank's share of its node (ndpar_pool_default, modules/pool/ranks.c). */
ndpar_pool *ndpar_mpi_pool_default(void) {
  ndpar_pool *p = ndpar_pool_default();
  if (p == NULL) GSL_ERROR_NULL("mpi_pool_default: the pool could not be created", GSL_EFAILED);
  return p;
}
