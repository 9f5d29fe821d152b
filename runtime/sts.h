/*
 * sts: the AWS Security Token Service client, for the credential chain (credentials.h): the two
 * operations that turn one identity into another's temporary credentials.
 *
 * STS speaks the Query protocol (Action, Version=2011-06-15, form-encoded POST to /) over the AWS
 * layer (aws.h: retries, deadlines, error classes), answered in XML read by aws_query.h.
 * AssumeRole is signed for service `sts` with the caller's (source) credentials;
 * AssumeRoleWithWebIdentity is sent anonymous, as its model has no auth (botocore sends it
 * unsigned). Endpoint as the SDKs choose it: AWS_ENDPOINT_URL_STS, else AWS_ENDPOINT_URL, else
 * the regional https://sts[-fips].<region>.<partition suffix> (botocore's default,
 * sts_regional_endpoints = regional).
 *
 * What STS answers holds a secret key and a session token: they live in sm_ memory, wiped when
 * freed, and never reach a message or log line.
 */
#ifndef SM_STS_H
#define SM_STS_H

#include "aws.h"
#include "err.h"

#include <stdint.h>

/* Temporary credentials. Owned strings (sm_free), secret ones wiped; NULL when absent. */
struct sts_credentials {
    char *access_key_id;     /* Credentials/AccessKeyId */
    char *secret_access_key; /* Credentials/SecretAccessKey */
    char *session_token;     /* Credentials/SessionToken */
    char *expiration;        /* Credentials/Expiration, ISO 8601 as STS wrote it */
};

/* Wipes and frees the strings. Accepts a zeroed struct. */
void sts_credentials_clean_up(struct sts_credentials *c);

/* The endpoint URL (see above). *out is the caller's (sm_free). Returns 0, or -1 with err
 * (SM_ERR_CONFIG naming an unusable variable, SM_ERR_NOMEM). */
int sts_endpoint_from_env(const struct aws_config *cfg, char **out, struct sm_err *err);

/* Binds c to STS at endpoint with cfg (borrowed: its credentials sign AssumeRole; anonymous calls
 * use only its settings) over sys (copied; its impl borrowed). Returns 0, or -1 with err
 * (SM_ERR_CONFIG for an unusable endpoint). */
int sts_client_init(struct aws_client *c, const struct aws_config *cfg, const char *endpoint,
                    const struct aws_system *sys, struct sm_err *err);

struct sts_assume_role {
    const char *role_arn;     /* RoleArn, required */
    const char *session_name; /* RoleSessionName, required */
    const char *external_id;  /* ExternalId, or NULL */
    long duration_seconds;    /* DurationSeconds, or 0 for STS's default */
};

/* AssumeRole. On success out holds every credential field (a missing one is SM_ERR_PROTOCOL).
 * Errors as aws_send's; AccessDenied gets a note on what to check. out is always safe to clean
 * up. */
int sts_assume_role(struct aws_client *c, const struct sts_assume_role *p, int64_t deadline_ms,
                    struct sts_credentials *out, struct sm_err *err);

/* AssumeRoleWithWebIdentity with the token (borrowed; a secret: never in a message). Same
 * contract as sts_assume_role. */
int sts_assume_role_with_web_identity(struct aws_client *c, const char *role_arn,
                                      const char *session_name, const char *token,
                                      int64_t deadline_ms, struct sts_credentials *out,
                                      struct sm_err *err);

#endif
