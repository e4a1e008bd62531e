#!/usr/bin/env bash
# tools/scalebench-same-binary.sh: the same-binary baseline experiment of issue 27.
#
# Runs scalebench twice back to back, PAIRS times (default 10): the first run of a pair saves
# a baseline, the second compares with it. The code is the same, so every flagged point is a
# false alarm: the count per pair should be at most 1 of the 21 points of the default run
# (7 workloads x 3 thread counts on 2 cores) on a quiet machine. The reference kernel's line
# says whether the machine's own speed moved between the two runs of a pair.
#
#   tools/scalebench-same-binary.sh [PAIRS] [scalebench options...]
#   SCALEBENCH=path/to/scalebench (default build/tools/scalebench)
#
# Prints one line per pair and the totals; exits 1 if any pair flagged more than one point.
set -euo pipefail
pairs=${1:-10}
shift || true
sb=${SCALEBENCH:-build/tools/scalebench}
[ -x "$sb" ] || { echo "scalebench-same-binary: $sb is not built (make tools)" >&2; exit 2; }
dir=$(mktemp -d /tmp/scalebench-same-XXXXXX)
trap 'rm -rf "$dir"' EXIT
export SCALEBENCH_BASELINE_DIR=$dir
total_flagged=0 total_points=0 worst=0
printf '%-5s %8s %8s %10s  %s\n' pair flagged points reference "reference verdict"
for ((i = 1; i <= pairs; i++)); do
  "$sb" --quiet --save-baseline same "$@"
  out=$("$sb" --baseline same "$@")
  counts=$(grep -Eo '^[0-9]+ of [0-9]+ points flagged' <<<"$out")
  flagged=${counts%% *}
  points=$(awk '{print $3}' <<<"$counts")
  ref=$(grep -E '^reference ' <<<"$out" || true)
  change=$(awk '{print $5}' <<<"$ref")
  verdict=$(awk '{for (k = 7; k <= NF; k++) printf "%s%s", $k, (k < NF ? " " : "")}' <<<"$ref")
  printf '%-5s %8s %8s %10s  %s\n' "$i" "$flagged" "$points" "$change" "$verdict"
  total_flagged=$((total_flagged + flagged))
  total_points=$((total_points + points))
  ((flagged > worst)) && worst=$flagged
done
echo "total: $total_flagged of $total_points points flagged over $pairs pairs; at most $worst in one pair"
((worst <= 1))
