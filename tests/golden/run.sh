#!/usr/bin/env bash
# Golden tests: oxvirsh against output captured from real virsh (libvirt 9.0).
#
#   tests/golden/run.sh --regenerate      # capture expected/ from real `virsh`
#   tests/golden/run.sh [BIN]             # run BIN (default target/debug/oxvirsh), diff
#   tests/golden/run.sh -v [BIN]          # same, and print each diff
#   tests/golden/run.sh --socket SOCK [BIN]  # same, through a daemon's socket:
#        the URIs become test+unix:///default?socket=SOCK and
#        test+unix://<abs>/node.xml?socket=SOCK (see via-daemon.sh)
#
# Every line of commands.txt runs as `$BIN -c URI [global opts] "<line>"` (one string,
# so `;` chains commands inside one process: test:/// state resets per process) on
# two URIs: tag `default` = test:///default, tag `node` = test://<abs>/node.xml.
# Each run is stored as expected/<tag>/<NNN>.out (command, exit code, stdout, stderr).
#
# Normalisation (applied identically to virsh and oxvirsh output):
#  - this directory and the scratch directory become @GOLDEN@ / @TMP@ (absolute paths
#    differ between checkouts);
#  - `CPU time:` values: libvirt's test driver derives them from the wall clock;
#  - snapshot creation times (table column and <creationTime>): wall clock;
#  - a line consisting of the machine's host name becomes @HOSTNAME@ (`hostname`
#    prints the build machine's name);
#  - lines tagged `#nondet` in commands.txt keep exit code and stderr but not stdout;
#  - the interactive banner's program name (`Welcome to virsh,`) becomes @PROG@.
#
# Lines tagged `#oxvirt-only` exercise a deliberate difference from libvirt 9.0
# (docs/differences.md): real virsh cannot produce their expected output, so
# --regenerate skips them and a check runs them without comparing (it fails only if
# oxvirsh crashes or hangs: exit code above 1). They keep their number, so adding or
# removing the tag never renumbers other lines. Their behaviour is tested in Rust.
#
# Lines starting `stdin: ` (after an optional [default]/[node] tag) are interactive
# sessions: the rest of the line, with `\n` for newlines, is piped to `$BIN -c URI`
# run without a command, as in `printf 'list\nquit\n' | virsh -c URI`.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
mode=check
verbose=0
bin=""
socket=""
while [ $# -gt 0 ]; do
    case "$1" in
        --regenerate) mode=regen ;;
        -v) verbose=1 ;;
        --socket) socket=$2; shift ;;
        *) bin=$1 ;;
    esac
    shift
done
if [ "$mode" = regen ]; then
    bin=${bin:-virsh}
    outdir=$here/expected
else
    bin=${bin:-$root/target/debug/oxvirsh}
    outdir=$root/target/golden-actual
fi
command -v "$bin" >/dev/null 2>&1 || { echo "run.sh: no such binary: $bin" >&2; exit 2; }

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export LC_ALL=C LANG=C HOME=$scratch/home XDG_CONFIG_HOME=$scratch/home/.config XDG_CACHE_HOME=$scratch/home/.cache
unset LIBVIRT_DEFAULT_URI VIRSH_DEFAULT_CONNECT_URI LIBVIRT_LOG_OUTPUTS
mkdir -p "$HOME"
host=$(hostname 2>/dev/null || echo localhost)

rm -rf "$outdir/default" "$outdir/node"
mkdir -p "$outdir/default" "$outdir/node"

normalise() {
    sed -e "s#$here#@GOLDEN@#g" -e "s#$scratch/run#@TMP@#g" \
        -e 's/^\(CPU time: *\).*/\1@NONDET@/' \
        -e 's/[0-9]\{4\}-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9] [+-][0-9]\{4\}/@TIME@/g' \
        -e 's#<creationTime>[0-9]*</creationTime>#<creationTime>@TIME@</creationTime>#' \
        -e "s/^$host\$/@HOSTNAME@/" \
        -e 's/^Welcome to [^ ]*, the virtualization interactive terminal\.$/Welcome to @PROG@, the virtualization interactive terminal./' |
        if [ -n "$socket" ]; then sed -e "s#test+unix://\([^? ]*\)?socket=$socket#test://\1#g"; else cat; fi
}

n=0
pass=0
fail=0
oxonly=0
failed=()
while IFS= read -r raw || [ -n "$raw" ]; do
    case "$raw" in ''|'#'*) continue ;; esac
    n=$((n + 1))
    line=$raw
    tags="default node"
    case "$line" in
        '[default] '*) tags=default; line=${line#\[default\] } ;;
        '[node] '*) tags=node; line=${line#\[node\] } ;;
    esac
    nondet=0
    case "$line" in *' #nondet'*) nondet=1; line=${line%% #nondet*} ;; esac
    only=0
    case "$line" in *' #oxvirt-only'*) only=1; line=${line%% #oxvirt-only*} ;; esac
    [ $only = 1 ] && [ "$mode" = regen ] && continue
    session=0
    case "$line" in 'stdin: '*) session=1; line=${line#stdin: } ;; esac
    # Leading global options (-q, -r) go before the command string.
    gopts=()
    while :; do
        case "$line" in
            '-q '*|'-r '*) gopts+=("${line%% *}"); line=${line#* } ;;
            *) break ;;
        esac
    done
    for tag in $tags; do
        if [ "$tag" = default ]; then uri=test:///default; else uri=test://$here/node.xml; fi
        if [ -n "$socket" ]; then uri="test+unix://${uri#test://}?socket=$socket"; fi
        rm -rf "$scratch/run"; mkdir -p "$scratch/run"
        cmd=${line//@GOLDEN@/$here}
        cmd=${cmd//@TMP@/$scratch/run}
        if [ $session = 1 ]; then
            printf '%b\n' "$cmd" | timeout 30 "$bin" -c "$uri" "${gopts[@]}" >"$scratch/out" 2>"$scratch/err"
            rc=${PIPESTATUS[1]}
        else
            timeout 30 "$bin" -c "$uri" "${gopts[@]}" "$cmd" >"$scratch/out" 2>"$scratch/err" </dev/null
            rc=$?
        fi
        f=$(printf '%s/%s/%03d.out' "$outdir" "$tag" "$n")
        {
            printf 'command: %s\n' "$raw"
            printf 'exit: %d\n' "$rc"
            printf -- '--- stdout\n'
            if [ $nondet = 1 ]; then echo '@NONDET@'; else normalise <"$scratch/out"; fi
            printf -- '--- stderr\n'
            normalise <"$scratch/err"
        } >"$f"
        if [ "$mode" = check ] && [ $only = 1 ]; then
            oxonly=$((oxonly + 1))
            if [ $rc -gt 1 ]; then
                fail=$((fail + 1))
                failed+=("$tag/$(printf %03d $n): exit $rc: $raw")
            fi
        elif [ "$mode" = check ]; then
            exp=$(printf '%s/expected/%s/%03d.out' "$here" "$tag" "$n")
            if diff -q "$exp" "$f" >/dev/null 2>&1; then
                pass=$((pass + 1))
            else
                fail=$((fail + 1))
                failed+=("$tag/$(printf %03d $n): $raw")
                [ $verbose = 1 ] && diff -u "$exp" "$f"
            fi
        fi
    done
done <"$here/commands.txt"

if [ "$mode" = regen ]; then
    echo "regenerated $n command lines into $outdir"
    exit 0
fi
for f in "${failed[@]}"; do echo "FAIL $f"; done
echo "golden: $pass passed, $fail failed, $oxonly oxvirt-only runs not compared (actual output in $outdir)"
[ $fail = 0 ]
