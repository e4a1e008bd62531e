/* ndpar.h: every ndpar module in one include.
 *
 *   #include <ndpar/ndpar.h>
 *
 * brings the core, the pool and every module that needs nothing beyond GSL and hwloc. The
 * MPI module needs <mpi.h> and an MPI compiler: include <ndpar/ndpar_mpi.h> for it alone.
 */
#ifndef NDPAR_H
#define NDPAR_H

#include "ndpar/ndpar_core.h"
#include "ndpar/ndpar_pool.h"
#include "ndpar/ndpar_batch.h"
#include "ndpar/ndpar_preprocess.h"
#include "ndpar/ndpar_grad.h"
#include "ndpar/ndpar_models.h"
#include "ndpar/ndpar_ensemble.h"
#include "ndpar/ndpar_cv.h"
#include "ndpar/ndpar_grid.h"
#include "ndpar/ndpar_scalability.h"
#include "ndpar/ndpar_io.h"
#include "ndpar/ndpar_pipeline.h"

#endif /* NDPAR_H */
