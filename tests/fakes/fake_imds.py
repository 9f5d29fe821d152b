#!/usr/bin/env python3
"""A local EC2 instance metadata service (IMDS) for tests, on the shared fake server (aws_fake.py):
the part an SDK's credential chain uses, with IMDSv2 sessions.

    python3 tests/fakes/fake_imds.py --port 0 --port-file FILE --access-key AKID --secret-key SECRET \
        [--session-token TOKEN] [aws_fake's options]

The keys are the instance role's credentials this service hands out (not checked on requests:
IMDS is not signed). Behaviour as the EC2 User Guide ("Use IMDSv2", "Retrieve security
credentials from instance metadata") describes it:
    PUT /latest/api/token  with X-aws-ec2-metadata-token-ttl-seconds: 1..21600 -> 200, the token
        as text/plain, the TTL echoed in the same header. No or a bad TTL -> 400; a request with
        X-Forwarded-For -> 403 (IMDS refuses tokens through a proxy).
    GET /latest/meta-data/iam/security-credentials/  -> the role's name; 404 without a role.
    GET /latest/meta-data/iam/security-credentials/<role>  -> {"Code": "Success", "LastUpdated",
        "Type": "AWS-HMAC", "AccessKeyId", "SecretAccessKey", "Token", "Expiration"}; 404 for
        another name. With "code" in the state: {"Code", "Message", "LastUpdated"} only (how IMDS
        reports a role EC2 cannot assume).
    Every GET needs X-aws-ec2-metadata-token with a live token (401 without or with a wrong or
    expired one) unless http_tokens is "optional" (IMDSv1 allowed). Other paths: 404; other
    methods: 405. Errors are IMDS's small XHTML pages ("401 - Unauthorized") [assumed exact text].
State (POST /_fake/state): {"role": "name" | null (default "fake-instance-role"),
    "http_tokens": "required" (default) | "optional", "expiration": ISO 8601 (default now + 6 h),
    "code": null | "AssumeRoleUnauthorizedAccess", "message": "..."}
Control API: aws_fake's; calls carry "operation" (PutToken, GetRoleName, GetCredentials,
GetMetadata), "token" (valid, missing, invalid, expired) and "ttl". Never a token or a key.
"""
import datetime
import json
import os
import re
import secrets
import sys
import threading
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aws_fake  # noqa: E402

ROLE_PATH = "/latest/meta-data/iam/security-credentials/"
TTL_HEADER = "X-aws-ec2-metadata-token-ttl-seconds"
TOKEN_HEADER = "X-aws-ec2-metadata-token"
DEFAULT_SESSION_TOKEN = "fake-imds-session-token"  # handed out without --session-token
REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
           405: "Method Not Allowed"}


def _iso(t):
    return datetime.datetime.fromtimestamp(int(t), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Imds(aws_fake.Service):
    name = "fake-imds"
    content_type = "text/plain"
    error_content_type = "text/html"
    request_ids = False

    def __init__(self, opts):
        self.opts = opts
        self.lock = threading.Lock()
        self.tokens = {}  # token -> expiry (server time)
        self.doc = {}

    def load(self, doc):
        if not isinstance(doc, dict) or set(doc) - {"role", "http_tokens", "expiration", "code", "message"}:
            raise ValueError('state keys: role, http_tokens, expiration, code, message')
        if doc.get("http_tokens", "required") not in ("required", "optional"):
            raise ValueError("http_tokens is required or optional")
        if doc.get("role") is not None and not re.fullmatch(r"[\w+=,.@-]{1,64}", str(doc["role"])):
            raise ValueError("role must be an IAM role name")
        with self.lock:
            self.doc = dict(doc)

    def state(self):
        with self.lock:
            return dict(self.doc)

    def reset(self, state):
        with self.lock:
            self.tokens = {}
            if state:
                self.doc = {}

    def secret_material(self):
        with self.lock:
            out = set(self.tokens)
        # The session token handed out with the role's credentials (an explicit --session-token
        # is aws_fake's material already; the default one is this service's).
        out.add(self.session_token())
        return out

    def session_token(self):
        return self.opts.session_token or DEFAULT_SESSION_TOKEN

    def setting(self, key, default):
        with self.lock:
            return self.doc.get(key, default)

    def parse(self, handler, method, body, call):
        path = urllib.parse.urlsplit(handler.path).path
        if method == "PUT" and path == "/latest/api/token":
            op = "PutToken"
        elif method == "GET" and path == ROLE_PATH:
            op = "GetRoleName"
        elif method == "GET" and path.startswith(ROLE_PATH):
            op = "GetCredentials"
        else:
            op = "GetMetadata" if method == "GET" else None
        call.update(operation=op, token=None, ttl=handler.headers.get(TTL_HEADER))
        return op, {"method": method, "path": path, "headers": handler.headers}

    def authenticate(self, handler, method, body, op, request):
        return False  # IMDS is not signed; sessions are checked in answer()

    def error_body(self, err, request_id):
        reason = REASONS.get(err.status, err.code)
        return ('<?xml version="1.0" encoding="iso-8859-1"?>\n'
                '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"\n'
                '\t"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n'
                '<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">\n'
                ' <head>\n  <title>%d - %s</title>\n </head>\n <body>\n  <h1>%d - %s</h1>\n </body>\n</html>\n'
                % (err.status, reason, err.status, reason)).encode()

    def fail(self, status):
        return aws_fake.ApiError(REASONS[status].replace(" ", ""), REASONS[status], status)

    def put_token(self, request, call, ctx):
        if request["headers"].get("X-Forwarded-For"):
            raise self.fail(403)
        ttl = call["ttl"]
        if ttl is None or not re.fullmatch(r"\d{1,5}", ttl.strip()) or not 1 <= int(ttl) <= 21600:
            raise self.fail(400)
        token = secrets.token_urlsafe(42)
        with self.lock:
            self.tokens[token] = self.server.now() + int(ttl)
        ctx["headers"] = [(TTL_HEADER, str(int(ttl)))]
        return token.encode()

    def check_token(self, request, call):
        token = request["headers"].get(TOKEN_HEADER)
        with self.lock:
            expiry = self.tokens.get(token) if token is not None else None
        call["token"] = ("missing" if token is None else "invalid" if expiry is None else
                         "expired" if expiry <= self.server.now() else "valid")
        if call["token"] != "valid" and (call["token"] != "missing" or
                                         self.setting("http_tokens", "required") == "required"):
            raise self.fail(401)

    def answer(self, op, request, call, ctx):
        if op is None:
            raise self.fail(405)
        if op == "PutToken":
            return self.put_token(request, call, ctx)
        self.check_token(request, call)
        role = self.setting("role", "fake-instance-role")
        if op == "GetMetadata" or role is None:
            raise self.fail(404)
        if op == "GetRoleName":
            return role.encode()
        if request["path"][len(ROLE_PATH):] != role:
            raise self.fail(404)
        now = self.server.now()
        doc = {"Code": self.setting("code", None) or "Success", "LastUpdated": _iso(now - 60)}
        if doc["Code"] != "Success":
            doc["Message"] = self.setting("message", "") or ""
        else:
            doc.update(Type="AWS-HMAC", AccessKeyId=self.opts.access_key, SecretAccessKey=self.opts.secret_key,
                       Token=self.session_token(),
                       Expiration=self.setting("expiration", None) or _iso(now + 6 * 3600))
        return json.dumps(doc, indent=2).encode()


def main(argv=None):
    return aws_fake.main(aws_fake.arg_parser("Local EC2 instance metadata service for tests."), "imds", Imds,
                         argv)


if __name__ == "__main__":
    sys.exit(main())
