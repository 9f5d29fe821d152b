"""Runner for Python test scripts: `python3 script.py <name>` runs test_<name>().

Every `def test_<name>(` in a script becomes ctest <name> (see tests/CMakeLists.txt). A test
passes when its function returns, and fails on any exception. A script that passes servers (a
dict of short name -> class, tests/lib/db.py's SERVERS) may also define `def
test_<a>_SERVER_<b>(db)`: ctest <a>_<server>_<b> for every server (tests/e2e.cmake), called with
an instance of that server's class. Helpers here are standard library only.
"""
import os
import sys
import traceback


def run(module_globals, servers=None):
    if len(sys.argv) != 2:
        print("usage: %s <test-name>" % sys.argv[0], file=sys.stderr)
        sys.exit(2)
    name = sys.argv[1]
    fn, server = module_globals.get("test_" + name), None
    for key, cls in (servers or {}).items():
        for fname, f in module_globals.items():
            if fn is None and "SERVER" in fname and fname.replace("SERVER", key) == "test_" + name:
                fn, server = f, cls
    if fn is None:
        print("no test named %s" % name, file=sys.stderr)
        sys.exit(2)
    try:
        if server is None:
            fn()
        else:
            db = server()
            print("server: %s %s" % (db.name, getattr(db, "version", None) or ""), flush=True)
            fn(db)
    except Exception:  # noqa: BLE001 - any failure fails the test
        traceback.print_exc()
        print("FAIL %s" % name)
        sys.exit(1)
    print("PASS %s" % name)
    sys.exit(0)


def env(name):
    value = os.environ.get(name)
    if not value:
        raise RuntimeError("%s is not set: run this test through ctest" % name)
    return value


def assert_eq(actual, expected, what=""):
    if actual != expected:
        raise AssertionError("%s: expected %r, got %r" % (what, expected, actual))


def assert_in(needle, haystack, what=""):
    if needle not in haystack:
        raise AssertionError("%s: expected %r in %r" % (what, needle, haystack))


def assert_not_in(needle, haystack, what=""):
    """The leak guard: on failure, says only how long the needle is and where it was found."""
    if needle in haystack:
        where = haystack.find(needle) if isinstance(haystack, (str, bytes)) else None
        raise AssertionError("%s: a %d-long value that must not appear does (at %s)"
                             % (what, len(needle), "offset %d" % where if where is not None
                                else "an item"))


def _length(value):
    try:
        return "%d-long %s" % (len(value), type(value).__name__)
    except TypeError:
        return type(value).__name__


def assert_secret_eq(actual, expected, what):
    """assert_eq for secrets: on failure, prints what and the lengths, never a value."""
    if actual != expected:
        raise AssertionError("%s: secret differs (expected a %s, got a %s)"
                             % (what, _length(expected), _length(actual)))


def assert_secret_in(needle, haystack, what):
    """assert_in for secrets: on failure, prints what and the lengths, never a value."""
    if needle not in haystack:
        raise AssertionError("%s: a %s secret is missing from a %s"
                             % (what, _length(needle), _length(haystack)))
