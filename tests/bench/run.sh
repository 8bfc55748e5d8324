#!/usr/bin/env bash
# Sluice against HAProxy 2.6 and nginx on this machine: tests/bench/README.md says what it
# measures and how to read it.
#
#   tests/bench/run.sh                 # full run: 12 scenarios, 3 rounds each (~40 min)
#   tests/bench/run.sh --quick         # 1 round of 2 s runs, to try the harness (~5 min)
#   tests/bench/run.sh --smoke         # about a minute, no report: the harness works, all answer
#   tests/bench/run.sh --doc docs/benchmarks.md --wait-quiet 0.6 --wait-max 1500
#
# Every other option goes to tests/bench/compare.py (--help lists them). The packages are
# installed first unless SLUICE_BENCH_NO_INSTALL=1. Nothing is built: the binary is
# $SLUICE_BIN_DIR/sluice, or build/bin/sluice.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin_dir="${SLUICE_BIN_DIR:-$root/build/bin}"

if [ "${SLUICE_BENCH_NO_INSTALL:-0}" != 1 ]; then
  bash "$root/deploy/install-deps.sh" wrk haproxy nginx-light libnginx-mod-stream strace \
    util-linux python3 openssl
fi
if [ ! -x "$bin_dir/sluice" ]; then
  echo "run.sh: $bin_dir/sluice not found: build Sluice first (see README.md)" >&2
  exit 1
fi

# ka-1000c and idle-10k hold thousands of sockets in wrk, in compare.py (the idle client)
# and in each proxy, which all inherit this limit: raise it (compare.py raises its soft limit
# too, and skips a scenario of the default list that still does not fit). Raising the hard
# limit needs CAP_SYS_RESOURCE; without it, the soft limit goes up to the hard one.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# compare.py starts every process in its own group and stops them all when it ends or
# receives SIGTERM/SIGINT; this trap passes our signals on and waits for that cleanup.
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
}
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM
trap cleanup EXIT

SLUICE_BIN_DIR="$bin_dir" python3 "$here/compare.py" "$@" &
pid=$!
rc=0
wait "$pid" || rc=$?
pid=""
exit "$rc"
