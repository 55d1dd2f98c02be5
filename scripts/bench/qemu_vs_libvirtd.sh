#!/usr/bin/env bash
# Side-by-side QEMU driver benchmarks: oxvirtd (release build, qemu:///system below a
# private root) and libvirtd 9.0's QEMU driver (Debian libvirt-daemon-driver-qemu, in a
# private mount namespace with scratch /etc/libvirt, /var/lib/libvirt, /var/cache/libvirt,
# /run/libvirt and /var/log/libvirt, QEMU as root, no virtlogd), measured alternately by
# ../shared/bench/qemu_lifecycle.py and events.py (qemu driver) with libvirt-python.
#
#   sudo ./scripts/bench/qemu_vs_libvirtd.sh [OUT.jsonl] [ROUNDS]
#
# libvirtd needs the `libvirt-qemu` user to exist (Debian's libvirt-daemon-system makes
# it); it is created here when missing. Results: OUT.jsonl (default
# target/bench/qemu_vs_libvirtd.jsonl), one JSON line per run tagged with "daemon";
# the summary printed at the end is what docs/benchmarks.md records.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
SHARED=${OXVIRT_SHARED:-$ROOT/../shared}
[ -d "$SHARED/bench" ] || SHARED=/work/shared
BENCH=$SHARED/bench
OUT=${1:-$ROOT/target/bench/qemu_vs_libvirtd.jsonl}
ROUNDS=${2:-3}
PY=/usr/bin/python3
LIBVIRTD=/usr/sbin/libvirtd
mkdir -p "$(dirname "$OUT")"
: >"$OUT"
say() { printf '== %s\n' "$*" >&2; }

cargo build -q --release --locked -p oxvirtd
OXVIRTD=$ROOT/target/release/oxvirtd
getent passwd libvirt-qemu >/dev/null ||
    useradd --system --no-create-home --user-group --shell /usr/sbin/nologin libvirt-qemu

WORK=$(mktemp -d /tmp/oxvirt-qbench.XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    # QEMUs either daemon left (both name their scratch paths in the command line)
    pkill -9 -f "qemu-system.*$WORK" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

mkdir -p "$WORK/ox" "$WORK/lv/sock" "$WORK"/lv/ns/{etc,lib,cache,run,log}
: >"$WORK/ox.conf"
printf 'user = "root"\ngroup = "root"\ndynamic_ownership = 0\nsecurity_driver = "none"\nstdio_handler = "file"\n' >"$WORK/lv/ns/etc/qemu.conf"
printf 'unix_sock_dir = "%s"\nauth_unix_rw = "none"\nauth_unix_ro = "none"\n' "$WORK/lv/sock" >"$WORK/lv.conf"
# oxvirtd: the same qemu.conf (root, no relabelling) below its private root
mkdir -p "$WORK/ox/root/etc"
cp "$WORK/lv/ns/etc/qemu.conf" "$WORK/ox/root/etc/qemu.conf"
OXVIRT_QEMU_ROOT="$WORK/ox/root" "$OXVIRTD" --socket-dir "$WORK/ox" -f "$WORK/ox.conf" -p "$WORK/ox/pid" >"$WORK/ox.log" 2>&1 &
PIDS+=($!)
L=$WORK/lv/ns
unshare -m --propagation private /bin/sh -c "mount --bind $L/etc /etc/libvirt && mount --bind $L/lib /var/lib/libvirt && \
    mount --bind $L/cache /var/cache/libvirt && mount --bind $L/run /run/libvirt && mount --bind $L/log /var/log/libvirt && \
    exec $LIBVIRTD -f $WORK/lv.conf -p $WORK/lv/pid" >"$WORK/lv.log" 2>&1 &
PIDS+=($!)

OX="qemu+unix:///system?socket=$WORK/ox/libvirt-sock"
LV="qemu+unix:///system?socket=$WORK/lv/sock/libvirt-sock"
wait_ready() {
    for _ in $(seq 1 1500); do
        if $PY -c "import libvirt; libvirt.open('$1').getLibVersion()" 2>/dev/null; then return 0; fi
        sleep 0.02
    done
    echo "no daemon answers on $1" >&2
    exit 1
}
wait_ready "$OX"
wait_ready "$LV"

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

for rep in $(seq 1 "$ROUNDS"); do
    say "qemu_lifecycle.py, round $rep (oxvirtd, libvirtd)"
    run oxvirtd $PY "$BENCH/qemu_lifecycle.py" "$OX"
    run libvirtd $PY "$BENCH/qemu_lifecycle.py" "$LV"
done
say "events.py (qemu driver)"
run oxvirtd $PY "$BENCH/events.py" "$OX"
run libvirtd $PY "$BENCH/events.py" "$LV"

say "results in $OUT"
$PY - "$OUT" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None
out = {}
for d in ("oxvirtd", "libvirtd"):
    lc = [r for r in rows if r["daemon"] == d and r.get("bench") == "qemu_lifecycle"]
    m = {}
    for k in ("define", "start", "qmp_ready", "wait_running", "suspend", "resume", "destroy", "undefine"):
        m[k] = med([r["steps_median_ms"].get(k) for r in lc])
    m["floor_cont"] = med([r["qemu_direct_floor"]["cont_median_ms"] for r in lc])
    m["floor_greeting"] = med([r["qemu_direct_floor"]["greeting_median_ms"] for r in lc])
    m["qemu_exit_after_destroy"] = med([r["proc_observed_median_ms"]["qemu_exit_after_destroy_call"] for r in lc])
    m["par5_paused_wall"] = med([r["parallel_paused"]["parallel_wall_median_ms"] for r in lc])
    m["par5_running_wall"] = med([r["parallel_running"]["parallel_wall_median_ms"] for r in lc])
    m["cpu_busy_before"] = med([r.get("cpu_busy_before") for r in lc])
    out[d] = m
print("| step (median ms) | oxvirtd | libvirtd 9.0 | ratio |")
print("|---|---|---|---|")
for k in out["oxvirtd"]:
    a, b = out["oxvirtd"][k], out["libvirtd"][k]
    ratio = "%.2f" % (a / b) if a is not None and b else "-"
    print("| %s | %s | %s | %s |" % (k, a, b, ratio))
ev = {r["daemon"]: r for r in rows if r.get("bench") == "events"}
for d, r in ev.items():
    print("events", d, json.dumps({k: v for k, v in r.items() if "median" in k or k == "results"})[:800])
PY
