"""End-to-end cases for RDS-managed master secrets, read replicas and Aurora readers, written once
for every engine (tests/e2e/test_rds_masters.py binds them).

The real bootstrap rotates real users of the fixture's PostgreSQL / MariaDB, with the secrets in
the local Secrets Manager and the databases described by the fake RDS (tests/fakes/fake_rds.py).
Every host name is a name of the test's own (tests/e2e/hosts.py: /etc/hosts lines, each name on
a loopback alias of the server that counts connections), so "the password was set through the
master's host and tested at the replica's" is read from which name each login went to, step by
step. A replica is the same server under another name: replication is not under test; what the
RDS API says about the names is. The fixture's certificates name 127.0.0.1 and localhost only,
so the functions run with SMROTATE_DB_TLS_VERIFY=ca (chain verified, host name not), except the
case that shows why that setting exists.
"""
import json
import os
import re
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import cases  # noqa: E402
from hosts import Names  # noqa: E402
from smtest import assert_eq, assert_in  # noqa: E402
from stack import ACCOUNT, REGION, Stack  # noqa: E402

STEPS = cases.STEPS
INSTANCE_TAG = "aws:rds:primaryDBInstanceArn"
CLUSTER_TAG = "aws:rds:primaryDBClusterArn"
AURORA = {"postgres": "aurora-postgresql", "mariadb": "aurora-mysql", "mysql": "aurora-mysql"}
# The value AWS's documented secret structure gives PostgreSQL and Aurora PostgreSQL (MySQL and
# Aurora MySQL) alike.
PLAIN = {"postgres": "postgres", "mariadb": "mysql", "mysql": "mysql"}


def db_arn(ident):
    return "arn:aws:rds:%s:%s:db:%s" % (REGION, ACCOUNT, ident)


def cluster_arn(ident):
    return "arn:aws:rds:%s:%s:cluster:%s" % (REGION, ACCOUNT, ident)


def user_exists(db, name):
    if db.engine == "postgres":
        return db.role_exists(name)
    return db.admin("SELECT count(*) FROM mysql.user WHERE User = %s" % db.literal(name)) != "0"


class World:
    """One test's names and RDS state: a plain instance pg-main with a read replica pg-replica
    and an unrelated instance pg-other, and an Aurora cluster aur (writer aur-1, reader aur-2),
    all on the fixture's server under names of their own."""

    def __init__(self, db):
        self.db = db
        self.names = Names(db)
        self.engine = db.engine
        self.aurora = AURORA[db.engine]

    def seed(self):
        n, port = self.names, self.db.port
        return {
            "instances": [
                {"identifier": "pg-main", "engine": self.engine, "address": n.host("pg-main"),
                 "port": port},
                {"identifier": "pg-replica", "engine": self.engine, "replica_source": "pg-main",
                 "address": n.host("pg-replica"), "port": port},
                {"identifier": "pg-other", "engine": self.engine, "address": n.host("pg-other"),
                 "port": port},
                {"identifier": "aur-1", "cluster": "aur", "is_writer": True,
                 "address": n.host("aur-1"), "port": port},
                {"identifier": "aur-2", "cluster": "aur", "address": n.host("aur-2"),
                 "port": port},
            ],
            "clusters": [
                {"identifier": "aur", "engine": self.aurora, "endpoint": n.cluster("aur"),
                 "reader_endpoint": n.reader("aur"), "port": port},
            ],
        }

    def close(self):
        self.names.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


class RdsCase(cases.Case):
    """A user at user_host and its superuser, whose secret is either RDS-managed (only username
    and password, tagged tag_key = tag_value, named rds!db-... as RDS names them) or an ordinary
    one with master_host."""

    def __init__(self, world, user_host, engine=None, tag=None, master_host=None,
                 handler="multi-user", env=None, user_extra=None, seed=True, master_engine=None):
        db = self.db = world.db
        self.world = world
        self.names = world.names
        self.username = cases.unique()
        self.password = cases.new_password()
        self.master_user = cases.unique("master")
        self.master_password = cases.new_password()
        self.users = [self.username, self.username + "_clone", self.master_user]
        self.seen_passwords = [self.password, self.master_password]
        db.create_user(self.username, self.password)
        db.create_superuser(self.master_user, self.master_password)
        base_env = {"SMROTATE_DB_CA_FILE": db.ca_file, "SMROTATE_DB_TLS_VERIFY": "ca",
                    "AWS_LAMBDA_LOG_LEVEL": "DEBUG"}
        base_env.update(env or {})
        self.stack = Stack(handler=handler, env=base_env,
                           rds_seed=world.seed() if seed else None)
        self.engine = engine or db.engine
        if tag is not None:
            key, value = tag
            kind = "cluster" if ":cluster:" in value else "db"
            master = {"username": self.master_user, "password": self.master_password}
            self.master_arn = self.stack.create_secret("rds!%s-%s" % (kind, uuid.uuid4()), master,
                                                       tags={key: value})
        else:
            master = db.secret(self.master_user, self.master_password, host=master_host,
                               engine=master_engine or self.engine)
            self.master_arn = self.stack.create_secret("smr/master-" + uuid.uuid4().hex[:8],
                                                       master)
        extra = {"host": user_host, "engine": self.engine}
        extra.update(user_extra or {})
        extra["masterarn"] = self.master_arn
        self.secret = db.secret(self.username, self.password, **extra)
        self.arn = self.stack.create_secret("smr/" + uuid.uuid4().hex[:10], self.secret)

    def rotate(self):
        """RotateSecret, then the four steps; returns (token, {step: {name: logins}}): the logins
        each step made, by the host name they went to."""
        token = self.stack.start_rotation(self.arn)
        logins = {}
        for step in STEPS:
            before = self.names.logins()
            self.run(token, (step,))
            after = self.names.logins()
            logins[step] = {self.short(n): after[n] - before[n] for n in after
                            if after[n] != before[n]}
        return token, logins

    def short(self, name):
        """pg-main.t1234.smrtest.internal -> pg-main; aur.cluster-ro-t1234... -> aur.cluster-ro."""
        first, second = name.split(".")[:2]
        return first if second == self.names.uniq else "%s.%s" % (
            first, second.replace("-" + self.names.uniq, ""))

    def rds_calls(self):
        return [(c["operation"], c["identifier"], c["status"]) for c in self.stack.rds_calls()]

    def assert_rotated_alternating(self, token):
        """The clone has the new password and logs in at the user's host; the user's secret
        changed only in username and password, key order kept; the user still logs in."""
        assert_in("AWSCURRENT", self.stack.stages(self.arn)[token], "new version labels")
        new = self.current()
        assert_eq(new["username"], self.username + "_clone", "username")
        assert new["password"] != self.password, "the clone got a new password"
        assert_eq(list(new), list(self.secret), "keys and their order")
        assert_eq({k: v for k, v in new.items() if k not in ("username", "password")},
                  {k: v for k, v in self.secret.items() if k not in ("username", "password")},
                  "every other key unchanged")
        assert self.db.can_login(new["username"], new["password"]), "the clone logs in"
        assert self.db.can_login(self.username, self.password), "the user keeps working"
        return new

    def assert_refused_nothing_staged(self, token, payload, why):
        assert_in("is not the same host as/rds replica of master", payload["errorMessage"])
        assert_in(why, payload["errorMessage"])
        cases.assert_nothing_staged(self, token)
        ops = [c["operation"] for c in self.stack.calls()]
        assert "PutSecretValue" not in ops[ops.index("RotateSecret"):], ops
        assert_eq(self.names.logins(), {n: 0 for n in self.names.aliases}, "database logins")
        assert self.db.can_login(self.username, self.password), "the user's password unchanged"
        assert not user_exists(self.db, self.username + "_clone"), "no clone created"


def debug_counts(output):
    """{step: (Secrets Manager requests, RDS requests, database logins)} from the DEBUG lines."""
    return dict((m.group(1), (int(m.group(2)), int(m.group(3)), int(m.group(4))))
                for m in re.finditer(r"(\w+Secret): (\d+) Secrets Manager requests, (\d+) RDS "
                                     r"requests, (\d+) database logins", output))


# --- RDS-managed master secrets ----------------------------------------------------------------

def managed_master_by_instance_tag(db):
    with World(db) as world:
        main = world.names.host("pg-main")
        extra = {"dbInstanceIdentifier": "pg-main", "proxyhost": "proxy.example",
                 "nested": {"a": [1, {"b": "é"}]}, "ssl": True, "note": None}
        with RdsCase(world, main, tag=(INSTANCE_TAG, db_arn("pg-main")),
                     user_extra=extra) as case:
            token, logins = case.rotate()
            case.assert_rotated_alternating(token)
            # Read afresh in createSecret and in setSecret, by the ARN in the tag.
            assert_eq(case.rds_calls(), [("DescribeDBInstances", db_arn("pg-main"), 200)] * 2,
                      "RDS calls")
            # The user's host is the master's: the current login and the superuser's go there.
            assert_eq(logins, {"createSecret": {}, "setSecret": {"pg-main": 2},
                               "testSecret": {"pg-main": 1}, "finishSecret": {}}, "logins")


def managed_master_by_cluster_tag(db):
    with World(db) as world:
        writer = world.names.cluster("aur")
        with RdsCase(world, writer, engine=world.aurora,
                     tag=(CLUSTER_TAG, cluster_arn("aur"))) as case:
            token, logins = case.rotate()
            case.assert_rotated_alternating(token)
            assert_eq(case.rds_calls(), [("DescribeDBClusters", cluster_arn("aur"), 200)] * 2,
                      "RDS calls")
            assert_eq(logins, {"createSecret": {}, "setSecret": {"aur.cluster": 2},
                               "testSecret": {"aur.cluster": 1}, "finishSecret": {}}, "logins")


def managed_master_requests_per_step(db):
    with World(db) as world:
        with RdsCase(world, world.names.host("pg-main"),
                     tag=(INSTANCE_TAG, db_arn("pg-main"))) as case:
            case.rotate()
            # createSecret: prologue, current, pending, master, the master's tags, password, put;
            # setSecret: prologue, current, pending, master, its tags; the master's database is
            # looked up once in each; logins: current and superuser, then pending.
            assert_eq(debug_counts(case.stack.output()),
                      {"createSecret": (7, 1, 0), "setSecret": (5, 1, 2),
                       "testSecret": (2, 0, 1), "finishSecret": (2, 0, 0)},
                      "Secrets Manager requests, RDS requests and logins per step")
            # The same counts in the metrics (EMF), with the dimensions each step knows.
            metrics = {}
            for line in case.stack.output().splitlines():
                if line.startswith("{") and '"_aws"' in line:
                    m = json.loads(line)
                    metrics[m["Step"]] = (m["AWSCalls"], m["DatabaseLogins"], m.get("Engine"),
                                          m.get("Strategy"), m["Succeeded"],
                                          m["RotationsCompleted"])
            family = "postgres" if db.engine == "postgres" else "mysql"
            assert_eq(metrics, {"createSecret": (8, 0, family, "multi-user", 1, 0),
                                "setSecret": (6, 2, family, "multi-user", 1, 0),
                                "testSecret": (2, 1, family, "multi-user", 1, 0),
                                "finishSecret": (2, 0, None, None, 1, 1)}, "metrics per step")


def unknown_instance_in_tag(db):
    with World(db) as world:
        with RdsCase(world, world.names.host("pg-main"),
                     tag=(INSTANCE_TAG, db_arn("pg-gone"))) as case:
            token = case.stack.start_rotation(case.arn)
            payload = case.fails("createSecret", token)
            assert_eq(payload["errorType"], "DBInstanceNotFound", "errorType")
            assert_in("finding the database of the RDS-managed master secret %s" % case.master_arn,
                      payload["errorMessage"])
            assert_in("pg-gone", payload["errorMessage"])
            cases.assert_nothing_staged(case, token)
            assert_eq(case.rds_calls(), [("DescribeDBInstances", db_arn("pg-gone"), 404)],
                      "RDS calls")


def rds_throttling_is_retried(db):
    with World(db) as world:
        with RdsCase(world, world.names.host("pg-main"),
                     tag=(INSTANCE_TAG, db_arn("pg-main"))) as case:
            case.stack.rds_fault("DescribeDBInstances", "Throttling", count=2)
            token, _ = case.rotate()
            case.assert_rotated_alternating(token)
            got = [(c["operation"], c["status"], c["error"]) for c in case.stack.rds_calls()]
            assert_eq(got, [("DescribeDBInstances", 400, "Throttling")] * 2 +
                      [("DescribeDBInstances", 200, None)] * 2,
                      "throttled twice, retried within createSecret, then setSecret's call")
            assert_eq(debug_counts(case.stack.output())["createSecret"][1], 3,
                      "createSecret's RDS requests, retries included")


def rds_access_denied_names_permission(db):
    with World(db) as world:
        for action, tag, host, engine in (
                ("rds:DescribeDBInstances", (INSTANCE_TAG, db_arn("pg-main")),
                 world.names.host("pg-main"), None),
                ("rds:DescribeDBClusters", (CLUSTER_TAG, cluster_arn("aur")),
                 world.names.cluster("aur"), world.aurora)):
            with RdsCase(world, host, engine=engine, tag=tag) as case:
                case.stack.rds_deny([action])
                token = case.stack.start_rotation(case.arn)
                payload = case.fails("createSecret", token)
                assert_eq(payload["errorType"], "AccessDenied", "errorType")
                assert_in("is not authorized to perform: %s" % action, payload["errorMessage"])
                assert_in("the function's role needs %s" % action, payload["errorMessage"])
                cases.assert_nothing_staged(case, token)
                # Permanent: not retried.
                assert_eq(len(case.stack.rds_calls()), 1, "RDS calls")


def master_with_host_makes_no_rds_call(db):
    with World(db) as world:
        main = world.names.host("pg-main")
        with RdsCase(world, main, master_host=main) as case:
            token, logins = case.rotate()
            case.assert_rotated_alternating(token)
            assert_eq(case.stack.rds_stats()["api_calls"], 0, "requests to the fake RDS")
            assert_eq(logins["setSecret"], {"pg-main": 2}, "setSecret's logins")


# --- replicas and Aurora readers ----------------------------------------------------------------

def user_on_read_replica(db):
    with World(db) as world:
        with RdsCase(world, world.names.host("pg-replica"),
                     master_host=world.names.host("pg-main")) as case:
            token, logins = case.rotate()
            case.assert_rotated_alternating(token)
            # setSecret: the current login at the replica (confused-deputy guard), the superuser
            # at the master; testSecret: the new login at the replica.
            assert_eq(logins, {"createSecret": {}, "setSecret": {"pg-replica": 1, "pg-main": 1},
                               "testSecret": {"pg-replica": 1}, "finishSecret": {}}, "logins")
            assert_eq(case.rds_calls(), [("DescribeDBInstances", "pg-replica", 200)] * 2,
                      "RDS calls: checked in createSecret and again in setSecret")
            assert_in("is a read replica of %s; the password is set on the master"
                      % world.names.host("pg-main"), case.stack.output())


def user_on_aurora_reader_endpoint(db):
    with World(db) as world:
        with RdsCase(world, world.names.reader("aur"), engine=world.aurora,
                     master_host=world.names.cluster("aur")) as case:
            token, logins = case.rotate()
            case.assert_rotated_alternating(token)
            assert_eq(logins, {"createSecret": {},
                               "setSecret": {"aur.cluster-ro": 1, "aur.cluster": 1},
                               "testSecret": {"aur.cluster-ro": 1}, "finishSecret": {}}, "logins")
            # The master's cluster is named by its endpoint (<id>.cluster-...): one call.
            assert_eq(case.rds_calls(), [("DescribeDBClusters", "aur", 200)] * 2, "RDS calls")


def user_on_aurora_reader_instance(db):
    with World(db) as world:
        for master, calls_per_step in (
                # RDS-managed master: its cluster from the tag, then the cluster's members.
                ({"tag": (CLUSTER_TAG, cluster_arn("aur"))},
                 [("DescribeDBClusters", cluster_arn("aur"), 200),
                  ("DescribeDBClusters", "aur", 200)]),
                # A master at the writer instance's own name: its cluster from DescribeDBInstances.
                ({"master_host": world.names.host("aur-1")},
                 [("DescribeDBInstances", "aur-1", 200), ("DescribeDBClusters", "aur", 200)])):
            with RdsCase(world, world.names.host("aur-2"), engine=world.aurora, **master) as case:
                token, logins = case.rotate()
                case.assert_rotated_alternating(token)
                admin = "aur.cluster" if "tag" in master else "aur-1"
                assert_eq(logins, {"createSecret": {}, "setSecret": {"aur-2": 1, admin: 1},
                                   "testSecret": {"aur-2": 1}, "finishSecret": {}}, "logins")
                assert_eq(case.rds_calls(), calls_per_step * 2, "RDS calls")


def plain_engine_user_on_aurora_reader(db):
    """The user's secret says postgres / mysql (AWS's one structure for both) on an Aurora reader
    endpoint or reader instance: what says Aurora is the master's engine, its cluster tag, or
    what RDS answers about the user's host. The user's engine value is never rewritten."""
    with World(db) as world:
        plain = PLAIN[db.engine]
        masters = (
            # Self-described at the cluster endpoint with the Aurora engine value (AWS's
            # templates decide Aurora from the master): the cluster, named by the endpoint.
            ({"master_host": world.names.cluster("aur"), "master_engine": world.aurora},
             "aur.cluster", [("DescribeDBClusters", "aur", 200)]),
            # RDS-managed, named by its cluster tag.
            ({"tag": (CLUSTER_TAG, cluster_arn("aur"))}, "aur.cluster",
             [("DescribeDBClusters", cluster_arn("aur"), 200), ("DescribeDBClusters", "aur", 200)]),
            # Self-described at the writer instance, plain engine value: RDS says the user's
            # host is in cluster aur (an instance) or names the cluster (the reader endpoint's
            # form already says so).
            ({"master_host": world.names.host("aur-1"), "master_engine": plain}, "aur-1", None))
        for user_host, short in ((world.names.reader("aur"), "aur.cluster-ro"),
                                 (world.names.host("aur-2"), "aur-2")):
            for master, admin, calls in masters:
                with RdsCase(world, user_host, engine=plain, **master) as case:
                    token, logins = case.rotate()
                    new = case.assert_rotated_alternating(token)
                    assert_eq(new["engine"], plain, "the user's engine value")
                    assert_eq(logins, {"createSecret": {}, "setSecret": {short: 1, admin: 1},
                                       "testSecret": {short: 1}, "finishSecret": {}},
                              "logins (%s, %s)" % (short, admin))
                    if calls is None:
                        calls = ([("DescribeDBInstances", "aur-1", 200),
                                  ("DescribeDBClusters", "aur", 200)] if short != "aur-2" else
                                 [("DescribeDBInstances", "aur-2", 200),
                                  ("DescribeDBInstances", "aur-1", 200),
                                  ("DescribeDBClusters", "aur", 200)])
                    assert_eq(case.rds_calls(), calls * 2, "RDS calls (%s)" % short)


def host_that_is_no_replica_refused(db):
    with World(db) as world:
        for user_host, engine, tag, why in (
                (world.names.host("pg-other"), None, (INSTANCE_TAG, db_arn("pg-main")),
                 "DB instance pg-other is not a read replica of pg-main"),
                # The writer instance is no reader of its own cluster.
                (world.names.host("aur-1"), world.aurora, (CLUSTER_TAG, cluster_arn("aur")),
                 "it is neither the reader endpoint of Aurora cluster aur nor one of its reader "
                 "instances")):
            with RdsCase(world, user_host, engine=engine, tag=tag) as case:
                token = case.stack.start_rotation(case.arn)
                payload = case.fails("createSecret", token)
                assert_eq(payload["errorType"], "RotationError", "errorType")
                case.assert_refused_nothing_staged(token, payload, why)


def tls_full_refuses_name_certificate_lacks(db):
    # The fixture's certificate names 127.0.0.1 and localhost: under the default (full) the
    # replica's name is refused with the setting that would apply; with ca the rotation goes on.
    with World(db) as world:
        with RdsCase(world, world.names.host("pg-replica"), master_host=world.names.host("pg-main"),
                     env={"SMROTATE_DB_TLS_VERIFY": None}) as case:
            token = case.stack.start_rotation(case.arn)
            case.run(token, ("createSecret",))
            payload = case.fails("setSecret", token)
            assert_eq(payload["errorType"], "DatabaseTlsFailed", "errorType")
            # README, Database TLS trust: the message says which setting would apply.
            assert_in("host name %s does not match the server's certificate: use the endpoint "
                      "name in the secret or set SMROTATE_DB_TLS_VERIFY=ca"
                      % world.names.host("pg-replica"), payload["errorMessage"])
            assert db.can_login(case.username, case.password), "nothing changed"
            case.stack.extra_env["SMROTATE_DB_TLS_VERIFY"] = "ca"
            case.stack.restart_bootstrap()
            case.run(token, ("setSecret", "testSecret", "finishSecret"))
            case.assert_rotated_alternating(token)


# --- strategies -----------------------------------------------------------------------------------

def single_user_with_masterarn_warns(db):
    with World(db) as world:
        main = world.names.host("pg-main")
        with RdsCase(world, main, master_host=main, handler="single-user",
                     env={"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "INFO"}) as case:
            for _ in range(2):
                old = case.current_version()
                token, logins = case.rotate()
                new = case.current()
                assert_eq(new["username"], case.username, "single user keeps its name")
                assert_eq(case.stack.stages(case.arn)[old], ["AWSPREVIOUS"], "old version")
                assert db.can_login(case.username, new["password"]), "new password"
                assert_eq(logins["setSecret"], {"pg-main": 1}, "one login: the user's own")
            assert not user_exists(db, case.username + "_clone"), "no clone"
            assert not [c for c in case.stack.calls() if c.get("secret_id") == case.master_arn
                        and c["operation"] == "GetSecretValue"], "the master is never read"
            steps, warns = {}, {}
            for line in case.stack.output().splitlines():
                rec = json.loads(line)  # every line: AWS_LAMBDA_LOG_FORMAT=JSON
                rid = rec.get("requestId")
                if rec.get("step") and rid:
                    steps[rid] = rec["step"]
                    warns.setdefault(rid, 0)
                if rec["level"] == "WARN":
                    assert_in("masterarn", rec["message"], "WARN line")
                    warns[rid] = warns.get(rid, 0) + 1
            per_step = {}
            for rid, n in warns.items():
                per_step.setdefault(steps[rid], []).append(n)
            # Every invocation that reads the current secret (createSecret, setSecret) says it
            # once; testSecret reads only the pending version, finishSecret no value.
            assert_eq(per_step, {"createSecret": [1, 1], "setSecret": [1, 1],
                                 "testSecret": [0, 0], "finishSecret": [0, 0]},
                      "WARN lines per invocation")
