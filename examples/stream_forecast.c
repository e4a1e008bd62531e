/* stream_forecast: stream a large CSV of lag windows of the bundled Seattle temperature
 * series through read -> parse -> scale (a fitted scaler) -> MLP batch inference -> format
 * -> write, the predictions written in input order, in bounded memory.
 * Usage: stream_forecast [megabytes (default 512)] [tokens per thread (default 4)] [series CSV]
 * The input is generated from the series into a temporary file; up to 64 MB the output is
 * checked byte for byte against the same stages run one chunk at a time. */
#define _POSIX_C_SOURCE 200809L /* gmtime_r, mkstemp, mkdtemp, fdopen under -std=c11 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <gsl/gsl_blas.h>
#include <gsl/gsl_math.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <ndpar/ndpar.h>

enum { LAGS = 24, HIDDEN = 64, HORIZON = 6, BATCH_ROWS = 256, LINE_MAX_BYTES = 4096 };
#define CHUNK_BYTES ((size_t)1 << 20)

/* ---- the model: a scaler fitted on the series' windows, and a one-hidden-layer MLP ---- */

typedef struct {
  gsl_matrix *w1, *w2; /* HIDDEN x LAGS, HORIZON x HIDDEN */
  gsl_vector *b1, *b2;
} mlp;

/* Weights drawn from a seeded generator (a trained model would be loaded instead). */
static int mlp_init(mlp *m, unsigned long seed) {
  m->w1 = gsl_matrix_alloc(HIDDEN, LAGS), m->w2 = gsl_matrix_alloc(HORIZON, HIDDEN);
  m->b1 = gsl_vector_calloc(HIDDEN), m->b2 = gsl_vector_calloc(HORIZON);
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  if (!m->w1 || !m->w2 || !m->b1 || !m->b2 || !r) return gsl_rng_free(r), GSL_ENOMEM;
  gsl_rng_set(r, seed);
  for (size_t i = 0; i < HIDDEN * LAGS; i++) m->w1->data[i] = gsl_ran_gaussian(r, 1 / sqrt(LAGS));
  for (size_t i = 0; i < HORIZON * HIDDEN; i++) m->w2->data[i] = gsl_ran_gaussian(r, 1 / sqrt(HIDDEN));
  gsl_rng_free(r);
  return GSL_SUCCESS;
}

static void mlp_free(mlp *m) {
  gsl_matrix_free(m->w1), gsl_matrix_free(m->w2);
  gsl_vector_free(m->b1), gsl_vector_free(m->b2);
}

/* An ndpar_predict_fn: y = tanh(x w1' + b1) w2' + b2 for one batch of rows. */
static int mlp_predict(const gsl_matrix *x, gsl_matrix *y, const ndpar_task *t, void *ctx) {
  (void)t;
  const mlp *m = ctx;
  gsl_matrix *h = gsl_matrix_alloc(x->size1, HIDDEN);
  if (h == NULL) return GSL_ENOMEM;
  gsl_blas_dgemm(CblasNoTrans, CblasTrans, 1.0, x, m->w1, 0.0, h);
  for (size_t i = 0; i < x->size1; i++)
    for (size_t j = 0; j < HIDDEN; j++)
      gsl_matrix_set(h, i, j, tanh(gsl_matrix_get(h, i, j) + gsl_vector_get(m->b1, j)));
  gsl_blas_dgemm(CblasNoTrans, CblasTrans, 1.0, h, m->w2, 0.0, y);
  for (size_t i = 0; i < x->size1; i++) {
    gsl_vector_view row = gsl_matrix_row(y, i);
    gsl_vector_add(&row.vector, m->b2);
  }
  gsl_matrix_free(h);
  return GSL_SUCCESS;
}

/* ---- the stream: its state, and the item every stage passes on ---- */

typedef struct {
  FILE *in, *out;
  const ndpar_scaler *scaler;
  const mlp *model;
  int header_read;
  size_t rows_out;
} stream;

typedef struct {
  char *text; /* whole lines of the input, then of the output */
  size_t len;
  gsl_matrix *x, *y;
} chunk;

static void chunk_free(void *item, void *ctx) {
  (void)ctx;
  chunk *c = item;
  free(c->text), gsl_matrix_free(c->x), gsl_matrix_free(c->y), free(c);
}

/* Read (SERIAL_IN_ORDER, BLOCKING): about CHUNK_BYTES, completed to the end of its last
 * line. Only I/O: the helper thread running it waits in fread while the pool computes. */
static int stream_read(void *in, void **out, const ndpar_task *t, void *ctx) {
  (void)in, (void)t;
  stream *s = ctx;
  int ch;
  if (!s->header_read) /* skip the header line */
    while ((ch = getc(s->in)) != EOF && ch != '\n') {}
  s->header_read = 1;
  chunk *c = calloc(1, sizeof *c);
  char *text = malloc(CHUNK_BYTES + LINE_MAX_BYTES + 2);
  if (c == NULL || text == NULL) return free(c), free(text), GSL_ENOMEM;
  size_t len = fread(text, 1, CHUNK_BYTES, s->in);
  while (len > 0 && text[len - 1] != '\n' && len < CHUNK_BYTES + LINE_MAX_BYTES &&
         (ch = getc(s->in)) != EOF)
    text[len++] = (char)ch;
  if (ferror(s->in)) return free(c), free(text), GSL_EFAILED;
  if (len == 0) return free(c), free(text), *out = NULL, GSL_SUCCESS; /* the end */
  if (text[len - 1] != '\n') text[len++] = '\n'; /* a last line without its newline */
  text[len] = '\0';
  c->text = text, c->len = len;
  *out = c;
  return GSL_SUCCESS;
}

/* Parse (PARALLEL): the lines into a rows x LAGS matrix; strict: LAGS finite numbers a line. */
static int stream_parse(void *in, void **out, const ndpar_task *t, void *ctx) {
  (void)t, (void)ctx;
  chunk *c = in;
  size_t rows = 0;
  for (size_t i = 0; i < c->len; i++) rows += c->text[i] == '\n';
  gsl_matrix *x = gsl_matrix_alloc(rows, LAGS);
  if (x == NULL) return GSL_ENOMEM;
  char *p = c->text, *end;
  for (size_t i = 0; i < rows; i++)
    for (size_t j = 0; j < LAGS; j++, p = end + 1) {
      double v = strtod(p, &end);
      if (end == p || *end != (j + 1 < LAGS ? ',' : '\n') || !isfinite(v))
        return gsl_matrix_free(x), GSL_EINVAL; /* the chunk stays as it was */
      gsl_matrix_set(x, i, j, v);
    }
  free(c->text), c->text = NULL;
  c->x = x;
  *out = c;
  return GSL_SUCCESS;
}

/* Scale (PARALLEL): the fitted scaler, in place. An ndpar call inside a stage runs inline
 * on the stage's thread. */
static int stream_scale(void *in, void **out, const ndpar_task *t, void *ctx) {
  (void)t;
  const stream *s = ctx;
  chunk *c = in;
  int status = ndpar_scaler_transform(NULL, s->scaler, c->x);
  if (status == GSL_SUCCESS) *out = c;
  return status;
}

/* Infer (PARALLEL): the MLP over the chunk's rows, in batches of BATCH_ROWS. */
static int stream_infer(void *in, void **out, const ndpar_task *t, void *ctx) {
  (void)t;
  const stream *s = ctx;
  chunk *c = in;
  gsl_matrix *y = gsl_matrix_alloc(c->x->size1, HORIZON);
  if (y == NULL) return GSL_ENOMEM;
  int status = ndpar_batch_infer_rows(NULL, c->x, BATCH_ROWS, y, mlp_predict, (void *)s->model, NULL);
  if (status != GSL_SUCCESS) return gsl_matrix_free(y), status;
  c->y = y;
  *out = c;
  return GSL_SUCCESS;
}

/* Format (PARALLEL): a line of HORIZON predictions per row. */
static int stream_format(void *in, void **out, const ndpar_task *t, void *ctx) {
  (void)t, (void)ctx;
  chunk *c = in;
  size_t cap = c->y->size1 * HORIZON * 16 + 1, len = 0;
  char *text = malloc(cap);
  if (text == NULL) return GSL_ENOMEM;
  for (size_t i = 0; i < c->y->size1; i++)
    for (size_t j = 0; j < HORIZON; j++)
      len += (size_t)snprintf(text + len, cap - len, "%.6g%c", gsl_matrix_get(c->y, i, j),
                              j + 1 < HORIZON ? ',' : '\n');
  c->text = text, c->len = len;
  *out = c;
  return GSL_SUCCESS;
}

/* Write (SERIAL_IN_ORDER, BLOCKING): the chunk's predictions, in input order. */
static int stream_write(void *in, void **out, const ndpar_task *t, void *ctx) {
  (void)out, (void)t;
  stream *s = ctx;
  chunk *c = in;
  if (fwrite(c->text, 1, c->len, s->out) != c->len) return GSL_EFAILED;
  s->rows_out += c->y->size1;
  chunk_free(c, NULL);
  return GSL_SUCCESS;
}

/* The six stages; blocking 0 leaves the BLOCKING flags off (the sequential reference). */
static void stream_stages(stream *s, ndpar_stage st[6], int blocking) {
  unsigned io = blocking ? NDPAR_STAGE_BLOCKING : 0;
  st[0] = (ndpar_stage){NDPAR_STAGE_SERIAL_IN_ORDER, stream_read, chunk_free, s, io};
  st[1] = (ndpar_stage){NDPAR_STAGE_PARALLEL, stream_parse, chunk_free, s, 0};
  st[2] = (ndpar_stage){NDPAR_STAGE_PARALLEL, stream_scale, chunk_free, s, 0};
  st[3] = (ndpar_stage){NDPAR_STAGE_PARALLEL, stream_infer, chunk_free, s, 0};
  st[4] = (ndpar_stage){NDPAR_STAGE_PARALLEL, stream_format, chunk_free, s, 0};
  st[5] = (ndpar_stage){NDPAR_STAGE_SERIAL_IN_ORDER, stream_write, NULL, s, io};
}

/* The same stages one chunk after another on this thread. */
static int run_sequential(stream *s) {
  ndpar_stage st[6];
  stream_stages(s, st, 0);
  for (ndpar_task t = {0, 0, NULL};; t.index++) {
    void *item = NULL, *next;
    int status = st[0].fn(NULL, &item, &t, s);
    if (status != GSL_SUCCESS || item == NULL) return status;
    for (size_t k = 1; k < 6; k++, item = next)
      if ((status = st[k].fn(item, &next, &t, s)) != GSL_SUCCESS) return chunk_free(item, NULL), status;
  }
}

/* ---- the input, the model, and main ---- */

/* A temporary file, open for reading and writing; its path in path. */
static FILE *temp_file(char *path, size_t len, const char *name) {
  const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
  snprintf(path, len, "%s/%s-XXXXXX", dir, name);
  int fd = mkstemp(path);
  return fd < 0 ? NULL : fdopen(fd, "w+");
}

/* At least `bytes` of CSV: a header, then the series' windows, cycled, each cycle shifted by
 * a thousandth of a degree (no two rows alike). The data rows written go to *rows. */
static int write_input(FILE *f, const gsl_matrix *windows, size_t bytes, size_t *rows) {
  size_t written = 0, n = 0;
  for (size_t j = 0; j < LAGS; j++)
    written += (size_t)fprintf(f, "lag%zu%c", j + 1, j + 1 < LAGS ? ',' : '\n');
  for (; written < bytes; n++) {
    size_t w = n % windows->size1;
    double shift = 0.001 * (double)((n / windows->size1) % 1000);
    for (size_t j = 0; j < LAGS; j++)
      written += (size_t)fprintf(f, "%.3f%c", gsl_matrix_get(windows, w, j) + shift,
                                 j + 1 < LAGS ? ',' : '\n');
  }
  *rows = n;
  return fflush(f) == 0 && !ferror(f) ? GSL_SUCCESS : GSL_EFAILED;
}

/* The series' lag windows (the first column of the CSV), and a scaler fitted on them. */
static int load_windows(const char *path, gsl_matrix **windows, ndpar_scaler **scaler) {
  const char *const columns[] = {"temperature"};
  ndpar_csv_options opt;
  ndpar_csv_options_init(&opt), opt.columns = columns, opt.ncolumns = 1;
  gsl_matrix *raw;
  ndpar_csv_error e;
  if (ndpar_csv_read(NULL, path, &opt, &raw, NULL, &e) != GSL_SUCCESS)
    return fprintf(stderr, "stream_forecast: %s\n", e.message), e.code;
  size_t n = ndpar_windows_count(raw->size1, LAGS, 0, 1);
  gsl_vector_const_view series = gsl_matrix_const_column(raw, 0);
  *windows = n ? gsl_matrix_alloc(n, LAGS) : NULL;
  *scaler = ndpar_scaler_alloc(NDPAR_SCALE_STANDARD, LAGS);
  int status = *windows && *scaler ? ndpar_windows(&series.vector, LAGS, 0, 1, *windows, NULL)
                                   : GSL_EINVAL;
  if (status == GSL_SUCCESS) status = ndpar_scaler_fit(NULL, *scaler, *windows);
  gsl_matrix_free(raw);
  return status;
}

static int same_bytes(FILE *a, FILE *b) {
  rewind(a), rewind(b);
  int ca, cb;
  do ca = getc(a), cb = getc(b);
  while (ca == cb && ca != EOF);
  return ca == cb;
}

int main(int argc, char **argv) {
  gsl_set_error_handler_off(); /* errors come back as codes, reported below */
  size_t megabytes = argc > 1 ? strtoul(argv[1], NULL, 10) : 512;
  size_t per_thread = argc > 2 ? strtoul(argv[2], NULL, 10) : 4;
  const char *series = argc > 3 ? argv[3] : "data/seattle-weather-hourly-normals.csv";
  char in_path[4096], out_path[4096], ref_path[4096];
  gsl_matrix *windows = NULL;
  ndpar_scaler *scaler = NULL;
  mlp model = {0};
  size_t rows = 0;
  FILE *in = temp_file(in_path, sizeof in_path, "stream-in");
  FILE *out = temp_file(out_path, sizeof out_path, "stream-out");
  int status = in && out ? load_windows(series, &windows, &scaler) : GSL_EFAILED;
  if (status == GSL_SUCCESS) status = mlp_init(&model, 1);
  if (status == GSL_SUCCESS) status = write_input(in, windows, megabytes << 20, &rows);
  if (status == GSL_SUCCESS) rewind(in);

  /* The pipeline: a blocking reader, four parallel stages, a blocking in-order writer.
   * At most per_thread chunks per thread in memory, however large the file. */
  stream s = {in, out, scaler, &model, 0, 0};
  ndpar_stage stages[6];
  stream_stages(&s, stages, 1);
  size_t tokens = per_thread * ndpar_pool_threads(NULL);
  ndpar_pipeline_status st = {0, 0, 0};
  double t0 = ndpar_time_now();
  int ran = status == GSL_SUCCESS;
  if (ran) status = ndpar_pipeline_run(NULL, tokens, stages, 6, &st);
  double seconds = ndpar_time_now() - t0;
  int ok = status == GSL_SUCCESS && fflush(out) == 0 && s.rows_out == rows;
  if (status == GSL_SUCCESS) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("%zu MB, %zu rows in %zu chunks: %.2f s (%.0f MB/s), %zu tokens, peak RSS %ld MB\n",
           megabytes, s.rows_out, st.items, seconds, (double)megabytes / seconds, tokens,
           ru.ru_maxrss / 1024);
  } else if (ran) {
    fprintf(stderr, "stream_forecast: %s\n", ndpar_error_last()->message); /* stage, chunk, why */
  } else {
    fprintf(stderr, "stream_forecast: cannot prepare the input: %s\n", ndpar_error_last()->message);
  }
  if (ok && megabytes <= 64) { /* the same stages one chunk at a time: the same bytes */
    FILE *ref = temp_file(ref_path, sizeof ref_path, "stream-ref");
    stream seq = {in, ref, scaler, &model, 0, 0};
    rewind(in);
    ok = ref && run_sequential(&seq) == GSL_SUCCESS && fflush(ref) == 0 && same_bytes(out, ref);
    printf("sequential reference: %s\n", ok ? "identical output" : "DIFFERENT");
    if (ref) fclose(ref), remove(ref_path);
  }
  if (in) fclose(in), remove(in_path);
  if (out) fclose(out), remove(out_path);
  mlp_free(&model), ndpar_scaler_free(scaler), gsl_matrix_free(windows);
  return ok ? 0 : 1;
}
