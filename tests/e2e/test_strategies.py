"""End-to-end: per-secret settings (smrotate: tags) and the strategies they choose, against every
server of tests/lib/db.py (ctest strategies_<server>_*): the password policy per secret and a bad
tag refused before anything is staged, alternating users over two pre-created users (passwords
only, nothing else about either user changes), single user through the master, password
lifetimes set on the server, and testSecret waiting for a replica to catch up. The step logic
behind each (reruns, refusals, the decision) is asserted in process in
tests/unit/test_rotation_steps.c; the fault matrix kills bootstrap in the middle of each
strategy.
"""
import os
import re
import string
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import cases  # noqa: E402
import rds_cases  # noqa: E402
import smtest  # noqa: E402
from db import SERVERS  # noqa: E402
from smtest import assert_eq, assert_in  # noqa: E402


class TaggedCase(cases.Case):
    """A user's secret under Handler auto with a master on its own server (masterarn), tagged."""

    def __init__(self, db, tags, username=None, env=None):
        self.master_user = cases.unique("master")
        self.master_password = cases.new_password()
        db.create_superuser(self.master_user, self.master_password)
        super().__init__(db, username=username, handler="auto", env=env, create_user=False)
        self.users.append(self.master_user)
        self.seen_passwords.append(self.master_password)
        master = db.secret(self.master_user, self.master_password)
        self.master_arn = self.stack.create_secret("smr/master-" + cases.unique(), master)
        self.secret["masterarn"] = self.master_arn
        self.arn = self.stack.create_secret("smr/" + cases.unique(), self.secret, tags=tags)


def account_state(db, user):
    """Everything about user but its password, as the server reports it."""
    if db.engine == "postgres":
        return db.admin("SELECT rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, "
                        "rolconnlimit, array(SELECT b.rolname FROM pg_auth_members m JOIN "
                        "pg_roles b ON b.oid = m.roleid WHERE m.member = r.oid ORDER BY 1) "
                        "FROM pg_roles r WHERE rolname = %s" % db.literal(user))
    # MariaDB's SHOW GRANTS carries the password hash: everything but it.
    grants = re.sub(r" IDENTIFIED (BY PASSWORD|VIA \S+ USING) '[^']*'", "",
                    db.admin("SHOW GRANTS FOR %s" % db.account(user)))
    return (grants, db.admin("SELECT plugin, ssl_type, max_connections FROM mysql.user WHERE "
                             "User = %s" % db.literal(user)))


def lifetime_days(db, user):
    """The password expiry the server holds for user, in days from now (None: none)."""
    if db.engine == "postgres":
        left = db.admin("SELECT extract(epoch FROM rolvaliduntil - now()) / 86400 FROM pg_roles "
                        "WHERE rolname = %s" % db.literal(user))
        return round(float(left)) if left else None
    if db.engine == "mariadb":  # MariaDB keeps it in mysql.global_priv's JSON
        value = db.admin("SELECT JSON_VALUE(Priv, '$.password_lifetime') FROM mysql.global_priv "
                         "WHERE User = %s" % db.literal(user))
    else:
        value = db.admin("SELECT password_lifetime FROM mysql.user WHERE User = %s"
                         % db.literal(user))
    return int(value) if value not in ("", "NULL") else None


def test_strategies_SERVER_password_policy_from_tags_and_bad_tags_refused(db):
    tags = {"smrotate:password-length": "12", "smrotate:exclude-punctuation": "true",
            "smrotate:strategy": "single-user"}
    with TaggedCase(db, tags, env={"AWS_LAMBDA_LOG_LEVEL": "DEBUG"}) as case:
        db.create_user(case.username, case.password)
        token = case.stack.start_rotation(case.arn)
        case.run(token)
        new = case.current()
        assert_eq(len(new["password"]), 12, "password length from the tag")
        assert not set(new["password"]) & set(string.punctuation), "no punctuation"
        assert_eq(new["username"], case.username, "single user from the tag, though masterarn")
        assert db.can_login(case.username, new["password"]), "the new password logs in"
        assert_in("from the secret's tags: password-length, exclude-punctuation, strategy",
                  case.stack.output())
    with TaggedCase(db, {"smrotate:pasword-length": "12"}) as case:
        db.create_user(case.username, case.password)
        token = case.stack.start_rotation(case.arn)
        payload = case.fails("createSecret", token)
        assert_eq(payload["errorType"], "SecretInvalid", "errorType")
        assert_in("the secret's tag smrotate:pasword-length names no smrotate setting",
                  payload["errorMessage"])
        cases.assert_nothing_staged(case, token)


def test_strategies_SERVER_two_precreated_users_take_turns_by_password_only(db):
    blue, green = cases.unique("blue"), cases.unique("green")
    with TaggedCase(db, {"smrotate:alternating-users": "%s %s" % (blue, green)},
                    username=blue) as case:
        green_pw = cases.new_password()
        db.create_user(blue, case.password)
        db.create_user(green, green_pw)
        case.users += [green, blue + "_clone", green + "_clone"]
        case.seen_passwords.append(green_pw)
        probe = db.create_readable_table(blue)  # blue may read it, green may not
        before = {u: account_state(db, u) for u in (blue, green)}
        for expected in (green, blue):
            token = case.stack.start_rotation(case.arn)
            case.run(token)
            new = case.current()
            case.seen_passwords.append(new["password"])
            assert_eq(new["username"], expected, "the other user is current")
            assert db.can_login(expected, new["password"]), "its new password logs in"
        assert_eq({u: account_state(db, u) for u in (blue, green)}, before,
                  "nothing but passwords changed")
        assert db.can_login(green, case.stack.value(case.arn, "AWSPREVIOUS")["password"]), \
            "the previous user keeps working"
        assert_eq(db.query_as(blue, case.current()["password"], probe), "42", "blue's grants")
        for u in (blue + "_clone", green + "_clone"):
            assert not rds_cases.user_exists(db, u), "no clone"


def test_strategies_SERVER_single_user_via_master(db):
    tags = {"smrotate:strategy": "single-user-via-master"}
    with TaggedCase(db, tags, env={"AWS_LAMBDA_LOG_LEVEL": "DEBUG"}) as case:
        db.create_user(case.username, case.password)
        token = case.stack.start_rotation(case.arn)
        case.run(token)
        new = case.current()
        assert_eq(new["username"], case.username, "one user")
        assert db.can_login(case.username, new["password"]), "the new password logs in"
        assert not db.can_login(case.username, case.password), "the old one is refused"
        # setSecret logs in as the user (the guard) and as the master, which sets the password.
        assert_eq(rds_cases.debug_counts(case.stack.output())["setSecret"][2], 2, "logins")
        assert not rds_cases.user_exists(db, case.username + "_clone"), "no clone"


def test_strategies_SERVER_password_lifetime_is_set_with_each_password(db):
    tags = {"smrotate:strategy": "single-user-via-master",
            "smrotate:password-lifetime-days": "90"}
    with TaggedCase(db, tags) as case:
        db.create_user(case.username, case.password)
        token = case.stack.start_rotation(case.arn, rules={"ScheduleExpression": "rate(60 days)"})
        payload = case.fails("createSecret", token)
        assert_in("the password lifetime (90 days, from the tag smrotate:password-lifetime-days) "
                  "is shorter than twice the secret's rotation interval (60 days)",
                  payload["errorMessage"])
        cases.assert_nothing_staged(case, token)
        # README's way out of an incomplete rotation, then a schedule the lifetime outlasts twice.
        case.stack.sm.call("UpdateSecretVersionStage", {"SecretId": case.arn,
                                                        "VersionStage": "AWSPENDING",
                                                        "RemoveFromVersionId": token})
        token = case.stack.start_rotation(case.arn, rules={"ScheduleExpression": "rate(30 days)"})
        case.run(token)
        assert_eq(lifetime_days(db, case.username), 90, "the password expires in 90 days")
        assert db.can_login(case.username, case.current()["password"])


# What bootstrap logs when testSecret's login at a replica is refused and it waits to try again.
WAITING = "refused the new password; waiting "


def test_strategies_SERVER_test_secret_waits_for_a_replica(db):
    """The user's host is a read replica: the test holds the old password there (as a replica
    that has not replicated yet) and lets the new one arrive while testSecret waits: only once
    bootstrap has logged that its first login was refused and it waits, so the retry is certain
    whatever the timing."""
    with rds_cases.World(db) as world:
        replica, main = world.names.host("pg-replica"), world.names.host("pg-main")
        with rds_cases.RdsCase(world, replica, master_host=main) as case:
            token = case.stack.start_rotation(case.arn)
            case.run(token, ("createSecret", "setSecret"))
            new = case.stack.value(case.arn, "AWSPENDING", token)
            clone = new["username"]
            db.set_password(clone, cases.new_password())  # not replicated yet
            mark = len(case.stack.output())
            done, replicated, failure = threading.Event(), threading.Event(), []

            def replicate():
                """Sets the new password once bootstrap waits after a refused login."""
                try:
                    while not done.wait(0.05):
                        if WAITING in case.stack.output()[mark:]:
                            db.set_password(clone, new["password"])
                            replicated.set()
                            return
                except Exception as e:  # noqa: BLE001 - reported by the test below
                    failure.append(e)

            replicator = threading.Thread(target=replicate)
            replicator.start()
            try:
                case.run(token, ("testSecret", "finishSecret"))
            finally:
                done.set()
                replicator.join()
            if failure:
                raise failure[0]
            assert replicated.is_set(), "testSecret did not wait after a refused login"
            assert_in(WAITING + "500 ms for replication", case.stack.output()[mark:])
            case.assert_rotated_alternating(token)


smtest.run(globals(), SERVERS)
