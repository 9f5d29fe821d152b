/*
 * What only the MySQL engine does, against MariaDB 10.11 and MySQL 9.7 (tests/scripts/mariadb.sh,
 * mysql.sh; tests/CMakeLists.txt runs each SERVER_<case> as mariadb_<case> and mysql_<case>, a
 * mariadb_<case> against MariaDB alone): server errors by number, each server's grammar,
 * NO_BACKSLASH_ESCAPES, plugins and the plugin directory, another user's password and password
 * lifetimes, and the alternate user's accounts, grants, roles and TLS requirements copied host
 * part by host part. What only MySQL has is test_engine_mysql9.c's, what every engine does
 * test_engine_conformance.c's; the SQL is unit-tested (tests/unit/test_mysql_sql.c). Each test
 * makes its own uniquely named users.
 */
#include "db_mysql.h"
#include "db_server.h"
#include "harness.h"

#include <mysqld_error.h>

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static bool mariadb(void) {
    return strcmp(db_server()->name, "mariadb") == 0;
}

static void create_user(const char *user, const char *host, const char *password,
                        const char *extra) {
    db_my_exec("DROP USER IF EXISTS %s@%s", db_my_lit(user), db_my_lit(host));
    db_my_exec("CREATE USER %s@%s IDENTIFIED BY %s %s", db_my_lit(user), db_my_lit(host),
               db_my_lit(password), extra);
}

static void drop_user(const char *user, const char *host) {
    db_my_exec("DROP USER IF EXISTS %s@%s", db_my_lit(user), db_my_lit(host));
}

/* An account on a plugin other than the server's default, whose name it returns: MariaDB's
 * ed25519 (the fixture loads the server's plugin at start-up, --plugin-load-add: tests only check
 * that it is there, since a check-then-INSTALL races between tests), MySQL's sha256_password. */
static const char *create_plugin_user(const char *user, const char *host, const char *password) {
    drop_user(user, host);
    if (!mariadb()) {
        db_my_exec("CREATE USER %s@%s IDENTIFIED WITH sha256_password BY %s", db_my_lit(user),
                   db_my_lit(host), db_my_lit(password));
        return "sha256_password";
    }
    SM_ASSERT_STR_EQ(
        db_my_rows("SELECT PLUGIN_STATUS FROM information_schema.PLUGINS WHERE PLUGIN_NAME = "
                   "'ed25519'"),
        "ACTIVE");
    db_my_exec("CREATE USER %s@%s IDENTIFIED VIA ed25519 USING PASSWORD(%s)", db_my_lit(user),
               db_my_lit(host), db_my_lit(password));
    return "ed25519";
}

static const char *column_of(const char *column, const char *user, const char *host) {
    return db_my_rows("SELECT %s FROM mysql.user WHERE User = %s AND Host = %s", column,
                      db_my_lit(user), db_my_lit(host));
}

/* The account's own password lifetime in days, "" when it has none. */
static const char *lifetime_of(const char *user, const char *host) {
    if (mariadb()) {
        return db_my_rows("SELECT IFNULL(JSON_VALUE(Priv, '$.password_lifetime'), '') FROM "
                          "mysql.global_priv WHERE User = %s AND Host = %s",
                          db_my_lit(user), db_my_lit(host));
    }
    return column_of("IFNULL(password_lifetime, '')", user, host);
}

/* ---- logins -------------------------------------------------------------------------------- */

SM_TEST(SERVER_login_errors_carry_the_server_code) {
    struct sm_err err;
    const char *db = db_uniq("db");
    struct rot_login l = db_login(db_server()->admin_user, "Wr0ng-pa55", ROT_TLS_REQUIRED);
    struct rot_connect_opts o = db_opts(db_server()->ca_file);
    db_connect_fails(&l, &o, ROT_ERR_DB_LOGIN, &err);
    SM_ASSERT_STR_CONTAINS(err.msg, "[1045]"); /* ER_ACCESS_DENIED_ERROR */
    /* A database that does not exist is a statement error, not a login one. */
    l.password = db_server()->admin_password;
    l.dbname = db;
    db_connect_fails(&l, &o, ROT_ERR_DB_QUERY, &err);
    SM_ASSERT_STR_CONTAINS(err.msg, "[1049]"); /* ER_BAD_DB_ERROR */
    db_my_exec("CREATE DATABASE `%s`", db);
    rot_db_disconnect(db_connect_ok(&l, &o));
    db_my_exec("DROP DATABASE `%s`", db);
}

SM_TEST(SERVER_plugin_dir_setting_is_where_auth_plugins_come_from) {
    struct sm_err err;
    char dir[1024];
    const char *user = db_uniq("plugdir");
    snprintf(dir, sizeof(dir), "%s/mysql-empty-plugins.XXXXXX", getenv("SMR_STATE_DIR"));
    SM_ASSERT(mkdtemp(dir) != NULL);
    /* Loaded client plugins are process-wide, and the admin's session loaded the default one:
     * so the account uses another plugin, which nothing here has loaded. */
    create_plugin_user(user, "%", "Pa55-word");
    /* Its client plugin is not in the empty directory: a configuration error, not a login one. */
    struct rot_engine_settings settings = {.mysql_plugin_dir = dir};
    struct rot_login l = db_login(user, "Pa55-word", ROT_TLS_REQUIRED);
    struct rot_connect_opts o = db_opts(db_server()->ca_file);
    o.settings = &settings;
    db_connect_fails(&l, &o, SM_ERR_CONFIG, &err);
    SM_ASSERT_STR_CONTAINS(err.msg, dir);
    SM_ASSERT_STR_CONTAINS(err.msg, "SMROTATE_MYSQL_PLUGIN_DIR");
    rmdir(dir);
    drop_user(user, "%");
}

/* ---- one's own password -------------------------------------------------------------------- */

SM_TEST(SERVER_own_password_keeps_the_plugin_and_the_tls_requirement) {
    const char *user = db_uniq("reqssl"), *other = db_uniq("plugin");
    create_user(user, "%", "Old-pa55", "REQUIRE SSL");
    const char *plugin = column_of("plugin", user, "%");
    struct rot_login l = db_login(user, "Old-pa55", ROT_TLS_REQUIRED);
    db_rotate_own(&l, "New-pa55", NULL);
    SM_ASSERT_STR_EQ(column_of("CONCAT(plugin, ' ', ssl_type)", user, "%"),
                     mariadb() ? "mysql_native_password ANY" : "caching_sha2_password ANY");
    SM_ASSERT_STR_EQ(column_of("plugin", user, "%"), plugin);
    plugin = create_plugin_user(other, "%", "Old-pa55");
    l = db_login(other, "Old-pa55", ROT_TLS_REQUIRED);
    db_rotate_own(&l, "New'pa55\\", NULL);
    SM_ASSERT_STR_EQ(column_of("plugin", other, "%"), plugin);
    drop_user(user, "%");
    drop_user(other, "%");
}

SM_TEST(mariadb_has_no_replace_clause_and_no_secondary_passwords) {
    const char *user = db_uniq("norepl");
    struct sm_err err;
    create_user(user, "%", "Old-pa55", "");
    /* The current password is known, and not sent: MariaDB's grammar has no REPLACE clause. */
    struct rot_login l = db_login(user, "Old-pa55", ROT_TLS_REQUIRED);
    db_rotate_own(&l, "New-pa55", NULL);
    MYSQL *m = db_my_raw_connect(user, "New-pa55", db_server()->port, true);
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
    /* Dual passwords are MySQL's: refused before anything changes. */
    const struct rot_password_opts dual = {.retain_current = true};
    l.password = "New-pa55";
    struct rot_connect_opts o = db_opts(db_server()->ca_file);
    struct rot_conn *c = db_connect_ok(&l, &o);
    SM_ASSERT_INT_EQ(rot_db_set_own_password(c, user, "New-pa55", "Newer-pa55", &dual, &err), -1);
    SM_ASSERT_CODE_EQ(err.code, ROT_ERR_UNSUPPORTED);
    SM_ASSERT_STR_CONTAINS(err.msg, "MySQL 8.0.14");
    rot_db_disconnect(c);
    SM_ASSERT(db_engine_can_login(user, "New-pa55", ROT_TLS_REQUIRED));
    drop_user(user, "%");
}

SM_TEST(SERVER_own_password_lifetime_needs_create_user_and_renews_an_expired_one) {
    const struct rot_password_opts lifetime = {.lifetime_days = 45};
    const char *user = db_uniq("ownlife");
    struct sm_err err;
    create_user(user, "%", "Old-pa55", "");
    struct rot_login l = db_login(user, "Old-pa55", ROT_TLS_REQUIRED);
    struct rot_connect_opts o = db_opts(db_server()->ca_file);
    struct rot_conn *c = db_connect_ok(&l, &o);
    SM_ASSERT_INT_EQ(rot_db_set_own_password(c, user, "Old-pa55", "New-pa55", &lifetime, &err), -1);
    rot_db_disconnect(c);
    SM_ASSERT_CODE_EQ(err.code, ROT_ERR_DB_QUERY);
    SM_ASSERT_STR_CONTAINS(err.msg, "needs the CREATE USER privilege");
    SM_ASSERT_STR_CONTAINS(err.msg, "single-user-via-master");
    SM_ASSERT_STR_NOT_CONTAINS(err.msg, "pa55");
    /* Nothing changed. */
    SM_ASSERT(db_engine_can_login(user, "Old-pa55", ROT_TLS_REQUIRED));
    SM_ASSERT_STR_EQ(lifetime_of(user, "%"), "");
    db_my_exec("GRANT CREATE USER ON *.* TO %s@'%%'", db_my_lit(user));
    db_rotate_own(&l, "New-pa55", &lifetime);
    SM_ASSERT_STR_EQ(lifetime_of(user, "%"), "45");
    /* A rotation that comes after the password expired logs in with it and renews it. */
    db_my_exec("ALTER USER %s@'%%' PASSWORD EXPIRE", db_my_lit(user));
    l.password = "New-pa55";
    db_rotate_own(&l, "Newer-pa55", &lifetime);
    SM_ASSERT_STR_EQ(lifetime_of(user, "%"), "45");
    drop_user(user, "%");
}

/* The statement that puts the server's global sql_mode back, built (escaped) before it changed;
 * empty when there is nothing to restore. Run by the test and, should the test end early
 * (SM_FAIL exits), by atexit: every new session on the fixture inherits the global value. */
static char s_restore_sql_mode[1024];

static void restore_global_sql_mode(void) {
    if (s_restore_sql_mode[0] != '\0' && mysql_query(db_my_admin(), s_restore_sql_mode) != 0) {
        fprintf(stderr, "could not restore the fixture's global sql_mode: %s\n",
                mysql_error(db_my_admin()));
        return;
    }
    s_restore_sql_mode[0] = '\0';
}

SM_TEST(SERVER_set_own_password_under_no_backslash_escapes) {
    const char *user = db_uniq("nbe"), *new_pw = "a\\b'c\\'d\\\\";
    struct rot_conn *c = NULL;
    struct sm_err err;
    int rc_connect, rc_set = -1;
    create_user(user, "%", "Old-pa55", "");
    /* tests/mysql.cmake runs this test and its valgrind twin alone (RUN_SERIAL). */
    snprintf(s_restore_sql_mode, sizeof(s_restore_sql_mode), "SET GLOBAL sql_mode = %s",
             db_my_lit(db_my_rows("SELECT @@GLOBAL.sql_mode")));
    SM_ASSERT(atexit(restore_global_sql_mode) == 0);
    db_my_exec("SET GLOBAL sql_mode = CONCAT(@@GLOBAL.sql_mode, ',NO_BACKSLASH_ESCAPES')");
    struct rot_login l = db_login(user, "Old-pa55", ROT_TLS_AUTO);
    struct rot_connect_opts o = db_opts(db_server()->ca_file);
    sm_err_clear(&err);
    rc_connect = rot_db_connect(db_server()->engine, &l, &o, &c, &err);
    if (rc_connect == 0) {
        rc_set = rot_db_set_own_password(c, user, "Old-pa55", new_pw, NULL, &err);
    }
    rot_db_disconnect(c);
    restore_global_sql_mode();
    SM_ASSERT(s_restore_sql_mode[0] == '\0');
    SM_ASSERT_STR_NOT_CONTAINS(db_my_rows("SELECT @@GLOBAL.sql_mode"), "NO_BACKSLASH_ESCAPES");
    SM_ASSERT_OK(rc_connect, err);
    SM_ASSERT_OK(rc_set, err);
    /* The server stored exactly new_pw (a backslash-escaped literal would have changed it). */
    MYSQL *m = db_my_raw_connect(user, new_pw, db_server()->port, true);
    SM_ASSERT(m != NULL);
    mysql_close(m);
    drop_user(user, "%");
}

/* ---- another user's password --------------------------------------------------------------- */

#define HASH "SHA2(authentication_string, 256)"

/* SHOW GRANTS FOR user@host into out (8192 bytes), without the password hash MariaDB shows. */
static const char *grants_of(const char *user, const char *host, char *out) {
    char *p, *q;
    snprintf(out, 8192, "%s", db_my_grants_of(user, host));
    if ((p = strstr(out, " IDENTIFIED ")) != NULL && (q = strchr(p, '\'')) != NULL &&
        (q = strchr(q + 1, '\'')) != NULL) {
        memmove(p, q + 1, strlen(q + 1) + 1);
    }
    return out;
}

SM_TEST(SERVER_set_password_changes_only_the_password_of_every_host_part) {
    const struct rot_password_opts lifetime = {.lifetime_days = 30};
    const char *user = db_uniq("setpw"), *db = db_uniq("spdb");
    char grants[2][8192], other[8192], shape[128], hash[80];
    struct sm_err err;
    create_user(user, "10.9.%", "Old-pa55", "REQUIRE SSL");
    const char *plugin = create_plugin_user(user, "%", "Old-pa55");
    db_my_exec("CREATE DATABASE `%s`", db);
    db_my_exec("GRANT SELECT ON `%s`.* TO %s@'%%' WITH GRANT OPTION", db, db_my_lit(user));
    db_my_exec("ALTER USER %s@'10.9.%%' PASSWORD EXPIRE INTERVAL 77 DAY", db_my_lit(user));
    grants_of(user, "%", grants[0]);
    grants_of(user, "10.9.%", grants[1]);
    snprintf(shape, sizeof(shape), "%s",
             column_of("CONCAT(plugin, ' ', ssl_type)", user, "10.9.%"));
    snprintf(hash, sizeof(hash), "%s", column_of(HASH, user, "10.9.%"));
    struct rot_conn *a = db_admin_conn();
    /* Without a lifetime, nothing about expiry changes; with one, every account gets it. */
    SM_ASSERT_OK(rot_db_set_password(a, user, "Mid-pa55", NULL, &err), err);
    SM_ASSERT_STR_EQ(lifetime_of(user, "10.9.%"), "77");
    SM_ASSERT_STR_EQ(lifetime_of(user, "%"), "");
    for (int k = 0; k < 2; k++) { /* idempotent */
        SM_ASSERT_OK(rot_db_set_password(a, user, "New'pa55\\", &lifetime, &err), err);
    }
    SM_ASSERT(db_engine_can_login(user, "New'pa55\\", ROT_TLS_REQUIRED));
    SM_ASSERT(!db_engine_can_login(user, "Mid-pa55", ROT_TLS_REQUIRED));
    SM_ASSERT_STR_EQ(lifetime_of(user, "%"), "30");
    SM_ASSERT_STR_EQ(lifetime_of(user, "10.9.%"), "30");
    /* The other host part got the password too, and nothing else changed anywhere. */
    SM_ASSERT(strcmp(column_of(HASH, user, "10.9.%"), hash) != 0);
    SM_ASSERT_STR_EQ(column_of("plugin", user, "%"), plugin);
    SM_ASSERT_STR_EQ(column_of("CONCAT(plugin, ' ', ssl_type)", user, "10.9.%"), shape);
    SM_ASSERT_STR_EQ(grants_of(user, "%", other), grants[0]);
    SM_ASSERT_STR_EQ(grants_of(user, "10.9.%", other), grants[1]);
    rot_db_disconnect(a);
    drop_user(user, "%");
    drop_user(user, "10.9.%");
    db_my_exec("DROP DATABASE `%s`", db);
}

/* ---- the alternate user -------------------------------------------------------------------- */

SM_TEST(mariadb_sync_clones_a_host_part_with_grant_option_tls_and_roles) {
    const char *base = db_uniq("app"), *db = db_uniq("shop"), *role = db_uniq("role");
    char alt[96], grants[16384], expect[512];
    snprintf(alt, sizeof(alt), "%s_clone", base);
    drop_user(alt, "127.0.0.1");
    db_my_exec("CREATE DATABASE `%s`", db);
    db_my_exec("CREATE TABLE `%s`.t (id INT, secret INT)", db);
    create_user(base, "127.0.0.1", "Base-pa55", "REQUIRE SSL");
    db_my_exec("GRANT SELECT ON `%s`.* TO %s@'127.0.0.1' WITH GRANT OPTION", db, db_my_lit(base));
    db_my_exec("GRANT UPDATE (id) ON `%s`.t TO %s@'127.0.0.1'", db, db_my_lit(base));
    db_my_exec("CREATE ROLE `%s`", role);
    db_my_exec("GRANT `%s` TO %s@'127.0.0.1' WITH ADMIN OPTION", role, db_my_lit(base));
    db_my_exec("SET DEFAULT ROLE `%s` FOR %s@'127.0.0.1'", role, db_my_lit(base));
    db_sync_to(base, alt, alt, "Clone-pa55'1", NULL);
    snprintf(grants, sizeof(grants), "%s", db_my_grants_of(alt, "127.0.0.1"));
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
    SM_ASSERT_STR_EQ(
        db_my_rows("SELECT CONCAT(Host, ' ', ssl_type) FROM mysql.user WHERE User = %s",
                   db_my_lit(alt)),
        "127.0.0.1 ANY");
    SM_ASSERT(db_engine_can_login(alt, "Clone-pa55'1", ROT_TLS_REQUIRED));
    SM_ASSERT(!db_engine_can_login(alt, "Clone-pa55'1", ROT_TLS_OFF));
    drop_user(alt, "127.0.0.1");
    drop_user(base, "127.0.0.1");
    db_my_exec("DROP ROLE `%s`", role);
    db_my_exec("DROP DATABASE `%s`", db);
}

SM_TEST(SERVER_sync_rerun_follows_the_base_grants_and_tls_requirement) {
    struct sm_err err;
    const char *base = db_uniq("resync"), *db = db_uniq("rdb");
    char alt[96], sql[256], expect[512];
    snprintf(alt, sizeof(alt), "%s_clone", base);
    drop_user(alt, "127.0.0.1");
    db_my_exec("CREATE DATABASE `%s`", db);
    db_my_exec("CREATE TABLE `%s`.t (id INT)", db);
    create_user(base, "127.0.0.1", "Base-pa55", "");
    db_my_exec("GRANT SELECT, DELETE ON `%s`.* TO %s@'127.0.0.1'", db, db_my_lit(base));
    db_sync_to(base, alt, alt, "First-pa55", NULL);
    snprintf(sql, sizeof(sql), "INSERT INTO `%s`.t VALUES (1)", db);
    SM_ASSERT(db_my_query_as(alt, "First-pa55", sql) == NULL); /* no INSERT yet */
    /* The base gains INSERT and loses DELETE; its TLS requirement tightens. */
    db_my_exec("GRANT INSERT ON `%s`.* TO %s@'127.0.0.1'", db, db_my_lit(base));
    db_my_exec("REVOKE DELETE ON `%s`.* FROM %s@'127.0.0.1'", db, db_my_lit(base));
    db_my_exec("ALTER USER %s@'127.0.0.1' REQUIRE X509", db_my_lit(base));
    db_sync_to(base, alt, alt, "Second-pa55", NULL);
    snprintf(expect, sizeof(expect), "GRANT SELECT, INSERT ON `%s`.* TO `%s`@`127.0.0.1`", db, alt);
    SM_ASSERT_STR_CONTAINS(db_my_grants_of(alt, "127.0.0.1"), expect);
    SM_ASSERT_STR_NOT_CONTAINS(db_my_grants_of(alt, "127.0.0.1"), "DELETE");
    SM_ASSERT_STR_EQ(column_of("ssl_type", alt, "127.0.0.1"), "X509");
    /* X509 needs a client certificate we don't have: check the password by the error class. */
    struct rot_login l = db_login(alt, "First-pa55", ROT_TLS_AUTO);
    struct rot_connect_opts o = db_opts(db_server()->ca_file);
    db_connect_fails(&l, &o, ROT_ERR_DB_LOGIN, &err);
    db_my_exec("ALTER USER %s@'127.0.0.1' REQUIRE NONE", db_my_lit(base));
    db_sync_to(base, alt, alt, "Second-pa55", NULL);
    SM_ASSERT_STR_EQ(db_my_query_as(alt, "Second-pa55", sql), "");
    drop_user(alt, "127.0.0.1");
    drop_user(base, "127.0.0.1");
    db_my_exec("DROP DATABASE `%s`", db);
}

SM_TEST(SERVER_sync_targeting_the_original_never_touches_its_grants) {
    const char *orig = db_uniq("flip"), *db = db_uniq("fdb");
    char clone[96], expect[512];
    snprintf(clone, sizeof(clone), "%s_clone", orig);
    db_my_exec("CREATE DATABASE `%s`", db);
    create_user(orig, "%", "Orig-pa55", "");
    db_my_exec("GRANT SELECT ON `%s`.* TO %s@'%%'", db, db_my_lit(orig));
    drop_user(clone, "%");
    db_sync_to(orig, clone, clone, "Clone-pa55", NULL);
    /* While the clone is current, INSERT is granted to the original only and UPDATE to the clone
     * only. The next rotation sets the original's password and brings the clone in line with
     * the original: never the other way round. */
    db_my_exec("GRANT INSERT ON `%s`.* TO %s@'%%'", db, db_my_lit(orig));
    db_my_exec("GRANT UPDATE ON `%s`.* TO %s@'%%'", db, db_my_lit(clone));
    db_log_capture_begin();
    db_sync_to(orig, clone, orig, "Orig-pa55-2", NULL);
    char *log = db_log_capture_end();
    for (int k = 0; k < 2; k++) {
        const char *who = k == 0 ? orig : clone;
        snprintf(expect, sizeof(expect), "GRANT SELECT, INSERT ON `%s`.* TO `%s`@`%%`", db, who);
        SM_ASSERT_STR_CONTAINS(db_my_grants_of(who, "%"), expect);
        SM_ASSERT_STR_NOT_CONTAINS(db_my_grants_of(who, "%"), "UPDATE");
    }
    /* One warning, before the revocation, naming it; never a password. */
    SM_ASSERT_INT_EQ(db_count(log, "\tWARN\t"), 1);
    SM_ASSERT_STR_CONTAINS(log, "already exists; revoking 1 grant(s)");
    snprintf(expect, sizeof(expect), "REVOKE UPDATE ON `%s`.* FROM '%s'@'%%'", db, clone);
    SM_ASSERT_STR_CONTAINS(log, expect);
    SM_ASSERT_STR_NOT_CONTAINS(log, "pa55");
    free(log);
    /* In line now: no warning the next time. */
    db_log_capture_begin();
    db_sync_to(orig, clone, clone, "Clone-pa55-3", NULL);
    log = db_log_capture_end();
    SM_ASSERT_INT_EQ(db_count(log, "\tWARN\t"), 0);
    free(log);
    drop_user(clone, "%");
    drop_user(orig, "%");
    db_my_exec("DROP DATABASE `%s`", db);
}

/* MariaDB: the account's authentication methods, as SHOW CREATE USER lists them (without the
 * hash), e.g. " IDENTIFIED VIA mysql_native_password OR unix_socket". */
static const char *methods_of(const char *user, char *out, size_t size) {
    snprintf(out, size, "%s", db_my_rows("SHOW CREATE USER %s@'%%'", db_my_lit(user)));
    char *using = strstr(out, " USING '"), *end = using != NULL ? strchr(using + 8, '\'') : NULL;
    if (end != NULL) { /* the hash: it changes */
        memmove(using, end + 1, strlen(end + 1) + 1);
    }
    return strstr(out, " IDENTIFIED VIA ") != NULL ? strstr(out, " IDENTIFIED VIA ") : out;
}

SM_TEST(mariadb_sync_setting_the_original_keeps_its_authentication_methods) {
    const struct rot_password_opts lifetime = {.lifetime_days = 20};
    const char *orig = db_uniq("twoauth");
    char clone[96], shown[1024];
    snprintf(clone, sizeof(clone), "%s_clone", orig);
    drop_user(orig, "%");
    drop_user(clone, "%");
    db_my_exec("CREATE USER %s@'%%' IDENTIFIED VIA mysql_native_password USING "
               "PASSWORD('Orig-pa55') OR unix_socket",
               db_my_lit(orig));
    SM_ASSERT_STR_EQ(methods_of(orig, shown, sizeof(shown)),
                     " IDENTIFIED VIA mysql_native_password OR unix_socket");
    db_sync_to(orig, clone, clone, "Clone-pa55", NULL);
    /* The administrator sets the original's password: both of its methods are left. */
    db_sync_to(orig, clone, orig, "Orig-pa55-2", &lifetime);
    SM_ASSERT_STR_EQ(methods_of(orig, shown, sizeof(shown)),
                     " IDENTIFIED VIA mysql_native_password OR unix_socket PASSWORD EXPIRE "
                     "INTERVAL 20 DAY");
    SM_ASSERT(db_engine_can_login(orig, "Orig-pa55-2", ROT_TLS_AUTO));
    SM_ASSERT(!db_engine_can_login(orig, "Orig-pa55", ROT_TLS_AUTO));
    SM_ASSERT_STR_EQ(lifetime_of(orig, "%"), "20");
    drop_user(clone, "%");
    drop_user(orig, "%");
}

SM_TEST(SERVER_sync_creates_a_missing_clone_unknown_and_gives_the_target_its_lifetime) {
    const struct rot_password_opts lifetime = {.lifetime_days = 40};
    const char *orig = db_uniq("noclone");
    char clone[96];
    snprintf(clone, sizeof(clone), "%s_clone", orig);
    create_user(orig, "%", "Orig-pa55", "");
    drop_user(clone, "%");
    db_log_capture_begin();
    db_sync_to(orig, clone, orig, "Orig-new-pa55", &lifetime);
    char *log = db_log_capture_end();
    SM_ASSERT_INT_EQ(db_count(log, "\tWARN\t"), 0); /* a new clone has nothing to lose */
    free(log);
    SM_ASSERT(db_engine_can_login(orig, "Orig-new-pa55", ROT_TLS_AUTO));
    /* No password anyone knows: not the new one, not an empty one. */
    SM_ASSERT(!db_engine_can_login(clone, "Orig-new-pa55", ROT_TLS_AUTO));
    SM_ASSERT_STR_EQ(column_of("authentication_string = ''", clone, "%"), "0");
    /* The lifetime is the target's alone, each time its turn comes. */
    SM_ASSERT_STR_EQ(lifetime_of(orig, "%"), "40");
    SM_ASSERT_STR_EQ(lifetime_of(clone, "%"), "");
    db_sync_to(orig, clone, clone, "Clone-new-pa55", &lifetime);
    SM_ASSERT_STR_EQ(lifetime_of(clone, "%"), "40");
    drop_user(clone, "%");
    drop_user(orig, "%");
}

SM_TEST(SERVER_sync_copies_every_host_part_hostile_names_and_plugins) {
    const char *base = db_uniq("h'o`st;x y"), *other = db_uniq("plsync");
    char alt[96], other_alt[96];
    snprintf(alt, sizeof(alt), "%s_clone", base);
    snprintf(other_alt, sizeof(other_alt), "%s_clone", other);
    drop_user(alt, "127.0.0.1");
    drop_user(alt, "10.9.%");
    create_user(base, "127.0.0.1", "Pa55'\\word", "");
    create_user(base, "10.9.%", "Pa55'\\word", "REQUIRE SSL");
    db_my_exec("GRANT PROCESS ON *.* TO %s@'10.9.%%'", db_my_lit(base));
    db_sync_to(base, alt, alt, "N3w'\\pa55\"`", NULL);
    SM_ASSERT_STR_EQ(
        db_my_rows("SELECT CONCAT(Host, ' ', ssl_type) FROM mysql.user WHERE User = %s "
                   "ORDER BY Host",
                   db_my_lit(alt)),
        "10.9.% ANY\n127.0.0.1 ");
    SM_ASSERT_STR_CONTAINS(db_my_grants_of(alt, "10.9.%"), "GRANT PROCESS ON *.*");
    SM_ASSERT_STR_NOT_CONTAINS(db_my_grants_of(alt, "127.0.0.1"), "PROCESS");
    SM_ASSERT(db_engine_can_login(alt, "N3w'\\pa55\"`", ROT_TLS_AUTO));
    /* An original on another plugin: its clone gets it too, created and then re-synced. */
    drop_user(other_alt, "%");
    const char *plugin = create_plugin_user(other, "%", "Pa55-word");
    for (int k = 1; k <= 2; k++) {
        db_sync_to(other, other_alt, other_alt, k == 1 ? "Clone-1" : "Clone-2", NULL);
        SM_ASSERT_STR_EQ(column_of("plugin", other_alt, "%"), plugin);
    }
    SM_ASSERT(db_engine_can_login(other_alt, "Clone-2", ROT_TLS_REQUIRED));
    SM_ASSERT(!db_engine_can_login(other_alt, "Clone-1", ROT_TLS_REQUIRED));
    drop_user(alt, "127.0.0.1");
    drop_user(alt, "10.9.%");
    drop_user(base, "127.0.0.1");
    drop_user(base, "10.9.%");
    drop_user(other_alt, "%");
    drop_user(other, "%");
}
