#include "sigv4.h"
#include "sigv4_testing.h"

#include "mem.h"
#include "str.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ALGORITHM "AWS4-HMAC-SHA256"
#define TERMINATOR "aws4_request"

struct sigv4_str sigv4_cstr(const char *s) {
    struct sigv4_str v = {s, s != NULL ? strlen(s) : 0};
    return v;
}

static const char s_hex[] = "0123456789abcdef";
static const char s_hex_upper[] = "0123456789ABCDEF";

static void to_hex(const unsigned char *bin, size_t n, char *out) {
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = s_hex[bin[i] >> 4];
        out[2 * i + 1] = s_hex[bin[i] & 0x0f];
    }
    out[2 * n] = '\0';
}

static char lower(char c) {
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* Header names are HTTP tokens: visible ASCII without separators. */
static bool is_token(struct sigv4_str s) {
    if (s.len == 0) {
        return false;
    }
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (c <= 0x20 || c >= 0x7f || strchr("()<>@,;:\\\"/[]?={}", c) != NULL) {
            return false;
        }
    }
    return true;
}

/* A scope component (region, service, access key id): non-empty, visible ASCII, no '/' or ','. */
static bool is_scope_part(struct sigv4_str s) {
    if (s.len == 0) {
        return false;
    }
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (c <= 0x20 || c >= 0x7f || c == '/' || c == ',') {
            return false;
        }
    }
    return true;
}

static bool is_amz_date(struct sigv4_str d) {
    if (d.len != SIGV4_AMZ_DATE_LEN) {
        return false;
    }
    for (size_t i = 0; i < d.len; i++) {
        char c = d.ptr[i];
        bool ok = i == 8 ? c == 'T' : i == 15 ? c == 'Z' : (c >= '0' && c <= '9');
        if (!ok) {
            return false;
        }
    }
    return true;
}

static bool eq_nocase(struct sigv4_str a, const char *b) {
    size_t n = strlen(b);
    if (a.len != n) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (lower(a.ptr[i]) != b[i]) {
            return false;
        }
    }
    return true;
}

static int cmp_nocase(struct sigv4_str a, struct sigv4_str b) {
    size_t n = a.len < b.len ? a.len : b.len;
    for (size_t i = 0; i < n; i++) {
        unsigned char x = (unsigned char)lower(a.ptr[i]);
        unsigned char y = (unsigned char)lower(b.ptr[i]);
        if (x != y) {
            return x < y ? -1 : 1;
        }
    }
    return a.len < b.len ? -1 : a.len > b.len ? 1 : 0;
}

int sigv4_sha256_hex(struct sigv4_str data, char hex[SIGV4_HEX_LEN + 1], struct sm_err *err) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    if (EVP_Digest(data.len > 0 ? data.ptr : "", data.len, md, &md_len, EVP_sha256(), NULL) != 1 ||
        md_len != SIGV4_KEY_LEN) {
        hex[0] = '\0';
        return sm_err_set(err, SM_ERR_INTERNAL, "SHA-256 failed");
    }
    to_hex(md, SIGV4_KEY_LEN, hex);
    return 0;
}

/* out = HMAC-SHA256(key, data). */
static int hmac(const unsigned char *key, size_t key_len, struct sigv4_str data,
                unsigned char out[SIGV4_KEY_LEN], struct sm_err *err) {
    unsigned int out_len = 0;
    if (key_len > (size_t)INT32_MAX ||
        HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)(data.len > 0 ? data.ptr : ""),
             data.len, out, &out_len) == NULL ||
        out_len != SIGV4_KEY_LEN) {
        sm_wipe(out, SIGV4_KEY_LEN);
        return sm_err_set(err, SM_ERR_INTERNAL, "HMAC-SHA256 failed");
    }
    return 0;
}

int sigv4_format_amz_date(int64_t epoch_ms, char out[SIGV4_AMZ_DATE_LEN + 1], struct sm_err *err) {
    time_t t = (time_t)(epoch_ms / 1000);
    struct tm tm;
    out[0] = '\0';
    if (epoch_ms < 0 || gmtime_r(&t, &tm) == NULL ||
        strftime(out, SIGV4_AMZ_DATE_LEN + 1, "%Y%m%dT%H%M%SZ", &tm) != SIGV4_AMZ_DATE_LEN) {
        out[0] = '\0';
        return sm_err_set(err, SM_ERR_INTERNAL, "cannot format the request time for signing");
    }
    return 0;
}

/* UriEncode: every byte but the unreserved set as %XX (uppercase); '/' kept when keep_slash. */
static int uri_encode(struct sm_buf *out, struct sigv4_str s, bool keep_slash, struct sm_err *err) {
    size_t i = 0;
    while (i < s.len) {
        size_t run = i;
        while (run < s.len &&
               (sm_is_unreserved((unsigned char)s.ptr[run]) || (keep_slash && s.ptr[run] == '/'))) {
            run++;
        }
        if (run > i && sm_buf_append(out, s.ptr + i, run - i, err) != 0) {
            return -1;
        }
        if (run == s.len) {
            break;
        }
        unsigned char c = (unsigned char)s.ptr[run];
        char esc[3] = {'%', s_hex_upper[c >> 4], s_hex_upper[c & 0x0f]};
        if (sm_buf_append(out, esc, 3, err) != 0) {
            return -1;
        }
        i = run + 1;
    }
    return 0;
}

static int canonical_uri(struct sm_buf *out, struct sigv4_str path, struct sm_err *err) {
    int result = -1;
    size_t n_slashes = 0;
    for (size_t i = 0; i < path.len; i++) {
        n_slashes += path.ptr[i] == '/';
    }
    struct sigv4_str *segs = sm_calloc(n_slashes + 1, sizeof(*segs));
    if (segs == NULL) {
        sm_err_set(err, SM_ERR_NOMEM, "out of memory signing a request");
        goto out;
    }
    size_t n = 0;
    size_t i = 0;
    while (i < path.len) {
        size_t start = i;
        while (i < path.len && path.ptr[i] != '/') {
            i++;
        }
        struct sigv4_str seg = {path.ptr + start, i - start};
        if (i < path.len) {
            i++; /* the slash */
        }
        if (seg.len == 0 || (seg.len == 1 && seg.ptr[0] == '.')) {
            continue;
        }
        if (seg.len == 2 && seg.ptr[0] == '.' && seg.ptr[1] == '.') {
            n -= n > 0;
            continue;
        }
        segs[n++] = seg;
    }
    if (sm_buf_append(out, "/", 1, err) != 0) {
        goto out;
    }
    for (size_t k = 0; k < n; k++) {
        if ((k > 0 && sm_buf_append(out, "/", 1, err) != 0) ||
            uri_encode(out, segs[k], false, err) != 0) {
            goto out;
        }
    }
    if (n > 0 && path.len > 0 && path.ptr[path.len - 1] == '/' &&
        sm_buf_append(out, "/", 1, err) != 0) {
        goto out;
    }
    result = 0;
out:
    sm_free(segs);
    return result;
}

struct header_entry {
    struct sigv4_str name, value;
    size_t order; /* position in the request: keeps duplicates in order (qsort is not stable) */
};

static int cmp_header(const void *a, const void *b) {
    const struct header_entry *x = a, *y = b;
    int c = cmp_nocase(x->name, y->name);
    if (c != 0) {
        return c;
    }
    return x->order < y->order ? -1 : x->order > y->order ? 1 : 0;
}

/* Appends value trimmed, with every whitespace run (folded lines included) as one space. */
static int append_header_value(struct sm_buf *out, struct sigv4_str v, struct sm_err *err) {
    size_t i = 0;
    bool wrote = false;
    while (i < v.len) {
        while (i < v.len && is_space(v.ptr[i])) {
            i++;
        }
        size_t start = i;
        while (i < v.len && !is_space(v.ptr[i])) {
            i++;
        }
        if (i == start) {
            break;
        }
        if ((wrote && sm_buf_append(out, " ", 1, err) != 0) ||
            sm_buf_append(out, v.ptr + start, i - start, err) != 0) {
            return -1;
        }
        wrote = true;
    }
    return 0;
}

static int append_lower(struct sm_buf *out, struct sigv4_str s, struct sm_err *err) {
    for (size_t i = 0; i < s.len; i++) {
        char c = lower(s.ptr[i]);
        if (sm_buf_append(out, &c, 1, err) != 0) {
            return -1;
        }
    }
    return 0;
}

static int canonical_headers(struct sm_buf *out, struct sm_buf *signed_headers,
                             const struct sigv4_request *req, const struct sigv4_params *p,
                             struct sm_err *err) {
    int result = -1;
    struct header_entry *h = NULL;
    bool have_date = false, have_token = false;
    for (size_t i = 0; i < req->n_headers; i++) {
        if (!is_token(req->headers[i].name)) {
            sm_err_set(err, SM_ERR_INTERNAL, "invalid header name to sign (header %zu)", i);
            goto out;
        }
        have_date = have_date || eq_nocase(req->headers[i].name, "x-amz-date");
        have_token = have_token || eq_nocase(req->headers[i].name, "x-amz-security-token");
    }
    h = sm_calloc(req->n_headers + 2, sizeof(*h));
    if (h == NULL) {
        sm_err_set(err, SM_ERR_NOMEM, "out of memory signing a request");
        goto out;
    }
    size_t n = 0;
    for (size_t i = 0; i < req->n_headers; i++, n++) {
        h[n] = (struct header_entry){req->headers[i].name, req->headers[i].value, n};
    }
    if (!have_date) {
        h[n] = (struct header_entry){sigv4_cstr("x-amz-date"), p->amz_date, n};
        n++;
    }
    if (!have_token && p->session_token.len > 0) {
        h[n] = (struct header_entry){sigv4_cstr("x-amz-security-token"), p->session_token, n};
        n++;
    }
    qsort(h, n, sizeof(*h), cmp_header);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        if ((i > 0 && sm_buf_append(signed_headers, ";", 1, err) != 0) ||
            append_lower(signed_headers, h[i].name, err) != 0 ||
            append_lower(out, h[i].name, err) != 0 || sm_buf_append(out, ":", 1, err) != 0) {
            goto out;
        }
        for (; j < n && cmp_nocase(h[j].name, h[i].name) == 0; j++) {
            if ((j > i && sm_buf_append(out, ",", 1, err) != 0) ||
                append_header_value(out, h[j].value, err) != 0) {
                goto out;
            }
        }
        if (sm_buf_append(out, "\n", 1, err) != 0) {
            goto out;
        }
        i = j;
    }
    result = 0;
out:
    sm_free(h);
    return result;
}

int sigv4_canonical_request(const struct sigv4_request *req, const struct sigv4_params *p,
                            struct sm_buf *creq, struct sm_buf *signed_headers,
                            struct sm_err *err) {
    int result = -1;
    char payload_hash[SIGV4_HEX_LEN + 1];
    sm_buf_reset(creq);
    sm_buf_reset(signed_headers);
    if (!is_token(req->method)) {
        sm_err_set(err, SM_ERR_INTERNAL, "invalid HTTP method to sign");
        goto out;
    }
    if (!is_amz_date(p->amz_date)) {
        sm_err_set(err, SM_ERR_INTERNAL, "invalid X-Amz-Date to sign (want YYYYMMDDTHHMMSSZ)");
        goto out;
    }
    if (sigv4_sha256_hex(req->payload, payload_hash, err) != 0) {
        goto out;
    }
    if (sm_buf_append(creq, req->method.ptr, req->method.len, err) != 0 ||
        sm_buf_append(creq, "\n", 1, err) != 0 || canonical_uri(creq, req->path, err) != 0 ||
        sm_buf_append(creq, "\n\n", 2, err) != 0 || /* no query string */
        canonical_headers(creq, signed_headers, req, p, err) != 0 ||
        sm_buf_append(creq, "\n", 1, err) != 0 ||
        sm_buf_append(creq, signed_headers->data, signed_headers->len, err) != 0 ||
        sm_buf_append(creq, "\n", 1, err) != 0 ||
        sm_buf_append(creq, payload_hash, SIGV4_HEX_LEN, err) != 0 ||
        sm_buf_ensure(signed_headers, err) != 0) {
        goto out;
    }
    result = 0;
out:
    if (result != 0) {
        sm_buf_reset(creq);
        sm_buf_reset(signed_headers);
    }
    return result;
}

static int check_scope(const struct sigv4_params *p, struct sm_err *err) {
    if (!is_amz_date(p->amz_date)) {
        return sm_err_set(err, SM_ERR_INTERNAL, "invalid X-Amz-Date to sign");
    }
    if (!is_scope_part(p->region)) {
        return sm_err_set(err, SM_ERR_CONFIG, "invalid or empty AWS region for signing");
    }
    if (!is_scope_part(p->service)) {
        return sm_err_set(err, SM_ERR_INTERNAL, "invalid or empty service name for signing");
    }
    return 0;
}

static int append_scope(struct sm_buf *out, const struct sigv4_params *p, struct sm_err *err) {
    if (sm_buf_append(out, p->amz_date.ptr, 8, err) != 0 || sm_buf_append(out, "/", 1, err) != 0 ||
        sm_buf_append(out, p->region.ptr, p->region.len, err) != 0 ||
        sm_buf_append(out, "/", 1, err) != 0 ||
        sm_buf_append(out, p->service.ptr, p->service.len, err) != 0 ||
        sm_buf_append_str(out, "/" TERMINATOR, err) != 0) {
        return -1;
    }
    return 0;
}

int sigv4_string_to_sign(const struct sigv4_params *p, struct sigv4_str creq, struct sm_buf *sts,
                         struct sm_err *err) {
    char creq_hash[SIGV4_HEX_LEN + 1];
    sm_buf_reset(sts);
    if (check_scope(p, err) != 0 || sigv4_sha256_hex(creq, creq_hash, err) != 0) {
        return -1;
    }
    if (sm_buf_append_str(sts, ALGORITHM "\n", err) != 0 ||
        sm_buf_append(sts, p->amz_date.ptr, p->amz_date.len, err) != 0 ||
        sm_buf_append(sts, "\n", 1, err) != 0 || append_scope(sts, p, err) != 0 ||
        sm_buf_append(sts, "\n", 1, err) != 0 ||
        sm_buf_append(sts, creq_hash, SIGV4_HEX_LEN, err) != 0) {
        sm_buf_reset(sts);
        return -1;
    }
    return 0;
}

int sigv4_signing_key(const struct sigv4_params *p, unsigned char key[SIGV4_KEY_LEN],
                      struct sm_err *err) {
    int result = -1;
    unsigned char k_date[SIGV4_KEY_LEN];
    unsigned char k_region[SIGV4_KEY_LEN];
    unsigned char k_service[SIGV4_KEY_LEN];
    unsigned char *scratch = NULL; /* "AWS4" + secret access key */
    size_t scratch_len = 0;
    sm_wipe(key, SIGV4_KEY_LEN);

    if (check_scope(p, err) != 0) {
        goto out;
    }
    if (p->secret_access_key.len == 0) {
        sm_err_set(err, SM_ERR_CONFIG, "empty secret access key");
        goto out;
    }
    if (p->secret_access_key.len > SIZE_MAX - 4) {
        sm_err_set(err, SM_ERR_CONFIG, "secret access key too long");
        goto out;
    }
    scratch_len = 4 + p->secret_access_key.len;
    scratch = sm_malloc(scratch_len);
    if (scratch == NULL) {
        sm_err_set(err, SM_ERR_NOMEM, "out of memory deriving the signing key");
        goto out;
    }
    memcpy(scratch, "AWS4", 4);
    memcpy(scratch + 4, p->secret_access_key.ptr, p->secret_access_key.len);
    struct sigv4_str date8 = {p->amz_date.ptr, 8};
    if (hmac(scratch, scratch_len, date8, k_date, err) != 0 ||
        hmac(k_date, sizeof(k_date), p->region, k_region, err) != 0 ||
        hmac(k_region, sizeof(k_region), p->service, k_service, err) != 0 ||
        hmac(k_service, sizeof(k_service), sigv4_cstr(TERMINATOR), key, err) != 0) {
        goto out;
    }
    result = 0;
out:
    sm_wipe(k_date, sizeof(k_date));
    sm_wipe(k_region, sizeof(k_region));
    sm_wipe(k_service, sizeof(k_service));
    sm_free(scratch); /* wipes */
    if (result != 0) {
        sm_wipe(key, SIGV4_KEY_LEN);
    }
    return result;
}

int sigv4_signature(const unsigned char key[SIGV4_KEY_LEN], struct sigv4_str sts,
                    char hex[SIGV4_HEX_LEN + 1], struct sm_err *err) {
    unsigned char mac[SIGV4_KEY_LEN];
    hex[0] = '\0';
    if (hmac(key, SIGV4_KEY_LEN, sts, mac, err) != 0) {
        return -1;
    }
    to_hex(mac, sizeof(mac), hex);
    sm_wipe(mac, sizeof(mac));
    return 0;
}

int sigv4_authorization(const struct sigv4_params *p, struct sigv4_str signed_headers,
                        struct sigv4_str signature, struct sm_buf *out, struct sm_err *err) {
    sm_buf_reset(out);
    if (check_scope(p, err) != 0) {
        return -1;
    }
    if (!is_scope_part(p->access_key_id)) {
        return sm_err_set(err, SM_ERR_CONFIG, "invalid or empty access key id");
    }
    if (signature.len != SIGV4_HEX_LEN || signed_headers.len == 0) {
        return sm_err_set(err, SM_ERR_INTERNAL, "incomplete signature");
    }
    if (sm_buf_append_str(out, ALGORITHM " Credential=", err) != 0 ||
        sm_buf_append(out, p->access_key_id.ptr, p->access_key_id.len, err) != 0 ||
        sm_buf_append(out, "/", 1, err) != 0 || append_scope(out, p, err) != 0 ||
        sm_buf_append_str(out, ", SignedHeaders=", err) != 0 ||
        sm_buf_append(out, signed_headers.ptr, signed_headers.len, err) != 0 ||
        sm_buf_append_str(out, ", Signature=", err) != 0 ||
        sm_buf_append(out, signature.ptr, signature.len, err) != 0) {
        sm_buf_reset(out);
        return -1;
    }
    return 0;
}

int sigv4_sign(const struct sigv4_request *req, const struct sigv4_params *p,
               struct sm_buf *authorization, struct sm_err *err) {
    int result = -1;
    struct sm_buf creq, signed_headers, sts;
    unsigned char key[SIGV4_KEY_LEN];
    char signature[SIGV4_HEX_LEN + 1];
    sm_buf_init(&creq, SIGV4_LIMIT_CANONICAL);
    sm_buf_init(&signed_headers, SIGV4_LIMIT_CANONICAL);
    sm_buf_init(&sts, SIGV4_LIMIT_CANONICAL);
    sm_wipe(key, sizeof(key));
    signature[0] = '\0';

    if (sigv4_canonical_request(req, p, &creq, &signed_headers, err) != 0 ||
        sigv4_string_to_sign(p, (struct sigv4_str){creq.data, creq.len}, &sts, err) != 0 ||
        sigv4_signing_key(p, key, err) != 0 ||
        sigv4_signature(key, (struct sigv4_str){sts.data, sts.len}, signature, err) != 0 ||
        sigv4_authorization(p, (struct sigv4_str){signed_headers.data, signed_headers.len},
                            (struct sigv4_str){signature, SIGV4_HEX_LEN}, authorization,
                            err) != 0) {
        goto out;
    }
    result = 0;
out:
    sm_wipe(key, sizeof(key));
    sm_wipe(signature, sizeof(signature));
    sm_buf_clean_up(&creq);
    sm_buf_clean_up(&signed_headers);
    sm_buf_clean_up(&sts);
    return result;
}
