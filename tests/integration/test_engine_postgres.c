/*
 * What only the PostgreSQL engine does, against the real server of tests/scripts/postgres.sh
 * (fixture `postgres`, which logs every statement): libpq's environment and texts, verifiers
 * instead of passwords, PASSWORD_ENCRYPTION, the alternate user as a member of the original, and
 * PG_OWNER_ROLE. What every engine does is test_engine_conformance.c's; the sync's plan is
 * unit-tested (tests/unit/test_postgres_sql.c). Each test makes its own uniquely named roles.
 */
#include "db_postgres.h"
#include "db_server.h"
#include "harness.h"

/* A login to the TLS instance with the given engine settings (NULL: defaults). */
static struct rot_conn *login(const char *user, const char *password, enum rot_tls tls,
                              const struct rot_engine_settings *settings) {
    struct rot_login l = db_login(user, password, tls);
    struct rot_connect_opts o = db_opts(db_server()->ca_file);
    o.settings = settings;
    return db_connect_ok(&l, &o);
}

static void create_user(const char *user, const char *password) {
    db_postgres_admin.create_user(user, password, false);
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

SM_TEST(pg_engine_failure_texts_are_read_with_names_blanked_out) {
    struct sm_err err;
    const char *user = db_uniq("autobad");
    struct rot_connect_opts o = db_opts(db_server()->ca_file);
    create_user(user, "auto-pass-3");
    /* A refused password under AUTO: one attempt (verify-full never retries in plaintext), one
     * SQLSTATE 28P01 (invalid_password; the fixture's log_line_prefix) naming the user. */
    struct rot_login l = db_login(user, "not-the-password", ROT_TLS_AUTO);
    db_connect_fails(&l, &o, ROT_ERR_DB_LOGIN, &err);
    char *log = db_pg_log(), named[160];
    snprintf(named, sizeof(named), "for user \"%s\"", user);
    SM_ASSERT_INT_EQ(count_lines_with(log, " 28P01 ", named), 1);
    free(log);
    /* A name that reads like a TLS or network failure is still a login failure. */
    l.username = db_uniq("SSL error: certificate Connection refused");
    db_connect_fails(&l, &o, ROT_ERR_DB_LOGIN, &err);
    db_postgres_admin.drop_user(user);
}

SM_TEST(pg_engine_pg_environment_variables_do_not_change_behaviour) {
    struct sm_err err;
    const char *user = db_uniq("env");
    struct rot_connect_opts o = db_opts(db_server()->ca_file);
    create_user(user, "env-pass-1");
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
    struct rot_login l = db_login(user, "env-pass-1", ROT_TLS_REQUIRED);
    l.port = db_server()->port_notls;
    db_connect_fails(&l, &o, ROT_ERR_DB_TLS, &err);
    /* A wrong password stays wrong, although PGPASSWORD has the right one; and an empty one is
     * refused without connecting, so neither PGPASSWORD nor ~/.pgpass can stand in for it. */
    SET_HOSTILE_ENV();
    l = db_login(user, "not-env-pass", ROT_TLS_REQUIRED);
    db_connect_fails(&l, &o, ROT_ERR_DB_LOGIN, &err);
    SET_HOSTILE_ENV();
    l.password = "";
    db_connect_fails(&l, &o, ROT_ERR_DB_LOGIN, &err);
    SM_ASSERT_STR_CONTAINS(err.msg, "the password is empty");
    /* And a good login works despite PGSERVICE, PGHOSTADDR, PGDATABASE, PGOPTIONS, ... */
    SET_HOSTILE_ENV();
    struct rot_conn *c = login(user, "env-pass-1", ROT_TLS_REQUIRED, NULL);
    SM_ASSERT_OK(rot_db_check(c, &err), err);
    rot_db_disconnect(c);
    SM_ASSERT(getenv("PGSERVICE") == NULL);
    /* init scrubs them as well. */
    SET_HOSTILE_ENV();
    SM_ASSERT_OK(rot_engine_postgres.init(&err), err);
    SM_ASSERT(getenv("PGSSLMODE") == NULL && getenv("PGPASSWORD") == NULL);
#undef SET_HOSTILE_ENV
    db_postgres_admin.drop_user(user);
}

SM_TEST(pg_engine_sessions_name_the_application) {
    const char *user = db_uniq("app");
    char app[64];
    create_user(user, "app-pass-1");
    struct rot_conn *c = login(user, "app-pass-1", ROT_TLS_REQUIRED, NULL);
    db_pg_value("SELECT application_name FROM pg_stat_activity WHERE usename = $1", user, app,
                sizeof(app));
    SM_ASSERT_STR_EQ(app, "smrotate");
    rot_db_disconnect(c);
    db_postgres_admin.drop_user(user);
}

/* ---- passwords ----------------------------------------------------------------------------- */

/* Sets user's password from old to new with settings; returns the stored verifier in value. */
static void set_password(const char *user, const char *old_pw, const char *new_pw,
                         const struct rot_engine_settings *settings, char *value, size_t cap) {
    struct sm_err err;
    struct rot_conn *c = login(user, old_pw, ROT_TLS_REQUIRED, settings);
    SM_ASSERT_OK(rot_db_set_own_password(c, user, old_pw, new_pw, NULL, &err), err);
    rot_db_disconnect(c);
    db_pg_value("SELECT rolpassword FROM pg_authid WHERE rolname = $1", user, value, cap);
}

SM_TEST(pg_engine_set_own_password_sends_a_verifier_never_the_password) {
    char value[256], newpw[64];
    const char *user = db_uniq("Mixed \"Quo'te; Case");
    snprintf(newpw, sizeof(newpw), "N\xe2\x82\xac w'\\%%$\";--pw-%s", db_uniq("x"));
    create_user(user, "0ld'\\pw");
    set_password(user, "0ld'\\pw", newpw, NULL, value, sizeof(value));
    SM_ASSERT(db_pg_can_login(user, newpw));
    SM_ASSERT(strncmp(value, "SCRAM-SHA-256$", 14) == 0);
    /* The server logged the statement with the verifier, never the new password. */
    char *log = db_pg_log();
    SM_ASSERT_STR_NOT_CONTAINS(log, newpw);
    const char *line = db_pg_log_line_with(log, "ALTER ROLE", db_uniq("Mixed"));
    SM_ASSERT(line != NULL);
    SM_ASSERT_STR_CONTAINS(line, "SCRAM-SHA-256$");
    free(log);
    db_postgres_admin.drop_user(user);
}

SM_TEST(pg_engine_password_encryption_md5_and_server) {
    struct sm_err err;
    char value[256];
    const char *user = db_uniq("enc"), *clone = db_uniq("enc_clone");
    struct rot_engine_settings md5 = {.pg_password_encryption = ROT_PG_PASSWORD_MD5};
    struct rot_engine_settings plain = {.pg_password_encryption = ROT_PG_PASSWORD_PLAIN};
    create_user(user, "enc-old");
    set_password(user, "enc-old", "md5-new", &md5, value, sizeof(value));
    SM_ASSERT(strncmp(value, "md5", 3) == 0 && strlen(value) == 35);
    db_pg_sqlf("ALTER ROLE %s PASSWORD 'md5-new'", db_pg_ident(user)); /* pg_hba takes scram only */
    /* "server": the server hashes (its password_encryption is scram-sha-256) the password
     * itself, which its statement log therefore shows: the documented cost of this setting. */
    set_password(user, "md5-new", "srvhash-new'\\x", &plain, value, sizeof(value));
    SM_ASSERT(db_pg_can_login(user, "srvhash-new'\\x"));
    SM_ASSERT(strncmp(value, "SCRAM-SHA-256$", 14) == 0);
    char *log = db_pg_log();
    const char *line = db_pg_log_line_with(log, "ALTER ROLE", user);
    SM_ASSERT(line != NULL);
    SM_ASSERT_STR_NOT_CONTAINS(line, "SCRAM-SHA-256$");
    free(log);
    /* The alternate user's password too. */
    struct rot_user_pair users = {.original = user, .clone = clone, .target = clone};
    struct rot_conn *a =
        login(db_server()->admin_user, db_server()->admin_password, ROT_TLS_REQUIRED, &plain);
    SM_ASSERT_OK(rot_db_sync_alternate_user(a, &users, "srvhash-clone", NULL, &err), err);
    rot_db_disconnect(a);
    SM_ASSERT(db_pg_can_login(clone, "srvhash-clone"));
    db_pg_value("SELECT rolpassword FROM pg_authid WHERE rolname = $1", clone, value,
                sizeof(value));
    SM_ASSERT(strncmp(value, "SCRAM-SHA-256$", 14) == 0);
    db_postgres_admin.drop_user(clone);
    db_postgres_admin.drop_user(user);
}

SM_TEST(pg_engine_set_own_password_works_for_a_user_whose_sessions_set_role) {
    char value[256];
    const char *user = db_uniq("setrole"), *group = db_uniq("setrole_grp");
    create_user(user, "setrole-old");
    db_pg_sqlf("CREATE ROLE %s NOLOGIN", db_pg_ident(group));
    db_pg_sqlf("GRANT %s TO %s", db_pg_ident(group), db_pg_ident(user));
    db_pg_sqlf("ALTER ROLE %s SET role = %s", db_pg_ident(user), db_pg_literal(group));
    set_password(user, "setrole-old", "setrole-new", NULL, value, sizeof(value));
    SM_ASSERT(db_pg_can_login(user, "setrole-new"));
    db_postgres_admin.drop_user(user);
    db_postgres_admin.drop_user(group);
}

SM_TEST(pg_engine_set_own_password_of_another_role_is_db_query_without_secrets) {
    struct sm_err err;
    const char *user = db_uniq("self"), *other = db_uniq("other");
    create_user(user, "self-pass");
    create_user(other, "other-pass");
    struct rot_conn *c = login(user, "self-pass", ROT_TLS_OFF, NULL);
    SM_ASSERT_INT_EQ(rot_db_set_own_password(c, other, "self-pass", "stolen-pass-1", NULL, &err),
                     -1);
    SM_ASSERT_CODE_EQ(err.code, ROT_ERR_DB_QUERY);
    SM_ASSERT_STR_CONTAINS(err.msg, "SQLSTATE 42501"); /* insufficient_privilege */
    SM_ASSERT_STR_NOT_CONTAINS(err.msg, "stolen-pass-1");
    SM_ASSERT_STR_NOT_CONTAINS(err.msg, "SCRAM");
    SM_ASSERT_OK(rot_db_check(c, &err), err); /* the session goes on */
    rot_db_disconnect(c);
    SM_ASSERT(db_pg_can_login(other, "other-pass"));
    db_postgres_admin.drop_user(user);
    db_postgres_admin.drop_user(other);
}

/* ---- the alternate user -------------------------------------------------------------------- */

SM_TEST(pg_engine_sync_makes_the_clone_a_member_with_the_original_attributes) {
    struct sm_err err;
    char value[256];
    const char *base = db_uniq("Alt Base'"), *clone = db_uniq("Alt Base'_clone");
    create_user(base, "base-pass");
    db_pg_sqlf("ALTER ROLE %s CONNECTION LIMIT 7 CREATEDB", db_pg_ident(base));
    struct rot_user_pair users = {.original = base, .clone = clone, .target = clone};
    struct rot_conn *a = db_admin_conn();
    SM_ASSERT_OK(rot_db_sync_alternate_user(a, &users, "clone-pass-1\\'%$", NULL, &err), err);
    SM_ASSERT(db_pg_is_member(clone, base) && !db_pg_is_member(base, clone));
    db_pg_value("SELECT rolconnlimit::text || rolcreatedb::text || rolcanlogin::text FROM pg_roles "
                "WHERE rolname = $1",
                clone, value, sizeof(value));
    SM_ASSERT_STR_EQ(value, "7truetrue");
    db_pg_value("SELECT rolpassword FROM pg_authid WHERE rolname = $1", clone, value,
                sizeof(value));
    SM_ASSERT(strncmp(value, "SCRAM-SHA-256$", 14) == 0);
    SM_ASSERT(db_pg_can_login(base, "base-pass"));
    /* Someone breaks the clone: one warning names every change, before it is made. */
    db_pg_sqlf("REVOKE %s FROM %s", db_pg_ident(base), db_pg_ident(clone));
    db_pg_sqlf("ALTER ROLE %s NOLOGIN NOINHERIT CONNECTION LIMIT 3", db_pg_ident(clone));
    db_log_capture_begin();
    SM_ASSERT_OK(rot_db_sync_alternate_user(a, &users, "clone-pass-2", NULL, &err), err);
    char *log = db_log_capture_end();
    SM_ASSERT_INT_EQ(db_count(log, "\tWARN\t"), 1);
    SM_ASSERT_STR_CONTAINS(log, "LOGIN, INHERIT, CONNECTION LIMIT 7, GRANT");
    SM_ASSERT_STR_NOT_CONTAINS(log, "clone-pass");
    free(log);
    rot_db_disconnect(a);
    SM_ASSERT(db_pg_is_member(clone, base) && db_pg_can_login(clone, "clone-pass-2"));
    db_pg_value("SELECT rolconnlimit::text || rolinherit::text FROM pg_roles WHERE rolname = $1",
                clone, value, sizeof(value));
    SM_ASSERT_STR_EQ(value, "7true");
    log = db_pg_log();
    SM_ASSERT_STR_NOT_CONTAINS(log, "clone-pass-1");
    free(log);
    db_postgres_admin.drop_user(clone);
    db_postgres_admin.drop_user(base);
}

SM_TEST(pg_engine_sync_owner_role_shares_object_ownership) {
    struct sm_err err;
    char sql[256], value[64];
    const char *base = db_uniq("own"), *clone = db_uniq("own_clone");
    const char *owner = db_uniq("Owner "), *table = db_uniq("own_t");
    create_user(base, "own-base");
    db_pg_sqlf("CREATE ROLE %s NOLOGIN", db_pg_ident(owner));
    db_pg_sqlf("GRANT USAGE, CREATE ON SCHEMA public TO %s", db_pg_ident(owner));
    struct rot_engine_settings settings = {.pg_owner_role = owner};
    struct rot_user_pair users = {.original = base, .clone = clone, .target = clone};
    struct rot_conn *a =
        login(db_server()->admin_user, db_server()->admin_password, ROT_TLS_REQUIRED, &settings);
    SM_ASSERT_OK(rot_db_sync_alternate_user(a, &users, "own-clone", NULL, &err), err);
    SM_ASSERT_OK(rot_db_sync_alternate_user(a, &users, "own-clone", NULL, &err), err);
    rot_db_disconnect(a);
    SM_ASSERT(db_pg_is_member(base, owner) && db_pg_is_member(clone, owner));
    /* The clone creates a table: the owner role owns it, and the base user may drop it. */
    PGconn *c =
        PQsetdbLogin(db_server()->host, db_env("PORT"), NULL, NULL, "postgres", clone, "own-clone");
    snprintf(sql, sizeof(sql), "CREATE TABLE %s (x int)", db_pg_ident(table));
    PQclear(PQexec(c, sql));
    PQfinish(c);
    db_pg_value("SELECT tableowner FROM pg_tables WHERE tablename = $1", table, value,
                sizeof(value));
    SM_ASSERT_STR_EQ(value, owner);
    c = PQsetdbLogin(db_server()->host, db_env("PORT"), NULL, NULL, "postgres", base, "own-base");
    snprintf(sql, sizeof(sql), "DROP TABLE %s", db_pg_ident(table));
    PGresult *r = PQexec(c, sql);
    SM_ASSERT_INT_EQ(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    PQfinish(c);
    db_postgres_admin.drop_user(clone);
    db_postgres_admin.drop_user(base);
    db_pg_sqlf("REVOKE ALL ON SCHEMA public FROM %s", db_pg_ident(owner));
    db_postgres_admin.drop_user(owner);
}

/* The master sets another role's password and nothing else; a missing role is named. A password
 * lifetime becomes VALID UNTIL; a role without CREATEROLE may not give its own password one. */
SM_TEST(pg_engine_set_password_and_lifetimes) {
    struct sm_err err;
    char before[256], after[256], until[64];
    const char *user = db_uniq("lt"), *q = "SELECT concat_ws(',', rolinherit, rolcreatedb, "
                                           "rolconnlimit, rolvaliduntil IS NULL) FROM pg_roles "
                                           "WHERE rolname = $1";
    create_user(user, "lt-old");
    db_pg_value(q, user, before, sizeof(before));
    struct rot_conn *a =
        login(db_server()->admin_user, db_server()->admin_password, ROT_TLS_REQUIRED, NULL);
    SM_ASSERT_OK(rot_db_set_password(a, user, "lt-new", NULL, &err), err);
    SM_ASSERT(db_pg_can_login(user, "lt-new") && !db_pg_can_login(user, "lt-old"));
    db_pg_value(q, user, after, sizeof(after));
    SM_ASSERT_STR_EQ(after, before);
    SM_ASSERT_INT_EQ(rot_db_set_password(a, db_uniq("nobody"), "x-pw", NULL, &err), -1);
    SM_ASSERT_CODE_EQ(err.code, ROT_ERR_ROTATION);
    SM_ASSERT_STR_CONTAINS(err.msg, "has no role \"");
    SM_ASSERT_STR_CONTAINS(err.msg, "_nobody\"");

    struct rot_password_opts ninety = {.lifetime_days = 90};
    SM_ASSERT_OK(rot_db_set_password(a, user, "lt-newer", &ninety, &err), err);
    db_pg_value("SELECT round(extract(epoch FROM rolvaliduntil - now()) / 86400) FROM pg_roles "
                "WHERE rolname = $1",
                user, until, sizeof(until));
    SM_ASSERT_STR_EQ(until, "90");
    rot_db_disconnect(a);

    struct rot_conn *c = login(user, "lt-newer", ROT_TLS_REQUIRED, NULL);
    SM_ASSERT_INT_EQ(rot_db_set_own_password(c, user, "lt-newer", "lt-own", &ninety, &err), -1);
    SM_ASSERT_CODE_EQ(err.code, ROT_ERR_DB_QUERY);
    SM_ASSERT_STR_CONTAINS(err.msg, "only with CREATEROLE: rotate it with the strategy "
                                    "single-user-via-master");
    rot_db_disconnect(c);
    SM_ASSERT(db_pg_can_login(user, "lt-newer")); /* nothing changed */
    db_postgres_admin.drop_user(user);
}
