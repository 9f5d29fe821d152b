#include "sts.h"
#include "sts_testing.h"

#include "aws_query.h"
#include "buf.h"
#include "mem.h"

#include <stdio.h>
#include <string.h>

#define API_VERSION "2011-06-15"
/* A request body: ARNs, a session name and a web identity token (a JWT of a few KB). */
#define LIMIT_REQUEST_BODY (64u * 1024u)

/* ---- the answer ------------------------------------------------------------------------------ */

static int keep(char **dst, const char *text) {
    if (*dst != NULL) {
        return 0;
    }
    *dst = sm_strdup(text);
    return *dst != NULL ? 0 : -1;
}

static int credentials_field(void *ctx, const char *path, const char *text) {
    struct sts_credentials *c = ctx;
    static const struct {
        const char *path;
        size_t offset;
    } fields[] = {
        {"Credentials/AccessKeyId", offsetof(struct sts_credentials, access_key_id)},
        {"Credentials/SecretAccessKey", offsetof(struct sts_credentials, secret_access_key)},
        {"Credentials/SessionToken", offsetof(struct sts_credentials, session_token)},
        {"Credentials/Expiration", offsetof(struct sts_credentials, expiration)},
    };
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        if (strcmp(path, fields[i].path) == 0) {
            return keep((char **)((char *)c + fields[i].offset), text);
        }
    }
    return 0;
}

int sts_read_credentials(const char *xml, size_t len, const char *result,
                         struct sts_credentials *out, struct sm_err *err) {
    char what[80];
    memset(out, 0, sizeof(*out));
    snprintf(what, sizeof(what), "the %.40s answer", result);
    return aws_query_read_xml(xml, len, result, what, NULL, credentials_field, out, err);
}

void sts_credentials_clean_up(struct sts_credentials *c) {
    if (c == NULL) {
        return;
    }
    sm_free(c->access_key_id);
    sm_free(c->secret_access_key); /* sm_free wipes */
    sm_free(c->session_token);
    sm_free(c->expiration);
    memset(c, 0, sizeof(*c));
}

/* ---- the client ------------------------------------------------------------------------------ */

static const struct aws_service s_sts_service = {
    .name = "STS",
    .signing_name = "sts",
    .content_type = "application/x-www-form-urlencoded; charset=utf-8",
    .target_prefix = NULL,
    .read_error = aws_query_read_error,
};

int sts_endpoint_from_env(const struct aws_config *cfg, char **out, struct sm_err *err) {
    static const char *const vars[] = {"AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL", NULL};
    return aws_endpoint_from_env(vars, "sts", cfg->region, out, err);
}

int sts_client_init(struct aws_client *c, const struct aws_config *cfg, const char *endpoint,
                    const struct aws_system *sys, struct sm_err *err) {
    if (aws_client_init(c, &s_sts_service, cfg, endpoint, NULL, err) != 0) {
        return -1;
    }
    c->system = *sys;
    return 0;
}

/* Sends one operation whose form body (parameters after Action and Version) is in body, and
 * reads its credentials. */
static int call(struct aws_client *c, const char *action, const char *role_arn, bool anonymous,
                struct sm_buf *body, int64_t deadline_ms, struct sts_credentials *out,
                struct sm_err *err) {
    char resource[320], result[64];
    snprintf(resource, sizeof(resource), "role %.256s", role_arn);
    snprintf(result, sizeof(result), "%sResult", action);
    struct http_response resp;
    http_response_init(&resp, AWS_LIMIT_RESPONSE);
    int rc = -1;
    if (sm_buf_ensure(body, err) != 0) {
        goto out;
    }
    struct aws_request req = {.operation = action,
                              .resource = resource,
                              .body = body->data,
                              .len = body->len,
                              .anonymous = anonymous};
    if (aws_send(c, &req, deadline_ms, &resp, err) != 0) {
        if (sm_err_is_aws(err, "AccessDenied")) {
            size_t n = strlen(err->msg);
            snprintf(err->msg + n, sizeof(err->msg) - n, " (check the role's trust policy%s)",
                     anonymous ? " for this identity provider and audience"
                               : " and that the source identity may call sts:AssumeRole on it");
        }
        goto out;
    }
    if (sts_read_credentials(resp.body.data, resp.body.len, result, out, err) != 0) {
        goto out;
    }
    if (out->access_key_id == NULL || out->secret_access_key == NULL ||
        out->session_token == NULL || out->expiration == NULL) {
        sm_err_set(err, SM_ERR_PROTOCOL, "%s on %s: the answer lacks a credential field", action,
                   resource);
        goto out;
    }
    rc = 0;
out:
    http_response_clean_up(&resp);
    return rc;
}

/* Starts a body: Action, Version, RoleArn and RoleSessionName. */
static int body_start(struct sm_buf *body, const char *action, const char *role_arn,
                      const char *session_name, struct sm_err *err) {
    return sm_buf_appendf(body, err, "Action=%s&Version=" API_VERSION, action) != 0 ||
                   aws_query_append_param(body, "RoleArn", role_arn, err) != 0 ||
                   aws_query_append_param(body, "RoleSessionName", session_name, err) != 0
               ? -1
               : 0;
}

int sts_assume_role(struct aws_client *c, const struct sts_assume_role *p, int64_t deadline_ms,
                    struct sts_credentials *out, struct sm_err *err) {
    struct sm_buf body;
    sm_buf_init(&body, LIMIT_REQUEST_BODY);
    memset(out, 0, sizeof(*out));
    char duration[24];
    snprintf(duration, sizeof(duration), "%ld", p->duration_seconds);
    int rc = -1;
    if (body_start(&body, "AssumeRole", p->role_arn, p->session_name, err) != 0 ||
        (p->external_id != NULL &&
         aws_query_append_param(&body, "ExternalId", p->external_id, err) != 0) ||
        (p->duration_seconds > 0 &&
         aws_query_append_param(&body, "DurationSeconds", duration, err) != 0)) {
        sm_err_prefix(err, "AssumeRole on role %.256s", p->role_arn);
        goto out;
    }
    rc = call(c, "AssumeRole", p->role_arn, false, &body, deadline_ms, out, err);
out:
    sm_buf_clean_up(&body);
    return rc;
}

int sts_assume_role_with_web_identity(struct aws_client *c, const char *role_arn,
                                      const char *session_name, const char *token,
                                      int64_t deadline_ms, struct sts_credentials *out,
                                      struct sm_err *err) {
    struct sm_buf body; /* holds the token: wiped on clean-up */
    sm_buf_init(&body, LIMIT_REQUEST_BODY);
    memset(out, 0, sizeof(*out));
    int rc = -1;
    if (body_start(&body, "AssumeRoleWithWebIdentity", role_arn, session_name, err) != 0 ||
        aws_query_append_param(&body, "WebIdentityToken", token, err) != 0) {
        sm_err_prefix(err, "AssumeRoleWithWebIdentity on role %.256s", role_arn);
        goto out;
    }
    rc = call(c, "AssumeRoleWithWebIdentity", role_arn, true, &body, deadline_ms, out, err);
out:
    sm_buf_clean_up(&body);
    return rc;
}
