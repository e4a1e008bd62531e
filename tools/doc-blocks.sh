#!/bin/bash
# Checks that every ```c block of the given docs is, verbatim, the example program its first
# line names ("/* examples/NAME.c: ..."), so the docs show only code that make check builds
# and runs. Usage: tools/doc-blocks.sh DOC.md...
set -euo pipefail
status=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for doc in "$@"; do
  awk -v dir="$tmp" '
    /^```c$/ { n++; file = dir "/block" n; inblock = 1; next }
    /^```$/ && inblock { inblock = 0; close(file); next }
    inblock { print > file }' "$doc"
  for block in "$tmp"/block*; do
    [ -e "$block" ] || continue
    name=$(head -1 "$block" | sed -n 's|^/\* \(examples/[A-Za-z0-9_]*\.c\):.*|\1|p')
    if [ -z "$name" ]; then
      echo "$doc: a code block does not start with /* examples/NAME.c: ..." >&2; status=1
    elif ! cmp -s "$block" "$name"; then
      echo "$doc: the block of $name differs from $name" >&2; status=1
    fi
    rm -f "$block"
  done
done
exit $status
