/*
 * What only MySQL has, against the MySQL 9.7 of tests/scripts/mysql.sh (fixture `mysql`; the
 * cases shared with MariaDB are test_engine_mysql.c's): caching_sha2_password and sha256_password
 * without TLS (the RSA key the server sends, or SMROTATE_MYSQL_SERVER_PUBLIC_KEY),
 * password_require_current, dual passwords, roles, default roles, dynamic privileges,
 * per-privilege grant options and partial revokes. Setup and checks go through Connector/C
 * directly as the fixture's admin (db_mysql.h).
 */
#include "db_mysql.h"
#include "db_server.h"
#include "harness.h"

/* MySQL's error codes (Connector/C's mysqld_error.h has MariaDB's numbering past 3000). */
#define MY_ER_MISSING_CURRENT_PASSWORD 3892

/* Admin SQL on the plain instance (a server of its own: its accounts are not the TLS one's). */
#define notls_sql(...) db_my_rows_on(db_my_admin_notls(), __VA_ARGS__)

static const char *plugin_of(const char *user, const char *host) {
    return db_my_rows("SELECT plugin FROM mysql.user WHERE User = '%s' AND Host = '%s'", user,
                      host);
}

/* A login to the plain instance (TLS as the fixture's server offers it: none). */
static struct rot_login notls_login(const char *user, const char *password) {
    struct rot_login l = db_login(user, password, ROT_TLS_AUTO);
    l.port = db_server()->port_notls;
    return l;
}

/* ---- caching_sha2_password and sha256_password without TLS --------------------------------- */

SM_TEST(mysql_rsa_plugins_without_tls_use_the_key_the_server_sends) {
    const char *plugins[] = {"caching_sha2_password", "sha256_password"};
    for (size_t i = 0; i < 2; i++) {
        const char *user = db_uniq(i == 0 ? "sha2rsa" : "sha256rsa");
        /* The server offers no TLS, and an account that never logged in has no cached verifier:
         * the first login is a full authentication, which without TLS needs the server's RSA
         * key. So does the login after a password change (the change empties the cache). */
        notls_sql("CREATE USER '%s'@'%%' IDENTIFIED WITH %s BY 'Old-pa55'", user, plugins[i]);
        struct rot_login l = notls_login(user, "Old-pa55");
        db_rotate_own(&l, "New-pa55", NULL);
        SM_ASSERT_STR_EQ(notls_sql("SELECT plugin FROM mysql.user WHERE User = '%s'", user),
                         plugins[i]);
        notls_sql("DROP USER '%s'@'%%'", user);
    }
}

SM_TEST(mysql_caching_sha2_without_tls_uses_the_configured_public_key) {
    const char *user = db_uniq("sha2key"), *other = db_uniq("sha2bad");
    struct sm_err err;
    notls_sql("CREATE USER '%s'@'%%' IDENTIFIED WITH caching_sha2_password BY 'Pa55-word'", user);
    notls_sql("CREATE USER '%s'@'%%' IDENTIFIED WITH caching_sha2_password BY 'Pa55-word'", other);
    struct rot_engine_settings settings = {.mysql_server_public_key = db_env("PUBLIC_KEY_NOTLS")};
    struct rot_connect_opts o = db_opts(db_server()->ca_file);
    o.settings = &settings;
    struct rot_login l = notls_login(user, "Pa55-word");
    rot_db_disconnect(db_connect_ok(&l, &o));
    /* Another server's key: the password is encrypted with it and the server cannot read it. So
     * the key used is the configured one, never one the server (or a man in the middle) sent. */
    settings.mysql_server_public_key = db_env("PUBLIC_KEY");
    l = notls_login(other, "Pa55-word");
    db_connect_fails(&l, &o, ROT_ERR_DB_LOGIN, &err);
    o.settings = NULL;
    rot_db_disconnect(db_connect_ok(&l, &o));
    notls_sql("DROP USER '%s'@'%%', '%s'@'%%'", user, other);
}

/* ---- password_require_current -------------------------------------------------------------- */

/* As user (logged in with password), whether changing one's own password without REPLACE is
 * refused for want of the current password: the policy applies to the account. */
static bool current_password_required(const char *user, const char *password) {
    MYSQL *m = db_my_raw_connect(user, password, db_server()->port, true);
    SM_ASSERT(m != NULL);
    bool refused = mysql_query(m, "ALTER USER CURRENT_USER() IDENTIFIED BY 'Other-pa55'") != 0 &&
                   mysql_errno(m) == MY_ER_MISSING_CURRENT_PASSWORD;
    mysql_close(m);
    return refused;
}

SM_TEST(mysql_password_require_current_per_account_is_satisfied) {
    const char *user = db_uniq("reqcur");
    db_my_exec("CREATE USER '%s'@'%%' IDENTIFIED BY 'Old-pa55' PASSWORD REQUIRE CURRENT", user);
    SM_ASSERT(current_password_required(user, "Old-pa55"));
    struct rot_login l = db_login(user, "Old-pa55", ROT_TLS_AUTO);
    db_rotate_own(&l, "New-pa55", NULL); /* a rerun sets it again, knowing it as current */
    db_my_exec("DROP USER '%s'@'%%'", user);
}

/* Puts password_require_current back, for atexit too (SM_FAIL exits). */
static void restore_require_current(void) {
    mysql_query(db_my_admin(), "SET GLOBAL password_require_current = OFF");
}

SM_TEST(mysql_password_require_current_global_is_satisfied) {
    const char *user = db_uniq("reqglob");
    /* The global policy binds only accounts changing their own password without the privilege
     * to change others': every other test's own-password change goes through the engine, which
     * always sends REPLACE, so turning it on for a moment disturbs none of them. */
    db_my_exec("CREATE USER '%s'@'%%' IDENTIFIED BY 'Old-pa55'", user);
    SM_ASSERT(atexit(restore_require_current) == 0);
    db_my_exec("SET GLOBAL password_require_current = ON");
    SM_ASSERT(current_password_required(user, "Old-pa55"));
    struct rot_login l = db_login(user, "Old-pa55", ROT_TLS_AUTO);
    db_rotate_own(&l, "New-pa55", NULL);
    restore_require_current();
    SM_ASSERT_STR_EQ(db_my_rows("SELECT @@GLOBAL.password_require_current"), "0");
    db_my_exec("DROP USER '%s'@'%%'", user);
}

/* ---- dual passwords ------------------------------------------------------------------------ */

SM_TEST(mysql_dual_password_keeps_the_old_one_for_one_rotation) {
    const struct rot_password_opts dual = {.retain_current = true};
    const char *user = db_uniq("dual");
    struct sm_err err;
    db_my_exec("CREATE USER '%s'@'%%' IDENTIFIED BY 'Pa55-0'", user);
    db_my_exec("GRANT APPLICATION_PASSWORD_ADMIN ON *.* TO '%s'@'%%'", user);
    /* Each rotation (and its rerun, which knows the new password as the current one) keeps the
     * password it replaced; the one before that is refused. */
    struct rot_login l = db_login(user, "Pa55-0", ROT_TLS_REQUIRED);
    db_rotate_own(&l, "Pa55-1", &dual);
    l.password = "Pa55-1";
    db_rotate_own(&l, "Pa55-2", &dual);
    SM_ASSERT(!db_engine_can_login(user, "Pa55-0", ROT_TLS_REQUIRED));
    /* Turned off, the next rotation leaves no secondary password behind. */
    l.password = "Pa55-2";
    db_rotate_own(&l, "Pa55-3", NULL);
    SM_ASSERT(!db_engine_can_login(user, "Pa55-1", ROT_TLS_REQUIRED));
    /* Nor does a password an administrator sets. */
    l.password = "Pa55-3";
    db_rotate_own(&l, "Pa55-4", &dual);
    struct rot_conn *a = db_admin_conn();
    SM_ASSERT_OK(rot_db_set_password(a, user, "Pa55-5", NULL, &err), err);
    rot_db_disconnect(a);
    SM_ASSERT(db_engine_can_login(user, "Pa55-5", ROT_TLS_REQUIRED));
    SM_ASSERT(!db_engine_can_login(user, "Pa55-4", ROT_TLS_REQUIRED));
    SM_ASSERT(!db_engine_can_login(user, "Pa55-3", ROT_TLS_REQUIRED));
    db_my_exec("DROP USER '%s'@'%%'", user);
}

SM_TEST(mysql_dual_password_without_the_privilege_names_it_and_changes_nothing) {
    const struct rot_password_opts dual = {.retain_current = true};
    const char *user = db_uniq("nodual");
    struct sm_err err;
    db_my_exec("CREATE USER '%s'@'%%' IDENTIFIED BY 'Old-pa55'", user);
    struct rot_login l = db_login(user, "Old-pa55", ROT_TLS_REQUIRED);
    struct rot_connect_opts o = db_opts(db_server()->ca_file);
    struct rot_conn *c = db_connect_ok(&l, &o);
    SM_ASSERT_INT_EQ(rot_db_set_own_password(c, user, "Old-pa55", "New-pa55", &dual, &err), -1);
    rot_db_disconnect(c);
    SM_ASSERT_CODE_EQ(err.code, ROT_ERR_DB_QUERY);
    SM_ASSERT_STR_CONTAINS(err.msg, "APPLICATION_PASSWORD_ADMIN");
    SM_ASSERT(db_engine_can_login(user, "Old-pa55", ROT_TLS_REQUIRED));
    SM_ASSERT(!db_engine_can_login(user, "New-pa55", ROT_TLS_REQUIRED));
    /* Without dual passwords it needs no privilege: it may not keep a secondary password, so
     * there is none of ours to discard. */
    db_rotate_own(&l, "New-pa55", NULL);
    db_my_exec("DROP USER '%s'@'%%'", user);
}

/* ---- alternating users: roles, dynamic privileges, grant options, TLS, host parts ---------- */

/* Everything an account's privileges are made of, as one text with the account's user name
 * written X (static buffer): SHOW GRANTS (the server's privilege cache), mysql.global_grants (the
 * table behind dynamic privileges, which the cache must agree with), mysql.default_roles, and the
 * plugin and TLS requirement in mysql.user. */
static const char *shape(const char *user, const char *host) {
    static char out[32768];
    char named[128], *p, parts[4][8192];
    size_t used = 0;
    snprintf(parts[0], sizeof(parts[0]), "%s", db_my_grants_of(user, host));
    snprintf(parts[1], sizeof(parts[1]), "%s",
             db_my_rows("SELECT CONCAT(PRIV, ' ', WITH_GRANT_OPTION) FROM mysql.global_grants "
                        "WHERE USER = '%s' AND HOST = '%s' ORDER BY PRIV",
                        user, host));
    snprintf(parts[2], sizeof(parts[2]), "%s",
             db_my_rows("SELECT CONCAT(DEFAULT_ROLE_USER, '@', DEFAULT_ROLE_HOST) FROM "
                        "mysql.default_roles WHERE USER = '%s' AND HOST = '%s' ORDER BY 1",
                        user, host));
    snprintf(parts[3], sizeof(parts[3]), "%s",
             db_my_rows("SELECT CONCAT_WS(' ', plugin, ssl_type, ssl_cipher, x509_issuer, "
                        "x509_subject) FROM mysql.user WHERE User = '%s' AND Host = '%s'",
                        user, host));
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

/* Creates base's two accounts ('%' and 10.9.%) with MySQL 8's privilege shapes. */
static void create_rich_base(const char *base, const char *db, const char *r1, const char *r2) {
    db_my_exec("CREATE DATABASE `%s`", db);
    db_my_exec("CREATE TABLE `%s`.t (id INT, v INT)", db);
    db_my_exec("INSERT INTO `%s`.t VALUES (42, 7)", db);
    db_my_exec("CREATE ROLE '%s', '%s'@'localhost'", r1, r2);
    db_my_exec("GRANT SELECT ON `%s`.* TO '%s'", db, r1);
    db_my_exec("CREATE USER '%s'@'%%' IDENTIFIED WITH sha256_password BY 'Base-pa55' REQUIRE "
               "ISSUER '/CN=smrotate test CA' AND SUBJECT '/CN=app' AND CIPHER "
               "'ECDHE-ECDSA-AES256-GCM-SHA384'",
               base);
    db_my_exec("CREATE USER '%s'@'10.9.%%' IDENTIFIED BY 'Base-pa55' REQUIRE SSL", base);
    db_my_exec("GRANT PROCESS ON *.* TO '%s'@'%%' WITH GRANT OPTION", base);
    db_my_exec("GRANT APPLICATION_PASSWORD_ADMIN, BACKUP_ADMIN ON *.* TO '%s'@'%%'", base);
    db_my_exec("GRANT SYSTEM_VARIABLES_ADMIN ON *.* TO '%s'@'%%' WITH GRANT OPTION", base);
    db_my_exec("GRANT UPDATE (v) ON `%s`.t TO '%s'@'%%'", db, base);
    db_my_exec("GRANT INSERT ON `%s`.* TO '%s'@'%%' WITH GRANT OPTION", db, base);
    db_my_exec("GRANT '%s', '%s'@'localhost' TO '%s'@'%%' WITH ADMIN OPTION", r1, r2, base);
    db_my_exec("SET DEFAULT ROLE '%s' TO '%s'@'%%'", r1, base);
    db_my_exec("GRANT BACKUP_ADMIN ON *.* TO '%s'@'10.9.%%'", base);
    db_my_exec("GRANT '%s' TO '%s'@'10.9.%%'", r1, base);
}

static void drop_all(const char *base, const char *clone, const char *db, const char *r1,
                     const char *r2) {
    db_my_exec("DROP USER IF EXISTS '%s'@'%%', '%s'@'10.9.%%', '%s'@'%%', '%s'@'10.9.%%'", base,
               base, clone, clone);
    db_my_exec("DROP ROLE IF EXISTS '%s', '%s'@'localhost'", r1, r2);
    db_my_exec("DROP DATABASE IF EXISTS `%s`", db);
}

SM_TEST(mysql_sync_copies_roles_dynamic_privileges_grant_options_require_and_hosts) {
    const char *base = db_uniq("rich"), *db = db_uniq("db"), *r1 = db_uniq("r1"),
               *r2 = db_uniq("r2");
    char clone[64], query[256];
    snprintf(clone, sizeof(clone), "%s_clone", base);
    drop_all(base, clone, db, r1, r2);
    create_rich_base(base, db, r1, r2);

    db_sync_to(base, clone, clone, "Clone-pa55'1", NULL);

    assert_same_shape(base, clone, "%");
    assert_same_shape(base, clone, "10.9.%");
    /* The clone's default role is active at login: it reads what only the role may read. */
    db_my_exec("ALTER USER '%s'@'%%' REQUIRE SSL", clone); /* no client certificate here */
    snprintf(query, sizeof(query), "SELECT id FROM `%s`.t", db);
    SM_ASSERT_STR_EQ(db_my_query_as(clone, "Clone-pa55'1", query), "42");
    drop_all(base, clone, db, r1, r2);
}

SM_TEST(mysql_sync_resyncs_dynamic_privileges_roles_default_roles_and_grant_options) {
    const char *base = db_uniq("resync"), *db = db_uniq("db"), *r1 = db_uniq("r1"),
               *r2 = db_uniq("r2");
    char clone[64];
    snprintf(clone, sizeof(clone), "%s_clone", base);
    drop_all(base, clone, db, r1, r2);
    create_rich_base(base, db, r1, r2);
    db_sync_to(base, clone, clone, "Clone-pa55", NULL);
    /* The base loses a dynamic privilege, the grant option of another (keeping the privilege
     * and PROCESS's grant option on the same *.*), a role, its default role and a database's
     * grant option; its other account gains a dynamic privilege with grant option. The clone
     * gained privileges of its own meanwhile, a static grant option on *.* among them (whose
     * REVOKE GRANT OPTION touches the dynamic privileges' options too). */
    db_my_exec("REVOKE BACKUP_ADMIN ON *.* FROM '%s'@'%%'", base);
    db_my_exec("REVOKE SYSTEM_VARIABLES_ADMIN ON *.* FROM '%s'@'%%'", base);
    db_my_exec("GRANT SYSTEM_VARIABLES_ADMIN ON *.* TO '%s'@'%%'", base);
    db_my_exec("REVOKE '%s'@'localhost' FROM '%s'@'%%'", r2, base);
    db_my_exec("SET DEFAULT ROLE NONE TO '%s'@'%%'", base);
    db_my_exec("REVOKE GRANT OPTION ON `%s`.* FROM '%s'@'%%'", db, base);
    db_my_exec("GRANT APPLICATION_PASSWORD_ADMIN ON *.* TO '%s'@'10.9.%%' WITH GRANT OPTION", base);
    db_my_exec("GRANT AUDIT_ADMIN ON *.* TO '%s'@'%%'", clone);
    db_my_exec("GRANT FLUSH_TABLES ON *.* TO '%s'@'10.9.%%' WITH GRANT OPTION", clone);
    db_my_exec("GRANT DELETE ON `%s`.* TO '%s'@'10.9.%%'", db, clone);
    db_my_exec("GRANT PROCESS ON *.* TO '%s'@'10.9.%%' WITH GRANT OPTION", clone);

    db_sync_to(base, clone, base, "Base-pa55-2", NULL); /* the next rotation sets the original's */

    assert_same_shape(base, clone, "%");
    assert_same_shape(base, clone, "10.9.%");
    /* The original's password was set with each account's own plugin. */
    SM_ASSERT_STR_EQ(plugin_of(base, "%"), "sha256_password");
    SM_ASSERT_STR_EQ(plugin_of(base, "10.9.%"), "caching_sha2_password");
    drop_all(base, clone, db, r1, r2);
}

/* ---- partial_revokes ----------------------------------------------------------------------- */

static char s_partial[2][96]; /* the accounts the partial_revokes case made */

/* Drops them and turns partial_revokes off again, for atexit too (SM_FAIL exits): the server
 * refuses OFF while any account has a partial revoke. */
static void restore_partial_revokes(void) {
    char sql[256];
    for (int i = 0; i < 2; i++) {
        snprintf(sql, sizeof(sql), "DROP USER IF EXISTS '%s'@'%%'", s_partial[i]);
        if (s_partial[i][0] != '\0') {
            mysql_query(db_my_admin(), sql);
        }
    }
    mysql_query(db_my_admin(), "SET GLOBAL partial_revokes = OFF");
}

SM_TEST(mysql_partial_revokes_are_copied_and_resynchronised) {
    const char *base = db_uniq("partial"), *db = db_uniq("pdb");
    char query[256];
    snprintf(s_partial[0], sizeof(s_partial[0]), "%s", base);
    snprintf(s_partial[1], sizeof(s_partial[1]), "%s_clone", base);
    const char *clone = s_partial[1];
    snprintf(query, sizeof(query), "SELECT id FROM `%s`.t", db);
    /* tests/mysql.cmake runs this case alone (RUN_SERIAL): the setting is global. */
    SM_ASSERT(atexit(restore_partial_revokes) == 0);
    db_my_exec("SET GLOBAL partial_revokes = ON");
    db_my_exec("CREATE DATABASE `%s`", db);
    db_my_exec("CREATE TABLE `%s`.t (id INT)", db);
    db_my_exec("CREATE USER '%s'@'%%' IDENTIFIED BY 'Base-pa55'", base);
    db_my_exec("GRANT SELECT, INSERT ON *.* TO '%s'@'%%'", base);
    db_my_exec("REVOKE INSERT ON mysql.* FROM '%s'@'%%'", base);
    db_my_exec("REVOKE SELECT ON `%s`.* FROM '%s'@'%%'", db, base);
    SM_ASSERT_STR_CONTAINS(db_my_grants_of(base, "%"), "REVOKE SELECT ON");

    db_sync_to(base, clone, clone, "Clone-pa55", NULL);
    assert_same_shape(base, clone, "%");
    SM_ASSERT(db_engine_can_login(clone, "Clone-pa55", ROT_TLS_REQUIRED));
    SM_ASSERT(db_my_query_as(clone, "Clone-pa55", query) == NULL);

    /* The base's restriction on db is lifted and another one added: the clone follows. */
    db_my_exec("GRANT SELECT ON `%s`.* TO '%s'@'%%'", db, base);
    db_my_exec("GRANT UPDATE ON *.* TO '%s'@'%%'", base);
    db_my_exec("REVOKE UPDATE ON mysql.* FROM '%s'@'%%'", base);
    db_sync_to(base, clone, base, "Base-pa55-2", NULL);
    assert_same_shape(base, clone, "%");
    SM_ASSERT(db_my_query_as(clone, "Clone-pa55", query) != NULL);

    db_my_exec("DROP DATABASE `%s`", db);
    restore_partial_revokes();
    SM_ASSERT_STR_EQ(db_my_rows("SELECT @@GLOBAL.partial_revokes"), "0");
}
