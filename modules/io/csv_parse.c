/* csv_parse.c: RFC 4180 records into rows of doubles; the header; error messages. */
#include <gsl/gsl_errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "csv_internal.h"
#include "csv_number.h"
#include "ndpar_internal.h"

int csv_fail_set(csv_fail *f, int code, size_t line, size_t column, const char *fmt, ...) {
  f->code = code;
  f->line = line;
  f->column = column;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(f->msg, sizeof f->msg, fmt, ap);
  va_end(ap);
  return code;
}

/* The field's text for a message: quoted, non-printing bytes as \xNN, cut after 60 bytes. */
static void quote_text(char *dst, size_t cap, const char *s, size_t len) {
  size_t o = 0, shown = len > 60 ? 60 : len;
  dst[o++] = '"';
  for (size_t i = 0; i < shown && o + 8 < cap; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x20 || c == 0x7f)
      o += (size_t)snprintf(dst + o, cap - o, "\\x%02x", c);
    else
      dst[o++] = (char)c;
  }
  if (shown < len && o + 4 < cap) o += (size_t)snprintf(dst + o, cap - o, "...");
  dst[o++] = '"';
  dst[o] = '\0';
}

void csv_release(const char *from, const char *to) {
  long page = sysconf(_SC_PAGESIZE); /* every few megabytes: cheap enough */
  uintptr_t a = (uintptr_t)from & ~(uintptr_t)(page - 1), b = (uintptr_t)to & ~(uintptr_t)(page - 1);
  if (b > a) madvise((void *)a, b - a, MADV_DONTNEED);
}

/* ---- one field --------------------------------------------------------------------- */

/* Byte classes that end an unquoted field or are wrong in it. */
enum { C_TEXT = 0, C_END = 1, C_QUOTE = 2, C_BINARY = 3 };

typedef struct {
  unsigned char cls[256];
} csv_classes;

static void classes_init(csv_classes *c, char delim) {
  memset(c->cls, C_TEXT, sizeof c->cls);
  for (int b = 0; b < 0x20; b++)
    if (b < 0x09 || (b > 0x0d && b != 0x1b)) c->cls[b] = C_BINARY;
  c->cls['\n'] = C_END;
  c->cls[(unsigned char)delim] = C_END;
  c->cls['"'] = C_QUOTE;
}

/* One field found by next_field: text [s, e), possibly with doubled quotes to undo. */
typedef struct {
  const char *s, *e;
  int escaped; /* a quoted field holding "" */
  int last;    /* the record ends after this field */
} csv_field;

/* The text of the quoted field opening at p: fd->s, fd->e, fd->escaped; *after is the
 * byte after its closing quote, *nl the line ends inside it. */
static int quoted_text(const char *p, const char *end, int at_eof, size_t line0, size_t col,
                       csv_field *fd, const char **after, size_t *nl, csv_fail *f) {
  const char *q = p + 1;
  for (;;) {
    const char *quote = memchr(q, '"', (size_t)(end - q));
    if (quote == NULL) {
      if (!at_eof) return CSV_MORE;
      return csv_fail_set(f, GSL_EINVAL, line0, col, "a quoted field is not closed before the end of the file");
    }
    for (const char *c = q; (c = memchr(c, '\n', (size_t)(quote - c))) != NULL; c++) (*nl)++;
    if (quote + 1 == end && !at_eof) return CSV_MORE; /* "" may be cut in two */
    if (quote + 1 < end && quote[1] == '"') {
      fd->escaped = 1;
      q = quote + 2;
      continue;
    }
    fd->s = p + 1;
    fd->e = quote;
    *after = quote + 1;
    return GSL_SUCCESS;
  }
}

/* A quoted field: its text, then a delimiter, a line end or the end of the file. */
static int quoted_field(const csv_spec *sp, const char **pp, const char *end, int at_eof,
                        size_t *lines, size_t col, csv_field *fd, csv_fail *f) {
  size_t nl = 0;
  const char *p = end;
  int status = quoted_text(*pp, end, at_eof, *lines, col, fd, &p, &nl, f);
  if (status != GSL_SUCCESS) return status;
  if (p == end) {
    fd->last = 1;
  } else if (*p == sp->delim) {
    fd->last = 0;
    p++;
  } else if (*p == '\n' || (*p == '\r' && p + 1 < end && p[1] == '\n')) {
    fd->last = 1;
    p += *p == '\r' ? 2 : 1;
    nl++;
  } else if (*p == '\r' && p + 1 == end && !at_eof) {
    return CSV_MORE;
  } else {
    return csv_fail_set(f, GSL_EINVAL, *lines + nl, col, "text after the closing quote of a quoted field");
  }
  *lines += nl;
  *pp = p;
  return GSL_SUCCESS;
}

/* An unquoted field: up to the delimiter or the line end (a CR before it is not text). */
static int unquoted_field(const csv_classes *cl, const char **pp, const char *end, int at_eof,
                          size_t *lines, size_t col, csv_field *fd, csv_fail *f) {
  const char *p = *pp, *q = p;
  while (q < end && cl->cls[(unsigned char)*q] == C_TEXT) q++;
  if (q == end && !at_eof) return CSV_MORE;
  if (q < end && cl->cls[(unsigned char)*q] == C_QUOTE)
    return csv_fail_set(f, GSL_EINVAL, *lines, col,
                        "a quote inside an unquoted field (quote the whole field and double its quotes)");
  if (q < end && cl->cls[(unsigned char)*q] == C_BINARY)
    return csv_fail_set(f, GSL_EINVAL, *lines, col, "binary data (byte 0x%02x), not text", (unsigned char)*q);
  fd->s = p;
  fd->last = q == end || *q == '\n';
  fd->e = fd->last && q > p && q[-1] == '\r' ? q - 1 : q;
  if (q < end && *q == '\n') (*lines)++;
  *pp = q == end ? q : q + 1;
  return GSL_SUCCESS;
}

/* Finds the field at *pp; on success *pp is past its delimiter or line end. */
static int next_field(const csv_spec *sp, const csv_classes *cl, const char **pp, const char *end,
                      int at_eof, size_t *lines, size_t col, csv_field *fd, csv_fail *f) {
  fd->escaped = 0;
  if (*pp < end && **pp == '"') return quoted_field(sp, pp, end, at_eof, lines, col, fd, f);
  return unquoted_field(cl, pp, end, at_eof, lines, col, fd, f);
}

/* ---- one value ---------------------------------------------------------------------- */

static int is_missing(const csv_spec *sp, const char *s, size_t len) {
  if (len >= 64 || !(sp->missing_lens >> len & 1)) return 0;
  for (size_t i = 0; i < sp->nmissing; i++)
    if (sp->missing[i].len == len && (len == 0 || sp->missing[i].text[0] == s[0]) &&
        memcmp(sp->missing[i].text, s, len) == 0)
      return 1;
  return 0;
}

/* Undoes doubled quotes of [s, e) into a new buffer (NULL: out of memory). */
static char *unescape(const char *s, const char *e, size_t *len) {
  char *b = malloc((size_t)(e - s) + 1), *o = b;
  if (b == NULL) return NULL;
  for (; s < e; s++) {
    *o++ = *s;
    if (*s == '"') s++;
  }
  *o = '\0';
  *len = (size_t)(o - b);
  return b;
}

/* The text of a number or date, blanks trimmed: a CSV_NUM_ status. */
static int convert_trimmed(const csv_spec *sp, const char *s, size_t len, double *out) {
  int status = csv_parse_number(s, len, out);
  if (status != CSV_NUM_BAD) return status;
  return sp->dates && csv_parse_date(s, len, out) ? CSV_NUM_OK : CSV_NUM_BAD;
}

static int convert_text(const csv_spec *sp, const char *s, size_t len, size_t line, size_t col,
                        double *out, csv_fail *f) {
  if (is_missing(sp, s, len)) {
    char q[128];
    if (sp->missing_is_error) {
      quote_text(q, sizeof q, s, len);
      return csv_fail_set(f, GSL_EINVAL, line, col, "missing value (%s)", q);
    }
    *out = NAN;
    return GSL_SUCCESS;
  }
  /* blanks (spaces, tabs) around a number or date are not part of it, as pandas reads
   * them; other white space, or blanks alone, are not a number */
  const char *t = s;
  size_t tlen = len;
  while (tlen > 0 && (*t == ' ' || *t == '\t')) {
    t++;
    tlen--;
  }
  while (tlen > 0 && (t[tlen - 1] == ' ' || t[tlen - 1] == '\t')) tlen--;
  if (tlen == 0 || *t == '\v' || *t == '\f' || *t == '\r' || *t == '\n') {
    char q[128];
    quote_text(q, sizeof q, s, len);
    return csv_fail_set(f, GSL_EINVAL, line, col, "%s is not a number", q);
  }
  int status = convert_trimmed(sp, t, tlen, out);
  if (status == CSV_NUM_OK) return GSL_SUCCESS;
  if (status == CSV_NUM_NOMEM) return csv_fail_set(f, GSL_ENOMEM, CSV_NO_LINE, 0, "out of memory");
  char q[128];
  quote_text(q, sizeof q, s, len);
  if (status == CSV_NUM_RANGE) return csv_fail_set(f, GSL_ERANGE, line, col, "%s is out of the range of a double", q);
  return csv_fail_set(f, GSL_EINVAL, line, col, "%s is not a number", q);
}

static int convert_field(const csv_spec *sp, const csv_field *fd, size_t line, size_t col,
                         double *out, csv_fail *f) {
  if (!fd->escaped) return convert_text(sp, fd->s, (size_t)(fd->e - fd->s), line, col, out, f);
  size_t len;
  char *text = unescape(fd->s, fd->e, &len);
  if (text == NULL) return csv_fail_set(f, GSL_ENOMEM, CSV_NO_LINE, 0, "out of memory");
  int status = convert_text(sp, text, len, line, col, out, f);
  free(text);
  return status;
}

/* ---- records ------------------------------------------------------------------------ */

/* A line to pass over: blank (LF or CRLF alone) or a comment. Returns 1 and moves *pp past
 * it, 0 if the line is a record, CSV_MORE if the buffer ends before it can tell. */
static int skip_line(const csv_spec *sp, const char **pp, const char *end, int at_eof, size_t *lines) {
  const char *p = *pp;
  if (*p == '\n' || (*p == '\r' && p + 1 < end && p[1] == '\n')) {
    *pp = p + (*p == '\r' ? 2 : 1);
    (*lines)++;
    return 1;
  }
  if (*p == '\r' && p + 1 == end) {
    if (!at_eof) return CSV_MORE;
    *pp = end;
    return 1;
  }
  if (sp->comment != '\0' && *p == sp->comment) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (nl == NULL && !at_eof) return CSV_MORE;
    *pp = nl ? nl + 1 : end;
    *lines += nl != NULL;
    return 1;
  }
  return 0;
}

/* Parses the record at *pp into row; on success *pp is at the next line. */
static int parse_record(const csv_spec *sp, const csv_classes *cl, const char **pp,
                        const char *end, int at_eof, double *row, size_t *lines, csv_fail *f) {
  const char *p = *pp;
  size_t line0 = *lines, n = 0;
  csv_field fd;
  do {
    size_t line = *lines;
    int status = next_field(sp, cl, &p, end, at_eof, lines, n + 1, &fd, f);
    if (status != GSL_SUCCESS) return status;
    if (n < sp->nfields && sp->map[n] >= 0) {
      status = convert_field(sp, &fd, line, n + 1, row + sp->map[n], f);
      if (status != GSL_SUCCESS) return status;
    }
    n++;
  } while (!fd.last);
  if (n != sp->nfields)
    return csv_fail_set(f, GSL_EBADLEN, line0, 0, "%zu field%s, expected %zu", n, n == 1 ? "" : "s",
                        sp->nfields);
  *pp = p;
  return GSL_SUCCESS;
}

int csv_parse_span(const csv_spec *sp, const char *p, const char *end, int at_eof, double *out,
                   size_t tda, size_t max_rows, csv_progress *pr, csv_fail *f) {
  csv_classes cl;
  classes_init(&cl, sp->delim);
  const char *released = p;
  size_t lines = 0, rows = 0;
  int status = GSL_SUCCESS;
  while (p < end) {
    const char *start = p;
    size_t lines0 = lines;
    int skip = skip_line(sp, &p, end, at_eof, &lines);
    if (skip == 1) continue;
    if (skip == CSV_MORE || rows == max_rows) {
      status = skip == CSV_MORE ? CSV_MORE : GSL_SUCCESS;
      break;
    }
    status = parse_record(sp, &cl, &p, end, at_eof, out + rows * tda, &lines, f);
    if (status != GSL_SUCCESS) {
      p = start;
      lines = lines0;
      break;
    }
    rows++;
    if (sp->release_pages && (size_t)(p - released) >= CSV_RELEASE_EVERY) {
      csv_release(released, p);
      released = p;
    }
  }
  if (sp->release_pages) csv_release(released, p);
  pr->pos = p;
  pr->rows = rows;
  pr->lines = lines;
  return status;
}

const char *csv_record_end(const csv_spec *sp, const char *p, const char *end, size_t *lines,
                           int *saw_quote) {
  const char *nl = memchr(p, '\n', (size_t)(end - p));
  const char *line_end = nl ? nl : end;
  if ((sp->comment != '\0' && *p == sp->comment) || memchr(p, '"', (size_t)(line_end - p)) == NULL) {
    *lines += nl != NULL;
    return nl ? nl + 1 : end;
  }
  /* A quote: newlines inside quotes belong to the record. */
  *saw_quote = 1;
  int quoted = 0;
  for (; p < end; p++) {
    if (*p == '"') quoted = !quoted;
    else if (*p == '\n') {
      (*lines)++;
      if (!quoted) return p + 1;
    }
  }
  return end;
}

void csv_count_span(const csv_spec *sp, const char *p, const char *end, size_t *records,
                    size_t *lines, int *saw_quote) {
  const char *released = p;
  size_t n = 0, l = 0;
  *saw_quote = 0;
  while (p < end) {
    size_t dummy = 0;
    const char *q = p;
    if (skip_line(sp, &q, end, 1, &dummy) != 1) n++;
    p = csv_record_end(sp, p, end, &l, saw_quote);
    if (sp->release_pages && (size_t)(p - released) >= CSV_RELEASE_EVERY) {
      csv_release(released, p);
      released = p;
    }
  }
  if (sp->release_pages) csv_release(released, p);
  *records = n;
  *lines = l;
}

/* ---- results ------------------------------------------------------------------------- */

gsl_matrix *csv_matrix_new(size_t rows, size_t cols) {
  if (rows == 0 || cols == 0 || rows > SIZE_MAX / sizeof(double) / cols) return NULL;
  gsl_matrix *m = malloc(sizeof *m);
  gsl_block *b = malloc(sizeof *b);
  double *d = malloc(rows * cols * sizeof *d);
  if (m == NULL || b == NULL || d == NULL) {
    free(m);
    free(b);
    free(d);
    return NULL;
  }
  *b = (gsl_block){.size = rows * cols, .data = d};
  *m = (gsl_matrix){.size1 = rows, .size2 = cols, .tda = cols, .data = d, .block = b, .owner = 1};
  return m;
}

/* A header and its names in one block: the struct, n pointers, then the texts (bytes in
 * all, NUL-terminated, one after another), so that a header of 10^7 short names takes the
 * names' bytes and a pointer each, not an allocation each. The pointers are set by the
 * caller. NULL if memory is short (no GSL error). */
static ndpar_csv_header *header_block(size_t n, size_t bytes) {
  size_t size;
  if (!ndpar_size_mul(n, sizeof(char *), &size) || !ndpar_size_add(size, sizeof(ndpar_csv_header), &size) ||
      !ndpar_size_add(size, bytes, &size))
    return NULL;
  ndpar_csv_header *h = malloc(size);
  if (h == NULL) return NULL;
  h->n = n;
  h->names = (char **)(h + 1);
  return h;
}

/* The texts' start in a header block. */
static char *header_texts(ndpar_csv_header *h) { return (char *)(h->names + h->n); }

/* A header holding copies of names[0 .. n), or NULL (out of memory). No GSL error. */
static ndpar_csv_header *header_new(size_t n, const char *const *names) {
  size_t bytes = 0;
  for (size_t i = 0; i < n; i++) bytes += strlen(names[i]) + 1;
  ndpar_csv_header *h = header_block(n, bytes);
  if (h == NULL) return NULL;
  char *t = header_texts(h);
  for (size_t i = 0; i < n; i++) {
    size_t len = strlen(names[i]) + 1;
    memcpy(t, names[i], len);
    h->names[i] = t;
    t += len;
  }
  return h;
}

/* ---- header and options ------------------------------------------------------------- */

static const char *const default_missing[] = {"", "NA", "NaN", NULL};

int csv_spec_init(csv_spec *s, const ndpar_csv_options *opt) {
  memset(s, 0, sizeof *s);
  char d = opt->delimiter;
  NDPAR_REQUIRE(d != '"' && d != '\r' && d != '\n' && d != '\0',
                "ndpar_csv: the delimiter cannot be '\"', '\\r', '\\n' or '\\0'", GSL_EINVAL);
  NDPAR_REQUIRE(opt->comment != d && opt->comment != '"' && opt->comment != '\r' && opt->comment != '\n',
                "ndpar_csv: the comment character cannot be the delimiter, '\"' or a line end", GSL_EINVAL);
  NDPAR_REQUIRE(opt->ncolumns == 0 || (opt->columns == NULL) != (opt->indices == NULL),
                "ndpar_csv: ncolumns > 0 needs exactly one of columns and indices", GSL_EINVAL);
  NDPAR_REQUIRE(opt->columns == NULL || opt->header,
                "ndpar_csv: columns by name need a header (header = 1)", GSL_EINVAL);
  if (opt->columns)
    for (size_t k = 0; k < opt->ncolumns; k++)
      NDPAR_REQUIRE(opt->columns[k] != NULL, "ndpar_csv: a column name is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(csv_number_init(), "ndpar_csv: cannot create the C locale", GSL_ENOMEM);
  s->delim = d;
  s->comment = opt->comment;
  s->dates = opt->dates;
  s->missing_is_error = opt->missing_is_error;
  const char *const *list = opt->missing ? opt->missing : default_missing;
  size_t n = 0;
  while (list[n]) n++;
  s->missing = malloc((n ? n : 1) * sizeof *s->missing);
  NDPAR_REQUIRE(s->missing != NULL, "ndpar_csv: out of memory", GSL_ENOMEM);
  for (size_t i = 0; i < n; i++) {
    s->missing[i].text = list[i];
    s->missing[i].len = strlen(list[i]);
    if (s->missing[i].len < 64) s->missing_lens |= (uint64_t)1 << s->missing[i].len;
  }
  s->nmissing = n;
  return GSL_SUCCESS;
}

void csv_spec_free(csv_spec *s) {
  free(s->missing);
  free(s->map);
  s->missing = NULL;
  s->map = NULL;
}

/* A growing text: the names of a record, NUL-terminated, one after another. */
typedef struct {
  char *text;
  size_t len, cap;
} text_arena;

static int arena_put(text_arena *a, const char *s, const char *e, int escaped) {
  size_t need = (size_t)(e - s) + 1;
  if (a->cap - a->len < need) {
    size_t cap = a->cap ? 2 * a->cap : 256;
    while (cap - a->len < need) cap *= 2;
    char *grown = realloc(a->text, cap);
    if (grown == NULL) return 0;
    a->text = grown;
    a->cap = cap;
  }
  char *o = a->text + a->len;
  for (; s < e; s++) { /* a quoted field's doubled quotes become one */
    *o++ = *s;
    if (escaped && *s == '"') s++;
  }
  *o++ = '\0';
  a->len = (size_t)(o - a->text);
  return 1;
}

/* The fields of the record at *pp as a new header (the names in one block). */
static int split_record(const csv_spec *sp, const char **pp, const char *end, int at_eof,
                        size_t *lines, ndpar_csv_header **out, csv_fail *f) {
  csv_classes cl;
  classes_init(&cl, sp->delim);
  text_arena a = {0};
  size_t n = 0;
  csv_field fd;
  int status = GSL_SUCCESS;
  const char *p = *pp;
  do {
    status = next_field(sp, &cl, &p, end, at_eof, lines, n + 1, &fd, f);
    if (status != GSL_SUCCESS) break;
    if (!arena_put(&a, fd.s, fd.e, fd.escaped)) {
      status = csv_fail_set(f, GSL_ENOMEM, CSV_NO_LINE, 0, "out of memory");
      break;
    }
    n++;
  } while (!fd.last);
  ndpar_csv_header *h = status == GSL_SUCCESS ? header_block(n, a.len) : NULL;
  if (status == GSL_SUCCESS && h == NULL) status = csv_fail_set(f, GSL_ENOMEM, CSV_NO_LINE, 0, "out of memory");
  if (status != GSL_SUCCESS) {
    free(a.text);
    return status;
  }
  char *t = header_texts(h);
  memcpy(t, a.text, a.len);
  free(a.text);
  for (size_t i = 0; i < n; i++) {
    h->names[i] = t;
    t += strlen(t) + 1;
  }
  *pp = p;
  *out = h;
  return GSL_SUCCESS;
}

/* s->map from the selection; names (may be NULL) are the header's. */
static int build_map(csv_spec *s, const ndpar_csv_options *opt, char **names, size_t header_line,
                     csv_fail *f) {
  s->map = malloc(s->nfields * sizeof *s->map);
  if (s->map == NULL) return csv_fail_set(f, GSL_ENOMEM, CSV_NO_LINE, 0, "out of memory");
  for (size_t j = 0; j < s->nfields; j++) s->map[j] = opt->ncolumns ? -1 : (long)j;
  s->ncols = opt->ncolumns ? opt->ncolumns : s->nfields;
  for (size_t k = 0; k < opt->ncolumns; k++) {
    size_t j = 0;
    if (opt->columns) {
      while (j < s->nfields && strcmp(names[j], opt->columns[k]) != 0) j++;
      if (j == s->nfields)
        return csv_fail_set(f, GSL_EINVAL, header_line, 0, "no column named \"%s\" in the header",
                            opt->columns[k]);
    } else {
      j = opt->indices[k];
      if (j >= s->nfields)
        return csv_fail_set(f, GSL_EINVAL, header_line, 0,
                            "column index %zu is out of range: the file has %zu columns", j, s->nfields);
    }
    if (s->map[j] >= 0 && opt->columns)
      return csv_fail_set(f, GSL_EINVAL, header_line, 0, "column \"%s\" is selected twice", opt->columns[k]);
    if (s->map[j] >= 0)
      return csv_fail_set(f, GSL_EINVAL, header_line, 0, "column %zu is selected twice", j);
    s->map[j] = (long)k;
  }
  return GSL_SUCCESS;
}

/* The header of the selected columns: the record's own when every column is selected in
 * order (*all is then moved out, NULL), else a copy of the selected names. */
static int make_header(const csv_spec *s, ndpar_csv_header **all, ndpar_csv_header **header, csv_fail *f) {
  int identity = s->ncols == s->nfields;
  for (size_t j = 0; identity && j < s->nfields; j++) identity = s->map[j] == (long)j;
  if (identity) {
    *header = *all;
    *all = NULL;
    return GSL_SUCCESS;
  }
  char **names = (*all)->names;
  const char **sel = malloc(s->ncols * sizeof *sel);
  if (sel == NULL) return csv_fail_set(f, GSL_ENOMEM, CSV_NO_LINE, 0, "out of memory");
  for (size_t j = 0; j < s->nfields; j++)
    if (s->map[j] >= 0) sel[s->map[j]] = names[j];
  *header = header_new(s->ncols, sel);
  free(sel);
  return *header ? GSL_SUCCESS : csv_fail_set(f, GSL_ENOMEM, CSV_NO_LINE, 0, "out of memory");
}

/* Moves *pp past the byte order mark, opt->skip_rows lines and blank and comment lines, to
 * the first record (the header, if there is one); *lines counts the line ends passed. */
static int skip_to_first_record(const csv_spec *s, const ndpar_csv_options *opt, const char **pp,
                                const char *end, int at_eof, size_t *lines, csv_fail *f) {
  const char *p = *pp;
  if (end - p >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) p += 3;
  else if (!at_eof && end - p < 3 && memcmp(p, "\xEF\xBB\xBF", (size_t)(end - p)) == 0) return CSV_MORE;
  for (size_t i = 0; i < opt->skip_rows && p < end; i++) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (nl == NULL && !at_eof) return CSV_MORE;
    p = nl ? nl + 1 : end;
    *lines += nl != NULL;
  }
  for (;;) {
    if (p == end) {
      if (!at_eof) return CSV_MORE;
      return csv_fail_set(f, GSL_EINVAL, CSV_NO_LINE, 0, "the file is empty");
    }
    int skip = skip_line(s, &p, end, at_eof, lines);
    if (skip == CSV_MORE) return CSV_MORE;
    if (skip == 0) break;
  }
  *pp = p;
  return GSL_SUCCESS;
}

int csv_preamble(csv_spec *s, const ndpar_csv_options *opt, const char *buf, const char *end,
                 int at_eof, size_t *consumed, size_t *lines, ndpar_csv_header **header,
                 csv_fail *f) {
  const char *p = buf;
  size_t l = 0, n = 0;
  int status = skip_to_first_record(s, opt, &p, end, at_eof, &l, f);
  if (status != GSL_SUCCESS) return status;
  size_t first_line = l;
  ndpar_csv_header *names = NULL;
  const char *q = p;
  status = split_record(s, &q, end, at_eof, &l, &names, f);
  if (status != GSL_SUCCESS) return status;
  s->nfields = n = names->n;
  if (opt->header) p = q; /* without a header the first record is data: not consumed */
  else l = first_line;
  status = build_map(s, opt, names->names, first_line, f);
  if (status == GSL_SUCCESS && header && opt->header) status = make_header(s, &names, header, f);
  ndpar_csv_header_free(names);
  if (status != GSL_SUCCESS) {
    free(s->map);
    s->map = NULL;
    return status;
  }
  *consumed = (size_t)(p - buf);
  *lines = l;
  return GSL_SUCCESS;
}

int csv_report(const char *path, size_t base_line, const csv_fail *f, ndpar_csv_error *err) {
  char message[sizeof err->message];
  size_t line = f->line == CSV_NO_LINE ? 0 : f->line + base_line + 1;
  if (line == 0)
    snprintf(message, sizeof message, "%s: %s", path, f->msg);
  else if (f->column == 0)
    snprintf(message, sizeof message, "%s:%zu: %s", path, line, f->msg);
  else
    snprintf(message, sizeof message, "%s:%zu:%zu: %s", path, line, f->column, f->msg);
  if (err) {
    err->code = f->code;
    err->line = line;
    err->column = line ? f->column : 0;
    memcpy(err->message, message, sizeof message);
  }
  NDPAR_ERROR_FMT(f->code, "%s", message);
}

ndpar_csv_header *ndpar_csv_header_alloc(size_t n, const char *const *names) {
  NDPAR_REQUIRE_NULL(n == 0 || names != NULL, "ndpar_csv_header_alloc: names is NULL", GSL_EFAULT);
  for (size_t i = 0; i < n; i++)
    NDPAR_REQUIRE_NULL(names[i] != NULL, "ndpar_csv_header_alloc: a name is NULL", GSL_EFAULT);
  ndpar_csv_header *h = header_new(n, names);
  NDPAR_REQUIRE_NULL(h != NULL, "ndpar_csv_header_alloc: out of memory", GSL_ENOMEM);
  return h;
}

void ndpar_csv_header_free(ndpar_csv_header *h) { free(h); /* one block: see header_block */ }

void ndpar_csv_options_init(ndpar_csv_options *opt) {
  if (opt == NULL) return; /* as every _init: nothing to fill */
  memset(opt, 0, sizeof *opt);
  opt->delimiter = ',';
  opt->header = 1;
  opt->dates = 1;
}
