#include "json.h"

#include "mem.h"

#include <stdbool.h>
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

cJSON *sm_json_parse_lenient(const char *data, size_t len, bool *nomem) {
    int64_t failures = sm_mem_failure_count();
    cJSON *root = cJSON_ParseWithLength(data, len);
    /* cJSON reports running out of memory as a syntax error; the hooks know better. */
    *nomem = root == NULL && sm_mem_failure_count() != failures;
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

/* ---- the member scanner: byte spans of the top-level object (cJSON keeps none) ---- */

/* Whitespace as cJSON reads it: every byte up to 0x20, not only the four JSON allows. The
 * scanner must split the text exactly where cJSON does, or a value hidden behind a control byte
 * would be validated by cJSON but never seen (or spliced) here. */
static bool is_ws(char c) {
    return (unsigned char)c <= 0x20;
}

static size_t skip_ws(const char *s, size_t len, size_t i) {
    while (i < len && is_ws(s[i])) {
        i++;
    }
    return i;
}

/* s[*i] is '"'; moves *i past the closing quote. */
static int skip_string(const char *s, size_t len, size_t *i) {
    size_t j = *i + 1;
    while (j < len && s[j] != '"') {
        j += s[j] == '\\' ? 2 : 1;
    }
    if (j >= len) {
        return -1;
    }
    *i = j + 1;
    return 0;
}

static int skip_value(const char *s, size_t len, size_t *i) {
    size_t j = *i;
    if (j >= len) {
        return -1;
    }
    if (s[j] == '"') {
        return skip_string(s, len, i);
    }
    if (s[j] == '{' || s[j] == '[') {
        size_t depth = 0;
        while (j < len) {
            if (s[j] == '"') {
                if (skip_string(s, len, &j) != 0) {
                    return -1;
                }
                continue;
            }
            if (s[j] == '{' || s[j] == '[') {
                depth++;
            } else if (s[j] == '}' || s[j] == ']') {
                if (--depth == 0) {
                    *i = j + 1;
                    return 0;
                }
            }
            j++;
        }
        return -1;
    }
    while (j < len && !is_ws(s[j]) && strchr(",}]", s[j]) == NULL) {
        j++;
    }
    if (j == *i) {
        return -1;
    }
    *i = j;
    return 0;
}

int sm_json_scan_members(const char *s, size_t len, sm_json_member_fn *fn, void *ctx) {
    size_t i = 0;
    if (len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0) {
        i = 3; /* a UTF-8 byte order mark, which cJSON skips too */
    }
    i = skip_ws(s, len, i);
    if (i >= len || s[i] != '{') {
        return -1;
    }
    i = skip_ws(s, len, i + 1);
    if (i < len && s[i] == '}') {
        return 0;
    }
    while (i < len) {
        struct sm_json_member m;
        if (s[i] != '"') {
            return -1;
        }
        m.key_start = i;
        if (skip_string(s, len, &i) != 0) {
            return -1;
        }
        m.key_end = i;
        i = skip_ws(s, len, i);
        if (i >= len || s[i] != ':') {
            return -1;
        }
        i = skip_ws(s, len, i + 1);
        m.val_start = i;
        if (skip_value(s, len, &i) != 0) {
            return -1;
        }
        m.val_end = i;
        int rc = fn(s, &m, ctx);
        if (rc != 0) {
            return rc;
        }
        i = skip_ws(s, len, i);
        if (i < len && s[i] == ',') {
            i = skip_ws(s, len, i + 1);
            continue;
        }
        return i < len && s[i] == '}' ? 0 : -1;
    }
    return -1;
}

int sm_json_key_is(const char *s, const struct sm_json_member *m, const char *name) {
    const char *raw = s + m->key_start + 1;
    size_t raw_len = m->key_end - m->key_start - 2;
    if (memchr(raw, '\\', raw_len) == NULL) {
        return raw_len == strlen(name) && memcmp(raw, name, raw_len) == 0;
    }
    bool nomem = false;
    cJSON *k = sm_json_parse_lenient(s + m->key_start, m->key_end - m->key_start, &nomem);
    if (nomem) {
        return -1;
    }
    int same = cJSON_IsString(k) && strcmp(k->valuestring, name) == 0;
    cJSON_Delete(k);
    return same;
}

struct check_ctx {
    const char *const *known;
    size_t n;
    unsigned char seen[SM_JSON_CHECK_MAX];
    struct sm_json_check *out;
};

static int check_member(const char *s, const struct sm_json_member *m, void *ctx) {
    struct check_ctx *c = ctx;
    for (size_t k = 0; k < c->n; k++) {
        int is = sm_json_key_is(s, m, c->known[k]);
        if (is < 0) {
            return SM_JSON_SCAN_NOMEM;
        }
        if (!is) {
            continue;
        }
        if (c->seen[k]++ > 0 && c->out->duplicate == NULL) {
            c->out->duplicate = c->known[k];
        }
        if (c->out->nul == NULL &&
            sm_json_has_nul_escape(s + m->val_start, m->val_end - m->val_start)) {
            c->out->nul = c->known[k];
        }
    }
    return 0;
}

int sm_json_check_keys(const char *text, size_t len, const char *const *known, size_t n,
                       struct sm_json_check *out) {
    struct check_ctx c = {
        .known = known, .n = n < SM_JSON_CHECK_MAX ? n : SM_JSON_CHECK_MAX, .out = out};
    out->duplicate = NULL;
    out->nul = NULL;
    memset(c.seen, 0, sizeof(c.seen));
    return sm_json_scan_members(text, len, check_member, &c);
}
