#include "http.h"
#include "http_testing.h"

#include "mem.h"

#include <ctype.h>
#include <curl/curl.h>
#include <string.h>
#include <strings.h>

#ifndef SMROTATE_VERSION
#define SMROTATE_VERSION "0.0.0"
#endif

int http_global_init(struct sm_err *err) {
    CURLcode rc = curl_global_init_mem(CURL_GLOBAL_DEFAULT, sm_malloc, sm_free, sm_realloc,
                                       sm_strdup, sm_calloc);
    if (rc != CURLE_OK) {
        return sm_err_set(err, SM_ERR_INTERNAL, "libcurl initialisation failed: %s",
                          curl_easy_strerror(rc));
    }
    return 0;
}

void http_client_clean_up(struct http_client *c) {
    if (c == NULL || c->curl == NULL) {
        return;
    }
    curl_easy_cleanup(c->curl);
    c->curl = NULL;
}

void http_response_init(struct http_response *r, size_t body_max) {
    r->status = 0;
    sm_buf_init(&r->body, body_max);
    sm_buf_init(&r->headers, SM_LIMIT_HEADERS);
}

void http_response_clean_up(struct http_response *r) {
    if (r == NULL) {
        return;
    }
    sm_buf_clean_up(&r->body);
    sm_buf_clean_up(&r->headers);
}

struct capture {
    struct http_response *resp;
    struct sm_err err; /* why a callback stopped the transfer */
    bool failed;
};

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata) {
    struct capture *cap = userdata;
    size_t n = size * nmemb;
    if (sm_buf_append(&cap->resp->body, ptr, n, &cap->err) != 0) {
        cap->failed = true;
        return 0;
    }
    return n;
}

int http_response_add_header_line(struct http_response *resp, const char *line, size_t n,
                                  struct sm_err *err) {
    /* A status line starts a new header block (after a 100 Continue or a redirect). */
    if (n >= 5 && memcmp(line, "HTTP/", 5) == 0) {
        sm_buf_reset(&resp->headers);
        return 0;
    }
    const char *colon = memchr(line, ':', n);
    /* A NUL would split the stored name/value pairs differently from the line: drop the line. */
    if (colon == NULL || colon == line || memchr(line, '\0', n) != NULL) {
        return 0;
    }
    size_t name_len = (size_t)(colon - line);
    const char *v = colon + 1;
    const char *end = line + n;
    while (v < end && (*v == ' ' || *v == '\t')) {
        v++;
    }
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t')) {
        end--;
    }
    struct sm_buf *h = &resp->headers;
    size_t start = h->len;
    if (sm_buf_append(h, line, name_len, err) != 0 || sm_buf_append(h, "", 1, err) != 0 ||
        sm_buf_append(h, v, (size_t)(end - v), err) != 0 || sm_buf_append(h, "", 1, err) != 0) {
        /* Keep the pairs well formed: drop the partial entry. */
        if (h->data != NULL && h->len > start) {
            sm_wipe(h->data + start, h->len - start);
            h->len = start;
        }
        return -1;
    }
    for (size_t i = start; i < start + name_len; i++) {
        h->data[i] = (char)tolower((unsigned char)h->data[i]);
    }
    return 0;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *userdata) {
    struct capture *cap = userdata;
    size_t n = size * nmemb;
    if (http_response_add_header_line(cap->resp, ptr, n, &cap->err) != 0) {
        cap->failed = true;
        return 0;
    }
    return n;
}

const char *http_response_header(const struct http_response *resp, const char *name) {
    const struct sm_buf *h = &resp->headers;
    size_t i = 0;
    while (i < h->len) {
        const char *k = h->data + i;
        size_t klen = strlen(k);
        const char *v = k + klen + 1;
        if (strcasecmp(k, name) == 0) {
            return v;
        }
        i += klen + 1 + strlen(v) + 1;
    }
    return NULL;
}

static const struct sm_code *classify(CURLcode rc) {
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
        return SM_ERR_DEADLINE;
    case CURLE_OUT_OF_MEMORY:
        return SM_ERR_NOMEM;
    default:
        return SM_ERR_TRANSPORT;
    }
}

static bool has_body(const struct http_request *req) {
    return strcmp(req->method, "POST") == 0 || strcmp(req->method, "PUT") == 0;
}

/* The header list of req: its own lines, and for a POST or PUT no Expect (no 100-continue round
 * trip) and no chunked upload. Returns 0, or -1 with err set (out of memory; *out is then NULL). */
static int header_list(const struct http_request *req, struct curl_slist **out,
                       struct sm_err *err) {
    bool post = has_body(req);
    size_t n = req->n_headers + (post ? 2 : 0);
    *out = NULL;
    for (size_t i = 0; i < n; i++) {
        const char *line = i < req->n_headers    ? req->headers[i]
                           : i == req->n_headers ? "Expect:"
                                                 : "Transfer-Encoding:";
        struct curl_slist *next = curl_slist_append(*out, line);
        if (next == NULL) {
            curl_slist_free_all(*out);
            *out = NULL;
            return sm_err_set(err, SM_ERR_NOMEM, "out of memory building %s %s", req->method,
                              req->url);
        }
        *out = next;
    }
    return 0;
}

/* The first option libcurl refused. Every option set below changes what is sent or how (URL,
 * protocols, proxy, TLS verification, timeouts, where the answer goes): a refusal fails the
 * request rather than letting libcurl's default apply. */
struct refused {
    CURLcode rc;
    const char *option;
};

static void check(struct refused *r, CURLcode rc, const char *option) {
    if (r->rc == CURLE_OK && rc != CURLE_OK) {
        r->rc = rc;
        r->option = option;
    }
}

#define SET(r, curl, opt, value) check((r), curl_easy_setopt((curl), opt, (value)), #opt)

/* Applies req to the (freshly reset) handle. Returns 0, or -1 with err set: SM_ERR_NOMEM when
 * libcurl could not copy a string, SM_ERR_INTERNAL when this libcurl lacks a feature we set
 * (a build without proxy support, say). */
static int set_options(CURL *curl, const struct http_request *req, struct curl_slist *headers,
                       struct capture *cap, char *errbuf, struct sm_err *err) {
    struct refused r = {CURLE_OK, NULL};
    SET(&r, curl, CURLOPT_URL, req->url);
    SET(&r, curl, CURLOPT_PROTOCOLS_STR, "http,https");
    SET(&r, curl, CURLOPT_NOSIGNAL, 1L);
    SET(&r, curl, CURLOPT_TCP_NODELAY, 1L);
    SET(&r, curl, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    /* An empty CURLOPT_PROXY stops libcurl from reading *_proxy variables itself. */
    SET(&r, curl, CURLOPT_PROXY, req->proxy != NULL ? req->proxy : "");
    SET(&r, curl, CURLOPT_NOPROXY, req->proxy != NULL ? req->no_proxy : "*");
    SET(&r, curl, CURLOPT_SSL_VERIFYPEER, 1L);
    SET(&r, curl, CURLOPT_SSL_VERIFYHOST, 2L);
    SET(&r, curl, CURLOPT_USERAGENT, "smrotate/" SMROTATE_VERSION);
    SET(&r, curl, CURLOPT_ERRORBUFFER, errbuf);
    SET(&r, curl, CURLOPT_CONNECTTIMEOUT_MS, req->connect_timeout_ms);
    SET(&r, curl, CURLOPT_TIMEOUT_MS, req->timeout_ms);
    SET(&r, curl, CURLOPT_WRITEFUNCTION, on_body);
    SET(&r, curl, CURLOPT_WRITEDATA, cap);
    SET(&r, curl, CURLOPT_HEADERFUNCTION, on_header);
    SET(&r, curl, CURLOPT_HEADERDATA, cap);
    if (req->ca_file != NULL) {
        SET(&r, curl, CURLOPT_CAINFO, req->ca_file);
    }
    if (has_body(req)) {
        /* A PUT is a POST with its method renamed: the body goes out the same way, with an
         * explicit Content-Length (0 for IMDSv2's token). */
        SET(&r, curl, CURLOPT_POST, 1L);
        SET(&r, curl, CURLOPT_POSTFIELDS, req->body != NULL ? req->body : "");
        SET(&r, curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        if (strcmp(req->method, "PUT") == 0) {
            SET(&r, curl, CURLOPT_CUSTOMREQUEST, "PUT");
        }
    } else {
        SET(&r, curl, CURLOPT_HTTPGET, 1L);
    }
    SET(&r, curl, CURLOPT_HTTPHEADER, headers);
    if (r.rc == CURLE_OK) {
        return 0;
    }
    return sm_err_set(err, r.rc == CURLE_OUT_OF_MEMORY ? SM_ERR_NOMEM : SM_ERR_INTERNAL,
                      "%s %s: libcurl refused %s: %s", req->method, req->url, r.option,
                      curl_easy_strerror(r.rc));
}

int http_client_init(struct http_client *c, struct sm_err *err) {
    /* Every option a request sets, once: a libcurl built without one of the features (a proxy,
     * say) fails the init phase, not each invocation. */
    static const struct http_request probe = {
        .method = "POST",
        .url = "http://localhost/",
        .ca_file = "/",
        .proxy = "http://localhost:1",
        .no_proxy = "",
    };
    char errbuf[CURL_ERROR_SIZE] = "";
    struct capture cap = {0};
    c->curl = curl_easy_init();
    if (c->curl == NULL) {
        return sm_err_set(err, SM_ERR_NOMEM, "could not create an HTTP handle");
    }
    int rc = set_options(c->curl, &probe, NULL, &cap, errbuf, err);
    curl_easy_reset(c->curl);
    if (rc != 0) {
        sm_err_prefix(err, "HTTP client");
        http_client_clean_up(c);
    }
    return rc;
}

int http_perform(struct http_client *c, const struct http_request *req, struct http_response *resp,
                 struct sm_err *err) {
    int result = -1;
    CURL *curl = c->curl;
    char errbuf[CURL_ERROR_SIZE] = "";
    struct capture cap = {.resp = resp};
    sm_err_clear(&cap.err);

    resp->status = 0;
    sm_buf_reset(&resp->body);
    sm_buf_reset(&resp->headers);
    /* Reset keeps the connection cache: keep-alive survives across requests. */
    curl_easy_reset(curl);
    struct curl_slist *headers = NULL;
    if (header_list(req, &headers, err) != 0) {
        goto out;
    }
    if (set_options(curl, req, headers, &cap, errbuf, err) != 0) {
        goto out;
    }
    CURLcode rc = curl_easy_perform(curl);
    if (cap.failed) {
        *err = cap.err;
        sm_err_prefix(err, "%s %s", req->method, req->url);
        goto out;
    }
    if (rc != CURLE_OK) {
        /* The proxy URL is not named: it may carry credentials. */
        sm_err_set(err, classify(rc), "%s %s failed%s: %s", req->method, req->url,
                   req->proxy != NULL ? " through the configured proxy" : "",
                   errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc));
        goto out;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->status);
    if (sm_buf_ensure(&resp->body, err) != 0) {
        goto out;
    }
    result = 0;
out:
    /* The handle must not keep pointers to our stack or to freed header lists. */
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, NULL);
    curl_slist_free_all(headers);
    return result;
}
