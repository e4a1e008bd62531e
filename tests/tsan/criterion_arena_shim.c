/* Linked into the test binaries of ThreadSanitizer builds only (SANITIZE=thread).
 *
 * Criterion's sandbox (BoxFort) maps its shared "inheritable arena" with MAP_FIXED at a
 * random address in [0x2000_0000_0000, 0x7f00_0000_0000), after asking mincore() whether
 * the address is free. Under ThreadSanitizer nearly all of that range is TSan's reserved
 * shadow: mincore() says it is taken, and TSan's mmap interceptor refuses fixed mappings
 * there, so every Criterion binary aborts with "Could not initialize inheritable arena"
 * (Criterion issue #274, open upstream). Here mincore() reports such addresses free, and
 * the mapping is moved. BoxFort accepts any address inside its window and passes the one
 * it got to the test processes, so moving the request into TSan's application range
 * 0x5500_0000_0000-0x5680_0000_0000 (x86-64, 48-bit layout) is enough. The mapping keeps
 * going through TSan's own interceptor (RTLD_NEXT), and MAP_FIXED_NOREPLACE makes sure
 * nothing already mapped there is replaced. Every other call passes through untouched. */
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/types.h>

#define BOXFORT_LO 0x200000000000ULL
#define BOXFORT_HI 0x7f0000000000ULL
#define TSAN_APP_LO 0x550000000000ULL
#define TSAN_APP_HI 0x568000000000ULL
#define MOVED_BASE 0x560000000000ULL

typedef void *(*mmap_fn)(void *, size_t, int, int, int, off_t);

static int boxfort_request(uintptr_t a, int flags) {
  return (flags & MAP_FIXED) && a >= BOXFORT_LO && a < BOXFORT_HI &&
         !(a >= TSAN_APP_LO && a < TSAN_APP_HI);
}

/* Interposers: exported from the test binary (the build hides symbols by default). */
#define SHIM_EXPORT __attribute__((visibility("default")))

SHIM_EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off) {
  static mmap_fn next;
  if (next == NULL) next = (mmap_fn)dlsym(RTLD_NEXT, "mmap64");
  uintptr_t a = (uintptr_t)addr;
  if (boxfort_request(a, flags)) {
    /* Keep BoxFort's randomness: bits 24..38 of its choice pick a 16 MiB slot. */
    addr = (void *)(MOVED_BASE + (((a >> 24) & 0x7fff) << 24));
    flags = (flags & ~MAP_FIXED) | MAP_FIXED_NOREPLACE;
  }
  return next(addr, len, prot, flags, fd, off);
}

typedef int (*mincore_fn)(void *, size_t, unsigned char *);

SHIM_EXPORT int mincore(void *addr, size_t len, unsigned char *vec) {
  static mincore_fn next;
  if (next == NULL) next = (mincore_fn)dlsym(RTLD_NEXT, "mincore");
  if (boxfort_request((uintptr_t)addr, MAP_FIXED)) {
    errno = ENOMEM; /* "not mapped": the mapping will be moved by mmap64() above */
    return -1;
  }
  return next(addr, len, vec);
}
