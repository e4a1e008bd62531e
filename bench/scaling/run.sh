#!/bin/bash
# bench/scaling/run.sh: the scaling tables on a many-core machine that has none of our
# packages, from the bundle `make scaling-bundle` made (.device/, see bundle.sh).
#
#   OUT=/some/dir bash bench/scaling/run.sh        (from the repository root)
#
# Steps, in order of importance, each under its own timeout and all under one time budget
# (SCALING_BUDGET seconds, default 400): the machine (lscpu, nproc, hwloc topology); the
# peers' own check (bench_peers);
# scalebench at 1, 2, 4, ... threads up to the cores (with OpenMP); the grid and grad
# workloads over MPI ranks x threads (R x C/R for R = 1, 2, 4, ... C, C the cores,
# unbound ranks that split the node's cores); bench_pool, bench_preprocess, bench_grad,
# bench_pipeline at C threads, then at C/2; bench_mpi at 4 ranks; bench_batch at C.
# A step that no longer fits in the budget is skipped and says so.
#
# $OUT receives at most 7 files: scaling.log (everything printed), summary.txt (the
# machine, every step's status and time, the ranks x threads table), machine.txt,
# scalebench.json, scalebench.csv, mpi.csv and mpi.json (one run per rank count, with
# the rank count launched as the first column / key).
#
# Knobs (environment): SCALING_BUDGET, SCALING_REPS (repeats of the benchmarks, default 5;
# SCALING_REPS_HALF at C/2 threads, default 3),
# SCALING_THREADS (scalebench's list, default powers of two up to the cores), SCALING_CORES
# (the core count C, default hwloc's),
# SCALING_SKIP (space-separated step names to skip: scalebench mpi benches benches-half
# bench_mpi bench_batch).
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
D=$ROOT/.device
OUT=${OUT:-$ROOT/scaling-out}
BUDGET=${SCALING_BUDGET:-400}
REPS=${SCALING_REPS:-5}
SKIP=" ${SCALING_SKIP:-} "
mkdir -p "$OUT" || exit 1
LOG=$OUT/scaling.log
SUMMARY=$OUT/summary.txt
: > "$LOG"; : > "$SUMMARY"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ndpar-scaling.XXXXXX") || exit 1
trap 'rm -rf "$WORK"' EXIT
export TMPDIR=$WORK   # bench_pipeline's and scalebench's generated inputs
START=$(date +%s)

elapsed() { echo $(( $(date +%s) - START )); }
say() { echo "[$(printf '%4d' "$(elapsed)")s] $*" | tee -a "$LOG" "$SUMMARY"; }

if [ ! -x "$D/run.sh" ] || [ ! -x "$D/lib/ld-linux-x86-64.so.2" ]; then
  say "no bundle at $D: run 'make scaling-bundle' on the build machine and carry .device"
  exit 1
fi
HAVE_MPI=0
# Open MPI's shared-memory transport maps its segments in /dev/shm; a container's is often
# 64 MB, too small for 16 ranks: then the run's own temporary folder backs them.
SHM_KB=$(df -Pk /dev/shm 2>/dev/null | awk 'NR == 2 {print $4}')
if [ "${SHM_KB:-0}" -lt 1048576 ] 2>/dev/null; then export OMPI_MCA_btl_vader_backing_directory=$WORK; fi
[ -x "$D/bin/mpirun" ] && [ -x "$D/bin/scalebench-mpi" ] && HAVE_MPI=1

# step NAME NEED LIMIT CMD...: runs CMD (its output into the log, as it comes) under
# min(LIMIT, what is left of the budget); skipped when less than NEED seconds are left or
# when SCALING_SKIP names it. CMD may be one of the exported functions below.
# Under util-linux's script (where it works) the programs write to a terminal, so a step
# stopped by its timeout still leaves every line it printed (a pipe would hold them back).
FOLLOW=0; tail --help 2>&1 | grep -q -- --pid && FOLLOW=1
PTY=0
if command -v script > /dev/null; then
  t0=$(date +%s)
  [ "$(SHELL=/bin/bash script -qefc 'sleep 1; echo pty-ok' /dev/null < /dev/null 2>/dev/null | tr -d '\r')" = pty-ok ] \
    && [ $(( $(date +%s) - t0 )) -ge 1 ] && PTY=1
fi
cat > "$WORK/runstep.sh" <<'EOS'
#!/bin/bash
# One step's command (a program or an exported function); its standard error through a
# pipe, so that no progress bar fills the log.
"$@" 2> >(cat >&2)
rc=$?
wait
exit $rc
EOS
chmod +x "$WORK/runstep.sh"
export D WORK REPS CORES
STEPS=0
step() {
  local name=$1 need=$2 limit=$3; shift 3
  local left=$(( BUDGET - $(elapsed) ))
  case $SKIP in *" ${name%%@*} "*) say "SKIP  $name (SCALING_SKIP)"; return 0 ;; esac
  if [ "$left" -lt "$need" ]; then say "SKIP  $name (budget: ${left}s left, needs ${need}s)"; return 0; fi
  [ "$limit" -le "$left" ] || limit=$left
  say "START $name (limit ${limit}s): $*"
  local t0 rc pid out
  t0=$(date +%s)
  STEPS=$((STEPS + 1)); out=$WORK/step-$STEPS.out
  : > "$out"  # (made here, before tail opens it: a file per step, no earlier step's lines)
  if [ $PTY = 1 ]; then
    SHELL=/bin/bash timeout -k 5 "$limit" script -qefc "$WORK/runstep.sh $(printf '%q ' "$@")" /dev/null \
      < /dev/null >> "$out" 2>&1 &
  else
    timeout -k 5 "$limit" "$WORK/runstep.sh" "$@" < /dev/null >> "$out" 2>&1 &
  fi
  pid=$!
  if [ $FOLLOW = 1 ]; then tail -n +1 -f --pid=$pid "$out" | tr -d '\r' | tee -a "$LOG"; fi
  wait $pid; rc=$?
  [ $FOLLOW = 1 ] || tr -d '\r' < "$out" | tee -a "$LOG"
  rm -f "$out"
  case $rc in
    0) say "DONE  $name in $(( $(date +%s) - t0 ))s" ;;
    124|137|143) say "TIMEOUT $name after ${limit}s (what it printed is in scaling.log)" ;;
    *) say "FAIL  $name: exit $rc after $(( $(date +%s) - t0 ))s" ;;
  esac
  return 0
}

# ---------------------------------------------------------------- the machine
{
  echo "== uname"; uname -a
  echo "== nproc: $(nproc 2>/dev/null)"
  echo "== lscpu"; lscpu 2>/dev/null || head -30 /proc/cpuinfo
  echo "== memory"; free -g 2>/dev/null || head -3 /proc/meminfo
  echo "== hwloc topology (bundled lstopo)"
  timeout 20 "$D/run.sh" lstopo-no-graphics --no-io --of console 2>&1 | head -60
  echo "== affinity of this shell: $(grep Cpus_allowed_list /proc/self/status 2>/dev/null)"
  echo "== cgroup cpu.max: $(cat /sys/fs/cgroup/cpu.max 2>/dev/null || echo none)"
  echo "== /dev/shm: ${SHM_KB:-?} KB free; MPI shared memory in ${OMPI_MCA_btl_vader_backing_directory:-/dev/shm}"
  echo "== bundle"; head -3 "$D/MANIFEST"
} > "$OUT/machine.txt" 2>&1
cat "$OUT/machine.txt" >> "$LOG"
NPROC=$(nproc 2>/dev/null || echo 1)
CORES=$(timeout 20 "$D/run.sh" lstopo-no-graphics --only core 2>/dev/null | grep -c Core)
[ "${CORES:-0}" -ge 1 ] 2>/dev/null || CORES=$NPROC
CORES=${SCALING_CORES:-$CORES}
MODEL=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -1)
say "machine: ${MODEL:-unknown cpu}; $CORES physical cores (hwloc), $NPROC logical CPUs (nproc); MPI bundled: $HAVE_MPI"

grep -q "^[^:]*:[^:]*:$(id -u 2>/dev/null || echo 0):" /etc/passwd 2>/dev/null \
  || say "warning: this user is not in /etc/passwd; Open MPI's mpirun may fail"

# A container may see more cores than its CPU quota lets it use: then the quota is the size.
QUOTA=$(awk '$1 != "max" && $2 > 0 {print int($1 / $2)}' /sys/fs/cgroup/cpu.max 2>/dev/null)
if [ -n "$QUOTA" ] && [ "$QUOTA" -ge 1 ] && [ "$QUOTA" -lt "$CORES" ]; then
  say "warning: a CPU quota of $QUOTA CPUs (cgroup cpu.max) below the $CORES cores: measuring up to $QUOTA"
  CORES=$QUOTA
fi

# Thread counts: 1, 2, 4, ... below the cores, then the cores themselves (then the logical
# CPUs, where SMT gives more).
pow2_to() { local n=1 list=""; while [ $n -lt "$1" ]; do list="$list $n"; n=$((n * 2)); done; echo "$list $1"; }
THREADS=$(pow2_to "$CORES" | tr -s ' ' ',' | sed 's/^,//')
[ "$NPROC" -le "$CORES" ] || [ -n "$QUOTA" ] || THREADS="$THREADS,$NPROC"
THREADS=${SCALING_THREADS:-$THREADS}
HALF=$(( CORES / 2 )); [ $HALF -ge 1 ] || HALF=1

# The peers (oneTBB, Rayon) work here: every index once, exact sums (a second or two).
[ -x "$D/bin/bench_peers" ] && step bench_peers 5 30 "$D/run.sh" bench_peers --threads "$CORES"

# ---------------------------------------------------------------- scalebench
step scalebench 60 150 "$D/run.sh" scalebench --threads "$THREADS" --repeat 9 --warmup 2 --openmp \
  --json "$OUT/scalebench.json" --csv "$OUT/scalebench.csv"

# ---------------------------------------------------------------- MPI ranks x threads
mpi_point() {  # R: one mpirun of R unbound ranks; each rank's pool gets CORES/R cores
  local r=$1
  "$D/mpirun.sh" -np "$r" --bind-to none scalebench-mpi --repeat 3 --warmup 1 \
    --csv "$WORK/mpi-np$r.csv" --json "$WORK/mpi-np$r.json"
}
export -f mpi_point
if [ $HAVE_MPI = 1 ]; then
  for r in $(pow2_to "$CORES"); do
    step "mpi@np$r" 15 60 mpi_point "$r"
  done
  # Collect: one CSV (np = the ranks launched, first column), one JSON ({"np": R, "run": ...}).
  first=1; sep=""
  echo '{"tool": "bench/scaling/run.sh", "runs": [' > "$OUT/mpi.json"
  for r in $(pow2_to "$CORES"); do
    f=$WORK/mpi-np$r.csv
    [ -s "$f" ] || continue
    if [ $first = 1 ]; then sed -n '1s/^/np,/p' "$f" > "$OUT/mpi.csv"; first=0; fi
    sed -n "2,\$s/^/$r,/p" "$f" >> "$OUT/mpi.csv"
    if [ -s "$WORK/mpi-np$r.json" ]; then
      { printf '%s{"np": %d, "run":\n' "$sep" "$r"; cat "$WORK/mpi-np$r.json"; echo '}'; } >> "$OUT/mpi.json"
      sep=","
    fi
  done
  echo ']}' >> "$OUT/mpi.json"
  if [ -s "$OUT/mpi.csv" ]; then
    {
      echo
      echo "ranks x threads per rank ($CORES cores): the widest point of each launch of R ranks;"
      echo "speedup over that launch's own 1 x 1 (its other ranks waiting) and over the 1 x 1 of the launch of 1 rank"
      awk -F, '
        NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
        { np = $1; w = $(col["workload"]); r = $(col["ranks"]); t = $(col["threads"]); med = $(col["median_ms"])
          if (r == 1 && t == 1) { base[np, w] = med; if (np == 1) solo[w] = med }
          if (r == np && t >= best_t[np, w]) { if (!((np, w) in idx)) { idx[np, w] = ++n }
            k = idx[np, w]; best_t[np, w] = t; pm[k] = med; pr[k] = r; pt[k] = t; pw[k] = w; pn[k] = np
            cs[k] = $(col["comm_share"]) } }
        END { printf "%-6s %6s %8s %12s %12s %9s %11s %9s %11s\n", "work", "ranks", "threads", "median_ms",
                     "1x1_ms", "speedup", "efficiency", "vs_np1", "comm_share"
              for (k = 1; k <= n; k++) { b = base[pn[k], pw[k]]; s = pm[k] > 0 ? b / pm[k] : 0
                s1 = (pw[k] in solo && pm[k] > 0) ? sprintf("%8.2fx", solo[pw[k]] / pm[k]) : "-"
                printf "%-6s %6d %8d %12.3f %12.3f %8.2fx %10.0f%% %9s %11s\n", pw[k], pr[k], pt[k], pm[k], b, s,
                       100 * s / (pr[k] * pt[k]), s1, cs[k] } }' \
        "$OUT/mpi.csv"
    } | tee -a "$LOG" "$SUMMARY"
  fi
else
  say "SKIP  mpi (no Open MPI in the bundle)"
fi

# ---------------------------------------------------------------- benchmarks with peers
bench_at() {  # NAME THREADS [ARGS...]
  local name=$1 t=$2; shift 2
  "$D/run.sh" "$name" --threads "$t" --reps "${STEP_REPS:-$REPS}" "$@"
}
export -f bench_at
for b in bench_pool bench_preprocess bench_grad bench_pipeline; do
  [ -x "$D/bin/$b" ] || { say "SKIP  $b (not in the bundle)"; continue; }
  case $SKIP in *" benches "*) say "SKIP  $b (SCALING_SKIP)"; continue ;; esac
  step "$b@$CORES" 40 150 bench_at "$b" "$CORES"
done
if [ "$HALF" != "$CORES" ]; then
  export STEP_REPS=${SCALING_REPS_HALF:-3}  # the second thread count: fewer repeats
  for b in bench_pool bench_preprocess bench_grad bench_pipeline; do
    [ -x "$D/bin/$b" ] || continue
    case $SKIP in *" benches-half "*) say "SKIP  $b at $HALF (SCALING_SKIP)"; continue ;; esac
    if [ $b = bench_pipeline ] && "$D/run.sh" $b --help 2>&1 | grep -q -- '--part'; then
      # (the RSS part, already measured at C threads, does not depend on them)
      step "$b@$HALF" 40 100 bench_at "$b" "$HALF" --part forecast
    else
      step "$b@$HALF" 30 100 bench_at "$b" "$HALF"
    fi
  done
fi

unset STEP_REPS

# ---------------------------------------------------------------- extras, if time is left
if [ $HAVE_MPI = 1 ] && [ -x "$D/bin/bench_mpi" ]; then
  np=4; [ "$CORES" -ge 4 ] || np=$CORES
  step "bench_mpi@np$np" 45 90 "$D/mpirun.sh" -np "$np" --bind-to none bench_mpi --reps "$REPS"
fi
[ -x "$D/bin/bench_batch" ] && step "bench_batch@$CORES" 30 60 bench_at bench_batch "$CORES"

say "finished in $(elapsed)s; files in $OUT: $(cd "$OUT" && ls | tr '\n' ' ')"
