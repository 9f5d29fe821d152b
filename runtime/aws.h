/*
 * aws: the AWS client layer every service file builds on, no AWS SDK.
 *
 * Owns what all AWS APIs share: credentials, region, CA bundle and proxy from the environment;
 * endpoints as the SDKs choose them; SigV4 signing (sigv4.h); one HTTP exchange per attempt
 * (http.h, through the client's system: transport, clock and randomness, a seam of its own);
 * retries in the SDKs' standard retry mode within the invocation deadline; and error classes
 * from one table. A service is a const struct aws_service (its signing name, content
 * type and error-body reader) and a thin file of typed operations on top: secretsmanager.c (JSON
 * 1.1), rds.c (Query, XML).
 *
 * Requests: `POST <endpoint path>` with Content-Type, X-Amz-Date, X-Amz-Target (when the service
 * has one), X-Amz-Security-Token (when a session token is set) and Authorization; every one of
 * them but Authorization is signed, and Host (the header actually sent: host[:port] of the
 * endpoint). The caller's body bytes are signed and sent as they are (never copied); every
 * attempt is signed afresh. An anonymous request (struct aws_request) carries only Host and
 * Content-Type (the one anonymous operation, STS's, has no X-Amz-Target). Inside Lambda,
 * X-Amzn-Trace-Id carries _X_AMZN_TRACE_ID (unsigned, as the SDKs send it).
 *
 * Retries (standard mode): at most max_attempts (3) attempts, full-jitter backoff
 * rand[0,1) * min(2^(attempt-1), 20) s, for the transient classes of the error catalogue
 * (SM_ERR_AWS_THROTTLED, SM_ERR_AWS_SERVER, SM_ERR_TRANSPORT: sm_code_is_transient); anything
 * else is returned at once. Each attempt's timeout is min(attempt_timeout_ms, time left before
 * the deadline); no attempt or delay runs past the deadline, and when the next delay would reach
 * it the last error is returned with a note saying so.
 *
 * Errors: err->code is SM_ERR_AWS_THROTTLED, _SERVER, _CLIENT, _AUTH (an answered error; then
 * err->aws_type holds the service's code without namespace and err->http_status the status),
 * SM_ERR_TRANSPORT, SM_ERR_DEADLINE, SM_ERR_PROTOCOL, SM_ERR_NOMEM or SM_ERR_CONFIG. Messages
 * read "<Operation> on <resource> failed: <Code>: <AWS message>" (plus " (after N attempts)");
 * never a secret value, signature, key or token. AccessDenied is SM_ERR_AWS_CLIENT (a missing
 * permission, not a credential problem). Logs: DEBUG lines with operation, attempt and status.
 */
#ifndef SM_AWS_H
#define SM_AWS_H

#include "buf.h"
#include "err.h"
#include "http.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AWS_DEFAULT_CONNECT_TIMEOUT_MS 3000
#define AWS_DEFAULT_ATTEMPT_TIMEOUT_MS 10000
#define AWS_DEFAULT_MAX_ATTEMPTS 3
#define AWS_URL_MAX 2048
#define AWS_HOST_MAX 300
/* The longest _X_AMZN_TRACE_ID sent on as X-Amzn-Trace-Id. */
#define AWS_TRACE_ID_MAX 512
/* One AWS response body we accept. */
#define AWS_LIMIT_RESPONSE SM_LIMIT_AWS_RESPONSE

struct aws_config {
    char *region;            /* AWS_REGION, else AWS_DEFAULT_REGION */
    char *access_key_id;     /* AWS_ACCESS_KEY_ID */
    char *secret_access_key; /* AWS_SECRET_ACCESS_KEY; wiped on clean-up */
    char *session_token;     /* AWS_SESSION_TOKEN or NULL; wiped on clean-up */
    char *ca_file;           /* CA bundle for https, or NULL for libcurl's default */
    /* Proxies as the SDKs read them (NULL: none): HTTPS_PROXY/https_proxy for https endpoints,
     * HTTP_PROXY/http_proxy for http ones, NO_PROXY/no_proxy (libcurl's syntax: a comma
     * separated list of host names, domain suffixes and addresses; "*" for all). Never used for
     * the Lambda Runtime API. */
    char *https_proxy;
    char *http_proxy;
    char *no_proxy;
    long connect_timeout_ms; /* per attempt; default 3000 */
    long attempt_timeout_ms; /* per attempt; default 10000; always capped by the deadline */
    int max_attempts;        /* default 3 */
};

/* Fills cfg from the environment (in Lambda: everything comes from there):
 *   credentials  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN
 *   the rest     as aws_config_settings_from_env, the region required
 * Returns 0, or -1 with err (SM_ERR_CONFIG naming the missing or invalid variable; SM_ERR_NOMEM);
 * cfg is then cleaned up. Caller releases cfg with aws_config_clean_up. */
int aws_config_from_env(struct aws_config *cfg, struct sm_err *err);

/* Fills cfg with everything but the credentials, for a caller that resolves them itself (a shell:
 * creds_resolve, credentials.h):
 *   region       AWS_REGION, else AWS_DEFAULT_REGION, else NULL
 *   CA bundle    SMROTATE_CA_FILE, else the first of /etc/pki/tls/certs/ca-bundle.crt (Amazon
 *                Linux) and /etc/ssl/certs/ca-certificates.crt (Debian) that exists
 *   proxies      HTTPS_PROXY, https_proxy, HTTP_PROXY, http_proxy, NO_PROXY, no_proxy (the
 *                upper-case name wins when both are set)
 *   timeouts and attempts: the defaults above
 * Same return and clean-up contract as aws_config_from_env. */
int aws_config_settings_from_env(struct aws_config *cfg, struct sm_err *err);

/* Replaces cfg->region with a copy of region once it is checked to be a region name (lower-case
 * letters, digits and '-'); origin says where it came from in the message ("--region",
 * "AWS_REGION", "region in profile dev"). Returns 0, or -1 with err (SM_ERR_CONFIG, SM_ERR_NOMEM;
 * cfg->region is then unchanged). */
int aws_config_set_region(struct aws_config *cfg, const char *region, const char *origin,
                          struct sm_err *err);

/* Frees and wipes cfg's strings. Accepts a zeroed struct. */
void aws_config_clean_up(struct aws_config *cfg);

/* The endpoint URL of a service, as the SDKs choose it: the first of the environment variables
 * vars (NULL-terminated, e.g. {"SECRETS_MANAGER_ENDPOINT", "AWS_ENDPOINT_URL_SECRETS_MANAGER",
 * "AWS_ENDPOINT_URL", NULL}) that is set and non-empty, else
 * https://<prefix>[-fips].<region>.<partition DNS suffix> (-fips when AWS_USE_FIPS_ENDPOINT is
 * true). *out is the caller's (sm_free). Returns 0, or -1 with err (SM_ERR_CONFIG naming the
 * variable whose URL is unusable, SM_ERR_NOMEM). */
int aws_endpoint_from_env(const char *const *vars, const char *prefix, const char *region,
                          char **out, struct sm_err *err);

struct aws_endpoint {
    char url[AWS_URL_MAX];   /* request URL: the endpoint, with path "/" when it has none */
    char host[AWS_HOST_MAX]; /* Host header sent and signed: the URL's host[:port], the port
                                dropped when it is the scheme's default (as curl does) */
    char path[AWS_URL_MAX];  /* path signed: the endpoint's path, "/" when it has none */
    bool https;
};

/* Splits an endpoint URL (http:// or https://, no user info, query or fragment) into the URL to
 * request, the Host header value and the path to sign. Returns 0, or -1 with err set
 * (SM_ERR_CONFIG) for an unusable URL. */
int aws_endpoint_parse(const char *endpoint, struct aws_endpoint *out, struct sm_err *err);

/* What a service's error answer says. */
struct aws_error_fields {
    char code[SM_ERR_TYPE_MAX]; /* without namespace; "" when unknown */
    char message[400];          /* on one line (sm_str_one_line); "" when none */
};

struct aws_service {
    const char *name;         /* for messages: "Secrets Manager", "RDS" */
    const char *signing_name; /* SigV4 service: "secretsmanager", "rds" */
    const char *content_type; /* of the request body */
    /* X-Amz-Target prefix ("secretsmanager"): the header is "<prefix>.<Operation>"; NULL for
     * services that name the operation in the body (Query). */
    const char *target_prefix;
    /* Reads an error body (len bytes, may be empty) into out's fields (pre-cleared; leave a
     * field empty when the body does not say). Returns 0, or -1 when out of memory (the code is
     * then unknown and the error is reported as SM_ERR_NOMEM). */
    int (*read_error)(const char *body, size_t len, struct aws_error_fields *out);
};

/* What a client needs from the world: one HTTP exchange, the time, a pause and the backoff's
 * randomness, as one const table and its state. aws_client_init installs the real one (its
 * impl is the borrowed struct http_client: http_perform, CLOCK_REALTIME, nanosleep, OpenSSL
 * RAND_bytes); tests install their own, so retries, backoff and deadlines run in process
 * without sleeping. Every slot must be set. */
struct aws_system_ops {
    /* http_perform's contract. */
    int (*perform)(void *impl, const struct http_request *req, struct http_response *resp,
                   struct sm_err *err);
    int64_t (*now_ms)(void *impl); /* milliseconds since the Unix epoch */
    void (*sleep_ms)(void *impl, int64_t ms);
    double (*random01)(void *impl); /* uniform in [0,1) */
};

struct aws_system {
    const struct aws_system_ops *ops;
    void *impl;
};

/* The real system over http (borrowed): what aws_client_init installs, for the callers that
 * make their own exchanges through the same seam (the credential chain, credentials.h). */
struct aws_system aws_system_real(struct http_client *http);

struct aws_client {
    const struct aws_service *service;
    const struct aws_config *cfg; /* borrowed */
    struct aws_system system;     /* the real one over a borrowed http_client, or a test's */
    struct aws_endpoint endpoint;
    uint64_t calls; /* HTTP attempts sent, retries included: the DEBUG per-step counts */
};

/* Binds a client to a service, a configuration and an HTTP client (both borrowed for its
 * lifetime, http shared with the Runtime API client) and an endpoint URL (parsed and copied),
 * with the real system. Also installs the wiping cJSON hooks. Returns 0, or -1 with err
 * (SM_ERR_CONFIG for an unusable endpoint). */
int aws_client_init(struct aws_client *c, const struct aws_service *service,
                    const struct aws_config *cfg, const char *endpoint, struct http_client *http,
                    struct sm_err *err);

struct aws_request {
    const char *operation; /* "GetSecretValue": X-Amz-Target suffix and messages */
    const char *resource;  /* names what it is about in messages ("secret X"), or NULL */
    const char *body;      /* borrowed; signed and sent byte for byte */
    size_t len;
    /* Sent without SigV4 (no X-Amz-Date, Authorization or X-Amz-Security-Token), for the
     * operations whose model needs no auth: STS AssumeRoleWithWebIdentity. */
    bool anonymous;
};

/* Sends req (signed, retried as described above). On success (2xx) resp holds the answer; resp
 * must have been initialised by the caller (http_response_init with AWS_LIMIT_RESPONSE) and is
 * the caller's to clean up either way. Returns 0, or -1 with err set. */
int aws_send(struct aws_client *c, const struct aws_request *req, int64_t deadline_ms,
             struct http_response *resp, struct sm_err *err);

/* Copies an error code: from ':' on is dropped, then everything up to the last '#'; only token
 * characters are kept (the code lands in logs and the Lambda errorType). raw may be NULL. */
void aws_error_code_copy(const char *raw, char *out, size_t size);

#endif
