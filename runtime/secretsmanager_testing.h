/*
 * secretsmanager_testing: the Secrets Manager client's pieces behind secrets_client_ops, for
 * tests, torture walks, benchmarks and the fuzz target. Only secretsmanager.c, which defines
 * them, and tests include it.
 */
#ifndef SM_SECRETSMANAGER_TESTING_H
#define SM_SECRETSMANAGER_TESTING_H

#include "secretsmanager.h"

extern const struct aws_service secrets_service;

struct cJSON;

/* Sends one request (JSON 1.1): operation is the X-Amz-Target suffix ("CreateSecret"), body/len
 * the JSON object sent and signed byte for byte. secret_id only names the secret in error
 * messages (NULL: none). On success *out holds the parsed response object (caller frees it with
 * cJSON_Delete; the cJSON hooks wipe it). The typed operations are built on it; tests use it for
 * operations a rotation does not need (CreateSecret, RotateSecret). */
int secrets_call(struct aws_client *c, const char *operation, const char *secret_id,
                 const char *body, size_t len, int64_t deadline_ms, struct cJSON **out,
                 struct sm_err *err);

/* Reads a JSON 1.1 error body: the code from `__type`, the message from `message` or `Message`:
 * secrets_service's read_error. */
int secrets_read_error(const char *body, size_t len, struct aws_error_fields *out);

/* The typed operations (what secrets_client_ops calls), on an aws_client. */
int secrets_describe_secret(struct aws_client *c, const char *secret_id, int64_t deadline_ms,
                            struct secrets_description *out, struct sm_err *err);
int secrets_get_secret_value(struct aws_client *c, const char *secret_id, const char *version_id,
                             const char *version_stage, int64_t deadline_ms,
                             struct secrets_value *out, struct sm_err *err);
int secrets_put_secret_value(struct aws_client *c, const char *secret_id,
                             const char *client_request_token, const char *secret_string,
                             size_t len, const char *const *stages, size_t n_stages,
                             const char *rotation_token, int64_t deadline_ms, struct sm_err *err);
int secrets_get_random_password(struct aws_client *c, const struct secrets_password_policy *policy,
                                int64_t deadline_ms, struct sm_buf *out, struct sm_err *err);
int secrets_update_secret_version_stage(struct aws_client *c, const char *secret_id,
                                        const char *stage, const char *move_to_version_id,
                                        const char *remove_from_version_id, int64_t deadline_ms,
                                        struct sm_err *err);

#endif
