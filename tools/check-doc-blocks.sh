#!/bin/bash
# The docs show only code that make check builds. Every ```c block of the given pages is
#   - a whole example, verbatim, when its first line names it: "/* examples/NAME.c: ...", or
#   - a named part of a file: the last path with a folder and a .c or .h ending mentioned
#     before the block (examples/x.c, include/ndpar/y.h) names the file, and every line of
#     the block is a line of that file.
# The pages also speak only of what the reader has: no design document, guide or issue
# numbers from outside the repository.
# Usage: tools/check-doc-blocks.sh PAGE.md... (from the repository root)
set -u
cd "$(dirname "$0")/.."
status=0 blocks=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for doc in "$@"; do
  # Each block to $tmp/<n>, and "<n> <start line> <file named before it>" to $tmp/index.
  awk -v dir="$tmp" -v doc="$doc" '
    /^```c[ \t]*$/ { n++; out = dir "/" n; inblock = 1; print n, NR, (file == "" ? "-" : file) > (dir "/index"); printf "" > out; next }
    /^```/ && inblock { inblock = 0; close(out); next }
    inblock { print > out; next }
    { line = $0
      while (match(line, /[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)+\.[ch]/)) {
        file = substr(line, RSTART, RLENGTH); line = substr(line, RSTART + RLENGTH) } }
  ' "$doc"
  if grep -nE -i 'rust guide|rust original|DESIGN\.md|design sketch|\bissue #?[0-9]+' "$doc" \
      | grep -v 'Criterion issue' >&2; then
    echo "$doc: speaks of documents the reader does not have (above)" >&2; status=1
  fi
  [ -f "$tmp/index" ] || continue
  while read -r n start file; do
    blocks=$((blocks + 1))
    block=$tmp/$n
    whole=$(head -1 "$block" | sed -n 's|^/\* \(examples/[A-Za-z0-9_]*\.c\):.*|\1|p')
    if [ -n "$whole" ]; then
      cmp -s "$block" "$whole" \
        || { echo "$doc:$start: the block differs from $whole, which its first line names" >&2; status=1; }
    elif [ "$file" = - ] || [ ! -f "$file" ]; then
      echo "$doc:$start: the block names no file of the repository before it (got: $file)" >&2; status=1
    else
      while IFS= read -r line; do
        [ -z "$line" ] && continue
        grep -qxF -- "$line" "$file" \
          || { echo "$doc:$start: not a line of $file: $line" >&2; status=1; }
      done < "$block"
    fi
  done < "$tmp/index"
  rm -f "$tmp"/*
done
[ "$status" = 0 ] && echo "check-doc-blocks: ok ($blocks code blocks, each a part of a built file)"
exit "$status"
