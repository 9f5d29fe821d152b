#!/usr/bin/env python3
"""A local AWS STS emulator for tests, on the shared fake server (aws_fake.py, QueryService).

AssumeRole and AssumeRoleWithWebIdentity: what the credential chain of `bootstrap check` calls.

    python3 tests/fakes/fake_sts.py --port 0 --port-file FILE --access-key AKID --secret-key SECRET \
        [aws_fake's options]

Wire (the Query protocol, as botocore speaks it to sts.<region>.amazonaws.com):
    POST /  Content-Type: application/x-www-form-urlencoded; charset=utf-8
            Action=AssumeRole&Version=2011-06-15&RoleArn=...&RoleSessionName=...
            [&ExternalId=...][&DurationSeconds=N]
    AssumeRole is SigV4-signed for service "sts" (verified by sigv4.py with --access-key's keys,
    or with temporary credentials this fake issued: STS accepts its own, so roles chain).
    AssumeRoleWithWebIdentity (&WebIdentityToken=...) needs no signature (its model has no auth;
    botocore sends it unsigned); the call log says whether one came ("signed").
Answers: text/xml, x-amzn-RequestId, <OpResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
<OpResult> with AssumedRoleUser (Arn arn:aws:sts::<account>:assumed-role/<role name>/<session>,
AssumedRoleId) and Credentials (AccessKeyId, SecretAccessKey, SessionToken, Expiration = now +
DurationSeconds, ISO 8601 with Z), PackedPolicySize for AssumeRole, SubjectFromWebIdentityToken,
Audience and Provider for web identity; then ResponseMetadata/RequestId.
Errors (aws_fake.QueryService's shape, as captured in awslabs/aws-sdk-rust#827):
    ValidationError 400  a missing or malformed parameter ("1 validation error detected: Value 'x'
                         at 'roleSessionName' failed to satisfy constraint: ..."), DurationSeconds
                         below 900 or past the role's MaxSessionDuration ("The requested
                         DurationSeconds exceeds the MaxSessionDuration set for this role.")
    AccessDenied 403     the role is unknown, does not trust the caller, or wants another
                         ExternalId: "User: <caller ARN> is not authorized to perform:
                         sts:AssumeRole on resource: <role ARN>"; for web identity a role that
                         trusts no token: "Not authorized to perform sts:AssumeRoleWithWebIdentity"
    InvalidIdentityToken 400  a token the role does not accept ("Couldn't retrieve verification
                         key from your identity provider,  please reference AssumeRoleWithWebIdentity
                         documentation for requirements", as STS words it)
    ExpiredTokenException 400  a token listed as expired
    the SigV4 failures as the Query services answer them (SignatureDoesNotMatch,
    InvalidClientTokenId, MissingAuthenticationToken 403); MissingAction / InvalidAction.
Order of checks: SigV4 (AssumeRole) -> injected fault -> Action/Version -> parameters -> role ->
trust -> token.

State (POST /_fake/state): {"roles": [ROLE...], "principals": {"<access key>": "<caller ARN>"}}
    ROLE: {"arn" (required), "trust": ["<access key or caller ARN>", ...] | "*" (AssumeRole
           callers; default none), "external_id", "max_session_duration" (default 3600),
           "web_identity_tokens": ["<token>", ...] (accepted), "expired_tokens": [...],
           "credentials": {"access_key_id", "secret_access_key", "session_token"} (what it
           issues; default derived from the role and a counter)}
    Callers without a principal are arn:aws:iam::<account>:user/fake-caller.
Control API: aws_fake's; calls carry "role_arn", "session_name", "external_id",
"duration_seconds", "signed", "access_key", "issued" (the access key id handed out). Never a
secret key, session token or web identity token.
"""
import datetime
import hashlib
import os
import re
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aws_fake  # noqa: E402
import sigv4  # noqa: E402

API_VERSION = "2011-06-15"
NS = "https://sts.amazonaws.com/doc/2011-06-15/"
OPERATIONS = ("AssumeRole", "AssumeRoleWithWebIdentity")
ROLE_ARN_RE = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):role/(?:[\w+=,.@-]+/)*([\w+=,.@-]{1,64})$")
SESSION_RE = re.compile(r"^[\w+=,.@-]{2,64}$")
EXTERNAL_ID_RE = re.compile(r"^[\w+=,.@:/-]{2,1224}$")
MSG_BAD_KEY = ("Couldn't retrieve verification key from your identity provider,  please reference "
               "AssumeRoleWithWebIdentity documentation for requirements")
MSG_EXPIRED = ("The web identity token that was passed is expired or is not valid. Get a new identity "
               "token from the identity provider and then retry the request.")
FAULT_DEFAULTS = {
    "Throttling": (400, "Rate exceeded"),
    "InternalFailure": (500, "An internal error occurred."),  # [assumed]
    "ServiceUnavailable": (503, "Service unavailable"),  # [assumed]
    "AccessDenied": (403, "Not authorized to perform sts:AssumeRole"),
    "InvalidIdentityToken": (400, MSG_BAD_KEY),
    "ExpiredTokenException": (400, MSG_EXPIRED),
    "IDPCommunicationError": (400, "Couldn't connect to the identity provider"),  # [assumed text]
    "RegionDisabledException": (403, "STS is not activated in this region for account."),
    "InvalidClientTokenId": (403, sigv4.INVALID_TOKEN_MESSAGE),
    "SignatureDoesNotMatch": (403, sigv4.MISMATCH_MESSAGE),
}


def _iso(t):
    return datetime.datetime.fromtimestamp(int(t), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _validation(value, member, constraint):
    return aws_fake.ApiError("ValidationError", "1 validation error detected: Value '%s' at '%s' failed to "
                             "satisfy constraint: %s" % (str(value)[:100], member, constraint))


class Sts(aws_fake.QueryService):
    name = "fake-sts"
    namespace = NS
    fault_defaults = FAULT_DEFAULTS

    def __init__(self, opts):
        self.opts = opts
        self.lock = threading.Lock()
        self.roles = {}
        self.principals = {}
        self.issued = {}  # access key id -> (caller ARN of the session)
        self.counter = 0

    # -- state ---------------------------------------------------------------------------------
    def load(self, doc):
        if not isinstance(doc, dict) or set(doc) - {"roles", "principals"}:
            raise ValueError('state must be {"roles": [...], "principals": {...}}')
        roles = {}
        for i, r in enumerate(doc.get("roles", [])):
            if not isinstance(r, dict) or not ROLE_ARN_RE.match(str(r.get("arn", ""))):
                raise ValueError("roles[%d] needs an arn arn:aws:iam::<12 digits>:role/<name>" % i)
            unknown = set(r) - {"arn", "trust", "external_id", "max_session_duration", "web_identity_tokens",
                                "expired_tokens", "credentials"}
            if unknown:
                raise ValueError("roles[%d]: unknown keys %s" % (i, sorted(unknown)))
            creds = r.get("credentials")
            if creds is not None and (not isinstance(creds, dict) or set(creds) != {
                    "access_key_id", "secret_access_key", "session_token"}):
                raise ValueError("roles[%d].credentials needs access_key_id, secret_access_key and "
                                 "session_token" % i)
            roles[r["arn"]] = dict(r)
        principals = doc.get("principals", {})
        if not isinstance(principals, dict):
            raise ValueError("principals must map access keys to ARNs")
        with self.lock:
            self.roles, self.principals = roles, dict(principals)

    def state(self):
        with self.lock:
            return {"roles": [{k: v for k, v in r.items() if k != "credentials"} for r in self.roles.values()],
                    "principals": dict(self.principals)}

    def reset(self, state):
        if state:
            with self.lock:
                self.roles, self.principals = {}, {}

    def secret_material(self):
        with self.lock:
            out = set()
            for r in self.roles.values():
                out.update(r.get("web_identity_tokens", []))
                creds = r.get("credentials") or {}
                out.update(v for k, v in creds.items() if k != "access_key_id")
            for secret, token in (v for k, v in self.server.credentials.items() if k in self.issued):
                out.update((secret, token))
            return out

    # -- the wire ------------------------------------------------------------------------------
    def parse(self, handler, method, body, call):
        call.update(role_arn=None, session_name=None, external_id=None, duration_seconds=None,
                    signed="Authorization" in handler.headers, issued=None)
        op, params = super().parse(handler, method, body, call)
        call.update(role_arn=params.get("RoleArn"), session_name=params.get("RoleSessionName"),
                    external_id=params.get("ExternalId"), duration_seconds=params.get("DurationSeconds"))
        return op, params

    def authenticate(self, handler, method, body, op, params):
        if op == "AssumeRoleWithWebIdentity":
            return False  # no auth in its model: a signature, if any, is not looked at [assumed]
        return super().authenticate(handler, method, body, op, params)

    def caller(self, access_key):
        with self.lock:
            if access_key in self.issued:
                return self.issued[access_key]
            return self.principals.get(access_key, "arn:aws:iam::%s:user/fake-caller" % self.opts.account)

    def check_params(self, op, params):
        role_arn, session = params.get("RoleArn"), params.get("RoleSessionName")
        for name, value in (("roleArn", role_arn), ("roleSessionName", session)):
            if value is None:
                raise _validation("null", name, "Member must not be null")
        if not ROLE_ARN_RE.match(role_arn):
            raise _validation(role_arn, "roleArn", "Member must have length greater than or equal to 20")  # [assumed]
        if not SESSION_RE.match(session):
            raise _validation(session, "roleSessionName",
                              "Member must satisfy regular expression pattern: [\\w+=,.@-]*")
        ext = params.get("ExternalId")
        if ext is not None and not EXTERNAL_ID_RE.match(ext):
            raise _validation(ext, "externalId", "Member must satisfy regular expression pattern: [\\w+=,.@:\\/-]*")
        if op == "AssumeRoleWithWebIdentity" and not params.get("WebIdentityToken"):
            raise _validation("null", "webIdentityToken", "Member must not be null")
        duration = params.get("DurationSeconds", "3600")
        if not re.fullmatch(r"\d{1,6}", duration) or int(duration) < 900:
            raise _validation(duration, "durationSeconds", "Member must have value greater than or equal to 900")
        return role_arn, session, int(duration)

    def answer(self, op, params, call, ctx):
        if not op:
            raise aws_fake.ApiError("MissingAction", "Missing Action")
        if params.get("Version") != API_VERSION or op not in OPERATIONS:
            raise aws_fake.ApiError("InvalidAction", "Could not find operation %s for version %s"
                                    % (op[:100], (params.get("Version") or "NO_VERSION_SPECIFIED")[:40]))
        role_arn, session, duration = self.check_params(op, params)
        with self.lock:
            role = self.roles.get(role_arn)
        if op == "AssumeRole":
            caller = self.caller(call["access_key"])
            trust = role.get("trust", []) if role else []
            if role is None or not (trust == "*" or call["access_key"] in trust or caller in trust) or \
                    role.get("external_id") not in (None, params.get("ExternalId")):
                raise aws_fake.ApiError("AccessDenied", "User: %s is not authorized to perform: sts:AssumeRole on "
                                        "resource: %s" % (caller, role_arn), 403)
        else:
            token = params["WebIdentityToken"]
            if role is None or not (role.get("web_identity_tokens") or role.get("expired_tokens")):
                raise aws_fake.ApiError("AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity", 403)
            if token in role.get("expired_tokens", []):
                raise aws_fake.ApiError("ExpiredTokenException", MSG_EXPIRED)
            if token not in role.get("web_identity_tokens", []):
                raise aws_fake.ApiError("InvalidIdentityToken", MSG_BAD_KEY)
        if duration > int(role.get("max_session_duration", 3600)):
            raise aws_fake.ApiError("ValidationError", "The requested DurationSeconds exceeds the "
                                    "MaxSessionDuration set for this role.")
        return self.result(op, self.issue(op, role, session, duration, call))

    def issue(self, op, role, session, duration, call):
        m = ROLE_ARN_RE.match(role["arn"])
        with self.lock:
            self.counter += 1
            seed = hashlib.sha256(("%s\0%d" % (role["arn"], self.counter)).encode()).hexdigest()
            creds = role.get("credentials") or {
                "access_key_id": "ASIA" + seed[:16].upper(),
                "secret_access_key": seed[16:56],
                "session_token": "FwoGZXIvYXdzE" + seed[:48],
            }
            assumed = "arn:aws:sts::%s:assumed-role/%s/%s" % (m.group(1), m.group(2), session)
            self.issued[creds["access_key_id"]] = assumed
            # STS accepts what it issued: a later call may be signed with these.
            self.server.credentials[creds["access_key_id"]] = (creds["secret_access_key"], creds["session_token"])
        call["issued"] = creds["access_key_id"]
        nodes = [("AssumedRoleUser", [("AssumedRoleId", "AROA%s:%s" % (seed[:17].upper(), session)),
                                      ("Arn", assumed)]),
                 ("Credentials", [("AccessKeyId", creds["access_key_id"]),
                                  ("SecretAccessKey", creds["secret_access_key"]),
                                  ("SessionToken", creds["session_token"]),
                                  ("Expiration", _iso(self.server.now() + duration))])]
        if op == "AssumeRole":
            return [("SourceIdentity", None)] + nodes + [("PackedPolicySize", None)]
        return [("SubjectFromWebIdentityToken", "system:serviceaccount:ci:runner")] + nodes + [
            ("Audience", "sts.amazonaws.com"), ("Provider", "arn:aws:iam::%s:oidc-provider/oidc.test"
                                                % m.group(1))]


def main(argv=None):
    return aws_fake.main(aws_fake.arg_parser("Local AWS STS emulator for tests."), "sts", Sts, argv)


if __name__ == "__main__":
    sys.exit(main())
