"""Tests of the Amazon RDS emulator (fake_rds.py): what proves it faithful to RDS. The shared
server (faults, keep-alive, TLS, SigV4) is tested in test_fake_secretsmanager.py. Every
test_<name> is ctest <name> (tests/rds_fake.cmake).

Each test starts its own emulator on a free port. Expected texts and statuses are the real
service's where the fake's docstring cites a source, and the fake's documented [assumed] choice
otherwise.
"""
import http.client
import io
import json
import os
import re
import sys
import xml.etree.ElementTree as ET
import xml.sax
import xml.sax.handler

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TESTS, "lib"))
sys.path.insert(0, HERE)

import aws_fake  # noqa: E402
import sigv4  # noqa: E402
import smtest  # noqa: E402
from fake_rds import NS, Client, RdsError  # noqa: E402
from smtest import assert_eq, assert_in, assert_not_in  # noqa: E402

AK, SK = "AKIDFAKERDSTEST01", "fakeRdsSecretKey/For+Tests0123456789abcd"
CALLER = "arn:aws:sts::123456789012:assumed-role/smrotate-rotation-role/smrotate-test"
RULES = ("Identifiers must begin with a letter; must contain only ASCII letters, digits, and hyphens; "
         "and must not end with a hyphen or contain two consecutive hyphens.")

# A small world: a PostgreSQL primary with an RDS-managed master secret and a read replica, a
# MariaDB instance, and an Aurora PostgreSQL cluster (managed secret) with a writer and a reader.
WORLD = {
    "instances": [
        {"identifier": "pg-main", "master_user_secret": True, "db_name": "app"},
        {"identifier": "pg-replica", "replica_source": "pg-main", "address": "pg-replica.test"},
        {"identifier": "maria-1", "engine": "mariadb", "tags": {"team": "db"}},
        {"identifier": "aurora-w", "cluster": "aurora-a", "is_writer": True, "address": "aurora-w.test"},
        {"identifier": "aurora-r", "cluster": "aurora-a", "promotion_tier": 2},
    ],
    "clusters": [
        {"identifier": "aurora-a", "master_user_secret": "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!cluster-x-AbCdEf",
         "endpoint": "aurora-a.cluster.test", "reader_endpoint": "aurora-a.cluster-ro.test"},
    ],
}


def start(seed=WORLD, **opts):
    fake = aws_fake.FakeProcess("fake_rds.py", AK, SK, **opts)
    if seed is not None:
        fake.control("POST", "/_fake/state", seed)
    return fake


def client(fake, **kw):
    kw.setdefault("access_key", AK)
    kw.setdefault("secret_key", SK)
    return Client(fake.endpoint, region=kw.pop("region", "us-east-1"), **kw)


def instance(c, ident, **kw):
    return c.call("DescribeDBInstances", {"DBInstanceIdentifier": ident}, **kw)["DBInstances"][0]


def cluster(c, ident, **kw):
    return c.call("DescribeDBClusters", {"DBClusterIdentifier": ident}, **kw)["DBClusters"][0]


def expect_error(fn, code, status, message=None, type_="Sender"):
    try:
        fn()
    except RdsError as e:
        assert_eq((e.code, e.status, e.type), (code, status, type_), "error")
        if message is not None:
            assert_eq(e.message, message, "message of %s" % code)
        return e
    raise AssertionError("expected %s" % code)


def error_xml(code, message, rid, type_="Sender"):
    return ('<ErrorResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/">\n'
            "  <Error>\n    <Type>%s</Type>\n    <Code>%s</Code>\n    <Message>%s</Message>\n  </Error>\n"
            "  <RequestId>%s</RequestId>\n</ErrorResponse>\n" % (type_, code, message, rid)).encode()


# ---------------------------------------------------------------------------------------------
# The two operations


def test_fake_rds_describe_instances_by_id_and_arn():
    with start() as fake:
        c = client(fake)
        pg = instance(c, "pg-main")
        assert_eq((pg["DBInstanceIdentifier"], pg["DBInstanceArn"], pg["Engine"], pg["DBInstanceStatus"]),
                  ("pg-main", "arn:aws:rds:us-east-1:123456789012:db:pg-main", "postgres", "available"), "instance")
        assert_eq((pg["MasterUsername"], pg["DBName"]), ("postgres", "app"), "master user, db name")
        assert_eq(pg["Endpoint"], {"HostedZoneId": "Z2R2ITUGPM61AM",
                                   "Address": "pg-main.abc123xyz.us-east-1.rds.amazonaws.com", "Port": "5432"},
                  "Endpoint structure")
        assert_eq(pg["ReadReplicaDBInstanceIdentifiers"], ["pg-replica"], "replica list")
        for absent in ("ReadReplicaSourceDBInstanceIdentifier", "DBClusterIdentifier"):
            assert_not_in(absent, pg, "a plain primary")
        secret = pg["MasterUserSecret"]
        assert re.fullmatch(r"arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-[0-9a-f-]{36}-[a-z0-9]{6}",
                            secret["SecretArn"]), secret
        assert_eq(secret["SecretStatus"], "active", "secret status")
        assert secret["KmsKeyId"].startswith("arn:aws:kms:us-east-1:123456789012:key/"), secret
        # By ARN, and identifiers are case-insensitive (RDS stores them lowercase).
        rep = instance(c, "arn:aws:rds:us-east-1:123456789012:db:pg-replica")
        assert_eq((rep["DBInstanceIdentifier"], rep["ReadReplicaSourceDBInstanceIdentifier"],
                   rep["ReadReplicaDBInstanceIdentifiers"], rep["Endpoint"]["Address"], rep["MasterUsername"]),
                  ("pg-replica", "pg-main", [], "pg-replica.test", "postgres"), "replica")
        assert_not_in("MasterUserSecret", rep, "no managed secret on the replica")
        assert_eq(rep["StatusInfos"][0]["Status"], "replicating", "replication status info")
        assert_eq(instance(c, "PG-Main")["DBInstanceIdentifier"], "pg-main", "case-insensitive id")
        maria = instance(c, "maria-1")
        assert_eq((maria["Engine"], maria["Endpoint"]["Port"], maria["MasterUsername"], maria["TagList"]),
                  ("mariadb", "3306", "admin", [{"Key": "team", "Value": "db"}]), "mariadb defaults")
        member = instance(c, "aurora-r")
        assert_eq((member["Engine"], member["DBClusterIdentifier"], member["PromotionTier"]),
                  ("aurora-postgresql", "aurora-a", "2"), "aurora member")
        calls = fake.calls()
        assert_eq((calls[0]["identifier"], calls[0]["returned"], calls[1]["identifier"]),
                  ("pg-main", ["pg-main"], "arn:aws:rds:us-east-1:123456789012:db:pg-replica"), "call log")


def test_fake_rds_describe_clusters_with_members():
    with start() as fake:
        c = client(fake)
        cl = cluster(c, "aurora-a")
        assert_eq((cl["DBClusterIdentifier"], cl["DBClusterArn"], cl["Engine"], cl["Status"]),
                  ("aurora-a", "arn:aws:rds:us-east-1:123456789012:cluster:aurora-a", "aurora-postgresql",
                   "available"), "cluster")
        assert_eq((cl["Endpoint"], cl["ReaderEndpoint"], cl["Port"], cl["MasterUsername"]),
                  ("aurora-a.cluster.test", "aurora-a.cluster-ro.test", "5432", "postgres"), "endpoints are text")
        assert_eq(cl["DBClusterMembers"], [
            {"DBInstanceIdentifier": "aurora-w", "IsClusterWriter": "true", "DBClusterParameterGroupStatus": "in-sync",
             "PromotionTier": "1"},
            {"DBInstanceIdentifier": "aurora-r", "IsClusterWriter": "false", "DBClusterParameterGroupStatus": "in-sync",
             "PromotionTier": "2"},
        ], "members in seed order with writer flags")
        assert_eq(cl["MasterUserSecret"]["SecretArn"],
                  "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!cluster-x-AbCdEf", "seeded secret ARN")
        assert_eq(cluster(c, "arn:aws:rds:us-east-1:123456789012:cluster:aurora-a")["DBClusterIdentifier"], "aurora-a",
                  "by ARN")
        # Default endpoints follow the RDS naming; the first member writes.
        fake.control("POST", "/_fake/state", {"clusters": [{"identifier": "my-aurora", "engine": "aurora-mysql"}],
                                              "instances": [{"identifier": "m1", "cluster": "my-aurora"},
                                                            {"identifier": "m2", "cluster": "my-aurora"}]})
        cl = cluster(c, "my-aurora")
        assert_eq((cl["Endpoint"], cl["ReaderEndpoint"], cl["Port"], cl["MasterUsername"]),
                  ("my-aurora.cluster-abc123xyz.us-east-1.rds.amazonaws.com",
                   "my-aurora.cluster-ro-abc123xyz.us-east-1.rds.amazonaws.com", "3306", "admin"), "defaults")
        assert_eq([m["IsClusterWriter"] for m in cl["DBClusterMembers"]], ["true", "false"], "first member writes")
        assert_not_in("MasterUserSecret", cl, "no managed secret unless seeded")


def test_fake_rds_unknown_and_malformed_identifiers_have_exact_errors():
    with start() as fake:
        c = client(fake)
        resp = c.request("DescribeDBInstances", {"DBInstanceIdentifier": "No-Such-DB"})
        assert_eq((resp.status, resp.headers["content-type"]), (404, "text/xml"), "answer")
        assert_eq(resp.raw, error_xml("DBInstanceNotFound", "DBInstance No-Such-DB not found.",
                                      resp.headers["x-amzn-requestid"]), "exact body")
        resp = c.request("DescribeDBClusters", {"DBClusterIdentifier": "nope"})
        assert_eq(resp.raw, error_xml("DBClusterNotFoundFault", "DBCluster nope not found.",
                                      resp.headers["x-amzn-requestid"]), "exact cluster body")
        # A cluster is not an instance, and an ARN of another region or account names nothing here.
        for ident in ("aurora-a", "arn:aws:rds:eu-west-1:123456789012:db:pg-main",
                      "arn:aws:rds:us-east-1:123456789012:cluster:aurora-a"):
            expect_error(lambda: instance(c, ident), "DBInstanceNotFound", 404, "DBInstance %s not found." % ident)
        expect_error(lambda: cluster(c, "arn:aws:rds:us-east-1:210987654321:cluster:aurora-a"),
                     "DBClusterNotFoundFault", 404)
        for bad in ("bad_name", "1abc", "ends-", "two--hyphens", ""):
            expect_error(lambda: instance(c, bad), "InvalidParameterValue", 400,
                         "The parameter DBInstanceIdentifier is not a valid identifier. " + RULES)
        expect_error(lambda: cluster(c, "bad_name"), "InvalidParameterValue", 400,
                     "The parameter DBClusterIdentifier is not a valid identifier. Identifiers must either be an ARN "
                     "or begin with a letter; must contain only ASCII letters, digits, and hyphens; and must not end "
                     "with a hyphen or contain two consecutive hyphens.")


def test_fake_rds_unknown_action_version_and_parameters():
    with start() as fake:
        c = client(fake)
        expect_error(lambda: c.call("DescribeDBInstance"), "InvalidAction", 400,
                     "Could not find operation DescribeDBInstance for version 2014-10-31")
        expect_error(lambda: c.call("DescribeDBInstances", version="2099-01-01"), "InvalidAction", 400,
                     "Could not find operation DescribeDBInstances for version 2099-01-01")
        expect_error(lambda: c.call("DescribeDBInstances", params={"Action": "DescribeDBInstances"}), "InvalidAction",
                     400, "Could not find operation DescribeDBInstances for version NO_VERSION_SPECIFIED")
        # Parameter names are case-sensitive; an unknown one is ignored and logged.
        expect_error(lambda: c.call("DescribeDBInstances", params={"action": "DescribeDBInstances",
                                                                   "Version": "2014-10-31"}),
                     "MissingAction", 400, "Missing Action")
        out = c.call("DescribeDBInstances", params={"Action": "DescribeDBInstances", "Version": "2014-10-31",
                                                    "DbInstanceIdentifier": "pg-main"})
        assert_eq(len(out["DBInstances"]), 5, "a wrong-case parameter is ignored, so everything is listed")
        assert_eq(fake.calls()[-1]["ignored_params"], ["DbInstanceIdentifier"], "and the call log says so")
        resp = c.request("DescribeDBInstances", content_type="application/x-amz-json-1.1")
        assert_eq(resp.status, 400, "only a form body is a request")


# ---------------------------------------------------------------------------------------------
# SigV4, faults and permissions in the Query front end's words


def test_fake_rds_signature_errors_have_query_codes():
    tok = "IQoJb3JpZ2luX2VjEFAKErdsSESSIONtoken" + "x" * 40
    with start(session_token=tok) as fake:
        c = client(fake, session_token=tok)
        instance(c, "pg-main")
        expect_error(lambda: instance(client(fake, secret_key=SK + "x", session_token=tok), "pg-main"),
                     "SignatureDoesNotMatch", 403, sigv4.MISMATCH_MESSAGE)
        expect_error(lambda: instance(client(fake, access_key="AKIDNOTKNOWN0000"), "pg-main"),
                     "InvalidClientTokenId", 403, "The security token included in the request is invalid.")
        expect_error(lambda: instance(client(fake), "pg-main"), "InvalidClientTokenId", 403)  # no token
        expect_error(lambda: instance(c, "pg-main", sign=False), "MissingAuthenticationToken", 403,
                     "Request is missing Authentication Token")
        no_sig = lambda h, b: ([(k, re.sub(r", Signature=[0-9a-f]+", "", v)) for k, v in h], b)  # noqa: E731
        expect_error(lambda: instance(c, "pg-main", mutate=no_sig), "IncompleteSignature", 400)
        expect_error(lambda: instance(c, "pg-main", mutate=lambda h, b: (h, b.replace(b"pg-main", b"pg-replica"))),
                     "SignatureDoesNotMatch", 403, sigv4.MISMATCH_MESSAGE)
        expect_error(lambda: instance(client(fake, region="us-west-2", session_token=tok), "pg-main"),
                     "SignatureDoesNotMatch", 403, "Credential should be scoped to a valid region, not 'us-west-2'. ")
        calls = fake.calls()
        assert_eq([x["authenticated"] for x in calls], [True] + [False] * 7, "authenticated")
        for x in calls:
            assert_not_in(tok, json.dumps(x), "no token in the call log")
        assert_in(tok, fake.control("GET", "/_fake/secret-material")["material"], "the token is secret material")


def test_fake_rds_faults_have_rds_codes_and_texts():
    with start() as fake:
        c = client(fake, retry_stale=False)
        fake.fault("DescribeDBInstances", "Throttling", 2)
        for _ in range(2):
            resp = c.request("DescribeDBInstances", {"DBInstanceIdentifier": "pg-main"})
            assert_eq(resp.raw, error_xml("Throttling", "Rate exceeded", resp.headers["x-amzn-requestid"]), "body")
        cluster(c, "aurora-a")  # other operations are untouched
        fake.control("POST", "/_fake/faults", [{"operation": "*", "error": "InternalFailure"},
                                               {"operation": "*", "error": "ServiceUnavailable"}])
        expect_error(lambda: cluster(c, "aurora-a"), "InternalFailure", 500,
                     "The request processing has failed because of an unknown error, exception or failure.", "Receiver")
        expect_error(lambda: instance(c, "pg-main"), "ServiceUnavailable", 503,
                     "The request has failed due to a temporary failure of the server.", "Receiver")
        fake.fault("DescribeDBInstances", "DBInstanceNotFound")
        expect_error(lambda: instance(c, "pg-main"), "DBInstanceNotFound", 404, "DBInstance pg-main not found.")
        fake.fault("DescribeDBInstances", "AccessDenied")
        expect_error(lambda: instance(c, "pg-main"), "AccessDenied", 403,
                     "User: %s is not authorized to perform: rds:DescribeDBInstances on resource: "
                     "arn:aws:rds:us-east-1:123456789012:db:pg-main because no identity-based policy allows the "
                     "rds:DescribeDBInstances action" % CALLER)
        fake.fault("DescribeDBInstances", "SomethingOdd", status=429)
        expect_error(lambda: instance(c, "pg-main"), "SomethingOdd", 429, "Injected SomethingOdd")
        fake.fault("DescribeDBInstances", "reset")
        try:
            instance(c, "pg-main")
            raise AssertionError("the fault answered")
        except (ConnectionError, http.client.HTTPException):
            c.close()
        assert_eq([(x["fault"], x["status"]) for x in fake.calls()][-1], ("reset", 0), "no answer is status 0")


def test_fake_rds_deny_rules_give_access_denied_naming_the_action():
    with start() as fake:
        c = client(fake)
        fake.control("POST", "/_fake/deny", {"actions": ["rds:DescribeDBClusters"]})
        expect_error(lambda: cluster(c, "aurora-a"), "AccessDenied", 403,
                     "User: %s is not authorized to perform: rds:DescribeDBClusters on resource: "
                     "arn:aws:rds:us-east-1:123456789012:cluster:aurora-a because no identity-based policy allows "
                     "the rds:DescribeDBClusters action" % CALLER)
        e = expect_error(lambda: c.call("DescribeDBClusters"), "AccessDenied", 403)
        assert_in("on resource: arn:aws:rds:us-east-1:123456789012:cluster:* because", e.message, "no identifier")
        expect_error(lambda: cluster(c, "no-such"), "AccessDenied", 403)  # IAM before the lookup
        instance(c, "pg-main")  # the other action is allowed
        fake.control("POST", "/_fake/deny", {"actions": ["DescribeDBInstances"], "resources": ["pg-main"],
                                             "reason": "explicit"})
        cluster(c, "aurora-a")
        e = expect_error(lambda: instance(c, "PG-MAIN"), "AccessDenied", 403)
        assert e.message.endswith("db:pg-main with an explicit deny in an identity-based policy"), e.message
        instance(c, "maria-1")
        fake.control("POST", "/_fake/deny", {"actions": ["rds:*"], "reason": "scp"})
        e = expect_error(lambda: instance(c, "maria-1"), "AccessDenied", 403)
        assert e.message.endswith("with an explicit deny in a service control policy"), e.message
        assert_eq(fake.control("GET", "/_fake/deny")["rules"][0]["actions"], ["rds:*"], "rules view")
        assert_eq([x["denied"] for x in fake.calls()].count(True), 5, "denied calls are marked")
        fake.control("POST", "/_fake/reset")
        cluster(c, "aurora-a")  # reset clears deny rules
        try:
            fake.control("POST", "/_fake/deny", {"actions": ["rds:DeleteDBInstance"]})
            raise AssertionError("an unknown action was accepted")
        except RuntimeError as err:
            assert_in("400", str(err))


# ---------------------------------------------------------------------------------------------
# The XML and the state


class _Collector(xml.sax.handler.ContentHandler):
    def __init__(self):
        super().__init__()
        self.names = []

    def startElementNS(self, name, qname, attrs):
        self.names.append(name)


def test_fake_rds_xml_is_well_formed_and_namespaced():
    with start() as fake:
        c = client(fake)
        bodies = [c.request("DescribeDBInstances", {"DBInstanceIdentifier": "pg-main"}).raw,
                  c.request("DescribeDBClusters", {"DBClusterIdentifier": "aurora-a"}).raw,
                  c.request("DescribeDBInstances", {"DBInstanceIdentifier": "x-none"}).raw]
        for raw in bodies:
            assert not raw.startswith(b"<?xml"), "no XML declaration"
            for elem in ET.fromstring(raw).iter():
                assert elem.tag.startswith("{%s}" % NS), "every element in the RDS namespace: %s" % elem.tag
            handler = _Collector()
            parser = xml.sax.make_parser()
            parser.setFeature(xml.sax.handler.feature_namespaces, True)
            parser.setContentHandler(handler)
            parser.parse(io.BytesIO(raw))
            assert all(ns == NS for ns, _ in handler.names), "SAX sees one namespace"
        root = ET.fromstring(bodies[0])
        assert_eq([e.tag.split("}")[1] for e in root], ["DescribeDBInstancesResult", "ResponseMetadata"], "children")
        assert re.fullmatch(r"[0-9a-f-]{36}", root.find("{%s}ResponseMetadata/{%s}RequestId" % (NS, NS)).text)
        # The nesting that catches a parser which looks for the first element of a name anywhere:
        q = "{%s}" % NS
        inst = root.find("%sDescribeDBInstancesResult/%sDBInstances/%sDBInstance" % (q, q, q))
        for path in ("Endpoint/Address", "VpcSecurityGroups/VpcSecurityGroupMembership/Status",
                     "DBParameterGroups/DBParameterGroup/DBParameterGroupName", "TagList/Tag/Key"):
            assert inst.find("/".join(q + p for p in path.split("/"))) is not None, path
        cl = ET.fromstring(bodies[1]).find("%sDescribeDBClustersResult/%sDBClusters/%sDBCluster" % (q, q, q))
        names = [e.tag.split("}")[1] for e in cl]
        assert names.index("VpcSecurityGroups") < names.index("Status"), "a nested Status comes first"
        assert_eq(len(list(cl.find(q + "Endpoint"))), 0, "DBCluster Endpoint is text")
        assert_in(b"<ReadReplicaDBInstanceIdentifiers>", bodies[0], "a list with items")
        fake.control("POST", "/_fake/state", {"instances": [{"identifier": "esc", "tags": {"a<b": "x&y"}}]})
        raw = c.request("DescribeDBInstances", {"DBInstanceIdentifier": "esc"}).raw
        assert_in(b"<ReadReplicaDBInstanceIdentifiers/>", raw, "an empty list self-closes")
        assert_in(b"<Key>a&lt;b</Key>", raw, "escaped key")
        assert_in(b"<Value>x&amp;y</Value>", raw, "escaped value")


def test_fake_rds_seed_validation_and_state_view():
    with start(seed=None, region="eu-west-1", account="210987654321") as fake:
        view = fake.control("POST", "/_fake/state", WORLD)
        pg = [i for i in view["instances"] if i["identifier"] == "pg-main"][0]
        assert_eq((pg["arn"], pg["address"], pg["replicas"], pg["port"]),
                  ("arn:aws:rds:eu-west-1:210987654321:db:pg-main", "pg-main.abc123xyz.eu-west-1.rds.amazonaws.com",
                   ["pg-replica"], 5432), "defaults")
        assert_eq(view["clusters"][0]["members"], ["aurora-w", "aurora-r"], "derived members")
        assert_eq(fake.control("GET", "/_fake/state"), view, "GET shows what POST answered")
        for bad, why in [
            ({"instances": [{"identifier": "x", "colour": "red"}]}, "unknown keys"),
            ({"instances": [{"identifier": "x", "replica_source": "missing"}]}, "replica_source"),
            ({"instances": [{"identifier": "x", "engine": "aurora-mysql"}]}, "needs a cluster"),
            ({"instances": [{"identifier": "x", "cluster": "nope"}]}, "not seeded"),
            ({"instances": [{"identifier": "bad_id"}]}, "not a valid RDS identifier"),
            ({"instances": [{"identifier": "a"}, {"identifier": "A"}]}, "duplicate"),
            ({"clusters": [{"identifier": "c"}], "instances": [{"identifier": "w1", "cluster": "c", "is_writer": True},
                                                               {"identifier": "w2", "cluster": "c", "is_writer": True}]},
             "2 writers"),
            ({"servers": []}, "unknown state keys"),
        ]:
            try:
                fake.control("POST", "/_fake/state", bad)
                raise AssertionError("accepted: %s" % bad)
            except RuntimeError as e:
                assert_in("-> 400", str(e), "status for %s" % why)
                assert_in(why, str(e), "reason for %s" % bad)
        assert_eq(fake.control("GET", "/_fake/state"), view, "a refused seed changes nothing")
        c = client(fake, region="eu-west-1")
        assert_eq(instance(c, "arn:aws:rds:eu-west-1:210987654321:db:pg-main")["DBInstanceIdentifier"], "pg-main",
                  "ARN in this region/account")


smtest.run(globals())
