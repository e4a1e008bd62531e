#!/bin/bash
# Runs each libFuzzer target for SECONDS on its corpus (tests/fuzz/corpus/<target>/, read
# only, plus a working copy under DIR/corpus/<target>/ that receives new inputs), and fails
# on any crash, leak, timeout or sanitizer report (the input is kept in DIR/crashes/).
# MODE merge: afterwards merge the new inputs that add coverage into tests/fuzz/corpus/.
# Usage: tools/fuzz.sh SECONDS keep|merge DIR TARGET...
set -uo pipefail
seconds=$1 mode=$2 dir=$3; shift 3
failed=0
for t in "$@"; do
  bin=$dir/fuzz_$t seed=tests/fuzz/corpus/$t work=$dir/corpus/$t
  mkdir -p "$work" "$dir/crashes" "$seed"
  dict=()
  [ -f tests/fuzz/$t.dict ] && dict=(-dict=tests/fuzz/$t.dict)
  echo "== fuzz $t: ${seconds}s"
  "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$dir/crashes/$t-" "${dict[@]}" "$work" "$seed" > "$dir/$t.log" 2>&1
  rc=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$dir/$t.log" | tail -1 | grep -o '[0-9]*$')
  secs=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$dir/$t.log" | tail -1 | grep -o '[0-9]*$')
  cov=$(grep -oE 'cov: [0-9]+' "$dir/$t.log" | tail -1)
  echo "fuzz $t: ${execs:-?} inputs run (${secs:-?}/s), $cov, corpus $(ls "$work" | wc -l) working + $(ls "$seed" | wc -l) kept; exit $rc"
  if [ $rc -ne 0 ]; then
    failed=1
    echo "fuzz $t FAILED: $(ls "$dir"/crashes/"$t"-* 2>/dev/null | tr '\n' ' ')" >&2
    grep -E 'ERROR|SUMMARY|runtime error' "$dir/$t.log" | head -5 >&2
  elif [ "$mode" = merge ]; then
    "$bin" -merge=1 "$seed" "$work" > "$dir/$t.merge.log" 2>&1 && echo "fuzz $t: corpus now $(ls "$seed" | wc -l) inputs"
  fi
done
exit $failed
