/*
 * Fuzz target: the rotation event parser (rotators/event.c, rot_event_parse), fed the raw
 * invocation payload as Lambda would deliver it.
 *
 * Invariants: no crash or leak; on success every field keeps the limits event.h promises
 * (SecretId 1-2048 and ClientRequestToken 32-64 printable ASCII bytes, RotationToken NULL or
 * 1-256 bytes) and the step has a name; a check event ({"Action": "check", "SecretId"}) has a
 * SecretId and no token, and the JSON report made for it (rotators/check.h) parses back with the
 * same secretId; on failure the error code is one of the documented ones and the message is a
 * bounded line of printable ASCII (it lands in CloudWatch).
 */
#include "check.h"
#include "event.h"
#include "fuzz_common.h"
#include "str.h"

#include <cjson/cJSON.h>

FUZZ_INIT_HOOKS()

static int printable(const char *s) {
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e) {
            return 0;
        }
    }
    return 1;
}

/* The report for a check event, with a detail that quotes the id, reads back as JSON. */
static void check_report_round_trip(const char *secret_id) {
    struct rot_check_report r;
    struct sm_buf json;
    struct sm_err err;
    sm_buf_init(&json, SM_LIMIT_RESPONSE);
    FUZZ_CHECK(rot_check_report_init(&r, secret_id, &err) == 0 || err.code == SM_ERR_NOMEM);
    if (r.secret_id != NULL &&
        rot_check_report_add(&r, "secret-readable", false, secret_id, &err) == 0 &&
        rot_check_report_json(&r, &json, &err) == 0) {
        cJSON *back = cJSON_ParseWithLength(json.data, json.len);
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(back, "secretId");
        FUZZ_CHECK(back != NULL && cJSON_IsString(id) && strcmp(id->valuestring, secret_id) == 0);
        cJSON_Delete(back);
    }
    rot_check_report_clean_up(&r);
    sm_buf_clean_up(&json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int64_t live = sm_mem_live_count();
    char *payload = fuzz_copy(data, size, 0);
    struct rot_event ev;
    struct sm_err err;
    sm_err_clear(&err);
    int rc = rot_event_parse(payload, size, &ev, &err);
    if (rc == 0 && ev.action == ROT_ACTION_CHECK) {
        size_t id_len = strlen(ev.secret_id);
        FUZZ_CHECK(id_len >= 1 && id_len <= 2048 && printable(ev.secret_id));
        FUZZ_CHECK(ev.token == NULL && ev.rotation_token == NULL);
        FUZZ_CHECK(err.code == SM_ERR_OK);
        check_report_round_trip(ev.secret_id);
    } else if (rc == 0) {
        size_t id_len = strlen(ev.secret_id), tok_len = strlen(ev.token);
        FUZZ_CHECK(id_len >= 1 && id_len <= 2048 && printable(ev.secret_id));
        FUZZ_CHECK(tok_len >= 32 && tok_len <= 64 && printable(ev.token));
        FUZZ_CHECK(ev.rotation_token == NULL ||
                   (strlen(ev.rotation_token) >= 1 && strlen(ev.rotation_token) <= 256));
        FUZZ_CHECK(rot_step_name(ev.step) != NULL);
        FUZZ_CHECK(err.code == SM_ERR_OK);
    } else {
        FUZZ_CHECK(rc == -1);
        FUZZ_CHECK(err.code == SM_ERR_EVENT || err.code == ROT_ERR_ROTATION ||
                   err.code == SM_ERR_NOMEM);
        FUZZ_CHECK(strnlen(err.msg, sizeof(err.msg)) < sizeof(err.msg));
        /* The message may quote the sanitised Step and the checked SecretId, nothing raw: one
         * line of valid UTF-8. */
        for (const char *m = err.msg; *m != '\0'; m++) {
            FUZZ_CHECK((unsigned char)*m >= 0x20 && (unsigned char)*m != 0x7f);
        }
        FUZZ_CHECK(sm_utf8_valid(err.msg, NULL));
    }
    rot_event_clean_up(&ev);
    FUZZ_CHECK(ev.secret_id == NULL && ev.token == NULL && ev.rotation_token == NULL);
    free(payload);
    FUZZ_CHECK(sm_mem_live_count() == live);
    return 0;
}
