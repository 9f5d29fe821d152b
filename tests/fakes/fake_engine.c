#include "fake_engine.h"

#include "buf.h"
#include "mem.h"

#include <stdio.h>
#include <string.h>

struct fake_db fake_db;

struct rot_session {
    char user[128];
};

void fake_db_reset(void) {
    memset(&fake_db, 0, sizeof(fake_db));
}

static struct fake_user *find(const char *name) {
    for (int i = 0; i < FAKE_MAX_USERS; i++) {
        if (fake_db.users[i].used && strcmp(fake_db.users[i].name, name) == 0) {
            return &fake_db.users[i];
        }
    }
    return NULL;
}

void fake_db_set_user(const char *name, const char *password) {
    struct fake_user *u = find(name);
    for (int i = 0; u == NULL && i < FAKE_MAX_USERS; i++) {
        if (!fake_db.users[i].used) {
            u = &fake_db.users[i];
            u->used = true;
            snprintf(u->name, sizeof(u->name), "%s", name);
        }
    }
    if (u != NULL) {
        snprintf(u->password, sizeof(u->password), "%s", password);
    }
}

const char *fake_db_password(const char *name) {
    struct fake_user *u = find(name);
    return u != NULL ? u->password : NULL;
}

const struct fake_user *fake_db_user(const char *name) {
    return find(name);
}

/* Sets u's password as opts says. */
static void set(struct fake_user *u, const char *password, const struct rot_password_opts *opts) {
    snprintf(u->secondary, sizeof(u->secondary), "%s", opts->retain_current ? u->password : "");
    snprintf(u->password, sizeof(u->password), "%s", password);
    u->lifetime_days = opts->lifetime_days;
    fake_db.password_sets++;
}

/* Counts down fake_db.refuse_logins: whether this login is refused. */
static bool lagging(void) {
    if (fake_db.refuse_logins <= 0) {
        return false;
    }
    fake_db.refuse_logins--;
    return true;
}

static int fake_connect(const struct rot_attempt *a, struct rot_session **out,
                        struct rot_attempt_result *why, struct sm_err *err) {
    const struct rot_login *login = a->login;
    if (fake_db.connects < FAKE_MAX_CONNECTS) {
        snprintf(fake_db.hosts[fake_db.connects], sizeof(fake_db.hosts[0]), "%s", login->host);
    }
    fake_db.connects++;
    *out = NULL;
    if (fake_db.unreachable) {
        why->failure = ROT_ATTEMPT_UNREACHABLE;
        snprintf(why->text, sizeof(why->text), "connection refused");
        return -1;
    }
    if (fake_db.tls_fails && a->tls) {
        why->failure = ROT_ATTEMPT_TLS_HOST;
        snprintf(why->text, sizeof(why->text), "server certificate does not match host name");
        return -1;
    }
    struct fake_user *u = find(login->username);
    bool secondary =
        u != NULL && u->secondary[0] != '\0' && strcmp(u->secondary, login->password) == 0;
    if (u == NULL || strcmp(u->password, FAKE_NO_PASSWORD) == 0 ||
        (strcmp(u->password, login->password) != 0 && !secondary) || lagging()) {
        why->failure = ROT_ATTEMPT_LOGIN;
        snprintf(why->text, sizeof(why->text), "password authentication failed for user \"%s\"",
                 login->username);
        return -1;
    }
    struct rot_session *c = sm_calloc(1, sizeof(*c));
    if (c == NULL) {
        why->failure = ROT_ATTEMPT_ERROR;
        return sm_err_set(err, SM_ERR_NOMEM, "out of memory");
    }
    snprintf(c->user, sizeof(c->user), "%s", login->username);
    fake_db.open_conns++;
    *out = c;
    return 0;
}

static void fake_disconnect(struct rot_session *conn) {
    if (conn != NULL) {
        fake_db.open_conns--;
        sm_free(conn);
    }
}

static int fake_check(struct rot_session *conn, struct sm_err *err) {
    (void)conn;
    (void)err;
    return 0;
}

static int fake_set_own_password(struct rot_session *conn, const char *username,
                                 const char *current_password, const char *new_password,
                                 const struct rot_password_opts *opts, struct sm_err *err) {
    if (fake_db.fail_set) {
        return sm_err_set(err, ROT_ERR_DB_QUERY, "permission denied to alter role");
    }
    if (strcmp(conn->user, username) != 0) {
        return sm_err_set(err, ROT_ERR_DB_QUERY, "logged in as %s, not %s", conn->user, username);
    }
    /* Like a server that requires the current password: it must be the one conn logged in with. */
    struct fake_user *u = find(username);
    if (current_password == NULL || u == NULL || strcmp(u->password, current_password) != 0) {
        return sm_err_set(err, ROT_ERR_DB_QUERY, "the current password of %s is not the one given",
                          username);
    }
    set(u, new_password, opts);
    return 0;
}

static int fake_set_password(struct rot_session *admin, const char *username, const char *password,
                             const struct rot_password_opts *opts, struct sm_err *err) {
    (void)admin;
    struct fake_user *u = find(username);
    if (fake_db.fail_set) {
        return sm_err_set(err, ROT_ERR_DB_QUERY, "permission denied to alter role");
    }
    if (u == NULL) {
        return sm_err_set(err, ROT_ERR_ROTATION, "user \"%s\" does not exist", username);
    }
    set(u, password, opts);
    fake_db.admin_sets++;
    return 0;
}

static int fake_sync_alternate_user(struct rot_session *admin, const struct rot_user_pair *users,
                                    const char *password, const struct rot_password_opts *opts,
                                    struct sm_err *err) {
    (void)admin;
    snprintf(fake_db.last_sync.original, sizeof(fake_db.last_sync.original), "%s", users->original);
    snprintf(fake_db.last_sync.clone, sizeof(fake_db.last_sync.clone), "%s", users->clone);
    snprintf(fake_db.last_sync.target, sizeof(fake_db.last_sync.target), "%s", users->target);
    if (fake_db.fail_set) {
        return sm_err_set(err, ROT_ERR_DB_QUERY, "permission denied to create role");
    }
    if (strcmp(users->target, users->original) != 0 && strcmp(users->target, users->clone) != 0) {
        return sm_err_set(err, ROT_ERR_ROTATION, "target %s is neither %s nor %s", users->target,
                          users->original, users->clone);
    }
    if (find(users->original) == NULL) {
        return sm_err_set(err, ROT_ERR_DB_QUERY, "role \"%s\" does not exist", users->original);
    }
    if (find(users->clone) == NULL) {
        fake_db_set_user(users->clone, FAKE_NO_PASSWORD);
    }
    snprintf(find(users->clone)->member_of, sizeof(find(users->clone)->member_of), "%s",
             users->original);
    set(find(users->target), password, opts);
    return 0;
}

static int fake_check_rights(struct rot_session *admin, const struct rot_rights_request *req,
                             bool *allowed, struct sm_buf *detail, struct sm_err *err) {
    (void)admin;
    const char *must[2] = {req->clone != NULL ? req->clone->original : req->users[0],
                           req->clone != NULL ? NULL : req->users[1]};
    for (size_t i = 0; i < 2; i++) {
        if (must[i] != NULL && find(must[i]) == NULL) {
            *allowed = false;
            return sm_buf_appendf(detail, err, "user %s does not exist", must[i]);
        }
    }
    *allowed = !fake_db.master_lacks_rights;
    return sm_buf_appendf(detail, err, "%s",
                          *allowed ? "the master may" : "the master lacks CREATE");
}

static int fake_plan_alternate_user(struct rot_session *admin, const struct rot_user_pair *users,
                                    struct sm_buf *plan, struct sm_err *err) {
    (void)admin;
    if (fake_db.plan_cycle) {
        return sm_err_set(err, ROT_ERR_ROTATION, "role \"%s\" is a member of its alternate",
                          users->original);
    }
    if (find(users->clone) == NULL &&
        sm_buf_appendf(plan, err, "CREATE %s LIKE %s\n", users->clone, users->original) != 0) {
        return -1;
    }
    return sm_buf_appendf(plan, err, "SET PASSWORD OF %s TO <new password>\n", users->target);
}

static bool fake_has_secondary_passwords(const char *engine_value) {
    (void)engine_value;
    return true;
}

static size_t fake_max_username_length(const char *engine_value,
                                       const struct rot_engine_settings *settings) {
    (void)engine_value;
    (void)settings;
    return 20;
}

static const char *const s_values[] = {"fake", "aurora-fake", NULL};

const struct rot_engine fake_engine = {
    .name = "fake",
    .display_name = "Fake",
    .engine_values = s_values,
    .has_secondary_passwords = fake_has_secondary_passwords,
    .default_port = 7777,
    .default_exclude_characters = ":/@\"'\\",
    .init = NULL,
    .max_username_length = fake_max_username_length,
    .connect = fake_connect,
    .disconnect = fake_disconnect,
    .check = fake_check,
    .set_own_password = fake_set_own_password,
    .set_password = fake_set_password,
    .sync_alternate_user = fake_sync_alternate_user,
    .check_rights = fake_check_rights,
    .plan_alternate_user = fake_plan_alternate_user,
};

const struct rot_engine *const fake_registry[] = {&fake_engine, NULL};
