/*
 * function: the rotation function behind the Runtime API loop.
 *
 * Owns what init builds once per execution environment - the Secrets Manager configuration and
 * client (sharing the loop's HTTP handle), the rotation settings (strategy from _HANDLER, password
 * policy, database TLS) and the engines' own settings - and turns one invocation into one rotation
 * step: parse the event, run the step, answer `null` (Secrets Manager only looks at success or
 * failure, as with AWS's templates). An operator's check event ({"Action": "check", ...}) runs
 * the read-only preflight check instead and answers its JSON report (rotators/check.h).
 */
#ifndef FUNCTION_H
#define FUNCTION_H

#include "aws.h"
#include "config.h"
#include "err.h"
#include "http.h"
#include "lambda_api.h"
#include "rds.h"
#include "rotation.h"
#include "secretsmanager.h"

/* Time kept back from the invocation deadline so a step that runs out of time still reports a
 * clear error before Lambda stops the process. */
#define FUNCTION_DEADLINE_MARGIN_MS 500

/* The CloudWatch namespace of the function's metrics (EMF, one object per invocation). */
#define FUNCTION_METRICS_NAMESPACE "smrotate"

struct function {
    struct aws_config aws;
    char *secrets_endpoint;    /* owned */
    struct aws_client secrets; /* Secrets Manager */
    char *rds_endpoint;        /* owned */
    struct aws_client rds;     /* RDS: only called for RDS-managed masters and replica hosts */
    struct rot_config config;
    struct rot_context rotation;
};

/* Reads the configuration (see README's reference) and binds the Secrets Manager client to http
 * (borrowed for the function's lifetime). handler is the _HANDLER value. Returns 0, or -1 with err
 * (SM_ERR_CONFIG naming the variable); fn is then safe to clean up. */
int function_init(struct function *fn, const char *handler, struct http_client *http,
                  struct sm_err *err);

/* The second half of function_init, for `bootstrap check` (check_cli.h), which fills fn->config
 * and fn->aws itself: the endpoints, the clients bound to http, the engines and the rotation
 * context. Returns 0, or -1 with err. */
int function_bind(struct function *fn, struct http_client *http, struct sm_err *err);

/* Releases and wipes what init built. Accepts a zeroed struct. */
void function_clean_up(struct function *fn);

/* lambda_handler_fn: ctx is a struct function. */
int function_handle(void *ctx, const struct lambda_invocation *inv, struct sm_buf *response,
                    struct sm_err *err);

#endif
