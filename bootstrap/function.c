#include "function.h"

#include "check.h"
#include "clock.h"
#include "event.h"
#include "log.h"
#include "mem.h"
#include "metrics.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int function_init(struct function *fn, const char *handler, struct http_client *http,
                  struct sm_err *err) {
    memset(fn, 0, sizeof(*fn));
    if (rot_config_from_env(handler, &fn->config, err) != 0 ||
        aws_config_from_env(&fn->aws, err) != 0) {
        return -1;
    }
    return function_bind(fn, http, err);
}

int function_bind(struct function *fn, struct http_client *http, struct sm_err *err) {
    if (secrets_endpoint_from_env(&fn->aws, &fn->secrets_endpoint, err) != 0 ||
        secrets_client_init(&fn->secrets, &fn->aws, fn->secrets_endpoint, http, err) != 0 ||
        rds_endpoint_from_env(&fn->aws, &fn->rds_endpoint, err) != 0 ||
        rds_client_init(&fn->rds, &fn->aws, fn->rds_endpoint, http, err) != 0) {
        return -1;
    }
    for (size_t i = 0; rot_engines[i] != NULL; i++) {
        if (rot_engines[i]->init != NULL && rot_engines[i]->init(err) != 0) {
            return -1;
        }
    }
    fn->rotation = (struct rot_context){
        .secrets = {&secrets_client_ops, &fn->secrets},
        .rds = {&rds_client_ops, &fn->rds},
        .engines = rot_engines,
        .config = &fn->config,
    };
    return 0;
}

void function_clean_up(struct function *fn) {
    if (fn == NULL) {
        return;
    }
    rot_config_clean_up(&fn->config);
    aws_config_clean_up(&fn->aws);
    sm_free(fn->secrets_endpoint);
    sm_free(fn->rds_endpoint);
    fn->secrets_endpoint = fn->rds_endpoint = NULL;
}

/* One EMF object per invocation (runtime/metrics.h): the step's outcome, duration, database
 * logins and AWS calls, by function, step, engine and strategy; the secret and the error type
 * are properties, not dimensions, to keep the metrics' cardinality low. */
static void emit_metrics(const char *step, const struct rot_stats *st, const char *secret_id,
                         int64_t started_ms, uint64_t calls, unsigned logins,
                         const struct sm_err *failure) {
    static const struct rot_stats unknown = {0};
    if (st == NULL) {
        st = &unknown;
    }
    /* Dimension sets: the first alone (the function: what template.yaml's alarm watches), and all
     * of them (by step, engine and strategy when the step knows them). */
    const char *fn = getenv("AWS_LAMBDA_FUNCTION_NAME");
    struct sm_log_field dims[4];
    size_t n_dims = 0;
    if (fn != NULL && fn[0] != '\0') {
        dims[n_dims++] = (struct sm_log_field){"FunctionName", fn};
    }
    dims[n_dims++] = (struct sm_log_field){"Step", step};
    if (st->engine != NULL && st->strategy != NULL) {
        dims[n_dims++] = (struct sm_log_field){"Engine", st->engine};
        dims[n_dims++] = (struct sm_log_field){"Strategy", st->strategy};
    }
    struct sm_metric metrics[] = {
        {"Duration", "Milliseconds", (double)(sm_monotonic_ms() - started_ms)},
        {"Succeeded", "Count", failure == NULL},
        {"Failed", "Count", failure != NULL},
        {"DatabaseLogins", "Count", logins},
        {"AWSCalls", "Count", (double)calls},
        {"RotationsCompleted", "Count", st->rotation_completed},
    };
    struct sm_log_field props[] = {{"SecretId", secret_id},
                                   {"ErrorType", failure != NULL ? sm_err_type(failure) : NULL}};
    struct sm_err err;
    if (sm_metrics_emit(FUNCTION_METRICS_NAMESPACE, dims, n_dims, metrics,
                        sizeof(metrics) / sizeof(metrics[0]), props, 2, &err) != 0) {
        SM_WARN("%s", err.msg);
    }
}

/* A check event ({"Action": "check", ...}): the read-only preflight check, whose JSON report is
 * the response whatever it found (rotators/check.h). In Lambda "this function" is the invoked
 * function's ARN. */
static int function_check(struct function *fn, const struct lambda_invocation *inv,
                          const struct rot_event *ev, int64_t deadline_ms, struct sm_buf *response,
                          struct sm_err *err) {
    const struct sm_log_field fields[] = {{"step", "check"}, {"secretId", ev->secret_id}};
    struct rot_check_opts opts = {.function_arn = inv->function_arn};
    struct rot_check_report report;
    int64_t started_ms = sm_monotonic_ms();
    uint64_t calls_before = fn->secrets.calls + fn->rds.calls;
    unsigned logins_before = fn->rotation.stats.db_logins;
    int rc = -1;
    sm_log_set_context(fields, 2);
    if (rot_check_report_init(&report, ev->secret_id, err) == 0 &&
        rot_check_run(&fn->rotation, &opts, deadline_ms, &report, err) == 0 &&
        rot_check_report_json(&report, response, err) == 0) {
        rc = 0;
    }
    emit_metrics("check", &fn->rotation.stats, ev->secret_id, started_ms,
                 fn->secrets.calls + fn->rds.calls - calls_before,
                 fn->rotation.stats.db_logins - logins_before, rc != 0 ? err : NULL);
    rot_check_report_clean_up(&report);
    return rc;
}

int function_handle(void *ctx, const struct lambda_invocation *inv, struct sm_buf *response,
                    struct sm_err *err) {
    struct function *fn = ctx;
    int result = -1;
    struct rot_event ev;
    int64_t started_ms = sm_monotonic_ms();
    uint64_t calls_before = fn->secrets.calls + fn->rds.calls;
    unsigned logins_before = fn->rotation.stats.db_logins;

    /* Failures are logged once, by the loop, when it posts them (with this step's context). */
    rot_log_context(ROT_STEP_CREATE, NULL);
    if (rot_event_parse(inv->payload, inv->payload_len, &ev, err) != 0) {
        emit_metrics("invalid-event", NULL, NULL, started_ms, 0, 0, err);
        goto out;
    }
    int64_t deadline_ms = inv->deadline_ms;
    if (deadline_ms > FUNCTION_DEADLINE_MARGIN_MS) {
        deadline_ms -= FUNCTION_DEADLINE_MARGIN_MS;
    }
    if (ev.action == ROT_ACTION_CHECK) {
        result = function_check(fn, inv, &ev, deadline_ms, response, err);
        goto out;
    }
    SM_INFO("%s: starting for secret %s, version %s", rot_step_name(ev.step), ev.secret_id,
            ev.token);
    uint64_t rds_before = fn->rds.calls;
    int rc = rot_run_step(&fn->rotation, &ev, deadline_ms, err);
    uint64_t calls = fn->secrets.calls + fn->rds.calls - calls_before;
    unsigned logins = fn->rotation.stats.db_logins - logins_before;
    SM_DEBUG("%s: %llu Secrets Manager requests, %llu RDS requests, %u database logins",
             rot_step_name(ev.step), (unsigned long long)(calls - (fn->rds.calls - rds_before)),
             (unsigned long long)(fn->rds.calls - rds_before), logins);
    emit_metrics(rot_step_name(ev.step), &fn->rotation.stats, ev.secret_id, started_ms, calls,
                 logins, rc != 0 ? err : NULL);
    if (rc != 0) {
        goto out;
    }
    if (sm_buf_append_str(response, "null", err) != 0) {
        goto out;
    }
    result = 0;
out:
    rot_event_clean_up(&ev);
    return result;
}
