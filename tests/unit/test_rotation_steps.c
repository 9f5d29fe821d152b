/*
 * The rotation steps (rotators/rotation.c) in process, against the fake Secrets Manager
 * (fakes/fake_secrets.c) and the in-memory fake engine: staging labels, idempotency, guards and
 * the alternating-users flow, with no server and no network. The client's own behaviour
 * (signing, retries, error shapes) is tested against the emulator in test_secretsmanager.c; the
 * end-to-end tests (tests/e2e/test_rotation.py) run a few smoke cases through bootstrap against
 * real PostgreSQL, MariaDB and MySQL servers; the scenarios asserted here are not repeated there.
 */
#include "buf.h"
#include "clock.h"
#include "config.h"
#include "fake_engine.h"
#include "fake_rds.h"
#include "fake_secrets.h"
#include "harness.h"
#include "master.h"
#include "mem.h"
#include "rotation.h"
#include "secretsmanager.h"

#include <cjson/cJSON.h>
#include <stdlib.h>

#define TOKEN "7d3b9f10-2c4e-4a8b-9f6d-5e1a2b3c4d5e"
#define TOKEN2 "8e4c0a21-3d5f-4b9c-8a7e-6f2b3c4d5e6f"
#define INITIAL_PW "initial-Password-1"
#define FIRST FAKE_SECRETS_FIRST_VERSION

struct fixture {
    struct rot_config rcfg;
    struct rot_context ctx;
    const char *arn;
};

static void setup(struct fixture *f, const char *handler) {
    struct sm_err err;
    memset(f, 0, sizeof(*f));
    fake_db_reset();
    fake_secrets_reset();
    fake_rds_reset();
    SM_ASSERT_OK(rot_config_from_env(handler, &f->rcfg, &err), err);
    f->ctx = (struct rot_context){.secrets = {&fake_secrets_ops, NULL},
                                  .rds = {&fake_rds_ops, NULL},
                                  .engines = fake_registry,
                                  .config = &f->rcfg};
}

static void teardown(struct fixture *f) {
    rot_config_clean_up(&f->rcfg);
    fake_secrets_reset();
    SM_ASSERT_INT_EQ(fake_db.open_conns, 0);
}

/* Creates the secret {engine fake, host db, username user, password INITIAL_PW, <extra>}; extra is
 * a JSON fragment starting with a comma, or "". */
static void create(struct fixture *f, const char *user, const char *extra) {
    char secret[2048];
    snprintf(secret, sizeof(secret),
             "{\"engine\":\"fake\",\"host\":\"db\",\"username\":\"%s\",\"password\":\"" INITIAL_PW
             "\"%s}",
             user, extra);
    f->arn = fake_secrets_create("app/db", secret);
}

static int step(struct fixture *f, enum rot_step s, const char *token, struct sm_err *err) {
    struct rot_event ev = {.step = s, .secret_id = (char *)f->arn, .token = (char *)token};
    return rot_run_step(&f->ctx, &ev, sm_now_ms() + 30000, err);
}

static void step_ok(struct fixture *f, enum rot_step s, const char *token) {
    struct sm_err err;
    SM_ASSERT_OK(step(f, s, token, &err), err);
}

static void all_steps(struct fixture *f, const char *token) {
    for (int s = ROT_STEP_CREATE; s <= ROT_STEP_FINISH; s++) {
        step_ok(f, (enum rot_step)s, token);
    }
}

/* Reads a stage's field into out ("" when the version has no value). */
static void field(struct fixture *f, const char *version_id, const char *stage, const char *key,
                  char *out, size_t cap) {
    out[0] = '\0';
    const char *value = fake_secrets_value(f->arn, version_id, stage);
    cJSON *j = value != NULL ? cJSON_Parse(value) : NULL;
    const cJSON *item = cJSON_GetObjectItem(j, key);
    if (cJSON_IsString(item)) {
        snprintf(out, cap, "%s", item->valuestring);
    }
    cJSON_Delete(j);
}

static bool has_stage(struct fixture *f, const char *version_id, const char *stage) {
    return fake_secrets_has_stage(f->arn, version_id, stage);
}

SM_TEST(rotation_steps_single_user_full_rotation) {
    struct fixture f;
    setup(&f, "single-user");
    fake_db_set_user("app", INITIAL_PW);
    create(&f, "app", ",\"port\":5432,\"extra\":{\"k\":[1,2]}");
    fake_secrets_rotate(f.arn, TOKEN);
    all_steps(&f, TOKEN);
    SM_ASSERT(has_stage(&f, TOKEN, "AWSCURRENT"));
    SM_ASSERT(has_stage(&f, FIRST, "AWSPREVIOUS"));
    char pw[256];
    field(&f, NULL, "AWSCURRENT", "password", pw, sizeof(pw));
    SM_ASSERT(strcmp(pw, INITIAL_PW) != 0);
    SM_ASSERT_SECRET_EQ(fake_db_password("app"), pw);
    SM_ASSERT_INT_EQ(strlen(pw), 32);
    /* The default policy for this engine excludes its characters. */
    SM_ASSERT(strpbrk(pw, ":/@\"'\\") == NULL);
    teardown(&f);
}

SM_TEST(rotation_steps_every_step_twice_converges) {
    struct fixture f;
    setup(&f, NULL);
    fake_db_set_user("app", INITIAL_PW);
    create(&f, "app", "");
    fake_secrets_rotate(f.arn, TOKEN);
    char first[256], second[256];
    step_ok(&f, ROT_STEP_CREATE, TOKEN);
    field(&f, TOKEN, "AWSPENDING", "password", first, sizeof(first));
    step_ok(&f, ROT_STEP_CREATE, TOKEN);
    field(&f, TOKEN, "AWSPENDING", "password", second, sizeof(second));
    SM_ASSERT_SECRET_EQ(second, first);
    step_ok(&f, ROT_STEP_SET, TOKEN);
    step_ok(&f, ROT_STEP_SET, TOKEN); /* current refused now, pending works: already set */
    SM_ASSERT_INT_EQ(fake_db.password_sets, 1);
    step_ok(&f, ROT_STEP_TEST, TOKEN);
    step_ok(&f, ROT_STEP_TEST, TOKEN);
    step_ok(&f, ROT_STEP_FINISH, TOKEN);
    step_ok(&f, ROT_STEP_FINISH, TOKEN); /* token is AWSCURRENT: success */
    SM_ASSERT_SECRET_EQ(fake_db_password("app"), first);
    teardown(&f);
}

SM_TEST(rotation_steps_set_secret_uses_one_login_on_the_common_path) {
    struct fixture f;
    setup(&f, NULL);
    fake_db_set_user("app", INITIAL_PW);
    create(&f, "app", "");
    fake_secrets_rotate(f.arn, TOKEN);
    step_ok(&f, ROT_STEP_CREATE, TOKEN);
    int before = fake_db.connects;
    step_ok(&f, ROT_STEP_SET, TOKEN);
    SM_ASSERT_INT_EQ(fake_db.connects - before, 1);
    SM_ASSERT_INT_EQ(fake_secrets_calls("GetSecretValue"), 4); /* create 2, set 2 */
    teardown(&f);
}

SM_TEST(rotation_steps_create_secret_rejects_invalid_current_and_stages_nothing) {
    struct fixture f;
    setup(&f, NULL);
    create(&f, "app", ",\"port\":\"abc\"");
    fake_secrets_rotate(f.arn, TOKEN);
    struct sm_err err;
    SM_ASSERT_INT_EQ(step(&f, ROT_STEP_CREATE, TOKEN, &err), -1);
    SM_ASSERT_CODE_EQ(err.code, ROT_ERR_SECRET_INVALID);
    SM_ASSERT_STR_CONTAINS(err.msg, "AWSCURRENT version of secret");
    SM_ASSERT_STR_CONTAINS(err.msg, "port in secret JSON must be a whole number");
    SM_ASSERT_INT_EQ(fake_secrets_calls("PutSecretValue"), 0);
    SM_ASSERT_INT_EQ(fake_secrets_calls("GetRandomPassword"), 0);
    teardown(&f);
}

SM_TEST(rotation_steps_prologue_guards) {
    struct fixture f;
    setup(&f, NULL);
    fake_db_set_user("app", INITIAL_PW);
    create(&f, "app", "");
    struct sm_err err;
    /* No rotation started: the token is unknown. */
    SM_ASSERT_INT_EQ(step(&f, ROT_STEP_CREATE, TOKEN, &err), -1);
    SM_ASSERT_CODE_EQ(err.code, ROT_ERR_ROTATION);
    SM_ASSERT_STR_CONTAINS(err.msg, "Secret version " TOKEN " has no stage for rotation of secret");
    /* The current version itself: nothing to do, for every step. */
    for (int s = ROT_STEP_CREATE; s <= ROT_STEP_FINISH; s++) {
        step_ok(&f, (enum rot_step)s, FIRST);
    }
    fake_secrets_rotate(f.arn, TOKEN);
    all_steps(&f, TOKEN);
    /* The old version now only holds AWSPREVIOUS. */
    SM_ASSERT_INT_EQ(step(&f, ROT_STEP_SET, FIRST, &err), -1);
    SM_ASSERT_STR_CONTAINS(err.msg, "not set as AWSPENDING for rotation of secret");
    /* Rotation switched off. */
    fake_secrets_cancel_rotation(f.arn);
    SM_ASSERT_INT_EQ(step(&f, ROT_STEP_SET, TOKEN2, &err), -1);
    SM_ASSERT_STR_CONTAINS(err.msg, "is not enabled for rotation");
    teardown(&f);
}

SM_TEST(rotation_steps_unreachable_database_changes_nothing) {
    struct fixture f;
    setup(&f, NULL);
    fake_db_set_user("app", INITIAL_PW);
    create(&f, "app", "");
    fake_secrets_rotate(f.arn, TOKEN);
    step_ok(&f, ROT_STEP_CREATE, TOKEN);
    fake_db.unreachable = true;
    struct sm_err err;
    SM_ASSERT_INT_EQ(step(&f, ROT_STEP_SET, TOKEN, &err), -1);
    SM_ASSERT_CODE_EQ(err.code, ROT_ERR_DB_UNREACHABLE);
    SM_ASSERT_INT_EQ(fake_db.connects, 1); /* no pointless pending/previous attempts */
    SM_ASSERT_INT_EQ(step(&f, ROT_STEP_TEST, TOKEN, &err), -1);
    SM_ASSERT_CODE_EQ(err.code, ROT_ERR_DB_UNREACHABLE);
    SM_ASSERT_SECRET_EQ(fake_db_password("app"), INITIAL_PW);
    /* The database comes back; Secrets Manager retries the rotation; it converges. */
    fake_db.unreachable = false;
    all_steps(&f, TOKEN);
    SM_ASSERT(has_stage(&f, TOKEN, "AWSCURRENT"));
    teardown(&f);
}

SM_TEST(rotation_steps_current_wrong_previous_right_recovers) {
    struct fixture f;
    setup(&f, NULL);
    fake_db_set_user("app", INITIAL_PW);
    create(&f, "app", "");
    /* A hand-made new current with a wrong password; AWSPREVIOUS keeps the working one. */
    fake_secrets_put(
        f.arn, "00000000-0000-4000-8000-000000000002", NULL,
        "{\"engine\":\"fake\",\"host\":\"db\",\"username\":\"app\",\"password\":\"wrong\"}");
    fake_secrets_rotate(f.arn, TOKEN);
    all_steps(&f, TOKEN);
    char pw[256];
    field(&f, NULL, "AWSCURRENT", "password", pw, sizeof(pw));
    SM_ASSERT_SECRET_EQ(fake_db_password("app"), pw);
    teardown(&f);
}

SM_TEST(rotation_steps_no_working_login_names_every_attempt) {
    struct fixture f;
    setup(&f, NULL);
    fake_db_set_user("app", "somebody-else-changed-it");
    create(&f, "app", "");
    fake_secrets_rotate(f.arn, TOKEN);
    step_ok(&f, ROT_STEP_CREATE, TOKEN);
    struct sm_err err;
    SM_ASSERT_INT_EQ(step(&f, ROT_STEP_SET, TOKEN, &err), -1);
    SM_ASSERT_CODE_EQ(err.code, ROT_ERR_DB_LOGIN);
    SM_ASSERT_STR_CONTAINS(err.msg, "Unable to log into database with previous, current, or "
                                    "pending secret of secret arn");
    SM_ASSERT_STR_CONTAINS(err.msg, "AWSCURRENT: the Fake server at db:7777 refused the login");
    SM_ASSERT_STR_CONTAINS(err.msg, "AWSPENDING: the Fake server at db:7777 refused the login");
    SM_ASSERT_STR_NOT_CONTAINS(err.msg, INITIAL_PW);
    teardown(&f);
}

SM_TEST(rotation_steps_pending_for_another_user_is_refused) {
    struct fixture f;
    setup(&f, NULL);
    fake_db_set_user("app", INITIAL_PW);
    fake_db_set_user("admin", "admin-pw");
    create(&f, "app", "");
    fake_secrets_rotate(f.arn, TOKEN);
    /* A pending value someone wrote by hand, for another user. */
    fake_secrets_put(
        f.arn, TOKEN, "AWSPENDING",
        "{\"engine\":\"fake\",\"host\":\"db\",\"username\":\"admin\",\"password\":\"new\"}");
    struct sm_err err;
    SM_ASSERT_INT_EQ(step(&f, ROT_STEP_SET, TOKEN, &err), -1);
    SM_ASSERT_STR_EQ(err.msg, "Attempting to modify user admin other than current user app");
    SM_ASSERT_SECRET_EQ(fake_db_password("admin"), "admin-pw");
    teardown(&f);
}

SM_TEST(rotation_steps_finish_survives_a_lost_response) {
    struct fixture f;
    setup(&f, NULL);
    fake_db_set_user("app", INITIAL_PW);
    create(&f, "app", "");
    fake_secrets_rotate(f.arn, TOKEN);
    step_ok(&f, ROT_STEP_CREATE, TOKEN);
    step_ok(&f, ROT_STEP_SET, TOKEN);
    step_ok(&f, ROT_STEP_TEST, TOKEN);
    /* The label move lands, but the answer is a 500: the client's retry then fails because the
     * label is no longer where it was. */
    fake_secrets_fault("UpdateSecretVersionStage", "InternalServiceError", 1, true);
    step_ok(&f, ROT_STEP_FINISH, TOKEN);
    SM_ASSERT(has_stage(&f, TOKEN, "AWSCURRENT"));
    teardown(&f);
}

SM_TEST(rotation_steps_throttled_step_fails_transiently_and_a_rerun_converges) {
    /* Retries within a call are the client's job (test_secretsmanager.c); the step reports a
     * throttled call as transient, and Secrets Manager's rerun of the step converges. */
    struct fixture f;
    setup(&f, NULL);
    fake_db_set_user("app", INITIAL_PW);
    create(&f, "app", "");
    fake_secrets_rotate(f.arn, TOKEN);
    fake_secrets_fault("GetSecretValue", "ThrottlingException", 1, false);
    struct sm_err err;
    SM_ASSERT_INT_EQ(step(&f, ROT_STEP_CREATE, TOKEN, &err), -1);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_AWS_THROTTLED);
    SM_ASSERT_STR_EQ(sm_err_type(&err), "ThrottlingException");
    SM_ASSERT_INT_EQ(fake_secrets_calls("PutSecretValue"), 0);
    all_steps(&f, TOKEN);
    SM_ASSERT(has_stage(&f, TOKEN, "AWSCURRENT"));
    teardown(&f);
}

SM_TEST(rotation_steps_rotation_token_forwarded_only_to_put) {
    struct fixture f;
    setup(&f, NULL);
    fake_db_set_user("app", INITIAL_PW);
    create(&f, "app", "");
    fake_secrets_rotate(f.arn, TOKEN);
    struct rot_event ev = {.step = ROT_STEP_CREATE,
                           .secret_id = (char *)f.arn,
                           .token = TOKEN,
                           .rotation_token = "5b0e8f3a-6d2c-4e1b-9a7f-8c3d2e1f0a9b"};
    struct sm_err err;
    SM_ASSERT_OK(rot_run_step(&f.ctx, &ev, 0, &err), err);
    SM_ASSERT_INT_EQ(fake_secrets_calls_with_rotation_token(NULL), 1);
    SM_ASSERT_INT_EQ(fake_secrets_calls_with_rotation_token("PutSecretValue"), 1);
    teardown(&f);
}

static void setup_alternating(struct fixture *f, const char *master_json) {
    setup(f, "multi-user");
    fake_db_set_user("app", INITIAL_PW);
    fake_db_set_user("admin", "admin-pw");
    char extra[700];
    snprintf(extra, sizeof(extra), ",\"masterarn\":\"%s\"",
             fake_secrets_create("master", master_json));
    create(f, "app", extra);
}

#define MASTER_OK                                                                                  \
    "{\"engine\":\"fake\",\"host\":\"db\",\"username\":\"admin\","                                 \
    "\"password\":\"admin-pw\"}"

SM_TEST(rotation_steps_alternating_users_clone_then_flip_back) {
    struct fixture f;
    setup_alternating(&f, MASTER_OK);
    fake_secrets_rotate(f.arn, TOKEN);
    all_steps(&f, TOKEN);
    char user[128], pw[256];
    field(&f, NULL, "AWSCURRENT", "username", user, sizeof(user));
    field(&f, NULL, "AWSCURRENT", "password", pw, sizeof(pw));
    SM_ASSERT_STR_EQ(user, "app_clone");
    SM_ASSERT_SECRET_EQ(fake_db_password("app_clone"), pw);
    SM_ASSERT_SECRET_EQ(fake_db_password("app"), INITIAL_PW); /* previous keeps working */
    /* rotation.c says who is who: app is the original whichever user is current. */
    SM_ASSERT_STR_EQ(fake_db.last_sync.original, "app");
    SM_ASSERT_STR_EQ(fake_db.last_sync.clone, "app_clone");
    SM_ASSERT_STR_EQ(fake_db.last_sync.target, "app_clone");
    fake_secrets_rotate(f.arn, TOKEN2);
    all_steps(&f, TOKEN2);
    SM_ASSERT_STR_EQ(fake_db.last_sync.original, "app");
    SM_ASSERT_STR_EQ(fake_db.last_sync.clone, "app_clone");
    SM_ASSERT_STR_EQ(fake_db.last_sync.target, "app");
    field(&f, NULL, "AWSCURRENT", "username", user, sizeof(user));
    SM_ASSERT_STR_EQ(user, "app");
    field(&f, NULL, "AWSCURRENT", "password", pw, sizeof(pw));
    SM_ASSERT_SECRET_EQ(fake_db_password("app"), pw);
    teardown(&f);
}

/* A master that cannot work is refused by createSecret, before anything is staged. */
SM_TEST(rotation_steps_alternating_users_bad_master_stages_nothing) {
    struct {
        const char *master;
        const char *expect;
        const struct sm_code *code;
    } cases[] = {
        {"{\"username\":\"admin\",\"password\":\"admin-pw\"}",
         "has neither the tag aws:rds:primaryDBInstanceArn nor aws:rds:primaryDBClusterArn",
         ROT_ERR_SECRET_INVALID},
        {"{\"engine\":\"fake\",\"host\":\"other.example\",\"username\":\"admin\","
         "\"password\":\"admin-pw\"}",
         "Current database host db is not the same host as/rds replica of master other.example "
         "(RDS has no DB instance db and no DB cluster of that name)",
         ROT_ERR_ROTATION},
        {"{\"engine\":\"nope\",\"host\":\"db\",\"username\":\"admin\",\"password\":\"x\"}",
         "Database engine must be set to one of", ROT_ERR_SECRET_INVALID},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fixture f;
        setup_alternating(&f, cases[i].master);
        fake_secrets_rotate(f.arn, TOKEN);
        struct sm_err err;
        SM_ASSERT_INT_EQ(step(&f, ROT_STEP_CREATE, TOKEN, &err), -1);
        SM_ASSERT_STR_CONTAINS(err.msg, "createSecret (nothing was staged)");
        SM_ASSERT_STR_CONTAINS(err.msg, cases[i].expect);
        SM_ASSERT_CODE_EQ(err.code, cases[i].code);
        SM_ASSERT(fake_secrets_value(f.arn, TOKEN, NULL) == NULL);
        SM_ASSERT_INT_EQ(fake_secrets_calls("PutSecretValue"), 0);
        SM_ASSERT_INT_EQ(fake_db.connects, 0);
        teardown(&f);
    }
}

SM_TEST(rotation_steps_alternating_users_master_login_refused) {
    struct fixture f;
    setup_alternating(&f, "{\"engine\":\"fake\",\"host\":\"db\",\"username\":\"admin\","
                          "\"password\":\"wrong\"}");
    fake_secrets_rotate(f.arn, TOKEN);
    step_ok(&f, ROT_STEP_CREATE, TOKEN);
    struct sm_err err;
    SM_ASSERT_INT_EQ(step(&f, ROT_STEP_SET, TOKEN, &err), -1);
    SM_ASSERT_STR_CONTAINS(err.msg,
                           "Unable to log into database using credentials in master secret");
    SM_ASSERT_CODE_EQ(err.code, ROT_ERR_DB_LOGIN);
    SM_ASSERT(fake_db_password("app_clone") == NULL);
    teardown(&f);
}

SM_TEST(rotation_steps_alternating_users_missing_masterarn) {
    struct fixture f;
    setup(&f, "multi-user");
    fake_db_set_user("app", INITIAL_PW);
    create(&f, "app", "");
    fake_secrets_rotate(f.arn, TOKEN);
    struct sm_err err;
    SM_ASSERT_INT_EQ(step(&f, ROT_STEP_CREATE, TOKEN, &err), -1);
    SM_ASSERT_STR_CONTAINS(err.msg, "masterarn key is missing from secret JSON");
    SM_ASSERT(fake_secrets_value(f.arn, TOKEN, NULL) == NULL);
    teardown(&f);
}

SM_TEST(rotation_steps_alternating_users_current_login_required) {
    struct fixture f;
    setup_alternating(&f, MASTER_OK);
    fake_db_set_user("app", "changed-elsewhere");
    fake_secrets_rotate(f.arn, TOKEN);
    step_ok(&f, ROT_STEP_CREATE, TOKEN);
    struct sm_err err;
    SM_ASSERT_INT_EQ(step(&f, ROT_STEP_SET, TOKEN, &err), -1);
    SM_ASSERT_STR_CONTAINS(err.msg, "Unable to log into database using current credentials");
    teardown(&f);
}

SM_TEST(rotation_steps_alternating_users_username_too_long) {
    struct fixture f;
    setup(&f, "multi-user");
    create(&f, "abcdefghijklmnop", ""); /* 16 + _clone > the fake engine's 20 */
    fake_secrets_rotate(f.arn, TOKEN);
    struct sm_err err;
    SM_ASSERT_INT_EQ(step(&f, ROT_STEP_CREATE, TOKEN, &err), -1);
    SM_ASSERT_STR_CONTAINS(err.msg, "createSecret (nothing was staged): Unable to clone user, "
                                    "username length with _clone appended would exceed 20 bytes");
    SM_ASSERT_INT_EQ(fake_secrets_calls("PutSecretValue"), 0);
    teardown(&f);
}

/* ---- RDS-managed masters, read replicas and Aurora readers ---------------------------------- */

#define MANAGED_MASTER "{\"username\":\"admin\",\"password\":\"admin-pw\"}"

/* A user secret at host, with a managed master tagged tag_key = tag_arn; returns the master ARN. */
static const char *setup_managed(struct fixture *f, const char *handler, const char *engine,
                                 const char *host, const char *tag_key, const char *tag_arn) {
    setup(f, handler);
    fake_db_set_user("app", INITIAL_PW);
    fake_db_set_user("admin", "admin-pw");
    const char *master = fake_secrets_create("rds!db-master", MANAGED_MASTER);
    if (tag_key != NULL) {
        fake_secrets_tag(master, tag_key, tag_arn);
    }
    char secret[2048];
    snprintf(secret, sizeof(secret),
             "{\"engine\":\"%s\",\"host\":\"%s\",\"username\":\"app\",\"password\":\"" INITIAL_PW
             "\",\"masterarn\":\"%s\"}",
             engine, host, master);
    f->arn = fake_secrets_create("app/db", secret);
    return master;
}

/* Rotates once; returns the host of the admin login (the connect after the current login). */
static void rotate_and_check(struct fixture *f, const char *admin_host, const char *user_host) {
    fake_secrets_rotate(f->arn, TOKEN);
    all_steps(f, TOKEN);
    char pw[256];
    field(f, NULL, "AWSCURRENT", "password", pw, sizeof(pw));
    SM_ASSERT_SECRET_EQ(fake_db_password("app_clone"), pw);
    /* setSecret: current at the user's host, then the master at the master's host; testSecret:
     * the pending user at the user's own host. */
    SM_ASSERT_INT_EQ(fake_db.connects, 3);
    SM_ASSERT_STR_EQ(fake_db.hosts[0], user_host);
    SM_ASSERT_STR_EQ(fake_db.hosts[1], admin_host);
    SM_ASSERT_STR_EQ(fake_db.hosts[2], user_host);
}

SM_TEST(rotation_steps_managed_master_by_instance_tag) {
    struct fixture f;
    setup_managed(&f, "multi-user", "fake", "pg-main.abc.us-east-1.rds.amazonaws.com",
                  "aws:rds:primaryDBInstanceArn", "arn:aws:rds:us-east-1:123456789012:db:pg-main");
    fake_rds_instance("pg-main", "fake", "pg-main.abc.us-east-1.rds.amazonaws.com", 5432, NULL,
                      NULL);
    rotate_and_check(&f, "pg-main.abc.us-east-1.rds.amazonaws.com",
                     "pg-main.abc.us-east-1.rds.amazonaws.com");
    /* Read afresh in createSecret and setSecret; the user's secret JSON is unchanged but for the
     * username and password. */
    SM_ASSERT_INT_EQ(fake_rds_calls("DescribeDBInstances"), 2);
    SM_ASSERT_INT_EQ(fake_rds_calls("DescribeDBClusters"), 0);
    char master[512];
    field(&f, NULL, "AWSCURRENT", "masterarn", master, sizeof(master));
    SM_ASSERT_STR_CONTAINS(master, "rds!db-master");
    SM_ASSERT(strstr(fake_secrets_value(f.arn, NULL, "AWSCURRENT"), "\"host\":\"pg-main.abc") !=
              NULL);
    teardown(&f);
}

SM_TEST(rotation_steps_managed_master_by_cluster_tag_key_any_case) {
    struct fixture f;
    setup_managed(&f, "auto", "aurora-fake", "aur.cluster-abc.us-east-1.rds.amazonaws.com",
                  "AWS:RDS:PRIMARYDBCLUSTERARN", "arn:aws:rds:us-east-1:123456789012:cluster:aur");
    fake_rds_cluster("aur", "aurora-fake", "aur.cluster-abc.us-east-1.rds.amazonaws.com",
                     "aur.cluster-ro-abc.us-east-1.rds.amazonaws.com", 5432, "aur-1");
    rotate_and_check(&f, "aur.cluster-abc.us-east-1.rds.amazonaws.com",
                     "aur.cluster-abc.us-east-1.rds.amazonaws.com");
    SM_ASSERT_INT_EQ(fake_rds_calls("DescribeDBClusters"), 2);
    SM_ASSERT_INT_EQ(fake_rds_calls("DescribeDBInstances"), 0);
    teardown(&f);
}

SM_TEST(rotation_steps_managed_master_unknown_instance_stages_nothing) {
    struct fixture f;
    setup_managed(&f, "multi-user", "fake", "db", "aws:rds:primaryDBInstanceArn",
                  "arn:aws:rds:us-east-1:123456789012:db:gone");
    fake_secrets_rotate(f.arn, TOKEN);
    struct sm_err err;
    SM_ASSERT_INT_EQ(step(&f, ROT_STEP_CREATE, TOKEN, &err), -1);
    SM_ASSERT_STR_EQ(sm_err_type(&err), "DBInstanceNotFound");
    SM_ASSERT_STR_CONTAINS(err.msg, "finding the database of the RDS-managed master secret");
    SM_ASSERT(fake_secrets_value(f.arn, TOKEN, NULL) == NULL);
    teardown(&f);
}

SM_TEST(rotation_steps_managed_master_rds_errors_are_reported) {
    struct {
        const char *code;
        const struct sm_code *expect;
    } cases[] = {{"Throttling", SM_ERR_AWS_THROTTLED}, {"AccessDenied", SM_ERR_AWS_CLIENT}};
    for (size_t i = 0; i < 2; i++) {
        struct fixture f;
        setup_managed(&f, "multi-user", "fake", "db", "aws:rds:primaryDBInstanceArn",
                      "arn:aws:rds:us-east-1:123456789012:db:db");
        fake_rds_instance("db", "fake", "db", 5432, NULL, NULL);
        fake_secrets_rotate(f.arn, TOKEN);
        fake_rds_fault("DescribeDBInstances", cases[i].code, 1);
        struct sm_err err;
        SM_ASSERT_INT_EQ(step(&f, ROT_STEP_CREATE, TOKEN, &err), -1);
        SM_ASSERT_CODE_EQ(err.code, cases[i].expect);
        SM_ASSERT_STR_EQ(sm_err_type(&err), cases[i].code);
        SM_ASSERT(fake_secrets_value(f.arn, TOKEN, NULL) == NULL);
        all_steps(&f, TOKEN); /* the rerun converges */
        teardown(&f);
    }
}

SM_TEST(rotation_steps_master_with_a_host_makes_no_rds_call) {
    struct fixture f;
    setup_alternating(&f, MASTER_OK);
    fake_secrets_rotate(f.arn, TOKEN);
    all_steps(&f, TOKEN);
    SM_ASSERT_INT_EQ(fake_rds_calls(NULL), 0);
    teardown(&f);
}

/* The user's secret on a read replica or an Aurora reader; the master on the primary. Both
 * secrets say engine, unless master_engine says otherwise. */
static void setup_replica2(struct fixture *f, const char *engine, const char *user_host,
                           const char *master_engine, const char *master_host) {
    setup(f, "multi-user");
    fake_db_set_user("app", INITIAL_PW);
    fake_db_set_user("admin", "admin-pw");
    char master[512], secret[2048];
    snprintf(master, sizeof(master),
             "{\"engine\":\"%s\",\"host\":\"%s\",\"username\":\"admin\",\"password\":\"admin-pw\"}",
             master_engine, master_host);
    snprintf(secret, sizeof(secret),
             "{\"engine\":\"%s\",\"host\":\"%s\",\"username\":\"app\",\"password\":\"" INITIAL_PW
             "\",\"masterarn\":\"%s\"}",
             engine, user_host, fake_secrets_create("master", master));
    f->arn = fake_secrets_create("app/db", secret);
}

static void setup_replica(struct fixture *f, const char *engine, const char *user_host,
                          const char *master_host) {
    setup_replica2(f, engine, user_host, engine, master_host);
}

/* The Aurora cluster aur (writer aur-1, reader aur-2) and the instance pg-main with its read
 * replica pg-replica, as RDS describes them. */
#define AUR_WRITER "aur.cluster-abc.rds.amazonaws.com"
#define AUR_READER "aur.cluster-ro-abc.rds.amazonaws.com"
static void seed_rds(void) {
    fake_rds_cluster("aur", "aurora-fake", AUR_WRITER, AUR_READER, 5432, "aur-1");
    fake_rds_instance("aur-1", "aurora-fake", "aur-1.abc.rds.amazonaws.com", 5432, "aur", NULL);
    fake_rds_instance("aur-2", "aurora-fake", "aur-2.abc.rds.amazonaws.com", 5432, "aur", NULL);
    fake_rds_instance("pg-main", "fake", "pg-main.abc.rds.amazonaws.com", 5432, NULL, NULL);
    fake_rds_instance("pg-replica", "fake", "pg-replica.abc.rds.amazonaws.com", 5432, NULL,
                      "pg-main");
}

SM_TEST(rotation_steps_aurora_is_decided_from_everything_known) {
    struct rot_master_place none = {"", ""}, clustered = {"", "aur"};
    struct {
        const char *user_engine, *user_host, *master_engine, *master_host;
        const struct rot_master_place *place;
        bool aurora;
    } cases[] = {
        /* Nothing says Aurora: RDS's answer about the user's host decides. */
        {"fake", "aur-2.abc.rds.amazonaws.com", "fake", "aur-1.abc.rds.amazonaws.com", &none,
         false},
        {"fake", "pg-replica.abc.rds.amazonaws.com", "fake", "pg-main.abc", &none, false},
        /* Either engine value. */
        {"aurora-fake", "aur-2.abc", "fake", "aur-1.abc", &none, true},
        {"fake", "aur-2.abc", "aurora-fake", "aur-1.abc", &none, true},
        /* The RDS-managed master's database is a cluster. */
        {"fake", "aur-2.abc", "fake", "aur-1.abc", &clustered, true},
        /* Either host is a cluster endpoint (writer, reader, custom; any case). */
        {"fake", "aur-2.abc", "fake", AUR_WRITER, &none, true},
        {"fake", AUR_READER, "fake", "aur-1.abc", &none, true},
        {"fake", "x.CLUSTER-CUSTOM-abc.rds", "fake", "aur-1.abc", &none, true},
        /* A label that merely contains "cluster" is no cluster endpoint. */
        {"fake", "mycluster.abc", "fake", "db.clusters.example", &none, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct rot_secret user = {.engine_value = cases[i].user_engine, .host = cases[i].user_host};
        struct rot_secret master = {.engine_value = cases[i].master_engine,
                                    .host = cases[i].master_host};
        SM_ASSERT_INT_EQ(rot_master_aurora_known(&user, &master, cases[i].place), cases[i].aurora);
    }
}

/* A user secret that says the plain engine, on an Aurora reader: accepted from whatever says
 * Aurora (the master's engine, a cluster endpoint, the managed master's cluster tag, or RDS's
 * answer about the user's host), and set through the writer. */
SM_TEST(rotation_steps_plain_engine_user_on_an_aurora_reader_is_set_through_the_writer) {
    const char *readers[] = {AUR_READER, "aur-2.abc.rds.amazonaws.com"};
    struct {
        const char *master_engine, *master_host;
        int rds_calls; /* per rotation, for the reader instance */
    } masters[] = {
        {"aurora-fake", AUR_WRITER, 2},                   /* the cluster, twice */
        {"fake", AUR_WRITER, 2},                          /* the endpoint's form says it */
        {"fake", "aur-1.abc.rds.amazonaws.com", 6},       /* RDS: aur-2, aur-1, then aur; twice */
        {"aurora-fake", "aur-1.abc.rds.amazonaws.com", 4} /* aur-1, then aur; twice */
    };
    for (size_t m = 0; m < sizeof(masters) / sizeof(masters[0]); m++) {
        for (size_t r = 0; r < 2; r++) {
            struct fixture f;
            setup_replica2(&f, "fake", readers[r], masters[m].master_engine,
                           masters[m].master_host);
            seed_rds();
            const char *admin = masters[m].master_host;
            rotate_and_check(&f, admin, readers[r]);
            if (r == 1) {
                SM_ASSERT_INT_EQ(fake_rds_calls(NULL), masters[m].rds_calls);
            }
            char engine[64];
            field(&f, NULL, "AWSCURRENT", "engine", engine, sizeof(engine));
            SM_ASSERT_STR_EQ(engine, "fake"); /* nothing rewritten */
            teardown(&f);
        }
    }
    /* An RDS-managed master named by its cluster tag. */
    for (size_t r = 0; r < 2; r++) {
        struct fixture f;
        setup_managed(&f, "multi-user", "fake", readers[r], "aws:rds:primaryDBClusterArn",
                      "arn:aws:rds:us-east-1:123456789012:cluster:aur");
        seed_rds();
        rotate_and_check(&f, AUR_WRITER, readers[r]);
        teardown(&f);
    }
}

/* One engine family either way round: an Aurora engine value on a plain read replica is checked
 * by what RDS says of the hosts. */
SM_TEST(rotation_steps_aurora_engine_user_on_a_plain_read_replica_is_accepted) {
    struct fixture f;
    setup_replica2(&f, "aurora-fake", "pg-replica.abc.rds.amazonaws.com", "fake",
                   "pg-main.abc.rds.amazonaws.com");
    seed_rds();
    rotate_and_check(&f, "pg-main.abc.rds.amazonaws.com", "pg-replica.abc.rds.amazonaws.com");
    teardown(&f);
}

SM_TEST(rotation_steps_user_on_a_read_replica_is_set_through_the_master) {
    struct fixture f;
    setup_replica(&f, "fake", "pg-replica.abc.rds.amazonaws.com", "pg-main.abc.rds.amazonaws.com");
    fake_rds_instance("pg-main", "fake", "pg-main.abc.rds.amazonaws.com", 5432, NULL, NULL);
    fake_rds_instance("pg-replica", "fake", "pg-replica.abc.rds.amazonaws.com", 5432, NULL,
                      "pg-main");
    rotate_and_check(&f, "pg-main.abc.rds.amazonaws.com", "pg-replica.abc.rds.amazonaws.com");
    teardown(&f);
}

SM_TEST(rotation_steps_user_on_an_aurora_reader_is_set_through_the_writer) {
    const char *reader_hosts[] = {"aur.cluster-ro-abc.rds.amazonaws.com",
                                  "aur-2.abc.rds.amazonaws.com"};
    for (size_t i = 0; i < 2; i++) {
        struct fixture f;
        setup_replica(&f, "aurora-fake", reader_hosts[i], "aur.cluster-abc.rds.amazonaws.com");
        fake_rds_cluster("aur", "aurora-fake", "aur.cluster-abc.rds.amazonaws.com",
                         "aur.cluster-ro-abc.rds.amazonaws.com", 5432, "aur-1");
        fake_rds_instance("aur-1", "aurora-fake", "aur-1.abc.rds.amazonaws.com", 5432, "aur", NULL);
        fake_rds_instance("aur-2", "aurora-fake", "aur-2.abc.rds.amazonaws.com", 5432, "aur", NULL);
        rotate_and_check(&f, "aur.cluster-abc.rds.amazonaws.com", reader_hosts[i]);
        teardown(&f);
    }
}

SM_TEST(rotation_steps_host_that_is_no_replica_is_refused_before_any_login) {
    struct {
        const char *engine, *user_host, *master_host, *why;
    } cases[] = {
        {"fake", "other.abc.rds.amazonaws.com", "pg-main.abc.rds.amazonaws.com",
         "DB instance other is not a read replica of pg-main"},
        {"aurora-fake", "aur-1.abc.rds.amazonaws.com", "aur.cluster-abc.rds.amazonaws.com",
         "it is neither the reader endpoint of Aurora cluster aur nor one of its reader "
         "instances"},
        {"fake", "10.0.0.7", "pg-main.abc.rds.amazonaws.com",
         "an IP address names no RDS instance"},
    };
    for (size_t i = 0; i < 3; i++) {
        struct fixture f;
        setup_replica(&f, cases[i].engine, cases[i].user_host, cases[i].master_host);
        fake_rds_instance("pg-main", "fake", "pg-main.abc.rds.amazonaws.com", 5432, NULL, NULL);
        fake_rds_instance("other", "fake", "other.abc.rds.amazonaws.com", 5432, NULL, NULL);
        fake_rds_cluster("aur", "aurora-fake", "aur.cluster-abc.rds.amazonaws.com",
                         "aur.cluster-ro-abc.rds.amazonaws.com", 5432, "aur-1");
        fake_rds_instance("aur-1", "aurora-fake", "aur-1.abc.rds.amazonaws.com", 5432, "aur", NULL);
        fake_secrets_rotate(f.arn, TOKEN);
        struct sm_err err;
        SM_ASSERT_INT_EQ(step(&f, ROT_STEP_CREATE, TOKEN, &err), -1);
        SM_ASSERT_CODE_EQ(err.code, ROT_ERR_ROTATION);
        SM_ASSERT_STR_CONTAINS(err.msg, "is not the same host as/rds replica of master");
        SM_ASSERT_STR_CONTAINS(err.msg, cases[i].why);
        SM_ASSERT(fake_secrets_value(f.arn, TOKEN, NULL) == NULL);
        SM_ASSERT_INT_EQ(fake_db.connects, 0);
        teardown(&f);
    }
}

/* ---- strategy per secret ------------------------------------------------------------------ */

SM_TEST(rotation_steps_auto_handler_picks_the_strategy_per_secret) {
    struct fixture f;
    setup_alternating(&f, MASTER_OK); /* a secret with masterarn */
    f.rcfg.strategy = &rot_strategy_auto;
    fake_secrets_rotate(f.arn, TOKEN);
    all_steps(&f, TOKEN);
    char user[128];
    field(&f, NULL, "AWSCURRENT", "username", user, sizeof(user));
    SM_ASSERT_STR_EQ(user, "app_clone");
    teardown(&f);

    setup(&f, "auto"); /* a secret without masterarn */
    fake_db_set_user("app", INITIAL_PW);
    create(&f, "app", "");
    fake_secrets_rotate(f.arn, TOKEN);
    all_steps(&f, TOKEN);
    field(&f, NULL, "AWSCURRENT", "username", user, sizeof(user));
    SM_ASSERT_STR_EQ(user, "app");
    SM_ASSERT_INT_EQ(fake_db.password_sets, 1);
    teardown(&f);
}

SM_TEST(rotation_steps_alternating_users_pending_login_finishes_a_rerun) {
    /* setSecret landed, then the current user's password was changed elsewhere: the rerun finds
     * the pending login working and is done (the template's order). */
    struct fixture f;
    setup_alternating(&f, MASTER_OK);
    fake_secrets_rotate(f.arn, TOKEN);
    step_ok(&f, ROT_STEP_CREATE, TOKEN);
    step_ok(&f, ROT_STEP_SET, TOKEN);
    fake_db_set_user("app", "changed-elsewhere");
    step_ok(&f, ROT_STEP_SET, TOKEN);
    step_ok(&f, ROT_STEP_TEST, TOKEN);
    step_ok(&f, ROT_STEP_FINISH, TOKEN);
    teardown(&f);
}

/* ---- per-secret settings and the strategies they choose ----------------------------------- */

#define MASTER_HERE                                                                                \
    "{\"engine\":\"fake\",\"host\":\"db\",\"username\":\"admin\",\"password\":\"admin-pw\"}"

/* A secret for user at host db with a master on the same host, tagged key = value (key NULL: no
 * tag), under Handler auto. */
static void setup_tagged(struct fixture *f, const char *user, const char *key, const char *value) {
    setup(f, "auto");
    fake_db_set_user(user, INITIAL_PW);
    fake_db_set_user("admin", "admin-pw");
    char extra[700];
    snprintf(extra, sizeof(extra), ",\"masterarn\":\"%s\"", fake_secrets_create("m", MASTER_HERE));
    create(f, user, extra);
    if (key != NULL) {
        fake_secrets_tag(f->arn, key, value);
    }
}

SM_TEST(rotation_steps_two_precreated_users_take_turns_by_password_only) {
    struct fixture f;
    setup_tagged(&f, "app_blue", "smrotate:alternating-users", "app_blue app_green");
    fake_db_set_user("app_green", "green-initial");
    const char *tokens[] = {TOKEN, TOKEN2};
    const char *users[] = {"app_green", "app_blue"};
    for (int i = 0; i < 2; i++) {
        fake_secrets_rotate(f.arn, tokens[i]);
        all_steps(&f, tokens[i]);
        char user[64], pw[256];
        field(&f, NULL, "AWSCURRENT", "username", user, sizeof(user));
        field(&f, NULL, "AWSCURRENT", "password", pw, sizeof(pw));
        SM_ASSERT_STR_EQ(user, users[i]);
        SM_ASSERT_SECRET_EQ(fake_db_password(users[i]), pw);
        SM_ASSERT_INT_EQ(fake_db.admin_sets, i + 1);    /* the password statement, nothing else */
        SM_ASSERT_STR_EQ(fake_db.last_sync.target, ""); /* no clone management */
    }
    SM_ASSERT(fake_db_user("app_blue_clone") == NULL && fake_db_user("app_green_clone") == NULL);
    teardown(&f);
}

SM_TEST(rotation_steps_two_precreated_users_refusals) {
    struct fixture f;
    struct sm_err err;
    /* The secret's user is neither of the two: nothing is staged. */
    setup_tagged(&f, "app", "smrotate:alternating-users", "app_blue app_green");
    fake_secrets_rotate(f.arn, TOKEN);
    SM_ASSERT_INT_EQ(step(&f, ROT_STEP_CREATE, TOKEN, &err), -1);
    SM_ASSERT_STR_CONTAINS(err.msg, "createSecret (nothing was staged): the secret's username app "
                                    "is neither of the two users of its tag "
                                    "smrotate:alternating-users (app_blue, app_green)");
    SM_ASSERT(fake_secrets_value(f.arn, TOKEN, NULL) == NULL);
    teardown(&f);
    /* The other user does not exist: setSecret names it, and changes nothing. */
    setup_tagged(&f, "app_blue", "smrotate:alternating-users", "app_blue app_green");
    fake_secrets_rotate(f.arn, TOKEN);
    step_ok(&f, ROT_STEP_CREATE, TOKEN);
    SM_ASSERT_INT_EQ(step(&f, ROT_STEP_SET, TOKEN, &err), -1);
    SM_ASSERT_CODE_EQ(err.code, ROT_ERR_ROTATION);
    SM_ASSERT_STR_CONTAINS(err.msg, "setSecret: could not set the password of user app_green: "
                                    "user \"app_green\" does not exist");
    SM_ASSERT_INT_EQ(fake_db.password_sets, 0);
    teardown(&f);
}

SM_TEST(rotation_steps_single_user_via_master_sets_the_password_as_the_master) {
    struct fixture f;
    setup_tagged(&f, "app", "smrotate:strategy", "single-user-via-master");
    fake_secrets_rotate(f.arn, TOKEN);
    step_ok(&f, ROT_STEP_CREATE, TOKEN);
    step_ok(&f, ROT_STEP_SET, TOKEN);
    step_ok(&f, ROT_STEP_SET, TOKEN); /* a rerun: the pending login works, nothing is set again */
    step_ok(&f, ROT_STEP_TEST, TOKEN);
    step_ok(&f, ROT_STEP_FINISH, TOKEN);
    char user[64], pw[256];
    field(&f, NULL, "AWSCURRENT", "username", user, sizeof(user));
    field(&f, NULL, "AWSCURRENT", "password", pw, sizeof(pw));
    SM_ASSERT_STR_EQ(user, "app");
    SM_ASSERT_SECRET_EQ(fake_db_password("app"), pw);
    SM_ASSERT_INT_EQ(fake_db.admin_sets, 1);
    SM_ASSERT_INT_EQ(fake_db.password_sets, 1);
    /* setSecret: current (guard) and master; the rerun: current refused, pending works. */
    SM_ASSERT_STR_EQ(fake_db.hosts[1], "db");
    teardown(&f);
}

SM_TEST(rotation_steps_password_lifetime_reaches_the_engine_and_is_checked) {
    struct fixture f;
    struct sm_err err;
    setup_tagged(&f, "app", "smrotate:password-lifetime-days", "45");
    fake_secrets_tag(f.arn, "smrotate:strategy", "single-user-via-master");
    fake_secrets_schedule(f.arn, "rate(30 days)");
    fake_secrets_rotate(f.arn, TOKEN);
    SM_ASSERT_INT_EQ(step(&f, ROT_STEP_CREATE, TOKEN, &err), -1);
    SM_ASSERT_STR_CONTAINS(err.msg, "is shorter than twice the secret's rotation interval (30 "
                                    "days)");
    SM_ASSERT(fake_secrets_value(f.arn, TOKEN, NULL) == NULL);
    fake_secrets_schedule(f.arn, "rate(20 days)");
    all_steps(&f, TOKEN);
    SM_ASSERT_INT_EQ(fake_db_user("app")->lifetime_days, 45);
    teardown(&f);
}

SM_TEST(rotation_steps_dual_passwords_keep_previous_working_and_reruns_converge) {
    struct fixture f;
    setup(&f, "single-user");
    fake_db_set_user("app", INITIAL_PW);
    create(&f, "app", "");
    fake_secrets_tag(f.arn, "smrotate:mysql-dual-password", "true");
    fake_secrets_rotate(f.arn, TOKEN);
    step_ok(&f, ROT_STEP_CREATE, TOKEN);
    step_ok(&f, ROT_STEP_SET, TOKEN);
    /* Secrets Manager retries: setSecret again must not retain the new password over the old. */
    step_ok(&f, ROT_STEP_SET, TOKEN);
    step_ok(&f, ROT_STEP_TEST, TOKEN);
    step_ok(&f, ROT_STEP_FINISH, TOKEN);
    char first[256];
    field(&f, NULL, "AWSCURRENT", "password", first, sizeof(first));
    SM_ASSERT_INT_EQ(fake_db.password_sets, 1);
    SM_ASSERT_SECRET_EQ(fake_db_user("app")->password, first);
    SM_ASSERT_SECRET_EQ(fake_db_user("app")->secondary, INITIAL_PW); /* AWSPREVIOUS logs in */
    fake_secrets_rotate(f.arn, TOKEN2);
    all_steps(&f, TOKEN2);
    SM_ASSERT_SECRET_EQ(fake_db_user("app")->secondary, first); /* the oldest is gone */
    teardown(&f);
}

SM_TEST(rotation_steps_dual_passwords_need_an_engine_that_has_them_and_single_user) {
    struct fixture f;
    struct sm_err err;
    setup_tagged(&f, "app", "smrotate:mysql-dual-password", "true");
    fake_secrets_rotate(f.arn, TOKEN); /* auto + masterarn: alternating users */
    SM_ASSERT_INT_EQ(step(&f, ROT_STEP_CREATE, TOKEN, &err), -1);
    SM_ASSERT_STR_CONTAINS(err.msg, "mysql-dual-password applies to the single-user strategy, not "
                                    "multi-user");
    SM_ASSERT(fake_secrets_value(f.arn, TOKEN, NULL) == NULL);
    teardown(&f);
}

static int64_t s_slept[8];
static int s_n_slept;
static void record_sleep(int64_t ms) {
    SM_ASSERT(s_n_slept < 8);
    s_slept[s_n_slept++] = ms;
}

/* testSecret at a replica waits for the new password to replicate; at the master's own host a
 * refused login fails at once. */
SM_TEST(rotation_steps_test_secret_waits_for_replication_at_a_replica_only) {
    struct fixture f;
    struct sm_err err;
    setup_replica(&f, "fake", "pg-replica.abc.rds.amazonaws.com", "pg-main.abc.rds.amazonaws.com");
    seed_rds();
    f.ctx.sleep_ms = record_sleep;
    s_n_slept = 0;
    fake_secrets_rotate(f.arn, TOKEN);
    step_ok(&f, ROT_STEP_CREATE, TOKEN);
    step_ok(&f, ROT_STEP_SET, TOKEN);
    fake_db.refuse_logins = 2;
    step_ok(&f, ROT_STEP_TEST, TOKEN);
    SM_ASSERT_INT_EQ(s_n_slept, 2);
    SM_ASSERT_INT_EQ(s_slept[0], 500);
    SM_ASSERT_INT_EQ(s_slept[1], 1000);
    fake_db.refuse_logins = 100; /* never replicates: the waits stop at 30 s in all */
    SM_ASSERT_INT_EQ(step(&f, ROT_STEP_TEST, TOKEN, &err), -1);
    SM_ASSERT_CODE_EQ(err.code, ROT_ERR_DB_LOGIN);
    SM_ASSERT_STR_CONTAINS(err.msg, "after waiting 15500 ms for the new password to replicate");
    fake_db.refuse_logins = 0;
    teardown(&f);

    setup_alternating(&f, MASTER_OK);
    f.ctx.sleep_ms = record_sleep;
    s_n_slept = 0;
    fake_secrets_rotate(f.arn, TOKEN);
    step_ok(&f, ROT_STEP_CREATE, TOKEN);
    step_ok(&f, ROT_STEP_SET, TOKEN);
    fake_db.refuse_logins = 1;
    SM_ASSERT_INT_EQ(step(&f, ROT_STEP_TEST, TOKEN, &err), -1);
    SM_ASSERT_INT_EQ(s_n_slept, 0);
    fake_db.refuse_logins = 0;
    teardown(&f);
}
