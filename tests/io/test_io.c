/* Tests of the io module: numbers against strtod, every malformed case with its code and
 * message (whole-file and streaming), options, dates, write/read round trips, parallel
 * parse against one thread, streaming against the whole file, lag windows. */
#include <criterion/criterion.h>
#include <errno.h>
#include <float.h>
#include <gsl/gsl_randist.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "io/csv_number.h"
#include "ndpar/ndpar_io.h"
#include "test_util.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#else
#define SANITIZED 0
#endif
#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/lsan_interface.h>
/* Nothing allocated and unreachable: a leak check now finds no leak. */
#define ASSERT_NO_LEAK() cr_assert_eq(__lsan_do_recoverable_leak_check(), 0, "a leak")
#else
#define ASSERT_NO_LEAK() ((void)0)
#endif

/* ---- files ---------------------------------------------------------------------------- */

static char tmpdir[64];

static void make_tmpdir(void) {
  if (tmpdir[0]) return;
  snprintf(tmpdir, sizeof tmpdir, "/tmp/ndpar-io-test-XXXXXX");
  cr_assert_not_null(mkdtemp(tmpdir));
}

static void remove_tmpdir(void) {
  if (!tmpdir[0]) return;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  cr_assert_eq(system(cmd), 0);
  tmpdir[0] = '\0';
}

/* A file named name in the test's folder holding len bytes of text; returns its path. */
static const char *write_bytes(const char *name, const char *text, size_t len) {
  static char path[8][256];
  static int next;
  make_tmpdir();
  char *p = path[next++ % 8];
  snprintf(p, 256, "%s/%s", tmpdir, name);
  FILE *f = fopen(p, "wb");
  cr_assert_not_null(f);
  cr_assert_eq(fwrite(text, 1, len, f), len);
  cr_assert_eq(fclose(f), 0);
  return p;
}

static const char *write_text(const char *name, const char *text) {
  return write_bytes(name, text, strlen(text));
}

TestSuite(io, .fini = remove_tmpdir);
TestSuite(io_convention, .fini = remove_tmpdir);

/* ---- numbers ---------------------------------------------------------------------------- */

/* What strtod says of the whole string: its status and value. */
static int strtod_whole(const char *s, double *v) {
  char *end;
  errno = 0;
  *v = strtod(s, &end);
  if (*s == '\0' || *end != '\0') return CSV_NUM_BAD;
  return errno == ERANGE && isinf(*v) ? CSV_NUM_RANGE : CSV_NUM_OK;
}

static void check_number(const char *s) {
  double ref = 0, got = 0;
  int want = strtod_whole(s, &ref);
  int status = csv_parse_number(s, strlen(s), &got);
  cr_assert_eq(status, want, "\"%s\": status %d, strtod says %d", s, status, want);
  if (status != CSV_NUM_OK) return;
  if (isnan(ref)) {
    cr_assert(isnan(got), "\"%s\": %a, strtod says NaN", s, got);
    return;
  }
  cr_assert(memcmp(&got, &ref, sizeof got) == 0, "\"%s\": %a, strtod says %a", s, got, ref);
}

static void random_digits(gsl_rng *r, char *o, size_t n) {
  for (size_t i = 0; i < n; i++) o[i] = (char)('0' + gsl_rng_uniform_int(r, 10));
  o[n] = '\0';
}

/* A random decimal: sign, up to 25 integer and fraction digits, an exponent. */
static void random_decimal(gsl_rng *r, char *buf) {
  char *o = buf;
  if (gsl_rng_uniform_int(r, 3) == 0) *o++ = gsl_rng_uniform_int(r, 2) ? '-' : '+';
  size_t nint = gsl_rng_uniform_int(r, 26), nfrac = gsl_rng_uniform_int(r, 26);
  random_digits(r, o, nint);
  o += nint;
  if (nfrac || gsl_rng_uniform_int(r, 4) == 0) {
    *o++ = '.';
    random_digits(r, o, nfrac);
    o += nfrac;
  }
  if (gsl_rng_uniform_int(r, 2)) {
    *o++ = gsl_rng_uniform_int(r, 2) ? 'e' : 'E';
    if (gsl_rng_uniform_int(r, 2)) *o++ = gsl_rng_uniform_int(r, 2) ? '-' : '+';
    o += sprintf(o, "%lu", gsl_rng_uniform_int(r, 400));
  }
  *o = '\0';
}

/* A double from random bits (not NaN), printed in one of several ways. */
static void random_printed(gsl_rng *r, char *buf) {
  uint64_t bits = ((uint64_t)gsl_rng_get(r) << 32) ^ gsl_rng_get(r);
  double d;
  memcpy(&d, &bits, sizeof d);
  if (isnan(d)) d = 1.0;
  switch (gsl_rng_uniform_int(r, 4)) {
    case 0: sprintf(buf, "%.17g", d); break;
    case 1: sprintf(buf, "%.*g", (int)gsl_rng_uniform_int(r, 17) + 1, d); break;
    case 2: sprintf(buf, "%a", d); break;
    default: {
      /* Half way between d and the next double, to 40 digits: the hardest rounding. */
      double next = nextafter(d, INFINITY);
      long double mid = (long double)d + ((long double)next - (long double)d) / 2;
      sprintf(buf, "%.40Le", mid);
    }
  }
}

/* Values of the kind a data file holds: a few digits, a point. */
static void random_short(gsl_rng *r, char *buf) {
  sprintf(buf, "%.*f", (int)gsl_rng_uniform_int(r, 8), gsl_ran_gaussian(r, pow(10, (double)gsl_rng_uniform_int(r, 12))));
}

Test(io, numbers_parse_as_strtod_in_the_c_locale) {
  static const char *const special[] = {
      "0", "-0", "+0", "0.0", "-0.0", ".5", "5.", ".", "-", "+", "", "e5", "1e", "1e+", "1e-",
      "1.5e308", "1.7976931348623157e308", "1.7976931348623159e308", "1e309", "-1e999", "1e999",
      "4.9406564584124654e-324", "2.4703282292062327e-324", "2.4703282292062328e-324", "1e-400",
      "2.2250738585072011e-308", "2.2250738585072014e-308", "9007199254740993", "9007199254740992",
      "9007199254740993.0000000000000001", "123456789012345678901234567890", "0x1p-1074", "0x1.8p1",
      "inf", "-inf", "Infinity", "nan", "NaN", "nan(123)", " 1", "1 ", "\t2", "1,5", "1.5.5", "--1",
      "1e0000000000000000000000000001", "0.000000000000000000000000000000000000000001e42",
      "1e22", "1e23", "9007199254740991e22", "9007199254740993e-22", "1_000", "١٢"};
  cr_assert(csv_number_init());
  for (size_t i = 0; i < sizeof special / sizeof *special; i++) check_number(special[i]);
  gsl_rng *r = test_rng();
  size_t n = SANITIZED ? 300000 : 3000000;
  char buf[128];
  for (size_t i = 0; i < n; i++) {
    switch (i % 3) {
      case 0: random_decimal(r, buf); break;
      case 1: random_printed(r, buf); break;
      default: random_short(r, buf);
    }
    check_number(buf);
  }
  gsl_rng_free(r);
}

/* A decimal-comma locale made on the spot (localedef), set for the whole process: strtod
 * would then stop at the '.', and the reader must not. */
Test(io, numbers_ignore_setlocale) {
  make_tmpdir();
  char cmd[512];
  snprintf(cmd, sizeof cmd, "localedef -i de_DE -f UTF-8 '%s/de_DE.UTF-8' >/dev/null 2>&1", tmpdir);
  int built = system(cmd);
  cr_assert_eq(built, 0, "localedef could not build de_DE.UTF-8 (make deps installs locales)");
  setenv("LOCPATH", tmpdir, 1);
  cr_assert_not_null(setlocale(LC_ALL, "de_DE.UTF-8"));
  cr_assert_eq(strtod("1.5", NULL), 1.0, "the locale should make strtod stop at '.'");
  const char *path = write_text("l.csv", "a;b\n1.5;-2.25e3\n\"3,5\";0.1\n");
  ndpar_csv_options o;
  ndpar_csv_options_init(&o);
  o.delimiter = ';';
  o.indices = (const size_t[]){0};
  o.ncolumns = 1;
  gsl_matrix *x = NULL;
  test_quiet_gsl_errors();
  ndpar_csv_error err;
  cr_assert_eq(ndpar_csv_read(NULL, path, &o, &x, NULL, &err), GSL_EINVAL);
  cr_assert(strstr(err.message, ":3:1: \"3,5\" is not a number") != NULL, "%s", err.message);
  o.indices = (const size_t[]){1};
  cr_assert_eq(ndpar_csv_read(NULL, path, &o, &x, NULL, NULL), GSL_SUCCESS);
  cr_assert_eq(gsl_matrix_get(x, 0, 0), -2250.0);
  cr_assert_eq(gsl_matrix_get(x, 1, 0), 0.1);
  gsl_matrix_free(x);
  /* and the writer writes '.' */
  gsl_matrix *y = gsl_matrix_alloc(1, 1);
  gsl_matrix_set(y, 0, 0, 0.5);
  char out[256];
  snprintf(out, sizeof out, "%s/w.csv", tmpdir);
  cr_assert_eq(ndpar_csv_write(out, y, NULL), GSL_SUCCESS);
  FILE *f = fopen(out, "r");
  char line[64] = "";
  cr_assert_not_null(fgets(line, sizeof line, f));
  fclose(f);
  cr_assert_str_eq(line, "0.5\n");
  gsl_matrix_free(y);
  setlocale(LC_ALL, "C");
}

/* ---- errors ------------------------------------------------------------------------------ */

/* Reads path expecting `code` and the message path + suffix, whole-file (at 1 and 3
 * threads, small pieces) and streaming (block sizes 1, 2, 1000); checks that nothing is
 * returned, the GSL handler saw the message, and nothing leaked. */
static void expect_error_at(const char *path, const ndpar_csv_options *opt, int code, const char *suffix,
                            size_t line, size_t column) {
  char want[1024];
  snprintf(want, sizeof want, "%s%s", path, suffix);
  test_quiet_gsl_errors();
  for (size_t threads = 1; threads <= 3; threads += 2) {
    ndpar_pool *p = test_pool_of(threads);
    ndpar_csv_options o;
    if (opt) o = *opt;
    else ndpar_csv_options_init(&o);
    o.chunk_bytes = threads > 1 ? 5 : 0;
    gsl_matrix *sentinel = (gsl_matrix *)&o, *x = sentinel;
    ndpar_csv_header *hs = (ndpar_csv_header *)&o, *h = hs;
    ndpar_csv_error err;
    size_t before = test_gsl_error_count();
    int status = ndpar_csv_read(p, path, &o, &x, &h, &err);
    cr_assert_eq(status, code, "%s: status %d, expected %d (%s)", path, status, code, err.message);
    cr_assert_eq(err.code, code);
    cr_assert_str_eq(err.message, want);
    cr_assert_eq(err.line, line, "%s: line %zu, expected %zu", want, err.line, line);
    cr_assert_eq(err.column, column, "%s: column %zu, expected %zu", want, err.column, column);
    cr_assert_eq(x, sentinel, "x was touched");
    cr_assert_eq(h, hs, "header was touched");
    cr_assert_eq(test_gsl_error_count(), before + 1, "the GSL handler was not called once");
    cr_assert_str_eq(test_gsl_last_reason(), want);
    ndpar_pool_free(p);
  }
  const size_t blocks[] = {1, 2, 1000};
  for (size_t b = 0; b < 3; b++) {
    ndpar_csv_error err;
    ndpar_csv_reader *r = ndpar_csv_reader_open(path, opt, blocks[b], &err);
    if (r != NULL) {
      gsl_matrix *m;
      int status;
      while ((status = ndpar_csv_reader_next(r, &m)) == GSL_SUCCESS) gsl_matrix_free(m);
      err = *ndpar_csv_reader_error(r);
      cr_assert_eq(status, code, "streaming %s: %d, expected %d", path, status, code);
      cr_assert_eq(ndpar_csv_reader_next(r, &m), code, "the error should repeat");
      ndpar_csv_reader_close(r);
    }
    cr_assert_eq(err.code, code);
    cr_assert_str_eq(err.message, want, "streaming, block %zu", blocks[b]);
    cr_assert_eq(err.line, line);
  }
  ASSERT_NO_LEAK();
}

static void expect_error(const char *text, const ndpar_csv_options *opt, int code, const char *suffix,
                         size_t line, size_t column) {
  expect_error_at(write_text("e.csv", text), opt, code, suffix, line, column);
}

Test(io, malformed_numbers) {
  expect_error("a,b\n1,2\n3,abc\n", NULL, GSL_EINVAL, ":3:2: \"abc\" is not a number", 3, 2);
  expect_error("a,b\n1,2\n3,1.5x\n4,5\n", NULL, GSL_EINVAL, ":3:2: \"1.5x\" is not a number", 3, 2);
  expect_error("a,b\n1e999,2\n", NULL, GSL_ERANGE, ":2:1: \"1e999\" is out of the range of a double", 2, 1);
  expect_error("a,b\n1,-1e999\n", NULL, GSL_ERANGE, ":2:2: \"-1e999\" is out of the range of a double", 2, 2);
  expect_error("a\n   \n", NULL, GSL_EINVAL, ":2:1: \"   \" is not a number", 2, 1);
  expect_error("a\n\"\v1\"\n", NULL, GSL_EINVAL, ":2:1: \"\\x0b1\" is not a number", 2, 1);
  expect_error("a\n1 2\n", NULL, GSL_EINVAL, ":2:1: \"1 2\" is not a number", 2, 1);
  expect_error("a\n 1e999 \n", NULL, GSL_ERANGE, ":2:1: \" 1e999 \" is out of the range of a double", 2, 1);
  expect_error("d\n2010-01-01T23:59:60\n", NULL, GSL_EINVAL, ":2:1: \"2010-01-01T23:59:60\" is not a number", 2, 1);
  expect_error("d\n0000-01-01\n", NULL, GSL_EINVAL, ":2:1: \"0000-01-01\" is not a number", 2, 1);
  expect_error("d\n2010-02-30\n", NULL, GSL_EINVAL, ":2:1: \"2010-02-30\" is not a number", 2, 1);
}

Test(io, ragged_rows) {
  expect_error("a,b,c,d\n1,2,3,4\n1,2,3\n", NULL, GSL_EBADLEN, ":3: 3 fields, expected 4", 3, 0);
  expect_error("a,b\n1,2\n1,2,3\n", NULL, GSL_EBADLEN, ":3: 3 fields, expected 2", 3, 0);
  expect_error("a,b\n1,2\n7\n", NULL, GSL_EBADLEN, ":3: 1 field, expected 2", 3, 0);
}

Test(io, header_and_file_errors) {
  ndpar_csv_options o;
  ndpar_csv_options_init(&o);
  o.columns = (const char *const[]){"b", "zz"};
  o.ncolumns = 2;
  expect_error("a,b\n1,2\n", &o, GSL_EINVAL, ":1: no column named \"zz\" in the header", 1, 0);
  ndpar_csv_options_init(&o);
  o.indices = (const size_t[]){0, 7};
  o.ncolumns = 2;
  expect_error("a,b\n1,2\n", &o, GSL_EINVAL, ":1: column index 7 is out of range: the file has 2 columns", 1, 0);
  o.indices = (const size_t[]){0, 0};
  expect_error("a,b\n1,2\n", &o, GSL_EINVAL, ":1: column 0 is selected twice", 1, 0);
  ndpar_csv_options_init(&o);
  o.columns = (const char *const[]){"b", "b"};
  o.ncolumns = 2;
  expect_error("a,b\n1,2\n", &o, GSL_EINVAL, ":1: column \"b\" is selected twice", 1, 0);
  expect_error("", NULL, GSL_EINVAL, ": the file is empty", 0, 0);
  expect_error("\n\r\n", NULL, GSL_EINVAL, ": the file is empty", 0, 0);
  expect_error("a,b\n", NULL, GSL_EINVAL, ": no data rows after the header", 0, 0);
  expect_error("a,b\n\n", NULL, GSL_EINVAL, ": no data rows after the header", 0, 0);
  make_tmpdir();
  char missing[256];
  snprintf(missing, sizeof missing, "%s/no-such-file.csv", tmpdir);
  expect_error_at(missing, NULL, GSL_EFAILED, ": cannot open: No such file or directory", 0, 0);
  expect_error_at(tmpdir, NULL, GSL_EFAILED, ": cannot read: Is a directory", 0, 0);
}

Test(io, quoting_and_binary_errors) {
  expect_error("a,b\n1,\"2\n", NULL, GSL_EINVAL, ":2:2: a quoted field is not closed before the end of the file", 2, 2);
  expect_error("a,b\n1,2\"3\n", NULL, GSL_EINVAL,
               ":2:2: a quote inside an unquoted field (quote the whole field and double its quotes)", 2, 2);
  expect_error("a,b\n1,\"2\"3\n", NULL, GSL_EINVAL, ":2:2: text after the closing quote of a quoted field", 2, 2);
  expect_error_at(write_bytes("bin.csv", "a,b\n1,2\n3,\0\x01\x02\n", 15), NULL, GSL_EINVAL,
                  ":3:2: binary data (byte 0x00), not text", 3, 2);
  expect_error_at(write_bytes("elf.csv", "\x7f" "ELF\x02\x01\x01\0\0\0", 10), NULL, GSL_EINVAL,
                  ":1:1: binary data (byte 0x02), not text", 1, 1);
}

Test(io, missing_values) {
  ndpar_csv_options o;
  ndpar_csv_options_init(&o);
  o.missing_is_error = 1;
  expect_error("a,b\n1,2\n3,NA\n", &o, GSL_EINVAL, ":3:2: missing value (\"NA\")", 3, 2);
  expect_error("a,b\n1,2\n,4\n", &o, GSL_EINVAL, ":3:1: missing value (\"\")", 3, 1);
  o.missing_is_error = 0;
  o.missing = (const char *const[]){"-999", "?", NULL};
  expect_error("a,b\n1,NA\n", &o, GSL_EINVAL, ":2:2: \"NA\" is not a number", 2, 2);
  gsl_matrix *x = NULL;
  cr_assert_eq(ndpar_csv_read(NULL, write_text("m.csv", "a,b\n-999,?\n-9990,\"-999\"\n"), &o, &x, NULL, NULL), GSL_SUCCESS);
  cr_assert(isnan(gsl_matrix_get(x, 0, 0)) && isnan(gsl_matrix_get(x, 0, 1)));
  cr_assert_eq(gsl_matrix_get(x, 1, 0), -9990.0);
  cr_assert(isnan(gsl_matrix_get(x, 1, 1)));
  gsl_matrix_free(x);
  cr_assert_eq(ndpar_csv_read(NULL, write_text("n.csv", "a,b,c\n,NA,NaN\n1,2,3\n"), NULL, &x, NULL, NULL), GSL_SUCCESS);
  for (int j = 0; j < 3; j++) cr_assert(isnan(gsl_matrix_get(x, 0, j)));
  gsl_matrix_free(x);
}

Test(io, errors_late_in_a_large_file_name_the_right_line) {
  /* 5000 rows; an error at data row 4321 (line 4322), one more later: the first is named. */
  size_t rows = 5000, bad = 4321;
  char *text = malloc(rows * 32 + 64), *o = text;
  o += sprintf(o, "x,y\n");
  for (size_t i = 0; i < rows; i++) {
    if (i == bad) o += sprintf(o, "%zu,abc\n", i);
    else if (i == bad + 300) o += sprintf(o, "%zu,1,2\n", i);
    else o += sprintf(o, "%zu,%zu.5\n", i, i);
  }
  expect_error(text, NULL, GSL_EINVAL, ":4323:2: \"abc\" is not a number", 4323, 2);
  free(text);
}

Test(io, argument_errors) {
  test_quiet_gsl_errors();
  gsl_matrix *x = NULL;
  cr_assert_eq(ndpar_csv_read(NULL, NULL, NULL, &x, NULL, NULL), GSL_EFAULT);
  cr_assert_eq(ndpar_csv_read(NULL, "x.csv", NULL, NULL, NULL, NULL), GSL_EFAULT);
  ndpar_csv_options o;
  ndpar_csv_options_init(&o);
  o.delimiter = '"';
  cr_assert_eq(ndpar_csv_read(NULL, "x.csv", &o, &x, NULL, NULL), GSL_EINVAL);
  ndpar_csv_options_init(&o);
  o.header = 0;
  o.columns = (const char *const[]){"a"};
  o.ncolumns = 1;
  cr_assert_eq(ndpar_csv_read(NULL, "x.csv", &o, &x, NULL, NULL), GSL_EINVAL);
  ndpar_csv_options_init(&o);
  o.ncolumns = 1;
  cr_assert_eq(ndpar_csv_read(NULL, "x.csv", &o, &x, NULL, NULL), GSL_EINVAL);
  cr_assert_null(x);
  cr_assert_null(ndpar_csv_reader_open("x.csv", NULL, 0, NULL));
  cr_assert_null(ndpar_csv_reader_open(NULL, NULL, 10, NULL));
  cr_assert_eq(ndpar_csv_write(NULL, NULL, NULL), GSL_EFAULT);
  /* A block size whose matrix cannot exist: out of memory from next(), not a crash. */
  const char *path = write_text("a.csv", "a,b\n1,2\n");
  ndpar_csv_reader *r = ndpar_csv_reader_open(path, NULL, SIZE_MAX / 2, NULL);
  cr_assert_not_null(r);
  gsl_matrix *b = NULL;
  cr_assert_eq(ndpar_csv_reader_next(r, &b), GSL_ENOMEM);
  cr_assert_null(b);
  ndpar_csv_reader_close(r);
}

/* The argument convention (docs/API.md): a NULL required pointer is GSL_EFAULT with one GSL
 * error; io's calls take no `failed`, which each row leaves untouched. */
static const char *conv_path;
static gsl_matrix *conv_m;
static gsl_vector *conv_v;
static int conv_read_null_path(size_t *f) { (void)f; return ndpar_csv_read(NULL, NULL, NULL, &conv_m, NULL, NULL); }
static int conv_read_null_x(size_t *f) { (void)f; return ndpar_csv_read(NULL, conv_path, NULL, NULL, NULL, NULL); }
static int conv_read_null_name(size_t *f) {
  (void)f;
  ndpar_csv_options o;
  ndpar_csv_options_init(&o);
  o.columns = (const char *const[]){NULL};
  o.ncolumns = 1;
  return ndpar_csv_read(NULL, conv_path, &o, &conv_m, NULL, NULL);
}
static int conv_read_ok(size_t *f) {
  (void)f;
  gsl_matrix *x = NULL;
  int s = ndpar_csv_read(NULL, conv_path, NULL, &x, NULL, NULL);
  gsl_matrix_free(x);
  return s;
}
static int conv_write_null_path(size_t *f) { (void)f; return ndpar_csv_write(NULL, conv_m, NULL); }
static int conv_write_null_x(size_t *f) { (void)f; return ndpar_csv_write("/tmp/ndpar-io-never.csv", NULL, NULL); }
static int conv_write_null_names(size_t *f) {
  (void)f;
  ndpar_csv_header h = {2, NULL};
  return ndpar_csv_write("/tmp/ndpar-io-never.csv", conv_m, &h);
}
static int conv_open_null_path(size_t *f) { (void)f; return ndpar_csv_reader_open(NULL, NULL, 1, NULL) ? GSL_SUCCESS : GSL_EFAULT; }
static int conv_next_null_reader(size_t *f) {
  (void)f;
  gsl_matrix *b;
  return ndpar_csv_reader_next(NULL, &b);
}
static int conv_next_null_block(size_t *f) {
  (void)f;
  ndpar_csv_reader *r = ndpar_csv_reader_open(conv_path, NULL, 1, NULL);
  int s = ndpar_csv_reader_next(r, NULL);
  ndpar_csv_reader_close(r);
  return s;
}
static int conv_header_null_names(size_t *f) { (void)f; return ndpar_csv_header_alloc(2, NULL) ? GSL_SUCCESS : GSL_EFAULT; }
static int conv_windows_null_series(size_t *f) { (void)f; return ndpar_windows(NULL, 1, 1, 1, conv_m, conv_m); }
static int conv_windows_null_x(size_t *f) { (void)f; return ndpar_windows(conv_v, 1, 1, 1, NULL, conv_m); }
static int conv_windows_null_y(size_t *f) { (void)f; return ndpar_windows(conv_v, 1, 1, 1, conv_m, NULL); }
static int conv_windows_no_targets(size_t *f) {
  (void)f;
  gsl_matrix *x = gsl_matrix_alloc(3, 1);
  int s = ndpar_windows(conv_v, 1, 0, 1, x, NULL);
  gsl_matrix_free(x);
  return s;
}

Test(io_convention, null_pointers_are_efault) {
  conv_path = write_text("conv.csv", "a,b\n1,2\n");
  conv_m = gsl_matrix_calloc(2, 1);
  conv_v = gsl_vector_calloc(3);
  const test_convention_row rows[] = {
      {"csv_read, path NULL", conv_read_null_path, GSL_EFAULT, 0},
      {"csv_read, x NULL", conv_read_null_x, GSL_EFAULT, 0},
      {"csv_read, a column name NULL", conv_read_null_name, GSL_EFAULT, 0},
      {"csv_read, success", conv_read_ok, GSL_SUCCESS, TEST_UNTOUCHED},
      {"csv_write, path NULL", conv_write_null_path, GSL_EFAULT, 0},
      {"csv_write, x NULL", conv_write_null_x, GSL_EFAULT, 0},
      {"csv_write, header names NULL", conv_write_null_names, GSL_EFAULT, 0},
      {"csv_reader_open, path NULL", conv_open_null_path, GSL_EFAULT, 0},
      {"csv_reader_next, r NULL", conv_next_null_reader, GSL_EFAULT, 0},
      {"csv_reader_next, block NULL", conv_next_null_block, GSL_EFAULT, 0},
      {"csv_header_alloc, names NULL", conv_header_null_names, GSL_EFAULT, 0},
      {"windows, series NULL", conv_windows_null_series, GSL_EFAULT, 0},
      {"windows, x NULL", conv_windows_null_x, GSL_EFAULT, 0},
      {"windows, y NULL with a horizon", conv_windows_null_y, GSL_EFAULT, 0},
      {"windows, horizon 0 and y NULL", conv_windows_no_targets, GSL_SUCCESS, TEST_UNTOUCHED},
  };
  test_convention_table(rows, sizeof rows / sizeof rows[0]);
  gsl_matrix_free(conv_m);
  gsl_vector_free(conv_v);
}

/* ---- options and formats ------------------------------------------------------------------ */

static gsl_matrix *read_ok(const char *text, const ndpar_csv_options *o, ndpar_csv_header **h) {
  gsl_matrix *x = NULL;
  ndpar_csv_error err;
  int status = ndpar_csv_read(NULL, write_text("ok.csv", text), o, &x, h, &err);
  cr_assert_eq(status, GSL_SUCCESS, "%s", err.message);
  return x;
}

static void expect_row(const gsl_matrix *x, size_t i, size_t n, ...) {
  va_list ap;
  va_start(ap, n);
  cr_assert_eq(x->size2, n);
  for (size_t j = 0; j < n; j++) {
    double want = va_arg(ap, double);
    cr_assert_eq(gsl_matrix_get(x, i, j), want, "(%zu,%zu): %.17g, expected %.17g", i, j,
                 gsl_matrix_get(x, i, j), want);
  }
  va_end(ap);
}

Test(io, blanks_around_numbers_and_dates_are_ignored_as_pandas_does) {
  gsl_matrix *x = NULL;
  cr_assert_eq(ndpar_csv_read(NULL, write_text("b.csv", "a,b,d\n 1.5,2 ,\t2010-01-01 \n\t-3\t, 4e1 , 1970-01-02\n"), NULL, &x,
                              NULL, NULL),
               GSL_SUCCESS);
  expect_row(x, 0, 3, 1.5, 2.0, 1262304000.0);
  expect_row(x, 1, 3, -3.0, 40.0, 86400.0);
  gsl_matrix_free(x);
}

Test(io, quoting_crlf_bom_comments_skip) {
  ndpar_csv_header *h = NULL;
  const char *text =
      "\xEF\xBB\xBFgenerated by a logger\r\n"
      "second junk line, \"with an open quote\r\n"
      "# a comment with a \" quote\r\n"
      "\"a,1\",\"b\"\"q\"\"\",\"c\r\nline\"\r\n"
      "1,\"2.5\",3\r\n"
      "\r\n"
      "# another, \"comment\r\n"
      "\"-4\",5e-1,\"\"\"\"\r\n";
  ndpar_csv_options o;
  ndpar_csv_options_init(&o);
  o.skip_rows = 2;
  o.comment = '#';
  o.missing = (const char *const[]){"\"", NULL};
  gsl_matrix *x = read_ok(text, &o, &h);
  cr_assert_eq(x->size1, 2);
  expect_row(x, 0, 3, 1.0, 2.5, 3.0);
  cr_assert_eq(gsl_matrix_get(x, 1, 0), -4.0);
  cr_assert_eq(gsl_matrix_get(x, 1, 1), 0.5);
  cr_assert(isnan(gsl_matrix_get(x, 1, 2)));
  cr_assert_eq(h->n, 3);
  cr_assert_str_eq(h->names[0], "a,1");
  cr_assert_str_eq(h->names[1], "b\"q\"");
  cr_assert_str_eq(h->names[2], "c\r\nline");
  gsl_matrix_free(x);
  ndpar_csv_header_free(h);
}

Test(io, delimiters_no_header_and_selection) {
  ndpar_csv_options o;
  ndpar_csv_options_init(&o);
  o.delimiter = '\t';
  o.header = 0;
  ndpar_csv_header *h = (ndpar_csv_header *)&o;
  gsl_matrix *x = read_ok("1\t2\t3\n4\t5\t6", &o, &h);
  cr_assert_null(h, "no header: *header is NULL");
  cr_assert_eq(x->size1, 2);
  expect_row(x, 0, 3, 1.0, 2.0, 3.0);
  expect_row(x, 1, 3, 4.0, 5.0, 6.0);
  gsl_matrix_free(x);
  o.indices = (const size_t[]){2, 0};
  o.ncolumns = 2;
  x = read_ok("1\t2\t3\n4\t5\t6\n", &o, NULL);
  expect_row(x, 1, 2, 6.0, 4.0);
  gsl_matrix_free(x);
  ndpar_csv_options_init(&o);
  o.delimiter = ';';
  o.columns = (const char *const[]){"wind", "date"};
  o.ncolumns = 2;
  x = read_ok("date;text;wind\n1958-03-01;\"a;b\nc\";3.5\n", &o, &h);
  expect_row(x, 0, 2, 3.5, -373593600.0);
  cr_assert_eq(h->n, 2);
  cr_assert_str_eq(h->names[0], "wind");
  cr_assert_str_eq(h->names[1], "date");
  gsl_matrix_free(x);
  ndpar_csv_header_free(h);
}

Test(io, iso_dates_are_seconds_since_the_epoch_utc) {
  gsl_matrix *x = read_ok(
      "t\n1970-01-01\n2010-01-01T01:00:00\n1958-03-01\n2000-02-29T23:59:59.5\n"
      "2010-01-01T01:00:00Z\n2010-01-01T02:30:00+01:30\n2010-01-01 01:00\n1900-03-01T00:00:00-0100\n",
      NULL, NULL);
  const double want[] = {0, 1262307600, -373593600, 951868799.5, 1262307600, 1262307600, 1262307600,
                         -2203891200.0 + 3600};
  cr_assert_eq(x->size1, 8);
  for (size_t i = 0; i < 8; i++)
    cr_assert_eq(gsl_matrix_get(x, i, 0), want[i], "row %zu: %.17g", i, gsl_matrix_get(x, i, 0));
  gsl_matrix_free(x);
  /* Against the C library's timegm on random date-times. */
  gsl_rng *r = test_rng();
  for (int k = 0; k < 20000; k++) {
    struct tm tm = {.tm_year = (int)gsl_rng_uniform_int(r, 400) - 100, .tm_mon = (int)gsl_rng_uniform_int(r, 12),
                    .tm_mday = 1 + (int)gsl_rng_uniform_int(r, 28), .tm_hour = (int)gsl_rng_uniform_int(r, 24),
                    .tm_min = (int)gsl_rng_uniform_int(r, 60), .tm_sec = (int)gsl_rng_uniform_int(r, 60)};
    char s[64];
    strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%S", &tm);
    double got;
    cr_assert(csv_parse_date(s, strlen(s), &got), "%s", s);
    cr_assert_eq(got, (double)timegm(&tm), "%s: %.17g", s, got);
  }
  gsl_rng_free(r);
  ndpar_csv_options o;
  ndpar_csv_options_init(&o);
  o.dates = 0;
  expect_error("t\n1958-03-01\n", &o, GSL_EINVAL, ":2:1: \"1958-03-01\" is not a number", 2, 1);
}

/* ---- write and round trips ------------------------------------------------------------------- */

static int same_bits(double a, double b) {
  if (isnan(a)) return isnan(b);
  return memcmp(&a, &b, sizeof a) == 0;
}

/* Random matrices with the extremes mixed in, written and read back bit for bit. */
Test(io, write_then_read_gives_the_same_bits) {
  gsl_rng *r = test_rng();
  const double extremes[] = {0.0, -0.0, 1e308, -1e308, DBL_MAX, -DBL_MAX, DBL_MIN, 4.9406564584124654e-324,
                             -4.9406564584124654e-324, 2.2250738585072009e-308, 1.0 / 3, 0.1, INFINITY,
                             -INFINITY, NAN, 123456789012345678.0, 5e-324 * 3};
  size_t nx = sizeof extremes / sizeof *extremes;
  make_tmpdir();
  char path[256];
  snprintf(path, sizeof path, "%s/round.csv", tmpdir);
  size_t sizes[][2] = {{1, 1}, {1, 17}, {17, 1}, {1000, 7}, {2 + gsl_rng_uniform_int(r, 3000), 1 + gsl_rng_uniform_int(r, 9)}};
  for (size_t s = 0; s < 5; s++) {
    size_t rows = sizes[s][0], cols = sizes[s][1];
    gsl_matrix *x = gsl_matrix_alloc(rows, cols);
    for (size_t i = 0; i < rows; i++)
      for (size_t j = 0; j < cols; j++) {
        uint64_t bits = ((uint64_t)gsl_rng_get(r) << 32) ^ gsl_rng_get(r);
        double v;
        memcpy(&v, &bits, sizeof v);
        int kind = (int)gsl_rng_uniform_int(r, 4);
        if (kind == 0) v = extremes[gsl_rng_uniform_int(r, nx)];
        else if (kind == 1) v = gsl_ran_gaussian(r, 1.0);
        else if (kind == 2) v = ldexp(gsl_rng_uniform(r), -1022 - (int)gsl_rng_uniform_int(r, 52)); /* subnormal */
        gsl_matrix_set(x, i, j, v);
      }
    char **names = malloc(cols * sizeof *names);
    for (size_t j = 0; j < cols; j++) {
      names[j] = malloc(32);
      snprintf(names[j], 32, j % 3 == 0 ? "c%zu" : j % 3 == 1 ? "\"q,%zu\"" : "n\n%zu", j);
    }
    ndpar_csv_header *h = ndpar_csv_header_alloc(cols, (const char *const *)names);
    cr_assert_eq(ndpar_csv_write(path, x, h), GSL_SUCCESS);
    gsl_matrix *y = NULL;
    ndpar_csv_header *h2 = NULL;
    ndpar_csv_error err;
    cr_assert_eq(ndpar_csv_read(NULL, path, NULL, &y, &h2, &err), GSL_SUCCESS, "%s", err.message);
    cr_assert_eq(y->size1, rows);
    cr_assert_eq(y->size2, cols);
    for (size_t i = 0; i < rows; i++)
      for (size_t j = 0; j < cols; j++)
        cr_assert(same_bits(gsl_matrix_get(x, i, j), gsl_matrix_get(y, i, j)), "(%zu,%zu): %a became %a", i, j,
                  gsl_matrix_get(x, i, j), gsl_matrix_get(y, i, j));
    for (size_t j = 0; j < cols; j++) cr_assert_str_eq(h2->names[j], names[j]);
    for (size_t j = 0; j < cols; j++) free(names[j]);
    free(names);
    gsl_matrix_free(x);
    gsl_matrix_free(y);
    ndpar_csv_header_free(h);
    ndpar_csv_header_free(h2);
  }
  gsl_rng_free(r);
}

Test(io, a_failed_write_leaves_no_file) {
  test_quiet_gsl_errors();
  make_tmpdir();
  gsl_matrix *x = gsl_matrix_alloc(2, 2);
  gsl_matrix_set_all(x, 1.5);
  char path[256];
  snprintf(path, sizeof path, "%s/no-such-dir/out.csv", tmpdir);
  cr_assert_eq(ndpar_csv_write(path, x, NULL), GSL_EFAILED);
  cr_assert(strstr(test_gsl_last_reason(), "cannot create a temporary file") != NULL, "%s", test_gsl_last_reason());
  ndpar_csv_header *h = ndpar_csv_header_alloc(1, (const char *const[]){"a"});
  snprintf(path, sizeof path, "%s/out.csv", tmpdir);
  cr_assert_eq(ndpar_csv_write(path, x, h), GSL_EBADLEN);
  const gsl_matrix no_cols = {2, 0, 0, NULL, NULL, 0}; /* GSL cannot allocate it */
  cr_assert_eq(ndpar_csv_write(path, &no_cols, NULL), GSL_EBADLEN);
  struct stat st;
  cr_assert_neq(stat(path, &st), 0, "a rejected write created the file");
  /* A write that fails half way (the file size limit): no file, no temporary left. */
  cr_assert_eq(ndpar_csv_write(path, x, NULL), GSL_SUCCESS);
  signal(SIGXFSZ, SIG_IGN);
  struct rlimit lim = {.rlim_cur = 4096, .rlim_max = RLIM_INFINITY};
  cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
  gsl_matrix *big = gsl_matrix_alloc(1000, 10);
  gsl_matrix_set_all(big, 1.0 / 3);
  cr_assert_eq(ndpar_csv_write(path, big, NULL), GSL_EFAILED);
  cr_assert(strstr(test_gsl_last_reason(), "File too large") != NULL, "%s", test_gsl_last_reason());
  gsl_matrix_free(big);
  lim.rlim_cur = RLIM_INFINITY;
  cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
  char cmd[512];
  snprintf(cmd, sizeof cmd, "test $(ls '%s' | grep -c tmp) = 0", tmpdir);
  cr_assert_eq(system(cmd), 0, "a temporary file was left behind");
  /* The failed write left the file written before it whole. */
  gsl_matrix *y = NULL;
  cr_assert_eq(ndpar_csv_read(NULL, path, &(ndpar_csv_options){.delimiter = ',', .header = 0}, &y, NULL, NULL), GSL_SUCCESS);
  cr_assert(gsl_matrix_equal(x, y));
  gsl_matrix_free(y);
  gsl_matrix_free(x);
  ndpar_csv_header_free(h);
}

/* ---- parallel == sequential, streaming == whole file ----------------------------------------- */

/* A file of `rows` records: a text column with quoted delimiters and newlines, numbers in
 * several forms, comment and blank lines in between; want (rows x 4) holds the values. */
static char *make_file(gsl_rng *r, size_t rows, gsl_matrix **want) {
  size_t cap = rows * 160 + 128, len = 0;
  char *t = malloc(cap);
  len += (size_t)sprintf(t, "id,\"text, quoted\",x,y,z\n");
  gsl_matrix *w = rows ? gsl_matrix_alloc(rows, 4) : NULL;
  for (size_t i = 0; i < rows; i++) {
    double x = gsl_ran_gaussian(r, 100), y = gsl_rng_uniform(r), z = (double)gsl_rng_uniform_int(r, 1000) / 8;
    if (w) {
      gsl_matrix_set(w, i, 0, (double)i);
      gsl_matrix_set(w, i, 1, x);
      gsl_matrix_set(w, i, 2, y);
      gsl_matrix_set(w, i, 3, z);
    }
    if (gsl_rng_uniform_int(r, 10) == 0) len += (size_t)sprintf(t + len, "# comment \"%zu\n", i);
    if (gsl_rng_uniform_int(r, 20) == 0) len += (size_t)sprintf(t + len, "\r\n");
    const char *text = gsl_rng_uniform_int(r, 4) == 0 ? "\"multi\nline, \"\"quoted\"\"\n\"" : gsl_rng_uniform_int(r, 2) ? "\"a,b\"" : "plain";
    len += (size_t)sprintf(t + len, "%zu,%s,%.17g,\"%.17g\",%g%s", i, text, x, y, z, gsl_rng_uniform_int(r, 2) ? "\r\n" : "\n");
  }
  *want = w;
  return t;
}

static const size_t numeric[] = {0, 2, 3, 4};

static ndpar_csv_options numeric_options(size_t chunk) {
  ndpar_csv_options o;
  ndpar_csv_options_init(&o);
  o.indices = numeric;
  o.ncolumns = 4;
  o.comment = '#';
  o.chunk_bytes = chunk;
  return o;
}

Test(io, parallel_parse_equals_one_thread_bit_for_bit) {
  gsl_rng *r = test_rng();
  size_t rows = SANITIZED ? 3000 : 30000;
  gsl_matrix *want;
  char *text = make_file(r, rows, &want);
  const char *path = write_text("par.csv", text);
  ndpar_pool *p1 = test_pool_of(1);
  ndpar_csv_options o = numeric_options(0);
  gsl_matrix *seq = NULL;
  ndpar_csv_error err;
  cr_assert_eq(ndpar_csv_read(p1, path, &o, &seq, NULL, &err), GSL_SUCCESS, "%s", err.message);
  cr_assert(gsl_matrix_equal(seq, want), "one thread differs from the values written");
  const size_t chunks[] = {1, 37, 200, 4096, 65536, 0};
  for (size_t t = 1; t <= test_max_threads(); t++) {
    ndpar_pool *p = test_pool_of(t);
    for (size_t c = 0; c < 6; c++) {
      o.chunk_bytes = chunks[c];
      gsl_matrix *x = NULL;
      cr_assert_eq(ndpar_csv_read(p, path, &o, &x, NULL, &err), GSL_SUCCESS, "%s", err.message);
      cr_assert_eq(memcmp(x->data, seq->data, rows * 4 * sizeof(double)), 0, "%zu threads, pieces of %zu bytes",
                   t, chunks[c]);
      gsl_matrix_free(x);
    }
    ndpar_pool_free(p);
  }
  ndpar_pool_free(p1);
  gsl_matrix_free(seq);
  gsl_matrix_free(want);
  free(text);
  gsl_rng_free(r);
}

/* One read's outcome: the status, the message, the matrix. */
typedef struct {
  int status;
  char message[512];
  gsl_matrix *x;
} outcome;

static void expect_same_outcome(const outcome *a, const outcome *b, const char *what) {
  cr_assert_eq(a->status, b->status, "%s: status %d vs %d (%s | %s)", what, a->status, b->status, a->message,
               b->message);
  if (a->status != GSL_SUCCESS) {
    cr_assert_str_eq(a->message, b->message, "%s: %s vs %s", what, a->message, b->message);
    return;
  }
  cr_assert(a->x->size1 == b->x->size1 && a->x->size2 == b->x->size2, "%s: shapes differ", what);
  cr_assert_eq(memcmp(a->x->data, b->x->data, a->x->size1 * a->x->size2 * sizeof(double)), 0, "%s", what);
}

/* Damaged files (stray quotes, delimiters, line ends, NUL bytes at random places): every
 * thread count and cut, and the streaming reader, report exactly what one thread reports. */
Test(io, damaged_files_read_the_same_at_any_thread_count) {
  test_quiet_gsl_errors();
  gsl_rng *r = test_rng();
  size_t rounds = SANITIZED ? 60 : 300;
  ndpar_pool *p1 = test_pool_of(1), *p3 = test_pool_of(3);
  const char junk[] = {'"', '"', ',', '\n', '\r', '\0', '#', 'x', '.'};
  for (size_t k = 0; k < rounds; k++) {
    gsl_matrix *want;
    char *text = make_file(r, 20 + gsl_rng_uniform_int(r, 200), &want);
    size_t len = strlen(text);
    for (size_t d = gsl_rng_uniform_int(r, 4); d > 0; d--)
      text[gsl_rng_uniform_int(r, len)] = junk[gsl_rng_uniform_int(r, sizeof junk)];
    const char *path = write_bytes("damaged.csv", text, len);
    ndpar_csv_options o = numeric_options(0);
    outcome seq = {0}, par = {0};
    ndpar_csv_error err;
    seq.status = ndpar_csv_read(p1, path, &o, &seq.x, NULL, &err);
    strcpy(seq.message, seq.status ? err.message : "");
    cr_assert(seq.status != GSL_ESANITY, "%s", seq.message);
    const size_t chunks[] = {1, 50, 300};
    for (size_t c = 0; c < 3; c++) {
      o.chunk_bytes = chunks[c];
      par.x = NULL;
      par.status = ndpar_csv_read(p3, path, &o, &par.x, NULL, &err);
      strcpy(par.message, par.status ? err.message : "");
      expect_same_outcome(&seq, &par, "3 threads");
      gsl_matrix_free(par.x);
    }
    /* streaming, blocks of 7: the blocks stacked, or the same error */
    outcome st = {0};
    ndpar_csv_reader *rd = ndpar_csv_reader_open(path, &o, 7, &err);
    if (rd == NULL) {
      st.status = err.code;
      strcpy(st.message, err.message);
    } else {
      gsl_matrix *b;
      size_t rows = 0;
      st.x = seq.status == GSL_SUCCESS ? gsl_matrix_alloc(seq.x->size1, seq.x->size2) : NULL;
      while ((st.status = ndpar_csv_reader_next(rd, &b)) == GSL_SUCCESS) {
        if (st.x && rows + b->size1 <= st.x->size1)
          memcpy(st.x->data + rows * st.x->tda, b->data, b->size1 * b->size2 * sizeof(double));
        rows += b->size1;
        gsl_matrix_free(b);
      }
      if (st.status == GSL_EOF) {
        st.status = GSL_SUCCESS;
        cr_assert(st.x == NULL || rows == st.x->size1, "streaming gave %zu rows", rows);
      } else {
        strcpy(st.message, ndpar_csv_reader_error(rd)->message);
      }
      ndpar_csv_reader_close(rd);
    }
    if (st.status == GSL_SUCCESS && st.x == NULL) st.status = -1; /* streamed a file the whole read refused */
    expect_same_outcome(&seq, &st, "streaming");
    gsl_matrix_free(st.x);
    gsl_matrix_free(seq.x);
    gsl_matrix_free(want);
    free(text);
  }
  ndpar_pool_free(p1);
  ndpar_pool_free(p3);
  gsl_rng_free(r);
}

/* The blocks of a streaming read, stacked, against the whole-file read. */
static void expect_stream_equals_whole(const char *path, const ndpar_csv_options *o, size_t block) {
  gsl_matrix *x = NULL;
  ndpar_csv_error err;
  cr_assert_eq(ndpar_csv_read(NULL, path, o, &x, NULL, &err), GSL_SUCCESS, "%s", err.message);
  ndpar_csv_reader *r = ndpar_csv_reader_open(path, o, block, &err);
  cr_assert_not_null(r, "%s", err.message);
  size_t row = 0;
  gsl_matrix *b;
  int status;
  while ((status = ndpar_csv_reader_next(r, &b)) == GSL_SUCCESS) {
    cr_assert(b->size1 >= 1 && b->size1 <= block);
    cr_assert(row + b->size1 <= x->size1);
    cr_assert(b->size1 == block || row + b->size1 == x->size1, "a short block before the end");
    for (size_t i = 0; i < b->size1; i++)
      cr_assert_eq(memcmp(b->data + i * b->tda, x->data + (row + i) * x->tda, x->size2 * sizeof(double)), 0,
                   "row %zu, blocks of %zu", row + i, block);
    row += b->size1;
    gsl_matrix_free(b);
  }
  cr_assert_eq(status, GSL_EOF);
  cr_assert_null(b);
  cr_assert_eq(ndpar_csv_reader_next(r, &b), GSL_EOF);
  cr_assert_eq(row, x->size1);
  ndpar_csv_reader_close(r);
  gsl_matrix_free(x);
}

Test(io, streaming_equals_whole_file) {
  gsl_rng *r = test_rng();
  size_t rows = SANITIZED ? 2000 : 20000;
  gsl_matrix *want;
  char *text = make_file(r, rows, &want);
  const char *path = write_text("s.csv", text);
  ndpar_csv_options o = numeric_options(0);
  const size_t blocks[] = {1, 7, 999, rows - 1, rows, rows + 1};
  for (size_t b = 0; b < 6; b++) expect_stream_equals_whole(path, &o, blocks[b]);
  gsl_matrix_free(want);
  free(text);
  gsl_rng_free(r);
}

/* Files of 1, block - 1, block, block + 1 rows (and 0: the error of the whole read). */
Test(io, streaming_sizes_around_a_block) {
  gsl_rng *r = test_rng();
  const size_t block = 64, sizes[] = {1, block - 1, block, block + 1, 3 * block, 3 * block + 1};
  ndpar_csv_options o = numeric_options(0);
  for (size_t s = 0; s < 6; s++) {
    gsl_matrix *want;
    char *text = make_file(r, sizes[s], &want);
    const char *path = write_text("b.csv", text);
    expect_stream_equals_whole(path, &o, block);
    gsl_matrix *x = NULL;
    cr_assert_eq(ndpar_csv_read(NULL, path, &o, &x, NULL, NULL), GSL_SUCCESS);
    cr_assert(gsl_matrix_equal(x, want));
    gsl_matrix_free(x);
    gsl_matrix_free(want);
    free(text);
  }
  o.indices = (const size_t[]){1};
  o.ncolumns = 1;
  expect_error("a,b\n# only a comment\n", &o, GSL_EINVAL, ": no data rows after the header", 0, 0);
  gsl_rng_free(r);
}

/* A record longer than the reader's 1 MiB piece (the buffer grows). */
Test(io, streaming_a_record_longer_than_a_piece) {
  size_t cols = 300000;
  char *text = malloc(cols * 8 * 3 + 64), *o = text;
  for (size_t j = 0; j < cols; j++) o += sprintf(o, j + 1 < cols ? "%zu," : "%zu\n", j);
  for (int i = 0; i < 2; i++)
    for (size_t j = 0; j < cols; j++) o += sprintf(o, j + 1 < cols ? "%d," : "%d\n", i);
  ndpar_csv_options opt;
  ndpar_csv_options_init(&opt);
  expect_stream_equals_whole(write_text("wide.csv", text), &opt, 1);
  free(text);
}

Test(io, standard_input) {
  const char *path = write_text("stdin.csv", "a,b\n1,2\n3,4\n");
  cr_assert_not_null(freopen(path, "r", stdin));
  gsl_matrix *x = NULL;
  cr_assert_eq(ndpar_csv_read(NULL, "-", NULL, &x, NULL, NULL), GSL_SUCCESS);
  expect_row(x, 1, 2, 3.0, 4.0);
  gsl_matrix_free(x);
  /* and streamed */
  cr_assert_not_null(freopen(path, "r", stdin));
  ndpar_csv_reader *r = ndpar_csv_reader_open("-", NULL, 1, NULL);
  cr_assert_not_null(r);
  cr_assert_str_eq(ndpar_csv_reader_header(r)->names[1], "b");
  gsl_matrix *b;
  cr_assert_eq(ndpar_csv_reader_next(r, &b), GSL_SUCCESS);
  expect_row(b, 0, 2, 1.0, 2.0);
  gsl_matrix_free(b);
  cr_assert_eq(ndpar_csv_reader_next(r, &b), GSL_SUCCESS);
  expect_row(b, 0, 2, 3.0, 4.0);
  gsl_matrix_free(b);
  cr_assert_eq(ndpar_csv_reader_next(r, &b), GSL_EOF);
  ndpar_csv_reader_close(r);
}

/* The bundled series: the sizes and first values the data README states. */
Test(io, bundled_data) {
  ndpar_csv_header *h = NULL;
  gsl_matrix *x = NULL;
  ndpar_csv_error err;
  cr_assert_eq(ndpar_csv_read(NULL, NDPAR_TEST_DATA_DIR "/seattle-weather-hourly-normals.csv", NULL, &x, &h, &err),
               GSL_SUCCESS, "%s", err.message);
  cr_assert_eq(x->size1, 8759);
  expect_row(x, 0, 4, 1262307600.0, 1016.6, 4.0, 3.8);
  for (size_t i = 1; i < x->size1; i++)
    cr_assert_eq(gsl_matrix_get(x, i, 0) - gsl_matrix_get(x, i - 1, 0), 3600.0, "hour %zu", i);
  gsl_matrix_free(x);
  ndpar_csv_header_free(h);
}

/* The months the data README says co2-concentration.csv lacks, and no others. */
Test(io, bundled_co2_skips_exactly_the_months_the_readme_lists) {
  ndpar_csv_options o;
  ndpar_csv_options_init(&o);
  o.columns = (const char *const[]){"Date"};
  o.ncolumns = 1;
  gsl_matrix *x = NULL;
  cr_assert_eq(ndpar_csv_read(NULL, NDPAR_TEST_DATA_DIR "/co2-concentration.csv", &o, &x, NULL, NULL), GSL_SUCCESS);
  cr_assert_eq(x->size1, 741);
  const long want[] = {1958 * 12 + 5, 1958 * 12 + 9, 1964 * 12 + 1, 1964 * 12 + 2, 1964 * 12 + 3};
  size_t found = 0;
  for (size_t i = 1; i < x->size1; i++) {
    time_t a = (time_t)gsl_matrix_get(x, i - 1, 0), b = (time_t)gsl_matrix_get(x, i, 0);
    struct tm ta, tb;
    gmtime_r(&a, &ta);
    gmtime_r(&b, &tb);
    long ma = (ta.tm_year + 1900L) * 12 + ta.tm_mon, mb = (tb.tm_year + 1900L) * 12 + tb.tm_mon;
    cr_assert(mb > ma, "row %zu is not after the one before", i);
    for (long m = ma + 1; m < mb; m++) {
      cr_assert(found < 5 && m == want[found], "month %ld-%02ld is missing too", m / 12, m % 12 + 1);
      found++;
    }
  }
  cr_assert_eq(found, 5);
  gsl_matrix_free(x);
}

/* ---- windows ----------------------------------------------------------------------------------- */

Test(io, windows_against_the_definition) {
  gsl_rng *r = test_rng();
  cr_assert_eq(ndpar_windows_count(10, 3, 2, 1), 6);
  cr_assert_eq(ndpar_windows_count(10, 3, 2, 2), 3);
  cr_assert_eq(ndpar_windows_count(5, 3, 2, 1), 1);
  cr_assert_eq(ndpar_windows_count(4, 3, 2, 1), 0);
  cr_assert_eq(ndpar_windows_count(10, 0, 2, 1), 0);
  cr_assert_eq(ndpar_windows_count(10, 3, 2, 0), 0);
  cr_assert_eq(ndpar_windows_count(SIZE_MAX, SIZE_MAX, SIZE_MAX, 1), 0, "lags + horizon overflows");
  for (int k = 0; k < 200; k++) {
    size_t n = 1 + gsl_rng_uniform_int(r, 300), lags = 1 + gsl_rng_uniform_int(r, 20),
           horizon = gsl_rng_uniform_int(r, 5), step = 1 + gsl_rng_uniform_int(r, 4);
    size_t count = ndpar_windows_count(n, lags, horizon, step);
    if (count == 0) continue;
    gsl_matrix *backing = test_random_matrix(r, n, 2); /* a strided series: column 1 */
    gsl_vector_view s = gsl_matrix_column(backing, 1);
    gsl_matrix *x = gsl_matrix_alloc(count, lags), *y = horizon ? gsl_matrix_alloc(count, horizon) : NULL;
    cr_assert_eq(ndpar_windows(&s.vector, lags, horizon, step, x, y), GSL_SUCCESS);
    for (size_t w = 0; w < count; w++) {
      for (size_t j = 0; j < lags; j++) cr_assert_eq(gsl_matrix_get(x, w, j), gsl_vector_get(&s.vector, w * step + j));
      for (size_t j = 0; j < horizon; j++)
        cr_assert_eq(gsl_matrix_get(y, w, j), gsl_vector_get(&s.vector, w * step + lags + j));
    }
    cr_assert((count - 1) * step + lags + horizon <= n && count * step + lags + horizon > n, "count is the most that fit");
    gsl_matrix_free(x);
    if (y) gsl_matrix_free(y);
    gsl_matrix_free(backing);
  }
  gsl_rng_free(r);
}

Test(io, windows_errors_leave_outputs_untouched) {
  test_quiet_gsl_errors();
  gsl_vector *s = gsl_vector_alloc(10);
  for (size_t i = 0; i < 10; i++) gsl_vector_set(s, i, (double)i);
  gsl_matrix *x = gsl_matrix_calloc(6, 3), *y = gsl_matrix_calloc(6, 2), *bad = gsl_matrix_calloc(5, 3);
  cr_assert_eq(ndpar_windows(NULL, 3, 2, 1, x, y), GSL_EFAULT);
  cr_assert_eq(ndpar_windows(s, 3, 2, 1, NULL, y), GSL_EFAULT);
  cr_assert_eq(ndpar_windows(s, 3, 2, 1, x, NULL), GSL_EFAULT);
  cr_assert_eq(ndpar_windows(s, 0, 2, 1, x, y), GSL_EINVAL);
  cr_assert_eq(ndpar_windows(s, 3, 2, 0, x, y), GSL_EINVAL);
  cr_assert_eq(ndpar_windows(s, 8, 3, 1, x, y), GSL_EINVAL);
  cr_assert_eq(ndpar_windows(s, 3, 2, 1, bad, y), GSL_EBADLEN);
  cr_assert_str_eq(test_gsl_last_reason(), "ndpar_windows: x is 5 x 3, expected 6 x 3");
  cr_assert_eq(ndpar_windows(s, 3, 2, 1, x, bad), GSL_EBADLEN);
  cr_assert(gsl_matrix_isnull(x) && gsl_matrix_isnull(y));
  gsl_vector_free(s);
  gsl_matrix_free(x);
  gsl_matrix_free(y);
  gsl_matrix_free(bad);
}
