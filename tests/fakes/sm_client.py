#!/usr/bin/env python3
"""A small signed Secrets Manager client (library + CLI), standard library only.

Library:
    sys.path.insert(0, "<repo>/tests/fakes")
    from sm_client import Client, AwsError, FakeProcess
    with FakeProcess(access_key="AKID", secret_key="SECRET") as fake:      # starts the emulator
        c = Client(fake.endpoint, access_key="AKID", secret_key="SECRET")
        c.call("CreateSecret", {"Name": "db", "SecretString": "..."})     # -> dict, or raises AwsError
        fake.control("POST", "/_fake/faults", {"operation": "GetSecretValue", "error": "ThrottlingException"})

CLI (AWS CLI style; output is the JSON response; exit 254 with the AWS error on stderr on failure,
255 when the endpoint cannot be reached):
    python3 tests/fakes/sm_client.py --endpoint URL [--region R --access-key A --secret-key S \
        --session-token T --ca-file F] <op> [args]
    ops: create-secret, describe-secret, get-secret-value, put-secret-value, rotate-secret,
         update-secret-version-stage, list-secret-version-ids, get-random-password,
         cancel-rotate-secret, delete-secret, list-secrets, call <Operation> <json-body>
Credentials and region default to AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
AWS_REGION / AWS_DEFAULT_REGION; the endpoint to SECRETS_MANAGER_ENDPOINT.

Requests are signed with sm_sigv4 (the same independent SigV4 code the emulator verifies with).
The connection is kept alive and reused; it is reopened once if the server closed it.
"""
import argparse
import base64
import http.client
import json
import os
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sm_sigv4  # noqa: E402

JSON_CT = "application/x-amz-json-1.1"
HERE = os.path.dirname(os.path.abspath(__file__))


class AwsError(Exception):
    """A non-2xx answer: .status, .code (namespace and ':...' stripped), .message, .body, .headers."""

    def __init__(self, status, code, message, body=None, headers=None, operation=None):
        super().__init__("%s (%s): %s" % (code, status, message))
        self.status = status
        self.code = code
        self.message = message
        self.body = body
        self.headers = headers or {}
        self.operation = operation


def parse_error_code(raw_type, header=None):
    """The botocore rule: drop everything up to the last '#' and from the first ':'."""
    code = raw_type or header or ""
    code = code.split(":", 1)[0]
    return code.rsplit("#", 1)[-1]


class Response:
    def __init__(self, status, headers, raw):
        self.status = status
        self.headers = headers  # lowercase name -> value
        self.raw = raw
        try:
            self.json = json.loads(raw.decode("utf-8")) if raw else {}
        except (ValueError, UnicodeDecodeError):
            self.json = None


class Client:
    def __init__(
        self,
        endpoint,
        region=None,
        access_key=None,
        secret_key=None,
        session_token=None,
        timeout=30.0,
        ca_file=None,
        service="secretsmanager",
        retry_stale=True,
    ):
        self.endpoint = endpoint.rstrip("/")
        url = urllib.parse.urlsplit(self.endpoint)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError("endpoint must be http(s)://host[:port]")
        self.scheme = url.scheme
        self.host = url.hostname
        self.port = url.port or (443 if url.scheme == "https" else 80)
        default_port = 443 if url.scheme == "https" else 80
        self.host_header = self.host if self.port == default_port else "%s:%d" % (self.host, self.port)
        self.region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        self.access_key = access_key if access_key is not None else os.environ.get("AWS_ACCESS_KEY_ID")
        self.secret_key = secret_key if secret_key is not None else os.environ.get("AWS_SECRET_ACCESS_KEY")
        if session_token is None:
            session_token = os.environ.get("AWS_SESSION_TOKEN")
        self.session_token = session_token or None
        self.timeout = timeout
        self.ca_file = ca_file
        self.service = service
        self.retry_stale = retry_stale  # reopen once when a kept-alive connection turns out closed
        self.conn = None

    # -- connection --------------------------------------------------------------------------
    def _connect(self):
        if self.scheme == "https":
            ctx = ssl.create_default_context(cafile=self.ca_file)
            return http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout, context=ctx)
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def _roundtrip(self, method, path, headers, body):
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = self._connect()
            reused = self.conn.sock is not None
            try:
                self.conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
                for name, value in headers:
                    self.conn.putheader(name, value)
                self.conn.endheaders(body)
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

    # -- requests ----------------------------------------------------------------------------
    def request(
        self,
        operation,
        body=None,
        *,
        raw_body=None,
        when=None,
        secret_key=None,
        access_key=None,
        session_token=None,
        extra_headers=None,
        sign=True,
        mutate=None,
        target=None,
        content_type=JSON_CT,
    ):
        """Send one request and return a Response (never raises for an HTTP error status).

        For tests that need a bad request: `when` (datetime) signs with another date; secret_key /
        access_key / session_token override the credentials ("" drops the token); extra_headers are
        added before signing (and so signed); sign=False sends no Authorization; mutate(headers,
        body) -> (headers, body) runs AFTER signing, to tamper with what was signed.
        """
        data = raw_body if raw_body is not None else json.dumps(body if body is not None else {}).encode("utf-8")
        headers = [
            ("Host", self.host_header),
            ("Content-Type", content_type),
            ("X-Amz-Target", target or "secretsmanager.%s" % operation),
        ]
        headers += list(extra_headers or [])
        if sign:
            token = self.session_token if session_token is None else (session_token or None)
            headers, _ = sm_sigv4.sign(
                "POST",
                "/",
                "",
                headers,
                data,
                access_key or self.access_key,
                secret_key or self.secret_key,
                self.region,
                self.service,
                session_token=token,
                when=when,
            )
        if mutate is not None:
            headers, data = mutate(list(headers), data)
        headers.append(("Content-Length", str(len(data))))
        return self._roundtrip("POST", "/", headers, data)

    def call(self, operation, body=None, **kwargs):
        """Signed call; returns the decoded JSON response or raises AwsError."""
        resp = self.request(operation, body, **kwargs)
        if 200 <= resp.status < 300:
            return resp.json if resp.json is not None else {}
        doc = resp.json if isinstance(resp.json, dict) else {}
        code = parse_error_code(doc.get("__type"), resp.headers.get("x-amzn-errortype")) or str(resp.status)
        message = doc.get("message", doc.get("Message", ""))
        raise AwsError(resp.status, code, message, doc, resp.headers, operation)

    # -- convenience wrappers (AWS names; None arguments are left out) -----------------------
    def _c(self, operation, **members):
        return self.call(operation, {k: v for k, v in members.items() if v is not None})

    def create_secret(self, Name, SecretString=None, ClientRequestToken=None, **kw):
        return self._c("CreateSecret", Name=Name, SecretString=SecretString,
                       ClientRequestToken=ClientRequestToken or str(uuid.uuid4()), **kw)

    def describe_secret(self, SecretId):
        return self._c("DescribeSecret", SecretId=SecretId)

    def get_secret_value(self, SecretId, VersionStage=None, VersionId=None):
        return self._c("GetSecretValue", SecretId=SecretId, VersionStage=VersionStage, VersionId=VersionId)

    def put_secret_value(self, SecretId, SecretString=None, ClientRequestToken=None, VersionStages=None, **kw):
        return self._c("PutSecretValue", SecretId=SecretId, SecretString=SecretString,
                       ClientRequestToken=ClientRequestToken or str(uuid.uuid4()), VersionStages=VersionStages, **kw)

    def update_secret_version_stage(self, SecretId, VersionStage, MoveToVersionId=None, RemoveFromVersionId=None):
        return self._c("UpdateSecretVersionStage", SecretId=SecretId, VersionStage=VersionStage,
                       MoveToVersionId=MoveToVersionId, RemoveFromVersionId=RemoveFromVersionId)

    def rotate_secret(self, SecretId, ClientRequestToken=None, **kw):
        return self._c("RotateSecret", SecretId=SecretId, ClientRequestToken=ClientRequestToken or str(uuid.uuid4()), **kw)

    def list_secret_version_ids(self, SecretId, **kw):
        return self._c("ListSecretVersionIds", SecretId=SecretId, **kw)

    def get_random_password(self, **kw):
        return self._c("GetRandomPassword", **kw)


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


class FakeProcess:
    """Start fake_secretsmanager.py as a child process on a free port; stop() (or the context
    manager) terminates it. Extra keyword options map to flags (lambda_invoke_url=...,
    rotation_retries=..., session_token=..., state_file=..., tls_cert=..., tls_key=...)."""

    def __init__(self, access_key, secret_key, python=None, startup_timeout=10.0, stderr=None, **options):
        self.dir = tempfile.mkdtemp(prefix="fake-sm-")
        port_file = os.path.join(self.dir, "port")
        argv = [python or sys.executable, os.path.join(HERE, "fake_secretsmanager.py"), "--port", "0",
                "--port-file", port_file, "--access-key", access_key, "--secret-key", secret_key]
        for key, value in options.items():
            if value is None or value is False:
                continue
            flag = "--" + key.replace("_", "-")
            argv += [flag] if value is True else [flag, str(value)]
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
                raise RuntimeError("fake_secretsmanager exited with %d" % self.proc.returncode)
            time.sleep(0.02)
        if self.port is None:
            self.stop()
            raise RuntimeError("fake_secretsmanager did not write its port file")
        scheme = "https" if options.get("tls_cert") else "http"
        self.endpoint = "%s://127.0.0.1:%d" % (scheme, self.port)
        self.ca_file = None

    def control(self, method, path, body=None):
        return control(self.endpoint, method, path, body, ca_file=self.ca_file)

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


# ---------------------------------------------------------------------------------------------
# CLI


def _json_arg(text):
    try:
        return json.loads(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError("not JSON: %s" % e) from None


def build_parser():
    p = argparse.ArgumentParser(prog="sm_client.py", description="Signed Secrets Manager client (AWS CLI style).")
    p.add_argument("--endpoint", "--endpoint-url", dest="endpoint", default=os.environ.get("SECRETS_MANAGER_ENDPOINT"))
    p.add_argument("--region")
    p.add_argument("--access-key")
    p.add_argument("--secret-key")
    p.add_argument("--session-token")
    p.add_argument("--ca-file")
    p.add_argument("--timeout", type=float, default=30.0)
    sub = p.add_subparsers(dest="op", required=True)

    s = sub.add_parser("create-secret")
    s.add_argument("--name", required=True)
    s.add_argument("--secret-string")
    s.add_argument("--secret-binary", help="base64")
    s.add_argument("--description")
    s.add_argument("--kms-key-id")
    s.add_argument("--client-request-token")
    s.add_argument("--tags", type=_json_arg, help='JSON list of {"Key","Value"}')

    s = sub.add_parser("describe-secret")
    s.add_argument("--secret-id", required=True)

    s = sub.add_parser("get-secret-value")
    s.add_argument("--secret-id", required=True)
    s.add_argument("--version-stage")
    s.add_argument("--version-id")

    s = sub.add_parser("put-secret-value")
    s.add_argument("--secret-id", required=True)
    s.add_argument("--secret-string")
    s.add_argument("--secret-binary", help="base64")
    s.add_argument("--client-request-token", help="default: a new UUID")
    s.add_argument("--version-stages", nargs="+")
    s.add_argument("--rotation-token")

    s = sub.add_parser("rotate-secret")
    s.add_argument("--secret-id", required=True)
    s.add_argument("--rotation-lambda-arn")
    s.add_argument("--rotation-rules", type=_json_arg)
    s.add_argument("--client-request-token", help="default: a new UUID")
    g = s.add_mutually_exclusive_group()
    g.add_argument("--rotate-immediately", dest="rotate_immediately", action="store_true", default=None)
    g.add_argument("--no-rotate-immediately", dest="rotate_immediately", action="store_false")

    s = sub.add_parser("update-secret-version-stage")
    s.add_argument("--secret-id", required=True)
    s.add_argument("--version-stage", required=True)
    s.add_argument("--move-to-version-id")
    s.add_argument("--remove-from-version-id")

    s = sub.add_parser("list-secret-version-ids")
    s.add_argument("--secret-id", required=True)
    s.add_argument("--max-results", type=int)
    s.add_argument("--next-token")
    s.add_argument("--include-deprecated", action="store_true", default=None)
    s.add_argument("--all-pages", action="store_true", help="follow NextToken and merge Versions")

    s = sub.add_parser("get-random-password")
    s.add_argument("--password-length", type=int)
    s.add_argument("--exclude-characters")
    for flag in ("exclude-numbers", "exclude-punctuation", "exclude-uppercase", "exclude-lowercase", "include-space"):
        s.add_argument("--" + flag, action="store_true", default=None)
    g = s.add_mutually_exclusive_group()
    g.add_argument("--require-each-included-type", dest="require_each_included_type", action="store_true", default=None)
    g.add_argument("--no-require-each-included-type", dest="require_each_included_type", action="store_false")

    s = sub.add_parser("cancel-rotate-secret")
    s.add_argument("--secret-id", required=True)

    s = sub.add_parser("delete-secret")
    s.add_argument("--secret-id", required=True)
    s.add_argument("--recovery-window-in-days", type=int)
    s.add_argument("--force-delete-without-recovery", action="store_true", default=None)

    s = sub.add_parser("list-secrets")
    s.add_argument("--max-results", type=int)
    s.add_argument("--next-token")

    s = sub.add_parser("call", help="any operation with a raw JSON body")
    s.add_argument("operation")
    s.add_argument("body", nargs="?", type=_json_arg, default={})
    return p


# CLI option (argparse dest) -> AWS member name, per operation.
_MEMBERS = {
    "name": "Name", "secret_string": "SecretString", "secret_binary": "SecretBinary", "description": "Description",
    "kms_key_id": "KmsKeyId", "client_request_token": "ClientRequestToken", "tags": "Tags", "secret_id": "SecretId",
    "version_stage": "VersionStage", "version_id": "VersionId", "version_stages": "VersionStages",
    "rotation_token": "RotationToken", "rotation_lambda_arn": "RotationLambdaARN", "rotation_rules": "RotationRules",
    "rotate_immediately": "RotateImmediately", "move_to_version_id": "MoveToVersionId",
    "remove_from_version_id": "RemoveFromVersionId", "max_results": "MaxResults", "next_token": "NextToken",
    "include_deprecated": "IncludeDeprecated", "password_length": "PasswordLength",
    "exclude_characters": "ExcludeCharacters", "exclude_numbers": "ExcludeNumbers",
    "exclude_punctuation": "ExcludePunctuation", "exclude_uppercase": "ExcludeUppercase",
    "exclude_lowercase": "ExcludeLowercase", "include_space": "IncludeSpace",
    "require_each_included_type": "RequireEachIncludedType", "recovery_window_in_days": "RecoveryWindowInDays",
    "force_delete_without_recovery": "ForceDeleteWithoutRecovery",
}
_TOKEN_OPS = {"create-secret", "put-secret-value", "rotate-secret"}  # the AWS CLI fills the token in


def main(argv=None):
    args = build_parser().parse_args(argv)
    if not args.endpoint:
        print("sm_client: --endpoint (or SECRETS_MANAGER_ENDPOINT) is required", file=sys.stderr)
        return 2
    client = Client(args.endpoint, args.region, args.access_key, args.secret_key, args.session_token,
                    timeout=args.timeout, ca_file=args.ca_file)
    if not client.access_key or not client.secret_key:
        print("sm_client: no credentials (--access-key/--secret-key or AWS_* env vars)", file=sys.stderr)
        return 2
    if args.op == "call":
        operation, body = args.operation, args.body
    else:
        operation = "".join(w.capitalize() for w in args.op.split("-"))
        body = {}
        for dest, member in _MEMBERS.items():
            value = getattr(args, dest, None)
            if value is not None:
                body[member] = value
        if args.op in _TOKEN_OPS and "ClientRequestToken" not in body:
            body["ClientRequestToken"] = str(uuid.uuid4())
        if "SecretBinary" in body:
            base64.b64decode(body["SecretBinary"], validate=True)
    try:
        if args.op == "list-secret-version-ids" and args.all_pages:
            out = None
            while True:
                page = client.call(operation, body)
                if out is None:
                    out = page
                else:
                    out["Versions"].extend(page.get("Versions", []))
                if not page.get("NextToken"):
                    out.pop("NextToken", None)
                    break
                body["NextToken"] = page["NextToken"]
        else:
            out = client.call(operation, body)
    except AwsError as e:
        print("An error occurred (%s) when calling the %s operation: %s" % (e.code, operation, e.message), file=sys.stderr)
        return 254
    except (OSError, http.client.HTTPException) as e:
        print("Could not connect to the endpoint URL: \"%s\" (%s)" % (args.endpoint, e), file=sys.stderr)
        return 255
    finally:
        client.close()
    print(json.dumps(out, indent=4, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
