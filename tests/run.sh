#!/usr/bin/env bash
# Sets up a Debian 12 machine (tests/setup.sh) and runs the whole test suite, ending with ctest's
# summary. This is the test command README.md gives and .ci/run runs.
#
#   build-asan/     ASan+UBSan (no recovery): the whole suite but the fault matrix, bootstrap
#                   included in every end-to-end test
#   build-torture/  allocation failure N = 1, 2, ... through every parser, client call and
#                   rotation step, and the wipe checks (SM_TORTURE)
#   build-fuzz/     clang + libFuzzer: every target replays its corpus, then fuzzes a bounded time
#   build-package/  the deployable package for x86_64 (-DSM_STATIC_DEPS=ON: cmake/deps.sh builds
#                   OpenSSL, libcurl, libpq, MariaDB Connector/C, expat and cJSON from the Debian
#                   13 source packages cmake/deps.lock pins, once per machine: they are cached in
#                   /var/cache/smrotate/deps), and the package tests (label package): bootstrap
#                   needs only glibc and libgcc, and rotates both engines with both strategies,
#                   through egress proxies too, chrooted into a root that holds nothing but glibc
#                   and libgcc
#   build-package-arm64/  the same for arm64 (Graviton), cross-built with Debian's cross
#                   toolchain (cmake/toolchain-arm64.cmake); its package tests run bootstrap under
#                   qemu-aarch64-static in an arm64 root holding only libc6:arm64 and libgcc-s1:arm64
#   build/          the main build (warnings as errors) with valgrind twins of the unit, client
#                   and integration C cases: unit, integration against real PostgreSQL, MariaDB
#                   and MySQL 9.7 started by the tests,
#                   end to end, the fault matrix, packaging, the SAM template. Its ctest summary
#                   ends the run.
#
# QUICK=1 runs only build-package/, build-package-arm64/ and build/ without the valgrind twins;
# PACKAGE=0 skips both package trees. JOBS defaults to the number of CPUs; SM_FUZZ_SECONDS (default 20) bounds each
# fuzz target.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
jobs=${JOBS:-$(nproc)}
fuzz_seconds=${SM_FUZZ_SECONDS:-20}

"$root/tests/setup.sh"

configure_build() { # dir, cmake options...
    local dir=$1
    shift
    echo "== build $dir"
    cmake -S "$root" -B "$root/$dir" -DSM_WERROR=ON -DSM_TESTS=ON "$@" >/dev/null
    cmake --build "$root/$dir" -j"$jobs" >/dev/null
}

if [[ ${QUICK:-0} != 1 ]]; then
    configure_build build-asan -DSM_SANITIZE=address,undefined
    # The fault matrix (label faults) runs in build/: under ASan it would take as long again for the
    # same code paths the end-to-end cases already take there.
    echo "== ASan+UBSan: the whole suite but the fault matrix"
    ctest --test-dir "$root/build-asan" --output-on-failure -j"$jobs" --timeout 900 \
        -LE 'template|bench|faults'
    configure_build build-torture -DSM_TORTURE=ON
    echo "== allocation failures and wiping"
    ctest --test-dir "$root/build-torture" --output-on-failure -j"$jobs" -L torture
    CC=clang configure_build build-fuzz -DSM_FUZZ=ON -DSM_TESTS=OFF -DSM_FUZZ_SECONDS="$fuzz_seconds"
    echo "== fuzzing"
    ctest --test-dir "$root/build-fuzz" --output-on-failure -j"$jobs" -L fuzz
    valgrind=ON
else
    valgrind=OFF
fi

package_tree() { # dir, cmake options...
    local dir=$1 started=$SECONDS
    shift
    echo "== build $dir (the first configure on this machine builds the static dependencies)"
    cmake -S "$root" -B "$root/$dir" -DSM_WERROR=ON -DSM_TESTS=ON -DSM_STATIC_DEPS=ON "$@" >/dev/null
    cmake --build "$root/$dir" -j"$jobs" --target lambda-zip package-tests >/dev/null
    echo "== the package, in a root with nothing but glibc and libgcc ($dir: $((SECONDS - started)) s)"
    ctest --test-dir "$root/$dir" --output-on-failure -j"$jobs" -L package
}

if [[ ${PACKAGE:-1} != 0 ]]; then
    package_tree build-package
    package_tree build-package-arm64 -DCMAKE_TOOLCHAIN_FILE="$root/cmake/toolchain-arm64.cmake"
fi

configure_build build -DSM_VALGRIND="$valgrind"
echo "== the suite"
cd "$root/build"
# Twice as many slots as cores: the fault matrix's cases mostly wait (held calls, kills), and a
# valgrind twin takes two slots (cmake/valgrind.cmake), so the cores stay busy, not oversubscribed.
exec ctest --output-on-failure -j"$((jobs * 2))" --timeout 900
