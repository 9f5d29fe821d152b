#!/usr/bin/env python3
"""A local AWS Secrets Manager emulator for tests, on the shared fake server (aws_fake.py).

    python3 tests/fakes/fake_secretsmanager.py --port 0 --port-file FILE --access-key AKID \
        --secret-key SECRET [aws_fake's options] [--lambda-invoke-url URL] [--rotation-retries N]

Behaviour follows AWS (the AWS Secrets Manager API Reference and User Guide: staging labels,
RotateSecret's pending version, PutSecretValue idempotency, error shapes), not moto, whose
deviations this fake does not copy. Where the real service's behaviour is not verified, the choice
made here is marked [assumed]. Operations: CreateSecret, DescribeSecret, GetSecretValue,
PutSecretValue, UpdateSecretVersionStage, GetRandomPassword, RotateSecret, CancelRotateSecret:
what the rotation function and the tests call. String secrets only.

Wire: `POST /`, `X-Amz-Target: secretsmanager.<Op>`, `Content-Type: application/x-amz-json-1.1`,
a JSON body. Answers carry `x-amzn-RequestId`; timestamps are epoch seconds; members without a
value are left out. Modeled errors: 400 {"__type", "Message"}; front-end (auth, throttling,
validation) errors: {"__type", "message"}; InternalServiceError 500; ServiceUnavailable 503.

Control API: aws_fake's, where the state is {"secrets": [{Name, ARN, ..., Versions: [{VersionId,
VersionStages, SecretString, RotationTokenPresent}]}]} (with values: a test-only door) and calls
carry "secret_id" and "rotation_token_present". Also:
    GET  /_fake/rotations[?secret_id=X][&wait=SECONDS]   one record per RotateSecret that started a
                         rotation: {"id", "secret_arn", "version_id", "rotate_immediately",
                         "driven", "status", "attempts", "steps": [{"attempt", "step", "ok",
                         "status", "error_type", "error_message", "ms"}], "error", "puts":
                         [{"attempt", "rotation_token": "matched"|"mismatch"|"absent"}],
                         "rotation_token_forwarded", ...}. status: running|succeeded|failed|
                         cancelled (driven here), or external|succeeded|abandoned|ended|cancelled
                         (nobody invokes the function here). wait blocks while one is running.
    POST /_fake/driver   {"enabled": false} stops RotateSecret from invoking the function (the
                         harness runs the steps itself); true restores it.
    GET  /_fake/rotation-event?secret_id=X&step=S   the Lambda event (with this rotation's
                         RotationToken) for the newest rotation of X.

Rotation: with --lambda-invoke-url, RotateSecret answers at once and a thread POSTs the event for
createSecret, setSecret, testSecret, finishSecret (only testSecret for RotateImmediately=false)
to that URL; 200 without X-Amz-Function-Error is success. A failed step, or a finishSecret that
leaves AWSCURRENT elsewhere, fails the attempt; the whole rotation is retried from createSecret
--rotation-retries times with the same token and RotationToken. Without --lambda-invoke-url the
pending version (for RotateImmediately=false a copy of the current value) stays until the
harness's function run moves or removes the labels.
"""
import json
import os
import re
import secrets
import string
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aws_fake  # noqa: E402
import sigv4  # noqa: E402

JSON_CT = "application/x-amz-json-1.1"
CURRENT, PREVIOUS, PENDING = "AWSCURRENT", "AWSPREVIOUS", "AWSPENDING"
STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")
PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
ROTATION_TOKEN_RE = re.compile(r"^[a-zA-Z0-9\-]+$")
NAME_RE = re.compile(r"^[A-Za-z0-9/_+=.@!-]+$")
LAMBDA_TIMEOUT_S = 300

MSG_SECRET_NOT_FOUND = "Secrets Manager can't find the specified secret."
MSG_VALUE_NOT_FOUND_ID = "Secrets Manager can't find the specified secret value for VersionId: %s"
MSG_VALUE_NOT_FOUND_STAGE = "Secrets Manager can't find the specified secret value for staging label: %s"
MSG_STAGE_MISMATCH = "You provided a VersionStage that is not associated to the provided VersionId."
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
    ["ResourceNotFoundException", "InvalidRequestException", "InvalidParameterException",
     "ResourceExistsException", "LimitExceededException", "DecryptionFailure", "EncryptionFailure",
     "InternalServiceError", "PreconditionNotMetException", "AccessDeniedException"]
)
# Injected faults: status and message (texts from tests/data/secretsmanager/errors).
FAULT_DEFAULTS = {
    "ThrottlingException": (400, "Rate exceeded"),
    "InternalServiceError": (500, "An error occurred on the server side."),
    "InternalFailure": (500, "The request processing has failed because of an unknown error, exception or failure."),
    "ServiceUnavailable": (503, "Service Unavailable"),
    "LimitExceededException": (400, "The request failed because it would exceed one of the Secrets Manager quotas."),
    "DecryptionFailure": (400, "Secrets Manager can't decrypt the protected secret text using the provided KMS key."),
    "AccessDeniedException": (400, "Access to KMS is not allowed"),
    "ExpiredTokenException": (400, "The security token included in the request is expired"),
    "UnrecognizedClientException": (400, sigv4.INVALID_TOKEN_MESSAGE),
    "InvalidSignatureException": (400, sigv4.MISMATCH_MESSAGE),
    "ResourceNotFoundException": (400, MSG_SECRET_NOT_FOUND),
    "RequestTimeout": (408, "Request timed out"),
}


def _rnf(message=MSG_SECRET_NOT_FOUND):
    return aws_fake.ApiError("ResourceNotFoundException", message)


def _invalid_request(message):
    return aws_fake.ApiError("InvalidRequestException", message)


def _invalid_param(message):
    return aws_fake.ApiError("InvalidParameterException", message)


def _ts(t):
    return None if t is None else round(float(t), 3)


def _clean(d):
    """Drop members without a value: the service never sends null."""
    return {k: v for k, v in d.items() if v is not None}


class Validator:
    """Input checks in the style of the AWS front end: ValidationException, lowercase "message",
    every failed constraint listed."""

    def __init__(self, body):
        self.body = body
        self.errors = []

    def fail(self, key, value, constraint, sensitive=False):
        member = key[0].lower() + key[1:]
        if value is None:
            shown = "Value null at"
        elif sensitive:
            shown = "Value at"
        elif isinstance(value, list):
            shown = "Value '[%s]' at" % ", ".join(map(str, value))
        else:
            shown = "Value '%s' at" % value
        self.errors.append("%s '%s' failed to satisfy constraint: %s" % (shown, member, constraint))

    def get(self, key, want, required=False):
        value = self.body.get(key)
        if value is None:
            if required:
                self.fail(key, None, "Member must not be null")
            return None
        items = value if want is list else [value]
        if (want is list and not isinstance(value, list)) or not all(
                isinstance(v, str if want is list else want) and not (want is int and isinstance(v, bool))
                for v in items):
            raise aws_fake.ApiError("SerializationException", "Unexpected value type for member %s" % key)
        return value

    def string(self, key, lo, hi, required=False, pattern=None, sensitive=False):
        value = self.get(key, str, required)
        if value is None:
            return None
        if len(value) < lo:
            self.fail(key, value, "Member must have length greater than or equal to %d" % lo, sensitive)
        elif len(value) > hi:
            self.fail(key, value, "Member must have length less than or equal to %d" % hi, sensitive)
        elif pattern is not None and not pattern.match(value):
            self.fail(key, value, "Member must satisfy regular expression pattern: %s" % pattern.pattern, sensitive)
        return value

    def integer(self, key, lo, hi):
        value = self.get(key, int)
        if value is not None and not lo <= value <= hi:
            self.fail(key, value, "Member must have value %s than or equal to %d"
                      % (("greater", lo) if value < lo else ("less", hi)))
        return value

    def boolean(self, key, default):
        value = self.get(key, bool)
        return default if value is None else value

    def stages(self, key):
        value = self.get(key, list)
        if value is not None and (not 1 <= len(value) <= 20 or not all(1 <= len(s) <= 256 for s in value)):
            self.fail(key, value, "Member must have length between 1 and 20, each of 1 to 256")  # [assumed] text
        return value

    def token(self, required_error=None):
        token = self.string("ClientRequestToken", 32, 64)
        self.done()
        if token is None and required_error is not None:
            raise required_error
        return token

    def done(self):
        if self.errors:
            n = len(self.errors)
            raise aws_fake.ApiError("ValidationException", "%d validation error%s detected: %s"
                                    % (n, "" if n == 1 else "s", "; ".join(self.errors)))


class Version:
    def __init__(self, vid, created, value=None, stages=None):
        self.id = vid
        self.string = value
        self.stages = list(stages or [])
        self.created = created
        self.rotation_token_present = False

    def to_state(self):
        return _clean({"VersionId": self.id, "VersionStages": list(self.stages), "SecretString": self.string,
                       "CreatedDate": _ts(self.created), "RotationTokenPresent": self.rotation_token_present})


class Secret:
    def __init__(self, name, arn, created):
        self.name = name
        self.arn = arn
        self.created = self.changed = created
        self.description = None
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
        """AWSCURRENT -> version; the version it leaves gets AWSPREVIOUS."""
        old = self.holder(CURRENT)
        if old is version:
            return
        if old is not None:
            old.stages.remove(CURRENT)
            self.attach(old, PREVIOUS)
        self.attach(version, CURRENT)
        if old is not None:
            version.stages[:] = [s for s in version.stages if s != PREVIOUS]

    def to_state(self):
        return _clean(dict(self.describe(), Versions=[v.to_state() for v in self.versions.values()]))

    def describe(self):
        stages = {vid: list(ver.stages) for vid, ver in self.versions.items() if ver.stages}
        return _clean({"ARN": self.arn, "Name": self.name, "Description": self.description,
                       "RotationEnabled": self.rotation_enabled, "RotationLambdaARN": self.lambda_arn,
                       "RotationRules": self.rules, "LastChangedDate": _ts(self.changed),
                       "Tags": [dict(t) for t in self.tags] or None, "VersionIdsToStages": stages or None,
                       "CreatedDate": _ts(self.created)})


class SecretsManager(aws_fake.Service):
    """All secrets, the rotation records and the operations. One lock guards everything; it is
    never held while the rotation driver waits on the Lambda."""

    name = "fake-secretsmanager"
    content_type = JSON_CT
    fault_defaults = FAULT_DEFAULTS
    OPERATIONS = ("CreateSecret", "DescribeSecret", "GetSecretValue", "PutSecretValue",
                  "UpdateSecretVersionStage", "GetRandomPassword", "RotateSecret", "CancelRotateSecret")
    READ_ONLY = frozenset(["DescribeSecret", "GetSecretValue", "GetRandomPassword"])

    def __init__(self, opts):
        self.opts = opts
        self.driver_enabled = True
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.secrets = {}  # name -> Secret
        self.rotations = []
        self.passwords = set()  # handed out; for the hygiene check

    def now(self):
        return self.server.now()

    def _new_arn(self, name):
        suffix = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(6))
        return "arn:aws:secretsmanager:%s:%s:secret:%s-%s" % (self.opts.region, self.opts.account, name, suffix)

    def find(self, secret_id):
        for s in self.secrets.values():  # a name, an ARN, or an ARN without "-" + 6 characters
            if secret_id in (s.name, s.arn, s.arn[:-7]):
                return s
        raise _rnf()

    # -- the wire --------------------------------------------------------------------------
    def parse(self, handler, method, body, call):
        target = handler.headers.get("X-Amz-Target") or ""
        op = target.split(".", 1)[1] if target.startswith("secretsmanager.") else None
        call["operation"] = op or target or None
        call["secret_id"] = None
        call["rotation_token_present"] = False
        try:
            parsed = json.loads(body.decode("utf-8")) if body.strip() else {}
        except (ValueError, UnicodeDecodeError):
            parsed = None
        if isinstance(parsed, dict):
            sid = parsed.get("SecretId", parsed.get("Name"))
            call["secret_id"] = sid if isinstance(sid, str) else None
            call["rotation_token_present"] = "RotationToken" in parsed
        return op or target, (op, parsed, handler.headers.get("Content-Type") or "", method)

    def answer(self, op, request, call, ctx):
        op, parsed, ctype, method = request
        if op is None or op not in self.OPERATIONS:
            raise aws_fake.ApiError("UnknownOperationException", "The fake does not implement %s." % str(op)[:100])
        if ctype.split(";")[0].strip().lower() != JSON_CT or method != "POST":
            # [assumed] the JSON 1.1 front end routes nothing else.
            raise aws_fake.ApiError("UnknownOperationException", "Operations are POST / with %s." % JSON_CT)
        if not isinstance(parsed, dict):
            raise aws_fake.ApiError("SerializationException", "The request body is not a JSON object.")
        return json.dumps(self.dispatch(op, parsed, ctx), ensure_ascii=False).encode("utf-8")

    def apply(self, op, request, ctx):
        if op in self.OPERATIONS and isinstance(request[1], dict):
            self.dispatch(op, request[1], ctx)

    def error_body(self, err, request_id):
        key = "Message" if err.code in MODELED else "message"
        return json.dumps({"__type": err.code, key: err.message}).encode("utf-8")

    def dispatch(self, op, body, ctx):
        with self.lock:
            result = getattr(self, "op_" + op)(body, ctx)
            if op not in self.READ_ONLY:
                self.changed.notify_all()
            return result

    # -- operations ------------------------------------------------------------------------
    def op_CreateSecret(self, body, ctx):
        v = Validator(body)
        name = v.string("Name", 1, 512, required=True)
        description = v.string("Description", 0, 2048)
        value = v.string("SecretString", 1, 65536, sensitive=True)
        tags = body.get("Tags")
        token = v.token()
        if not NAME_RE.match(name):
            raise aws_fake.ApiError("ValidationException", "Invalid name. Must be a valid name containing "
                                    "alphanumeric characters, or any of the following: -/_+=.@!")
        if tags is not None and (not isinstance(tags, list) or not all(
                isinstance(t, dict) and isinstance(t.get("Key"), str) and isinstance(t.get("Value", ""), str)
                for t in tags)):
            raise _invalid_param("Tag keys and values must be strings.")
        if name in self.secrets:
            raise aws_fake.ApiError("ResourceExistsException", "The operation failed because the secret %s already exists." % name)
        s = Secret(name, self._new_arn(name), self.now())
        s.description = description
        s.tags = [{"Key": t["Key"], "Value": t.get("Value", "")} for t in tags or []]
        out = {"ARN": s.arn, "Name": s.name}
        if value is not None:
            token = token or str(uuid.uuid4())
            s.versions[token] = Version(token, s.created, value, [CURRENT])
            out["VersionId"] = token
        self.secrets[name] = s
        return out

    def op_DescribeSecret(self, body, ctx):
        v = Validator(body)
        sid = v.string("SecretId", 1, 2048, required=True)
        v.done()
        return self.find(sid).describe()

    def op_GetSecretValue(self, body, ctx):
        v = Validator(body)
        sid = v.string("SecretId", 1, 2048, required=True)
        vid = v.string("VersionId", 32, 64)
        stage = v.string("VersionStage", 1, 256)
        v.done()
        s = self.find(sid)
        if vid is not None:
            ver = s.versions.get(vid)
            if ver is not None and stage is not None and stage not in ver.stages:
                raise _invalid_request(MSG_STAGE_MISMATCH)
            if ver is None or ver.string is None:
                raise _rnf(MSG_VALUE_NOT_FOUND_ID % vid)
        else:
            stage = stage or CURRENT
            ver = s.holder(stage)
            if ver is None or ver.string is None:
                raise _rnf(MSG_VALUE_NOT_FOUND_STAGE % stage)
        return {"ARN": s.arn, "Name": s.name, "VersionId": ver.id, "SecretString": ver.string,
                "VersionStages": list(ver.stages), "CreatedDate": _ts(ver.created)}

    def op_PutSecretValue(self, body, ctx):
        v = Validator(body)
        sid = v.string("SecretId", 1, 2048, required=True)
        value = v.string("SecretString", 1, 65536, sensitive=True)
        stages = v.stages("VersionStages")
        rotation_token = v.string("RotationToken", 36, 256, pattern=ROTATION_TOKEN_RE, sensitive=True)
        token = v.token(_invalid_request(MSG_NEED_TOKEN))
        if value is None:
            raise _invalid_param("You must provide either SecretString or SecretBinary.")  # [assumed] text
        s = self.find(sid)
        self._note_rotation_put(s, token, rotation_token)
        now = self.now()
        version = s.versions.get(token)
        if version is not None and version.string is not None:
            if version.string == value:
                return self._put_answer(s, version)  # idempotent retry: the request is ignored
            raise aws_fake.ApiError("ResourceExistsException", MSG_TOKEN_IN_USE % (token, s.arn))
        if version is None:
            version = s.versions[token] = Version(token, now)
        version.string, version.created, version.stages = value, now, []  # a RotateSecret stub is filled
        version.rotation_token_present = rotation_token is not None
        labels = list(stages) if stages else [CURRENT]
        if s.holder(CURRENT) is None and CURRENT not in labels:
            labels.append(CURRENT)  # the first version of a secret always gets AWSCURRENT
        for label in labels:
            if label != CURRENT:
                s.attach(version, label)
        if CURRENT in labels:
            s.move_current(version)
            # A new current value made outside a rotation abandons it: AWSPENDING goes away
            # (a recorded AWS session shows the old current losing AWSPENDING).
            if PENDING not in labels:
                s.detach(PENDING)
        self._rotation_label_moved(s)
        s.changed = now
        return self._put_answer(s, version)

    @staticmethod
    def _put_answer(s, version):
        return {"ARN": s.arn, "Name": s.name, "VersionId": version.id, "VersionStages": list(version.stages)}

    def op_UpdateSecretVersionStage(self, body, ctx):
        v = Validator(body)
        sid = v.string("SecretId", 1, 2048, required=True)
        label = v.string("VersionStage", 1, 256, required=True)
        move = v.string("MoveToVersionId", 32, 64)
        remove = v.string("RemoveFromVersionId", 32, 64)
        v.done()
        s = self.find(sid)
        for vid in (move, remove):
            if vid is not None and vid not in s.versions:
                raise _invalid_param("Not a valid version: %s" % vid)  # [assumed] code and text
        holder = s.holder(label)
        if move is None and remove is None:
            raise _invalid_param("You must specify MoveToVersionId or RemoveFromVersionId.")  # [assumed]
        if remove is not None and (holder is None or holder.id != remove):
            raise _invalid_param("The staging label %s is not attached to version %s, so you can't remove it "
                                 "from that version." % (label, remove))  # [assumed] text
        if move is None:
            if label == CURRENT:
                raise _invalid_param("You can only move staging label AWSCURRENT to a different secret version. "
                                     "It can't be completely removed.")
            s.versions[remove].stages.remove(label)
        else:
            target = s.versions[move]
            if holder is not None and holder is not target and remove is None:
                raise _invalid_param(MSG_REMOVE_FROM_EMPTY % (label, holder.id))
            if label == CURRENT:
                s.move_current(target)
            else:
                s.attach(target, label)
        self._rotation_label_moved(s)
        s.changed = self.now()
        return {"ARN": s.arn, "Name": s.name}

    def op_GetRandomPassword(self, body, ctx):
        v = Validator(body)
        length = v.integer("PasswordLength", 1, 4096)
        excluded = set(v.string("ExcludeCharacters", 0, 4096) or "")
        skip = [v.boolean(k, False) for k in ("ExcludeLowercase", "ExcludeUppercase", "ExcludeNumbers",
                                               "ExcludePunctuation")]
        space = v.boolean("IncludeSpace", False)
        require = v.boolean("RequireEachIncludedType", True)
        v.done()
        length = 32 if length is None else length
        types = []
        for skipped, chars in zip(skip, (string.ascii_lowercase, string.ascii_uppercase, string.digits, PUNCTUATION)):
            kept = [c for c in chars if c not in excluded]
            if not skipped and kept:
                types.append(kept)
        if space and " " not in excluded:
            types.append([" "])  # [assumed] the space counts as a type for RequireEachIncludedType
        pool = [c for t in types for c in t]
        if not pool:
            raise _invalid_param("The password can't be generated because every character type is excluded.")  # [assumed]
        if require and length < len(types):
            raise _invalid_param(MSG_PASSWORD_SHORT)
        chars = [secrets.choice(t) for t in types] if require else []
        chars += [secrets.choice(pool) for _ in range(length - len(chars))]
        secrets.SystemRandom().shuffle(chars)
        password = "".join(chars)
        self.passwords.add(password)
        return {"RandomPassword": password}

    def op_RotateSecret(self, body, ctx):
        v = Validator(body)
        sid = v.string("SecretId", 1, 2048, required=True)
        lambda_arn = v.string("RotationLambdaARN", 0, 2048)
        rules = v.get("RotationRules", dict)
        immediate = v.boolean("RotateImmediately", True)
        token = v.token(_invalid_param(MSG_NEED_TOKEN))
        s = self.find(sid)
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
            raise aws_fake.ApiError("ResourceExistsException", MSG_TOKEN_IN_USE % (token, s.arn))
        if pending is not None and CURRENT not in pending.stages:
            raise _invalid_request(MSG_IN_PROGRESS)
        now = self.now()
        s.rotation_enabled, s.lambda_arn, s.changed = True, arn, now
        s.rules = rules if rules is not None else s.rules  # kept as sent [assumed]
        s.detach(PENDING)
        version = s.versions[token] = Version(token, now, stages=[PENDING])
        current = s.holder(CURRENT)
        if not immediate and current is not None:
            # RotateImmediately=false: the pending version holds a copy of the current value and
            # only testSecret runs; the label is removed afterwards.
            version.string = current.string
        driven = bool(self.opts.lambda_invoke_url) and self.driver_enabled
        rec = {"id": len(self.rotations) + 1, "secret_name": s.name, "secret_arn": s.arn, "version_id": token,
               "lambda_arn": arn, "rotate_immediately": immediate, "driven": driven,
               "status": "running" if driven else "external", "attempts": 0, "steps": [], "error": None,
               "puts": [], "rotation_token_forwarded": None, "started": _ts(now), "finished": None,
               "cancelled": False, "_rotation_token": str(uuid.uuid4())}
        self.rotations.append(rec)
        if driven:
            ctx["after"] = lambda: RotationDriver(self, rec).start()
        return {"ARN": s.arn, "Name": s.name, "VersionId": token}

    def op_CancelRotateSecret(self, body, ctx):
        v = Validator(body)
        sid = v.string("SecretId", 1, 2048, required=True)
        v.done()
        s = self.find(sid)
        s.rotation_enabled = False
        pending = s.holder(PENDING)
        for r in self.rotations:
            if r["secret_arn"] == s.arn and r["status"] in ("running", "external"):
                r["cancelled"] = True
                if r["status"] == "external":
                    r["status"] = "cancelled"
        out = {"ARN": s.arn, "Name": s.name}
        if pending is not None and CURRENT not in pending.stages:
            out["VersionId"] = pending.id
        return out

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
        rec["rotation_token_forwarded"] = {p["rotation_token"] for p in rec["puts"]} == {"matched"}

    def _rotation_label_moved(self, s):
        """For the newest unfinished rotation of s nobody drives here ("external"): its version
        holding AWSCURRENT means it succeeded; losing AWSPENDING without that ends it: "ended" for
        RotateImmediately=false (the harness removed the test version's label), else "abandoned"."""
        rec = self._active_rotation(s)
        if rec is None or rec["status"] != "external":
            return
        ver = s.versions.get(rec["version_id"])
        if ver is not None and CURRENT in ver.stages and rec["rotate_immediately"]:
            rec["status"] = "succeeded"
        elif ver is None or PENDING not in ver.stages:
            rec["status"] = "ended" if not rec["rotate_immediately"] else "abandoned"
        else:
            return
        rec["finished"] = _ts(self.now())

    def rotation_event(self, secret_id, step):
        with self.lock:
            s = self.find(secret_id)
            for r in reversed(self.rotations):
                if r["secret_arn"] == s.arn:
                    return {"Step": step, "SecretId": s.arn, "ClientRequestToken": r["version_id"],
                            "RotationToken": r["_rotation_token"]}
        raise _rnf("No rotation was started for this secret.")

    def rotations_view(self, secret_id=None, wait=0.0):
        deadline = time.monotonic() + wait
        with self.lock:
            while wait > 0 and any(r["status"] == "running" for r in self.rotations):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.changed.wait(left)
            arn = self.find(secret_id).arn if secret_id else None
            return [{k: (list(v) if isinstance(v, list) else v) for k, v in r.items() if not k.startswith("_")}
                    for r in self.rotations if arn is None or r["secret_arn"] == arn]

    # -- the control API -------------------------------------------------------------------
    def state(self):
        with self.lock:
            return {"secrets": [s.to_state() for s in self.secrets.values()]}

    def load(self, doc):
        if not isinstance(doc, dict) or not isinstance(doc.get("secrets", []), list):
            raise ValueError('state must be {"secrets": [...]}')
        loaded = {}
        for d in doc.get("secrets", []):
            s = Secret(d["Name"], d.get("ARN") or self._new_arn(d["Name"]), d.get("CreatedDate", self.now()))
            s.description = d.get("Description")
            s.rotation_enabled = d.get("RotationEnabled")
            s.lambda_arn = d.get("RotationLambdaARN")
            s.rules = d.get("RotationRules")
            s.tags = list(d.get("Tags") or [])
            for vd in d.get("Versions", []):
                ver = Version(vd["VersionId"], vd.get("CreatedDate", s.created), vd.get("SecretString"),
                              vd.get("VersionStages", []))
                ver.rotation_token_present = bool(vd.get("RotationTokenPresent"))
                s.versions[ver.id] = ver
            loaded[s.name] = s
        with self.lock:
            self.secrets = loaded

    def reset(self, state):
        if state:
            with self.lock:
                self.secrets, self.rotations = {}, []

    def secret_material(self):
        """RandomPasswords handed out, rotation tokens, stored SecretStrings and the passwords
        inside them."""
        with self.lock:
            out = set(self.passwords) | {r["_rotation_token"] for r in self.rotations}
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
        return out

    def control(self, handler, method, path, query, doc):
        if (method, path) == ("POST", "/_fake/driver"):
            if not isinstance(doc.get("enabled"), bool):
                raise ValueError("enabled must be true or false")
            with self.lock:
                self.driver_enabled = doc["enabled"]
            return {"enabled": self.driver_enabled}
        if (method, path) == ("GET", "/_fake/rotations"):
            return self.rotations_view(query.get("secret_id"), min(float(query.get("wait", 0) or 0), 600.0))
        if (method, path) == ("GET", "/_fake/rotation-event"):
            return self.rotation_event(query.get("secret_id", ""), query.get("step", "createSecret"))
        return None


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
        event = {"Step": step, "SecretId": rec["secret_arn"], "ClientRequestToken": rec["version_id"],
                 "RotationToken": rec["_rotation_token"]}
        req = urllib.request.Request(self.store.opts.lambda_invoke_url, data=json.dumps(event).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
        t0 = time.monotonic()
        entry = {"attempt": rec["attempts"], "step": step, "ok": False}
        try:
            with NO_PROXY_OPENER.open(req, timeout=LAMBDA_TIMEOUT_S) as resp:
                entry["status"] = resp.status
                payload = resp.read()
                func_error = resp.headers.get("X-Amz-Function-Error")
            if func_error:
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
            entry.update(status=e.code, error_type="InvokeError", error_message="invoke returned HTTP %d" % e.code)
        except (urllib.error.URLError, OSError, ValueError) as e:
            entry.update(error_type="InvokeError", error_message="invoke failed: %s" % getattr(e, "reason", e))
        entry["ms"] = int((time.monotonic() - t0) * 1000)
        return entry

    def _attempt(self, steps):
        """One run of the steps; True when every step succeeded and the labels show it."""
        store, rec = self.store, self.rec
        for step in steps:
            with store.lock:
                if rec["cancelled"]:
                    return False
            entry = self._invoke(step)
            with store.lock:
                rec["steps"].append(entry)
                store.changed.notify_all()
                if not entry["ok"]:
                    rec["error"] = "%s failed: %s: %s" % (step, entry.get("error_type"), entry.get("error_message"))
                    return False
        if not rec["rotate_immediately"]:
            return True
        with store.lock:
            s = store.secrets.get(rec["secret_name"])
            ver = s.versions.get(rec["version_id"]) if s else None
            if ver is None or CURRENT not in ver.stages:
                rec["error"] = "finishSecret returned but AWSCURRENT is not on version %s" % rec["version_id"]
                return False
        return True

    def run(self):
        store, rec = self.store, self.rec
        steps = STEPS if rec["rotate_immediately"] else ("testSecret",)
        ok = False
        for attempt in range(1, 2 + max(0, store.opts.rotation_retries)):
            with store.lock:
                if rec["cancelled"]:
                    break
                rec["attempts"] = attempt
            ok = self._attempt(steps)
            if ok or rec["cancelled"]:
                break
        with store.lock:
            rec["status"] = "cancelled" if rec["cancelled"] else "succeeded" if ok else "failed"
            if ok:
                rec["error"] = None
            s = store.secrets.get(rec["secret_name"])
            ver = s.versions.get(rec["version_id"]) if s else None
            if not rec["rotate_immediately"] and ver is not None and PENDING in ver.stages:
                ver.stages.remove(PENDING)
            rec["finished"] = _ts(store.now())
            store.changed.notify_all()


class Client(aws_fake.Client):
    """A signed Secrets Manager client: call() returns the decoded answer or raises AwsError."""

    def __init__(self, endpoint, **kwargs):
        super().__init__(endpoint, "secretsmanager", **kwargs)

    def request(self, operation, body=None, *, raw_body=None, target=None, content_type=JSON_CT,
                extra_headers=None, **kwargs):
        data = raw_body if raw_body is not None else json.dumps(body if body is not None else {}).encode("utf-8")
        headers = [("Content-Type", content_type), ("X-Amz-Target", target or "secretsmanager." + operation)]
        return self.send(headers + list(extra_headers or []), data, **kwargs)

    def call(self, operation, body=None, **kwargs):
        resp = self.request(operation, body, **kwargs)
        try:
            doc = json.loads(resp.raw.decode("utf-8")) if resp.raw else {}
        except (ValueError, UnicodeDecodeError):
            doc = None
        if 200 <= resp.status < 300:
            return doc if doc is not None else {}
        doc = doc if isinstance(doc, dict) else {}
        raw_code = doc.get("__type") or resp.headers.get("x-amzn-errortype") or str(resp.status)
        code = raw_code.split(":", 1)[0].rsplit("#", 1)[-1]  # botocore's rule
        raise AwsError(resp.status, code, doc.get("message", doc.get("Message", "")), doc)


class AwsError(Exception):
    """A non-2xx answer: .status, .code (namespace and ':...' stripped), .message, .body."""

    def __init__(self, status, code, message, body=None):
        super().__init__("%s (%s): %s" % (code, status, message))
        self.status, self.code, self.message, self.body = status, code, message, body


def main(argv=None):
    p = aws_fake.arg_parser("Local AWS Secrets Manager emulator for tests.")
    p.add_argument("--lambda-invoke-url")
    p.add_argument("--rotation-retries", type=int, default=0)
    return aws_fake.main(p, "secretsmanager", SecretsManager, argv)


if __name__ == "__main__":
    sys.exit(main())
