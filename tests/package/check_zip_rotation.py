"""The real Lambda package completes rotations: the lambda-zip output (SMR_LAMBDA_ZIP) is
unzipped and its bootstrap - with only the libraries, plugins and certificates the zip carries,
in an environment holding nothing but what Lambda provides - rotates a PostgreSQL user and a
MariaDB user through the local Secrets Manager and Lambda. The MariaDB user authenticates with
ed25519, whose client plugin the library must load from the package's lib/mariadb/plugin.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))

import cases  # noqa: E402
import smtest  # noqa: E402
from check_package import Package, real_zip  # noqa: E402
from db import MariaDB, Postgres  # noqa: E402

# Lambda's own library path on provided.al2023, with the task directory where it really is.
LAMBDA_LD_PATH = "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:{task}:{task}/lib:/opt/lib"


def rotate_with_package(db, user_sql_extra=""):
    with Package(real_zip()) as pkg:
        os.environ["SMR_BOOTSTRAP"] = pkg.path("bootstrap")
        env = {"LD_LIBRARY_PATH": LAMBDA_LD_PATH.format(task=pkg.dir), "LAMBDA_TASK_ROOT": pkg.dir,
               "AWS_LAMBDA_LOG_FORMAT": "JSON"}
        with cases.Case(db, env=env, user_sql_extra=user_sql_extra,
                        secret_extra={"ssl": True}) as case:
            old = case.current_version()
            token = case.stack.start_rotation(case.arn)
            case.run(token)
            cases.assert_rotated(case, token, old)
            return case.stack.output()


def test_package_lambda_zip_completes_rotation_postgres():
    rotate_with_package(Postgres())


def test_package_lambda_zip_completes_rotation_mariadb_with_bundled_auth_plugin():
    db = MariaDB()
    if db.admin("SELECT COUNT(*) FROM information_schema.PLUGINS WHERE PLUGIN_NAME = 'ed25519'") == "0":
        db.admin("INSTALL SONAME 'auth_ed25519'")
    class Ed25519(MariaDB):
        def create_user(self, user, pw, host="%", extra=""):
            self.drop_user(user, host)
            self.admin("CREATE USER %s IDENTIFIED VIA ed25519 USING PASSWORD(%s)"
                       % (self.account(user, host), self.literal(pw)))

    rotate_with_package(Ed25519())


smtest.run(globals())
