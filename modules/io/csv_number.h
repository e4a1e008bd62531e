/* csv_number.h: field text to double (as strtod in the C locale) and ISO 8601 dates. */
#ifndef NDPAR_CSV_NUMBER_H
#define NDPAR_CSV_NUMBER_H

#include <stddef.h>

enum { CSV_NUM_OK, CSV_NUM_BAD, CSV_NUM_RANGE, CSV_NUM_NOMEM };

/* Creates the C locale object once; 0 if it cannot be had. Calling thread, before parsing. */
int csv_number_init(void);

/* The whole of s[0 .. len) as strtod_l(.., C locale) reads it: CSV_NUM_OK with *out set,
 * CSV_NUM_BAD (not all of it is a number), CSV_NUM_RANGE (overflows to +-HUGE_VAL; an
 * underflow gives the subnormal or zero strtod gives), CSV_NUM_NOMEM. Thread-safe. */
int csv_parse_number(const char *s, size_t len, double *out);

/* An ISO 8601 date or date-time (YYYY-MM-DD[(T| )hh:mm[:ss[.f]][Z|+hh[:]mm|-hh[:]mm]])
 * to seconds since 1970-01-01T00:00:00 UTC (no zone: UTC). 1 on success, else 0. */
int csv_parse_date(const char *s, size_t len, double *out);

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar, and back. */
long csv_days_from_civil(long y, unsigned m, unsigned d);
void csv_civil_from_days(long days, long *y, unsigned *m, unsigned *d);
unsigned csv_days_in_month(long y, unsigned m);

/* Seconds since the epoch as an ISO 8601 text for messages: "1958-03-01" at midnight, else
 * "1958-03-01T01:02:03[.fff]" (UTC; a fraction to 9 places at most); a non-finite or huge
 * value as a number. snprintf's return. */
int csv_format_date(char *buf, size_t cap, double seconds);

#endif
