"""End-to-end rotation cases, written once for every engine.

Each case drives the real bootstrap through the fake Lambda, with the secret in the local Secrets
Manager and the user in a real database server (tests/lib/db.py: Postgres, MariaDB), and asserts
the end state in both: staging labels and values in the emulator, which passwords log in in the
database. tests/e2e/test_<engine>_rotation.py binds the cases to one engine.
"""
import json
import os
import sys
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

from smtest import assert_eq, assert_in  # noqa: E402
from stack import Stack  # noqa: E402

STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")


def unique(prefix="app"):
    return "%s_%s" % (prefix, uuid.uuid4().hex[:8])


def new_password():
    return "Init-" + uuid.uuid4().hex + "!"


class Case:
    """A database user, its secret in the emulator, and the stack around bootstrap."""

    def __init__(self, db, username=None, password=None, secret_extra=None, env=None,
                 handler="single-user", user_sql_extra="", create_user=True):
        self.db = db
        self.username = username or unique()
        self.password = password or new_password()
        self.users = [self.username]
        if not create_user:
            pass  # the caller made the user (e.g. on a particular host part)
        elif user_sql_extra:
            self.db.create_user(self.username, self.password, extra=user_sql_extra)
        else:
            self.db.create_user(self.username, self.password)
        base_env = {"SMROTATE_DB_CA_FILE": db.ca_file}
        base_env.update(env or {})
        self.stack = Stack(handler=handler, env=base_env)
        self.secret = db.secret(self.username, self.password, **(secret_extra or {}))
        self.arn = self.stack.create_secret("smr/" + uuid.uuid4().hex[:10], self.secret)
        self.seen_passwords = [self.password]

    def current(self):
        return self.stack.value(self.arn, "AWSCURRENT")

    def remember(self):
        for stage in ("AWSCURRENT", "AWSPENDING", "AWSPREVIOUS"):
            try:
                self.seen_passwords.append(self.stack.value(self.arn, stage)["password"])
            except Exception:  # noqa: BLE001 - a stage may hold no value
                pass

    def close(self, failed=False):
        self.remember()
        try:
            self.stack.assert_no_secrets(self.seen_passwords)
        finally:
            if failed:
                sys.stderr.write("--- bootstrap output ---\n" + self.stack.output()[-8000:])
            self.stack.close()
            self.db.drop_users(*self.users)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close(failed=exc[0] is not None)
        return False

    def run(self, token, steps=STEPS):
        for step in steps:
            ok, payload = self.stack.invoke(step, self.arn, token)
            if not ok:
                raise AssertionError("%s failed: %s" % (step, payload))

    def fails(self, step, token):
        ok, payload = self.stack.invoke(step, self.arn, token)
        assert not ok, "%s unexpectedly succeeded" % step
        return payload

    def current_version(self):
        return self.stack.version_of(self.arn, "AWSCURRENT")


def assert_nothing_staged(case, token):
    """The pending version is still RotateSecret's value-less stub."""
    assert_eq(case.stack.stages(case.arn).get(token), ["AWSPENDING"], "pending version labels")
    try:
        case.stack.value(case.arn, "AWSPENDING", token)
    except Exception as e:  # ResourceNotFoundException: no value was put
        assert_in("ResourceNotFoundException", str(e))
    else:
        raise AssertionError("the pending version %s has a value" % token)


def assert_rotated(case, token, old_version):
    stages = case.stack.stages(case.arn)
    assert_in("AWSCURRENT", stages[token], "new version labels")
    assert_eq(stages[old_version], ["AWSPREVIOUS"], "old version labels")
    new = case.current()
    assert new["password"] != case.password, "password changed"
    assert case.db.can_login(case.username, new["password"]), "new password logs in"
    assert not case.db.can_login(case.username, case.password), "old password refused"
    return new


# --- single user ---------------------------------------------------------------------------

def full_rotation(db):
    with Case(db) as case:
        old = case.current_version()
        token = case.stack.start_rotation(case.arn)
        case.run(token)
        assert_rotated(case, token, old)


def driven_by_service_with_rotation_token(db):
    with Case(db) as case:
        record = case.stack.rotate_via_service(case.arn)
        assert_eq(record.get("status"), "succeeded", "rotation outcome %r" % record)
        assert_eq(record.get("rotation_token_forwarded"), True, "RotationToken forwarded")
        assert case.db.can_login(case.username, case.current()["password"])


def every_step_twice(db):
    with Case(db) as case:
        old = case.current_version()
        token = case.stack.start_rotation(case.arn)
        pending = []
        for step in STEPS:
            for _ in range(2):
                case.run(token, (step,))
                if step == "createSecret":
                    pending.append(case.stack.value(case.arn, "AWSPENDING", token)["password"])
        assert pending[0] == pending[1], "a second createSecret keeps the pending value"
        assert_rotated(case, token, old)
        case.run(token)  # after finishSecret every step is a no-op success


def set_secret_rerun_after_password_changed(db):
    with Case(db) as case:
        token = case.stack.start_rotation(case.arn)
        case.run(token, ("createSecret",))
        pending = case.stack.value(case.arn, "AWSPENDING", token)
        db.set_password(case.username, pending["password"])  # a crash after the change
        case.run(token, ("setSecret", "testSecret", "finishSecret"))
        assert_in("already set as password", case.stack.output())
        assert db.can_login(case.username, case.current()["password"])


def current_wrong_previous_right(db):
    with Case(db) as case:
        wrong = dict(case.secret, password="wrong-" + uuid.uuid4().hex)
        case.stack.sm.call("PutSecretValue", {"SecretId": case.arn,
                                              "SecretString": json.dumps(wrong),
                                              "ClientRequestToken": str(uuid.uuid4())})
        case.seen_passwords.append(wrong["password"])
        token = case.stack.start_rotation(case.arn)
        case.run(token)
        assert db.can_login(case.username, case.current()["password"])
        assert_in("AWSPREVIOUS", case.stack.output())


def no_working_credentials(db):
    with Case(db) as case:
        token = case.stack.start_rotation(case.arn)
        case.run(token, ("createSecret",))
        db.set_password(case.username, "elsewhere-" + uuid.uuid4().hex)
        payload = case.fails("setSecret", token)
        assert_in("Unable to log into database with previous, current, or pending secret",
                  payload["errorMessage"])
        assert_eq(case.stack.stages(case.arn)[token], ["AWSPENDING"], "pending stays pending")


def prologue_errors(db):
    with Case(db) as case:
        token = case.stack.start_rotation(case.arn)
        payload = case.fails("setSecret", str(uuid.uuid4()))
        assert_in("has no stage for rotation of secret", payload["errorMessage"])
        current = case.current_version()
        for step in STEPS:
            ok, payload = case.stack.invoke(step, case.arn, current)
            assert ok, "token already AWSCURRENT is a success for %s: %s" % (step, payload)
        payload = case.fails("rotateSecret", token)
        assert_eq(payload["errorMessage"],
                  "Invalid step parameter rotateSecret for secret %s" % case.arn)
        case.run(token)
        old = [v for v, labels in case.stack.stages(case.arn).items() if labels == ["AWSPREVIOUS"]][0]
        payload = case.fails("testSecret", old)
        assert_in("not set as AWSPENDING for rotation of secret", payload["errorMessage"])
        token2 = case.stack.start_rotation(case.arn)
        case.stack.sm.call("CancelRotateSecret", {"SecretId": case.arn})
        payload = case.fails("createSecret", token2)
        assert_in("not enabled for rotation", payload["errorMessage"])


def invalid_current_stages_nothing(db):
    with Case(db, secret_extra={"port": "abc"}) as case:
        token = case.stack.start_rotation(case.arn)
        payload = case.fails("createSecret", token)
        assert_in("port in secret JSON must be a whole number", payload["errorMessage"])
        ops = [c["operation"] for c in case.stack.calls()]
        assert "PutSecretValue" not in ops and "GetRandomPassword" not in ops, ops


def wrong_engine_and_missing_field(db):
    with Case(db, secret_extra={"engine": "oracle"}) as case:
        token = case.stack.start_rotation(case.arn)
        payload = case.fails("createSecret", token)
        assert_in("Database engine must be set to one of", payload["errorMessage"])
        assert_in("'%s'" % db.engine, payload["errorMessage"])
        bad = dict(case.secret, engine=db.engine)
        del bad["host"]
        arn = case.stack.create_secret("smr/" + uuid.uuid4().hex[:10], bad)
        token = case.stack.start_rotation(arn)
        ok, payload = case.stack.invoke("createSecret", arn, token)
        assert not ok
        assert_in("host key is missing from secret JSON", payload["errorMessage"])


def hostile_username(db, name):
    with Case(db, username=name) as case:
        old = case.current_version()
        token = case.stack.start_rotation(case.arn)
        case.run(token)
        assert_rotated(case, token, old)


def special_character_passwords(db):
    punct = "!\"#&()*+,-./:;<=>?@[]^_`{|}~"  # everything but ' \ % $
    with Case(db, password="p'w\\%$" + uuid.uuid4().hex,
              env={"EXCLUDE_CHARACTERS": punct, "PASSWORD_LENGTH": "40"}) as case:
        old = case.current_version()
        token = case.stack.start_rotation(case.arn)
        case.run(token)
        new = assert_rotated(case, token, old)
        assert any(ch in new["password"] for ch in "'\\%$"), "special characters generated"


def password_policy_from_env(db):
    env = {"PASSWORD_LENGTH": "20", "EXCLUDE_PUNCTUATION": "yes", "EXCLUDE_UPPERCASE": "true"}
    with Case(db, env=env) as case:
        token = case.stack.start_rotation(case.arn)
        case.run(token)
        pw = case.current()["password"]
        assert_eq(len(pw), 20, "length")
        assert pw.isalnum() and pw == pw.lower(), "no punctuation, no uppercase"


def tls_required_with_test_ca(db):
    with Case(db, secret_extra={"ssl": True}) as case:
        old = case.current_version()
        token = case.stack.start_rotation(case.arn)
        case.run(token)
        assert_rotated(case, token, old)


def tls_wrong_ca_fails_without_downgrade(db):
    for ssl in (True, None):
        extra = {"ssl": True} if ssl else {}
        with Case(db, secret_extra=extra, env={"SMROTATE_DB_CA_FILE": db.bad_ca_file()}) as case:
            token = case.stack.start_rotation(case.arn)
            case.run(token, ("createSecret",))
            payload = case.fails("setSecret", token)
            assert_eq(payload["errorType"], "DatabaseTlsFailed", "error type")
            assert db.can_login(case.username, case.password), "nothing changed"


def unreachable_host(db):
    with Case(db, secret_extra={"port": 1}) as case:
        token = case.stack.start_rotation(case.arn)
        case.run(token, ("createSecret",))
        t0 = time.monotonic()
        payload = case.fails("setSecret", token)
        assert time.monotonic() - t0 < 10, "fails fast"
        assert_eq(payload["errorType"], "DatabaseUnreachable", "error type")
        assert "Unable to log into database" not in payload["errorMessage"], payload
        assert db.can_login(case.username, case.password), "nothing changed"


def extra_json_keys_preserved(db):
    extra = {"proxyhost": "proxy.example", "dbClusterIdentifier": "c1",
             "nested": {"a": [1, 2, {"b": "é"}]}, "weight": 1.5, "enabled": True, "note": None}
    with Case(db, secret_extra=extra) as case:
        token = case.stack.start_rotation(case.arn)
        case.run(token)
        new = case.current()
        for k, v in extra.items():
            assert_eq(new[k], v, k)
        assert_eq(list(new.keys()), list(case.secret.keys()), "key order")


def rotate_immediately_false_runs_only_test_secret(db):
    with Case(db) as case:
        case.stack.sm_control("POST", "/_fake/driver", {"enabled": True})
        case.stack.sm.call("RotateSecret", {"SecretId": case.arn, "RotateImmediately": False,
                                            "ClientRequestToken": str(uuid.uuid4()),
                                            "RotationLambdaARN": case.stack.lambda_arn()})
        records = case.stack.sm_control("GET", "/_fake/rotations?wait=30")
        assert_eq(records[-1]["status"], "succeeded", "testSecret alone passes: %r" % records)
        assert_eq([s["step"] for s in records[-1]["steps"]], ["testSecret"], "steps")
        assert db.can_login(case.username, case.password), "password unchanged"


# --- alternating users -----------------------------------------------------------------------

class MultiCase(Case):
    """A user, a superuser secret, and the user's secret pointing at it through masterarn."""

    def __init__(self, db, master_extra=None, master_password=None, username=None, **kw):
        self.master_user = unique("master")
        self.master_password = new_password()
        db.create_superuser(self.master_user, self.master_password)
        super().__init__(db, handler="multi-user", username=username, **kw)
        self.users += [self.username + "_clone", self.master_user]
        master = db.secret(self.master_user, master_password or self.master_password,
                           **(master_extra or {}))
        self.master_arn = self.stack.create_secret("smr/master-" + uuid.uuid4().hex[:8], master)
        self.seen_passwords.append(self.master_password)
        self.secret["masterarn"] = self.master_arn
        self.stack.sm.call("PutSecretValue", {"SecretId": self.arn,
                                              "SecretString": json.dumps(self.secret),
                                              "ClientRequestToken": str(uuid.uuid4())})


def multi_two_rotations_alternate_and_keep_previous_working(db):
    with MultiCase(db) as case:
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


def multi_every_step_twice(db):
    with MultiCase(db) as case:
        token = case.stack.start_rotation(case.arn)
        for step in STEPS:
            case.run(token, (step, step))
        new = case.current()
        assert db.can_login(new["username"], new["password"])


def multi_missing_masterarn(db):
    with MultiCase(db) as case:
        no_master = dict(case.secret)
        del no_master["masterarn"]
        case.stack.sm.call("PutSecretValue", {"SecretId": case.arn,
                                              "SecretString": json.dumps(no_master),
                                              "ClientRequestToken": str(uuid.uuid4())})
        token = case.stack.start_rotation(case.arn)
        payload = case.fails("createSecret", token)
        assert_in("masterarn key is missing from secret JSON", payload["errorMessage"])
        assert_nothing_staged(case, token)


def multi_master_on_another_host(db):
    # The user's host is an IP address, which names no RDS instance: refused before any RDS
    # call and before anything is staged.
    with MultiCase(db, master_extra={"host": "localhost"}) as case:
        token = case.stack.start_rotation(case.arn)
        payload = case.fails("createSecret", token)
        assert_in("is not the same host as/rds replica of master localhost",
                  payload["errorMessage"])
        assert_nothing_staged(case, token)


def multi_master_cannot_log_in(db):
    with MultiCase(db, master_password="not-the-password") as case:
        token = case.stack.start_rotation(case.arn)
        case.run(token, ("createSecret",))
        payload = case.fails("setSecret", token)
        assert_in("Unable to log into database using credentials in master secret",
                  payload["errorMessage"])


def multi_username_too_long(db):
    name = ("u" * (db.max_username - 3))
    with MultiCase(db, username=name) as case:
        token = case.stack.start_rotation(case.arn)
        payload = case.fails("createSecret", token)
        assert_in("Unable to clone user, username length with _clone appended would exceed %d"
                  % db.max_username, payload["errorMessage"])


def multi_pending_login_finishes_a_rerun(db):
    """setSecret landed, then the current user's password changed elsewhere (or its login broke):
    the rerun finds the pending login working and is done, as the template's order has it."""
    with MultiCase(db) as case:
        token = case.stack.start_rotation(case.arn)
        case.run(token, ("createSecret", "setSecret"))
        db.set_password(case.username, new_password())  # current no longer logs in
        case.run(token, ("setSecret", "testSecret", "finishSecret"))
        assert_in("AWSPENDING secret is already set as password", case.stack.output())
        new = case.current()
        assert db.can_login(new["username"], new["password"])


def multi_existing_clone_changes_are_warned_first(db, revokes_grants):
    """A clone that already exists and differs from the original (PostgreSQL: not a member of it;
    MySQL: a grant the original lacks): one WARN line names what changes before the rotation
    changes it; on MySQL the extra grant is revoked."""
    with MultiCase(db) as case:
        clone = case.username + "_clone"
        db.create_user(clone, new_password())
        table = db.create_readable_table(clone)  # a privilege only the clone has
        token = case.stack.start_rotation(case.arn)
        case.run(token)
        warns = [line for line in case.stack.output().splitlines()
                 if "WARN" in line and clone in line]
        assert len(warns) >= 1, "a WARN line names the clone's changes"
        new = case.current()
        assert_eq(new["username"], clone, "the clone is current")
        assert db.can_login(clone, new["password"])
        if revokes_grants:
            try:
                db.query_as(clone, new["password"], table)
            except Exception:
                pass
            else:
                raise AssertionError("the clone kept a grant the original does not have")
