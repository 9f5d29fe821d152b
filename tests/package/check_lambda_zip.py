"""Checks of the real Lambda package: SMR_LAMBDA_ZIP, written by the lambda-zip target
(cmake/package.cmake) in a tree configured with -DSM_STATIC_DEPS=ON. Helpers are in
check_package.py; check_zip_rotation.py rotates with it in the glibc-only root.
"""
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
                           report_size, run, state_dir)


def real_zip():
    return smtest.env("SMR_LAMBDA_ZIP")


def test_package_lambda_zip_has_elf_bootstrap_at_root():
    check_bootstrap_entry(real_zip())
    name = os.path.basename(real_zip())
    if not re.fullmatch(r"smrotate-lambda-(x86_64|arm64)\.zip", name):
        raise AssertionError("the zip's name must carry the architecture: %s" % name)


def test_package_lambda_zip_needs_only_glibc_and_libgcc():
    check_self_contained(real_zip())


def test_package_lambda_zip_holds_only_bootstrap_certs_and_licences():
    with zipfile.ZipFile(real_zip()) as z:
        names = z.namelist()
    odd = [n for n in names if n not in ("bootstrap", "LICENSE", "THIRD_PARTY_NOTICES.md",
                                         "certs/rds-global-bundle.pem")
           and not n.startswith("licenses/")]
    if odd:
        raise AssertionError("unexpected entries: %s" % odd)
    check_licenses(real_zip())


def test_package_lambda_zip_has_mysql_auth_plugins_built_in():
    # MariaDB Connector/C's client plugins are linked in (no plugin directory in the package):
    # the unstripped bootstrap of the build tree names each plugin's declaration.
    out = run(["nm", smtest.env("SMR_BOOTSTRAP")])
    if out.returncode != 0:
        raise AssertionError("nm: %s" % out.stderr)
    symbols = set(re.findall(r"^\S+ [DdRr] (\S+)$", out.stdout, re.M))
    wanted = ["caching_sha2_password_client_plugin", "client_ed25519_client_plugin",
              "sha256_password_client_plugin", "mysql_native_password_client_plugin"]
    missing = [p for p in wanted if p not in symbols]
    if missing:
        raise AssertionError("not linked into bootstrap: %s (plugins found: %s)" %
                             (missing, sorted(s for s in symbols if s.endswith("_plugin"))))


def test_package_lambda_zip_runs_in_glibc_only_root_under_env_i():
    check_version_in_root(real_zip(), "smrotate")


def test_package_verify_script_accepts_the_package_and_refuses_others():
    # docker/verify.sh is what the Dockerfile runs inside provided.al2023: run natively here on
    # the unzipped package, and on a package whose bootstrap needs libssl.so.3.
    verify = os.path.join(smtest.env("SMR_SOURCE_DIR"), "docker", "verify.sh")
    with Package(real_zip()) as pkg:
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


def test_package_lambda_zip_size_is_reported():
    report_size(real_zip(), os.path.basename(real_zip()))


if __name__ == "__main__":
    smtest.run(globals())
