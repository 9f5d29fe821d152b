/*
 * engine_postgres: the PostgreSQL engine plugin (libpq), for the secret engine values `postgres`
 * and `aurora-postgresql`.
 *
 * Every connection parameter is a libpq keyword (PQconnectStartParams, expand_dbname=0), every
 * keyword that matters is set, and the PG* variables libpq would read for the others are removed
 * from the environment (pg_scrub_environment). Connects are asynchronous (PQconnectPoll + poll),
 * so the attempt's timeout holds to the millisecond; statements too, each bounded by its own
 * timeout (server-side statement_timeout, and a client-side wait) and the deadline. New passwords
 * reach the server as verifiers computed by PQencryptPasswordConn, or with PASSWORD_ENCRYPTION=
 * server as escaped literals. Our copies of verifiers, passwords and the statements that carried
 * them are wiped; libpq keeps the login password until PQfinish (which clears it) and the last
 * statements in its send buffer. The alternate user's sync is planned by postgres_sql.h from
 * what postgres_catalog.c reads of the roles (which also answers the preflight check).
 */
#include "buf.h"
#include "clock.h"
#include "engine.h"
#include "log.h"
#include "mem.h"
#include "postgres_session.h"
#include "postgres_sql.h"
#include "str.h"

#include <libpq-fe.h>

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* PostgreSQL's NAMEDATALEN - 1: the longest role name, in bytes. */
#define PG_MAX_NAME 63
/* Extra client-side wait beyond statement_timeout for the server's answer to arrive. */
#define PG_RESULT_GRACE_MS 2000
/* Longest server text kept in a message (the sm_err message itself is SM_ERR_MSG_MAX). */
#define PG_TEXT_MAX 320

static const char *const pg_engine_values[] = {"postgres", "aurora-postgresql", NULL};

/* Removes every libpq variable (PG followed by a capital letter: PGHOST, PGSSLMODE, PGPASSWORD,
 * PGSERVICE, PGPASSFILE, PGSYSCONFDIR, ...) from the environment: libpq reads them for any keyword
 * not set, and some of them (PGSERVICE, PGHOSTADDR, PGPASSFILE) can't be neutralised by a keyword,
 * because libpq ignores an empty keyword value. Our own PG_OWNER_ROLE has an underscore after
 * "PG" and stays. Not thread-safe (environment), like the rest of the single-threaded runtime. */
static void pg_scrub_environment(void) {
    for (;;) {
        char name[256];
        bool found = false;
        for (char **e = environ; e != NULL && *e != NULL; e++) {
            const char *eq = strchr(*e, '=');
            if (strncmp(*e, "PG", 2) == 0 && (*e)[2] >= 'A' && (*e)[2] <= 'Z' && eq != NULL &&
                (size_t)(eq - *e) < sizeof(name)) {
                memcpy(name, *e, (size_t)(eq - *e));
                name[eq - *e] = '\0';
                found = true;
                break;
            }
        }
        if (!found || unsetenv(name) != 0) {
            return;
        }
    }
}

/* Notices (NOTICE/WARNING from the server) go to our log instead of libpq's stderr default: a
 * WARNING at INFO, the rest at DEBUG, by the untranslated severity field. */
static void pg_notice(void *arg, const PGresult *res) {
    char line[PG_TEXT_MAX];
    const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    (void)arg;
    sm_str_one_line(PQresultErrorMessage(res), line, sizeof(line));
    if (severity != NULL && strcmp(severity, "WARNING") == 0) {
        SM_INFO("PostgreSQL: %s", line);
    } else {
        SM_DEBUG("PostgreSQL: %s", line);
    }
}

/* The server's text of a failed result: "primary message (SQLSTATE x)" (never the statement,
 * which may hold a verifier: libpq would quote it back for syntax errors). */
static void pg_result_text(const PGresult *res, PGconn *pg, char *dst, size_t cap) {
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    char text[PG_TEXT_MAX];
    sm_str_one_line(primary != NULL ? primary : PQerrorMessage(pg), text, sizeof(text));
    if (state != NULL) {
        snprintf(dst, cap, "%s (SQLSTATE %s)", text, state);
    } else {
        snprintf(dst, cap, "%s", text);
    }
}

/* Reads why a connection attempt failed (postgres_sql.h) into why. */
static void pg_classify(PGconn *pg, bool tls, struct rot_attempt_result *why) {
    sm_str_one_line(PQerrorMessage(pg), why->text, sizeof(why->text));
    why->failure = rot_pg_failure(why->text, tls, PQconnectionUsedPassword(pg) != 0);
}

/* ---- waiting with a bound ------------------------------------------------------------------ */

/* Waits until the connection's socket is readable (or writable). Returns 1 when ready, 0 on
 * timeout (until_mono reached), -1 on a poll error. */
static int pg_wait_socket(PGconn *pg, bool for_write, bool also_read, int64_t until_mono) {
    int fd = PQsocket(pg);
    if (fd < 0) {
        return -1;
    }
    for (;;) {
        int64_t left = until_mono - sm_monotonic_ms();
        if (left <= 0) {
            return 0;
        }
        struct pollfd p = {.fd = fd, .events = (short)(for_write ? POLLOUT : POLLIN)};
        if (for_write && also_read) {
            p.events |= POLLIN;
        }
        int rc = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
        if (rc > 0) {
            return 1;
        }
        if (rc == 0) {
            return 0;
        }
        if (errno != EINTR) {
            return -1;
        }
    }
}

/* ---- connect ------------------------------------------------------------------------------- */

/* Starts an attempt with every keyword that matters set (see pg_scrub_environment). */
static PGconn *pg_start(const struct rot_attempt *a) {
    const struct rot_login *l = a->login;
    char port[16], connect_timeout[24], options[64];
    const char *keys[24], *vals[24];
    size_t n = 0;
    snprintf(port, sizeof(port), "%d", l->port);
    /* Only used by blocking connects (we poll ourselves); libpq's floor is 2 s. */
    snprintf(connect_timeout, sizeof(connect_timeout), "%ld",
             a->connect_timeout_ms < 2000 ? 2 : (a->connect_timeout_ms + 999) / 1000);
    snprintf(options, sizeof(options), "-c statement_timeout=%ld", a->statement_timeout_ms);
#define PG_KV(k, v) (keys[n] = (k), vals[n] = (v), n++)
    PG_KV("host", l->host);
    PG_KV("port", port);
    PG_KV("dbname", l->dbname != NULL && l->dbname[0] != '\0' ? l->dbname : "postgres");
    PG_KV("user", l->username);
    PG_KV("password", l->password);
    PG_KV("connect_timeout", connect_timeout);
    PG_KV("sslmode", !a->tls                          ? "disable"
                     : a->verify == ROT_TLS_VERIFY_CA ? "verify-ca"
                                                      : "verify-full");
    if (a->tls) {
        PG_KV("sslrootcert", a->ca_file);
        PG_KV("ssl_min_protocol_version", "TLSv1.2");
        PG_KV("sslsni", "1");
    }
    /* No client certificate: a path that can never exist (ENOTDIR), which libpq skips silently,
     * instead of the default ~/.postgresql/postgresql.crt. */
    PG_KV("sslcert", "/dev/null/smrotate-no-client-certificate");
    PG_KV("gssencmode", "disable");
    PG_KV("channel_binding", "prefer");
    PG_KV("target_session_attrs", "any");
    PG_KV("application_name", "smrotate");
    PG_KV("client_encoding", "UTF8");
    PG_KV("options", options);
    keys[n] = NULL;
    vals[n] = NULL;
#undef PG_KV
    return PQconnectStartParams(keys, vals, 0);
}

/* Drives the attempt until it is up or failed, for at most the attempt's timeout. */
static int pg_poll(PGconn *pg, const struct rot_attempt *a, struct rot_attempt_result *why) {
    int64_t until = sm_monotonic_ms() + a->connect_timeout_ms;
    PostgresPollingStatusType st =
        PQstatus(pg) == CONNECTION_BAD ? PGRES_POLLING_FAILED : PGRES_POLLING_WRITING;
    while (st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED) {
        int ready = pg_wait_socket(pg, st == PGRES_POLLING_WRITING, false, until);
        if (ready <= 0) {
            why->failure = ready == 0 ? ROT_ATTEMPT_TIMEOUT : ROT_ATTEMPT_UNREACHABLE;
            snprintf(why->text, sizeof(why->text), "%s",
                     ready == 0 ? "timeout expired" : "waiting on the socket failed");
            return -1;
        }
        st = PQconnectPoll(pg);
    }
    if (st == PGRES_POLLING_FAILED) {
        pg_classify(pg, a->tls, why);
        return -1;
    }
    return 0;
}

static int pg_connect(const struct rot_attempt *a, struct rot_session **out,
                      struct rot_attempt_result *why, struct sm_err *err) {
    struct rot_session *s = NULL;
    PGconn *pg = NULL;
    int status = -1;
    char host[256];

    assert(a->login->password != NULL && (!a->tls || a->ca_file != NULL));
    *out = NULL;
    pg_scrub_environment();
    why->failure = ROT_ATTEMPT_ERROR;
    if (a->login->password[0] == '\0') {
        /* libpq would fall back to PGPASSWORD or a password file for an empty password. */
        why->failure = ROT_ATTEMPT_LOGIN;
        snprintf(why->text, sizeof(why->text), "the password is empty (not connecting)");
        return -1;
    }
    s = sm_calloc(1, sizeof(*s));
    if (s == NULL || (pg = pg_start(a)) == NULL) {
        sm_err_set(err, SM_ERR_NOMEM, "out of memory starting a PostgreSQL connection");
        goto out;
    }
    PQsetNoticeReceiver(pg, pg_notice, NULL);
    if (pg_poll(pg, a, why) != 0) {
        goto out;
    }
    if (PQsetnonblocking(pg, 1) != 0) {
        why->failure = ROT_ATTEMPT_UNREACHABLE;
        snprintf(why->text, sizeof(why->text), "cannot make the socket non-blocking");
        goto out;
    }
    PQsetErrorVerbosity(pg, PQERRORS_TERSE);
    sm_str_printable(a->login->host, host, sizeof(host));
    snprintf(s->endpoint, sizeof(s->endpoint), "%s:%d", host, a->login->port);
    sm_str_printable(a->login->username, s->user, sizeof(s->user));
    s->statement_timeout_ms = a->statement_timeout_ms;
    s->deadline_ms = a->deadline_ms;
    s->settings = a->settings;
    s->pg = pg;
    pg = NULL;
    *out = s;
    s = NULL;
    status = 0;
out:
    PQfinish(pg); /* accepts NULL */
    sm_free(s);
    return status;
}

static void pg_disconnect(struct rot_session *s) {
    if (s == NULL) {
        return;
    }
    PQfinish(s->pg);
    sm_free(s);
}

/* ---- statements ---------------------------------------------------------------------------- */

/* Sends what is left and reads until the statement's last result; *res gets the first. Returns
 * 1 when done, 0 when the bound passed, -1 when the connection broke. */
static int pg_collect(struct rot_session *s, int64_t until, PGresult **res) {
    for (;;) {
        int flush = PQflush(s->pg);
        if (flush < 0) {
            return -1;
        }
        if (flush == 0 && !PQisBusy(s->pg)) {
            PGresult *r = PQgetResult(s->pg);
            if (r == NULL) {
                return *res != NULL ? 1 : -1;
            }
            if (*res == NULL) {
                *res = r;
            } else {
                PQclear(r);
            }
            continue;
        }
        int ready = pg_wait_socket(s->pg, flush == 1, true, until);
        if (ready <= 0) {
            return ready == 0 ? 0 : -1;
        }
        if (PQconsumeInput(s->pg) == 0) {
            return -1;
        }
    }
}

/* Runs one statement (with optional text parameters) and waits for its result, bounded by the
 * statement timeout and the invocation deadline. what names the statement in messages (never the
 * SQL itself, which may hold a verifier). On success *out (if not NULL) is the result, which the
 * caller frees with PQclear. Returns 0 or -1 with err: ROT_ERR_DB_QUERY for a failed statement,
 * ROT_ERR_DB_UNREACHABLE for a lost or silent server, SM_ERR_DEADLINE. */
int rot_pg_exec(struct rot_session *s, const char *sql, int nparams, const char *const *params,
                const char *what, PGresult **out, struct sm_err *err) {
    PGresult *res = NULL;
    char text[PG_TEXT_MAX + 32];
    int64_t wait = s->statement_timeout_ms + PG_RESULT_GRACE_MS;
    int64_t left = sm_remaining_ms(s->deadline_ms);
    int status = -1;

    if (left <= 0) {
        return sm_err_set(err, SM_ERR_DEADLINE,
                          "PostgreSQL at %s: %s not started: invocation deadline reached",
                          s->endpoint, what);
    }
    bool by_deadline = left <= wait;
    bool sent = PQsendQueryParams(s->pg, sql, nparams, NULL, params, NULL, NULL, 0) != 0;
    int done = sent ? pg_collect(s, sm_monotonic_ms() + (by_deadline ? left : wait), &res) : -1;
    if (done == 0) {
        sm_err_set(err, by_deadline ? SM_ERR_DEADLINE : ROT_ERR_DB_UNREACHABLE,
                   "PostgreSQL at %s: no answer to %s within %lld ms%s", s->endpoint, what,
                   (long long)(by_deadline ? left : wait),
                   by_deadline ? " (invocation deadline)" : "");
    } else if (done < 0) {
        sm_str_one_line(PQerrorMessage(s->pg), text, sizeof(text));
        sm_err_set(err,
                   sent || PQstatus(s->pg) == CONNECTION_BAD ? ROT_ERR_DB_UNREACHABLE
                                                             : ROT_ERR_DB_QUERY,
                   "PostgreSQL at %s: %s %s: %s", s->endpoint,
                   sent ? "connection lost during" : "could not send", what, text);
    } else if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
        pg_result_text(res, s->pg, text, sizeof(text));
        sm_err_set(err,
                   PQstatus(s->pg) == CONNECTION_BAD ? ROT_ERR_DB_UNREACHABLE : ROT_ERR_DB_QUERY,
                   "PostgreSQL at %s as \"%s\": %s failed: %s", s->endpoint, s->user, what, text);
    } else {
        if (out != NULL) {
            *out = res;
            res = NULL;
        }
        status = 0;
    }
    PQclear(res);
    return status;
}

/* Runs a query with parameters and tells whether it returned at least one row. */
int rot_pg_exists(struct rot_session *s, const char *sql, int nparams, const char *const *params,
                  const char *what, bool *found, struct sm_err *err) {
    PGresult *res = NULL;
    if (rot_pg_exec(s, sql, nparams, params, what, &res, err) != 0) {
        return -1;
    }
    *found = PQntuples(res) > 0;
    PQclear(res);
    return 0;
}

/* PQescapeIdentifier (literal: PQescapeLiteral), copied into our allocator, which wipes; the
 * libpq copy is wiped too. The caller frees the result with sm_free. */
char *rot_pg_escape(struct rot_session *s, const char *value, bool literal, struct sm_err *err) {
    char *q = literal ? PQescapeLiteral(s->pg, value, strlen(value))
                      : PQescapeIdentifier(s->pg, value, strlen(value));
    char *copy = NULL;
    if (q == NULL) {
        char text[PG_TEXT_MAX];
        sm_str_one_line(PQerrorMessage(s->pg), text, sizeof(text));
        sm_err_set(err, ROT_ERR_ROTATION, "PostgreSQL: cannot quote %s: %s",
                   literal ? "a literal" : "a role name", text);
        return NULL;
    }
    copy = sm_strdup(q);
    sm_wipe_str(q);
    PQfreemem(q);
    if (copy == NULL) {
        sm_err_set(err, SM_ERR_NOMEM, "out of memory");
    }
    return copy;
}

/* The hash algorithm for new verifiers: PASSWORD_ENCRYPTION, else the server's setting. */
static int pg_algorithm(struct rot_session *s, char *algo, size_t cap, struct sm_err *err) {
    PGresult *res = NULL;
    enum rot_pg_password_encryption e = s->settings->pg_password_encryption;
    if (e == ROT_PG_PASSWORD_SCRAM || e == ROT_PG_PASSWORD_MD5) {
        snprintf(algo, cap, "%s", e == ROT_PG_PASSWORD_MD5 ? "md5" : "scram-sha-256");
        return 0;
    }
    if (rot_pg_exec(s, "SHOW password_encryption", 0, NULL, "SHOW password_encryption", &res,
                    err) != 0) {
        return -1;
    }
    if (PQntuples(res) != 1 || PQnfields(res) != 1 || PQgetisnull(res, 0, 0)) {
        PQclear(res);
        return sm_err_set(err, ROT_ERR_DB_QUERY,
                          "PostgreSQL at %s: SHOW password_encryption returned no value",
                          s->endpoint);
    }
    snprintf(algo, cap, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return 0;
}

/* The escaped literal the password statement carries for role (the caller frees it with
 * sm_free, which wipes): the verifier computed client-side, or with PASSWORD_ENCRYPTION=server
 * the password itself, for the server to hash. Every intermediate copy is wiped. */
static char *pg_password_literal(struct rot_session *s, const char *role, const char *password,
                                 struct sm_err *err) {
    char algo[32];
    char *verifier = NULL, *lit = NULL;
    if (s->settings->pg_password_encryption == ROT_PG_PASSWORD_PLAIN) {
        return rot_pg_escape(s, password, true, err);
    }
    if (pg_algorithm(s, algo, sizeof(algo), err) != 0) {
        return NULL;
    }
    verifier = PQencryptPasswordConn(s->pg, password, role, algo);
    if (verifier == NULL) {
        char text[PG_TEXT_MAX];
        sm_str_one_line(PQerrorMessage(s->pg), text, sizeof(text));
        sm_err_set(err, ROT_ERR_DB_QUERY,
                   "PostgreSQL: cannot compute the password verifier (algorithm %s): %s", algo,
                   text);
        return NULL;
    }
    lit = rot_pg_escape(s, verifier, true, err);
    sm_wipe_str(verifier);
    PQfreemem(verifier);
    return lit;
}

/* ---- single user --------------------------------------------------------------------------- */

static int pg_init(struct sm_err *err) {
    (void)err;
    pg_scrub_environment();
    return 0;
}

static size_t pg_max_username_length(const char *engine_value,
                                     const struct rot_engine_settings *settings) {
    (void)engine_value;
    (void)settings;
    return PG_MAX_NAME;
}

static int pg_check(struct rot_session *s, struct sm_err *err) {
    PGresult *res = NULL;
    if (rot_pg_exec(s, "SELECT 1", 0, NULL, "SELECT 1", &res, err) != 0) {
        return -1;
    }
    bool ok = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "1") == 0;
    PQclear(res);
    if (!ok) {
        return sm_err_set(err, ROT_ERR_DB_QUERY, "PostgreSQL at %s: SELECT 1 returned no row",
                          s->endpoint);
    }
    return 0;
}

/* " VALID UNTIL '<now + days, UTC>'" into out for a password lifetime, or "" without one. */
static void pg_valid_until(const struct rot_password_opts *opts, char *out, size_t cap) {
    out[0] = '\0';
    if (opts->lifetime_days > 0) {
        time_t until = (time_t)(sm_now_ms() / 1000) + (time_t)opts->lifetime_days * 86400;
        struct tm tm;
        gmtime_r(&until, &tm);
        strftime(out, cap, " VALID UNTIL '%Y-%m-%d %H:%M:%S+00'", &tm);
    }
}

/* ALTER ROLE <username> WITH PASSWORD <verifier> [VALID UNTIL ...], as s. */
static int pg_alter_password(struct rot_session *s, const char *username, const char *password,
                             const struct rot_password_opts *opts, struct sm_err *err) {
    struct sm_buf sql;
    char *ident = NULL, *lit = NULL;
    char until[64];
    int status = -1;
    assert(!opts->retain_current); /* refused by pg_set_own_password, never asked by a master */
    sm_buf_init(&sql, PG_SQL_MAX);
    pg_valid_until(opts, until, sizeof(until));
    if ((ident = rot_pg_escape(s, username, false, err)) == NULL ||
        (lit = pg_password_literal(s, username, password, err)) == NULL ||
        sm_buf_appendf(&sql, err, "ALTER ROLE %s WITH PASSWORD %s%s", ident, lit, until) != 0 ||
        rot_pg_exec(s, sql.data, 0, NULL, "ALTER ROLE ... WITH PASSWORD", NULL, err) != 0) {
        goto out;
    }
    status = 0;
out:
    sm_buf_clean_up(&sql);
    sm_free(ident);
    sm_free(lit);
    return status;
}

/* PostgreSQL lets a role change its own password without the current one; its expiry (VALID
 * UNTIL) only with CREATEROLE. */
static int pg_set_own_password(struct rot_session *s, const char *username,
                               const char *current_password, const char *new_password,
                               const struct rot_password_opts *opts, struct sm_err *err) {
    (void)current_password;
    /* setSecret does not check the settings again (rotation.c rot_step_check_settings): a
     * mysql-dual-password turned on since createSecret arrives here. */
    if (opts->retain_current) {
        return sm_err_set(err, ROT_ERR_UNSUPPORTED,
                          "PostgreSQL has no secondary passwords (mysql-dual-password is MySQL's)");
    }
    /* A role whose sessions start with `SET role` (ALTER ROLE ... SET role) acts as that role; a
     * role may only change its own password as itself. */
    if (rot_pg_exec(s, "SET ROLE NONE", 0, NULL, "SET ROLE NONE", NULL, err) != 0) {
        return -1;
    }
    if (pg_alter_password(s, username, new_password, opts, err) != 0) {
        if (opts->lifetime_days > 0 && err->code == ROT_ERR_DB_QUERY) {
            sm_err_prefix(err, "a role may give its own password an expiry (VALID UNTIL) only with "
                               "CREATEROLE: rotate it with the strategy single-user-via-master, or "
                               "without password-lifetime-days");
        }
        return -1;
    }
    return 0;
}

/* Sets an existing role's password as a superuser, and nothing else. */
static int pg_set_password(struct rot_session *admin, const char *username, const char *password,
                           const struct rot_password_opts *opts, struct sm_err *err) {
    const char *params[1] = {username};
    bool exists = false;
    if (rot_pg_exists(admin, "SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1", 1, params,
                      "looking up the role", &exists, err) != 0) {
        return -1;
    }
    if (!exists) {
        char shown[80];
        sm_str_printable(username, shown, sizeof(shown));
        return sm_err_set(err, ROT_ERR_ROTATION, "PostgreSQL at %s has no role \"%s\"",
                          admin->endpoint, shown);
    }
    return pg_alter_password(admin, username, password, opts, err);
}

/* ---- alternating users: read the catalog (postgres_catalog.c), plan (postgres_sql.h), apply - */

/* Runs the plan, announcing a changed clone first. */
static int pg_apply(struct rot_session *s, const struct rot_pg_plan *plan,
                    const struct rot_user_pair *u, struct sm_err *err) {
    if (plan->changes != NULL) {
        char line[SM_ERR_MSG_MAX], clone[80], orig[80];
        sm_str_one_line(plan->changes, line, sizeof(line));
        sm_str_printable(u->clone, clone, sizeof(clone));
        sm_str_printable(u->original, orig, sizeof(orig));
        SM_WARN("alternating users: PostgreSQL role \"%s\" already exists; changing it to match "
                "\"%s\": %s",
                clone, orig, line);
    }
    for (size_t i = 0; i < plan->n; i++) {
        if (rot_pg_exec(s, plan->steps[i].sql, 0, NULL, plan->steps[i].what, NULL, err) != 0) {
            return -1;
        }
    }
    return 0;
}

static int pg_sync_alternate_user(struct rot_session *admin, const struct rot_user_pair *users,
                                  const char *password, const struct rot_password_opts *opts,
                                  struct sm_err *err) {
    struct rot_pg_names nm;
    struct rot_pg_idents ids = {{NULL}};
    struct rot_pg_catalog cat;
    struct rot_pg_plan plan = {0};
    char *password_literal = NULL;
    bool in_tx = false;
    int status = -1;

    char until[64];
    assert(!opts->retain_current); /* another role's password: set_secret.c never keeps one */
    pg_valid_until(opts, until, sizeof(until));
    if (rot_pg_escape_names(admin, users, &nm, &ids, err) != 0 ||
        rot_pg_exec(admin, "BEGIN", 0, NULL, "BEGIN", NULL, err) != 0) {
        goto out;
    }
    nm.valid_until = until;
    in_tx = true;
    if (rot_pg_read_catalog(admin, users, nm.owner, &cat, err) != 0 ||
        (nm.password_literal = password_literal =
             pg_password_literal(admin, users->target, password, err)) == NULL) {
        goto out;
    }
    if (rot_pg_sync_plan(&cat, &nm, &plan, err) != 0) {
        sm_err_prefix(err, "PostgreSQL at %s", admin->endpoint);
        goto out;
    }
    if (pg_apply(admin, &plan, users, err) != 0 ||
        rot_pg_exec(admin, "COMMIT", 0, NULL, "COMMIT", NULL, err) != 0) {
        goto out;
    }
    in_tx = false;
    status = 0;
out:
    if (in_tx) {
        struct sm_err ignored;
        sm_err_clear(&ignored);
        (void)rot_pg_exec(admin, "ROLLBACK", 0, NULL, "ROLLBACK", NULL, &ignored);
    }
    rot_pg_plan_clean_up(&plan);
    rot_pg_idents_clean_up(&ids);
    sm_free(password_literal);
    return status;
}

const struct rot_engine rot_engine_postgres = {
    .name = "postgres",
    .display_name = "PostgreSQL",
    .engine_values = pg_engine_values,
    .default_port = 5432,
    .default_exclude_characters = ":/@\"'\\",
    .init = pg_init,
    .max_username_length = pg_max_username_length,
    .connect = pg_connect,
    .disconnect = pg_disconnect,
    .check = pg_check,
    .set_own_password = pg_set_own_password,
    .set_password = pg_set_password,
    .sync_alternate_user = pg_sync_alternate_user,
    .check_rights = rot_pg_check_rights,
    .plan_alternate_user = rot_pg_plan_alternate_user,
};
