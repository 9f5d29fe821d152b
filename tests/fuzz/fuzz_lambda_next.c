/*
 * Fuzz target: the handling of a Runtime API `GET /runtime/invocation/next` response.
 *
 * Input: the response's header block as libcurl hands it over, one line per '\n' (a status line
 * "HTTP/1.1 200 OK\r\n" starts a new block), then a blank line, then the body (the event). The
 * lines go through http_response_add_header_line (runtime/http.c), then the checks of
 * lambda_api.c's loop run on what http_response_header returns: lambda_valid_request_id,
 * lambda_parse_deadline, lambda_valid_header_value; the body and a message built from it go through
 * lambda_utf8_sanitize, lambda_error_body and lambda_error_type_header_value, as for an error post.
 *
 * Invariants: the stored headers stay well-formed "name\0value\0" pairs with lower-case names
 * and trimmed values; a request id that passes is 1..256 unreserved characters; a deadline that
 * parses is all digits; an accepted invocation id has no control character; the sanitised text
 * is valid UTF-8 and equals the input when that was valid UTF-8 already; the error body is JSON
 * with exactly errorMessage, errorType and an empty stackTrace; the error-type header value holds
 * only [A-Za-z0-9.]. No crash, no leak.
 */
#include "fuzz_common.h"
#include "http_testing.h"
#include "lambda_api_testing.h"

#include <cjson/cJSON.h>
#include <stdbool.h>

FUZZ_INIT_HOOKS()

/* Length of the valid UTF-8 sequence at s, or 0 (RFC 3629, no surrogates or overlongs). */
static size_t utf8_len(const unsigned char *s, size_t n) {
    if (s[0] < 0x80) {
        return 1;
    }
    size_t need;
    unsigned lo = 0x80, hi = 0xbf;
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        need = 1;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        need = 2;
        lo = s[0] == 0xe0 ? 0xa0 : 0x80;
        hi = s[0] == 0xed ? 0x9f : 0xbf;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        need = 3;
        lo = s[0] == 0xf0 ? 0x90 : 0x80;
        hi = s[0] == 0xf4 ? 0x8f : 0xbf;
    } else {
        return 0;
    }
    if (n < need + 1 || s[1] < lo || s[1] > hi) {
        return 0;
    }
    for (size_t k = 2; k <= need; k++) {
        if (s[k] < 0x80 || s[k] > 0xbf) {
            return 0;
        }
    }
    return need + 1;
}

static bool valid_utf8(const char *p, size_t n) {
    const unsigned char *s = (const unsigned char *)p;
    for (size_t i = 0; i < n;) {
        size_t k = utf8_len(s + i, n - i);
        if (k == 0) {
            return false;
        }
        i += k;
    }
    return true;
}

static void check_headers(const struct http_response *resp) {
    const struct sm_buf *h = &resp->headers;
    size_t i = 0;
    FUZZ_CHECK(h->data == NULL || h->data[h->len] == '\0');
    while (i < h->len) {
        const char *name = h->data + i;
        size_t nn = strlen(name);
        FUZZ_CHECK(nn > 0 && i + nn + 1 < h->len + 1);
        for (size_t k = 0; k < nn; k++) {
            FUZZ_CHECK(!(name[k] >= 'A' && name[k] <= 'Z'));
        }
        const char *value = name + nn + 1;
        FUZZ_CHECK(value < h->data + h->len); /* every name has its value */
        size_t vn = strlen(value);
        if (vn > 0) {
            FUZZ_CHECK(value[0] != ' ' && value[0] != '\t');
            char last = value[vn - 1];
            FUZZ_CHECK(last != ' ' && last != '\t' && last != '\r' && last != '\n');
        }
        i += nn + 1 + vn + 1;
        FUZZ_CHECK(i <= h->len);
        /* Lookup by any case finds this name's first value. */
        FUZZ_CHECK(http_response_header(resp, name) != NULL);
    }
}

static void check_invocation(const struct http_response *resp) {
    const char *id = http_response_header(resp, "Lambda-Runtime-Aws-Request-Id");
    if (lambda_valid_request_id(id)) {
        size_t n = strlen(id);
        FUZZ_CHECK(n >= 1 && n <= LAMBDA_ID_MAX);
        FUZZ_CHECK(
            strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~") == n);
    }
    int64_t deadline = -1;
    const char *d = http_response_header(resp, "lambda-runtime-deadline-ms");
    if (lambda_parse_deadline(d, &deadline)) {
        FUZZ_CHECK(deadline >= 0 && strspn(d, "0123456789") == strlen(d));
    } else {
        FUZZ_CHECK(deadline == -1);
    }
    const char *inv = http_response_header(resp, "LAMBDA-RUNTIME-INVOCATION-ID");
    if (lambda_valid_header_value(inv)) {
        for (const char *p = inv; *p != '\0'; p++) {
            FUZZ_CHECK((unsigned char)*p >= 0x20 && (unsigned char)*p <= 0x7e);
        }
    }
}

static void check_error_post(const char *body, size_t len) {
    struct sm_buf clean, ebody;
    struct sm_err err, cause;
    sm_buf_init(&clean, 4 * len + 16);
    sm_buf_init(&ebody, SM_LIMIT_RESPONSE);
    FUZZ_CHECK(lambda_utf8_sanitize(body, len, &clean, &err) == 0);
    FUZZ_CHECK(valid_utf8(clean.data != NULL ? clean.data : "", clean.len));
    if (valid_utf8(body, len)) {
        FUZZ_CHECK(clean.len == len && (len == 0 || memcmp(clean.data, body, len) == 0));
    }
    /* An error whose message and AWS type come from the untrusted bytes. */
    sm_err_clear(&cause);
    cause.code = SM_ERR_AWS_CLIENT;
    size_t m = len < sizeof(cause.msg) - 1 ? len : sizeof(cause.msg) - 1;
    memcpy(cause.msg, body, m);
    cause.msg[m] = '\0';
    size_t t = len < sizeof(cause.aws_type) - 1 ? len : sizeof(cause.aws_type) - 1;
    memcpy(cause.aws_type, body, t);
    cause.aws_type[t] = '\0';
    FUZZ_CHECK(lambda_error_body(&cause, &ebody, &err) == 0);
    cJSON *doc = cJSON_ParseWithLength(ebody.data, ebody.len);
    FUZZ_CHECK(cJSON_IsObject(doc) && cJSON_GetArraySize(doc) == 3);
    FUZZ_CHECK(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(doc, "errorMessage")));
    FUZZ_CHECK(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(doc, "errorType")));
    const cJSON *trace = cJSON_GetObjectItemCaseSensitive(doc, "stackTrace");
    FUZZ_CHECK(cJSON_IsArray(trace) && cJSON_GetArraySize(trace) == 0);
    cJSON_Delete(doc);
    char type[128];
    lambda_error_type_header_value("Function", &cause, type, sizeof(type));
    FUZZ_CHECK(strncmp(type, "Function.", 9) == 0 && type[9] != '\0');
    FUZZ_CHECK(strspn(type + 9, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") ==
               strlen(type + 9));
    sm_buf_clean_up(&clean);
    sm_buf_clean_up(&ebody);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int64_t live = sm_mem_live_count();
    char *text = fuzz_copy(data, size, 0);
    struct http_response resp;
    struct sm_err err;
    http_response_init(&resp, LAMBDA_EVENT_MAX);
    size_t i = 0;
    const char *body = text + size;
    while (i < size) {
        const char *nl = memchr(text + i, '\n', size - i);
        size_t n = nl != NULL ? (size_t)(nl - (text + i)) + 1 : size - i;
        /* A blank line ("\n" or "\r\n") ends the header block. */
        if (n == 1 || (n == 2 && text[i] == '\r')) {
            body = text + i + n;
            break;
        }
        /* libcurl hands over each line with its terminator; the copy lets ASan see overreads. */
        char *line = fuzz_copy((const uint8_t *)text + i, n, 0);
        int rc = http_response_add_header_line(&resp, line, n, &err);
        FUZZ_CHECK(rc == 0 || err.code == SM_ERR_TOO_LARGE || err.code == SM_ERR_NOMEM);
        free(line);
        i += n;
    }
    check_headers(&resp);
    check_invocation(&resp);
    check_error_post(body, (size_t)(text + size - body));
    http_response_clean_up(&resp);
    free(text);
    FUZZ_CHECK(sm_mem_live_count() == live);
    return 0;
}
