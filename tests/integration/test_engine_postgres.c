/*
 * Integration tests of the PostgreSQL engine plugin against the real servers started by
 * tests/scripts/postgres.sh (fixture `postgres`): a TLS instance (PG_PORT) and one that does not
 * offer TLS (PG_PORT_NOTLS), both logging every statement. Each test creates its own roles, named
 * after a token unique to the process (pid and random bits: the server log outlives processes and
 * is shared with the valgrind twins), and drops them at the end. Timing: the error code says which
 * limit fired; elapsed times are checked only against bounds that follow from our own arithmetic
 * (never less than the timeout we asked for) and against generous "does not hang" ceilings.
 */
#include "clock.h"
#include "db_tls.h"
#include "engine.h"
#include "err.h"
#include "harness.h"
#include "log.h"
#include "mem.h"
#include "paths.h"

#include <libpq-fe.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

static const struct rot_engine *const E = &rot_engine_postgres;

/* ---- fixture environment ------------------------------------------------------------------- */

#define ENV_MAX 32
static char s_keys[ENV_MAX][64];
static char s_vals[ENV_MAX][512];
static int s_nenv = -1;

static const char *env(const char *key) {
    if (s_nenv < 0) {
        char path[1024];
        const char *state = getenv("SMR_STATE_DIR");
        if (state == NULL) {
            SM_FAIL("SMR_STATE_DIR is not set (run through ctest)");
        }
        snprintf(path, sizeof(path), "%s/postgres/postgres.env", state);
        FILE *f = fopen(path, "r");
        if (f == NULL) {
            SM_FAIL("cannot open %s: is the postgres fixture running?", path);
        }
        char line[700];
        s_nenv = 0;
        while (fgets(line, sizeof(line), f) != NULL && s_nenv < ENV_MAX) {
            line[strcspn(line, "\r\n")] = '\0';
            char *eq = strchr(line, '=');
            if (eq == NULL) {
                continue;
            }
            *eq = '\0';
            snprintf(s_keys[s_nenv], sizeof(s_keys[0]), "%.63s", line);
            snprintf(s_vals[s_nenv], sizeof(s_vals[0]), "%.511s", eq + 1);
            s_nenv++;
        }
        fclose(f);
    }
    for (int i = 0; i < s_nenv; i++) {
        if (strcmp(s_keys[i], key) == 0) {
            return s_vals[i];
        }
    }
    SM_FAIL("%s missing from postgres.env", key);
}

static int port_tls(void) {
    return (int)strtol(env("PG_PORT"), NULL, 10);
}

static int port_notls(void) {
    return (int)strtol(env("PG_PORT_NOTLS"), NULL, 10);
}

/* "<pid>_<8 hex digits>", the same for the whole process: unique among the test processes of a
 * run and of earlier runs whose roles and log lines the fixture still holds (a pid alone comes
 * back once the kernel wraps around). */
static const char *run_token(void) {
    static char token[32];
    if (token[0] == '\0') {
        uint32_t r = 0;
        if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
            SM_FAIL("getrandom failed");
        }
        snprintf(token, sizeof(token), "%ld_%08" PRIx32, (long)getpid(), r);
    }
    return token;
}

/* A unique name for this test process: prefix + run_token() + suffix. */
static const char *uniq(char *buf, size_t cap, const char *prefix, const char *suffix) {
    snprintf(buf, cap, "%s%s%s", prefix, run_token(), suffix);
    return buf;
}

static struct rot_login login(int port, const char *user, const char *password, enum rot_tls tls) {
    struct rot_login l = {.host = env("PG_HOST"),
                          .port = port,
                          .dbname = NULL,
                          .username = user,
                          .password = password,
                          .tls = tls};
    return l;
}

/* Connects that should work get 30 s: a guard against a hang, never a limit a slow run (TLS and
 * SCRAM under valgrind on loaded cores) could reach. The timeout tests set their own. */
static struct rot_connect_opts opts_ca(const char *ca) {
    struct rot_connect_opts o = {.ca_file = ca, .connect_timeout_ms = 30000, .deadline_ms = 0};
    return o;
}

static struct rot_connect_opts opts(void) {
    return opts_ca(env("PG_CA_FILE"));
}

/* ---- direct libpq access for setup and checks ---------------------------------------------- */

static PGconn *raw_connect(int port, const char *user, const char *password) {
    char portstr[16];
    snprintf(portstr, sizeof(portstr), "%d", port);
    const char *k[] = {"host",    "port",       "dbname",          "user", "password",
                       "sslmode", "gssencmode", "connect_timeout", NULL};
    const char *v[] = {env("PG_HOST"), portstr,   "postgres", user, password,
                       "disable",      "disable", "30",       NULL};
    return PQconnectdbParams(k, v, 0);
}

static PGconn *admin(int port) {
    PGconn *c = raw_connect(port, env("PG_ADMIN_USER"), env("PG_ADMIN_PASSWORD"));
    if (PQstatus(c) != CONNECTION_OK) {
        SM_FAIL("admin login failed: %s", PQerrorMessage(c));
    }
    return c;
}

/* Runs SQL (may hold test passwords: never printed) with optional parameters; fails the test on
 * error. Returns the result (PQclear it). */
static PGresult *sqlp(PGconn *c, const char *sql, int n, const char *const *params) {
    PGresult *r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        SM_FAIL("statement failed: %s", PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY));
    }
    return r;
}

static void sqlf(PGconn *c, const char *fmt, ...) SM_PRINTF(2, 3);
static void sqlf(PGconn *c, const char *fmt, ...) {
    char sql[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof(sql), fmt, ap);
    va_end(ap);
    PQclear(sqlp(c, sql, 0, NULL));
}

/* One value of a one-row query with one text parameter; "" when there is no row. */
static void sql_value(PGconn *c, const char *sql, const char *param, char *out, size_t cap) {
    const char *params[1] = {param};
    PGresult *r = sqlp(c, sql, param ? 1 : 0, params);
    snprintf(out, cap, "%s", PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "");
    PQclear(r);
}

static char *ident(PGconn *c, const char *name) {
    static char bufs[4][256];
    static int next;
    char *q = PQescapeIdentifier(c, name, strlen(name));
    char *out = bufs[next++ % 4];
    snprintf(out, sizeof(bufs[0]), "%s", q);
    PQfreemem(q);
    return out;
}

static char *literal(PGconn *c, const char *value) {
    static char bufs[4][512];
    static int next;
    char *q = PQescapeLiteral(c, value, strlen(value));
    char *out = bufs[next++ % 4];
    snprintf(out, sizeof(bufs[0]), "%s", q);
    PQfreemem(q);
    return out;
}

static void create_user(PGconn *a, const char *name, const char *password) {
    sqlf(a, "CREATE ROLE %s LOGIN PASSWORD %s", ident(a, name), literal(a, password));
}

static void drop_role(PGconn *a, const char *name) {
    char sql[600];
    const char *params[1] = {name};
    PGresult *r = PQexecParams(a, "SELECT 1 FROM pg_roles WHERE rolname = $1", 1, NULL, params,
                               NULL, NULL, 0);
    bool exists = PQntuples(r) > 0;
    PQclear(r);
    if (!exists) {
        return;
    }
    snprintf(sql, sizeof(sql), "DROP OWNED BY %s CASCADE", ident(a, name));
    PQclear(PQexec(a, sql));
    snprintf(sql, sizeof(sql), "DROP ROLE %s", ident(a, name));
    PQclear(PQexec(a, sql));
}

/* Whether user can log in with password (plaintext, direct libpq). */
static bool can_login(int port, const char *user, const char *password) {
    PGconn *c = raw_connect(port, user, password);
    bool ok = PQstatus(c) == CONNECTION_OK;
    PQfinish(c);
    return ok;
}

/* Whether the open session of user uses TLS, and its application_name. */
static void session_info(PGconn *a, const char *user, char *ssl, char *app, size_t cap) {
    const char *params[1] = {user};
    PGresult *r = sqlp(a,
                       "SELECT s.ssl::text, a.application_name FROM pg_stat_activity a "
                       "JOIN pg_stat_ssl s USING (pid) WHERE a.usename = $1",
                       1, params);
    if (PQntuples(r) != 1) {
        SM_FAIL("expected one session of the test user, found %d", PQntuples(r));
    }
    snprintf(ssl, cap, "%s", PQgetvalue(r, 0, 0));
    snprintf(app, cap, "%s", PQgetvalue(r, 0, 1));
    PQclear(r);
}

static char *read_log(const char *key) {
    return sm_test_read_file(env(key), NULL);
}

/* The log line holding both needles, or NULL. Modifies text (splits it into lines). */
static const char *log_line_with(char *text, const char *a, const char *b) {
    char *line = text;
    while (line != NULL && *line != '\0') {
        char *nl = strchr(line, '\n');
        if (nl != NULL) {
            *nl = '\0';
        }
        if (strstr(line, a) != NULL && strstr(line, b) != NULL) {
            return line;
        }
        line = nl != NULL ? nl + 1 : NULL;
    }
    return NULL;
}

/* How many lines of text hold both a and b. */
static int count_lines_with(const char *text, const char *a, const char *b) {
    int n = 0;
    for (const char *line = text; *line != '\0';) {
        const char *end = strchr(line, '\n');
        size_t len = end != NULL ? (size_t)(end - line) : strlen(line);
        const char *pa = strstr(line, a), *pb = strstr(line, b);
        n += pa != NULL && pb != NULL && pa < line + len && pb < line + len;
        line += len + (end != NULL);
    }
    return n;
}

/* How often needle occurs in text. */
static int count_of(const char *text, const char *needle) {
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle)) {
        n++;
    }
    return n;
}

/* A TCP port on 127.0.0.1 that refuses connections: a socket bound to it and not listening (the
 * kernel answers a SYN with RST). The port stays ours until the test closes *fd_out, so no other
 * process can take it in between. */
static int closed_port(int *fd_out) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    socklen_t len = sizeof(sa);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    SM_ASSERT(fd >= 0);
    SM_ASSERT(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    SM_ASSERT(getsockname(fd, (struct sockaddr *)&sa, &len) == 0);
    *fd_out = fd;
    return ntohs(sa.sin_port);
}

/* A listener that completes the TCP handshake (kernel backlog) and never says a word. */
static int silent_listener(int *fd_out) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    socklen_t len = sizeof(sa);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    SM_ASSERT(fd >= 0);
    SM_ASSERT(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    SM_ASSERT(listen(fd, 16) == 0);
    SM_ASSERT(getsockname(fd, (struct sockaddr *)&sa, &len) == 0);
    *fd_out = fd;
    return ntohs(sa.sin_port);
}

/* Whether any TCP connection reached the listener fd (a non-blocking accept finds one). On
 * loopback the kernel completes the handshake within connect() itself, so a client that
 * connected before this call has its connection queued by now. */
static bool listener_was_reached(int fd) {
    int flags = fcntl(fd, F_GETFL);
    SM_ASSERT(flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0);
    int c = accept(fd, NULL, NULL);
    if (c >= 0) {
        close(c);
        return true;
    }
    SM_ASSERT(errno == EAGAIN || errno == EWOULDBLOCK);
    return false;
}

/* "Does not hang": a ceiling far above the slowest run (valgrind on two loaded cores), far below
 * the limits the timing tests set aside (a 30 s connect timeout, ctest's own timeout). */
#define HANG_GUARD_MS 15000

/* Connects with the engine and expects failure with code; returns the elapsed ms. */
static int64_t expect_connect_fails(const struct rot_login *l, const struct rot_connect_opts *o,
                                    const struct sm_code *code, struct sm_err *err) {
    struct rot_conn *conn = NULL;
    int64_t t0 = sm_monotonic_ms();
    int rc = E->connect(l, o, &conn, err);
    int64_t elapsed = sm_monotonic_ms() - t0;
    if (rc == 0) {
        E->disconnect(conn);
        SM_FAIL("connect succeeded, expected %s", sm_code_name(code));
    }
    SM_ASSERT(conn == NULL);
    if (err->code != code) {
        SM_FAIL("expected %s, got [%s] %s", sm_code_name(code), sm_code_name(err->code), err->msg);
    }
    return elapsed;
}

/* sync_alternate_user with the users spelled out. */
static int sync_users(struct rot_conn *conn, const char *original, const char *clone,
                      const char *target, const char *password, struct sm_err *err) {
    struct rot_user_pair users = {.original = original, .clone = clone, .target = target};
    return E->sync_alternate_user(conn, &users, password, err);
}

/* Log capture: the engine's WARN lines. */
static FILE *s_log;

static void log_capture_begin(void) {
    s_log = tmpfile();
    SM_ASSERT(s_log != NULL);
    sm_log_configure(false, SM_LOG_INFO);
    sm_log_set_stream(s_log);
}

/* The lines logged since log_capture_begin (malloc'd; free). */
static char *log_capture_end(void) {
    sm_log_set_stream(NULL);
    long n = ftell(s_log);
    char *text = calloc(1, (size_t)n + 1);
    SM_ASSERT(text != NULL);
    rewind(s_log);
    SM_ASSERT(fread(text, 1, (size_t)n, s_log) == (size_t)n);
    fclose(s_log);
    return text;
}

/* ---- registry and static properties -------------------------------------------------------- */

SM_TEST(pg_engine_registry_serves_postgres_and_aurora_postgresql) {
    SM_ASSERT(rot_engine_find(rot_engines, "postgres") == E);
    SM_ASSERT(rot_engine_find(rot_engines, "aurora-postgresql") == E);
    SM_ASSERT(rot_engine_find(rot_engines, "aurora-mysql") != E);
    SM_ASSERT_STR_EQ(E->display_name, "PostgreSQL");
    SM_ASSERT_INT_EQ(E->default_port, 5432);
    SM_ASSERT_STR_EQ(E->default_exclude_characters, ":/@\"'\\");
    SM_ASSERT_INT_EQ(E->max_username_length("postgres"), 63);
    SM_ASSERT_INT_EQ(E->max_username_length("aurora-postgresql"), 63);
}

/* ---- login and errors ---------------------------------------------------------------------- */

SM_TEST(pg_engine_login_works_and_check_succeeds) {
    struct sm_err err;
    struct rot_conn *conn = NULL;
    struct rot_login l =
        login(port_tls(), env("PG_ADMIN_USER"), env("PG_ADMIN_PASSWORD"), ROT_TLS_REQUIRED);
    struct rot_connect_opts o = opts();
    SM_ASSERT_OK(E->connect(&l, &o, &conn, &err), err);
    SM_ASSERT_OK(E->check(conn, &err), err);
    E->disconnect(conn);
    E->disconnect(NULL);
}

SM_TEST(pg_engine_wrong_password_is_db_login_with_server_text) {
    struct sm_err err;
    const char *bad = "Wr0ng-Passw0rd-xyzzy";
    struct rot_login l = login(port_tls(), env("PG_ADMIN_USER"), bad, ROT_TLS_REQUIRED);
    struct rot_connect_opts o = opts();
    expect_connect_fails(&l, &o, ROT_ERR_DB_LOGIN, &err);
    SM_ASSERT_STR_CONTAINS(err.msg, env("PG_ADMIN_USER"));
    char endpoint[64];
    snprintf(endpoint, sizeof(endpoint), "127.0.0.1:%d", port_tls());
    SM_ASSERT_STR_CONTAINS(err.msg, endpoint);
    SM_ASSERT_STR_NOT_CONTAINS(err.msg, bad);
    SM_ASSERT(strchr(err.msg, '\n') == NULL);
}

SM_TEST(pg_engine_unknown_user_is_db_login_whatever_its_name_says) {
    struct sm_err err;
    char user[64];
    struct rot_login l =
        login(port_tls(), uniq(user, sizeof(user), "smr_nobody_", ""), "whatever1", ROT_TLS_OFF);
    struct rot_connect_opts o = opts();
    expect_connect_fails(&l, &o, ROT_ERR_DB_LOGIN, &err);
    SM_ASSERT_STR_NOT_CONTAINS(err.msg, "whatever1");
    /* A name that reads like a TLS or network error is still a login failure. */
    l.username = uniq(user, sizeof(user), "SSL error: certificate Connection refused ", "");
    l.tls = ROT_TLS_REQUIRED;
    expect_connect_fails(&l, &o, ROT_ERR_DB_LOGIN, &err);
}

SM_TEST(pg_engine_empty_password_is_refused_without_connecting) {
    struct sm_err err;
    setenv("PGPASSWORD", env("PG_ADMIN_PASSWORD"), 1);
    struct rot_login l = login(port_tls(), env("PG_ADMIN_USER"), "", ROT_TLS_OFF);
    struct rot_connect_opts o = opts();
    expect_connect_fails(&l, &o, ROT_ERR_DB_LOGIN, &err);
    SM_ASSERT_STR_CONTAINS(err.msg, "empty");
}

SM_TEST(pg_engine_closed_port_is_db_unreachable_fast) {
    struct sm_err err;
    int fd = -1;
    struct rot_login l =
        login(closed_port(&fd), env("PG_ADMIN_USER"), env("PG_ADMIN_PASSWORD"), ROT_TLS_REQUIRED);
    struct rot_connect_opts o = opts();
    o.connect_timeout_ms = 30000;
    int64_t ms = expect_connect_fails(&l, &o, ROT_ERR_DB_UNREACHABLE, &err);
    /* The refusal ended it, not the 30 s timeout. */
    SM_ASSERT_STR_NOT_CONTAINS(err.msg, "timeout expired");
    if (ms >= HANG_GUARD_MS) {
        SM_FAIL("a refused connection took %lld ms to fail (connect timeout 30 s)", (long long)ms);
    }
    close(fd);
}

SM_TEST(pg_engine_silent_listener_fails_within_connect_timeout) {
    struct sm_err err;
    int fd = -1;
    struct rot_login l = login(silent_listener(&fd), env("PG_ADMIN_USER"), env("PG_ADMIN_PASSWORD"),
                               ROT_TLS_REQUIRED);
    struct rot_connect_opts o = opts();
    o.connect_timeout_ms = 1500;
    int64_t ms = expect_connect_fails(&l, &o, ROT_ERR_DB_UNREACHABLE, &err);
    SM_ASSERT_STR_CONTAINS(err.msg, "timeout expired");
    SM_ASSERT_STR_NOT_CONTAINS(err.msg, "invocation deadline");
    /* The engine waits on the monotonic clock until start + 1500 ms: never less. */
    if (ms < 1500 || ms >= HANG_GUARD_MS) {
        SM_FAIL("connect gave up after %lld ms (connect timeout 1500 ms)", (long long)ms);
    }
    close(fd);
}

SM_TEST(pg_engine_silent_listener_is_bounded_by_the_deadline) {
    struct sm_err err;
    int fd = -1;
    struct rot_login l =
        login(silent_listener(&fd), env("PG_ADMIN_USER"), env("PG_ADMIN_PASSWORD"), ROT_TLS_AUTO);
    struct rot_connect_opts o = opts();
    o.connect_timeout_ms = 30000;
    /* 2500 ms: the engine starts an attempt with 1000 ms or more left, which leaves 1500 ms for
     * getting there however slow the machine. */
    o.deadline_ms = sm_now_ms() + 2500;
    int64_t ms = expect_connect_fails(&l, &o, SM_ERR_DEADLINE, &err);
    SM_ASSERT_STR_CONTAINS(err.msg, "(invocation deadline)");
    /* The message gives the wait the engine set (the time left before the deadline, so at most
     * 2500 ms instead of 30 s): it waited at least that long, on the monotonic clock. */
    const char *after = strstr(err.msg, "timeout expired after ");
    SM_ASSERT(after != NULL);
    long long waited = strtoll(after + strlen("timeout expired after "), NULL, 10);
    if (waited <= 0 || waited > 2500 || ms < waited || ms >= HANG_GUARD_MS) {
        SM_FAIL("connect gave up after %lld ms, having set a %lld ms wait (deadline in 2500 ms, "
                "connect timeout 30 s)",
                (long long)ms, waited);
    }
    close(fd);
}

SM_TEST(pg_engine_deadline_passed_fails_before_connecting) {
    struct sm_err err;
    int fd = -1;
    /* A listener as the target: had the engine tried, the connection would be in its queue. */
    struct rot_login l = login(silent_listener(&fd), env("PG_ADMIN_USER"), env("PG_ADMIN_PASSWORD"),
                               ROT_TLS_REQUIRED);
    struct rot_connect_opts o = opts();
    o.deadline_ms = sm_now_ms() - 1000;
    expect_connect_fails(&l, &o, SM_ERR_DEADLINE, &err);
    SM_ASSERT_STR_CONTAINS(err.msg, "not connecting");
    SM_ASSERT(!listener_was_reached(fd));
    /* Less than a second left is not enough to start either. */
    o.deadline_ms = sm_now_ms() + 500;
    expect_connect_fails(&l, &o, SM_ERR_DEADLINE, &err);
    SM_ASSERT_STR_CONTAINS(err.msg, "not connecting");
    SM_ASSERT(!listener_was_reached(fd));
    close(fd);
}

/* ---- TLS ----------------------------------------------------------------------------------- */

SM_TEST(pg_engine_tls_required_with_test_ca_uses_verified_tls) {
    struct sm_err err;
    struct rot_conn *conn = NULL;
    char user[64], ssl[16], app[64];
    PGconn *a = admin(port_tls());
    uniq(user, sizeof(user), "smr_tlsreq_", "");
    create_user(a, user, "tls-pass-1");
    struct rot_login l = login(port_tls(), user, "tls-pass-1", ROT_TLS_REQUIRED);
    struct rot_connect_opts o = opts();
    SM_ASSERT_OK(E->connect(&l, &o, &conn, &err), err);
    session_info(a, user, ssl, app, sizeof(ssl));
    SM_ASSERT_STR_EQ(ssl, "true");
    SM_ASSERT_STR_EQ(app, "smrotate");
    E->disconnect(conn);
    /* The certificate names localhost too. */
    l.host = "localhost";
    SM_ASSERT_OK(E->connect(&l, &o, &conn, &err), err);
    E->disconnect(conn);
    drop_role(a, user);
    PQfinish(a);
}

SM_TEST(pg_engine_tls_required_against_server_without_tls_is_db_tls) {
    struct sm_err err;
    struct rot_login l =
        login(port_notls(), env("PG_ADMIN_USER"), env("PG_ADMIN_PASSWORD"), ROT_TLS_REQUIRED);
    struct rot_connect_opts o = opts();
    expect_connect_fails(&l, &o, ROT_ERR_DB_TLS, &err);
    SM_ASSERT_STR_CONTAINS(err.msg, "does not offer TLS");
}

SM_TEST(pg_engine_tls_required_with_wrong_ca_is_db_tls) {
    struct sm_err err;
    struct rot_login l =
        login(port_tls(), env("PG_ADMIN_USER"), env("PG_ADMIN_PASSWORD"), ROT_TLS_REQUIRED);
    struct rot_connect_opts o = opts_ca(env("PG_BAD_CA_FILE"));
    expect_connect_fails(&l, &o, ROT_ERR_DB_TLS, &err);
    /* The message says which setting would apply, and names the bundle. */
    SM_ASSERT_STR_CONTAINS(err.msg, "SMROTATE_DB_CA_FILE");
    SM_ASSERT_STR_CONTAINS(err.msg, env("PG_BAD_CA_FILE"));
}

SM_TEST(pg_engine_tls_host_name_mismatch_is_db_tls_without_downgrade) {
    struct sm_err err;
    struct rot_login l =
        login(port_tls(), env("PG_ADMIN_USER"), env("PG_ADMIN_PASSWORD"), ROT_TLS_AUTO);
    struct rot_connect_opts o = opts();
    l.host = env("PG_HOST_MISMATCH");
    expect_connect_fails(&l, &o, ROT_ERR_DB_TLS, &err);
    SM_ASSERT_STR_CONTAINS(err.msg, "SMROTATE_DB_TLS_VERIFY=ca");
    SM_ASSERT_STR_CONTAINS(err.msg, env("PG_HOST_MISMATCH"));
    l.tls = ROT_TLS_REQUIRED;
    expect_connect_fails(&l, &o, ROT_ERR_DB_TLS, &err);
}

SM_TEST(pg_engine_tls_auto_with_wrong_ca_is_db_tls_without_downgrade) {
    struct sm_err err;
    /* The TLS instance also accepts plaintext logins: a downgrade would succeed. */
    struct rot_login l =
        login(port_tls(), env("PG_ADMIN_USER"), env("PG_ADMIN_PASSWORD"), ROT_TLS_AUTO);
    struct rot_connect_opts o = opts_ca(env("PG_BAD_CA_FILE"));
    expect_connect_fails(&l, &o, ROT_ERR_DB_TLS, &err);
    SM_ASSERT_STR_CONTAINS(err.msg, "SMROTATE_DB_CA_FILE");
}

SM_TEST(pg_engine_tls_auto_with_missing_ca_file_is_db_tls) {
    struct sm_err err;
    struct rot_login l =
        login(port_tls(), env("PG_ADMIN_USER"), env("PG_ADMIN_PASSWORD"), ROT_TLS_AUTO);
    struct rot_connect_opts o = opts_ca("/nonexistent/smrotate-ca.pem");
    expect_connect_fails(&l, &o, ROT_ERR_DB_TLS, &err);
}

SM_TEST(pg_engine_tls_without_a_ca_bundle_is_db_tls_naming_the_setting) {
    struct sm_err err;
    struct rot_conn *conn = NULL;
    struct rot_login l =
        login(port_tls(), env("PG_ADMIN_USER"), env("PG_ADMIN_PASSWORD"), ROT_TLS_AUTO);
    struct rot_connect_opts o = opts_ca(NULL);
    /* No bundle at all (none packaged, no system store): TLS fails, never a library default. */
    expect_connect_fails(&l, &o, ROT_ERR_DB_TLS, &err);
    SM_ASSERT_STR_CONTAINS(err.msg, "SMROTATE_DB_CA_FILE");
    /* Without TLS there is nothing to verify. */
    l.tls = ROT_TLS_OFF;
    SM_ASSERT_OK(E->connect(&l, &o, &conn, &err), err);
    E->disconnect(conn);
}

SM_TEST(pg_engine_tls_verify_ca_accepts_a_host_the_certificate_does_not_name) {
    struct sm_err err;
    struct rot_conn *conn = NULL;
    char user[64], ssl[16], app[64];
    PGconn *a = admin(port_tls());
    uniq(user, sizeof(user), "smr_vca_", "");
    create_user(a, user, "vca-pass-1");
    struct rot_login l = login(port_tls(), user, "vca-pass-1", ROT_TLS_REQUIRED);
    struct rot_connect_opts o = opts();
    l.host = env("PG_HOST_MISMATCH"); /* 127.0.0.2: the certificate names 127.0.0.1, localhost */
    o.tls_verify = ROT_TLS_VERIFY_CA;
    SM_ASSERT_OK(E->connect(&l, &o, &conn, &err), err);
    session_info(a, user, ssl, app, sizeof(ssl));
    SM_ASSERT_STR_EQ(ssl, "true");
    E->disconnect(conn);
    /* Full verification refuses the same host, naming the setting that would allow it. */
    o.tls_verify = ROT_TLS_VERIFY_FULL;
    expect_connect_fails(&l, &o, ROT_ERR_DB_TLS, &err);
    SM_ASSERT_STR_CONTAINS(err.msg, "sslmode=verify-full");
    SM_ASSERT_STR_CONTAINS(err.msg, "SMROTATE_DB_TLS_VERIFY=ca");
    drop_role(a, user);
    PQfinish(a);
}

SM_TEST(pg_engine_tls_verify_ca_still_verifies_the_chain) {
    struct sm_err err;
    struct rot_login l =
        login(port_tls(), env("PG_ADMIN_USER"), env("PG_ADMIN_PASSWORD"), ROT_TLS_AUTO);
    struct rot_connect_opts o = opts_ca(env("PG_BAD_CA_FILE"));
    l.host = env("PG_HOST_MISMATCH");
    o.tls_verify = ROT_TLS_VERIFY_CA;
    expect_connect_fails(&l, &o, ROT_ERR_DB_TLS, &err);
    SM_ASSERT_STR_CONTAINS(err.msg, "sslmode=verify-ca");
    SM_ASSERT_STR_CONTAINS(err.msg, "SMROTATE_DB_CA_FILE");
    SM_ASSERT_STR_NOT_CONTAINS(err.msg, "SMROTATE_DB_TLS_VERIFY=ca");
}

SM_TEST(pg_engine_tls_verify_ca_never_falls_back_to_plaintext) {
    struct sm_err err;
    struct rot_conn *conn = NULL;
    struct rot_login l =
        login(port_notls(), env("PG_ADMIN_USER"), env("PG_ADMIN_PASSWORD"), ROT_TLS_REQUIRED);
    struct rot_connect_opts o = opts();
    o.tls_verify = ROT_TLS_VERIFY_CA;
    expect_connect_fails(&l, &o, ROT_ERR_DB_TLS, &err);
    SM_ASSERT_STR_CONTAINS(err.msg, "does not offer TLS");
    /* AUTO keeps its meaning: plaintext only when the server offers no TLS at all. */
    l.tls = ROT_TLS_AUTO;
    SM_ASSERT_OK(E->connect(&l, &o, &conn, &err), err);
    E->disconnect(conn);
}

SM_TEST(pg_engine_tls_default_trust_is_the_packaged_bundle_and_the_system_store) {
    struct sm_err err;
    struct rot_conn *conn = NULL;
    struct rot_db_trust trust;
    /* The fixture's test CA plays the packaged RDS bundle. */
    struct rot_db_trust_sources src = {.packaged = env("PG_CA_FILE"),
                                       .system = sm_system_ca_bundle(),
                                       .tmp_dir = getenv("SMR_STATE_DIR")};
    SM_ASSERT(src.system != NULL);
    SM_ASSERT_OK(rot_db_trust_resolve(&src, &trust, &err), err);
    SM_ASSERT(trust.temp_file != NULL);
    struct rot_login l =
        login(port_tls(), env("PG_ADMIN_USER"), env("PG_ADMIN_PASSWORD"), ROT_TLS_REQUIRED);
    struct rot_connect_opts o = opts_ca(trust.ca_file);
    o.ca_origin = trust.origin;
    SM_ASSERT_OK(E->connect(&l, &o, &conn, &err), err);
    E->disconnect(conn);
    rot_db_trust_clean_up(&trust);
    /* An unrelated "packaged" CA: not trusted, and the message says by what. */
    src.packaged = env("PG_BAD_CA_FILE");
    SM_ASSERT_OK(rot_db_trust_resolve(&src, &trust, &err), err);
    o = opts_ca(trust.ca_file);
    o.ca_origin = trust.origin;
    expect_connect_fails(&l, &o, ROT_ERR_DB_TLS, &err);
    SM_ASSERT_STR_CONTAINS(err.msg, "the packaged RDS bundle");
    SM_ASSERT_STR_CONTAINS(err.msg, "the system store");
    SM_ASSERT_STR_CONTAINS(err.msg, "SMROTATE_DB_CA_FILE");
    rot_db_trust_clean_up(&trust);
}

SM_TEST(pg_engine_tls_auto_against_server_without_tls_logs_in_plaintext) {
    struct sm_err err;
    struct rot_conn *conn = NULL;
    char user[64], ssl[16], app[64];
    PGconn *a = admin(port_notls());
    uniq(user, sizeof(user), "smr_autoplain_", "");
    create_user(a, user, "auto-pass-1");
    struct rot_login l = login(port_notls(), user, "auto-pass-1", ROT_TLS_AUTO);
    struct rot_connect_opts o = opts();
    SM_ASSERT_OK(E->connect(&l, &o, &conn, &err), err);
    SM_ASSERT_OK(E->check(conn, &err), err);
    session_info(a, user, ssl, app, sizeof(ssl));
    SM_ASSERT_STR_EQ(ssl, "false");
    E->disconnect(conn);
    drop_role(a, user);
    PQfinish(a);
}

SM_TEST(pg_engine_tls_auto_against_tls_server_uses_tls) {
    struct sm_err err;
    struct rot_conn *conn = NULL;
    char user[64], ssl[16], app[64];
    PGconn *a = admin(port_tls());
    uniq(user, sizeof(user), "smr_autotls_", "");
    create_user(a, user, "auto-pass-2");
    struct rot_login l = login(port_tls(), user, "auto-pass-2", ROT_TLS_AUTO);
    struct rot_connect_opts o = opts();
    SM_ASSERT_OK(E->connect(&l, &o, &conn, &err), err);
    session_info(a, user, ssl, app, sizeof(ssl));
    SM_ASSERT_STR_EQ(ssl, "true");
    E->disconnect(conn);
    drop_role(a, user);
    PQfinish(a);
}

SM_TEST(pg_engine_tls_auto_wrong_password_is_db_login_without_plaintext_retry) {
    struct sm_err err;
    char user[64];
    PGconn *a = admin(port_tls());
    uniq(user, sizeof(user), "smr_autobad_", "");
    create_user(a, user, "auto-pass-3");
    struct rot_login l = login(port_tls(), user, "not-the-password", ROT_TLS_AUTO);
    struct rot_connect_opts o = opts();
    expect_connect_fails(&l, &o, ROT_ERR_DB_LOGIN, &err);
    SM_ASSERT_STR_CONTAINS(err.msg, "sslmode=verify-full");
    /* Exactly one failed attempt in the server log, not a second one in plaintext: one line with
     * SQLSTATE 28P01 (invalid_password; the fixture's log_line_prefix) that names the user. */
    char *log = read_log("PG_LOG_FILE");
    SM_ASSERT_INT_EQ(count_lines_with(log, " 28P01 ", user), 1);
    free(log);
    drop_role(a, user);
    PQfinish(a);
}

SM_TEST(pg_engine_tls_off_logs_in_without_tls) {
    struct sm_err err;
    struct rot_conn *conn = NULL;
    char user[64], ssl[16], app[64];
    PGconn *a = admin(port_tls());
    uniq(user, sizeof(user), "smr_off_", "");
    create_user(a, user, "off-pass-1");
    struct rot_login l = login(port_tls(), user, "off-pass-1", ROT_TLS_OFF);
    struct rot_connect_opts o = opts();
    SM_ASSERT_OK(E->connect(&l, &o, &conn, &err), err);
    session_info(a, user, ssl, app, sizeof(ssl));
    SM_ASSERT_STR_EQ(ssl, "false");
    E->disconnect(conn);
    drop_role(a, user);
    PQfinish(a);
}

SM_TEST(pg_engine_tls_off_for_user_the_server_requires_tls_for_is_db_tls) {
    struct sm_err err;
    struct rot_conn *conn = NULL;
    char user[64];
    PGconn *a = admin(port_tls());
    uniq(user, sizeof(user), "smr_tlsonly_", "");
    create_user(a, user, "tlsonly-pass");
    sqlf(a, "GRANT %s TO %s", ident(a, env("PG_TLS_ONLY_ROLE")), ident(a, user));
    struct rot_login l = login(port_tls(), user, "tlsonly-pass", ROT_TLS_OFF);
    struct rot_connect_opts o = opts();
    expect_connect_fails(&l, &o, ROT_ERR_DB_TLS, &err);
    SM_ASSERT_STR_CONTAINS(err.msg, "requires TLS for this login");
    l.tls = ROT_TLS_REQUIRED;
    SM_ASSERT_OK(E->connect(&l, &o, &conn, &err), err);
    E->disconnect(conn);
    drop_role(a, user);
    PQfinish(a);
}

SM_TEST(pg_engine_pg_environment_variables_do_not_change_behaviour) {
    struct sm_err err;
    struct rot_conn *conn = NULL;
    PGconn *a = admin(port_tls());
    char user[64];
    uniq(user, sizeof(user), "smr_env_", "");
    create_user(a, user, "env-pass-1");
    struct rot_connect_opts o = opts();
#define SET_HOSTILE_ENV()                                                                          \
    do {                                                                                           \
        setenv("PGSSLMODE", "disable", 1);                                                         \
        setenv("PGPASSWORD", "env-pass-1", 1);                                                     \
        setenv("PGSERVICE", "smrotate-no-such-service", 1);                                        \
        setenv("PGHOSTADDR", "192.0.2.1", 1);                                                      \
        setenv("PGDATABASE", "no_such_database", 1);                                               \
        setenv("PGOPTIONS", "-c statement_timeout=1", 1);                                          \
        setenv("PGTARGETSESSIONATTRS", "read-only", 1);                                            \
        setenv("PGGSSENCMODE", "require", 1);                                                      \
    } while (0)
    /* TLS still required, although PGSSLMODE says disable. */
    SET_HOSTILE_ENV();
    struct rot_login l = login(port_notls(), user, "env-pass-1", ROT_TLS_REQUIRED);
    expect_connect_fails(&l, &o, ROT_ERR_DB_TLS, &err);
    /* A wrong password stays wrong, although PGPASSWORD has the right one. */
    SET_HOSTILE_ENV();
    l = login(port_tls(), user, "not-env-pass", ROT_TLS_REQUIRED);
    expect_connect_fails(&l, &o, ROT_ERR_DB_LOGIN, &err);
    /* And a good login works despite PGSERVICE, PGHOSTADDR, PGDATABASE, PGOPTIONS, ... */
    SET_HOSTILE_ENV();
    l = login(port_tls(), user, "env-pass-1", ROT_TLS_REQUIRED);
    SM_ASSERT_OK(E->connect(&l, &o, &conn, &err), err);
    SM_ASSERT_OK(E->check(conn, &err), err);
    E->disconnect(conn);
    SM_ASSERT(getenv("PGSERVICE") == NULL);
    /* init scrubs them as well. */
    SET_HOSTILE_ENV();
    SM_ASSERT_OK(E->init(&err), err);
    SM_ASSERT(getenv("PGSSLMODE") == NULL);
    SM_ASSERT(getenv("PGPASSWORD") == NULL);
#undef SET_HOSTILE_ENV
    drop_role(a, user);
    PQfinish(a);
}

SM_TEST(pg_engine_connect_refuses_host_lists_and_socket_paths) {
    struct sm_err err;
    struct rot_login l =
        login(port_tls(), env("PG_ADMIN_USER"), env("PG_ADMIN_PASSWORD"), ROT_TLS_OFF);
    struct rot_connect_opts o = opts();
    l.host = "127.0.0.1,127.0.0.1";
    expect_connect_fails(&l, &o, ROT_ERR_ROTATION, &err);
    l.host = "/var/run/postgresql";
    expect_connect_fails(&l, &o, ROT_ERR_ROTATION, &err);
}

/* ---- set_own_password ---------------------------------------------------------------------- */

SM_TEST(pg_engine_set_own_password_hostile_names_old_fails_new_works) {
    struct sm_err err;
    struct rot_conn *conn = NULL;
    char user[64], token[32], oldpw[128], newpw[128], value[256];
    PGconn *a = admin(port_tls());
    snprintf(token, sizeof(token), "Tok%s", run_token());
    snprintf(user, sizeof(user), "Mixed \"Quo'te; Case %s", token);
    snprintf(oldpw, sizeof(oldpw), "0ld'\\%%$\"pw-\xc3\xbc-%s", run_token());
    snprintf(newpw, sizeof(newpw), "N\xe2\x82\xac w'\\%%$\";--pw-\xe2\x9c\x93-%s", run_token());
    create_user(a, user, oldpw);

    struct rot_login l = login(port_tls(), user, oldpw, ROT_TLS_REQUIRED);
    struct rot_connect_opts o = opts();
    SM_ASSERT_OK(E->connect(&l, &o, &conn, &err), err);
    SM_ASSERT_OK(E->set_own_password(conn, user, oldpw, newpw, &err), err);
    E->disconnect(conn);

    l.password = oldpw;
    expect_connect_fails(&l, &o, ROT_ERR_DB_LOGIN, &err);
    SM_ASSERT_STR_NOT_CONTAINS(err.msg, oldpw);
    l.password = newpw;
    SM_ASSERT_OK(E->connect(&l, &o, &conn, &err), err);
    SM_ASSERT_OK(E->check(conn, &err), err);
    E->disconnect(conn);

    /* The stored verifier is SCRAM, computed client-side. */
    sql_value(a, "SELECT rolpassword FROM pg_authid WHERE rolname = $1", user, value,
              sizeof(value));
    SM_ASSERT(strncmp(value, "SCRAM-SHA-256$", 14) == 0);

    /* The server logged the statement (with the verifier), never the new password. */
    char *log = read_log("PG_LOG_FILE");
    SM_ASSERT_STR_NOT_CONTAINS(log, newpw);
    const char *line = log_line_with(log, "ALTER USER", token);
    SM_ASSERT(line != NULL);
    SM_ASSERT_STR_CONTAINS(line, "SCRAM-SHA-256$");
    free(log);
    drop_role(a, user);
    PQfinish(a);
}

SM_TEST(pg_engine_set_own_password_twice_is_fine) {
    struct sm_err err;
    struct rot_conn *conn = NULL;
    char user[64];
    PGconn *a = admin(port_tls());
    uniq(user, sizeof(user), "smr_twice_", "");
    create_user(a, user, "twice-old");
    struct rot_login l = login(port_tls(), user, "twice-old", ROT_TLS_OFF);
    struct rot_connect_opts o = opts();
    SM_ASSERT_OK(E->connect(&l, &o, &conn, &err), err);
    SM_ASSERT_OK(E->set_own_password(conn, user, "twice-old", "twice-new", &err), err);
    SM_ASSERT_OK(E->set_own_password(conn, user, "twice-new", "twice-new", &err), err);
    SM_ASSERT_OK(E->check(conn, &err), err);
    E->disconnect(conn);
    SM_ASSERT(can_login(port_tls(), user, "twice-new"));
    SM_ASSERT(!can_login(port_tls(), user, "twice-old"));
    drop_role(a, user);
    PQfinish(a);
}

SM_TEST(pg_engine_set_own_password_works_for_user_whose_sessions_set_role) {
    struct sm_err err;
    struct rot_conn *conn = NULL;
    char user[64], group[64];
    PGconn *a = admin(port_tls());
    uniq(user, sizeof(user), "smr_setrole_", "");
    uniq(group, sizeof(group), "smr_setrole_", "_grp");
    create_user(a, user, "setrole-old");
    sqlf(a, "CREATE ROLE %s NOLOGIN", ident(a, group));
    sqlf(a, "GRANT %s TO %s", ident(a, group), ident(a, user));
    sqlf(a, "ALTER ROLE %s SET role = %s", ident(a, user), literal(a, group));
    struct rot_login l = login(port_tls(), user, "setrole-old", ROT_TLS_OFF);
    struct rot_connect_opts o = opts();
    SM_ASSERT_OK(E->connect(&l, &o, &conn, &err), err);
    SM_ASSERT_OK(E->set_own_password(conn, user, "setrole-old", "setrole-new", &err), err);
    E->disconnect(conn);
    SM_ASSERT(can_login(port_tls(), user, "setrole-new"));
    drop_role(a, user);
    drop_role(a, group);
    PQfinish(a);
}

SM_TEST(pg_engine_password_encryption_md5_stores_md5_verifier) {
    struct sm_err err;
    struct rot_conn *conn = NULL;
    char user[64], value[256];
    PGconn *a = admin(port_tls());
    uniq(user, sizeof(user), "smr_md5_", "");
    create_user(a, user, "md5-old");
    setenv("PASSWORD_ENCRYPTION", "md5", 1);
    SM_ASSERT_OK(E->init(&err), err);
    struct rot_login l = login(port_tls(), user, "md5-old", ROT_TLS_OFF);
    struct rot_connect_opts o = opts();
    SM_ASSERT_OK(E->connect(&l, &o, &conn, &err), err);
    SM_ASSERT_OK(E->set_own_password(conn, user, "md5-old", "md5-new", &err), err);
    E->disconnect(conn);
    sql_value(a, "SELECT rolpassword FROM pg_authid WHERE rolname = $1", user, value,
              sizeof(value));
    SM_ASSERT(strncmp(value, "md5", 3) == 0 && strlen(value) == 35);
    /* And back to the default: the server's scram-sha-256. */
    unsetenv("PASSWORD_ENCRYPTION");
    SM_ASSERT_OK(E->init(&err), err);
    sqlf(a, "ALTER ROLE %s PASSWORD 'md5-old2'", ident(a, user));
    l.password = "md5-old2";
    SM_ASSERT_OK(E->connect(&l, &o, &conn, &err), err);
    SM_ASSERT_OK(E->set_own_password(conn, user, "md5-old2", "scram-new", &err), err);
    E->disconnect(conn);
    sql_value(a, "SELECT rolpassword FROM pg_authid WHERE rolname = $1", user, value,
              sizeof(value));
    SM_ASSERT(strncmp(value, "SCRAM-SHA-256$", 14) == 0);
    drop_role(a, user);
    PQfinish(a);
}

SM_TEST(pg_engine_password_encryption_server_lets_the_server_hash_the_password) {
    struct sm_err err;
    struct rot_conn *conn = NULL;
    char user[64], clone[64], value[256];
    PGconn *a = admin(port_tls());
    uniq(user, sizeof(user), "smr_srvhash_", "");
    uniq(clone, sizeof(clone), "smr_srvhash_", "_clone");
    create_user(a, user, "srvhash-old");
    setenv("PASSWORD_ENCRYPTION", "server", 1);
    SM_ASSERT_OK(E->init(&err), err);
    struct rot_login l = login(port_tls(), user, "srvhash-old", ROT_TLS_REQUIRED);
    struct rot_connect_opts o = opts();
    SM_ASSERT_OK(E->connect(&l, &o, &conn, &err), err);
    SM_ASSERT_OK(E->set_own_password(conn, user, "srvhash-old", "srvhash-new'\\x", &err), err);
    E->disconnect(conn);
    SM_ASSERT(can_login(port_tls(), user, "srvhash-new'\\x"));
    /* The server hashed it (its password_encryption is scram-sha-256)... */
    sql_value(a, "SELECT rolpassword FROM pg_authid WHERE rolname = $1", user, value,
              sizeof(value));
    SM_ASSERT(strncmp(value, "SCRAM-SHA-256$", 14) == 0);
    /* ... from the password itself, which is what its statement log shows: the documented
     * cost of this setting. (By default the log shows only the verifier, see
     * pg_engine_set_own_password_hostile_names_old_fails_new_works.) */
    char *log = read_log("PG_LOG_FILE");
    const char *line = log_line_with(log, "ALTER USER", user);
    SM_ASSERT(line != NULL);
    SM_ASSERT_STR_NOT_CONTAINS(line, "SCRAM-SHA-256$");
    free(log);
    /* The alternate user's password too. */
    conn = NULL;
    struct rot_login al =
        login(port_tls(), env("PG_ADMIN_USER"), env("PG_ADMIN_PASSWORD"), ROT_TLS_REQUIRED);
    SM_ASSERT_OK(E->connect(&al, &o, &conn, &err), err);
    SM_ASSERT_OK(sync_users(conn, user, clone, clone, "srvhash-clone", &err), err);
    E->disconnect(conn);
    SM_ASSERT(can_login(port_tls(), clone, "srvhash-clone"));
    sql_value(a, "SELECT rolpassword FROM pg_authid WHERE rolname = $1", clone, value,
              sizeof(value));
    SM_ASSERT(strncmp(value, "SCRAM-SHA-256$", 14) == 0);
    unsetenv("PASSWORD_ENCRYPTION");
    SM_ASSERT_OK(E->init(&err), err);
    drop_role(a, clone);
    drop_role(a, user);
    PQfinish(a);
}

SM_TEST(pg_engine_init_rejects_unknown_password_encryption) {
    struct sm_err err;
    setenv("PASSWORD_ENCRYPTION", "sha1", 1);
    SM_ASSERT_INT_EQ(E->init(&err), -1);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_CONFIG);
    SM_ASSERT_STR_CONTAINS(err.msg, "PASSWORD_ENCRYPTION");
    setenv("PASSWORD_ENCRYPTION", "SCRAM-SHA-256", 1);
    SM_ASSERT_OK(E->init(&err), err);
    setenv("PASSWORD_ENCRYPTION", "Server", 1);
    SM_ASSERT_OK(E->init(&err), err);
    unsetenv("PASSWORD_ENCRYPTION");
    setenv("PG_OWNER_ROLE", "0123456789012345678901234567890123456789012345678901234567890123", 1);
    SM_ASSERT_INT_EQ(E->init(&err), -1);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_CONFIG);
    SM_ASSERT_STR_CONTAINS(err.msg, "PG_OWNER_ROLE");
}

SM_TEST(pg_engine_set_own_password_of_other_role_is_db_query_without_secrets) {
    struct sm_err err;
    struct rot_conn *conn = NULL;
    char user[64], other[64];
    PGconn *a = admin(port_tls());
    uniq(user, sizeof(user), "smr_self_", "");
    uniq(other, sizeof(other), "smr_other_", "");
    create_user(a, user, "self-pass");
    create_user(a, other, "other-pass");
    struct rot_login l = login(port_tls(), user, "self-pass", ROT_TLS_OFF);
    struct rot_connect_opts o = opts();
    SM_ASSERT_OK(E->connect(&l, &o, &conn, &err), err);
    SM_ASSERT_INT_EQ(E->set_own_password(conn, other, "self-pass", "stolen-pass-1", &err), -1);
    SM_ASSERT_CODE_EQ(err.code, ROT_ERR_DB_QUERY);
    SM_ASSERT_STR_CONTAINS(err.msg, "SQLSTATE 42501"); /* insufficient_privilege */
    SM_ASSERT_STR_NOT_CONTAINS(err.msg, "stolen-pass-1");
    SM_ASSERT_STR_NOT_CONTAINS(err.msg, "SCRAM");
    /* The connection is still usable after a failed statement. */
    SM_ASSERT_OK(E->check(conn, &err), err);
    E->disconnect(conn);
    SM_ASSERT(can_login(port_tls(), other, "other-pass"));
    drop_role(a, user);
    drop_role(a, other);
    PQfinish(a);
}

SM_TEST(pg_engine_too_long_name_is_refused_before_any_sql) {
    struct sm_err err;
    struct rot_conn *conn = NULL;
    char longname[80];
    /* 64 bytes, unique to this test run. */
    snprintf(longname, sizeof(longname), "smr_toolong_%s_", run_token());
    size_t n = strlen(longname);
    memset(longname + n, 'x', 64 - n);
    longname[64] = '\0';

    struct rot_login l =
        login(port_tls(), env("PG_ADMIN_USER"), env("PG_ADMIN_PASSWORD"), ROT_TLS_OFF);
    struct rot_connect_opts o = opts();
    SM_ASSERT_OK(E->connect(&l, &o, &conn, &err), err);
    SM_ASSERT_INT_EQ(E->set_own_password(conn, longname, NULL, "long-pass-1", &err), -1);
    SM_ASSERT_CODE_EQ(err.code, ROT_ERR_ROTATION);
    SM_ASSERT_STR_CONTAINS(err.msg, "63");
    SM_ASSERT_INT_EQ(
        sync_users(conn, env("PG_ADMIN_USER"), longname, longname, "long-pass-1", &err), -1);
    SM_ASSERT_CODE_EQ(err.code, ROT_ERR_ROTATION);
    SM_ASSERT_INT_EQ(sync_users(conn, longname, "smr_short", "smr_short", "long-pass-1", &err), -1);
    SM_ASSERT_CODE_EQ(err.code, ROT_ERR_ROTATION);
    E->disconnect(conn);
    l.username = longname;
    expect_connect_fails(&l, &o, ROT_ERR_ROTATION, &err);

    char *log = read_log("PG_LOG_FILE");
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "smr_toolong_%s_", run_token());
    SM_ASSERT_STR_NOT_CONTAINS(log, prefix);
    free(log);
}

/* ---- sync_alternate_user ------------------------------------------------------------------- */

static bool is_member(PGconn *a, const char *member, const char *group) {
    const char *params[2] = {member, group};
    PGresult *r = sqlp(a,
                       "SELECT 1 FROM pg_auth_members m JOIN pg_roles u ON u.oid = m.member "
                       "JOIN pg_roles g ON g.oid = m.roleid WHERE u.rolname = $1 AND "
                       "g.rolname = $2",
                       2, params);
    bool yes = PQntuples(r) > 0;
    PQclear(r);
    return yes;
}

/* Logs in as user and runs sql; returns whether it worked. */
static bool user_runs(const char *user, const char *password, const char *sql) {
    PGconn *c = raw_connect(port_tls(), user, password);
    bool ok = false;
    if (PQstatus(c) == CONNECTION_OK) {
        PGresult *r = PQexec(c, sql);
        ok = PQresultStatus(r) == PGRES_TUPLES_OK || PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
    }
    PQfinish(c);
    return ok;
}

static struct rot_conn *admin_conn(void) {
    struct sm_err err;
    struct rot_conn *conn = NULL;
    struct rot_login l =
        login(port_tls(), env("PG_ADMIN_USER"), env("PG_ADMIN_PASSWORD"), ROT_TLS_REQUIRED);
    struct rot_connect_opts o = opts();
    SM_ASSERT_OK(E->connect(&l, &o, &conn, &err), err);
    return conn;
}

SM_TEST(pg_engine_sync_alternate_user_creates_clone_with_base_privileges) {
    struct sm_err err;
    char base[64], clone[64], table[64], sql[256], value[64];
    PGconn *a = admin(port_tls());
    uniq(base, sizeof(base), "smr_Alt Base'", "");
    uniq(clone, sizeof(clone), "smr_Alt Base'", "_clone");
    uniq(table, sizeof(table), "smr_alt_t", "");
    create_user(a, base, "base-pass");
    sqlf(a, "CREATE TABLE %s (x int)", ident(a, table));
    sqlf(a, "INSERT INTO %s VALUES (42)", ident(a, table));
    sqlf(a, "GRANT SELECT ON %s TO %s", ident(a, table), ident(a, base));
    sqlf(a, "ALTER ROLE %s CONNECTION LIMIT 7 CREATEDB", ident(a, base));

    struct rot_conn *conn = admin_conn();
    SM_ASSERT_OK(sync_users(conn, base, clone, clone, "clone-pass-1\\'%$", &err), err);
    E->disconnect(conn);

    snprintf(sql, sizeof(sql), "SELECT x FROM %s", ident(a, table));
    SM_ASSERT(user_runs(clone, "clone-pass-1\\'%$", sql));
    SM_ASSERT(is_member(a, clone, base));
    SM_ASSERT(!is_member(a, base, clone));
    sql_value(a,
              "SELECT rolconnlimit::text || rolcreatedb::text || rolcanlogin::text FROM pg_roles "
              "WHERE rolname = $1",
              clone, value, sizeof(value));
    SM_ASSERT_STR_EQ(value, "7truetrue");
    sql_value(a, "SELECT rolpassword FROM pg_authid WHERE rolname = $1", clone, value,
              sizeof(value));
    SM_ASSERT(strncmp(value, "SCRAM-SHA-256$", 14) == 0);
    /* The base user's password is untouched. */
    SM_ASSERT(can_login(port_tls(), base, "base-pass"));

    char *log = read_log("PG_LOG_FILE");
    SM_ASSERT_STR_NOT_CONTAINS(log, "clone-pass-1");
    free(log);
    drop_role(a, clone);
    drop_role(a, base);
    sqlf(a, "DROP TABLE %s", ident(a, table));
    PQfinish(a);
}

SM_TEST(pg_engine_sync_alternate_user_second_call_resyncs_and_changes_password) {
    struct sm_err err;
    char base[64], clone[64];
    PGconn *a = admin(port_tls());
    uniq(base, sizeof(base), "smr_resync_", "");
    uniq(clone, sizeof(clone), "smr_resync_", "_clone");
    create_user(a, base, "base-pass");
    struct rot_conn *conn = admin_conn();
    SM_ASSERT_OK(sync_users(conn, base, clone, clone, "resync-1", &err), err);

    /* Someone breaks the clone: no membership, no login, NOINHERIT, other limit. */
    sqlf(a, "REVOKE %s FROM %s", ident(a, base), ident(a, clone));
    sqlf(a, "ALTER ROLE %s NOLOGIN NOINHERIT CONNECTION LIMIT 3", ident(a, clone));
    log_capture_begin();
    SM_ASSERT_OK(sync_users(conn, base, clone, clone, "resync-2", &err), err);
    char *log = log_capture_end();
    /* One warning, naming every change and never the password. */
    SM_ASSERT_INT_EQ(count_of(log, "\tWARN\t"), 1);
    SM_ASSERT_STR_CONTAINS(log, "already exists; changing it to match");
    SM_ASSERT_STR_CONTAINS(log, "LOGIN, INHERIT, CONNECTION LIMIT -1, GRANT");
    SM_ASSERT_STR_NOT_CONTAINS(log, "resync-2");
    free(log);
    /* In line now: the same call again changes nothing and says nothing. */
    log_capture_begin();
    SM_ASSERT_OK(sync_users(conn, base, clone, clone, "resync-2", &err), err);
    log = log_capture_end();
    SM_ASSERT_INT_EQ(count_of(log, "\tWARN\t"), 0);
    free(log);
    E->disconnect(conn);

    SM_ASSERT(is_member(a, clone, base));
    SM_ASSERT(!can_login(port_tls(), clone, "resync-1"));
    SM_ASSERT(can_login(port_tls(), clone, "resync-2"));
    char value[64];
    sql_value(a, "SELECT rolconnlimit::text || rolinherit::text FROM pg_roles WHERE rolname = $1",
              clone, value, sizeof(value));
    SM_ASSERT_STR_EQ(value, "-1true");
    drop_role(a, clone);
    drop_role(a, base);
    PQfinish(a);
}

SM_TEST(pg_engine_sync_alternate_user_refuses_an_original_that_is_a_member_of_its_clone) {
    struct sm_err err;
    char base[64], clone[64];
    PGconn *a = admin(port_tls());
    uniq(base, sizeof(base), "smr_cycle_", "");
    uniq(clone, sizeof(clone), "smr_cycle_", "_clone");
    create_user(a, base, "cycle-base");
    create_user(a, clone, "cycle-clone");
    sqlf(a, "GRANT %s TO %s", ident(a, clone), ident(a, base));
    struct rot_conn *conn = admin_conn();
    SM_ASSERT_INT_EQ(sync_users(conn, base, clone, clone, "cycle-new", &err), -1);
    SM_ASSERT_CODE_EQ(err.code, ROT_ERR_ROTATION);
    SM_ASSERT_STR_CONTAINS(err.msg, "is a member of its alternate");
    E->disconnect(conn);
    SM_ASSERT(can_login(port_tls(), clone, "cycle-clone")); /* rolled back */
    drop_role(a, clone);
    drop_role(a, base);
    PQfinish(a);
}

SM_TEST(pg_engine_sync_alternate_user_creates_a_missing_clone_without_password_for_the_original) {
    struct sm_err err;
    char base[64], clone[64], value[64];
    PGconn *a = admin(port_tls());
    uniq(base, sizeof(base), "smr_noclone_", "");
    uniq(clone, sizeof(clone), "smr_noclone_", "_clone");
    create_user(a, base, "noclone-0");
    struct rot_conn *conn = admin_conn();
    log_capture_begin();
    SM_ASSERT_OK(sync_users(conn, base, clone, base, "noclone-1", &err), err);
    char *log = log_capture_end();
    SM_ASSERT_INT_EQ(count_of(log, "\tWARN\t"), 0); /* a new clone has nothing to lose */
    free(log);
    E->disconnect(conn);
    SM_ASSERT(can_login(port_tls(), base, "noclone-1"));
    SM_ASSERT(is_member(a, clone, base));
    sql_value(a, "SELECT (rolpassword IS NULL)::text FROM pg_authid WHERE rolname = $1", clone,
              value, sizeof(value));
    SM_ASSERT_STR_EQ(value, "true");
    drop_role(a, clone);
    drop_role(a, base);
    PQfinish(a);
}

SM_TEST(pg_engine_sync_alternate_user_second_rotation_sets_the_original_without_cycle) {
    struct sm_err err;
    char base[64], clone[64];
    PGconn *a = admin(port_tls());
    uniq(base, sizeof(base), "smr_flip_", "");
    uniq(clone, sizeof(clone), "smr_flip_", "_clone");
    create_user(a, base, "flip-0");
    struct rot_conn *conn = admin_conn();
    /* 1st rotation: current = X, pending = X_clone. 2nd: current = X_clone, pending = X. */
    SM_ASSERT_OK(sync_users(conn, base, clone, clone, "flip-1", &err), err);
    SM_ASSERT_OK(sync_users(conn, base, clone, base, "flip-2", &err), err);
    /* 3rd: back to X_clone. */
    SM_ASSERT_OK(sync_users(conn, base, clone, clone, "flip-3", &err), err);
    E->disconnect(conn);

    SM_ASSERT(can_login(port_tls(), base, "flip-2"));
    SM_ASSERT(!can_login(port_tls(), base, "flip-0"));
    SM_ASSERT(can_login(port_tls(), clone, "flip-3"));
    SM_ASSERT(is_member(a, clone, base));
    SM_ASSERT(!is_member(a, base, clone));
    drop_role(a, clone);
    drop_role(a, base);
    PQfinish(a);
}

SM_TEST(pg_engine_sync_alternate_user_missing_base_is_rotation_error) {
    struct sm_err err;
    char base[64], clone[64];
    PGconn *a = admin(port_tls());
    uniq(base, sizeof(base), "smr_nobase_", "");
    uniq(clone, sizeof(clone), "smr_nobase_", "_clone");
    struct rot_conn *conn = admin_conn();
    SM_ASSERT_INT_EQ(sync_users(conn, base, clone, clone, "nobase-1", &err), -1);
    SM_ASSERT_CODE_EQ(err.code, ROT_ERR_ROTATION);
    /* Rolled back: no clone left behind, and the connection is usable. */
    SM_ASSERT_OK(E->check(conn, &err), err);
    E->disconnect(conn);
    char value[8];
    sql_value(a, "SELECT 1 FROM pg_roles WHERE rolname = $1", clone, value, sizeof(value));
    SM_ASSERT_STR_EQ(value, "");
    PQfinish(a);
}

SM_TEST(pg_engine_sync_alternate_user_owner_role_shares_object_ownership) {
    struct sm_err err;
    char base[64], clone[64], owner[64], table[64], sql[256], value[64];
    PGconn *a = admin(port_tls());
    uniq(base, sizeof(base), "smr_own_", "");
    uniq(clone, sizeof(clone), "smr_own_", "_clone");
    uniq(owner, sizeof(owner), "smr_Owner ", "");
    uniq(table, sizeof(table), "smr_own_t", "");
    create_user(a, base, "own-base");
    sqlf(a, "CREATE ROLE %s NOLOGIN", ident(a, owner));
    sqlf(a, "GRANT USAGE, CREATE ON SCHEMA public TO %s", ident(a, owner));
    setenv("PG_OWNER_ROLE", owner, 1);
    SM_ASSERT_OK(E->init(&err), err);

    struct rot_conn *conn = admin_conn();
    SM_ASSERT_OK(sync_users(conn, base, clone, clone, "own-clone", &err), err);
    SM_ASSERT_OK(sync_users(conn, base, clone, clone, "own-clone", &err), err);
    E->disconnect(conn);

    /* The clone creates a table; the base user can use it and even drop it. */
    snprintf(sql, sizeof(sql), "CREATE TABLE %s (x int); INSERT INTO %s VALUES (1)",
             ident(a, table), ident(a, table));
    SM_ASSERT(user_runs(clone, "own-clone", sql));
    const char *params[1] = {table};
    PGresult *r = sqlp(a, "SELECT tableowner FROM pg_tables WHERE tablename = $1", 1, params);
    SM_ASSERT_INT_EQ(PQntuples(r), 1);
    SM_ASSERT_STR_EQ(PQgetvalue(r, 0, 0), owner);
    PQclear(r);
    snprintf(sql, sizeof(sql), "INSERT INTO %s SELECT x + 1 FROM %s", ident(a, table),
             ident(a, table));
    SM_ASSERT(user_runs(base, "own-base", sql));
    sql_value(a, "SELECT 1 FROM pg_roles WHERE rolname = $1", owner, value, sizeof(value));
    SM_ASSERT(is_member(a, base, owner));
    SM_ASSERT(is_member(a, clone, owner));
    snprintf(sql, sizeof(sql), "DROP TABLE %s", ident(a, table));
    SM_ASSERT(user_runs(base, "own-base", sql));

    drop_role(a, clone);
    drop_role(a, base);
    sqlf(a, "REVOKE ALL ON SCHEMA public FROM %s", ident(a, owner));
    drop_role(a, owner);
    PQfinish(a);
}

SM_TEST(pg_engine_sync_alternate_user_missing_owner_role_is_config_error) {
    struct sm_err err;
    char base[64], clone[64];
    PGconn *a = admin(port_tls());
    uniq(base, sizeof(base), "smr_noown_", "");
    uniq(clone, sizeof(clone), "smr_noown_", "_clone");
    create_user(a, base, "noown-base");
    setenv("PG_OWNER_ROLE", "smr_no_such_owner_role", 1);
    SM_ASSERT_OK(E->init(&err), err);
    struct rot_conn *conn = admin_conn();
    SM_ASSERT_INT_EQ(sync_users(conn, base, clone, clone, "noown-1", &err), -1);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_CONFIG);
    SM_ASSERT_STR_CONTAINS(err.msg, "smr_no_such_owner_role");
    SM_ASSERT_STR_CONTAINS(err.msg, "does not exist");
    E->disconnect(conn);
    char value[8];
    sql_value(a, "SELECT 1 FROM pg_roles WHERE rolname = $1", clone, value, sizeof(value));
    SM_ASSERT_STR_EQ(value, "");
    drop_role(a, base);
    PQfinish(a);
}
