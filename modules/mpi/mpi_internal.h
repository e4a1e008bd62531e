/* mpi_internal.h: the communicator handling every ndpar_mpi function shares. */
#ifndef NDPAR_MPI_INTERNAL_H
#define NDPAR_MPI_INTERNAL_H

#include "ndpar/ndpar_mpi.h"

/* One collective call: the duplicated communicator and who is asking. */
typedef struct {
  MPI_Comm comm; /* ndpar's duplicate of the caller's, MPI_ERRORS_RETURN; MPI_COMM_NULL if none */
  int rank, size;
  const char *who;
  size_t index0, total; /* the global index of this rank's first batch; all ranks' batches */
  double weight;        /* the sum of every rank's coll_local weight */
} coll_call;

/* How an argument's 8 bytes are compared (bit for bit, always) and written in a message. */
typedef enum {
  COLL_INTEGER,    /* a signed count or code: %lld */
  COLL_UNSIGNED,   /* an unsigned long (a seed): %llu */
  COLL_DOUBLE,     /* a double's bits (coll_double_bits): %.17g, which round-trips */
  COLL_FINGERPRINT /* coll_hash of contents: no value is printed, only that they differ */
} coll_kind;

/* An argument that must be equal on every rank. */
typedef struct {
  const char *name;
  long long value;
  int code; /* GSL_EBADLEN for a size, GSL_EINVAL otherwise */
  coll_kind kind;
} coll_arg;

/* A double's bits as a coll_arg value (COLL_DOUBLE): equal bits, equal arguments. */
long long coll_double_bits(double v);

#define COLL_MAX_ARGS 12

/* What this rank brings to a call: the outcome of its own argument checks (already
 * reported here through GSL_ERROR), the arguments that must agree, its batch count. */
typedef struct {
  int checked;
  const coll_arg *args;
  size_t nargs; /* at most COLL_MAX_ARGS */
  size_t n_local;
  double weight; /* summed over the ranks into coll_call.weight (the gradient's rows) */
} coll_local;

/* Opens a collective call in one round: checks that MPI can be used from this thread with
 * pool p (NULL: ndpar_mpi_pool_default(), into *pool), takes ndpar's duplicate of comm
 * (made on the first call with comm and cached on it: freed with comm, or at
 * MPI_Finalize), and gathers every rank's coll_local. Then, identically on every rank:
 * the lowest rank whose checks failed gives its code (the other ranks report "rank r
 * failed"); else the first argument that differs from rank 0's, on the lowest rank where
 * it does, gives its code with a message naming both; else c->index0, c->total and
 * c->weight are set and GSL_SUCCESS returned. */
int coll_open(coll_call *c, const char *who, MPI_Comm comm, ndpar_pool **pool,
              const coll_local *mine);

/* An MPI return code as a GSL one: GSL_SUCCESS, or GSL_EFAILED reported with MPI's own
 * message and what was being done. */
int coll_check(const coll_call *c, int rc, const char *what);

/* Every rank's status in, the status of the lowest failing rank out, on every rank. With
 * report, the ranks that did not fail call the GSL error handler naming that rank (a
 * failing rank has reported its own error already). */
int coll_agree(const coll_call *c, int status, int report);

/* FNV-1a over n bytes: a fingerprint of contents that must agree (parameter arrays). */
long long coll_hash(const void *data, size_t n);

#endif
