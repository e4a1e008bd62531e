/* csv_number.h: field text to double (as strtod in the C locale) and ISO 8601 dates. */
#ifndef NDPAR_CSV_NUMBER_H
#define NDPAR_CSV_NUMBER_H

#include <locale.h>
#include <stddef.h>

enum { CSV_NUM_OK, CSV_NUM_BAD, CSV_NUM_RANGE, CSV_NUM_NOMEM };

/* Creates the C locale object once; 0 if it cannot be had. Calling thread, before parsing. */
int csv_number_init(void);

/* That C locale object ((locale_t)0 if it cannot be had), for uselocale. */
locale_t csv_c_locale(void);

/* The whole of s[0 .. len) as strtod_l(.., C locale) reads it: CSV_NUM_OK with *out set,
 * CSV_NUM_BAD (not all of it is a number), CSV_NUM_RANGE (overflows to +-HUGE_VAL; an
 * underflow gives the subnormal or zero strtod gives), CSV_NUM_NOMEM. Thread-safe. */
int csv_parse_number(const char *s, size_t len, double *out);

/* The most digits a date's fraction of a second may have. */
#define CSV_DATE_MAX_FRACTION 64

/* An ISO 8601 date or date-time (YYYY-MM-DD[(T| )hh:mm[:ss[.f]][Z|+hh[:]mm|-hh[:]mm]])
 * to seconds since 1970-01-01T00:00:00 UTC (no zone: UTC), the whole seconds plus the
 * fraction rounded once, correctly. Years 0001 .. 9999, seconds 00 .. 59, at most
 * CSV_DATE_MAX_FRACTION digits of fraction. 1 on success, else 0. */
int csv_parse_date(const char *s, size_t len, double *out);

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar, and back. */
long csv_days_from_civil(long y, unsigned m, unsigned d);
void csv_civil_from_days(long days, long *y, unsigned *m, unsigned *d);
unsigned csv_days_in_month(long y, unsigned m);


#endif
