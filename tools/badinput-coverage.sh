#!/bin/sh
# Fails when a public function (tools/public-functions.sh) has no case in tests/badinput:
# no CASE(function, ...) registered, or no call of it in the cases.
cd "$(dirname "$0")/.." || exit 1
missing=0
for f in $(tools/public-functions.sh); do
  if ! grep -q "^CASE($f," tests/badinput/*.c; then
    echo "badinput: public function $f has no CASE in tests/badinput/" >&2
    missing=$((missing + 1))
  elif ! sed "s/^CASE([a-z_0-9]*,//" tests/badinput/*.c | grep -q "\\b$f *("; then
    echo "badinput: public function $f has a CASE but no call" >&2
    missing=$((missing + 1))
  fi
done
[ $missing -eq 0 ] && echo "badinput: every public function has a case ($(tools/public-functions.sh | wc -l) functions)"
exit $((missing > 0))
