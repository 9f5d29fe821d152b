"""Checks of the deployable Lambda zip (docker/package.sh, cmake/package.cmake).

Each `def test_<name>(` is one ctest (tests/package.cmake). This script checks the script and
the probe package; check_lambda_zip.py checks the real one (SMR_LAMBDA_ZIP, written by the
lambda-zip target from bootstrap) with the helpers defined here.
  SMR_PROBE_ZIP    package.sh run on package_probe_bootstrap, which links and calls every library
                   bootstrap links (libpq, MariaDB Connector/C, cJSON, libcurl, OpenSSL), so the
                   bundling is exercised in full whatever bootstrap uses today.
Also: SMR_PACKAGE_SH (the script), SMR_PROBE_BOOTSTRAP, SMR_GLIBC_NEWER_PROBE (a binary that
needs a glibc symbol newer than 2.34, when this machine's glibc has one), SMR_STATE_DIR.
"""
import hashlib
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import smtest  # noqa: E402

MAX_GLIBC = (2, 34)  # Amazon Linux 2023
TARGET_ZIP_BYTES = 4 * 1000 * 1000  # our size target (reported, not enforced)
LAMBDA_ZIP_LIMIT = 50 * 1024 * 1024  # Lambda: zipped deployment package uploaded directly
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024
MARIADB_PLUGINS = ["caching_sha2_password.so", "client_ed25519.so", "dialog.so",
                   "mysql_clear_password.so", "sha256_password.so"]


def base_libs():
    """The allowlist of sonames provided.al2023 ships, read from package.sh itself."""
    with open(smtest.env("SMR_PACKAGE_SH"), encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"^BASE_LIBS=\((.*?)^\)", text, re.M | re.S)
    if not m:
        raise AssertionError("BASE_LIBS=( ... ) not found in package.sh")
    names = set(re.findall(r"'([^']+)'", re.sub(r"#[^\n]*", "", m.group(1))))
    smtest.assert_in("libc.so.6", names, "BASE_LIBS")
    return names


def extract(zip_path):
    """Unzips into a fresh temporary directory, restoring the Unix modes stored in the zip."""
    if not os.path.isfile(zip_path):
        raise AssertionError("%s does not exist (its fixture failed?)" % zip_path)
    dest = tempfile.mkdtemp(prefix="smrotate-pkg-", dir=os.environ.get("SMR_STATE_DIR"))
    with zipfile.ZipFile(zip_path) as z:
        for info in z.infolist():
            path = z.extract(info, dest)
            mode = (info.external_attr >> 16) & 0o7777
            if mode:
                os.chmod(path, mode)
    return dest


class Package:
    def __init__(self, zip_path):
        self.zip_path = zip_path
        self.dir = extract(zip_path)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def elf_files(self):
        out = []
        for root, _, files in os.walk(self.dir):
            for name in sorted(files):
                p = os.path.join(root, name)
                with open(p, "rb") as f:
                    if f.read(4) == b"\x7fELF":
                        out.append(p)
        return sorted(out)

    def libs(self):
        d = self.path("lib")
        return sorted(n for n in os.listdir(d) if ".so" in n) if os.path.isdir(d) else []


def real_zip():
    return smtest.env("SMR_LAMBDA_ZIP")


def probe_zip():
    return smtest.env("SMR_PROBE_ZIP")


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, check=False, **kw)


def needed(path):
    out = run(["readelf", "-d", path]).stdout
    return re.findall(r"\(NEEDED\).*\[(.*)\]", out)


# ----- shared checks, run on both packages ----------------------------------------------------

def check_bootstrap_entry(zip_path):
    with zipfile.ZipFile(zip_path) as z:
        try:
            info = z.getinfo("bootstrap")
        except KeyError:
            raise AssertionError("no bootstrap at the root of %s: %s" % (zip_path, z.namelist()))
        mode = info.external_attr >> 16
        smtest.assert_eq(info.create_system, 3, "bootstrap entry made on Unix (keeps its mode)")
        smtest.assert_eq(stat.S_IFMT(mode), stat.S_IFREG, "bootstrap is a regular file")
        smtest.assert_eq(oct(stat.S_IMODE(mode)), oct(0o755), "bootstrap mode")
        head = z.read("bootstrap")[:4]
    smtest.assert_eq(head, b"\x7fELF", "bootstrap starts with the ELF magic (not a script)")


def check_glibc(zip_path):
    worst = {}
    with Package(zip_path) as pkg:
        files = pkg.elf_files()
        smtest.assert_in(pkg.path("bootstrap"), files, "ELF files")
        for f in files:
            out = run(["objdump", "-T", f])
            if out.returncode != 0:
                raise AssertionError("objdump -T %s: %s" % (f, out.stderr))
            versions = [tuple(int(x) for x in v.split("."))
                        for v in re.findall(r"GLIBC_([0-9]+(?:\.[0-9]+)+)", out.stdout)]
            if versions:
                worst[os.path.relpath(f, pkg.dir)] = max(versions)
    too_new = {k: "GLIBC_%s" % ".".join(map(str, v)) for k, v in worst.items() if v > MAX_GLIBC}
    if too_new:
        raise AssertionError("symbols newer than GLIBC_2.34: %s" % too_new)
    print("newest glibc symbol per file: %s" %
          {k: ".".join(map(str, v)) for k, v in sorted(worst.items())})


def ldd_map(path, env):
    out = run(["ldd", path], env=env)
    if out.returncode != 0:
        raise AssertionError("ldd %s failed: %s%s" % (path, out.stdout, out.stderr))
    resolved = {}
    for line in out.stdout.splitlines():
        m = re.match(r"\s*(\S+) => (.*?)(?: \(0x[0-9a-f]+\))?$", line)
        if m:
            resolved[m.group(1)] = m.group(2)
    return resolved


def check_resolution(zip_path):
    """ldd on the unzipped bootstrap with an empty LD_LIBRARY_PATH resolves every non-base library
    inside lib/, and nothing base is bundled."""
    base = base_libs()
    with Package(zip_path) as pkg:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LD_LIBRARY_PATH": ""}
        resolved = ldd_map(pkg.path("bootstrap"), env)
        lib_dir = os.path.realpath(pkg.path("lib"))
        bundled = pkg.libs()
        # The non-base closure: bootstrap's NEEDED, recursing only through non-base libraries
        # (a base library's own dependencies are the base system's business: on Debian, ldd also
        # lists what Debian's libcurl needs, which AL2023's libcurl-minimal does not).
        closure, todo = set(), list(needed(pkg.path("bootstrap")))
        while todo:
            soname = todo.pop()
            if soname in base or soname in closure:
                continue
            closure.add(soname)
            if soname in bundled:
                todo.extend(needed(pkg.path("lib", soname)))
        problems = []
        for soname in sorted(closure):
            where = resolved.get(soname, "not listed by ldd")
            if os.path.dirname(os.path.realpath(where)) != lib_dir:
                problems.append("%s resolved outside lib/: %s" % (soname, where))
        for soname, where in sorted(resolved.items()):
            if where == "not found":
                problems.append("%s not found" % soname)
        problems += ["base library bundled: lib/%s" % n for n in bundled if n in base]
        # Every bundled library's own dependencies are bundled or base (as the dynamic linker
        # will find them through bootstrap's RPATH). Plugins too.
        for f in pkg.elf_files():
            for dep in needed(f):
                if dep not in base and dep not in bundled:
                    problems.append("%s needs %s: neither base nor in lib/" %
                                    (os.path.relpath(f, pkg.dir), dep))
        if problems:
            raise AssertionError("\n  ".join(["library resolution:"] + problems))
        print("bundled: %s" % bundled)
        return bundled


def check_runs_under_env_i(zip_path, expect):
    with Package(zip_path) as pkg:
        out = run(["env", "-i", "./bootstrap", "--version"], cwd=pkg.dir, timeout=30)
        if out.returncode != 0:
            raise AssertionError("env -i ./bootstrap --version exited %d: %s" %
                                 (out.returncode, out.stderr))
        print(out.stdout.strip())
        smtest.assert_in(expect, out.stdout, "--version output")


def check_reproducible_layout(zip_path):
    with zipfile.ZipFile(zip_path) as z:
        infos = z.infolist()
    names = [i.filename for i in infos]
    smtest.assert_eq(names, sorted(names), "entries sorted")
    stamps = {i.date_time for i in infos}
    smtest.assert_eq(stamps, {(1980, 1, 2, 0, 0, 0)}, "fixed timestamps")
    for i in infos:
        if i.filename != "bootstrap":
            smtest.assert_eq(oct(stat.S_IMODE(i.external_attr >> 16)), oct(0o644),
                             "mode of %s" % i.filename)
        if i.filename.endswith("/"):
            raise AssertionError("directory entry %s (zip -D expected)" % i.filename)


def report_size(zip_path, what):
    size = os.path.getsize(zip_path)
    with zipfile.ZipFile(zip_path) as z:
        unzipped = sum(i.file_size for i in z.infolist())
    verdict = "within" if size <= TARGET_ZIP_BYTES else "OVER"
    print("%s: %d bytes zipped (%.2f MB, %s the 4 MB target), %d bytes unzipped" %
          (what, size, size / 1e6, verdict, unzipped))
    if size > LAMBDA_ZIP_LIMIT or unzipped > LAMBDA_UNZIPPED_LIMIT:
        raise AssertionError("over Lambda's deployment package limits")


# ----- the probe package (every library) --------------------------------------------------------

def test_package_probe_zip_has_elf_bootstrap_at_root():
    check_bootstrap_entry(probe_zip())


def test_package_probe_zip_needs_no_glibc_newer_than_2_34():
    check_glibc(probe_zip())


def test_package_probe_zip_bundles_every_non_base_library():
    bundled = check_resolution(probe_zip())
    for soname in ("libpq.so.5", "libmariadb.so.3", "libcjson.so.1"):
        smtest.assert_in(soname, bundled, "lib/")
    for soname in ("libcurl.so.4", "libssl.so.3", "libcrypto.so.3", "libc.so.6"):
        smtest.assert_not_in(soname, bundled, "lib/ (base library)")


def test_package_probe_zip_has_mariadb_plugins():
    with Package(probe_zip()) as pkg:
        d = pkg.path("lib", "mariadb", "plugin")
        present = sorted(os.listdir(d)) if os.path.isdir(d) else []
        smtest.assert_eq(present, MARIADB_PLUGINS, "lib/mariadb/plugin/")
        for p in present:
            with open(os.path.join(d, p), "rb") as f:
                smtest.assert_eq(f.read(4), b"\x7fELF", "%s is an ELF object" % p)


def test_package_probe_zip_runs_under_env_i_with_bundled_libraries():
    check_runs_under_env_i(probe_zip(), "probe libpq=")
    # The libraries the process maps come from lib/, not from the system.
    with Package(probe_zip()) as pkg:
        out = run(["env", "-i", "LD_DEBUG=libs", "./bootstrap", "--version"], cwd=pkg.dir,
                  timeout=30)
        lib_dir = pkg.path("lib")
        for soname in ("libpq.so.5", "libmariadb.so.3", "libcjson.so.1"):
            m = re.search(r"trying file=(\S*/%s)\n" % re.escape(soname), out.stderr)
            if not m or not m.group(1).startswith("./lib/") and \
                    not m.group(1).startswith(lib_dir):
                raise AssertionError("%s not loaded from lib/: %s" %
                                     (soname, m.group(1) if m else "no trace"))


def test_package_probe_zip_size_is_reported():
    report_size(probe_zip(), "every library bundled (probe)")


def test_package_script_output_is_reproducible():
    tmp = tempfile.mkdtemp(prefix="smrotate-pkg-", dir=os.environ.get("SMR_STATE_DIR"))
    try:
        digests = []
        for i in range(2):
            out = os.path.join(tmp, "p%d.zip" % i)
            r = run(["bash", smtest.env("SMR_PACKAGE_SH"), "--bootstrap",
                     smtest.env("SMR_PROBE_BOOTSTRAP"), "--output", out])
            if r.returncode != 0:
                raise AssertionError("package.sh failed: %s" % r.stderr)
            with open(out, "rb") as f:
                digests.append(hashlib.sha256(f.read()).hexdigest())
        smtest.assert_eq(digests[0], digests[1], "sha256 of two packages of the same bootstrap")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_package_script_rejects_shell_wrapper_bootstrap():
    tmp = tempfile.mkdtemp(prefix="smrotate-pkg-", dir=os.environ.get("SMR_STATE_DIR"))
    try:
        script = os.path.join(tmp, "bootstrap")
        with open(script, "w", encoding="utf-8") as f:
            f.write("#!/bin/sh\nexec ./bin/app\n")
        os.chmod(script, 0o755)
        out = os.path.join(tmp, "x.zip")
        r = run(["bash", smtest.env("SMR_PACKAGE_SH"), "--bootstrap", script, "--output", out])
        smtest.assert_eq(r.returncode, 1, "exit status")
        smtest.assert_in("not an ELF file", r.stderr, "message")
        smtest.assert_eq(os.path.exists(out), False, "no zip written")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_package_script_rejects_symbols_newer_than_glibc_2_34():
    probe = smtest.env("SMR_GLIBC_NEWER_PROBE")
    tmp = tempfile.mkdtemp(prefix="smrotate-pkg-", dir=os.environ.get("SMR_STATE_DIR"))
    try:
        out = os.path.join(tmp, "x.zip")
        r = run(["bash", smtest.env("SMR_PACKAGE_SH"), "--bootstrap", probe, "--output", out])
        smtest.assert_eq(r.returncode, 1, "exit status")
        smtest.assert_in("newer than GLIBC_2.34", r.stderr, "message")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_package_script_ships_rds_ca_bundle_when_given():
    tmp = tempfile.mkdtemp(prefix="smrotate-pkg-", dir=os.environ.get("SMR_STATE_DIR"))
    try:
        pem = os.path.join(tmp, "bundle.pem")
        r = run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                 "-nodes", "-keyout", os.path.join(tmp, "k.pem"), "-out", pem, "-days", "1",
                 "-subj", "/CN=smrotate test CA"])
        if r.returncode != 0:
            raise AssertionError("openssl: %s" % r.stderr)
        out = os.path.join(tmp, "x.zip")
        r = run(["bash", smtest.env("SMR_PACKAGE_SH"), "--bootstrap",
                 smtest.env("SMR_PROBE_BOOTSTRAP"), "--output", out, "--rds-ca-bundle", pem])
        if r.returncode != 0:
            raise AssertionError("package.sh failed: %s" % r.stderr)
        with zipfile.ZipFile(out) as z, open(pem, "rb") as f:
            smtest.assert_eq(z.read("certs/rds-global-bundle.pem"), f.read(), "shipped bundle")
        # Without --rds-ca-bundle: a warning and no certs/ entry.
        r = run(["bash", smtest.env("SMR_PACKAGE_SH"), "--bootstrap",
                 smtest.env("SMR_PROBE_BOOTSTRAP"), "--output", out])
        smtest.assert_eq(r.returncode, 0, "exit status without a bundle")
        smtest.assert_in("no --rds-ca-bundle", r.stderr, "warning")
        with zipfile.ZipFile(out) as z:
            smtest.assert_eq([n for n in z.namelist() if n.startswith("certs/")], [], "certs/")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_package_dockerfile_matches_script_and_template():
    src = smtest.env("SMR_SOURCE_DIR")
    with open(smtest.env("SMR_PACKAGE_SH"), encoding="utf-8") as f:
        script = f.read()
    with open(os.path.join(src, "docker", "Dockerfile"), encoding="utf-8") as f:
        dockerfile = f.read()
    with open(os.path.join(src, "template.yaml"), encoding="utf-8") as f:
        tmpl = f.read()
    known = set(re.findall(r"^\s*(--[a-z-]+)(?: \| -h)?\)", script, re.M))
    smtest.assert_in("--bootstrap", known, "options parsed from package.sh")
    call = re.search(r"docker/package\.sh((?:[^\n]*\\\n)*[^\n]*)", dockerfile)
    if not call:
        raise AssertionError("the Dockerfile does not run docker/package.sh")
    used = set(re.findall(r"(--[a-z-]+)", call.group(1)))
    fail = sorted(used - known)
    if fail:
        raise AssertionError("Dockerfile passes options package.sh does not know: %s" % fail)
    smtest.assert_in("--rds-ca-bundle", used, "the container build ships the RDS CA bundle")
    # The exported file is what template.yaml deploys (CodeUri out/<name>).
    code_uri = re.search(r"^\s*CodeUri:\s*(\S+)", tmpl, re.M).group(1)
    smtest.assert_eq(code_uri.split("/")[0], "out", "CodeUri directory (docker --output dest=out)")
    exported = re.findall(r"^COPY --from=build \S+ /(\S+)$", dockerfile, re.M)
    smtest.assert_in(os.path.basename(code_uri), exported, "files the export stage writes")
    for stage in ("AS build", "AS verify", "AS export"):
        smtest.assert_in(stage, dockerfile, "Dockerfile stages")


if __name__ == "__main__":
    smtest.run(globals())
