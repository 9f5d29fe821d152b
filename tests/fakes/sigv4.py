"""AWS Signature Version 4 (header auth) for the test fakes: signer and verifier.

Standard library only. Written from the algorithm in AWS's "Signature Version 4 signing process"
documentation (IAM User Guide) and checked against the AWS
SigV4 test suite (tests/data/sigv4) and the Secrets Manager vectors
(tests/data/sigv4-secretsmanager); it shares no code with the C signer it is used to test.

Owns: canonical request / string to sign / signing key / signature, the client-side `sign()`
used by aws_fake.Client, and the server-side `verify()` every fake runs (aws_fake.py).
Never logs or returns a secret key, signing key or session token in an error message.
"""
import datetime
import hashlib
import hmac
import re
import urllib.parse

ALGORITHM = "AWS4-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
MAX_SKEW_SECONDS = 300
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_WS = re.compile(r"\s+")

# Headers botocore never signs (botocore auth.py SIGNED_HEADERS_BLACKLIST plus hop-by-hop ones).
UNSIGNED_HEADERS = frozenset(
    [
        "authorization",
        "connection",
        "expect",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "user-agent",
        "x-amzn-trace-id",
        "content-length",
    ]
)


def uri_encode(value, keep_slash=False):
    """Percent-encode every byte outside A-Z a-z 0-9 - . _ ~ (uppercase hex; '/' kept if asked)."""
    if isinstance(value, str):
        value = value.encode("utf-8")
    out = []
    for b in value:
        if b in _UNRESERVED or (keep_slash and b == 0x2F):
            out.append(chr(b))
        else:
            out.append("%%%02X" % b)
    return "".join(out)


def normalize_path(path):
    """Remove '.' and '..' segments and duplicate slashes; keep a trailing slash; '' -> '/'."""
    if not path:
        return "/"
    segments = []
    for seg in path.split("/"):
        if seg in ("", "."):
            continue
        if seg == "..":
            if segments:
                segments.pop()
            continue
        segments.append(seg)
    out = "/" + "/".join(segments)
    trailing = path.endswith("/") or path.endswith("/.") or path.endswith("/..")
    if trailing and out != "/":
        out += "/"
    return out


def canonical_uri(path):
    """Canonical URI for non-S3 services: normalize, then encode (the caller passes the path as
    it has it: a server passes the wire path, so that gets encoded twice, as AWS does)."""
    return uri_encode(normalize_path(path), keep_slash=True)


def canonical_query(query):
    """Canonical query string from a raw query ('a=b&c'): decode each part, re-encode, sort."""
    if not query:
        return ""
    pairs = []
    for part in query.split("&"):
        if part == "":
            continue
        name, _, value = part.partition("=")
        name = urllib.parse.unquote(name)
        value = urllib.parse.unquote(value)
        pairs.append((uri_encode(name), uri_encode(value)))
    pairs.sort()
    return "&".join("%s=%s" % p for p in pairs)


def canonical_header_value(value):
    return _WS.sub(" ", value.strip())


def canonical_headers(headers, signed):
    """headers: list of (name, value) in arrival order; signed: list of lowercase names.
    Returns the CanonicalHeaders block (each 'name:value\\n'). Repeated headers are joined with
    ',' in arrival order. A signed header that is absent canonicalizes to an empty value."""
    values = {}
    for name, value in headers:
        values.setdefault(name.lower(), []).append(canonical_header_value(value))
    lines = []
    for name in sorted(signed):
        lines.append("%s:%s\n" % (name, ",".join(values.get(name, []))))
    return "".join(lines)


def canonical_request(method, path, query, headers, signed, payload_hash):
    return "\n".join(
        [
            method.upper(),
            canonical_uri(path),
            canonical_query(query),
            canonical_headers(headers, signed),
            ";".join(sorted(signed)),
            payload_hash,
        ]
    )


def string_to_sign(amz_date, scope, creq):
    return "\n".join([ALGORITHM, amz_date, scope, hashlib.sha256(creq.encode("utf-8")).hexdigest()])


def _hmac(key, msg):
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def signing_key(secret_key, date, region, service):
    """kSigning as raw bytes (see the reference, section 5 step 3)."""
    k_date = _hmac(("AWS4" + secret_key).encode("utf-8"), date)
    k_region = _hmac(k_date, region)
    k_service = _hmac(k_region, service)
    return _hmac(k_service, "aws4_request")


def signing_keys_hex(secret_key, date, region, service):
    """The four intermediate keys in hex, for checking against signing-keys.json."""
    k_date = _hmac(("AWS4" + secret_key).encode("utf-8"), date)
    k_region = _hmac(k_date, region)
    k_service = _hmac(k_region, service)
    k_signing = _hmac(k_service, "aws4_request")
    return {"kDate": k_date.hex(), "kRegion": k_region.hex(), "kService": k_service.hex(), "kSigning": k_signing.hex()}


def signature(secret_key, date, region, service, sts):
    return hmac.new(signing_key(secret_key, date, region, service), sts.encode("utf-8"), hashlib.sha256).hexdigest()


def amz_date(when=None):
    when = when or datetime.datetime.now(datetime.timezone.utc)
    return when.astimezone(datetime.timezone.utc).strftime(AMZ_DATE_FORMAT)


def sign(method, path, query, headers, body, access_key, secret_key, region, service, session_token=None, when=None):
    """Sign a request the way botocore does and return the new header list.

    headers: list of (name, value); must include Host. X-Amz-Date (from `when`, default now) and,
    with a session token, X-Amz-Security-Token are added before signing; every header except the
    UNSIGNED_HEADERS is signed. Returns (headers + Authorization, details) where details holds
    creq/sts/authz for tests. Secrets are not part of details.
    """
    date = amz_date(when)
    out = [(n, v) for n, v in headers if n.lower() not in ("x-amz-date", "authorization", "x-amz-security-token")]
    out.append(("X-Amz-Date", date))
    if session_token:
        out.append(("X-Amz-Security-Token", session_token))
    signed = sorted({n.lower() for n, _ in out if n.lower() not in UNSIGNED_HEADERS})
    if isinstance(body, str):
        body = body.encode("utf-8")
    creq = canonical_request(method, path, query, out, signed, hashlib.sha256(body or b"").hexdigest())
    scope = "%s/%s/%s/aws4_request" % (date[:8], region, service)
    sts = string_to_sign(date, scope, creq)
    sig = signature(secret_key, date[:8], region, service, sts)
    authz = "%s Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (ALGORITHM, access_key, scope, ";".join(signed), sig)
    out.append(("Authorization", authz))
    return out, {"creq": creq, "sts": sts, "authz": authz, "signed_headers": signed, "date": date}


class SigV4Error(Exception):
    """An authentication failure: AWS error code, message (lowercase 'message' on the wire), status."""

    def __init__(self, code, message, status=400):
        super().__init__("%s: %s" % (code, message))
        self.code = code
        self.message = message
        self.status = status


MISMATCH_MESSAGE = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)
INVALID_TOKEN_MESSAGE = "The security token included in the request is invalid."


def parse_authorization(value):
    """Split 'AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...' into a dict.
    Raises SigV4Error(IncompleteSignatureException) naming what is missing."""
    value = value.strip()
    algo, _, rest = value.partition(" ")
    if algo != ALGORITHM:
        raise SigV4Error(
            "IncompleteSignatureException",
            "Unsupported AWS 'algorithm': '%s'. Authorization=%s" % (algo[:40], _redact_authz(value)),
        )
    parts = {}
    for item in rest.split(","):
        item = item.strip()
        if not item:
            continue
        key, eq, val = item.partition("=")
        if not eq:
            raise SigV4Error(
                "IncompleteSignatureException",
                "Authorization header requires each component to be of the form key=value. Authorization=%s"
                % _redact_authz(value),
            )
        parts[key.strip()] = val.strip()
    for need in ("Credential", "SignedHeaders", "Signature"):
        if not parts.get(need):
            raise SigV4Error(
                "IncompleteSignatureException",
                "Authorization header requires '%s' parameter. Authorization=%s" % (need, _redact_authz(value)),
            )
    cred = parts["Credential"].split("/")
    if len(cred) != 5:
        raise SigV4Error(
            "IncompleteSignatureException",
            "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '%s'"
            % parts["Credential"],
        )
    if not re.fullmatch(r"[0-9a-f]{64}", parts["Signature"]):
        raise SigV4Error("IncompleteSignatureException", "Signature must be 64 lowercase hex characters.")
    parts["access_key"], parts["date"], parts["region"], parts["service"], parts["terminator"] = cred
    parts["signed"] = parts["SignedHeaders"].split(";")
    return parts


def _redact_authz(value):
    return re.sub(r"Signature=[^,\s]*", "Signature=<redacted>", value)


def verify(method, path, query, headers, body, credentials, region, service, now, max_skew=MAX_SKEW_SECONDS, require_token_signed=True):
    """Verify a SigV4 header-signed request; raise SigV4Error on any failure, return the parsed
    Authorization parts (access key, scope, signed headers) on success.

    headers: list of (name, value) as received. credentials: {access_key: (secret_key, session_token
    or None)}. now: aware datetime (the server clock, skew applied). The session token, if the key
    has one, must arrive as X-Amz-Security-Token, equal it, and (require_token_signed) be signed;
    a token sent for a key without one is rejected. `host` and `x-amz-date` must be signed.
    """
    hdr = {}
    for name, value in headers:
        hdr.setdefault(name.lower(), []).append(value)
    authz_values = hdr.get("authorization")
    if not authz_values:
        raise SigV4Error("MissingAuthenticationTokenException", "Missing Authentication Token")
    parts = parse_authorization(authz_values[0])
    date_values = hdr.get("x-amz-date")
    if not date_values:
        raise SigV4Error(
            "IncompleteSignatureException",
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=%s"
            % _redact_authz(authz_values[0]),
        )
    key = credentials.get(parts["access_key"])
    if key is None:
        raise SigV4Error("UnrecognizedClientException", INVALID_TOKEN_MESSAGE)
    secret_key, token = key
    sent_tokens = hdr.get("x-amz-security-token")
    if token:
        if not sent_tokens or not hmac.compare_digest(sent_tokens[0].strip().encode(), token.encode()):
            raise SigV4Error("UnrecognizedClientException", INVALID_TOKEN_MESSAGE)
        if require_token_signed and "x-amz-security-token" not in parts["signed"]:
            raise SigV4Error(
                "IncompleteSignatureException",
                "'X-Amz-Security-Token' must be a 'SignedHeader' in the AWS Authorization.",
            )
    elif sent_tokens:
        raise SigV4Error("UnrecognizedClientException", INVALID_TOKEN_MESSAGE)
    stamp = date_values[0].strip()
    try:
        when = datetime.datetime.strptime(stamp, AMZ_DATE_FORMAT).replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        raise SigV4Error(
            "IncompleteSignatureException",
            "Date must be in ISO-8601 'basic format'. Got '%s'. See http://en.wikipedia.org/wiki/ISO_8601" % stamp[:40],
        ) from None
    if parts["date"] != stamp[:8]:
        raise SigV4Error(
            "InvalidSignatureException",
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'."
            % (parts["date"], stamp[:8], stamp),
        )
    if parts["region"] != region:
        raise SigV4Error(
            "InvalidSignatureException", "Credential should be scoped to a valid region, not '%s'. " % parts["region"]
        )
    if parts["service"] != service:
        raise SigV4Error(
            "InvalidSignatureException", "Credential should be scoped to correct service: '%s'. " % service
        )
    if parts["terminator"] != "aws4_request":
        raise SigV4Error(
            "InvalidSignatureException",
            "Credential should be scoped with a valid terminator: 'aws4_request', not '%s'. " % parts["terminator"],
        )
    signed = parts["signed"]
    if "host" not in signed:
        raise SigV4Error(
            "InvalidSignatureException", "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
        )
    if "x-amz-date" not in signed:
        raise SigV4Error(
            "InvalidSignatureException", "'X-Amz-Date' or 'Date' must be a 'SignedHeader' in the AWS Authorization."
        )
    for name in signed:
        if name != name.lower() or name not in hdr:
            # A listed header that did not arrive cannot have been signed as sent.
            raise SigV4Error("InvalidSignatureException", MISMATCH_MESSAGE)
    creq = canonical_request(method, path, query, headers, signed, hashlib.sha256(body or b"").hexdigest())
    scope = "%s/%s/%s/aws4_request" % (parts["date"], region, service)
    sts = string_to_sign(stamp, scope, creq)
    expected = signature(secret_key, parts["date"], region, service, sts)
    if not hmac.compare_digest(expected.encode(), parts["Signature"].encode()):
        raise SigV4Error("InvalidSignatureException", MISMATCH_MESSAGE)
    delta = (when - now).total_seconds()
    if delta < -max_skew:
        raise SigV4Error(
            "InvalidSignatureException",
            "Signature expired: %s is now earlier than %s (%s - 5 min.)"
            % (stamp, amz_date(now - datetime.timedelta(seconds=max_skew)), amz_date(now)),
        )
    if delta > max_skew:
        raise SigV4Error(
            "InvalidSignatureException",
            "Signature not yet current: %s is still later than %s (%s + 5 min.)"
            % (stamp, amz_date(now + datetime.timedelta(seconds=max_skew)), amz_date(now)),
        )
    return parts
