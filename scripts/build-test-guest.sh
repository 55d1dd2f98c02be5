#!/usr/bin/env bash
# Builds the tiny test guest of the QEMU-driver tests from Debian packages only:
# the Debian cloud kernel plus a busybox-static initramfs running qemu-guest-agent.
# See docs/test-guest.md for what the guest does.
#
#   scripts/build-test-guest.sh        build (or reuse) the guest, print its paths
#
# Output directory: $OXVIRT_GUEST_DIR, default target/test-guest. Everything downloaded
# is cached there; a run whose inputs (package versions, this script, tests/guest/) are
# unchanged only prints the paths. Nothing is installed on the host: the packages are
# fetched with `apt-get download` and unpacked with `dpkg-deb -x`. `apt-get update` runs
# only when the package lists do not know a package.
#
# Prints, on stdout, one line each:
#   KERNEL=<dir>/vmlinux    PVH ELF kernel, the fastest under TCG (QEMU -kernel)
#   BZIMAGE=<dir>/vmlinuz   the package's bzImage
#   INITRD=<dir>/initrd.img gzip'ed newc cpio
#   CMDLINE=<recommended kernel command line>
#
# Environment: OXVIRT_GUEST_DIR (output), WITH_QGA=0 (leave out qemu-guest-agent),
# OXVIRT_GUEST_FORCE=1 (rebuild even when the inputs are unchanged).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SRC=$ROOT/tests/guest
OUT=${OXVIRT_GUEST_DIR:-$ROOT/target/test-guest}
WITH_QGA=${WITH_QGA:-1}
KERNEL_META=linux-image-cloud-amd64
CMDLINE="console=ttyS0 quiet cryptomgr.notests"

# Modules the guest loads, in order. load-early is loaded before acpid starts (the power
# button must work as early as possible); their dependencies are added ahead of each.
EARLY_MODULES="evdev button"
MODULES="virtio virtio_ring virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci
    virtio_blk virtio_net virtio_console virtio_balloon virtio_rng virtio_input
    virtio_scsi sd_mod sr_mod
    vsock vmw_vsock_virtio_transport_common vmw_vsock_virtio_transport
    pvpanic pvpanic_pci pvpanic_mmio qemu_fw_cfg"

log() { printf 'build-test-guest: %s\n' "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

for tool in apt-get apt-cache dpkg-deb gzip flock sha256sum; do
    command -v "$tool" >/dev/null || die "$tool not found (this script needs a Debian host)"
done

mkdir -p "$OUT/debs" "$OUT/x"
exec 9>"$OUT/.lock"
flock 9

# --- package resolution -------------------------------------------------------------

updated=0
apt_update() {
    [ "$updated" = 0 ] || return 1
    log "$1: running apt-get update"
    apt-get update -qq >&2 || die "apt-get update failed"
    updated=1
}

# resolve: DEB[pkg] = where the candidate .deb of each of PKGS is kept (named as
# `apt-get download` names it), KPKG = the kernel package behind $KERNEL_META. One
# apt-cache call (each costs ~0.6 s). Without package lists apt-cache still describes
# installed packages, but without a Filename: those count as unknown, and the lists are
# updated once.
declare -A DEB
KPKG=
resolve_once() {
    local out pkg ver arch deps file
    DEB=()
    KPKG=
    out=$(apt-cache show --no-all-versions "$KERNEL_META" "${PKGS[@]}" 2>/dev/null) || return 1
    while IFS=$'\t' read -r pkg ver arch file deps; do
        [ -n "$file" ] || continue
        DEB[$pkg]="$OUT/debs/${pkg}_${ver//:/%3a}_${arch}.deb"
        if [ "$pkg" = "$KERNEL_META" ]; then
            # Depends: linux-image-6.1.0-NN-cloud-amd64 (= VERSION): same version and arch
            KPKG=$(sed -n 's/^ *\(linux-image-[^ ,]*\).*/\1/p' <<<"$deps")
            [ -n "$KPKG" ] && DEB[$KPKG]="$OUT/debs/${KPKG}_${ver//:/%3a}_${arch}.deb"
        fi
    done < <(awk -F': ' '
        /^Package: / { p = $2 } /^Version: / { v = $2 } /^Architecture: / { a = $2 }
        /^Filename: / { f = $2 } /^Depends: / { d = $2 }
        /^$/ { if (p != "") print p "\t" v "\t" a "\t" f "\t" d; p = v = a = f = d = "" }
        END { if (p != "") print p "\t" v "\t" a "\t" f "\t" d }' <<<"$out")
    [ -n "$KPKG" ] || return 1
    for pkg in "${PKGS[@]}"; do
        [ -n "${DEB[$pkg]:-}" ] || return 1
    done
}
resolve() {
    while ! resolve_once; do
        apt_update "the package lists do not offer all of $KERNEL_META ${PKGS[*]}" ||
            die "the package lists do not offer all of $KERNEL_META ${PKGS[*]}"
    done
}

PKGS=(busybox-static)
if [ "$WITH_QGA" = 1 ]; then
    # qemu-ga and the libraries it links (its Depends plus glib's pcre2); ld.so picks
    # the files actually needed below.
    PKGS+=(qemu-guest-agent libc6 libglib2.0-0 libnuma1 libudev1 liburing2 libpcre2-8-0)
fi
command -v lz4 >/dev/null || PKGS+=(lz4)
resolve
PKGS=("$KPKG" "${PKGS[@]}")

# --- the cache key ------------------------------------------------------------------

key=$({
    echo "with_qga=$WITH_QGA"
    for p in "${PKGS[@]}"; do basename "${DEB[$p]}"; done
    cat "${BASH_SOURCE[0]}"
    for f in "$SRC"/*; do
        echo "$f"
        cat "$f"
    done
} | sha256sum | cut -d' ' -f1)

print_paths() {
    echo "KERNEL=$OUT/vmlinux"
    echo "BZIMAGE=$OUT/vmlinuz"
    echo "INITRD=$OUT/initrd.img"
    echo "CMDLINE=$CMDLINE"
}

if [ "${OXVIRT_GUEST_FORCE:-0}" != 1 ] && [ -f "$OUT/stamp" ] &&
    [ "$(cat "$OUT/stamp")" = "$key" ] &&
    [ -s "$OUT/vmlinux" ] && [ -s "$OUT/vmlinuz" ] && [ -s "$OUT/initrd.img" ]; then
    log "up to date in $OUT"
    print_paths
    exit 0
fi
rm -f "$OUT/stamp"

# --- download and unpack ------------------------------------------------------------

missing=()
for p in "${PKGS[@]}"; do [ -s "${DEB[$p]}" ] || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
    log "downloading ${missing[*]}"
    dl=$(mktemp -d "$OUT/debs/.dl.XXXXXX")
    download() { (cd "$dl" && apt-get -q -o APT::Sandbox::User=root download "$@" >&2); }
    if ! download "${missing[@]}"; then
        apt_update "download failed" || die "apt-get download ${missing[*]} failed"
        download "${missing[@]}" || die "apt-get download ${missing[*]} failed"
        PKGS=("${PKGS[@]:1}")
        resolve
        PKGS=("$KPKG" "${PKGS[@]}")
    fi
    mv "$dl"/*.deb "$OUT/debs/"
    rmdir "$dl"
fi

# unpack PKG: extract its .deb once into $OUT/x/<deb name>; prints the directory.
unpack() {
    local deb=${DEB[$1]} dir
    [ -s "$deb" ] || die "download of $1 did not produce $(basename "$deb")"
    dir=$OUT/x/$(basename "$deb" .deb)
    if [ ! -e "$dir/.done" ]; then
        rm -rf "$dir"
        dpkg-deb -x "$deb" "$dir"
        touch "$dir/.done"
    fi
    echo "$dir"
}

KDIR=$(unpack "$KPKG")
BBDIR=$(unpack busybox-static)
BB=$BBDIR/bin/busybox
[ -x "$BB" ] || die "busybox-static has no /bin/busybox"
LZ4=lz4
if ! command -v lz4 >/dev/null; then
    LZ4=$(unpack lz4)/usr/bin/lz4
fi

# --- kernel: bzImage and the PVH vmlinux inside it ----------------------------------

vmlinuz=$(echo "$KDIR"/boot/vmlinuz-*)
[ -f "$vmlinuz" ] || die "no /boot/vmlinuz-* in $KPKG"
KVER=${vmlinuz##*/vmlinuz-}
MODDIR=$KDIR/lib/modules/$KVER
cp "$vmlinuz" "$OUT/vmlinuz.tmp"
mv "$OUT/vmlinuz.tmp" "$OUT/vmlinuz"

# The cloud kernel's payload is LZ4 (legacy frame, magic 02 21 4c 18). Try each place
# the magic occurs until one decompresses to an ELF file (like the kernel's
# scripts/extract-vmlinux). QEMU boots that ELF through its PVH note.
rm -f "$OUT/vmlinux.tmp"
while IFS=: read -r off _; do
    tail -c +"$((off + 1))" "$vmlinuz" | "$LZ4" -dc >"$OUT/vmlinux.tmp" 2>/dev/null || true
    if [ "$(head -c 4 "$OUT/vmlinux.tmp" | od -An -c | tr -d ' ')" = '177ELF' ]; then
        break
    fi
    rm -f "$OUT/vmlinux.tmp"
done < <(LC_ALL=C grep -abo $'\x02!L\x18' "$vmlinuz" || true)
[ -s "$OUT/vmlinux.tmp" ] || die "could not find the LZ4 kernel payload in $vmlinuz"
mv "$OUT/vmlinux.tmp" "$OUT/vmlinux"

# --- initramfs ----------------------------------------------------------------------

STAGE=$OUT/root
rm -rf "$STAGE"
mkdir -p "$STAGE"/{bin,dev,etc/acpi/PWRF,lib/modules,lib64,proc,run,sys,tmp,var,root}
ln -s bin "$STAGE/sbin"
mkdir -p "$STAGE/usr"
ln -s ../bin "$STAGE/usr/bin"
ln -s ../bin "$STAGE/usr/sbin"
ln -s ../run "$STAGE/var/run"
ln -s ../tmp "$STAGE/var/tmp"

cp "$BB" "$STAGE/bin/busybox"
for applet in $("$BB" --list); do
    case $applet in busybox | init | linuxrc) continue ;; esac
    ln -sf busybox "$STAGE/bin/$applet"
done
install -m 0755 "$SRC/init" "$STAGE/init"
install -m 0755 "$SRC/hotplug" "$STAGE/bin/hotplug"
install -m 0755 "$SRC/shutdown" "$STAGE/bin/shutdown"
install -m 0755 "$SRC/udhcpc-script" "$STAGE/bin/udhcpc-script"
install -m 0755 "$SRC/power-button" "$STAGE/etc/acpi/PWRF/00000080"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$STAGE/etc/passwd"
printf 'root:x:0:\n' >"$STAGE/etc/group"
printf 'testguest\n' >"$STAGE/etc/hostname"
printf 'PS1="testguest:\\w# "\nexport PS1\n' >"$STAGE/etc/profile"
cat >"$STAGE/etc/os-release" <<'EOF'
NAME="tiny-test-guest"
ID=tiny-test-guest
PRETTY_NAME="oxvirt tiny test guest"
VERSION_ID="1"
EOF

# Modules: the .deb has no modules.dep, so read each module's `depends=` from its
# modinfo section and resolve depth-first. Names use '_' where file names may use '-'.
declare -A KO
while IFS= read -r f; do
    n=${f##*/}
    n=${n%.ko}
    KO[${n//-/_}]=$f
done < <(find "$MODDIR/kernel" -name '*.ko')
[ "${#KO[@]}" -gt 0 ] || die "no modules in $MODDIR (compressed modules are not handled)"

declare -A LOADED
add_module() {
    local name=${1//-/_} f deps d
    [ -n "${LOADED[$name]:-}" ] && return
    f=${KO[$name]:-}
    [ -n "$f" ] || die "module $name not in $KPKG"
    LOADED[$name]=1
    deps=$(tr '\0' '\n' <"$f" | sed -n 's/^depends=//p' | head -n 1)
    for d in ${deps//,/ }; do add_module "$d"; done
    cp "$f" "$STAGE/lib/modules/$name.ko"
    echo "$name" >>"$ORDER"
}
ORDER=$STAGE/lib/modules/load-early
: >"$ORDER"
for m in $EARLY_MODULES; do add_module "$m"; done
ORDER=$STAGE/lib/modules/load-order
: >"$ORDER"
for m in $MODULES; do add_module "$m"; done

if [ "$WITH_QGA" = 1 ]; then
    QGA=$(unpack qemu-guest-agent)/usr/sbin/qemu-ga
    [ -x "$QGA" ] || die "qemu-guest-agent has no /usr/sbin/qemu-ga"
    libpath=()
    LDSO=
    for p in libc6 libglib2.0-0 libnuma1 libudev1 liburing2 libpcre2-8-0; do
        d=$(unpack "$p")
        for l in "$d"/lib/x86_64-linux-gnu "$d"/usr/lib/x86_64-linux-gnu; do
            [ -d "$l" ] && libpath+=("$l")
            [ -z "$LDSO" ] && [ -f "$l/ld-linux-x86-64.so.2" ] && LDSO=$l/ld-linux-x86-64.so.2
        done
    done
    [ -n "$LDSO" ] || die "libc6 has no ld-linux-x86-64.so.2"
    lp=$(
        IFS=:
        echo "${libpath[*]}"
    )
    listing=$("$LDSO" --library-path "$lp" --list "$QGA") || die "ld.so --list qemu-ga failed"
    if grep -q 'not found' <<<"$listing"; then
        die "qemu-ga needs libraries no package here provides: $(grep 'not found' <<<"$listing" | tr -s ' \t\n' ' ')"
    fi
    mkdir -p "$STAGE/lib/x86_64-linux-gnu"
    while read -r lib; do
        cp -L "$lib" "$STAGE/lib/x86_64-linux-gnu/"
    done < <(sed -n 's/.*=> \(\/[^ ]*\) .*/\1/p' <<<"$listing")
    cp -L "$LDSO" "$STAGE/lib64/ld-linux-x86-64.so.2"
    cp "$QGA" "$STAGE/bin/qemu-ga"
    if [ "$(id -u)" = 0 ]; then
        chroot "$STAGE" /bin/qemu-ga --version >/dev/null ||
            die "qemu-ga does not run inside the initramfs"
    fi
fi

(cd "$STAGE" && find . -mindepth 1 | LC_ALL=C sort | "$BB" cpio -o -H newc -R 0:0 2>/dev/null) |
    gzip -6n >"$OUT/initrd.img.tmp"
mv "$OUT/initrd.img.tmp" "$OUT/initrd.img"

echo "$key" >"$OUT/stamp"
log "built $KVER guest in $OUT ($(stat -c %s "$OUT/initrd.img") B initramfs, $(wc -l <"$STAGE/lib/modules/load-order") + $(wc -l <"$STAGE/lib/modules/load-early") modules)"
print_paths
