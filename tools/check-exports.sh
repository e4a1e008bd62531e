#!/bin/bash
# The shared library exports the API and nothing else: every dynamic symbol it defines is
# an ndpar_ name (the library is built with -fvisibility=hidden; NDPAR_API marks what is
# public). Fails on any other exported name, on an empty export list, and if a known entry
# point (ndpar_pool_run) is missing, a public header declares a function without NDPAR_API,
# a name declared with NDPAR_API is not exported, or an exported name is declared in no
# public header (an internal ndpar_ function that escaped).
# Usage: tools/check-exports.sh build/lib/libndpar.so.X [HEADER...] (from the repository
# root); the headers that library's API is declared in (default: include/ndpar/*.h).
set -u
so=${1:?usage: check-exports.sh LIBNDPAR_SO [HEADER...]}
shift
headers=("$@")
[ ${#headers[@]} -gt 0 ] || headers=(include/ndpar/*.h)
names=$(nm -D --defined-only "$so" | awk 'NF >= 3 { print $3 }' | sed 's/@.*//' | sort -u) \
  || { echo "check-exports: cannot read $so" >&2; exit 1; }
# The ELF toolchain's own markers are not names of ours.
names=$(grep -vxE '_init|_fini|_edata|_end|__bss_start' <<<"$names")
stray=$(grep -v '^ndpar_' <<<"$names")
if [ -n "$stray" ]; then
  echo "check-exports: $so exports names outside ndpar_:" >&2
  sed 's/^/  /' <<<"$stray" >&2
  exit 1
fi
[ -n "$names" ] || { echo "check-exports: $so exports nothing" >&2; exit 1; }
if printf '%s\n' "${headers[@]}" | grep -q 'ndpar_pool\.h$'; then
  grep -qx ndpar_pool_run <<<"$names" || { echo "check-exports: ndpar_pool_run is not exported" >&2; exit 1; }
fi
unmarked=$(grep -nE '^[A-Za-z_][A-Za-z0-9_ ]*[ *]ndpar_[a-z0-9_]+\(|^extern [^"]' "${headers[@]}" \
  | grep -vE ':(NDPAR_API|typedef|static) ')
[ -z "$unmarked" ] || { echo "check-exports: public declarations without NDPAR_API:" >&2; echo "$unmarked" >&2; exit 1; }
declared=$(grep -hoE '^NDPAR_API [^(;]*\bndpar_[a-z0-9_]+' "${headers[@]}" | grep -oE 'ndpar_[a-z0-9_]+$' | sort -u)
missing=$(comm -23 <(echo "$declared") <(echo "$names"))
[ -z "$missing" ] || { echo "check-exports: declared NDPAR_API but not exported:" >&2; echo "$missing" >&2; exit 1; }
internal=$(comm -13 <(echo "$declared") <(echo "$names"))
[ -z "$internal" ] || { echo "check-exports: exported but declared in no public header:" >&2; echo "$internal" >&2; exit 1; }
echo "check-exports: ok ($(wc -l <<<"$names") names, all ndpar_)"
