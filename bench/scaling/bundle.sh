#!/bin/bash
# bench/scaling/bundle.sh [BUILD] [DEST]: a self-contained copy of the benchmarks for a
# machine that has none of our packages (no GSL, hwloc, Open MPI, TBB) and its own glibc.
#
# From a built tree (make all; BUILD defaults to build/) it fills DEST (default .device/
# at the repository root, which it adds to git's info/exclude) with:
#   bin/      the benchmark programs, stripped, and Open MPI's mpirun (orterun)
#   lib/      every shared library they load (ldd, plugins' included), glibc's loader too
#   ompi/     Open MPI's plugins, help files and MCA parameters, relocated (OPAL_*)
#   pmix/     PMIx's plugins and help files, relocated (PMIX_*)
#   run.sh    runs one program through the bundled loader: run.sh NAME ARGS...
#   mpirun.sh mpirun through the loader, ranks through run.sh: mpirun.sh -np R NAME ARGS...
#   native    the programs that run directly (below), not through the loader
#   MANIFEST  what was bundled from which commit
# The host's glibc, libraries and Open MPI installation are never used: each program runs
# as lib/ld-linux-x86-64.so.2 --library-path lib/ bin/NAME, or, where it runs itself again,
# directly with that loader as its interpreter. The bundled data is data/ of the tree the
# bundle sits in (NDPAR_DATA_DIR), which travels with the tree. The bundle travels with
# the tree too (64 MiB in all): more than 48 MiB is refused.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build}
DEST=${2:-$ROOT/.device}
PROGRAMS="tools/scalebench tools/scalebench-mpi bench/bench_pool bench/bench_preprocess
          bench/bench_grad bench/bench_pipeline bench/bench_batch bench/bench_mpi bench/bench_peers"
# Plugins that need interconnect stacks this bundle does not carry (InfiniBand, UCX, OFI,
# PSM) or OpenSHMEM: left out, and excluded by the MCA parameters below.
DENY_DEPS='libuc[tspm]|libpsm|libibverbs|librdmacm|libfabric|libefa|libnl-|libinfinipath|liboshmem'

die() { echo "bundle: $*" >&2; exit 1; }
[ -x "$BUILD/tools/scalebench" ] || die "no $BUILD/tools/scalebench: run make all (and make benches) first"

rm -rf "$DEST"
mkdir -p "$DEST"/{bin,lib,ompi/lib/openmpi3,ompi/share/openmpi,ompi/etc,pmix/lib/pmix,pmix/share/pmix,pmix/etc,hwloc-plugins}
echo "no hwloc plugins: the host's own must not be loaded into the bundled libhwloc" \
  > "$DEST/hwloc-plugins/README"

# Libraries to bundle: everything ldd resolves for the given objects (vdso aside).
LIBS=$(mktemp); trap 'rm -f "$LIBS"' EXIT
add_deps() {
  local out
  for f in "$@"; do
    out=$(ldd "$f" 2>&1) || die "ldd $f: $out"
    if grep -q 'not found' <<<"$out"; then die "$f: $(grep 'not found' <<<"$out" | head -1)"; fi
    awk '/=> \// {print $3} /^\t\/.*ld-linux/ {print $1}' <<<"$out" >> "$LIBS"
  done
}

for p in $PROGRAMS; do
  [ -x "$BUILD/$p" ] || { echo "bundle: skipping $p (not built)"; continue; }
  install -m 755 "$BUILD/$p" "$DEST/bin/"
  add_deps "$BUILD/$p"
done

# Open MPI: mpirun, its plugins (those whose libraries we carry) and help files.
if [ -x "$BUILD/tools/scalebench-mpi" ] && command -v mpirun >/dev/null; then
  MPIRUN=$(readlink -f "$(command -v mpirun)")
  PKGLIBDIR=$(ompi_info --path pkglibdir --parsable | sed -n 's/^path:pkglibdir://p')
  PKGDATADIR=$(ompi_info --path pkgdatadir --parsable | sed -n 's/^path:pkgdatadir://p')
  install -m 755 "$MPIRUN" "$DEST/bin/mpirun"
  add_deps "$MPIRUN"
  for plugin in "$PKGLIBDIR"/mca_*.so; do
    deps=$(ldd "$plugin" 2>&1 || true)  # (not piped into grep -q: pipefail and SIGPIPE)
    if grep -Eq "$DENY_DEPS|not found" <<<"$deps"; then continue; fi
    install -m 755 "$plugin" "$DEST/ompi/lib/openmpi3/"
    add_deps "$plugin"
  done
  cp "$PKGDATADIR"/help-*.txt "$PKGDATADIR"/amca-param-sets -r "$DEST/ompi/share/openmpi/" 2>/dev/null || true
  # PMIx (Open MPI's process-management server in mpirun, client in each rank).
  PMIX_SO=$(awk '/libpmix\.so/ {print $1; exit}' "$LIBS")
  if [ -n "$PMIX_SO" ]; then
    PMIX_LIBDIR=$(dirname "$(readlink -f "$PMIX_SO")")
    for plugin in "$PMIX_LIBDIR"/pmix/*.so; do
      [ -e "$plugin" ] || continue
      install -m 755 "$plugin" "$DEST/pmix/lib/pmix/"
      add_deps "$plugin"
    done
    cp "$PMIX_LIBDIR"/../share/pmix/help-*.txt "$DEST/pmix/share/pmix/" 2>/dev/null || true
  fi
  # One node, shared memory only, no daemon launcher, no interconnect: what mpirun.sh
  # needs on a bare machine. Single-copy (CMA) off: containers often forbid
  # process_vm_readv between ranks, and a failed copy would abort a large allreduce.
  cat > "$DEST/ompi/etc/openmpi-mca-params.conf" <<'EOF'
# Written by bench/scaling/bundle.sh: one node, shared memory.
plm = isolated
btl = self,vader
pml = ob1
mtl = ^ofi,psm,psm2
osc = ^ucx,pt2pt
btl_vader_single_copy_mechanism = none
btl_base_warn_component_unused = 0
mca_base_component_show_load_errors = 0
rmaps_base_oversubscribe = 1
EOF
  : > "$DEST/pmix/etc/pmix-mca-params.conf"
else
  echo "bundle: no scalebench-mpi or no mpirun: the bundle runs without MPI"
fi

# TBB's optional NUMA binding library and hwloc's topology tool, where present.
for extra in /usr/lib/x86_64-linux-gnu/libtbbbind_2_5.so.3 ; do
  [ -e "$extra" ] && grep -q libtbb "$LIBS" && { echo "$extra" >> "$LIBS"; add_deps "$extra"; }
done
if command -v lstopo-no-graphics >/dev/null; then
  install -m 755 "$(readlink -f "$(command -v lstopo-no-graphics)")" "$DEST/bin/lstopo-no-graphics"
  add_deps "$DEST/bin/lstopo-no-graphics"
fi

# glibc's NSS modules: getpwuid (Open MPI names its session folder after the user) loads
# the one the host's nsswitch.conf names; from the bundle it is of the bundled glibc.
LIBC_DIR=$(dirname "$(awk '/\/libc\.so\.6$/ {print; exit}' "$LIBS")")
for nss in "$LIBC_DIR"/libnss_{files,compat,dns}.so.2; do
  [ -e "$nss" ] && { echo "$nss" >> "$LIBS"; add_deps "$nss"; }
done

# The libraries under their sonames (the name ldd printed), symlinks resolved.
sort -u "$LIBS" | while read -r lib; do
  install -m 755 "$(readlink -f "$lib")" "$DEST/lib/$(basename "$lib")"
done
[ -e "$DEST/lib/ld-linux-x86-64.so.2" ] || die "glibc's loader was not found by ldd"

strip --strip-unneeded "$DEST"/bin/* "$DEST"/lib/*.so* "$DEST"/ompi/lib/openmpi3/*.so \
  2>/dev/null || true
[ -z "$(ls "$DEST"/pmix/lib/pmix)" ] || strip --strip-unneeded "$DEST"/pmix/lib/pmix/*.so

# A program that runs itself again through /proc/self/exe (bench_pipeline's RSS part
# starts fresh copies of itself) would start the loader instead when run through it: such
# programs (NATIVE) run directly, with the bundled loader as their interpreter (at a fixed
# path that run.sh links to this bundle's loader) and the bundle's lib/ as their RPATH,
# which also serves the libraries they load once no library has a RUNPATH of its own.
NATIVE="bench_pipeline"
INTERP=/tmp/ndpar-scaling-ld-linux-x86-64.so.2
: > "$DEST/native"
if command -v patchelf >/dev/null; then
  for f in "$DEST"/lib/*.so* "$DEST"/ompi/lib/openmpi3/*.so "$DEST"/pmix/lib/pmix/*.so; do
    case $f in */ld-linux-x86-64.so.2|*/libc.so.6) continue ;; esac
    [ -z "$(patchelf --print-rpath "$f" 2>/dev/null)" ] || patchelf --remove-rpath "$f"
  done
  for n in $NATIVE; do
    [ -x "$DEST/bin/$n" ] || continue
    patchelf --set-interpreter "$INTERP" --force-rpath --set-rpath '$ORIGIN/../lib' "$DEST/bin/$n"
    echo "$n" >> "$DEST/native"
  done
else
  echo "bundle: no patchelf (apt-get install patchelf): $NATIVE run through the loader," \
       "and bench_pipeline's RSS part fails there"
fi

install -m 755 "$ROOT/bench/scaling/run-in-bundle.sh" "$DEST/run.sh"
install -m 755 "$ROOT/bench/scaling/mpirun-in-bundle.sh" "$DEST/mpirun.sh"

{
  echo "ndpar scaling bundle: $(git -C "$ROOT" rev-parse HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet 2>/dev/null || echo ' (+ uncommitted changes)')"
  echo "built on: $(uname -srm), $(ldd --version | head -1), $(date -u +%FT%TZ)"
  echo "size: $(du -sh "$DEST" | cut -f1)"
  (cd "$DEST" && find . -type f | sort)
} > "$DEST/MANIFEST"

# Keep the bundle out of git (it travels as a carried path).
EXCLUDE=$(git -C "$ROOT" rev-parse --git-path info/exclude 2>/dev/null || true)
if [ -n "$EXCLUDE" ]; then
  case $EXCLUDE in /*) ;; *) EXCLUDE=$ROOT/$EXCLUDE ;; esac
  mkdir -p "$(dirname "$EXCLUDE")"
  grep -qx '/.device/' "$EXCLUDE" 2>/dev/null || echo '/.device/' >> "$EXCLUDE"
fi

BYTES=$(du -sb "$DEST" | cut -f1)
[ "$BYTES" -le $((48 * 1024 * 1024)) ] || die "$DEST is $BYTES bytes, over 48 MiB: leave something out"
echo "bundle: $DEST, $(du -sh "$DEST" | cut -f1) ($(du -sb "$DEST" | cut -f1) bytes), \
$(ls "$DEST/bin" | wc -l) programs, $(ls "$DEST/lib" | wc -l) libraries"
