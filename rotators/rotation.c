#include "rotation.h"

#include "db_connect.h"
#include "log.h"
#include "master.h"
#include "mem.h"
#include "secret.h"
#include "settings.h"
#include "str.h"
#include "strategy.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define STAGE_CURRENT "AWSCURRENT"
#define STAGE_PENDING "AWSPENDING"
#define STAGE_PREVIOUS "AWSPREVIOUS"
#define CLONE_SUFFIX "_clone"

/* One step's working state. */
struct run {
    struct rot_context *ctx;
    const struct rot_event *ev;
    int64_t deadline_ms;
    struct secrets_description desc; /* from the prologue's DescribeSecret */
    struct rot_settings settings;    /* resolved with the current secret (resolve_settings) */
};

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

/* Reads one version of a secret and validates it. A missing version leaves err->aws_type as
 * ResourceNotFoundException so the caller can tell. */
static int read_secret(struct run *run, const char *secret_id, const char *version_id,
                       const char *stage, struct rot_secret *out, struct sm_err *err) {
    int result = -1;
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

static int login(struct run *run, const struct rot_secret *s, const struct rot_login *l,
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

static int login_secret(struct run *run, const struct rot_secret *s, struct rot_conn **conn,
                        struct sm_err *err) {
    struct rot_login l = rot_secret_login(s);
    return login(run, s, &l, conn, err);
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

/* --- the strategy of a secret --- */

/* Resolves how this secret rotates (settings.h: the function's configuration and the secret's
 * smrotate: tags) once per invocation, from the current secret (testSecret: the pending one, of
 * the same shape). Under single user, a master the secret names is ignored: said once per
 * invocation, since that is rarely what was meant. */
static int resolve_settings(struct run *run, const struct rot_secret *current, struct sm_err *err) {
    if (run->settings.strategy != NULL) {
        return 0;
    }
    if (rot_settings_resolve(run->ctx->config, &run->desc, current->masterarn != NULL,
                             &run->settings, err) != 0) {
        return -1;
    }
    const char *step = rot_step_name(run->ev->step);
    run->ctx->stats.strategy = run->settings.strategy->name;
    if (run->settings.from_tags[0] != '\0') {
        SM_DEBUG("%s: from the secret's tags: %s", step, run->settings.from_tags);
    }
    /* Only the steps that would use the master say it is ignored. */
    if (!run->settings.strategy->set_by_master && current->masterarn != NULL &&
        run->ev->step != ROT_STEP_TEST) {
        SM_WARN("%s: the secret names a master secret (masterarn), which the single-user "
                "strategy ignores; use Handler multi-user or auto to rotate alternating users",
                step);
    }
    return 0;
}

/* --- createSecret --- */

/* A name's length as the engine measures it: bytes, or UTF-8 characters. */
static size_t username_length(const struct rot_engine *engine, const char *name) {
    size_t chars = 0;
    if (!engine->username_limit_counts_characters || !sm_utf8_valid(name, &chars)) {
        return strlen(name);
    }
    return chars;
}

static int create_secret(struct run *run, struct sm_err *err) {
    int result = -1;
    const char *arn = run->ev->secret_id;
    struct rot_secret current = {0}, pending = {0}, master = {0};
    struct sm_buf password, rendered;
    sm_buf_init(&password, 4096);
    sm_buf_init(&rendered, SM_LIMIT_SECRET_STRING);
    char alt[512];

    /* Validated before anything is staged: a broken current secret stops here. */
    if (read_secret(run, arn, NULL, STAGE_CURRENT, &current, err) != 0) {
        goto out;
    }
    if (read_secret(run, arn, run->ev->token, STAGE_PENDING, &pending, err) == 0) {
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

    const char *username = NULL;
    if (resolve_settings(run, &current, err) != 0) {
        sm_err_prefix(err, "createSecret (nothing was staged)");
        goto out;
    }
    if (run->settings.strategy->alternates_users) {
        if (rot_alternate_username(current.username, alt, sizeof(alt)) != 0) {
            sm_err_set(err, ROT_ERR_ROTATION, "Unable to clone user, username is too long");
            goto out;
        }
        size_t limit = current.engine->max_username_length(current.engine_value,
                                                           &run->ctx->config->engine_settings);
        if (username_length(current.engine, alt) > limit) {
            /* The template's words, with the unit the engine really counts in. */
            sm_err_set(err, ROT_ERR_ROTATION,
                       "Unable to clone user, username length with _clone appended would exceed "
                       "%zu %s",
                       limit,
                       current.engine->username_limit_counts_characters ? "characters" : "bytes");
            goto out;
        }
        /* The master must be usable before anything is staged: a pending version that setSecret
         * can never complete would block every later rotation. */
        if (rot_master_resolve(run->ctx, &current, run->deadline_ms, &master, err) != 0) {
            sm_err_prefix(err, "createSecret (nothing was staged)");
            goto out;
        }
        username = alt;
    }

    struct secrets_password_policy policy = run->settings.policy;
    if (policy.exclude_characters == NULL) {
        policy.exclude_characters = current.engine->default_exclude_characters;
    }
    if (secrets_api_random_password(&run->ctx->secrets, &policy, run->deadline_ms, &password,
                                    err) != 0 ||
        rot_secret_render(&current, username, password.data, &rendered, err) != 0) {
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
    rot_secret_clean_up(&master);
    sm_buf_clean_up(&password);
    sm_buf_clean_up(&rendered);
    return result;
}

/* --- setSecret --- */

/* Collects why each login failed, for the final message; past its ceiling it just stops. */
static void note_attempt(struct sm_buf *notes, const char *what, const struct sm_err *e) {
    struct sm_err ignored;
    sm_buf_appendf(notes, &ignored, "%s%s: %s", notes->len == 0 ? "" : "; ", what, e->msg);
}

/* Reads current and pending and checks the pending secret targets the same database. */
static int read_current_and_pending(struct run *run, struct rot_secret *current,
                                    struct rot_secret *pending, struct sm_err *err) {
    const char *arn = run->ev->secret_id;
    if (read_secret(run, arn, NULL, STAGE_CURRENT, current, err) != 0 ||
        read_secret(run, arn, run->ev->token, STAGE_PENDING, pending, err) != 0) {
        return -1;
    }
    if (current->engine != pending->engine) {
        return sm_err_set(err, ROT_ERR_ROTATION,
                          "Attempting to modify a %s database from a %s secret",
                          pending->engine->display_name, current->engine->display_name);
    }
    if (strcmp(current->host, pending->host) != 0) {
        return sm_err_set(err, ROT_ERR_ROTATION,
                          "Attempting to modify user for host %s other than current host %s",
                          pending->host, current->host);
    }
    if (current->port != pending->port) {
        return sm_err_set(err, ROT_ERR_ROTATION,
                          "Attempting to modify user on port %d other than current port %d",
                          pending->port, current->port);
    }
    return 0;
}

/* conn logged in with the secret `as`; its password is the current one for the server. */
static int set_password(struct run *run, struct rot_conn *conn, const struct rot_secret *as,
                        const struct rot_secret *pending, struct sm_err *err) {
    if (rot_db_set_own_password(conn, pending->username, as->password, pending->password, err) !=
        0) {
        return sm_err_prefix(err, "setSecret: could not set the new password for user %s",
                             pending->username);
    }
    SM_INFO("setSecret: Successfully set password for user %s in %s DB for secret arn %s.",
            pending->username, pending->engine->display_name, run->ev->secret_id);
    return 0;
}

/* Single user: exactly one password works at a time, so try current (the common case), then
 * pending (a rerun after the password changed), then previous (current was edited by hand). */
static int set_single_user(struct run *run, const struct rot_secret *cur,
                           const struct rot_secret *pend, struct sm_err *err) {
    int result = -1;
    const char *arn = run->ev->secret_id;
    const struct rot_secret current = *cur, pending = *pend; /* views, not copies of the text */
    struct rot_secret previous = {0};
    struct rot_conn *conn = NULL;
    struct sm_err attempt;
    struct sm_buf notes;
    sm_buf_init(&notes, SM_ERR_MSG_MAX);

    if (strcmp(current.username, pending.username) != 0) {
        sm_err_set(err, ROT_ERR_ROTATION, "Attempting to modify user %s other than current user %s",
                   pending.username, current.username);
        goto out;
    }

    if (login_secret(run, &current, &conn, &attempt) == 0) {
        result = set_password(run, conn, &current, &pending, err);
        goto out;
    }
    if (attempt.code != ROT_ERR_DB_LOGIN) {
        *err = attempt;
        sm_err_prefix(err, "setSecret: cannot log in with the AWSCURRENT secret of %s", arn);
        goto out;
    }
    SM_WARN("setSecret: the AWSCURRENT secret cannot log in: %s", attempt.msg);
    note_attempt(&notes, STAGE_CURRENT, &attempt);

    if (login_secret(run, &pending, &conn, &attempt) == 0) {
        SM_INFO("setSecret: AWSPENDING secret is already set as password in %s DB for secret arn "
                "%s.",
                pending.engine->display_name, arn);
        result = 0;
        goto out;
    }
    if (attempt.code != ROT_ERR_DB_LOGIN) {
        *err = attempt;
        sm_err_prefix(err, "setSecret: cannot log in with the AWSPENDING secret of %s", arn);
        goto out;
    }
    note_attempt(&notes, STAGE_PENDING, &attempt);

    if (read_secret(run, arn, NULL, STAGE_PREVIOUS, &previous, &attempt) != 0) {
        /* No previous version (first rotation) or an old one without the fields: not a
         * candidate, as in the template. Anything else (throttling, access) is an error. */
        if (!sm_err_is_aws(&attempt, "ResourceNotFoundException") &&
            attempt.code != ROT_ERR_SECRET_INVALID) {
            *err = attempt;
            goto out;
        }
        note_attempt(&notes, STAGE_PREVIOUS, &attempt);
    } else if (previous.engine != current.engine ||
               strcmp(previous.username, pending.username) != 0 ||
               strcmp(previous.host, pending.host) != 0 || previous.port != pending.port) {
        sm_err_set(&attempt, ROT_ERR_ROTATION, "it is for user %s at %s, not user %s at %s",
                   previous.username, previous.host, pending.username, pending.host);
        note_attempt(&notes, STAGE_PREVIOUS, &attempt);
    } else {
        /* The previous secret borrows the current one's TLS setting, as in the template. */
        previous.tls = current.tls;
        if (login_secret(run, &previous, &conn, &attempt) == 0) {
            SM_INFO("setSecret: logged in with the AWSPREVIOUS secret of %s", arn);
            result = set_password(run, conn, &previous, &pending, err);
            goto out;
        }
        if (attempt.code != ROT_ERR_DB_LOGIN) {
            *err = attempt;
            sm_err_prefix(err, "setSecret: cannot log in with the AWSPREVIOUS secret of %s", arn);
            goto out;
        }
        note_attempt(&notes, STAGE_PREVIOUS, &attempt);
    }
    sm_err_set(err, ROT_ERR_DB_LOGIN,
               "Unable to log into database with previous, current, or pending secret of secret "
               "arn %s (%s)",
               arn, notes.data != NULL ? notes.data : "");
out:
    if (conn != NULL) {
        rot_db_disconnect(conn);
    }
    rot_secret_clean_up(&previous);
    sm_buf_clean_up(&notes);
    return result;
}

/* Alternating users: the current login must work (confused-deputy guard), else the pending one
 * (a rerun after the alternate user already got its password: done), then the superuser sets
 * up the alternate user. Setting its password again is idempotent. */
static int set_alternating_users(struct run *run, const struct rot_secret *current,
                                 const struct rot_secret *pending, struct sm_err *err) {
    int result = -1;
    const char *arn = run->ev->secret_id;
    struct rot_secret master = {0};
    struct rot_conn *conn = NULL, *admin = NULL;
    struct sm_err attempt;
    char alt[512];

    if (rot_alternate_username(current->username, alt, sizeof(alt)) != 0 ||
        strcmp(alt, pending->username) != 0) {
        sm_err_set(err, ROT_ERR_ROTATION,
                   "Attempting to modify user %s other than current user or clone %s",
                   pending->username, current->username);
        goto out;
    }
    if (login_secret(run, current, &conn, &attempt) != 0) {
        if (attempt.code != ROT_ERR_DB_LOGIN) {
            *err = attempt;
            sm_err_prefix(err, "setSecret: cannot log in with the AWSCURRENT secret of %s", arn);
            goto out;
        }
        SM_WARN("setSecret: the AWSCURRENT secret cannot log in: %s", attempt.msg);
        if (login_secret(run, pending, &conn, err) == 0) {
            SM_INFO("setSecret: AWSPENDING secret is already set as password in %s DB for secret "
                    "arn %s.",
                    pending->engine->display_name, arn);
            result = 0;
            goto out;
        }
        *err = attempt;
        sm_err_prefix(err, "Unable to log into database using current credentials for secret %s",
                      arn);
        goto out;
    }
    rot_db_disconnect(conn);
    conn = NULL;

    if (rot_master_resolve(run->ctx, current, run->deadline_ms, &master, err) != 0) {
        sm_err_prefix(err, "setSecret");
        goto out;
    }
    /* The superuser works in the user's database, on the master's host, as in the template. */
    struct rot_login admin_login = rot_secret_login(&master);
    admin_login.dbname = current->dbname;
    if (login(run, &master, &admin_login, &admin, err) != 0) {
        if (err->code == ROT_ERR_DB_LOGIN) {
            sm_err_prefix(err, "Unable to log into database using credentials in master secret %s",
                          current->masterarn);
        } else {
            sm_err_prefix(err, "setSecret: cannot log in with the master secret %s",
                          current->masterarn);
        }
        goto out;
    }
    /* The naming rule (rot_alternate_username) gives the clone the _clone suffix: of the two
     * names, the shorter is the original. */
    bool pending_is_clone = strlen(pending->username) > strlen(current->username);
    struct rot_user_pair users = {
        .original = pending_is_clone ? current->username : pending->username,
        .clone = pending_is_clone ? pending->username : current->username,
        .target = pending->username,
    };
    if (rot_db_sync_alternate_user(admin, &users, pending->password, err) != 0) {
        sm_err_prefix(err, "setSecret: could not set up user %s", pending->username);
        goto out;
    }
    SM_INFO("setSecret: Successfully set password for %s in %s DB for secret arn %s.",
            pending->username, current->engine->display_name, arn);
    result = 0;
out:
    if (conn != NULL) {
        rot_db_disconnect(conn);
    }
    if (admin != NULL) {
        rot_db_disconnect(admin);
    }
    rot_secret_clean_up(&master);
    return result;
}

static int set_secret(struct run *run, struct sm_err *err) {
    struct rot_secret current = {0}, pending = {0};
    int result = -1;
    if (read_current_and_pending(run, &current, &pending, err) == 0) {
        if (resolve_settings(run, &current, err) == 0) {
            result = run->settings.strategy->alternates_users
                         ? set_alternating_users(run, &current, &pending, err)
                         : set_single_user(run, &current, &pending, err);
        }
    }
    rot_secret_clean_up(&current);
    rot_secret_clean_up(&pending);
    return result;
}

/* --- testSecret --- */

/* Works also when only testSecret runs (RotateImmediately=false): the pending version then holds
 * the current value. */
static int test_secret(struct run *run, struct sm_err *err) {
    int result = -1;
    const char *arn = run->ev->secret_id;
    struct rot_secret pending = {0};
    struct rot_conn *conn = NULL;

    if (read_secret(run, arn, run->ev->token, STAGE_PENDING, &pending, err) != 0 ||
        resolve_settings(run, &pending, err) != 0) {
        goto out;
    }
    if (login_secret(run, &pending, &conn, err) != 0) {
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
        result = set_secret(&run, err);
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
