/* Unit tests of the shared base: err, buf, mem, log, json. */
#include "buf.h"
#include "err.h"
#include "harness.h"
#include "json.h"
#include "log.h"
#include "mem_testing.h"

SM_TEST(base_err_set_formats_and_returns_minus_one) {
    struct sm_err err;
    sm_err_clear(&err);
    SM_ASSERT_INT_EQ(sm_err_set(&err, SM_ERR_CONFIG, "bad %s=%d", "X", 3), -1);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_CONFIG);
    SM_ASSERT_STR_EQ(err.msg, "bad X=3");
    SM_ASSERT_STR_EQ(sm_err_type(&err), "ConfigInvalid");
    sm_err_prefix(&err, "init");
    SM_ASSERT_STR_EQ(err.msg, "init: bad X=3");
}

SM_TEST(base_err_classifies_transient_and_permanent) {
    SM_ASSERT(sm_code_is_transient(SM_ERR_AWS_THROTTLED));
    SM_ASSERT(sm_code_is_transient(SM_ERR_AWS_SERVER));
    SM_ASSERT(sm_code_is_transient(SM_ERR_TRANSPORT));
    SM_ASSERT(!sm_code_is_transient(SM_ERR_AWS_CLIENT));
    SM_ASSERT(!sm_code_is_transient(SM_ERR_EVENT));
    SM_ASSERT(!sm_code_is_transient(SM_ERR_NOMEM));
    SM_ASSERT(!sm_code_is_transient(NULL));
    SM_ASSERT_STR_EQ(sm_code_name(NULL), "OK");
}

SM_TEST(base_buf_append_past_ceiling_fails_and_keeps_content) {
    struct sm_buf b;
    struct sm_err err;
    sm_buf_init(&b, 8);
    SM_ASSERT_OK(sm_buf_append_str(&b, "abcdef", &err), err);
    SM_ASSERT_INT_EQ(sm_buf_append_str(&b, "ghi", &err), -1);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_TOO_LARGE);
    SM_ASSERT_STR_EQ(b.data, "abcdef");
    SM_ASSERT_OK(sm_buf_appendf(&b, &err, "%d%d", 1, 2), err);
    SM_ASSERT_STR_EQ(b.data, "abcdef12");
    SM_ASSERT_INT_EQ(sm_buf_appendf(&b, &err, "x"), -1);
    sm_buf_clean_up(&b);
    SM_ASSERT(b.data == NULL);
}

SM_TEST(base_mem_frees_everything_it_allocates) {
    int64_t before = sm_mem_live_count();
    char *s = sm_strdup("password");
    char *t = sm_realloc(s, 100);
    SM_ASSERT(t != NULL);
    SM_ASSERT_STR_EQ(t, "password");
    SM_ASSERT_INT_EQ(sm_mem_live_count(), before + 1);
    sm_free(t);
    SM_ASSERT_INT_EQ(sm_mem_live_count(), before);
    SM_ASSERT(sm_calloc(SIZE_MAX / 2, 4) == NULL);
}

SM_TEST(base_json_parse_rejects_trailing_garbage_without_quoting_input) {
    struct sm_err err;
    const char *doc = "{\"password\":\"hunter2\"} trailing";
    cJSON *j = sm_json_parse(doc, strlen(doc), SM_ERR_CONFIG, "the secret", &err);
    SM_ASSERT(j == NULL);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_CONFIG);
    SM_ASSERT_STR_CONTAINS(err.msg, "the secret is not valid JSON");
    SM_ASSERT_STR_NOT_CONTAINS(err.msg, "hunter2");
}

SM_TEST(base_log_json_lines_carry_the_contract_fields) {
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    sm_log_set_stream(f);
    sm_log_configure(true, SM_LOG_INFO);
    sm_log_set_request_id("req-1");
    const struct sm_log_field ctx[] = {{"step", "createSecret"}, {"secretId", "arn:x"}};
    sm_log_set_context(ctx, 2);
    SM_DEBUG("filtered");
    SM_INFO("hello \"world\"\n");
    sm_log_set_stream(NULL);
    fclose(f);
    SM_ASSERT_STR_NOT_CONTAINS(out, "filtered");
    cJSON *j = cJSON_Parse(out);
    SM_ASSERT(j != NULL);
    SM_ASSERT_STR_EQ(sm_json_string(j, "level"), "INFO");
    SM_ASSERT_STR_EQ(sm_json_string(j, "message"), "hello \"world\"\n");
    SM_ASSERT_STR_EQ(sm_json_string(j, "requestId"), "req-1");
    SM_ASSERT_STR_EQ(sm_json_string(j, "step"), "createSecret");
    SM_ASSERT_STR_EQ(sm_json_string(j, "secretId"), "arn:x");
    SM_ASSERT(sm_json_string(j, "timestamp") != NULL);
    cJSON_Delete(j);
    free(out);
}
