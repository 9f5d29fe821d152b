/*
 * Fuzz target: the AWS error-response parser (runtime/secretsmanager.c,
 * secrets_error_from_response).
 *
 * Input: a first line "<status>[ <x-amzn-ErrorType header value>]" (status: up to three digits;
 * no space: no header), then the response body, e.g. "400\n{\"__type\":\"...\"}".
 * Invariants: returns -1; the class is one of the four AWS classes and a 5xx status is never a
 * client error; aws_type holds only token characters; http_status is the status; the message
 * starts with the operation and secret, is a bounded string and holds no control characters (it
 * goes to CloudWatch and into the Lambda error). No crash, no leak.
 */
#include "fuzz_common.h"
#include "secretsmanager.h"

FUZZ_INIT_HOOKS()

static void check(const struct sm_err *err, long status, const char *prefix) {
    FUZZ_CHECK(err->code == SM_ERR_AWS_THROTTLED || err->code == SM_ERR_AWS_SERVER ||
               err->code == SM_ERR_AWS_CLIENT || err->code == SM_ERR_AWS_AUTH);
    FUZZ_CHECK(err->http_status == status);
    if (status >= 500) {
        FUZZ_CHECK(err->code != SM_ERR_AWS_CLIENT);
    }
    if (err->aws_type[0] == '\0' && status == 429) {
        FUZZ_CHECK(err->code == SM_ERR_AWS_THROTTLED);
    }
    FUZZ_CHECK(strnlen(err->aws_type, sizeof(err->aws_type)) < sizeof(err->aws_type));
    for (const char *p = err->aws_type; *p != '\0'; p++) {
        char c = *p;
        FUZZ_CHECK((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                   c == '.' || c == '_' || c == '-');
    }
    FUZZ_CHECK(strnlen(err->msg, sizeof(err->msg)) < sizeof(err->msg));
    FUZZ_CHECK(strncmp(err->msg, prefix, strlen(prefix)) == 0);
    for (const char *p = err->msg; *p != '\0'; p++) {
        FUZZ_CHECK((unsigned char)*p >= 0x20 && (unsigned char)*p != 0x7f);
    }
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

    struct sm_err err;
    int rc = secrets_error_from_response("GetSecretValue", "arn:aws:secretsmanager:s", status, body,
                                         body_len, header, &err);
    FUZZ_CHECK(rc == -1);
    check(&err, status, "GetSecretValue on secret arn:aws:secretsmanager:s failed: ");
    /* Same answer without a secret id, apart from the message's prefix. */
    struct sm_err err2;
    secrets_error_from_response("PutSecretValue", NULL, status, body, body_len, header, &err2);
    check(&err2, status, "PutSecretValue failed: ");
    FUZZ_CHECK(err2.code == err.code && strcmp(err2.aws_type, err.aws_type) == 0);
    /* A NULL err is allowed and only returns -1. */
    FUZZ_CHECK(secrets_error_from_response("X", NULL, status, body, body_len, header, NULL) == -1);

    free(body);
    free(header);
    FUZZ_CHECK(sm_mem_live_count() == live);
    return 0;
}
