/* csv_reader.c: a CSV file in blocks of rows, read and parsed ahead on a thread.
 *
 * The reader's thread reads the file in pieces into one buffer, parses records into the
 * next block and queues it (at most QUEUE_DEPTH blocks wait); ndpar_csv_reader_next takes
 * the oldest. A record cut by the end of a piece is moved to the buffer's start and
 * completed by the next read, so the buffer holds one piece (it grows only for a record
 * longer than a piece). Errors found on the thread are kept and reported by next(), from
 * the calling thread. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "csv_internal.h"
#include "ndpar/ndpar_io.h"
#include "ndpar_internal.h"

#define QUEUE_DEPTH 2
#define PIECE_BYTES ((size_t)1 << 20)

struct ndpar_csv_reader {
  char *path;
  int fd, own_fd;
  csv_spec spec;
  ndpar_csv_header *header;
  size_t block_rows;
  int has_header;
  /* the input buffer: unparsed text is buf[start, len) */
  char *buf;
  size_t cap, start, len;
  int eof;
  size_t lines; /* line ends before buf + start */
  size_t rows;  /* rows parsed so far */
  /* the queue between the thread and next() */
  pthread_t thread;
  int thread_started;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  gsl_matrix *queue[QUEUE_DEPTH];
  size_t qhead, qcount;
  int finished; /* the thread has queued its last block (status says why) */
  int stop;     /* close() asks the thread to end */
  int status;   /* GSL_EOF, or the error */
  csv_fail fail;
  size_t fail_base;
  ndpar_csv_error error;
};

/* Reads more of the file after the unparsed text (moved to the front). GSL_SUCCESS
 * (r->eof set at the end) or a GSL code with r->fail set. */
static int refill(ndpar_csv_reader *r) {
  if (r->start > 0) {
    memmove(r->buf, r->buf + r->start, r->len - r->start);
    r->len -= r->start;
    r->start = 0;
  }
  if (r->len == r->cap) {
    char *grown = realloc(r->buf, 2 * r->cap);
    if (grown == NULL) return csv_fail_set(&r->fail, GSL_ENOMEM, CSV_NO_LINE, 0, "out of memory");
    r->buf = grown;
    r->cap *= 2;
  }
  for (;;) {
    ssize_t got = read(r->fd, r->buf + r->len, r->cap - r->len);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return csv_fail_set(&r->fail, GSL_EFAILED, CSV_NO_LINE, 0, "cannot read: %s", strerror(errno));
    r->len += (size_t)got;
    r->eof = got == 0;
    return GSL_SUCCESS;
  }
}

/* Parses the next block. *status: GSL_SUCCESS with a block, GSL_EOF (NULL: no rows left),
 * or an error (NULL, r->fail set). */
static gsl_matrix *next_block(ndpar_csv_reader *r, int *status) {
  gsl_matrix *m = csv_matrix_new(r->block_rows, r->spec.ncols);
  if (m == NULL) {
    *status = csv_fail_set(&r->fail, GSL_ENOMEM, CSV_NO_LINE, 0, "out of memory");
    return NULL;
  }
  size_t rows = 0;
  int s = GSL_SUCCESS;
  while (rows < r->block_rows) {
    csv_progress pr;
    s = csv_parse_span(&r->spec, r->buf + r->start, r->buf + r->len, r->eof, m->data + rows * m->tda,
                       m->tda, r->block_rows - rows, &pr, &r->fail);
    if (s != GSL_SUCCESS && s != CSV_MORE) {
      r->fail_base = r->lines;
      break;
    }
    r->start = (size_t)(pr.pos - r->buf);
    r->lines += pr.lines;
    rows += pr.rows;
    if (rows == r->block_rows || (r->eof && r->start == r->len)) {
      s = GSL_SUCCESS;
      break;
    }
    s = refill(r);
    if (s != GSL_SUCCESS) {
      r->fail_base = 0;
      break;
    }
  }
  r->rows += rows;
  if (s == GSL_SUCCESS && r->rows == 0)
    s = csv_fail_set(&r->fail, GSL_EINVAL, CSV_NO_LINE, 0,
                     r->has_header ? "no data rows after the header" : "the file is empty");
  if (s == GSL_SUCCESS && rows == 0) s = GSL_EOF;
  *status = s;
  if (s != GSL_SUCCESS) {
    gsl_matrix_free(m);
    return NULL;
  }
  m->size1 = rows;
  return m;
}

static void *read_ahead(void *arg) {
  ndpar_tls_quiet = 1; /* a thread ndpar started never calls the GSL error handler */
  ndpar_csv_reader *r = arg;
  for (;;) {
    int status;
    gsl_matrix *m = next_block(r, &status);
    pthread_mutex_lock(&r->mu);
    while (r->qcount == QUEUE_DEPTH && !r->stop) pthread_cond_wait(&r->cv, &r->mu);
    if (r->stop) {
      pthread_mutex_unlock(&r->mu);
      gsl_matrix_free(m);
      return NULL;
    }
    if (m) {
      r->queue[(r->qhead + r->qcount++) % QUEUE_DEPTH] = m;
    } else {
      r->finished = 1;
      r->status = status;
    }
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    if (m == NULL) return NULL;
  }
}

static void reader_free(ndpar_csv_reader *r) {
  if (r->thread_started) {
    pthread_mutex_lock(&r->mu);
    r->stop = 1;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);
  }
  for (size_t i = 0; i < r->qcount; i++) gsl_matrix_free(r->queue[(r->qhead + i) % QUEUE_DEPTH]);
  pthread_mutex_destroy(&r->mu);
  pthread_cond_destroy(&r->cv);
  if (r->own_fd) close(r->fd);
  csv_spec_free(&r->spec);
  ndpar_csv_header_free(r->header);
  free(r->buf);
  free(r->path);
  free(r);
}

/* Reads the header (more pieces until it is complete). */
static int read_preamble(ndpar_csv_reader *r, const ndpar_csv_options *opt) {
  for (;;) {
    size_t consumed = 0, lines = 0;
    int s = csv_preamble(&r->spec, opt, r->buf, r->buf + r->len, r->eof, &consumed, &lines,
                         &r->header, &r->fail);
    if (s == GSL_SUCCESS) {
      r->start = consumed;
      r->lines = lines;
      return GSL_SUCCESS;
    }
    if (s != CSV_MORE) return s;
    s = refill(r);
    if (s != GSL_SUCCESS) return s;
  }
}

/* Opens the file, reads the header and starts the thread; GSL_SUCCESS or r->fail set. */
static int reader_start(ndpar_csv_reader *r, const char *path, const ndpar_csv_options *opt) {
  r->cap = PIECE_BYTES;
  r->buf = malloc(r->cap);
  r->path = strdup(path);
  if (r->buf == NULL || r->path == NULL) return csv_fail_set(&r->fail, GSL_ENOMEM, CSV_NO_LINE, 0, "out of memory");
  r->own_fd = strcmp(path, "-") != 0;
  r->fd = r->own_fd ? open(path, O_RDONLY | O_CLOEXEC) : STDIN_FILENO;
  if (r->fd < 0) {
    r->own_fd = 0;
    return csv_fail_set(&r->fail, GSL_EFAILED, CSV_NO_LINE, 0, "cannot open: %s", strerror(errno));
  }
  int s = read_preamble(r, opt);
  if (s != GSL_SUCCESS) return s;
  if (pthread_create(&r->thread, NULL, read_ahead, r) != 0)
    return csv_fail_set(&r->fail, GSL_EFAILED, CSV_NO_LINE, 0, "cannot start the read-ahead thread");
  r->thread_started = 1;
  return GSL_SUCCESS;
}

ndpar_csv_reader *ndpar_csv_reader_open(const char *path, const ndpar_csv_options *opt,
                                        size_t block_rows, ndpar_csv_error *err) {
  NDPAR_REQUIRE_NULL(path != NULL, "ndpar_csv_reader_open: path is NULL", GSL_EFAULT);
  NDPAR_REQUIRE_NULL(block_rows > 0, "ndpar_csv_reader_open: block_rows must be > 0", GSL_EINVAL);
  ndpar_csv_options defaults;
  if (opt == NULL) {
    ndpar_csv_options_init(&defaults);
    opt = &defaults;
  }
  if (err) memset(err, 0, sizeof *err);
  ndpar_csv_reader *r = calloc(1, sizeof *r);
  NDPAR_REQUIRE_NULL(r != NULL, "ndpar_csv_reader_open: out of memory", GSL_ENOMEM);
  pthread_mutex_init(&r->mu, NULL);
  pthread_cond_init(&r->cv, NULL);
  r->fd = -1;
  r->block_rows = block_rows;
  r->has_header = opt->header;
  if (csv_spec_init(&r->spec, opt) != GSL_SUCCESS) { /* reported by csv_spec_init */
    reader_free(r);
    return NULL;
  }
  if (reader_start(r, path, opt) != GSL_SUCCESS) {
    csv_report(path, 0, &r->fail, err);
    reader_free(r);
    return NULL;
  }
  return r;
}

int ndpar_csv_reader_next(ndpar_csv_reader *r, gsl_matrix **block) {
  NDPAR_REQUIRE(r != NULL, "ndpar_csv_reader_next: r is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(block != NULL, "ndpar_csv_reader_next: block is NULL", GSL_EFAULT);
  pthread_mutex_lock(&r->mu);
  while (r->qcount == 0 && !r->finished) pthread_cond_wait(&r->cv, &r->mu);
  gsl_matrix *m = NULL;
  if (r->qcount > 0) {
    m = r->queue[r->qhead];
    r->qhead = (r->qhead + 1) % QUEUE_DEPTH;
    r->qcount--;
    pthread_cond_broadcast(&r->cv);
  }
  int status = m ? GSL_SUCCESS : r->status;
  pthread_mutex_unlock(&r->mu);
  if (status == GSL_EOF) *block = NULL;
  if (status == GSL_SUCCESS) *block = m;
  if (status != GSL_SUCCESS && status != GSL_EOF) return csv_report(r->path, r->fail_base, &r->fail, &r->error);
  return status;
}

const ndpar_csv_header *ndpar_csv_reader_header(const ndpar_csv_reader *r) {
  return r ? r->header : NULL;
}

const ndpar_csv_error *ndpar_csv_reader_error(const ndpar_csv_reader *r) {
  return r ? &r->error : NULL;
}

void ndpar_csv_reader_close(ndpar_csv_reader *r) {
  if (r) reader_free(r);
}
