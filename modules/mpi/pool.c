/* pool.c: a rank's pool: its own binding, or its share of an unbound node's cores. */
#include "mpi/mpi_internal.h"
#include "ndpar_internal.h"
#include "pool/pool_internal.h"

#include <hwloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

/* This rank's share of n cores among `ranks` local ranks: the first n % ranks ranks
 * take one more. A rank left without a core (more ranks than cores) shares one. */
static void share(size_t n, size_t ranks, size_t rank, size_t *first, size_t *len) {
  size_t base = n / ranks, extra = n % ranks;
  *first = rank * base + (rank < extra ? rank : extra);
  *len = base + (rank < extra);
  if (*len == 0) {
    *first = rank % n;
    *len = 1;
  }
}

/* Binds the calling thread to the share and allocates the pool on it. */
static ndpar_pool *pool_on_share(const ndpar_pool_config *cfg, const ndpar_cores *node,
                                 size_t first, size_t len) {
  ndpar_cores mine = *node;
  mine.cpu = node->cpu + first;
  mine.count = len;
  cpu_set_t set;
  CPU_ZERO(&set);
  for (size_t i = 0; i < len; i++) CPU_SET(mine.cpu[i], &set);
  if (cfg == NULL || cfg->bind == NDPAR_BIND_CORES)
    pthread_setaffinity_np(pthread_self(), sizeof set, &set); /* refused: run unbound */
  return pool_alloc_on(cfg, &mine);
}

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
  if (nlocal == 1) return ndpar_pool_alloc(cfg); /* its cores are its own */
  size_t first, len;
  share(cores->count, (size_t)nlocal, (size_t)local, &first, &len);
  return pool_on_share(cfg, cores, first, len);
}

/* The local rank and size from the launcher's environment, where the default pool must
 * be made without a collective call: Open MPI, MPICH/Hydra, SLURM. 0 if none says. */
static int env_local(size_t *rank, size_t *size) {
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

static ndpar_pool *default_pool;
static pthread_once_t default_once = PTHREAD_ONCE_INIT;

/* The physical cores of the whole machine, whatever this process is bound to. */
static size_t machine_cores(void) {
  hwloc_topology_t topo;
  size_t n = 0;
  if (hwloc_topology_init(&topo) != 0) return 0;
  hwloc_topology_set_all_types_filter(topo, HWLOC_TYPE_FILTER_KEEP_NONE);
  hwloc_topology_set_type_filter(topo, HWLOC_OBJ_CORE, HWLOC_TYPE_FILTER_KEEP_ALL);
  hwloc_topology_set_type_filter(topo, HWLOC_OBJ_PU, HWLOC_TYPE_FILTER_KEEP_ALL);
  if (hwloc_topology_load(topo) == 0) {
    int cores = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
    n = (size_t)(cores > 0 ? cores : hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU));
  }
  hwloc_topology_destroy(topo);
  return n;
}

/* A rank whose cores (as the process was first bound) are the whole machine is unbound,
 * and takes its share by its local rank; a bound one keeps to its binding. */
static void default_create(void) {
  const ndpar_cores *cores = ndpar_cores_get();
  size_t rank, size;
  if (env_local(&rank, &size) && size > 1 && cores->count == machine_cores()) {
    size_t first, len;
    share(cores->count, size, rank, &first, &len);
    default_pool = pool_on_share(NULL, cores, first, len);
  } else {
    default_pool = ndpar_pool_alloc(NULL);
  }
}

ndpar_pool *ndpar_mpi_pool_default(void) {
  pthread_once(&default_once, default_create);
  if (default_pool == NULL)
    GSL_ERROR_NULL("mpi_pool_default: the pool could not be created", GSL_EFAILED);
  return default_pool;
}
