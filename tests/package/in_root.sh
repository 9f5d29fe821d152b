#!/bin/sh
# in_root.sh ROOT PROGRAM [ARG...]: runs PROGRAM (a path inside ROOT) chrooted into ROOT, with a
# fresh /proc mounted in a private mount namespace (it disappears with the process). Needs root
# (CI runs as root). The environment passes through untouched, and each step execs the next, so
# the process that ends up running PROGRAM is this one: same pid, signals reach it.
[ $# -ge 2 ] || { echo "usage: in_root.sh ROOT PROGRAM [ARG...]" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "in_root.sh: needs root (chroot, mount namespace); run the package tests as root" >&2; exit 2; }
exec unshare --mount --propagation private \
    /bin/sh -c 'mount -t proc proc "$0/proc" && exec chroot "$0" "$@"' "$@"
