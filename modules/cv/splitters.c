/* splitters.c: the fold sets beyond k-fold and time series: repeated k-fold, stratified
 * k-fold, group k-fold and shuffle-split, following scikit-learn's algorithms. */
#include "ndpar/ndpar_cv.h"
#include "ndpar_internal.h"

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <stdint.h>
#include <stdlib.h>

/* Folds first .. first + k - 1 of f from a label per sample: fold i validates on the
 * samples labelled i and trains on every other sample, both in ascending order (as
 * scikit-learn's test masks). Every label is below k; every fold's validation set is
 * non-empty and not all of the samples (the callers' checks ensure it). */
static int folds_from_labels(ndpar_folds *f, size_t first, const size_t *label, size_t n,
                             size_t k, const char *who) {
  size_t *val = malloc(n * sizeof *val), *train = malloc(n * sizeof *train);
  int status = val && train ? GSL_SUCCESS : GSL_ENOMEM;
  for (size_t i = 0; status == GSL_SUCCESS && i < k; i++) {
    size_t nval = 0, ntrain = 0;
    for (size_t j = 0; j < n; j++) {
      if (label[j] == i) val[nval++] = j;
      else train[ntrain++] = j;
    }
    status = ndpar_folds_set(f, first + i, train, ntrain, val, nval);
  }
  free(val);
  free(train);
  if (status == GSL_ENOMEM) NDPAR_ERROR_FMT(GSL_ENOMEM, "%s: out of memory", who);
  return status;
}

/* n samples' working arrays (at most 16 bytes a sample) have a representable size. */
static int check_samples(size_t n, const char *who) {
  size_t bytes;
  if (!ndpar_size_mul(n, 16, &bytes)) NDPAR_ERROR_FMT(GSL_EINVAL, "%s: n = %zu samples overflow a size_t", who, n);
  return GSL_SUCCESS;
}

/* The labels and the folds of k folds over n samples, NULL (reported) if out of memory. */
static int alloc_work(size_t n, size_t k, const char *who, size_t **label, ndpar_folds **f) {
  *label = malloc(n * sizeof **label);
  *f = *label ? ndpar_folds_alloc(n, k) : NULL;
  if (*f == NULL) {
    free(*label);
    NDPAR_ERROR_FMT(GSL_ENOMEM, "%s: out of memory", who);
  }
  return GSL_SUCCESS;
}

/* Ends a splitter: frees the labels, and the folds if status is an error. */
static ndpar_folds *finish(ndpar_folds *f, size_t *label, int status) {
  free(label);
  if (status == GSL_SUCCESS) return f;
  ndpar_folds_free(f);
  return NULL;
}

ndpar_folds *ndpar_folds_repeated_kfold(size_t n, size_t k, size_t repeats, unsigned long seed) {
  static const char who[] = "folds_repeated_kfold";
  NDPAR_REQUIRE_NULL(k >= 2, "folds_repeated_kfold: k must be at least 2", GSL_EINVAL);
  NDPAR_REQUIRE_NULL(k <= n, "folds_repeated_kfold: k is larger than n (a fold would be empty)", GSL_EINVAL);
  NDPAR_REQUIRE_NULL(repeats > 0, "folds_repeated_kfold: repeats must be positive", GSL_EINVAL);
  if (check_samples(n, who)) return NULL;
  size_t nfolds;
  if (!ndpar_size_mul(k, repeats, &nfolds)) NDPAR_ERROR_NULL_FMT(GSL_EINVAL, "%s: %zu repeats of %zu folds overflow", who, repeats, k);
  size_t *label, *order = malloc(n * sizeof *order);
  ndpar_folds *f;
  gsl_rng *r = gsl_rng_alloc(gsl_rng_taus2);
  if (!order || !r || alloc_work(n, nfolds, who, &label, &f)) {
    free(order);
    if (r) gsl_rng_free(r);
    if (!order || !r) GSL_ERROR_NULL("folds_repeated_kfold: out of memory", GSL_ENOMEM);
    return NULL;
  }
  int status = GSL_SUCCESS;
  for (size_t rep = 0; status == GSL_SUCCESS && rep < repeats; rep++) {
    /* repeat rep is ndpar_folds_kfold(n, k, 1, s) with s drawn from stream (seed, rep)'s
     * seed, as ndpar_folds_kfold shuffles with stream (s, 0) */
    for (size_t i = 0; i < n; i++) order[i] = i;
    gsl_rng_set(r, ndpar_stream_seed(ndpar_stream_seed(seed, rep), 0));
    gsl_ran_shuffle(r, order, n, sizeof *order);
    for (size_t i = 0, start = 0; i < k; i++) {
      size_t size = n / k + (i < n % k);
      for (size_t j = start; j < start + size; j++) label[order[j]] = i;
      start += size;
    }
    status = folds_from_labels(f, rep * k, label, n, k, who);
  }
  free(order);
  gsl_rng_free(r);
  return finish(f, label, status);
}

typedef struct {
  int value;
  size_t first;
} label_pos;

static int cmp_label_pos(const void *a, const void *b) {
  const label_pos *x = a, *y = b;
  if (x->value != y->value) return (x->value > y->value) - (x->value < y->value);
  return (x->first > y->first) - (x->first < y->first);
}

/* code[j] = the number of y[j]'s class, classes numbered by ascending value (as
 * numpy.unique) or, with by_appearance, by their first sample (scikit-learn's encoding in
 * StratifiedKFold). Returns the class count, 0 if out of memory. O(n log n) for any
 * label values. */
static size_t encode(const int *y, size_t n, int by_appearance, size_t *code) {
  label_pos *p = malloc(n * sizeof *p);
  size_t *first_of = malloc(n * sizeof *first_of); /* per sample: 1 + the class it opens, or 0 */
  size_t classes = 0;
  if (p && first_of) {
    for (size_t j = 0; j < n; j++) p[j] = (label_pos){y[j], j}, first_of[j] = 0;
    qsort(p, n, sizeof *p, cmp_label_pos);
    for (size_t j = 0; j < n; j++) {
      if (j == 0 || p[j].value != p[j - 1].value) first_of[p[j].first] = ++classes;
      code[p[j].first] = classes - 1;
    }
    if (by_appearance) { /* renumber: the class whose first sample comes first is 0 */
      size_t *renumber = (size_t *)p, next = 0; /* p is no longer needed; classes <= n */
      for (size_t j = 0; j < n; j++)
        if (first_of[j]) renumber[first_of[j] - 1] = next++;
      for (size_t j = 0; j < n; j++) code[j] = renumber[code[j]];
    }
  }
  free(p);
  free(first_of);
  return classes;
}

ndpar_folds *ndpar_folds_stratified(const int *y, size_t n, size_t k, int shuffle,
                                    unsigned long seed) {
  static const char who[] = "folds_stratified";
  NDPAR_REQUIRE_NULL(y != NULL, "folds_stratified: y is NULL", GSL_EFAULT);
  NDPAR_REQUIRE_NULL(k >= 2, "folds_stratified: k must be at least 2", GSL_EINVAL);
  NDPAR_REQUIRE_NULL(k <= n, "folds_stratified: k is larger than n (a fold would be empty)", GSL_EINVAL);
  if (check_samples(n, who)) return NULL;
  size_t *label, *code = malloc(n * sizeof *code), *count = calloc(n, sizeof *count);
  size_t *slot = malloc(n * sizeof *slot);
  ndpar_folds *f = NULL;
  size_t classes = code && count && slot ? encode(y, n, 1, code) : 0;
  if (classes == 0 || alloc_work(n, k, who, &label, &f)) {
    free(code), free(count), free(slot);
    if (classes == 0) GSL_ERROR_NULL("folds_stratified: out of memory", GSL_ENOMEM);
    return NULL;
  }
  size_t largest = 0;
  for (size_t j = 0; j < n; j++) count[code[j]]++;
  for (size_t c = 0; c < classes; c++) largest = count[c] > largest ? count[c] : largest;
  int status = GSL_SUCCESS;
  if (largest < k) { /* scikit-learn's ValueError: every class smaller than k */
    status = GSL_EINVAL;
    ndpar_error_fmt(GSL_EINVAL, __FILE__, __LINE__, "%s: k = %zu is larger than every class (the largest has %zu)", who, k, largest);
  }
  gsl_rng *r = NULL;
  if (status == GSL_SUCCESS && shuffle) {
    r = gsl_rng_alloc(gsl_rng_taus2);
    if (r) gsl_rng_set(r, ndpar_stream_seed(seed, 0));
    else status = GSL_ENOMEM, ndpar_error_fmt(GSL_ENOMEM, __FILE__, __LINE__, "%s: out of memory", who);
  }
  /* The allocation of scikit-learn: the classes sorted by code take positions
   * [start_c, start_c + count_c) of n, and fold i gets the positions p with p % k == i
   * (round robin). Class c's samples, in index order, then get fold 0 for as many as fold
   * 0 holds, fold 1 for the next ones, and so on (shuffled, with shuffle): slot holds
   * those folds, class by class. */
  for (size_t c = 0, start = 0; status == GSL_SUCCESS && c < classes; c++) {
    size_t end = start + count[c], m = start;
    for (size_t i = 0; i < k; i++) {
      size_t first = start + (i + k - start % k) % k; /* the first position >= start that is i mod k */
      size_t held = first < end ? (end - first + k - 1) / k : 0;
      for (size_t h = 0; h < held; h++) slot[m++] = i;
    }
    if (r) gsl_ran_shuffle(r, slot + start, count[c], sizeof *slot);
    count[c] = start; /* from here: the next unused slot of class c */
    start = end;
  }
  for (size_t j = 0; status == GSL_SUCCESS && j < n; j++) label[j] = slot[count[code[j]]++];
  if (status == GSL_SUCCESS) status = folds_from_labels(f, 0, label, n, k, who);
  if (r) gsl_rng_free(r);
  free(code), free(count), free(slot);
  return finish(f, label, status);
}

typedef struct {
  size_t count, group;
} group_size;

/* Decreasing size, and among equal sizes the larger group number first: scikit-learn's
 * argsort(sizes)[::-1] with a stable sort (numpy's default argsort is stable for up to 16
 * groups in all; from 17 on it may reorder equal sizes). */
static int cmp_group_size(const void *a, const void *b) {
  const group_size *x = a, *y = b;
  if (x->count != y->count) return (x->count < y->count) - (x->count > y->count);
  return (x->group < y->group) - (x->group > y->group);
}

ndpar_folds *ndpar_folds_group(const int *groups, size_t n, size_t k) {
  static const char who[] = "folds_group";
  NDPAR_REQUIRE_NULL(groups != NULL, "folds_group: groups is NULL", GSL_EFAULT);
  NDPAR_REQUIRE_NULL(k >= 2, "folds_group: k must be at least 2", GSL_EINVAL);
  NDPAR_REQUIRE_NULL(k <= n, "folds_group: k is larger than n (a fold would be empty)", GSL_EINVAL);
  if (check_samples(n, who)) return NULL;
  size_t *label, *code = malloc(n * sizeof *code), *fold_of = malloc(n * sizeof *fold_of);
  group_size *size = calloc(n, sizeof *size);
  size_t *weight = calloc(k, sizeof *weight);
  ndpar_folds *f = NULL;
  size_t ngroups = code && fold_of && size && weight ? encode(groups, n, 0, code) : 0;
  if (ngroups == 0 || alloc_work(n, k, who, &label, &f)) {
    free(code), free(fold_of), free(size), free(weight);
    if (ngroups == 0) GSL_ERROR_NULL("folds_group: out of memory", GSL_ENOMEM);
    return NULL;
  }
  int status = GSL_SUCCESS;
  if (ngroups < k) {
    status = GSL_EINVAL;
    ndpar_error_fmt(GSL_EINVAL, __FILE__, __LINE__, "%s: k = %zu is larger than the number of groups (%zu)", who, k, ngroups);
  }
  for (size_t g = 0; g < ngroups; g++) size[g].group = g;
  for (size_t j = 0; j < n; j++) size[code[j]].count++;
  qsort(size, ngroups, sizeof *size, cmp_group_size);
  for (size_t a = 0; a < ngroups; a++) { /* each group, largest first, to the lightest fold */
    size_t light = 0;
    for (size_t i = 1; i < k; i++)
      if (weight[i] < weight[light]) light = i;
    weight[light] += size[a].count;
    fold_of[size[a].group] = light;
  }
  for (size_t j = 0; j < n; j++) label[j] = fold_of[code[j]];
  if (status == GSL_SUCCESS) status = folds_from_labels(f, 0, label, n, k, who);
  free(code), free(fold_of), free(size), free(weight);
  return finish(f, label, status);
}

ndpar_folds *ndpar_folds_shuffle_split(size_t n, size_t splits, size_t nval, size_t ntrain,
                                       unsigned long seed) {
  static const char who[] = "folds_shuffle_split";
  NDPAR_REQUIRE_NULL(splits > 0, "folds_shuffle_split: splits must be positive", GSL_EINVAL);
  NDPAR_REQUIRE_NULL(nval > 0, "folds_shuffle_split: nval must be positive", GSL_EINVAL);
  NDPAR_REQUIRE_NULL(nval < n, "folds_shuffle_split: nval leaves no training samples", GSL_EINVAL);
  if (check_samples(n, who)) return NULL;
  if (ntrain == 0) ntrain = n - nval;
  if (ntrain > n - nval)
    NDPAR_ERROR_NULL_FMT(GSL_EINVAL, "%s: nval %zu + ntrain %zu exceed n = %zu", who, nval, ntrain, n);
  size_t *label, *order = malloc(n * sizeof *order);
  size_t *val = malloc(nval * sizeof *val), *train = malloc(ntrain * sizeof *train);
  ndpar_folds *f = NULL;
  gsl_rng *r = gsl_rng_alloc(gsl_rng_taus2);
  int ok = order && val && train && r;
  if (!ok || alloc_work(n, splits, who, &label, &f)) {
    free(order), free(val), free(train);
    if (r) gsl_rng_free(r);
    if (!ok) GSL_ERROR_NULL("folds_shuffle_split: out of memory", GSL_ENOMEM);
    return NULL;
  }
  int status = GSL_SUCCESS;
  for (size_t s = 0; status == GSL_SUCCESS && s < splits; s++) {
    /* split s: the first nval of a permutation from stream (seed, s) validate, the next
     * ntrain train (scikit-learn's form); both kept ascending */
    for (size_t i = 0; i < n; i++) order[i] = i;
    gsl_rng_set(r, ndpar_stream_seed(seed, s));
    gsl_ran_shuffle(r, order, n, sizeof *order);
    for (size_t i = 0; i < n; i++) label[order[i]] = i < nval ? 0 : i < nval + ntrain ? 1 : 2;
    for (size_t j = 0, a = 0, b = 0; j < n; j++) {
      if (label[j] == 0) val[a++] = j;
      else if (label[j] == 1) train[b++] = j;
    }
    status = ndpar_folds_set(f, s, train, ntrain, val, nval);
  }
  free(order), free(val), free(train);
  gsl_rng_free(r);
  return finish(f, label, status);
}
