/* scalebench.h: what the scalebench tool's two files share. */
#ifndef NDPAR_SCALEBENCH_H
#define NDPAR_SCALEBENCH_H

#include <stdio.h>

#include "ref/kernels.h"
#include "ndpar/ndpar_scalability.h"

#define SB_MAX_POINTS 64
#define SB_MAX_WORKLOADS 16
#define SB_MAX_PLOTS 4

/* One workload's results. */
typedef struct {
  const char *name;
  char desc[96];
  ndpar_scal_point pts[SB_MAX_POINTS];
  size_t npts;
  double *samples;  /* every timed run: samples[i * repeats + r] for pts[i] (owned) */
  size_t repeats;
  double seq_ms;   /* the sequential loop's median */
  double omp_ms;   /* --openmp: OpenMP's median at the parallel point (0: not run) */
  double ndpar_ms; /* --openmp: ndpar's median there, timed alternately with OpenMP */
  size_t par_index; /* the point the operation table reports: the most threads <= cores */
  /* Amdahl fit over the points within the physical cores (fit_ok 0: fewer than two). With
   * three or more such points (fit_n >= 3), fit_lo..fit_hi is the 95% interval of f. */
  int fit_ok;
  double fit_f, fit_smax, fit_res, fit_lo, fit_hi;
  size_t fit_n;
} sb_result;

/* The reference kernel: a fixed chain of dependent multiplications run on every physical core
 * at once (plain threads, no ndpar code), timed between the workloads of every run and saved
 * with a baseline, so that a change of the machine's own speed (load on any core, frequency)
 * shows as such. */
#define SB_REFERENCE "reference"
typedef struct {
  double *samples; /* the timed runs (owned) */
  size_t repeats;  /* how many */
  size_t threads;  /* the threads it ran on: the physical cores */
} sb_reference;
/* Runs it warmup times untimed, then appends runs timed runs. 0, or 1 when out of memory or
 * a thread cannot start (a message on stderr). */
int sb_reference_time(sb_reference *ref, size_t warmup, size_t runs);

/* The command line. */
typedef struct {
  size_t threads[SB_MAX_POINTS], nthreads;
  const wl_kernel *kernels[SB_MAX_WORKLOADS];
  size_t nkernels;
  wl_params params;
  ndpar_scal_config scal;
  const char *csv, *json, *markdown, *save_baseline, *baseline;
  const char *plots[SB_MAX_PLOTS]; /* --plot, once per file: the same plot as .svg and .png */
  size_t nplots;
  double significance;    /* --significance: the change test's level (default 0.01) */
  double noise_threshold; /* --noise-threshold: smallest relative change flagged (default 0.05) */
  int openmp, quiet;
  int help, version; /* --help, --version: the caller prints and exits */
} sb_options;

#define SB_SIGNIFICANCE 0.01
#define SB_NOISE_THRESHOLD 0.05

/* Parses the options (defaults first). Bad usage goes to sb_usage_error. */
void sb_parse_args(int argc, char **argv, sb_options *o);

/* Prints "scalebench: <message>" on stderr and exits with status 2 (bad usage or input). */
void sb_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* A file written whole or not at all: to a temporary beside path, renamed by
 * sb_atomic_close when every write succeeded. Both return 0, or 1 with a message on stderr. */
typedef struct {
  FILE *f;
  char tmp[4200];
  const char *path;
} sb_atomic_file;
int sb_atomic_open(sb_atomic_file *a, const char *path);
int sb_atomic_close(sb_atomic_file *a);

/* Output files, each written to a temporary name beside it and renamed, so a failure never
 * leaves a half-written file. Return 0, or 1 with a message on stderr. */
int sb_write_csv(const char *path, const sb_result *r, size_t n);
int sb_write_json(const char *path, const sb_result *r, size_t n);
int sb_write_markdown(const char *path, const sb_result *r, size_t n);
/* The baseline NAME: every timed run (workload,threads,run,ms), the reference kernel's under
 * the workload "reference", so that a later run can test a change over the raw runs. */
int sb_save_baseline(const char *name, const sb_result *r, size_t n, const sb_reference *ref);
/* A saved baseline: one entry per timed run, read and checked before the run. */
typedef struct {
  char workload[64];
  size_t threads;
  double ms; /* the run's time */
} sb_saved_point;

typedef struct {
  sb_saved_point *pts;
  size_t n;
} sb_baseline;

/* Reads the baseline NAME: a regular text file of at most SB_BASELINE_MAX bytes, with the
 * header SB_BASELINE_HEADER and at least one run, every run of a known thread count and a
 * positive, finite time. Anything else (a device such as /dev/zero, binary data, an empty
 * or header-only file, NaN or negative times, a baseline of an older scalebench that kept
 * no runs) is a usage error: one line, exit 2. */
#define SB_BASELINE_MAX ((size_t)1 << 22)
#define SB_BASELINE_HEADER "workload,threads,run,ms"
void sb_load_baseline(const char *name, sb_baseline *b);
void sb_baseline_free(sb_baseline *b);

/* Prints the change against a saved baseline per point: a point is flagged FASTER or
 * SLOWER only when the Mann-Whitney test over the two runs' raw times gives p below
 * o->significance and the medians differ by more than o->noise_threshold; "no change"
 * otherwise. The reference kernel is compared first: a change there is the machine's.
 * Returns the number of points flagged. */
size_t sb_compare_baseline(FILE *out, const sb_options *o, const sb_baseline *b,
                           const sb_result *r, size_t n, const sb_reference *ref);

/* Checks that an output file can be written, before any work: the path is not an existing
 * non-regular file (a device, a folder) and a file can be created in its folder (tried,
 * then removed: permission bits alone do not bind root). Usage error otherwise. */
void sb_check_writable(const char *opt, const char *path);
/* Small multiples through gnuplot: one panel per workload (speedup with its interval, the
 * ideal line, the Amdahl curve only where the fit predicts something), and one panel of
 * every workload's efficiency. */
int sb_gnuplot_available(void);
int sb_plot(const char *path, const sb_result *r, size_t n);
/* The baseline's file: $SCALEBENCH_BASELINE_DIR (default .scalebench)/NAME.csv. */
void sb_baseline_path(const char *name, char *path, size_t size);

#endif
