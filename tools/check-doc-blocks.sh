#!/bin/sh
# Checks that every ```c block of a doc page is a named part of a file in the repository:
# the last path with a folder and a .c or .h ending (examples/x.c, include/ndpar/y.h)
# mentioned before the block names the file, and every line of the block must be a line
# of that file.
# Usage: tools/check-doc-blocks.sh docs/page.md ...
status=0
for doc in "$@"; do
  awk -v doc="$doc" '
    /^```c/ { inblock = 1; start = NR; next }
    /^```/ && inblock { inblock = 0; next }
    inblock { if ($0 != "") print file "\t" start "\t" $0; next }
    { while (match($0, /[A-Za-z0-9_]+(\/[A-Za-z0-9_]+)+\.[ch]/)) {
        file = substr($0, RSTART, RLENGTH); $0 = substr($0, RSTART + RLENGTH) } }
  ' "$doc" > "${TMPDIR:-/tmp}/doc-blocks.$$"
  while IFS="$(printf '\t')" read -r file start line; do
    if [ -z "$file" ] || ! grep -qxF -- "$line" "$file"; then
      echo "$doc: the block at line $start is not part of ${file:-a named file}: $line" >&2
      status=1
    fi
  done < "${TMPDIR:-/tmp}/doc-blocks.$$"
  rm -f "${TMPDIR:-/tmp}/doc-blocks.$$"
done
exit $status
