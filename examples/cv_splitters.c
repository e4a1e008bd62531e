/* cv_splitters: stratified and group k-fold on a small labelled set, the fold indices
 * printed as scikit-learn's StratifiedKFold and GroupKFold give them. */
#include <stdio.h>

#include "ndpar/ndpar_cv.h"

static void print_folds(const char *name, const ndpar_folds *f) {
  for (size_t i = 0; i < ndpar_folds_count(f); i++) {
    const size_t *val;
    size_t nval;
    ndpar_folds_get(f, i, NULL, NULL, &val, &nval);
    printf("%s fold %zu validates on", name, i);
    for (size_t j = 0; j < nval; j++) printf(" %zu", val[j]);
    printf("\n");
  }
}

int main(void) {
  int classes[] = {0, 0, 1, 1, 1, 0, 2, 1, 2, 2};
  int patients[] = {7, 7, 3, 3, 9, 9, 9, 4, 4, 5};
  ndpar_folds *strat = ndpar_folds_stratified(classes, 10, 3, 0, 0);
  ndpar_folds *group = ndpar_folds_group(patients, 10, 3);
  if (strat == NULL || group == NULL) return 1;
  print_folds("stratified", strat); /* 0 2 3 6 | 1 4 8 | 5 7 9 */
  print_folds("group", group);      /* no patient on both sides of a fold */
  ndpar_folds_free(strat);
  ndpar_folds_free(group);
  return 0;
}
