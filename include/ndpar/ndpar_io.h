/* ndpar_io.h: CSV files to and from gsl_matrix, lag windows of a series, and a streaming
 * CSV reader that reads the next block while the caller works on the current one.
 *
 * Reading: RFC 4180 (fields in double quotes may hold the delimiter, newlines and doubled
 * quotes), LF or CRLF line ends, an optional UTF-8 byte order mark. Every number parses to
 * the same double as strtod() in the C locale, whatever setlocale() says. A field that is
 * not a number but an ISO 8601 date or date-time (1958-03-01, 2010-01-01T01:00:00, with an
 * optional fraction of a second and Z or +hh:mm) becomes seconds since 1970-01-01T00:00:00
 * UTC; a time without a zone is taken as UTC. Blank lines are skipped.
 *
 * Errors name the file, line and field and quote the text, e.g.
 *   data.csv:1043:3: "abc" is not a number
 * (line: 1-based line of the file, counting every line; field: 1-based field number in the
 * line, counting every field, selected or not). On error no matrix is returned and nothing
 * is left allocated.
 */
#ifndef NDPAR_IO_H
#define NDPAR_IO_H

#include <stddef.h>
#include "ndpar/ndpar_core.h"
#include "ndpar/ndpar_pool.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What to read. Initialise with ndpar_csv_options_init, then change what differs. */
typedef struct {
  char delimiter;               /* ',' (not '"', '\r' or '\n') */
  int header;                   /* 1: the first line (after skip_rows) names the columns */
  const char *const *columns;   /* the columns to read by name, in this order (needs header) */
  const size_t *indices;        /* or by 0-based field index, in this order */
  size_t ncolumns;              /* entries of columns or indices; 0: every column */
  const char *const *missing;   /* NULL-terminated list of texts that mean "missing";
                                   NULL: "", "NA" and "NaN" */
  int missing_is_error;         /* 0: a missing value reads as NaN; 1: it is an error */
  char comment;                 /* lines starting with this character are skipped; '\0': none */
  size_t skip_rows;             /* lines skipped at the start, before the header */
  int dates;                    /* 1: ISO 8601 dates read as seconds since the epoch (UTC) */
  size_t chunk_bytes;           /* bytes of the file per parallel piece (at most 4096 pieces);
                                   0: automatic */
} ndpar_csv_options;

/* Defaults: ',', header 1, every column, missing "", "NA", "NaN" -> NaN, no comment
 * character, skip 0 rows, dates 1, chunk_bytes 0. opt NULL is a no-op, as for every _init. */
NDPAR_API void ndpar_csv_options_init(ndpar_csv_options *opt);

/* Column names: n names, each a NUL-terminated string owned by the header. */
typedef struct {
  size_t n;
  char **names;
} ndpar_csv_header;

/* A header holding copies of names[0 .. n). NULL with a GSL error (GSL_EFAULT, GSL_ENOMEM). */
NDPAR_API ndpar_csv_header *ndpar_csv_header_alloc(size_t n, const char *const *names);
NDPAR_API void ndpar_csv_header_free(ndpar_csv_header *h);

/* Where a read failed: code (a GSL code), line and field (1-based; 0 where they do not
 * apply, e.g. a file that cannot be opened), and the full message. */
typedef struct {
  int code;
  size_t line;
  size_t column;
  char message[512];
} ndpar_csv_error;

/* Reads the CSV file at path ("-": standard input) into a new matrix *x (rows = records,
 * columns = the selected fields) and, if header is not NULL, its column names into a new
 * *header (NULL when opt->header is 0). Large files are parsed in parallel on the pool
 * (NULL: the default pool), cut at record ends; the result is the same bit for bit
 * whatever the thread count. A regular file is mapped (it must not shrink while it is
 * read), and pages are released as they are parsed: the memory used beyond the result is a
 * few megabytes; standard input and pipes are read into memory first. opt NULL: the
 * defaults.
 *
 * Returns GSL_SUCCESS, or through GSL_ERROR GSL_EFAULT (path or x NULL) or GSL_EINVAL (a bad
 * option), or an error of the file (through GSL_ERROR, and in *err if err is not NULL):
 *   GSL_EFAILED the file cannot be opened or read ("data.csv: cannot open: <reason>");
 *   GSL_EINVAL  "...: the file is empty", "...: no data rows after the header",
 *               "...:L:F: \"abc\" is not a number", "...:L:F: missing value (\"NA\")",
 *               "...:L: no column named \"x\" in the header", a column index out of range,
 *               a quote inside an unquoted field, text after a closing quote, a quoted field
 *               not closed at the end of the file, "...:L:F: binary data (byte 0x00)";
 *   GSL_EBADLEN "...:L: 3 fields, expected 4" (a ragged row);
 *   GSL_ERANGE  "...:L:F: \"1e999\" is out of the range of a double";
 *   GSL_ENOMEM.
 * On error *x and *header are untouched and nothing stays allocated. A file with no data
 * rows is an error because a gsl_matrix cannot have 0 rows. */
NDPAR_API int ndpar_csv_read(ndpar_pool *p, const char *path, const ndpar_csv_options *opt,
                             gsl_matrix **x, ndpar_csv_header **header, ndpar_csv_error *err);

/* Writes x to path as CSV (comma-separated, LF line ends), with a first line of names if
 * header is not NULL (names quoted where they hold a comma, a quote or a line end). Every
 * number is written with %.17g in the C locale, so ndpar_csv_read gives back the same
 * double bit for bit (subnormals and -0.0 included); +-infinity is written "inf"/"-inf"
 * and reads back as itself; NaN is written "NaN" and reads back as a NaN (its sign and
 * payload are not kept). The file is written to a temporary file in the same folder and
 * renamed over path once complete, so a failure never leaves a partial file at path ("-":
 * standard output; a device or pipe: written directly). Returns GSL_SUCCESS, GSL_EFAULT (path
 * or x NULL), GSL_EBADLEN (x without values, or header->n != x->size2), GSL_EFAILED (a write,
 * close or rename failed; the temporary file is removed). */
NDPAR_API int ndpar_csv_write(const char *path, const gsl_matrix *x,
                              const ndpar_csv_header *header);

/* ---- Streaming ------------------------------------------------------------------------
 * Reads a CSV file in blocks of up to block_rows rows. A thread of the reader reads and
 * parses the next block while the caller works on the current one; at most two parsed
 * blocks wait at any time (plus the one the caller holds), so memory stays bounded by a
 * few blocks whatever the file size. The blocks together equal what ndpar_csv_read gives,
 * and errors carry the same codes and messages with the same line numbers. */
typedef struct ndpar_csv_reader ndpar_csv_reader;

/* Opens path ("-": standard input) and reads its header. NULL on error (with a GSL error,
 * and *err filled if err is not NULL): the errors of ndpar_csv_read that the header shows,
 * GSL_EINVAL for block_rows 0. opt->chunk_bytes is not used. Each block takes
 * block_rows x columns doubles (GSL_ENOMEM from next() if that cannot be had). */
NDPAR_API ndpar_csv_reader *ndpar_csv_reader_open(const char *path, const ndpar_csv_options *opt,
                                                  size_t block_rows, ndpar_csv_error *err);

/* The next block (a new matrix of 1 .. block_rows rows, the caller frees it) in *block.
 * Returns GSL_SUCCESS, GSL_EOF after the last block (*block set to NULL; not an error),
 * or the error of the data (through GSL_ERROR; see ndpar_csv_reader_error), after which
 * every call returns the same error. A file with no data rows gives its error on the
 * first call. */
NDPAR_API int ndpar_csv_reader_next(ndpar_csv_reader *r, gsl_matrix **block);

/* The column names (NULL without a header) and the last error (code 0 if none). */
NDPAR_API const ndpar_csv_header *ndpar_csv_reader_header(const ndpar_csv_reader *r);
NDPAR_API const ndpar_csv_error *ndpar_csv_reader_error(const ndpar_csv_reader *r);

/* Stops the read-ahead thread and frees the reader (blocks already returned stay the
 * caller's). A read in progress is waited for: on a pipe or terminal, until its next input
 * or end. NULL is a no-op. */
NDPAR_API void ndpar_csv_reader_close(ndpar_csv_reader *r);

/* ---- Lag windows -----------------------------------------------------------------------
 * Window w (w = 0, 1, ...) starts at t = w * step: its inputs are series[t .. t + lags)
 * and its targets series[t + lags .. t + lags + horizon). */

/* The number of windows of a series of n values: 0 if n < lags + horizon (or lags or step
 * is 0), else (n - lags - horizon) / step + 1. */
NDPAR_API size_t ndpar_windows_count(size_t n, size_t lags, size_t horizon, size_t step);

/* Fills x (count x lags) with the inputs and y (count x horizon) with the targets of every
 * window, count = ndpar_windows_count(series->size, lags, horizon, step). y may be NULL
 * when horizon is 0. Returns GSL_SUCCESS, GSL_EFAULT (series or x NULL, or y NULL with
 * horizon > 0), GSL_EINVAL (lags or step 0, no window fits, or x and y share memory),
 * GSL_EBADLEN (x or y of another size); outputs untouched on error. */
NDPAR_API int ndpar_windows(const gsl_vector *series, size_t lags, size_t horizon, size_t step,
                            gsl_matrix *x, gsl_matrix *y);

#ifdef __cplusplus
}
#endif
#endif /* NDPAR_IO_H */
