#!/bin/sh
# Check for the build's Debian packages; install the missing ones when run as root,
# otherwise print the one command that would. Usage: tools/deps.sh PKG...
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
if [ "$(id -u)" = 0 ]; then
  echo "deps: installing$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing >/dev/null \
    || { echo "deps: apt-get install$missing failed" >&2; exit 1; }
  echo "deps: installed$missing"
else
  echo "deps: missing$missing; run: sudo apt-get install$missing" >&2
  exit 1
fi
