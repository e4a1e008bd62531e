/* Tests of the .npy reader and writer against numpy itself (/usr/bin/python3 with numpy:
 * python3-numpy; skipped where it is not installed). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ndpar/ndpar_io.h"
#include "test_util.h"

static char dir[64];

static void setup(void) {
  snprintf(dir, sizeof dir, "/tmp/ndpar-npy-test-XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  cr_assert_eq(system(cmd), 0);
}

TestSuite(npy, .init = setup, .fini = teardown);

static int have_numpy(void) { return system("/usr/bin/python3 -c 'import numpy' 2>/dev/null") == 0; }

/* Runs a Python program (numpy imported as np, D the test's folder); its exit status. */
static int python(const char *program) {
  char path[128];
  snprintf(path, sizeof path, "%s/t.py", dir);
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  fprintf(f, "import numpy as np, sys\nD = '%s'\n%s\n", dir, program);
  fclose(f);
  char cmd[256];
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s", path);
  return system(cmd);
}

static const char *in_dir(const char *name) {
  static char p[4][128];
  static int next;
  char *s = p[next++ % 4];
  snprintf(s, 128, "%s/%s", dir, name);
  return s;
}

/* The value numpy's files hold at (i, j): a seeded mix of every kind, bit patterns
 * included, which the test recomputes (the same formula on both sides). */
static double value_at(size_t i, size_t j, size_t cols) {
  uint64_t k = (uint64_t)(i * cols + j) * 0x9E3779B97F4A7C15u;
  k ^= k >> 29;
  double v;
  if (k % 3 == 0) {
    memcpy(&v, &k, sizeof v);
    if (isnan(v)) v = 1.0;
  } else {
    v = (double)(k % 100000) / 7.0 - 5000;
  }
  return v;
}

/* The same values, in Python. */
static const char *const py_values =
    "def values(r, c):\n"
    "    k = (np.arange(r * c, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15))\n"
    "    k ^= k >> np.uint64(29)\n"
    "    bits = k.view(np.float64).copy()\n"
    "    small = (k % np.uint64(100000)).astype(np.float64) / 7.0 - 5000\n"
    "    v = np.where(k % np.uint64(3) == 0, bits, small)\n"
    "    v = np.where(np.isnan(v) & (k % np.uint64(3) == 0), 1.0, v)\n"
    "    return v.reshape(r, c)\n";

static void expect_values(const gsl_matrix *x, size_t rows, size_t cols) {
  cr_assert_eq(x->size1, rows);
  cr_assert_eq(x->size2, cols);
  for (size_t i = 0; i < rows; i++)
    for (size_t j = 0; j < cols; j++) {
      double a = gsl_matrix_get(x, i, j), b = value_at(i, j, cols);
      cr_assert(memcmp(&a, &b, sizeof a) == 0, "(%zu,%zu): %a, numpy wrote %a", i, j, a, b);
    }
}

Test(npy, reads_what_numpy_writes) {
  if (!have_numpy()) cr_skip_test("no numpy (python3-numpy)");
  char prog[4096];
  snprintf(prog, sizeof prog,
           "%s"
           "np.save(D + '/c.npy', values(37, 5))\n"
           "np.save(D + '/f.npy', np.asfortranarray(values(37, 5)))\n"
           "np.save(D + '/big.npy', values(37, 5).astype('>f8'))\n"
           "np.save(D + '/v.npy', values(11, 1).ravel())\n"
           "np.save(D + '/s.npy', np.float64(values(1, 1)[0, 0]))\n"
           "with open(D + '/v2.npy', 'wb') as f: np.lib.format.write_array(f, values(4, 3), version=(2, 0))\n"
           "np.save(D + '/i8.npy', np.arange(6).reshape(2, 3))\n"
           "np.save(D + '/f4.npy', np.ones((2, 3), dtype=np.float32))\n"
           "np.save(D + '/d3.npy', np.ones((2, 3, 4)))\n"
           "np.save(D + '/empty.npy', np.ones((0, 3)))\n"
           "b = open(D + '/c.npy', 'rb').read(); open(D + '/trunc.npy', 'wb').write(b[:-9])\n",
           py_values);
  cr_assert_eq(python(prog), 0);
  gsl_matrix *x = NULL;
  const char *ok[] = {"c.npy", "f.npy", "big.npy"};
  for (size_t i = 0; i < 3; i++) {
    cr_assert_eq(ndpar_npy_read(in_dir(ok[i]), &x), GSL_SUCCESS, "%s", ok[i]);
    expect_values(x, 37, 5);
    gsl_matrix_free(x);
  }
  cr_assert_eq(ndpar_npy_read(in_dir("v.npy"), &x), GSL_SUCCESS);
  expect_values(x, 11, 1);
  gsl_matrix_free(x);
  cr_assert_eq(ndpar_npy_read(in_dir("s.npy"), &x), GSL_SUCCESS);
  expect_values(x, 1, 1);
  gsl_matrix_free(x);
  cr_assert_eq(ndpar_npy_read(in_dir("v2.npy"), &x), GSL_SUCCESS);
  expect_values(x, 4, 3);
  gsl_matrix_free(x);
  test_quiet_gsl_errors();
  static const struct {
    const char *file;
    int code;
    const char *text;
  } bad[] = {{"i8.npy", GSL_EINVAL, "the dtype is '<i8', not float64"},
             {"f4.npy", GSL_EINVAL, "the dtype is '<f4', not float64"},
             {"d3.npy", GSL_EINVAL, "more than 2 dimensions (shape (2, 3, 4)"},
             {"empty.npy", GSL_EBADLEN, "an empty array"},
             {"trunc.npy", GSL_EBADLEN, "truncated: the header says 37 x 5 doubles"},
             {"t.py", GSL_EINVAL, "not a .npy file"},
             {"none.npy", GSL_EFAILED, "cannot open: No such file or directory"}};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    x = (gsl_matrix *)&x;
    cr_assert_eq(ndpar_npy_read(in_dir(bad[i].file), &x), bad[i].code, "%s", bad[i].file);
    cr_assert(x == (gsl_matrix *)&x, "x untouched");
    cr_assert_not_null(strstr(test_gsl_last_reason(), bad[i].text), "%s: %s", bad[i].file, test_gsl_last_reason());
  }
}

/* A header whose shape claims more doubles than the file holds is a truncated file, found
 * before anything that large is allocated (a fuzz find: ASan refused the allocation). */
Test(npy, a_shape_beyond_the_file_is_truncated_before_allocation) {
  test_quiet_gsl_errors();
  const char *path = in_dir("huge.npy");
  FILE *f = fopen(path, "wb");
  const char dict[] = "{'descr': '<f8', 'fortran_order': False, 'shape': (4000000000, 30), }";
  char header[128];
  memset(header, ' ', sizeof header);
  memcpy(header, dict, sizeof dict - 1);
  header[117] = '\n'; /* 10 + 118 = 128 bytes: a multiple of 64 */
  unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 118, 0};
  fwrite(pre, 1, 10, f);
  fwrite(header, 1, 118, f);
  double one = 1;
  fwrite(&one, sizeof one, 1, f);
  fclose(f);
  gsl_matrix *x = (gsl_matrix *)&x;
  cr_assert_eq(ndpar_npy_read(path, &x), GSL_EBADLEN);
  cr_assert(x == (gsl_matrix *)&x, "x untouched");
  cr_assert_not_null(strstr(test_gsl_last_reason(), "truncated"), "%s", test_gsl_last_reason());
}

Test(npy, numpy_reads_what_ndpar_writes) {
  if (!have_numpy()) cr_skip_test("no numpy (python3-numpy)");
  static const size_t shapes[][2] = {{1, 1}, {1, 7}, {9, 1}, {37, 5}, {300, 41}};
  for (size_t s = 0; s < 5; s++) {
    size_t rows = shapes[s][0], cols = shapes[s][1];
    /* a view with tda > cols: rows written one by one */
    gsl_matrix *big = gsl_matrix_alloc(rows, cols + 3);
    gsl_matrix_view x = gsl_matrix_submatrix(big, 0, 1, rows, cols);
    for (size_t i = 0; i < rows; i++)
      for (size_t j = 0; j < cols; j++) gsl_matrix_set(&x.matrix, i, j, value_at(i, j, cols));
    const char *path = in_dir("out.npy");
    cr_assert_eq(ndpar_npy_write(path, s % 2 ? &x.matrix : big), GSL_SUCCESS);
    char prog[2048];
    size_t c = s % 2 ? cols : cols + 3;
    if (s % 2)
      snprintf(prog, sizeof prog,
               "%sa = np.load(D + '/out.npy')\n"
               "ok = a.dtype == np.float64 and a.shape == (%zu, %zu) and a.tobytes() == values(%zu, %zu).tobytes()\n"
               "b = np.load(D + '/out.npy', mmap_mode='r')\n"
               "sys.exit(0 if ok and np.array_equal(a.view(np.uint64), b.view(np.uint64)) else 1)\n",
               py_values, rows, cols, rows, cols);
    else
      snprintf(prog, sizeof prog, "a = np.load(D + '/out.npy')\nsys.exit(0 if a.shape == (%zu, %zu) else 1)\n", rows, c);
    cr_assert_eq(python(prog), 0, "%zu x %zu", rows, c);
    /* and back */
    gsl_matrix *y = NULL;
    cr_assert_eq(ndpar_npy_read(path, &y), GSL_SUCCESS);
    if (s % 2) expect_values(y, rows, cols);
    gsl_matrix_free(y);
    gsl_matrix_free(big);
  }
  test_quiet_gsl_errors();
  gsl_matrix *x = gsl_matrix_alloc(2, 2);
  cr_assert_eq(ndpar_npy_write(in_dir("no/dir.npy"), x), GSL_EFAILED);
  cr_assert_eq(ndpar_npy_write(NULL, x), GSL_EFAULT);
  cr_assert_eq(ndpar_npy_write(in_dir("n.npy"), NULL), GSL_EFAULT);
  gsl_matrix *y = NULL;
  cr_assert_eq(ndpar_npy_read(NULL, &y), GSL_EFAULT);
  cr_assert_eq(ndpar_npy_read(in_dir("n.npy"), NULL), GSL_EFAULT);
  gsl_matrix_free(x);
}
