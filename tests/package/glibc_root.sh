#!/usr/bin/env bash
# glibc_root.sh DIR [ARCH]: a root file system that holds nothing but Debian 12's glibc (libc6) and
# libgcc (libgcc-s1) of ARCH (amd64 or arm64; default this machine's), for running the packaged
# bootstrap where nothing else exists.
#
# The two .debs come from `apt-get download` (apt checks their hashes against the signed index;
# a foreign ARCH needs `dpkg --add-architecture ARCH` and apt-get update, which tests/setup.sh
# does) and are unpacked with `dpkg-deb -x` into DIR/<ARCH>_<libc6 version>_<libgcc-s1 version>/,
# with empty /proc, /tmp and /var/task mount points; DIR/current points at it. For a foreign ARCH
# the root also holds /usr/bin/qemu-<cpu>-static (Debian's qemu-user-static), which runs the
# foreign programs when chroot starts it (no binfmt registration needed). A root with the same
# versions is reused. Prints the root's path. Tests copy it (hard links) before adding a package.
set -euo pipefail
dir=${1:?usage: glibc_root.sh DIR [ARCH]}
arch=${2:-$(dpkg --print-architecture)}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

qemu=""
if [ "$arch" != "$(dpkg --print-architecture)" ]; then
    case "$arch" in
    arm64) qemu=/usr/bin/qemu-aarch64-static ;;
    amd64) qemu=/usr/bin/qemu-x86_64-static ;;
    *) echo "glibc_root.sh: unsupported architecture $arch" >&2; exit 1 ;;
    esac
    [ -x "$qemu" ] || { echo "glibc_root.sh: $qemu missing (apt-get install qemu-user-static; tests/setup.sh does)" >&2; exit 1; }
fi
uris=$(apt-get download --print-uris -qq "libc6:$arch" "libgcc-s1:$arch" 2>/dev/null) ||
    { echo "glibc_root.sh: apt-get download --print-uris libc6:$arch libgcc-s1:$arch failed (dpkg --add-architecture $arch and apt-get update? tests/setup.sh does)" >&2; exit 1; }
debs=$(echo "$uris" | awk '{print $2}' | sort)
[ "$(echo "$debs" | wc -l)" = 2 ] || { echo "glibc_root.sh: unexpected: $uris" >&2; exit 1; }
key=$(echo "$debs" | sed 's/_[a-z0-9]*\.deb$//' | tr '\n' '_' | sed 's/_$//; s/[^A-Za-z0-9.+~_-]/-/g')
key="${arch}_$key"
root="$dir/$key"

if [ ! -f "$root/.complete" ]; then
    rm -rf "$root" "$root.tmp" "$root.debs"
    mkdir -p "$root.tmp" "$root.debs"
    (cd "$root.debs" && apt-get download -qq "libc6:$arch" "libgcc-s1:$arch" 2>&1 | grep -v 'unsandboxed' >&2 || true)
    for deb in $debs; do
        [ -f "$root.debs/$deb" ] || { echo "glibc_root.sh: apt-get download did not fetch $deb" >&2; exit 1; }
        dpkg-deb -x "$root.debs/$deb" "$root.tmp"
    done
    if [ -n "$qemu" ]; then
        mkdir -p "$root.tmp/usr/bin"
        cp "$qemu" "$root.tmp$qemu"
    fi
    mkdir -p "$root.tmp/proc" "$root.tmp/tmp" "$root.tmp/var/task"
    chmod 1777 "$root.tmp/tmp"
    echo "$debs" >"$root.tmp/.complete"
    mv "$root.tmp" "$root"
    rm -rf "$root.debs"
fi
ln -sfn "$key" "$dir/current"
echo "$root"
