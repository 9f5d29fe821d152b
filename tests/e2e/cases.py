"""What the end-to-end cases share: a database user and its secret in the local Secrets Manager
with the stack around the real bootstrap (Case; MultiCase adds a superuser secret for
alternating users), for any server of tests/lib/db.py, and the assertions on the end state in
both: staging labels and values in the emulator, which passwords log in in the database. The
cases are in test_rotation.py (one suite for every server) and rds_cases.py.
"""
import json
import os
import sys
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
