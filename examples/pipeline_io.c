/* pipeline_io: a blocking reader feeding a parallel parser, sums kept in order.
 * Usage: pipeline_io [lines] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ndpar/ndpar_pipeline.h>

#define CHUNK_BYTES (64 * 1024)

typedef struct {
  char *text; /* whole lines */
  size_t len;
  size_t lines;
  double sum;
} chunk;

/* Stage 0, BLOCKING: reads about CHUNK_BYTES, then on to the end of the line. It only
 * reads; parsing is left to the parallel stage, so the helper thread that runs this stage
 * spends its time waiting in fread while the pool's threads parse. */
static int read_chunk(void *in, void **out, const ndpar_task *t, void *ctx) {
  (void)in, (void)t;
  FILE *f = ctx;
  chunk *c = malloc(sizeof *c);
  char *text = malloc(CHUNK_BYTES + 256);
  if (c == NULL || text == NULL) return free(c), free(text), GSL_ENOMEM;
  size_t len = fread(text, 1, CHUNK_BYTES, f);
  int ch = 0;
  while (len > 0 && text[len - 1] != '\n' && len < CHUNK_BYTES + 255 && (ch = fgetc(f)) != EOF)
    text[len++] = (char)ch;
  if (len == 0) {
    free(c), free(text);
    *out = NULL; /* end of the stream */
    return ferror(f) ? GSL_EFAILED : GSL_SUCCESS;
  }
  text[len] = '\0';
  *c = (chunk){text, len, 0, 0};
  *out = c;
  return GSL_SUCCESS;
}

/* Stage 1, PARALLEL: parses "index,value" lines and sums the values. */
static int parse_chunk(void *in, void **out, const ndpar_task *t, void *ctx) {
  (void)t, (void)ctx;
  chunk *c = in;
  for (char *p = c->text; *p; c->lines++) {
    char *end;
    strtoul(p, &end, 10);
    if (*end != ',') return GSL_EINVAL; /* malformed: the item stays as it was */
    c->sum += strtod(end + 1, &p);
    if (*p++ != '\n') return GSL_EINVAL;
  }
  *out = c;
  return GSL_SUCCESS;
}

typedef struct {
  size_t lines;
  double sum;
} totals;

/* Stage 2, SERIAL_IN_ORDER: adds the chunk sums in file order (a reproducible total). */
static int add_chunk(void *in, void **out, const ndpar_task *t, void *ctx) {
  (void)out, (void)t;
  chunk *c = in;
  totals *tot = ctx;
  tot->lines += c->lines;
  tot->sum += c->sum;
  free(c->text);
  free(c);
  return GSL_SUCCESS;
}

static void free_chunk(void *item, void *ctx) {
  (void)ctx;
  chunk *c = item;
  free(c->text);
  free(c);
}

int main(int argc, char **argv) {
  size_t lines = argc > 1 ? strtoul(argv[1], NULL, 10) : 200000;
  FILE *f = tmpfile();
  if (f == NULL) return 1;
  double expect = 0;
  for (size_t i = 0; i < lines; i++) {
    double v = sin(0.001 * (double)i);
    fprintf(f, "%zu,%.17g\n", i, v);
    expect += v;
  }
  rewind(f);

  totals tot = {0, 0};
  ndpar_stage stages[] = {
      {NDPAR_STAGE_SERIAL_IN_ORDER, read_chunk, free_chunk, f, NDPAR_STAGE_BLOCKING},
      {NDPAR_STAGE_PARALLEL, parse_chunk, free_chunk, NULL, 0},
      {NDPAR_STAGE_SERIAL_IN_ORDER, add_chunk, NULL, &tot, 0},
  };
  ndpar_pipeline_status st;
  /* At most 8 chunks of 64 KiB in memory, however large the file. */
  int rc = ndpar_pipeline_run(NULL, 8, stages, 3, &st);
  fclose(f);
  if (rc != GSL_SUCCESS) {
    fprintf(stderr, "pipeline_io: %s\n", ndpar_error_last()->message); /* stage, chunk, why */
    return 1;
  }
  printf("%zu lines in %zu chunks, sum %.6f (expected %.6f)\n", tot.lines, st.items, tot.sum,
         expect);
  return tot.lines == lines && fabs(tot.sum - expect) <= 1e-9 * (1 + fabs(expect)) ? 0 : 1;
}
