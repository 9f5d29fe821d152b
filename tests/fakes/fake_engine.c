#include "fake_engine.h"

#include "mem.h"

#include <stdio.h>
#include <string.h>

struct fake_db fake_db;

struct rot_conn {
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

static int fake_connect(const struct rot_login *login, const struct rot_connect_opts *opts,
                        struct rot_conn **out, struct sm_err *err) {
    (void)opts;
    if (fake_db.connects < FAKE_MAX_CONNECTS) {
        snprintf(fake_db.hosts[fake_db.connects], sizeof(fake_db.hosts[0]), "%s", login->host);
    }
    fake_db.connects++;
    *out = NULL;
    if (fake_db.unreachable) {
        return sm_err_set(err, ROT_ERR_DB_UNREACHABLE, "cannot reach %s:%d: connection refused",
                          login->host, login->port);
    }
    struct fake_user *u = find(login->username);
    if (u == NULL || strcmp(u->password, login->password) != 0) {
        return sm_err_set(err, ROT_ERR_DB_LOGIN, "password authentication failed for user \"%s\"",
                          login->username);
    }
    struct rot_conn *c = sm_calloc(1, sizeof(*c));
    if (c == NULL) {
        return sm_err_set(err, SM_ERR_NOMEM, "out of memory");
    }
    snprintf(c->user, sizeof(c->user), "%s", login->username);
    fake_db.open_conns++;
    *out = c;
    return 0;
}

static void fake_disconnect(struct rot_conn *conn) {
    if (conn != NULL) {
        fake_db.open_conns--;
        sm_free(conn);
    }
}

static int fake_check(struct rot_conn *conn, struct sm_err *err) {
    (void)conn;
    (void)err;
    return 0;
}

static int fake_set_own_password(struct rot_conn *conn, const char *username, const char *password,
                                 struct sm_err *err) {
    if (fake_db.fail_set) {
        return sm_err_set(err, ROT_ERR_DB_QUERY, "permission denied to alter role");
    }
    if (strcmp(conn->user, username) != 0) {
        return sm_err_set(err, ROT_ERR_DB_QUERY, "logged in as %s, not %s", conn->user, username);
    }
    fake_db_set_user(username, password);
    fake_db.password_sets++;
    return 0;
}

static int fake_sync_alternate_user(struct rot_conn *admin, const char *base_user,
                                    const char *alt_user, const char *password,
                                    struct sm_err *err) {
    (void)admin;
    if (fake_db.fail_set) {
        return sm_err_set(err, ROT_ERR_DB_QUERY, "permission denied to create role");
    }
    if (find(base_user) == NULL) {
        return sm_err_set(err, ROT_ERR_DB_QUERY, "role \"%s\" does not exist", base_user);
    }
    fake_db_set_user(alt_user, password);
    snprintf(find(alt_user)->member_of, sizeof(find(alt_user)->member_of), "%s", base_user);
    fake_db.password_sets++;
    return 0;
}

static size_t fake_max_username_length(const char *engine_value) {
    (void)engine_value;
    return 20;
}

static const char *const s_values[] = {"fake", "aurora-fake", NULL};

const struct rot_engine fake_engine = {
    .name = "fake",
    .display_name = "Fake",
    .engine_values = s_values,
    .default_port = 7777,
    .default_exclude_characters = ":/@\"'\\",
    .init = NULL,
    .max_username_length = fake_max_username_length,
    .connect = fake_connect,
    .disconnect = fake_disconnect,
    .check = fake_check,
    .set_own_password = fake_set_own_password,
    .sync_alternate_user = fake_sync_alternate_user,
};

const struct rot_engine *const fake_registry[] = {&fake_engine, NULL};
