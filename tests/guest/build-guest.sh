#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds the e2e test guest: OUTDIR/vmlinuz (Debian's kernel as shipped), OUTDIR/vmlinux
# (the same kernel uncompressed: boots faster), OUTDIR/initrd.img, and OUTDIR/vbnet (the
# traffic tool the guest has, for the host side of tests).
#
#   tests/guest/build-guest.sh OUTDIR
#
# Cached: does nothing when OUTDIR/stamp matches the inputs (this script, init,
# vbnet.c, the kernel package and busybox-static versions). Safe to run from
# several tests at once (flock on OUTDIR/.lock). Needs root only when a package
# is missing. See README.md.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
mkdir -p "$1"
out=$(cd "$1" && pwd)

# Kernel modules for the guest; their dependencies are added automatically (in
# load order). virtio-net (+ e1000 / rtl8139 for <model type=...>), 8021q for
# VLANs, button + evdev so busybox acpid sees the ACPI power button.
modules="virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci failover net_failover
         virtio_net e1000 8139cp 8139too 8021q button evdev"
modules=$(echo $modules)

log() { echo "build-guest: $*" >&2; }
die() { echo "build-guest: error: $*" >&2; exit 1; }

exec 9>"$out/.lock"
flock 9

# Fast path: nothing changed since the last complete build (same inputs, same
# apt lists, same installed packages) — skip the apt-cache queries (~1 s).
quick="$(sha256sum "$here/build-guest.sh" "$here/init" "$here/vbnet.c" | cut -c1-64 | tr '\n' ' ')
$(stat -c '%n %Y' /var/lib/apt/lists /var/lib/dpkg/status 2>/dev/null | tr '\n' ' ')"
if [ -f "$out/stamp" ] && [ "$(cat "$out/stamp.quick" 2>/dev/null)" = "$quick" ] &&
   [ -f "$out/vmlinuz" ] && [ -f "$out/vmlinux" ] && [ -f "$out/initrd.img" ] && [ -x "$out/vbnet" ]; then
        exit 0
fi

apt_updated=
apt_update() {
        [ -z "$apt_updated" ] || return 0
        log "running apt-get update"
        apt-get update -qq >&2 || die "apt-get update failed"
        apt_updated=1
}

# The kernel package linux-image-amd64 depends on, and its candidate version.
resolve_kernel() {
        kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
               sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n1)
        kver=
        [ -z "$kpkg" ] || kver=$(apt-cache policy "$kpkg" | sed -n 's/^ *Candidate: //p')
        [ -n "$kpkg" ] && [ -n "$kver" ] && [ "$kver" != "(none)" ]
}
if ! resolve_kernel; then
        apt_update
        resolve_kernel || die "cannot resolve the kernel package linux-image-amd64 depends on"
fi

installed_version() { dpkg-query -W -f='${Status} ${Version}' "$1" 2>/dev/null |
                      sed -n 's/^install ok installed //p'; }

ensure_package() {
        [ -z "$(installed_version "$1")" ] || return 0
        [ "$(id -u)" = 0 ] || die "package $1 is not installed (run as root to install it)"
        log "package $1 is missing: running apt-get install -y $1"
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -qq --no-install-recommends "$1" >&2 ||
                { apt_update; apt-get install -y -qq --no-install-recommends "$1" >&2; } ||
                die "cannot install $1"
}
# busybox must be static (the initramfs has no libc): the busybox-static package.
# xz-utils: the kernel payload (busybox's xz lacks the x86 BCJ filter it uses).
ensure_package busybox-static
ensure_package xz-utils
bbver=$(installed_version busybox-static)
busybox=$(command -v busybox || true)
case $([ -n "$busybox" ] && LC_ALL=C ldd "$busybox" 2>&1) in
*"not a dynamic executable"* | *"statically linked"*) ;;
*) die "$busybox is not a static binary (is busybox-static installed?)" ;;
esac
command -v gzip >/dev/null || die "gzip is missing"
cc=${CC:-cc}
command -v "$cc" >/dev/null || die "no C compiler ($cc) for vbnet.c (install gcc and libc6-dev)"

inputs=$(sha256sum "$here/build-guest.sh" "$here/init" "$here/vbnet.c" | cut -c1-64 | tr '\n' ' ')
make_stamp() { printf 'build-guest %s\nkernel %s %s\nbusybox-static %s\n' "$inputs" "$kpkg" "$kver" "$bbver"; }
stamp=$(make_stamp)
if [ -f "$out/vmlinuz" ] && [ -f "$out/vmlinux" ] && [ -f "$out/initrd.img" ] && [ -x "$out/vbnet" ] &&
   [ "$(cat "$out/stamp" 2>/dev/null)" = "$stamp" ]; then
        echo "$quick" >"$out/stamp.quick"
        exit 0
fi
rm -f "$out/stamp" "$out/stamp.quick"

tmp=$(mktemp -d "$out/tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# Kernel and modules, kept in OUTDIR/kernel (an init change then does not refetch them).
kdir=$out/kernel
if [ "$(cat "$kdir/version" 2>/dev/null)" != "$kpkg $kver $modules" ] ||
   [ ! -f "$out/vmlinuz" ] || [ ! -f "$out/vmlinux" ]; then
        log "fetching $kpkg $kver"
        mkdir -p "$tmp/deb"
        download() { (cd "$tmp/deb" && apt-get download -q -o APT::Sandbox::User=root "$kpkg=$kver" >&2); }
        if ! download; then
                apt_update
                resolve_kernel || die "cannot resolve the kernel package"
                download || die "apt-get download $kpkg=$kver failed"
        fi
        dpkg-deb -x "$tmp"/deb/*.deb "$tmp/root"
        rm -rf "$tmp/deb"
        moddir=$(echo "$tmp"/root/lib/modules/*)
        [ -d "$moddir" ] || die "no lib/modules in $kpkg"
        rm -rf "$kdir" "$out/vmlinuz" "$out/vmlinux" && mkdir -p "$kdir/modules"
        cp "$tmp"/root/boot/vmlinuz-* "$out/vmlinuz"
        # The same kernel uncompressed: an ELF with a PVH entry note (CONFIG_PVH), which
        # QEMU's -kernel boots directly, skipping the firmware's bzImage loader and
        # the XZ decompression — about 3.5 s less per boot under TCG.
        grep -q '^CONFIG_PVH=y' "$tmp"/root/boot/config-* || die "$kpkg has no CONFIG_PVH"
        off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$out/vmlinuz" | head -n1 | cut -d: -f1)
        [ -n "$off" ] || die "no XZ payload in $out/vmlinuz"
        tail -c +$((off + 1)) "$out/vmlinuz" | xz -dcq >"$tmp/vmlinux" 2>/dev/null || true
        [ "$(head -c 4 "$tmp/vmlinux" | od -An -c | tr -d ' ')" = '177ELF' ] ||
                die "cannot extract vmlinux from $out/vmlinuz"
        mv "$tmp/vmlinux" "$out/vmlinux"

        order=
        # Adds module $1 after its dependencies, uncompressed, to $kdir/modules.
        add_module() {
                local name=$1 f dep deps
                case " $order " in *" $name "*) return 0 ;; esac
                f=$(find "$moddir" \( -name "$name.ko*" -o -name "$(echo "$name" | tr _ -).ko*" \) \
                        -print -quit)
                [ -n "$f" ] || die "module $name not found in $kpkg"
                case $f in
                *.ko) cp "$f" "$kdir/modules/$name.ko" ;;
                *.ko.xz) xz -dc "$f" >"$kdir/modules/$name.ko" ;;
                *.ko.gz) "$busybox" zcat "$f" >"$kdir/modules/$name.ko" ;;
                *) die "unknown module format: $f" ;;
                esac
                deps=$(grep -a -o 'depends=[A-Za-z0-9_,-]*' "$kdir/modules/$name.ko" | head -n1)
                for dep in $(echo "${deps#depends=}" | tr , ' '); do
                        add_module "$dep"
                done
                order="$order $name"
        }
        for m in $modules; do add_module "$m"; done
        echo "${order# }" >"$kdir/modules/order"
        echo "$kpkg $kver $modules" >"$kdir/version"
        rm -rf "$tmp/root"
fi

log "building initramfs ($kpkg $kver, busybox-static $bbver)"
"$cc" -Os -s -static -Wall -o "$tmp/vbnet" "$here/vbnet.c" ||
        die "cannot build vbnet.c statically (libc6-dev?)"

rd=$tmp/initrd
mkdir -p "$rd"/{bin,dev,proc,sys,tmp,etc/acpi/PWRF,lib/modules}
cp "$busybox" "$rd/bin/busybox"
for applet in $("$busybox" --list); do
        [ "$applet" = busybox ] || ln -s busybox "$rd/bin/$applet"
done
cp "$tmp/vbnet" "$rd/bin/vbnet"
install -m 0755 "$here/init" "$rd/init"
cp "$kdir"/modules/* "$rd/lib/modules/"
# busybox acpid runs /etc/acpi/PWRF/00000080 on the power button (KEY_POWER).
cat >"$rd/etc/acpi/PWRF/00000080" <<'EOF'
#!/bin/sh
echo "VB-RESULT power-button" >/dev/console
echo "VB-DONE" >/dev/console
sync
poweroff -f
EOF
chmod 0755 "$rd/etc/acpi/PWRF/00000080"

(cd "$rd" && find . -mindepth 1 | LC_ALL=C sort | "$busybox" cpio -o -H newc -R 0:0 2>/dev/null) |
        gzip -9n >"$tmp/initrd.img"

mv -f "$tmp/initrd.img" "$out/initrd.img"
mv -f "$tmp/vbnet" "$out/vbnet"
make_stamp >"$out/stamp"   # $kver may have changed after an apt-get update
echo "$quick" >"$out/stamp.quick"
log "done: $out/vmlinuz $out/vmlinux $out/initrd.img"
