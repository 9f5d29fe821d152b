/*
 * Fuzz target: the STS client's answer reader (runtime/sts.c over runtime/aws_query.c):
 * AssumeRole and AssumeRoleWithWebIdentity answers, as an STS endpoint (or something pretending
 * to be one: AWS_ENDPOINT_URL_STS) could send them. The first input byte picks the operation.
 * STS's error bodies go through the Query error reader, fuzzed by fuzz_rds_xml.
 *
 * Invariants: no crash or sanitizer report; the reader either fails with SM_ERR_PROTOCOL or
 * SM_ERR_NOMEM, or returns fields that are NUL-terminated strings no longer than the reader's
 * text limit; nothing is left allocated.
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
    struct sts_credentials c;
    const char *result = data[0] % 2 == 0 ? "AssumeRoleResult" : "AssumeRoleWithWebIdentityResult";
    if (sts_read_credentials(xml, size - 1, result, &c, &err) != 0) {
        FUZZ_CHECK(err.code == SM_ERR_PROTOCOL || err.code == SM_ERR_NOMEM);
    }
    check_field(c.access_key_id);
    check_field(c.secret_access_key);
    check_field(c.session_token);
    check_field(c.expiration);
    sts_credentials_clean_up(&c);
    free(xml);
    FUZZ_CHECK(sm_mem_live_count() == live);
    return 0;
}
