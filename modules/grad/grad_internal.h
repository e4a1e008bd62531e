/* grad_internal.h: the deterministic mode in parts, for gradients summed over several
 * processes (the mpi module). Not installed.
 *
 * The mode folds groups of grad_group_size(P) consecutive batches (by global index) in
 * plain double in index order, and adds each group's sum into reproducible (binned)
 * accumulators. A process whose batches begin or end inside a group receives the group's
 * sum so far from the process before it and continues it (grad_det_chain), so that every
 * group is folded in the same order as in one process. */
#ifndef NDPAR_GRAD_INTERNAL_H
#define NDPAR_GRAD_INTERNAL_H

#include "ndpar/ndpar_grad.h"
#include "ndpar_internal.h"

/* FAST in parts: the n batches (n >= 1, the workspace's n) summed per worker, the
 * callback seeing t->index = index0 + i; returns a callback's status. Then, as often as
 * wanted, entries [from, from + len) of the sums (rows * gradient for [0, P), rows * loss
 * at P, rows at P + 1), each divided by divisor, written to out[0], out[ostride], ...
 * out[(len - 1) * ostride]. */
int grad_fast_run(ndpar_grad_workspace *w, const gsl_matrix *const *x,
                  const gsl_vector *const *y, size_t n, size_t index0, ndpar_grad_fn f,
                  void *ctx);
void grad_fast_combine(ndpar_grad_workspace *w, double *out, size_t ostride, double divisor,
                       size_t from, size_t len);

/* The weight of a row: 2^-e, so that the rows of every batch of the call (all ranks')
 * weigh at most 1 in all. Each batch's terms are rows x 2^-e x (gradient, loss, 1), so a
 * sum of terms is at most the largest |gradient| and never overflows (gradients near
 * DBL_MAX summed to Inf), and the mean, sums / rows, is the same bits (a power of two is
 * exact, unless a term falls below 2^-1022, where it loses low bits). Every rank and the
 * one-process form use the same scale (of the same total), so the bits agree. */
double grad_row_scale(double total_rows);
/* The scale the workspace's next runs use (w NULL: nothing). */
void grad_set_row_scale(ndpar_grad_workspace *w, double scale);

/* G, batches per group: a function of P alone. */
size_t grad_group_size(size_t P);

/* A workspace for the deterministic mode alone, for calls of any batch count (free it with
 * ndpar_grad_workspace_free). NULL with a GSL error. */
ndpar_grad_workspace *grad_reproducible_workspace(ndpar_pool *p, size_t P);

/* Empties the reproducible sums. */
void grad_det_begin(ndpar_grad_workspace *w);

/* Folds the groups of local batches [lo, hi) in parallel and adds their sums in: index0 +
 * lo must be a group's first batch, and hi a group's end or the end of all batches, except
 * with open_tail (P + 2 doubles): the last group, cut at hi, is then folded into open_tail
 * and not added. The callback sees t->index = index0 + i. Returns a callback's status,
 * with *failed (if not NULL) the failing batch of the lowest failing group; the sums are
 * then unspecified. */
int grad_det_groups(ndpar_grad_workspace *w, const gsl_matrix *const *x,
                    const gsl_vector *const *y, size_t lo, size_t hi, size_t index0,
                    ndpar_grad_fn f, void *ctx, double *open_tail, size_t *failed);

/* Folds local batches [lo, hi) in order into part (P + 2 doubles: rows * gradient, rows *
 * loss, rows), on one worker: fresh, part begins with batch lo's terms; else part holds a
 * group's sum so far and is continued. Returns a callback's status. */
int grad_det_chain(ndpar_grad_workspace *w, const gsl_matrix *const *x,
                   const gsl_vector *const *y, size_t lo, size_t hi, size_t index0,
                   ndpar_grad_fn f, void *ctx, double *part, int fresh);

/* Two buffers of P + 2 doubles inside w (which = 0, 1) for grad_det_chain. */
double *grad_det_chain_buffer(ndpar_grad_workspace *w, int which);

/* Adds a finished group's sum (P + 2 doubles) in. */
void grad_det_deposit(ndpar_grad_workspace *w, const double *part);

/* The sums (P + 2 accumulators inside w, in blocks of four: rows * gradient, rows * loss,
 * rows), after the workers' are merged: once per grad_det_begin. */
ndpar_rsum_block *grad_det_sums(ndpar_grad_workspace *w);

/* grad = sums / rows, *loss (if not NULL) likewise: the one final step of the mode. */
void grad_reproducible_finish(const ndpar_rsum_block *sums, size_t P, gsl_vector *grad, double *loss);

#endif
