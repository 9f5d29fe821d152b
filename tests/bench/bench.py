#!/usr/bin/env python3
"""The rotation benchmark: what a rotation costs, per engine and strategy, against local
PostgreSQL and MariaDB servers, the local Secrets Manager emulator and the fake Lambda Runtime API.

    python3 tests/bench/bench.py [--runs N] [--build DIR] [--static-build DIR] [--state-dir DIR]
                                 [--json FILE]

Two bootstraps side by side: the development build's (--build, default ./build: Debian's shared
libraries) and the deployable, self-contained one (--static-build, default ./build-package when
it has a bootstrap: -DSM_STATIC_DEPS=ON, only glibc and libgcc shared; `none` skips it). Every
table is printed for each, then a summary puts their figures next to each other and next to the
cold-start floor: bench_cold_floor, a trivial glibc-only program that makes the same Runtime API
round trip before its first event (/next), timed the same way against a
fresh fake Lambda, interleaved with both bootstraps. The package is the static tree's zip.

It builds nothing (bootstrap, tests/bench_baseline and tests/bench_cold_floor come from --build
and --static-build, except the zip: lambda-zip is built unless --no-zip-build); it
starts its own throwaway PostgreSQL and MariaDB (tests/scripts/*.sh, state under a temp dir) unless
--state-dir names running fixtures (ctest's SMR_STATE_DIR). It prints one table per engine x
strategy, then the runtime loop, the package and the machine. Timing is never asserted (ctest
bench_rotation_runs only proves it runs). Figures are medians over N runs with [min-max].

Per run: spawn a fresh bootstrap (cold start), rotate once (the first rotation, as after a Lambda
cold start), reset the peak RSS (/proc/PID/clear_refs 5), rotate again (the warm rotation), stop.
An unmeasured rotation before the runs brings the strategy to its steady state (the alternating-users
clone exists).

  cold start        process spawn (os.posix_spawn) -> the fake Lambda seeing the first GET /next
                    (both CLOCK_MONOTONIC).
  event -> result   per step, the fake Lambda's clock from answering /next with the event to
                    receiving the result post: Lambda's view (the handler plus the HTTP exchange
                    with the Python fake, ~0.5-1 ms a step). The ratio below uses it.
  invoke            the four invoke calls as the caller sees them (adds the invoke endpoint).
  on CPU            bootstrap's CPU time during the four steps (/proc/PID/schedstat): the rest of
                    the handler time is waiting for the servers.
  peak RSS          VmHWM of bootstrap: over its whole life up to the end of the first rotation
                    (what Lambda's "Max Memory Used" tracks for the process), and over the warm
                    rotation alone (reset just before it). Shared library pages count.
  SM calls          from the emulator's call log (/_fake/calls): per operation, and per step (a
                    call belongs to the step whose event -> result window holds its time).
  HTTP connections  TCP connections the emulator accepted during the rotation (/_fake/stats,
                    minus the benchmark's own stats request).
  DB connections    counted by the server: PostgreSQL "connection received" log lines
                    (log_connections is switched on), MariaDB's Connections status counter (minus
                    the counting client's own). Every TCP connection counts, failed logins too.
                    Counted around each rotation, and per step in the unmeasured steady-state
                    rotation only (reading MariaDB's counter spawns a client, which would disturb
                    the next step). On shared fixtures (--state-dir) other clients of the server
                    show up here as well.
  unavoidable       logins x (one bare verified-TLS login through the client library alone) +
                    sum over operations of calls x (one round trip of that operation through our
                    SigV4 client on a kept-alive connection), both measured back to back right
                    here by tests/bench/bench_baseline.c. The ratio is warm handler time /
                    unavoidable; a second ratio adds the statements a step cannot skip (the
                    engine's check and single-user password change, timed alone the same way).
"""
import argparse
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
REPO = os.path.dirname(TESTS)
sys.path.insert(0, os.path.join(TESTS, "lib"))
sys.path.insert(0, os.path.join(TESTS, "fakes"))
sys.path.insert(0, HERE)

SETTLE_S = 0.02  # after reading the counters, before the first step
STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")
SHORT = {"createSecret": "create", "setSecret": "set", "testSecret": "test", "finishSecret": "finish"}
TARGETS = {"cold_ratio": 1.5, "rss_mib": 6.0, "zip_mib": 2.0}


# --- small helpers ---------------------------------------------------------------------------

def med(xs):
    return statistics.median(xs) if xs else float("nan")


def span(xs, fmt="%.1f", unit="ms"):
    """'median unit [min-max]'."""
    if not xs:
        return "-"
    return ("%s %s [%s-%s]" % (fmt, unit, fmt, fmt)) % (med(xs), min(xs), max(xs))


def proc_status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS", "RssAnon", "RssFile"):
                out[key] = int(value.split()[0])  # kB
    return out


def cpu_ns(pid):
    """Time pid has run on a CPU, in ns (/proc/PID/schedstat, first field)."""
    with open("/proc/%d/schedstat" % pid) as f:
        return int(f.read().split()[0])


def reset_peak_rss(pid):
    with open("/proc/%d/clear_refs" % pid, "w") as f:
        f.write("5")


def run_quiet(argv, **kw):
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)


# --- database servers --------------------------------------------------------------------------

class Fixtures:
    """The PostgreSQL and MariaDB servers: started here under a temp dir, or borrowed."""

    def __init__(self, state_dir, engines):
        self.owned = state_dir is None
        self.state = state_dir or tempfile.mkdtemp(prefix="smr-bench-")
        os.environ["SMR_STATE_DIR"] = self.state
        self.started = []
        if self.owned:
            for engine in engines:
                script = os.path.join(TESTS, "scripts", "%s.sh" % engine)
                sys.stderr.write("bench: starting a throwaway %s ...\n" % engine)
                r = run_quiet([script, "start", os.path.join(self.state, engine)], timeout=300)
                if r.returncode != 0:
                    raise RuntimeError("%s start failed:\n%s" % (engine, r.stdout[-3000:]))
                self.started.append((script, engine))

    def close(self):
        for script, engine in reversed(self.started):
            run_quiet([script, "stop", os.path.join(self.state, engine)], timeout=120)
        if self.owned:
            subprocess.run(["rm", "-rf", "--", self.state])


class PgCounter:
    """Connections PostgreSQL accepted, from its log (log_connections on while we count)."""

    def __init__(self, db):
        self.db = db
        self.log = db.env["PG_LOG_FILE"]
        db.admin("ALTER SYSTEM SET log_connections = on")
        db.admin("SELECT pg_reload_conf()")
        deadline = time.monotonic() + 10
        while True:  # the postmaster applies the reload asynchronously
            before = self._count()
            db.admin("SELECT 1")
            if self._count() > before:
                break
            if time.monotonic() > deadline:
                raise RuntimeError("PostgreSQL does not log connections after the reload")
            time.sleep(0.05)

    def _count(self):
        with open(self.log, "rb") as f:
            return f.read().count(b"connection received:")

    def value(self):
        # Backends log from their own process: give the last one a moment to write.
        time.sleep(0.005)
        return self._count()

    def close(self):
        try:
            self.db.admin("ALTER SYSTEM RESET log_connections")
            self.db.admin("SELECT pg_reload_conf()")
        except RuntimeError:
            pass


class MyCounter:
    """MariaDB's Connections status counter (every attempt, failed ones too)."""

    def __init__(self, db):
        self.db = db
        self.own = 0  # connections of our own counting queries

    def value(self):
        out = self.db.admin("SHOW GLOBAL STATUS LIKE 'Connections'")
        self.own += 1
        return int(out.split()[-1]) - self.own

    def close(self):
        pass


# --- one engine x strategy ------------------------------------------------------------------------

class Bench:
    def __init__(self, args, db, counter, strategy):
        from stack import Stack  # noqa: E402  (needs SMR_BOOTSTRAP set)
        import fake_lambda  # noqa: E402

        self.args = args
        self.db = db
        self.counter = counter
        self.strategy = strategy
        tag = uuid.uuid4().hex[:8]
        self.user = "bench_%s" % tag
        password = "Bench-" + uuid.uuid4().hex
        self.users = [self.user, self.user + "_clone"]
        db.create_user(self.user, password)
        secret = db.secret(self.user, password)
        self.stack = Stack(handler="multi-user" if strategy == "multi" else "single-user",
                           env={"SMROTATE_DB_CA_FILE": db.ca_file, "AWS_LAMBDA_LOG_LEVEL": "DEBUG",
                                "AWS_LAMBDA_LOG_FORMAT": "Text"}, start_bootstrap=False)
        if strategy == "multi":
            master = "benchm_%s" % tag
            master_password = "Master-" + uuid.uuid4().hex
            self.users.append(master)
            db.create_superuser(master, master_password)
            secret["masterarn"] = self.stack.create_secret("bench/master-" + tag,
                                                           db.secret(master, master_password))
        self.arn = self.stack.create_secret("bench/" + tag, secret)
        self.lam = fake_lambda.Client(self.stack.lambda_port)
        self.log_path = os.path.join(self.stack.tmp, "bootstrap.log")
        self.log = open(self.log_path, "ab")
        self.log_offset = 0
        self.pid = None
        self.wrapper = []  # a program bootstrap runs under (hot_functions.py: callgrind)

    def new_log(self):
        """What bootstrap wrote since the last call."""
        with open(self.log_path, "rb") as f:
            f.seek(self.log_offset)
            data = f.read()
        self.log_offset += len(data)
        return data.decode("utf-8", "replace")

    # -- bootstrap --
    def spawn(self):
        """Starts bootstrap; returns the cold start in ms."""
        before = self.lam.state(bodies="0")["next_calls"]
        env = self.stack.bootstrap_env()
        fd = self.log.fileno()
        t0 = time.monotonic()
        path = os.environ["SMR_BOOTSTRAP"]
        argv = self.wrapper + [path]
        self.pid = os.posix_spawn(argv[0], argv, env,
                                  file_actions=[(os.POSIX_SPAWN_DUP2, fd, 1),
                                                (os.POSIX_SPAWN_DUP2, fd, 2)])
        snap = self.lam.wait(next_calls=before + 1, timeout=20, bodies="0")
        seen = snap["next_times"][before]
        out = {"cold_start_ms": (seen - t0) * 1000.0}
        return out

    def stop(self):
        if self.pid is not None:
            os.kill(self.pid, signal.SIGTERM)
            os.waitpid(self.pid, 0)
            self.pid = None

    # -- one rotation --
    def sm_stats(self):
        return self.stack.sm_control("GET", "/_fake/stats")

    def rotate(self, per_step_db=False):
        """Runs the four steps back to back; returns per-step and total figures. Nothing runs
        between the steps but the invoke calls: the counters are read before and after the
        rotation, calls are assigned to steps by time, and per-step database connections are
        counted only when per_step_db (the unmeasured steady-state rotation) - reading the MariaDB
        counter spawns a client, which would disturb the next step."""
        token = self.stack.start_rotation(self.arn)
        self.stack.sm_control("POST", "/_fake/reset", {})
        s0 = self.sm_stats()
        d0 = self.counter.value()
        time.sleep(SETTLE_S)
        cpu0 = cpu_ns(self.pid)
        steps = []
        for step in STEPS:
            t0 = time.monotonic()
            ok, payload = self.stack.invoke(step, self.arn, token)
            invoke_ms = (time.monotonic() - t0) * 1000.0
            if not ok:
                raise RuntimeError("%s failed: %s\n%s" % (step, payload, self.stack.output()[-3000:]))
            steps.append({"step": step, "invoke_ms": invoke_ms})
            if per_step_db:
                d1 = self.counter.value()
                steps[-1]["db_connections"] = d1 - d0
                d0 = d1
        cpu1 = cpu_ns(self.pid)
        d1 = self.counter.value()
        s1 = self.sm_stats()
        st = self.lam.state(bodies="0")
        deliveries, posts = st["deliveries"][-len(STEPS):], st["posts"][-len(STEPS):]
        calls = self.stack.calls()
        for s, d, p in zip(steps, deliveries, posts):
            if d["request_id"] != p["request_id"]:
                raise RuntimeError("fake Lambda: delivery and post do not match")
            s["smr_ms"] = (p["time"] - d["time"]) * 1000.0
            s["handler_ms"] = s["smr_ms"]
            s["operations"] = []
        # The emulator stamps each call with the wall clock (ms) when it answers; the fake Lambda
        # uses CLOCK_MONOTONIC. A call belongs to the step whose window is nearest (it is inside
        # it but for the rounding).
        offset = time.time() - time.monotonic()
        for c in calls:
            t = c["time"] - offset

            def distance(i):
                lo, hi = deliveries[i]["time"], posts[i]["time"]
                return 0.0 if lo <= t <= hi else min(abs(t - lo), abs(t - hi))
            steps[min(range(len(STEPS)), key=distance)]["operations"].append(c["operation"])
        for s in steps:
            s["sm_calls"] = len(s["operations"])
        out = {
            "steps": steps,
            "smr_ms": sum(s["smr_ms"] for s in steps),
            "handler_ms": sum(s["handler_ms"] for s in steps),
            "invoke_ms": sum(s["invoke_ms"] for s in steps),
            "cpu_ms": (cpu1 - cpu0) / 1e6,
            "sm_calls": len(calls),
            "http_connections": s1["connections"] - s0["connections"] - 1,  # minus s1's own
            "db_connections": d1 - d0 if not per_step_db else sum(s["db_connections"] for s in steps),
        }
        return out

    def run(self):
        """Returns (steady-state rotation with per-step DB counts, [runs])."""
        # Steady state first (unmeasured): the clone exists, caches are warm.
        self.spawn()
        self.new_log()
        steady = self.rotate(per_step_db=True)
        self.stop()
        runs = []
        for _ in range(self.args.runs):
            cold = self.spawn()
            init = proc_status(self.pid)
            first = self.rotate()
            first_mem = proc_status(self.pid)
            reset_peak_rss(self.pid)
            warm = self.rotate()
            warm_mem = proc_status(self.pid)
            self.stop()
            runs.append({"cold_start": cold, "init_mem_kb": init, "first": first,
                         "first_mem_kb": first_mem, "warm": warm, "warm_mem_kb": warm_mem})
        return steady, runs

    def sm_baseline(self, baseline, n):
        """Round trips per operation through our client, on a scratch secret of this emulator."""
        arn = self.stack.create_secret("bench/scratch-" + uuid.uuid4().hex[:8], {"bench": "scratch"})
        va = self.stack.version_of(arn, "AWSCURRENT")
        vb = str(uuid.uuid4())
        self.stack.sm.call("PutSecretValue", {"SecretId": arn, "ClientRequestToken": vb,
                                              "SecretString": json.dumps({"bench": "other"}),
                                              "VersionStages": ["BENCHB"]})
        r = subprocess.run([baseline, "sm", str(n), arn, va, vb], env=self.stack.bootstrap_env(),
                           capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            raise RuntimeError("bench_baseline sm failed: %s" % r.stderr.strip())
        return json.loads(r.stdout)

    def close(self):
        self.stop()
        self.log.close()
        self.stack.close()
        self.db.drop_users(*self.users)


def login_baseline(baseline, db, engine, n):
    user = "benchl_%s" % uuid.uuid4().hex[:8]
    password = "Login-" + uuid.uuid4().hex
    db.create_user(user, password)
    try:
        env = dict(os.environ, BENCH_DB_HOST=db.host, BENCH_DB_PORT=str(db.port), BENCH_DB_USER=user,
                   BENCH_DB_PASSWORD=password, BENCH_DB_CA=db.ca_file,
                   BENCH_DB_ADMIN_USER=db.admin_user, BENCH_DB_ADMIN_PASSWORD=db.admin_password)
        r = subprocess.run([baseline, "login", str(n), "postgres" if engine == "postgres" else "mysql"],
                           env=env, capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            raise RuntimeError("bench_baseline login failed: %s" % r.stderr.strip())
        return {k: [v / 1000.0 for v in vs] for k, vs in json.loads(r.stdout).items()}
    finally:
        db.drop_users(user, user + "_clone")


# --- report ----------------------------------------------------------------------------------------

def summarize(steady, runs, logins, sm_rtt, strategy):
    """Numbers for one table, and the unavoidable-cost ratios."""
    out = {"cold_start_ms": [r["cold_start"]["cold_start_ms"] for r in runs]}
    for kind in ("first", "warm"):
        rs = [r[kind] for r in runs]
        out[kind] = {
            "smr_ms": [r["smr_ms"] for r in rs],
            "handler_ms": [r["handler_ms"] for r in rs],
            "handler_steps": {s: [r["steps"][i]["handler_ms"] for r in rs] for i, s in enumerate(STEPS)},
            "invoke_ms": [r["invoke_ms"] for r in rs],
            "cpu_ms": [r["cpu_ms"] for r in rs],
            "sm_calls": [r["sm_calls"] for r in rs],
            "sm_calls_per_step": {s: [r["steps"][i]["sm_calls"] for r in rs] for i, s in enumerate(STEPS)},
            "http_connections": [r["http_connections"] for r in rs],
            "db_connections": [r["db_connections"] for r in rs],
        }
    out["operations_per_step"] = {st["step"]: st["operations"] for st in runs[-1]["warm"]["steps"]}
    out["db_connections_per_step"] = {st["step"]: st["db_connections"] for st in steady["steps"]}
    out["peak_rss_first_kb"] = [r["first_mem_kb"]["VmHWM"] for r in runs]
    out["peak_rss_warm_kb"] = [r["warm_mem_kb"]["VmHWM"] for r in runs]
    out["rss_after_init_kb"] = [r["init_mem_kb"]["VmRSS"] for r in runs]
    out["rss_anon_after_warm_kb"] = [r["warm_mem_kb"]["RssAnon"] for r in runs]
    out["rss_file_after_warm_kb"] = [r["warm_mem_kb"]["RssFile"] for r in runs]
    # Unavoidable: the rotation's own counts, priced with the bare costs measured alone.
    login_ms = med(logins["library"])
    rtt = {op: med(v) / 1000.0 for op, v in sm_rtt.items()}
    fallback = med(list(rtt.values()))
    # The statements a step cannot skip, as our engine runs them alone.
    stmt = {"testSecret": med(logins["check"]),
            "setSecret": med(logins["set_own_password" if strategy == "single"
                                    else "sync_alternate_user"])}
    per_step, with_stmt = {}, {}
    for s in STEPS:
        per_step[s] = (out["db_connections_per_step"][s] * login_ms
                       + sum(rtt.get(op, fallback) for op in out["operations_per_step"][s]))
        with_stmt[s] = per_step[s] + stmt.get(s, 0.0)
    out["login_ms"] = login_ms
    out["statements_ms"] = stmt
    out["unavoidable_ms_per_step"] = per_step
    out["unavoidable_ms"] = sum(per_step.values())
    out["unavoidable_with_statements_ms"] = sum(with_stmt.values())
    warm = med(out["warm"]["handler_ms"])
    out["ratio"] = warm / out["unavoidable_ms"]
    out["ratio_with_statements"] = warm / out["unavoidable_with_statements_ms"]
    return out


def op_summary(ops):
    counts = {}
    for op in ops:
        counts[op] = counts.get(op, 0) + 1
    return ", ".join("%s %d" % (op, n) for op, n in counts.items())


def print_table(title, n, s, logins, sm_rtt):
    f, w = s["first"], s["warm"]
    L = "  %-42s %-30s %s"
    print("\n== %s (N=%d; median [min-max]) ==" % (title, n))
    print("  %-42s %s" % ("cold start (spawn -> first GET /next)", span(s["cold_start_ms"], "%.2f")))
    print(L % ("", "first rotation (after cold start)", "warm rotation"))
    print(L % ("rotation, 4 steps (event -> result)", span(f["handler_ms"]), span(w["handler_ms"])))
    for st in STEPS:
        print(L % ("  " + st, span(f["handler_steps"][st]), span(w["handler_steps"][st])))
    print(L % ("rotation, event -> result (fake Lambda)", span(f["smr_ms"]),
               span(w["smr_ms"])))
    print(L % ("rotation as invoked (+ invoke endpoint)", span(f["invoke_ms"]), span(w["invoke_ms"])))
    print(L % ("bootstrap on CPU during the rotation", span(f["cpu_ms"]), span(w["cpu_ms"])))
    print(L % ("peak RSS of bootstrap (VmHWM)",
               span([k / 1024 for k in s["peak_rss_first_kb"]], "%.2f", "MiB") + " *",
               span([k / 1024 for k in s["peak_rss_warm_kb"]], "%.2f", "MiB") + " **"))

    def per_step(d):
        return "/".join("%g" % med(d[st]) for st in STEPS)
    print(L % ("SM calls (create/set/test/finish)",
               "%g (%s)" % (med(f["sm_calls"]), per_step(f["sm_calls_per_step"])),
               "%g (%s)" % (med(w["sm_calls"]), per_step(w["sm_calls_per_step"]))))
    print("  %-42s %s" % ("  operations", op_summary(
        [op for st in STEPS for op in s["operations_per_step"][st]])))
    print(L % ("DB connections (server side)", "%g" % med(f["db_connections"]),
               "%g (%s) ***" % (med(w["db_connections"]),
                                "/".join("%d" % s["db_connections_per_step"][st] for st in STEPS))))
    print(L % ("HTTP connections to Secrets Manager", "%g" % med(f["http_connections"]),
               "%g" % med(w["http_connections"])))
    print("  * whole process life up to the end of the first rotation; ** the warm rotation alone "
          "(peak reset before it);")
    print("  *** create/set/test/finish, counted in an unmeasured steady-state rotation.")
    print("  RSS after init %.2f MiB; after the warm rotation %.2f MiB anonymous + %.2f MiB "
          "file-backed (shared libraries)." % (med(s["rss_after_init_kb"]) / 1024,
                                               med(s["rss_anon_after_warm_kb"]) / 1024,
                                               med(s["rss_file_after_warm_kb"]) / 1024))
    print("  unavoidable, warm: %d logins x %.2f ms (bare verified-TLS login through the library; "
          "through our engine %.2f ms)" % (sum(s["db_connections_per_step"].values()),
                                          s["login_ms"], med(logins["engine"])))
    print("    + %g calls x round trip (%s) = %.1f ms" % (
        sum(len(v) for v in s["operations_per_step"].values()),
        ", ".join("%s %.2f" % (op, med(v) / 1000.0) for op, v in sm_rtt.items()),
        s["unavoidable_ms"]))
    print("    warm rotation / unavoidable = %.2fx (target <= 1.3x)" % s["ratio"])
    print("    counting the step statements too (%s) = %.1f ms: %.2fx" % (
        ", ".join("%s %.2f ms" % (k, v) for k, v in s["statements_ms"].items()),
        s["unavoidable_with_statements_ms"], s["ratio_with_statements"]))
    print("    per step, warm handler / unavoidable: " + ", ".join(
        "%s %.1f/%.1f ms" % (SHORT[st], med(w["handler_steps"][st]), s["unavoidable_ms_per_step"][st])
        for st in STEPS))


def zip_report(build, build_zip):
    """The lambda-zip output of a -DSM_STATIC_DEPS=ON tree (built when missing and build_zip)."""
    def zips():
        return sorted(f for f in os.listdir(build)
                      if f.startswith("smrotate-lambda-") and f.endswith(".zip"))
    if not zips() and build_zip:
        r = run_quiet(["cmake", "--build", build, "--target", "lambda-zip"], timeout=600)
        if r.returncode != 0:
            return {"error": "cmake --build %s --target lambda-zip failed:\n%s" % (build, r.stdout[-2000:])}
    if not zips():
        return None
    path = os.path.join(build, zips()[0])
    with zipfile.ZipFile(path) as z:
        entries = [(i.filename, i.compress_size, i.file_size) for i in z.infolist()]
    return {"path": path, "bytes": os.path.getsize(path), "entries": entries}


def cold_starts(programs, runs):
    """Spawn -> the fake Lambda seeing the first GET /next, for each (label, path), interleaved
    run by run against one fresh fake Lambda (reset before every spawn). Returns {label: [ms]}."""
    import bench_runtime  # noqa: E402
    import fake_lambda  # noqa: E402
    proc, client = fake_lambda.start_fake()
    out = {label: [] for label, _ in programs}
    try:
        for _ in range(runs):
            for label, path in programs:
                client.reset()
                t0 = time.monotonic()
                pid = bench_runtime.spawn(path, bench_runtime.base_env(client.port))
                snap = client.wait(next_calls=1, timeout=10, bodies="0")
                out[label].append((snap["next_times"][0] - t0) * 1000.0)
                os.kill(pid, signal.SIGTERM)
                os.waitpid(pid, 0)
    finally:
        proc.terminate()
        proc.wait()
    return out


def print_comparison(results, cold, z):
    """The static build next to the dynamic one, per case, and against the targets."""
    cases = results["cases"]
    print("\n== static (self-contained, the package) vs dynamic (Debian's shared libraries); medians ==")
    L = "  %-34s %-22s %-22s %s"
    print(L % ("", "dynamic", "static", "static / dynamic"))
    if cold:
        floor = med(cold["floor"])
        for label in ("dynamic", "static"):
            if label in cold:
                print("  cold start, %s: %.2f ms = %.2fx the floor (target <= %.1fx)"
                      % (label, med(cold[label]), med(cold[label]) / floor, TARGETS["cold_ratio"]))
        print("  floor (glibc-only program, same round trips): %.2f ms [%.2f-%.2f]; N=%d each"
              % (floor, min(cold["floor"]), max(cold["floor"]), len(cold["floor"])))

    def row(what, d, s, fmt, unit):
        ratio = ("%.2fx" % (s / d)) if d and s == s and d == d else "-"
        print(L % (what, (fmt % d) + " " + unit, (fmt % s) + " " + unit, ratio))
    for key, by in cases.items():
        if "static" not in by or "dynamic" not in by:
            continue
        d, s = by["dynamic"]["summary"], by["static"]["summary"]
        print("  -- %s" % key)
        row("cold start (full stack env)", med(d["cold_start_ms"]), med(s["cold_start_ms"]),
            "%.2f", "ms")
        row("peak RSS, life to 1st rotation", med(d["peak_rss_first_kb"]) / 1024,
            med(s["peak_rss_first_kb"]) / 1024, "%.2f", "MiB")
        row("peak RSS, warm rotation", med(d["peak_rss_warm_kb"]) / 1024,
            med(s["peak_rss_warm_kb"]) / 1024, "%.2f", "MiB")
        row("  file-backed after warm", med(d["rss_file_after_warm_kb"]) / 1024,
            med(s["rss_file_after_warm_kb"]) / 1024, "%.2f", "MiB")
        row("first rotation (handler)", med(d["first"]["handler_ms"]),
            med(s["first"]["handler_ms"]), "%.1f", "ms")
        row("warm rotation (handler)", med(d["warm"]["handler_ms"]), med(s["warm"]["handler_ms"]),
            "%.1f", "ms")
        row("CPU, warm rotation", med(d["warm"]["cpu_ms"]), med(s["warm"]["cpu_ms"]), "%.2f", "ms")
        print("  %-34s static peak RSS %s the %.0f MiB target" % (
            "", "within" if med(s["peak_rss_first_kb"]) / 1024 <= TARGETS["rss_mib"] else "OVER",
            TARGETS["rss_mib"]))
    if z and "bytes" in z:
        print("  zip (static tree): %.2f MiB, %s the %.0f MiB target"
              % (z["bytes"] / 1048576, "within" if z["bytes"] / 1048576 <= TARGETS["zip_mib"]
                 else "OVER", TARGETS["zip_mib"]))


def machine():
    model = cores = "?"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            k, _, v = line.partition(":")
            if k.strip() == "Model name":
                model = v.strip()
            elif k.strip() == "CPU(s)":
                cores = v.strip()
    except OSError:
        pass
    return {"model": model, "cpus": cores, "kernel": platform.release(),
            "load": os.getloadavg()}


def main():
    ap = argparse.ArgumentParser(description="Rotation benchmark (see the module docstring).")
    ap.add_argument("--runs", type=int, default=10, help="runs per engine x strategy (default 10)")
    ap.add_argument("--build", default=os.environ.get("SMR_BUILD_DIR", os.path.join(REPO, "build")))
    ap.add_argument("--static-build", default=os.path.join(REPO, "build-package"),
                    help="tree configured with -DSM_STATIC_DEPS=ON (default ./build-package when "
                         "it has a bootstrap); 'none' skips the static bootstrap")
    ap.add_argument("--state-dir", help="use the running fixtures of this SMR_STATE_DIR")
    ap.add_argument("--engines", default="postgres,mariadb")
    ap.add_argument("--strategies", default="single,multi")
    ap.add_argument("--baseline-runs", type=int, default=0,
                    help="bare logins / calls per operation (default: max(10, 2 x runs))")
    ap.add_argument("--loop-invocations", type=int, default=2000,
                    help="invocations for the runtime loop figure (0: skip)")
    ap.add_argument("--no-zip-build", action="store_true",
                    help="report the zip only if it exists (else: cmake --build --target lambda-zip)")
    ap.add_argument("--json", help="also write every figure to this file")
    args = ap.parse_args()
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    build = os.path.abspath(args.build)
    bootstrap = os.path.join(build, "bootstrap")
    baseline = os.environ.get("SMR_BENCH_BASELINE", os.path.join(build, "tests", "bench_baseline"))
    floor = os.environ.get("SMR_BENCH_COLD_FLOOR", os.path.join(build, "tests", "bench_cold_floor"))
    for path in (bootstrap, baseline, floor):
        if not os.access(path, os.X_OK):
            ap.error("%s is missing: build first (cmake --build %s)" % (path, args.build))
    builds = [("dynamic", bootstrap)]
    static = None
    if args.static_build != "none":
        static = os.path.abspath(args.static_build)
        if os.access(os.path.join(static, "bootstrap"), os.X_OK):
            builds.append(("static", os.path.join(static, "bootstrap")))
        else:
            print("(no static bootstrap in %s: configure it with -DSM_STATIC_DEPS=ON and build, "
                  "or pass --static-build none)" % static)
            static = None
    engines = [e for e in args.engines.split(",") if e]
    strategies = [s for s in args.strategies.split(",") if s]
    nbase = args.baseline_runs or max(10, 2 * args.runs)

    import db as dbmod  # noqa: E402

    m0 = machine()
    results = {"machine": m0, "runs": args.runs, "builds": dict(builds), "cases": {}}
    print("smrotate rotation benchmark: %s, %s CPUs, Linux %s; load average %.2f %.2f %.2f at start"
          % (m0["model"], m0["cpus"], m0["kernel"], *m0["load"]))
    for label, path in builds:
        print("  %s bootstrap: %s" % (label, path))
    fixtures = Fixtures(os.path.abspath(args.state_dir) if args.state_dir else None, engines)
    try:
        for engine in engines:
            db = dbmod.Postgres() if engine == "postgres" else dbmod.MariaDB()
            counter = PgCounter(db) if engine == "postgres" else MyCounter(db)
            try:
                logins = login_baseline(baseline, db, engine, nbase)
                for strategy in strategies:
                    key = "%s-%s" % (engine, strategy)
                    results["cases"][key] = {}
                    for label, path in builds:
                        os.environ["SMR_BOOTSTRAP"] = path
                        b = Bench(args, db, counter, strategy)
                        try:
                            steady, runs = b.run()
                            sm_rtt = b.sm_baseline(baseline, nbase)
                        finally:
                            b.close()
                        s = summarize(steady, runs, logins, sm_rtt, strategy)
                        title = "%s, %s - %s bootstrap" % (
                            "PostgreSQL" if engine == "postgres" else "MariaDB",
                            "single user" if strategy == "single" else "alternating users", label)
                        print_table(title, args.runs, s, logins, sm_rtt)
                        sys.stdout.flush()
                        results["cases"][key][label] = {
                            "summary": s, "steady": steady, "runs": runs, "logins_ms": logins,
                            "sm_rtt_us": sm_rtt}
            finally:
                counter.close()
    finally:
        fixtures.close()

    cold = cold_starts([("floor", floor)] + builds, max(10, 2 * args.runs))
    results["cold_start_ms"] = cold
    print("\n== cold start against a fresh fake Lambda (spawn -> first /next seen), N=%d each ==" %
          len(cold["floor"]))
    for label, xs in cold.items():
        print("  %-8s %s%s" % (label, span(xs, "%.2f"), "" if label == "floor" else
                                "   %.2fx the floor" % (med(xs) / med(cold["floor"]))))

    if args.loop_invocations >= 2:
        import bench_runtime  # noqa: E402
        import fake_lambda  # noqa: E402
        echo = os.environ.get("SMR_RT_ECHO", os.path.join(build, "tests", "rt_echo_bootstrap"))
        if os.access(echo, os.X_OK):
            proc, client = fake_lambda.start_fake()
            try:
                loop = bench_runtime.loop_overhead(client, echo, args.loop_invocations)
            finally:
                proc.terminate()
                proc.wait()
            results["loop"] = loop
            print("\n== runtime loop (trivial handler, %d invocations) ==" % args.loop_invocations)
            print("  CPU per invocation (user+sys, incl. libcurl and the kernel): %.1f us"
                  % loop["cpu_us_per_invocation"])
            t = loop["turnaround_us"]
            print("  turnaround (/next answered -> result posted, seen by the fake): %s"
                  % bench_runtime.fmt(t))
        else:
            print("\n(runtime loop skipped: %s not built)" % echo)

    z = zip_report(static, not args.no_zip_build) if static else None
    results["zip"] = z
    print("\n== package ==")
    if z is None:
        print("  zip: not built (cmake -S . -B build-package -DSM_STATIC_DEPS=ON; "
              "cmake --build build-package --target lambda-zip)")
    elif "error" in z:
        print("  zip: %s" % z["error"])
    else:
        print("  %s: %d bytes = %.2f MiB (target <= %.0f MiB)"
              % (os.path.basename(z["path"]), z["bytes"], z["bytes"] / 1048576, TARGETS["zip_mib"]))
        top = sorted(z["entries"], key=lambda e: -e[1])[:4]
        print("  largest (compressed): " + ", ".join("%s %d KiB" % (n, c // 1024)
                                                       for n, c, _ in top))
    if static:
        print_comparison(results, cold, z)
    m1 = machine()
    results["machine_end"] = m1
    print("\nload average %.2f %.2f %.2f at the end" % m1["load"])
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
