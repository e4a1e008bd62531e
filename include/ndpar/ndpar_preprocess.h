/* ndpar_preprocess.h: column statistics and scalers of large matrices in parallel, at
 * memory bandwidth, and the generic per-chunk callback.
 */
#ifndef NDPAR_PREPROCESS_H
#define NDPAR_PREPROCESS_H

#include "ndpar/ndpar_core.h"
#include "ndpar/ndpar_pool.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- column statistics ---- */

enum {
  NDPAR_PREPROCESS_IGNORE_NONFINITE = 1, /* skip NaN/Inf values instead of failing with GSL_EDOM */
  /* scalers only (ndpar_scaler_set_flags): */
  NDPAR_PREPROCESS_POPULATION_SD = 2,    /* STANDARD divides by the sd with divisor n (ddof = 0,
                                            scikit-learn's StandardScaler), not n - 1 */
  NDPAR_PREPROCESS_SKLEARN_CONSTANT = 4, /* scikit-learn's near-constant columns: a range, IQR
                                            or max |x| below 10 eps, or StandardScaler's
                                            relative bound on the variance, gets scale 1 */
  NDPAR_PREPROCESS_SKLEARN = 6           /* both: scikit-learn's conventions */
};

/* Per column of x: mean, sample standard deviation (divisor count - 1, as gsl_stats_sd; 0
 * for a single value), min and max; each output may be NULL, and each given one has
 * x->size2 entries. Rows are cut into fixed blocks of about 2048 values and blocks into
 * tasks of about 65536 (the cuts depend on the shape alone); each block is summed in two
 * passes while it is in cache, and blocks, then tasks, are merged in order with Chan, Golub
 * and LeVeque's pairwise formulas: accurate where a sum of squares fails (data at 1e9 +
 * noise), and bit-identical for any thread count. Columns
 * near the ends of the double range (+-1e308, or all below 2^-500) are summed again scaled
 * by a power of two, so every statistic is finite when the true one is.
 * A NaN or Inf fails with GSL_EDOM naming its row and column (the first in row order),
 * unless flags has NDPAR_PREPROCESS_IGNORE_NONFINITE; a column with no finite value then
 * gets NaN statistics. x with no rows or columns: GSL_EBADLEN; two outputs that share
 * memory: GSL_EINVAL. Outputs untouched on error.
 * Allocates its working memory on every call (see the workspace below for repeated calls). */
NDPAR_API int ndpar_colstats(ndpar_pool *p, const gsl_matrix *x, int flags, gsl_vector *mean,
                             gsl_vector *sd, gsl_vector *min, gsl_vector *max);

/* ---- workspace: column statistics without allocation ----
 * The working memory of ndpar_colstats for matrices of one shape, allocated once (as
 * gsl_multifit_linear_workspace): per-task moments (about rows x cols / 65536 tasks of
 * 7 x cols doubles; a row per task when cols > 65536), per-worker accumulators on
 * the pool, the column shifts and the merged result. For statistics of a stream of equally shaped
 * windows or batches. */
typedef struct ndpar_preprocess_workspace ndpar_preprocess_workspace;

/* A workspace for rows x cols matrices on pool (NULL: the default pool; it must outlive the
 * workspace). NULL with a GSL error: rows or cols 0 or too large (GSL_EINVAL), the default
 * pool cannot start (GSL_EFAILED), out of memory (GSL_ENOMEM). */
NDPAR_API ndpar_preprocess_workspace *ndpar_preprocess_workspace_alloc(ndpar_pool *pool,
                                                                       size_t rows, size_t cols);
/* NULL is a no-op. */
NDPAR_API void ndpar_preprocess_workspace_free(ndpar_preprocess_workspace *w);

/* ndpar_colstats on the workspace's pool and memory: allocates nothing and gives the same
 * statistics bit for bit. x must be rows x cols of the workspace (GSL_EBADLEN naming x);
 * w NULL: GSL_EFAULT; other checks as ndpar_colstats. One call at a time per workspace. */
NDPAR_API int ndpar_colstats_ws(ndpar_preprocess_workspace *w, const gsl_matrix *x, int flags,
                                gsl_vector *mean, gsl_vector *sd, gsl_vector *min,
                                gsl_vector *max);

/* ---- scalers ---- */

typedef enum {
  NDPAR_SCALE_STANDARD, /* (x - mean) / sd */
  NDPAR_SCALE_MINMAX,   /* (x - min) / (max - min): [0, 1] */
  NDPAR_SCALE_MINMAX1,  /* [-1, 1] as scikit-learn's MinMaxScaler(feature_range=(-1, 1)):
                         * x * scale_ + min_ (scale_ = 2 / (max - min), min_ = -1 - min *
                         * scale_), with min and max mapped exactly to -1 and 1 (and back) */
  NDPAR_SCALE_ROBUST,   /* (x - median) / (q75 - q25) */
  NDPAR_SCALE_MAXABS    /* x / max |x|: [-1, 1], sparsity kept */
} ndpar_scale_kind;

/* Every scaler is x' = (x - center) / scale per column, inverted by x = x' scale + center
 * to within rounding (a few units in the last place of |x| + |center|; for MINMAX1, whose
 * scikit-learn formula rounds at the column's ends, of |x| + max(|min|, |max|)), not bit
 * for bit.
 * STANDARD's sd has divisor n - 1 (GSL's); NDPAR_PREPROCESS_POPULATION_SD gives
 * scikit-learn's divisor n. A constant column (zero sd, range, IQR or max |x|) gets scale 1,
 * as scikit-learn does, so it maps to 0 (the lower end of [0, 1] for MINMAX), and under
 * MINMAX1 to -1, the lower end of [-1, 1], as MinMaxScaler((-1, 1)) maps it; never to NaN
 * or Inf. What differs from scikit-learn: only an exactly zero scale counts as constant
 * (scikit-learn also treats a range, IQR or max |x| below 10 eps, about 2.2e-15, so a column
 * of values near 1e-20 is not scaled there); NDPAR_PREPROCESS_SKLEARN_CONSTANT applies its
 * rule. Finite data at the ends of the double range stay finite: statistics whose sums
 * would overflow are computed on the column scaled by a power of two, a column whose
 * max - min overflows is transformed in halves (a MINMAX, ROBUST or STANDARD scale beyond
 * DBL_MAX is then reported as +Inf, and the transform divides by its finite half: see
 * ndpar_scaler_stats; [-DBL_MAX, DBL_MAX] has z-scores -+1/sqrt 2 and back), and a
 * subnormal scale, whose reciprocal is Inf, is divided by. ROBUST's quartiles are GSL's
 * interpolation but exact where it would round: a constant column's are its value (a
 * subnormal constant maps to 0), [-DBL_MAX, DBL_MAX]'s are -+DBL_MAX / 2 (so it maps to
 * exactly -+1). NDPAR_PREPROCESS_SKLEARN_CONSTANT decides StandardScaler's bound without
 * squaring, so an sd beyond 1.3e154 or below 1.5e-162 is not taken for a constant. A scaler
 * can be saved and rebuilt bit for bit (ndpar_scaler_stats, ndpar_scaler_set_stats) and
 * fitted in a stream (ndpar_scaler_partial_fit). */
typedef struct ndpar_scaler ndpar_scaler;

/* NULL with a GSL error for cols = 0 or an unknown kind. */
NDPAR_API ndpar_scaler *ndpar_scaler_alloc(ndpar_scale_kind kind, size_t cols);
NDPAR_API void ndpar_scaler_free(ndpar_scaler *s);
/* flags: NDPAR_PREPROCESS_IGNORE_NONFINITE, NDPAR_PREPROCESS_POPULATION_SD,
 * NDPAR_PREPROCESS_SKLEARN_CONSTANT (NDPAR_PREPROCESS_SKLEARN: both), any of them or 0,
 * used by the next fit. */
NDPAR_API int ndpar_scaler_set_flags(ndpar_scaler *s, int flags);

/* Learns center and scale from x (x->size2 == cols). Non-finite values as ndpar_colstats;
 * the robust quartiles are gsl_stats_quantile_from_sorted_data's, found by selection. */
NDPAR_API int ndpar_scaler_fit(ndpar_pool *p, ndpar_scaler *s, const gsl_matrix *x);
/* In place. Errors: unfitted scaler, column count not the scaler's, empty matrix, NULL;
 * the data are untouched then. NaN and Inf map to NaN and Inf (no extra pass to look). */
NDPAR_API int ndpar_scaler_transform(ndpar_pool *p, const ndpar_scaler *s, gsl_matrix *x);
NDPAR_API int ndpar_scaler_inverse(ndpar_pool *p, const ndpar_scaler *s, gsl_matrix *x);
/* The fitted parameters: the scaler's own vectors, read-only, valid until the scaler is
 * freed (a later fit overwrites their values in place). GSL_EINVAL if not fitted. */
NDPAR_API int ndpar_scaler_params(const ndpar_scaler *s, const gsl_vector **center,
                                  const gsl_vector **scale);

/* The statistics the transform is built from, per column: center and scale as
 * ndpar_scaler_params gives them; min and max, the column's range as the fit saw it (NaN for
 * a column without a finite value, or where set_stats was not told it); and half, half the
 * scale, equal to scale / 2 except where the scale is +Inf (a sd, range or IQR above
 * DBL_MAX: the columns transformed in halves), where it is the finite half the transform
 * divides by. ndpar_scaler_set_stats with these rebuilds the scaler bit for bit. The
 * scaler's own vectors, read-only, valid until it is freed (a later fit, partial_fit or
 * set_stats overwrites their values in place); any output may be NULL. GSL_EINVAL if not
 * fitted, GSL_EFAULT for s NULL; outputs untouched then. */
NDPAR_API int ndpar_scaler_stats(const ndpar_scaler *s, const gsl_vector **center,
                                 const gsl_vector **scale, const gsl_vector **min,
                                 const gsl_vector **max, const gsl_vector **half);

/* Makes s fitted from given statistics (cols entries each), as ndpar_scaler_stats gives
 * them: the transform and inverse of a scaler rebuilt from a fitted one's statistics are the
 * fitted one's bit for bit, for every kind and flag. The flags play no part (they act on a
 * fit; the statistics are after them). Per column:
 *  - center finite, scale positive (a constant column's is 1, MINMAX1's 1/2), or both NaN:
 *    a column without a finite value (min and max then NaN or not given), all NaN out;
 *  - min and max both given (finite, min <= max) or neither: NULL, or NaN in a column.
 *    Without them: MINMAX takes [center, center + scale]; MINMAX1 [center - scale, center +
 *    scale], with center and scale recomputed from that range (within an ulp of the given);
 *    both GSL_EINVAL where that range is not finite. STANDARD, ROBUST and MAXABS keep them
 *    NaN (unknown). An unknown range counts as not overflowing;
 *  - scale +Inf only where max - min overflows (GSL_EDOM otherwise), with half[j] finite
 *    and positive; half may be NULL (or NaN there) for MINMAX (0.5 max - 0.5 min) and is
 *    needed (GSL_EINVAL) for the other kinds. Where the scale is finite, half is ignored;
 *  - MINMAX1: center and scale must be those of [min, max] (the fit's: middle and half the
 *    range) or of a constant column (min + 1/2 and 1/2): GSL_EINVAL otherwise.
 * A NaN, an infinity or a non-positive scale where not allowed is GSL_EDOM; min > max, min
 * without max, or statistics that do not fit together GSL_EINVAL; each naming the argument
 * and the column. NULL s, center or scale: GSL_EFAULT; a length other than cols:
 * GSL_EBADLEN. On any error the scaler is untouched. partial_fit continues after set_stats
 * only for MINMAX, MINMAX1 and MAXABS given min and max (they are all it needs). */
NDPAR_API int ndpar_scaler_set_stats(ndpar_scaler *s, const gsl_vector *center,
                                     const gsl_vector *scale, const gsl_vector *min,
                                     const gsl_vector *max, const gsl_vector *half);

/* scikit-learn's partial_fit: updates s with the rows of x, so that a fit in chunks ends as
 * one fit of all the rows would. STANDARD merges count, mean and M2 per column (Chan, Golub
 * and LeVeque's parallel update; the sd's divisor per the flags), MINMAX, MINMAX1 and MAXABS
 * merge min and max; the flags (NaN and Inf skipped or GSL_EDOM, the conventions) act as in
 * a fit, on all the rows seen. On an unfitted scaler it is ndpar_scaler_fit. A scaler fitted
 * by fit or partial_fit continues from its statistics, count included; one built by
 * set_stats continues only where it has what the kind merges (MINMAX, MINMAX1 and MAXABS
 * given min and max), else GSL_EINVAL. ROBUST: GSL_EINVAL (its quartiles need every row;
 * scikit-learn's RobustScaler has no partial_fit). Other errors as ndpar_scaler_fit's; on
 * any error the scaler is untouched. Matches one fit to within a few ulps (STANDARD) or
 * exactly (the range scalers). */
NDPAR_API int ndpar_scaler_partial_fit(ndpar_pool *p, ndpar_scaler *s, const gsl_matrix *x);

/* ---- the generic per-chunk callback: any preprocessing, one chunk per task ---- */

/* Processes one chunk in place. Return 0 or a status that stops the run. */
typedef int (*ndpar_chunk_fn)(gsl_matrix *chunk, const ndpar_task *t, void *ctx);

/* f on each of n chunks, in parallel, in place. Errors as the batch module's: f, chunks or
 * an entry NULL is GSL_EFAULT; n = 0 a no-op; a failing chunk stops the run and returns its
 * status. */
NDPAR_API int ndpar_preprocess(ndpar_pool *p, gsl_matrix *const *chunks, size_t n, ndpar_chunk_fn f,
                               void *ctx);

/* ndpar_preprocess, and *failed (optional) = the failing chunk (n on success; untouched
 * when an argument is rejected). */
NDPAR_API int ndpar_preprocess_ex(ndpar_pool *p, gsl_matrix *const *chunks, size_t n,
                                  ndpar_chunk_fn f, void *ctx, size_t *failed);

/* f(in[i], out[i]) for each chunk, into caller-allocated outputs with in[i]'s rows (a
 * ndpar_predict_fn); *failed (optional): the failing chunk (n on success, 0 for n = 0). */
NDPAR_API int ndpar_preprocess_map(ndpar_pool *p, const gsl_matrix *const *in,
                                   gsl_matrix *const *out, size_t n, ndpar_predict_fn f, void *ctx,
                                   size_t *failed);

/* Arrays as users hold them (gsl_matrix *x[n]) without a cast: see ndpar_core.h. */
#ifdef NDPAR_GENERIC_ARRAYS
#define ndpar_preprocess_map(p, in, ...) (ndpar_preprocess_map)((p), NDPAR_MATRICES(in), __VA_ARGS__)
#endif

#ifdef __cplusplus
}
#endif
#endif /* NDPAR_PREPROCESS_H */
