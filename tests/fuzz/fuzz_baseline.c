/* libFuzzer target: scalebench's baseline reader (sb_load_baseline). The input is the
 * baseline file. A bad baseline must end in sb_usage_error (here a jump back, not an
 * exit); a good one must hold only valid points. The reader's allocations come here
 * (the Makefile's FUZZ_DEFS_baseline), so what it held at the jump is freed. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scalebench.h"
#include "usage_error.h"

static char path[4200];

#undef malloc
#undef realloc
#undef free
void *malloc(size_t n);
void *realloc(void *p, size_t n);
void free(void *p);

/* ---- the reader's live allocations ---- */

enum { MAX_LIVE = 64 };
static void *live[MAX_LIVE];

static void track(void *old, void *p) {
  for (int i = 0; i < MAX_LIVE; i++)
    if (live[i] == old) {
      live[i] = p;
      return;
    }
  abort(); /* more live blocks than a reader should ever hold */
}

void *fuzz_malloc(size_t n);
void *fuzz_malloc(size_t n) {
  void *p = malloc(n);
  if (p) track(NULL, p);
  return p;
}

void *fuzz_realloc(void *old, size_t n);
void *fuzz_realloc(void *old, size_t n) {
  void *p = realloc(old, n);
  if (p) track(old, p);
  return p;
}

void fuzz_free(void *p);
void fuzz_free(void *p) {
  if (p) track(p, NULL);
  free(p);
}

static void free_live(void) {
  for (int i = 0; i < MAX_LIVE; i++) free(live[i]), live[i] = NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  static char dir[] = "/tmp/ndpar-fuzz-baseline-XXXXXX";
  if (mkdtemp(dir) == NULL) abort();
  setenv("SCALEBENCH_BASELINE_DIR", dir, 1);
  sb_baseline_path("fuzz", path, sizeof path);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FILE *f = fopen(path, "wb");
  if (f == NULL || fwrite(data, 1, size, f) != size || fclose(f) != 0) abort();
  static sb_baseline b;
  if (setjmp(fuzz_usage_error) == 0) {
    sb_load_baseline("fuzz", &b);
    if (b.n == 0 || b.pts == NULL) abort();
    for (size_t i = 0; i < b.n; i++) {
      const sb_saved_point *p = &b.pts[i];
      if (memchr(p->workload, '\0', sizeof p->workload) == NULL || p->workload[0] == '\0') abort();
      if (p->threads < 1 || p->threads > NDPAR_MAX_THREADS) abort();
      if (!isfinite(p->ms) || p->ms <= 0) abort();
    }
    sb_baseline_free(&b);
  }
  free_live();
  return 0;
}
