#!/bin/bash
# The docs show only code that make check builds. Every ```c block of the given pages is
#   - a whole example, verbatim, when its first line names it: "/* examples/NAME.c: ...", or
#   - a named part of a file: the last path with a folder and a .c or .h ending mentioned
#     before the block (examples/x.c, include/ndpar/y.h), or the first one after it, names
#     the file, and every line of the block is a line of that file (indentation aside).
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
  awk -v dir="$tmp" '
    function note(f) { file = f; if (pending) { after[pending] = f; pending = 0 } }
    /^```c[ \t]*$/ { n++; out = dir "/" n; inblock = 1; before[n] = (file == "" ? "-" : file); pending = 0; printf "" > out; next }
    /^```/ && inblock { inblock = 0; close(out); pending = n; next }
    inblock { print > out; next }
    { line = $0
      while (match(line, /[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)+\.[ch]/)) {
        note(substr(line, RSTART, RLENGTH)); line = substr(line, RSTART + RLENGTH) } }
    END { for (i = 1; i <= n; i++) print i, NR, before[i], (i in after ? after[i] : "-") > (dir "/index") }
  ' "$doc"
  if grep -nE -i 'rust guide|rust original|DESIGN\.md|design sketch|\bissue #?[0-9]+' "$doc" \
      | grep -v 'Criterion issue' >&2; then
    echo "$doc: speaks of documents the reader does not have (above)" >&2; status=1
  fi
  [ -f "$tmp/index" ] || continue
  while read -r n _ file next; do
    blocks=$((blocks + 1))
    block=$tmp/$n
    start="block $n"
    whole=$(head -1 "$block" | sed -n 's|^/\* \(examples/[A-Za-z0-9_]*\.c\):.*|\1|p')
    if [ -n "$whole" ]; then
      cmp -s "$block" "$whole" \
        || { echo "$doc: $start differs from $whole, which its first line names" >&2; status=1; }
      continue
    fi
    # A named part: of the file named before it, or of the one named right after it.
    ok=0
    for f in "$file" "$next"; do
      [ "$f" != - ] && [ -f "$f" ] || continue
      sed 's/^[[:space:]]*//' "$f" > "$tmp/lines"
      missing=$(sed 's/^[[:space:]]*//' "$block" | grep -v '^$' | grep -vxF -f "$tmp/lines")
      [ -z "$missing" ] && { ok=1; break; }
    done
    if [ "$ok" = 0 ]; then
      echo "$doc: $start is not a part of ${file} or ${next} (the files named before and after it):" >&2
      sed 's/^[[:space:]]*//' "$block" | grep -v '^$' | head -3 | sed 's/^/  /' >&2
      status=1
    fi
  done < "$tmp/index"
  rm -f "$tmp"/*
done
[ "$status" = 0 ] && echo "check-doc-blocks: ok ($blocks code blocks, each a part of a built file)"
exit "$status"
