"""End to end, the read-only preflight check (README: "Before you enable rotation") for every
server of tests/lib/db.py: the real bootstrap answers {"Action": "check", "SecretId": ...} through
the fake Lambda with its JSON report, and `bootstrap check` from a shell prints the same report,
against the local Secrets Manager and RDS and the fixture's real server. Healthy single-user and
alternating-users setups pass every check; the broken setups that need a real server (a wrong
password, a master without privileges, a certificate that does not name the host, a closed port)
fail the check that names them. Every run proves it wrote nothing: the fakes' request logs hold
only reads, and the server's statement log (PostgreSQL's log_statement=all, the MariaDB and MySQL
general log) no write by any session of the check. The other broken setups are asserted in
process (tests/unit/test_check.c).
"""
import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import cases  # noqa: E402
import hosts  # noqa: E402
import smtest  # noqa: E402
from db import SERVERS  # noqa: E402
from smtest import assert_eq, assert_in  # noqa: E402
from stack import Stack, bootstrap_path  # noqa: E402

SINGLE_USER = ["secret-readable", "rotation-enabled", "no-incomplete-rotation", "secret-valid",
               "settings", "password-policy", "dns", "tcp", "tls", "login"]
ALTERNATING = ["secret-readable", "rotation-enabled", "no-incomplete-rotation", "secret-valid",
               "settings", "alternate-user", "password-policy", "master-secret", "master-host",
               "dns", "tcp", "tls", "login", "master-login", "master-privileges",
               "alternate-user-plan"]
READS = {"DescribeSecret", "GetSecretValue", "GetRandomPassword"}
# What a session of the check must never run.
WRITE = re.compile(r"^\s*(ALTER|CREATE|DROP|GRANT|REVOKE|RENAME|INSERT|UPDATE|DELETE|REPLACE|"
                   r"TRUNCATE|FLUSH|COMMENT|REASSIGN|SECURITY|SET\s+(PASSWORD|DEFAULT\s+ROLE|ROLE))\b",
                   re.I)


def enable_rotation(stack, arn):
    """RotateSecret with RotateImmediately=false and nobody driving it, then the test version's
    AWSPENDING removed, as the service does after its testSecret: rotation is enabled with the
    function, and no rotation is incomplete."""
    token = str(uuid.uuid4())
    stack.sm_control("POST", "/_fake/driver", {"enabled": False})
    stack.sm.call("RotateSecret", {"SecretId": arn, "ClientRequestToken": token,
                                   "RotationLambdaARN": stack.lambda_arn(),
                                   "RotateImmediately": False})
    stack.sm.call("UpdateSecretVersionStage", {"SecretId": arn, "VersionStage": "AWSPENDING",
                                               "RemoveFromVersionId": token})


def invoke_check(stack, arn):
    """The check event, as `aws lambda invoke` sends it; returns the report."""
    ok, report = stack.invoke_raw(json.dumps({"Action": "check", "SecretId": arn}).encode())
    assert ok, "the check invocation failed: %r" % (report,)
    return report


def check(report, name):
    for c in report["checks"]:
        if c["check"] == name:
            return c
    raise AssertionError("check %s did not run: %r" % (name, report))


def fails(report, name, needle=""):
    c = check(report, name)
    assert not c["ok"], "check %s passed: %r" % (name, report)
    assert_in(needle, c["detail"], "check %s" % name)
    assert report["ok"] is False


def names(report):
    return [c["check"] for c in report["checks"]]


class NoWrites:
    """Proves that what runs inside the block writes nothing: the fakes' call logs hold only reads
    and the server's statement log no write by the given users (whose sessions must show up)."""

    def __init__(self, stack, db, users):
        self.stack, self.db, self.users = stack, db, set(users)

    def __enter__(self):
        self.sm_mark = len(self.stack.calls())
        self.rds_mark = len(self.stack.rds_calls())
        self.db_mark = self.db.statement_mark()
        return self

    def __exit__(self, *exc):
        if exc[0] is not None:
            return False
        sm = [c["operation"] for c in self.stack.calls()[self.sm_mark:]]
        assert sm and set(sm) <= READS, "Secrets Manager calls of the check: %r" % sm
        rds = [c["operation"] for c in self.stack.rds_calls()[self.rds_mark:]]
        assert set(rds) <= {"DescribeDBInstances", "DescribeDBClusters"}, "RDS calls: %r" % rds
        ran = self.db.statements(self.db_mark, self.users)
        assert ran, "the statement log shows no session of %r" % sorted(self.users)
        writes = [s for s in ran if WRITE.match(s[1])]
        assert not writes, "the check wrote: %r" % writes
        self.ran = ran
        return False


@contextlib.contextmanager
def refused_port():
    """A port held bound and never listening for as long as the block runs: connections to it are
    refused, and no other process can take it meanwhile (a port closed again could be, and the
    "tcp" check would pass or fail by luck)."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield held.getsockname()[1]


# --- healthy setups, in Lambda -----------------------------------------------------------------

def test_check_SERVER_single_user_passes_and_writes_nothing(db):
    with cases.Case(db) as case:
        enable_rotation(case.stack, case.arn)
        with NoWrites(case.stack, db, [case.username]):
            report = invoke_check(case.stack, case.arn)
        assert_eq(names(report), SINGLE_USER, "checks")
        assert report["ok"] is True, "report %r" % report
        assert_eq((report["secretId"], report["strategy"], report["engine"]),
                  (case.arn, "single-user", db.engine), "report")
        assert_in("enabled with this function", check(report, "rotation-enabled")["detail"])
        assert db.can_login(case.username, case.password), "the password did not change"


def test_check_SERVER_alternating_users_passes_and_writes_nothing(db):
    with cases.MultiCase(db) as case:
        db.create_readable_table(case.username)
        enable_rotation(case.stack, case.arn)
        with NoWrites(case.stack, db, [case.username, case.master_user]) as proof:
            report = invoke_check(case.stack, case.arn)
        assert_eq(names(report), ALTERNATING, "checks")
        assert report["ok"] is True, "report %r" % report
        plan = check(report, "alternate-user-plan")["detail"]
        assert_in(case.username + "_clone", plan, "the plan names the clone")
        assert_in("<new password>", plan, "the plan shows no password")
        if db.engine == "postgres":
            assert_in("GRANT %s TO %s" % (db.ident(case.username), db.ident(case.username + "_clone")),
                      plan, "the clone becomes a member of the user")
        else:
            assert_in("GRANT SELECT ON `smr_e2e`.`t_", plan, "the user's grant is copied")
        assert not db.role_exists(case.username + "_clone"), "the check created the clone"
        inspected = [s for u, s in proof.ran if u == case.master_user]
        assert any("READ ONLY" in s.upper() for s in inspected), \
            "the master's inspection ran read-only: %r" % inspected


# --- broken setups that need a real server -----------------------------------------------------

class Broken:
    """One stack (Handler auto) and a secret per broken setup, for one server."""

    def __init__(self, db):
        self.db = db
        self.users = []
        self.stack = Stack(handler="auto", env={"SMROTATE_DB_CA_FILE": db.ca_file})

    def user(self, prefix="app"):
        name, password = cases.unique(prefix), cases.new_password()
        self.db.create_user(name, password)
        self.users.append(name)
        return name, password

    def secret(self, secret):
        arn = self.stack.create_secret("smr/" + uuid.uuid4().hex[:10], secret)
        enable_rotation(self.stack, arn)
        return arn

    def close(self):
        try:
            self.stack.close()
        finally:
            self.db.drop_users(*self.users)


def test_check_SERVER_broken_setups_fail_their_check(db):
    b = Broken(db)
    alias = None
    try:
        user, password = b.user()
        report = invoke_check(b.stack, b.secret(db.secret(user, "not-the-" + password)))
        fails(report, "login", "Unable to log into database using current credentials")
        assert check(report, "tls")["ok"], "TLS passed before the login was refused"

        weak, weak_password = b.user("weak")
        master = b.stack.create_secret("smr/master-" + uuid.uuid4().hex[:8],
                                       db.secret(weak, weak_password))
        report = invoke_check(b.stack, b.secret(db.secret(user, password, masterarn=master)))
        assert_eq(report["strategy"], "multi-user", "Handler auto with a master")
        assert check(report, "master-login")["ok"], "report %r" % report
        fails(report, "master-privileges", "cannot" if db.engine != "postgres" else "neither")
        assert "alternate-user-plan" not in names(report)

        alias = hosts.Alias((db.host, db.port), db.port)
        mismatch = dict(db.secret(user, password, ssl=True), host=alias.address)
        report = invoke_check(b.stack, b.secret(mismatch))
        assert check(report, "tcp")["ok"], "report %r" % report
        fails(report, "tls")
        assert "login" not in names(report)

        with refused_port() as port:
            report = invoke_check(b.stack, b.secret(dict(db.secret(user, password), port=port)))
        fails(report, "tcp", "cannot connect to")
        fails(report, "tcp", "DatabaseUnreachable")
        assert "tls" not in names(report)
    finally:
        if alias is not None:
            alias.close()
        b.close()


# --- from a shell ------------------------------------------------------------------------------

def shell_check(stack, *args):
    """`bootstrap check` with the stack's AWS settings in its environment; returns (exit status,
    stdout). What it printed is kept for the hygiene check."""
    env = {k: v for k, v in stack.bootstrap_env().items()
           if k not in ("AWS_LAMBDA_RUNTIME_API", "_HANDLER", "AWS_LAMBDA_FUNCTION_NAME")}
    r = subprocess.run([bootstrap_path(), "check"] + list(args), env=env, capture_output=True,
                       text=True, timeout=120)
    with open(stack.log_path, "a") as f:
        f.write(r.stdout + r.stderr)
    return r.returncode, r.stdout


def test_check_SERVER_from_a_shell(db):
    with cases.Case(db) as case:
        enable_rotation(case.stack, case.arn)
        with NoWrites(case.stack, db, [case.username]):
            status, out = shell_check(case.stack, "--secret-id", case.arn)
        assert_eq(status, 0, "exit status (%s)" % out)
        assert_in("all 11 checks passed", out)
        assert_in("credentials", out)
        status, out = shell_check(case.stack, "--secret-id", case.arn, "--json")
        assert_eq(status, 0, "exit status (%s)" % out)
        report = json.loads(out)
        assert_eq(names(report), ["credentials"] + SINGLE_USER, "checks")
        assert_in("environment variables", check(report, "credentials")["detail"])
        assert_in("rotation is enabled with the function " + case.stack.lambda_arn(),
                  check(report, "rotation-enabled")["detail"])
        assert_eq(report["strategy"], "single-user", "auto, without a master")
        status, out = shell_check(case.stack, "--secret-id", case.arn, "--json",
                                  "--strategy", "multi-user")
        assert_eq(status, 1, "exit status")
        fails(json.loads(out), "master-secret", "masterarn key is missing")
        with refused_port() as port:
            wrong = case.stack.create_secret("smr/" + uuid.uuid4().hex[:10],
                                             dict(case.secret, port=port))
            status, out = shell_check(case.stack, "--secret-id", wrong, "--json")
        assert_eq(status, 1, "exit status")
        fails(json.loads(out), "tcp", "outside the function's VPC")
        assert_eq(shell_check(case.stack)[0], 2, "no --secret-id: usage")


smtest.run(globals(), SERVERS)
