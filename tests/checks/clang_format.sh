#!/usr/bin/env bash
# Fails when a C file differs from what .clang-format asks for.
set -euo pipefail
root=${1:?source root}
cd "$root"
bad=0
for f in $(git ls-files '*.c' '*.h'); do
    if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
        echo "not formatted: $f"
        bad=1
    fi
done
exit $bad
