/*
 * check: the read-only preflight check of one secret - will its rotation work? - for an operator,
 * before a rotation runs at 3 a.m.: invoked in Lambda ({"Action": "check", "SecretId": "<id>"},
 * event.h) it sees the function's VPC, role, endpoints and certificates; from a shell (`bootstrap
 * check`) it sees the operator's.
 *
 * Owns the checks, in the order a rotation needs them, each stopping its branch at the first
 * failure: the secret is readable and rotation is enabled (with this function, in Lambda); no
 * incomplete rotation; the secret's JSON and its smrotate: tags; the alternate user's name; the
 * password policy (GetRandomPassword, whose password is wiped unseen); the master secret and where
 * RDS puts it; DNS and TCP to the database; TLS and the current credentials' login; the master's
 * login and privileges; what alternating users would create, grant or revoke. It reads and logs
 * in as the steps do (steps.h) and never writes: no PutSecretValue or UpdateSecretVersionStage,
 * and on the database only the test query and the engines' read-only inspection (engine.h's
 * check_rights and plan_alternate_user). Every failing check's detail says what to fix, in
 * README's troubleshooting words; no detail holds a password.
 */
#ifndef ROT_CHECK_H
#define ROT_CHECK_H

#include "buf.h"
#include "errors.h"
#include "rotation.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ROT_CHECK_MAX 24

struct rot_check_item {
    const char *name; /* "secret-readable", ... (static) */
    bool ok;
    char *detail; /* owned; one line for the operator */
};

/* {"secretId", "ok", "strategy", "engine", "checks": [{"check", "ok", "detail"}...]} */
struct rot_check_report {
    char *secret_id;      /* owned */
    const char *strategy; /* the strategy that would rotate the secret; NULL: not known */
    char *engine;         /* owned: the secret's engine value; NULL: not known */
    bool ok;              /* every check that ran passed */
    struct rot_check_item items[ROT_CHECK_MAX];
    size_t n;
};

/* How the check reaches a database host before any login: a seam, so the check runs in process
 * against fakes. Both return 0, or -1 with err (ROT_ERR_DB_UNREACHABLE naming the host and the
 * resolver's or the socket's words). */
struct rot_check_net_ops {
    /* Resolves host (TCP addresses); writes them, comma-separated, into out. */
    int (*resolve)(void *impl, const char *host, char *out, size_t cap, struct sm_err *err);
    /* Opens a TCP connection to host:port within timeout_ms, then closes it; writes the address
     * that answered into out. */
    int (*connect)(void *impl, const char *host, int port, long timeout_ms, char *out, size_t cap,
                   struct sm_err *err);
};

/* The system's resolver and sockets (impl unused). */
extern const struct rot_check_net_ops rot_check_net_system;

struct rot_check_opts {
    bool from_shell; /* run by `bootstrap check`, outside the function's network */
    /* In Lambda: the invoked function's ARN (a version or alias qualifier is ignored), which the
     * secret's rotation must name; NULL: not known. */
    const char *function_arn;
    const struct rot_check_net_ops *net; /* NULL: rot_check_net_system */
    void *net_impl;
};

/* Starts an empty report for secret_id. Returns 0, or -1 with err (SM_ERR_NOMEM); r is safe to
 * clean up either way. */
int rot_check_report_init(struct rot_check_report *r, const char *secret_id, struct sm_err *err);

/* Appends a check of the caller's own (the shell's credentials) to r. Returns 0, or -1 with err
 * (SM_ERR_NOMEM, or SM_ERR_TOO_LARGE past ROT_CHECK_MAX). */
int rot_check_report_add(struct rot_check_report *r, const char *name, bool ok, const char *detail,
                         struct sm_err *err);

/* Runs the checks of r's secret with ctx (Secrets Manager, RDS, engines and settings, as a
 * rotation would use them), each bounded by deadline_ms (epoch ms, 0 = none), appending to r.
 * A failed check is a result, not an error: returns 0 with r complete, or -1 with err only when
 * the report could not be made (SM_ERR_NOMEM). */
int rot_check_run(struct rot_context *ctx, const struct rot_check_opts *opts, int64_t deadline_ms,
                  struct rot_check_report *r, struct sm_err *err);

/* Renders r as the JSON report into out (replacing its content). Returns 0, or -1 with err
 * (SM_ERR_NOMEM, SM_ERR_TOO_LARGE). */
int rot_check_report_json(const struct rot_check_report *r, struct sm_buf *out, struct sm_err *err);

/* Frees r's strings. Accepts a zeroed struct. */
void rot_check_report_clean_up(struct rot_check_report *r);

#endif
