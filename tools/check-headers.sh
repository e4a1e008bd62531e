#!/bin/bash
# Header hygiene over every C file of the repository: includes only at the top (before the
# first declaration or statement), and every header's include guard closing at its end
# (its last directive is the #endif of the #ifndef that opens it, nothing after it).
# Usage: tools/check-headers.sh (from the repository root).
set -u
cd "$(dirname "$0")/.."
bad=0
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find lib modules include ref tests tools examples bench -name '*.[ch]')
for f in $files; do
  # Comments, blank lines, preprocessor conditionals, guards and extern "C" are not code.
  awk -v F="$f" '
    /^[ \t]*#[ \t]*include/ { if (code) { print F ":" NR ": #include after code: " $0; bad = 1 } next }
    /^[ \t]*$/ || /^[ \t]*\/\*/ || /^[ \t]*\*/ || /\*\/[ \t]*$/ { next }
    /^[ \t]*#[ \t]*(ifndef|ifdef|if|define|endif|else|elif)/ || /^extern "C"/ || /^}[ \t]*$/ { next }
    { code = 1 }
    END { exit bad }' "$f" >&2 || bad=1
  case "$f" in *.h)
    guard=$(sed -nE '0,/^#ifndef /s/^#ifndef ([A-Z0-9_]+).*/\1/p' "$f")
    last=$(grep -vE '^[[:space:]]*$' "$f" | tail -n 1)
    if [ -z "$guard" ] || ! grep -qE "^#define $guard\b" "$f"; then
      echo "$f: no include guard" >&2; bad=1
    elif ! [[ "$last" =~ ^#endif ]]; then
      echo "$f: the include guard does not close at the end (last line: $last)" >&2; bad=1
    fi ;;
  esac
done
[ "$bad" = 0 ] && echo "check-headers: ok (includes at the top, include guards close at the end)"
exit "$bad"
