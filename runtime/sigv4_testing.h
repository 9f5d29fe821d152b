/*
 * sigv4_testing: the stages of sigv4_sign, each on its own, for the tests that check them against
 * AWS's suite and the fuzz target. Only sigv4.c, which defines them, and tests include it.
 */
#ifndef SM_SIGV4_TESTING_H
#define SM_SIGV4_TESTING_H

#include "sigv4.h"

/* Stage 1. Replaces the content of creq with the canonical request of req (using p's amz_date
 * and session_token for the implicit headers described above) and of signed_headers with the
 * signed header list ("host;x-amz-date"). Both buffers are caller-owned and keep their ceilings.
 * Returns 0, or -1 with err set: SM_ERR_INTERNAL for malformed input (bad date, header name or
 * method), SM_ERR_TOO_LARGE past a ceiling, SM_ERR_NOMEM. */
int sigv4_canonical_request(const struct sigv4_request *req, const struct sigv4_params *p,
                            struct sm_buf *creq, struct sm_buf *signed_headers, struct sm_err *err);

/* Stage 2. Replaces the content of sts with
 * "AWS4-HMAC-SHA256\n<amz_date>\n<yyyymmdd>/<region>/<service>/aws4_request\n<hex sha256(creq)>".
 * Returns 0 or -1 with err set (SM_ERR_INTERNAL for a bad date/region/service, SM_ERR_TOO_LARGE,
 * SM_ERR_NOMEM). */
int sigv4_string_to_sign(const struct sigv4_params *p, struct sigv4_str creq, struct sm_buf *sts,
                         struct sm_err *err);

/* Stage 3a. Derives kSigning for p's secret key, scope date, region and service into key (the
 * caller wipes it with sm_wipe when done). Intermediate keys and the "AWS4"+secret scratch are
 * wiped before returning, on every path. Returns 0, or -1 with err set (key is then zeroed). */
int sigv4_signing_key(const struct sigv4_params *p, unsigned char key[SIGV4_KEY_LEN],
                      struct sm_err *err);

/* Stage 3b. Writes the lowercase hex HMAC-SHA256(key, sts) plus a NUL into hex. Returns 0 or -1
 * with err set (SM_ERR_INTERNAL when OpenSSL fails). */
int sigv4_signature(const unsigned char key[SIGV4_KEY_LEN], struct sigv4_str sts,
                    char hex[SIGV4_HEX_LEN + 1], struct sm_err *err);

/* Stage 4. Replaces the content of out with "AWS4-HMAC-SHA256 Credential=<akid>/<scope>,
 * SignedHeaders=<signed_headers>, Signature=<signature>". Returns 0 or -1 with err set. */
int sigv4_authorization(const struct sigv4_params *p, struct sigv4_str signed_headers,
                        struct sigv4_str signature, struct sm_buf *out, struct sm_err *err);

/* Lowercase hex SHA-256 of data plus a NUL. Returns 0 or -1 (SM_ERR_INTERNAL). */
int sigv4_sha256_hex(struct sigv4_str data, char hex[SIGV4_HEX_LEN + 1], struct sm_err *err);

#endif
