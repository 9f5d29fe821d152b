#include "json.h"

#include "mem.h"

#include <string.h>

cJSON *sm_json_parse(const char *data, size_t len, const struct sm_code *code, const char *what,
                     struct sm_err *err) {
    const char *end = NULL;
    int64_t failures = sm_mem_failure_count();
    cJSON *root = cJSON_ParseWithLengthOpts(data, len, &end, false);
    if (root == NULL && sm_mem_failure_count() != failures) {
        /* cJSON reports running out of memory as a syntax error; the hooks know better. */
        sm_err_set(err, SM_ERR_NOMEM, "out of memory parsing %s", what);
        return NULL;
    }
    if (root == NULL) {
        size_t off = end != NULL && end >= data ? (size_t)(end - data) : 0;
        if (off == 0) {
            const char *ep = cJSON_GetErrorPtr();
            off = ep != NULL && ep >= data && ep <= data + len ? (size_t)(ep - data) : 0;
        }
        sm_err_set(err, code, "%s is not valid JSON (error near byte %zu)", what, off);
        return NULL;
    }
    /* Only whitespace may follow the value. */
    if (end != NULL) {
        const char *p = end;
        while (p < data + len && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) {
            p++;
        }
        if (p < data + len && *p != '\0') {
            cJSON_Delete(root);
            sm_err_set(err, code, "%s is not valid JSON (unexpected data at byte %zu)", what,
                       (size_t)(p - data));
            return NULL;
        }
    }
    return root;
}

bool sm_json_has_nul_escape(const char *data, size_t len) {
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        if (!in_string) {
            in_string = data[i] == '"';
            continue;
        }
        if (data[i] == '"') {
            in_string = false;
        } else if (data[i] == '\\' && i + 1 < len) {
            if (data[i + 1] == 'u' && i + 5 < len && memcmp(data + i + 2, "0000", 4) == 0) {
                return true;
            }
            i++; /* the escaped character */
        }
    }
    return false;
}

const char *sm_json_string(const cJSON *obj, const char *key) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(item) ? item->valuestring : NULL;
}

int sm_json_print(const cJSON *item, struct sm_buf *out, struct sm_err *err) {
    char *text = cJSON_PrintUnformatted(item);
    if (text == NULL) {
        return sm_err_set(err, SM_ERR_NOMEM, "out of memory serialising JSON");
    }
    sm_buf_reset(out);
    int rc = sm_buf_append_str(out, text, err);
    cJSON_free(text); /* our hook wipes */
    return rc;
}
