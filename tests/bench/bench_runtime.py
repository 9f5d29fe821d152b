#!/usr/bin/env python3
"""Benchmark of the Lambda runtime loop against tests/fakes/fake_lambda.py. Prints figures; asserts
nothing about timing (ctest bench_runtime_runs only proves it runs).

  bench_runtime.py [--runs N] [--invocations M] [--bootstrap PATH] [--echo PATH] [--json]

What is measured, and what is not:
  cold start   process spawn (os.posix_spawn) of the real bootstrap -> the fake receiving its first
               GET /runtime/invocation/next. Includes exec, dynamic loading (libcurl, OpenSSL, libpq,
               MariaDB client...), init, and the fake's own accept/parse latency (Python). Both
               sides read CLOCK_MONOTONIC. For scale, `exec only` is spawn -> exit of
               `bootstrap --version` (loader + libc start-up, no runtime work).
  loop CPU     CPU time (user + system, from wait4's rusage) the runtime process spends per
               invocation with a trivial handler (tests/runtime/echo_bootstrap.c, RT_ECHO_MODE=noop):
               (cpu(M invocations) - cpu(1 invocation)) / (M - 1). Includes libcurl's work for the
               two HTTP exchanges; excludes the fake entirely. This is the honest "overhead" figure.
  turnaround   per invocation, as the fake sees it: its answer to /next sent -> the result's post
               received (the trivial handler, the loop, and one HTTP exchange's client side).
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


def cold_start(client, bootstrap, runs):
    """Returns summaries of spawn -> first /next seen by the fake, and of spawn -> exit of
    `bootstrap --version`."""
    starts, execs = [], []
    devnull = open(os.devnull, "w")
    for _ in range(runs):
        client.reset()
        t0 = time.monotonic()
        pid = spawn(bootstrap, base_env(client.port), stderr=devnull)
        snap = client.wait(next_calls=1, timeout=10, bodies="0")
        starts.append(snap["next_times"][0] - t0)
        os.kill(pid, signal.SIGTERM)
        wait_rusage(pid)
    for _ in range(runs):
        t0 = time.monotonic()
        pid = os.posix_spawn(bootstrap, [bootstrap, "--version"], {},
                             file_actions=[(os.POSIX_SPAWN_DUP2, devnull.fileno(), 1)])
        os.waitpid(pid, 0)
        execs.append(time.monotonic() - t0)
    devnull.close()
    return summary(starts, "ms", 1000.0), summary(execs, "ms", 1000.0)


def run_loop(client, echo, n):
    """Runs n invocations through the noop handler; returns (cpu seconds, wall seconds, turnaround
    seconds per invocation)."""
    client.reset()
    client.enqueue(payload={}, count=n)
    env = base_env(client.port, RT_ECHO_MODE="noop", RT_ECHO_MAX_INVOCATIONS=str(n))
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
    turnaround = [p["time"] - d["time"] for d, p in zip(snap["deliveries"], snap["posts"])]
    return cpu, wall, turnaround


def loop_overhead(client, echo, n):
    cpu1, _, _ = run_loop(client, echo, 1)
    cpun, wall, turnaround = run_loop(client, echo, n)
    return {
        "cpu_us_per_invocation": (cpun - cpu1) / (n - 1) * 1e6,
        "throughput_per_s": (n - 1) / wall if wall > 0 else float("nan"),
        "turnaround_us": summary(turnaround, "us", 1e6),
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
        cold, exec_only = cold_start(client, args.bootstrap, args.runs)
        loop = loop_overhead(client, args.echo, args.invocations)
    finally:
        proc.terminate()
        proc.wait()
    result = {"cold_start_ms": cold, "exec_only_ms": exec_only, **loop}
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print("cold start (spawn -> first GET /next seen by the fake): %s" % fmt(cold))
    print("  exec only (spawn -> exit of bootstrap --version):     %s" % fmt(exec_only))
    print("loop CPU per invocation (trivial handler, rusage):      %.1f us" % loop["cpu_us_per_invocation"])
    print("turnaround (/next answered -> post received):           %s" % fmt(loop["turnaround_us"]))
    print("throughput through the Python fake:                     %.0f invocations/s" % loop["throughput_per_s"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
