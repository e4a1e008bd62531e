#!/bin/sh
# Check for the build's Debian packages.
#   tools/deps.sh --check PKG...    say what is missing and fail, with the command to run
#   tools/deps.sh --install PKG...  install what is missing (as root), waiting for the apt/dpkg
#                                   lock when another apt runs rather than failing
mode=$1
shift
missing=""
if command -v dpkg-query >/dev/null 2>&1; then
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
      || missing="$missing $p"
  done
else
  # Not Debian: trust pkg-config (criterion ships criterion.pc).
  for pc in gsl hwloc criterion; do
    pkg-config --exists "$pc" 2>/dev/null || missing="$missing $pc"
  done
  if [ -n "$missing" ]; then
    echo "deps: missing$missing (not a Debian system: install them with your package manager)" >&2
    exit 1
  fi
  exit 0
fi
[ -z "$missing" ] && exit 0
if [ "$mode" != --install ]; then
  echo "deps: missing$missing; run: make deps (as root), or: apt-get install -y$missing" >&2
  exit 1
fi
if [ "$(id -u)" != 0 ]; then
  echo "deps: missing$missing; run as root: make deps, or: sudo apt-get install -y$missing" >&2
  exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
lock="-o DPkg::Lock::Timeout=600"
apt-get $lock update -qq && apt-get $lock install -y -qq --no-install-recommends $missing >/dev/null \
  || { echo "deps: apt-get install$missing failed" >&2; exit 1; }
echo "deps: installed$missing"
