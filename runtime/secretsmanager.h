/*
 * secretsmanager: a Secrets Manager client (JSON 1.1 over HTTPS, SigV4-signed), no AWS SDK.
 *
 * Owns the configuration (endpoint, region, credentials, CA bundle) and the operations a rotation
 * function needs. Every call takes the invocation deadline (absolute epoch ms, 0 = none): no
 * attempt or retry delay runs past it. Retries follow the AWS SDKs' standard mode: at most 3
 * attempts, full-jitter backoff rand[0,1) * min(2^(attempt-1), 20) s, for throttling codes, 5xx
 * and transport errors; permanent errors are returned at once.
 *
 * Errors: err->code is SM_ERR_AWS_THROTTLED, SM_ERR_AWS_SERVER, SM_ERR_AWS_CLIENT, SM_ERR_AWS_AUTH,
 * SM_ERR_TRANSPORT, SM_ERR_DEADLINE, SM_ERR_PROTOCOL or SM_ERR_NOMEM; for errors the service
 * answered, err->aws_type holds its code without namespace (`ResourceNotFoundException`) and
 * err->http_status its status. The message names the operation, the secret id and AWS's message;
 * never a secret value, signature, key or token.
 *
 * Secret values (SecretString, RandomPassword) are returned in sm_buf (wiped on clean-up).
 */
#ifndef SM_SECRETSMANAGER_H
#define SM_SECRETSMANAGER_H

#include "buf.h"
#include "err.h"
#include "http.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct smc_config {
    char *region;            /* AWS_REGION, else AWS_DEFAULT_REGION */
    char *endpoint;          /* base URL, e.g. https://secretsmanager.us-east-1.amazonaws.com */
    char *access_key_id;     /* AWS_ACCESS_KEY_ID */
    char *secret_access_key; /* AWS_SECRET_ACCESS_KEY; wiped on clean-up */
    char *session_token;     /* AWS_SESSION_TOKEN or NULL; wiped on clean-up */
    char *ca_file;           /* CA bundle for https, or NULL for libcurl's default */
    long connect_timeout_ms; /* per attempt; default 3000 */
    long attempt_timeout_ms; /* per attempt; default 10000; always capped by the deadline */
    int max_attempts;        /* default 3 */
};

/* Fills cfg from the environment:
 *   credentials  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN
 *   region       AWS_REGION, else AWS_DEFAULT_REGION
 *   endpoint     SECRETS_MANAGER_ENDPOINT, else AWS_ENDPOINT_URL_SECRETS_MANAGER, else
 *                AWS_ENDPOINT_URL, else https://secretsmanager[-fips].<region>.amazonaws.com
 *                (-fips when AWS_USE_FIPS_ENDPOINT=true)
 *   CA bundle    SMROTATE_CA_FILE, else the first of /etc/pki/tls/certs/ca-bundle.crt (Amazon
 *                Linux) and /etc/ssl/certs/ca-certificates.crt (Debian) that exists
 * Returns 0, or -1 with err (SM_ERR_CONFIG) naming the missing or invalid variable; cfg is then
 * cleaned up. Caller releases cfg with smc_config_clean_up. */
int smc_config_from_env(struct smc_config *cfg, struct sm_err *err);

/* Frees and wipes cfg's strings. Accepts a zeroed struct. */
void smc_config_clean_up(struct smc_config *cfg);

struct smc_client {
    const struct smc_config *cfg; /* borrowed */
    struct http_client *http;     /* borrowed; shared with the Runtime API client */
    uint64_t calls;               /* HTTP requests sent, retries included (benchmarks) */
};

/* Binds a client to a configuration and an HTTP client, both borrowed for its lifetime. */
void smc_client_init(struct smc_client *c, const struct smc_config *cfg, struct http_client *http);

/* --- DescribeSecret --- */

struct smc_version {
    char *version_id;
    char **stages; /* n_stages labels */
    size_t n_stages;
};

struct smc_tag {
    char *key;
    char *value;
};

struct smc_description {
    char *arn;
    char *name;
    int rotation_enabled;         /* -1: absent from the response, 0: false, 1: true */
    struct smc_version *versions; /* VersionIdsToStages */
    size_t n_versions;
    struct smc_tag *tags;
    size_t n_tags;
};

/* Caller releases out with smc_description_clean_up (also after a failure). */
int smc_describe_secret(struct smc_client *c, const char *secret_id, int64_t deadline_ms,
                        struct smc_description *out, struct sm_err *err);
void smc_description_clean_up(struct smc_description *d);

/* Labels of version_id in d, or NULL when d does not list it. */
const struct smc_version *smc_description_find(const struct smc_description *d,
                                               const char *version_id);
/* Whether v carries stage. */
bool smc_version_has_stage(const struct smc_version *v, const char *stage);

/* --- GetSecretValue --- */

struct smc_secret_value {
    char *arn;
    char *name;
    char *version_id;
    char **stages;
    size_t n_stages;
    bool has_string;             /* SecretString present */
    bool has_binary;             /* SecretBinary present (not decoded) */
    struct sm_buf secret_string; /* wiped on clean-up */
};

/* version_id and version_stage may each be NULL (both NULL: AWSCURRENT). Caller releases out
 * with smc_secret_value_clean_up (also after a failure). */
int smc_get_secret_value(struct smc_client *c, const char *secret_id, const char *version_id,
                         const char *version_stage, int64_t deadline_ms,
                         struct smc_secret_value *out, struct sm_err *err);
void smc_secret_value_clean_up(struct smc_secret_value *v);

/* --- PutSecretValue --- */

/* Stores secret_string (len bytes) as version client_request_token with the given stages.
 * rotation_token is sent only when non-NULL and non-empty. */
int smc_put_secret_value(struct smc_client *c, const char *secret_id,
                         const char *client_request_token, const char *secret_string, size_t len,
                         const char *const *stages, size_t n_stages, const char *rotation_token,
                         int64_t deadline_ms, struct sm_err *err);

/* --- UpdateSecretVersionStage --- */

/* move_to_version_id and remove_from_version_id may each be NULL (omitted). */
int smc_update_secret_version_stage(struct smc_client *c, const char *secret_id, const char *stage,
                                    const char *move_to_version_id,
                                    const char *remove_from_version_id, int64_t deadline_ms,
                                    struct sm_err *err);

/* --- GetRandomPassword --- */

enum smc_tristate { SMC_UNSET = -1, SMC_FALSE = 0, SMC_TRUE = 1 };

struct smc_password_policy {
    long length;                    /* 0: omitted (service default 32) */
    const char *exclude_characters; /* NULL: omitted */
    enum smc_tristate exclude_numbers;
    enum smc_tristate exclude_punctuation;
    enum smc_tristate exclude_uppercase;
    enum smc_tristate exclude_lowercase;
    enum smc_tristate include_space;
    enum smc_tristate require_each_included_type;
};

/* Writes the password into out (replacing its content; wiped on clean-up). */
int smc_get_random_password(struct smc_client *c, const struct smc_password_policy *policy,
                            int64_t deadline_ms, struct sm_buf *out, struct sm_err *err);

/* --- ListSecretVersionIds --- */

struct smc_version_list {
    struct smc_version *versions;
    size_t n_versions;
};

/* Follows NextToken until the last page. Caller releases out with smc_version_list_clean_up. */
int smc_list_secret_version_ids(struct smc_client *c, const char *secret_id,
                                bool include_deprecated, int64_t deadline_ms,
                                struct smc_version_list *out, struct sm_err *err);
void smc_version_list_clean_up(struct smc_version_list *l);

#endif
