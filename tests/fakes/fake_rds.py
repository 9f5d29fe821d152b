#!/usr/bin/env python3
"""A local Amazon RDS API emulator for tests, on the shared fake server (aws_fake.py).

DescribeDBInstances and DescribeDBClusters for one identifier: what the rotation function calls to
resolve an RDS-managed master secret and to recognise read replicas and Aurora readers.

    python3 tests/fakes/fake_rds.py --port 0 --port-file FILE --access-key AKID --secret-key SECRET \
        [aws_fake's options]

Wire (the AWS Query protocol, as botocore speaks it to rds.<region>.amazonaws.com):
    POST /  Content-Type: application/x-www-form-urlencoded; charset=utf-8
            Action=DescribeDBInstances&Version=2014-10-31&DBInstanceIdentifier=<id or ARN>
    SigV4 with service name "rds". Answers: text/xml, x-amzn-RequestId, no XML declaration,
    indented XML in the namespace http://rds.amazonaws.com/doc/2014-10-31/, empty lists as
    self-closing elements. Errors: <ErrorResponse xmlns=NS><Error><Type>Sender|Receiver</Type>
    <Code/><Message/></Error><RequestId/></ErrorResponse> (Receiver for 5xx [assumed]). Order of
    checks: SigV4 -> injected fault -> Action/Version -> IAM deny -> identifier -> lookup.
    Identifiers are case-insensitive (stored lowercase); one that names nothing is
    DBInstanceNotFound / DBClusterNotFoundFault 404. Parameters the operation does not have are
    ignored [assumed] and listed in the call log ("ignored_params").

Control API: aws_fake's; calls carry "identifier", "denied", "returned" (identifiers answered),
"ignored_params", "access_key". Faults: Throttling 400 "Rate exceeded", InternalFailure 500,
ServiceUnavailable 503, AccessDenied 403 (the IAM text for the request's action and resource),
DBInstanceNotFound / DBClusterNotFoundFault 404 naming the identifier, ...; "apply" changes nothing
here. Also:
    POST /_fake/deny     {"actions": ["rds:DescribeDBClusters", ...], "resources": [id|ARN, ...],
                          "reason": "implicit"|"explicit"|"scp"} or a list: REPLACES the deny rules
                         ({"actions": []} or DELETE clears; GET lists). A request whose action
                         matches ("rds:*", "*" too) and whose resource (the ARN asked for, else
                         arn:aws:rds:<region>:<account>:db:* / cluster:*) is listed (all without
                         "resources") gets 403 AccessDenied "User: <caller> is not authorized to
                         perform: rds:<Op> on resource: <arn> because no identity-based policy
                         allows the rds:<Op> action" (explicit/scp: "with an explicit deny in an
                         identity-based policy" / "... in a service control policy").
State (POST /_fake/state): {"instances": [INSTANCE...], "clusters": [CLUSTER...]}
    INSTANCE: {"identifier" (required), "engine" (postgres|mysql|mariadb|aurora-postgresql|
               aurora-mysql; default the cluster's, else postgres), "engine_version", "status",
               "master_username", "db_name", "instance_class", "address", "port", "cluster" (member
               of that cluster), "is_writer" (default: the first member not marked false),
               "promotion_tier", "replica_source" (read replica of that instance),
               "master_user_secret": true | "arn:..." | {"secret_arn", "secret_status",
               "kms_key_id"}, "tags": {"k": "v"} | [{"Key", "Value"}], "arn", "resource_id",
               "availability_zone", "hosted_zone_id"}; defaults are derived.
    CLUSTER:  {"identifier", "engine" (aurora-postgresql), "engine_version", "status",
               "master_username", "db_name", "port", "endpoint", "reader_endpoint",
               "master_user_secret", "tags", "arn", "resource_id", "hosted_zone_id"}
    Members and ReadReplicaDBInstanceIdentifiers are derived. A bad document answers 400.

Sources (2024-2026 captures; [assumed] marks what could not be checked): the RDS API Reference
"Common Errors" page (codes and statuses; RDS itself answers "Throttling"); botocore's rds model
and a captured ErrorResponse in NixOS/nixops#970 (DBInstanceNotFound 404, "DBInstance <id> not
found."; the cluster text as moto and floci#1740); cloud-custodian#3340 and aws-cli#8604
(Throttling "Rate exceeded"); pireporter#8, neptune-export#120, aws-well-architected-labs#854
(AccessDenied 403 texts); boto/boto3#2381 (InvalidClientTokenId); SignatureDoesNotMatch 403 as the
Query services answer (aws-sdk-js#265, convox#235) [assumed for RDS], the 5-minute window
[assumed]; panther#2240 and sst#1702 (identifier rules); a real DescribeDBInstances body in
terraform-provider-aws#33404 (element order, us-east-1's HostedZoneId); MissingAction and
InvalidAction as STS answers [assumed for RDS].
"""
import datetime
import hashlib
import os
import re
import sys
import threading
import time
import uuid
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aws_fake  # noqa: E402
import sigv4  # noqa: E402

API_VERSION = "2014-10-31"
NS = "http://rds.amazonaws.com/doc/2014-10-31/"
FORM_CT = aws_fake.FORM_CT
OPERATIONS = {"DescribeDBInstances": ("db", "DBInstanceIdentifier"),
              "DescribeDBClusters": ("cluster", "DBClusterIdentifier")}
ID_RULES = (
    "Identifiers must begin with a letter; must contain only ASCII letters, digits, and hyphens; "
    "and must not end with a hyphen or contain two consecutive hyphens."
)
CLUSTER_ID_RULES = (
    "Identifiers must either be an ARN or begin with a letter; must contain only ASCII letters, digits, "
    "and hyphens; and must not end with a hyphen or contain two consecutive hyphens."
)
MSG_INTERNAL = "The request processing has failed because of an unknown error, exception or failure."
FAULT_DEFAULTS = {
    "Throttling": (400, "Rate exceeded"),
    "ThrottlingException": (400, "Rate exceeded"),
    "InternalFailure": (500, MSG_INTERNAL),
    "ServiceUnavailable": (503, "The request has failed due to a temporary failure of the server."),
    "AccessDenied": (403, None),
    "DBInstanceNotFound": (404, None),
    "DBClusterNotFoundFault": (404, None),
    "InvalidParameterValue": (400, "An invalid or out-of-range value was supplied for the input parameter."),
    "InvalidClientTokenId": (403, sigv4.INVALID_TOKEN_MESSAGE),
    "SignatureDoesNotMatch": (403, sigv4.MISMATCH_MESSAGE),
    "RequestExpired": (400, "Request has expired."),
    "ExpiredToken": (403, "The security token included in the request is expired"),  # status [assumed]
    "RequestTimeout": (408, "Request timed out"),  # [assumed]
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
CALLER = "arn:aws:sts::%s:assumed-role/smrotate-rotation-role/smrotate-test"


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


class Rds(aws_fake.QueryService):
    """Instances and clusters (seeded, never changed by the API) and deny rules."""

    name = "fake-rds"
    namespace = NS
    fault_defaults = FAULT_DEFAULTS

    def __init__(self, opts):
        self.opts = opts
        self.lock = threading.RLock()
        self.instances = {}  # id -> normalized dict
        self.clusters = {}
        self.deny = []
        self.created = time.time() - 86400 * 30

    def now(self):
        return self.server.now()

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

    def resolve(self, kind, value, param, call):
        """Identifier or ARN -> lowercase identifier to look up (None: cannot exist). Raises
        InvalidParameterValue for a malformed one."""
        rules = CLUSTER_ID_RULES if kind == "cluster" else ID_RULES
        bad = aws_fake.ApiError("InvalidParameterValue", "The parameter %s is not a valid identifier. %s" % (param, rules))
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

    # -- operations ----------------------------------------------------------------------------
    def describe(self, op, params, call):
        kind, param = OPERATIONS[op]
        ident = params.get(param)
        table = self.instances if kind == "db" else self.clusters
        with self.lock:
            items = sorted(table.values(), key=lambda d: d["identifier"])
            if ident is not None:
                key = self.resolve(kind, ident, param, call)
                if key is None or key not in table:
                    if kind == "db":
                        raise aws_fake.ApiError("DBInstanceNotFound", "DBInstance %s not found." % ident, 404)
                    raise aws_fake.ApiError("DBClusterNotFoundFault", "DBCluster %s not found." % ident, 404)
                items = [table[key]]
            call["returned"] = [d["identifier"] for d in items]
            if kind == "db":
                return [("DBInstances", [("DBInstance", self.instance_nodes(d)) for d in items])]
            return [("DBClusters", [("DBCluster", self.cluster_nodes(c)) for c in items])]

    # -- IAM -----------------------------------------------------------------------------------
    def resource_of(self, op, params):
        """The ARN IAM evaluates for the request: the identifier's ARN, else db:* / cluster:*."""
        kind, param = OPERATIONS[op]
        value = params.get(param)
        if not value:
            return self.arn(kind, "*")
        return value if value.startswith("arn:") else self.arn(kind, value.lower())

    def denied(self, op, params):
        """The matching deny rule and the resource, or (None, resource)."""
        resource = self.resource_of(op, params)
        with self.lock:
            for rule in self.deny:
                if any(a in ("*", "rds:*", "rds:" + op) for a in rule["actions"]) and (
                        rule["resources"] is None or resource.lower() in rule["resources"]):
                    return rule, resource
        return None, resource

    def set_deny(self, doc):
        rules = []
        for spec in doc if isinstance(doc, list) else [doc]:
            if not isinstance(spec, dict) or set(spec) - {"actions", "resources", "reason"}:
                raise ValueError("a deny rule is an object of actions, resources and reason")
            actions = spec.get("actions", [])
            norm = []
            for a in actions if isinstance(actions, list) else [None]:
                if a in ("*", "rds:*"):
                    norm.append(a)
                elif isinstance(a, str) and a.rpartition(":")[2] in OPERATIONS and a.count(":") <= 1:
                    norm.append("rds:" + a.rpartition(":")[2])
                else:
                    raise ValueError("unknown action %r (rds:DescribeDBInstances, rds:DescribeDBClusters, rds:*)" % a)
            resources = spec.get("resources")
            if resources is not None:
                if not isinstance(resources, list) or not all(isinstance(r, str) for r in resources):
                    raise ValueError("resources must be a list of identifiers or ARNs")
                out = set()
                for r in resources:  # a bare identifier names both an instance and a cluster
                    out |= {r.lower()} if r.startswith("arn:") else {
                        self.arn("db", r.lower()).lower(), self.arn("cluster", r.lower()).lower()}
                resources = sorted(out)
            reason = spec.get("reason", "implicit")
            if reason not in ("implicit", "explicit", "scp"):
                raise ValueError("reason must be implicit, explicit or scp")
            if norm:
                rules.append({"actions": norm, "resources": resources, "reason": reason})
        with self.lock:
            self.deny = rules
        return rules

    def access_denied(self, op, resource, reason="implicit"):
        tail = {
            "implicit": "because no identity-based policy allows the rds:%s action" % op,
            "explicit": "with an explicit deny in an identity-based policy",
            "scp": "with an explicit deny in a service control policy",
        }[reason]
        return aws_fake.ApiError("AccessDenied", "User: %s is not authorized to perform: rds:%s on resource: %s %s"
                                 % (CALLER % self.opts.account, op, resource, tail), 403)

    # -- the wire ------------------------------------------------------------------------------
    def parse(self, handler, method, body, call):
        call.update(identifier=None, denied=False, returned=None, ignored_params=[])
        op, params = super().parse(handler, method, body, call)
        call["identifier"] = params.get("DBInstanceIdentifier", params.get("DBClusterIdentifier"))
        return op, params

    def answer(self, op, params, call, ctx):
        if not op:
            raise aws_fake.ApiError("MissingAction", "Missing Action")
        version = params.get("Version")
        if version != API_VERSION or op not in OPERATIONS:
            raise aws_fake.ApiError("InvalidAction", "Could not find operation %s for version %s"
                                    % (op[:100], (version or "NO_VERSION_SPECIFIED")[:40]))
        rule, resource = self.denied(op, params)
        if rule is not None:
            call["denied"] = True
            raise self.access_denied(op, resource, rule["reason"])
        call["ignored_params"] = sorted(set(params) - {"Action", "Version", OPERATIONS[op][1]})
        return self.result(op, self.describe(op, params, call))

    def fault_error(self, fault, op, params, handler):
        code = fault["error"]
        if not fault["message"] and code == "AccessDenied":
            oper = op if op in OPERATIONS else "DescribeDBInstances"
            return self.access_denied(oper, self.resource_of(oper, params))
        if not fault["message"] and code in ("DBInstanceNotFound", "DBClusterNotFoundFault"):
            what, param = ("DBInstance", "DBInstanceIdentifier") if code == "DBInstanceNotFound" else (
                "DBCluster", "DBClusterIdentifier")
            return aws_fake.ApiError(code, "%s %s not found." % (what, params.get(param, "")), 404)
        return super().fault_error(fault, op, params, handler)

    def reset(self, state):
        with self.lock:
            self.deny = []
            if state:
                self.instances, self.clusters = {}, {}

    def control(self, handler, method, path, query, doc):
        if path != "/_fake/deny":
            return None
        if method == "POST":
            return {"rules": self.set_deny(doc)}
        if method == "DELETE":
            return {"rules": self.set_deny({"actions": []})}
        with self.lock:
            return {"rules": [dict(r) for r in self.deny]}


# ---------------------------------------------------------------------------------------------
# The client side

# Elements whose children are list items (botocore's list shapes for these two operations).
LIST_WRAPPERS = frozenset(
    ["DBInstances", "DBClusters", "ReadReplicaDBInstanceIdentifiers", "ReadReplicaDBClusterIdentifiers",
     "ReadReplicaIdentifiers", "VpcSecurityGroups", "DBParameterGroups", "DBSecurityGroups", "TagList",
     "DBClusterMembers", "AvailabilityZones", "Subnets", "DomainMemberships", "OptionGroupMemberships",
     "StatusInfos", "AssociatedRoles", "DBClusterOptionGroupMemberships", "CustomEndpoints"]
)


def to_python(elem):
    """An element -> str (leaf), list (LIST_WRAPPERS) or dict of child name -> value."""
    name = elem.tag.rsplit("}", 1)[-1]
    if name in LIST_WRAPPERS:
        return [to_python(c) for c in elem]
    if not len(elem):
        return elem.text or ""
    return {c.tag.rsplit("}", 1)[-1]: to_python(c) for c in elem}


class RdsError(Exception):
    """A non-2xx answer: .status, .code, .message, .type (Sender/Receiver), .request_id, .raw."""

    def __init__(self, status, code, message, type_, request_id, raw):
        super().__init__("%s (%s): %s" % (code, status, message))
        self.status, self.code, self.message, self.type = status, code, message, type_
        self.request_id, self.raw = request_id, raw


class Client(aws_fake.Client):
    """A signed RDS Query client: parameters form-encoded as botocore's query serializer does
    (RFC 3986), answers turned into dicts and lists ("true" and numbers stay strings)."""

    def __init__(self, endpoint, **kwargs):
        super().__init__(endpoint, "rds", **kwargs)

    def request(self, action, members=None, *, params=None, content_type=FORM_CT + "; charset=utf-8",
                version=API_VERSION, **kwargs):
        """members: {"DBInstanceIdentifier": ...}; params replaces Action, Version and members
        verbatim (for wrong or missing names)."""
        if params is None:
            params = {"Action": action, "Version": version}
            params.update({k: v for k, v in (members or {}).items() if v is not None})
        body = "&".join("%s=%s" % (sigv4.uri_encode(k), sigv4.uri_encode(str(v))) for k, v in params.items())
        return self.send([("Content-Type", content_type)], body.encode("utf-8"), **kwargs)

    def call(self, action, members=None, **kwargs):
        resp = self.request(action, members, **kwargs)
        try:
            root = ET.fromstring(resp.raw)
        except ET.ParseError:
            root = None
        if 200 <= resp.status < 300 and root is not None:
            result = root.find("{%s}%sResult" % (NS, action))
            return to_python(result) if result is not None else {}
        err = root.find("{%s}Error" % NS) if root is not None else None

        def text(node, tag):
            found = node.find("{%s}%s" % (NS, tag)) if node is not None else None
            return found.text if found is not None else None

        raise RdsError(resp.status, text(err, "Code") or str(resp.status), text(err, "Message") or "",
                       text(err, "Type"), text(root, "RequestId"), resp.raw)


def main(argv=None):
    return aws_fake.main(aws_fake.arg_parser("Local Amazon RDS API emulator for tests."), "rds", Rds, argv)


if __name__ == "__main__":
    sys.exit(main())
