#!/bin/bash
# Installs ndpar to a temporary prefix and builds programs against it as a user would, with
# no LD_LIBRARY_PATH: examples/pool_square.c with pkg-config (the shared library); the same,
# examples/pool_bootstrap.c (one static module) and examples/batch_infer_mpi.c with CMake's
# find_package(ndpar) (tests/install); batch_infer_mpi with mpicc and pkg-config ndpar-mpi.
# Each runs (the MPI ones under mpirun -np 2); then make uninstall must leave no file.
# Usage: MPIRUN='mpirun --oversubscribe' tools/check-install.sh (from make check-install)
set -eu
cd "$(dirname "$0")/.."
make=${MAKE:-make}
mpirun=${MPIRUN:-mpirun}
tmp=$(mktemp -d /tmp/ndpar-install-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
fail() { echo "check-install: $*" >&2; exit 1; }
unset LD_LIBRARY_PATH
"$make" --no-print-directory install PREFIX="$prefix" >"$tmp/install.log" || { cat "$tmp/install.log" >&2; fail "make install failed"; }
grep -q "PKG_CONFIG_PATH=$prefix/lib/pkgconfig" "$tmp/install.log" || fail "make install does not say what to set"
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
flags=(-std=c11 -Wall -Wextra -Werror)

# pkg-config, shared library.
cc "${flags[@]}" examples/pool_square.c -o "$tmp/square_pc" $(pkg-config --cflags --libs ndpar)
ldd "$tmp/square_pc" | grep -q "$prefix/lib/libndpar.so.0" || fail "square_pc does not load $prefix's libndpar.so"
"$tmp/square_pc" >/dev/null || fail "pool_square (pkg-config) failed"
mpicc "${flags[@]}" examples/batch_infer_mpi.c -o "$tmp/batch_mpi_pc" $(pkg-config --cflags --libs ndpar-mpi)
$mpirun -np 2 "$tmp/batch_mpi_pc" >"$tmp/mpi.out" 2>&1 || { cat "$tmp/mpi.out" >&2; fail "batch_infer_mpi (pkg-config) failed under mpirun"; }
grep -q "2 ranks, every batch's output right: yes" "$tmp/mpi.out" || { cat "$tmp/mpi.out" >&2; fail "batch_infer_mpi: wrong output"; }

# CMake.
cmake -S tests/install -B "$tmp/cmake" -DCMAKE_PREFIX_PATH="$prefix" -DNDPAR_EXAMPLES="$PWD/examples" \
  >"$tmp/cmake.log" 2>&1 || { cat "$tmp/cmake.log" >&2; fail "cmake configure failed"; }
cmake --build "$tmp/cmake" >>"$tmp/cmake.log" 2>&1 || { cat "$tmp/cmake.log" >&2; fail "cmake build failed"; }
"$tmp/cmake/pool_square_shared" >/dev/null || fail "pool_square (CMake, ndpar::ndpar) failed"
"$tmp/cmake/pool_bootstrap_static" >/dev/null || fail "pool_bootstrap (CMake, ndpar::pool) failed"
$mpirun -np 2 "$tmp/cmake/batch_infer_mpi" >"$tmp/mpi.out" 2>&1 || { cat "$tmp/mpi.out" >&2; fail "batch_infer_mpi (CMake, ndpar::mpi) failed under mpirun"; }

"$make" --no-print-directory uninstall PREFIX="$prefix" >/dev/null
left=$(find "$prefix" -type f 2>/dev/null | head -5)
[ -z "$left" ] || fail "make uninstall left files: $left"
echo "check-install: ok (pkg-config and CMake builds against $prefix run without LD_LIBRARY_PATH, mpirun -np 2 too; uninstall leaves nothing)"
