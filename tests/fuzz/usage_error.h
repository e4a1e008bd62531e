/* usage_error.h: scalebench's sb_usage_error for fuzz targets: a jump back to the target
 * instead of an exit. A target calls its parser under `if (setjmp(fuzz_usage_error) == 0)`. */
#ifndef NDPAR_FUZZ_USAGE_ERROR_H
#define NDPAR_FUZZ_USAGE_ERROR_H

#include <setjmp.h>

extern jmp_buf fuzz_usage_error;

#endif
