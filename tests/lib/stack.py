"""The local stand-in for AWS that end-to-end tests (and the demo) run `bootstrap` in.

    fake Lambda (tests/fakes/fake_lambda.py)      Runtime API + RIE-style invoke endpoint
    fake Secrets Manager (fake_secretsmanager.py) SigV4-verified JSON 1.1; RotateSecret invokes
                                                  the function through the fake Lambda
    fake RDS (tests/fakes/fake_rds.py)            SigV4-verified Query API (DescribeDBInstances,
                                                  DescribeDBClusters), same credentials; empty
                                                  until a test seeds it (rds_seed)
    bootstrap                                     our real binary, polling the fake Lambda, with
                                                  AWS_ENDPOINT_URL_RDS at the fake RDS

Standard library only. Every process binds 127.0.0.1 on a random port, so tests run in parallel.
The fake RDS always runs (it starts alongside the others, so it costs no wall time): bootstrap
never has a real RDS endpoint to reach, and a test that expects no RDS call can check its log.
"""
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TESTS, "fakes"))

import fake_secretsmanager  # noqa: E402  (tests/fakes)

ACCESS_KEY = "AKIDSMROTATETEST01"
# Test credentials, not secrets; the hygiene checks still look for them in every output.
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYsmrotateKEY"
SESSION_TOKEN = "IQoJb3JpZ2luX2VjEXAMPLEsmrotateSESSIONtoken//////////wEaCXVzLWVhc3QtMSJHMEUCIQ"
REGION = "us-east-1"
ACCOUNT = "123456789012"


def python():
    return os.environ.get("SMR_PYTHON") or sys.executable


def bootstrap_path():
    path = os.environ.get("SMR_BOOTSTRAP")
    if not path:
        raise RuntimeError("SMR_BOOTSTRAP is not set: run through ctest")
    return path


def _wait_port(port_file, proc, what, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("%s exited early with %s" % (what, proc.returncode))
        try:
            with open(port_file) as f:
                text = f.read().strip()
            if text:
                return int(text)
        except FileNotFoundError:
            pass
        time.sleep(0.02)
    raise RuntimeError("%s did not start within %.0f s" % (what, timeout))


def http_json(method, url, body=None, headers=None, timeout=60, context=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=context) as resp:
            raw = resp.read()
            return resp.status, dict(resp.headers), raw
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


class Stack:
    """Starts the fakes and bootstrap; close() stops them. Use as a context manager."""

    def __init__(self, handler="single-user", env=None, rotation_retries=0, start_bootstrap=True,
                 rds_seed=None, tls=None):
        """tls: (certificate file, key file) to serve Secrets Manager and RDS over HTTPS with a
        self-signed certificate for 127.0.0.1, which bootstrap then trusts (SMROTATE_CA_FILE)."""
        self.tmp = tempfile.mkdtemp(prefix="smr-stack-")
        self.procs = []
        self.handler = handler
        self.extra_env = dict(env or {})
        tls_args, scheme, self.ssl_context, self.ca_file = [], "http", None, None
        if tls:
            self.ca_file = tls[0]
            tls_args = ["--tls-cert", tls[0], "--tls-key", tls[1]]
            scheme = "https"
            self.ssl_context = ssl.create_default_context(cafile=tls[0])
        rds = self._spawn(
            "fake-rds",
            [python(), os.path.join(TESTS, "fakes", "fake_rds.py"), "--port", "0",
             "--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY,
             "--session-token", SESSION_TOKEN, "--region", REGION, "--account", ACCOUNT]
            + tls_args)
        # Invocations carry the ARN a secret's rotation names (lambda_arn()), as in Lambda.
        self.lambda_port = self._start(
            "fake-lambda",
            [python(), os.path.join(TESTS, "fakes", "fake_lambda.py"), "--port", "0",
             "--function-arn", self.lambda_arn()])
        self.invoke_url = "http://127.0.0.1:%d/2015-03-31/functions/function/invocations" % (
            self.lambda_port)
        self.sm_port = self._start(
            "fake-secretsmanager",
            [python(), os.path.join(TESTS, "fakes", "fake_secretsmanager.py"), "--port", "0",
             "--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY,
             "--session-token", SESSION_TOKEN, "--region", REGION,
             "--lambda-invoke-url", self.invoke_url,
             "--rotation-retries", str(rotation_retries)] + tls_args)
        self.sm_endpoint = "%s://127.0.0.1:%d" % (scheme, self.sm_port)
        self.sm = fake_secretsmanager.Client(self.sm_endpoint, region=REGION,
                                             access_key=ACCESS_KEY, secret_key=SECRET_KEY,
                                             session_token=SESSION_TOKEN, ca_file=self.ca_file)
        self.rds_port = _wait_port(*rds)
        self.rds_endpoint = "%s://127.0.0.1:%d" % (scheme, self.rds_port)
        if rds_seed is not None:
            self.rds_seed(rds_seed)
        self.bootstrap = None
        self.log_path = os.path.join(self.tmp, "bootstrap.log")
        if start_bootstrap:
            self.start_bootstrap()

    def _spawn(self, name, argv):
        """Starts a fake; returns what _wait_port needs to wait for its port."""
        port_file = os.path.join(self.tmp, name + ".port")
        log = open(os.path.join(self.tmp, name + ".log"), "wb")
        proc = subprocess.Popen(argv + ["--port-file", port_file], stdout=log,
                                stderr=subprocess.STDOUT)
        log.close()
        self.procs.append(proc)
        return port_file, proc, name

    def _start(self, name, argv):
        return _wait_port(*self._spawn(name, argv))

    def bootstrap_env(self):
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:%d" % self.lambda_port,
            "SECRETS_MANAGER_ENDPOINT": self.sm_endpoint,
            "AWS_ENDPOINT_URL_RDS": self.rds_endpoint,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_SESSION_TOKEN": SESSION_TOKEN,
            "AWS_REGION": REGION,
            "_HANDLER": self.handler,
            "AWS_LAMBDA_FUNCTION_NAME": "smrotate-test",
            "SMROTATE_CA_FILE": self.ca_file,
        }
        env.update(self.extra_env)
        return {k: v for k, v in env.items() if v is not None}

    def start_bootstrap(self):
        log = open(self.log_path, "ab")
        argv = [bootstrap_path()]
        if os.environ.get("SMR_BOOTSTRAP_VALGRIND"):
            # memcheck over the real process (valgrind twins of end-to-end tests): any error, or
            # a definite leak at exit, fails the test in close().
            argv = ["valgrind", "--error-exitcode=99", "--leak-check=full",
                    "--errors-for-leak-kinds=definite", "--show-leak-kinds=definite",
                    "--log-file=%s" % os.path.join(self.tmp, "valgrind.%p.log")] + argv
        self.bootstrap = subprocess.Popen(argv, env=self.bootstrap_env(),
                                          stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.procs.append(self.bootstrap)

    def kill_bootstrap(self):
        """SIGKILL, as a crash or Lambda's own kill; the invocation in flight then fails with
        Runtime.ExitError, as in Lambda. Returns the time (time.time()) by which the process was
        dead, or None when it was not running."""
        if self.bootstrap is not None and self.bootstrap.poll() is None:
            self.bootstrap.kill()
            self.bootstrap.wait()
            dead_by = time.time()
            http_json("POST", "http://127.0.0.1:%d/_fake/runtime-exited" % self.lambda_port, {})
            return dead_by
        return None

    def restart_bootstrap(self):
        self.kill_bootstrap()
        self.start_bootstrap()

    # --- driving the function ---

    def invoke(self, step, secret_id, token, rotation_token=None, timeout=60):
        """Runs one rotation step the way Secrets Manager does; returns (ok, payload dict)."""
        event = {"Step": step, "SecretId": secret_id, "ClientRequestToken": token}
        if rotation_token:
            event["RotationToken"] = rotation_token
        status, headers, raw = http_json("POST", self.invoke_url, event, timeout=timeout)
        if status != 200:
            raise RuntimeError("invoke answered %d" % status)
        lower = {k.lower(): v for k, v in headers.items()}
        payload = json.loads(raw) if raw.strip() else None
        return "x-amz-function-error" not in lower, payload

    def invoke_raw(self, payload_bytes, timeout=60):
        req = urllib.request.Request(self.invoke_url, data=payload_bytes, method="POST")
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            lower = {k.lower(): v for k, v in resp.headers.items()}
            raw = resp.read()
        return "x-amz-function-error" not in lower, json.loads(raw) if raw.strip() else None

    def start_rotation(self, secret_id, token=None, rules=None):
        """RotateSecret without letting the emulator run the steps: returns the pending token.
        The test then runs steps itself with invoke(). rules: the RotationRules to set."""
        token = token or str(uuid.uuid4())
        self.sm_control("POST", "/_fake/driver", {"enabled": False})
        args = {"SecretId": secret_id, "ClientRequestToken": token,
                "RotationLambdaARN": self.lambda_arn()}
        if rules is not None:
            args["RotationRules"] = rules
        self.sm.call("RotateSecret", args)
        return token

    def rotate_all_steps(self, secret_id, token=None, rotation_token=None):
        """RotateSecret, then the four steps in order through the function. Returns the token."""
        token = self.start_rotation(secret_id, token)
        for step in ("createSecret", "setSecret", "testSecret", "finishSecret"):
            ok, payload = self.invoke(step, secret_id, token, rotation_token)
            if not ok:
                raise AssertionError("%s failed: %s" % (step, payload))
        return token

    def rotate_via_service(self, secret_id, timeout=60):
        """RotateSecret and let the emulator drive the steps (as AWS does); waits for the end
        and returns the emulator's rotation record."""
        self.sm_control("POST", "/_fake/driver", {"enabled": True})
        token = str(uuid.uuid4())
        self.sm.call("RotateSecret", {"SecretId": secret_id, "ClientRequestToken": token,
                                      "RotationLambdaARN": self.lambda_arn()})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for r in self.rotations():
                if r.get("version_id") == token and r.get("status") in ("succeeded", "failed"):
                    return r
            time.sleep(0.05)
        raise AssertionError("rotation %s did not finish" % token)

    def lambda_arn(self):
        return "arn:aws:lambda:%s:%s:function:smrotate-test" % (REGION, ACCOUNT)

    # --- the emulator's test door ---

    def sm_control(self, method, path, body=None):
        status, _, raw = http_json(method, self.sm_endpoint + path, body,
                                   context=self.ssl_context)
        if status >= 300:
            raise RuntimeError("%s %s -> %d %s" % (method, path, status, raw[:200]))
        return json.loads(raw) if raw.strip() else None

    def rotations(self):
        return self.sm_control("GET", "/_fake/rotations") or []

    def fault(self, operation, error, count=1, **extra):
        body = {"operation": operation, "error": error, "count": count}
        body.update(extra)
        self.sm_control("POST", "/_fake/faults", body)

    def calls(self):
        return self.sm_control("GET", "/_fake/calls")

    def create_secret(self, name, value, tags=None):
        """tags: {key: value}, e.g. the aws:rds:primaryDBInstanceArn tag RDS puts on the master
        secrets it manages."""
        args = {"Name": name, "SecretString": json.dumps(value)
                if not isinstance(value, str) else value,
                "ClientRequestToken": str(uuid.uuid4())}
        if tags:
            args["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
        return self.sm.call("CreateSecret", args)["ARN"]

    def stages(self, secret_id):
        """{version_id: sorted labels} from DescribeSecret."""
        d = self.sm.call("DescribeSecret", {"SecretId": secret_id})
        return {k: sorted(v) for k, v in d.get("VersionIdsToStages", {}).items()}

    def value(self, secret_id, stage="AWSCURRENT", version_id=None):
        args = {"SecretId": secret_id, "VersionStage": stage}
        if version_id:
            args["VersionId"] = version_id
        return json.loads(self.sm.call("GetSecretValue", args)["SecretString"])

    def version_of(self, secret_id, stage):
        for vid, labels in self.stages(secret_id).items():
            if stage in labels:
                return vid
        return None

    # --- the fake RDS's test door (tests/fakes/fake_rds.py documents it) ---

    def rds_control(self, method, path, body=None):
        status, _, raw = http_json(method, self.rds_endpoint + path, body,
                                   context=self.ssl_context)
        if status >= 300:
            raise RuntimeError("RDS %s %s -> %d %s" % (method, path, status, raw[:300]))
        return json.loads(raw) if raw.strip() else None

    def rds_seed(self, state):
        """Replaces the fake's instances and clusters: {"instances": [...], "clusters": [...]}."""
        return self.rds_control("POST", "/_fake/state", state)

    def rds_fault(self, operation, error, count=1, **extra):
        """The next `count` calls of operation (after `skip`) fail with error: an RDS code
        (Throttling, InternalFailure, AccessDenied, ...), "reset", "close" or "delay"."""
        body = {"operation": operation, "error": error, "count": count}
        body.update(extra)
        self.rds_control("POST", "/_fake/faults", body)

    def rds_faults(self):
        return self.rds_control("GET", "/_fake/faults")

    def rds_deny(self, actions, **extra):
        """IAM deny rules (replacing any): e.g. ["rds:DescribeDBClusters"]."""
        body = {"actions": list(actions)}
        body.update(extra)
        return self.rds_control("POST", "/_fake/deny", body)

    def rds_calls(self):
        return self.rds_control("GET", "/_fake/calls")

    def rds_stats(self):
        return self.rds_control("GET", "/_fake/stats")

    def rds_reset(self):
        """Clears faults, the call log and deny rules; the seeded state stays."""
        self.rds_control("POST", "/_fake/reset", {})

    # --- output ---

    def output(self):
        """Everything bootstrap wrote (stdout and stderr)."""
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def assert_no_secrets(self, secrets):
        """No secret value appears in bootstrap's output or in anything it posted."""
        texts = [self.output()]
        for value in secrets:
            if not value:
                continue
            for t in texts:
                if value in t:
                    raise AssertionError("a secret value appears in bootstrap's output")

    def sanitizer_report(self):
        """The first line of an ASan/UBSan/LSan report in bootstrap's output, or of a valgrind
        error summary that is not zero, or None."""
        for line in self.output().splitlines():
            if ("AddressSanitizer" in line or "LeakSanitizer" in line
                    or "runtime error:" in line):
                return line
        for name in os.listdir(self.tmp):
            if name.startswith("valgrind.") and name.endswith(".log"):
                with open(os.path.join(self.tmp, name), errors="replace") as f:
                    for line in f:
                        if "ERROR SUMMARY:" in line and "ERROR SUMMARY: 0 errors" not in line:
                            return line.strip()
        return None

    def collect_for_hygiene(self):
        """With SMR_HYGIENE_DIR set (ctest sets it), keeps everything bootstrap wrote and posted,
        and every secret the emulator holds or saw, for the suite-wide hygiene check
        (tests/e2e/check_hygiene.py)."""
        directory = os.environ.get("SMR_HYGIENE_DIR")
        if not directory:
            return
        os.makedirs(directory, exist_ok=True)
        stem = os.path.join(directory, uuid.uuid4().hex)
        try:
            material = self.sm_control("GET", "/_fake/secret-material")["material"]
            material += self.rds_control("GET", "/_fake/secret-material")["material"]
            _, _, raw = http_json("GET", "http://127.0.0.1:%d/_fake/state?bodies=full"
                                  % self.lambda_port)
            posts = json.loads(raw)
        except Exception as e:  # noqa: BLE001 - a fake that is gone: say so in the record
            material, posts = [], {"error": str(e)}
        with open(stem + ".output", "w") as f:
            f.write(self.output())
            for kind in ("posts", "init_errors"):
                for rec in posts.get(kind, []):
                    f.write("\n%s\n" % (rec.get("body") or ""))
        with open(stem + ".material.json", "w") as f:
            json.dump(material, f)

    def close(self):
        self.collect_for_hygiene()
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in reversed(self.procs):
            try:
                p.wait(timeout=15 if os.environ.get("SMR_BOOTSTRAP_VALGRIND") else 3)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        report = self.sanitizer_report()
        if os.environ.get("SMR_KEEP_TMP") or report:
            print("kept", self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
        if report:
            raise AssertionError("bootstrap's output has a sanitizer report: %s" % report)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if exc[0] is not None:
            sys.stderr.write("--- bootstrap output ---\n%s\n" % self.output()[-6000:])
        self.close()
        return False
