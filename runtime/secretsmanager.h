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
 * unusable endpoint, and SM_ERR_TOO_LARGE / SM_ERR_INTERNAL for a SecretString that cannot
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
#ifndef SECRETS_H
#define SECRETS_H

#include "buf.h"
#include "err.h"
#include "http.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct secrets_config {
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
 * cleaned up. Caller releases cfg with secrets_config_clean_up. */
int secrets_config_from_env(struct secrets_config *cfg, struct sm_err *err);

/* Frees and wipes cfg's strings. Accepts a zeroed struct. */
void secrets_config_clean_up(struct secrets_config *cfg);

struct secrets_client {
    const struct secrets_config *cfg; /* borrowed */
    struct http_client *http;         /* borrowed; shared with the Runtime API client */
    uint64_t calls;                   /* HTTP requests sent, retries included (benchmarks) */
    /* Backoff jitter source, uniform in [0,1). NULL (the default): OpenSSL RAND_bytes. Tests pin
     * it to make backoff delays deterministic. */
    double (*random01)(void);
};

/* Binds a client to a configuration and an HTTP client, both borrowed for its lifetime. Also
 * installs the wiping cJSON hooks (sm_mem_install_hooks). */
void secrets_client_init(struct secrets_client *c, const struct secrets_config *cfg,
                         struct http_client *http);

/* --- Endpoint --- */

#define SECRETS_URL_MAX 2048
#define SECRETS_HOST_MAX 300

struct secrets_endpoint {
    char url[SECRETS_URL_MAX];   /* request URL: the endpoint, with path "/" when it has none */
    char host[SECRETS_HOST_MAX]; /* Host header sent and signed: the URL's host[:port], the port
                                dropped when it is the scheme's default (as curl does) */
    char path[SECRETS_URL_MAX];  /* path signed: the endpoint's path, "/" when it has none */
};

/* Splits an endpoint URL (http:// or https://, no user info, query or fragment) into the URL to
 * request, the Host header value and the path to sign. Returns 0, or -1 with err set
 * (SM_ERR_CONFIG) for an unusable URL. */
int secrets_endpoint_parse(const char *endpoint, struct secrets_endpoint *out, struct sm_err *err);

/* --- Any operation --- */

struct cJSON;

/* Sends one Secrets Manager request (JSON 1.1, signed, retried as described above): `operation`
 * is the X-Amz-Target suffix ("CreateSecret"), body/len the JSON object sent and signed byte for
 * byte. secret_id only names the secret in error messages (NULL: none). On success *out holds
 * the parsed response object (caller frees it with cJSON_Delete; the cJSON hooks wipe it).
 * Returns 0, or -1 with err set and *out NULL. The typed operations below are built on it. */
int secrets_call(struct secrets_client *c, const char *operation, const char *secret_id,
                 const char *body, size_t len, int64_t deadline_ms, struct cJSON **out,
                 struct sm_err *err);

/* Fills err from an AWS error response: the code from the body's `__type` (namespace up to the
 * last '#' and anything from ':' on dropped), else the x-amzn-ErrorType header (error_type_header,
 * may be NULL), else the HTTP status; the message from `message` or `Message`. err->code is
 * classified (throttling codes: SM_ERR_AWS_THROTTLED; 5xx and InternalServiceError-like codes:
 * SM_ERR_AWS_SERVER; signature and credential codes: SM_ERR_AWS_AUTH; anything else, including
 * AccessDeniedException: SM_ERR_AWS_CLIENT), err->aws_type holds the code (empty when only the
 * status was known) and err->msg reads "<operation> on secret <id> failed: <code>: <message>".
 * When the body cannot be parsed for want of memory, err->code is SM_ERR_NOMEM (aws_type empty,
 * http_status set): the code is then unknown. Always returns -1. Used by secrets_call; public for
 * tests. */
int secrets_error_from_response(const char *operation, const char *secret_id, long status,
                                const char *body, size_t len, const char *error_type_header,
                                struct sm_err *err);

/* Whether secrets_call retries an error of this class (throttling, server, transport). */
bool secrets_error_is_retryable(const struct sm_err *err);

/* --- DescribeSecret --- */

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
    char *name;
    int rotation_enabled;             /* -1: absent from the response, 0: false, 1: true */
    struct secrets_version *versions; /* VersionIdsToStages */
    size_t n_versions;
    struct secrets_tag *tags;
    size_t n_tags;
};

/* Caller releases out with secrets_description_clean_up (also after a failure). */
int secrets_describe_secret(struct secrets_client *c, const char *secret_id, int64_t deadline_ms,
                            struct secrets_description *out, struct sm_err *err);
void secrets_description_clean_up(struct secrets_description *d);

/* Labels of version_id in d, or NULL when d does not list it. */
const struct secrets_version *secrets_description_find(const struct secrets_description *d,
                                                       const char *version_id);
/* Whether v carries stage. */
bool secrets_version_has_stage(const struct secrets_version *v, const char *stage);

/* --- GetSecretValue --- */

struct secrets_secret_value {
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
 * with secrets_secret_value_clean_up (also after a failure). */
int secrets_get_secret_value(struct secrets_client *c, const char *secret_id,
                             const char *version_id, const char *version_stage, int64_t deadline_ms,
                             struct secrets_secret_value *out, struct sm_err *err);
void secrets_secret_value_clean_up(struct secrets_secret_value *v);

/* --- PutSecretValue --- */

/* Stores secret_string (len bytes, at most SM_LIMIT_SECRET_STRING, no NUL byte) as version
 * client_request_token with the given stages (n_stages 0: VersionStages omitted, the service then
 * moves AWSCURRENT). A NULL or empty client_request_token gets a random UUID, reused by the
 * retries. rotation_token is sent only when non-NULL and non-empty. */
int secrets_put_secret_value(struct secrets_client *c, const char *secret_id,
                             const char *client_request_token, const char *secret_string,
                             size_t len, const char *const *stages, size_t n_stages,
                             const char *rotation_token, int64_t deadline_ms, struct sm_err *err);

/* --- UpdateSecretVersionStage --- */

/* move_to_version_id and remove_from_version_id may each be NULL (omitted). */
int secrets_update_secret_version_stage(struct secrets_client *c, const char *secret_id,
                                        const char *stage, const char *move_to_version_id,
                                        const char *remove_from_version_id, int64_t deadline_ms,
                                        struct sm_err *err);

/* --- GetRandomPassword --- */

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

/* Writes the password into out (replacing its content; wiped on clean-up). */
int secrets_get_random_password(struct secrets_client *c,
                                const struct secrets_password_policy *policy, int64_t deadline_ms,
                                struct sm_buf *out, struct sm_err *err);

/* --- ListSecretVersionIds --- */

struct secrets_version_list {
    struct secrets_version *versions;
    size_t n_versions;
};

/* Follows NextToken until it is absent or empty (empty pages are skipped; more than 1000 pages is
 * SM_ERR_PROTOCOL). Caller releases out with secrets_version_list_clean_up (also after a failure).
 */
int secrets_list_secret_version_ids(struct secrets_client *c, const char *secret_id,
                                    bool include_deprecated, int64_t deadline_ms,
                                    struct secrets_version_list *out, struct sm_err *err);
void secrets_version_list_clean_up(struct secrets_version_list *l);

#endif
