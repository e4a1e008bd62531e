/* bench_grad.h: the large-P linear-model gradient of bench_grad (large_p.c), shared by its
 * variants' files. */
#ifndef NDPAR_BENCH_GRAD_H
#define NDPAR_BENCH_GRAD_H

#include <stddef.h>

#include "ndpar/ndpar_grad.h"
#include "ref/timing.h"

#define LIN_MAX_ROWS 64

/* n batches of `rows` rows and P features, each batch its own data. */
typedef struct {
  size_t P, rows, n, threads;
  double *data, *y, *w;
  _gsl_matrix_const_view *xv;
  _gsl_vector_const_view *yv;
  const gsl_matrix **xs;
  const gsl_vector **ys;
  double *scratch, *sum; /* the sequential variant's */
} lin_problem;

int lin_grad(const gsl_matrix *x, const gsl_vector *y, gsl_vector *grad, double *loss,
             const ndpar_task *t, void *ctx);
int lin_problem_alloc(lin_problem *b, size_t P, size_t rows, size_t n, size_t threads);
void lin_problem_free(lin_problem *b);
void lin_fold(void *ctx, size_t lo, size_t hi, double *acc);

/* The large-P table: sequential, ndpar fast and deterministic, the bandwidth floor and the
 * peers. Returns non-zero on a failed check. */
int bench_large_p(const bench_options *o);

#endif
