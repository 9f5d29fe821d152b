#include "lambda_api.h"
#include "lambda_api_testing.h"

#include "clock.h"
#include "json.h"
#include "log.h"
#include "mem.h"
#include "str.h"

#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RUNTIME_API_MAX 255
#define POST_REPLY_MAX (64u * 1024u) /* what we keep of a reply to a post */
#define ERROR_BODY_MAX (64u * 1024u) /* an error body: message <= SM_ERR_MSG_MAX, escaped */
#define HEADER_LINE_MAX (LAMBDA_ID_MAX + 64)
#define TRIM_ABOVE (256u * 1024u) /* loop buffers larger than this are freed after use */

/* Used when even the error body cannot be built (out of memory). */
static const char s_oom_body[] =
    "{\"errorMessage\":\"out of memory\",\"errorType\":\"OutOfMemory\",\"stackTrace\":[]}";

/* ------------------------------------------------------------------------------------------ */
/* Helpers                                                                                    */

bool lambda_parse_deadline(const char *value, int64_t *out) {
    if (value == NULL) {
        return false;
    }
    size_t n = strlen(value);
    if (n == 0 || n > 18) {
        return false;
    }
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (value[i] < '0' || value[i] > '9') {
            return false;
        }
        v = v * 10 + (value[i] - '0');
    }
    *out = v;
    return true;
}

bool lambda_valid_request_id(const char *s) {
    if (s == NULL) {
        return false;
    }
    size_t n = strlen(s);
    if (n == 0 || n > LAMBDA_ID_MAX) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!sm_is_unreserved((unsigned char)s[i])) {
            return false;
        }
    }
    return true;
}

bool lambda_valid_header_value(const char *s) {
    if (s == NULL) {
        return false;
    }
    size_t n = strlen(s);
    if (n == 0 || n > LAMBDA_ID_MAX) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20 || ch > 0x7e) {
            return false;
        }
    }
    return true;
}

int lambda_utf8_sanitize(const char *s, size_t len, struct sm_buf *out, struct sm_err *err) {
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        /* Copy the longest valid run in one append. */
        size_t start = i;
        size_t bad = 0;
        size_t n;
        while (i < len && (n = sm_utf8_seq((const unsigned char *)p + i, len - i, &bad)) != 0) {
            i += n;
        }
        if (i > start && sm_buf_append(out, s + start, i - start, err) != 0) {
            return -1;
        }
        if (i < len) {
            if (sm_buf_append(out, "\xef\xbf\xbd", 3, err) != 0) {
                return -1;
            }
            i += bad;
        }
    }
    return sm_buf_ensure(out, err);
}

int lambda_error_body(const struct sm_err *cause, struct sm_buf *out, struct sm_err *err) {
    int result = -1;
    cJSON *root = NULL;
    struct sm_buf msg, type;
    sm_buf_init(&msg, 4 * SM_ERR_MSG_MAX);
    sm_buf_init(&type, 4 * SM_ERR_TYPE_MAX + 64);

    const char *t = sm_err_type(cause);
    if (lambda_utf8_sanitize(cause->msg, strnlen(cause->msg, sizeof(cause->msg)), &msg, err) != 0 ||
        lambda_utf8_sanitize(t, strlen(t), &type, err) != 0) {
        goto out;
    }
    root = cJSON_CreateObject();
    if (root == NULL || cJSON_AddStringToObject(root, "errorMessage", msg.data) == NULL ||
        cJSON_AddStringToObject(root, "errorType", type.data) == NULL ||
        cJSON_AddArrayToObject(root, "stackTrace") == NULL) {
        sm_err_set(err, SM_ERR_NOMEM, "out of memory building the error body");
        goto out;
    }
    if (sm_json_print(root, out, err) != 0) {
        goto out;
    }
    result = 0;
out:
    cJSON_Delete(root);
    sm_buf_clean_up(&msg);
    sm_buf_clean_up(&type);
    return result;
}

void lambda_error_type_header_value(const char *category, const struct sm_err *cause, char *out,
                                    size_t cap) {
    if (cap == 0) {
        return;
    }
    int n = snprintf(out, cap, "%s.", category);
    if (n < 0 || (size_t)n >= cap) {
        out[cap - 1] = '\0';
        return;
    }
    size_t o = (size_t)n;
    size_t kept = 0;
    for (const char *t = sm_err_type(cause); *t != '\0' && o + 1 < cap; t++) {
        char ch = *t;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')) {
            out[o++] = ch;
            kept++;
        }
    }
    out[o] = '\0';
    if (kept == 0) {
        snprintf(out + n, cap - (size_t)n, "Unknown");
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Client                                                                                     */

int lambda_client_init(struct lambda_client *c, const char *runtime_api, struct http_client *http,
                       struct sm_err *err) {
    memset(c, 0, sizeof(*c));
    c->http = http;
    c->connect_timeout_ms = 1000;
    signal(SIGPIPE, SIG_IGN);
    if (runtime_api == NULL || runtime_api[0] == '\0') {
        return sm_err_set(err, SM_ERR_CONFIG, "AWS_LAMBDA_RUNTIME_API is not set");
    }
    size_t n = strlen(runtime_api);
    if (n > RUNTIME_API_MAX) {
        return sm_err_set(err, SM_ERR_CONFIG, "AWS_LAMBDA_RUNTIME_API is longer than %d bytes",
                          RUNTIME_API_MAX);
    }
    for (size_t i = 0; i < n; i++) {
        char ch = runtime_api[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == '_' || ch == ':' ||
                  ch == '[' || ch == ']';
        if (!ok) {
            return sm_err_set(err, SM_ERR_CONFIG,
                              "AWS_LAMBDA_RUNTIME_API must be host:port, found byte 0x%02x at "
                              "offset %zu",
                              (unsigned)(unsigned char)ch, i);
        }
    }
    snprintf(c->base, sizeof(c->base), "http://%s/2018-06-01", runtime_api);
    return 0;
}

/* Summarises a Runtime API error reply ({"errorType","errorMessage"}) into out for a log line. */
static void describe_reply(const struct http_response *resp, char *out, size_t cap) {
    snprintf(out, cap, "no error body");
    if (resp->body.len == 0) {
        return;
    }
    cJSON *j = sm_json_parse(resp->body.data, resp->body.len, SM_ERR_PROTOCOL, "reply", NULL);
    const char *type = j != NULL ? sm_json_string(j, "errorType") : NULL;
    const char *msg = j != NULL ? sm_json_string(j, "errorMessage") : NULL;
    if (type != NULL || msg != NULL) {
        snprintf(out, cap, "%.80s: %.200s", type != NULL ? type : "-", msg != NULL ? msg : "-");
    } else {
        snprintf(out, cap, "%zu-byte body", resp->body.len);
    }
    cJSON_Delete(j);
}

struct loop {
    struct lambda_client *c;
    lambda_handler_fn *handler;
    void *ctx;
    struct http_response next;
    struct http_response post;
    struct sm_buf out;
    struct sm_buf errbody;
    int failures; /* consecutive failed /next calls */
};

enum step { STEP_CONTINUE, STEP_EXIT };

/* Posts the outcome of one invocation: response (fail == NULL) or error (fail set). */
static enum step post_result(struct loop *l, const char *request_id, const char *invocation_id,
                             const struct sm_err *fail) {
    struct sm_err err;
    sm_err_clear(&err);
    char url[LAMBDA_URL_MAX];
    char type_line[HEADER_LINE_MAX];
    char inv_line[HEADER_LINE_MAX];
    const char *headers[3];
    size_t n_headers = 0;
    const char *body;
    size_t body_len;
    const char *kind = fail == NULL ? "response" : "error";

    headers[n_headers++] = "Content-Type: application/json";
    if (fail == NULL) {
        if (l->out.len == 0) {
            body = "null";
            body_len = 4;
        } else {
            body = l->out.data;
            body_len = l->out.len;
        }
    } else {
        char type[SM_ERR_TYPE_MAX + 16];
        lambda_error_type_header_value("Function", fail, type, sizeof(type));
        snprintf(type_line, sizeof(type_line), "Lambda-Runtime-Function-Error-Type: %s", type);
        headers[n_headers++] = type_line;
        if (lambda_error_body(fail, &l->errbody, &err) == 0) {
            body = l->errbody.data;
            body_len = l->errbody.len;
        } else {
            body = s_oom_body;
            body_len = sizeof(s_oom_body) - 1;
        }
    }
    if (invocation_id != NULL) {
        snprintf(inv_line, sizeof(inv_line), "Lambda-Runtime-Invocation-Id: %s", invocation_id);
        headers[n_headers++] = inv_line;
    }
    snprintf(url, sizeof(url), "%s/runtime/invocation/%s/%s", l->c->base, request_id, kind);

    struct http_request req = {
        .method = "POST",
        .url = url,
        .headers = headers,
        .n_headers = n_headers,
        .body = body,
        .body_len = body_len,
        .connect_timeout_ms = l->c->connect_timeout_ms,
        .timeout_ms = 0,
    };
    int rc = http_perform(l->c->http, &req, &l->post, &err);
    sm_buf_reset(&l->out);
    if (rc != 0) {
        SM_ERROR("posting the %s failed: %s", kind, err.msg);
        return STEP_EXIT;
    }
    char why[320];
    switch (l->post.status) {
    case 202:
        SM_DEBUG("%s posted (%zu bytes)", kind, body_len);
        return STEP_CONTINUE;
    case 400:
    case 410:
    case 413:
        describe_reply(&l->post, why, sizeof(why));
        SM_WARN("Lambda answered %ld to the %s post (%s); polling for the next invocation",
                l->post.status, kind, why);
        return STEP_CONTINUE;
    default:
        describe_reply(&l->post, why, sizeof(why));
        SM_ERROR("Lambda answered %ld to the %s post (%s); exiting", l->post.status, kind, why);
        return STEP_EXIT;
    }
}

/* Counts a failed /next; returns STEP_EXIT when the budget is spent. */
static enum step next_failed(struct loop *l, const char *what) {
    l->failures++;
    if (l->failures >= LAMBDA_MAX_NEXT_FAILURES) {
        SM_ERROR("GET /runtime/invocation/next failed %d times in a row (last: %s); exiting",
                 l->failures, what);
        return STEP_EXIT;
    }
    SM_WARN("GET /runtime/invocation/next failed (%s); retrying (%d of %d)", what, l->failures,
            LAMBDA_MAX_NEXT_FAILURES - 1);
    sm_sleep_ms((int64_t)(l->failures - 1) * 50);
    return STEP_CONTINUE;
}

/* Logs an invocation failure; the message is made valid UTF-8 first (JSON log lines). */
static void log_failure(const struct sm_err *fail) {
    struct sm_buf msg;
    struct sm_err err;
    sm_buf_init(&msg, 4 * SM_ERR_MSG_MAX);
    bool ok =
        lambda_utf8_sanitize(fail->msg, strnlen(fail->msg, sizeof(fail->msg)), &msg, &err) == 0;
    SM_ERROR("invocation failed: %s: %s", sm_err_type(fail), ok ? msg.data : fail->msg);
    sm_buf_clean_up(&msg);
}

static void set_trace_env(const char *trace_id) {
    if (trace_id != NULL) {
        if (setenv("_X_AMZN_TRACE_ID", trace_id, 1) != 0) {
            SM_WARN("could not set _X_AMZN_TRACE_ID");
            unsetenv("_X_AMZN_TRACE_ID");
        }
    } else {
        unsetenv("_X_AMZN_TRACE_ID");
    }
}

/* Gives a large buffer's memory back (wiped) after an unusually big event or response, so one
 * 6 MB invocation does not pin 6 MB for the environment's lifetime. */
static void trim(struct sm_buf *b) {
    if (b->cap > TRIM_ABOVE) {
        sm_buf_clean_up(b);
    }
}

enum next { NEXT_EVENT, NEXT_EVENT_LOST, NEXT_AGAIN, NEXT_EXIT };

/* GET /next into l->next. NEXT_EVENT: an invocation with a valid request id arrived;
 * NEXT_EVENT_LOST: its headers arrived but not its body (fail says why); NEXT_AGAIN: a failure
 * within the retry budget; NEXT_EXIT: stop the loop. */
static enum next fetch_next(struct loop *l, struct sm_err *fail) {
    struct sm_err err;
    sm_err_clear(&err);
    char url[LAMBDA_URL_MAX];
    snprintf(url, sizeof(url), "%s/runtime/invocation/next", l->c->base);
    struct http_request req = {
        .method = "GET",
        .url = url,
        .connect_timeout_ms = l->c->connect_timeout_ms,
        .timeout_ms = 0, /* never: the process may be frozen while waiting */
    };
    int rc = http_perform(l->c->http, &req, &l->next, &err);
    const char *request_id = http_response_header(&l->next, "Lambda-Runtime-Aws-Request-Id");
    enum next got = NEXT_EVENT;
    if (rc != 0) {
        /* Headers arrive before the body: when only the body could not be kept, the invocation
         * is known and can be failed properly. */
        if (err.code == SM_ERR_TOO_LARGE && lambda_valid_request_id(request_id)) {
            sm_err_set(fail, SM_ERR_TOO_LARGE, "the event exceeds the %u-byte limit",
                       (unsigned)LAMBDA_EVENT_MAX);
            got = NEXT_EVENT_LOST;
        } else if (err.code == SM_ERR_NOMEM && lambda_valid_request_id(request_id)) {
            sm_err_set(fail, SM_ERR_NOMEM, "out of memory receiving the event");
            got = NEXT_EVENT_LOST;
        } else {
            return next_failed(l, err.msg) == STEP_EXIT ? NEXT_EXIT : NEXT_AGAIN;
        }
    } else if (l->next.status != 200) {
        char why[320];
        describe_reply(&l->next, why, sizeof(why));
        if (l->next.status == 403 || l->next.status == 500) {
            SM_ERROR("Lambda answered %ld to GET /runtime/invocation/next (%s); exiting",
                     l->next.status, why);
            return NEXT_EXIT;
        }
        char what[400];
        snprintf(what, sizeof(what), "status %ld: %s", l->next.status, why);
        return next_failed(l, what) == STEP_EXIT ? NEXT_EXIT : NEXT_AGAIN;
    }
    l->failures = 0;
    if (!lambda_valid_request_id(request_id)) {
        SM_ERROR("the Runtime API sent an invocation without a valid "
                 "Lambda-Runtime-Aws-Request-Id; nothing can be posted for it; exiting");
        return NEXT_EXIT;
    }
    return got;
}

/* The invocation l->next holds, as the handler sees it; sets the trace variable. */
static struct lambda_invocation read_invocation(const struct loop *l, bool event_lost) {
    const struct http_response *n = &l->next;
    struct lambda_invocation inv = {
        .request_id = http_response_header(n, "Lambda-Runtime-Aws-Request-Id"),
        .function_arn = http_response_header(n, "Lambda-Runtime-Invoked-Function-Arn"),
        .trace_id = http_response_header(n, "Lambda-Runtime-Trace-Id"),
        .invocation_id = http_response_header(n, "Lambda-Runtime-Invocation-Id"),
        .tenant_id = http_response_header(n, "Lambda-Runtime-Aws-Tenant-Id"),
        .payload = event_lost ? "" : n->body.data,
        .payload_len = event_lost ? 0 : n->body.len,
    };
    const char *deadline = http_response_header(n, "Lambda-Runtime-Deadline-Ms");
    if (deadline != NULL && !lambda_parse_deadline(deadline, &inv.deadline_ms)) {
        SM_WARN("ignoring a malformed Lambda-Runtime-Deadline-Ms");
    }
    if (inv.invocation_id != NULL && !lambda_valid_header_value(inv.invocation_id)) {
        SM_WARN("ignoring a malformed Lambda-Runtime-Invocation-Id");
        inv.invocation_id = NULL;
    }
    set_trace_env(inv.trace_id);
    return inv;
}

/* Runs the handler into l->out. Returns 0, or -1 with fail set (and logged). */
static int run_handler(struct loop *l, const struct lambda_invocation *inv, struct sm_err *fail) {
    SM_DEBUG("invocation received: %zu-byte event, %lld ms left", inv->payload_len,
             inv->deadline_ms != 0 ? (long long)sm_remaining_ms(inv->deadline_ms) : -1LL);
    sm_buf_reset(&l->out);
    l->out.max = SM_LIMIT_RESPONSE;
    int rc = l->handler(l->ctx, inv, &l->out, fail);
    if (rc == 0 && l->out.len > SM_LIMIT_RESPONSE) {
        sm_err_set(fail, SM_ERR_TOO_LARGE, "the response of %zu bytes exceeds the %u-byte limit",
                   l->out.len, (unsigned)SM_LIMIT_RESPONSE);
        rc = -1;
    }
    if (rc != 0) {
        if (fail->code == SM_ERR_OK) {
            sm_err_set(fail, SM_ERR_INTERNAL, "the handler failed without saying why");
        }
        log_failure(fail);
    }
    return rc;
}

/* One turn of the loop; *handled counts the invocations that arrived. */
static enum step one_invocation(struct loop *l, uint64_t *handled) {
    struct sm_err fail;
    sm_err_clear(&fail);
    enum next got = fetch_next(l, &fail);
    if (got == NEXT_AGAIN || got == NEXT_EXIT) {
        return got == NEXT_EXIT ? STEP_EXIT : STEP_CONTINUE;
    }
    struct lambda_invocation inv = read_invocation(l, got == NEXT_EVENT_LOST);
    sm_log_set_request_id(inv.request_id);
    (*handled)++;
    int rc = -1;
    if (got == NEXT_EVENT_LOST) {
        log_failure(&fail);
    } else {
        rc = run_handler(l, &inv, &fail);
    }
    enum step s = post_result(l, inv.request_id, inv.invocation_id, rc == 0 ? NULL : &fail);
    sm_log_set_request_id(NULL);
    sm_buf_reset(&l->errbody);
    trim(&l->next.body);
    trim(&l->out);
    return s;
}

int lambda_run_bounded(struct lambda_client *c, lambda_handler_fn *handler, void *ctx,
                       uint64_t max_invocations) {
    int code = 1;
    struct loop l = {.c = c, .handler = handler, .ctx = ctx};
    http_response_init(&l.next, LAMBDA_EVENT_MAX);
    http_response_init(&l.post, POST_REPLY_MAX);
    sm_buf_init(&l.out, SM_LIMIT_RESPONSE);
    sm_buf_init(&l.errbody, ERROR_BODY_MAX);

    const char *conc = getenv("AWS_LAMBDA_MAX_CONCURRENCY");
    if (conc != NULL && conc[0] != '\0' && strcmp(conc, "1") != 0) {
        SM_WARN("AWS_LAMBDA_MAX_CONCURRENCY=%.16s: this runtime handles one invocation at a time",
                conc);
    }
    uint64_t handled = 0;
    for (;;) {
        if (max_invocations != 0 && handled >= max_invocations) {
            SM_DEBUG("handled %llu invocations; stopping as asked", (unsigned long long)handled);
            code = 0;
            break;
        }
        if (one_invocation(&l, &handled) == STEP_EXIT) {
            break;
        }
    }
    http_response_clean_up(&l.next);
    http_response_clean_up(&l.post);
    sm_buf_clean_up(&l.out);
    sm_buf_clean_up(&l.errbody);
    return code;
}

int lambda_run(struct lambda_client *c, lambda_handler_fn *handler, void *ctx) {
    return lambda_run_bounded(c, handler, ctx, 0);
}

int lambda_post_init_error(struct lambda_client *c, const struct sm_err *cause,
                           struct sm_err *err) {
    int result = -1;
    struct sm_buf body;
    struct http_response resp;
    sm_buf_init(&body, ERROR_BODY_MAX);
    http_response_init(&resp, POST_REPLY_MAX);
    char url[LAMBDA_URL_MAX];
    char type[SM_ERR_TYPE_MAX + 16];
    char type_line[HEADER_LINE_MAX];

    lambda_error_type_header_value("Runtime", cause, type, sizeof(type));
    snprintf(type_line, sizeof(type_line), "Lambda-Runtime-Function-Error-Type: %s", type);
    snprintf(url, sizeof(url), "%s/runtime/init/error", c->base);
    const char *headers[] = {"Content-Type: application/json", type_line};
    const char *data = s_oom_body;
    size_t len = sizeof(s_oom_body) - 1;
    struct sm_err berr;
    if (lambda_error_body(cause, &body, &berr) == 0) {
        data = body.data;
        len = body.len;
    }
    struct http_request req = {
        .method = "POST",
        .url = url,
        .headers = headers,
        .n_headers = 2,
        .body = data,
        .body_len = len,
        .connect_timeout_ms = c->connect_timeout_ms,
        .timeout_ms = 0,
    };
    if (http_perform(c->http, &req, &resp, err) != 0) {
        goto out;
    }
    if (resp.status != 202) {
        char why[320];
        describe_reply(&resp, why, sizeof(why));
        sm_err_set(err, SM_ERR_RUNTIME_API, "Lambda answered %ld to the init error post (%s)",
                   resp.status, why);
        goto out;
    }
    result = 0;
out:
    sm_buf_clean_up(&body);
    http_response_clean_up(&resp);
    return result;
}
