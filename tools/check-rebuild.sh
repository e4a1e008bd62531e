#!/bin/bash
# A header's change rebuilds every object that includes it: with the tree built, asks make
# (-n: dry run, -W: as if HEADER had just changed) what it would recompile, and fails if an
# object whose dependency file (written by the compiler, -MMD) names HEADER would be left
# stale, or if no benchmark, example, tool or test object depends on HEADER at all.
# Usage: tools/check-rebuild.sh include/ndpar/ndpar_pool.h   (after make all, plain build)
set -u
cd "$(dirname "$0")/.."
header=${1:?usage: check-rebuild.sh HEADER}
plan=$(make --no-print-directory -n -W "$header" all 2>&1) \
  || { echo "check-rebuild: make -n failed:" >&2; echo "$plan" >&2; exit 1; }
bad=0
for group in lib modules ref tests bench examples tools; do
  n=0
  while read -r d; do
    grep -qE "(^|[[:space:]])$header([[:space:]]|$)" "$d" || continue
    src=${d#build/obj/}; src=${src%.d}.c
    [ -f "$src" ] || continue # left over from a file since moved or removed
    n=$((n + 1))
    grep -qF -- "-c $src " <<<"$plan" || { echo "check-rebuild: $header changed, $src not rebuilt" >&2; bad=1; }
  done < <(find "build/obj/$group" -name '*.d' 2>/dev/null)
  case "$group" in tests|bench|examples|tools)
    [ "$n" -gt 0 ] || { echo "check-rebuild: no object of $group/ depends on $header (not built?)" >&2; bad=1; } ;;
  esac
done
[ "$bad" = 0 ] && echo "check-rebuild: ok (a change to $header rebuilds every object that includes it)"
exit "$bad"
