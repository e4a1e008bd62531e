/* scalebench.h: what the scalebench tool's two files share. */
#ifndef NDPAR_SCALEBENCH_H
#define NDPAR_SCALEBENCH_H

#include <stdio.h>

#include "ref/kernels.h"
#include "ndpar/ndpar_scalability.h"

#define SB_MAX_POINTS 64
#define SB_MAX_WORKLOADS 16

/* One workload's results. */
typedef struct {
  const char *name;
  char desc[96];
  ndpar_scal_point pts[SB_MAX_POINTS];
  size_t npts;
  double seq_ms;   /* the sequential loop's median */
  double omp_ms;   /* --openmp: OpenMP's median at the parallel point (0: not run) */
  double ndpar_ms; /* --openmp: ndpar's median there, timed alternately with OpenMP */
  size_t par_index; /* the point the operation table reports: the most threads <= cores */
  /* Amdahl fit over the points within the physical cores (fit_ok 0: fewer than two). */
  int fit_ok;
  double fit_f, fit_smax, fit_res;
  size_t fit_n;
} sb_result;

/* The command line. */
typedef struct {
  size_t threads[SB_MAX_POINTS], nthreads;
  const wl_kernel *kernels[SB_MAX_WORKLOADS];
  size_t nkernels;
  wl_params params;
  ndpar_scal_config scal;
  const char *csv, *json, *plot, *save_baseline, *baseline;
  int openmp, quiet;
  int help, version; /* --help, --version: the caller prints and exits */
} sb_options;

/* Parses the options (defaults first). Bad usage goes to sb_usage_error. */
void sb_parse_args(int argc, char **argv, sb_options *o);

/* Prints "scalebench: <message>" on stderr and exits with status 2 (bad usage or input). */
void sb_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Output files, each written to a temporary name beside it and renamed, so a failure never
 * leaves a half-written file. Return 0, or 1 with a message on stderr. */
int sb_write_csv(const char *path, const sb_result *r, size_t n);
int sb_write_json(const char *path, const sb_result *r, size_t n);
int sb_save_baseline(const char *name, const sb_result *r, size_t n);
/* A saved baseline, read and checked before the run. */
typedef struct {
  char workload[64];
  size_t threads;
  double median_ms, mad_ms;
} sb_saved_point;

typedef struct {
  sb_saved_point *pts;
  size_t n;
} sb_baseline;

/* Reads the baseline NAME: a regular text file of at most SB_BASELINE_MAX bytes, with
 * scalebench's CSV header and at least one point, every point a known thread count and
 * positive, finite times. Anything else (a device such as /dev/zero, binary data, an
 * empty or header-only file, NaN or negative times) is a usage error: one line, exit 2. */
#define SB_BASELINE_MAX ((size_t)1 << 20)
void sb_load_baseline(const char *name, sb_baseline *b);
void sb_baseline_free(sb_baseline *b);

/* Prints the change against a saved baseline per point, flagging changes larger than the
 * noise of the two runs (2 x the sum of their MADs). */
void sb_compare_baseline(FILE *out, const char *name, const sb_baseline *b, const sb_result *r,
                         size_t n);

/* Checks that an output file can be written, before any work: the path is not an existing
 * non-regular file (a device, a folder) and a file can be created in its folder (tried,
 * then removed: permission bits alone do not bind root). Usage error otherwise. */
void sb_check_writable(const char *opt, const char *path);
/* Speedup against threads with the ideal line and the Amdahl fit, through gnuplot. */
int sb_gnuplot_available(void);
int sb_plot(const char *path, const sb_result *r, size_t n);
/* The baseline's file: $SCALEBENCH_BASELINE_DIR (default .scalebench)/NAME.csv. */
void sb_baseline_path(const char *name, char *path, size_t size);

#endif
