#!/usr/bin/env bash
# Sets up a Debian 12 machine (tests/setup.sh) and runs the whole test suite, ending with ctest's
# summary. This is the test command README.md gives and .ci/run runs.
#
#   build-asan/     ASan+UBSan (no recovery): the whole suite, bootstrap included in every
#                   end-to-end test
#   build-torture/  allocation failure N = 1, 2, ... through every parser, client call and
#                   rotation step, and the wipe checks (SM_TORTURE)
#   build-fuzz/     clang + libFuzzer: every target replays its corpus, then fuzzes a bounded time
#   build-package/  the deployable package (-DSM_STATIC_DEPS=ON: cmake/deps.sh builds OpenSSL,
#                   libcurl, libpq, MariaDB Connector/C, expat and cJSON from Debian 12's source
#                   packages on the first run and keeps them in build-package/deps/), and the
#                   package tests (label package): bootstrap needs only glibc and libgcc, and
#                   rotates both engines with both strategies chrooted into a root that holds
#                   nothing but glibc and libgcc
#   build/          the main build (warnings as errors) with valgrind twins of every C test case:
#                   unit, integration against real PostgreSQL and MariaDB started by the tests,
#                   end to end, the fault matrix, packaging, the SAM template. Its ctest summary
#                   ends the run.
#
# QUICK=1 runs only build-package/ and build/ without the valgrind twins; PACKAGE=0 skips
# build-package/. JOBS defaults to the number of CPUs; SM_FUZZ_SECONDS (default 20) bounds each
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
    echo "== ASan+UBSan: the whole suite"
    ctest --test-dir "$root/build-asan" --output-on-failure -j"$jobs" --timeout 900 -LE 'template|bench'
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

if [[ ${PACKAGE:-1} != 0 ]]; then
    started=$SECONDS
    echo "== build build-package (the first configure builds the static dependencies)"
    cmake -S "$root" -B "$root/build-package" -DSM_WERROR=ON -DSM_TESTS=ON -DSM_STATIC_DEPS=ON >/dev/null
    cmake --build "$root/build-package" -j"$jobs" --target lambda-zip package-tests >/dev/null
    echo "== the package, in a root with nothing but glibc and libgcc (build-package: $((SECONDS - started)) s)"
    ctest --test-dir "$root/build-package" --output-on-failure -j"$jobs" -L package
fi

configure_build build -DSM_VALGRIND="$valgrind"
echo "== the suite"
cd "$root/build"
exec ctest --output-on-failure -j"$jobs" --timeout 900
