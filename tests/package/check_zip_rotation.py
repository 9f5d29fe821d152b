"""The real Lambda package rotates where nothing else exists: the lambda-zip output
(SMR_LAMBDA_ZIP) is unzipped into /var/task of a root file system that holds only Debian 12's
glibc and libgcc (tests/package/glibc_root.sh), and its bootstrap runs chrooted there with /proc
mounted (tests/package/in_root.sh) - no other library, no CA bundle, no /etc. The fakes (Secrets
Manager, the Lambda Runtime API) and the databases run outside on 127.0.0.1 and drive full
rotations: PostgreSQL and MariaDB, single user and alternating users, verified TLS with the test
CA copied into the root. The MariaDB users authenticate with ed25519, whose client plugin is
linked into bootstrap (there is no plugin directory).
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))

import cases  # noqa: E402
import smtest  # noqa: E402
from check_package import Root, TASK  # noqa: E402
from db import MariaDB, Postgres  # noqa: E402

# What Lambda sets on provided.al2023, with the task directory where it is in the root.
LAMBDA_ENV = {"LAMBDA_TASK_ROOT": TASK, "LD_LIBRARY_PATH":
              "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:%s:%s/lib:/opt/lib"
              % (TASK, TASK), "AWS_LAMBDA_LOG_FORMAT": "JSON"}
CA_IN_ROOT = "/etc/smrotate-test/ca.pem"


class Ed25519MariaDB(MariaDB):
    """MariaDB users created with the ed25519 authentication plugin."""

    def __init__(self):
        super().__init__()
        # The fixture loads the plugin (tests/scripts/mariadb.sh): only check it is there.
        assert self.admin("SELECT PLUGIN_STATUS FROM information_schema.PLUGINS "
                          "WHERE PLUGIN_NAME = 'ed25519'") == "ACTIVE", "ed25519 not loaded"

    def create_user(self, user, pw, host="%", extra=""):
        self.drop_user(user, host)
        self.admin("CREATE USER %s IDENTIFIED VIA ed25519 USING PASSWORD(%s) %s"
                   % (self.account(user, host), self.literal(pw), extra))


def rotate_in_root(db, multi=False):
    with Root(smtest.env("SMR_LAMBDA_ZIP")) as root:
        os.environ["SMR_BOOTSTRAP"] = root.launcher
        env = dict(LAMBDA_ENV, SMROTATE_DB_CA_FILE=root.add_file(db.ca_file, CA_IN_ROOT))
        kind = cases.MultiCase if multi else cases.Case
        with kind(db, env=env, secret_extra={"ssl": True}) as case:
            old = case.current_version()
            for _ in range(2 if multi else 1):
                token = case.stack.start_rotation(case.arn)
                case.run(token)
                if not multi:
                    cases.assert_rotated(case, token, old)
            new = case.current()
            if multi:
                # Two rotations: the clone first, then the user again, each logging in.
                smtest.assert_eq(new["username"], case.username, "second rotation's user")
                assert case.db.can_login(new["username"], new["password"]), "new password"
                assert not case.db.can_login(case.username, case.password), "old refused"
            print("rotated %s (%s) in the glibc-only root" %
                  (case.username, "alternating users" if multi else "single user"))


def test_package_lambda_zip_rotates_postgres_single_user_in_glibc_only_root():
    rotate_in_root(Postgres())


def test_package_lambda_zip_rotates_postgres_alternating_users_in_glibc_only_root():
    rotate_in_root(Postgres(), multi=True)


def test_package_lambda_zip_rotates_mariadb_single_user_ed25519_in_glibc_only_root():
    rotate_in_root(Ed25519MariaDB())


def test_package_lambda_zip_rotates_mariadb_alternating_users_ed25519_in_glibc_only_root():
    rotate_in_root(Ed25519MariaDB(), multi=True)


if __name__ == "__main__":
    smtest.run(globals())
