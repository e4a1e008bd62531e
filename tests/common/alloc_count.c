/* alloc_count.c: counts the heap allocations of the whole test process (every thread), so
 * a test can assert that a workspace call allocates nothing. The test binary's own malloc,
 * calloc, realloc and aligned allocators count, then call glibc's. Under a sanitizer, whose
 * runtime owns the allocator, nothing is replaced and counting is unavailable. */
#include "test_util.h"

#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)

int test_alloc_counting(void) { return 0; }
size_t test_alloc_count(void) { return 0; }
size_t test_alloc_bytes(void) { return 0; }

#else

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

static atomic_size_t allocations, bytes;

/* Interposers: exported from the test binary (the build hides symbols by default), so that
 * the shared libraries' calls (GSL's, libc's own) reach them too. */
#define COUNT_EXPORT __attribute__((visibility("default")))

int test_alloc_counting(void) { return 1; }
size_t test_alloc_count(void) { return atomic_load(&allocations); }
size_t test_alloc_bytes(void) { return atomic_load(&bytes); }

static void count_bytes(size_t n) {
  atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&bytes, n, memory_order_relaxed);
}

COUNT_EXPORT void *malloc(size_t n) {
  count_bytes(n);
  return __libc_malloc(n);
}

COUNT_EXPORT void *calloc(size_t n, size_t size) {
  count_bytes(n * size);
  return __libc_calloc(n, size);
}

COUNT_EXPORT void *realloc(void *p, size_t n) {
  count_bytes(n);
  return __libc_realloc(p, n);
}

COUNT_EXPORT void *memalign(size_t align, size_t n) {
  count_bytes(n);
  return __libc_memalign(align, n);
}

COUNT_EXPORT void *aligned_alloc(size_t align, size_t n) {
  count_bytes(n);
  return __libc_memalign(align, n);
}

COUNT_EXPORT int posix_memalign(void **out, size_t align, size_t n) {
  if (align < sizeof(void *) || (align & (align - 1)) != 0) return EINVAL;
  count_bytes(n);
  void *p = __libc_memalign(align, n);
  if (p == NULL) return ENOMEM;
  *out = p;
  return 0;
}

#endif
