"""Tests of the credential fakes: the STS emulator (fake_sts.py), the instance metadata service
(fake_imds.py) and the container credentials endpoint (fake_container_creds.py), so the credential
chain's client tests (tests/client/test_credentials.c) run against checked implementations. The
shared server itself is tested in test_fake_secretsmanager.py. Every test_<name> is ctest <name>
(tests/credentials.cmake).
"""
import calendar
import http.client
import json
import os
import sys
import time
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TESTS, "lib"))
sys.path.insert(0, HERE)

import aws_fake  # noqa: E402
import sigv4  # noqa: E402
import smtest  # noqa: E402
from fake_sts import NS  # noqa: E402
from smtest import assert_eq, assert_in, assert_secret_in  # noqa: E402

AK, SK = "AKIDFAKESTSTEST00001", "fakeStsSecretKey/For+Tests0123456789abcd"
ROLE = "arn:aws:iam::123456789012:role/checker"
CHAINED = "arn:aws:iam::123456789012:role/chained"


def sts_start():
    fake = aws_fake.FakeProcess("fake_sts.py", AK, SK)
    fake.control("POST", "/_fake/state", {
        "roles": [{"arn": ROLE, "trust": [AK], "external_id": "ext-1", "max_session_duration": 7200,
                   "web_identity_tokens": ["jwt-good"], "expired_tokens": ["jwt-old"]},
                  {"arn": CHAINED, "trust": ["arn:aws:sts::123456789012:assumed-role/checker/s1"],
                   "credentials": {"access_key_id": "ASIACHAINED000000001", "secret_access_key": "chained-secret",
                                   "session_token": "chained-token"}}],
        "principals": {AK: "arn:aws:iam::123456789012:user/operator"}})
    return fake


def sts_call(fake, action, params, sign=True, **creds):
    client = aws_fake.Client(fake.endpoint, "sts", region="us-east-1", access_key=creds.get("access_key", AK),
                             secret_key=creds.get("secret_key", SK), session_token=creds.get("session_token"))
    body = "&".join("%s=%s" % (sigv4.uri_encode(k), sigv4.uri_encode(str(v)))
                    for k, v in [("Action", action), ("Version", "2011-06-15")] + list(params.items()))
    resp = client.send([("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")], body.encode(),
                       sign=sign)
    client.close()
    root = ET.fromstring(resp.raw)

    def text(path):
        node = root.find(path.replace("/", "/{%s}" % NS).join(["{%s}" % NS, ""]))
        return node.text if node is not None else None

    return resp, root, text


def test_fake_sts_assume_role_answers_credentials_that_sign_the_next_call():
    with sts_start() as fake:
        resp, root, text = sts_call(fake, "AssumeRole", {"RoleArn": ROLE, "RoleSessionName": "s1",
                                                         "ExternalId": "ext-1", "DurationSeconds": "7200"})
        assert_eq(resp.status, 200, "status")
        assert_eq(resp.headers["content-type"], "text/xml", "content type")
        assert_eq(root.tag, "{%s}AssumeRoleResponse" % NS, "root")
        assert_eq(text("AssumeRoleResult/AssumedRoleUser/Arn"),
                  "arn:aws:sts::123456789012:assumed-role/checker/s1", "assumed role")
        akid = text("AssumeRoleResult/Credentials/AccessKeyId")
        secret = text("AssumeRoleResult/Credentials/SecretAccessKey")
        token = text("AssumeRoleResult/Credentials/SessionToken")
        expiration = calendar.timegm(time.strptime(text("AssumeRoleResult/Credentials/Expiration"),
                                                   "%Y-%m-%dT%H:%M:%SZ"))
        assert 7100 < expiration - time.time() <= 7200, "expires after DurationSeconds"
        assert akid.startswith("ASIA") and secret and token, "credentials"
        # The issued credentials sign the next call (role chaining); the next role's are its own.
        resp, root, text = sts_call(fake, "AssumeRole", {"RoleArn": CHAINED, "RoleSessionName": "s2"},
                                    access_key=akid, secret_key=secret, session_token=token)
        assert_eq(resp.status, 200, "chained status")
        assert_eq(text("AssumeRoleResult/Credentials/AccessKeyId"), "ASIACHAINED000000001", "chained")
        calls = fake.calls()
        assert_eq([(c["operation"], c["authenticated"], c["signed"], c["issued"]) for c in calls],
                  [("AssumeRole", True, True, akid), ("AssumeRole", True, True, "ASIACHAINED000000001")],
                  "calls")
        material = fake.control("GET", "/_fake/secret-material")["material"]
        assert_secret_in(secret, material, "issued secrets are material")
        assert_secret_in("chained-token", material, "seeded secrets are material")


def test_fake_sts_assume_role_refusals():
    with sts_start() as fake:
        cases = [
            ({"RoleArn": ROLE, "RoleSessionName": "s1"}, {}, 403, "AccessDenied",
             "User: arn:aws:iam::123456789012:user/operator is not authorized to perform: sts:AssumeRole on "
             "resource: " + ROLE),  # the role wants an ExternalId
            ({"RoleArn": CHAINED, "RoleSessionName": "s1"}, {}, 403, "AccessDenied", None),
            ({"RoleArn": ROLE, "RoleSessionName": "bad name", "ExternalId": "ext-1"}, {}, 400, "ValidationError",
             "1 validation error detected: Value 'bad name' at 'roleSessionName' failed to satisfy constraint: "
             "Member must satisfy regular expression pattern: [\\w+=,.@-]*"),
            ({"RoleArn": ROLE, "RoleSessionName": "s1", "ExternalId": "ext-1", "DurationSeconds": "7201"}, {},
             400, "ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."),
            ({"RoleArn": ROLE, "RoleSessionName": "s1"}, {"secret_key": "wrong"}, 403, "SignatureDoesNotMatch",
             None),
            ({"RoleArn": ROLE, "RoleSessionName": "s1"}, {"access_key": "AKIDUNKNOWN"}, 403, "InvalidClientTokenId",
             None),
        ]
        for params, creds, status, code, message in cases:
            resp, root, text = sts_call(fake, "AssumeRole", params, **creds)
            assert_eq((resp.status, text("Error/Code"), text("Error/Type")), (status, code, "Sender"), code)
            if message is not None:
                assert_eq(text("Error/Message"), message, "message of " + code)
            assert text("RequestId"), "a request id"
        resp, root, text = sts_call(fake, "AssumeRole", {"RoleArn": ROLE, "RoleSessionName": "s1"}, sign=False)
        assert_eq((resp.status, text("Error/Code")), (403, "MissingAuthenticationToken"), "unsigned AssumeRole")


def test_fake_sts_web_identity_needs_no_signature_and_checks_the_token():
    with sts_start() as fake:
        resp, root, text = sts_call(fake, "AssumeRoleWithWebIdentity",
                                    {"RoleArn": ROLE, "RoleSessionName": "ci", "WebIdentityToken": "jwt-good"},
                                    sign=False)
        assert_eq(resp.status, 200, "status")
        assert_eq(text("AssumeRoleWithWebIdentityResult/AssumedRoleUser/Arn"),
                  "arn:aws:sts::123456789012:assumed-role/checker/ci", "assumed role")
        assert_eq(text("AssumeRoleWithWebIdentityResult/Audience"), "sts.amazonaws.com", "audience")
        for token, status, code in (("jwt-bad", 400, "InvalidIdentityToken"),
                                    ("jwt-old", 400, "ExpiredTokenException")):
            resp, root, text = sts_call(fake, "AssumeRoleWithWebIdentity",
                                        {"RoleArn": ROLE, "RoleSessionName": "ci", "WebIdentityToken": token},
                                        sign=False)
            assert_eq((resp.status, text("Error/Code")), (status, code), token)
        resp, root, text = sts_call(fake, "AssumeRoleWithWebIdentity",
                                    {"RoleArn": CHAINED, "RoleSessionName": "ci", "WebIdentityToken": "jwt-good"},
                                    sign=False)
        assert_eq((resp.status, text("Error/Message")),
                  (403, "Not authorized to perform sts:AssumeRoleWithWebIdentity"), "no web identity trust")
        assert_eq([c["signed"] for c in fake.calls()], [False] * 4, "sent unsigned")
        assert "jwt-good" not in json.dumps(fake.calls()), "the token is not logged"


def imds_request(fake, method, path, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=10)
    conn.request(method, path, headers=headers or {})
    resp = conn.getresponse()
    out = (resp.status, dict((k.lower(), v) for k, v in resp.getheaders()), resp.read().decode())
    conn.close()
    return out


def test_fake_imds_requires_a_session_token():
    with aws_fake.FakeProcess("fake_imds.py", "ASIAIMDS000000000001", "imds-secret",
                              session_token="imds-token-x") as fake:
        listing = "/latest/meta-data/iam/security-credentials/"
        status, headers, body = imds_request(fake, "GET", listing)
        assert_eq(status, 401, "IMDSv1 refused")
        assert_in("<title>401 - Unauthorized</title>", body, "the page")
        assert_eq(headers["content-type"], "text/html", "error page type")
        for ttl, want in ((None, 400), ("0", 400), ("21601", 400), ("x", 400)):
            status, _, _ = imds_request(fake, "PUT", "/latest/api/token",
                                        {} if ttl is None else {"X-aws-ec2-metadata-token-ttl-seconds": ttl})
            assert_eq(status, want, "TTL %r" % ttl)
        status, _, _ = imds_request(fake, "PUT", "/latest/api/token",
                                    {"X-aws-ec2-metadata-token-ttl-seconds": "60", "X-Forwarded-For": "10.0.0.1"})
        assert_eq(status, 403, "no token through a proxy")
        status, headers, token = imds_request(fake, "PUT", "/latest/api/token",
                                              {"X-aws-ec2-metadata-token-ttl-seconds": "21600"})
        assert_eq((status, headers["x-aws-ec2-metadata-token-ttl-seconds"]), (200, "21600"), "token")
        status, _, role = imds_request(fake, "GET", listing, {"X-aws-ec2-metadata-token": token})
        assert_eq((status, role), (200, "fake-instance-role"), "role")
        status, _, body = imds_request(fake, "GET", listing + role, {"X-aws-ec2-metadata-token": token})
        doc = json.loads(body)
        assert_eq((status, doc["Code"], doc["AccessKeyId"], doc["Token"]),
                  (200, "Success", "ASIAIMDS000000000001", "imds-token-x"), "credentials")
        status, _, _ = imds_request(fake, "GET", listing + "other", {"X-aws-ec2-metadata-token": token})
        assert_eq(status, 404, "another role")
        status, _, _ = imds_request(fake, "GET", listing, {"X-aws-ec2-metadata-token": "forged"})
        assert_eq(status, 401, "a forged token")
        fake.control("POST", "/_fake/clock", {"skew_seconds": 21601})
        status, _, _ = imds_request(fake, "GET", listing, {"X-aws-ec2-metadata-token": token})
        assert_eq(status, 401, "an expired token")
        assert_eq([c["token"] for c in fake.calls() if c["operation"] == "GetRoleName"],
                  ["missing", "valid", "invalid", "expired"], "token states")
        assert token not in json.dumps(fake.calls()), "tokens are not logged"
        fake.control("POST", "/_fake/state", {"http_tokens": "optional", "role": None})
        status, _, _ = imds_request(fake, "GET", listing)
        assert_eq(status, 404, "IMDSv1 allowed, no role attached")


def test_fake_imds_default_session_token_is_material():
    """Without --session-token the role's credentials carry the fake's own token: the leak checks
    must know it as well as the session tokens it issued."""
    with aws_fake.FakeProcess("fake_imds.py", "ASIAIMDS000000000001", "imds-secret") as fake:
        listing = "/latest/meta-data/iam/security-credentials/"
        status, _, token = imds_request(fake, "PUT", "/latest/api/token",
                                        {"X-aws-ec2-metadata-token-ttl-seconds": "60"})
        assert_eq(status, 200, "token")
        status, _, body = imds_request(fake, "GET", listing + "fake-instance-role",
                                       {"X-aws-ec2-metadata-token": token})
        assert_eq(status, 200, "credentials")
        material = fake.control("GET", "/_fake/secret-material")["material"]
        assert_secret_in(json.loads(body)["Token"], material,
                         "the session token handed out is material")
        assert_secret_in(token, material, "the IMDS session token is material")


def test_fake_container_creds_checks_the_authorization_token():
    with aws_fake.FakeProcess("fake_container_creds.py", "ASIATASK000000000001", "task-secret") as fake:
        fake.control("POST", "/_fake/state", {"path": "/v1/credentials", "authorization": "pod-token"})
        for headers, want in (({}, "absent"), ({"Authorization": "other"}, "mismatched")):
            status, _, body = imds_request(fake, "GET", "/v1/credentials", headers)
            assert_eq((status, json.loads(body)["message"]), (401, "Authorization token is missing or invalid"), want)
        status, headers, body = imds_request(fake, "GET", "/v1/credentials", {"Authorization": "pod-token"})
        doc = json.loads(body)
        assert_eq((status, headers["content-type"], doc["AccessKeyId"], doc["AccountId"]),
                  (200, "application/json", "ASIATASK000000000001", "123456789012"), "credentials")
        assert "x-amzn-requestid" not in headers, "no AWS request id"
        status, _, _ = imds_request(fake, "GET", "/v2/other", {"Authorization": "pod-token"})
        assert_eq(status, 404, "another path")
        status, _, _ = imds_request(fake, "POST", "/v1/credentials", {"Authorization": "pod-token"})
        assert_eq(status, 405, "another method")
        assert_eq([c["authorization"] for c in fake.calls()][:3], ["absent", "mismatched", "matched"], "log")
        material = fake.control("GET", "/_fake/secret-material")["material"]
        assert_secret_in("pod-token", material, "the authorization token is material")
        assert_secret_in(doc["Token"], material, "the default session token handed out is material")


if __name__ == "__main__":
    smtest.run(globals())
