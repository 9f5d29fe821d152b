/*
 * rotation: the four Secrets Manager rotation steps, engine- and SQL-agnostic.
 *
 * Owns the staging-label logic (AWSPENDING / AWSCURRENT / AWSPREVIOUS), the prologue checks every
 * step runs, idempotency (every step converges when Secrets Manager retries it), and the
 * single-user and alternating-users set flows. It talks to Secrets Manager only through the
 * operations table of runtime/secretsmanager.h and to databases only through the engine vtable
 * (engine.h), so the steps run in process against C fakes of both.
 *
 * Behaviour follows AWS's rotation templates (same messages where a user would notice), with the
 * deliberate deviations README lists: strict validation before anything is staged, current-first
 * login order in single-user setSecret, no plaintext downgrade, RotationToken forwarded.
 */
#ifndef ROT_ROTATION_H
#define ROT_ROTATION_H

#include "config.h"
#include "engine.h"
#include "errors.h"
#include "event.h"
#include "rds.h"
#include "secretsmanager.h"

#include <stdbool.h>
#include <stdint.h>

/* What the last step did, for its log lines and metrics. Reset by each rot_run_step. */
struct rot_stats {
    unsigned db_logins;      /* database connection attempts */
    const char *engine;      /* the secret's engine family ("postgres", "mysql"); NULL: unknown */
    const char *strategy;    /* the strategy that rotated it; NULL: unknown */
    bool rotation_completed; /* finishSecret moved AWSCURRENT */
};

struct rot_context {
    struct secrets_api secrets;              /* the client's or a fake's, borrowed */
    struct rds_api rds;                      /* the client's or a fake's; zero: none */
    const struct rot_engine *const *engines; /* registry, borrowed (rot_engines by default) */
    const struct rot_config *config;         /* borrowed */
    void (*sleep_ms)(int64_t ms);            /* waiting (replication lag); NULL: sm_sleep_ms */
    struct rot_stats stats;
};

/* Runs ev's step for ev's secret. deadline_ms (epoch ms, 0 = none) bounds every call. Returns 0
 * when the step succeeded or had nothing left to do, or -1 with err set to a message for the
 * operator (never a secret value). */
int rot_run_step(struct rot_context *ctx, const struct rot_event *ev, int64_t deadline_ms,
                 struct sm_err *err);

/* Attaches `step` and `secretId` to every following log line (JSON format); a NULL secret_id
 * clears them. rot_run_step sets them; the loop's report of the step's result keeps them. */
void rot_log_context(enum rot_step step, const char *secret_id);

/* The alternating-users name rule: "X_clone" -> "X", "X" -> "X_clone". Writes into out;
 * returns -1 when out is too small. */
int rot_alternate_username(const char *username, char *out, size_t cap);

#endif
