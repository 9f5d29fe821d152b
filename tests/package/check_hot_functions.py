"""cmake/hot-functions.txt is current: tests/bench/hot_functions.py, run again on this tree's
bootstrap against the suite's PostgreSQL and MariaDB, finds few functions the committed list lacks.
A dependency update or a new code path that was not followed by a rerun shows here, before the
benchmark's peak RSS does. Registered in the native package tree only (valgrind runs bootstrap).
"""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import smtest  # noqa: E402

MAX_MISSING = 0.05  # of the functions run today; a rerun on the same machine finds none


def test_package_hot_functions_list_is_current():
    committed = set(open(smtest.env("SMR_HOT_FUNCTIONS")).read().split())
    tree = os.path.dirname(smtest.env("SMR_BOOTSTRAP_UNSTRIPPED"))
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "hot-functions.txt")
        r = subprocess.run([sys.executable, smtest.env("SMR_HOT_FUNCTIONS_PY"), "--static-build",
                            tree, "--state-dir", smtest.env("SMR_STATE_DIR"), "--out", out],
                           capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, "hot_functions.py failed:\n%s" % (r.stdout + r.stderr)[-3000:]
        today = set(open(out).read().split())
    missing = sorted(today - committed)
    print("%d functions run today, %d of them not in the committed list"
          % (len(today), len(missing)))
    assert len(today) > 1000, "only %d functions recorded" % len(today)
    assert len(missing) <= MAX_MISSING * len(today), (
        "cmake/hot-functions.txt is stale: %d of %d functions a rotation runs are not in it "
        "(e.g. %s); rerun python3 tests/bench/hot_functions.py and commit the file"
        % (len(missing), len(today), ", ".join(missing[:10])))


if __name__ == "__main__":
    smtest.run(globals())
