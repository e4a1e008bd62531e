/* ridge.h: a small model for the cv and grid tests: ridge regression in closed form,
 * scored by the negative mean squared error on the validation fold. */
#ifndef NDPAR_TEST_RIDGE_H
#define NDPAR_TEST_RIDGE_H

#include <gsl/gsl_matrix.h>
#include <gsl/gsl_vector.h>

#include "ndpar/ndpar_cv.h"

/* w = (X^T X + lambda I)^-1 X^T y; score = -mean (X_va w - y_va)^2. 0 or a GSL status. */
int ridge_fit_score(double lambda, const gsl_matrix *xtr, const gsl_vector *ytr,
                    const gsl_matrix *xva, const gsl_vector *yva, double *score);

/* The two halves of ridge_fit_score: w, then the negative MSE (and, if neg_mae is not
 * NULL, the negative mean absolute error) of w on (xva, yva). */
int ridge_fit(double lambda, const gsl_matrix *xtr, const gsl_vector *ytr, gsl_vector *w);
void ridge_scores(const gsl_vector *w, const gsl_matrix *xva, const gsl_vector *yva, double *neg_mse,
                  double *neg_mae);

/* x (n x p) and y = x beta + noise, from the test's seeded generator. */
void ridge_data(gsl_matrix *x, gsl_vector *y);

/* The score of fold i with every row gathered by hand and the model fitted directly:
 * the sequential reference of the cv and grid tests. */
double ridge_reference_score(const ndpar_folds *f, size_t i, const gsl_matrix *x,
                             const gsl_vector *y, double lambda);

#endif
