/*
 * The credential chain (runtime/credentials.h) against the faithful local fakes: STS
 * (tests/fakes/fake_sts.py, which verifies AssumeRole's SigV4 itself), the instance metadata
 * service (fake_imds.py, IMDSv2 sessions required) and the container credentials endpoint
 * (fake_container_creds.py, its authorization token checked), over real HTTP. Each case resolves
 * credentials from one source and then makes signed calls with them to the local Secrets Manager
 * (fake_secretsmanager.py), which accepts only the key and session token that source hands out:
 * what `bootstrap check` does from a shell. The request-level details: tests/unit/
 * test_creds_http.c.
 */
#include "clock.h"
#include "credentials.h"
#include "fakes/fake_aws_process.h"
#include "fakes/fake_creds.h"
#include "harness.h"
#include "http.h"
#include "json.h"
#include "mem.h"
#include "secretsmanager_testing.h"

#define BASE_AKID "AKIDCREDSBASE0000001"
#define BASE_SECRET "baseSecretKey/For+Tests0123456789abcdefg"
#define ROLE_AKID "ASIACREDSROLE0000001"
#define ROLE_SECRET "roleSecretKey/For+Tests0123456789abcdefg"
#define ROLE_TOKEN "roleSessionToken/For+Tests0123456789abcdefgh"
#define ROLE "arn:aws:iam::123456789012:role/rotation-checker"
#define ISSUED                                                                                     \
    "\"credentials\":{\"access_key_id\":\"" ROLE_AKID "\",\"secret_access_key\":\"" ROLE_SECRET    \
    "\",\"session_token\":\"" ROLE_TOKEN "\"}"

struct env {
    struct fake_home home;
    struct fake_aws sm, source; /* Secrets Manager; the fake the credentials come from */
    struct http_client http;
    struct aws_system sys;
    struct aws_config cfg;
    char source_text[600];
};

/* A home, the Secrets Manager accepting only the role's credentials, an HTTP client. */
static void env_start(struct env *e) {
    struct sm_err err;
    memset(e, 0, sizeof(*e));
    fake_home_start(&e->home);
    setenv("AWS_REGION", "us-east-1", 1); /* the fakes' region */
    const char *sm_args[] = {"--session-token", ROLE_TOKEN, NULL};
    fake_aws_start_secretsmanager(&e->sm, ROLE_AKID, ROLE_SECRET, sm_args);
    SM_ASSERT_OK(http_client_init(&e->http, &err), err);
    e->sys = aws_system_real(&e->http);
}

static void resolve(struct env *e) {
    struct sm_err err;
    SM_ASSERT_OK(aws_config_settings_from_env(&e->cfg, &err), err);
    SM_ASSERT_OK(creds_resolve(&e->cfg, &e->sys, sm_now_ms() + 60000, e->source_text,
                               sizeof(e->source_text), &err),
                 err);
    SM_ASSERT_STR_EQ(e->cfg.access_key_id, ROLE_AKID);
    SM_ASSERT_SECRET_EQ(e->cfg.secret_access_key, ROLE_SECRET);
    SM_ASSERT_SECRET_EQ(e->cfg.session_token, ROLE_TOKEN);
}

/* CreateSecret then GetSecretValue, signed with what the chain resolved. */
static void signed_calls_work(struct env *e) {
    struct aws_client c;
    struct sm_err err;
    SM_ASSERT_OK(secrets_client_init(&c, &e->cfg, e->sm.endpoint, &e->http, &err), err);
    fake_aws_no_jitter(&c);
    const char *create =
        "{\"Name\":\"creds/check\",\"SecretString\":\"{\\\"password\\\":\\\"p\\\"}\","
        "\"ClientRequestToken\":\"00000000-0000-4000-8000-000000000001\"}";
    cJSON *out = NULL;
    SM_ASSERT_OK(secrets_call(&c, "CreateSecret", NULL, create, strlen(create), 0, &out, &err),
                 err);
    cJSON_Delete(out);
    struct secrets_value v;
    SM_ASSERT_OK(secrets_get_secret_value(&c, "creds/check", NULL, "AWSCURRENT", 0, &v, &err), err);
    SM_ASSERT_SECRET_EQ(v.secret_string, "{\"password\":\"p\"}");
    secrets_value_clean_up(&v);
    SM_ASSERT_INT_EQ(fake_aws_count_calls(&e->sm, NULL), 2);
}

static void env_stop(struct env *e) {
    aws_config_clean_up(&e->cfg);
    http_client_clean_up(&e->http);
    fake_aws_stop(&e->source);
    fake_aws_stop(&e->sm);
    fake_home_stop(&e->home);
}

/* One recorded call's string field (the fake's call log). */
static void expect_call(struct fake_aws *f, size_t index, const char *key, const char *want) {
    cJSON *calls = fake_aws_control(f, "GET", "/_fake/calls", NULL);
    const cJSON *call = cJSON_GetArrayItem(calls, (int)index);
    SM_ASSERT(call != NULL);
    /* The key must be there, as a string or a boolean: a fake that stops recording it fails. */
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(call, key);
    if (!cJSON_IsString(v) && !cJSON_IsBool(v)) {
        SM_FAIL("call %zu: %s is %s", index, key, v == NULL ? "missing" : "no string or boolean");
    }
    const char *got = cJSON_IsString(v) ? v->valuestring : cJSON_IsTrue(v) ? "true" : "false";
    SM_ASSERT_STR_EQ(got, want);
    cJSON_Delete(calls);
}

/* A profile whose role is assumed with a source profile's keys, through a chain of two roles. */
SM_TEST(client_creds_assume_role_chain_then_secrets_manager) {
    struct env e;
    env_start(&e);
    fake_aws_start_sts(&e.source, BASE_AKID, BASE_SECRET, NULL);
    cJSON_Delete(fake_aws_control(
        &e.source, "POST", "/_fake/state",
        "{\"roles\":[{\"arn\":\"arn:aws:iam::123456789012:role/ops\",\"trust\":[\"" BASE_AKID
        "\"]},{\"arn\":\"" ROLE "\",\"external_id\":\"ext-7\",\"trust\":[\"arn:aws:sts::"
        "123456789012:assumed-role/ops/hop-1\"]," ISSUED "}]}"));
    setenv("AWS_ENDPOINT_URL_STS", e.source.endpoint, 1);
    fake_home_write(&e.home, ".aws/credentials",
                    "[base]\naws_access_key_id = " BASE_AKID
                    "\naws_secret_access_key = " BASE_SECRET "\n",
                    0600);
    fake_home_write(&e.home, ".aws/config",
                    "[profile dev]\nrole_arn = " ROLE
                    "\nsource_profile = ops\nexternal_id = ext-7\n"
                    "[profile ops]\nrole_arn = arn:aws:iam::123456789012:role/ops\n"
                    "source_profile = base\nrole_session_name = hop-1\n",
                    0600);
    setenv("AWS_PROFILE", "dev", 1);
    resolve(&e);
    SM_ASSERT_STR_CONTAINS(e.source_text, "profile dev: assume role " ROLE
                                          " with credentials from profile ops: assume role ");
    signed_calls_work(&e);
    SM_ASSERT_INT_EQ(fake_aws_count_calls(&e.source, "AssumeRole"), 2);
    expect_call(&e.source, 0, "access_key", BASE_AKID);
    expect_call(&e.source, 1, "issued", ROLE_AKID);
    expect_call(&e.source, 1, "authenticated", "true");
    env_stop(&e);
}

/* STS's refusal reaches the operator with its code, class and a hint, never a key. */
SM_TEST(client_creds_assume_role_refused_by_sts) {
    struct env e;
    env_start(&e);
    fake_aws_start_sts(&e.source, BASE_AKID, BASE_SECRET, NULL);
    cJSON_Delete(fake_aws_control(&e.source, "POST", "/_fake/state",
                                  "{\"roles\":[{\"arn\":\"" ROLE "\",\"trust\":[]}]}"));
    setenv("AWS_ENDPOINT_URL_STS", e.source.endpoint, 1);
    fake_home_write(&e.home, ".aws/config",
                    "[default]\nrole_arn = " ROLE "\nsource_profile = base\n[profile base]\n"
                    "aws_access_key_id = " BASE_AKID "\naws_secret_access_key = " BASE_SECRET "\n",
                    0600);
    struct sm_err err;
    SM_ASSERT_OK(aws_config_settings_from_env(&e.cfg, &err), err);
    SM_ASSERT_INT_EQ(creds_resolve(&e.cfg, &e.sys, 0, NULL, 0, &err), -1);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_AWS_CLIENT);
    SM_ASSERT_STR_EQ(err.aws_type, "AccessDenied");
    SM_ASSERT_STR_CONTAINS(err.msg,
                           "is not authorized to perform: sts:AssumeRole on resource: " ROLE);
    SM_ASSERT_STR_CONTAINS(err.msg, "check the role's trust policy");
    SM_ASSERT_STR_NOT_CONTAINS(err.msg, BASE_SECRET);
    env_stop(&e);
}

/* Web identity (an OIDC CI job): the token file's JWT goes to STS unsigned. */
SM_TEST(client_creds_web_identity_then_secrets_manager) {
    struct env e;
    env_start(&e);
    fake_aws_start_sts(&e.source, BASE_AKID, BASE_SECRET, NULL);
    cJSON_Delete(fake_aws_control(&e.source, "POST", "/_fake/state",
                                  "{\"roles\":[{\"arn\":\"" ROLE
                                  "\",\"web_identity_tokens\":[\"eyJ.ci-job.sig\"]," ISSUED "}]}"));
    setenv("AWS_ENDPOINT_URL_STS", e.source.endpoint, 1);
    setenv("AWS_WEB_IDENTITY_TOKEN_FILE",
           fake_home_write(&e.home, "oidc-token", "eyJ.ci-job.sig", 0600), 1);
    setenv("AWS_ROLE_ARN", ROLE, 1);
    setenv("AWS_ROLE_SESSION_NAME", "ci-42", 1);
    resolve(&e);
    SM_ASSERT_STR_EQ(e.source_text, "web identity: AssumeRoleWithWebIdentity " ROLE
                                    " (token file from AWS_WEB_IDENTITY_TOKEN_FILE)");
    signed_calls_work(&e);
    expect_call(&e.source, 0, "operation", "AssumeRoleWithWebIdentity");
    expect_call(&e.source, 0, "signed", "false");
    expect_call(&e.source, 0, "session_name", "ci-42");
    env_stop(&e);
}

/* The container endpoint (EKS Pod Identity's shape: FULL_URI and a token file). */
SM_TEST(client_creds_container_endpoint_then_secrets_manager) {
    struct env e;
    env_start(&e);
    const char *args[] = {"--session-token", ROLE_TOKEN, NULL};
    fake_aws_start_container_creds(&e.source, ROLE_AKID, ROLE_SECRET, args);
    cJSON_Delete(fake_aws_control(&e.source, "POST", "/_fake/state",
                                  "{\"path\":\"/v1/credentials\",\"authorization\":\"pod-jwt\"}"));
    char url[128];
    snprintf(url, sizeof(url), "%s/v1/credentials", e.source.endpoint);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
           fake_home_write(&e.home, "eks-pod-identity-token", "pod-jwt", 0600), 1);
    resolve(&e);
    SM_ASSERT_STR_CONTAINS(e.source_text, "container credentials endpoint "
                                          "(AWS_CONTAINER_CREDENTIALS_FULL_URI, http://127.0.0.1:");
    signed_calls_work(&e);
    expect_call(&e.source, 0, "authorization", "matched");
    env_stop(&e);
}

/* Instance metadata with an IMDSv2 session (the fake refuses IMDSv1). */
SM_TEST(client_creds_instance_metadata_then_secrets_manager) {
    struct env e;
    env_start(&e);
    const char *args[] = {"--session-token", ROLE_TOKEN, NULL};
    fake_aws_start_imds(&e.source, ROLE_AKID, ROLE_SECRET, args);
    unsetenv("AWS_EC2_METADATA_DISABLED");
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", e.source.endpoint, 1);
    resolve(&e);
    SM_ASSERT_STR_EQ(e.source_text, "EC2 instance metadata (IMDSv2, role fake-instance-role)");
    signed_calls_work(&e);
    SM_ASSERT_INT_EQ(fake_aws_count_calls(&e.source, NULL), 3);
    expect_call(&e.source, 0, "operation", "PutToken");
    expect_call(&e.source, 0, "ttl", "21600");
    expect_call(&e.source, 1, "token", "valid");
    expect_call(&e.source, 2, "token", "valid");
    env_stop(&e);
}

/* credential_process: a program the profile names prints the credentials. */
SM_TEST(client_creds_credential_process_then_secrets_manager) {
    struct env e;
    env_start(&e);
    const char *tool = fake_home_write(
        &e.home, "bin/vault-creds",
        "#!/bin/sh\nprintf '{\"Version\":1,\"AccessKeyId\":\"%s\",\"SecretAccessKey\":\"%s\","
        "\"SessionToken\":\"%s\",\"Expiration\":\"2999-01-01T00:00:00Z\"}' \"$1\" \"$2\" \"$3\"\n",
        0700);
    char config[2048];
    snprintf(config, sizeof(config),
             "[profile vault]\ncredential_process = %s " ROLE_AKID " " ROLE_SECRET " " ROLE_TOKEN
             "\n",
             tool);
    fake_home_write(&e.home, ".aws/config", config, 0600);
    setenv("AWS_PROFILE", "vault", 1);
    resolve(&e);
    SM_ASSERT_STR_CONTAINS(e.source_text, "profile vault: credential_process ");
    SM_ASSERT_STR_NOT_CONTAINS(e.source_text, ROLE_SECRET);
    signed_calls_work(&e);
    env_stop(&e);
}
