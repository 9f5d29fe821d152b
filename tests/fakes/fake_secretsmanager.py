#!/usr/bin/env python3
"""A local AWS Secrets Manager emulator for tests (Python 3 standard library only).

    python3 tests/fakes/fake_secretsmanager.py --port 0 --port-file FILE --access-key AKID --secret-key SECRET \
        [--region us-east-1] [--session-token TOKEN] [--lambda-invoke-url URL] [--rotation-retries N] \
        [--tls-cert CERT --tls-key KEY] [--state-file FILE] [--account 123456789012] \
        [--lambda-timeout SECONDS] [--rotation-retry-delay-ms MS] [--bind 127.0.0.1] [--verbose]
--access-key/--secret-key default to AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY. The port file gets
"<port>\n", written atomically once the socket listens. SIGTERM/SIGINT exit 0.

Behaviour follows AWS (the AWS Secrets Manager API Reference and User Guide: staging labels,
RotateSecret's pending version, PutSecretValue idempotency, error shapes), not moto, whose
deviations this fake does not copy. Where the real service's behaviour is not verified, the choice
made here is marked [assumed] in a comment.

Wire: `POST /`, `X-Amz-Target: secretsmanager.<Op>`, `Content-Type: application/x-amz-json-1.1`, JSON
body; every API request is SigV4-verified (sm_sigv4.verify). Responses are application/x-amz-json-1.1
with `x-amzn-RequestId`; timestamps are epoch-second numbers; fields without a value are omitted.
Modeled errors: 400 {"__type", "Message"}; auth/throttle-layer errors: {"__type", "message"};
InternalServiceError 500; ServiceUnavailable 503. HTTP/1.1 keep-alive.

Test-only control API (unsigned JSON, under /_fake/; never exists on AWS):
    POST /_fake/faults   {"operation": "<Op>"|"*", "error": E, "count": N, "delay_ms": M,
                          "status": S, "message": "...", "skip": K}   (or a list of these)
                         The next N calls of <Op> (after letting K through) fail with E, checked
                         after SigV4 verification passed. E is an AWS code (ThrottlingException,
                         InternalServiceError 500, ServiceUnavailable 503, or any other, 400 unless
                         "status"), "reset" (TCP RST, no answer), "close" (FIN, no answer) or
                         "delay" (sleep delay_ms, then answer normally; delay_ms also delays an
                         error). count defaults to 1; -1 means until /_fake/reset. "apply": true
                         makes the request take effect first, so only its answer is lost.
    GET  /_fake/faults   pending faults
    GET  /_fake/calls    every API call in arrival order of its answer:
                         {"operation", "secret_id", "status" (0: no answer), "error",
                          "rotation_token_present", "fault", "request_id", "time", and the request's
                          non-secret members ClientRequestToken, VersionId, VersionStage(s),
                          MoveToVersionId, RemoveFromVersionId, RotateImmediately, ...}
                         Never a SecretString, SecretBinary, RotationToken or signature.
    POST /_fake/reset    clears faults and calls ({"state": true} also wipes secrets and rotations)
    GET  /_fake/state    {"secrets": [{Name, ARN, ..., Versions: [{VersionId, VersionStages,
                         SecretString|SecretBinary, HasValue, RotationTokenPresent, ...}]}]}
                         with VALUES: a test-only door for checking what the code under test stored.
    POST /_fake/state    replace the state with a document of that shape (seeding; ARN optional)
    GET  /_fake/stats    {"connections": accepted TCP connections, "requests": HTTP requests
                         (API and control), "api_calls": calls recorded}
    POST /_fake/clock    {"skew_seconds": S}: the fake's clock (signature window, timestamps) runs
                         S seconds off real time
    GET  /_fake/rotations[?secret_id=X][&wait=SECONDS]   one record per RotateSecret that started a
                         rotation: {"id", "secret_name", "secret_arn", "version_id", "lambda_arn",
                         "rotate_immediately", "driven", "status", "attempts", "steps": [{"attempt",
                         "step", "ok", "status", "smr_error", "error_type", "error_message",
                         "ms"}], "error", "puts": [{"attempt", "rotation_token": "matched"|
                         "mismatch"|"absent"}], "rotation_token_forwarded", "started", "finished"}.
                         status: running|succeeded|failed|cancelled (driven here), or external|
                         succeeded|abandoned|ended|cancelled (no --lambda-invoke-url: whoever invokes
                         the function; "succeeded" once AWSCURRENT reaches the version). wait blocks
                         until no driven rotation is running.
    POST /_fake/driver   {"enabled": false} stops RotateSecret from invoking the function (the
                         harness runs the steps itself), true restores it; default true when
                         --lambda-invoke-url is given.
    GET  /_fake/rotation-event?secret_id=X&step=S   the Lambda event (with this rotation's
                         RotationToken) for the newest rotation of X, for harnesses that invoke the
                         function themselves.

Rotation: with --lambda-invoke-url, RotateSecret answers at once and a thread POSTs the event for
createSecret, setSecret, testSecret, finishSecret (only testSecret for RotateImmediately=false) to
that URL; 200 without X-Amz-Function-Error is success. A failed step (function error, HTTP error,
unreachable) or a finishSecret that leaves AWSCURRENT elsewhere fails the attempt; the whole rotation
is retried from createSecret --rotation-retries times with the same token and RotationToken.
Without --lambda-invoke-url nothing is invoked: the pending version (for RotateImmediately=false a
copy of the current value) stays until the harness's function run moves or removes the labels.
"""
import argparse
import base64
import binascii
import datetime
import http.server
import json
import os
import re
import secrets
import signal
import socket
import ssl
import string
import struct
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sm_sigv4  # noqa: E402

SERVICE = "secretsmanager"
JSON_CT = "application/x-amz-json-1.1"
CURRENT, PREVIOUS, PENDING = "AWSCURRENT", "AWSPREVIOUS", "AWSPENDING"
STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")
PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
ROTATION_TOKEN_RE = re.compile(r"^[a-zA-Z0-9\-]+$")
NAME_RE = re.compile(r"^[A-Za-z0-9/_+=.@!-]+$")
SUFFIX_CHARS = string.ascii_letters + string.digits

MSG_SECRET_NOT_FOUND = "Secrets Manager can't find the specified secret."
MSG_VALUE_NOT_FOUND_ID = "Secrets Manager can't find the specified secret value for VersionId: %s"
MSG_VALUE_NOT_FOUND_STAGE = "Secrets Manager can't find the specified secret value for staging label: %s"
MSG_STAGE_MISMATCH = "You provided a VersionStage that is not associated to the provided VersionId."
MSG_DELETED = "You can't perform this operation on the secret because it was marked for deletion."
MSG_NEED_TOKEN = "You must provide a ClientRequestToken value. We recommend a UUID-type value."
MSG_NO_LAMBDA = "No Lambda rotation function ARN is associated with this secret."
MSG_IN_PROGRESS = "A previous rotation isn't complete. That rotation will be reattempted."
MSG_TOKEN_IN_USE = "You can't use ClientRequestToken %s because that value is already in use for a version of secret %s."
MSG_REMOVE_FROM_EMPTY = (
    "The parameter RemoveFromVersionId can't be empty. Staging label %s is currently attached to version %s, "
    "so you must explicitly reference that version in RemoveFromVersionId."
)
MSG_PASSWORD_SHORT = "Password length is too short based on the required types."

# Modeled Secrets Manager errors carry "Message"; front-end (auth/throttle) errors carry "message".
MODELED = frozenset(
    [
        "ResourceNotFoundException",
        "InvalidRequestException",
        "InvalidParameterException",
        "ResourceExistsException",
        "LimitExceededException",
        "DecryptionFailure",
        "EncryptionFailure",
        "InternalServiceError",
        "InvalidNextTokenException",
        "PreconditionNotMetException",
        "MalformedPolicyDocumentException",
        "PublicPolicyException",
        "AccessDeniedException",
    ]
)
# Defaults for injected faults: status and message (texts from tests/data/secretsmanager/errors).
FAULT_DEFAULTS = {
    "ThrottlingException": (400, "Rate exceeded"),
    "InternalServiceError": (500, "An error occurred on the server side."),
    "InternalFailure": (500, "The request processing has failed because of an unknown error, exception or failure."),
    "ServiceUnavailable": (503, "Service Unavailable"),
    "LimitExceededException": (400, "The request failed because it would exceed one of the Secrets Manager quotas."),
    "DecryptionFailure": (400, "Secrets Manager can't decrypt the protected secret text using the provided KMS key."),
    "AccessDeniedException": (400, "Access to KMS is not allowed"),
    "ExpiredTokenException": (400, "The security token included in the request is expired"),
    "UnrecognizedClientException": (400, sm_sigv4.INVALID_TOKEN_MESSAGE),
    "InvalidSignatureException": (400, sm_sigv4.MISMATCH_MESSAGE),
    "ResourceNotFoundException": (400, MSG_SECRET_NOT_FOUND),
    "RequestTimeout": (408, "Request timed out"),
}


class ApiError(Exception):
    """An error response: code, message, HTTP status, and whether the body key is 'Message'."""

    def __init__(self, code, message, status=400, modeled=None):
        super().__init__("%s: %s" % (code, message))
        self.code = code
        self.message = message
        self.status = status
        self.modeled = code in MODELED if modeled is None else modeled

    def body(self):
        return {"__type": self.code, ("Message" if self.modeled else "message"): self.message}


def _rnf(message=MSG_SECRET_NOT_FOUND):
    return ApiError("ResourceNotFoundException", message)


def _invalid_request(message):
    return ApiError("InvalidRequestException", message)


def _invalid_param(message):
    return ApiError("InvalidParameterException", message)


def _clean(d):
    """Drop members without a value: the service never sends null."""
    return {k: v for k, v in d.items() if v is not None}


def _ts(t):
    return None if t is None else round(float(t), 3)


# ---------------------------------------------------------------------------------------------
# Input validation in the style of the AWS front end (ValidationException, lowercase "message").


class Validator:
    def __init__(self, body, prefix=""):
        self.body = body
        self.prefix = prefix  # e.g. "rotationRules." for members of a nested structure
        self.errors = []

    def _member(self, key):
        return self.prefix + key[0].lower() + key[1:]

    def _fail(self, key, value, constraint, sensitive=False):
        if value is None:
            shown = "Value null at"
        elif sensitive:
            shown = "Value at"
        else:
            shown = "Value '%s' at" % (value if not isinstance(value, list) else "[" + ", ".join(map(str, value)) + "]")
        self.errors.append("%s '%s' failed to satisfy constraint: %s" % (shown, self._member(key), constraint))

    def _type(self, key, want, value):
        ok = isinstance(value, want) and not (want is int and isinstance(value, bool))
        if not ok:
            raise ApiError("SerializationException", "Unexpected value type for member %s" % key, modeled=False)

    def string(self, key, lo=None, hi=None, required=False, pattern=None, sensitive=False):
        value = self.body.get(key)
        if value is None:
            if required:
                self._fail(key, None, "Member must not be null")
            return None
        self._type(key, str, value)
        if lo is not None and len(value) < lo:
            self._fail(key, value, "Member must have length greater than or equal to %d" % lo, sensitive)
        elif hi is not None and len(value) > hi:
            self._fail(key, value, "Member must have length less than or equal to %d" % hi, sensitive)
        elif pattern is not None and not pattern.match(value):
            self._fail(key, value, "Member must satisfy regular expression pattern: %s" % pattern.pattern, sensitive)
        return value

    def integer(self, key, lo=None, hi=None, required=False):
        value = self.body.get(key)
        if value is None:
            if required:
                self._fail(key, None, "Member must not be null")
            return None
        self._type(key, int, value)
        if lo is not None and value < lo:
            self._fail(key, value, "Member must have value greater than or equal to %d" % lo)
        elif hi is not None and value > hi:
            self._fail(key, value, "Member must have value less than or equal to %d" % hi)
        return value

    def boolean(self, key, default=None):
        value = self.body.get(key)
        if value is None:
            return default
        self._type(key, bool, value)
        return value

    def string_list(self, key, lo=None, hi=None, item_lo=None, item_hi=None):
        value = self.body.get(key)
        if value is None:
            return None
        self._type(key, list, value)
        for item in value:
            self._type(key, str, item)
        if lo is not None and len(value) < lo:
            self._fail(key, value, "Member must have length greater than or equal to %d" % lo)
        elif hi is not None and len(value) > hi:
            self._fail(key, value, "Member must have length less than or equal to %d" % hi)
        else:
            for item in value:
                if (item_lo is not None and len(item) < item_lo) or (item_hi is not None and len(item) > item_hi):
                    self._fail(
                        key,
                        value,
                        "Member must satisfy constraint: [Member must have length less than or equal to %d, "
                        "Member must have length greater than or equal to %d]" % (item_hi, item_lo),
                    )
                    break
        return value

    def obj(self, key):
        value = self.body.get(key)
        if value is None:
            return None
        self._type(key, dict, value)
        return value

    def done(self):
        if self.errors:
            n = len(self.errors)
            raise ApiError(
                "ValidationException",
                "%d validation error%s detected: %s" % (n, "" if n == 1 else "s", "; ".join(self.errors)),
                modeled=False,
            )


# ---------------------------------------------------------------------------------------------
# State


class Version:
    def __init__(self, vid, created, string_value=None, binary_value=None, stages=None):
        self.id = vid
        self.string = string_value
        self.binary = binary_value
        self.stages = list(stages or [])
        self.created = created
        self.accessed = None
        self.rotation_token_present = False

    @property
    def has_value(self):
        return self.string is not None or self.binary is not None

    def same_value(self, string_value, binary_value):
        return self.string == string_value and self.binary == binary_value

    def to_state(self):
        d = {
            "VersionId": self.id,
            "VersionStages": list(self.stages),
            "CreatedDate": _ts(self.created),
            "LastAccessedDate": _ts(self.accessed),
            "HasValue": self.has_value,
            "RotationTokenPresent": self.rotation_token_present,
        }
        if self.string is not None:
            d["SecretString"] = self.string
        if self.binary is not None:
            d["SecretBinary"] = base64.b64encode(self.binary).decode("ascii")
        return _clean(d)

    @classmethod
    def from_state(cls, d, now):
        v = cls(d["VersionId"], d.get("CreatedDate", now), d.get("SecretString"), None, d.get("VersionStages", []))
        if d.get("SecretBinary") is not None:
            v.binary = base64.b64decode(d["SecretBinary"])
        v.accessed = d.get("LastAccessedDate")
        v.rotation_token_present = bool(d.get("RotationTokenPresent"))
        return v


class Secret:
    def __init__(self, name, arn, created):
        self.name = name
        self.arn = arn
        self.description = None
        self.kms_key_id = None
        self.created = created
        self.changed = created
        self.accessed = None
        self.rotated = None
        self.rotation_configured = None
        self.deleted = None
        self.rotation_enabled = None
        self.lambda_arn = None
        self.rules = None
        self.tags = []
        self.versions = {}  # insertion-ordered: oldest first

    def holder(self, label):
        for v in self.versions.values():
            if label in v.stages:
                return v
        return None

    def detach(self, label, keep=None):
        for v in self.versions.values():
            if v is not keep and label in v.stages:
                v.stages.remove(label)

    def attach(self, version, label):
        self.detach(label, keep=version)
        if label not in version.stages:
            version.stages.append(label)

    def move_current(self, version):
        """AWSCURRENT -> version; the version it leaves gets AWSPREVIOUS (taken from its old holder).
        Returns the old AWSCURRENT holder (None if there was none or it is `version`)."""
        old = self.holder(CURRENT)
        if old is version:
            return None
        if old is not None:
            old.stages.remove(CURRENT)
            self.attach(old, PREVIOUS)
        self.attach(version, CURRENT)
        if old is not None:
            version.stages[:] = [s for s in version.stages if s != PREVIOUS]
        return old

    def next_rotation(self):
        if not self.rotation_enabled or not self.rules:
            return None
        base = self.rotated or self.rotation_configured
        if base is None:
            return None
        days = self.rules.get("AutomaticallyAfterDays")
        expr = self.rules.get("ScheduleExpression") or ""
        m = re.fullmatch(r"rate\((\d+) (hour|hours|day|days)\)", expr.strip())
        if m and m.group(2).startswith("hour"):
            return base + int(m.group(1)) * 3600
        if m:
            days = int(m.group(1))
        if not days:
            return None
        t = base + days * 86400
        return (int(t) // 86400 + 1) * 86400 - 1  # end of that UTC day, as the service reports it

    def to_state(self):
        return _clean(
            {
                "Name": self.name,
                "ARN": self.arn,
                "Description": self.description,
                "KmsKeyId": self.kms_key_id,
                "CreatedDate": _ts(self.created),
                "LastChangedDate": _ts(self.changed),
                "LastAccessedDate": _ts(self.accessed),
                "LastRotatedDate": _ts(self.rotated),
                "RotationConfiguredDate": _ts(self.rotation_configured),
                "DeletedDate": _ts(self.deleted),
                "RotationEnabled": self.rotation_enabled,
                "RotationLambdaARN": self.lambda_arn,
                "RotationRules": self.rules,
                "Tags": self.tags or None,
                "Versions": [v.to_state() for v in self.versions.values()],
            }
        )

    @classmethod
    def from_state(cls, d, region, account, now):
        name = d["Name"]
        arn = d.get("ARN") or "arn:aws:secretsmanager:%s:%s:secret:%s-%s" % (
            region,
            account,
            name,
            "".join(secrets.choice(SUFFIX_CHARS) for _ in range(6)),
        )
        s = cls(name, arn, d.get("CreatedDate", now))
        s.description = d.get("Description")
        s.kms_key_id = d.get("KmsKeyId")
        s.changed = d.get("LastChangedDate", s.created)
        s.accessed = d.get("LastAccessedDate")
        s.rotated = d.get("LastRotatedDate")
        s.rotation_configured = d.get("RotationConfiguredDate")
        s.deleted = d.get("DeletedDate")
        s.rotation_enabled = d.get("RotationEnabled")
        s.lambda_arn = d.get("RotationLambdaARN")
        s.rules = d.get("RotationRules")
        s.tags = list(d.get("Tags") or [])
        for vd in d.get("Versions", []):
            v = Version.from_state(vd, now)
            s.versions[v.id] = v
        return s


class Faults:
    """Queued fault injections; take() consumes one matching entry."""

    def __init__(self):
        self.lock = threading.Lock()
        self.items = []

    def add(self, spec):
        op = spec.get("operation") or "*"
        error = spec.get("error")
        if not isinstance(error, str) or not error:
            raise ValueError("fault needs an 'error' string")
        count = spec.get("count", 1)
        if not isinstance(count, int) or isinstance(count, bool) or count == 0 or count < -1:
            raise ValueError("count must be a positive integer or -1")
        item = {
            "operation": op,
            "error": error,
            "count": count,
            "delay_ms": int(spec.get("delay_ms", 0) or 0),
            "status": spec.get("status"),
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


class Store:
    """All secrets, the rotation records, and the operations. One lock guards everything; it is
    never held while the rotation driver waits on the Lambda."""

    def __init__(self, opts):
        self.opts = opts
        self.driver_enabled = True
        # Secret material handed out or seen (test-only, for the suite's hygiene check).
        self.material = set()
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.secrets = {}  # name -> Secret
        self.rotations = []
        self.skew = 0.0
        if opts.state_file and os.path.exists(opts.state_file):
            with open(opts.state_file, encoding="utf-8") as f:
                self.load_state(json.load(f))

    # -- clock and persistence --------------------------------------------------------------

    def secret_material(self, server):
        """Every secret this fake holds or has seen: secret keys, session tokens, signing keys of
        every day signatures were made, signatures, RandomPasswords, stored SecretStrings and the
        passwords inside them. For the suite's hygiene check (no output may contain any)."""
        with self.lock:
            out = set(self.material)
            dates = set()
            for r in self.rotations:
                out.add(r["_rotation_token"])
            for s in self.secrets.values():
                for v in s.versions.values():
                    if v.string:
                        out.add(v.string)
                        try:
                            doc = json.loads(v.string)
                        except ValueError:
                            doc = None
                        if isinstance(doc, dict) and isinstance(doc.get("password"), str):
                            out.add(doc["password"])
        today = datetime.datetime.now(datetime.timezone.utc)
        for delta in (-1, 0, 1):
            dates.add((today + datetime.timedelta(days=delta)).strftime("%Y%m%d"))
        for secret_key, token in server.credentials.values():
            out.add(secret_key)
            if token:
                out.add(token)
            for d in dates:
                out.update(sm_sigv4.signing_keys_hex(secret_key, d, server.opts.region, SERVICE).values())
        return {"material": sorted(x for x in out if len(x) >= 8)}

    def driving(self):
        """Whether RotateSecret invokes the function itself (as AWS does)."""
        return bool(self.opts.lambda_invoke_url) and self.driver_enabled

    def now(self):
        return time.time() + self.skew

    def load_state(self, doc):
        if not isinstance(doc, dict) or not isinstance(doc.get("secrets", []), list):
            raise ValueError("state must be {\"secrets\": [...]}")
        with self.lock:
            loaded = {}
            for d in doc.get("secrets", []):
                s = Secret.from_state(d, self.opts.region, self.opts.account, self.now())
                loaded[s.name] = s
            self.secrets = loaded
            self.rotations = [r for r in doc.get("rotations", []) if isinstance(r, dict)]
            for r in self.rotations:
                if r.get("status") == "running":
                    r["status"] = "interrupted"

    def state(self, with_rotations=False):
        with self.lock:
            doc = {"secrets": [s.to_state() for s in self.secrets.values()]}
            if with_rotations:
                doc["rotations"] = [self._rotation_private(r) for r in self.rotations]
            return doc

    def save(self):
        path = self.opts.state_file
        if not path:
            return
        with self.lock:
            doc = self.state(with_rotations=True)
            d = os.path.dirname(os.path.abspath(path))
            fd, tmp = tempfile.mkstemp(prefix=".fake-sm-", dir=d)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    json.dump(doc, f, indent=1)
                os.chmod(tmp, 0o600)
                os.replace(tmp, path)
            except BaseException:
                if os.path.exists(tmp):
                    os.unlink(tmp)
                raise

    # -- lookup ----------------------------------------------------------------------------
    def find(self, secret_id):
        s = self.secrets.get(secret_id)
        if s is not None:
            return s
        for s in self.secrets.values():
            if s.arn == secret_id:
                return s
        for s in self.secrets.values():  # partial ARN: the ARN without "-" + 6 random characters
            if s.arn[:-7] == secret_id:
                return s
        raise _rnf()

    def find_live(self, secret_id):
        s = self.find(secret_id)
        if s.deleted is not None:
            raise _invalid_request(MSG_DELETED)
        return s

    def _new_arn(self, name):
        suffix = "".join(secrets.choice(SUFFIX_CHARS) for _ in range(6))
        return "arn:aws:secretsmanager:%s:%s:secret:%s-%s" % (self.opts.region, self.opts.account, name, suffix)

    # -- shared pieces ---------------------------------------------------------------------
    @staticmethod
    def _value_args(v, body):
        """Validate SecretString/SecretBinary; return (string, bytes) with at most one set."""
        string_value = v.string("SecretString", 1, 65536, sensitive=True)
        raw = body.get("SecretBinary")
        binary = None
        if raw is not None:
            v._type("SecretBinary", str, raw)
            try:
                binary = base64.b64decode(raw, validate=True)
            except (binascii.Error, ValueError):
                raise ApiError("SerializationException", "Base64 encoded value of SecretBinary is invalid", modeled=False) from None
            if not 1 <= len(binary) <= 65536:
                v._fail("SecretBinary", "", "Member must have length between 1 and 65536", sensitive=True)
        return string_value, binary

    def _token(self, v, required_error):
        token = v.string("ClientRequestToken", 32, 64)
        v.done()
        if token is None and required_error is not None:
            raise required_error
        return token

    def _put_version(self, s, token, string_value, binary, stages, rotation_token_present):
        """PutSecretValue / UpdateSecret core. Returns the version (new, filled stub, or the
        existing one for an idempotent retry)."""
        now = self.now()
        existing = s.versions.get(token)
        if existing is not None and existing.has_value:
            if existing.same_value(string_value, binary):
                return existing  # idempotent retry: the request is ignored
            raise ApiError("ResourceExistsException", MSG_TOKEN_IN_USE % (token, s.arn))
        if existing is not None:
            version = existing  # the value-less AWSPENDING stub RotateSecret made: fill it in
            version.string, version.binary = string_value, binary
            version.created = now
            version.stages = []
        else:
            version = Version(token, now, string_value, binary)
            s.versions[token] = version
        version.rotation_token_present = rotation_token_present
        labels = list(stages) if stages else [CURRENT]
        current = s.holder(CURRENT)
        if current is None and CURRENT not in labels:
            labels.append(CURRENT)  # the first version of a secret always gets AWSCURRENT
        for label in labels:
            if label == CURRENT:
                continue
            s.attach(version, label)
        if CURRENT in labels:
            s.move_current(version)
            # A new current value made outside a rotation abandons it: AWSPENDING goes away
            # (the service records it as RotationAbandoned; a recorded AWS session shows the old
            # current losing AWSPENDING).
            if PENDING not in labels:
                s.detach(PENDING)
        self._rotation_label_moved(s)
        s.changed = now
        return version

    # -- operations ------------------------------------------------------------------------
    def op_CreateSecret(self, body, ctx):
        v = Validator(body)
        name = v.string("Name", 1, 512, required=True)
        v.string("Description", 0, 2048)
        kms = v.string("KmsKeyId", 0, 2048)
        string_value, binary = self._value_args(v, body)
        tags = self._tags_arg(v)
        token = self._token(v, None)
        if not NAME_RE.match(name):
            raise ApiError(
                "ValidationException",
                "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!",
                modeled=False,
            )
        if string_value is not None and binary is not None:
            raise _invalid_param("You can't specify both a binary secret value and a string secret value in the same secret.")
        existing = self.secrets.get(name)
        if existing is not None:
            if existing.deleted is not None:
                raise _invalid_request(
                    "You can't create this secret because a secret with this name is already scheduled for deletion."
                )
            raise ApiError("ResourceExistsException", "The operation failed because the secret %s already exists." % name)
        now = self.now()
        s = Secret(name, self._new_arn(name), now)
        s.description = body.get("Description")
        s.kms_key_id = kms or None
        s.tags = tags or []
        out = {"ARN": s.arn, "Name": s.name}
        if string_value is not None or binary is not None:
            # [brief] ClientRequestToken is optional here (a UUID is generated). errors/index.json
            # lists CreateSecret among the operations that reject a raw request without one.
            token = token or str(uuid.uuid4())
            ver = Version(token, now, string_value, binary, [CURRENT])
            s.versions[token] = ver
            out["VersionId"] = token
        self.secrets[name] = s
        return out

    def _tags_arg(self, v):
        tags = v.body.get("Tags")
        if tags is None:
            return None
        v._type("Tags", list, tags)
        for t in tags:
            v._type("Tags", dict, t)
            if not isinstance(t.get("Key"), str) or not isinstance(t.get("Value", ""), str):
                raise _invalid_param("Tag keys and values must be strings.")
        return [{"Key": t["Key"], "Value": t.get("Value", "")} for t in tags]

    def op_DescribeSecret(self, body, ctx):
        v = Validator(body)
        sid = v.string("SecretId", 1, 2048, required=True)
        v.done()
        s = self.find(sid)
        stages = {vid: list(ver.stages) for vid, ver in s.versions.items() if ver.stages}
        return _clean(
            {
                "ARN": s.arn,
                "Name": s.name,
                "Description": s.description,
                "KmsKeyId": s.kms_key_id,
                "RotationEnabled": s.rotation_enabled,
                "RotationLambdaARN": s.lambda_arn,
                "RotationRules": s.rules,
                "LastRotatedDate": _ts(s.rotated),
                "LastChangedDate": _ts(s.changed),
                "LastAccessedDate": _ts(s.accessed),
                "DeletedDate": _ts(s.deleted),
                "NextRotationDate": _ts(s.next_rotation()),
                "Tags": [dict(t) for t in s.tags] or None,
                "VersionIdsToStages": stages or None,
                "CreatedDate": _ts(s.created),
            }
        )

    def op_GetSecretValue(self, body, ctx):
        v = Validator(body)
        sid = v.string("SecretId", 1, 2048, required=True)
        vid = v.string("VersionId", 32, 64)
        stage = v.string("VersionStage", 1, 256)
        v.done()
        s = self.find_live(sid)
        if vid is not None:
            ver = s.versions.get(vid)
            if ver is None:
                raise _rnf(MSG_VALUE_NOT_FOUND_ID % vid)
            if stage is not None and stage not in ver.stages:
                raise _invalid_request(MSG_STAGE_MISMATCH)
            if not ver.has_value:
                raise _rnf(MSG_VALUE_NOT_FOUND_ID % vid)
        else:
            stage = stage or CURRENT
            ver = s.holder(stage)
            if ver is None or not ver.has_value:
                raise _rnf(MSG_VALUE_NOT_FOUND_STAGE % stage)
        day = int(self.now()) // 86400 * 86400  # LastAccessedDate has date resolution
        s.accessed = ver.accessed = day
        out = {"ARN": s.arn, "Name": s.name, "VersionId": ver.id}
        if ver.string is not None:
            out["SecretString"] = ver.string
        else:
            out["SecretBinary"] = base64.b64encode(ver.binary).decode("ascii")
        out["VersionStages"] = list(ver.stages)
        out["CreatedDate"] = _ts(ver.created)
        return out

    def op_PutSecretValue(self, body, ctx):
        v = Validator(body)
        sid = v.string("SecretId", 1, 2048, required=True)
        string_value, binary = self._value_args(v, body)
        stages = v.string_list("VersionStages", 1, 20, 1, 256)
        rotation_token = v.string("RotationToken", 36, 256, pattern=ROTATION_TOKEN_RE, sensitive=True)
        token = self._token(v, _invalid_request(MSG_NEED_TOKEN))
        if string_value is not None and binary is not None:
            raise _invalid_param("You can't specify both a binary secret value and a string secret value in the same secret.")
        if string_value is None and binary is None:
            raise _invalid_param("You must provide either SecretString or SecretBinary.")  # [assumed] text
        s = self.find_live(sid)
        self._note_rotation_put(s, token, rotation_token)
        ver = self._put_version(s, token, string_value, binary, stages, rotation_token is not None)
        return {"ARN": s.arn, "Name": s.name, "VersionId": ver.id, "VersionStages": list(ver.stages)}

    def op_UpdateSecret(self, body, ctx):
        v = Validator(body)
        sid = v.string("SecretId", 1, 2048, required=True)
        v.string("Description", 0, 2048)
        kms = v.string("KmsKeyId", 0, 2048)
        string_value, binary = self._value_args(v, body)
        has_value = string_value is not None or binary is not None
        token = self._token(v, _invalid_request(MSG_NEED_TOKEN) if has_value else None)
        if string_value is not None and binary is not None:
            raise _invalid_param("You can't specify both a binary secret value and a string secret value in the same secret.")
        s = self.find_live(sid)
        if "Description" in body:
            s.description = body["Description"]
        if kms is not None:
            s.kms_key_id = kms or None
        out = {"ARN": s.arn, "Name": s.name}
        if has_value:
            out["VersionId"] = self._put_version(s, token, string_value, binary, None, False).id
        s.changed = self.now()
        return out

    def op_UpdateSecretVersionStage(self, body, ctx):
        v = Validator(body)
        sid = v.string("SecretId", 1, 2048, required=True)
        label = v.string("VersionStage", 1, 256, required=True)
        move = v.string("MoveToVersionId", 32, 64)
        remove = v.string("RemoveFromVersionId", 32, 64)
        v.done()
        s = self.find_live(sid)
        for vid in (move, remove):
            if vid is not None and vid not in s.versions:
                raise _invalid_param("Not a valid version: %s" % vid)  # [assumed] code and text
        holder = s.holder(label)
        if move is None and remove is None:
            raise _invalid_param("You must specify MoveToVersionId or RemoveFromVersionId.")  # [assumed]
        if remove is not None and (holder is None or holder.id != remove):
            # [assumed] code; the text for a non-holder RemoveFromVersionId is unverified.
            raise _invalid_param(
                "The staging label %s is not attached to version %s, so you can't remove it from that version."
                % (label, remove)
            )
        if move is None:
            if label == CURRENT:
                raise _invalid_param(
                    "You can only move staging label AWSCURRENT to a different secret version. It can't be completely removed."
                )
            s.versions[remove].stages.remove(label)
        else:
            target = s.versions[move]
            if holder is not None and holder is not target and remove is None:
                raise _invalid_param(MSG_REMOVE_FROM_EMPTY % (label, holder.id))
            if label not in target.stages and len(target.stages) >= 20:
                raise ApiError("LimitExceededException", "A version can have at most 20 staging labels.")
            if label == CURRENT:
                s.move_current(target)
            else:
                s.attach(target, label)
        self._rotation_label_moved(s)
        s.changed = self.now()
        return {"ARN": s.arn, "Name": s.name}

    def op_ListSecretVersionIds(self, body, ctx):
        v = Validator(body)
        sid = v.string("SecretId", 1, 2048, required=True)
        max_results = v.integer("MaxResults", 1, 100)
        next_token = v.string("NextToken", 1, 4096)
        include = v.boolean("IncludeDeprecated", False)
        v.done()
        s = self.find(sid)
        versions = [ver for ver in s.versions.values() if include or ver.stages]
        start = 0
        if next_token is not None:
            start = self._decode_page_token(next_token, s.arn, include)
        size = max_results or 100
        page = versions[start : start + size]
        out = {
            "Versions": [
                _clean(
                    {
                        "VersionId": ver.id,
                        "VersionStages": list(ver.stages) or None,
                        "LastAccessedDate": _ts(ver.accessed),
                        "CreatedDate": _ts(ver.created),
                        "KmsKeyIds": [s.kms_key_id or "DefaultEncryptionKey"],
                    }
                )
                for ver in page
            ]
        }
        if start + size < len(versions):
            out["NextToken"] = self._encode_page_token(s.arn, include, start + size)
        out["ARN"] = s.arn
        out["Name"] = s.name
        return out

    @staticmethod
    def _encode_page_token(arn, include, offset):
        raw = json.dumps({"a": arn, "d": include, "o": offset}).encode()
        return base64.b64encode(raw).decode("ascii")

    @staticmethod
    def _decode_page_token(token, arn, include):
        try:
            doc = json.loads(base64.b64decode(token, validate=True))
            if doc["a"] != arn or doc["d"] != include or not isinstance(doc["o"], int) or doc["o"] < 0:
                raise ValueError
            return doc["o"]
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise ApiError("InvalidNextTokenException", "The NextToken value is invalid.") from None

    def op_ListSecrets(self, body, ctx):
        v = Validator(body)
        max_results = v.integer("MaxResults", 1, 100)
        next_token = v.string("NextToken", 1, 4096)
        planned = v.boolean("IncludePlannedDeletion", False)
        v.done()
        items = [s for s in sorted(self.secrets.values(), key=lambda x: x.created) if planned or s.deleted is None]
        start = 0
        if next_token is not None:
            start = self._decode_page_token(next_token, "*list*", planned)
        size = max_results or 100
        out = {"SecretList": [self._list_entry(s) for s in items[start : start + size]]}
        if start + size < len(items):
            out["NextToken"] = self._encode_page_token("*list*", planned, start + size)
        return out

    def _list_entry(self, s):
        d = self.op_DescribeSecret({"SecretId": s.arn}, None)
        d["SecretVersionsToStages"] = d.pop("VersionIdsToStages", None)
        return _clean(d)

    def op_GetRandomPassword(self, body, ctx):
        v = Validator(body)
        length = v.integer("PasswordLength", 1, 4096)
        exclude = v.string("ExcludeCharacters", 0, 4096) or ""
        no_numbers = v.boolean("ExcludeNumbers", False)
        no_punct = v.boolean("ExcludePunctuation", False)
        no_upper = v.boolean("ExcludeUppercase", False)
        no_lower = v.boolean("ExcludeLowercase", False)
        space = v.boolean("IncludeSpace", False)
        require = v.boolean("RequireEachIncludedType", True)
        v.done()
        length = 32 if length is None else length
        excluded = set(exclude)
        types = []
        for skip, chars in (
            (no_lower, string.ascii_lowercase),
            (no_upper, string.ascii_uppercase),
            (no_numbers, string.digits),
            (no_punct, PUNCTUATION),
        ):
            if not skip:
                kept = [c for c in chars if c not in excluded]
                if kept:
                    types.append(kept)
        if space and " " not in excluded:
            # [assumed] the space counts as an included type for RequireEachIncludedType.
            types.append([" "])
        pool = [c for t in types for c in t]
        if not pool:
            raise _invalid_param("The password can't be generated because every character type is excluded.")  # [assumed]
        if require and length < len(types):
            raise _invalid_param(MSG_PASSWORD_SHORT)
        chars = [secrets.choice(t) for t in types] if require else []
        chars += [secrets.choice(pool) for _ in range(length - len(chars))]
        secrets.SystemRandom().shuffle(chars)
        password = "".join(chars)
        self.material.add(password)
        return {"RandomPassword": password}

    def op_RotateSecret(self, body, ctx):
        v = Validator(body)
        sid = v.string("SecretId", 1, 2048, required=True)
        lambda_arn = v.string("RotationLambdaARN", 0, 2048)
        rules = v.obj("RotationRules")
        immediate = v.boolean("RotateImmediately", True)
        if rules is not None:
            rv = Validator(rules, "rotationRules.")
            rv.integer("AutomaticallyAfterDays", 1, 1000)
            rv.string("Duration", 2, 3, pattern=re.compile(r"^[0-9]+h$"))
            rv.string("ScheduleExpression", 1, 256)
            v.errors += rv.errors
        token = self._token(v, _invalid_param(MSG_NEED_TOKEN))
        if rules is not None:
            if "AutomaticallyAfterDays" in rules and "ScheduleExpression" in rules:
                raise _invalid_param("You can't specify both AutomaticallyAfterDays and ScheduleExpression.")  # [assumed]
            expr = rules.get("ScheduleExpression")
            if expr is not None and not re.match(r"^(rate|cron)\(.*\)$", expr.strip()):
                raise _invalid_param("Invalid ScheduleExpression: %s" % expr)  # [assumed]
        s = self.find_live(sid)
        arn = lambda_arn or s.lambda_arn
        if not arn:
            raise _invalid_request(MSG_NO_LAMBDA)
        existing = s.versions.get(token)
        pending = s.holder(PENDING)
        if existing is not None:
            # [assumed] A retried RotateSecret with the token of the rotation it started is
            # idempotent; any other existing version id is a token conflict.
            started = any(r["secret_arn"] == s.arn and r["version_id"] == token for r in self.rotations)
            if started and (existing is pending or CURRENT in existing.stages):
                return {"ARN": s.arn, "Name": s.name, "VersionId": token}
            raise ApiError("ResourceExistsException", MSG_TOKEN_IN_USE % (token, s.arn))
        if pending is not None and CURRENT not in pending.stages:
            raise _invalid_request(MSG_IN_PROGRESS)
        now = self.now()
        s.rotation_enabled = True
        s.lambda_arn = arn
        if rules is not None:
            s.rules = {k: rules[k] for k in ("AutomaticallyAfterDays", "Duration", "ScheduleExpression") if k in rules}
        if s.rotation_configured is None or rules is not None:
            s.rotation_configured = now
        s.detach(PENDING)
        version = Version(token, now, stages=[PENDING])
        current = s.holder(CURRENT)
        if not immediate and current is not None:
            # RotateImmediately=false: the pending version holds a copy of the current value and
            # only testSecret runs; the label is removed afterwards.
            version.string, version.binary = current.string, current.binary
        s.versions[token] = version
        s.changed = now
        rec = {
            "id": len(self.rotations) + 1,
            "secret_name": s.name,
            "secret_arn": s.arn,
            "version_id": token,
            "lambda_arn": arn,
            "rotate_immediately": immediate,
            "driven": self.driving(),
            "status": "running" if self.driving() else "external",
            "attempts": 0,
            "steps": [],
            "error": None,
            "puts": [],
            "rotation_token_forwarded": None,
            "started": _ts(now),
            "finished": None,
            "cancelled": False,
            "_rotation_token": str(uuid.uuid4()),
        }
        self.rotations.append(rec)
        if rec["driven"]:
            ctx["after"] = lambda: RotationDriver(self, rec).start()
        return {"ARN": s.arn, "Name": s.name, "VersionId": token}

    def op_CancelRotateSecret(self, body, ctx):
        v = Validator(body)
        sid = v.string("SecretId", 1, 2048, required=True)
        v.done()
        s = self.find_live(sid)
        s.rotation_enabled = False
        pending = s.holder(PENDING)
        for r in self.rotations:
            if r["secret_arn"] == s.arn and r["status"] in ("running", "external"):
                r["cancelled"] = True
                if r["status"] == "external":
                    r["status"] = "cancelled"
        self.changed.notify_all()
        out = {"ARN": s.arn, "Name": s.name}
        if pending is not None and CURRENT not in pending.stages:
            out["VersionId"] = pending.id
        return out

    def op_DeleteSecret(self, body, ctx):
        v = Validator(body)
        sid = v.string("SecretId", 1, 2048, required=True)
        window = v.integer("RecoveryWindowInDays")
        force = v.boolean("ForceDeleteWithoutRecovery", False)
        v.done()
        if force and window is not None:
            raise _invalid_param("You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.")
        if window is not None and not 7 <= window <= 30:
            raise _invalid_param("The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).")
        s = self.find(sid)
        now = self.now()
        if force:
            del self.secrets[s.name]
            return {"ARN": s.arn, "Name": s.name, "DeletionDate": _ts(now)}
        if s.deleted is not None:
            raise _invalid_request(MSG_DELETED)
        s.deleted = now
        return {"ARN": s.arn, "Name": s.name, "DeletionDate": _ts(now + (window or 30) * 86400)}

    def op_RestoreSecret(self, body, ctx):
        v = Validator(body)
        sid = v.string("SecretId", 1, 2048, required=True)
        v.done()
        s = self.find(sid)
        s.deleted = None
        return {"ARN": s.arn, "Name": s.name}

    def op_TagResource(self, body, ctx):
        v = Validator(body)
        sid = v.string("SecretId", 1, 2048, required=True)
        tags = self._tags_arg(v)
        if tags is None:
            v._fail("Tags", None, "Member must not be null")
        v.done()
        s = self.find_live(sid)
        for t in tags:
            s.tags = [x for x in s.tags if x["Key"] != t["Key"]] + [t]
        return {}

    def op_UntagResource(self, body, ctx):
        v = Validator(body)
        sid = v.string("SecretId", 1, 2048, required=True)
        keys = v.string_list("TagKeys")
        if keys is None:
            v._fail("TagKeys", None, "Member must not be null")
        v.done()
        s = self.find_live(sid)
        s.tags = [x for x in s.tags if x["Key"] not in keys]
        return {}

    OPERATIONS = (
        "CreateSecret",
        "DescribeSecret",
        "GetSecretValue",
        "PutSecretValue",
        "UpdateSecret",
        "UpdateSecretVersionStage",
        "ListSecretVersionIds",
        "ListSecrets",
        "GetRandomPassword",
        "RotateSecret",
        "CancelRotateSecret",
        "DeleteSecret",
        "RestoreSecret",
        "TagResource",
        "UntagResource",
    )
    MUTATING = frozenset(OPERATIONS) - {"DescribeSecret", "ListSecretVersionIds", "ListSecrets", "GetRandomPassword"}

    def dispatch(self, op, body, ctx):
        with self.lock:
            result = getattr(self, "op_" + op)(body, ctx)
            if op in self.MUTATING or op == "GetSecretValue":
                self.changed.notify_all()
                self.save()
            return result

    # -- rotation bookkeeping --------------------------------------------------------------
    def _active_rotation(self, s):
        for r in reversed(self.rotations):
            if r["secret_arn"] == s.arn and r["status"] in ("running", "external"):
                return r
        return None

    def _note_rotation_put(self, s, token, rotation_token):
        rec = self._active_rotation(s)
        if rec is None or rec["version_id"] != token:
            return
        if rotation_token is None:
            verdict = "absent"
        elif secrets.compare_digest(rotation_token.encode(), rec["_rotation_token"].encode()):
            verdict = "matched"
        else:
            verdict = "mismatch"
        rec["puts"].append({"attempt": rec["attempts"], "rotation_token": verdict})
        verdicts = {p["rotation_token"] for p in rec["puts"]}
        rec["rotation_token_forwarded"] = verdicts == {"matched"}

    def _rotation_label_moved(self, s):
        """A label moved. For the newest unfinished rotation of s: its version now holding
        AWSCURRENT means it succeeded (LastRotatedDate); for a rotation nobody drives here
        ("external"), its version losing AWSPENDING without gaining AWSCURRENT ends it: "ended" for
        RotateImmediately=false (the harness removed the test version's label), else "abandoned"
        (e.g. a new current value was put while the rotation was pending)."""
        rec = self._active_rotation(s)
        if rec is None:
            return
        now = self.now()
        ver = s.versions.get(rec["version_id"])
        if ver is not None and CURRENT in ver.stages and rec["rotate_immediately"]:
            s.rotated = now
            if rec["status"] == "external":
                rec["status"] = "succeeded"
                rec["finished"] = _ts(now)
        elif rec["status"] == "external" and (ver is None or PENDING not in ver.stages):
            rec["status"] = "ended" if not rec["rotate_immediately"] else "abandoned"
            rec["finished"] = _ts(now)

    def rotation_event(self, secret_id, step):
        with self.lock:
            s = self.find(secret_id)
            for r in reversed(self.rotations):
                if r["secret_arn"] == s.arn:
                    return {
                        "Step": step,
                        "SecretId": s.arn,
                        "ClientRequestToken": r["version_id"],
                        "RotationToken": r["_rotation_token"],
                    }
        raise _rnf("No rotation was started for this secret.")

    @staticmethod
    def _rotation_public(r):
        return {k: (list(v) if isinstance(v, list) else v) for k, v in r.items() if not k.startswith("_")}

    @staticmethod
    def _rotation_private(r):
        return dict(r)

    def rotations_view(self, secret_id=None, wait=0.0):
        deadline = time.monotonic() + wait
        with self.lock:
            while wait > 0 and any(r["status"] == "running" for r in self.rotations):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.changed.wait(left)
            arn = None
            if secret_id:
                arn = self.find(secret_id).arn
            return [self._rotation_public(r) for r in self.rotations if arn is None or r["secret_arn"] == arn]


NO_PROXY_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class RotationDriver(threading.Thread):
    """Invokes the rotation function for each step, as the service does, and retries the whole
    rotation (same token) --rotation-retries times after a failed step."""

    def __init__(self, store, rec):
        super().__init__(name="rotation-%d" % rec["id"], daemon=True)
        self.store = store
        self.rec = rec

    def _invoke(self, step):
        rec = self.rec
        event = {
            "Step": step,
            "SecretId": rec["secret_arn"],
            "ClientRequestToken": rec["version_id"],
            "RotationToken": rec["_rotation_token"],
        }
        req = urllib.request.Request(
            self.store.opts.lambda_invoke_url,
            data=json.dumps(event).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        t0 = time.monotonic()
        entry = {"attempt": rec["attempts"], "step": step, "ok": False}
        try:
            with NO_PROXY_OPENER.open(req, timeout=self.store.opts.lambda_timeout) as resp:
                entry["status"] = resp.status
                payload = resp.read()
                func_error = resp.headers.get("X-Amz-Function-Error")
            if func_error:
                entry["smr_error"] = func_error
                try:
                    doc = json.loads(payload or b"{}")
                except ValueError:
                    doc = {}
                doc = doc if isinstance(doc, dict) else {}
                entry["error_type"] = str(doc.get("errorType", ""))[:200]
                entry["error_message"] = str(doc.get("errorMessage", ""))[:1000]
            else:
                entry["ok"] = True
        except urllib.error.HTTPError as e:
            entry["status"] = e.code
            entry["error_type"] = "InvokeError"
            entry["error_message"] = "invoke returned HTTP %d" % e.code
        except (urllib.error.URLError, OSError, ValueError) as e:
            entry["error_type"] = "InvokeError"
            entry["error_message"] = "invoke failed: %s" % getattr(e, "reason", e)
        entry["ms"] = int((time.monotonic() - t0) * 1000)
        return entry

    def run(self):
        store, rec = self.store, self.rec
        steps = STEPS if rec["rotate_immediately"] else ("testSecret",)
        attempts = 1 + max(0, store.opts.rotation_retries)
        ok = False
        for attempt in range(1, attempts + 1):
            with store.lock:
                if rec["cancelled"]:
                    break
                rec["attempts"] = attempt
            ok = True
            for step in steps:
                with store.lock:
                    if rec["cancelled"]:
                        ok = False
                        break
                entry = self._invoke(step)
                with store.lock:
                    rec["steps"].append(entry)
                    store.changed.notify_all()
                if not entry["ok"]:
                    ok = False
                    with store.lock:
                        rec["error"] = "%s failed: %s: %s" % (step, entry.get("error_type"), entry.get("error_message"))
                    break
            if ok and rec["rotate_immediately"]:
                with store.lock:
                    s = store.secrets.get(rec["secret_name"])
                    ver = s.versions.get(rec["version_id"]) if s else None
                    if ver is None or CURRENT not in ver.stages:
                        ok = False
                        rec["error"] = "finishSecret returned but AWSCURRENT is not on version %s" % rec["version_id"]
            if ok or rec["cancelled"]:
                break
            if attempt < attempts and store.opts.rotation_retry_delay_ms:
                time.sleep(store.opts.rotation_retry_delay_ms / 1000.0)
        with store.lock:
            s = store.secrets.get(rec["secret_name"])
            now = store.now()
            if rec["cancelled"]:
                rec["status"] = "cancelled"
            else:
                rec["status"] = "succeeded" if ok else "failed"
            if ok:
                rec["error"] = None
            if s is not None:
                if not rec["rotate_immediately"]:
                    ver = s.versions.get(rec["version_id"])
                    if ver is not None and PENDING in ver.stages:
                        ver.stages.remove(PENDING)
                elif ok:
                    s.rotated = now
            rec["finished"] = _ts(now)
            store.changed.notify_all()
            try:
                store.save()
            except OSError as e:
                log("state file not saved: %s" % e)


# ---------------------------------------------------------------------------------------------
# HTTP

VERBOSE = False


def log(msg):
    if VERBOSE:
        sys.stderr.write("fake-sm: %s\n" % msg)
        sys.stderr.flush()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeSecretsManager/1.0"
    sys_version = ""
    timeout = 300

    def setup(self):
        # One small response per request: without TCP_NODELAY, Nagle and the client's delayed ACK
        # add ~40 ms to every kept-alive request.
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
            chunks = []
            total = 0
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

    def _send(self, status, payload, content_type=JSON_CT, request_id=None):
        data = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        if request_id:
            self.send_header("x-amzn-RequestId", request_id)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _drop(self, rst):
        """Close without answering: rst=True sends a TCP reset (linger 0, then close the fd at
        once), otherwise an orderly FIN."""
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
            self._send(400, {"__type": "SerializationException", "message": "Bad request body framing"})
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
    def _api(self, method, body):
        server = self.server
        store = server.store
        rid = str(uuid.uuid4())
        target = self.headers.get("X-Amz-Target") or ""
        op = target.split(".", 1)[1] if target.startswith(SERVICE + ".") else None
        call = {"operation": op or target or None, "secret_id": None, "status": None, "error": None, "rotation_token_present": False}
        parsed = None
        try:
            parsed = json.loads(body.decode("utf-8")) if body.strip() else {}
        except (ValueError, UnicodeDecodeError):
            parsed = None
        if isinstance(parsed, dict):
            for key in ("SecretId", "Name"):
                if isinstance(parsed.get(key), str):
                    call["secret_id"] = parsed[key]
                    break
            call["rotation_token_present"] = "RotationToken" in parsed
            for key in (
                "ClientRequestToken",
                "VersionId",
                "VersionStage",
                "VersionStages",
                "MoveToVersionId",
                "RemoveFromVersionId",
                "RotateImmediately",
                "RotationLambdaARN",
                "MaxResults",
                "IncludeDeprecated",
            ):
                if key in parsed:
                    call[key] = parsed[key]
        ctx = {}
        reply = None
        drop = None
        try:
            try:
                url = urllib.parse.urlsplit(self.path)
                with store.lock:
                    now = datetime.datetime.fromtimestamp(store.now(), datetime.timezone.utc)
                sm_sigv4.verify(
                    method,
                    url.path,
                    url.query,
                    list(self.headers.items()),
                    body,
                    server.credentials,
                    server.opts.region,
                    SERVICE,
                    now,
                )
            except sm_sigv4.SigV4Error as e:
                raise ApiError(e.code, e.message, e.status, modeled=False) from None
            call["authenticated"] = True
            m = re.search(r"Signature=([0-9a-f]{64})", self.headers.get("Authorization", ""))
            if m:
                with store.lock:
                    store.material.add(m.group(1))
            fault = server.faults.take(op or target)
            if fault is not None:
                call["fault"] = fault["error"]
                if fault["apply"] and op in Store.OPERATIONS and isinstance(parsed, dict):
                    # The request takes effect and only its answer is lost (a dropped response):
                    # what makes a retried non-idempotent call fail.
                    store.dispatch(op, parsed, ctx)
                    call["applied"] = True
                if fault["delay_ms"]:
                    time.sleep(fault["delay_ms"] / 1000.0)
                if fault["error"] in ("reset", "close"):
                    call["status"] = 0
                    call["error"] = "connection-" + fault["error"]
                    drop = fault["error"]
                    return  # `finally` records the call, then drops the connection
                if fault["error"] != "delay":
                    status, message = FAULT_DEFAULTS.get(fault["error"], (400, "Injected %s" % fault["error"]))
                    raise ApiError(fault["error"], fault["message"] or message, int(fault["status"] or status))
            if op is None:
                raise ApiError("UnknownOperationException", "The target %s is not a secretsmanager operation." % target[:100], modeled=False)
            if op not in Store.OPERATIONS:
                raise ApiError("UnknownOperationException", "The fake does not implement %s." % op[:100], modeled=False)
            ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if ctype != JSON_CT:
                # [assumed] the JSON 1.1 front end does not route other content types.
                raise ApiError("UnknownOperationException", "Content-Type must be %s." % JSON_CT, modeled=False)
            if method != "POST":
                raise ApiError("UnknownOperationException", "Operations are POST / requests.", modeled=False)
            if not isinstance(parsed, dict):
                raise ApiError("SerializationException", "The request body is not a JSON object.", modeled=False)
            result = store.dispatch(op, parsed, ctx)
            reply = (200, result)
            call["status"] = 200
        except ApiError as e:
            call["status"] = e.status
            call["error"] = e.code
            reply = (e.status, e.body())
        except Exception:  # noqa: BLE001 - a bug in the fake must still answer
            traceback.print_exc()
            err = ApiError("InternalServiceError", "An error occurred on the server side.", 500)
            call["status"], call["error"] = 500, err.code
            reply = (500, err.body())
        finally:
            # Record before answering, so the call log is in the order the client saw answers.
            call["request_id"] = rid
            call["time"] = _ts(time.time())
            server.record_call(call)
            log("%s %s %s" % (call["operation"], call["status"], call["error"] or ""))
            if drop is not None:
                self._drop(drop == "reset")
        if reply is not None:
            try:
                self._send(reply[0], reply[1], request_id=rid)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True
        if "after" in ctx:
            ctx["after"]()

    # -- the test-only control API ---------------------------------------------------------
    def _control(self, method, body):
        server = self.server
        store = server.store
        url = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        route = (method, url.path.rstrip("/"))
        try:
            doc = json.loads(body.decode("utf-8")) if body.strip() else {}
        except (ValueError, UnicodeDecodeError):
            self._send(400, {"error": "body is not JSON"}, "application/json")
            return
        try:
            if route == ("POST", "/_fake/faults"):
                specs = doc if isinstance(doc, list) else [doc]
                added = [server.faults.add(s) for s in specs]
                self._send(200, {"added": added}, "application/json")
            elif route == ("GET", "/_fake/faults"):
                self._send(200, server.faults.snapshot(), "application/json")
            elif route == ("DELETE", "/_fake/faults"):
                server.faults.clear()
                self._send(200, {}, "application/json")
            elif route == ("GET", "/_fake/calls"):
                with server.stats_lock:
                    calls = [dict(c) for c in server.calls]
                self._send(200, calls, "application/json")
            elif route == ("POST", "/_fake/reset"):
                server.faults.clear()
                with server.stats_lock:
                    server.calls = []
                if isinstance(doc, dict) and doc.get("state"):
                    with store.lock:
                        store.secrets = {}
                        store.rotations = []
                        store.save()
                self._send(200, {}, "application/json")
            elif route == ("GET", "/_fake/state"):
                self._send(200, store.state(), "application/json")
            elif route == ("POST", "/_fake/state"):
                store.load_state(doc)
                with store.lock:
                    store.save()
                self._send(200, store.state(), "application/json")
            elif route == ("GET", "/_fake/stats"):
                with server.stats_lock:
                    stats = {
                        "connections": server.connections,
                        "requests": server.requests,
                        "api_calls": len(server.calls),
                    }
                self._send(200, stats, "application/json")
            elif route == ("POST", "/_fake/clock"):
                skew = doc.get("skew_seconds", 0)
                if not isinstance(skew, (int, float)) or isinstance(skew, bool):
                    raise ValueError("skew_seconds must be a number")
                with store.lock:
                    store.skew = float(skew)
                self._send(200, {"skew_seconds": store.skew}, "application/json")
            elif route == ("GET", "/_fake/secret-material"):
                self._send(200, store.secret_material(server), "application/json")
            elif route == ("POST", "/_fake/driver"):
                enabled = doc.get("enabled")
                if not isinstance(enabled, bool):
                    raise ValueError("enabled must be true or false")
                with store.lock:
                    store.driver_enabled = enabled
                self._send(200, {"enabled": store.driver_enabled}, "application/json")
            elif route == ("GET", "/_fake/rotations"):
                wait = float(q.get("wait", 0) or 0)
                self._send(200, store.rotations_view(q.get("secret_id"), min(wait, 600.0)), "application/json")
            elif route == ("GET", "/_fake/rotation-event"):
                step = q.get("step", "createSecret")
                self._send(200, store.rotation_event(q.get("secret_id", ""), step), "application/json")
            else:
                self._send(404, {"error": "no such control endpoint: %s %s" % route}, "application/json")
        except ApiError as e:
            self._send(404, {"error": e.message}, "application/json")
        except (ValueError, TypeError, KeyError) as e:
            self._send(400, {"error": str(e)}, "application/json")


class FakeServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, opts):
        self.opts = opts
        self.tls = bool(opts.tls_cert)
        self.store = Store(opts)
        self.faults = Faults()
        self.credentials = {opts.access_key: (opts.secret_key, opts.session_token or None)}
        self.stats_lock = threading.Lock()
        self.connections = 0
        self.requests = 0
        self.calls = []
        super().__init__((opts.bind, opts.port), Handler)
        if self.tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(opts.tls_cert, opts.tls_key)
            self.socket = ctx.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)

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
    p = argparse.ArgumentParser(description="Local AWS Secrets Manager emulator for tests.")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file")
    p.add_argument("--bind", default="127.0.0.1")
    p.add_argument("--access-key", default=os.environ.get("AWS_ACCESS_KEY_ID"))
    p.add_argument("--secret-key", default=os.environ.get("AWS_SECRET_ACCESS_KEY"))
    p.add_argument("--session-token")
    p.add_argument("--region", default="us-east-1")
    p.add_argument("--account", default="123456789012")
    p.add_argument("--lambda-invoke-url")
    p.add_argument("--lambda-timeout", type=float, default=300.0, help="seconds to wait for one step")
    p.add_argument("--rotation-retries", type=int, default=0)
    p.add_argument("--rotation-retry-delay-ms", type=int, default=0)
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--state-file")
    p.add_argument("--verbose", action="store_true")
    opts = p.parse_args(argv)
    if not opts.access_key or not opts.secret_key:
        p.error("--access-key and --secret-key are required")
    if bool(opts.tls_cert) != bool(opts.tls_key):
        p.error("--tls-cert and --tls-key go together")
    if not re.fullmatch(r"\d{12}", opts.account):
        p.error("--account must be 12 digits")
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
