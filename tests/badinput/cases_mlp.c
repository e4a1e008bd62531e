/* Bad-input cases of the MLP regressor's public functions (ndpar_models.h). */
#include "badinput.h"

#include "ndpar/ndpar_models.h"

static void free_model(void *m) {
  ndpar_model_free(m);
}

CASE(ndpar_mlp_options_init, "NULL is a no-op; the defaults allocate") {
  ndpar_mlp_options_init(NULL);
  ndpar_mlp_options o;
  ndpar_mlp_options_init(&o);
  ndpar_model *m = bi_hold(ndpar_mlp_alloc(&o), free_model);
  EXPECT_TRUE(m != NULL);
  EXPECT_TRUE(bi_errors() == 0);
}

CASE(ndpar_mlp_alloc, "NULL options: the defaults; each bad field GSL_EINVAL") {
  ndpar_model *m = bi_hold(ndpar_mlp_alloc(NULL), free_model);
  EXPECT_TRUE(m != NULL);
  ndpar_mlp_options o;
  ndpar_mlp_options_init(&o);
  o.layers = 0;
  EXPECT_NULL(ndpar_mlp_alloc(&o));
  ndpar_mlp_options_init(&o);
  o.layers = NDPAR_MLP_MAX_LAYERS + 1;
  EXPECT_NULL(ndpar_mlp_alloc(&o));
  ndpar_mlp_options_init(&o);
  o.hidden[0] = 0;
  EXPECT_NULL(ndpar_mlp_alloc(&o));
  ndpar_mlp_options_init(&o);
  o.lr = NAN;
  EXPECT_NULL(ndpar_mlp_alloc(&o));
  ndpar_mlp_options_init(&o);
  o.lr = INFINITY;
  EXPECT_NULL(ndpar_mlp_alloc(&o));
  ndpar_mlp_options_init(&o);
  o.dropout = 1;
  EXPECT_NULL(ndpar_mlp_alloc(&o));
  ndpar_mlp_options_init(&o);
  o.validation = -DBL_MIN;
  EXPECT_NULL(ndpar_mlp_alloc(&o));
  ndpar_mlp_options_init(&o);
  o.epochs = 0;
  EXPECT_NULL(ndpar_mlp_alloc(&o));
  ndpar_mlp_options_init(&o);
  o.solver = (ndpar_solver)INT_MAX;
  EXPECT_NULL(ndpar_mlp_alloc(&o));
}

CASE(ndpar_mlp_alloc, "fit: NaN targets GSL_EDOM, the model unfitted") {
  ndpar_mlp_options o;
  ndpar_mlp_options_init(&o);
  o.hidden[0] = 3;
  o.epochs = 2;
  ndpar_model *m = bi_hold(ndpar_mlp_alloc(&o), free_model);
  gsl_matrix *x = bi_matrix(4, 2);
  gsl_matrix *y = bi_matrix(4, 1);
  gsl_matrix_set(y, 2, 0, NAN);
  EXPECT_CODE(ndpar_model_fit(bi_pool(2), m, x, y), GSL_EDOM);
  EXPECT_TRUE(!ndpar_model_fitted(m));
  gsl_matrix_set(y, 2, 0, 1);
  EXPECT_OK(ndpar_model_fit(bi_pool(2), m, x, y));
  EXPECT_TRUE(ndpar_model_fitted(m));
}
