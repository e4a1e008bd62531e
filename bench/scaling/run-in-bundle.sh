#!/bin/sh
# run.sh NAME ARGS...: runs bin/NAME of this bundle (bench/scaling/bundle.sh) through the
# bundled glibc loader and libraries, whatever the host has: .device/run.sh scalebench ...
D=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 1 ] || { echo "usage: $0 NAME [ARGS...]   (NAME in $D/bin)" >&2; exit 2; }
name=$1; shift
# Open MPI and PMIx relocated into the bundle (the host's copy, if any, is never read).
OPAL_PREFIX=$D/ompi; OPAL_PKGLIBDIR=$D/ompi/lib/openmpi3; OPAL_PKGDATADIR=$D/ompi/share/openmpi
OPAL_SYSCONFDIR=$D/ompi/etc; OPAL_LIBDIR=$D/lib; OPAL_BINDIR=$D/bin
PMIX_PREFIX=$D/pmix; PMIX_PKGLIBDIR=$D/pmix/lib/pmix; PMIX_PKGDATADIR=$D/pmix/share/pmix
PMIX_SYSCONFDIR=$D/pmix/etc; PMIX_MCA_mca_base_component_path=$D/pmix/lib/pmix
export OPAL_PREFIX OPAL_PKGLIBDIR OPAL_PKGDATADIR OPAL_SYSCONFDIR OPAL_LIBDIR OPAL_BINDIR
export PMIX_PREFIX PMIX_PKGLIBDIR PMIX_PKGDATADIR PMIX_SYSCONFDIR PMIX_MCA_mca_base_component_path
export OMPI_MCA_mca_base_component_path=$D/ompi/lib/openmpi3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export HWLOC_PLUGINS_PATH=$D/hwloc-plugins
# The bundled data: data/ of the tree the bundle sits in.
[ -n "${NDPAR_DATA_DIR:-}" ] || export NDPAR_DATA_DIR="$D/../data"
export LC_ALL=C
# The interpreter bundle.sh wrote into the programs that run themselves again.
INTERP=/tmp/ndpar-scaling-ld-linux-x86-64.so.2
[ "$(readlink "$INTERP" 2>/dev/null)" = "$D/lib/ld-linux-x86-64.so.2" ] \
  || ln -sfn "$D/lib/ld-linux-x86-64.so.2" "$INTERP" 2>/dev/null || true
unset LD_PRELOAD LD_LIBRARY_PATH
# A program listed in native (bundle.sh) runs itself again: it starts directly, its
# interpreter the bundled loader through that link.
if grep -qx "$name" "$D/native" 2>/dev/null && [ "$(readlink "$INTERP")" = "$D/lib/ld-linux-x86-64.so.2" ]; then
  exec "$D/bin/$name" "$@"
fi
exec "$D/lib/ld-linux-x86-64.so.2" --library-path "$D/lib" --argv0 "$name" "$D/bin/$name" "$@"
