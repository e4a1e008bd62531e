/* csv_internal.h: the CSV record parser the whole-file and the streaming readers share. */
#ifndef NDPAR_CSV_INTERNAL_H
#define NDPAR_CSV_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "ndpar/ndpar_io.h"

/* A parse status besides GSL codes: the buffer ends inside a record and more input may
 * follow (never returned when the buffer ends at the end of the file). */
#define CSV_MORE (-1000)

typedef struct {
  const char *text;
  size_t len;
} csv_str;

/* What the parser needs to know, fixed once the header is read. */
typedef struct {
  char delim, comment;
  int dates, missing_is_error;
  csv_str *missing;
  size_t nmissing;
  uint64_t missing_lens; /* bit L set: some missing text has length L (< 64) */
  size_t nfields;        /* fields per record */
  long *map;             /* nfields entries: output column of each field, or -1 */
  size_t ncols;          /* output columns */
  int release_pages;     /* the input is a file mapping: drop parsed pages from memory */
} csv_spec;

/* A failure with no line to name (the file as a whole). */
#define CSV_NO_LINE ((size_t)-1)

/* A failure inside a span, lines counted from the span's start (0-based). */
typedef struct {
  int code;
  size_t line;
  size_t column; /* 1-based field number; 0: the whole line */
  char msg[400];
} csv_fail;

typedef struct {
  const char *pos; /* where parsing stopped: at a record start, or the span's end */
  size_t rows;     /* records parsed */
  size_t lines;    /* line ends passed */
} csv_progress;

/* Parses the records of [p, end) into rows of out (row stride tda), at most max_rows of
 * them; blank and comment lines are passed over. at_eof: the span ends at the end of the
 * file. Returns GSL_SUCCESS, CSV_MORE (with progress at the start of the incomplete
 * record), or a GSL code with *f filled. */
int csv_parse_span(const csv_spec *s, const char *p, const char *end, int at_eof, double *out,
                   size_t tda, size_t max_rows, csv_progress *pr, csv_fail *f);

/* Counts the records and the line ends in [p, end) (quote-aware, as the parser would see
 * a well-formed file); *saw_quote: some record line holds a quote. */
void csv_count_span(const csv_spec *s, const char *p, const char *end, size_t *records,
                    size_t *lines, int *saw_quote);

/* The start of the line after the record (or blank or comment line) at p; lines += the
 * line ends passed; *saw_quote set to 1 if the record holds a quote. end if the file ends
 * first. */
const char *csv_record_end(const csv_spec *s, const char *p, const char *end, size_t *lines,
                           int *saw_quote);

/* Reads everything before the data: the byte order mark, opt->skip_rows lines, blank and
 * comment lines, the header; learns the field count (from the header or the first
 * record) and builds s->map from the selection. On success *consumed is where the data
 * starts, *lines the line ends before it, *header (if asked and opt->header) the names
 * of the selected columns. Returns GSL_SUCCESS, CSV_MORE (more input needed; nothing
 * kept), or a GSL code with *f filled (line counted from the buffer's start); on error
 * or CSV_MORE nothing stays allocated. */
int csv_preamble(csv_spec *s, const ndpar_csv_options *opt, const char *buf, const char *end,
                 int at_eof, size_t *consumed, size_t *lines, ndpar_csv_header **header,
                 csv_fail *f);

/* Fills the spec's options part; s->map is NULL until csv_preamble. GSL_EINVAL (through
 * GSL_ERROR) for a bad option, GSL_ENOMEM. */
int csv_spec_init(csv_spec *s, const ndpar_csv_options *opt);
void csv_spec_free(csv_spec *s);

/* Formats a failure as "path:line:field: msg" into err (if not NULL) and reports it
 * through GSL_ERROR; returns f->code. base_line: lines before the span. */
int csv_report(const char *path, size_t base_line, const csv_fail *f, ndpar_csv_error *err);

/* Sets *f to a failure without a line ("path: msg" form: line 0). */
int csv_fail_set(csv_fail *f, int code, size_t line, size_t column, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* A rows x cols matrix on malloc (gsl_matrix_free frees it), or NULL: unlike
 * gsl_matrix_alloc it never calls GSL's error handler, so worker threads may call it. */
gsl_matrix *csv_matrix_new(size_t rows, size_t cols);

/* How often (bytes of input) a pass over a mapped file drops what it has passed. */
#define CSV_RELEASE_EVERY ((size_t)1 << 20)

/* Drops the pages of a read-only file mapping in [from, to) from this process's memory
 * (they are read again from the page cache if touched). */
void csv_release(const char *from, const char *to);

/* A source: a mapped regular file (guarded: see csv_guard.h), or standard input (or a
 * pipe, or a file whose mapping cannot be guarded) read into memory. */
typedef struct {
  const char *data;
  size_t size;
  void *map;
  size_t map_len;
  int guard; /* csv_guard slot of the mapping, -1 if none */
  int fd;    /* the mapped file, kept open to see its size at the end; -1 if none */
  char *owned;
} csv_source;

/* GSL_SUCCESS, or GSL_EFAILED/GSL_ENOMEM with *f filled. */
int csv_source_open(csv_source *src, const char *path, csv_fail *f);

/* Frees the source. GSL_SUCCESS, or GSL_EBADLEN with *f filled if the mapped file shrank
 * while it was read (a read past its new end found zeros instead of the data, or it is now
 * shorter than when it was opened): what was read from it is not the file. */
int csv_source_close(csv_source *src, csv_fail *f);

#endif
