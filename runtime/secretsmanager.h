/*
 * secretsmanager: Secrets Manager as a rotation function uses it, and the client that speaks it.
 *
 * Owns the operations' data types, the const table of the five operations a rotation uses
 * (struct secrets_ops: the seam the rotation steps are written against, implemented here over
 * HTTP and in process by tests/fakes/fake_secrets.c), and the real client: JSON 1.1 over the AWS
 * layer (aws.h: signing, retries, deadlines, error classes), with X-Amz-Target
 * secretsmanager.<Op>. Errors are the AWS layer's; messages read "<Operation> on secret <id>
 * failed: <Code>: <AWS message>".
 *
 * Secret values (SecretString, RandomPassword) are returned in memory from our allocator, which
 * wipes on free; the client never copies a SecretString it can hand over instead.
 */
#ifndef SM_SECRETSMANAGER_H
#define SM_SECRETSMANAGER_H

#include "aws.h"
#include "buf.h"
#include "err.h"

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* --- data --------------------------------------------------------------------------------- */

struct secrets_version {
    char *version_id;
    char **stages; /* n_stages labels */
    size_t n_stages;
};

struct secrets_tag {
    char *key;
    char *value;
};

struct secrets_description {
    char *arn;
    int rotation_enabled;             /* -1: absent from the response, 0: false, 1: true */
    char *rotation_lambda_arn;        /* RotationLambdaARN; NULL when absent */
    long rotation_after_days;         /* RotationRules.AutomaticallyAfterDays; 0 when absent */
    char *rotation_schedule;          /* RotationRules.ScheduleExpression; NULL when absent */
    struct secrets_version *versions; /* VersionIdsToStages */
    size_t n_versions;
    struct secrets_tag *tags;
    size_t n_tags;
};

/* Releases d (also after a failure). Accepts a zeroed struct. */
void secrets_description_clean_up(struct secrets_description *d);

/* The labels of version_id in d, or NULL when d does not list it. */
const struct secrets_version *secrets_description_find(const struct secrets_description *d,
                                                       const char *version_id);

/* The version holding stage in d, or NULL. */
const struct secrets_version *secrets_description_holder(const struct secrets_description *d,
                                                         const char *stage);

/* Whether v carries stage (false for NULL). */
bool secrets_version_has_stage(const struct secrets_version *v, const char *stage);

/* The value of tag key in d, compared case-insensitively, or NULL. */
const char *secrets_description_tag(const struct secrets_description *d, const char *key);

struct secrets_value {
    char *secret_string; /* NULL when the version has no SecretString; ours: sm_free wipes */
    size_t secret_string_len;
    bool has_binary; /* SecretBinary present (not decoded) */
};

/* Wipes and releases v (also after a failure). Accepts a zeroed struct. */
void secrets_value_clean_up(struct secrets_value *v);

enum secrets_tristate { SECRETS_UNSET = -1, SECRETS_FALSE = 0, SECRETS_TRUE = 1 };

struct secrets_password_policy {
    long length;                    /* 0: omitted (service default 32) */
    const char *exclude_characters; /* NULL: omitted */
    enum secrets_tristate exclude_numbers;
    enum secrets_tristate exclude_punctuation;
    enum secrets_tristate exclude_uppercase;
    enum secrets_tristate exclude_lowercase;
    enum secrets_tristate include_space;
    enum secrets_tristate require_each_included_type;
};

/* --- the seam ----------------------------------------------------------------------------- */

/* The operations a rotation uses. impl is the implementation's own state (for the HTTP client,
 * a struct aws_client). deadline_ms is absolute epoch ms, 0 = none. Each returns 0, or -1 with
 * err set; on -1 the out value is still safe to clean up. */
struct secrets_ops {
    /* DescribeSecret. Caller releases out with secrets_description_clean_up. */
    int (*describe)(void *impl, const char *secret_id, int64_t deadline_ms,
                    struct secrets_description *out, struct sm_err *err);
    /* GetSecretValue of version_id and/or version_stage (both NULL: AWSCURRENT). A missing
     * version is err->aws_type ResourceNotFoundException. Caller releases out with
     * secrets_value_clean_up. */
    int (*get_value)(void *impl, const char *secret_id, const char *version_id,
                     const char *version_stage, int64_t deadline_ms, struct secrets_value *out,
                     struct sm_err *err);
    /* PutSecretValue of secret_string (len bytes, at most SM_LIMIT_SECRET_STRING, no NUL byte) as
     * version client_request_token (non-empty) with the given stages; rotation_token is sent
     * only when non-NULL and non-empty. */
    int (*put_value)(void *impl, const char *secret_id, const char *client_request_token,
                     const char *secret_string, size_t len, const char *const *stages,
                     size_t n_stages, const char *rotation_token, int64_t deadline_ms,
                     struct sm_err *err);
    /* GetRandomPassword; writes the password into out (replacing its content). */
    int (*random_password)(void *impl, const struct secrets_password_policy *policy,
                           int64_t deadline_ms, struct sm_buf *out, struct sm_err *err);
    /* UpdateSecretVersionStage; move_to_version_id and remove_from_version_id may each be NULL. */
    int (*move_stage)(void *impl, const char *secret_id, const char *stage,
                      const char *move_to_version_id, const char *remove_from_version_id,
                      int64_t deadline_ms, struct sm_err *err);
};

/* The real client's table; impl is a struct aws_client bound with secrets_client_init. */
extern const struct secrets_ops secrets_client_ops;

/* Secrets Manager as its callers hold it: a table and its state, one object. Both borrowed. */
struct secrets_api {
    const struct secrets_ops *ops;
    void *impl;
};

static inline int secrets_api_describe(const struct secrets_api *api, const char *secret_id,
                                       int64_t deadline_ms, struct secrets_description *out,
                                       struct sm_err *err) {
    assert(api->ops != NULL);
    return api->ops->describe(api->impl, secret_id, deadline_ms, out, err);
}

static inline int secrets_api_get_value(const struct secrets_api *api, const char *secret_id,
                                        const char *version_id, const char *version_stage,
                                        int64_t deadline_ms, struct secrets_value *out,
                                        struct sm_err *err) {
    assert(api->ops != NULL);
    return api->ops->get_value(api->impl, secret_id, version_id, version_stage, deadline_ms, out,
                               err);
}

static inline int secrets_api_put_value(const struct secrets_api *api, const char *secret_id,
                                        const char *client_request_token, const char *secret_string,
                                        size_t len, const char *const *stages, size_t n_stages,
                                        const char *rotation_token, int64_t deadline_ms,
                                        struct sm_err *err) {
    assert(api->ops != NULL);
    return api->ops->put_value(api->impl, secret_id, client_request_token, secret_string, len,
                               stages, n_stages, rotation_token, deadline_ms, err);
}

static inline int secrets_api_random_password(const struct secrets_api *api,
                                              const struct secrets_password_policy *policy,
                                              int64_t deadline_ms, struct sm_buf *out,
                                              struct sm_err *err) {
    assert(api->ops != NULL);
    return api->ops->random_password(api->impl, policy, deadline_ms, out, err);
}

static inline int secrets_api_move_stage(const struct secrets_api *api, const char *secret_id,
                                         const char *stage, const char *move_to_version_id,
                                         const char *remove_from_version_id, int64_t deadline_ms,
                                         struct sm_err *err) {
    assert(api->ops != NULL);
    return api->ops->move_stage(api->impl, secret_id, stage, move_to_version_id,
                                remove_from_version_id, deadline_ms, err);
}

/* --- the client --------------------------------------------------------------------------- */

/* The endpoint URL: SECRETS_MANAGER_ENDPOINT (the templates' variable), else
 * AWS_ENDPOINT_URL_SECRETS_MANAGER, else AWS_ENDPOINT_URL, else
 * https://secretsmanager[-fips].<region>.amazonaws.com. *out is the caller's (sm_free). */
int secrets_endpoint_from_env(const struct aws_config *cfg, char **out, struct sm_err *err);

/* Binds c to Secrets Manager at endpoint (aws_client_init). */
int secrets_client_init(struct aws_client *c, const struct aws_config *cfg, const char *endpoint,
                        struct http_client *http, struct sm_err *err);

#endif
