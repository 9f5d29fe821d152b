#!/usr/bin/env python3
"""Benchmark of the Lambda runtime loop against tests/fakes/fake_lambda.py. Prints figures; asserts
nothing about timing (ctest bench_runtime_runs only proves it runs).

  bench_runtime.py [--runs N] [--invocations M] [--bootstrap PATH] [--echo PATH] [--json]

What is measured, and what is not:
  cold start   process spawn (os.posix_spawn) of the real bootstrap -> the fake receiving its first
               GET /runtime/invocation/next (bootstrap at DEBUG level, so its "init took" line splits
               this into spawn -> main, main -> first /next sent, and sent -> seen by the fake). Includes exec, dynamic loading (libcurl, OpenSSL, libpq,
               MariaDB client...), init, the extension registration round trip, and the fake's own
               accept/parse latency (Python). Both sides read CLOCK_MONOTONIC. For scale, `exec only`
               is spawn -> exit of `bootstrap --version` (loader + libc start-up, no runtime work).
  loop CPU     CPU time (user + system, from wait4's rusage) the runtime process spends per
               invocation with a trivial handler (tests/runtime/echo_bootstrap.c, RT_ECHO_MODE=noop):
               (cpu(M invocations) - cpu(1 invocation)) / (M - 1). Includes libcurl's work for the
               two HTTP exchanges; excludes the fake entirely. This is the honest "overhead" figure.
  in-loop      the runtime's own DEBUG timing line per invocation: wall time between /next returning
               and the post being answered, minus the handler and minus the post's HTTP exchange
               (header parsing, environment, response preparation). Excludes all network waits.
  throughput   invocations per second through the fake: bounded by the Python fake, not the runtime.
"""
import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fakes"))
import fake_lambda  # noqa: E402

PASS_THROUGH = ("PATH", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "LD_LIBRARY_PATH")


def base_env(port, **extra):
    env = {k: os.environ[k] for k in PASS_THROUGH if k in os.environ}
    env["AWS_LAMBDA_RUNTIME_API"] = "127.0.0.1:%d" % port
    # What Lambda provides; init needs credentials and a region (no call is made to the endpoint).
    env.update({"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "AKIDBENCH0000000001",
                "AWS_SECRET_ACCESS_KEY": "benchSecretKey/0123456789abcdefghijklmn",
                "AWS_SESSION_TOKEN": "benchSessionToken",
                "SECRETS_MANAGER_ENDPOINT": "http://127.0.0.1:9"})
    env.update(extra)
    return env


def spawn(path, env, args=(), stderr=None):
    fa = []
    if stderr is not None:
        fa.append((os.POSIX_SPAWN_DUP2, stderr.fileno(), 2))
    return os.posix_spawn(path, [path, *args], env, file_actions=fa)


def wait_rusage(pid):
    _, status, ru = os.wait4(pid, 0)
    return os.waitstatus_to_exitcode(status), ru.ru_utime + ru.ru_stime


def summary(xs, unit, scale=1.0):
    xs = sorted(x * scale for x in xs)
    return {"median": statistics.median(xs), "min": xs[0], "max": xs[-1],
            "p90": xs[min(len(xs) - 1, int(len(xs) * 0.9))], "n": len(xs), "unit": unit}


def fmt(s):
    return "median %.2f %s, min %.2f, max %.2f (n=%d)" % (s["median"], s["unit"], s["min"], s["max"], s["n"])


INIT_RE = re.compile(r"init took (\d+) us \(main entered at monotonic (\d+) us, first /next at (\d+) us\)")


def cold_start(client, bootstrap, runs):
    """Returns summaries of spawn -> /next seen, and of its parts from the DEBUG init line:
    spawn -> main (exec + dynamic loading), main -> first /next sent (our init, including the
    extension registration), first /next sent -> seen by the fake (HTTP + the fake's latency)."""
    starts, execs, loads, inits, fakes = [], [], [], [], []
    devnull = open(os.devnull, "w")
    for _ in range(runs):
        client.reset()
        with tempfile.TemporaryFile() as err:
            t0 = time.monotonic()
            pid = spawn(bootstrap, base_env(client.port, AWS_LAMBDA_LOG_LEVEL="DEBUG"), stderr=err)
            snap = client.wait(next_calls=1, timeout=10, bodies="0")
            seen = snap["next_times"][0]
            starts.append(seen - t0)
            os.kill(pid, signal.SIGTERM)
            wait_rusage(pid)
            err.seek(0)
            m = INIT_RE.search(err.read().decode("utf-8", "replace"))
        if m:
            main_at, next_at = int(m.group(2)) / 1e6, int(m.group(3)) / 1e6
            loads.append(main_at - t0)
            inits.append(next_at - main_at)
            fakes.append(seen - next_at)
    for _ in range(runs):
        t0 = time.monotonic()
        pid = os.posix_spawn(bootstrap, [bootstrap, "--version"], {},
                             file_actions=[(os.POSIX_SPAWN_DUP2, devnull.fileno(), 1)])
        os.waitpid(pid, 0)
        execs.append(time.monotonic() - t0)
    devnull.close()
    parts = {"spawn_to_main": summary(loads, "ms", 1000.0), "main_to_first_next": summary(inits, "ms", 1000.0),
             "next_sent_to_seen": summary(fakes, "ms", 1000.0)} if loads else {}
    return summary(starts, "ms", 1000.0), summary(execs, "ms", 1000.0), parts


def run_loop(client, echo, n, debug):
    """Runs n invocations through the noop handler; returns (cpu seconds, wall seconds, log text)."""
    client.reset()
    client.enqueue(payload={}, count=n)
    env = base_env(client.port, RT_ECHO_MODE="noop", RT_ECHO_MAX_INVOCATIONS=str(n))
    if debug:
        env.update(AWS_LAMBDA_LOG_LEVEL="DEBUG", AWS_LAMBDA_LOG_FORMAT="Text")
    with tempfile.TemporaryFile() as err:
        pid = spawn(echo, env, stderr=err)
        code, cpu = wait_rusage(pid)
        err.seek(0)
        log = err.read().decode("utf-8", "replace")
    if code != 0:
        raise RuntimeError("echo runtime exited with %d:\n%s" % (code, log[-2000:]))
    snap = client.state(bodies="0")
    if len(snap["posts"]) != n:
        raise RuntimeError("expected %d posts, got %d" % (n, len(snap["posts"])))
    wall = snap["posts"][-1]["time"] - snap["deliveries"][0]["time"]
    return cpu, wall, log


def loop_overhead(client, echo, n):
    cpu1, _, _ = run_loop(client, echo, 1, False)
    cpun, wall, _ = run_loop(client, echo, n, False)
    per_inv_cpu_us = (cpun - cpu1) / (n - 1) * 1e6
    _, _, log = run_loop(client, echo, n, True)
    fields = {"overhead_us": [], "handler_us": [], "post_us": []}
    for m in re.finditer(r"handler_us=(\d+) post_us=(\d+) overhead_us=(-?\d+)", log):
        fields["handler_us"].append(int(m.group(1)))
        fields["post_us"].append(int(m.group(2)))
        fields["overhead_us"].append(int(m.group(3)))
    if len(fields["overhead_us"]) != n:
        raise RuntimeError("expected %d timing lines, got %d" % (n, len(fields["overhead_us"])))
    return {
        "cpu_us_per_invocation": per_inv_cpu_us,
        "throughput_per_s": (n - 1) / wall if wall > 0 else float("nan"),
        "in_loop": {k: summary(v, "us") for k, v in fields.items()},
    }


def main():
    build = os.environ.get("SMR_BUILD_DIR", os.path.join(HERE, "..", "..", "build"))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=30, help="cold starts to measure")
    ap.add_argument("--invocations", type=int, default=2000, help="invocations for the loop figures")
    ap.add_argument("--bootstrap", default=os.environ.get("SMR_BOOTSTRAP", os.path.join(build, "bootstrap")))
    ap.add_argument("--echo", default=os.environ.get("SMR_RT_ECHO", os.path.join(build, "tests", "rt_echo_bootstrap")))
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args()
    if args.invocations < 2:
        ap.error("--invocations must be at least 2")

    proc, client = fake_lambda.start_fake()
    try:
        cold, exec_only, parts = cold_start(client, args.bootstrap, args.runs)
        loop = loop_overhead(client, args.echo, args.invocations)
    finally:
        proc.terminate()
        proc.wait()
    result = {"cold_start_ms": cold, "cold_start_parts": parts, "exec_only_ms": exec_only, **loop}
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print("cold start (spawn -> first GET /next seen by the fake): %s" % fmt(cold))
    for name, label in (("spawn_to_main", "spawn -> main (exec, dynamic loading)"),
                        ("main_to_first_next", "main -> first /next sent (our init)"),
                        ("next_sent_to_seen", "first /next sent -> seen by the fake")):
        if name in parts:
            print("  %-52s %s" % (label + ":", fmt(parts[name])))
    print("  exec only (spawn -> exit of bootstrap --version):     %s" % fmt(exec_only))
    print("loop CPU per invocation (trivial handler, rusage):      %.1f us" % loop["cpu_us_per_invocation"])
    il = loop["in_loop"]
    print("in-loop overhead (excl. handler and HTTP exchanges):    %s" % fmt(il["overhead_us"]))
    print("  post round trip incl. the Python fake:                %s" % fmt(il["post_us"]))
    print("throughput through the Python fake:                     %.0f invocations/s" % loop["throughput_per_s"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
