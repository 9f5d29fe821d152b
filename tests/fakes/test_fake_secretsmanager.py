"""Tests of the fakes' shared machinery (aws_fake.py), their SigV4 code (sigv4.py) and the Secrets
Manager emulator (fake_secretsmanager.py): what proves them faithful to AWS. Every test_<name> is
ctest <name> (tests/secretsmanager_fake.cmake).

Each live test starts its own emulator on a free port. Expected behaviour is the real service's,
per the AWS Secrets Manager API Reference; the fixture texts come from tests/data/secretsmanager.
"""
import datetime
import http.client
import http.server
import json
import os
import re
import shutil
import ssl
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

import aws_fake  # noqa: E402
import sigv4  # noqa: E402
import smtest  # noqa: E402
from fake_secretsmanager import AwsError, Client  # noqa: E402
from smtest import assert_eq, assert_in, assert_not_in  # noqa: E402

DATA = os.path.join(TESTS, "data")
AK, SK = "AKIDFAKESMTEST", "fakeSecretKey/For+Tests0123456789abcdefgh"
SUITE_AK, SUITE_SK = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
SUITE_TIME = datetime.datetime(2015, 8, 30, 12, 36, 0, tzinfo=datetime.timezone.utc)
LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:my-rotator"
# The fixture world of tests/data/secretsmanager (README): one secret caught mid-rotation.
FX_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/app/db-AbCdEf"
FX_PREV = "0c9e4d2a-7f31-4b8e-a5c6-1e2d3f4a5b6c"
FX_CUR = "a1f8c3e2-5b7d-4c19-9e0a-3d6f2b8c4e71"
FX_PEND = "7d3b9f10-2c4e-4a8b-9f6d-5e1a2b3c4d5e"


# ---------------------------------------------------------------------------------------------
# helpers


def start(**opts):
    return aws_fake.FakeProcess("fake_secretsmanager.py", AK, SK, **opts)


def client(fake, **kw):
    kw.setdefault("access_key", AK)
    kw.setdefault("secret_key", SK)
    return Client(fake.endpoint, region=kw.pop("region", "us-east-1"), **kw)


def data_json(*parts):
    with open(os.path.join(DATA, "secretsmanager", *parts), encoding="utf-8") as f:
        return json.load(f)


def fixture(name):
    return data_json("errors", name)


def expect_error(fn, code, status=400, message=None, body=None):
    """Run fn, which must raise AwsError `code` with that status (and exact message or body)."""
    try:
        fn()
    except AwsError as e:
        assert_eq((e.code, e.status), (code, status), "error")
        if message is not None:
            assert_eq(e.message, message, "message of %s" % code)
        if body is not None:
            assert_eq(e.body, body, "body of %s" % code)
        return e
    raise AssertionError("expected %s" % code)


def token():
    return str(uuid.uuid4())


def create(c, name, value, **kw):
    return c.call("CreateSecret", dict(Name=name, SecretString=value, ClientRequestToken=token(), **kw))


def put(c, sid, value, tok=None, stages=None, **kw):
    body = dict(SecretId=sid, SecretString=value, ClientRequestToken=tok or token(), **kw)
    if stages is not None:
        body["VersionStages"] = stages
    return c.call("PutSecretValue", body)


def get(c, sid, **kw):
    return c.call("GetSecretValue", dict(SecretId=sid, **kw))


def move(c, sid, stage, to=None, away=None):
    body = {"SecretId": sid, "VersionStage": stage}
    body.update({k: v for k, v in (("MoveToVersionId", to), ("RemoveFromVersionId", away)) if v})
    return c.call("UpdateSecretVersionStage", body)


def rotate(c, sid, tok=None, **kw):
    return c.call("RotateSecret", dict(SecretId=sid, ClientRequestToken=tok or token(), **kw))


def stages_of(c, sid):
    return c.call("DescribeSecret", {"SecretId": sid}).get("VersionIdsToStages", {})


def parse_req(text):
    """A test-suite .req/.sreq file: (method, path, query, headers, body)."""
    lines = text.split("\n")
    method, rest = lines[0].split(" ", 1)
    path, _, query = rest.rsplit(" ", 1)[0].partition("?")  # get-space has a space in its path
    headers, i = [], 1
    while i < len(lines) and lines[i] != "":
        if lines[i][0] in " \t":  # obsolete line folding
            headers[-1] = (headers[-1][0], headers[-1][1] + "\n" + lines[i])
        else:
            name, _, value = lines[i].partition(":")
            headers.append((name, value))
        i += 1
    body = "\n".join(lines[i + 1:]) if i < len(lines) else ""
    return method, path, query, headers, body.encode("utf-8")


def suite_cases(root):
    for dirpath, _, files in sorted(os.walk(root)):
        for fn in sorted(files):
            if fn.endswith(".req"):
                yield os.path.join(dirpath, fn[:-4])


def read(base, ext):
    with open(base + ext, encoding="utf-8") as f:
        return f.read()


def header(headers, name):
    return next((v for h, v in headers if h.lower() == name), None)


def case_token(base):
    m = re.search(r"^x-amz-security-token:(.*)$", read(base, ".creq"), re.M)
    return m.group(1) if m else None


def _rejects(code, fn, fragment=""):
    try:
        fn()
    except sigv4.SigV4Error as e:
        assert_eq(e.code, code, "verifier error code")
        assert_in(fragment, e.message, "verifier message")
        return
    raise AssertionError("verifier accepted a request it must reject (%s)" % code)


# ---------------------------------------------------------------------------------------------
# SigV4: the signer and the verifier against the published vectors


def test_fake_sigv4_signer_reproduces_aws_suite_and_secretsmanager_vectors():
    n = 0
    for root, service in (("sigv4", "service"), ("sigv4-secretsmanager", "secretsmanager")):
        for base in suite_cases(os.path.join(DATA, root)):
            method, path, query, headers, body = parse_req(read(base, ".req"))
            _, d = sigv4.sign(method, path, query, headers, body, SUITE_AK, SUITE_SK, "us-east-1", service,
                              session_token=case_token(base), when=SUITE_TIME)
            name = os.path.basename(base)
            assert_eq(d["creq"], read(base, ".creq"), name + " canonical request")
            assert_eq(d["sts"], read(base, ".sts"), name + " string to sign")
            assert_eq(d["authz"], read(base, ".authz"), name + " Authorization")
            n += 1
    assert_eq(n, 37, "the suite's 34 cases and 3 Secrets Manager requests")
    for service, expected in data_json("..", "sigv4-secretsmanager", "signing-keys.json").items():
        assert_eq(sigv4.signing_keys_hex(SUITE_SK, "20150830", "us-east-1", service), expected, service + " keys")


def test_fake_sigv4_verifier_accepts_the_vectors_and_rejects_tampering_and_expiry():
    for base in suite_cases(os.path.join(DATA, "sigv4")):
        method, path, query, headers, body = parse_req(read(base, ".req"))
        name = os.path.basename(base)
        tok = case_token(base)
        if name == "post-sts-header-after":  # the token appended after signing, as .sreq shows
            tok = header(parse_req(read(base, ".sreq"))[3], "x-amz-security-token")
        if tok and header(headers, "x-amz-security-token") is None:
            headers.append(("X-Amz-Security-Token", tok))
        headers.append(("Authorization", read(base, ".authz")))
        parts = sigv4.verify(method, path, query, headers, body, {SUITE_AK: (SUITE_SK, tok)}, "us-east-1",
                             "service", SUITE_TIME, require_token_signed=(name != "post-sts-header-after"))
        assert_eq(parts["access_key"], SUITE_AK, name)
    base = os.path.join(DATA, "sigv4", "post-x-www-form-urlencoded", "post-x-www-form-urlencoded")
    method, path, query, headers, body = parse_req(read(base, ".req"))
    headers.append(("Authorization", read(base, ".authz")))
    creds = {SUITE_AK: (SUITE_SK, None)}

    def verify(h=headers, b=body, c=creds, now=SUITE_TIME, service="service"):
        return sigv4.verify(method, path, query, h, b, c, "us-east-1", service, now)

    verify()
    _rejects("InvalidSignatureException", lambda: verify(b=body.replace(b"value1", b"value2")), "does not match")
    tampered = [(h, "text/plain" if h.lower() == "content-type" else v) for h, v in headers]
    _rejects("InvalidSignatureException", lambda: verify(h=tampered), "does not match")
    _rejects("InvalidSignatureException", lambda: verify(c={SUITE_AK: (SUITE_SK + "x", None)}), "does not match")
    _rejects("UnrecognizedClientException", lambda: verify(c={"AKIDOTHER": (SUITE_SK, None)}))
    _rejects("InvalidSignatureException", lambda: verify(service="secretsmanager"), "correct service")
    _rejects("InvalidSignatureException", lambda: verify(now=SUITE_TIME + datetime.timedelta(minutes=5, seconds=1)),
             "Signature expired: 20150830T123600Z is now earlier than 20150830T123601Z (20150830T124101Z - 5 min.)")
    verify(now=SUITE_TIME + datetime.timedelta(minutes=5))  # exactly 5 minutes is still accepted
    _rejects("InvalidSignatureException", lambda: verify(now=SUITE_TIME - datetime.timedelta(minutes=6)),
             "Signature not yet current")
    no_sig = [(h, re.sub(r", Signature=[0-9a-f]+", "", v)) for h, v in headers]
    _rejects("IncompleteSignatureException", lambda: verify(h=no_sig), "requires 'Signature' parameter")
    _rejects("MissingAuthenticationTokenException", lambda: verify(h=headers[:-1]))


# ---------------------------------------------------------------------------------------------
# The shared server: authentication, wire format, faults, control API


def test_fake_authentication_errors_have_aws_codes_and_texts():
    tok = "FwoGZXIvYXdzEFAKE" + "x" * 40
    with start(session_token=tok) as fake:
        c = client(fake, session_token=tok)
        create(c, "auth", "v")
        expect_error(lambda: client(fake, secret_key=SK + "x", session_token=tok).call("DescribeSecret", {"SecretId": "auth"}),
                     "InvalidSignatureException", body=fixture("InvalidSignatureException.mismatch.json"))
        expect_error(lambda: client(fake, access_key="AKIDNOTKNOWN", session_token=tok).call("GetRandomPassword"),
                     "UnrecognizedClientException", body=fixture("UnrecognizedClientException.json"))
        expect_error(lambda: c.call("GetRandomPassword", sign=False), "MissingAuthenticationTokenException",
                     body=fixture("MissingAuthenticationTokenException.json"))
        expect_error(lambda: client(fake, region="us-west-2", session_token=tok).call("GetRandomPassword"),
                     "InvalidSignatureException",
                     message="Credential should be scoped to a valid region, not 'us-west-2'. ")
        # The session token must be sent, equal and signed.
        expect_error(lambda: client(fake).call("GetRandomPassword"), "UnrecognizedClientException")
        expect_error(lambda: client(fake, session_token=tok + "y").call("GetRandomPassword"),
                     "UnrecognizedClientException")
        unsigned = client(fake).call
        expect_error(lambda: unsigned("GetRandomPassword", mutate=lambda h, b: (h + [("X-Amz-Security-Token", tok)], b)),
                     "IncompleteSignatureException")
        # Tampering after signing.
        swaps = {"body": lambda h, b: (h, b.replace(b"auth", b"autx")),
                 "target": lambda h, b: ([(k, "secretsmanager.GetSecretValue" if k == "X-Amz-Target" else v)
                                          for k, v in h], b),
                 "host": lambda h, b: ([(k, "localhost:%d" % fake.port if k == "Host" else v) for k, v in h], b)}
        for what, mutate in swaps.items():
            expect_error(lambda: c.call("DescribeSecret", {"SecretId": "auth"}, mutate=mutate),
                         "InvalidSignatureException", message=sigv4.MISMATCH_MESSAGE)
        c.call("DescribeSecret", {"SecretId": "auth"}, mutate=lambda h, b: (h + [("Accept", "*/*")], b))  # unsigned extra
        # Five minutes of clock skew, and the control clock.
        now = datetime.datetime.now(datetime.timezone.utc)
        e = expect_error(lambda: c.call("GetRandomPassword", when=now - datetime.timedelta(minutes=6)),
                         "InvalidSignatureException")
        assert re.fullmatch(r"Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 5 min\.\)",
                            e.message), e.message
        fake.control("POST", "/_fake/clock", {"skew_seconds": -600})
        c.call("GetRandomPassword", when=now - datetime.timedelta(minutes=10))
        calls = fake.calls()
        assert_eq([x["authenticated"] for x in calls].count(True), 3, "only the good requests got through")
    with start() as fake:  # a token sent for long-term keys is not accepted either
        expect_error(lambda: client(fake, session_token=tok).call("GetRandomPassword"), "UnrecognizedClientException")


def test_fake_wire_format_keepalive_and_request_ids():
    with start() as fake:
        before = fake.control("GET", "/_fake/stats")
        c = client(fake)
        create(c, "wire", "v")
        ids = set()
        for _ in range(3):
            resp = c.request("DescribeSecret", {"SecretId": "wire"})
            assert_eq((resp.status, resp.headers["content-type"]), (200, "application/x-amz-json-1.1"), "answer")
            assert_eq(resp.headers["content-length"], str(len(resp.raw)), "content length")
            assert isinstance(json.loads(resp.raw)["CreatedDate"], float), "timestamps are epoch numbers"
            ids.add(resp.headers["x-amzn-requestid"])
        assert_eq(len(ids), 3, "distinct request ids")
        after = fake.control("GET", "/_fake/stats")
        # One kept-alive connection for the four API calls, plus this stats request's own.
        assert_eq((after["connections"] - before["connections"], after["requests"] - before["requests"]), (2, 5),
                  "connections and requests")
        for kw, code in (({"target": "secretsmanager.NoSuchThing"}, "UnknownOperationException"),
                         ({"content_type": "application/x-www-form-urlencoded"}, "UnknownOperationException"),
                         ({"raw_body": b"{not json"}, "SerializationException")):
            resp = c.request("DescribeSecret", {"SecretId": "wire"}, **kw)
            assert_eq((resp.status, json.loads(resp.raw)["__type"]), (400, code), str(kw))


def test_fake_faults_count_down_and_have_aws_shapes():
    with start() as fake:
        c = client(fake, retry_stale=False)
        create(c, "flt", "v")
        fake.fault("GetSecretValue", "ThrottlingException", 2)
        for _ in range(2):
            expect_error(lambda: get(c, "flt"), "ThrottlingException", body=fixture("ThrottlingException.json"))
        c.call("DescribeSecret", {"SecretId": "flt"})  # other operations are untouched
        get(c, "flt")  # the count ran out
        assert_eq(fake.control("GET", "/_fake/faults"), [], "no fault left")
        fake.control("POST", "/_fake/faults", [{"operation": "*", "error": "InternalServiceError"},
                                               {"operation": "*", "error": "ServiceUnavailable"}])
        expect_error(lambda: get(c, "flt"), "InternalServiceError", 500, body=fixture("InternalServiceError.json"))
        expect_error(lambda: get(c, "flt"), "ServiceUnavailable", 503)
        fake.fault("GetSecretValue", "AccessDeniedException", message="nope", skip=1)
        get(c, "flt")  # skip lets the first one through
        expect_error(lambda: get(c, "flt"), "AccessDeniedException", message="nope")
        fake.fault("GetSecretValue", "delay", delay_ms=300)
        t0 = time.monotonic()
        get(c, "flt")
        assert time.monotonic() - t0 >= 0.3, "delay"
        # Dropped answers; with "apply" the request takes effect and only its answer is lost.
        for op, error, apply in (("GetSecretValue", "reset", False), ("GetSecretValue", "close", False),
                                 ("PutSecretValue", "reset", True)):
            fake.fault(op, error, apply=apply)
            try:
                put(c, "flt", "v2") if apply else get(c, "flt")
                raise AssertionError("%s fault answered" % error)
            except (ConnectionError, http.client.HTTPException):
                c.close()
        assert_eq(get(c, "flt")["SecretString"], "v2", "the applied put took effect")
        assert_eq([(x["operation"], x["error"]) for x in fake.calls()][-4:],
                  [("GetSecretValue", "connection-reset"), ("GetSecretValue", "connection-close"),
                   ("PutSecretValue", "connection-reset"), ("GetSecretValue", None)], "call log")
        fake.fault("*", "ThrottlingException", -1)
        for _ in range(3):
            expect_error(lambda: get(c, "flt"), "ThrottlingException")
        fake.control("POST", "/_fake/reset")
        assert_eq(fake.calls(), [], "calls cleared")
        get(c, "flt")  # faults cleared, state kept
        fake.control("POST", "/_fake/reset", {"state": True})
        expect_error(lambda: get(c, "flt"), "ResourceNotFoundException")


def test_fake_tls_port_file_and_sigterm():
    d = tempfile.mkdtemp(prefix="fake-tls-")
    try:
        cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
        fake = start(tls_cert=cert, tls_key=key, region="eu-west-1", account="210987654321")
        try:
            assert fake.endpoint.startswith("https://"), fake.endpoint
            c = client(fake, ca_file=cert, region="eu-west-1")
            arn = create(c, "tls", "v")["ARN"]
            assert arn.startswith("arn:aws:secretsmanager:eu-west-1:210987654321:secret:tls-"), arn
            try:
                client(fake, region="eu-west-1").call("DescribeSecret", {"SecretId": "tls"})
                raise AssertionError("a client without the test CA connected")
            except ssl.SSLError:
                pass
            c.call("DescribeSecret", {"SecretId": "tls"})  # the failed handshake did not hurt the server
        finally:
            fake.proc.terminate()
            assert_eq(fake.proc.wait(10), 0, "clean exit on SIGTERM")
            fake.stop()
    finally:
        shutil.rmtree(d)


# ---------------------------------------------------------------------------------------------
# Secrets Manager's semantics


def test_fake_secretsmanager_create_describe_get_and_selection_errors():
    with start() as fake:
        c = client(fake)
        v1 = token()
        out = c.call("CreateSecret", {"Name": "app/db", "SecretString": "one", "ClientRequestToken": v1,
                                      "Tags": [{"Key": "team", "Value": "db"}]})
        assert re.fullmatch(r"arn:aws:secretsmanager:us-east-1:123456789012:secret:app/db-[A-Za-z0-9]{6}", out["ARN"])
        assert_eq(out["VersionId"], v1, "version id is the token")
        d = c.call("DescribeSecret", {"SecretId": "app/db"})
        assert_eq((d["VersionIdsToStages"], d["Tags"]), ({v1: ["AWSCURRENT"]}, [{"Key": "team", "Value": "db"}]), "d")
        for absent in ("RotationEnabled", "RotationLambdaARN", "RotationRules"):
            assert_not_in(absent, d, "never-rotated DescribeSecret")
        for sid in ("app/db", out["ARN"], out["ARN"][:-7]):  # name, full ARN, partial ARN
            assert_eq(get(c, sid)["VersionStages"], ["AWSCURRENT"], sid)
        expect_error(lambda: create(c, "app/db", "x"), "ResourceExistsException")
        v2 = put(c, "app/db", "two", stages=["CUSTOM"])["VersionId"]
        assert_eq(get(c, "app/db", VersionStage="CUSTOM")["SecretString"], "two", "by label")
        assert_eq(get(c, "app/db", VersionId=v2, VersionStage="CUSTOM")["VersionId"], v2, "both")
        expect_error(lambda: get(c, "app/db", VersionId=v1, VersionStage="CUSTOM"), "InvalidRequestException",
                     body=fixture("InvalidRequestException.stage-version-mismatch.json"))
        unknown = token()
        expect_error(lambda: get(c, "app/db", VersionId=unknown), "ResourceNotFoundException",
                     message="Secrets Manager can't find the specified secret value for VersionId: " + unknown)
        expect_error(lambda: get(c, "app/db", VersionStage="AWSPENDING"), "ResourceNotFoundException",
                     body=fixture("ResourceNotFoundException.staging-label.json"))
        expect_error(lambda: get(c, "nope"), "ResourceNotFoundException", body=fixture("ResourceNotFoundException.secret.json"))
        e = expect_error(lambda: get(c, "app/db", VersionId="short"), "ValidationException")
        assert_in("'versionId' failed to satisfy constraint: Member must have length greater than or equal to 32", e.message)


def test_fake_secretsmanager_put_secret_value_token_rules_and_idempotency():
    with start() as fake:
        c = client(fake)
        arn = create(c, "idem", "v1")["ARN"]
        expect_error(lambda: c.call("PutSecretValue", {"SecretId": "idem", "SecretString": "x"}), "InvalidRequestException",
                     body=fixture("InvalidRequestException.missing-client-request-token.json"))
        expect_error(lambda: put(c, "idem", "x", tok="abc"), "ValidationException",
                     body=fixture("ValidationException.client-request-token-too-short.json"))
        tok = token()
        first = put(c, "idem", "v2", tok, ["AWSPENDING"])
        assert_eq(first, {"ARN": arn, "Name": "idem", "VersionId": tok, "VersionStages": ["AWSPENDING"]}, "put answer")
        before = fake.control("GET", "/_fake/state")
        assert_eq(put(c, "idem", "v2", tok, ["AWSPENDING"]), first, "same token and value: same answer")
        assert_eq(fake.control("GET", "/_fake/state"), before, "an idempotent retry changes nothing")
        expect_error(lambda: put(c, "idem", "v3", tok), "ResourceExistsException",
                     message="You can't use ClientRequestToken %s because that value is already in use for a version "
                     "of secret %s." % (tok, arn))
        e = expect_error(lambda: put(c, "idem", "v4", RotationToken="bad token!" * 4), "ValidationException")
        assert_not_in("bad token", e.message, "a RotationToken is not echoed")
        assert_not_in("RotationToken", put(c, "idem", "v4", RotationToken=token()), "nor answered")
        calls = fake.calls()
        assert_eq(calls[-1]["rotation_token_present"], True, "the call log notes the RotationToken")
        assert_not_in("v4", json.dumps(calls), "the call log has no secret values")


def test_fake_secretsmanager_staging_labels_follow_aws_recorded_sequence():
    """The sequence AWS recorded (reference 2.1), and the rules of UpdateSecretVersionStage."""
    with start() as fake:
        c = client(fake)
        v1 = create(c, "seq", "1")["VersionId"]
        v2 = put(c, "seq", "2", stages=["AWSPENDING"])["VersionId"]
        e = expect_error(lambda: move(c, "seq", "AWSCURRENT", to=v2), "InvalidParameterException")
        assert_eq(e.message, "The parameter RemoveFromVersionId can't be empty. Staging label AWSCURRENT is currently "
                  "attached to version %s, so you must explicitly reference that version in RemoveFromVersionId." % v1)
        expect_error(lambda: move(c, "seq", "AWSCURRENT", to=v2, away=v2), "InvalidParameterException")
        expect_error(lambda: move(c, "seq", "AWSCURRENT", away=v1), "InvalidParameterException")
        assert_eq(move(c, "seq", "AWSCURRENT", to=v2, away=v1), {"ARN": get(c, "seq")["ARN"], "Name": "seq"}, "answer")
        assert_eq(stages_of(c, "seq"), {v1: ["AWSPREVIOUS"], v2: ["AWSPENDING", "AWSCURRENT"]}, "move 1")
        v3 = put(c, "seq", "3", stages=["AWSPENDING"])["VersionId"]
        move(c, "seq", "AWSCURRENT", to=v3, away=v2)
        assert_eq(stages_of(c, "seq"), {v2: ["AWSPREVIOUS"], v3: ["AWSPENDING", "AWSCURRENT"]}, "move 2: v1 deprecated")
        move(c, "seq", "AWSPENDING", away=v3)
        v4 = put(c, "seq", "4", stages=["AWSPENDING", "X"])["VersionId"]
        assert_eq(stages_of(c, "seq"), {v2: ["AWSPREVIOUS"], v3: ["AWSCURRENT"], v4: ["AWSPENDING", "X"]},
                  "put with stages moves only those")
        v5 = put(c, "seq", "5")["VersionId"]  # a plain put takes AWSCURRENT and abandons AWSPENDING
        assert_eq(stages_of(c, "seq"), {v3: ["AWSPREVIOUS"], v4: ["X"], v5: ["AWSCURRENT"]}, "plain put")
        move(c, "seq", "AWSCURRENT", to=v3, away=v5)  # back to the AWSPREVIOUS holder: the labels swap
        assert_eq(stages_of(c, "seq"), {v3: ["AWSCURRENT"], v4: ["X"], v5: ["AWSPREVIOUS"]}, "rollback")
        assert_eq(get(c, "seq", VersionId=v1)["SecretString"], "1", "deprecated still readable by id")


def test_fake_secretsmanager_get_random_password_honours_policy():
    with start() as fake:
        c = client(fake)
        pw = c.call("GetRandomPassword")["RandomPassword"]
        assert_eq(len(pw), 32, "default length")
        for chars in (string.ascii_lowercase, string.ascii_uppercase, string.digits, string.punctuation):
            assert any(ch in chars for ch in pw), "default requires each type"
        assert_not_in(" ", pw, "no space by default")
        pw = c.call("GetRandomPassword", {"PasswordLength": 200, "ExcludeCharacters": "abc/@\"'\\",
                                          "ExcludePunctuation": True, "ExcludeUppercase": True})["RandomPassword"]
        assert set(pw) <= set(string.ascii_lowercase + string.digits) - set("abc"), "exclusions"
        pw = c.call("GetRandomPassword", {"PasswordLength": 300, "IncludeSpace": True,
                                          "ExcludeLowercase": True})["RandomPassword"]
        assert " " in pw and not set(pw) & set(string.ascii_lowercase), "space included, lowercase excluded"
        expect_error(lambda: c.call("GetRandomPassword", {"PasswordLength": 3}), "InvalidParameterException",
                     body=fixture("InvalidParameterException.password-too-short.json"))
        assert_eq(len(c.call("GetRandomPassword", {"PasswordLength": 3, "RequireEachIncludedType": False})
                      ["RandomPassword"]), 3, "no requirement")
        expect_error(lambda: c.call("GetRandomPassword", {"PasswordLength": 4097}), "ValidationException")
        expect_error(lambda: c.call("GetRandomPassword", {"PasswordLength": "32"}), "SerializationException")


def test_fake_secretsmanager_rotate_secret_validation_stub_and_external_records():
    with start() as fake:
        c = client(fake)
        cur = create(c, "rot", "cur")["VersionId"]
        expect_error(lambda: c.call("RotateSecret", {"SecretId": "rot", "RotationLambdaARN": LAMBDA}),
                     "InvalidParameterException", body=fixture("InvalidParameterException.missing-client-request-token.json"))
        expect_error(lambda: rotate(c, "rot"), "InvalidRequestException", body=fixture("InvalidRequestException.no-rotation-lambda.json"))
        tok = token()
        assert_eq(rotate(c, "rot", tok, RotationLambdaARN=LAMBDA), {"ARN": get(c, "rot")["ARN"], "Name": "rot",
                                                                    "VersionId": tok}, "answer")
        assert_eq(stages_of(c, "rot"), {cur: ["AWSCURRENT"], tok: ["AWSPENDING"]}, "a value-less pending version")
        for kw in ({"VersionId": tok}, {"VersionStage": "AWSPENDING"}):
            expect_error(lambda: get(c, "rot", **kw), "ResourceNotFoundException")
        expect_error(lambda: rotate(c, "rot"), "InvalidRequestException",
                     message="A previous rotation isn't complete. That rotation will be reattempted.")
        assert_eq(rotate(c, "rot", tok)["VersionId"], tok, "the same token again is the same request")
        ev = fake.control("GET", "/_fake/rotation-event?secret_id=rot&step=createSecret")
        put(c, "rot", "new", tok, ["AWSPENDING"], RotationToken=ev["RotationToken"])
        move(c, "rot", "AWSCURRENT", to=tok, away=cur)
        t2, t3 = token(), token()
        rotate(c, "rot", t2, RotateImmediately=False)  # the stored Lambda ARN is reused
        assert_eq(get(c, "rot", VersionId=t2, VersionStage="AWSPENDING")["SecretString"], "new", "a copy of current")
        move(c, "rot", "AWSPENDING", away=t2)
        rotate(c, "rot", t3)
        put(c, "rot", "manual")  # a new current value abandons the rotation
        recs = fake.control("GET", "/_fake/rotations?secret_id=rot")
        assert_eq([(r["status"], r["rotation_token_forwarded"]) for r in recs],
                  [("succeeded", True), ("ended", None), ("abandoned", None)], "records follow the labels")
        c.call("CancelRotateSecret", {"SecretId": "rot"})
        assert_eq(c.call("DescribeSecret", {"SecretId": "rot"})["RotationEnabled"], False, "cancel turns rotation off")


def test_fake_secretsmanager_replays_happy_path_scenario_and_error_texts():
    """tests/data/secretsmanager/scenarios/rotation-happy-path.json against the fixture secret."""
    current = data_json("responses", "GetSecretValue.current.json")["SecretString"]
    versions = [{"VersionId": FX_PREV, "VersionStages": ["AWSPREVIOUS"], "SecretString": "old-old"},
                {"VersionId": FX_CUR, "VersionStages": ["AWSCURRENT"], "SecretString": current,
                 "CreatedDate": 1720000000.456},
                {"VersionId": FX_PEND, "VersionStages": ["AWSPENDING"]}]
    seed = {"secrets": [{"Name": "prod/app/db", "ARN": FX_ARN, "Description": "Application database credentials",
                         "RotationEnabled": True, "RotationLambdaARN": LAMBDA,
                         "RotationRules": {"AutomaticallyAfterDays": 30}, "Versions": versions}]}
    with start() as fake:
        fake.control("POST", "/_fake/state", seed)
        c = client(fake)
        expect_error(lambda: get(c, FX_ARN, VersionId=FX_PEND, VersionStage="AWSPENDING"), "ResourceNotFoundException",
                     body=fixture("ResourceNotFoundException.version-id.json"))
        for inv in data_json("scenarios", "rotation-happy-path.json")["invocations"]:
            for call in inv["calls"]:
                op = call["target"].split(".", 1)[1]
                with open(os.path.join(DATA, "secretsmanager", call["request"]), "rb") as f:
                    resp = c.request(op, raw_body=f.read())
                where = "%s %s" % (inv["event"], call["request"])
                got, want = json.loads(resp.raw), data_json(call["response"])
                assert_eq(resp.status, call["status"], where + " status")
                if op == "GetRandomPassword":
                    assert_eq(len(got["RandomPassword"]), 32, "password length")
                    continue
                if op == "DescribeSecret":
                    for d in (got, want):
                        d["VersionIdsToStages"] = {v: sorted(s) for v, s in d["VersionIdsToStages"].items()}
                drop = [k for k in set(got) | set(want) if k.endswith("Date")]
                assert_eq({k: v for k, v in got.items() if k not in drop},
                          {k: v for k, v in want.items() if k not in drop}, where + " body")
        versions[2]["SecretString"] = "pending"
        fake.control("POST", "/_fake/state", seed)
        expect_error(lambda: put(c, FX_ARN, "different", FX_PEND), "ResourceExistsException",
                     body=fixture("ResourceExistsException.client-request-token-in-use.json"))
        expect_error(lambda: move(c, FX_ARN, "AWSCURRENT", to=FX_PEND), "InvalidParameterException",
                     body=fixture("InvalidParameterException.remove-from-version-id-required.json"))


# ---------------------------------------------------------------------------------------------
# The rotation driver: RotateSecret invoking the function, as the service does


class StubLambda:
    """An invoke endpoint acting like the AWS template rotation function against the emulator,
    recording every event. fail: {step: times} makes that step fail (200 + X-Amz-Function-Error)
    the first `times` calls."""

    def __init__(self, fail=None):
        self.secrets = None
        self.fail = dict(fail or {})
        self.events = []
        stub = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                event = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stub.events.append(event)
                failing = stub.fail.get(event["Step"], 0) > 0
                stub.fail[event["Step"]] = stub.fail.get(event["Step"], 0) - 1
                body = {"errorMessage": "injected failure", "errorType": "StubError"} if failing else stub.step(event)
                data = json.dumps(body).encode()
                self.send_response(200)
                if failing:
                    self.send_header("X-Amz-Function-Error", "Unhandled")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = "http://127.0.0.1:%d/2015-03-31/functions/function/invocations" % self.server.server_address[1]

    def step(self, event):
        c, arn, tok, step = self.secrets, event["SecretId"], event["ClientRequestToken"], event["Step"]
        stages = stages_of(c, arn)
        if "AWSCURRENT" in stages[tok]:
            return None
        if step == "createSecret":
            try:
                get(c, arn, VersionId=tok, VersionStage="AWSPENDING")
            except AwsError:
                pw = c.call("GetRandomPassword", {"PasswordLength": 16})["RandomPassword"]
                put(c, arn, pw, tok, ["AWSPENDING"], RotationToken=event["RotationToken"])
        elif step == "finishSecret":
            move(c, arn, "AWSCURRENT", to=tok, away=[v for v, s in stages.items() if "AWSCURRENT" in s][0])
        else:
            get(c, arn, VersionId=tok, VersionStage="AWSPENDING")
        return None

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_fake_secretsmanager_rotation_driver_runs_the_steps_and_retries_the_whole_rotation():
    stub = StubLambda(fail={"setSecret": 1})
    try:
        with start(lambda_invoke_url=stub.url, rotation_retries=1) as fake:
            stub.secrets = client(fake)
            c = client(fake)
            cur = create(c, "drv", "old")["VersionId"]
            tok = token()
            rotate(c, "drv", tok, RotationLambdaARN=LAMBDA)
            rec = fake.control("GET", "/_fake/rotations?wait=15")[0]
            assert_eq((rec["status"], rec["attempts"]), ("succeeded", 2), "status (%s)" % rec.get("error"))
            assert_eq([e["Step"] for e in stub.events],
                      ["createSecret", "setSecret", "createSecret", "setSecret", "testSecret", "finishSecret"], "steps")
            arn = get(c, "drv")["ARN"]
            assert_eq({(e["SecretId"], e["ClientRequestToken"]) for e in stub.events}, {(arn, tok)}, "one ARN, one token")
            rts = {e["RotationToken"] for e in stub.events}
            assert_eq(len(rts), 1, "one RotationToken per rotation")
            assert re.fullmatch(r"[a-zA-Z0-9\-]{36,256}", next(iter(rts))), "RotationToken shape"
            assert_not_in(next(iter(rts)), json.dumps(rec), "the RotationToken is not in the records")
            assert_eq((rec["rotation_token_forwarded"], len(rec["puts"])), (True, 1), "one put with the token")
            assert_eq([(s["step"], s.get("error_type")) for s in rec["steps"]][:2],
                      [("createSecret", None), ("setSecret", "StubError")], "failure record")
            assert_eq(stages_of(c, "drv"), {cur: ["AWSPREVIOUS"], tok: ["AWSPENDING", "AWSCURRENT"]}, "end state")
            stub.events.clear()
            stub.fail = {"testSecret": 1}
            rotate(c, "drv", RotateImmediately=False)
            rec = fake.control("GET", "/_fake/rotations?wait=15")[-1]
            assert_eq((rec["status"], [e["Step"] for e in stub.events]), ("succeeded", ["testSecret"] * 2),
                      "RotateImmediately=false runs only testSecret")
            assert_eq(len(stages_of(c, "drv")), 2, "the test version's label is removed afterwards")
    finally:
        stub.close()


smtest.run(globals())
