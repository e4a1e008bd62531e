/* csv_format.c: doubles to their shortest decimal text that reads back to the same bits
 * (Schubfach), and seconds since the epoch to ISO 8601 text that reads back the same. */
#include "csv_format.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "csv_number.h"
#include "schubfach_table.h"

/* ---- Schubfach ------------------------------------------------------------------------
 * R. Giulietti, "The Schubfach way to render doubles" (2020), as in OpenJDK's
 * DoubleToDecimal: the decimal of fewest digits inside the rounding interval of v (the
 * closest such one, ties to even digits), from one 126-bit scaled product per bound. */

/* floor(q log10 2), floor(log10(3/4 2^q)), floor(e log2 10) for the ranges used (checked
 * against exact arithmetic over |q|, |e| <= 1100 when the constants were chosen). */
static int flog10pow2(int q) { return (int)(((int64_t)q * 661971961083) >> 41); }
static int flog10_three_quarters_pow2(int q) { return (int)(((int64_t)q * 661971961083 - 274743187321) >> 41); }
static int flog2pow10(int e) { return (int)(((int64_t)e * 913124641741) >> 38); }

__extension__ typedef unsigned __int128 u128; /* GCC and Clang on 64-bit targets */

static uint64_t mul_high(uint64_t a, uint64_t b) { return (uint64_t)(((u128)a * b) >> 64); }

/* Rounds cp x g / 2^127 to odd (the sticky bit keeps inexactness), g = g1 2^63 + g0. */
static uint64_t round_to_odd(uint64_t g1, uint64_t g0, uint64_t cp) {
  uint64_t x1 = mul_high(g0, cp);
  u128 y = (u128)g1 * cp;
  uint64_t y0 = (uint64_t)y, y1 = (uint64_t)(y >> 64);
  uint64_t z = (y0 >> 1) + x1;
  uint64_t vbp = y1 + (z >> 63);
  return vbp | (((z & INT64_MAX) + INT64_MAX) >> 63);
}

/* For a subnormal, whose interval may hold candidates several digits shorter than s (the
 * algorithm below looks one digit down; 7.9e-323 has 8e-323): the shortest multiple of a
 * power of ten inside [lo, hi] (4x scaled bounds, inclusive; comparisons with 4x an integer
 * are exact, as below), the closest where two are (ties: the even one). 0 if none is
 * shorter than s by a digit. */
static int shorter_subnormal(uint64_t s, uint64_t vb, uint64_t lo, uint64_t hi, uint64_t *f) {
  uint64_t best = 0;
  for (uint64_t step = 10; step <= s + 1; step *= 10) {
    uint64_t sp = s / step * step, tp = sp + step;
    int upin = sp > 0 && lo <= sp << 2, wpin = tp << 2 <= hi;
    if (!upin && !wpin) break;
    if (upin && wpin) {
      int64_t cmp = (int64_t)(vb - ((sp + tp) << 1));
      best = cmp < 0 || (cmp == 0 && (sp / step) % 2 == 0) ? sp : tp;
    } else {
      best = upin ? sp : tp;
    }
  }
  if (best == 0) return 0;
  *f = best;
  return 1;
}

/* v = c 2^q (c > 0) as f 10^e with the fewest digits in f. */
static void to_decimal(int q, uint64_t c, int dk, uint64_t *f, int *e) {
  uint64_t out = c & 1, cb = c << 2, cbr = cb + 2, cbl;
  int k;
  if (c != (UINT64_C(1) << 52) || q == -1074) {
    cbl = cb - 2;
    k = flog10pow2(q);
  } else { /* a power of two: the interval below is half as wide */
    cbl = cb - 1;
    k = flog10_three_quarters_pow2(q);
  }
  int h = q + flog2pow10(-k) + 2;
  const uint64_t *g = schubfach_g[k - SCHUBFACH_K_MIN];
  uint64_t vb = round_to_odd(g[0], g[1], cb << h);
  uint64_t vbl = round_to_odd(g[0], g[1], cbl << h);
  uint64_t vbr = round_to_odd(g[0], g[1], cbr << h);
  uint64_t s = vb >> 2;
  if (q == -1074 && shorter_subnormal(s, vb, vbl + out, vbr - out, f)) {
    *e = k + dk;
    return;
  }
  if (s >= 100) { /* one digit fewer, if a multiple of 10 is inside the interval alone */
    uint64_t sp10 = s / 10 * 10, tp10 = sp10 + 10;
    int upin = vbl + out <= sp10 << 2, wpin = (tp10 << 2) + out <= vbr;
    if (upin != wpin) {
      *f = upin ? sp10 : tp10;
      *e = k + dk;
      return;
    }
  }
  uint64_t t = s + 1;
  int uin = vbl + out <= s << 2, win = (t << 2) + out <= vbr;
  *e = k + dk;
  if (uin != win) {
    *f = uin ? s : t;
    return;
  }
  int64_t cmp = (int64_t)(vb - ((s + t) << 1));
  *f = cmp < 0 || (cmp == 0 && (s & 1) == 0) ? s : t;
}

/* Positive finite v as f 10^e, f with no trailing zeros. */
static void shortest(double v, uint64_t *f, int *e) {
  uint64_t bits;
  memcpy(&bits, &v, sizeof bits);
  uint64_t t = bits & ((UINT64_C(1) << 52) - 1);
  int bq = (int)(bits >> 52) & 0x7ff;
  if (bq != 0) {
    int mq = 1075 - bq; /* v = c 2^-mq */
    uint64_t c = (UINT64_C(1) << 52) | t;
    if (mq > 0 && mq < 53 && (c >> mq) << mq == c) { /* an integer below 2^53 */
      *f = c >> mq;
      *e = 0;
    } else {
      to_decimal(-mq, c, 0, f, e);
    }
  } else {
    to_decimal(-1074, t, 0, f, e);
  }
  while (*f % 10 == 0) {
    *f /= 10;
    (*e)++;
  }
}

/* The digits of f (no leading zeros) into d; their count. */
static int digits_of(uint64_t f, char *d) {
  char tmp[20];
  int n = 0;
  do {
    tmp[n++] = (char)('0' + f % 10);
    f /= 10;
  } while (f);
  for (int i = 0; i < n; i++) d[i] = tmp[n - 1 - i];
  return n;
}

size_t csv_format_shortest(char *out, double v) {
  char *p = out;
  if (isnan(v)) {
    memcpy(out, "NaN", 3);
    return 3;
  }
  if (signbit(v)) {
    *p++ = '-';
    v = -v;
  }
  if (isinf(v)) {
    memcpy(p, "inf", 3);
    return (size_t)(p - out) + 3;
  }
  if (v == 0) {
    *p++ = '0';
    return (size_t)(p - out);
  }
  uint64_t f;
  int e;
  shortest(v, &f, &e);
  char d[20];
  int n = digits_of(f, d);
  int x = e + n - 1; /* the exponent in scientific notation */
  if (x >= -5 && x < 17) { /* plain: 0.000012345 .. 12345678901234567 */
    if (x < 0) {
      memcpy(p, "0.", 2);
      p += 2;
      memset(p, '0', (size_t)(-x - 1));
      p += -x - 1;
      memcpy(p, d, (size_t)n);
      p += n;
    } else if (e >= 0) {
      memcpy(p, d, (size_t)n);
      p += n;
      memset(p, '0', (size_t)e);
      p += e;
    } else {
      memcpy(p, d, (size_t)(x + 1));
      p += x + 1;
      *p++ = '.';
      memcpy(p, d + x + 1, (size_t)(n - x - 1));
      p += n - x - 1;
    }
    return (size_t)(p - out);
  }
  *p++ = d[0]; /* scientific: 1.2345e-7, 1e21 */
  if (n > 1) {
    *p++ = '.';
    memcpy(p, d + 1, (size_t)(n - 1));
    p += n - 1;
  }
  *p++ = 'e';
  if (x < 0) {
    *p++ = '-';
    x = -x;
  }
  if (x >= 100) *p++ = (char)('0' + x / 100);
  if (x >= 10) *p++ = (char)('0' + x / 10 % 10);
  *p++ = (char)('0' + x % 10);
  return (size_t)(p - out);
}

size_t csv_format_precision(char *out, double v, int precision) {
  if (isnan(v) || isinf(v)) return csv_format_shortest(out, v);
  /* the caller has made the C locale this thread's (uselocale) */
  int n = snprintf(out, CSV_FORMAT_MAX, "%.*g", precision, v);
  return n > 0 ? (size_t)n : 0;
}

/* ---- dates ----------------------------------------------------------------------------- */

/* The ISO 8601 text reads back (csv_parse_date: whole seconds plus the fraction, correctly
 * rounded) as the same double, because the text is the shortest decimal of v, cut at the
 * point into seconds and fraction. */
size_t csv_format_iso_date(char *out, double v) {
  /* 0001-01-01 .. 9999-12-31T23:59:59: what the reader's four-digit years hold */
  if (!(v >= -62135596800.0 && v < 253402300800.0)) return csv_format_shortest(out, v);
  /* -0 would read back from a date as +0: written as the number */
  if (v == 0 && signbit(v)) return csv_format_shortest(out, v);
  uint64_t f = 0;
  int e = 0;
  if (v != 0) shortest(fabs(v), &f, &e);
  /* the decimal |v| = f 10^e split into whole seconds w and fraction digits */
  char frac[24];
  int nfrac = 0;
  uint64_t w = f;
  if (e < 0) {
    if (-e > 20) return csv_format_shortest(out, v); /* a fraction of more than 20 digits */
    char d[20];
    int n = digits_of(f, d);
    int keep = n + e; /* digits before the point (<= 0: none, and -keep zeros after it) */
    int lead = keep < 0 ? -keep : 0, start = keep > 0 ? keep : 0;
    nfrac = -e;
    w = 0;
    for (int i = 0; i < start; i++) w = w * 10 + (uint64_t)(d[i] - '0');
    memset(frac, '0', (size_t)lead);
    memcpy(frac + lead, d + start, (size_t)(n - start));
  } else {
    for (int i = 0; i < e; i++) w *= 10;
  }
  long whole = v < 0 ? -(long)w : (long)w;
  if (v < 0 && nfrac > 0) {
    /* -(w + 0.F) = -(w + 1) + (1 - 0.F); the last digit of F is not 0 (f has no trailing
     * zeros), so 1 - 0.F is 10 minus it and 9 minus every other digit, with no borrow */
    whole -= 1;
    for (int i = 0; i < nfrac; i++) frac[i] = (char)('0' + (i == nfrac - 1 ? 10 : 9) - (frac[i] - '0'));
  }
  while (nfrac > 0 && frac[nfrac - 1] == '0') nfrac--;
  long day = whole >= 0 ? whole / 86400 : -((-whole + 86399) / 86400);
  long tod = whole - day * 86400;
  long y;
  unsigned mo, d;
  csv_civil_from_days(day, &y, &mo, &d);
  int n;
  if (tod == 0 && nfrac == 0)
    n = snprintf(out, CSV_FORMAT_MAX, "%04ld-%02u-%02u", y, mo, d);
  else
    n = snprintf(out, CSV_FORMAT_MAX, "%04ld-%02u-%02uT%02ld:%02ld:%02ld", y, mo, d, tod / 3600, tod / 60 % 60,
                 tod % 60);
  if (nfrac > 0) {
    out[n++] = '.';
    memcpy(out + n, frac, (size_t)nfrac);
    n += nfrac;
  }
  return (size_t)n;
}
