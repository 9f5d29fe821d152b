/*
 * Fuzz target: the STS client's answer reader (runtime/sts.c over runtime/aws_query.c):
 * AssumeRole and AssumeRoleWithWebIdentity answers and error bodies, as an STS endpoint (or
 * something pretending to be one: AWS_ENDPOINT_URL_STS) could send them. The first input byte
 * picks the reader.
 *
 * Invariants: no crash or sanitizer report; the credentials reader either fails with
 * SM_ERR_PROTOCOL or SM_ERR_NOMEM, or returns fields that are NUL-terminated strings no longer
 * than the reader's text limit; the error reader's code holds only token characters and its
 * message no control character; nothing is left allocated.
 */
#include "aws_query.h"
#include "fuzz_common.h"
#include "sts_testing.h"

static void check_field(const char *s) {
    FUZZ_CHECK(s == NULL || strlen(s) <= AWS_QUERY_TEXT_MAX);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) {
        return 0;
    }
    int64_t live = sm_mem_live_count();
    char *xml = fuzz_copy(data + 1, size - 1, 0);
    struct sm_err err;
    if (data[0] % 3 < 2) {
        struct sts_credentials c;
        const char *result =
            data[0] % 3 == 0 ? "AssumeRoleResult" : "AssumeRoleWithWebIdentityResult";
        if (sts_read_credentials(xml, size - 1, result, &c, &err) != 0) {
            FUZZ_CHECK(err.code == SM_ERR_PROTOCOL || err.code == SM_ERR_NOMEM);
        }
        check_field(c.access_key_id);
        check_field(c.secret_access_key);
        check_field(c.session_token);
        check_field(c.expiration);
        check_field(c.assumed_role_arn);
        sts_credentials_clean_up(&c);
    } else {
        struct aws_error_fields f = {"", ""};
        if (aws_query_read_error(xml, size - 1, &f) == 0) {
            for (const char *p = f.code; *p != '\0'; p++) {
                FUZZ_CHECK((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                           (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-');
            }
            for (const char *p = f.message; *p != '\0'; p++) {
                FUZZ_CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
            }
        }
    }
    free(xml);
    FUZZ_CHECK(sm_mem_live_count() == live);
    return 0;
}
