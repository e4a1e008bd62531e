#!/bin/bash
# Runs one Criterion test binary; fails if it fails or if any sanitizer reported anything.
# Criterion judges a test by its assertions only and ends each test process with _Exit(),
# so a data race or a leak report would otherwise scroll past in a "passing" run.
# Usage: tools/run-tests.sh BINARY [criterion options...]   (TEST_LOG: the log, else BINARY.log)
set -o pipefail
bin=$1; shift
log=${TEST_LOG:-$bin.log}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1 second_deadlock_stack=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
"$bin" "$@" 2>&1 | tee "$log"
status=$?
if grep -qE 'ERROR: (Address|Leak)Sanitizer|WARNING: ThreadSanitizer|runtime error:' "$log"; then
  echo "$(basename "$bin"): a sanitizer reported an error (full log: $log)" >&2
  exit 1
fi
exit $status
