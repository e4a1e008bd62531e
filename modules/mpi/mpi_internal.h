/* mpi_internal.h: the communicator handling every ndpar_mpi function shares. */
#ifndef NDPAR_MPI_INTERNAL_H
#define NDPAR_MPI_INTERNAL_H

#include "ndpar/ndpar_mpi.h"

/* One collective call: the duplicated communicator and who is asking. */
typedef struct {
  MPI_Comm comm; /* duplicate of the caller's, MPI_ERRORS_RETURN; MPI_COMM_NULL if none */
  int rank, size;
  const char *who;
} coll_call;

/* Checks that MPI can be used from this thread with pool p (NULL: the default pool, made
 * here if needed, into *pool), duplicates comm and agrees on the outcome over the ranks.
 * On failure every rank returns the same GSL code and c->comm is MPI_COMM_NULL. */
int coll_open(coll_call *c, const char *who, MPI_Comm comm, ndpar_pool **pool);
void coll_close(coll_call *c);

/* An MPI return code as a GSL one: GSL_SUCCESS, or GSL_EFAILED reported with MPI's own
 * message and what was being done. */
int coll_check(const coll_call *c, int rc, const char *what);

/* Every rank's status in, the status of the lowest failing rank out, on every rank. With
 * report, the ranks that did not fail call the GSL error handler naming that rank (a
 * failing rank has reported its own error already). */
int coll_agree(const coll_call *c, int status, int report);

/* An argument that must be equal on every rank. */
typedef struct {
  const char *name;
  long long value;
  int code; /* GSL_EBADLEN for a size, GSL_EINVAL otherwise */
} coll_arg;

/* Compares every rank's args with rank 0's; the first argument that differs, on the
 * lowest rank where it does, gives its code on every rank with a message naming both. */
int coll_same_args(const coll_call *c, const coll_arg *args, size_t n);

/* FNV-1a over n bytes: a fingerprint of contents that must agree (parameter arrays). */
long long coll_hash(const void *data, size_t n);

/* The global index of this rank's first batch (an exclusive prefix sum of n_local) and
 * the total; GSL_EFAILED if MPI fails. */
int coll_offset(const coll_call *c, size_t n_local, size_t *first, size_t *total);

#endif
