/* stream_forecast: stream a large CSV of lag windows through parse -> scale (a fitted
 * scaler) -> MLP inference -> format -> write, predictions in input order, in bounded memory.
 * Usage: stream_forecast [megabytes (default 512)] [tokens per thread (default 4)]
 * The input is generated from the bundled Seattle temperature series into a temporary file;
 * up to 64 MB the output is checked byte for byte against the stages run one item at a time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <ndpar/ndpar_pipeline.h>
#include "ref/wl_stream.h"

/* Both files the same, byte for byte. */
static int same_bytes(FILE *a, FILE *b) {
  rewind(a);
  rewind(b);
  int ca, cb;
  do {
    ca = getc(a);
    cb = getc(b);
  } while (ca == cb && ca != EOF);
  return ca == cb;
}

int main(int argc, char **argv) {
  size_t megabytes = argc > 1 ? strtoul(argv[1], NULL, 10) : 512;
  size_t per_thread = argc > 2 ? strtoul(argv[2], NULL, 10) : 4;
  char err[512], in_path[4096], out_path[4096], ref_path[4096];
  wl_stream_model model;
  if (wl_stream_model_load(NULL, &model, err, sizeof err) != GSL_SUCCESS) {
    fprintf(stderr, "stream_forecast: %s\n", err);
    return 1;
  }
  FILE *in = wl_stream_tempfile(in_path, sizeof in_path, "stream-in");
  FILE *out = wl_stream_tempfile(out_path, sizeof out_path, "stream-out");
  size_t rows = 0;
  if (in == NULL || out == NULL || wl_stream_generate(in_path, &model, megabytes << 20, &rows)) {
    fprintf(stderr, "stream_forecast: cannot write the input in %s\n", in_path);
    return 1;
  }

  /* The pipeline: a blocking reader, four parallel stages, a blocking in-order writer.
   * The scale and infer stages call ndpar (the scaler, ndpar_batch_infer_rows) on the
   * default pool: inside the pipeline those calls run inline on the stage's thread. */
  wl_stream s;
  wl_stream_init(&s, &model, NULL, in, out, 0);
  ndpar_stage stages[WL_STREAM_STAGES];
  wl_stream_stages(&s, stages, 1);
  size_t tokens = per_thread * ndpar_pool_threads(NULL);
  ndpar_pipeline_status st;
  double t0 = ndpar_time_now();
  int status = ndpar_pipeline_run(NULL, tokens, stages, WL_STREAM_STAGES, &st);
  fflush(out);
  double seconds = ndpar_time_now() - t0;
  if (status != GSL_SUCCESS) {
    fprintf(stderr, "stream_forecast: %s at stage %zu, chunk %zu\n", gsl_strerror(status),
            st.failed_stage, st.failed_item);
    return 1;
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("%zu MB, %zu rows in %zu chunks of 1 MiB: %.2f s (%.0f MB/s), %zu tokens, peak RSS %ld MB\n",
         megabytes, s.rows_out, st.items, seconds, (double)megabytes / seconds, tokens,
         ru.ru_maxrss / 1024);
  int ok = s.rows_out == rows;

  if (megabytes <= 64) { /* the same stages one item at a time: the same bytes */
    FILE *ref = wl_stream_tempfile(ref_path, sizeof ref_path, "stream-ref");
    rewind(in);
    wl_stream seq;
    wl_stream_init(&seq, &model, NULL, in, ref, 0);
    ok = ok && ref && wl_stream_run_sequential(&seq) == GSL_SUCCESS && same_bytes(out, ref);
    printf("sequential reference: %s\n", ok ? "identical output" : "DIFFERENT");
    if (ref) fclose(ref), remove(ref_path);
  }
  fclose(in);
  fclose(out);
  remove(in_path);
  remove(out_path);
  wl_stream_model_free(&model);
  return ok ? 0 : 1;
}
