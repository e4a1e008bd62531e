#!/bin/bash
# Builds every example that uses only the installed library (examples/*.c not including
# "ref/") as a user would: against the headers and archive of a staged install, with
# -Wall -Wextra -Wpedantic -Werror, and -Werror=incompatible-pointer-types (what GCC 14
# makes an error; gcc-14 itself is used too when installed), and with -std=c11 (an example
# needing POSIX defines its own feature macro), then runs each. The MPI examples (*_mpi.c)
# are check-install's. A control
# checks that the cast-free array idiom is what makes examples/batch_arrays.c compile:
# calling the function itself, bypassing its macro, must fail. The compiler's default C
# dialect is used, as a user's build would.
# Usage: tools/check-examples.sh STAGE_PREFIX BUILD_DIR [CC]
set -u
cd "$(dirname "$0")/.."
stage=$1 out=$2/examples-installed cc=${3:-cc}
inc=$stage/include lib=$stage/lib
mkdir -p "$out"
compilers=("$cc")
command -v gcc-14 >/dev/null 2>&1 && compilers+=(gcc-14)
flags=(-O2 -Wall -Wextra -Wpedantic -Werror -Werror=incompatible-pointer-types -I"$inc")
libs=("$lib/libndpar.a" -lgsl -lgslcblas -lhwloc -lm -pthread)
bad=0 n=0
for src in examples/*.c; do
  grep -q '"ref/' "$src" && continue
  case $src in *_mpi.c) continue ;; esac # built with mpicc and run under mpirun by check-install
  name=$(basename "$src" .c)
  for c in "${compilers[@]}"; do
    "$c" "${flags[@]}" "$src" -o "$out/$name" "${libs[@]}" \
      || { echo "check-examples: $src does not build with $c against the installed headers" >&2; bad=1; continue 2; }
  done
  # Strict ISO C as well: an example that needs POSIX defines its feature macro itself.
  "$cc" -std=c11 "${flags[@]}" "$src" -o "$out/$name.c11" "${libs[@]}" \
    || { echo "check-examples: $src does not build with -std=c11 ${flags[*]}" >&2; bad=1; continue; }
  # From the repository root: the examples read data/ by default.
  # EXAMPLE_ARGS_<name> (from the Makefile): the arguments of a run at a small size.
  args_var=EXAMPLE_ARGS_$name
  "$out/$name" ${!args_var:-} >"$out/$name.out" 2>&1 \
    || { echo "check-examples: $name failed:" >&2; cat "$out/$name.out" >&2; bad=1; continue; }
  n=$((n + 1))
done
# pkg-config, as a user on a fresh machine runs it: the static link line of libndpar (every
# module, from the archive), from the staged .pc files.
root=${stage%/usr}
for pc in ndpar; do
  link=$(PKG_CONFIG_PATH=$lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$root pkg-config --static --cflags --libs $pc) \
    || { echo "check-examples: pkg-config --static --libs $pc fails" >&2; bad=1; continue; }
  [ $pc = ndpar ] && link=${link/-lndpar /$lib/libndpar.a }
  "$cc" "${flags[@]}" examples/batch_arrays.c -o "$out/pc-$pc" $link \
    && "$out/pc-$pc" >/dev/null \
    || { echo "check-examples: examples/batch_arrays.c does not link with: $link" >&2; bad=1; }
done
sed 's/ndpar_batch_infer(NULL/(ndpar_batch_infer)(NULL/' examples/batch_arrays.c >"$out/control.c"
if "$cc" "${flags[@]}" -c "$out/control.c" -o "$out/control.o" 2>/dev/null; then
  echo "check-examples: the control compiled: the cast-free test could not fail" >&2; bad=1
fi
[ "$bad" = 0 ] && echo "check-examples: ok ($n examples built against the installed headers with -Werror, and run)"
exit "$bad"
