"""Bad input through the real bootstrap: malformed and oversized events, wrong shapes, broken
secrets, hostile usernames. Each must get a clear error (or a correct rotation), and bootstrap
must keep running: never a crash."""
import json
import os
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import cases  # noqa: E402
import smtest  # noqa: E402
from db import Postgres  # noqa: E402
from smtest import assert_eq, assert_in  # noqa: E402
from stack import Stack  # noqa: E402

TOKEN = "7d3b9f10-2c4e-4a8b-9f6d-5e1a2b3c4d5e"


def expect_error(stack, payload_bytes, error_type, text):
    ok, body = stack.invoke_raw(payload_bytes)
    assert not ok, "accepted: %r" % payload_bytes[:80]
    assert_eq(body["errorType"], error_type, "errorType for %r" % payload_bytes[:60])
    assert_in(text, body["errorMessage"], "message for %r" % payload_bytes[:60])
    assert stack.bootstrap.poll() is None, "bootstrap still running"


def test_bad_input_malformed_events_get_clear_errors():
    event = {"Step": "createSecret", "SecretId": "arn:aws:secretsmanager:us-east-1:1:secret:x",
             "ClientRequestToken": TOKEN}

    def with_(**kw):
        e = dict(event)
        for k, v in kw.items():
            if v is None:
                del e[k]
            else:
                e[k] = v
        return json.dumps(e).encode()

    with Stack() as stack:
        table = [
            (b"", "InvalidEvent", "not valid JSON"),
            (b"{", "InvalidEvent", "not valid JSON"),
            (b"\xff\xfe{}", "InvalidEvent", "not valid JSON"),
            (b"[]", "InvalidEvent", "must be a JSON object"),
            (b"null", "InvalidEvent", "must be a JSON object"),
            (b"{}", "InvalidEvent", "has no Step"),
            (b"{\"Step\":\"createSecret\"} trailing", "InvalidEvent", "not valid JSON"),
            (b"[" * 5000 + b"]" * 5000, "InvalidEvent", "not valid JSON"),
            (with_(Step=None), "InvalidEvent", "has no Step"),
            (with_(Step=7), "InvalidEvent", "Step must be a string"),
            (with_(Step="deleteSecret"), "RotationError", "Invalid step parameter deleteSecret"),
            (with_(Step="create_secret"), "RotationError", "Invalid step parameter create_secret"),
            (with_(SecretId=None), "InvalidEvent", "has no SecretId"),
            (with_(SecretId=""), "InvalidEvent", "SecretId must be 1 to 2048"),
            (with_(SecretId="a" * 3000), "InvalidEvent", "SecretId must be 1 to 2048"),
            (with_(SecretId="arn with spaces"), "InvalidEvent", "SecretId has invalid characters"),
            (with_(SecretId="arn\u0000x"), "InvalidEvent", "U+0000"),
            (with_(SecretId={"a": 1}), "InvalidEvent", "SecretId must be a string"),
            (with_(ClientRequestToken=None), "InvalidEvent", "has no ClientRequestToken"),
            (with_(ClientRequestToken="short"), "InvalidEvent", "must be 32 to 64"),
            (with_(ClientRequestToken="x" * 65), "InvalidEvent", "must be 32 to 64"),
            (with_(ClientRequestToken=TOKEN[:-4] + "\n\r\t\""), "InvalidEvent", "invalid characters"),
            (with_(RotationToken=["x"]), "InvalidEvent", "RotationToken must be a string"),
            (with_(RotationToken="x" * 300), "InvalidEvent", "RotationToken must be 1 to 256"),
            # Oversized but within Lambda's 6 MB: parsed and refused for what it is.
            (with_(Step="x", pad="A" * (5 * 1024 * 1024)), "RotationError", "Invalid step parameter x"),
        ]
        for payload, error_type, text in table:
            expect_error(stack, payload, error_type, text)
        stack.assert_no_secrets([])


def secret_case(stack, value):
    arn = stack.create_secret("bad/" + uuid.uuid4().hex[:8], value)
    token = stack.start_rotation(arn)
    ok, body = stack.invoke("createSecret", arn, token)
    return arn, token, ok, body


def test_bad_input_broken_secrets_fail_create_secret_clearly():
    pg = Postgres()
    base = pg.secret("app", "pw-" + uuid.uuid4().hex)
    table = [
        ("not json at all", "the secret's value is not valid JSON"),
        ("[1, 2]", "must be a JSON object, not array"),
        ("\"just a string\"", "must be a JSON object, not string"),
        ("42", "must be a JSON object, not number"),
        (json.dumps({k: v for k, v in base.items() if k != "username"}), "username key is missing"),
        (json.dumps({k: v for k, v in base.items() if k != "password"}), "password key is missing"),
        (json.dumps(dict(base, username=["app"])), "username in secret JSON must be a string"),
        (json.dumps(dict(base, host=None)), "host in secret JSON must be a string, not a null"),
        (json.dumps(dict(base, port=-1)), "port in secret JSON must be a whole number"),
        (json.dumps(dict(base, port="5432x")), "port in secret JSON must be a whole number"),
        (json.dumps(dict(base, engine=5)), "Database engine must be set to one of"),
        (json.dumps(dict(base, username="adm\u0000in")), "must not contain U+0000"),
        ('{"engine":"postgres","host":"h","username":"a","username":"b","password":"p"}',
         "username appears more than once"),
    ]
    with Stack(env={"SMROTATE_DB_CA_FILE": pg.ca_file}) as stack:
        for value, text in table:
            arn, token, ok, body = secret_case(stack, value)
            assert not ok, "accepted: %s" % value[:60]
            assert_eq(body["errorType"], "SecretInvalid", "errorType for %s" % value[:60])
            assert_in(text, body["errorMessage"], "message")
            assert_eq(stack.stages(arn)[token], ["AWSPENDING"], "nothing staged")
            assert stack.bootstrap.poll() is None, "bootstrap still running"
        stack.assert_no_secrets([base["password"]])


def test_bad_input_64kb_secret_rotates():
    db = Postgres()
    with cases.Case(db) as case:
        # Pad the secret to exactly Secrets Manager's 65,536-byte limit; the new password has the
        # old one's length, so the new version fits too.
        secret = dict(case.secret)
        secret["password"] = "P" * 32
        db.set_password(case.username, secret["password"])
        secret["pad"] = ""
        secret["pad"] = "x" * (65536 - len(json.dumps(secret)))
        text = json.dumps(secret)
        assert_eq(len(text), 65536, "secret size")
        case.stack.sm.call("PutSecretValue", {"SecretId": case.arn, "SecretString": text,
                                              "ClientRequestToken": str(uuid.uuid4())})
        case.seen_passwords.append(secret["password"])
        token = case.stack.start_rotation(case.arn)
        case.run(token)
        new = case.current()
        assert_eq(len(json.dumps(new)), 65536, "the new version keeps the size")
        assert db.can_login(case.username, new["password"])


def test_bad_input_too_long_username_is_refused_clearly():
    # Too long for PostgreSQL: refused clearly before any SQL. (Hostile names that fit are
    # rotated: test_rotation.py's rotation_<server>_hostile_username_and_password.)
    db = Postgres()
    with cases.Case(db, username="u" * 63) as case:
        long_secret = dict(case.secret, username="u" * 300)
        case.stack.sm.call("PutSecretValue", {"SecretId": case.arn, "SecretString": json.dumps(long_secret),
                                              "ClientRequestToken": str(uuid.uuid4())})
        token = case.stack.start_rotation(case.arn)
        case.run(token, ("createSecret",))
        payload = case.fails("setSecret", token)
        assert_in("63", payload["errorMessage"])
        assert case.stack.bootstrap.poll() is None


smtest.run(globals())
