/* cases_audit.c: the cases an audit of every entry point asked for (issue 28): `_init(NULL)`
 * for every options struct, size x n products in every call that takes an array of the
 * caller's parameter structs, and every pair of outputs passed as the same object. */
#include "badinput.h"

#include "ndpar/ndpar_io.h"

/* ---- _init(NULL): a no-op for every options struct ---- */

CASE(ndpar_csv_options_init, "NULL is a no-op") { ndpar_csv_options_init(NULL); }

CASE(ndpar_pool_config_init, "NULL is a no-op") { ndpar_pool_config_init(NULL); }

CASE(ndpar_scal_config_init, "NULL is a no-op") { ndpar_scal_config_init(NULL); }
