/* Tests of the data layer (lib/): slots, scratch, streams, timer, row views. */
#include <criterion/criterion.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_randist.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "ndpar/ndpar_core.h"
#include "ndpar_internal.h"
#include "test_util.h"

static int aligned(const void *p) { return ((uintptr_t)p % NDPAR_CACHELINE) == 0; }

Test(slots, every_slot_is_line_aligned_zeroed_and_apart) {
  gsl_rng *r = test_rng();
  size_t sizes[] = {1, 8, 63, 64, 65, 200, 1 + gsl_rng_uniform_int(r, 5000)};
  for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
    for (size_t n = 0; n <= 5; n++) {
      ndpar_slots s;
      cr_assert_eq(ndpar_slots_alloc(&s, n, sizes[k]), GSL_SUCCESS);
      cr_assert_eq(s.n, n);
      cr_assert(s.stride >= sizes[k] && s.stride % NDPAR_CACHELINE == 0);
      cr_assert(s.stride < sizes[k] + NDPAR_CACHELINE, "padding is at most one line");
      for (size_t i = 0; i < n; i++) {
        unsigned char *slot = ndpar_slots_at(&s, i);
        cr_assert(aligned(slot));
        for (size_t b = 0; b < s.stride; b++) cr_assert_eq(slot[b], 0);
        memset(slot, 0xff, sizes[k]); /* ASan would flag a slot shorter than asked */
      }
      ndpar_slots_free(&s);
      cr_assert_null(s.base);
    }
  }
  gsl_rng_free(r);
}

Test(slots, null_argument_is_an_error) {
  test_quiet_gsl_errors();
  cr_assert_eq(ndpar_slots_alloc(NULL, 2, 8), GSL_EFAULT);
  cr_assert_eq(test_gsl_error_count(), 1);
  ndpar_slots s = {(void *)&s, 7, 7};
  cr_assert_eq(ndpar_slots_alloc(&s, SIZE_MAX / 2, 1024), GSL_EINVAL);
  cr_assert(s.base == (void *)&s && s.stride == 7 && s.n == 7, "rejected call leaves slots untouched");
}

Test(slots, cacheline_round) {
  cr_assert_eq(ndpar_cacheline_round(0), NDPAR_CACHELINE);
  cr_assert_eq(ndpar_cacheline_round(1), NDPAR_CACHELINE);
  cr_assert_eq(ndpar_cacheline_round(NDPAR_CACHELINE), NDPAR_CACHELINE);
  cr_assert_eq(ndpar_cacheline_round(NDPAR_CACHELINE + 1), 2 * NDPAR_CACHELINE);
}

Test(scratch, grows_keeps_and_releases) {
  unsigned char *a = ndpar_thread_scratch(100);
  cr_assert_not_null(a);
  cr_assert(aligned(a));
  memset(a, 1, 100);
  cr_assert_eq(ndpar_thread_scratch(50), a, "a smaller request reuses the buffer");
  cr_assert_eq(ndpar_thread_scratch(100), a);
  unsigned char *b = ndpar_thread_scratch(100000);
  cr_assert_not_null(b);
  cr_assert(aligned(b));
  memset(b, 2, 100000);
  ndpar_thread_scratch_release();
  ndpar_thread_scratch_release(); /* twice is harmless */
}

static void *other_thread_scratch(void *arg) {
  (void)arg;
  return ndpar_thread_scratch(256);
}

Test(scratch, is_per_thread) {
  void *mine = ndpar_thread_scratch(256);
  pthread_t t;
  void *theirs = NULL;
  pthread_create(&t, NULL, other_thread_scratch, NULL);
  pthread_join(t, &theirs); /* freed by the thread-exit destructor: ASan checks that */
  cr_assert_not_null(theirs);
  cr_assert_neq(mine, theirs);
  ndpar_thread_scratch_release();
}

static void *fresh_thread_scratch_zero(void *arg) {
  (void)arg;
  return ndpar_thread_scratch(0);
}

/* NULL is the failure value: a thread that holds nothing yet and asks for 0 bytes gets a
 * line, not NULL (it used to get the NULL it held). */
Test(scratch, zero_bytes_on_a_fresh_thread_is_not_null) {
  pthread_t t;
  void *got = NULL;
  pthread_create(&t, NULL, fresh_thread_scratch_zero, NULL);
  pthread_join(t, &got);
  cr_assert_not_null(got);
  ndpar_thread_scratch_release();
  void *mine = ndpar_thread_scratch(0);
  cr_assert_not_null(mine);
  cr_assert(aligned(mine));
  cr_assert_eq(ndpar_thread_scratch(NDPAR_CACHELINE), mine, "0 bytes is one line");
  ndpar_thread_scratch_release();
}

Test(streams, seed_depends_on_seed_and_index_alone) {
  gsl_rng *r = test_rng();
  unsigned long seed = gsl_rng_get(r);
  for (size_t i = 0; i < 1000; i++) {
    cr_assert_eq(ndpar_stream_seed(seed, i), ndpar_stream_seed(seed, i));
    cr_assert_neq(ndpar_stream_seed(seed, i), ndpar_stream_seed(seed, i + 1));
    cr_assert_neq(ndpar_stream_seed(seed, i), ndpar_stream_seed(seed + 1, i));
    cr_assert_neq(ndpar_stream_seed(seed, i), 0);
  }
  gsl_rng_free(r);
}

Test(streams, same_task_same_numbers_on_any_worker) {
  gsl_rng *r = test_rng();
  unsigned long seed = gsl_rng_get(r);
  ndpar_streams *s = ndpar_streams_alloc(3, seed);
  cr_assert_not_null(s);
  for (size_t task = 0; task < 50; task++) {
    double first[8];
    gsl_rng *g0 = ndpar_streams_at(s, 0, task);
    for (int k = 0; k < 8; k++) first[k] = gsl_rng_uniform(g0);
    for (unsigned w = 1; w < 3; w++) {
      gsl_rng *g = ndpar_streams_at(s, w, task);
      for (int k = 0; k < 8; k++) cr_assert_eq(gsl_rng_uniform(g), first[k]);
    }
    gsl_rng *next = ndpar_streams_at(s, 1, task + 1);
    cr_assert_neq(gsl_rng_uniform(next), first[0], "neighbouring tasks differ");
  }
  ndpar_streams_free(s);
  gsl_rng_free(r);
}

/* No two workers' generators share a cache line (each draw writes the state), and the
 * generators draw what gsl_rng_alloc's taus2 draws from the same seed. */
Test(streams, each_generator_on_lines_of_its_own) {
  enum { W = 5 };
  ndpar_streams *s = ndpar_streams_alloc(W, 99);
  cr_assert_not_null(s);
  uintptr_t lines[2 * W];
  for (unsigned w = 0; w < W; w++) {
    gsl_rng *g = ndpar_streams_at(s, w, w);
    cr_assert_eq((uintptr_t)g % NDPAR_CACHELINE, 0, "worker %u's gsl_rng", w);
    cr_assert_eq((uintptr_t)g->state % NDPAR_CACHELINE, 0, "worker %u's state", w);
    cr_assert_leq(g->type->size, (size_t)NDPAR_CACHELINE);
    lines[2 * w] = (uintptr_t)g / NDPAR_CACHELINE;
    lines[2 * w + 1] = (uintptr_t)g->state / NDPAR_CACHELINE;
    gsl_rng *ref = gsl_rng_alloc(gsl_rng_taus2);
    gsl_rng_set(ref, ndpar_stream_seed(99, w));
    for (int k = 0; k < 5; k++) cr_assert_eq(gsl_rng_get(g), gsl_rng_get(ref));
    gsl_rng_free(ref);
  }
  for (size_t i = 0; i < 2 * W; i++)
    for (size_t j = i + 1; j < 2 * W; j++) cr_assert_neq(lines[i], lines[j], "two generators' fields share a line");
  ndpar_streams_free(s);
}

Test(streams, streams_look_uniform) {
  /* Mean of first draws across 20000 task streams: 0.5 +- 5 standard errors. */
  ndpar_streams *s = ndpar_streams_alloc(1, test_seed());
  double sum = 0;
  size_t n = 20000;
  for (size_t i = 0; i < n; i++) sum += gsl_rng_uniform(ndpar_streams_at(s, 0, i));
  double se = sqrt(1.0 / 12.0 / (double)n);
  cr_assert(fabs(sum / (double)n - 0.5) < 5 * se, "mean %g", sum / (double)n);
  ndpar_streams_free(s);
}

Test(streams, zero_workers_is_an_error) {
  test_quiet_gsl_errors();
  cr_assert_null(ndpar_streams_alloc(0, 1));
  cr_assert_eq(test_gsl_error_count(), 1);
  ndpar_streams_free(NULL);
}

Test(timer, is_monotonic_and_in_seconds) {
  double t0 = ndpar_time_now(), prev = t0;
  for (int i = 0; i < 10000; i++) {
    double t = ndpar_time_now();
    cr_assert(t >= prev);
    prev = t;
  }
  struct timespec ten_ms = {0, 10 * 1000 * 1000};
  nanosleep(&ten_ms, NULL);
  double dt = ndpar_time_now() - t0;
  cr_assert(dt >= 0.0099 && dt < 1.0, "slept 10 ms, measured %g s", dt);
}

/* Checks that the batches of m tile its rows in order, as views into its own storage. */
static void check_batches(const gsl_matrix *m, size_t batch_rows) {
  size_t nb = ndpar_rows_nbatches(m->size1, batch_rows);
  cr_assert_eq(nb, (m->size1 + batch_rows - 1) / batch_rows);
  size_t row = 0;
  for (size_t i = 0; i < nb; i++) {
    gsl_matrix_const_view v = ndpar_rows_batch_const(m, batch_rows, i);
    size_t expect = m->size1 - row < batch_rows ? m->size1 - row : batch_rows;
    cr_assert_eq(v.matrix.size1, expect);
    cr_assert_eq(v.matrix.size2, m->size2);
    cr_assert_eq(v.matrix.data, m->data + row * m->tda, "a view, not a copy");
    cr_assert_eq(gsl_matrix_get(&v.matrix, 0, m->size2 - 1), gsl_matrix_get(m, row, m->size2 - 1));
    row += expect;
  }
  cr_assert_eq(row, m->size1, "the batches cover every row once");
}

Test(rows, batches_are_views_that_tile_the_matrix) {
  gsl_rng *r = test_rng();
  size_t t = test_max_threads() - 1;
  size_t rows_list[] = {1, t - 1, t, t + 1, 1000 + gsl_rng_uniform_int(r, 5000)};
  for (size_t k = 0; k < 5; k++) {
    size_t rows = rows_list[k] ? rows_list[k] : 1;
    gsl_matrix *m = gsl_matrix_alloc(rows, 3);
    for (size_t i = 0; i < rows; i++)
      for (size_t j = 0; j < 3; j++) gsl_matrix_set(m, i, j, gsl_ran_gaussian(r, 1));
    size_t batch_list[] = {1, 2, 7, rows, rows + 5, 1 + gsl_rng_uniform_int(r, rows)};
    for (size_t b = 0; b < 6; b++) check_batches(m, batch_list[b]);
    gsl_matrix_view w = ndpar_rows_batch(m, 2, 0);
    gsl_matrix_set(&w.matrix, 0, 0, 42.0);
    cr_assert_eq(gsl_matrix_get(m, 0, 0), 42.0, "a mutable view writes through");
    gsl_matrix_free(m);
  }
  gsl_rng_free(r);
}

Test(rows, counts_for_edge_sizes) {
  cr_assert_eq(ndpar_rows_nbatches(0, 4), 0);
  cr_assert_eq(ndpar_rows_nbatches(1, 4), 1);
  cr_assert_eq(ndpar_rows_nbatches(8, 4), 2);
  cr_assert_eq(ndpar_rows_nbatches(9, 4), 3);
  cr_assert_eq(ndpar_rows_nbatches(9, 0), 0);
}

Test(rows, vector_batches_match_matrix_batches) {
  gsl_vector *v = gsl_vector_alloc(11);
  for (size_t i = 0; i < 11; i++) gsl_vector_set(v, i, (double)i);
  for (size_t i = 0; i < ndpar_rows_nbatches(11, 4); i++) {
    gsl_vector_const_view b = ndpar_rows_batch_vector_const(v, 4, i);
    cr_assert_eq(b.vector.size, i < 2 ? 4u : 3u);
    cr_assert_eq(gsl_vector_get(&b.vector, 0), (double)(4 * i));
  }
  gsl_vector_free(v);
}

/* ---- the internal blocks of outputs ---- */

Test(blocks, layout_places_every_copy_of_every_batch_once_within_the_capacity) {
  gsl_rng *r = test_rng();
  size_t n = 1 + gsl_rng_uniform_int(r, 6), copies = 1 + gsl_rng_uniform_int(r, 4), cols = 3;
  gsl_matrix *x[6];
  size_t rows = 0;
  for (size_t i = 0; i < n; i++) rows += (x[i] = gsl_matrix_alloc(1 + gsl_rng_uniform_int(r, 9), 2))->size1;
  size_t total = 0;
  cr_assert_eq(ndpar_total_rows("t", (const gsl_matrix *const *)x, n, &total), GSL_SUCCESS);
  cr_assert_eq(total, rows);
  ndpar_blocks b;
  cr_assert_eq(ndpar_blocks_alloc(&b, "t", n + 2, rows + 5, copies, cols), GSL_SUCCESS);
  cr_assert(aligned(b.buf));
  cr_assert_eq(b.capacity, (rows + 5) * copies * cols);
  for (int call = 0; call < 2; call++) { /* laid out twice: the same */
    ndpar_blocks_layout(&b, (const gsl_matrix *const *)x, n);
    cr_assert_eq(b.rowstart[n], rows);
    cr_assert_eq(b.offset[n], rows * copies * cols);
    for (size_t i = 0; i < n; i++)
      for (size_t k = 0; k < copies; k++)
        cr_assert_eq(ndpar_blocks_copy(&b, i, k), b.buf + b.offset[i] + k * x[i]->size1 * cols);
    memset(b.buf, 0, b.offset[n] * sizeof(double)); /* ASan: all of it is ours */
  }
  ndpar_blocks_free(&b);
  for (size_t i = 0; i < n; i++) gsl_matrix_free(x[i]);
  gsl_rng_free(r);
}

Test(blocks, sizes_that_overflow_are_rejected) {
  test_quiet_gsl_errors();
  ndpar_blocks b;
  cr_assert_eq(ndpar_blocks_alloc(&b, "t", 1, SIZE_MAX / 4, 2, 3), GSL_EINVAL);
  cr_assert_null(b.buf);
  cr_assert_eq(ndpar_blocks_alloc(&b, "t", SIZE_MAX, 1, 1, 1), GSL_EINVAL);
  gsl_matrix big = {SIZE_MAX - 1, 1, 1, NULL, NULL, 0};
  const gsl_matrix *xs[2] = {&big, &big};
  size_t rows = 7;
  cr_assert_eq(ndpar_total_rows("t", xs, 2, &rows), GSL_EINVAL);
  cr_assert_eq(rows, 7, "untouched on error");
  cr_assert(strstr(test_gsl_last_reason(), "overflows") != NULL);
}

/* ---- sizes that overflow and arguments without an error channel ---- */

Test(overflow, size_helpers_detect_every_wrap) {
  size_t out;
  cr_assert(ndpar_size_mul(SIZE_MAX, 1, &out) && out == SIZE_MAX);
  cr_assert(!ndpar_size_mul((SIZE_MAX >> 3) + 2, 8, &out), "2^61 + 1 times 8 wraps");
  cr_assert(!ndpar_size_add(SIZE_MAX, 1, &out));
  cr_assert(ndpar_size_add(SIZE_MAX - 1, 1, &out) && out == SIZE_MAX);
  cr_assert(!ndpar_size_mul3(65536, 65536, (size_t)1 << 32, &out), "4 axes x 65536 values");
  cr_assert(ndpar_size_mul3(0, SIZE_MAX, SIZE_MAX, &out) && out == 0);
}

Test(overflow, cacheline_round_at_the_top_of_size_t) {
  cr_assert_eq(ndpar_cacheline_round(SIZE_MAX), SIZE_MAX, "does not fit: saturates, never wraps to 0");
  cr_assert_eq(ndpar_cacheline_round(SIZE_MAX - NDPAR_CACHELINE + 2), SIZE_MAX);
  cr_assert_eq(ndpar_cacheline_round(SIZE_MAX - NDPAR_CACHELINE + 1), SIZE_MAX - NDPAR_CACHELINE + 1,
               "the largest multiple of a line still fits");
}

Test(overflow, slots_of_a_huge_size_are_refused) {
  test_quiet_gsl_errors();
  ndpar_slots s = {(void *)&s, 7, 7};
  cr_assert_eq(ndpar_slots_alloc(&s, 1, SIZE_MAX), GSL_EINVAL, "the stride does not fit");
  cr_assert_eq(ndpar_slots_alloc(&s, 0, SIZE_MAX - 10), GSL_EINVAL);
  cr_assert_eq(ndpar_slots_alloc(&s, (SIZE_MAX >> 6) + 2, 64), GSL_EINVAL);
  cr_assert(s.base == (void *)&s && s.stride == 7 && s.n == 7, "slots untouched");
  cr_assert_eq(test_gsl_error_count(), 3);
}

Test(overflow, scratch_of_a_huge_size_is_null_and_keeps_the_old_buffer) {
  unsigned char *a = ndpar_thread_scratch(128);
  cr_assert_not_null(a);
  memset(a, 3, 128);
  cr_assert_null(ndpar_thread_scratch(SIZE_MAX));
  cr_assert_null(ndpar_thread_scratch(SIZE_MAX - NDPAR_CACHELINE + 2));
  cr_assert_eq(ndpar_thread_scratch(128), a, "the old buffer survives");
  cr_assert_eq(a[127], 3);
  ndpar_thread_scratch_release();
}

Test(null_args, streams_at_gives_null_for_no_stream) {
  cr_assert_null(ndpar_streams_at(NULL, 0, 0));
  cr_assert_null(ndpar_streams_at_pair(NULL, 0, 1, 2));
  ndpar_streams *s = ndpar_streams_alloc(2, test_seed());
  cr_assert_not_null(ndpar_streams_at(s, 1, 5));
  cr_assert_null(ndpar_streams_at(s, 2, 5), "worker beyond those allocated");
  cr_assert_null(ndpar_streams_at_pair(s, 7, 5, 6));
  ndpar_streams_free(s);
}

Test(null_args, row_batches_that_do_not_exist_are_empty_views) {
  gsl_matrix_const_view a = ndpar_rows_batch_const(NULL, 4, 0);
  gsl_matrix_view b = ndpar_rows_batch(NULL, 4, 0);
  gsl_vector_const_view c = ndpar_rows_batch_vector_const(NULL, 4, 0);
  cr_assert(a.matrix.size1 == 0 && a.matrix.size2 == 0 && a.matrix.data == NULL);
  cr_assert(b.matrix.size1 == 0 && b.matrix.data == NULL);
  cr_assert(c.vector.size == 0 && c.vector.data == NULL);
  gsl_matrix *m = gsl_matrix_calloc(9, 2);
  gsl_vector *v = gsl_vector_calloc(9);
  cr_assert_eq(ndpar_rows_batch_const(m, 4, 2).matrix.size1, 1, "the last, short batch");
  cr_assert_null(ndpar_rows_batch_const(m, 4, 3).matrix.data, "past the last batch");
  cr_assert_null(ndpar_rows_batch(m, 0, 0).matrix.data, "batch_rows 0");
  cr_assert_null(ndpar_rows_batch_vector_const(v, 4, 3).vector.data);
  cr_assert_null(ndpar_rows_batch_vector_const(v, 4, SIZE_MAX).vector.data);
  gsl_matrix_free(m);
  gsl_vector_free(v);
}

/* The exact overlap of two strided layouts, against a brute force over every element pair,
 * for every submatrix pair of a 5 x 6 matrix of sizes up to 3 x 3 and every vector view
 * (offset, stride, size) of a 12-vector. */
static int brute_overlap(const gsl_matrix *a, const gsl_matrix *b) {
  for (size_t i = 0; i < a->size1; i++)
    for (size_t j = 0; j < a->size2; j++)
      for (size_t k = 0; k < b->size1; k++)
        for (size_t l = 0; l < b->size2; l++)
          if (gsl_matrix_const_ptr(a, i, j) == gsl_matrix_const_ptr(b, k, l)) return 1;
  return 0;
}

Test(overlap, matrices_and_vectors_exactly) {
  gsl_matrix *m = gsl_matrix_alloc(5, 6);
  size_t pairs = 0, overlapping = 0;
  for (size_t i0 = 0; i0 < 5; i0++)
    for (size_t j0 = 0; j0 < 6; j0++)
      for (size_t r0 = 1; r0 <= 3 && i0 + r0 <= 5; r0++)
        for (size_t c0 = 1; c0 <= 3 && j0 + c0 <= 6; c0++) {
          gsl_matrix_view a = gsl_matrix_submatrix(m, i0, j0, r0, c0);
          for (size_t i1 = 0; i1 < 5; i1 += 2)
            for (size_t j1 = 0; j1 < 6; j1++)
              for (size_t r1 = 1; r1 <= 3 && i1 + r1 <= 5; r1++)
                for (size_t c1 = 1; c1 <= 3 && j1 + c1 <= 6; c1++) {
                  gsl_matrix_view b = gsl_matrix_submatrix(m, i1, j1, r1, c1);
                  int want = brute_overlap(&a.matrix, &b.matrix);
                  cr_assert_eq(ndpar_matrices_overlap(&a.matrix, &b.matrix), want, "(%zu,%zu %zux%zu) (%zu,%zu %zux%zu)",
                               i0, j0, r0, c0, i1, j1, r1, c1);
                  cr_assert_eq(ndpar_matrices_overlap(&b.matrix, &a.matrix), want);
                  pairs++;
                  overlapping += (size_t)want;
                }
        }
  cr_assert(overlapping > 0 && overlapping < pairs, "both outcomes seen");
  gsl_vector *v = gsl_vector_alloc(12);
  for (size_t o0 = 0; o0 < 12; o0++)
    for (size_t s0 = 1; s0 <= 3; s0++)
      for (size_t n0 = 1; o0 + (n0 - 1) * s0 < 12; n0++)
        for (size_t o1 = 0; o1 < 12; o1++)
          for (size_t s1 = 1; s1 <= 3; s1++)
            for (size_t n1 = 1; o1 + (n1 - 1) * s1 < 12; n1++) {
              gsl_vector_view a = gsl_vector_subvector_with_stride(v, o0, s0, n0);
              gsl_vector_view b = gsl_vector_subvector_with_stride(v, o1, s1, n1);
              int want = 0;
              for (size_t i = 0; i < n0; i++)
                for (size_t k = 0; k < n1; k++) want |= o0 + i * s0 == o1 + k * s1;
              cr_assert_eq(ndpar_vectors_overlap(&a.vector, &b.vector), want);
            }
  cr_assert_eq(ndpar_matrices_overlap(NULL, m), 0);
  gsl_matrix_free(m);
  gsl_vector_free(v);
}
