#!/usr/bin/env bash
# Installs what smrotate needs to build and test on Debian 12, from Debian's archive, and prepares
# the static package build: cmake/deps.sh prepare enables deb-src (derived from this machine's
# own apt sources) and installs the recipe's tools (dpkg-dev, compilers). debootstrap is for the
# MySQL fixture, which builds its own root from Debian's unstable suite on first use
# (tests/scripts/mysql.sh). Idempotent: apt runs only when a package is missing or the deb-src
# entries are new. Needs root (or sudo).
set -euo pipefail

packages=(
    build-essential cmake pkg-config clang-format dpkg-dev
    libcurl4-openssl-dev libssl-dev libcjson-dev libpq-dev libmariadb-dev libexpat1-dev
    postgresql postgresql-client mariadb-server mariadb-client
    debootstrap
    python3 openssl zip unzip binutils procps
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
if [ ${#missing[@]} -eq 0 ]; then
    echo "setup: all packages present"
    bash "$root/cmake/deps.sh" prepare
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
bash "$root/cmake/deps.sh" prepare
echo "setup: done"
