/*
 * The Secrets Manager client (runtime/secretsmanager.c on runtime/aws.c) over HTTP against the
 * local emulator tests/fakes/fake_secretsmanager.py, which verifies SigV4 on every request
 * independently of our signer and answers AWS's error shapes: one emulator process per test. What
 * needs no network (retries, backoff, deadlines, error classes, parsing) is in
 * tests/unit/test_aws.c; backoff delays are drawn as 0 here (fake_aws_no_jitter).
 */
#include "aws.h"
#include "clock.h"
#include "fakes/fake_aws_process.h"
#include "harness.h"
#include "json.h"
#include "mem.h"
#include "secretsmanager_testing.h"

#include <stdbool.h>
#include <unistd.h>

#define AKID "AKIDFAKETESTKEY00001"
#define SECRET_KEY "fakeSecretKey/For+Tests0123456789abcdefg"
#define REGION "us-east-1"
#define TOKEN_A "11111111-2222-4333-8444-555555555555"
#define TOKEN_B "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
#define TOKEN_C "0c9e4d2a-7f31-4b8e-a5c6-1e2d3f4a5b6c"
#define ROTATION_TOKEN "5b0e8f3a-6d2c-4e1b-9a7f-8c3d2e1f0a9b"

static int64_t deadline_in(int64_t ms) {
    return sm_now_ms() + ms;
}

struct client_env {
    struct aws_config cfg;
    struct http_client http;
    struct aws_client c;
};

static void client_start(struct client_env *e, const char *endpoint, const char *secret_key,
                         const char *session_token) {
    struct sm_err err;
    memset(e, 0, sizeof(*e));
    e->cfg.region = sm_strdup(REGION);
    e->cfg.access_key_id = sm_strdup(AKID);
    e->cfg.secret_access_key = sm_strdup(secret_key);
    e->cfg.session_token = session_token != NULL ? sm_strdup(session_token) : NULL;
    e->cfg.connect_timeout_ms = 2000;
    e->cfg.attempt_timeout_ms = 10000;
    e->cfg.max_attempts = 3;
    SM_ASSERT_OK(http_client_init(&e->http, &err), err);
    SM_ASSERT_OK(secrets_client_init(&e->c, &e->cfg, endpoint, &e->http, &err), err);
    fake_aws_no_jitter(&e->c);
}

static void client_stop(struct client_env *e) {
    http_client_clean_up(&e->http);
    aws_config_clean_up(&e->cfg);
}

struct emu {
    struct fake_aws fake;
    struct client_env client;
};

static void emu_start(struct emu *e, const char *const *extra_args) {
    fake_aws_start_secretsmanager(&e->fake, AKID, SECRET_KEY, extra_args);
    client_start(&e->client, e->fake.endpoint, SECRET_KEY, NULL);
}

static void emu_stop(struct emu *e) {
    client_stop(&e->client);
    fake_aws_stop(&e->fake);
}

/* Creates a secret through the client's own signed secrets_call; returns its first version id. */
static void create_secret(struct emu *e, const char *name, const char *value, const char *token) {
    char body[1024];
    snprintf(body, sizeof(body),
             "{\"Name\":\"%s\",\"SecretString\":\"%s\",\"ClientRequestToken\":\"%s\"}", name, value,
             token);
    struct sm_err err;
    cJSON *out = NULL;
    SM_ASSERT_OK(secrets_call(&e->client.c, "CreateSecret", name, body, strlen(body),
                              deadline_in(10000), &out, &err),
                 err);
    SM_ASSERT_STR_EQ(sm_json_string(out, "VersionId"), token);
    cJSON_Delete(out);
}

/* The emulator's state of one version (from GET /_fake/state), or NULL. Borrowed from state. */
static const cJSON *state_version(const cJSON *state, const char *name, const char *version_id) {
    const cJSON *s;
    cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(state, "secrets")) {
        if (strcmp(sm_json_string(s, "Name"), name) != 0) {
            continue;
        }
        const cJSON *v;
        cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(s, "Versions")) {
            if (strcmp(sm_json_string(v, "VersionId"), version_id) == 0) {
                return v;
            }
        }
    }
    return NULL;
}

static bool state_has_stage(const cJSON *version, const char *stage) {
    const cJSON *s;
    cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(version, "VersionStages")) {
        if (cJSON_IsString(s) && strcmp(s->valuestring, stage) == 0) {
            return true;
        }
    }
    return false;
}

/* CreateSecret and RotateSecret are not the client's operations: sent through secrets_call. */
static void call(struct emu *e, const char *operation, const char *body) {
    struct sm_err err;
    cJSON *out = NULL;
    SM_ASSERT_OK(secrets_call(&e->client.c, operation, NULL, body, strlen(body), deadline_in(10000),
                              &out, &err),
                 err);
    cJSON_Delete(out);
}

SM_TEST(secrets_describe_secret_reads_versions_tags_and_rotation_state) {
    struct emu e;
    emu_start(&e, NULL);
    call(&e, "CreateSecret",
         "{\"Name\":\"app/db\",\"SecretString\":\"v\",\"ClientRequestToken\":\"" TOKEN_A
         "\",\"Tags\":[{\"Key\":\"Engine\",\"Value\":\"mysql\"},{\"Key\":\"team\",\"Value\":\"\"}]"
         "}");
    struct sm_err err;
    struct secrets_description d;
    SM_ASSERT_OK(secrets_describe_secret(&e.client.c, "app/db", deadline_in(10000), &d, &err), err);
    SM_ASSERT_STR_CONTAINS(d.arn, "arn:aws:secretsmanager:us-east-1:");
    SM_ASSERT_INT_EQ(d.rotation_enabled, -1); /* never configured: absent */
    SM_ASSERT_INT_EQ(d.n_versions, 1);
    SM_ASSERT(secrets_description_holder(&d, "AWSCURRENT") ==
              secrets_description_find(&d, TOKEN_A));
    SM_ASSERT_INT_EQ(d.n_tags, 2);
    SM_ASSERT_STR_EQ(secrets_description_tag(&d, "engine"), "mysql");
    SM_ASSERT_STR_EQ(secrets_description_tag(&d, "TEAM"), ""); /* present but empty */
    /* The ARN works as SecretId too; RotateSecret leaves a value-less AWSPENDING version. */
    char *arn = sm_strdup(d.arn);
    secrets_description_clean_up(&d);
    call(&e, "RotateSecret",
         "{\"SecretId\":\"app/db\",\"ClientRequestToken\":\"" TOKEN_B "\","
         "\"RotationLambdaARN\":\"arn:aws:lambda:us-east-1:123456789012:function:r\"}");
    SM_ASSERT_OK(secrets_describe_secret(&e.client.c, arn, deadline_in(10000), &d, &err), err);
    SM_ASSERT_STR_EQ(d.arn, arn);
    SM_ASSERT_INT_EQ(d.rotation_enabled, 1);
    SM_ASSERT(secrets_description_holder(&d, "AWSPENDING") ==
              secrets_description_find(&d, TOKEN_B));
    secrets_description_clean_up(&d);
    sm_free(arn);
    struct secrets_value v;
    SM_ASSERT_INT_EQ(secrets_get_secret_value(&e.client.c, "app/db", TOKEN_B, "AWSPENDING",
                                              deadline_in(10000), &v, &err),
                     -1);
    SM_ASSERT(sm_err_is_aws(&err, "ResourceNotFoundException"));
    SM_ASSERT_INT_EQ(err.http_status, 400);
    SM_ASSERT(v.secret_string == NULL);
    secrets_value_clean_up(&v);
    SM_ASSERT_INT_EQ(fake_aws_wait_calls(&e.fake, "DescribeSecret", 2), 2);
    emu_stop(&e);
}

SM_TEST(secrets_get_secret_value_by_stage_and_by_version_id) {
    struct emu e;
    emu_start(&e, NULL);
    create_secret(&e, "s", "first-value", TOKEN_A);
    struct sm_err err;
    SM_ASSERT_OK(secrets_put_secret_value(&e.client.c, "s", TOKEN_B, "second-value", 12, NULL, 0,
                                          NULL, deadline_in(10000), &err),
                 err);
    struct secrets_value v;
    SM_ASSERT_OK(
        secrets_get_secret_value(&e.client.c, "s", NULL, NULL, deadline_in(10000), &v, &err), err);
    SM_ASSERT_SECRET_EQ(v.secret_string, "second-value");
    SM_ASSERT_INT_EQ(v.secret_string_len, 12);
    secrets_value_clean_up(&v);
    SM_ASSERT_OK(secrets_get_secret_value(&e.client.c, "s", TOKEN_A, "AWSPREVIOUS",
                                          deadline_in(10000), &v, &err),
                 err);
    SM_ASSERT_SECRET_EQ(v.secret_string, "first-value");
    secrets_value_clean_up(&v);
    /* VersionId and VersionStage that disagree: InvalidRequestException, not retried. */
    uint64_t before = e.client.c.calls;
    SM_ASSERT_INT_EQ(secrets_get_secret_value(&e.client.c, "s", TOKEN_A, "AWSCURRENT",
                                              deadline_in(10000), &v, &err),
                     -1);
    SM_ASSERT(sm_err_is_aws(&err, "InvalidRequestException"));
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_AWS_CLIENT);
    SM_ASSERT_INT_EQ(e.client.c.calls - before, 1);
    secrets_value_clean_up(&v);
    emu_stop(&e);
}

static bool version_flag(const cJSON *state, const char *name, const char *version_id,
                         const char *flag) {
    return cJSON_IsTrue(
        cJSON_GetObjectItemCaseSensitive(state_version(state, name, version_id), flag));
}

/* The same token and value twice succeed; another value under that token conflicts. The
 * RotationToken member is sent only when given. */
SM_TEST(secrets_put_secret_value_is_idempotent_and_conflicts_on_other_value) {
    struct emu e;
    emu_start(&e, NULL);
    create_secret(&e, "p", "v1", TOKEN_A);
    struct sm_err err;
    const char *pending[] = {"AWSPENDING"};
    const char *value = "{\"password\":\"n3w/P@ss\\\"word\"}";
    for (int i = 0; i < 2; i++) {
        SM_ASSERT_OK(secrets_put_secret_value(&e.client.c, "p", TOKEN_B, value, strlen(value),
                                              pending, 1, ROTATION_TOKEN, deadline_in(10000), &err),
                     err);
    }
    uint64_t before = e.client.c.calls;
    SM_ASSERT_INT_EQ(secrets_put_secret_value(&e.client.c, "p", TOKEN_B, "other", 5, pending, 1,
                                              NULL, deadline_in(10000), &err),
                     -1);
    SM_ASSERT(sm_err_is_aws(&err, "ResourceExistsException"));
    SM_ASSERT_INT_EQ(e.client.c.calls - before, 1);
    SM_ASSERT_STR_NOT_CONTAINS(err.msg, "other");
    /* Without stages the service moves AWSCURRENT to the new version; "" sends no token. */
    SM_ASSERT_OK(secrets_put_secret_value(&e.client.c, "p", TOKEN_C, "v3", 2, NULL, 0, "",
                                          deadline_in(10000), &err),
                 err);
    cJSON *state = fake_aws_control(&e.fake, "GET", "/_fake/state", NULL);
    const cJSON *ver = state_version(state, "p", TOKEN_B);
    SM_ASSERT_SECRET_EQ(sm_json_string(ver, "SecretString"), value);
    SM_ASSERT(!state_has_stage(ver, "AWSCURRENT"));
    SM_ASSERT(state_has_stage(state_version(state, "p", TOKEN_C), "AWSCURRENT"));
    SM_ASSERT(state_has_stage(state_version(state, "p", TOKEN_A), "AWSPREVIOUS"));
    SM_ASSERT(version_flag(state, "p", TOKEN_B, "RotationTokenPresent"));
    SM_ASSERT(!version_flag(state, "p", TOKEN_C, "RotationTokenPresent"));
    cJSON_Delete(state);
    emu_stop(&e);
}

SM_TEST(secrets_update_secret_version_stage_moves_current_and_previous) {
    struct emu e;
    emu_start(&e, NULL);
    create_secret(&e, "u", "v1", TOKEN_A);
    struct sm_err err;
    const char *pending[] = {"AWSPENDING"};
    SM_ASSERT_OK(secrets_put_secret_value(&e.client.c, "u", TOKEN_B, "v2", 2, pending, 1, NULL,
                                          deadline_in(10000), &err),
                 err);
    /* Without RemoveFromVersionId the move of AWSCURRENT fails (InvalidParameterException). */
    SM_ASSERT_INT_EQ(secrets_update_secret_version_stage(&e.client.c, "u", "AWSCURRENT", TOKEN_B,
                                                         NULL, deadline_in(10000), &err),
                     -1);
    SM_ASSERT(sm_err_is_aws(&err, "InvalidParameterException"));
    SM_ASSERT_OK(secrets_update_secret_version_stage(&e.client.c, "u", "AWSCURRENT", TOKEN_B,
                                                     TOKEN_A, deadline_in(10000), &err),
                 err);
    struct secrets_description d;
    SM_ASSERT_OK(secrets_describe_secret(&e.client.c, "u", deadline_in(10000), &d, &err), err);
    SM_ASSERT(secrets_version_has_stage(secrets_description_find(&d, TOKEN_B), "AWSCURRENT"));
    SM_ASSERT(secrets_version_has_stage(secrets_description_find(&d, TOKEN_B), "AWSPENDING"));
    SM_ASSERT(secrets_version_has_stage(secrets_description_find(&d, TOKEN_A), "AWSPREVIOUS"));
    secrets_description_clean_up(&d);
    /* RemoveFromVersionId alone removes a label. */
    SM_ASSERT_OK(secrets_update_secret_version_stage(&e.client.c, "u", "AWSPENDING", NULL, TOKEN_B,
                                                     deadline_in(10000), &err),
                 err);
    SM_ASSERT_OK(secrets_describe_secret(&e.client.c, "u", deadline_in(10000), &d, &err), err);
    SM_ASSERT(!secrets_version_has_stage(secrets_description_find(&d, TOKEN_B), "AWSPENDING"));
    secrets_description_clean_up(&d);
    emu_stop(&e);
}

/* libcurl itself resends a request once when a reused keep-alive connection dies before any
 * answer; on a fresh connection the failure reaches the client, which retries it, as it retries
 * the emulator's throttling answer. */
SM_TEST(secrets_dropped_connection_and_throttling_are_retried) {
    struct emu e;
    emu_start(&e, NULL);
    create_secret(&e, "t", "value", TOKEN_A);
    struct sm_err err;
    struct secrets_value v;

    /* A fresh client: its first request opens a new connection, which the emulator resets. */
    struct client_env fresh;
    client_start(&fresh, e.fake.endpoint, SECRET_KEY, NULL);
    fake_aws_fault(&e.fake, "GetSecretValue", "reset", 1);
    SM_ASSERT_OK(secrets_get_secret_value(&fresh.c, "t", NULL, NULL, deadline_in(10000), &v, &err),
                 err);
    SM_ASSERT_SECRET_EQ(v.secret_string, "value");
    secrets_value_clean_up(&v);
    SM_ASSERT_INT_EQ(fresh.c.calls, 2);
    SM_ASSERT_INT_EQ(fake_aws_wait_calls(&e.fake, "GetSecretValue", 2), 2);
    client_stop(&fresh);

    /* On the reused connection: an abrupt reset, then an orderly close. */
    fake_aws_fault(&e.fake, "GetSecretValue", "reset", 1);
    fake_aws_fault(&e.fake, "GetSecretValue", "close", 1);
    uint64_t before = e.client.c.calls;
    SM_ASSERT_OK(
        secrets_get_secret_value(&e.client.c, "t", NULL, NULL, deadline_in(10000), &v, &err), err);
    secrets_value_clean_up(&v);
    SM_ASSERT(e.client.c.calls - before >= 2 && e.client.c.calls - before <= 3);
    SM_ASSERT_INT_EQ(fake_aws_wait_calls(&e.fake, "GetSecretValue", 5), 5);
    fake_aws_fault(&e.fake, "GetSecretValue", "ThrottlingException", 2);
    before = e.client.c.calls;
    SM_ASSERT_OK(
        secrets_get_secret_value(&e.client.c, "t", NULL, NULL, deadline_in(10000), &v, &err), err);
    secrets_value_clean_up(&v);
    SM_ASSERT_INT_EQ(e.client.c.calls - before, 3);
    emu_stop(&e);
}

/* The emulator checks the signature and the session token: a request signed with the key and
 * token it knows passes, anything else is refused with AWS's auth errors and retried never. */
SM_TEST(secrets_signature_and_session_token_are_verified) {
    const char *token = "IQoJb3JpZ2luX2VjEXAMPLETOKEN/+=";
    const char *extra[] = {"--session-token", token, NULL};
    struct emu e;
    emu_start(&e, extra);
    struct client_env ok, wrong_key, wrong_token;
    client_start(&ok, e.fake.endpoint, SECRET_KEY, token);
    client_start(&wrong_key, e.fake.endpoint, "wrongSecretKeyWrongSecretKeyWrongSecret0", token);
    client_start(&wrong_token, e.fake.endpoint, SECRET_KEY, "SomeOtherTokenValue");
    struct sm_err err;
    struct sm_buf pw;
    sm_buf_init(&pw, 4096);
    SM_ASSERT_OK(secrets_get_random_password(&ok.c, NULL, deadline_in(10000), &pw, &err), err);
    SM_ASSERT_INT_EQ(pw.len, 32);
    SM_ASSERT_INT_EQ(secrets_get_random_password(&wrong_key.c, NULL, deadline_in(10000), &pw, &err),
                     -1);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_AWS_AUTH);
    SM_ASSERT_STR_CONTAINS(err.msg, "GetRandomPassword failed: InvalidSignatureException: The "
                                    "request signature we calculated does not match");
    SM_ASSERT_INT_EQ(
        secrets_get_random_password(&wrong_token.c, NULL, deadline_in(10000), &pw, &err), -1);
    SM_ASSERT_STR_EQ(err.aws_type, "UnrecognizedClientException");
    SM_ASSERT_STR_NOT_CONTAINS(err.msg, "SomeOtherTokenValue");
    SM_ASSERT_INT_EQ(e.client.c.calls, 0);
    SM_ASSERT_INT_EQ(secrets_get_random_password(&e.client.c, NULL, deadline_in(10000), &pw, &err),
                     -1); /* no token at all */
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_AWS_AUTH);
    SM_ASSERT_INT_EQ(wrong_key.c.calls + wrong_token.c.calls + e.client.c.calls, 3);
    sm_buf_clean_up(&pw);
    client_stop(&ok);
    client_stop(&wrong_key);
    client_stop(&wrong_token);
    emu_stop(&e);
}

static long stat_connections(struct fake_aws *f) {
    cJSON *stats = fake_aws_control(f, "GET", "/_fake/stats", NULL);
    long n = (long)cJSON_GetObjectItemCaseSensitive(stats, "connections")->valuedouble;
    cJSON_Delete(stats);
    return n;
}

SM_TEST(secrets_one_connection_is_reused_across_calls) {
    struct emu e;
    emu_start(&e, NULL);
    long before = stat_connections(&e.fake); /* the control client's own connection */
    create_secret(&e, "k", "value", TOKEN_A);
    struct sm_err err;
    for (int i = 0; i < 2; i++) {
        struct secrets_value v;
        SM_ASSERT_OK(
            secrets_get_secret_value(&e.client.c, "k", NULL, NULL, deadline_in(10000), &v, &err),
            err);
        secrets_value_clean_up(&v);
        struct secrets_description d;
        SM_ASSERT_OK(secrets_describe_secret(&e.client.c, "k", deadline_in(10000), &d, &err), err);
        secrets_description_clean_up(&d);
    }
    /* Even an error response keeps the connection. */
    struct secrets_description d;
    SM_ASSERT_INT_EQ(secrets_describe_secret(&e.client.c, "missing", deadline_in(10000), &d, &err),
                     -1);
    secrets_description_clean_up(&d);
    SM_ASSERT_INT_EQ(e.client.c.calls, 6);
    SM_ASSERT_INT_EQ(stat_connections(&e.fake) - before, 1);
    emu_stop(&e);
}

/* The emulator serves HTTPS with a throw-away self-signed certificate: the client trusts it only
 * through the configured CA file. */
SM_TEST(secrets_https_endpoint_is_verified_against_the_ca_file) {
    const char *state = getenv("SMR_STATE_DIR");
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/smc-tls-XXXXXX", state != NULL && state[0] ? state : "/tmp");
    if (state != NULL && state[0]) {
        char mk[600];
        snprintf(mk, sizeof(mk), "mkdir -p '%s'", state);
        SM_ASSERT_INT_EQ(system(mk), 0);
    }
    SM_ASSERT(mkdtemp(dir) != NULL);
    char cert[600], key[600], cmd[2048];
    snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
    snprintf(key, sizeof(key), "%s/key.pem", dir);
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
             "-keyout '%s' -out '%s' -days 1 -subj /CN=127.0.0.1 "
             "-addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1",
             key, cert);
    SM_ASSERT_INT_EQ(system(cmd), 0);
    const char *extra[] = {"--tls-cert", cert, "--tls-key", key, NULL};
    struct fake_aws fake;
    fake_aws_start_secretsmanager(&fake, AKID, SECRET_KEY, extra);
    char endpoint[64];
    snprintf(endpoint, sizeof(endpoint), "https://127.0.0.1:%d", fake.port);

    struct client_env ce;
    client_start(&ce, endpoint, SECRET_KEY, NULL);
    ce.cfg.ca_file = sm_strdup(cert);
    struct sm_err err;
    struct sm_buf pw;
    sm_buf_init(&pw, 4096);
    SM_ASSERT_OK(secrets_get_random_password(&ce.c, NULL, deadline_in(10000), &pw, &err), err);
    SM_ASSERT_INT_EQ(pw.len, 32);

    /* Another CA bundle does not vouch for it: a transport error, never a silent success. */
    sm_free(ce.cfg.ca_file);
    ce.cfg.ca_file = sm_strdup(sm_test_path("data/sigv4/LICENSE"));
    ce.cfg.max_attempts = 1;
    SM_ASSERT_INT_EQ(secrets_get_random_password(&ce.c, NULL, deadline_in(10000), &pw, &err), -1);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_TRANSPORT);
    SM_ASSERT_STR_CONTAINS(err.msg, "GetRandomPassword failed: POST https://127.0.0.1:");
    sm_buf_clean_up(&pw);
    client_stop(&ce);
    fake_aws_stop(&fake);
    unlink(cert);
    unlink(key);
    rmdir(dir);
}
