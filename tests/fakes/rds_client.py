#!/usr/bin/env python3
"""A small signed Amazon RDS Query-protocol client for tests, and helpers to run fake_rds.py.

Standard library only.

    sys.path.insert(0, "<repo>/tests/fakes")
    from rds_client import RdsClient, RdsError, FakeRds
    with FakeRds(access_key="AKID", secret_key="SECRET") as fake:       # starts the emulator
        fake.seed({"instances": [{"identifier": "pg-main"}]})
        c = RdsClient(fake.endpoint, access_key="AKID", secret_key="SECRET")
        out = c.describe_db_instances(DBInstanceIdentifier="pg-main")   # -> dict, or raises RdsError
        out["DBInstances"][0]["Endpoint"]["Address"]
        fake.fault("DescribeDBInstances", "Throttling", count=2)
        fake.deny(["rds:DescribeDBClusters"])
        fake.calls(); fake.stats(); fake.reset()

Requests are form-encoded the way botocore's query serializer does it (Action, Version, then the
members; lists as Filters.Filter.N.Name / Filters.Filter.N.Values.Value.M; RFC 3986 encoding) and
signed with sm_sigv4.sign(), the client-side half of the independent SigV4 module (its sign() and
verify() are separate functions, each checked against the AWS SigV4 test suite).
XML answers are turned into plain dicts/lists (element names kept; LIST_WRAPPERS become lists;
"true"/"false" and integers are left as strings, as they are on the wire).
"""
import http.client
import json
import os
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.parse
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sm_sigv4  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
API_VERSION = "2014-10-31"
NS = "http://rds.amazonaws.com/doc/2014-10-31/"
FORM_CT = "application/x-www-form-urlencoded; charset=utf-8"
# Elements whose children are list items (botocore's list shapes for these two operations).
LIST_WRAPPERS = frozenset(
    [
        "DBInstances", "DBClusters", "ReadReplicaDBInstanceIdentifiers", "ReadReplicaDBClusterIdentifiers",
        "ReadReplicaIdentifiers", "VpcSecurityGroups", "DBParameterGroups", "DBSecurityGroups", "TagList",
        "DBClusterMembers", "AvailabilityZones", "Subnets", "DomainMemberships", "OptionGroupMemberships",
        "StatusInfos", "AssociatedRoles", "DBClusterOptionGroupMemberships", "CustomEndpoints",
        "EnabledCloudwatchLogsExports", "ProcessorFeatures", "DBInstanceAutomatedBackupsReplications",
    ]
)


class RdsError(Exception):
    """A non-2xx answer: .status, .code, .message, .type (Sender/Receiver), .request_id, .raw, .headers."""

    def __init__(self, status, code, message, type_=None, request_id=None, raw=b"", headers=None, operation=None):
        super().__init__("%s (%s): %s" % (code, status, message))
        self.status = status
        self.code = code
        self.message = message
        self.type = type_
        self.request_id = request_id
        self.raw = raw
        self.headers = headers or {}
        self.operation = operation


def _local(tag):
    return tag.rsplit("}", 1)[-1]


def to_python(elem):
    """An element -> str (leaf), list (LIST_WRAPPERS) or dict of child name -> value."""
    children = list(elem)
    name = _local(elem.tag)
    if name in LIST_WRAPPERS:
        return [to_python(c) for c in children]
    if not children:
        return elem.text or ""
    return {_local(c.tag): to_python(c) for c in children}


def parse_error(raw):
    """(code, message, type, request_id) from an ErrorResponse body, or Nones."""
    try:
        root = ET.fromstring(raw)
    except ET.ParseError:
        return None, None, None, None
    err = root.find("{%s}Error" % NS)
    rid = root.find("{%s}RequestId" % NS)

    def text(tag):
        node = err.find("{%s}%s" % (NS, tag)) if err is not None else None
        return node.text if node is not None else None

    return text("Code"), text("Message"), text("Type"), rid.text if rid is not None else None


def encode_params(params):
    """Form body from an ordered dict, RFC 3986 encoded as botocore does."""
    return "&".join("%s=%s" % (sm_sigv4.uri_encode(k), sm_sigv4.uri_encode(str(v))) for k, v in params.items())


def flatten(action, members, version=API_VERSION):
    """{'DBInstanceIdentifier': 'x', 'Filters': [{'Name': n, 'Values': [..]}], 'MaxRecords': 20} ->
    the ordered Query parameters."""
    out = {"Action": action, "Version": version}
    for key, value in members.items():
        if value is None:
            continue
        if key == "Filters":
            for i, f in enumerate(value, 1):
                out["Filters.Filter.%d.Name" % i] = f["Name"]
                for j, v in enumerate(f.get("Values", []), 1):
                    out["Filters.Filter.%d.Values.Value.%d" % (i, j)] = v
        elif isinstance(value, bool):
            out[key] = "true" if value else "false"
        else:
            out[key] = value
    return out


class Response:
    def __init__(self, status, headers, raw):
        self.status = status
        self.headers = headers  # lowercase name -> value
        self.raw = raw
        try:
            self.xml = ET.fromstring(raw) if raw else None
        except ET.ParseError:
            self.xml = None


class RdsClient:
    def __init__(self, endpoint, region="us-east-1", access_key=None, secret_key=None, session_token=None,
                 timeout=30.0, ca_file=None, retry_stale=True):
        self.endpoint = endpoint.rstrip("/")
        url = urllib.parse.urlsplit(self.endpoint)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError("endpoint must be http(s)://host[:port]")
        self.scheme = url.scheme
        self.host = url.hostname
        self.port = url.port or (443 if url.scheme == "https" else 80)
        default_port = 443 if url.scheme == "https" else 80
        self.host_header = self.host if self.port == default_port else "%s:%d" % (self.host, self.port)
        self.region = region
        self.access_key = access_key if access_key is not None else os.environ.get("AWS_ACCESS_KEY_ID")
        self.secret_key = secret_key if secret_key is not None else os.environ.get("AWS_SECRET_ACCESS_KEY")
        self.session_token = session_token or None
        self.timeout = timeout
        self.ca_file = ca_file
        self.retry_stale = retry_stale
        self.conn = None

    def _connect(self):
        if self.scheme == "https":
            ctx = ssl.create_default_context(cafile=self.ca_file)
            return http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout, context=ctx)
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def _roundtrip(self, method, target, headers, body):
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = self._connect()
            reused = self.conn.sock is not None
            try:
                self.conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
                for name, value in headers:
                    self.conn.putheader(name, value)
                self.conn.endheaders(body if body else None)
                resp = self.conn.getresponse()
                raw = resp.read()
                hdrs = {k.lower(): v for k, v in resp.getheaders()}
                if resp.will_close:
                    self.close()
                return Response(resp.status, hdrs, raw)
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()
                if attempt == 2 or not reused or not self.retry_stale:
                    raise
        raise AssertionError("unreachable")

    def request(self, action, members=None, *, params=None, method="POST", version=API_VERSION, raw_body=None,
                when=None, secret_key=None, access_key=None, session_token=None, extra_headers=None, sign=True,
                mutate=None, content_type=FORM_CT):
        """Send one request; returns a Response (never raises for an HTTP error status).

        members are flattened as botocore does; params (an ordered dict) replaces them verbatim (for
        wrong-case or unknown names, a missing Action, ...). method GET puts them in the query string.
        when / secret_key / access_key / session_token ("" drops it) / sign=False make bad requests;
        mutate(headers, body) -> (headers, body) runs AFTER signing.
        """
        if params is None:
            params = flatten(action, members or {}, version)
        encoded = encode_params(params)
        if method == "GET":
            path, query, data = "/", encoded, b""
        else:
            path, query = "/", ""
            data = raw_body if raw_body is not None else encoded.encode("utf-8")
        headers = [("Host", self.host_header)]
        if method != "GET":
            headers.append(("Content-Type", content_type))
        headers += list(extra_headers or [])
        if sign:
            token = self.session_token if session_token is None else (session_token or None)
            headers, _ = sm_sigv4.sign(method, path, query, headers, data, access_key or self.access_key,
                                       secret_key or self.secret_key, self.region, "rds",
                                       session_token=token, when=when)
        if mutate is not None:
            headers, data = mutate(list(headers), data)
        if method != "GET" or data:
            headers.append(("Content-Length", str(len(data))))
        target = path + ("?" + query if query else "")
        return self._roundtrip(method, target, headers, data)

    def call(self, action, members=None, **kwargs):
        """Signed call; returns the <ActionResult> element as a dict, or raises RdsError."""
        resp = self.request(action, members, **kwargs)
        if 200 <= resp.status < 300:
            if resp.xml is None:
                raise RdsError(resp.status, "MalformedResponse", "answer is not XML", raw=resp.raw,
                               headers=resp.headers, operation=action)
            result = resp.xml.find("{%s}%sResult" % (NS, action))
            out = to_python(result) if result is not None else {}
            rid = resp.xml.find("{%s}ResponseMetadata/{%s}RequestId" % (NS, NS))
            out["ResponseMetadata"] = {"RequestId": rid.text if rid is not None else None}
            return out
        code, message, type_, rid = parse_error(resp.raw)
        raise RdsError(resp.status, code or str(resp.status), message or "", type_, rid, resp.raw, resp.headers, action)

    def describe_db_instances(self, DBInstanceIdentifier=None, Filters=None, MaxRecords=None, Marker=None, **kw):
        return self.call("DescribeDBInstances", {"DBInstanceIdentifier": DBInstanceIdentifier, "Filters": Filters,
                                                 "MaxRecords": MaxRecords, "Marker": Marker}, **kw)

    def describe_db_clusters(self, DBClusterIdentifier=None, Filters=None, MaxRecords=None, Marker=None, **kw):
        return self.call("DescribeDBClusters", {"DBClusterIdentifier": DBClusterIdentifier, "Filters": Filters,
                                                "MaxRecords": MaxRecords, "Marker": Marker}, **kw)

    def all_pages(self, action, key, members=None):
        """Follow Marker to the end; returns every item under key (DBInstances / DBClusters)."""
        members = dict(members or {})
        items = []
        while True:
            page = self.call(action, members)
            items.extend(page.get(key, []))
            if not page.get("Marker"):
                return items
            members["Marker"] = page["Marker"]


# ---------------------------------------------------------------------------------------------
# The emulator process and its control API


def control(endpoint, method, path, body=None, timeout=30.0, ca_file=None):
    """Call the emulator's unsigned /_fake/ control API; returns the decoded JSON."""
    url = urllib.parse.urlsplit(endpoint)
    if url.scheme == "https":
        conn = http.client.HTTPSConnection(url.hostname, url.port, timeout=timeout,
                                           context=ssl.create_default_context(cafile=ca_file))
    else:
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=timeout)
    try:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if data is not None else {}
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
        doc = json.loads(raw) if raw else None
        if resp.status != 200:
            raise RuntimeError("control %s %s -> %d %s" % (method, path, resp.status, doc))
        return doc
    finally:
        conn.close()


class FakeRds:
    """Start fake_rds.py as a child process on a free port (as tests/lib/stack.py starts the
    Secrets Manager emulator); stop() or the context manager terminates it. Keyword options map to
    flags: session_token=, region=, account=, caller_arn=, seed_file=, tls_cert=, tls_key=,
    extra_credential=[...], verbose=True."""

    def __init__(self, access_key, secret_key, python=None, startup_timeout=10.0, stderr=None, **options):
        self.dir = tempfile.mkdtemp(prefix="fake-rds-")
        port_file = os.path.join(self.dir, "port")
        argv = [python or sys.executable, os.path.join(HERE, "fake_rds.py"), "--port", "0",
                "--port-file", port_file, "--access-key", access_key, "--secret-key", secret_key]
        for key, value in options.items():
            if value is None or value is False:
                continue
            flag = "--" + key.replace("_", "-")
            if value is True:
                argv.append(flag)
            elif isinstance(value, (list, tuple)):
                for v in value:
                    argv += [flag, str(v)]
            else:
                argv += [flag, str(value)]
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stderr=stderr)
        deadline = time.monotonic() + startup_timeout
        self.port = None
        while time.monotonic() < deadline:
            if os.path.exists(port_file):
                with open(port_file, encoding="ascii") as f:
                    text = f.read().strip()
                if text:
                    self.port = int(text)
                    break
            if self.proc.poll() is not None:
                raise RuntimeError("fake_rds exited with %d" % self.proc.returncode)
            time.sleep(0.02)
        if self.port is None:
            self.stop()
            raise RuntimeError("fake_rds did not write its port file")
        scheme = "https" if options.get("tls_cert") else "http"
        self.endpoint = "%s://127.0.0.1:%d" % (scheme, self.port)
        self.ca_file = None

    def control(self, method, path, body=None):
        return control(self.endpoint, method, path, body, ca_file=self.ca_file)

    def seed(self, state):
        return self.control("POST", "/_fake/state", state)

    def state(self):
        return self.control("GET", "/_fake/state")

    def fault(self, operation, error, count=1, **extra):
        spec = {"operation": operation, "error": error, "count": count}
        spec.update(extra)
        return self.control("POST", "/_fake/faults", spec)

    def deny(self, actions, **extra):
        spec = {"actions": list(actions)}
        spec.update(extra)
        return self.control("POST", "/_fake/deny", spec)

    def calls(self):
        return self.control("GET", "/_fake/calls")

    def stats(self):
        return self.control("GET", "/_fake/stats")

    def reset(self, state=False):
        return self.control("POST", "/_fake/reset", {"state": True} if state else {})

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for name in os.listdir(self.dir):
            os.unlink(os.path.join(self.dir, name))
        os.rmdir(self.dir)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
