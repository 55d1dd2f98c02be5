#!/usr/bin/env bash
# Runs libvirt 9.0's test corpora through oxvirsh (`oxvirsh xml format`, `oxvirsh qemu
# argv`, ...) and fails if a program's pass rate drops below its floor: a regression
# guard, see docs/conformance.md for the current counts.
#
#   scripts/conformance.sh [OXVIRSH]      (default target/release/oxvirsh)
# The corpus lives in the workplace's shared folder; OXVIRT_SHARED overrides its path.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-$(pwd)/target/release/oxvirsh}
# The cases run with the corpus as working directory: make a relative path absolute.
case "$BIN" in /*) ;; */*) BIN=$(pwd)/$BIN ;; esac
SHARED=${OXVIRT_SHARED:-$(pwd)/../shared}
CHECK="$SHARED/conformance/check_xml2xml.sh"
if [ ! -x "$CHECK" ]; then
    echo "conformance corpus not found at $SHARED/conformance (set OXVIRT_SHARED)" >&2
    exit 1
fi

# program floor(percent) command-family (words joined by ":") input-mode
# input-mode: perturb = inputs rewritten without changing their meaning (only a real
# parser passes); plain = inputs as they are (QMP transcripts are JSON, which the
# checker's XML perturbation would break); noinput = cases without an input file
# (`domcapabilities --qemu-caps FILE ...`, `--preset NAME`), which the shared checker
# cannot run (it always appends the input path): they are run by `run_noinput` below,
# with the checker's comparison (trailing whitespace and blank lines ignored).
CASES="
genericxml2xml 80 xml-format perturb
networkxml2xml 80 xml-format perturb
storagepoolxml2xml 80 xml-format perturb
storagevolxml2xml 80 xml-format perturb
secretxml2xml 80 xml-format perturb
nwfilterxml2xml 80 xml-format perturb
interfacexml2xml 80 xml-format perturb
virnetworkportxml2xml 80 xml-format perturb
qemudomainsnapshotxml2xml 80 xml-format perturb
nodedevxml2xml 80 xml-format perturb
qemuxml2xml 60 xml-format perturb
qemuxml2argv 50 qemu:argv perturb
qemucapabilities 90 qemu:caps-from-replies plain
qemucaps2xml 90 qemu:host-capabilities perturb
domaincaps 90 domcapabilities noinput
"
# Run the input-less cases of PROGRAM; prints the checker's table row
# `PROGRAM passed failed total`.
run_noinput() {
    python3 - "$BIN" "$SHARED/conformance/corpus" "$1" <<'PYEOF'
import json, os, subprocess, sys
tool, root, prog = sys.argv[1:4]
def norm(s):
    lines = [l.rstrip() for l in s.replace('\r\n', '\n').split('\n')]
    while lines and lines[-1] == '':
        lines.pop()
    return '\n'.join(lines)
passed = failed = 0
for line in open(os.path.join(root, 'manifests', prog + '.jsonl')):
    c = json.loads(line)
    p = subprocess.run([tool] + c['cmd'].split() + c['options'], cwd=root, capture_output=True,
                       stdin=subprocess.DEVNULL, timeout=60)
    if c['expect'] == 'fail':
        ok = p.returncode != 0
    else:
        with open(os.path.join(root, c['expected']), encoding='utf-8') as f:
            ok = p.returncode == 0 and norm(p.stdout.decode('utf-8', 'replace')) == norm(f.read())
    if ok:
        passed += 1
    else:
        failed += 1
        print('FAIL %s' % c['id'])
print('%s %d %d %d' % (prog, passed, failed, passed + failed))
PYEOF
}

out=$(mktemp)
trap 'rm -f "$out"' EXIT
fail=0
while read -r prog floor family mode; do
    [ -n "$prog" ] || continue
    args=(-j "$(nproc)")
    [ "$mode" = perturb ] && args+=(--perturb)
    [ "$family" != xml-format ] && args+=(--cmd "${family//:/ }")
    if [ "$mode" = noinput ]; then
        run_noinput "$prog" >"$out" 2>&1 </dev/null || true
    else
        "$CHECK" "${args[@]}" "$BIN" "$SHARED/conformance/corpus" "$prog" >"$out" 2>&1 </dev/null || true
    fi
    # table row: PROGRAM passed failed total identity (identity-passed)
    passed="" total=""
    read -r passed total < <(awk -v p="$prog" '$1 == p {print $2, $4}' "$out") || true
    if [ -z "${passed:-}" ] || [ -z "${total:-}" ] || [ "$total" -eq 0 ]; then
        echo "conformance: could not read the result of $prog" >&2
        cat "$out" >&2
        fail=1
        continue
    fi
    pct=$((passed * 100 / total))
    echo "conformance: $prog $passed/$total ($pct%, floor $floor%, ${family//:/ }, $mode)"
    if [ "$pct" -lt "$floor" ]; then
        echo "conformance: $prog below its floor" >&2
        fail=1
    fi
done <<< "$CASES"
exit $fail
