#!/bin/bash
# Who may include what. Fails, naming the file and line, if
#   - anything outside bench/ (lib, modules, ref, tools, examples, tests) includes a bench/
#     file (bench/ holds benchmark mains only; what they share lives in ref/);
#   - the library (lib/, modules/) includes ref/ (the reference library stands on ndpar,
#     not the other way round);
#   - a module includes a module that is not below it in the Makefile's MODULES order, or
#     lib/ includes a module.
# Usage: tools/check-layering.sh (from the repository root).
set -u
cd "$(dirname "$0")/.."
bad=0
fail() { echo "check-layering: $1" >&2; bad=1; }

# Quoted includes of every C file outside bench/ and build/, as "file:line:target".
includes() {
  grep -rnoE --include='*.[ch]' '^[[:space:]]*#[[:space:]]*include[[:space:]]*"[^"]+"' "$@" 2>/dev/null \
    | sed -E 's/#[[:space:]]*include[[:space:]]*"([^"]+)"$/\1/; s/:[[:space:]]*/:/2'
}

# Any header that lives in bench/ (by path or bare name, whatever -I might resolve it).
bench_headers=$(cd bench && find . -name '*.h' | sed 's|^\./||')
while IFS=: read -r file line target; do
  [ -n "$file" ] || continue
  case "$target" in bench/*) fail "$file:$line includes $target (bench/ is benchmark mains only)";; esac
  for h in $bench_headers; do
    [ "$target" = "$h" ] || [ "$target" = "$(basename "$h")" ] \
      && fail "$file:$line includes $target, a header of bench/"
  done
done < <(includes lib modules ref tools examples tests)
grep -nE -- '-I *bench' Makefile && fail "the Makefile puts bench/ on an include path"

while IFS=: read -r file line target; do
  case "$target" in ref/*) fail "$file:$line: the library includes $target";; esac
done < <(includes lib modules include)

# Modules in dependency order, from the Makefile.
# The modules built apart with mpicc (MPI_MODULES) come after all the others.
read -r -a order < <(sed -nE 's/^(MODULES|MPI_MODULES)[[:space:]]*:=[[:space:]]*//p' Makefile | tr '\n' ' ')
rank() { local i; for i in "${!order[@]}"; do [ "${order[$i]}" = "$1" ] && { echo "$i"; return; }; done; echo -1; }
while IFS=: read -r file line target; do
  mod=${file#modules/}; mod=${mod%%/*}
  case "$target" in
    ndpar/ndpar_core.h|ndpar_internal.h) continue ;;
    ndpar/ndpar_*.h) dep=${target#ndpar/ndpar_}; dep=${dep%.h} ;;
    */*) dep=${target%%/*} ;;
    *) continue ;;
  esac
  [ "$dep" = "$mod" ] && continue
  r=$(rank "$dep")
  if [ "$r" -lt 0 ]; then fail "$file:$line includes $target, which is not lib/ or a module"
  elif [ "$r" -ge "$(rank "$mod")" ]; then fail "$file:$line: module $mod includes $dep, not below it"
  fi
done < <(includes modules)
while IFS=: read -r file line target; do
  case "$target" in ndpar/ndpar_core.h|ndpar_internal.h) ;; *) fail "$file:$line: lib/ includes $target";; esac
done < <(includes lib)

[ "$bad" = 0 ] && echo "check-layering: ok (nothing includes bench/; modules include only lib/ and lower modules)"
exit "$bad"
