"""The fault matrix (tests/e2e/fault_matrix.py) for each engine and strategy."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import fault_matrix  # noqa: E402
import smtest  # noqa: E402
from db import MariaDB, Postgres  # noqa: E402


def test_fault_matrix_pg_single_user_converges():
    fault_matrix.run(Postgres(), "single-user", "postgres/single-user")


def test_fault_matrix_pg_multi_user_converges():
    fault_matrix.run(Postgres(), "multi-user", "postgres/multi-user")


def test_fault_matrix_mysql_single_user_converges():
    fault_matrix.run(MariaDB(), "single-user", "mariadb/single-user")


def test_fault_matrix_mysql_multi_user_converges():
    fault_matrix.run(MariaDB(), "multi-user", "mariadb/multi-user")


def test_fault_matrix_pg_managed_master_converges():
    fault_matrix.run(Postgres(), "multi-user", "postgres/managed-master", managed=True)


def test_fault_matrix_mysql_managed_master_converges():
    fault_matrix.run(MariaDB(), "multi-user", "mariadb/managed-master", managed=True)


smtest.run(globals())
