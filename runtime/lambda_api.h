/*
 * lambda_api: the Lambda Runtime API client (2018-06-01) and the invocation loop.
 *
 * Owns the loop `GET /runtime/invocation/next` -> handler -> exactly one `/response` or `/error`,
 * and the `/runtime/init/error` post. It borrows one struct http_client from the caller for every
 * Runtime API call, so the same keep-alive handle can be shared with the AWS clients. The process
 * has one thread. No shutdown hook: a rotation step holds nothing that must be flushed, and
 * Lambda only sends SIGTERM to runtimes that register an extension.
 *
 * Protocol decisions (AWS Lambda Developer Guide, "Using the Lambda runtime API for custom
 * runtimes", and the Runtime Interface Emulator's behaviour):
 *   - Base URL: "http://" + AWS_LAMBDA_RUNTIME_API + "/2018-06-01". No proxy (http.c sets
 *     CURLOPT_PROXY ""), HTTP/1.1, connect timeout 1 s, no total timeout on /next (the process may
 *     be frozen for hours between request and reply). SIGPIPE is ignored.
 *   - /next: 200 -> invocation. 403 or 500 -> exit non-zero. A transport error (refused, reset,
 *     connect timeout) or any other status is retried at once, up to LAMBDA_MAX_NEXT_FAILURES
 *     consecutive failures, then exit non-zero.
 *   - A missing or malformed Lambda-Runtime-Aws-Request-Id is a protocol error: nothing can be
 *     posted for that invocation, and polling again would be an invalid state transition, so the
 *     loop logs it and exits non-zero (Lambda restarts the environment).
 *   - Lambda-Runtime-Deadline-Ms -> inv->deadline_ms (0 when absent or malformed).
 *     Lambda-Runtime-Trace-Id -> _X_AMZN_TRACE_ID (unset when absent).
 *     Lambda-Runtime-Invocation-Id is echoed on the post when present.
 *   - Posts: 202 -> next. 400, 410, 413 -> log and poll again (do not retry the post). 403, 500,
 *     any other status, or a transport error -> exit non-zero.
 *   - Error posts carry `Content-Type: application/json`, the body
 *     {"errorMessage": ..., "errorType": ..., "stackTrace": []} (valid UTF-8: invalid bytes become
 *     U+FFFD) and `Lambda-Runtime-Function-Error-Type: Function.<errorType>` for invocation errors,
 *     `Runtime.<errorType>` for init errors (the Category.Reason form Lambda documents; characters
 *     outside [A-Za-z0-9] are dropped from the header value, "Unknown" when nothing is left).
 *     errorType is sm_err_type(err): the AWS error code when there is one, else the catalogue name.
 *   - An event larger than LAMBDA_EVENT_MAX, a response larger than SM_LIMIT_RESPONSE and an
 *     out-of-memory inside the handler each fail that invocation with an error post; the loop goes
 *     on. The event payload is never logged.
 */
#ifndef SM_LAMBDA_API_H
#define SM_LAMBDA_API_H

#include "buf.h"
#include "err.h"
#include "http.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The Runtime API's own request limit (6 MiB + 100 bytes, as the emulator and Lambda enforce):
 * nothing Lambda can deliver is refused, anything larger is answered with an error post. */
#define LAMBDA_EVENT_MAX (SM_LIMIT_EVENT + 100u)
/* Consecutive failed /next calls before the loop gives up. */
#define LAMBDA_MAX_NEXT_FAILURES 3
/* Longest request id or invocation id accepted from the Runtime API. */
#define LAMBDA_ID_MAX 256
/* Longest URL the client builds, and room for the base part (scheme + 255-byte host:port +
 * version path). */
#define LAMBDA_URL_MAX 1024
#define LAMBDA_BASE_MAX 288

/* One invocation, as the handler sees it. Every pointer is borrowed and valid only during the
 * handler call; optional fields are NULL when Lambda did not send them. */
struct lambda_invocation {
    const char *request_id;    /* Lambda-Runtime-Aws-Request-Id, never NULL */
    int64_t deadline_ms;       /* Lambda-Runtime-Deadline-Ms (epoch ms), 0 = unknown */
    const char *function_arn;  /* Lambda-Runtime-Invoked-Function-Arn */
    const char *trace_id;      /* Lambda-Runtime-Trace-Id (also in _X_AMZN_TRACE_ID) */
    const char *invocation_id; /* Lambda-Runtime-Invocation-Id */
    const char *tenant_id;     /* Lambda-Runtime-Aws-Tenant-Id */
    const char *payload;       /* the event, NUL-terminated; may hold anything: never log it */
    size_t payload_len;
};

/* The handler seam. Returns 0 with a JSON document in response (posted to /response; an empty
 * response is posted as `null`), or -1 with err set (posted to /error). response starts empty with
 * the ceiling SM_LIMIT_RESPONSE; the loop wipes it after posting. A handler returning -1 without
 * setting err is reported as SM_ERR_INTERNAL. */
typedef int lambda_handler_fn(void *ctx, const struct lambda_invocation *inv,
                              struct sm_buf *response, struct sm_err *err);

struct lambda_client {
    struct http_client *http;   /* borrowed; used only from the loop's thread */
    char base[LAMBDA_BASE_MAX]; /* "http://host:port/2018-06-01" */
    long connect_timeout_ms;    /* default 1000 */
};

/* Binds a client to runtime_api ("host:port", the value of AWS_LAMBDA_RUNTIME_API) and to http,
 * which stays borrowed for the client's lifetime. Ignores SIGPIPE for the process. Allocates
 * nothing. Returns 0, or -1 with err (SM_ERR_CONFIG) when runtime_api is NULL, empty, too long or
 * holds characters that cannot be a host:port. */
int lambda_client_init(struct lambda_client *c, const char *runtime_api, struct http_client *http,
                       struct sm_err *err);

/* Runs the invocation loop until a fatal condition (see the header comment); logs why it stopped
 * and returns the process exit code, 1. */
int lambda_run(struct lambda_client *c, lambda_handler_fn *handler, void *ctx);

/* Posts cause to /runtime/init/error with `Lambda-Runtime-Function-Error-Type:
 * Runtime.<errorType>`. The caller must then exit non-zero. Returns 0 when Lambda answered 202,
 * -1 with err set otherwise (SM_ERR_RUNTIME_API for another status, or the transport error). */
int lambda_post_init_error(struct lambda_client *c, const struct sm_err *cause, struct sm_err *err);

#endif
