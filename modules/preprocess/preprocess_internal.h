/* preprocess_internal.h: the column-statistics kernels of one block of rows and the
 * transforms of a range of rows (blocks.c), used by preprocess.c. Internal to the module;
 * not part of the API. */
#ifndef NDPAR_PREPROCESS_INTERNAL_H
#define NDPAR_PREPROCESS_INTERNAL_H

#include <gsl/gsl_matrix.h>
#include <stddef.h>

/* A block's per-column accumulators (worker scratch): sums of x - shift (then the block mean
 * of x - shift), min, max, and the second pass's sum of squared and of plain deviations. */
typedef struct {
  double *restrict sum, *restrict mn, *restrict mx, *restrict m2, *restrict comp;
} block_acc;

/* The moments of the blocks merged so far, per column: count, mean of x - shift, sum of
 * squared deviations, min, max (Chan, Golub and LeVeque's pairwise update). */
typedef struct {
  double *restrict n, *restrict mean, *restrict m2, *restrict mn, *restrict mx;
} block_run;

/* The empty state of cols columns: n, mean and m2 0, min +Inf, max -Inf. */
void block_run_reset(block_run r, size_t cols);

/* Merges a part's moments (count n, mean, m2, min, max) into column j; a part of count 0
 * changes nothing, and into an empty column it is copied. */
void block_run_merge(block_run r, size_t j, double n, double mean, double m2, double mn, double mx);

/* The blocks of rows [r0, r1) of x, block_rows each (the last maybe fewer), in order: per
 * block each column summed as x - shift, then (unless minmax_only) the squared deviations
 * from the block's mean summed in a second pass while the block is in cache (the corrected
 * two-pass algorithm), and the block merged into run. The second pass of a block runs
 * together with the first pass of the next (acc: two blocks' accumulators). Returns r1, or
 * the first row of the first block with a column's sum not finite (a NaN or Inf in it, or
 * finite values whose sum overflows): that block and the ones after it are not merged, the
 * caller's careful path takes that block and calls again after it. */
size_t blocks_fast(const gsl_matrix *x, const double *shift, size_t r0, size_t r1, size_t block_rows,
                   int minmax_only, block_acc acc[2], block_run run);

/* The transforms of rows [0, rows) of x (row stride tda, cols columns), in place:
 * x = (x - c) * k, x = x * k + c, and MINMAX1's y = x * mul + add with its ends exact (x ==
 * from_lo gives to_lo, else x == from_hi gives to_hi). Per column the same operations as
 * the obvious scalar loop, so the same bits with or without AVX2. */
typedef struct {
  const double *mul, *add, *from_lo, *from_hi, *to_lo, *to_hi;
} block_ends;
void rows_sub_mul(double *x, size_t tda, size_t rows, size_t cols, const double *c, const double *k);
void rows_mul_add(double *x, size_t tda, size_t rows, size_t cols, const double *k, const double *c);
void rows_ends(double *x, size_t tda, size_t rows, size_t cols, const block_ends *e);

#endif
