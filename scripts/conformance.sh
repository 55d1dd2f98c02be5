#!/usr/bin/env bash
# Runs libvirt 9.0's xml2xml corpora through `oxvirsh xml format` with perturbed inputs
# and fails if a program's pass rate drops below its floor (a regression guard: the
# floors are the rates reached when they were set, see docs/conformance.md).
#
#   scripts/conformance.sh [OXVIRSH]      (default target/release/oxvirsh)
# The corpus lives in the workplace's shared folder; OXVIRT_SHARED overrides its path.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-$(pwd)/target/release/oxvirsh}
SHARED=${OXVIRT_SHARED:-$(pwd)/../shared}
CHECK="$SHARED/conformance/check_xml2xml.sh"
if [ ! -x "$CHECK" ]; then
    echo "conformance corpus not found at $SHARED/conformance (set OXVIRT_SHARED)" >&2
    exit 1
fi

# program floor(percent)
FLOORS="
genericxml2xml 80
networkxml2xml 80
storagepoolxml2xml 80
storagevolxml2xml 80
secretxml2xml 80
nwfilterxml2xml 80
interfacexml2xml 80
virnetworkportxml2xml 80
qemudomainsnapshotxml2xml 80
nodedevxml2xml 80
"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
programs=$(echo "$FLOORS" | awk 'NF{print $1}')
# shellcheck disable=SC2086
"$CHECK" --perturb "$BIN" "$SHARED/conformance/corpus" $programs | tee "$out" || true
fail=0
while read -r prog floor; do
    [ -n "$prog" ] || continue
    # table row: PROGRAM passed failed total identity (identity-passed)
    read -r passed total < <(awk -v p="$prog" '$1 == p {print $2, $4}' "$out")
    if [ -z "${passed:-}" ] || [ -z "${total:-}" ] || [ "$total" -eq 0 ]; then
        echo "conformance: could not read the result of $prog" >&2
        fail=1
        continue
    fi
    pct=$((passed * 100 / total))
    echo "conformance: $prog $passed/$total ($pct%, floor $floor%)"
    if [ "$pct" -lt "$floor" ]; then
        echo "conformance: $prog below its floor" >&2
        fail=1
    fi
done <<< "$FLOORS"
exit $fail
