/* ensemble_internal.h: what the ensemble module's files share (not installed). */
#ifndef NDPAR_ENSEMBLE_INTERNAL_H
#define NDPAR_ENSEMBLE_INTERNAL_H

#include "ndpar/ndpar_ensemble.h"

/* One element's aggregate of count member values v (reordered: the median selects, the
 * trimmed mean sorts); for the weighted mean v holds weight x value and w_used the weights'
 * sum. NaN for count 0. */
double ensemble_aggregate(ndpar_agg agg, double trim, double *v, size_t count, double w_used);
/* out = weights scaled by 2^e so that the largest is in [1, 2): exact, and weights near
 * DBL_MAX overflow neither their sum nor their products with the members' values. */
void ensemble_scale_weights(const double *weights, size_t m, double *out);

#endif
