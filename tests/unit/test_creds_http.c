/*
 * The credential chain's network sources (runtime/creds_profile.c's AssumeRole, credentials.c's
 * web identity, creds_http.c's container endpoint and instance metadata, over runtime/sts.c) in
 * process, against a scripted world (tests/fakes/fake_creds.h): what each request carries, what
 * each answer leads to, retries and fall-backs, without a socket or a sleep. The same sources
 * against the faithful local fakes: tests/client/test_credentials.c.
 */
#include "credentials.h"
#include "creds_sources.h"
#include "fakes/fake_creds.h"
#include "harness.h"
#include "mem.h"
#include "sts_testing.h"

#define T0 1714564800000 /* 2024-05-01T12:00:00Z */
#define LATER "2024-05-01T13:00:00Z"
#define AKID "AKIDSOURCE0000000001"
#define SECRET "sourceSecretKey/For+Tests0123456789abcd"
#define ROLE "arn:aws:iam::123456789012:role/rotation-checker"
#define STS_URL "http://sts.test/"
#define IMDS "http://169.254.169.254"
#define ROLE_LIST IMDS "/latest/meta-data/iam/security-credentials/"

/* An STS answer for action with credentials numbered n ("ASIA...n", "secret-n", "token-n"). */
#define STS_ANSWER(action, n, expiration)                                                          \
    "<" action "Response xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><" action "Result>"   \
    "<AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/rotation-checker/s</Arn>"        \
    "<AssumedRoleId>AROA:s</AssumedRoleId></AssumedRoleUser><Credentials>"                         \
    "<AccessKeyId>ASIAASSUMED00000000" #n "</AccessKeyId>"                                         \
    "<SecretAccessKey>assumed-secret-" #n "</SecretAccessKey>"                                     \
    "<SessionToken>assumed-token-" #n "</SessionToken><Expiration>" expiration "</Expiration>"     \
    "</Credentials></" action "Result><ResponseMetadata><RequestId>r</RequestId>"                  \
    "</ResponseMetadata></" action "Response>"

#define METADATA_CREDS(expiration)                                                                 \
    "{\"Code\":\"Success\",\"LastUpdated\":\"2024-05-01T11:00:00Z\",\"Type\":\"AWS-HMAC\","        \
    "\"AccessKeyId\":\"ASIAMETADATA00000001\",\"SecretAccessKey\":\"metadata-secret\","            \
    "\"Token\":\"metadata-token\",\"Expiration\":\"" expiration "\"}"

static const char *const s_secrets[] = {SECRET,
                                        "assumed-secret-1",
                                        "assumed-token-1",
                                        "metadata-secret",
                                        "metadata-token",
                                        "web-identity-jwt",
                                        NULL};

static void env_start(struct fake_chain *e, const struct fake_route *routes, size_t n) {
    fake_chain_start(e, routes, n, T0, s_secrets);
    setenv("AWS_REGION", "eu-west-1", 1);
    setenv("AWS_ENDPOINT_URL_STS", "http://sts.test", 1);
}

#define ENV_START(e, routes) env_start(e, routes, sizeof(routes) / sizeof(routes[0]))

/* ---- STS ------------------------------------------------------------------------------------- */

SM_TEST(sts_reads_credentials_at_their_paths_only) {
    const char *xml = "<AssumeRoleResponse><AssumeRoleResult><Policy><Credentials>"
                      "<AccessKeyId>nested</AccessKeyId></Credentials></Policy>"
                      "<Credentials><AccessKeyId>real</AccessKeyId><Expiration>" LATER
                      "</Expiration></Credentials></AssumeRoleResult></AssumeRoleResponse>";
    struct sts_credentials c;
    struct sm_err err;
    SM_ASSERT_OK(sts_read_credentials(xml, strlen(xml), "AssumeRoleResult", &c, &err), err);
    SM_ASSERT_STR_EQ(c.access_key_id, "real");
    SM_ASSERT_STR_EQ(c.expiration, LATER);
    SM_ASSERT(c.secret_access_key == NULL && c.session_token == NULL);
    sts_credentials_clean_up(&c);
    const char *no_result = "<AssumeRoleResponse><Other/></AssumeRoleResponse>";
    SM_ASSERT_INT_EQ(
        sts_read_credentials(no_result, strlen(no_result), "AssumeRoleResult", &c, &err), -1);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_PROTOCOL);
    sts_credentials_clean_up(&c);
}

/* AssumeRole signed with the source profile's keys, with the profile's parameters; the chain's
 * answer is the role's credentials and says how they were found. */
SM_TEST(creds_assume_role_signs_with_the_source_profile_and_sends_its_parameters) {
    const struct fake_route routes[] = {
        {"POST", STS_URL, 200, STS_ANSWER("AssumeRole", 1, LATER), NULL, 0}};
    struct fake_chain e;
    ENV_START(&e, routes);
    fake_home_write(&e.home, ".aws/credentials",
                    "[base]\naws_access_key_id = " AKID "\naws_secret_access_key = " SECRET "\n",
                    0600);
    fake_home_write(&e.home, ".aws/config",
                    "[profile dev]\nrole_arn = " ROLE "\nsource_profile = base\n"
                    "external_id = ext-1\nduration_seconds = 900\nrole_session_name = op@x\n",
                    0600);
    setenv("AWS_PROFILE", "dev", 1);
    fake_chain_expect(&e, "ASIAASSUMED000000001", "assumed-secret-1", "assumed-token-1");
    SM_ASSERT_STR_CONTAINS(e.source, "profile dev: assume role " ROLE
                                     " with credentials from profile base: static keys in ");
    const struct fake_sent *s = fake_world_last(&e.world, "POST", STS_URL);
    SM_ASSERT_STR_EQ(s->body, "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%"
                              "3A123456789012%3Arole%2Frotation-checker&RoleSessionName=op%40x&"
                              "ExternalId=ext-1&DurationSeconds=900");
    SM_ASSERT_HEADER_PREFIX(s->head, "Authorization",
                            "AWS4-HMAC-SHA256 Credential=" AKID
                            "/20240501/eu-west-1/sts/aws4_request, ");
    SM_ASSERT_STR_NOT_CONTAINS(s->head, "X-Amz-Security-Token");
    /* Without a session name: botocore's default shape, here smrotate-session-<epoch s>; a
     * duration that is no number is left out, as botocore ignores it. */
    fake_home_write(&e.home, ".aws/config",
                    "[profile dev]\nrole_arn = " ROLE "\nsource_profile = base\n"
                    "duration_seconds = 1h\n",
                    0600);
    fake_chain_expect(&e, "ASIAASSUMED000000001", "assumed-secret-1", "assumed-token-1");
    s = fake_world_last(&e.world, "POST", STS_URL);
    SM_ASSERT_STR_CONTAINS(s->body, "&RoleSessionName=smrotate-session-1714564800");
    SM_ASSERT_STR_NOT_CONTAINS(s->body, "DurationSeconds");
    fake_chain_stop(&e);
}

/* The default endpoint is the region's own (sts_regional_endpoints = regional). A
 * credential_source names the source of the role's credentials: instance metadata here. The
 * environment as a source is reachable only when it holds no keys: they would win first (the CLI
 * skips them only for --profile, which bootstrap check has not). */
SM_TEST(creds_assume_role_with_a_credential_source_at_the_regional_endpoint) {
    const struct fake_route routes[] = {
        {"POST", "https://sts.ap-southeast-2.amazonaws.com/", 200,
         STS_ANSWER("AssumeRole", 1, LATER), NULL, 0},
        {"PUT", IMDS "/latest/api/token", 200, "t", NULL, 0},
        {"GET", ROLE_LIST, 200, "r", NULL, 0},
        {"GET", ROLE_LIST "r", 200, METADATA_CREDS(LATER), NULL, 0}};
    struct fake_chain e;
    ENV_START(&e, routes);
    unsetenv("AWS_ENDPOINT_URL_STS");
    unsetenv("AWS_EC2_METADATA_DISABLED");
    setenv("AWS_REGION", "ap-southeast-2", 1);
    setenv("AWS_PROFILE", "ci", 1);
    fake_home_write(&e.home, ".aws/config",
                    "[profile ci]\nrole_arn = " ROLE "\ncredential_source = ec2instancemetadata\n",
                    0600);
    fake_chain_expect(&e, "ASIAASSUMED000000001", "assumed-secret-1", "assumed-token-1");
    SM_ASSERT_STR_EQ(e.source, "profile ci: assume role " ROLE " with credentials from EC2 "
                               "instance metadata (IMDSv2, role r)");
    const struct fake_sent *s =
        fake_world_last(&e.world, "POST", "https://sts.ap-southeast-2.amazonaws.com/");
    SM_ASSERT_HEADER_CONTAINS(s->head, "Authorization",
                              "Credential=ASIAMETADATA00000001/20240501/ap-southeast-2/sts/");
    SM_ASSERT_HEADER_EQ(s->head, "X-Amz-Security-Token", "metadata-token");
    fake_home_write(&e.home, ".aws/config",
                    "[profile ci]\nrole_arn = " ROLE "\ncredential_source = Environment\n", 0600);
    fake_chain_expect_failure(
        &e, SM_ERR_CONFIG,
        "no credentials found in credential_source Environment referenced in profile "
        "ci");
    fake_chain_stop(&e);
}

/* A chain of roles: dev's source is ops, whose source is base; loops are refused. */
SM_TEST(creds_role_chains_follow_source_profiles_and_refuse_loops) {
    const struct fake_route routes[] = {
        {"POST", STS_URL, 200, STS_ANSWER("AssumeRole", 1, LATER), NULL, 1},
        {"POST", STS_URL, 200, STS_ANSWER("AssumeRole", 2, LATER), NULL, 1}};
    struct fake_chain e;
    ENV_START(&e, routes);
    fake_home_write(&e.home, ".aws/config",
                    "[profile dev]\nrole_arn = arn:aws:iam::1:role/dev\nsource_profile = ops\n"
                    "[profile ops]\nrole_arn = arn:aws:iam::1:role/ops\nsource_profile = base\n"
                    "[profile base]\naws_access_key_id = " AKID "\naws_secret_access_key = " SECRET
                    "\n",
                    0600);
    setenv("AWS_PROFILE", "dev", 1);
    fake_chain_expect(&e, "ASIAASSUMED000000002", "assumed-secret-2", "assumed-token-2");
    SM_ASSERT_STR_CONTAINS(e.source,
                           "profile dev: assume role arn:aws:iam::1:role/dev with credentials "
                           "from profile ops: assume role arn:aws:iam::1:role/ops with "
                           "credentials from profile base: static keys in ");
    SM_ASSERT_INT_EQ(e.world.n_sent, 2);
    SM_ASSERT_STR_CONTAINS(e.world.sent[0].body, "role%2Fops");
    SM_ASSERT_HEADER_CONTAINS(e.world.sent[0].head, "Authorization", "Credential=" AKID "/");
    SM_ASSERT_STR_CONTAINS(e.world.sent[1].body, "role%2Fdev");
    SM_ASSERT_HEADER_CONTAINS(e.world.sent[1].head, "Authorization",
                              "Credential=ASIAASSUMED000000001/");
    SM_ASSERT_HEADER_EQ(e.world.sent[1].head, "X-Amz-Security-Token", "assumed-token-1");
    /* ops -> dev -> ops is a loop; a profile may name itself only with keys of its own. */
    fake_home_write(&e.home, ".aws/config",
                    "[profile dev]\nrole_arn = arn:aws:iam::1:role/dev\nsource_profile = ops\n"
                    "[profile ops]\nrole_arn = arn:aws:iam::1:role/ops\nsource_profile = dev\n",
                    0600);
    fake_chain_expect_failure(&e, SM_ERR_CONFIG,
                              "profile ops: source_profile dev makes a loop of profiles");
    fake_home_write(&e.home, ".aws/config",
                    "[profile dev]\nrole_arn = arn:aws:iam::1:role/dev\nsource_profile = dev\n",
                    0600);
    fake_chain_expect_failure(&e, SM_ERR_CONFIG, "profile dev: source_profile dev makes a loop");
    const struct {
        const char *config, *want;
    } bad[] = {
        {"[profile dev]\nrole_arn = r\n", "has role_arn but neither source_profile nor"},
        {"[profile dev]\nrole_arn = r\nsource_profile = a\ncredential_source = Environment\n",
         "has both source_profile and credential_source"},
        {"[profile dev]\nrole_arn = r\nsource_profile = gone\n",
         "the source_profile gone referenced in profile dev does not exist"},
        {"[profile dev]\nrole_arn = r\ncredential_source = Laptop\n",
         "the credential_source Laptop in profile dev is not valid"},
        {"[profile dev]\nrole_arn = r\nsource_profile = empty\n[profile empty]\nregion = x\n",
         "the source profile empty must have credentials"},
        {"[profile dev]\nrole_arn = r\nsource_profile = base\nmfa_serial = arn:mfa\n"
         "[profile base]\naws_access_key_id = a\naws_secret_access_key = b\n",
         "needs an MFA code (mfa_serial)"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        fake_home_write(&e.home, ".aws/config", bad[i].config, 0600);
        fake_chain_expect_failure(&e, SM_ERR_CONFIG, bad[i].want);
    }
    fake_chain_stop(&e);
}

/* STS's refusal keeps its class and code, and says where the credentials came from. */
SM_TEST(creds_assume_role_refused_keeps_the_sts_error) {
    const struct fake_route routes[] = {
        {"POST", STS_URL, 403,
         "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender"
         "</Type><Code>AccessDenied</Code><Message>User: arn:aws:iam::1:user/u is not authorized "
         "to perform: sts:AssumeRole on resource: " ROLE "</Message></Error><RequestId>r"
         "</RequestId></ErrorResponse>",
         NULL, 0}};
    struct fake_chain e;
    ENV_START(&e, routes);
    fake_home_write(&e.home, ".aws/config",
                    "[default]\nrole_arn = " ROLE "\nsource_profile = default\n"
                    "aws_access_key_id = " AKID "\naws_secret_access_key = " SECRET "\n",
                    0600);
    struct sm_err err;
    SM_ASSERT_INT_EQ(fake_chain_resolve(&e, &err), -1);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_AWS_CLIENT);
    SM_ASSERT_STR_EQ(err.aws_type, "AccessDenied");
    SM_ASSERT_STR_CONTAINS(err.msg, "profile default (assume role " ROLE
                                    " with credentials from profile default: static keys in ");
    SM_ASSERT_STR_CONTAINS(err.msg, "AssumeRole on role " ROLE " failed: AccessDenied: User: ");
    SM_ASSERT_STR_CONTAINS(err.msg, "(check the role's trust policy and that the source identity");
    SM_ASSERT_STR_NOT_CONTAINS(err.msg, SECRET);
    SM_ASSERT_INT_EQ(fake_world_count(&e.world, "POST", STS_URL), 1); /* not retried */
    fake_chain_stop(&e);
}

/* ---- web identity ---------------------------------------------------------------------------- */

/* AssumeRoleWithWebIdentity is sent unsigned, with the token file's content; botocore's order
 * puts it before the profile's static keys. */
SM_TEST(creds_web_identity_is_unsigned_and_comes_before_static_keys) {
    const struct fake_route routes[] = {
        {"POST", STS_URL, 200, STS_ANSWER("AssumeRoleWithWebIdentity", 1, LATER), NULL, 0}};
    struct fake_chain e;
    ENV_START(&e, routes);
    char token[1024];
    snprintf(token, sizeof(token), "%s",
             fake_home_write(&e.home, "token", "web-identity-jwt\n", 0600));
    setenv("AWS_WEB_IDENTITY_TOKEN_FILE", token, 1);
    setenv("AWS_ROLE_ARN", ROLE, 1);
    setenv("AWS_ROLE_SESSION_NAME", "ci-run-7", 1);
    fake_home_write(&e.home, ".aws/credentials",
                    "[default]\naws_access_key_id = " AKID "\naws_secret_access_key = " SECRET "\n",
                    0600);
    fake_chain_expect(&e, "ASIAASSUMED000000001", "assumed-secret-1", "assumed-token-1");
    SM_ASSERT_STR_EQ(e.source, "web identity: AssumeRoleWithWebIdentity " ROLE
                               " (token file from AWS_WEB_IDENTITY_TOKEN_FILE)");
    const struct fake_sent *s = fake_world_last(&e.world, "POST", STS_URL);
    SM_ASSERT_STR_EQ(s->body, "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn%3A"
                              "aws%3Aiam%3A%3A123456789012%3Arole%2Frotation-checker&"
                              "RoleSessionName=ci-run-7&WebIdentityToken=web-identity-jwt");
    SM_ASSERT_HEADERS_EQ(s->head,
                         "Host: sts.test\n"
                         "Content-Type: application/x-www-form-urlencoded; charset=utf-8\n");
    /* A token file without a role is an error; so is a token file that cannot be read. */
    unsetenv("AWS_ROLE_ARN");
    fake_chain_expect_failure(
        &e, SM_ERR_CONFIG,
        "web identity: AWS_WEB_IDENTITY_TOKEN_FILE is set but no role: set AWS_ROLE_ARN");
    setenv("AWS_ROLE_ARN", ROLE, 1);
    setenv("AWS_WEB_IDENTITY_TOKEN_FILE", "/nonexistent/token", 1);
    fake_chain_expect_failure(&e, SM_ERR_CONFIG,
                              "cannot open web identity token file /nonexistent/token");
    /* The profile's keys serve too (the variables win over them). */
    unsetenv("AWS_WEB_IDENTITY_TOKEN_FILE");
    unsetenv("AWS_ROLE_ARN");
    unsetenv("AWS_ROLE_SESSION_NAME"); /* each variable wins over its profile key */
    char config[1200];
    snprintf(config, sizeof(config),
             "[profile oidc]\nweb_identity_token_file = %s\nrole_arn = " ROLE "\n", token);
    fake_home_write(&e.home, ".aws/config", config, 0600);
    setenv("AWS_PROFILE", "oidc", 1);
    fake_chain_expect(&e, "ASIAASSUMED000000001", "assumed-secret-1", "assumed-token-1");
    SM_ASSERT_STR_EQ(e.source, "profile oidc: web identity: AssumeRoleWithWebIdentity " ROLE);
    SM_ASSERT_STR_CONTAINS(fake_world_last(&e.world, "POST", STS_URL)->body,
                           "&RoleSessionName=smrotate-session-1714564800&");
    fake_chain_stop(&e);
}

/* Source credentials past their time are refused before AssumeRole (STS would answer
 * ExpiredToken). */
SM_TEST(creds_assume_role_refuses_expired_source_credentials) {
    const struct fake_route routes[] = {
        {"POST", STS_URL, 200, STS_ANSWER("AssumeRole", 1, LATER), NULL, 0},
        {"GET", "http://169.254.170.2/c", 200, METADATA_CREDS("2024-05-01T11:00:00Z"), NULL, 0}};
    struct fake_chain e;
    ENV_START(&e, routes);
    setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/c", 1);
    setenv("AWS_PROFILE", "ecs", 1);
    fake_home_write(&e.home, ".aws/config",
                    "[profile ecs]\nrole_arn = " ROLE "\ncredential_source = EcsContainer\n", 0600);
    fake_chain_expect_failure(&e, SM_ERR_CONFIG,
                              "profile ecs (assume role " ROLE " with credentials from container "
                              "credentials endpoint (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, "
                              "http://169.254.170.2)): the credentials expired at "
                              "2024-05-01T11:00:00Z");
    SM_ASSERT_INT_EQ(fake_world_count(&e.world, "POST", STS_URL), 0);
    fake_chain_stop(&e);
}

/* ---- the container endpoint ------------------------------------------------------------------ */

SM_TEST(creds_container_relative_uri_with_the_token_file) {
    const struct fake_route routes[] = {
        {"GET", "http://169.254.170.2/v2/credentials/abc", 200, METADATA_CREDS(LATER), NULL, 0}};
    struct fake_chain e;
    ENV_START(&e, routes);
    setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc", 1);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://ignored.example/", 1);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "ignored", 1);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
           fake_home_write(&e.home, "pod-token", "pod-identity-token\n", 0600), 1);
    fake_chain_expect(&e, "ASIAMETADATA00000001", "metadata-secret", "metadata-token");
    SM_ASSERT_STR_EQ(e.source, "container credentials endpoint "
                               "(AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, http://169.254.170.2)");
    const struct fake_sent *s =
        fake_world_last(&e.world, "GET", "http://169.254.170.2/v2/credentials/abc");
    SM_ASSERT_HEADERS_EQ(s->head, "Accept: application/json\nAuthorization: pod-identity-token\n");
    SM_ASSERT(s->proxy == NULL);
    SM_ASSERT_INT_EQ(s->timeout_ms, 2000);
    fake_chain_stop(&e);
}

/* FULL_URI: http only to loopback or the ECS/EKS hosts, https anywhere (botocore's rule). */
SM_TEST(creds_container_full_uri_hosts_follow_the_sdks) {
    const struct fake_route routes[] = {
        {"GET", "http://127.0.0.2:8080/creds", 200, METADATA_CREDS(LATER), NULL, 0},
        {"GET", "http://169.254.170.23/v1/credentials", 200, METADATA_CREDS(LATER), NULL, 0},
        {"GET", "https://creds.example/x", 200, METADATA_CREDS(LATER), NULL, 0},
        {"GET", "http://[::1]:9/c", 200, METADATA_CREDS(LATER), NULL, 0}};
    struct fake_chain e;
    ENV_START(&e, routes);
    const char *good[] = {"http://127.0.0.2:8080/creds", "http://169.254.170.23/v1/credentials",
                          "https://creds.example/x", "http://[::1]:9/c"};
    for (size_t i = 0; i < 4; i++) {
        setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", good[i], 1);
        fake_chain_expect(&e, "ASIAMETADATA00000001", "metadata-secret", "metadata-token");
    }
    const char *bad[] = {"http://creds.example/x", "http://10.0.0.1/c", "http://169.254.170.3/"};
    for (size_t i = 0; i < 3; i++) {
        setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", bad[i], 1);
        fake_chain_expect_failure(&e, SM_ERR_CONFIG, "is not allowed: only to a loopback address");
    }
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.2:8080/creds", 1);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "a\r\nX-Injected: 1", 1);
    fake_chain_expect_failure(&e, SM_ERR_CONFIG,
                              "the container authorization token holds a line break");
    fake_chain_stop(&e);
}

/* Three attempts a second apart (ContainerMetadataFetcher), then the last error. */
SM_TEST(creds_container_retries_then_reports_the_answer) {
    const struct fake_route routes[] = {
        {"GET", "http://127.0.0.1:1/c", 0, NULL, SM_ERR_TRANSPORT, 1},
        {"GET", "http://127.0.0.1:1/c", 200, "not json", NULL, 1},
        {"GET", "http://127.0.0.1:1/c", 401, "{\"message\":\"bad token\"}", NULL, 1},
        {"GET", "http://127.0.0.1:1/c", 200, METADATA_CREDS(LATER), NULL, 0}};
    struct fake_chain e;
    ENV_START(&e, routes);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:1/c", 1);
    fake_chain_expect_failure(&e, SM_ERR_AWS_AUTH,
                              "container credentials endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI, "
                              "127.0.0.1:1): HTTP 401: {\"message\":\"bad token\"}");
    SM_ASSERT_INT_EQ(e.world.n_sent, 3);
    SM_ASSERT_INT_EQ(e.world.slept_ms, 2000);
    fake_chain_expect(&e, "ASIAMETADATA00000001", "metadata-secret", "metadata-token"); /* 4th */
    fake_chain_stop(&e);
}

/* A request that runs out of its own 2 s is retried like any transport failure (botocore's
 * ReadTimeout): only the chain's deadline stops the attempts. */
SM_TEST(creds_container_retries_after_a_request_timeout) {
    const struct fake_route routes[] = {
        {"GET", "http://127.0.0.1:1/c", 0, NULL, SM_ERR_DEADLINE, 1},
        {"GET", "http://127.0.0.1:1/c", 200, METADATA_CREDS(LATER), NULL, 0}};
    struct fake_chain e;
    ENV_START(&e, routes);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:1/c", 1);
    fake_chain_expect(&e, "ASIAMETADATA00000001", "metadata-secret", "metadata-token");
    SM_ASSERT_INT_EQ(e.world.n_sent, 2);
    SM_ASSERT_INT_EQ(e.world.slept_ms, 1000);
    fake_chain_stop(&e);
}

/* ---- instance metadata ----------------------------------------------------------------------- */

SM_TEST(creds_imds_v2_token_then_role_then_credentials) {
    const struct fake_route routes[] = {
        {"PUT", IMDS "/latest/api/token", 200, "imds-token-value", NULL, 0},
        {"GET", ROLE_LIST, 200, "rotation-checker\nsecond-line", NULL, 0},
        {"GET", ROLE_LIST "rotation-checker", 200, METADATA_CREDS(LATER), NULL, 0}};
    struct fake_chain e;
    ENV_START(&e, routes);
    unsetenv("AWS_EC2_METADATA_DISABLED");
    fake_chain_expect(&e, "ASIAMETADATA00000001", "metadata-secret", "metadata-token");
    SM_ASSERT_STR_EQ(e.source, "EC2 instance metadata (IMDSv2, role rotation-checker)");
    SM_ASSERT_INT_EQ(e.world.n_sent, 3);
    SM_ASSERT_HEADERS_EQ(e.world.sent[0].head, "X-aws-ec2-metadata-token-ttl-seconds: 21600\n");
    SM_ASSERT_HEADERS_EQ(e.world.sent[1].head, "X-aws-ec2-metadata-token: imds-token-value\n");
    SM_ASSERT_HEADERS_EQ(e.world.sent[2].head, "X-aws-ec2-metadata-token: imds-token-value\n");
    SM_ASSERT_INT_EQ(e.world.sent[0].timeout_ms, 1000);
    SM_ASSERT(e.world.sent[0].proxy == NULL);
    /* The endpoint and the timeout as botocore reads them. */
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://169.254.169.254/", 1);
    setenv("AWS_METADATA_SERVICE_TIMEOUT", "3", 1);
    fake_chain_expect(&e, "ASIAMETADATA00000001", "metadata-secret", "metadata-token");
    SM_ASSERT_INT_EQ(e.world.sent[e.world.n_sent - 1].timeout_ms, 3000);
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "metadata.internal", 1);
    fake_chain_expect_failure(&e, SM_ERR_CONFIG,
                              "AWS_EC2_METADATA_SERVICE_ENDPOINT is not a usable");
    unsetenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "IPv5", 1);
    fake_chain_expect_failure(&e, SM_ERR_CONFIG, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE must be");
    fake_chain_stop(&e);
}

/* IMDSv2 off (403) or its answer lost to the hop limit (a timeout): botocore asks IMDSv1, unless
 * AWS_EC2_METADATA_V1_DISABLED. Credentials past their time are used (static stability). */
SM_TEST(creds_imds_falls_back_to_v1_where_botocore_does) {
    const struct fake_route routes[] = {
        {"PUT", "http://[fd00:ec2::254]/latest/api/token", 403, "", NULL, 1},
        {"PUT", "http://[fd00:ec2::254]/latest/api/token", 0, NULL, SM_ERR_DEADLINE, 0},
        {"GET", "http://[fd00:ec2::254]/latest/meta-data/iam/security-credentials/", 200, "r", NULL,
         0},
        {"GET", "http://[fd00:ec2::254]/latest/meta-data/iam/security-credentials/r", 200,
         METADATA_CREDS("2024-05-01T11:00:00Z"), NULL, 0}};
    struct fake_chain e;
    ENV_START(&e, routes);
    unsetenv("AWS_EC2_METADATA_DISABLED");
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "IPv6", 1);
    fake_chain_expect(&e, "ASIAMETADATA00000001", "metadata-secret", "metadata-token");
    SM_ASSERT_STR_EQ(e.source,
                     "EC2 instance metadata (IMDSv1, role r, expired at 2024-05-01T11:00:00Z)");
    SM_ASSERT_HEADERS_EQ(e.world.sent[1].head, "");
    fake_chain_expect(&e, "ASIAMETADATA00000001", "metadata-secret", "metadata-token");
    setenv("AWS_EC2_METADATA_V1_DISABLED", "true", 1);
    fake_chain_expect_failure(
        &e, SM_ERR_CONFIG,
        "instance metadata: no IMDSv2 token, and AWS_EC2_METADATA_V1_DISABLED is true");
    fake_chain_stop(&e);
}

/* No instance metadata (refused connection), no role, an error answer: no credentials, and the
 * message says why; nothing is retried past botocore's one attempt. */
SM_TEST(creds_imds_that_cannot_help_means_no_credentials) {
    const struct fake_route routes[] = {
        {"PUT", IMDS "/latest/api/token", 0, NULL, SM_ERR_TRANSPORT, 1},
        {"PUT", IMDS "/latest/api/token", 200, "t", NULL, 0},
        {"GET", ROLE_LIST, 404, "", NULL, 1},
        {"GET", ROLE_LIST, 200, "r", NULL, 0},
        {"GET", ROLE_LIST "r", 200,
         "{\"Code\":\"AssumeRoleUnauthorizedAccess\",\"Message\":\"EC2 cannot assume the role\"}",
         NULL, 0}};
    struct fake_chain e;
    ENV_START(&e, routes);
    unsetenv("AWS_EC2_METADATA_DISABLED");
    fake_chain_expect_failure(&e, SM_ERR_CONFIG,
                              "instance metadata: no answer: PUT " IMDS "/latest/api/"
                              "token failed: scripted");
    SM_ASSERT_INT_EQ(e.world.n_sent, 1); /* IMDSv1 at the same address is not tried */
    fake_chain_expect_failure(&e, SM_ERR_CONFIG,
                              "instance metadata: GET /latest/meta-data/iam/security-"
                              "credentials/ answered HTTP 404 (no IAM role is attached");
    fake_chain_expect_failure(&e, SM_ERR_CONFIG,
                              "instance metadata: role r: no credentials in the answer: "
                              "AssumeRoleUnauthorizedAccess: EC2 cannot assume the role");
    fake_chain_stop(&e);
}
