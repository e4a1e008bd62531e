/* reference.c: scalebench's reference kernel, the yardstick of the machine's own speed. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ref/timing.h"
#include "scalebench.h"

/* A chain of dependent multiplications (the logistic map): no memory traffic, no ndpar code,
 * so its time moves only with the speed of the core it gets. */
static void *reference_loop(void *arg) {
  double *out = arg;
  volatile double seed = 0.3;
  double x = seed;
  for (int i = 0; i < 2000000; i++) x = 3.7 * x * (1 - x);
  *out = x;
  return NULL;
}

/* One run on every physical core at once: its time is the slowest thread's, so load on any
 * core shows. 0, or 1 if a thread could not start. */
static int reference_once(size_t threads, double *ms) {
  pthread_t tid[NDPAR_MAX_THREADS];
  double out[NDPAR_MAX_THREADS];
  size_t started = 0;
  double t0 = ndpar_time_now();
  while (started < threads && pthread_create(&tid[started], NULL, reference_loop, &out[started]) == 0)
    started++;
  for (size_t i = 0; i < started; i++) pthread_join(tid[i], NULL);
  *ms = 1e3 * (ndpar_time_now() - t0);
  return started < threads;
}

int sb_reference_time(sb_reference *ref, size_t warmup, size_t runs) {
  if (ref->threads == 0) ref->threads = ndpar_physical_cores();
  if (ref->threads > NDPAR_MAX_THREADS) ref->threads = NDPAR_MAX_THREADS;
  double ms;
  for (size_t w = 0; w < warmup; w++)
    if (reference_once(ref->threads, &ms)) {
      fprintf(stderr, "scalebench: the reference kernel's threads cannot start\n");
      return 1;
    }
  double *grown = realloc(ref->samples, (ref->repeats + runs + 1) * sizeof *grown);
  if (grown == NULL) {
    fprintf(stderr, "scalebench: out of memory timing the reference kernel\n");
    return 1;
  }
  ref->samples = grown;
  for (size_t r = 0; r < runs; r++) {
    if (reference_once(ref->threads, &ms)) {
      fprintf(stderr, "scalebench: the reference kernel's threads cannot start\n");
      return 1;
    }
    ref->samples[ref->repeats++] = ms;
  }
  return 0;
}
