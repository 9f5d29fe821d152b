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
import smtest  # noqa: E402

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


def test_hygiene_collection_starts_empty():
    directory = smtest.env("SMR_HYGIENE_DIR")
    for path in glob.glob(os.path.join(directory, "*")):
        os.remove(path)
    os.makedirs(directory, exist_ok=True)


smtest.run(globals())
