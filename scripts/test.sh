#!/usr/bin/env bash
# Installs everything the tests need on a fresh Debian 12 machine (as root) and runs
# every suite: unit and integration tests, the architecture rule, golden tests against
# the real virsh, and the XML conformance corpus.
#
#   ./scripts/test.sh            install + run everything
#   SKIP_INSTALL=1 ./scripts/test.sh   (developer machines that already have the packages)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

say() { printf '\n== %s\n' "$*"; }

if [ "${SKIP_INSTALL:-0}" != 1 ]; then
    say "installing test dependencies (Debian packages)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # libvirt-clients: the real virsh (golden tests compare against it, test:/// needs no daemon)
    # libvirt-daemon: the real libvirtd 9.0 (the remote driver's tests run against it)
    # python3-libvirt: real libvirt-python clients of oxvirtd
    # netcat-openbsd: `nc -U`, libvirt's ssh/ext transport helper
    # libxml2-utils: xmllint, checks our XML against libvirt's schemas
    # python3: runs the conformance checker
    # openssl: makes the CA and certificates of the TLS tests
    # qemu-system-x86: real guests (the test guest from scripts/build-test-guest.sh, the QEMU driver)
    # passwd, procps: useradd/groupadd make the QEMU test user, ps shows QEMU's user (qemu_host tests)
    # util-linux: setpriv, through which the QEMU driver runs QEMU as qemu.conf's user (essential; listed for clarity)
    # libsasl2-modules: cyrus-sasl's SCRAM plugin, used by real virsh/libvirt-python against oxvirtd's SASL
    # sasl2-bin: saslpasswd2, makes the sasldb of libvirtd 9.0 when oxvirsh authenticates to it (SCRAM)
    # polkitd, dbus-daemon: a private system bus and a real polkitd for the polkit authentication tests
    # iproute2: `ip tuntap`/`ip link`, how the QEMU driver makes and wires guests' taps; `ip netns` in the NIC tests
    # iputils-ping: the NIC tests ping a bridged test guest from their network namespace
    # qemu-utils: qemu-img, which the QEMU driver runs for internal snapshots of shut-off guests
    # Keep package scripts from starting services (a system libvirtd) while installing.
    policy=/usr/sbin/policy-rc.d
    made_policy=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && made_policy=1
    fi
    apt-get install -y -qq --no-install-recommends \
        libvirt-clients libvirt-daemon python3-libvirt netcat-openbsd libxml2-utils python3 qemu-system-x86 openssl \
        passwd procps util-linux libsasl2-modules sasl2-bin polkitd dbus-daemon \
        iproute2 iputils-ping qemu-utils >/dev/null
    if [ "$made_policy" = 1 ]; then rm -f "$policy"; fi
fi

command -v cargo >/dev/null || { echo "cargo not found: install the Rust toolchain" >&2; exit 1; }

say "format and lints"
cargo fmt --all --check
cargo clippy --locked --workspace --all-targets -q -- -D warnings

say "build"
cargo build --locked --release --bin oxvirsh --bin oxvirtd

say "unit and integration tests"
if cargo nextest --version >/dev/null 2>&1; then
    OXVIRT_LOAD_FULL=1 cargo nextest run --locked --workspace --no-fail-fast
else
    OXVIRT_LOAD_FULL=1 cargo test --locked --workspace --no-fail-fast
fi

say "golden tests: oxvirsh against the real virsh's recorded output"
tests/golden/run.sh "$ROOT/target/release/oxvirsh"

say "golden tests through daemons: virsh -> oxvirtd, oxvirsh -> oxvirtd, oxvirsh -> libvirtd 9.0"
tests/golden/via-daemon.sh "$ROOT/target/release/oxvirtd" "$ROOT/target/release/oxvirsh"

say "XML conformance corpus (libvirt 9.0 golden files)"
scripts/conformance.sh "$ROOT/target/release/oxvirsh"

say "all tests passed"
