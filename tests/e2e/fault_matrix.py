"""The fault matrix: every Secrets Manager call of every step, and the database at every step,
failing in every way we know, against real bootstrap, the local Secrets Manager and a real
database. After each fault the rotation is re-driven as Secrets Manager does (same token, all four
steps again) and must converge; at every point between invocations some staged credential
(AWSCURRENT, or AWSPENDING once it holds a value) logs in.

Faults per Secrets Manager call (the call's position found from a clean run's call log):
    throttle     one ThrottlingException            -> retried, the step succeeds
    server       one InternalServiceError (500)     -> retried, the step succeeds
    permanent    one AccessDeniedException           -> the step fails, naming the error
    kill-before  bootstrap SIGKILLed while the call is in flight, which then never lands
    lost         (mutating calls) the call lands, its answer is a 500 -> retried, converges
    kill-after   (mutating calls) bootstrap SIGKILLed after the call was sent; it lands
Faults per database step (setSecret, testSecret), through a TCP proxy:
    db-down      connection refused                 -> DatabaseUnreachable, nothing changed
    db-refuse    the login is refused (password changed behind our back), then restored
    db-stall-kill  the server never answers and bootstrap is killed meanwhile

A kill case waits, after the kill, until the emulator has recorded the held call (its delayed
answer), and asserts from that record that it was answered after bootstrap had died: the call was
in flight, and (kill-after) has landed before the re-drive starts, so a late PutSecretValue can
never fall between the re-driven createSecret's read and its own put.

With MySQL dual passwords (Matrix(..., dual=True): single user, SMROTATE_MYSQL_DUAL_PASSWORD on,
the user holding APPLICATION_PASSWORD_ADMIN) the same faults run, and between invocations the
password the user had before the rotation must log in too: it stays valid as the secondary one.

The strategies that set a password through the master (Matrix(..., variant="pair") for
alternating users over two pre-created users, variant="via-master" for single user via the
master) run the kill cases only (kill-before on every Secrets Manager call of every step,
kill-after on the mutating ones, db-stall-kill): their error handling is the other strategies',
what they add is where a killed setSecret leaves the passwords.

The managed-master matrix (Matrix(..., managed=True)) rotates alternating users whose master
secret is RDS-managed (only username and password, tagged aws:rds:primaryDBInstanceArn; the fake
RDS says where the database is), and faults the calls that flow adds, in every step that makes
them (createSecret and setSecret):
    RDS DescribeDBInstances   rds-throttle (Throttling), rds-server (InternalFailure 500),
                              rds-lost (the connection is reset, no answer)  -> retried, the step
                              succeeds; rds-permanent (AccessDenied) -> the step fails naming
                              rds:DescribeDBInstances; rds-kill (bootstrap SIGKILLed while the
                              call is held, answered after it died)
    Secrets Manager DescribeSecret of the master (its tags): throttle, server, permanent,
                              kill-before, as above
"""
import json
import os
import sys
import threading
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

from stack import ACCOUNT, REGION, Stack  # noqa: E402
from tcpproxy import TcpProxy  # noqa: E402

STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")
MUTATING = ("PutSecretValue", "UpdateSecretVersionStage")
MANAGED_INSTANCE = "fm-main"
HOLD_MS = 1200  # how long a kill case's call is held before its answer: the kill comes first


class Subject:
    """One user (and for alternating users a superuser) with its secret."""

    def __init__(self, matrix):
        m = matrix
        self.m = m
        self.user = "fm_" + uuid.uuid4().hex[:10]
        self.password = "Init-" + uuid.uuid4().hex
        m.db.create_user(self.user, self.password)
        if m.dual:
            m.db.admin("GRANT APPLICATION_PASSWORD_ADMIN ON *.* TO %s" % m.db.account(self.user))
        m.users += [self.user, self.user + "_clone"]
        secret = m.db.secret(self.user, self.password, host="127.0.0.1", port=m.proxy.port)
        tags = None
        if m.variant == "pair":
            other = self.user + "_b"
            m.db.create_user(other, "Init-" + uuid.uuid4().hex)
            m.users.append(other)
            tags = {"smrotate:alternating-users": "%s %s" % (self.user, other)}
        elif m.variant == "via-master":
            tags = {"smrotate:strategy": "single-user-via-master"}
        if m.handler == "multi-user" or m.variant is not None:
            master, mpw = "fmm_" + uuid.uuid4().hex[:10], "Init-" + uuid.uuid4().hex
            m.db.create_superuser(master, mpw)
            m.users.append(master)
            m.seen.append(mpw)
            if m.managed:
                # As RDS keeps it: credentials only; the fake RDS gives host 127.0.0.1 and the
                # proxy's port, the user's own, so no replica check is involved.
                secret["masterarn"] = m.stack.create_secret(
                    "rds!db-%s" % uuid.uuid4(), {"username": master, "password": mpw},
                    tags={"aws:rds:primaryDBInstanceArn": "arn:aws:rds:%s:%s:db:%s"
                          % (REGION, ACCOUNT, MANAGED_INSTANCE)})
            else:
                msecret = m.db.secret(master, mpw, host="127.0.0.1", port=m.proxy.port)
                secret["masterarn"] = m.stack.create_secret("fm/master-" + uuid.uuid4().hex[:8],
                                                            msecret)
        self.arn = m.stack.create_secret("fm/" + uuid.uuid4().hex[:10], secret, tags=tags)
        m.seen.append(self.password)
        self.token = m.stack.start_rotation(self.arn)

    def staged(self, stage):
        try:
            v = self.m.stack.value(self.arn, stage, self.token if stage == "AWSPENDING" else None)
        except Exception:  # noqa: BLE001 - the pending stub has no value
            return None
        self.m.seen.append(v["password"])
        return v

    def some_staged_login_works(self):
        for stage in ("AWSCURRENT", "AWSPENDING"):
            v = self.staged(stage)
            if v and self.m.db.can_login(v["username"], v["password"]):
                return stage
        return None

    def working_password(self):
        """(username, password) of whichever staged credential logs in now."""
        for stage in ("AWSCURRENT", "AWSPENDING"):
            v = self.staged(stage)
            if v and self.m.db.can_login(v["username"], v["password"]):
                return v["username"], v["password"]
        raise AssertionError("no staged credential logs in")


class Matrix:
    def __init__(self, db, handler, managed=False, dual=False, variant=None):
        self.db = db
        self.handler = "multi-user" if managed else "auto" if variant else handler
        self.managed = managed
        self.dual = dual
        self.variant = variant
        self.users = []
        self.seen = []
        self.proxy = TcpProxy(db.host, db.port)
        seed = {"instances": [{"identifier": MANAGED_INSTANCE, "engine": db.engine,
                               "address": "127.0.0.1", "port": self.proxy.port}]}
        env = {"SMROTATE_DB_CA_FILE": db.ca_file, "SMROTATE_DB_CONNECT_TIMEOUT_MS": "2000"}
        if dual:
            env["SMROTATE_MYSQL_DUAL_PASSWORD"] = "true"
        self.stack = Stack(handler=self.handler, env=env, rds_seed=seed if managed else None)
        self.results = []

    # --- driving ---

    def invoke(self, subject, step):
        return self.stack.invoke(step, subject.arn, subject.token, timeout=60)

    def invoke_async(self, subject, step):
        box = {}

        def run():
            try:
                box["result"] = self.invoke(subject, step)
            except Exception as e:  # noqa: BLE001
                box["result"] = (False, {"errorMessage": str(e)})

        t = threading.Thread(target=run, daemon=True)
        t.start()
        return t, box

    def step_calls(self):
        """The calls each step makes, from one clean rotation: {step: ([(Secrets Manager
        operation, on the subject's own secret?)], [RDS operation])}."""
        s = Subject(self)
        seq = {}
        for step in STEPS:
            before, rds_before = len(self.stack.calls()), len(self.stack.rds_calls())
            ok, payload = self.invoke(s, step)
            assert ok, "clean run: %s failed: %s" % (step, payload)
            seq[step] = ([(c["operation"], c.get("secret_id") == s.arn)
                          for c in self.stack.calls()[before:]],
                         [c["operation"] for c in self.stack.rds_calls()[rds_before:]])
        return seq

    def wait_fault_taken(self, service="sm", timeout=10):
        pending = self.stack.rds_faults if service == "rds" else (
            lambda: self.stack.sm_control("GET", "/_fake/faults"))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not pending():
                return
            time.sleep(0.01)
        raise AssertionError("the faulted call never arrived")

    def wait_in_flight_call(self, inflight, dead_by, timeout=10):
        """After a kill: waits until the emulator has recorded the held call (it records a call
        just before answering it), so that nothing of the killed invocation is still on its way
        when the re-drive starts; asserts it was answered only after bootstrap had died, i.e. it
        was in flight, and how it ended (0: connection reset, 200: it landed)."""
        service, op, fault, status = inflight
        calls = self.stack.rds_calls if service == "rds" else self.stack.calls
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for c in calls():
                if c.get("operation") == op and c.get("fault") == fault:
                    if dead_by is None or c["time"] < dead_by:
                        raise AssertionError(
                            "the held %s was answered at %s, before bootstrap died at %s: it "
                            "was not in flight" % (op, c["time"], dead_by))
                    if c["status"] != status:
                        raise AssertionError("the held %s ended with status %r, expected %r"
                                             % (op, c["status"], status))
                    return
            time.sleep(0.02)
        raise AssertionError("the held %s was never recorded" % op)

    def reset_fakes(self):
        self.stack.sm_control("POST", "/_fake/reset")
        self.stack.rds_reset()

    def check_invariant(self, subject, where):
        if subject.some_staged_login_works() is None:
            raise AssertionError("no staged credential logs in %s" % where)
        # Dual passwords: the credentials clients held before the rotation never stop working.
        if self.dual and not self.db.can_login(subject.user, subject.password):
            raise AssertionError("the previous password does not log in %s" % where)

    def redrive(self, subject):
        """Secrets Manager retries the whole rotation with the same token."""
        for step in STEPS:
            ok, payload = self.invoke(subject, step)
            if not ok:
                raise AssertionError("re-driven %s failed: %s" % (step, payload.get("errorMessage")))
            self.check_invariant(subject, "after re-driven %s" % step)
        labels = self.stack.stages(subject.arn).get(subject.token, [])
        if "AWSCURRENT" not in labels:
            raise AssertionError("AWSCURRENT did not reach the token: %r" % labels)
        cur = subject.staged("AWSCURRENT")
        if not self.db.can_login(cur["username"], cur["password"]):
            raise AssertionError("the new AWSCURRENT does not log in")

    def case(self, name, step, arm, expect, disarm=None, kill=False, inflight=None):
        """Runs one fault case on a fresh subject; records whether it converged. kill cases:
        kill(subject) returns once the call is held; inflight = (service, operation, fault,
        final status) names the held call (see wait_in_flight_call)."""
        t0 = time.monotonic()
        try:
            subject = Subject(self)
            for s in STEPS[:STEPS.index(step)]:
                ok, payload = self.invoke(subject, s)
                assert ok, "%s before the fault failed: %s" % (s, payload)
            arm(subject)
            if kill:
                t, box = self.invoke_async(subject, step)
                kill(subject)
                dead_by = self.stack.kill_bootstrap()
                t.join(60)
                ok, payload = box.get("result", (False, {}))
                if inflight:
                    self.wait_in_flight_call(inflight, dead_by)
                if disarm:
                    disarm(subject)
                self.reset_fakes()
                self.stack.start_bootstrap()
            else:
                ok, payload = self.invoke(subject, step)
                if disarm:
                    disarm(subject)
                self.reset_fakes()
                if expect == "ok" and not ok:
                    raise AssertionError("step failed: %s" % payload.get("errorMessage"))
                if expect not in ("ok", None):
                    if ok:
                        raise AssertionError("step succeeded despite the fault")
                    text = payload.get("errorType", "") + " " + payload.get("errorMessage", "")
                    if expect not in text:
                        raise AssertionError("error does not say %r: %s" % (expect, text))
            self.check_invariant(subject, "after the fault")
            self.redrive(subject)
            self.results.append((name, True, ""))
            print("converged %-45s %.1f s" % (name, time.monotonic() - t0), flush=True)
        except Exception as e:  # noqa: BLE001 - recorded, reported in the summary
            self.results.append((name, False, str(e)[:300]))
            print("FAILED    %-45s %.1f s: %s" % (name, time.monotonic() - t0, str(e)[:200]),
                  flush=True)
            self.reset_fakes()
            self.proxy.set_mode("up")
            if self.stack.bootstrap is None or self.stack.bootstrap.poll() is not None:
                self.stack.start_bootstrap()

    # --- the matrix ---

    def sm_fault(self, op, k, error, **extra):
        def arm(_subject):
            body = {"operation": op, "error": error, "count": 1, "skip": k}
            body.update(extra)
            self.stack.sm_control("POST", "/_fake/faults", body)
        return arm

    def rds_fault(self, op, k, error, **extra):
        def arm(_subject):
            self.stack.rds_fault(op, error, count=1, skip=k, **extra)
        return arm

    def held(self, service):
        return lambda _s: (self.wait_fault_taken(service), time.sleep(0.05))

    def sm_kill_cases(self, step, op, k):
        where = "%s/%s#%d" % (step, op, k + 1)
        self.case("kill-before " + where, step, self.sm_fault(op, k, "reset", delay_ms=HOLD_MS),
                  None, kill=self.held("sm"), inflight=("sm", op, "reset", 0))
        if op in MUTATING:
            self.case("kill-after " + where, step, self.sm_fault(op, k, "delay", delay_ms=HOLD_MS),
                      None, kill=self.held("sm"), inflight=("sm", op, "delay", 200))

    def sm_cases(self, step, op, k):
        where = "%s/%s#%d" % (step, op, k + 1)
        self.case("throttle " + where, step, self.sm_fault(op, k, "ThrottlingException"), "ok")
        self.case("server " + where, step, self.sm_fault(op, k, "InternalServiceError"), "ok")
        self.case("permanent " + where, step, self.sm_fault(op, k, "AccessDeniedException"),
                  "AccessDeniedException")
        self.case("kill-before " + where, step, self.sm_fault(op, k, "reset", delay_ms=HOLD_MS),
                  None, kill=self.held("sm"), inflight=("sm", op, "reset", 0))
        if op in MUTATING:
            self.case("lost " + where, step,
                      self.sm_fault(op, k, "InternalServiceError", apply=True), "ok")
            self.case("kill-after " + where, step, self.sm_fault(op, k, "delay", delay_ms=HOLD_MS),
                      None, kill=self.held("sm"), inflight=("sm", op, "delay", 200))

    def rds_cases(self, step, op, k):
        where = "%s/%s#%d" % (step, op, k + 1)
        permission = "rds:" + op
        self.case("rds-throttle " + where, step, self.rds_fault(op, k, "Throttling"), "ok")
        self.case("rds-server " + where, step, self.rds_fault(op, k, "InternalFailure"), "ok")
        self.case("rds-lost " + where, step, self.rds_fault(op, k, "reset"), "ok")
        self.case("rds-permanent " + where, step, self.rds_fault(op, k, "AccessDenied"),
                  permission)
        self.case("rds-kill " + where, step, self.rds_fault(op, k, "delay", delay_ms=HOLD_MS),
                  None, kill=self.held("rds"), inflight=("rds", op, "delay", 200))

    def run(self):
        seq = self.step_calls()
        if self.managed:
            self.run_managed(seq)
            return
        if self.variant:
            self.run_kills(seq)
            return
        for step in STEPS:
            counts = {}
            for op, _own in seq[step][0]:
                k = counts.get(op, 0)
                counts[op] = k + 1
                self.sm_cases(step, op, k)
        for step in ("setSecret", "testSecret"):
            self.case("db-down " + step, step, lambda _s: self.proxy.set_mode("down"),
                      "DatabaseUnreachable", disarm=lambda _s: self.proxy.set_mode("up"))
            saved = {}

            def refuse(subject, saved=saved, step=step):
                # The login the step depends on: setSecret's is whichever staged credential works
                # (current); testSecret's is the pending one.
                if step == "testSecret":
                    v = subject.staged("AWSPENDING")
                    saved["cred"] = (v["username"], v["password"])
                else:
                    saved["cred"] = subject.working_password()
                self.db.set_password(saved["cred"][0], "moved-" + uuid.uuid4().hex)

            def restore(subject, saved=saved):
                self.db.set_password(*saved["cred"])

            self.case("db-refuse " + step, step, refuse, "Unable to log into database",
                      disarm=restore)
        self.case("db-stall-kill setSecret", "setSecret", lambda _s: self.proxy.set_mode("stall"),
                  None, disarm=lambda _s: self.proxy.set_mode("up"),
                  kill=lambda _s: time.sleep(0.5))

    def run_kills(self, seq):
        for step in STEPS:
            counts = {}
            for op, _own in seq[step][0]:
                k = counts.get(op, 0)
                counts[op] = k + 1
                self.sm_kill_cases(step, op, k)
        self.case("db-stall-kill setSecret", "setSecret", lambda _s: self.proxy.set_mode("stall"),
                  None, disarm=lambda _s: self.proxy.set_mode("up"),
                  kill=lambda _s: time.sleep(0.5))

    def run_managed(self, seq):
        """The calls an RDS-managed master adds: every RDS call, and the master's DescribeSecret
        (its tags), in each step that makes them."""
        rds_steps = [step for step in STEPS if seq[step][1]]
        if rds_steps != ["createSecret", "setSecret"]:
            raise AssertionError("RDS calls in steps %r, expected createSecret and setSecret"
                                 % rds_steps)
        for step in STEPS:
            counts = {}
            for op in seq[step][1]:
                k = counts.get(op, 0)
                counts[op] = k + 1
                self.rds_cases(step, op, k)
            counts = {}
            for op, own in seq[step][0]:
                k = counts.get(op, 0)
                counts[op] = k + 1
                if op == "DescribeSecret" and not own:
                    self.sm_cases(step, op, k)

    def close(self):
        try:
            self.stack.assert_no_secrets(self.seen)
        finally:
            self.stack.close()
            self.proxy.close()
            self.db.drop_users(*self.users)

    def report(self, label):
        ok = sum(1 for _, converged, _ in self.results if converged)
        for name, converged, detail in self.results:
            if not converged:
                print("NOT CONVERGED %s: %s" % (name, detail))
        print("fault matrix %s: %d fault cases ran, %d converged" % (label, len(self.results), ok))
        if ok != len(self.results) or not self.results:
            raise AssertionError("%d of %d fault cases did not converge"
                                 % (len(self.results) - ok, len(self.results)))


def run(db, handler, label, managed=False, dual=False, variant=None):
    m = Matrix(db, handler, managed=managed, dual=dual, variant=variant)
    try:
        m.run()
        m.report(label)
    finally:
        m.close()
