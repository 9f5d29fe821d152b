"""Checks of the real Lambda package: SMR_LAMBDA_ZIP, written by the lambda-zip target
(cmake/package.cmake) from bootstrap. Helpers and the probe-package checks are in
check_package.py. Registered only in unsanitized trees (tests/package.cmake).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import smtest  # noqa: E402
from check_package import (MARIADB_PLUGINS, Package, check_bootstrap_entry,  # noqa: E402
                           check_glibc, check_reproducible_layout, check_resolution,
                           check_runs_under_env_i, needed, real_zip, report_size)


def test_package_lambda_zip_has_elf_bootstrap_at_root():
    check_bootstrap_entry(real_zip())


def test_package_lambda_zip_needs_no_glibc_newer_than_2_34():
    check_glibc(real_zip())


def test_package_lambda_zip_resolves_non_base_libraries_in_lib():
    check_resolution(real_zip())


def test_package_lambda_zip_bundles_database_clients():
    # bootstrap links libpq and MariaDB Connector/C (the engines); both, cJSON, and the plugins
    # libmariadb loads with dlopen must be in the package.
    with Package(real_zip()) as pkg:
        libs = pkg.libs()
        missing = [n for n in ("libpq.so.5", "libmariadb.so.3", "libcjson.so.1") if n not in libs]
        if missing:
            raise AssertionError("not in lib/: %s (bootstrap NEEDED: %s)" %
                                 (missing, needed(pkg.path("bootstrap"))))
        for p in MARIADB_PLUGINS:
            if not os.path.isfile(pkg.path("lib", "mariadb", "plugin", p)):
                raise AssertionError("lib/mariadb/plugin/%s missing" % p)


def test_package_lambda_zip_runs_under_env_i():
    check_runs_under_env_i(real_zip(), "smrotate")


def test_package_lambda_zip_is_sorted_with_fixed_timestamps():
    check_reproducible_layout(real_zip())


def test_package_lambda_zip_size_is_reported():
    report_size(real_zip(), os.path.basename(real_zip()))


if __name__ == "__main__":
    smtest.run(globals())
