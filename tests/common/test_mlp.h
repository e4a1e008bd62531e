/* test_mlp.h: the reference MLP (ref/wl.h) as the tests that need a model build it. */
#ifndef NDPAR_TEST_MLP_H
#define NDPAR_TEST_MLP_H

#include "ref/wl.h"
#include "test_util.h"

/* lags -> hidden -> horizon, Glorot weights from the test's seed, the given dropout. */
static inline wl_mlp *test_mlp(size_t lags, size_t hidden, size_t horizon, double dropout) {
  wl_mlp *m = wl_mlp_alloc(lags, hidden, horizon);
  wl_mlp_init(m, test_seed());
  m->dropout = dropout;
  return m;
}

#endif
