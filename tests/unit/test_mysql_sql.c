/* Unit tests of the MySQL/MariaDB dialect (rotators/engines/mysql_*.h): version parsing, the
 * statement chosen for each server, and SHOW GRANTS rewriting. No server: statements are compared
 * as text. No MySQL server runs here, so what each MySQL version does is taken from its source
 * (mysql/mysql-server, cited where a case depends on it) and reference manual. Grant lines are the
 * formats shown in the MySQL 5.6/5.7/8.0/8.4 reference manuals (SHOW GRANTS, roles, partial
 * revokes) and in MariaDB 10.11's real output (captured from the test fixture). */
#include "buf.h"
#include "err.h"
#include "harness.h"
#include "mem_testing.h"
#include "mysql_grant_plan.h"
#include "mysql_sql.h"

static struct rot_mysql_version parse_ok(const char *s) {
    struct rot_mysql_version v;
    struct sm_err err;
    sm_err_clear(&err);
    SM_ASSERT_OK(rot_mysql_version_parse(s, &v, &err), err);
    return v;
}

static void assert_version(const char *s, enum rot_mysql_flavor flavor, int major, int minor,
                           int patch) {
    struct rot_mysql_version v = parse_ok(s);
    if (v.flavor != flavor || v.major != major || v.minor != minor || v.patch != patch) {
        SM_FAIL("\"%s\": expected %s %d.%d.%d, got %s %d.%d.%d", s, rot_mysql_flavor_name(flavor),
                major, minor, patch, rot_mysql_flavor_name(v.flavor), v.major, v.minor, v.patch);
    }
}

static const struct rot_password_opts s_no_opts = {0};

/* The own-password statement for a version string, with password body "pw", current password
 * body current (may be NULL) and opts (NULL: none). Static buffer. */
static const char *own_password_sql(const char *version, const char *current,
                                    const struct rot_password_opts *opts) {
    static char out[256];
    struct rot_mysql_version v = parse_ok(version);
    struct sm_buf b;
    struct sm_err err;
    sm_buf_init(&b, 1024);
    SM_ASSERT_OK(rot_mysql_sql_set_own_password(&b, &v, "pw", current,
                                                opts != NULL ? opts : &s_no_opts, &err),
                 err);
    snprintf(out, sizeof(out), "%s", b.data);
    sm_buf_clean_up(&b);
    return out;
}

#define ALTER_OWN "ALTER USER CURRENT_USER() IDENTIFIED BY 'pw'"
#define ALTER_OWN_REPLACE "ALTER USER CURRENT_USER() IDENTIFIED BY 'pw' REPLACE 'cur'"
#define SET_OWN "SET PASSWORD = PASSWORD('pw')"

SM_TEST(mysql_version_parses_mysql_releases) {
    assert_version("5.6.51-log", ROT_MYSQL_FLAVOR_MYSQL, 5, 6, 51);
    assert_version("5.7.5-m15", ROT_MYSQL_FLAVOR_MYSQL, 5, 7, 5);
    assert_version("5.7.6", ROT_MYSQL_FLAVOR_MYSQL, 5, 7, 6);
    assert_version("5.7.44-log", ROT_MYSQL_FLAVOR_MYSQL, 5, 7, 44);
    assert_version("8.0.35", ROT_MYSQL_FLAVOR_MYSQL, 8, 0, 35);
    assert_version("8.0.36-28", ROT_MYSQL_FLAVOR_MYSQL, 8, 0, 36); /* Percona Server */
    assert_version("8.4.3", ROT_MYSQL_FLAVOR_MYSQL, 8, 4, 3);
    assert_version("9.1.0", ROT_MYSQL_FLAVOR_MYSQL, 9, 1, 0);
    assert_version("10.0.0", ROT_MYSQL_FLAVOR_MYSQL, 10, 0, 0); /* a future MySQL, not MariaDB */
}

SM_TEST(mysql_version_parses_aurora_strings) {
    assert_version("8.0.mysql_aurora.3.05.2", ROT_MYSQL_FLAVOR_AURORA, 8, 0, -1);
    assert_version("5.7.mysql_aurora.2.11.2", ROT_MYSQL_FLAVOR_AURORA, 5, 7, -1);
    assert_version("5.6.mysql_aurora.1.22.2", ROT_MYSQL_FLAVOR_AURORA, 5, 6, -1);
}

SM_TEST(mysql_version_parses_mariadb_with_and_without_replication_prefix) {
    assert_version("10.11.6-MariaDB-0+deb12u1", ROT_MYSQL_FLAVOR_MARIADB, 10, 11, 6);
    assert_version("5.5.5-10.6.12-MariaDB-log", ROT_MYSQL_FLAVOR_MARIADB, 10, 6, 12);
    assert_version("5.5.5-10.11.19-MariaDB-0+deb12u1", ROT_MYSQL_FLAVOR_MARIADB, 10, 11, 19);
    assert_version("11.4.2-MariaDB", ROT_MYSQL_FLAVOR_MARIADB, 11, 4, 2);
    assert_version("5.5.68-MariaDB", ROT_MYSQL_FLAVOR_MARIADB, 5, 5, 68);
}

SM_TEST(mysql_version_garbage_is_refused) {
    const char *bad[] = {"", "MySQL", "8", "8.", ".0.1", "x8.0.1", "1234567.0.0"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct rot_mysql_version v;
        struct sm_err err;
        sm_err_clear(&err);
        if (rot_mysql_version_parse(bad[i], &v, &err) != -1) {
            SM_FAIL("\"%s\" parsed", bad[i]);
        }
        SM_ASSERT_CODE_EQ(err.code, ROT_ERR_DB_QUERY);
    }
}

/*
 * The statement a user changes its own password with, per server, knowing the current password
 * ("cur") or not. Why these, from mysql/mysql-server:
 *  - Both ALTER USER ... IDENTIFIED BY and SET PASSWORD keep the account's authentication plugin
 *    on MySQL 5.7, 8.0 and 8.4: sql/auth/sql_user.cc, set_and_validate_user_attributes(), case
 *    SQLCOM_ALTER_USER: "If no plugin is given, get existing plugin" (Str->plugin =
 *    acl_user->plugin; the same in the 5.7 branch), and change_password(), which runs SET
 *    PASSWORD, starts from acl_user->plugin. So a mysql_native_password account stays on it and a
 *    caching_sha2_password one likewise. ALTER USER is the manual's statement for it ("ALTER USER
 *    Statement": "an account can use ALTER USER to change its own password") and takes the same
 *    REPLACE clause, so it is used from 5.7.6 on; SET PASSWORD = PASSWORD() before (5.6, Aurora 1).
 *  - REPLACE '<current>' exists from 8.0.13 (WL#11544; 8.0/8.4 manual, ALTER USER auth_option
 *    "IDENTIFIED BY 'auth_string' [REPLACE 'current_auth_string']"; sql/sql_yacc.yy, rule
 *    alter_user: "user identified_by_password REPLACE_SYM TEXT_STRING_password
 *    opt_retain_current_password"). sql_user.cc validate_password_require_current() accepts it for
 *    one's own account whatever password_require_current says (it only compares it with the
 *    stored hash), and refuses it only for another account (ER_CURRENT_PASSWORD_NOT_REQUIRED); a
 *    missing one fails with ER_MISSING_CURRENT_PASSWORD when required (the variable, or PASSWORD
 *    REQUIRE CURRENT) and the user has no CREATE USER / UPDATE on mysql. So it is always sent
 *    when known. Aurora MySQL 3 is 8.0.23-compatible and later; Aurora 2 is 5.7.
 *  - MariaDB: SET PASSWORD = PASSWORD() (its ALTER USER needs CREATE USER even for oneself, and SET
 *    PASSWORD keeps an ed25519 account on ed25519); its grammar has no REPLACE clause
 *    (test_engine_mysql.c mariadb_has_no_replace_clause_and_no_secondary_passwords pins that).
 */
SM_TEST(mysql_own_password_statement_per_server_version) {
    static const struct {
        const char *version;
        const char *knowing_current; /* current password "cur" given */
        const char *not_knowing;     /* current password unknown (NULL) */
    } cases[] = {
        {"5.5.62", SET_OWN, SET_OWN},
        {"5.6.51-log", SET_OWN, SET_OWN},
        {"5.7.5-m15", SET_OWN, SET_OWN},
        {"5.7.6", ALTER_OWN, ALTER_OWN},
        {"5.7.44-log", ALTER_OWN, ALTER_OWN},
        {"8.0.12", ALTER_OWN, ALTER_OWN},
        {"8.0.13", ALTER_OWN_REPLACE, ALTER_OWN},
        {"8.0.35", ALTER_OWN_REPLACE, ALTER_OWN},
        {"8.0.36-28", ALTER_OWN_REPLACE, ALTER_OWN}, /* Percona Server */
        {"8.4.3", ALTER_OWN_REPLACE, ALTER_OWN},
        /* AWS's template sends 9.x down the removed PASSWORD() branch. */
        {"9.1.0", ALTER_OWN_REPLACE, ALTER_OWN},
        {"10.0.0", ALTER_OWN_REPLACE, ALTER_OWN}, /* a future MySQL */
        {"5.6.mysql_aurora.1.22.2", SET_OWN, SET_OWN},
        {"5.7.mysql_aurora.2.11.2", ALTER_OWN, ALTER_OWN},
        {"8.0.mysql_aurora.3.05.2", ALTER_OWN_REPLACE, ALTER_OWN},
        {"10.11.6-MariaDB-0+deb12u1", SET_OWN, SET_OWN},
        {"5.5.5-10.6.12-MariaDB-log", SET_OWN, SET_OWN},
        {"11.4.2-MariaDB", SET_OWN, SET_OWN},
        {"10.1.48-MariaDB", SET_OWN, SET_OWN},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *got = own_password_sql(cases[i].version, "cur", NULL);
        if (strcmp(got, cases[i].knowing_current) != 0) {
            SM_FAIL("%s, current known: expected \"%s\", got \"%s\"", cases[i].version,
                    cases[i].knowing_current, got);
        }
        got = own_password_sql(cases[i].version, NULL, NULL);
        if (strcmp(got, cases[i].not_knowing) != 0) {
            SM_FAIL("%s, current unknown: expected \"%s\", got \"%s\"", cases[i].version,
                    cases[i].not_knowing, got);
        }
    }
}

SM_TEST(mysql_own_password_embeds_the_escaped_literal_verbatim) {
    struct rot_mysql_version v = parse_ok("8.0.35");
    struct sm_buf b;
    struct sm_err err;
    sm_buf_init(&b, 1024);
    /* What mysql_real_escape_string makes of  a'b\c  (backslash mode). */
    SM_ASSERT_OK(rot_mysql_sql_set_own_password(&b, &v, "a\\'b\\\\c", "o\\'ld", &s_no_opts, &err),
                 err);
    SM_ASSERT_STR_EQ(b.data,
                     "ALTER USER CURRENT_USER() IDENTIFIED BY 'a\\'b\\\\c' REPLACE 'o\\'ld'");
    sm_buf_clean_up(&b);
}

/* Dual passwords: RETAIN CURRENT PASSWORD from MySQL 8.0.14 (WL#11540: "IDENTIFIED BY '...'
 * [REPLACE '...'] [RETAIN CURRENT PASSWORD]", then the account's password options), Aurora 3.
 * Lifetimes: PASSWORD EXPIRE INTERVAL where ALTER USER takes IDENTIFIED BY; MariaDB 10.4.3+ in a
 * statement of its own. Pinned against MySQL 9.7 and MariaDB 10.11 by test_engine_mysql.c. */
SM_TEST(mysql_own_password_retains_and_expires_where_the_server_can) {
    static const struct {
        const char *version;
        bool lifetime, secondary;
    } servers[] = {
        {"5.6.51", false, false},
        {"8.0.13", true, false},
        {"8.0.14", true, true},
        {"5.7.mysql_aurora.2.11.2", true, false},
        {"8.0.mysql_aurora.3.05.2", true, true},
        {"10.4.2-MariaDB", false, false},
        {"10.4.3-MariaDB", true, false},
    };
    for (size_t i = 0; i < sizeof(servers) / sizeof(servers[0]); i++) {
        struct rot_mysql_version v = parse_ok(servers[i].version);
        SM_ASSERT(rot_mysql_has_password_lifetime(&v) == servers[i].lifetime);
        SM_ASSERT(rot_mysql_has_secondary_passwords(&v) == servers[i].secondary);
    }
    const struct rot_password_opts both = {.lifetime_days = 90, .retain_current = true};
    SM_ASSERT_STR_EQ(own_password_sql("8.0.14", "cur", &both),
                     ALTER_OWN_REPLACE " RETAIN CURRENT PASSWORD PASSWORD EXPIRE INTERVAL 90 DAY");
    SM_ASSERT_STR_EQ(own_password_sql("8.0.mysql_aurora.3.05.2", NULL, &both),
                     ALTER_OWN " RETAIN CURRENT PASSWORD PASSWORD EXPIRE INTERVAL 90 DAY");
    /* Where the server lacks an option the statement does not name it (mysql.c refuses it). */
    SM_ASSERT_STR_EQ(own_password_sql("5.7.44", "cur", &both),
                     ALTER_OWN " PASSWORD EXPIRE INTERVAL 90 DAY");
    SM_ASSERT_STR_EQ(own_password_sql("10.11.6-MariaDB", "cur", &both), SET_OWN);
}

/* An administrator sets every account of a user: MySQL in one statement, discarding a secondary
 * password where one can exist; MariaDB's lifetime (and the clone's) in a statement of its own. */
SM_TEST(mysql_set_password_and_lifetime_statements_name_every_account) {
    const char *hosts[] = {"%", "10.0.%"};
    const struct rot_password_opts lifetime = {.lifetime_days = 90};
    struct rot_mysql_version v = parse_ok("9.7.4-2"), old = parse_ok("8.0.13");
    struct sm_buf b;
    struct sm_err err;
    sm_buf_init(&b, 4096);
    SM_ASSERT_OK(rot_mysql_sql_set_password(&b, &v, "u", hosts, 2, "pw", &lifetime, &err), err);
    SM_ASSERT_STR_EQ(b.data, "ALTER USER 'u'@'%' DISCARD OLD PASSWORD, 'u'@'%' IDENTIFIED BY 'pw', "
                             "'u'@'10.0.%' DISCARD OLD PASSWORD, 'u'@'10.0.%' IDENTIFIED BY 'pw' "
                             "PASSWORD EXPIRE INTERVAL 90 DAY");
    sm_buf_reset(&b);
    SM_ASSERT_OK(rot_mysql_sql_set_password(&b, &old, "u", hosts, 2, "pw", &s_no_opts, &err), err);
    SM_ASSERT_STR_EQ(b.data,
                     "ALTER USER 'u'@'%' IDENTIFIED BY 'pw', 'u'@'10.0.%' IDENTIFIED BY 'pw'");
    sm_buf_reset(&b);
    SM_ASSERT_OK(rot_mysql_sql_expire(&b, "u", hosts, 2, 30, &err), err);
    SM_ASSERT_STR_EQ(b.data, "ALTER USER 'u'@'%', 'u'@'10.0.%' PASSWORD EXPIRE INTERVAL 30 DAY");
    sm_buf_reset(&b);
    SM_ASSERT_OK(rot_mysql_sql_expire(&b, NULL, NULL, 0, 30, &err), err);
    SM_ASSERT_STR_EQ(b.data, "ALTER USER CURRENT_USER() PASSWORD EXPIRE INTERVAL 30 DAY");
    sm_buf_clean_up(&b);
}

/* The statements an administrator's password takes: MySQL's one (with the lifetime), MariaDB's
 * and old MySQL's SET PASSWORD FOR per account (which keeps a MariaDB account's methods). */
SM_TEST(mysql_password_stmts_follow_the_server) {
    const char *hosts[] = {"%", "10.0.%"};
    const struct rot_password_opts lifetime = {.lifetime_days = 90};
    struct rot_mysql_version my = parse_ok("9.7.4-2"), maria = parse_ok("10.11.6-MariaDB"),
                             old = parse_ok("5.6.51");
    struct sm_buf b;
    struct sm_err err;
    sm_buf_init(&b, 4096);
    SM_ASSERT(rot_mysql_one_password_stmt(&my));
    SM_ASSERT(!rot_mysql_one_password_stmt(&maria));
    SM_ASSERT(!rot_mysql_one_password_stmt(&old));
    SM_ASSERT_OK(rot_mysql_sql_password_stmt(&b, &my, "u", hosts, 2, 0, "pw", &lifetime, &err),
                 err);
    SM_ASSERT_STR_EQ(b.data, "ALTER USER 'u'@'%' DISCARD OLD PASSWORD, 'u'@'%' IDENTIFIED BY 'pw', "
                             "'u'@'10.0.%' DISCARD OLD PASSWORD, 'u'@'10.0.%' IDENTIFIED BY 'pw' "
                             "PASSWORD EXPIRE INTERVAL 90 DAY");
    for (size_t i = 0; i < 2; i++) {
        const struct rot_mysql_version *v = i == 0 ? &maria : &old;
        sm_buf_reset(&b);
        SM_ASSERT_OK(rot_mysql_sql_password_stmt(&b, v, "u", hosts, 2, 1, "pw", &lifetime, &err),
                     err);
        SM_ASSERT_STR_EQ(b.data, "SET PASSWORD FOR 'u'@'10.0.%' = PASSWORD('pw')");
    }
    sm_buf_clean_up(&b);
}

/* Runs one builder into a static buffer. */
typedef int builder_fn(struct sm_buf *out, const struct rot_mysql_version *v, const char *user,
                       const char *host, const char *plugin, const char *pw, struct sm_err *err);

static const char *build(builder_fn *fn, const char *version, const char *plugin) {
    static char out[512];
    struct rot_mysql_version v = parse_ok(version);
    struct sm_buf b;
    struct sm_err err;
    sm_buf_init(&b, 4096);
    SM_ASSERT_OK(fn(&b, &v, "app_clone", "10.0.%", rot_mysql_clone_plugin(&v, plugin), "pw", &err),
                 err);
    snprintf(out, sizeof(out), "%s", b.data);
    sm_buf_clean_up(&b);
    return out;
}

SM_TEST(mysql_create_user_keeps_the_base_password_plugin) {
    SM_ASSERT_STR_EQ(build(rot_mysql_sql_create_user, "8.0.35", "caching_sha2_password"),
                     "CREATE USER 'app_clone'@'10.0.%' IDENTIFIED WITH caching_sha2_password BY "
                     "'pw'");
    SM_ASSERT_STR_EQ(
        build(rot_mysql_sql_create_user, "8.0.mysql_aurora.3.05.2", "mysql_native_password"),
        "CREATE USER 'app_clone'@'10.0.%' IDENTIFIED WITH mysql_native_password BY "
        "'pw'");
    SM_ASSERT_STR_EQ(build(rot_mysql_sql_create_user, "10.11.6-MariaDB", "ed25519"),
                     "CREATE USER 'app_clone'@'10.0.%' IDENTIFIED VIA ed25519 USING "
                     "PASSWORD('pw')");
}

SM_TEST(mysql_create_user_uses_server_default_for_unknown_or_old_plugins) {
    /* IAM (AWSAuthenticationPlugin), auth_socket: not password plugins. */
    SM_ASSERT_STR_EQ(build(rot_mysql_sql_create_user, "8.0.35", "AWSAuthenticationPlugin"),
                     "CREATE USER 'app_clone'@'10.0.%' IDENTIFIED BY 'pw'");
    SM_ASSERT_STR_EQ(build(rot_mysql_sql_create_user, "8.0.35", "auth_socket"),
                     "CREATE USER 'app_clone'@'10.0.%' IDENTIFIED BY 'pw'");
    SM_ASSERT_STR_EQ(build(rot_mysql_sql_create_user, "5.6.51", "mysql_native_password"),
                     "CREATE USER 'app_clone'@'10.0.%' IDENTIFIED BY 'pw'");
    SM_ASSERT_STR_EQ(build(rot_mysql_sql_create_user, "10.3.39-MariaDB", "ed25519"),
                     "CREATE USER 'app_clone'@'10.0.%' IDENTIFIED BY 'pw'");
}

SM_TEST(mysql_set_password_for_follows_the_version) {
    SM_ASSERT_STR_EQ(build(rot_mysql_sql_set_password_for, "5.6.51", "mysql_native_password"),
                     "SET PASSWORD FOR 'app_clone'@'10.0.%' = PASSWORD('pw')");
    SM_ASSERT_STR_EQ(build(rot_mysql_sql_set_password_for, "5.7.44", NULL),
                     "ALTER USER 'app_clone'@'10.0.%' IDENTIFIED BY 'pw'");
    SM_ASSERT_STR_EQ(build(rot_mysql_sql_set_password_for, "8.4.3", "caching_sha2_password"),
                     "ALTER USER 'app_clone'@'10.0.%' IDENTIFIED WITH caching_sha2_password BY "
                     "'pw'");
    SM_ASSERT_STR_EQ(
        build(rot_mysql_sql_set_password_for, "10.11.6-MariaDB", "mysql_native_password"),
        "ALTER USER 'app_clone'@'10.0.%' IDENTIFIED VIA mysql_native_password USING "
        "PASSWORD('pw')");
    SM_ASSERT_STR_EQ(
        build(rot_mysql_sql_set_password_for, "10.3.39-MariaDB", "mysql_native_password"),
        "SET PASSWORD FOR 'app_clone'@'10.0.%' = PASSWORD('pw')");
}

static const char *require_sql(const char *version, const char *type, const char *cipher,
                               const char *issuer, const char *subject) {
    static char out[512];
    struct rot_mysql_version v = parse_ok(version);
    struct sm_buf b;
    struct sm_err err;
    sm_buf_init(&b, 4096);
    SM_ASSERT_OK(rot_mysql_sql_require(&b, &v, "u", "%", type, cipher, issuer, subject, &err), err);
    snprintf(out, sizeof(out), "%s", b.data);
    sm_buf_clean_up(&b);
    return out;
}

SM_TEST(mysql_require_copies_every_tls_requirement) {
    SM_ASSERT_STR_EQ(require_sql("8.0.35", "", "", "", ""), "ALTER USER 'u'@'%' REQUIRE NONE");
    SM_ASSERT_STR_EQ(require_sql("8.0.35", "ANY", "", "", ""), "ALTER USER 'u'@'%' REQUIRE SSL");
    SM_ASSERT_STR_EQ(require_sql("10.11.6-MariaDB", "X509", "", "", ""),
                     "ALTER USER 'u'@'%' REQUIRE X509");
    SM_ASSERT_STR_EQ(require_sql("8.0.35", "SPECIFIED", "AES", "/CN=ca", "/CN=a\\'b"),
                     "ALTER USER 'u'@'%' REQUIRE CIPHER 'AES' AND ISSUER '/CN=ca' AND SUBJECT "
                     "'/CN=a\\'b'");
    SM_ASSERT_STR_EQ(require_sql("8.0.35", "SPECIFIED", "", "", "/CN=app"),
                     "ALTER USER 'u'@'%' REQUIRE SUBJECT '/CN=app'");
}

SM_TEST(mysql_require_uses_grant_usage_before_alter_user_existed) {
    SM_ASSERT_STR_EQ(require_sql("5.6.51", "ANY", "", "", ""),
                     "GRANT USAGE ON *.* TO 'u'@'%' REQUIRE SSL");
    SM_ASSERT_STR_EQ(require_sql("10.1.48-MariaDB", "", "", "", ""),
                     "GRANT USAGE ON *.* TO 'u'@'%' REQUIRE NONE");
}

SM_TEST(mysql_require_unknown_ssl_type_fails) {
    struct rot_mysql_version v = parse_ok("8.0.35");
    struct sm_buf b;
    struct sm_err err;
    sm_buf_init(&b, 4096);
    SM_ASSERT_INT_EQ(rot_mysql_sql_require(&b, &v, "u", "%", "BOGUS", "", "", "", &err), -1);
    SM_ASSERT_CODE_EQ(err.code, ROT_ERR_DB_QUERY);
    sm_buf_clean_up(&b);
}

SM_TEST(mysql_default_roles_statement_lists_roles_or_none) {
    struct sm_buf b;
    struct sm_err err;
    const char *roles[] = {"r1", "%", "r2", "10.0.%"};
    sm_buf_init(&b, 4096);
    SM_ASSERT_OK(rot_mysql_sql_set_default_roles(&b, roles, 0, "u", "h", &err), err);
    SM_ASSERT_STR_EQ(b.data, "SET DEFAULT ROLE NONE TO 'u'@'h'");
    sm_buf_reset(&b);
    SM_ASSERT_OK(rot_mysql_sql_set_default_roles(&b, roles, 2, "u", "h", &err), err);
    SM_ASSERT_STR_EQ(b.data, "SET DEFAULT ROLE 'r1'@'%', 'r2'@'10.0.%' TO 'u'@'h'");
    sm_buf_clean_up(&b);
}

SM_TEST(mysql_account_queries_match_user_by_escaped_literal) {
    struct sm_buf b;
    struct sm_err err;
    sm_buf_init(&b, 4096);
    SM_ASSERT_OK(rot_mysql_sql_select_accounts(&b, "o\\'brien", &err), err);
    SM_ASSERT_STR_EQ(b.data, "SELECT Host, plugin, ssl_type, ssl_cipher, x509_issuer, "
                             "x509_subject FROM mysql.user WHERE User = 'o\\'brien' ORDER BY Host");
    sm_buf_reset(&b);
    SM_ASSERT_OK(rot_mysql_sql_show_grants(&b, "o\\'brien", "10.0.%", &err), err);
    SM_ASSERT_STR_EQ(b.data, "SHOW GRANTS FOR 'o\\'brien'@'10.0.%'");
    sm_buf_clean_up(&b);
}

SM_TEST(mysql_clone_plugin_allows_only_password_plugins) {
    struct rot_mysql_version my8 = parse_ok("8.0.35"), maria = parse_ok("10.11.6-MariaDB");
    SM_ASSERT_STR_EQ(rot_mysql_clone_plugin(&my8, "caching_sha2_password"),
                     "caching_sha2_password");
    SM_ASSERT_STR_EQ(rot_mysql_clone_plugin(&my8, "sha256_password"), "sha256_password");
    SM_ASSERT(rot_mysql_clone_plugin(&my8, "ed25519") == NULL);
    SM_ASSERT(rot_mysql_clone_plugin(&my8, "caching_sha2_password; DROP") == NULL);
    SM_ASSERT(rot_mysql_clone_plugin(&my8, "") == NULL);
    SM_ASSERT_STR_EQ(rot_mysql_clone_plugin(&maria, "ed25519"), "ed25519");
    SM_ASSERT(rot_mysql_clone_plugin(&maria, "unix_socket") == NULL);
    SM_ASSERT(rot_mysql_clone_plugin(&maria, "caching_sha2_password") == NULL);
}

/* ---------------------------------------------------------------------------------------------
 * SHOW GRANTS rewriting
 */

#define MAX_LINES 16

struct plan_case {
    struct rot_mysql_grant base[MAX_LINES], alt[MAX_LINES];
    size_t nbase, nalt;
    struct rot_mysql_stmts plan;
};

static void parse_lines(const char *const *lines, struct rot_mysql_grant *out, size_t *n) {
    *n = 0;
    for (size_t i = 0; lines != NULL && lines[i] != NULL; i++) {
        struct sm_err err;
        sm_err_clear(&err);
        if (rot_mysql_grant_parse(lines[i], &out[i], &err) != 0) {
            SM_FAIL("parse of line %zu failed: %s", i, err.msg);
        }
        (*n)++;
    }
}

/* Plans base -> alt for account 'alt'@'h' and returns the statements joined by "\n", the
 * corrections (what takes from the account) marked "[-] ". */
static char *plan_text(const char *const *base, const char *const *alt, const char *account) {
    static struct plan_case pc;
    struct sm_err err;
    struct sm_buf b;
    memset(&pc, 0, sizeof(pc));
    parse_lines(base, pc.base, &pc.nbase);
    parse_lines(alt, pc.alt, &pc.nalt);
    sm_err_clear(&err);
    SM_ASSERT_OK(rot_mysql_grant_plan(pc.base, pc.nbase, pc.alt, pc.nalt, account, &pc.plan, &err),
                 err);
    sm_buf_init(&b, 1 << 20);
    SM_ASSERT_OK(sm_buf_ensure(&b, &err), err);
    for (size_t i = 0; i < pc.plan.n; i++) {
        bool correction = i >= pc.plan.corrections_from && i < pc.plan.corrections_to;
        SM_ASSERT_OK(sm_buf_appendf(&b, &err, "%s%s%s", i ? "\n" : "", correction ? "[-] " : "",
                                    pc.plan.items[i]),
                     err);
    }
    for (size_t i = 0; i < pc.nbase; i++) {
        rot_mysql_grant_clean_up(&pc.base[i]);
    }
    for (size_t i = 0; i < pc.nalt; i++) {
        rot_mysql_grant_clean_up(&pc.alt[i]);
    }
    rot_mysql_stmts_clean_up(&pc.plan);
    return sm_buf_take(&b);
}

static void assert_plan(const char *const *base, const char *const *alt, const char *expected) {
    char *got = plan_text(base, alt, "'app_clone'@'10.0.%'");
    SM_ASSERT_STR_EQ(got, expected);
    sm_free(got);
}

SM_TEST(mysql_grant_rewrite_keeps_with_grant_option) {
    /* MySQL 5.7 manual format, non-% host. */
    const char *base[] = {"GRANT USAGE ON *.* TO 'app'@'10.0.%'",
                          "GRANT SELECT, INSERT ON `shop`.* TO 'app'@'10.0.%' WITH GRANT OPTION",
                          NULL};
    assert_plan(base, NULL,
                "GRANT SELECT, INSERT ON `shop`.* TO 'app_clone'@'10.0.%' WITH GRANT OPTION");
}

SM_TEST(mysql_grant_rewrite_mysql8_backticks_and_dynamic_privileges) {
    const char *base[] = {
        "GRANT SELECT, INSERT, UPDATE ON `db1`.* TO `app`@`10.0.%`",
        "GRANT BACKUP_ADMIN,BINLOG_ADMIN ON *.* TO `app`@`10.0.%` WITH GRANT OPTION",
        "GRANT EXECUTE ON PROCEDURE `db1`.`p``1` TO `app`@`10.0.%`",
        "GRANT SELECT (`col1`), INSERT (`col1`, `c 2`) ON `db1`.`t` TO `app`@`10.0.%`",
        "GRANT PROXY ON ''@'' TO `app`@`10.0.%` WITH GRANT OPTION",
        NULL};
    assert_plan(base, NULL,
                "GRANT SELECT, INSERT, UPDATE ON `db1`.* TO 'app_clone'@'10.0.%'\n"
                "GRANT BACKUP_ADMIN,BINLOG_ADMIN ON *.* TO 'app_clone'@'10.0.%' WITH GRANT "
                "OPTION\n"
                "GRANT EXECUTE ON PROCEDURE `db1`.`p``1` TO 'app_clone'@'10.0.%'\n"
                "GRANT SELECT (`col1`), INSERT (`col1`, `c 2`) ON `db1`.`t` TO "
                "'app_clone'@'10.0.%'\n"
                "GRANT PROXY ON ''@'' TO 'app_clone'@'10.0.%' WITH GRANT OPTION");
}

SM_TEST(mysql_grant_rewrite_copies_role_grants_with_admin_option) {
    /* MySQL 8.0 manual: roles granted to a user; privileges before roles. */
    const char *base[] = {"GRANT USAGE ON *.* TO `app`@`10.0.%`",
                          "GRANT `r1`@`%`,`r2`@`%` TO `app`@`10.0.%`",
                          "GRANT `admin_r`@`%` TO `app`@`10.0.%` WITH ADMIN OPTION",
                          "GRANT SELECT ON `db`.* TO `app`@`10.0.%`", NULL};
    assert_plan(base, NULL,
                "GRANT SELECT ON `db`.* TO 'app_clone'@'10.0.%'\n"
                "GRANT `r1`@`%`,`r2`@`%` TO 'app_clone'@'10.0.%'\n"
                "GRANT `admin_r`@`%` TO 'app_clone'@'10.0.%' WITH ADMIN OPTION");
}

SM_TEST(mysql_grant_rewrite_drops_identified_by_password) {
    /* MySQL 5.6 / MariaDB print the password hash, REQUIRE and limits on the global line. */
    const char *base[] = {
        "GRANT USAGE ON *.* TO 'bob'@'10.0.%' IDENTIFIED BY PASSWORD "
        "'*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19'",
        "GRANT RELOAD ON *.* TO 'bob'@'10.0.%' IDENTIFIED BY PASSWORD "
        "'*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19' REQUIRE SSL WITH GRANT OPTION "
        "MAX_QUERIES_PER_HOUR 10",
        NULL};
    char *got = plan_text(base, NULL, "'bob_clone'@'10.0.%'");
    SM_ASSERT_STR_EQ(got, "GRANT RELOAD ON *.* TO 'bob_clone'@'10.0.%' WITH GRANT OPTION");
    SM_ASSERT_STR_NOT_CONTAINS(got, "2470C0C0");
    SM_ASSERT_STR_NOT_CONTAINS(got, "IDENTIFIED");
    sm_free(got);
}

SM_TEST(mysql_grant_rewrite_mariadb_hostile_names_roles_and_default_role) {
    /* Captured from MariaDB 10.11 for user  we'ird`na me;x  at 127.0.0.1. */
    const char *base[] = {
        "GRANT `ro'le` TO `we'ird``na me;x`@`127.0.0.1` WITH ADMIN OPTION",
        "GRANT RELOAD ON *.* TO `we'ird``na me;x`@`127.0.0.1` IDENTIFIED BY PASSWORD "
        "'*66F936ECC01641848C0263A8BAE23670D420FB87' REQUIRE ISSUER '/CN=ca' SUBJECT "
        "'/CN=a''b' CIPHER 'AES' WITH MAX_USER_CONNECTIONS 5",
        "GRANT SELECT, INSERT ON `d``b`.* TO `we'ird``na me;x`@`127.0.0.1` WITH GRANT OPTION",
        "GRANT UPDATE (`c``1`, `a`) ON `d``b`.`t` TO `we'ird``na me;x`@`127.0.0.1`",
        "SET DEFAULT ROLE `ro'le` FOR `we'ird``na me;x`@`127.0.0.1`",
        NULL};
    struct rot_mysql_grant g[MAX_LINES];
    size_t n;
    parse_lines(base, g, &n);
    for (size_t i = 0; i < n; i++) {
        SM_ASSERT(rot_mysql_grant_is_for(&g[i], "we'ird`na me;x", "127.0.0.1"));
        SM_ASSERT(!rot_mysql_grant_is_for(&g[i], "we'ird`na me;x", "%"));
        SM_ASSERT(!rot_mysql_grant_is_for(&g[i], "we'ird``na me;x", "127.0.0.1"));
        rot_mysql_grant_clean_up(&g[i]);
    }
    assert_plan(base, NULL,
                "GRANT RELOAD ON *.* TO 'app_clone'@'10.0.%'\n"
                "GRANT SELECT, INSERT ON `d``b`.* TO 'app_clone'@'10.0.%' WITH GRANT OPTION\n"
                "GRANT UPDATE (`c``1`, `a`) ON `d``b`.`t` TO 'app_clone'@'10.0.%'\n"
                "GRANT `ro'le` TO 'app_clone'@'10.0.%' WITH ADMIN OPTION\n"
                "SET DEFAULT ROLE `ro'le` FOR 'app_clone'@'10.0.%'");
}

SM_TEST(mysql_grant_parse_reads_ansi_quotes_and_backslash_quoted_names) {
    const char *lines[] = {
        /* MariaDB under sql_mode ANSI_QUOTES */
        "GRANT SELECT ON \"d`b\".* TO \"we'ird`na me;x\"@\"127.0.0.1\" WITH GRANT OPTION",
        /* MySQL 5.7 style single-quoted grantee with a backslash escape */
        "GRANT USAGE ON *.* TO 'o\\'brien'@'%'",
        /* ... or with a doubled quote */
        "GRANT USAGE ON *.* TO 'o''brien'@'%'", NULL};
    struct rot_mysql_grant g[MAX_LINES];
    size_t n;
    parse_lines(lines, g, &n);
    SM_ASSERT(rot_mysql_grant_is_for(&g[0], "we'ird`na me;x", "127.0.0.1"));
    SM_ASSERT(g[0].grant_option);
    SM_ASSERT_STR_EQ(g[0].object, "\"d`b\".*");
    SM_ASSERT(rot_mysql_grant_is_for(&g[1], "o'brien", "%"));
    SM_ASSERT(rot_mysql_grant_is_for(&g[2], "o'brien", "%"));
    SM_ASSERT(!rot_mysql_grant_is_for(&g[2], "obrien", "%"));
    for (size_t i = 0; i < n; i++) {
        rot_mysql_grant_clean_up(&g[i]);
    }
}

SM_TEST(mysql_grant_rewrite_applies_partial_revokes_after_grants) {
    /* MySQL 8.0.16+ with partial_revokes=ON (manual example). */
    const char *base[] = {"REVOKE INSERT, UPDATE, DELETE ON `mysql`.* FROM `app`@`10.0.%`",
                          "GRANT SELECT, INSERT, UPDATE, DELETE ON *.* TO `app`@`10.0.%`", NULL};
    assert_plan(base, NULL,
                "GRANT SELECT, INSERT, UPDATE, DELETE ON *.* TO 'app_clone'@'10.0.%'\n"
                "REVOKE INSERT, UPDATE, DELETE ON `mysql`.* FROM 'app_clone'@'10.0.%'");
}

SM_TEST(mysql_grant_resync_revokes_what_the_base_no_longer_has) {
    const char *base[] = {"GRANT USAGE ON *.* TO `app`@`10.0.%`",
                          "GRANT SELECT, INSERT ON `db`.* TO `app`@`10.0.%`",
                          "GRANT `r1`@`%` TO `app`@`10.0.%`", NULL};
    const char *alt[] = {
        "GRANT USAGE ON *.* TO `app_clone`@`10.0.%`",
        "GRANT SELECT, INSERT, DELETE ON `db`.* TO `app_clone`@`10.0.%` WITH GRANT OPTION",
        "GRANT SELECT ON `other`.* TO `app_clone`@`10.0.%`",
        "GRANT `r1`@`%`,`r2`@`%` TO `app_clone`@`10.0.%`", NULL};
    assert_plan(base, alt,
                "GRANT SELECT, INSERT ON `db`.* TO 'app_clone'@'10.0.%'\n"
                "GRANT `r1`@`%` TO 'app_clone'@'10.0.%'\n"
                "[-] REVOKE DELETE ON `db`.* FROM 'app_clone'@'10.0.%'\n"
                "[-] REVOKE SELECT ON `other`.* FROM 'app_clone'@'10.0.%'\n"
                "[-] REVOKE `r2`@`%` FROM 'app_clone'@'10.0.%'\n"
                "[-] REVOKE GRANT OPTION ON `db`.* FROM 'app_clone'@'10.0.%'");
}

SM_TEST(mysql_grant_resync_narrows_the_grant_option_of_each_dynamic_privilege) {
    /* MySQL 8 keeps a grant option per dynamic privilege: the base's PROCESS grant option on *.*
     * says nothing about SYSTEM_VARIABLES_ADMIN's. */
    const char *base[] = {
        "GRANT PROCESS ON *.* TO `app`@`10.0.%` WITH GRANT OPTION",
        "GRANT APPLICATION_PASSWORD_ADMIN,SYSTEM_VARIABLES_ADMIN ON *.* TO `app`@`10.0.%`",
        "GRANT BACKUP_ADMIN ON *.* TO `app`@`10.0.%` WITH GRANT OPTION", NULL};
    const char *alt[] = {"GRANT PROCESS ON *.* TO `app_clone`@`10.0.%` WITH GRANT OPTION",
                         "GRANT APPLICATION_PASSWORD_ADMIN ON *.* TO `app_clone`@`10.0.%`",
                         "GRANT BACKUP_ADMIN,SYSTEM_VARIABLES_ADMIN ON *.* TO `app_clone`@`10.0.%` "
                         "WITH GRANT OPTION",
                         NULL};
    assert_plan(base, alt,
                "GRANT PROCESS ON *.* TO 'app_clone'@'10.0.%' WITH GRANT OPTION\n"
                "GRANT APPLICATION_PASSWORD_ADMIN,SYSTEM_VARIABLES_ADMIN ON *.* TO "
                "'app_clone'@'10.0.%'\n"
                "GRANT BACKUP_ADMIN ON *.* TO 'app_clone'@'10.0.%' WITH GRANT OPTION\n"
                "[-] REVOKE SYSTEM_VARIABLES_ADMIN ON *.* FROM 'app_clone'@'10.0.%'\n"
                "[-] GRANT SYSTEM_VARIABLES_ADMIN ON *.* TO 'app_clone'@'10.0.%'");
}

SM_TEST(mysql_grant_resync_revokes_static_grant_option_last_then_regrants_dynamic_ones) {
    /* REVOKE GRANT OPTION ON *.* also clears the dynamic privileges' option in
     * mysql.global_grants (MySQL 9.7, not in its privilege cache): the base's are granted again. */
    const char *base[] = {"GRANT PROCESS ON *.* TO `app`@`10.0.%`",
                          "GRANT BACKUP_ADMIN ON *.* TO `app`@`10.0.%` WITH GRANT OPTION", NULL};
    const char *alt[] = {"GRANT PROCESS ON *.* TO `app_clone`@`10.0.%` WITH GRANT OPTION",
                         "GRANT BACKUP_ADMIN ON *.* TO `app_clone`@`10.0.%` WITH GRANT OPTION",
                         NULL};
    assert_plan(base, alt,
                "GRANT PROCESS ON *.* TO 'app_clone'@'10.0.%'\n"
                "GRANT BACKUP_ADMIN ON *.* TO 'app_clone'@'10.0.%' WITH GRANT OPTION\n"
                "[-] REVOKE GRANT OPTION ON *.* FROM 'app_clone'@'10.0.%'\n"
                "[-] GRANT BACKUP_ADMIN ON *.* TO 'app_clone'@'10.0.%' WITH GRANT OPTION");
}

SM_TEST(mysql_grant_resync_narrows_all_privileges_by_revoke_and_regrant) {
    const char *base[] = {"GRANT SELECT ON `db`.* TO `app`@`10.0.%`", NULL};
    const char *alt[] = {"GRANT ALL PRIVILEGES ON `db`.* TO `app_clone`@`10.0.%`", NULL};
    assert_plan(base, alt,
                "GRANT SELECT ON `db`.* TO 'app_clone'@'10.0.%'\n"
                "[-] REVOKE ALL PRIVILEGES ON `db`.* FROM 'app_clone'@'10.0.%'\n"
                "[-] GRANT SELECT ON `db`.* TO 'app_clone'@'10.0.%'");
}

SM_TEST(mysql_grant_resync_keeps_everything_under_base_all_privileges) {
    const char *base[] = {"GRANT ALL ON `db`.* TO `app`@`10.0.%`", NULL};
    const char *alt[] = {"GRANT SELECT, INSERT ON `db`.* TO `app_clone`@`10.0.%`", NULL};
    assert_plan(base, alt, "GRANT ALL ON `db`.* TO 'app_clone'@'10.0.%'");
}

SM_TEST(mysql_grant_resync_revokes_single_columns) {
    const char *base[] = {"GRANT UPDATE (`a`) ON `d`.`t` TO `app`@`10.0.%`", NULL};
    const char *alt[] = {"GRANT SELECT (`x`), UPDATE (`a`, `b`) ON `d`.`t` TO `app_clone`@`10.0.%`",
                         NULL};
    assert_plan(base, alt,
                "GRANT UPDATE (`a`) ON `d`.`t` TO 'app_clone'@'10.0.%'\n"
                "[-] REVOKE SELECT (`x`), UPDATE (`b`) ON `d`.`t` FROM 'app_clone'@'10.0.%'");
}

SM_TEST(mysql_grant_resync_lifts_partial_revokes_and_default_role_the_base_lacks) {
    const char *base[] = {"GRANT SELECT ON *.* TO `app`@`10.0.%`", NULL};
    const char *alt[] = {"GRANT SELECT ON *.* TO `app_clone`@`10.0.%`",
                         "REVOKE SELECT ON `mysql`.* FROM `app_clone`@`10.0.%`",
                         "SET DEFAULT ROLE `r` FOR `app_clone`@`10.0.%`", NULL};
    /* SELECT ON *.* again would lift every restriction of SELECT: it is held, so not sent. */
    assert_plan(base, alt,
                "[-] GRANT SELECT ON `mysql`.* TO 'app_clone'@'10.0.%'\n"
                "[-] SET DEFAULT ROLE NONE FOR 'app_clone'@'10.0.%'");
}

SM_TEST(mysql_grant_resync_with_partial_revokes_grants_only_what_is_missing_globally) {
    /* Granting a global privilege again lifts its partial revokes (MySQL 9.7): so the clone gets
     * only UPDATE on *.*, keeps its restriction on `mysql` until the base's are applied, and the
     * restriction on `pdb` the base lacks is lifted by a grant on `pdb`. */
    const char *base[] = {"GRANT SELECT, INSERT, UPDATE ON *.* TO `app`@`10.0.%`",
                          "REVOKE INSERT, UPDATE ON `mysql`.* FROM `app`@`10.0.%`", NULL};
    const char *alt[] = {"GRANT SELECT, INSERT ON *.* TO `app_clone`@`10.0.%`",
                         "REVOKE SELECT ON `pdb`.* FROM `app_clone`@`10.0.%`",
                         "REVOKE INSERT ON `mysql`.* FROM `app_clone`@`10.0.%`", NULL};
    assert_plan(base, alt,
                "GRANT UPDATE ON *.* TO 'app_clone'@'10.0.%'\n"
                "[-] GRANT SELECT ON `pdb`.* TO 'app_clone'@'10.0.%'\n"
                "REVOKE INSERT, UPDATE ON `mysql`.* FROM 'app_clone'@'10.0.%'");
}

SM_TEST(mysql_grant_resync_with_partial_revokes_drops_restrictions_with_their_privilege) {
    /* The base no longer holds SELECT on *.*: revoking it there takes the clone's restriction of
     * SELECT with it, so nothing is granted on `pdb`. The base's grant option is added without
     * granting its privileges again. */
    const char *base[] = {"GRANT INSERT ON *.* TO `app`@`10.0.%` WITH GRANT OPTION",
                          "REVOKE INSERT ON `mysql`.* FROM `app`@`10.0.%`", NULL};
    const char *alt[] = {"GRANT SELECT, INSERT ON *.* TO `app_clone`@`10.0.%`",
                         "REVOKE SELECT ON `pdb`.* FROM `app_clone`@`10.0.%`",
                         "REVOKE INSERT ON `mysql`.* FROM `app_clone`@`10.0.%`", NULL};
    assert_plan(base, alt,
                "GRANT USAGE ON *.* TO 'app_clone'@'10.0.%' WITH GRANT OPTION\n"
                "[-] REVOKE SELECT ON *.* FROM 'app_clone'@'10.0.%'\n"
                "REVOKE INSERT ON `mysql`.* FROM 'app_clone'@'10.0.%'");
}

SM_TEST(mysql_grant_parse_refuses_unknown_lines_without_quoting_hashes) {
    const char *bad[] = {
        "CREATE USER 'a'@'%' IDENTIFIED BY PASSWORD '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19'",
        "GRANT SELECT ON `db`.* TO",
        "GRANT SELECT ON `db TO `a`@`%`",
        "GRANT TO `a`@`%`",
        "GRANT SELECT ON TO `a`@`%`",
        "GRANT SELECT (a ON `db`.* TO `a`@`%`",
        "REVOKE `r` FROM `a`",
        ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct rot_mysql_grant g;
        struct sm_err err;
        sm_err_clear(&err);
        if (rot_mysql_grant_parse(bad[i], &g, &err) != -1) {
            SM_FAIL("line %zu parsed: %s", i, bad[i]);
        }
        SM_ASSERT_CODE_EQ(err.code, ROT_ERR_DB_QUERY);
        SM_ASSERT_STR_NOT_CONTAINS(err.msg, "2470C0C0");
        SM_ASSERT(g.what == NULL && g.grantee_user == NULL);
    }
}

SM_TEST(mysql_grant_parse_does_not_leak_memory) {
    int64_t before = sm_mem_live_count();
    const char *base[] = {"GRANT SELECT (`a`, `b`) ON `d`.`t` TO `app`@`10.0.%`",
                          "GRANT `r1`@`%` TO `app`@`10.0.%`", NULL};
    const char *alt[] = {"GRANT ALL ON `d`.`t` TO `app_clone`@`10.0.%` WITH GRANT OPTION",
                         "GRANT `r2`@`%` TO `app_clone`@`10.0.%`", NULL};
    char *got = plan_text(base, alt, "'x'@'y'");
    sm_free(got);
    SM_ASSERT_INT_EQ(sm_mem_live_count(), before);
}
