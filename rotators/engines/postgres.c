/*
 * engine_postgres: the PostgreSQL engine plugin (libpq), for the secret engine values `postgres`
 * and `aurora-postgresql`.
 *
 * Connecting. Every connection parameter is passed as a libpq keyword (PQconnectStartParams with
 * expand_dbname=0, never a conninfo string built by concatenation, so a dbname can't smuggle in
 * other keywords). libpq fills any keyword we leave unset from PG* environment variables and from a
 * service file, so the plugin sets every keyword that matters explicitly and also removes every
 * libpq variable (PG[A-Z]*; not our PG_OWNER_ROLE) from the process environment in init and
 * before each connect (pg_scrub_environment: PGSERVICE, PGHOSTADDR,
 * PGSERVICEFILE, PGSYSCONFDIR and PGPASSFILE can't be neutralised by keywords, because libpq
 * ignores an empty keyword value). An empty password is refused before connecting, so neither
 * PGPASSWORD nor a ~/.pgpass file can ever stand in for one.
 * The connection is made asynchronously (PQconnectPoll + poll) so the per-attempt timeout and the
 * invocation deadline are honoured to the millisecond (libpq's own connect_timeout has a 2 s
 * floor and only applies to blocking connects). Less than ROT_PG_MIN_CONNECT_MS left before the
 * deadline fails with SM_ERR_DEADLINE before trying. Host name resolution inside libpq is blocking
 * and bounded only by the resolver's own timeout. Every session gets a server-side
 * statement_timeout bounded by the deadline, and every statement is sent asynchronously and waited
 * for with the same bound on the client side, so a server that stops answering can't hang the
 * invocation.
 *
 * TLS (engine.h policy). REQUIRED and AUTO use sslmode=verify-full (or verify-ca with
 * SMROTATE_DB_TLS_VERIFY=ca: the chain, not the host name) with sslrootcert = opts->ca_file, the
 * one bundle db_tls.h resolved; without one, a TLS attempt fails (ROT_ERR_DB_TLS naming
 * SMROTATE_DB_CA_FILE), never falling back to a library default. The certificate may name an IP
 * address. AUTO retries once with sslmode=disable only when the first attempt failed because the
 * server does not offer TLS at all; never after a certificate, host-name, password or network
 * failure. OFF uses sslmode=disable. GSSAPI encryption is disabled. Why a connection failed is
 * known only from libpq's text: s_pg_failure_texts is the one table that reads it.
 *
 * Passwords. By default the new password never reaches the server in cleartext: the verifier
 * (SCRAM-SHA-256, or md5) is computed client-side by libpq's PQencryptPasswordConn, using the
 * algorithm from the PASSWORD_ENCRYPTION environment variable (`md5` or `scram-sha-256`, read by
 * init) or else the server's own password_encryption setting, and sent as an escaped literal.
 * Statement logs (log_statement=ddl/all) therefore hold the verifier, never the password. With
 * PASSWORD_ENCRYPTION=server (an explicit opt-in for password-check hooks such as pg_tle's
 * passcheck or credcheck, which reject a password they receive already hashed) the password itself
 * is sent as a literal escaped by libpq (PQescapeLiteral) and the server hashes it; the cost is
 * that the cleartext can then reach the server's statement log (log_statement=ddl or all, the
 * error log of a failing statement) and pg_stat_statements. Our copies of the verifier or password
 * and of every statement that carried one are wiped. What we cannot wipe: libpq keeps the
 * connection password in the PGconn until PQfinish (which clears it with explicit_bzero since
 * PostgreSQL 13) and leaves the last statements in its unwiped send buffer, freed by PQfinish.
 *
 * Alternating users (sync_alternate_user, run as a superuser / rds_superuser). The caller says
 * which role is the original, which its clone and which one gets the new password. The clone is
 * always a member of the original (GRANT original TO clone) and inherits its privileges; an
 * original that is a member of its clone is refused (the grant would make a cycle). The clone also
 * gets LOGIN, INHERIT and the original's CREATEDB, CREATEROLE and CONNECTION LIMIT; the original is
 * never changed to match its clone. A clone that already exists and differs is announced by one
 * WARN naming the changes before they are made. A clone created while the original is the target
 * gets no password (no password login) until its own turn. Not copied: SUPERUSER, REPLICATION,
 * BYPASSRLS (they would need a real superuser and silently widen access), VALID UNTIL (an expiry
 * copied from the original could lock the new password out) and per-role settings (ALTER ROLE ...
 * SET). Extra memberships of the clone are left alone. Everything runs in one transaction.
 *
 * Object ownership (AWS complaint #1): objects a session of X_clone creates are owned by X_clone,
 * and X can't alter or (without grants) read them once the secret flips back. With the environment
 * variable PG_OWNER_ROLE=<role> (an existing role, typically NOLOGIN, that owns the application's
 * schema) sync_alternate_user also makes both users members of that role and runs
 * `ALTER ROLE <user> SET role = '<owner>'` for both, so every session of either user runs as the
 * owner role and everything it creates is owned by the shared role. Trade-offs: sessions then use
 * the owner role's privileges only (grants made to X or X_clone directly no longer apply inside
 * those sessions, so grant to the owner role), current_user reports the owner role (session_user
 * still names the login), anything that runs `RESET ROLE`/`SET ROLE` can switch back, and the
 * owner role needs CREATE on the schemas the application writes to.
 */
#include "buf.h"
#include "clock.h"
#include "db_tls.h"
#include "engine.h"
#include "log.h"
#include "mem.h"
#include "str.h"

#include <libpq-fe.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* PostgreSQL's NAMEDATALEN - 1: the longest role name, in bytes. */
#define ROT_PG_MAX_NAME 63
#define ROT_PG_DEFAULT_CONNECT_TIMEOUT_MS 5000
/* Less time than this before the deadline: don't start a connection attempt. */
#define ROT_PG_MIN_CONNECT_MS 1000
/* Server-side statement_timeout ceiling (our statements take milliseconds). */
#define ROT_PG_STATEMENT_TIMEOUT_MS 30000
/* Extra client-side wait beyond statement_timeout for the server's answer to arrive. */
#define ROT_PG_RESULT_GRACE_MS 2000
/* Ceiling of one statement we build (two escaped names and a verifier fit many times over). */
#define ROT_PG_SQL_MAX (16u * 1024u)
/* Longest server text kept in a message (the sm_err message itself is SM_ERR_MSG_MAX). */
#define ROT_PG_TEXT_MAX 320
#define ROT_PG_ALGO_MAX 32

struct rot_conn {
    PGconn *pg;
    char endpoint[300]; /* "host:port" for messages */
    char user[96];      /* login name, made printable, for messages */
    long statement_timeout_ms;
    int64_t deadline_ms;
};

/* Process-wide settings read by pg_init. */
static char s_password_encryption[ROT_PG_ALGO_MAX]; /* "" = the server's password_encryption */
static bool s_server_hashes; /* PASSWORD_ENCRYPTION=server: the server hashes the password */
static char s_owner_role[ROT_PG_MAX_NAME + 1]; /* "" = no shared owner role */

static const char *const s_engine_values[] = {"postgres", "aurora-postgresql", NULL};

/* ---- small helpers ------------------------------------------------------------------------- */

/* 0 when name is a role name PostgreSQL accepts (1..63 bytes), else -1 with ROT_ERR_ROTATION. */
static int pg_check_name(const char *what, const char *name, struct sm_err *err) {
    char shown[80];
    if (name == NULL || name[0] == '\0') {
        return sm_err_set(err, ROT_ERR_ROTATION, "PostgreSQL %s is empty", what);
    }
    size_t len = strlen(name);
    if (len > ROT_PG_MAX_NAME) {
        sm_str_printable(name, shown, 40);
        return sm_err_set(err, ROT_ERR_ROTATION,
                          "PostgreSQL %s \"%s\" is %zu bytes long; PostgreSQL allows at most %d",
                          what, shown, len, ROT_PG_MAX_NAME);
    }
    return 0;
}

/* Removes every libpq variable (PG followed by a capital letter: PGHOST, PGHOSTADDR, PGSSLMODE,
 * PGPASSWORD, PGSERVICE, PGSERVICEFILE, PGPASSFILE, PGSYSCONFDIR, PGSSLKEYLOGFILE, ...) from the
 * process environment: libpq reads them for any keyword not set, and some of them can't be
 * overridden through a keyword. Our own settings (PG_OWNER_ROLE) have an underscore after "PG"
 * and stay. Not thread-safe (environment), like the rest of the single-threaded runtime. */
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
    char line[ROT_PG_TEXT_MAX];
    const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    (void)arg;
    sm_str_one_line(PQresultErrorMessage(res), line, sizeof(line));
    if (severity != NULL && strcmp(severity, "WARNING") == 0) {
        SM_INFO("PostgreSQL: %s", line);
    } else {
        SM_DEBUG("PostgreSQL: %s", line);
    }
}

/* The server's text of a failed result: "SQLSTATE: primary message" (never the statement, which
 * may hold a verifier: libpq would quote it back for syntax errors). */
static void pg_result_text(const PGresult *res, PGconn *pg, char *dst, size_t cap) {
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    char text[ROT_PG_TEXT_MAX];
    sm_str_one_line(primary != NULL ? primary : PQerrorMessage(pg), text, sizeof(text));
    if (state != NULL) {
        snprintf(dst, cap, "%s (SQLSTATE %s)", text, state);
    } else {
        snprintf(dst, cap, "%s", text);
    }
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

/* A bound in monotonic ms: now + timeout_ms, but no later than the invocation deadline.
 * *by_deadline tells which of the two limits is the binding one. */
static int64_t pg_bound(int64_t timeout_ms, int64_t deadline_ms, bool *by_deadline) {
    int64_t left = sm_remaining_ms(deadline_ms);
    *by_deadline = left <= timeout_ms;
    return sm_monotonic_ms() + (*by_deadline ? left : timeout_ms);
}

/* ---- connect ------------------------------------------------------------------------------- */

/* Copies text with every double-quoted part blanked out: libpq and the server quote host, user and
 * database names ("... for user \"x\""), and a name must not steer the classification (a host
 * called certificate-db, a user called password). */
static void pg_blank_quoted(const char *text, char *dst, size_t cap) {
    size_t n = 0;
    bool quoted = false;
    for (const char *p = text; *p != '\0' && n + 1 < cap; p++) {
        if (*p == '"') {
            quoted = !quoted;
            dst[n++] = '"';
            continue;
        }
        dst[n++] = quoted ? ' ' : *p;
    }
    dst[n] = '\0';
}

/* What a failed connection attempt was. */
enum pg_failure {
    PG_FAIL_NETWORK,          /* ROT_ERR_DB_UNREACHABLE */
    PG_FAIL_LOGIN,            /* ROT_ERR_DB_LOGIN */
    PG_FAIL_TLS_NOT_OFFERED,  /* ROT_ERR_DB_TLS; the only failure AUTO retries in plaintext */
    PG_FAIL_TLS_HOST,         /* ROT_ERR_DB_TLS, the certificate does not name the host */
    PG_FAIL_TLS_UNTRUSTED,    /* ROT_ERR_DB_TLS, the chain is not trusted by the CA bundle */
    PG_FAIL_TLS,              /* ROT_ERR_DB_TLS, another TLS failure */
    PG_FAIL_PLAINTEXT_REFUSED /* ROT_ERR_DB_TLS, pg_hba.conf refuses this login without TLS */
};

/*
 * libpq tells why a connection attempt failed only in words: PQerrorMessage holds libpq's own
 * messages and the server's (there is no SQLSTATE for a connection that never completed, and
 * PQstatus is just CONNECTION_BAD). bootstrap never calls setlocale, so libpq's texts are its
 * English ones; the server's follow its lc_messages (English on RDS). This table is the one place
 * that reads them: the first row whose needle occurs in the text, with double-quoted names
 * blanked out, decides; plaintext rows apply only to an attempt without TLS. The order matters:
 * "server does not support SSL" (which lets AUTO retry in plaintext) counts only when no other
 * TLS or login needle occurs. A wording that a libpq release changes falls through to the last
 * resort (a login failure when the server asked for a password, else unreachable): it can misname
 * an error, never turn a TLS failure into a plaintext retry. Tests assert the classification
 * (error codes), not these texts.
 */
static const struct pg_failure_text {
    const char *needle;
    bool plaintext_only;
    enum pg_failure failure;
} s_pg_failure_texts[] = {
    /* The peer went away, also in the middle of a TLS handshake. */
    {"SSL SYSCALL error", false, PG_FAIL_NETWORK},
    {"server closed the connection unexpectedly", false, PG_FAIL_NETWORK},
    {"SSL connection has been closed unexpectedly", false, PG_FAIL_NETWORK},
    /* TLS: fe-secure-common.c (host name), fe-secure-openssl.c (chain, root file). */
    {"does not match host name", false, PG_FAIL_TLS_HOST},
    {"certificate verify failed", false, PG_FAIL_TLS_UNTRUSTED},
    {"root certificate file", false, PG_FAIL_TLS_UNTRUSTED},
    {"certificate", false, PG_FAIL_TLS},
    {"SSL error", false, PG_FAIL_TLS},
    {"sslrootcert", false, PG_FAIL_TLS},
    {"could not establish SSL", false, PG_FAIL_TLS},
    {"SSL library", false, PG_FAIL_TLS},
    /* pg_hba.conf: "... no encryption" when hostssl or hostnossl ... reject refuses plaintext. */
    {"no encryption", true, PG_FAIL_PLAINTEXT_REFUSED},
    {"SSL off", true, PG_FAIL_PLAINTEXT_REFUSED},
    {"pg_hba.conf", false, PG_FAIL_LOGIN},
    /* Authentication and authorisation. */
    {"password authentication failed", false, PG_FAIL_LOGIN},
    {"authentication failed", false, PG_FAIL_LOGIN},
    {"no password supplied", false, PG_FAIL_LOGIN},
    {"does not exist", false, PG_FAIL_LOGIN},
    {"not permitted to log in", false, PG_FAIL_LOGIN},
    {"SCRAM", false, PG_FAIL_LOGIN},
    {"permission denied for database", false, PG_FAIL_LOGIN},
    {"password", false, PG_FAIL_LOGIN},
    /* fe-connect.c: the answer to SSLRequest was "no". */
    {"server does not support SSL", false, PG_FAIL_TLS_NOT_OFFERED},
    /* The network and the server's availability. */
    {"Connection refused", false, PG_FAIL_NETWORK},
    {"could not translate host name", false, PG_FAIL_NETWORK},
    {"timeout expired", false, PG_FAIL_NETWORK},
    {"No route to host", false, PG_FAIL_NETWORK},
    {"Network is unreachable", false, PG_FAIL_NETWORK},
    {"Connection reset", false, PG_FAIL_NETWORK},
    {"could not connect", false, PG_FAIL_NETWORK},
    {"the database system is", false, PG_FAIL_NETWORK},
    {"too many clients", false, PG_FAIL_NETWORK},
    {"connection slots", false, PG_FAIL_NETWORK},
};

/* Which failure text (names already blanked) describes, for an attempt with or without TLS. */
static enum pg_failure pg_classify(const char *text, bool tls, bool used_password) {
    for (size_t i = 0; i < sizeof(s_pg_failure_texts) / sizeof(s_pg_failure_texts[0]); i++) {
        const struct pg_failure_text *row = &s_pg_failure_texts[i];
        if ((!row->plaintext_only || !tls) && strstr(text, row->needle) != NULL) {
            return row->failure;
        }
    }
    /* The server asked for a password and then refused the session: a login failure. */
    return used_password ? PG_FAIL_LOGIN : PG_FAIL_NETWORK;
}

static const struct sm_code *pg_failure_code(enum pg_failure failure) {
    switch (failure) {
    case PG_FAIL_NETWORK:
        return ROT_ERR_DB_UNREACHABLE;
    case PG_FAIL_LOGIN:
        return ROT_ERR_DB_LOGIN;
    case PG_FAIL_TLS_NOT_OFFERED:
    case PG_FAIL_TLS_HOST:
    case PG_FAIL_TLS_UNTRUSTED:
    case PG_FAIL_TLS:
    case PG_FAIL_PLAINTEXT_REFUSED:
        break;
    }
    return ROT_ERR_DB_TLS;
}

/* Sets err for an attempt that failed over TLS (failure), ending the message with what to do. */
static int pg_tls_error(const struct rot_conn *c, const struct rot_connect_opts *opts,
                        const char *host, const char *sslmode, enum pg_failure failure,
                        const char *text, struct sm_err *err) {
    char advice[512];
    enum rot_tls_failure kind = ROT_TLS_FAILURE_OTHER;
    if (failure == PG_FAIL_TLS_HOST) {
        kind = ROT_TLS_FAILURE_HOST;
    } else if (failure == PG_FAIL_TLS_UNTRUSTED) {
        kind = ROT_TLS_FAILURE_UNTRUSTED;
    }
    if (failure == PG_FAIL_TLS_NOT_OFFERED) {
        snprintf(advice, sizeof(advice),
                 "the server does not offer TLS, which the secret requires (\"ssl\": true)");
    } else if (failure == PG_FAIL_PLAINTEXT_REFUSED) {
        snprintf(advice, sizeof(advice),
                 "the server requires TLS for this login, which the secret turns off "
                 "(\"ssl\": false)");
    } else {
        rot_db_tls_advice(kind, opts, host, advice, sizeof(advice));
    }
    return sm_err_set(err, ROT_ERR_DB_TLS,
                      "connecting to PostgreSQL at %s as \"%s\" (sslmode=%s) failed: %s; %s",
                      c->endpoint, c->user, sslmode, text, advice);
}

/* One connection attempt: with TLS (sslmode verify-full or verify-ca, from opts) or without
 * (disable). On failure *not_offered tells the caller whether the only problem was a server
 * without TLS (AUTO may then retry in plaintext). */
static int pg_connect_once(const struct rot_login *login, const struct rot_connect_opts *opts,
                           bool tls, struct rot_conn *c, bool *not_offered, struct sm_err *err) {
    PGconn *pg = NULL;
    char port[16], connect_timeout[24], options[64], text[1024];
    const char *sslmode = "disable";
    int status = -1;

    *not_offered = false;
    if (tls) {
        sslmode = opts->tls_verify == ROT_TLS_VERIFY_CA ? "verify-ca" : "verify-full";
        if (opts->ca_file == NULL) {
            char advice[300];
            rot_db_tls_advice(ROT_TLS_FAILURE_NO_CA, opts, login->host, advice, sizeof(advice));
            return sm_err_set(err, ROT_ERR_DB_TLS,
                              "not connecting to PostgreSQL at %s as \"%s\" (sslmode=%s): %s",
                              c->endpoint, c->user, sslmode, advice);
        }
    }
    int64_t left = sm_remaining_ms(opts->deadline_ms);
    if (left < ROT_PG_MIN_CONNECT_MS) {
        return sm_err_set(err, SM_ERR_DEADLINE,
                          "not connecting to PostgreSQL at %s as \"%s\": %lld ms left before the "
                          "invocation deadline",
                          c->endpoint, c->user, (long long)left);
    }
    int64_t timeout_ms =
        opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms : ROT_PG_DEFAULT_CONNECT_TIMEOUT_MS;
    bool by_deadline = false;
    int64_t until = pg_bound(timeout_ms, opts->deadline_ms, &by_deadline);
    int64_t attempt_ms = until - sm_monotonic_ms();

    /* statement_timeout: the ceiling, or less when the deadline is nearer. */
    c->statement_timeout_ms =
        left < ROT_PG_STATEMENT_TIMEOUT_MS ? (long)left : ROT_PG_STATEMENT_TIMEOUT_MS;
    snprintf(port, sizeof(port), "%d", login->port);
    /* Only used by blocking connects (we poll ourselves); libpq's floor is 2 s. */
    snprintf(connect_timeout, sizeof(connect_timeout), "%lld",
             (long long)(attempt_ms < 2000 ? 2 : (attempt_ms + 999) / 1000));
    snprintf(options, sizeof(options), "-c statement_timeout=%ld", c->statement_timeout_ms);

    const char *keys[24], *vals[24];
    size_t n = 0;
#define PG_KV(k, v) (keys[n] = (k), vals[n] = (v), n++)
    PG_KV("host", login->host);
    PG_KV("port", port);
    PG_KV("dbname", login->dbname != NULL && login->dbname[0] != '\0' ? login->dbname : "postgres");
    PG_KV("user", login->username);
    PG_KV("password", login->password);
    PG_KV("connect_timeout", connect_timeout);
    PG_KV("sslmode", sslmode);
    if (tls) {
        PG_KV("sslrootcert", opts->ca_file);
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

    pg = PQconnectStartParams(keys, vals, 0);
    if (pg == NULL) {
        sm_err_set(err, SM_ERR_NOMEM, "out of memory starting a PostgreSQL connection");
        goto out;
    }
    PQsetNoticeReceiver(pg, pg_notice, NULL);
    PostgresPollingStatusType st =
        PQstatus(pg) == CONNECTION_BAD ? PGRES_POLLING_FAILED : PGRES_POLLING_WRITING;
    while (st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED) {
        int ready = pg_wait_socket(pg, st == PGRES_POLLING_WRITING, false, until);
        if (ready == 0) {
            sm_err_set(err, by_deadline ? SM_ERR_DEADLINE : ROT_ERR_DB_UNREACHABLE,
                       "connecting to PostgreSQL at %s as \"%s\" (sslmode=%s): timeout expired "
                       "after %lld ms%s",
                       c->endpoint, c->user, sslmode, (long long)attempt_ms,
                       by_deadline ? " (invocation deadline)" : "");
            goto out;
        }
        if (ready < 0) {
            sm_err_set(err, ROT_ERR_DB_UNREACHABLE,
                       "connecting to PostgreSQL at %s as \"%s\": waiting on the socket failed",
                       c->endpoint, c->user);
            goto out;
        }
        st = PQconnectPoll(pg);
    }
    if (st == PGRES_POLLING_FAILED) {
        char scan[sizeof(text)];
        sm_str_one_line(PQerrorMessage(pg), text, sizeof(text));
        pg_blank_quoted(text, scan, sizeof(scan));
        enum pg_failure failure = pg_classify(scan, tls, PQconnectionUsedPassword(pg) != 0);
        *not_offered = tls && failure == PG_FAIL_TLS_NOT_OFFERED;
        if (pg_failure_code(failure) == ROT_ERR_DB_TLS) {
            pg_tls_error(c, opts, login->host, sslmode, failure, text, err);
        } else {
            sm_err_set(err, pg_failure_code(failure),
                       "connecting to PostgreSQL at %s as \"%s\" (sslmode=%s) failed: %s",
                       c->endpoint, c->user, sslmode, text);
        }
        goto out;
    }
    if (PQsetnonblocking(pg, 1) != 0) {
        sm_err_set(err, ROT_ERR_DB_UNREACHABLE,
                   "PostgreSQL at %s: cannot make the socket non-blocking", c->endpoint);
        goto out;
    }
    PQsetErrorVerbosity(pg, PQERRORS_TERSE);
    c->pg = pg;
    pg = NULL;
    status = 0;
out:
    PQfinish(pg); /* accepts NULL */
    return status;
}

static int pg_connect(const struct rot_login *login, const struct rot_connect_opts *opts,
                      struct rot_conn **out, struct sm_err *err) {
    struct rot_conn *c = NULL;
    int status = -1;
    bool not_offered = false;

    *out = NULL;
    pg_scrub_environment();
    if (login == NULL || opts == NULL || login->host == NULL || login->host[0] == '\0') {
        return sm_err_set(err, ROT_ERR_ROTATION, "PostgreSQL login without a host");
    }
    if (pg_check_name("user name", login->username, err) != 0) {
        return -1;
    }
    /* One TCP host only: libpq reads "a,b" as a host list and "/dir" or "@name" as a Unix socket,
     * where TLS doesn't apply. */
    if (login->host[0] == '/' || login->host[0] == '@' || strchr(login->host, ',') != NULL) {
        return sm_err_set(err, ROT_ERR_ROTATION,
                          "PostgreSQL host must be one TCP host name or address (no list, no "
                          "Unix socket path)");
    }
    if (login->port < 1 || login->port > 65535) {
        return sm_err_set(err, ROT_ERR_ROTATION, "PostgreSQL port %d is out of range", login->port);
    }

    c = sm_calloc(1, sizeof(*c));
    if (c == NULL) {
        return sm_err_set(err, SM_ERR_NOMEM, "out of memory");
    }
    c->deadline_ms = opts->deadline_ms;
    {
        char host[256];
        sm_str_printable(login->host, host, sizeof(host));
        snprintf(c->endpoint, sizeof(c->endpoint), "%s:%d", host, login->port);
    }
    sm_str_printable(login->username, c->user, sizeof(c->user));

    if (login->password == NULL || login->password[0] == '\0') {
        /* libpq would fall back to PGPASSWORD or a password file for an empty password. */
        sm_err_set(err, ROT_ERR_DB_LOGIN,
                   "not connecting to PostgreSQL at %s as \"%s\": the password is empty",
                   c->endpoint, c->user);
        goto out;
    }

    switch (login->tls) {
    case ROT_TLS_OFF:
        if (pg_connect_once(login, opts, false, c, &not_offered, err) != 0) {
            goto out;
        }
        break;
    case ROT_TLS_REQUIRED:
        if (pg_connect_once(login, opts, true, c, &not_offered, err) != 0) {
            goto out;
        }
        break;
    case ROT_TLS_AUTO:
    default:
        if (pg_connect_once(login, opts, true, c, &not_offered, err) != 0) {
            if (!not_offered) {
                goto out;
            }
            SM_WARN("PostgreSQL at %s does not offer TLS; connecting without TLS (the secret has "
                    "no \"ssl\" key)",
                    c->endpoint);
            if (pg_connect_once(login, opts, false, c, &not_offered, err) != 0) {
                goto out;
            }
        }
        break;
    }
    *out = c;
    c = NULL;
    status = 0;
out:
    sm_free(c);
    return status;
}

static void pg_disconnect(struct rot_conn *conn) {
    if (conn == NULL) {
        return;
    }
    PQfinish(conn->pg);
    sm_free(conn);
}

/* ---- statements ---------------------------------------------------------------------------- */

/* Runs one statement (with optional text parameters) and waits for its result, bounded by the
 * statement timeout and the invocation deadline. what names the statement in messages (never the
 * SQL itself, which may hold a verifier). On success *out (if not NULL) is the result, which the
 * caller frees with PQclear; otherwise the result is freed here. Returns 0 or -1 with err set:
 * ROT_ERR_DB_QUERY for a failed statement, ROT_ERR_DB_UNREACHABLE for a lost or silent server,
 * SM_ERR_DEADLINE. */
static int pg_exec(struct rot_conn *c, const char *sql, int nparams, const char *const *params,
                   const char *what, PGresult **out, struct sm_err *err) {
    PGresult *res = NULL, *extra = NULL;
    char text[ROT_PG_TEXT_MAX + 32];
    int status = -1;
    bool by_deadline = false;

    if (out != NULL) {
        *out = NULL;
    }
    if (c->deadline_ms != 0 && sm_remaining_ms(c->deadline_ms) <= 0) {
        return sm_err_set(err, SM_ERR_DEADLINE,
                          "PostgreSQL at %s: %s not started: invocation "
                          "deadline reached",
                          c->endpoint, what);
    }
    int64_t until =
        pg_bound(c->statement_timeout_ms + ROT_PG_RESULT_GRACE_MS, c->deadline_ms, &by_deadline);
    if (!PQsendQueryParams(c->pg, sql, nparams, NULL, params, NULL, NULL, 0)) {
        sm_str_one_line(PQerrorMessage(c->pg), text, sizeof(text));
        sm_err_set(err,
                   PQstatus(c->pg) == CONNECTION_BAD ? ROT_ERR_DB_UNREACHABLE : ROT_ERR_DB_QUERY,
                   "PostgreSQL at %s: %s could not be sent: %s", c->endpoint, what, text);
        goto out;
    }
    for (;;) {
        /* Send what is left, then read until a whole result is there. */
        int flush = PQflush(c->pg);
        if (flush < 0) {
            goto lost;
        }
        if (flush == 0 && !PQisBusy(c->pg)) {
            PGresult *r = PQgetResult(c->pg);
            if (r == NULL) {
                break;
            }
            if (res == NULL) {
                res = r;
            } else {
                PQclear(extra);
                extra = r;
            }
            continue;
        }
        int ready = pg_wait_socket(c->pg, flush == 1, true, until);
        if (ready == 0) {
            sm_err_set(err, by_deadline ? SM_ERR_DEADLINE : ROT_ERR_DB_UNREACHABLE,
                       "PostgreSQL at %s: no answer to %s within %lld ms%s", c->endpoint, what,
                       (long long)(c->statement_timeout_ms + ROT_PG_RESULT_GRACE_MS),
                       by_deadline ? " (invocation deadline)" : "");
            goto out;
        }
        if (ready < 0 || PQconsumeInput(c->pg) == 0) {
            goto lost;
        }
    }
    if (res == NULL) {
        goto lost;
    }
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        pg_result_text(res, c->pg, text, sizeof(text));
        sm_err_set(err,
                   PQstatus(c->pg) == CONNECTION_BAD ? ROT_ERR_DB_UNREACHABLE : ROT_ERR_DB_QUERY,
                   "PostgreSQL at %s as \"%s\": %s failed: %s", c->endpoint, c->user, what, text);
        goto out;
    }
    if (out != NULL) {
        *out = res;
        res = NULL;
    }
    status = 0;
    goto out;
lost:
    sm_str_one_line(PQerrorMessage(c->pg), text, sizeof(text));
    sm_err_set(err, ROT_ERR_DB_UNREACHABLE, "PostgreSQL at %s: connection lost during %s: %s",
               c->endpoint, what, text);
out:
    PQclear(res);
    PQclear(extra);
    return status;
}

/* Runs a query with parameters and tells whether it returned at least one row. */
static int pg_exists(struct rot_conn *c, const char *sql, int nparams, const char *const *params,
                     const char *what, bool *found, struct sm_err *err) {
    PGresult *res = NULL;
    if (pg_exec(c, sql, nparams, params, what, &res, err) != 0) {
        return -1;
    }
    *found = PQntuples(res) > 0;
    PQclear(res);
    return 0;
}

/* PQescapeIdentifier, copied into our (wiping) allocator. Caller frees with sm_free. */
static char *pg_ident(struct rot_conn *c, const char *name, struct sm_err *err) {
    char *q = PQescapeIdentifier(c->pg, name, strlen(name));
    char *copy = NULL;
    if (q == NULL) {
        char text[ROT_PG_TEXT_MAX];
        sm_str_one_line(PQerrorMessage(c->pg), text, sizeof(text));
        sm_err_set(err, ROT_ERR_ROTATION, "PostgreSQL: cannot quote a role name: %s", text);
        return NULL;
    }
    copy = sm_strdup(q);
    PQfreemem(q);
    if (copy == NULL) {
        sm_err_set(err, SM_ERR_NOMEM, "out of memory");
    }
    return copy;
}

/* PQescapeLiteral, copied into our allocator; the libpq copy is wiped. */
static char *pg_literal(struct rot_conn *c, const char *value, struct sm_err *err) {
    char *q = PQescapeLiteral(c->pg, value, strlen(value));
    char *copy = NULL;
    if (q == NULL) {
        char text[ROT_PG_TEXT_MAX];
        sm_str_one_line(PQerrorMessage(c->pg), text, sizeof(text));
        sm_err_set(err, ROT_ERR_ROTATION, "PostgreSQL: cannot quote a literal: %s", text);
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
static int pg_algorithm(struct rot_conn *c, char *algo, size_t cap, struct sm_err *err) {
    PGresult *res = NULL;
    if (s_password_encryption[0] != '\0') {
        snprintf(algo, cap, "%s", s_password_encryption);
        return 0;
    }
    if (pg_exec(c, "SHOW password_encryption", 0, NULL, "SHOW password_encryption", &res, err) !=
        0) {
        return -1;
    }
    if (PQntuples(res) != 1 || PQnfields(res) != 1 || PQgetisnull(res, 0, 0)) {
        PQclear(res);
        return sm_err_set(err, ROT_ERR_DB_QUERY,
                          "PostgreSQL at %s: SHOW password_encryption "
                          "returned no value",
                          c->endpoint);
    }
    snprintf(algo, cap, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return 0;
}

/* The escaped literal the password statement carries for role, in our allocator (the caller
 * frees it with sm_free, which wipes): the verifier computed client-side, or with
 * PASSWORD_ENCRYPTION=server the password itself, for the server to hash. Every intermediate
 * copy is wiped. */
static char *pg_password_literal(struct rot_conn *c, const char *role, const char *password,
                                 struct sm_err *err) {
    char algo[ROT_PG_ALGO_MAX];
    char *verifier = NULL, *lit = NULL;
    if (s_server_hashes) {
        return pg_literal(c, password, err);
    }
    if (pg_algorithm(c, algo, sizeof(algo), err) != 0) {
        return NULL;
    }
    verifier = PQencryptPasswordConn(c->pg, password, role, algo);
    if (verifier == NULL) {
        char text[ROT_PG_TEXT_MAX];
        sm_str_one_line(PQerrorMessage(c->pg), text, sizeof(text));
        sm_err_set(err, ROT_ERR_DB_QUERY,
                   "PostgreSQL: cannot compute the password verifier (algorithm %s): %s", algo,
                   text);
        return NULL;
    }
    lit = pg_literal(c, verifier, err);
    sm_wipe_str(verifier);
    PQfreemem(verifier);
    return lit;
}

/* ---- vtable functions ---------------------------------------------------------------------- */

static int pg_init(struct sm_err *err) {
    pg_scrub_environment();
    s_password_encryption[0] = '\0';
    s_server_hashes = false;
    s_owner_role[0] = '\0';

    const char *pe = getenv("PASSWORD_ENCRYPTION");
    if (pe != NULL && pe[0] != '\0') {
        if (strcasecmp(pe, "scram-sha-256") == 0) {
            snprintf(s_password_encryption, sizeof(s_password_encryption), "scram-sha-256");
        } else if (strcasecmp(pe, "md5") == 0) {
            snprintf(s_password_encryption, sizeof(s_password_encryption), "md5");
        } else if (strcasecmp(pe, "server") == 0) {
            s_server_hashes = true;
        } else {
            char shown[40];
            sm_str_printable(pe, shown, sizeof(shown));
            return sm_err_set(
                err, SM_ERR_CONFIG,
                "PASSWORD_ENCRYPTION must be \"scram-sha-256\", \"md5\" or \"server\", "
                "not \"%s\"",
                shown);
        }
    }
    const char *owner = getenv("PG_OWNER_ROLE");
    if (owner != NULL && owner[0] != '\0') {
        if (strlen(owner) > ROT_PG_MAX_NAME) {
            return sm_err_set(err, SM_ERR_CONFIG, "PG_OWNER_ROLE is longer than %d bytes",
                              ROT_PG_MAX_NAME);
        }
        snprintf(s_owner_role, sizeof(s_owner_role), "%s", owner);
    }
    return 0;
}

static size_t pg_max_username_length(const char *engine_value) {
    (void)engine_value;
    return ROT_PG_MAX_NAME;
}

static int pg_check(struct rot_conn *conn, struct sm_err *err) {
    PGresult *res = NULL;
    if (pg_exec(conn, "SELECT 1", 0, NULL, "SELECT 1", &res, err) != 0) {
        return -1;
    }
    bool ok = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "1") == 0;
    PQclear(res);
    if (!ok) {
        return sm_err_set(err, ROT_ERR_DB_QUERY, "PostgreSQL at %s: SELECT 1 returned no row",
                          conn->endpoint);
    }
    return 0;
}

/* PostgreSQL lets a role change its own password without the current one: current_password is
 * not used. */
static int pg_set_own_password(struct rot_conn *conn, const char *username,
                               const char *current_password, const char *new_password,
                               struct sm_err *err) {
    struct sm_buf sql;
    char *ident = NULL, *lit = NULL;
    int status = -1;

    (void)current_password;
    sm_buf_init(&sql, ROT_PG_SQL_MAX);
    if (pg_check_name("user name", username, err) != 0) {
        goto out;
    }
    if (new_password == NULL || new_password[0] == '\0') {
        sm_err_set(err, ROT_ERR_ROTATION, "refusing to set an empty PostgreSQL password");
        goto out;
    }
    /* A role whose sessions start with `SET role` (ALTER ROLE ... SET role) acts as that role; a
     * role may only change its own password as itself. */
    if (pg_exec(conn, "SET ROLE NONE", 0, NULL, "SET ROLE NONE", NULL, err) != 0) {
        goto out;
    }
    if ((ident = pg_ident(conn, username, err)) == NULL ||
        (lit = pg_password_literal(conn, username, new_password, err)) == NULL) {
        goto out;
    }
    if (sm_buf_appendf(&sql, err, "ALTER USER %s WITH PASSWORD %s", ident, lit) != 0 ||
        pg_exec(conn, sql.data, 0, NULL, "ALTER USER ... WITH PASSWORD", NULL, err) != 0) {
        goto out;
    }
    status = 0;
out:
    sm_buf_clean_up(&sql);
    sm_free(ident);
    sm_free(lit);
    return status;
}

/* Attributes of a role that the clone mirrors. */
struct pg_role {
    bool exists;
    bool login, inherit, createdb, createrole;
    long connlimit;
};

static int pg_role_get(struct rot_conn *c, const char *name, struct pg_role *r,
                       struct sm_err *err) {
    PGresult *res = NULL;
    const char *params[1] = {name};
    memset(r, 0, sizeof(*r));
    r->connlimit = -1;
    if (pg_exec(c,
                "SELECT rolcanlogin, rolinherit, rolcreatedb, rolcreaterole, rolconnlimit "
                "FROM pg_catalog.pg_roles WHERE rolname = $1",
                1, params, "reading the role from pg_roles", &res, err) != 0) {
        return -1;
    }
    if (PQntuples(res) == 1) {
        r->exists = true;
        r->login = PQgetvalue(res, 0, 0)[0] == 't';
        r->inherit = PQgetvalue(res, 0, 1)[0] == 't';
        r->createdb = PQgetvalue(res, 0, 2)[0] == 't';
        r->createrole = PQgetvalue(res, 0, 3)[0] == 't';
        r->connlimit = strtol(PQgetvalue(res, 0, 4), NULL, 10);
    }
    PQclear(res);
    return 0;
}

/* Whether member is a direct member of group. */
static int pg_is_member(struct rot_conn *c, const char *member, const char *group, bool *yes,
                        struct sm_err *err) {
    const char *params[2] = {member, group};
    return pg_exists(c,
                     "SELECT 1 FROM pg_catalog.pg_auth_members m "
                     "JOIN pg_catalog.pg_roles u ON u.oid = m.member "
                     "JOIN pg_catalog.pg_roles g ON g.oid = m.roleid "
                     "WHERE u.rolname = $1 AND g.rolname = $2",
                     2, params, "reading role memberships", yes, err);
}

/* Appends clause to the statement and, for a clone that exists, to the list of its changes. */
static int pg_add_change(struct sm_buf *sql, struct sm_buf *changes, const char *clause,
                         struct sm_err *err) {
    if (sql != NULL && sm_buf_appendf(sql, err, " %s", clause) != 0) {
        return -1;
    }
    if (changes != NULL &&
        sm_buf_appendf(changes, err, "%s%s", changes->len > 0 ? ", " : "", clause) != 0) {
        return -1;
    }
    return 0;
}

/* Appends the attribute clauses that make clone match original (only those that differ), noting
 * them in changes (NULL for a new clone). Returns how many, or -1. */
static int pg_append_attributes(struct sm_buf *sql, struct sm_buf *changes,
                                const struct pg_role *original, const struct pg_role *clone,
                                struct sm_err *err) {
    char limit[48];
    int n = 0;
    if (clone->exists && !clone->login) {
        /* The statement always says LOGIN: only the change is noted. */
        if (pg_add_change(NULL, changes, "LOGIN", err) != 0) {
            return -1;
        }
        n++;
    }
    if (!clone->inherit) {
        if (pg_add_change(sql, changes, "INHERIT", err) != 0) {
            return -1;
        }
        n++;
    }
    if (clone->createdb != original->createdb) {
        if (pg_add_change(sql, changes, original->createdb ? "CREATEDB" : "NOCREATEDB", err) != 0) {
            return -1;
        }
        n++;
    }
    if (clone->createrole != original->createrole) {
        if (pg_add_change(sql, changes, original->createrole ? "CREATEROLE" : "NOCREATEROLE",
                          err) != 0) {
            return -1;
        }
        n++;
    }
    if (clone->connlimit != original->connlimit) {
        snprintf(limit, sizeof(limit), "CONNECTION LIMIT %ld", original->connlimit);
        if (pg_add_change(sql, changes, limit, err) != 0) {
            return -1;
        }
        n++;
    }
    return n;
}

/* Makes role a member of owner (unless it is) and starts its sessions as owner (PG_OWNER_ROLE). */
static int pg_apply_owner(struct rot_conn *c, bool member, const char *role_ident,
                          const char *owner_ident, const char *owner_lit, struct sm_err *err) {
    struct sm_buf sql;
    int status = -1;
    sm_buf_init(&sql, ROT_PG_SQL_MAX);
    if (!member &&
        (sm_buf_appendf(&sql, err, "GRANT %s TO %s", owner_ident, role_ident) != 0 ||
         pg_exec(c, sql.data, 0, NULL, "GRANT <PG_OWNER_ROLE> TO <user>", NULL, err) != 0)) {
        goto out;
    }
    sm_buf_reset(&sql);
    if (sm_buf_appendf(&sql, err, "ALTER ROLE %s SET role = %s", role_ident, owner_lit) != 0 ||
        pg_exec(c, sql.data, 0, NULL, "ALTER ROLE <user> SET role = <PG_OWNER_ROLE>", NULL, err) !=
            0) {
        goto out;
    }
    status = 0;
out:
    sm_buf_clean_up(&sql);
    return status;
}

/* Checks the pair of users: valid names, two different ones, the target one of them. */
static int pg_check_users(const struct rot_user_pair *users, const char *password,
                          struct sm_err *err) {
    if (users == NULL || pg_check_name("user name", users->original, err) != 0 ||
        pg_check_name("alternate user name", users->clone, err) != 0 ||
        pg_check_name("user name to set the password of", users->target, err) != 0) {
        return -1;
    }
    if (strcmp(users->original, users->clone) == 0) {
        char shown[80];
        sm_str_printable(users->original, shown, sizeof(shown));
        return sm_err_set(err, ROT_ERR_ROTATION,
                          "PostgreSQL alternate user is the user itself (\"%s\")", shown);
    }
    if (strcmp(users->target, users->original) != 0 && strcmp(users->target, users->clone) != 0) {
        return sm_err_set(err, ROT_ERR_ROTATION,
                          "PostgreSQL: the user whose password is set must be the user or its "
                          "alternate");
    }
    if (password == NULL || password[0] == '\0') {
        return sm_err_set(err, ROT_ERR_ROTATION, "refusing to set an empty PostgreSQL password");
    }
    return 0;
}

static int pg_sync_alternate_user(struct rot_conn *admin, const struct rot_user_pair *users,
                                  const char *password, struct sm_err *err) {
    struct sm_buf sql, changes;
    char *orig_ident = NULL, *clone_ident = NULL, *lit = NULL, *owner_ident = NULL;
    char *owner_lit = NULL;
    struct pg_role orig, clone;
    bool in_tx = false, clone_in_orig = false, orig_in_clone = false;
    bool orig_in_owner = false, clone_in_owner = false;
    char orig_shown[80], clone_shown[80];
    int status = -1;

    sm_buf_init(&sql, ROT_PG_SQL_MAX);
    sm_buf_init(&changes, 1024);
    if (pg_check_users(users, password, err) != 0) {
        goto out;
    }
    bool target_is_clone = strcmp(users->target, users->clone) == 0;
    sm_str_printable(users->original, orig_shown, sizeof(orig_shown));
    sm_str_printable(users->clone, clone_shown, sizeof(clone_shown));
    if ((orig_ident = pg_ident(admin, users->original, err)) == NULL ||
        (clone_ident = pg_ident(admin, users->clone, err)) == NULL) {
        goto out;
    }
    if (pg_exec(admin, "BEGIN", 0, NULL, "BEGIN", NULL, err) != 0) {
        goto out;
    }
    in_tx = true;

    if (s_owner_role[0] != '\0') {
        bool found = false;
        const char *params[1] = {s_owner_role};
        char shown[80];
        sm_str_printable(s_owner_role, shown, sizeof(shown));
        if (strcmp(s_owner_role, users->original) == 0 || strcmp(s_owner_role, users->clone) == 0) {
            sm_err_set(err, SM_ERR_CONFIG,
                       "PG_OWNER_ROLE \"%s\" must be a role of its own, not one of the rotated "
                       "users",
                       shown);
            goto out;
        }
        if (pg_exists(admin, "SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1", 1, params,
                      "looking up PG_OWNER_ROLE", &found, err) != 0) {
            goto out;
        }
        if (!found) {
            sm_err_set(err, SM_ERR_CONFIG,
                       "PG_OWNER_ROLE \"%s\" does not exist on PostgreSQL at %s (create it, "
                       "typically NOLOGIN, owning the application's schema)",
                       shown, admin->endpoint);
            goto out;
        }
        if ((owner_ident = pg_ident(admin, s_owner_role, err)) == NULL ||
            (owner_lit = pg_literal(admin, s_owner_role, err)) == NULL ||
            pg_is_member(admin, users->original, s_owner_role, &orig_in_owner, err) != 0) {
            goto out;
        }
    }

    if (pg_role_get(admin, users->original, &orig, err) != 0 ||
        pg_role_get(admin, users->clone, &clone, err) != 0) {
        goto out;
    }
    if (!orig.exists) {
        sm_err_set(err, ROT_ERR_ROTATION, "PostgreSQL role \"%s\" does not exist at %s", orig_shown,
                   admin->endpoint);
        goto out;
    }
    if (clone.exists) {
        if (pg_is_member(admin, users->original, users->clone, &orig_in_clone, err) != 0 ||
            pg_is_member(admin, users->clone, users->original, &clone_in_orig, err) != 0 ||
            (owner_ident != NULL &&
             pg_is_member(admin, users->clone, s_owner_role, &clone_in_owner, err) != 0)) {
            goto out;
        }
        /* The clone inherits through membership: the other way round would make a cycle. */
        if (orig_in_clone) {
            sm_err_set(err, ROT_ERR_ROTATION,
                       "PostgreSQL role \"%s\" is a member of its alternate \"%s\"; alternating "
                       "users needs \"%s\" to be a member of \"%s\" instead (REVOKE the first)",
                       orig_shown, clone_shown, clone_shown, orig_shown);
            goto out;
        }
    }
    if (target_is_clone &&
        (lit = pg_password_literal(admin, users->clone, password, err)) == NULL) {
        goto out;
    }

    /* 1. The clone: created, or brought in line with the original; its password if it is the
     * target. A new clone that is not the target gets no password (no password login). */
    struct sm_buf *noted = clone.exists ? &changes : NULL;
    if (sm_buf_appendf(&sql, err, "%s ROLE %s WITH LOGIN", clone.exists ? "ALTER" : "CREATE",
                       clone_ident) != 0 ||
        (target_is_clone && sm_buf_appendf(&sql, err, " PASSWORD %s", lit) != 0)) {
        goto out;
    }
    int attributes = pg_append_attributes(&sql, noted, &orig, &clone, err);
    if (attributes < 0) {
        goto out;
    }
    char grant[4 * ROT_PG_MAX_NAME + 64]; /* two quoted identifiers */
    if (clone.exists && !clone_in_orig) {
        snprintf(grant, sizeof(grant), "GRANT %s TO %s", orig_ident, clone_ident);
        if (pg_add_change(NULL, noted, grant, err) != 0) {
            goto out;
        }
    }
    if (clone.exists && owner_ident != NULL && !clone_in_owner) {
        snprintf(grant, sizeof(grant), "GRANT %s TO %s", owner_ident, clone_ident);
        if (pg_add_change(NULL, noted, grant, err) != 0) {
            goto out;
        }
    }
    if (changes.len > 0) {
        char line[SM_ERR_MSG_MAX];
        sm_str_one_line(changes.data, line, sizeof(line));
        SM_WARN("alternating users: PostgreSQL role \"%s\" already exists; changing it to match "
                "\"%s\": %s",
                clone_shown, orig_shown, line);
    }
    if (!clone.exists || target_is_clone || attributes > 0) {
        if (pg_exec(admin, sql.data, 0, NULL,
                    clone.exists ? "ALTER ROLE <alternate> WITH LOGIN"
                                 : "CREATE ROLE <alternate> WITH LOGIN",
                    NULL, err) != 0) {
            goto out;
        }
    }
    sm_buf_reset(&sql);
    if (!clone_in_orig &&
        (sm_buf_appendf(&sql, err, "GRANT %s TO %s", orig_ident, clone_ident) != 0 ||
         pg_exec(admin, sql.data, 0, NULL, "GRANT <user> TO <alternate>", NULL, err) != 0)) {
        goto out;
    }
    if (owner_ident != NULL &&
        (pg_apply_owner(admin, orig_in_owner, orig_ident, owner_ident, owner_lit, err) != 0 ||
         pg_apply_owner(admin, clone_in_owner, clone_ident, owner_ident, owner_lit, err) != 0)) {
        goto out;
    }

    /* 2. The original's password, when it is the target. */
    if (!target_is_clone) {
        sm_buf_reset(&sql);
        if ((lit = pg_password_literal(admin, users->original, password, err)) == NULL ||
            sm_buf_appendf(&sql, err, "ALTER ROLE %s WITH LOGIN PASSWORD %s", orig_ident, lit) !=
                0 ||
            pg_exec(admin, sql.data, 0, NULL, "ALTER ROLE <user> WITH LOGIN PASSWORD", NULL, err) !=
                0) {
            goto out;
        }
    }
    if (pg_exec(admin, "COMMIT", 0, NULL, "COMMIT", NULL, err) != 0) {
        goto out;
    }
    in_tx = false;
    status = 0;
out:
    if (in_tx) {
        struct sm_err ignored;
        sm_err_clear(&ignored);
        (void)pg_exec(admin, "ROLLBACK", 0, NULL, "ROLLBACK", NULL, &ignored);
    }
    sm_buf_clean_up(&sql);
    sm_buf_clean_up(&changes);
    sm_free(orig_ident);
    sm_free(clone_ident);
    sm_free(lit);
    sm_free(owner_ident);
    sm_free(owner_lit);
    return status;
}

const struct rot_engine rot_engine_postgres = {
    .name = "postgres",
    .display_name = "PostgreSQL",
    .engine_values = s_engine_values,
    .default_port = 5432,
    .default_exclude_characters = ":/@\"'\\",
    .init = pg_init,
    .max_username_length = pg_max_username_length,
    .connect = pg_connect,
    .disconnect = pg_disconnect,
    .check = pg_check,
    .set_own_password = pg_set_own_password,
    .sync_alternate_user = pg_sync_alternate_user,
};
