/* csv_number.c: a field's text to a double, exactly as strtod in the C locale, and ISO 8601
 * dates to seconds since the epoch. */
#include "csv_number.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void c_locale_make(void) { c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0); }

int csv_number_init(void) {
  pthread_once(&c_locale_once, c_locale_make);
  return c_locale != (locale_t)0;
}

locale_t csv_c_locale(void) {
  csv_number_init();
  return c_locale;
}

/* Powers of ten that are exact doubles. */
static const double exact_pow10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* Clinger's fast path: a decimal whose significand m fits in 53 bits and whose power of
 * ten e is within +-22 is m * 10^e or m / 10^e, one correctly rounded IEEE operation on two
 * exact operands, hence the correctly rounded value strtod gives. Anything else (more
 * digits, larger exponents, hex, inf, spaces) returns 0 and goes to strtod_l. */
static int parse_fast(const char *p, const char *e, double *out) {
  int neg = 0;
  if (p < e && (*p == '-' || *p == '+')) neg = *p++ == '-';
  uint64_t m = 0;
  int ndigits = 0, exp10 = 0, any = 0;
  for (; p < e && (unsigned)(*p - '0') < 10; p++, any = 1) {
    if (m == 0 && *p == '0') continue;
    if (++ndigits > 19) return 0;
    m = m * 10 + (uint64_t)(*p - '0');
  }
  if (p < e && *p == '.') {
    for (p++; p < e && (unsigned)(*p - '0') < 10; p++, any = 1) {
      exp10--;
      if (m == 0 && *p == '0') continue;
      if (++ndigits > 19) return 0;
      m = m * 10 + (uint64_t)(*p - '0');
    }
  }
  if (!any) return 0;
  if (p < e && (*p == 'e' || *p == 'E')) {
    p++;
    int eneg = 0, edigits = 0, ev = 0;
    if (p < e && (*p == '-' || *p == '+')) eneg = *p++ == '-';
    for (; p < e && (unsigned)(*p - '0') < 10; p++, edigits++)
      if (ev < 100000) ev = ev * 10 + (*p - '0');
    if (edigits == 0) return 0;
    exp10 += eneg ? -ev : ev;
  }
  if (p != e) return 0;
  if (m == 0) {
    *out = neg ? -0.0 : 0.0;
    return 1;
  }
  if (m > (UINT64_C(1) << 53) || exp10 < -22 || exp10 > 22) return 0;
  double v = (double)m;
  v = exp10 < 0 ? v / exact_pow10[-exp10] : v * exact_pow10[exp10];
  *out = neg ? -v : v;
  return 1;
}

int csv_parse_number(const char *s, size_t len, double *out) {
  if (parse_fast(s, s + len, out)) return CSV_NUM_OK;
  char stack[128];
  char *buf = len < sizeof stack ? stack : malloc(len + 1);
  if (buf == NULL) return CSV_NUM_NOMEM;
  memcpy(buf, s, len);
  buf[len] = '\0';
  char *end;
  errno = 0;
  double v = strtod_l(buf, &end, c_locale);
  int status = CSV_NUM_OK;
  if (len == 0 || end != buf + len || memchr(buf, '\0', len) != NULL)
    status = CSV_NUM_BAD;
  else if (errno == ERANGE && isinf(v))
    status = CSV_NUM_RANGE;
  if (buf != stack) free(buf);
  if (status == CSV_NUM_OK) *out = v;
  return status;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (H. Hinnant's
 * days_from_civil). */
long csv_days_from_civil(long y, unsigned m, unsigned d) {
  y -= m <= 2;
  long era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = (unsigned)(y - era * 400);
  unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (long)doe - 719468;
}

/* The inverse: the civil date of a day number (H. Hinnant's civil_from_days). */
void csv_civil_from_days(long z, long *y, unsigned *m, unsigned *d) {
  z += 719468;
  long era = (z >= 0 ? z : z - 146096) / 146097;
  unsigned doe = (unsigned)(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = (long)yoe + era * 400 + (*m <= 2);
}

static int is_leap(long y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned csv_days_in_month(long y, unsigned m) {
  static const unsigned char mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return mdays[m - 1] + (m == 2 && is_leap(y));
}

/* Reads exactly n digits at *p. */
static int digits(const char **p, const char *e, int n, int *v) {
  if (e - *p < n) return 0;
  int x = 0;
  for (int i = 0; i < n; i++) {
    unsigned d = (unsigned)((*p)[i] - '0');
    if (d > 9) return 0;
    x = x * 10 + (int)d;
  }
  *p += n;
  *v = x;
  return 1;
}

static int expect(const char **p, const char *e, char c) {
  if (*p < e && **p == c) {
    (*p)++;
    return 1;
  }
  return 0;
}

/* Optional ":ss[.fff]" after hh:mm: the seconds into *sec (0 .. 59: a leap second 60 is
 * refused, as Python's datetime refuses it), the fraction's digits (trailing zeros dropped)
 * as [*frac, *frac + *nfrac). */
static int parse_seconds(const char **p, const char *e, int *sec, const char **frac, size_t *nfrac) {
  *sec = 0;
  *nfrac = 0;
  if (!expect(p, e, ':')) return 1;
  if (!digits(p, e, 2, sec) || *sec > 59) return 0;
  if (expect(p, e, '.')) {
    if (*p == e || (unsigned)(**p - '0') > 9) return 0;
    *frac = *p;
    while (*p < e && (unsigned)(**p - '0') < 10) (*p)++;
    *nfrac = (size_t)(*p - *frac);
    while (*nfrac > 0 && (*frac)[*nfrac - 1] == '0') (*nfrac)--;
  }
  return 1;
}

/* The double nearest whole + 0.frac (frac: n digits, the last not 0): the decimal written
 * out and read by strtod, so the sum is rounded once, correctly. For whole < 0 it is
 * -((-whole - 1) + (1 - 0.frac)), 1 - 0.frac being 10 minus the last digit and 9 minus every
 * other. 0 if the fraction is longer than CSV_DATE_MAX_FRACTION digits. */
static int whole_plus_fraction(long whole, const char *frac, size_t n, double *out) {
  char buf[32 + CSV_DATE_MAX_FRACTION];
  if (n > CSV_DATE_MAX_FRACTION) return 0;
  int k = whole >= 0 ? snprintf(buf, 32, "%ld.", whole) : snprintf(buf, 32, "-%ld.", -whole - 1);
  for (size_t i = 0; i < n; i++)
    buf[(size_t)k + i] = whole >= 0 ? frac[i] : (char)('0' + (i + 1 == n ? 10 : 9) - (frac[i] - '0'));
  buf[(size_t)k + n] = '\0';
  *out = strtod_l(buf, NULL, csv_c_locale());
  return 1;
}

/* Optional zone: Z, +hh:mm, +hhmm, +hh (or -): its offset east of UTC in seconds. */
static int parse_zone(const char **p, const char *e, long *offset) {
  *offset = 0;
  if (*p == e) return 1;
  if (expect(p, e, 'Z')) return 1;
  int sign = **p == '-' ? -1 : **p == '+' ? 1 : 0, h = 0, m = 0;
  if (sign == 0) return 0;
  (*p)++;
  if (!digits(p, e, 2, &h) || h > 23) return 0;
  if (*p < e) {
    expect(p, e, ':');
    if (!digits(p, e, 2, &m) || m > 59) return 0;
  }
  *offset = sign * (h * 3600L + m * 60L);
  return 1;
}

int csv_parse_date(const char *s, size_t len, double *out) {
  const char *p = s, *e = s + len, *frac = NULL;
  int y, mo, d, h = 0, mi = 0, sec = 0;
  size_t nfrac = 0;
  if (!digits(&p, e, 4, &y) || !expect(&p, e, '-') || !digits(&p, e, 2, &mo) ||
      !expect(&p, e, '-') || !digits(&p, e, 2, &d))
    return 0;
  /* year 0000 is no year of ISO 8601's basic range, nor of Python's or pandas' dates */
  if (y == 0 || mo < 1 || mo > 12 || d < 1 || (unsigned)d > csv_days_in_month(y, (unsigned)mo)) return 0;
  long offset = 0;
  if (p < e && (*p == 'T' || *p == ' ')) {
    p++;
    if (!digits(&p, e, 2, &h) || h > 23 || !expect(&p, e, ':') || !digits(&p, e, 2, &mi) ||
        mi > 59 || !parse_seconds(&p, e, &sec, &frac, &nfrac) || !parse_zone(&p, e, &offset))
      return 0;
  }
  if (p != e) return 0;
  long whole = csv_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400L + h * 3600L + mi * 60L + sec - offset;
  if (nfrac == 0) {
    *out = (double)whole;
    return 1;
  }
  return whole_plus_fraction(whole, frac, nfrac, out);
}
