#!/bin/bash
# The umbrella header include/ndpar/ndpar.h includes every public header except the MPI
# module's (which needs <mpi.h>), and a program including it alone compiles cleanly.
# Usage: tools/check-umbrella.sh [CC] (from the repository root).
set -u
cd "$(dirname "$0")/.."
cc=${1:-cc}
bad=0
for h in include/ndpar/ndpar_*.h; do
  name=$(basename "$h")
  [ "$name" = ndpar_mpi.h ] && continue
  grep -q "#include \"ndpar/$name\"" include/ndpar/ndpar.h \
    || { echo "check-umbrella: include/ndpar/ndpar.h lacks $name" >&2; bad=1; }
done
grep -q 'ndpar_mpi.h"' include/ndpar/ndpar.h \
  && { echo "check-umbrella: ndpar.h must not include ndpar_mpi.h (it needs <mpi.h>)" >&2; bad=1; }
printf '#include <ndpar/ndpar.h>\nint main(void) { return ndpar_physical_cores() > 0 ? 0 : 1; }\n' |
  "$cc" -std=c11 -Wall -Wextra -Wpedantic -Werror -Iinclude -fsyntax-only -x c - \
  || { echo "check-umbrella: a program including <ndpar/ndpar.h> alone does not compile" >&2; bad=1; }
[ "$bad" = 0 ] && echo "check-umbrella: ok (ndpar.h brings every module but mpi)"
exit "$bad"
