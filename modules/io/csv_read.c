/* csv_read.c: a whole CSV file into a gsl_matrix, parsed in parallel pieces on the pool.
 *
 * The file is mapped and cut into pieces at line starts; a first parallel pass counts each
 * piece's records and lines (and notes quotes: if a record holds one, the pieces are cut
 * again at record starts and counted again); the matrix is allocated once, and a second
 * parallel pass parses each piece into its own rows. Each field is converted on its own, so
 * the matrix is the same bit for bit whatever the cut. Every pass drops the pages it has
 * passed, so the memory in use is the matrix plus a megabyte or two per thread. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "csv_guard.h"
#include "csv_internal.h"
#include "ndpar/ndpar_io.h"
#include "ndpar_internal.h"

/* ---- sources ------------------------------------------------------------------------- */

static int read_all(int fd, csv_source *src, const char *path, csv_fail *f) {
  size_t cap = 1 << 20, len = 0;
  char *buf = malloc(cap);
  for (;;) {
    if (buf == NULL) return csv_fail_set(f, GSL_ENOMEM, CSV_NO_LINE, 0, "out of memory");
    ssize_t got = read(fd, buf + len, cap - len);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      free(buf);
      return csv_fail_set(f, GSL_EFAILED, CSV_NO_LINE, 0, "cannot read: %s", strerror(errno));
    }
    if (got == 0) break;
    len += (size_t)got;
    if (len == cap) {
      char *grown = realloc(buf, cap *= 2);
      if (grown == NULL) free(buf);
      buf = grown;
    }
  }
  (void)path;
  src->owned = buf;
  src->data = buf;
  src->size = len;
  return GSL_SUCCESS;
}

int csv_source_open(csv_source *src, const char *path, csv_fail *f) {
  memset(src, 0, sizeof *src);
  src->guard = -1;
  src->fd = -1;
  int is_stdin = strcmp(path, "-") == 0;
  int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return csv_fail_set(f, GSL_EFAILED, CSV_NO_LINE, 0, "cannot open: %s", strerror(errno));
  struct stat st;
  int status = GSL_SUCCESS;
  void *map = MAP_FAILED;
  if (fstat(fd, &st) != 0) {
    status = csv_fail_set(f, GSL_EFAILED, CSV_NO_LINE, 0, "cannot read: %s", strerror(errno));
  } else if (S_ISDIR(st.st_mode)) {
    status = csv_fail_set(f, GSL_EFAILED, CSV_NO_LINE, 0, "cannot read: %s", strerror(EISDIR));
  } else if (S_ISREG(st.st_mode) && st.st_size > 0 &&
             (map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0)) == MAP_FAILED) {
    status = csv_fail_set(f, GSL_EFAILED, CSV_NO_LINE, 0, "cannot map: %s", strerror(errno));
  } else if (map != MAP_FAILED && (src->guard = csv_guard_add(map, (size_t)st.st_size)) >= 0) {
    madvise(map, (size_t)st.st_size, MADV_SEQUENTIAL);
    src->map = map;
    src->map_len = (size_t)st.st_size;
    src->data = map;
    src->size = (size_t)st.st_size;
    src->fd = fd;
    return GSL_SUCCESS;
  } else {
    /* standard input, a pipe, a file that says it is empty (those in /proc say so too), or
     * a mapping that cannot be guarded */
    if (map != MAP_FAILED) munmap(map, (size_t)st.st_size);
    status = read_all(fd, src, path, f);
  }
  if (!is_stdin) close(fd);
  return status;
}

int csv_source_close(csv_source *src, csv_fail *f) {
  int status = GSL_SUCCESS;
  if (src->map) {
    struct stat st;
    int shrunk = csv_guard_remove(src->guard);
    off_t now = fstat(src->fd, &st) == 0 ? st.st_size : -1;
    if (shrunk || (now >= 0 && (size_t)now < src->map_len))
      status = csv_fail_set(f, GSL_EBADLEN, CSV_NO_LINE, 0,
                            "the file shrank while it was read (%zu bytes when opened, %lld now)", src->map_len,
                            (long long)now);
    munmap(src->map, src->map_len);
    close(src->fd);
  }
  free(src->owned);
  memset(src, 0, sizeof *src);
  src->guard = -1;
  src->fd = -1;
  return status;
}

/* ---- pieces ------------------------------------------------------------------------- */

typedef struct {
  const csv_spec *spec;
  const char **cut;       /* npieces + 1 piece bounds */
  size_t npieces;
  size_t *records, *lines; /* per piece, from the counting pass */
  int *quoted;             /* per piece: a record holds a quote */
  size_t *row0;            /* per piece: its first row */
  gsl_matrix *x;
  csv_fail *fail;          /* per piece (code 0: parsed) */
  size_t first_failed;     /* the lowest failed piece so far (npieces: none); atomic */
} read_job;

/* Piece bounds about `target` bytes apart, each at a line start: right for a file whose
 * records hold no quote (the counting pass finds out). */
static size_t cut_at_lines(const char *data, const char *end, size_t target, const char **cut,
                           size_t max_pieces) {
  size_t n = 0;
  cut[n++] = data;
  for (const char *t = data + target; (size_t)(end - data) > target && t < end && n < max_pieces;) {
    const char *nl = memchr(t - 1, '\n', (size_t)(end - (t - 1)));
    if (nl == NULL || nl + 1 >= end) break;
    cut[n++] = nl + 1;
    if ((size_t)(end - (nl + 1)) <= target) break;
    t = nl + 1 + target;
  }
  cut[n] = end;
  return n;
}

/* Piece bounds at record starts, walking the records from the start (quoted fields may
 * hold line ends), releasing the pages passed. */
static size_t cut_at_records(const csv_spec *s, const char *data, const char *end, size_t target,
                             const char **cut, size_t max_pieces) {
  size_t n = 0, lines = 0;
  int quote = 0;
  cut[n++] = data;
  const char *released = data;
  for (const char *p = data; p < end && n < max_pieces;) {
    p = csv_record_end(s, p, end, &lines, &quote);
    if (p < end && (size_t)(p - cut[n - 1]) >= target) cut[n++] = p;
    if (s->release_pages && (size_t)(p - released) >= CSV_RELEASE_EVERY) {
      csv_release(released, p);
      released = p;
    }
  }
  if (s->release_pages) csv_release(released, end);
  cut[n] = end;
  return n;
}

static int count_piece(const ndpar_task *t, void *ctx) {
  read_job *j = ctx;
  size_t k = t->index;
  csv_count_span(j->spec, j->cut[k], j->cut[k + 1], &j->records[k], &j->lines[k], &j->quoted[k]);
  return GSL_SUCCESS;
}

/* Never fails the run: the pool would then skip pieces not yet started, some of them
 * before the failed one, and the first error in the file must be the one reported. Pieces
 * after a failed one are skipped instead. */
static int parse_piece(const ndpar_task *t, void *ctx) {
  read_job *j = ctx;
  size_t k = t->index;
  if (k > __atomic_load_n(&j->first_failed, __ATOMIC_RELAXED)) return GSL_SUCCESS;
  csv_progress pr;
  double *out = j->x->data + j->row0[k] * j->x->tda;
  int status = csv_parse_span(j->spec, j->cut[k], j->cut[k + 1], 1, out, j->x->tda,
                              j->records[k], &pr, &j->fail[k]);
  if (status == GSL_SUCCESS && (pr.rows != j->records[k] || pr.pos != j->cut[k + 1]))
    status = csv_fail_set(&j->fail[k], GSL_ESANITY, pr.lines, 0,
                          "records counted and parsed differ (a malformed quote?)");
  if (status != GSL_SUCCESS) {
    size_t seen = __atomic_load_n(&j->first_failed, __ATOMIC_RELAXED);
    while (k < seen && !__atomic_compare_exchange_n(&j->first_failed, &seen, k, 0, __ATOMIC_RELAXED,
                                                    __ATOMIC_RELAXED)) {
    }
  }
  return GSL_SUCCESS;
}

/* At most this many pieces (their bookkeeping is a few hundred bytes each). */
#define MAX_PIECES 4096

/* Piece size: a whole file per thread would leave cores idle at the end, and a thread
 * that is preempted (a shared machine) holds up the run for as long as its piece takes;
 * 16 pieces per thread, of at least 1 MiB, keep both short. Files under 1 MiB are one piece. */
static size_t piece_target(const ndpar_csv_options *opt, size_t bytes, size_t threads) {
  const size_t min_piece = (size_t)1 << 20;
  size_t t;
  if (opt->chunk_bytes) t = opt->chunk_bytes;
  else if (threads <= 1 || bytes < min_piece) t = bytes + 1;
  else t = bytes / (16 * threads) < min_piece ? min_piece : bytes / (16 * threads);
  return bytes / t >= MAX_PIECES ? bytes / (MAX_PIECES - 2) + 1 : t;
}

static int job_alloc(read_job *j, size_t max_pieces) {
  j->cut = malloc((max_pieces + 1) * sizeof *j->cut);
  j->records = calloc(max_pieces, sizeof *j->records);
  j->lines = calloc(max_pieces, sizeof *j->lines);
  j->row0 = calloc(max_pieces, sizeof *j->row0);
  j->fail = calloc(max_pieces, sizeof *j->fail);
  j->quoted = calloc(max_pieces, sizeof *j->quoted);
  return j->cut && j->records && j->lines && j->row0 && j->fail && j->quoted;
}

static void job_free(read_job *j) {
  free(j->cut);
  free(j->records);
  free(j->lines);
  free(j->row0);
  free(j->fail);
  free(j->quoted);
}

/* Rows of all pieces, and each piece's first row. */
static size_t number_rows(read_job *j) {
  size_t rows = 0;
  for (size_t k = 0; k < j->npieces; k++) {
    j->row0[k] = rows;
    rows += j->records[k];
  }
  return rows;
}

/* The parse pass; on failure *fail is the first failed piece's, lines before it in *fail_base. */
static int parse_pieces(ndpar_pool *pool, read_job *j, size_t base_line, csv_fail *fail, size_t *fail_base) {
  j->first_failed = j->npieces;
  int status = ndpar_pool_run(pool, j->npieces, parse_piece, j);
  size_t failed = j->first_failed;
  if (failed < j->npieces) {
    *fail = j->fail[failed];
    *fail_base = base_line;
    for (size_t k = 0; k < failed; k++) *fail_base += j->lines[k];
    return fail->code;
  }
  if (status != GSL_SUCCESS) return csv_fail_set(fail, status, CSV_NO_LINE, 0, "the parallel parse failed");
  return GSL_SUCCESS;
}

/* Cuts the data into pieces and counts each piece's records in parallel. Pieces are cut at
 * line starts first; if a record holds a quote (a quoted field may hold line ends), they
 * are cut again at record starts and counted again. */
static void count_pieces(ndpar_pool *pool, read_job *j, const char *data, const char *end, size_t target,
                         size_t max_pieces) {
  j->npieces = data < end ? cut_at_lines(data, end, target, j->cut, max_pieces) : 0;
  ndpar_pool_run(pool, j->npieces, count_piece, j); /* count_piece cannot fail */
  int quoted = 0;
  for (size_t k = 0; k < j->npieces; k++) quoted |= j->quoted[k];
  if (!quoted || j->npieces < 2) return;
  j->npieces = cut_at_records(j->spec, data, end, target, j->cut, max_pieces);
  ndpar_pool_run(pool, j->npieces, count_piece, j);
}

/* Both passes over the data [data, end); on success *x is the new matrix. */
static int read_data(ndpar_pool *pool, const csv_spec *spec, const ndpar_csv_options *opt,
                     const char *data, const char *end, size_t base_line, gsl_matrix **x,
                     csv_fail *fail, size_t *fail_base) {
  size_t bytes = (size_t)(end - data);
  size_t target = piece_target(opt, bytes, ndpar_pool_threads(pool));
  read_job j = {.spec = spec};
  int status = GSL_SUCCESS;
  if (!job_alloc(&j, bytes / target + 2)) {
    status = csv_fail_set(fail, GSL_ENOMEM, CSV_NO_LINE, 0, "out of memory");
  } else {
    count_pieces(pool, &j, data, end, target, bytes / target + 2);
    size_t rows = number_rows(&j);
    if (rows == 0)
      status = csv_fail_set(fail, GSL_EINVAL, CSV_NO_LINE, 0,
                            opt->header ? "no data rows after the header" : "the file is empty");
    else if ((j.x = csv_matrix_new(rows, spec->ncols)) == NULL)
      status = csv_fail_set(fail, GSL_ENOMEM, CSV_NO_LINE, 0, "out of memory for a %zu x %zu matrix", rows,
                            spec->ncols);
    else
      status = parse_pieces(pool, &j, base_line, fail, fail_base);
  }
  if (status == GSL_SUCCESS) *x = j.x;
  else gsl_matrix_free(j.x);
  job_free(&j);
  return status;
}

int ndpar_csv_read(ndpar_pool *p, const char *path, const ndpar_csv_options *opt, gsl_matrix **x,
                   ndpar_csv_header **header, ndpar_csv_error *err) {
  NDPAR_REQUIRE(path != NULL, "ndpar_csv_read: path is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(x != NULL, "ndpar_csv_read: x is NULL", GSL_EFAULT);
  ndpar_csv_options defaults;
  if (opt == NULL) {
    ndpar_csv_options_init(&defaults);
    opt = &defaults;
  }
  if (err) memset(err, 0, sizeof *err);
  if (p == NULL) {
    p = ndpar_pool_default();
    NDPAR_REQUIRE(p != NULL, "ndpar_csv_read: no default pool", GSL_EFAILED);
  }
  csv_spec spec;
  int status = csv_spec_init(&spec, opt);
  if (status != GSL_SUCCESS) return status;
  csv_source src;
  csv_fail fail, shrank;
  size_t fail_base = 0;
  gsl_matrix *m = NULL;
  ndpar_csv_header *h = NULL;
  status = csv_source_open(&src, path, &fail);
  if (status == GSL_SUCCESS) {
    size_t consumed = 0, lines = 0;
    const char *end = src.data + src.size;
    status = csv_preamble(&spec, opt, src.data, end, 1, &consumed, &lines, header ? &h : NULL, &fail);
    spec.release_pages = src.map != NULL;
    if (status == GSL_SUCCESS)
      status = read_data(p, &spec, opt, src.data + consumed, end, lines, &m, &fail, &fail_base);
    /* a file that shrank while it was read: that error, whatever the data gave */
    if (csv_source_close(&src, &shrank) != GSL_SUCCESS) {
      status = shrank.code;
      fail = shrank;
      fail_base = 0;
    }
  }
  csv_spec_free(&spec);
  if (status != GSL_SUCCESS) {
    gsl_matrix_free(m);
    ndpar_csv_header_free(h);
    return csv_report(path, fail_base, &fail, err);
  }
  *x = m;
  if (header) *header = h;
  return GSL_SUCCESS;
}
