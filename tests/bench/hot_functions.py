#!/usr/bin/env python3
"""Writes cmake/hot-functions.txt: the functions the package's bootstrap runs from its start to
the end of a rotation, for the linker to place together (cmake/static_deps.cmake).

    python3 tests/bench/hot_functions.py [--static-build DIR] [--out FILE] [--state-dir DIR]

Why: the kernel maps a file's pages around each page fault (64 KiB here), so a rotation that calls
a few functions spread over the whole text had nearly all of the text resident (2.9 of 3.2 MiB):
peak RSS followed the size of the linked libraries, not what runs. With the functions that run
packed together, the rest stays on disk.

How: the benchmark's scenarios (bench.py: PostgreSQL and MariaDB, single user and alternating
users; a cold start, then two rotations) run the static bootstrap (--static-build, default
./build-package) under valgrind's callgrind, which names every function executed. The names
defined in that bootstrap are written sorted, one per line, the format of lld's
--symbol-ordering-file. Under valgrind OpenSSL picks other CPU-specific assembly than it does
natively; an entry point that is not listed only stays where it was, so a stale or partial list
costs memory, never correctness. Rerun after a dependency update or a new code path, and commit
the file with the change (tests/package/check_hot_functions.py fails when it was not, and much
has changed). --state-dir uses the running servers of that SMR_STATE_DIR, as bench.py does.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import types

import bench

NAME = re.compile(r"^c?fn=\(\d+\) (.+)$")


def executed(profile_dir):
    """Every function name callgrind recorded in the profiles of profile_dir."""
    names = set()
    for fname in os.listdir(profile_dir):
        with open(os.path.join(profile_dir, fname), errors="replace") as f:
            for line in f:
                m = NAME.match(line.rstrip("\n"))
                if m:
                    names.add(re.sub(r"'\d+$", "", m.group(1)))  # 'N marks a recursion depth
    return names


def defined_functions(binary):
    out = subprocess.run(["nm", "--defined-only", binary], check=True, capture_output=True,
                         text=True).stdout
    return {parts[2] for parts in (line.split() for line in out.splitlines())
            if len(parts) == 3 and parts[1] in "tTwW"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--static-build", default=os.path.join(bench.REPO, "build-package"))
    ap.add_argument("--out", default=os.path.join(bench.REPO, "cmake", "hot-functions.txt"))
    ap.add_argument("--state-dir", help="use the running fixtures of this SMR_STATE_DIR")
    args = ap.parse_args()
    binary = os.path.join(os.path.abspath(args.static_build), "bootstrap")
    if not os.access(binary, os.X_OK):
        ap.error("%s is missing: build the package tree first" % binary)
    os.environ["SMR_BOOTSTRAP"] = binary
    engines = ("postgres", "mariadb")
    import db as dbmod  # noqa: E402  (bench.py put tests/lib on the path)

    profile_dir = tempfile.mkdtemp(prefix="smr-hot-")
    fixtures = bench.Fixtures(os.path.abspath(args.state_dir) if args.state_dir else None, engines)
    try:
        for engine in engines:
            db = dbmod.Postgres() if engine == "postgres" else dbmod.MariaDB()
            counter = bench.PgCounter(db) if engine == "postgres" else bench.MyCounter(db)
            try:
                for strategy in ("single", "multi"):
                    sys.stderr.write("hot_functions: %s, %s\n" % (engine, strategy))
                    b = bench.Bench(types.SimpleNamespace(runs=1), db, counter, strategy)
                    b.wrapper = ["/usr/bin/valgrind", "--tool=callgrind", "--log-file=/dev/null",
                                 "--callgrind-out-file=%s/%%p.out" % profile_dir]
                    try:
                        b.run()
                    finally:
                        b.close()
            finally:
                counter.close()
    finally:
        fixtures.close()
    names = sorted(executed(profile_dir) & defined_functions(binary))
    subprocess.run(["rm", "-rf", "--", profile_dir])
    with open(args.out, "w") as f:
        f.write("".join(n + "\n" for n in names))
    print("hot_functions: %d functions written to %s" % (len(names), args.out))


if __name__ == "__main__":
    main()
