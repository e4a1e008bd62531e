/* comm.c: opening a collective call: MPI state and thread checks, ndpar's duplicate of the
 * caller's communicator, and agreeing on errors and arguments over the ranks in one round. */
#include "mpi/mpi_internal.h"
#include "ndpar_internal.h"

#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* ---- ndpar's duplicates, cached on the caller's communicators ----
 * Duplicating costs a collective round (a new context id) per call; a training loop calls
 * once per step. So the duplicate is made once and kept as an attribute of the caller's
 * communicator, freed by the attribute's delete callback when the caller frees it. Those
 * never freed (MPI_COMM_WORLD) are freed at MPI_Finalize, which deletes MPI_COMM_SELF's
 * attributes first: a registry of the live duplicates hangs there. */

typedef struct cached_dup {
  MPI_Comm parent, dup;
  struct cached_dup *next;
} cached_dup;

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static void free_op(void);
static cached_dup *live;
static int dup_key = MPI_KEYVAL_INVALID, finalize_key = MPI_KEYVAL_INVALID;

static void unlink_dup(cached_dup *d) {
  pthread_mutex_lock(&cache_lock);
  for (cached_dup **at = &live; *at; at = &(*at)->next)
    if (*at == d) {
      *at = d->next;
      break;
    }
  pthread_mutex_unlock(&cache_lock);
}

static int free_dup(MPI_Comm comm, int key, void *attr, void *extra) {
  (void)comm, (void)key, (void)extra;
  cached_dup *d = attr;
  unlink_dup(d);
  MPI_Comm_free(&d->dup);
  free(d);
  return MPI_SUCCESS;
}

/* At MPI_Finalize: the attribute of every caller's communicator still alive (which frees
 * its duplicate through free_dup), then the keys and the agreement operation. */
static int free_all(MPI_Comm comm, int key, void *attr, void *extra) {
  (void)comm, (void)key, (void)attr, (void)extra;
  for (;;) {
    pthread_mutex_lock(&cache_lock);
    MPI_Comm parent = live ? live->parent : MPI_COMM_NULL;
    pthread_mutex_unlock(&cache_lock);
    if (parent == MPI_COMM_NULL || MPI_Comm_delete_attr(parent, dup_key) != MPI_SUCCESS) break;
  }
  MPI_Comm_free_keyval(&dup_key);
  MPI_Comm_free_keyval(&finalize_key);
  free_op();
  return MPI_SUCCESS;
}

static int make_keys(void) {
  if (dup_key != MPI_KEYVAL_INVALID) return MPI_SUCCESS;
  int rc = MPI_Comm_create_keyval(MPI_COMM_NULL_COPY_FN, free_dup, &dup_key, NULL);
  if (rc == MPI_SUCCESS) rc = MPI_Comm_create_keyval(MPI_COMM_NULL_COPY_FN, free_all, &finalize_key, NULL);
  if (rc == MPI_SUCCESS) rc = MPI_Comm_set_attr(MPI_COMM_SELF, finalize_key, NULL);
  return rc;
}

/* ndpar's duplicate of comm: the cached one, or a new one (collective over comm). */
static int duplicate_of(MPI_Comm comm, MPI_Comm *out) {
  pthread_mutex_lock(&cache_lock);
  int rc = make_keys(), found = 0;
  cached_dup *d = NULL;
  if (rc == MPI_SUCCESS) rc = MPI_Comm_get_attr(comm, dup_key, &d, &found);
  pthread_mutex_unlock(&cache_lock);
  if (rc != MPI_SUCCESS) return rc;
  if (found) {
    *out = d->dup;
    return MPI_SUCCESS;
  }
  if ((d = malloc(sizeof *d)) == NULL) return MPI_ERR_NO_MEM;
  d->parent = comm;
  rc = MPI_Comm_dup(comm, &d->dup);
  if (rc != MPI_SUCCESS) {
    free(d);
    return rc;
  }
  MPI_Comm_set_errhandler(d->dup, MPI_ERRORS_RETURN);
  pthread_mutex_lock(&cache_lock);
  d->next = live;
  live = d;
  rc = MPI_Comm_set_attr(comm, dup_key, d);
  pthread_mutex_unlock(&cache_lock);
  *out = d->dup;
  return rc;
}

/* ---- one round of agreement ----
 * Every rank's status, batch count and arguments are reduced by one allreduce with an
 * associative, non-commutative operation (MPI applies it in rank order): the lowest
 * failing rank and its code, the batch total, and per argument rank 0's value and the
 * first rank whose value differs. Its memory is fixed whatever the number of ranks. The
 * batch offset comes from an exclusive scan started at the same time. */

typedef struct {
  long long first_rank, fail_rank, fail_code, batches;
  double weight; /* the same size as a long long: the type is INFO_WORDS of them */
  long long ref[COLL_MAX_ARGS];       /* the values of the span's first rank */
  long long diff_rank[COLL_MAX_ARGS]; /* the span's first rank with another value, or -1 */
  long long diff_value[COLL_MAX_ARGS];
} coll_info;

#define INFO_WORDS ((int)(sizeof(coll_info) / sizeof(long long)))
_Static_assert(sizeof(double) == sizeof(long long), "coll_info is an array of 8-byte words");

/* inout = in (the lower ranks) followed by inout (the higher ones). */
static void agree_op(void *vin, void *vinout, int *len, MPI_Datatype *type) {
  (void)type;
  const coll_info *in = vin;
  coll_info *io = vinout;
  for (int e = 0; e < *len; e++, in++, io++) {
    coll_info lo = *in, hi = *io;
    io->first_rank = lo.first_rank;
    if (lo.fail_rank >= 0) io->fail_rank = lo.fail_rank, io->fail_code = lo.fail_code;
    io->batches = lo.batches + hi.batches;
    io->weight = lo.weight + hi.weight;
    for (int i = 0; i < COLL_MAX_ARGS; i++) {
      io->ref[i] = lo.ref[i];
      if (lo.diff_rank[i] >= 0) {
        io->diff_rank[i] = lo.diff_rank[i];
        io->diff_value[i] = lo.diff_value[i];
      } else if (hi.ref[i] != lo.ref[i]) {
        io->diff_rank[i] = hi.first_rank;
        io->diff_value[i] = hi.ref[i];
      } /* else: hi's own first difference, already in place */
    }
  }
}

static MPI_Datatype info_type = MPI_DATATYPE_NULL;
static MPI_Op info_op = MPI_OP_NULL;

static int make_op(void) {
  if (info_op != MPI_OP_NULL) return MPI_SUCCESS;
  int rc = MPI_Type_contiguous(INFO_WORDS, MPI_LONG_LONG, &info_type);
  if (rc == MPI_SUCCESS) rc = MPI_Type_commit(&info_type);
  if (rc == MPI_SUCCESS) rc = MPI_Op_create(agree_op, 0, &info_op);
  return rc;
}

static void free_op(void) {
  if (info_op != MPI_OP_NULL) MPI_Op_free(&info_op);
  if (info_type != MPI_DATATYPE_NULL) MPI_Type_free(&info_type);
}

long long coll_double_bits(double v) {
  long long b;
  memcpy(&b, &v, sizeof b);
  return b;
}

/* One argument's value as its kind reads (a double's bits as the double, not an integer). */
static void format_value(char *buf, size_t size, coll_kind kind, long long v) {
  double d;
  switch (kind) {
    case COLL_UNSIGNED:
      snprintf(buf, size, "%llu", (unsigned long long)v);
      return;
    case COLL_DOUBLE:
      memcpy(&d, &v, sizeof d);
      snprintf(buf, size, "%.17g", d);
      return;
    default:
      snprintf(buf, size, "%lld", v);
      return;
  }
}

/* The message of the first argument that differs: both values as their kind reads them. */
static int report_difference(const coll_call *c, const coll_arg *arg, long long rank,
                             long long theirs, long long ours) {
  if (arg->kind == COLL_FINGERPRINT)
    return ndpar_error_fmt(arg->code, __FILE__, __LINE__,
                           "%s: %s differ between ranks: rank %lld's are not rank 0's", c->who,
                           arg->name, rank);
  char a[40], b[40];
  format_value(a, sizeof a, arg->kind, theirs);
  format_value(b, sizeof b, arg->kind, ours);
  return ndpar_error_fmt(arg->code, __FILE__, __LINE__,
                         "%s: %s differs between ranks: rank %lld has %s, rank 0 has %s", c->who,
                         arg->name, rank, a, b);
}

static int report(const coll_call *c, const coll_info *all, const coll_local *mine, int status) {
  if (all->fail_rank >= 0) {
    int code = (int)all->fail_code;
    if (status == GSL_SUCCESS) /* a failing rank has reported its own error */
      ndpar_error_fmt(code, __FILE__, __LINE__, "%s: rank %lld failed (%s); see its message", c->who,
                      all->fail_rank, gsl_strerror(code));
    return code;
  }
  for (size_t i = 0; i < mine->nargs; i++)
    if (all->diff_rank[i] >= 0)
      return report_difference(c, &mine->args[i], all->diff_rank[i], all->diff_value[i], all->ref[i]);
  return GSL_SUCCESS;
}

static int gather(coll_call *c, const coll_local *mine, int status) {
  coll_info me = {c->rank, status ? c->rank : -1, status, (long long)mine->n_local, mine->weight, {0}, {0}, {0}},
            all;
  for (size_t i = 0; i < COLL_MAX_ARGS; i++) {
    me.ref[i] = i < mine->nargs ? mine->args[i].value : 0;
    me.diff_rank[i] = -1;
  }
  unsigned long long n = mine->n_local, before = 0;
  MPI_Request req[2];
  pthread_mutex_lock(&cache_lock);
  int rc = make_op();
  pthread_mutex_unlock(&cache_lock);
  if (rc == MPI_SUCCESS) rc = MPI_Iallreduce(&me, &all, 1, info_type, info_op, c->comm, &req[0]);
  if (rc == MPI_SUCCESS) rc = MPI_Iexscan(&n, &before, 1, MPI_UNSIGNED_LONG_LONG, MPI_SUM, c->comm, &req[1]);
  /* Real statuses, not MPI_STATUSES_IGNORE: MPICH defines that as (MPI_Status *)1, which
   * GCC's -Wstringop-overflow takes for a write to an empty region. */
  MPI_Status statuses[2];
  if (rc == MPI_SUCCESS) rc = MPI_Waitall(2, req, statuses);
  if (rc != MPI_SUCCESS) return coll_check(c, rc, "agreeing on the arguments");
  c->index0 = c->rank == 0 ? 0 : (size_t)before; /* MPI_Exscan leaves rank 0's undefined */
  c->total = (size_t)all.batches;
  c->weight = all.weight;
  return report(c, &all, mine, status);
}

int coll_open(coll_call *c, const char *who, MPI_Comm comm, ndpar_pool **pool,
              const coll_local *mine) {
  *c = (coll_call){MPI_COMM_NULL, 0, 1, who, 0, 0, 0.0};
  int initialised = 0, finalised = 0;
  MPI_Initialized(&initialised);
  if (initialised) MPI_Finalized(&finalised);
  if (!initialised || finalised)
    NDPAR_ERROR_FMT(GSL_EINVAL, "%s: MPI is %s", who,
                    initialised ? "finalised already" : "not initialised (call MPI_Init_thread first)");
  if (comm == MPI_COMM_NULL) NDPAR_ERROR_FMT(GSL_EINVAL, "%s: comm is MPI_COMM_NULL", who);
  int status = mine->checked;
  if (status == GSL_SUCCESS && *pool == NULL && (*pool = ndpar_mpi_pool_default()) == NULL)
    status = GSL_EFAILED;
  if (status == GSL_SUCCESS) status = check_thread(who, ndpar_pool_threads(*pool));
  int rc = duplicate_of(comm, &c->comm);
  if (rc != MPI_SUCCESS) {
    c->comm = MPI_COMM_NULL;
    return coll_check(c, rc, "duplicating the communicator");
  }
  MPI_Comm_rank(c->comm, &c->rank);
  MPI_Comm_size(c->comm, &c->size);
  return gather(c, mine, status);
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

long long coll_hash(const void *data, size_t n) {
  const unsigned char *b = data;
  uint64_t h = 14695981039346656037u;
  for (size_t i = 0; b && i < n; i++) h = (h ^ b[i]) * 1099511628211u;
  return (long long)h;
}
