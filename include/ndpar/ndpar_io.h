/* ndpar_io.h: CSV files to and from gsl_matrix, lag windows of a series, and a streaming
 * CSV reader that reads the next block while the caller works on the current one.
 *
 * Reading: RFC 4180 (fields in double quotes may hold the delimiter, newlines and doubled
 * quotes), LF or CRLF line ends, an optional UTF-8 byte order mark. Every number parses to
 * the same double as strtod() in the C locale, whatever setlocale() says. A field that is
 * not a number but an ISO 8601 date or date-time (1958-03-01, 2010-01-01T01:00:00, with an
 * optional fraction of a second and Z or +hh:mm; years 0001 .. 9999, seconds 00 .. 59)
 * becomes seconds since 1970-01-01T00:00:00 UTC, correctly rounded; a time without a zone is
 * taken as UTC. Spaces and tabs around a number or date are ignored (as pandas does). Blank
 * lines are skipped.
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
 * whatever the thread count. A regular file is mapped, and pages are released as they
 * are parsed: the memory used beyond the result is a few megabytes; standard input and
 * pipes are read into memory first. A file that shrinks while it is read (a log rotation, a
 * concurrent writer) is an error, GSL_EBADLEN, not a SIGBUS: the first read of a mapping
 * installs a SIGBUS handler that serves the reader's own mappings and passes every other
 * SIGBUS to the handler installed before it (or the default action). opt NULL: the
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
 *   GSL_EBADLEN "...:L: 3 fields, expected 4" (a ragged row), "data.csv: the file shrank
 *               while it was read (117787808 bytes when opened, 39262602 now)" (whatever
 *               the data read gave);
 *   GSL_ERANGE  "...:L:F: \"1e999\" is out of the range of a double";
 *   GSL_ENOMEM.
 * On error *x and *header are untouched and nothing stays allocated. A file with no data
 * rows is an error because a gsl_matrix cannot have 0 rows. */
NDPAR_API int ndpar_csv_read(ndpar_pool *p, const char *path, const ndpar_csv_options *opt,
                             gsl_matrix **x, ndpar_csv_header **header, ndpar_csv_error *err);

/* ---- Writing -------------------------------------------------------------------------
 * CSV with LF line ends, a first line of names if a header is given (a name is quoted, its
 * quotes doubled, where it holds the delimiter, a quote or a line end; a name holding a
 * control byte that ndpar_csv_read would reject as binary data is refused). Every number is
 * written with the fewest significant digits that read back (ndpar_csv_read, strtod) as the
 * same double bit for bit, the closest of those to the double: 0.1, 1e21, 5e-324, -0
 * (plain notation for decimal exponents -5 .. 16, else 1.25e-7); +-infinity as "inf"/"-inf",
 * which read back as themselves; NaN as "NaN", which reads back as a NaN (its sign and
 * payload are not kept). Or, with opt->precision p > 0, printf's %.<p>g in the C locale.
 * Date columns (opt->dates) hold seconds since the epoch and are written as ISO 8601 UTC
 * that reads back as the same double: "1958-03-01" at midnight, else "2010-01-01T01:00:00"
 * with the fraction of a second's shortest digits (".5"); a value outside the years 0001 ..
 * 9999 (or NaN) is written as a number.
 *
 * A regular file is written to a temporary file beside it (path.tmp-XXXXXX) and renamed over
 * path at close, so a failure never leaves a partial file at path and an earlier file stays
 * as it was until the new one is complete. "-" writes to standard output (flushed first), a
 * device or pipe is written directly (renaming over it would replace it). Every write is
 * checked. Large blocks are formatted in parallel on the pool (in chunks of 16384 values, two
 * per thread at a time: a few MiB of buffers), written in order. */

/* Writing options. Initialise with ndpar_csv_write_options_init, then change what differs. */
typedef struct {
  char delimiter;      /* ',': any byte that no number or date holds: not a letter or digit,
                          '.', '+', '-', ':', '"', CR, LF or NUL */
  int precision;       /* 0: the shortest digits that round-trip; 1 .. 17: %.<precision>g */
  const size_t *dates; /* 0-based columns written as ISO 8601 dates; NULL: none */
  size_t ndates;       /* entries of dates */
  int fsync;           /* 1: the file is synced to disk before it is renamed into place */
} ndpar_csv_write_options;

/* Defaults: ',', shortest digits, no date columns, no fsync. NULL is a no-op. */
NDPAR_API void ndpar_csv_write_options_init(ndpar_csv_write_options *opt);

/* Writes x to path (with opt, NULL: the defaults, formatting on the pool p, NULL: the
 * default pool): ndpar_csv_writer_open, one ndpar_csv_writer_write and
 * ndpar_csv_writer_close. Returns GSL_SUCCESS, GSL_EFAULT (path or x NULL, header->names
 * NULL or a name NULL), GSL_EBADLEN (x without values, or header->n != x->size2), GSL_EINVAL
 * (a bad option, a date column out of range, a name with a control byte), GSL_EFAILED (the
 * file cannot be created, written, synced, closed or renamed: the temporary file is removed
 * and an earlier file at path stays as it was), GSL_ENOMEM. */
NDPAR_API int ndpar_csv_write_opts(ndpar_pool *p, const char *path, const gsl_matrix *x,
                                   const ndpar_csv_header *header,
                                   const ndpar_csv_write_options *opt);

/* ndpar_csv_write_opts on the default pool with the default options and fsync = 1: when it
 * returns GSL_SUCCESS the file is on disk under its name. */
NDPAR_API int ndpar_csv_write(const char *path, const gsl_matrix *x,
                              const ndpar_csv_header *header);

/* A streaming writer: the file is written a block of rows at a time, in order, and becomes
 * visible at path only when ndpar_csv_writer_close succeeds. Memory: the buffers above,
 * whatever the file's size. One thread at a time may use a writer. */
typedef struct ndpar_csv_writer ndpar_csv_writer;

/* Opens path for writing and writes the header line (if header is not NULL: it fixes the
 * column count; else the first block does). The pool p (NULL: the default pool) formats
 * large blocks; it must outlive the writer. NULL on error, reported through GSL_ERROR:
 * GSL_EFAULT (path NULL, header->names or a name NULL, opt->dates NULL with ndates > 0),
 * GSL_EBADLEN (a header of 0 names), GSL_EINVAL (a bad option, a date column beyond the
 * header, a name with a control byte), GSL_EFAILED (the file cannot be created or written,
 * no default pool), GSL_ENOMEM. */
NDPAR_API ndpar_csv_writer *ndpar_csv_writer_open(ndpar_pool *p, const char *path,
                                                  const ndpar_csv_header *header,
                                                  const ndpar_csv_write_options *opt);

/* Appends the rows of block. Returns GSL_SUCCESS (a block of 0 rows: nothing written), or
 * through GSL_ERROR: GSL_EFAULT (w or block NULL), GSL_EBADLEN (no columns, or not the
 * file's column count), GSL_EINVAL (a date column beyond the first block's columns),
 * GSL_EFAILED (a write failed: "ndpar_csv_writer_write: out.csv: cannot write: No space
 * left on device"), GSL_ENOMEM. After a failed write, every later write returns the same
 * code and close removes the temporary file; argument errors change nothing. */
NDPAR_API int ndpar_csv_writer_write(ndpar_csv_writer *w, const gsl_matrix *block);

/* Finishes the file: syncs it if opt->fsync, closes it and renames it over path, then frees
 * the writer (whatever happens). Returns GSL_SUCCESS, GSL_EFAULT (w NULL), or the failure of
 * the file as a whole (through GSL_ERROR): GSL_EFAILED when the sync, the close or the
 * rename fails ("...: cannot close: Disk quota exceeded"), or the code of an earlier failed
 * write; on failure the temporary file is removed and an earlier file at path stays as it
 * was. (Standard output and pipes are not closed, and a sync they cannot take is not a
 * failure.) */
NDPAR_API int ndpar_csv_writer_close(ndpar_csv_writer *w);

/* Abandons the file: the temporary file is removed (an earlier file at path stays as it
 * was; what went to standard output or a pipe stays written) and the writer freed. For a
 * program whose own work failed halfway. NULL is a no-op. */
NDPAR_API void ndpar_csv_writer_discard(ndpar_csv_writer *w);

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

/* ---- numpy files ---------------------------------------------------------------------
 * numpy's .npy format (numpy.save, numpy.load), versions 1.0, 2.0 and 3.0, float64 only. */

/* Reads the float64 array in the .npy file at path into a new matrix *x: a 2-D array as it
 * is (C or Fortran order, little- or big-endian), a 1-D array of n as n x 1, a scalar as
 * 1 x 1. The file is read (not mapped) straight into the matrix in C order (a Fortran-order
 * array is transposed a column at a time). Returns GSL_SUCCESS, or through GSL_ERROR:
 * GSL_EFAULT (path or x NULL), GSL_EFAILED (the file cannot be opened), GSL_EINVAL (not a
 * .npy file, a version other than 1 .. 3, a bad header, another dtype: "ndpar_npy_read:
 * a.npy: the dtype is '<i8', not float64 ('<f8' or '>f8')", more than 2 dimensions),
 * GSL_EBADLEN (an empty array; fewer bytes of data than the shape says: "...: truncated"),
 * GSL_ENOMEM. On error *x is untouched. */
NDPAR_API int ndpar_npy_read(const char *path, gsl_matrix **x);

/* Writes x to path as a C-order float64 .npy file of shape (rows, cols), version 1.0, that
 * numpy.load reads back bit for bit; through a temporary file renamed into place (an
 * earlier file stays as it was on failure). Returns GSL_SUCCESS, GSL_EFAULT (path or x
 * NULL), GSL_EBADLEN (x without values), GSL_EFAILED (a write, close or rename failed),
 * GSL_ENOMEM. */
NDPAR_API int ndpar_npy_write(const char *path, const gsl_matrix *x);

/* ---- Dated series ---------------------------------------------------------------------
 * A series whose dates skip steps (a month absent from a monthly series) put onto a regular
 * grid, with what was missing filled, as pandas' .asfreq("MS").interpolate(method="time"):
 *
 *   ndpar_csv_read(NULL, "co2.csv", &opt, &x, NULL, &err);       // Date, CO2: dates on
 *   gsl_vector_const_view d = gsl_matrix_const_column(x, 0);
 *   gsl_matrix_const_view v = gsl_matrix_const_submatrix(x, 0, 1, x->size1, x->size2 - 1);
 *   ndpar_series *s;
 *   ndpar_series_regular(&d.vector, &v.matrix, NDPAR_STEP_MONTH, 1, NDPAR_FILL_LINEAR, &s, &err);
 *   // s->dates (n), s->values (n x cols); s->filled[0 .. s->nfilled): rows that were filled
 *   ndpar_series_free(s);
 */

/* Step units. SECOND .. WEEK are fixed lengths (a day is 86400 s: dates are UTC, no
 * daylight saving). MONTH and YEAR are calendar steps: step p falls p x k calendar months
 * (12 k for YEAR) after dates[0], on dates[0]'s day of the month, or the month's last day
 * where the month is shorter (from a 31 January: 28/29 February, 31 March, 30 April, ...),
 * at dates[0]'s time of day. */
typedef enum {
  NDPAR_STEP_SECOND,
  NDPAR_STEP_MINUTE,
  NDPAR_STEP_HOUR,
  NDPAR_STEP_DAY,
  NDPAR_STEP_WEEK,
  NDPAR_STEP_MONTH,
  NDPAR_STEP_YEAR
} ndpar_step_unit;

/* How a missing step is filled, column by column from the rows present before (t0, v0)
 * and after (t1, v1) it:
 *   LINEAR   linear in time: v0 + (t - t0) / (t1 - t0) x (v1 - v0) (pandas'
 *            interpolate(method="time"); months of unequal length weigh by their seconds);
 *   NAN      NaN (a missing value, as pandas' asfreq leaves it);
 *   PREVIOUS v0 (pandas' ffill). */
typedef enum { NDPAR_FILL_LINEAR, NDPAR_FILL_NAN, NDPAR_FILL_PREVIOUS } ndpar_fill;

/* A regular series: n dates (seconds since the epoch, UTC, as ndpar_csv_read gives them
 * with opt.dates), their n x cols values, and the rows that were filled. */
typedef struct {
  gsl_vector *dates;  /* n: dates[0] + p steps, p = 0 .. n-1 */
  gsl_matrix *values; /* n x cols: the input rows at their steps, filled rows between */
  size_t nfilled;     /* how many rows were missing from the input and were filled */
  size_t *filled;     /* their row numbers (0-based, into dates and values), ascending */
} ndpar_series;

/* Puts the rows of values (one per date, dates[i] the date of row i) onto the grid that
 * starts at dates[0] and steps by k units (k >= 1) up to the last date, filling every step
 * no row has as fill says; *out is a new series (free it with ndpar_series_free). The
 * dates must increase strictly and each must lie exactly on the grid (a monthly series
 * dated on the 1st at midnight, an hourly one on the hour of dates[0], ...). A NaN value
 * in a row present stays NaN (only missing rows are filled). Nothing runs in parallel: a
 * series is small beside the files it comes from.
 *
 * Returns GSL_SUCCESS; through GSL_ERROR GSL_EFAULT (dates, values or out NULL), GSL_EINVAL
 * (an unknown unit or fill, k 0 or above 10^9), GSL_EBADLEN (no dates or no columns, or
 * values->size1 != dates->size); or an error of the data (through GSL_ERROR, and in *err
 * if err is not NULL, with err->line the 1-based data row, i + 1 for dates[i], column 0):
 *   GSL_EINVAL "ndpar_series_regular: data row 5 (dates[4]) repeats the date 1958-07-01 of
 *              row 4", "...: 1958-06-01 comes before 1958-07-01 of row 4 (dates must
 *              increase)", "...: 1958-07-15 is not on the grid of 1 month from
 *              1958-03-01", a date that is NaN, infinite or beyond +-1e15 s;
 *   GSL_ENOMEM (the grid is too long to hold: dates far apart for a small step).
 * (Data row r is line r + 1 of a CSV file with a header line and no blank or comment
 * lines.) On error *out is untouched and nothing stays allocated. */
NDPAR_API int ndpar_series_regular(const gsl_vector *dates, const gsl_matrix *values,
                                   ndpar_step_unit unit, size_t k, ndpar_fill fill,
                                   ndpar_series **out, ndpar_csv_error *err);

/* Frees a series and everything it holds. NULL is a no-op. */
NDPAR_API void ndpar_series_free(ndpar_series *s);

/* A dated CSV file straight onto a regular grid (pandas' read_csv(parse_dates=...,
 * index_col=0).asfreq(...).interpolate(...)): ndpar_csv_read of path with opt (NULL: the
 * defaults: a header line, dates read), whose first column read holds the dates and the
 * others the values, then ndpar_series_regular. Errors as those two; a file of fewer than
 * two columns read (GSL_EBADLEN). */
NDPAR_API int ndpar_series_read(ndpar_pool *p, const char *path, const ndpar_csv_options *opt,
                                ndpar_step_unit unit, size_t k, ndpar_fill fill,
                                ndpar_series **out, ndpar_csv_error *err);

/* ndpar_windows into new matrices: *x (count x lags) and *y (count x horizon), count =
 * ndpar_windows_count(series->size, lags, horizon, step); free them with gsl_matrix_free.
 * Errors as ndpar_windows, horizon 0 (GSL_EINVAL), x and y the same pointer (GSL_EINVAL),
 * out of memory (GSL_ENOMEM); *x and *y untouched on error. */
NDPAR_API int ndpar_windows_alloc(const gsl_vector *series, size_t lags, size_t horizon,
                                  size_t step, gsl_matrix **x, gsl_matrix **y);

#ifdef __cplusplus
}
#endif
#endif /* NDPAR_IO_H */
