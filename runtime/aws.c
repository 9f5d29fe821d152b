#include "aws.h"
#include "aws_testing.h"

#include "clock.h"
#include "log.h"
#include "mem.h"
#include "sigv4.h"

#include <assert.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BACKOFF_CAP_S 20
/* The X-Amz-Security-Token and Authorization header lines. */
#define LIMIT_HEADER_LINE (16u * 1024u)

/* ------------------------------------------------------------------------------------------ */
/* The system: the real one, and the wrappers every call goes through                          */

static int real_perform(void *impl, const struct http_request *req, struct http_response *resp,
                        struct sm_err *err) {
    return http_perform(impl, req, resp, err);
}

static int64_t real_now_ms(void *impl) {
    (void)impl;
    return sm_now_ms();
}

static void real_sleep_ms(void *impl, int64_t ms) {
    (void)impl;
    sm_sleep_ms(ms);
}

static double real_random01(void *impl) {
    (void)impl;
    uint64_t x = 0;
    if (RAND_bytes((unsigned char *)&x, sizeof(x)) != 1) {
        return 1.0 - 0x1.0p-53; /* no randomness: the longest delay is the safe choice */
    }
    return (double)(x >> 11) * 0x1.0p-53;
}

static const struct aws_system_ops s_real_system = {
    .perform = real_perform,
    .now_ms = real_now_ms,
    .sleep_ms = real_sleep_ms,
    .random01 = real_random01,
};

static int system_perform(const struct aws_client *c, const struct http_request *req,
                          struct http_response *resp, struct sm_err *err) {
    assert(c->system.ops != NULL && c->system.ops->perform != NULL);
    return c->system.ops->perform(c->system.impl, req, resp, err);
}

static int64_t system_now_ms(const struct aws_client *c) {
    assert(c->system.ops != NULL && c->system.ops->now_ms != NULL);
    return c->system.ops->now_ms(c->system.impl);
}

static void system_sleep_ms(const struct aws_client *c, int64_t ms) {
    assert(c->system.ops != NULL && c->system.ops->sleep_ms != NULL);
    c->system.ops->sleep_ms(c->system.impl, ms);
}

static double system_random01(const struct aws_client *c) {
    assert(c->system.ops != NULL && c->system.ops->random01 != NULL);
    return c->system.ops->random01(c->system.impl);
}

/* Milliseconds left before deadline_ms on the client's clock: INT64_MAX for 0, never negative. */
static int64_t remaining_ms(const struct aws_client *c, int64_t deadline_ms) {
    if (deadline_ms == 0) {
        return INT64_MAX;
    }
    int64_t left = deadline_ms - system_now_ms(c);
    return left > 0 ? left : 0;
}

struct aws_system aws_system_real(struct http_client *http) {
    return (struct aws_system){&s_real_system, http};
}

int aws_client_init(struct aws_client *c, const struct aws_service *service,
                    const struct aws_config *cfg, const char *endpoint, struct http_client *http,
                    struct sm_err *err) {
    sm_mem_install_hooks();
    memset(c, 0, sizeof(*c));
    c->service = service;
    c->cfg = cfg;
    c->system = aws_system_real(http);
    if (aws_endpoint_parse(endpoint, &c->endpoint, err) != 0) {
        return sm_err_prefix(err, "%s endpoint", service->name);
    }
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

void aws_error_code_copy(const char *raw, char *out, size_t size) {
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

static void describe_target(char *out, size_t size, const char *operation, const char *resource) {
    if (resource != NULL) {
        snprintf(out, size, "%s on %.300s", operation, resource);
    } else {
        snprintf(out, size, "%s", operation);
    }
}

int aws_error_set(struct sm_err *err, const char *operation, const char *resource, long status,
                  const struct aws_error_fields *fields) {
    char target[400];
    describe_target(target, sizeof(target), operation, resource);
    const char *code = fields->code;
    const char *message = fields->message;
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

/* The error an answered non-2xx response carries. */
static int error_from_response(const struct aws_client *c, const struct aws_request *req,
                               const struct http_response *resp, struct sm_err *err) {
    struct aws_error_fields fields = {"", ""};
    if (c->service->read_error(resp->body.data, resp->body.len, &fields) != 0) {
        /* The body could not be read for want of memory: its code is unknown, and guessing
         * from the status alone would turn a transient condition into a permanent error. */
        char target[400];
        describe_target(target, sizeof(target), req->operation, req->resource);
        sm_err_set(err, SM_ERR_NOMEM, "%s failed: HTTP %ld, and out of memory reading the error",
                   target, resp->status);
        err->http_status = resp->status;
        return -1;
    }
    if (fields.code[0] == '\0') {
        aws_error_code_copy(http_response_header(resp, "x-amzn-errortype"), fields.code,
                            sizeof(fields.code));
    }
    return aws_error_set(err, req->operation, req->resource, resp->status, &fields);
}

/* ------------------------------------------------------------------------------------------ */
/* Requests                                                                                     */

/* Full-jitter delay before the attempt after `attempt` (1-based): rand * min(2^(n-1), 20) s. */
static int64_t backoff_ms(const struct aws_client *c, int attempt) {
    double r = system_random01(c);
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

static int header_line(struct sm_buf *b, const char *name, const char *value, size_t len,
                       struct sm_err *err) {
    sm_buf_reset(b);
    if (sm_buf_append_str(b, name, err) != 0 || sm_buf_append_str(b, ": ", err) != 0 ||
        sm_buf_append(b, value, len, err) != 0) {
        return -1;
    }
    return 0;
}

static bool has_session_token(const struct aws_config *cfg) {
    return cfg->session_token != NULL && cfg->session_token[0] != '\0';
}

/* The header lines of one attempt; those that may hold the token or signature live in wiping
 * buffers. */
struct attempt_headers {
    char amz_date[SIGV4_AMZ_DATE_LEN + 1];
    char target[160]; /* "<prefix>.<Operation>"; "" for a service without X-Amz-Target */
    char host_line[AWS_HOST_MAX + 16];
    char type_line[128];
    char date_line[64];
    char target_line[192];
    char trace_line[AWS_TRACE_ID_MAX * 3 + 20];
    struct sm_buf authz, authz_line, token_line;
    const char *lines[7];
    size_t n_lines;
};

/* Signs r as sent now (the client's clock): h->amz_date, h->target and h->authz are filled. */
static int sign_attempt(const struct aws_client *c, const struct aws_request *r,
                        struct attempt_headers *h, struct sm_err *err) {
    const struct aws_config *cfg = c->cfg;
    const struct aws_service *svc = c->service;
    bool token = has_session_token(cfg);
    if (sigv4_format_amz_date(system_now_ms(c), h->amz_date, err) != 0) {
        return -1;
    }
    struct sigv4_header signed_headers[5] = {
        {sigv4_cstr("Content-Type"), sigv4_cstr(svc->content_type)},
        {sigv4_cstr("Host"), sigv4_cstr(c->endpoint.host)},
        {sigv4_cstr("X-Amz-Date"), sigv4_cstr(h->amz_date)},
    };
    size_t n_signed = 3;
    if (svc->target_prefix != NULL) {
        snprintf(h->target, sizeof(h->target), "%s.%s", svc->target_prefix, r->operation);
        signed_headers[n_signed++] =
            (struct sigv4_header){sigv4_cstr("X-Amz-Target"), sigv4_cstr(h->target)};
    }
    if (token) {
        signed_headers[n_signed++] = (struct sigv4_header){sigv4_cstr("X-Amz-Security-Token"),
                                                           sigv4_cstr(cfg->session_token)};
    }
    struct sigv4_request sreq = {
        .method = sigv4_cstr("POST"),
        .path = sigv4_cstr(c->endpoint.path),
        .headers = signed_headers,
        .n_headers = n_signed,
        .payload = {r->body, r->len},
    };
    struct sigv4_params params = {
        .access_key_id = sigv4_cstr(cfg->access_key_id),
        .secret_access_key = sigv4_cstr(cfg->secret_access_key),
        .session_token = sigv4_cstr(token ? cfg->session_token : NULL),
        .region = sigv4_cstr(cfg->region),
        .service = sigv4_cstr(svc->signing_name),
        .amz_date = sigv4_cstr(h->amz_date),
    };
    return sigv4_sign(&sreq, &params, &h->authz, err);
}

/* X-Amzn-Trace-Id from _X_AMZN_TRACE_ID (the loop sets it per invocation) inside Lambda, as the
 * SDKs' recursion detection does: percent-encoded as botocore does (alphanumerics and
 * "-_.~=;:+&[]{}\"',", kept), left out when it is not there or too long, and not signed (the
 * SDKs' signers ignore it). Returns whether out holds a header line. */
static bool trace_line(char *out, size_t cap) {
    const char *id = getenv("_X_AMZN_TRACE_ID");
    const char *fn = getenv("AWS_LAMBDA_FUNCTION_NAME");
    if (id == NULL || id[0] == '\0' || fn == NULL || fn[0] == '\0' ||
        strlen(id) > AWS_TRACE_ID_MAX) {
        return false;
    }
    static const char keep[] = "-_.~=;:+&[]{}\"',";
    size_t n = (size_t)snprintf(out, cap, "X-Amzn-Trace-Id: ");
    for (const unsigned char *p = (const unsigned char *)id; *p != '\0'; p++) {
        bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= '0' && *p <= '9') || strchr(keep, *p) != NULL;
        n += (size_t)snprintf(out + n, cap - n, plain ? "%c" : "%%%02X", *p);
    }
    return true;
}

/* Signs r (unless it is anonymous) and writes every header line of the attempt into h->lines. */
static int build_headers(const struct aws_client *c, const struct aws_request *r,
                         struct attempt_headers *h, struct sm_err *err) {
    const struct aws_config *cfg = c->cfg;
    bool token = !r->anonymous && has_session_token(cfg);
    if (!r->anonymous &&
        (sign_attempt(c, r, h, err) != 0 ||
         header_line(&h->authz_line, "Authorization", h->authz.data, h->authz.len, err) != 0 ||
         (token && header_line(&h->token_line, "X-Amz-Security-Token", cfg->session_token,
                               strlen(cfg->session_token), err) != 0))) {
        return -1;
    }
    snprintf(h->host_line, sizeof(h->host_line), "Host: %s", c->endpoint.host);
    snprintf(h->type_line, sizeof(h->type_line), "Content-Type: %s", c->service->content_type);
    h->n_lines = 0;
    h->lines[h->n_lines++] = h->host_line;
    h->lines[h->n_lines++] = h->type_line;
    if (!r->anonymous) {
        snprintf(h->date_line, sizeof(h->date_line), "X-Amz-Date: %s", h->amz_date);
        h->lines[h->n_lines++] = h->date_line;
        h->lines[h->n_lines++] = h->authz_line.data;
    }
    if (h->target[0] != '\0') {
        snprintf(h->target_line, sizeof(h->target_line), "X-Amz-Target: %s", h->target);
        h->lines[h->n_lines++] = h->target_line;
    }
    if (token) {
        h->lines[h->n_lines++] = h->token_line.data;
    }
    if (trace_line(h->trace_line, sizeof(h->trace_line))) {
        h->lines[h->n_lines++] = h->trace_line;
    }
    return 0;
}

/* One signed attempt. Returns 0 when a response arrived (any status), -1 with err set. */
static int attempt_once(struct aws_client *c, const struct aws_request *r, long timeout_ms,
                        struct http_response *resp, struct sm_err *err) {
    int result = -1;
    const struct aws_config *cfg = c->cfg;
    struct attempt_headers h;
    memset(&h, 0, sizeof(h));
    sm_buf_init(&h.authz, LIMIT_HEADER_LINE);
    sm_buf_init(&h.authz_line, LIMIT_HEADER_LINE);
    sm_buf_init(&h.token_line, LIMIT_HEADER_LINE);
    if (build_headers(c, r, &h, err) != 0) {
        goto out;
    }
    long connect_ms =
        cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : AWS_DEFAULT_CONNECT_TIMEOUT_MS;
    struct http_request req = {
        .method = "POST",
        .url = c->endpoint.url,
        .headers = h.lines,
        .n_headers = h.n_lines,
        .body = r->body,
        .body_len = r->len,
        .connect_timeout_ms = connect_ms < timeout_ms ? connect_ms : timeout_ms,
        .timeout_ms = timeout_ms,
        .ca_file = cfg->ca_file,
        .proxy = c->endpoint.https ? cfg->https_proxy : cfg->http_proxy,
        .no_proxy = cfg->no_proxy,
    };
    c->calls++;
    if (system_perform(c, &req, resp, err) != 0) {
        goto out;
    }
    result = 0;
out:
    sm_buf_clean_up(&h.authz);
    sm_buf_clean_up(&h.authz_line);
    sm_buf_clean_up(&h.token_line);
    return result;
}

int aws_send(struct aws_client *c, const struct aws_request *req, int64_t deadline_ms,
             struct http_response *resp, struct sm_err *err) {
    assert(c->service != NULL && c->cfg != NULL && req->operation != NULL);
    char what[400];
    describe_target(what, sizeof(what), req->operation, req->resource);
    int max_attempts = c->cfg->max_attempts > 0 ? c->cfg->max_attempts : AWS_DEFAULT_MAX_ATTEMPTS;
    long attempt_timeout = c->cfg->attempt_timeout_ms > 0 ? c->cfg->attempt_timeout_ms
                                                          : AWS_DEFAULT_ATTEMPT_TIMEOUT_MS;
    for (int attempt = 1;; attempt++) {
        int64_t remaining = remaining_ms(c, deadline_ms);
        if (remaining <= 0) {
            /* Only reachable on the first attempt: later ones are checked before sleeping. */
            return sm_err_set(err, SM_ERR_DEADLINE,
                              "%s not sent: the invocation deadline has passed", what);
        }
        bool capped = remaining < attempt_timeout;
        long timeout = capped ? (long)remaining : attempt_timeout;
        if (attempt_once(c, req, timeout, resp, err) == 0) {
            SM_DEBUG("%s: attempt %d, HTTP %ld", what, attempt, resp->status);
            if (resp->status >= 200 && resp->status < 300) {
                return 0;
            }
            error_from_response(c, req, resp, err);
        } else {
            SM_DEBUG("%s: attempt %d, no response (%s)", what, attempt, sm_code_name(err->code));
            if (err->code == SM_ERR_DEADLINE && capped) {
                return sm_err_set(err, SM_ERR_DEADLINE,
                                  "%s failed: the invocation deadline was reached during "
                                  "attempt %d",
                                  what, attempt);
            }
            if (err->code == SM_ERR_DEADLINE) { /* the attempt's own timeout: transient */
                err->code = SM_ERR_TRANSPORT;
            } else if (err->code == SM_ERR_TOO_LARGE) {
                err->code = SM_ERR_PROTOCOL;
            }
            sm_err_prefix(err, "%s failed", what);
        }
        if (!sm_code_is_transient(err->code)) {
            return -1;
        }
        if (attempt >= max_attempts) {
            if (attempt > 1) {
                size_t n = strlen(err->msg);
                snprintf(err->msg + n, sizeof(err->msg) - n, " (after %d attempts)", attempt);
            }
            return -1;
        }
        int64_t delay = backoff_ms(c, attempt);
        remaining = remaining_ms(c, deadline_ms);
        if (delay >= remaining) {
            size_t n = strlen(err->msg);
            snprintf(err->msg + n, sizeof(err->msg) - n,
                     " (retries cut short by the invocation deadline after %d attempt%s: %lld ms "
                     "left, next retry due in %lld ms)",
                     attempt, attempt == 1 ? "" : "s", (long long)remaining, (long long)delay);
            return -1;
        }
        SM_DEBUG("%s: retrying in %lld ms (%s)", what, (long long)delay, sm_err_type(err));
        system_sleep_ms(c, delay);
    }
}
