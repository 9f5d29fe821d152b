"""End-to-end tests of the Lambda Runtime API client and loop (runtime/lambda_api.c).

Each test starts tests/fakes/fake_lambda.py on a free loopback port and runs either the real
bootstrap (SMR_BOOTSTRAP: command line, init, its handler, a single thread) or the test runtime
SMR_RT_ECHO (tests/runtime/echo_bootstrap.c: the same loop with a scriptable handler) against it.
"""
import base64
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

SOURCE_DIR = os.environ.get("SMR_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "lib"))
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "fakes"))

import fake_lambda  # noqa: E402
import smtest  # noqa: E402
from smtest import assert_eq, assert_in, assert_not_in  # noqa: E402

LIMIT_RESPONSE = 6 * 1024 * 1024          # SM_LIMIT_RESPONSE
LIMIT_EVENT = 6 * 1024 * 1024 + 100       # LAMBDA_EVENT_MAX
PASS_THROUGH = ("PATH", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "LD_LIBRARY_PATH")


def bootstrap():
    return smtest.env("SMR_BOOTSTRAP")


def echo():
    return smtest.env("SMR_RT_ECHO")


# What Lambda always provides; bootstrap's init needs credentials and a region. The endpoint
# points nowhere: these tests never reach a rotation step's Secrets Manager calls.
LAMBDA_ENV = {
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "AKIDRUNTIMETEST00001",
    "AWS_SECRET_ACCESS_KEY": "runtimeTestSecretKey/0123456789abcdefghij",
    "AWS_SESSION_TOKEN": "runtimeTestSessionToken",
    "SECRETS_MANAGER_ENDPOINT": "http://127.0.0.1:9",
}


def base_env():
    env = {k: os.environ[k] for k in PASS_THROUGH if k in os.environ}
    env.update(LAMBDA_ENV)
    return env


class Harness:
    """A fake Lambda plus the runtimes started against it; everything is stopped on exit."""

    def __init__(self, *fake_args):
        self.fake, self.c = fake_lambda.start_fake(*fake_args)
        self.procs = []

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.fake.terminate()
        self.fake.wait()
        if exc_type is None:
            for p in self.procs:
                assert_no_sanitizer_report(logs(p))

    def start(self, binary=None, env=None, args=()):
        e = base_env()
        e["AWS_LAMBDA_RUNTIME_API"] = "127.0.0.1:%d" % self.c.port
        for k, v in (env or {}).items():
            if v is None:
                e.pop(k, None)
            else:
                e[k] = v
        out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()
        p = subprocess.Popen([binary or echo(), *args], env=e, stdout=out, stderr=err)
        p.out, p.err = out, err
        self.procs.append(p)
        return p


def logs(p):
    p.err.seek(0)
    text = p.err.read().decode("utf-8", "replace")
    p.out.seek(0)
    return text + p.out.read().decode("utf-8", "replace")


SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def assert_no_sanitizer_report(text):
    """Sanitizer builds: a runtime that exited (even non-zero, as expected) must not have
    reported memory errors, leaks or undefined behaviour on its way out."""
    for mark in SANITIZER_MARKS:
        if mark in text:
            raise AssertionError("sanitizer report in the runtime's output:\n%s" % text[-4000:])


# Waits below are "does not hang" guards, far above what the slowest build (ASan on two loaded
# cores) needs; what a test asserts is counts and contents, never how fast.
def wait_exit(p, timeout=30.0):
    try:
        return p.wait(timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        raise AssertionError("the runtime did not exit within %ss; logs:\n%s" % (timeout, logs(p)))


def assert_running(p, what="runtime"):
    if p.poll() is not None:
        raise AssertionError("%s exited with %s; logs:\n%s" % (what, p.returncode, logs(p)))


def header(rec, name):
    for k, v in rec["headers"].items():
        if k.lower() == name.lower():
            return v
    return None


def body_json(rec):
    # Strict: the bytes must be valid UTF-8 and valid JSON.
    return json.loads(base64.b64decode(rec["body_b64"]).decode("utf-8"))


def run_simple(args, env):
    r = subprocess.run(args, env=env, capture_output=True, timeout=30)
    assert_no_sanitizer_report(r.stderr.decode("utf-8", "replace"))
    return r


# ---- command line and configuration --------------------------------------------------------

def test_runtime_version_and_help_need_no_lambda_env():
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    r = run_simple([bootstrap(), "--version"], env)
    assert_eq(r.returncode, 0, "--version exit code")
    assert_in("smrotate ", r.stdout.decode(), "--version output")
    r = run_simple([bootstrap(), "--help"], env)
    assert_eq(r.returncode, 0, "--help exit code")
    text = r.stdout.decode()
    for var in ("AWS_LAMBDA_RUNTIME_API", "_HANDLER", "AWS_LAMBDA_LOG_FORMAT", "AWS_LAMBDA_LOG_LEVEL",
                "single-user", "alternating-users"):
        assert_in(var, text, "--help lists")
    r = run_simple([bootstrap(), "--bogus"], env)
    assert_eq(r.returncode, 2, "unknown argument exit code")


def test_runtime_missing_runtime_api_env_exits_with_clear_error():
    for value in (None, "", "127.0.0.1:1/evil path"):
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        if value is not None:
            env["AWS_LAMBDA_RUNTIME_API"] = value
        r = run_simple([bootstrap()], env)
        assert r.returncode != 0, "exit code must be non-zero for %r" % value
        lines = [line for line in r.stderr.decode().splitlines() if line.strip()]
        assert_eq(len(lines), 1, "stderr lines for %r: %r" % (value, lines))
        assert_in("AWS_LAMBDA_RUNTIME_API", lines[0], "stderr")


def test_runtime_init_error_posted_and_exit_non_zero():
    with Harness() as h:
        p = h.start(bootstrap(), env={"_HANDLER": "lambda_function.lambda_handler"})
        rc = wait_exit(p)
        assert rc != 0, "exit code after an init error"
        st = h.c.state()
        assert_eq(len(st["init_errors"]), 1, "init error posts")
        rec = st["init_errors"][0]
        assert_eq(rec["status"], 202, "init error answered")
        assert_eq(header(rec, "Lambda-Runtime-Function-Error-Type"), "Runtime.ConfigInvalid", "error type header")
        assert_in("application/json", header(rec, "Content-Type"), "content type")
        body = body_json(rec)
        assert_eq(body["errorType"], "ConfigInvalid", "errorType")
        assert_eq(body["stackTrace"], [], "stackTrace")
        for name in ("single-user", "multi-user", "alternating-users", "lambda_function.lambda_handler"):
            assert_in(name, body["errorMessage"], "errorMessage names")
        assert_eq(st["next_calls"], 0, "no /next after an init error")
        # What a caller of the function sees, as through the emulator's invoke endpoint.
        status, ferr, payload = h.c.invoke(b"{}", timeout=10)
        assert_eq((status, ferr), (200, "Unhandled"), "invoke after init error")
        assert_eq(json.loads(payload)["errorType"], "ConfigInvalid", "invoke payload")


def test_runtime_known_handler_strategies_pass_init():
    for handler in (None, "", "single-user", "multi-user", "alternating-users"):
        with Harness() as h:
            p = h.start(bootstrap(), env={"_HANDLER": handler})
            h.c.wait(next_calls=1, timeout=30)
            assert_running(p, "bootstrap with _HANDLER=%r" % handler)
            assert_eq(len(h.c.state()["init_errors"]), 0, "init errors for %r" % handler)


# ---- the loop ------------------------------------------------------------------------------

def test_runtime_happy_path_posts_one_response_per_event():
    with Harness() as h:
        ids = [h.c.enqueue(payload={"i": i})["request_id"] for i in range(5)]
        p = h.start(env={"RT_ECHO_MAX_INVOCATIONS": "5"})
        h.c.wait(posts=5)
        assert_eq(wait_exit(p), 0, "clean stop after 5 invocations")
        st = h.c.state()
        assert_eq([d["request_id"] for d in st["deliveries"]], ids, "delivery order")
        assert_eq([r["request_id"] for r in st["posts"]], ids, "exactly one post per invocation, in order")
        for rec, rid in zip(st["posts"], ids):
            assert_eq((rec["kind"], rec["status"]), ("response", 202), "post")
            assert_eq(rec["path"], "/2018-06-01/runtime/invocation/%s/response" % rid, "path")
            assert_in("application/json", header(rec, "Content-Type"), "content type")
            assert_eq(body_json(rec)["requestId"], rid, "handler saw the request id")


def test_runtime_bootstrap_answers_malformed_events_with_clear_errors():
    with Harness() as h:
        events = [{"Step": "createSecret"}, "not an object", {"Step": "createSecret", "SecretId": "arn:x",
                                                             "ClientRequestToken": "short"}]
        ids = [h.c.enqueue(payload=e)["request_id"] for e in events]
        p = h.start(bootstrap())
        st = h.c.wait(posts=3)
        assert_running(p, "bootstrap")
        expected = ["the event has no SecretId", "the event must be a JSON object",
                    "the event's ClientRequestToken must be 32 to 64 characters long"]
        for rec, rid, msg in zip(st["posts"], ids, expected):
            assert_eq((rec["kind"], rec["status"], rec["request_id"]), ("error", 202, rid), "post")
            assert_eq(header(rec, "Lambda-Runtime-Function-Error-Type"), "Function.InvalidEvent", "type header")
            body = body_json(rec)
            assert_eq(body, {"errorMessage": msg, "errorType": "InvalidEvent", "stackTrace": []}, "error body")


def test_runtime_init_without_credentials_is_an_init_error():
    with Harness() as h:
        p = h.start(bootstrap(), env={"AWS_SECRET_ACCESS_KEY": None})
        assert wait_exit(p) != 0, "exit code"
        body = body_json(h.c.state()["init_errors"][0])
        assert_eq(body["errorType"], "ConfigInvalid", "errorType")
        assert_in("AWS_SECRET_ACCESS_KEY", body["errorMessage"], "names the variable")


def test_runtime_next_missing_or_malformed_request_id_exits_non_zero():
    for spec in ({"omit": ["Lambda-Runtime-Aws-Request-Id"]},
                 {"headers": {"Lambda-Runtime-Aws-Request-Id": "x/../../init/error"}}):
        with Harness() as h:
            h.c.enqueue(payload={}, **spec)
            p = h.start()
            assert wait_exit(p) != 0, "exit code"
            st = h.c.state()
            assert_eq((len(st["posts"]), len(st["init_errors"])), (0, 0), "nothing can be posted")
            assert_in("Lambda-Runtime-Aws-Request-Id", logs(p), "log names the header")


def test_runtime_post_answered_400_410_413_polls_again():
    for endpoint, status, binary in (("response", 400, None), ("response", 410, None), ("response", 413, None),
                                     ("error", 410, bootstrap())):
        with Harness() as h:
            h.c.script(endpoint, [status])
            ids = [h.c.enqueue(payload={})["request_id"] for _ in range(2)]
            p = h.start(binary)
            st = h.c.wait(posts=2, next_calls=3)
            assert_running(p)
            assert_eq([(r["request_id"], r["status"]) for r in st["posts"]], [(ids[0], status), (ids[1], 202)],
                      "the rejected %s post is not retried; the next invocation is handled" % endpoint)
            assert_in(str(status), logs(p), "the rejection is logged")


def test_runtime_next_or_post_answered_403_500_exits_non_zero():
    for endpoint, status in (("next", 403), ("next", 500), ("response", 403), ("response", 500)):
        with Harness() as h:
            h.c.script(endpoint, [status])
            h.c.enqueue(payload={})
            h.c.enqueue(payload={})
            p = h.start()
            assert wait_exit(p) != 0, "exit code"
            st = h.c.state()
            assert_eq([r["status"] for r in st["posts"]], [] if endpoint == "next" else [status], "posts")
            assert_eq(st["next_calls"], 1, "no retry, no further /next after %s %d" % (endpoint, status))
            assert_in(str(status), logs(p), "log")


def test_runtime_next_connection_reset_is_retried():
    # The first /next opens a fresh connection, so libcurl's own one-time retry of a dead reused
    # connection cannot hide the loop's retries.
    with Harness() as h:
        h.c.script("next", ["reset", "reset"])
        rid = h.c.enqueue(payload={})["request_id"]
        p = h.start()
        st = h.c.wait(posts=1, next_calls=4)
        assert_running(p)
        assert_eq([(r["request_id"], r["status"]) for r in st["posts"]], [(rid, 202)], "posts")
        assert_eq(st["next_calls"], 4, "two failed /next, the one that delivered, the idle one")
        assert_eq(logs(p).count("retrying"), 2, "each retry logged")


def test_runtime_next_connection_reset_three_times_exits_non_zero():
    with Harness() as h:
        h.c.script("next", ["reset"] * 10)
        h.c.enqueue(payload={})
        p = h.start()
        assert wait_exit(p) != 0, "exit code"
        st = h.c.state()
        assert_eq(st["next_calls"], 3, "bounded retries")
        assert_eq(len(st["posts"]), 0, "posts")


def test_runtime_next_connection_refused_exits_after_bounded_retries():
    # Bound and not listening: the kernel refuses every connection, and no other process can take
    # the port while the socket is open.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        env = base_env()
        env["AWS_LAMBDA_RUNTIME_API"] = "127.0.0.1:%d" % s.getsockname()[1]
        # The retry count is the assertion; run_simple's timeout only guards against a hang.
        r = run_simple([bootstrap()], env)
    assert r.returncode != 0, "exit code"
    assert_eq(r.stderr.decode().count("retrying"), 2, "two retries logged")


def test_runtime_next_unexpected_status_is_retried():
    with Harness() as h:
        h.c.script("next", [429, 502])
        rid = h.c.enqueue(payload={})["request_id"]
        p = h.start()
        st = h.c.wait(posts=1)
        assert_running(p)
        assert_eq([(r["request_id"], r["status"]) for r in st["posts"]], [(rid, 202)], "posts")


def test_runtime_next_has_no_total_timeout():
    with Harness() as h:
        p = h.start()
        h.c.wait(next_calls=1)
        t0 = time.monotonic()
        rid = h.c.enqueue(payload={}, delay_ms=3000)["request_id"]
        st = h.c.wait(posts=1, next_calls=2, timeout=15)
        assert time.monotonic() - t0 >= 3.0, "the /next answer was held 3 s"
        assert_running(p)
        assert_eq([(r["request_id"], r["status"]) for r in st["posts"]], [(rid, 202)], "posts")
        assert_eq(st["next_calls"], 2, "one /next waited; no retry")


def test_runtime_trace_id_set_changed_and_unset():
    with Harness() as h:
        h.c.enqueue(payload={}, omit=["Lambda-Runtime-Trace-Id"])
        h.c.enqueue(payload={}, trace_id="Root=1-aaaaaaaa-000000000000000000000001;Sampled=1")
        h.c.enqueue(payload={}, trace_id="Root=1-bbbbbbbb-000000000000000000000002;Sampled=0")
        h.c.enqueue(payload={}, omit=["Lambda-Runtime-Trace-Id"])
        p = h.start(env={"_X_AMZN_TRACE_ID": "Root=1-stale"})
        st = h.c.wait(posts=4)
        assert_running(p)
        seen = [(body_json(r)["traceEnv"], body_json(r)["traceId"]) for r in st["posts"]]
        assert_eq(seen, [(None, None),
                         ("Root=1-aaaaaaaa-000000000000000000000001;Sampled=1",) * 2,
                         ("Root=1-bbbbbbbb-000000000000000000000002;Sampled=0",) * 2,
                         (None, None)], "_X_AMZN_TRACE_ID per invocation")


def test_runtime_invocation_id_echoed_only_when_present():
    with Harness() as h:
        h.c.enqueue(payload={}, invocation_id="inv-0001")
        h.c.enqueue(payload={}, omit=["Lambda-Runtime-Invocation-Id"])
        h.c.enqueue(payload={"action": "fail", "message_hex": "6e6f"}, invocation_id="inv-0003")
        h.c.enqueue(payload={}, invocation_id="bad\x7fvalue")
        p = h.start()
        st = h.c.wait(posts=4)
        assert_running(p)
        got = [(r["kind"], header(r, "Lambda-Runtime-Invocation-Id")) for r in st["posts"]]
        assert_eq(got, [("response", "inv-0001"), ("response", None), ("error", "inv-0003"), ("response", None)],
                  "Lambda-Runtime-Invocation-Id on posts")
        assert_eq(body_json(st["posts"][0])["invocationId"], "inv-0001", "handler sees it")


def test_runtime_dead_http_proxy_is_ignored():
    proxy = socket.socket()
    proxy.bind(("127.0.0.1", 0))
    proxy.listen(16)
    proxy.setblocking(False)
    url = "http://127.0.0.1:%d" % proxy.getsockname()[1]
    env = {k: url for k in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")}
    env.update({"NO_PROXY": None, "no_proxy": None})
    try:
        with Harness() as h:
            h.c.enqueue(payload={})
            h.c.enqueue(payload={})
            p = h.start(env=env)
            st = h.c.wait(posts=2)
            assert_running(p)
            assert_eq([r["status"] for r in st["posts"]], [202, 202], "posts through no proxy")
        try:
            proxy.accept()
            raise AssertionError("something connected to the proxy")
        except BlockingIOError:
            pass
    finally:
        proxy.close()


def test_runtime_response_and_event_limits():
    with Harness() as h:
        over = h.c.enqueue(payload={"action": "big", "bytes": LIMIT_RESPONSE, "ignore_ceiling": True})["request_id"]
        inside = h.c.enqueue(payload={"action": "big", "bytes": LIMIT_RESPONSE})["request_id"]
        at = h.c.enqueue(payload={"action": "big", "bytes": LIMIT_RESPONSE - 2})["request_id"]
        big = h.c.enqueue(payload_size=6 * 1024 * 1024 + 512 * 1024)["request_id"]
        limit = h.c.enqueue(payload_size=LIMIT_EVENT)["request_id"]
        p = h.start()
        st = h.c.wait(posts=5, timeout=30)
        assert_running(p)
        got = [(r["request_id"], r["kind"], r["status"]) for r in st["posts"]]
        assert_eq(got, [(over, "error", 202), (inside, "error", 202), (at, "response", 202), (big, "error", 202),
                        (limit, "response", 202)], "posts")
        for rec, limit_named in zip(st["posts"], (LIMIT_RESPONSE, LIMIT_RESPONSE, None, LIMIT_EVENT)):
            if limit_named:
                body = body_json(rec)
                assert_eq(body["errorType"], "TooLarge", "errorType")
                assert_in(str(limit_named), body["errorMessage"], "message names the limit")
        assert_eq(st["posts"][2]["body_len"], LIMIT_RESPONSE, "a response at the limit is posted whole")
        assert_eq(body_json(st["posts"][4])["payloadLen"], LIMIT_EVENT, "the handler got the whole event")


def test_runtime_error_message_utf8_and_control_chars_are_valid_json():
    raw = (b"caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80 \"q\" \\ \x01\x1f\n\t|"
           b"\xff|\xc0\xaf|\xed\xa0\x80|\xe2\x82|\xf4\x90\x80\x80| end")
    with Harness() as h:
        h.c.enqueue(payload={"action": "fail", "message_hex": raw.hex()})
        h.c.enqueue(payload={"action": "fail", "message_hex": b"x".hex(), "type": "Bad Type\u00e9\r\nX: 1"})
        p = h.start()
        st = h.c.wait(posts=2)
        assert_running(p)
        rec = st["posts"][0]
        assert_eq((rec["kind"], rec["status"]), ("error", 202), "post")
        assert_in("application/json", header(rec, "Content-Type"), "content type")
        assert_eq(header(rec, "Lambda-Runtime-Function-Error-Type"), "Function.InvalidEvent", "type header")
        body = body_json(rec)  # strict UTF-8 and JSON
        assert_eq(body["errorMessage"], raw.decode("utf-8", "replace"), "valid parts kept, bad bytes replaced")
        assert_eq(body["errorType"], "InvalidEvent", "errorType")
        assert_eq(body["stackTrace"], [], "stackTrace")
        rec = st["posts"][1]
        assert_eq(body_json(rec)["errorType"], "Bad Type\u00e9\r\nX: 1", "errorType kept in the JSON body")
        assert_eq(header(rec, "Lambda-Runtime-Function-Error-Type"), "Function.BadTypeX1", "header sanitised")


def test_runtime_handler_out_of_memory_fails_invocation_and_loop_goes_on():
    with Harness() as h:
        oom = h.c.enqueue(payload={"action": "oom"})["request_id"]
        ok = h.c.enqueue(payload={})["request_id"]
        # Under AddressSanitizer a huge malloc aborts unless told to return NULL like libc does.
        asan = ":".join(filter(None, [os.environ.get("ASAN_OPTIONS"), "allocator_may_return_null=1"]))
        p = h.start(env={"ASAN_OPTIONS": asan})
        st = h.c.wait(posts=2)
        assert_running(p)
        got = [(r["request_id"], r["kind"], r["status"]) for r in st["posts"]]
        assert_eq(got, [(oom, "error", 202), (ok, "response", 202)], "posts")
        assert_eq(body_json(st["posts"][0])["errorType"], "OutOfMemory", "errorType")


def test_runtime_deadline_visible_to_handler():
    with Harness() as h:
        rid = h.c.enqueue(payload={}, timeout_ms=5000, tenant_id="tenant-7")["request_id"]
        h.c.enqueue(payload={}, headers={"Lambda-Runtime-Deadline-Ms": "soon"})
        h.c.enqueue(payload={}, omit=["Lambda-Runtime-Deadline-Ms"])
        p = h.start()
        st = h.c.wait(posts=3)
        assert_running(p)
        sent = int(st["deliveries"][0]["headers"]["Lambda-Runtime-Deadline-Ms"])
        seen = body_json(st["posts"][0])
        assert_eq(seen["requestId"], rid, "request id")
        assert_eq(seen["deadlineMs"], sent, "deadline as sent")
        assert 0 < seen["remainingMs"] <= 5000, "remaining time %r" % seen["remainingMs"]
        assert_eq(seen["functionArn"], st["deliveries"][0]["headers"]["Lambda-Runtime-Invoked-Function-Arn"], "ARN")
        assert_eq(seen["tenantId"], "tenant-7", "tenant id")
        assert_eq([body_json(r)["deadlineMs"] for r in st["posts"][1:]], [0, 0], "malformed or absent: 0")
        assert_in("malformed Lambda-Runtime-Deadline-Ms", logs(p), "malformed deadline logged")


# ---- logging -------------------------------------------------------------------------------

def test_runtime_log_format_json_and_level_filtering():
    with Harness() as h:
        rid = h.c.enqueue(payload={})["request_id"]
        p = h.start(bootstrap(), env={"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "DEBUG"})
        h.c.wait(posts=1, next_calls=2)
        p.kill()
        p.wait()
        lines = [json.loads(line) for line in logs(p).splitlines() if line.strip()]
        for rec in lines:
            # Every line has these; log records also a message, metrics (EMF) objects _aws.
            for key in ("timestamp", "level", "_aws" if "_aws" in rec else "message"):
                assert_in(key, rec, "JSON log line")
        assert_in("DEBUG", [r["level"] for r in lines], "DEBUG lines at DEBUG")
        mine = [r for r in lines if r.get("requestId") == rid]
        # The bootstrap's handler fails an empty event, which it logs at ERROR.
        assert any(r["level"] == "ERROR" for r in mine), "the failed invocation is logged with its requestId"
    with Harness() as h:
        h.c.enqueue(payload={})
        p = h.start(bootstrap(), env={"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "ERROR"})
        h.c.wait(posts=1, next_calls=2)
        p.kill()
        p.wait()
        levels = [json.loads(line)["level"] for line in logs(p).splitlines() if line.strip()]
        assert_eq(sorted(set(levels)), ["ERROR"], "only ERROR lines at ERROR")
    with Harness() as h:
        rid = h.c.enqueue(payload={})["request_id"]
        p = h.start(bootstrap(), env={"AWS_LAMBDA_LOG_FORMAT": "Text", "AWS_LAMBDA_LOG_LEVEL": "INFO"})
        h.c.wait(posts=1, next_calls=2)
        p.kill()
        p.wait()
        # Metrics are an EMF JSON object in either format (CloudWatch reads it from the line).
        text = [line for line in logs(p).splitlines() if line.strip()]
        assert_eq(sum("_aws" in json.loads(line) for line in text if line.startswith("{")), 1,
                  "one metrics object")
        lines = [line.split("\t") for line in text if not line.startswith("{")]
        assert all(len(f) >= 4 for f in lines), "text lines are tab-separated: %r" % lines
        assert_not_in("DEBUG", [f[1] for f in lines], "no DEBUG at INFO")
        assert any(f[1] == "ERROR" and f[2] == rid for f in lines), "text line carries the request id"


def test_runtime_event_payload_never_logged():
    marker = "PAYLOAD-MARKER-7f3a9c"
    event = {"SecretId": "arn:aws:secretsmanager:us-east-1:1:secret:" + marker, "ClientRequestToken": marker,
             "Step": "createSecret", "password": marker}
    for binary in (bootstrap(), echo()):
        for fmt in ("JSON", "Text"):
            with Harness() as h:
                h.c.enqueue(payload=event)
                h.c.enqueue(payload={"action": "fail", "message_hex": b"bad event".hex(), "x": marker})
                p = h.start(binary, env={"AWS_LAMBDA_LOG_FORMAT": fmt, "AWS_LAMBDA_LOG_LEVEL": "TRACE"})
                h.c.wait(posts=2, next_calls=3)
                p.kill()
                p.wait()
                text = logs(p)
                assert text.strip(), "TRACE produced log lines"
                assert_not_in(marker, text, "logs of %s (%s)" % (os.path.basename(binary), fmt))


# ---- one thread, no extension ---------------------------------------------------------------

def threads_of(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    raise AssertionError("no Threads: line for pid %d" % pid)


def test_runtime_is_single_threaded_and_registers_no_extension():
    # No shutdown hook, so nothing to register with the Extensions API and no signal thread: the
    # process stays single-threaded (setenv of _X_AMZN_TRACE_ID is then safe), blocked in /next.
    with Harness() as h:
        h.c.enqueue(payload={})
        p = h.start(bootstrap())
        st = h.c.wait(posts=1, next_calls=2)
        assert_running(p, "bootstrap")
        assert_eq(threads_of(p.pid), 1, "threads of bootstrap waiting in /next")
        assert_eq(st["extension_requests"], 0, "no extension registered")
        p.send_signal(signal.SIGTERM)
        assert_eq(wait_exit(p), -signal.SIGTERM, "SIGTERM's default action ends the process")


# ---- the fake itself (contracts other tests and the Secrets Manager emulator rely on) --------

def test_fake_lambda_invoke_returns_response_or_unhandled_error():
    with Harness() as h:
        p = h.start()
        status, ferr, body = h.c.invoke(b'{"action":"echo"}', headers={"X-Amzn-Trace-Id": "Root=1-abc"})
        assert_eq((status, ferr), (200, None), "success")
        assert_eq(json.loads(body)["traceEnv"], "Root=1-abc", "trace id passed to the runtime")
        status, ferr, body = h.c.invoke(json.dumps({"action": "fail", "message_hex": b"boom".hex()}).encode())
        assert_eq((status, ferr), (200, "Unhandled"), "error")
        assert_eq(json.loads(body), {"errorMessage": "boom", "errorType": "InvalidEvent", "stackTrace": []}, "body")
        status, ferr, body = h.c.invoke(b'"' + b"x" * LIMIT_EVENT + b'"')
        assert_eq(status, 413, "oversized invoke")
        assert_running(p)


def test_fake_lambda_rejects_unknown_ids_and_out_of_order_calls():
    import urllib.request
    import urllib.error

    def call(method, path, data=None):
        req = urllib.request.Request(h.c.base + path, data=data, method=method)
        try:
            with h.c.opener.open(req, timeout=10) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    with Harness() as h:
        rid = h.c.enqueue(payload={"a": 1})["request_id"]
        base = "/2018-06-01/runtime"
        status, headers, body = call("GET", base + "/invocation/next")
        assert_eq((status, headers["Lambda-Runtime-Aws-Request-Id"], body), (200, rid, b'{"a": 1}'), "next")
        assert int(headers["Lambda-Runtime-Deadline-Ms"]) > time.time() * 1000, "deadline in the future"
        status, _, body = call("GET", base + "/invocation/next")
        assert_eq((status, json.loads(body)["errorType"]), (403, "InvalidStateTransition"), "next twice")
        status, _, body = call("POST", base + "/invocation/nope/response", b"{}")
        assert_eq((status, json.loads(body)["errorType"]), (400, "InvalidRequestID"), "unknown id")
        status, _, _ = call("POST", base + "/invocation/%s/response" % rid, b"{}")
        assert_eq(status, 202, "response")
        status, _, body = call("POST", base + "/invocation/%s/error" % rid, b"{}")
        assert_eq((status, json.loads(body)["errorType"]), (403, "InvalidStateTransition"), "second post")
        status, _, _ = call("POST", base + "/init/error", b"{}")
        assert_eq(status, 403, "init error after init")
        rid2 = h.c.enqueue(payload={})["request_id"]
        call("GET", base + "/invocation/next")
        status, _, body = call("POST", base + "/invocation/%s/response" % rid2, b"x" * (LIMIT_EVENT + 1))
        assert_eq((status, json.loads(body)["errorType"]), (413, "RequestEntityTooLarge"), "oversized response")


smtest.run(globals())
