/*
 * Fuzz target: SigV4 canonicalization and signing (runtime/sigv4.c).
 *
 * Input: an HTTP request in the format of AWS's suite (.req files of tests/data/sigv4): request
 * line "<method> <path> HTTP/1.1" (a '?' is part of the path: nothing is signed as a query),
 * header lines "Name:value" (a line starting with whitespace continues the previous value), a
 * blank line, the body. The request line splits at its first and last space, as in
 * tests/unit/test_sigv4.c.
 *
 * Invariants of a canonical request that sigv4_canonical_request accepts:
 *   - line 1 is the method; line 2 starts with '/', holds only unreserved bytes, '/' and %XX
 *     (upper-case hex), no empty, "." or ".." segment; line 3 (the query) is empty;
 *   - the header lines have lower-case token names, strictly increasing, values without leading,
 *     trailing or doubled spaces and without control whitespace; one line per distinct name,
 *     plus x-amz-date (and x-amz-security-token with a session token) when the request lacks it;
 *   - then a blank line, the signed header list (the names joined by ';', equal to the second
 *     output) and the hex SHA-256 of the body;
 *   - the same input gives the same bytes; sigv4_sign then succeeds with a well-formed
 *     Authorization value.
 * Errors are SM_ERR_INTERNAL, SM_ERR_TOO_LARGE or SM_ERR_NOMEM. No crash, no leak.
 */
#include "fuzz_common.h"
#include "sigv4_testing.h"

#include <stdbool.h>

FUZZ_INIT_HOOKS()

#define MAX_HEADERS 64

struct req {
    struct sigv4_request r;
    struct sigv4_header headers[MAX_HEADERS];
};

static struct sigv4_str view(const char *p, size_t n) {
    struct sigv4_str v = {p, n};
    return v;
}

/* The .req parser of tests/unit/test_sigv4.c; false for input it cannot split. */
static bool parse_req(const char *p, size_t len, struct req *out) {
    const char *end = p + len;
    memset(out, 0, sizeof(*out));
    const char *eol = memchr(p, '\n', len);
    if (eol == NULL) {
        eol = end;
    }
    const char *sp1 = memchr(p, ' ', (size_t)(eol - p));
    const char *sp2 = eol;
    while (sp2 > p && sp2[-1] != ' ') {
        sp2--;
    }
    if (sp1 == NULL || sp2 - 1 <= sp1) {
        return false;
    }
    sp2--;
    out->r.method = view(p, (size_t)(sp1 - p));
    const char *target = sp1 + 1;
    out->r.path = view(target, (size_t)(sp2 - target));
    p = eol < end ? eol + 1 : end;
    size_t n = 0;
    while (p < end) {
        eol = memchr(p, '\n', (size_t)(end - p));
        if (eol == NULL) {
            eol = end;
        }
        if (eol == p) {
            p = eol + 1;
            out->r.payload = view(p < end ? p : end, p < end ? (size_t)(end - p) : 0);
            break;
        }
        if (*p == ' ' || *p == '\t') {
            if (n == 0) {
                return false;
            }
            out->headers[n - 1].value.len = (size_t)(eol - out->headers[n - 1].value.ptr);
        } else {
            const char *colon = memchr(p, ':', (size_t)(eol - p));
            if (colon == NULL || n == MAX_HEADERS) {
                return false;
            }
            out->headers[n].name = view(p, (size_t)(colon - p));
            out->headers[n].value = view(colon + 1, (size_t)(eol - colon - 1));
            n++;
        }
        p = eol < end ? eol + 1 : end;
    }
    out->r.headers = out->headers;
    out->r.n_headers = n;
    return true;
}

static bool unreserved(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

static bool upper_hex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

/* s[0..n) is unreserved bytes and %XX only (plus '/' when slash). */
static void check_encoded(const char *s, size_t n, bool slash) {
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            FUZZ_CHECK(i + 2 < n);
            FUZZ_CHECK(upper_hex(s[i + 1]) && upper_hex(s[i + 2]));
            i += 2;
        } else {
            FUZZ_CHECK(unreserved(s[i]) || (slash && s[i] == '/'));
        }
    }
}

static int cmp_span(const char *a, size_t an, const char *b, size_t bn) {
    size_t n = an < bn ? an : bn;
    int c = n > 0 ? memcmp(a, b, n) : 0;
    return c != 0 ? c : (an < bn ? -1 : an > bn ? 1 : 0);
}

static bool eq_nocase(struct sigv4_str a, struct sigv4_str b) {
    if (a.len != b.len) {
        return false;
    }
    for (size_t i = 0; i < a.len; i++) {
        char x = a.ptr[i], y = b.ptr[i];
        x = (x >= 'A' && x <= 'Z') ? (char)(x - 'A' + 'a') : x;
        y = (y >= 'A' && y <= 'Z') ? (char)(y - 'A' + 'a') : y;
        if (x != y) {
            return false;
        }
    }
    return true;
}

/* Distinct header names (case-insensitively), counting the implicit ones. */
static size_t distinct_names(const struct sigv4_request *r, bool token) {
    size_t n = 0;
    bool date = false, tok = false;
    for (size_t i = 0; i < r->n_headers; i++) {
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++) {
            seen = eq_nocase(r->headers[i].name, r->headers[j].name);
        }
        n += !seen;
        date = date || eq_nocase(r->headers[i].name, sigv4_cstr("x-amz-date"));
        tok = tok || eq_nocase(r->headers[i].name, sigv4_cstr("x-amz-security-token"));
    }
    return n + !date + (token && !tok);
}

/* Next line of [*p, end): returns its length and moves *p past its '\n'. */
static size_t next_line(const char **p, const char *end, const char **line) {
    *line = *p;
    const char *eol = memchr(*p, '\n', (size_t)(end - *p));
    FUZZ_CHECK(eol != NULL);
    *p = eol + 1;
    return (size_t)(eol - *line);
}

static void check_creq(const struct sigv4_request *r, const struct sm_buf *creq,
                       const struct sm_buf *sh, bool token) {
    const char *p = creq->data, *end = creq->data + creq->len, *l;
    size_t n = next_line(&p, end, &l);
    FUZZ_CHECK(n == r->method.len && memcmp(l, r->method.ptr, n) == 0);

    n = next_line(&p, end, &l); /* canonical URI */
    FUZZ_CHECK(n >= 1 && l[0] == '/');
    check_encoded(l, n, true);
    for (size_t i = 0; i < n; i++) {
        if (l[i] != '/') {
            continue;
        }
        size_t j = i + 1;
        while (j < n && l[j] != '/') {
            j++;
        }
        size_t seg = j - i - 1;
        FUZZ_CHECK(seg > 0 || j == n); /* no "//"; only a trailing slash may end a segment */
        FUZZ_CHECK(!(seg == 1 && l[i + 1] == '.'));
        FUZZ_CHECK(!(seg == 2 && l[i + 1] == '.' && l[i + 2] == '.'));
    }

    n = next_line(&p, end, &l); /* canonical query: none */
    FUZZ_CHECK(n == 0);

    /* Canonical headers, then the blank line. */
    size_t count = 0;
    const char *last = NULL;
    size_t last_n = 0;
    struct sm_buf names;
    struct sm_err err;
    sm_buf_init(&names, SIGV4_LIMIT_CANONICAL);
    for (;;) {
        n = next_line(&p, end, &l);
        if (n == 0) {
            break;
        }
        const char *colon = memchr(l, ':', n);
        FUZZ_CHECK(colon != NULL && colon > l);
        size_t nn = (size_t)(colon - l);
        for (size_t i = 0; i < nn; i++) {
            unsigned char c = (unsigned char)l[i];
            FUZZ_CHECK(c > 0x20 && c < 0x7f && !(c >= 'A' && c <= 'Z'));
        }
        if (last != NULL) {
            FUZZ_CHECK(cmp_span(last, last_n, l, nn) < 0);
        }
        last = l;
        last_n = nn;
        const char *v = colon + 1;
        size_t vn = n - nn - 1;
        if (vn > 0) {
            FUZZ_CHECK(v[0] != ' ' && v[vn - 1] != ' ');
        }
        for (size_t i = 0; i < vn; i++) {
            FUZZ_CHECK(v[i] != '\t' && v[i] != '\r' && v[i] != '\v' && v[i] != '\f');
            FUZZ_CHECK(!(v[i] == ' ' && i + 1 < vn && v[i + 1] == ' '));
        }
        FUZZ_CHECK((count == 0 || sm_buf_append(&names, ";", 1, &err) == 0) &&
                   sm_buf_append(&names, l, nn, &err) == 0);
        count++;
    }
    FUZZ_CHECK(count == distinct_names(r, token));
    n = next_line(&p, end, &l);
    FUZZ_CHECK(n == names.len && memcmp(l, names.data, n) == 0);
    FUZZ_CHECK(n == sh->len && memcmp(l, sh->data, n) == 0);
    sm_buf_clean_up(&names);

    char hex[SIGV4_HEX_LEN + 1];
    FUZZ_CHECK(sigv4_sha256_hex(r->payload, hex, &err) == 0);
    FUZZ_CHECK((size_t)(end - p) == SIGV4_HEX_LEN && memcmp(p, hex, SIGV4_HEX_LEN) == 0);
}

static void run(const struct sigv4_request *r, bool token) {
    struct sigv4_params params = {
        .access_key_id = sigv4_cstr("AKIDEXAMPLE"),
        .secret_access_key = sigv4_cstr("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        .session_token = sigv4_cstr(token ? "session token/with+odd=chars" : NULL),
        .region = sigv4_cstr("us-east-1"),
        .service = sigv4_cstr("service"),
        .amz_date = sigv4_cstr("20150830T123600Z"),
    };
    struct sm_buf creq, sh, creq2, sh2, authz;
    struct sm_err err;
    sm_buf_init(&creq, SIGV4_LIMIT_CANONICAL);
    sm_buf_init(&sh, SIGV4_LIMIT_CANONICAL);
    sm_buf_init(&creq2, SIGV4_LIMIT_CANONICAL);
    sm_buf_init(&sh2, SIGV4_LIMIT_CANONICAL);
    sm_buf_init(&authz, SIGV4_LIMIT_CANONICAL);
    if (sigv4_canonical_request(r, &params, &creq, &sh, &err) == 0) {
        check_creq(r, &creq, &sh, token);
        FUZZ_CHECK(sigv4_canonical_request(r, &params, &creq2, &sh2, &err) == 0);
        FUZZ_CHECK(creq2.len == creq.len && memcmp(creq2.data, creq.data, creq.len) == 0);
        FUZZ_CHECK(sigv4_sign(r, &params, &authz, &err) == 0);
        const char *prefix = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/"
                             "service/aws4_request, SignedHeaders=";
        size_t pn = strlen(prefix);
        FUZZ_CHECK(authz.len == pn + sh.len + strlen(", Signature=") + SIGV4_HEX_LEN);
        FUZZ_CHECK(memcmp(authz.data, prefix, pn) == 0);
        FUZZ_CHECK(memcmp(authz.data + pn, sh.data, sh.len) == 0);
    } else {
        FUZZ_CHECK(err.code == SM_ERR_INTERNAL || err.code == SM_ERR_TOO_LARGE ||
                   err.code == SM_ERR_NOMEM);
        FUZZ_CHECK(creq.len == 0 && sh.len == 0);
    }
    sm_buf_clean_up(&creq);
    sm_buf_clean_up(&sh);
    sm_buf_clean_up(&creq2);
    sm_buf_clean_up(&sh2);
    sm_buf_clean_up(&authz);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int64_t live = sm_mem_live_count();
    char *text = fuzz_copy(data, size, 0);
    struct req req;
    if (parse_req(text, size, &req)) {
        run(&req.r, false);
        run(&req.r, true);
    }
    free(text);
    FUZZ_CHECK(sm_mem_live_count() == live);
    return 0;
}
