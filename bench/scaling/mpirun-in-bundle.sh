#!/bin/sh
# mpirun.sh [MPIRUN OPTIONS] NAME ARGS...: the bundle's mpirun (bench/scaling/bundle.sh),
# through the bundled loader, starting each rank as run.sh NAME ARGS on this node.
# NAME is the first argument that names a program in bin/; options before it go to mpirun.
D=$(cd "$(dirname "$0")" && pwd)
n=0; found=0
for a in "$@"; do
  n=$((n + 1))
  if [ "$a" != mpirun ] && [ -f "$D/bin/$a" ]; then found=1; break; fi
done
[ $found = 1 ] || { echo "usage: $0 [MPIRUN OPTIONS] NAME [ARGS...]  (NAME in $D/bin)" >&2; exit 2; }
i=0
for a in "$@"; do  # the list is read once: rebuild "$@" with run.sh before NAME
  i=$((i + 1)); shift
  if [ $i -eq $n ]; then set -- "$@" "$D/run.sh" "$a"; else set -- "$@" "$a"; fi
done
exec "$D/run.sh" mpirun --allow-run-as-root --oversubscribe "$@"
