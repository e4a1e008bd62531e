/* preprocess.c: column statistics (blocked two-pass, Chan merge), scalers, chunk callbacks. */
#include "ndpar/ndpar_preprocess.h"
#include "ndpar_internal.h"
#include "preprocess/preprocess_internal.h"

#include <gsl/gsl_math.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Rows are cut into blocks of about BLOCK_VALUES values (16 KiB of doubles: a block stays
 * in L1 between its two passes) and blocks into tasks of about TASK_VALUES (512 KiB): a task
 * merges its blocks in order, the caller merges the tasks in order. Both cuts depend on the
 * shape alone, never on the threads, so the statistics are the same bits at any thread
 * count. (One moments record per task, not per block, keeps the table the workers write and
 * the caller's sequential merge small: 3.9 k records for 4M x 8 rows.) */
#define BLOCK_VALUES 2048
#define TASK_VALUES 65536

/* Statistics of one column over one block or task, or over everything merged so far. */
typedef struct {
  double n, mean, m2, min, max;
  double comp; /* the second pass's sum of deviations (see block_correct) */
  int scale_log2; /* m2 is that of the values times 2^scale_log2 (0 unless rescue_extremes) */
} moments;

/* The sample sd (divisor n - 1) of a column's moments; 0 for one value, NaN for none. */
static double moments_sd(const moments *m) {
  if (m->n < 2) return m->n == 1 ? 0.0 : GSL_NAN;
  return ldexp(sqrt(m->m2 / (m->n - 1)), -m->scale_log2);
}

typedef struct {
  const gsl_matrix *x;
  const double *shift; /* per column: sums run on x - shift (see column_moments) */
  ndpar_slots scratch; /* per worker: see worker_scratch */
  int ignore, minmax_only;
  size_t block_rows, task_rows, ntasks;
  moments *ts;        /* ntasks x cols */
  size_t *bad_row, *bad_col; /* per task: its first non-finite value (when not ignored) */
} stats_ctx;

/* A worker's scratch: the block's accumulators and the task's running moments, one array
 * per quantity (the kernels vectorise over columns), and a block's moments on the careful
 * path. Per worker and padded: accumulating into shared arrays instead cost a load and a
 * store per value and cache lines bouncing between workers (slower on 2 threads than on 1,
 * measured). */
#define SCRATCH_DOUBLES 15 /* per column: 2 x 5 accumulators (two blocks), 5 running moments */
typedef struct {
  block_acc acc[2];
  block_run run;
  moments *careful;
} worker_scratch;

static size_t scratch_bytes(size_t cols) { return cols * (SCRATCH_DOUBLES * sizeof(double) + sizeof(moments)); }

static worker_scratch scratch_at(const ndpar_slots *scratch, unsigned worker, size_t cols) {
  double *a = ndpar_slots_at(scratch, worker);
  return (worker_scratch){{{a, a + cols, a + 2 * cols, a + 3 * cols, a + 4 * cols},
                           {a + 5 * cols, a + 6 * cols, a + 7 * cols, a + 8 * cols, a + 9 * cols}},
                          {a + 10 * cols, a + 11 * cols, a + 12 * cols, a + 13 * cols, a + 14 * cols},
                          (moments *)(a + SCRATCH_DOUBLES * cols)};
}

/* The corrected two-pass block moments (see blocks.c) of the careful path. */
static void block_correct(moments *m, size_t cols) {
  for (size_t j = 0; j < cols; j++)
    if (m[j].n > 0) {
      m[j].m2 -= m[j].comp * m[j].comp / m[j].n;
      m[j].mean += m[j].comp / m[j].n;
    }
}

/* The careful path for a block holding NaN or Inf (or finite values whose sum overflows):
 * skip them (ignore) or find the first; the block's moments into m. */
static int block_nonfinite(stats_ctx *c, size_t task, size_t r0, size_t r1, moments *m) {
  const gsl_matrix *x = c->x;
  for (size_t r = r0; r < r1; r++)
    for (size_t j = 0; j < x->size2 && !c->ignore; j++)
      if (!isfinite(gsl_matrix_get(x, r, j))) {
        c->bad_row[task] = r;
        c->bad_col[task] = j;
        return GSL_EDOM;
      }
  for (size_t j = 0; j < x->size2; j++) m[j] = (moments){0, 0, 0, GSL_POSINF, GSL_NEGINF, 0, 0};
  for (size_t r = r0; r < r1; r++)
    for (size_t j = 0; j < x->size2; j++) {
      double v = gsl_matrix_get(x, r, j);
      if (!isfinite(v)) continue;
      m[j].n += 1;
      m[j].mean += v - c->shift[j];
      m[j].min = GSL_MIN(v, m[j].min);
      m[j].max = GSL_MAX(v, m[j].max);
    }
  for (size_t j = 0; j < x->size2; j++) m[j].mean = m[j].n > 0 ? m[j].mean / m[j].n : 0;
  for (size_t r = r0; r < r1 && !c->minmax_only; r++)
    for (size_t j = 0; j < x->size2; j++) {
      double v = gsl_matrix_get(x, r, j);
      if (!isfinite(v)) continue;
      double d = (v - c->shift[j]) - m[j].mean;
      m[j].m2 += d * d;
      m[j].comp += d;
    }
  block_correct(m, x->size2);
  return GSL_SUCCESS;
}

/* One task: its blocks in order, each merged into the task's moments, stored in c->ts. */
static int task_moments(const ndpar_task *t, void *vc) {
  stats_ctx *c = vc;
  size_t k = t->index, cols = c->x->size2, r0 = k * c->task_rows;
  size_t r1 = r0 + c->task_rows < c->x->size1 ? r0 + c->task_rows : c->x->size1;
  worker_scratch s = scratch_at(&c->scratch, t->worker, cols);
  block_run_reset(s.run, cols);
  for (size_t b0 = r0; b0 < r1;) {
    b0 = blocks_fast(c->x, c->shift, b0, r1, c->block_rows, c->minmax_only, s.acc, s.run);
    if (b0 == r1) break;
    size_t b1 = b0 + c->block_rows < r1 ? b0 + c->block_rows : r1;
    int status = block_nonfinite(c, k, b0, b1, s.careful);
    if (status) return status;
    for (size_t j = 0; j < cols; j++) {
      const moments *m = &s.careful[j];
      block_run_merge(s.run, j, m->n, m->mean, m->m2, m->min, m->max);
    }
    b0 = b1;
  }
  moments *out = c->ts + k * cols;
  for (size_t j = 0; j < cols; j++)
    out[j] = (moments){s.run.n[j], s.run.mean[j], s.run.m2[j], s.run.mn[j], s.run.mx[j], 0, 0};
  return GSL_SUCCESS;
}

/* Chan, Golub, LeVeque (1979): the moments of a union from those of its two parts. */
static void merge(moments *a, const moments *b) {
  if (b->n == 0) return;
  if (a->n == 0) {
    *a = *b;
    return;
  }
  double n = a->n + b->n, delta = b->mean - a->mean;
  a->mean += delta * (b->n / n);
  a->m2 += b->m2 + delta * delta * (a->n * b->n / n);
  a->n = n;
  a->min = GSL_MIN(a->min, b->min);
  a->max = GSL_MAX(a->max, b->max);
}

/* A column's first finite value: the shift its sums run on. Data at 1e9 + noise carry
 * only 1e-7 absolute precision in their sums; x - shift is exact (Sterbenz's lemma, for
 * values within a factor 2 of the shift), so every sum runs on numbers of the data's
 * spread instead: the sd of 1e9 + N(0, 1) comes out to 1e-16 instead of 1e-10 (GSL's
 * two-pass functions, on such data). */
static void column_shifts(const gsl_matrix *x, double *shift) {
  for (size_t j = 0; j < x->size2; j++) {
    shift[j] = 0;
    for (size_t r = 0; r < x->size1; r++)
      if (isfinite(gsl_matrix_get(x, r, j))) {
        shift[j] = gsl_matrix_get(x, r, j);
        break;
      }
  }
}

/* ---- the workspace ---- */

struct ndpar_preprocess_workspace {
  ndpar_pool *pool;
  size_t rows, cols, block_rows, task_rows, ntasks;
  double *shift;              /* cols */
  double *mean_rel;           /* cols: the merged mean of x - shift (partial_fit merges on it) */
  moments *ts, *merged;       /* ntasks x cols; cols */
  size_t *bad_row, *bad_col;  /* ntasks */
  ndpar_slots scratch;        /* per worker: scratch_bytes(cols) */
};

void ndpar_preprocess_workspace_free(ndpar_preprocess_workspace *w) {
  if (w == NULL) return;
  ndpar_slots_free(&w->scratch);
  free(w->shift);
  free(w->mean_rel);
  free(w->ts);
  free(w->merged);
  free(w->bad_row);
  free(w->bad_col);
  free(w);
}

/* The sizes: rows of BLOCK_VALUES / cols (at least 1) per block, blocks of TASK_VALUES per
 * task (at least 1); GSL_EINVAL if the task table's or the scratch's bytes would overflow. */
static int workspace_shape(ndpar_preprocess_workspace *w, size_t rows, size_t cols) {
  w->rows = rows;
  w->cols = cols;
  w->block_rows = BLOCK_VALUES / cols ? BLOCK_VALUES / cols : 1;
  size_t blocks_per_task = TASK_VALUES / (w->block_rows * cols);
  w->task_rows = w->block_rows * (blocks_per_task ? blocks_per_task : 1);
  w->ntasks = ndpar_rows_nbatches(rows, w->task_rows);
  if (w->ntasks > SIZE_MAX / sizeof(moments) / cols || cols > SIZE_MAX / scratch_bytes(1))
    NDPAR_ERROR_FMT(GSL_EINVAL, "preprocess_workspace_alloc: rows x cols = %zu x %zu is too large", rows, cols);
  return GSL_SUCCESS;
}

ndpar_preprocess_workspace *ndpar_preprocess_workspace_alloc(ndpar_pool *pool, size_t rows,
                                                             size_t cols) {
  NDPAR_REQUIRE_NULL(rows > 0 && cols > 0,
                     "preprocess_workspace_alloc: rows and cols must be positive", GSL_EINVAL);
  if (pool == NULL && (pool = ndpar_pool_default()) == NULL) return NULL;
  ndpar_preprocess_workspace *w = calloc(1, sizeof *w);
  if (w == NULL) GSL_ERROR_NULL("preprocess_workspace_alloc: out of memory", GSL_ENOMEM);
  w->pool = pool;
  if (workspace_shape(w, rows, cols)) {
    free(w);
    return NULL;
  }
  w->shift = malloc(cols * sizeof *w->shift);
  w->mean_rel = malloc(cols * sizeof *w->mean_rel);
  w->ts = malloc(w->ntasks * cols * sizeof *w->ts);
  w->merged = malloc(cols * sizeof *w->merged);
  w->bad_row = malloc(w->ntasks * sizeof *w->bad_row);
  w->bad_col = malloc(w->ntasks * sizeof *w->bad_col);
  int ok = w->shift && w->mean_rel && w->ts && w->merged && w->bad_row && w->bad_col &&
           ndpar_slots_alloc(&w->scratch, ndpar_pool_threads(pool), scratch_bytes(cols)) == GSL_SUCCESS;
  if (!ok) {
    ndpar_preprocess_workspace_free(w);
    GSL_ERROR_NULL("preprocess_workspace_alloc: out of memory", GSL_ENOMEM);
  }
  return w;
}

/* An internal flag beside the public ones: min and max (and the count) are all the caller
 * needs, so the blocks skip their second pass (the range scalers' fit). */
#define MINMAX_ONLY 0x100

/* The merged moments of every column into w->merged, or a GSL error. x fits w. */
static int column_moments(ndpar_preprocess_workspace *w, const gsl_matrix *x, int flags) {
  stats_ctx c = {.x = x, .shift = w->shift, .scratch = w->scratch,
                 .ignore = flags & NDPAR_PREPROCESS_IGNORE_NONFINITE,
                 .minmax_only = (flags & MINMAX_ONLY) != 0, .block_rows = w->block_rows,
                 .task_rows = w->task_rows, .ntasks = w->ntasks, .ts = w->ts,
                 .bad_row = w->bad_row, .bad_col = w->bad_col};
  column_shifts(x, w->shift);
  size_t failed = 0;
  int status = ndpar_pool_run_ex(w->pool, c.ntasks, task_moments, &c, &failed);
  moments *out = w->merged;
  if (status == GSL_SUCCESS) {
    for (size_t j = 0; j < x->size2; j++) out[j] = (moments){0, 0, 0, GSL_NAN, GSL_NAN, 0, 0};
    for (size_t k = 0; k < c.ntasks; k++) /* in task order: deterministic */
      for (size_t j = 0; j < x->size2; j++) merge(&out[j], &c.ts[k * x->size2 + j]);
    for (size_t j = 0; j < x->size2; j++) {
      w->mean_rel[j] = out[j].mean;
      out[j].mean += w->shift[j];
    }
  } else if (status == GSL_EDOM) {
    size_t r = c.bad_row[failed], k = c.bad_col[failed];
    ndpar_error_fmt(GSL_EDOM, __FILE__, __LINE__, "preprocess: x[%zu][%zu] (row %zu, column %zu) is %g",
                    r, k, r, k, gsl_matrix_get(x, r, k));
  }
  return status;
}

/* 1 if a column's sums may have overflowed (values near the ends of the double range: a
 * non-finite mean or m2 from finite values) or its squares underflowed (all values below
 * 2^-500 in magnitude). */
static int needs_rescue(const moments *m) {
  double max_abs = GSL_MAX(fabs(m->min), fabs(m->max));
  return m->n > 0 && (!isfinite(m->mean) || !isfinite(m->m2) || (max_abs > 0 && max_abs < 0x1p-500));
}

/* The columns whose sums left the double range, again on a copy scaled by a power of two
 * (exact) into [1, 2) at their largest magnitude: the mean is scaled back, m2 kept in the
 * scaled units (scale_log2), so that an sd is representable whenever the true one is. Rare
 * (data near the ends of the double range): the one path that allocates beside the
 * workspace, a copy of those columns only and a workspace for it. */
static int rescue_extremes(ndpar_preprocess_workspace *w, const gsl_matrix *x, int flags) {
  moments *out = w->merged;
  size_t k = 0;
  for (size_t j = 0; j < x->size2; j++) k += needs_rescue(&out[j]);
  if (k == 0) return GSL_SUCCESS;
  size_t *col = malloc(k * sizeof *col);
  int *unit = malloc(k * sizeof *unit); /* column col[i] is scaled by 2^unit[i] */
  gsl_matrix *scaled = col && unit ? gsl_matrix_alloc(x->size1, k) : NULL;
  ndpar_preprocess_workspace *ws = scaled ? ndpar_preprocess_workspace_alloc(w->pool, x->size1, k) : NULL;
  if (ws == NULL) {
    free(col);
    free(unit);
    gsl_matrix_free(scaled);
    GSL_ERROR("preprocess: out of memory", GSL_ENOMEM);
  }
  for (size_t j = 0, i = 0; j < x->size2; j++)
    if (needs_rescue(&out[j])) {
      col[i] = j;
      unit[i++] = ndpar_pow2_exponent(GSL_MAX(fabs(out[j].min), fabs(out[j].max)));
    }
  for (size_t r = 0; r < x->size1; r++)
    for (size_t i = 0; i < k; i++)
      gsl_matrix_set(scaled, r, i, ldexp(gsl_matrix_get(x, r, col[i]), unit[i]));
  int status = column_moments(ws, scaled, flags);
  for (size_t i = 0; status == GSL_SUCCESS && i < k; i++) {
    moments *o = &out[col[i]];
    o->mean = ldexp(ws->merged[i].mean, -unit[i]);
    o->m2 = ws->merged[i].m2;
    o->scale_log2 = unit[i];
  }
  ndpar_preprocess_workspace_free(ws);
  gsl_matrix_free(scaled);
  free(col);
  free(unit);
  return status;
}

/* column_moments, then rescue_extremes: the moments every caller uses (in w->merged); min
 * and max alone need no rescue. */
static int column_moments_safe(ndpar_preprocess_workspace *w, const gsl_matrix *x, int flags) {
  int status = column_moments(w, x, flags);
  return status || (flags & MINMAX_ONLY) ? status : rescue_extremes(w, x, flags);
}

static int check_matrix(const char *who, const gsl_matrix *x) {
  if (x == NULL) NDPAR_ERROR_FMT(GSL_EFAULT, "%s: x is NULL", who);
  if (x->size1 == 0 || x->size2 == 0)
    NDPAR_ERROR_FMT(GSL_EBADLEN, "%s: x is empty (%zu x %zu)", who, x->size1, x->size2);
  return GSL_SUCCESS;
}

static int check_out(const char *name, const gsl_vector *v, size_t cols) {
  if (v != NULL && v->size != cols)
    NDPAR_ERROR_FMT(GSL_EBADLEN, "colstats: %s has %zu entries, x has %zu columns", name, v->size, cols);
  return GSL_SUCCESS;
}

static int check_colstats(const gsl_matrix *x, int flags, const gsl_vector *mean,
                          const gsl_vector *sd, const gsl_vector *min, const gsl_vector *max) {
  int status = check_matrix("colstats", x);
  if (status) return status;
  NDPAR_REQUIRE((flags & ~NDPAR_PREPROCESS_IGNORE_NONFINITE) == 0, "colstats: unknown flags", GSL_EINVAL);
  size_t cols = x->size2;
  if ((status = check_out("mean", mean, cols)) || (status = check_out("sd", sd, cols)) ||
      (status = check_out("min", min, cols)) || (status = check_out("max", max, cols)))
    return status;
  static const char *const names[] = {"mean", "sd", "min", "max"};
  const gsl_vector *const outs[] = {mean, sd, min, max};
  return ndpar_check_distinct_vectors("colstats", names, outs, 4);
}

int ndpar_colstats_ws(ndpar_preprocess_workspace *w, const gsl_matrix *x, int flags,
                      gsl_vector *mean, gsl_vector *sd, gsl_vector *min, gsl_vector *max) {
  NDPAR_REQUIRE(w != NULL, "colstats_ws: w is NULL", GSL_EFAULT);
  int status = check_colstats(x, flags, mean, sd, min, max);
  if (status) return status;
  if (x->size1 != w->rows || x->size2 != w->cols)
    NDPAR_ERROR_FMT(GSL_EBADLEN, "colstats_ws: x is %zu x %zu, the workspace %zu x %zu", x->size1,
                    x->size2, w->rows, w->cols);
  status = column_moments_safe(w, x, flags);
  const moments *m = w->merged;
  for (size_t j = 0; status == GSL_SUCCESS && j < w->cols; j++) {
    double n = m[j].n;
    if (mean) gsl_vector_set(mean, j, n > 0 ? m[j].mean : GSL_NAN);
    if (sd) gsl_vector_set(sd, j, moments_sd(&m[j]));
    if (min) gsl_vector_set(min, j, m[j].min);
    if (max) gsl_vector_set(max, j, m[j].max);
  }
  return status;
}

/* A workspace for x on p; the GSL code of the failure in *status (already reported). */
static ndpar_preprocess_workspace *workspace_for(ndpar_pool *p, const gsl_matrix *x, int *status) {
  if (p == NULL && (p = ndpar_pool_default()) == NULL) {
    *status = GSL_EFAILED; /* the default pool could not start */
    return NULL;
  }
  ndpar_preprocess_workspace *w = ndpar_preprocess_workspace_alloc(p, x->size1, x->size2);
  *status = w ? GSL_SUCCESS : GSL_ENOMEM;
  return w;
}

int ndpar_colstats(ndpar_pool *p, const gsl_matrix *x, int flags, gsl_vector *mean,
                   gsl_vector *sd, gsl_vector *min, gsl_vector *max) {
  int status = check_colstats(x, flags, mean, sd, min, max);
  if (status) return status;
  ndpar_preprocess_workspace *w = workspace_for(p, x, &status);
  if (w) status = ndpar_colstats_ws(w, x, flags, mean, sd, min, max);
  ndpar_preprocess_workspace_free(w);
  return status;
}

/* ---- scalers ---- */

/* Per column the transform is (x - center) * inv_scale; for a column near the ends of the
 * double range (careful) it is (pre x - pre center) / den instead: pre = 1/2 where
 * max - min overflows (so x - center might), den = pre * scale, or half where that is not
 * finite (a scale above DBL_MAX), and a division where 1/scale is not finite (a subnormal
 * scale). Everything after center, scale, min, max and half is derived from them alone
 * (derive_factors), so that a scaler rebuilt from its statistics by ndpar_scaler_set_stats
 * is the fitted one bit for bit. */
struct ndpar_scaler {
  ndpar_scale_kind kind;
  size_t cols;
  int flags, fitted, careful;
  int stream; /* what partial_fit can continue from: see enum below */
  gsl_vector *center, *scale; /* as ndpar_scaler_params gives them */
  gsl_vector *min, *max;      /* the column's range as fitted (NaN: unknown or no value) */
  gsl_vector *half;           /* half the scale, finite where the scale is not */
  double *inv_scale, *pre, *den;
  /* MINMAX1 only, per column: scikit-learn's y = x * mul + add (mul = 2 / (max - min),
   * add = -1 - min * mul), and the ends lo, hi mapped exactly to elo, ehi (-1 and 1; 0 and 0
   * for a constant column). One array of cols per field (mm_field), so that the transform's
   * loop over columns vectorises: interleaved per column it ran at 3x the memory floor. */
  double *mm;
  moments *run; /* per column: the moments of every row fitted so far (partial_fit) */
  /* per column: run's mean as the mean of x - run_shift (run_rel), so that partial_fit
   * merges on values of the data's spread, as the fit's blocks do (see column_shifts) */
  double *run_shift, *run_rel;
};

/* What partial_fit continues from: nothing (unfitted, ROBUST, or set_stats without what it
 * needs), the range (count > 0, min and max: the range scalers), or every moment (fit). */
enum { STREAM_NONE, STREAM_RANGE, STREAM_MOMENTS };

enum { MM_LO, MM_HI, MM_MUL, MM_ADD, MM_ELO, MM_EHI, MM_FIELDS };

static double *mm_field(const ndpar_scaler *s, int field) { return s->mm + (size_t)field * s->cols; }

ndpar_scaler *ndpar_scaler_alloc(ndpar_scale_kind kind, size_t cols) {
  NDPAR_REQUIRE_NULL(cols > 0, "scaler_alloc: cols must be positive", GSL_EINVAL);
  NDPAR_REQUIRE_NULL(kind >= NDPAR_SCALE_STANDARD && kind <= NDPAR_SCALE_MAXABS,
                     "scaler_alloc: unknown kind", GSL_EINVAL);
  size_t bytes; /* gsl_vector_calloc multiplies its size unchecked */
  NDPAR_REQUIRE_NULL(ndpar_size_mul(cols, sizeof(double), &bytes),
                     "scaler_alloc: cols is too large (its size overflows)", GSL_EINVAL);
  ndpar_scaler *s = calloc(1, sizeof *s);
  if (s) {
    s->kind = kind;
    s->cols = cols;
    s->center = gsl_vector_calloc(cols);
    s->scale = gsl_vector_calloc(cols);
    s->min = gsl_vector_calloc(cols);
    s->max = gsl_vector_calloc(cols);
    s->half = gsl_vector_calloc(cols);
    s->run = calloc(cols, sizeof *s->run);
    s->run_shift = calloc(cols, sizeof *s->run_shift);
    s->run_rel = calloc(cols, sizeof *s->run_rel);
    s->inv_scale = calloc(cols, sizeof *s->inv_scale);
    s->pre = calloc(cols, sizeof *s->pre);
    s->den = calloc(cols, sizeof *s->den);
    s->mm = cols <= SIZE_MAX / MM_FIELDS / sizeof(double) ? calloc(cols * MM_FIELDS, sizeof(double))
                                                            : NULL;
  }
  int ok = s && s->center && s->scale && s->min && s->max && s->half && s->run && s->run_shift &&
           s->run_rel && s->inv_scale && s->pre && s->den && s->mm;
  if (!ok) {
    ndpar_scaler_free(s);
    GSL_ERROR_NULL("scaler_alloc: out of memory", GSL_ENOMEM);
  }
  return s;
}

void ndpar_scaler_free(ndpar_scaler *s) {
  if (s == NULL) return;
  gsl_vector_free(s->center);
  gsl_vector_free(s->scale);
  gsl_vector_free(s->min);
  gsl_vector_free(s->max);
  gsl_vector_free(s->half);
  free(s->run);
  free(s->run_shift);
  free(s->run_rel);
  free(s->inv_scale);
  free(s->pre);
  free(s->den);
  free(s->mm);
  free(s);
}

int ndpar_scaler_set_flags(ndpar_scaler *s, int flags) {
  NDPAR_REQUIRE(s != NULL, "scaler_set_flags: s is NULL", GSL_EFAULT);
  NDPAR_REQUIRE((flags & ~(NDPAR_PREPROCESS_IGNORE_NONFINITE | NDPAR_PREPROCESS_SKLEARN)) == 0,
                "scaler_set_flags: unknown flags", GSL_EINVAL);
  s->flags = flags;
  return GSL_SUCCESS;
}

/* (1 - d) a + d b, GSL's quantile interpolation, but exact where it need not round: a when
 * a == b (GSL's form rounds a subnormal constant, or any a at some d, to a neighbour, and
 * a constant column then got a median that is not its value), and, where b - a overflows,
 * numpy's lerp on the halves, a + d (b - a) for d < 1/2, b - (1 - d) (b - a) above, which is
 * exact on [-DBL_MAX, DBL_MAX] (GSL's form rounded the quartiles outward: an IQR above
 * DBL_MAX's and a transform of 1 + 2^-52). */
static double interpolate(double a, double b, double d) {
  if (a == b) return a;
  if (isfinite(b - a)) return (1 - d) * a + d * b;
  double ha = 0.5 * a, hb = 0.5 * b, half_diff = hb - ha;
  return 2 * (d < 0.5 ? ha + d * half_diff : hb - (1 - d) * half_diff);
}

/* The quantile f of data[0..n) as gsl_stats_quantile_from_sorted_data would give it after
 * sorting, found by selection (O(n)): the order statistic at floor(f (n - 1)), and the
 * least of those above it, which quickselect has left after it. */
static double quantile_by_select(double *data, size_t n, double f) {
  double idx = f * (double)(n - 1);
  size_t lhs = (size_t)idx;
  double delta = idx - (double)lhs, a = gsl_stats_select(data, 1, n, lhs);
  if (lhs + 1 >= n) return a;
  double b = data[lhs + 1];
  for (size_t i = lhs + 2; i < n; i++) b = GSL_MIN(b, data[i]);
  return interpolate(a, b, delta);
}

typedef struct {
  const gsl_matrix *x;
  ndpar_scaler *s;
  ndpar_slots column; /* per worker: one column's finite values */
} robust_ctx;

static int robust_task(const ndpar_task *t, void *vc) {
  robust_ctx *c = vc;
  size_t j = t->index, n = 0;
  double *v = ndpar_slots_at(&c->column, t->worker);
  for (size_t r = 0; r < c->x->size1; r++) {
    double y = gsl_matrix_get(c->x, r, j);
    if (isfinite(y)) v[n++] = y;
  }
  if (n == 0) {
    gsl_vector_set(c->s->center, j, GSL_NAN);
    gsl_vector_set(c->s->scale, j, GSL_NAN);
    return GSL_SUCCESS;
  }
  double q25 = quantile_by_select(v, n, 0.25), q75 = quantile_by_select(v, n, 0.75);
  gsl_vector_set(c->s->center, j, quantile_by_select(v, n, 0.5));
  gsl_vector_set(c->s->scale, j, q75 - q25);
  gsl_vector_set(c->s->half, j, 0.5 * q75 - 0.5 * q25); /* finite where q75 - q25 is not */
  return GSL_SUCCESS;
}

/* The middle of [lo, hi]: 0.5 (lo + hi) as long as the sum is finite, else without
 * overflow: lo + 0.5 (hi - lo) for values of one sign near DBL_MAX, or the halves' sum. */
static double minmax1_center(double lo, double hi) {
  if (isfinite(lo + hi)) return 0.5 * (lo + hi);
  if (isfinite(hi - lo)) return lo + 0.5 * (hi - lo);
  return 0.5 * lo + 0.5 * hi;
}

/* MINMAX1's scale of a column of range [lo, hi] that is not constant: half the range,
 * without overflow. */
static double minmax1_scale(double lo, double hi) {
  double scale = 0.5 * (hi - lo);
  return isfinite(scale) ? scale : 0.5 * hi - 0.5 * lo;
}

/* MINMAX1 as scikit-learn's MinMaxScaler(feature_range=(-1, 1)) computes it, with the ends
 * exact: its x * scale_ + min_ leaves the column's min and max a few ulps off -1 and 1 when
 * they are large (1e9: -0.99999998679706747). */
static void minmax1_params(ndpar_scaler *s, size_t j, double lo, double hi, int constant) {
  double range = constant ? 1.0 : hi - lo; /* scikit-learn counts a constant's range as 1 */
  mm_field(s, MM_LO)[j] = lo;
  mm_field(s, MM_HI)[j] = constant ? GSL_NAN : hi; /* a constant's max is no end: only min maps to -1 */
  mm_field(s, MM_MUL)[j] = 2.0 / range;
  mm_field(s, MM_ADD)[j] = -1.0 - lo * mm_field(s, MM_MUL)[j];
  mm_field(s, MM_ELO)[j] = -1.0;
  mm_field(s, MM_EHI)[j] = constant ? GSL_NAN : 1.0;
}

/* 1 if MINMAX1's center and scale of column j are those of a constant column of minimum lo
 * (center lo + 1/2, scale 1/2: see apply_conventions) rather than of the range [lo, hi]. A
 * fitted column is one or the other (set_stats checks that it is): a constant column's range
 * is below 10 eps, whose half is never 1/2. */
static int minmax1_constant(double center, double scale, double lo, double hi) {
  return !(scale == minmax1_scale(lo, hi) && center == minmax1_center(lo, hi));
}

/* The transform's factors of every column (see struct ndpar_scaler) from center, scale,
 * min, max and half alone: fit, partial_fit and set_stats all end here. */
static void derive_factors(ndpar_scaler *s) {
  s->careful = 0;
  for (size_t j = 0; j < s->cols; j++) {
    double center = gsl_vector_get(s->center, j), scale = gsl_vector_get(s->scale, j);
    double lo = gsl_vector_get(s->min, j), hi = gsl_vector_get(s->max, j);
    int range_overflows = isfinite(lo) && isfinite(hi) && !isfinite(hi - lo);
    s->pre[j] = range_overflows ? 0.5 : 1.0;
    s->den[j] = s->pre[j] * scale;
    if (!isfinite(s->den[j]) && range_overflows) s->den[j] = gsl_vector_get(s->half, j);
    s->inv_scale[j] = 1.0 / scale;
    s->careful |= range_overflows || (!isfinite(s->inv_scale[j]) && isfinite(scale));
    if (s->kind != NDPAR_SCALE_MINMAX1) continue;
    if (isnan(scale)) /* a column without a finite value */
      minmax1_params(s, j, GSL_NAN, GSL_NAN, 0);
    else
      minmax1_params(s, j, lo, hi, minmax1_constant(center, scale, lo, hi));
  }
}

/* A STANDARD column's sd from its moments (n >= 1), divisor n - 1 or (population) n, times
 * 2^extra: extra = -1 gives the finite half of an sd above DBL_MAX. */
static double standard_sd(const moments *m, int population, int extra) {
  double divisor = population ? m->n : m->n - 1;
  return ldexp(sqrt(m->m2 / divisor), extra - m->scale_log2);
}

/* center and scale from the moments, for every kind but robust (and MINMAX's half). */
static void params_from_moments(ndpar_scaler *s, const moments *m) {
  for (size_t j = 0; j < s->cols; j++) {
    double center = 0, scale = 1, n = m[j].n;
    switch (s->kind) {
      case NDPAR_SCALE_STANDARD:
        center = m[j].mean;
        scale = n > 1 ? moments_sd(&m[j]) : 0;
        break;
      case NDPAR_SCALE_MINMAX:
        center = m[j].min;
        scale = m[j].max - m[j].min;
        gsl_vector_set(s->half, j, 0.5 * m[j].max - 0.5 * m[j].min); /* finite where scale is not */
        break;
      case NDPAR_SCALE_MINMAX1:
        center = minmax1_center(m[j].min, m[j].max);
        scale = minmax1_scale(m[j].min, m[j].max);
        break;
      default: /* MAXABS */
        scale = GSL_MAX(fabs(m[j].min), fabs(m[j].max));
        break;
    }
    if (n == 0) center = scale = GSL_NAN;
    gsl_vector_set(s->center, j, center);
    gsl_vector_set(s->scale, j, scale);
  }
}

/* scikit-learn's test for a constant column (before its scale is replaced by 1):
 * StandardScaler's relative bound on the population variance, and for the other scalers
 * a range, IQR or max |x| below 10 eps (MINMAX1's scale is half its range).
 * StandardScaler's var <= n eps var + (n mean eps)^2 is decided as its square root,
 * sd sqrt(1 - n eps) <= n |mean| eps (the same for non-negative sides), so that no square
 * overflows (sd above 1.3e154) or underflows (below 1.5e-162) into a false "constant";
 * half: half the sd, finite where the sd is not (then both sides are halved). */
static int sklearn_constant(ndpar_scale_kind kind, double scale, double half, const moments *m) {
  double eps = GSL_DBL_EPSILON, n = m->n;
  if (kind == NDPAR_SCALE_STANDARD) {
    if (n * eps >= 1) return 1; /* the bound exceeds var itself */
    double bound = n * fabs(m->mean) * eps, shrink = sqrt(1 - n * eps);
    if (isfinite(scale)) return scale * shrink <= bound;
    return half * shrink <= 0.5 * bound;
  }
  return (kind == NDPAR_SCALE_MINMAX1 ? 2 * scale : scale) < 10 * eps;
}

/* The conventions on top of the moments' center and scale: the population sd (divisor
 * n) and scikit-learn's near-constant columns where the flags ask; a constant MINMAX1
 * column at -1, the low end of the range, where MinMaxScaler((-1, 1)) puts it (its
 * range counts as 1: center min + 1/2, scale 1/2); any other constant column's scale 1 (it
 * maps to 0); then the statistics derive_factors takes: min, max, and half the scale (the
 * kind's finite half where the scale overflows: MINMAX's and ROBUST's are set already). */
static void apply_conventions(ndpar_scaler *s, const moments *m) {
  int population = (s->flags & NDPAR_PREPROCESS_POPULATION_SD) != 0;
  for (size_t j = 0; j < s->cols; j++) {
    double n = m[j].n, scale = gsl_vector_get(s->scale, j);
    gsl_vector_set(s->min, j, m[j].min);
    gsl_vector_set(s->max, j, m[j].max);
    if (n == 0) {
      gsl_vector_set(s->half, j, GSL_NAN);
      continue;
    }
    if (s->kind == NDPAR_SCALE_STANDARD && population) scale = standard_sd(&m[j], 1, 0);
    /* STANDARD's half where the sd is above DBL_MAX (for the constant test and the transform) */
    double sd_half = s->kind == NDPAR_SCALE_STANDARD && isinf(scale) ? standard_sd(&m[j], population, -1) : GSL_NAN;
    if ((s->flags & NDPAR_PREPROCESS_SKLEARN_CONSTANT) && sklearn_constant(s->kind, scale, sd_half, &m[j]))
      scale = 0;
    if (s->kind == NDPAR_SCALE_MINMAX1 && scale == 0) {
      scale = 0.5;
      gsl_vector_set(s->center, j, m[j].min + 0.5);
    }
    if (scale == 0) scale = 1.0; /* a constant column maps to 0 */
    gsl_vector_set(s->scale, j, scale);
    if (isfinite(scale))
      gsl_vector_set(s->half, j, 0.5 * scale);
    else if (s->kind == NDPAR_SCALE_STANDARD) /* an sd above DBL_MAX */
      gsl_vector_set(s->half, j, sd_half);
  }
}

/* The end of every fit: conventions, the transform's factors, and the moments kept for
 * partial_fit (m, and the means of x - shift, rel: cols each). A column summed scaled
 * (rescue_extremes) keeps its plain mean (shift 0). */
static void finish_fit(ndpar_scaler *s, const moments *m, const double *shift, const double *rel) {
  apply_conventions(s, m);
  derive_factors(s);
  memcpy(s->run, m, s->cols * sizeof *s->run);
  for (size_t j = 0; j < s->cols; j++) {
    s->run_shift[j] = m[j].scale_log2 ? 0 : shift[j];
    s->run_rel[j] = m[j].scale_log2 ? m[j].mean : rel[j];
  }
  s->stream = s->kind == NDPAR_SCALE_ROBUST ? STREAM_NONE : STREAM_MOMENTS;
  s->fitted = 1;
}

int ndpar_scaler_fit(ndpar_pool *p, ndpar_scaler *s, const gsl_matrix *x) {
  NDPAR_REQUIRE(s != NULL, "scaler_fit: s is NULL", GSL_EFAULT);
  int status = check_matrix("scaler_fit", x);
  if (status) return status;
  if (x->size2 != s->cols)
    NDPAR_ERROR_FMT(GSL_EBADLEN, "scaler_fit: x has %zu columns, the scaler %zu", x->size2, s->cols);
  ndpar_preprocess_workspace *w = workspace_for(p, x, &status);
  /* also the NaN/Inf check for robust; the scalers other than STANDARD need min and max */
  int need = s->kind == NDPAR_SCALE_STANDARD ? 0 : MINMAX_ONLY;
  if (w) status = column_moments_safe(w, x, s->flags | need);
  if (status == GSL_SUCCESS && s->kind != NDPAR_SCALE_ROBUST) params_from_moments(s, w->merged);
  if (status == GSL_SUCCESS && s->kind == NDPAR_SCALE_ROBUST) {
    robust_ctx c = {x, s, {0}};
    status = ndpar_slots_alloc(&c.column, ndpar_pool_threads(w->pool), x->size1 * sizeof(double));
    if (status == GSL_SUCCESS) status = ndpar_pool_run(w->pool, s->cols, robust_task, &c);
    ndpar_slots_free(&c.column);
  }
  if (status == GSL_SUCCESS) finish_fit(s, w->merged, w->shift, w->mean_rel);
  ndpar_preprocess_workspace_free(w);
  return status;
}

typedef struct {
  const ndpar_scaler *s;
  gsl_matrix *x;
} apply_ctx;

/* The fast forms (blocks.c): rows [begin, end) of c->x. */
static int transform_rows(size_t begin, size_t end, const ndpar_task *t, void *vc) {
  (void)t;
  apply_ctx *c = vc;
  rows_sub_mul(c->x->data + begin * c->x->tda, c->x->tda, end - begin, c->s->cols,
               c->s->center->data, c->s->inv_scale);
  return GSL_SUCCESS;
}

static int inverse_rows(size_t begin, size_t end, const ndpar_task *t, void *vc) {
  (void)t;
  apply_ctx *c = vc;
  rows_mul_add(c->x->data + begin * c->x->tda, c->x->tda, end - begin, c->s->cols,
               c->s->scale->data, c->s->center->data);
  return GSL_SUCCESS;
}

/* MINMAX1: scikit-learn's x * mul + add, its min and max mapped exactly to -1 and 1. */
static int minmax1_rows(size_t begin, size_t end, const ndpar_task *t, void *vc) {
  (void)t;
  apply_ctx *c = vc;
  const ndpar_scaler *s = c->s;
  block_ends e = {mm_field(s, MM_MUL), mm_field(s, MM_ADD), mm_field(s, MM_LO),
                  mm_field(s, MM_HI), mm_field(s, MM_ELO), mm_field(s, MM_EHI)};
  rows_ends(c->x->data + begin * c->x->tda, c->x->tda, end - begin, s->cols, &e);
  return GSL_SUCCESS;
}

/* Its inverse: y * scale + center, -1 and 1 mapped exactly back to min and max. */
static int minmax1_inverse_rows(size_t begin, size_t end, const ndpar_task *t, void *vc) {
  (void)t;
  apply_ctx *c = vc;
  const ndpar_scaler *s = c->s;
  block_ends e = {s->scale->data, s->center->data, mm_field(s, MM_ELO), mm_field(s, MM_EHI),
                  mm_field(s, MM_LO), mm_field(s, MM_HI)};
  rows_ends(c->x->data + begin * c->x->tda, c->x->tda, end - begin, s->cols, &e);
  return GSL_SUCCESS;
}

/* The careful forms, for scalers with a column near the ends of the double range. */
static int transform_rows_careful(size_t begin, size_t end, const ndpar_task *t, void *vc) {
  (void)t;
  apply_ctx *c = vc;
  const ndpar_scaler *s = c->s;
  for (size_t r = begin; r < end; r++) {
    double *row = c->x->data + r * c->x->tda;
    for (size_t j = 0; j < s->cols; j++) {
      double center = s->center->data[j];
      double v = row[j];
      if (s->pre[j] == 1 && isfinite(s->inv_scale[j]))
        row[j] = (v - center) * s->inv_scale[j];
      else
        row[j] = (s->pre[j] * v - s->pre[j] * center) / s->den[j];
      if (s->kind == NDPAR_SCALE_MINMAX1) { /* the ends exact here too */
        double lo = mm_field(s, MM_LO)[j], hi = mm_field(s, MM_HI)[j];
        row[j] = v == lo ? mm_field(s, MM_ELO)[j] : v == hi ? mm_field(s, MM_EHI)[j] : row[j];
      }
    }
  }
  return GSL_SUCCESS;
}

static int inverse_rows_careful(size_t begin, size_t end, const ndpar_task *t, void *vc) {
  (void)t;
  apply_ctx *c = vc;
  const ndpar_scaler *s = c->s;
  for (size_t r = begin; r < end; r++) {
    double *row = c->x->data + r * c->x->tda;
    for (size_t j = 0; j < s->cols; j++) /* pre = 1: row scale + center, as inverse_rows */
      row[j] = (row[j] * s->den[j] + s->pre[j] * s->center->data[j]) / s->pre[j];
  }
  return GSL_SUCCESS;
}

static int apply(ndpar_pool *p, const ndpar_scaler *s, gsl_matrix *x, ndpar_range_fn f,
                 const char *who) {
  if (s == NULL) NDPAR_ERROR_FMT(GSL_EFAULT, "%s: s is NULL", who);
  if (!s->fitted) NDPAR_ERROR_FMT(GSL_EINVAL, "%s: s, the scaler, is not fitted", who);
  int status = check_matrix(who, x);
  if (status) return status;
  if (x->size2 != s->cols)
    NDPAR_ERROR_FMT(GSL_EBADLEN, "%s: x has %zu columns, the scaler %zu", who, x->size2, s->cols);
  apply_ctx c = {s, x};
  if (s->careful)
    f = f == transform_rows || f == minmax1_rows ? transform_rows_careful : inverse_rows_careful;
  return ndpar_pool_run_range(p, x->size1, f, &c, NULL);
}

int ndpar_scaler_transform(ndpar_pool *p, const ndpar_scaler *s, gsl_matrix *x) {
  int minmax1 = s != NULL && s->kind == NDPAR_SCALE_MINMAX1;
  return apply(p, s, x, minmax1 ? minmax1_rows : transform_rows, "scaler_transform");
}

int ndpar_scaler_inverse(ndpar_pool *p, const ndpar_scaler *s, gsl_matrix *x) {
  int minmax1 = s != NULL && s->kind == NDPAR_SCALE_MINMAX1;
  return apply(p, s, x, minmax1 ? minmax1_inverse_rows : inverse_rows, "scaler_inverse");
}

int ndpar_scaler_params(const ndpar_scaler *s, const gsl_vector **center, const gsl_vector **scale) {
  NDPAR_REQUIRE(s != NULL, "scaler_params: s is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(s->fitted, "scaler_params: s, the scaler, is not fitted", GSL_EINVAL);
  if (center) *center = s->center;
  if (scale) *scale = s->scale;
  return GSL_SUCCESS;
}

/* ---- statistics out and in, and the streaming fit ---- */

int ndpar_scaler_stats(const ndpar_scaler *s, const gsl_vector **center, const gsl_vector **scale,
                       const gsl_vector **min, const gsl_vector **max, const gsl_vector **half) {
  NDPAR_REQUIRE(s != NULL, "scaler_stats: s is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(s->fitted, "scaler_stats: s is not fitted", GSL_EINVAL);
  if (center) *center = s->center;
  if (scale) *scale = s->scale;
  if (min) *min = s->min;
  if (max) *max = s->max;
  if (half) *half = s->half;
  return GSL_SUCCESS;
}

/* One column's statistics as given to set_stats (NaN for a vector not given), and whether
 * its range was given rather than derived. */
typedef struct {
  double center, scale, min, max, half;
  int range_given;
} column_stats;

#define SET_STATS "scaler_set_stats"

/* An unknown range (min and max NULL or NaN): MINMAX's [center, center + scale], MINMAX1's
 * [center - scale, center + scale] with center and scale recomputed from it (so that they
 * are the range's, as a fitted MINMAX1's are), unknown (NaN) for the others. */
static int derive_range(ndpar_scale_kind kind, size_t j, column_stats *c) {
  if (kind != NDPAR_SCALE_MINMAX && kind != NDPAR_SCALE_MINMAX1) return GSL_SUCCESS;
  c->min = kind == NDPAR_SCALE_MINMAX ? c->center : c->center - c->scale;
  c->max = c->center + c->scale;
  if (!isfinite(c->max - c->min))
    NDPAR_ERROR_FMT(GSL_EINVAL, SET_STATS ": min[%zu] and max[%zu] are needed: center %g and scale %g give no finite range",
                    j, j, c->center, c->scale);
  if (kind == NDPAR_SCALE_MINMAX) return GSL_SUCCESS;
  c->center = minmax1_center(c->min, c->max);
  c->scale = minmax1_scale(c->min, c->max);
  if (!(c->scale > 0))
    NDPAR_ERROR_FMT(GSL_EINVAL, SET_STATS ": min[%zu] and max[%zu] are needed: scale %g is below the spacing of center %g",
                    j, j, c->scale, c->center);
  return GSL_SUCCESS;
}

/* The range and the half of an infinite scale, checked after center and scale. */
static int complete_range(ndpar_scale_kind kind, size_t j, column_stats *c) {
  if (isnan(c->min) != isnan(c->max))
    NDPAR_ERROR_FMT(GSL_EDOM, SET_STATS ": min[%zu] and max[%zu] are %g and %g: both NaN (unknown) or neither",
                    j, j, c->min, c->max);
  if (isinf(c->min) || isinf(c->max))
    NDPAR_ERROR_FMT(GSL_EDOM, SET_STATS ": min[%zu] and max[%zu] are %g and %g: not finite", j, j, c->min, c->max);
  if (c->min > c->max)
    NDPAR_ERROR_FMT(GSL_EINVAL, SET_STATS ": min[%zu] = %g is above max[%zu] = %g", j, c->min, j, c->max);
  c->range_given = !isnan(c->min);
  int status = c->range_given ? GSL_SUCCESS : derive_range(kind, j, c);
  if (status) return status;
  int overflows = isfinite(c->min) && !isfinite(c->max - c->min);
  if (isinf(c->scale) && !overflows)
    NDPAR_ERROR_FMT(GSL_EDOM, SET_STATS ": scale[%zu] is inf, but only a column whose max - min overflows has an infinite scale", j);
  if (isfinite(c->scale)) {
    c->half = 0.5 * c->scale;
    return GSL_SUCCESS;
  }
  if (isnan(c->half) && kind == NDPAR_SCALE_MINMAX) c->half = 0.5 * c->max - 0.5 * c->min;
  if (isnan(c->half))
    NDPAR_ERROR_FMT(GSL_EINVAL, SET_STATS ": half[%zu] is needed: scale[%zu] is inf", j, j);
  if (!(isfinite(c->half) && c->half > 0))
    NDPAR_ERROR_FMT(GSL_EDOM, SET_STATS ": half[%zu] is %g: half an infinite scale is finite and positive", j, c->half);
  return GSL_SUCCESS;
}

/* Checks column j's statistics and completes them (range, half); a GSL error naming the
 * argument and the column. */
static int complete_column(ndpar_scale_kind kind, size_t j, column_stats *c) {
  if (isnan(c->center) && isnan(c->scale)) { /* a column without a finite value, as fit leaves it */
    if (!isnan(c->min) || !isnan(c->max))
      NDPAR_ERROR_FMT(GSL_EDOM, SET_STATS ": column %zu has NaN center and scale (no value) but min[%zu] %g and max[%zu] %g",
                      j, j, c->min, j, c->max);
    c->half = GSL_NAN;
    c->range_given = 1;
    return GSL_SUCCESS;
  }
  if (!isfinite(c->center)) NDPAR_ERROR_FMT(GSL_EDOM, SET_STATS ": center[%zu] is %g", j, c->center);
  if (!(c->scale > 0))
    NDPAR_ERROR_FMT(GSL_EDOM, SET_STATS ": scale[%zu] is %g: a scale is positive (a constant column's is 1)", j, c->scale);
  int status = complete_range(kind, j, c);
  if (status) return status;
  if (kind == NDPAR_SCALE_MINMAX1 && minmax1_constant(c->center, c->scale, c->min, c->max) &&
      !(c->scale == 0.5 && c->center == c->min + 0.5))
    NDPAR_ERROR_FMT(GSL_EINVAL,
                    SET_STATS ": center[%zu] %.17g and scale[%zu] %.17g are neither MINMAX1's of min[%zu] %.17g "
                    "and max[%zu] %.17g nor a constant column's (min + 0.5 and 0.5)",
                    j, c->center, j, c->scale, j, c->min, j, c->max);
  return GSL_SUCCESS;
}

static double entry_or_nan(const gsl_vector *v, size_t j) { return v ? gsl_vector_get(v, j) : GSL_NAN; }

static int check_stats_len(const char *name, const gsl_vector *v, size_t cols) {
  if (v != NULL && v->size != cols)
    NDPAR_ERROR_FMT(GSL_EBADLEN, SET_STATS ": %s has %zu entries, the scaler %zu columns", name, v->size, cols);
  return GSL_SUCCESS;
}

int ndpar_scaler_set_stats(ndpar_scaler *s, const gsl_vector *center, const gsl_vector *scale,
                           const gsl_vector *min, const gsl_vector *max, const gsl_vector *half) {
  NDPAR_REQUIRE(s != NULL, SET_STATS ": s is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(center != NULL, SET_STATS ": center is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(scale != NULL, SET_STATS ": scale is NULL", GSL_EFAULT);
  NDPAR_REQUIRE((min == NULL) == (max == NULL), SET_STATS ": min and max: give both or neither", GSL_EINVAL);
  int status;
  if ((status = check_stats_len("center", center, s->cols)) || (status = check_stats_len("scale", scale, s->cols)) ||
      (status = check_stats_len("min", min, s->cols)) || (status = check_stats_len("max", max, s->cols)) ||
      (status = check_stats_len("half", half, s->cols)))
    return status;
  int range_given = 1;
  for (int write = 0; write <= 1; write++) /* every column checked before any is written */
    for (size_t j = 0; j < s->cols; j++) {
      column_stats c = {gsl_vector_get(center, j), gsl_vector_get(scale, j), entry_or_nan(min, j),
                        entry_or_nan(max, j), entry_or_nan(half, j), 0};
      status = complete_column(s->kind, j, &c);
      if (status) return status;
      range_given &= c.range_given;
      if (!write) continue;
      gsl_vector_set(s->center, j, c.center);
      gsl_vector_set(s->scale, j, c.scale);
      gsl_vector_set(s->min, j, c.min);
      gsl_vector_set(s->max, j, c.max);
      gsl_vector_set(s->half, j, c.half);
      s->run[j] = (moments){isnan(c.scale) ? 0 : 1, 0, 0, c.min, c.max, 0, 0};
      s->run_shift[j] = 0;
      s->run_rel[j] = 0;
    }
  derive_factors(s);
  int range_kind = s->kind == NDPAR_SCALE_MINMAX || s->kind == NDPAR_SCALE_MINMAX1 || s->kind == NDPAR_SCALE_MAXABS;
  s->stream = range_kind && range_given ? STREAM_RANGE : STREAM_NONE;
  s->fitted = 1;
  return GSL_SUCCESS;
}

/* m's mean and m2 in units of 2^u (its values times 2^u, m2 in the square of that unit). */
static moments in_units(const moments *m, int u) {
  moments r = *m;
  r.mean = ldexp(m->mean, u);
  r.m2 = ldexp(m->m2, 2 * (u - m->scale_log2));
  r.scale_log2 = u;
  return r;
}

/* The running moments of one column and its chunk's: moments (mean in the data's units),
 * and the mean of x - shift. */
typedef struct {
  moments *m;
  double *shift, *rel;
} column_run;

/* Merges a chunk's moments b (b_rel: its mean of x - b_shift) into column a: count, min and
 * max, and (with_moments) mean and m2 by Chan, Golub and LeVeque's update on means of x -
 * shift, as the fit merges its blocks. Where that is not finite, or either part was summed
 * scaled (rescue_extremes), in the unit that brings the union's largest magnitude into
 * [1, 2), as rescue_extremes sums, on plain means (shift 0 from then on). */
static void merge_column(column_run a, const moments *b, double b_shift, double b_rel, int with_moments) {
  if (b->n == 0) return;
  if (a.m->n == 0) {
    *a.m = *b;
    *a.shift = b->scale_log2 ? 0 : b_shift;
    *a.rel = b->scale_log2 ? b->mean : b_rel;
    return;
  }
  moments m = *a.m;
  if (!with_moments) {
    m.n += b->n;
    m.min = GSL_MIN(m.min, b->min);
    m.max = GSL_MAX(m.max, b->max);
    *a.m = m;
    return;
  }
  if (m.scale_log2 == 0 && b->scale_log2 == 0) {
    moments y = *b;
    m.mean = *a.rel;
    y.mean = b_rel + (b_shift - *a.shift); /* exact for shifts within a factor 2 (Sterbenz) */
    merge(&m, &y);
    double mean = m.mean + *a.shift;
    if (isfinite(mean) && isfinite(m.m2)) {
      *a.rel = m.mean;
      m.mean = mean;
      *a.m = m;
      return;
    }
  }
  double largest = GSL_MAX(GSL_MAX(fabs(a.m->min), fabs(a.m->max)), GSL_MAX(fabs(b->min), fabs(b->max)));
  int u = ndpar_pow2_exponent(largest);
  moments y = in_units(b, u);
  m = in_units(a.m, u);
  merge(&m, &y);
  m.mean = ldexp(m.mean, -u);
  *a.m = m;
  *a.shift = 0;
  *a.rel = m.mean;
}

int ndpar_scaler_partial_fit(ndpar_pool *p, ndpar_scaler *s, const gsl_matrix *x) {
  NDPAR_REQUIRE(s != NULL, "scaler_partial_fit: s is NULL", GSL_EFAULT);
  int status = check_matrix("scaler_partial_fit", x);
  if (status) return status;
  if (x->size2 != s->cols)
    NDPAR_ERROR_FMT(GSL_EBADLEN, "scaler_partial_fit: x has %zu columns, the scaler %zu", x->size2, s->cols);
  NDPAR_REQUIRE(s->kind != NDPAR_SCALE_ROBUST,
                "scaler_partial_fit: s is ROBUST, which has no streaming fit (its quartiles need every row at once)", GSL_EINVAL);
  if (!s->fitted) return ndpar_scaler_fit(p, s, x);
  int standard = s->kind == NDPAR_SCALE_STANDARD;
  NDPAR_REQUIRE(s->stream >= (standard ? STREAM_MOMENTS : STREAM_RANGE),
                standard ? "scaler_partial_fit: s has set_stats statistics, with no count, mean and M2 to continue from: fit first"
                         : "scaler_partial_fit: s has set_stats statistics, with no min and max to continue from: fit first",
                GSL_EINVAL);
  /* the merged moments, shifts and means of x - shift, built beside the scaler's */
  moments *m = malloc(s->cols * sizeof *m);
  double *shift = malloc(2 * s->cols * sizeof *shift);
  ndpar_preprocess_workspace *w = m && shift ? workspace_for(p, x, &status) : NULL;
  if (m == NULL || shift == NULL) {
    free(m);
    free(shift);
    GSL_ERROR("scaler_partial_fit: out of memory", GSL_ENOMEM);
  }
  if (w) status = column_moments_safe(w, x, s->flags | (standard ? 0 : MINMAX_ONLY));
  if (status == GSL_SUCCESS) { /* nothing fails after this: the scaler changes only now */
    double *rel = shift + s->cols;
    memcpy(m, s->run, s->cols * sizeof *m);
    memcpy(shift, s->run_shift, s->cols * sizeof *shift);
    memcpy(rel, s->run_rel, s->cols * sizeof *rel);
    for (size_t j = 0; j < s->cols; j++)
      merge_column((column_run){&m[j], &shift[j], &rel[j]}, &w->merged[j], w->shift[j], w->mean_rel[j], standard);
    params_from_moments(s, m);
    finish_fit(s, m, shift, rel);
  }
  ndpar_preprocess_workspace_free(w);
  free(m);
  free(shift);
  return status;
}

/* ---- per-chunk callbacks ---- */

typedef struct {
  gsl_matrix *const *chunks;
  const gsl_matrix *const *in;
  gsl_matrix *const *out;
  ndpar_chunk_fn f;
  ndpar_predict_fn map;
  void *ctx;
} chunk_ctx;

static int chunk_task(const ndpar_task *t, void *vc) {
  chunk_ctx *c = vc;
  return c->f(c->chunks[t->index], t, c->ctx);
}

static int map_task(const ndpar_task *t, void *vc) {
  chunk_ctx *c = vc;
  return c->map(c->in[t->index], c->out[t->index], t, c->ctx);
}

int ndpar_preprocess_ex(ndpar_pool *p, gsl_matrix *const *chunks, size_t n, ndpar_chunk_fn f,
                        void *ctx, size_t *failed) {
  NDPAR_REQUIRE(f != NULL, "preprocess: f is NULL", GSL_EFAULT);
  if (n == 0) { /* a no-op, whatever the arrays */
    if (failed) *failed = 0;
    return GSL_SUCCESS;
  }
  int status = ndpar_check_inputs_named("preprocess", "chunks", (const gsl_matrix *const *)chunks, n);
  if (status) return status;
  chunk_ctx c = {.chunks = chunks, .f = f, .ctx = ctx};
  return ndpar_pool_run_ex(p, n, chunk_task, &c, failed);
}

int ndpar_preprocess(ndpar_pool *p, gsl_matrix *const *chunks, size_t n, ndpar_chunk_fn f,
                     void *ctx) {
  return ndpar_preprocess_ex(p, chunks, n, f, ctx, NULL);
}

int (ndpar_preprocess_map)(ndpar_pool *p, const gsl_matrix *const *in, gsl_matrix *const *out,
                         size_t n, ndpar_predict_fn f, void *ctx, size_t *failed) {
  NDPAR_REQUIRE(f != NULL, "preprocess_map: f is NULL", GSL_EFAULT);
  if (n == 0) { /* a no-op, whatever the arrays */
    if (failed) *failed = 0;
    return GSL_SUCCESS;
  }
  size_t cols = SIZE_MAX;
  int status = ndpar_check_inputs_named("preprocess_map", "in", in, n);
  if (status == GSL_SUCCESS) status = ndpar_check_outputs("preprocess_map", "out", in, out, n, &cols);
  if (status) return status;
  chunk_ctx c = {.in = in, .out = out, .map = f, .ctx = ctx};
  return ndpar_pool_run_ex(p, n, map_task, &c, failed);
}
