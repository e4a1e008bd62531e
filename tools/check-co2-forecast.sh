#!/bin/bash
# Runs examples/co2_forecast (from the repository root, where it reads data/) and compares
# its output with tests/models/co2_expected.txt, the output of its scikit-learn
# transcription (tests/models/co2_sklearn.py): the same best alpha, every CV mean and
# forecast within 1e-9 relative.
# Usage: tools/check-co2-forecast.sh BUILD_DIR
set -u
cd "$(dirname "$0")/.."
bin=$1/examples/co2_forecast
out=$1/examples/co2_forecast.out
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && ln -s "$OLDPWD/data" data && "$OLDPWD/$bin") > "$out" \
  || { echo "check-co2-forecast: $bin failed" >&2; exit 1; }
awk -v tol=1e-9 '
  NR == FNR { want[FNR] = $0; n = FNR; next }
  { got[FNR] = $0; m = FNR }
  END {
    if (m != n) { printf "check-co2-forecast: %d lines, expected %d\n", m, n > "/dev/stderr"; exit 1 }
    for (i = 1; i <= n; i++) {
      split(want[i], w, " "); split(got[i], g, " ")
      if (w[1] == "best" && want[i] != got[i]) { print "check-co2-forecast: " got[i] ", scikit-learn: " want[i] > "/dev/stderr"; exit 1 }
      a = g[length(g)] + 0; b = w[length(w)] + 0
      d = a - b; if (d < 0) d = -d; s = b < 0 ? -b : b
      if (d > tol * s) { printf "check-co2-forecast: line %d: %s, scikit-learn: %s\n", i, got[i], want[i] > "/dev/stderr"; exit 1 }
    }
    print "check-co2-forecast: ok (best alpha, " n - 1 " CV means and forecasts within " tol " of scikit-learn)"
  }' tests/models/co2_expected.txt "$out"
