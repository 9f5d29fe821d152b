/*
 * http: HTTP/1.1 over libcurl, for the Lambda Runtime API, the AWS services and the credential
 * endpoints (instance metadata, container credentials).
 *
 * Owns one CURL easy handle per struct http_client. The handle is reset before every request but
 * keeps its connection cache, so keep-alive connections are reused across requests and
 * invocations. libcurl never reads proxy settings from the environment itself: a request goes
 * through the proxy it names (the AWS clients pass the one aws_config read), else directly (the
 * Runtime API must never go through HTTP_PROXY). A client is not thread-safe.
 *
 * Response bodies and headers are captured into bounded buffers; a body past its ceiling fails
 * with SM_ERR_TOO_LARGE. Bodies may hold SecretStrings: they live in sm_buf, wiped on clean-up.
 */
#ifndef SM_HTTP_H
#define SM_HTTP_H

#include "buf.h"
#include "err.h"

#include <stdbool.h>
#include <stddef.h>

struct http_client {
    void *curl; /* CURL *, opaque here so users need not include curl.h */
};

struct http_request {
    const char *method; /* "GET", "POST" or "PUT" (IMDSv2's token) */
    const char *url;
    /* Extra header lines, "Name: value" each; borrowed. */
    const char *const *headers;
    size_t n_headers;
    const void *body; /* borrowed; sent with an explicit Content-Length */
    size_t body_len;
    long connect_timeout_ms; /* 0: libcurl's default */
    long timeout_ms;         /* whole request; 0: no limit (the Runtime API's /next) */
    const char *ca_file;     /* CA bundle for https; NULL: libcurl's default */
    const char *proxy;       /* proxy URL; NULL: connect directly */
    const char *no_proxy;    /* with proxy: hosts that bypass it (libcurl's NOPROXY syntax) */
};

struct http_response {
    long status;
    struct sm_buf body;    /* NUL-terminated */
    struct sm_buf headers; /* "name\0value\0" pairs, names lower-cased, values trimmed */
};

/* Initialises libcurl once per process, with sm_malloc/sm_free as its allocator so its buffers
 * are wiped too. Returns 0 or -1 with err set. Not thread-safe; call from main before threads. */
int http_global_init(struct sm_err *err);

/* Creates the easy handle and checks that libcurl accepts every option a request sets (a proxy,
 * TLS verification, timeouts, protocols). Returns 0 or -1: SM_ERR_NOMEM, or SM_ERR_INTERNAL when
 * this libcurl lacks one of those features (built without proxy support, say). */
int http_client_init(struct http_client *c, struct sm_err *err);

/* Closes connections and frees the handle. Accepts a zeroed struct. */
void http_client_clean_up(struct http_client *c);

/* Prepares an empty response whose body may grow to body_max bytes. Allocates nothing. */
void http_response_init(struct http_response *r, size_t body_max);

/* Wipes and frees the captured body and headers. Accepts a zeroed struct. */
void http_response_clean_up(struct http_response *r);

/* Sends req and captures the response into resp (which must have been initialised; previous
 * content is discarded). Returns 0 when an HTTP response arrived, whatever its status; -1 with
 * err set on SM_ERR_TRANSPORT (connection refused or reset, DNS, TLS, a proxy that cannot be
 * reached), SM_ERR_DEADLINE (the timeout elapsed), SM_ERR_TOO_LARGE (body past its ceiling),
 * SM_ERR_NOMEM, or SM_ERR_INTERNAL (libcurl refused an option: nothing was sent). The message
 * names the method and URL, never a header value or body. */
int http_perform(struct http_client *c, const struct http_request *req, struct http_response *resp,
                 struct sm_err *err);

/* Value of a response header (case-insensitive name), or NULL. Points into resp. */
const char *http_response_header(const struct http_response *resp, const char *name);

#endif
