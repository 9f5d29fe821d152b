"""End-to-end rotation against a real PostgreSQL (cases in tests/e2e/cases.py)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import cases  # noqa: E402
import smtest  # noqa: E402
from db import Postgres  # noqa: E402


def test_rotation_pg_full_rotation_moves_labels_and_password():
    cases.full_rotation(Postgres())


def test_rotation_pg_password_reaches_server_as_scram_verifier():
    db = Postgres()
    with cases.Case(db) as case:
        case.run(case.stack.start_rotation(case.arn))
        verifier = db.admin("SELECT rolpassword FROM pg_authid WHERE rolname = %s"
                            % db.literal(case.username))
        assert verifier.startswith("SCRAM-SHA-256$"), "stored as SCRAM"
        with open(db.env["PG_LOG_FILE"], errors="replace") as f:
            assert case.current()["password"] not in f.read(), "no cleartext in the server log"


def test_rotation_pg_calls_and_logins_per_step_are_minimal():
    # bootstrap's DEBUG line per step counts its own requests and logins: one login for
    # setSecret on the common path, the prologue's DescribeSecret reused by finishSecret.
    import re
    with cases.Case(Postgres(), env={"AWS_LAMBDA_LOG_LEVEL": "DEBUG"}) as case:
        case.run(case.stack.start_rotation(case.arn))
        counts = dict((m.group(1), (int(m.group(2)), int(m.group(3)), int(m.group(4))))
                      for m in re.finditer(r"(\w+Secret): (\d+) Secrets Manager requests, (\d+) RDS "
                                           r"requests, (\d+) database logins", case.stack.output()))
        smtest.assert_eq(counts, {"createSecret": (5, 0, 0), "setSecret": (3, 0, 1),
                                  "testSecret": (2, 0, 1), "finishSecret": (2, 0, 0)},
                         "Secrets Manager requests, RDS requests and logins per step")


def test_rotation_pg_driven_by_the_service_with_rotation_token():
    cases.driven_by_service_with_rotation_token(Postgres())


def test_rotation_pg_every_step_twice_converges():
    cases.every_step_twice(Postgres())


def test_rotation_pg_set_secret_rerun_after_password_changed():
    cases.set_secret_rerun_after_password_changed(Postgres())


def test_rotation_pg_current_wrong_previous_right_recovers():
    cases.current_wrong_previous_right(Postgres())


def test_rotation_pg_no_working_credentials_fails_clearly():
    cases.no_working_credentials(Postgres())


def test_rotation_pg_prologue_errors_use_template_messages():
    cases.prologue_errors(Postgres())


def test_rotation_pg_invalid_current_secret_stages_nothing():
    cases.invalid_current_stages_nothing(Postgres())


def test_rotation_pg_wrong_engine_and_missing_field():
    cases.wrong_engine_and_missing_field(Postgres())


def test_rotation_pg_hostile_username_quotes_spaces_mixed_case():
    cases.hostile_username(Postgres(), "App \"Quoted\" O'Brien; DROP " + os.urandom(3).hex())


def test_rotation_pg_passwords_with_quote_backslash_percent_dollar():
    cases.special_character_passwords(Postgres())


def test_rotation_pg_password_policy_from_env():
    cases.password_policy_from_env(Postgres())


def test_rotation_pg_tls_required_with_test_ca():
    cases.tls_required_with_test_ca(Postgres())


def test_rotation_pg_tls_wrong_ca_fails_without_downgrade():
    cases.tls_wrong_ca_fails_without_downgrade(Postgres())


def test_rotation_pg_unreachable_host_fails_fast_nothing_lost():
    cases.unreachable_host(Postgres())


def test_rotation_pg_extra_json_keys_preserved():
    cases.extra_json_keys_preserved(Postgres())


def test_rotation_pg_rotate_immediately_false_runs_only_test_secret():
    cases.rotate_immediately_false_runs_only_test_secret(Postgres())


def test_rotation_pg_multi_user_alternates_and_keeps_previous_working():
    cases.multi_two_rotations_alternate_and_keep_previous_working(Postgres())


def test_rotation_pg_multi_user_every_step_twice():
    cases.multi_every_step_twice(Postgres())


def test_rotation_pg_multi_user_missing_masterarn():
    cases.multi_missing_masterarn(Postgres())


def test_rotation_pg_multi_user_master_on_another_host():
    cases.multi_master_on_another_host(Postgres())


def test_rotation_pg_multi_user_master_cannot_log_in():
    cases.multi_master_cannot_log_in(Postgres())


def test_rotation_pg_multi_user_username_too_long():
    cases.multi_username_too_long(Postgres())


def test_rotation_pg_multi_user_pending_login_finishes_a_rerun():
    cases.multi_pending_login_finishes_a_rerun(Postgres())


def test_rotation_pg_multi_user_existing_clone_changes_are_warned_first():
    cases.multi_existing_clone_changes_are_warned_first(Postgres(), revokes_grants=False)


def test_rotation_pg_password_encryption_server_lets_the_server_hash():
    # The opt-in for password-check hooks: the server hashes the password it receives, and
    # stores the verifier its own password_encryption says.
    db = Postgres()
    with cases.Case(db, env={"PASSWORD_ENCRYPTION": "server"}) as case:
        case.run(case.stack.start_rotation(case.arn))
        verifier = db.admin("SELECT rolpassword FROM pg_authid WHERE rolname = %s"
                            % db.literal(case.username))
        assert verifier.startswith("SCRAM-SHA-256$"), "hashed by the server as SCRAM"
        assert db.can_login(case.username, case.current()["password"])


smtest.run(globals())
