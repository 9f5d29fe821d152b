/*
 * echo_bootstrap: a test-only runtime built on runtime/lambda_api.h with a scriptable handler.
 *
 * It exercises the Runtime API loop with handler behaviours the real bootstrap cannot produce on
 * demand. Set-up mirrors bootstrap/main.c. The event (JSON) picks the behaviour:
 *   {} or {"action":"echo"}   respond with what the handler saw: requestId, deadlineMs,
 *                             remainingMs, functionArn, traceId, traceEnv (_X_AMZN_TRACE_ID),
 *                             invocationId, tenantId, payloadLen (null when absent)
 *   {"action":"fail","message_hex":"..","type":".."}   fail with that message (raw bytes, hex) and
 *                             errorType (default: InvalidEvent)
 *   {"action":"big","bytes":N,"ignore_ceiling":true}  respond with a JSON string of N bytes; with
 *                             ignore_ceiling the handler lifts the buffer's ceiling, so the loop's
 *                             own size guard must catch it
 *   {"action":"oom"}          a real allocation failure inside the handler
 *   {"action":"sleep","ms":N} sleep, then echo
 * Environment: RT_ECHO_MAX_INVOCATIONS=N stops cleanly after N invocations (exit 0, so leak
 * checkers run); RT_ECHO_MODE=noop answers {} without parsing the event (benchmarks);
 */
#include "clock.h"
#include "err.h"
#include "http.h"
#include "json.h"
#include "lambda_api_testing.h"
#include "log.h"
#include "mem.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int add_str(cJSON *o, const char *key, const char *v) {
    return (v != NULL ? cJSON_AddStringToObject(o, key, v) : cJSON_AddNullToObject(o, key)) != NULL
               ? 0
               : -1;
}

static int echo(const struct lambda_invocation *inv, struct sm_buf *response, struct sm_err *err) {
    int result = -1;
    cJSON *o = cJSON_CreateObject();
    if (o == NULL || add_str(o, "requestId", inv->request_id) != 0 ||
        cJSON_AddNumberToObject(o, "deadlineMs", (double)inv->deadline_ms) == NULL ||
        cJSON_AddNumberToObject(o, "remainingMs",
                                inv->deadline_ms != 0 ? (double)sm_remaining_ms(inv->deadline_ms)
                                                      : -1.0) == NULL ||
        add_str(o, "functionArn", inv->function_arn) != 0 ||
        add_str(o, "traceId", inv->trace_id) != 0 ||
        add_str(o, "traceEnv", getenv("_X_AMZN_TRACE_ID")) != 0 ||
        add_str(o, "invocationId", inv->invocation_id) != 0 ||
        add_str(o, "tenantId", inv->tenant_id) != 0 ||
        cJSON_AddNumberToObject(o, "payloadLen", (double)inv->payload_len) == NULL) {
        sm_err_set(err, SM_ERR_NOMEM, "out of memory building the echo");
        goto out;
    }
    if (sm_json_print(o, response, err) != 0) {
        goto out;
    }
    result = 0;
out:
    cJSON_Delete(o);
    return result;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

static int fail(const cJSON *ev, struct sm_err *err) {
    char msg[SM_ERR_MSG_MAX];
    size_t n = 0;
    const char *hex = sm_json_string(ev, "message_hex");
    for (size_t i = 0; hex != NULL && hex[i] != '\0' && hex[i + 1] != '\0' && n + 1 < sizeof(msg);
         i += 2) {
        int hi = hexval(hex[i]), lo = hexval(hex[i + 1]);
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
            break;
        }
        msg[n++] = (char)(hi * 16 + lo);
    }
    msg[n] = '\0';
    sm_err_set(err, SM_ERR_EVENT, "%s", msg);
    const char *type = sm_json_string(ev, "type");
    if (type != NULL) {
        snprintf(err->aws_type, sizeof(err->aws_type), "%s", type);
    }
    return -1;
}

static int big(const cJSON *ev, struct sm_buf *response, struct sm_err *err) {
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(ev, "bytes");
    size_t bytes = cJSON_IsNumber(b) && b->valuedouble > 0 ? (size_t)b->valuedouble : 0;
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ev, "ignore_ceiling"))) {
        response->max = bytes + 16;
    }
    char chunk[4096];
    memset(chunk, 'x', sizeof(chunk));
    if (sm_buf_append(response, "\"", 1, err) != 0) {
        return -1;
    }
    for (size_t done = 0; done < bytes;) {
        size_t n = bytes - done < sizeof(chunk) ? bytes - done : sizeof(chunk);
        if (sm_buf_append(response, chunk, n, err) != 0) {
            return -1;
        }
        done += n;
    }
    return sm_buf_append(response, "\"", 1, err);
}

static int handle(void *ctx, const struct lambda_invocation *inv, struct sm_buf *response,
                  struct sm_err *err) {
    if (ctx != NULL) { /* noop mode */
        return sm_buf_append(response, "{}", 2, err);
    }
    int result = -1;
    cJSON *ev = sm_json_parse(inv->payload, inv->payload_len, SM_ERR_EVENT, "the event", err);
    if (ev == NULL) {
        return -1;
    }
    const char *action = sm_json_string(ev, "action");
    if (action == NULL || strcmp(action, "echo") == 0) {
        result = echo(inv, response, err);
    } else if (strcmp(action, "fail") == 0) {
        result = fail(ev, err);
    } else if (strcmp(action, "big") == 0) {
        result = big(ev, response, err);
    } else if (strcmp(action, "oom") == 0) {
        void *p = sm_malloc((size_t)1 << 46); /* 64 TiB: more than any machine commits */
        if (p == NULL) {
            sm_err_set(err, SM_ERR_NOMEM, "out of memory in the handler");
        } else {
            sm_free(p);
            result = echo(inv, response, err);
        }
    } else if (strcmp(action, "sleep") == 0) {
        const cJSON *ms = cJSON_GetObjectItemCaseSensitive(ev, "ms");
        sm_sleep_ms(cJSON_IsNumber(ms) ? (int64_t)ms->valuedouble : 0);
        result = echo(inv, response, err);
    } else {
        sm_err_set(err, SM_ERR_EVENT, "unknown action");
    }
    cJSON_Delete(ev);
    return result;
}

int main(void) {
    int code = 1;
    struct sm_err err;
    struct http_client http = {0};
    struct lambda_client rt;
    static int noop_marker;
    sm_err_clear(&err);

    sm_mem_install_hooks();
    sm_log_init_from_env();
    if (lambda_client_init(&rt, getenv("AWS_LAMBDA_RUNTIME_API"), &http, &err) != 0) {
        fprintf(stderr, "echo_bootstrap: %s\n", err.msg);
        return 1;
    }
    if (http_global_init(&err) != 0 || http_client_init(&http, &err) != 0) {
        SM_FATAL("%s", err.msg);
        goto out;
    }
    const char *max = getenv("RT_ECHO_MAX_INVOCATIONS");
    const char *mode = getenv("RT_ECHO_MODE");
    bool noop = mode != NULL && strcmp(mode, "noop") == 0;
    code = lambda_run_bounded(&rt, handle, noop ? &noop_marker : NULL,
                              max != NULL ? strtoull(max, NULL, 10) : 0);
out:
    http_client_clean_up(&http);
    return code;
}
