/* ndpar_internal.h: helpers shared by the modules, not installed. */
#ifndef NDPAR_INTERNAL_H
#define NDPAR_INTERNAL_H

#include <gsl/gsl_errno.h>

/* Checks one argument before any work starts; on failure reports through GSL_ERROR
 * (so the program's gsl_set_error_handler sees it) and returns the code. */
#define NDPAR_REQUIRE(cond, msg, code) \
  do {                                 \
    if (!(cond)) GSL_ERROR(msg, code); \
  } while (0)

#define NDPAR_REQUIRE_NULL(cond, msg, code) \
  do {                                      \
    if (!(cond)) GSL_ERROR_NULL(msg, code); \
  } while (0)

/* Marks a branch the hot path rarely takes. */
#define NDPAR_UNLIKELY(x) __builtin_expect(!!(x), 0)

#endif
