#!/bin/sh
# Fails when a public function (tools/public-functions.sh) has no bad-input case: in
# tests/badinput, a CASE(function, ...) registered and a call of it in the cases; for the
# mpi module (whose calls need MPI started, which the badinput binary does not link), a call
# in tests/mpi, whose runner checks bad arguments on every rank.
cd "$(dirname "$0")/.." || exit 1
missing=0
for f in $(tools/public-functions.sh $(ls include/ndpar/*.h | grep -v ndpar_mpi.h)); do
  if ! grep -q "^CASE($f," tests/badinput/*.c; then
    echo "badinput: public function $f has no CASE in tests/badinput/" >&2
    missing=$((missing + 1))
  elif ! sed "s/^CASE([a-z_0-9]*,//" tests/badinput/*.c | grep -q "\\b$f *("; then
    echo "badinput: public function $f has a CASE but no call" >&2
    missing=$((missing + 1))
  fi
done
for f in $(tools/public-functions.sh include/ndpar/ndpar_mpi.h); do
  if ! grep -q "\\b$f *(" tests/mpi/*.c; then
    echo "badinput: MPI function $f is never called in tests/mpi/" >&2
    missing=$((missing + 1))
  fi
done
[ $missing -eq 0 ] && echo "badinput: every public function has a case ($(tools/public-functions.sh | wc -l) functions)"
exit $((missing > 0))
