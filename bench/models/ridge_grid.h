/* ridge_grid.h: bench_models' second part, the ridge grid job (ridge_grid.c). */
#ifndef NDPAR_BENCH_RIDGE_GRID_H
#define NDPAR_BENCH_RIDGE_GRID_H

#include "ref/timing.h"

/* Times the job on the bundled CO2 and Seattle series; prints the tables. 0 on success. */
int bench_ridge_grid(const bench_options *opt);

/* The python3 that has scikit-learn: Debian's (/usr/bin/python3) where it exists, else the
 * first on PATH. */
const char *bench_python(void);

#endif
