#include "db_connect.h"

#include "clock.h"
#include "db_tls.h"
#include "log.h"
#include "mem.h"
#include "str.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#define DB_DEFAULT_CONNECT_TIMEOUT_MS 5000
/* Less time than this before the deadline: no attempt starts. */
#define DB_MIN_CONNECT_MS 1000
/* The ceiling of one statement (ours take milliseconds). */
#define DB_STATEMENT_TIMEOUT_MS 30000
/* The CA file of a TLS attempt when there is no bundle: a path under a file, which can never
 * exist, so the attempt fails at the certificate whenever the server offers TLS. */
#define DB_NO_CA_FILE "/dev/null/smrotate-no-ca-bundle"

struct rot_conn {
    const struct rot_engine *engine;
    struct rot_session *session;
    size_t name_limit; /* the longest name, in the engine's unit, for this secret's engine */
};

/* Who and where, for messages. */
struct where {
    const struct rot_engine *engine;
    const struct rot_connect_opts *opts;
    bool by_deadline;   /* the attempt's timeout is what was left before the deadline */
    char endpoint[300]; /* "host:port", printable */
    char user[100];     /* printable */
};

static const struct rot_engine_settings s_defaults;

/* 0 when name is one the engine takes: not empty, at most limit bytes or (for an engine that
 * counts characters) valid UTF-8 of at most limit characters. Else -1 with ROT_ERR_ROTATION. */
static int check_name(const struct rot_engine *e, size_t limit, const char *what, const char *name,
                      struct sm_err *err) {
    char shown[48];
    size_t n = 0;
    if (name == NULL || name[0] == '\0') {
        return sm_err_set(err, ROT_ERR_ROTATION, "the %s %s is empty", e->display_name, what);
    }
    sm_str_printable(name, shown, sizeof(shown));
    if (!e->username_limit_counts_characters) {
        n = strlen(name);
    } else if (!sm_utf8_valid(name, &n)) {
        return sm_err_set(err, ROT_ERR_ROTATION, "the %s %s \"%s\" is not valid UTF-8",
                          e->display_name, what, shown);
    }
    if (n > limit) {
        return sm_err_set(
            err, ROT_ERR_ROTATION, "the %s %s \"%s\" is %zu %s long; %s allows at most %zu",
            e->display_name, what, shown, n,
            e->username_limit_counts_characters ? "characters" : "bytes", e->display_name, limit);
    }
    return 0;
}

static int check_password(const struct rot_engine *e, const char *password, struct sm_err *err) {
    if (password == NULL || password[0] == '\0') {
        return sm_err_set(err, ROT_ERR_ROTATION, "refusing to set an empty %s password",
                          e->display_name);
    }
    if (e->username_limit_counts_characters && !sm_utf8_valid(password, NULL)) {
        return sm_err_set(err, ROT_ERR_ROTATION, "the new %s password is not valid UTF-8",
                          e->display_name);
    }
    return 0;
}

/* Refuses what no engine may be given: an empty host, a host list or a Unix socket path (libpq
 * reads "a,b", "/dir" and "@name" so; TLS does not apply to a socket), a port out of range. */
static int check_login(const struct rot_engine *e, const struct rot_login *login, size_t limit,
                       struct sm_err *err) {
    const char *host = login->host;
    if (host == NULL || host[0] == '\0') {
        return sm_err_set(err, ROT_ERR_ROTATION, "a %s login needs a host", e->display_name);
    }
    if (host[0] == '/' || host[0] == '@' || strchr(host, ',') != NULL) {
        return sm_err_set(err, ROT_ERR_ROTATION,
                          "the %s host must be one TCP host name or address (no list, no Unix "
                          "socket path)",
                          e->display_name);
    }
    if (login->port < 1 || login->port > 65535) {
        return sm_err_set(err, ROT_ERR_ROTATION, "the %s port %d is out of range", e->display_name,
                          login->port);
    }
    return check_name(e, limit, "user name", login->username, err);
}

/* Sets the timeouts of the next attempt from the time left; -1 with SM_ERR_DEADLINE when too
 * little is left to start one. */
static int set_timeouts(struct rot_attempt *a, struct where *w, struct sm_err *err) {
    int64_t left = sm_remaining_ms(w->opts->deadline_ms);
    long timeout = w->opts->connect_timeout_ms > 0 ? w->opts->connect_timeout_ms
                                                   : DB_DEFAULT_CONNECT_TIMEOUT_MS;
    if (left < DB_MIN_CONNECT_MS) {
        return sm_err_set(err, SM_ERR_DEADLINE,
                          "not connecting to the %s server at %s as user \"%s\": %lld ms left "
                          "before the invocation deadline",
                          w->engine->display_name, w->endpoint, w->user, (long long)left);
    }
    w->by_deadline = left <= timeout;
    a->connect_timeout_ms = w->by_deadline ? (long)left : timeout;
    a->statement_timeout_ms = left < DB_STATEMENT_TIMEOUT_MS ? (long)left : DB_STATEMENT_TIMEOUT_MS;
    return 0;
}

static const char *mode_words(const struct rot_attempt *a) {
    if (!a->tls) {
        return a->login->tls == ROT_TLS_AUTO ? "no TLS: not offered" : "no TLS: \"ssl\": false";
    }
    return a->verify == ROT_TLS_VERIFY_CA ? "TLS, host name not checked" : "verified TLS";
}

/* Sets err for a TLS failure of the attempt, ending with what the operator can set. */
static int tls_error(const struct rot_attempt *a, const struct where *w,
                     const struct rot_attempt_result *why, struct sm_err *err) {
    char advice[512];
    enum rot_tls_failure kind = ROT_TLS_FAILURE_OTHER;
    if (w->opts->ca_file == NULL) {
        kind = ROT_TLS_FAILURE_NO_CA;
    } else if (why->failure == ROT_ATTEMPT_TLS_HOST) {
        kind = ROT_TLS_FAILURE_HOST;
    } else if (why->failure == ROT_ATTEMPT_TLS_UNTRUSTED) {
        kind = ROT_TLS_FAILURE_UNTRUSTED;
    }
    rot_db_tls_advice(kind, w->opts->ca_origin != NULL ? w->opts->ca_origin : w->opts->ca_file,
                      a->verify, a->login->host, advice, sizeof(advice));
    return sm_err_set(err, ROT_ERR_DB_TLS,
                      "TLS with the %s server at %s failed (user \"%s\"; %s; never retried "
                      "without TLS): %s; %s",
                      w->engine->display_name, w->endpoint, w->user, mode_words(a), why->text,
                      advice);
}

/* Turns a failed attempt into its error class and message. Returns -1. */
static int attempt_error(const struct rot_attempt *a, const struct where *w,
                         const struct rot_attempt_result *why, struct sm_err *err) {
    const char *name = w->engine->display_name;
    switch (why->failure) {
    case ROT_ATTEMPT_UNREACHABLE:
        return sm_err_set(err, ROT_ERR_DB_UNREACHABLE,
                          "cannot reach the %s server at %s (user \"%s\"; %s): %s", name,
                          w->endpoint, w->user, mode_words(a), why->text);
    case ROT_ATTEMPT_TIMEOUT:
        return sm_err_set(err, w->by_deadline ? SM_ERR_DEADLINE : ROT_ERR_DB_UNREACHABLE,
                          "the %s server at %s did not answer within %ld ms%s (user \"%s\"; %s): "
                          "%s",
                          name, w->endpoint, a->connect_timeout_ms,
                          w->by_deadline ? ", the time left before the invocation deadline" : "",
                          w->user, mode_words(a), why->text);
    case ROT_ATTEMPT_LOGIN:
        return sm_err_set(err, ROT_ERR_DB_LOGIN,
                          "the %s server at %s refused the login of user \"%s\" (%s): %s", name,
                          w->endpoint, w->user, mode_words(a), why->text);
    case ROT_ATTEMPT_TLS_NOT_OFFERED:
        return sm_err_set(err, ROT_ERR_DB_TLS,
                          "the %s server at %s does not offer TLS, which the secret requires "
                          "(\"ssl\": true; user \"%s\"): %s",
                          name, w->endpoint, w->user, why->text);
    case ROT_ATTEMPT_TLS_REQUIRED:
        return sm_err_set(err, ROT_ERR_DB_TLS,
                          "the %s server at %s requires TLS for user \"%s\", which the secret "
                          "turns off (\"ssl\": false): %s",
                          name, w->endpoint, w->user, why->text);
    case ROT_ATTEMPT_TLS_UNTRUSTED:
    case ROT_ATTEMPT_TLS_HOST:
    case ROT_ATTEMPT_TLS:
        return tls_error(a, w, why, err);
    case ROT_ATTEMPT_ERROR:
        break;
    }
    return sm_err_prefix(err, "connecting to the %s server at %s as user \"%s\" (%s)", name,
                         w->endpoint, w->user, mode_words(a));
}

/* One attempt; *not_offered: it failed only because the server offers no TLS. */
static int attempt(const struct rot_attempt *a, const struct where *w, struct rot_session **out,
                   bool *not_offered, struct sm_err *err) {
    struct rot_attempt_result why = {.failure = ROT_ATTEMPT_ERROR};
    *not_offered = false;
    if (w->engine->connect(a, out, &why, err) == 0) {
        return 0;
    }
    assert(*out == NULL);
    why.text[sizeof(why.text) - 1] = '\0';
    *not_offered = a->tls && why.failure == ROT_ATTEMPT_TLS_NOT_OFFERED;
    return attempt_error(a, w, &why, err);
}

int rot_db_connect(const struct rot_engine *engine, const struct rot_login *login,
                   const struct rot_connect_opts *opts, struct rot_conn **out, struct sm_err *err) {
    bool over_tls;
    return rot_db_connect_tls(engine, login, opts, out, &over_tls, err);
}

int rot_db_connect_tls(const struct rot_engine *engine, const struct rot_login *login,
                       const struct rot_connect_opts *opts, struct rot_conn **out, bool *over_tls,
                       struct sm_err *err) {
    assert(engine != NULL && login != NULL && opts != NULL && out != NULL && over_tls != NULL);
    const struct rot_engine_settings *settings = opts->settings ? opts->settings : &s_defaults;
    struct rot_session *session = NULL;
    struct where w = {.engine = engine, .opts = opts};
    char host[256];
    bool not_offered = false;

    *out = NULL;
    sm_str_printable(login->host, host, sizeof(host));
    snprintf(w.endpoint, sizeof(w.endpoint), "%s:%d", host, login->port);
    sm_str_printable(login->username, w.user, sizeof(w.user));
    size_t limit = engine->max_username_length(login->engine_value, settings);
    if (check_login(engine, login, limit, err) != 0) {
        return -1;
    }
    assert(login->password != NULL);
    struct rot_attempt a = {
        .login = login,
        .tls = login->tls != ROT_TLS_OFF,
        .ca_file = opts->ca_file != NULL ? opts->ca_file : DB_NO_CA_FILE,
        .verify = opts->tls_verify,
        .deadline_ms = opts->deadline_ms,
        .settings = settings,
    };
    *over_tls = a.tls;
    if (set_timeouts(&a, &w, err) != 0) {
        return -1;
    }
    if (attempt(&a, &w, &session, &not_offered, err) != 0) {
        if (login->tls != ROT_TLS_AUTO || !not_offered) {
            return -1;
        }
        *over_tls = false;
        SM_WARN("the %s server at %s does not offer TLS; connecting without TLS (the secret has "
                "no \"ssl\" key)",
                engine->display_name, w.endpoint);
        a.tls = false;
        if (set_timeouts(&a, &w, err) != 0 || attempt(&a, &w, &session, &not_offered, err) != 0) {
            return -1;
        }
    }
    struct rot_conn *c = sm_calloc(1, sizeof(*c));
    if (c == NULL) {
        engine->disconnect(session);
        return sm_err_set(err, SM_ERR_NOMEM, "out of memory connecting to %s", w.endpoint);
    }
    *c = (struct rot_conn){.engine = engine, .session = session, .name_limit = limit};
    *out = c;
    return 0;
}

void rot_db_tls_summary(const struct rot_login *login, const struct rot_connect_opts *opts,
                        bool over_tls, char *out, size_t cap) {
    char host[256];
    const char *origin = opts->ca_origin != NULL ? opts->ca_origin : opts->ca_file;
    sm_str_printable(login->host, host, sizeof(host));
    if (!over_tls) {
        snprintf(out, cap, "%s",
                 login->tls == ROT_TLS_OFF
                     ? "no TLS: the secret says \"ssl\": false"
                     : "no TLS: the server offers none and the secret has no \"ssl\" key (add "
                       "\"ssl\": true to require TLS)");
    } else if (opts->tls_verify == ROT_TLS_VERIFY_CA) {
        snprintf(out, cap,
                 "TLS, the certificate chain verified against %s; the host name %s is not checked "
                 "(SMROTATE_DB_TLS_VERIFY=ca)",
                 origin != NULL ? origin : "no CA bundle", host);
    } else {
        snprintf(out, cap,
                 "verified TLS: the certificate chain verified against %s and the host name %s "
                 "matched (SMROTATE_DB_TLS_VERIFY=full)",
                 origin != NULL ? origin : "no CA bundle", host);
    }
}

void rot_db_disconnect(struct rot_conn *conn) {
    if (conn == NULL) {
        return;
    }
    conn->engine->disconnect(conn->session);
    sm_free(conn);
}

int rot_db_check(struct rot_conn *conn, struct sm_err *err) {
    assert(conn != NULL);
    return conn->engine->check(conn->session, err);
}

static const struct rot_password_opts s_default_opts = {0};

int rot_db_set_own_password(struct rot_conn *conn, const char *username,
                            const char *current_password, const char *new_password,
                            const struct rot_password_opts *opts, struct sm_err *err) {
    assert(conn != NULL);
    const struct rot_engine *e = conn->engine;
    if (check_name(e, conn->name_limit, "user name", username, err) != 0 ||
        check_password(e, new_password, err) != 0) {
        return -1;
    }
    return e->set_own_password(conn->session, username, current_password, new_password,
                               opts != NULL ? opts : &s_default_opts, err);
}

int rot_db_set_password(struct rot_conn *admin, const char *username, const char *password,
                        const struct rot_password_opts *opts, struct sm_err *err) {
    assert(admin != NULL);
    const struct rot_engine *e = admin->engine;
    if (check_name(e, admin->name_limit, "user name", username, err) != 0 ||
        check_password(e, password, err) != 0) {
        return -1;
    }
    return e->set_password(admin->session, username, password,
                           opts != NULL ? opts : &s_default_opts, err);
}

/* The refusals of the alternate user's sync (and its plan) that come before any SQL. */
static int check_pair(const struct rot_conn *admin, const struct rot_user_pair *users,
                      struct sm_err *err) {
    const struct rot_engine *e = admin->engine;
    size_t limit = admin->name_limit;
    if (check_name(e, limit, "user name", users->original, err) != 0 ||
        check_name(e, limit, "alternate user name", users->clone, err) != 0 ||
        check_name(e, limit, "user name to set the password of", users->target, err) != 0) {
        return -1;
    }
    if (strcmp(users->original, users->clone) == 0) {
        char shown[48];
        sm_str_printable(users->original, shown, sizeof(shown));
        return sm_err_set(err, ROT_ERR_ROTATION,
                          "the %s alternate user is the user itself (\"%s\")", e->display_name,
                          shown);
    }
    if (strcmp(users->target, users->original) != 0 && strcmp(users->target, users->clone) != 0) {
        return sm_err_set(err, ROT_ERR_ROTATION,
                          "the %s user whose password is set must be the user or its alternate",
                          e->display_name);
    }
    return 0;
}

int rot_db_sync_alternate_user(struct rot_conn *admin, const struct rot_user_pair *users,
                               const char *password, const struct rot_password_opts *opts,
                               struct sm_err *err) {
    assert(admin != NULL && users != NULL);
    if (check_pair(admin, users, err) != 0 || check_password(admin->engine, password, err) != 0) {
        return -1;
    }
    return admin->engine->sync_alternate_user(admin->session, users, password,
                                              opts != NULL ? opts : &s_default_opts, err);
}

static int cannot_tell(const struct rot_engine *e, const char *what, struct sm_err *err) {
    return sm_err_set(err, ROT_ERR_UNSUPPORTED, "the %s engine cannot tell %s", e->display_name,
                      what);
}

int rot_db_check_rights(struct rot_conn *admin, const struct rot_rights_request *req, bool *allowed,
                        struct sm_buf *detail, struct sm_err *err) {
    assert(admin != NULL && req != NULL && allowed != NULL && detail != NULL);
    const struct rot_engine *e = admin->engine;
    *allowed = false;
    if (req->clone != NULL && check_pair(admin, req->clone, err) != 0) {
        return -1;
    }
    for (size_t i = 0; req->clone == NULL && i < 2; i++) {
        if ((i == 0 || req->users[i] != NULL) &&
            check_name(e, admin->name_limit, "user name", req->users[i], err) != 0) {
            return -1;
        }
    }
    if (e->check_rights == NULL) {
        return cannot_tell(e, "what the master may do", err);
    }
    return e->check_rights(admin->session, req, allowed, detail, err);
}

int rot_db_plan_alternate_user(struct rot_conn *admin, const struct rot_user_pair *users,
                               struct sm_buf *plan, struct sm_err *err) {
    assert(admin != NULL && users != NULL && plan != NULL);
    if (check_pair(admin, users, err) != 0) {
        return -1;
    }
    if (admin->engine->plan_alternate_user == NULL) {
        return cannot_tell(admin->engine, "what alternating users would change", err);
    }
    return admin->engine->plan_alternate_user(admin->session, users, plan, err);
}
