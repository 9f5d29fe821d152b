/*
 * The rotation steps (rotators/rotation.c) against the local Secrets Manager emulator and the
 * in-memory fake engine: staging labels, idempotency, guards and the alternating-users flow,
 * without a database server. The end-to-end tests repeat the important cases against real
 * PostgreSQL and MariaDB through bootstrap.
 */
#include "buf.h"
#include "clock.h"
#include "config.h"
#include "fake_engine.h"
#include "fakes/fake_sm_process.h"
#include "harness.h"
#include "http.h"
#include "mem.h"
#include "rotation.h"
#include "secretsmanager.h"

#include <stdlib.h>

#define AKID "AKIDSTEPSTEST0000001"
#define SECRET_KEY "stepsSecretKey/For+Tests0123456789abcdefg"
#define TOKEN "7d3b9f10-2c4e-4a8b-9f6d-5e1a2b3c4d5e"
#define TOKEN2 "8e4c0a21-3d5f-4b9c-8a7e-6f2b3c4d5e6f"
#define INITIAL_PW "initial-Password-1"

struct fixture {
    struct fake_sm sm;
    struct http_client http;
    struct secrets_config cfg;
    struct secrets_client client;
    struct rot_config rcfg;
    struct rot_context ctx;
    char arn[512];
};

static void setup(struct fixture *f, const char *handler) {
    struct sm_err err;
    memset(f, 0, sizeof(*f));
    fake_db_reset();
    fake_sm_start(&f->sm, AKID, SECRET_KEY, NULL);
    setenv("AWS_REGION", "us-east-1", 1);
    setenv("AWS_ACCESS_KEY_ID", AKID, 1);
    setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY, 1);
    unsetenv("AWS_SESSION_TOKEN");
    setenv("SECRETS_MANAGER_ENDPOINT", f->sm.endpoint, 1);
    SM_ASSERT_OK(secrets_config_from_env(&f->cfg, &err), err);
    SM_ASSERT_OK(http_client_init(&f->http, &err), err);
    secrets_client_init(&f->client, &f->cfg, &f->http);
    SM_ASSERT_OK(rot_config_from_env(handler, &f->rcfg, &err), err);
    f->ctx = (struct rot_context){.sm = &f->client, .engines = fake_registry, .config = &f->rcfg};
}

static void teardown(struct fixture *f) {
    rot_config_clean_up(&f->rcfg);
    secrets_config_clean_up(&f->cfg);
    http_client_clean_up(&f->http);
    fake_sm_stop(&f->sm);
    SM_ASSERT_INT_EQ(fake_db.open_conns, 0);
}

static cJSON *call(struct fixture *f, const char *op, const char *body) {
    cJSON *out = NULL;
    struct sm_err err;
    SM_ASSERT_OK(secrets_call(&f->client, op, NULL, body, strlen(body), 0, &out, &err), err);
    return out;
}

/* CreateSecret with the given SecretString text; returns the ARN in arn. */
static void create_named(struct fixture *f, const char *name, const char *secret, char *arn,
                         size_t cap) {
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "Name", name);
    cJSON_AddStringToObject(body, "SecretString", secret);
    cJSON_AddStringToObject(body, "ClientRequestToken", "00000000-0000-4000-8000-000000000001");
    char *text = cJSON_PrintUnformatted(body);
    cJSON *out = call(f, "CreateSecret", text);
    snprintf(arn, cap, "%s", cJSON_GetObjectItem(out, "ARN")->valuestring);
    cJSON_free(text);
    cJSON_Delete(body);
    cJSON_Delete(out);
}

/* Creates the secret {engine fake, host db, username user, password INITIAL_PW, <extra>}; extra is
 * a JSON fragment starting with a comma, or "". */
static void create(struct fixture *f, const char *user, const char *extra) {
    char secret[2048];
    snprintf(secret, sizeof(secret),
             "{\"engine\":\"fake\",\"host\":\"db\",\"username\":\"%s\",\"password\":\"" INITIAL_PW
             "\"%s}",
             user, extra);
    create_named(f, "app/db", secret, f->arn, sizeof(f->arn));
}

/* PutSecretValue of secret as version token, with one stage (NULL: the default, AWSCURRENT). */
static void put_value(struct fixture *f, const char *token, const char *stage, const char *secret) {
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "SecretId", f->arn);
    cJSON_AddStringToObject(body, "ClientRequestToken", token);
    cJSON_AddStringToObject(body, "SecretString", secret);
    if (stage != NULL) {
        cJSON *stages = cJSON_AddArrayToObject(body, "VersionStages");
        cJSON_AddItemToArray(stages, cJSON_CreateString(stage));
    }
    char *text = cJSON_PrintUnformatted(body);
    cJSON_Delete(call(f, "PutSecretValue", text));
    cJSON_free(text);
    cJSON_Delete(body);
}

static void rotate_secret(struct fixture *f, const char *token) {
    char body[1024];
    snprintf(body, sizeof(body),
             "{\"SecretId\":\"%s\",\"ClientRequestToken\":\"%s\",\"RotationLambdaARN\":"
             "\"arn:aws:lambda:us-east-1:123456789012:function:smrotate\"}",
             f->arn, token);
    cJSON_Delete(call(f, "RotateSecret", body));
}

static int step(struct fixture *f, enum rot_step s, const char *token, struct sm_err *err) {
    struct rot_event ev = {.step = s, .secret_id = f->arn, .token = (char *)token};
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
    struct secrets_secret_value v;
    struct sm_err err;
    out[0] = '\0';
    if (secrets_get_secret_value(&f->client, f->arn, version_id, stage, 0, &v, &err) == 0) {
        cJSON *j = cJSON_Parse(v.secret_string.data);
        const cJSON *item = cJSON_GetObjectItem(j, key);
        if (cJSON_IsString(item)) {
            snprintf(out, cap, "%s", item->valuestring);
        }
        cJSON_Delete(j);
    }
    secrets_secret_value_clean_up(&v);
}

static bool has_stage(struct fixture *f, const char *version_id, const char *stage) {
    struct secrets_description d;
    struct sm_err err;
    SM_ASSERT_OK(secrets_describe_secret(&f->client, f->arn, 0, &d, &err), err);
    const struct secrets_version *v = secrets_description_find(&d, version_id);
    bool yes = v != NULL && secrets_version_has_stage(v, stage);
    secrets_description_clean_up(&d);
    return yes;
}

SM_TEST(rotation_steps_single_user_full_rotation) {
    struct fixture f;
    setup(&f, "single-user");
    fake_db_set_user("app", INITIAL_PW);
    create(&f, "app", ",\"port\":5432,\"extra\":{\"k\":[1,2]}");
    rotate_secret(&f, TOKEN);
    all_steps(&f, TOKEN);
    SM_ASSERT(has_stage(&f, TOKEN, "AWSCURRENT"));
    SM_ASSERT(has_stage(&f, "00000000-0000-4000-8000-000000000001", "AWSPREVIOUS"));
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
    rotate_secret(&f, TOKEN);
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
    rotate_secret(&f, TOKEN);
    step_ok(&f, ROT_STEP_CREATE, TOKEN);
    int before = fake_db.connects;
    step_ok(&f, ROT_STEP_SET, TOKEN);
    SM_ASSERT_INT_EQ(fake_db.connects - before, 1);
    SM_ASSERT_INT_EQ(fake_sm_count_calls(&f.sm, "GetSecretValue"), 4); /* create 2, set 2 */
    teardown(&f);
}

SM_TEST(rotation_steps_create_secret_rejects_invalid_current_and_stages_nothing) {
    struct fixture f;
    setup(&f, NULL);
    create(&f, "app", ",\"port\":\"abc\"");
    rotate_secret(&f, TOKEN);
    struct sm_err err;
    SM_ASSERT_INT_EQ(step(&f, ROT_STEP_CREATE, TOKEN, &err), -1);
    SM_ASSERT_CODE_EQ(err.code, ROT_ERR_SECRET_INVALID);
    SM_ASSERT_STR_CONTAINS(err.msg, "AWSCURRENT version of secret");
    SM_ASSERT_STR_CONTAINS(err.msg, "port in secret JSON must be a whole number");
    SM_ASSERT_INT_EQ(fake_sm_count_calls(&f.sm, "PutSecretValue"), 0);
    SM_ASSERT_INT_EQ(fake_sm_count_calls(&f.sm, "GetRandomPassword"), 0);
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
        step_ok(&f, (enum rot_step)s, "00000000-0000-4000-8000-000000000001");
    }
    rotate_secret(&f, TOKEN);
    all_steps(&f, TOKEN);
    /* The old version now only holds AWSPREVIOUS. */
    SM_ASSERT_INT_EQ(step(&f, ROT_STEP_SET, "00000000-0000-4000-8000-000000000001", &err), -1);
    SM_ASSERT_STR_CONTAINS(err.msg, "not set as AWSPENDING for rotation of secret");
    /* Rotation switched off. */
    char body[600];
    snprintf(body, sizeof(body), "{\"SecretId\":\"%s\"}", f.arn);
    cJSON_Delete(call(&f, "CancelRotateSecret", body));
    SM_ASSERT_INT_EQ(step(&f, ROT_STEP_SET, TOKEN2, &err), -1);
    SM_ASSERT_STR_CONTAINS(err.msg, "is not enabled for rotation");
    teardown(&f);
}

SM_TEST(rotation_steps_unreachable_database_changes_nothing) {
    struct fixture f;
    setup(&f, NULL);
    fake_db_set_user("app", INITIAL_PW);
    create(&f, "app", "");
    rotate_secret(&f, TOKEN);
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
    put_value(&f, "00000000-0000-4000-8000-000000000002", NULL,
              "{\"engine\":\"fake\",\"host\":\"db\",\"username\":\"app\",\"password\":\"wrong\"}");
    rotate_secret(&f, TOKEN);
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
    rotate_secret(&f, TOKEN);
    step_ok(&f, ROT_STEP_CREATE, TOKEN);
    struct sm_err err;
    SM_ASSERT_INT_EQ(step(&f, ROT_STEP_SET, TOKEN, &err), -1);
    SM_ASSERT_CODE_EQ(err.code, ROT_ERR_DB_LOGIN);
    SM_ASSERT_STR_CONTAINS(err.msg, "Unable to log into database with previous, current, or "
                                    "pending secret of secret arn");
    SM_ASSERT_STR_CONTAINS(err.msg, "AWSCURRENT: password authentication failed");
    SM_ASSERT_STR_CONTAINS(err.msg, "AWSPENDING: password authentication failed");
    SM_ASSERT_STR_NOT_CONTAINS(err.msg, INITIAL_PW);
    teardown(&f);
}

SM_TEST(rotation_steps_pending_for_another_user_is_refused) {
    struct fixture f;
    setup(&f, NULL);
    fake_db_set_user("app", INITIAL_PW);
    fake_db_set_user("admin", "admin-pw");
    create(&f, "app", "");
    rotate_secret(&f, TOKEN);
    /* A pending value someone wrote by hand, for another user. */
    put_value(&f, TOKEN, "AWSPENDING",
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
    rotate_secret(&f, TOKEN);
    step_ok(&f, ROT_STEP_CREATE, TOKEN);
    step_ok(&f, ROT_STEP_SET, TOKEN);
    step_ok(&f, ROT_STEP_TEST, TOKEN);
    /* The label move lands, but the answer is a 500: the client's retry then fails because the
     * label is no longer where it was. */
    cJSON_Delete(fake_sm_control(&f.sm, "POST", "/_fake/faults",
                                 "{\"operation\":\"UpdateSecretVersionStage\",\"error\":"
                                 "\"InternalServiceError\",\"apply\":true}"));
    step_ok(&f, ROT_STEP_FINISH, TOKEN);
    SM_ASSERT(has_stage(&f, TOKEN, "AWSCURRENT"));
    teardown(&f);
}

SM_TEST(rotation_steps_throttling_is_retried_within_a_step) {
    struct fixture f;
    setup(&f, NULL);
    fake_db_set_user("app", INITIAL_PW);
    create(&f, "app", "");
    rotate_secret(&f, TOKEN);
    fake_sm_fault(&f.sm, "GetSecretValue", "ThrottlingException", 2);
    step_ok(&f, ROT_STEP_CREATE, TOKEN);
    teardown(&f);
}

SM_TEST(rotation_steps_rotation_token_forwarded_only_to_put) {
    struct fixture f;
    setup(&f, NULL);
    fake_db_set_user("app", INITIAL_PW);
    create(&f, "app", "");
    rotate_secret(&f, TOKEN);
    struct rot_event ev = {.step = ROT_STEP_CREATE,
                           .secret_id = f.arn,
                           .token = TOKEN,
                           .rotation_token = "5b0e8f3a-6d2c-4e1b-9a7f-8c3d2e1f0a9b"};
    struct sm_err err;
    SM_ASSERT_OK(rot_run_step(&f.ctx, &ev, 0, &err), err);
    cJSON *calls = fake_sm_control(&f.sm, "GET", "/_fake/calls", NULL);
    int with_token = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, calls) {
        if (cJSON_IsTrue(cJSON_GetObjectItem(c, "rotation_token_present"))) {
            SM_ASSERT_STR_EQ(cJSON_GetObjectItem(c, "operation")->valuestring, "PutSecretValue");
            with_token++;
        }
    }
    cJSON_Delete(calls);
    SM_ASSERT_INT_EQ(with_token, 1);
    teardown(&f);
}

static void setup_alternating(struct fixture *f, const char *master_json) {
    setup(f, "multi-user");
    fake_db_set_user("app", INITIAL_PW);
    fake_db_set_user("admin", "admin-pw");
    char master_arn[512], extra[700];
    create_named(f, "master", master_json, master_arn, sizeof(master_arn));
    snprintf(extra, sizeof(extra), ",\"masterarn\":\"%s\"", master_arn);
    create(f, "app", extra);
}

#define MASTER_OK                                                                                  \
    "{\"engine\":\"fake\",\"host\":\"db\",\"username\":\"admin\","                                 \
    "\"password\":\"admin-pw\"}"

SM_TEST(rotation_steps_alternating_users_clone_then_flip_back) {
    struct fixture f;
    setup_alternating(&f, MASTER_OK);
    rotate_secret(&f, TOKEN);
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
    rotate_secret(&f, TOKEN2);
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

SM_TEST(rotation_steps_alternating_users_guards) {
    struct {
        const char *master;
        const char *expect;
        const struct sm_code *code;
    } cases[] = {
        {"{\"username\":\"admin\",\"password\":\"admin-pw\"}", "holds only username and password",
         ROT_ERR_UNSUPPORTED},
        {"{\"engine\":\"fake\",\"host\":\"other\",\"username\":\"admin\","
         "\"password\":\"admin-pw\"}",
         "Current database host db is not the same host as/rds replica of master other",
         ROT_ERR_ROTATION},
        {"{\"engine\":\"fake\",\"host\":\"db\",\"username\":\"admin\","
         "\"password\":\"wrong\"}",
         "Unable to log into database using credentials in master secret", ROT_ERR_DB_LOGIN},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fixture f;
        setup_alternating(&f, cases[i].master);
        rotate_secret(&f, TOKEN);
        step_ok(&f, ROT_STEP_CREATE, TOKEN);
        struct sm_err err;
        SM_ASSERT_INT_EQ(step(&f, ROT_STEP_SET, TOKEN, &err), -1);
        SM_ASSERT_STR_CONTAINS(err.msg, cases[i].expect);
        SM_ASSERT_CODE_EQ(err.code, cases[i].code);
        SM_ASSERT(fake_db_password("app_clone") == NULL);
        teardown(&f);
    }
}

SM_TEST(rotation_steps_alternating_users_missing_masterarn) {
    struct fixture f;
    setup(&f, "multi-user");
    fake_db_set_user("app", INITIAL_PW);
    create(&f, "app", "");
    rotate_secret(&f, TOKEN);
    step_ok(&f, ROT_STEP_CREATE, TOKEN);
    struct sm_err err;
    SM_ASSERT_INT_EQ(step(&f, ROT_STEP_SET, TOKEN, &err), -1);
    SM_ASSERT_STR_CONTAINS(err.msg, "masterarn key is missing from secret JSON");
    teardown(&f);
}

SM_TEST(rotation_steps_alternating_users_current_login_required) {
    struct fixture f;
    setup_alternating(&f, MASTER_OK);
    fake_db_set_user("app", "changed-elsewhere");
    rotate_secret(&f, TOKEN);
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
    rotate_secret(&f, TOKEN);
    struct sm_err err;
    SM_ASSERT_INT_EQ(step(&f, ROT_STEP_CREATE, TOKEN, &err), -1);
    SM_ASSERT_STR_EQ(err.msg, "Unable to clone user, username length with _clone appended would "
                              "exceed 20 characters");
    SM_ASSERT_INT_EQ(fake_sm_count_calls(&f.sm, "PutSecretValue"), 0);
    teardown(&f);
}
