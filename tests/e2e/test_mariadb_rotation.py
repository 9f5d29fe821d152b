"""End-to-end rotation against a real MariaDB (cases in tests/e2e/cases.py)."""
import os
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import cases  # noqa: E402
import smtest  # noqa: E402
from db import MariaDB  # noqa: E402
from smtest import assert_eq, assert_in  # noqa: E402


def test_rotation_mysql_full_rotation_moves_labels_and_password():
    cases.full_rotation(MariaDB())


def test_rotation_mysql_driven_by_the_service_with_rotation_token():
    cases.driven_by_service_with_rotation_token(MariaDB())


def test_rotation_mysql_every_step_twice_converges():
    cases.every_step_twice(MariaDB())


def test_rotation_mysql_set_secret_rerun_after_password_changed():
    cases.set_secret_rerun_after_password_changed(MariaDB())


def test_rotation_mysql_current_wrong_previous_right_recovers():
    cases.current_wrong_previous_right(MariaDB())


def test_rotation_mysql_no_working_credentials_fails_clearly():
    cases.no_working_credentials(MariaDB())


def test_rotation_mysql_prologue_errors_use_template_messages():
    cases.prologue_errors(MariaDB())


def test_rotation_mysql_invalid_current_secret_stages_nothing():
    cases.invalid_current_stages_nothing(MariaDB())


def test_rotation_mysql_wrong_engine_and_missing_field():
    cases.wrong_engine_and_missing_field(MariaDB())


def test_rotation_mysql_hostile_username_quotes_backticks_semicolons():
    cases.hostile_username(MariaDB(), "a'b`c\"d; DROP é " + uuid.uuid4().hex[:4])


def test_rotation_mysql_passwords_with_quote_backslash_percent_dollar():
    cases.special_character_passwords(MariaDB())


def test_rotation_mysql_tls_required_with_test_ca():
    cases.tls_required_with_test_ca(MariaDB())


def test_rotation_mysql_tls_wrong_ca_fails_without_downgrade():
    cases.tls_wrong_ca_fails_without_downgrade(MariaDB())


def test_rotation_mysql_require_ssl_user_rotates_over_tls():
    db = MariaDB()
    with cases.Case(db, user_sql_extra="REQUIRE SSL") as case:
        assert not db.can_login(case.username, case.password), "plaintext refused"
        old = case.current_version()
        token = case.stack.start_rotation(case.arn)
        case.run(token)
        new = case.current()
        assert db.can_login(case.username, new["password"], ssl=True)
        assert not db.can_login(case.username, case.password, ssl=True)
        assert "AWSPREVIOUS" in case.stack.stages(case.arn)[old]


def test_rotation_mysql_unreachable_host_fails_fast_nothing_lost():
    cases.unreachable_host(MariaDB())


def test_rotation_mysql_extra_json_keys_preserved():
    cases.extra_json_keys_preserved(MariaDB())


def test_rotation_mysql_rotate_immediately_false_runs_only_test_secret():
    cases.rotate_immediately_false_runs_only_test_secret(MariaDB())


def test_rotation_mysql_multi_user_alternates_and_keeps_previous_working():
    cases.multi_two_rotations_alternate_and_keep_previous_working(MariaDB())


def test_rotation_mysql_multi_user_every_step_twice():
    cases.multi_every_step_twice(MariaDB())


def test_rotation_mysql_multi_user_missing_masterarn():
    cases.multi_missing_masterarn(MariaDB())


def test_rotation_mysql_multi_user_master_on_another_host():
    cases.multi_master_on_another_host(MariaDB())


def test_rotation_mysql_multi_user_master_cannot_log_in():
    cases.multi_master_cannot_log_in(MariaDB())


def test_rotation_mysql_multi_user_username_too_long():
    cases.multi_username_too_long(MariaDB())


def test_rotation_mysql_multi_user_keeps_grant_option_and_host():
    db = MariaDB()
    user, password, host = cases.unique(), cases.new_password(), "127.0.0.1"
    db.create_user(user, password, host=host)
    db.admin("CREATE DATABASE IF NOT EXISTS smr_e2e")
    db.admin("GRANT SELECT ON smr_e2e.* TO %s WITH GRANT OPTION" % db.account(user, host))
    with cases.MultiCase(db, username=user, password=password, create_user=False) as case:
        token = case.stack.start_rotation(case.arn)
        case.run(token)
        clone = case.current()
        assert_eq(clone["username"], user + "_clone", "clone user")
        grants = db.admin("SHOW GRANTS FOR %s" % db.account(user + "_clone", host))
        assert_in("WITH GRANT OPTION", grants)
        hosts = db.admin("SELECT Host FROM mysql.user WHERE User = %s" % db.literal(user + "_clone"))
        assert_eq(hosts.split(), [host], "the clone lives on the user's real host part")
        assert db.can_login(clone["username"], clone["password"])


def test_rotation_mysql_multi_user_pending_login_finishes_a_rerun():
    cases.multi_pending_login_finishes_a_rerun(MariaDB())


def test_rotation_mysql_multi_user_existing_clone_changes_are_warned_first():
    cases.multi_existing_clone_changes_are_warned_first(MariaDB(), revokes_grants=True)


smtest.run(globals())
