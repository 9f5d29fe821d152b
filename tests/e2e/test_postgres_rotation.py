"""End to end: Secrets Manager rotation events -> fake Lambda -> real bootstrap -> real PostgreSQL,
with the local Secrets Manager holding the secret. Each case asserts the end state in the emulator
(labels, values) and in the database (which password logs in)."""
import json
import os
import sys
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import smtest  # noqa: E402
from db import Postgres  # noqa: E402
from smtest import assert_eq, assert_in  # noqa: E402
from stack import Stack  # noqa: E402

STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")


def unique(prefix="app"):
    return "%s_%s" % (prefix, uuid.uuid4().hex[:8])


def new_password():
    return "Init-" + uuid.uuid4().hex + "!"


class Case:
    """A PostgreSQL user, its secret in the emulator, and the stack around bootstrap."""

    def __init__(self, username=None, password=None, secret_extra=None, env=None,
                 handler="single-user", create_user=True):
        self.pg = Postgres()
        self.username = username or unique()
        self.password = password or new_password()
        if create_user:
            self.pg.create_user(self.username, self.password)
        base_env = {"SMROTATE_DB_CA_FILE": self.pg.ca_file}
        base_env.update(env or {})
        self.stack = Stack(handler=handler, env=base_env)
        self.secret = {"engine": "postgres", "host": self.pg.host, "username": self.username,
                       "password": self.password, "dbname": "postgres", "port": self.pg.port}
        self.secret.update(secret_extra or {})
        self.arn = self.stack.create_secret("smr/" + uuid.uuid4().hex[:10], self.secret)
        self.seen_passwords = [self.password]

    def current(self):
        return self.stack.value(self.arn, "AWSCURRENT")

    def remember(self):
        for stage in ("AWSCURRENT", "AWSPENDING"):
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
                sys.stderr.write(self.stack.output()[-6000:])
            self.stack.close()
            try:
                self.pg.drop_user(self.username)
            except Exception:  # noqa: BLE001
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close(failed=exc[0] is not None)
        return False


def run_steps(case, token, steps=STEPS, expect_ok=True):
    results = []
    for step in steps:
        ok, payload = case.stack.invoke(step, case.arn, token)
        if expect_ok and not ok:
            raise AssertionError("%s failed: %s" % (step, payload))
        results.append((ok, payload))
    return results


def assert_rotated(case, token, old_version):
    stages = case.stack.stages(case.arn)
    assert_in("AWSCURRENT", stages[token], "new version labels")
    assert_eq(stages[old_version], ["AWSPREVIOUS"], "old version labels")
    new = case.current()
    assert new["password"] != case.password, "password changed"
    assert case.pg.can_login(case.username, new["password"]), "new password logs in"
    assert not case.pg.can_login(case.username, case.password), "old password refused"
    return new


def test_rotation_pg_full_rotation_moves_labels_and_password():
    with Case() as case:
        old = case.stack.version_of(case.arn, "AWSCURRENT")
        token = case.stack.start_rotation(case.arn)
        run_steps(case, token)
        assert_rotated(case, token, old)
        # The password reached PostgreSQL as a SCRAM verifier, not cleartext.
        verifier = case.pg.admin("SELECT rolpassword FROM pg_authid WHERE rolname = %s"
                                 % case.pg.literal(case.username))
        assert verifier.startswith("SCRAM-SHA-256$"), "stored as SCRAM"


def test_rotation_pg_driven_by_the_service_with_rotation_token():
    with Case() as case:
        record = case.stack.rotate_via_service(case.arn)
        assert_eq(record.get("status"), "succeeded", "rotation outcome %r" % record)
        new = case.current()
        assert case.pg.can_login(case.username, new["password"])
        assert record.get("rotation_token_forwarded") is True, "RotationToken forwarded"


def test_rotation_pg_every_step_twice_converges():
    with Case() as case:
        old = case.stack.version_of(case.arn, "AWSCURRENT")
        token = case.stack.start_rotation(case.arn)
        pending_values = []
        for step in STEPS:
            for _ in range(2):
                ok, payload = case.stack.invoke(step, case.arn, token)
                assert ok, "%s failed: %s" % (step, payload)
                if step == "createSecret":
                    pending_values.append(case.stack.value(case.arn, "AWSPENDING", token)["password"])
        assert_eq(pending_values[0], pending_values[1], "second createSecret kept the value")
        assert_rotated(case, token, old)
        # After finishSecret every step is a no-op success.
        run_steps(case, token)


def test_rotation_pg_set_secret_rerun_after_password_changed():
    with Case() as case:
        token = case.stack.start_rotation(case.arn)
        run_steps(case, token, ("createSecret",))
        pending = case.stack.value(case.arn, "AWSPENDING", token)
        # The database already has the new password (a crash after ALTER USER).
        case.pg.admin("ALTER ROLE %s WITH PASSWORD %s" % (case.pg.ident(case.username),
                                                          case.pg.literal(pending["password"])))
        run_steps(case, token, ("setSecret", "testSecret", "finishSecret"))
        assert_in("already set as password", case.stack.output())
        assert case.pg.can_login(case.username, case.current()["password"])


def test_rotation_pg_current_wrong_previous_right_recovers():
    with Case() as case:
        # Someone put a wrong password into AWSCURRENT; AWSPREVIOUS holds the working one.
        wrong = dict(case.secret, password="wrong-" + uuid.uuid4().hex)
        case.stack.sm.call("PutSecretValue", {"SecretId": case.arn, "SecretString": json.dumps(wrong),
                                              "ClientRequestToken": str(uuid.uuid4())})
        case.seen_passwords.append(wrong["password"])
        token = case.stack.start_rotation(case.arn)
        run_steps(case, token)
        assert case.pg.can_login(case.username, case.current()["password"])
        assert_in("AWSPREVIOUS", case.stack.output())


def test_rotation_pg_no_working_credentials_fails_clearly_and_keeps_current():
    with Case() as case:
        token = case.stack.start_rotation(case.arn)
        run_steps(case, token, ("createSecret",))
        case.pg.admin("ALTER ROLE %s WITH PASSWORD %s" % (case.pg.ident(case.username),
                                                          case.pg.literal("elsewhere-" + uuid.uuid4().hex)))
        ok, payload = case.stack.invoke("setSecret", case.arn, token)
        assert not ok
        assert_in("Unable to log into database with previous, current, or pending secret",
                  payload["errorMessage"])
        assert_in("password authentication failed", payload["errorMessage"])
        assert_in("AWSCURRENT", case.stack.stages(case.arn)[case.stack.version_of(case.arn, "AWSCURRENT")])


def test_rotation_pg_prologue_errors_use_template_messages():
    with Case() as case:
        token = case.stack.start_rotation(case.arn)
        ok, payload = case.stack.invoke("setSecret", case.arn, str(uuid.uuid4()))
        assert not ok
        assert_in("has no stage for rotation of secret", payload["errorMessage"])
        previous_current = case.stack.version_of(case.arn, "AWSCURRENT")
        ok, payload = case.stack.invoke("createSecret", case.arn, previous_current)
        assert ok, "token already AWSCURRENT is a success for any step"
        ok, payload = case.stack.invoke("finishSecret", case.arn, previous_current)
        assert ok
        ok, payload = case.stack.invoke("rotateSecret", case.arn, token)
        assert not ok
        assert_eq(payload["errorMessage"], "Invalid step parameter rotateSecret for secret %s" % case.arn)
        # A version that is neither current nor pending.
        run_steps(case, token)
        old = [v for v, labels in case.stack.stages(case.arn).items() if labels == ["AWSPREVIOUS"]][0]
        ok, payload = case.stack.invoke("testSecret", case.arn, old)
        assert not ok
        assert_in("not set as AWSPENDING for rotation of secret", payload["errorMessage"])
        # Rotation switched off.
        case.stack.sm.call("CancelRotateSecret", {"SecretId": case.arn})
        ok, payload = case.stack.invoke("createSecret", case.arn, token)
        assert ok or "not enabled for rotation" in payload["errorMessage"]


def test_rotation_pg_invalid_current_secret_stages_nothing():
    with Case(secret_extra={"port": "abc"}) as case:
        token = case.stack.start_rotation(case.arn)
        ok, payload = case.stack.invoke("createSecret", case.arn, token)
        assert not ok
        assert_in("port in secret JSON must be a whole number", payload["errorMessage"])
        assert not any(c["operation"] in ("PutSecretValue", "GetRandomPassword")
                       for c in case.stack.calls())


def test_rotation_pg_wrong_engine_and_missing_fields():
    with Case(secret_extra={"engine": "oracle"}) as case:
        token = case.stack.start_rotation(case.arn)
        ok, payload = case.stack.invoke("createSecret", case.arn, token)
        assert not ok
        assert_in("Database engine must be set to one of", payload["errorMessage"])
        assert_in("'postgres'", payload["errorMessage"])
    case = Case()
    try:
        del case.secret["host"]
        arn = case.stack.create_secret("smr/" + uuid.uuid4().hex[:10], case.secret)
        token = case.stack.start_rotation(arn)
        ok, payload = case.stack.invoke("createSecret", arn, token)
        assert not ok
        assert_in("host key is missing from secret JSON", payload["errorMessage"])
    finally:
        case.close()


def test_rotation_pg_hostile_username_quotes_spaces_mixed_case():
    with Case(username="App \"Quoted\" O'Brien; DROP " + uuid.uuid4().hex[:6]) as case:
        old = case.stack.version_of(case.arn, "AWSCURRENT")
        token = case.stack.start_rotation(case.arn)
        run_steps(case, token)
        assert_rotated(case, token, old)


def test_rotation_pg_passwords_with_quote_backslash_percent_dollar():
    # Current password carries the characters; the new one is drawn from them too.
    punct = "!\"#&()*+,-./:;<=>?@[]^_`{|}~"
    with Case(password="p'w\\%$" + uuid.uuid4().hex,
              env={"EXCLUDE_CHARACTERS": punct, "PASSWORD_LENGTH": "40"}) as case:
        old = case.stack.version_of(case.arn, "AWSCURRENT")
        token = case.stack.start_rotation(case.arn)
        run_steps(case, token)
        new = assert_rotated(case, token, old)
        assert any(ch in new["password"] for ch in "'\\%$"), "special characters generated"


def test_rotation_pg_tls_required_with_test_ca():
    with Case(secret_extra={"ssl": True}) as case:
        old = case.stack.version_of(case.arn, "AWSCURRENT")
        token = case.stack.start_rotation(case.arn)
        run_steps(case, token)
        assert_rotated(case, token, old)


def test_rotation_pg_tls_required_wrong_ca_fails_without_downgrade():
    pg = Postgres()
    with Case(secret_extra={"ssl": True}, env={"SMROTATE_DB_CA_FILE": pg.env["PG_BAD_CA_FILE"]}) as case:
        token = case.stack.start_rotation(case.arn)
        run_steps(case, token, ("createSecret",))
        ok, payload = case.stack.invoke("setSecret", case.arn, token)
        assert not ok
        assert case.pg.can_login(case.username, case.password), "nothing changed"


def test_rotation_pg_unreachable_host_fails_clearly_nothing_lost():
    with Case(secret_extra={"port": 1}) as case:
        token = case.stack.start_rotation(case.arn)
        run_steps(case, token, ("createSecret",))
        ok, payload = case.stack.invoke("setSecret", case.arn, token)
        assert not ok
        assert_eq(payload["errorType"], "DatabaseUnreachable")
        assert "Unable to log into database" not in payload["errorMessage"], payload
        assert_in("AWSCURRENT", case.stack.stages(case.arn)[case.stack.version_of(case.arn, "AWSCURRENT")])


def test_rotation_pg_extra_json_keys_preserved():
    extra = {"proxyhost": "proxy.example", "dbClusterIdentifier": "c1",
             "nested": {"a": [1, 2, {"b": "é"}]}, "weight": 1.5, "enabled": True, "note": None}
    with Case(secret_extra=extra) as case:
        token = case.stack.start_rotation(case.arn)
        run_steps(case, token)
        new = case.current()
        for k, v in extra.items():
            assert_eq(new[k], v, k)
        assert_eq(list(new.keys()), list(case.secret.keys()), "key order")


def test_rotation_pg_rotate_immediately_false_runs_only_test_secret():
    with Case() as case:
        case.stack.sm_control("POST", "/_fake/driver", {"enabled": True})
        case.stack.sm.call("RotateSecret", {"SecretId": case.arn, "RotateImmediately": False,
                                            "ClientRequestToken": str(uuid.uuid4()),
                                            "RotationLambdaARN": case.stack.lambda_arn()})
        import time
        for _ in range(200):
            done = [r for r in case.stack.rotations() if r.get("status") in ("succeeded", "failed")]
            if done:
                break
            time.sleep(0.05)
        assert_eq(done[0]["status"], "succeeded", "testSecret alone passes: %r" % done)
        assert case.pg.can_login(case.username, case.password), "password unchanged"


smtest.run(globals())
