"""Checks of cmake/deps.sh that need neither root nor a network: how it derives deb-src entries
from a machine's apt sources (both formats). The recipe itself is exercised by building a
-DSM_STATIC_DEPS=ON tree (tests/run.sh's build-package/) and the package tests there.

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
deb-src http://deb.debian.org/debian bookworm main contrib
deb [arch=amd64 signed-by=%s] http://deb.debian.org/debian-security   bookworm-security main
deb http://deb.debian.org/debian bookworm-backports main
deb http://apt.example.org/debian nodistro main
""" % KEYRING
DEB822 = """Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: %s

# this one has its sources already
Types: deb deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main

Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-proposed-updates bookworm-updates
Components: main
Enabled: no

Types: deb
URIs: https://apt.example.org/node_20.x
Suites: nodistro
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
        "bookworm-security main" % KEYRING,
        "deb-src http://deb.debian.org/debian bookworm-updates main",
    ], "derived one-line entries (Debian 12's suites only, none twice, comments ignored)")
    smtest.assert_eq(deb822, "", "no deb822 entries")


def test_deps_derives_deb_src_from_deb822_stanzas():
    lines, deb822 = derive({"sources.list.d/debian.sources": DEB822})
    smtest.assert_eq(lines, [], "no one-line entries")
    smtest.assert_eq(deb822, "Types: deb-src\nURIs: http://deb.debian.org/debian\n"
                     "Suites: bookworm bookworm-updates\nComponents: main\nSigned-By: %s"
                     % KEYRING, "derived deb822 stanza (the others: deb-src already, disabled, "
                     "not Debian 12)")


if __name__ == "__main__":
    smtest.run(globals())
