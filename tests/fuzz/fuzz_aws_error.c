/*
 * Fuzz target: reading an AWS error answer (runtime/secretsmanager.c secrets_read_error, the
 * JSON 1.1 error-body reader) and turning it into an error (runtime/aws.c aws_error_set,
 * aws_error_code_copy), as aws_send does.
 *
 * Input: a first line "<status>[ <x-amzn-ErrorType header value>]" (status: up to three digits;
 * no space: no header), then the response body, e.g. "400\n{\"__type\":\"...\"}".
 * Invariants: the reader succeeds and leaves a code of token characters only and a message on one
 * line (no control characters), both bounded strings; aws_error_code_copy, for the header and for
 * the raw body alike, keeps token characters only, stays within any buffer size and is idempotent;
 * aws_error_set returns -1, the class is one of the four AWS classes and a 5xx status is never a
 * client error; aws_type is the code; http_status is the status; the message starts with the
 * operation and resource, is a bounded string and holds no control characters (it goes to
 * CloudWatch and into the Lambda error). No crash, no leak.
 */
#include "aws_testing.h"
#include "fuzz_common.h"
#include "secretsmanager_testing.h"

FUZZ_INIT_HOOKS()

static bool token_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

static void check_token(const char *s, size_t size) {
    FUZZ_CHECK(strnlen(s, size) < size);
    for (const char *p = s; *p != '\0'; p++) {
        FUZZ_CHECK(token_char(*p));
    }
}

static void check_one_line(const char *s, size_t size) {
    FUZZ_CHECK(strnlen(s, size) < size);
    for (const char *p = s; *p != '\0'; p++) {
        FUZZ_CHECK((unsigned char)*p >= 0x20 && (unsigned char)*p != 0x7f);
    }
}

/* aws_error_code_copy of raw into buffers of several sizes. */
static void check_code_copy(const char *raw) {
    static const size_t sizes[] = {1, 2, 8, SM_ERR_TYPE_MAX};
    char full[SM_ERR_TYPE_MAX];
    aws_error_code_copy(raw, full, sizeof(full));
    check_token(full, sizeof(full));
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        char out[SM_ERR_TYPE_MAX];
        memset(out, 'Z', sizeof(out));
        aws_error_code_copy(raw, out, sizes[i]);
        check_token(out, sizes[i]);
        /* A smaller buffer keeps a prefix of the same code. */
        FUZZ_CHECK(strncmp(out, full, strlen(out)) == 0);
    }
    /* A bare token is kept as it is. */
    char again[SM_ERR_TYPE_MAX];
    aws_error_code_copy(full, again, sizeof(again));
    FUZZ_CHECK(strcmp(again, full) == 0);
}

static void check(const struct sm_err *err, long status, const char *code, const char *prefix) {
    FUZZ_CHECK(err->code == SM_ERR_AWS_THROTTLED || err->code == SM_ERR_AWS_SERVER ||
               err->code == SM_ERR_AWS_CLIENT || err->code == SM_ERR_AWS_AUTH);
    FUZZ_CHECK(err->http_status == status);
    if (status >= 500) {
        FUZZ_CHECK(err->code != SM_ERR_AWS_CLIENT);
    }
    if (err->aws_type[0] == '\0' && status == 429) {
        FUZZ_CHECK(err->code == SM_ERR_AWS_THROTTLED);
    }
    check_token(err->aws_type, sizeof(err->aws_type));
    FUZZ_CHECK(strcmp(err->aws_type, code) == 0);
    check_one_line(err->msg, sizeof(err->msg));
    FUZZ_CHECK(strncmp(err->msg, prefix, strlen(prefix)) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int64_t live = sm_mem_live_count();
    size_t line = 0;
    while (line < size && data[line] != '\n') {
        line++;
    }
    long status = 0;
    size_t i = 0;
    for (; i < line && i < 3 && data[i] >= '0' && data[i] <= '9'; i++) {
        status = status * 10 + (data[i] - '0');
    }
    char *header = NULL;
    if (i < line && data[i] == ' ') {
        header = fuzz_copy(data + i + 1, line - i - 1, 1);
    }
    size_t body_off = line < size ? line + 1 : size;
    size_t body_len = size - body_off;
    char *body = fuzz_copy(data + body_off, body_len, 0);

    /* The reader: what the body says, if anything. */
    struct aws_error_fields fields = {"", ""};
    FUZZ_CHECK(secrets_read_error(body, body_len, &fields) == 0);
    check_token(fields.code, sizeof(fields.code));
    check_one_line(fields.message, sizeof(fields.message));
    /* The same body read again gives the same fields. */
    struct aws_error_fields again = {"", ""};
    FUZZ_CHECK(secrets_read_error(body, body_len, &again) == 0);
    FUZZ_CHECK(strcmp(again.code, fields.code) == 0 && strcmp(again.message, fields.message) == 0);

    /* aws_send's fallback: the x-amzn-ErrorType header when the body names no code. */
    check_code_copy(header);
    if (fields.code[0] == '\0') {
        aws_error_code_copy(header, fields.code, sizeof(fields.code));
    }
    /* The code copier on arbitrary text (the body as a C string, cut at its first NUL). */
    char *body_str = fuzz_copy(data + body_off, body_len, 1);
    check_code_copy(body_str);
    free(body_str);

    struct sm_err err;
    int rc =
        aws_error_set(&err, "GetSecretValue", "secret arn:aws:secretsmanager:s", status, &fields);
    FUZZ_CHECK(rc == -1);
    check(&err, status, fields.code, "GetSecretValue on secret arn:aws:secretsmanager:s failed: ");
    /* Same answer without a resource, apart from the message's prefix. */
    struct sm_err err2;
    aws_error_set(&err2, "PutSecretValue", NULL, status, &fields);
    check(&err2, status, fields.code, "PutSecretValue failed: ");
    FUZZ_CHECK(err2.code == err.code);
    /* A NULL err is allowed and only returns -1. */
    FUZZ_CHECK(aws_error_set(NULL, "X", NULL, status, &fields) == -1);

    free(body);
    free(header);
    FUZZ_CHECK(sm_mem_live_count() == live);
    return 0;
}
