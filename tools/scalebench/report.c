/* report.c: what scalebench says about its numbers: the comparison with a saved baseline,
 * the Markdown table and the plot. */
#include <gsl/gsl_sf_gamma.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scalebench.h"

/* ---- the change against a baseline ---- */

/* The saved runs of (workload, threads), gathered into out (at most cap); their count. */
static size_t saved_runs(const sb_baseline *b, const char *workload, size_t threads, double *out,
                         size_t cap) {
  size_t n = 0;
  for (size_t i = 0; i < b->n && n < cap; i++)
    if (b->pts[i].threads == threads && strcmp(b->pts[i].workload, workload) == 0)
      out[n++] = b->pts[i].ms;
  return n;
}

static double median_of(const double *x, size_t n, double *scratch) {
  memcpy(scratch, x, n * sizeof *x);
  gsl_sort(scratch, 1, n);
  return gsl_stats_median_from_sorted_data(scratch, 1, n);
}

typedef struct {
  double old_ms, now_ms, change, p;
  int flagged; /* -1 faster, +1 slower, 0 no change */
} sb_change;

/* The test and the threshold over two sets of runs (the rule of sb_compare_baseline). */
static sb_change judge(const sb_options *o, const double *old, size_t nold, const double *now,
                       size_t nnow, double *scratch) {
  sb_change c = {0, 0, 0, 1, 0};
  c.old_ms = median_of(old, nold, scratch);
  c.now_ms = median_of(now, nnow, scratch);
  c.change = (c.now_ms - c.old_ms) / c.old_ms;
  if (ndpar_scal_mann_whitney(now, nnow, old, nold, &c.p) != GSL_SUCCESS) c.p = 1;
  if (c.p < o->significance && fabs(c.change) > o->noise_threshold) c.flagged = c.change < 0 ? -1 : 1;
  return c;
}

static const char *verdict(const sb_options *o, const sb_change *c, char *buf, size_t size) {
  if (c->flagged) return c->flagged < 0 ? "FASTER" : "SLOWER";
  if (c->p >= o->significance) snprintf(buf, size, "no change (p >= %g)", o->significance);
  else snprintf(buf, size, "no change (within the %g%% noise threshold)", 100 * o->noise_threshold);
  return buf;
}

size_t sb_compare_baseline(FILE *out, const sb_options *o, const sb_baseline *b,
                           const sb_result *r, size_t n, const sb_reference *ref) {
  size_t cap = b->n, flagged = 0, compared = 0;
  double *old = malloc((cap ? cap : 1) * sizeof *old);
  double *scratch = malloc((cap + 1 + (ref ? ref->repeats : 0) + (n ? r[0].repeats : 0)) * sizeof *scratch);
  if (old == NULL || scratch == NULL) {
    free(old);
    free(scratch);
    fprintf(stderr, "scalebench: out of memory comparing with the baseline\n");
    return 0;
  }
  fprintf(out, "\nChange against baseline '%s': flagged only when the Mann-Whitney test over the raw runs\n"
               "gives p < %g and the medians differ by more than %g%%\n",
          o->baseline, o->significance, 100 * o->noise_threshold);
  fprintf(out, "%-10s %7s  %13s  %13s  %8s  %9s  %s\n", "Workload", "Threads", "Baseline (ms)",
          "Now (ms)", "Change", "p-value", "Verdict");
  char buf[96];
  sb_change machine = {0, 0, 0, 1, 0};
  size_t nref = ref ? saved_runs(b, SB_REFERENCE, ref->threads, old, cap) : 0;
  if (nref > 0) {
    machine = judge(o, old, nref, ref->samples, ref->repeats, scratch);
    fprintf(out, "%-10s %7zu  %13.3f  %13.3f  %+7.1f%%  %9.2g  %s%s\n", SB_REFERENCE, ref->threads,
            machine.old_ms, machine.now_ms, 100 * machine.change, machine.p,
            verdict(o, &machine, buf, sizeof buf), machine.flagged ? " (the machine: see below)" : "");
  }
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < r[i].npts; k++) {
      const ndpar_scal_point *p = &r[i].pts[k];
      size_t nold = saved_runs(b, r[i].name, p->threads, old, cap);
      if (nold == 0) continue;
      sb_change c = judge(o, old, nold, r[i].samples + k * r[i].repeats, r[i].repeats, scratch);
      compared++;
      flagged += c.flagged != 0;
      fprintf(out, "%-10s %7zu  %13.3f  %13.3f  %+7.1f%%  %9.2g  %s\n", r[i].name, p->threads,
              c.old_ms, c.now_ms, 100 * c.change, c.p, verdict(o, &c, buf, sizeof buf));
    }
  fprintf(out, "%zu of %zu points flagged.\n", flagged, compared);
  /* With few runs even a total separation of the two sets is not significant: say so. */
  size_t nnow = n ? r[0].repeats : 0, nbase = n ? saved_runs(b, r[0].name, r[0].pts[0].threads, old, cap) : 0;
  double least = nnow && nbase ? 2 * exp(-gsl_sf_lnchoose((unsigned)(nnow + nbase), (unsigned)nnow)) : 1;
  if (least >= o->significance)
    fprintf(out, "With %zu and %zu runs per point the smallest possible p-value is %.3g, not below %g:\n"
                 "no change can be flagged; use --repeat 6 or more (both when saving and comparing).\n",
            nbase, nnow, least, o->significance);
  if (machine.flagged)
    fprintf(out, "The reference kernel (a fixed loop on every core at once, no ndpar code) ran %.1f%% %s "
                 "than when the baseline was saved:\nthe machine itself changed speed (load, frequency, "
                 "another process), so changes of that size are the machine's, not the code's.\n",
            100 * fabs(machine.change), machine.change > 0 ? "slower" : "faster");
  else if (nref > 0 && fabs(machine.change) > o->noise_threshold)
    fprintf(out, "The reference kernel (a fixed loop on every core at once, no ndpar code) moved by %+.1f%% "
                 "(not significant, p = %.2g, but beyond the threshold):\nthe machine's speed is unsteady "
                 "(load from other processes?), so treat flagged changes of that size with doubt.\n",
            100 * machine.change, machine.p);
  /* How steady the machine was within this run: the reference's own spread (min to max over
   * its median). Where it exceeds the threshold, the machine alone moves times that much. */
  if (ref && ref->repeats > 1) {
    memcpy(scratch, ref->samples, ref->repeats * sizeof *scratch);
    gsl_sort(scratch, 1, ref->repeats);
    double med = gsl_stats_median_from_sorted_data(scratch, 1, ref->repeats);
    double spread = (scratch[ref->repeats - 1] - scratch[0]) / med;
    if (spread > o->noise_threshold)
      fprintf(out, "Within this run the reference kernel's %zu runs spread over %.0f%% of their median: the "
                   "machine is not quiet (other processes?),\nand changes below that size may be its, not "
                   "the code's.\n", ref->repeats, 100 * spread);
  }
  if (ref && nref == 0)
    fprintf(out, "(The baseline holds no reference-kernel runs: a change of the machine's own speed "
                 "cannot be told apart.)\n");
  free(old);
  free(scratch);
  return flagged;
}

/* ---- Markdown ---- */

int sb_write_markdown(const char *path, const sb_result *r, size_t n) {
  sb_atomic_file a;
  if (sb_atomic_open(&a, path)) return 1;
  FILE *f = a.f;
  fprintf(f, "| Workload | Threads | Duration (ms) | 95%% CI (ms) | Speedup | 95%% CI | Efficiency |\n");
  fprintf(f, "| --- | ---: | ---: | --- | ---: | --- | ---: |\n");
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < r[i].npts; k++) {
      const ndpar_scal_point *p = &r[i].pts[k];
      fprintf(f, "| %s | %zu | %.3f | %.3f – %.3f | %.2f | %.2f – %.2f | %.1f%% |\n", r[i].name,
              p->threads, p->median_ms, p->median_lo_ms, p->median_hi_ms, p->speedup, p->speedup_lo,
              p->speedup_hi, 100 * p->efficiency);
    }
  fprintf(f, "\nMedians of %zu timed runs per point on %zu physical cores; 95%% confidence intervals "
             "(docs/scalability.md); speedup over ndpar at 1 thread.\n",
          n ? r[0].repeats : 0, ndpar_physical_cores());
  return sb_atomic_close(&a);
}

/* ---- the plot ---- */

int sb_gnuplot_available(void) {
  return system("command -v gnuplot >/dev/null 2>&1") == 0;
}

/* Colour-blind-safe and distinct (ColorBrewer Dark2, then Set1): one per workload, the same
 * in its own panel and in the efficiency panel. */
static const char *const colours[] = {"#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e",
                                      "#e6ab02", "#a6761d", "#666666", "#e41a1c", "#377eb8",
                                      "#4daf4a", "#984ea3", "#ff7f00", "#a65628", "#f781bf",
                                      "#999999"};

/* Whether the Amdahl curve says something: three or more points within the cores, a fit
 * that is not degenerate, and an interval of f that stays below 1. */
static int fit_is_shown(const sb_result *r) {
  return r->fit_ok && r->fit_n >= 3 && r->fit_hi < 1 &&
         ndpar_scal_amdahl_degenerate(r->fit_f, r->fit_res) == NULL;
}

static const char *terminal_for(const char *path, size_t rows, size_t cols) {
  static char term[128];
  const char *dot = strrchr(path, '.');
  unsigned w = (unsigned)(360 * cols + 40), h = (unsigned)(300 * rows + 40);
  if (dot && strcmp(dot, ".svg") == 0) snprintf(term, sizeof term, "svg size %u,%u dynamic font 'sans,11'", w, h);
  else if (dot && strcmp(dot, ".png") == 0) snprintf(term, sizeof term, "pngcairo size %u,%u font 'sans,10'", w, h);
  else return NULL;
  return term;
}

static void plot_data(FILE *d, const sb_result *r, size_t n) {
  for (size_t i = 0; i < n; i++) {
    for (size_t k = 0; k < r[i].npts; k++) {
      const ndpar_scal_point *p = &r[i].pts[k];
      fprintf(d, "%zu %.6g %.6g %.6g %.6g\n", p->threads, p->speedup, p->speedup_lo, p->speedup_hi,
              100 * p->efficiency);
    }
    fprintf(d, "\n\n"); /* one gnuplot data block per workload */
  }
}

static void plot_panels(FILE *s, const char *data, const sb_result *r, size_t n, size_t maxt,
                        size_t cores) {
  fprintf(s, "set logscale x 2\nset xrange [0.8:%g]\nset grid\nset xtics (", 1.25 * (double)maxt);
  for (size_t t = 1, first = 1; t <= maxt; t *= 2, first = 0) fprintf(s, "%s%zu", first ? "" : ", ", t);
  fprintf(s, ")\nset key top left Left reverse samplen 2 spacing 1.1 font ',9'\n");
  /* The physical cores: beyond them threads share cores and the fit stops. */
  fprintf(s, "set arrow 1 from %zu, graph 0 to %zu, graph 1 nohead lw 1.5 lc rgb '#f4a6a6'\n"
             "set label 1 '%zu cores' at %zu, graph 0.94 offset 0.5,0 font ',9' tc rgb '#c05050'\n",
          cores, cores, cores, cores);
  fprintf(s, "set logscale y 2\nset ytics (");
  fprintf(s, "0.25, 0.5");
  for (size_t t = 1; t <= 2 * maxt; t *= 2) fprintf(s, ", %zu", t);
  fprintf(s, ")\n");
  for (size_t i = 0; i < n; i++) {
    double top = (double)maxt, bottom = 0.7;
    for (size_t k = 0; k < r[i].npts; k++) {
      const ndpar_scal_point *p = &r[i].pts[k];
      if (p->speedup_hi > top) top = p->speedup_hi;
      if (p->speedup_lo > 0 && p->speedup_lo / 1.1 < bottom) bottom = p->speedup_lo / 1.1;
      if (p->speedup > 0 && p->speedup / 1.1 < bottom) bottom = p->speedup / 1.1;
    }
    fprintf(s, "set title '%s' font ',11'\nset xlabel 'threads'\n"
               "set ylabel 'speedup over 1 thread'\nset yrange [%g:%g]\n", r[i].name, bottom, 1.3 * top);
    const char *c = colours[i % (sizeof colours / sizeof colours[0])];
    fprintf(s, "plot x title 'ideal' with lines dashtype 2 lc rgb '#555555', "
               "'%s' index %zu using 1:2:3:4 title 'measured, 95%% CI' with yerrorlines pt 7 ps 0.8 lw 2 lc rgb '%s'",
            data, i, c);
    if (fit_is_shown(&r[i]))
      fprintf(s, ", (x <= %zu ? 1/((1-%.6f)+%.6f/x) : 1/0) title 'Amdahl, f = %.3f' with lines lw 1.5 dashtype 4 lc rgb '%s'",
              cores, r[i].fit_f, r[i].fit_f, r[i].fit_f, c);
    fprintf(s, "\n");
  }
  /* Efficiency: every workload on one panel, the legend outside the curves. */
  fprintf(s, "unset logscale y\nset ytics auto\n"
             "set title 'efficiency (speedup / threads)' font ',11'\nset ylabel 'efficiency (%%)'\n"
             "set yrange [0:115]\nset key outside right top vertical Left reverse samplen 2 font ',9'\n"
             "plot 100 title 'ideal' with lines dashtype 2 lc rgb '#555555'");
  for (size_t i = 0; i < n; i++)
    fprintf(s, ", '%s' index %zu using 1:5 title '%s' with linespoints pt 7 ps 0.7 lw 2 lc rgb '%s'",
            data, i, r[i].name, colours[i % (sizeof colours / sizeof colours[0])]);
  fprintf(s, "\n");
}

int sb_plot(const char *path, const sb_result *r, size_t n) {
  size_t panels = n + 1, cols = 1;
  while (cols * cols < panels) cols++;
  size_t rows = (panels + cols - 1) / cols;
  const char *term = terminal_for(path, rows, cols);
  if (term == NULL) sb_usage_error("--plot %s: the file must end in .svg or .png", path);
  char data[] = "/tmp/scalebench-data-XXXXXX", script[] = "/tmp/scalebench-plot-XXXXXX";
  int dfd = mkstemp(data), sfd = mkstemp(script);
  FILE *d = dfd >= 0 ? fdopen(dfd, "w") : NULL, *s = sfd >= 0 ? fdopen(sfd, "w") : NULL;
  if (d == NULL || s == NULL) {
    fprintf(stderr, "scalebench: cannot create temporary plot files\n");
    if (d) fclose(d), unlink(data);
    if (s) fclose(s), unlink(script);
    return 1;
  }
  size_t maxt = 1, cores = ndpar_physical_cores();
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < r[i].npts; k++)
      if (r[i].pts[k].threads > maxt) maxt = r[i].pts[k].threads;
  plot_data(d, r, n);
  fclose(d);
  char tmp_out[4200];
  snprintf(tmp_out, sizeof tmp_out, "%s.tmp.%d", path, (int)getpid());
  fprintf(s, "set terminal %s\nset output '%s'\n", term, tmp_out);
  fprintf(s, "set multiplot layout %zu,%zu title 'scalebench: speedup per workload (median of "
             "%zu runs, 95%% CI) and efficiency' font ',12'\n",
          rows, cols, n ? r[0].repeats : 0);
  plot_panels(s, data, r, n, maxt, cores);
  fprintf(s, "unset multiplot\n");
  fclose(s);
  char cmd[4300];
  snprintf(cmd, sizeof cmd, "gnuplot '%s' 2>&1", script);
  int rc = system(cmd);
  unlink(data);
  unlink(script);
  if (rc != 0 || rename(tmp_out, path) != 0) {
    unlink(tmp_out);
    fprintf(stderr, "scalebench: gnuplot could not write %s\n", path);
    return 1;
  }
  return 0;
}
