#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: installs what is needed (tests/setup.sh), builds
# bootstrap, and rotates a real PostgreSQL password through the local Secrets Manager and Lambda
# stand-ins (tests/demo.py). No AWS account needed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/tests/setup.sh"
cmake -S "$root" -B "$root/build" -DSM_TESTS=OFF >/dev/null
cmake --build "$root/build" --target bootstrap -j"$(nproc)" >/dev/null
echo "bootstrap built: $("$root/build/bootstrap" --version)"
SMR_BOOTSTRAP="$root/build/bootstrap" exec /usr/bin/python3 "$root/tests/demo.py"
