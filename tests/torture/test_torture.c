/*
 * Allocation-failure walks (curl's torture tests, SQLite's OOM tests), registered by
 * tests/torture.cmake only in SM_TORTURE builds, where sm_mem_fail_at works.
 *
 * For N = 1, 2, ...: the operation runs with its Nth allocation (and every later one) failing.
 * Every run must end either in a clean error (-1 with a code the walk allows, SM_ERR_NOMEM first
 * of all, and a message) or in a correct result; after its clean-up sm_mem_live_count() must be
 * back at the baseline (no leak); the walk stops at the first run that succeeds without reaching
 * its failure point. Each walk prints how many runs it made. Allocations of cJSON (hooks) and of
 * libcurl (curl_global_init_mem in http_global_init) count; libcurl's handle is created before
 * and destroyed after each run, so its connection cache is part of the balance.
 *
 * The client walks run against the local Secrets Manager emulator and retry with zero backoff
 * (fake_aws_no_jitter), so a failing attempt costs no sleep. The rotation walks run in process
 * against the fake Secrets Manager and the fake engine (whose own storage is not ours, so only
 * our allocations fail); every run starts on a fresh secret mid-rotation and, after a failed run,
 * reruns the four steps with memory back (as Secrets Manager retries a rotation): they must
 * converge, leaving AWSCURRENT's password in the database.
 *
 * Walks: event parse; secret parse + render + re-parse; configuration from the environment;
 * DescribeSecret, GetSecretValue, PutSecretValue, UpdateSecretVersionStage, GetRandomPassword;
 * the credential chain for a shell (creds_resolve) against the local STS, instance metadata and
 * container fakes and through credential_process; the four steps, single user and alternating
 * users; the preflight check of an alternating-users secret with its JSON report (a run either
 * fails with OutOfMemory or reports every check passed).
 */
#include "buf.h"
#include "check.h"
#include "clock.h"
#include "config.h"
#include "credentials.h"
#include "event.h"
#include "fake_engine.h"
#include "fake_secrets.h"
#include "fakes/fake_aws_process.h"
#include "fakes/fake_creds.h"
#include "harness.h"
#include "http.h"
#include "log.h"
#include "mem_testing.h"
#include "rotation.h"
#include "secret.h"
#include "secretsmanager_testing.h"

#include <stdbool.h>
#include <stdlib.h>

#define AKID "AKIDTORTURETEST00001"
#define SECRET_KEY "tortureSecretKey/For+Tests0123456789abcd"
#define TOKEN "7d3b9f10-2c4e-4a8b-9f6d-5e1a2b3c4d5e"
#define FIRST_VERSION "00000000-0000-4000-8000-000000000001"
#define INITIAL_PW "initial-Password-1"

/* One walk. prepare() (optional) runs before the failure point is armed, run() with it armed,
 * finish() (optional) after it is disarmed; together they release everything they allocated, on
 * every path. run() returns 0 on success (after checking the result itself) or -1 with err set.
 * finish() may check that the system recovers once memory is back. */
struct walk {
    const char *name;
    void (*prepare)(void *ctx);
    int (*run)(void *ctx, struct sm_err *err);
    void (*finish)(void *ctx, int rc, const struct sm_err *err);
    void *ctx;
    /* Codes a failed run may report besides SM_ERR_NOMEM (0-terminated; SM_ERR_OK is 0). */
    const struct sm_code *also[6];
    int64_t max_runs; /* safety stop */
};

static bool allowed(const struct walk *w, const struct sm_code *code) {
    if (code == SM_ERR_NOMEM) {
        return true;
    }
    for (size_t i = 0; i < sizeof(w->also) / sizeof(w->also[0]) && w->also[i] != SM_ERR_OK; i++) {
        if (w->also[i] == code) {
            return true;
        }
    }
    return false;
}

/* Walks N = 1, 2, ... and returns the number of runs. */
static int64_t walk(const struct walk *w) {
    int64_t nomem = 0, other = 0, absorbed = 0;
    for (int64_t n = 1;; n++) {
        if (n > w->max_runs) {
            SM_FAIL("%s: no run succeeded within %" PRId64 " runs", w->name, w->max_runs);
        }
        struct sm_err err;
        sm_err_clear(&err);
        int64_t live = sm_mem_live_count();
        if (w->prepare != NULL) {
            w->prepare(w->ctx);
        }
        int64_t base = sm_mem_attempt_count();
        sm_mem_fail_at(base + n);
        int rc = w->run(w->ctx, &err);
        int64_t attempts = sm_mem_attempt_count() - base;
        sm_mem_fail_at(0);
        if (rc != 0 && (rc != -1 || !allowed(w, err.code) || err.msg[0] == '\0')) {
            SM_FAIL("%s: run %" PRId64 ": rc %d, code %s, message \"%s\"", w->name, n, rc,
                    sm_code_name(err.code), err.msg);
        }
        if (w->finish != NULL) {
            w->finish(w->ctx, rc, &err);
        }
        if (sm_mem_live_count() != live) {
            SM_FAIL("%s: run %" PRId64 " (rc %d, %s) leaked %" PRId64 " block(s)", w->name, n, rc,
                    sm_code_name(err.code), sm_mem_live_count() - live);
        }
        if (rc == 0 && attempts < n) {
            printf("%s: walked N = 1..%" PRId64 " (a full run makes %" PRId64
                   " allocations): %" PRId64 " runs failed cleanly with OutOfMemory, %" PRId64
                   " with another allowed code, %" PRId64
                   " succeeded despite a failed allocation\n",
                   w->name, n, attempts, nomem, other, absorbed);
            fflush(stdout);
            return n;
        }
        if (rc == 0) {
            absorbed++; /* the failure was absorbed and run() checked the result */
        } else if (err.code == SM_ERR_NOMEM) {
            nomem++;
        } else {
            other++;
        }
    }
}

/* Every log line is built (JSON, DEBUG and up, so cJSON allocates for each) and thrown away: the
 * logger's own out-of-memory path is walked too, without flooding the test output. */
static void quiet_logs(void) {
    static FILE *devnull;
    if (devnull == NULL) {
        devnull = fopen("/dev/null", "w");
        SM_ASSERT(devnull != NULL);
    }
    sm_log_set_stream(devnull);
    sm_log_configure(true, SM_LOG_DEBUG);
}

/* ---- pure parsers ---------------------------------------------------------------------------- */

static const char s_event[] =
    "{\"Step\":\"setSecret\",\"SecretId\":\"arn:aws:secretsmanager:us-east-1:1:secret:a-AbCdEf\","
    "\"ClientRequestToken\":\"" TOKEN
    "\",\"RotationToken\":\"5b0e8f3a-6d2c-4e1b-9a7f-8c3d2e1f0a9b\"}";

static int run_event(void *ctx, struct sm_err *err) {
    (void)ctx;
    struct rot_event ev;
    int rc = rot_event_parse(s_event, strlen(s_event), &ev, err);
    if (rc == 0) {
        SM_ASSERT_INT_EQ(ev.step, ROT_STEP_SET);
        SM_ASSERT_STR_EQ(ev.token, TOKEN);
        SM_ASSERT(ev.rotation_token != NULL);
    }
    rot_event_clean_up(&ev);
    return rc;
}

SM_TEST(torture_event_parse) {
    quiet_logs();
    /* cJSON reports no out-of-memory of its own: a failed parse reads as malformed input. */
    struct walk w = {
        .name = "event parse", .run = run_event, .also = {SM_ERR_EVENT}, .max_runs = 10000};
    SM_ASSERT(walk(&w) > 5);
}

static const char s_secret[] =
    "{\"engine\":\"fake\",\"host\":\"db.internal\",\"port\":\"7777\",\"username\":\"app\","
    "\"pass\\u0077ord\":\"Old-Pa55word\",\"dbname\":\"d\",\"extra\":{\"k\":[1,\"\\u00e9\"]},"
    "\"masterarn\":\"arn:aws:secretsmanager:us-east-1:1:secret:m\"}";

static int run_secret(void *ctx, struct sm_err *err) {
    (void)ctx;
    int result = -1;
    struct rot_secret s = {0}, again = {0};
    struct sm_buf out;
    sm_buf_init(&out, SM_LIMIT_SECRET_STRING);
    if (rot_secret_parse(s_secret, strlen(s_secret), fake_registry, &s, err) != 0 ||
        rot_secret_render(&s, "app_clone", "New\"Pass\\word", &out, err) != 0 ||
        rot_secret_parse(out.data, out.len, fake_registry, &again, err) != 0) {
        goto out;
    }
    SM_ASSERT_SECRET_EQ(again.password, "New\"Pass\\word");
    SM_ASSERT_STR_EQ(again.username, "app_clone");
    SM_ASSERT_STR_EQ(again.host, "db.internal");
    SM_ASSERT_INT_EQ(again.port, 7777);
    /* Without memory it cannot parse (-1), but it must never call this secret bare. */
    SM_ASSERT(rot_secret_is_bare_credentials(out.data, out.len) != 1);
    result = 0;
out:
    rot_secret_clean_up(&s);
    rot_secret_clean_up(&again);
    sm_buf_clean_up(&out);
    return result;
}

SM_TEST(torture_secret_parse_and_render) {
    quiet_logs();
    struct walk w = {.name = "secret parse + render + re-parse",
                     .run = run_secret,
                     .also = {ROT_ERR_SECRET_INVALID},
                     .max_runs = 10000};
    SM_ASSERT(walk(&w) > 10);
}

/* ---- configuration from the environment -------------------------------------------------- */

static int run_config(void *ctx, struct sm_err *err) {
    (void)ctx;
    struct rot_config rc_cfg = {0};
    struct aws_config aws = {0};
    char *endpoint = NULL;
    int result = -1;
    /* The rotation settings last: their final allocation must not be masked by a later one. */
    if (aws_config_from_env(&aws, err) != 0 ||
        secrets_endpoint_from_env(&aws, &endpoint, err) != 0 ||
        rot_config_from_env("multi-user", &rc_cfg, err) != 0) {
        goto out;
    }
    /* A run that succeeds must have every setting, not a silently dropped one. */
    SM_ASSERT_STR_EQ(rc_cfg.exclude_characters, "/@\"'\\");
    SM_ASSERT_STR_EQ(rc_cfg.db_tls.ca_file, getenv("SMROTATE_DB_CA_FILE"));
    SM_ASSERT_INT_EQ(rc_cfg.policy.length, 40);
    SM_ASSERT(rc_cfg.strategy->alternates_users);
    SM_ASSERT_STR_EQ(endpoint, "http://127.0.0.1:1");
    SM_ASSERT_STR_EQ(aws.session_token, "token");
    SM_ASSERT_STR_EQ(aws.https_proxy, "http://proxy.internal:3128");
    result = 0;
out:
    rot_config_clean_up(&rc_cfg);
    aws_config_clean_up(&aws);
    sm_free(endpoint);
    return result;
}

SM_TEST(torture_config_from_env) {
    quiet_logs();
    setenv("AWS_REGION", "eu-west-1", 1);
    setenv("AWS_ACCESS_KEY_ID", AKID, 1);
    setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY, 1);
    setenv("AWS_SESSION_TOKEN", "token", 1);
    setenv("SECRETS_MANAGER_ENDPOINT", "http://127.0.0.1:1", 1);
    setenv("EXCLUDE_CHARACTERS", "/@\"'\\", 1);
    setenv("PASSWORD_LENGTH", "40", 1);
    setenv("SMROTATE_DB_CA_FILE", sm_test_path("data/secretsmanager/README.md"), 1);
    setenv("HTTPS_PROXY", "http://proxy.internal:3128", 1);
    struct walk w = {
        .name = "rotation + Secrets Manager configuration", .run = run_config, .max_runs = 1000};
    SM_ASSERT(walk(&w) > 5);
}

/* ---- the Secrets Manager client against the emulator ------------------------------------- */

struct secrets_fixture {
    struct fake_aws fake;
    struct aws_config cfg;
    char *endpoint;
    struct http_client http; /* created and destroyed around every run */
    struct aws_client client;
    char arn[512];
};

static void secrets_setup(struct secrets_fixture *f) {
    struct sm_err err;
    memset(f, 0, sizeof(*f));
    quiet_logs();
    fake_aws_start_secretsmanager(&f->fake, AKID, SECRET_KEY, NULL);
    setenv("AWS_REGION", "us-east-1", 1);
    setenv("AWS_ACCESS_KEY_ID", AKID, 1);
    setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY, 1);
    unsetenv("AWS_SESSION_TOKEN");
    unsetenv("EXCLUDE_CHARACTERS");
    unsetenv("PASSWORD_LENGTH");
    unsetenv("SMROTATE_DB_CA_FILE");
    unsetenv("HTTPS_PROXY");
    setenv("SECRETS_MANAGER_ENDPOINT", f->fake.endpoint, 1);
    SM_ASSERT_OK(aws_config_from_env(&f->cfg, &err), err);
    SM_ASSERT_OK(secrets_endpoint_from_env(&f->cfg, &f->endpoint, &err), err);
    SM_ASSERT_OK(secrets_client_init(&f->client, &f->cfg, f->endpoint, &f->http, &err), err);
    fake_aws_no_jitter(&f->client);
}

static void secrets_teardown(struct secrets_fixture *f) {
    aws_config_clean_up(&f->cfg);
    sm_free(f->endpoint);
    fake_aws_stop(&f->fake);
}

/* A fresh easy handle (outside the walk's failure window). */
static void http_open(struct secrets_fixture *f) {
    struct sm_err err;
    SM_ASSERT_OK(http_client_init(&f->http, &err), err);
}

static void http_close(struct secrets_fixture *f) {
    http_client_clean_up(&f->http);
}

static void create_secret(struct secrets_fixture *f, const char *name, const char *secret) {
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "Name", name);
    cJSON_AddStringToObject(body, "SecretString", secret);
    cJSON_AddStringToObject(body, "ClientRequestToken", FIRST_VERSION);
    char *text = cJSON_PrintUnformatted(body);
    cJSON *out = NULL;
    struct sm_err err;
    http_open(f);
    SM_ASSERT_OK(secrets_call(&f->client, "CreateSecret", NULL, text, strlen(text), 0, &out, &err),
                 err);
    snprintf(f->arn, sizeof(f->arn), "%s", cJSON_GetObjectItem(out, "ARN")->valuestring);
    http_close(f);
    cJSON_Delete(out);
    cJSON_free(text);
    cJSON_Delete(body);
}

/* Every client walk: a fresh handle before the run, the operation with failures, the handle
 * closed after it (so libcurl's connection cache is part of the balance). */
struct op_ctx {
    struct secrets_fixture *f;
    int (*op)(struct secrets_fixture *f, struct sm_err *err);
};

static void op_prepare(void *ctx) {
    http_open(((struct op_ctx *)ctx)->f);
}

static int op_run(void *ctx, struct sm_err *err) {
    struct op_ctx *c = ctx;
    return c->op(c->f, err);
}

static void op_finish(void *ctx, int rc, const struct sm_err *err) {
    (void)rc;
    (void)err;
    http_close(((struct op_ctx *)ctx)->f);
}

static int64_t walk_op(struct secrets_fixture *f, const char *name,
                       int (*op)(struct secrets_fixture *f, struct sm_err *err)) {
    struct op_ctx c = {f, op};
    /* Besides OutOfMemory: libcurl reports some allocation failures as transport errors, and a
     * response whose parse ran out of memory reads as malformed. */
    struct walk w = {.name = name,
                     .prepare = op_prepare,
                     .run = op_run,
                     .finish = op_finish,
                     .ctx = &c,
                     .also = {SM_ERR_TRANSPORT, SM_ERR_PROTOCOL},
                     .max_runs = 20000};
    return walk(&w);
}

static int op_describe(struct secrets_fixture *f, struct sm_err *err) {
    struct secrets_description d;
    int rc = secrets_describe_secret(&f->client, f->arn, 0, &d, err);
    if (rc == 0) {
        SM_ASSERT(secrets_description_find(&d, FIRST_VERSION) != NULL);
        SM_ASSERT(
            secrets_version_has_stage(secrets_description_find(&d, FIRST_VERSION), "AWSCURRENT"));
    }
    secrets_description_clean_up(&d);
    return rc;
}

static int op_get_value(struct secrets_fixture *f, struct sm_err *err) {
    struct secrets_value v;
    int rc = secrets_get_secret_value(&f->client, f->arn, NULL, "AWSCURRENT", 0, &v, err);
    if (rc == 0) {
        SM_ASSERT(v.secret_string != NULL);
        SM_ASSERT_STR_CONTAINS(v.secret_string, "\"engine\":\"fake\"");
    }
    secrets_value_clean_up(&v);
    return rc;
}

static int op_put_value(struct secrets_fixture *f, struct sm_err *err) {
    const char *stages[] = {"TORTURE"};
    const char *value = "{\"engine\":\"fake\",\"host\":\"db\",\"username\":\"app\","
                        "\"password\":\"put-value\"}";
    /* Same token and value every run: PutSecretValue is idempotent then. */
    return secrets_put_secret_value(&f->client, f->arn, "11111111-1111-4111-8111-111111111111",
                                    value, strlen(value), stages, 1, NULL, 0, err);
}

static int op_update_stage(struct secrets_fixture *f, struct sm_err *err) {
    /* A label only this version ever holds: moving it there again is a no-op. */
    return secrets_update_secret_version_stage(&f->client, f->arn, "TORTURE2", FIRST_VERSION, NULL,
                                               0, err);
}

static int op_random_password(struct secrets_fixture *f, struct sm_err *err) {
    struct secrets_password_policy policy = {
        .length = 24,
        .exclude_characters = "/@\"'\\",
        .exclude_numbers = SECRETS_UNSET,
        .exclude_punctuation = SECRETS_FALSE,
        .exclude_uppercase = SECRETS_UNSET,
        .exclude_lowercase = SECRETS_UNSET,
        .include_space = SECRETS_UNSET,
        .require_each_included_type = SECRETS_TRUE,
    };
    struct sm_buf pw;
    sm_buf_init(&pw, 4096);
    int rc = secrets_get_random_password(&f->client, &policy, 0, &pw, err);
    if (rc == 0) {
        SM_ASSERT_INT_EQ(pw.len, 24);
    }
    sm_buf_clean_up(&pw);
    return rc;
}

SM_TEST(torture_secretsmanager_read_operations) {
    struct secrets_fixture f;
    secrets_setup(&f);
    create_secret(&f, "torture/read",
                  "{\"engine\":\"fake\",\"host\":\"db\",\"username\":\"app\",\"password\":\"x\"}");
    SM_ASSERT(walk_op(&f, "DescribeSecret", op_describe) > 10);
    SM_ASSERT(walk_op(&f, "GetSecretValue", op_get_value) > 10);
    secrets_teardown(&f);
}

SM_TEST(torture_secretsmanager_write_operations) {
    struct secrets_fixture f;
    secrets_setup(&f);
    create_secret(&f, "torture/write",
                  "{\"engine\":\"fake\",\"host\":\"db\",\"username\":\"app\",\"password\":\"x\"}");
    SM_ASSERT(walk_op(&f, "PutSecretValue", op_put_value) > 10);
    SM_ASSERT(walk_op(&f, "UpdateSecretVersionStage", op_update_stage) > 10);
    SM_ASSERT(walk_op(&f, "GetRandomPassword", op_random_password) > 10);
    secrets_teardown(&f);
}

/* ---- the credential chain for a shell, against the local fakes ---------------------------- */

struct creds_fixture {
    struct fake_home home;
    struct fake_aws sts, endpoint; /* STS; instance metadata or the container endpoint */
    struct http_client http;       /* created and destroyed around every run */
    const char *want;              /* in the source of a run that succeeds */
};

static void creds_prepare(void *ctx) {
    struct creds_fixture *f = ctx;
    struct sm_err err;
    SM_ASSERT_OK(http_client_init(&f->http, &err), err);
}

static void creds_finish(void *ctx, int rc, const struct sm_err *err) {
    (void)rc;
    (void)err;
    http_client_clean_up(&((struct creds_fixture *)ctx)->http);
}

static void no_sleep(void *impl, int64_t ms) {
    (void)impl;
    (void)ms;
}

static int creds_run(void *ctx, struct sm_err *err) {
    struct creds_fixture *f = ctx;
    struct aws_config cfg = {0};
    /* The real transport and clock; the container endpoint's pauses between attempts cost
     * nothing. */
    struct aws_system sys = aws_system_real(&f->http);
    static struct aws_system_ops ops;
    ops = *sys.ops;
    ops.sleep_ms = no_sleep;
    sys.ops = &ops;
    char source[600];
    int rc = -1;
    if (aws_config_settings_from_env(&cfg, err) == 0 &&
        creds_resolve(&cfg, &sys, 0, source, sizeof(source), err) == 0) {
        /* A run that succeeds got the credentials from where it should, not from a source a
         * failure made it skip. */
        SM_ASSERT_STR_CONTAINS(source, f->want);
        SM_ASSERT(cfg.session_token != NULL);
        rc = 0;
    }
    aws_config_clean_up(&cfg);
    return rc;
}

static void creds_walk(struct creds_fixture *f, const char *name, const struct sm_code *also) {
    struct walk w = {.name = name,
                     .prepare = creds_prepare,
                     .run = creds_run,
                     .finish = creds_finish,
                     .ctx = f,
                     .also = {SM_ERR_TRANSPORT, SM_ERR_PROTOCOL, also},
                     .max_runs = 20000};
    SM_ASSERT(walk(&w) > 20);
    fake_aws_stop(&f->sts);
    fake_aws_stop(&f->endpoint);
    fake_home_stop(&f->home);
}

static void creds_setup(struct creds_fixture *f, const char *want) {
    memset(f, 0, sizeof(*f));
    quiet_logs();
    fake_home_start(&f->home);
    setenv("AWS_REGION", "us-east-1", 1);
    f->want = want;
    /* It accepts the keys the instance metadata and container fakes hand out. */
    const char *args[] = {"--session-token", "source-session-token", NULL};
    fake_aws_start_sts(&f->sts, AKID, SECRET_KEY, args);
    setenv("AWS_ENDPOINT_URL_STS", f->sts.endpoint, 1);
    cJSON_Delete(fake_aws_control(
        &f->sts, "POST", "/_fake/state",
        "{\"roles\":[{\"arn\":\"arn:aws:iam::123456789012:role/oidc\",\"web_identity_tokens\":"
        "[\"eyJ.torture.sig\"]},{\"arn\":\"arn:aws:iam::123456789012:role/checker\",\"trust\":"
        "\"*\"}]}"));
}

/* Web identity from a profile, whose role's credentials then assume another role: the files,
 * both STS operations and their XML. */
SM_TEST(torture_credentials_role_over_web_identity) {
    struct creds_fixture f;
    creds_setup(&f, "profile dev: assume role arn:aws:iam::123456789012:role/checker");
    char config[1024];
    snprintf(config, sizeof(config),
             "[profile dev]\nrole_arn = arn:aws:iam::123456789012:role/checker\n"
             "source_profile = web\nrole_session_name = torture\n[profile web]\n"
             "web_identity_token_file = %s\nrole_arn = arn:aws:iam::123456789012:role/oidc\n",
             fake_home_write(&f.home, "token", "eyJ.torture.sig", 0600));
    fake_home_write(&f.home, ".aws/config", config, 0600);
    setenv("AWS_PROFILE", "dev", 1);
    creds_walk(&f, "credentials: AssumeRole over AssumeRoleWithWebIdentity", SM_ERR_OK);
}

/* Instance metadata as a role's credential_source. A metadata request that fails (libcurl out of
 * memory) means "no credentials there", as in the SDKs: then the chain reports a configuration
 * error. */
SM_TEST(torture_credentials_role_over_instance_metadata) {
    struct creds_fixture f;
    creds_setup(&f, "with credentials from EC2 instance metadata (IMDSv2");
    const char *args[] = {"--session-token", "source-session-token", NULL};
    fake_aws_start_imds(&f.endpoint, AKID, SECRET_KEY, args);
    unsetenv("AWS_EC2_METADATA_DISABLED");
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", f.endpoint.endpoint, 1);
    fake_home_write(&f.home, ".aws/config",
                    "[default]\nrole_arn = arn:aws:iam::123456789012:role/checker\n"
                    "credential_source = Ec2InstanceMetadata\n",
                    0600);
    creds_walk(&f, "credentials: AssumeRole over instance metadata", SM_ERR_CONFIG);
}

/* The container endpoint with an authorization token file, and credential_process. */
SM_TEST(torture_credentials_container_and_process) {
    struct creds_fixture f;
    creds_setup(&f, "container credentials endpoint");
    const char *args[] = {"--session-token", "source-session-token", NULL};
    fake_aws_start_container_creds(&f.endpoint, AKID, SECRET_KEY, args);
    char url[128];
    snprintf(url, sizeof(url), "%s/v2/credentials/fake-task", f.endpoint.endpoint);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
           fake_home_write(&f.home, "task-token", "task-token", 0600), 1);
    creds_walk(&f, "credentials: container endpoint", SM_ERR_OK);
    creds_setup(&f, "profile default: credential_process ");
    char config[1024];
    snprintf(config, sizeof(config), "[default]\ncredential_process = %s\n",
             fake_home_write(&f.home, "bin/creds",
                             "#!/bin/sh\necho '{\"Version\": 1, \"AccessKeyId\": \"AKIDPROC\", "
                             "\"SecretAccessKey\": \"proc-secret\", \"SessionToken\": \"t\"}'\n",
                             0700));
    fake_home_write(&f.home, ".aws/config", config, 0600);
    creds_walk(&f, "credentials: credential_process", SM_ERR_OK);
}

/* ---- a full rotation, in process --------------------------------------------------------- */

struct rotation_ctx {
    struct rot_config rcfg;
    struct rot_context rctx;
    const char *arn;
    int round;
    int failed_step;        /* of the last run, -1 when none failed */
    unsigned stopped_in[4]; /* failed runs per step */
};

static int all_steps(struct rotation_ctx *r, struct sm_err *err) {
    struct rot_event ev = {.secret_id = (char *)r->arn, .token = TOKEN};
    r->failed_step = -1;
    for (int s = ROT_STEP_CREATE; s <= ROT_STEP_FINISH; s++) {
        ev.step = (enum rot_step)s;
        if (rot_run_step(&r->rctx, &ev, sm_now_ms() + 60000, err) != 0) {
            r->failed_step = s;
            return -1;
        }
    }
    return 0;
}

/* Fresh state for every run: a new secret (and master secret) mid-rotation, a fresh database. */
static void rotation_prepare(void *ctx) {
    struct rotation_ctx *r = ctx;
    char secret[1024];
    const char *master_arn = "";
    r->round++;
    fake_db_reset();
    fake_secrets_reset();
    fake_db_set_user("app", INITIAL_PW);
    fake_db_set_user("admin", "admin-pw");
    if (r->rcfg.strategy->alternates_users) {
        master_arn = fake_secrets_create("torture/master", "{\"engine\":\"fake\",\"host\":\"db\","
                                                           "\"username\":\"admin\","
                                                           "\"password\":\"admin-pw\"}");
    }
    snprintf(secret, sizeof(secret),
             "{\"engine\":\"fake\",\"host\":\"db\",\"username\":\"app\",\"password\":\"" INITIAL_PW
             "\",\"masterarn\":\"%s\"}",
             master_arn);
    r->arn = fake_secrets_create("torture/app", secret);
    fake_secrets_rotate(r->arn, TOKEN);
}

static int rotation_run(void *ctx, struct sm_err *err) {
    return all_steps(ctx, err);
}

/* Secrets Manager retries a failed rotation: with memory back, every step must converge, and
 * the database must hold AWSCURRENT's password. */
static void rotation_finish(void *ctx, int rc, const struct sm_err *err) {
    struct rotation_ctx *r = ctx;
    (void)err;
    if (rc != 0) {
        r->stopped_in[r->failed_step]++;
    }
    SM_ASSERT_INT_EQ(fake_db.open_conns, 0);
    struct sm_err again;
    int first = r->failed_step;
    if (rc != 0 && all_steps(r, &again) != 0) {
        SM_FAIL("the rotation retried after an allocation failure in %s failed in %s: %s",
                rot_step_name((enum rot_step)first), rot_step_name((enum rot_step)r->failed_step),
                again.msg);
    }
    cJSON *j = cJSON_Parse(fake_secrets_value(r->arn, NULL, "AWSCURRENT"));
    const char *user = cJSON_GetObjectItem(j, "username")->valuestring;
    const char *pw = cJSON_GetObjectItem(j, "password")->valuestring;
    SM_ASSERT(strcmp(pw, INITIAL_PW) != 0);
    SM_ASSERT_SECRET_EQ(fake_db_password(user), pw);
    cJSON_Delete(j);
    SM_ASSERT_INT_EQ(fake_db.open_conns, 0);
}

static void rotation_torture(const char *handler, const char *name) {
    struct rotation_ctx r;
    struct sm_err err;
    memset(&r, 0, sizeof(r));
    quiet_logs();
    SM_ASSERT_OK(rot_config_from_env(handler, &r.rcfg, &err), err);
    r.rctx = (struct rot_context){
        .secrets = {&fake_secrets_ops, NULL}, .engines = fake_registry, .config = &r.rcfg};
    struct walk w = {.name = name,
                     .prepare = rotation_prepare,
                     .run = rotation_run,
                     .finish = rotation_finish,
                     .ctx = &r,
                     .also = {ROT_ERR_SECRET_INVALID},
                     .max_runs = 50000};
    SM_ASSERT(walk(&w) > 100);
    printf("%s: failed runs stopped in createSecret %u, setSecret %u, testSecret %u, "
           "finishSecret %u\n",
           name, r.stopped_in[0], r.stopped_in[1], r.stopped_in[2], r.stopped_in[3]);
    rot_config_clean_up(&r.rcfg);
    fake_secrets_reset();
}

SM_TEST(torture_rotation_single_user_all_steps) {
    rotation_torture("single-user", "rotation, single user, four steps");
}

SM_TEST(torture_rotation_alternating_users_all_steps) {
    rotation_torture("multi-user", "rotation, alternating users, four steps");
}

/* ---- the preflight check, in process ------------------------------------------------------- */

static int check_net_resolve(void *impl, const char *host, char *out, size_t cap,
                             struct sm_err *err) {
    (void)impl, (void)host, (void)err;
    snprintf(out, cap, "192.0.2.10");
    return 0;
}

static int check_net_connect(void *impl, const char *host, int port, long timeout_ms, char *out,
                             size_t cap, struct sm_err *err) {
    (void)impl, (void)host, (void)port, (void)timeout_ms, (void)err;
    snprintf(out, cap, "192.0.2.10");
    return 0;
}

static const struct rot_check_net_ops s_check_net = {.resolve = check_net_resolve,
                                                     .connect = check_net_connect};

/* A healthy setup reports every check passed, or the run fails with OutOfMemory: an allocation
 * failure must never pass for a failed check. */
static int check_run(void *ctx, struct sm_err *err) {
    struct rotation_ctx *r = ctx;
    struct rot_check_opts opts = {.function_arn = "arn:aws:lambda:us-east-1:1:function:f",
                                  .net = &s_check_net};
    struct rot_check_report report;
    struct sm_buf json;
    sm_buf_init(&json, SM_LIMIT_RESPONSE);
    int rc = rot_check_report_init(&report, r->arn, err);
    if (rc == 0 && (rc = rot_check_run(&r->rctx, &opts, sm_now_ms() + 60000, &report, err)) == 0 &&
        (rc = rot_check_report_json(&report, &json, err)) == 0) {
        for (size_t i = 0; i < report.n; i++) {
            if (!report.items[i].ok) {
                rc = sm_err_set(err, SM_ERR_INTERNAL, "check %s failed: %s", report.items[i].name,
                                report.items[i].detail);
                break;
            }
        }
        SM_ASSERT(rc != 0 || report.n == 16);
    }
    SM_ASSERT_INT_EQ(fake_secrets_calls("PutSecretValue"), 0);
    SM_ASSERT_INT_EQ(fake_db.password_sets, 0);
    SM_ASSERT_INT_EQ(fake_db.open_conns, 0);
    rot_check_report_clean_up(&report);
    sm_buf_clean_up(&json);
    return rc;
}

static void check_prepare(void *ctx) {
    struct rotation_ctx *r = ctx;
    rotation_prepare(ctx);
    fake_secrets_enable_rotation(r->arn, "arn:aws:lambda:us-east-1:1:function:f");
    fake_secrets_put(r->arn, "a9a3b2c1-0000-4000-8000-00000000000b", NULL,
                     fake_secrets_value(r->arn, NULL, "AWSCURRENT"));
}

SM_TEST(torture_check_alternating_users_report) {
    struct rotation_ctx r;
    struct sm_err err;
    memset(&r, 0, sizeof(r));
    quiet_logs();
    SM_ASSERT_OK(rot_config_from_env("multi-user", &r.rcfg, &err), err);
    r.rctx = (struct rot_context){
        .secrets = {&fake_secrets_ops, NULL}, .engines = fake_registry, .config = &r.rcfg};
    struct walk w = {.name = "preflight check, alternating users",
                     .prepare = check_prepare,
                     .run = check_run,
                     .ctx = &r,
                     .max_runs = 50000};
    SM_ASSERT(walk(&w) > 100);
    rot_config_clean_up(&r.rcfg);
    fake_secrets_reset();
}
