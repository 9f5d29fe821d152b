/* The credential chain's HTTP sources (creds_sources.h): the container credentials endpoint, as
 * botocore's ContainerProvider and ContainerMetadataFetcher use it, and EC2 instance metadata, as
 * its InstanceMetadataFetcher does (IMDSv2 token first, IMDSv1 only where botocore falls back).
 * Both go through the chain's system (aws.h's seam) and never through a proxy: the addresses are
 * link-local or loopback. */
#include "creds_sources.h"
#include "creds_testing.h"

#include "json.h"
#include "mem.h"
#include "str.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LIMIT_METADATA_RESPONSE (64u * 1024u)
#define LIMIT_AUTH_TOKEN (16u * 1024u)
/* ContainerMetadataFetcher: TIMEOUT_SECONDS 2, RETRY_ATTEMPTS 3, SLEEP_TIME 1. */
#define CONTAINER_TIMEOUT_MS 2000
#define CONTAINER_ATTEMPTS 3
#define CONTAINER_PAUSE_MS 1000
#define CONTAINER_HOST "169.254.170.2"
/* IMDSFetcher: METADATA_BASE_URL(_IPv6), _TOKEN_TTL, metadata_service_timeout 1 s. */
#define IMDS_BASE "http://169.254.169.254"
#define IMDS_BASE_IPV6 "http://[fd00:ec2::254]"
#define IMDS_TOKEN_TTL "21600"
#define IMDS_ROLE_PATH "/latest/meta-data/iam/security-credentials/"

/* ---- one GET or PUT through the chain's system ----------------------------------------------- */

struct exchange {
    const char *method, *url;
    const char *headers[3];
    size_t n_headers;
    long timeout_ms;
    const char *ca_file;
    bool timed_out; /* perform's answer: the request's own timeout ran out */
};

/* Milliseconds left before the chain's deadline: INT64_MAX without one. */
static int64_t left_ms(const struct creds_chain *ch) {
    return ch->deadline_ms != 0 ? ch->deadline_ms - ch->sys->ops->now_ms(ch->sys->impl) : INT64_MAX;
}

/* Sends x and leaves the answer in resp (initialised by the caller): 0 when one arrived, -1 with
 * err: the transport's error, SM_ERR_DEADLINE only for the chain's deadline (passed before
 * sending, or reached by a request whose timeout it shortened). The request's own timeout is
 * SM_ERR_TRANSPORT, with x->timed_out set (as aws_send treats an attempt's timeout). */
static int perform(const struct creds_chain *ch, struct exchange *x, struct http_response *resp,
                   struct sm_err *err) {
    int64_t left = left_ms(ch);
    x->timed_out = false;
    if (left <= 0) {
        return sm_err_set(err, SM_ERR_DEADLINE, "%s %s not sent: the deadline has passed",
                          x->method, x->url);
    }
    bool capped = left < x->timeout_ms;
    long timeout = capped ? (long)left : x->timeout_ms;
    struct http_request req = {
        .method = x->method,
        .url = x->url,
        .headers = x->headers,
        .n_headers = x->n_headers,
        .body = "",
        .body_len = 0,
        .connect_timeout_ms = timeout,
        .timeout_ms = timeout,
        .ca_file = x->ca_file,
    };
    int rc = ch->sys->ops->perform(ch->sys->impl, &req, resp, err);
    if (rc != 0 && err->code == SM_ERR_DEADLINE && !capped) {
        err->code = SM_ERR_TRANSPORT;
        x->timed_out = true;
    }
    return rc;
}

/* creds_testing.h */
int creds_http_read_answer(const char *body, size_t len, struct creds *out, char *code, size_t cap,
                           struct sm_err *err) {
    bool nomem = false;
    cJSON *root = sm_json_parse_lenient(body, len, &nomem);
    int rc = 0;
    const char *akid = sm_json_string(root, "AccessKeyId");
    const char *secret = sm_json_string(root, "SecretAccessKey");
    const char *token = sm_json_string(root, "Token");
    const char *expiration = sm_json_string(root, "Expiration");
    int64_t expiration_ms = 0;
    if (nomem) {
        rc = sm_err_set(err, SM_ERR_NOMEM, "out of memory reading credentials");
    } else if (akid != NULL && secret != NULL && token != NULL && expiration != NULL) {
        if (creds_parse_time(expiration, &expiration_ms) != 0) {
            rc = sm_err_set(err, SM_ERR_PROTOCOL, "the answer's Expiration is no time");
        } else if (creds_set(out, akid, secret, token, err) == 0) {
            out->expiration_ms = expiration_ms;
            rc = 1;
        } else {
            rc = -1;
        }
    } else if (code != NULL) {
        char c[100], m[200];
        sm_str_one_line(sm_json_string(root, "Code"), c, sizeof(c));
        sm_str_one_line(sm_json_string(root, "Message"), m, sizeof(m));
        snprintf(code, cap, "%s%s%s", c, m[0] != '\0' ? ": " : "", m);
    }
    cJSON_Delete(root);
    return rc;
}

/* ---- the container endpoint ------------------------------------------------------------------ */

static bool is_loopback(const char *host) {
    unsigned char addr[16];
    if (inet_pton(AF_INET, host, addr) == 1) {
        return addr[0] == 127;
    }
    return inet_pton(AF_INET6, host, addr) == 1 && strcmp(host, "::1") == 0;
}

/* ContainerMetadataFetcher._validate_allowed_url: https to any host; http only to a loopback
 * address or the ECS and EKS Pod Identity hosts. */
static int check_full_uri(const char *url, struct aws_endpoint *ep, struct sm_err *err) {
    static const char *const allowed[] = {CONTAINER_HOST, "169.254.170.23", "fd00:ec2::23",
                                          "localhost", NULL};
    if (aws_endpoint_parse(url, ep, err) != 0) {
        return sm_err_set(err, SM_ERR_CONFIG,
                          "AWS_CONTAINER_CREDENTIALS_FULL_URI is not a usable http(s) URL");
    }
    if (ep->https) {
        return 0;
    }
    char host[AWS_HOST_MAX];
    const char *h = ep->host;
    size_t n = h[0] == '[' ? strcspn(h + 1, "]") : strcspn(h, ":");
    snprintf(host, sizeof(host), "%.*s", (int)n, h[0] == '[' ? h + 1 : h);
    for (size_t i = 0; allowed[i] != NULL; i++) {
        if (strcasecmp(host, allowed[i]) == 0) {
            return 0;
        }
    }
    if (is_loopback(host)) {
        return 0;
    }
    return sm_err_set(err, SM_ERR_CONFIG,
                      "AWS_CONTAINER_CREDENTIALS_FULL_URI: http to host %.200s is not allowed: "
                      "only to a loopback address, 169.254.170.2, 169.254.170.23 or fd00:ec2::23 "
                      "(https to any host)",
                      host);
}

/* ContainerProvider._build_headers: the token file before the token; no CR or LF in it. */
static int auth_header(struct sm_buf *line, struct sm_err *err) {
    const char *file = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    const char *token = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    struct sm_buf value;
    sm_buf_init(&value, LIMIT_AUTH_TOKEN);
    int rc = -1;
    if (file != NULL) {
        if (creds_read_small_file(file, &value, "authorization token file", err) != 0) {
            goto out;
        }
        /* botocore sends the file as it is; a final newline (which it would refuse) is dropped */
        while (value.len > 0 && strchr("\r\n", value.data[value.len - 1]) != NULL) {
            value.data[--value.len] = '\0';
        }
    } else if (token != NULL && sm_buf_append_str(&value, token, err) != 0) {
        goto out;
    }
    if ((file != NULL || token != NULL) &&
        (sm_buf_ensure(&value, err) != 0 || strpbrk(value.data, "\r\n") != NULL)) {
        sm_err_set(err, SM_ERR_CONFIG, "the container authorization token holds a line break");
        goto out;
    }
    if ((file != NULL || token != NULL) &&
        sm_buf_appendf(line, err, "Authorization: %s", value.data) != 0) {
        goto out;
    }
    rc = 0;
out:
    sm_buf_clean_up(&value);
    return rc;
}

/* One attempt: 1 with credentials, -1 with err (retried by the caller). */
static int container_attempt(struct creds_chain *ch, struct exchange *x, struct creds *out,
                             struct sm_err *err) {
    struct http_response resp;
    http_response_init(&resp, LIMIT_METADATA_RESPONSE);
    int rc = -1;
    if (perform(ch, x, &resp, err) != 0) {
        goto out;
    }
    if (resp.status != 200) {
        char text[200];
        sm_str_one_line(resp.body.data, text, sizeof(text)); /* an error text, not credentials */
        sm_err_set(err,
                   resp.status == 401 || resp.status == 403 ? SM_ERR_AWS_AUTH : SM_ERR_TRANSPORT,
                   "HTTP %ld%s%s", resp.status, text[0] != '\0' ? ": " : "", text);
        goto out;
    }
    rc = creds_http_read_answer(resp.body.data, resp.body.len, out, NULL, 0, err);
    if (rc == 0) {
        rc = sm_err_set(err, SM_ERR_PROTOCOL,
                        "the answer is not JSON with AccessKeyId, SecretAccessKey, Token and "
                        "Expiration");
    }
out:
    http_response_clean_up(&resp);
    return rc;
}

int creds_from_container(struct creds_chain *ch, struct creds *out, struct sm_err *err) {
    const char *relative = getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *full = getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    if (relative == NULL && full == NULL) {
        creds_note(ch, "container: neither AWS_CONTAINER_CREDENTIALS_RELATIVE_URI nor "
                       "AWS_CONTAINER_CREDENTIALS_FULL_URI is set");
        return 0;
    }
    const char *var = relative != NULL ? "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"
                                       : "AWS_CONTAINER_CREDENTIALS_FULL_URI";
    char url[AWS_URL_MAX];
    struct aws_endpoint ep = {.host = ""};
    struct sm_buf authz; /* the token: wiped */
    sm_buf_init(&authz, LIMIT_AUTH_TOKEN + 32);
    int rc = -1;
    snprintf(url, sizeof(url), "%s%s", relative != NULL ? "http://" CONTAINER_HOST : "",
             relative != NULL ? relative : full);
    if ((relative != NULL ? aws_endpoint_parse(url, &ep, err) : check_full_uri(url, &ep, err)) !=
            0 ||
        auth_header(&authz, err) != 0) {
        goto out;
    }
    struct exchange x = {.method = "GET",
                         .url = ep.url,
                         .headers = {"Accept: application/json", authz.data},
                         .n_headers = authz.len > 0 ? 2 : 1,
                         .timeout_ms = CONTAINER_TIMEOUT_MS,
                         .ca_file = ch->cfg->ca_file};
    for (int attempt = 1; rc < 0; attempt++) {
        rc = container_attempt(ch, &x, out, err);
        /* no pause when the deadline would pass during it: the next attempt could not be sent */
        if (rc < 0 && (attempt >= CONTAINER_ATTEMPTS || err->code == SM_ERR_NOMEM ||
                       err->code == SM_ERR_DEADLINE || left_ms(ch) <= CONTAINER_PAUSE_MS)) {
            break;
        }
        if (rc < 0) {
            ch->sys->ops->sleep_ms(ch->sys->impl, CONTAINER_PAUSE_MS);
        }
    }
    if (rc > 0) {
        creds_describe(ch, "container credentials endpoint (%s, %s://%s)", var,
                       ep.https ? "https" : "http", ep.host);
    }
out:
    if (rc < 0) {
        sm_err_prefix(err, "container credentials endpoint (%s, %s)", var, ep.host);
    }
    sm_buf_clean_up(&authz);
    return rc;
}

/* ---- instance metadata ----------------------------------------------------------------------- */

struct imds {
    char base[AWS_URL_MAX]; /* no trailing '/' */
    long timeout_ms;
    int attempts;
    bool v1_disabled;
};

static long env_positive(const char *name, long fallback) {
    const char *v = getenv(name);
    char *end = NULL;
    long n = v != NULL ? strtol(v, &end, 10) : 0;
    return v != NULL && end != v && *end == '\0' && n > 0 && n <= 3600 ? n : fallback;
}

/* botocore's IMDS settings: AWS_EC2_METADATA_SERVICE_ENDPOINT, else the endpoint mode's address;
 * AWS_METADATA_SERVICE_TIMEOUT (s, default 1) and _NUM_ATTEMPTS (default 1);
 * AWS_EC2_METADATA_V1_DISABLED. */
static int imds_settings(struct imds *m, struct sm_err *err) {
    const char *endpoint = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    const char *mode = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
    const char *v1 = getenv("AWS_EC2_METADATA_V1_DISABLED");
    bool ipv6 = mode != NULL && strcasecmp(mode, "ipv6") == 0;
    if (mode != NULL && mode[0] != '\0' && !ipv6 && strcasecmp(mode, "ipv4") != 0) {
        return sm_err_set(err, SM_ERR_CONFIG,
                          "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE must be IPv4 or IPv6");
    }
    snprintf(m->base, sizeof(m->base), "%s",
             endpoint != NULL && endpoint[0] != '\0' ? endpoint
             : ipv6                                  ? IMDS_BASE_IPV6
                                                     : IMDS_BASE);
    size_t n = strlen(m->base);
    while (n > 0 && m->base[n - 1] == '/') {
        m->base[--n] = '\0';
    }
    struct aws_endpoint ep;
    if (aws_endpoint_parse(m->base, &ep, err) != 0) {
        return sm_err_set(err, SM_ERR_CONFIG,
                          "AWS_EC2_METADATA_SERVICE_ENDPOINT is not a usable http(s) URL");
    }
    m->timeout_ms = env_positive("AWS_METADATA_SERVICE_TIMEOUT", 1) * 1000;
    m->attempts = (int)env_positive("AWS_METADATA_SERVICE_NUM_ATTEMPTS", 1);
    m->v1_disabled = v1 != NULL && strcasecmp(v1, "true") == 0;
    return 0;
}

/* IMDSFetcher._fetch_metadata_token: 1 with the token line in *line; 0 without a token (403,
 * 404 or 405: IMDSv2 is off; a timeout: the answer may have been dropped by the hop limit; other
 * answers after the attempts), when botocore falls back to IMDSv1; -1 to stop: *why says why
 * (400, no connection at all, the deadline); -2 with err when out of memory. */
static int imds_token(struct creds_chain *ch, const struct imds *m, struct sm_buf *line, char *why,
                      size_t cap, struct sm_err *err) {
    char url[AWS_URL_MAX + 32];
    snprintf(url, sizeof(url), "%s/latest/api/token", m->base);
    struct exchange x = {.method = "PUT",
                         .url = url,
                         .headers = {"X-aws-ec2-metadata-token-ttl-seconds: " IMDS_TOKEN_TTL},
                         .n_headers = 1,
                         .timeout_ms = m->timeout_ms};
    struct http_response resp;
    http_response_init(&resp, LIMIT_METADATA_RESPONSE);
    int rc = 0;
    for (int attempt = 0; attempt < m->attempts && rc == 0; attempt++) {
        if (perform(ch, &x, &resp, err) != 0) {
            if (err->code == SM_ERR_NOMEM) {
                rc = -2;
            } else if (!x.timed_out) {
                snprintf(why, cap, "no answer: %.300s", err->msg);
                rc = -1; /* IMDSv1 at the same address cannot answer either */
            }
            continue;
        }
        if (resp.status == 200 && resp.body.len > 0) {
            rc = sm_buf_appendf(line, err, "X-aws-ec2-metadata-token: %s", resp.body.data) == 0
                     ? 1
                     : -2;
        } else if (resp.status == 400) {
            snprintf(why, cap, "the token request was refused (HTTP 400)");
            rc = -1;
        } else if (resp.status == 403 || resp.status == 404 || resp.status == 405) {
            break;
        }
    }
    http_response_clean_up(&resp);
    return rc;
}

/* One metadata GET, retried while the answer is not 200 with a body (IMDSFetcher._get_request):
 * 0 with the body in resp, -1 (*why set, or err for memory). */
static int imds_get(struct creds_chain *ch, const struct imds *m, const char *path,
                    const struct sm_buf *token, struct http_response *resp, char *why, size_t cap,
                    struct sm_err *err) {
    char url[AWS_URL_MAX + 200];
    snprintf(url, sizeof(url), "%s%s", m->base, path);
    struct exchange x = {.method = "GET",
                         .url = url,
                         .headers = {token->data},
                         .n_headers = token->len > 0 ? 1 : 0,
                         .timeout_ms = m->timeout_ms};
    for (int attempt = 0; attempt < m->attempts; attempt++) {
        if (perform(ch, &x, resp, err) != 0) {
            if (err->code == SM_ERR_NOMEM) {
                return -1;
            }
            snprintf(why, cap, "%.300s", err->msg);
        } else if (resp->status == 200 && resp->body.len > 0) {
            return 0;
        } else {
            snprintf(why, cap, "GET %s answered HTTP %ld%s", path, resp->status,
                     resp->status == 404   ? " (no IAM role is attached to the instance)"
                     : resp->status == 401 ? " (the IMDSv2 token was refused)"
                                           : "");
        }
    }
    sm_err_clear(err);
    return -1;
}

/* The role name: the first line of the listing, made of IAM's role name characters. */
static bool role_name(const char *listing, char *out, size_t cap) {
    size_t n = strcspn(listing, "\r\n");
    if (n == 0 || n >= cap) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = listing[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              strchr("+=,.@_-", c) != NULL)) {
            return false;
        }
    }
    snprintf(out, cap, "%.*s", (int)n, listing);
    return true;
}

/* The role's credentials: 1, 0 (*why set), -1 (err). */
static int imds_credentials(struct creds_chain *ch, const struct imds *m,
                            const struct sm_buf *token, char *role, size_t role_cap,
                            struct creds *out, char *why, size_t cap, struct sm_err *err) {
    struct http_response resp;
    http_response_init(&resp, LIMIT_METADATA_RESPONSE);
    char path[200];
    int rc = 0;
    if (imds_get(ch, m, IMDS_ROLE_PATH, token, &resp, why, cap, err) != 0) {
        rc = err->code == SM_ERR_NOMEM ? -1 : 0;
        goto out;
    }
    if (!role_name(resp.body.data, role, role_cap)) {
        snprintf(why, cap, "the role listing holds no role name");
        goto out;
    }
    snprintf(path, sizeof(path), IMDS_ROLE_PATH "%s", role);
    if (imds_get(ch, m, path, token, &resp, why, cap, err) != 0) {
        rc = err->code == SM_ERR_NOMEM ? -1 : 0;
        goto out;
    }
    char code[320] = "";
    rc = creds_http_read_answer(resp.body.data, resp.body.len, out, code, sizeof(code), err);
    if (rc == 0) {
        snprintf(why, cap, "role %s: no credentials in the answer%s%s", role,
                 code[0] != '\0' ? ": " : "", code);
    }
out:
    http_response_clean_up(&resp);
    return rc;
}

int creds_from_imds(struct creds_chain *ch, struct creds *out, struct sm_err *err) {
    const char *disabled = getenv("AWS_EC2_METADATA_DISABLED");
    if (disabled != NULL && strcasecmp(disabled, "true") == 0) {
        creds_note(ch, "instance metadata: AWS_EC2_METADATA_DISABLED is true");
        return 0;
    }
    struct imds m;
    struct sm_buf token; /* the header line */
    sm_buf_init(&token, LIMIT_METADATA_RESPONSE + 64);
    char why[400] = "", role[130] = "";
    int rc = -1;
    if (imds_settings(&m, err) != 0 || sm_buf_ensure(&token, err) != 0) {
        goto out;
    }
    int got = imds_token(ch, &m, &token, why, sizeof(why), err);
    if (got == -2) {
        goto out;
    }
    if (got < 0 || (got == 0 && m.v1_disabled)) {
        rc = 0;
        if (got == 0) {
            snprintf(why, sizeof(why), "no IMDSv2 token, and AWS_EC2_METADATA_V1_DISABLED is true");
        }
    } else {
        rc = imds_credentials(ch, &m, &token, role, sizeof(role), out, why, sizeof(why), err);
    }
    if (rc == 0) {
        creds_note(ch, "instance metadata: %s", why);
    } else if (rc > 0) {
        char when[40] = "";
        /* botocore's _evaluate_expiration: IMDS credentials past their time are used anyway
         * (static stability while IMDS cannot refresh them). */
        if (out->expiration_ms <= ch->sys->ops->now_ms(ch->sys->impl)) {
            creds_format_time(out->expiration_ms, when, sizeof(when));
            out->expiration_ms = 0;
        }
        creds_describe(ch, "EC2 instance metadata (%s, role %s%s%s)", got > 0 ? "IMDSv2" : "IMDSv1",
                       role, when[0] != '\0' ? ", expired at " : "", when);
    }
out:
    sm_buf_clean_up(&token);
    return rc;
}
