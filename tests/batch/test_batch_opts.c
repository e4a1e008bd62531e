/* The MC options struct and the single-matrix MC form: the same numbers as the positional
 * array form, bit for bit, at 1 to threads + 1 threads. */
#include <criterion/criterion.h>
#include <gsl/gsl_rng.h>

#include "ndpar/ndpar_batch.h"
#include "test_util.h"

/* y = x plus noise from the task's stream, and the batch index: every element differs. */
static int noisy(const gsl_matrix *x, gsl_matrix *y, const ndpar_task *t, void *ctx) {
  (void)ctx;
  for (size_t i = 0; i < y->size1; i++)
    for (size_t j = 0; j < y->size2; j++)
      gsl_matrix_set(y, i, j, gsl_matrix_get(x, i, j) + gsl_rng_uniform(t->rng) + (double)t->index);
  return GSL_SUCCESS;
}

static gsl_matrix *filled(size_t rows, size_t cols, double v) {
  gsl_matrix *m = gsl_matrix_alloc(rows, cols);
  gsl_matrix_set_all(m, v);
  return m;
}

Test(batch_mc_opts, options_and_rows_forms_give_the_positional_forms_numbers) {
  gsl_rng *r = test_rng();
  size_t tmax = test_max_threads();
  size_t rows_cases[] = {1, 7, 3 * tmax + 1};
  for (size_t rc = 0; rc < sizeof rows_cases / sizeof *rows_cases; rc++) {
    size_t rows = rows_cases[rc], batch_rows = 3, cols = 2;
    gsl_matrix *x = test_random_matrix(r, rows, cols);
    size_t nb = ndpar_rows_nbatches(rows, batch_rows);
    gsl_matrix *xb[64], *mean[64], *sd[64], *lo[64], *hi[64];
    cr_assert(nb <= 64);
    for (size_t b = 0; b < nb; b++) {
      gsl_matrix_const_view v = ndpar_rows_batch_const(x, batch_rows, b);
      xb[b] = gsl_matrix_alloc(v.matrix.size1, cols);
      gsl_matrix_memcpy(xb[b], &v.matrix);
      mean[b] = filled(v.matrix.size1, cols, 0);
      sd[b] = filled(v.matrix.size1, cols, 0);
      lo[b] = filled(v.matrix.size1, cols, 0);
      hi[b] = filled(v.matrix.size1, cols, 0);
    }
    ndpar_mc_options opt;
    ndpar_mc_options_init(&opt);
    cr_assert_eq(opt.samples, 100);
    opt.samples = 17;
    opt.seed = 99;
    opt.level = 0.8;
    cr_assert_eq(ndpar_batch_infer_mc_interval(NULL, xb, nb, 17, 99, 0.8, noisy, NULL, mean, sd, lo,
                                               hi, NULL), GSL_SUCCESS);
    for (size_t threads = 1; threads <= tmax; threads++) {
      ndpar_pool *p = test_pool_of(threads);
      gsl_matrix *m2[64], *s2[64], *l2[64], *h2[64];
      for (size_t b = 0; b < nb; b++) {
        m2[b] = filled(xb[b]->size1, cols, 1), s2[b] = filled(xb[b]->size1, cols, 1);
        l2[b] = filled(xb[b]->size1, cols, 1), h2[b] = filled(xb[b]->size1, cols, 1);
      }
      size_t failed = 77;
      cr_assert_eq(ndpar_batch_infer_mc_opts(p, xb, nb, noisy, NULL, &opt, m2, s2, l2, h2, &failed),
                   GSL_SUCCESS);
      cr_assert_eq(failed, nb);
      gsl_matrix *mr = filled(rows, cols, 2), *sr = filled(rows, cols, 2);
      gsl_matrix *lr = filled(rows, cols, 2), *hr = filled(rows, cols, 2);
      cr_assert_eq(ndpar_batch_infer_mc_rows(p, x, batch_rows, noisy, NULL, &opt, mr, sr, lr, hr,
                                             &failed), GSL_SUCCESS);
      cr_assert_eq(failed, nb);
      for (size_t b = 0; b < nb; b++) {
        cr_assert(gsl_matrix_equal(mean[b], m2[b]) && gsl_matrix_equal(sd[b], s2[b]));
        cr_assert(gsl_matrix_equal(lo[b], l2[b]) && gsl_matrix_equal(hi[b], h2[b]));
        gsl_matrix_view vm = ndpar_rows_batch(mr, batch_rows, b), vs = ndpar_rows_batch(sr, batch_rows, b);
        gsl_matrix_view vl = ndpar_rows_batch(lr, batch_rows, b), vh = ndpar_rows_batch(hr, batch_rows, b);
        cr_assert(gsl_matrix_equal(mean[b], &vm.matrix), "rows %zu, %zu threads, batch %zu", rows,
                  threads, b);
        cr_assert(gsl_matrix_equal(sd[b], &vs.matrix) && gsl_matrix_equal(lo[b], &vl.matrix) &&
                  gsl_matrix_equal(hi[b], &vh.matrix));
        gsl_matrix_free(m2[b]), gsl_matrix_free(s2[b]), gsl_matrix_free(l2[b]), gsl_matrix_free(h2[b]);
      }
      gsl_matrix_free(mr), gsl_matrix_free(sr), gsl_matrix_free(lr), gsl_matrix_free(hr);
      ndpar_pool_free(p);
    }
    /* Only a mean asked for: the optional outputs may be NULL. */
    ndpar_mc_options plain = {17, 99, 0};
    gsl_matrix *mr = filled(rows, cols, 3);
    cr_assert_eq(ndpar_batch_infer_mc_rows(NULL, x, batch_rows, noisy, NULL, &plain, mr, NULL, NULL,
                                           NULL, NULL), GSL_SUCCESS);
    for (size_t b = 0; b < nb; b++) {
      gsl_matrix_view vm = ndpar_rows_batch(mr, batch_rows, b);
      cr_assert(gsl_matrix_equal(mean[b], &vm.matrix));
    }
    gsl_matrix_free(mr);
    for (size_t b = 0; b < nb; b++) {
      gsl_matrix_free(xb[b]), gsl_matrix_free(mean[b]), gsl_matrix_free(sd[b]);
      gsl_matrix_free(lo[b]), gsl_matrix_free(hi[b]);
    }
    gsl_matrix_free(x);
  }
  gsl_rng_free(r);
}
