#!/bin/sh
# in_root.sh ROOT PROGRAM [ARG...]: runs PROGRAM (a path inside ROOT) chrooted into ROOT, with a
# fresh /proc mounted in a private mount namespace (it disappears with the process). Needs root
# (CI runs as root). The environment passes through untouched, and each step execs the next, so
# the process that ends up running PROGRAM is this one: same pid, signals reach it (but see the
# fallback below).
[ $# -ge 2 ] || { echo "usage: in_root.sh ROOT PROGRAM [ARG...]" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "in_root.sh: needs root (chroot, mount namespace); run the package tests as root" >&2; exit 2; }
if unshare --mount --propagation private true 2>/dev/null; then
    exec unshare --mount --propagation private \
        /bin/sh -c 'mount -t proc proc "$0/proc" && exec chroot "$0" "$@"' "$@"
fi

# Inside a chroot whose "/" is no mount point (tests/fresh_debian.sh, or a builder's chroot), no
# mount namespace can be made private: a /proc mounted in one would reach the outside namespace
# through shared propagation and outlive the process. So /proc is mounted here, in this namespace,
# and unmounted when PROGRAM ends; this shell stays in between and passes signals on.
root=$1
shift
mount -t proc proc "$root/proc" || exit 1
exec 3<&0
chroot "$root" "$@" <&3 3<&- &
child=$!
exec 3<&-
trap 'kill -TERM $child 2>/dev/null' TERM INT HUP
while :; do
    wait $child
    rc=$?
    kill -0 $child 2>/dev/null || break
done
umount -l "$root/proc"
exit $rc
