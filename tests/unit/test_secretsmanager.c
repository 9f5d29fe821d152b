/*
 * The Secrets Manager client (runtime/secretsmanager.c).
 *
 * - Configuration and error parsing: plain unit tests (environment, tests/data/secretsmanager/
 *   errors fixtures).
 * - Wire format, paging and lenient parsing: a canned HTTP responder inside the test (a thread on
 *   127.0.0.1:0 replaying fixed responses and recording the requests).
 * - Operations, signatures, retries, deadlines, keep-alive: the local emulator
 *   tests/fakes/fake_secretsmanager.py (verifies SigV4 on every request), one process per test.
 */
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

static double jitter_max(void) {
    return 0.999;
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
    "AWS_ENDPOINT_URL",
    "AWS_USE_FIPS_ENDPOINT",
    "SMROTATE_CA_FILE",
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

static void expect_endpoint(const char *want) {
    struct secrets_config cfg;
    struct sm_err err;
    SM_ASSERT_OK(secrets_config_from_env(&cfg, &err), err);
    SM_ASSERT_STR_EQ(cfg.endpoint, want);
    secrets_config_clean_up(&cfg);
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
    /* An empty variable counts as unset. */
    setenv("SECRETS_MANAGER_ENDPOINT", "", 1);
    expect_endpoint("http://127.0.0.1:1002");
    /* An unusable URL names its variable. */
    setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", "ftp://example.com", 1);
    struct secrets_config cfg;
    struct sm_err err;
    SM_ASSERT_INT_EQ(secrets_config_from_env(&cfg, &err), -1);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_CONFIG);
    SM_ASSERT_STR_CONTAINS(err.msg, "AWS_ENDPOINT_URL_SECRETS_MANAGER");
    SM_ASSERT(cfg.endpoint == NULL && cfg.secret_access_key == NULL);
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
    struct secrets_config cfg;
    struct sm_err err;
    const char *vars[] = {"AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"};
    for (size_t i = 0; i < 3; i++) {
        base_env();
        unsetenv(vars[i]);
        SM_ASSERT_INT_EQ(secrets_config_from_env(&cfg, &err), -1);
        SM_ASSERT_CODE_EQ(err.code, SM_ERR_CONFIG);
        SM_ASSERT_STR_CONTAINS(err.msg, vars[i]);
        SM_ASSERT_STR_NOT_CONTAINS(err.msg, SECRET_KEY);
        SM_ASSERT(cfg.region == NULL && cfg.access_key_id == NULL);
    }
    base_env();
    setenv("AWS_REGION", "us-east-1.evil.example/", 1);
    SM_ASSERT_INT_EQ(secrets_config_from_env(&cfg, &err), -1);
    SM_ASSERT_STR_CONTAINS(err.msg, "AWS_REGION");
    /* The session token is optional; empty means none. */
    base_env();
    setenv("AWS_SESSION_TOKEN", "", 1);
    SM_ASSERT_OK(secrets_config_from_env(&cfg, &err), err);
    SM_ASSERT(cfg.session_token == NULL);
    SM_ASSERT_STR_EQ(cfg.access_key_id, AKID);
    SM_ASSERT_INT_EQ(cfg.max_attempts, 3);
    SM_ASSERT_INT_EQ(cfg.connect_timeout_ms, 3000);
    SM_ASSERT_INT_EQ(cfg.attempt_timeout_ms, 10000);
    secrets_config_clean_up(&cfg);
    setenv("AWS_SESSION_TOKEN", "session-token-value", 1);
    SM_ASSERT_OK(secrets_config_from_env(&cfg, &err), err);
    SM_ASSERT_SECRET_EQ(cfg.session_token, "session-token-value");
    secrets_config_clean_up(&cfg);
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
    struct secrets_config cfg;
    struct sm_err err;
    const char *own = sm_test_path("data/sigv4/LICENSE"); /* any readable file */
    setenv("SMROTATE_CA_FILE", own, 1);
    SM_ASSERT_OK(secrets_config_from_env(&cfg, &err), err);
    SM_ASSERT_STR_EQ(cfg.ca_file, own);
    secrets_config_clean_up(&cfg);

    setenv("SMROTATE_CA_FILE", "/nonexistent/ca.pem", 1);
    SM_ASSERT_INT_EQ(secrets_config_from_env(&cfg, &err), -1);
    SM_ASSERT_STR_CONTAINS(err.msg, "SMROTATE_CA_FILE");

    unsetenv("SMROTATE_CA_FILE");
    SM_ASSERT_OK(secrets_config_from_env(&cfg, &err), err);
    if (access("/etc/pki/tls/certs/ca-bundle.crt", R_OK) == 0) {
        SM_ASSERT_STR_EQ(cfg.ca_file, "/etc/pki/tls/certs/ca-bundle.crt");
    } else if (access("/etc/ssl/certs/ca-certificates.crt", R_OK) == 0) {
        SM_ASSERT_STR_EQ(cfg.ca_file, "/etc/ssl/certs/ca-certificates.crt");
    } else {
        SM_ASSERT(cfg.ca_file == NULL);
    }
    secrets_config_clean_up(&cfg);
    clear_env();
}

SM_TEST(secrets_endpoint_host_keeps_non_default_port) {
    struct secrets_endpoint ep;
    struct sm_err err;
    SM_ASSERT_OK(secrets_endpoint_parse("http://127.0.0.1:8080", &ep, &err), err);
    SM_ASSERT_STR_EQ(ep.host, "127.0.0.1:8080");
    SM_ASSERT_STR_EQ(ep.url, "http://127.0.0.1:8080/");
    SM_ASSERT_STR_EQ(ep.path, "/");
    SM_ASSERT_OK(
        secrets_endpoint_parse("https://secretsmanager.us-east-1.amazonaws.com:443/", &ep, &err),
        err);
    SM_ASSERT_STR_EQ(ep.host, "secretsmanager.us-east-1.amazonaws.com");
    SM_ASSERT_OK(secrets_endpoint_parse("http://localhost:80", &ep, &err), err);
    SM_ASSERT_STR_EQ(ep.host, "localhost");
    SM_ASSERT_OK(secrets_endpoint_parse("https://h.example:8443", &ep, &err), err);
    SM_ASSERT_STR_EQ(ep.host, "h.example:8443");
    SM_ASSERT_OK(secrets_endpoint_parse("http://[::1]:4566/prefix", &ep, &err), err);
    SM_ASSERT_STR_EQ(ep.host, "[::1]:4566");
    SM_ASSERT_STR_EQ(ep.path, "/prefix");
    SM_ASSERT_STR_EQ(ep.url, "http://[::1]:4566/prefix");
    const char *bad[] = {"secretsmanager.us-east-1.amazonaws.com",
                         "http://",
                         "http://u:p@host",
                         "http://host:port",
                         "http://host/?x=1",
                         "http://host:123456"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        SM_ASSERT_INT_EQ(secrets_endpoint_parse(bad[i], &ep, &err), -1);
        SM_ASSERT_CODE_EQ(err.code, SM_ERR_CONFIG);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Error parsing                                                                                */

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

        struct sm_err err;
        sm_err_clear(&err);
        SM_ASSERT_INT_EQ(secrets_error_from_response("GetSecretValue", "prod/app/db", status, body,
                                                     blen, NULL, &err),
                         -1);
        if (strcmp(err.aws_type, code) != 0) {
            SM_FAIL("%s: aws_type \"%s\", want \"%s\"", file, err.aws_type, code);
        }
        SM_ASSERT_INT_EQ(err.http_status, status);
        if (secrets_error_is_retryable(&err) != retryable) {
            SM_FAIL("%s: retryable %d, want %d", file, secrets_error_is_retryable(&err), retryable);
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
    secrets_error_from_response("DescribeSecret", "s1", status, body, len, NULL, err);
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
    /* Both namespace and a ":" suffix, as JSON 1.1 allows. */
    const char *body = "{\"__type\":\"com.amazonaws.secretsmanager.v2017#"
                       "InvalidRequestException:http://internal.amazon.com/coral/\","
                       "\"Message\":\"m1\",\"message\":\"m2\"}";
    secrets_error_from_response("PutSecretValue", "s2", 400, body, strlen(body), NULL, &err);
    SM_ASSERT_STR_EQ(err.aws_type, "InvalidRequestException");
    SM_ASSERT_STR_EQ(err.msg, "PutSecretValue on secret s2 failed: InvalidRequestException: m2");
}

SM_TEST(secrets_error_parser_falls_back_to_header_then_status) {
    struct sm_err err;
    /* moto's shape: 404, the code in x-amzn-ErrorType, the body without __type. */
    const char *body = "{\"message\":\"Secrets Manager can't find the specified secret.\"}";
    secrets_error_from_response("GetSecretValue", "s", 404, body, strlen(body),
                                "ResourceNotFoundException:http://internal.amazon.com/coral/",
                                &err);
    SM_ASSERT_STR_EQ(err.aws_type, "ResourceNotFoundException");
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_AWS_CLIENT);
    SM_ASSERT_INT_EQ(err.http_status, 404);
    /* No code anywhere: the status decides. */
    const char *html = "<html>Bad Gateway</html>";
    secrets_error_from_response("GetSecretValue", "s", 502, html, strlen(html), NULL, &err);
    SM_ASSERT_STR_EQ(err.aws_type, "");
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_AWS_SERVER);
    SM_ASSERT_STR_EQ(err.msg, "GetSecretValue on secret s failed: HTTP 502");
    SM_ASSERT_STR_EQ(sm_err_type(&err), "ServiceError");
    secrets_error_from_response("GetRandomPassword", NULL, 429, "", 0, NULL, &err);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_AWS_THROTTLED);
    SM_ASSERT_STR_EQ(err.msg, "GetRandomPassword failed: HTTP 429");
    secrets_error_from_response("GetSecretValue", "s", 403, NULL, 0, NULL, &err);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_AWS_AUTH);
    /* Control characters in AWS's message do not reach the log line. */
    const char *ctl = "{\"__type\":\"X\",\"Message\":\"line1\\nline2\"}";
    secrets_error_from_response("GetSecretValue", "s", 400, ctl, strlen(ctl), NULL, &err);
    SM_ASSERT_STR_EQ(err.msg, "GetSecretValue on secret s failed: X: line1 line2");
}

/* AccessDeniedException is an authorization (IAM policy / KMS) failure, not a signature or
 * credential one: AWS_CLIENT. LimitExceededException is on the SDKs' throttling list. */
SM_TEST(secrets_error_classification_of_access_denied_and_limit_exceeded) {
    struct sm_err err;
    parse_error_file("AccessDeniedException.iam.json", 400, &err);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_AWS_CLIENT);
    SM_ASSERT(!secrets_error_is_retryable(&err));
    parse_error_file("LimitExceededException.json", 400, &err);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_AWS_THROTTLED);
    parse_error_file("InternalServiceError.json", 500, &err);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_AWS_SERVER);
    parse_error_file("ExpiredTokenException.json", 403, &err);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_AWS_AUTH);
    parse_error_file("InvalidSignatureException.expired.json", 400, &err);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_AWS_AUTH);
    const char *ts = "{\"__type\":\"TooManyRequestsException\",\"message\":\"slow down\"}";
    secrets_error_from_response("GetSecretValue", "s", 400, ts, strlen(ts), NULL, &err);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_AWS_THROTTLED);
    const char *su = "{\"__type\":\"ServiceUnavailable\",\"message\":\"x\"}";
    secrets_error_from_response("GetSecretValue", "s", 503, su, strlen(su), NULL, &err);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_AWS_SERVER);
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

struct client_env {
    struct secrets_config cfg;
    struct http_client http;
    struct secrets_client c;
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
    e->cfg.endpoint = sm_strdup(endpoint);
    e->cfg.access_key_id = sm_strdup(AKID);
    e->cfg.secret_access_key = sm_strdup(secret_key);
    e->cfg.session_token = session_token != NULL ? sm_strdup(session_token) : NULL;
    e->cfg.connect_timeout_ms = 2000;
    e->cfg.attempt_timeout_ms = 10000;
    e->cfg.max_attempts = 3;
    SM_ASSERT_OK(http_client_init(&e->http, &err), err);
    secrets_client_init(&e->c, &e->cfg, &e->http);
    e->c.random01 = jitter_zero; /* fast retries unless a test wants otherwise */
}

static void client_stop(struct client_env *e) {
    http_client_clean_up(&e->http);
    secrets_config_clean_up(&e->cfg);
}

static void canned_endpoint(const struct canned *c, char *out, size_t size) {
    snprintf(out, size, "http://127.0.0.1:%d", c->port);
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

SM_TEST(secrets_list_secret_version_ids_skips_empty_pages) {
    struct canned srv = {0};
    char r[4][512];
    srv.responses[0] = canned_response(r[0], sizeof(r[0]), 200, "",
                                       "{\"Versions\":[{\"VersionId\":\"" TOKEN_A
                                       "\",\"VersionStages\":[\"AWSCURRENT\"]}],"
                                       "\"NextToken\":\"page2\"}");
    srv.responses[1] =
        canned_response(r[1], sizeof(r[1]), 200, "", "{\"Versions\":[],\"NextToken\":\"page3\"}");
    srv.responses[2] = canned_response(r[2], sizeof(r[2]), 200, "", "{\"NextToken\":\"page4\"}");
    srv.responses[3] =
        canned_response(r[3], sizeof(r[3]), 200, "",
                        "{\"Versions\":[{\"VersionId\":\"" TOKEN_B "\"}],\"NextToken\":null}");
    srv.n_responses = 4;
    canned_start(&srv);
    char endpoint[64];
    canned_endpoint(&srv, endpoint, sizeof(endpoint));
    struct client_env e;
    client_start(&e, endpoint, SECRET_KEY, NULL);
    struct sm_err err;
    struct secrets_version_list l;
    SM_ASSERT_OK(secrets_list_secret_version_ids(&e.c, "s", true, deadline_in(10000), &l, &err),
                 err);
    SM_ASSERT_INT_EQ(l.n_versions, 2);
    SM_ASSERT_STR_EQ(l.versions[0].version_id, TOKEN_A);
    SM_ASSERT(secrets_version_has_stage(&l.versions[0], "AWSCURRENT"));
    SM_ASSERT_STR_EQ(l.versions[1].version_id, TOKEN_B);
    SM_ASSERT_INT_EQ(l.versions[1].n_stages, 0); /* unlabeled: no VersionStages key */
    SM_ASSERT_INT_EQ(e.c.calls, 4);
    secrets_version_list_clean_up(&l);
    client_stop(&e);
    canned_stop(&srv);
    SM_ASSERT_STR_CONTAINS(srv.requests[0], "{\"SecretId\":\"s\",\"IncludeDeprecated\":true}");
    SM_ASSERT_STR_CONTAINS(srv.requests[1], "\"NextToken\":\"page2\"");
    SM_ASSERT_STR_CONTAINS(srv.requests[3], "\"NextToken\":\"page4\"");
    SM_ASSERT_INT_EQ(srv.connections, 1);
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
    SM_ASSERT_STR_EQ(d.name, "n");
    SM_ASSERT_INT_EQ(d.rotation_enabled, -1);
    SM_ASSERT_INT_EQ(d.n_versions, 2);
    SM_ASSERT(secrets_description_find(&d, TOKEN_A) != NULL);
    SM_ASSERT_INT_EQ(secrets_description_find(&d, TOKEN_A)->n_stages, 0);
    SM_ASSERT(secrets_version_has_stage(secrets_description_find(&d, TOKEN_B), "AWSCURRENT"));
    SM_ASSERT(secrets_description_find(&d, TOKEN_C) == NULL);
    SM_ASSERT_INT_EQ(d.n_tags, 1);
    SM_ASSERT_STR_EQ(d.tags[0].key, "k");
    SM_ASSERT(d.tags[0].value == NULL);
    secrets_description_clean_up(&d);

    struct secrets_secret_value v;
    SM_ASSERT_OK(secrets_get_secret_value(&e.c, "s", NULL, NULL, deadline_in(10000), &v, &err),
                 err);
    SM_ASSERT(!v.has_string && v.has_binary);
    SM_ASSERT_INT_EQ(v.n_stages, 0);
    SM_ASSERT_STR_EQ(v.version_id, TOKEN_B);
    secrets_secret_value_clean_up(&v);

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

SM_TEST(secrets_error_type_header_used_when_body_has_none) {
    struct canned srv = {0};
    char r0[512];
    srv.responses[0] =
        canned_response(r0, sizeof(r0), 404, "x-amzn-ErrorType: ResourceNotFoundException\r\n",
                        "{\"message\":\"Secrets Manager can't find the specified secret.\"}");
    srv.n_responses = 1;
    canned_start(&srv);
    char endpoint[64];
    canned_endpoint(&srv, endpoint, sizeof(endpoint));
    struct client_env e;
    client_start(&e, endpoint, SECRET_KEY, NULL);
    struct sm_err err;
    struct secrets_secret_value v;
    SM_ASSERT_INT_EQ(
        secrets_get_secret_value(&e.c, "gone", NULL, "AWSCURRENT", deadline_in(10000), &v, &err),
        -1);
    SM_ASSERT(sm_err_is_aws(&err, "ResourceNotFoundException"));
    SM_ASSERT_INT_EQ(err.http_status, 404);
    SM_ASSERT_INT_EQ(e.c.calls, 1);
    SM_ASSERT_STR_EQ(err.msg, "GetSecretValue on secret gone failed: ResourceNotFoundException: "
                              "Secrets Manager can't find the specified secret.");
    secrets_secret_value_clean_up(&v);
    client_stop(&e);
    canned_stop(&srv);
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
    SM_ASSERT_STR_EQ(d.name, "app/db");
    SM_ASSERT_STR_CONTAINS(d.arn, "arn:aws:secretsmanager:us-east-1:");
    SM_ASSERT_INT_EQ(d.rotation_enabled, -1); /* never configured: absent */
    SM_ASSERT_INT_EQ(d.n_versions, 1);
    SM_ASSERT(secrets_version_has_stage(secrets_description_find(&d, TOKEN_A), "AWSCURRENT"));
    secrets_description_clean_up(&d);
    /* The ARN works as SecretId too. */
    SM_ASSERT_OK(secrets_describe_secret(&e.client.c, "app/db", deadline_in(10000), &d, &err), err);
    char *arn = sm_strdup(d.arn);
    secrets_description_clean_up(&d);
    SM_ASSERT_OK(secrets_describe_secret(&e.client.c, arn, deadline_in(10000), &d, &err), err);
    SM_ASSERT_STR_EQ(d.name, "app/db");
    secrets_description_clean_up(&d);
    sm_free(arn);
    SM_ASSERT_INT_EQ(fake_sm_wait_calls(&e.fake, "DescribeSecret", 3), 3);
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
    struct secrets_secret_value v;
    SM_ASSERT_OK(
        secrets_get_secret_value(&e.client.c, "s", NULL, NULL, deadline_in(10000), &v, &err), err);
    SM_ASSERT(v.has_string && !v.has_binary);
    SM_ASSERT_SECRET_EQ(v.secret_string.data, "second-value");
    SM_ASSERT_STR_EQ(v.version_id, TOKEN_B);
    SM_ASSERT_INT_EQ(v.n_stages, 1);
    SM_ASSERT_STR_EQ(v.stages[0], "AWSCURRENT");
    secrets_secret_value_clean_up(&v);
    SM_ASSERT_OK(secrets_get_secret_value(&e.client.c, "s", NULL, "AWSPREVIOUS", deadline_in(10000),
                                          &v, &err),
                 err);
    SM_ASSERT_SECRET_EQ(v.secret_string.data, "first-value");
    SM_ASSERT_STR_EQ(v.version_id, TOKEN_A);
    secrets_secret_value_clean_up(&v);
    SM_ASSERT_OK(secrets_get_secret_value(&e.client.c, "s", TOKEN_A, "AWSPREVIOUS",
                                          deadline_in(10000), &v, &err),
                 err);
    SM_ASSERT_SECRET_EQ(v.secret_string.data, "first-value");
    secrets_secret_value_clean_up(&v);
    /* VersionId and VersionStage that disagree: InvalidRequestException, not retried. */
    SM_ASSERT_INT_EQ(secrets_get_secret_value(&e.client.c, "s", TOKEN_A, "AWSCURRENT",
                                              deadline_in(10000), &v, &err),
                     -1);
    SM_ASSERT(sm_err_is_aws(&err, "InvalidRequestException"));
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_AWS_CLIENT);
    secrets_secret_value_clean_up(&v);
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
    struct secrets_secret_value v;
    SM_ASSERT_INT_EQ(secrets_get_secret_value(&e.client.c, "rot", TOKEN_B, "AWSPENDING",
                                              deadline_in(10000), &v, &err),
                     -1);
    SM_ASSERT_STR_EQ(err.aws_type, "ResourceNotFoundException");
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_AWS_CLIENT);
    SM_ASSERT_INT_EQ(err.http_status, 400);
    SM_ASSERT_INT_EQ(e.client.c.calls - before, 1);
    SM_ASSERT_STR_CONTAINS(err.msg, "GetSecretValue on secret rot failed: "
                                    "ResourceNotFoundException: ");
    SM_ASSERT(!v.has_string);
    secrets_secret_value_clean_up(&v);
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

    /* Without a token the client makes a UUID (the raw API rejects a missing one). */
    SM_ASSERT_OK(secrets_put_secret_value(&e.client.c, "p", NULL, "v3", 2, NULL, 0, NULL,
                                          deadline_in(10000), &err),
                 err);
    struct secrets_secret_value v;
    SM_ASSERT_OK(secrets_get_secret_value(&e.client.c, "p", NULL, "AWSCURRENT", deadline_in(10000),
                                          &v, &err),
                 err);
    SM_ASSERT_SECRET_EQ(v.secret_string.data, "v3");
    SM_ASSERT_INT_EQ(strlen(v.version_id), 36);
    secrets_secret_value_clean_up(&v);
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

SM_TEST(secrets_list_secret_version_ids_follows_next_token) {
    struct emu e;
    emu_start(&e, NULL);
    create_secret(&e, "many", "v0", TOKEN_A);
    struct sm_err err;
    /* 230 versions in all: the emulator pages by 100 when MaxResults is not sent. */
    for (int i = 0; i < 229; i++) {
        char token[40], value[16];
        snprintf(token, sizeof(token), "00000000-0000-4000-8000-%012d", i);
        snprintf(value, sizeof(value), "v%d", i + 1);
        SM_ASSERT_OK(secrets_put_secret_value(&e.client.c, "many", token, value, strlen(value),
                                              NULL, 0, NULL, deadline_in(10000), &err),
                     err);
    }
    struct secrets_version_list l;
    SM_ASSERT_OK(
        secrets_list_secret_version_ids(&e.client.c, "many", true, deadline_in(30000), &l, &err),
        err);
    SM_ASSERT_INT_EQ(l.n_versions, 230);
    SM_ASSERT_INT_EQ(fake_sm_wait_calls(&e.fake, "ListSecretVersionIds", 3), 3);
    size_t current = 0, previous = 0;
    for (size_t i = 0; i < l.n_versions; i++) {
        current += secrets_version_has_stage(&l.versions[i], "AWSCURRENT");
        previous += secrets_version_has_stage(&l.versions[i], "AWSPREVIOUS");
    }
    SM_ASSERT_INT_EQ(current, 1);
    SM_ASSERT_INT_EQ(previous, 1);
    secrets_version_list_clean_up(&l);
    /* Without IncludeDeprecated only the labelled versions come back, in one page. */
    SM_ASSERT_OK(
        secrets_list_secret_version_ids(&e.client.c, "many", false, deadline_in(10000), &l, &err),
        err);
    SM_ASSERT_INT_EQ(l.n_versions, 2);
    secrets_version_list_clean_up(&l);
    SM_ASSERT_INT_EQ(secrets_list_secret_version_ids(&e.client.c, "missing", false,
                                                     deadline_in(10000), &l, &err),
                     -1);
    SM_ASSERT(sm_err_is_aws(&err, "ResourceNotFoundException"));
    SM_ASSERT(l.versions == NULL && l.n_versions == 0);
    emu_stop(&e);
}

/* --- retries --- */

SM_TEST(secrets_throttling_is_retried_with_real_jitter_and_succeeds) {
    struct emu e;
    emu_start(&e, NULL);
    create_secret(&e, "t", "value", TOKEN_A);
    e.client.c.random01 = NULL; /* the real RNG: at most 1 s + 2 s of backoff */
    fake_sm_fault(&e.fake, "GetSecretValue", "ThrottlingException", 2);
    struct sm_err err;
    struct secrets_secret_value v;
    uint64_t before = e.client.c.calls;
    int64_t t0 = sm_monotonic_ms();
    SM_ASSERT_OK(secrets_get_secret_value(&e.client.c, "t", NULL, "AWSCURRENT", deadline_in(20000),
                                          &v, &err),
                 err);
    SM_ASSERT(sm_monotonic_ms() - t0 < 3500);
    SM_ASSERT_SECRET_EQ(v.secret_string.data, "value");
    secrets_secret_value_clean_up(&v);
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
    struct secrets_secret_value v;

    /* A fresh client: its first request opens a new connection, which the emulator resets. */
    struct client_env fresh;
    client_start(&fresh, e.fake.endpoint, SECRET_KEY, NULL);
    fake_sm_fault(&e.fake, "GetSecretValue", "reset", 1);
    SM_ASSERT_OK(secrets_get_secret_value(&fresh.c, "t", NULL, NULL, deadline_in(10000), &v, &err),
                 err);
    SM_ASSERT_SECRET_EQ(v.secret_string.data, "value");
    secrets_secret_value_clean_up(&v);
    SM_ASSERT_INT_EQ(fresh.c.calls, 2);
    SM_ASSERT_INT_EQ(fake_sm_wait_calls(&e.fake, "GetSecretValue", 2), 2);
    client_stop(&fresh);

    /* On the reused connection: an abrupt reset, then an orderly close. */
    fake_sm_fault(&e.fake, "GetSecretValue", "reset", 1);
    fake_sm_fault(&e.fake, "GetSecretValue", "close", 1);
    uint64_t before = e.client.c.calls;
    SM_ASSERT_OK(
        secrets_get_secret_value(&e.client.c, "t", NULL, NULL, deadline_in(10000), &v, &err), err);
    secrets_secret_value_clean_up(&v);
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
    struct secrets_secret_value v;
    uint64_t before = e.client.c.calls;
    SM_ASSERT_INT_EQ(
        secrets_get_secret_value(&e.client.c, "t", NULL, NULL, deadline_in(10000), &v, &err), -1);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_AWS_THROTTLED);
    SM_ASSERT_STR_EQ(err.aws_type, "ThrottlingException");
    SM_ASSERT_STR_EQ(sm_err_type(&err), "ThrottlingException");
    SM_ASSERT_STR_EQ(err.msg, "GetSecretValue on secret t failed: ThrottlingException: Rate "
                              "exceeded (after 3 attempts)");
    SM_ASSERT_INT_EQ(e.client.c.calls - before, 3);
    secrets_secret_value_clean_up(&v);
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
    struct secrets_secret_value v;
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
        secrets_secret_value_clean_up(&v);
    }
    emu_stop(&e);
}

/* --- deadlines --- */

SM_TEST(secrets_deadline_shorter_than_backoff_cuts_retries_short) {
    struct emu e;
    emu_start(&e, NULL);
    create_secret(&e, "t", "value", TOKEN_A);
    e.client.c.random01 = jitter_max; /* next delay: 999 ms */
    fake_sm_fault(&e.fake, "GetSecretValue", "ThrottlingException", 3);
    struct sm_err err;
    struct secrets_secret_value v;
    uint64_t before = e.client.c.calls;
    int64_t t0 = sm_monotonic_ms();
    SM_ASSERT_INT_EQ(
        secrets_get_secret_value(&e.client.c, "t", NULL, NULL, deadline_in(600), &v, &err), -1);
    int64_t elapsed = sm_monotonic_ms() - t0;
    SM_ASSERT(elapsed < 600); /* returned at once instead of sleeping past the deadline */
    SM_ASSERT_INT_EQ(e.client.c.calls - before, 1);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_AWS_THROTTLED);
    SM_ASSERT_STR_EQ(err.aws_type, "ThrottlingException");
    SM_ASSERT_STR_CONTAINS(err.msg, "GetSecretValue on secret t failed: ThrottlingException: Rate "
                                    "exceeded (retries cut short by the invocation deadline");
    secrets_secret_value_clean_up(&v);
    /* With time to spare the same backoff is slept through and the retry happens. */
    cJSON_Delete(fake_sm_control(&e.fake, "POST", "/_fake/reset", NULL));
    fake_sm_fault(&e.fake, "GetSecretValue", "ThrottlingException", 1);
    SM_ASSERT_OK(
        secrets_get_secret_value(&e.client.c, "t", NULL, NULL, deadline_in(5000), &v, &err), err);
    secrets_secret_value_clean_up(&v);
    emu_stop(&e);
}

SM_TEST(secrets_deadline_caps_a_slow_attempt) {
    struct emu e;
    emu_start(&e, NULL);
    create_secret(&e, "t", "value", TOKEN_A);
    cJSON_Delete(fake_sm_control(&e.fake, "POST", "/_fake/faults",
                                 "{\"operation\":\"GetSecretValue\",\"error\":\"delay\","
                                 "\"delay_ms\":3000,\"count\":1}"));
    struct sm_err err;
    struct secrets_secret_value v;
    int64_t t0 = sm_monotonic_ms();
    SM_ASSERT_INT_EQ(
        secrets_get_secret_value(&e.client.c, "t", NULL, NULL, deadline_in(500), &v, &err), -1);
    int64_t elapsed = sm_monotonic_ms() - t0;
    SM_ASSERT(elapsed >= 400 && elapsed < 1500);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_DEADLINE);
    SM_ASSERT_STR_CONTAINS(err.msg, "GetSecretValue on secret t failed: the invocation deadline");
    secrets_secret_value_clean_up(&v);
    /* A per-attempt timeout (not the deadline) is a transport error and is retried. */
    cJSON_Delete(fake_sm_control(&e.fake, "POST", "/_fake/faults",
                                 "{\"operation\":\"GetSecretValue\",\"error\":\"delay\","
                                 "\"delay_ms\":1500,\"count\":1}"));
    e.client.cfg.attempt_timeout_ms = 500;
    uint64_t before = e.client.c.calls;
    SM_ASSERT_OK(
        secrets_get_secret_value(&e.client.c, "t", NULL, NULL, deadline_in(10000), &v, &err), err);
    SM_ASSERT_INT_EQ(e.client.c.calls - before, 2);
    secrets_secret_value_clean_up(&v);
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
    struct secrets_config cfg;
    struct http_client http;
    struct secrets_client c;
    struct sm_err err;
    SM_ASSERT_OK(secrets_config_from_env(&cfg, &err), err);
    SM_ASSERT_OK(http_client_init(&http, &err), err);
    secrets_client_init(&c, &cfg, &http);
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
    http_client_clean_up(&http);
    secrets_config_clean_up(&cfg);
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
        struct secrets_secret_value v;
        SM_ASSERT_OK(
            secrets_get_secret_value(&e.client.c, "k", NULL, NULL, deadline_in(10000), &v, &err),
            err);
        secrets_secret_value_clean_up(&v);
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

    struct emu e = {.fake = fake, .client = ce};
    const char *value = "{\"password\":\"SecretValueMustNotLeak\"}";
    char body[256];
    snprintf(body, sizeof(body),
             "{\"Name\":\"leak\",\"SecretString\":\"x\",\"ClientRequestToken\":\"%s\"}", TOKEN_A);
    struct sm_err err;
    struct sm_err errors[6];
    cJSON *out = NULL;
    SM_ASSERT_OK(secrets_call(&e.client.c, "CreateSecret", "leak", body, strlen(body),
                              deadline_in(10000), &out, &err),
                 err);
    cJSON_Delete(out);
    const char *pending[] = {"AWSPENDING"};
    SM_ASSERT_OK(secrets_put_secret_value(&e.client.c, "leak", TOKEN_B, value, strlen(value),
                                          pending, 1, ROTATION_TOKEN, deadline_in(10000), &err),
                 err);
    /* The same token with another value: ResourceExists must not quote either value. */
    SM_ASSERT_INT_EQ(secrets_put_secret_value(&e.client.c, "leak", TOKEN_B, "AnotherSecretValue",
                                              18, pending, 1, ROTATION_TOKEN, deadline_in(10000),
                                              &errors[0]),
                     -1);
    struct secrets_secret_value v;
    SM_ASSERT_OK(secrets_get_secret_value(&e.client.c, "leak", NULL, "AWSPENDING",
                                          deadline_in(10000), &v, &err),
                 err);
    SM_ASSERT_SECRET_EQ(v.secret_string.data, value);
    secrets_secret_value_clean_up(&v);
    struct sm_buf pw;
    sm_buf_init(&pw, 4096);
    SM_ASSERT_OK(secrets_get_random_password(&e.client.c, NULL, deadline_in(10000), &pw, &err),
                 err);
    char password[64];
    snprintf(password, sizeof(password), "%s", pw.data);
    fake_sm_fault(&e.fake, "GetSecretValue", "ThrottlingException", 3);
    SM_ASSERT_INT_EQ(secrets_get_secret_value(&e.client.c, "leak", NULL, NULL, deadline_in(10000),
                                              &v, &errors[1]),
                     -1);
    secrets_secret_value_clean_up(&v);
    fake_sm_fault(&e.fake, "PutSecretValue", "InternalServiceError", 3);
    SM_ASSERT_INT_EQ(secrets_put_secret_value(&e.client.c, "leak", TOKEN_C, value, strlen(value),
                                              pending, 1, ROTATION_TOKEN, deadline_in(10000),
                                              &errors[2]),
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
    fake_sm_stop(&e.fake);
    SM_ASSERT_INT_EQ(secrets_get_secret_value(&e.client.c, "leak", NULL, NULL, deadline_in(10000),
                                              &v, &errors[5]),
                     -1);
    SM_ASSERT_CODE_EQ(errors[5].code, SM_ERR_TRANSPORT);
    secrets_secret_value_clean_up(&v);
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
    client_stop(&e.client);
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
 * pass): configuration and the error parser fail cleanly and leak nothing. */
SM_TEST(secrets_config_and_error_parser_survive_every_allocation_failure) {
    base_env();
    setenv("AWS_SESSION_TOKEN", "token", 1);
    for (int64_t n = 1;; n++) {
        int64_t live = sm_mem_live_count();
        struct secrets_config cfg;
        struct sm_err err;
        sm_mem_fail_at(sm_mem_attempt_count() + n);
        int rc = secrets_config_from_env(&cfg, &err);
        sm_mem_fail_at(0);
        if (rc == 0) {
            SM_ASSERT_STR_EQ(cfg.endpoint, "https://secretsmanager.eu-west-1.amazonaws.com");
#ifdef SM_TORTURE
            SM_ASSERT(n > 3); /* the walk did fail allocations along the way */
#endif
            secrets_config_clean_up(&cfg);
            SM_ASSERT_INT_EQ(sm_mem_live_count(), live);
            break;
        }
        SM_ASSERT_CODE_EQ(err.code, SM_ERR_NOMEM);
        SM_ASSERT(cfg.region == NULL && cfg.secret_access_key == NULL);
        SM_ASSERT_INT_EQ(sm_mem_live_count(), live);
    }
    clear_env();
    const char *body = "{\"__type\":\"ns#ThrottlingException\",\"message\":\"Rate exceeded\"}";
    for (int64_t n = 1; n < 64; n++) {
        int64_t live = sm_mem_live_count();
        struct sm_err err;
        sm_mem_fail_at(sm_mem_attempt_count() + n);
        secrets_error_from_response("GetSecretValue", "s", 400, body, strlen(body), NULL, &err);
        sm_mem_fail_at(0);
        /* Without memory the body cannot be parsed: the code is unknown, so OutOfMemory. */
        SM_ASSERT(err.code == SM_ERR_AWS_THROTTLED || err.code == SM_ERR_NOMEM);
        SM_ASSERT_INT_EQ(err.http_status, 400);
        SM_ASSERT_INT_EQ(sm_mem_live_count(), live);
    }
}
