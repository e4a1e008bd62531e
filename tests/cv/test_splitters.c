/* Tests of the splitters beyond k-fold: repeated, stratified and group k-fold and
 * shuffle-split, against literal transcriptions of scikit-learn's algorithms, its
 * documented examples, and the partition properties on random data. */
#include <criterion/criterion.h>
#include <gsl/gsl_rng.h>
#include <stdlib.h>
#include <string.h>

#include "ndpar/ndpar_cv.h"
#include "test_util.h"

/* Fold i of f validates on exactly the samples j with test_fold[j] == i, and trains on
 * every other sample, both ascending (scikit-learn's test masks and their complements). */
static void assert_folds_match(const ndpar_folds *f, const size_t *test_fold, size_t n, size_t k) {
  cr_assert_eq(ndpar_folds_count(f), k);
  for (size_t i = 0; i < k; i++) {
    const size_t *tr, *va;
    size_t ntr, nva, a = 0, b = 0;
    cr_assert_eq(ndpar_folds_get(f, i, &tr, &ntr, &va, &nva), GSL_SUCCESS);
    for (size_t j = 0; j < n; j++) {
      if (test_fold[j] == i) {
        cr_assert(a < nva && va[a] == j, "fold %zu: validation entry %zu should be %zu", i, a, j);
        a++;
      } else {
        cr_assert(b < ntr && tr[b] == j, "fold %zu: training entry %zu should be %zu", i, b, j);
        b++;
      }
    }
    cr_assert(a == nva && b == ntr, "fold %zu has extra indices", i);
  }
}

/* scikit-learn 1.2's StratifiedKFold._make_test_folds (shuffle = False), transcribed
 * step by step: encode by first appearance, sort, allocate by bincount(y_order[i::k]),
 * arange(k).repeat(allocation[:, c]) to class c's samples in order. */
static void stratified_reference(const int *y, size_t n, size_t k, size_t *test_fold) {
  int *uniq = malloc(n * sizeof *uniq);
  size_t *enc = malloc(n * sizeof *enc), nc = 0;
  for (size_t j = 0; j < n; j++) {
    size_t c = 0;
    while (c < nc && uniq[c] != y[j]) c++;
    if (c == nc) uniq[nc++] = y[j];
    enc[j] = c;
  }
  size_t *order = malloc(n * sizeof *order), m = 0; /* np.sort(y_encoded) */
  for (size_t c = 0; c < nc; c++)
    for (size_t j = 0; j < n; j++)
      if (enc[j] == c) order[m++] = c;
  size_t *alloc = calloc(k * nc, sizeof *alloc);
  for (size_t i = 0; i < k; i++)
    for (size_t p = i; p < n; p += k) alloc[i * nc + order[p]]++;
  for (size_t c = 0; c < nc; c++) {
    size_t i = 0, used = 0;
    for (size_t j = 0; j < n; j++) {
      if (enc[j] != c) continue;
      while (used == alloc[i * nc + c]) i++, used = 0;
      test_fold[j] = i;
      used++;
    }
  }
  free(uniq), free(enc), free(order), free(alloc);
}

/* scikit-learn 1.2's GroupKFold._iter_test_indices, transcribed: unique sorted groups,
 * their sizes, argsort ascending (stable) reversed, each to argmin of the fold weights. */
static void group_reference(const int *g, size_t n, size_t k, size_t *test_fold) {
  int *uniq = malloc(n * sizeof *uniq);
  size_t nu = 0;
  for (size_t j = 0; j < n; j++) { /* sorted unique by insertion */
    size_t p = 0;
    while (p < nu && uniq[p] < g[j]) p++;
    if (p < nu && uniq[p] == g[j]) continue;
    memmove(uniq + p + 1, uniq + p, (nu - p) * sizeof *uniq);
    uniq[p] = g[j], nu++;
  }
  size_t *size = calloc(nu, sizeof *size), *idx = malloc(nu * sizeof *idx), *to = malloc(nu * sizeof *to);
  size_t *inv = malloc(n * sizeof *inv), *weight = calloc(k, sizeof *weight);
  for (size_t j = 0; j < n; j++) {
    size_t p = 0;
    while (uniq[p] != g[j]) p++;
    inv[j] = p, size[p]++;
  }
  for (size_t a = 0; a < nu; a++) { /* stable insertion argsort, ascending */
    size_t b = a;
    while (b > 0 && size[idx[b - 1]] > size[a]) idx[b] = idx[b - 1], b--;
    idx[b] = a;
  }
  for (size_t a = nu; a-- > 0;) { /* [::-1] */
    size_t light = 0;
    for (size_t i = 1; i < k; i++)
      if (weight[i] < weight[light]) light = i;
    weight[light] += size[idx[a]];
    to[idx[a]] = light;
  }
  for (size_t j = 0; j < n; j++) test_fold[j] = to[inv[j]];
  free(uniq), free(size), free(idx), free(to), free(inv), free(weight);
}

Test(splitters, stratified_matches_scikit_learns_documented_examples) {
  int y1[] = {0, 0, 1, 1};                 /* StratifiedKFold's docstring: test [0 2], [1 3] */
  size_t t1[] = {0, 1, 0, 1};
  ndpar_folds *f = ndpar_folds_stratified(y1, 4, 2, 0, 0);
  assert_folds_match(f, t1, 4, 2);
  ndpar_folds_free(f);
  int y2[] = {5, 5, 1, 1, 1, 5, 9, 1, 9, 9}; /* appearance order 5, 1, 9 (not sorted) */
  size_t t2[10];
  stratified_reference(y2, 10, 3, t2);
  size_t expect[] = {0, 1, 0, 0, 1, 2, 0, 2, 1, 2}; /* worked by hand from the algorithm */
  cr_assert_arr_eq(t2, expect, sizeof expect, "the reference transcription itself");
  f = ndpar_folds_stratified(y2, 10, 3, 0, 0);
  assert_folds_match(f, expect, 10, 3);
  ndpar_folds_free(f);
}

Test(splitters, stratified_equals_the_reference_on_random_labels) {
  gsl_rng *r = test_rng();
  for (int trial = 0; trial < 300; trial++) {
    size_t n = 2 + gsl_rng_uniform_int(r, trial < 200 ? 40 : 2000);
    size_t k = 2 + gsl_rng_uniform_int(r, n - 1 < 12 ? n - 1 : 12);
    size_t classes = 1 + gsl_rng_uniform_int(r, 6);
    int *y = malloc(n * sizeof *y);
    for (size_t j = 0; j < n; j++) /* uneven classes, labels far apart and negative */
      y[j] = (int)gsl_rng_uniform_int(r, 1 + gsl_rng_uniform_int(r, classes)) * 1000003 - 7;
    size_t *ref = malloc(n * sizeof *ref), largest = 0;
    stratified_reference(y, n, k, ref);
    for (size_t j = 0; j < n; j++) {
      size_t c = 0;
      for (size_t i = 0; i < n; i++) c += y[i] == y[j];
      largest = c > largest ? c : largest;
    }
    test_quiet_gsl_errors();
    ndpar_folds *f = ndpar_folds_stratified(y, n, k, 0, 0);
    if (largest < k) {
      cr_assert_null(f, "every class below k is scikit-learn's ValueError");
    } else {
      cr_assert_not_null(f);
      assert_folds_match(f, ref, n, k);
      ndpar_folds_free(f);
    }
    free(y), free(ref);
  }
  gsl_rng_free(r);
}

/* Per class, the folds' validation counts differ by at most one; every index validated
 * once, never trained on in its fold. */
Test(splitters, shuffled_stratified_keeps_class_proportions) {
  gsl_rng *r = test_rng();
  for (int trial = 0; trial < 50; trial++) {
    size_t n = 50 + gsl_rng_uniform_int(r, 500), k = 2 + gsl_rng_uniform_int(r, 8);
    int *y = malloc(n * sizeof *y);
    for (size_t j = 0; j < n; j++) y[j] = (int)gsl_rng_uniform_int(r, 3);
    unsigned long seed = gsl_rng_get(r);
    ndpar_folds *f = ndpar_folds_stratified(y, n, k, 1, seed), *g = ndpar_folds_stratified(y, n, k, 1, seed);
    cr_assert_not_null(f);
    size_t *seen = calloc(n, sizeof *seen);
    for (int c = 0; c < 3; c++) {
      size_t lo = n, hi = 0;
      for (size_t i = 0; i < k; i++) {
        const size_t *va, *vb;
        size_t nva, nvb, m = 0;
        ndpar_folds_get(f, i, NULL, NULL, &va, &nva);
        ndpar_folds_get(g, i, NULL, NULL, &vb, &nvb);
        cr_assert(nva == nvb && memcmp(va, vb, nva * sizeof *va) == 0, "reproducible from the seed");
        for (size_t j = 0; j < nva; j++) m += y[va[j]] == c, seen[va[j]] += c == 0;
        lo = m < lo ? m : lo, hi = m > hi ? m : hi;
      }
      cr_assert(hi - lo <= 1, "class %d: %zu..%zu per fold", c, lo, hi);
    }
    for (size_t j = 0; j < n; j++) cr_assert_eq(seen[j], 1);
    ndpar_folds_free(f), ndpar_folds_free(g);
    free(y), free(seen);
  }
  gsl_rng_free(r);
}

Test(splitters, group_matches_scikit_learns_documented_examples) {
  int g1[] = {0, 0, 2, 2}; /* GroupKFold's docstring (1.1): test [2 3], then [0 1] */
  size_t t1[] = {1, 1, 0, 0};
  ndpar_folds *f = ndpar_folds_group(g1, 4, 2);
  assert_folds_match(f, t1, 4, 2);
  ndpar_folds_free(f);
  int g2[] = {0, 0, 2, 2, 3, 3}; /* (1.2 on): test [0 1 4 5], then [2 3] */
  size_t t2[] = {0, 0, 1, 1, 0, 0};
  f = ndpar_folds_group(g2, 6, 2);
  assert_folds_match(f, t2, 6, 2);
  ndpar_folds_free(f);
}

Test(splitters, group_equals_the_reference_and_never_splits_a_group) {
  gsl_rng *r = test_rng();
  for (int trial = 0; trial < 300; trial++) {
    size_t n = 2 + gsl_rng_uniform_int(r, trial < 200 ? 40 : 3000);
    size_t k = 2 + gsl_rng_uniform_int(r, n - 1 < 10 ? n - 1 : 10);
    size_t range = 1 + gsl_rng_uniform_int(r, n < 40 ? n : 40);
    int *g = malloc(n * sizeof *g);
    for (size_t j = 0; j < n; j++) g[j] = (int)gsl_rng_uniform_int(r, range) * 37 - 500;
    size_t distinct = 0;
    for (size_t j = 0; j < n; j++) {
      int first = 1;
      for (size_t i = 0; i < j && first; i++) first = g[i] != g[j];
      distinct += first;
    }
    test_quiet_gsl_errors();
    ndpar_folds *f = ndpar_folds_group(g, n, k);
    if (distinct < k) {
      cr_assert_null(f);
      cr_assert(strstr(test_gsl_last_reason(), "number of groups"));
      free(g);
      continue;
    }
    size_t *ref = malloc(n * sizeof *ref);
    group_reference(g, n, k, ref);
    assert_folds_match(f, ref, n, k);
    for (size_t i = 0; i < k; i++) { /* no group on both sides */
      const size_t *tr, *va;
      size_t ntr, nva;
      ndpar_folds_get(f, i, &tr, &ntr, &va, &nva);
      for (size_t a = 0; a < ntr; a++)
        for (size_t b = 0; b < nva; b++) cr_assert_neq(g[tr[a]], g[va[b]]);
    }
    ndpar_folds_free(f);
    free(g), free(ref);
  }
  gsl_rng_free(r);
}

/* Where scikit-learn's order of tied group sizes is numpy's and not a stable sort's: numpy's
 * default argsort (introsort) insertion-sorts 16 elements or fewer, so it is stable for up to
 * 16 groups in all, whatever their sizes; from 17 groups on its partitioning reorders ties.
 * The folds below are scikit-learn 1.2.1's on numpy 1.24.2 (GroupKFold(3), groups 0..ng-1 of
 * 2 samples each; the fold of each group): equal to ndpar's at 16 groups, not at 17, where
 * ndpar keeps the stable order (docs/cv.md says so). */
Test(splitters, group_ties_as_numpy_up_to_16_groups_stable_beyond) {
  static const size_t sk16[] = {0, 2, 1, 0, 2, 1, 0, 2, 1, 0, 2, 1, 0, 2, 1, 0};
  static const size_t sk17[] = {1, 2, 0, 1, 2, 0, 1, 1, 2, 1, 2, 0, 1, 2, 0, 0, 0};
  for (size_t ng = 16; ng <= 17; ng++) {
    int g[34];
    size_t ref[34], n = 2 * ng;
    for (size_t j = 0; j < n; j++) g[j] = (int)(j / 2);
    ndpar_folds *f = ndpar_folds_group(g, n, 3);
    group_reference(g, n, 3, ref);
    assert_folds_match(f, ref, n, 3);
    size_t same = 0;
    for (size_t j = 0; j < n; j += 2) same += ref[j] == (ng == 16 ? sk16 : sk17)[j / 2];
    if (ng == 16) cr_assert_eq(same, ng, "16 groups: scikit-learn's folds");
    else cr_assert_lt(same, ng, "17 groups: numpy's unstable order differs from the stable one");
    ndpar_folds_free(f);
  }
}

Test(splitters, repeated_kfold_is_shuffled_kfold_per_repeat) {
  gsl_rng *r = test_rng();
  size_t ns[] = {2, 3, 7, 100, 1001};
  for (size_t a = 0; a < 5; a++) {
    size_t n = ns[a], k = n < 5 ? n : 5, repeats = 1 + gsl_rng_uniform_int(r, 4);
    unsigned long seed = gsl_rng_get(r);
    ndpar_folds *f = ndpar_folds_repeated_kfold(n, k, repeats, seed);
    cr_assert_not_null(f);
    cr_assert_eq(ndpar_folds_count(f), k * repeats);
    for (size_t rep = 0; rep < repeats; rep++) {
      ndpar_folds *one = ndpar_folds_kfold(n, k, 1, ndpar_stream_seed(seed, rep));
      for (size_t i = 0; i < k; i++) {
        const size_t *tr, *va, *tr1, *va1;
        size_t ntr, nva, ntr1, nva1;
        ndpar_folds_get(f, rep * k + i, &tr, &ntr, &va, &nva);
        ndpar_folds_get(one, i, &tr1, &ntr1, &va1, &nva1);
        cr_assert(ntr == ntr1 && nva == nva1);
        cr_assert(memcmp(tr, tr1, ntr * sizeof *tr) == 0 && memcmp(va, va1, nva * sizeof *va) == 0,
                  "repeat %zu fold %zu", rep, i);
      }
      ndpar_folds_free(one);
    }
    ndpar_folds_free(f);
  }
  gsl_rng_free(r);
}

Test(splitters, shuffle_split_sizes_disjoint_and_reproducible) {
  gsl_rng *r = test_rng();
  for (int trial = 0; trial < 100; trial++) {
    size_t n = 2 + gsl_rng_uniform_int(r, 500), nval = 1 + gsl_rng_uniform_int(r, n - 1);
    size_t ntrain = gsl_rng_uniform_int(r, n - nval + 1), splits = 1 + gsl_rng_uniform_int(r, 6);
    unsigned long seed = gsl_rng_get(r);
    ndpar_folds *f = ndpar_folds_shuffle_split(n, splits, nval, ntrain, seed);
    ndpar_folds *g = ndpar_folds_shuffle_split(n, splits, nval, ntrain, seed);
    cr_assert_not_null(f);
    char *mark = malloc(n);
    for (size_t s = 0; s < splits; s++) {
      const size_t *tr, *va, *tr2, *va2;
      size_t ntr, nva, ntr2, nva2;
      ndpar_folds_get(f, s, &tr, &ntr, &va, &nva);
      ndpar_folds_get(g, s, &tr2, &ntr2, &va2, &nva2);
      cr_assert_eq(nva, nval);
      cr_assert_eq(ntr, ntrain ? ntrain : n - nval);
      cr_assert(memcmp(tr, tr2, ntr * sizeof *tr) == 0 && memcmp(va, va2, nva * sizeof *va) == 0);
      memset(mark, 0, n);
      for (size_t j = 0; j < nva; j++) {
        mark[va[j]]++;
        cr_assert(j == 0 || va[j - 1] < va[j]);
      }
      for (size_t j = 0; j < ntr; j++) {
        mark[tr[j]]++;
        cr_assert(j == 0 || tr[j - 1] < tr[j]);
      }
      for (size_t j = 0; j < n; j++) cr_assert(mark[j] <= 1, "index %zu on both sides", j);
    }
    ndpar_folds_free(f), ndpar_folds_free(g);
    free(mark);
  }
  /* another seed, another split; every index validated about nval / n of the time */
  size_t hits[100] = {0};
  ndpar_folds *f = ndpar_folds_shuffle_split(100, 400, 25, 0, 7);
  for (size_t s = 0; s < 400; s++) {
    const size_t *va;
    size_t nva;
    ndpar_folds_get(f, s, NULL, NULL, &va, &nva);
    for (size_t j = 0; j < nva; j++) hits[va[j]]++;
  }
  for (size_t j = 0; j < 100; j++) cr_assert(hits[j] > 60 && hits[j] < 140, "index %zu: %zu of 400", j, hits[j]);
  ndpar_folds_free(f);
  gsl_rng_free(r);
}

Test(splitters, bad_arguments_name_the_problem) {
  test_quiet_gsl_errors();
  int y[] = {1, 1, 2, 2, 3};
  cr_assert_null(ndpar_folds_stratified(NULL, 5, 2, 0, 0));
  cr_assert_null(ndpar_folds_stratified(y, 5, 1, 0, 0));
  cr_assert_null(ndpar_folds_stratified(y, 5, 6, 0, 0));
  cr_assert_null(ndpar_folds_stratified(y, 5, 3, 0, 0));
  cr_assert(strstr(test_gsl_last_reason(), "larger than every class"));
  cr_assert_null(ndpar_folds_group(y, 5, 4));
  cr_assert(strstr(test_gsl_last_reason(), "number of groups"));
  cr_assert_null(ndpar_folds_group(NULL, 5, 2));
  cr_assert_null(ndpar_folds_repeated_kfold(5, 2, 0, 0));
  cr_assert(strstr(test_gsl_last_reason(), "repeats"));
  cr_assert_null(ndpar_folds_repeated_kfold(5, 6, 1, 0));
  cr_assert_null(ndpar_folds_repeated_kfold((size_t)-1, 2, (size_t)-1, 0));
  cr_assert(strstr(test_gsl_last_reason(), "overflow"));
  cr_assert_null(ndpar_folds_shuffle_split(10, 0, 2, 0, 0));
  cr_assert_null(ndpar_folds_shuffle_split(10, 3, 0, 0, 0));
  cr_assert_null(ndpar_folds_shuffle_split(10, 3, 10, 0, 0));
  cr_assert_null(ndpar_folds_shuffle_split(10, 3, 4, 7, 0));
  cr_assert(strstr(test_gsl_last_reason(), "exceed"));
  ndpar_folds *f = ndpar_folds_stratified(y, 5, 2, 0, 0); /* class 3 below k: allowed */
  cr_assert_not_null(f);
  ndpar_folds_free(f);
}
