/*
 * The Secrets Manager client (runtime/secretsmanager.c) on the AWS client layer (runtime/aws.c).
 *
 * - Configuration, endpoints, error reading and classification, the description helpers and the
 *   argument checks: plain unit tests (environment, tests/data/secretsmanager/errors fixtures).
 * - Wire format, lenient parsing, the error-type header and proxies: a canned HTTP responder
 *   inside the test (a thread on 127.0.0.1:0 replaying fixed responses and recording the
 *   requests).
 * - Operations, signatures, retries, deadlines, keep-alive: the local emulator
 *   tests/fakes/fake_secretsmanager.py (verifies SigV4 on every request), one process per test.
 *
 * Timing: backoff jitter is pinned (aws_client.random01) wherever a test depends on it, and tests
 * assert outcomes (error code, attempts counted by the client and by the emulator, the notes in
 * the message). Wall-clock bounds are only lower bounds that follow from a pinned sleep or an
 * attempt timeout, and upper bounds of many times the arithmetic as "does not hang" guards: the
 * tests also run on slow CI machines and under valgrind.
 */
#include "aws.h"
#include "clock.h"
#include "fakes/fake_sm_process.h"
#include "harness.h"
#include "json.h"
#include "log.h"
#include "mem.h"
#include "secretsmanager.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <unistd.h>

#define AKID "AKIDFAKETESTKEY00001"
#define SECRET_KEY "fakeSecretKey/For+Tests0123456789abcdefg"
#define REGION "us-east-1"
#define TOKEN_A "11111111-2222-4333-8444-555555555555"
#define TOKEN_B "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
#define TOKEN_C "0c9e4d2a-7f31-4b8e-a5c6-1e2d3f4a5b6c"
#define ROTATION_TOKEN "5b0e8f3a-6d2c-4e1b-9a7f-8c3d2e1f0a9b"

static double jitter_zero(void) {
    return 0.0;
}

/* A pinned jitter sequence: the i-th draw returns s_jitter[i], the last value once past the end.
 * Values are binary fractions (0.25, 0.5, 0.75) so that the delays are exact milliseconds. */
static const double *s_jitter;
static size_t s_jitter_len;
static int s_draws;

static double jitter_seq(void) {
    size_t i = (size_t)s_draws < s_jitter_len ? (size_t)s_draws : s_jitter_len - 1;
    s_draws++;
    return s_jitter[i];
}

static void pin_jitter(struct aws_client *c, const double *seq, size_t n) {
    s_jitter = seq;
    s_jitter_len = n;
    s_draws = 0;
    c->random01 = jitter_seq;
}

static int64_t deadline_in(int64_t ms) {
    return sm_now_ms() + ms;
}

/* ------------------------------------------------------------------------------------------ */
/* Environment helpers                                                                          */

static const char *const s_env_vars[] = {
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "SECRETS_MANAGER_ENDPOINT",
    "AWS_ENDPOINT_URL_SECRETS_MANAGER",
    "AWS_ENDPOINT_URL_RDS",
    "AWS_ENDPOINT_URL",
    "AWS_USE_FIPS_ENDPOINT",
    "SMROTATE_CA_FILE",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "NO_PROXY",
    "no_proxy",
};

static void clear_env(void) {
    for (size_t i = 0; i < sizeof(s_env_vars) / sizeof(s_env_vars[0]); i++) {
        unsetenv(s_env_vars[i]);
    }
}

static void base_env(void) {
    clear_env();
    setenv("AWS_REGION", "eu-west-1", 1);
    setenv("AWS_ACCESS_KEY_ID", AKID, 1);
    setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY, 1);
}

/* The Secrets Manager endpoint chosen from the environment (aws_config_from_env, then
 * secrets_endpoint_from_env). */
static void expect_endpoint(const char *want) {
    struct aws_config cfg;
    struct sm_err err;
    char *endpoint = NULL;
    SM_ASSERT_OK(aws_config_from_env(&cfg, &err), err);
    SM_ASSERT_OK(secrets_endpoint_from_env(&cfg, &endpoint, &err), err);
    SM_ASSERT_STR_EQ(endpoint, want);
    sm_free(endpoint);
    aws_config_clean_up(&cfg);
}

/* ------------------------------------------------------------------------------------------ */
/* Configuration                                                                                */

SM_TEST(secrets_config_endpoint_precedence_from_env) {
    base_env();
    expect_endpoint("https://secretsmanager.eu-west-1.amazonaws.com");
    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1001", 1);
    expect_endpoint("http://127.0.0.1:1001");
    setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://127.0.0.1:1002", 1);
    expect_endpoint("http://127.0.0.1:1002");
    setenv("SECRETS_MANAGER_ENDPOINT",
           "https://vpce-1234.secretsmanager.eu-west-1.vpce.amazonaws.com", 1);
    expect_endpoint("https://vpce-1234.secretsmanager.eu-west-1.vpce.amazonaws.com");
    /* Another service's variable is not ours. */
    unsetenv("SECRETS_MANAGER_ENDPOINT");
    unsetenv("AWS_ENDPOINT_URL_SECRETS_MANAGER");
    unsetenv("AWS_ENDPOINT_URL");
    setenv("AWS_ENDPOINT_URL_RDS", "http://127.0.0.1:1004", 1);
    expect_endpoint("https://secretsmanager.eu-west-1.amazonaws.com");
    setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://127.0.0.1:1002", 1);
    /* An empty variable counts as unset. */
    setenv("SECRETS_MANAGER_ENDPOINT", "", 1);
    expect_endpoint("http://127.0.0.1:1002");
    /* An unusable URL names its variable. */
    setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", "ftp://example.com", 1);
    struct aws_config cfg;
    struct sm_err err;
    char *endpoint = NULL;
    SM_ASSERT_OK(aws_config_from_env(&cfg, &err), err);
    SM_ASSERT_INT_EQ(secrets_endpoint_from_env(&cfg, &endpoint, &err), -1);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_CONFIG);
    SM_ASSERT_STR_CONTAINS(err.msg, "AWS_ENDPOINT_URL_SECRETS_MANAGER");
    SM_ASSERT(endpoint == NULL);
    aws_config_clean_up(&cfg);
    clear_env();
}

SM_TEST(secrets_config_fips_applies_to_default_host_only) {
    base_env();
    setenv("AWS_USE_FIPS_ENDPOINT", "true", 1);
    expect_endpoint("https://secretsmanager-fips.eu-west-1.amazonaws.com");
    setenv("AWS_USE_FIPS_ENDPOINT", "TRUE", 1);
    expect_endpoint("https://secretsmanager-fips.eu-west-1.amazonaws.com");
    setenv("AWS_USE_FIPS_ENDPOINT", "false", 1);
    expect_endpoint("https://secretsmanager.eu-west-1.amazonaws.com");
    setenv("AWS_USE_FIPS_ENDPOINT", "true", 1);
    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1003", 1);
    expect_endpoint("http://127.0.0.1:1003");
    unsetenv("AWS_ENDPOINT_URL");
    setenv("AWS_REGION", "cn-north-1", 1);
    unsetenv("AWS_USE_FIPS_ENDPOINT");
    expect_endpoint("https://secretsmanager.cn-north-1.amazonaws.com.cn");
    clear_env();
}

SM_TEST(secrets_config_missing_region_or_credentials_names_the_variable) {
    struct aws_config cfg;
    struct sm_err err;
    const char *vars[] = {"AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"};
    for (size_t i = 0; i < 3; i++) {
        base_env();
        unsetenv(vars[i]);
        SM_ASSERT_INT_EQ(aws_config_from_env(&cfg, &err), -1);
        SM_ASSERT_CODE_EQ(err.code, SM_ERR_CONFIG);
        SM_ASSERT_STR_CONTAINS(err.msg, vars[i]);
        SM_ASSERT_STR_NOT_CONTAINS(err.msg, SECRET_KEY);
        SM_ASSERT(cfg.region == NULL && cfg.access_key_id == NULL);
    }
    base_env();
    setenv("AWS_REGION", "us-east-1.evil.example/", 1);
    SM_ASSERT_INT_EQ(aws_config_from_env(&cfg, &err), -1);
    SM_ASSERT_STR_CONTAINS(err.msg, "AWS_REGION");
    /* The session token is optional; empty means none. */
    base_env();
    setenv("AWS_SESSION_TOKEN", "", 1);
    SM_ASSERT_OK(aws_config_from_env(&cfg, &err), err);
    SM_ASSERT(cfg.session_token == NULL);
    SM_ASSERT_STR_EQ(cfg.access_key_id, AKID);
    SM_ASSERT_INT_EQ(cfg.max_attempts, 3);
    SM_ASSERT_INT_EQ(cfg.connect_timeout_ms, 3000);
    SM_ASSERT_INT_EQ(cfg.attempt_timeout_ms, 10000);
    aws_config_clean_up(&cfg);
    setenv("AWS_SESSION_TOKEN", "session-token-value", 1);
    SM_ASSERT_OK(aws_config_from_env(&cfg, &err), err);
    SM_ASSERT_SECRET_EQ(cfg.session_token, "session-token-value");
    aws_config_clean_up(&cfg);
    aws_config_clean_up(&cfg); /* a cleaned-up (zeroed) struct is accepted */
    clear_env();
}

SM_TEST(secrets_config_region_falls_back_to_aws_default_region) {
    base_env();
    unsetenv("AWS_REGION");
    setenv("AWS_DEFAULT_REGION", "ap-southeast-2", 1);
    expect_endpoint("https://secretsmanager.ap-southeast-2.amazonaws.com");
    setenv("AWS_REGION", "us-west-2", 1); /* AWS_REGION wins */
    expect_endpoint("https://secretsmanager.us-west-2.amazonaws.com");
    clear_env();
}

SM_TEST(secrets_config_ca_file_from_env_else_system_bundle) {
    base_env();
    struct aws_config cfg;
    struct sm_err err;
    const char *own = sm_test_path("data/sigv4/LICENSE"); /* any readable file */
    setenv("SMROTATE_CA_FILE", own, 1);
    SM_ASSERT_OK(aws_config_from_env(&cfg, &err), err);
    SM_ASSERT_STR_EQ(cfg.ca_file, own);
    aws_config_clean_up(&cfg);

    setenv("SMROTATE_CA_FILE", "/nonexistent/ca.pem", 1);
    SM_ASSERT_INT_EQ(aws_config_from_env(&cfg, &err), -1);
    SM_ASSERT_STR_CONTAINS(err.msg, "SMROTATE_CA_FILE");

    unsetenv("SMROTATE_CA_FILE");
    SM_ASSERT_OK(aws_config_from_env(&cfg, &err), err);
    if (access("/etc/pki/tls/certs/ca-bundle.crt", R_OK) == 0) {
        SM_ASSERT_STR_EQ(cfg.ca_file, "/etc/pki/tls/certs/ca-bundle.crt");
    } else if (access("/etc/ssl/certs/ca-certificates.crt", R_OK) == 0) {
        SM_ASSERT_STR_EQ(cfg.ca_file, "/etc/ssl/certs/ca-certificates.crt");
    } else {
        SM_ASSERT(cfg.ca_file == NULL);
    }
    aws_config_clean_up(&cfg);
    clear_env();
}

/* Proxies as the SDKs read them: each setting from its upper-case variable, else the lower-case
 * one; an empty variable counts as unset. */
SM_TEST(aws_config_reads_proxies_upper_case_first) {
    base_env();
    struct aws_config cfg;
    struct sm_err err;
    SM_ASSERT_OK(aws_config_from_env(&cfg, &err), err);
    SM_ASSERT(cfg.https_proxy == NULL && cfg.http_proxy == NULL && cfg.no_proxy == NULL);
    aws_config_clean_up(&cfg);

    setenv("https_proxy", "http://lower-https:3128", 1);
    setenv("http_proxy", "http://lower-http:3128", 1);
    setenv("no_proxy", "lower.example", 1);
    SM_ASSERT_OK(aws_config_from_env(&cfg, &err), err);
    SM_ASSERT_STR_EQ(cfg.https_proxy, "http://lower-https:3128");
    SM_ASSERT_STR_EQ(cfg.http_proxy, "http://lower-http:3128");
    SM_ASSERT_STR_EQ(cfg.no_proxy, "lower.example");
    aws_config_clean_up(&cfg);

    setenv("HTTPS_PROXY", "http://user:pw@upper-https:8080", 1);
    setenv("HTTP_PROXY", "http://upper-http:8080", 1);
    setenv("NO_PROXY", "169.254.169.254,.internal", 1);
    SM_ASSERT_OK(aws_config_from_env(&cfg, &err), err);
    SM_ASSERT_STR_EQ(cfg.https_proxy, "http://user:pw@upper-https:8080");
    SM_ASSERT_STR_EQ(cfg.http_proxy, "http://upper-http:8080");
    SM_ASSERT_STR_EQ(cfg.no_proxy, "169.254.169.254,.internal");
    aws_config_clean_up(&cfg);
    SM_ASSERT(cfg.https_proxy == NULL && cfg.http_proxy == NULL && cfg.no_proxy == NULL);

    /* Each pair on its own: an empty upper-case variable falls back to the lower-case one. */
    setenv("HTTPS_PROXY", "", 1);
    unsetenv("HTTP_PROXY");
    unsetenv("no_proxy");
    SM_ASSERT_OK(aws_config_from_env(&cfg, &err), err);
    SM_ASSERT_STR_EQ(cfg.https_proxy, "http://lower-https:3128");
    SM_ASSERT_STR_EQ(cfg.http_proxy, "http://lower-http:3128");
    SM_ASSERT_STR_EQ(cfg.no_proxy, "169.254.169.254,.internal");
    aws_config_clean_up(&cfg);
    unsetenv("https_proxy");
    unsetenv("http_proxy");
    SM_ASSERT_OK(aws_config_from_env(&cfg, &err), err);
    SM_ASSERT(cfg.https_proxy == NULL && cfg.http_proxy == NULL);
    aws_config_clean_up(&cfg);
    clear_env();
}

/* aws_endpoint_from_env for another service: its own list of variables and host prefix. */
static const char *const s_rds_vars[] = {"AWS_ENDPOINT_URL_RDS", "AWS_ENDPOINT_URL", NULL};

static void expect_rds_endpoint(const char *region, const char *want) {
    struct sm_err err;
    char *endpoint = NULL;
    SM_ASSERT_OK(aws_endpoint_from_env(s_rds_vars, "rds", region, &endpoint, &err), err);
    SM_ASSERT_STR_EQ(endpoint, want);
    sm_free(endpoint);
}

SM_TEST(aws_endpoint_from_env_with_a_service_list_and_prefix) {
    clear_env();
    expect_rds_endpoint("eu-west-1", "https://rds.eu-west-1.amazonaws.com");
    expect_rds_endpoint("cn-northwest-1", "https://rds.cn-northwest-1.amazonaws.com.cn");
    expect_rds_endpoint("us-iso-east-1", "https://rds.us-iso-east-1.c2s.ic.gov");
    expect_rds_endpoint("us-isob-east-1", "https://rds.us-isob-east-1.sc2s.sgov.gov");
    setenv("AWS_USE_FIPS_ENDPOINT", "true", 1);
    expect_rds_endpoint("us-gov-west-1", "https://rds-fips.us-gov-west-1.amazonaws.com");
    expect_rds_endpoint("cn-north-1", "https://rds-fips.cn-north-1.amazonaws.com.cn");
    setenv("AWS_USE_FIPS_ENDPOINT", "1", 1); /* only "true" (any case) turns FIPS on */
    expect_rds_endpoint("eu-west-1", "https://rds.eu-west-1.amazonaws.com");
    unsetenv("AWS_USE_FIPS_ENDPOINT");
    /* Secrets Manager's variables are not RDS's. */
    setenv("SECRETS_MANAGER_ENDPOINT", "http://127.0.0.1:2001", 1);
    setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://127.0.0.1:2002", 1);
    expect_rds_endpoint("eu-west-1", "https://rds.eu-west-1.amazonaws.com");
    /* The list in order: the service's own variable first, an empty one skipped. */
    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:2003", 1);
    expect_rds_endpoint("eu-west-1", "http://127.0.0.1:2003");
    setenv("AWS_ENDPOINT_URL_RDS", "", 1);
    expect_rds_endpoint("eu-west-1", "http://127.0.0.1:2003");
    setenv("AWS_ENDPOINT_URL_RDS", "https://rds.vpce.example:8443/base", 1);
    setenv("AWS_USE_FIPS_ENDPOINT", "true", 1); /* FIPS never rewrites a configured URL */
    expect_rds_endpoint("eu-west-1", "https://rds.vpce.example:8443/base");
    /* An unusable URL names its variable, even when a later one would do. */
    setenv("AWS_ENDPOINT_URL_RDS", "rds.eu-west-1.amazonaws.com", 1);
    struct sm_err err;
    char *endpoint = NULL;
    SM_ASSERT_INT_EQ(aws_endpoint_from_env(s_rds_vars, "rds", "eu-west-1", &endpoint, &err), -1);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_CONFIG);
    SM_ASSERT_STR_CONTAINS(err.msg, "AWS_ENDPOINT_URL_RDS");
    SM_ASSERT(endpoint == NULL);
    /* No variables at all: the default host. */
    static const char *const none[] = {NULL};
    unsetenv("AWS_USE_FIPS_ENDPOINT");
    SM_ASSERT_OK(aws_endpoint_from_env(none, "sts", "eu-west-1", &endpoint, &err), err);
    SM_ASSERT_STR_EQ(endpoint, "https://sts.eu-west-1.amazonaws.com");
    sm_free(endpoint);
    clear_env();
}

SM_TEST(secrets_endpoint_host_keeps_non_default_port) {
    struct aws_endpoint ep;
    struct sm_err err;
    SM_ASSERT_OK(aws_endpoint_parse("http://127.0.0.1:8080", &ep, &err), err);
    SM_ASSERT_STR_EQ(ep.host, "127.0.0.1:8080");
    SM_ASSERT_STR_EQ(ep.url, "http://127.0.0.1:8080/");
    SM_ASSERT_STR_EQ(ep.path, "/");
    SM_ASSERT(!ep.https);
    SM_ASSERT_OK(
        aws_endpoint_parse("https://secretsmanager.us-east-1.amazonaws.com:443/", &ep, &err), err);
    SM_ASSERT_STR_EQ(ep.host, "secretsmanager.us-east-1.amazonaws.com");
    SM_ASSERT(ep.https);
    SM_ASSERT_OK(aws_endpoint_parse("http://localhost:80", &ep, &err), err);
    SM_ASSERT_STR_EQ(ep.host, "localhost");
    SM_ASSERT(!ep.https);
    SM_ASSERT_OK(aws_endpoint_parse("https://h.example:8443", &ep, &err), err);
    SM_ASSERT_STR_EQ(ep.host, "h.example:8443");
    SM_ASSERT(ep.https);
    SM_ASSERT_OK(aws_endpoint_parse("HTTPS://h.example", &ep, &err), err);
    SM_ASSERT(ep.https);
    SM_ASSERT_OK(aws_endpoint_parse("http://[::1]:4566/prefix", &ep, &err), err);
    SM_ASSERT_STR_EQ(ep.host, "[::1]:4566");
    SM_ASSERT_STR_EQ(ep.path, "/prefix");
    SM_ASSERT_STR_EQ(ep.url, "http://[::1]:4566/prefix");
    const char *bad[] = {"secretsmanager.us-east-1.amazonaws.com",
                         "http://",
                         "http://u:p@host",
                         "http://host:port",
                         "http://host/?x=1",
                         "http://host:123456",
                         "http://[::1",
                         NULL};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        SM_ASSERT_INT_EQ(aws_endpoint_parse(bad[i], &ep, &err), -1);
        SM_ASSERT_CODE_EQ(err.code, SM_ERR_CONFIG);
    }
}

SM_TEST(secrets_client_init_rejects_an_unusable_endpoint) {
    struct aws_config cfg = {.region = REGION};
    struct aws_client c;
    struct sm_err err;
    SM_ASSERT_INT_EQ(secrets_client_init(&c, &cfg, "ftp://example.com", NULL, &err), -1);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_CONFIG);
    SM_ASSERT_STR_CONTAINS(err.msg, "Secrets Manager endpoint");
    SM_ASSERT_OK(secrets_client_init(&c, &cfg, "https://sm.example", NULL, &err), err);
    SM_ASSERT(c.service == &secrets_service && c.cfg == &cfg);
    SM_ASSERT_STR_EQ(c.endpoint.url, "https://sm.example/");
    SM_ASSERT(c.endpoint.https);
    SM_ASSERT_INT_EQ(c.calls, 0);
    SM_ASSERT(c.random01 == NULL); /* the real RNG unless a test pins it */
    SM_ASSERT_STR_EQ(secrets_service.signing_name, "secretsmanager");
    SM_ASSERT_STR_EQ(secrets_service.target_prefix, "secretsmanager");
    SM_ASSERT_STR_EQ(secrets_service.content_type, "application/x-amz-json-1.1");
    SM_ASSERT(secrets_service.read_error == secrets_read_error);
}

/* ------------------------------------------------------------------------------------------ */
/* Error reading and classification                                                            */

/* What the client makes of an answered error whose body says it all (the error-type header is
 * checked against the canned responder): secrets_read_error, then aws_error_set. */
static int error_from_body(const char *operation, const char *secret_id, long status,
                           const char *body, size_t len, struct sm_err *err) {
    struct aws_error_fields fields = {"", ""};
    SM_ASSERT_INT_EQ(secrets_read_error(body, len, &fields), 0);
    char resource[300];
    if (secret_id != NULL) {
        snprintf(resource, sizeof(resource), "secret %s", secret_id);
    }
    return aws_error_set(err, operation, secret_id != NULL ? resource : NULL, status, &fields);
}

SM_TEST(secrets_error_parser_reads_every_error_fixture) {
    size_t len = 0;
    char *index_text =
        sm_test_read_file(sm_test_path("data/secretsmanager/errors/index.json"), &len);
    cJSON *index = cJSON_ParseWithLength(index_text, len);
    SM_ASSERT(index != NULL);
    const cJSON *entry;
    int n = 0;
    cJSON_ArrayForEach(entry, cJSON_GetObjectItemCaseSensitive(index, "errors")) {
        const char *file = sm_json_string(entry, "file");
        const char *code = sm_json_string(entry, "code");
        long status = (long)cJSON_GetObjectItemCaseSensitive(entry, "http_status")->valuedouble;
        bool retryable =
            cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(entry, "retryable_in_sdk_standard_mode"));
        char path[512];
        snprintf(path, sizeof(path), "data/secretsmanager/errors/%s", file);
        size_t blen = 0;
        char *body = sm_test_read_file(sm_test_path(path), &blen);
        cJSON *doc = cJSON_ParseWithLength(body, blen);
        const char *aws_message = sm_json_string(doc, "Message");
        if (aws_message == NULL) {
            aws_message = sm_json_string(doc, "message");
        }
        SM_ASSERT(aws_message != NULL);

        struct aws_error_fields fields = {"", ""};
        SM_ASSERT_INT_EQ(secrets_read_error(body, blen, &fields), 0);
        SM_ASSERT_STR_EQ(fields.code, code);
        SM_ASSERT_STR_EQ(fields.message, aws_message);
        struct sm_err err;
        sm_err_clear(&err);
        SM_ASSERT_INT_EQ(error_from_body("GetSecretValue", "prod/app/db", status, body, blen, &err),
                         -1);
        if (strcmp(err.aws_type, code) != 0) {
            SM_FAIL("%s: aws_type \"%s\", want \"%s\"", file, err.aws_type, code);
        }
        SM_ASSERT_INT_EQ(err.http_status, status);
        if (sm_code_is_transient(err.code) != retryable) {
            SM_FAIL("%s: transient %d (%s), want %d", file, sm_code_is_transient(err.code),
                    sm_code_name(err.code), retryable);
        }
        char want[1200];
        snprintf(want, sizeof(want), "GetSecretValue on secret prod/app/db failed: %s: %s", code,
                 aws_message);
        SM_ASSERT_STR_EQ(err.msg, want);
        SM_ASSERT(sm_err_is_aws(&err, code));
        cJSON_Delete(doc);
        free(body);
        n++;
    }
    SM_ASSERT_INT_EQ(n, 26);
    cJSON_Delete(index);
    free(index_text);
}

static void parse_error_file(const char *file, long status, struct sm_err *err) {
    char path[512];
    size_t len = 0;
    snprintf(path, sizeof(path), "data/secretsmanager/errors/%s", file);
    char *body = sm_test_read_file(sm_test_path(path), &len);
    error_from_body("DescribeSecret", "s1", status, body, len, err);
    free(body);
}

SM_TEST(secrets_error_parser_strips_namespace_and_reads_both_message_keys) {
    struct sm_err err;
    parse_error_file("namespaced-type.UnrecognizedClientException.json", 400, &err);
    SM_ASSERT_STR_EQ(err.aws_type, "UnrecognizedClientException");
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_AWS_AUTH);
    SM_ASSERT_STR_CONTAINS(err.msg, "security token included in the request is invalid");
    /* Lowercase "message" (auth/throttle layer) and capital "Message" (modeled errors). */
    parse_error_file("ThrottlingException.json", 400, &err);
    SM_ASSERT_STR_EQ(err.msg, "DescribeSecret on secret s1 failed: ThrottlingException: Rate "
                              "exceeded");
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_AWS_THROTTLED);
    parse_error_file("ResourceNotFoundException.secret.json", 400, &err);
    SM_ASSERT_STR_EQ(err.msg, "DescribeSecret on secret s1 failed: ResourceNotFoundException: "
                              "Secrets Manager can't find the specified secret.");
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_AWS_CLIENT);
    /* Both namespace and a ":" suffix, as JSON 1.1 allows; "message" wins over "Message". */
    const char *body = "{\"__type\":\"com.amazonaws.secretsmanager.v2017#"
                       "InvalidRequestException:http://internal.amazon.com/coral/\","
                       "\"Message\":\"m1\",\"message\":\"m2\"}";
    error_from_body("PutSecretValue", "s2", 400, body, strlen(body), &err);
    SM_ASSERT_STR_EQ(err.aws_type, "InvalidRequestException");
    SM_ASSERT_STR_EQ(err.msg, "PutSecretValue on secret s2 failed: InvalidRequestException: m2");
    /* The reader fills only what the body says. */
    struct aws_error_fields fields = {"", ""};
    const char *only_message = "{\"Message\":\"no code here\"}";
    SM_ASSERT_INT_EQ(secrets_read_error(only_message, strlen(only_message), &fields), 0);
    SM_ASSERT_STR_EQ(fields.code, "");
    SM_ASSERT_STR_EQ(fields.message, "no code here");
    const char *not_object = "[\"__type\",\"X\"]";
    struct aws_error_fields none = {"", ""};
    SM_ASSERT_INT_EQ(secrets_read_error(not_object, strlen(not_object), &none), 0);
    SM_ASSERT_INT_EQ(secrets_read_error(NULL, 0, &none), 0);
    SM_ASSERT(none.code[0] == '\0' && none.message[0] == '\0');
}

SM_TEST(secrets_error_without_code_is_classified_by_status) {
    struct sm_err err;
    /* No code anywhere: the status decides. */
    const char *html = "<html>Bad Gateway</html>";
    error_from_body("GetSecretValue", "s", 502, html, strlen(html), &err);
    SM_ASSERT_STR_EQ(err.aws_type, "");
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_AWS_SERVER);
    SM_ASSERT_STR_EQ(err.msg, "GetSecretValue on secret s failed: HTTP 502");
    SM_ASSERT_STR_EQ(sm_err_type(&err), "ServiceError");
    SM_ASSERT_INT_EQ(err.http_status, 502);
    error_from_body("GetRandomPassword", NULL, 429, "", 0, &err);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_AWS_THROTTLED);
    SM_ASSERT_STR_EQ(err.msg, "GetRandomPassword failed: HTTP 429");
    error_from_body("GetSecretValue", "s", 403, NULL, 0, &err);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_AWS_AUTH);
    error_from_body("GetSecretValue", "s", 401, NULL, 0, &err);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_AWS_AUTH);
    error_from_body("GetSecretValue", "s", 404, NULL, 0, &err);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_AWS_CLIENT);
    /* A message without a code. */
    const char *msg_only = "{\"message\":\"went wrong\"}";
    error_from_body("GetSecretValue", "s", 400, msg_only, strlen(msg_only), &err);
    SM_ASSERT_STR_EQ(err.msg, "GetSecretValue on secret s failed: HTTP 400: went wrong");
    /* A code without a message. */
    const char *code_only = "{\"__type\":\"ValidationException\"}";
    error_from_body("GetSecretValue", "s", 400, code_only, strlen(code_only), &err);
    SM_ASSERT_STR_EQ(err.msg, "GetSecretValue on secret s failed: ValidationException: (no "
                              "message)");
    /* Control characters in AWS's message do not reach the log line. */
    const char *ctl = "{\"__type\":\"X\",\"Message\":\"line1\\nline2\"}";
    error_from_body("GetSecretValue", "s", 400, ctl, strlen(ctl), &err);
    SM_ASSERT_STR_EQ(err.msg, "GetSecretValue on secret s failed: X: line1 line2");
    /* A NULL err is allowed: aws_error_set only returns -1. */
    struct aws_error_fields fields = {"ThrottlingException", "m"};
    SM_ASSERT_INT_EQ(aws_error_set(NULL, "X", NULL, 400, &fields), -1);
}

/* AccessDeniedException is an authorization (IAM policy / KMS) failure, not a signature or
 * credential one: AWS_CLIENT. LimitExceededException is on the SDKs' throttling list. A known
 * code decides over the status. */
SM_TEST(secrets_error_classification_of_access_denied_and_limit_exceeded) {
    struct sm_err err;
    parse_error_file("AccessDeniedException.iam.json", 400, &err);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_AWS_CLIENT);
    SM_ASSERT(!sm_code_is_transient(err.code));
    parse_error_file("LimitExceededException.json", 400, &err);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_AWS_THROTTLED);
    SM_ASSERT(sm_code_is_transient(err.code));
    parse_error_file("InternalServiceError.json", 500, &err);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_AWS_SERVER);
    SM_ASSERT(sm_code_is_transient(err.code));
    parse_error_file("ExpiredTokenException.json", 403, &err);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_AWS_AUTH);
    SM_ASSERT(!sm_code_is_transient(err.code));
    parse_error_file("InvalidSignatureException.expired.json", 400, &err);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_AWS_AUTH);
    const char *ts = "{\"__type\":\"TooManyRequestsException\",\"message\":\"slow down\"}";
    error_from_body("GetSecretValue", "s", 400, ts, strlen(ts), &err);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_AWS_THROTTLED);
    const char *su = "{\"__type\":\"ServiceUnavailable\",\"message\":\"x\"}";
    error_from_body("GetSecretValue", "s", 503, su, strlen(su), &err);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_AWS_SERVER);
    /* An unknown code on a 5xx is still a server error; on a 4xx a client error. */
    const char *other = "{\"__type\":\"SomethingNew\",\"message\":\"x\"}";
    error_from_body("GetSecretValue", "s", 500, other, strlen(other), &err);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_AWS_SERVER);
    error_from_body("GetSecretValue", "s", 429, other, strlen(other), &err);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_AWS_CLIENT);
    SM_ASSERT(!sm_code_is_transient(SM_ERR_AWS_CLIENT) && !sm_code_is_transient(SM_ERR_AWS_AUTH));
    SM_ASSERT(sm_code_is_transient(SM_ERR_TRANSPORT));
    SM_ASSERT(!sm_code_is_transient(SM_ERR_DEADLINE) && !sm_code_is_transient(SM_ERR_PROTOCOL));
}

SM_TEST(aws_error_code_copy_keeps_the_bare_token) {
    char out[SM_ERR_TYPE_MAX];
    aws_error_code_copy(NULL, out, sizeof(out));
    SM_ASSERT_STR_EQ(out, "");
    aws_error_code_copy("ResourceNotFoundException:http://internal.amazon.com/coral/", out,
                        sizeof(out));
    SM_ASSERT_STR_EQ(out, "ResourceNotFoundException");
    aws_error_code_copy("com.amazon#AccessDeniedException", out, sizeof(out));
    SM_ASSERT_STR_EQ(out, "AccessDeniedException");
    aws_error_code_copy("a#b#c:d#e", out, sizeof(out)); /* '#' after the ':' does not count */
    SM_ASSERT_STR_EQ(out, "c");
    aws_error_code_copy("Bad Code\r\nX-Injected: 1", out, sizeof(out));
    SM_ASSERT_STR_EQ(out, "Bad");
    aws_error_code_copy("v1.2_ok-x", out, sizeof(out));
    SM_ASSERT_STR_EQ(out, "v1.2_ok-x");
    char small[6];
    aws_error_code_copy("ThrottlingException", small, sizeof(small));
    SM_ASSERT_STR_EQ(small, "Throt");
}

/* ------------------------------------------------------------------------------------------ */
/* Description helpers and argument checks (no server)                                          */

SM_TEST(secrets_description_holder_tag_and_find) {
    char *current_stages[] = {"AWSCURRENT", "custom"};
    char *pending_stages[] = {"AWSPENDING"};
    struct secrets_version versions[] = {
        {TOKEN_A, NULL, 0},
        {TOKEN_B, current_stages, 2},
        {TOKEN_C, pending_stages, 1},
    };
    struct secrets_tag tags[] = {
        {"Engine", "postgres"},
        {"empty", NULL},
        {"Owner", "team-a"},
    };
    struct secrets_description d = {
        .arn = "arn",
        .rotation_enabled = 1,
        .versions = versions,
        .n_versions = 3,
        .tags = tags,
        .n_tags = 3,
    };
    SM_ASSERT(secrets_description_holder(&d, "AWSCURRENT") == &versions[1]);
    SM_ASSERT(secrets_description_holder(&d, "AWSPENDING") == &versions[2]);
    SM_ASSERT(secrets_description_holder(&d, "custom") == &versions[1]);
    SM_ASSERT(secrets_description_holder(&d, "AWSPREVIOUS") == NULL);
    SM_ASSERT(secrets_description_holder(&d, "awscurrent") == NULL); /* labels: exact case */
    SM_ASSERT(secrets_description_holder(NULL, "AWSCURRENT") == NULL);
    SM_ASSERT(secrets_description_find(&d, TOKEN_A) == &versions[0]);
    SM_ASSERT(secrets_description_find(&d, "nope") == NULL);
    SM_ASSERT(secrets_description_find(NULL, TOKEN_A) == NULL);
    SM_ASSERT(secrets_version_has_stage(&versions[1], "custom"));
    SM_ASSERT(!secrets_version_has_stage(&versions[0], "AWSCURRENT"));
    SM_ASSERT(!secrets_version_has_stage(NULL, "AWSCURRENT"));
    SM_ASSERT(!secrets_version_has_stage(&versions[1], NULL));
    /* Tag keys compare case-insensitively. */
    SM_ASSERT_STR_EQ(secrets_description_tag(&d, "Engine"), "postgres");
    SM_ASSERT_STR_EQ(secrets_description_tag(&d, "engine"), "postgres");
    SM_ASSERT_STR_EQ(secrets_description_tag(&d, "ENGINE"), "postgres");
    SM_ASSERT_STR_EQ(secrets_description_tag(&d, "owner"), "team-a");
    SM_ASSERT(secrets_description_tag(&d, "Engin") == NULL);
    SM_ASSERT(secrets_description_tag(&d, "empty") == NULL); /* a tag without a Value */
    SM_ASSERT(secrets_description_tag(NULL, "Engine") == NULL);
    struct secrets_description zero = {.rotation_enabled = -1};
    SM_ASSERT(secrets_description_tag(&zero, "Engine") == NULL);
    SM_ASSERT(secrets_description_holder(&zero, "AWSCURRENT") == NULL);
    secrets_description_clean_up(&zero);
    secrets_description_clean_up(NULL);
    struct secrets_value v = {0};
    secrets_value_clean_up(&v);
    secrets_value_clean_up(NULL);
}

/* ------------------------------------------------------------------------------------------ */
/* A canned HTTP responder                                                                      */

#define CANNED_MAX 8

struct canned {
    int fd;
    int port;
    pthread_t thread;
    const char *responses[CANNED_MAX]; /* full HTTP responses */
    size_t n_responses;
    size_t served;
    char requests[CANNED_MAX][8192]; /* raw requests received */
    int connections;
};

/* Reads one request (headers + Content-Length body) into out. Returns its length, 0 on EOF. */
static size_t read_request(int fd, char *out, size_t size) {
    size_t len = 0;
    size_t need = 0;
    while (len + 1 < size) {
        ssize_t got = read(fd, out + len, size - 1 - len);
        if (got <= 0) {
            return 0;
        }
        len += (size_t)got;
        out[len] = '\0';
        char *end = strstr(out, "\r\n\r\n");
        if (end == NULL) {
            continue;
        }
        if (need == 0) {
            size_t body = 0;
            for (char *p = out; p < end; p++) {
                if (strncasecmp(p, "\ncontent-length:", 16) == 0) {
                    body = (size_t)strtoul(p + 16, NULL, 10);
                }
            }
            need = (size_t)(end + 4 - out) + body;
        }
        if (len >= need) {
            return len;
        }
    }
    return len;
}

static void *canned_run(void *arg) {
    struct canned *c = arg;
    while (c->served < c->n_responses) {
        int cfd = accept(c->fd, NULL, NULL);
        if (cfd < 0) {
            break;
        }
        c->connections++;
        while (c->served < c->n_responses) {
            char *req = c->requests[c->served];
            if (read_request(cfd, req, sizeof(c->requests[0])) == 0) {
                break;
            }
            const char *resp = c->responses[c->served++];
            if (write(cfd, resp, strlen(resp)) < 0) {
                break;
            }
        }
        close(cfd);
    }
    return NULL;
}

static void canned_start(struct canned *c) {
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    SM_ASSERT(c->fd >= 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    SM_ASSERT_INT_EQ(bind(c->fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    SM_ASSERT_INT_EQ(listen(c->fd, 8), 0);
    socklen_t alen = sizeof(addr);
    SM_ASSERT_INT_EQ(getsockname(c->fd, (struct sockaddr *)&addr, &alen), 0);
    c->port = ntohs(addr.sin_port);
    SM_ASSERT_INT_EQ(pthread_create(&c->thread, NULL, canned_run, c), 0);
}

static void canned_stop(struct canned *c) {
    shutdown(c->fd, SHUT_RDWR);
    close(c->fd);
    pthread_join(c->thread, NULL);
}

/* A 200 (or other) JSON 1.1 response with a keep-alive Content-Length framing. */
static const char *canned_response(char *buf, size_t size, int status, const char *extra_headers,
                                   const char *body) {
    snprintf(buf, size,
             "HTTP/1.1 %d X\r\nContent-Type: application/x-amz-json-1.1\r\n%sContent-Length: "
             "%zu\r\n\r\n%s",
             status, extra_headers, strlen(body), body);
    return buf;
}

/* A port on 127.0.0.1 that refuses connections (bound, never listening): a proxy that must not be
 * used. Keep the returned socket open while the port must stay refused. */
static int refusing_port(int *fd_out) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    SM_ASSERT(fd >= 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    SM_ASSERT_INT_EQ(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    socklen_t alen = sizeof(addr);
    SM_ASSERT_INT_EQ(getsockname(fd, (struct sockaddr *)&addr, &alen), 0);
    *fd_out = fd;
    return ntohs(addr.sin_port);
}

struct client_env {
    struct aws_config cfg;
    struct http_client http;
    struct aws_client c;
};

static void client_start(struct client_env *e, const char *endpoint, const char *secret_key,
                         const char *session_token) {
    struct sm_err err;
    static bool http_ready;
    if (!http_ready) {
        SM_ASSERT_OK(http_global_init(&err), err);
        http_ready = true;
    }
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
    e->c.random01 = jitter_zero; /* fast retries unless a test wants otherwise */
}

static void client_stop(struct client_env *e) {
    http_client_clean_up(&e->http);
    aws_config_clean_up(&e->cfg);
}

static void canned_endpoint(const struct canned *c, char *out, size_t size) {
    snprintf(out, size, "http://127.0.0.1:%d", c->port);
}

/* PutSecretValue's own checks fail before anything is sent: the client points at a port that
 * refuses connections and its attempt counter stays at 0. */
SM_TEST(secrets_put_secret_value_refuses_bad_arguments_before_sending) {
    int fd;
    char endpoint[64];
    snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d", refusing_port(&fd));
    struct client_env e;
    client_start(&e, endpoint, SECRET_KEY, NULL);
    struct sm_err err;
    const char *pending[] = {"AWSPENDING"};
    /* The ClientRequestToken is the version id: required, never made up. */
    SM_ASSERT_INT_EQ(
        secrets_put_secret_value(&e.c, "s", "", "v", 1, pending, 1, NULL, deadline_in(10000), &err),
        -1);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_INTERNAL);
    SM_ASSERT_STR_CONTAINS(err.msg, "PutSecretValue on secret s");
    SM_ASSERT_STR_CONTAINS(err.msg, "ClientRequestToken");
    SM_ASSERT_INT_EQ(secrets_put_secret_value(&e.c, "s", NULL, "v", 1, pending, 1, NULL,
                                              deadline_in(10000), &err),
                     -1);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_INTERNAL);
    SM_ASSERT_STR_CONTAINS(err.msg, "ClientRequestToken");
    /* The string is sent by reference: it must end exactly at len (no NUL byte inside). */
    SM_ASSERT_INT_EQ(secrets_put_secret_value(&e.c, "s", TOKEN_A, "abc", 2, NULL, 0, NULL,
                                              deadline_in(10000), &err),
                     -1);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_INTERNAL);
    SM_ASSERT_STR_NOT_CONTAINS(err.msg, "abc");
    SM_ASSERT_INT_EQ(secrets_put_secret_value(&e.c, "s", TOKEN_A, "a\0b", 3, NULL, 0, NULL,
                                              deadline_in(10000), &err),
                     -1);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_INTERNAL);
    SM_ASSERT_INT_EQ(secrets_put_secret_value(&e.c, "s", TOKEN_A, NULL, 0, NULL, 0, NULL,
                                              deadline_in(10000), &err),
                     -1);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_INTERNAL);
    /* Past Secrets Manager's limit. */
    size_t big_len = SM_LIMIT_SECRET_STRING + 1;
    char *big = malloc(big_len + 1);
    SM_ASSERT(big != NULL);
    memset(big, 'x', big_len);
    big[big_len] = '\0';
    SM_ASSERT_INT_EQ(secrets_put_secret_value(&e.c, "s", TOKEN_A, big, big_len, NULL, 0, NULL,
                                              deadline_in(10000), &err),
                     -1);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_TOO_LARGE);
    free(big);
    SM_ASSERT_INT_EQ(e.c.calls, 0);
    client_stop(&e);
    close(fd);
}

SM_TEST(secrets_request_is_signed_json_1_1_with_host_port) {
    struct canned srv = {0};
    char r0[512];
    srv.responses[0] = canned_response(r0, sizeof(r0), 200, "", "{\"ARN\":\"a\",\"Name\":\"n\"}");
    srv.n_responses = 1;
    canned_start(&srv);
    char endpoint[64];
    canned_endpoint(&srv, endpoint, sizeof(endpoint));
    struct client_env e;
    client_start(&e, endpoint, SECRET_KEY, "the-session-token");
    struct sm_err err;
    struct secrets_description d;
    SM_ASSERT_OK(secrets_describe_secret(&e.c, "my/secret", deadline_in(10000), &d, &err), err);
    SM_ASSERT_STR_EQ(d.arn, "a");
    SM_ASSERT_INT_EQ(e.c.calls, 1);
    secrets_description_clean_up(&d);
    client_stop(&e);
    canned_stop(&srv);

    const char *req = srv.requests[0];
    char host[64];
    snprintf(host, sizeof(host), "\r\nHost: 127.0.0.1:%d\r\n", srv.port);
    SM_ASSERT(strncmp(req, "POST / HTTP/1.1\r\n", 17) == 0);
    SM_ASSERT_STR_CONTAINS(req, host);
    SM_ASSERT_STR_CONTAINS(req, "\r\nContent-Type: application/x-amz-json-1.1\r\n");
    SM_ASSERT_STR_CONTAINS(req, "\r\nX-Amz-Target: secretsmanager.DescribeSecret\r\n");
    SM_ASSERT_STR_CONTAINS(req, "\r\nX-Amz-Security-Token: the-session-token\r\n");
    SM_ASSERT_STR_CONTAINS(req, "\r\nX-Amz-Date: ");
    SM_ASSERT_STR_CONTAINS(req, "\r\nAuthorization: AWS4-HMAC-SHA256 Credential=" AKID "/");
    SM_ASSERT_STR_CONTAINS(req, "/" REGION "/secretsmanager/aws4_request, SignedHeaders=content-"
                                "type;host;x-amz-date;x-amz-security-token;x-amz-target, "
                                "Signature=");
    SM_ASSERT_STR_NOT_CONTAINS(req, "Expect:");
    SM_ASSERT_STR_NOT_CONTAINS(req, "chunked");
    SM_ASSERT_STR_CONTAINS(req, "\r\n\r\n{\"SecretId\":\"my/secret\"}");
}

SM_TEST(secrets_responses_with_null_or_absent_fields_parse_leniently) {
    struct canned srv = {0};
    char r[3][768];
    /* moto-like: nulls everywhere, labels on no version, tags with a missing Value. */
    srv.responses[0] = canned_response(
        r[0], sizeof(r[0]), 200, "",
        "{\"ARN\":null,\"Name\":\"n\",\"RotationEnabled\":null,\"LastAccessedDate\":null,"
        "\"VersionIdsToStages\":{\"" TOKEN_A "\":[],\"" TOKEN_B "\":[\"AWSCURRENT\",null]},"
        "\"Tags\":[{\"Key\":\"k\"},{\"Value\":\"orphan\"},7]}");
    srv.responses[1] = canned_response(r[1], sizeof(r[1]), 200, "",
                                       "{\"VersionId\":\"" TOKEN_B "\",\"VersionStages\":null,"
                                       "\"SecretBinary\":\"AAEC\",\"CreatedDate\":1523477145.713}");
    srv.responses[2] = canned_response(r[2], sizeof(r[2]), 200, "", "{}");
    srv.n_responses = 3;
    canned_start(&srv);
    char endpoint[64];
    canned_endpoint(&srv, endpoint, sizeof(endpoint));
    struct client_env e;
    client_start(&e, endpoint, SECRET_KEY, NULL);
    struct sm_err err;

    struct secrets_description d;
    SM_ASSERT_OK(secrets_describe_secret(&e.c, "s", deadline_in(10000), &d, &err), err);
    SM_ASSERT(d.arn == NULL);
    SM_ASSERT_INT_EQ(d.rotation_enabled, -1);
    SM_ASSERT_INT_EQ(d.n_versions, 2);
    SM_ASSERT(secrets_description_find(&d, TOKEN_A) != NULL);
    SM_ASSERT_INT_EQ(secrets_description_find(&d, TOKEN_A)->n_stages, 0);
    SM_ASSERT(secrets_version_has_stage(secrets_description_find(&d, TOKEN_B), "AWSCURRENT"));
    SM_ASSERT(secrets_description_holder(&d, "AWSCURRENT") ==
              secrets_description_find(&d, TOKEN_B));
    SM_ASSERT(secrets_description_find(&d, TOKEN_C) == NULL);
    SM_ASSERT_INT_EQ(d.n_tags, 1);
    SM_ASSERT_STR_EQ(d.tags[0].key, "k");
    SM_ASSERT(d.tags[0].value == NULL);
    SM_ASSERT(secrets_description_tag(&d, "K") == NULL);
    secrets_description_clean_up(&d);

    struct secrets_value v;
    SM_ASSERT_OK(secrets_get_secret_value(&e.c, "s", NULL, NULL, deadline_in(10000), &v, &err),
                 err);
    SM_ASSERT(v.secret_string == NULL && v.secret_string_len == 0 && v.has_binary);
    secrets_value_clean_up(&v);

    /* A 200 without RandomPassword is a protocol error, not an empty password. */
    struct sm_buf pw;
    sm_buf_init(&pw, 4096);
    SM_ASSERT_INT_EQ(secrets_get_random_password(&e.c, NULL, deadline_in(10000), &pw, &err), -1);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_PROTOCOL);
    SM_ASSERT_INT_EQ(pw.len, 0);
    sm_buf_clean_up(&pw);
    client_stop(&e);
    canned_stop(&srv);
}

/* GetSecretValue hands over the decoded string with its length; a SecretString past Secrets
 * Manager's limit is a protocol error. */
SM_TEST(secrets_get_secret_value_hands_over_the_string_within_the_limit) {
    struct canned srv = {0};
    char r0[256];
    srv.responses[0] = canned_response(r0, sizeof(r0), 200, "",
                                       "{\"SecretString\":\"p\\\"w\\n\\u00e9\\\\\","
                                       "\"VersionId\":\"" TOKEN_A "\"}");
    size_t sizes[2] = {SM_LIMIT_SECRET_STRING, SM_LIMIT_SECRET_STRING + 1};
    char *bodies[2];
    char *responses[2];
    for (size_t i = 0; i < 2; i++) {
        bodies[i] = malloc(sizes[i] + 64);
        SM_ASSERT(bodies[i] != NULL);
        int n = snprintf(bodies[i], 64, "{\"SecretString\":\"");
        memset(bodies[i] + n, 'y', sizes[i]);
        snprintf(bodies[i] + (size_t)n + sizes[i], 64, "\"}");
        responses[i] = malloc(sizes[i] + 512);
        SM_ASSERT(responses[i] != NULL);
        srv.responses[1 + i] = canned_response(responses[i], sizes[i] + 512, 200, "", bodies[i]);
    }
    srv.n_responses = 3;
    canned_start(&srv);
    char endpoint[64];
    canned_endpoint(&srv, endpoint, sizeof(endpoint));
    struct client_env e;
    client_start(&e, endpoint, SECRET_KEY, NULL);
    struct sm_err err;
    struct secrets_value v;
    SM_ASSERT_OK(secrets_get_secret_value(&e.c, "s", NULL, NULL, deadline_in(10000), &v, &err),
                 err);
    SM_ASSERT_INT_EQ(v.secret_string_len, 7);
    SM_ASSERT(memcmp(v.secret_string, "p\"w\n\xc3\xa9\\", 8) == 0);
    SM_ASSERT(!v.has_binary);
    secrets_value_clean_up(&v);
    SM_ASSERT(v.secret_string == NULL && v.secret_string_len == 0);
    SM_ASSERT_OK(secrets_get_secret_value(&e.c, "s", NULL, NULL, deadline_in(10000), &v, &err),
                 err);
    SM_ASSERT_INT_EQ(v.secret_string_len, SM_LIMIT_SECRET_STRING);
    SM_ASSERT_INT_EQ(strlen(v.secret_string), SM_LIMIT_SECRET_STRING);
    secrets_value_clean_up(&v);
    SM_ASSERT_INT_EQ(secrets_get_secret_value(&e.c, "s", NULL, NULL, deadline_in(10000), &v, &err),
                     -1);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_PROTOCOL);
    SM_ASSERT_STR_CONTAINS(err.msg, "GetSecretValue on secret s");
    secrets_value_clean_up(&v);
    SM_ASSERT_INT_EQ(e.c.calls, 3);
    client_stop(&e);
    canned_stop(&srv);
    for (size_t i = 0; i < 2; i++) {
        free(bodies[i]);
        free(responses[i]);
    }
}

/* moto's shape: the code only in the x-amzn-ErrorType header (with a ":" suffix); a code in the
 * body wins over the header. */
SM_TEST(secrets_error_type_header_used_when_body_has_none) {
    struct canned srv = {0};
    char r[2][512];
    srv.responses[0] = canned_response(
        r[0], sizeof(r[0]), 404,
        "x-amzn-ErrorType: ResourceNotFoundException:http://internal.amazon.com/coral/\r\n",
        "{\"message\":\"Secrets Manager can't find the specified secret.\"}");
    srv.responses[1] = canned_response(r[1], sizeof(r[1]), 400, "x-amzn-ErrorType: HeaderType\r\n",
                                       "{\"__type\":\"AccessDeniedException\",\"Message\":\"m\"}");
    srv.n_responses = 2;
    canned_start(&srv);
    char endpoint[64];
    canned_endpoint(&srv, endpoint, sizeof(endpoint));
    struct client_env e;
    client_start(&e, endpoint, SECRET_KEY, NULL);
    struct sm_err err;
    struct secrets_value v;
    SM_ASSERT_INT_EQ(
        secrets_get_secret_value(&e.c, "gone", NULL, "AWSCURRENT", deadline_in(10000), &v, &err),
        -1);
    SM_ASSERT(sm_err_is_aws(&err, "ResourceNotFoundException"));
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_AWS_CLIENT);
    SM_ASSERT_INT_EQ(err.http_status, 404);
    SM_ASSERT_INT_EQ(e.c.calls, 1);
    SM_ASSERT_STR_EQ(err.msg, "GetSecretValue on secret gone failed: ResourceNotFoundException: "
                              "Secrets Manager can't find the specified secret.");
    secrets_value_clean_up(&v);
    SM_ASSERT_INT_EQ(secrets_get_secret_value(&e.c, "s", NULL, NULL, deadline_in(10000), &v, &err),
                     -1);
    SM_ASSERT(sm_err_is_aws(&err, "AccessDeniedException"));
    SM_ASSERT_STR_EQ(err.msg, "GetSecretValue on secret s failed: AccessDeniedException: m");
    secrets_value_clean_up(&v);
    client_stop(&e);
    canned_stop(&srv);
}

/* The proxy of the endpoint's scheme carries the request (aws_config's https_proxy for https,
 * http_proxy for http); NO_PROXY hosts go direct. A canned responder plays the proxy; the other
 * proxy setting points at a port that refuses connections. */
SM_TEST(secrets_requests_go_through_the_proxy_of_the_endpoint_scheme) {
    int dead_fd;
    char dead[64];
    snprintf(dead, sizeof(dead), "http://127.0.0.1:%d", refusing_port(&dead_fd));
    char proxy_url[64];
    char r0[256];
    struct client_env e;
    struct sm_err err;
    struct sm_buf pw;
    sm_buf_init(&pw, 4096);

    /* http endpoint: an absolute-form request to the HTTP proxy, signed for the endpoint's host. */
    struct canned proxy = {0};
    proxy.responses[0] =
        canned_response(r0, sizeof(r0), 200, "", "{\"RandomPassword\":\"pw-through-proxy\"}");
    proxy.n_responses = 1;
    canned_start(&proxy);
    canned_endpoint(&proxy, proxy_url, sizeof(proxy_url));
    client_start(&e, "http://sm.example.invalid:8080", SECRET_KEY, NULL);
    e.cfg.http_proxy = sm_strdup(proxy_url);
    e.cfg.https_proxy = sm_strdup(dead);
    SM_ASSERT_OK(secrets_get_random_password(&e.c, NULL, deadline_in(10000), &pw, &err), err);
    SM_ASSERT_STR_EQ(pw.data, "pw-through-proxy");
    SM_ASSERT_INT_EQ(e.c.calls, 1);
    client_stop(&e);
    canned_stop(&proxy);
    const char *line = "POST http://sm.example.invalid:8080/ HTTP/1.1\r\n";
    SM_ASSERT(strncmp(proxy.requests[0], line, strlen(line)) == 0);
    SM_ASSERT_STR_CONTAINS(proxy.requests[0], "\r\nHost: sm.example.invalid:8080\r\n");
    SM_ASSERT_STR_CONTAINS(proxy.requests[0],
                           "\r\nX-Amz-Target: secretsmanager.GetRandomPassword\r\n");

    /* https endpoint: a CONNECT tunnel through the HTTPS proxy. This proxy refuses it: a
     * transport error. */
    struct canned tunnel = {0};
    tunnel.responses[0] = "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n";
    tunnel.n_responses = 1;
    canned_start(&tunnel);
    canned_endpoint(&tunnel, proxy_url, sizeof(proxy_url));
    client_start(&e, "https://sm.example.invalid", SECRET_KEY, NULL);
    e.cfg.https_proxy = sm_strdup(proxy_url);
    e.cfg.http_proxy = sm_strdup(dead);
    e.cfg.max_attempts = 1;
    SM_ASSERT_INT_EQ(secrets_get_random_password(&e.c, NULL, deadline_in(10000), &pw, &err), -1);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_TRANSPORT);
    SM_ASSERT_STR_CONTAINS(err.msg, "GetRandomPassword failed: ");
    SM_ASSERT_INT_EQ(e.c.calls, 1);
    client_stop(&e);
    canned_stop(&tunnel);
    line = "CONNECT sm.example.invalid:443 HTTP/1.1\r\n";
    SM_ASSERT(strncmp(tunnel.requests[0], line, strlen(line)) == 0);

    /* NO_PROXY names the endpoint's host: straight to the endpoint. */
    struct canned direct = {0};
    direct.responses[0] =
        canned_response(r0, sizeof(r0), 200, "", "{\"RandomPassword\":\"pw-direct\"}");
    direct.n_responses = 1;
    canned_start(&direct);
    char endpoint[64];
    canned_endpoint(&direct, endpoint, sizeof(endpoint));
    client_start(&e, endpoint, SECRET_KEY, NULL);
    e.cfg.http_proxy = sm_strdup(dead);
    e.cfg.https_proxy = sm_strdup(dead);
    e.cfg.no_proxy = sm_strdup("localhost,127.0.0.1");
    e.cfg.max_attempts = 1;
    SM_ASSERT_OK(secrets_get_random_password(&e.c, NULL, deadline_in(10000), &pw, &err), err);
    SM_ASSERT_STR_EQ(pw.data, "pw-direct");
    client_stop(&e);
    canned_stop(&direct);
    SM_ASSERT(strncmp(direct.requests[0], "POST / HTTP/1.1\r\n", 17) == 0);
    sm_buf_clean_up(&pw);
    close(dead_fd);
}

/* ------------------------------------------------------------------------------------------ */
/* Against the emulator                                                                         */

struct emu {
    struct fake_sm fake;
    struct client_env client;
};

static void emu_start(struct emu *e, const char *const *extra_args) {
    fake_sm_start(&e->fake, AKID, SECRET_KEY, extra_args);
    client_start(&e->client, e->fake.endpoint, SECRET_KEY, NULL);
}

static void emu_stop(struct emu *e) {
    client_stop(&e->client);
    fake_sm_stop(&e->fake);
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

SM_TEST(secrets_describe_secret_reads_versions_and_rotation_state) {
    struct emu e;
    emu_start(&e, NULL);
    create_secret(&e, "app/db", "{\\\"password\\\":\\\"v1\\\"}", TOKEN_A);
    struct sm_err err;
    struct secrets_description d;
    SM_ASSERT_OK(secrets_describe_secret(&e.client.c, "app/db", deadline_in(10000), &d, &err), err);
    SM_ASSERT_STR_CONTAINS(d.arn, "arn:aws:secretsmanager:us-east-1:");
    SM_ASSERT_STR_CONTAINS(d.arn, ":secret:app/db-");
    SM_ASSERT_INT_EQ(d.rotation_enabled, -1); /* never configured: absent */
    SM_ASSERT_INT_EQ(d.n_versions, 1);
    SM_ASSERT(secrets_version_has_stage(secrets_description_find(&d, TOKEN_A), "AWSCURRENT"));
    SM_ASSERT(secrets_description_holder(&d, "AWSCURRENT") ==
              secrets_description_find(&d, TOKEN_A));
    SM_ASSERT(secrets_description_holder(&d, "AWSPENDING") == NULL);
    SM_ASSERT_INT_EQ(d.n_tags, 0);
    /* The ARN works as SecretId too. */
    char *arn = sm_strdup(d.arn);
    secrets_description_clean_up(&d);
    SM_ASSERT_OK(secrets_describe_secret(&e.client.c, arn, deadline_in(10000), &d, &err), err);
    SM_ASSERT_STR_EQ(d.arn, arn);
    secrets_description_clean_up(&d);
    sm_free(arn);
    SM_ASSERT_INT_EQ(fake_sm_wait_calls(&e.fake, "DescribeSecret", 2), 2);
    emu_stop(&e);
}

SM_TEST(secrets_describe_secret_reads_tags) {
    struct emu e;
    emu_start(&e, NULL);
    const char *body =
        "{\"Name\":\"tagged\",\"SecretString\":\"v\",\"ClientRequestToken\":\"" TOKEN_A
        "\",\"Tags\":[{\"Key\":\"Engine\",\"Value\":\"mysql\"},"
        "{\"Key\":\"team\",\"Value\":\"\"}]}";
    struct sm_err err;
    cJSON *out = NULL;
    SM_ASSERT_OK(secrets_call(&e.client.c, "CreateSecret", "tagged", body, strlen(body),
                              deadline_in(10000), &out, &err),
                 err);
    cJSON_Delete(out);
    struct secrets_description d;
    SM_ASSERT_OK(secrets_describe_secret(&e.client.c, "tagged", deadline_in(10000), &d, &err), err);
    SM_ASSERT_INT_EQ(d.n_tags, 2);
    SM_ASSERT_STR_EQ(secrets_description_tag(&d, "Engine"), "mysql");
    SM_ASSERT_STR_EQ(secrets_description_tag(&d, "engine"), "mysql");
    SM_ASSERT_STR_EQ(secrets_description_tag(&d, "TEAM"), ""); /* present but empty */
    SM_ASSERT(secrets_description_tag(&d, "owner") == NULL);
    secrets_description_clean_up(&d);
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
    SM_ASSERT(v.secret_string != NULL && !v.has_binary);
    SM_ASSERT_SECRET_EQ(v.secret_string, "second-value");
    SM_ASSERT_INT_EQ(v.secret_string_len, 12);
    secrets_value_clean_up(&v);
    SM_ASSERT_OK(secrets_get_secret_value(&e.client.c, "s", NULL, "AWSPREVIOUS", deadline_in(10000),
                                          &v, &err),
                 err);
    SM_ASSERT_SECRET_EQ(v.secret_string, "first-value");
    secrets_value_clean_up(&v);
    SM_ASSERT_OK(secrets_get_secret_value(&e.client.c, "s", TOKEN_A, "AWSPREVIOUS",
                                          deadline_in(10000), &v, &err),
                 err);
    SM_ASSERT_SECRET_EQ(v.secret_string, "first-value");
    secrets_value_clean_up(&v);
    /* VersionId and VersionStage that disagree: InvalidRequestException, not retried. */
    SM_ASSERT_INT_EQ(secrets_get_secret_value(&e.client.c, "s", TOKEN_A, "AWSCURRENT",
                                              deadline_in(10000), &v, &err),
                     -1);
    SM_ASSERT(sm_err_is_aws(&err, "InvalidRequestException"));
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_AWS_CLIENT);
    secrets_value_clean_up(&v);
    emu_stop(&e);
}

SM_TEST(secrets_get_secret_value_on_rotation_stub_is_resource_not_found) {
    struct emu e;
    emu_start(&e, NULL);
    create_secret(&e, "rot", "current-value", TOKEN_A);
    /* RotateSecret (no --lambda-invoke-url: the emulator only creates the AWSPENDING stub). */
    const char *body =
        "{\"SecretId\":\"rot\",\"ClientRequestToken\":\"" TOKEN_B "\","
        "\"RotationLambdaARN\":\"arn:aws:lambda:us-east-1:123456789012:function:r\"}";
    struct sm_err err;
    cJSON *out = NULL;
    SM_ASSERT_OK(secrets_call(&e.client.c, "RotateSecret", "rot", body, strlen(body),
                              deadline_in(10000), &out, &err),
                 err);
    cJSON_Delete(out);
    struct secrets_description d;
    SM_ASSERT_OK(secrets_describe_secret(&e.client.c, "rot", deadline_in(10000), &d, &err), err);
    SM_ASSERT_INT_EQ(d.rotation_enabled, 1);
    SM_ASSERT(secrets_version_has_stage(secrets_description_find(&d, TOKEN_B), "AWSPENDING"));
    secrets_description_clean_up(&d);
    uint64_t before = e.client.c.calls;
    struct secrets_value v;
    SM_ASSERT_INT_EQ(secrets_get_secret_value(&e.client.c, "rot", TOKEN_B, "AWSPENDING",
                                              deadline_in(10000), &v, &err),
                     -1);
    SM_ASSERT_STR_EQ(err.aws_type, "ResourceNotFoundException");
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_AWS_CLIENT);
    SM_ASSERT_INT_EQ(err.http_status, 400);
    SM_ASSERT_INT_EQ(e.client.c.calls - before, 1);
    SM_ASSERT_STR_CONTAINS(err.msg, "GetSecretValue on secret rot failed: "
                                    "ResourceNotFoundException: ");
    SM_ASSERT(v.secret_string == NULL);
    secrets_value_clean_up(&v);
    emu_stop(&e);
}

SM_TEST(secrets_put_secret_value_is_idempotent_and_conflicts_on_other_value) {
    struct emu e;
    emu_start(&e, NULL);
    create_secret(&e, "p", "v1", TOKEN_A);
    struct sm_err err;
    const char *pending[] = {"AWSPENDING"};
    const char *value = "{\"password\":\"n3w/P@ss\\\"word\"}";
    for (int i = 0; i < 2; i++) { /* the same token and value twice: success both times */
        SM_ASSERT_OK(secrets_put_secret_value(&e.client.c, "p", TOKEN_B, value, strlen(value),
                                              pending, 1, NULL, deadline_in(10000), &err),
                     err);
    }
    cJSON *state = fake_sm_control(&e.fake, "GET", "/_fake/state", NULL);
    const cJSON *ver = state_version(state, "p", TOKEN_B);
    SM_ASSERT(ver != NULL);
    SM_ASSERT_SECRET_EQ(sm_json_string(ver, "SecretString"), value);
    SM_ASSERT(state_has_stage(ver, "AWSPENDING") && !state_has_stage(ver, "AWSCURRENT"));
    SM_ASSERT(state_has_stage(state_version(state, "p", TOKEN_A), "AWSCURRENT"));
    cJSON_Delete(state);

    uint64_t before = e.client.c.calls;
    SM_ASSERT_INT_EQ(secrets_put_secret_value(&e.client.c, "p", TOKEN_B, "other", 5, pending, 1,
                                              NULL, deadline_in(10000), &err),
                     -1);
    SM_ASSERT(sm_err_is_aws(&err, "ResourceExistsException"));
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_AWS_CLIENT);
    SM_ASSERT_INT_EQ(e.client.c.calls - before, 1);
    SM_ASSERT_STR_NOT_CONTAINS(err.msg, "other");

    /* Without a token nothing is sent: the version id is the caller's, never made up. */
    before = e.client.c.calls;
    SM_ASSERT_INT_EQ(secrets_put_secret_value(&e.client.c, "p", "", "v3", 2, NULL, 0, NULL,
                                              deadline_in(10000), &err),
                     -1);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_INTERNAL);
    SM_ASSERT_INT_EQ(e.client.c.calls - before, 0);
    SM_ASSERT_INT_EQ(fake_sm_wait_calls(&e.fake, "PutSecretValue", 3), 3);

    /* Without stages the service moves AWSCURRENT to the new version. */
    SM_ASSERT_OK(secrets_put_secret_value(&e.client.c, "p", TOKEN_C, "v3", 2, NULL, 0, NULL,
                                          deadline_in(10000), &err),
                 err);
    struct secrets_value v;
    SM_ASSERT_OK(secrets_get_secret_value(&e.client.c, "p", NULL, "AWSCURRENT", deadline_in(10000),
                                          &v, &err),
                 err);
    SM_ASSERT_SECRET_EQ(v.secret_string, "v3");
    secrets_value_clean_up(&v);
    struct secrets_description d;
    SM_ASSERT_OK(secrets_describe_secret(&e.client.c, "p", deadline_in(10000), &d, &err), err);
    SM_ASSERT(secrets_description_holder(&d, "AWSCURRENT") ==
              secrets_description_find(&d, TOKEN_C));
    SM_ASSERT(secrets_description_holder(&d, "AWSPREVIOUS") ==
              secrets_description_find(&d, TOKEN_A));
    SM_ASSERT(secrets_description_holder(&d, "AWSPENDING") ==
              secrets_description_find(&d, TOKEN_B));
    secrets_description_clean_up(&d);
    emu_stop(&e);
}

SM_TEST(secrets_put_secret_value_sends_rotation_token_only_when_given) {
    struct emu e;
    emu_start(&e, NULL);
    create_secret(&e, "rt", "v1", TOKEN_A);
    struct sm_err err;
    const char *pending[] = {"AWSPENDING"};
    SM_ASSERT_OK(secrets_put_secret_value(&e.client.c, "rt", TOKEN_B, "v2", 2, pending, 1, "",
                                          deadline_in(10000), &err),
                 err);
    SM_ASSERT_OK(secrets_put_secret_value(&e.client.c, "rt", TOKEN_C, "v3", 2, pending, 1,
                                          ROTATION_TOKEN, deadline_in(10000), &err),
                 err);
    SM_ASSERT_INT_EQ(fake_sm_wait_calls(&e.fake, "PutSecretValue", 2), 2);
    cJSON *calls = fake_sm_control(&e.fake, "GET", "/_fake/calls", NULL);
    int puts = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, calls) {
        const char *op = sm_json_string(c, "operation");
        bool present = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "rotation_token_present"));
        if (strcmp(op, "PutSecretValue") == 0) {
            const char *token = sm_json_string(c, "ClientRequestToken");
            SM_ASSERT_INT_EQ(present, strcmp(token, TOKEN_C) == 0);
            puts++;
        } else {
            SM_ASSERT(!present);
        }
    }
    SM_ASSERT_INT_EQ(puts, 2);
    cJSON_Delete(calls);
    cJSON *state = fake_sm_control(&e.fake, "GET", "/_fake/state", NULL);
    SM_ASSERT(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(state_version(state, "rt", TOKEN_C),
                                                            "RotationTokenPresent")));
    SM_ASSERT(!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(state_version(state, "rt", TOKEN_B),
                                                             "RotationTokenPresent")));
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
    SM_ASSERT_INT_EQ(fake_sm_wait_calls(&e.fake, NULL, 7), 7);
    cJSON *calls = fake_sm_control(&e.fake, "GET", "/_fake/calls", NULL);
    const cJSON *last = cJSON_GetArrayItem(calls, cJSON_GetArraySize(calls) - 2);
    SM_ASSERT_STR_EQ(sm_json_string(last, "operation"), "UpdateSecretVersionStage");
    SM_ASSERT_STR_EQ(sm_json_string(last, "RemoveFromVersionId"), TOKEN_B);
    SM_ASSERT(cJSON_GetObjectItemCaseSensitive(last, "MoveToVersionId") == NULL);
    cJSON_Delete(calls);
    emu_stop(&e);
}

static bool all_chars(const struct sm_buf *b, int (*pred)(int), bool want) {
    for (size_t i = 0; i < b->len; i++) {
        if ((pred((unsigned char)b->data[i]) != 0) != want) {
            return false;
        }
    }
    return true;
}

static bool any_char(const struct sm_buf *b, int (*pred)(int)) {
    return !all_chars(b, pred, false);
}

static int is_space_char(int c) {
    return c == ' ';
}

SM_TEST(secrets_get_random_password_sends_every_policy_field) {
    struct emu e;
    emu_start(&e, NULL);
    struct sm_err err;
    struct sm_buf pw;
    sm_buf_init(&pw, 8192);
    struct secrets_password_policy p = {
        .length = 40,
        .exclude_characters = "abcdefghijklm",
        .exclude_numbers = SECRETS_TRUE,
        .exclude_punctuation = SECRETS_TRUE,
        .exclude_uppercase = SECRETS_TRUE,
        .exclude_lowercase = SECRETS_FALSE,
        .include_space = SECRETS_TRUE,
        .require_each_included_type = SECRETS_TRUE,
    };
    SM_ASSERT_OK(secrets_get_random_password(&e.client.c, &p, deadline_in(10000), &pw, &err), err);
    SM_ASSERT_INT_EQ(pw.len, 40);
    SM_ASSERT(all_chars(&pw, isdigit, false));
    SM_ASSERT(all_chars(&pw, isupper, false));
    SM_ASSERT(all_chars(&pw, ispunct, false));
    SM_ASSERT(strpbrk(pw.data, "abcdefghijklm") == NULL);
    SM_ASSERT(any_char(&pw, islower));

    p = (struct secrets_password_policy){
        .length = 64,
        .exclude_numbers = SECRETS_FALSE,
        .exclude_punctuation = SECRETS_TRUE,
        .exclude_uppercase = SECRETS_FALSE,
        .exclude_lowercase = SECRETS_TRUE,
        .include_space = SECRETS_FALSE,
        .require_each_included_type = SECRETS_TRUE,
    };
    SM_ASSERT_OK(secrets_get_random_password(&e.client.c, &p, deadline_in(10000), &pw, &err), err);
    SM_ASSERT_INT_EQ(pw.len, 64); /* replaced, not appended */
    SM_ASSERT(all_chars(&pw, islower, false));
    SM_ASSERT(all_chars(&pw, is_space_char, false));
    SM_ASSERT(any_char(&pw, isdigit) && any_char(&pw, isupper));

    /* Defaults (nothing sent): 32 characters. */
    struct secrets_password_policy none = {.exclude_numbers = SECRETS_UNSET,
                                           .exclude_punctuation = SECRETS_UNSET,
                                           .exclude_uppercase = SECRETS_UNSET,
                                           .exclude_lowercase = SECRETS_UNSET,
                                           .include_space = SECRETS_UNSET,
                                           .require_each_included_type = SECRETS_UNSET};
    SM_ASSERT_OK(secrets_get_random_password(&e.client.c, &none, deadline_in(10000), &pw, &err),
                 err);
    SM_ASSERT_INT_EQ(pw.len, 32);

    /* Too short for the required types: the service's error, nothing in the buffer. */
    p.length = 1;
    SM_ASSERT_INT_EQ(secrets_get_random_password(&e.client.c, &p, deadline_in(10000), &pw, &err),
                     -1);
    SM_ASSERT(sm_err_is_aws(&err, "InvalidParameterException"));
    SM_ASSERT_STR_CONTAINS(err.msg, "GetRandomPassword failed: InvalidParameterException: ");
    SM_ASSERT_INT_EQ(pw.len, 0);
    sm_buf_clean_up(&pw);
    emu_stop(&e);
}

/* --- retries --- */

/* Full jitter, pinned: rand * min(2^(attempt-1), 20) s before the next attempt, one draw per
 * retry. With rand = 0.5 the delays are 500 ms, then 1000 ms. */
SM_TEST(secrets_throttling_is_retried_with_full_jitter_backoff_and_succeeds) {
    struct emu e;
    emu_start(&e, NULL);
    create_secret(&e, "t", "value", TOKEN_A);
    static const double half[] = {0.5};
    pin_jitter(&e.client.c, half, 1);
    fake_sm_fault(&e.fake, "GetSecretValue", "ThrottlingException", 2);
    struct sm_err err;
    struct secrets_value v;
    uint64_t before = e.client.c.calls;
    int64_t t0 = sm_monotonic_ms();
    SM_ASSERT_OK(secrets_get_secret_value(&e.client.c, "t", NULL, "AWSCURRENT", deadline_in(60000),
                                          &v, &err),
                 err);
    int64_t elapsed = sm_monotonic_ms() - t0;
    SM_ASSERT(elapsed >= 500 + 1000); /* both delays were slept */
    SM_ASSERT_SECRET_EQ(v.secret_string, "value");
    secrets_value_clean_up(&v);
    SM_ASSERT_INT_EQ(s_draws, 2);
    SM_ASSERT_INT_EQ(e.client.c.calls - before, 3);
    SM_ASSERT_INT_EQ(fake_sm_wait_calls(&e.fake, "GetSecretValue", 3), 3);
    emu_stop(&e);
}

/* The default jitter source (OpenSSL): the same outcome, whatever it draws. */
SM_TEST(secrets_throttling_is_retried_with_real_jitter_and_succeeds) {
    struct emu e;
    emu_start(&e, NULL);
    create_secret(&e, "t", "value", TOKEN_A);
    e.client.c.random01 = NULL; /* the real RNG: at most 1 s + 2 s of backoff */
    fake_sm_fault(&e.fake, "GetSecretValue", "ThrottlingException", 2);
    struct sm_err err;
    struct secrets_value v;
    uint64_t before = e.client.c.calls;
    int64_t t0 = sm_monotonic_ms();
    SM_ASSERT_OK(secrets_get_secret_value(&e.client.c, "t", NULL, "AWSCURRENT", deadline_in(60000),
                                          &v, &err),
                 err);
    SM_ASSERT(sm_monotonic_ms() - t0 < 30000); /* does not hang: 10x the 3 s of backoff at most */
    SM_ASSERT_SECRET_EQ(v.secret_string, "value");
    secrets_value_clean_up(&v);
    SM_ASSERT_INT_EQ(e.client.c.calls - before, 3);
    SM_ASSERT_INT_EQ(fake_sm_wait_calls(&e.fake, "GetSecretValue", 3), 3);
    emu_stop(&e);
}

SM_TEST(secrets_server_errors_are_retried_and_succeed) {
    struct emu e;
    emu_start(&e, NULL);
    create_secret(&e, "t", "value", TOKEN_A);
    fake_sm_fault(&e.fake, "DescribeSecret", "InternalServiceError", 1);
    fake_sm_fault(&e.fake, "DescribeSecret", "ServiceUnavailable", 1);
    struct sm_err err;
    struct secrets_description d;
    SM_ASSERT_OK(secrets_describe_secret(&e.client.c, "t", deadline_in(10000), &d, &err), err);
    secrets_description_clean_up(&d);
    SM_ASSERT_INT_EQ(fake_sm_wait_calls(&e.fake, "DescribeSecret", 3), 3);
    /* LimitExceededException is on the SDKs' throttling list: retried too. */
    fake_sm_fault(&e.fake, "UpdateSecretVersionStage", "LimitExceededException", 1);
    const char *pending[] = {"AWSPENDING"};
    SM_ASSERT_OK(secrets_put_secret_value(&e.client.c, "t", TOKEN_B, "v2", 2, pending, 1, NULL,
                                          deadline_in(10000), &err),
                 err);
    SM_ASSERT_OK(secrets_update_secret_version_stage(&e.client.c, "t", "AWSCURRENT", TOKEN_B,
                                                     TOKEN_A, deadline_in(10000), &err),
                 err);
    SM_ASSERT_INT_EQ(fake_sm_wait_calls(&e.fake, "UpdateSecretVersionStage", 2), 2);
    emu_stop(&e);
}

/* libcurl itself resends a request once when a reused keep-alive connection dies before any
 * answer; on a fresh connection the failure reaches the client, which retries it. */
SM_TEST(secrets_dropped_connection_is_retried_and_succeeds) {
    struct emu e;
    emu_start(&e, NULL);
    create_secret(&e, "t", "value", TOKEN_A);
    struct sm_err err;
    struct secrets_value v;

    /* A fresh client: its first request opens a new connection, which the emulator resets. */
    struct client_env fresh;
    client_start(&fresh, e.fake.endpoint, SECRET_KEY, NULL);
    fake_sm_fault(&e.fake, "GetSecretValue", "reset", 1);
    SM_ASSERT_OK(secrets_get_secret_value(&fresh.c, "t", NULL, NULL, deadline_in(10000), &v, &err),
                 err);
    SM_ASSERT_SECRET_EQ(v.secret_string, "value");
    secrets_value_clean_up(&v);
    SM_ASSERT_INT_EQ(fresh.c.calls, 2);
    SM_ASSERT_INT_EQ(fake_sm_wait_calls(&e.fake, "GetSecretValue", 2), 2);
    client_stop(&fresh);

    /* On the reused connection: an abrupt reset, then an orderly close. */
    fake_sm_fault(&e.fake, "GetSecretValue", "reset", 1);
    fake_sm_fault(&e.fake, "GetSecretValue", "close", 1);
    uint64_t before = e.client.c.calls;
    SM_ASSERT_OK(
        secrets_get_secret_value(&e.client.c, "t", NULL, NULL, deadline_in(10000), &v, &err), err);
    secrets_value_clean_up(&v);
    SM_ASSERT(e.client.c.calls - before >= 2 && e.client.c.calls - before <= 3);
    SM_ASSERT_INT_EQ(fake_sm_wait_calls(&e.fake, "GetSecretValue", 5), 5);
    emu_stop(&e);
}

SM_TEST(secrets_three_consecutive_failures_return_the_code) {
    struct emu e;
    emu_start(&e, NULL);
    create_secret(&e, "t", "value", TOKEN_A);
    fake_sm_fault(&e.fake, "GetSecretValue", "ThrottlingException", 3);
    struct sm_err err;
    struct secrets_value v;
    uint64_t before = e.client.c.calls;
    SM_ASSERT_INT_EQ(
        secrets_get_secret_value(&e.client.c, "t", NULL, NULL, deadline_in(10000), &v, &err), -1);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_AWS_THROTTLED);
    SM_ASSERT_STR_EQ(err.aws_type, "ThrottlingException");
    SM_ASSERT_STR_EQ(sm_err_type(&err), "ThrottlingException");
    SM_ASSERT_STR_EQ(err.msg, "GetSecretValue on secret t failed: ThrottlingException: Rate "
                              "exceeded (after 3 attempts)");
    SM_ASSERT_INT_EQ(e.client.c.calls - before, 3);
    secrets_value_clean_up(&v);
    /* The fourth call gets through: the client gave up after three. */
    SM_ASSERT_INT_EQ(fake_sm_wait_calls(&e.fake, "GetSecretValue", 3), 3);
    fake_sm_fault(&e.fake, "DescribeSecret", "InternalServiceError", 3);
    struct secrets_description d;
    SM_ASSERT_INT_EQ(secrets_describe_secret(&e.client.c, "t", deadline_in(10000), &d, &err), -1);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_AWS_SERVER);
    SM_ASSERT_INT_EQ(err.http_status, 500);
    secrets_description_clean_up(&d);
    emu_stop(&e);
}

SM_TEST(secrets_permanent_errors_are_not_retried) {
    struct emu e;
    emu_start(&e, NULL);
    create_secret(&e, "t", "value", TOKEN_A);
    struct sm_err err;
    struct secrets_value v;
    struct {
        const char *fault; /* NULL: a real error (the secret does not exist) */
        const char *code;
        const struct sm_code *cls;
    } cases[] = {
        {NULL, "ResourceNotFoundException", SM_ERR_AWS_CLIENT},
        {"InvalidParameterException", "InvalidParameterException", SM_ERR_AWS_CLIENT},
        {"AccessDeniedException", "AccessDeniedException", SM_ERR_AWS_CLIENT},
        {"DecryptionFailure", "DecryptionFailure", SM_ERR_AWS_CLIENT},
        {"ExpiredTokenException", "ExpiredTokenException", SM_ERR_AWS_AUTH},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (cases[i].fault != NULL) {
            fake_sm_fault(&e.fake, "GetSecretValue", cases[i].fault, 1);
        }
        uint64_t before = e.client.c.calls;
        SM_ASSERT_INT_EQ(secrets_get_secret_value(&e.client.c, cases[i].fault ? "t" : "nope", NULL,
                                                  NULL, deadline_in(10000), &v, &err),
                         -1);
        SM_ASSERT_STR_EQ(err.aws_type, cases[i].code);
        SM_ASSERT_CODE_EQ(err.code, cases[i].cls);
        SM_ASSERT_INT_EQ(e.client.c.calls - before, 1);
        SM_ASSERT_INT_EQ(fake_sm_wait_calls(&e.fake, "GetSecretValue", (int)i + 1), (int)i + 1);
        SM_ASSERT_STR_NOT_CONTAINS(err.msg, "attempts");
        secrets_value_clean_up(&v);
    }
    emu_stop(&e);
}

/* --- deadlines --- */

/* When the next delay would reach the deadline, the last error is returned at once with a note.
 * Pinned: five retries at once, then rand = 0.75 of the 20 s cap (attempt 6: min(2^5, 20) s) is a
 * 15 s delay, past a deadline 10 s away. The ten seconds are only the budget for six quick
 * attempts. */
SM_TEST(secrets_deadline_shorter_than_backoff_cuts_retries_short) {
    struct emu e;
    emu_start(&e, NULL);
    create_secret(&e, "t", "value", TOKEN_A);
    e.client.cfg.max_attempts = 10;
    static const double seq[] = {0, 0, 0, 0, 0, 0.75};
    pin_jitter(&e.client.c, seq, sizeof(seq) / sizeof(seq[0]));
    fake_sm_fault(&e.fake, "GetSecretValue", "ThrottlingException", -1);
    struct sm_err err;
    struct secrets_value v;
    uint64_t before = e.client.c.calls;
    SM_ASSERT_INT_EQ(
        secrets_get_secret_value(&e.client.c, "t", NULL, NULL, deadline_in(10000), &v, &err), -1);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_AWS_THROTTLED);
    SM_ASSERT_STR_EQ(err.aws_type, "ThrottlingException");
    SM_ASSERT_STR_CONTAINS(err.msg, "GetSecretValue on secret t failed: ThrottlingException: Rate "
                                    "exceeded (retries cut short by the invocation deadline "
                                    "after 6 attempts: ");
    SM_ASSERT_STR_CONTAINS(err.msg, " ms left, next retry due in 15000 ms)");
    SM_ASSERT_STR_NOT_CONTAINS(err.msg, "(after ");
    SM_ASSERT_INT_EQ(s_draws, 6);
    SM_ASSERT_INT_EQ(e.client.c.calls - before, 6);
    SM_ASSERT_INT_EQ(fake_sm_wait_calls(&e.fake, "GetSecretValue", 6), 6);
    secrets_value_clean_up(&v);
    /* With time to spare the backoff is slept through and the retry happens: rand = 0.75 of the
     * first attempt's 1 s cap. */
    cJSON_Delete(fake_sm_control(&e.fake, "POST", "/_fake/reset", NULL));
    fake_sm_fault(&e.fake, "GetSecretValue", "ThrottlingException", 1);
    static const double three_quarters[] = {0.75};
    pin_jitter(&e.client.c, three_quarters, 1);
    before = e.client.c.calls;
    int64_t t0 = sm_monotonic_ms();
    SM_ASSERT_OK(
        secrets_get_secret_value(&e.client.c, "t", NULL, NULL, deadline_in(60000), &v, &err), err);
    SM_ASSERT(sm_monotonic_ms() - t0 >= 750);
    SM_ASSERT_INT_EQ(s_draws, 1);
    SM_ASSERT_INT_EQ(e.client.c.calls - before, 2);
    secrets_value_clean_up(&v);
    emu_stop(&e);
}

/* A slow answer is cut off at the deadline: no attempt runs past it. The emulator holds the
 * answer 8 s, more than the deadline (3 s) and less than the attempt timeout (10 s), so only the
 * deadline can end the attempt. */
SM_TEST(secrets_deadline_caps_a_slow_attempt) {
    struct emu e;
    emu_start(&e, NULL);
    create_secret(&e, "t", "value", TOKEN_A);
    cJSON_Delete(fake_sm_control(&e.fake, "POST", "/_fake/faults",
                                 "{\"operation\":\"GetSecretValue\",\"error\":\"delay\","
                                 "\"delay_ms\":8000,\"count\":1}"));
    struct sm_err err;
    struct secrets_value v;
    uint64_t before = e.client.c.calls;
    int64_t deadline = deadline_in(3000);
    SM_ASSERT_INT_EQ(secrets_get_secret_value(&e.client.c, "t", NULL, NULL, deadline, &v, &err),
                     -1);
    /* The attempt's timeout was the time left, so it ended at the deadline (the slack only
     * absorbs millisecond rounding), not before. */
    SM_ASSERT(sm_now_ms() >= deadline - 100);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_DEADLINE);
    SM_ASSERT_STR_CONTAINS(err.msg, "GetSecretValue on secret t failed: the invocation deadline "
                                    "was reached during attempt 1");
    SM_ASSERT_INT_EQ(e.client.c.calls - before, 1);
    secrets_value_clean_up(&v);
    emu_stop(&e);
}

/* A per-attempt timeout (not the deadline) is a transport error and is retried. The emulator
 * holds the first answer 20 s; the attempt timeout (3 s) ends it, and the retry, answered at
 * once, succeeds. */
SM_TEST(secrets_attempt_timeout_is_retried) {
    struct emu e;
    emu_start(&e, NULL);
    create_secret(&e, "t", "value", TOKEN_A);
    cJSON_Delete(fake_sm_control(&e.fake, "POST", "/_fake/faults",
                                 "{\"operation\":\"GetSecretValue\",\"error\":\"delay\","
                                 "\"delay_ms\":20000,\"count\":1}"));
    e.client.cfg.attempt_timeout_ms = 3000;
    struct sm_err err;
    struct secrets_value v;
    uint64_t before = e.client.c.calls;
    int64_t t0 = sm_monotonic_ms();
    SM_ASSERT_OK(
        secrets_get_secret_value(&e.client.c, "t", NULL, NULL, deadline_in(60000), &v, &err), err);
    SM_ASSERT(sm_monotonic_ms() - t0 >= 3000 - 100); /* the first attempt ran to its timeout */
    SM_ASSERT_SECRET_EQ(v.secret_string, "value");
    SM_ASSERT_INT_EQ(e.client.c.calls - before, 2);
    secrets_value_clean_up(&v);
    /* When every attempt times out: a transport error after the retries. */
    cJSON_Delete(fake_sm_control(&e.fake, "POST", "/_fake/faults",
                                 "{\"operation\":\"DescribeSecret\",\"error\":\"delay\","
                                 "\"delay_ms\":20000,\"count\":2}"));
    e.client.cfg.attempt_timeout_ms = 1000;
    e.client.cfg.max_attempts = 2;
    before = e.client.c.calls;
    struct secrets_description d;
    SM_ASSERT_INT_EQ(secrets_describe_secret(&e.client.c, "t", deadline_in(60000), &d, &err), -1);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_TRANSPORT);
    SM_ASSERT_STR_CONTAINS(err.msg, "DescribeSecret on secret t failed: ");
    SM_ASSERT_STR_CONTAINS(err.msg, " (after 2 attempts)");
    SM_ASSERT_INT_EQ(e.client.c.calls - before, 2);
    secrets_description_clean_up(&d);
    emu_stop(&e);
}

SM_TEST(secrets_expired_deadline_sends_nothing) {
    struct emu e;
    emu_start(&e, NULL);
    struct sm_err err;
    struct secrets_description d;
    SM_ASSERT_INT_EQ(secrets_describe_secret(&e.client.c, "t", sm_now_ms() - 1, &d, &err), -1);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_DEADLINE);
    SM_ASSERT_INT_EQ(e.client.c.calls, 0);
    SM_ASSERT_INT_EQ(fake_sm_wait_calls(&e.fake, NULL, 0), 0);
    secrets_description_clean_up(&d);
    emu_stop(&e);
}

/* --- authentication --- */

SM_TEST(secrets_wrong_secret_key_is_invalid_signature_auth_error) {
    struct emu e;
    emu_start(&e, NULL);
    struct client_env bad;
    client_start(&bad, e.fake.endpoint, "wrongSecretKeyWrongSecretKeyWrongSecret0", NULL);
    struct sm_err err;
    struct secrets_description d;
    SM_ASSERT_INT_EQ(secrets_describe_secret(&bad.c, "t", deadline_in(10000), &d, &err), -1);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_AWS_AUTH);
    SM_ASSERT_STR_EQ(err.aws_type, "InvalidSignatureException");
    SM_ASSERT_STR_CONTAINS(err.msg, "DescribeSecret on secret t failed: InvalidSignatureException: "
                                    "The request signature we calculated does not match");
    SM_ASSERT_STR_NOT_CONTAINS(err.msg, "wrongSecretKey");
    SM_ASSERT_STR_NOT_CONTAINS(err.msg, "Signature=");
    SM_ASSERT_INT_EQ(bad.c.calls, 1);
    secrets_description_clean_up(&d);
    client_stop(&bad);
    emu_stop(&e);
}

SM_TEST(secrets_session_token_is_sent_and_signed) {
    const char *extra[] = {"--session-token", "IQoJb3JpZ2luX2VjEXAMPLETOKEN/+=", NULL};
    struct fake_sm fake;
    fake_sm_start(&fake, AKID, SECRET_KEY, extra);
    /* The client configured from the environment, as in Lambda. */
    clear_env();
    setenv("AWS_REGION", REGION, 1);
    setenv("AWS_ACCESS_KEY_ID", AKID, 1);
    setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY, 1);
    setenv("AWS_SESSION_TOKEN", "IQoJb3JpZ2luX2VjEXAMPLETOKEN/+=", 1);
    setenv("SECRETS_MANAGER_ENDPOINT", fake.endpoint, 1);
    struct aws_config cfg;
    struct http_client http;
    struct aws_client c;
    struct sm_err err;
    char *endpoint = NULL;
    SM_ASSERT_OK(aws_config_from_env(&cfg, &err), err);
    SM_ASSERT_OK(secrets_endpoint_from_env(&cfg, &endpoint, &err), err);
    SM_ASSERT_STR_EQ(endpoint, fake.endpoint);
    SM_ASSERT_OK(http_client_init(&http, &err), err);
    SM_ASSERT_OK(secrets_client_init(&c, &cfg, endpoint, &http, &err), err);
    sm_free(endpoint); /* the client keeps its own parsed copy */
    struct sm_buf pw;
    sm_buf_init(&pw, 4096);
    SM_ASSERT_OK(secrets_get_random_password(&c, NULL, deadline_in(10000), &pw, &err), err);
    SM_ASSERT_INT_EQ(pw.len, 32);
    /* Another token: rejected, and the token does not show up in the message. */
    sm_free(cfg.session_token);
    cfg.session_token = sm_strdup("SomeOtherTokenValue");
    SM_ASSERT_INT_EQ(secrets_get_random_password(&c, NULL, deadline_in(10000), &pw, &err), -1);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_AWS_AUTH);
    SM_ASSERT_STR_EQ(err.aws_type, "UnrecognizedClientException");
    SM_ASSERT_STR_NOT_CONTAINS(err.msg, "SomeOtherTokenValue");
    /* No token at all: also rejected by an emulator that expects one. */
    sm_free(cfg.session_token);
    cfg.session_token = NULL;
    SM_ASSERT_INT_EQ(secrets_get_random_password(&c, NULL, deadline_in(10000), &pw, &err), -1);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_AWS_AUTH);
    sm_buf_clean_up(&pw);
    SM_ASSERT_INT_EQ(c.calls, 3);
    http_client_clean_up(&http);
    aws_config_clean_up(&cfg);
    clear_env();
    fake_sm_stop(&fake);
}

/* --- connections --- */

static long stat_connections(struct fake_sm *f) {
    cJSON *stats = fake_sm_control(f, "GET", "/_fake/stats", NULL);
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
    for (int i = 0; i < 5; i++) {
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
    SM_ASSERT_INT_EQ(e.client.c.calls, 12);
    SM_ASSERT_INT_EQ(stat_connections(&e.fake) - before, 1);
    emu_stop(&e);
}

/* --- secrets stay out of errors and logs --- */

SM_TEST(secrets_no_secret_in_errors_or_debug_logs) {
    const char *token = "SessionTokenMustNotLeak0123456789";
    const char *extra[] = {"--session-token", token, NULL};
    struct fake_sm fake;
    fake_sm_start(&fake, AKID, SECRET_KEY, extra);
    struct client_env ce;
    client_start(&ce, fake.endpoint, SECRET_KEY, token);
    char *log_text = NULL;
    size_t log_len = 0;
    FILE *log = open_memstream(&log_text, &log_len);
    SM_ASSERT(log != NULL);
    sm_log_configure(false, SM_LOG_TRACE);
    sm_log_set_stream(log);

    const char *value = "{\"password\":\"SecretValueMustNotLeak\"}";
    char body[256];
    snprintf(body, sizeof(body),
             "{\"Name\":\"leak\",\"SecretString\":\"x\",\"ClientRequestToken\":\"%s\"}", TOKEN_A);
    struct sm_err err;
    struct sm_err errors[6];
    cJSON *out = NULL;
    SM_ASSERT_OK(secrets_call(&ce.c, "CreateSecret", "leak", body, strlen(body), deadline_in(10000),
                              &out, &err),
                 err);
    cJSON_Delete(out);
    const char *pending[] = {"AWSPENDING"};
    SM_ASSERT_OK(secrets_put_secret_value(&ce.c, "leak", TOKEN_B, value, strlen(value), pending, 1,
                                          ROTATION_TOKEN, deadline_in(10000), &err),
                 err);
    /* The same token with another value: ResourceExists must not quote either value. */
    SM_ASSERT_INT_EQ(secrets_put_secret_value(&ce.c, "leak", TOKEN_B, "AnotherSecretValue", 18,
                                              pending, 1, ROTATION_TOKEN, deadline_in(10000),
                                              &errors[0]),
                     -1);
    struct secrets_value v;
    SM_ASSERT_OK(
        secrets_get_secret_value(&ce.c, "leak", NULL, "AWSPENDING", deadline_in(10000), &v, &err),
        err);
    SM_ASSERT_SECRET_EQ(v.secret_string, value);
    secrets_value_clean_up(&v);
    struct sm_buf pw;
    sm_buf_init(&pw, 4096);
    SM_ASSERT_OK(secrets_get_random_password(&ce.c, NULL, deadline_in(10000), &pw, &err), err);
    char password[64];
    snprintf(password, sizeof(password), "%s", pw.data);
    fake_sm_fault(&fake, "GetSecretValue", "ThrottlingException", 3);
    SM_ASSERT_INT_EQ(
        secrets_get_secret_value(&ce.c, "leak", NULL, NULL, deadline_in(10000), &v, &errors[1]),
        -1);
    secrets_value_clean_up(&v);
    fake_sm_fault(&fake, "PutSecretValue", "InternalServiceError", 3);
    SM_ASSERT_INT_EQ(secrets_put_secret_value(&ce.c, "leak", TOKEN_C, value, strlen(value), pending,
                                              1, ROTATION_TOKEN, deadline_in(10000), &errors[2]),
                     -1);
    /* Wrong secret key and wrong token. */
    struct client_env bad;
    client_start(&bad, fake.endpoint, "AnotherSecretAccessKeyThatMustNotLeak00", token);
    struct secrets_description d;
    SM_ASSERT_INT_EQ(secrets_describe_secret(&bad.c, "leak", deadline_in(10000), &d, &errors[3]),
                     -1);
    secrets_description_clean_up(&d);
    client_stop(&bad);
    client_start(&bad, fake.endpoint, SECRET_KEY, "WrongTokenMustNotLeak");
    SM_ASSERT_INT_EQ(secrets_describe_secret(&bad.c, "leak", deadline_in(10000), &d, &errors[4]),
                     -1);
    secrets_description_clean_up(&d);
    client_stop(&bad);
    /* A transport failure (nothing listens on the port any more). */
    char endpoint[64];
    snprintf(endpoint, sizeof(endpoint), "%s", fake.endpoint);
    fake_sm_stop(&fake);
    SM_ASSERT_INT_EQ(
        secrets_get_secret_value(&ce.c, "leak", NULL, NULL, deadline_in(10000), &v, &errors[5]),
        -1);
    SM_ASSERT_CODE_EQ(errors[5].code, SM_ERR_TRANSPORT);
    secrets_value_clean_up(&v);
    sm_log_set_stream(NULL);
    fclose(log);

    const char *forbidden[] = {"SecretValueMustNotLeak",
                               "AnotherSecretValue",
                               SECRET_KEY,
                               "AnotherSecretAccessKeyThatMustNotLeak00",
                               token,
                               "WrongTokenMustNotLeak",
                               ROTATION_TOKEN,
                               password,
                               "Signature=",
                               "Authorization",
                               "SecretString"};
    SM_ASSERT(log_len > 0); /* DEBUG lines were written */
    SM_ASSERT_STR_CONTAINS(log_text, "GetSecretValue on secret leak");
    for (size_t i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++) {
        SM_ASSERT_STR_NOT_CONTAINS(log_text, forbidden[i]);
        for (size_t k = 0; k < sizeof(errors) / sizeof(errors[0]); k++) {
            SM_ASSERT_STR_NOT_CONTAINS(errors[k].msg, forbidden[i]);
        }
    }
    SM_ASSERT_STR_EQ(errors[0].aws_type, "ResourceExistsException");
    SM_ASSERT_STR_EQ(errors[3].aws_type, "InvalidSignatureException");
    SM_ASSERT_STR_EQ(errors[4].aws_type, "UnrecognizedClientException");
    free(log_text);
    sm_buf_clean_up(&pw);
    client_stop(&ce);
}

/* --- TLS --- */

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
    struct fake_sm fake;
    fake_sm_start(&fake, AKID, SECRET_KEY, extra);
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
    fake_sm_stop(&fake);
    unlink(cert);
    unlink(key);
    rmdir(dir);
}

/* Allocation-failure walk over the pure parts (effective in SM_TORTURE builds; elsewhere one clean
 * pass): configuration, endpoint choice and the error reader fail cleanly and leak nothing. */
SM_TEST(secrets_config_and_error_parser_survive_every_allocation_failure) {
    base_env();
    setenv("AWS_SESSION_TOKEN", "token", 1);
    setenv("HTTPS_PROXY", "http://proxy:3128", 1);
    setenv("http_proxy", "http://proxy:3128", 1);
    setenv("NO_PROXY", "localhost", 1);
    for (int64_t n = 1;; n++) {
        int64_t live = sm_mem_live_count();
        struct aws_config cfg;
        struct sm_err err;
        sm_mem_fail_at(sm_mem_attempt_count() + n);
        int rc = aws_config_from_env(&cfg, &err);
        sm_mem_fail_at(0);
        if (rc == 0) {
            SM_ASSERT_STR_EQ(cfg.region, "eu-west-1");
            SM_ASSERT_STR_EQ(cfg.no_proxy, "localhost");
#ifdef SM_TORTURE
            SM_ASSERT(n > 7); /* the walk did fail allocations along the way */
#endif
            aws_config_clean_up(&cfg);
            SM_ASSERT_INT_EQ(sm_mem_live_count(), live);
            break;
        }
        SM_ASSERT_CODE_EQ(err.code, SM_ERR_NOMEM);
        SM_ASSERT(cfg.region == NULL && cfg.secret_access_key == NULL && cfg.https_proxy == NULL);
        SM_ASSERT_INT_EQ(sm_mem_live_count(), live);
    }
    struct aws_config cfg;
    struct sm_err err;
    SM_ASSERT_OK(aws_config_from_env(&cfg, &err), err);
    for (int64_t n = 1;; n++) {
        int64_t live = sm_mem_live_count();
        char *endpoint = NULL;
        sm_mem_fail_at(sm_mem_attempt_count() + n);
        int rc = secrets_endpoint_from_env(&cfg, &endpoint, &err);
        sm_mem_fail_at(0);
        if (rc == 0) {
            SM_ASSERT_STR_EQ(endpoint, "https://secretsmanager.eu-west-1.amazonaws.com");
            sm_free(endpoint);
            SM_ASSERT_INT_EQ(sm_mem_live_count(), live);
            break;
        }
        SM_ASSERT_CODE_EQ(err.code, SM_ERR_NOMEM);
        SM_ASSERT(endpoint == NULL);
        SM_ASSERT_INT_EQ(sm_mem_live_count(), live);
    }
    aws_config_clean_up(&cfg);
    clear_env();
    /* Without memory the body cannot be read: -1 (the code is unknown, so the client reports
     * OutOfMemory rather than guess from the status). */
    const char *body = "{\"__type\":\"ns#ThrottlingException\",\"message\":\"Rate exceeded\"}";
    for (int64_t n = 1; n < 64; n++) {
        int64_t live = sm_mem_live_count();
        struct aws_error_fields fields = {"", ""};
        sm_mem_fail_at(sm_mem_attempt_count() + n);
        int rc = secrets_read_error(body, strlen(body), &fields);
        sm_mem_fail_at(0);
        if (rc == 0) {
            SM_ASSERT_STR_EQ(fields.code, "ThrottlingException");
            SM_ASSERT_STR_EQ(fields.message, "Rate exceeded");
        } else {
            SM_ASSERT_INT_EQ(rc, -1);
        }
        SM_ASSERT_INT_EQ(sm_mem_live_count(), live);
    }
}
