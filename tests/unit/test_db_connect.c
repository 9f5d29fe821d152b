/* Unit tests of the connection policy (rotators/db_connect.h) against a scripted engine that
 * records every attempt it is asked to make and fails each one as told; of the engines' settings
 * (config.h) and their static properties. No server: what the real engines report is
 * tests/integration/test_engine_conformance.c's. */
#include "clock.h"
#include "config.h"
#include "db_connect.h"
#include "harness.h"
#include "log.h"

#include <stdlib.h>
#include <unistd.h>

#define OK -1 /* a scripted attempt that works */

static struct {
    int script[4]; /* per attempt: OK or the enum rot_attempt_failure */
    int attempts;
    struct rot_attempt seen[4];
    char ca_seen[4][128];
    int ops; /* check, set_own_password and sync_alternate_user calls */
} s_eng;

struct rot_session {
    int unused;
};
static struct rot_session s_session;

static size_t sc_limit(const char *engine_value, const struct rot_engine_settings *settings) {
    (void)settings;
    return engine_value != NULL && strcmp(engine_value, "short") == 0 ? 5 : 10;
}

static int sc_connect(const struct rot_attempt *a, struct rot_session **out,
                      struct rot_attempt_result *why, struct sm_err *err) {
    int k = s_eng.attempts++;
    SM_ASSERT(k < 4);
    s_eng.seen[k] = *a;
    snprintf(s_eng.ca_seen[k], sizeof(s_eng.ca_seen[k]), "%s", a->tls ? a->ca_file : "");
    *out = NULL;
    if (s_eng.script[k] == OK) {
        *out = &s_session;
        return 0;
    }
    why->failure = (enum rot_attempt_failure)s_eng.script[k];
    snprintf(why->text, sizeof(why->text), "the library's words");
    if (why->failure == ROT_ATTEMPT_ERROR) {
        sm_err_set(err, SM_ERR_CONFIG, "a plugin is missing");
    }
    return -1;
}

static void sc_disconnect(struct rot_session *s) {
    (void)s;
}

static int sc_op(struct rot_session *s, struct sm_err *err) {
    (void)s;
    (void)err;
    s_eng.ops++;
    return 0;
}

static int sc_set(struct rot_session *s, const char *u, const char *cur, const char *pw,
                  const struct rot_password_opts *o, struct sm_err *err) {
    (void)u, (void)cur, (void)pw, (void)o;
    return sc_op(s, err);
}

static int sc_set_other(struct rot_session *s, const char *u, const char *pw,
                        const struct rot_password_opts *o, struct sm_err *err) {
    (void)u, (void)pw, (void)o;
    return sc_op(s, err);
}

static int sc_sync(struct rot_session *s, const struct rot_user_pair *users, const char *pw,
                   const struct rot_password_opts *o, struct sm_err *err) {
    (void)users, (void)pw, (void)o;
    return sc_op(s, err);
}

static const char *const s_values[] = {"script", "short", NULL};

static const struct rot_engine s_script = {
    .name = "script",
    .display_name = "Script",
    .engine_values = s_values,
    .default_port = 5,
    .max_username_length = sc_limit,
    .connect = sc_connect,
    .disconnect = sc_disconnect,
    .check = sc_op,
    .set_own_password = sc_set,
    .set_password = sc_set_other,
    .sync_alternate_user = sc_sync,
};

/* Connects with the script; returns the result, err set. */
static int script_connect(const int *script, enum rot_tls tls, struct rot_connect_opts *o,
                          struct rot_conn **c, struct sm_err *err) {
    struct rot_login l = {.host = "db.example",
                          .port = 5,
                          .username = "app",
                          .password = "Secret-pw",
                          .tls = tls,
                          .engine_value = "script"};
    memset(&s_eng, 0, sizeof(s_eng));
    memcpy(s_eng.script, script, sizeof(s_eng.script));
    sm_err_clear(err);
    *c = NULL;
    int rc = rot_db_connect(&s_script, &l, o, c, err);
    SM_ASSERT_STR_NOT_CONTAINS(err->msg, "Secret-pw");
    return rc;
}

static struct rot_connect_opts opts(void) {
    return (struct rot_connect_opts){.ca_file = "/ca.pem", .ca_origin = "the test bundle"};
}

SM_TEST(db_connect_falls_back_to_plaintext_only_when_tls_is_not_offered) {
    static const int script[4] = {ROT_ATTEMPT_TLS_NOT_OFFERED, OK};
    struct rot_connect_opts o = opts();
    struct rot_conn *c;
    struct sm_err err;
    SM_ASSERT_OK(script_connect(script, ROT_TLS_AUTO, &o, &c, &err), err);
    SM_ASSERT_INT_EQ(s_eng.attempts, 2);
    SM_ASSERT(s_eng.seen[0].tls && !s_eng.seen[1].tls);
    SM_ASSERT_STR_EQ(s_eng.ca_seen[0], "/ca.pem");
    rot_db_disconnect(c);
    /* Required: no fallback. */
    SM_ASSERT_INT_EQ(script_connect(script, ROT_TLS_REQUIRED, &o, &c, &err), -1);
    SM_ASSERT_INT_EQ(s_eng.attempts, 1);
    SM_ASSERT_CODE_EQ(err.code, ROT_ERR_DB_TLS);
    SM_ASSERT_STR_CONTAINS(err.msg, "does not offer TLS, which the secret requires");
    /* Off: one plaintext attempt. */
    static const int ok[4] = {OK};
    SM_ASSERT_OK(script_connect(ok, ROT_TLS_OFF, &o, &c, &err), err);
    SM_ASSERT(s_eng.attempts == 1 && !s_eng.seen[0].tls);
    rot_db_disconnect(c);
}

SM_TEST(db_connect_never_retries_after_any_other_failure) {
    static const struct {
        enum rot_attempt_failure failure;
        const struct sm_code *code;
        const char *says;
    } cases[] = {
        {ROT_ATTEMPT_UNREACHABLE, ROT_ERR_DB_UNREACHABLE,
         "cannot reach the Script server at "
         "db.example:5"},
        {ROT_ATTEMPT_TIMEOUT, ROT_ERR_DB_UNREACHABLE, "did not answer within 5000 ms"},
        {ROT_ATTEMPT_LOGIN, ROT_ERR_DB_LOGIN, "refused the login of user \"app\""},
        {ROT_ATTEMPT_TLS_UNTRUSTED, ROT_ERR_DB_TLS, "not trusted by the test bundle"},
        {ROT_ATTEMPT_TLS_HOST, ROT_ERR_DB_TLS, "host name db.example does not match"},
        {ROT_ATTEMPT_TLS, ROT_ERR_DB_TLS, "never retried without TLS"},
        {ROT_ATTEMPT_TLS_REQUIRED, ROT_ERR_DB_TLS, "requires TLS for user \"app\""},
        {ROT_ATTEMPT_ERROR, SM_ERR_CONFIG,
         "at db.example:5 as user \"app\" (verified TLS): a "
         "plugin is missing"},
    };
    struct rot_connect_opts o = opts();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int script[4] = {(int)cases[i].failure, OK};
        struct rot_conn *c;
        struct sm_err err;
        SM_ASSERT_INT_EQ(script_connect(script, ROT_TLS_AUTO, &o, &c, &err), -1);
        SM_ASSERT_INT_EQ(s_eng.attempts, 1);
        SM_ASSERT(c == NULL);
        SM_ASSERT_CODE_EQ(err.code, cases[i].code);
        SM_ASSERT_STR_CONTAINS(err.msg, cases[i].says);
    }
}

SM_TEST(db_connect_without_a_ca_bundle_still_asks_for_tls) {
    static const int untrusted[4] = {ROT_ATTEMPT_TLS_UNTRUSTED};
    static const int not_offered[4] = {ROT_ATTEMPT_TLS_NOT_OFFERED, OK};
    struct rot_connect_opts o = opts();
    struct rot_conn *c;
    struct sm_err err;
    o.ca_file = o.ca_origin = NULL;
    SM_ASSERT_INT_EQ(script_connect(untrusted, ROT_TLS_AUTO, &o, &c, &err), -1);
    /* A CA file that can never exist: the attempt fails whenever the server offers TLS. */
    SM_ASSERT(s_eng.seen[0].tls && access(s_eng.ca_seen[0], F_OK) != 0);
    SM_ASSERT_CODE_EQ(err.code, ROT_ERR_DB_TLS);
    SM_ASSERT_STR_CONTAINS(err.msg, "no CA bundle");
    SM_ASSERT_STR_CONTAINS(err.msg, "SMROTATE_DB_CA_FILE");
    /* ... and a server that offers none gets plaintext. */
    SM_ASSERT_OK(script_connect(not_offered, ROT_TLS_AUTO, &o, &c, &err), err);
    SM_ASSERT_INT_EQ(s_eng.attempts, 2);
    rot_db_disconnect(c);
}

SM_TEST(db_connect_bounds_each_attempt_by_its_timeout_and_the_deadline) {
    static const int ok[4] = {OK}, timeout[4] = {ROT_ATTEMPT_TIMEOUT};
    struct rot_connect_opts o = opts();
    struct rot_conn *c;
    struct sm_err err;
    SM_ASSERT_OK(script_connect(ok, ROT_TLS_AUTO, &o, &c, &err), err);
    SM_ASSERT_INT_EQ(s_eng.seen[0].connect_timeout_ms, 5000); /* the default */
    SM_ASSERT_INT_EQ(s_eng.seen[0].statement_timeout_ms, 30000);
    rot_db_disconnect(c);
    o.connect_timeout_ms = 1234;
    SM_ASSERT_OK(script_connect(ok, ROT_TLS_AUTO, &o, &c, &err), err);
    SM_ASSERT_INT_EQ(s_eng.seen[0].connect_timeout_ms, 1234);
    rot_db_disconnect(c);
    /* The deadline nearer than the timeout: the time left, and its timeout is a deadline's. */
    o.connect_timeout_ms = 30000;
    o.deadline_ms = sm_now_ms() + 3000;
    SM_ASSERT_INT_EQ(script_connect(timeout, ROT_TLS_AUTO, &o, &c, &err), -1);
    SM_ASSERT(s_eng.seen[0].connect_timeout_ms <= 3000 && s_eng.seen[0].connect_timeout_ms >= 1000);
    SM_ASSERT(s_eng.seen[0].statement_timeout_ms <= 3000);
    SM_ASSERT(s_eng.seen[0].deadline_ms == o.deadline_ms);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_DEADLINE);
    /* Less than a second left, or none: no attempt at all. */
    int64_t deadlines[] = {sm_now_ms() + 500, sm_now_ms() - 1000};
    for (size_t i = 0; i < 2; i++) {
        o.deadline_ms = deadlines[i];
        SM_ASSERT_INT_EQ(script_connect(ok, ROT_TLS_AUTO, &o, &c, &err), -1);
        SM_ASSERT_INT_EQ(s_eng.attempts, 0);
        SM_ASSERT_CODE_EQ(err.code, SM_ERR_DEADLINE);
        SM_ASSERT_STR_CONTAINS(err.msg, "not connecting");
    }
}

SM_TEST(db_connect_refuses_what_no_engine_may_get) {
    static const int ok[4] = {OK};
    static const struct {
        const char *host;
        int port;
        const char *user, *engine_value;
    } cases[] = {
        {"", 5, "app", "script"},          {"/var/run/postgresql", 5, "app", "script"},
        {"@abstract", 5, "app", "script"}, {"a.example,b.example", 5, "app", "script"},
        {"db", 0, "app", "script"},        {"db", 65536, "app", "script"},
        {"db", 5, "", "script"},           {"db", 5, "elevenbytes", "script"},
        {"db", 5, "sixsix", "short"},
    };
    struct rot_connect_opts o = opts();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct rot_login l = {.host = cases[i].host,
                              .port = cases[i].port,
                              .username = cases[i].user,
                              .password = "pw",
                              .engine_value = cases[i].engine_value};
        struct rot_conn *c = NULL;
        struct sm_err err;
        memset(&s_eng, 0, sizeof(s_eng));
        memcpy(s_eng.script, ok, sizeof(ok));
        SM_ASSERT_INT_EQ(rot_db_connect(&s_script, &l, &o, &c, &err), -1);
        SM_ASSERT_CODE_EQ(err.code, ROT_ERR_ROTATION);
        SM_ASSERT_INT_EQ(s_eng.attempts, 0);
    }
}

SM_TEST(db_connect_checks_names_and_passwords_before_the_engine_changes_any) {
    static const int ok[4] = {OK};
    struct rot_engine chars = s_script; /* an engine that counts UTF-8 characters */
    struct rot_connect_opts o = opts();
    struct rot_login l = {.host = "db", .port = 5, .username = "app", .password = "pw"};
    struct rot_conn *c = NULL;
    struct sm_err err;
    chars.username_limit_counts_characters = true;
    memset(&s_eng, 0, sizeof(s_eng));
    memcpy(s_eng.script, ok, sizeof(ok));
    SM_ASSERT_OK(rot_db_connect(&chars, &l, &o, &c, &err), err);
    /* Ten two-byte characters fit a limit of ten characters; invalid UTF-8 never does. */
    const char *ten =
        "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9";
    SM_ASSERT_OK(rot_db_set_own_password(c, ten, "pw", "new-pw", NULL, &err), err);
    const char *bad_names[] = {"", "bad\xff", "elevenchars"};
    for (size_t i = 0; i < 3; i++) {
        SM_ASSERT_INT_EQ(rot_db_set_own_password(c, bad_names[i], "pw", "new-pw", NULL, &err), -1);
        SM_ASSERT_CODE_EQ(err.code, ROT_ERR_ROTATION);
    }
    const char *bad_passwords[] = {"", "bad\xc3("};
    for (size_t i = 0; i < 2; i++) {
        SM_ASSERT_INT_EQ(rot_db_set_own_password(c, "app", "pw", bad_passwords[i], NULL, &err), -1);
        SM_ASSERT_CODE_EQ(err.code, ROT_ERR_ROTATION);
    }
    static const struct rot_user_pair pairs[] = {
        {"app", "app", "app"},          /* a clone that is the user itself */
        {"app", "app_clone", "other"},  /* a target that is neither */
        {"app", "app_clone_x", "app"},  /* a name past the limit */
        {"", "app_clone", "app_clone"}, /* an empty name */
    };
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        SM_ASSERT_INT_EQ(rot_db_sync_alternate_user(c, &pairs[i], "new-pw", NULL, &err), -1);
        SM_ASSERT_CODE_EQ(err.code, ROT_ERR_ROTATION);
    }
    struct rot_user_pair good = {"app", "app_clone", "app_clone"};
    SM_ASSERT_INT_EQ(rot_db_sync_alternate_user(c, &good, "", NULL, &err), -1);
    SM_ASSERT_INT_EQ(s_eng.ops, 1); /* only the good password change got through */
    SM_ASSERT_OK(rot_db_sync_alternate_user(c, &good, "new-pw", NULL, &err), err);
    SM_ASSERT_OK(rot_db_check(c, &err), err);
    SM_ASSERT_INT_EQ(s_eng.ops, 3);
    rot_db_disconnect(c);
}

/* ---- the engines' properties and settings -------------------------------------------------- */

SM_TEST(db_engines_serve_their_values_with_their_limits) {
    const struct rot_engine *pg = &rot_engine_postgres, *my = &rot_engine_mysql;
    struct rot_engine_settings defaults = {0}, sixteen = {.mysql_username_limit = 16};
    SM_ASSERT(rot_engine_find(rot_engines, "postgres") == pg);
    SM_ASSERT(rot_engine_find(rot_engines, "aurora-postgresql") == pg);
    SM_ASSERT(rot_engine_find(rot_engines, "mysql") == my);
    SM_ASSERT(rot_engine_find(rot_engines, "aurora-mysql") == my);
    SM_ASSERT(rot_engine_find(rot_engines, "mariadb") == my);
    SM_ASSERT(rot_engine_find(rot_engines, "MySQL") == NULL);
    SM_ASSERT(pg->default_port == 5432 && my->default_port == 3306);
    SM_ASSERT_STR_EQ(pg->default_exclude_characters, ":/@\"'\\");
    SM_ASSERT_STR_EQ(my->default_exclude_characters, "/@\"'\\");
    SM_ASSERT(!pg->username_limit_counts_characters && my->username_limit_counts_characters);
    SM_ASSERT_INT_EQ(pg->max_username_length("aurora-postgresql", &defaults), 63);
    SM_ASSERT_INT_EQ(my->max_username_length("mysql", &defaults), 32);
    SM_ASSERT_INT_EQ(my->max_username_length("aurora-mysql", &sixteen), 16);
    SM_ASSERT_INT_EQ(my->max_username_length("mariadb", &sixteen), 80);
}

SM_TEST(db_engine_settings_come_from_the_environment) {
    struct rot_config cfg;
    struct sm_err err;
    setenv("PASSWORD_ENCRYPTION", "SCRAM-SHA-256", 1);
    setenv("PG_OWNER_ROLE", "app_owner", 1);
    setenv("USERNAME_CHARACTER_LIMIT", "16", 1);
    setenv("SMROTATE_MYSQL_PLUGIN_DIR", "/", 1);
    setenv("SMROTATE_MYSQL_SERVER_PUBLIC_KEY", sm_test_path("unit/test_db_connect.c"), 1);
    SM_ASSERT_OK(rot_config_from_env(NULL, &cfg, &err), err);
    const struct rot_engine_settings *s = &cfg.engine_settings;
    SM_ASSERT_INT_EQ(s->pg_password_encryption, ROT_PG_PASSWORD_SCRAM);
    SM_ASSERT_STR_EQ(s->pg_owner_role, "app_owner");
    SM_ASSERT_INT_EQ(s->mysql_username_limit, 16);
    SM_ASSERT_STR_EQ(s->mysql_plugin_dir, "/");
    SM_ASSERT_STR_CONTAINS(s->mysql_server_public_key, "test_db_connect.c");
    rot_config_clean_up(&cfg);
    static const struct {
        const char *name, *value;
    } bad[] = {
        {"PASSWORD_ENCRYPTION", "sha1"},
        {"PG_OWNER_ROLE", "0123456789012345678901234567890123456789012345678901234567890123"},
        {"USERNAME_CHARACTER_LIMIT", "abc"},
        {"USERNAME_CHARACTER_LIMIT", "0"},
        {"USERNAME_CHARACTER_LIMIT", "-3"},
        {"USERNAME_CHARACTER_LIMIT", "16x"},
        {"USERNAME_CHARACTER_LIMIT", " 16"},
        {"USERNAME_CHARACTER_LIMIT", "256"},
        {"SMROTATE_MYSQL_PLUGIN_DIR", "/nonexistent/smrotate-plugins"},
        {"SMROTATE_MYSQL_SERVER_PUBLIC_KEY", "/nonexistent/key.pem"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char saved[256];
        snprintf(saved, sizeof(saved), "%s", getenv(bad[i].name));
        setenv(bad[i].name, bad[i].value, 1);
        SM_ASSERT_INT_EQ(rot_config_from_env(NULL, &cfg, &err), -1);
        SM_ASSERT_CODE_EQ(err.code, SM_ERR_CONFIG);
        SM_ASSERT_STR_CONTAINS(err.msg, bad[i].name);
        rot_config_clean_up(&cfg);
        setenv(bad[i].name, saved, 1);
    }
    /* Unset, every setting is its default: the zero value. */
    const char *names[] = {"PASSWORD_ENCRYPTION", "PG_OWNER_ROLE", "USERNAME_CHARACTER_LIMIT",
                           "SMROTATE_MYSQL_PLUGIN_DIR", "SMROTATE_MYSQL_SERVER_PUBLIC_KEY"};
    for (size_t i = 0; i < 5; i++) {
        unsetenv(names[i]);
    }
    SM_ASSERT_OK(rot_config_from_env(NULL, &cfg, &err), err);
    SM_ASSERT(s->pg_password_encryption == ROT_PG_PASSWORD_AS_SERVER && s->pg_owner_role == NULL &&
              s->mysql_username_limit == 0 && s->mysql_server_public_key == NULL);
    rot_config_clean_up(&cfg);
}
