#!/bin/bash
# bench/scaling/check-chroot.sh [ROOTDIR]: proves the bundle (.device/, bundle.sh) needs
# nothing of this machine. It copies what the device would receive (the tracked and
# untracked-not-ignored files, and .device/) into a chroot that holds no library at all:
# a static busybox for the shell tools, a static bash, /proc, /sys, /dev, /dev/shm and a
# /tmp; no /lib, no /usr/lib, so no system glibc, GSL, hwloc, Open MPI or TBB can be
# found. Inside, with an empty environment, it runs the bundle's programs at 1 and 2
# threads, mpirun at np 2, and bench/scaling/run.sh with a short budget (its fallback
# paths: busybox has neither `script` nor `tail --pid`).
# Needs root and the packages busybox-static and bash-static (Debian).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
R=${1:-/tmp/ndpar-chroot}
BUSYBOX=$(command -v busybox) && file -L "$BUSYBOX" | grep -q 'statically linked' \
  || { echo "check-chroot: needs a static busybox (apt-get install busybox-static)" >&2; exit 2; }
[ -x /bin/bash-static ] || { echo "check-chroot: needs /bin/bash-static (apt-get install bash-static)" >&2; exit 2; }
[ -x "$REPO/.device/run.sh" ] || { echo "check-chroot: no .device/: make scaling-bundle" >&2; exit 2; }

cleanup() {
  for m in tmp dev/shm dev sys proc; do mountpoint -q "$R/$m" && umount -l "$R/$m"; done
  return 0
}
trap cleanup EXIT
cleanup
rm -rf "$R"
mkdir -p "$R"/{bin,usr/bin,proc,sys,dev,tmp,repo,etc}
cp "$BUSYBOX" "$R/bin/busybox"
for applet in $("$BUSYBOX" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$R/bin/$applet"
done
cp /bin/bash-static "$R/bin/bash"
ln -sf ../../bin/bash "$R/usr/bin/bash"; ln -sf ../../bin/env "$R/usr/bin/env"
echo "root:x:0:0:root:/root:/bin/bash" > "$R/etc/passwd"
echo "root:x:0:" > "$R/etc/group"
# compat, not files: a module that glibc 2.36 does not build in, so it must come from the
# bundle (an older host's nsswitch.conf may say compat).
printf 'passwd: compat\ngroup: compat\nhosts: files dns\n' > "$R/etc/nsswitch.conf"
echo "127.0.0.1 localhost $(hostname)" > "$R/etc/hosts"
hostname > "$R/etc/hostname"
(cd "$REPO" && git ls-files -co --exclude-standard -z | tar --null -T - -cf - && tar -cf - .device) \
  | tar -xf - -C "$R/repo" --ignore-zeros
[ ! -e "$R/lib" ] && [ ! -e "$R/usr/lib" ] && [ ! -e "$R/lib64" ]
mount -t proc proc "$R/proc"
mount --rbind /sys "$R/sys"
mount --rbind /dev "$R/dev"
mountpoint -q "$R/dev/shm" || mount -t tmpfs shm "$R/dev/shm"
mount -t tmpfs tmp "$R/tmp"
echo "check-chroot: $R holds $(du -sh "$R/repo" | cut -f1) of tree and bundle, and no library"

inside() { chroot "$R" /bin/env -i PATH=/bin:/usr/bin HOME=/tmp "$@"; }
inside /bin/sh -c 'cd /repo && ! ls /lib /usr/lib /lib64 2>/dev/null'
inside /bin/sh -c 'cd /repo && .device/run.sh scalebench --version'
inside /bin/sh -c 'cd /repo && .device/run.sh scalebench --threads 1,2 --repeat 2 --warmup 1 --workload grad,preprocess --openmp --json /tmp/sb.json'
inside /bin/sh -c 'cd /repo && .device/run.sh bench_pool --threads 2 --quick'
inside /bin/sh -c 'cd /repo && .device/run.sh bench_pipeline --threads 2 --quick --part empty'
# bench_pipeline runs fresh copies of itself (/proc/self/exe) to measure their peak RSS.
inside /bin/sh -c 'cd /repo && .device/run.sh bench_pipeline --threads 2 --quick --part rss' | tee "$R/tmp/rss.txt"
! grep -q -- '-0.0 MB' "$R/tmp/rss.txt" || { echo "check-chroot: bench_pipeline's RSS children failed" >&2; exit 1; }
inside /bin/sh -c 'cd /repo && .device/mpirun.sh -np 2 --bind-to none scalebench-mpi --quick --csv /tmp/mpi.csv && cat /tmp/mpi.csv'
inside /bin/sh -c 'cd /repo && .device/mpirun.sh -np 2 bench_mpi --quick'
inside SCALING_BUDGET="${CHECK_BUDGET:-90}" /bin/bash -c 'cd /repo && OUT=/tmp/out SCALING_REPS=2 \
  SCALING_SKIP="bench_mpi bench_batch benches-half" bash bench/scaling/run.sh && ls -l /tmp/out && cat /tmp/out/summary.txt'
echo "check-chroot: ok (the bundle ran with no library of this machine)"
