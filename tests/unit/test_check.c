/*
 * The preflight check (rotators/check.h) in process, against the fake Secrets Manager, the fake
 * RDS, the fake engine and a fake network: every healthy setup passes every check it runs, and
 * every broken setup fails exactly the check that names it, with its message, while the later
 * checks of that branch do not run. Every run proves it wrote nothing: no PutSecretValue or
 * UpdateSecretVersionStage, no password set, no clone created, no connection left open. The
 * end-to-end cases against real servers (tests/e2e/test_check.py) repeat only what needs one.
 */
#include "check.h"
#include "clock.h"
#include "config.h"
#include "fake_engine.h"
#include "fake_rds.h"
#include "fake_secrets.h"
#include "harness.h"
#include "mem.h"

#include <cjson/cJSON.h>

#define FN "arn:aws:lambda:us-east-1:123456789012:function:smrotate"
#define TOKEN "7d3b9f10-2c4e-4a8b-9f6d-5e1a2b3c4d5e"
#define INITIAL_PW "initial-Password-1"
#define MASTER_PW "admin-Password-2"
#define MASTER_OK                                                                                  \
    "{\"engine\":\"fake\",\"host\":\"db\",\"username\":\"admin\",\"password\":\"" MASTER_PW "\"}"

/* ---- a fake network ------------------------------------------------------------------------ */

static struct { bool dns_fails, tcp_fails; } s_net;

static int net_resolve(void *impl, const char *host, char *out, size_t cap, struct sm_err *err) {
    (void)impl;
    if (s_net.dns_fails) {
        return sm_err_set(err, ROT_ERR_DB_UNREACHABLE,
                          "cannot resolve the host %s: Name or "
                          "service not known",
                          host);
    }
    snprintf(out, cap, "192.0.2.10");
    return 0;
}

static int net_connect(void *impl, const char *host, int port, long timeout_ms, char *out,
                       size_t cap, struct sm_err *err) {
    (void)impl;
    SM_ASSERT(timeout_ms > 0);
    if (s_net.tcp_fails) {
        return sm_err_set(err, ROT_ERR_DB_UNREACHABLE,
                          "cannot connect to %s:%d: Connection "
                          "refused",
                          host, port);
    }
    snprintf(out, cap, "192.0.2.10");
    return 0;
}

static const struct rot_check_net_ops s_net_ops = {.resolve = net_resolve, .connect = net_connect};

/* ---- the fixture --------------------------------------------------------------------------- */

struct fixture {
    struct rot_config rcfg;
    struct rot_context ctx;
    const char *arn;
    struct rot_check_report r;
    char json[65536];
};

static void setup(struct fixture *f, const char *handler) {
    struct sm_err err;
    memset(f, 0, sizeof(*f));
    memset(&s_net, 0, sizeof(s_net));
    fake_db_reset();
    fake_secrets_reset();
    fake_rds_reset();
    SM_ASSERT_OK(rot_config_from_env(handler, &f->rcfg, &err), err);
    f->ctx = (struct rot_context){.secrets = {&fake_secrets_ops, NULL},
                                  .rds = {&fake_rds_ops, NULL},
                                  .engines = fake_registry,
                                  .config = &f->rcfg};
    fake_db_set_user("app", INITIAL_PW);
    fake_db_set_user("admin", MASTER_PW);
}

static void teardown(struct fixture *f) {
    rot_check_report_clean_up(&f->r);
    rot_config_clean_up(&f->rcfg);
    fake_secrets_reset();
}

/* The secret {engine fake, host db, username user, password INITIAL_PW<extra>}, its rotation
 * enabled with FN. */
static void create(struct fixture *f, const char *user, const char *extra) {
    char secret[2048];
    snprintf(secret, sizeof(secret),
             "{\"engine\":\"fake\",\"host\":\"db\",\"username\":\"%s\",\"password\":\"" INITIAL_PW
             "\"%s}",
             user, extra);
    f->arn = fake_secrets_create("app/db", secret);
    fake_secrets_enable_rotation(f->arn, FN);
}

/* The user's secret with a masterarn naming a new secret holding master_json. */
static void create_with_master(struct fixture *f, const char *user, const char *master_json) {
    char extra[700];
    snprintf(extra, sizeof(extra), ",\"masterarn\":\"%s\"",
             fake_secrets_create("master", master_json));
    create(f, user, extra);
}

/* Runs the check (in Lambda as FN's alias live, or from a shell) and proves it wrote nothing. */
static void run_as(struct fixture *f, bool shell, const char *function_arn) {
    struct sm_err err;
    struct sm_buf json;
    struct rot_check_opts opts = {
        .from_shell = shell, .function_arn = function_arn, .net = &s_net_ops};
    sm_buf_init(&json, sizeof(f->json) - 1);
    SM_ASSERT_OK(rot_check_report_init(&f->r, f->arn, &err), err);
    SM_ASSERT_OK(rot_check_run(&f->ctx, &opts, sm_now_ms() + 30000, &f->r, &err), err);
    SM_ASSERT_INT_EQ(fake_secrets_calls("PutSecretValue"), 0);
    SM_ASSERT_INT_EQ(fake_secrets_calls("UpdateSecretVersionStage"), 0);
    SM_ASSERT_INT_EQ(fake_db.password_sets, 0);
    SM_ASSERT_STR_EQ(fake_db.last_sync.target, "");
    SM_ASSERT(fake_db_user("app_clone") == NULL);
    SM_ASSERT_INT_EQ(fake_db.open_conns, 0);
    SM_ASSERT_OK(rot_check_report_json(&f->r, &json, &err), err);
    snprintf(f->json, sizeof(f->json), "%s", json.data);
    sm_buf_clean_up(&json);
    SM_ASSERT_STR_NOT_CONTAINS(f->json, INITIAL_PW);
    SM_ASSERT_STR_NOT_CONTAINS(f->json, MASTER_PW);
}

static void run(struct fixture *f) {
    run_as(f, false, FN ":live");
}

static const struct rot_check_item *item(const struct fixture *f, const char *name) {
    for (size_t i = 0; i < f->r.n; i++) {
        if (strcmp(f->r.items[i].name, name) == 0) {
            return &f->r.items[i];
        }
    }
    return NULL;
}

static void passes(const struct fixture *f, const char *name) {
    const struct rot_check_item *it = item(f, name);
    if (it == NULL || !it->ok) {
        SM_FAIL("check %s: expected to pass, got %s", name, it == NULL ? "(not run)" : it->detail);
    }
}

static void fails(const struct fixture *f, const char *name, const char *needle) {
    const struct rot_check_item *it = item(f, name);
    if (it == NULL || it->ok) {
        SM_FAIL("check %s: expected to fail, got %s", name, it == NULL ? "(not run)" : "a pass");
    }
    SM_ASSERT_STR_CONTAINS(it->detail, needle);
    SM_ASSERT(!f->r.ok);
}

static void not_run(const struct fixture *f, const char *name) {
    if (item(f, name) != NULL) {
        SM_FAIL("check %s: expected not to run, got %s", name, item(f, name)->detail);
    }
}

/* The checks that ran, in order, joined by spaces. */
static void assert_order(const struct fixture *f, const char *expected) {
    char got[1024] = "";
    for (size_t i = 0; i < f->r.n; i++) {
        size_t used = strlen(got);
        snprintf(got + used, sizeof(got) - used, "%s%s", i > 0 ? " " : "", f->r.items[i].name);
    }
    SM_ASSERT_STR_EQ(got, expected);
}

#define SINGLE_USER_CHECKS                                                                         \
    "secret-readable rotation-enabled no-incomplete-rotation secret-valid settings "               \
    "password-policy dns tcp tls login"

#define ALTERNATING_CHECKS                                                                         \
    "secret-readable rotation-enabled no-incomplete-rotation secret-valid settings "               \
    "alternate-user password-policy master-secret master-host dns tcp tls login master-login "     \
    "master-privileges alternate-user-plan"

/* ---- healthy setups ------------------------------------------------------------------------ */

SM_TEST(check_single_user_healthy_passes_every_check) {
    struct fixture f;
    setup(&f, "single-user");
    create(&f, "app", "");
    run(&f);
    assert_order(&f, SINGLE_USER_CHECKS);
    SM_ASSERT(f.r.ok);
    SM_ASSERT_STR_EQ(f.r.strategy, "single-user");
    SM_ASSERT_STR_EQ(f.r.engine, "fake");
    SM_ASSERT_STR_CONTAINS(item(&f, "rotation-enabled")->detail, "enabled with this function");
    SM_ASSERT_STR_CONTAINS(item(&f, "tls")->detail, "verified TLS");
    SM_ASSERT_STR_CONTAINS(item(&f, "login")->detail, "user app logged in at db:7777");
    SM_ASSERT_INT_EQ(fake_secrets_calls("GetRandomPassword"), 1);
    teardown(&f);
}

SM_TEST(check_alternating_users_healthy_passes_and_plans_the_clone) {
    struct fixture f;
    setup(&f, "multi-user");
    create_with_master(&f, "app", MASTER_OK);
    run(&f);
    assert_order(&f, ALTERNATING_CHECKS);
    SM_ASSERT(f.r.ok);
    SM_ASSERT_STR_EQ(f.r.strategy, "multi-user");
    SM_ASSERT_STR_CONTAINS(item(&f, "alternate-user")->detail, "the next rotation sets app_clone");
    SM_ASSERT_STR_CONTAINS(
        item(&f, "alternate-user-plan")->detail,
        "CREATE app_clone LIKE app; SET PASSWORD OF app_clone TO <new password>");
    SM_ASSERT_STR_CONTAINS(item(&f, "master-host")->detail, "on the user's own host db:7777");
    teardown(&f);
}

SM_TEST(check_two_pre_created_users_healthy_sets_only_a_password) {
    struct fixture f;
    setup(&f, "auto");
    fake_db_set_user("app2", "other-Password-3");
    create_with_master(&f, "app", MASTER_OK);
    fake_secrets_tag(f.arn, "smrotate:alternating-users", "app app2");
    run(&f);
    assert_order(&f, ALTERNATING_CHECKS);
    SM_ASSERT(f.r.ok);
    SM_ASSERT_STR_CONTAINS(item(&f, "settings")->detail,
                           "auto: the secret's tag smrotate:alternating-users");
    SM_ASSERT_STR_CONTAINS(
        item(&f, "alternate-user-plan")->detail,
        "sets only the password of app2: nothing is created, granted or revoked");
    teardown(&f);
}

SM_TEST(check_single_user_via_master_healthy_checks_the_master) {
    struct fixture f;
    setup(&f, "single-user-via-master");
    create_with_master(&f, "app", MASTER_OK);
    run(&f);
    assert_order(&f,
                 "secret-readable rotation-enabled no-incomplete-rotation secret-valid settings "
                 "password-policy master-secret master-host dns tcp tls login master-login "
                 "master-privileges");
    SM_ASSERT(f.r.ok);
    teardown(&f);
}

SM_TEST(check_rds_managed_master_healthy_resolves_through_rds) {
    struct fixture f;
    setup(&f, "auto");
    const char *master = fake_secrets_create(
        "rds!db-master", "{\"username\":\"admin\",\"password\":\"" MASTER_PW "\"}");
    fake_secrets_tag(master, "aws:rds:primaryDBInstanceArn",
                     "arn:aws:rds:us-east-1:123456789012:db:db");
    fake_rds_instance("db", "fake", "db", 7777, NULL, NULL);
    char extra[600];
    snprintf(extra, sizeof(extra), ",\"masterarn\":\"%s\"", master);
    create(&f, "app", extra);
    run(&f);
    assert_order(&f, ALTERNATING_CHECKS);
    SM_ASSERT(f.r.ok);
    SM_ASSERT_STR_CONTAINS(item(&f, "master-secret")->detail, "RDS-managed");
    SM_ASSERT_INT_EQ(fake_rds_calls("DescribeDBInstances"), 1);
    teardown(&f);
}

SM_TEST(check_accepts_this_function_with_any_qualifier) {
    const char *invoked[] = {FN, FN ":live", FN ":$LATEST", FN ":7"};
    for (size_t i = 0; i < sizeof(invoked) / sizeof(invoked[0]); i++) {
        struct fixture f;
        setup(&f, "single-user");
        create(&f, "app", "");
        run_as(&f, false, invoked[i]);
        passes(&f, "rotation-enabled");
        teardown(&f);
    }
}

/* ---- Secrets Manager ----------------------------------------------------------------------- */

SM_TEST(check_missing_secret_fails_secret_readable_only) {
    struct fixture f;
    setup(&f, "single-user");
    f.arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:nope";
    run(&f);
    assert_order(&f, "secret-readable");
    fails(&f, "secret-readable", "ResourceNotFoundException");
    fails(&f, "secret-readable", "check the secret id and the region");
    SM_ASSERT(f.r.strategy == NULL && f.r.engine == NULL);
    SM_ASSERT_STR_CONTAINS(f.json, "\"strategy\":null,\"engine\":null");
    teardown(&f);
}

SM_TEST(check_unreadable_value_fails_secret_readable_with_the_iam_hint) {
    struct fixture f;
    setup(&f, "single-user");
    create(&f, "app", "");
    fake_secrets_fault("GetSecretValue", "AccessDeniedException", 1, false);
    run(&f);
    assert_order(&f, "secret-readable rotation-enabled no-incomplete-rotation");
    fails(&f, "secret-readable", "the function's role may not read it");
    teardown(&f);
}

SM_TEST(check_rotation_not_enabled_fails_and_says_how_to_enable_it) {
    struct fixture f;
    setup(&f, "single-user");
    create(&f, "app", "");
    fake_secrets_cancel_rotation(f.arn);
    run(&f);
    fails(&f, "rotation-enabled", "is not enabled for rotation");
    fails(&f, "rotation-enabled", "--rotation-lambda-arn " FN " --rotation-rules");
    passes(&f, "login"); /* another branch: the database checks still run */
    teardown(&f);
}

SM_TEST(check_rotation_with_another_function_fails) {
    struct fixture f;
    setup(&f, "single-user");
    create(&f, "app", "");
    fake_secrets_enable_rotation(f.arn, FN "-old");
    run(&f);
    fails(&f, "rotation-enabled",
          "is enabled with another function, " FN "-old, not this one (" FN ")");
    teardown(&f);
}

SM_TEST(check_incomplete_rotation_fails_with_the_command_that_clears_it) {
    struct fixture f;
    setup(&f, "single-user");
    create(&f, "app", "");
    fake_secrets_rotate(f.arn, TOKEN);
    run(&f);
    fails(&f, "no-incomplete-rotation", "A previous rotation isn't complete");
    fails(&f, "no-incomplete-rotation", "update-secret-version-stage --secret-id " /* the ARN */);
    fails(&f, "no-incomplete-rotation",
          "--version-stage AWSPENDING --remove-from-version-id " TOKEN);
    passes(&f, "login");
    teardown(&f);
}

SM_TEST(check_invalid_secret_json_fails_secret_valid) {
    struct fixture f;
    setup(&f, "single-user");
    create(&f, "app", ",\"port\":\"abc\"");
    run(&f);
    assert_order(&f, "secret-readable rotation-enabled no-incomplete-rotation secret-valid");
    fails(&f, "secret-valid", "port in secret JSON must be a whole number");
    fails(&f, "secret-valid", "fix the secret's value");
    teardown(&f);
}

/* ---- settings, the alternate user, the password policy ------------------------------------- */

SM_TEST(check_unknown_tag_fails_settings_and_the_database_is_still_checked) {
    struct fixture f;
    setup(&f, "single-user");
    create(&f, "app", "");
    fake_secrets_tag(f.arn, "smrotate:pasword-length", "40");
    run(&f);
    fails(&f, "settings", "smrotate:pasword-length names no smrotate setting");
    not_run(&f, "password-policy");
    passes(&f, "login");
    teardown(&f);
}

SM_TEST(check_contradicting_settings_fail_settings) {
    struct fixture f;
    setup(&f, "multi-user");
    create_with_master(&f, "app", MASTER_OK);
    fake_secrets_tag(f.arn, "smrotate:mysql-dual-password", "true");
    run(&f);
    fails(&f, "settings", "mysql-dual-password applies to the single-user strategy");
    not_run(&f, "master-secret");
    not_run(&f, "master-login");
    teardown(&f);
}

SM_TEST(check_too_long_clone_name_fails_alternate_user) {
    struct fixture f;
    setup(&f, "multi-user");
    fake_db_set_user("abcdefghijklmnop", INITIAL_PW);
    create_with_master(&f, "abcdefghijklmnop", MASTER_OK);
    run(&f);
    fails(&f, "alternate-user", "username length with _clone appended would exceed 20 bytes");
    passes(&f, "master-login");
    not_run(&f, "master-privileges");
    not_run(&f, "alternate-user-plan");
    teardown(&f);
}

SM_TEST(check_user_outside_its_pair_fails_alternate_user) {
    struct fixture f;
    setup(&f, "multi-user");
    create_with_master(&f, "app", MASTER_OK);
    fake_secrets_tag(f.arn, "smrotate:alternating-users", "blue green");
    run(&f);
    fails(&f, "alternate-user", "is neither of the two users of its tag");
    teardown(&f);
}

SM_TEST(check_denied_random_password_fails_password_policy) {
    struct fixture f;
    setup(&f, "single-user");
    create(&f, "app", "");
    fake_secrets_fault("GetRandomPassword", "AccessDeniedException", 1, false);
    run(&f);
    fails(&f, "password-policy", "secretsmanager:GetRandomPassword on *");
    passes(&f, "login");
    teardown(&f);
}

/* ---- the master ---------------------------------------------------------------------------- */

SM_TEST(check_missing_masterarn_fails_master_secret) {
    struct fixture f;
    setup(&f, "multi-user");
    create(&f, "app", "");
    run(&f);
    fails(&f, "master-secret", "masterarn key is missing from secret JSON");
    not_run(&f, "master-host");
    not_run(&f, "master-login");
    passes(&f, "login");
    teardown(&f);
}

SM_TEST(check_unreadable_master_fails_master_secret) {
    struct fixture f;
    setup(&f, "multi-user");
    create(&f, "app",
           ",\"masterarn\":\"arn:aws:secretsmanager:us-east-1:123456789012:secret:gone\"");
    run(&f);
    fails(&f, "master-secret", "cannot read the master secret");
    fails(&f, "master-secret", "ResourceNotFoundException");
    not_run(&f, "master-host");
    teardown(&f);
}

SM_TEST(check_managed_master_without_tag_fails_master_host) {
    struct fixture f;
    setup(&f, "multi-user");
    create_with_master(&f, "app", "{\"username\":\"admin\",\"password\":\"" MASTER_PW "\"}");
    run(&f);
    passes(&f, "master-secret");
    fails(&f, "master-host",
          "has neither the tag aws:rds:primaryDBInstanceArn nor aws:rds:primaryDBClusterArn");
    not_run(&f, "master-login");
    teardown(&f);
}

SM_TEST(check_master_on_another_host_fails_master_host) {
    struct fixture f;
    setup(&f, "multi-user");
    create_with_master(&f, "app",
                       "{\"engine\":\"fake\",\"host\":\"other.example\",\"username\":\"admin\","
                       "\"password\":\"" MASTER_PW "\"}");
    run(&f);
    fails(&f, "master-host",
          "Current database host db is not the same host as/rds replica of master other.example");
    teardown(&f);
}

/* ---- the database -------------------------------------------------------------------------- */

SM_TEST(check_unresolvable_host_fails_dns) {
    struct fixture f;
    setup(&f, "single-user");
    create(&f, "app", "");
    s_net.dns_fails = true;
    run(&f);
    fails(&f, "dns", "cannot resolve the host db");
    SM_ASSERT_STR_NOT_CONTAINS(item(&f, "dns")->detail, "outside the function's VPC");
    not_run(&f, "tcp");
    not_run(&f, "login");
    SM_ASSERT_INT_EQ(fake_db.connects, 0);
    teardown(&f);
}

SM_TEST(check_closed_port_fails_tcp) {
    struct fixture f;
    setup(&f, "single-user");
    create(&f, "app", "");
    s_net.tcp_fails = true;
    run(&f);
    passes(&f, "dns");
    fails(&f, "tcp", "cannot connect to db:7777: Connection refused");
    fails(&f, "tcp", "DatabaseUnreachable");
    not_run(&f, "tls");
    teardown(&f);
}

SM_TEST(check_tls_failure_fails_tls_with_what_to_set) {
    struct fixture f;
    setup(&f, "single-user");
    create(&f, "app", ",\"ssl\":true");
    fake_db.tls_fails = true;
    run(&f);
    passes(&f, "tcp");
    fails(&f, "tls", "does not match");
    fails(&f, "tls", "SMROTATE_DB_TLS_VERIFY=ca");
    not_run(&f, "login");
    teardown(&f);
}

SM_TEST(check_wrong_password_fails_login_after_tls_passed) {
    struct fixture f;
    setup(&f, "single-user");
    create(&f, "app", "");
    fake_db_set_user("app", "changed-Password-9");
    run(&f);
    passes(&f, "tls");
    fails(&f, "login", "Unable to log into database using current credentials for secret");
    fails(&f, "login", "put the user's working password into the secret");
    teardown(&f);
}

SM_TEST(check_wrong_master_password_fails_master_login) {
    struct fixture f;
    setup(&f, "multi-user");
    create_with_master(&f, "app", MASTER_OK);
    fake_db_set_user("admin", "changed-Password-9");
    run(&f);
    passes(&f, "login");
    fails(&f, "master-login", "Unable to log into database using credentials in master secret");
    not_run(&f, "master-privileges");
    teardown(&f);
}

SM_TEST(check_master_without_privileges_fails_master_privileges) {
    struct fixture f;
    setup(&f, "multi-user");
    create_with_master(&f, "app", MASTER_OK);
    fake_db.master_lacks_rights = true;
    run(&f);
    fails(&f, "master-privileges", "the master lacks CREATE");
    not_run(&f, "alternate-user-plan");
    teardown(&f);
}

SM_TEST(check_missing_pre_created_user_fails_master_privileges) {
    struct fixture f;
    setup(&f, "multi-user");
    create_with_master(&f, "app", MASTER_OK);
    fake_secrets_tag(f.arn, "smrotate:alternating-users", "app app2");
    run(&f);
    fails(&f, "master-privileges", "user app2 does not exist");
    teardown(&f);
}

SM_TEST(check_refused_plan_fails_alternate_user_plan) {
    struct fixture f;
    setup(&f, "multi-user");
    create_with_master(&f, "app", MASTER_OK);
    fake_db.plan_cycle = true;
    run(&f);
    passes(&f, "master-privileges");
    fails(&f, "alternate-user-plan", "is a member of its alternate");
    teardown(&f);
}

/* ---- from a shell -------------------------------------------------------------------------- */

SM_TEST(check_from_a_shell_names_the_function_and_the_vpc) {
    struct fixture f;
    setup(&f, "auto");
    create(&f, "app", "");
    s_net.tcp_fails = true;
    run_as(&f, true, NULL);
    passes(&f, "rotation-enabled");
    SM_ASSERT_STR_CONTAINS(item(&f, "rotation-enabled")->detail,
                           "rotation is enabled with the function " FN);
    fails(&f, "tcp", "this check ran from a shell, outside the function's VPC");
    fails(&f, "tcp", "aws lambda invoke --function-name " FN);
    SM_ASSERT_STR_CONTAINS(item(&f, "settings")->detail, "auto: the secret names no master");
    teardown(&f);
}

SM_TEST(check_from_a_shell_without_rotation_names_no_function) {
    struct fixture f;
    setup(&f, "auto");
    f.arn = fake_secrets_create("app/db", "{\"engine\":\"fake\",\"host\":\"db\",\"username\":"
                                          "\"app\",\"password\":\"" INITIAL_PW "\"}");
    run_as(&f, true, NULL);
    fails(&f, "rotation-enabled", "--rotation-lambda-arn <function-arn>");
    teardown(&f);
}

/* ---- the report ---------------------------------------------------------------------------- */

SM_TEST(check_report_json_has_the_documented_shape) {
    struct fixture f;
    setup(&f, "single-user");
    create(&f, "app", "");
    fake_db_set_user("app", "changed-Password-9");
    run(&f);
    cJSON *root = cJSON_Parse(f.json);
    SM_ASSERT(root != NULL);
    SM_ASSERT_STR_EQ(cJSON_GetObjectItem(root, "secretId")->valuestring, f.arn);
    SM_ASSERT(cJSON_IsFalse(cJSON_GetObjectItem(root, "ok")));
    SM_ASSERT_STR_EQ(cJSON_GetObjectItem(root, "strategy")->valuestring, "single-user");
    SM_ASSERT_STR_EQ(cJSON_GetObjectItem(root, "engine")->valuestring, "fake");
    const cJSON *checks = cJSON_GetObjectItem(root, "checks");
    SM_ASSERT_INT_EQ(cJSON_GetArraySize(checks), (int)f.r.n);
    const cJSON *c;
    cJSON_ArrayForEach(c, checks) {
        SM_ASSERT_INT_EQ(cJSON_GetArraySize(c), 3);
        SM_ASSERT(cJSON_IsString(cJSON_GetObjectItem(c, "check")));
        SM_ASSERT(cJSON_IsBool(cJSON_GetObjectItem(c, "ok")));
        SM_ASSERT(cJSON_IsString(cJSON_GetObjectItem(c, "detail")));
    }
    cJSON_Delete(root);
    teardown(&f);
}
