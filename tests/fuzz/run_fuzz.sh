#!/bin/sh
# Runs one libFuzzer target for ctest (cmake/fuzz.cmake registers the calls).
#
#   run_fuzz.sh bounded <binary> <seed dir> <work dir> <runs> [dict]
#       fuzzes <runs> inputs with random seed 1, starting from the seed corpus: the same inputs on
#       every machine and every run, however fast it is (a gate that passes or fails by the
#       machine's speed or the clock would pass or fail by luck). Deterministic because nothing
#       else varies: <work dir>/corpus starts empty each time (libFuzzer writes new inputs only
#       there; the seed directory in the repo is read, never written), the seeds are passed as a
#       sorted list (-seed_inputs; a directory would be read in the file system's order), the
#       corpus is never re-read from disk (-reload=0), and address space randomisation is off
#       (setarch -R): libFuzzer feeds the operands of compares back into its mutations, and many
#       of those are pointers. Crash/leak/timeout inputs go to <work dir>/artifacts/.
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
    runs=$5
    dict=${6:-}
    rm -rf "$work/corpus" "$work/artifacts"
    mkdir -p "$work/corpus" "$work/artifacts"
    if find "$seeds" -type f -name '*,*' | grep -q .; then
        echo "seed file names in $seeds must not contain a comma (-seed_inputs is a comma list)" >&2
        exit 1
    fi
    list=$(find "$seeds" -type f | LC_ALL=C sort | paste -sd, -)
    if [ -z "$list" ]; then
        echo "no seed files in $seeds" >&2
        exit 1
    fi
    if ! setarch -R true 2>/dev/null; then
        echo "setarch -R (util-linux) cannot turn address space randomisation off here" >&2
        exit 1
    fi
    set -- -seed=1 -runs="$runs" -seed_inputs="$list" -reload=0 -rss_limit_mb=2048 -timeout=10 \
        -print_final_stats=1 -artifact_prefix="$work/artifacts/"
    if [ -n "$dict" ]; then
        set -- "$@" -dict="$dict"
    fi
    exec setarch -R "$bin" "$@" "$work/corpus"
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
    echo "usage: $0 bounded|replay <binary> <seed dir> [work dir runs [dict]]" >&2
    exit 2
    ;;
esac
