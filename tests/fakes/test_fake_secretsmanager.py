"""Tests of the Secrets Manager emulator (fake_secretsmanager.py), its SigV4 code (sm_sigv4.py)
and the signed client (sm_client.py). Every test_<name> is ctest <name> (tests/secretsmanager_fake.cmake).

Each live test starts its own emulator on a free port. Expected behaviour is the real service's, per
the AWS Secrets Manager API Reference; the fixture texts come from tests/data/secretsmanager/errors.
"""
import base64
import datetime
import http.client
import http.server
import json
import os
import re
import shutil
import socket
import string
import subprocess
import sys
import tempfile
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TESTS, "lib"))
sys.path.insert(0, HERE)

import sm_sigv4  # noqa: E402
import smtest  # noqa: E402
from sm_client import AwsError, Client, FakeProcess  # noqa: E402
from smtest import assert_eq, assert_in, assert_not_in  # noqa: E402

DATA = os.path.join(TESTS, "data")
AK, SK = "AKIDFAKESMTEST", "fakeSecretKey/For+Tests0123456789abcdefgh"
SUITE_AK, SUITE_SK = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
SUITE_TIME = datetime.datetime(2015, 8, 30, 12, 36, 0, tzinfo=datetime.timezone.utc)
ARN_RE = re.compile(r"^arn:aws:secretsmanager:us-east-1:123456789012:secret:(.+)-[A-Za-z0-9]{6}$")

# The fixture world of tests/data/secretsmanager (README): one secret caught mid-rotation.
FX_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/app/db-AbCdEf"
FX_PREV = "0c9e4d2a-7f31-4b8e-a5c6-1e2d3f4a5b6c"
FX_CUR = "a1f8c3e2-5b7d-4c19-9e0a-3d6f2b8c4e71"
FX_PEND = "7d3b9f10-2c4e-4a8b-9f6d-5e1a2b3c4d5e"
FX_LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:my-rotator"


# ---------------------------------------------------------------------------------------------
# helpers


def start(**opts):
    return FakeProcess(AK, SK, python=sys.executable, **opts)


def client(fake, **kw):
    kw.setdefault("region", "us-east-1")
    kw.setdefault("access_key", AK)
    kw.setdefault("secret_key", SK)
    kw.setdefault("session_token", "")
    return Client(fake.endpoint, **kw)


def error_fixture(name):
    with open(os.path.join(DATA, "secretsmanager", "errors", name), encoding="utf-8") as f:
        return json.load(f)


def data_json(*parts):
    with open(os.path.join(DATA, "secretsmanager", *parts), encoding="utf-8") as f:
        return json.load(f)


def expect_error(fn, code, status=400, message=None, key=None):
    """Run fn, which must raise AwsError `code`; check status, exact message and body key casing."""
    try:
        fn()
    except AwsError as e:
        assert_eq(e.code, code, "error code")
        assert_eq(e.status, status, "HTTP status of %s" % code)
        if message is not None:
            assert_eq(e.message, message, "message of %s" % code)
        if key is not None:
            assert_in(key, e.body, "body key of %s" % code)
        assert_in("x-amzn-requestid", e.headers, "request id header")
        assert_eq(e.headers.get("content-type"), "application/x-amz-json-1.1", "error content type")
        return e
    raise AssertionError("expected %s" % code)


def token():
    return str(uuid.uuid4())


def stages_of(c, sid):
    return c.describe_secret(sid).get("VersionIdsToStages", {})


def no_nulls(doc, where="response"):
    if doc is None:
        raise AssertionError("%s contains null" % where)
    if isinstance(doc, dict):
        for k, v in doc.items():
            no_nulls(v, "%s.%s" % (where, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            no_nulls(v, "%s[%d]" % (where, i))


def parse_req(text):
    """Parse a test-suite .req/.sreq file: (method, path, query, headers, body)."""
    lines = text.split("\n")
    method, rest = lines[0].split(" ", 1)
    target = rest.rsplit(" ", 1)[0]  # get-space has a space inside the path
    path, _, query = target.partition("?")
    headers = []
    i = 1
    while i < len(lines) and lines[i] != "":
        line = lines[i]
        if line[0] in " \t":  # obsolete line folding
            name, value = headers[-1]
            headers[-1] = (name, value + "\n" + line)
        else:
            name, _, value = line.partition(":")
            headers.append((name, value))
        i += 1
    body = "\n".join(lines[i + 1 :]) if i < len(lines) else ""
    return method, path, query, headers, body.encode("utf-8")


def suite_cases(root):
    for dirpath, _, files in os.walk(root):
        for fn in sorted(files):
            if fn.endswith(".req"):
                yield os.path.join(dirpath, fn[:-4])


def read(base, ext):
    with open(base + ext, encoding="utf-8") as f:
        return f.read()


def case_token(base):
    for line in read(base, ".creq").split("\n"):
        if line.startswith("x-amz-security-token:"):
            return line.split(":", 1)[1]
    return None


def seed_fixture_world(fake, pending_value=False):
    """Load the README's secret into the emulator through POST /_fake/state."""
    current = data_json("responses", "GetSecretValue.current.json")["SecretString"]
    pending = data_json("responses", "GetSecretValue.pending.json")["SecretString"]
    versions = [
        {"VersionId": FX_PREV, "VersionStages": ["AWSPREVIOUS"], "SecretString": "old-old", "CreatedDate": 1700000000.123},
        {"VersionId": FX_CUR, "VersionStages": ["AWSCURRENT"], "SecretString": current, "CreatedDate": 1720000000.456},
        {"VersionId": FX_PEND, "VersionStages": ["AWSPENDING"], "CreatedDate": 1730000000.789},
    ]
    if pending_value:
        versions[2]["SecretString"] = pending
    fake.control(
        "POST",
        "/_fake/state",
        {
            "secrets": [
                {
                    "Name": "prod/app/db",
                    "ARN": FX_ARN,
                    "Description": "Application database credentials",
                    "CreatedDate": 1700000000.123,
                    "RotationEnabled": True,
                    "RotationLambdaARN": FX_LAMBDA,
                    "RotationRules": {"AutomaticallyAfterDays": 30},
                    "LastRotatedDate": 1720000000.456,
                    "Versions": versions,
                }
            ]
        },
    )


class StubLambda:
    """A tiny invoke endpoint acting like the AWS template rotation function (against the
    emulator, through sm_client), recording every event. fail: {step: times} makes that step
    fail (200 + X-Amz-Function-Error: Unhandled) the first `times` calls. While `gate` is clear
    every invocation waits (recorded in `events`, not yet run, not counted in `released`) until
    the test sets it."""

    def __init__(self, sm_endpoint, fail=None, forward_rotation_token=True, finish=True):
        self.sm = Client(sm_endpoint, region="us-east-1", access_key=AK, secret_key=SK, session_token="")
        self.fail = dict(fail or {})
        self.forward = forward_rotation_token
        self.finish = finish
        self.events = []
        self.released = 0  # invocations past the gate (running or answered)
        self.gate = threading.Event()
        self.gate.set()
        self.lock = threading.Lock()
        stub = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                event = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with stub.lock:
                    stub.events.append(dict(event, _path=self.path))
                stub.gate.wait(60)
                with stub.lock:
                    stub.released += 1
                    failing = stub.fail.get(event["Step"], 0) > 0
                    if failing:
                        stub.fail[event["Step"]] -= 1
                headers = {}
                if failing:
                    body = {"errorMessage": "injected %s failure" % event["Step"], "errorType": "StubError"}
                    headers["X-Amz-Function-Error"] = "Unhandled"
                else:
                    try:
                        stub.step(event)
                        body = None
                    except Exception as e:  # noqa: BLE001 - reported like a function error
                        body = {"errorMessage": str(e), "errorType": type(e).__name__}
                        headers["X-Amz-Function-Error"] = "Unhandled"
                data = json.dumps(body).encode()
                self.send_response(200)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = "http://127.0.0.1:%d/2015-03-31/functions/function/invocations" % self.server.server_address[1]

    def step(self, event):
        sm, arn, tok = self.sm, event["SecretId"], event["ClientRequestToken"]
        meta = sm.describe_secret(arn)
        if not meta.get("RotationEnabled"):
            raise ValueError("rotation not enabled")
        stages = meta.get("VersionIdsToStages", {})
        if tok not in stages:
            raise ValueError("token has no stage")
        if "AWSCURRENT" in stages[tok]:
            return
        if "AWSPENDING" not in stages[tok]:
            raise ValueError("token is not pending")
        step = event["Step"]
        if step == "createSecret":
            sm.get_secret_value(arn, VersionStage="AWSCURRENT")
            try:
                sm.get_secret_value(arn, VersionId=tok, VersionStage="AWSPENDING")
            except AwsError as e:
                if e.code != "ResourceNotFoundException":
                    raise
                pw = sm.get_random_password(PasswordLength=16)["RandomPassword"]
                body = {"SecretId": arn, "ClientRequestToken": tok, "SecretString": pw, "VersionStages": ["AWSPENDING"]}
                if self.forward and event.get("RotationToken"):
                    body["RotationToken"] = event["RotationToken"]
                sm.call("PutSecretValue", body)
        elif step in ("setSecret", "testSecret"):
            sm.get_secret_value(arn, VersionId=tok, VersionStage="AWSPENDING")
        elif step == "finishSecret":
            if not self.finish:
                return
            holder = [v for v, s in stages.items() if "AWSCURRENT" in s][0]
            sm.update_secret_version_stage(arn, "AWSCURRENT", MoveToVersionId=tok, RemoveFromVersionId=holder)
        else:
            raise ValueError("unknown step")

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.sm.close()


def wait_rotations(fake, seconds=15):
    recs = fake.control("GET", "/_fake/rotations?wait=%d" % seconds)
    if any(r["status"] == "running" for r in recs):
        raise AssertionError("rotation still running after %ds" % seconds)
    return recs


# ---------------------------------------------------------------------------------------------
# SigV4: the signer against the published vectors, the verifier accepting and rejecting


def test_fake_sm_sigv4_signer_reproduces_aws_suite():
    n = 0
    for base in suite_cases(os.path.join(DATA, "sigv4")):
        method, path, query, headers, body = parse_req(read(base, ".req"))
        tok = case_token(base)
        if tok and any(h.lower() == "x-amz-security-token" for h, _ in headers):
            tok = tok  # post-sts-header-before: the token travels in .req and is signed
        headers = [(h, v) for h, v in headers if h.lower() != "x-amz-date"]
        _, d = sm_sigv4.sign(method, path, query, headers, body, SUITE_AK, SUITE_SK, "us-east-1", "service",
                             session_token=tok, when=SUITE_TIME)
        name = os.path.basename(base)
        assert_eq(d["creq"], read(base, ".creq"), name + " canonical request")
        assert_eq(d["sts"], read(base, ".sts"), name + " string to sign")
        assert_eq(d["authz"], read(base, ".authz"), name + " Authorization")
        n += 1
    assert_eq(n, 34, "number of suite cases")


def _suite_request(base):
    """The .req request plus the case's Authorization (and its token header where only .creq has it)."""
    method, path, query, headers, body = parse_req(read(base, ".req"))
    tok = case_token(base)
    if tok and not any(h.lower() == "x-amz-security-token" for h, _ in headers):
        headers.append(("X-Amz-Security-Token", tok))
    headers.append(("Authorization", read(base, ".authz")))
    return method, path, query, headers, body


def _suite_token(base, headers):
    for h, v in headers:
        if h.lower() == "x-amz-security-token":
            return v
    return None


def test_fake_sm_sigv4_verifier_accepts_aws_suite_signatures():
    n = 0
    for base in suite_cases(os.path.join(DATA, "sigv4")):
        method, path, query, headers, body = _suite_request(base)
        name = os.path.basename(base)
        if name == "post-sts-header-after":  # token appended after signing, as .sreq shows
            headers.insert(-1, ("X-Amz-Security-Token", _suite_token(base, parse_req(read(base, ".sreq"))[3])))
        creds = {SUITE_AK: (SUITE_SK, _suite_token(base, headers))}
        parts = sm_sigv4.verify(method, path, query, headers, body, creds, "us-east-1", "service", SUITE_TIME,
                                require_token_signed=(name != "post-sts-header-after"))
        assert_eq(parts["access_key"], SUITE_AK, name)
        n += 1
    assert_eq(n, 34, "number of suite cases")


def _rejects(code, fn, fragment=None):
    try:
        fn()
    except sm_sigv4.SigV4Error as e:
        assert_eq(e.code, code, "verifier error code")
        if fragment:
            assert_in(fragment, e.message, "verifier message")
        return
    raise AssertionError("verifier accepted a request it must reject (%s)" % code)


def test_fake_sm_sigv4_verifier_rejects_tampering_wrong_key_and_expiry():
    base = os.path.join(DATA, "sigv4", "post-x-www-form-urlencoded", "post-x-www-form-urlencoded")
    method, path, query, headers, body = _suite_request(base)
    creds = {SUITE_AK: (SUITE_SK, None)}

    def verify(h=headers, b=body, c=creds, now=SUITE_TIME):
        return sm_sigv4.verify(method, path, query, h, b, c, "us-east-1", "service", now)

    verify()  # the untouched request passes
    _rejects("InvalidSignatureException", lambda: verify(b=body.replace(b"value1", b"value2")), "does not match")
    tampered = [(h, "text/plain" if h.lower() == "content-type" else v) for h, v in headers]
    _rejects("InvalidSignatureException", lambda: verify(h=tampered), "does not match")
    _rejects("InvalidSignatureException", lambda: verify(c={SUITE_AK: (SUITE_SK + "x", None)}), "does not match")
    _rejects("UnrecognizedClientException", lambda: verify(c={"AKIDOTHER": (SUITE_SK, None)}))
    late = SUITE_TIME + datetime.timedelta(minutes=5, seconds=1)
    _rejects("InvalidSignatureException", lambda: verify(now=late),
             "Signature expired: 20150830T123600Z is now earlier than 20150830T123601Z (20150830T124101Z - 5 min.)")
    verify(now=SUITE_TIME + datetime.timedelta(minutes=5))  # exactly 5 minutes is still accepted
    early = SUITE_TIME - datetime.timedelta(minutes=6)
    _rejects("InvalidSignatureException", lambda: verify(now=early), "Signature not yet current")
    no_sig = [(h, re.sub(r", Signature=[0-9a-f]+", "", v)) if h == "Authorization" else (h, v) for h, v in headers]
    _rejects("IncompleteSignatureException", lambda: verify(h=no_sig), "requires 'Signature' parameter")
    _rejects("MissingAuthenticationTokenException", lambda: verify(h=[x for x in headers if x[0] != "Authorization"]))


def test_fake_sm_sigv4_secretsmanager_vectors_sign_and_verify():
    root = os.path.join(DATA, "sigv4-secretsmanager")
    with open(os.path.join(root, "signing-keys.json"), encoding="utf-8") as f:
        keys = json.load(f)
    for service, expected in keys.items():
        assert_eq(sm_sigv4.signing_keys_hex(SUITE_SK, "20150830", "us-east-1", service), expected, service + " keys")
    n = 0
    for base in suite_cases(root):
        name = os.path.basename(base)
        method, path, query, headers, body = parse_req(read(base, ".req"))
        tok = _suite_token(base, headers)
        plain = [(h, v) for h, v in headers if h.lower() not in ("x-amz-date", "x-amz-security-token")]
        _, d = sm_sigv4.sign(method, path, query, plain, body, SUITE_AK, SUITE_SK, "us-east-1", "secretsmanager",
                             session_token=tok, when=SUITE_TIME)
        assert_eq(d["creq"], read(base, ".creq"), name + " canonical request")
        assert_eq(d["authz"], read(base, ".authz"), name + " Authorization")
        sreq = parse_req(read(base, ".sreq"))
        creds = {SUITE_AK: (SUITE_SK, tok)}
        sm_sigv4.verify(*sreq, creds, "us-east-1", "secretsmanager", SUITE_TIME)
        if tok:  # the token must be presented: dropping it is an unrecognized client
            stripped = [(h, v) for h, v in sreq[3] if h.lower() != "x-amz-security-token"]
            _rejects("UnrecognizedClientException",
                     lambda: sm_sigv4.verify(sreq[0], sreq[1], sreq[2], stripped, sreq[4], creds, "us-east-1",
                                             "secretsmanager", SUITE_TIME))
        _rejects("InvalidSignatureException",
                 lambda: sm_sigv4.verify(*sreq, creds, "us-east-1", "service", SUITE_TIME), "correct service")
        n += 1
    assert_eq(n, 3, "number of Secrets Manager vectors")


# ---------------------------------------------------------------------------------------------
# SigV4 and the error layer on the live emulator


def test_fake_sm_live_auth_errors_have_aws_codes_and_texts():
    with start() as fake:
        c = client(fake)
        c.create_secret("auth", SecretString="v")
        e = expect_error(lambda: client(fake, secret_key=SK + "x").describe_secret("auth"),
                         "InvalidSignatureException", key="message")
        assert_eq(e.body, error_fixture("InvalidSignatureException.mismatch.json"), "mismatch body")
        e = expect_error(lambda: client(fake, access_key="AKIDNOTKNOWN").describe_secret("auth"),
                         "UnrecognizedClientException", key="message")
        assert_eq(e.body, error_fixture("UnrecognizedClientException.json"), "unrecognized body")
        e = expect_error(lambda: c.call("DescribeSecret", {"SecretId": "auth"}, sign=False),
                         "MissingAuthenticationTokenException", key="message")
        assert_eq(e.body, error_fixture("MissingAuthenticationTokenException.json"), "missing auth body")

        def drop_signature(headers, body):
            return [(h, re.sub(r", Signature=[0-9a-f]+", "", v)) if h == "Authorization" else (h, v)
                    for h, v in headers], body

        e = expect_error(lambda: c.call("DescribeSecret", {"SecretId": "auth"}, mutate=drop_signature),
                         "IncompleteSignatureException", key="message")
        assert_in("Authorization header requires 'Signature' parameter.", e.message)
        expect_error(lambda: client(fake, region="us-west-2").describe_secret("auth"), "InvalidSignatureException",
                     message="Credential should be scoped to a valid region, not 'us-west-2'. ")
        # None of these reached the service.
        calls = fake.control("GET", "/_fake/calls")
        assert_eq([x["status"] for x in calls], [200, 400, 400, 400, 400, 400], "statuses")


def test_fake_sm_live_rejects_tampered_body_and_header():
    with start() as fake:
        c = client(fake)
        c.create_secret("tamper", SecretString="v")

        def body_swap(headers, body):
            return headers, body.replace(b"tamper", b"tampex")

        expect_error(lambda: c.call("DescribeSecret", {"SecretId": "tamper"}, mutate=body_swap),
                     "InvalidSignatureException", message=sm_sigv4.MISMATCH_MESSAGE)

        def target_swap(headers, body):
            return [(h, "secretsmanager.GetSecretValue" if h == "X-Amz-Target" else v) for h, v in headers], body

        expect_error(lambda: c.call("DescribeSecret", {"SecretId": "tamper"}, mutate=target_swap),
                     "InvalidSignatureException")

        def host_swap(headers, body):
            return [(h, "localhost:%d" % fake.port if h == "Host" else v) for h, v in headers], body

        expect_error(lambda: c.call("DescribeSecret", {"SecretId": "tamper"}, mutate=host_swap),
                     "InvalidSignatureException", message=sm_sigv4.MISMATCH_MESSAGE)

        def host_unsigned(headers, body):
            return [(h, v.replace("SignedHeaders=content-type;host;", "SignedHeaders=content-type;"))
                    if h == "Authorization" else (h, v) for h, v in headers], body

        expect_error(lambda: c.call("DescribeSecret", {"SecretId": "tamper"}, mutate=host_unsigned),
                     "InvalidSignatureException",
                     message="'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
        # An unsigned extra header is harmless (curl's Accept: */*).
        c.call("DescribeSecret", {"SecretId": "tamper"}, mutate=lambda h, b: (h + [("Accept", "*/*")], b))


def test_fake_sm_live_signature_expires_after_five_minutes():
    with start() as fake:
        c = client(fake)
        now = datetime.datetime.now(datetime.timezone.utc)
        e = expect_error(lambda: c.call("GetRandomPassword", {}, when=now - datetime.timedelta(minutes=6)),
                         "InvalidSignatureException", key="message")
        assert re.fullmatch(r"Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 5 min\.\)",
                            e.message), e.message
        expect_error(lambda: c.call("GetRandomPassword", {}, when=now + datetime.timedelta(minutes=6)),
                     "InvalidSignatureException")
        c.call("GetRandomPassword", {}, when=now - datetime.timedelta(minutes=4))
        # The control clock: a client 10 minutes behind is accepted once the fake runs 10 minutes slow.
        fake.control("POST", "/_fake/clock", {"skew_seconds": -600})
        c.call("GetRandomPassword", {}, when=now - datetime.timedelta(minutes=10))
        expect_error(lambda: c.call("GetRandomPassword", {}), "InvalidSignatureException")


def test_fake_sm_live_session_token_must_be_sent_signed_and_equal():
    tok = "FwoGZXIvYXdzEFAKE" + "x" * 40
    with start(session_token=tok) as fake:
        good = client(fake, session_token=tok)
        good.get_random_password()
        calls = []
        expect_error(lambda: client(fake).get_random_password(), "UnrecognizedClientException")
        expect_error(lambda: client(fake, session_token=tok + "y").get_random_password(), "UnrecognizedClientException")

        def add_unsigned(headers, body):
            return headers + [("X-Amz-Security-Token", tok)], body

        expect_error(lambda: client(fake).call("GetRandomPassword", {}, mutate=add_unsigned),
                     "IncompleteSignatureException")
        calls = fake.control("GET", "/_fake/calls")
        assert_eq(len(calls), 4, "calls")
    with start() as fake:  # a token sent for long-term keys is not accepted either
        expect_error(lambda: client(fake, session_token=tok).get_random_password(), "UnrecognizedClientException")


def test_fake_sm_wire_format_keepalive_and_request_ids():
    with start() as fake:
        before = fake.control("GET", "/_fake/stats")
        c = client(fake)
        c.create_secret("wire", SecretString="v")
        ids = set()
        for _ in range(5):
            resp = c.request("DescribeSecret", {"SecretId": "wire"})
            assert_eq(resp.status, 200, "status")
            assert_eq(resp.headers["content-type"], "application/x-amz-json-1.1", "content type")
            ids.add(resp.headers["x-amzn-requestid"])
            assert_eq(resp.headers["content-length"], str(len(resp.raw)), "content length")
            assert isinstance(resp.json["CreatedDate"], float), "timestamps are epoch numbers"
        assert_eq(len(ids), 5, "distinct request ids")
        after = fake.control("GET", "/_fake/stats")
        # One kept-alive connection for all six API calls, plus this stats request's own.
        assert_eq(after["connections"] - before["connections"], 2, "connections")
        assert_eq(after["requests"] - before["requests"], 7, "requests")
        resp = c.request("DescribeSecret", {"SecretId": "wire"}, target="secretsmanager.NoSuchThing")
        assert_eq((resp.status, resp.json["__type"]), (400, "UnknownOperationException"), "unknown op")
        resp = c.request("DescribeSecret", {"SecretId": "wire"}, content_type="application/x-www-form-urlencoded")
        assert_eq(resp.status, 400, "form content type is refused")
        resp = c.request("DescribeSecret", raw_body=b"{not json")
        assert_eq(resp.json["__type"], "SerializationException", "bad JSON")


# ---------------------------------------------------------------------------------------------
# Operation semantics


def test_fake_sm_create_describe_get_shapes():
    with start() as fake:
        c = client(fake)
        tok = token()
        out = c.create_secret("app/db", SecretString='{"password":"p1"}', ClientRequestToken=tok,
                              Tags=[{"Key": "team", "Value": "db"}])
        m = ARN_RE.match(out["ARN"])
        assert m and m.group(1) == "app/db", out["ARN"]
        assert_eq(out["VersionId"], tok, "version id is the token")
        d = c.describe_secret("app/db")
        no_nulls(d)
        assert_eq(d["VersionIdsToStages"], {tok: ["AWSCURRENT"]}, "stages")
        for absent in ("RotationEnabled", "RotationLambdaARN", "RotationRules", "LastRotatedDate", "DeletedDate",
                       "KmsKeyId", "LastAccessedDate", "NextRotationDate"):
            assert_not_in(absent, d, "never-rotated DescribeSecret")
        assert_eq(d["Tags"], [{"Key": "team", "Value": "db"}], "tags")
        for sid in ("app/db", out["ARN"], out["ARN"][:-7]):  # name, full ARN, partial ARN
            g = c.get_secret_value(sid)
            assert_eq((g["VersionId"], g["SecretString"], g["VersionStages"]), (tok, '{"password":"p1"}', ["AWSCURRENT"]), sid)
        assert_in("LastAccessedDate", c.describe_secret("app/db"), "accessed after a read")
        assert_eq(c.describe_secret("app/db")["LastAccessedDate"] % 86400, 0, "LastAccessedDate is a date")
        expect_error(lambda: c.create_secret("app/db", SecretString="x"), "ResourceExistsException", key="Message")
        binary = base64.b64encode(b"\x00\x01bin").decode()
        c.call("CreateSecret", {"Name": "bin", "SecretBinary": binary, "ClientRequestToken": token()})
        g = c.get_secret_value("bin")
        assert_eq(g["SecretBinary"], binary, "binary round trip")
        assert_not_in("SecretString", g, "binary secret")
        c.call("CreateSecret", {"Name": "empty"})
        expect_error(lambda: c.get_secret_value("empty"), "ResourceNotFoundException",
                     message="Secrets Manager can't find the specified secret value for staging label: AWSCURRENT")
        assert_not_in("VersionIdsToStages", c.describe_secret("empty"), "no versions")
        no_nulls(c.call("ListSecrets", {}))


def test_fake_sm_get_secret_value_selection_errors():
    with start() as fake:
        c = client(fake)
        v1 = c.create_secret("sel", SecretString="one")["VersionId"]
        v2 = token()
        c.put_secret_value("sel", "two", ClientRequestToken=v2, VersionStages=["CUSTOM"])
        assert_eq(c.get_secret_value("sel", VersionStage="CUSTOM")["SecretString"], "two", "by label")
        assert_eq(c.get_secret_value("sel", VersionId=v1)["SecretString"], "one", "by id")
        assert_eq(c.get_secret_value("sel", VersionId=v2, VersionStage="CUSTOM")["VersionId"], v2, "both")
        expect_error(lambda: c.get_secret_value("sel", VersionId=v1, VersionStage="CUSTOM"), "InvalidRequestException",
                     message=error_fixture("InvalidRequestException.stage-version-mismatch.json")["Message"], key="Message")
        unknown = token()
        expect_error(lambda: c.get_secret_value("sel", VersionId=unknown), "ResourceNotFoundException",
                     message="Secrets Manager can't find the specified secret value for VersionId: " + unknown)
        expect_error(lambda: c.get_secret_value("sel", VersionStage="AWSPENDING"), "ResourceNotFoundException",
                     message=error_fixture("ResourceNotFoundException.staging-label.json")["Message"])
        expect_error(lambda: c.get_secret_value("nope"), "ResourceNotFoundException",
                     message=error_fixture("ResourceNotFoundException.secret.json")["Message"], key="Message")
        e = expect_error(lambda: c.get_secret_value("sel", VersionId="short"), "ValidationException", key="message")
        assert_in("'versionId' failed to satisfy constraint: Member must have length greater than or equal to 32", e.message)


def test_fake_sm_put_secret_value_token_rules_and_idempotency():
    with start() as fake:
        c = client(fake)
        arn = c.create_secret("idem", SecretString="v1")["ARN"]
        expect_error(lambda: c.call("PutSecretValue", {"SecretId": "idem", "SecretString": "x"}),
                     "InvalidRequestException", key="Message",
                     message=error_fixture("InvalidRequestException.missing-client-request-token.json")["Message"])
        e = expect_error(lambda: c.call("PutSecretValue", {"SecretId": "idem", "SecretString": "x", "ClientRequestToken": "abc"}),
                         "ValidationException")
        assert_eq(e.body, error_fixture("ValidationException.client-request-token-too-short.json"), "short token body")
        expect_error(lambda: c.call("PutSecretValue", {"SecretId": "idem", "SecretString": "x", "ClientRequestToken": "a" * 65}),
                     "ValidationException")
        tok = token()
        first = c.put_secret_value("idem", "v2", ClientRequestToken=tok, VersionStages=["AWSPENDING"])
        assert_eq(first, {"ARN": arn, "Name": "idem", "VersionId": tok, "VersionStages": ["AWSPENDING"]}, "put response")
        before = fake.control("GET", "/_fake/state")
        again = c.put_secret_value("idem", "v2", ClientRequestToken=tok, VersionStages=["AWSPENDING"])
        assert_eq(again, first, "same token and value: same answer")
        assert_eq(fake.control("GET", "/_fake/state")["secrets"][0]["Versions"],
                  before["secrets"][0]["Versions"], "idempotent retry changes nothing")
        expect_error(lambda: c.put_secret_value("idem", "v3", ClientRequestToken=tok), "ResourceExistsException",
                     message="You can't use ClientRequestToken %s because that value is already in use for a version of secret %s."
                     % (tok, arn), key="Message")
        expect_error(lambda: c.call("PutSecretValue", {"SecretId": "idem", "ClientRequestToken": token(),
                                                        "SecretString": "a", "SecretBinary": "YQ=="}),
                     "InvalidParameterException")
        e = expect_error(lambda: c.put_secret_value("idem", "v4", RotationToken="bad token!" * 4), "ValidationException")
        assert_not_in("bad token", e.message, "sensitive RotationToken is not echoed")
        expect_error(lambda: c.put_secret_value("idem", "v4", RotationToken="short"), "ValidationException")
        put = c.put_secret_value("idem", "v4", RotationToken=token())
        assert_not_in("RotationToken", put, "RotationToken is never echoed")
        calls = fake.control("GET", "/_fake/calls")
        assert_eq(calls[-1]["rotation_token_present"], True, "call log notes the RotationToken")
        assert_not_in("v4", json.dumps(calls), "call log has no secret values")


def test_fake_sm_put_default_stages_shuffle_previous_and_deprecate():
    with start() as fake:
        c = client(fake)
        v1 = c.create_secret("shuffle", SecretString="1")["VersionId"]
        v2 = c.put_secret_value("shuffle", "2")["VersionId"]
        assert_eq(stages_of(c, "shuffle"), {v1: ["AWSPREVIOUS"], v2: ["AWSCURRENT"]}, "after put 2")
        v3 = c.put_secret_value("shuffle", "3")["VersionId"]
        assert_eq(stages_of(c, "shuffle"), {v2: ["AWSPREVIOUS"], v3: ["AWSCURRENT"]}, "v1 deprecated: hidden")
        listed = [v["VersionId"] for v in c.list_secret_version_ids("shuffle")["Versions"]]
        assert_eq(listed, [v2, v3], "default list hides deprecated")
        full = c.list_secret_version_ids("shuffle", IncludeDeprecated=True)["Versions"]
        assert_eq([v["VersionId"] for v in full], [v1, v2, v3], "IncludeDeprecated shows it")
        assert_not_in("VersionStages", full[0], "unlabeled version has no VersionStages key")
        assert_eq(full[0]["KmsKeyIds"], ["DefaultEncryptionKey"], "default key")
        assert_eq(c.get_secret_value("shuffle", VersionId=v1)["SecretString"], "1", "deprecated still readable by id")
        # A plain put while a rotation is pending takes AWSCURRENT and drops AWSPENDING.
        vp = token()
        c.put_secret_value("shuffle", "p", ClientRequestToken=vp, VersionStages=["AWSPENDING", "MINE"])
        v4 = c.put_secret_value("shuffle", "4")["VersionId"]
        assert_eq(stages_of(c, "shuffle"), {vp: ["MINE"], v3: ["AWSPREVIOUS"], v4: ["AWSCURRENT"]}, "pending abandoned")


def test_fake_sm_put_with_stages_moves_only_those_labels():
    with start() as fake:
        c = client(fake)
        v1 = c.create_secret("lbl", SecretString="1")["VersionId"]
        v2 = c.put_secret_value("lbl", "2", VersionStages=["AWSPENDING"])["VersionId"]
        v3 = c.put_secret_value("lbl", "3", VersionStages=["AWSPENDING", "X"])["VersionId"]
        assert_eq(stages_of(c, "lbl"), {v1: ["AWSCURRENT"], v3: ["AWSPENDING", "X"]}, "labels moved, current stayed")
        assert_eq(c.get_secret_value("lbl")["VersionId"], v1, "current unchanged")
        assert_not_in(v2, stages_of(c, "lbl"), "v2 lost its only label")


def test_fake_sm_update_stage_follows_aws_recorded_sequence():
    """The sequence AWS recorded (reference 2.1): PENDING puts and CURRENT moves."""
    with start() as fake:
        c = client(fake)
        v1 = c.create_secret("seq", SecretString="1")["VersionId"]
        v2 = c.put_secret_value("seq", "2", VersionStages=["AWSPENDING"])["VersionId"]
        assert_eq(c.update_secret_version_stage("seq", "AWSCURRENT", MoveToVersionId=v2, RemoveFromVersionId=v1),
                  {"ARN": c.describe_secret("seq")["ARN"], "Name": "seq"}, "response has ARN and Name only")
        assert_eq(stages_of(c, "seq"), {v1: ["AWSPREVIOUS"], v2: ["AWSPENDING", "AWSCURRENT"]}, "move 1")
        assert_eq(c.get_secret_value("seq")["VersionId"], v2, "default read follows AWSCURRENT")
        v3 = c.put_secret_value("seq", "3", VersionStages=["AWSPENDING"])["VersionId"]
        assert_eq(stages_of(c, "seq"), {v1: ["AWSPREVIOUS"], v2: ["AWSCURRENT"], v3: ["AWSPENDING"]}, "put 3")
        c.update_secret_version_stage("seq", "AWSCURRENT", MoveToVersionId=v3, RemoveFromVersionId=v2)
        assert_eq(stages_of(c, "seq"), {v2: ["AWSPREVIOUS"], v3: ["AWSPENDING", "AWSCURRENT"]}, "move 2: v1 deprecated")
        v4 = c.put_secret_value("seq", "4")["VersionId"]
        assert_eq(stages_of(c, "seq"), {v3: ["AWSPREVIOUS"], v4: ["AWSCURRENT"]}, "plain put after finish")


def test_fake_sm_update_stage_requires_remove_from_the_holder():
    with start() as fake:
        c = client(fake)
        v1 = c.create_secret("upd", SecretString="1")["VersionId"]
        v2 = c.put_secret_value("upd", "2", VersionStages=["AWSPENDING"])["VersionId"]
        e = expect_error(lambda: c.update_secret_version_stage("upd", "AWSCURRENT", MoveToVersionId=v2),
                         "InvalidParameterException", key="Message")
        assert_eq(e.message, "The parameter RemoveFromVersionId can't be empty. Staging label AWSCURRENT is currently "
                  "attached to version %s, so you must explicitly reference that version in RemoveFromVersionId." % v1)
        expect_error(lambda: c.update_secret_version_stage("upd", "AWSCURRENT", MoveToVersionId=v2, RemoveFromVersionId=v2),
                     "InvalidParameterException")
        c.update_secret_version_stage("upd", "CUSTOM", MoveToVersionId=v1)
        expect_error(lambda: c.update_secret_version_stage("upd", "CUSTOM", MoveToVersionId=v2), "InvalidParameterException")
        c.update_secret_version_stage("upd", "CUSTOM", MoveToVersionId=v2, RemoveFromVersionId=v1)
        assert_eq(stages_of(c, "upd"), {v1: ["AWSCURRENT"], v2: ["AWSPENDING", "CUSTOM"]}, "custom moved")
        c.update_secret_version_stage("upd", "AWSPENDING", RemoveFromVersionId=v2)
        assert_eq(stages_of(c, "upd"), {v1: ["AWSCURRENT"], v2: ["CUSTOM"]}, "pending removed")
        expect_error(lambda: c.update_secret_version_stage("upd", "AWSCURRENT", RemoveFromVersionId=v1),
                     "InvalidParameterException")
        expect_error(lambda: c.update_secret_version_stage("upd", "AWSCURRENT", MoveToVersionId=token(),
                                                           RemoveFromVersionId=v1), "InvalidParameterException")
        # Moving AWSCURRENT back to the AWSPREVIOUS holder swaps the two labels.
        c.update_secret_version_stage("upd", "AWSCURRENT", MoveToVersionId=v2, RemoveFromVersionId=v1)
        c.update_secret_version_stage("upd", "AWSCURRENT", MoveToVersionId=v1, RemoveFromVersionId=v2)
        assert_eq(stages_of(c, "upd"), {v1: ["AWSCURRENT"], v2: ["CUSTOM", "AWSPREVIOUS"]}, "rollback")


def test_fake_sm_list_secret_version_ids_pages():
    with start() as fake:
        c = client(fake)
        ids = [c.create_secret("pages", SecretString="0")["VersionId"]]
        for i in range(4):
            ids.append(c.put_secret_value("pages", str(i + 1), VersionStages=["L%d" % i])["VersionId"])
        seen, pages, nt = [], 0, None
        while True:
            body = {"SecretId": "pages", "MaxResults": 2}
            if nt:
                body["NextToken"] = nt
            page = c.call("ListSecretVersionIds", body)
            pages += 1
            assert len(page["Versions"]) <= 2, page
            seen += [v["VersionId"] for v in page["Versions"]]
            nt = page.get("NextToken")
            if not nt:
                break
        assert_eq((seen, pages), (ids, 3), "three real pages")
        expect_error(lambda: c.call("ListSecretVersionIds", {"SecretId": "pages", "NextToken": "bogus"}),
                     "InvalidNextTokenException")
        expect_error(lambda: c.call("ListSecretVersionIds", {"SecretId": "pages", "MaxResults": 0}), "ValidationException")
        expect_error(lambda: c.call("ListSecretVersionIds", {"SecretId": "nope"}), "ResourceNotFoundException")
        page = c.call("ListSecretVersionIds", {"SecretId": "pages"})
        assert_eq((page["ARN"], page["Name"]), (c.describe_secret("pages")["ARN"], "pages"), "ARN is the ARN")
        assert_not_in("NextToken", page, "single page")


def test_fake_sm_get_random_password_honours_policy():
    with start() as fake:
        c = client(fake)
        pw = c.get_random_password()["RandomPassword"]
        assert_eq(len(pw), 32, "default length")
        for chars in (string.ascii_lowercase, string.ascii_uppercase, string.digits, string.punctuation):
            assert any(ch in chars for ch in pw), "default requires each type"
        assert_not_in(" ", pw, "no space by default")
        excl = "/@\"'\\"
        for _ in range(20):
            pw = c.get_random_password(PasswordLength=64, ExcludeCharacters=excl)["RandomPassword"]
            assert not set(pw) & set(excl), "excluded characters"
        pw = c.get_random_password(PasswordLength=200, ExcludePunctuation=True, ExcludeUppercase=True,
                                   ExcludeNumbers=True)["RandomPassword"]
        assert set(pw) <= set(string.ascii_lowercase), "only lowercase left"
        pw = c.get_random_password(PasswordLength=300, IncludeSpace=True, ExcludeLowercase=True)["RandomPassword"]
        assert " " in pw and not set(pw) & set(string.ascii_lowercase), "space included, lowercase excluded"
        for _ in range(20):
            pw = c.get_random_password(PasswordLength=4)["RandomPassword"]
            assert all(any(ch in t for ch in pw) for t in (string.ascii_lowercase, string.ascii_uppercase, string.digits,
                                                           string.punctuation)), "each type at length 4"
        expect_error(lambda: c.get_random_password(PasswordLength=3), "InvalidParameterException", key="Message",
                     message=error_fixture("InvalidParameterException.password-too-short.json")["Message"])
        assert_eq(len(c.get_random_password(PasswordLength=3, RequireEachIncludedType=False)["RandomPassword"]), 3, "no requirement")
        expect_error(lambda: c.get_random_password(PasswordLength=4097), "ValidationException")
        expect_error(lambda: c.get_random_password(PasswordLength=0), "ValidationException")
        expect_error(lambda: c.call("GetRandomPassword", {"PasswordLength": "32"}), "SerializationException")


# ---------------------------------------------------------------------------------------------
# RotateSecret


def test_fake_sm_rotate_secret_validation_and_stub():
    with start() as fake:
        c = client(fake)
        cur = c.create_secret("rot", SecretString="cur")["VersionId"]
        e = expect_error(lambda: c.call("RotateSecret", {"SecretId": "rot", "RotationLambdaARN": FX_LAMBDA}),
                         "InvalidParameterException", key="Message")
        assert_eq(e.body, error_fixture("InvalidParameterException.missing-client-request-token.json"), "no token body")
        e = expect_error(lambda: c.rotate_secret("rot"), "InvalidRequestException")
        assert_eq(e.body, error_fixture("InvalidRequestException.no-rotation-lambda.json"), "no lambda body")
        expect_error(lambda: c.rotate_secret("rot", RotationLambdaARN=FX_LAMBDA, RotationRules={"AutomaticallyAfterDays": 0}),
                     "ValidationException")
        assert_not_in("RotationEnabled", c.describe_secret("rot"), "failed calls configure nothing")
        tok = token()
        out = c.rotate_secret("rot", ClientRequestToken=tok, RotationLambdaARN=FX_LAMBDA,
                              RotationRules={"AutomaticallyAfterDays": 30})
        assert_eq(out, {"ARN": c.describe_secret("rot")["ARN"], "Name": "rot", "VersionId": tok}, "rotate response")
        d = c.describe_secret("rot")
        assert_eq((d["RotationEnabled"], d["RotationLambdaARN"], d["RotationRules"]),
                  (True, FX_LAMBDA, {"AutomaticallyAfterDays": 30}), "rotation config")
        assert_eq(d["VersionIdsToStages"], {cur: ["AWSCURRENT"], tok: ["AWSPENDING"]}, "pending stub")
        assert_eq(d["NextRotationDate"] % 86400, 86399, "NextRotationDate is the end of a UTC day")
        for kw in ({"VersionId": tok}, {"VersionId": tok, "VersionStage": "AWSPENDING"}, {"VersionStage": "AWSPENDING"}):
            expect_error(lambda: c.get_secret_value("rot", **kw), "ResourceNotFoundException")
        expect_error(lambda: c.get_secret_value("rot", VersionId=tok), "ResourceNotFoundException",
                     message="Secrets Manager can't find the specified secret value for VersionId: " + tok)
        # Another rotation while AWSPENDING sits on a version other than AWSCURRENT is refused.
        expect_error(lambda: c.rotate_secret("rot"), "InvalidRequestException", key="Message",
                     message="A previous rotation isn't complete. That rotation will be reattempted.")
        # ... but the same token again is the same request.
        assert_eq(c.rotate_secret("rot", ClientRequestToken=tok)["VersionId"], tok, "idempotent retry")
        # The stored Lambda ARN is reused; AWSPENDING on the AWSCURRENT version does not block.
        c.put_secret_value("rot", "new", ClientRequestToken=tok, VersionStages=["AWSPENDING"])
        c.update_secret_version_stage("rot", "AWSCURRENT", MoveToVersionId=tok, RemoveFromVersionId=cur)
        assert_eq(stages_of(c, "rot"), {cur: ["AWSPREVIOUS"], tok: ["AWSPENDING", "AWSCURRENT"]}, "finished")
        assert_in("LastRotatedDate", c.describe_secret("rot"), "rotation completed")
        tok2 = token()
        c.rotate_secret("rot", ClientRequestToken=tok2)
        assert_eq(stages_of(c, "rot"), {cur: ["AWSPREVIOUS"], tok: ["AWSCURRENT"], tok2: ["AWSPENDING"]}, "second rotation")
        assert_eq([r["status"] for r in fake.control("GET", "/_fake/rotations?secret_id=rot")], ["succeeded", "external"],
                  "externally driven rotations")
        c.call("CancelRotateSecret", {"SecretId": "rot"})
        d = c.describe_secret("rot")
        assert_eq(d["RotationEnabled"], False, "cancel turns rotation off")
        assert_eq(d["VersionIdsToStages"][tok2], ["AWSPENDING"], "cancel leaves the pending label")


def test_fake_sm_deleted_secret_refuses_operations():
    with start() as fake:
        c = client(fake)
        c.create_secret("gone", SecretString="v")
        out = c.call("DeleteSecret", {"SecretId": "gone", "RecoveryWindowInDays": 7})
        assert_in("DeletionDate", out, "delete response")
        msg = error_fixture("InvalidRequestException.marked-for-deletion.json")["Message"]
        expect_error(lambda: c.get_secret_value("gone"), "InvalidRequestException", message=msg)
        expect_error(lambda: c.put_secret_value("gone", "x"), "InvalidRequestException", message=msg)
        expect_error(lambda: c.rotate_secret("gone", RotationLambdaARN=FX_LAMBDA), "InvalidRequestException", message=msg)
        assert_in("DeletedDate", c.describe_secret("gone"), "describe still works")
        c.call("RestoreSecret", {"SecretId": "gone"})
        c.get_secret_value("gone")
        c.call("DeleteSecret", {"SecretId": "gone", "ForceDeleteWithoutRecovery": True})
        expect_error(lambda: c.describe_secret("gone"), "ResourceNotFoundException")


def test_fake_sm_rotation_driver_runs_four_steps_in_order():
    fake = None
    stub = None
    try:
        # The stub needs the emulator's endpoint and the emulator the stub's URL: start the stub
        # on a placeholder endpoint, then point it at the real emulator.
        stub = StubLambda("http://127.0.0.1:1")
        fake = start(lambda_invoke_url=stub.url)
        stub.sm = client(fake)
        c = client(fake)
        cur = c.create_secret("drv", SecretString="old")["VersionId"]
        tok = token()
        # The stub answers no step until released: RotateSecret must return all the same.
        stub.gate.clear()
        out = c.rotate_secret("drv", ClientRequestToken=tok, RotationLambdaARN=FX_LAMBDA)
        with stub.lock:
            released = stub.released
        stub.gate.set()
        assert_eq(released, 0, "steps run before RotateSecret returned")
        assert_eq(out["VersionId"], tok, "version id")
        recs = wait_rotations(fake)
        assert_eq(len(recs), 1, "one rotation")
        rec = recs[0]
        assert_eq(rec["status"], "succeeded", "status (error: %s)" % rec.get("error"))
        assert_eq([e["Step"] for e in stub.events], ["createSecret", "setSecret", "testSecret", "finishSecret"], "steps")
        arn = c.describe_secret("drv")["ARN"]
        assert_eq({e["SecretId"] for e in stub.events}, {arn}, "SecretId is the ARN")
        assert_eq({e["ClientRequestToken"] for e in stub.events}, {tok}, "token")
        rts = {e["RotationToken"] for e in stub.events}
        assert_eq(len(rts), 1, "one RotationToken per rotation")
        rt = rts.pop()
        assert 36 <= len(rt) <= 256 and re.fullmatch(r"[a-zA-Z0-9\-]+", rt), "RotationToken shape"
        assert_eq(rec["rotation_token_forwarded"], True, "PutSecretValue carried the RotationToken")
        assert_eq([p["rotation_token"] for p in rec["puts"]], ["matched"], "puts")
        assert_not_in(rt, json.dumps(recs), "the RotationToken is not exposed in the records")
        assert_eq([s["step"] for s in rec["steps"]], ["createSecret", "setSecret", "testSecret", "finishSecret"], "record")
        d = c.describe_secret("drv")
        assert_eq(d["VersionIdsToStages"], {cur: ["AWSPREVIOUS"], tok: ["AWSPENDING", "AWSCURRENT"]}, "end state")
        assert_in("LastRotatedDate", d, "LastRotatedDate set")
        # The same emulator's event endpoint gives the same event a harness would send.
        ev = fake.control("GET", "/_fake/rotation-event?secret_id=drv&step=setSecret")
        assert_eq((ev["Step"], ev["SecretId"], ev["ClientRequestToken"], ev["RotationToken"]), ("setSecret", arn, tok, rt), "event")
    finally:
        if fake:
            fake.stop()
        if stub:
            stub.close()


def test_fake_sm_rotation_driver_retries_whole_rotation_after_failed_step():
    stub = StubLambda("http://127.0.0.1:1", fail={"setSecret": 1})
    try:
        with start(lambda_invoke_url=stub.url, rotation_retries=2) as fake:
            stub.sm = client(fake)
            c = client(fake)
            c.create_secret("retry", SecretString="old")
            tok = token()
            c.rotate_secret("retry", ClientRequestToken=tok, RotationLambdaARN=FX_LAMBDA)
            rec = wait_rotations(fake)[0]
            assert_eq(rec["status"], "succeeded", "status")
            assert_eq(rec["attempts"], 2, "attempts")
            assert_eq([e["Step"] for e in stub.events],
                      ["createSecret", "setSecret", "createSecret", "setSecret", "testSecret", "finishSecret"], "steps")
            assert_eq({e["ClientRequestToken"] for e in stub.events}, {tok}, "same token on the retry")
            failed = [s for s in rec["steps"] if not s["ok"]]
            assert_eq(len(failed), 1, "one failed step")
            assert_eq((failed[0]["step"], failed[0]["smr_error"], failed[0]["error_type"], failed[0]["error_message"]),
                      ("setSecret", "Unhandled", "StubError", "injected setSecret failure"), "failure record")
            # createSecret ran twice; the second found the pending value and did not put again.
            assert_eq(len(rec["puts"]), 1, "one PutSecretValue")
            assert_eq(c.get_secret_value("retry")["VersionId"], tok, "rotated")
    finally:
        stub.close()


def test_fake_sm_rotation_driver_gives_up_and_leaves_pending():
    stub = StubLambda("http://127.0.0.1:1", fail={"testSecret": 5}, forward_rotation_token=False)
    try:
        with start(lambda_invoke_url=stub.url) as fake:  # --rotation-retries defaults to 0
            stub.sm = client(fake)
            c = client(fake)
            cur = c.create_secret("fail", SecretString="old")["VersionId"]
            tok = token()
            c.rotate_secret("fail", ClientRequestToken=tok, RotationLambdaARN=FX_LAMBDA)
            rec = wait_rotations(fake)[0]
            assert_eq(rec["status"], "failed", "status")
            assert_in("testSecret failed", rec["error"], "error")
            assert_eq([e["Step"] for e in stub.events], ["createSecret", "setSecret", "testSecret"], "no retry")
            assert_eq(rec["rotation_token_forwarded"], False, "PutSecretValue lacked the RotationToken")
            assert_eq([p["rotation_token"] for p in rec["puts"]], ["absent"], "put verdict")
            assert_eq(stages_of(c, "fail"), {cur: ["AWSCURRENT"], tok: ["AWSPENDING"]}, "pending left behind")
            expect_error(lambda: c.rotate_secret("fail"), "InvalidRequestException",
                         message="A previous rotation isn't complete. That rotation will be reattempted.")
    finally:
        stub.close()


def test_fake_sm_rotation_driver_counts_finish_without_label_move_as_failure():
    stub = StubLambda("http://127.0.0.1:1", finish=False)
    try:
        with start(lambda_invoke_url=stub.url, rotation_retries=1) as fake:
            stub.sm = client(fake)
            c = client(fake)
            c.create_secret("nofinish", SecretString="old")
            c.rotate_secret("nofinish", RotationLambdaARN=FX_LAMBDA)
            rec = wait_rotations(fake)[0]
            assert_eq((rec["status"], rec["attempts"]), ("failed", 2), "retried, then failed")
            assert_in("AWSCURRENT is not on version", rec["error"], "reason")
            assert_eq(len(stub.events), 8, "two full passes")
    finally:
        stub.close()


def test_fake_sm_rotate_immediately_false_runs_only_test_secret():
    stub = StubLambda("http://127.0.0.1:1")
    try:
        with start(lambda_invoke_url=stub.url) as fake:
            stub.sm = client(fake)
            c = client(fake)
            cur = c.create_secret("later", SecretString="value-now")["VersionId"]
            tok = token()
            pending_seen = {}
            orig = stub.step

            spy_client = client(fake)  # http.client connections are not shared across threads

            def spy(event):
                pending_seen.update(spy_client.get_secret_value(event["SecretId"], VersionId=tok,
                                                                VersionStage="AWSPENDING"))
                orig(event)

            stub.step = spy
            c.rotate_secret("later", ClientRequestToken=tok, RotationLambdaARN=FX_LAMBDA, RotateImmediately=False)
            rec = wait_rotations(fake)[0]
            assert_eq(rec["status"], "succeeded", "status (%s)" % rec.get("error"))
            assert_eq([e["Step"] for e in stub.events], ["testSecret"], "only testSecret")
            assert_eq(pending_seen.get("SecretString"), "value-now", "pending version holds a copy of the current value")
            assert_eq(stages_of(c, "later"), {cur: ["AWSCURRENT"]}, "pending label removed afterwards")
            assert_eq(c.describe_secret("later")["RotationEnabled"], True, "rotation configured")
            assert_not_in("LastRotatedDate", c.describe_secret("later"), "nothing rotated")
            c.rotate_secret("later")  # not blocked by the test version
    finally:
        stub.close()


def test_fake_sm_rotation_driver_reports_unreachable_lambda():
    # Bound and not listening for the whole test: connections are refused, and no other process
    # can take the port meanwhile.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
        with start(lambda_invoke_url="http://127.0.0.1:%d/x" % dead, lambda_timeout=2) as fake:
            c = client(fake)
            c.create_secret("dead", SecretString="v")
            c.rotate_secret("dead", RotationLambdaARN=FX_LAMBDA)
            rec = wait_rotations(fake)[0]
            assert_eq(rec["status"], "failed", "status")
            assert_eq(rec["steps"][0]["error_type"], "InvokeError", "error type")


def test_fake_sm_replays_happy_path_scenario():
    """tests/data/secretsmanager/scenarios/rotation-happy-path.json against the seeded fixture secret."""
    scenario = data_json("scenarios", "rotation-happy-path.json")
    with start() as fake:
        seed_fixture_world(fake)
        c = client(fake)
        for inv in scenario["invocations"]:
            for call in inv["calls"]:
                op = call["target"].split(".", 1)[1]
                with open(os.path.join(DATA, "secretsmanager", call["request"]), "rb") as f:
                    raw = f.read()
                resp = c.request(op, raw_body=raw)
                where = "%s %s" % (inv["event"], call["request"])
                expected = data_json(call["response"])
                assert_eq(resp.status, call["status"], where + " status")
                no_nulls(resp.json, where)
                if call["status"] != 200:
                    assert_eq(resp.json, expected, where + " error body")
                    continue
                got = {k: v for k, v in resp.json.items() if not k.endswith("Date")}
                want = {k: v for k, v in expected.items() if not k.endswith("Date")}
                if op == "GetRandomPassword":
                    assert_eq(len(got["RandomPassword"]), 32, "password length")
                    assert not set(got["RandomPassword"]) & set("/@\"'\\"), "ExcludeCharacters"
                    continue
                if op == "DescribeSecret":
                    for k in ("VersionIdsToStages",):
                        got[k] = {v: sorted(s) for v, s in got[k].items()}
                        want[k] = {v: sorted(s) for v, s in want[k].items()}
                assert_eq(got, want, where + " body")
        calls = fake.control("GET", "/_fake/calls")
        assert_eq(sum(1 for x in calls if x["rotation_token_present"]), 1, "one call carried a RotationToken")


def test_fake_sm_error_texts_match_fixtures():
    with start() as fake:
        seed_fixture_world(fake, pending_value=True)
        c = client(fake)
        e = expect_error(lambda: c.put_secret_value(FX_ARN, "different", ClientRequestToken=FX_PEND), "ResourceExistsException")
        assert_eq(e.body, error_fixture("ResourceExistsException.client-request-token-in-use.json"), "token in use")
        e = expect_error(lambda: c.update_secret_version_stage(FX_ARN, "AWSCURRENT", MoveToVersionId=FX_PEND),
                         "InvalidParameterException")
        assert_eq(e.body, error_fixture("InvalidParameterException.remove-from-version-id-required.json"), "remove-from")
        seed_fixture_world(fake)
        e = expect_error(lambda: c.get_secret_value(FX_ARN, VersionId=FX_PEND, VersionStage="AWSPENDING"),
                         "ResourceNotFoundException")
        assert_eq(e.body, error_fixture("ResourceNotFoundException.version-id.json"), "stub by id")
        e = expect_error(lambda: c.get_secret_value(FX_ARN, VersionStage="AWSPENDING"), "ResourceNotFoundException")
        assert_eq(e.body, error_fixture("ResourceNotFoundException.staging-label.json"), "stub by label")
        e = expect_error(lambda: c.rotate_secret(FX_ARN), "InvalidRequestException", key="Message")
        # The fixture's text for this code is moto's; the brief pins the text AWS users report.
        assert_eq(e.code, error_fixture("InvalidRequestException.rotation-in-progress.json")["__type"], "code")


# ---------------------------------------------------------------------------------------------
# Fault injection and the control API


def test_fake_aws_faults_count_down_and_have_aws_shapes():
    with start() as fake:
        c = client(fake, retry_stale=False)
        c.create_secret("flt", SecretString="v")
        fake.control("POST", "/_fake/faults", {"operation": "GetSecretValue", "error": "ThrottlingException", "count": 2})
        for _ in range(2):
            e = expect_error(lambda: c.get_secret_value("flt"), "ThrottlingException", key="message")
            assert_eq(e.body, error_fixture("ThrottlingException.json"), "throttling body")
        c.describe_secret("flt")  # other operations are untouched
        c.get_secret_value("flt")  # the count ran out
        assert_eq(fake.control("GET", "/_fake/faults"), [], "no fault left")
        fake.control("POST", "/_fake/faults", [{"operation": "*", "error": "InternalServiceError"},
                                               {"operation": "*", "error": "ServiceUnavailable"}])
        e = expect_error(lambda: c.describe_secret("flt"), "InternalServiceError", status=500, key="Message")
        assert_eq(e.body, error_fixture("InternalServiceError.json"), "500 body")
        expect_error(lambda: c.describe_secret("flt"), "ServiceUnavailable", status=503, key="message")
        fake.control("POST", "/_fake/faults", {"operation": "DescribeSecret", "error": "AccessDeniedException",
                                               "message": "nope", "status": 400, "skip": 1})
        c.describe_secret("flt")  # skip lets the first one through
        expect_error(lambda: c.describe_secret("flt"), "AccessDeniedException", message="nope", key="Message")
        fake.control("POST", "/_fake/faults", {"operation": "GetSecretValue", "error": "delay", "delay_ms": 300})
        t0 = time.monotonic()
        c.get_secret_value("flt")
        assert time.monotonic() - t0 >= 0.3, "delay"
        before = fake.control("GET", "/_fake/stats")["connections"]
        fake.control("POST", "/_fake/faults", {"operation": "GetSecretValue", "error": "reset"})
        try:
            c.get_secret_value("flt")
            raise AssertionError("reset fault answered")
        except (ConnectionError, http.client.HTTPException):
            c.close()
        fake.control("POST", "/_fake/faults", {"operation": "GetSecretValue", "error": "close"})
        try:
            c.get_secret_value("flt")
            raise AssertionError("close fault answered")
        except (ConnectionError, http.client.HTTPException):
            c.close()
        c.get_secret_value("flt")
        after = fake.control("GET", "/_fake/stats")["connections"]
        # two control connections (the faults), two new client connections after the drops, and
        # the second stats request: the client reused its connection everywhere else.
        assert_eq(after - before, 5, "dropped connections forced new ones")
        calls = fake.control("GET", "/_fake/calls")
        assert_eq([x["error"] for x in calls if x["operation"] == "GetSecretValue"],
                  ["ThrottlingException", "ThrottlingException", None, None, "connection-reset", "connection-close", None],
                  "call log")
        for x in calls:
            assert set(x) >= {"operation", "secret_id", "status", "error", "rotation_token_present"}, x
        fake.control("POST", "/_fake/faults", {"operation": "*", "error": "ThrottlingException", "count": -1})
        for _ in range(3):
            expect_error(lambda: c.describe_secret("flt"), "ThrottlingException")
        fake.control("POST", "/_fake/reset")
        assert_eq(fake.control("GET", "/_fake/calls"), [], "calls cleared")
        c.describe_secret("flt")  # faults cleared, state kept
        fake.control("POST", "/_fake/reset", {"state": True})
        expect_error(lambda: c.describe_secret("flt"), "ResourceNotFoundException")


def test_fake_aws_control_state_shows_versions_and_values():
    with start() as fake:
        c = client(fake)
        v1 = c.create_secret("st", SecretString="s1")["VersionId"]
        tok = token()
        c.rotate_secret("st", ClientRequestToken=tok, RotationLambdaARN=FX_LAMBDA)
        st = fake.control("GET", "/_fake/state")["secrets"][0]
        assert_eq(st["Name"], "st", "name")
        vs = {v["VersionId"]: v for v in st["Versions"]}
        assert_eq((vs[v1]["SecretString"], vs[v1]["VersionStages"], vs[v1]["HasValue"]), ("s1", ["AWSCURRENT"], True), "v1")
        assert_eq((vs[tok]["VersionStages"], vs[tok]["HasValue"]), (["AWSPENDING"], False), "stub")
        assert_not_in("SecretString", vs[tok], "stub has no value")
        ev = fake.control("GET", "/_fake/rotation-event?secret_id=st&step=createSecret")
        c.put_secret_value("st", "s2", ClientRequestToken=tok, VersionStages=["AWSPENDING"], RotationToken=ev["RotationToken"])
        rec = fake.control("GET", "/_fake/rotations")[0]
        assert_eq((rec["status"], rec["rotation_token_forwarded"]), ("external", True), "external rotation, token matched")


def test_fake_sm_external_rotation_records_follow_the_labels():
    """Without --lambda-invoke-url the records end when the harness's function run moves labels."""
    with start() as fake:
        c = client(fake)
        cur = c.create_secret("ext", SecretString="s1")["VersionId"]
        t1 = token()
        c.rotate_secret("ext", ClientRequestToken=t1, RotationLambdaARN=FX_LAMBDA, RotateImmediately=False)
        assert_eq(c.get_secret_value("ext", VersionId=t1, VersionStage="AWSPENDING")["SecretString"], "s1",
                  "RotateImmediately=false pending copy")
        c.update_secret_version_stage("ext", "AWSPENDING", RemoveFromVersionId=t1)
        t2 = token()
        c.rotate_secret("ext", ClientRequestToken=t2)
        c.put_secret_value("ext", "manual")  # a new current value abandons the rotation
        assert_eq([r["status"] for r in fake.control("GET", "/_fake/rotations")], ["ended", "abandoned"], "statuses")
        assert_not_in("LastRotatedDate", c.describe_secret("ext"), "nothing rotated")
        assert_eq(stages_of(c, "ext")[cur], ["AWSPREVIOUS"], "manual put moved AWSCURRENT")


def test_fake_sm_state_file_survives_restart():
    d = tempfile.mkdtemp(prefix="fake-sm-test-")
    try:
        path = os.path.join(d, "state.json")
        with start(state_file=path) as fake:
            c = client(fake)
            arn = c.create_secret("keep", SecretString="s1")["ARN"]
            tok = token()
            c.rotate_secret("keep", ClientRequestToken=tok, RotationLambdaARN=FX_LAMBDA)
        assert_eq(os.stat(path).st_mode & 0o777, 0o600, "state file mode")
        with start(state_file=path) as fake:
            c = client(fake)
            d1 = c.describe_secret("keep")
            assert_eq(d1["ARN"], arn, "ARN kept")
            assert_eq(d1["VersionIdsToStages"][tok], ["AWSPENDING"], "pending kept")
            assert_eq(c.get_secret_value(arn)["SecretString"], "s1", "value kept")
            expect_error(lambda: c.rotate_secret("keep"), "InvalidRequestException")
    finally:
        shutil.rmtree(d)


def test_fake_sm_tls_serves_with_a_test_ca():
    d = tempfile.mkdtemp(prefix="fake-sm-tls-")
    try:
        cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
        with start(tls_cert=cert, tls_key=key) as fake:
            assert fake.endpoint.startswith("https://"), fake.endpoint
            c = client(fake, ca_file=cert)
            c.create_secret("tls", SecretString="v")
            assert_eq(c.get_secret_value("tls")["SecretString"], "v", "over TLS")
            untrusted = client(fake)
            try:
                untrusted.describe_secret("tls")
                raise AssertionError("a client without the test CA connected")
            except ssl_error():
                pass
            c.describe_secret("tls")  # the failed handshake did not hurt the server
    finally:
        shutil.rmtree(d)


def ssl_error():
    import ssl
    return ssl.SSLError


def test_fake_sm_cli_prints_json_and_exits_254_on_aws_error():
    with start() as fake:
        cli = [sys.executable, os.path.join(HERE, "sm_client.py"), "--endpoint", fake.endpoint]
        env = dict(os.environ, AWS_ACCESS_KEY_ID=AK, AWS_SECRET_ACCESS_KEY=SK, AWS_REGION="us-east-1")
        env.pop("AWS_SESSION_TOKEN", None)

        def run(*args):
            return subprocess.run(cli + list(args), env=env, capture_output=True, text=True, timeout=30)

        r = run("create-secret", "--name", "cli", "--secret-string", "s1")
        assert_eq(r.returncode, 0, "create: " + r.stderr)
        arn = json.loads(r.stdout)["ARN"]
        r = run("put-secret-value", "--secret-id", arn, "--secret-string", "s2", "--version-stages", "AWSPENDING")
        pending = json.loads(r.stdout)["VersionId"]
        r = run("get-secret-value", "--secret-id", "cli", "--version-stage", "AWSPENDING")
        assert_eq(json.loads(r.stdout)["SecretString"], "s2", "get")
        r = run("update-secret-version-stage", "--secret-id", "cli", "--version-stage", "AWSCURRENT",
                "--move-to-version-id", pending)
        assert_eq(r.returncode, 254, "AWS error exit code")
        assert_in("An error occurred (InvalidParameterException) when calling the UpdateSecretVersionStage operation: "
                  "The parameter RemoveFromVersionId can't be empty.", r.stderr, "stderr")
        r = run("rotate-secret", "--secret-id", "cli", "--rotation-lambda-arn", FX_LAMBDA, "--no-rotate-immediately")
        assert_eq(r.returncode, 254, "pending version blocks rotation")
        r = run("list-secret-version-ids", "--secret-id", "cli", "--max-results", "1", "--all-pages")
        assert_eq(len(json.loads(r.stdout)["Versions"]), 2, "all pages")
        r = run("describe-secret", "--secret-id", "cli")
        assert_eq(json.loads(r.stdout)["Name"], "cli", "describe")
        r = run("call", "GetRandomPassword", '{"PasswordLength": 12}')
        assert_eq(len(json.loads(r.stdout)["RandomPassword"]), 12, "generic call")
        r = subprocess.run(cli + ["--secret-key", "wrong", "describe-secret", "--secret-id", "cli"], env=env,
                           capture_output=True, text=True, timeout=30)
        assert_eq(r.returncode, 254, "bad key")
        assert_in("(InvalidSignatureException)", r.stderr, "bad key stderr")
        assert_not_in("wrong", r.stderr, "the key is not printed")


def test_fake_sm_port_file_contract_and_sigterm():
    d = tempfile.mkdtemp(prefix="fake-sm-pf-")
    try:
        pf = os.path.join(d, "port")
        proc = subprocess.Popen([sys.executable, os.path.join(HERE, "fake_secretsmanager.py"), "--port", "0",
                                 "--port-file", pf, "--access-key", AK, "--secret-key", SK, "--region", "eu-west-1",
                                 "--account", "210987654321"])
        try:
            deadline = time.monotonic() + 10
            while not os.path.exists(pf) and time.monotonic() < deadline:
                time.sleep(0.02)
            port = int(open(pf).read())
            c = Client("http://127.0.0.1:%d" % port, region="eu-west-1", access_key=AK, secret_key=SK, session_token="")
            arn = c.create_secret("x", SecretString="v")["ARN"]
            assert arn.startswith("arn:aws:secretsmanager:eu-west-1:210987654321:secret:x-"), arn
            c.close()
        finally:
            proc.terminate()
            assert_eq(proc.wait(10), 0, "clean exit on SIGTERM")
    finally:
        shutil.rmtree(d)


smtest.run(globals())
