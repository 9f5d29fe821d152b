#include "secretsmanager.h"

#include "clock.h"
#include "json.h"
#include "log.h"
#include "mem.h"
#include "sigv4.h"

#include <cjson/cJSON.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define SERVICE "secretsmanager"
#define CONTENT_TYPE "application/x-amz-json-1.1"
#define DEFAULT_CONNECT_TIMEOUT_MS 3000
#define DEFAULT_ATTEMPT_TIMEOUT_MS 10000
#define DEFAULT_MAX_ATTEMPTS 3
#define BACKOFF_CAP_S 20
#define MAX_LIST_PAGES 1000
/* A request body: a SecretString of 64 KiB may grow up to six-fold when JSON-escaped. */
#define LIMIT_REQUEST_BODY (6u * SM_LIMIT_SECRET_STRING + 16u * 1024u)
/* The X-Amz-Security-Token and Authorization header lines. */
#define LIMIT_HEADER_LINE (16u * 1024u)
#define AWS_MESSAGE_MAX 400

/* ------------------------------------------------------------------------------------------ */
/* Configuration                                                                                */

static const char *env_nonempty(const char *name) {
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

static bool valid_region(const char *r) {
    if (r[0] == '\0' || strlen(r) > 64) {
        return false;
    }
    for (const char *p = r; *p != '\0'; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-')) {
            return false;
        }
    }
    return true;
}

/* DNS suffix of the partition a region belongs to. */
static const char *dns_suffix(const char *region) {
    if (strncmp(region, "cn-", 3) == 0) {
        return "amazonaws.com.cn";
    }
    if (strncmp(region, "us-isob-", 8) == 0) {
        return "sc2s.sgov.gov";
    }
    if (strncmp(region, "us-iso-", 7) == 0) {
        return "c2s.ic.gov";
    }
    return "amazonaws.com";
}

static int dup_env(char **dst, const char *value, const char *name, struct sm_err *err) {
    *dst = sm_strdup(value);
    if (*dst == NULL) {
        return sm_err_set(err, SM_ERR_NOMEM, "out of memory reading %s", name);
    }
    return 0;
}

int secrets_config_from_env(struct secrets_config *cfg, struct sm_err *err) {
    int result = -1;
    memset(cfg, 0, sizeof(*cfg));
    cfg->connect_timeout_ms = DEFAULT_CONNECT_TIMEOUT_MS;
    cfg->attempt_timeout_ms = DEFAULT_ATTEMPT_TIMEOUT_MS;
    cfg->max_attempts = DEFAULT_MAX_ATTEMPTS;

    const char *region_var = "AWS_REGION";
    const char *region = env_nonempty(region_var);
    if (region == NULL) {
        region_var = "AWS_DEFAULT_REGION";
        region = env_nonempty(region_var);
    }
    if (region == NULL) {
        sm_err_set(err, SM_ERR_CONFIG, "AWS_REGION is not set (nor AWS_DEFAULT_REGION)");
        goto out;
    }
    if (!valid_region(region)) {
        sm_err_set(err, SM_ERR_CONFIG, "%s is not a valid region name", region_var);
        goto out;
    }
    const char *akid = env_nonempty("AWS_ACCESS_KEY_ID");
    if (akid == NULL) {
        sm_err_set(err, SM_ERR_CONFIG, "AWS_ACCESS_KEY_ID is not set");
        goto out;
    }
    const char *secret = env_nonempty("AWS_SECRET_ACCESS_KEY");
    if (secret == NULL) {
        sm_err_set(err, SM_ERR_CONFIG, "AWS_SECRET_ACCESS_KEY is not set");
        goto out;
    }
    const char *token = env_nonempty("AWS_SESSION_TOKEN");
    if (dup_env(&cfg->region, region, region_var, err) != 0 ||
        dup_env(&cfg->access_key_id, akid, "AWS_ACCESS_KEY_ID", err) != 0 ||
        dup_env(&cfg->secret_access_key, secret, "AWS_SECRET_ACCESS_KEY", err) != 0 ||
        (token != NULL && dup_env(&cfg->session_token, token, "AWS_SESSION_TOKEN", err) != 0)) {
        goto out;
    }

    /* Endpoint: explicit overrides first (FIPS applies to the default host only). */
    static const char *const endpoint_vars[] = {
        "SECRETS_MANAGER_ENDPOINT",
        "AWS_ENDPOINT_URL_SECRETS_MANAGER",
        "AWS_ENDPOINT_URL",
    };
    for (size_t i = 0; i < sizeof(endpoint_vars) / sizeof(endpoint_vars[0]); i++) {
        const char *v = env_nonempty(endpoint_vars[i]);
        if (v == NULL) {
            continue;
        }
        struct secrets_endpoint ep;
        if (secrets_endpoint_parse(v, &ep, err) != 0) {
            sm_err_set(err, SM_ERR_CONFIG, "%s is not a usable http(s) endpoint URL",
                       endpoint_vars[i]);
            goto out;
        }
        if (dup_env(&cfg->endpoint, v, endpoint_vars[i], err) != 0) {
            goto out;
        }
        break;
    }
    if (cfg->endpoint == NULL) {
        const char *fips = getenv("AWS_USE_FIPS_ENDPOINT");
        bool use_fips = fips != NULL && strcasecmp(fips, "true") == 0;
        char url[SECRETS_URL_MAX];
        snprintf(url, sizeof(url), "https://secretsmanager%s.%s.%s", use_fips ? "-fips" : "",
                 region, dns_suffix(region));
        if (dup_env(&cfg->endpoint, url, "the endpoint", err) != 0) {
            goto out;
        }
    }

    const char *ca = env_nonempty("SMROTATE_CA_FILE");
    if (ca != NULL) {
        if (access(ca, R_OK) != 0) {
            sm_err_set(err, SM_ERR_CONFIG, "SMROTATE_CA_FILE (%s) cannot be read", ca);
            goto out;
        }
    } else if (access("/etc/pki/tls/certs/ca-bundle.crt", R_OK) == 0) {
        ca = "/etc/pki/tls/certs/ca-bundle.crt";
    } else if (access("/etc/ssl/certs/ca-certificates.crt", R_OK) == 0) {
        ca = "/etc/ssl/certs/ca-certificates.crt";
    }
    if (ca != NULL && dup_env(&cfg->ca_file, ca, "SMROTATE_CA_FILE", err) != 0) {
        goto out;
    }
    result = 0;
out:
    if (result != 0) {
        secrets_config_clean_up(cfg);
    }
    return result;
}

void secrets_config_clean_up(struct secrets_config *cfg) {
    if (cfg == NULL) {
        return;
    }
    sm_free(cfg->region);
    sm_free(cfg->endpoint);
    sm_free(cfg->access_key_id);
    sm_free(cfg->secret_access_key); /* sm_free wipes */
    sm_free(cfg->session_token);
    sm_free(cfg->ca_file);
    cfg->region = cfg->endpoint = cfg->access_key_id = NULL;
    cfg->secret_access_key = cfg->session_token = cfg->ca_file = NULL;
}

void secrets_client_init(struct secrets_client *c, const struct secrets_config *cfg,
                         struct http_client *http) {
    sm_mem_install_hooks();
    c->cfg = cfg;
    c->http = http;
    c->calls = 0;
    c->random01 = NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* Endpoint                                                                                     */

int secrets_endpoint_parse(const char *endpoint, struct secrets_endpoint *out, struct sm_err *err) {
    memset(out, 0, sizeof(*out));
    if (endpoint == NULL) {
        return sm_err_set(err, SM_ERR_CONFIG, "no endpoint URL");
    }
    const char *default_port;
    size_t scheme_len;
    if (strncasecmp(endpoint, "https://", 8) == 0) {
        default_port = "443";
        scheme_len = 8;
    } else if (strncasecmp(endpoint, "http://", 7) == 0) {
        default_port = "80";
        scheme_len = 7;
    } else {
        return sm_err_set(err, SM_ERR_CONFIG, "endpoint URL must start with http:// or https://");
    }
    const char *auth = endpoint + scheme_len;
    size_t auth_len = strcspn(auth, "/?#");
    const char *rest = auth + auth_len;
    if (auth_len == 0 || memchr(auth, '@', auth_len) != NULL || strpbrk(rest, "?#") != NULL ||
        strpbrk(endpoint, " \t\r\n") != NULL) {
        return sm_err_set(err, SM_ERR_CONFIG,
                          "endpoint URL needs a host and no user info, query or fragment");
    }
    /* host[:port], where an IPv6 host is bracketed. */
    const char *host_end = auth + auth_len;
    if (auth[0] == '[') {
        const char *close = memchr(auth, ']', auth_len);
        if (close == NULL) {
            return sm_err_set(err, SM_ERR_CONFIG, "endpoint URL has an unterminated IPv6 host");
        }
        host_end = close + 1;
    } else {
        const char *colon = memchr(auth, ':', auth_len);
        if (colon != NULL) {
            host_end = colon;
        }
    }
    size_t host_len = (size_t)(host_end - auth);
    const char *port = NULL;
    size_t port_len = 0;
    if (host_end < auth + auth_len) {
        if (*host_end != ':') {
            return sm_err_set(err, SM_ERR_CONFIG, "endpoint URL has a malformed host");
        }
        port = host_end + 1;
        port_len = (size_t)(auth + auth_len - port);
        if (port_len == 0 || port_len > 5 || strspn(port, "0123456789") < port_len) {
            return sm_err_set(err, SM_ERR_CONFIG, "endpoint URL has a malformed port");
        }
    }
    if (host_len == 0 || host_len + 1 + port_len >= sizeof(out->host)) {
        return sm_err_set(err, SM_ERR_CONFIG, "endpoint URL has an empty or overlong host");
    }
    bool default_p = port != NULL && strlen(default_port) == port_len &&
                     memcmp(port, default_port, port_len) == 0;
    if (port != NULL && !default_p) {
        snprintf(out->host, sizeof(out->host), "%.*s", (int)(host_len + 1 + port_len), auth);
    } else {
        snprintf(out->host, sizeof(out->host), "%.*s", (int)host_len, auth);
    }
    const char *path = rest[0] == '\0' ? "/" : rest;
    if (strlen(endpoint) + 2 > sizeof(out->url) || strlen(path) + 1 > sizeof(out->path)) {
        return sm_err_set(err, SM_ERR_CONFIG, "endpoint URL is too long");
    }
    snprintf(out->path, sizeof(out->path), "%s", path);
    snprintf(out->url, sizeof(out->url), "%.*s%s", (int)(rest - endpoint), endpoint, path);
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Errors                                                                                       */

static bool in_list(const char *code, const char *const *list) {
    for (size_t i = 0; list[i] != NULL; i++) {
        if (strcmp(code, list[i]) == 0) {
            return true;
        }
    }
    return false;
}

/* botocore retries/standard.py: the throttling codes (LimitExceededException included, as the
 * SDKs do; for Secrets Manager it may be a quota that will not clear within the retries). */
static const char *const s_throttling_codes[] = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
    NULL,
};

/* Transient service-side codes (botocore's transient list plus the 5xx codes). */
static const char *const s_server_codes[] = {
    "InternalServiceError",
    "InternalServiceErrorException",
    "InternalFailure",
    "InternalServerError",
    "InternalError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "RequestTimeout",
    "RequestTimeoutException",
    NULL,
};

/* The request was not authenticated: signature, credentials, token or clock. */
static const char *const s_auth_codes[] = {
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "IncompleteSignatureException",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "InvalidAccessKeyId",
    "ExpiredToken",
    "ExpiredTokenException",
    "MissingAuthenticationToken",
    "MissingAuthenticationTokenException",
    "RequestExpired",
    "RequestTimeTooSkewed",
    "AuthFailure",
    NULL,
};

static const struct sm_code *classify(const char *code, long status) {
    if (code[0] != '\0') {
        if (in_list(code, s_throttling_codes)) {
            return SM_ERR_AWS_THROTTLED;
        }
        if (in_list(code, s_auth_codes)) {
            return SM_ERR_AWS_AUTH;
        }
        if (in_list(code, s_server_codes)) {
            return SM_ERR_AWS_SERVER;
        }
    }
    if (status >= 500) {
        return SM_ERR_AWS_SERVER;
    }
    if (code[0] == '\0' && status == 429) {
        return SM_ERR_AWS_THROTTLED;
    }
    if (code[0] == '\0' && (status == 401 || status == 403)) {
        return SM_ERR_AWS_AUTH;
    }
    return SM_ERR_AWS_CLIENT;
}

/* Copies an error code: from ':' on is dropped, then everything up to the last '#'; only
 * token characters are kept (the code lands in logs and the Lambda errorType). */
static void extract_code(const char *raw, char *out, size_t size) {
    out[0] = '\0';
    if (raw == NULL) {
        return;
    }
    size_t n = strcspn(raw, ":");
    const char *start = raw;
    for (size_t i = 0; i < n; i++) {
        if (raw[i] == '#') {
            start = raw + i + 1;
        }
    }
    size_t len = 0;
    for (const char *p = start; p < raw + n && len + 1 < size; p++) {
        char ch = *p;
        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
            ch == '.' || ch == '_' || ch == '-') {
            out[len++] = ch;
        } else {
            break;
        }
    }
    out[len] = '\0';
}

/* Copies an AWS message for a log line: control characters become spaces, at most size-1. */
static void copy_message(const char *raw, char *out, size_t size) {
    size_t len = 0;
    for (const char *p = raw; p != NULL && *p != '\0' && len + 1 < size; p++) {
        unsigned char ch = (unsigned char)*p;
        out[len++] = ch < 0x20 || ch == 0x7f ? ' ' : (char)ch;
    }
    out[len] = '\0';
}

static void describe_target(char *out, size_t size, const char *operation, const char *secret_id) {
    if (secret_id != NULL) {
        snprintf(out, size, "%s on secret %.256s", operation, secret_id);
    } else {
        snprintf(out, size, "%s", operation);
    }
}

int secrets_error_from_response(const char *operation, const char *secret_id, long status,
                                const char *body, size_t len, const char *error_type_header,
                                struct sm_err *err) {
    char code[SM_ERR_TYPE_MAX];
    char message[AWS_MESSAGE_MAX];
    char target[320];
    code[0] = message[0] = '\0';
    cJSON *root = NULL;
    int64_t failures = sm_mem_failure_count();
    if (body != NULL && len > 0) {
        root = cJSON_ParseWithLength(body, len);
    }
    if (root == NULL && sm_mem_failure_count() != failures) {
        /* The body could not be read for want of memory: its code is unknown, and guessing
         * from the status alone would turn a transient condition into a permanent error. */
        describe_target(target, sizeof(target), operation, secret_id);
        sm_err_set(err, SM_ERR_NOMEM, "%s failed: HTTP %ld, and out of memory reading the error",
                   target, status);
        if (err != NULL) {
            err->http_status = status;
        }
        return -1;
    }
    if (cJSON_IsObject(root)) {
        extract_code(sm_json_string(root, "__type"), code, sizeof(code));
        const char *m = sm_json_string(root, "message");
        if (m == NULL) {
            m = sm_json_string(root, "Message");
        }
        copy_message(m, message, sizeof(message));
    }
    cJSON_Delete(root);
    if (code[0] == '\0') {
        extract_code(error_type_header, code, sizeof(code));
    }
    describe_target(target, sizeof(target), operation, secret_id);
    const struct sm_code *cls = classify(code, status);
    if (code[0] != '\0') {
        sm_err_set(err, cls, "%s failed: %s: %s", target, code,
                   message[0] != '\0' ? message : "(no message)");
    } else {
        sm_err_set(err, cls, "%s failed: HTTP %ld%s%s", target, status,
                   message[0] != '\0' ? ": " : "", message);
    }
    if (err != NULL) {
        snprintf(err->aws_type, sizeof(err->aws_type), "%s", code);
        err->http_status = status;
    }
    return -1;
}

bool secrets_error_is_retryable(const struct sm_err *err) {
    return err->code == SM_ERR_AWS_THROTTLED || err->code == SM_ERR_AWS_SERVER ||
           err->code == SM_ERR_TRANSPORT;
}

/* ------------------------------------------------------------------------------------------ */
/* Requests                                                                                     */

static double default_random01(void) {
    uint64_t x = 0;
    if (RAND_bytes((unsigned char *)&x, sizeof(x)) != 1) {
        return 1.0 - 0x1.0p-53; /* no randomness: the longest delay is the safe choice */
    }
    return (double)(x >> 11) * 0x1.0p-53;
}

/* Full-jitter delay before the attempt after `attempt` (1-based): rand * min(2^(n-1), 20) s. */
static int64_t backoff_ms(const struct secrets_client *c, int attempt) {
    double r = c->random01 != NULL ? c->random01() : default_random01();
    if (!(r >= 0.0)) {
        r = 0.0;
    }
    if (r >= 1.0) {
        r = 1.0 - 0x1.0p-53;
    }
    int64_t cap_s = BACKOFF_CAP_S;
    if (attempt - 1 < 5) {
        int64_t p = (int64_t)1 << (attempt - 1);
        cap_s = p < BACKOFF_CAP_S ? p : BACKOFF_CAP_S;
    }
    return (int64_t)(r * (double)cap_s * 1000.0);
}

static int append_line(struct sm_buf *b, const char *name, const char *value, size_t len,
                       struct sm_err *err) {
    sm_buf_reset(b);
    if (sm_buf_append_str(b, name, err) != 0 || sm_buf_append_str(b, ": ", err) != 0 ||
        sm_buf_append(b, value, len, err) != 0) {
        return -1;
    }
    return 0;
}

/* One signed attempt. Returns 0 when a response arrived (any status), -1 with err set. */
static int attempt_once(struct secrets_client *c, const struct secrets_endpoint *ep,
                        const char *operation, const struct sm_buf *body, long timeout_ms,
                        struct http_response *resp, struct sm_err *err) {
    int result = -1;
    const struct secrets_config *cfg = c->cfg;
    struct sm_buf authz, authz_line, token_line;
    sm_buf_init(&authz, LIMIT_HEADER_LINE);
    sm_buf_init(&authz_line, LIMIT_HEADER_LINE);
    sm_buf_init(&token_line, LIMIT_HEADER_LINE);
    char amz_date[SIGV4_AMZ_DATE_LEN + 1];
    char target[160];
    char host_line[SECRETS_HOST_MAX + 16];
    char date_line[64];
    char target_line[192];
    bool has_token = cfg->session_token != NULL && cfg->session_token[0] != '\0';

    if (sigv4_format_amz_date(sm_now_ms(), amz_date, err) != 0) {
        goto out;
    }
    snprintf(target, sizeof(target), SERVICE ".%s", operation);
    struct sigv4_header signed_headers[] = {
        {sigv4_cstr("Content-Type"), sigv4_cstr(CONTENT_TYPE)},
        {sigv4_cstr("Host"), sigv4_cstr(ep->host)},
        {sigv4_cstr("X-Amz-Date"), sigv4_cstr(amz_date)},
        {sigv4_cstr("X-Amz-Target"), sigv4_cstr(target)},
        {sigv4_cstr("X-Amz-Security-Token"), sigv4_cstr(cfg->session_token)},
    };
    struct sigv4_request sreq = {
        .method = sigv4_cstr("POST"),
        .path = sigv4_cstr(ep->path),
        .headers = signed_headers,
        .n_headers = has_token ? 5 : 4,
        .payload = {body->data, body->len},
    };
    struct sigv4_params params = {
        .access_key_id = sigv4_cstr(cfg->access_key_id),
        .secret_access_key = sigv4_cstr(cfg->secret_access_key),
        .session_token = sigv4_cstr(has_token ? cfg->session_token : NULL),
        .region = sigv4_cstr(cfg->region),
        .service = sigv4_cstr(SERVICE),
        .amz_date = sigv4_cstr(amz_date),
    };
    if (sigv4_sign(&sreq, &params, &authz, err) != 0 ||
        append_line(&authz_line, "Authorization", authz.data, authz.len, err) != 0 ||
        (has_token && append_line(&token_line, "X-Amz-Security-Token", cfg->session_token,
                                  strlen(cfg->session_token), err) != 0)) {
        goto out;
    }
    snprintf(host_line, sizeof(host_line), "Host: %s", ep->host);
    snprintf(date_line, sizeof(date_line), "X-Amz-Date: %s", amz_date);
    snprintf(target_line, sizeof(target_line), "X-Amz-Target: %s", target);
    const char *lines[6] = {host_line, "Content-Type: " CONTENT_TYPE, date_line, target_line,
                            authz_line.data};
    size_t n_lines = 5;
    if (has_token) {
        lines[n_lines++] = token_line.data;
    }
    long connect_ms =
        cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS;
    struct http_request req = {
        .method = "POST",
        .url = ep->url,
        .headers = lines,
        .n_headers = n_lines,
        .body = body->data,
        .body_len = body->len,
        .connect_timeout_ms = connect_ms < timeout_ms ? connect_ms : timeout_ms,
        .timeout_ms = timeout_ms,
        .ca_file = cfg->ca_file,
    };
    c->calls++;
    if (http_perform(c->http, &req, resp, err) != 0) {
        goto out;
    }
    result = 0;
out:
    sm_buf_clean_up(&authz);
    sm_buf_clean_up(&authz_line);
    sm_buf_clean_up(&token_line);
    return result;
}

int secrets_call(struct secrets_client *c, const char *operation, const char *secret_id,
                 const char *body, size_t len, int64_t deadline_ms, struct cJSON **out,
                 struct sm_err *err) {
    int result = -1;
    struct http_response resp;
    struct sm_buf payload;
    struct secrets_endpoint ep;
    char what[320];
    http_response_init(&resp, SM_LIMIT_AWS_RESPONSE);
    sm_buf_init(&payload, LIMIT_REQUEST_BODY);
    *out = NULL;
    describe_target(what, sizeof(what), operation, secret_id);

    if (secrets_endpoint_parse(c->cfg->endpoint, &ep, err) != 0) {
        sm_err_prefix(err, "%s failed", what);
        goto out;
    }
    if (sm_buf_append(&payload, body, len, err) != 0 || sm_buf_ensure(&payload, err) != 0) {
        sm_err_prefix(err, "%s failed", what);
        goto out;
    }
    int max_attempts = c->cfg->max_attempts > 0 ? c->cfg->max_attempts : DEFAULT_MAX_ATTEMPTS;
    long attempt_timeout =
        c->cfg->attempt_timeout_ms > 0 ? c->cfg->attempt_timeout_ms : DEFAULT_ATTEMPT_TIMEOUT_MS;
    for (int attempt = 1;; attempt++) {
        int64_t remaining = sm_remaining_ms(deadline_ms);
        if (remaining <= 0) {
            /* Only reachable on the first attempt: later ones are checked before sleeping. */
            sm_err_set(err, SM_ERR_DEADLINE, "%s not sent: the invocation deadline has passed",
                       what);
            goto out;
        }
        bool capped = remaining < attempt_timeout;
        long timeout = capped ? (long)remaining : attempt_timeout;
        if (attempt_once(c, &ep, operation, &payload, timeout, &resp, err) == 0) {
            SM_DEBUG("%s: attempt %d, HTTP %ld", what, attempt, resp.status);
            if (resp.status >= 200 && resp.status < 300) {
                cJSON *root = sm_json_parse(resp.body.data, resp.body.len, SM_ERR_PROTOCOL,
                                            "the response", err);
                if (root == NULL) {
                    sm_err_prefix(err, "%s failed", what);
                    goto out;
                }
                if (!cJSON_IsObject(root)) {
                    cJSON_Delete(root);
                    sm_err_set(err, SM_ERR_PROTOCOL, "%s failed: the response is not an object",
                               what);
                    goto out;
                }
                *out = root;
                break;
            }
            secrets_error_from_response(operation, secret_id, resp.status, resp.body.data,
                                        resp.body.len,
                                        http_response_header(&resp, "x-amzn-errortype"), err);
        } else {
            SM_DEBUG("%s: attempt %d, no response (%s)", what, attempt, sm_code_name(err->code));
            if (err->code == SM_ERR_DEADLINE && capped) {
                sm_err_set(err, SM_ERR_DEADLINE,
                           "%s failed: the invocation deadline was reached during attempt %d", what,
                           attempt);
                goto out;
            }
            if (err->code == SM_ERR_DEADLINE) { /* the attempt's own timeout: transient */
                err->code = SM_ERR_TRANSPORT;
            } else if (err->code == SM_ERR_TOO_LARGE) {
                err->code = SM_ERR_PROTOCOL;
            }
            sm_err_prefix(err, "%s failed", what);
        }
        if (!secrets_error_is_retryable(err)) {
            goto out;
        }
        if (attempt >= max_attempts) {
            if (attempt > 1) {
                size_t n = strlen(err->msg);
                snprintf(err->msg + n, sizeof(err->msg) - n, " (after %d attempts)", attempt);
            }
            goto out;
        }
        int64_t delay = backoff_ms(c, attempt);
        remaining = sm_remaining_ms(deadline_ms);
        if (delay >= remaining) {
            size_t n = strlen(err->msg);
            snprintf(err->msg + n, sizeof(err->msg) - n,
                     " (retries cut short by the invocation deadline after %d attempt%s: %lld ms "
                     "left, next retry due in %lld ms)",
                     attempt, attempt == 1 ? "" : "s", (long long)remaining, (long long)delay);
            goto out;
        }
        SM_DEBUG("%s: retrying in %lld ms (%s)", what, (long long)delay, sm_err_type(err));
        sm_sleep_ms(delay);
    }
    result = 0;
out:
    http_response_clean_up(&resp);
    sm_buf_clean_up(&payload);
    return result;
}

/* Serialises req (deleting it) and calls operation. */
static int call_json(struct secrets_client *c, const char *operation, const char *secret_id,
                     cJSON *req, int64_t deadline_ms, cJSON **out, struct sm_err *err) {
    int result = -1;
    struct sm_buf body;
    sm_buf_init(&body, LIMIT_REQUEST_BODY);
    *out = NULL;
    char what[320];
    describe_target(what, sizeof(what), operation, secret_id);
    if (req == NULL) {
        sm_err_set(err, SM_ERR_NOMEM, "%s failed: out of memory building the request", what);
        goto out;
    }
    if (sm_json_print(req, &body, err) != 0) {
        sm_err_prefix(err, "%s failed", what);
        goto out;
    }
    if (secrets_call(c, operation, secret_id, body.data, body.len, deadline_ms, out, err) != 0) {
        goto out;
    }
    result = 0;
out:
    cJSON_Delete(req);
    sm_buf_clean_up(&body);
    return result;
}

/* Request builders: each returns false when out of memory. */
static bool add_str(cJSON *obj, const char *key, const char *value) {
    return value == NULL || cJSON_AddStringToObject(obj, key, value) != NULL;
}

static bool add_bool(cJSON *obj, const char *key, enum secrets_tristate v) {
    return v == SECRETS_UNSET || cJSON_AddBoolToObject(obj, key, v == SECRETS_TRUE) != NULL;
}

static cJSON *new_request(const char *secret_id) {
    cJSON *req = cJSON_CreateObject();
    if (req != NULL && !add_str(req, "SecretId", secret_id)) {
        cJSON_Delete(req);
        return NULL;
    }
    return req;
}

/* ------------------------------------------------------------------------------------------ */
/* Response parsing: lenient, a missing or null field is simply absent.                         */

static int nomem(struct sm_err *err, const char *operation, const char *secret_id) {
    char what[320];
    describe_target(what, sizeof(what), operation, secret_id);
    return sm_err_set(err, SM_ERR_NOMEM, "%s: out of memory reading the response", what);
}

/* *dst = copy of obj[key] when it is a string, else NULL. Returns 0 or -1 (out of memory). */
static int copy_str(const cJSON *obj, const char *key, char **dst) {
    const char *v = sm_json_string(obj, key);
    *dst = NULL;
    if (v == NULL) {
        return 0;
    }
    *dst = sm_strdup(v);
    return *dst != NULL ? 0 : -1;
}

static void free_stages(char **stages, size_t n) {
    for (size_t i = 0; i < n; i++) {
        sm_free(stages[i]);
    }
    sm_free(stages);
}

/* The strings of a JSON array (other items skipped). Returns 0 or -1 (out of memory). */
static int copy_stages(const cJSON *arr, char ***stages, size_t *n) {
    *stages = NULL;
    *n = 0;
    if (!cJSON_IsArray(arr)) {
        return 0;
    }
    size_t count = (size_t)cJSON_GetArraySize(arr);
    if (count == 0) {
        return 0;
    }
    char **s = sm_calloc(count, sizeof(*s));
    if (s == NULL) {
        return -1;
    }
    size_t k = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, arr) {
        if (!cJSON_IsString(item)) {
            continue;
        }
        s[k] = sm_strdup(item->valuestring);
        if (s[k] == NULL) {
            free_stages(s, k);
            return -1;
        }
        k++;
    }
    *stages = s;
    *n = k;
    return 0;
}

static void version_clean_up(struct secrets_version *v) {
    sm_free(v->version_id);
    free_stages(v->stages, v->n_stages);
    v->version_id = NULL;
    v->stages = NULL;
    v->n_stages = 0;
}

/* ------------------------------------------------------------------------------------------ */
/* DescribeSecret                                                                               */

int secrets_describe_secret(struct secrets_client *c, const char *secret_id, int64_t deadline_ms,
                            struct secrets_description *out, struct sm_err *err) {
    int result = -1;
    cJSON *resp = NULL;
    memset(out, 0, sizeof(*out));
    out->rotation_enabled = -1;
    if (call_json(c, "DescribeSecret", secret_id, new_request(secret_id), deadline_ms, &resp,
                  err) != 0) {
        goto out;
    }
    if (copy_str(resp, "ARN", &out->arn) != 0 || copy_str(resp, "Name", &out->name) != 0) {
        nomem(err, "DescribeSecret", secret_id);
        goto out;
    }
    const cJSON *enabled = cJSON_GetObjectItemCaseSensitive(resp, "RotationEnabled");
    if (cJSON_IsBool(enabled)) {
        out->rotation_enabled = cJSON_IsTrue(enabled) ? 1 : 0;
    }
    const cJSON *map = cJSON_GetObjectItemCaseSensitive(resp, "VersionIdsToStages");
    if (cJSON_IsObject(map) && cJSON_GetArraySize(map) > 0) {
        out->versions = sm_calloc((size_t)cJSON_GetArraySize(map), sizeof(*out->versions));
        if (out->versions == NULL) {
            nomem(err, "DescribeSecret", secret_id);
            goto out;
        }
        const cJSON *item;
        cJSON_ArrayForEach(item, map) {
            if (item->string == NULL) {
                continue;
            }
            struct secrets_version *v = &out->versions[out->n_versions];
            v->version_id = sm_strdup(item->string);
            if (v->version_id == NULL) {
                nomem(err, "DescribeSecret", secret_id);
                goto out;
            }
            out->n_versions++;
            if (copy_stages(item, &v->stages, &v->n_stages) != 0) {
                nomem(err, "DescribeSecret", secret_id);
                goto out;
            }
        }
    }
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(resp, "Tags");
    if (cJSON_IsArray(tags) && cJSON_GetArraySize(tags) > 0) {
        out->tags = sm_calloc((size_t)cJSON_GetArraySize(tags), sizeof(*out->tags));
        if (out->tags == NULL) {
            nomem(err, "DescribeSecret", secret_id);
            goto out;
        }
        const cJSON *tag;
        cJSON_ArrayForEach(tag, tags) {
            if (!cJSON_IsObject(tag) || sm_json_string(tag, "Key") == NULL) {
                continue;
            }
            struct secrets_tag *t = &out->tags[out->n_tags++];
            if (copy_str(tag, "Key", &t->key) != 0 || copy_str(tag, "Value", &t->value) != 0) {
                nomem(err, "DescribeSecret", secret_id);
                goto out;
            }
        }
    }
    result = 0;
out:
    cJSON_Delete(resp);
    return result;
}

void secrets_description_clean_up(struct secrets_description *d) {
    if (d == NULL) {
        return;
    }
    sm_free(d->arn);
    sm_free(d->name);
    for (size_t i = 0; i < d->n_versions; i++) {
        version_clean_up(&d->versions[i]);
    }
    sm_free(d->versions);
    for (size_t i = 0; i < d->n_tags; i++) {
        sm_free(d->tags[i].key);
        sm_free(d->tags[i].value);
    }
    sm_free(d->tags);
    memset(d, 0, sizeof(*d));
    d->rotation_enabled = -1;
}

const struct secrets_version *secrets_description_find(const struct secrets_description *d,
                                                       const char *version_id) {
    if (d == NULL || version_id == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < d->n_versions; i++) {
        if (d->versions[i].version_id != NULL &&
            strcmp(d->versions[i].version_id, version_id) == 0) {
            return &d->versions[i];
        }
    }
    return NULL;
}

bool secrets_version_has_stage(const struct secrets_version *v, const char *stage) {
    if (v == NULL || stage == NULL) {
        return false;
    }
    for (size_t i = 0; i < v->n_stages; i++) {
        if (strcmp(v->stages[i], stage) == 0) {
            return true;
        }
    }
    return false;
}

/* ------------------------------------------------------------------------------------------ */
/* GetSecretValue                                                                               */

int secrets_get_secret_value(struct secrets_client *c, const char *secret_id,
                             const char *version_id, const char *version_stage, int64_t deadline_ms,
                             struct secrets_secret_value *out, struct sm_err *err) {
    int result = -1;
    cJSON *resp = NULL;
    memset(out, 0, sizeof(*out));
    sm_buf_init(&out->secret_string, SM_LIMIT_SECRET_STRING);
    cJSON *req = new_request(secret_id);
    if (req != NULL &&
        (!add_str(req, "VersionId", version_id) || !add_str(req, "VersionStage", version_stage))) {
        cJSON_Delete(req);
        req = NULL;
    }
    if (call_json(c, "GetSecretValue", secret_id, req, deadline_ms, &resp, err) != 0) {
        goto out;
    }
    if (copy_str(resp, "ARN", &out->arn) != 0 || copy_str(resp, "Name", &out->name) != 0 ||
        copy_str(resp, "VersionId", &out->version_id) != 0 ||
        copy_stages(cJSON_GetObjectItemCaseSensitive(resp, "VersionStages"), &out->stages,
                    &out->n_stages) != 0) {
        nomem(err, "GetSecretValue", secret_id);
        goto out;
    }
    const char *s = sm_json_string(resp, "SecretString");
    if (s != NULL) {
        if (sm_buf_append_str(&out->secret_string, s, err) != 0 ||
            sm_buf_ensure(&out->secret_string, err) != 0) {
            sm_err_prefix(err, "GetSecretValue on secret %.256s: SecretString", secret_id);
            goto out;
        }
        out->has_string = true;
    }
    out->has_binary = sm_json_string(resp, "SecretBinary") != NULL;
    result = 0;
out:
    cJSON_Delete(resp); /* the hooks wipe the SecretString copies */
    return result;
}

void secrets_secret_value_clean_up(struct secrets_secret_value *v) {
    if (v == NULL) {
        return;
    }
    sm_free(v->arn);
    sm_free(v->name);
    sm_free(v->version_id);
    free_stages(v->stages, v->n_stages);
    sm_buf_clean_up(&v->secret_string);
    v->arn = v->name = v->version_id = NULL;
    v->stages = NULL;
    v->n_stages = 0;
    v->has_string = v->has_binary = false;
}

/* ------------------------------------------------------------------------------------------ */
/* PutSecretValue                                                                               */

/* A random (version 4) UUID. */
static int make_uuid(char out[37], struct sm_err *err) {
    unsigned char b[16];
    if (RAND_bytes(b, sizeof(b)) != 1) {
        return sm_err_set(err, SM_ERR_INTERNAL, "no randomness for a ClientRequestToken");
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
    return 0;
}

int secrets_put_secret_value(struct secrets_client *c, const char *secret_id,
                             const char *client_request_token, const char *secret_string,
                             size_t len, const char *const *stages, size_t n_stages,
                             const char *rotation_token, int64_t deadline_ms, struct sm_err *err) {
    int result = -1;
    cJSON *resp = NULL;
    cJSON *req = NULL;
    char *value = NULL;
    char uuid[37];
    if (len > SM_LIMIT_SECRET_STRING) {
        sm_err_set(err, SM_ERR_TOO_LARGE,
                   "PutSecretValue on secret %.256s: SecretString of %zu bytes exceeds %u",
                   secret_id, len, SM_LIMIT_SECRET_STRING);
        goto out;
    }
    if (secret_string == NULL || memchr(secret_string, '\0', len) != NULL) {
        sm_err_set(err, SM_ERR_INTERNAL,
                   "PutSecretValue on secret %.256s: SecretString is missing or holds a NUL byte",
                   secret_id);
        goto out;
    }
    if (client_request_token == NULL || client_request_token[0] == '\0') {
        if (make_uuid(uuid, err) != 0) {
            goto out;
        }
        client_request_token = uuid;
    }
    value = sm_strndup(secret_string, len);
    req = new_request(secret_id);
    if (value == NULL || req == NULL || !add_str(req, "ClientRequestToken", client_request_token) ||
        !add_str(req, "SecretString", value)) {
        goto nomem;
    }
    if (n_stages > 0) {
        cJSON *arr = cJSON_AddArrayToObject(req, "VersionStages");
        if (arr == NULL) {
            goto nomem;
        }
        for (size_t i = 0; i < n_stages; i++) {
            cJSON *s = cJSON_CreateString(stages[i]);
            if (s == NULL || !cJSON_AddItemToArray(arr, s)) {
                cJSON_Delete(s);
                goto nomem;
            }
        }
    }
    if (rotation_token != NULL && rotation_token[0] != '\0' &&
        !add_str(req, "RotationToken", rotation_token)) {
        goto nomem;
    }
    result = call_json(c, "PutSecretValue", secret_id, req, deadline_ms, &resp, err);
    req = NULL; /* call_json deleted it */
    goto out;
nomem:
    sm_err_set(err, SM_ERR_NOMEM, "PutSecretValue on secret %.256s: out of memory", secret_id);
out:
    cJSON_Delete(req);
    cJSON_Delete(resp);
    sm_free(value); /* wipes */
    return result;
}

/* ------------------------------------------------------------------------------------------ */
/* UpdateSecretVersionStage                                                                     */

int secrets_update_secret_version_stage(struct secrets_client *c, const char *secret_id,
                                        const char *stage, const char *move_to_version_id,
                                        const char *remove_from_version_id, int64_t deadline_ms,
                                        struct sm_err *err) {
    cJSON *resp = NULL;
    cJSON *req = new_request(secret_id);
    if (req != NULL && (!add_str(req, "VersionStage", stage) ||
                        !add_str(req, "MoveToVersionId", move_to_version_id) ||
                        !add_str(req, "RemoveFromVersionId", remove_from_version_id))) {
        cJSON_Delete(req);
        req = NULL;
    }
    int rc = call_json(c, "UpdateSecretVersionStage", secret_id, req, deadline_ms, &resp, err);
    cJSON_Delete(resp);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* GetRandomPassword                                                                            */

int secrets_get_random_password(struct secrets_client *c,
                                const struct secrets_password_policy *policy, int64_t deadline_ms,
                                struct sm_buf *out, struct sm_err *err) {
    int result = -1;
    cJSON *resp = NULL;
    cJSON *req = cJSON_CreateObject();
    sm_buf_reset(out);
    if (req != NULL && policy != NULL &&
        ((policy->length > 0 &&
          cJSON_AddNumberToObject(req, "PasswordLength", (double)policy->length) == NULL) ||
         !add_str(req, "ExcludeCharacters", policy->exclude_characters) ||
         !add_bool(req, "ExcludeNumbers", policy->exclude_numbers) ||
         !add_bool(req, "ExcludePunctuation", policy->exclude_punctuation) ||
         !add_bool(req, "ExcludeUppercase", policy->exclude_uppercase) ||
         !add_bool(req, "ExcludeLowercase", policy->exclude_lowercase) ||
         !add_bool(req, "IncludeSpace", policy->include_space) ||
         !add_bool(req, "RequireEachIncludedType", policy->require_each_included_type))) {
        cJSON_Delete(req);
        req = NULL;
    }
    if (call_json(c, "GetRandomPassword", NULL, req, deadline_ms, &resp, err) != 0) {
        goto out;
    }
    const char *pw = sm_json_string(resp, "RandomPassword");
    if (pw == NULL) {
        sm_err_set(err, SM_ERR_PROTOCOL,
                   "GetRandomPassword failed: no RandomPassword in the "
                   "response");
        goto out;
    }
    if (sm_buf_append_str(out, pw, err) != 0 || sm_buf_ensure(out, err) != 0) {
        sm_err_prefix(err, "GetRandomPassword");
        goto out;
    }
    result = 0;
out:
    if (result != 0) {
        sm_buf_reset(out);
    }
    cJSON_Delete(resp); /* the hooks wipe the password copies */
    return result;
}

/* ------------------------------------------------------------------------------------------ */
/* ListSecretVersionIds                                                                         */

int secrets_list_secret_version_ids(struct secrets_client *c, const char *secret_id,
                                    bool include_deprecated, int64_t deadline_ms,
                                    struct secrets_version_list *out, struct sm_err *err) {
    int result = -1;
    cJSON *resp = NULL;
    char *next = NULL;
    size_t cap = 0;
    memset(out, 0, sizeof(*out));
    for (int page = 1;; page++) {
        if (page > MAX_LIST_PAGES) {
            sm_err_set(err, SM_ERR_PROTOCOL,
                       "ListSecretVersionIds on secret %.256s failed: more than %d pages",
                       secret_id, MAX_LIST_PAGES);
            goto out;
        }
        cJSON *req = new_request(secret_id);
        if (req != NULL &&
            ((include_deprecated && cJSON_AddBoolToObject(req, "IncludeDeprecated", 1) == NULL) ||
             !add_str(req, "NextToken", next))) {
            cJSON_Delete(req);
            req = NULL;
        }
        if (call_json(c, "ListSecretVersionIds", secret_id, req, deadline_ms, &resp, err) != 0) {
            goto out;
        }
        const cJSON *versions = cJSON_GetObjectItemCaseSensitive(resp, "Versions");
        if (!cJSON_IsArray(versions)) {
            versions = NULL; /* absent, null or malformed: an empty page */
        }
        const cJSON *item;
        cJSON_ArrayForEach(item, versions) {
            if (!cJSON_IsObject(item) || sm_json_string(item, "VersionId") == NULL) {
                continue;
            }
            if (out->n_versions == cap) {
                size_t ncap = cap == 0 ? 8 : cap * 2;
                struct secrets_version *nv = sm_realloc(out->versions, ncap * sizeof(*nv));
                if (nv == NULL) {
                    nomem(err, "ListSecretVersionIds", secret_id);
                    goto out;
                }
                memset(nv + cap, 0, (ncap - cap) * sizeof(*nv));
                out->versions = nv;
                cap = ncap;
            }
            struct secrets_version *v = &out->versions[out->n_versions++];
            if (copy_str(item, "VersionId", &v->version_id) != 0 ||
                copy_stages(cJSON_GetObjectItemCaseSensitive(item, "VersionStages"), &v->stages,
                            &v->n_stages) != 0) {
                nomem(err, "ListSecretVersionIds", secret_id);
                goto out;
            }
        }
        sm_free(next);
        next = NULL;
        const char *token = sm_json_string(resp, "NextToken");
        if (token != NULL && token[0] != '\0') {
            next = sm_strdup(token);
            if (next == NULL) {
                nomem(err, "ListSecretVersionIds", secret_id);
                goto out;
            }
        }
        cJSON_Delete(resp);
        resp = NULL;
        if (next == NULL) {
            break;
        }
    }
    result = 0;
out:
    cJSON_Delete(resp);
    sm_free(next);
    if (result != 0) {
        secrets_version_list_clean_up(out);
    }
    return result;
}

void secrets_version_list_clean_up(struct secrets_version_list *l) {
    if (l == NULL) {
        return;
    }
    for (size_t i = 0; i < l->n_versions; i++) {
        version_clean_up(&l->versions[i]);
    }
    sm_free(l->versions);
    l->versions = NULL;
    l->n_versions = 0;
}
