"""Checks of cmake/deps.sh: how it derives Debian 13's deb-src entries from a machine's apt
sources (both formats; neither root nor network), and how it holds to cmake/deps.lock (these
fetch one .dsc from the archive the machine's apt sources name, and build nothing): a changed hash
or a version the archive does not serve fails the build, with no fallback; a lock that does not
pin each package once is refused; `outdated` reports every locked package (it reads the Debian 13
source index `cmake/deps.sh prepare` enables). The recipe itself is exercised by building a
-DSM_STATIC_DEPS=ON tree (tests/run.sh's build-package/ and build-package-arm64/) and the package
tests there.

Each `def test_<name>(` is one ctest (tests/package.cmake), in every build tree.
"""
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import smtest  # noqa: E402

KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
ONE_LINE = """# deb http://deb.debian.org/debian bookworm main   (a comment)
deb http://deb.debian.org/debian bookworm main contrib
deb-src http://deb.debian.org/debian trixie main contrib
deb [arch=amd64 signed-by=%s] http://deb.debian.org/debian-security   bookworm-security main
deb http://deb.debian.org/debian bookworm-backports main
deb http://apt.example.org/debian nodistro main
""" % KEYRING
DEB822 = """Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: %s

# Debian 12's sources are there already, Debian 13's are not; a keyring named for the release
Types: deb deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-bookworm-security-automatic.gpg

Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-proposed-updates bookworm-updates
Components: main
Enabled: no

Types: deb
URIs: https://apt.example.org/node_20.x
Suites: nodistro
Components: main

Types: deb deb-src
URIs: http://mirror.example.org/debian
Suites: trixie
Components: main
""" % KEYRING


def derive(files):
    tmp = tempfile.mkdtemp(prefix="smrotate-apt-")
    try:
        os.makedirs(os.path.join(tmp, "sources.list.d"))
        for name, text in files.items():
            with open(os.path.join(tmp, name), "w", encoding="utf-8") as f:
                f.write(text)
        out = subprocess.run(["bash", os.path.join(smtest.env("SMR_SOURCE_DIR"), "cmake",
                                                   "deps.sh"), "derive-deb-src"],
                             env=dict(os.environ, DEPS_APT_DIR=tmp), capture_output=True,
                             text=True, check=False)
        if out.returncode != 0:
            raise AssertionError("deps.sh derive-deb-src: %s" % out.stderr)
        one, _, deb822 = out.stdout.partition("smrotate-deb-src.sources\n")
        lines = [ln for ln in one.splitlines() if not ln.startswith("#")]
        return lines, deb822.strip()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_deps_derives_deb_src_from_one_line_entries():
    lines, deb822 = derive({"sources.list": ONE_LINE, "sources.list.d/extra.list":
                            "deb http://deb.debian.org/debian bookworm-updates main\n"})
    smtest.assert_eq(lines, [
        "deb-src [arch=amd64 signed-by=%s] http://deb.debian.org/debian-security "
        "trixie-security main" % KEYRING,
        "deb-src http://deb.debian.org/debian trixie-updates main",
    ], "derived one-line entries (Debian 13's suites of Debian's entries, none twice, none "
       "already there, comments ignored)")
    smtest.assert_eq(deb822, "", "no deb822 entries")


def test_deps_derives_deb_src_from_deb822_stanzas():
    lines, deb822 = derive({"sources.list.d/debian.sources": DEB822})
    smtest.assert_eq(lines, [], "no one-line entries")
    smtest.assert_eq(deb822, "Types: deb-src\nURIs: http://deb.debian.org/debian\n"
                     "Suites: trixie trixie-updates\nComponents: main\nSigned-By: %s\n\n"
                     "Types: deb-src\nURIs: http://deb.debian.org/debian-security\n"
                     "Suites: trixie-security\nComponents: main\nSigned-By: "
                     "/usr/share/keyrings/debian-archive-trixie-security-automatic.gpg"
                     % KEYRING, "derived deb822 stanzas (the others: disabled, not Debian, "
                     "Debian 13's sources already)")


def deps_sh(*args, lock=None):
    env = dict(os.environ)
    if lock is not None:
        env["DEPS_LOCK"] = lock
    env.pop("DEPS_ALLOW_UNLOCKED", None)
    return subprocess.run(["bash", os.path.join(smtest.env("SMR_SOURCE_DIR"), "cmake", "deps.sh")]
                          + list(args), env=env, capture_output=True, text=True, check=False,
                          timeout=600)


def locked():
    with open(os.path.join(smtest.env("SMR_SOURCE_DIR"), "cmake", "deps.lock"),
              encoding="utf-8") as f:
        return [ln.split() for ln in f if ln.strip() and not ln.startswith("#")]


def build_with_lock(entries):
    """cmake/deps.sh build into a scratch cache with a lock of these entries: (status, stderr)."""
    tmp = tempfile.mkdtemp(prefix="smrotate-lock-")
    try:
        lock = os.path.join(tmp, "deps.lock")
        with open(lock, "w", encoding="utf-8") as f:
            f.write("# a test's lock\n" + "".join(" ".join(e) + "\n" for e in entries))
        out = deps_sh("build", os.path.join(tmp, "cache"), lock=lock)
        return out.returncode, out.stderr
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_deps_lock_pins_the_six_debian_13_source_packages():
    names = [e[0] for e in locked()]
    smtest.assert_eq(sorted(names), sorted(["openssl", "curl", "postgresql-17", "mariadb",
                                            "expat", "cjson"]), "locked source packages")
    for name, version, sha in locked():
        if len(sha) != 64 or "deb12" in version:
            raise AssertionError("%s %s %s: a Debian 13 version and a SHA-256" % (name, version, sha))


def test_deps_changed_hash_fails_the_build():
    entries = locked()
    first = entries[0]
    first[2] = ("0" if first[2][0] != "0" else "1") + first[2][1:]
    rc, err = build_with_lock(entries)
    smtest.assert_eq(rc != 0, True, "deps.sh build exit status is non-zero")
    smtest.assert_in("refusing it", err, "deps.sh's message")
    smtest.assert_in(first[2], err, "the locked hash named")


def test_deps_version_not_served_fails_the_build_without_fallback():
    entries = locked()
    entries[0][1] = entries[0][1] + "+not.served"
    rc, err = build_with_lock(entries)
    smtest.assert_eq(rc != 0, True, "deps.sh build exit status is non-zero")
    smtest.assert_in("%s %s (cmake/deps.lock) is served by none of" % (entries[0][0],
                                                                       entries[0][1]), err,
                     "deps.sh's message")
    smtest.assert_not_in("fetched", err, "nothing fetched instead")


def test_deps_lock_must_pin_each_package_once():
    rc, err = build_with_lock([e for e in locked() if e[0] != "cjson"])
    smtest.assert_eq(rc != 0, True, "exit status without cjson")
    smtest.assert_in("pins no version of cjson", err, "message")
    rc, err = build_with_lock(locked() + [locked()[0]])
    smtest.assert_eq(rc != 0, True, "exit status with openssl twice")
    smtest.assert_in("pins openssl more than once", err, "message")


def test_deps_outdated_reports_every_locked_package():
    out = deps_sh("outdated")
    if out.returncode != 0:
        raise AssertionError("deps.sh outdated: %s" % out.stderr)
    print(out.stdout)
    for name, version, _ in locked():
        if not any(ln.startswith("%s %s: " % (name, version)) for ln in out.stdout.splitlines()):
            raise AssertionError("no line for %s %s" % (name, version))


if __name__ == "__main__":
    smtest.run(globals())
