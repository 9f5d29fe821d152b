/* Integration tests of the MySQL/MariaDB engine plugin (rotators/engine_mysql.c) against a real
 * server with a TLS instance and one that does not offer TLS: the MariaDB 10.11 of
 * tests/scripts/mariadb.sh, or (SMR_MYSQL_SERVER=mysql: the mysql9_ twins tests/mysql.cmake
 * registers) the MySQL 9.7 of tests/scripts/mysql.sh. Setup and assertions go through Connector/C
 * directly as the fixture's admin, with escaped literals; each test makes its own uniquely named
 * users (random bits, short enough for MySQL's 32 characters with "_clone"). Timing: the error
 * code says which limit fired; elapsed times are checked only against bounds that follow from our
 * own arithmetic and against generous "does not hang" ceilings. */
#include "clock.h"
#include "db_tls.h"
#include "engine.h"
#include "err.h"
#include "harness.h"
#include "log.h"
#include "mem.h"
#include "paths.h"

#include <mysql.h>
#include <mysqld_error.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------------------------------------------------------------------------------------------
 * Fixture
 */

static struct {
    bool loaded;
    bool mysql;     /* the MySQL fixture, not MariaDB's */
    int name_limit; /* the engine's username limit for that server */
    char host[64];
    int port;
    int port_notls;
    char admin_user[64];
    char admin_password[128];
    char ca_file[512];
    char bad_ca_file[512];
} fx;

/* The value of fixture setting key (without its MARIADB_ / MYSQL_ prefix) in line, or NULL. */
static const char *fx_value(const char *line, const char *key) {
    const char *prefix = fx.mysql ? "MYSQL_" : "MARIADB_";
    size_t n = strlen(prefix), k = strlen(key);
    if (strncmp(line, prefix, n) != 0 || strncmp(line + n, key, k) != 0 || line[n + k] != '=') {
        return NULL;
    }
    return line + n + k + 1;
}

static void fx_load(void) {
    char path[1024], line[1024];
    const char *state = getenv("SMR_STATE_DIR"), *server = getenv("SMR_MYSQL_SERVER"), *v;
    if (fx.loaded) {
        return;
    }
    if (state == NULL) {
        SM_FAIL("SMR_STATE_DIR is not set: run through ctest");
    }
    fx.mysql = server != NULL && strcmp(server, "mysql") == 0;
    fx.name_limit = fx.mysql ? 32 : 80;
    snprintf(path, sizeof(path), "%s/%s/%s.env", state, fx.mysql ? "mysql" : "mariadb",
             fx.mysql ? "mysql" : "mariadb");
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        SM_FAIL("cannot open %s (did %s_server_start run?)", path, fx.mysql ? "mysql" : "mariadb");
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        if ((v = fx_value(line, "HOST")) != NULL) {
            snprintf(fx.host, sizeof(fx.host), "%s", v);
        } else if ((v = fx_value(line, "PORT")) != NULL) {
            fx.port = (int)strtol(v, NULL, 10);
        } else if ((v = fx_value(line, "PORT_NOTLS")) != NULL) {
            fx.port_notls = (int)strtol(v, NULL, 10);
        } else if ((v = fx_value(line, "ADMIN_USER")) != NULL) {
            snprintf(fx.admin_user, sizeof(fx.admin_user), "%s", v);
        } else if ((v = fx_value(line, "ADMIN_PASSWORD")) != NULL) {
            snprintf(fx.admin_password, sizeof(fx.admin_password), "%s", v);
        } else if ((v = fx_value(line, "CA_FILE")) != NULL) {
            snprintf(fx.ca_file, sizeof(fx.ca_file), "%s", v);
        } else if ((v = fx_value(line, "BAD_CA_FILE")) != NULL) {
            snprintf(fx.bad_ca_file, sizeof(fx.bad_ca_file), "%s", v);
        } else if ((v = fx_value(line, "VERSION")) != NULL) {
            fprintf(stderr, "server: %s %s\n", fx.mysql ? "MySQL" : "MariaDB", v);
        }
    }
    fclose(f);
    if (fx.port == 0 || fx.port_notls == 0 || fx.admin_user[0] == '\0' || fx.ca_file[0] == '\0') {
        SM_FAIL("%s is incomplete", path);
    }
    fx.loaded = true;
}

/* Initialises the engine (as the rotation layer does at start-up). */
static void setup(void) {
    struct sm_err err;
    fx_load();
    sm_err_clear(&err);
    SM_ASSERT_OK(rot_engine_mysql.init(&err), err);
}

/* A raw Connector/C login (no engine code), or NULL. tls: verify against the test CA. */
static MYSQL *raw_connect(const char *user, const char *password, int port, bool tls) {
    MYSQL *m = mysql_init(NULL);
    unsigned int tcp = MYSQL_PROTOCOL_TCP, timeout = 30; /* a hang guard, not a limit */
    my_bool verify = 1;
    mysql_optionsv(m, MYSQL_OPT_PROTOCOL, &tcp);
    mysql_optionsv(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    mysql_optionsv(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    if (tls) {
        mysql_optionsv(m, MYSQL_OPT_SSL_CA, fx.ca_file);
        mysql_optionsv(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify);
    }
    if (mysql_real_connect(m, fx.host, user, password, NULL, (unsigned int)port, NULL, 0) == NULL) {
        mysql_close(m);
        return NULL;
    }
    return m;
}

static MYSQL *s_admin;

static MYSQL *admin(void) {
    fx_load();
    if (s_admin == NULL) {
        s_admin = raw_connect(fx.admin_user, fx.admin_password, fx.port, false);
        if (s_admin == NULL) {
            SM_FAIL("admin login to the fixture failed");
        }
    }
    return s_admin;
}

/* An escaped, quoted literal of s for admin SQL. Ring of static buffers. */
static const char *lit(const char *s) {
    static char ring[16][1024];
    static int next;
    char *out = ring[next++ % 16];
    char esc[1000];
    SM_ASSERT(strlen(s) < 400);
    mysql_real_escape_string(admin(), esc, s, (unsigned long)strlen(s));
    snprintf(out, 1024, "'%s'", esc);
    return out;
}

static void admin_exec(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void admin_exec(const char *fmt, ...) {
    char sql[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof(sql), fmt, ap);
    va_end(ap);
    if (mysql_query(admin(), sql) != 0) {
        SM_FAIL("admin SQL failed: %s (%s)", mysql_error(admin()), sql);
    }
    MYSQL_RES *r = mysql_store_result(admin());
    if (r != NULL) {
        mysql_free_result(r);
    }
}

/* All rows of a one-column admin query joined by "\n" (static buffer). */
static const char *admin_rows(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *admin_rows(const char *fmt, ...) {
    static char out[16384];
    char sql[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof(sql), fmt, ap);
    va_end(ap);
    if (mysql_query(admin(), sql) != 0) {
        SM_FAIL("admin SQL failed: %s (%s)", mysql_error(admin()), sql);
    }
    MYSQL_RES *r = mysql_store_result(admin());
    MYSQL_ROW row;
    size_t used = 0;
    out[0] = '\0';
    while (r != NULL && (row = mysql_fetch_row(r)) != NULL) {
        int n = snprintf(out + used, sizeof(out) - used, "%s%s", used ? "\n" : "",
                         row[0] ? row[0] : "NULL");
        if (n > 0 && (size_t)n < sizeof(out) - used) {
            used += (size_t)n;
        }
    }
    if (r != NULL) {
        mysql_free_result(r);
    }
    return out;
}

/* A name unique to this test process: 32 random bits (a pid comes back once the kernel wraps
 * around, and the fixture outlives processes), kept short: with a tag of up to 10 characters and
 * "_clone" it fits MySQL's 32. Ring of static buffers. */
static const char *uniq(const char *tag) {
    static char ring[8][128];
    static int next;
    static uint32_t token;
    char *out = ring[next++ % 8];
    if (token == 0) {
        while (token == 0) {
            if (getrandom(&token, sizeof(token), 0) != (ssize_t)sizeof(token)) {
                SM_FAIL("getrandom failed");
            }
        }
    }
    snprintf(out, 128, "s%08" PRIx32 "_%s", token, tag);
    return out;
}

static void create_user(const char *user, const char *host, const char *password,
                        const char *extra) {
    admin_exec("DROP USER IF EXISTS %s@%s", lit(user), lit(host));
    admin_exec("CREATE USER %s@%s IDENTIFIED BY %s %s", lit(user), lit(host), lit(password), extra);
}

static void drop_user(const char *user, const char *host) {
    admin_exec("DROP USER IF EXISTS %s@%s", lit(user), lit(host));
}

/* The fixture loads the server's ed25519 plugin at start-up (tests/scripts/mariadb.sh,
 * --plugin-load-add): tests only check that it is there, never install it (a check-then-INSTALL
 * races between concurrent tests). */
static void assert_ed25519_loaded(void) {
    SM_ASSERT_STR_EQ(admin_rows("SELECT PLUGIN_STATUS FROM information_schema.PLUGINS WHERE "
                                "PLUGIN_NAME = 'ed25519'"),
                     "ACTIVE");
}

/* Connects that should work get 30 s: a guard against a hang, never a limit a slow run could
 * reach. The timeout tests set their own. */
static struct rot_connect_opts opts_with(const char *ca_file) {
    struct rot_connect_opts o = {
        .ca_file = ca_file, .connect_timeout_ms = 30000, .deadline_ms = sm_now_ms() + 60000};
    return o;
}

static int eng_connect(const char *user, const char *password, int port, enum rot_tls tls,
                       const char *ca_file, struct rot_conn **conn, struct sm_err *err) {
    struct rot_login login = {
        .host = fx.host, .port = port, .username = user, .password = password, .tls = tls};
    struct rot_connect_opts o = opts_with(ca_file);
    sm_err_clear(err);
    return rot_engine_mysql.connect(&login, &o, conn, err);
}

/* Whether the engine can log in (and run the check query) with these credentials. */
static bool eng_can_login(const char *user, const char *password, enum rot_tls tls) {
    struct rot_conn *c = NULL;
    struct sm_err err;
    bool ok = eng_connect(user, password, fx.port, tls, fx.ca_file, &c, &err) == 0 &&
              rot_engine_mysql.check(c, &err) == 0;
    rot_engine_mysql.disconnect(c);
    return ok;
}

/* A port that refuses connections: a socket bound to it and not listening (the kernel answers a
 * SYN with RST). The port stays ours until the test closes *fd_out, so no other process can take
 * it in between. */
static int closed_port(int *fd_out) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    SM_ASSERT(fd >= 0);
    SM_ASSERT(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
    SM_ASSERT(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
    *fd_out = fd;
    return ntohs(a.sin_port);
}

/* A listener that completes TCP handshakes (the kernel does) and never says anything. */
static int silent_listener(int *port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    SM_ASSERT(fd >= 0);
    SM_ASSERT(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
    SM_ASSERT(listen(fd, 16) == 0);
    SM_ASSERT(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
    *port = ntohs(a.sin_port);
    return fd;
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

/* The whole seconds Connector/C was given, read from our message ("connect timeout N s"). */
static long connect_timeout_s_in(const char *msg) {
    const char *p = strstr(msg, "connect timeout ");
    SM_ASSERT(p != NULL);
    return strtol(p + strlen("connect timeout "), NULL, 10);
}

/* ---------------------------------------------------------------------------------------------
 * Registry and settings
 */

SM_TEST(mysql_engine_serves_mysql_aurora_and_mariadb_values) {
    SM_ASSERT(rot_engine_find(rot_engines, "mysql") == &rot_engine_mysql);
    SM_ASSERT(rot_engine_find(rot_engines, "aurora-mysql") == &rot_engine_mysql);
    SM_ASSERT(rot_engine_find(rot_engines, "mariadb") == &rot_engine_mysql);
    SM_ASSERT(rot_engine_find(rot_engines, "MySQL") == NULL);
    SM_ASSERT_INT_EQ(rot_engine_mysql.default_port, 3306);
    SM_ASSERT_STR_EQ(rot_engine_mysql.default_exclude_characters, "/@\"'\\");
}

SM_TEST(mysql_username_limit_defaults_and_reads_env) {
    struct sm_err err;
    unsetenv("USERNAME_CHARACTER_LIMIT");
    SM_ASSERT_OK(rot_engine_mysql.init(&err), err);
    SM_ASSERT_INT_EQ(rot_engine_mysql.max_username_length("mysql"), 32);
    SM_ASSERT_INT_EQ(rot_engine_mysql.max_username_length("aurora-mysql"), 32);
    SM_ASSERT_INT_EQ(rot_engine_mysql.max_username_length("mariadb"), 80);
    setenv("USERNAME_CHARACTER_LIMIT", "16", 1);
    SM_ASSERT_OK(rot_engine_mysql.init(&err), err);
    SM_ASSERT_INT_EQ(rot_engine_mysql.max_username_length("mysql"), 16);
    SM_ASSERT_INT_EQ(rot_engine_mysql.max_username_length("mariadb"), 80);
}

SM_TEST(mysql_init_rejects_bad_username_character_limit) {
    const char *bad[] = {"abc", "0", "-3", "16x", "256", " 16"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct sm_err err;
        sm_err_clear(&err);
        setenv("USERNAME_CHARACTER_LIMIT", bad[i], 1);
        SM_ASSERT_INT_EQ(rot_engine_mysql.init(&err), -1);
        SM_ASSERT_CODE_EQ(err.code, SM_ERR_CONFIG);
        SM_ASSERT_STR_CONTAINS(err.msg, "USERNAME_CHARACTER_LIMIT");
    }
}

SM_TEST(mysql_init_rejects_missing_plugin_dir) {
    struct sm_err err;
    sm_err_clear(&err);
    setenv("SMROTATE_MYSQL_PLUGIN_DIR", "/nonexistent/smrotate-plugins", 1);
    SM_ASSERT_INT_EQ(rot_engine_mysql.init(&err), -1);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_CONFIG);
    SM_ASSERT_STR_CONTAINS(err.msg, "SMROTATE_MYSQL_PLUGIN_DIR");
}

/* ---------------------------------------------------------------------------------------------
 * Connecting
 */

SM_TEST(mysql_connect_admin_with_required_tls_and_check) {
    struct rot_conn *c = NULL;
    struct sm_err err;
    setup();
    SM_ASSERT_OK(eng_connect(fx.admin_user, fx.admin_password, fx.port, ROT_TLS_REQUIRED,
                             fx.ca_file, &c, &err),
                 err);
    SM_ASSERT_OK(rot_engine_mysql.check(c, &err), err);
    rot_engine_mysql.disconnect(c);
    rot_engine_mysql.disconnect(NULL);
}

SM_TEST(mysql_connect_wrong_password_is_db_login_without_password) {
    struct rot_conn *c = NULL;
    struct sm_err err;
    const char *user = uniq("wrongpw");
    setup();
    create_user(user, "%", "right-Pa55word", "");
    SM_ASSERT_INT_EQ(
        eng_connect(user, "wrong-Pa55word", fx.port, ROT_TLS_REQUIRED, fx.ca_file, &c, &err), -1);
    SM_ASSERT(c == NULL);
    SM_ASSERT_CODE_EQ(err.code, ROT_ERR_DB_LOGIN);
    SM_ASSERT_STR_CONTAINS(err.msg, "[1045]"); /* ER_ACCESS_DENIED_ERROR, the server's code */
    SM_ASSERT_STR_CONTAINS(err.msg, user);
    SM_ASSERT_STR_CONTAINS(err.msg, "127.0.0.1:");
    SM_ASSERT_STR_NOT_CONTAINS(err.msg, "wrong-Pa55word");
    SM_ASSERT_STR_NOT_CONTAINS(err.msg, "right-Pa55word");
    /* AUTO must not retry a refused password in plaintext either: same answer. */
    SM_ASSERT_INT_EQ(
        eng_connect(user, "wrong-Pa55word", fx.port, ROT_TLS_AUTO, fx.ca_file, &c, &err), -1);
    SM_ASSERT_CODE_EQ(err.code, ROT_ERR_DB_LOGIN);
    drop_user(user, "%");
}

SM_TEST(mysql_connect_closed_port_is_db_unreachable) {
    struct rot_conn *c = NULL;
    struct sm_err err;
    int port, fd;
    setup();
    port = closed_port(&fd);
    SM_ASSERT_INT_EQ(
        eng_connect(fx.admin_user, fx.admin_password, port, ROT_TLS_AUTO, fx.ca_file, &c, &err),
        -1);
    SM_ASSERT_CODE_EQ(err.code, ROT_ERR_DB_UNREACHABLE);
    SM_ASSERT_STR_CONTAINS(err.msg, "cannot reach");
    SM_ASSERT_STR_NOT_CONTAINS(err.msg, fx.admin_password);
    close(fd);
}

SM_TEST(mysql_connect_silent_listener_fails_within_the_timeout) {
    struct rot_login login = {
        .host = "127.0.0.1", .username = "u", .password = "Secret-1", .tls = ROT_TLS_AUTO};
    struct rot_connect_opts o = {.connect_timeout_ms = 2000, .deadline_ms = sm_now_ms() + 60000};
    struct rot_conn *c = NULL;
    struct sm_err err;
    int fd;
    setup();
    o.ca_file = fx.ca_file;
    fd = silent_listener(&login.port);
    int64_t t0 = sm_monotonic_ms();
    sm_err_clear(&err);
    SM_ASSERT_INT_EQ(rot_engine_mysql.connect(&login, &o, &c, &err), -1);
    int64_t took = sm_monotonic_ms() - t0;
    close(fd);
    SM_ASSERT_CODE_EQ(err.code, ROT_ERR_DB_UNREACHABLE);
    SM_ASSERT_STR_CONTAINS(err.msg, "cannot reach");
    SM_ASSERT_STR_CONTAINS(err.msg, "did not answer in time");
    SM_ASSERT_STR_CONTAINS(err.msg, "connect timeout 2 s");
    /* The engine says "did not answer in time" only after measuring 2 s - 250 ms itself. */
    if (took < 1750 || took >= HANG_GUARD_MS) {
        SM_FAIL("a silent server took %lld ms to fail (timeout 2 s)", (long long)took);
    }
}

SM_TEST(mysql_connect_timeout_is_capped_by_the_deadline) {
    struct rot_login login = {
        .host = "127.0.0.1", .username = "u", .password = "Secret-1", .tls = ROT_TLS_REQUIRED};
    struct rot_connect_opts o = {.connect_timeout_ms = 30000};
    struct rot_conn *c = NULL;
    struct sm_err err;
    int fd;
    setup();
    o.ca_file = fx.ca_file;
    fd = silent_listener(&login.port);
    /* Under 3 s left: the 30 s connect timeout becomes the whole seconds left, 2 (or 1 on a
     * machine slow enough to lose a second before the engine looks at the clock). */
    o.deadline_ms = sm_now_ms() + 2999;
    int64_t t0 = sm_monotonic_ms();
    sm_err_clear(&err);
    SM_ASSERT_INT_EQ(rot_engine_mysql.connect(&login, &o, &c, &err), -1);
    int64_t took = sm_monotonic_ms() - t0;
    close(fd);
    SM_ASSERT_CODE_EQ(err.code, ROT_ERR_DB_UNREACHABLE);
    SM_ASSERT_STR_CONTAINS(err.msg, "did not answer in time");
    long capped = connect_timeout_s_in(err.msg);
    if (capped < 1 || capped > 2 || took >= HANG_GUARD_MS) {
        SM_FAIL("connect timeout %ld s, failed after %lld ms (deadline in 2999 ms, timeout 30 s)",
                capped, (long long)took);
    }
    /* Less than a second left: fail before trying (nothing reaches the listener). */
    fd = silent_listener(&login.port);
    o.deadline_ms = sm_now_ms() + 500;
    sm_err_clear(&err);
    SM_ASSERT_INT_EQ(rot_engine_mysql.connect(&login, &o, &c, &err), -1);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_DEADLINE);
    SM_ASSERT(!listener_was_reached(fd));
    close(fd);
}

SM_TEST(mysql_connect_required_tls_against_plain_server_is_db_tls) {
    struct rot_conn *c = NULL;
    struct sm_err err;
    setup();
    SM_ASSERT_INT_EQ(eng_connect(fx.admin_user, fx.admin_password, fx.port_notls, ROT_TLS_REQUIRED,
                                 fx.ca_file, &c, &err),
                     -1);
    SM_ASSERT_CODE_EQ(err.code, ROT_ERR_DB_TLS);
    SM_ASSERT_STR_CONTAINS(err.msg, "does not offer TLS");
}

SM_TEST(mysql_connect_wrong_ca_is_db_tls_for_required_and_auto) {
    struct rot_conn *c = NULL;
    struct sm_err err;
    setup();
    /* The TLS instance also accepts plaintext logins: a downgrade would succeed. */
    SM_ASSERT_INT_EQ(eng_connect(fx.admin_user, fx.admin_password, fx.port, ROT_TLS_REQUIRED,
                                 fx.bad_ca_file, &c, &err),
                     -1);
    SM_ASSERT_CODE_EQ(err.code, ROT_ERR_DB_TLS);
    SM_ASSERT_STR_CONTAINS(err.msg, fx.bad_ca_file);
    SM_ASSERT_INT_EQ(eng_connect(fx.admin_user, fx.admin_password, fx.port, ROT_TLS_AUTO,
                                 fx.bad_ca_file, &c, &err),
                     -1);
    SM_ASSERT_CODE_EQ(err.code, ROT_ERR_DB_TLS);
    SM_ASSERT(c == NULL);
}

SM_TEST(mysql_connect_system_trust_store_rejects_test_ca) {
    struct rot_conn *c = NULL;
    struct sm_err err;
    setup();
    /* The system store does not hold the fixture's test CA. */
    SM_ASSERT(sm_system_ca_bundle() != NULL);
    SM_ASSERT_INT_EQ(eng_connect(fx.admin_user, fx.admin_password, fx.port, ROT_TLS_AUTO,
                                 sm_system_ca_bundle(), &c, &err),
                     -1);
    SM_ASSERT_CODE_EQ(err.code, ROT_ERR_DB_TLS);
    SM_ASSERT_STR_CONTAINS(err.msg, "SMROTATE_DB_CA_FILE");
}

SM_TEST(mysql_connect_without_a_ca_bundle_is_db_tls_naming_the_setting) {
    struct rot_conn *c = NULL;
    struct sm_err err;
    setup();
    /* No bundle at all (none packaged, no system store): TLS fails, never a library default. */
    SM_ASSERT_INT_EQ(
        eng_connect(fx.admin_user, fx.admin_password, fx.port, ROT_TLS_AUTO, NULL, &c, &err), -1);
    SM_ASSERT_CODE_EQ(err.code, ROT_ERR_DB_TLS);
    SM_ASSERT_STR_CONTAINS(err.msg, "SMROTATE_DB_CA_FILE");
    /* Without TLS there is nothing to verify. */
    SM_ASSERT_OK(
        eng_connect(fx.admin_user, fx.admin_password, fx.port, ROT_TLS_OFF, NULL, &c, &err), err);
    rot_engine_mysql.disconnect(c);
}

SM_TEST(mysql_connect_host_name_mismatch_is_db_tls) {
    struct rot_login login = {.host = "127.1", /* 127.0.0.1, but not a name in the certificate */
                              .username = fx.admin_user,
                              .password = fx.admin_password,
                              .tls = ROT_TLS_AUTO};
    struct rot_connect_opts o;
    struct rot_conn *c = NULL;
    struct sm_err err;
    setup();
    login.username = fx.admin_user;
    login.password = fx.admin_password;
    login.port = fx.port;
    o = opts_with(fx.ca_file);
    sm_err_clear(&err);
    SM_ASSERT_INT_EQ(rot_engine_mysql.connect(&login, &o, &c, &err), -1);
    SM_ASSERT_CODE_EQ(err.code, ROT_ERR_DB_TLS);
    /* The message says which setting would apply. */
    SM_ASSERT_STR_CONTAINS(err.msg, "SMROTATE_DB_TLS_VERIFY=ca");
    SM_ASSERT_STR_CONTAINS(err.msg, "127.1");
    /* ... while the certificate's own names work. */
    login.host = "localhost";
    SM_ASSERT_OK(rot_engine_mysql.connect(&login, &o, &c, &err), err);
    rot_engine_mysql.disconnect(c);
}

/* Logs in over TLS as a REQUIRE SSL user (which proves the transport) with verification mode
 * verify at host; returns the connect result, err set. */
static int tls_login(const char *host, int port, enum rot_tls tls, const char *ca_file,
                     enum rot_tls_verify verify, const char *user, const char *password,
                     struct sm_err *err) {
    struct rot_login login = {
        .host = host, .port = port, .username = user, .password = password, .tls = tls};
    struct rot_connect_opts o = opts_with(ca_file);
    struct rot_conn *c = NULL;
    o.tls_verify = verify;
    sm_err_clear(err);
    int rc = rot_engine_mysql.connect(&login, &o, &c, err);
    if (rc == 0) {
        rc = rot_engine_mysql.check(c, err);
    }
    rot_engine_mysql.disconnect(c);
    return rc;
}

SM_TEST(mysql_tls_verify_ca_accepts_a_host_the_certificate_does_not_name) {
    const char *user = uniq("vca");
    struct sm_err err;
    setup();
    create_user(user, "%", "Pa55-word", "REQUIRE SSL");
    /* 127.1 is 127.0.0.1 under a name the certificate does not hold. */
    SM_ASSERT_OK(tls_login("127.1", fx.port, ROT_TLS_REQUIRED, fx.ca_file, ROT_TLS_VERIFY_CA, user,
                           "Pa55-word", &err),
                 err);
    SM_ASSERT_OK(tls_login("127.1", fx.port, ROT_TLS_AUTO, fx.ca_file, ROT_TLS_VERIFY_CA, user,
                           "Pa55-word", &err),
                 err);
    SM_ASSERT_INT_EQ(tls_login("127.1", fx.port, ROT_TLS_REQUIRED, fx.ca_file, ROT_TLS_VERIFY_FULL,
                               user, "Pa55-word", &err),
                     -1);
    SM_ASSERT_CODE_EQ(err.code, ROT_ERR_DB_TLS);
    SM_ASSERT_STR_CONTAINS(err.msg, "SMROTATE_DB_TLS_VERIFY=ca");
    drop_user(user, "%");
}

SM_TEST(mysql_tls_verify_ca_still_verifies_the_chain) {
    struct sm_err err;
    setup();
    SM_ASSERT_INT_EQ(tls_login("127.1", fx.port, ROT_TLS_AUTO, fx.bad_ca_file, ROT_TLS_VERIFY_CA,
                               fx.admin_user, fx.admin_password, &err),
                     -1);
    SM_ASSERT_CODE_EQ(err.code, ROT_ERR_DB_TLS);
    SM_ASSERT_STR_CONTAINS(err.msg, "SMROTATE_DB_CA_FILE");
    SM_ASSERT_STR_CONTAINS(err.msg, fx.bad_ca_file);
    SM_ASSERT_STR_NOT_CONTAINS(err.msg, "SMROTATE_DB_TLS_VERIFY=ca");
}

SM_TEST(mysql_tls_verify_ca_never_falls_back_to_plaintext) {
    struct sm_err err;
    setup();
    /* Refused when the greeting says no TLS, before any credential is sent; a plaintext login
     * would have succeeded (the admin has no REQUIRE). */
    SM_ASSERT_INT_EQ(tls_login(fx.host, fx.port_notls, ROT_TLS_REQUIRED, fx.ca_file,
                               ROT_TLS_VERIFY_CA, fx.admin_user, fx.admin_password, &err),
                     -1);
    SM_ASSERT_CODE_EQ(err.code, ROT_ERR_DB_TLS);
    SM_ASSERT_STR_CONTAINS(err.msg, "does not offer TLS");
    /* AUTO keeps its meaning: plaintext only when the server offers no TLS at all. */
    SM_ASSERT_OK(tls_login(fx.host, fx.port_notls, ROT_TLS_AUTO, fx.ca_file, ROT_TLS_VERIFY_CA,
                           fx.admin_user, fx.admin_password, &err),
                 err);
}

SM_TEST(mysql_tls_default_trust_is_the_packaged_bundle_and_the_system_store) {
    struct rot_db_trust trust;
    struct sm_err err;
    const char *user = uniq("trust");
    setup();
    create_user(user, "%", "Pa55-word", "REQUIRE SSL");
    /* The fixture's test CA plays the packaged RDS bundle. */
    struct rot_db_trust_sources src = {.packaged = fx.ca_file,
                                       .system = sm_system_ca_bundle(),
                                       .tmp_dir = getenv("SMR_STATE_DIR")};
    SM_ASSERT(src.system != NULL);
    SM_ASSERT_OK(rot_db_trust_resolve(&src, &trust, &err), err);
    SM_ASSERT(trust.temp_file != NULL);
    struct rot_login login = {.host = "localhost",
                              .port = fx.port,
                              .username = user,
                              .password = "Pa55-word",
                              .tls = ROT_TLS_REQUIRED};
    struct rot_connect_opts o = opts_with(trust.ca_file);
    struct rot_conn *c = NULL;
    o.ca_origin = trust.origin;
    SM_ASSERT_OK(rot_engine_mysql.connect(&login, &o, &c, &err), err);
    rot_engine_mysql.disconnect(c);
    rot_db_trust_clean_up(&trust);
    /* An unrelated "packaged" CA: not trusted, and the message says by what. */
    src.packaged = fx.bad_ca_file;
    SM_ASSERT_OK(rot_db_trust_resolve(&src, &trust, &err), err);
    o.ca_file = trust.ca_file;
    o.ca_origin = trust.origin;
    SM_ASSERT_INT_EQ(rot_engine_mysql.connect(&login, &o, &c, &err), -1);
    SM_ASSERT_CODE_EQ(err.code, ROT_ERR_DB_TLS);
    SM_ASSERT_STR_CONTAINS(err.msg, "the packaged RDS bundle");
    SM_ASSERT_STR_CONTAINS(err.msg, "the system store");
    SM_ASSERT_STR_CONTAINS(err.msg, "SMROTATE_DB_CA_FILE");
    rot_db_trust_clean_up(&trust);
    drop_user(user, "%");
}

SM_TEST(mysql_mariadb_has_no_replace_clause_so_none_is_sent) {
    const char *user = uniq("norepl");
    struct rot_conn *c = NULL;
    struct sm_err err;
    setup();
    create_user(user, "%", "Old-pa55", "");
    /* The current password is known, and not sent: MariaDB's grammar has no REPLACE clause. */
    SM_ASSERT_OK(eng_connect(user, "Old-pa55", fx.port, ROT_TLS_REQUIRED, fx.ca_file, &c, &err),
                 err);
    SM_ASSERT_OK(rot_engine_mysql.set_own_password(c, user, "Old-pa55", "New-pa55", &err), err);
    rot_engine_mysql.disconnect(c);
    SM_ASSERT(eng_can_login(user, "New-pa55", ROT_TLS_REQUIRED));
    MYSQL *m = raw_connect(user, "New-pa55", fx.port, true);
    SM_ASSERT(m != NULL);
    const char *with_replace[] = {"SET PASSWORD = PASSWORD('x-Pa55') REPLACE 'New-pa55'",
                                  "ALTER USER CURRENT_USER() IDENTIFIED BY 'x-Pa55' REPLACE "
                                  "'New-pa55'"};
    for (size_t i = 0; i < 2; i++) {
        SM_ASSERT(mysql_query(m, with_replace[i]) != 0);
        SM_ASSERT_INT_EQ(mysql_errno(m), ER_PARSE_ERROR);
    }
    /* ... and no password_require_current to ask for one. */
    SM_ASSERT(mysql_query(m, "SELECT @@GLOBAL.password_require_current") != 0);
    SM_ASSERT_INT_EQ(mysql_errno(m), ER_UNKNOWN_SYSTEM_VARIABLE);
    mysql_close(m);
    drop_user(user, "%");
}

SM_TEST(mysql_connect_auto_against_plain_server_uses_plaintext) {
    struct rot_conn *c = NULL;
    struct sm_err err;
    setup();
    SM_ASSERT_OK(eng_connect(fx.admin_user, fx.admin_password, fx.port_notls, ROT_TLS_AUTO,
                             fx.ca_file, &c, &err),
                 err);
    SM_ASSERT_OK(rot_engine_mysql.check(c, &err), err);
    rot_engine_mysql.disconnect(c);
}

SM_TEST(mysql_connect_tls_off_uses_plaintext_even_when_offered) {
    const char *user = uniq("needssl");
    setup();
    create_user(user, "%", "Pa55-word", "REQUIRE SSL");
    /* A REQUIRE SSL account proves which transport each mode used. */
    SM_ASSERT(!eng_can_login(user, "Pa55-word", ROT_TLS_OFF));
    SM_ASSERT(eng_can_login(user, "Pa55-word", ROT_TLS_AUTO));
    SM_ASSERT(eng_can_login(user, "Pa55-word", ROT_TLS_REQUIRED));
    drop_user(user, "%");
}

SM_TEST(mysql_connect_unknown_database_is_db_query) {
    struct rot_login login = {0};
    struct rot_connect_opts o;
    struct rot_conn *c = NULL;
    struct sm_err err;
    const char *db = uniq("db");
    setup();
    login.host = fx.host;
    login.port = fx.port;
    login.username = fx.admin_user;
    login.password = fx.admin_password;
    login.tls = ROT_TLS_REQUIRED;
    login.dbname = db;
    o = opts_with(fx.ca_file);
    sm_err_clear(&err);
    SM_ASSERT_INT_EQ(rot_engine_mysql.connect(&login, &o, &c, &err), -1);
    SM_ASSERT_CODE_EQ(err.code, ROT_ERR_DB_QUERY);
    SM_ASSERT_STR_CONTAINS(err.msg, "[1049]"); /* ER_BAD_DB_ERROR */
    admin_exec("CREATE DATABASE `%s`", db);
    SM_ASSERT_OK(rot_engine_mysql.connect(&login, &o, &c, &err), err);
    rot_engine_mysql.disconnect(c);
    admin_exec("DROP DATABASE `%s`", db);
}

/* ---------------------------------------------------------------------------------------------
 * Single user: set_own_password
 */

/* Logs in as user/old, sets new, and checks new works and old fails. */
static void rotate_own(const char *user, const char *old_pw, const char *new_pw, enum rot_tls tls) {
    struct rot_conn *c = NULL;
    struct sm_err err;
    SM_ASSERT_OK(eng_connect(user, old_pw, fx.port, tls, fx.ca_file, &c, &err), err);
    SM_ASSERT_OK(rot_engine_mysql.set_own_password(c, user, old_pw, new_pw, &err), err);
    /* Idempotent. */
    SM_ASSERT_OK(rot_engine_mysql.set_own_password(c, user, new_pw, new_pw, &err), err);
    rot_engine_mysql.disconnect(c);
    SM_ASSERT(eng_can_login(user, new_pw, tls));
    c = NULL;
    SM_ASSERT_INT_EQ(eng_connect(user, old_pw, fx.port, tls, fx.ca_file, &c, &err), -1);
    SM_ASSERT_CODE_EQ(err.code, ROT_ERR_DB_LOGIN);
    SM_ASSERT_STR_NOT_CONTAINS(err.msg, old_pw);
}

SM_TEST(mysql_require_ssl_user_rotates_own_password_over_tls) {
    const char *user = uniq("reqssl");
    setup();
    create_user(user, "%", "Old-pa55", "REQUIRE SSL");
    rotate_own(user, "Old-pa55", "New-pa55", ROT_TLS_REQUIRED);
    SM_ASSERT_STR_EQ(admin_rows("SELECT ssl_type FROM mysql.user WHERE User = %s", lit(user)),
                     "ANY");
    drop_user(user, "%");
}

SM_TEST(mysql_set_own_password_hostile_names_and_passwords) {
    const char *tags[] = {"q'uote",   "b`tick",     "sp ace",   "semi;colon--",
                          "dq\"bs\\", "pct%_under", "ünïcødé€", "MiXeD"};
    const char *old_pw = "o'ld\\pw%$\"`;-- x";
    const char *new_pw = "n'ew\\\\pw%_$\"`;/*x*/ \\'";
    setup();
    for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
        const char *user = uniq(tags[i]);
        create_user(user, "%", old_pw, "");
        rotate_own(user, old_pw, new_pw, ROT_TLS_AUTO);
        drop_user(user, "%");
    }
}

SM_TEST(mysql_set_own_password_refuses_bad_names_before_any_sql) {
    struct rot_conn *c = NULL;
    struct sm_err err;
    char long_name[100];
    const char *user = uniq("refuse");
    setup();
    create_user(user, "%", "Old-pa55", "");
    SM_ASSERT_OK(eng_connect(user, "Old-pa55", fx.port, ROT_TLS_AUTO, fx.ca_file, &c, &err), err);
    /* MariaDB's limit is 80 characters, MySQL's (USERNAME_CHARACTER_LIMIT) 32. */
    memset(long_name, 'a', 81);
    long_name[81] = '\0';
    SM_ASSERT_INT_EQ(rot_engine_mysql.set_own_password(c, long_name, "Old-pa55", "New-pa55", &err),
                     -1);
    SM_ASSERT_CODE_EQ(err.code, ROT_ERR_ROTATION);
    SM_ASSERT_STR_CONTAINS(err.msg, "81 characters");
    SM_ASSERT_INT_EQ(rot_engine_mysql.set_own_password(c, "bad\xff", "Old-pa55", "New-pa55", &err),
                     -1);
    SM_ASSERT_CODE_EQ(err.code, ROT_ERR_ROTATION);
    SM_ASSERT_INT_EQ(rot_engine_mysql.set_own_password(c, user, "Old-pa55", "", &err), -1);
    SM_ASSERT_CODE_EQ(err.code, ROT_ERR_ROTATION);
    SM_ASSERT_INT_EQ(rot_engine_mysql.set_own_password(c, user, "Old-pa55", "bad\xc3(", &err), -1);
    SM_ASSERT_CODE_EQ(err.code, ROT_ERR_ROTATION);
    /* 80 characters (multi-byte ones count once) is fine for the check. */
    rot_engine_mysql.disconnect(c);
    /* Nothing was sent: the old password still works. */
    SM_ASSERT(eng_can_login(user, "Old-pa55", ROT_TLS_AUTO));
    SM_ASSERT(!eng_can_login(user, "New-pa55", ROT_TLS_AUTO));
    drop_user(user, "%");
}

/* The statement that puts the server's global sql_mode back, built (escaped) before it changed;
 * empty when there is nothing to restore. Run by the test and, should the test end early
 * (SM_FAIL exits), by atexit: every new session on the fixture inherits the global value. */
static char s_restore_sql_mode[1024];

static void restore_global_sql_mode(void) {
    if (s_restore_sql_mode[0] == '\0' || s_admin == NULL) {
        return;
    }
    if (mysql_query(s_admin, s_restore_sql_mode) != 0) {
        fprintf(stderr, "could not restore the fixture's global sql_mode: %s\n",
                mysql_error(s_admin));
        return;
    }
    s_restore_sql_mode[0] = '\0';
}

SM_TEST(mysql_set_own_password_under_no_backslash_escapes) {
    const char *user = uniq("nbe");
    const char *new_pw = "a\\b'c\\'d\\\\";
    struct rot_conn *c = NULL;
    struct sm_err err;
    int rc_connect, rc_set = -1;
    setup();
    create_user(user, "%", "Old-pa55", "");
    /* tests/mariadb.cmake runs this test and its valgrind twin alone (RUN_SERIAL). */
    snprintf(s_restore_sql_mode, sizeof(s_restore_sql_mode), "SET GLOBAL sql_mode = %s",
             lit(admin_rows("SELECT @@GLOBAL.sql_mode")));
    SM_ASSERT(atexit(restore_global_sql_mode) == 0);
    admin_exec("SET GLOBAL sql_mode = CONCAT(@@GLOBAL.sql_mode, ',NO_BACKSLASH_ESCAPES')");
    rc_connect = eng_connect(user, "Old-pa55", fx.port, ROT_TLS_AUTO, fx.ca_file, &c, &err);
    if (rc_connect == 0) {
        rc_set = rot_engine_mysql.set_own_password(c, user, "Old-pa55", new_pw, &err);
    }
    rot_engine_mysql.disconnect(c);
    restore_global_sql_mode();
    SM_ASSERT(s_restore_sql_mode[0] == '\0');
    SM_ASSERT_STR_NOT_CONTAINS(admin_rows("SELECT @@GLOBAL.sql_mode"), "NO_BACKSLASH_ESCAPES");
    SM_ASSERT_OK(rc_connect, err);
    SM_ASSERT_OK(rc_set, err);
    /* The server stored exactly new_pw (a backslash-escaped literal would have changed it). */
    MYSQL *m = raw_connect(user, new_pw, fx.port, true);
    SM_ASSERT(m != NULL);
    mysql_close(m);
    drop_user(user, "%");
}

SM_TEST(mysql_ed25519_user_rotates_and_keeps_its_plugin) {
    const char *user = uniq("ed");
    setup();
    assert_ed25519_loaded();
    admin_exec("DROP USER IF EXISTS %s@'%%'", lit(user));
    admin_exec("CREATE USER %s@'%%' IDENTIFIED VIA ed25519 USING PASSWORD('Old-pa55')", lit(user));
    rotate_own(user, "Old-pa55", "New'pa55", ROT_TLS_REQUIRED);
    SM_ASSERT_STR_EQ(admin_rows("SELECT plugin FROM mysql.user WHERE User = %s", lit(user)),
                     "ed25519");
    drop_user(user, "%");
}

SM_TEST(mysql_plugin_dir_env_is_used_for_auth_plugins) {
    char dir[1024];
    const char *user = uniq("edp");
    struct rot_conn *c = NULL;
    struct sm_err err;
    fx_load();
    snprintf(dir, sizeof(dir), "%s/mysql-empty-plugins.XXXXXX", getenv("SMR_STATE_DIR"));
    SM_ASSERT(mkdtemp(dir) != NULL);
    setenv("SMROTATE_MYSQL_PLUGIN_DIR", dir, 1);
    setup();
    assert_ed25519_loaded();
    admin_exec("DROP USER IF EXISTS %s@'%%'", lit(user));
    admin_exec("CREATE USER %s@'%%' IDENTIFIED VIA ed25519 USING PASSWORD('Pa55-word')", lit(user));
    /* client_ed25519.so is not in the empty directory: a configuration error, not a login one. */
    SM_ASSERT_INT_EQ(
        eng_connect(user, "Pa55-word", fx.port, ROT_TLS_REQUIRED, fx.ca_file, &c, &err), -1);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_CONFIG);
    SM_ASSERT_STR_CONTAINS(err.msg, dir);
    SM_ASSERT_STR_CONTAINS(err.msg, "SMROTATE_MYSQL_PLUGIN_DIR");
    rmdir(dir);
    drop_user(user, "%");
}

/* ---------------------------------------------------------------------------------------------
 * Alternating users: sync_alternate_user
 */

static struct rot_conn *admin_conn(void) {
    struct rot_conn *c = NULL;
    struct sm_err err;
    SM_ASSERT_OK(eng_connect(fx.admin_user, fx.admin_password, fx.port, ROT_TLS_REQUIRED,
                             fx.ca_file, &c, &err),
                 err);
    return c;
}

/* Syncs clone to original and sets target's password. */
static void sync_to(const char *original, const char *clone, const char *target,
                    const char *password) {
    struct rot_conn *a = admin_conn();
    struct rot_user_pair users = {.original = original, .clone = clone, .target = target};
    struct sm_err err;
    sm_err_clear(&err);
    SM_ASSERT_OK(rot_engine_mysql.sync_alternate_user(a, &users, password, &err), err);
    rot_engine_mysql.disconnect(a);
}

/* The first rotation's call: the clone is the target. */
static void sync_ok(const char *original, const char *clone, const char *password) {
    sync_to(original, clone, clone, password);
}

/* A query as user over TLS; the first column of every row joined by "\n", or NULL on error. */
static const char *query_as(const char *user, const char *password, const char *sql) {
    static char out[4096];
    MYSQL *m = raw_connect(user, password, fx.port, true);
    if (m == NULL) {
        return NULL;
    }
    if (mysql_query(m, sql) != 0) {
        mysql_close(m);
        return NULL;
    }
    MYSQL_RES *r = mysql_store_result(m);
    MYSQL_ROW row;
    size_t used = 0;
    out[0] = '\0';
    while (r != NULL && (row = mysql_fetch_row(r)) != NULL) {
        used += (size_t)snprintf(out + used, sizeof(out) - used, "%s%s", used ? "\n" : "",
                                 row[0] ? row[0] : "NULL");
    }
    mysql_free_result(r);
    mysql_close(m);
    return out;
}

static const char *grants_of(const char *user, const char *host) {
    return admin_rows("SHOW GRANTS FOR %s@%s", lit(user), lit(host));
}

SM_TEST(mysql_sync_clones_non_percent_host_with_grant_option_tls_and_roles) {
    const char *base = uniq("app"), *db = uniq("shop"), *role = uniq("role");
    char alt[160], grants[16384];
    setup();
    snprintf(alt, sizeof(alt), "%s_clone", base);
    drop_user(alt, "127.0.0.1");
    admin_exec("DROP DATABASE IF EXISTS `%s`", db);
    admin_exec("CREATE DATABASE `%s`", db);
    admin_exec("CREATE TABLE `%s`.t (id INT, secret INT)", db);
    admin_exec("INSERT INTO `%s`.t VALUES (42, 7)", db);
    create_user(base, "127.0.0.1", "Base-pa55", "REQUIRE SSL");
    admin_exec("GRANT SELECT ON `%s`.* TO %s@'127.0.0.1' WITH GRANT OPTION", db, lit(base));
    admin_exec("GRANT UPDATE (id) ON `%s`.t TO %s@'127.0.0.1'", db, lit(base));
    admin_exec("DROP ROLE IF EXISTS `%s`", role);
    admin_exec("CREATE ROLE `%s`", role);
    admin_exec("GRANT `%s` TO %s@'127.0.0.1' WITH ADMIN OPTION", role, lit(base));
    admin_exec("SET DEFAULT ROLE `%s` FOR %s@'127.0.0.1'", role, lit(base));

    sync_ok(base, alt, "Clone-pa55'1");

    snprintf(grants, sizeof(grants), "%s", grants_of(alt, "127.0.0.1"));
    char expect[512];
    snprintf(expect, sizeof(expect), "GRANT SELECT ON `%s`.* TO `%s`@`127.0.0.1` WITH GRANT OPTION",
             db, alt);
    SM_ASSERT_STR_CONTAINS(grants, expect);
    snprintf(expect, sizeof(expect), "GRANT UPDATE (`id`) ON `%s`.`t` TO `%s`@`127.0.0.1`", db,
             alt);
    SM_ASSERT_STR_CONTAINS(grants, expect);
    snprintf(expect, sizeof(expect), "GRANT `%s` TO `%s`@`127.0.0.1` WITH ADMIN OPTION", role, alt);
    SM_ASSERT_STR_CONTAINS(grants, expect);
    snprintf(expect, sizeof(expect), "SET DEFAULT ROLE `%s` FOR `%s`@`127.0.0.1`", role, alt);
    SM_ASSERT_STR_CONTAINS(grants, expect);
    /* The TLS requirement was copied, and only the base's host part exists. */
    SM_ASSERT_STR_EQ(admin_rows("SELECT CONCAT(Host, ' ', ssl_type) FROM mysql.user WHERE User = "
                                "%s",
                                lit(alt)),
                     "127.0.0.1 ANY");
    /* The clone logs in over TLS only, and reads what the base reads. */
    SM_ASSERT(eng_can_login(alt, "Clone-pa55'1", ROT_TLS_REQUIRED));
    SM_ASSERT(!eng_can_login(alt, "Clone-pa55'1", ROT_TLS_OFF));
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT id FROM `%s`.t", db);
    SM_ASSERT_STR_EQ(query_as(base, "Base-pa55", sql), "42");
    SM_ASSERT_STR_EQ(query_as(alt, "Clone-pa55'1", sql), "42");

    drop_user(alt, "127.0.0.1");
    drop_user(base, "127.0.0.1");
    admin_exec("DROP ROLE `%s`", role);
    admin_exec("DROP DATABASE `%s`", db);
}

SM_TEST(mysql_sync_rerun_resyncs_grants_and_changes_password) {
    const char *base = uniq("resync"), *db = uniq("rdb");
    char alt[160], sql[256], expect[512];
    setup();
    snprintf(alt, sizeof(alt), "%s_clone", base);
    drop_user(alt, "127.0.0.1");
    admin_exec("DROP DATABASE IF EXISTS `%s`", db);
    admin_exec("CREATE DATABASE `%s`", db);
    admin_exec("CREATE TABLE `%s`.t (id INT)", db);
    create_user(base, "127.0.0.1", "Base-pa55", "");
    admin_exec("GRANT SELECT, DELETE ON `%s`.* TO %s@'127.0.0.1'", db, lit(base));
    sync_ok(base, alt, "First-pa55");
    snprintf(sql, sizeof(sql), "INSERT INTO `%s`.t VALUES (1)", db);
    SM_ASSERT(query_as(alt, "First-pa55", sql) == NULL); /* no INSERT yet */

    /* The base gains INSERT and loses DELETE; its TLS requirement tightens. */
    admin_exec("GRANT INSERT ON `%s`.* TO %s@'127.0.0.1'", db, lit(base));
    admin_exec("REVOKE DELETE ON `%s`.* FROM %s@'127.0.0.1'", db, lit(base));
    admin_exec("ALTER USER %s@'127.0.0.1' REQUIRE X509", lit(base));
    sync_ok(base, alt, "Second-pa55");

    snprintf(expect, sizeof(expect), "GRANT SELECT, INSERT ON `%s`.* TO `%s`@`127.0.0.1`", db, alt);
    SM_ASSERT_STR_CONTAINS(grants_of(alt, "127.0.0.1"), expect);
    SM_ASSERT_STR_NOT_CONTAINS(grants_of(alt, "127.0.0.1"), "DELETE");
    SM_ASSERT_STR_EQ(admin_rows("SELECT ssl_type FROM mysql.user WHERE User = %s", lit(alt)),
                     "X509");
    SM_ASSERT(!eng_can_login(alt, "First-pa55", ROT_TLS_AUTO));
    /* X509 needs a client certificate we don't have: check the password by the error kind. */
    struct rot_conn *c = NULL;
    struct sm_err err;
    admin_exec("ALTER USER %s@'127.0.0.1' REQUIRE NONE", lit(base));
    sync_ok(base, alt, "Second-pa55");
    SM_ASSERT(eng_can_login(alt, "Second-pa55", ROT_TLS_AUTO));
    SM_ASSERT_INT_EQ(eng_connect(alt, "First-pa55", fx.port, ROT_TLS_AUTO, fx.ca_file, &c, &err),
                     -1);
    SM_ASSERT_CODE_EQ(err.code, ROT_ERR_DB_LOGIN);
    SM_ASSERT_STR_EQ(query_as(alt, "Second-pa55", sql), "");
    drop_user(alt, "127.0.0.1");
    drop_user(base, "127.0.0.1");
    admin_exec("DROP DATABASE `%s`", db);
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

static int count_of(const char *text, const char *needle) {
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle)) {
        n++;
    }
    return n;
}

SM_TEST(mysql_sync_targeting_the_original_sets_its_password_and_never_touches_its_grants) {
    const char *orig = uniq("flip"), *db = uniq("fdb");
    char clone[160], expect[512];
    setup();
    snprintf(clone, sizeof(clone), "%s_clone", orig);
    admin_exec("DROP DATABASE IF EXISTS `%s`", db);
    admin_exec("CREATE DATABASE `%s`", db);
    create_user(orig, "%", "Orig-pa55", "");
    admin_exec("GRANT SELECT ON `%s`.* TO %s@'%%'", db, lit(orig));
    drop_user(clone, "%");
    sync_ok(orig, clone, "Clone-pa55"); /* 1st rotation: the clone is the target */
    /* While the clone is current, INSERT is granted to the original only and UPDATE to the clone
     * only. The 2nd rotation sets the original's password and brings the clone in line with the
     * original: never the other way round. */
    admin_exec("GRANT INSERT ON `%s`.* TO %s@'%%'", db, lit(orig));
    admin_exec("GRANT UPDATE ON `%s`.* TO %s@'%%'", db, lit(clone));
    log_capture_begin();
    sync_to(orig, clone, orig, "Orig-pa55-2");
    char *log = log_capture_end();
    snprintf(expect, sizeof(expect), "GRANT SELECT, INSERT ON `%s`.* TO `%s`@`%%`", db, orig);
    SM_ASSERT_STR_CONTAINS(grants_of(orig, "%"), expect);
    SM_ASSERT_STR_NOT_CONTAINS(grants_of(orig, "%"), "UPDATE");
    snprintf(expect, sizeof(expect), "GRANT SELECT, INSERT ON `%s`.* TO `%s`@`%%`", db, clone);
    SM_ASSERT_STR_CONTAINS(grants_of(clone, "%"), expect);
    SM_ASSERT_STR_NOT_CONTAINS(grants_of(clone, "%"), "UPDATE");
    SM_ASSERT(eng_can_login(orig, "Orig-pa55-2", ROT_TLS_AUTO));
    SM_ASSERT(!eng_can_login(orig, "Orig-pa55", ROT_TLS_AUTO));
    SM_ASSERT(eng_can_login(clone, "Clone-pa55", ROT_TLS_AUTO)); /* the clone's is untouched */
    /* One warning, before the revocation, naming it; never a password. */
    SM_ASSERT_INT_EQ(count_of(log, "\tWARN\t"), 1);
    SM_ASSERT_STR_CONTAINS(log, "already exists; revoking 1 grant(s)");
    snprintf(expect, sizeof(expect), "REVOKE UPDATE ON `%s`.* FROM '%s'@'%%'", db, clone);
    SM_ASSERT_STR_CONTAINS(log, expect);
    SM_ASSERT_STR_NOT_CONTAINS(log, "pa55");
    free(log);
    /* In line now: no warning the next time. */
    log_capture_begin();
    sync_ok(orig, clone, "Clone-pa55-3");
    log = log_capture_end();
    SM_ASSERT_INT_EQ(count_of(log, "\tWARN\t"), 0);
    free(log);
    drop_user(clone, "%");
    drop_user(orig, "%");
    admin_exec("DROP DATABASE `%s`", db);
}

SM_TEST(mysql_sync_creates_a_missing_clone_with_no_known_password_when_the_original_is_the_target) {
    const char *orig = uniq("noclone"), *db = uniq("ndb");
    char clone[160], expect[512];
    setup();
    snprintf(clone, sizeof(clone), "%s_clone", orig);
    admin_exec("DROP DATABASE IF EXISTS `%s`", db);
    admin_exec("CREATE DATABASE `%s`", db);
    create_user(orig, "%", "Orig-pa55", "");
    admin_exec("GRANT SELECT ON `%s`.* TO %s@'%%'", db, lit(orig));
    drop_user(clone, "%");
    log_capture_begin();
    sync_to(orig, clone, orig, "Orig-new-pa55");
    char *log = log_capture_end();
    SM_ASSERT_INT_EQ(count_of(log, "\tWARN\t"), 0); /* a new clone has nothing to lose */
    free(log);
    SM_ASSERT(eng_can_login(orig, "Orig-new-pa55", ROT_TLS_AUTO));
    snprintf(expect, sizeof(expect), "GRANT SELECT ON `%s`.* TO `%s`@`%%`", db, clone);
    SM_ASSERT_STR_CONTAINS(grants_of(clone, "%"), expect);
    /* No password anyone knows: not the new one, not an empty one. */
    SM_ASSERT(!eng_can_login(clone, "Orig-new-pa55", ROT_TLS_AUTO));
    SM_ASSERT_STR_EQ(
        admin_rows("SELECT authentication_string = '' FROM mysql.user WHERE User = %s", lit(clone)),
        "0");
    drop_user(clone, "%");
    drop_user(orig, "%");
    admin_exec("DROP DATABASE `%s`", db);
}

SM_TEST(mysql_sync_copies_every_host_part_and_hostile_names) {
    const char *base = uniq("h'o`st;x y");
    char alt[160];
    setup();
    snprintf(alt, sizeof(alt), "%s_clone", base);
    drop_user(alt, "127.0.0.1");
    drop_user(alt, "10.9.%");
    create_user(base, "127.0.0.1", "Pa55'\\word", "");
    create_user(base, "10.9.%", "Pa55'\\word", "REQUIRE SSL");
    admin_exec("GRANT PROCESS ON *.* TO %s@'10.9.%%'", lit(base));
    sync_ok(base, alt, "N3w'\\pa55\"`");
    SM_ASSERT_STR_EQ(admin_rows("SELECT CONCAT(Host, ' ', ssl_type) FROM mysql.user WHERE User = "
                                "%s ORDER BY Host",
                                lit(alt)),
                     "10.9.% ANY\n127.0.0.1 ");
    SM_ASSERT_STR_CONTAINS(grants_of(alt, "10.9.%"), "GRANT PROCESS ON *.*");
    SM_ASSERT_STR_NOT_CONTAINS(grants_of(alt, "127.0.0.1"), "PROCESS");
    SM_ASSERT(eng_can_login(alt, "N3w'\\pa55\"`", ROT_TLS_AUTO));
    drop_user(alt, "127.0.0.1");
    drop_user(alt, "10.9.%");
    drop_user(base, "127.0.0.1");
    drop_user(base, "10.9.%");
}

SM_TEST(mysql_sync_keeps_ed25519_plugin_for_the_clone) {
    const char *base = uniq("edsync");
    char alt[160];
    setup();
    snprintf(alt, sizeof(alt), "%s_clone", base);
    assert_ed25519_loaded();
    drop_user(alt, "%");
    admin_exec("DROP USER IF EXISTS %s@'%%'", lit(base));
    admin_exec("CREATE USER %s@'%%' IDENTIFIED VIA ed25519 USING PASSWORD('Pa55-word')", lit(base));
    sync_ok(base, alt, "Clone-1");
    SM_ASSERT_STR_EQ(admin_rows("SELECT plugin FROM mysql.user WHERE User = %s", lit(alt)),
                     "ed25519");
    SM_ASSERT(eng_can_login(alt, "Clone-1", ROT_TLS_REQUIRED));
    sync_ok(base, alt, "Clone-2"); /* the existing-account path */
    SM_ASSERT_STR_EQ(admin_rows("SELECT plugin FROM mysql.user WHERE User = %s", lit(alt)),
                     "ed25519");
    SM_ASSERT(eng_can_login(alt, "Clone-2", ROT_TLS_REQUIRED));
    SM_ASSERT(!eng_can_login(alt, "Clone-1", ROT_TLS_REQUIRED));
    drop_user(alt, "%");
    drop_user(base, "%");
}

SM_TEST(mysql_sync_refuses_too_long_alternate_name_before_any_sql) {
    const char *base = uniq("long");
    char alt[128];
    struct rot_conn *a;
    struct sm_err err;
    setup();
    create_user(base, "%", "Pa55-word", "");
    memset(alt, 'x', 81);
    alt[81] = '\0';
    a = admin_conn();
    sm_err_clear(&err);
    struct rot_user_pair users = {.original = base, .clone = alt, .target = alt};
    SM_ASSERT_INT_EQ(rot_engine_mysql.sync_alternate_user(a, &users, "Pa55-word", &err), -1);
    SM_ASSERT_CODE_EQ(err.code, ROT_ERR_ROTATION);
    char limit[32];
    snprintf(limit, sizeof(limit), "at most %d", fx.name_limit);
    SM_ASSERT_STR_CONTAINS(err.msg, limit);
    users = (struct rot_user_pair){.original = base, .clone = base, .target = base};
    SM_ASSERT_INT_EQ(rot_engine_mysql.sync_alternate_user(a, &users, "Pa55-word", &err), -1);
    SM_ASSERT_CODE_EQ(err.code, ROT_ERR_ROTATION);
    /* The target must be one of the two (alt, cut to a valid length, is the clone here). */
    char other[160];
    snprintf(other, sizeof(other), "%s_other", base);
    alt[20] = '\0';
    users = (struct rot_user_pair){.original = base, .clone = alt, .target = other};
    SM_ASSERT_INT_EQ(rot_engine_mysql.sync_alternate_user(a, &users, "Pa55-word", &err), -1);
    SM_ASSERT_CODE_EQ(err.code, ROT_ERR_ROTATION);
    rot_engine_mysql.disconnect(a);
    SM_ASSERT_STR_EQ(admin_rows("SELECT COUNT(*) FROM mysql.user WHERE User = %s", lit(alt)), "0");
    drop_user(base, "%");
}

SM_TEST(mysql_sync_missing_base_user_fails_cleanly) {
    const char *base = uniq("ghost");
    char alt[160];
    struct rot_conn *a;
    struct sm_err err;
    setup();
    snprintf(alt, sizeof(alt), "%s_clone", base);
    a = admin_conn();
    sm_err_clear(&err);
    struct rot_user_pair users = {.original = base, .clone = alt, .target = alt};
    SM_ASSERT_INT_EQ(rot_engine_mysql.sync_alternate_user(a, &users, "Pa55-word", &err), -1);
    SM_ASSERT_CODE_EQ(err.code, ROT_ERR_ROTATION);
    SM_ASSERT_STR_CONTAINS(err.msg, "no account");
    rot_engine_mysql.disconnect(a);
}

SM_TEST(mysql_sync_without_privileges_is_db_query) {
    const char *weak = uniq("weak"), *base = uniq("wbase");
    char alt[160];
    struct rot_conn *a = NULL;
    struct sm_err err;
    setup();
    snprintf(alt, sizeof(alt), "%s_clone", base);
    create_user(weak, "%", "Weak-pa55", "");
    create_user(base, "%", "Pa55-word", "");
    SM_ASSERT_OK(eng_connect(weak, "Weak-pa55", fx.port, ROT_TLS_AUTO, fx.ca_file, &a, &err), err);
    struct rot_user_pair users = {.original = base, .clone = alt, .target = alt};
    SM_ASSERT_INT_EQ(rot_engine_mysql.sync_alternate_user(a, &users, "Secret-Pa55", &err), -1);
    SM_ASSERT_CODE_EQ(err.code, ROT_ERR_DB_QUERY);
    SM_ASSERT_STR_NOT_CONTAINS(err.msg, "Secret-Pa55");
    rot_engine_mysql.disconnect(a);
    drop_user(weak, "%");
    drop_user(base, "%");
}
