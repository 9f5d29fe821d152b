/*
 * The credential chain's local sources (runtime/credentials.c, creds_ini.c, creds_profile.c,
 * creds_process.c) in process: the shared files as botocore reads them, the environment, static
 * keys, credential_process run for real from small scripts the tests write, the order between
 * them, and the messages when nothing or something broken is configured. Nothing here makes an
 * HTTP request (STS, the container endpoint and instance metadata: test_creds_http.c).
 */
#include "clock.h"
#include "credentials.h"
#include "creds_sources.h"
#include "fakes/fake_creds.h"
#include "harness.h"
#include "mem.h"

#define T0 1714564800000 /* 2024-05-01T12:00:00Z */
#define AKID "AKIDFILETEST00000001"
#define SECRET "fileSecretKey/For+Tests0123456789abcdefg"
#define TOKEN "fileSessionToken0123456789"

static const char *const s_secrets[] = {SECRET, TOKEN, NULL};

static void env_start(struct fake_chain *e) {
    fake_chain_start(e, NULL, 0, T0, s_secrets);
    setenv("AWS_REGION", "eu-west-1", 1);
}

/* ---- the files ------------------------------------------------------------------------------- */

static struct creds_ini parse(const char *text, bool config_file) {
    struct creds_ini ini;
    struct sm_err err;
    SM_ASSERT_OK(creds_ini_parse("/f", text, strlen(text), config_file, &ini, &err), err);
    return ini;
}

/* Python's RawConfigParser: '=' or ':', keys lower-cased, values stripped, full-line comments
 * only, indented lines continue a value, [DEFAULT] fills every section. */
SM_TEST(creds_ini_reads_settings_as_configparser_does) {
    struct creds_ini ini = parse("\xef\xbb\xbf# comment\n"
                                 "[DEFAULT]\nregion = us-west-2\n"
                                 "[dev]\r\n"
                                 "  AWS_Access_Key_ID =  AKID1  \r\n"
                                 "aws_secret_access_key: s=e:c ; not a comment\n"
                                 "; comment\n"
                                 "s3 =\n    max_concurrent_requests = 10\n    x = y\n"
                                 "\n[other]\nregion=eu-central-1\n",
                                 false);
    SM_ASSERT_STR_EQ(creds_ini_get(&ini, "dev", "aws_access_key_id"), "AKID1");
    SM_ASSERT_SECRET_EQ(creds_ini_get(&ini, "dev", "aws_secret_access_key"),
                        "s=e:c ; not a comment");
    SM_ASSERT_STR_EQ(creds_ini_get(&ini, "dev", "s3"), "\nmax_concurrent_requests = 10\nx = y");
    SM_ASSERT_STR_EQ(creds_ini_get(&ini, "dev", "region"), "us-west-2");
    SM_ASSERT_STR_EQ(creds_ini_get(&ini, "other", "region"), "eu-central-1");
    SM_ASSERT(creds_ini_get(&ini, "DEFAULT", "region") == NULL);
    SM_ASSERT(!creds_ini_has_profile(&ini, "DEFAULT") && creds_ini_has_profile(&ini, "dev"));
    creds_ini_clean_up(&ini);
    creds_ini_clean_up(&ini); /* a cleaned-up struct is accepted */
}

/* botocore's build_profile_map: [default], [profile NAME] (NAME one shell word), nothing else. */
SM_TEST(creds_ini_config_file_sections_map_to_profiles_as_botocore_does) {
    struct creds_ini ini = parse("[default]\nregion = a\n[profile dev]\nregion = b\n"
                                 "[profile \"with space\"]\nregion = c\n[profile]\nregion = d\n"
                                 "[sso-session s]\nregion = e\n[plain]\nregion = f\n"
                                 "[profile default]\nregion = g\n[profile  a b]\nregion = h\n",
                                 true);
    SM_ASSERT_STR_EQ(creds_ini_get(&ini, "dev", "region"), "b");
    SM_ASSERT_STR_EQ(creds_ini_get(&ini, "with space", "region"), "c");
    SM_ASSERT_STR_EQ(creds_ini_get(&ini, "default", "region"), "g"); /* the last section wins */
    SM_ASSERT(!creds_ini_has_profile(&ini, "plain") && !creds_ini_has_profile(&ini, "s"));
    SM_ASSERT(!creds_ini_has_profile(&ini, "a") && !creds_ini_has_profile(&ini, "profile"));
    creds_ini_clean_up(&ini);
    /* In the credentials file a section is the profile's name as it stands. */
    ini = parse("[profile dev]\nregion = x\n[dev]\nregion = y\n", false);
    SM_ASSERT_STR_EQ(creds_ini_get(&ini, "profile dev", "region"), "x");
    SM_ASSERT_STR_EQ(creds_ini_get(&ini, "dev", "region"), "y");
    creds_ini_clean_up(&ini);
}

SM_TEST(creds_ini_refuses_what_configparser_refuses_naming_file_and_line) {
    const struct {
        const char *text, *want;
    } bad[] = {
        {"region = x\n", "line 1: a setting comes before any [section]"},
        {"[a]\nregion = x\nno delimiter\n", "line 3: the line is neither"},
        {"[a]\nk = 1\n[a]\n", "line 3: a section is given twice"},
        {"[a]\nk = 1\nK = 2\n", "line 3: a setting is given twice"},
        {"[a]\n = 1\n", "line 2: a setting has no name"},
        {"[a]\n[]\n", "line 2: the line is neither"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct creds_ini ini;
        struct sm_err err;
        SM_ASSERT_INT_EQ(creds_ini_parse("/home/u/.aws/config", bad[i].text, strlen(bad[i].text),
                                         true, &ini, &err),
                         -1);
        SM_ASSERT_CODE_EQ(err.code, SM_ERR_CONFIG);
        SM_ASSERT_STR_CONTAINS(err.msg, "/home/u/.aws/config");
        SM_ASSERT_STR_CONTAINS(err.msg, bad[i].want);
        creds_ini_clean_up(&ini);
    }
    struct creds_ini ini;
    struct sm_err err;
    SM_ASSERT_INT_EQ(creds_ini_parse("/f", "[a]\nk = \0x\n", 10, true, &ini, &err), -1);
    SM_ASSERT_STR_CONTAINS(err.msg, "NUL");
    creds_ini_clean_up(&ini);
}

/* Python's shlex.split in POSIX mode. */
SM_TEST(creds_split_command_splits_like_shlex) {
    const struct {
        const char *line;
        const char *words[5];
    } cases[] = {
        {"  /bin/tool  --profile dev ", {"/bin/tool", "--profile", "dev", NULL}},
        {"a 'b c' \"d \\\" \\$ \\x\" e\\ f", {"a", "b c", "d \" $ \\x", "e f", NULL}},
        {"x '' \"\"", {"x", "", "", NULL}},
        {"pre'fix'\"ed\" #not-a-comment", {"prefixed", "#not-a-comment", NULL}},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char **argv = NULL;
        struct sm_err err;
        SM_ASSERT_OK(creds_split_command(cases[i].line, &argv, &err), err);
        size_t k = 0;
        for (; cases[i].words[k] != NULL; k++) {
            SM_ASSERT_STR_EQ(argv[k], cases[i].words[k]);
        }
        SM_ASSERT(argv[k] == NULL);
        sm_free(argv);
    }
    const char *bad[] = {"a 'b", "a \"b", "a \\", "   ", ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char **argv = NULL;
        struct sm_err err;
        SM_ASSERT_INT_EQ(creds_split_command(bad[i], &argv, &err), -1);
        SM_ASSERT_CODE_EQ(err.code, SM_ERR_CONFIG);
        SM_ASSERT(argv == NULL);
    }
}

SM_TEST(creds_parse_time_reads_the_forms_aws_sources_write) {
    const struct {
        const char *text;
        int64_t ms;
    } good[] = {
        {"2024-05-01T12:00:00Z", T0},     {"2024-05-01T12:00:00.250Z", T0 + 250},
        {"2024-05-01t12:00:00z", T0},     {"2024-05-01T14:00:00+02:00", T0},
        {"2024-05-01T11:30:00-0030", T0},
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        int64_t ms = 0;
        SM_ASSERT_INT_EQ(creds_parse_time(good[i].text, &ms), 0);
        SM_ASSERT_INT_EQ(ms, good[i].ms);
    }
    const char *bad[] = {"2024-05-01T12:00:00",
                         "2024-05-01 12:00:00Z",
                         "2024-02-31T12:00:00Z",
                         "2024-05-01T24:00:00Z",
                         "1714564800",
                         "2024-05-01T12:00:00Zx",
                         "",
                         "2024-05-01T12:00:00+2"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t ms = 0;
        SM_ASSERT_INT_EQ(creds_parse_time(bad[i], &ms), -1);
    }
}

/* ---- the environment and static keys --------------------------------------------------------- */

/* botocore's order: the environment first, then the credentials file, then the config file. */
SM_TEST(creds_environment_then_credentials_file_then_config_file) {
    struct fake_chain e;
    env_start(&e);
    fake_home_write(&e.home, ".aws/config",
                    "[default]\naws_access_key_id = AKIDCONFIG\naws_secret_access_key = cfg\n",
                    0600);
    fake_chain_expect(&e, "AKIDCONFIG", "cfg", NULL);
    SM_ASSERT_STR_CONTAINS(e.source, "profile default: static keys in ");
    SM_ASSERT_STR_CONTAINS(e.source, "/.aws/config");
    fake_home_write(&e.home, ".aws/credentials",
                    "[default]\naws_access_key_id = " AKID "\naws_secret_access_key = " SECRET
                    "\naws_session_token = " TOKEN "\n",
                    0600);
    fake_chain_expect(&e, AKID, SECRET, TOKEN);
    SM_ASSERT_STR_CONTAINS(e.source, "/.aws/credentials");
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
    setenv("AWS_SESSION_TOKEN", "envtoken", 1);
    fake_chain_expect(&e, "AKIDENV", "envsecret", "envtoken");
    SM_ASSERT_STR_EQ(e.source, "environment variables (AWS_ACCESS_KEY_ID with a session token)");
    setenv("AWS_SECURITY_TOKEN", "legacytoken", 1); /* botocore reads it first */
    fake_chain_expect(&e, "AKIDENV", "envsecret", "legacytoken");
    /* An access key without a secret key is an error, not a fall-through. */
    unsetenv("AWS_SECRET_ACCESS_KEY");
    fake_chain_expect_failure(&e, SM_ERR_CONFIG, "AWS_SECRET_ACCESS_KEY is not");
    /* A secret key alone is nothing: the files decide. */
    unsetenv("AWS_ACCESS_KEY_ID");
    setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
    fake_chain_expect(&e, AKID, SECRET, TOKEN);
    fake_chain_stop(&e);
}

SM_TEST(creds_profile_files_and_region_come_from_the_environment_s_choice) {
    struct fake_chain e;
    env_start(&e);
    unsetenv("AWS_REGION");
    const char *config = fake_home_write(&e.home, "elsewhere/config",
                                         "[profile dev]\nregion = ap-south-1\n"
                                         "aws_access_key_id = AKIDDEV\n"
                                         "aws_secret_access_key = devsecret\n",
                                         0600);
    setenv("AWS_CONFIG_FILE", config, 1);
    setenv("AWS_PROFILE", "dev", 1);
    fake_chain_expect(&e, "AKIDDEV", "devsecret", NULL);
    SM_ASSERT_STR_EQ(e.cfg.region, "ap-south-1");
    /* The caller's region wins over the profile's. */
    setenv("AWS_DEFAULT_REGION", "us-east-2", 1);
    fake_chain_expect(&e, "AKIDDEV", "devsecret", NULL);
    SM_ASSERT_STR_EQ(e.cfg.region, "us-east-2");
    /* AWS_DEFAULT_PROFILE wins over AWS_PROFILE, as in botocore. */
    setenv("AWS_DEFAULT_PROFILE", "nowhere", 1);
    fake_chain_expect_failure(&e, SM_ERR_CONFIG,
                              "the config profile (nowhere) could not be found in");
    unsetenv("AWS_DEFAULT_PROFILE");
    /* A profile's region must be a region name; none at all is an error before any call. */
    unsetenv("AWS_DEFAULT_REGION");
    fake_home_write(&e.home, "elsewhere/config", "[profile dev]\nregion = eu-west-1/x\n", 0600);
    fake_chain_expect_failure(&e, SM_ERR_CONFIG, "region in profile dev");
    fake_home_write(&e.home, "elsewhere/config", "[profile dev]\nx = y\n", 0600);
    fake_chain_expect_failure(&e, SM_ERR_CONFIG, "no region: pass --region");
    fake_chain_stop(&e);
}

/* Nothing configured: the message says what each source lacked. */
SM_TEST(creds_nothing_configured_lists_every_source) {
    struct fake_chain e;
    env_start(&e);
    fake_chain_expect_failure(&e, SM_ERR_CONFIG,
                              "no AWS credentials found: environment: AWS_ACCESS_KEY_ID "
                              "is not set; web identity: AWS_WEB_IDENTITY_TOKEN_FILE is "
                              "not set; profile default: in neither file; container: "
                              "neither AWS_CONTAINER_CREDENTIALS_RELATIVE_URI nor "
                              "AWS_CONTAINER_CREDENTIALS_FULL_URI is set; instance "
                              "metadata: AWS_EC2_METADATA_DISABLED is true");
    fake_home_write(&e.home, ".aws/credentials", "[default]\nregion = eu-west-1\n", 0600);
    fake_chain_expect_failure(
        &e, SM_ERR_CONFIG,
        "profile default: no keys, role_arn, credential_process or web identity in it");
    /* A broken file stops everything, even credentials in the environment (botocore fails
     * loading it). */
    fake_home_write(&e.home, ".aws/config", "region = x\n", 0600);
    setenv("AWS_ACCESS_KEY_ID", AKID, 1);
    setenv("AWS_SECRET_ACCESS_KEY", SECRET, 1);
    fake_chain_expect_failure(&e, SM_ERR_CONFIG, "/.aws/config line 1: a setting comes before any");
    fake_chain_stop(&e);
}

SM_TEST(creds_partial_and_unsupported_profiles_say_what_to_do) {
    struct fake_chain e;
    env_start(&e);
    fake_home_write(&e.home, ".aws/credentials", "[default]\naws_access_key_id = " AKID "\n", 0600);
    fake_chain_expect_failure(&e, SM_ERR_CONFIG, "aws_access_key_id without aws_secret_access_key");
    fake_home_write(&e.home, ".aws/credentials", "[x]\n", 0600);
    fake_home_write(&e.home, ".aws/config",
                    "[default]\nsso_session = corp\nsso_account_id = 123456789012\n"
                    "sso_role_name = Admin\n",
                    0600);
    fake_chain_expect_failure(
        &e, SM_ERR_CONFIG,
        "profile default is an IAM Identity Center (SSO) profile, which bootstrap "
        "check does not support: sign in with the AWS CLI and add a profile with "
        "credential_process = aws configure export-credentials --profile default "
        "--format process");
    fake_home_write(&e.home, ".aws/config", "[default]\nlogin_session = arn:aws:iam::1:user/u\n",
                    0600);
    fake_chain_expect_failure(&e, SM_ERR_CONFIG, "a console login profile (login_session)");
    fake_chain_stop(&e);
}

/* ---- credential_process ---------------------------------------------------------------------- */

/* A script that prints body after checking its arguments arrived as the shell would split
 * them. */
static void process_profile(struct fake_chain *e, const char *body, const char *extra) {
    char script[4096];
    snprintf(script, sizeof(script),
             "#!/bin/sh\n"
             "[ \"$1\" = \"--name\" ] && [ \"$2\" = \"a b\" ] || { echo bad args >&2; exit 3; }\n"
             "%s\ncat <<'EOF'\n%s\nEOF\n",
             extra, body);
    const char *path = fake_home_write(&e->home, "bin/creds tool", script, 0700);
    char config[4096];
    snprintf(config, sizeof(config), "[default]\ncredential_process = \"%s\" --name 'a b'\n", path);
    fake_home_write(&e->home, ".aws/config", config, 0600);
}

SM_TEST(creds_process_runs_without_a_shell_and_reads_version_1) {
    struct fake_chain e;
    env_start(&e);
    process_profile(&e,
                    "{\"Version\": 1, \"AccessKeyId\": \"" AKID "\", \"SecretAccessKey\": \"" SECRET
                    "\", \"SessionToken\": \"" TOKEN
                    "\", \"Expiration\": \"2024-05-01T13:00:00Z\"}",
                    "");
    fake_chain_expect(&e, AKID, SECRET, TOKEN);
    SM_ASSERT_STR_CONTAINS(e.source, "profile default: credential_process ");
    SM_ASSERT_STR_CONTAINS(e.source, "/bin/creds tool");
    SM_ASSERT_STR_NOT_CONTAINS(e.source, "--name");
    /* The credentials file's keys come first; the config file's after the process. */
    fake_home_write(&e.home, ".aws/credentials",
                    "[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = f\n", 0600);
    fake_chain_expect(&e, "AKIDFILE", "f", NULL);
    fake_chain_stop(&e);
}

SM_TEST(creds_process_failures_name_the_program_never_a_secret) {
    struct fake_chain e;
    env_start(&e);
    const struct {
        const char *body, *extra, *want;
    } cases[] = {
        {"", "echo 'token expired: run login' >&2; exit 4",
         "exited with status 4: token expired: run login"},
        {"", "kill -9 $$", "was killed by signal 9"},
        {"not json " SECRET, "", "its output"},
        {"{\"Version\": 2, \"AccessKeyId\": \"a\", \"SecretAccessKey\": \"" SECRET "\"}", "",
         "Version is not 1"},
        {"{\"Version\": 1, \"SecretAccessKey\": \"" SECRET "\"}", "", "lacks AccessKeyId"},
        {"{\"Version\": 1, \"AccessKeyId\": \"a\", \"SecretAccessKey\": \"" SECRET
         "\", \"Expiration\": \"soon\"}",
         "", "Expiration is not an ISO 8601 time"},
        {"{\"Version\": 1, \"AccessKeyId\": \"a\", \"SecretAccessKey\": \"" SECRET
         "\", \"SessionToken\": \"" TOKEN "\", \"Expiration\": \"2024-05-01T11:59:59Z\"}",
         "", "the credentials expired at 2024-05-01T11:59:59Z"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        process_profile(&e, cases[i].body, cases[i].extra);
        fake_chain_expect_failure(&e, SM_ERR_CONFIG, cases[i].want);
    }
    fake_home_write(&e.home, ".aws/config", "[default]\ncredential_process = /nonexistent/x a\n",
                    0600);
    fake_chain_expect_failure(&e, SM_ERR_CONFIG,
                              "profile default (credential_process /nonexistent/x): cannot run "
                              "/nonexistent/x: No such file or directory");
    fake_home_write(&e.home, ".aws/config", "[default]\ncredential_process = 'unterminated\n",
                    0600);
    fake_chain_expect_failure(&e, SM_ERR_CONFIG, "unterminated quote");
    fake_chain_stop(&e);
}

/* Credentials that expire before the check's deadline would fail it half way (ExpiredToken):
 * refused at once, saying so; those that outlast it pass. */
SM_TEST(creds_expiring_before_the_deadline_are_refused) {
    struct fake_chain e;
    env_start(&e);
    process_profile(&e,
                    "{\"Version\": 1, \"AccessKeyId\": \"" AKID "\", \"SecretAccessKey\": \"" SECRET
                    "\", \"Expiration\": \"2024-05-01T12:01:00Z\"}",
                    "");
    struct sm_err err, ignored;
    SM_ASSERT_OK(aws_config_settings_from_env(&e.cfg, &ignored), ignored);
    SM_ASSERT_INT_EQ(creds_resolve(&e.cfg, &e.sys, T0 + 120000, e.source, sizeof(e.source), &err),
                     -1);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_CONFIG);
    SM_ASSERT_STR_CONTAINS(err.msg, "profile default: credential_process ");
    SM_ASSERT_STR_CONTAINS(err.msg, ": the credentials expire at 2024-05-01T12:01:00Z, before "
                                    "the check could finish");
    SM_ASSERT_STR_NOT_CONTAINS(err.msg, SECRET);
    aws_config_clean_up(&e.cfg);
    SM_ASSERT_OK(aws_config_settings_from_env(&e.cfg, &ignored), ignored);
    SM_ASSERT_OK(creds_resolve(&e.cfg, &e.sys, T0 + 59000, e.source, sizeof(e.source), &err), err);
    SM_ASSERT_STR_EQ(e.cfg.access_key_id, AKID);
    fake_chain_stop(&e);
}

/* The chain's deadline bounds the program: it is killed, and the chain reports it. */
SM_TEST(creds_process_is_killed_at_the_deadline) {
    struct fake_chain e;
    env_start(&e);
    process_profile(&e, "{}", "exec sleep 30");
    struct sm_err err, ignored;
    SM_ASSERT_OK(aws_config_settings_from_env(&e.cfg, &ignored), ignored);
    SM_ASSERT_INT_EQ(creds_resolve(&e.cfg, &e.sys, T0 + 200, e.source, sizeof(e.source), &err), -1);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_DEADLINE);
    SM_ASSERT_STR_CONTAINS(err.msg, "did not finish before the deadline");
    /* Its output closed, the program running on: still bounded. */
    aws_config_clean_up(&e.cfg);
    process_profile(&e, "{}", "exec >&- 2>&-; exec sleep 30");
    SM_ASSERT_OK(aws_config_settings_from_env(&e.cfg, &ignored), ignored);
    int64_t start = sm_monotonic_ms();
    SM_ASSERT_INT_EQ(creds_resolve(&e.cfg, &e.sys, T0 + 200, e.source, sizeof(e.source), &err), -1);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_DEADLINE);
    SM_ASSERT_STR_CONTAINS(err.msg, "did not finish before the deadline");
    SM_ASSERT(sm_monotonic_ms() - start < 10000);
    fake_chain_stop(&e);
}
