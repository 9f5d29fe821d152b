#include "db_mysql.h"

#include "db_server.h"

#include <stdarg.h>

MYSQL *db_my_raw_connect(const char *user, const char *password, int port, bool tls) {
    MYSQL *m = mysql_init(NULL);
    unsigned int tcp = MYSQL_PROTOCOL_TCP, timeout = 30; /* a hang guard, not a limit */
    my_bool verify = 1;
    mysql_optionsv(m, MYSQL_OPT_PROTOCOL, &tcp);
    mysql_optionsv(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    mysql_optionsv(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    if (tls) {
        mysql_optionsv(m, MYSQL_OPT_SSL_CA, db_server()->ca_file);
        mysql_optionsv(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify);
    }
    if (mysql_real_connect(m, db_server()->host, user, password, NULL, (unsigned int)port, NULL,
                           0) == NULL) {
        mysql_close(m);
        return NULL;
    }
    return m;
}

static MYSQL *admin_at(MYSQL **admin, int port) {
    if (*admin == NULL) {
        const struct db_server *s = db_server();
        *admin = db_my_raw_connect(s->admin_user, s->admin_password, port, false);
        if (*admin == NULL) {
            SM_FAIL("admin login to the fixture (port %d) failed", port);
        }
    }
    return *admin;
}

MYSQL *db_my_admin(void) {
    static MYSQL *admin;
    return admin_at(&admin, db_server()->port);
}

MYSQL *db_my_admin_notls(void) {
    static MYSQL *admin;
    return admin_at(&admin, db_server()->port_notls);
}

const char *db_my_lit(const char *s) {
    static char ring[16][1024];
    static int next;
    char *out = ring[next++ % 16], esc[1000];
    SM_ASSERT(strlen(s) < 400);
    mysql_real_escape_string(db_my_admin(), esc, s, (unsigned long)strlen(s));
    snprintf(out, sizeof(ring[0]), "'%s'", esc);
    return out;
}

/* Runs sql on m; the first column of its rows joined by "\n" into out, or false on error. */
static bool rows_of(MYSQL *m, const char *sql, char *out, size_t cap) {
    MYSQL_ROW row;
    size_t used = 0;
    out[0] = '\0';
    if (mysql_query(m, sql) != 0) {
        return false;
    }
    MYSQL_RES *r = mysql_store_result(m);
    while (r != NULL && (row = mysql_fetch_row(r)) != NULL) {
        int n =
            snprintf(out + used, cap - used, "%s%s", used ? "\n" : "", row[0] ? row[0] : "NULL");
        used += n > 0 && (size_t)n < cap - used ? (size_t)n : 0;
    }
    mysql_free_result(r);
    return true;
}

/* Runs formatted SQL as the superuser session m into out; fails the test on error. */
static void admin_rows(MYSQL *m, char *out, size_t cap, const char *fmt, va_list ap)
    SM_PRINTF(4, 0);
static void admin_rows(MYSQL *m, char *out, size_t cap, const char *fmt, va_list ap) {
    char sql[8192];
    vsnprintf(sql, sizeof(sql), fmt, ap);
    if (!rows_of(m, sql, out, cap)) {
        /* Never the statement: it may hold IDENTIFIED BY '<password>'. Nor the message of a
         * syntax error (1064), which quotes the statement from where the parse failed. */
        unsigned code = mysql_errno(m);
        SM_FAIL("admin SQL failed: error %u (%s): %s", code, mysql_sqlstate(m),
                code == 1064 ? "a syntax error (message withheld: it quotes the statement)"
                             : mysql_error(m));
    }
}

static char s_rows[16384];

void db_my_exec(const char *fmt, ...) {
    char out[256];
    va_list ap;
    va_start(ap, fmt);
    admin_rows(db_my_admin(), out, sizeof(out), fmt, ap);
    va_end(ap);
}

const char *db_my_rows(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    admin_rows(db_my_admin(), s_rows, sizeof(s_rows), fmt, ap);
    va_end(ap);
    return s_rows;
}

const char *db_my_rows_on(MYSQL *m, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    admin_rows(m, s_rows, sizeof(s_rows), fmt, ap);
    va_end(ap);
    return s_rows;
}

const char *db_my_query_as(const char *user, const char *password, const char *sql) {
    static char out[4096];
    MYSQL *m = db_my_raw_connect(user, password, db_server()->port, true);
    bool ok = m != NULL && rows_of(m, sql, out, sizeof(out));
    mysql_close(m);
    return ok ? out : NULL;
}

const char *db_my_grants_of(const char *user, const char *host) {
    return db_my_rows("SHOW GRANTS FOR %s@%s", db_my_lit(user), db_my_lit(host));
}

/* ---- the conformance suite's access ------------------------------------------------------- */

static void drop_user(const char *user) {
    db_my_exec("DROP USER IF EXISTS %s@'%%'", db_my_lit(user));
}

static void create_user(const char *user, const char *password, bool tls_only) {
    drop_user(user);
    db_my_exec("CREATE USER %s@'%%' IDENTIFIED BY %s%s", db_my_lit(user), db_my_lit(password),
               tls_only ? " REQUIRE SSL" : "");
}

static bool can_login(const char *user, const char *password) {
    MYSQL *m = db_my_raw_connect(user, password, db_server()->port, true);
    mysql_close(m);
    return m != NULL;
}

/* The table is `<table>`.t, in a database of its own. */
static void create_table(const char *table, const char *reader) {
    db_my_exec("CREATE DATABASE `%s`", table);
    db_my_exec("CREATE TABLE `%s`.t (x INT)", table);
    db_my_exec("INSERT INTO `%s`.t VALUES (42)", table);
    db_my_exec("GRANT SELECT ON `%s`.* TO %s@'%%'", table, db_my_lit(reader));
}

static void drop_table(const char *table) {
    db_my_exec("DROP DATABASE IF EXISTS `%s`", table);
}

static bool can_read(const char *user, const char *password, const char *table) {
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT x FROM `%s`.t", table);
    const char *rows = db_my_query_as(user, password, sql);
    return rows != NULL && strcmp(rows, "42") == 0;
}

const struct db_admin db_mysql_admin = {
    .create_user = create_user,
    .drop_user = drop_user,
    .can_login = can_login,
    .create_table = create_table,
    .drop_table = drop_table,
    .can_read = can_read,
    .tls_only_refusal = ROT_ERR_DB_LOGIN, /* REQUIRE SSL: access denied */
};
