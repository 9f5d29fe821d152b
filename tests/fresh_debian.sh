#!/usr/bin/env bash
# Runs README's two first commands as a new user would: in a minimal Debian 12 root file system
# that holds nothing but git and ca-certificates, on a fresh clone of this repository's HEAD.
#
#   tests/fresh_debian.sh DIR            # debootstrap DIR if it is empty, then demo.sh, run.sh
#   tests/fresh_debian.sh DIR demo       # only tests/demo.sh
#   tests/fresh_debian.sh DIR run        # only tests/run.sh (QUICK=1 and JOBS pass through)
#
# Needs root, debootstrap (apt-get install debootstrap) and Debian's archive (DEBIAN_MIRROR, default
# http://deb.debian.org/debian, with its debian-security twin). /proc, /sys, /dev
# and /dev/pts are bind-mounted for the run and unmounted on exit (and at the start, when a killed
# run left them: never `rm -rf` a DIR while they are there, it would delete the host's /dev); the
# clone is /root/smrotate inside DIR (replaced on each run). Use a new DIR to be sure nothing from
# an earlier run remains.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:?usage: tests/fresh_debian.sh DIR [demo|run|both]}
what=${2:-both}
[ "$(id -u)" -eq 0 ] || { echo "fresh_debian.sh: needs root (debootstrap, mount, chroot)" >&2; exit 2; }

mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
if [ ! -x "$dir/bin/bash" ]; then
    command -v debootstrap >/dev/null || { echo "fresh_debian.sh: apt-get install debootstrap" >&2; exit 2; }
    mkdir -p "$dir"
    debootstrap --variant=minbase --include=git,ca-certificates bookworm "$dir" "$mirror"
    # debootstrap writes the release suite only; an installed Debian 12 also has its updates and
    # security suites (the tests rely on fixed libraries, e.g. libmariadb3's public-key handling).
    printf 'deb %s bookworm main\ndeb %s bookworm-updates main\ndeb %s bookworm-security main\n' \
        "$mirror" "$mirror" "${mirror%/debian}/debian-security" >"$dir/etc/apt/sources.list"
fi
cp /etc/resolv.conf "$dir/etc/resolv.conf" 2>/dev/null || true
# The machine's network trust, not the project's: a host behind a TLS-inspecting egress proxy
# trusts its CA through /usr/local/share/ca-certificates, and so must a new machine on it.
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    mkdir -p "$dir/usr/local/share/ca-certificates"
    cp /usr/local/share/ca-certificates/*.crt "$dir/usr/local/share/ca-certificates/"
    chroot "$dir" update-ca-certificates >/dev/null 2>&1 || true
fi

# A run killed without its EXIT trap leaves its bind mounts behind, and `rm -rf DIR` would then
# delete the host's /dev through them: take any that remain off first.
awk -v d="$(realpath "$dir")/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r |
    while read -r m; do umount -l "$m"; done

mounted=()
cleanup() {
    for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[$i]}" || true; done
}
trap cleanup EXIT
for m in proc sys dev dev/pts; do
    mkdir -p "$dir/$m"
    mount --bind "/$m" "$dir/$m"
    mounted+=("$dir/$m")
done

rm -rf "$dir/root/smrotate"
git clone -q "$root" "$dir/root/smrotate"
run_in_root() {
    chroot "$dir" /usr/bin/env -i HOME=/root TERM=dumb PATH=/usr/sbin:/usr/bin:/sbin:/bin \
        QUICK="${QUICK:-0}" ${JOBS:+JOBS=$JOBS} bash -c "cd /root/smrotate && $1"
}
case $what in
demo) run_in_root tests/demo.sh ;;
run) run_in_root tests/run.sh ;;
both) run_in_root tests/demo.sh && run_in_root tests/run.sh ;;
*) echo "fresh_debian.sh: unknown step $what (demo, run or both)" >&2; exit 2 ;;
esac
