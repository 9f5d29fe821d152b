/*
 * The AWS client layer's configuration (runtime/aws.c, secretsmanager.c): credentials, region, CA
 * bundle, proxies and endpoints from the environment, as the SDKs read them.
 */
#include "aws.h"
#include "harness.h"
#include "mem.h"
#include "secretsmanager_testing.h"

#include <stdlib.h>
#include <unistd.h>

#define AKID "AKIDFAKETESTKEY00001"
#define SECRET_KEY "fakeSecretKey/For+Tests0123456789abcdefg"
#define REGION "us-east-1"

/* ------------------------------------------------------------------------------------------ */
/* Environment helpers                                                                          */

static const char *const s_env_vars[] = {"AWS_REGION",
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
                                         "no_proxy"};

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

/* FIPS rewrites the default host only (the other partitions: aws_endpoint_from_env's test). */
SM_TEST(secrets_config_endpoint_precedence_from_env) {
    base_env();
    expect_endpoint("https://secretsmanager.eu-west-1.amazonaws.com");
    setenv("AWS_USE_FIPS_ENDPOINT", "TRUE", 1);
    expect_endpoint("https://secretsmanager-fips.eu-west-1.amazonaws.com");
    unsetenv("AWS_USE_FIPS_ENDPOINT");
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
    unsetenv("AWS_REGION");
    setenv("AWS_DEFAULT_REGION", "ap-southeast-2", 1);
    expect_endpoint("https://secretsmanager.ap-southeast-2.amazonaws.com");
    setenv("AWS_REGION", "us-east-1.evil.example/", 1); /* AWS_REGION wins, and must be a name */
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
    for (size_t i = 0; bad[i] != NULL; i++) {
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
    SM_ASSERT_STR_EQ(secrets_service.signing_name, "secretsmanager");
    SM_ASSERT_STR_EQ(secrets_service.target_prefix, "secretsmanager");
    SM_ASSERT_STR_EQ(secrets_service.content_type, "application/x-amz-json-1.1");
    SM_ASSERT(secrets_service.read_error == secrets_read_error);
}
