#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: installs what is needed (tests/setup.sh), builds
# bootstrap, and rotates a real PostgreSQL password through the local Secrets Manager and Lambda
# stand-ins (tests/demo.py). No AWS account needed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/tests/setup.sh"
# Its own tree: reconfiguring build/ without the tests would leave run.sh's ctest files stale.
cmake -S "$root" -B "$root/build-demo" -DSM_TESTS=OFF >/dev/null
cmake --build "$root/build-demo" --target bootstrap -j"$(nproc)" >/dev/null
echo "bootstrap built: $("$root/build-demo/bootstrap" --version)"
SMR_BOOTSTRAP="$root/build-demo/bootstrap" exec /usr/bin/python3 "$root/tests/demo.py"
