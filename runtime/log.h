/*
 * log: one line per record on stderr, in Lambda's advanced-logging contract.
 *
 * AWS_LAMBDA_LOG_FORMAT=JSON gives one JSON object per line with `timestamp` (RFC 3339, UTC,
 * milliseconds), `level`, `message`, `requestId` and the caller's context fields; anything
 * else gives text lines. AWS_LAMBDA_LOG_LEVEL (TRACE, DEBUG, INFO, WARN, ERROR, FATAL) filters
 * before formatting; the default is INFO. Context fields come from a fixed allowlist: callers can
 * never attach the event payload, a SecretString, a password, a signature or a token to a line, and
 * the message itself must not carry one either.
 */
#ifndef SM_LOG_H
#define SM_LOG_H

#include "err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum sm_log_level {
    SM_LOG_TRACE,
    SM_LOG_DEBUG,
    SM_LOG_INFO,
    SM_LOG_WARN,
    SM_LOG_ERROR,
    SM_LOG_FATAL,
};

/* Reads AWS_LAMBDA_LOG_FORMAT and AWS_LAMBDA_LOG_LEVEL. An unknown level keeps INFO and logs a
 * warning saying so. */
void sm_log_init_from_env(void);

/* Sets format and threshold directly (tests, --help paths). */
void sm_log_configure(bool json, enum sm_log_level threshold);

/* Redirects output (tests). NULL restores stderr. The stream is borrowed. */
void sm_log_set_stream(FILE *stream);

/* Request id attached to every following line; NULL clears it. Copied (truncated at 127 bytes). */
void sm_log_set_request_id(const char *request_id);

/* Context fields attached to every following JSON line after requestId, replacing the previous
 * ones: at most SM_LOG_CONTEXT_MAX (name, value) pairs. The names are the caller's allowlist
 * (string literals, borrowed for as long as they are set); the values are copied (truncated at
 * 2047 bytes), and a NULL or empty value is left out. n == 0 clears the context. */
#define SM_LOG_CONTEXT_MAX 2
struct sm_log_field {
    const char *name;
    const char *value;
};
void sm_log_set_context(const struct sm_log_field *fields, size_t n);

/* Whether a record at level would be written. */
bool sm_log_enabled(enum sm_log_level level);

/* Writes one record. Preserves errno. */
void sm_log(enum sm_log_level level, const char *fmt, ...) SM_PRINTF(2, 3);

struct cJSON;

/* Writes obj as one JSON line whatever the format, with `timestamp`, `level` and `requestId`
 * added (Lambda's log-level filtering reads them), when a record at level would be written. obj is
 * borrowed, and gains those members. Returns 0, or -1 with err (SM_ERR_NOMEM: nothing written). */
int sm_log_object(enum sm_log_level level, struct cJSON *obj, struct sm_err *err);

/* Parses a level name (case-insensitive); returns false for an unknown name. */
bool sm_log_parse_level(const char *name, enum sm_log_level *out);

#define SM_TRACE(...) sm_log(SM_LOG_TRACE, __VA_ARGS__)
#define SM_DEBUG(...) sm_log(SM_LOG_DEBUG, __VA_ARGS__)
#define SM_INFO(...) sm_log(SM_LOG_INFO, __VA_ARGS__)
#define SM_WARN(...) sm_log(SM_LOG_WARN, __VA_ARGS__)
#define SM_ERROR(...) sm_log(SM_LOG_ERROR, __VA_ARGS__)
#define SM_FATAL(...) sm_log(SM_LOG_FATAL, __VA_ARGS__)

#endif
