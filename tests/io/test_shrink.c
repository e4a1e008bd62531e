/* A file that shrinks while ndpar_csv_read reads it: an error (GSL_EBADLEN), never SIGBUS;
 * SIGBUS elsewhere in the program keeps its own action. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "io/csv_guard.h"
#include "ndpar/ndpar_io.h"
#include "test_util.h"

static char path[64];

static void setup(void) {
  snprintf(path, sizeof path, "/tmp/ndpar-shrink-XXXXXX");
  int fd = mkstemp(path);
  cr_assert(fd >= 0);
  close(fd);
}

static void teardown(void) { unlink(path); }

TestSuite(shrink, .init = setup, .fini = teardown);

/* A file of `pages` pages of 'x' (no newline); its descriptor. */
static int page_file(size_t pages) {
  int fd = open(path, O_RDWR | O_TRUNC);
  cr_assert(fd >= 0);
  long page = sysconf(_SC_PAGESIZE);
  char *buf = malloc((size_t)page);
  memset(buf, 'x', (size_t)page);
  for (size_t i = 0; i < pages; i++) cr_assert_eq(write(fd, buf, (size_t)page), page);
  free(buf);
  return fd;
}

Test(shrink, a_guarded_mapping_reads_zeros_past_the_new_end) {
  long page = sysconf(_SC_PAGESIZE);
  int fd = page_file(4);
  volatile const char *m = mmap(NULL, 4 * (size_t)page, PROT_READ, MAP_PRIVATE, fd, 0);
  cr_assert(m != MAP_FAILED);
  int slot = csv_guard_add((const void *)m, 4 * (size_t)page);
  cr_assert_geq(slot, 0);
  cr_assert_eq(m[0], 'x');
  cr_assert_eq(ftruncate(fd, page), 0);
  cr_assert_eq(m[page - 1], 'x');
  cr_assert_eq(m[2 * page + 5], 0, "the page past the end reads as zero"); /* SIGBUS without the guard */
  cr_assert_eq(m[4 * page - 1], 0);
  cr_assert_eq(csv_guard_remove(slot), 1, "the shrink is seen");
  munmap((void *)m, 4 * (size_t)page);
  /* a mapping that did not shrink */
  m = mmap(NULL, (size_t)page, PROT_READ, MAP_PRIVATE, fd, 0);
  slot = csv_guard_add((const void *)m, (size_t)page);
  cr_assert_eq(m[10], 'x');
  cr_assert_eq(csv_guard_remove(slot), 0);
  munmap((void *)m, (size_t)page);
  close(fd);
}

Test(shrink, sigbus_outside_a_guarded_mapping_keeps_its_default_action) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  /* the handler before ndpar's is the sanitizer's, which reports the fault as an error */
  cr_skip_test("the sanitizer's own SIGBUS handler comes first");
#endif
  long page = sysconf(_SC_PAGESIZE);
  int fd = page_file(4);
  pid_t pid = fork();
  cr_assert(pid >= 0);
  if (pid == 0) {
    char *guarded = mmap(NULL, (size_t)page, PROT_READ, MAP_PRIVATE, fd, 0);
    csv_guard_add(guarded, (size_t)page); /* installs the handler */
    volatile const char *m = mmap(NULL, 4 * (size_t)page, PROT_READ, MAP_PRIVATE, fd, 0);
    if (ftruncate(fd, page) != 0) _exit(3);
    char c = m[3 * page]; /* not guarded: SIGBUS, as without ndpar */
    _exit(c == 0 ? 4 : 5);
  }
  int st;
  cr_assert_eq(waitpid(pid, &st, 0), pid);
  cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGBUS, "status %d", st);
  close(fd);
}

/* ---- end to end ------------------------------------------------------------------------ */

typedef struct {
  double delay;
  off_t size;
} truncation;

static void *truncate_later(void *arg) {
  truncation *t = arg;
  struct timespec ts = {(time_t)t->delay, (long)((t->delay - (double)(time_t)t->delay) * 1e9)};
  nanosleep(&ts, NULL);
  cr_assert_eq(truncate(path, t->size), 0);
  return NULL;
}

static size_t write_numbers(size_t rows) {
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  fputs("i,x,y\n", f);
  for (size_t i = 0; i < rows; i++) fprintf(f, "%zu,%.17g,%zu.25\n", i, (double)i / 7, i % 1000);
  long size = ftell(f);
  cr_assert_eq(fclose(f), 0);
  return (size_t)size;
}

Test(shrink, a_file_truncated_while_it_is_read_is_an_error_or_read_whole) {
  test_quiet_gsl_errors();
  size_t rows = 600000, size = write_numbers(rows);
  ndpar_pool *pool = test_pool_of(1);
  double t0 = ndpar_time_now();
  gsl_matrix *x = NULL;
  cr_assert_eq(ndpar_csv_read(pool, path, NULL, &x, NULL, NULL), GSL_SUCCESS);
  double full = ndpar_time_now() - t0;
  gsl_matrix_free(x);
  int shrank = 0;
  for (int attempt = 0; attempt < 8; attempt++) {
    if (attempt) write_numbers(rows);
    truncation t = {full * (attempt + 1) / 10, (off_t)(size / 3)};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, truncate_later, &t), 0);
    x = (gsl_matrix *)&x;
    ndpar_csv_error err;
    int status = ndpar_csv_read(pool, path, NULL, &x, NULL, &err);
    pthread_join(th, NULL);
    if (status == GSL_SUCCESS) { /* the read ended before the truncation */
      cr_assert_eq(x->size1, rows);
      cr_assert_eq(gsl_matrix_get(x, rows - 1, 0), (double)(rows - 1));
      gsl_matrix_free(x);
      continue;
    }
    shrank++;
    cr_assert_eq(status, GSL_EBADLEN, "attempt %d: %s", attempt, err.message);
    cr_assert(x == (gsl_matrix *)&x, "x untouched");
    cr_assert_not_null(strstr(err.message, "the file shrank while it was read"), "%s", err.message);
    cr_assert_eq(err.line, 0);
  }
  cr_log_info("%d of 8 reads saw the file shrink", shrank);
  ndpar_pool_free(pool);
}
