#!/usr/bin/env bash
# glibc_root.sh DIR: a root file system that holds nothing but Debian 12's glibc (libc6) and
# libgcc (libgcc-s1), for running the packaged bootstrap where nothing else exists.
#
# The two .debs come from `apt-get download` (apt checks their hashes against the signed index)
# and are unpacked with `dpkg-deb -x` into DIR/<libc6 version>_<libgcc-s1 version>/, with empty
# /proc, /tmp and /var/task mount points; DIR/current points at it. A root with the same
# versions is reused. Prints the root's path. Tests copy it (hard links) before adding a package.
set -euo pipefail
dir=${1:?usage: glibc_root.sh DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

uris=$(apt-get download --print-uris -qq libc6 libgcc-s1 2>/dev/null) ||
    { echo "glibc_root.sh: apt-get download --print-uris libc6 libgcc-s1 failed" >&2; exit 1; }
debs=$(echo "$uris" | awk '{print $2}' | sort)
[ "$(echo "$debs" | wc -l)" = 2 ] || { echo "glibc_root.sh: unexpected: $uris" >&2; exit 1; }
key=$(echo "$debs" | sed 's/_[a-z0-9]*\.deb$//' | tr '\n' '_' | sed 's/_$//; s/[^A-Za-z0-9.+~_-]/-/g')
root="$dir/$key"

if [ ! -f "$root/.complete" ]; then
    rm -rf "$root" "$root.tmp" "$root.debs"
    mkdir -p "$root.tmp" "$root.debs"
    (cd "$root.debs" && apt-get download -qq libc6 libgcc-s1 2>&1 | grep -v 'unsandboxed' >&2 || true)
    for deb in $debs; do
        [ -f "$root.debs/$deb" ] || { echo "glibc_root.sh: apt-get download did not fetch $deb" >&2; exit 1; }
        dpkg-deb -x "$root.debs/$deb" "$root.tmp"
    done
    mkdir -p "$root.tmp/proc" "$root.tmp/tmp" "$root.tmp/var/task"
    chmod 1777 "$root.tmp/tmp"
    echo "$debs" >"$root.tmp/.complete"
    mv "$root.tmp" "$root"
    rm -rf "$root.debs"
fi
ln -sfn "$key" "$dir/current"
echo "$root"
