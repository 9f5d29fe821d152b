/* Unit tests of rotators/engines/postgres_sql.h: the reading of libpq's failure texts, and the
 * alternate user's sync plan from a catalog as the sync reads it (the statements in order, the
 * changes announced, the refusals). No server: statements are compared as text;
 * tests/integration/test_engine_postgres.c runs plans against a real server. */
#include "harness.h"
#include "postgres_sql.h"

static const struct rot_pg_role ORIGINAL = {
    .exists = true, .login = true, .inherit = true, .createdb = true, .connlimit = 7};

static struct rot_pg_names names(bool target_is_clone) {
    return (struct rot_pg_names){.original = "app",
                                 .clone = "app_clone",
                                 .original_ident = "\"app\"",
                                 .clone_ident = "\"app_clone\"",
                                 .target_is_clone = target_is_clone,
                                 .password_literal = "'SCRAM-SHA-256$v'"};
}

/* Plans and checks the statements (NULL-terminated) and the announced changes (NULL: none). */
static void expect_plan(const struct rot_pg_catalog *cat, const struct rot_pg_names *nm,
                        const char *const *sql, const char *changes) {
    struct rot_pg_plan plan;
    struct sm_err err;
    SM_ASSERT_OK(rot_pg_sync_plan(cat, nm, &plan, &err), err);
    size_t n = 0;
    for (; sql[n] != NULL; n++) {
        SM_ASSERT(n < plan.n);
        SM_ASSERT_STR_EQ(plan.steps[n].sql, sql[n]);
        SM_ASSERT(plan.steps[n].what != NULL && strchr(plan.steps[n].what, '$') == NULL);
    }
    SM_ASSERT_INT_EQ(plan.n, n);
    if (changes == NULL) {
        SM_ASSERT(plan.changes == NULL);
    } else {
        SM_ASSERT_STR_EQ(plan.changes, changes);
    }
    rot_pg_plan_clean_up(&plan);
}

SM_TEST(pg_plan_a_new_clone_gets_the_original_attributes_and_membership) {
    struct rot_pg_catalog cat = {.original = ORIGINAL, .clone = {.connlimit = -1}};
    struct rot_pg_names nm = names(true);
    const char *sql[] = {"CREATE ROLE \"app_clone\" WITH LOGIN PASSWORD 'SCRAM-SHA-256$v' INHERIT "
                         "CREATEDB CONNECTION LIMIT 7",
                         "GRANT \"app\" TO \"app_clone\"", NULL};
    expect_plan(&cat, &nm, sql, NULL); /* a new clone has nothing to lose: nothing announced */
    /* The original as the target: a new clone gets no password (no password login). */
    nm = names(false);
    const char *orig[] = {
        "CREATE ROLE \"app_clone\" WITH LOGIN INHERIT CREATEDB CONNECTION LIMIT 7",
        "GRANT \"app\" TO \"app_clone\"",
        "ALTER ROLE \"app\" WITH LOGIN PASSWORD 'SCRAM-SHA-256$v'", NULL};
    expect_plan(&cat, &nm, orig, NULL);
}

SM_TEST(pg_plan_a_clone_in_line_gets_only_the_password) {
    struct rot_pg_catalog cat = {
        .original = ORIGINAL, .clone = ORIGINAL, .clone_in_original = true};
    struct rot_pg_names nm = names(true);
    const char *sql[] = {"ALTER ROLE \"app_clone\" WITH LOGIN PASSWORD 'SCRAM-SHA-256$v'", NULL};
    expect_plan(&cat, &nm, sql, NULL);
    nm = names(false);
    const char *orig[] = {"ALTER ROLE \"app\" WITH LOGIN PASSWORD 'SCRAM-SHA-256$v'", NULL};
    expect_plan(&cat, &nm, orig, NULL);
}

SM_TEST(pg_plan_a_changed_clone_is_brought_back_and_every_change_announced) {
    struct rot_pg_catalog cat = {.original = ORIGINAL,
                                 .clone = {.exists = true, .createrole = true, .connlimit = 3}};
    struct rot_pg_names nm = names(false);
    const char *sql[] = {"ALTER ROLE \"app_clone\" WITH LOGIN INHERIT CREATEDB NOCREATEROLE "
                         "CONNECTION LIMIT 7",
                         "GRANT \"app\" TO \"app_clone\"",
                         "ALTER ROLE \"app\" WITH LOGIN PASSWORD 'SCRAM-SHA-256$v'", NULL};
    expect_plan(&cat, &nm, sql,
                "LOGIN, INHERIT, CREATEDB, NOCREATEROLE, CONNECTION LIMIT 7, GRANT \"app\" TO "
                "\"app_clone\"");
}

SM_TEST(pg_plan_owner_role_makes_both_members_whose_sessions_run_as_it) {
    struct rot_pg_catalog cat = {.original = ORIGINAL,
                                 .clone = ORIGINAL,
                                 .clone_in_original = true,
                                 .owner_exists = true,
                                 .original_in_owner = true};
    struct rot_pg_names nm = names(true);
    nm.owner = "own";
    nm.owner_ident = "\"own\"";
    nm.owner_literal = "'own'";
    const char *sql[] = {"ALTER ROLE \"app_clone\" WITH LOGIN PASSWORD 'SCRAM-SHA-256$v'",
                         "ALTER ROLE \"app\" SET role = 'own'", "GRANT \"own\" TO \"app_clone\"",
                         "ALTER ROLE \"app_clone\" SET role = 'own'", NULL};
    expect_plan(&cat, &nm, sql, "GRANT \"own\" TO \"app_clone\"");
}

SM_TEST(pg_plan_refuses_before_any_statement) {
    static const struct {
        struct rot_pg_catalog cat;
        const char *owner;
        const struct sm_code *code;
        const char *says;
    } cases[] = {
        {{.clone = {.connlimit = -1}}, NULL, ROT_ERR_ROTATION, "role \"app\" does not exist"},
        {{.original = {.exists = true}, .clone = {.exists = true}, .original_in_clone = true},
         NULL,
         ROT_ERR_ROTATION,
         "\"app\" is a member of its alternate \"app_clone\""},
        {{.original = {.exists = true}},
         "own",
         SM_ERR_CONFIG,
         "PG_OWNER_ROLE \"own\" does not exist"},
        {{.original = {.exists = true}, .owner_exists = true},
         "app_clone",
         SM_ERR_CONFIG,
         "must be a role of its own"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct rot_pg_names nm = names(true);
        struct rot_pg_plan plan;
        struct sm_err err;
        nm.owner = cases[i].owner;
        nm.owner_ident = nm.owner_literal = "\"x\"";
        SM_ASSERT_INT_EQ(rot_pg_sync_plan(&cases[i].cat, &nm, &plan, &err), -1);
        SM_ASSERT_CODE_EQ(err.code, cases[i].code);
        SM_ASSERT_STR_CONTAINS(err.msg, cases[i].says);
        SM_ASSERT_INT_EQ(plan.n, 0);
        rot_pg_plan_clean_up(&plan);
    }
}

SM_TEST(pg_failure_texts_decide_the_failure_with_names_blanked_out) {
    static const struct {
        const char *text;
        bool tls, used_password;
        enum rot_attempt_failure failure;
    } cases[] = {
        {"connection to server at \"h\", port 5432 failed: FATAL:  password authentication failed "
         "for user \"app\"",
         true, true, ROT_ATTEMPT_LOGIN},
        {"connection to server at \"h\", port 5433 failed: server does not support SSL, but SSL "
         "was required",
         true, false, ROT_ATTEMPT_TLS_NOT_OFFERED},
        {"connection to server at \"h\", port 5432 failed: SSL error: certificate verify failed",
         true, false, ROT_ATTEMPT_TLS_UNTRUSTED},
        {"connection to server at \"h\", port 5432 failed: root certificate file "
         "\"/dev/null/x\" does not exist",
         true, false, ROT_ATTEMPT_TLS_UNTRUSTED},
        {"connection to server at \"h\", port 5432 failed: server certificate for \"localhost\" "
         "does not match host name \"h\"",
         true, false, ROT_ATTEMPT_TLS_HOST},
        {"connection to server at \"h\", port 1 failed: Connection refused Is the server running?",
         false, false, ROT_ATTEMPT_UNREACHABLE},
        {"connection to server at \"h\", port 5432 failed: FATAL:  pg_hba.conf rejects connection "
         "for host \"h\", user \"u\", database \"postgres\", no encryption",
         false, true, ROT_ATTEMPT_TLS_REQUIRED},
        {"connection to server at \"h\", port 5432 failed: FATAL:  pg_hba.conf rejects connection "
         "for host \"h\", user \"u\", database \"postgres\", no encryption",
         true, true, ROT_ATTEMPT_LOGIN},
        /* A user called like a TLS or network failure is still a login failure. */
        {"connection to server at \"SSL error certificate\", port 5432 failed: FATAL:  password "
         "authentication failed for user \"SSL error: certificate Connection refused\"",
         true, true, ROT_ATTEMPT_LOGIN},
        /* Words no row knows: the server asked for a password, or it did not. */
        {"something new", true, true, ROT_ATTEMPT_LOGIN},
        {"something new", true, false, ROT_ATTEMPT_UNREACHABLE},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        SM_ASSERT_INT_EQ(rot_pg_failure(cases[i].text, cases[i].tls, cases[i].used_password),
                         cases[i].failure);
    }
}
