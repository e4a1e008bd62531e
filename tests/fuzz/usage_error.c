/* sb_usage_error for the fuzz targets of scalebench's parsers (usage_error.h). */
#include "usage_error.h"

#include <stdarg.h>
#include <stdio.h>

#include "scalebench.h"

jmp_buf fuzz_usage_error;

void sb_usage_error(const char *fmt, ...) {
  char msg[512]; /* formatted, so a bad format or argument shows under the sanitizers */
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  longjmp(fuzz_usage_error, 1);
}
