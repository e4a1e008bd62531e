/* kernels.h: the reference workloads as runnable kernels, each three ways (sequential loop,
 * ndpar, OpenMP) on the same data: shared by the benchmarks and the scalebench tool.
 * Built with -fopenmp into the internal reference library, libndpar_ref.a; not part of
 * ndpar's API. */
#ifndef NDPAR_REF_KERNELS_H
#define NDPAR_REF_KERNELS_H

#include <stddef.h>

#include <gsl/gsl_matrix.h>

#include "ndpar/ndpar_pool.h"

typedef struct {
  size_t batches;    /* input batches (0: the kernel's default) */
  size_t rows;       /* rows per batch (0: default) */
  size_t members;    /* ensemble members (0: default) */
  size_t samples;    /* MC samples per batch (0: default) */
  int deterministic; /* grad: NDPAR_REDUCE_DETERMINISTIC instead of FAST */
  const char *data_dir; /* NULL: wl_data_dir's default */
} wl_params;

typedef struct {
  const char *name; /* batch, mc, grad, ensemble, ... */
  const char *what; /* one line for --help */
  /* Loads the data and builds the models; NULL with a message in err on failure. */
  void *(*setup)(const wl_params *p, char *err, size_t errlen);
  void (*teardown)(void *state);
  int (*run_seq)(void *state);
  int (*run_ndpar)(ndpar_pool *pool, void *state);
  int (*run_omp)(size_t threads, void *state);
  const char *(*describe)(void *state); /* e.g. "100 batches x 64 rows" */
} wl_kernel;

/* z-score of every column of x in place (fit: two passes, then transform): the plain
 * sequential loop and the same under OpenMP, for comparison with ndpar's scaler. */
void wl_zscore_seq(gsl_matrix *x);
void wl_zscore_omp(gsl_matrix *x, size_t threads);

/* The streaming forecast (kernel_pipeline.c): `batches` is the CSV's size in MiB. */
void *wl_pipeline_setup(const wl_params *p, char *err, size_t errlen);
void wl_pipeline_teardown(void *state);
int wl_pipeline_seq(void *state);
int wl_pipeline_ndpar(ndpar_pool *pool, void *state);
int wl_pipeline_omp(size_t threads, void *state);
const char *wl_pipeline_describe(void *state);

/* The kernels, terminated by a zeroed entry. */
extern const wl_kernel wl_kernels[];
const wl_kernel *wl_kernel_find(const char *name);
/* Non-zero for a kernel that runs only when named (too long for `all`: the 512 MB stream). */
int wl_kernel_on_request(const wl_kernel *k);

#endif
