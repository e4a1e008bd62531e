/* comm.c: opening a collective call: MPI state and thread checks, the duplicated
 * communicator, and agreeing on errors and arguments over the ranks. */
#include "mpi/mpi_internal.h"
#include "ndpar_internal.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>

int coll_check(const coll_call *c, int rc, const char *what) {
  if (rc == MPI_SUCCESS) return GSL_SUCCESS;
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(rc, msg, &len) != MPI_SUCCESS) len = 0;
  msg[len] = '\0';
  return ndpar_error_fmt(GSL_EFAILED, __FILE__, __LINE__, "%s: MPI failed %s on rank %d: %s",
                         c->who, what, c->rank, msg);
}

/* This thread may call MPI with a pool of `threads` (local: no communication). */
static int check_thread(const char *who, size_t threads) {
  int level = MPI_THREAD_SINGLE, main_thread = 0;
  if (MPI_Query_thread(&level) != MPI_SUCCESS || MPI_Is_thread_main(&main_thread) != MPI_SUCCESS)
    NDPAR_ERROR_FMT(GSL_EFAILED, "%s: cannot query MPI's thread level", who);
  if (level < MPI_THREAD_FUNNELED && threads > 1)
    NDPAR_ERROR_FMT(GSL_EINVAL, "%s: MPI was initialised with MPI_THREAD_SINGLE, but the pool has "
                    "%zu threads: call MPI_Init_thread with MPI_THREAD_FUNNELED or use a "
                    "one-thread pool", who, threads);
  if (level < MPI_THREAD_SERIALIZED && !main_thread)
    NDPAR_ERROR_FMT(GSL_EINVAL, "%s: called from a thread other than the one that initialised MPI, "
                    "which MPI_THREAD_FUNNELED forbids", who);
  return GSL_SUCCESS;
}

int coll_open(coll_call *c, const char *who, MPI_Comm comm, ndpar_pool **pool) {
  *c = (coll_call){MPI_COMM_NULL, 0, 1, who};
  int initialised = 0, finalised = 0;
  MPI_Initialized(&initialised);
  if (initialised) MPI_Finalized(&finalised);
  if (!initialised || finalised)
    NDPAR_ERROR_FMT(GSL_EINVAL, "%s: MPI is %s", who,
                    initialised ? "finalised already" : "not initialised (call MPI_Init_thread first)");
  if (comm == MPI_COMM_NULL) NDPAR_ERROR_FMT(GSL_EINVAL, "%s: comm is MPI_COMM_NULL", who);
  int status = GSL_SUCCESS;
  if (*pool == NULL && (*pool = ndpar_mpi_pool_default()) == NULL) status = GSL_EFAILED;
  if (status == GSL_SUCCESS) status = check_thread(who, ndpar_pool_threads(*pool));
  MPI_Comm dup = MPI_COMM_NULL;
  int rc = MPI_Comm_dup(comm, &dup);
  if (rc != MPI_SUCCESS) return coll_check(c, rc, "duplicating the communicator");
  c->comm = dup;
  MPI_Comm_set_errhandler(dup, MPI_ERRORS_RETURN);
  MPI_Comm_rank(dup, &c->rank);
  MPI_Comm_size(dup, &c->size);
  status = coll_agree(c, status, 1);
  if (status) coll_close(c);
  return status;
}

void coll_close(coll_call *c) {
  if (c->comm != MPI_COMM_NULL) MPI_Comm_free(&c->comm);
  c->comm = MPI_COMM_NULL;
}

int coll_agree(const coll_call *c, int status, int report) {
  struct {
    int key, code;
  } in = {status ? c->rank : INT_MAX, status}, out;
  int rc = MPI_Allreduce(&in, &out, 1, MPI_2INT, MPI_MINLOC, c->comm);
  if (rc != MPI_SUCCESS) return coll_check(c, rc, "agreeing on errors");
  if (out.key == INT_MAX) return GSL_SUCCESS;
  if (report && status == GSL_SUCCESS) /* a failing rank has reported its own error */
    ndpar_error_fmt(out.code, __FILE__, __LINE__, "%s: rank %d failed (%s); see its message",
                    c->who, out.key, gsl_strerror(out.code));
  return out.code;
}

int coll_same_args(const coll_call *c, const coll_arg *args, size_t n) {
  long long *root = malloc((n ? n : 1) * sizeof *root);
  int status = root ? GSL_SUCCESS : GSL_ENOMEM;
  status = coll_agree(c, status, 0);
  if (status) {
    free(root);
    GSL_ERROR("mpi: out of memory", status);
  }
  for (size_t i = 0; i < n; i++) root[i] = args[i].value;
  int rc = MPI_Bcast(root, (int)n, MPI_LONG_LONG, 0, c->comm);
  struct {
    int field, rank;
  } in = {(int)n, c->rank}, out = {(int)n, 0};
  for (size_t i = 0; rc == MPI_SUCCESS && i < n; i++)
    if (args[i].value != root[i]) {
      in.field = (int)i;
      break;
    }
  if (rc == MPI_SUCCESS) rc = MPI_Allreduce(&in, &out, 1, MPI_2INT, MPI_MINLOC, c->comm);
  long long expected = out.field < (int)n ? root[out.field] : 0;
  free(root);
  if (rc != MPI_SUCCESS) return coll_check(c, rc, "comparing arguments");
  if (out.field == (int)n) return GSL_SUCCESS;
  const coll_arg *a = &args[out.field];
  if (out.rank == c->rank)
    return ndpar_error_fmt(a->code, __FILE__, __LINE__,
                           "%s: %s differs between ranks: rank %d has %lld, rank 0 has %lld",
                           c->who, a->name, c->rank, a->value, expected);
  return ndpar_error_fmt(a->code, __FILE__, __LINE__,
                         "%s: %s differs between ranks: rank %d's differs from rank 0's (%lld)",
                         c->who, a->name, out.rank, expected);
}

long long coll_hash(const void *data, size_t n) {
  const unsigned char *b = data;
  uint64_t h = 14695981039346656037u;
  for (size_t i = 0; b && i < n; i++) h = (h ^ b[i]) * 1099511628211u;
  return (long long)h;
}

int coll_offset(const coll_call *c, size_t n_local, size_t *first, size_t *total) {
  unsigned long long mine = n_local, before = 0, all = 0;
  int rc = MPI_Exscan(&mine, &before, 1, MPI_UNSIGNED_LONG_LONG, MPI_SUM, c->comm);
  if (rc == MPI_SUCCESS) rc = MPI_Allreduce(&mine, &all, 1, MPI_UNSIGNED_LONG_LONG, MPI_SUM, c->comm);
  if (rc != MPI_SUCCESS) return coll_check(c, rc, "counting the batches");
  *first = c->rank == 0 ? 0 : (size_t)before; /* MPI_Exscan leaves rank 0's undefined */
  *total = (size_t)all;
  return GSL_SUCCESS;
}
