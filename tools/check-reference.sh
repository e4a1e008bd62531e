#!/bin/sh
# Fails when docs/reference.md is not what tools/gen-reference.sh writes now (a header's
# comment or declaration changed: run `tools/gen-reference.sh > docs/reference.md`), when a
# public function (tools/public-functions.sh) has no entry, or when one is UNDOCUMENTED.
cd "$(dirname "$0")/.." || exit 1
status=0
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
tools/gen-reference.sh > "$tmp"
if ! cmp -s "$tmp" docs/reference.md; then
  echo "check-reference: docs/reference.md is stale; run: tools/gen-reference.sh > docs/reference.md" >&2
  diff "$tmp" docs/reference.md | head -20 >&2
  status=1
fi
for f in $(tools/public-functions.sh); do
  grep -q "^### \`$f\`\$" "$tmp" || { echo "check-reference: $f has no entry" >&2; status=1; }
done
if grep -B6 '^UNDOCUMENTED$' "$tmp" | grep '^### ' >&2; then
  echo "check-reference: the functions above have no comment in their header" >&2
  status=1
fi
[ $status -eq 0 ] && echo "check-reference: ok ($(grep -c '^### ' "$tmp") functions documented)"
exit $status
