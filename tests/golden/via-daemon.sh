#!/usr/bin/env bash
# The golden command list through daemons, compared with the same expected files as the
# in-process runs (recorded from virsh on libvirt's own test driver):
#   1. real virsh  -> oxvirtd   (our daemon serves libvirt's clients unchanged)
#   2. oxvirsh     -> oxvirtd   (our client and daemon together)
#   3. oxvirsh     -> libvirtd 9.0 (our client against libvirt's daemon)
#
#   tests/golden/via-daemon.sh OXVIRTD OXVIRSH
# libvirtd runs privately (its own socket directory, no authentication, only the
# drivers built into libvirt.so so no system services are needed); needs root.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
oxvirtd=${1:?usage: via-daemon.sh OXVIRTD OXVIRSH}
oxvirsh=${2:?usage: via-daemon.sh OXVIRTD OXVIRSH}
libvirtd=/usr/sbin/libvirtd
for b in "$oxvirtd" "$oxvirsh" virsh "$libvirtd"; do
    command -v "$b" >/dev/null 2>&1 || { echo "via-daemon.sh: $b not found" >&2; exit 2; }
done
work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

wait_sock() {
    for _ in $(seq 100); do [ -S "$1" ] && return 0; sleep 0.1; done
    echo "via-daemon.sh: $1 did not appear" >&2
    return 1
}

mkdir -p "$work/ox" "$work/lv/drivers"
"$oxvirtd" --socket-dir "$work/ox" -p "$work/ox/pid" >"$work/ox/log" 2>&1 &
pids+=($!)
printf 'unix_sock_dir = "%s"\nauth_unix_rw = "none"\nauth_unix_ro = "none"\n' "$work/lv" >"$work/lv/libvirtd.conf"
LIBVIRT_DRIVER_DIR=$work/lv/drivers "$libvirtd" -f "$work/lv/libvirtd.conf" --pid-file "$work/lv/pid" >"$work/lv/log" 2>&1 &
pids+=($!)
wait_sock "$work/ox/libvirt-sock" || { cat "$work/ox/log" >&2; exit 1; }
wait_sock "$work/lv/libvirt-sock" || { cat "$work/lv/log" >&2; exit 1; }

rc=0
echo "== real virsh -> oxvirtd"
"$here/run.sh" --socket "$work/ox/libvirt-sock" virsh | tail -n 12 || rc=1
echo "== oxvirsh -> oxvirtd"
"$here/run.sh" --socket "$work/ox/libvirt-sock" "$oxvirsh" | tail -n 12 || rc=1
echo "== oxvirsh -> libvirtd 9.0"
"$here/run.sh" --socket "$work/lv/libvirt-sock" "$oxvirsh" | tail -n 12 || rc=1
exit $rc
