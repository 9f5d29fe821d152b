#!/usr/bin/env python3
"""fake_lambda: a local fake of AWS Lambda for tests and demos (Python 3 standard library only).

It plays the Lambda service around one execution environment, independently of smrotate's C code:

  python3 fake_lambda.py --port 0 --port-file /tmp/port [--timeout 300] [--verbose]

It listens on 127.0.0.1 only (port 0 picks a free port; --port-file receives the chosen port,
written atomically) and serves three APIs on that one port. Every error body is JSON
{"errorMessage": ..., "errorType": ...}.

1. Runtime API (what a runtime's bootstrap talks to; AWS_LAMBDA_RUNTIME_API=127.0.0.1:<port>)
   GET  /2018-06-01/runtime/invocation/next        blocks until an event is queued; 200 + event
        with headers Lambda-Runtime-Aws-Request-Id (uuid), Lambda-Runtime-Deadline-Ms (epoch ms,
        now + timeout), Lambda-Runtime-Invoked-Function-Arn, Lambda-Runtime-Trace-Id,
        Lambda-Runtime-Invocation-Id (uuid), Lambda-Runtime-Aws-Tenant-Id when given. /next while the previous invocation has no result: 403
        InvalidStateTransition.
   POST /2018-06-01/runtime/invocation/{id}/response   202 {"status":"OK"}; unknown id: 400
        InvalidRequestID; known id that is not the current one, or already answered: 403
        InvalidStateTransition; body over 6 MiB + 100 bytes (6291556): 413 RequestEntityTooLarge
        (the invocation then fails with Function.ResponseSizeTooLarge); an answer after the
        invocation timed out: 410 ErrorRuntimeInvokeTimeout.
   POST /2018-06-01/runtime/invocation/{id}/error      same rules (no size check), 202.
   POST /2018-06-01/runtime/init/error                 202 before the runtime's first /next, 403
        InvalidStateTransition after it. Pending and later invokes fail with the posted error.

2. Extensions API: not served (404); requests to it are counted ("extension_requests"), since
   bootstrap registers no extension.

3. Invoke endpoint, as the AWS Runtime Interface Emulator serves it
   POST /2015-03-31/functions/function/invocations   body = the event (over 6291556 bytes: 413).
        Optional request headers X-Amzn-Trace-Id, X-Amz-Tenant-Id. Blocks until the runtime posts a result, then answers
          200 + the response payload, or
          200 + header X-Amz-Function-Error: Unhandled + the posted error body
        (also for an init error, a 413 response, the runtime exiting: Runtime.ExitError, or the
        timeout: Sandbox.Timedout "Task timed out after N.00 seconds").

4. Control API for tests, unsigned JSON, under /_fake/
   POST /_fake/enqueue  {                  queue an event for /next; answers {"request_id": id}
          "payload": <JSON value> |
          "payload_size": N  (N bytes of JSON string filler; no size limit here),
          "request_id": "...", "trace_id": "...", "invocation_id": "...", "tenant_id": "...",
          "timeout_ms": N, "delay_ms": N (hold /next that long before answering),
          "headers": {"Name": "value"} (added/replacing), "omit": ["Name", ...] (left out),
          "count": N (enqueue N copies; answers {"request_ids": [...]})}
   POST /_fake/script   {"endpoint": E, "statuses": [S, ...]}   the next requests to endpoint E
          (next, response, error, init_error, invoke) are answered
          with these statuses in order instead of normally: an HTTP code (400, 403, 410, 413,
          500, ...) with a JSON error body, or "reset" (the connection is closed with a TCP RST,
          no answer). A scripted answer to a post still completes the current invocation; a
          scripted /next leaves the queued event in place.
   POST /_fake/config   {"timeout_ms": N}
   GET  /_fake/state[?bodies=0|1|full]     everything recorded: "posts" (path, kind, request_id,
          status answered, headers received, body_len, body (UTF-8 text or null), body_b64;
          bodies over 1 MiB are left out unless bodies=full; bodies=0 leaves all out),
          "init_errors" (same shape), "deliveries" (request_id, headers sent, time), "next_calls",
          "next_times", "extension_requests".
          Times are time.monotonic() seconds (CLOCK_MONOTONIC, comparable across processes).
   GET  /_fake/wait?posts=N&init_errors=N&next_calls=N&timeout=S
          waits until every given count is reached (posts counts /response and /error posts),
          then answers like /_fake/state; 408 with the state after S seconds (default 10).
   POST /_fake/runtime-exited {"reason"}   a runtime started elsewhere died: the invocation in
          flight fails with Runtime.ExitError, as in Lambda.
   POST /_fake/reset                       forget everything (queue, records).

The module also offers start_fake() and Client for Python tests (see their docstrings).
"""
import argparse
import base64
import collections
import json
import os
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_PAYLOAD = 6 * 1024 * 1024 + 100  # 6291556, the emulator's limit
BODY_INLINE_MAX = 1024 * 1024
DEFAULT_ARN = "arn:aws:lambda:us-east-1:012345678912:function:%s"

SCRIPT_ERRORS = {
    400: ("InvalidRequestID", "Invalid request ID"),
    403: ("InvalidStateTransition", "State transition from Ready to Invoking failed"),
    404: ("NotFound", "Not found"),
    409: ("Conflict", "Conflict"),
    410: ("ErrorRuntimeInvokeTimeout", "Invoke timed out"),
    413: ("RequestEntityTooLarge", "Exceeded maximum allowed payload size (%d bytes)." % MAX_PAYLOAD),
    429: ("TooManyRequestsException", "Rate exceeded"),
    500: ("ServiceException", "Container error. Non-recoverable state. Runtime should exit promptly."),
    502: ("BadGateway", "Bad gateway"),
}


def _now_ms():
    return int(time.time() * 1000)


def _trace_id():
    return "Root=1-%08x-%s;Parent=%s;Sampled=0" % (int(time.time()), os.urandom(12).hex(), os.urandom(8).hex())


def _error_body(error_type, message):
    return json.dumps({"errorMessage": message, "errorType": error_type}).encode()


class Event:
    """One invocation: queued, then delivered (current), then completed with a result."""

    def __init__(self, payload, request_id=None, timeout_ms=None, delay_ms=0, extra=None, omit=(),
                 trace_id=None, invocation_id=None, tenant_id=None):
        self.request_id = request_id or str(uuid.uuid4())
        self.payload = payload
        self.timeout_ms = timeout_ms
        self.delay_ms = delay_ms
        self.extra = extra or {}
        self.omit = {h.lower() for h in omit}
        self.trace_id = trace_id if trace_id is not None else _trace_id()
        self.invocation_id = invocation_id if invocation_id is not None else str(uuid.uuid4())
        self.tenant_id = tenant_id
        self.deadline_ms = None
        self.delivered_at = None
        self.result = None  # (kind, body bytes): kind "response" or "error"
        self.timed_out = False


class State:
    def __init__(self, function_name, timeout_ms, function_arn=None):
        self.cond = threading.Condition()
        self.function_name = function_name
        self.function_arn = function_arn or DEFAULT_ARN % function_name
        self.timeout_ms = timeout_ms
        self.stopping = threading.Event()
        self.reset()

    def reset(self):
        # Requests blocked since before the reset see the generation change and give up.
        self.generation = getattr(self, "generation", 0) + 1
        self.queue = collections.deque()
        self.known = {}
        self.current = None
        self.runtime_started = False  # the runtime called /next at least once
        self.init_error = None        # body bytes
        self.posts = []
        self.init_errors = []
        self.deliveries = []
        self.next_calls = 0
        self.next_times = []
        self.scripts = collections.defaultdict(collections.deque)
        self.extension_requests = 0

    def pop_script(self, endpoint):
        with self.cond:
            q = self.scripts.get(endpoint)
            return q.popleft() if q else None

    def complete(self, ev, kind, body):
        if ev.result is None:
            ev.result = (kind, body)
            self.cond.notify_all()

    def snapshot(self, bodies="1"):
        def rec(r):
            out = {k: v for k, v in r.items() if k != "body"}
            body = r["body"]
            out["body_len"] = len(body)
            if bodies == "full" or (bodies != "0" and len(body) <= BODY_INLINE_MAX):
                try:
                    out["body"] = body.decode("utf-8")
                except UnicodeDecodeError:
                    out["body"] = None
                out["body_b64"] = base64.b64encode(body).decode()
            return out

        return {
            "posts": [rec(p) for p in self.posts],
            "init_errors": [rec(p) for p in self.init_errors],
            "deliveries": list(self.deliveries),
            "next_calls": self.next_calls,
            "next_times": list(self.next_times),
            "extension_requests": self.extension_requests,
        }


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-lambda/1"
    state = None  # set by make_server
    verbose = False

    # ---- plumbing ----

    def setup(self):
        super().setup()
        # Headers and body go out in separate writes: without this, Nagle plus the client's
        # delayed ACK adds 40 ms to every answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, fmt, *args):
        if self.verbose:
            sys.stderr.write("fake_lambda: %s\n" % (fmt % args))

    def _read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        chunks = []
        while n > 0:
            chunk = self.rfile.read(min(n, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def _send(self, status, body=b"", headers=None, content_type="application/json"):
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return True
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True
            return False

    def _json(self, status, obj, headers=None):
        return self._send(status, json.dumps(obj).encode(), headers)

    def _error(self, status, error_type, message):
        return self._send(status, _error_body(error_type, message))

    def _reset(self):
        """Closes the connection with a TCP RST and no answer."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    def _client_gone(self):
        """True when the client closed its end (a runtime that died while blocked in /next)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def _scripted(self, status):
        if status == "reset":
            self._reset()
            return
        etype, msg = SCRIPT_ERRORS.get(int(status), ("Scripted", "scripted status %s" % status))
        self._error(int(status), etype, msg)

    # ---- dispatch ----

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def _dispatch(self, method):
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        query = dict(urllib.parse.parse_qsl(url.query))
        try:
            if path.startswith("/_fake/"):
                return self._control(method, path, query)
            if path.startswith("/2020-01-01/"):
                with self.state.cond:
                    self.state.extension_requests += 1
                return self._error(404, "NotFound", "the Extensions API is not served here")
            if method == "GET" and path == "/2018-06-01/runtime/invocation/next":
                return self._next()
            m = re.fullmatch(r"/2018-06-01/runtime/invocation/([^/]+)/(response|error)", path)
            if method == "POST" and m:
                return self._post_result(urllib.parse.unquote(m.group(1)), m.group(2))
            if method == "POST" and path == "/2018-06-01/runtime/init/error":
                return self._init_error()
            if method == "POST" and path == "/2015-03-31/functions/function/invocations":
                return self._invoke()
            if method == "POST":
                self._read_body()
            self._error(404, "NotFound", "no route for %s %s" % (method, path))
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    # ---- Runtime API ----

    def _next(self):
        st = self.state
        with st.cond:
            st.next_calls += 1
            st.next_times.append(time.monotonic())
            st.cond.notify_all()
        scripted = st.pop_script("next")
        if scripted is not None:
            return self._scripted(scripted)
        with st.cond:
            if st.current is not None and st.current.result is None:
                return self._error(403, "InvalidStateTransition",
                                   "State transition from Invoking to Ready failed: the current invocation has no result")
            st.runtime_started = True
            st.current = None
            generation = st.generation
            while not st.queue and not st.stopping.is_set() and st.generation == generation:
                st.cond.wait(0.2)
                if self._client_gone():
                    return self._reset()
            if st.stopping.is_set() or st.generation != generation:
                return self._reset()
            ev = st.queue.popleft()
            st.current = ev
        if ev.delay_ms:
            time.sleep(ev.delay_ms / 1000.0)
        if self._client_gone():
            # The runtime died while this /next was open: the event goes back to the queue.
            with st.cond:
                if st.current is ev:
                    st.current = None
                st.queue.appendleft(ev)
                st.cond.notify_all()
            return self._reset()
        timeout_ms = ev.timeout_ms if ev.timeout_ms is not None else st.timeout_ms
        ev.deadline_ms = _now_ms() + timeout_ms
        ev.delivered_at = time.monotonic()
        headers = {
            "Lambda-Runtime-Aws-Request-Id": ev.request_id,
            "Lambda-Runtime-Deadline-Ms": str(ev.deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn": st.function_arn,
            "Lambda-Runtime-Trace-Id": ev.trace_id,
            "Lambda-Runtime-Invocation-Id": ev.invocation_id,
        }
        if ev.tenant_id is not None:
            headers["Lambda-Runtime-Aws-Tenant-Id"] = ev.tenant_id
        headers.update(ev.extra)
        headers = {k: v for k, v in headers.items() if k.lower() not in ev.omit}
        with st.cond:
            st.known[ev.request_id] = ev
            st.deliveries.append({"request_id": ev.request_id, "headers": headers, "time": ev.delivered_at})
        # A failure while sending counts as delivered, as in Lambda: the runtime may have read
        # the headers (and rejected an oversized body) and will answer for that request id.
        self._send(200, ev.payload, headers)

    def _record(self, kind, request_id, body, status, target):
        target.append({
            "path": self.path, "kind": kind, "request_id": request_id, "status": status,
            "headers": dict(self.headers.items()), "body": body, "time": time.monotonic(),
        })
        self.state.cond.notify_all()

    def _post_result(self, request_id, kind):
        st = self.state
        body = self._read_body()
        scripted = st.pop_script(kind)
        with st.cond:
            ev = st.known.get(request_id)
            if scripted is not None:
                self._record(kind, request_id, body, scripted, st.posts)
                if scripted != "reset" and ev is not None and ev is st.current:
                    st.complete(ev, "error", _error_body("Fake.Scripted%s" % scripted,
                                                         "the fake answered %s to the %s post" % (scripted, kind)))
            elif ev is None:
                status = 400
                self._record(kind, request_id, body, status, st.posts)
            elif ev.timed_out:
                status = 410
                self._record(kind, request_id, body, status, st.posts)
            elif ev is not st.current or ev.result is not None:
                status = 403
                self._record(kind, request_id, body, status, st.posts)
            elif kind == "response" and len(body) > MAX_PAYLOAD:
                status = 413
                self._record(kind, request_id, body, status, st.posts)
                st.complete(ev, "error", _error_body(
                    "Function.ResponseSizeTooLarge",
                    "Response payload size exceeded maximum allowed payload size (%d bytes)." % MAX_PAYLOAD))
            else:
                status = 202
                self._record(kind, request_id, body, status, st.posts)
                st.complete(ev, kind, body)
        if scripted is not None:
            return self._scripted(scripted)
        if status == 202:
            return self._json(202, {"status": "OK"})
        if status == 400:
            return self._error(400, "InvalidRequestID", "Invalid request ID: %s" % request_id[:80])
        if status == 410:
            return self._error(410, "ErrorRuntimeInvokeTimeout", "the invocation already timed out")
        if status == 413:
            return self._error(413, "RequestEntityTooLarge", SCRIPT_ERRORS[413][1])
        return self._error(403, "InvalidStateTransition",
                           "State transition failed: %s posted for an invocation that is not waiting for one" % kind)

    def _init_error(self):
        st = self.state
        body = self._read_body()
        scripted = st.pop_script("init_error")
        with st.cond:
            if scripted is not None:
                status = scripted
            elif st.runtime_started:
                status = 403
            else:
                status = 202
                st.init_error = body
            self._record("init_error", None, body, status, st.init_errors)
        if scripted is not None:
            return self._scripted(scripted)
        if status == 202:
            return self._json(202, {"status": "OK"})
        return self._error(403, "InvalidStateTransition", "init error after the runtime started")

    # ---- invoke endpoint (as the Runtime Interface Emulator) ----

    def _invoke(self):
        st = self.state
        body = self._read_body()
        scripted = st.pop_script("invoke")
        if scripted is not None:
            return self._scripted(scripted)
        if len(body) > MAX_PAYLOAD:
            return self._error(413, "RequestEntityTooLarge", SCRIPT_ERRORS[413][1])
        ev = Event(body, trace_id=self.headers.get("X-Amzn-Trace-Id"), tenant_id=self.headers.get("X-Amz-Tenant-Id"))
        started_ms = _now_ms()
        with st.cond:
            if st.init_error is None:
                st.queue.append(ev)
                st.cond.notify_all()
            while ev.result is None and st.init_error is None and not st.stopping.is_set():
                timeout_ms = ev.timeout_ms if ev.timeout_ms is not None else st.timeout_ms
                # Not delivered at all: allow Lambda's 10 s init on top of the timeout.
                limit_ms = ev.deadline_ms if ev.deadline_ms is not None else started_ms + timeout_ms + 10000
                if _now_ms() > limit_ms:
                    ev.timed_out = True
                    secs = timeout_ms / 1000.0
                    st.complete(ev, "error", _error_body(
                        "Sandbox.Timedout",
                        "RequestId: %s Error: Task timed out after %.2f seconds" % (ev.request_id, secs)))
                    if st.current is ev:
                        st.current = None
                    try:
                        st.queue.remove(ev)
                    except ValueError:
                        pass
                    break
                st.cond.wait(0.05)
            if ev.result is None and st.init_error is not None:
                try:
                    st.queue.remove(ev)
                except ValueError:
                    pass
                ev.result = ("error", st.init_error)
        kind, result = ev.result if ev.result is not None else ("error", _error_body("Fake.Stopping", "shutting down"))
        if self.verbose:
            sys.stderr.write("REPORT RequestId: %s\tResult: %s\n" % (ev.request_id, kind))
        if kind == "response":
            return self._send(200, result)
        return self._send(200, result, {"X-Amz-Function-Error": "Unhandled"})

    # ---- control API ----

    def _control(self, method, path, query):
        st = self.state
        body = self._read_body() if method == "POST" else b""
        req = json.loads(body) if body else {}
        if method == "POST" and path == "/_fake/enqueue":
            return self._json(200, self._enqueue(req))
        if method == "POST" and path == "/_fake/script":
            with st.cond:
                st.scripts[req["endpoint"]].extend(req["statuses"])
            return self._json(200, {"ok": True})
        if method == "POST" and path == "/_fake/config":
            with st.cond:
                if "timeout_ms" in req:
                    st.timeout_ms = int(req["timeout_ms"])
            return self._json(200, {"ok": True})
        if method == "GET" and path == "/_fake/state":
            with st.cond:
                snap = st.snapshot(query.get("bodies", "1"))
            return self._json(200, snap)
        if method == "GET" and path == "/_fake/wait":
            return self._wait(query)
        if method == "POST" and path == "/_fake/runtime-exited":
            # A runtime this fake did not launch died (a test killed it): the invocation in
            # flight fails as Lambda fails it, and the next runtime's /next gets the next event.
            with st.cond:
                ev = st.current
                if ev is not None and ev.result is None:
                    st.complete(ev, "error", _error_body(
                        "Runtime.ExitError",
                        "RequestId: %s Error: Runtime exited with error: %s"
                        % (ev.request_id, req.get("reason", "signal: killed"))))
                st.current = None
                st.cond.notify_all()
            return self._json(200, {"ok": True})
        if method == "POST" and path == "/_fake/reset":
            with st.cond:
                st.reset()
                st.cond.notify_all()
            return self._json(200, {"ok": True})
        return self._error(404, "NotFound", "no control route %s %s" % (method, path))

    def _enqueue(self, req):
        if "payload" in req:
            payload = json.dumps(req["payload"]).encode()
        elif "payload_size" in req:
            n = int(req["payload_size"])
            payload = b'"' + b"x" * max(n - 2, 0) + b'"'
        else:
            payload = b"{}"
        ids = []
        with self.state.cond:
            for _ in range(int(req.get("count", 1))):
                ev = Event(payload, request_id=req.get("request_id"), timeout_ms=req.get("timeout_ms"),
                           delay_ms=req.get("delay_ms", 0), extra=req.get("headers"), omit=req.get("omit", ()),
                           trace_id=req.get("trace_id"), invocation_id=req.get("invocation_id"),
                           tenant_id=req.get("tenant_id"))
                self.state.queue.append(ev)
                ids.append(ev.request_id)
            self.state.cond.notify_all()
        return {"request_ids": ids} if "count" in req else {"request_id": ids[0]}

    def _wait(self, query):
        st = self.state
        timeout = float(query.get("timeout", "10"))
        end = time.monotonic() + timeout

        def reached():
            if "posts" in query and len(st.posts) < int(query["posts"]):
                return False
            if "init_errors" in query and len(st.init_errors) < int(query["init_errors"]):
                return False
            if "next_calls" in query and st.next_calls < int(query["next_calls"]):
                return False
            return True

        with st.cond:
            while not reached():
                left = end - time.monotonic()
                if left <= 0:
                    return self._json(408, st.snapshot(query.get("bodies", "1")))
                st.cond.wait(min(left, 0.5))
            snap = st.snapshot(query.get("bodies", "1"))
        return self._json(200, snap)


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A runtime that closes or resets its connection (as tests make it do) is not an error.
        if isinstance(sys.exc_info()[1], (ConnectionError, OSError)):
            return
        super().handle_error(request, client_address)


def make_server(port=0, timeout_ms=300000, function_name="smrotate", verbose=False,
                function_arn=None):
    state = State(function_name, timeout_ms, function_arn)
    handler = type("BoundHandler", (Handler,), {"state": state, "verbose": verbose})
    server = Server(("127.0.0.1", port), handler)
    server.daemon_threads = True
    server.state = state
    return server


def main(argv=None):
    ap = argparse.ArgumentParser(description="A local fake of AWS Lambda (Runtime, Extensions and invoke APIs).")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--timeout", type=float, default=float(os.environ.get("AWS_LAMBDA_FUNCTION_TIMEOUT", "300")),
                    help="function timeout in seconds (default 300 or AWS_LAMBDA_FUNCTION_TIMEOUT)")
    ap.add_argument("--function-arn",
                    help="Lambda-Runtime-Invoked-Function-Arn (default %s)" % (DEFAULT_ARN % "smrotate"))
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)

    server = make_server(args.port, int(args.timeout * 1000), verbose=args.verbose,
                         function_arn=args.function_arn)
    port = server.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, args.port_file)

    def stop(signum, frame):
        server.state.stopping.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.verbose:
        sys.stderr.write("fake_lambda: listening on 127.0.0.1:%d\n" % port)
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        server.state.stopping.set()
        server.server_close()
    return 0


# ---- helpers for Python tests ----

class Client:
    """Talks to a running fake: Client(port).enqueue(payload=...), .script("next", [500]),
    .state(), .wait(posts=2), .config(extensions=False), .invoke(b"{}")."""

    def __init__(self, port):
        self.port = port
        self.base = "http://127.0.0.1:%d" % port
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def _call(self, method, path, obj=None, timeout=30):
        data = json.dumps(obj).encode() if obj is not None else (b"" if method == "POST" else None)
        req = urllib.request.Request(self.base + path, data=data, method=method)
        try:
            with self.opener.open(req, timeout=timeout) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def enqueue(self, **spec):
        return self._call("POST", "/_fake/enqueue", spec)[1]

    def script(self, endpoint, statuses):
        self._call("POST", "/_fake/script", {"endpoint": endpoint, "statuses": list(statuses)})

    def config(self, **cfg):
        self._call("POST", "/_fake/config", cfg)

    def state(self, bodies="1"):
        return self._call("GET", "/_fake/state?bodies=%s" % bodies)[1]

    def reset(self):
        self._call("POST", "/_fake/reset", {})

    def wait(self, timeout=10, bodies="1", **counts):
        """Waits for counts (posts, init_errors, next_calls); raises
        TimeoutError with the state when they are not reached in time."""
        q = urllib.parse.urlencode(dict(counts, timeout=timeout, bodies=bodies))
        status, snap = self._call("GET", "/_fake/wait?" + q, timeout=timeout + 10)
        if status != 200:
            raise TimeoutError("fake_lambda: %r not reached in %ss; state: %s" % (counts, timeout, _brief(snap)))
        return snap

    def invoke(self, payload, headers=None, timeout=60):
        """Calls the invoke endpoint; returns (status, X-Amz-Function-Error or None, body bytes)."""
        req = urllib.request.Request(self.base + "/2015-03-31/functions/function/invocations", data=payload,
                                     method="POST", headers=headers or {})
        try:
            with self.opener.open(req, timeout=timeout) as r:
                return r.status, r.headers.get("X-Amz-Function-Error"), r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get("X-Amz-Function-Error"), e.read()


def _brief(snap):
    if not isinstance(snap, dict):
        return repr(snap)
    return json.dumps({k: v for k, v in snap.items() if k not in ("posts", "init_errors", "deliveries")}
                      | {"posts": [{"kind": p["kind"], "status": p["status"]} for p in snap.get("posts", [])],
                         "init_errors": len(snap.get("init_errors", []))})


def start_fake(*extra_args, python=None):
    """Starts fake_lambda.py as a subprocess on a free port. Returns (Popen, Client); stop it with
    proc.terminate(). extra_args are command-line options, e.g. "--timeout", "5"."""
    import tempfile
    d = tempfile.mkdtemp(prefix="fake-lambda-")
    port_file = os.path.join(d, "port")
    proc = subprocess.Popen([python or sys.executable, os.path.abspath(__file__), "--port", "0",
                             "--port-file", port_file, *extra_args])
    deadline = time.monotonic() + 10
    while not os.path.exists(port_file):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("fake_lambda did not start")
        time.sleep(0.01)
    with open(port_file) as f:
        port = int(f.read())
    os.unlink(port_file)
    os.rmdir(d)
    return proc, Client(port)


if __name__ == "__main__":
    sys.exit(main())
