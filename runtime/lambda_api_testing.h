/*
 * lambda_api_testing: the loop's protocol helpers and a bounded loop, for tests and the fuzz
 * target. Only lambda_api.c, which defines them, and tests include it.
 */
#ifndef SM_LAMBDA_API_TESTING_H
#define SM_LAMBDA_API_TESTING_H

#include "lambda_api.h"

/* lambda_run, stopping with exit code 0 once max_invocations invocations were handled (0: never,
 * as lambda_run). */
int lambda_run_bounded(struct lambda_client *c, lambda_handler_fn *handler, void *ctx,
                       uint64_t max_invocations);

/* Parses a Lambda-Runtime-Deadline-Ms value: 1 to 18 decimal digits, nothing else. Returns true
 * and sets *out, or false (leaving *out alone) for NULL or anything malformed. */
bool lambda_parse_deadline(const char *value, int64_t *out);

/* Whether s is acceptable as a request id (it becomes part of a URL path): 1..LAMBDA_ID_MAX bytes
 * of RFC 3986 unreserved characters [A-Za-z0-9-._~]. */
bool lambda_valid_request_id(const char *s);

/* Whether s may be sent back as a header value: 1..LAMBDA_ID_MAX printable ASCII bytes (0x21-0x7e
 * plus space), so no CR/LF can split the header. */
bool lambda_valid_header_value(const char *s);

/* Appends s (len bytes) to out with every invalid UTF-8 sequence (stray continuation byte,
 * truncated sequence, overlong form, surrogate, code point past U+10FFFF) replaced by U+FFFD.
 * Returns 0, or -1 with err set (SM_ERR_TOO_LARGE, SM_ERR_NOMEM). */
int lambda_utf8_sanitize(const char *s, size_t len, struct sm_buf *out, struct sm_err *err);

/* Builds the ErrorRequest body {"errorMessage","errorType","stackTrace":[]} for cause into out
 * (replacing its content) with cJSON; message and type are made valid UTF-8 first. Returns 0, or
 * -1 with err set (SM_ERR_NOMEM, SM_ERR_TOO_LARGE). */
int lambda_error_body(const struct sm_err *cause, struct sm_buf *out, struct sm_err *err);

/* Writes "<category>.<errorType with only [A-Za-z0-9] kept>" into out (cap bytes), e.g.
 * "Function.DatabaseUnreachable"; "<category>.Unknown" when nothing is left. Always
 * NUL-terminates (truncating). */
void lambda_error_type_header_value(const char *category, const struct sm_err *cause, char *out,
                                    size_t cap);

#endif
