#!/usr/bin/python3
"""Writes the seed corpora of the fuzz targets into tests/fuzz/corpus/<target>/.

Seeds come from tests/data (rotation events, the SecretStrings of GetSecretValue responses,
error bodies with their status, the SigV4 suite's .req files) plus hand-written edge cases:
deep nesting, \\u0000, duplicate keys, huge numbers, invalid UTF-8, and the dialect's examples.
Run it again after adding data; it only (re)writes files named seed-*, so regression inputs
kept beside them (crash-*, any other name) stay. Standard library only.
"""
import json
import os
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
DATA = HERE.parent / "data"
SM = DATA / "secretsmanager"


def write(target, name, content):
    d = HERE / "corpus" / target
    d.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode("utf-8", "surrogatepass")
    (d / ("seed-" + name)).write_bytes(content)


def clean(target):
    d = HERE / "corpus" / target
    if d.is_dir():
        for f in d.glob("seed-*"):
            f.unlink()


def deep(n, open_, close):
    return open_ * n + close * n


TOKEN = "7d3b9f10-2c4e-4a8b-9f6d-5e1a2b3c4d5e"
ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/app/db-AbCdEf"


def events():
    clean("event")
    for f in sorted((SM / "events").glob("*.json")):
        write("event", f.stem, f.read_bytes())
    base = {"Step": "setSecret", "SecretId": ARN, "ClientRequestToken": TOKEN}
    cases = {
        "dup-step": '{"Step":"createSecret","Step":"finishSecret","SecretId":"%s",'
                    '"ClientRequestToken":"%s"}' % (ARN, TOKEN),
        "nul-in-step": '{"Step":"create\\u0000Secret","SecretId":"%s","ClientRequestToken":"%s"}'
                       % (ARN, TOKEN),
        "nul-in-id": '{"Step":"testSecret","SecretId":"a\\u0000b","ClientRequestToken":"%s"}'
                     % TOKEN,
        "numbers": '{"Step":1e999,"SecretId":-0,"ClientRequestToken":123456789012345678901234567890}',
        "null-fields": '{"Step":"testSecret","SecretId":"x","ClientRequestToken":"%s",'
                       '"RotationToken":null}' % TOKEN,
        "empty-rotation-token": json.dumps(dict(base, RotationToken="")),
        "long-token": json.dumps(dict(base, ClientRequestToken="t" * 65)),
        "short-token": json.dumps(dict(base, ClientRequestToken="t" * 31)),
        "long-id": json.dumps(dict(base, SecretId="s" * 2049)),
        "space-in-id": json.dumps(dict(base, SecretId="a b")),
        "unicode-step": '{"Step":"cr\\u00e9ateSecret\\ud83d\\ude00","SecretId":"x",'
                        '"ClientRequestToken":"%s"}' % TOKEN,
        "lone-surrogate": '{"Step":"\\ud800","SecretId":"x","ClientRequestToken":"%s"}' % TOKEN,
        "array": '[{"Step":"createSecret"}]',
        "deep-array": deep(2000, "[", "]"),
        "deep-object": '{"a":' * 1100 + "1" + "}" * 1100,
        "trailing": json.dumps(base) + " x",
        "trailing-nul": json.dumps(base) + "\0",
        "escaped-keys": '{"\\u0053tep":"setSecret","SecretId":"%s","ClientRequestToken":"%s"}'
                        % (ARN, TOKEN),
        "whitespace": "\t\r\n " + json.dumps(base, indent=4) + "\n\n",
        "empty": "",
        "bare-string": '"createSecret"',
        # The operator's check event, and its near misses.
        "check": json.dumps({"Action": "check", "SecretId": ARN}),
        "check-name": json.dumps({"Action": "check", "SecretId": "prod/app/db"}),
        "check-unknown-action": json.dumps({"Action": "rotate", "SecretId": ARN}),
        "check-with-step": json.dumps(dict(base, Action="check")),
        "check-dup-action": '{"Action":"check","Action":"check","SecretId":"%s"}' % ARN,
        "check-null-action": json.dumps({"Action": None, "SecretId": ARN}),
        "check-quotes-in-id": json.dumps({"Action": "check", "SecretId": 'a"b\\c<>&\'x'}),
    }
    for name, text in cases.items():
        write("event", name, text)
    write("event", "invalid-utf8", b'{"Step":"\xff\xfe","SecretId":"\xc3(","ClientRequestToken":"'
          + TOKEN.encode() + b'"}')


def secrets():
    clean("secret")
    n = 0
    for f in sorted((SM / "responses").glob("GetSecretValue*.json")):
        doc = json.loads(f.read_text())
        if "SecretString" in doc:
            write("secret", f.stem, doc["SecretString"])
            n += 1
    for f in sorted((SM / "requests").glob("PutSecretValue*.json")):
        doc = json.loads(f.read_text())
        if "SecretString" in doc:
            write("secret", f.stem, doc["SecretString"])
    ok = '{"engine":"postgres","host":"db.internal","username":"app","password":"pw"}'
    cases = {
        "minimal": ok,
        "mysql-all-fields": '{"engine":"mysql","host":"h","port":"3306","username":"u",'
                            '"password":"p","dbname":"d","ssl":true,"masterarn":"arn:x",'
                            '"extra":{"nested":[1,2.5e10,{"password":"inner"}]}}',
        "mariadb-ssl-string": '{"engine":"mariadb","host":"h","username":"u","password":"p",'
                              '"ssl":"FALSE","port":3307.0}',
        "aurora": '{"engine":"aurora-postgresql","host":"h","username":"u","password":"p",'
                  '"ssl":"true"}',
        "key-order-and-spacing": '{ "password" : "p\\"w" ,\n\t"username":"u", "extra" : '
                                 '[ "}" , "\\\\" ],"host":"h","engine":"postgres" }',
        "escapes-everywhere": '{"engine":"postgres","host":"h\\u00e9","username":"\\u0075",'
                              '"pass\\u0077ord":"\\ud83d\\ude00\\/\\b\\f\\n\\r\\t","x":"\\u00e9"}',
        "dup-password": '{"engine":"postgres","host":"h","username":"u","password":"a",'
                        '"password":"b"}',
        "dup-escaped-password": '{"engine":"postgres","host":"h","username":"u","password":"a",'
                                '"pass\\u0077ord":"b"}',
        "dup-unknown-key": '{"engine":"postgres","host":"h","username":"u","password":"a",'
                           '"x":1,"x":2}',
        "nul-in-password": '{"engine":"postgres","host":"h","username":"u","password":"a\\u0000b"}',
        "nul-in-other": '{"engine":"postgres","host":"h","username":"u","password":"a",'
                        '"note":"a\\u0000b"}',
        "raw-nul": b'{"engine":"postgres","host":"h","username":"u","password":"a\x00b"}',
        "huge-port": '{"engine":"postgres","host":"h","username":"u","password":"p","port":1e309}',
        "port-fraction": '{"engine":"postgres","host":"h","username":"u","password":"p",'
                         '"port":5432.5}',
        "port-negative-string": '{"engine":"postgres","host":"h","username":"u","password":"p",'
                                '"port":"-1"}',
        "port-65536": '{"engine":"postgres","host":"h","username":"u","password":"p",'
                      '"port":"65536"}',
        "port-big-number": '{"engine":"postgres","host":"h","username":"u","password":"p",'
                           '"port":123456789012345678901234567890}',
        "wrong-types": '{"engine":"postgres","host":1,"username":[],"password":{}}',
        "unknown-engine": '{"engine":"oracle\\u0007","host":"h","username":"u","password":"p"}',
        "empty-password": '{"engine":"postgres","host":"h","username":"u","password":""}',
        "deep-extra": '{"engine":"postgres","host":"h","username":"u","password":"p","x":'
                      + deep(900, "[", "]") + "}",
        "too-deep": '{"engine":"postgres","host":"h","username":"u","password":"p","x":'
                    + deep(1100, "[", "]") + "}",
        "bare-credentials": '{"username":"admin","password":"pw"}',
        "trailing-garbage": ok + "}",
        "trailing-whitespace": ok + " \n\t",
        "top-level-array": "[" + ok + "]",
        "unterminated": ok[:-3],
        "empty-object": "{}",
        "string-with-brackets": '{"engine":"postgres","host":"}{][","username":"u",'
                                '"password":"\\"}"}',
    }
    for name, text in cases.items():
        write("secret", name, text)
    write("secret", "invalid-utf8", b'{"engine":"postgres","host":"\xc0\xaf","username":"\xed\xa0'
          b'\x80","password":"\xff","x":"\xf4\x90\x80\x80"}')
    if n == 0:
        sys.exit("no SecretString found under tests/data/secretsmanager/responses")


def aws_errors():
    clean("aws_error")
    index = json.loads((SM / "errors" / "index.json").read_text())
    for e in index["errors"]:
        body = (SM / "errors" / e["file"]).read_bytes()
        write("aws_error", pathlib.Path(e["file"]).stem, str(e["http_status"]).encode() + b"\n" + body)
    cases = {
        "header-only-500": b"500 ThrottlingException:http://internal.amazon.com/\n",
        "header-with-namespace": b"400 com.amazon#AccessDeniedException\n{}",
        "header-and-body-type": b'400 HeaderType\n{"__type":"BodyType","Message":"m"}',
        "html-503": b"503\n<html><body>Service Unavailable</body></html>",
        "empty-429": b"429\n",
        "no-status": b"\n{\"__type\":\"X\"}",
        "control-chars": b'400\n{"__type":"A\\u0001B","message":"line1\\nline2\\t\\u001b[31m"}',
        "type-not-string": b'400\n{"__type":123,"message":["x"]}',
        "long-message": b'400\n{"__type":"ValidationException","message":"' + b"x" * 3000 + b'"}',
        "long-type": b'400\n{"__type":"' + b"A" * 300 + b'"}',
        "many-hashes": b'400\n{"__type":"a#b#c#:d:e#f"}',
        "invalid-utf8": b'400\n{"__type":"\xff","message":"\xc3\x28"}',
        "deep": b"400\n" + deep(2000, "[", "]").encode(),
        "status-999": b"999\n{}",
    }
    for name, body in cases.items():
        write("aws_error", name, body)


def sigv4():
    clean("sigv4")
    for d in (DATA / "sigv4", DATA / "sigv4-secretsmanager"):
        for f in sorted(d.rglob("*.req")):
            write("sigv4", f.stem, f.read_bytes())
    cases = {
        "dot-segments": "GET /a/./b/../../../c//d/ HTTP/1.1\nHost:h\n\n",
        "percent-path": "GET /%2E%2e/%zz/%/%4 HTTP/1.1\nHost:h\n\n",
        "query-mess": "GET /?&&=&a=%3d%3D&a&A=1&%ff=%GG&b=%2 HTTP/1.1\nHost:h\n\n",
        "headers-odd": "POST / HTTP/1.1\nHost:h\nX-A:  a \t b  \nx-a:second\nX-Amz-Date:20150830T"
                       "123600Z\nX-Amz-Security-Token:tok\n\nbody\n",
        "folded": "GET / HTTP/1.1\nHost:h\nMy-Header:\n  value\n\tmore\n\n",
        "bad-header-name": "GET / HTTP/1.1\nBad Name:x\n\n",
        "empty-header-name": "GET / HTTP/1.1\n:x\n\n",
        "bad-method": "G(T / HTTP/1.1\nHost:h\n\n",
        "space-in-path": "GET /a b/c HTTP/1.1\nHost:h\n\n",
        "binary": b"GET /\xff\x00/\x80?\x00=\x01 HTTP/1.1\nHost:\x00h\x7f\n\n\x00\x01\x02",
        "utf8": "GET /\u00e9/\u20ac?\u00e9=\U0001F600 HTTP/1.1\nHost:h\n\n",
        "many-headers": "GET / HTTP/1.1\n" + "".join("H%d:v\n" % (i % 7) for i in range(60)) + "\n",
    }
    for name, text in cases.items():
        write("sigv4", name, text)


def lambda_next():
    clean("lambda_next")
    ok = ("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
          "Lambda-Runtime-Aws-Request-Id: 8476a536-e9f4-11e8-9739-2dfe598c3fcd\r\n"
          "Lambda-Runtime-Deadline-Ms: 1542409706888\r\n"
          "Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-2:123456789012:function:f\r\n"
          "Lambda-Runtime-Trace-Id: Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419"
          ";Sampled=1\r\nLambda-Runtime-Invocation-Id: inv-1\r\nContent-Length: 2\r\n\r\n")
    for f in sorted((SM / "events").glob("*.json")):
        write("lambda_next", f.stem, ok.encode() + f.read_bytes())
    cases = {
        "continue-then-200": "HTTP/1.1 100 Continue\r\nX-Early: 1\r\n" + ok + "{}",
        "no-request-id": "HTTP/1.1 200 OK\r\nLambda-Runtime-Deadline-Ms: 1\r\n\r\n{}",
        "bad-request-id": "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: ../../x?y\r\n\r\n{}",
        "long-request-id": "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: " + "a" * 300
                           + "\r\n\r\n{}",
        "dup-headers": "HTTP/1.1 200 OK\r\nlambda-runtime-aws-request-id: a\r\n"
                       "LAMBDA-RUNTIME-AWS-REQUEST-ID: b\r\n\r\n",
        "deadline-odd": "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: a\r\n"
                        "Lambda-Runtime-Deadline-Ms: 9999999999999999999\r\n\r\n",
        "deadline-signed": "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: a\r\n"
                           "Lambda-Runtime-Deadline-Ms: -5\r\n\r\n",
        "value-whitespace": "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id:\t a \t\r\n"
                            "Lambda-Runtime-Invocation-Id:   \r\n\r\n",
        "no-colon": "HTTP/1.1 200 OK\r\nGarbage line\r\n: empty name\r\n\r\n",
        "lf-only": "HTTP/1.1 200 OK\nLambda-Runtime-Aws-Request-Id: a\n\n{}",
        "bad-utf8-body": b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: a\r\n\r\n"
                         b"\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80\xe2\x82\xff\x80",
        "nul-in-header": b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: a\x00b\r\n"
                         b"x\x00y: z\r\n\r\n",
        "invocation-id-ctl": "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: a\r\n"
                             "Lambda-Runtime-Invocation-Id: a\x01b\r\n\r\n",
    }
    for name, text in cases.items():
        write("lambda_next", name, text)


def mysql():
    clean("mysql_version")
    for v in ["8.0.35", "5.7.44-log", "8.4.3", "9.1.0", "10.11.6-MariaDB-0+deb12u1",
              "5.5.5-10.6.12-MariaDB-log", "8.0.mysql_aurora.3.05.2", "5.7.mysql_aurora.2.11.2",
              "5.6.mysql_aurora.1.22.2", "11.4.2-MariaDB", "5.5.68-MariaDB", "10.0.0", "5.7.5",
              "5.7.6", "", "8", "8.", ".8", "8.0.", "1234567.0", "999999.999999.999999",
              "5.5.5-", "5.5.5-MariaDB", "8.0.35-mysql_aurora-MariaDB"]:
        write("mysql_version", v.replace("/", "_") or "empty", v)
    clean("mysql_grants")
    seeds = {
        "mysql57": ["GRANT USAGE ON *.* TO 'app'@'10.0.%'",
                    "GRANT SELECT, INSERT ON `shop`.* TO 'app'@'10.0.%' WITH GRANT OPTION"],
        "mysql8": ["GRANT SELECT, INSERT, UPDATE ON `db1`.* TO `app`@`10.0.%`",
                   "GRANT BACKUP_ADMIN,BINLOG_ADMIN ON *.* TO `app`@`10.0.%` WITH GRANT OPTION",
                   "GRANT EXECUTE ON PROCEDURE `db1`.`p``1` TO `app`@`10.0.%`",
                   "GRANT SELECT (`col1`), INSERT (`col1`, `c 2`) ON `db1`.`t` TO `app`@`10.0.%`",
                   "GRANT PROXY ON ''@'' TO `app`@`10.0.%` WITH GRANT OPTION"],
        "roles": ["GRANT USAGE ON *.* TO `app`@`10.0.%`", "GRANT `r1`@`%`,`r2`@`%` TO `app`@`10.0.%`",
                  "GRANT `admin_r`@`%` TO `app`@`10.0.%` WITH ADMIN OPTION",
                  "GRANT SELECT ON `db`.* TO `app`@`10.0.%`"],
        "mariadb-weird": ["GRANT `ro'le` TO `we'ird``na me;x`@`127.0.0.1` WITH ADMIN OPTION",
                          "GRANT RELOAD ON *.* TO `we'ird``na me;x`@`127.0.0.1` IDENTIFIED BY "
                          "PASSWORD '*66F936ECC01641848C0263A8BAE23670D420FB87' REQUIRE ISSUER "
                          "'/CN=ca' SUBJECT '/CN=a''b' CIPHER 'AES' WITH MAX_USER_CONNECTIONS 5",
                          "GRANT SELECT, INSERT ON `d``b`.* TO `we'ird``na me;x`@`127.0.0.1` WITH "
                          "GRANT OPTION",
                          "GRANT UPDATE (`c``1`, `a`) ON `d``b`.`t` TO `we'ird``na me;x`@`127.0.0.1`",
                          "SET DEFAULT ROLE `ro'le` FOR `we'ird``na me;x`@`127.0.0.1`"],
        "quotes": ["GRANT SELECT ON \"d`b\".* TO \"we'ird`na me;x\"@\"127.0.0.1\" WITH GRANT OPTION",
                   "GRANT USAGE ON *.* TO 'o\\'brien'@'%'", "GRANT USAGE ON *.* TO 'o''brien'@'%'"],
        "partial-revoke": ["REVOKE INSERT, UPDATE, DELETE ON `mysql`.* FROM `app`@`10.0.%`",
                           "GRANT SELECT, INSERT, UPDATE, DELETE ON *.* TO `app`@`10.0.%`"],
    }
    alts = {
        "roles": ["GRANT USAGE ON *.* TO `app_clone`@`10.0.%`",
                  "GRANT SELECT, INSERT, DELETE ON `db`.* TO `app_clone`@`10.0.%` WITH GRANT OPTION",
                  "GRANT SELECT ON `other`.* TO `app_clone`@`10.0.%`",
                  "GRANT `r1`@`%`,`r2`@`%` TO `app_clone`@`10.0.%`"],
        "mysql8": ["GRANT ALL PRIVILEGES ON `db1`.* TO `app_clone`@`10.0.%`",
                   "GRANT SELECT (`x`), UPDATE (`a`, `b`) ON `d`.`t` TO `app_clone`@`10.0.%`",
                   "REVOKE SELECT ON `mysql`.* FROM `app_clone`@`10.0.%`",
                   "SET DEFAULT ROLE `r` FOR `app_clone`@`10.0.%`"],
    }
    for name, lines in seeds.items():
        text = "\n".join(lines)
        if name in alts:
            text += "\n--\n" + "\n".join(alts[name])
        write("mysql_grants", name, text)
    bad = ["CREATE USER 'a'@'%' IDENTIFIED BY PASSWORD '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19'",
           "GRANT SELECT ON `db`.* TO", "GRANT SELECT ON `db TO `a`@`%`", "GRANT TO `a`@`%`",
           "GRANT SELECT ON TO `a`@`%`", "GRANT SELECT (a ON `db`.* TO `a`@`%`",
           "REVOKE `r` FROM `a`", "GRANT SELECT ON a.b TO x@y)(", "GRANT ALL ON *.* TO @",
           "GRANT SELECT ON `db`.* TO `a`@`%` WITH GRANT OPTION GRANT OPTION",
           "SET DEFAULT ROLE ALL FOR `a`"]
    write("mysql_grants", "bad-lines", "\n".join(bad))


def main():
    events()
    secrets()
    aws_errors()
    sigv4()
    lambda_next()
    mysql()


if __name__ == "__main__":
    main()
