"""Secret hygiene across the whole suite: every end-to-end, fault-matrix and package test leaves,
in SMR_HYGIENE_DIR, everything bootstrap wrote (stdout, stderr) and every body it posted to the
Runtime API, plus every secret the emulator held or saw (stored SecretStrings and their passwords,
RandomPasswords, RotationTokens, the secret access key, the session token, signatures and the
SigV4 signing keys of the day). This test runs after all of them (a ctest fixture cleanup) and
asserts that no secret appears in any output.
"""
import glob
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import emf  # noqa: E402
import smtest  # noqa: E402
from smtest import assert_eq  # noqa: E402

# At least one test that collects ran before this one (ctest runs a fixture's cleanup only then):
# nothing collected means the collection broke, and an empty scan would prove nothing.
MIN_RECORDS = 1


def test_hygiene_no_secret_in_any_output():
    directory = smtest.env("SMR_HYGIENE_DIR")
    outputs = sorted(glob.glob(os.path.join(directory, "*.output")))
    material = set()
    for path in glob.glob(os.path.join(directory, "*.material.json")):
        with open(path) as f:
            material.update(m for m in json.load(f) if len(m) >= 8)
    if len(outputs) < MIN_RECORDS or len(material) < MIN_RECORDS:
        raise AssertionError("only %d outputs and %d secrets collected in %s"
                             % (len(outputs), len(material), directory))
    leaks = []
    scanned = 0
    for path in outputs:
        with open(path, errors="replace") as f:
            text = f.read()
        scanned += len(text)
        for secret in material:
            if secret in text:
                leaks.append(os.path.basename(path))
                break
    print("hygiene: %d outputs (%d bytes) scanned for %d secrets: %d with a secret"
          % (len(outputs), scanned, len(material), len(leaks)))
    if leaks:
        raise AssertionError("a secret appears in: %s (files kept in %s)" % (", ".join(leaks[:10]), directory))


def test_hygiene_every_metrics_object_follows_emf():
    """Every metrics object bootstrap wrote follows the EMF specification (at least one was
    written: each invocation writes one)."""
    seen = {"Succeeded": 0, "Failed": 0, "RotationsCompleted": 0}
    count = 0
    for path in sorted(glob.glob(os.path.join(smtest.env("SMR_HYGIENE_DIR"), "*.output"))):
        with open(path, errors="replace") as f:
            for line in f:
                if not line.startswith("{") or '"_aws"' not in line:
                    continue
                obj = json.loads(line)
                try:
                    emf.validate(obj)
                except AssertionError as e:
                    raise AssertionError("%s in %s: %s" % (e, os.path.basename(path), line[:300]))
                assert_eq(obj["_aws"]["CloudWatchMetrics"][0]["Namespace"], "smrotate", "namespace")
                for key in seen:
                    seen[key] += obj[key]
                count += 1
    print("hygiene: %d metrics objects, %r" % (count, seen))
    if count < MIN_RECORDS:
        raise AssertionError("no metrics object in the outputs collected")


def test_hygiene_emf_validator_rejects_broken_objects():
    good = {"_aws": {"Timestamp": 1, "CloudWatchMetrics": [
        {"Namespace": "n", "Dimensions": [["Step"]], "Metrics": [{"Name": "M", "Unit": "Count"}]}]},
        "Step": "s", "M": 1}
    emf.validate(good)
    for broken in ({"Step": 7}, {"Step": ""}, {"M": "1"}, {"M": True}):
        obj = json.loads(json.dumps(good))
        obj.update(broken)
        try:
            emf.validate(obj)
        except AssertionError:
            continue
        raise AssertionError("accepted %r" % broken)


def test_hygiene_collection_starts_empty():
    directory = smtest.env("SMR_HYGIENE_DIR")
    for path in glob.glob(os.path.join(directory, "*")):
        os.remove(path)
    os.makedirs(directory, exist_ok=True)


smtest.run(globals())
