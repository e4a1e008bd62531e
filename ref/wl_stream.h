/* wl_stream.h: the streaming forecast of the reference workload, as pipeline stages.
 *
 * A CSV whose rows are lag windows of the bundled Seattle temperature series (generated to
 * any size) is read in chunks of whole lines (a blocking reader), parsed into a gsl_matrix,
 * scaled by a scaler fitted on the series, run through the reference MLP, formatted, and the
 * predictions written in input order (a blocking writer). The example, the benchmark and
 * scalebench's `pipeline` workload share these stages. Not part of ndpar's API. */
#ifndef NDPAR_WL_STREAM_H
#define NDPAR_WL_STREAM_H

#include <stdio.h>

#include "ndpar/ndpar_pipeline.h"
#include "ndpar/ndpar_preprocess.h"
#include "ref/wl.h"

#define WL_STREAM_LAGS 24
#define WL_STREAM_HORIZON 6
#define WL_STREAM_STAGES 6

/* The model of the stream: the MLP (24 lags, 64 units, 6 outputs, seed 1), a standard
 * scaler fitted on the series' windows, and the raw series itself (for wl_stream_generate). */
typedef struct {
  wl_mlp *mlp;
  ndpar_scaler *scaler;
  gsl_vector *series;
} wl_stream_model;

/* data_dir as wl_data_dir. GSL_SUCCESS, or an error with a message in err. */
int wl_stream_model_load(const char *data_dir, wl_stream_model *m, char *err, size_t errlen);
void wl_stream_model_free(wl_stream_model *m);

/* Writes a CSV of at least `bytes` bytes (header lag1..lag24, then windows of the series,
 * cycled, each cycle shifted by a thousandth of a degree so that no two rows repeat).
 * *rows (if not NULL): the data rows written. GSL_EFAILED if the file cannot be written. */
int wl_stream_generate(const char *path, const wl_stream_model *m, size_t bytes, size_t *rows);

/* Creates a temporary file $TMPDIR/<name>-XXXXXX (else /tmp), its path in path[len], open
 * for reading and writing; NULL if it cannot. The caller removes it. */
FILE *wl_stream_tempfile(char *path, size_t len, const char *name);

/* One run's state: the stages' shared context. */
typedef struct {
  const wl_stream_model *model;
  ndpar_pool *inner;  /* the pool of the ndpar calls inside the stages (NULL: default) */
  FILE *in, *out;
  size_t chunk_bytes; /* text per item (default 1 MiB) */
  unsigned read_delay_us; /* added to every chunk read: a slow device (benchmarks) */
  int header_read;
  size_t rows_out; /* rows written (writer) */
} wl_stream;

/* in, out open; chunk_bytes 0: 1 MiB. */
void wl_stream_init(wl_stream *s, const wl_stream_model *m, ndpar_pool *inner, FILE *in, FILE *out,
                    size_t chunk_bytes);

/* The six stages: read (SERIAL_IN_ORDER, BLOCKING), parse, scale, infer, format (PARALLEL),
 * write (SERIAL_IN_ORDER, BLOCKING). blocking 0 leaves the BLOCKING flags off. */
void wl_stream_stages(wl_stream *s, ndpar_stage stages[WL_STREAM_STAGES], int blocking);

/* The stages one item at a time on the calling thread (the sequential reference). */
int wl_stream_run_sequential(wl_stream *s);

/* The item the stages pass on, and its cleanup (every stage's). */
typedef struct {
  char *text;
  size_t len;
  gsl_matrix *x, *y;
  char *out;
  size_t outlen;
} wl_chunk;
void wl_chunk_free(void *chunk, void *ctx);

#endif
