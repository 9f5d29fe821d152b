#!/usr/bin/env bash
# Sets up a Debian 12 machine (tests/setup.sh) and runs the whole test suite, ending with ctest's
# summary. This is the test command README.md gives and .ci/run runs.
#
#   build/        the main build, warnings as errors: every test (unit, integration against real
#                 PostgreSQL and MariaDB started by the tests, end to end, packaging, template)
#
# Environment: JOBS (default: the number of CPUs), SMR_BUILD_DIR (default build).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
jobs=${JOBS:-$(nproc)}
build=${SMR_BUILD_DIR:-$root/build}

"$root/tests/setup.sh"

echo "== build ($build)"
cmake -S "$root" -B "$build" -DSM_WERROR=ON >/dev/null
cmake --build "$build" -j"$jobs"

echo "== tests"
cd "$build"
exec ctest --output-on-failure -j"$jobs" --timeout 300
