"""What the local AWS fakes share (Python 3 standard library only): fault queues, error answers,
the HTTP/1.1 keep-alive request handler and threaded server that verify SigV4 on every API request
(sigv4.py, independent of the C signer), the test-only control API, the command line, a signing
client, and a fake run as a child process.

A fake is a Service (fake_secretsmanager.py: JSON 1.1; fake_rds.py and fake_sts.py: Query/XML
on QueryService; fake_imds.py and fake_container_creds.py: the credential endpoints, which are not
signed) plugged into this server. Options every fake takes:
    --port 0 --port-file FILE --access-key AKID --secret-key SECRET [--session-token TOKEN]
    [--region us-east-1] [--account 123456789012] [--tls-cert CERT --tls-key KEY] [--verbose]
--access-key/--secret-key default to AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY. The port file gets
"<port>\\n", written atomically once the socket listens. SIGTERM/SIGINT exit 0.

Test-only control API (unsigned JSON under /_fake/; never exists on AWS):
    POST /_fake/faults   {"operation": "<Op>"|"*", "error": E, "count": N, "skip": K, "status": S,
                          "message": "...", "delay_ms": M, "apply": true} (or a list of these). The
                         next N calls of <Op> (after letting K through) fail with E, checked after
                         SigV4 verification passed. E is an AWS code (the service's defaults for
                         status and message, else 400 "Injected <code>"), "reset" (TCP RST, no
                         answer), "close" (FIN, no answer) or "delay" (sleep delay_ms, then answer
                         normally; delay_ms also delays an error). count -1: until /_fake/reset.
                         "apply": the request takes effect first, so only its answer is lost.
    GET|DELETE /_fake/faults   pending faults | clear them
    GET  /_fake/calls    every API call in the order of its answer: {"operation", "status" (0: no
                         answer), "error", "fault", "authenticated", "request_id", "time", and the
                         service's own fields}. Never a secret value, key, token or signature.
    POST /_fake/reset    clears faults and calls ({"state": true} also the service's state)
    GET|POST /_fake/state   the service's state | replace it (seeding)
    GET  /_fake/stats    {"connections", "requests" (API and control), "api_calls"}
    POST /_fake/clock    {"skew_seconds": S}: the fake's clock runs S seconds off real time
    GET  /_fake/secret-material   {"material": [...]}: keys, tokens, signing keys, signatures and
                         the service's secrets, for the suite's hygiene check (no output holds any)
"""
import argparse
import datetime
import http.client
import http.server
import json
import os
import re
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse
import uuid
from xml.sax.saxutils import escape as _xml_escape

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sigv4  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
VERBOSE = False


def log(name, msg):
    if VERBOSE:
        sys.stderr.write("%s: %s\n" % (name, msg))
        sys.stderr.flush()


class ApiError(Exception):
    """An error answer: AWS code, message, HTTP status."""

    def __init__(self, code, message, status=400):
        super().__init__("%s: %s" % (code, message))
        self.code = code
        self.message = message
        self.status = status


class Faults:
    """Queued fault injections; take() consumes one matching entry."""

    def __init__(self):
        self.lock = threading.Lock()
        self.items = []

    def add(self, spec):
        if not isinstance(spec, dict):
            raise ValueError("a fault is an object")
        error = spec.get("error")
        if not isinstance(error, str) or not error:
            raise ValueError("fault needs an 'error' string")
        count = spec.get("count", 1)
        if not isinstance(count, int) or isinstance(count, bool) or count == 0 or count < -1:
            raise ValueError("count must be a positive integer or -1")
        status = spec.get("status")
        if status is not None and (not isinstance(status, int) or not 100 <= status <= 599):
            raise ValueError("status must be an HTTP status")
        item = {
            "operation": spec.get("operation") or "*",
            "error": error,
            "count": count,
            "delay_ms": int(spec.get("delay_ms", 0) or 0),
            "status": status,
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


class Service:
    """What a fake adds to the server. server is set before the first request."""

    name = "fake"
    content_type = "application/json"
    fault_defaults = {}  # code -> (status, message)
    request_ids = True  # answers carry x-amzn-RequestId (the credential endpoints' do not)
    error_content_type = None  # of error answers, when not content_type

    def parse(self, handler, method, body, call):
        """The request: returns (operation or None, request); may fill call and raise ApiError."""
        raise NotImplementedError

    def authenticate(self, handler, method, body, op, request):
        """Checks the request's authentication, right after parse(): SigV4 unless a service says
        otherwise (raises ApiError through sigv4_error). Returns whether the request was
        authenticated."""
        handler.verify_sigv4(method, body)
        return True

    def answer(self, op, request, call, ctx):
        """The 2xx body (bytes) for a verified request; raises ApiError. ctx["after"], when set,
        runs once the answer is sent; ctx["headers"] ([(name, value)]) and ctx["content_type"]
        add to or replace the answer's headers."""
        raise NotImplementedError

    def apply(self, op, request, ctx):
        """Makes request take effect for an "apply" fault (services that change nothing ignore
        it)."""

    def error_body(self, err, request_id):
        raise NotImplementedError

    def sigv4_error(self, e):
        return ApiError(e.code, e.message, e.status)

    def fault_error(self, fault, op, request, handler):
        status, message = self.fault_defaults.get(fault["error"], (400, None))
        return ApiError(fault["error"], fault["message"] or message or "Injected %s" % fault["error"],
                        int(fault["status"] or status))

    def state(self):
        return {}

    def load(self, doc):
        raise ValueError("this fake takes no state")

    def reset(self, state):
        """/_fake/reset: the service's own part ({"state": true} also wipes the state)."""

    def secret_material(self):
        return set()

    def control(self, handler, method, path, query, doc):
        """The service's own control routes: returns the JSON answer, or None (no such route)."""
        return None


# ---------------------------------------------------------------------------------------------
# The Query protocol (RDS, STS): form-encoded POSTs, XML answers and errors

FORM_CT = "application/x-www-form-urlencoded"
# sigv4.py speaks the JSON services' codes; the Query front ends' equivalents.
QUERY_SIGV4_CODES = {
    "InvalidSignatureException": ("SignatureDoesNotMatch", 403),
    "UnrecognizedClientException": ("InvalidClientTokenId", 403),
    "IncompleteSignatureException": ("IncompleteSignature", 400),
    "MissingAuthenticationTokenException": ("MissingAuthenticationToken", 403),
}


def _xml_text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return _xml_escape(str(value))


def render_xml(nodes, depth=0, out=None):
    """nodes: [(name, value)] where value is a scalar (text), a list of nodes (children; [] gives a
    self-closing element) or None (left out, as AWS leaves out members without a value)."""
    out = [] if out is None else out
    pad = "  " * depth
    for name, value in nodes:
        if value is None:
            continue
        if isinstance(value, list):
            if not value:
                out.append("%s<%s/>" % (pad, name))
            else:
                out.append("%s<%s>" % (pad, name))
                render_xml(value, depth + 1, out)
                out.append("%s</%s>" % (pad, name))
        else:
            out.append("%s<%s>%s</%s>" % (pad, name, _xml_text(value), name))
    return out


class QueryService(Service):
    """A Query protocol service: `POST /` with a form body (Action, Version, parameters) signed
    with SigV4; answers `<OpResponse xmlns=NS><OpResult>...</OpResult><ResponseMetadata>`, errors
    `<ErrorResponse xmlns=NS><Error><Type>Sender|Receiver</Type><Code/><Message/></Error>
    <RequestId/></ErrorResponse>` (Receiver for 5xx [assumed]), indented, no XML declaration."""

    content_type = "text/xml"
    namespace = None

    def document(self, root, body_nodes):
        lines = ['<%s xmlns="%s">' % (root, self.namespace)]
        render_xml(body_nodes, 1, lines)
        lines.append("</%s>" % root)
        return ("\n".join(lines) + "\n").encode("utf-8")

    def result(self, op, nodes):
        """The answer to op: its result element holding nodes, and the response metadata."""
        return self.document(op + "Response", [(op + "Result", nodes),
                                               ("ResponseMetadata", [("RequestId", str(uuid.uuid4()))])])

    def parse(self, handler, method, body, call):
        ctype = (handler.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        call["access_key"] = handler.access_key()
        if method != "POST" or ctype != FORM_CT:
            raise ApiError("InvalidAction", "Requests are a form POST to /.")  # [assumed]
        try:
            params = dict(urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError:
            raise ApiError("MalformedQueryString", "The request body is not UTF-8.") from None  # [assumed]
        op = params.get("Action")
        call["operation"] = op
        return op, params

    def error_body(self, err, request_id):
        kind = "Receiver" if err.status >= 500 else "Sender"
        return self.document("ErrorResponse", [("Error", [("Type", kind), ("Code", err.code),
                                                          ("Message", err.message)]),
                                               ("RequestId", request_id)])

    def sigv4_error(self, e):
        code, status = QUERY_SIGV4_CODES.get(e.code, (e.code, e.status))
        if code == "MissingAuthenticationToken":
            return ApiError(code, "Request is missing Authentication Token", status)  # [assumed]
        return ApiError(code, e.message, status)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
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

    def version_string(self):
        return self.server.service.name

    def log_message(self, fmt, *args):
        log(self.server.service.name, "%s %s" % (self.address_string(), fmt % args))

    def _read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks, total = [], 0
            while True:
                size = int(self.rfile.readline(1024).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                total += size
                if total > 4 << 20:
                    raise ValueError("body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0 or length > 4 << 20:
            raise ValueError("bad Content-Length")
        return self.rfile.read(length) if length else b""

    def send(self, status, data, content_type, request_id=None, headers=()):
        if not isinstance(data, bytes):
            data = json.dumps(data, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        if request_id:
            self.send_header("x-amzn-RequestId", request_id)
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _drop(self, rst):
        """Close without answering: rst=True sends a TCP reset, otherwise an orderly FIN."""
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
            err = ApiError("SerializationException", "Bad request body framing")
            self.send(400, self.server.service.error_body(err, str(uuid.uuid4())),
                      self.server.service.content_type)
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

    def do_DELETE(self):
        self._handle("DELETE")

    def do_PUT(self):
        self._handle("PUT")

    def access_key(self):
        m = re.search(r"Credential=([^/,\s]+)/", self.headers.get("Authorization", ""))
        return m.group(1) if m else None

    def verify_sigv4(self, method, body):
        server = self.server
        url = urllib.parse.urlsplit(self.path)
        now = datetime.datetime.fromtimestamp(server.now(), datetime.timezone.utc)
        try:
            sigv4.verify(method, url.path, url.query, list(self.headers.items()), body,
                         server.credentials, server.opts.region, server.opts.signing_name, now)
        except sigv4.SigV4Error as e:
            raise server.service.sigv4_error(e) from None
        m = re.search(r"Signature=([0-9a-f]{64})", self.headers.get("Authorization", ""))
        if m:
            server.add_material(m.group(1))

    def _api(self, method, body):
        server, service = self.server, self.server.service
        rid = str(uuid.uuid4())
        call = {"operation": None, "status": None, "error": None, "fault": None, "authenticated": False}
        ctx, reply, drop = {}, None, None
        try:
            op, request = service.parse(self, method, body, call)
            call["authenticated"] = service.authenticate(self, method, body, op, request)
            fault = server.faults.take(op or "")
            if fault is not None:
                call["fault"] = fault["error"]
                if fault["apply"]:
                    service.apply(op, request, ctx)
                if fault["delay_ms"]:
                    time.sleep(fault["delay_ms"] / 1000.0)
                if fault["error"] in ("reset", "close"):
                    call["status"], call["error"] = 0, "connection-" + fault["error"]
                    drop = fault["error"]
                    return  # `finally` records the call, then drops the connection
                if fault["error"] != "delay":
                    raise service.fault_error(fault, op, request, self)
            reply = (200, service.answer(op, request, call, ctx))
            call["status"] = 200
        except ApiError as e:
            call["status"], call["error"] = e.status, e.code
            reply = (e.status, service.error_body(e, rid))
            ctx.setdefault("content_type", service.error_content_type or service.content_type)
        except Exception:  # noqa: BLE001 - a bug in the fake must still answer
            traceback.print_exc()
            err = ApiError("InternalFailure", "An error occurred on the server side.", 500)
            call["status"], call["error"] = 500, err.code
            reply = (500, service.error_body(err, rid))
        finally:
            # Recorded before answering, so the log is in the order the client saw answers.
            call["request_id"] = rid
            call["time"] = round(time.time(), 3)
            server.record_call(call)
            log(service.name, "%s %s %s" % (call["operation"], call["status"], call["error"] or ""))
            if drop is not None:
                self._drop(drop == "reset")
        try:
            self.send(reply[0], reply[1], ctx.get("content_type", service.content_type),
                      request_id=rid if service.request_ids else None, headers=ctx.get("headers", ()))
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        if "after" in ctx:
            ctx["after"]()

    def _control(self, method, body):
        url = urllib.parse.urlsplit(self.path)
        try:
            doc = json.loads(body.decode("utf-8")) if body.strip() else {}
        except (ValueError, UnicodeDecodeError):
            self.send(400, {"error": "body is not JSON"}, "application/json")
            return
        try:
            out = self.server.control(self, method, url.path.rstrip("/"),
                                      dict(urllib.parse.parse_qsl(url.query)), doc)
            if out is None:
                self.send(404, {"error": "no such control endpoint: %s %s" % (method, url.path)},
                          "application/json")
            else:
                self.send(200, out, "application/json")
        except ApiError as e:
            self.send(404, {"error": e.message}, "application/json")
        except (ValueError, TypeError, KeyError) as e:
            self.send(400, {"error": str(e)}, "application/json")


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, opts, service):
        self.opts = opts
        self.service = service
        service.server = self
        self.tls = bool(opts.tls_cert)
        self.faults = Faults()
        self.credentials = {opts.access_key: (opts.secret_key, opts.session_token or None)}
        self.lock = threading.Lock()
        self.connections = 0
        self.requests = 0
        self.calls = []
        self.material = set()
        self.skew = 0.0
        super().__init__(("127.0.0.1", opts.port), Handler)
        if self.tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(opts.tls_cert, opts.tls_key)
            self.socket = ctx.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)

    def now(self):
        with self.lock:
            return time.time() + self.skew

    def get_request(self):
        conn, addr = super().get_request()
        with self.lock:
            self.connections += 1
        return conn, addr

    def count_request(self):
        with self.lock:
            self.requests += 1

    def record_call(self, call):
        with self.lock:
            self.calls.append(call)

    def add_material(self, secret):
        with self.lock:
            self.material.add(secret)

    def secret_material(self):
        with self.lock:
            out = set(self.material)
        out |= self.service.secret_material()
        today = datetime.datetime.now(datetime.timezone.utc)
        for secret_key, token in self.credentials.values():
            out.add(secret_key)
            if token:
                out.add(token)
            for delta in (-1, 0, 1):
                day = (today + datetime.timedelta(days=delta)).strftime("%Y%m%d")
                out.update(sigv4.signing_keys_hex(secret_key, day, self.opts.region,
                                                  self.opts.signing_name).values())
        return {"material": sorted(x for x in out if len(x) >= 8)}

    def control(self, handler, method, path, query, doc):
        route = (method, path)
        if route == ("POST", "/_fake/faults"):
            return {"added": [self.faults.add(s) for s in (doc if isinstance(doc, list) else [doc])]}
        if route == ("GET", "/_fake/faults"):
            return self.faults.snapshot()
        if route == ("DELETE", "/_fake/faults"):
            self.faults.clear()
            return {}
        if route == ("GET", "/_fake/calls"):
            with self.lock:
                return [dict(c) for c in self.calls]
        if route == ("POST", "/_fake/reset"):
            self.faults.clear()
            with self.lock:
                self.calls = []
            self.service.reset(isinstance(doc, dict) and bool(doc.get("state")))
            return {}
        if route == ("GET", "/_fake/state"):
            return self.service.state()
        if route == ("POST", "/_fake/state"):
            self.service.load(doc)
            return self.service.state()
        if route == ("GET", "/_fake/stats"):
            with self.lock:
                return {"connections": self.connections, "requests": self.requests,
                        "api_calls": len(self.calls)}
        if route == ("POST", "/_fake/clock"):
            skew = doc.get("skew_seconds", 0) if isinstance(doc, dict) else None
            if not isinstance(skew, (int, float)) or isinstance(skew, bool):
                raise ValueError("skew_seconds must be a number")
            with self.lock:
                self.skew = float(skew)
            return {"skew_seconds": self.skew}
        if route == ("GET", "/_fake/secret-material"):
            return self.secret_material()
        return self.service.control(handler, method, path, query, doc)

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ssl.SSLError, ConnectionError, socket.timeout, TimeoutError)):
            log(self.service.name, "connection from %s ended: %s" % (client_address, exc.__class__.__name__))
            return
        super().handle_error(request, client_address)


def arg_parser(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file")
    p.add_argument("--access-key", default=os.environ.get("AWS_ACCESS_KEY_ID"))
    p.add_argument("--secret-key", default=os.environ.get("AWS_SECRET_ACCESS_KEY"))
    p.add_argument("--session-token")
    p.add_argument("--region", default="us-east-1")
    p.add_argument("--account", default="123456789012")
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--verbose", action="store_true")
    return p


def main(parser, signing_name, make_service, argv=None):
    global VERBOSE
    opts = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if not opts.access_key or not opts.secret_key:
        parser.error("--access-key and --secret-key are required")
    if bool(opts.tls_cert) != bool(opts.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    if not re.fullmatch(r"\d{12}", opts.account):
        parser.error("--account must be 12 digits")
    opts.signing_name = signing_name
    VERBOSE = opts.verbose
    server = Server(opts, make_service(opts))
    port = server.server_address[1]
    if opts.port_file:
        with open(opts.port_file + ".tmp", "w", encoding="ascii") as f:
            f.write("%d\n" % port)
        os.replace(opts.port_file + ".tmp", opts.port_file)

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    log(server.service.name, "listening on %s://127.0.0.1:%d" % ("https" if server.tls else "http", port))
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


# ---------------------------------------------------------------------------------------------
# The client side: a signing client and a fake as a child process


class Response:
    def __init__(self, status, headers, raw):
        self.status = status
        self.headers = headers  # lowercase name -> value
        self.raw = raw


class Client:
    """Signs with sigv4.sign (botocore's way) and keeps one connection alive, reopening it once
    when the server closed it. Services' clients build the request and read the answer."""

    def __init__(self, endpoint, service, region=None, access_key=None, secret_key=None,
                 session_token=None, timeout=30.0, ca_file=None, retry_stale=True):
        url = urllib.parse.urlsplit(endpoint.rstrip("/"))
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError("endpoint must be http(s)://host[:port]")
        self.scheme, self.host = url.scheme, url.hostname
        default_port = 443 if url.scheme == "https" else 80
        self.port = url.port or default_port
        self.host_header = self.host if self.port == default_port else "%s:%d" % (self.host, self.port)
        self.service = service
        self.region = region or os.environ.get("AWS_REGION") or "us-east-1"
        self.access_key = access_key or os.environ.get("AWS_ACCESS_KEY_ID")
        self.secret_key = secret_key or os.environ.get("AWS_SECRET_ACCESS_KEY")
        self.session_token = session_token
        self.timeout = timeout
        self.ca_file = ca_file
        self.retry_stale = retry_stale  # reopen once when a kept-alive connection turns out closed
        self.conn = None

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def _roundtrip(self, method, target, headers, body):
        for attempt in (1, 2):
            if self.conn is None:
                if self.scheme == "https":
                    ctx = ssl.create_default_context(cafile=self.ca_file)
                    self.conn = http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout, context=ctx)
                else:
                    self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            reused = self.conn.sock is not None
            try:
                self.conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
                for name, value in headers:
                    self.conn.putheader(name, value)
                self.conn.endheaders(body)
                resp = self.conn.getresponse()
                raw = resp.read()
                if resp.will_close:
                    self.close()
                return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, raw)
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()
                if attempt == 2 or not reused or not self.retry_stale:
                    raise
        raise AssertionError("unreachable")

    def send(self, headers, body, *, method="POST", query="", when=None, secret_key=None,
             access_key=None, session_token=None, sign=True, mutate=None):
        """Signs and sends one request to "/" and returns a Response (never raises for an HTTP
        error status). For tests that need a bad request: `when` signs with another time;
        secret_key / access_key / session_token override the credentials ("" drops the token);
        sign=False sends no Authorization; mutate(headers, body) -> (headers, body) runs after
        signing, to tamper with what was signed."""
        headers = [("Host", self.host_header)] + list(headers)
        if sign:
            token = self.session_token if session_token is None else (session_token or None)
            headers, _ = sigv4.sign(method, "/", query, headers, body, access_key or self.access_key,
                                    secret_key or self.secret_key, self.region, self.service,
                                    session_token=token, when=when)
        if mutate is not None:
            headers, body = mutate(list(headers), body)
        if method != "GET" or body:
            headers.append(("Content-Length", str(len(body))))
        return self._roundtrip(method, "/" + ("?" + query if query else ""), headers, body)


def control(endpoint, method, path, body=None, ca_file=None):
    """Calls a fake's unsigned /_fake/ control API; returns the decoded JSON."""
    url = urllib.parse.urlsplit(endpoint)
    if url.scheme == "https":
        conn = http.client.HTTPSConnection(url.hostname, url.port, timeout=30,
                                           context=ssl.create_default_context(cafile=ca_file))
    else:
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        data = json.dumps(body).encode() if body is not None else None
        conn.request(method, path, body=data, headers={"Content-Type": "application/json"} if data else {})
        resp = conn.getresponse()
        raw = resp.read()
        doc = json.loads(raw) if raw else None
        if resp.status != 200:
            raise RuntimeError("control %s %s -> %d %s" % (method, path, resp.status, doc))
        return doc
    finally:
        conn.close()


class FakeProcess:
    """Runs a fake (script: "fake_secretsmanager.py", "fake_rds.py") as a child process on a free
    port; stop() or the context manager ends it. Keyword options become flags (session_token=...,
    tls_cert=..., lambda_invoke_url=..., verbose=True)."""

    def __init__(self, script, access_key, secret_key, stderr=None, **options):
        self.dir = tempfile.mkdtemp(prefix="aws-fake-")
        port_file = os.path.join(self.dir, "port")
        argv = [sys.executable, os.path.join(HERE, script), "--port", "0", "--port-file", port_file,
                "--access-key", access_key, "--secret-key", secret_key]
        for key, value in options.items():
            if value is not None and value is not False:
                argv += ["--" + key.replace("_", "-")] + ([] if value is True else [str(value)])
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stderr=stderr)
        self.port = None
        deadline = time.monotonic() + 10
        while self.port is None and time.monotonic() < deadline:
            if os.path.exists(port_file):
                with open(port_file, encoding="ascii") as f:
                    self.port = int(f.read().strip() or 0) or None
            elif self.proc.poll() is not None:
                break
            time.sleep(0.02)
        if self.port is None:
            self.stop()
            raise RuntimeError("%s did not start" % script)
        self.endpoint = "%s://127.0.0.1:%d" % ("https" if options.get("tls_cert") else "http", self.port)
        self.ca_file = options.get("tls_cert")

    def control(self, method, path, body=None):
        return control(self.endpoint, method, path, body, ca_file=self.ca_file)

    def fault(self, operation, error, count=1, **extra):
        return self.control("POST", "/_fake/faults", dict(operation=operation, error=error, count=count, **extra))

    def calls(self):
        return self.control("GET", "/_fake/calls")

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
