#!/bin/sh
# verify.sh [TASK_DIR]: checks an unzipped package where it is going to run. docker/Dockerfile runs
# it inside public.ecr.aws/lambda/provided:al2023 on /var/task; the package tests run it natively
# on the unzipped zip. POSIX sh and its builtins, env and the dynamic loader only: that image has
# no find, and grep is not relied on either.
#   - bootstrap is there and executable;
#   - the dynamic loader resolves every library it needs, and each one is glibc's or libgcc's;
#   - `env -i bootstrap --version` runs and names smrotate.
# Prints the loader's list and the version line; exit status 1 with a message otherwise.
set -eu
task=${1:-/var/task}
fail() {
    echo "verify.sh: $*" >&2
    exit 1
}
[ -f "$task/bootstrap" ] && [ -x "$task/bootstrap" ] || fail "$task/bootstrap is missing or not executable"
libs=$(LD_TRACE_LOADED_OBJECTS=1 "$task/bootstrap" 2>&1) || fail "the dynamic loader failed: $libs"
echo "$libs"
while IFS= read -r line; do
    case $line in
    *"not found"*) fail "missing library: $line" ;;
    *linux-vdso.so.1* | *linux-gate.so.1* | *ld-linux-x86-64.so.2* | *ld-linux-aarch64.so.1*) ;;
    *libc.so.6* | *libm.so.6* | *libmvec.so.1* | *libpthread.so.0* | *libdl.so.2* | *librt.so.1*) ;;
    *libresolv.so.2* | *libutil.so.1* | *libanl.so.1* | *libgcc_s.so.1*) ;;
    "") ;;
    *) fail "a library that is neither glibc's nor libgcc's: $line" ;;
    esac
done <<LIBS
$libs
LIBS
version=$(env -i "$task/bootstrap" --version 2>&1) || fail "env -i bootstrap --version failed: $version"
case $version in
smrotate*) ;;
*) fail "unexpected --version output: $version" ;;
esac
echo "$version"
