/* Bad input to the io module: CSV reading, writing, streaming and lag windows. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "badinput.h"
#include "ndpar/ndpar_io.h"

/* A file in /tmp holding text; removed when the case ends. */
static void unlink_free(void *p) {
  unlink(p);
  free(p);
}

static const char *temp_csv(const char *text) {
  char *path = strdup("/tmp/ndpar-badinput-io-XXXXXX");
  int fd = mkstemp(path);
  cr_assert(fd >= 0);
  cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
  return bi_hold(path, unlink_free);
}

static gsl_matrix *const untouched = (gsl_matrix *)0x1;

CASE(ndpar_csv_options_init, "fills every field") {
  ndpar_csv_options o;
  memset(&o, 0x5a, sizeof o);
  ndpar_csv_options_init(&o);
  bi_unnamed("the io module's message (issue 29's area)");
  EXPECT_TRUE(o.delimiter == ',' && o.header == 1 && o.ncolumns == 0 && o.missing == NULL);
}

CASE(ndpar_csv_header_alloc, "NULL names; a NULL name") {
  EXPECT_NULL(ndpar_csv_header_alloc(2, NULL));
  bi_unnamed("the io module's message (issue 29's area)");
  EXPECT_NULL(ndpar_csv_header_alloc(2, (const char *const[]){"a", NULL}));
}

CASE(ndpar_csv_header_free, "NULL") { ndpar_csv_header_free(NULL); }

CASE(ndpar_csv_read, "NULL path or x; bad options; malformed, empty, binary files") {
  gsl_matrix *x = untouched;
  ndpar_csv_options o;
  ndpar_csv_options_init(&o);
  EXPECT_CODE(ndpar_csv_read(NULL, NULL, &o, &x, NULL, NULL), GSL_EFAULT);
  EXPECT_CODE(ndpar_csv_read(NULL, temp_csv("a\n1\n"), &o, NULL, NULL, NULL), GSL_EFAULT);
  o.delimiter = '\n';
  bi_unnamed("the io module's message (issue 29's area)");
  EXPECT_CODE(ndpar_csv_read(NULL, temp_csv("a\n1\n"), &o, &x, NULL, NULL), GSL_EINVAL);
  ndpar_csv_options_init(&o);
  o.ncolumns = 3; /* neither columns nor indices */
  bi_unnamed("the io module's message (issue 29's area)");
  EXPECT_CODE(ndpar_csv_read(NULL, temp_csv("a\n1\n"), &o, &x, NULL, NULL), GSL_EINVAL);
  bi_unnamed("the file, not an argument");
  EXPECT_CODE(ndpar_csv_read(bi_pool(2), temp_csv(""), NULL, &x, NULL, NULL), GSL_EINVAL);
  bi_unnamed("the file, not an argument");
  EXPECT_CODE(ndpar_csv_read(bi_pool(2), temp_csv("a,b\n"), NULL, &x, NULL, NULL), GSL_EINVAL);
  bi_unnamed("the file, not an argument");
  EXPECT_CODE(ndpar_csv_read(bi_pool(2), temp_csv("a,b\n1,2,3\n"), NULL, &x, NULL, NULL), GSL_EBADLEN);
  bi_unnamed("the file, not an argument");
  EXPECT_CODE(ndpar_csv_read(bi_pool(2), temp_csv("a\n1e999\n"), NULL, &x, NULL, NULL), GSL_ERANGE);
  bi_unnamed("the file, not an argument");
  EXPECT_CODE(ndpar_csv_read(bi_pool(2), temp_csv("a\n\"1\n"), NULL, &x, NULL, NULL), GSL_EINVAL);
  bi_unnamed("the file, not an argument");
  EXPECT_CODE(ndpar_csv_read(bi_pool(2), "/nonexistent/x.csv", NULL, &x, NULL, NULL), GSL_EFAILED);
  bi_unnamed("the file, not an argument");
  EXPECT_CODE(ndpar_csv_read(bi_pool(2), "/tmp", NULL, &x, NULL, NULL), GSL_EFAILED);
  EXPECT_TRUE(x == untouched);
}

CASE(ndpar_csv_read, "extremes read exactly: DBL_MAX, subnormals, -0") {
  gsl_matrix *x = NULL;
  EXPECT_OK(ndpar_csv_read(bi_pool(2), temp_csv("a,b,c\n1.7976931348623157e308,4.9e-324,-0\n"), NULL, &x,
                           NULL, NULL));
  bi_hold(x, bi_free_matrix);
  EXPECT_TRUE(gsl_matrix_get(x, 0, 0) == DBL_MAX && gsl_matrix_get(x, 0, 1) == 4.9e-324);
  EXPECT_TRUE(signbit(gsl_matrix_get(x, 0, 2)));
}

static const gsl_matrix no_cols = {4, 0, 0, NULL, NULL, 0}; /* GSL cannot allocate it */

CASE(ndpar_csv_write, "NULL path or x; a matrix without values; a header of the wrong size") {
  gsl_matrix *x = bi_matrix(2, 2);
  EXPECT_CODE(ndpar_csv_write(NULL, x, NULL), GSL_EFAULT);
  EXPECT_CODE(ndpar_csv_write("/tmp/ndpar-badinput-never.csv", NULL, NULL), GSL_EFAULT);
  EXPECT_CODE(ndpar_csv_write("/tmp/ndpar-badinput-never.csv", &no_cols, NULL), GSL_EBADLEN);
  ndpar_csv_header h = {3, (char *[]){"a", "b", "c"}};
  EXPECT_CODE(ndpar_csv_write("/tmp/ndpar-badinput-never.csv", x, &h), GSL_EBADLEN);
  EXPECT_CODE(ndpar_csv_write("/nonexistent/dir/x.csv", x, NULL), GSL_EFAILED);
  EXPECT_TRUE(access("/tmp/ndpar-badinput-never.csv", F_OK) != 0);
}

CASE(ndpar_csv_write_options_init, "fills every field; NULL") {
  ndpar_csv_write_options o;
  memset(&o, 0x5a, sizeof o);
  ndpar_csv_write_options_init(&o);
  EXPECT_TRUE(o.delimiter == ',' && o.precision == 0 && o.dates == NULL && o.ndates == 0 && o.fsync == 0);
  ndpar_csv_write_options_init(NULL);
}

CASE(ndpar_csv_write_opts, "NULL path or x; bad options; a control byte in a name; no folder") {
  gsl_matrix *x = bi_matrix(2, 2);
  const char *never = "/tmp/ndpar-badinput-never.csv";
  ndpar_csv_write_options o;
  ndpar_csv_write_options_init(&o);
  EXPECT_CODE(ndpar_csv_write_opts(bi_pool(2), NULL, x, NULL, &o), GSL_EFAULT);
  EXPECT_CODE(ndpar_csv_write_opts(bi_pool(2), never, NULL, NULL, &o), GSL_EFAULT);
  EXPECT_CODE(ndpar_csv_write_opts(bi_pool(2), never, &no_cols, NULL, &o), GSL_EBADLEN);
  o.delimiter = '.';
  EXPECT_CODE(ndpar_csv_write_opts(bi_pool(2), never, x, NULL, &o), GSL_EINVAL);
  ndpar_csv_write_options_init(&o);
  o.precision = 99;
  EXPECT_CODE(ndpar_csv_write_opts(bi_pool(2), never, x, NULL, &o), GSL_EINVAL);
  ndpar_csv_write_options_init(&o);
  o.ndates = 1;
  EXPECT_CODE(ndpar_csv_write_opts(bi_pool(2), never, x, NULL, &o), GSL_EFAULT);
  o.dates = (const size_t[]){2};
  EXPECT_CODE(ndpar_csv_write_opts(bi_pool(2), never, x, NULL, &o), GSL_EINVAL);
  ndpar_csv_header h = {2, (char *[]){"a", "b\x01"}};
  EXPECT_CODE(ndpar_csv_write_opts(bi_pool(2), never, x, &h, NULL), GSL_EINVAL);
  ndpar_csv_header hn = {2, (char *[]){"a", NULL}};
  EXPECT_CODE(ndpar_csv_write_opts(bi_pool(2), never, x, &hn, NULL), GSL_EFAULT);
  EXPECT_CODE(ndpar_csv_write_opts(bi_pool(2), "/nonexistent/dir/x.csv", x, NULL, NULL), GSL_EFAILED);
  EXPECT_TRUE(access(never, F_OK) != 0);
}

static void discard_writer(void *w) { ndpar_csv_writer_discard(w); }

CASE(ndpar_csv_writer_open, "NULL path; bad options; an empty header; a control byte; no folder") {
  const char *never = "/tmp/ndpar-badinput-never.csv";
  ndpar_csv_write_options o;
  ndpar_csv_write_options_init(&o);
  o.delimiter = '"';
  EXPECT_NULL(ndpar_csv_writer_open(NULL, NULL, NULL, NULL));
  EXPECT_NULL(ndpar_csv_writer_open(bi_pool(2), never, NULL, &o));
  ndpar_csv_header empty = {0, NULL}, bad = {1, (char *[]){"\x02"}}, null_names = {2, NULL};
  EXPECT_NULL(ndpar_csv_writer_open(bi_pool(2), never, &empty, NULL));
  EXPECT_NULL(ndpar_csv_writer_open(bi_pool(2), never, &bad, NULL));
  EXPECT_NULL(ndpar_csv_writer_open(bi_pool(2), never, &null_names, NULL));
  EXPECT_NULL(ndpar_csv_writer_open(bi_pool(2), "/nonexistent/dir/x.csv", NULL, NULL));
  EXPECT_TRUE(access(never, F_OK) != 0);
}

CASE(ndpar_csv_writer_write, "NULL writer or block; a block of another width; no columns") {
  gsl_matrix *x = bi_matrix(2, 2), *wide = bi_matrix(2, 3);
  ndpar_csv_writer *w = bi_hold(ndpar_csv_writer_open(bi_pool(2), "/tmp/ndpar-badinput-never.csv", NULL, NULL),
                                discard_writer);
  cr_assert_not_null(w);
  EXPECT_CODE(ndpar_csv_writer_write(NULL, x), GSL_EFAULT);
  EXPECT_CODE(ndpar_csv_writer_write(w, NULL), GSL_EFAULT);
  EXPECT_CODE(ndpar_csv_writer_write(w, &no_cols), GSL_EBADLEN);
  EXPECT_OK(ndpar_csv_writer_write(w, x));
  EXPECT_CODE(ndpar_csv_writer_write(w, wide), GSL_EBADLEN);
}

CASE(ndpar_csv_writer_close, "NULL; a writer whose write failed") {
  EXPECT_CODE(ndpar_csv_writer_close(NULL), GSL_EFAULT);
  if (access("/dev/full", W_OK) != 0) return;
  ndpar_csv_writer *w = ndpar_csv_writer_open(bi_pool(2), "/dev/full", NULL, NULL);
  cr_assert_not_null(w);
  gsl_matrix *x = bi_matrix(300, 300);
  bi_unnamed("the system refused the write (no space on /dev/full): no argument is at fault");
  EXPECT_CODE(ndpar_csv_writer_write(w, x), GSL_EFAILED);
  bi_unnamed("the system refused the write (no space on /dev/full): no argument is at fault");
  EXPECT_CODE(ndpar_csv_writer_close(w), GSL_EFAILED);
}

CASE(ndpar_csv_writer_discard, "NULL") { ndpar_csv_writer_discard(NULL); }

static void close_reader(void *r) { ndpar_csv_reader_close(r); }

CASE(ndpar_csv_reader_open, "NULL path; 0 rows a block; a missing file") {
  EXPECT_NULL(ndpar_csv_reader_open(NULL, NULL, 10, NULL));
  EXPECT_NULL(ndpar_csv_reader_open(temp_csv("a\n1\n"), NULL, 0, NULL));
  bi_unnamed("the file, not an argument");
  EXPECT_NULL(ndpar_csv_reader_open("/nonexistent/x.csv", NULL, 10, NULL));
}

CASE(ndpar_csv_reader_next, "NULL reader or block; a block too large to allocate; bad data") {
  gsl_matrix *b = untouched;
  EXPECT_CODE(ndpar_csv_reader_next(NULL, &b), GSL_EFAULT);
  ndpar_csv_reader *r = bi_hold(ndpar_csv_reader_open(temp_csv("a\n1\n"), NULL, SIZE_MAX / 4, NULL), close_reader);
  cr_assert_not_null(r);
  EXPECT_CODE(ndpar_csv_reader_next(r, NULL), GSL_EFAULT);
  bi_unnamed("the file or the system, not an argument");
  EXPECT_CODE(ndpar_csv_reader_next(r, &b), GSL_ENOMEM);
  r = bi_hold(ndpar_csv_reader_open(temp_csv("a\n1\nx\n"), NULL, 1, NULL), close_reader);
  EXPECT_OK(ndpar_csv_reader_next(r, &b));
  gsl_matrix_free(b);
  b = untouched;
  bi_unnamed("the file or the system, not an argument");
  EXPECT_CODE(ndpar_csv_reader_next(r, &b), GSL_EINVAL);
  EXPECT_TRUE(b == untouched);
}

CASE(ndpar_csv_reader_header, "NULL reader") { EXPECT_TRUE(ndpar_csv_reader_header(NULL) == NULL); }
CASE(ndpar_csv_reader_error, "NULL reader") { EXPECT_TRUE(ndpar_csv_reader_error(NULL) == NULL); }
CASE(ndpar_csv_reader_close, "NULL") { ndpar_csv_reader_close(NULL); }

CASE(ndpar_windows_count, "0 lags or step; lags + horizon overflowing; too short") {
  EXPECT_TRUE(ndpar_windows_count(10, 0, 1, 1) == 0);
  EXPECT_TRUE(ndpar_windows_count(10, 3, 1, 0) == 0);
  EXPECT_TRUE(ndpar_windows_count(SIZE_MAX, SIZE_MAX, 2, 1) == 0);
  EXPECT_TRUE(ndpar_windows_count(3, 3, 1, 1) == 0);
  EXPECT_TRUE(ndpar_windows_count(SIZE_MAX, 1, 0, 1) == SIZE_MAX);
}

CASE(ndpar_windows, "NULL series or outputs; 0 lags or step; too short; wrong shapes") {
  gsl_vector *s = bi_vector(10);
  gsl_matrix *x = bi_sentinel_matrix(6, 3), *y = bi_sentinel_matrix(6, 2), *bad = bi_sentinel_matrix(5, 3);
  EXPECT_CODE(ndpar_windows(NULL, 3, 2, 1, x, y), GSL_EFAULT);
  EXPECT_CODE(ndpar_windows(s, 3, 2, 1, NULL, y), GSL_EFAULT);
  EXPECT_CODE(ndpar_windows(s, 3, 2, 1, x, NULL), GSL_EFAULT);
  EXPECT_CODE(ndpar_windows(s, 0, 2, 1, x, y), GSL_EINVAL);
  EXPECT_CODE(ndpar_windows(s, 3, 2, 0, x, y), GSL_EINVAL);
  EXPECT_CODE(ndpar_windows(s, SIZE_MAX, 2, 1, x, y), GSL_EINVAL);
  EXPECT_CODE(ndpar_windows(s, 3, 2, 1, bad, y), GSL_EBADLEN);
  EXPECT_CODE(ndpar_windows(s, 3, 2, 1, x, bad), GSL_EBADLEN);
  bi_assert_untouched_matrix(x, "x");
  bi_assert_untouched_matrix(y, "y");
}

static void free_series(void *s) { ndpar_series_free(s); }

CASE(ndpar_series_regular, "NULL dates, values or out; k 0; unknown unit or fill; sizes; bad dates") {
  gsl_vector *d = bi_vector(3);
  gsl_matrix *v = bi_matrix(3, 2), *short_v = bi_matrix(2, 2);
  for (size_t i = 0; i < 3; i++) gsl_vector_set(d, i, 3600.0 * (double)i);
  ndpar_series *s = (ndpar_series *)&s;
  EXPECT_CODE(ndpar_series_regular(NULL, v, NDPAR_STEP_HOUR, 1, NDPAR_FILL_LINEAR, &s, NULL), GSL_EFAULT);
  EXPECT_CODE(ndpar_series_regular(d, NULL, NDPAR_STEP_HOUR, 1, NDPAR_FILL_LINEAR, &s, NULL), GSL_EFAULT);
  EXPECT_CODE(ndpar_series_regular(d, v, NDPAR_STEP_HOUR, 1, NDPAR_FILL_LINEAR, NULL, NULL), GSL_EFAULT);
  EXPECT_CODE(ndpar_series_regular(d, v, NDPAR_STEP_HOUR, 0, NDPAR_FILL_LINEAR, &s, NULL), GSL_EINVAL);
  EXPECT_CODE(ndpar_series_regular(d, v, (ndpar_step_unit)99, 1, NDPAR_FILL_LINEAR, &s, NULL), GSL_EINVAL);
  EXPECT_CODE(ndpar_series_regular(d, v, NDPAR_STEP_HOUR, 1, (ndpar_fill)-1, &s, NULL), GSL_EINVAL);
  EXPECT_CODE(ndpar_series_regular(d, short_v, NDPAR_STEP_HOUR, 1, NDPAR_FILL_LINEAR, &s, NULL), GSL_EBADLEN);
  EXPECT_CODE(ndpar_series_regular(d, v, NDPAR_STEP_DAY, 1, NDPAR_FILL_LINEAR, &s, NULL), GSL_EINVAL);
  gsl_vector_set(d, 2, 0);
  EXPECT_CODE(ndpar_series_regular(d, v, NDPAR_STEP_HOUR, 1, NDPAR_FILL_LINEAR, &s, NULL), GSL_EINVAL);
  gsl_vector_set(d, 2, NAN);
  EXPECT_CODE(ndpar_series_regular(d, v, NDPAR_STEP_HOUR, 1, NDPAR_FILL_LINEAR, &s, NULL), GSL_EINVAL);
  EXPECT_TRUE(s == (ndpar_series *)&s);
  gsl_vector_set(d, 2, 7200);
  EXPECT_OK(ndpar_series_regular(d, v, NDPAR_STEP_HOUR, 1, NDPAR_FILL_LINEAR, &s, NULL));
  bi_hold(s, free_series);
  EXPECT_TRUE(s->dates->size == 3 && s->nfilled == 0);
}

CASE(ndpar_series_free, "NULL") { ndpar_series_free(NULL); }

CASE(ndpar_npy_read, "NULL path or x; a missing file; not .npy; truncated") {
  gsl_matrix *x = untouched;
  EXPECT_CODE(ndpar_npy_read(NULL, &x), GSL_EFAULT);
  EXPECT_CODE(ndpar_npy_read(temp_csv("a\n1\n"), NULL), GSL_EFAULT);
  EXPECT_CODE(ndpar_npy_read("/nonexistent/x.npy", &x), GSL_EFAILED);
  EXPECT_CODE(ndpar_npy_read(temp_csv("a\n1\n"), &x), GSL_EINVAL);
  EXPECT_CODE(ndpar_npy_read(temp_csv("\x93NUMPY\x01"), &x), GSL_EINVAL);
  EXPECT_TRUE(x == untouched);
}

CASE(ndpar_npy_write, "NULL path or x; no values; no folder") {
  gsl_matrix *x = bi_matrix(2, 2);
  EXPECT_CODE(ndpar_npy_write(NULL, x), GSL_EFAULT);
  EXPECT_CODE(ndpar_npy_write("/tmp/ndpar-badinput-never.npy", NULL), GSL_EFAULT);
  EXPECT_CODE(ndpar_npy_write("/tmp/ndpar-badinput-never.npy", &no_cols), GSL_EBADLEN);
  EXPECT_CODE(ndpar_npy_write("/nonexistent/dir/x.npy", x), GSL_EFAILED);
  EXPECT_TRUE(access("/tmp/ndpar-badinput-never.npy", F_OK) != 0);
}
