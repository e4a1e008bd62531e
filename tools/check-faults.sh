#!/bin/bash
# Fault injection over tests/faults: fails the N-th allocation for N = 1, 2, ... until the
# program no longer reaches N, then the N-th pthread_create likewise. Every run must exit
# clean (its own checks: a failing call gives GSL_ENOMEM/GSL_EFAILED through GSL_ERROR on
# the calling thread, a succeeding one the right result) with no sanitizer report (leaks
# included). First checks that every GSL allocator the library calls is wrapped.
# Usage: tools/check-faults.sh PROGRAM LIBRARY.a WRAPPED-SYMBOL...
# FAULTS_MAX (default 100000) caps N; FAULTS_LOG keeps the failing runs' output.
set -uo pipefail
prog=$1 lib=$2; shift 2
wrapped=" $* "
max=${FAULTS_MAX:-100000}
log=${FAULTS_LOG:-$prog.log}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}

for sym in $(nm -u "$lib" 2>/dev/null | awk '{print $2}' | grep -E '^gsl_[a-z_]*_(c?alloc)[a-z_]*$' | sort -u); do
  case $wrapped in
    *" $sym "*) ;;
    *) echo "check-faults: the library calls $sym, which tests/faults does not wrap (FAULTS_WRAP)" >&2; exit 1 ;;
  esac
done

: > "$log"
failures=0
# Runs the program once with VAR=N; succeeds while the N-th call was reached.
run_one() {
  local var=$1 n=$2 out
  out=$(env "$var=$n" "$prog" 2>&1)
  local rc=$?
  if [ $rc -ne 0 ] || grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' <<<"$out"; then
    failures=$((failures + 1))
    { echo "== $var=$n: exit $rc"; echo "$out"; } >> "$log"
    echo "check-faults: $var=$n is not clean (exit $rc):" >&2
    grep -E 'faults: (step|GSL)|Sanitizer|SUMMARY' <<<"$out" | head -5 >&2
  fi
  # Not reached only when the program says so: a run that crashed goes on to N + 1.
  ! grep -q 'injected: no' <<<"$out"
}

for var in FAIL_ALLOC_AT FAIL_THREAD_AT; do
  n=1
  while [ $n -le "$max" ] && run_one $var $n; do n=$((n + 1)); done
  echo "check-faults: $var = 1 .. $((n - 1)) each injected; N = $n not reached"
done
if [ $failures -gt 0 ]; then
  echo "check-faults: $failures runs not clean (full output: $log)" >&2
  exit 1
fi
echo "check-faults: every run clean"
