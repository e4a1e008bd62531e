/* csv_format.h: doubles and dates to text for the CSV writer. */
#ifndef NDPAR_CSV_FORMAT_H
#define NDPAR_CSV_FORMAT_H

#include <stddef.h>

/* The most bytes one formatted value takes (no terminating NUL is written). */
#define CSV_FORMAT_MAX 64

/* The shortest decimal that reads back (strtod, round to nearest) as v bit for bit, the
 * closest to v of those (ties: even last digit): "0.1", "1e21", "5e-324", "-0", "NaN",
 * "inf", "-inf". Plain notation for exponents -5 .. 16, else d.ddde[-]x. Its length. */
size_t csv_format_shortest(char *out, double v);

/* printf's %.<precision>g (the calling thread's locale must be C); NaN and infinities as
 * csv_format_shortest writes them. */
size_t csv_format_precision(char *out, double v, int precision);

/* Seconds since the epoch as ISO 8601 UTC that csv_parse_date reads back bit for bit:
 * "1958-03-01" at midnight, else "1958-03-01T01:02:03[.f]" with the fraction's shortest
 * digits. Values outside 0001-01-01 .. 9999-12-31 (or NaN, infinite, or with more than 20
 * digits of fraction) are written as csv_format_shortest writes them. */
size_t csv_format_iso_date(char *out, double v);

#endif
