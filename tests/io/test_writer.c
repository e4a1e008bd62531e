/* Tests of the CSV writer: shortest digits against strtod and a %.<p>e search on millions
 * of bit patterns, the streaming writer against the whole-matrix form at every thread
 * count and block size, ISO dates read back bit for bit, options, and failures that leave
 * the old file in place. */
#include <criterion/criterion.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/csv_format.h"
#include "io/csv_number.h"
#include "ndpar/ndpar_io.h"
#include "test_util.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SCALE 10
#else
#define SCALE 1
#endif

static char dir[64];

static void setup(void) {
  snprintf(dir, sizeof dir, "/tmp/ndpar-writer-test-XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  cr_assert_eq(system(cmd), 0);
}

TestSuite(writer, .init = setup, .fini = teardown);

static const char *in_dir(const char *name) {
  static char path[4][256];
  static int next;
  char *p = path[next++ % 4];
  snprintf(p, 256, "%s/%s", dir, name);
  return p;
}

static int same_bits(double a, double b) {
  if (isnan(a) && isnan(b)) return 1;
  return memcmp(&a, &b, sizeof a) == 0;
}

static char *text_of(double v) {
  static char buf[CSV_FORMAT_MAX + 1];
  buf[csv_format_shortest(buf, v)] = '\0';
  return buf;
}

/* ---- shortest digits --------------------------------------------------------------------- */

Test(writer, shortest_digits_of_known_values) {
  static const struct {
    double v;
    const char *text;
  } cases[] = {
      {0.1, "0.1"}, {1.0 / 3, "0.3333333333333333"}, {-0.0, "-0"}, {0.0, "0"}, {100, "100"}, {1e16, "10000000000000000"},
      {1e17, "1e17"}, {1e21, "1e21"}, {1.5e-5, "0.000015"}, {1e-6, "1e-6"}, {123.456, "123.456"},
      {DBL_MAX, "1.7976931348623157e308"}, {DBL_MIN, "2.2250738585072014e-308"}, {5e-324, "5e-324"},
      {1e-323, "1e-323"}, {2.2250738585072009e-308, "2.225073858507201e-308"}, {9007199254740993.0, "9007199254740992"},
      {-2.5, "-2.5"}, {INFINITY, "inf"}, {-INFINITY, "-inf"}, {NAN, "NaN"}, {5e-310, "5e-310"},
      {1.7976931348623157e308 / 2, "8.988465674311579e307"}, {0.3, "0.3"}, {2.0 / 3, "0.6666666666666666"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    cr_assert_str_eq(text_of(cases[i].v), cases[i].text, "%.17g", cases[i].v);
}

/* The digits of a decimal text (sign, point and exponent dropped, leading and trailing zeros
 * too): what counts for "shortest". */
static void significant(const char *s, char *d) {
  size_t n = 0;
  for (; *s && *s != 'e'; s++)
    if (*s >= '0' && *s <= '9' && (n > 0 || *s != '0')) d[n++] = *s;
  while (n > 1 && d[n - 1] == '0') n--;
  d[n] = '\0';
}

/* v's text reads back as v; and, when check_shortest, no shorter %.<p>e text reads back as
 * v, and the one of the same length is the same digits (the closest). */
static void check_value(double v, int check_shortest) {
  char *t = text_of(v);
  char *end;
  double back = strtod(t, &end);
  cr_assert(*end == '\0' && same_bits(back, v), "%a: \"%s\" reads back as %a", v, t, back);
  if (!check_shortest || !isfinite(v) || v == 0) return;
  char mine[32], ref[40], refd[32];
  significant(t, mine);
  int p = 1;
  for (; p <= 17; p++) {
    snprintf(ref, sizeof ref, "%.*e", p - 1, v);
    if (strtod(ref, NULL) == v) break;
  }
  significant(ref, refd);
  cr_assert((int)strlen(mine) <= p, "%a: \"%s\" is longer than \"%s\"", v, t, ref);
  if ((int)strlen(mine) == p) cr_assert_str_eq(mine, refd, "%a: \"%s\" is not the closest, \"%s\" is", v, t, ref);
}

Test(writer, shortest_digits_round_trip_on_millions_of_bit_patterns) {
  gsl_rng *r = test_rng();
  size_t n = 4000000 / SCALE;
  for (size_t i = 0; i < n; i++) {
    uint64_t bits = ((uint64_t)gsl_rng_get(r) << 32) ^ gsl_rng_get(r);
    if (i % 4 == 1) bits &= ((UINT64_C(1) << 52) - 1) | (UINT64_C(1) << 63); /* subnormal */
    if (i % 4 == 2) bits = (bits & ~(UINT64_C(0x7ff) << 52)) | ((uint64_t)(i % 2 ? 1 : 2046) << 52); /* extreme */
    double v;
    memcpy(&v, &bits, sizeof v);
    check_value(v, i % 16 == 0);
  }
  gsl_rng_free(r);
}

Test(writer, shortest_digits_at_the_edges) {
  /* every power of two, and its neighbours (the asymmetric intervals) */
  for (int e = -1074; e <= 1023; e++) {
    double v = ldexp(1, e);
    check_value(v, 1);
    check_value(nextafter(v, 0), 1);
    check_value(nextafter(v, INFINITY), 1);
  }
  /* the smallest subnormals, the largest, and the normals around DBL_MIN and DBL_MAX */
  for (uint64_t t = 1; t < 5000; t++) {
    double v;
    uint64_t bits = t;
    memcpy(&v, &bits, sizeof v);
    check_value(v, 1);
    bits = (UINT64_C(1) << 52) - t;
    memcpy(&v, &bits, sizeof v);
    check_value(v, 1);
    bits = (UINT64_C(1) << 52) + t;
    memcpy(&v, &bits, sizeof v);
    check_value(v, 1);
    bits = (UINT64_C(0x7ff) << 52) - t;
    memcpy(&v, &bits, sizeof v);
    check_value(v, 1);
  }
  /* integers, short decimals and their neighbours */
  for (int i = 0; i < 100000 / SCALE; i++) {
    check_value((double)i, 1);
    check_value(i / 1000.0, 1);
    check_value(nextafter(i / 1000.0, INFINITY), 1);
    check_value((double)i * 1e15, 1);
  }
}

/* ---- the writer ----------------------------------------------------------------------------- */

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  cr_assert_not_null(f, "%s: %s", path, strerror(errno));
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *t = malloc((size_t)n + 1);
  cr_assert_eq(fread(t, 1, (size_t)n, f), (size_t)n);
  t[n] = '\0';
  fclose(f);
  *len = (size_t)n;
  return t;
}

/* A rows x cols matrix of values of every kind. */
static gsl_matrix *mixed_matrix(gsl_rng *r, size_t rows, size_t cols) {
  static const double special[] = {0.0, -0.0, DBL_MAX, -DBL_MIN, 5e-324, 0.1, INFINITY, -INFINITY, NAN, 1e21, 100};
  gsl_matrix *x = gsl_matrix_alloc(rows, cols);
  for (size_t i = 0; i < rows; i++)
    for (size_t j = 0; j < cols; j++) {
      double v;
      uint64_t bits = ((uint64_t)gsl_rng_get(r) << 32) ^ gsl_rng_get(r);
      switch (gsl_rng_uniform_int(r, 5)) {
      case 0: memcpy(&v, &bits, sizeof v); break;
      case 1: v = special[gsl_rng_uniform_int(r, sizeof special / sizeof *special)]; break;
      case 2: v = round(gsl_rng_uniform(r) * 1e5) / 100; break;
      default: v = gsl_rng_uniform(r) * 1000 - 500;
      }
      gsl_matrix_set(x, i, j, v);
    }
  return x;
}

static void expect_read_back(const char *path, const gsl_matrix *x, char delim, int header) {
  ndpar_csv_options o;
  ndpar_csv_options_init(&o);
  o.delimiter = delim;
  o.header = header;
  gsl_matrix *y = NULL;
  ndpar_csv_error err;
  cr_assert_eq(ndpar_csv_read(NULL, path, &o, &y, NULL, &err), GSL_SUCCESS, "%s", err.message);
  cr_assert_eq(y->size1, x->size1);
  cr_assert_eq(y->size2, x->size2);
  for (size_t i = 0; i < x->size1; i++)
    for (size_t j = 0; j < x->size2; j++)
      cr_assert(same_bits(gsl_matrix_get(x, i, j), gsl_matrix_get(y, i, j)), "(%zu,%zu): %a read back as %a", i, j,
                gsl_matrix_get(x, i, j), gsl_matrix_get(y, i, j));
  gsl_matrix_free(y);
}

static ndpar_csv_header *names(size_t cols) {
  char **n = malloc(cols * sizeof *n);
  for (size_t j = 0; j < cols; j++) {
    n[j] = malloc(32);
    snprintf(n[j], 32, j % 3 == 0 ? "c%zu" : j % 3 == 1 ? "\"q;,%zu\"" : "n\n%zu", j);
  }
  ndpar_csv_header *h = ndpar_csv_header_alloc(cols, (const char *const *)n);
  for (size_t j = 0; j < cols; j++) free(n[j]);
  free(n);
  return h;
}

/* Writes x in blocks of block rows through the streaming writer on pool p. */
static void write_blocks(ndpar_pool *p, const char *path, const gsl_matrix *x, size_t block,
                         const ndpar_csv_header *h, const ndpar_csv_write_options *o) {
  ndpar_csv_writer *w = ndpar_csv_writer_open(p, path, h, o);
  cr_assert_not_null(w);
  for (size_t i = 0; i < x->size1; i += block) {
    size_t rows = i + block <= x->size1 ? block : x->size1 - i;
    gsl_matrix_const_view v = gsl_matrix_const_submatrix(x, i, 0, rows, x->size2);
    cr_assert_eq(ndpar_csv_writer_write(w, &v.matrix), GSL_SUCCESS);
  }
  cr_assert_eq(ndpar_csv_writer_close(w), GSL_SUCCESS);
}

Test(writer, streaming_equals_whole_matrix_at_every_thread_count_and_block) {
  gsl_rng *r = test_rng();
  size_t threads = test_max_threads();
  static const size_t shapes[][2] = {{1, 1}, {1, 5}, {17, 3}, {5000, 7}, {70000, 3}, {3, 40000}};
  for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
    size_t rows = shapes[s][0], cols = shapes[s][1];
    if (SCALE > 1 && rows * cols > 100000) continue;
    gsl_matrix *x = mixed_matrix(r, rows, cols);
    ndpar_csv_header *h = names(cols);
    const char *whole = in_dir("whole.csv"), *streamed = in_dir("streamed.csv");
    ndpar_pool *p1 = test_pool_of(1);
    cr_assert_eq(ndpar_csv_write_opts(p1, whole, x, h, NULL), GSL_SUCCESS);
    ndpar_pool_free(p1);
    size_t wlen;
    char *want = slurp(whole, &wlen);
    expect_read_back(whole, x, ',', 1);
    const size_t blocks[] = {1, 7, rows > 1 ? rows - 1 : 1, rows, rows + 1};
    for (size_t t = 1; t <= threads; t++) {
      ndpar_pool *p = test_pool_of(t);
      for (size_t b = 0; b < 5; b++) {
        if (blocks[b] < 7 && rows > 5000) continue; /* row by row: slow, and covered above */
        write_blocks(p, streamed, x, blocks[b], h, NULL);
        size_t len;
        char *got = slurp(streamed, &len);
        cr_assert(len == wlen && memcmp(got, want, len) == 0, "%zu x %zu, %zu threads, blocks of %zu: another file",
                  rows, cols, t, blocks[b]);
        free(got);
      }
      ndpar_pool_free(p);
    }
    free(want);
    gsl_matrix_free(x);
    ndpar_csv_header_free(h);
  }
  gsl_rng_free(r);
}

Test(writer, fewer_bytes_than_percent_17g) {
  /* prices with two decimals: "%.17g" writes 17 digits of each, the writer what was read */
  gsl_rng *r = test_rng();
  gsl_matrix *x = gsl_matrix_alloc(1000, 4);
  for (size_t i = 0; i < 4000; i++) x->data[i] = round(gsl_rng_uniform(r) * 1e6) / 100;
  const char *path = in_dir("prices.csv");
  cr_assert_eq(ndpar_csv_write(path, x, NULL), GSL_SUCCESS);
  size_t len, old = 0;
  char *t = slurp(path, &len);
  char buf[32];
  for (size_t i = 0; i < 4000; i++) old += (size_t)snprintf(buf, sizeof buf, "%.17g", x->data[i]) + 1;
  cr_assert_lt(len, old * 6 / 10, "%zu bytes, %%.17g %zu", len, old);
  expect_read_back(path, x, ',', 0);
  free(t);
  gsl_matrix_free(x);
  gsl_rng_free(r);
}

Test(writer, options_delimiter_precision_and_iso_dates) {
  gsl_matrix *x = gsl_matrix_alloc(6, 3);
  const double dates[] = {0, -1, 0.5, -0.25, 1262307600.125, 1e12};
  const double values[] = {1.0 / 3, 2.5, -1e-7, 1e300, 0.1, 7};
  for (size_t i = 0; i < 6; i++) {
    gsl_matrix_set(x, i, 0, values[i]);
    gsl_matrix_set(x, i, 1, dates[i]);
    gsl_matrix_set(x, i, 2, values[5 - i]);
  }
  ndpar_csv_write_options o;
  ndpar_csv_write_options_init(&o);
  o.delimiter = ';';
  o.dates = (const size_t[]){1};
  o.ndates = 1;
  const char *path = in_dir("dates.csv");
  cr_assert_eq(ndpar_csv_write_opts(NULL, path, x, NULL, &o), GSL_SUCCESS);
  size_t len;
  char *t = slurp(path, &len);
  cr_assert_str_eq(t, "0.3333333333333333;1970-01-01;7\n"
                      "2.5;1969-12-31T23:59:59;0.1\n"
                      "-1e-7;1970-01-01T00:00:00.5;1e300\n"
                      "1e300;1969-12-31T23:59:59.75;-1e-7\n"
                      "0.1;2010-01-01T01:00:00.125;2.5\n"
                      "7;1000000000000;0.3333333333333333\n");
  free(t);
  expect_read_back(path, x, ';', 0);
  o.precision = 3;
  o.delimiter = '\t';
  o.ndates = 0;
  cr_assert_eq(ndpar_csv_write_opts(NULL, path, x, NULL, &o), GSL_SUCCESS);
  t = slurp(path, &len);
  cr_assert_eq(strncmp(t, "0.333\t0\t7\n2.5\t-1\t0.1\n-1e-07\t0.5\t1e+300\n", 36), 0, "%s", t);
  free(t);
  gsl_matrix_free(x);
}

Test(writer, iso_dates_read_back_bit_for_bit) {
  gsl_rng *r = test_rng();
  size_t n = 200000 / SCALE;
  gsl_matrix *x = gsl_matrix_alloc(n, 1);
  for (size_t i = 0; i < n; i++) {
    double v;
    switch (i % 4) {
    case 0: v = floor(gsl_rng_uniform(r) * 4e11) - 1e11; break;                   /* whole seconds */
    case 1: v = (floor(gsl_rng_uniform(r) * 4e13) - 1e13) / 1000; break;          /* milliseconds */
    case 2: v = gsl_rng_uniform(r) * 2e10 - 1e10; break;                          /* any double */
    default: v = ldexp(gsl_rng_uniform(r), -(int)gsl_rng_uniform_int(r, 60)); /* tiny fractions */
    }
    x->data[i] = v;
  }
  x->data[0] = -62135596800.0;          /* 0001-01-01 */
  x->data[1] = 253402300799.0 + 0.999; /* 9999-12-31T23:59:59.999 */
  x->data[2] = -0.0; /* the epoch's negative zero: a date would read back as +0 (fuzz find) */
  ndpar_csv_write_options o;
  ndpar_csv_write_options_init(&o);
  o.dates = (const size_t[]){0};
  o.ndates = 1;
  const char *path = in_dir("dates.csv");
  cr_assert_eq(ndpar_csv_write_opts(NULL, path, x, NULL, &o), GSL_SUCCESS);
  ndpar_csv_options ro;
  ndpar_csv_options_init(&ro);
  ro.header = 0;
  gsl_matrix *y = NULL;
  ndpar_csv_error err;
  cr_assert_eq(ndpar_csv_read(NULL, path, &ro, &y, NULL, &err), GSL_SUCCESS, "%s", err.message);
  for (size_t i = 0; i < n; i++)
    cr_assert(same_bits(x->data[i], y->data[i]), "row %zu: %.17g read back as %.17g", i, x->data[i], y->data[i]);
  size_t len;
  char *t = slurp(path, &len);
  cr_assert_eq(strncmp(t, "0001-01-01\n9999-12-31T23:59:59.999", 34), 0, "%.40s", t);
  free(t);
  gsl_matrix_free(x);
  gsl_matrix_free(y);
  gsl_rng_free(r);
}

Test(writer, fractional_seconds_read_correctly_rounded) {
  /* the nearest double to whole + fraction, as strtod gives it for the same decimal */
  gsl_rng *r = test_rng();
  for (int i = 0; i < 20000; i++) {
    long whole = (long)gsl_rng_uniform_int(r, 4000000000UL) - 2000000000L;
    char frac[24], text[80], number[80];
    int nd = 1 + (int)gsl_rng_uniform_int(r, 18);
    for (int k = 0; k < nd; k++) frac[k] = (char)('0' + gsl_rng_uniform_int(r, 10));
    frac[nd] = '\0';
    long day = whole >= 0 ? whole / 86400 : -((-whole + 86399) / 86400), tod = whole - day * 86400;
    long y;
    unsigned m, d;
    csv_civil_from_days(day, &y, &m, &d);
    snprintf(text, sizeof text, "%04ld-%02u-%02uT%02ld:%02ld:%02ld.%s", y, m, d, tod / 3600, tod / 60 % 60, tod % 60,
             frac);
    /* whole + 0.frac as one decimal */
    if (whole >= 0) snprintf(number, sizeof number, "%ld.%s", whole, frac);
    double want = whole >= 0 ? strtod(number, NULL) : 0, got;
    if (whole < 0) { /* exact: -(|whole| - 0.frac) */
      char comp[24];
      int last = nd - 1;
      while (last > 0 && frac[last] == '0') last--;
      if (frac[last] == '0') {
        want = (double)whole;
      } else {
        for (int k = 0; k <= last; k++) comp[k] = (char)('0' + (k == last ? 10 : 9) - (frac[k] - '0'));
        comp[last + 1] = '\0';
        snprintf(number, sizeof number, "-%ld.%s", -whole - 1, comp);
        want = strtod(number, NULL);
      }
    }
    cr_assert(csv_parse_date(text, strlen(text), &got), "%s", text);
    cr_assert(same_bits(got, want), "%s: %.17g, want %.17g (%s)", text, got, want, number);
  }
  gsl_rng_free(r);
}

/* ---- failures ------------------------------------------------------------------------------ */

static int temporaries_left(void) {
  char cmd[256];
  snprintf(cmd, sizeof cmd, "test $(ls '%s' | grep -c tmp) = 0", dir);
  return system(cmd) != 0;
}

Test(writer, a_failed_write_or_close_leaves_the_old_file) {
  test_quiet_gsl_errors();
  gsl_matrix *x = gsl_matrix_alloc(2, 2);
  gsl_matrix_set_all(x, 1.5);
  const char *path = in_dir("out.csv");
  cr_assert_eq(ndpar_csv_write(path, x, NULL), GSL_SUCCESS);
  size_t len0;
  char *before = slurp(path, &len0);
  /* a file size limit: the write fails, then every write, and close removes the temporary */
  signal(SIGXFSZ, SIG_IGN);
  struct rlimit lim = {.rlim_cur = 100000, .rlim_max = RLIM_INFINITY};
  cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
  gsl_matrix *big = gsl_matrix_alloc(20000, 10);
  gsl_matrix_set_all(big, 1.0 / 3);
  ndpar_csv_writer *w = ndpar_csv_writer_open(NULL, path, NULL, NULL);
  cr_assert_not_null(w);
  cr_assert_eq(ndpar_csv_writer_write(w, big), GSL_EFAILED);
  cr_assert(strstr(test_gsl_last_reason(), "cannot write: File too large") != NULL, "%s", test_gsl_last_reason());
  cr_assert_eq(ndpar_csv_writer_write(w, x), GSL_EFAILED, "a failure is sticky");
  cr_assert_eq(ndpar_csv_writer_close(w), GSL_EFAILED);
  lim.rlim_cur = RLIM_INFINITY;
  cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
  cr_assert(!temporaries_left(), "a temporary file was left behind");
  size_t len1;
  char *after = slurp(path, &len1);
  cr_assert(len0 == len1 && memcmp(before, after, len0) == 0, "the old file changed");
  free(after);
  /* discard: the old file stays, no temporary */
  w = ndpar_csv_writer_open(NULL, path, NULL, NULL);
  cr_assert_eq(ndpar_csv_writer_write(w, big), GSL_SUCCESS);
  ndpar_csv_writer_discard(w);
  cr_assert(!temporaries_left());
  after = slurp(path, &len1);
  cr_assert(len0 == len1 && memcmp(before, after, len0) == 0, "discard changed the old file");
  free(after);
  /* a device that is full: written directly, every write fails */
  if (access("/dev/full", W_OK) == 0) {
    w = ndpar_csv_writer_open(NULL, "/dev/full", NULL, NULL);
    cr_assert_not_null(w);
    cr_assert_eq(ndpar_csv_writer_write(w, big), GSL_EFAILED);
    cr_assert(strstr(test_gsl_last_reason(), "No space left on device") != NULL, "%s", test_gsl_last_reason());
    cr_assert_eq(ndpar_csv_writer_close(w), GSL_EFAILED);
  }
  /* a folder that does not exist */
  cr_assert_null(ndpar_csv_writer_open(NULL, in_dir("no/such/dir.csv"), NULL, NULL));
  cr_assert(strstr(test_gsl_last_reason(), "cannot create a temporary file") != NULL, "%s", test_gsl_last_reason());
  free(before);
  gsl_matrix_free(big);
  gsl_matrix_free(x);
}

Test(writer, argument_errors_change_nothing) {
  test_quiet_gsl_errors();
  const char *path = in_dir("args.csv");
  ndpar_csv_write_options o;
  ndpar_csv_write_options_init(&o);
  const char bad_delims[] = {'"', '\n', '\r', '\0', '.', '-', '+', ':', '5', 'e', 'T', 'N'};
  for (size_t i = 0; i < sizeof bad_delims; i++) {
    o.delimiter = bad_delims[i];
    cr_assert_null(ndpar_csv_writer_open(NULL, path, NULL, &o), "delimiter 0x%02x", bad_delims[i]);
  }
  ndpar_csv_write_options_init(&o);
  o.precision = 18;
  cr_assert_null(ndpar_csv_writer_open(NULL, path, NULL, &o));
  o.precision = -1;
  cr_assert_null(ndpar_csv_writer_open(NULL, path, NULL, &o));
  ndpar_csv_write_options_init(&o);
  o.ndates = 1;
  cr_assert_null(ndpar_csv_writer_open(NULL, path, NULL, &o));
  o.dates = (const size_t[]){2};
  ndpar_csv_header *h = ndpar_csv_header_alloc(2, (const char *const[]){"a", "b"});
  cr_assert_null(ndpar_csv_writer_open(NULL, path, h, &o), "a date column beyond the header");
  cr_assert_null(ndpar_csv_writer_open(NULL, NULL, h, NULL));
  struct stat st;
  cr_assert_neq(stat(path, &st), 0, "a rejected open created the file");
  cr_assert(!temporaries_left());
  /* a block of the wrong width: refused, not sticky */
  ndpar_csv_writer *w = ndpar_csv_writer_open(NULL, path, h, NULL);
  gsl_matrix *x3 = gsl_matrix_calloc(2, 3), *x2 = gsl_matrix_calloc(2, 2);
  cr_assert_eq(ndpar_csv_writer_write(w, x3), GSL_EBADLEN);
  cr_assert_eq(ndpar_csv_writer_write(w, NULL), GSL_EFAULT);
  cr_assert_eq(ndpar_csv_writer_write(NULL, x2), GSL_EFAULT);
  cr_assert_eq(ndpar_csv_writer_write(w, x2), GSL_SUCCESS);
  gsl_matrix_view none = gsl_matrix_submatrix(x2, 0, 0, 0, 2); /* 0 rows: nothing */
  none.matrix.size1 = 0;
  cr_assert_eq(ndpar_csv_writer_write(w, &none.matrix), GSL_SUCCESS);
  cr_assert_eq(ndpar_csv_writer_close(w), GSL_SUCCESS);
  cr_assert_eq(ndpar_csv_writer_close(NULL), GSL_EFAULT);
  ndpar_csv_writer_discard(NULL);
  size_t len;
  char *t = slurp(path, &len);
  cr_assert_str_eq(t, "a,b\n0,0\n0,0\n");
  free(t);
  /* no header: the first block fixes the width, and a date column beyond it is an error */
  o.dates = (const size_t[]){5};
  w = ndpar_csv_writer_open(NULL, path, NULL, &o);
  cr_assert_not_null(w);
  cr_assert_eq(ndpar_csv_writer_write(w, x2), GSL_EINVAL);
  ndpar_csv_writer_discard(w);
  gsl_matrix_free(x3);
  gsl_matrix_free(x2);
  ndpar_csv_header_free(h);
}

Test(writer, header_names_with_control_bytes_are_refused) {
  test_quiet_gsl_errors();
  const char *path = in_dir("names.csv");
  gsl_matrix *x = gsl_matrix_calloc(1, 2);
  for (int c = 1; c < 0x20; c++) {
    char name[8] = {'a', (char)c, 'b', '\0'};
    ndpar_csv_header *h = ndpar_csv_header_alloc(2, (const char *const[]){"ok", name});
    int status = ndpar_csv_write(path, x, h);
    /* what the reader takes: tab, line ends, VT, FF, ESC (quoted where they must be) */
    int text = c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r' || c == 0x1b;
    if (text) {
      cr_assert_eq(status, GSL_SUCCESS, "byte 0x%02x", c);
      gsl_matrix *y = NULL;
      ndpar_csv_header *back = NULL;
      ndpar_csv_error err;
      cr_assert_eq(ndpar_csv_read(NULL, path, NULL, &y, &back, &err), GSL_SUCCESS, "byte 0x%02x: %s", c, err.message);
      cr_assert_str_eq(back->names[1], name);
      gsl_matrix_free(y);
      ndpar_csv_header_free(back);
    } else {
      cr_assert_eq(status, GSL_EINVAL, "byte 0x%02x", c);
      cr_assert(strstr(test_gsl_last_reason(), "header->names[1] holds the control byte") != NULL, "%s",
                test_gsl_last_reason());
    }
    ndpar_csv_header_free(h);
  }
  gsl_matrix_free(x);
}

Test(writer, standard_output) {
  const char *path = in_dir("stdout.csv");
  fflush(stdout);
  int saved = dup(STDOUT_FILENO);
  cr_assert_not_null(freopen(path, "w", stdout));
  printf("first line\n"); /* printed before: it comes first */
  gsl_matrix *x = gsl_matrix_alloc(1, 2);
  gsl_matrix_set(x, 0, 0, 0.5);
  gsl_matrix_set(x, 0, 1, -3);
  ndpar_csv_writer *w = ndpar_csv_writer_open(NULL, "-", NULL, NULL);
  cr_assert_not_null(w);
  cr_assert_eq(ndpar_csv_writer_write(w, x), GSL_SUCCESS);
  cr_assert_eq(ndpar_csv_writer_close(w), GSL_SUCCESS);
  fflush(stdout);
  dup2(saved, STDOUT_FILENO);
  close(saved);
  size_t len;
  char *t = slurp(path, &len);
  cr_assert_str_eq(t, "first line\n0.5,-3\n");
  free(t);
  gsl_matrix_free(x);
}

Test(writer, a_header_of_a_million_names_is_one_allocation) {
  /* a header took an allocation per name (10^7 names: 939 MB with the reader's copies);
   * now one block: the names' bytes and a pointer each */
  size_t n = 1000000 / SCALE;
  char **names = malloc(n * sizeof *names), *text = malloc(n * 12);
  size_t bytes = 0;
  for (size_t i = 0; i < n; i++) {
    names[i] = text + i * 12;
    bytes += (size_t)snprintf(names[i], 12, "c%zu", i) + 1;
  }
  cr_assert_not_null(ndpar_pool_default()); /* started before the counting */
  int counting = test_alloc_counting();
  size_t count0 = test_alloc_count(), bytes0 = test_alloc_bytes();
  ndpar_csv_header *h = ndpar_csv_header_alloc(n, (const char *const *)names);
  cr_assert_not_null(h);
  if (counting) {
    cr_assert_leq(test_alloc_count() - count0, 2, "%zu allocations", test_alloc_count() - count0);
    cr_assert_leq(test_alloc_bytes() - bytes0, bytes + n * sizeof(char *) + 256);
  }
  gsl_matrix *x = gsl_matrix_calloc(1, n);
  const char *path = in_dir("wide.csv");
  count0 = test_alloc_count();
  cr_assert_eq(ndpar_csv_write(path, x, h), GSL_SUCCESS);
  if (counting) cr_assert_leq(test_alloc_count() - count0, 100, "writing: %zu allocations", test_alloc_count() - count0);
  gsl_matrix *y = NULL;
  ndpar_csv_header *back = NULL;
  count0 = test_alloc_count();
  bytes0 = test_alloc_bytes();
  cr_assert_eq(ndpar_csv_read(NULL, path, NULL, &y, &back, NULL), GSL_SUCCESS);
  if (counting) {
    cr_assert_leq(test_alloc_count() - count0, 200, "reading: %zu allocations", test_alloc_count() - count0);
    /* the file's names (arena, doubling), the header block, the field map, the matrix */
    cr_assert_leq(test_alloc_bytes() - bytes0, 4 * bytes + 4 * n * sizeof(char *) + n * sizeof(double) + (64 << 20),
                  "reading: %zu bytes", test_alloc_bytes() - bytes0);
  }
  cr_assert_eq(back->n, n);
  for (size_t i = 0; i < n; i += n / 100) cr_assert_str_eq(back->names[i], names[i]);
  gsl_matrix_free(x);
  gsl_matrix_free(y);
  ndpar_csv_header_free(h);
  ndpar_csv_header_free(back);
  free(names);
  free(text);
}
