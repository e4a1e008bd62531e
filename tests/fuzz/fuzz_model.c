/* libFuzzer target: the model file loader of the models module (ndpar_model_load_bytes).
 *
 * The first byte picks the mode, the rest is the file. Bit 0 set: the file's length field
 * and CRC-32 are rewritten to match before loading, so that mutations reach the node
 * parser and the model builders behind the checksum; clear: the bytes as they are (the
 * header and checksum checks). A load must either succeed or fail with GSL_EINVAL or
 * GSL_ENOMEM, leaving *m untouched and the error in ndpar_error_last(). A loaded model
 * must predict (when fitted and small), save, load again and predict the same bits.
 * The seeds (tests/fuzz/corpus/model/) are saved models: see tests/fuzz/model_seeds.c. */
#include <gsl/gsl_errno.h>
#include <gsl/gsl_matrix.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ndpar/ndpar_models.h"

#define HEADER_BYTES 24
#define CHECKSUM_BYTES 4

static ndpar_pool *pool;
static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  gsl_set_error_handler_off();
  snprintf(path, sizeof path, "/tmp/ndpar-fuzz-model-%ld.ndpar", (long)getpid());
  ndpar_pool_config cfg;
  ndpar_pool_config_init(&cfg);
  cfg.threads = 2;
  cfg.bind = NDPAR_BIND_NONE;
  pool = ndpar_pool_alloc(&cfg);
  return pool ? 0 : 1;
}

/* CRC-32 of IEEE 802.3, as the file format (docs/models.md). */
static uint32_t crc32_of(const unsigned char *p, size_t n) {
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) {
    crc ^= p[i];
    for (int k = 0; k < 8; k++) crc = crc & 1 ? 0xEDB88320u ^ (crc >> 1) : crc >> 1;
  }
  return crc ^ 0xFFFFFFFFu;
}

static void put_le(unsigned char *p, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* The model's predictions of a fixed x (rows x inputs), or NULL if it is not fitted or
 * too large to bother with. */
static gsl_matrix *predictions(const ndpar_model *m) {
  size_t in = ndpar_model_inputs(m);
  size_t out = ndpar_model_outputs(m);
  if (!ndpar_model_fitted(m) || in == 0 || out == 0 || in > 256 || out > 256) return NULL;
  gsl_matrix *x = gsl_matrix_alloc(3, in);
  gsl_matrix *y = gsl_matrix_alloc(3, out);
  if (x == NULL || y == NULL) abort();
  for (size_t i = 0; i < x->size1; i++)
    for (size_t j = 0; j < x->size2; j++) gsl_matrix_set(x, i, j, (double)i - 0.25 * (double)j);
  if (ndpar_model_predict(pool, m, x, y) != GSL_SUCCESS) abort(); /* loaded, yet inconsistent */
  gsl_matrix_free(x);
  return y;
}

/* Saves m, loads it again: the same type, shape and predictions, bit for bit. */
static void round_trip(const ndpar_model *m) {
  if (ndpar_model_save(m, path) != GSL_SUCCESS) abort();
  FILE *f = fopen(path, "rb");
  if (f == NULL) abort();
  static unsigned char buf[1 << 20];
  size_t n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  ndpar_model *again = NULL;
  if (n == sizeof buf || ndpar_model_load_bytes(buf, n, &again) != GSL_SUCCESS) abort();
  if (strcmp(ndpar_model_name(m), ndpar_model_name(again)) != 0 ||
      ndpar_model_fitted(m) != ndpar_model_fitted(again) ||
      ndpar_model_inputs(m) != ndpar_model_inputs(again) ||
      ndpar_model_outputs(m) != ndpar_model_outputs(again))
    abort();
  gsl_matrix *a = predictions(m);
  gsl_matrix *b = predictions(again);
  if ((a == NULL) != (b == NULL)) abort();
  if (a != NULL && memcmp(a->data, b->data, a->size1 * a->size2 * sizeof(double)) != 0) abort();
  gsl_matrix_free(a);
  gsl_matrix_free(b);
  ndpar_model_free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  size_t n = size - 1;
  unsigned char *file = malloc(n > 0 ? n : 1);
  if (file == NULL) abort();
  memcpy(file, data + 1, n);
  if ((data[0] & 1) && n >= HEADER_BYTES + CHECKSUM_BYTES) {
    put_le(file + 16, n, 8);
    put_le(file + n - CHECKSUM_BYTES, crc32_of(file, n - CHECKSUM_BYTES), 4);
  }
  ndpar_model *const sentinel = (ndpar_model *)&pool;
  ndpar_model *m = sentinel;
  ndpar_error_clear();
  int status = ndpar_model_load_bytes(file, n, &m);
  free(file);
  if (status != GSL_SUCCESS) {
    if (m != sentinel || (status != GSL_EINVAL && status != GSL_ENOMEM)) abort();
    const ndpar_error_info *e = ndpar_error_last();
    if (e->code != status || e->message[0] == '\0') abort();
    return 0;
  }
  if (m == sentinel || m == NULL || ndpar_model_name(m) == NULL) abort();
  gsl_matrix_free(predictions(m));
  round_trip(m);
  ndpar_model_free(m);
  return 0;
}
