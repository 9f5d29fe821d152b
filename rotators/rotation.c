#include "rotation.h"

#include "clock.h"
#include "log.h"
#include "master.h"
#include "mem.h"
#include "steps.h"
#include "str.h"
#include "strategy.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define CLONE_SUFFIX "_clone"
/* testSecret at a replica: the longest it waits, in all, for a new password to replicate. */
#define REPLICA_WAIT_MAX_MS 30000
#define REPLICA_WAIT_FIRST_MS 500

int rot_alternate_username(const char *username, char *out, size_t cap) {
    size_t len = strlen(username);
    size_t suffix = strlen(CLONE_SUFFIX);
    int n;
    if (len > suffix && strcmp(username + len - suffix, CLONE_SUFFIX) == 0) {
        n = snprintf(out, cap, "%.*s", (int)(len - suffix), username);
    } else {
        n = snprintf(out, cap, "%s%s", username, CLONE_SUFFIX);
    }
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

int rot_step_read(struct run *run, const char *version_id, const char *stage,
                  struct rot_secret *out, struct sm_err *err) {
    int result = -1;
    const char *secret_id = run->ev->secret_id;
    struct secrets_value value = {0};
    if (secrets_api_get_value(&run->ctx->secrets, secret_id, version_id, stage, run->deadline_ms,
                              &value, err) != 0) {
        goto out;
    }
    if (value.secret_string == NULL) {
        sm_err_set(err, ROT_ERR_SECRET_INVALID,
                   "the %s version of secret %s has no SecretString; this function rotates JSON "
                   "secrets only",
                   stage, secret_id);
        goto out;
    }
    int rc =
        rot_secret_take(value.secret_string, value.secret_string_len, run->ctx->engines, out, err);
    value.secret_string = NULL; /* the secret owns it now */
    if (rc != 0) {
        sm_err_prefix(err, "the %s version of secret %s", stage, secret_id);
        goto out;
    }
    run->ctx->stats.engine = out->engine->name;
    result = 0;
out:
    secrets_value_clean_up(&value);
    return result;
}

int rot_step_login(struct run *run, const struct rot_secret *s, const struct rot_login *l,
                   struct rot_conn **conn, struct sm_err *err) {
    struct rot_connect_opts opts = {
        .ca_file = run->ctx->config->db_tls.ca_file,
        .ca_origin = run->ctx->config->db_tls.origin,
        .tls_verify = run->ctx->config->db_tls.verify,
        .connect_timeout_ms = run->ctx->config->db_connect_timeout_ms,
        .deadline_ms = run->deadline_ms,
        .settings = &run->ctx->config->engine_settings,
    };
    run->ctx->stats.db_logins++;
    return rot_db_connect(s->engine, l, &opts, conn, err);
}

int rot_step_login_secret(struct run *run, const struct rot_secret *s, struct rot_conn **conn,
                          struct sm_err *err) {
    struct rot_login l = rot_secret_login(s);
    return rot_step_login(run, s, &l, conn, err);
}

/* --- prologue --- */

/* Returns 1 when the token is already AWSCURRENT (nothing to do), 0 to go on, -1 on error. */
static int prologue(struct run *run, struct sm_err *err) {
    const char *arn = run->ev->secret_id;
    const char *token = run->ev->token;
    if (secrets_api_describe(&run->ctx->secrets, arn, run->deadline_ms, &run->desc, err) != 0) {
        return -1;
    }
    if (run->desc.rotation_enabled == 0) {
        return sm_err_set(err, ROT_ERR_ROTATION, "Secret %s is not enabled for rotation", arn);
    }
    const struct secrets_version *v = secrets_description_find(&run->desc, token);
    if (v == NULL) {
        return sm_err_set(err, ROT_ERR_ROTATION,
                          "Secret version %s has no stage for rotation of secret %s.", token, arn);
    }
    if (secrets_version_has_stage(v, STAGE_CURRENT)) {
        SM_INFO("Secret version %s already set as AWSCURRENT for secret %s.", token, arn);
        return 1;
    }
    if (!secrets_version_has_stage(v, STAGE_PENDING)) {
        return sm_err_set(err, ROT_ERR_ROTATION,
                          "Secret version %s not set as AWSPENDING for rotation of secret %s.",
                          token, arn);
    }
    return 0;
}

/* --- how the secret rotates --- */

/* Under single user, a master the secret names is ignored: said once per invocation, since that
 * is rarely what was meant. */
int rot_step_settings(struct run *run, const struct rot_secret *current, struct sm_err *err) {
    if (run->settings.strategy != NULL) {
        return 0;
    }
    if (rot_settings_resolve(run->ctx->config, &run->desc, current->masterarn != NULL,
                             &run->settings, err) != 0) {
        return -1;
    }
    bool rotating = run->ev->action == ROT_ACTION_ROTATE;
    const char *step = rotating ? rot_step_name(run->ev->step) : "check";
    run->ctx->stats.strategy = run->settings.strategy->name;
    if (run->settings.from_tags[0] != '\0') {
        SM_DEBUG("%s: from the secret's tags: %s", step, run->settings.from_tags);
    }
    /* Only the steps that would use the master say it is ignored; a check reports it itself. */
    if (!run->settings.strategy->set_by_master && current->masterarn != NULL && rotating &&
        run->ev->step != ROT_STEP_TEST) {
        SM_WARN("%s: the secret names a master secret (masterarn), which the single-user "
                "strategy ignores; use Handler multi-user or auto to rotate alternating users",
                step);
    }
    return 0;
}

struct secrets_password_policy rot_step_password_policy(const struct run *run,
                                                        const struct rot_secret *current) {
    struct secrets_password_policy policy = run->settings.policy;
    if (policy.exclude_characters == NULL) {
        policy.exclude_characters = current->engine->default_exclude_characters;
    }
    return policy;
}

struct rot_password_opts rot_step_password_opts(const struct run *run) {
    return (struct rot_password_opts){
        .lifetime_days = run->settings.password_lifetime_days,
        .retain_current = run->settings.mysql_dual_password,
    };
}

/* A name's length as the engine measures it: bytes, or UTF-8 characters. */
static size_t username_length(const struct rot_engine *engine, const char *name) {
    size_t chars = 0;
    if (!engine->username_limit_counts_characters || !sm_utf8_valid(name, &chars)) {
        return strlen(name);
    }
    return chars;
}

int rot_step_alternate(struct run *run, const struct rot_secret *current, char *out, size_t cap,
                       struct sm_err *err) {
    const char *const *pair = run->settings.pair;
    if (pair[0] != NULL) {
        int other = strcmp(current->username, pair[0]) == 0   ? 1
                    : strcmp(current->username, pair[1]) == 0 ? 0
                                                              : -1;
        if (other < 0) {
            return sm_err_set(
                err, ROT_ERR_ROTATION,
                "the secret's username %s is neither of the two users of its tag " ROT_TAG_PREFIX
                "alternating-users (%s, %s)",
                current->username, pair[0], pair[1]);
        }
        snprintf(out, cap, "%s", pair[other]);
        return 0;
    }
    if (rot_alternate_username(current->username, out, cap) != 0) {
        return sm_err_set(err, ROT_ERR_ROTATION, "Unable to clone user, username is too long");
    }
    size_t limit = current->engine->max_username_length(current->engine_value,
                                                        &run->ctx->config->engine_settings);
    if (username_length(current->engine, out) > limit) {
        /* The template's words, with the unit the engine really counts in. */
        return sm_err_set(
            err, ROT_ERR_ROTATION,
            "Unable to clone user, username length with _clone appended would "
            "exceed %zu %s",
            limit, current->engine->username_limit_counts_characters ? "characters" : "bytes");
    }
    return 0;
}

/* --- createSecret --- */

/* Settings that cannot work for this secret stop createSecret before anything is staged. */
int rot_step_check_settings(struct run *run, const struct rot_secret *current, struct sm_err *err) {
    const struct rot_engine *e = current->engine;
    if (run->settings.mysql_dual_password && (e->has_secondary_passwords == NULL ||
                                              !e->has_secondary_passwords(current->engine_value))) {
        return sm_err_set(err, ROT_ERR_SECRET_INVALID,
                          "mysql-dual-password is on (tag " ROT_TAG_PREFIX "mysql-dual-password "
                          "or SMROTATE_MYSQL_DUAL_PASSWORD), but secondary passwords exist only on "
                          "MySQL 8.0.14 and later and Aurora MySQL 3 (engine value mysql or "
                          "aurora-mysql), not for engine %s",
                          current->engine_value);
    }
    if (run->settings.mysql_dual_password && run->settings.strategy->set_by_master) {
        return sm_err_set(err, ROT_ERR_SECRET_INVALID,
                          "mysql-dual-password applies to the single-user strategy, not %s (with "
                          "alternating users the previous credentials keep working anyway)",
                          run->settings.strategy->name);
    }
    return 0;
}

/* The pending version's value: current's text with a new password (and, alternating users, the
 * other user's name), after checking what setSecret will need. */
static int make_pending(struct run *run, const struct rot_secret *current, struct sm_buf *rendered,
                        struct sm_err *err) {
    int result = -1;
    struct rot_secret master = {0};
    struct sm_buf password;
    sm_buf_init(&password, 4096);
    char alt[512];
    const char *username = NULL;
    if (rot_step_settings(run, current, err) != 0 ||
        rot_step_check_settings(run, current, err) != 0 ||
        (run->settings.strategy->alternates_users &&
         rot_step_alternate(run, current, alt, sizeof(alt), err) != 0)) {
        goto out;
    }
    /* The master must be usable before anything is staged: a pending version that setSecret
     * can never complete would block every later rotation. */
    if (run->settings.strategy->set_by_master &&
        rot_master_resolve(run->ctx, current, run->deadline_ms, &master, err) != 0) {
        goto out;
    }
    username = run->settings.strategy->alternates_users ? alt : NULL;
    struct secrets_password_policy policy = rot_step_password_policy(run, current);
    if (secrets_api_random_password(&run->ctx->secrets, &policy, run->deadline_ms, &password,
                                    err) != 0 ||
        rot_secret_render(current, username, password.data, rendered, err) != 0) {
        goto out;
    }
    result = 0;
out:
    rot_secret_clean_up(&master);
    sm_buf_clean_up(&password);
    return result;
}

static int create_secret(struct run *run, struct sm_err *err) {
    int result = -1;
    const char *arn = run->ev->secret_id;
    struct rot_secret current = {0}, pending = {0};
    struct sm_buf rendered;
    sm_buf_init(&rendered, SM_LIMIT_SECRET_STRING);

    /* Validated before anything is staged: a broken current secret stops here. */
    if (rot_step_read(run, NULL, STAGE_CURRENT, &current, err) != 0) {
        goto out;
    }
    if (rot_step_read(run, run->ev->token, STAGE_PENDING, &pending, err) == 0) {
        SM_INFO("createSecret: Successfully retrieved secret for %s.", arn);
        result = 0;
        goto out;
    }
    if (!sm_err_is_aws(err, "ResourceNotFoundException")) {
        if (err->code == ROT_ERR_SECRET_INVALID) {
            sm_err_prefix(err,
                          "createSecret: the pending version %s already holds a value that "
                          "is not valid; remove its AWSPENDING label to restart rotation",
                          run->ev->token);
        }
        goto out;
    }
    if (make_pending(run, &current, &rendered, err) != 0) {
        if (!sm_code_is_transient(err->code)) {
            sm_err_prefix(err, "createSecret (nothing was staged)");
        }
        goto out;
    }
    const char *stages[] = {STAGE_PENDING};
    if (secrets_api_put_value(&run->ctx->secrets, arn, run->ev->token, rendered.data, rendered.len,
                              stages, 1, run->ev->rotation_token, run->deadline_ms, err) != 0) {
        goto out;
    }
    SM_INFO("createSecret: Successfully put secret for ARN %s and version %s.", arn,
            run->ev->token);
    result = 0;
out:
    rot_secret_clean_up(&current);
    rot_secret_clean_up(&pending);
    sm_buf_clean_up(&rendered);
    return result;
}

/* --- testSecret --- */

static void pause_ms(const struct run *run, int64_t ms) {
    if (run->ctx->sleep_ms != NULL) {
        run->ctx->sleep_ms(ms);
    } else {
        sm_sleep_ms(ms);
    }
}

/* Whether pending's host is a read replica or Aurora reader of its master (the password was set
 * on the master's host and may not have replicated yet). Asked only after a refused login. */
static bool on_replica(struct run *run, const struct rot_secret *pending) {
    struct rot_secret master = {0};
    struct sm_err ignored;
    bool replica =
        run->settings.strategy->set_by_master &&
        rot_master_resolve(run->ctx, pending, run->deadline_ms, &master, &ignored) == 0 &&
        strcasecmp(master.host, pending->host) != 0;
    rot_secret_clean_up(&master);
    return replica;
}

/* Logs in with the pending secret. At a replica, a refused login is tried again with doubling
 * waits, REPLICA_WAIT_MAX_MS in all and within the deadline: replication may lag behind. */
static int login_pending(struct run *run, const struct rot_secret *pending, struct rot_conn **conn,
                         struct sm_err *err) {
    if (rot_step_login_secret(run, pending, conn, err) == 0) {
        return 0;
    }
    if (err->code != ROT_ERR_DB_LOGIN || !on_replica(run, pending)) {
        return -1;
    }
    int64_t waited = 0, wait = REPLICA_WAIT_FIRST_MS;
    long attempt_ms = run->ctx->config->db_connect_timeout_ms;
    while (waited + wait <= REPLICA_WAIT_MAX_MS &&
           wait + attempt_ms <= sm_remaining_ms(run->deadline_ms)) {
        SM_INFO("testSecret: %s refused the new password; waiting %lld ms for replication (%lld ms "
                "waited so far)",
                pending->host, (long long)wait, (long long)waited);
        pause_ms(run, wait);
        waited += wait;
        if (rot_step_login_secret(run, pending, conn, err) == 0) {
            return 0;
        }
        if (err->code != ROT_ERR_DB_LOGIN) {
            return -1;
        }
        wait *= 2;
    }
    return sm_err_prefix(err, "after waiting %lld ms for the new password to replicate to %s",
                         (long long)waited, pending->host);
}

/* Works also when only testSecret runs (RotateImmediately=false): the pending version then holds
 * the current value. */
static int test_secret(struct run *run, struct sm_err *err) {
    int result = -1;
    const char *arn = run->ev->secret_id;
    struct rot_secret pending = {0};
    struct rot_conn *conn = NULL;

    if (rot_step_read(run, run->ev->token, STAGE_PENDING, &pending, err) != 0 ||
        rot_step_settings(run, &pending, err) != 0) {
        goto out;
    }
    if (login_pending(run, &pending, &conn, err) != 0) {
        if (err->code == ROT_ERR_DB_LOGIN) {
            sm_err_prefix(err, "Unable to log into database with pending secret of secret ARN %s",
                          arn);
        } else {
            sm_err_prefix(err, "testSecret: cannot log in with the AWSPENDING secret of %s", arn);
        }
        goto out;
    }
    if (rot_db_check(conn, err) != 0) {
        sm_err_prefix(err,
                      "testSecret: logged in with the AWSPENDING secret of %s, but a query "
                      "failed",
                      arn);
        goto out;
    }
    SM_INFO("testSecret: Successfully signed into %s DB with AWSPENDING secret in %s.",
            pending.engine->display_name, arn);
    result = 0;
out:
    if (conn != NULL) {
        rot_db_disconnect(conn);
    }
    rot_secret_clean_up(&pending);
    return result;
}

/* --- finishSecret --- */

static int finish_secret(struct run *run, struct sm_err *err) {
    const char *arn = run->ev->secret_id;
    const char *token = run->ev->token;
    const struct secrets_version *holder = secrets_description_holder(&run->desc, STAGE_CURRENT);
    if (secrets_api_move_stage(&run->ctx->secrets, arn, STAGE_CURRENT, token,
                               holder != NULL ? holder->version_id : NULL, run->deadline_ms,
                               err) != 0) {
        /* A retried call whose first attempt had landed fails because the label already moved:
         * look again before reporting failure. */
        struct secrets_description again = {0};
        struct sm_err look;
        bool moved = false;
        if (secrets_api_describe(&run->ctx->secrets, arn, run->deadline_ms, &again, &look) == 0) {
            const struct secrets_version *v = secrets_description_find(&again, token);
            moved = v != NULL && secrets_version_has_stage(v, STAGE_CURRENT);
        }
        secrets_description_clean_up(&again);
        if (!moved) {
            return -1;
        }
    }
    run->ctx->stats.rotation_completed = true;
    SM_INFO("finishSecret: Successfully set AWSCURRENT stage to version %s for secret %s.", token,
            arn);
    return 0;
}

void rot_log_context(enum rot_step step, const char *secret_id) {
    const struct sm_log_field fields[] = {{"step", rot_step_name(step)}, {"secretId", secret_id}};
    sm_log_set_context(fields, secret_id != NULL ? 2 : 0);
}

int rot_run_step(struct rot_context *ctx, const struct rot_event *ev, int64_t deadline_ms,
                 struct sm_err *err) {
    int result = -1;
    struct run run = {.ctx = ctx, .ev = ev, .deadline_ms = deadline_ms};
    memset(&run.desc, 0, sizeof(run.desc));
    ctx->stats.engine = ctx->stats.strategy = NULL;
    ctx->stats.rotation_completed = false;
    rot_log_context(ev->step, ev->secret_id);

    int pro = prologue(&run, err);
    if (pro != 0) {
        result = pro == 1 ? 0 : -1;
        goto out;
    }
    switch (ev->step) {
    case ROT_STEP_CREATE:
        result = create_secret(&run, err);
        break;
    case ROT_STEP_SET:
        result = rot_step_set(&run, err);
        break;
    case ROT_STEP_TEST:
        result = test_secret(&run, err);
        break;
    case ROT_STEP_FINISH:
        result = finish_secret(&run, err);
        break;
    }
out:
    /* The step and secret stay on later lines (the loop's post of this result) until the next
     * invocation sets or clears them. */
    secrets_description_clean_up(&run.desc);
    rot_settings_clean_up(&run.settings);
    return result;
}
