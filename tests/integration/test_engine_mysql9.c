/* Integration tests of the MySQL engine plugin (rotators/engines/mysql.c) against what only MySQL
 * has, on the MySQL 9.7 of tests/scripts/mysql.sh (a TLS instance, MYSQL_PORT, and one that offers
 * no TLS, MYSQL_PORT_NOTLS): caching_sha2_password and sha256_password with and without TLS (the
 * RSA key the server sends, or SMROTATE_MYSQL_SERVER_PUBLIC_KEY), password_require_current,
 * roles, default roles, dynamic privileges, per-privilege grant options and partial revokes. The
 * cases both servers share are test_engine_mysql.c's, run against MySQL as mysql9_<case>.
 * Setup and assertions go through Connector/C directly as the fixture's admin, over verified TLS.
 */
#include "clock.h"
#include "engine.h"
#include "err.h"
#include "harness.h"
#include "mem.h"

#include <mysql.h>

#include <stdarg.h>
#include <stdbool.h>
#include <sys/random.h>
#include <unistd.h>

/* MySQL's error codes (Connector/C's mysqld_error.h has MariaDB's numbering past 3000). */
#define MY_ER_MISSING_CURRENT_PASSWORD 3892

/* ---------------------------------------------------------------------------------------------
 * Fixture
 */

static struct {
    char host[64], admin_user[64], admin_password[128];
    char ca_file[512], public_key[512], public_key_notls[512];
    int port, port_notls;
} fx;

static void copy_setting(const char *line, const char *key, char *out, size_t cap) {
    size_t n = strlen(key);
    if (strncmp(line, key, n) == 0 && line[n] == '=') {
        snprintf(out, cap, "%s", line + n + 1);
    }
}

static void fx_load(void) {
    char path[1024], line[1024], port[16] = "", port_notls[16] = "", version[64] = "";
    const char *state = getenv("SMR_STATE_DIR");
    if (fx.port != 0) {
        return;
    }
    if (state == NULL) {
        SM_FAIL("SMR_STATE_DIR is not set: run through ctest");
    }
    snprintf(path, sizeof(path), "%s/mysql/mysql.env", state);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        SM_FAIL("cannot open %s (did mysql_server_start run?)", path);
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        copy_setting(line, "MYSQL_HOST", fx.host, sizeof(fx.host));
        copy_setting(line, "MYSQL_PORT", port, sizeof(port));
        copy_setting(line, "MYSQL_PORT_NOTLS", port_notls, sizeof(port_notls));
        copy_setting(line, "MYSQL_ADMIN_USER", fx.admin_user, sizeof(fx.admin_user));
        copy_setting(line, "MYSQL_ADMIN_PASSWORD", fx.admin_password, sizeof(fx.admin_password));
        copy_setting(line, "MYSQL_CA_FILE", fx.ca_file, sizeof(fx.ca_file));
        copy_setting(line, "MYSQL_PUBLIC_KEY", fx.public_key, sizeof(fx.public_key));
        copy_setting(line, "MYSQL_PUBLIC_KEY_NOTLS", fx.public_key_notls,
                     sizeof(fx.public_key_notls));
        copy_setting(line, "MYSQL_VERSION", version, sizeof(version));
    }
    fclose(f);
    fx.port = (int)strtol(port, NULL, 10);
    fx.port_notls = (int)strtol(port_notls, NULL, 10);
    if (fx.port == 0 || fx.port_notls == 0 || fx.ca_file[0] == '\0' || fx.public_key[0] == '\0') {
        SM_FAIL("%s is incomplete", path);
    }
    fprintf(stderr, "server: MySQL %s\n", version);
}

static void setup(void) {
    struct sm_err err;
    fx_load();
    SM_ASSERT_OK(rot_engine_mysql.init(&err), err);
}

static MYSQL *s_admin, *s_admin_notls;

/* A session of Connector/C alone: over TLS verified against the test CA, or (no_tls) on the
 * plain instance with its RSA key given, so the login never depends on our code. */
static MYSQL *raw_session(const char *user, const char *password, bool no_tls) {
    unsigned int tcp = MYSQL_PROTOCOL_TCP, timeout = 30; /* a hang guard, not a limit */
    my_bool verify = 1;
    MYSQL *m = mysql_init(NULL);
    mysql_optionsv(m, MYSQL_OPT_PROTOCOL, &tcp);
    mysql_optionsv(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    mysql_optionsv(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    if (no_tls) {
        mysql_optionsv(m, MYSQL_SERVER_PUBLIC_KEY, fx.public_key_notls);
    } else {
        mysql_optionsv(m, MYSQL_OPT_SSL_CA, fx.ca_file);
        mysql_optionsv(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify);
    }
    if (mysql_real_connect(m, fx.host, user, password, NULL,
                           (unsigned int)(no_tls ? fx.port_notls : fx.port), NULL, 0) == NULL) {
        SM_FAIL("login as %s failed: %s", user, mysql_error(m));
    }
    return m;
}

static MYSQL *admin(void) {
    fx_load();
    if (s_admin == NULL) {
        s_admin = raw_session(fx.admin_user, fx.admin_password, false);
    }
    return s_admin;
}

/* Runs admin SQL on m; returns the first column of every row joined by "\n" (static buffer). */
static const char *vsql(MYSQL *m, const char *fmt, va_list ap) {
    static char out[16384];
    char text[4096];
    vsnprintf(text, sizeof(text), fmt, ap);
    if (mysql_query(m, text) != 0) {
        SM_FAIL("admin SQL failed: %s (%s)", mysql_error(m), text);
    }
    MYSQL_RES *r = mysql_store_result(m);
    MYSQL_ROW row;
    size_t used = 0;
    out[0] = '\0';
    while (r != NULL && (row = mysql_fetch_row(r)) != NULL && used < sizeof(out)) {
        used += (size_t)snprintf(out + used, sizeof(out) - used, "%s%s", used ? "\n" : "",
                                 row[0] ? row[0] : "NULL");
    }
    mysql_free_result(r);
    return out;
}

/* Admin SQL on the TLS instance. */
static const char *sql(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *sql(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    const char *out = vsql(admin(), fmt, ap);
    va_end(ap);
    return out;
}

/* Admin SQL on the plain instance (a server of its own: its accounts are not the TLS one's). */
static const char *sql_notls(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *sql_notls(const char *fmt, ...) {
    va_list ap;
    fx_load();
    if (s_admin_notls == NULL) {
        s_admin_notls = raw_session(fx.admin_user, fx.admin_password, true);
    }
    va_start(ap, fmt);
    const char *out = vsql(s_admin_notls, fmt, ap);
    va_end(ap);
    return out;
}

/* A name unique to this process (32 random bits) and short enough for "_clone" within 32
 * characters. Ring of static buffers. */
static const char *uniq(const char *tag) {
    static char ring[8][64];
    static int next;
    static uint32_t token;
    char *out = ring[next++ % 8];
    while (token == 0) {
        if (getrandom(&token, sizeof(token), 0) != (ssize_t)sizeof(token)) {
            SM_FAIL("getrandom failed");
        }
    }
    snprintf(out, 64, "m%08" PRIx32 "_%s", token, tag);
    return out;
}

static int eng_connect(const char *user, const char *password, int port, enum rot_tls tls,
                       struct rot_conn **conn, struct sm_err *err) {
    struct rot_login login = {
        .host = fx.host, .port = port, .username = user, .password = password, .tls = tls};
    struct rot_connect_opts o = {
        .ca_file = fx.ca_file, .connect_timeout_ms = 30000, .deadline_ms = sm_now_ms() + 60000};
    sm_err_clear(err);
    *conn = NULL;
    return rot_engine_mysql.connect(&login, &o, conn, err);
}

static bool can_login(const char *user, const char *password, int port, enum rot_tls tls) {
    struct rot_conn *c = NULL;
    struct sm_err err;
    bool ok = eng_connect(user, password, port, tls, &c, &err) == 0 &&
              rot_engine_mysql.check(c, &err) == 0;
    rot_engine_mysql.disconnect(c);
    return ok;
}

/* Logs in as user with old_pw and sets new_pw (single user); new_pw logs in, old_pw does not. */
static void rotate_own(const char *user, const char *old_pw, const char *new_pw, int port,
                       enum rot_tls tls) {
    struct rot_conn *c = NULL;
    struct sm_err err;
    SM_ASSERT_OK(eng_connect(user, old_pw, port, tls, &c, &err), err);
    SM_ASSERT_OK(rot_engine_mysql.set_own_password(c, user, old_pw, new_pw, &err), err);
    rot_engine_mysql.disconnect(c);
    SM_ASSERT(can_login(user, new_pw, port, tls));
    SM_ASSERT(!can_login(user, old_pw, port, tls));
}

static const char *plugin_of(const char *user, const char *host) {
    return sql("SELECT plugin FROM mysql.user WHERE User = '%s' AND Host = '%s'", user, host);
}

/* Syncs clone to original and sets target's password, as the admin (alternating users). */
static void sync_to(const char *original, const char *clone, const char *target,
                    const char *password) {
    struct rot_conn *a = NULL;
    struct rot_user_pair users = {.original = original, .clone = clone, .target = target};
    struct sm_err err;
    SM_ASSERT_OK(eng_connect(fx.admin_user, fx.admin_password, fx.port, ROT_TLS_REQUIRED, &a, &err),
                 err);
    SM_ASSERT_OK(rot_engine_mysql.sync_alternate_user(a, &users, password, &err), err);
    rot_engine_mysql.disconnect(a);
}

/* Everything an account's privileges are made of, as one text with the account's user name
 * written X (static buffer): SHOW GRANTS (the server's privilege cache), mysql.global_grants (the
 * table behind dynamic privileges, which the cache must agree with), mysql.default_roles, and the
 * plugin and TLS requirement in mysql.user. */
static const char *shape(const char *user, const char *host) {
    static char out[32768];
    char named[128], *p;
    size_t used = 0;
    const char *parts[4];
    char grants[16384], table[4096], roles[1024];
    snprintf(grants, sizeof(grants), "%s", sql("SHOW GRANTS FOR '%s'@'%s'", user, host));
    snprintf(table, sizeof(table), "%s",
             sql("SELECT CONCAT(PRIV, ' ', WITH_GRANT_OPTION) FROM mysql.global_grants WHERE "
                 "USER = '%s' AND HOST = '%s' ORDER BY PRIV",
                 user, host));
    snprintf(roles, sizeof(roles), "%s",
             sql("SELECT CONCAT(DEFAULT_ROLE_USER, '@', DEFAULT_ROLE_HOST) FROM "
                 "mysql.default_roles WHERE USER = '%s' AND HOST = '%s' ORDER BY 1",
                 user, host));
    parts[0] = grants;
    parts[1] = table;
    parts[2] = roles;
    parts[3] = sql("SELECT CONCAT_WS(' ', plugin, ssl_type, ssl_cipher, x509_issuer, x509_subject) "
                   "FROM mysql.user WHERE User = '%s' AND Host = '%s'",
                   user, host);
    for (int i = 0; i < 4; i++) {
        used += (size_t)snprintf(out + used, sizeof(out) - used, "%s\n--\n", parts[i]);
        SM_ASSERT(used < sizeof(out));
    }
    snprintf(named, sizeof(named), "`%s`@", user);
    while ((p = strstr(out, named)) != NULL) {
        memmove(p + 4, p + strlen(named), strlen(p + strlen(named)) + 1);
        memcpy(p, "`X`@", 4);
    }
    return out;
}

/* The clone's account at host has exactly the base's privileges, plugin and TLS requirement. */
static void assert_same_shape(const char *base, const char *clone, const char *host) {
    char want[32768];
    snprintf(want, sizeof(want), "%s", shape(base, host));
    SM_ASSERT_STR_EQ(shape(clone, host), want);
}

/* ---------------------------------------------------------------------------------------------
 * Authentication plugins, with and without TLS
 */

SM_TEST(mysql9_caching_sha2_over_tls_rotates_and_keeps_its_plugin) {
    const char *user = uniq("sha2tls");
    setup();
    sql("CREATE USER '%s'@'%%' IDENTIFIED WITH caching_sha2_password BY 'Old-pa55' REQUIRE SSL",
        user);
    rotate_own(user, "Old-pa55", "New'pa55\\", fx.port, ROT_TLS_REQUIRED);
    SM_ASSERT_STR_EQ(plugin_of(user, "%"), "caching_sha2_password");
    sql("DROP USER '%s'@'%%'", user);
}

SM_TEST(mysql9_caching_sha2_without_tls_uses_the_key_the_server_sends) {
    const char *user = uniq("sha2rsa");
    setup();
    /* The server offers no TLS, and an account that never logged in has no cached verifier: the
     * first login is a full authentication, which without TLS needs the server's RSA key. So
     * does the login after a password change (the change empties the cache). */
    sql_notls("CREATE USER '%s'@'%%' IDENTIFIED WITH caching_sha2_password BY 'Old-pa55'", user);
    rotate_own(user, "Old-pa55", "New-pa55", fx.port_notls, ROT_TLS_AUTO);
    SM_ASSERT_STR_EQ(sql_notls("SELECT plugin FROM mysql.user WHERE User = '%s'", user),
                     "caching_sha2_password");
    sql_notls("DROP USER '%s'@'%%'", user);
}

SM_TEST(mysql9_caching_sha2_without_tls_uses_the_configured_public_key) {
    const char *user = uniq("sha2key"), *other = uniq("sha2bad");
    struct rot_conn *c = NULL;
    struct sm_err err;
    fx_load();
    sql_notls("CREATE USER '%s'@'%%' IDENTIFIED WITH caching_sha2_password BY 'Pa55-word'", user);
    sql_notls("CREATE USER '%s'@'%%' IDENTIFIED WITH caching_sha2_password BY 'Pa55-word'", other);
    setenv("SMROTATE_MYSQL_SERVER_PUBLIC_KEY", fx.public_key_notls, 1);
    setup();
    SM_ASSERT_OK(eng_connect(user, "Pa55-word", fx.port_notls, ROT_TLS_AUTO, &c, &err), err);
    rot_engine_mysql.disconnect(c);
    /* Another server's key: the password is encrypted with it and the server cannot read it. So
     * the key used is the configured one, never one the server (or a man in the middle) sent. */
    setenv("SMROTATE_MYSQL_SERVER_PUBLIC_KEY", fx.public_key, 1);
    setup();
    SM_ASSERT_INT_EQ(eng_connect(other, "Pa55-word", fx.port_notls, ROT_TLS_AUTO, &c, &err), -1);
    SM_ASSERT_CODE_EQ(err.code, ROT_ERR_DB_LOGIN);
    SM_ASSERT_STR_NOT_CONTAINS(err.msg, "Pa55-word");
    unsetenv("SMROTATE_MYSQL_SERVER_PUBLIC_KEY");
    setup();
    SM_ASSERT(can_login(other, "Pa55-word", fx.port_notls, ROT_TLS_AUTO));
    sql_notls("DROP USER '%s'@'%%', '%s'@'%%'", user, other);
}

SM_TEST(mysql9_sha256_password_rotates_with_and_without_tls_and_keeps_its_plugin) {
    const char *user = uniq("sha256");
    setup();
    /* MySQL 9.7 still offers sha256_password (deprecated since 8.0.16). */
    SM_ASSERT_STR_EQ(sql("SELECT PLUGIN_STATUS FROM information_schema.PLUGINS WHERE PLUGIN_NAME = "
                         "'sha256_password'"),
                     "ACTIVE");
    sql("CREATE USER '%s'@'%%' IDENTIFIED WITH sha256_password BY 'Old-pa55'", user);
    rotate_own(user, "Old-pa55", "New-pa55", fx.port, ROT_TLS_REQUIRED);
    SM_ASSERT_STR_EQ(plugin_of(user, "%"), "sha256_password");
    sql("DROP USER '%s'@'%%'", user);
    /* Without TLS, the password is encrypted with the key the server sends. */
    sql_notls("CREATE USER '%s'@'%%' IDENTIFIED WITH sha256_password BY 'Old-pa55'", user);
    rotate_own(user, "Old-pa55", "New-pa55", fx.port_notls, ROT_TLS_AUTO);
    SM_ASSERT_STR_EQ(sql_notls("SELECT plugin FROM mysql.user WHERE User = '%s'", user),
                     "sha256_password");
    sql_notls("DROP USER '%s'@'%%'", user);
}

SM_TEST(mysql9_plugin_dir_env_is_used_for_sha256_password) {
    char dir[1024];
    const char *user = uniq("plugdir");
    struct rot_conn *c = NULL;
    struct sm_err err;
    fx_load();
    /* The admin's session loads caching_sha2_password from the library's directory, and loaded
     * client plugins are process-wide: so the account uses sha256_password, which nothing here
     * has loaded. */
    sql("CREATE USER '%s'@'%%' IDENTIFIED WITH sha256_password BY 'Pa55-word'", user);
    snprintf(dir, sizeof(dir), "%s/mysql-empty-plugins.XXXXXX", getenv("SMR_STATE_DIR"));
    SM_ASSERT(mkdtemp(dir) != NULL);
    setenv("SMROTATE_MYSQL_PLUGIN_DIR", dir, 1);
    setup();
    /* sha256_password.so is not in the empty directory: a configuration error, not a login one. */
    SM_ASSERT_INT_EQ(eng_connect(user, "Pa55-word", fx.port, ROT_TLS_REQUIRED, &c, &err), -1);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_CONFIG);
    SM_ASSERT_STR_CONTAINS(err.msg, dir);
    SM_ASSERT_STR_CONTAINS(err.msg, "SMROTATE_MYSQL_PLUGIN_DIR");
    rmdir(dir);
    sql("DROP USER '%s'@'%%'", user);
}

/* ---------------------------------------------------------------------------------------------
 * password_require_current
 */

/* As user (logged in with password), whether changing one's own password without REPLACE is
 * refused for want of the current password: the policy applies to the account. */
static bool current_password_required(const char *user, const char *password) {
    MYSQL *m = raw_session(user, password, false);
    bool refused = mysql_query(m, "ALTER USER CURRENT_USER() IDENTIFIED BY 'Other-pa55'") != 0 &&
                   mysql_errno(m) == MY_ER_MISSING_CURRENT_PASSWORD;
    mysql_close(m);
    return refused;
}

SM_TEST(mysql9_password_require_current_per_account_is_satisfied) {
    const char *user = uniq("reqcur");
    setup();
    sql("CREATE USER '%s'@'%%' IDENTIFIED BY 'Old-pa55' PASSWORD REQUIRE CURRENT", user);
    SM_ASSERT(current_password_required(user, "Old-pa55"));
    rotate_own(user, "Old-pa55", "New-pa55", fx.port, ROT_TLS_AUTO);
    /* The rerun of setSecret logs in with the new password and sets it again. */
    rotate_own(user, "New-pa55", "New-pa55-2", fx.port, ROT_TLS_AUTO);
    sql("DROP USER '%s'@'%%'", user);
}

/* The statement that puts password_require_current back, for atexit too (SM_FAIL exits). */
static void restore_require_current(void) {
    if (s_admin != NULL) {
        mysql_query(s_admin, "SET GLOBAL password_require_current = OFF");
    }
}

SM_TEST(mysql9_password_require_current_global_is_satisfied) {
    const char *user = uniq("reqglob");
    setup();
    /* The global policy binds only accounts changing their own password without the privilege
     * to change others': every other test's own-password change goes through the engine, which
     * always sends REPLACE, so turning it on for a moment disturbs none of them. */
    sql("CREATE USER '%s'@'%%' IDENTIFIED BY 'Old-pa55'", user);
    SM_ASSERT(atexit(restore_require_current) == 0);
    sql("SET GLOBAL password_require_current = ON");
    SM_ASSERT(current_password_required(user, "Old-pa55"));
    rotate_own(user, "Old-pa55", "New-pa55", fx.port, ROT_TLS_AUTO);
    restore_require_current();
    SM_ASSERT_STR_EQ(sql("SELECT @@GLOBAL.password_require_current"), "0");
    sql("DROP USER '%s'@'%%'", user);
}

/* ---------------------------------------------------------------------------------------------
 * Alternating users: roles, dynamic privileges, grant options, TLS requirements, host parts
 */

/* Creates base's two accounts ('%' and 10.9.%) with MySQL 8's privilege shapes. */
static void create_rich_base(const char *base, const char *db, const char *r1, const char *r2) {
    sql("CREATE DATABASE `%s`", db);
    sql("CREATE TABLE `%s`.t (id INT, v INT)", db);
    sql("INSERT INTO `%s`.t VALUES (42, 7)", db);
    sql("CREATE ROLE '%s', '%s'@'localhost'", r1, r2);
    sql("GRANT SELECT ON `%s`.* TO '%s'", db, r1);
    sql("CREATE USER '%s'@'%%' IDENTIFIED WITH sha256_password BY 'Base-pa55' REQUIRE ISSUER "
        "'/CN=smrotate test CA' AND SUBJECT '/CN=app' AND CIPHER 'ECDHE-ECDSA-AES256-GCM-SHA384'",
        base);
    sql("CREATE USER '%s'@'10.9.%%' IDENTIFIED BY 'Base-pa55' REQUIRE SSL", base);
    sql("GRANT PROCESS ON *.* TO '%s'@'%%' WITH GRANT OPTION", base);
    sql("GRANT APPLICATION_PASSWORD_ADMIN, BACKUP_ADMIN ON *.* TO '%s'@'%%'", base);
    sql("GRANT SYSTEM_VARIABLES_ADMIN ON *.* TO '%s'@'%%' WITH GRANT OPTION", base);
    sql("GRANT UPDATE (v) ON `%s`.t TO '%s'@'%%'", db, base);
    sql("GRANT INSERT ON `%s`.* TO '%s'@'%%' WITH GRANT OPTION", db, base);
    sql("GRANT '%s', '%s'@'localhost' TO '%s'@'%%' WITH ADMIN OPTION", r1, r2, base);
    sql("SET DEFAULT ROLE '%s' TO '%s'@'%%'", r1, base);
    sql("GRANT BACKUP_ADMIN ON *.* TO '%s'@'10.9.%%'", base);
    sql("GRANT '%s' TO '%s'@'10.9.%%'", r1, base);
}

static void drop_all(const char *base, const char *clone, const char *db, const char *r1,
                     const char *r2) {
    sql("DROP USER IF EXISTS '%s'@'%%', '%s'@'10.9.%%', '%s'@'%%', '%s'@'10.9.%%'", base, base,
        clone, clone);
    sql("DROP ROLE IF EXISTS '%s', '%s'@'localhost'", r1, r2);
    sql("DROP DATABASE IF EXISTS `%s`", db);
}

SM_TEST(mysql9_sync_copies_roles_dynamic_privileges_grant_options_require_and_hosts) {
    const char *base = uniq("rich"), *db = uniq("db"), *r1 = uniq("r1"), *r2 = uniq("r2");
    char clone[64];
    setup();
    snprintf(clone, sizeof(clone), "%s_clone", base);
    drop_all(base, clone, db, r1, r2);
    create_rich_base(base, db, r1, r2);

    sync_to(base, clone, clone, "Clone-pa55'1");

    assert_same_shape(base, clone, "%");
    assert_same_shape(base, clone, "10.9.%");
    /* The clone's default role is active at login: it reads what only the role may read. */
    sql("ALTER USER '%s'@'%%' REQUIRE SSL", clone); /* no client certificate here */
    MYSQL *m = raw_session(clone, "Clone-pa55'1", false);
    char query[256];
    snprintf(query, sizeof(query), "SELECT id FROM `%s`.t", db);
    SM_ASSERT(mysql_query(m, query) == 0);
    MYSQL_RES *r = mysql_store_result(m);
    MYSQL_ROW row = r != NULL ? mysql_fetch_row(r) : NULL;
    SM_ASSERT(row != NULL && row[0] != NULL);
    SM_ASSERT_STR_EQ(row[0], "42");
    mysql_free_result(r);
    mysql_close(m);
    drop_all(base, clone, db, r1, r2);
}

SM_TEST(mysql9_sync_resyncs_dynamic_privileges_roles_default_roles_and_grant_options) {
    const char *base = uniq("resync"), *db = uniq("db"), *r1 = uniq("r1"), *r2 = uniq("r2");
    char clone[64];
    setup();
    snprintf(clone, sizeof(clone), "%s_clone", base);
    drop_all(base, clone, db, r1, r2);
    create_rich_base(base, db, r1, r2);
    sync_to(base, clone, clone, "Clone-pa55");
    /* The base loses a dynamic privilege, the grant option of another (keeping the privilege
     * and PROCESS's grant option on the same *.*), a role, its default role and a database's
     * grant option; its other account gains a dynamic privilege with grant option. The clone
     * gained privileges of its own meanwhile, a static grant option on *.* among them (whose
     * REVOKE GRANT OPTION touches the dynamic privileges' options too). */
    sql("REVOKE BACKUP_ADMIN ON *.* FROM '%s'@'%%'", base);
    sql("REVOKE SYSTEM_VARIABLES_ADMIN ON *.* FROM '%s'@'%%'", base);
    sql("GRANT SYSTEM_VARIABLES_ADMIN ON *.* TO '%s'@'%%'", base);
    sql("REVOKE '%s'@'localhost' FROM '%s'@'%%'", r2, base);
    sql("SET DEFAULT ROLE NONE TO '%s'@'%%'", base);
    sql("REVOKE GRANT OPTION ON `%s`.* FROM '%s'@'%%'", db, base);
    sql("GRANT APPLICATION_PASSWORD_ADMIN ON *.* TO '%s'@'10.9.%%' WITH GRANT OPTION", base);
    sql("GRANT AUDIT_ADMIN ON *.* TO '%s'@'%%'", clone);
    sql("GRANT FLUSH_TABLES ON *.* TO '%s'@'10.9.%%' WITH GRANT OPTION", clone);
    sql("GRANT DELETE ON `%s`.* TO '%s'@'10.9.%%'", db, clone);
    sql("GRANT PROCESS ON *.* TO '%s'@'10.9.%%' WITH GRANT OPTION", clone);

    sync_to(base, clone, base, "Base-pa55-2"); /* the next rotation sets the original's */

    assert_same_shape(base, clone, "%");
    assert_same_shape(base, clone, "10.9.%");
    /* The original's password was set with each account's own plugin. */
    SM_ASSERT_STR_EQ(plugin_of(base, "%"), "sha256_password");
    SM_ASSERT_STR_EQ(plugin_of(base, "10.9.%"), "caching_sha2_password");
    drop_all(base, clone, db, r1, r2);
}

/* ---------------------------------------------------------------------------------------------
 * partial_revokes
 */

static char s_partial[2][64]; /* the accounts the partial_revokes case made */

/* Drops them and turns partial_revokes off again, for atexit too (SM_FAIL exits): the server
 * refuses OFF while any account has a partial revoke. */
static void restore_partial_revokes(void) {
    char text[256];
    if (s_admin == NULL) {
        return;
    }
    for (int i = 0; i < 2; i++) {
        if (s_partial[i][0] != '\0') {
            snprintf(text, sizeof(text), "DROP USER IF EXISTS '%s'@'%%'", s_partial[i]);
            mysql_query(s_admin, text);
        }
    }
    mysql_query(s_admin, "SET GLOBAL partial_revokes = OFF");
}

/* Whether user may read db.t (over TLS, with Connector/C alone). */
static bool may_read(const char *user, const char *password, const char *db) {
    char query[256];
    MYSQL *m = raw_session(user, password, false);
    snprintf(query, sizeof(query), "SELECT id FROM `%s`.t", db);
    bool ok = mysql_query(m, query) == 0;
    mysql_free_result(mysql_store_result(m));
    mysql_close(m);
    return ok;
}

SM_TEST(mysql9_partial_revokes_are_copied_and_resynchronised) {
    const char *base = uniq("partial"), *db = uniq("pdb");
    setup();
    snprintf(s_partial[0], sizeof(s_partial[0]), "%s", base);
    snprintf(s_partial[1], sizeof(s_partial[1]), "%s_clone", base);
    const char *clone = s_partial[1];
    /* tests/mysql.cmake runs this case alone (RUN_SERIAL): the setting is global. */
    SM_ASSERT(atexit(restore_partial_revokes) == 0);
    sql("SET GLOBAL partial_revokes = ON");
    sql("CREATE DATABASE `%s`", db);
    sql("CREATE TABLE `%s`.t (id INT)", db);
    sql("CREATE USER '%s'@'%%' IDENTIFIED BY 'Base-pa55'", base);
    sql("GRANT SELECT, INSERT ON *.* TO '%s'@'%%'", base);
    sql("REVOKE INSERT ON mysql.* FROM '%s'@'%%'", base);
    sql("REVOKE SELECT ON `%s`.* FROM '%s'@'%%'", db, base);
    SM_ASSERT_STR_CONTAINS(sql("SHOW GRANTS FOR '%s'@'%%'", base), "REVOKE SELECT ON");

    sync_to(base, clone, clone, "Clone-pa55");
    assert_same_shape(base, clone, "%");
    SM_ASSERT(!may_read(clone, "Clone-pa55", db));

    /* The base's restriction on db is lifted and another one added: the clone follows. */
    sql("GRANT SELECT ON `%s`.* TO '%s'@'%%'", db, base);
    sql("GRANT UPDATE ON *.* TO '%s'@'%%'", base);
    sql("REVOKE UPDATE ON mysql.* FROM '%s'@'%%'", base);
    sync_to(base, clone, base, "Base-pa55-2");
    assert_same_shape(base, clone, "%");
    SM_ASSERT(may_read(clone, "Clone-pa55", db));

    sql("DROP DATABASE `%s`", db);
    restore_partial_revokes();
    SM_ASSERT_STR_EQ(sql("SELECT @@GLOBAL.partial_revokes"), "0");
}
