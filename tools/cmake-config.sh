#!/bin/sh
# Writes the installed CMake package of ndpar: ndparConfig.cmake and ndparConfigVersion.cmake
# into DIR. find_package(ndpar) then gives the imported targets ndpar::ndpar (libndpar.so),
# ndpar::<module> (the static module with the modules it builds on and core), ndpar::core,
# and ndpar::mpi (libndpar_mpi.so with MPI::MPI_C, when CMake finds MPI).
# Usage: tools/cmake-config.sh DIR LIBDIR INCLUDEDIR VERSION SOVERSION "MODULE:DEP,DEP ..."
set -eu
dir=$1 libdir=$2 includedir=$3 version=$4 soversion=$5 modules=$6
mkdir -p "$dir"
{
  cat <<EOT
# ndparConfig.cmake: the installed ndpar $version (written by make install).
# Imported targets: ndpar::ndpar (the shared library, every module), ndpar::<module> and
# ndpar::core (static, one per module, with what each builds on), ndpar::mpi (MPI programs).
include(CMakeFindDependencyMacro)
find_dependency(GSL)
find_dependency(Threads)

set(ndpar_VERSION "$version")
set(ndpar_INCLUDE_DIRS "$includedir")
set(ndpar_LIBRARY_DIR "$libdir")

if(NOT TARGET ndpar::ndpar)
  add_library(ndpar::ndpar SHARED IMPORTED)
  set_target_properties(ndpar::ndpar PROPERTIES
    IMPORTED_LOCATION "$libdir/libndpar.so.$version"
    IMPORTED_SONAME "libndpar.so.$soversion"
    INTERFACE_INCLUDE_DIRECTORIES "$includedir"
    INTERFACE_LINK_LIBRARIES "GSL::gsl")

  add_library(ndpar::core STATIC IMPORTED)
  set_target_properties(ndpar::core PROPERTIES
    IMPORTED_LOCATION "$libdir/libndpar_core.a"
    INTERFACE_INCLUDE_DIRECTORIES "$includedir"
    INTERFACE_LINK_LIBRARIES "GSL::gsl;hwloc;m;Threads::Threads")
EOT
  for spec in $modules; do
    m=${spec%%:*}
    deps=$(echo "${spec#*:}" | tr ',' ' ')
    links=""
    for d in $deps; do links="$links;ndpar::$d"; done
    cat <<EOT

  add_library(ndpar::$m STATIC IMPORTED)
  set_target_properties(ndpar::$m PROPERTIES
    IMPORTED_LOCATION "$libdir/libndpar_$m.a"
    INTERFACE_LINK_LIBRARIES "${links#;}${links:+;}ndpar::core")
EOT
  done
  cat <<EOT

  find_package(MPI QUIET COMPONENTS C)
  if(MPI_C_FOUND)
    add_library(ndpar::mpi SHARED IMPORTED)
    set_target_properties(ndpar::mpi PROPERTIES
      IMPORTED_LOCATION "$libdir/libndpar_mpi.so.$version"
      IMPORTED_SONAME "libndpar_mpi.so.$soversion"
      INTERFACE_LINK_LIBRARIES "ndpar::ndpar;MPI::MPI_C")
  endif()
endif()
EOT
} > "$dir/ndparConfig.cmake"

cat > "$dir/ndparConfigVersion.cmake" <<EOT
# ndparConfigVersion.cmake: ndpar $version satisfies a request for the same major version
# at or below it (an exact request for $version is exact); 64-bit builds only.
set(PACKAGE_VERSION "$version")
if(NOT PACKAGE_FIND_VERSION)
  set(PACKAGE_VERSION_COMPATIBLE TRUE)
elseif(PACKAGE_FIND_VERSION VERSION_GREATER PACKAGE_VERSION)
  set(PACKAGE_VERSION_COMPATIBLE FALSE)
elseif(PACKAGE_FIND_VERSION_MAJOR STREQUAL "${version%%.*}")
  set(PACKAGE_VERSION_COMPATIBLE TRUE)
  if(PACKAGE_FIND_VERSION VERSION_EQUAL PACKAGE_VERSION)
    set(PACKAGE_VERSION_EXACT TRUE)
  endif()
else()
  set(PACKAGE_VERSION_COMPATIBLE FALSE)
endif()
if(NOT CMAKE_SIZEOF_VOID_P STREQUAL "8")
  set(PACKAGE_VERSION "\${PACKAGE_VERSION} (64-bit)")
  set(PACKAGE_VERSION_UNSUITABLE TRUE)
endif()
EOT
