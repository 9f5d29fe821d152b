/*
 * sigv4: AWS Signature Version 4 for header authentication (AWS4-HMAC-SHA256).
 *
 * Owns the four stages of a signature (canonical request, string to sign, signing key and
 * signature, Authorization value; sigv4_testing.h exposes each to the tests that hold them
 * against AWS's suite, tests/data/sigv4) and sigv4_sign, which runs them in order. Requests have
 * no query string: every AWS call is a POST of its parameters in the body.
 *
 * Inputs are length-carrying views (struct sigv4_str); nothing is NUL-terminated until a library
 * boundary. Every header passed in is signed: the caller chooses what to sign (Secrets Manager
 * signs content-type;host;x-amz-date;x-amz-security-token;x-amz-target). When the headers carry
 * no x-amz-date, or no x-amz-security-token while a session token is set, the signer signs one
 * as if present: the caller must then send it (that is the suite's get-vanilla-with-session-token
 * case, and what botocore does).
 *
 * Secrets: the secret access key, the "AWS4"+secret scratch and every derived key are wiped on
 * every path (OPENSSL_cleanse through sm_wipe/sm_free). Canonical requests and strings to sign
 * may hold the session token: they live in sm_buf, which wipes on clean-up. Nothing here logs.
 */
#ifndef SM_SIGV4_H
#define SM_SIGV4_H

#include "buf.h"
#include "err.h"

#include <stddef.h>
#include <stdint.h>

/* A borrowed byte range; ptr may be NULL when len is 0. */
struct sigv4_str {
    const char *ptr;
    size_t len;
};

/* View of a NUL-terminated string (NULL gives an empty view). */
struct sigv4_str sigv4_cstr(const char *s);

struct sigv4_header {
    struct sigv4_str name;  /* any case; lower-cased when canonicalized */
    struct sigv4_str value; /* trimmed, whitespace runs (folded lines too) collapsed to one space */
};

struct sigv4_request {
    struct sigv4_str method; /* "GET", "POST" */
    /* Absolute path, not percent-encoded (as in the suite's .req files). It is normalized ("."
     * and ".." segments removed, duplicate slashes collapsed, a trailing slash kept) and
     * UriEncoded once. A non-S3 service's already-encoded wire path is passed as is, which gives
     * AWS's double encoding. Empty means "/". Secrets Manager always uses "/". */
    struct sigv4_str path;
    const struct sigv4_header *headers; /* all signed; duplicates joined with ',' in order */
    size_t n_headers;
    struct sigv4_str payload; /* the exact body bytes sent */
};

#define SIGV4_AMZ_DATE_LEN 16 /* YYYYMMDDTHHMMSSZ */
#define SIGV4_KEY_LEN 32      /* raw HMAC-SHA256 key */
#define SIGV4_HEX_LEN 64      /* hex SHA-256 or signature */
/* Ceiling of a canonical request or string to sign built by sigv4_sign (the payload is hashed,
 * never copied, so this bounds the headers only). */
#define SIGV4_LIMIT_CANONICAL (64u * 1024u)

struct sigv4_params {
    struct sigv4_str access_key_id;
    struct sigv4_str secret_access_key;
    struct sigv4_str session_token; /* empty: long-term credentials */
    struct sigv4_str region;        /* e.g. "us-east-1" */
    struct sigv4_str service;       /* signing name, e.g. "secretsmanager" */
    struct sigv4_str amz_date;      /* SIGV4_AMZ_DATE_LEN bytes; the scope date is its first 8 */
};

/* Writes the UTC time epoch_ms as YYYYMMDDTHHMMSSZ plus a NUL into out. Returns 0, or -1 with
 * err set (SM_ERR_INTERNAL) when the time cannot be represented. */
int sigv4_format_amz_date(int64_t epoch_ms, char out[SIGV4_AMZ_DATE_LEN + 1], struct sm_err *err);

/* All stages: replaces the content of authorization (caller-owned; wipe-on-free like every
 * sm_buf) with the Authorization header value for req. Intermediate buffers and keys are wiped.
 * Returns 0, or -1 with err set: SM_ERR_INTERNAL for malformed input (method, header name, date,
 * region or service), SM_ERR_TOO_LARGE past SIGV4_LIMIT_CANONICAL, SM_ERR_NOMEM. */
int sigv4_sign(const struct sigv4_request *req, const struct sigv4_params *p,
               struct sm_buf *authorization, struct sm_err *err);

#endif
