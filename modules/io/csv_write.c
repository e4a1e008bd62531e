/* csv_write.c: a gsl_matrix to CSV, through a temporary file renamed into place. */
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ndpar/ndpar_io.h"
#include "ndpar_internal.h"

/* A name as a CSV field: quoted (quotes doubled) if it holds a comma, quote or line end. */
static int write_name(FILE *f, const char *name) {
  if (strpbrk(name, ",\"\r\n") == NULL) return fputs(name, f) >= 0;
  if (fputc('"', f) == EOF) return 0;
  for (const char *c = name; *c; c++)
    if ((*c == '"' && fputc('"', f) == EOF) || fputc(*c, f) == EOF) return 0;
  return fputc('"', f) != EOF;
}

/* One value, %.17g in the C locale: 17 significant digits identify every double. */
static int format_value(char *buf, size_t cap, double v) {
  if (isnan(v)) return snprintf(buf, cap, "NaN");
  if (isinf(v)) return snprintf(buf, cap, v > 0 ? "inf" : "-inf");
  return snprintf(buf, cap, "%.17g", v);
}

static int write_rows(FILE *f, const gsl_matrix *x, const ndpar_csv_header *header) {
  if (header) {
    for (size_t j = 0; j < header->n; j++)
      if ((j && fputc(',', f) == EOF) || !write_name(f, header->names[j])) return 0;
    if (fputc('\n', f) == EOF) return 0;
  }
  char buf[64];
  for (size_t i = 0; i < x->size1; i++) {
    const double *row = x->data + i * x->tda;
    for (size_t j = 0; j < x->size2; j++) {
      int len = format_value(buf, sizeof buf, row[j]);
      buf[len] = j + 1 < x->size2 ? ',' : '\n';
      if (fwrite(buf, 1, (size_t)len + 1, f) != (size_t)len + 1) return 0;
    }
  }
  return 1;
}

/* The C locale for this thread while writing, so printf's decimal point is '.'. */
static int write_stream(FILE *f, const gsl_matrix *x, const ndpar_csv_header *header) {
  locale_t c = newlocale(LC_ALL_MASK, "C", (locale_t)0);
  if (c == (locale_t)0) return 0;
  locale_t old = uselocale(c);
  int ok = write_rows(f, x, header);
  uselocale(old);
  freelocale(c);
  return ok;
}

/* Standard output, a device or a pipe: written directly (renaming over it would replace it). */
static int write_direct(const char *path, const gsl_matrix *x, const ndpar_csv_header *header) {
  FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");
  int ok = f && write_stream(f, x, header) && fflush(f) == 0;
  int e = errno;
  if (f && f != stdout && fclose(f) != 0 && ok) {
    ok = 0;
    e = errno;
  }
  if (!ok) NDPAR_ERROR_FMT(GSL_EFAILED, "ndpar_csv_write: %s: cannot write: %s", path, strerror(e));
  return GSL_SUCCESS;
}

/* A regular file: written to path.tmp-XXXXXX, flushed, synced and closed, then renamed over
 * path; on any failure the temporary file is removed (errno kept from the first failure). */
static int write_atomic(const char *path, const gsl_matrix *x, const ndpar_csv_header *header) {
  size_t len = strlen(path);
  char *tmp = malloc(len + sizeof ".tmp-XXXXXX");
  NDPAR_REQUIRE(tmp != NULL, "ndpar_csv_write: out of memory", GSL_ENOMEM);
  memcpy(tmp, path, len);
  memcpy(tmp + len, ".tmp-XXXXXX", sizeof ".tmp-XXXXXX");
  int fd = mkstemp(tmp);
  if (fd < 0) {
    int e = errno;
    free(tmp);
    NDPAR_ERROR_FMT(GSL_EFAILED, "ndpar_csv_write: %s: cannot create a temporary file: %s", path,
                    strerror(e));
  }
  fchmod(fd, 0644); /* mkstemp's 0600 would hide the result from other readers */
  const char *failed = NULL;
  int e = 0;
  FILE *f = fdopen(fd, "w");
  if (f == NULL) {
    failed = "write";
    e = errno;
    close(fd);
  } else {
    if (!write_stream(f, x, header) || fflush(f) != 0 || fsync(fileno(f)) != 0) {
      failed = "write";
      e = errno;
    }
    if (fclose(f) != 0 && failed == NULL) {
      failed = "close";
      e = errno;
    }
  }
  if (failed == NULL && rename(tmp, path) != 0) {
    failed = "rename";
    e = errno;
  }
  if (failed) unlink(tmp);
  free(tmp);
  if (failed) NDPAR_ERROR_FMT(GSL_EFAILED, "ndpar_csv_write: %s: cannot %s: %s", path, failed, strerror(e));
  return GSL_SUCCESS;
}

int ndpar_csv_write(const char *path, const gsl_matrix *x, const ndpar_csv_header *header) {
  NDPAR_REQUIRE(path != NULL, "ndpar_csv_write: path is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(x != NULL, "ndpar_csv_write: x is NULL", GSL_EFAULT);
  if (x->size1 == 0 || x->size2 == 0 || x->data == NULL)
    NDPAR_ERROR_FMT(GSL_EBADLEN, "ndpar_csv_write: x is %zu x %zu, with no values to write", x->size1,
                    x->size2);
  if (header) {
    NDPAR_REQUIRE(header->names != NULL || header->n == 0, "ndpar_csv_write: header->names is NULL",
                  GSL_EFAULT);
    if (header->n != x->size2)
      NDPAR_ERROR_FMT(GSL_EBADLEN, "ndpar_csv_write: the header has %zu names, x has %zu columns",
                      header->n, x->size2);
    for (size_t j = 0; j < header->n; j++)
      NDPAR_REQUIRE(header->names[j] != NULL, "ndpar_csv_write: a header name is NULL", GSL_EFAULT);
  }
  struct stat st;
  if (strcmp(path, "-") == 0 || (stat(path, &st) == 0 && !S_ISREG(st.st_mode)))
    return write_direct(path, x, header);
  return write_atomic(path, x, header);
}
