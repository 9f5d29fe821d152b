"""End-to-end rotation, one suite for every server of tests/lib/db.py (pg: PostgreSQL 15,
mariadb: MariaDB 10.11, mysql: MySQL 9.7): the real bootstrap through the fake Lambda and the
local Secrets Manager, against the fixture's real server, with TLS and without. A few smoke cases
for every server (test_rotation_SERVER_*: ctest rotation_<server>_*), then the cases only one
engine has. Each scenario is asserted at one level: the step logic (reruns, guards, prologue
errors, invalid secrets, recovery through AWSPREVIOUS, the pending login, unreachable databases)
in process (tests/unit/test_rotation_steps.c), what an engine does on its server in
tests/integration, reruns after every fault in the fault matrix.
"""
import os
import re
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import cases  # noqa: E402
import smtest  # noqa: E402
from db import SERVERS, MariaDB, MySQL, Postgres  # noqa: E402
from smtest import assert_eq, assert_in, assert_secret_eq  # noqa: E402


# --- every server ------------------------------------------------------------------------------

def test_rotation_SERVER_single_user_driven_by_the_service(db):
    """RotateSecret invokes the function for the four steps, as Secrets Manager does."""
    with cases.Case(db) as case:
        old = case.current_version()
        record = case.stack.rotate_via_service(case.arn)
        assert_eq(record.get("status"), "succeeded", "rotation outcome %r" % record)
        assert_eq(record.get("rotation_token_forwarded"), True, "RotationToken forwarded")
        cases.assert_rotated(case, case.current_version(), old)


def test_rotation_SERVER_multi_user_alternates_and_keeps_previous_working(db):
    with cases.MultiCase(db) as case:
        probe = db.create_readable_table(case.username)
        token = case.stack.start_rotation(case.arn)
        case.run(token)
        first = case.current()
        assert_eq(first["username"], case.username + "_clone", "first rotation's user")
        assert_eq(db.query_as(first["username"], first["password"], probe), "42",
                  "the clone can read what the user can")
        assert db.can_login(case.username, case.password), "previous credentials keep working"
        token2 = case.stack.start_rotation(case.arn)
        case.run(token2)
        second = case.current()
        assert_eq(second["username"], case.username, "second rotation flips back")
        assert second["password"] != case.password, "the original's password was reset"
        assert db.can_login(case.username, second["password"])
        assert not db.can_login(case.username, case.password)
        assert db.can_login(first["username"], first["password"]), "previous keeps working"
        assert_eq(db.query_as(second["username"], second["password"], probe), "42")


def test_rotation_SERVER_tls_required_with_the_test_ca(db):
    with cases.Case(db, secret_extra={"ssl": True}) as case:
        old = case.current_version()
        token = case.stack.start_rotation(case.arn)
        case.run(token)
        cases.assert_rotated(case, token, old)


def test_rotation_SERVER_without_tls_both_strategies(db):
    """The fixture's plain instance offers no TLS: every login of both strategies is plaintext
    (MySQL: caching_sha2_password's key exchange with the key the server sends)."""
    plain = db.without_tls()
    with cases.Case(plain) as case:
        old = case.current_version()
        token = case.stack.start_rotation(case.arn)
        case.run(token)
        cases.assert_rotated(case, token, old)
        assert_in("does not offer TLS", case.stack.output())
    with cases.MultiCase(plain) as case:
        case.run(case.stack.start_rotation(case.arn))
        new = case.current()
        assert_eq(new["username"], case.username + "_clone", "the clone is current")
        assert plain.can_login(new["username"], new["password"])
        assert plain.can_login(case.username, case.password), "the previous user keeps working"


def test_rotation_SERVER_hostile_username_and_password(db):
    """Quotes, backticks, a semicolon, non-ASCII in the name; quote, backslash, % and $ in the
    passwords (short enough for MySQL's 32 characters)."""
    name = "q'b`c\"d; DROP é " + uuid.uuid4().hex[:4]
    punct = "!\"#&()*+,-./:;<=>?@[]^_`{|}~"  # everything but ' \ % $
    with cases.Case(db, username=name, password="p'w\\%$" + uuid.uuid4().hex,
                    env={"EXCLUDE_CHARACTERS": punct, "PASSWORD_LENGTH": "40"}) as case:
        old = case.current_version()
        token = case.stack.start_rotation(case.arn)
        case.run(token)
        new = cases.assert_rotated(case, token, old)
        assert any(ch in new["password"] for ch in "'\\%$"), "special characters generated"


# --- PostgreSQL --------------------------------------------------------------------------------

def test_rotation_pg_password_reaches_server_as_scram_verifier():
    db = Postgres()
    with cases.Case(db) as case:
        case.run(case.stack.start_rotation(case.arn))
        verifier = db.admin("SELECT rolpassword FROM pg_authid WHERE rolname = %s"
                            % db.literal(case.username))
        assert verifier.startswith("SCRAM-SHA-256$"), "stored as SCRAM"
        with open(db.env["PG_LOG_FILE"], errors="replace") as f:
            assert case.current()["password"] not in f.read(), "no cleartext in the server log"


def test_rotation_pg_calls_and_logins_per_step_are_minimal():
    # bootstrap's DEBUG line per step counts its own requests and logins: one login for
    # setSecret on the common path, the prologue's DescribeSecret reused by finishSecret.
    with cases.Case(Postgres(), env={"AWS_LAMBDA_LOG_LEVEL": "DEBUG"}) as case:
        case.run(case.stack.start_rotation(case.arn))
        counts = dict((m.group(1), (int(m.group(2)), int(m.group(3)), int(m.group(4))))
                      for m in re.finditer(r"(\w+Secret): (\d+) Secrets Manager requests, (\d+) RDS "
                                           r"requests, (\d+) database logins", case.stack.output()))
        assert_eq(counts, {"createSecret": (5, 0, 0), "setSecret": (3, 0, 1),
                           "testSecret": (2, 0, 1), "finishSecret": (2, 0, 0)},
                  "Secrets Manager requests, RDS requests and logins per step")


def test_rotation_pg_password_encryption_server_lets_the_server_hash():
    # The opt-in for password-check hooks: the server hashes the password it receives, and
    # stores the verifier its own password_encryption says.
    db = Postgres()
    with cases.Case(db, env={"PASSWORD_ENCRYPTION": "server"}) as case:
        case.run(case.stack.start_rotation(case.arn))
        verifier = db.admin("SELECT rolpassword FROM pg_authid WHERE rolname = %s"
                            % db.literal(case.username))
        assert verifier.startswith("SCRAM-SHA-256$"), "hashed by the server as SCRAM"
        assert db.can_login(case.username, case.current()["password"])


def test_rotation_pg_rotate_immediately_false_runs_only_test_secret():
    db = Postgres()
    with cases.Case(db) as case:
        case.stack.sm_control("POST", "/_fake/driver", {"enabled": True})
        case.stack.sm.call("RotateSecret", {"SecretId": case.arn, "RotateImmediately": False,
                                            "ClientRequestToken": str(uuid.uuid4()),
                                            "RotationLambdaARN": case.stack.lambda_arn()})
        records = case.stack.sm_control("GET", "/_fake/rotations?wait=30")
        assert_eq(records[-1]["status"], "succeeded", "testSecret alone passes: %r" % records)
        assert_eq([s["step"] for s in records[-1]["steps"]], ["testSecret"], "steps")
        assert db.can_login(case.username, case.password), "password unchanged"


# --- MariaDB and MySQL -------------------------------------------------------------------------

def require_ssl_user_rotates_over_tls(db):
    with cases.Case(db, user_sql_extra="REQUIRE SSL") as case:
        assert not db.can_login(case.username, case.password), "plaintext refused"
        old = case.current_version()
        token = case.stack.start_rotation(case.arn)
        case.run(token)
        new = case.current()
        assert db.can_login(case.username, new["password"], ssl=True)
        assert not db.can_login(case.username, case.password, ssl=True)
        assert "AWSPREVIOUS" in case.stack.stages(case.arn)[old]


def multi_user_keeps_grant_option_and_host(db):
    user, password, host = cases.unique(), cases.new_password(), "127.0.0.1"
    db.create_user(user, password, host=host)
    db.admin("CREATE DATABASE IF NOT EXISTS smr_e2e")
    db.admin("GRANT SELECT ON smr_e2e.* TO %s WITH GRANT OPTION" % db.account(user, host))
    with cases.MultiCase(db, username=user, password=password, create_user=False) as case:
        token = case.stack.start_rotation(case.arn)
        case.run(token)
        clone = case.current()
        assert_eq(clone["username"], user + "_clone", "clone user")
        grants = db.admin("SHOW GRANTS FOR %s" % db.account(user + "_clone", host))
        assert_in("WITH GRANT OPTION", grants)
        hosts = db.admin("SELECT Host FROM mysql.user WHERE User = %s" % db.literal(user + "_clone"))
        assert_eq(hosts.split(), [host], "the clone lives on the user's real host part")
        assert db.can_login(clone["username"], clone["password"])


def test_rotation_mariadb_require_ssl_user_rotates_over_tls():
    require_ssl_user_rotates_over_tls(MariaDB())


def test_rotation_mysql_require_ssl_user_rotates_over_tls():
    require_ssl_user_rotates_over_tls(MySQL())


def test_rotation_mariadb_multi_user_keeps_grant_option_and_host():
    multi_user_keeps_grant_option_and_host(MariaDB())


def test_rotation_mysql_multi_user_keeps_grant_option_and_host():
    multi_user_keeps_grant_option_and_host(MySQL())


# --- MySQL -------------------------------------------------------------------------------------

def test_rotation_mysql_password_require_current_account_rotates():
    """PASSWORD REQUIRE CURRENT: setSecret's own-password change names the current password."""
    db = MySQL()
    with cases.Case(db, user_sql_extra="PASSWORD REQUIRE CURRENT") as case:
        old = case.current_version()
        token = case.stack.start_rotation(case.arn)
        case.run(token)
        cases.assert_rotated(case, token, old)


def test_rotation_mysql_without_tls_with_the_configured_server_public_key():
    """SMROTATE_MYSQL_SERVER_PUBLIC_KEY: the key caching_sha2_password encrypts with on a plain
    connection, instead of one the server (or a man in the middle) sends."""
    db = MySQL()
    plain = db.without_tls()
    env = {"SMROTATE_MYSQL_SERVER_PUBLIC_KEY": db.env["MYSQL_PUBLIC_KEY_NOTLS"]}
    with cases.Case(plain, env=env) as case:
        old = case.current_version()
        token = case.stack.start_rotation(case.arn)
        case.run(token)
        cases.assert_rotated(case, token, old)


def test_rotation_mysql_dual_password_keeps_previous_working_for_one_rotation():
    """SMROTATE_MYSQL_DUAL_PASSWORD: setSecret keeps the replaced password as the account's
    secondary one (RETAIN CURRENT PASSWORD), so AWSPREVIOUS logs in until the next rotation."""
    db = MySQL()
    with cases.Case(db, env={"SMROTATE_MYSQL_DUAL_PASSWORD": "true"}) as case:
        db.admin("GRANT APPLICATION_PASSWORD_ADMIN ON *.* TO %s" % db.account(case.username))
        passwords = [case.password]
        for _ in range(2):
            case.run(case.stack.start_rotation(case.arn))
            passwords.append(case.current()["password"])
            previous = case.stack.value(case.arn, "AWSPREVIOUS")["password"]
            assert_secret_eq(previous, passwords[-2], "AWSPREVIOUS is the replaced password")
            assert db.can_login(case.username, passwords[-1]), "AWSCURRENT logs in"
            assert db.can_login(case.username, previous), "AWSPREVIOUS logs in"
        assert not db.can_login(case.username, passwords[0]), "the oldest password is refused"


smtest.run(globals(), SERVERS)
