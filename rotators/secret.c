#include "secret.h"

#include "json.h"
#include "mem.h"
#include "str.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* --- validation --- */

static const char *const s_known[] = {"engine", "host",   "username", "password",
                                      "port",   "dbname", "ssl",      "masterarn"};
#define N_KNOWN (sizeof(s_known) / sizeof(s_known[0]))

static const char *type_name(const cJSON *item) {
    if (cJSON_IsString(item)) {
        return "string";
    }
    if (cJSON_IsNumber(item)) {
        return "number";
    }
    if (cJSON_IsBool(item)) {
        return "boolean";
    }
    if (cJSON_IsNull(item)) {
        return "null";
    }
    if (cJSON_IsArray(item)) {
        return "array";
    }
    return "object";
}

static int required_string(const cJSON *root, const char *key, const char **out,
                           struct sm_err *err) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, key);
    if (item == NULL) {
        return sm_err_set(err, ROT_ERR_SECRET_INVALID, "%s key is missing from secret JSON", key);
    }
    if (!cJSON_IsString(item)) {
        return sm_err_set(err, ROT_ERR_SECRET_INVALID,
                          "%s in secret JSON must be a string, not a %s", key, type_name(item));
    }
    if (item->valuestring[0] == '\0') {
        return sm_err_set(err, ROT_ERR_SECRET_INVALID, "%s in secret JSON must not be empty", key);
    }
    *out = item->valuestring;
    return 0;
}

static int optional_string(const cJSON *root, const char *key, const char **out,
                           struct sm_err *err) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, key);
    *out = NULL;
    if (item == NULL || cJSON_IsNull(item)) {
        return 0;
    }
    if (!cJSON_IsString(item)) {
        return sm_err_set(err, ROT_ERR_SECRET_INVALID,
                          "%s in secret JSON must be a string, not a %s", key, type_name(item));
    }
    if (item->valuestring[0] != '\0') {
        *out = item->valuestring;
    }
    return 0;
}

static int parse_port(const cJSON *root, int default_port, int *out, struct sm_err *err) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, "port");
    *out = default_port;
    if (item == NULL || cJSON_IsNull(item)) {
        return 0;
    }
    long value = -1;
    if (cJSON_IsNumber(item)) {
        double d = item->valuedouble;
        if (d >= 1 && d <= 65535 && d == (double)(long)d) {
            value = (long)d;
        }
    } else if (cJSON_IsString(item)) {
        const char *p = item->valuestring;
        size_t n = strlen(p);
        if (n >= 1 && n <= 5 && strspn(p, "0123456789") == n) {
            value = strtol(p, NULL, 10);
        }
    }
    if (value < 1 || value > 65535) {
        return sm_err_set(err, ROT_ERR_SECRET_INVALID,
                          "port in secret JSON must be a whole number from 1 to 65535 (a number "
                          "or a numeric string); this one is a %s that is not",
                          type_name(item));
    }
    *out = (int)value;
    return 0;
}

/* The templates' get_ssl_config, with our no-downgrade reading of "try TLS". */
static enum rot_tls parse_tls(const cJSON *root) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, "ssl");
    if (cJSON_IsBool(item)) {
        return cJSON_IsTrue(item) ? ROT_TLS_REQUIRED : ROT_TLS_OFF;
    }
    if (cJSON_IsString(item)) {
        if (strcasecmp(item->valuestring, "true") == 0) {
            return ROT_TLS_REQUIRED;
        }
        if (strcasecmp(item->valuestring, "false") == 0) {
            return ROT_TLS_OFF;
        }
    }
    return ROT_TLS_AUTO;
}

static int check_engine(const cJSON *root, const struct rot_engine *const *registry,
                        struct rot_secret *out, struct sm_err *err) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, "engine");
    const char *value = cJSON_IsString(item) ? item->valuestring : NULL;
    out->engine = rot_engine_find(registry, value);
    if (out->engine != NULL) {
        out->engine_value = value;
        return 0;
    }
    char accepted[512];
    rot_engine_list_values(registry, accepted, sizeof(accepted));
    if (value == NULL) {
        return sm_err_set(err, ROT_ERR_SECRET_INVALID,
                          "Database engine must be set to one of %s in order to use this "
                          "rotation lambda (the secret has no engine string)",
                          accepted);
    }
    char shown[40];
    sm_str_printable(value, shown, sizeof(shown));
    return sm_err_set(err, ROT_ERR_SECRET_INVALID,
                      "Database engine must be set to one of %s in order to use this rotation "
                      "lambda (the secret says '%s')",
                      accepted, shown);
}

int rot_secret_parse(const char *text, size_t len, const struct rot_engine *const *registry,
                     struct rot_secret *out, struct sm_err *err) {
    char *copy = sm_strndup(text, len);
    if (copy == NULL) {
        memset(out, 0, sizeof(*out));
        return sm_err_set(err, SM_ERR_NOMEM, "out of memory reading a secret");
    }
    return rot_secret_take(copy, len, registry, out, err);
}

int rot_secret_take(char *text, size_t len, const struct rot_engine *const *registry,
                    struct rot_secret *out, struct sm_err *err) {
    int result = -1;
    memset(out, 0, sizeof(*out));
    out->text = text;
    out->text_len = len;
    if (strlen(out->text) != len) {
        sm_err_set(err, ROT_ERR_SECRET_INVALID, "the secret's value contains a NUL byte");
        goto out;
    }
    out->json = sm_json_parse(text, len, ROT_ERR_SECRET_INVALID, "the secret's value", err);
    if (out->json == NULL) {
        goto out;
    }
    if (!cJSON_IsObject(out->json)) {
        sm_err_set(err, ROT_ERR_SECRET_INVALID, "the secret's value must be a JSON object, not %s",
                   type_name(out->json));
        goto out;
    }
    struct sm_json_check check;
    int scanned = sm_json_check_keys(text, len, s_known, N_KNOWN, &check);
    if (scanned == SM_JSON_SCAN_NOMEM) {
        sm_err_set(err, SM_ERR_NOMEM, "out of memory reading a secret");
        goto out;
    }
    if (scanned != 0) {
        sm_err_set(err, ROT_ERR_SECRET_INVALID, "the secret's value is not a well-formed object");
        goto out;
    }
    if (check.duplicate != NULL) {
        sm_err_set(err, ROT_ERR_SECRET_INVALID,
                   "%s appears more than once in secret JSON; keep exactly one", check.duplicate);
        goto out;
    }
    if (check.nul != NULL) {
        sm_err_set(err, ROT_ERR_SECRET_INVALID, "%s in secret JSON must not contain U+0000",
                   check.nul);
        goto out;
    }
    if (check_engine(out->json, registry, out, err) != 0 ||
        required_string(out->json, "host", &out->host, err) != 0 ||
        required_string(out->json, "username", &out->username, err) != 0 ||
        required_string(out->json, "password", &out->password, err) != 0 ||
        optional_string(out->json, "dbname", &out->dbname, err) != 0 ||
        optional_string(out->json, "masterarn", &out->masterarn, err) != 0 ||
        parse_port(out->json, out->engine->default_port, &out->port, err) != 0) {
        goto out;
    }
    out->tls = parse_tls(out->json);
    result = 0;
out:
    return result;
}

struct bare_ctx {
    int username, password, other;
};

static int count_bare(const char *s, const struct sm_json_member *m, void *ctx) {
    struct bare_ctx *c = ctx;
    int user = sm_json_key_is(s, m, "username"), pass = sm_json_key_is(s, m, "password");
    if (user < 0 || pass < 0) {
        return SM_JSON_SCAN_NOMEM;
    }
    if (user) {
        c->username++;
    } else if (pass) {
        c->password++;
    } else {
        c->other++;
    }
    return 0;
}

int rot_secret_is_bare_credentials(const char *text, size_t len) {
    cJSON *root = cJSON_ParseWithLength(text, len);
    int result = -1;
    struct bare_ctx c = {0};
    if (!cJSON_IsObject(root) || sm_json_scan_members(text, len, count_bare, &c) != 0) {
        goto out;
    }
    result = c.username == 1 && c.password == 1 && c.other == 0 &&
             cJSON_IsString(cJSON_GetObjectItemCaseSensitive(root, "username")) &&
             cJSON_IsString(cJSON_GetObjectItemCaseSensitive(root, "password"));
out:
    cJSON_Delete(root);
    return result;
}

struct render_ctx {
    struct sm_buf *out;
    size_t copied; /* text[0..copied) already written */
    const char *username, *password;
    struct sm_err *err;
};

static int append_json_string(struct sm_buf *out, const char *value, struct sm_err *err) {
    cJSON *s = cJSON_CreateString(value);
    if (s == NULL) {
        return sm_err_set(err, SM_ERR_NOMEM, "out of memory writing a secret");
    }
    char *text = cJSON_PrintUnformatted(s);
    cJSON_Delete(s);
    if (text == NULL) {
        return sm_err_set(err, SM_ERR_NOMEM, "out of memory writing a secret");
    }
    int rc = sm_buf_append_str(out, text, err);
    cJSON_free(text);
    return rc;
}

static int render_member(const char *s, const struct sm_json_member *m, void *ctx) {
    struct render_ctx *r = ctx;
    const char *replacement = NULL;
    int pass = sm_json_key_is(s, m, "password");
    int user = r->username != NULL ? sm_json_key_is(s, m, "username") : 0;
    if (pass < 0 || user < 0) {
        sm_err_set(r->err, SM_ERR_NOMEM, "out of memory writing a secret");
        return SM_JSON_SCAN_NOMEM;
    }
    if (pass) {
        replacement = r->password;
    } else if (user) {
        replacement = r->username;
    }
    if (replacement == NULL) {
        return 0;
    }
    if (sm_buf_append(r->out, s + r->copied, m->val_start - r->copied, r->err) != 0 ||
        append_json_string(r->out, replacement, r->err) != 0) {
        return -2;
    }
    r->copied = m->val_end;
    return 0;
}

int rot_secret_render(const struct rot_secret *base, const char *username, const char *password,
                      struct sm_buf *out, struct sm_err *err) {
    struct render_ctx r = {
        .out = out, .copied = 0, .username = username, .password = password, .err = err};
    sm_buf_reset(out);
    int rc = sm_json_scan_members(base->text, base->text_len, render_member, &r);
    if (rc == -1) {
        return sm_err_set(err, ROT_ERR_SECRET_INVALID, "the secret's value is not well-formed");
    }
    if (rc != 0) {
        return -1;
    }
    return sm_buf_append(out, base->text + r.copied, base->text_len - r.copied, err);
}

struct rot_login rot_secret_login(const struct rot_secret *s) {
    struct rot_login login = {
        .host = s->host,
        .port = s->port,
        .dbname = s->dbname,
        .username = s->username,
        .password = s->password,
        .tls = s->tls,
        .engine_value = s->engine_value,
    };
    return login;
}

void rot_secret_clean_up(struct rot_secret *s) {
    if (s == NULL) {
        return;
    }
    cJSON_Delete(s->json); /* the hooks wipe every node */
    sm_free(s->text);
    memset(s, 0, sizeof(*s));
}
