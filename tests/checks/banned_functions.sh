#!/usr/bin/env bash
# Fails when C sources call functions STYLE.md bans (curl's checksrc idea): unbounded copies,
# unchecked conversions, and tokenizers with hidden state.
set -euo pipefail
root=${1:?source root}
cd "$root"
pattern='\b(sprintf|vsprintf|strcpy|strcat|strncpy|strtok|atoi|atol|atoll|gets)[[:space:]]*\('
if hits=$(git ls-files '*.c' '*.h' 2>/dev/null | xargs -r grep -nE "$pattern"); then
    echo "banned functions called:"
    echo "$hits"
    exit 1
fi
echo "no banned functions in $(git ls-files '*.c' '*.h' | wc -l) files"
