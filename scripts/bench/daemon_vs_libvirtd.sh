#!/usr/bin/env bash
# Side-by-side daemon benchmarks: oxvirtd (release build), libvirtd 9.0 and the
# do-nothing responder of ../shared/bench/floor, all started privately by this script
# and measured with the client-side scripts of ../shared/bench (libvirt-python).
#
#   sudo ./scripts/bench/daemon_vs_libvirtd.sh [OUT.jsonl]
#
# Needs root (libvirtd), /usr/sbin/libvirtd (Debian libvirt-daemon), /usr/bin/python3
# with python3-libvirt. libvirtd runs with a temporary config (unix_sock_dir, auth none)
# and LIBVIRT_DRIVER_DIR pointing at an empty folder, so only the test and remote
# drivers built into libvirt.so load: the same driver set oxvirtd serves here.
# Raw results go to OUT.jsonl (default target/bench/daemon_vs_libvirtd.jsonl);
# scripts/bench/daemon_summary.py turns them into the table of docs/benchmarks.md.
# OXVIRT_SHARED overrides the shared folder (default: ../shared beside the checkout).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
SHARED=${OXVIRT_SHARED:-$ROOT/../shared}
[ -d "$SHARED/bench" ] || SHARED=/work/shared
BENCH=$SHARED/bench
OUT=${1:-$ROOT/target/bench/daemon_vs_libvirtd.jsonl}
PY=/usr/bin/python3
LIBVIRTD=/usr/sbin/libvirtd
mkdir -p "$(dirname "$OUT")"
: >"$OUT"

say() { printf '== %s\n' "$*" >&2; }

say "building oxvirtd (release) and the floor responder"
cargo build -q --release --locked -p oxvirtd
cargo build -q --release --manifest-path "$BENCH/floor/Cargo.toml" --target-dir "$ROOT/target/rpc-floor"
OXVIRTD=$ROOT/target/release/oxvirtd
FLOOR=$ROOT/target/rpc-floor/release/rpc-floor

WORK=$(mktemp -d /tmp/oxvirt-bench.XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

mkdir -p "$WORK/ox" "$WORK/lv/drivers"
: >"$WORK/ox.conf"
printf 'unix_sock_dir = "%s"\nauth_unix_rw = "none"\nauth_unix_ro = "none"\n' "$WORK/lv" >"$WORK/lv.conf"
"$OXVIRTD" --socket-dir "$WORK/ox" -f "$WORK/ox.conf" -p "$WORK/ox/pid" >"$WORK/ox.log" 2>&1 &
PIDS+=($!)
LIBVIRT_DRIVER_DIR="$WORK/lv/drivers" "$LIBVIRTD" -f "$WORK/lv.conf" --pid-file "$WORK/lv/pid" >"$WORK/lv.log" 2>&1 &
PIDS+=($!)
"$FLOOR" "$WORK/floor.sock" >"$WORK/floor.log" 2>&1 &
PIDS+=($!)

wait_ready() {
    for _ in $(seq 1 500); do
        if $PY -c "import libvirt,sys; c=libvirt.open('test+unix:///default?socket=$1'); c.getLibVersion()" 2>/dev/null; then return 0; fi
        sleep 0.02
    done
    echo "no daemon answers on $1" >&2
    exit 1
}
wait_ready "$WORK/ox/libvirt-sock"
wait_ready "$WORK/lv/libvirt-sock"
wait_ready "$WORK/floor.sock"

# tag each JSON line with the daemon it measured
run() {
    local daemon=$1
    shift
    "$@" 2>>"$WORK/progress.log" | $PY -c '
import json, sys
for line in sys.stdin:
    line = line.strip()
    if line.startswith("{"):
        d = json.loads(line); d["daemon"] = sys.argv[1]; print(json.dumps(d))' "$daemon" >>"$OUT"
}

# Interleave the daemons per bench so that noise from other tenants hits all of them.
for rep in 1 2; do
    say "rpc_latency.py, round $rep (floor, oxvirtd, libvirtd)"
    run floor $PY "$BENCH/rpc_latency.py" "$WORK/floor.sock" -k 1,8
    run oxvirtd $PY "$BENCH/rpc_latency.py" "$WORK/ox/libvirt-sock" -k 1,8
    run libvirtd $PY "$BENCH/rpc_latency.py" "$WORK/lv/libvirt-sock" -k 1,8
done
say "test_driver_scale.py"
run oxvirtd $PY "$BENCH/test_driver_scale.py" "$WORK/ox/libvirt-sock"
run libvirtd $PY "$BENCH/test_driver_scale.py" "$WORK/lv/libvirt-sock"
say "events.py (test driver)"
run oxvirtd $PY "$BENCH/events.py" "test+unix:///default?socket=$WORK/ox/libvirt-sock"
run libvirtd $PY "$BENCH/events.py" "test+unix:///default?socket=$WORK/lv/libvirt-sock"
say "daemon_footprint.sh (starts its own daemons)"
run oxvirtd bash "$BENCH/daemon_footprint.sh" --runs 5 \
    --cmd "$OXVIRTD --socket-dir {dir}/run -f $WORK/ox.conf -p {dir}/pid" --socket '{dir}/run/libvirt-sock'
cat >"$WORK/libvirtd-run.sh" <<RUN
#!/bin/sh
# libvirtd in the foreground with a private socket directory and no loadable drivers.
mkdir -p "\$1/run" "\$1/drivers"
printf 'unix_sock_dir = "%s"\\nauth_unix_rw = "none"\\nauth_unix_ro = "none"\\n' "\$1/run" >"\$1/libvirtd.conf"
LIBVIRT_DRIVER_DIR="\$1/drivers" exec $LIBVIRTD -f "\$1/libvirtd.conf" --pid-file "\$1/pid"
RUN
run libvirtd bash "$BENCH/daemon_footprint.sh" --runs 5 \
    --cmd "sh $WORK/libvirtd-run.sh {dir}" --socket '{dir}/run/libvirt-sock'

say "results in $OUT"
$PY "$ROOT/scripts/bench/daemon_summary.py" "$OUT"
