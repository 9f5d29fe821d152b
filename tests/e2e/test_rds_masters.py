"""End-to-end: RDS-managed master secrets, read replicas, Aurora readers and the per-secret
strategy (Handler auto), against every server of tests/lib/db.py (cases in
tests/e2e/rds_cases.py; ctest rds_<server>_<case>)."""
import os
import sys
import tempfile
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import cases  # noqa: E402
import rds_cases  # noqa: E402
import smtest  # noqa: E402
from db import SERVERS, MariaDB, MySQL, Postgres  # noqa: E402
from smtest import assert_eq  # noqa: E402
from stack import Stack  # noqa: E402


def test_rds_SERVER_managed_master_by_instance_tag_keeps_other_keys(db):
    rds_cases.managed_master_by_instance_tag(db)

def test_rds_SERVER_managed_master_by_aurora_cluster_tag(db):
    rds_cases.managed_master_by_cluster_tag(db)

def test_rds_SERVER_managed_master_requests_per_step_are_pinned(db):
    rds_cases.managed_master_requests_per_step(db)

def test_rds_SERVER_user_on_read_replica_set_through_master_tested_at_replica(db):
    rds_cases.user_on_read_replica(db)

def test_rds_SERVER_user_on_aurora_reader_endpoint(db):
    rds_cases.user_on_aurora_reader_endpoint(db)

def test_rds_SERVER_user_on_aurora_reader_instance(db):
    rds_cases.user_on_aurora_reader_instance(db)

def test_rds_SERVER_plain_engine_user_on_aurora_reader(db):
    rds_cases.plain_engine_user_on_aurora_reader(db)

def test_rds_SERVER_host_that_is_no_replica_refused_nothing_staged(db):
    rds_cases.host_that_is_no_replica_refused(db)

def test_rds_SERVER_unknown_instance_in_tag_fails_clearly(db):
    rds_cases.unknown_instance_in_tag(db)

def test_rds_SERVER_throttling_is_retried(db):
    rds_cases.rds_throttling_is_retried(db)

def test_rds_SERVER_access_denied_names_missing_permission(db):
    rds_cases.rds_access_denied_names_permission(db)

def test_rds_SERVER_master_with_host_makes_no_rds_call(db):
    rds_cases.master_with_host_makes_no_rds_call(db)

def test_rds_SERVER_tls_verify_full_refuses_name_certificate_lacks(db):
    rds_cases.tls_full_refuses_name_certificate_lacks(db)

def test_strategy_SERVER_single_user_with_masterarn_warns_once_per_invocation(db):
    rds_cases.single_user_with_masterarn_warns(db)


def test_strategy_auto_rotates_single_and_alternating_of_every_server_in_one_process():
    dbs = (Postgres(), MariaDB(), MySQL())
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


smtest.run(globals(), SERVERS)
