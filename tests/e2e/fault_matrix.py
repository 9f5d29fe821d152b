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
"""
import json
import os
import sys
import threading
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

from stack import Stack  # noqa: E402
from tcpproxy import TcpProxy  # noqa: E402

STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")
MUTATING = ("PutSecretValue", "UpdateSecretVersionStage")


class Subject:
    """One user (and for alternating users a superuser) with its secret."""

    def __init__(self, matrix):
        m = matrix
        self.m = m
        self.user = "fm_" + uuid.uuid4().hex[:10]
        self.password = "Init-" + uuid.uuid4().hex
        m.db.create_user(self.user, self.password)
        m.users += [self.user, self.user + "_clone"]
        secret = m.db.secret(self.user, self.password, host="127.0.0.1", port=m.proxy.port)
        if m.handler == "multi-user":
            master, mpw = "fmm_" + uuid.uuid4().hex[:10], "Init-" + uuid.uuid4().hex
            m.db.create_superuser(master, mpw)
            m.users.append(master)
            m.seen.append(mpw)
            msecret = m.db.secret(master, mpw, host="127.0.0.1", port=m.proxy.port)
            secret["masterarn"] = m.stack.create_secret("fm/master-" + uuid.uuid4().hex[:8], msecret)
        self.arn = m.stack.create_secret("fm/" + uuid.uuid4().hex[:10], secret)
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
    def __init__(self, db, handler):
        self.db = db
        self.handler = handler
        self.users = []
        self.seen = []
        self.proxy = TcpProxy(db.host, db.port)
        self.stack = Stack(handler=handler, env={"SMROTATE_DB_CA_FILE": db.ca_file,
                                                 "SMROTATE_DB_CONNECT_TIMEOUT_MS": "2000"})
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

    def calls_len(self):
        return len(self.stack.calls())

    def step_calls(self):
        """The Secrets Manager operations each step makes, from one clean rotation."""
        s = Subject(self)
        seq = {}
        for step in STEPS:
            before = self.calls_len()
            ok, payload = self.invoke(s, step)
            assert ok, "clean run: %s failed: %s" % (step, payload)
            seq[step] = [c["operation"] for c in self.stack.calls()[before:]]
        return seq

    def wait_fault_taken(self, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.stack.sm_control("GET", "/_fake/faults"):
                return
            time.sleep(0.01)
        raise AssertionError("the faulted call never arrived")

    def check_invariant(self, subject, where):
        if subject.some_staged_login_works() is None:
            raise AssertionError("no staged credential logs in %s" % where)

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

    def case(self, name, step, arm, expect, disarm=None, kill=False):
        """Runs one fault case on a fresh subject; records whether it converged."""
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
                self.stack.kill_bootstrap()
                t.join(60)
                ok, payload = box.get("result", (False, {}))
                if disarm:
                    disarm(subject)
                self.stack.sm_control("POST", "/_fake/reset")
                self.stack.start_bootstrap()
            else:
                ok, payload = self.invoke(subject, step)
                if disarm:
                    disarm(subject)
                self.stack.sm_control("POST", "/_fake/reset")
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
            self.stack.sm_control("POST", "/_fake/reset")
            self.proxy.set_mode("up")
            if self.stack.bootstrap is None or self.stack.bootstrap.poll() is not None:
                self.stack.start_bootstrap()

    # --- the matrix ---

    def run(self):
        seq = self.step_calls()
        for step in STEPS:
            counts = {}
            for op in seq[step]:
                k = counts.get(op, 0)
                counts[op] = k + 1
                where = "%s/%s#%d" % (step, op, k + 1)

                def fault(error, op=op, k=k, **extra):
                    def arm(_subject):
                        body = {"operation": op, "error": error, "count": 1, "skip": k}
                        body.update(extra)
                        self.stack.sm_control("POST", "/_fake/faults", body)
                    return arm

                self.case("throttle " + where, step, fault("ThrottlingException"), "ok")
                self.case("server " + where, step, fault("InternalServiceError"), "ok")
                self.case("permanent " + where, step, fault("AccessDeniedException"),
                          "AccessDeniedException")
                self.case("kill-before " + where, step,
                          fault("reset", delay_ms=800), None,
                          kill=lambda _s: (self.wait_fault_taken(), time.sleep(0.05)))
                if op in MUTATING:
                    self.case("lost " + where, step, fault("InternalServiceError", apply=True), "ok")
                    self.case("kill-after " + where, step, fault("delay", delay_ms=800), None,
                              kill=lambda _s: (self.wait_fault_taken(), time.sleep(0.05)))
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


def run(db, handler, label):
    m = Matrix(db, handler)
    try:
        m.run()
        m.report(label)
    finally:
        m.close()
