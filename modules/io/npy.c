/* npy.c: numpy's .npy files (format versions 1.0, 2.0 and 3.0) of float64 to and from
 * gsl_matrix. https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "csv_internal.h"
#include "ndpar/ndpar_io.h"
#include "ndpar_internal.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "npy.c reads and writes little-endian doubles as the host's: a big-endian host needs swaps"
#endif

static const char magic[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};

/* What the header says. */
typedef struct {
  int big_endian;
  int fortran;
  int ndim;
  size_t shape[2];
} npy_header;

/* Every byte of [p, p + n) from fd; 0 at a read error or the end of the file first. */
static int read_full(int fd, void *p, size_t n) {
  char *c = p;
  while (n > 0) {
    ssize_t k = read(fd, c, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return 0;
    c += k;
    n -= (size_t)k;
  }
  return 1;
}

/* The value after 'key': in the header dictionary, or NULL. */
static const char *dict_value(const char *h, const char *key) {
  char quoted[32];
  snprintf(quoted, sizeof quoted, "'%s'", key);
  const char *k = strstr(h, quoted);
  if (k == NULL) return NULL;
  k += strlen(quoted);
  while (*k == ' ') k++;
  if (*k != ':') return NULL;
  k++;
  while (*k == ' ') k++;
  return k;
}

/* The shape tuple "(3, 4)", "(5,)" or "()" into h; 0 if it is not one of at most 2 sizes. */
static int parse_shape(const char *v, npy_header *h) {
  if (*v++ != '(') return 0;
  h->ndim = 0;
  for (;;) {
    while (*v == ' ') v++;
    if (*v == ')') return 1;
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (end == v || errno != 0 || *v == '-') return 0;
    if (h->ndim == 2) {
      h->ndim = 3; /* too many: the caller names it */
      return 1;
    }
    h->shape[h->ndim++] = (size_t)n;
    v = end;
    while (*v == ' ') v++;
    if (*v == ',') v++;
    else if (*v != ')') return 0;
  }
}

/* The header's dictionary: GSL_SUCCESS, or an error through GSL_ERROR naming what is wrong. */
static int parse_header(const char *path, const char *text, npy_header *h) {
  const char *descr = dict_value(text, "descr"), *fortran = dict_value(text, "fortran_order"),
             *shape = dict_value(text, "shape");
  if (descr == NULL || fortran == NULL || shape == NULL)
    NDPAR_ERROR_FMT(GSL_EINVAL, "ndpar_npy_read: path %s: a bad header (no descr, fortran_order or shape): %.80s", path,
                    text);
  if (strncmp(descr, "'<f8'", 5) == 0) h->big_endian = 0;
  else if (strncmp(descr, "'>f8'", 5) == 0) h->big_endian = 1;
  else {
    size_t len = strcspn(descr, ",}");
    NDPAR_ERROR_FMT(GSL_EINVAL, "ndpar_npy_read: path %s: the dtype is %.*s, not float64 ('<f8' or '>f8')", path,
                    (int)(len < 40 ? len : 40), descr);
  }
  if (strncmp(fortran, "True", 4) == 0) h->fortran = 1;
  else if (strncmp(fortran, "False", 5) == 0) h->fortran = 0;
  else NDPAR_ERROR_FMT(GSL_EINVAL, "ndpar_npy_read: path %s: a bad header (fortran_order %.10s)", path, fortran);
  if (!parse_shape(shape, h)) NDPAR_ERROR_FMT(GSL_EINVAL, "ndpar_npy_read: path %s: a bad header (shape %.40s)", path, shape);
  if (h->ndim > 2)
    NDPAR_ERROR_FMT(GSL_EINVAL, "ndpar_npy_read: path %s: an array of more than 2 dimensions (shape %.40s)", path, shape);
  if (h->ndim == 0) h->shape[0] = 1; /* a scalar: 1 x 1 */
  if (h->ndim <= 1) h->shape[1] = 1; /* a vector: a column */
  if (h->shape[0] == 0 || h->shape[1] == 0)
    NDPAR_ERROR_FMT(GSL_EBADLEN, "ndpar_npy_read: path %s: an empty array (shape %.40s): a gsl_matrix cannot be empty",
                    path, shape);
  return GSL_SUCCESS;
}

/* Reads the magic, the version and the header text (a new string in *text). */
static int read_preamble(int fd, const char *path, char **text) {
  unsigned char pre[10];
  if (!read_full(fd, pre, 8) || memcmp(pre, magic, 6) != 0)
    NDPAR_ERROR_FMT(GSL_EINVAL, "ndpar_npy_read: path %s: not a .npy file (no \\x93NUMPY at the start)", path);
  int major = pre[6];
  if (major < 1 || major > 3)
    NDPAR_ERROR_FMT(GSL_EINVAL, "ndpar_npy_read: path %s: format version %d.%d is not 1.0, 2.0 or 3.0", path, major,
                    pre[7]);
  size_t len;
  if (major == 1) {
    if (!read_full(fd, pre + 8, 2)) NDPAR_ERROR_FMT(GSL_EINVAL, "ndpar_npy_read: path %s: truncated in the header", path);
    len = (size_t)pre[8] | (size_t)pre[9] << 8;
  } else {
    unsigned char l4[4];
    if (!read_full(fd, l4, 4)) NDPAR_ERROR_FMT(GSL_EINVAL, "ndpar_npy_read: path %s: truncated in the header", path);
    len = (size_t)l4[0] | (size_t)l4[1] << 8 | (size_t)l4[2] << 16 | (size_t)l4[3] << 24;
  }
  if (len > (1u << 24)) NDPAR_ERROR_FMT(GSL_EINVAL, "ndpar_npy_read: path %s: a header of %zu bytes", path, len);
  *text = malloc(len + 1);
  NDPAR_REQUIRE(*text != NULL, "ndpar_npy_read: out of memory", GSL_ENOMEM);
  if (!read_full(fd, *text, len)) {
    free(*text);
    *text = NULL;
    NDPAR_ERROR_FMT(GSL_EINVAL, "ndpar_npy_read: path %s: truncated in the header", path);
  }
  (*text)[len] = '\0';
  return GSL_SUCCESS;
}

static double swapped(double v) {
  uint64_t b;
  memcpy(&b, &v, sizeof b);
  b = __builtin_bswap64(b);
  memcpy(&v, &b, sizeof v);
  return v;
}

/* The data into a new matrix: C order straight in, Fortran order column by column. */
static int read_data(int fd, const char *path, const npy_header *h, gsl_matrix **x) {
  size_t rows = h->shape[0], cols = h->shape[1], n;
  if (!ndpar_size_mul(rows, cols, &n) || n > SIZE_MAX / sizeof(double))
    NDPAR_ERROR_FMT(GSL_EBADLEN, "ndpar_npy_read: path %s: a %zu x %zu array does not fit in memory", path, rows, cols);
  /* a regular file must hold the data the header claims before that much is allocated: a
   * corrupt shape is a truncated file, not an allocation of exabytes */
  struct stat st;
  off_t at = lseek(fd, 0, SEEK_CUR);
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && at >= 0 &&
      (uint64_t)(st.st_size - at) / sizeof(double) < (uint64_t)n)
    NDPAR_ERROR_FMT(GSL_EBADLEN, "ndpar_npy_read: path %s: truncated: the header says %zu x %zu doubles, the file holds %lld bytes of data",
                    path, rows, cols, (long long)(st.st_size - at));
  gsl_matrix *m = csv_matrix_new(rows, cols);
  NDPAR_REQUIRE(m != NULL, "ndpar_npy_read: out of memory", GSL_ENOMEM);
  int ok = 1;
  if (!h->fortran) {
    ok = read_full(fd, m->data, n * sizeof(double));
  } else {
    double *col = malloc(rows * sizeof *col);
    ok = col != NULL;
    for (size_t j = 0; ok && j < cols; j++) {
      ok = read_full(fd, col, rows * sizeof *col);
      for (size_t i = 0; ok && i < rows; i++) m->data[i * cols + j] = col[i];
    }
    free(col);
  }
  if (!ok) {
    gsl_matrix_free(m);
    NDPAR_ERROR_FMT(GSL_EBADLEN, "ndpar_npy_read: path %s: truncated: the header says %zu x %zu doubles", path, rows,
                    cols);
  }
  if (h->big_endian)
    for (size_t i = 0; i < n; i++) m->data[i] = swapped(m->data[i]);
  *x = m;
  return GSL_SUCCESS;
}

int ndpar_npy_read(const char *path, gsl_matrix **x) {
  NDPAR_REQUIRE(path != NULL, "ndpar_npy_read: path is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(x != NULL, "ndpar_npy_read: x is NULL", GSL_EFAULT);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) NDPAR_ERROR_FMT(GSL_EFAILED, "ndpar_npy_read: path %s: cannot open: %s", path, strerror(errno));
  char *text = NULL;
  npy_header h;
  memset(&h, 0, sizeof h);
  int status = read_preamble(fd, path, &text);
  if (status == GSL_SUCCESS) status = parse_header(path, text, &h);
  if (status == GSL_SUCCESS) status = read_data(fd, path, &h, x);
  free(text);
  close(fd);
  return status;
}

/* ---- writing ------------------------------------------------------------------------------ */

/* The header: version 1.0 (2.0 if it would not fit 65535 bytes), padded with spaces to a
 * multiple of 64 bytes with the preamble, ending in a line end. Its length. */
static size_t make_header(char *buf, const gsl_matrix *x) {
  char dict[128];
  int n = snprintf(dict, sizeof dict, "{'descr': '<f8', 'fortran_order': False, 'shape': (%zu, %zu), }", x->size1,
                   x->size2);
  size_t pre = 10, total = (pre + (size_t)n + 1 + 63) / 64 * 64, hlen = total - pre;
  memcpy(buf, magic, 6);
  buf[6] = 1;
  buf[7] = 0;
  buf[8] = (char)(hlen & 0xff);
  buf[9] = (char)(hlen >> 8);
  memcpy(buf + pre, dict, (size_t)n);
  memset(buf + pre + n, ' ', hlen - (size_t)n - 1);
  buf[total - 1] = '\n';
  return total;
}

/* Every byte to fd; 0 with errno on failure. */
static int write_full(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n > 0) {
    ssize_t k = write(fd, c, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) {
      if (k == 0) errno = EIO;
      return 0;
    }
    c += k;
    n -= (size_t)k;
  }
  return 1;
}

static int write_matrix(int fd, const gsl_matrix *x) {
  char header[192];
  size_t len = make_header(header, x);
  if (!write_full(fd, header, len)) return 0;
  if (x->tda == x->size2) return write_full(fd, x->data, x->size1 * x->size2 * sizeof(double));
  for (size_t i = 0; i < x->size1; i++)
    if (!write_full(fd, x->data + i * x->tda, x->size2 * sizeof(double))) return 0;
  return 1;
}

int ndpar_npy_write(const char *path, const gsl_matrix *x) {
  NDPAR_REQUIRE(path != NULL, "ndpar_npy_write: path is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(x != NULL, "ndpar_npy_write: x is NULL", GSL_EFAULT);
  if (x->size1 == 0 || x->size2 == 0 || x->data == NULL)
    NDPAR_ERROR_FMT(GSL_EBADLEN, "ndpar_npy_write: x is %zu x %zu, with no values to write", x->size1, x->size2);
  size_t len = strlen(path);
  char *tmp = malloc(len + sizeof ".tmp-XXXXXX");
  NDPAR_REQUIRE(tmp != NULL, "ndpar_npy_write: out of memory", GSL_ENOMEM);
  memcpy(tmp, path, len);
  memcpy(tmp + len, ".tmp-XXXXXX", sizeof ".tmp-XXXXXX");
  int fd = mkostemp(tmp, O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    free(tmp);
    NDPAR_ERROR_FMT(GSL_EFAILED, "ndpar_npy_write: path %s: cannot create a temporary file: %s", path, strerror(e));
  }
  fchmod(fd, 0644);
  const char *failed = NULL;
  if (!write_matrix(fd, x)) failed = "write";
  int e = errno;
  if (close(fd) != 0 && failed == NULL) {
    failed = "close";
    e = errno;
  }
  if (failed == NULL && rename(tmp, path) != 0) {
    failed = "rename";
    e = errno;
  }
  if (failed != NULL) unlink(tmp);
  free(tmp);
  if (failed != NULL) NDPAR_ERROR_FMT(GSL_EFAILED, "ndpar_npy_write: path %s: cannot %s: %s", path, failed, strerror(e));
  return GSL_SUCCESS;
}
