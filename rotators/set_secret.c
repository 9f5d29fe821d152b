/*
 * set_secret: the setSecret step's flows. Single user changes its own password; the strategies
 * with a master (alternating users, over a clone or two pre-created users, and single user via
 * the master) log in as the master on its host and set the pending user's password there.
 */
#include "log.h"
#include "master.h"
#include "steps.h"
#include "str.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Collects why each login failed, for the final message; past its ceiling it just stops. */
static void note_attempt(struct sm_buf *notes, const char *what, const struct sm_err *e) {
    struct sm_err ignored;
    sm_buf_appendf(notes, &ignored, "%s%s: %s", notes->len == 0 ? "" : "; ", what, e->msg);
}

/* Reads current and pending and checks the pending secret targets the same database. */
static int read_current_and_pending(struct run *run, struct rot_secret *current,
                                    struct rot_secret *pending, struct sm_err *err) {
    if (rot_step_read(run, NULL, STAGE_CURRENT, current, err) != 0 ||
        rot_step_read(run, run->ev->token, STAGE_PENDING, pending, err) != 0) {
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

/* The pending user must be the one this strategy sets: the current user, or its alternate. */
static int check_pending_user(struct run *run, const struct rot_secret *current,
                              const struct rot_secret *pending, struct sm_err *err) {
    char alt[512];
    if (!run->settings.strategy->alternates_users) {
        return strcmp(current->username, pending->username) == 0
                   ? 0
                   : sm_err_set(err, ROT_ERR_ROTATION,
                                "Attempting to modify user %s other than current user %s",
                                pending->username, current->username);
    }
    if (rot_step_alternate(run, current, alt, sizeof(alt), err) != 0) {
        return -1; /* its own reason: a name too long, or not one of the tagged pair */
    }
    if (strcmp(alt, pending->username) != 0) {
        return sm_err_set(err, ROT_ERR_ROTATION,
                          "Attempting to modify user %s other than current user or clone %s",
                          pending->username, current->username);
    }
    return 0;
}

/* How a login attempt went: 1 logged in, 0 refused (noted), -1 another error (err set). */
static int try_login(struct run *run, const struct rot_secret *s, const char *stage,
                     struct rot_conn **conn, struct sm_buf *notes, struct sm_err *err) {
    struct sm_err attempt;
    if (rot_step_login_secret(run, s, conn, &attempt) == 0) {
        return 1;
    }
    if (attempt.code != ROT_ERR_DB_LOGIN) {
        *err = attempt;
        sm_err_prefix(err, "setSecret: cannot log in with the %s secret of %s", stage,
                      run->ev->secret_id);
        return -1;
    }
    note_attempt(notes, stage, &attempt);
    return 0;
}

static void pending_already_set(const struct run *run, const struct rot_secret *pending) {
    SM_INFO("setSecret: AWSPENDING secret is already set as password in %s DB for secret arn %s.",
            pending->engine->display_name, run->ev->secret_id);
}

/* --- single user ------------------------------------------------------------------------------ */

/* conn logged in with the secret `as`; its password is the current one for the server. */
static int set_own_password(struct run *run, struct rot_conn *conn, const struct rot_secret *as,
                            const struct rot_secret *pending, struct sm_err *err) {
    struct rot_password_opts opts = rot_step_password_opts(run);
    if (rot_db_set_own_password(conn, pending->username, as->password, pending->password, &opts,
                                err) != 0) {
        return sm_err_prefix(err, "setSecret: could not set the new password for user %s",
                             pending->username);
    }
    SM_INFO("setSecret: Successfully set password for user %s in %s DB for secret arn %s.",
            pending->username, pending->engine->display_name, run->ev->secret_id);
    return 0;
}

/* The last resort of single user: the AWSPREVIOUS secret (current was edited by hand). */
static int try_previous(struct run *run, const struct rot_secret *current,
                        const struct rot_secret *pending, struct sm_buf *notes,
                        struct sm_err *err) {
    int result = -1;
    struct rot_secret previous = {0};
    struct rot_conn *conn = NULL;
    struct sm_err attempt;
    if (rot_step_read(run, NULL, STAGE_PREVIOUS, &previous, &attempt) != 0) {
        /* No previous version (first rotation) or an old one without the fields: not a
         * candidate, as in the template. Anything else (throttling, access) is an error. */
        if (!sm_err_is_aws(&attempt, "ResourceNotFoundException") &&
            attempt.code != ROT_ERR_SECRET_INVALID) {
            *err = attempt;
            goto out;
        }
        note_attempt(notes, STAGE_PREVIOUS, &attempt);
        result = 0;
    } else if (previous.engine != current->engine ||
               strcmp(previous.username, pending->username) != 0 ||
               strcmp(previous.host, pending->host) != 0 || previous.port != pending->port) {
        sm_err_set(&attempt, ROT_ERR_ROTATION, "it is for user %s at %s, not user %s at %s",
                   previous.username, previous.host, pending->username, pending->host);
        note_attempt(notes, STAGE_PREVIOUS, &attempt);
        result = 0;
    } else {
        /* The previous secret borrows the current one's TLS setting, as in the template. */
        previous.tls = current->tls;
        result = try_login(run, &previous, STAGE_PREVIOUS, &conn, notes, err);
        if (result == 1) {
            SM_INFO("setSecret: logged in with the AWSPREVIOUS secret of %s", run->ev->secret_id);
            result = set_own_password(run, conn, &previous, pending, err) == 0 ? 1 : -1;
        }
    }
out:
    rot_db_disconnect(conn);
    rot_secret_clean_up(&previous);
    return result;
}

/* Single user: exactly one password works at a time, so try current (the common case), then
 * pending (a rerun after the password changed), then previous. With dual passwords the old one
 * keeps working after the change, so pending goes first: setting again while the new password
 * is primary would retain the new one and discard the old. */
static int set_single_user(struct run *run, const struct rot_secret *current,
                           const struct rot_secret *pending, struct sm_err *err) {
    const char *arn = run->ev->secret_id;
    bool dual = run->settings.mysql_dual_password;
    struct rot_conn *conn = NULL;
    struct sm_buf notes;
    int rc = 0;
    sm_buf_init(&notes, SM_ERR_MSG_MAX);
    if (dual && (rc = try_login(run, pending, STAGE_PENDING, &conn, &notes, err)) == 1) {
        pending_already_set(run, pending);
        goto out;
    }
    if (rc == 0 && (rc = try_login(run, current, STAGE_CURRENT, &conn, &notes, err)) == 1) {
        rc = set_own_password(run, conn, current, pending, err) == 0 ? 1 : -1;
        goto out;
    }
    if (rc == 0) {
        /* With dual passwords the notes start with the AWSPENDING attempt; each is labelled. */
        SM_WARN("setSecret: the AWSCURRENT secret cannot log in (%s)",
                notes.data != NULL ? notes.data : "out of memory noting why");
    }
    if (rc == 0 && !dual &&
        (rc = try_login(run, pending, STAGE_PENDING, &conn, &notes, err)) == 1) {
        pending_already_set(run, pending);
        goto out;
    }
    if (rc == 0 && (rc = try_previous(run, current, pending, &notes, err)) == 0) {
        rc = -1;
        sm_err_set(err, ROT_ERR_DB_LOGIN,
                   "Unable to log into database with previous, current, or pending secret of "
                   "secret arn %s (%s)",
                   arn, notes.data != NULL ? notes.data : "");
    }
out:
    rot_db_disconnect(conn);
    sm_buf_clean_up(&notes);
    return rc == 1 ? 0 : -1;
}

/* --- through the master ----------------------------------------------------------------------- */

/* As the master, sets the pending user's password: over a clone, makes the clone match the user
 * first (AWS's templates' way); over two pre-created users, and for single user via the master,
 * sets only the password. */
static int set_as_master(struct run *run, struct rot_conn *admin, const struct rot_secret *current,
                         const struct rot_secret *pending, struct sm_err *err) {
    struct rot_password_opts opts = rot_step_password_opts(run);
    opts.retain_current = false; /* another user's password: nothing of the old one is kept */
    if (!run->settings.strategy->alternates_users || run->settings.pair[0] != NULL) {
        return rot_db_set_password(admin, pending->username, pending->password, &opts, err);
    }
    /* The naming rule (rot_alternate_username) gives the clone the _clone suffix: of the two
     * names, the shorter is the original. */
    bool pending_is_clone = strlen(pending->username) > strlen(current->username);
    struct rot_user_pair users = {
        .original = pending_is_clone ? current->username : pending->username,
        .clone = pending_is_clone ? pending->username : current->username,
        .target = pending->username,
    };
    return rot_db_sync_alternate_user(admin, &users, pending->password, &opts, err);
}

/* Logs in as the master of current, on the master's host, in the user's database (as in the
 * template). */
static int login_master(struct run *run, const struct rot_secret *current,
                        struct rot_secret *master, struct rot_conn **admin, struct sm_err *err) {
    if (rot_master_resolve(run->ctx, current, run->deadline_ms, master, err) != 0) {
        return sm_err_prefix(err, "setSecret");
    }
    struct rot_login admin_login = rot_secret_login(master);
    admin_login.dbname = current->dbname;
    if (rot_step_login(run, master, &admin_login, admin, err) != 0) {
        if (err->code == ROT_ERR_DB_LOGIN) {
            return sm_err_prefix(err,
                                 "Unable to log into database using credentials in master secret "
                                 "%s",
                                 current->masterarn);
        }
        return sm_err_prefix(err, "setSecret: cannot log in with the master secret %s",
                             current->masterarn);
    }
    return 0;
}

/* The current login must work (confused-deputy guard), else the pending one (a rerun after the
 * password was set: done), then the master sets the pending user's password. Setting it again
 * is idempotent. */
static int set_by_master(struct run *run, const struct rot_secret *current,
                         const struct rot_secret *pending, struct sm_err *err) {
    int result = -1;
    const char *arn = run->ev->secret_id;
    struct rot_secret master = {0};
    struct rot_conn *conn = NULL, *admin = NULL;
    struct sm_err attempt;

    if (rot_step_login_secret(run, current, &conn, &attempt) != 0) {
        if (attempt.code != ROT_ERR_DB_LOGIN) {
            *err = attempt;
            sm_err_prefix(err, "setSecret: cannot log in with the AWSCURRENT secret of %s", arn);
            goto out;
        }
        SM_WARN("setSecret: the AWSCURRENT secret cannot log in: %s", attempt.msg);
        if (rot_step_login_secret(run, pending, &conn, err) == 0) {
            pending_already_set(run, pending);
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
    if (login_master(run, current, &master, &admin, err) != 0) {
        goto out;
    }
    if (set_as_master(run, admin, current, pending, err) != 0) {
        sm_err_prefix(err, "setSecret: could not set the password of user %s", pending->username);
        goto out;
    }
    SM_INFO("setSecret: Successfully set password for %s in %s DB for secret arn %s.",
            pending->username, current->engine->display_name, arn);
    result = 0;
out:
    rot_db_disconnect(conn);
    rot_db_disconnect(admin);
    rot_secret_clean_up(&master);
    return result;
}

int rot_step_set(struct run *run, struct sm_err *err) {
    struct rot_secret current = {0}, pending = {0};
    int result = -1;
    if (read_current_and_pending(run, &current, &pending, err) == 0 &&
        rot_step_settings(run, &current, err) == 0 &&
        check_pending_user(run, &current, &pending, err) == 0) {
        result = run->settings.strategy->set_by_master
                     ? set_by_master(run, &current, &pending, err)
                     : set_single_user(run, &current, &pending, err);
    }
    rot_secret_clean_up(&current);
    rot_secret_clean_up(&pending);
    return result;
}
