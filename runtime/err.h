/*
 * err: errors as values.
 *
 * Owns struct sm_err, the value every fallible function fills, and the runtime's error catalogue.
 * An error class is a `const struct sm_code`: its stable name (the Lambda errorType), whether it
 * is transient, and the operator's sentence. Each layer owns its own catalogue as one X-macro
 * list: this file the runtime's (memory, configuration, events, transport, AWS), rotators/
 * errors.h the rotation's (secrets, databases). A code is a one-element array, so its name is
 * a pointer that compares with == and needs no registry: `err->code == SM_ERR_NOMEM`.
 *
 * A message is written for the operator reading CloudWatch; it must never contain a password,
 * SecretString, signature or token.
 *
 * Transient: a retry of the same request may succeed (throttling, a 5xx, a lost connection).
 * The AWS client layer retries exactly these (aws.h); Secrets Manager itself retries a whole
 * rotation whatever failed.
 */
#ifndef SM_ERR_H
#define SM_ERR_H

#include <stdbool.h>
#include <stddef.h>

struct sm_code {
    const char *name;     /* stable: "OutOfMemory" */
    bool transient;       /* a retry of the same request may succeed */
    const char *sentence; /* generic, for a message that could not be formatted */
};

/* Declares and defines the codes of a catalogue: X(code, name, transient, sentence). */
#define SM_CODE_DECLARE(prefix, code, name, transient, sentence)                                   \
    extern const struct sm_code prefix##code[1];
#define SM_CODE_DEFINE(prefix, code, name, transient, sentence)                                    \
    const struct sm_code prefix##code[1] = {{name, transient, sentence}};

/* X(code, name, transient, sentence) */
#define SM_ERRORS(X)                                                                               \
    X(SM_ERR_, OK, "OK", false, "no error")                                                        \
    X(SM_ERR_, NOMEM, "OutOfMemory", false, "out of memory")                                       \
    X(SM_ERR_, INTERNAL, "InternalError", false, "internal error")                                 \
    X(SM_ERR_, CONFIG, "ConfigInvalid", false, "invalid configuration")                            \
    X(SM_ERR_, USAGE, "Usage", false, "invalid command line")                                      \
    X(SM_ERR_, EVENT, "InvalidEvent", false, "invalid invocation event")                           \
    X(SM_ERR_, TOO_LARGE, "TooLarge", false, "data exceeds its size limit")                        \
    X(SM_ERR_, TRANSPORT, "TransportError", true, "network transport error")                       \
    X(SM_ERR_, DEADLINE, "DeadlineExceeded", false, "invocation deadline reached")                 \
    X(SM_ERR_, RUNTIME_API, "RuntimeApiError", false, "Lambda Runtime API error")                  \
    X(SM_ERR_, PROTOCOL, "ProtocolError", false, "malformed response from a service")              \
    X(SM_ERR_, AWS_THROTTLED, "Throttling", true, "AWS throttled the request")                     \
    X(SM_ERR_, AWS_SERVER, "ServiceError", true, "AWS service error")                              \
    X(SM_ERR_, AWS_CLIENT, "ClientError", false, "AWS rejected the request")                       \
    X(SM_ERR_, AWS_AUTH, "AuthError", false, "AWS rejected the credentials or signature")

SM_ERRORS(SM_CODE_DECLARE)

#define SM_ERR_MSG_MAX 1024
#define SM_ERR_TYPE_MAX 96

struct sm_err {
    const struct sm_code *code; /* NULL reads as SM_ERR_OK */
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
int sm_err_set(struct sm_err *err, const struct sm_code *code, const char *fmt, ...)
    SM_PRINTF(3, 4);

/* Prepends "<prefix>: " to the message, keeping code and aws_type. Returns -1. */
int sm_err_prefix(struct sm_err *err, const char *fmt, ...) SM_PRINTF(2, 3);

/* Stable name of a code, e.g. "OutOfMemory"; "OK" for NULL. */
const char *sm_code_name(const struct sm_code *code);

/* Whether a retry of the same request may succeed; false for NULL. */
bool sm_code_is_transient(const struct sm_code *code);

/* Name reported as the Lambda errorType: the AWS error code when there is one, else the
 * catalogue name. Never NULL. */
const char *sm_err_type(const struct sm_err *err);

/* True when err is an AWS error whose code equals aws_type. */
bool sm_err_is_aws(const struct sm_err *err, const char *aws_type);

#endif
