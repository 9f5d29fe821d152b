#!/usr/bin/env python3
"""A local container credentials endpoint for tests (the ECS agent's 169.254.170.2 and EKS Pod
Identity's 169.254.170.23 answer the same way), on the shared fake server (aws_fake.py).

    python3 tests/fakes/fake_container_creds.py --port 0 --port-file FILE --access-key AKID \
        --secret-key SECRET [--session-token TOKEN] [aws_fake's options]

The keys are the task's (pod's) role credentials this endpoint hands out; requests are not
signed. Behaviour as the ECS Developer Guide ("Task IAM role") and the EKS User Guide ("Pod
Identity") describe it:
    GET <path>  -> 200 application/json {"RoleArn", "AccessKeyId", "SecretAccessKey", "Token",
        "Expiration", "AccountId"}. With an authorization token in the state, the request's
        Authorization header must equal it: without one or with another -> 401
        {"message": "..."} [assumed text and status]. Another path -> 404 {"message"}
        [assumed]; another method -> 405 [assumed].
State (POST /_fake/state): {"path": "/v2/credentials/<id>" (default "/v2/credentials/fake-task"),
    "authorization": null | "<token>", "expiration": ISO 8601 (default now + 6 h),
    "role_arn": "arn:aws:iam::<account>:role/fake-task-role"}
Control API: aws_fake's; calls carry "operation" (GetCredentials) and "authorization" (absent,
matched, mismatched). Never a token or a key.
"""
import datetime
import hmac
import json
import os
import sys
import threading
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aws_fake  # noqa: E402

DEFAULT_SESSION_TOKEN = "fake-container-session-token"  # handed out without --session-token


def _iso(t):
    return datetime.datetime.fromtimestamp(int(t), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class ContainerCreds(aws_fake.Service):
    name = "fake-container-creds"
    content_type = "application/json"
    request_ids = False

    def __init__(self, opts):
        self.opts = opts
        self.lock = threading.Lock()
        self.doc = {}

    def load(self, doc):
        if not isinstance(doc, dict) or set(doc) - {"path", "authorization", "expiration", "role_arn"}:
            raise ValueError("state keys: path, authorization, expiration, role_arn")
        if not str(doc.get("path", "/")).startswith("/"):
            raise ValueError("path starts with /")
        with self.lock:
            self.doc = dict(doc)

    def state(self):
        with self.lock:
            return {k: v for k, v in self.doc.items() if k != "authorization"}

    def reset(self, state):
        if state:
            with self.lock:
                self.doc = {}

    def secret_material(self):
        with self.lock:
            out = {self.doc["authorization"]} if self.doc.get("authorization") else set()
        # The session token handed out with the credentials (an explicit --session-token is
        # aws_fake's material already; the default one is this service's).
        out.add(self.session_token())
        return out

    def session_token(self):
        return self.opts.session_token or DEFAULT_SESSION_TOKEN

    def setting(self, key, default):
        with self.lock:
            return self.doc.get(key, default)

    def parse(self, handler, method, body, call):
        call.update(operation="GetCredentials" if method == "GET" else None, authorization=None)
        return call["operation"], {"path": urllib.parse.urlsplit(handler.path).path,
                                   "authorization": handler.headers.get("Authorization")}

    def authenticate(self, handler, method, body, op, request):
        return False  # not signed; the authorization token is checked in answer()

    def error_body(self, err, request_id):
        return json.dumps({"message": err.message}).encode()

    def answer(self, op, request, call, ctx):
        if op is None:
            raise aws_fake.ApiError("MethodNotAllowed", "Method not allowed", 405)
        if request["path"] != self.setting("path", "/v2/credentials/fake-task"):
            raise aws_fake.ApiError("NotFound", "No credentials for this path", 404)
        want, got = self.setting("authorization", None), request["authorization"]
        if want is not None:
            call["authorization"] = ("absent" if got is None else
                                     "matched" if hmac.compare_digest(got.encode(), want.encode()) else "mismatched")
            if call["authorization"] != "matched":
                raise aws_fake.ApiError("Unauthorized", "Authorization token is missing or invalid", 401)
        now = self.server.now()
        return json.dumps({
            "RoleArn": self.setting("role_arn", "arn:aws:iam::%s:role/fake-task-role" % self.opts.account),
            "AccessKeyId": self.opts.access_key,
            "SecretAccessKey": self.opts.secret_key,
            "Token": self.session_token(),
            "Expiration": self.setting("expiration", None) or _iso(now + 6 * 3600),
            "AccountId": self.opts.account,
        }).encode()


def main(argv=None):
    return aws_fake.main(aws_fake.arg_parser("Local container credentials endpoint for tests."), "container",
                         ContainerCreds, argv)


if __name__ == "__main__":
    sys.exit(main())
