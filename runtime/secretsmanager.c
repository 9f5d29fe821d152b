#include "secretsmanager.h"
#include "secretsmanager_testing.h"

#include "json.h"
#include "log.h"
#include "mem.h"
#include "str.h"

#include <assert.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A request body: a SecretString of 64 KiB may grow up to six-fold when JSON-escaped. */
#define LIMIT_REQUEST_BODY (6u * SM_LIMIT_SECRET_STRING + 16u * 1024u)

int secrets_read_error(const char *body, size_t len, struct aws_error_fields *out) {
    if (body == NULL || len == 0) {
        return 0;
    }
    bool nomem = false;
    cJSON *root = sm_json_parse_lenient(body, len, &nomem);
    if (nomem) {
        return -1;
    }
    if (cJSON_IsObject(root)) {
        aws_error_code_copy(sm_json_string(root, "__type"), out->code, sizeof(out->code));
        const char *m = sm_json_string(root, "message");
        if (m == NULL) {
            m = sm_json_string(root, "Message");
        }
        sm_str_one_line(m, out->message, sizeof(out->message));
    }
    cJSON_Delete(root);
    return 0;
}

const struct aws_service secrets_service = {
    .name = "Secrets Manager",
    .signing_name = "secretsmanager",
    .content_type = "application/x-amz-json-1.1",
    .target_prefix = "secretsmanager",
    .read_error = secrets_read_error,
};

int secrets_endpoint_from_env(const struct aws_config *cfg, char **out, struct sm_err *err) {
    static const char *const vars[] = {
        "SECRETS_MANAGER_ENDPOINT", "AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_ENDPOINT_URL", NULL};
    return aws_endpoint_from_env(vars, "secretsmanager", cfg->region, out, err);
}

int secrets_client_init(struct aws_client *c, const struct aws_config *cfg, const char *endpoint,
                        struct http_client *http, struct sm_err *err) {
    return aws_client_init(c, &secrets_service, cfg, endpoint, http, err);
}

static void describe_target(char *out, size_t size, const char *operation, const char *secret_id) {
    if (secret_id != NULL) {
        snprintf(out, size, "%s on secret %.256s", operation, secret_id);
    } else {
        snprintf(out, size, "%s", operation);
    }
}

int secrets_call(struct aws_client *c, const char *operation, const char *secret_id,
                 const char *body, size_t len, int64_t deadline_ms, struct cJSON **out,
                 struct sm_err *err) {
    int result = -1;
    struct http_response resp;
    char resource[300];
    char what[320];
    http_response_init(&resp, AWS_LIMIT_RESPONSE);
    *out = NULL;
    if (secret_id != NULL) {
        snprintf(resource, sizeof(resource), "secret %.256s", secret_id);
    }
    describe_target(what, sizeof(what), operation, secret_id);
    struct aws_request req = {
        .operation = operation,
        .resource = secret_id != NULL ? resource : NULL,
        .body = body,
        .len = len,
    };
    if (aws_send(c, &req, deadline_ms, &resp, err) != 0) {
        goto out;
    }
    cJSON *root =
        sm_json_parse(resp.body.data, resp.body.len, SM_ERR_PROTOCOL, "the response", err);
    if (root == NULL) {
        sm_err_prefix(err, "%s failed", what);
        goto out;
    }
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        sm_err_set(err, SM_ERR_PROTOCOL, "%s failed: the response is not an object", what);
        goto out;
    }
    *out = root;
    result = 0;
out:
    http_response_clean_up(&resp);
    return result;
}

/* Serialises req (deleting it) and calls operation. */
static int call_json(struct aws_client *c, const char *operation, const char *secret_id, cJSON *req,
                     int64_t deadline_ms, cJSON **out, struct sm_err *err) {
    int result = -1;
    struct sm_buf body;
    sm_buf_init(&body, LIMIT_REQUEST_BODY);
    *out = NULL;
    char what[320];
    describe_target(what, sizeof(what), operation, secret_id);
    if (req == NULL) {
        sm_err_set(err, SM_ERR_NOMEM, "%s failed: out of memory building the request", what);
        goto out;
    }
    if (sm_json_print(req, &body, err) != 0) {
        sm_err_prefix(err, "%s failed", what);
        goto out;
    }
    if (secrets_call(c, operation, secret_id, body.data, body.len, deadline_ms, out, err) != 0) {
        goto out;
    }
    result = 0;
out:
    cJSON_Delete(req);
    sm_buf_clean_up(&body);
    return result;
}

/* Request builders: each returns false when out of memory. */
static bool add_str(cJSON *obj, const char *key, const char *value) {
    return value == NULL || cJSON_AddStringToObject(obj, key, value) != NULL;
}

static bool add_bool(cJSON *obj, const char *key, enum secrets_tristate v) {
    return v == SECRETS_UNSET || cJSON_AddBoolToObject(obj, key, v == SECRETS_TRUE) != NULL;
}

static cJSON *new_request(const char *secret_id) {
    cJSON *req = cJSON_CreateObject();
    if (req != NULL && !add_str(req, "SecretId", secret_id)) {
        cJSON_Delete(req);
        return NULL;
    }
    return req;
}

/* ------------------------------------------------------------------------------------------ */
/* Response parsing: lenient, a missing or null field is simply absent.                         */

static int nomem(struct sm_err *err, const char *operation, const char *secret_id) {
    char what[320];
    describe_target(what, sizeof(what), operation, secret_id);
    return sm_err_set(err, SM_ERR_NOMEM, "%s: out of memory reading the response", what);
}

/* *dst = copy of obj[key] when it is a string, else NULL. Returns 0 or -1 (out of memory). */
static int copy_str(const cJSON *obj, const char *key, char **dst) {
    const char *v = sm_json_string(obj, key);
    *dst = NULL;
    if (v == NULL) {
        return 0;
    }
    *dst = sm_strdup(v);
    return *dst != NULL ? 0 : -1;
}

static void free_stages(char **stages, size_t n) {
    for (size_t i = 0; i < n; i++) {
        sm_free(stages[i]);
    }
    sm_free(stages);
}

/* The strings of a JSON array (other items skipped). Returns 0 or -1 (out of memory). */
static int copy_stages(const cJSON *arr, char ***stages, size_t *n) {
    *stages = NULL;
    *n = 0;
    if (!cJSON_IsArray(arr)) {
        return 0;
    }
    size_t count = (size_t)cJSON_GetArraySize(arr);
    if (count == 0) {
        return 0;
    }
    char **s = sm_calloc(count, sizeof(*s));
    if (s == NULL) {
        return -1;
    }
    size_t k = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, arr) {
        if (!cJSON_IsString(item)) {
            continue;
        }
        s[k] = sm_strdup(item->valuestring);
        if (s[k] == NULL) {
            free_stages(s, k);
            return -1;
        }
        k++;
    }
    *stages = s;
    *n = k;
    return 0;
}

static void version_clean_up(struct secrets_version *v) {
    sm_free(v->version_id);
    free_stages(v->stages, v->n_stages);
    v->version_id = NULL;
    v->stages = NULL;
    v->n_stages = 0;
}

/* ------------------------------------------------------------------------------------------ */
/* DescribeSecret                                                                               */

static int read_versions(const cJSON *resp, struct secrets_description *out) {
    const cJSON *map = cJSON_GetObjectItemCaseSensitive(resp, "VersionIdsToStages");
    if (!cJSON_IsObject(map) || cJSON_GetArraySize(map) == 0) {
        return 0;
    }
    out->versions = sm_calloc((size_t)cJSON_GetArraySize(map), sizeof(*out->versions));
    if (out->versions == NULL) {
        return -1;
    }
    const cJSON *item;
    cJSON_ArrayForEach(item, map) {
        if (item->string == NULL) {
            continue;
        }
        struct secrets_version *v = &out->versions[out->n_versions];
        v->version_id = sm_strdup(item->string);
        if (v->version_id == NULL) {
            return -1;
        }
        out->n_versions++;
        if (copy_stages(item, &v->stages, &v->n_stages) != 0) {
            return -1;
        }
    }
    return 0;
}

static int read_tags(const cJSON *resp, struct secrets_description *out) {
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(resp, "Tags");
    if (!cJSON_IsArray(tags) || cJSON_GetArraySize(tags) == 0) {
        return 0;
    }
    out->tags = sm_calloc((size_t)cJSON_GetArraySize(tags), sizeof(*out->tags));
    if (out->tags == NULL) {
        return -1;
    }
    const cJSON *tag;
    cJSON_ArrayForEach(tag, tags) {
        if (!cJSON_IsObject(tag) || sm_json_string(tag, "Key") == NULL) {
            continue;
        }
        struct secrets_tag *t = &out->tags[out->n_tags++];
        if (copy_str(tag, "Key", &t->key) != 0 || copy_str(tag, "Value", &t->value) != 0) {
            return -1;
        }
    }
    return 0;
}

/* RotationEnabled, RotationLambdaARN and RotationRules. */
static int read_rotation(const cJSON *resp, struct secrets_description *out) {
    const cJSON *enabled = cJSON_GetObjectItemCaseSensitive(resp, "RotationEnabled");
    if (cJSON_IsBool(enabled)) {
        out->rotation_enabled = cJSON_IsTrue(enabled) ? 1 : 0;
    }
    const cJSON *rules = cJSON_GetObjectItemCaseSensitive(resp, "RotationRules");
    const cJSON *days = cJSON_GetObjectItemCaseSensitive(rules, "AutomaticallyAfterDays");
    if (cJSON_IsNumber(days) && days->valuedouble >= 1 && days->valuedouble <= 1000) {
        out->rotation_after_days = (long)days->valuedouble;
    }
    return copy_str(resp, "RotationLambdaARN", &out->rotation_lambda_arn) != 0 ||
                   copy_str(rules, "ScheduleExpression", &out->rotation_schedule) != 0
               ? -1
               : 0;
}

int secrets_describe_secret(struct aws_client *c, const char *secret_id, int64_t deadline_ms,
                            struct secrets_description *out, struct sm_err *err) {
    int result = -1;
    cJSON *resp = NULL;
    memset(out, 0, sizeof(*out));
    out->rotation_enabled = -1;
    if (call_json(c, "DescribeSecret", secret_id, new_request(secret_id), deadline_ms, &resp,
                  err) != 0) {
        goto out;
    }
    if (copy_str(resp, "ARN", &out->arn) != 0 || read_rotation(resp, out) != 0 ||
        read_versions(resp, out) != 0 || read_tags(resp, out) != 0) {
        nomem(err, "DescribeSecret", secret_id);
        goto out;
    }
    result = 0;
out:
    cJSON_Delete(resp);
    return result;
}

void secrets_description_clean_up(struct secrets_description *d) {
    if (d == NULL) {
        return;
    }
    sm_free(d->arn);
    sm_free(d->rotation_lambda_arn);
    sm_free(d->rotation_schedule);
    for (size_t i = 0; i < d->n_versions; i++) {
        version_clean_up(&d->versions[i]);
    }
    sm_free(d->versions);
    for (size_t i = 0; i < d->n_tags; i++) {
        sm_free(d->tags[i].key);
        sm_free(d->tags[i].value);
    }
    sm_free(d->tags);
    memset(d, 0, sizeof(*d));
    d->rotation_enabled = -1;
}

const struct secrets_version *secrets_description_find(const struct secrets_description *d,
                                                       const char *version_id) {
    if (d == NULL || version_id == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < d->n_versions; i++) {
        if (d->versions[i].version_id != NULL &&
            strcmp(d->versions[i].version_id, version_id) == 0) {
            return &d->versions[i];
        }
    }
    return NULL;
}

const struct secrets_version *secrets_description_holder(const struct secrets_description *d,
                                                         const char *stage) {
    for (size_t i = 0; d != NULL && i < d->n_versions; i++) {
        if (secrets_version_has_stage(&d->versions[i], stage)) {
            return &d->versions[i];
        }
    }
    return NULL;
}

const char *secrets_description_tag(const struct secrets_description *d, const char *key) {
    for (size_t i = 0; d != NULL && i < d->n_tags; i++) {
        if (d->tags[i].key != NULL && strcasecmp(d->tags[i].key, key) == 0) {
            return d->tags[i].value;
        }
    }
    return NULL;
}

bool secrets_version_has_stage(const struct secrets_version *v, const char *stage) {
    if (v == NULL || stage == NULL) {
        return false;
    }
    for (size_t i = 0; i < v->n_stages; i++) {
        if (strcmp(v->stages[i], stage) == 0) {
            return true;
        }
    }
    return false;
}

/* ------------------------------------------------------------------------------------------ */
/* GetSecretValue                                                                               */

int secrets_get_secret_value(struct aws_client *c, const char *secret_id, const char *version_id,
                             const char *version_stage, int64_t deadline_ms,
                             struct secrets_value *out, struct sm_err *err) {
    int result = -1;
    cJSON *resp = NULL;
    memset(out, 0, sizeof(*out));
    cJSON *req = new_request(secret_id);
    if (req != NULL &&
        (!add_str(req, "VersionId", version_id) || !add_str(req, "VersionStage", version_stage))) {
        cJSON_Delete(req);
        req = NULL;
    }
    if (call_json(c, "GetSecretValue", secret_id, req, deadline_ms, &resp, err) != 0) {
        goto out;
    }
    cJSON *s = cJSON_GetObjectItemCaseSensitive(resp, "SecretString");
    if (cJSON_IsString(s)) {
        /* Handed over, not copied: cJSON allocated it through our hooks. */
        out->secret_string = s->valuestring;
        out->secret_string_len = strlen(s->valuestring);
        s->valuestring = NULL;
        if (out->secret_string_len > SM_LIMIT_SECRET_STRING) {
            sm_err_set(err, SM_ERR_PROTOCOL,
                       "GetSecretValue on secret %.256s: the SecretString exceeds %u bytes",
                       secret_id, SM_LIMIT_SECRET_STRING);
            goto out;
        }
    }
    out->has_binary = sm_json_string(resp, "SecretBinary") != NULL;
    result = 0;
out:
    cJSON_Delete(resp); /* the hooks wipe what is left */
    return result;
}

void secrets_value_clean_up(struct secrets_value *v) {
    if (v == NULL) {
        return;
    }
    sm_free(v->secret_string); /* wipes */
    memset(v, 0, sizeof(*v));
}

/* ------------------------------------------------------------------------------------------ */
/* PutSecretValue                                                                               */

int secrets_put_secret_value(struct aws_client *c, const char *secret_id,
                             const char *client_request_token, const char *secret_string,
                             size_t len, const char *const *stages, size_t n_stages,
                             const char *rotation_token, int64_t deadline_ms, struct sm_err *err) {
    int result = -1;
    cJSON *resp = NULL;
    cJSON *req = NULL;
    if (len > SM_LIMIT_SECRET_STRING) {
        sm_err_set(err, SM_ERR_TOO_LARGE,
                   "PutSecretValue on secret %.256s: SecretString of %zu bytes exceeds %u",
                   secret_id, len, SM_LIMIT_SECRET_STRING);
        goto out;
    }
    /* The string is referenced, not copied, so it must end exactly at len; the version id is
     * the caller's, never made up. */
    assert(secret_string != NULL && strlen(secret_string) == len);
    assert(client_request_token != NULL && client_request_token[0] != '\0');
    req = new_request(secret_id);
    cJSON *value = cJSON_CreateStringReference(secret_string);
    if (value == NULL || req == NULL) {
        cJSON_Delete(value);
        goto nomem;
    }
    if (!cJSON_AddItemToObject(req, "SecretString", value)) {
        cJSON_Delete(value); /* not in the tree: the key's copy failed */
        goto nomem;
    }
    if (!add_str(req, "ClientRequestToken", client_request_token)) {
        goto nomem;
    }
    if (n_stages > 0) {
        cJSON *arr = cJSON_AddArrayToObject(req, "VersionStages");
        if (arr == NULL) {
            goto nomem;
        }
        for (size_t i = 0; i < n_stages; i++) {
            cJSON *s = cJSON_CreateString(stages[i]);
            if (s == NULL || !cJSON_AddItemToArray(arr, s)) {
                cJSON_Delete(s);
                goto nomem;
            }
        }
    }
    if (rotation_token != NULL && rotation_token[0] != '\0' &&
        !add_str(req, "RotationToken", rotation_token)) {
        goto nomem;
    }
    result = call_json(c, "PutSecretValue", secret_id, req, deadline_ms, &resp, err);
    req = NULL; /* call_json deleted it */
    goto out;
nomem:
    sm_err_set(err, SM_ERR_NOMEM, "PutSecretValue on secret %.256s: out of memory", secret_id);
out:
    cJSON_Delete(req);
    cJSON_Delete(resp);
    return result;
}

/* ------------------------------------------------------------------------------------------ */
/* UpdateSecretVersionStage                                                                     */

int secrets_update_secret_version_stage(struct aws_client *c, const char *secret_id,
                                        const char *stage, const char *move_to_version_id,
                                        const char *remove_from_version_id, int64_t deadline_ms,
                                        struct sm_err *err) {
    cJSON *resp = NULL;
    cJSON *req = new_request(secret_id);
    if (req != NULL && (!add_str(req, "VersionStage", stage) ||
                        !add_str(req, "MoveToVersionId", move_to_version_id) ||
                        !add_str(req, "RemoveFromVersionId", remove_from_version_id))) {
        cJSON_Delete(req);
        req = NULL;
    }
    int rc = call_json(c, "UpdateSecretVersionStage", secret_id, req, deadline_ms, &resp, err);
    cJSON_Delete(resp);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* GetRandomPassword                                                                            */

int secrets_get_random_password(struct aws_client *c, const struct secrets_password_policy *policy,
                                int64_t deadline_ms, struct sm_buf *out, struct sm_err *err) {
    int result = -1;
    cJSON *resp = NULL;
    cJSON *req = cJSON_CreateObject();
    sm_buf_reset(out);
    if (req != NULL && policy != NULL &&
        ((policy->length > 0 &&
          cJSON_AddNumberToObject(req, "PasswordLength", (double)policy->length) == NULL) ||
         !add_str(req, "ExcludeCharacters", policy->exclude_characters) ||
         !add_bool(req, "ExcludeNumbers", policy->exclude_numbers) ||
         !add_bool(req, "ExcludePunctuation", policy->exclude_punctuation) ||
         !add_bool(req, "ExcludeUppercase", policy->exclude_uppercase) ||
         !add_bool(req, "ExcludeLowercase", policy->exclude_lowercase) ||
         !add_bool(req, "IncludeSpace", policy->include_space) ||
         !add_bool(req, "RequireEachIncludedType", policy->require_each_included_type))) {
        cJSON_Delete(req);
        req = NULL;
    }
    if (call_json(c, "GetRandomPassword", NULL, req, deadline_ms, &resp, err) != 0) {
        goto out;
    }
    const char *pw = sm_json_string(resp, "RandomPassword");
    if (pw == NULL) {
        sm_err_set(err, SM_ERR_PROTOCOL,
                   "GetRandomPassword failed: no RandomPassword in the "
                   "response");
        goto out;
    }
    if (sm_buf_append_str(out, pw, err) != 0 || sm_buf_ensure(out, err) != 0) {
        sm_err_prefix(err, "GetRandomPassword");
        goto out;
    }
    result = 0;
out:
    if (result != 0) {
        sm_buf_reset(out);
    }
    cJSON_Delete(resp); /* the hooks wipe the password copies */
    return result;
}

/* ------------------------------------------------------------------------------------------ */
/* The seam                                                                                     */

static int ops_describe(void *impl, const char *secret_id, int64_t deadline_ms,
                        struct secrets_description *out, struct sm_err *err) {
    return secrets_describe_secret(impl, secret_id, deadline_ms, out, err);
}

static int ops_get_value(void *impl, const char *secret_id, const char *version_id,
                         const char *version_stage, int64_t deadline_ms, struct secrets_value *out,
                         struct sm_err *err) {
    return secrets_get_secret_value(impl, secret_id, version_id, version_stage, deadline_ms, out,
                                    err);
}

static int ops_put_value(void *impl, const char *secret_id, const char *client_request_token,
                         const char *secret_string, size_t len, const char *const *stages,
                         size_t n_stages, const char *rotation_token, int64_t deadline_ms,
                         struct sm_err *err) {
    return secrets_put_secret_value(impl, secret_id, client_request_token, secret_string, len,
                                    stages, n_stages, rotation_token, deadline_ms, err);
}

static int ops_random_password(void *impl, const struct secrets_password_policy *policy,
                               int64_t deadline_ms, struct sm_buf *out, struct sm_err *err) {
    return secrets_get_random_password(impl, policy, deadline_ms, out, err);
}

static int ops_move_stage(void *impl, const char *secret_id, const char *stage,
                          const char *move_to_version_id, const char *remove_from_version_id,
                          int64_t deadline_ms, struct sm_err *err) {
    return secrets_update_secret_version_stage(impl, secret_id, stage, move_to_version_id,
                                               remove_from_version_id, deadline_ms, err);
}

const struct secrets_ops secrets_client_ops = {
    .describe = ops_describe,
    .get_value = ops_get_value,
    .put_value = ops_put_value,
    .random_password = ops_random_password,
    .move_stage = ops_move_stage,
};
