/* Unit tests of the rotation layer's parsers: the event, the secret JSON, the strategy and
 * password-policy configuration. No network, no database. */
#include "buf.h"
#include "config.h"
#include "event.h"
#include "fake_engine.h"
#include "harness.h"
#include "mem.h"
#include "rotation.h"
#include "secret.h"
#include "settings.h"
#include "str.h"
#include "strategy.h"

#include <stdio.h>
#include <stdlib.h>

#define TOKEN "7d3b9f10-2c4e-4a8b-9f6d-5e1a2b3c4d5e"

static int parse_event(const char *json, struct rot_event *ev, struct sm_err *err) {
    return rot_event_parse(json, strlen(json), ev, err);
}

SM_TEST(rotation_event_parses_all_fields) {
    struct rot_event ev;
    struct sm_err err;
    const char *json = "{\"Step\":\"setSecret\",\"SecretId\":\"arn:aws:secretsmanager:us-east-1:1:"
                       "secret:a-AbCdEf\",\"ClientRequestToken\":\"" TOKEN
                       "\",\"RotationToken\":\"5b0e8f3a-6d2c-4e1b-9a7f-8c3d2e1f0a9b\"}";
    SM_ASSERT_OK(parse_event(json, &ev, &err), err);
    SM_ASSERT_INT_EQ(ev.step, ROT_STEP_SET);
    SM_ASSERT_STR_EQ(ev.token, TOKEN);
    SM_ASSERT_STR_EQ(ev.secret_id, "arn:aws:secretsmanager:us-east-1:1:secret:a-AbCdEf");
    SM_ASSERT(ev.rotation_token != NULL);
    rot_event_clean_up(&ev);
}

SM_TEST(rotation_event_fixtures_from_testdata_parse) {
    const char *files[] = {"rotation-createSecret.json", "rotation-setSecret.json",
                           "rotation-testSecret.json", "rotation-finishSecret.json",
                           "rotation-createSecret.no-rotation-token.json"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char rel[256];
        snprintf(rel, sizeof(rel), "data/secretsmanager/events/%s", files[i]);
        size_t len;
        char *json = sm_test_read_file(sm_test_path(rel), &len);
        struct rot_event ev;
        struct sm_err err;
        SM_ASSERT_OK(rot_event_parse(json, len, &ev, &err), err);
        SM_ASSERT_INT_EQ(ev.step, i < 4 ? (int)i : ROT_STEP_CREATE);
        SM_ASSERT((ev.rotation_token == NULL) == (i == 4));
        rot_event_clean_up(&ev);
        free(json);
    }
}

SM_TEST(rotation_event_unknown_step_uses_template_message) {
    struct rot_event ev;
    struct sm_err err;
    SM_ASSERT_INT_EQ(parse_event("{\"Step\":\"deleteSecret\",\"SecretId\":\"arn:x\","
                                 "\"ClientRequestToken\":\"" TOKEN "\"}",
                                 &ev, &err),
                     -1);
    SM_ASSERT_STR_EQ(err.msg, "Invalid step parameter deleteSecret for secret arn:x");
    rot_event_clean_up(&ev);
}

SM_TEST(rotation_event_rejects_malformed_events_clearly) {
    struct {
        const char *json;
        const char *expect;
    } cases[] = {
        {"", "not valid JSON"},
        {"[1,2]", "must be a JSON object"},
        {"{\"SecretId\":\"a\",\"ClientRequestToken\":\"" TOKEN "\"}", "has no Step"},
        {"{\"Step\":1,\"SecretId\":\"a\",\"ClientRequestToken\":\"" TOKEN "\"}",
         "Step must be a string"},
        {"{\"Step\":\"setSecret\",\"ClientRequestToken\":\"" TOKEN "\"}", "has no SecretId"},
        {"{\"Step\":\"setSecret\",\"SecretId\":\"\",\"ClientRequestToken\":\"" TOKEN "\"}",
         "SecretId must be 1 to 2048"},
        {"{\"Step\":\"setSecret\",\"SecretId\":\"a b\",\"ClientRequestToken\":\"" TOKEN "\"}",
         "SecretId has invalid characters"},
        {"{\"Step\":\"setSecret\",\"SecretId\":\"a\",\"ClientRequestToken\":\"short\"}",
         "ClientRequestToken must be 32 to 64"},
        {"{\"Step\":\"setSecret\",\"SecretId\":\"a\",\"ClientRequestToken\":7}",
         "ClientRequestToken must be a string"},
        {"{\"Step\":\"setSecret\",\"SecretId\":\"a\",\"ClientRequestToken\":\"" TOKEN
         "\",\"RotationToken\":[]}",
         "RotationToken must be a string"},
        {"{\"Step\":\"setSecret\"} {}", "not valid JSON"},
        {"{\"Step\":\"setSecret\",\"SecretId\":\"arn\\u0000evil\",\"ClientRequestToken\":\"" TOKEN
         "\"}",
         "U+0000"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct rot_event ev;
        struct sm_err err;
        SM_ASSERT_INT_EQ(parse_event(cases[i].json, &ev, &err), -1);
        SM_ASSERT_CODE_EQ(err.code, SM_ERR_EVENT);
        SM_ASSERT_STR_CONTAINS(err.msg, cases[i].expect);
        rot_event_clean_up(&ev);
    }
}

SM_TEST(rotation_event_check_action_is_a_check_event) {
    struct rot_event ev;
    struct sm_err err;
    SM_ASSERT_OK(parse_event("{\"Action\":\"check\",\"SecretId\":\"prod/app/db\"}", &ev, &err),
                 err);
    SM_ASSERT_INT_EQ(ev.action, ROT_ACTION_CHECK);
    SM_ASSERT_STR_EQ(ev.secret_id, "prod/app/db");
    SM_ASSERT(ev.token == NULL && ev.rotation_token == NULL);
    rot_event_clean_up(&ev);
    /* A rotation event is one as before. */
    SM_ASSERT_OK(parse_event("{\"Step\":\"testSecret\",\"SecretId\":\"a\","
                             "\"ClientRequestToken\":\"" TOKEN "\"}",
                             &ev, &err),
                 err);
    SM_ASSERT_INT_EQ(ev.action, ROT_ACTION_ROTATE);
    rot_event_clean_up(&ev);
}

SM_TEST(rotation_event_rejects_malformed_check_events_clearly) {
    struct {
        const char *json;
        const char *expect;
    } cases[] = {
        {"{\"Action\":\"rotate\",\"SecretId\":\"a\"}",
         "the event's Action \"rotate\" is unknown; the one action is \"check\""},
        {"{\"Action\":1,\"SecretId\":\"a\"}", "Action \"(not a string)\" is unknown"},
        {"{\"Action\":\"check\"}", "has no SecretId"},
        {"{\"Action\":\"check\",\"SecretId\":\"a b\"}", "SecretId has invalid characters"},
        {"{\"Action\":\"check\",\"SecretId\":\"a\",\"Step\":\"createSecret\","
         "\"ClientRequestToken\":\"" TOKEN "\"}",
         "a check event has no Step"},
        {"{\"Action\":\"check\",\"SecretId\":\"a\",\"RotationToken\":\"t\"}",
         "a check event has no RotationToken"},
        {"{\"Action\":\"check\",\"Action\":\"check\",\"SecretId\":\"a\"}", "more than one Action"},
        {"{\"Action\":\"ch\\u0000eck\",\"SecretId\":\"a\"}", "U+0000"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct rot_event ev;
        struct sm_err err;
        SM_ASSERT_INT_EQ(parse_event(cases[i].json, &ev, &err), -1);
        SM_ASSERT_CODE_EQ(err.code, SM_ERR_EVENT);
        SM_ASSERT_STR_CONTAINS(err.msg, cases[i].expect);
        rot_event_clean_up(&ev);
    }
}

SM_TEST(rotation_event_hostile_step_is_bounded_and_printable) {
    char json[8192];
    char step[5000];
    memset(step, 'A', sizeof(step) - 1);
    step[sizeof(step) - 1] = '\0';
    step[3] = '\t';
    snprintf(json, sizeof(json),
             "{\"Step\":\"%s\",\"SecretId\":\"arn:x\",\"ClientRequestToken\":\"" TOKEN "\"}", step);
    struct rot_event ev;
    struct sm_err err;
    SM_ASSERT_INT_EQ(parse_event(json, &ev, &err), -1);
    SM_ASSERT(strlen(err.msg) < 200);
    SM_ASSERT_STR_NOT_CONTAINS(err.msg, "\t");
    rot_event_clean_up(&ev);
}

static int parse_secret(const char *json, struct rot_secret *s, struct sm_err *err) {
    return rot_secret_parse(json, strlen(json), fake_registry, s, err);
}

SM_TEST(rotation_secret_defaults_and_fields) {
    struct rot_secret s;
    struct sm_err err;
    SM_ASSERT_OK(parse_secret("{\"engine\":\"fake\",\"host\":\"db\",\"username\":\"app\","
                              "\"password\":\"pw\"}",
                              &s, &err),
                 err);
    SM_ASSERT_INT_EQ(s.port, 7777);
    SM_ASSERT(s.dbname == NULL);
    SM_ASSERT_INT_EQ(s.tls, ROT_TLS_AUTO);
    SM_ASSERT(s.engine == &fake_engine);
    rot_secret_clean_up(&s);
    SM_ASSERT_OK(parse_secret("{\"engine\":\"fake\",\"host\":\"db\",\"username\":\"app\","
                              "\"password\":\"pw\",\"port\":\"5433\",\"dbname\":\"d\",\"ssl\":"
                              "\"TRUE\",\"masterarn\":\"arn:m\"}",
                              &s, &err),
                 err);
    SM_ASSERT_INT_EQ(s.port, 5433);
    SM_ASSERT_STR_EQ(s.dbname, "d");
    SM_ASSERT_STR_EQ(s.masterarn, "arn:m");
    SM_ASSERT_INT_EQ(s.tls, ROT_TLS_REQUIRED);
    rot_secret_clean_up(&s);
}

SM_TEST(rotation_secret_ssl_key_matrix) {
    struct {
        const char *ssl;
        enum rot_tls tls;
    } cases[] = {
        {"true", ROT_TLS_REQUIRED}, {"false", ROT_TLS_OFF},    {"\"true\"", ROT_TLS_REQUIRED},
        {"\"FALSE\"", ROT_TLS_OFF}, {"\"yes\"", ROT_TLS_AUTO}, {"1", ROT_TLS_AUTO},
        {"{}", ROT_TLS_AUTO},       {"null", ROT_TLS_AUTO},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char json[256];
        snprintf(json, sizeof(json),
                 "{\"engine\":\"fake\",\"host\":\"h\",\"username\":\"u\",\"password\":\"p\","
                 "\"ssl\":%s}",
                 cases[i].ssl);
        struct rot_secret s;
        struct sm_err err;
        SM_ASSERT_OK(parse_secret(json, &s, &err), err);
        SM_ASSERT_INT_EQ(s.tls, cases[i].tls);
        rot_secret_clean_up(&s);
    }
}

SM_TEST(rotation_secret_invalid_fields_fail_clearly_without_values) {
    struct {
        const char *json;
        const char *expect;
    } cases[] = {
        {"not json", "not valid JSON"},
        {"[]", "must be a JSON object"},
        {"{\"host\":\"h\",\"username\":\"u\",\"password\":\"secretpw\"}",
         "Database engine must be set to one of 'fake'"},
        {"{\"engine\":\"oracle\",\"host\":\"h\",\"username\":\"u\",\"password\":\"secretpw\"}",
         "(the secret says 'oracle')"},
        {"{\"engine\":\"fake\",\"username\":\"u\",\"password\":\"secretpw\"}",
         "host key is missing from secret JSON"},
        {"{\"engine\":\"fake\",\"host\":\"h\",\"password\":\"secretpw\"}",
         "username key is missing from secret JSON"},
        {"{\"engine\":\"fake\",\"host\":\"h\",\"username\":\"u\"}",
         "password key is missing from secret JSON"},
        {"{\"engine\":\"fake\",\"host\":\"h\",\"username\":5,\"password\":\"secretpw\"}",
         "username in secret JSON must be a string, not a number"},
        {"{\"engine\":\"fake\",\"host\":\"\",\"username\":\"u\",\"password\":\"secretpw\"}",
         "host in secret JSON must not be empty"},
        {"{\"engine\":\"fake\",\"host\":\"h\",\"username\":\"u\",\"password\":\"secretpw\","
         "\"port\":\"abc\"}",
         "port in secret JSON must be a whole number from 1 to 65535"},
        {"{\"engine\":\"fake\",\"host\":\"h\",\"username\":\"u\",\"password\":\"secretpw\","
         "\"port\":70000}",
         "port in secret JSON must be a whole number"},
        {"{\"engine\":\"fake\",\"host\":\"h\",\"username\":\"u\",\"password\":\"secretpw\","
         "\"port\":54.5}",
         "port in secret JSON must be a whole number"},
        {"{\"engine\":\"fake\",\"host\":\"h\",\"username\":\"u\",\"password\":\"secretpw\","
         "\"dbname\":[]}",
         "dbname in secret JSON must be a string"},
        {"{\"engine\":\"fake\",\"host\":\"h\",\"username\":\"u\",\"username\":\"v\","
         "\"password\":\"secretpw\"}",
         "username appears more than once"},
        {"{\"engine\":\"fake\",\"host\":\"h\",\"username\":\"adm\\u0000in\","
         "\"password\":\"secretpw\"}",
         "username in secret JSON must not contain U+0000"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct rot_secret s;
        struct sm_err err;
        SM_ASSERT_INT_EQ(parse_secret(cases[i].json, &s, &err), -1);
        SM_ASSERT_CODE_EQ(err.code, ROT_ERR_SECRET_INVALID);
        SM_ASSERT_STR_CONTAINS(err.msg, cases[i].expect);
        SM_ASSERT_STR_NOT_CONTAINS(err.msg, "secretpw");
        rot_secret_clean_up(&s);
    }
}

SM_TEST(rotation_secret_escaped_backslash_before_u0000_text_is_not_nul) {
    struct rot_secret s;
    struct sm_err err;
    /* "a\\u0000" is the six characters \u0000 after a, not a NUL. */
    SM_ASSERT_OK(parse_secret("{\"engine\":\"fake\",\"host\":\"h\",\"username\":\"a\\\\u0000\","
                              "\"password\":\"p\"}",
                              &s, &err),
                 err);
    SM_ASSERT_STR_EQ(s.username, "a\\u0000");
    rot_secret_clean_up(&s);
}

SM_TEST(rotation_secret_render_keeps_every_other_byte) {
    const char *json = "{ \"z\": 1.50, \"engine\" :\"fake\",\"host\":\"h\",\"nested\":{\"password"
                       "\":\"keep\",\"a\":[1,{\"b\":\"}\"}]},\"username\":\"app\",\"pass\\u0077"
                       "ord\":\"old\",\"port\":5432,\"big\":12345678901234567890,\"t\":\"\\u00e9"
                       "\\\"\"}";
    struct rot_secret s;
    struct sm_err err;
    struct sm_buf out;
    sm_buf_init(&out, SM_LIMIT_SECRET_STRING);
    SM_ASSERT_OK(parse_secret(json, &s, &err), err);
    SM_ASSERT_OK(rot_secret_render(&s, NULL, "n\"e\\w", &out, &err), err);
    SM_ASSERT_STR_EQ(out.data, "{ \"z\": 1.50, \"engine\" :\"fake\",\"host\":\"h\",\"nested\":{"
                               "\"password\":\"keep\",\"a\":[1,{\"b\":\"}\"}]},\"username\":\"app"
                               "\",\"pass\\u0077ord\":\"n\\\"e\\\\w\",\"port\":5432,\"big\":"
                               "12345678901234567890,\"t\":\"\\u00e9\\\"\"}");
    SM_ASSERT_OK(rot_secret_render(&s, "app_clone", "pw", &out, &err), err);
    SM_ASSERT_STR_CONTAINS(out.data, "\"username\":\"app_clone\"");
    SM_ASSERT_STR_CONTAINS(out.data, "\"pass\\u0077ord\":\"pw\"");
    rot_secret_clean_up(&s);
    /* The rendered secret parses back with the new values. */
    SM_ASSERT_OK(rot_secret_parse(out.data, out.len, fake_registry, &s, &err), err);
    SM_ASSERT_STR_EQ(s.username, "app_clone");
    SM_ASSERT_SECRET_EQ(s.password, "pw");
    rot_secret_clean_up(&s);
    sm_buf_clean_up(&out);
}

SM_TEST(rotation_secret_bare_credentials_recognised) {
    const char *bare = "{\"username\":\"admin\",\"password\":\"x\"}";
    const char *full = "{\"username\":\"admin\",\"password\":\"x\",\"host\":\"h\"}";
    SM_ASSERT_INT_EQ(rot_secret_is_bare_credentials(bare, strlen(bare)), 1);
    SM_ASSERT_INT_EQ(rot_secret_is_bare_credentials(full, strlen(full)), 0);
    SM_ASSERT_INT_EQ(rot_secret_is_bare_credentials("[]", 2), -1);
}

SM_TEST(rotation_alternate_username_flips_clone_suffix) {
    char out[64];
    SM_ASSERT_OK(rot_alternate_username("app", out, sizeof(out)), (struct sm_err){0});
    SM_ASSERT_STR_EQ(out, "app_clone");
    SM_ASSERT_INT_EQ(rot_alternate_username("app_clone", out, sizeof(out)), 0);
    SM_ASSERT_STR_EQ(out, "app");
    SM_ASSERT_INT_EQ(rot_alternate_username("_clone", out, sizeof(out)), 0);
    SM_ASSERT_STR_EQ(out, "_clone_clone");
    SM_ASSERT_INT_EQ(rot_alternate_username("abcdefgh", out, 8), -1);
}

SM_TEST(rotation_strategy_from_handler) {
    SM_ASSERT(rot_strategy_find(NULL) == &rot_strategy_single_user);
    SM_ASSERT(rot_strategy_find("") == &rot_strategy_single_user);
    SM_ASSERT(rot_strategy_find("single-user") == &rot_strategy_single_user);
    SM_ASSERT(rot_strategy_find("multi-user") == &rot_strategy_alternating_users);
    SM_ASSERT(rot_strategy_find("alternating-users") == &rot_strategy_alternating_users);
    SM_ASSERT(rot_strategy_find("lambda_function.lambda_handler") == NULL);
}

SM_TEST(rotation_config_password_policy_from_env) {
    struct rot_config cfg;
    struct sm_err err;
    unsetenv("EXCLUDE_CHARACTERS");
    unsetenv("PASSWORD_LENGTH");
    unsetenv("EXCLUDE_NUMBERS");
    unsetenv("REQUIRE_EACH_INCLUDED_TYPE");
    SM_ASSERT_OK(rot_config_from_env(NULL, &cfg, &err), err);
    SM_ASSERT_INT_EQ(cfg.policy.length, 32);
    SM_ASSERT(cfg.policy.exclude_characters == NULL);
    SM_ASSERT_INT_EQ(cfg.policy.exclude_numbers, SECRETS_FALSE);
    SM_ASSERT_INT_EQ(cfg.policy.require_each_included_type, SECRETS_TRUE);
    rot_config_clean_up(&cfg);

    setenv("EXCLUDE_CHARACTERS", "", 1);
    setenv("PASSWORD_LENGTH", "64", 1);
    setenv("EXCLUDE_NUMBERS", "Yes", 1);
    setenv("REQUIRE_EACH_INCLUDED_TYPE", "no", 1);
    SM_ASSERT_OK(rot_config_from_env("multi-user", &cfg, &err), err);
    SM_ASSERT_INT_EQ(cfg.policy.length, 64);
    SM_ASSERT_STR_EQ(cfg.policy.exclude_characters, "");
    SM_ASSERT_INT_EQ(cfg.policy.exclude_numbers, SECRETS_TRUE);
    SM_ASSERT_INT_EQ(cfg.policy.require_each_included_type, SECRETS_FALSE);
    SM_ASSERT(cfg.strategy == &rot_strategy_alternating_users);
    rot_config_clean_up(&cfg);

    setenv("PASSWORD_LENGTH", "32x", 1);
    SM_ASSERT_INT_EQ(rot_config_from_env(NULL, &cfg, &err), -1);
    SM_ASSERT_STR_CONTAINS(err.msg, "PASSWORD_LENGTH must be a whole number from 1 to 4096");
    rot_config_clean_up(&cfg);
    unsetenv("PASSWORD_LENGTH");
    SM_ASSERT_INT_EQ(rot_config_from_env("bogus", &cfg, &err), -1);
    SM_ASSERT_STR_CONTAINS(err.msg, "'single-user'");
    rot_config_clean_up(&cfg);
}

SM_TEST(rotation_config_bool_parsing_matches_templates) {
    const char *truthy[] = {"true", "TRUE", "1", "y", "Y", "yes", "YES"};
    const char *falsy[] = {"false", "0", "n", "no", "", "on", "2"};
    for (size_t i = 0; i < sizeof(truthy) / sizeof(truthy[0]); i++) {
        SM_ASSERT(rot_config_parse_bool(truthy[i]));
        SM_ASSERT(!rot_config_parse_bool(falsy[i]));
    }
}

/* ---- per-secret settings (smrotate: tags) ------------------------------------------------ */

/* Resolves settings for tags given as "key=value" strings under Handler handler. */
static int settings_for(const char *handler, bool has_master, const char *const *tags,
                        struct rot_settings *out, struct sm_err *err) {
    struct rot_config cfg;
    struct secrets_tag t[8];
    char buf[8][256];
    size_t n = 0;
    for (; tags[n] != NULL; n++) {
        snprintf(buf[n], sizeof(buf[n]), "%s", tags[n]);
        char *eq = strchr(buf[n], '=');
        *eq = '\0';
        t[n] = (struct secrets_tag){.key = buf[n], .value = eq + 1};
    }
    struct secrets_description desc = {.tags = t, .n_tags = n};
    SM_ASSERT_OK(rot_config_from_env(handler, &cfg, err), *err);
    int rc = rot_settings_resolve(&cfg, &desc, has_master, out, err);
    rot_config_clean_up(&cfg);
    return rc;
}

SM_TEST(rotation_settings_tags_override_the_function_defaults) {
    struct rot_settings s;
    struct sm_err err;
    setenv("PASSWORD_LENGTH", "40", 1);
    setenv("SMROTATE_MYSQL_DUAL_PASSWORD", "true", 1);
    const char *none[] = {"Name=app", NULL};
    SM_ASSERT_OK(settings_for("multi-user", true, none, &s, &err), err);
    SM_ASSERT_INT_EQ(s.policy.length, 40);
    SM_ASSERT_INT_EQ(s.mysql_dual_password, true);
    SM_ASSERT_STR_EQ(s.strategy->name, "multi-user");
    SM_ASSERT_STR_EQ(s.from_tags, "");
    rot_settings_clean_up(&s);

    const char *tags[] = {"smrotate:password-length=12",
                          "SMRotate:exclude-punctuation=TRUE",
                          "smrotate:require-each-included-type=false",
                          "smrotate:password-lifetime-days=90",
                          "smrotate:mysql-dual-password=false",
                          "other:x=y",
                          NULL};
    SM_ASSERT_OK(settings_for("multi-user", true, tags, &s, &err), err);
    SM_ASSERT_INT_EQ(s.policy.length, 12);
    SM_ASSERT_INT_EQ(s.policy.exclude_punctuation, SECRETS_TRUE);
    SM_ASSERT_INT_EQ(s.policy.exclude_numbers, SECRETS_FALSE);
    SM_ASSERT_INT_EQ(s.policy.require_each_included_type, SECRETS_FALSE);
    SM_ASSERT_INT_EQ(s.password_lifetime_days, 90);
    SM_ASSERT_INT_EQ(s.mysql_dual_password, false);
    SM_ASSERT_STR_EQ(s.from_tags, "password-length, exclude-punctuation, "
                                  "require-each-included-type, password-lifetime-days, "
                                  "mysql-dual-password");
    rot_settings_clean_up(&s);
    unsetenv("PASSWORD_LENGTH");
    unsetenv("SMROTATE_MYSQL_DUAL_PASSWORD");
}

SM_TEST(rotation_settings_strategy_per_secret) {
    struct {
        const char *handler;
        bool has_master;
        const char *tags[3];
        const char *strategy; /* NULL: an error containing expect */
        const char *expect;
    } cases[] = {
        {"auto", false, {NULL}, "single-user", NULL},
        {"auto", true, {NULL}, "multi-user", NULL},
        {"auto",
         true,
         {"smrotate:strategy=single-user-via-master", NULL},
         "single-user-via-master",
         NULL},
        {"auto", true, {"smrotate:strategy=single-user", NULL}, "single-user", NULL},
        {"auto",
         false,
         {"smrotate:alternating-users=app_blue app_green", NULL},
         "multi-user",
         NULL},
        {"multi-user", true, {"smrotate:strategy=alternating-users", NULL}, "multi-user", NULL},
        {"single-user-via-master", true, {NULL}, "single-user-via-master", NULL},
        {"single-user",
         true,
         {"smrotate:strategy=multi-user", NULL},
         NULL,
         "the secret's tag smrotate:strategy asks for multi-user, but this function's Handler is "
         "single-user"},
        {"auto",
         true,
         {"smrotate:strategy=auto", NULL},
         NULL,
         "the secret's tag smrotate:strategy has the value \"auto\"; accepted: single-user, "
         "multi-user, alternating-users or single-user-via-master"},
        {"single-user",
         false,
         {"smrotate:alternating-users=a b", NULL},
         NULL,
         "smrotate:alternating-users needs the alternating-users strategy, but the secret is "
         "rotated single-user"},
        {"auto",
         true,
         {"smrotate:strategy=single-user", "smrotate:alternating-users=a b", NULL},
         NULL,
         "needs the alternating-users strategy"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct rot_settings s;
        struct sm_err err;
        int rc = settings_for(cases[i].handler, cases[i].has_master, cases[i].tags, &s, &err);
        if (cases[i].strategy != NULL) {
            SM_ASSERT_OK(rc, err);
            SM_ASSERT_STR_EQ(s.strategy->name, cases[i].strategy);
        } else {
            SM_ASSERT_INT_EQ(rc, -1);
            SM_ASSERT_CODE_EQ(err.code, ROT_ERR_SECRET_INVALID);
            SM_ASSERT_STR_CONTAINS(err.msg, cases[i].expect);
        }
        rot_settings_clean_up(&s);
    }
}

SM_TEST(rotation_settings_bad_tags_are_named) {
    struct {
        const char *tag, *expect;
    } cases[] = {
        {"smrotate:pasword-length=12", "the secret's tag smrotate:pasword-length names no "
                                       "smrotate setting; known: strategy, password-length"},
        {"smrotate:password-length=0", "the secret's tag smrotate:password-length has the value "
                                       "\"0\"; accepted: a whole number from 1 to 4096"},
        {"smrotate:password-length=12x", "accepted: a whole number from 1 to 4096"},
        {"smrotate:password-length=-5", "accepted: a whole number from 1 to 4096"},
        {"smrotate:exclude-numbers=yes", "has the value \"yes\"; accepted: true or false"},
        {"smrotate:password-lifetime-days=3651", "accepted: a whole number from 1 to 3650"},
        {"smrotate:alternating-users=app", "accepted: two different user names separated by one "
                                           "space"},
        {"smrotate:alternating-users=app app", "two different user names"},
        {"smrotate:alternating-users=a  b", "two different user names"},
        {"smrotate:alternating-users= a", "two different user names"},
        {"smrotate:alternating-users=a b c", "two different user names"},
        {"smrotate:exclude-numbers=\x01\xff", "has the value \"??\""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct rot_settings s;
        struct sm_err err;
        const char *tags[] = {cases[i].tag, NULL};
        SM_ASSERT_INT_EQ(settings_for("multi-user", true, tags, &s, &err), -1);
        SM_ASSERT_CODE_EQ(err.code, ROT_ERR_SECRET_INVALID);
        SM_ASSERT_STR_CONTAINS(err.msg, cases[i].expect);
        SM_ASSERT(sm_utf8_valid(err.msg, NULL));
        rot_settings_clean_up(&s);
    }
    struct rot_settings s;
    struct sm_err err;
    const char *pair[] = {"smrotate:alternating-users=app_blue app_green", NULL};
    SM_ASSERT_OK(settings_for("multi-user", true, pair, &s, &err), err);
    SM_ASSERT_STR_EQ(s.pair[0], "app_blue");
    SM_ASSERT_STR_EQ(s.pair[1], "app_green");
    rot_settings_clean_up(&s);
}

SM_TEST(rotation_settings_rotation_interval_from_the_rules) {
    struct {
        long after_days;
        const char *schedule;
        long days;
    } cases[] = {
        {0, NULL, 0},
        {30, NULL, 30},
        {0, "rate(10 days)", 10},
        {0, "rate(1 day)", 1},
        {0, "rate(4 hours)", 1},
        {0, "rate(30 hours)", 2},
        {0, "cron(0 16 * * ? *)", 1},
        {0, "cron(0 8 ? * MON *)", 7},
        {0, "cron(0 8 ? * 2#1 *)", 35},
        {0, "cron(0 8 ? * 6L *)", 35},
        {0, "cron(0 4 1 * ? *)", 31},
        {0, "cron(0 4 1 1,4,7,10 ? *)", 93},
        {0, "cron(0 4 1 JAN,JUL ? *)", 186},
        {0, "cron(0 4 1 1-6 ? *)", 217},
        {0, "cron(0 4 1 */3 ? *)", 93},
        {0, "cron(0 4 1 13 ? *)", 0},
        {0, "cron(0 4 1)", 0},
        {0, "at(2030-01-01T00:00:00)", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct secrets_description d = {.rotation_after_days = cases[i].after_days,
                                        .rotation_schedule = (char *)cases[i].schedule};
        long got = rot_rotation_interval_days(&d);
        if (got != cases[i].days) {
            fprintf(stderr, "case %zu (%s)\n", i, cases[i].schedule ? cases[i].schedule : "-");
        }
        SM_ASSERT_INT_EQ(got, cases[i].days);
    }
}

SM_TEST(rotation_settings_lifetime_must_outlast_two_rotations) {
    struct rot_config cfg;
    struct rot_settings s;
    struct sm_err err;
    struct secrets_tag tag = {.key = "smrotate:password-lifetime-days", .value = "59"};
    struct secrets_description d = {
        .rotation_schedule = "rate(30 days)", .tags = &tag, .n_tags = 1};
    SM_ASSERT_OK(rot_config_from_env("single-user", &cfg, &err), err);
    SM_ASSERT_INT_EQ(rot_settings_resolve(&cfg, &d, false, &s, &err), -1);
    SM_ASSERT_CODE_EQ(err.code, ROT_ERR_SECRET_INVALID);
    SM_ASSERT_STR_CONTAINS(err.msg, "the password lifetime (59 days, from the tag "
                                    "smrotate:password-lifetime-days) is shorter than twice the "
                                    "secret's rotation interval (30 days)");
    SM_ASSERT_STR_CONTAINS(err.msg, "set it to 60 days or more");
    rot_settings_clean_up(&s);
    tag.value = "60";
    SM_ASSERT_OK(rot_settings_resolve(&cfg, &d, false, &s, &err), err);
    SM_ASSERT_INT_EQ(s.password_lifetime_days, 60);
    rot_settings_clean_up(&s);
    rot_config_clean_up(&cfg);
    setenv("SMROTATE_PASSWORD_LIFETIME_DAYS", "10", 1);
    d.n_tags = 0;
    SM_ASSERT_OK(rot_config_from_env("single-user", &cfg, &err), err);
    SM_ASSERT_INT_EQ(rot_settings_resolve(&cfg, &d, false, &s, &err), -1);
    SM_ASSERT_STR_CONTAINS(err.msg, "(10 days, from SMROTATE_PASSWORD_LIFETIME_DAYS)");
    rot_settings_clean_up(&s);
    rot_config_clean_up(&cfg);
    unsetenv("SMROTATE_PASSWORD_LIFETIME_DAYS");
}
