/*
 * secretsmanager: a Secrets Manager client (JSON 1.1 over HTTPS, SigV4-signed), no AWS SDK.
 *
 * Owns the configuration (endpoint, region, credentials, CA bundle) and the operations a rotation
 * function needs. Every request is `POST /` with Content-Type application/x-amz-json-1.1,
 * X-Amz-Target secretsmanager.<Op>, X-Amz-Date, X-Amz-Security-Token when a session token is set,
 * and SigV4 over content-type;host;x-amz-date[;x-amz-security-token];x-amz-target, where host is
 * the Host header actually sent (host[:port] of the endpoint). The body is serialised once and
 * those exact bytes are hashed; every attempt is signed afresh. One borrowed http_client carries
 * all calls, so its keep-alive connection is reused.
 *
 * Every call takes the invocation deadline (absolute epoch ms, 0 = none): no attempt or retry
 * delay runs past it. Each attempt's timeout is min(attempt_timeout_ms, time left). Retries follow
 * the AWS SDKs' standard mode: at most max_attempts (3) attempts, full-jitter backoff
 * rand[0,1) * min(2^(attempt-1), 20) s, for throttling codes (LimitExceededException included, as
 * in the SDKs), 5xx and transport errors (timeouts included); permanent errors are returned at
 * once. When the next delay would reach the deadline the last error is returned with a note
 * saying the deadline cut the retries short. `calls` counts attempts (libcurl may itself resend
 * once on a keep-alive connection that died before answering; that counts as one).
 *
 * Errors: err->code is SM_ERR_AWS_THROTTLED, SM_ERR_AWS_SERVER, SM_ERR_AWS_CLIENT, SM_ERR_AWS_AUTH,
 * SM_ERR_TRANSPORT, SM_ERR_DEADLINE, SM_ERR_PROTOCOL or SM_ERR_NOMEM (plus SM_ERR_CONFIG for an
 * unusable endpoint, and SM_ERR_TOO_LARGE / SM_ERR_SECRET_INVALID for a SecretString that cannot
 * be sent). For errors the service answered, err->aws_type holds its code without namespace
 * (`ResourceNotFoundException`) and err->http_status its status. The message reads
 * "<Operation> on secret <id> failed: <Code>: <AWS message>" (plus " (after N attempts)" when
 * retries ran out); never a secret value, signature, key or token. AccessDeniedException is
 * SM_ERR_AWS_CLIENT (an IAM/KMS permission, not a credential problem); signature and credential
 * errors (InvalidSignatureException, UnrecognizedClientException, ExpiredTokenException, ...) are
 * SM_ERR_AWS_AUTH. Logs: DEBUG lines with operation, secret id, attempt and status only.
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
    /* Backoff jitter source, uniform in [0,1). NULL (the default): OpenSSL RAND_bytes. Tests pin
     * it to make backoff delays deterministic. */
    double (*random01)(void);
};

/* Binds a client to a configuration and an HTTP client, both borrowed for its lifetime. Also
 * installs the wiping cJSON hooks (sm_mem_install_hooks). */
void smc_client_init(struct smc_client *c, const struct smc_config *cfg, struct http_client *http);

/* --- Endpoint --- */

#define SMC_URL_MAX 2048
#define SMC_HOST_MAX 300

struct smc_endpoint {
    char url[SMC_URL_MAX];   /* request URL: the endpoint, with path "/" when it has none */
    char host[SMC_HOST_MAX]; /* Host header sent and signed: the URL's host[:port], the port
                                dropped when it is the scheme's default (as curl does) */
    char path[SMC_URL_MAX];  /* path signed: the endpoint's path, "/" when it has none */
};

/* Splits an endpoint URL (http:// or https://, no user info, query or fragment) into the URL to
 * request, the Host header value and the path to sign. Returns 0, or -1 with err set
 * (SM_ERR_CONFIG) for an unusable URL. */
int smc_endpoint_parse(const char *endpoint, struct smc_endpoint *out, struct sm_err *err);

/* --- Any operation --- */

struct cJSON;

/* Sends one Secrets Manager request (JSON 1.1, signed, retried as described above): `operation`
 * is the X-Amz-Target suffix ("CreateSecret"), body/len the JSON object sent and signed byte for
 * byte. secret_id only names the secret in error messages (NULL: none). On success *out holds
 * the parsed response object (caller frees it with cJSON_Delete; the cJSON hooks wipe it).
 * Returns 0, or -1 with err set and *out NULL. The typed operations below are built on it. */
int smc_call(struct smc_client *c, const char *operation, const char *secret_id, const char *body,
             size_t len, int64_t deadline_ms, struct cJSON **out, struct sm_err *err);

/* Fills err from an AWS error response: the code from the body's `__type` (namespace up to the
 * last '#' and anything from ':' on dropped), else the x-amzn-ErrorType header (error_type_header,
 * may be NULL), else the HTTP status; the message from `message` or `Message`. err->code is
 * classified (throttling codes: SM_ERR_AWS_THROTTLED; 5xx and InternalServiceError-like codes:
 * SM_ERR_AWS_SERVER; signature and credential codes: SM_ERR_AWS_AUTH; anything else, including
 * AccessDeniedException: SM_ERR_AWS_CLIENT), err->aws_type holds the code (empty when only the
 * status was known) and err->msg reads "<operation> on secret <id> failed: <code>: <message>".
 * When the body cannot be parsed for want of memory, err->code is SM_ERR_NOMEM (aws_type empty,
 * http_status set): the code is then unknown. Always returns -1. Used by smc_call; public for
 * tests. */
int smc_error_from_response(const char *operation, const char *secret_id, long status,
                            const char *body, size_t len, const char *error_type_header,
                            struct sm_err *err);

/* Whether smc_call retries an error of this class (throttling, server, transport). */
bool smc_error_is_retryable(const struct sm_err *err);

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

/* Stores secret_string (len bytes, at most SM_LIMIT_SECRET_STRING, no NUL byte) as version
 * client_request_token with the given stages (n_stages 0: VersionStages omitted, the service then
 * moves AWSCURRENT). A NULL or empty client_request_token gets a random UUID, reused by the
 * retries. rotation_token is sent only when non-NULL and non-empty. */
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

/* Follows NextToken until it is absent or empty (empty pages are skipped; more than 1000 pages is
 * SM_ERR_PROTOCOL). Caller releases out with smc_version_list_clean_up (also after a failure). */
int smc_list_secret_version_ids(struct smc_client *c, const char *secret_id,
                                bool include_deprecated, int64_t deadline_ms,
                                struct smc_version_list *out, struct sm_err *err);
void smc_version_list_clean_up(struct smc_version_list *l);

#endif
