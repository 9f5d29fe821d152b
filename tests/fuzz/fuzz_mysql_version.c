/*
 * Fuzz target: the MySQL / MariaDB / Aurora server version parser (rotators/mysql_sql.c,
 * rot_mysql_version_parse) and the statement builders that branch on the parsed version.
 *
 * Input: a version string as the server reports it (cut at the first NUL, as a C API string).
 * Invariants: on success major and minor are >= 0 and patch >= -1; the flavor is MariaDB exactly
 * when the string contains "MariaDB", else Aurora exactly when it contains "mysql_aurora"; every
 * builder then produces a statement that starts with the documented keyword and holds the escaped
 * literal bodies it was given, and the own password's statement names REPLACE, RETAIN CURRENT
 * PASSWORD and the lifetime exactly where the server has them; on failure the code is
 * ROT_ERR_DB_QUERY. No crash, no leak.
 */
#include "fuzz_common.h"
#include "mysql_sql.h"

FUZZ_INIT_HOOKS()

static void check_builders(const struct rot_mysql_version *v) {
    struct sm_buf b;
    struct sm_err err;
    sm_buf_init(&b, ROT_MYSQL_STMT_MAX);
    const struct rot_password_opts both = {.lifetime_days = 9, .retain_current = true};
    FUZZ_CHECK(rot_mysql_sql_set_own_password(&b, v, "pw\\'x", "cur", &both, &err) == 0);
    bool alter = strncmp(b.data, "ALTER USER ", 11) == 0;
    FUZZ_CHECK((alter || strncmp(b.data, "SET PASSWORD", 12) == 0) &&
               strstr(b.data, "'pw\\'x'") != NULL);
    FUZZ_CHECK((strstr(b.data, " REPLACE 'cur'") != NULL) == rot_mysql_has_replace_clause(v));
    FUZZ_CHECK((strstr(b.data, " RETAIN CURRENT PASSWORD") != NULL) ==
               rot_mysql_has_secondary_passwords(v));
    FUZZ_CHECK((strstr(b.data, " PASSWORD EXPIRE INTERVAL 9 DAY") != NULL) == alter);
    FUZZ_CHECK(!alter || rot_mysql_has_password_lifetime(v));
    FUZZ_CHECK(!rot_mysql_has_secondary_passwords(v) || rot_mysql_has_replace_clause(v));
    if (alter) {
        const char *hosts[] = {"h1", "h2"};
        sm_buf_reset(&b);
        FUZZ_CHECK(rot_mysql_sql_set_password(&b, v, "u", hosts, 2, "p", &both, &err) == 0);
        FUZZ_CHECK(strncmp(b.data, "ALTER USER 'u'@'h1' ", 20) == 0 &&
                   strstr(b.data, ", 'u'@'h2' IDENTIFIED BY 'p' PASSWORD EXPIRE") != NULL);
    }
    const char *plugins[] = {NULL, "mysql_native_password", "caching_sha2_password", "ed25519",
                             "auth_socket"};
    for (size_t i = 0; i < sizeof(plugins) / sizeof(plugins[0]); i++) {
        const char *plugin = rot_mysql_clone_plugin(v, plugins[i]);
        FUZZ_CHECK(plugin == NULL || (plugins[i] != NULL && strcmp(plugin, plugins[i]) == 0));
        sm_buf_reset(&b);
        FUZZ_CHECK(rot_mysql_sql_create_user(&b, v, "u", "h", plugin, "p", &err) == 0);
        FUZZ_CHECK(strncmp(b.data, "CREATE USER 'u'@'h' IDENTIFIED ", 31) == 0);
        sm_buf_reset(&b);
        FUZZ_CHECK(rot_mysql_sql_set_password_for(&b, v, "u", "h", plugin, "p", &err) == 0);
        FUZZ_CHECK(strstr(b.data, "'u'@'h'") != NULL && strstr(b.data, "'p'") != NULL);
    }
    const char *ssl[] = {"", "ANY", "X509", "SPECIFIED"};
    for (size_t i = 0; i < 4; i++) {
        sm_buf_reset(&b);
        FUZZ_CHECK(rot_mysql_sql_require(&b, v, "u", "h", ssl[i], "c", "", "s", &err) == 0);
        FUZZ_CHECK(strstr(b.data, " REQUIRE ") != NULL);
    }
    sm_buf_reset(&b);
    FUZZ_CHECK(rot_mysql_sql_require(&b, v, "u", "h", "bogus", "", "", "", &err) == -1);
    FUZZ_CHECK(err.code == ROT_ERR_DB_QUERY);
    sm_buf_clean_up(&b);
    (void)rot_mysql_has_alter_user(v);
    (void)rot_mysql_has_default_roles_table(v);
    FUZZ_CHECK(rot_mysql_flavor_name(v->flavor) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int64_t live = sm_mem_live_count();
    char *s = fuzz_copy(data, size, 1);
    struct rot_mysql_version v;
    struct sm_err err;
    if (rot_mysql_version_parse(s, &v, &err) == 0) {
        FUZZ_CHECK(v.major >= 0 && v.minor >= 0 && v.patch >= -1);
        if (strstr(s, "MariaDB") != NULL) {
            FUZZ_CHECK(v.flavor == ROT_MYSQL_FLAVOR_MARIADB);
        } else if (strstr(s, "mysql_aurora") != NULL) {
            FUZZ_CHECK(v.flavor == ROT_MYSQL_FLAVOR_AURORA);
        } else {
            FUZZ_CHECK(v.flavor == ROT_MYSQL_FLAVOR_MYSQL);
        }
        FUZZ_CHECK(rot_mysql_version_at_least(&v, v.major, v.minor, v.patch < 0 ? 0 : v.patch));
        check_builders(&v);
    } else {
        FUZZ_CHECK(err.code == ROT_ERR_DB_QUERY);
        FUZZ_CHECK(strnlen(err.msg, sizeof(err.msg)) < sizeof(err.msg));
    }
    FUZZ_CHECK(rot_mysql_version_parse(NULL, &v, &err) == -1);
    free(s);
    FUZZ_CHECK(sm_mem_live_count() == live);
    return 0;
}
