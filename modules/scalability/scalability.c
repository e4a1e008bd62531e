/* scalability.c: timings per thread count, derived metrics, Amdahl fit, writers. */
#include "ndpar/ndpar_scalability.h"
#include "ndpar_internal.h"
#include "pool/pool_internal.h"

#include <gsl/gsl_math.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_sf_gamma.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void ndpar_scal_config_init(ndpar_scal_config *cfg) {
  if (cfg == NULL) return;
  cfg->warmup = 2;
  cfg->repeats = 11; /* the fewest that give a 95% median interval inside [min, max] */
  cfg->bind = NDPAR_BIND_CORES;
  cfg->progress = NULL;
  cfg->progress_ctx = NULL;
  cfg->samples = NULL;
}

double ndpar_scal_karp_flatt(double speedup, size_t threads) {
  if (threads <= 1 || !(speedup > 0)) return GSL_NAN;
  double p = (double)threads;
  return (1.0 / speedup - 1.0 / p) / (1.0 - 1.0 / p);
}

static const ndpar_scal_point *baseline(const ndpar_scal_point *pts, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (pts[i].threads == 1) return &pts[i];
  return NULL;
}

/* The speedup interval from the two median intervals: [lo1 / hip, hi1 / lop]. It covers the
 * true ratio whenever both intervals cover their medians (so at least 1 - 2 x 5% of the
 * time, in practice more); NaN where an interval is unknown. */
static void ratio_of_intervals(const ndpar_scal_point *base, ndpar_scal_point *pt) {
  if (pt == base || pt->threads == 1) {
    pt->speedup_lo = 1;
    pt->speedup_hi = 1;
    return;
  }
  int known = base->median_lo_ms > 0 && pt->median_lo_ms > 0 && isfinite(base->median_hi_ms) &&
              isfinite(pt->median_hi_ms);
  pt->speedup_lo = known ? base->median_lo_ms / pt->median_hi_ms : GSL_NAN;
  pt->speedup_hi = known ? base->median_hi_ms / pt->median_lo_ms : GSL_NAN;
}

int ndpar_scal_derive(ndpar_scal_point *pts, size_t n) {
  NDPAR_REQUIRE(pts != NULL, "scal_derive: pts is NULL", GSL_EFAULT);
  if (n == 0) return GSL_SUCCESS;
  const ndpar_scal_point *base = baseline(pts, n);
  NDPAR_REQUIRE(base != NULL, "scal_derive: pts has no 1-thread point (the baseline)", GSL_EINVAL);
  double t1 = base->median_ms;
  for (size_t i = 0; i < n; i++) {
    pts[i].speedup = pts[i].median_ms > 0 ? t1 / pts[i].median_ms : GSL_NAN;
    pts[i].efficiency = pts[i].speedup / (double)pts[i].threads;
    pts[i].serial_fraction = ndpar_scal_karp_flatt(pts[i].speedup, pts[i].threads);
    ratio_of_intervals(base, &pts[i]);
  }
  return GSL_SUCCESS;
}

/* ---- statistics ---- */

/* P(k <= B <= n - k) for B ~ Binomial(n, 1/2), k counted from 1: the coverage of the
 * interval [x(k), x(n-k+1)] of order statistics around the median. */
static double order_coverage(size_t n, size_t k) {
  double below = 0; /* P(B <= k - 1) */
  for (size_t j = 0; j < k; j++) below += exp(gsl_sf_lnchoose((unsigned)n, (unsigned)j) - (double)n * M_LN2);
  return 1 - 2 * below;
}

/* The interval of sorted x[0..n) (Hettmansperger-Sheather interpolation between the
 * order-statistic intervals k and k + 1 that enclose the level). */
static void median_interval_sorted(const double *x, size_t n, double level, double *lo, double *hi) {
  size_t k = 1;
  while (k + 1 <= n / 2 && order_coverage(n, k + 1) >= level) k++;
  double g0 = order_coverage(n, k);
  if (g0 < level || k + 1 > (n + 1) / 2) { /* no pair of order statistics reaches the level */
    *lo = x[k - 1];
    *hi = x[n - k];
    return;
  }
  double g1 = order_coverage(n, k + 1);
  double share = (g0 - level) / (g0 - g1);
  double lambda = (double)(n - k) * share / ((double)k + (double)(n - 2 * k) * share);
  *lo = (1 - lambda) * x[k - 1] + lambda * x[k];
  *hi = (1 - lambda) * x[n - k] + lambda * x[n - k - 1];
}

int ndpar_scal_median_interval(const double *x, size_t n, double level, double *lo, double *hi) {
  NDPAR_REQUIRE(x != NULL || n == 0, "scal_median_interval: x is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(lo != NULL && hi != NULL, "scal_median_interval: lo or hi is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(level > 0 && level < 1, "scal_median_interval: level must be in (0, 1)", GSL_EINVAL);
  if (n == 0) return GSL_SUCCESS;
  for (size_t i = 0; i < n; i++)
    NDPAR_REQUIRE(!isnan(x[i]), "scal_median_interval: x holds a NaN", GSL_EDOM);
  size_t bytes;
  NDPAR_REQUIRE(ndpar_size_mul(n, sizeof(double), &bytes), "scal_median_interval: n is too large",
                GSL_EINVAL);
  double *s = malloc(bytes);
  if (s == NULL) GSL_ERROR("scal_median_interval: out of memory", GSL_ENOMEM);
  memcpy(s, x, bytes);
  gsl_sort(s, 1, n);
  median_interval_sorted(s, n, level, lo, hi);
  free(s);
  return GSL_SUCCESS;
}

/* The number of ways, over all C(na + nb, na) orderings, that U takes each value 0..na nb
 * (no ties): counts[u], by the recursion N(u; i, j) = N(u - j; i - 1, j) + N(u; i, j - 1),
 * kept as probabilities so that nothing overflows. */
static double *u_distribution(size_t na, size_t nb) {
  size_t top = na * nb;
  /* prob[j][u] for the current i, j = 0..nb; rolled over i. */
  double *prev = calloc((nb + 1) * (top + 1), sizeof *prev);
  double *cur = calloc((nb + 1) * (top + 1), sizeof *cur);
  if (prev == NULL || cur == NULL) {
    free(prev);
    free(cur);
    return NULL;
  }
  for (size_t j = 0; j <= nb; j++) prev[j * (top + 1)] = 1; /* i = 0: U = 0 always */
  for (size_t i = 1; i <= na; i++) {
    memset(cur, 0, (nb + 1) * (top + 1) * sizeof *cur);
    cur[0] = 1; /* j = 0: U = 0 always */
    for (size_t j = 1; j <= nb; j++) {
      double pa = (double)i / (double)(i + j); /* the largest value is a's */
      for (size_t u = 0; u <= i * j; u++) {
        double from_a = u >= j ? prev[j * (top + 1) + u - j] : 0;
        double from_b = cur[(j - 1) * (top + 1) + u];
        cur[j * (top + 1) + u] = pa * from_a + (1 - pa) * from_b;
      }
    }
    double *swap = prev;
    prev = cur;
    cur = swap;
  }
  double *dist = malloc((top + 1) * sizeof *dist);
  if (dist != NULL) memcpy(dist, prev + nb * (top + 1), (top + 1) * sizeof *dist);
  free(prev);
  free(cur);
  return dist;
}

/* Twice U, the count of pairs in which a's value is the larger, ties one half: both sorted,
 * then one merge-like pass (n log n, not na x nb). */
static int u_twice(const double *a, size_t na, const double *b, size_t nb, double *u2) {
  double *sa = malloc(na * sizeof *sa), *sb = malloc(nb * sizeof *sb);
  if (sa == NULL || sb == NULL) {
    free(sa);
    free(sb);
    return GSL_ENOMEM;
  }
  memcpy(sa, a, na * sizeof *sa);
  memcpy(sb, b, nb * sizeof *sb);
  gsl_sort(sa, 1, na);
  gsl_sort(sb, 1, nb);
  double total = 0;
  size_t below = 0, upto = 0; /* b's values < and <= the current a value */
  for (size_t i = 0; i < na; i++) {
    while (below < nb && sb[below] < sa[i]) below++;
    if (upto < below) upto = below;
    while (upto < nb && sb[upto] == sa[i]) upto++;
    total += 2.0 * (double)below + (double)(upto - below);
  }
  free(sa);
  free(sb);
  *u2 = total;
  return GSL_SUCCESS;
}

#define MW_EXACT_MAX 2500 /* na x nb up to which the exact distribution is counted */

int ndpar_scal_mann_whitney(const double *a, size_t na, const double *b, size_t nb,
                            double *p_value) {
  NDPAR_REQUIRE((a != NULL || na == 0) && (b != NULL || nb == 0),
                "scal_mann_whitney: a or b is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(p_value != NULL, "scal_mann_whitney: p_value is NULL", GSL_EFAULT);
  if (na == 0 || nb == 0) return GSL_SUCCESS;
  size_t nab;
  NDPAR_REQUIRE(ndpar_size_mul(na, nb, &nab) && nab < SIZE_MAX / 2,
                "scal_mann_whitney: na x nb overflows", GSL_EINVAL);
  for (size_t i = 0; i < na; i++) NDPAR_REQUIRE(!isnan(a[i]), "scal_mann_whitney: a holds a NaN", GSL_EDOM);
  for (size_t j = 0; j < nb; j++) NDPAR_REQUIRE(!isnan(b[j]), "scal_mann_whitney: b holds a NaN", GSL_EDOM);
  double u2;
  if (u_twice(a, na, b, nb, &u2) != GSL_SUCCESS) GSL_ERROR("scal_mann_whitney: out of memory", GSL_ENOMEM);
  double u = u2 / 2, mean = (double)nab / 2, dev = fabs(u - mean);
  if (nab <= MW_EXACT_MAX) {
    /* U's distribution is the same with the roles swapped: count with the smaller as b
     * (the table is (nb + 1) x (nab + 1)). */
    double *dist = u_distribution(na > nb ? na : nb, na > nb ? nb : na);
    if (dist == NULL) GSL_ERROR("scal_mann_whitney: out of memory", GSL_ENOMEM);
    double p = 0;
    for (size_t k = 0; k <= nab; k++)
      if (fabs((double)k - mean) >= dev - 1e-9) p += dist[k];
    free(dist);
    *p_value = p > 1 ? 1 : p;
    return GSL_SUCCESS;
  }
  /* Normal approximation: the variance with the tie correction sum (t^3 - t) over the tied
   * groups of the pooled sample. */
  size_t n = na + nb;
  double *all = malloc(n * sizeof *all);
  if (all == NULL) GSL_ERROR("scal_mann_whitney: out of memory", GSL_ENOMEM);
  memcpy(all, a, na * sizeof *all);
  memcpy(all + na, b, nb * sizeof *all);
  gsl_sort(all, 1, n);
  double ties = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && all[j] == all[i]) j++;
    double t = (double)(j - i);
    ties += t * t * t - t;
    i = j;
  }
  free(all);
  double dn = (double)n;
  double var = (double)nab / 12 * ((dn + 1) - ties / (dn * (dn - 1)));
  double z = var > 0 ? (dev - 0.5 > 0 ? dev - 0.5 : 0) / sqrt(var) : 0;
  *p_value = erfc(z / M_SQRT2);
  return GSL_SUCCESS;
}

/* Median, min, max, median absolute deviation and median interval of t (sorted in place). */
static void summarise(double *t, size_t n, ndpar_scal_point *pt) {
  gsl_sort(t, 1, n);
  pt->median_ms = gsl_stats_median_from_sorted_data(t, 1, n);
  pt->min_ms = t[0];
  pt->max_ms = t[n - 1];
  median_interval_sorted(t, n, NDPAR_SCAL_LEVEL, &pt->median_lo_ms, &pt->median_hi_ms);
  for (size_t i = 0; i < n; i++) t[i] = fabs(t[i] - pt->median_ms);
  gsl_sort(t, 1, n);
  pt->mad_ms = gsl_stats_median_from_sorted_data(t, 1, n);
}

#define SCAL_BOOTSTRAP 2000     /* resamples of every bootstrap */
#define SCAL_SEED 20261207UL    /* fixed: the same runs give the same intervals */

/* The median of n values drawn with replacement from x (scratch: n doubles). */
static double resampled_median(const double *x, size_t n, gsl_rng *rng, double *scratch) {
  for (size_t i = 0; i < n; i++) scratch[i] = x[gsl_rng_uniform_int(rng, n)];
  return gsl_stats_median(scratch, 1, n); /* quickselect: linear, scratch reordered */
}

/* The percentile interval of v[0..n) (sorted in place) at the level. */
static void percentile_interval(double *v, size_t n, double level, double *lo, double *hi) {
  gsl_sort(v, 1, n);
  *lo = gsl_stats_quantile_from_sorted_data(v, 1, n, (1 - level) / 2);
  *hi = gsl_stats_quantile_from_sorted_data(v, 1, n, (1 + level) / 2);
}

/* The speedup intervals of every point by a bootstrap of the ratio of the medians: the
 * 1-thread runs and the point's runs resampled independently. Returns GSL_ENOMEM or 0. */
static int bootstrap_speedups(const double *samples, size_t repeats, ndpar_scal_point *pts,
                              size_t n) {
  size_t b = 0;
  while (pts[b].threads != 1) b++;
  double *scratch = malloc(repeats * sizeof *scratch);
  double *ratio = malloc(SCAL_BOOTSTRAP * sizeof *ratio);
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  int status = scratch && ratio && rng ? GSL_SUCCESS : GSL_ENOMEM;
  for (size_t i = 0; i < n && status == GSL_SUCCESS; i++) {
    if (i == b || pts[i].threads == 1) continue; /* [1, 1] from derive */
    gsl_rng_set(rng, SCAL_SEED + i);
    for (size_t k = 0; k < SCAL_BOOTSTRAP; k++) {
      double t1 = resampled_median(samples + b * repeats, repeats, rng, scratch);
      double tp = resampled_median(samples + i * repeats, repeats, rng, scratch);
      ratio[k] = t1 / tp;
    }
    percentile_interval(ratio, SCAL_BOOTSTRAP, NDPAR_SCAL_LEVEL, &pts[i].speedup_lo, &pts[i].speedup_hi);
  }
  free(scratch);
  free(ratio);
  gsl_rng_free(rng);
  return status;
}

/* Times the runs of one thread count into raw (in run order), summarised into pt. */
static int measure_point(size_t threads, const ndpar_scal_config *cfg, ndpar_workload_fn f,
                         void *ctx, double *raw, double *t, size_t *done, size_t total,
                         ndpar_scal_point *pt) {
  ndpar_pool_config pc;
  ndpar_pool_config_init(&pc);
  pc.threads = threads;
  pc.bind = cfg->bind;
  int status;
  ndpar_pool *pool = ndpar_pool_alloc_status(&pc, &status); /* the pool reports its failure */
  if (pool == NULL) return status;
  for (size_t w = 0; w < cfg->warmup && status == GSL_SUCCESS; w++) status = f(pool, ctx);
  for (size_t r = 0; r < cfg->repeats && status == GSL_SUCCESS; r++) {
    double t0 = ndpar_time_now();
    status = f(pool, ctx);
    raw[r] = 1e3 * (ndpar_time_now() - t0);
    if (cfg->progress) cfg->progress(++*done, total, cfg->progress_ctx);
  }
  ndpar_pool_free(pool);
  if (status == GSL_SUCCESS) {
    pt->threads = threads;
    memcpy(t, raw, cfg->repeats * sizeof *t);
    summarise(t, cfg->repeats, pt);
  }
  return status;
}

/* Every entry in 1..NDPAR_MAX_THREADS, and 1 among them. */
static int check_thread_list(const size_t *threads, size_t n) {
  int has_one = 0;
  for (size_t i = 0; i < n; i++) {
    if (threads[i] == 0 || threads[i] > NDPAR_MAX_THREADS)
      NDPAR_ERROR_FMT(GSL_EINVAL, "scal_run: threads[%zu] = %zu is not in 1..%d", i, threads[i],
                      NDPAR_MAX_THREADS);
    has_one |= threads[i] == 1;
  }
  NDPAR_REQUIRE(has_one, "scal_run: threads must contain 1 (the baseline)", GSL_EINVAL);
  return GSL_SUCCESS;
}

int ndpar_scal_run(const size_t *threads, size_t n, const ndpar_scal_config *cfg,
                   ndpar_workload_fn f, void *ctx, ndpar_scal_point *out) {
  ndpar_scal_config defaults;
  if (cfg == NULL) {
    ndpar_scal_config_init(&defaults);
    cfg = &defaults;
  }
  /* n = 0 reads neither array: they may be NULL then. */
  NDPAR_REQUIRE(n == 0 || threads != NULL, "scal_run: threads is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(f != NULL, "scal_run: f is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(n == 0 || out != NULL, "scal_run: out is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(cfg->repeats > 0, "scal_run: cfg->repeats must be at least 1", GSL_EINVAL);
  NDPAR_REQUIRE(cfg->bind == NDPAR_BIND_CORES || cfg->bind == NDPAR_BIND_NONE,
                "scal_run: cfg->bind is neither NDPAR_BIND_CORES nor NDPAR_BIND_NONE", GSL_EINVAL);
  if (n == 0) return GSL_SUCCESS; /* nothing to measure */
  size_t bytes, total;
  NDPAR_REQUIRE(ndpar_size_mul(cfg->repeats, sizeof(double), &bytes) &&
                ndpar_size_mul(n, cfg->repeats, &total) &&
                ndpar_size_mul(total, sizeof(double), &bytes) &&
                ndpar_size_mul(n, sizeof(ndpar_scal_point), &bytes),
                "scal_run: cfg->repeats or n is too large (their sizes overflow)", GSL_EINVAL);
  int status = check_thread_list(threads, n);
  if (status) return status;

  double *t = malloc(cfg->repeats * sizeof *t);
  double *raw = malloc(total * sizeof *raw); /* every run, kept for the speedup intervals */
  ndpar_scal_point *pts = malloc(n * sizeof *pts);
  if (t == NULL || raw == NULL || pts == NULL) {
    free(t);
    free(raw);
    free(pts);
    GSL_ERROR("scal_run: out of memory", GSL_ENOMEM);
  }
  size_t done = 0;
  for (size_t i = 0; i < n && status == GSL_SUCCESS; i++)
    status = measure_point(threads[i], cfg, f, ctx, raw + i * cfg->repeats, t, &done, total, &pts[i]);
  if (status == GSL_SUCCESS) status = ndpar_scal_derive(pts, n);
  if (status == GSL_SUCCESS && bootstrap_speedups(raw, cfg->repeats, pts, n) != GSL_SUCCESS) {
    free(t);
    free(raw);
    free(pts);
    GSL_ERROR("scal_run: out of memory", GSL_ENOMEM);
  }
  if (status == GSL_SUCCESS) {
    for (size_t i = 0; i < n; i++) out[i] = pts[i];
    if (cfg->samples) memcpy(cfg->samples, raw, total * sizeof *raw);
  }
  free(t);
  free(raw);
  free(pts);
  return status;
}

/* The fit itself; 0 if fewer than two distinct thread counts have a time.
 *
 * Amdahl's law in times is linear in 1/p: T(p) = a + b/p with a = T1 (1 - f), b = T1 f.
 * Fitting a and b to every point by least squares, weighted by 1/T^2 (timing noise is
 * relative), estimates the 1-thread time from every point instead of dividing every
 * speedup by one noisy baseline measurement: with 1% noise per timing the fitted f stays
 * within 0.02 where a fit of the speedups themselves does not. f = b / (a + b).
 *
 * The times are divided by the largest one first: f and the relative residual do not
 * change, and 1/T^2 neither overflows (subnormal times) nor underflows to 0 (times near
 * DBL_MAX), which made valid extreme times look like a single thread count. */
typedef struct {
  const ndpar_scal_point *pts;
  const double *times; /* times[i] for pts[i] (NULL: the medians) */
  size_t n, max_threads;
  double top; /* the largest usable time: the scale */
} fit_input;

static double time_of(const fit_input *in, size_t i) {
  return in->times ? in->times[i] : in->pts[i].median_ms;
}

/* Whether point i takes part, and then its 1/p, scaled time and weight 1/t^2. */
static int fit_point(const fit_input *in, size_t i, double *x, double *t, double *w) {
  double raw = time_of(in, i);
  size_t p = in->pts[i].threads;
  if (!(raw > 0) || !isfinite(raw) || p == 0 || p > in->max_threads) return 0;
  *x = 1.0 / (double)p;
  *t = raw / in->top;
  *w = 1.0 / (*t * *t);
  return 1;
}

/* Weighted least squares of t = a + b x; 0 if x takes a single value. */
static int amdahl_solve(fit_input *in, double *f_out, double *smax, double *residual) {
  in->top = 0;
  for (size_t i = 0; i < in->n; i++) {
    double raw = time_of(in, i);
    size_t p = in->pts[i].threads;
    if (raw > in->top && isfinite(raw) && p > 0 && p <= in->max_threads) in->top = raw;
  }
  double sw = 0, sx = 0, sy = 0, x, t, w;
  size_t m = 0;
  for (size_t i = 0; i < in->n; i++) {
    if (!fit_point(in, i, &x, &t, &w)) continue;
    sw += w;
    sx += w * x;
    sy += w * t;
    m++;
  }
  if (!(sw > 0) || !isfinite(sw)) return 0;
  double mx = sx / sw, my = sy / sw, sxx = 0, sxy = 0;
  for (size_t i = 0; i < in->n; i++) {
    if (!fit_point(in, i, &x, &t, &w)) continue;
    sxx += w * (x - mx) * (x - mx);
    sxy += w * (x - mx) * (t - my);
  }
  if (!(sxx > 0)) return 0; /* a single thread count: nothing to fit */
  double b = sxy / sxx;
  double a = my - b * mx;
  double f = a + b > 0 ? b / (a + b) : 0;
  f = f < 0 ? 0 : f > 1 ? 1 : f;
  double ss = 0;
  for (size_t i = 0; i < in->n; i++) {
    if (!fit_point(in, i, &x, &t, &w)) continue;
    double e = (t - (a + b * x)) / t;
    ss += e * e;
  }
  *f_out = f;
  *smax = f < 1 ? 1.0 / (1.0 - f) : GSL_POSINF;
  *residual = sqrt(ss / (double)m);
  return 1;
}

/* The fit of the points' medians within max_threads. */
static int amdahl_fit(const ndpar_scal_point *pts, size_t n, size_t max_threads, double *f_out,
                      double *smax, double *residual) {
  fit_input in = {pts, NULL, n, max_threads, 0};
  return amdahl_solve(&in, f_out, smax, residual);
}

int ndpar_scal_amdahl(const ndpar_scal_point *pts, size_t n, double *parallel_fraction,
                      double *max_speedup, double *residual) {
  NDPAR_REQUIRE(pts != NULL, "scal_amdahl: pts is NULL", GSL_EFAULT);
  double f, smax, res;
  NDPAR_REQUIRE(amdahl_fit(pts, n, SIZE_MAX, &f, &smax, &res),
                "scal_amdahl: pts needs a point with more than one thread", GSL_EINVAL);
  if (parallel_fraction) *parallel_fraction = f;
  if (max_speedup) *max_speedup = smax;
  if (residual) *residual = res;
  return GSL_SUCCESS;
}

int ndpar_scal_amdahl_interval(const ndpar_scal_point *pts, size_t n, const double *samples,
                               size_t repeats, double level, double *lo, double *hi) {
  NDPAR_REQUIRE(pts != NULL && samples != NULL, "scal_amdahl_interval: pts or samples is NULL",
                GSL_EFAULT);
  NDPAR_REQUIRE(lo != NULL && hi != NULL, "scal_amdahl_interval: lo or hi is NULL", GSL_EFAULT);
  NDPAR_REQUIRE(repeats > 0, "scal_amdahl_interval: repeats must be at least 1", GSL_EINVAL);
  NDPAR_REQUIRE(level > 0 && level < 1, "scal_amdahl_interval: level must be in (0, 1)", GSL_EINVAL);
  size_t bytes;
  NDPAR_REQUIRE(ndpar_size_mul(n, sizeof(double), &bytes) &&
                ndpar_size_mul(repeats, sizeof(double), &bytes),
                "scal_amdahl_interval: n or repeats is too large", GSL_EINVAL);
  double f, smax, res;
  NDPAR_REQUIRE(amdahl_fit(pts, n, SIZE_MAX, &f, &smax, &res),
                "scal_amdahl_interval: pts needs two distinct thread counts", GSL_EINVAL);
  double *times = malloc(n * sizeof *times);
  double *scratch = malloc(repeats * sizeof *scratch);
  double *fs = malloc(SCAL_BOOTSTRAP * sizeof *fs);
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  int ok = times && scratch && fs && rng;
  size_t m = 0;
  if (ok) {
    gsl_rng_set(rng, SCAL_SEED);
    fit_input in = {pts, times, n, SIZE_MAX, 0};
    for (size_t k = 0; k < SCAL_BOOTSTRAP; k++) {
      for (size_t i = 0; i < n; i++) times[i] = resampled_median(samples + i * repeats, repeats, rng, scratch);
      if (amdahl_solve(&in, &fs[m], &smax, &res)) m++;
    }
    if (m > 0) percentile_interval(fs, m, level, lo, hi);
  }
  free(times);
  free(scratch);
  free(fs);
  gsl_rng_free(rng);
  if (!ok) GSL_ERROR("scal_amdahl_interval: out of memory", GSL_ENOMEM);
  return GSL_SUCCESS;
}

#define AMDAHL_MAX_RESIDUAL 0.10

const char *ndpar_scal_amdahl_degenerate(double parallel_fraction, double residual) {
  if (!(parallel_fraction < 1))
    return "degenerate: the times fall as fast as 1/p or faster, so no serial part shows and no "
           "maximum speedup can be predicted";
  if (!(residual <= AMDAHL_MAX_RESIDUAL))
    return "degenerate: the residual is above 10%, so Amdahl's law does not describe these points";
  return NULL;
}

/* ---- writers ---- */

/* Every write so far, and the flush that pushes the buffer out (where a full disk first
 * shows): a failed write sets the stream's error flag, which stays set. */
static int stream_status(FILE *stream) {
  if (fflush(stream) != 0 || ferror(stream))
    NDPAR_ERROR_FMT(GSL_EFAILED, "scal: write error on the stream: %s", strerror(errno));
  return GSL_SUCCESS;
}

/* "12.345 [12.001, 12.900]": a value with its interval (the interval left out where unknown). */
static void with_interval(char *buf, size_t size, const char *fmt, double v, double lo, double hi) {
  char one[3][32];
  snprintf(one[0], sizeof one[0], fmt, v);
  snprintf(one[1], sizeof one[1], fmt, lo);
  snprintf(one[2], sizeof one[2], fmt, hi);
  if (isfinite(lo) && isfinite(hi) && lo <= v && v <= hi) /* unset (0, 0) is not shown */
    snprintf(buf, size, "%s [%s, %s]", one[0], one[1], one[2]);
  else
    snprintf(buf, size, "%s", one[0]);
}

int ndpar_scal_print(FILE *stream, const ndpar_scal_point *pts, size_t n) {
  NDPAR_REQUIRE(stream != NULL && pts != NULL, "scal_print: stream or pts is NULL", GSL_EFAULT);
  fprintf(stream, "%7s  %-31s  %-24s  %10s  %10s  %10s  %9s  %10s\n", "Threads",
          "Duration (ms) [95% CI]", "Speedup [95% CI]", "Efficiency", "Min (ms)", "Max (ms)",
          "MAD (ms)", "Karp-Flatt");
  for (size_t i = 0; i < n; i++) {
    char kf[32] = "-", dur[128], sp[128];
    if (!isnan(pts[i].serial_fraction)) snprintf(kf, sizeof kf, "%.4f", pts[i].serial_fraction);
    with_interval(dur, sizeof dur, "%.3f", pts[i].median_ms, pts[i].median_lo_ms, pts[i].median_hi_ms);
    with_interval(sp, sizeof sp, "%.2f", pts[i].speedup, pts[i].speedup_lo, pts[i].speedup_hi);
    fprintf(stream, "%7zu  %-31s  %-24s  %9.1f%%  %10.3f  %10.3f  %9.3f  %10s\n", pts[i].threads,
            dur, sp, 100.0 * pts[i].efficiency, pts[i].min_ms, pts[i].max_ms, pts[i].mad_ms, kf);
  }
  return stream_status(stream);
}

/* The first eight columns as they were (positional readers keep working); Karp-Flatt's
 * column is named for what it is, and the intervals follow. */
const char ndpar_scal_csv_header[] =
    "threads,median_ms,min_ms,max_ms,mad_ms,speedup,efficiency,karp_flatt,"
    "median_lo_ms,median_hi_ms,speedup_lo,speedup_hi";

/* A label as one CSV field (RFC 4180): quoted, with its quotes doubled, when it holds a
 * comma, a quote or a line break; as it is otherwise. */
static void csv_label(FILE *stream, const char *label) {
  if (strpbrk(label, ",\"\r\n") == NULL) {
    fprintf(stream, "%s,", label);
    return;
  }
  fputc('"', stream);
  for (const char *c = label; *c; c++) {
    if (*c == '"') fputc('"', stream);
    fputc(*c, stream);
  }
  fputs("\",", stream);
}

static void csv_rows(FILE *stream, const char *label, const ndpar_scal_point *pts, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (label) csv_label(stream, label);
    fprintf(stream, "%zu,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g\n",
            pts[i].threads, pts[i].median_ms, pts[i].min_ms, pts[i].max_ms, pts[i].mad_ms,
            pts[i].speedup, pts[i].efficiency, pts[i].serial_fraction, pts[i].median_lo_ms,
            pts[i].median_hi_ms, pts[i].speedup_lo, pts[i].speedup_hi);
  }
}

static void csv_file(FILE *stream, const ndpar_scal_point *pts, size_t n) {
  fprintf(stream, "%s\n", ndpar_scal_csv_header);
  csv_rows(stream, NULL, pts, n);
}

int ndpar_scal_write_csv_rows(FILE *stream, const char *label, const ndpar_scal_point *pts,
                              size_t n) {
  NDPAR_REQUIRE(stream != NULL && pts != NULL, "scal_write_csv: stream or pts is NULL", GSL_EFAULT);
  csv_rows(stream, label, pts, n);
  return stream_status(stream);
}

int ndpar_scal_write_csv(FILE *stream, const ndpar_scal_point *pts, size_t n) {
  NDPAR_REQUIRE(stream != NULL && pts != NULL, "scal_write_csv: stream or pts is NULL", GSL_EFAULT);
  csv_file(stream, pts, n);
  return stream_status(stream);
}

/* JSON has no NaN or infinity: they are written as null. */
static void json_number(FILE *stream, const char *key, double v, const char *sep) {
  if (isfinite(v))
    fprintf(stream, "\"%s\": %.17g%s", key, v, sep);
  else
    fprintf(stream, "\"%s\": null%s", key, sep);
}

static void json_file(FILE *stream, const ndpar_scal_point *pts, size_t n) {
  fprintf(stream, "{\n  \"points\": [\n");
  for (size_t i = 0; i < n; i++) {
    fprintf(stream, "    {\"threads\": %zu, ", pts[i].threads);
    json_number(stream, "median_ms", pts[i].median_ms, ", ");
    json_number(stream, "min_ms", pts[i].min_ms, ", ");
    json_number(stream, "max_ms", pts[i].max_ms, ", ");
    json_number(stream, "mad_ms", pts[i].mad_ms, ", ");
    json_number(stream, "speedup", pts[i].speedup, ", ");
    json_number(stream, "efficiency", pts[i].efficiency, ", ");
    json_number(stream, "karp_flatt", pts[i].serial_fraction, ", ");
    json_number(stream, "median_lo_ms", pts[i].median_lo_ms, ", ");
    json_number(stream, "median_hi_ms", pts[i].median_hi_ms, ", ");
    json_number(stream, "speedup_lo", pts[i].speedup_lo, ", ");
    json_number(stream, "speedup_hi", pts[i].speedup_hi, "");
    fprintf(stream, "}%s\n", i + 1 < n ? "," : "");
  }
  fprintf(stream, "  ]");
  /* The fit over the points within the physical cores; the others are listed as such. */
  size_t cores = ndpar_physical_cores();
  double f, smax, res;
  if (amdahl_fit(pts, n, cores, &f, &smax, &res)) {
    const char *why = ndpar_scal_amdahl_degenerate(f, res);
    size_t fitted = 0;
    for (size_t i = 0; i < n; i++) fitted += pts[i].threads <= cores && pts[i].median_ms > 0;
    /* Two points fit a two-parameter law exactly: no maximum speedup follows from them. */
    fprintf(stream, ",\n  \"amdahl\": {\"fitted_up_to_threads\": %zu, \"points_fitted\": %zu, ",
            cores, fitted);
    json_number(stream, "parallel_fraction", f, ", ");
    json_number(stream, "max_speedup", fitted >= 3 && why == NULL ? smax : GSL_NAN, ", ");
    json_number(stream, "residual", res, ", ");
    fprintf(stream, "\"degenerate\": %s}", why ? "true" : "false");
  }
  fprintf(stream, ",\n  \"not_fitted_threads\": [");
  for (size_t i = 0, k = 0; i < n; i++)
    if (pts[i].threads > cores) fprintf(stream, "%s%zu", k++ ? ", " : "", pts[i].threads);
  fprintf(stream, "]");
  fprintf(stream, "\n}\n");
}

int ndpar_scal_write_json(FILE *stream, const ndpar_scal_point *pts, size_t n) {
  NDPAR_REQUIRE(stream != NULL && pts != NULL, "scal_write_json: stream or pts is NULL", GSL_EFAULT);
  json_file(stream, pts, n);
  return stream_status(stream);
}

/* ---- files, written whole or not at all ---- */

/* Writes through a temporary beside path (same folder: the rename stays on one file
 * system, so it is atomic) and renames it over path once every write, the flush and the
 * close have succeeded; on any failure the temporary is removed and path left as it was. */
static int save_atomically(const char *who, const char *path, const ndpar_scal_point *pts,
                           size_t n, void (*body)(FILE *, const ndpar_scal_point *, size_t)) {
  if (path == NULL || pts == NULL) NDPAR_ERROR_FMT(GSL_EFAULT, "%s: path or pts is NULL", who);
  struct stat st;
  if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) /* never replace a device or a folder */
    NDPAR_ERROR_FMT(GSL_EINVAL, "%s: path %s exists and is not a regular file", who, path);
  size_t len = strlen(path);
  char *tmp = malloc(len + sizeof ".tmp.XXXXXX");
  if (tmp == NULL) NDPAR_ERROR_FMT(GSL_ENOMEM, "%s: out of memory", who);
  memcpy(tmp, path, len);
  memcpy(tmp + len, ".tmp.XXXXXX", sizeof ".tmp.XXXXXX");
  int fd = mkstemp(tmp);
  FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
  if (f == NULL) {
    int err = errno;
    if (fd >= 0) close(fd), unlink(tmp);
    free(tmp);
    NDPAR_ERROR_FMT(GSL_EFAILED, "%s: cannot create a file beside path %s: %s", who, path, strerror(err));
  }
  errno = 0;
  body(f, pts, n);
  int err = 0; /* the first failure's errno */
  if (fflush(f) != 0 || ferror(f)) err = errno ? errno : EIO;
  else if (fchmod(fd, 0644) != 0 || fsync(fd) != 0) err = errno;
  if (fclose(f) != 0 && err == 0) err = errno;
  if (err == 0 && rename(tmp, path) != 0) err = errno;
  if (err == 0) {
    free(tmp);
    return GSL_SUCCESS;
  }
  unlink(tmp);
  free(tmp);
  NDPAR_ERROR_FMT(GSL_EFAILED, "%s: cannot write path %s: %s", who, path, strerror(err));
}

int ndpar_scal_save_csv(const char *path, const ndpar_scal_point *pts, size_t n) {
  return save_atomically("scal_save_csv", path, pts, n, csv_file);
}

int ndpar_scal_save_json(const char *path, const ndpar_scal_point *pts, size_t n) {
  return save_atomically("scal_save_json", path, pts, n, json_file);
}
