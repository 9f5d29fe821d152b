"""The main job, locally: a real rotation of a real PostgreSQL user's password, with no AWS
account. A throwaway PostgreSQL, the local Secrets Manager and the local Lambda stand in for RDS
and AWS; `bootstrap` is the real function. Secrets Manager drives the rotation exactly as it does
in AWS: RotateSecret, then createSecret, setSecret, testSecret and finishSecret, each a Lambda
invocation that bootstrap picks up from the Runtime API.

Run through tests/demo.sh (it installs and builds first). Passwords are never printed: the table
shows a short fingerprint so you can see them change.
"""
import hashlib
import json
import os
import subprocess
import sys
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))

STATE = os.environ.get("SMR_STATE_DIR", "/tmp/smrotate-demo")
os.environ["SMR_STATE_DIR"] = STATE

from db import Postgres  # noqa: E402
from stack import Stack  # noqa: E402


def fingerprint(password):
    return "sha256:" + hashlib.sha256(password.encode()).hexdigest()[:10]


def table(stack, arn, title):
    print("\n%s" % title)
    print("  %-38s %-28s %-10s %s" % ("VersionId", "labels", "username", "password"))
    for vid, labels in sorted(stack.stages(arn).items(), key=lambda kv: kv[1]):
        try:
            value = stack.value(arn, labels[0], vid)
            user, pw = value["username"], fingerprint(value["password"])
        except Exception:  # noqa: BLE001 - a pending stub has no value yet
            user, pw = "-", "(no value)"
        print("  %-38s %-28s %-10s %s" % (vid, ",".join(labels), user, pw))


def main():
    print("Starting a throwaway PostgreSQL 15 on 127.0.0.1 ...")
    script = os.path.join(HERE, "scripts", "postgres.sh")
    subprocess.run([script, "start", os.path.join(STATE, "postgres")], check=True,
                   stdout=subprocess.DEVNULL)
    try:
        pg = Postgres()
        user = "app_demo"
        password = "demo-" + uuid.uuid4().hex
        pg.create_user(user, password)
        print("PostgreSQL user %s created (port %d, TLS on with a local test CA)." % (user, pg.port))

        with Stack(handler="single-user", env={"SMROTATE_DB_CA_FILE": pg.ca_file}) as stack:
            print("Local Secrets Manager on %s, local Lambda Runtime API on 127.0.0.1:%d, "
                  "bootstrap running." % (stack.sm_endpoint, stack.lambda_port))
            secret = {"engine": "postgres", "host": pg.host, "port": pg.port,
                      "username": user, "password": password, "dbname": "postgres",
                      "ssl": True}
            arn = stack.create_secret("demo/postgres/app", secret)
            print("Secret %s created." % arn)
            table(stack, arn, "Before rotation:")

            print("\nRotateSecret: Secrets Manager now invokes the function four times ...")
            t0 = time.monotonic()
            record = stack.rotate_via_service(arn)
            elapsed = (time.monotonic() - t0) * 1000
            for s in record.get("steps", []):
                print("  %-13s %s  %5.1f ms" % (s["step"], "ok    " if s.get("ok") else "FAILED",
                                                s.get("ms", 0)))
            print("Rotation %s in %.0f ms." % (record["status"], elapsed))
            table(stack, arn, "After rotation:")

            new = stack.value(arn, "AWSCURRENT")
            who = pg.query_as(user, new["password"], "SELECT current_user || ' logged in at ' || now()")
            print("\nLogin with the new AWSCURRENT password: %s" % who)
            print("Login with the old password: %s" % (
                "still works (unexpected!)" if pg.can_login(user, password) else "refused, as it should be"))
            print("\nWhat the function logged (CloudWatch would show these lines):")
            for line in stack.output().splitlines():
                if line.startswith("{") and '"_aws"' in line:
                    # The step's metrics object (EMF), shown by what it counts.
                    m = json.loads(line)
                    line = "  [metrics %s: %s, %d ms, %d AWS calls, %d database logins]" % (
                        m["Step"], "succeeded" if m["Succeeded"] else "failed", m["Duration"],
                        m["AWSCalls"], m["DatabaseLogins"])
                print("  " + line)
            if record["status"] != "succeeded":
                return 1
    finally:
        subprocess.run([script, "stop", os.path.join(STATE, "postgres")], check=False,
                       stdout=subprocess.DEVNULL)
    return 0


if __name__ == "__main__":
    sys.exit(main())
