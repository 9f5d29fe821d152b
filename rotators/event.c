#include "event.h"

#include "json.h"
#include "mem.h"
#include "str.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const char *const s_steps[] = {
    [ROT_STEP_CREATE] = "createSecret",
    [ROT_STEP_SET] = "setSecret",
    [ROT_STEP_TEST] = "testSecret",
    [ROT_STEP_FINISH] = "finishSecret",
};

const char *rot_step_name(enum rot_step step) {
    return s_steps[step];
}

static int get_string(const cJSON *root, const char *key, size_t min, size_t max, bool required,
                      char **out, struct sm_err *err) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, key);
    if (item == NULL || cJSON_IsNull(item)) {
        if (required) {
            return sm_err_set(err, SM_ERR_EVENT, "the event has no %s", key);
        }
        return 0;
    }
    if (!cJSON_IsString(item)) {
        return sm_err_set(err, SM_ERR_EVENT, "the event's %s must be a string", key);
    }
    size_t len = strlen(item->valuestring);
    if (len == 0 && !required) {
        return 0;
    }
    if (len < min || len > max) {
        return sm_err_set(err, SM_ERR_EVENT, "the event's %s must be %zu to %zu characters long",
                          key, min, max);
    }
    *out = sm_strdup(item->valuestring);
    if (*out == NULL) {
        return sm_err_set(err, SM_ERR_NOMEM, "out of memory reading the event");
    }
    return 0;
}

static bool token_chars_ok(const char *s) {
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x21 || c > 0x7e) {
            return false;
        }
    }
    return true;
}

/* {"Action": "check", "SecretId": "<id>"} and nothing else. */
static int parse_check(const cJSON *root, const cJSON *action, struct rot_event *ev,
                       struct sm_err *err) {
    static const char *const rotation_fields[] = {"Step", "ClientRequestToken", "RotationToken"};
    if (!cJSON_IsString(action) || strcmp(action->valuestring, "check") != 0) {
        char shown[72];
        sm_str_printable(cJSON_IsString(action) ? action->valuestring : "(not a string)", shown,
                         sizeof(shown));
        return sm_err_set(err, SM_ERR_EVENT,
                          "the event's Action \"%s\" is unknown; the one action is \"check\" "
                          "({\"Action\": \"check\", \"SecretId\": \"<id>\"})",
                          shown);
    }
    for (size_t i = 0; i < sizeof(rotation_fields) / sizeof(rotation_fields[0]); i++) {
        if (cJSON_GetObjectItemCaseSensitive(root, rotation_fields[i]) != NULL) {
            return sm_err_set(err, SM_ERR_EVENT,
                              "a check event has no %s: it is {\"Action\": \"check\", "
                              "\"SecretId\": \"<id>\"}",
                              rotation_fields[i]);
        }
    }
    if (get_string(root, "SecretId", 1, 2048, true, &ev->secret_id, err) != 0) {
        return -1;
    }
    if (!token_chars_ok(ev->secret_id)) {
        return sm_err_set(err, SM_ERR_EVENT, "the event's SecretId has invalid characters");
    }
    ev->action = ROT_ACTION_CHECK;
    return 0;
}

int rot_event_parse(const char *payload, size_t len, struct rot_event *ev, struct sm_err *err) {
    int result = -1;
    cJSON *root = NULL;
    memset(ev, 0, sizeof(*ev));

    root = sm_json_parse(payload, len, SM_ERR_EVENT, "the event", err);
    if (root == NULL) {
        goto out;
    }
    if (!cJSON_IsObject(root)) {
        sm_err_set(err, SM_ERR_EVENT, "the event must be a JSON object");
        goto out;
    }
    if (sm_json_has_nul_escape(payload, len)) {
        sm_err_set(err, SM_ERR_EVENT, "the event holds a U+0000 character in a string");
        goto out;
    }
    static const char *const fields[] = {"Step", "SecretId", "ClientRequestToken", "RotationToken",
                                         "Action"};
    struct sm_json_check check;
    int scanned = sm_json_check_keys(payload, len, fields, 5, &check);
    if (scanned == SM_JSON_SCAN_NOMEM) {
        sm_err_set(err, SM_ERR_NOMEM, "out of memory reading the event");
        goto out;
    }
    if (scanned != 0 || check.duplicate != NULL) {
        /* cJSON would read the first of two; refuse rather than guess which one AWS meant. */
        sm_err_set(err, SM_ERR_EVENT, "the event has more than one %s",
                   check.duplicate != NULL ? check.duplicate : "value for a field");
        goto out;
    }
    const cJSON *action = cJSON_GetObjectItemCaseSensitive(root, "Action");
    if (action != NULL) {
        result = parse_check(root, action, ev, err);
        goto out;
    }
    const cJSON *step = cJSON_GetObjectItemCaseSensitive(root, "Step");
    if (step == NULL) {
        sm_err_set(err, SM_ERR_EVENT, "the event has no Step");
        goto out;
    }
    if (!cJSON_IsString(step)) {
        sm_err_set(err, SM_ERR_EVENT, "the event's Step must be a string");
        goto out;
    }
    if (get_string(root, "SecretId", 1, 2048, true, &ev->secret_id, err) != 0 ||
        get_string(root, "ClientRequestToken", 32, 64, true, &ev->token, err) != 0 ||
        get_string(root, "RotationToken", 1, 256, false, &ev->rotation_token, err) != 0) {
        goto out;
    }
    /* Both are printed in messages and sent to AWS: printable ASCII only. */
    if (!token_chars_ok(ev->secret_id)) {
        sm_err_set(err, SM_ERR_EVENT, "the event's SecretId has invalid characters");
        goto out;
    }
    if (!token_chars_ok(ev->token)) {
        sm_err_set(err, SM_ERR_EVENT, "the event's ClientRequestToken has invalid characters");
        goto out;
    }
    bool found = false;
    for (size_t i = 0; i < sizeof(s_steps) / sizeof(s_steps[0]); i++) {
        if (strcmp(step->valuestring, s_steps[i]) == 0) {
            ev->step = (enum rot_step)i;
            found = true;
        }
    }
    if (!found) {
        /* The template's wording; the step name is bounded and made printable. */
        char shown[72];
        sm_str_printable(step->valuestring, shown, sizeof(shown));
        sm_err_set(err, ROT_ERR_ROTATION, "Invalid step parameter %s for secret %s", shown,
                   ev->secret_id);
        goto out;
    }
    result = 0;
out:
    cJSON_Delete(root);
    return result;
}

void rot_event_clean_up(struct rot_event *ev) {
    if (ev == NULL) {
        return;
    }
    sm_free(ev->secret_id);
    sm_free(ev->token);
    sm_free(ev->rotation_token);
    ev->secret_id = NULL;
    ev->token = NULL;
    ev->rotation_token = NULL;
}
