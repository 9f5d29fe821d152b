"""Tests of the Amazon RDS emulator (fake_rds.py) and its client (rds_client.py). Every test_<name>
is ctest <name> (tests/rds_fake.cmake); run one with `python3 tests/fakes/test_fake_rds.py <name>`.

Each test starts its own emulator on a free port. Expected texts and statuses are the real
service's where the fake's docstring cites a source, and the fake's documented [assumed] choice
otherwise.
"""
import datetime
import http.client
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
import xml.sax
import xml.sax.handler

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TESTS, "lib"))
sys.path.insert(0, HERE)

import sm_sigv4  # noqa: E402
import smtest  # noqa: E402
from rds_client import NS, FakeRds, RdsClient, RdsError  # noqa: E402
from smtest import assert_eq, assert_in, assert_not_in  # noqa: E402

AK, SK = "AKIDFAKERDSTEST01", "fakeRdsSecretKey/For+Tests0123456789abcd"
ACCOUNT = "123456789012"
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


def start(**opts):
    return FakeRds(AK, SK, python=sys.executable, **opts)


def client(fake, **kw):
    kw.setdefault("region", "us-east-1")
    kw.setdefault("access_key", AK)
    kw.setdefault("secret_key", SK)
    return RdsClient(fake.endpoint, **kw)


def expect_error(fn, code, status, message=None, type_="Sender"):
    try:
        fn()
    except RdsError as e:
        assert_eq(e.code, code, "error code")
        assert_eq(e.status, status, "HTTP status of %s" % code)
        assert_eq(e.type, type_, "Type of %s" % code)
        if message is not None:
            assert_eq(e.message, message, "message of %s" % code)
        assert_eq(e.headers.get("content-type"), "text/xml", "error content type")
        assert_eq(e.headers.get("x-amzn-requestid"), e.request_id, "request id header = body RequestId")
        return e
    raise AssertionError("expected %s" % code)


def error_xml(code, message, rid, type_="Sender"):
    return ('<ErrorResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/">\n'
            "  <Error>\n"
            "    <Type>%s</Type>\n"
            "    <Code>%s</Code>\n"
            "    <Message>%s</Message>\n"
            "  </Error>\n"
            "  <RequestId>%s</RequestId>\n"
            "</ErrorResponse>\n" % (type_, code, message, rid)).encode()


def ids(items, key):
    return [x[key] for x in items]


def drop_connection_expected(fn):
    try:
        fn()
    except (ConnectionError, http.client.HTTPException):
        return
    raise AssertionError("the fault answered")


# ---------------------------------------------------------------------------------------------
# The two operations


def test_fake_rds_describe_instances_by_id_and_arn():
    with start() as fake:
        fake.seed(WORLD)
        c = client(fake)
        out = c.describe_db_instances(DBInstanceIdentifier="pg-main")
        assert_eq(len(out["DBInstances"]), 1, "one instance")
        assert_not_in("Marker", out, "no Marker on the last page")
        pg = out["DBInstances"][0]
        assert_eq(pg["DBInstanceIdentifier"], "pg-main", "id")
        assert_eq(pg["DBInstanceArn"], "arn:aws:rds:us-east-1:123456789012:db:pg-main", "arn")
        assert_eq(pg["Engine"], "postgres", "engine")
        assert_eq(pg["DBInstanceStatus"], "available", "status")
        assert_eq(pg["MasterUsername"], "postgres", "master user")
        assert_eq(pg["DBName"], "app", "db name")
        assert_eq(pg["Endpoint"], {"HostedZoneId": "Z2R2ITUGPM61AM",
                                   "Address": "pg-main.abc123xyz.us-east-1.rds.amazonaws.com", "Port": "5432"},
                  "Endpoint structure")
        assert_eq(pg["ReadReplicaDBInstanceIdentifiers"], ["pg-replica"], "replica list")
        assert_not_in("ReadReplicaSourceDBInstanceIdentifier", pg, "a primary has no source")
        assert_not_in("DBClusterIdentifier", pg, "not a cluster member")
        secret = pg["MasterUserSecret"]
        assert re.fullmatch(r"arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-[0-9a-f-]{36}-[a-z0-9]{6}",
                            secret["SecretArn"]), secret
        assert_eq(secret["SecretStatus"], "active", "secret status")
        assert secret["KmsKeyId"].startswith("arn:aws:kms:us-east-1:123456789012:key/"), secret
        # By ARN, and identifiers are case-insensitive (RDS stores them lowercase).
        by_arn = c.describe_db_instances(DBInstanceIdentifier="arn:aws:rds:us-east-1:123456789012:db:pg-replica")
        rep = by_arn["DBInstances"][0]
        assert_eq(rep["DBInstanceIdentifier"], "pg-replica", "by ARN")
        assert_eq(rep["ReadReplicaSourceDBInstanceIdentifier"], "pg-main", "replica source")
        assert_eq(rep["ReadReplicaDBInstanceIdentifiers"], [], "a replica has no replicas")
        assert_eq(rep["Endpoint"]["Address"], "pg-replica.test", "seeded address")
        assert_eq(rep["MasterUsername"], "postgres", "replica inherits the master user")
        assert_not_in("MasterUserSecret", rep, "no managed secret on the replica")
        assert_eq(rep["StatusInfos"][0]["Status"], "replicating", "replication status info")
        assert_eq(c.describe_db_instances(DBInstanceIdentifier="PG-Main")["DBInstances"][0]["DBInstanceIdentifier"],
                  "pg-main", "case-insensitive id")
        maria = c.describe_db_instances(DBInstanceIdentifier="maria-1")["DBInstances"][0]
        assert_eq((maria["Engine"], maria["Endpoint"]["Port"], maria["MasterUsername"]), ("mariadb", "3306", "admin"),
                  "mariadb defaults")
        assert_eq(maria["TagList"], [{"Key": "team", "Value": "db"}], "seeded tags")
        member = c.describe_db_instances(DBInstanceIdentifier="aurora-r")["DBInstances"][0]
        assert_eq((member["Engine"], member["DBClusterIdentifier"], member["PromotionTier"]),
                  ("aurora-postgresql", "aurora-a", "2"), "aurora member")
        assert_eq(member["Endpoint"]["Address"], "aurora-r.abc123xyz.us-east-1.rds.amazonaws.com", "member address")
        everything = c.describe_db_instances()
        assert_eq(ids(everything["DBInstances"], "DBInstanceIdentifier"),
                  ["aurora-r", "aurora-w", "maria-1", "pg-main", "pg-replica"], "all, sorted by identifier")
        calls = fake.calls()
        assert_eq(calls[0]["identifier"], "pg-main", "call log identifier")
        assert_eq(calls[0]["returned"], ["pg-main"], "call log returned")
        assert_eq(calls[1]["identifier"], "arn:aws:rds:us-east-1:123456789012:db:pg-replica", "ARN as sent")


def test_fake_rds_describe_clusters_by_id_and_arn():
    with start() as fake:
        fake.seed(WORLD)
        c = client(fake)
        out = c.describe_db_clusters(DBClusterIdentifier="aurora-a")
        cl = out["DBClusters"][0]
        assert_eq(cl["DBClusterIdentifier"], "aurora-a", "id")
        assert_eq(cl["DBClusterArn"], "arn:aws:rds:us-east-1:123456789012:cluster:aurora-a", "arn")
        assert_eq(cl["Engine"], "aurora-postgresql", "engine")
        assert_eq(cl["Status"], "available", "status (not the security group's 'active')")
        assert_eq(cl["Endpoint"], "aurora-a.cluster.test", "Endpoint is a plain string")
        assert_eq(cl["ReaderEndpoint"], "aurora-a.cluster-ro.test", "reader endpoint")
        assert_eq(cl["Port"], "5432", "port")
        assert_eq(cl["MasterUsername"], "postgres", "master user")
        assert_eq(cl["DBClusterMembers"], [
            {"DBInstanceIdentifier": "aurora-w", "IsClusterWriter": "true", "DBClusterParameterGroupStatus": "in-sync",
             "PromotionTier": "1"},
            {"DBInstanceIdentifier": "aurora-r", "IsClusterWriter": "false", "DBClusterParameterGroupStatus": "in-sync",
             "PromotionTier": "2"},
        ], "members in seed order with writer flags")
        assert_eq(cl["MasterUserSecret"]["SecretArn"],
                  "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!cluster-x-AbCdEf", "seeded secret ARN")
        by_arn = c.describe_db_clusters(DBClusterIdentifier="arn:aws:rds:us-east-1:123456789012:cluster:aurora-a")
        assert_eq(by_arn["DBClusters"][0]["DBClusterIdentifier"], "aurora-a", "by ARN")
        # Default endpoints follow the RDS naming.
        fake.seed({"clusters": [{"identifier": "my-aurora", "engine": "aurora-mysql"}],
                   "instances": [{"identifier": "m1", "cluster": "my-aurora"}, {"identifier": "m2", "cluster": "my-aurora"}]})
        cl = c.describe_db_clusters(DBClusterIdentifier="my-aurora")["DBClusters"][0]
        assert_eq(cl["Endpoint"], "my-aurora.cluster-abc123xyz.us-east-1.rds.amazonaws.com", "writer endpoint")
        assert_eq(cl["ReaderEndpoint"], "my-aurora.cluster-ro-abc123xyz.us-east-1.rds.amazonaws.com", "reader endpoint")
        assert_eq((cl["Port"], cl["MasterUsername"]), ("3306", "admin"), "aurora-mysql defaults")
        assert_eq([m["IsClusterWriter"] for m in cl["DBClusterMembers"]], ["true", "false"], "first member writes")
        assert_not_in("MasterUserSecret", cl, "no managed secret unless seeded")


def test_fake_rds_filters_select_instances_and_clusters():
    with start() as fake:
        fake.seed(WORLD)
        c = client(fake)

        def inst(filters):
            return ids(c.describe_db_instances(Filters=filters)["DBInstances"], "DBInstanceIdentifier")

        assert_eq(inst([{"Name": "db-cluster-id", "Values": ["aurora-a"]}]), ["aurora-r", "aurora-w"], "by cluster id")
        assert_eq(inst([{"Name": "db-cluster-id", "Values": ["arn:aws:rds:us-east-1:123456789012:cluster:aurora-a"]}]),
                  ["aurora-r", "aurora-w"], "by cluster ARN")
        assert_eq(inst([{"Name": "db-instance-id", "Values": ["pg-main", "arn:aws:rds:us-east-1:123456789012:db:maria-1"]}]),
                  ["maria-1", "pg-main"], "by instance ids and ARNs")
        assert_eq(inst([{"Name": "engine", "Values": ["postgres"]}]), ["pg-main", "pg-replica"], "by engine")
        assert_eq(inst([{"Name": "engine", "Values": ["aurora-postgresql"]},
                        {"Name": "db-instance-id", "Values": ["aurora-w"]}]), ["aurora-w"], "filters AND")
        assert_eq(inst([{"Name": "db-instance-id", "Values": ["nothing-here"]}]), [], "no match: empty, not an error")
        resp = c.request("DescribeDBInstances", {"Filters": [{"Name": "db-instance-id", "Values": ["nothing-here"]}]})
        assert_in(b"<DBInstances/>", resp.raw, "an empty list is a self-closing element")
        # DBInstanceIdentifier and Filters together narrow each other.
        out = c.describe_db_instances(DBInstanceIdentifier="pg-main", Filters=[{"Name": "engine", "Values": ["mysql"]}])
        assert_eq(out["DBInstances"], [], "identifier + non-matching filter")
        expect_error(lambda: c.describe_db_instances(Filters=[{"Name": "DBInstanceStatus", "Values": ["stopped"]}]),
                     "InvalidParameterValue", 400, "Unrecognized filter name: DBInstanceStatus")
        expect_error(lambda: c.describe_db_instances(Filters=[{"Name": "db-instance-id",
                                                               "Values": ["arn:aws:rds:us-west-2:123456789012:db:"]}]),
                     "InvalidParameterValue", 400, "The parameter Filter: db-instance-id is not a valid identifier. " + RULES)
        clusters = c.describe_db_clusters(Filters=[{"Name": "db-cluster-id", "Values": ["aurora-a"]}])
        assert_eq(ids(clusters["DBClusters"], "DBClusterIdentifier"), ["aurora-a"], "cluster filter")
        assert_eq(c.describe_db_clusters(Filters=[{"Name": "engine", "Values": ["aurora-mysql"]}])["DBClusters"], [],
                  "cluster engine filter")
        expect_error(lambda: c.describe_db_clusters(Filters=[{"Name": "db-instance-id", "Values": ["x"]}]),
                     "InvalidParameterValue", 400, "Unrecognized filter name: db-instance-id")
        logged = [x for x in fake.calls() if x["filters"]][0]
        assert_eq(logged["filters"], [{"Name": "db-cluster-id", "Values": ["aurora-a"]}], "filters in the call log")


def test_fake_rds_pagination_follows_marker():
    with start() as fake:
        fake.seed({"instances": [{"identifier": "db-%02d" % i} for i in range(45, 0, -1)],
                   "clusters": [{"identifier": "cl-%02d" % i} for i in range(1, 26)]})
        c = client(fake)
        first = c.describe_db_instances(MaxRecords=20)
        assert_eq(ids(first["DBInstances"], "DBInstanceIdentifier"), ["db-%02d" % i for i in range(1, 21)], "page 1")
        assert first.get("Marker"), "a Marker while more remain"
        second = c.describe_db_instances(MaxRecords=20, Marker=first["Marker"])
        assert_eq(ids(second["DBInstances"], "DBInstanceIdentifier"), ["db-%02d" % i for i in range(21, 41)], "page 2")
        third = c.describe_db_instances(MaxRecords=20, Marker=second["Marker"])
        assert_eq(ids(third["DBInstances"], "DBInstanceIdentifier"), ["db-%02d" % i for i in range(41, 46)], "page 3")
        assert_not_in("Marker", third, "no Marker on the last page")
        assert_eq(len(c.describe_db_instances()["DBInstances"]), 45, "default MaxRecords is 100")
        assert_eq(len(c.all_pages("DescribeDBInstances", "DBInstances", {"MaxRecords": 20})), 45, "all pages")
        clusters = c.all_pages("DescribeDBClusters", "DBClusters", {"MaxRecords": 20})
        assert_eq(ids(clusters, "DBClusterIdentifier"), ["cl-%02d" % i for i in range(1, 26)], "cluster pages")
        for bad in (19, 101, 0):
            expect_error(lambda: c.describe_db_instances(MaxRecords=bad), "InvalidParameterValue", 400,
                         "Invalid value %d for MaxRecords. Must be between 20 and 100" % bad)
        expect_error(lambda: c.describe_db_instances(Marker="not-a-marker"), "InvalidParameterValue", 400,
                     "Invalid marker: not-a-marker")
        # A marker from the other operation is not accepted either.
        cl_marker = c.describe_db_clusters(MaxRecords=20)["Marker"]
        expect_error(lambda: c.describe_db_instances(Marker=cl_marker), "InvalidParameterValue", 400)
        assert_eq(fake.calls()[1]["marker"], first["Marker"], "marker in the call log")


def test_fake_rds_unknown_identifiers_have_exact_error_xml():
    with start() as fake:
        fake.seed(WORLD)
        c = client(fake)
        resp = c.request("DescribeDBInstances", {"DBInstanceIdentifier": "No-Such-DB"})
        assert_eq(resp.status, 404, "status")
        assert_eq(resp.headers["content-type"], "text/xml", "content type")
        rid = resp.headers["x-amzn-requestid"]
        assert_eq(resp.raw, error_xml("DBInstanceNotFound", "DBInstance No-Such-DB not found.", rid), "exact body")
        resp = c.request("DescribeDBClusters", {"DBClusterIdentifier": "nope"})
        assert_eq(resp.status, 404, "cluster status")
        assert_eq(resp.raw, error_xml("DBClusterNotFoundFault", "DBCluster nope not found.",
                                      resp.headers["x-amzn-requestid"]), "exact cluster body")
        # A cluster is not an instance, and an ARN of another region or account names nothing here.
        expect_error(lambda: c.describe_db_instances(DBInstanceIdentifier="aurora-a"), "DBInstanceNotFound", 404)
        arn = "arn:aws:rds:eu-west-1:123456789012:db:pg-main"
        expect_error(lambda: c.describe_db_instances(DBInstanceIdentifier=arn), "DBInstanceNotFound", 404,
                     "DBInstance %s not found." % arn)
        expect_error(lambda: c.describe_db_clusters(DBClusterIdentifier="arn:aws:rds:us-east-1:210987654321:cluster:aurora-a"),
                     "DBClusterNotFoundFault", 404)
        expect_error(lambda: c.describe_db_instances(DBInstanceIdentifier="arn:aws:rds:us-east-1:123456789012:cluster:aurora-a"),
                     "DBInstanceNotFound", 404)
        # Malformed identifiers are a parameter error.
        for bad in ("bad_name", "1abc", "ends-", "two--hyphens", ""):
            expect_error(lambda: c.describe_db_instances(DBInstanceIdentifier=bad), "InvalidParameterValue", 400,
                         "The parameter DBInstanceIdentifier is not a valid identifier. " + RULES)
        expect_error(lambda: c.describe_db_clusters(DBClusterIdentifier="bad_name"), "InvalidParameterValue", 400,
                     "The parameter DBClusterIdentifier is not a valid identifier. Identifiers must either be an ARN or "
                     "begin with a letter; must contain only ASCII letters, digits, and hyphens; and must not end with "
                     "a hyphen or contain two consecutive hyphens.")
        statuses = [(x["operation"], x["status"], x["error"]) for x in fake.calls()[:2]]
        assert_eq(statuses, [("DescribeDBInstances", 404, "DBInstanceNotFound"),
                             ("DescribeDBClusters", 404, "DBClusterNotFoundFault")], "call log")


# ---------------------------------------------------------------------------------------------
# SigV4


def test_fake_rds_bad_signatures_are_rejected_with_query_codes():
    with start() as fake:
        fake.seed(WORLD)
        c = client(fake)
        c.describe_db_instances(DBInstanceIdentifier="pg-main")
        expect_error(lambda: client(fake, secret_key=SK + "x").describe_db_instances(), "SignatureDoesNotMatch", 403,
                     sm_sigv4.MISMATCH_MESSAGE)
        expect_error(lambda: client(fake, access_key="AKIDNOTKNOWN0000").describe_db_instances(),
                     "InvalidClientTokenId", 403, "The security token included in the request is invalid.")
        expect_error(lambda: c.describe_db_instances(sign=False), "MissingAuthenticationToken", 403,
                     "Request is missing Authentication Token")

        def drop_signature(headers, body):
            return [(h, re.sub(r", Signature=[0-9a-f]+", "", v)) if h == "Authorization" else (h, v)
                    for h, v in headers], body

        e = expect_error(lambda: c.describe_db_instances(mutate=drop_signature), "IncompleteSignature", 400)
        assert_in("Authorization header requires 'Signature' parameter.", e.message)

        def tamper_body(headers, body):
            return headers, body.replace(b"pg-main", b"pg-replica")

        expect_error(lambda: c.describe_db_instances(DBInstanceIdentifier="pg-main", mutate=tamper_body),
                     "SignatureDoesNotMatch", 403, sm_sigv4.MISMATCH_MESSAGE)
        expect_error(lambda: client(fake, region="us-west-2").describe_db_instances(), "SignatureDoesNotMatch", 403,
                     "Credential should be scoped to a valid region, not 'us-west-2'. ")

        # Signed for another service: the scope names the wrong service.
        def other_service(headers, body):
            signed, _ = sm_sigv4.sign("POST", "/", "", [(h, v) for h, v in headers if h not in ("Authorization", "X-Amz-Date")],
                                      body, AK, SK, "us-east-1", "secretsmanager")
            return signed, body

        expect_error(lambda: c.describe_db_instances(mutate=other_service), "SignatureDoesNotMatch", 403,
                     "Credential should be scoped to correct service: 'rds'. ")
        # An unsigned extra header is harmless.
        c.describe_db_instances(mutate=lambda h, b: (h + [("Accept", "*/*")], b))
        calls = fake.calls()
        assert_eq([x["status"] for x in calls], [200, 403, 403, 403, 400, 403, 403, 403, 200], "statuses")
        assert_eq([x["authenticated"] for x in calls], [True] + [False] * 7 + [True], "authenticated")
        for x in calls:
            assert_not_in(SK, json.dumps(x), "no secret in the call log")


def test_fake_rds_expired_and_future_dates_are_rejected():
    with start() as fake:
        c = client(fake)
        now = datetime.datetime.now(datetime.timezone.utc)
        e = expect_error(lambda: c.describe_db_instances(when=now - datetime.timedelta(minutes=6)),
                         "SignatureDoesNotMatch", 403)
        assert re.fullmatch(r"Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 5 min\.\)",
                            e.message), e.message
        e = expect_error(lambda: c.describe_db_instances(when=now + datetime.timedelta(minutes=6)),
                         "SignatureDoesNotMatch", 403)
        assert e.message.startswith("Signature not yet current: "), e.message
        c.describe_db_instances(when=now - datetime.timedelta(minutes=4))
        fake.control("POST", "/_fake/clock", {"skew_seconds": -600})
        c.describe_db_instances(when=now - datetime.timedelta(minutes=10))
        expect_error(lambda: c.describe_db_instances(), "SignatureDoesNotMatch", 403)
        # RequestExpired (EC2's code) exists as an injectable fault.
        fake.control("POST", "/_fake/clock", {"skew_seconds": 0})
        fake.fault("*", "RequestExpired")
        expect_error(lambda: c.describe_db_instances(), "RequestExpired", 400, "Request has expired.")


def test_fake_rds_session_token_required_when_configured():
    tok = "IQoJb3JpZ2luX2VjEFAKErdsSESSIONtoken" + "x" * 40
    with start(session_token=tok) as fake:
        client(fake, session_token=tok).describe_db_instances()
        expect_error(lambda: client(fake).describe_db_instances(), "InvalidClientTokenId", 403)
        expect_error(lambda: client(fake, session_token=tok + "y").describe_db_instances(), "InvalidClientTokenId", 403)

        def add_unsigned(headers, body):
            return headers + [("X-Amz-Security-Token", tok)], body

        expect_error(lambda: client(fake).describe_db_instances(mutate=add_unsigned), "IncompleteSignature", 400,
                     "'X-Amz-Security-Token' must be a 'SignedHeader' in the AWS Authorization.")
        material = fake.control("GET", "/_fake/secret-material")["material"]
        assert_in(tok, material, "the token is secret material")
        assert_in(SK, material, "the secret key is secret material")
        for x in fake.calls():
            assert_not_in(tok, json.dumps(x), "no token in the call log")
    with start() as fake:  # a token sent for long-term keys is not accepted either
        expect_error(lambda: client(fake, session_token=tok).describe_db_instances(), "InvalidClientTokenId", 403)


# ---------------------------------------------------------------------------------------------
# Faults and permissions


def test_fake_rds_throttling_fault_then_success():
    with start() as fake:
        fake.seed(WORLD)
        c = client(fake)
        fake.fault("DescribeDBInstances", "Throttling", count=2)
        for _ in range(2):
            resp = c.request("DescribeDBInstances", {"DBInstanceIdentifier": "pg-main"})
            assert_eq(resp.status, 400, "throttled status")
            assert_eq(resp.raw, error_xml("Throttling", "Rate exceeded", resp.headers["x-amzn-requestid"]), "body")
        c.describe_db_clusters()  # other operations are untouched
        c.describe_db_instances(DBInstanceIdentifier="pg-main")  # the count ran out
        assert_eq(fake.control("GET", "/_fake/faults"), [], "no fault left")
        fake.control("POST", "/_fake/faults", [{"operation": "*", "error": "InternalFailure"},
                                               {"operation": "*", "error": "ServiceUnavailable"}])
        expect_error(lambda: c.describe_db_clusters(), "InternalFailure", 500,
                     "The request processing has failed because of an unknown error, exception or failure.", "Receiver")
        expect_error(lambda: c.describe_db_instances(), "ServiceUnavailable", 503,
                     "The request has failed due to a temporary failure of the server.", "Receiver")
        fake.fault("DescribeDBClusters", "InvalidParameterCombination", skip=1, message="nope")
        c.describe_db_clusters()  # skip lets the first one through
        expect_error(lambda: c.describe_db_clusters(), "InvalidParameterCombination", 400, "nope")
        fake.fault("DescribeDBInstances", "DBInstanceNotFound")
        expect_error(lambda: c.describe_db_instances(DBInstanceIdentifier="pg-main"), "DBInstanceNotFound", 404,
                     "DBInstance pg-main not found.")
        fake.fault("DescribeDBInstances", "SomethingOdd", status=429)
        expect_error(lambda: c.describe_db_instances(), "SomethingOdd", 429, "Injected SomethingOdd")
        fake.fault("*", "Throttling", count=-1)
        for _ in range(3):
            expect_error(lambda: c.describe_db_instances(), "Throttling", 400)
        calls = fake.calls()
        assert_eq([x["fault"] for x in calls[:3]], ["Throttling", "Throttling", None], "fault in the call log")
        for x in calls:
            assert set(x) >= {"operation", "identifier", "status", "error", "fault"}, x
        fake.reset()
        assert_eq(fake.calls(), [], "calls cleared")
        c.describe_db_instances(DBInstanceIdentifier="pg-main")  # faults cleared, state kept
        fake.reset(state=True)
        expect_error(lambda: c.describe_db_instances(DBInstanceIdentifier="pg-main"), "DBInstanceNotFound", 404)


def test_fake_rds_reset_close_and_delay_faults():
    with start() as fake:
        fake.seed(WORLD)
        c = client(fake, retry_stale=False)
        c.describe_db_instances()
        before = fake.stats()["connections"]
        fake.fault("DescribeDBInstances", "reset")
        drop_connection_expected(lambda: c.describe_db_instances())
        c.close()
        fake.fault("DescribeDBInstances", "close")
        drop_connection_expected(lambda: c.describe_db_instances())
        c.close()
        c.describe_db_instances()
        fake.fault("DescribeDBClusters", "delay", delay_ms=300)
        t0 = time.monotonic()
        c.describe_db_clusters()
        assert time.monotonic() - t0 >= 0.3, "delay"
        fake.fault("DescribeDBClusters", "Throttling", delay_ms=200)
        t0 = time.monotonic()
        expect_error(lambda: c.describe_db_clusters(), "Throttling", 400)
        assert time.monotonic() - t0 >= 0.2, "delayed error"
        after = fake.stats()["connections"]
        # 1 stats + 2 faults + 2 reconnects after the drops + 2 faults (delay, throttling) + this stats.
        assert_eq(after - before, 7, "dropped connections forced new ones, the rest were kept alive")
        errors = [x["error"] for x in fake.calls() if x["operation"] == "DescribeDBInstances"]
        assert_eq(errors, [None, "connection-reset", "connection-close", None], "call log")
        assert_eq([x["status"] for x in fake.calls()][1:3], [0, 0], "no answer is status 0")


def test_fake_rds_deny_switch_gives_access_denied_naming_the_action():
    with start(extra_credential=["AKIDSECONDIDENTITY:secondSecretKey0123456789"]) as fake:
        fake.seed(WORLD)
        c = client(fake)
        fake.deny(["rds:DescribeDBClusters"])
        expect_error(lambda: c.describe_db_clusters(DBClusterIdentifier="aurora-a"), "AccessDenied", 403,
                     "User: %s is not authorized to perform: rds:DescribeDBClusters on resource: "
                     "arn:aws:rds:us-east-1:123456789012:cluster:aurora-a because no identity-based policy allows "
                     "the rds:DescribeDBClusters action" % CALLER)
        expect_error(lambda: c.describe_db_clusters(), "AccessDenied", 403,
                     "User: %s is not authorized to perform: rds:DescribeDBClusters on resource: "
                     "arn:aws:rds:us-east-1:123456789012:cluster:* because no identity-based policy allows "
                     "the rds:DescribeDBClusters action" % CALLER)
        # IAM is evaluated before the identifier is looked up.
        expect_error(lambda: c.describe_db_clusters(DBClusterIdentifier="no-such"), "AccessDenied", 403)
        c.describe_db_instances(DBInstanceIdentifier="pg-main")  # the other action is allowed
        # Per identity: only the second key lacks DescribeDBInstances, and only on pg-main.
        fake.deny(["DescribeDBInstances"], access_key="AKIDSECONDIDENTITY", resources=["pg-main"], reason="explicit")
        c.describe_db_clusters()
        c.describe_db_instances(DBInstanceIdentifier="pg-main")
        second = client(fake, access_key="AKIDSECONDIDENTITY", secret_key="secondSecretKey0123456789")
        expect_error(lambda: second.describe_db_instances(DBInstanceIdentifier="PG-MAIN"), "AccessDenied", 403,
                     "User: arn:aws:iam::123456789012:user/AKIDSECONDIDENTITY is not authorized to perform: "
                     "rds:DescribeDBInstances on resource: arn:aws:rds:us-east-1:123456789012:db:pg-main with an "
                     "explicit deny in an identity-based policy")
        second.describe_db_instances(DBInstanceIdentifier="maria-1")
        second.describe_db_instances()  # db:* is not a listed resource
        fake.deny(["rds:*"], reason="scp")
        e = expect_error(lambda: c.describe_db_instances(), "AccessDenied", 403)
        assert e.message.endswith("on resource: arn:aws:rds:us-east-1:123456789012:db:* with an explicit deny in a "
                                  "service control policy"), e.message
        assert_eq(fake.control("GET", "/_fake/deny")["rules"][0]["actions"], ["rds:*"], "rules view")
        fake.deny([])
        c.describe_db_instances()
        # An injected AccessDenied fault carries the same text.
        fake.fault("DescribeDBInstances", "AccessDenied")
        expect_error(lambda: c.describe_db_instances(DBInstanceIdentifier="pg-main"), "AccessDenied", 403,
                     "User: %s is not authorized to perform: rds:DescribeDBInstances on resource: "
                     "arn:aws:rds:us-east-1:123456789012:db:pg-main because no identity-based policy allows the "
                     "rds:DescribeDBInstances action" % CALLER)
        denied = [x["denied"] for x in fake.calls()]
        assert_eq(denied.count(True), 5, "denied calls are marked")
        fake.deny(["rds:DescribeDBClusters"])
        fake.reset()
        c.describe_db_clusters()  # reset clears deny rules
        try:
            fake.deny(["rds:DeleteDBInstance"])
            raise AssertionError("an unknown action was accepted")
        except RuntimeError as err:
            assert_in("400", str(err))


def test_fake_rds_unknown_action_and_version_errors():
    with start() as fake:
        fake.seed(WORLD)
        c = client(fake)
        expect_error(lambda: c.call("DescribeDBInstance", {}), "InvalidAction", 400,
                     "Could not find operation DescribeDBInstance for version 2014-10-31")
        expect_error(lambda: c.call("DescribeDBSnapshots", {}), "InvalidAction", 400,
                     "The fake does not implement DescribeDBSnapshots.")
        expect_error(lambda: c.describe_db_instances(version="2099-01-01"), "InvalidAction", 400,
                     "Could not find operation DescribeDBInstances for version 2099-01-01")
        expect_error(lambda: c.call("DescribeDBInstances", params={"Action": "DescribeDBInstances"}), "InvalidAction", 400,
                     "Could not find operation DescribeDBInstances for version NO_VERSION_SPECIFIED")
        # Parameter names are case-sensitive.
        expect_error(lambda: c.call("DescribeDBInstances", params={"action": "DescribeDBInstances",
                                                                   "Version": "2014-10-31"}),
                     "MissingAction", 400, "Missing Action")
        expect_error(lambda: c.call("DescribeDBInstances", params={"Version": "2014-10-31"}), "MissingAction", 400)
        out = c.call("DescribeDBInstances", params={"Action": "DescribeDBInstances", "Version": "2014-10-31",
                                                    "DbInstanceIdentifier": "pg-main"})
        assert_eq(len(out["DBInstances"]), 5, "a wrong-case parameter is ignored, so everything is listed")
        assert_eq(fake.calls()[-1]["ignored_params"], ["DbInstanceIdentifier"], "and the call log says so")
        expect_error(lambda: c.call("DescribeDBInstances", params={"Action": "describedbinstances",
                                                                   "Version": "2014-10-31"}), "InvalidAction", 400)
        # A JSON body is not a form: no Action reaches the service.
        resp = c.request("DescribeDBInstances", raw_body=b'{"Action": "DescribeDBInstances"}',
                         content_type="application/x-amz-json-1.1")
        assert_eq(resp.status, 400, "JSON body")
        assert_in(b"<Code>MissingAction</Code>", resp.raw, "JSON body code")


def test_fake_rds_get_requests_with_a_query_string_work():
    with start() as fake:
        fake.seed(WORLD)
        c = client(fake)
        out = c.describe_db_instances(DBInstanceIdentifier="pg-main", method="GET")
        assert_eq(out["DBInstances"][0]["DBInstanceIdentifier"], "pg-main", "GET by id")
        out = c.describe_db_clusters(Filters=[{"Name": "db-cluster-id", "Values": ["aurora-a"]}], method="GET")
        assert_eq(len(out["DBClusters"]), 1, "GET with filters")
        resp = c.request("DescribeDBInstances", {"DBInstanceIdentifier": "pg-main"}, method="GET")
        assert_eq(resp.status, 200, "GET status")
        assert_eq(fake.calls()[0]["method"], "GET", "method in the call log")


# ---------------------------------------------------------------------------------------------
# Wire format


class _Collector(xml.sax.handler.ContentHandler):
    def __init__(self):
        super().__init__()
        self.names = []

    def startElementNS(self, name, qname, attrs):
        self.names.append(name)


def test_fake_rds_xml_is_well_formed_and_namespaced():
    with start() as fake:
        fake.seed(WORLD)
        c = client(fake)
        bodies = [
            c.request("DescribeDBInstances", {}).raw,
            c.request("DescribeDBClusters", {}).raw,
            c.request("DescribeDBInstances", {"DBInstanceIdentifier": "x-none"}).raw,
        ]
        for raw in bodies:
            assert not raw.startswith(b"<?xml"), "no XML declaration"
            root = ET.fromstring(raw)  # well-formed
            for elem in root.iter():
                assert elem.tag.startswith("{%s}" % NS), "every element in the RDS namespace: %s" % elem.tag
            handler = _Collector()
            parser = xml.sax.make_parser()
            parser.setFeature(xml.sax.handler.feature_namespaces, True)
            parser.setContentHandler(handler)
            parser.parse(io.BytesIO(raw))
            assert all(ns == NS for ns, _ in handler.names), "SAX sees one namespace"
        root = ET.fromstring(bodies[0])
        assert_eq(root.tag, "{%s}DescribeDBInstancesResponse" % NS, "root")
        assert_eq([e.tag.split("}")[1] for e in root], ["DescribeDBInstancesResult", "ResponseMetadata"], "children")
        rid = root.find("{%s}ResponseMetadata/{%s}RequestId" % (NS, NS)).text
        assert re.fullmatch(r"[0-9a-f-]{36}", rid), rid
        # The nesting that catches a parser which looks for the first element of a name anywhere:
        q = "{%s}" % NS
        inst = root.find("%sDescribeDBInstancesResult/%sDBInstances/%sDBInstance" % (q, q, q))
        assert inst.find(q + "Endpoint/" + q + "Address") is not None, "DBInstance Endpoint is a structure"
        assert inst.find(q + "VpcSecurityGroups/" + q + "VpcSecurityGroupMembership/" + q + "Status") is not None
        assert inst.find(q + "DBParameterGroups/" + q + "DBParameterGroup/" + q + "DBParameterGroupName") is not None
        assert inst.find(q + "TagList/" + q + "Tag/" + q + "Key") is not None
        croot = ET.fromstring(bodies[1])
        cl = croot.find("%sDescribeDBClustersResult/%sDBClusters/%sDBCluster" % (q, q, q))
        names = [e.tag.split("}")[1] for e in cl]
        assert names.index("VpcSecurityGroups") < names.index("Status"), "a nested Status comes first"
        assert_eq(len(list(cl.find(q + "Endpoint"))), 0, "DBCluster Endpoint is text")
        assert_eq(cl.find(q + "DBClusterMembers/" + q + "DBClusterMember/" + q + "DBInstanceIdentifier").text,
                  "aurora-w", "member id nested in the cluster")
        assert_in(b"<ReadReplicaDBInstanceIdentifiers/>", bodies[0], "empty list self-closing")
        assert_not_in(b"<Marker", bodies[0], "no Marker element on the last page")
        fake.seed({"instances": [{"identifier": "i-%02d" % i} for i in range(25)]})
        raw = c.request("DescribeDBInstances", {"MaxRecords": 20}).raw
        ET.fromstring(raw)
        assert re.search(rb"</DBInstances>\n    <Marker>[A-Za-z0-9_-]+</Marker>\n  </DescribeDBInstancesResult>", raw), \
            "Marker after DBInstances when more pages remain"
        # Text is escaped.
        fake.seed({"instances": [{"identifier": "esc", "tags": {"a<b": "x&y"}}]})
        raw = c.request("DescribeDBInstances", {}).raw
        assert_in(b"<Key>a&lt;b</Key>", raw, "escaped key")
        assert_in(b"<Value>x&amp;y</Value>", raw, "escaped value")


def test_fake_rds_seed_validation_and_state_view():
    with start(region="eu-west-1", account="210987654321") as fake:
        view = fake.seed(WORLD)
        pg = [i for i in view["instances"] if i["identifier"] == "pg-main"][0]
        assert_eq(pg["arn"], "arn:aws:rds:eu-west-1:210987654321:db:pg-main", "region/account in the ARN")
        assert_eq(pg["address"], "pg-main.abc123xyz.eu-west-1.rds.amazonaws.com", "default address")
        assert_eq(pg["replicas"], ["pg-replica"], "derived replicas")
        assert_eq(pg["port"], 5432, "default port")
        cl = view["clusters"][0]
        assert_eq(cl["members"], ["aurora-w", "aurora-r"], "derived members")
        assert_eq(fake.state(), view, "GET shows what POST answered")
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
            ({"clusters": [{"identifier": "c", "engine": "aurora-mysql"}],
              "instances": [{"identifier": "w1", "cluster": "c", "engine": "aurora-postgresql"}]}, "differs"),
            ({"servers": []}, "unknown state keys"),
        ]:
            try:
                fake.seed(bad)
                raise AssertionError("accepted: %s" % bad)
            except RuntimeError as e:
                assert_in("-> 400", str(e), "status for %s" % why)
                assert_in(why, str(e), "reason for %s" % bad)
        assert_eq(fake.state(), view, "a refused seed changes nothing")
        c = client(fake, region="eu-west-1")
        out = c.describe_db_instances(DBInstanceIdentifier="arn:aws:rds:eu-west-1:210987654321:db:pg-main")
        assert_eq(out["DBInstances"][0]["DBInstanceIdentifier"], "pg-main", "ARN in this region/account")


def test_fake_rds_keepalive_stats_port_file_and_sigterm():
    d = tempfile.mkdtemp(prefix="fake-rds-pf-")
    try:
        seed = os.path.join(d, "seed.json")
        with open(seed, "w") as f:
            json.dump(WORLD, f)
        pf = os.path.join(d, "port")
        proc = subprocess.Popen([sys.executable, os.path.join(HERE, "fake_rds.py"), "--port", "0", "--port-file", pf,
                                 "--access-key", AK, "--secret-key", SK, "--seed-file", seed,
                                 "--caller-arn", "arn:aws:sts::123456789012:assumed-role/r/s"])
        try:
            deadline = time.monotonic() + 10
            while not os.path.exists(pf) and time.monotonic() < deadline:
                time.sleep(0.02)
            with open(pf) as f:
                text = f.read()
            assert re.fullmatch(r"\d+\n", text), "port file is '<port>\\n'"
            assert_eq(os.path.exists(pf + ".tmp"), False, "written atomically")
            endpoint = "http://127.0.0.1:%d" % int(text)
            c = RdsClient(endpoint, access_key=AK, secret_key=SK)
            from rds_client import control
            before = control(endpoint, "GET", "/_fake/stats")
            ridset = set()
            for _ in range(5):
                resp = c.request("DescribeDBInstances", {"DBInstanceIdentifier": "pg-main"})
                assert_eq(resp.status, 200, "seeded from --seed-file")
                assert_eq(resp.headers["content-length"], str(len(resp.raw)), "content length")
                ridset.add(resp.headers["x-amzn-requestid"])
            assert_eq(len(ridset), 5, "distinct request ids")
            after = control(endpoint, "GET", "/_fake/stats")
            assert_eq(after["connections"] - before["connections"], 2, "one kept-alive connection + this stats")
            assert_eq(after["requests"] - before["requests"], 6, "requests")
            assert_eq(after["api_calls"], 5, "api calls")
            control(endpoint, "POST", "/_fake/deny", {"actions": ["rds:DescribeDBInstances"]})
            try:
                c.describe_db_instances()
                raise AssertionError("not denied")
            except RdsError as e:
                assert e.message.startswith("User: arn:aws:sts::123456789012:assumed-role/r/s is not"), e.message
            c.close()
            try:
                control(endpoint, "GET", "/_fake/nothing")
                raise AssertionError("unknown control endpoint answered 200")
            except RuntimeError as e:
                assert_in("-> 404", str(e))
        finally:
            proc.send_signal(signal.SIGTERM)
            assert_eq(proc.wait(10), 0, "clean exit on SIGTERM")
    finally:
        shutil.rmtree(d)


smtest.run(globals())
