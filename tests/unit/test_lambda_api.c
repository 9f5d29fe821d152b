/* Unit tests of the Runtime API client's protocol helpers (runtime/lambda_api.h). The loop
 * itself is tested end to end in tests/runtime/test_runtime_api.py. */
#include "buf.h"
#include "err.h"
#include "harness.h"
#include "http.h"
#include "json.h"
#include "lambda_api_testing.h"
#include "mem.h"

static void sanitize(const char *in, size_t len, struct sm_buf *out) {
    struct sm_err err;
    sm_buf_reset(out);
    SM_ASSERT_OK(lambda_utf8_sanitize(in, len, out, &err), err);
}

#define FFFD "\xef\xbf\xbd"

SM_TEST(runtime_utf8_sanitize_keeps_valid_and_replaces_invalid_bytes) {
    struct sm_buf out;
    sm_buf_init(&out, 4096);
    /* Valid text, including 2-, 3- and 4-byte sequences and control characters, is kept. */
    const char valid[] =
        "plain \x01\t\n h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf";
    sanitize(valid, sizeof(valid) - 1, &out);
    SM_ASSERT_STR_EQ(out.data, valid);
    /* Each maximal invalid subpart becomes one U+FFFD (as Python's decoder does). */
    struct {
        const char *in;
        const char *want;
    } cases[] = {
        {"a\xff"
         "b",
         "a" FFFD "b"},
        {"\x80\xbf", FFFD FFFD},                   /* stray continuation bytes */
        {"\xc0\xaf", FFFD FFFD},                   /* overlong '/' */
        {"\xe0\x80\xaf", FFFD FFFD FFFD},          /* overlong 3-byte */
        {"\xed\xa0\x80", FFFD FFFD FFFD},          /* UTF-16 surrogate */
        {"\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD}, /* past U+10FFFF */
        {"\xe2\x82x", FFFD "x"},                   /* truncated, then ASCII */
        {"\xf0\x9f\x98", FFFD},                    /* truncated at the end */
        {"\xc3", FFFD},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sanitize(cases[i].in, strlen(cases[i].in), &out);
        SM_ASSERT_STR_EQ(out.data, cases[i].want);
    }
    sm_buf_clean_up(&out);
}

SM_TEST(runtime_error_body_is_valid_json_with_escaped_control_chars) {
    struct sm_err cause, err;
    struct sm_buf body;
    sm_buf_init(&body, 64 * 1024);
    sm_err_set(&cause, SM_ERR_TRANSPORT, "bad \"quote\" \\ \x01\x1f\n\xff end");
    SM_ASSERT_OK(lambda_error_body(&cause, &body, &err), err);
    cJSON *j = sm_json_parse(body.data, body.len, SM_ERR_PROTOCOL, "error body", &err);
    SM_ASSERT(j != NULL);
    SM_ASSERT_STR_EQ(sm_json_string(j, "errorType"), "TransportError");
    SM_ASSERT_STR_EQ(sm_json_string(j, "errorMessage"), "bad \"quote\" \\ \x01\x1f\n" FFFD " end");
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "stackTrace");
    SM_ASSERT(cJSON_IsArray(st));
    SM_ASSERT_INT_EQ(cJSON_GetArraySize(st), 0);
    /* Raw control bytes never appear in the JSON text itself. */
    for (size_t i = 0; i < body.len; i++) {
        SM_ASSERT((unsigned char)body.data[i] >= 0x20);
    }
    cJSON_Delete(j);

    /* An AWS error code wins over the catalogue name. */
    sm_err_set(&cause, SM_ERR_AWS_CLIENT, "no such secret");
    snprintf(cause.aws_type, sizeof(cause.aws_type), "ResourceNotFoundException");
    SM_ASSERT_OK(lambda_error_body(&cause, &body, &err), err);
    SM_ASSERT_STR_CONTAINS(body.data, "\"errorType\":\"ResourceNotFoundException\"");
    sm_buf_clean_up(&body);
}

SM_TEST(runtime_error_type_header_keeps_letters_and_digits) {
    struct sm_err cause;
    char out[64];
    sm_err_set(&cause, SM_ERR_AWS_THROTTLED, "x");
    lambda_error_type_header_value("Function", &cause, out, sizeof(out));
    SM_ASSERT_STR_EQ(out, "Function.Throttling");
    lambda_error_type_header_value("Runtime", &cause, out, sizeof(out));
    SM_ASSERT_STR_EQ(out, "Runtime.Throttling");
    snprintf(cause.aws_type, sizeof(cause.aws_type), "Bad Type\r\nX-Injected: 1");
    lambda_error_type_header_value("Function", &cause, out, sizeof(out));
    SM_ASSERT_STR_EQ(out, "Function.BadTypeXInjected1");
    snprintf(cause.aws_type, sizeof(cause.aws_type), "\xc3\xa9--");
    lambda_error_type_header_value("Function", &cause, out, sizeof(out));
    SM_ASSERT_STR_EQ(out, "Function.Unknown");
    char tiny[12];
    sm_err_set(&cause, SM_ERR_AWS_THROTTLED, "x");
    lambda_error_type_header_value("Function", &cause, tiny, sizeof(tiny));
    SM_ASSERT_STR_EQ(tiny, "Function.Th");
}

SM_TEST(runtime_deadline_parse_accepts_digits_only) {
    int64_t v = 7;
    SM_ASSERT(lambda_parse_deadline("1542409706888", &v));
    SM_ASSERT_INT_EQ(v, 1542409706888LL);
    v = 7;
    SM_ASSERT(!lambda_parse_deadline(NULL, &v));
    SM_ASSERT(!lambda_parse_deadline("", &v));
    SM_ASSERT(!lambda_parse_deadline("-1", &v));
    SM_ASSERT(!lambda_parse_deadline("12a", &v));
    SM_ASSERT(!lambda_parse_deadline(" 12", &v));
    SM_ASSERT(!lambda_parse_deadline("1234567890123456789", &v)); /* 19 digits: could overflow */
    SM_ASSERT_INT_EQ(v, 7);
}

SM_TEST(runtime_request_id_validation_rejects_path_characters) {
    SM_ASSERT(lambda_valid_request_id("8476a536-e9f4-11e8-9739-2dfe598c3fcd"));
    SM_ASSERT(lambda_valid_request_id("a.b_c~d"));
    SM_ASSERT(!lambda_valid_request_id(NULL));
    SM_ASSERT(!lambda_valid_request_id(""));
    SM_ASSERT(!lambda_valid_request_id("../../init/error"));
    SM_ASSERT(!lambda_valid_request_id("a b"));
    SM_ASSERT(!lambda_valid_request_id("a?x=1"));
    SM_ASSERT(!lambda_valid_request_id("a\r\nb"));
    char long_id[LAMBDA_ID_MAX + 2];
    memset(long_id, 'a', sizeof(long_id) - 1);
    long_id[sizeof(long_id) - 1] = '\0';
    SM_ASSERT(!lambda_valid_request_id(long_id));
    long_id[LAMBDA_ID_MAX] = '\0';
    SM_ASSERT(lambda_valid_request_id(long_id));
}

SM_TEST(runtime_header_value_validation_rejects_crlf) {
    SM_ASSERT(lambda_valid_header_value("Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Sampled=1"));
    SM_ASSERT(!lambda_valid_header_value("a\r\nX-Evil: 1"));
    SM_ASSERT(!lambda_valid_header_value("tab\there"));
    SM_ASSERT(!lambda_valid_header_value("caf\xc3\xa9"));
    SM_ASSERT(!lambda_valid_header_value(""));
    SM_ASSERT(!lambda_valid_header_value(NULL));
}

SM_TEST(runtime_client_init_rejects_bad_runtime_api) {
    struct lambda_client c;
    struct http_client http = {0};
    struct sm_err err;
    SM_ASSERT_OK(lambda_client_init(&c, "127.0.0.1:9001", &http, &err), err);
    SM_ASSERT_STR_EQ(c.base, "http://127.0.0.1:9001/2018-06-01");
    SM_ASSERT_INT_EQ(c.connect_timeout_ms, 1000);
    SM_ASSERT(c.http == &http);
    SM_ASSERT_OK(lambda_client_init(&c, "[::1]:9001", &http, &err), err);
    const char *bad[] = {NULL, "", "127.0.0.1:9001/evil", "host port", "http://x:1", "a\nb"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        SM_ASSERT_INT_EQ(lambda_client_init(&c, bad[i], &http, &err), -1);
        SM_ASSERT_CODE_EQ(err.code, SM_ERR_CONFIG);
        SM_ASSERT_STR_CONTAINS(err.msg, "AWS_LAMBDA_RUNTIME_API");
    }
    char long_api[300];
    memset(long_api, 'a', sizeof(long_api) - 1);
    long_api[sizeof(long_api) - 1] = '\0';
    SM_ASSERT_INT_EQ(lambda_client_init(&c, long_api, &http, &err), -1);
}
