#!/bin/sh
# Runs one libFuzzer target for ctest (cmake/fuzz.cmake registers the calls).
#
#   run_fuzz.sh bounded <binary> <seed dir> <work dir> <seconds> [dict]
#       fuzzes for <seconds> starting from the seed corpus. New inputs go to <work dir>/corpus
#       (libFuzzer writes only to its first corpus directory; the seed directory in the repo is
#       read, never written) and crash/leak/timeout inputs to <work dir>/artifacts/.
#   run_fuzz.sh replay <binary> <seed dir>
#       runs every seed file once, without mutating: a quick regression check.
#
# Exits non-zero on any crash, sanitizer report, leak or timeout (libFuzzer's own exit code).
set -eu
mode=$1
bin=$2
seeds=$3
case "$mode" in
bounded)
    work=$4
    seconds=$5
    dict=${6:-}
    mkdir -p "$work/corpus" "$work/artifacts"
    set -- -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$work/artifacts/"
    if [ -n "$dict" ]; then
        set -- "$@" -dict="$dict"
    fi
    exec "$bin" "$@" "$work/corpus" "$seeds"
    ;;
replay)
    files=$(find "$seeds" -type f | sort)
    if [ -z "$files" ]; then
        echo "no seed files in $seeds" >&2
        exit 1
    fi
    # shellcheck disable=SC2086 # one argument per file; seed names have no spaces
    exec "$bin" -rss_limit_mb=2048 -timeout=10 $files
    ;;
*)
    echo "usage: $0 bounded|replay <binary> <seed dir> [work dir seconds [dict]]" >&2
    exit 2
    ;;
esac
