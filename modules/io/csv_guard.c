/* csv_guard.c: a mapped file that shrinks while it is read must not kill the process.
 *
 * Reading a page of a file mapping past the file's current end raises SIGBUS, whose default
 * action ends the process: a log rotation or a concurrent writer truncating the file would
 * take the host program down. The whole-file reader registers its mapping here; a SIGBUS
 * handler (installed once, on the first registration) that finds the faulting address
 * inside a registered mapping maps zero-filled pages over the rest of that mapping
 * (MAP_FIXED, anonymous) and marks it shrunk, so the faulting read resumes on zeros; the
 * reader then reports the shrink as its error. A fault anywhere else goes to the handler
 * that was installed before, or gets the default action, as if ndpar had installed nothing. */
#include "csv_guard.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define GUARD_SLOTS 64

typedef struct {
  _Atomic uintptr_t start; /* 0: free */
  _Atomic size_t len;      /* rounded up to whole pages */
  atomic_int shrunk;
} guard_slot;

static guard_slot slots[GUARD_SLOTS];
static struct sigaction previous;
static pthread_once_t install_once = PTHREAD_ONCE_INIT;
static int installed;

/* Async-signal-safe: atomics, mmap and sigaction (system calls) only. */
static void on_sigbus(int sig, siginfo_t *si, void *context) {
  uintptr_t a = (uintptr_t)si->si_addr;
  for (int i = 0; i < GUARD_SLOTS; i++) {
    uintptr_t s = atomic_load(&slots[i].start);
    size_t len = atomic_load(&slots[i].len);
    if (s <= 1 || a < s || a - s >= len) continue; /* (1: a slot being filled in) */
    uintptr_t page = a & ~(uintptr_t)(sysconf(_SC_PAGESIZE) - 1);
    void *z = mmap((void *)page, s + len - page, PROT_READ, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (z == MAP_FAILED) break;
    atomic_store(&slots[i].shrunk, 1);
    return;
  }
  if (previous.sa_flags & SA_SIGINFO) {
    previous.sa_sigaction(sig, si, context);
  } else if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
    previous.sa_handler(sig);
  } else {
    /* the default action: back to it, and the fault happens again when this returns */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGBUS, &dfl, NULL);
  }
}

static void install(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_sigbus;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  installed = sigaction(SIGBUS, &sa, &previous) == 0;
}

int csv_guard_add(const void *start, size_t len) {
  pthread_once(&install_once, install);
  if (!installed) return -1;
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  size_t rounded = (len + page - 1) / page * page;
  for (int i = 0; i < GUARD_SLOTS; i++) {
    uintptr_t expected = 0;
    /* claimed with start 1 (no mapping holds address 1 .. len), then filled in */
    if (atomic_compare_exchange_strong(&slots[i].start, &expected, (uintptr_t)1)) {
      atomic_store(&slots[i].shrunk, 0);
      atomic_store(&slots[i].len, rounded);
      atomic_store(&slots[i].start, (uintptr_t)start);
      return i;
    }
  }
  return -1;
}

int csv_guard_remove(int slot) {
  if (slot < 0) return 0;
  int shrunk = atomic_load(&slots[slot].shrunk);
  atomic_store(&slots[slot].start, 0);
  return shrunk;
}
