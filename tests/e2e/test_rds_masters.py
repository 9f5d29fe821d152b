"""End-to-end: RDS-managed master secrets, read replicas, Aurora readers and the per-secret
strategy (Handler auto), against real PostgreSQL and MariaDB (cases in tests/e2e/rds_cases.py)."""
import os
import sys
import tempfile
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import cases  # noqa: E402
import rds_cases  # noqa: E402
import smtest  # noqa: E402
from db import MariaDB, Postgres  # noqa: E402
from smtest import assert_eq  # noqa: E402
from stack import Stack  # noqa: E402


def test_rds_pg_managed_master_by_instance_tag_keeps_other_keys():
    rds_cases.managed_master_by_instance_tag(Postgres())


def test_rds_mysql_managed_master_by_instance_tag_keeps_other_keys():
    rds_cases.managed_master_by_instance_tag(MariaDB())


def test_rds_pg_managed_master_by_aurora_cluster_tag():
    rds_cases.managed_master_by_cluster_tag(Postgres())


def test_rds_mysql_managed_master_by_aurora_cluster_tag():
    rds_cases.managed_master_by_cluster_tag(MariaDB())


def test_rds_pg_managed_master_requests_per_step_are_pinned():
    rds_cases.managed_master_requests_per_step(Postgres())


def test_rds_mysql_managed_master_requests_per_step_are_pinned():
    rds_cases.managed_master_requests_per_step(MariaDB())


def test_rds_pg_user_on_read_replica_set_through_master_tested_at_replica():
    rds_cases.user_on_read_replica(Postgres())


def test_rds_mysql_user_on_read_replica_set_through_master_tested_at_replica():
    rds_cases.user_on_read_replica(MariaDB())


def test_rds_pg_user_on_aurora_reader_endpoint():
    rds_cases.user_on_aurora_reader_endpoint(Postgres())


def test_rds_mysql_user_on_aurora_reader_endpoint():
    rds_cases.user_on_aurora_reader_endpoint(MariaDB())


def test_rds_pg_user_on_aurora_reader_instance():
    rds_cases.user_on_aurora_reader_instance(Postgres())


def test_rds_mysql_user_on_aurora_reader_instance():
    rds_cases.user_on_aurora_reader_instance(MariaDB())


def test_rds_pg_plain_engine_user_on_aurora_reader():
    rds_cases.plain_engine_user_on_aurora_reader(Postgres())


def test_rds_mysql_plain_engine_user_on_aurora_reader():
    rds_cases.plain_engine_user_on_aurora_reader(MariaDB())


def test_rds_pg_host_that_is_no_replica_refused_nothing_staged():
    rds_cases.host_that_is_no_replica_refused(Postgres())


def test_rds_mysql_host_that_is_no_replica_refused_nothing_staged():
    rds_cases.host_that_is_no_replica_refused(MariaDB())


def test_rds_pg_unknown_instance_in_tag_fails_clearly():
    rds_cases.unknown_instance_in_tag(Postgres())


def test_rds_mysql_unknown_instance_in_tag_fails_clearly():
    rds_cases.unknown_instance_in_tag(MariaDB())


def test_rds_pg_throttling_is_retried():
    rds_cases.rds_throttling_is_retried(Postgres())


def test_rds_mysql_throttling_is_retried():
    rds_cases.rds_throttling_is_retried(MariaDB())


def test_rds_pg_access_denied_names_missing_permission():
    rds_cases.rds_access_denied_names_permission(Postgres())


def test_rds_mysql_access_denied_names_missing_permission():
    rds_cases.rds_access_denied_names_permission(MariaDB())


def test_rds_pg_master_with_host_makes_no_rds_call():
    rds_cases.master_with_host_makes_no_rds_call(Postgres())


def test_rds_mysql_master_with_host_makes_no_rds_call():
    rds_cases.master_with_host_makes_no_rds_call(MariaDB())


def test_rds_pg_tls_verify_full_refuses_name_certificate_lacks():
    rds_cases.tls_full_refuses_name_certificate_lacks(Postgres())


def test_rds_mysql_tls_verify_full_refuses_name_certificate_lacks():
    rds_cases.tls_full_refuses_name_certificate_lacks(MariaDB())


def test_strategy_pg_single_user_with_masterarn_warns_once_per_invocation():
    rds_cases.single_user_with_masterarn_warns(Postgres())


def test_strategy_mysql_single_user_with_masterarn_warns_once_per_invocation():
    rds_cases.single_user_with_masterarn_warns(MariaDB())


def test_strategy_auto_rotates_single_and_alternating_of_both_engines_in_one_process():
    dbs = (Postgres(), MariaDB())
    with tempfile.NamedTemporaryFile("w", suffix=".pem", delete=False) as bundle:
        for db in dbs:
            with open(db.ca_file) as f:
                bundle.write(f.read())
    users, seen = [], []
    stack = Stack(handler="auto", env={"SMROTATE_DB_CA_FILE": bundle.name})
    failed = True
    try:
        pid = stack.bootstrap.pid
        subjects = []
        for db in dbs:
            for alternating in (False, True):
                user, password = cases.unique(), cases.new_password()
                db.create_user(user, password)
                users.append((db, user))
                users.append((db, user + "_clone"))
                seen.append(password)
                secret = db.secret(user, password)
                if alternating:
                    master, mpw = cases.unique("master"), cases.new_password()
                    db.create_superuser(master, mpw)
                    users.append((db, master))
                    seen.append(mpw)
                    secret["masterarn"] = stack.create_secret(
                        "smr/master-" + uuid.uuid4().hex[:8], db.secret(master, mpw))
                arn = stack.create_secret("smr/" + uuid.uuid4().hex[:10], secret)
                subjects.append((db, alternating, user, password, arn))
        for db, alternating, user, password, arn in subjects:
            token = stack.rotate_all_steps(arn)
            new = stack.value(arn)
            seen.append(new["password"])
            what = "%s %s" % (db.engine, "alternating" if alternating else "single")
            assert_eq(stack.version_of(arn, "AWSCURRENT"), token, what + ": AWSCURRENT")
            assert_eq(new["username"], user + "_clone" if alternating else user,
                      what + ": username")
            assert db.can_login(new["username"], new["password"]), what + ": new login"
            assert_eq(db.can_login(user, password), alternating,
                      what + ": the old password works only for alternating users")
            assert_eq(rds_cases.user_exists(db, user + "_clone"), alternating,
                      what + ": a clone only for alternating users")
        assert_eq(stack.bootstrap.pid, pid, "one bootstrap process")
        assert stack.bootstrap.poll() is None, "bootstrap still running"
        assert "masterarn), which the single-user" not in stack.output(), "no strategy WARN"
        assert_eq(stack.rds_stats()["api_calls"], 0, "requests to the fake RDS")
        stack.assert_no_secrets(seen)
        failed = False
    finally:
        if failed:
            sys.stderr.write("--- bootstrap output ---\n" + stack.output()[-8000:])
        stack.close()
        os.unlink(bundle.name)
        for db, user in users:
            db.drop_users(user)


smtest.run(globals())
