#!/usr/bin/env bash
# Regenerate bin/oxvirtd/startup.order: the functions of the release oxvirtd that run
# from start-up through a client's first calls, which bin/oxvirtd/build.rs asks the
# linker to place together (docs/benchmarks.md, "Idle RSS").
#
#   ./scripts/bench/oxvirtd-order.sh
#
# Builds the release daemon, runs it under valgrind's callgrind (no symbol
# demangling), drives it with libvirt-python through the calls a client makes first
# (open test:///default, getLibVersion, list, lookup, info, XML, define/undefine,
# close), stops it with SIGTERM, and writes every function of the binary that ran,
# sorted by name (the order inside the group hardly matters; sorted lists diff well).
# Needs valgrind and /usr/bin/python3 with python3-libvirt. Re-run after code changes
# on the start-up path and after dependency or toolchain upgrades: names the linker
# cannot find are skipped, so a stale list silently costs footprint (measured: a list
# made before ~2,000 lines of new daemon code gave 5.2 MiB instead of 4.4 MiB).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
OUT=$ROOT/bin/oxvirtd/startup.order
cargo build -q --release --locked -p oxvirtd
BIN=$ROOT/target/release/oxvirtd
WORK=$(mktemp -d /tmp/oxvirtd-order.XXXXXX)
PID=
cleanup() {
    [ -n "$PID" ] && kill "$PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$WORK/run"
: >"$WORK/ox.conf"
valgrind -q --tool=callgrind --demangle=no --callgrind-out-file="$WORK/cg.out" \
    "$BIN" --socket-dir "$WORK/run" -f "$WORK/ox.conf" -p "$WORK/pid" >"$WORK/log" 2>&1 &
PID=$!
/usr/bin/python3 - "$WORK/run/libvirt-sock" <<'PY'
import sys, time, libvirt
libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
sock = sys.argv[1]
uri = "test+unix:///default?socket=" + sock
for _ in range(3000):
    try:
        c = libvirt.open(uri)
        break
    except libvirt.libvirtError:
        time.sleep(0.02)
else:
    sys.exit("oxvirtd did not answer under valgrind")
c.getLibVersion()
c.close()
c = libvirt.open(uri)
c.getLibVersion()
c.getVersion()
c.getHostname()
doms = c.listAllDomains(0)
d = c.lookupByName("test")
d.info()
d.XMLDesc(0)
n = c.defineXML("<domain type='test'><name>order-probe</name><memory>131072</memory>"
                "<vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os><devices/></domain>")
n.undefine()
c.close()
PY
kill -TERM "$PID"
wait "$PID" || true
PID=
/usr/bin/python3 - "$WORK/cg.out" "$BIN" "$OUT" <<'PY'
import re, subprocess, sys
cg, binary, out = sys.argv[1:4]
# every function symbol the binary defines
syms = set()
nm = subprocess.run(["nm", "--defined-only", binary], capture_output=True, text=True, check=True)
for line in nm.stdout.splitlines():
    parts = line.split()
    if len(parts) == 3 and parts[1] in "tTwW":
        syms.add(parts[2])
seen, order = set(), []
name_def = re.compile(r"^c?fn=\(\d+\) (.+)$")
with open(cg) as f:
    for line in f:
        m = name_def.match(line.rstrip("\n"))
        if m:
            name = m.group(1)
            if name in syms and name not in seen:
                seen.add(name)
                order.append(name)
# sorted: the order inside the group hardly matters, and sorted lists diff well
order.sort()
with open(out, "w") as f:
    f.write("\n".join(order) + "\n")
print(f"{len(order)} functions written to {out}", file=sys.stderr)
PY
