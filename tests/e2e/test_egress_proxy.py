"""Issue 15: AWS API calls honour HTTPS_PROXY / HTTP_PROXY / NO_PROXY; the Runtime API is never
proxied. A real rotation (alternating users with an RDS-managed master, so that Secrets Manager
and RDS are both called) runs with a local forward proxy (tests/lib/egress_proxy.py) that counts
every request and tunnel per target; bootstrap's own DEBUG counts say how many requests it made,
so "every AWS request went through the proxy" is an equality, not a guess. A proxy nobody listens
on fails the invocation. tests/package/check_zip_proxy.py runs these cases against the package's
bootstrap in its glibc-only root (SMR_BOOTSTRAP)."""
import os
import socket
import subprocess
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import cases  # noqa: E402
import rds_cases  # noqa: E402
import smtest  # noqa: E402
from db import Postgres  # noqa: E402
from egress_proxy import EgressProxy  # noqa: E402
from smtest import assert_eq  # noqa: E402
from stack import Stack  # noqa: E402


class ProxiedRotation:
    """A user, its RDS-managed superuser (the fake RDS says the database is 127.0.0.1:<port>,
    the user's own host, so no host names are needed) and a stack whose bootstrap gets env."""

    def __init__(self, env, tls=None):
        self.db = Postgres()
        self.user, self.password = cases.unique(), cases.new_password()
        self.master, self.master_password = cases.unique("master"), cases.new_password()
        self.db.create_user(self.user, self.password)
        self.db.create_superuser(self.master, self.master_password)
        base = {"SMROTATE_DB_CA_FILE": self.db.ca_file, "AWS_LAMBDA_LOG_LEVEL": "DEBUG"}
        base.update(env)
        seed = {"instances": [{"identifier": "pg-main", "engine": "postgres",
                               "address": self.db.host, "port": self.db.port}]}
        self.stack = Stack(handler="multi-user", env=base, rds_seed=seed, tls=tls)
        master_arn = self.stack.create_secret(
            "rds!db-%s" % uuid.uuid4(), {"username": self.master, "password": self.master_password},
            tags={rds_cases.INSTANCE_TAG: rds_cases.db_arn("pg-main")})
        secret = self.db.secret(self.user, self.password, masterarn=master_arn)
        self.arn = self.stack.create_secret("smr/" + uuid.uuid4().hex[:10], secret)
        self.seen = [self.password, self.master_password]

    def rotate(self):
        """Rotates; returns bootstrap's (Secrets Manager requests, RDS requests) in total."""
        self.stack.rotate_all_steps(self.arn)
        new = self.stack.value(self.arn)
        self.seen.append(new["password"])
        assert_eq(new["username"], self.user + "_clone", "rotated to the clone")
        assert self.db.can_login(new["username"], new["password"]), "the clone logs in"
        counts = rds_cases.debug_counts(self.stack.output())
        assert_eq(sorted(counts), sorted(cases.STEPS), "a DEBUG count line per step")
        return (sum(c[0] for c in counts.values()), sum(c[1] for c in counts.values()))

    def target(self, port):
        return "127.0.0.1:%d" % port

    def close(self, failed):
        try:
            self.stack.assert_no_secrets(self.seen)
        finally:
            if failed:
                sys.stderr.write("--- bootstrap output ---\n" + self.stack.output()[-8000:])
            self.stack.close()
            self.db.drop_users(self.user, self.user + "_clone", self.master)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close(exc[0] is not None)
        return False


def test_egress_http_proxy_carries_aws_calls_never_the_runtime_api():
    with EgressProxy() as proxy:
        with ProxiedRotation({"HTTP_PROXY": proxy.url}) as r:
            sm, rds = r.rotate()
            assert sm > 0 and rds > 0, (sm, rds)
            assert_eq(proxy.counts(), {r.target(r.stack.sm_port): sm,
                                       r.target(r.stack.rds_port): rds},
                      "requests through the proxy per target: every AWS request, nothing else "
                      "(the Runtime API at %s never)" % r.target(r.stack.lambda_port))
            assert_eq({m for m, _, _ in proxy.log()}, {"POST"}, "forwarded requests, no tunnel")


def test_egress_no_proxy_lets_listed_hosts_bypass_the_proxy():
    with EgressProxy() as proxy:
        with ProxiedRotation({"HTTP_PROXY": proxy.url, "NO_PROXY": "127.0.0.1"}) as r:
            r.rotate()
            assert_eq(proxy.counts(), {}, "requests through the proxy")


def test_egress_https_proxy_tunnels_aws_calls_with_connect():
    with EgressProxy() as proxy:
        tmp = os.path.join(os.environ.get("TMPDIR", "/tmp"), "smr-egress-" + uuid.uuid4().hex[:8])
        os.makedirs(tmp)
        cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
        try:
            subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                            "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                            "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                            "-keyout", key, "-out", cert], check=True, capture_output=True)
            # HTTP_PROXY points at a dead port: an https endpoint must use HTTPS_PROXY only.
            with ProxiedRotation({"HTTPS_PROXY": proxy.url, "HTTP_PROXY": "http://127.0.0.1:9"},
                                 tls=(cert, key)) as r:
                sm, rds = r.rotate()
                # A tunnel carries many requests (libcurl keeps it open), so tunnels are counted
                # per target, not requests: both AWS endpoints, nothing else.
                assert_eq(sorted(proxy.counts()),
                          sorted([r.target(r.stack.sm_port), r.target(r.stack.rds_port)]),
                          "tunnel targets (the Runtime API at %s never)"
                          % r.target(r.stack.lambda_port))
                assert_eq({m for m, _, _ in proxy.log()}, {"CONNECT"}, "tunnels only")
                assert sm > 1 and rds > 1, (sm, rds)
        finally:
            for name in os.listdir(tmp):
                os.unlink(os.path.join(tmp, name))
            os.rmdir(tmp)


def test_egress_dead_proxy_fails_the_invocation_with_a_transport_error():
    # Both proxy variables name a port held bound and never listening (connections refused): no
    # AWS call may go around them.
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        dead = "http://127.0.0.1:%d" % held.getsockname()[1]
        with ProxiedRotation({"HTTPS_PROXY": dead, "HTTP_PROXY": dead}) as r:
            dead_proxy_fails(r)


def dead_proxy_fails(r):
    before = len(r.stack.calls())
    token = r.stack.start_rotation(r.arn)
    ok, payload = r.stack.invoke("createSecret", r.arn, token)
    assert not ok, "createSecret succeeded without its proxy: %s" % payload
    assert_eq(payload["errorType"], "TransportError", "errorType")
    smtest.assert_in("through the configured proxy", payload["errorMessage"], "errorMessage")
    # The emulator saw RotateSecret (the test's own call) and nothing from bootstrap.
    ops = [c.get("operation") for c in r.stack.calls()[before:]]
    assert_eq(ops, ["RotateSecret"], "calls that reached Secrets Manager")
    assert_eq(r.stack.version_of(r.arn, "AWSPENDING"), token, "AWSPENDING, without a value")


if __name__ == "__main__":
    smtest.run(globals())
