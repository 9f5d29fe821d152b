"""Checks of the real Lambda package: SMR_LAMBDA_ZIP, written by the lambda-zip target
(cmake/package.cmake) in a tree configured with -DSM_STATIC_DEPS=ON, for x86_64 or (cross-built)
arm64. Helpers are in check_package.py; check_zip_rotation.py rotates with it in the glibc-only
root, check_zip_proxy.py runs the egress proxy cases there. Its inventory is checked against
what cmake/deps.sh built (SMR_DEPS_VERSIONS) and cmake/deps.lock.
"""
import json
import os
import re
import shutil
import sys
import tempfile
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import smtest  # noqa: E402
from check_package import (Package, check_bootstrap_entry, check_licenses,  # noqa: E402
                           check_reproducible_layout, check_self_contained, check_version_in_root,
                           readelf, report_size, run, state_dir)

# The libraries --version names, by the Debian source package each is built from.
LIBRARIES = {"openssl": "OpenSSL", "curl": "libcurl", "postgresql-17": "libpq",
             "mariadb": "MariaDB Connector/C", "expat": "expat", "cjson": "cJSON"}


def real_zip():
    return smtest.env("SMR_LAMBDA_ZIP")


def test_package_lambda_zip_has_elf_bootstrap_at_root():
    check_bootstrap_entry(real_zip())
    name = os.path.basename(real_zip())
    smtest.assert_eq(name, "smrotate-lambda-%s.zip" % smtest.env("SMR_LAMBDA_ARCH"),
                     "the zip's name carries the architecture")
    machine = re.search(r"Machine:\s+(.*)", readelf(["-h"], smtest.env("SMR_BOOTSTRAP"))).group(1)
    smtest.assert_eq(machine.strip(), {"x86_64": "Advanced Micro Devices X86-64",
                                       "arm64": "AArch64"}[smtest.env("SMR_LAMBDA_ARCH")],
                     "bootstrap's machine")


def test_package_lambda_zip_needs_only_glibc_and_libgcc():
    check_self_contained(real_zip())


def test_package_lambda_zip_holds_only_bootstrap_certs_and_licences():
    with zipfile.ZipFile(real_zip()) as z:
        names = z.namelist()
    odd = [n for n in names if n not in ("bootstrap", "LICENSE", "THIRD_PARTY_NOTICES.md",
                                         "certs/rds-global-bundle.pem", "smrotate.cdx.json")
           and not n.startswith("licenses/")]
    smtest.assert_in("smrotate.cdx.json", names, "the SBOM")
    if odd:
        raise AssertionError("unexpected entries: %s" % odd)
    check_licenses(real_zip())


def test_package_lambda_zip_has_mysql_auth_plugins_built_in():
    # MariaDB Connector/C's client plugins are linked in (no plugin directory in the package):
    # the unstripped bootstrap of the build tree names each plugin's declaration.
    symbols = set(re.findall(r"\bOBJECT\s+\S+\s+\S+\s+\S+\s+(\S+)$",
                             readelf(["-sW"], smtest.env("SMR_BOOTSTRAP")), re.M))
    wanted = ["caching_sha2_password_client_plugin", "client_ed25519_client_plugin",
              "sha256_password_client_plugin", "mysql_native_password_client_plugin"]
    missing = [p for p in wanted if p not in symbols]
    if missing:
        raise AssertionError("not linked into bootstrap: %s (plugins found: %s)" %
                             (missing, sorted(s for s in symbols if s.endswith("_plugin"))))


def built_versions():
    """[(source package, version, .dsc SHA-256)] cmake/deps.sh built (VERSIONS)."""
    with open(smtest.env("SMR_DEPS_VERSIONS"), encoding="utf-8") as f:
        return [tuple(line.split()[:3]) for line in f if line[:1].isalpha()]


def not_for_release():
    return os.path.exists(os.path.join(os.path.dirname(smtest.env("SMR_DEPS_VERSIONS")),
                                       "NOT-FOR-RELEASE"))


def test_package_lambda_zip_runs_in_glibc_only_root_under_env_i():
    check_version_in_root(real_zip(), "smrotate")


def upstream_version(name, version):
    """The version a library reports, from its Debian source version: the upstream part (no
    epoch, no Debian revision, no +ds repack suffix); Connector/C is the mariadb source package's
    libmariadb/, whose own version the CMake project sets."""
    if name == "mariadb":
        with open(smtest.env("SMR_DEPS_VERSIONS").replace("VERSIONS", "include/mariadb/mariadb_version.h"),
                  encoding="utf-8") as f:
            return re.search(r'#define MARIADB_PACKAGE_VERSION "([^"]+)"', f.read()).group(1)
    return re.sub(r"\+ds$", "", version.split(":")[-1].rsplit("-", 1)[0])


def test_package_lambda_zip_version_names_the_six_libraries():
    out = check_version_in_root(real_zip(), "smrotate")
    problems = []
    for name, version, _ in built_versions():
        m = re.search(r"^  %s +(\S+) +\(Debian %s %s\)$" % (re.escape(LIBRARIES[name]),
                                                           re.escape(name), re.escape(version)),
                      out, re.M)
        if not m:
            problems.append("no line for %s (%s %s)" % (LIBRARIES[name], name, version))
        elif m.group(1) != upstream_version(name, version):
            problems.append("%s reports %s, built from %s %s" % (LIBRARIES[name], m.group(1),
                                                                name, version))
    smtest.assert_eq(len(built_versions()), 6, "source packages built")
    smtest.assert_eq("NOT FOR RELEASE" in out, not_for_release(),
                     "--version says NOT FOR RELEASE exactly when deps.sh fell back")
    if problems:
        raise AssertionError("bootstrap --version:\n  %s\n%s" % ("\n  ".join(problems), out))


def test_package_lambda_zip_sbom_lists_the_locked_source_packages():
    with zipfile.ZipFile(real_zip()) as z:
        bom = json.loads(z.read("smrotate.cdx.json"))
    smtest.assert_eq((bom["bomFormat"], bom["specVersion"]), ("CycloneDX", "1.5"), "format")
    if not re.fullmatch(r"urn:uuid:[0-9a-f-]{36}", bom["serialNumber"]):
        raise AssertionError("serialNumber %r" % bom["serialNumber"])
    me = bom["metadata"]["component"]
    smtest.assert_eq((me["name"], me["type"]), ("smrotate", "application"), "the SBOM's subject")
    props = {p["name"]: p["value"] for p in me["properties"]}
    smtest.assert_eq(props["smrotate:architecture"], smtest.env("SMR_LAMBDA_ARCH"), "architecture")
    smtest.assert_eq(props["smrotate:release"], "false" if not_for_release() else "true", "release")
    got = []
    for c in bom["components"]:
        purl = "pkg:deb/debian/%s@%s?arch=source&distro=debian-13" % (
            c["name"], c["version"].replace(":", "%3A").replace("+", "%2B"))
        smtest.assert_eq(c["purl"], purl, "purl of %s" % c["name"])
        dist = c["externalReferences"][0]
        smtest.assert_eq(dist["type"], "distribution", "reference type")
        got.append((c["name"], c["version"], dist["hashes"][0]["content"]))
        if not c["licenses"][0].get("expression"):
            raise AssertionError("no licence for %s" % c["name"])
    smtest.assert_eq(sorted(got), sorted(built_versions()), "components = what deps.sh built")
    if not not_for_release():
        with open(os.path.join(smtest.env("SMR_SOURCE_DIR"), "cmake", "deps.lock"),
                  encoding="utf-8") as f:
            locked = [tuple(ln.split()) for ln in f if ln.strip() and not ln.startswith("#")]
        smtest.assert_eq(sorted(got), sorted(locked), "components = cmake/deps.lock")
    deps = {d["ref"]: d["dependsOn"] for d in bom["dependencies"]}
    smtest.assert_eq(sorted(deps[me["bom-ref"]]), sorted(c["bom-ref"] for c in bom["components"]),
                     "smrotate depends on every component")


def test_package_verify_script_accepts_the_package_and_refuses_others():
    # docker/verify.sh is what the Dockerfile runs inside provided.al2023: run natively here on
    # the unzipped package, and on a package whose bootstrap needs libssl.so.3.
    verify = os.path.join(smtest.env("SMR_SOURCE_DIR"), "docker", "verify.sh")
    with Package(real_zip()) as pkg:
        foreign = os.environ.get("SMR_ROOT_EMULATOR")
        if foreign:
            # arm64 on x86_64: bootstrap runs under qemu-user with the arm64 root's libraries
            # (LD_TRACE_LOADED_OBJECTS reaches its dynamic loader through qemu).
            os.rename(pkg.path("bootstrap"), pkg.path("bootstrap.arm64"))
            with open(pkg.path("bootstrap"), "w", encoding="utf-8") as f:
                f.write('#!/bin/sh\nexec %s -L %s %s "$@"\n' % (
                    foreign, os.path.realpath(smtest.env("SMR_GLIBC_ROOT")),
                    pkg.path("bootstrap.arm64")))
            os.chmod(pkg.path("bootstrap"), 0o755)
        out = run(["sh", verify, pkg.dir])
        if out.returncode != 0:
            raise AssertionError("verify.sh refused the package: %s%s" % (out.stdout, out.stderr))
        smtest.assert_in("smrotate", out.stdout, "verify.sh output")
    tmp = tempfile.mkdtemp(prefix="smrotate-verify-", dir=state_dir())
    try:
        shutil.copy(shutil.which("openssl") or "/usr/bin/openssl", os.path.join(tmp, "bootstrap"))
        out = run(["sh", verify, tmp])
        smtest.assert_eq(out.returncode, 1, "verify.sh on a bootstrap that needs libssl.so.3")
        smtest.assert_in("neither glibc's nor libgcc's", out.stderr, "verify.sh message")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_package_lambda_zip_is_sorted_with_fixed_timestamps():
    check_reproducible_layout(real_zip())


def test_package_bootstrap_places_the_hot_functions_together():
    """cmake/hot-functions.txt reached the linker: our own functions a rotation runs (rot_, sm_;
    one section each) form one run of the text that none of the others interrupts. The zip's copy
    is stripped, so the tree's bootstrap is read. lld puts the run at the start of the text on
    x86_64 and further in on arm64, where it keeps branch thunks few."""
    hot = set(open(smtest.env("SMR_HOT_FUNCTIONS")).read().split())
    own = {}
    for line in readelf(["-sW"], smtest.env("SMR_BOOTSTRAP_UNSTRIPPED")).splitlines():
        p = line.split()
        if len(p) >= 8 and p[3] == "FUNC" and p[6] != "UND" and re.match(r"(rot|sm)_", p[7]):
            own[p[7]] = int(p[1], 16)
    listed = [a for name, a in own.items() if name in hot]
    assert len(listed) > 50, "only %d of our functions are in the list" % len(listed)
    first, last = min(listed), max(listed)
    others = sorted(name for name, a in own.items() if name not in hot and first < a < last)
    assert not others, "between the hot functions: %s" % ", ".join(others)


def test_package_lambda_zip_size_is_reported():
    report_size(real_zip(), os.path.basename(real_zip()))


if __name__ == "__main__":
    smtest.run(globals())
