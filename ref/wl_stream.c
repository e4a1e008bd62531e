/* wl_stream.c: the streaming forecast's stages (see wl_stream.h). */
#include "ref/wl_stream.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ndpar/ndpar_batch.h"

#define WL_STREAM_HIDDEN 64
#define WL_STREAM_LINE_MAX 4096 /* longest line the reader completes past chunk_bytes */
#define WL_STREAM_BATCH_ROWS 256

/* ---- the model ---------------------------------------------------------------------------- */

int wl_stream_model_load(const char *data_dir, wl_stream_model *m, char *err, size_t errlen) {
  char path[4096];
  wl_series_path(data_dir, path, sizeof path);
  memset(m, 0, sizeof *m);
  int status = wl_series(data_dir, &m->series, err, errlen);
  if (status) return status;
  gsl_matrix *x = NULL, *y = NULL;
  status = wl_windows_of(m->series, path, WL_STREAM_LAGS, WL_STREAM_HORIZON, &x, &y, err, errlen);
  if (status == GSL_SUCCESS) {
    m->scaler = ndpar_scaler_alloc(NDPAR_SCALE_STANDARD, WL_STREAM_LAGS);
    m->mlp = wl_mlp_alloc(WL_STREAM_LAGS, WL_STREAM_HIDDEN, WL_STREAM_HORIZON);
    status = m->scaler && m->mlp ? ndpar_scaler_fit(NULL, m->scaler, x) : GSL_ENOMEM;
  }
  if (status == GSL_SUCCESS) wl_mlp_init(m->mlp, 1);
  gsl_matrix_free(x);
  gsl_matrix_free(y);
  if (status) {
    snprintf(err, errlen, "%s: cannot build the stream's model (%s)", path, gsl_strerror(status));
    wl_stream_model_free(m);
  }
  return status;
}

void wl_stream_model_free(wl_stream_model *m) {
  wl_mlp_free(m->mlp);
  ndpar_scaler_free(m->scaler);
  gsl_vector_free(m->series);
  memset(m, 0, sizeof *m);
}

int wl_stream_generate(const char *path, const wl_stream_model *m, size_t bytes, size_t *rows) {
  FILE *f = fopen(path, "w");
  if (f == NULL) return GSL_EFAILED;
  static char buf[1 << 20];
  setvbuf(f, buf, _IOFBF, sizeof buf);
  size_t written = 0, n = 0, windows = m->series->size - WL_STREAM_LAGS + 1;
  for (size_t j = 0; j < WL_STREAM_LAGS; j++)
    written += (size_t)fprintf(f, "lag%zu%c", j + 1, j + 1 < WL_STREAM_LAGS ? ',' : '\n');
  while (written < bytes) {
    size_t w = n % windows;
    double shift = 0.001 * (double)((n / windows) % 1000);
    for (size_t j = 0; j < WL_STREAM_LAGS; j++)
      written += (size_t)fprintf(f, "%.3f%c", gsl_vector_get(m->series, w + j) + shift,
                                 j + 1 < WL_STREAM_LAGS ? ',' : '\n');
    n++;
  }
  int bad = ferror(f);
  if (fclose(f) != 0 || bad) return GSL_EFAILED;
  if (rows) *rows = n;
  return GSL_SUCCESS;
}

FILE *wl_stream_tempfile(char *path, size_t len, const char *name) {
  const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
  snprintf(path, len, "%s/%s-XXXXXX", dir, name);
  int fd = mkstemp(path);
  return fd < 0 ? NULL : fdopen(fd, "w+");
}

void wl_stream_init(wl_stream *s, const wl_stream_model *m, ndpar_pool *inner, FILE *in, FILE *out,
                    size_t chunk_bytes) {
  memset(s, 0, sizeof *s);
  s->model = m;
  s->inner = inner;
  s->in = in;
  s->out = out;
  s->chunk_bytes = chunk_bytes ? chunk_bytes : (size_t)1 << 20;
}

void wl_chunk_free(void *chunk, void *ctx) {
  (void)ctx;
  wl_chunk *c = chunk;
  if (c == NULL) return;
  free(c->text);
  gsl_matrix_free(c->x);
  gsl_matrix_free(c->y);
  free(c->out);
  free(c);
}

/* ---- the stages --------------------------------------------------------------------------- */

/* Read: about chunk_bytes of text, completed to the end of its last line. Only I/O. */
static int stream_read(void *in, void **out, const ndpar_task *t, void *ctx) {
  (void)in, (void)t;
  wl_stream *s = ctx;
  int ch;
  if (!s->header_read) { /* skip the header line */
    while ((ch = getc(s->in)) != EOF && ch != '\n') {}
    s->header_read = 1;
  }
  char *text = malloc(s->chunk_bytes + WL_STREAM_LINE_MAX + 1);
  if (text == NULL) return GSL_ENOMEM;
  size_t len = fread(text, 1, s->chunk_bytes, s->in);
  while (len > 0 && text[len - 1] != '\n' && (ch = getc(s->in)) != EOF) {
    if (len == s->chunk_bytes + WL_STREAM_LINE_MAX) return free(text), GSL_EBADLEN;
    text[len++] = (char)ch;
  }
  if (ferror(s->in)) return free(text), GSL_EFAILED;
  if (s->read_delay_us) /* the wait of a slow device: the thread sleeps, as in a read(2) */
    nanosleep(&(struct timespec){s->read_delay_us / 1000000, (long)(s->read_delay_us % 1000000) * 1000}, NULL);
  if (len == 0) return free(text), *out = NULL, GSL_SUCCESS;
  if (text[len - 1] != '\n') text[len++] = '\n'; /* a last line without its newline */
  text[len] = '\0';
  wl_chunk *c = calloc(1, sizeof *c);
  if (c == NULL) return free(text), GSL_ENOMEM;
  c->text = text;
  c->len = len;
  *out = c;
  return GSL_SUCCESS;
}

/* Parse: the chunk's lines into a rows x lags matrix; strict (every field a finite number,
 * exactly `lags` per line), else GSL_EINVAL. */
static int stream_parse(void *in, void **out, const ndpar_task *t, void *ctx) {
  (void)t, (void)ctx;
  wl_chunk *c = in;
  size_t rows = 0;
  for (const char *p = c->text; (p = memchr(p, '\n', c->len - (size_t)(p - c->text))); p++) rows++;
  gsl_matrix *x = gsl_matrix_alloc(rows, WL_STREAM_LAGS);
  if (x == NULL) return GSL_ENOMEM;
  char *p = c->text;
  for (size_t i = 0; i < rows; i++) {
    double *row = gsl_matrix_ptr(x, i, 0);
    for (size_t j = 0; j < WL_STREAM_LAGS; j++) {
      char *end;
      row[j] = strtod(p, &end);
      char sep = j + 1 < WL_STREAM_LAGS ? ',' : '\n';
      if (end == p || *end != sep || !isfinite(row[j])) return gsl_matrix_free(x), GSL_EINVAL;
      p = end + 1;
    }
  }
  free(c->text);
  c->text = NULL;
  c->x = x;
  *out = c;
  return GSL_SUCCESS;
}

/* Scale: the fitted scaler, in place (an ndpar call: inline inside a pipeline). */
static int stream_scale(void *in, void **out, const ndpar_task *t, void *ctx) {
  (void)t;
  wl_stream *s = ctx;
  wl_chunk *c = in;
  int status = ndpar_scaler_transform(s->inner, s->model->scaler, c->x);
  if (status == GSL_SUCCESS) *out = c;
  return status;
}

/* Infer: the MLP over the chunk's rows in batches (ndpar_batch_infer_rows). */
static int stream_infer(void *in, void **out, const ndpar_task *t, void *ctx) {
  (void)t;
  wl_stream *s = ctx;
  wl_chunk *c = in;
  gsl_matrix *y = gsl_matrix_alloc(c->x->size1, WL_STREAM_HORIZON);
  if (y == NULL) return GSL_ENOMEM;
  int status = ndpar_batch_infer_rows(s->inner, c->x, WL_STREAM_BATCH_ROWS, y, wl_mlp_predict,
                                      s->model->mlp, NULL);
  if (status) return gsl_matrix_free(y), status;
  c->y = y;
  *out = c;
  return GSL_SUCCESS;
}

/* Format: one line of `horizon` predictions per row. */
static int stream_format(void *in, void **out, const ndpar_task *t, void *ctx) {
  (void)t, (void)ctx;
  wl_chunk *c = in;
  size_t cap = c->y->size1 * WL_STREAM_HORIZON * 24 + 1, len = 0;
  char *text = malloc(cap);
  if (text == NULL) return GSL_ENOMEM;
  for (size_t i = 0; i < c->y->size1; i++)
    for (size_t j = 0; j < WL_STREAM_HORIZON; j++)
      len += (size_t)snprintf(text + len, cap - len, "%.6g%c", gsl_matrix_get(c->y, i, j),
                              j + 1 < WL_STREAM_HORIZON ? ',' : '\n');
  c->out = text;
  c->outlen = len;
  *out = c;
  return GSL_SUCCESS;
}

/* Write: the predictions, in input order. Only I/O. */
static int stream_write(void *in, void **out, const ndpar_task *t, void *ctx) {
  (void)out, (void)t;
  wl_stream *s = ctx;
  wl_chunk *c = in;
  if (fwrite(c->out, 1, c->outlen, s->out) != c->outlen) return GSL_EFAILED;
  s->rows_out += c->y->size1;
  wl_chunk_free(c, NULL);
  return GSL_SUCCESS;
}

void wl_stream_stages(wl_stream *s, ndpar_stage st[WL_STREAM_STAGES], int blocking) {
  unsigned io = blocking ? NDPAR_STAGE_BLOCKING : 0;
  st[0] = (ndpar_stage){NDPAR_STAGE_SERIAL_IN_ORDER, stream_read, wl_chunk_free, s, io};
  st[1] = (ndpar_stage){NDPAR_STAGE_PARALLEL, stream_parse, wl_chunk_free, s, 0};
  st[2] = (ndpar_stage){NDPAR_STAGE_PARALLEL, stream_scale, wl_chunk_free, s, 0};
  st[3] = (ndpar_stage){NDPAR_STAGE_PARALLEL, stream_infer, wl_chunk_free, s, 0};
  st[4] = (ndpar_stage){NDPAR_STAGE_PARALLEL, stream_format, wl_chunk_free, s, 0};
  st[5] = (ndpar_stage){NDPAR_STAGE_SERIAL_IN_ORDER, stream_write, NULL, s, io};
}

int wl_stream_run_sequential(wl_stream *s) {
  ndpar_stage st[WL_STREAM_STAGES];
  wl_stream_stages(s, st, 0);
  ndpar_task t = {0, 0, NULL};
  for (;; t.index++) {
    void *item = NULL;
    int status = st[0].fn(NULL, &item, &t, st[0].ctx);
    if (status || item == NULL) return status;
    for (size_t k = 1; k < WL_STREAM_STAGES; k++) {
      void *next = NULL;
      if ((status = st[k].fn(item, &next, &t, st[k].ctx)) != GSL_SUCCESS) {
        wl_chunk_free(item, NULL);
        return status;
      }
      item = next;
    }
  }
}
