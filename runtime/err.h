/*
 * err: errors as values.
 *
 * Owns the error catalogue (one X-macro list: code, stable name, class, operator sentence) and
 * struct sm_err, the value every fallible function fills. A message is written for the operator
 * reading CloudWatch; it must never contain a password, SecretString, signature or token.
 *
 * Transient errors (throttling, 5xx, a database that cannot be reached) are worth a retry by
 * Secrets Manager; permanent ones (bad event, missing field, hostile username) are not.
 */
#ifndef SM_ERR_H
#define SM_ERR_H

#include <stdbool.h>
#include <stddef.h>

/* X(code, name, transient, sentence) */
#define SM_ERRORS(X)                                                                               \
    X(OK, "OK", false, "no error")                                                                 \
    X(NOMEM, "OutOfMemory", true, "out of memory")                                                 \
    X(INTERNAL, "InternalError", false, "internal error")                                          \
    X(CONFIG, "ConfigInvalid", false, "invalid configuration")                                     \
    X(USAGE, "Usage", false, "invalid command line")                                               \
    X(EVENT, "InvalidEvent", false, "invalid invocation event")                                    \
    X(TOO_LARGE, "TooLarge", false, "data exceeds its size limit")                                 \
    X(TRANSPORT, "TransportError", true, "network transport error")                                \
    X(DEADLINE, "DeadlineExceeded", true, "invocation deadline reached")                           \
    X(RUNTIME_API, "RuntimeApiError", false, "Lambda Runtime API error")                           \
    X(PROTOCOL, "ProtocolError", false, "malformed response from a service")                       \
    X(AWS_THROTTLED, "Throttling", true, "AWS throttled the request")                              \
    X(AWS_SERVER, "ServiceError", true, "AWS service error")                                       \
    X(AWS_CLIENT, "ClientError", false, "AWS rejected the request")                                \
    X(AWS_AUTH, "AuthError", false, "AWS rejected the credentials or signature")                   \
    X(SECRET_INVALID, "SecretInvalid", false, "the secret's value is not valid")                   \
    X(ROTATION, "RotationError", false, "rotation precondition failed")                            \
    X(DB_UNREACHABLE, "DatabaseUnreachable", true, "database cannot be reached")                   \
    X(DB_LOGIN, "DatabaseLoginFailed", false, "database login failed")                             \
    X(DB_TLS, "DatabaseTlsFailed", false, "database TLS negotiation or verification failed")       \
    X(DB_QUERY, "DatabaseQueryFailed", false, "database statement failed")                         \
    X(UNSUPPORTED, "Unsupported", false, "not supported")

enum sm_code {
#define SM_ERR_ENUM(code, name, transient, sentence) SM_ERR_##code,
    SM_ERRORS(SM_ERR_ENUM)
#undef SM_ERR_ENUM
        SM_ERR_COUNT_
};

#define SM_ERR_MSG_MAX 1024
#define SM_ERR_TYPE_MAX 96

struct sm_err {
    enum sm_code code;
    /* For AWS errors: the service's error code (`ResourceNotFoundException`), else empty. */
    char aws_type[SM_ERR_TYPE_MAX];
    /* HTTP status of an AWS error, else 0. */
    long http_status;
    char msg[SM_ERR_MSG_MAX];
};

#if defined(__GNUC__)
#define SM_PRINTF(fmt_idx, first_arg) __attribute__((format(printf, fmt_idx, first_arg)))
#else
#define SM_PRINTF(fmt_idx, first_arg)
#endif

/* Resets err to SM_ERR_OK with an empty message. Accepts NULL. */
void sm_err_clear(struct sm_err *err);

/* Sets code and a printf-formatted message (truncated to SM_ERR_MSG_MAX). Returns -1, so a
 * caller can write `return sm_err_set(...)`. Accepts a NULL err (then only returns -1). */
int sm_err_set(struct sm_err *err, enum sm_code code, const char *fmt, ...) SM_PRINTF(3, 4);

/* Prepends "<prefix>: " to the message, keeping code and aws_type. Returns -1. */
int sm_err_prefix(struct sm_err *err, const char *fmt, ...) SM_PRINTF(2, 3);

/* Stable name of a code, e.g. "DatabaseUnreachable"; "Unknown" if out of range. */
const char *sm_code_name(enum sm_code code);

/* The catalogue's generic sentence for a code. */
const char *sm_code_sentence(enum sm_code code);

/* Whether a retry later may succeed (Secrets Manager's own rotation retries). */
bool sm_code_is_transient(enum sm_code code);

/* Name reported as the Lambda errorType: the AWS error code when there is one, else the
 * catalogue name. Never NULL. */
const char *sm_err_type(const struct sm_err *err);

/* True when err is an AWS error whose code equals aws_type. */
bool sm_err_is_aws(const struct sm_err *err, const char *aws_type);

#endif
