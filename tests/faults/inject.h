/* inject.h: fault injection for tests/faults. The program is linked with -Wl,--wrap for
 * every allocator and pthread_create (see the Makefile's FAULTS_WRAP), so the library's
 * calls come here. FAIL_ALLOC_AT=N fails the N-th allocation (malloc, calloc, realloc,
 * posix_memalign, aligned_alloc, and gsl_*_alloc counted as one each), FAIL_THREAD_AT=N
 * the N-th pthread_create, counting only while armed. */
#ifndef NDPAR_FAULTS_INJECT_H
#define NDPAR_FAULTS_INJECT_H

#include <stddef.h>

/* Reads FAIL_ALLOC_AT and FAIL_THREAD_AT and starts counting. */
void inject_arm(void);
/* Stops counting (the program's own checks allocate freely). */
void inject_disarm(void);
/* Calls counted while armed, and whether the requested failure was injected. */
size_t inject_allocs(void);
size_t inject_threads(void);
int inject_fired(void);

#endif
