#!/usr/bin/env bash
# Installs what smrotate needs to build and test on Debian 12, from Debian's archive, and prepares
# the static package builds: cmake/deps.sh prepare arm64 enables Debian 13's deb-src (derived
# from this machine's own apt sources) and installs the recipe's tools (dpkg-dev, compilers) and
# Debian's arm64 cross toolchain. The arm64 package tests need qemu-user-static and the arm64
# packages libc6 and libgcc-s1 (tests/package/glibc_root.sh downloads them), so arm64 is added
# as a foreign dpkg architecture. debootstrap is for the MySQL fixture, which builds its own root
# from Debian's unstable suite on first use (tests/scripts/mysql.sh). Idempotent: apt runs only
# when a package is missing, the architecture or the deb-src entries are new. Needs root (or sudo).
set -euo pipefail

packages=(
    build-essential cmake pkg-config clang-format dpkg-dev
    libcurl4-openssl-dev libssl-dev libcjson-dev libpq-dev libmariadb-dev libexpat1-dev
    postgresql postgresql-client mariadb-server mariadb-client
    debootstrap
    python3 openssl zip unzip binutils procps
    qemu-user-static
    nodejs npm
    clang libclang-rt-dev valgrind
)

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done
# The machine image may carry its own Node.js; Debian's is only needed when there is none.
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
    filtered=()
    for p in "${missing[@]}"; do
        [[ $p == nodejs || $p == npm ]] || filtered+=("$p")
    done
    missing=("${filtered[@]}")
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
root=$(cd "$(dirname "$0")/.." && pwd)
update=0
if [ "$(dpkg --print-architecture)" != arm64 ] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
    echo "setup: adding arm64 as a foreign architecture (the arm64 package tests' root)"
    $sudo dpkg --add-architecture arm64
    update=1
fi
# The development build links Debian's libmariadb3. Before 10.11.19 (a bookworm-security update)
# it can ignore SMROTATE_MYSQL_SERVER_PUBLIC_KEY and take the key the server sends, which the
# tests rightly refuse: a machine without Debian's security updates fails here, saying so.
check_libmariadb() {
    local v
    v=$(dpkg-query -W -f='${Version}' libmariadb3 2>/dev/null || true)
    if ! dpkg --compare-versions "$v" ge 1:10.11.19; then
        echo "setup: libmariadb3 $v is older than 1:10.11.19; enable bookworm-security in apt's" \
            "sources and run apt-get update && apt-get install --only-upgrade libmariadb3" >&2
        exit 1
    fi
}
if [ ${#missing[@]} -eq 0 ]; then
    echo "setup: all packages present"
    check_libmariadb
    [ "$update" = 0 ] || $sudo apt-get update -qq
    bash "$root/cmake/deps.sh" prepare arm64
    exit 0
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# Servers must not start as system services: the tests start their own throwaway instances.
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
    $sudo chmod +x /usr/sbin/policy-rc.d
    trap '$sudo rm -f /usr/sbin/policy-rc.d' EXIT
fi
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
bash "$root/cmake/deps.sh" prepare arm64
check_libmariadb
echo "setup: done"
