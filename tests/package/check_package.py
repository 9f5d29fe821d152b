"""Checks of the packaging script (docker/package.sh) and of the probe package.

Each `def test_<name>(` is one ctest (tests/package.cmake; registered only in a tree configured
with -DSM_STATIC_DEPS=ON). check_lambda_zip.py and check_zip_rotation.py check the real package
with the helpers defined here.
  SMR_PROBE_ZIP       package.sh run on package_probe_bootstrap, which links and calls every static
                      dependency (libcurl, OpenSSL, cJSON, libpq, MariaDB Connector/C, expat), so
                      each library is proven self-contained even before bootstrap uses it (expat).
  SMR_GLIBC_ROOT      a root file system holding only Debian 12's libc6 and libgcc-s1 of the
                      package's architecture (tests/package/glibc_root.sh); SMR_IN_ROOT runs a
                      program chrooted into a copy of it with /proc mounted (tests/package/
                      in_root.sh; needs root). SMR_ROOT_EMULATOR (arm64 on x86_64): the
                      qemu-user-static inside that root that runs the package's programs.
Also: SMR_PACKAGE_SH (the script), SMR_PROBE_BOOTSTRAP, SMR_RPATH_PROBE (a binary with an RPATH),
SMR_GLIBC_NEWER_PROBE (a binary that needs a glibc symbol newer than 2.34, when this machine's glibc
has one), SMR_DEPS_LICENSES (the licence texts cmake/deps.sh collected), SMR_DEPS_VERSIONS (what
it built: "NAME VERSION SHA256 URL"), SMR_LAMBDA_ARCH, SMR_STATE_DIR.
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
TARGET_ZIP_BYTES = 2 * 1024 * 1024  # our size target (reported, not enforced)
LAMBDA_ZIP_LIMIT = 50 * 1024 * 1024  # Lambda: zipped deployment package uploaded directly
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024
# Shared objects bootstrap may need: glibc's and libgcc's, nothing else.
SYSTEM_LIBS = {"libc.so.6", "libm.so.6", "libmvec.so.1", "libpthread.so.0", "libdl.so.2",
               "librt.so.1", "libresolv.so.2", "libutil.so.1", "libanl.so.1", "libgcc_s.so.1",
               "ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1"}
INTERPRETERS = {"/lib64/ld-linux-x86-64.so.2", "/lib/ld-linux-aarch64.so.1"}
# licenses/<Debian source package>/ of a package (cmake/deps.sh), each with its debian/copyright.
LICENSE_DIRS = ["cjson", "curl", "expat", "mariadb", "openssl", "postgresql-17"]
# Notices binary copies must carry, by source package: a file whose notice must be in NOTICES.
REQUIRED_NOTICES = {"postgresql-17": "port/snprintf.c", "mariadb": "libmariadb/ma_dtoa.c"}
TASK = "/var/task"


def state_dir():
    """SMR_STATE_DIR, created if no fixture has yet (None outside ctest: the system's temp)."""
    d = os.environ.get("SMR_STATE_DIR")
    if d:
        os.makedirs(d, exist_ok=True)
    return d


def extract(zip_path, dest=None):
    """Unzips into dest (default: a fresh temporary directory), restoring the Unix modes stored in
    the zip. Returns dest."""
    if not os.path.isfile(zip_path):
        raise AssertionError("%s does not exist (its fixture failed?)" % zip_path)
    if dest is None:
        dest = tempfile.mkdtemp(prefix="smrotate-pkg-", dir=state_dir())
    with zipfile.ZipFile(zip_path) as z:
        for info in z.infolist():
            path = z.extract(info, dest)
            mode = (info.external_attr >> 16) & 0o7777
            if mode:
                os.chmod(path, mode)
    return dest


class Package:
    """The unzipped package in a directory of its own."""

    def __init__(self, zip_path):
        self.zip_path = zip_path
        self.dir = extract(zip_path)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, *parts):
        return os.path.join(self.dir, *parts)


class Root:
    """A private copy of the glibc-only root (hard links where possible) with the package
    unzipped into /var/task; run() executes a program inside it (chroot, /proc mounted)."""

    def __init__(self, zip_path):
        base = os.path.realpath(smtest.env("SMR_GLIBC_ROOT"))
        if not os.path.isfile(os.path.join(base, ".complete")):
            raise AssertionError("%s is not a complete root (fixture glibc_root failed?)" % base)
        self.tmp = tempfile.mkdtemp(prefix="smrotate-root-", dir=state_dir())
        self.dir = os.path.join(self.tmp, "root")
        r = run(["cp", "-al", base, self.dir])
        if r.returncode != 0:
            shutil.rmtree(self.dir, ignore_errors=True)
            r = run(["cp", "-a", base, self.dir])
            if r.returncode != 0:
                raise AssertionError("copying %s: %s" % (base, r.stderr))
        extract(zip_path, self.path(TASK))
        # A launcher that stack.py can start as SMR_BOOTSTRAP: bootstrap, inside the root, with
        # the CA files its environment names copied to the same paths in the root.
        self.launcher = os.path.join(self.tmp, "bootstrap-in-root")
        with open(self.launcher, "w", encoding="utf-8") as f:
            f.write("#!/bin/sh\n")
            for var in MIRRORED_FILES:
                f.write('if [ -f "${%s:-}" ] && [ ! -e "%s$%s" ]; then mkdir -p "%s$(dirname "$%s")" '
                        '&& cp "$%s" "%s$%s"; fi\n' % (var, self.dir, var, self.dir, var, var,
                                                      self.dir, var))
            f.write('exec "%s" "%s" %s %s/bootstrap "$@"\n'
                    % (smtest.env("SMR_IN_ROOT"), self.dir, " ".join(emulator()), TASK))
        os.chmod(self.launcher, 0o755)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        # in_root.sh's fallback mounts /proc in this namespace; a launcher killed with SIGKILL
        # leaves it behind, and rmtree must not walk into a live /proc.
        proc = self.path("/proc")
        if os.path.ismount(proc):
            run(["umount", "-l", proc])
        shutil.rmtree(self.tmp, ignore_errors=True)

    def path(self, inside):
        return os.path.join(self.dir, inside.lstrip("/"))

    def add_file(self, source, inside):
        dest = self.path(inside)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        shutil.copyfile(source, dest)
        os.chmod(dest, 0o644)
        return inside

    def run(self, argv, env=None, timeout=30):
        """Runs argv (argv[0] a path inside the root) with exactly env (default: empty, as
        env -i)."""
        return run(["env", "-i"] + ["%s=%s" % kv for kv in (env or {}).items()] +
                   [smtest.env("SMR_IN_ROOT"), self.dir] + emulator() + argv, timeout=timeout)

    def files(self):
        """Every regular file of the root, relative ('lib/x86_64-linux-gnu/libc.so.6', ...)."""
        out = []
        for top, _, names in os.walk(self.dir):
            for n in names:
                out.append(os.path.relpath(os.path.join(top, n), self.dir))
        return sorted(out)


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, check=False, **kw)


def readelf(args, path):
    out = run(["readelf"] + args + [path])
    if out.returncode != 0:
        raise AssertionError("readelf %s %s: %s" % (" ".join(args), path, out.stderr))
    return out.stdout


def needed(path):
    return re.findall(r"\(NEEDED\).*\[(.*)\]", readelf(["-d"], path))


def glibc_versions(path):
    """Every GLIBC_x.y version a file's dynamic symbols refer to (readelf reads every
    architecture's ELF files, objdump only its own)."""
    return sorted({tuple(int(x) for x in v.split("."))
                   for v in re.findall(r"GLIBC_([0-9]+(?:\.[0-9]+)+)",
                                       readelf(["--dyn-syms", "-W"], path))})


def emulator():
    """The command that runs the package's programs inside the root: [] natively, or the
    qemu-user-static glibc_root.sh put there (arm64 on x86_64)."""
    e = os.environ.get("SMR_ROOT_EMULATOR")
    return [e] if e else []


# Files a test names in the environment that bootstrap must read inside the root: the launcher
# copies each to the same path in the root before starting it.
MIRRORED_FILES = ("SMROTATE_CA_FILE", "SMROTATE_DB_CA_FILE")


def version_needs(path):
    """{library: [version names]} from the ELF's version-needs section (readelf -V)."""
    needs, current = {}, None
    for line in readelf(["-V"], path).splitlines():
        m = re.search(r"File: (\S+)", line)
        if m:
            current = m.group(1)
            needs.setdefault(current, [])
            continue
        m = re.search(r"Name: (\S+)\s+Flags", line)
        if m and current:
            needs[current].append(m.group(1))
    return needs


# ----- shared checks, run on the probe and the real package --------------------------------------

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


def check_self_contained(zip_path):
    """bootstrap needs nothing but glibc and libgcc: NEEDED, version needs, no symbol newer than
    GLIBC_2.34, no RPATH/RUNPATH, the standard interpreter; and there is no other ELF file (no
    lib/, no plugins) in the package."""
    with Package(zip_path) as pkg:
        boot = pkg.path("bootstrap")
        problems = []
        deps = needed(boot)
        problems += ["NEEDED %s: not glibc or libgcc" % n for n in deps if n not in SYSTEM_LIBS]
        smtest.assert_in("libc.so.6", deps, "NEEDED (a dynamically linked glibc program)")
        for lib, names in sorted(version_needs(boot).items()):
            if lib not in SYSTEM_LIBS:
                problems.append("version needs of %s: %s" % (lib, names))
            for n in names:
                if not re.match(r"^(GLIBC_[0-9.]+|GCC_[0-9.]+)$", n):
                    problems.append("%s needs version %s" % (lib, n))
        versions = glibc_versions(boot)
        newest = max(versions) if versions else None
        too_new = [v for v in versions if v > MAX_GLIBC]
        problems += ["symbol version GLIBC_%s is newer than GLIBC_2.34" % ".".join(map(str, v))
                     for v in too_new]
        dynamic = readelf(["-d"], boot)
        problems += ["has %s" % m for m in re.findall(r"\((RPATH|RUNPATH)\)", dynamic)]
        interp = re.search(r"Requesting program interpreter: ([^\]]+)\]",
                           readelf(["-l"], boot))
        if not interp or interp.group(1) not in INTERPRETERS:
            problems.append("program interpreter %s" % (interp.group(1) if interp else "none"))
        others = []
        for top, _, names in os.walk(pkg.dir):
            for n in names:
                p = os.path.join(top, n)
                with open(p, "rb") as f:
                    if f.read(4) == b"\x7fELF" and p != boot:
                        others.append(os.path.relpath(p, pkg.dir))
        problems += ["another ELF file in the package: %s" % o for o in others]
        if os.path.isdir(pkg.path("lib")):
            problems.append("a lib/ folder: %s" % os.listdir(pkg.path("lib")))
        fail_if(problems, "bootstrap is not self-contained")
        print("NEEDED %s; newest glibc symbol GLIBC_%s; interpreter %s" %
              (deps, ".".join(map(str, newest)) if newest else "-", interp.group(1)))


def check_version_in_root(zip_path, expect):
    """`env -i bootstrap --version` inside the glibc-only root: it loads and starts there."""
    with Root(zip_path) as root:
        out = root.run([TASK + "/bootstrap", "--version"])
        if out.returncode != 0:
            raise AssertionError("env -i bootstrap --version in the glibc-only root exited %d: "
                                 "%s%s" % (out.returncode, out.stdout, out.stderr))
        print(out.stdout.strip())
        smtest.assert_in(expect, out.stdout, "--version output")
        # Nothing but glibc and libgcc in the root (the package is in /var/task).
        extra = [f for f in root.files() if not f.startswith("var/task/") and
                 not re.match(r"^(lib|lib64|usr|etc)/", f) and f != ".complete"]
        fail_if(extra, "files in the root besides libc6, libgcc-s1 and the package")
        return out.stdout


def check_licenses(zip_path):
    with zipfile.ZipFile(zip_path) as z:
        names = z.namelist()
    for n in ("LICENSE", "THIRD_PARTY_NOTICES.md"):
        smtest.assert_in(n, names, "the package's own licence files")
    dirs = sorted({n.split("/")[1] for n in names if n.startswith("licenses/")})
    smtest.assert_eq(dirs, LICENSE_DIRS, "licenses/ of what is linked in")
    with zipfile.ZipFile(zip_path) as z:
        smtest.assert_in("Apache License", z.read("LICENSE").decode(), "LICENSE")
        smtest.assert_in("GNU LESSER GENERAL PUBLIC LICENSE",
                         z.read("licenses/mariadb/COPYING.LIB").decode(), "Connector/C's licence")
        for d in LICENSE_DIRS:
            # Debian's machine-readable copyright file of the source package, as shipped.
            smtest.assert_in("Upstream-Name", z.read("licenses/%s/copyright" % d).decode(),
                             "licenses/%s/copyright" % d)
        for d, source in REQUIRED_NOTICES.items():
            smtest.assert_in("==== %s ====" % source, z.read("licenses/%s/NOTICES" % d).decode(),
                             "licenses/%s/NOTICES" % d)


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
        infos = z.infolist()
    unzipped = sum(i.file_size for i in infos)
    verdict = "within" if size <= TARGET_ZIP_BYTES else "OVER"
    print("%s: %d bytes zipped (%.2f MiB, %s the 2 MiB target), %d bytes unzipped" %
          (what, size, size / 1048576, verdict, unzipped))
    for i in sorted(infos, key=lambda i: -i.compress_size)[:4]:
        print("  %s: %d -> %d bytes" % (i.filename, i.file_size, i.compress_size))
    if size > LAMBDA_ZIP_LIMIT or unzipped > LAMBDA_UNZIPPED_LIMIT:
        raise AssertionError("over Lambda's deployment package limits")


def fail_if(problems, what):
    if problems:
        raise AssertionError("%s:\n  %s" % (what, "\n  ".join(problems)))


# ----- the probe package (every static dependency) -----------------------------------------------

def probe_zip():
    return smtest.env("SMR_PROBE_ZIP")


def package_sh(*args):
    """docker/package.sh with this tree's strip (the cross binutils' for arm64: SMR_STRIP)."""
    strip = ["--strip", os.environ["SMR_STRIP"]] if os.environ.get("SMR_STRIP") else []
    return run(["bash", smtest.env("SMR_PACKAGE_SH")] + strip + list(args))


def scratch():
    return tempfile.mkdtemp(prefix="smrotate-pkg-", dir=state_dir())


def test_package_probe_zip_has_elf_bootstrap_at_root():
    check_bootstrap_entry(probe_zip())


def test_package_probe_zip_needs_only_glibc_and_libgcc():
    check_self_contained(probe_zip())


def test_package_probe_zip_runs_in_glibc_only_root():
    out = check_version_in_root(probe_zip(), "probe libpq=")
    for lib in ("mariadb=", "cjson=", "curl=", "openssl=OpenSSL 3", "expat=expat_2"):
        smtest.assert_in(lib, out, "every static dependency answers")


def test_package_probe_expat_protections_are_compiled_in():
    # Debian's expat fixes are guarded by XML_DTD / XML_GE (cmake/deps-recipe.sh sets both): the
    # features they enable must be reported by the linked library, and a "billion laughs"
    # document must be refused with XML_ERROR_AMPLIFICATION_LIMIT_BREACH (43), inside the root.
    with Root(probe_zip()) as root:
        out = root.run([TASK + "/bootstrap", "--expat"])
    if out.returncode != 0:
        raise AssertionError("probe --expat exited %d: %s%s" % (out.returncode, out.stdout,
                                                                out.stderr))
    print(out.stdout.strip())
    features = dict(re.findall(r"^feature (\S+) (-?\d+)$", out.stdout, re.M))
    for name in ("XML_DTD", "XML_GE", "XML_NS", "XML_BLAP_MAX_AMP", "XML_BLAP_ACT_THRES"):
        smtest.assert_in(name, features, "expat's features")
    m = re.search(r"^billion laughs: status (\d+), error (\d+)", out.stdout, re.M)
    if not m:
        raise AssertionError("no billion laughs line: %s" % out.stdout)
    smtest.assert_eq((m.group(1), m.group(2)), ("0", "43"),
                     "XML_Parse status and error (XML_ERROR_AMPLIFICATION_LIMIT_BREACH)")


def test_package_script_output_is_reproducible():
    tmp = scratch()
    try:
        digests = []
        for i in range(2):
            out = os.path.join(tmp, "p%d.zip" % i)
            r = package_sh("--bootstrap", smtest.env("SMR_PROBE_BOOTSTRAP"), "--output", out,
                           "--licenses", smtest.env("SMR_DEPS_LICENSES"))
            if r.returncode != 0:
                raise AssertionError("package.sh failed: %s" % r.stderr)
            with open(out, "rb") as f:
                digests.append(hashlib.sha256(f.read()).hexdigest())
        smtest.assert_eq(digests[0], digests[1], "sha256 of two packages of the same bootstrap")
        check_reproducible_layout(os.path.join(tmp, "p0.zip"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def refused(binary, message):
    tmp = scratch()
    try:
        out = os.path.join(tmp, "x.zip")
        r = package_sh("--bootstrap", binary, "--output", out)
        smtest.assert_eq(r.returncode, 1, "exit status")
        smtest.assert_in(message, r.stderr, "message")
        smtest.assert_eq(os.path.exists(out), False, "no zip written")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_package_script_rejects_shell_wrapper_bootstrap():
    tmp = scratch()
    try:
        script = os.path.join(tmp, "bootstrap")
        with open(script, "w", encoding="utf-8") as f:
            f.write("#!/bin/sh\nexec ./bin/app\n")
        os.chmod(script, 0o755)
        refused(script, "not an ELF file")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_package_script_rejects_symbols_newer_than_glibc_2_34():
    refused(smtest.env("SMR_GLIBC_NEWER_PROBE"), "newer than GLIBC_2.34")


def test_package_script_rejects_shared_libraries_besides_glibc():
    # Debian's openssl program needs libssl.so.3 and libcrypto.so.3.
    refused(shutil.which("openssl") or "/usr/bin/openssl", "needs libssl.so.3 libcrypto.so.3")


def test_package_script_rejects_rpath():
    refused(smtest.env("SMR_RPATH_PROBE"), "has RPATH")


def test_package_script_ships_rds_ca_bundle_and_licences_when_given():
    tmp = scratch()
    try:
        pem = os.path.join(tmp, "bundle.pem")
        r = run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                 "-nodes", "-keyout", os.path.join(tmp, "k.pem"), "-out", pem, "-days", "1",
                 "-subj", "/CN=smrotate test CA"])
        if r.returncode != 0:
            raise AssertionError("openssl: %s" % r.stderr)
        src = smtest.env("SMR_SOURCE_DIR")
        out = os.path.join(tmp, "x.zip")
        r = package_sh("--bootstrap", smtest.env("SMR_PROBE_BOOTSTRAP"), "--output", out,
                       "--rds-ca-bundle", pem, "--licenses", smtest.env("SMR_DEPS_LICENSES"),
                       "--notice", os.path.join(src, "LICENSE"),
                       "--notice", os.path.join(src, "THIRD_PARTY_NOTICES.md"))
        if r.returncode != 0:
            raise AssertionError("package.sh failed: %s" % r.stderr)
        with zipfile.ZipFile(out) as z, open(pem, "rb") as f:
            smtest.assert_eq(z.read("certs/rds-global-bundle.pem"), f.read(), "shipped bundle")
        check_licenses(out)
        # Without --rds-ca-bundle: a warning and no certs/ entry.
        r = package_sh("--bootstrap", smtest.env("SMR_PROBE_BOOTSTRAP"), "--output", out)
        smtest.assert_eq(r.returncode, 0, "exit status without a bundle")
        smtest.assert_in("no --rds-ca-bundle", r.stderr, "warning")
        with zipfile.ZipFile(out) as z:
            smtest.assert_eq([n for n in z.namelist() if n.startswith("certs/")], [], "certs/")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    smtest.run(globals())
