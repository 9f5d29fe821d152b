"""The fault matrix (tests/e2e/fault_matrix.py) for every server of tests/lib/db.py (pg, mariadb,
mysql) and both strategies, alternating users with an RDS-managed master, the kill cases of the
two strategies that set passwords through the master (two pre-created users, single user via the
master), and MySQL's single user with dual passwords."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import fault_matrix  # noqa: E402
import smtest  # noqa: E402
from db import SERVERS, MySQL  # noqa: E402


def test_fault_matrix_SERVER_single_user_converges(db):
    fault_matrix.run(db, "single-user", "%s/single-user" % db.name)


def test_fault_matrix_SERVER_multi_user_converges(db):
    fault_matrix.run(db, "multi-user", "%s/multi-user" % db.name)


def test_fault_matrix_SERVER_managed_master_converges(db):
    fault_matrix.run(db, "multi-user", "%s/managed-master" % db.name, managed=True)


def test_fault_matrix_SERVER_master_set_strategies_converge_after_kills(db):
    fault_matrix.run(db, None, "%s/two pre-created users" % db.name, variant="pair")
    fault_matrix.run(db, None, "%s/single user via the master" % db.name, variant="via-master")


def test_fault_matrix_mysql_dual_password_single_user_converges():
    fault_matrix.run(MySQL(), "single-user", "mysql/single-user with dual passwords", dual=True)


smtest.run(globals(), SERVERS)
