/* csv_writer.c: the streaming CSV writer. Blocks of rows are formatted in chunks of values,
 * in parallel on the pool when a block has several chunks, and written in order to a
 * temporary file that close renames into place. */
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "csv_format.h"
#include "csv_number.h"
#include "ndpar/ndpar_io.h"
#include "ndpar/ndpar_pool.h"
#include "ndpar_internal.h"

/* Values per chunk: one task's work, and at most CSV_FORMAT_MAX + 1 bytes each in its
 * buffer (1 MiB); a round formats up to 2 chunks per thread, then writes them in order. */
#define CHUNK_VALUES ((size_t)16384)
#define CHUNK_BYTES (CHUNK_VALUES * (CSV_FORMAT_MAX + 1))

struct ndpar_csv_writer {
  ndpar_pool *pool;
  char *path;          /* as given */
  char *tmp;           /* the temporary file renamed over path at close; NULL: direct */
  int fd;              /* -1 once closed */
  char delim;
  int precision;
  int sync;
  size_t cols;         /* 0 until the header or the first block fixes it */
  size_t *dates;       /* the date columns asked for, checked against cols when it is known */
  size_t ndates;
  unsigned char *is_date; /* cols flags, once cols is known */
  char **buf;          /* nbuf chunk buffers of CHUNK_BYTES */
  size_t *len;
  size_t nbuf;
  int status;          /* the first failure: every later call returns it */
};

void ndpar_csv_write_options_init(ndpar_csv_write_options *opt) {
  if (opt == NULL) return;
  memset(opt, 0, sizeof *opt);
  opt->delimiter = ',';
}

/* Every byte of [p, p + n) to fd; 0 and errno on failure. */
static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t k = write(fd, p, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) {
      if (k == 0) errno = EIO;
      return 0;
    }
    p += k;
    n -= (size_t)k;
  }
  return 1;
}

/* A failure of the file: sticky, reported through GSL_ERROR. */
static int writer_fail(ndpar_csv_writer *w, const char *who, const char *what, int e) {
  w->status = GSL_EFAILED;
  NDPAR_ERROR_FMT(GSL_EFAILED, "%s: %s: cannot %s: %s", who, w->path, what, strerror(e));
}

/* ---- formatting ------------------------------------------------------------------------ */

typedef struct {
  ndpar_csv_writer *w;
  const gsl_matrix *x;
  size_t first;  /* value (row-major) where this round starts */
  size_t end;    /* values in the block */
} round_job;

/* One value and the byte after it: the delimiter, or a line end after the last column. */
static size_t format_cell(const ndpar_csv_writer *w, char *out, double v, size_t j) {
  size_t n;
  if (w->is_date != NULL && w->is_date[j]) n = csv_format_iso_date(out, v);
  else if (w->precision > 0) n = csv_format_precision(out, v, w->precision);
  else n = csv_format_shortest(out, v);
  out[n] = j + 1 < w->cols ? w->delim : '\n';
  return n + 1;
}

/* Chunk t of the round into buffer t: values [first + t CHUNK_VALUES, ...) in row-major
 * order. Never fails (the buffers hold the worst case). */
static int format_chunk(const ndpar_task *task, void *ctx) {
  round_job *r = ctx;
  ndpar_csv_writer *w = r->w;
  size_t a = r->first + task->index * CHUNK_VALUES;
  size_t b = a + CHUNK_VALUES < r->end ? a + CHUNK_VALUES : r->end;
  size_t cols = w->cols, i = a / cols, j = a % cols;
  locale_t old = w->precision > 0 ? uselocale(csv_c_locale()) : (locale_t)0;
  char *out = w->buf[task->index];
  size_t n = 0;
  for (size_t k = a; k < b; k++) {
    n += format_cell(w, out + n, r->x->data[i * r->x->tda + j], j);
    if (++j == cols) {
      j = 0;
      i++;
    }
  }
  w->len[task->index] = n;
  if (w->precision > 0) uselocale(old);
  return GSL_SUCCESS;
}

/* The chunk buffers for rounds of up to 2 chunks per thread (allocated once). */
static int ensure_buffers(ndpar_csv_writer *w) {
  if (w->buf != NULL) return 1;
  size_t n = 2 * ndpar_pool_threads(w->pool);
  w->buf = calloc(n, sizeof *w->buf);
  w->len = calloc(n, sizeof *w->len);
  if (w->buf == NULL || w->len == NULL) return 0;
  w->nbuf = n;
  for (size_t i = 0; i < n; i++)
    if ((w->buf[i] = malloc(CHUNK_BYTES)) == NULL) return 0;
  return 1;
}

/* The columns: fixed once; the date flags made from the options. */
static int set_cols(ndpar_csv_writer *w, size_t cols, const char *who) {
  for (size_t d = 0; d < w->ndates; d++)
    if (w->dates[d] >= cols)
      NDPAR_ERROR_FMT(GSL_EINVAL, "%s: date column %zu is out of range: %zu columns", who, w->dates[d], cols);
  if (w->ndates > 0) {
    w->is_date = calloc(cols, 1);
    NDPAR_REQUIRE(w->is_date != NULL, "ndpar_csv_writer: out of memory", GSL_ENOMEM);
    for (size_t d = 0; d < w->ndates; d++) w->is_date[w->dates[d]] = 1;
  }
  w->cols = cols;
  return GSL_SUCCESS;
}

int ndpar_csv_writer_write(ndpar_csv_writer *w, const gsl_matrix *block) {
  NDPAR_REQUIRE(w != NULL, "ndpar_csv_writer_write: w is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(block != NULL, "ndpar_csv_writer_write: block is NULL", GSL_EFAULT);
  if (w->status != GSL_SUCCESS)
    NDPAR_ERROR_FMT(w->status, "ndpar_csv_writer_write: %s: an earlier call failed", w->path);
  if (block->size1 == 0) return GSL_SUCCESS;
  if (block->size2 == 0 || block->data == NULL)
    NDPAR_ERROR_FMT(GSL_EBADLEN, "ndpar_csv_writer_write: the block is %zu x %zu, with no values", block->size1,
                    block->size2);
  if (w->cols != 0 && block->size2 != w->cols)
    NDPAR_ERROR_FMT(GSL_EBADLEN, "ndpar_csv_writer_write: the block has %zu columns, the file %zu", block->size2,
                    w->cols);
  if (w->cols == 0) {
    int s = set_cols(w, block->size2, "ndpar_csv_writer_write");
    if (s != GSL_SUCCESS) return s;
  }
  if (!ensure_buffers(w)) {
    w->status = GSL_ENOMEM;
    GSL_ERROR("ndpar_csv_writer_write: out of memory", GSL_ENOMEM);
  }
  size_t values;
  if (!ndpar_size_mul(block->size1, block->size2, &values))
    GSL_ERROR("ndpar_csv_writer_write: the block's size overflows", GSL_EINVAL);
  round_job r = {.w = w, .x = block, .first = 0, .end = values};
  while (r.first < values) {
    size_t chunks = (values - r.first + CHUNK_VALUES - 1) / CHUNK_VALUES;
    if (chunks > w->nbuf) chunks = w->nbuf;
    ndpar_pool_run(w->pool, chunks, format_chunk, &r); /* format_chunk cannot fail */
    for (size_t c = 0; c < chunks; c++)
      if (!write_all(w->fd, w->buf[c], w->len[c])) return writer_fail(w, "ndpar_csv_writer_write", "write", errno);
    r.first += chunks * CHUNK_VALUES;
  }
  return GSL_SUCCESS;
}

/* ---- the header -------------------------------------------------------------------------- */

/* A byte ndpar_csv_read rejects as binary data, even inside quotes. */
static int is_binary(unsigned char c) { return c < 0x20 && (c < 0x09 || (c > 0x0d && c != 0x1b)); }

/* GSL_EINVAL naming the first name that holds such a byte. */
static int check_names(const ndpar_csv_header *h, const char *who) {
  for (size_t j = 0; j < h->n; j++) {
    if (h->names[j] == NULL) NDPAR_ERROR_FMT(GSL_EFAULT, "%s: header->names[%zu] is NULL", who, j);
    for (const unsigned char *c = (const unsigned char *)h->names[j]; *c; c++)
      if (is_binary(*c))
        NDPAR_ERROR_FMT(GSL_EINVAL, "%s: header name %zu holds the control byte 0x%02x, which no CSV reader takes as text",
                        who, j + 1, *c);
  }
  return GSL_SUCCESS;
}

/* One byte of the header into buffer 0, written out when it is full. */
static int put_byte(ndpar_csv_writer *w, size_t *n, char c) {
  if (*n == CHUNK_BYTES) {
    if (!write_all(w->fd, w->buf[0], *n)) return 0;
    *n = 0;
  }
  w->buf[0][(*n)++] = c;
  return 1;
}

/* The header line (a name is quoted, its quotes doubled, where it holds the delimiter, a
 * quote or a line end). 0 and errno if a write fails. */
static int write_header(ndpar_csv_writer *w, const ndpar_csv_header *h) {
  size_t n = 0;
  for (size_t j = 0; j < h->n; j++) {
    const char *name = h->names[j];
    int quote = strpbrk(name, "\"\r\n") != NULL || strchr(name, w->delim) != NULL;
    if (quote && !put_byte(w, &n, '"')) return 0;
    for (const char *c = name; *c; c++)
      if ((*c == '"' && !put_byte(w, &n, '"')) || !put_byte(w, &n, *c)) return 0;
    if (quote && !put_byte(w, &n, '"')) return 0;
    if (!put_byte(w, &n, j + 1 < h->n ? w->delim : '\n')) return 0;
  }
  return write_all(w->fd, w->buf[0], n);
}

/* ---- open, close ------------------------------------------------------------------------- */

static void writer_free(ndpar_csv_writer *w) {
  if (w == NULL) return;
  for (size_t i = 0; w->buf != NULL && i < w->nbuf; i++) free(w->buf[i]);
  free(w->buf);
  free(w->len);
  free(w->is_date);
  free(w->dates);
  free(w->tmp);
  free(w->path);
  free(w);
}

/* Stops and frees: the temporary file (if any) removed, the descriptor closed. */
static void writer_abandon(ndpar_csv_writer *w) {
  if (w->fd > STDOUT_FILENO) close(w->fd);
  if (w->tmp) unlink(w->tmp);
  writer_free(w);
}

/* The file to write: standard output, a device or pipe directly (renaming over it would
 * replace it), else path.tmp-XXXXXX beside path. */
static int open_target(ndpar_csv_writer *w) {
  struct stat st;
  if (strcmp(w->path, "-") == 0) {
    fflush(stdout); /* what the program printed comes first */
    w->fd = STDOUT_FILENO;
    return GSL_SUCCESS;
  }
  if (stat(w->path, &st) == 0 && !S_ISREG(st.st_mode)) {
    w->fd = open(w->path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (w->fd < 0)
      NDPAR_ERROR_FMT(GSL_EFAILED, "ndpar_csv_writer_open: %s: cannot open: %s", w->path, strerror(errno));
    return GSL_SUCCESS;
  }
  size_t len = strlen(w->path);
  w->tmp = malloc(len + sizeof ".tmp-XXXXXX");
  NDPAR_REQUIRE(w->tmp != NULL, "ndpar_csv_writer_open: out of memory", GSL_ENOMEM);
  memcpy(w->tmp, w->path, len);
  memcpy(w->tmp + len, ".tmp-XXXXXX", sizeof ".tmp-XXXXXX");
  w->fd = mkostemp(w->tmp, O_CLOEXEC);
  if (w->fd < 0) {
    int e = errno;
    free(w->tmp);
    w->tmp = NULL;
    NDPAR_ERROR_FMT(GSL_EFAILED, "ndpar_csv_writer_open: %s: cannot create a temporary file: %s", w->path,
                    strerror(e));
  }
  fchmod(w->fd, 0644); /* mkstemp's 0600 would hide the result from other readers */
  return GSL_SUCCESS;
}

/* The options' checks: GSL_EINVAL for a delimiter that a number or date could hold (or a
 * quote, a line end, NUL), a precision above 17. */
static int check_options(const ndpar_csv_write_options *o) {
  unsigned char d = (unsigned char)o->delimiter;
  if (d == 0 || d == '"' || d == '\r' || d == '\n' || d == '.' || d == '+' || d == '-' || d == ':' ||
      (d < 0x80 && (d >= '0' && d <= '9')) || (d >= 'a' && d <= 'z') || (d >= 'A' && d <= 'Z'))
    NDPAR_ERROR_FMT(GSL_EINVAL, "ndpar_csv_writer_open: the delimiter 0x%02x could be part of a number or date", d);
  if (o->precision < 0 || o->precision > 17)
    NDPAR_ERROR_FMT(GSL_EINVAL, "ndpar_csv_writer_open: precision %d is not 0 (shortest) or 1 .. 17", o->precision);
  NDPAR_REQUIRE(o->dates != NULL || o->ndates == 0, "ndpar_csv_writer_open: opt->dates is NULL", GSL_EFAULT);
  return GSL_SUCCESS;
}

/* Argument checks, then the writer with its options (not yet a file). */
static int writer_new(ndpar_pool *p, const char *path, const ndpar_csv_header *header,
                      const ndpar_csv_write_options *opt, ndpar_csv_writer **out) {
  const char *who = "ndpar_csv_writer_open";
  NDPAR_REQUIRE(path != NULL, "ndpar_csv_writer_open: path is NULL", GSL_EFAULT);
  ndpar_csv_write_options defaults;
  ndpar_csv_write_options_init(&defaults);
  if (opt == NULL) opt = &defaults;
  int s = check_options(opt);
  if (s != GSL_SUCCESS) return s;
  if (header != NULL) {
    NDPAR_REQUIRE(header->names != NULL || header->n == 0, "ndpar_csv_writer_open: header->names is NULL",
                  GSL_EFAULT);
    NDPAR_REQUIRE(header->n > 0, "ndpar_csv_writer_open: the header has no names", GSL_EBADLEN);
    if ((s = check_names(header, who)) != GSL_SUCCESS) return s;
  }
  if (p == NULL) p = ndpar_pool_default();
  NDPAR_REQUIRE(p != NULL, "ndpar_csv_writer_open: no default pool", GSL_EFAILED);
  ndpar_csv_writer *w = calloc(1, sizeof *w);
  NDPAR_REQUIRE(w != NULL, "ndpar_csv_writer_open: out of memory", GSL_ENOMEM);
  w->pool = p;
  w->fd = -1;
  w->delim = opt->delimiter;
  w->precision = opt->precision;
  w->sync = opt->fsync;
  w->path = strdup(path);
  w->ndates = opt->ndates;
  w->dates = opt->ndates ? malloc(opt->ndates * sizeof *w->dates) : NULL;
  if (w->path == NULL || (opt->ndates && w->dates == NULL) || !ensure_buffers(w)) {
    writer_free(w);
    GSL_ERROR("ndpar_csv_writer_open: out of memory", GSL_ENOMEM);
  }
  if (opt->ndates) memcpy(w->dates, opt->dates, opt->ndates * sizeof *w->dates);
  if (header != NULL && (s = set_cols(w, header->n, who)) != GSL_SUCCESS) {
    writer_free(w);
    return s;
  }
  *out = w;
  return GSL_SUCCESS;
}

ndpar_csv_writer *ndpar_csv_writer_open(ndpar_pool *p, const char *path, const ndpar_csv_header *header,
                                        const ndpar_csv_write_options *opt) {
  ndpar_csv_writer *w = NULL;
  if (writer_new(p, path, header, opt, &w) != GSL_SUCCESS) return NULL;
  if (open_target(w) != GSL_SUCCESS) {
    writer_free(w);
    return NULL;
  }
  if (header != NULL && !write_header(w, header)) {
    int e = errno;
    writer_abandon(w);
    ndpar_error_fmt(GSL_EFAILED, __FILE__, __LINE__, "ndpar_csv_writer_open: %s: cannot write: %s", path,
                    strerror(e));
    return NULL;
  }
  return w;
}

int ndpar_csv_writer_close(ndpar_csv_writer *w) {
  NDPAR_REQUIRE(w != NULL, "ndpar_csv_writer_close: w is NULL", GSL_EFAULT);
  int status = w->status;
  const char *failed = NULL;
  int e = 0;
  if (status == GSL_SUCCESS && w->sync && fsync(w->fd) != 0 && (w->tmp != NULL || errno != EINVAL)) {
    failed = "sync"; /* (a pipe or terminal cannot be synced: EINVAL, not a failure) */
    e = errno;
  }
  if (w->fd > STDOUT_FILENO && close(w->fd) != 0 && failed == NULL) {
    failed = "close";
    e = errno;
  }
  w->fd = -1;
  if (status == GSL_SUCCESS && failed == NULL && w->tmp != NULL && rename(w->tmp, w->path) != 0) {
    failed = "rename";
    e = errno;
  }
  if (status == GSL_SUCCESS && failed == NULL && w->tmp != NULL) {
    free(w->tmp); /* renamed: nothing to remove */
    w->tmp = NULL;
  }
  if (status != GSL_SUCCESS || failed != NULL) {
    char path[256];
    snprintf(path, sizeof path, "%s", w->path);
    writer_abandon(w);
    if (failed == NULL)
      NDPAR_ERROR_FMT(status, "ndpar_csv_writer_close: %s: not written (an earlier call failed)", path);
    NDPAR_ERROR_FMT(GSL_EFAILED, "ndpar_csv_writer_close: %s: cannot %s: %s", path, failed, strerror(e));
  }
  writer_free(w);
  return GSL_SUCCESS;
}

void ndpar_csv_writer_discard(ndpar_csv_writer *w) {
  if (w != NULL) writer_abandon(w);
}

int ndpar_csv_write_opts(ndpar_pool *p, const char *path, const gsl_matrix *x, const ndpar_csv_header *header,
                         const ndpar_csv_write_options *opt) {
  NDPAR_REQUIRE(path != NULL, "ndpar_csv_write: path is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(x != NULL, "ndpar_csv_write: x is NULL", GSL_EFAULT);
  if (x->size1 == 0 || x->size2 == 0 || x->data == NULL)
    NDPAR_ERROR_FMT(GSL_EBADLEN, "ndpar_csv_write: x is %zu x %zu, with no values to write", x->size1, x->size2);
  NDPAR_REQUIRE(header == NULL || header->names != NULL || header->n == 0, "ndpar_csv_write: header->names is NULL",
                GSL_EFAULT);
  if (header != NULL && header->n != x->size2)
    NDPAR_ERROR_FMT(GSL_EBADLEN, "ndpar_csv_write: the header has %zu names, x has %zu columns", header->n,
                    x->size2);
  ndpar_csv_writer *w = NULL;
  int s = writer_new(p, path, header, opt, &w);
  if (s != GSL_SUCCESS) return s;
  if ((header == NULL && (s = set_cols(w, x->size2, "ndpar_csv_write")) != GSL_SUCCESS) ||
      (s = open_target(w)) != GSL_SUCCESS) {
    writer_free(w);
    return s;
  }
  if (header != NULL && !write_header(w, header)) {
    int e = errno;
    writer_abandon(w);
    NDPAR_ERROR_FMT(GSL_EFAILED, "ndpar_csv_write: %s: cannot write: %s", path, strerror(e));
  }
  s = ndpar_csv_writer_write(w, x);
  if (s != GSL_SUCCESS) {
    writer_abandon(w);
    return s;
  }
  return ndpar_csv_writer_close(w);
}

int ndpar_csv_write(const char *path, const gsl_matrix *x, const ndpar_csv_header *header) {
  ndpar_csv_write_options opt;
  ndpar_csv_write_options_init(&opt);
  opt.fsync = 1; /* as it always has: the file is on disk when the call returns */
  return ndpar_csv_write_opts(NULL, path, x, header, &opt);
}
