#!/usr/bin/env python3
"""A local Amazon RDS API emulator for tests (Python 3 standard library only).

Two operations, DescribeDBInstances and DescribeDBClusters: what the rotation function calls to
resolve an RDS-managed master secret and to recognise read replicas and Aurora readers.

    python3 tests/fakes/fake_rds.py --port 0 --port-file FILE --access-key AKID --secret-key SECRET \
        [--region us-east-1] [--session-token TOKEN] [--account 123456789012] \
        [--caller-arn ARN] [--extra-credential AKID:SECRET ...] [--seed-file FILE] \
        [--tls-cert CERT --tls-key KEY] [--bind 127.0.0.1] [--verbose]
--access-key/--secret-key default to AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY. The port file gets
"<port>\n", written atomically once the socket listens. SIGTERM/SIGINT exit 0. --seed-file loads a
POST /_fake/state document at startup (it is never written back).

Wire (AWS Query protocol, as botocore speaks it to rds.<region>.amazonaws.com):
    POST /  Content-Type: application/x-www-form-urlencoded; charset=utf-8
            Action=DescribeDBInstances&Version=2014-10-31&DBInstanceIdentifier=...
    GET /?Action=...&Version=...   is accepted too (AWS accepts both); on a POST, body parameters
            win over query-string ones [assumed]. Parameter names are case-sensitive; parameters the
            operation does not have are ignored [assumed], and listed in the call log
            ("ignored_params") so a test can catch a misspelt one.
    Every API request is SigV4-verified by sm_sigv4.verify with service name "rds" (header auth
    only; presigned query auth is not supported and gets MissingAuthenticationToken).
    Answers: Content-Type text/xml, header x-amzn-RequestId, no XML declaration, indented XML in the
    namespace http://rds.amazonaws.com/doc/2014-10-31/, empty lists as self-closing elements
    (<ReadReplicaDBInstanceIdentifiers/>), <Marker> only when there is a next page. HTTP/1.1
    keep-alive.
    Errors: <ErrorResponse xmlns=NS><Error><Type>Sender|Receiver</Type><Code/><Message/></Error>
    <RequestId/></ErrorResponse> (shape: a real RDS 404 captured in NixOS/nixops#970 by boto's debug
    log; Type is Receiver for 5xx [assumed]).

Operations
    DescribeDBInstances  DBInstanceIdentifier (id or ARN; ids are case-insensitive, stored lowercase),
                         Filters.Filter.N.Name / Filters.Filter.N.Values.Value.M with the names
                         db-instance-id, db-cluster-id (ids or ARNs), dbi-resource-id, engine,
                         MaxRecords (20..100, default 100), Marker.
    DescribeDBClusters   DBClusterIdentifier (id or ARN), Filters (db-cluster-id, db-cluster-resource-id,
                         engine), MaxRecords, Marker, IncludeShared (accepted, no effect).
    Results are sorted by identifier [assumed]. An identifier that names nothing is an error
    (DBInstanceNotFound / DBClusterNotFoundFault, 404); a filter that matches nothing is an empty
    list (both as AWS). Order of checks: SigV4 -> injected fault -> Action/Version -> IAM deny ->
    parameters -> lookup.

Test-only control API (unsigned JSON, under /_fake/; never exists on AWS):
    POST /_fake/faults   {"operation": "DescribeDBInstances"|"DescribeDBClusters"|"*", "error": E,
                          "count": N, "skip": K, "status": S, "message": "...", "delay_ms": M}
                         (or a list of these). The next N calls of the operation (after letting K
                         through) fail with E, checked after SigV4 verification passed. E is an AWS
                         code (defaults in FAULT_DEFAULTS: Throttling 400 "Rate exceeded",
                         InternalFailure 500, ServiceUnavailable 503, AccessDenied 403 with the IAM
                         text for the request's action and resource, DBInstanceNotFound 404, ...;
                         any other code answers 400 "Injected <code>" unless "status"/"message"),
                         or "reset" (TCP RST, no answer), "close" (FIN, no answer), "delay" (sleep
                         delay_ms, then answer normally; delay_ms also delays an error). count
                         defaults to 1; -1 means until /_fake/reset. "apply" is accepted for
                         symmetry with the Secrets Manager fake (these operations change nothing).
    GET  /_fake/faults   pending faults;  DELETE /_fake/faults clears them.
    GET  /_fake/calls    every API request in the order of its answer: {"operation", "identifier",
                         "filters": [{"Name", "Values"}], "max_records", "marker", "method", "version",
                         "status" (0: no answer), "error", "fault", "denied", "returned" (identifiers
                         in the answer), "ignored_params", "access_key", "authenticated",
                         "request_id", "time"}. Never a secret key, token or signature.
    POST /_fake/reset    clears faults, calls and deny rules ({"state": true} also wipes instances
                         and clusters).
    GET  /_fake/state    the state with every default filled in (same shape as the seed).
    POST /_fake/state    replace the state with a seed document (see SEEDING); answers GET's view.
    GET  /_fake/stats    {"connections": accepted TCP connections, "requests": HTTP requests (API
                         and control), "api_calls": calls recorded}
    POST /_fake/deny     {"actions": ["rds:DescribeDBClusters", ...], "resources": [id|ARN, ...],
                          "access_key": "AKID", "reason": "implicit"|"explicit"|"scp"} or a list of
                         these: REPLACES the deny rules ({"actions": []} or DELETE clears). A request
                         whose action (bare "DescribeDBClusters", "rds:*" and "*" work too) and
                         caller (all when access_key is absent) match a rule, and whose resource
                         (the ARN of the identifier asked for, else arn:aws:rds:<region>:<account>:
                         db:* / cluster:*) is listed (all when resources is absent), gets 403
                         AccessDenied "User: <caller-arn> is not authorized to perform: rds:<Op> on
                         resource: <arn> because no identity-based policy allows the rds:<Op>
                         action" (reason explicit/scp: "with an explicit deny in an identity-based
                         policy" / "... in a service control policy").
    GET  /_fake/deny     the rules.
    POST /_fake/clock    {"skew_seconds": S}: the fake's clock (signature window) runs S seconds off.
    GET  /_fake/secret-material   {"material": [...]}: secret keys, session tokens, signing keys and
                         signatures seen, for the suite's secret hygiene check.

SEEDING (POST /_fake/state, --seed-file): {"instances": [INSTANCE...], "clusters": [CLUSTER...]}
    INSTANCE: {"identifier": "pg-main"              required; stored lowercase
               "engine": "postgres"                 postgres|mysql|mariadb|aurora-postgresql|
                                                    aurora-mysql; default: the cluster's, else postgres
               "engine_version", "status" ("available"), "master_username" (postgres: "postgres",
               others "admin"; a replica or cluster member inherits), "db_name", "instance_class",
               "address": "<id>.abc123xyz.<region>.rds.amazonaws.com" unless given,
               "port": 5432 (postgres engines) / 3306 (mysql engines) unless given,
               "cluster": "aurora-a"                member of that seeded cluster
               "is_writer": true|false              cluster members: default, the first member
                                                    not marked false is the writer
               "promotion_tier": 1                  cluster members
               "replica_source": "pg-main"          read replica of that seeded instance
               "master_user_secret": true | "arn:..." | {"secret_arn", "secret_status",
                                     "kms_key_id"}  RDS-managed master secret (MasterUserSecret)
               "tags": {"k": "v"} | [{"Key", "Value"}]   default two tags
               "arn", "resource_id", "availability_zone", "hosted_zone_id"  (defaults derived)}
    CLUSTER:  {"identifier": "aurora-a", "engine": "aurora-postgresql" (default), "engine_version",
               "status", "master_username", "db_name", "port",
               "endpoint": "<id>.cluster-abc123xyz.<region>.rds.amazonaws.com" unless given,
               "reader_endpoint": "<id>.cluster-ro-abc123xyz.<region>.rds.amazonaws.com" unless given,
               "master_user_secret", "tags", "arn", "resource_id", "hosted_zone_id"}
    Members (DBClusterMembers) and ReadReplicaDBInstanceIdentifiers are derived from the instances.
    A bad document answers 400 {"error": "..."} and leaves the state as it was.

Sources (the search corpus, 2024-2026 captures); [assumed] marks what could not be checked:
    - Status codes and the code list: the RDS API Reference "Common Errors" page (IncompleteSignature
      400, InternalFailure 500, InvalidAction 400, InvalidClientTokenId 403, InvalidParameterCombination
      400, InvalidParameterValue 400, MissingAction 400, MissingAuthenticationToken 403, RequestExpired
      400, ServiceUnavailable 503, ThrottlingException 400 - RDS itself answers code "Throttling").
    - DBInstanceNotFound 404 / DBClusterNotFoundFault 404 and "DBInstance <id> not found.": botocore
      rds service-2.json, the captured ErrorResponse above, ministack#531 (real AWS sends
      DBInstanceNotFound without "Fault"); "DBCluster <id> not found." as moto and floci#1740 [the
      cluster text is unverified against AWS].
    - Throttling / "Rate exceeded" on DescribeDBInstances: cloud-custodian#3340, aws-cli#8604.
    - AccessDenied 403 and its text: pireporter#8 (rds:DescribeDBInstances on ...:db:*),
      neptune-export#120 (Status Code: 403, rds:DescribeDBClusters on ...:cluster:*),
      aws-well-architected-labs#854 ("with an explicit deny in a service control policy").
    - InvalidClientTokenId "The security token included in the request is invalid." on RDS:
      boto/boto3#2381; 403 per Common Errors.
    - SignatureDoesNotMatch 403 for a bad or expired signature ("Signature expired: ... (... - 5 min.)")
      is what the Query/XML services answer (aws-sdk-js#265 SNS, convox#235, ddns-route53#40 with
      403); for RDS itself [assumed], and the 5-minute window is [assumed] (SNS/STS say 15).
      RequestExpired 400 "Request has expired." (EC2's text) exists only as an injectable fault.
    - "Invalid value N for MaxRecords. Must be between 20 and 100": RDS's own text for
      DescribeOrderableDBInstanceOptions ("... between 20 and 1000", terraform-provider-aws#37221),
      the 100 bound from the API reference.
    - "Unrecognized filter name: X" (InvalidParameterValue): boto/boto3#3126 on DescribeDBInstances.
    - "The parameter Filter: db-instance-id is not a valid identifier. Identifiers must begin with a
      letter; ...": panther#2240 on DescribeDBInstances; the DBInstanceIdentifier variant from
      CreateDBInstance errors, the DBClusterIdentifier variant ("must either be an ARN or begin with a
      letter") from CreateDBCluster (sst#1702) - that Describe* answer them the same way is [assumed].
    - Wire parameter names (Filters.Filter.N.Name, Filters.Filter.N.Values.Value.M): botocore debug
      logs in boto/boto3#3119/#3126. List member names (DBInstance, ReadReplicaDBInstanceIdentifier,
      VpcSecurityGroupMembership, DBParameterGroup, Tag, DBClusterMember): botocore's model.
    - Element order inside DBInstance and MasterUserSecret (SecretStatus, SecretArn, KmsKeyId) and
      Endpoint (HostedZoneId, Address, Port) and us-east-1's HostedZoneId Z2R2ITUGPM61AM: a real
      DescribeDBInstances body in terraform-provider-aws#33404. Other regions' zone id [assumed].
    - MissingAction "Missing Action", InvalidAction "Could not find operation X for version V" (also
      for an unknown or missing Version, V = NO_VERSION_SPECIFIED) follow the AWS Query front end as
      STS answers; for RDS [assumed]. Old RDS versions (2013-05-15 ...) are refused here although
      AWS still serves them with older shapes: the code under test must send 2014-10-31.
    - MissingAuthenticationToken text "Request is missing Authentication Token" [assumed]; the
      namespace of auth-layer errors [assumed] to be the RDS one.
"""
import argparse
import base64
import datetime
import hashlib
import http.server
import json
import os
import re
import signal
import socket
import ssl
import struct
import sys
import threading
import time
import traceback
import urllib.parse
import uuid
from xml.sax.saxutils import escape as _xml_escape

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sm_sigv4  # noqa: E402

SERVICE = "rds"
API_VERSION = "2014-10-31"
NS = "http://rds.amazonaws.com/doc/2014-10-31/"
XML_CT = "text/xml"
FORM_CT = "application/x-www-form-urlencoded"
OPERATIONS = ("DescribeDBInstances", "DescribeDBClusters")
# Real RDS actions this fake does not serve: they get InvalidAction with a message that says so.
OTHER_RDS_ACTIONS = frozenset(
    [
        "DescribeDBSnapshots", "DescribeDBClusterSnapshots", "DescribeDBEngineVersions",
        "DescribeDBParameterGroups", "DescribeDBSubnetGroups", "DescribeEvents", "DescribeDBProxies",
        "ListTagsForResource", "ModifyDBInstance", "ModifyDBCluster", "CreateDBInstance",
        "CreateDBCluster", "DeleteDBInstance", "DeleteDBCluster", "RebootDBInstance",
        "DescribeGlobalClusters", "DescribeDBClusterEndpoints", "DescribePendingMaintenanceActions",
    ]
)
INSTANCE_FILTERS = ("db-instance-id", "db-cluster-id", "dbi-resource-id", "engine", "domain")
CLUSTER_FILTERS = ("db-cluster-id", "db-cluster-resource-id", "engine", "clone-group-id", "domain")

ID_RULES = (
    "Identifiers must begin with a letter; must contain only ASCII letters, digits, and hyphens; "
    "and must not end with a hyphen or contain two consecutive hyphens."
)
CLUSTER_ID_RULES = (
    "Identifiers must either be an ARN or begin with a letter; must contain only ASCII letters, digits, "
    "and hyphens; and must not end with a hyphen or contain two consecutive hyphens."
)
MSG_MAX_RECORDS = "Invalid value %s for MaxRecords. Must be between 20 and 100"
MSG_BAD_MARKER = "Invalid marker: %s"  # [assumed]
MSG_INTERNAL = "The request processing has failed because of an unknown error, exception or failure."
MSG_UNAVAILABLE = "The request has failed due to a temporary failure of the server."

# Injected faults: code -> (status, message). AccessDenied's message is generated per request;
# DBInstanceNotFound/DBClusterNotFoundFault name the identifier asked for.
FAULT_DEFAULTS = {
    "Throttling": (400, "Rate exceeded"),
    "ThrottlingException": (400, "Rate exceeded"),
    "InternalFailure": (500, MSG_INTERNAL),
    "ServiceUnavailable": (503, MSG_UNAVAILABLE),
    "AccessDenied": (403, None),
    "DBInstanceNotFound": (404, None),
    "DBClusterNotFoundFault": (404, None),
    "InvalidParameterValue": (400, "An invalid or out-of-range value was supplied for the input parameter."),
    "InvalidParameterCombination": (400, "Parameters that must not be used together were used together."),
    "InvalidClientTokenId": (403, sm_sigv4.INVALID_TOKEN_MESSAGE),
    "SignatureDoesNotMatch": (403, sm_sigv4.MISMATCH_MESSAGE),
    "IncompleteSignature": (400, "The request signature does not conform to AWS standards."),
    "RequestExpired": (400, "Request has expired."),
    "ExpiredToken": (403, "The security token included in the request is expired"),  # status [assumed]
    "MissingAuthenticationToken": (403, "Request is missing Authentication Token"),
    "OptInRequired": (403, "The AWS Access Key Id needs a subscription for the service"),  # [assumed]
    "RequestTimeout": (408, "Request timed out"),  # [assumed]
}
# sm_sigv4 speaks the JSON services' codes; the Query front end's equivalents (see the docstring).
SIGV4_CODES = {
    "InvalidSignatureException": ("SignatureDoesNotMatch", 403),
    "UnrecognizedClientException": ("InvalidClientTokenId", 403),
    "IncompleteSignatureException": ("IncompleteSignature", 400),
    "MissingAuthenticationTokenException": ("MissingAuthenticationToken", 403),
}

ENGINES = {
    "postgres": {"port": 5432, "version": "16.3", "user": "postgres", "pg": "default.postgres16",
                 "og": "default:postgres-16", "class": "db.t3.micro", "license": "postgresql-license"},
    "mysql": {"port": 3306, "version": "8.0.36", "user": "admin", "pg": "default.mysql8.0",
              "og": "default:mysql-8-0", "class": "db.t3.micro", "license": "general-public-license"},
    "mariadb": {"port": 3306, "version": "10.11.8", "user": "admin", "pg": "default.mariadb10.11",
                "og": "default:mariadb-10-11", "class": "db.t3.micro", "license": "general-public-license"},
    "aurora-postgresql": {"port": 5432, "version": "15.4", "user": "postgres", "pg": "default.aurora-postgresql15",
                          "og": "default:aurora-postgresql-15", "class": "db.r6g.large",
                          "license": "postgresql-license"},
    "aurora-mysql": {"port": 3306, "version": "8.0.mysql_aurora.3.05.2", "user": "admin",
                     "pg": "default.aurora-mysql8.0", "og": "default:aurora-mysql-8-0", "class": "db.r6g.large",
                     "license": "general-public-license"},
}
HOSTED_ZONE_IDS = {"us-east-1": "Z2R2ITUGPM61AM"}  # others [assumed] the same
ENDPOINT_ID = "abc123xyz"
ID_RE = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,62}$")
ARN_RE = re.compile(r"^arn:(aws[a-z-]*):rds:([a-z0-9-]*):(\d*):(db|cluster):(.*)$")


class ApiError(Exception):
    """An error answer: code, message, HTTP status; Type is Sender below 500, Receiver from 500."""

    def __init__(self, code, message, status=400):
        super().__init__("%s: %s" % (code, message))
        self.code = code
        self.message = message
        self.status = status

    @property
    def type(self):
        return "Receiver" if self.status >= 500 else "Sender"


def valid_identifier(value):
    return bool(ID_RE.match(value)) and not value.endswith("-") and "--" not in value


def _ts(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + (
        "%03dZ" % (int(t * 1000) % 1000)
    )


def _digest(*parts):
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()


def _alnum(seed, n, alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"):
    h = int(_digest(seed), 16)
    out = []
    for _ in range(n):
        h, r = divmod(h, len(alphabet))
        out.append(alphabet[r])
    return "".join(out)


# ---------------------------------------------------------------------------------------------
# XML


def _xml_text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return _xml_escape(str(value))


def render(nodes, depth=0, out=None):
    """nodes: [(name, value)] where value is a scalar (text), a list of nodes (children; [] gives a
    self-closing element) or None (left out, as AWS leaves out members without a value)."""
    out = [] if out is None else out
    pad = "  " * depth
    for name, value in nodes:
        if value is None:
            continue
        if isinstance(value, list):
            if not value:
                out.append("%s<%s/>" % (pad, name))
            else:
                out.append("%s<%s>" % (pad, name))
                render(value, depth + 1, out)
                out.append("%s</%s>" % (pad, name))
        else:
            out.append("%s<%s>%s</%s>" % (pad, name, _xml_text(value), name))
    return out


def document(root, body_nodes):
    lines = ['<%s xmlns="%s">' % (root, NS)]
    render(body_nodes, 1, lines)
    lines.append("</%s>" % root)
    return ("\n".join(lines) + "\n").encode("utf-8")


def error_document(err, request_id):
    return document(
        "ErrorResponse",
        [("Error", [("Type", err.type), ("Code", err.code), ("Message", err.message)]), ("RequestId", request_id)],
    )


# ---------------------------------------------------------------------------------------------
# State


class Store:
    """Instances and clusters (seeded, never changed by the API), deny rules, clock skew."""

    def __init__(self, opts):
        self.opts = opts
        self.lock = threading.RLock()
        self.instances = {}  # id -> normalized dict
        self.clusters = {}
        self.deny = []
        self.skew = 0.0
        self.material = set()
        self.created = time.time() - 86400 * 30

    def now(self):
        return time.time() + self.skew

    # -- ARNs and names ------------------------------------------------------------------------
    def arn(self, kind, ident):
        return "arn:aws:rds:%s:%s:%s:%s" % (self.opts.region, self.opts.account, kind, ident)

    def zone(self):
        return HOSTED_ZONE_IDS.get(self.opts.region, "Z2R2ITUGPM61AM")

    def _secret(self, spec, kind, ident, where):
        """Normalize a master_user_secret seed value into {secret_arn, secret_status, kms_key_id}."""
        if spec is None or spec is False:
            return None
        region, account = self.opts.region, self.opts.account
        u = str(uuid.UUID(_digest("secret", kind, ident)[:32]))
        default_arn = "arn:aws:secretsmanager:%s:%s:secret:rds!%s-%s-%s" % (
            region, account, kind, u, _alnum("sfx" + ident, 6, "abcdefghijklmnopqrstuvwxyz0123456789"))
        default_kms = "arn:aws:kms:%s:%s:key/%s" % (region, account, str(uuid.UUID(_digest("kms", ident)[:32])))
        if spec is True:
            spec = {}
        elif isinstance(spec, str):
            spec = {"secret_arn": spec}
        if not isinstance(spec, dict):
            raise ValueError("%s: master_user_secret must be true, an ARN or an object" % where)
        unknown = set(spec) - {"secret_arn", "secret_status", "kms_key_id"}
        if unknown:
            raise ValueError("%s: unknown master_user_secret keys %s" % (where, sorted(unknown)))
        return {
            "secret_arn": spec.get("secret_arn") or default_arn,
            "secret_status": spec.get("secret_status") or "active",
            "kms_key_id": spec.get("kms_key_id") or default_kms,
        }

    @staticmethod
    def _tags(spec, where, default):
        if spec is None:
            return default
        if isinstance(spec, dict):
            return [{"Key": str(k), "Value": str(v)} for k, v in spec.items()]
        if isinstance(spec, list) and all(isinstance(t, dict) and "Key" in t for t in spec):
            return [{"Key": str(t["Key"]), "Value": str(t.get("Value", ""))} for t in spec]
        raise ValueError("%s: tags must be an object or a list of {Key, Value}" % where)

    # -- seeding -------------------------------------------------------------------------------
    INSTANCE_KEYS = frozenset(
        ["identifier", "engine", "engine_version", "status", "master_username", "db_name", "instance_class",
         "address", "port", "cluster", "is_writer", "promotion_tier", "replica_source", "master_user_secret",
         "tags", "arn", "resource_id", "availability_zone", "hosted_zone_id"]
    )
    CLUSTER_KEYS = frozenset(
        ["identifier", "engine", "engine_version", "status", "master_username", "db_name", "port", "endpoint",
         "reader_endpoint", "master_user_secret", "tags", "arn", "resource_id", "hosted_zone_id"]
    )

    def normalize(self, doc):
        if not isinstance(doc, dict):
            raise ValueError('state must be {"instances": [...], "clusters": [...]}')
        unknown = set(doc) - {"instances", "clusters"}
        if unknown:
            raise ValueError("unknown state keys %s" % sorted(unknown))
        raw_instances = doc.get("instances", [])
        raw_clusters = doc.get("clusters", [])
        if not isinstance(raw_instances, list) or not isinstance(raw_clusters, list):
            raise ValueError("instances and clusters must be lists")
        region = self.opts.region
        clusters = {}
        for i, c in enumerate(raw_clusters):
            where = "clusters[%d]" % i
            if not isinstance(c, dict):
                raise ValueError("%s must be an object" % where)
            unknown = set(c) - self.CLUSTER_KEYS
            if unknown:
                raise ValueError("%s: unknown keys %s" % (where, sorted(unknown)))
            ident = c.get("identifier")
            if not isinstance(ident, str) or not valid_identifier(ident):
                raise ValueError("%s: identifier %r is not a valid RDS identifier" % (where, ident))
            ident = ident.lower()
            if ident in clusters:
                raise ValueError("%s: duplicate cluster %s" % (where, ident))
            engine = c.get("engine", "aurora-postgresql")
            if engine not in ENGINES:
                raise ValueError("%s: engine must be one of %s" % (where, sorted(ENGINES)))
            e = ENGINES[engine]
            clusters[ident] = {
                "identifier": ident,
                "arn": c.get("arn") or self.arn("cluster", ident),
                "engine": engine,
                "engine_version": str(c.get("engine_version") or e["version"]),
                "status": c.get("status") or "available",
                "master_username": c.get("master_username") or e["user"],
                "db_name": c.get("db_name"),
                "port": int(c.get("port") or e["port"]),
                "endpoint": c.get("endpoint") or "%s.cluster-%s.%s.rds.amazonaws.com" % (ident, ENDPOINT_ID, region),
                "reader_endpoint": c.get("reader_endpoint")
                or "%s.cluster-ro-%s.%s.rds.amazonaws.com" % (ident, ENDPOINT_ID, region),
                "master_user_secret": self._secret(c.get("master_user_secret"), "cluster", ident, where),
                "tags": self._tags(c.get("tags"), where, [{"Key": "Environment", "Value": "test"},
                                                         {"Key": "Owner", "Value": "smrotate"}]),
                "resource_id": c.get("resource_id") or "cluster-" + _alnum("cluster" + ident, 26),
                "hosted_zone_id": c.get("hosted_zone_id") or self.zone(),
            }
        instances = {}
        for i, d in enumerate(raw_instances):
            where = "instances[%d]" % i
            if not isinstance(d, dict):
                raise ValueError("%s must be an object" % where)
            unknown = set(d) - self.INSTANCE_KEYS
            if unknown:
                raise ValueError("%s: unknown keys %s" % (where, sorted(unknown)))
            ident = d.get("identifier")
            if not isinstance(ident, str) or not valid_identifier(ident):
                raise ValueError("%s: identifier %r is not a valid RDS identifier" % (where, ident))
            ident = ident.lower()
            if ident in instances:
                raise ValueError("%s: duplicate instance %s" % (where, ident))
            cluster = d.get("cluster")
            if cluster is not None:
                cluster = str(cluster).lower()
                if cluster not in clusters:
                    raise ValueError("%s: cluster %s is not seeded" % (where, cluster))
            engine = d.get("engine") or (clusters[cluster]["engine"] if cluster else "postgres")
            if engine not in ENGINES:
                raise ValueError("%s: engine must be one of %s" % (where, sorted(ENGINES)))
            if cluster and engine != clusters[cluster]["engine"]:
                raise ValueError("%s: engine %s differs from cluster %s's" % (where, engine, cluster))
            if engine.startswith("aurora") and not cluster:
                raise ValueError("%s: an %s instance needs a cluster" % (where, engine))
            if not cluster and ("is_writer" in d or "promotion_tier" in d):
                raise ValueError("%s: is_writer/promotion_tier need a cluster" % where)
            source = d.get("replica_source")
            if source is not None:
                source = str(source).lower()
                if source not in instances:
                    raise ValueError("%s: replica_source %s must be seeded before it" % (where, source))
                if cluster or instances[source]["cluster"]:
                    raise ValueError("%s: replica_source is for plain (non-cluster) read replicas" % where)
            is_writer = d.get("is_writer")
            if is_writer is not None and not isinstance(is_writer, bool):
                raise ValueError("%s: is_writer must be true or false" % where)
            e = ENGINES[engine]
            if cluster:
                user = d.get("master_username") or clusters[cluster]["master_username"]
            elif source:
                user = d.get("master_username") or instances[source]["master_username"]
            else:
                user = d.get("master_username") or e["user"]
            instances[ident] = {
                "identifier": ident,
                "arn": d.get("arn") or self.arn("db", ident),
                "engine": engine,
                "engine_version": str(d.get("engine_version")
                                      or (clusters[cluster]["engine_version"] if cluster else e["version"])),
                "status": d.get("status") or "available",
                "master_username": user,
                "db_name": d.get("db_name"),
                "instance_class": d.get("instance_class") or e["class"],
                "address": d.get("address") or "%s.%s.%s.rds.amazonaws.com" % (ident, ENDPOINT_ID, region),
                "port": int(d.get("port") or (clusters[cluster]["port"] if cluster else e["port"])),
                "cluster": cluster,
                "is_writer": is_writer,
                "promotion_tier": int(d["promotion_tier"]) if d.get("promotion_tier") is not None else (1 if cluster else None),
                "replica_source": source,
                "master_user_secret": self._secret(d.get("master_user_secret"), "db", ident, where),
                "tags": self._tags(d.get("tags"), where, [{"Key": "Environment", "Value": "test"},
                                                         {"Key": "Owner", "Value": "smrotate"}]),
                "resource_id": d.get("resource_id") or "db-" + _alnum("db" + ident, 26),
                "availability_zone": d.get("availability_zone") or region + "abc"[len(instances) % 3],
                "hosted_zone_id": d.get("hosted_zone_id") or self.zone(),
            }
        # Writers: the explicitly marked one, else the first member not marked false.
        for cid in clusters:
            members = [m for m in instances.values() if m["cluster"] == cid]
            writers = [m for m in members if m["is_writer"] is True]
            if len(writers) > 1:
                raise ValueError("cluster %s has %d writers" % (cid, len(writers)))
            if not writers:
                for m in members:
                    if m["is_writer"] is None:
                        m["is_writer"] = True
                        break
            for m in members:
                if m["is_writer"] is None:
                    m["is_writer"] = False
        return instances, clusters

    def load(self, doc):
        instances, clusters = self.normalize(doc)
        with self.lock:
            self.instances, self.clusters = instances, clusters

    def state(self):
        with self.lock:
            out_i = []
            for d in self.instances.values():
                d = dict(d)
                d["replicas"] = self.replicas_of(d["identifier"])
                out_i.append(d)
            out_c = []
            for c in self.clusters.values():
                c = dict(c)
                c["members"] = [m["identifier"] for m in self.members_of(c["identifier"])]
                out_c.append(c)
            return {"instances": out_i, "clusters": out_c}

    def replicas_of(self, ident):
        return sorted(i["identifier"] for i in self.instances.values() if i["replica_source"] == ident)

    def members_of(self, cid):
        return [i for i in self.instances.values() if i["cluster"] == cid]

    # -- XML views -----------------------------------------------------------------------------
    def _subnet_group(self, ident):
        vpc = "vpc-" + _alnum("vpc" + self.opts.account, 17, "0123456789abcdef")
        subnets = []
        for az in "abc":
            subnets.append(("Subnet", [
                ("SubnetIdentifier", "subnet-" + _alnum("subnet" + az, 17, "0123456789abcdef")),
                ("SubnetAvailabilityZone", [("Name", self.opts.region + az)]),
                ("SubnetOutpost", []),
                ("SubnetStatus", "Active"),
            ]))
        return [
            ("DBSubnetGroupName", "default-" + vpc),
            ("DBSubnetGroupDescription", "Created from the RDS Management Console"),
            ("VpcId", vpc),
            ("SubnetGroupStatus", "Complete"),
            ("Subnets", subnets),
        ]

    def _sg(self):
        return [("VpcSecurityGroupMembership", [
            ("Status", "active"),
            ("VpcSecurityGroupId", "sg-" + _alnum("sg" + self.opts.account, 17, "0123456789abcdef")),
        ])]

    @staticmethod
    def _tag_nodes(tags):
        return [("Tag", [("Key", t["Key"]), ("Value", t["Value"])]) for t in tags]

    @staticmethod
    def _secret_nodes(s):
        if s is None:
            return None
        return [("SecretStatus", s["secret_status"]), ("SecretArn", s["secret_arn"]), ("KmsKeyId", s["kms_key_id"])]

    def instance_nodes(self, d):
        e = ENGINES[d["engine"]]
        aurora = d["engine"].startswith("aurora")
        created = _ts(self.created)
        replica = d["replica_source"] is not None
        return [
            ("AllocatedStorage", 1 if aurora else 20),
            ("AssociatedRoles", []),
            ("DBParameterGroups", [("DBParameterGroup", [("DBParameterGroupName", e["pg"]),
                                                        ("ParameterApplyStatus", "in-sync")])]),
            ("AvailabilityZone", d["availability_zone"]),
            ("DBSecurityGroups", []),
            ("EngineVersion", d["engine_version"]),
            ("MasterUserSecret", self._secret_nodes(d["master_user_secret"])),
            ("PreferredBackupWindow", "03:50-04:20"),
            ("DeletionProtection", False),
            ("DBInstanceIdentifier", d["identifier"]),
            ("DBInstanceArn", d["arn"]),
            ("Endpoint", [("HostedZoneId", d["hosted_zone_id"]), ("Address", d["address"]), ("Port", d["port"])]),
            ("Engine", d["engine"]),
            ("PubliclyAccessible", False),
            ("IAMDatabaseAuthenticationEnabled", False),
            ("NetworkType", "IPV4"),
            ("PerformanceInsightsEnabled", False),
            ("DBName", d["db_name"]),
            ("MultiAZ", False),
            ("DomainMemberships", []),
            ("StorageEncrypted", True),
            ("DBSubnetGroup", self._subnet_group(d["identifier"])),
            ("StatusInfos", [("DBInstanceStatusInfo", [("StatusType", "read replication"), ("Normal", True),
                                                       ("Status", "replicating")])] if replica else None),
            ("ReadReplicaSourceDBInstanceIdentifier", d["replica_source"]),
            ("DbInstancePort", 0),
            ("CACertificateIdentifier", "rds-ca-rsa2048-g1"),
            ("CertificateDetails", [("CAIdentifier", "rds-ca-rsa2048-g1"), ("ValidTill", "2061-01-01T00:00:00Z")]),
            ("DbiResourceId", d["resource_id"]),
            ("DBClusterIdentifier", d["cluster"]),
            ("PromotionTier", d["promotion_tier"]),
            ("ReadReplicaDBInstanceIdentifiers",
             [("ReadReplicaDBInstanceIdentifier", r) for r in self.replicas_of(d["identifier"])]),
            ("InstanceCreateTime", created),
            ("DBInstanceStatus", d["status"]),
            ("MasterUsername", d["master_username"]),
            ("VpcSecurityGroups", self._sg()),
            ("TagList", self._tag_nodes(d["tags"])),
            ("DBInstanceClass", d["instance_class"]),
            ("OptionGroupMemberships", [("OptionGroupMembership", [
                ("OptionGroupName", e["og"]), ("Status", "in-sync")])]),
            ("PendingModifiedValues", []),
            ("BackupRetentionPeriod", 7),
            ("LicenseModel", e["license"]),
            ("CopyTagsToSnapshot", False),
            ("ReadReplicaDBClusterIdentifiers", []),
            ("ActivityStreamStatus", "stopped"),
            ("CustomerOwnedIpEnabled", False),
            ("BackupTarget", "region"),
            ("DedicatedLogVolume", False),
            ("AutoMinorVersionUpgrade", True),
        ]

    def cluster_nodes(self, c):
        e = ENGINES[c["engine"]]
        created = _ts(self.created)
        members = []
        for m in self.members_of(c["identifier"]):
            members.append(("DBClusterMember", [
                ("DBInstanceIdentifier", m["identifier"]),
                ("IsClusterWriter", bool(m["is_writer"])),
                ("DBClusterParameterGroupStatus", "in-sync"),
                ("PromotionTier", m["promotion_tier"]),
            ]))
        sg = self._subnet_group(c["identifier"])
        return [
            ("AllocatedStorage", 1),
            ("AvailabilityZones", [("AvailabilityZone", self.opts.region + az) for az in "abc"]),
            ("BackupRetentionPeriod", 1),
            ("DBClusterIdentifier", c["identifier"]),
            ("DBClusterParameterGroup", e["pg"]),
            ("DBSubnetGroup", sg[0][1]),  # a plain name here, unlike DBInstance's structure
            ("VpcSecurityGroups", self._sg()),
            ("Status", c["status"]),
            ("EarliestRestorableTime", created),
            ("Endpoint", c["endpoint"]),  # a plain host name here, unlike DBInstance's structure
            ("ReaderEndpoint", c["reader_endpoint"]),
            ("CustomEndpoints", []),
            ("MultiAZ", len(members) > 1),
            ("Engine", c["engine"]),
            ("EngineVersion", c["engine_version"]),
            ("LatestRestorableTime", _ts(self.now() - 300)),
            ("Port", c["port"]),
            ("MasterUsername", c["master_username"]),
            ("DatabaseName", c["db_name"]),
            ("DBClusterOptionGroupMemberships", []),
            ("PreferredBackupWindow", "07:02-07:32"),
            ("PreferredMaintenanceWindow", "sun:05:15-sun:05:45"),
            ("ReadReplicaIdentifiers", []),
            ("DBClusterMembers", members),
            ("HostedZoneId", c["hosted_zone_id"]),
            ("StorageEncrypted", True),
            ("KmsKeyId", "arn:aws:kms:%s:%s:key/%s" % (self.opts.region, self.opts.account,
                                                      uuid.UUID(_digest("storage", c["identifier"])[:32]))),
            ("DbClusterResourceId", c["resource_id"]),
            ("DBClusterArn", c["arn"]),
            ("AssociatedRoles", []),
            ("IAMDatabaseAuthenticationEnabled", False),
            ("ClusterCreateTime", created),
            ("EngineMode", "provisioned"),
            ("DeletionProtection", False),
            ("HttpEndpointEnabled", False),
            ("CopyTagsToSnapshot", False),
            ("CrossAccountClone", False),
            ("DomainMemberships", []),
            ("TagList", self._tag_nodes(c["tags"])),
            ("MasterUserSecret", self._secret_nodes(c["master_user_secret"])),
            ("AutoMinorVersionUpgrade", True),
            ("NetworkType", "IPV4"),
        ]

    # -- operations ----------------------------------------------------------------------------
    def resolve(self, kind, value, param, call):
        """Identifier or ARN -> lowercase identifier to look up (None: cannot exist). Raises
        InvalidParameterValue for a malformed one."""
        rules = CLUSTER_ID_RULES if kind == "cluster" else ID_RULES
        bad = ApiError("InvalidParameterValue", "The parameter %s is not a valid identifier. %s" % (param, rules))
        if value.startswith("arn:"):
            m = ARN_RE.match(value)
            if not m or not valid_identifier(m.group(5)):
                raise bad
            if m.group(1) != "aws" or m.group(2) != self.opts.region or m.group(3) != self.opts.account:
                return None  # [assumed] another region/account: simply not found here
            if m.group(4) != kind:
                return None  # [assumed] an ARN of the other resource type: not found
            return m.group(5).lower()
        if not valid_identifier(value):
            raise bad
        return value.lower()

    def parse_filters(self, params, allowed, call):
        """Filters.Filter.N.Name / Filters.Filter.N.Values.Value.M -> [(name, [values])] in N order."""
        names, values = {}, {}
        for key, value in params.items():
            m = re.fullmatch(r"Filters\.Filter\.(\d+)\.Name", key)
            if m:
                names[int(m.group(1))] = value
                continue
            m = re.fullmatch(r"Filters\.Filter\.(\d+)\.Values\.Value\.(\d+)", key)
            if m:
                values.setdefault(int(m.group(1)), {})[int(m.group(2))] = value
        filters = []
        for n in sorted(set(names) | set(values)):
            name = names.get(n)
            vals = [values.get(n, {})[k] for k in sorted(values.get(n, {}))]
            if name is None:
                # [assumed] the Query front end's answer to a filter without its required Name.
                raise ApiError("MissingParameter", "The request must contain the parameter Filters.Filter.%d.Name" % n)
            filters.append((name, vals))
        call["filters"] = [{"Name": n, "Values": v} for n, v in filters]
        for name, vals in filters:
            if name not in allowed:
                raise ApiError("InvalidParameterValue", "Unrecognized filter name: %s" % name)
            if not vals:
                # [assumed]
                raise ApiError("InvalidParameterValue", "The parameter Filter: %s requires a value." % name)
        return filters

    def paginate(self, op, items, params):
        raw = params.get("MaxRecords")
        limit = 100
        if raw is not None:
            try:
                limit = int(raw)
            except ValueError:
                raise ApiError("InvalidParameterValue", MSG_MAX_RECORDS % raw) from None
            if limit < 20 or limit > 100:
                raise ApiError("InvalidParameterValue", MSG_MAX_RECORDS % raw)
        marker = params.get("Marker")
        if marker:
            try:
                kind, _, after = base64.urlsafe_b64decode(marker.encode("ascii") + b"==").decode("utf-8").partition("|")
            except (ValueError, UnicodeError):
                kind, after = None, None
            if kind != op or not after:
                raise ApiError("InvalidParameterValue", MSG_BAD_MARKER % marker)
            items = [x for x in items if x["identifier"] > after]
        page = items[:limit]
        nxt = None
        if len(items) > limit:
            nxt = base64.urlsafe_b64encode(("%s|%s" % (op, page[-1]["identifier"])).encode()).decode().rstrip("=")
        return page, nxt

    def _match_ids(self, kind, vals, param):
        out = set()
        for v in vals:
            if v.startswith("arn:"):
                m = ARN_RE.match(v)
                if not m or not valid_identifier(m.group(5)):
                    raise ApiError("InvalidParameterValue",
                                   "The parameter Filter: %s is not a valid identifier. %s" % (param, ID_RULES))
                if m.group(2) == self.opts.region and m.group(3) == self.opts.account and m.group(4) == kind:
                    out.add(m.group(5).lower())
            else:
                if not valid_identifier(v):
                    raise ApiError("InvalidParameterValue",
                                   "The parameter Filter: %s is not a valid identifier. %s" % (param, ID_RULES))
                out.add(v.lower())
        return out

    def describe_db_instances(self, params, call):
        ident = params.get("DBInstanceIdentifier")
        call["identifier"] = ident
        filters = self.parse_filters(params, INSTANCE_FILTERS, call)
        with self.lock:
            items = sorted(self.instances.values(), key=lambda d: d["identifier"])
            if ident is not None:
                key = self.resolve("db", ident, "DBInstanceIdentifier", call)
                if key is None or key not in self.instances:
                    raise ApiError("DBInstanceNotFound", "DBInstance %s not found." % ident, 404)
                items = [self.instances[key]]
            for name, vals in filters:
                if name == "db-instance-id":
                    ids = self._match_ids("db", vals, name)
                    items = [d for d in items if d["identifier"] in ids]
                elif name == "db-cluster-id":
                    ids = self._match_ids("cluster", vals, name)
                    items = [d for d in items if d["cluster"] in ids]
                elif name == "dbi-resource-id":
                    items = [d for d in items if d["resource_id"] in vals]
                elif name == "engine":
                    items = [d for d in items if d["engine"] in vals]
                elif name == "domain":
                    items = []
            page, marker = self.paginate("DescribeDBInstances", items, params)
            call["returned"] = [d["identifier"] for d in page]
            nodes = [("DBInstances", [("DBInstance", self.instance_nodes(d)) for d in page]), ("Marker", marker)]
        return "DescribeDBInstancesResult", nodes

    def describe_db_clusters(self, params, call):
        ident = params.get("DBClusterIdentifier")
        call["identifier"] = ident
        filters = self.parse_filters(params, CLUSTER_FILTERS, call)
        with self.lock:
            items = sorted(self.clusters.values(), key=lambda c: c["identifier"])
            if ident is not None:
                key = self.resolve("cluster", ident, "DBClusterIdentifier", call)
                if key is None or key not in self.clusters:
                    raise ApiError("DBClusterNotFoundFault", "DBCluster %s not found." % ident, 404)
                items = [self.clusters[key]]
            for name, vals in filters:
                if name == "db-cluster-id":
                    ids = self._match_ids("cluster", vals, name)
                    items = [c for c in items if c["identifier"] in ids]
                elif name == "db-cluster-resource-id":
                    items = [c for c in items if c["resource_id"] in vals]
                elif name == "engine":
                    items = [c for c in items if c["engine"] in vals]
                elif name in ("clone-group-id", "domain"):
                    items = []
            page, marker = self.paginate("DescribeDBClusters", items, params)
            call["returned"] = [c["identifier"] for c in page]
            nodes = [("DBClusters", [("DBCluster", self.cluster_nodes(c)) for c in page]), ("Marker", marker)]
        return "DescribeDBClustersResult", nodes

    PARAMS = {
        "DescribeDBInstances": {"DBInstanceIdentifier", "MaxRecords", "Marker"},
        "DescribeDBClusters": {"DBClusterIdentifier", "MaxRecords", "Marker", "IncludeShared"},
    }

    def dispatch(self, op, params, call):
        if op == "DescribeDBInstances":
            return self.describe_db_instances(params, call)
        return self.describe_db_clusters(params, call)

    # -- IAM -----------------------------------------------------------------------------------
    def resource_of(self, op, params):
        """The ARN IAM evaluates for the request: the identifier's ARN, else db:* / cluster:*."""
        kind, param = ("db", "DBInstanceIdentifier") if op == "DescribeDBInstances" else ("cluster", "DBClusterIdentifier")
        value = params.get(param)
        if not value:
            return self.arn(kind, "*")
        if value.startswith("arn:"):
            return value
        return self.arn(kind, value.lower())

    def denied(self, op, params, access_key):
        """The matching deny rule, or None."""
        resource = self.resource_of(op, params)
        with self.lock:
            for rule in self.deny:
                if rule["access_key"] and rule["access_key"] != access_key:
                    continue
                if not any(a in ("*", "rds:*", "rds:" + op) for a in rule["actions"]):
                    continue
                if rule["resources"] is not None and resource.lower() not in rule["resources"]:
                    continue
                return rule, resource
        return None, resource

    def set_deny(self, doc):
        specs = doc if isinstance(doc, list) else [doc]
        rules = []
        for spec in specs:
            if not isinstance(spec, dict):
                raise ValueError("a deny rule is an object")
            unknown = set(spec) - {"actions", "resources", "access_key", "reason"}
            if unknown:
                raise ValueError("unknown deny keys %s" % sorted(unknown))
            actions = spec.get("actions", [])
            if not isinstance(actions, list) or not all(isinstance(a, str) for a in actions):
                raise ValueError("actions must be a list of strings")
            norm = []
            for a in actions:
                if a in ("*", "rds:*"):
                    norm.append(a)
                elif a.startswith("rds:") and a[4:] in OPERATIONS or a in OPERATIONS:
                    norm.append(a if a.startswith("rds:") else "rds:" + a)
                else:
                    raise ValueError("unknown action %r (rds:DescribeDBInstances, rds:DescribeDBClusters, rds:*)" % a)
            if not norm:
                continue
            resources = spec.get("resources")
            if resources is not None:
                if not isinstance(resources, list) or not all(isinstance(r, str) for r in resources):
                    raise ValueError("resources must be a list of identifiers or ARNs")
                out = set()
                for r in resources:
                    if r.startswith("arn:"):
                        out.add(r.lower())
                    else:  # a bare identifier names both an instance and a cluster of that name
                        out.add(self.arn("db", r.lower()).lower())
                        out.add(self.arn("cluster", r.lower()).lower())
                resources = sorted(out)
            reason = spec.get("reason", "implicit")
            if reason not in ("implicit", "explicit", "scp"):
                raise ValueError("reason must be implicit, explicit or scp")
            rules.append({"actions": norm, "resources": resources, "access_key": spec.get("access_key"),
                          "reason": reason})
        with self.lock:
            self.deny = rules
        return rules


def access_denied(caller_arn, op, resource, reason="implicit"):
    tail = {
        "implicit": "because no identity-based policy allows the rds:%s action" % op,
        "explicit": "with an explicit deny in an identity-based policy",
        "scp": "with an explicit deny in a service control policy",
    }[reason]
    return ApiError("AccessDenied", "User: %s is not authorized to perform: rds:%s on resource: %s %s"
                    % (caller_arn, op, resource, tail), 403)


class Faults:
    """Queued fault injections; take() consumes one matching entry (as in the SM fake)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.items = []

    def add(self, spec):
        if not isinstance(spec, dict):
            raise ValueError("a fault is an object")
        op = spec.get("operation") or "*"
        error = spec.get("error")
        if not isinstance(error, str) or not error:
            raise ValueError("fault needs an 'error' string")
        count = spec.get("count", 1)
        if not isinstance(count, int) or isinstance(count, bool) or count == 0 or count < -1:
            raise ValueError("count must be a positive integer or -1")
        status = spec.get("status")
        if status is not None and (not isinstance(status, int) or not 100 <= status <= 599):
            raise ValueError("status must be an HTTP status")
        item = {
            "operation": op,
            "error": error,
            "count": count,
            "delay_ms": int(spec.get("delay_ms", 0) or 0),
            "status": status,
            "message": spec.get("message"),
            "skip": int(spec.get("skip", 0) or 0),
            "apply": bool(spec.get("apply", False)),
            "fired": 0,
        }
        with self.lock:
            self.items.append(item)
        return item

    def take(self, operation):
        with self.lock:
            for item in self.items:
                if item["operation"] not in ("*", operation):
                    continue
                if item["skip"] > 0:
                    item["skip"] -= 1
                    continue
                item["fired"] += 1
                if item["count"] > 0:
                    item["count"] -= 1
                    if item["count"] == 0:
                        self.items.remove(item)
                return dict(item)
        return None

    def snapshot(self):
        with self.lock:
            return [dict(i) for i in self.items]

    def clear(self):
        with self.lock:
            self.items = []


# ---------------------------------------------------------------------------------------------
# HTTP

VERBOSE = False


def log(msg):
    if VERBOSE:
        sys.stderr.write("fake-rds: %s\n" % msg)
        sys.stderr.flush()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeRDS/1.0"
    sys_version = ""
    timeout = 300

    def setup(self):
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.server.tls:
            self.request.settimeout(10)
            self.request.do_handshake()
        super().setup()

    def log_message(self, fmt, *args):
        log("%s %s" % (self.address_string(), fmt % args))

    # -- plumbing --------------------------------------------------------------------------
    def _read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            chunks, total = [], 0
            while True:
                line = self.rfile.readline(1024)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                if total > 4 << 20:
                    raise ValueError("body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0 or length > 4 << 20:
            raise ValueError("bad Content-Length")
        return self.rfile.read(length) if length else b""

    def _send(self, status, data, content_type, request_id=None):
        if not isinstance(data, bytes):
            data = json.dumps(data, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        if request_id:
            self.send_header("x-amzn-RequestId", request_id)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _json(self, status, doc):
        self._send(status, doc, "application/json")

    def _drop(self, rst):
        """Close without answering: rst=True sends a TCP reset, otherwise an orderly FIN."""
        self.close_connection = True
        try:
            if rst and not self.server.tls:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                os.close(self.connection.detach())
            else:
                self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _handle(self, method):
        self.server.count_request()
        try:
            body = self._read_body()
        except ValueError:
            self.close_connection = True
            err = ApiError("MalformedQueryString", "Bad request body framing")  # [assumed]
            self._send(400, error_document(err, str(uuid.uuid4())), XML_CT)
            return
        path = urllib.parse.urlsplit(self.path).path
        if path.startswith("/_fake/") or path == "/_fake":
            self._control(method, body)
        else:
            self._api(method, body)

    def do_POST(self):
        self._handle("POST")

    def do_GET(self):
        self._handle("GET")

    def do_PUT(self):
        self._handle("PUT")

    def do_DELETE(self):
        self._handle("DELETE")

    # -- the AWS API -----------------------------------------------------------------------
    def _params(self, method, body):
        """Query-string parameters, overridden on a form POST by the body's. Returns (params,
        duplicated names)."""
        url = urllib.parse.urlsplit(self.path)
        pairs = urllib.parse.parse_qsl(url.query, keep_blank_values=True)
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if method == "POST" and ctype == FORM_CT and body:
            try:
                pairs += urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
            except UnicodeDecodeError:
                raise ApiError("MalformedQueryString", "The request body is not UTF-8.") from None  # [assumed]
        params = {}
        for k, v in pairs:
            params[k] = v
        return params

    def _api(self, method, body):
        server = self.server
        store = server.store
        rid = str(uuid.uuid4())
        call = {"operation": None, "identifier": None, "filters": [], "max_records": None, "marker": None,
                "method": method, "version": None, "status": None, "error": None, "fault": None, "denied": False,
                "returned": None, "ignored_params": [], "access_key": None, "authenticated": False}
        reply = None
        drop = None
        try:
            try:
                params = self._params(method, body)
            except ApiError:
                params = {}
                raise
            op = params.get("Action")
            call["operation"] = op
            call["version"] = params.get("Version")
            call["max_records"] = params.get("MaxRecords")
            call["marker"] = params.get("Marker")
            call["identifier"] = params.get("DBInstanceIdentifier", params.get("DBClusterIdentifier"))
            m = re.search(r"Credential=([^/,\s]+)/", self.headers.get("Authorization", ""))
            if m:
                call["access_key"] = m.group(1)
            try:
                url = urllib.parse.urlsplit(self.path)
                with store.lock:
                    now = datetime.datetime.fromtimestamp(store.now(), datetime.timezone.utc)
                sm_sigv4.verify(method, url.path, url.query, list(self.headers.items()), body,
                                server.credentials, server.opts.region, SERVICE, now)
            except sm_sigv4.SigV4Error as e:
                code, status = SIGV4_CODES.get(e.code, (e.code, e.status))
                message = e.message
                if code == "MissingAuthenticationToken":
                    message = FAULT_DEFAULTS["MissingAuthenticationToken"][1]
                raise ApiError(code, message, status) from None
            call["authenticated"] = True
            m = re.search(r"Signature=([0-9a-f]{64})", self.headers.get("Authorization", ""))
            if m:
                with store.lock:
                    store.material.add(m.group(1))
            fault = server.faults.take(op or "")
            if fault is not None:
                call["fault"] = fault["error"]
                if fault["delay_ms"]:
                    time.sleep(fault["delay_ms"] / 1000.0)
                if fault["error"] in ("reset", "close"):
                    call["status"] = 0
                    call["error"] = "connection-" + fault["error"]
                    drop = fault["error"]
                    return  # `finally` records the call, then drops the connection
                if fault["error"] != "delay":
                    raise self._fault_error(fault, op, params)
            if not op:
                raise ApiError("MissingAction", "Missing Action")
            version = params.get("Version")
            if version != API_VERSION:
                raise ApiError("InvalidAction", "Could not find operation %s for version %s"
                               % (op[:100], (version or "NO_VERSION_SPECIFIED")[:40]))
            if op not in OPERATIONS:
                if op in OTHER_RDS_ACTIONS:
                    raise ApiError("InvalidAction", "The fake does not implement %s." % op)
                raise ApiError("InvalidAction", "Could not find operation %s for version %s" % (op[:100], version))
            rule, resource = store.denied(op, params, call["access_key"])
            if rule is not None:
                call["denied"] = True
                raise access_denied(server.caller_arn(call["access_key"]), op, resource, rule["reason"])
            known = {"Action", "Version"} | Store.PARAMS[op]
            call["ignored_params"] = sorted(
                k for k in params if k not in known and not re.fullmatch(r"Filters\.Filter\.\d+\.(Name|Values\.Value\.\d+)", k)
            )
            result_name, nodes = store.dispatch(op, params, call)
            data = document(op + "Response", [(result_name, nodes), ("ResponseMetadata", [("RequestId", rid)])])
            reply = (200, data)
            call["status"] = 200
        except ApiError as e:
            call["status"] = e.status
            call["error"] = e.code
            reply = (e.status, error_document(e, rid))
        except Exception:  # noqa: BLE001 - a bug in the fake must still answer
            traceback.print_exc()
            err = ApiError("InternalFailure", MSG_INTERNAL, 500)
            call["status"], call["error"] = 500, err.code
            reply = (500, error_document(err, rid))
        finally:
            call["request_id"] = rid
            call["time"] = round(time.time(), 3)
            server.record_call(call)
            log("%s %s %s" % (call["operation"], call["status"], call["error"] or ""))
            if drop is not None:
                self._drop(drop == "reset")
        if reply is not None:
            try:
                self._send(reply[0], reply[1], XML_CT, request_id=rid)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

    def _fault_error(self, fault, op, params):
        code = fault["error"]
        status, message = FAULT_DEFAULTS.get(code, (400, None))
        status = int(fault["status"] or status)
        if fault["message"]:
            message = fault["message"]
        elif code == "AccessDenied":
            oper = op if op in OPERATIONS else "DescribeDBInstances"
            resource = self.server.store.resource_of(oper, params)
            return access_denied(self.server.caller_arn(self._access_key()), oper, resource)
        elif code == "DBInstanceNotFound":
            message = "DBInstance %s not found." % params.get("DBInstanceIdentifier", "")
        elif code == "DBClusterNotFoundFault":
            message = "DBCluster %s not found." % params.get("DBClusterIdentifier", "")
        elif message is None:
            message = "Injected %s" % code
        return ApiError(code, message, status)

    def _access_key(self):
        m = re.search(r"Credential=([^/,\s]+)/", self.headers.get("Authorization", ""))
        return m.group(1) if m else None

    # -- the test-only control API ---------------------------------------------------------
    def _control(self, method, body):
        server = self.server
        store = server.store
        url = urllib.parse.urlsplit(self.path)
        route = (method, url.path.rstrip("/"))
        try:
            doc = json.loads(body.decode("utf-8")) if body.strip() else {}
        except (ValueError, UnicodeDecodeError):
            self._json(400, {"error": "body is not JSON"})
            return
        try:
            if route == ("POST", "/_fake/faults"):
                specs = doc if isinstance(doc, list) else [doc]
                self._json(200, {"added": [server.faults.add(s) for s in specs]})
            elif route == ("GET", "/_fake/faults"):
                self._json(200, server.faults.snapshot())
            elif route == ("DELETE", "/_fake/faults"):
                server.faults.clear()
                self._json(200, {})
            elif route == ("GET", "/_fake/calls"):
                with server.stats_lock:
                    calls = [dict(c) for c in server.calls]
                self._json(200, calls)
            elif route == ("POST", "/_fake/reset"):
                server.faults.clear()
                with server.stats_lock:
                    server.calls = []
                with store.lock:
                    store.deny = []
                    if isinstance(doc, dict) and doc.get("state"):
                        store.instances, store.clusters = {}, {}
                self._json(200, {})
            elif route == ("GET", "/_fake/state"):
                self._json(200, store.state())
            elif route == ("POST", "/_fake/state"):
                store.load(doc)
                self._json(200, store.state())
            elif route == ("GET", "/_fake/stats"):
                with server.stats_lock:
                    stats = {"connections": server.connections, "requests": server.requests,
                             "api_calls": len(server.calls)}
                self._json(200, stats)
            elif route == ("POST", "/_fake/deny"):
                self._json(200, {"rules": store.set_deny(doc)})
            elif route == ("GET", "/_fake/deny"):
                with store.lock:
                    self._json(200, {"rules": [dict(r) for r in store.deny]})
            elif route == ("DELETE", "/_fake/deny"):
                with store.lock:
                    store.deny = []
                self._json(200, {"rules": []})
            elif route == ("POST", "/_fake/clock"):
                skew = doc.get("skew_seconds", 0) if isinstance(doc, dict) else None
                if not isinstance(skew, (int, float)) or isinstance(skew, bool):
                    raise ValueError("skew_seconds must be a number")
                with store.lock:
                    store.skew = float(skew)
                self._json(200, {"skew_seconds": store.skew})
            elif route == ("GET", "/_fake/secret-material"):
                self._json(200, server.secret_material())
            else:
                self._json(404, {"error": "no such control endpoint: %s %s" % route})
        except (ValueError, TypeError, KeyError) as e:
            self._json(400, {"error": str(e)})


class FakeServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, opts):
        self.opts = opts
        self.tls = bool(opts.tls_cert)
        self.store = Store(opts)
        if opts.seed_file:
            with open(opts.seed_file, encoding="utf-8") as f:
                self.store.load(json.load(f))
        self.faults = Faults()
        self.credentials = {opts.access_key: (opts.secret_key, opts.session_token or None)}
        for extra in opts.extra_credential or []:
            ak, _, sk = extra.partition(":")
            self.credentials[ak] = (sk, None)
        self.stats_lock = threading.Lock()
        self.connections = 0
        self.requests = 0
        self.calls = []
        super().__init__((opts.bind, opts.port), Handler)
        if self.tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(opts.tls_cert, opts.tls_key)
            self.socket = ctx.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)

    def caller_arn(self, access_key):
        if access_key and access_key != self.opts.access_key:
            return "arn:aws:iam::%s:user/%s" % (self.opts.account, access_key)
        return self.opts.caller_arn or "arn:aws:sts::%s:assumed-role/smrotate-rotation-role/smrotate-test" % (
            self.opts.account)

    def secret_material(self):
        with self.store.lock:
            out = set(self.store.material)
        today = datetime.datetime.now(datetime.timezone.utc)
        dates = {(today + datetime.timedelta(days=d)).strftime("%Y%m%d") for d in (-1, 0, 1)}
        for secret_key, token in self.credentials.values():
            out.add(secret_key)
            if token:
                out.add(token)
            for d in dates:
                out.update(sm_sigv4.signing_keys_hex(secret_key, d, self.opts.region, SERVICE).values())
        return {"material": sorted(x for x in out if len(x) >= 8)}

    def get_request(self):
        conn, addr = super().get_request()
        with self.stats_lock:
            self.connections += 1
        return conn, addr

    def count_request(self):
        with self.stats_lock:
            self.requests += 1

    def record_call(self, call):
        with self.stats_lock:
            self.calls.append(call)

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ssl.SSLError, ConnectionError, socket.timeout, TimeoutError)):
            log("connection from %s ended: %s" % (client_address, exc.__class__.__name__))
            return
        super().handle_error(request, client_address)


def parse_args(argv):
    p = argparse.ArgumentParser(description="Local Amazon RDS API emulator for tests.")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file")
    p.add_argument("--bind", default="127.0.0.1")
    p.add_argument("--access-key", default=os.environ.get("AWS_ACCESS_KEY_ID"))
    p.add_argument("--secret-key", default=os.environ.get("AWS_SECRET_ACCESS_KEY"))
    p.add_argument("--session-token")
    p.add_argument("--region", default="us-east-1")
    p.add_argument("--account", default="123456789012")
    p.add_argument("--caller-arn", help="the principal AccessDenied names (default an assumed role)")
    p.add_argument("--extra-credential", action="append", metavar="AKID:SECRET",
                   help="another accepted identity (no session token); repeatable")
    p.add_argument("--seed-file", help="a POST /_fake/state document loaded at startup")
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--verbose", action="store_true")
    opts = p.parse_args(argv)
    if not opts.access_key or not opts.secret_key:
        p.error("--access-key and --secret-key are required")
    if bool(opts.tls_cert) != bool(opts.tls_key):
        p.error("--tls-cert and --tls-key go together")
    if not re.fullmatch(r"\d{12}", opts.account):
        p.error("--account must be 12 digits")
    for extra in opts.extra_credential or []:
        if ":" not in extra or extra.startswith(":") or extra.endswith(":"):
            p.error("--extra-credential is AKID:SECRET")
    return opts


def main(argv=None):
    global VERBOSE
    opts = parse_args(sys.argv[1:] if argv is None else argv)
    VERBOSE = opts.verbose
    server = FakeServer(opts)
    port = server.server_address[1]
    if opts.port_file:
        tmp = opts.port_file + ".tmp"
        with open(tmp, "w", encoding="ascii") as f:
            f.write("%d\n" % port)
        os.replace(tmp, opts.port_file)

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    log("listening on %s://%s:%d" % ("https" if server.tls else "http", opts.bind, port))
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
