/*
 * The AWS client layer (runtime/aws.c) in process. A scripted system (aws.h's seam: transport,
 * clock, randomness) stands in for the world, so signing, retries, backoff, deadlines and error
 * classification are checked exactly and without sleeping; Secrets Manager's answers are read
 * through it too. The wire protocol against the faithful fakes is in tests/client/.
 */
#include "aws_testing.h"
#include "harness.h"
#include "http_testing.h"
#include "json.h"
#include "log.h"
#include "mem.h"
#include "secretsmanager_testing.h"

#include <cjson/cJSON.h>
#include <stdbool.h>

#define AKID "AKIDFAKETESTKEY00001"
#define SECRET_KEY "fakeSecretKey/For+Tests0123456789abcdefg"
#define T0 1440938160000 /* 2015-08-30T12:36:00Z */
#define TOKEN_A "11111111-2222-4333-8444-555555555555"
#define TOKEN_B "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
#define MAX_SENT 16

/* One scripted exchange. */
struct answer {
    long status;                /* with fail NULL: the answer's status */
    const struct sm_code *fail; /* what http_perform reports instead of an answer, or NULL */
    const char *header;         /* one raw header line ("Name: value"), or NULL */
    const char *body;           /* NULL: empty */
    int64_t takes_ms;           /* past the attempt's timeout it ends as http_perform's timeout */
};

struct sent {
    char url[256];
    char head[4096]; /* the header lines, each ended by '\n' */
    char body[1024];
    long timeout_ms, connect_timeout_ms;
    const char *proxy, *no_proxy, *ca_file;
};

/* Answers are used in order, the last one again once they run out; so are draws (0.5 when
 * none). The clock moves only by what exchanges take and what the client sleeps. */
struct world {
    const struct answer *answers;
    size_t n_answers, next;
    const double *draws;
    size_t n_draws, next_draw;
    int64_t now;
    struct sent sent[MAX_SENT];
    size_t n_sent;
    int64_t slept[MAX_SENT];
    size_t n_slept;
};

static int world_perform(void *impl, const struct http_request *req, struct http_response *resp,
                         struct sm_err *err) {
    struct world *w = impl;
    SM_ASSERT(w->n_sent < MAX_SENT && w->n_answers > 0);
    struct sent *s = &w->sent[w->n_sent++];
    snprintf(s->url, sizeof(s->url), "%s", req->url);
    size_t off = 0;
    for (size_t i = 0; i < req->n_headers; i++) {
        off += (size_t)snprintf(s->head + off, sizeof(s->head) - off, "%s\n", req->headers[i]);
    }
    snprintf(s->body, sizeof(s->body), "%.*s", (int)req->body_len, (const char *)req->body);
    s->timeout_ms = req->timeout_ms;
    s->connect_timeout_ms = req->connect_timeout_ms;
    s->proxy = req->proxy;
    s->no_proxy = req->no_proxy;
    s->ca_file = req->ca_file;

    const struct answer *a = &w->answers[w->next < w->n_answers ? w->next++ : w->n_answers - 1];
    resp->status = 0;
    sm_buf_reset(&resp->body);
    sm_buf_reset(&resp->headers);
    if (req->timeout_ms > 0 && a->takes_ms > req->timeout_ms) {
        w->now += req->timeout_ms;
        return sm_err_set(err, SM_ERR_DEADLINE, "POST %s failed: timed out", req->url);
    }
    w->now += a->takes_ms;
    if (a->fail != NULL) {
        return sm_err_set(err, a->fail, "POST %s failed: scripted", req->url);
    }
    resp->status = a->status;
    if ((a->header != NULL &&
         http_response_add_header_line(resp, a->header, strlen(a->header), err) != 0) ||
        (a->body != NULL && sm_buf_append_str(&resp->body, a->body, err) != 0)) {
        return -1;
    }
    return sm_buf_ensure(&resp->body, err);
}

static int64_t world_now_ms(void *impl) {
    return ((struct world *)impl)->now;
}

static void world_sleep_ms(void *impl, int64_t ms) {
    struct world *w = impl;
    SM_ASSERT(w->n_slept < MAX_SENT);
    w->slept[w->n_slept++] = ms;
    w->now += ms;
}

static double world_random01(void *impl) {
    struct world *w = impl;
    if (w->n_draws == 0) {
        return 0.5;
    }
    return w->draws[w->next_draw < w->n_draws ? w->next_draw++ : w->n_draws - 1];
}

static const struct aws_system_ops s_world = {world_perform, world_now_ms, world_sleep_ms,
                                              world_random01};

struct fixture {
    struct aws_config cfg;
    struct aws_client c;
    struct world w;
};

/* A Secrets Manager client at endpoint in the scripted world (3 attempts, 3 s / 10 s). */
static void start(struct fixture *f, const char *endpoint, const struct answer *answers,
                  size_t n_answers) {
    struct sm_err err;
    memset(f, 0, sizeof(*f));
    f->cfg.region = sm_strdup("us-east-1");
    f->cfg.access_key_id = sm_strdup(AKID);
    f->cfg.secret_access_key = sm_strdup(SECRET_KEY);
    f->cfg.connect_timeout_ms = 3000;
    f->cfg.attempt_timeout_ms = 10000;
    f->cfg.max_attempts = 3;
    SM_ASSERT_OK(secrets_client_init(&f->c, &f->cfg, endpoint, NULL, &err), err);
    f->c.system = (struct aws_system){&s_world, &f->w};
    f->w.answers = answers;
    f->w.n_answers = n_answers;
    f->w.now = T0;
}

#define START(f, answers)                                                                          \
    start(f, "http://127.0.0.1:8080", answers, sizeof(answers) / sizeof(answers[0]))

static void draws(struct fixture *f, const double *d, size_t n) {
    f->w.draws = d;
    f->w.n_draws = n;
}

static int get_value(struct fixture *f, int64_t deadline_ms, struct sm_err *err) {
    struct secrets_value v;
    int rc = secrets_get_secret_value(&f->c, "s", NULL, NULL, deadline_ms, &v, err);
    secrets_value_clean_up(&v);
    return rc;
}

static void assert_slept(const struct fixture *f, const int64_t *want, size_t n) {
    SM_ASSERT_INT_EQ(f->w.n_slept, n);
    for (size_t i = 0; i < n; i++) {
        SM_ASSERT_INT_EQ(f->w.slept[i], want[i]);
    }
}

static const struct answer THROTTLED = {
    400, NULL, NULL, "{\"__type\":\"ThrottlingException\",\"message\":\"Rate exceeded\"}", 0};
static const struct answer SERVER_ERROR = {
    500, NULL, NULL, "{\"__type\":\"InternalServiceError\",\"Message\":\"oops\"}", 0};
static const struct answer VALUE = {200, NULL, NULL, "{\"SecretString\":\"value\"}", 0};

/* ------------------------------------------------------------------------------------------ */
/* Requests                                                                                     */

/* Every attempt is signed at the system's time; the signature is the one tests/fakes/sigv4.py
 * computes for the same request. */
SM_TEST(aws_request_is_signed_at_the_system_time_and_sent_as_built) {
    const struct answer answers[] = {{200, NULL, NULL, "{\"ARN\":\"a\"}", 0}};
    struct fixture f;
    START(&f, answers);
    f.cfg.session_token = sm_strdup("the-session-token");
    f.cfg.http_proxy = sm_strdup("http://proxy:3128");
    f.cfg.https_proxy = sm_strdup("http://tunnel:3128");
    f.cfg.no_proxy = sm_strdup("localhost");
    f.cfg.ca_file = sm_strdup("/ca.pem");
    struct sm_err err;
    struct secrets_description d;
    SM_ASSERT_OK(secrets_describe_secret(&f.c, "my/secret", 0, &d, &err), err);
    SM_ASSERT_STR_EQ(d.arn, "a");
    secrets_description_clean_up(&d);
    const struct sent *s = &f.w.sent[0];
    SM_ASSERT_STR_EQ(s->url, "http://127.0.0.1:8080/");
    SM_ASSERT_HEADERS_EQ(s->head,
                         "Host: 127.0.0.1:8080\n"
                         "Content-Type: application/x-amz-json-1.1\n"
                         "X-Amz-Date: 20150830T123600Z\n"
                         "Authorization: AWS4-HMAC-SHA256 Credential=" AKID "/20150830/us-east-1/"
                         "secretsmanager/aws4_request, SignedHeaders=content-type;host;x-amz-date;"
                         "x-amz-security-token;x-amz-target, Signature="
                         "1ab3291452d2f43cfaaadf9f429289fe75a70742a2f51b68ffd1113ede6a417d\n"
                         "X-Amz-Target: secretsmanager.DescribeSecret\n"
                         "X-Amz-Security-Token: the-session-token\n");
    SM_ASSERT_STR_EQ(s->body, "{\"SecretId\":\"my/secret\"}");
    SM_ASSERT_INT_EQ(s->timeout_ms, 10000);
    SM_ASSERT_INT_EQ(s->connect_timeout_ms, 3000);
    SM_ASSERT_STR_EQ(s->proxy, "http://proxy:3128"); /* the proxy of the endpoint's scheme */
    SM_ASSERT_STR_EQ(s->no_proxy, "localhost");
    SM_ASSERT_STR_EQ(s->ca_file, "/ca.pem");
    SM_ASSERT_INT_EQ(f.c.calls, 1);

    /* An https endpoint goes through the HTTPS proxy; a near deadline caps both timeouts. */
    SM_ASSERT_OK(
        aws_endpoint_parse("https://secretsmanager.us-east-1.amazonaws.com", &f.c.endpoint, &err),
        err);
    SM_ASSERT_OK(secrets_describe_secret(&f.c, "my/secret", T0 + 2000, &d, &err), err);
    secrets_description_clean_up(&d);
    s = &f.w.sent[1];
    SM_ASSERT_STR_EQ(s->url, "https://secretsmanager.us-east-1.amazonaws.com/");
    SM_ASSERT_HEADER_EQ(s->head, "Host", "secretsmanager.us-east-1.amazonaws.com");
    SM_ASSERT_STR_EQ(s->proxy, "http://tunnel:3128");
    SM_ASSERT_INT_EQ(s->timeout_ms, 2000);
    SM_ASSERT_INT_EQ(s->connect_timeout_ms, 2000);
    aws_config_clean_up(&f.cfg);
}

/* Inside Lambda the trace id travels with every call, percent-encoded as botocore does it and
 * outside the signature; outside Lambda (no function name) it does not. */
SM_TEST(aws_trace_id_is_sent_unsigned_inside_lambda) {
    const struct answer answers[] = {{200, NULL, NULL, "{\"ARN\":\"a\"}", 0}};
    struct fixture f;
    START(&f, answers);
    setenv("_X_AMZN_TRACE_ID",
           "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;"
           "Sampled=1;Lineage=a87bd80c:0|x y\xc3\xa9",
           1);
    struct sm_err err;
    struct secrets_description d;
    SM_ASSERT_OK(secrets_describe_secret(&f.c, "my/secret", 0, &d, &err), err);
    secrets_description_clean_up(&d);
    SM_ASSERT_STR_NOT_CONTAINS(f.w.sent[0].head, "X-Amzn-Trace-Id");
    setenv("AWS_LAMBDA_FUNCTION_NAME", "smrotate", 1);
    SM_ASSERT_OK(secrets_describe_secret(&f.c, "my/secret", 0, &d, &err), err);
    secrets_description_clean_up(&d);
    SM_ASSERT_HEADER_EQ(f.w.sent[1].head, "X-Amzn-Trace-Id",
                        "Root=1-5759e988-bd862e3fe1be46a994272793;"
                        "Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a87bd80c:0%7Cx%20y%C3%A9");
    SM_ASSERT_HEADER_CONTAINS(f.w.sent[1].head, "Authorization",
                              "SignedHeaders=content-type;host;x-amz-date;"
                              "x-amz-target, ");
    unsetenv("_X_AMZN_TRACE_ID");
    unsetenv("AWS_LAMBDA_FUNCTION_NAME");
    aws_config_clean_up(&f.cfg);
}

/* ------------------------------------------------------------------------------------------ */
/* Retries and backoff                                                                          */

/* Full jitter: rand * min(2^(attempt-1), 20) s before the next attempt, one draw per retry. */
SM_TEST(aws_throttling_is_retried_with_full_jitter_backoff) {
    const struct answer answers[] = {THROTTLED, THROTTLED, VALUE};
    struct fixture f;
    START(&f, answers);
    struct sm_err err;
    SM_ASSERT_OK(get_value(&f, T0 + 60000, &err), err);
    const int64_t want[] = {500, 1000};
    assert_slept(&f, want, 2);
    SM_ASSERT_INT_EQ(f.c.calls, 3);
    SM_ASSERT_INT_EQ(f.w.now, T0 + 1500);
    aws_config_clean_up(&f.cfg);
}

SM_TEST(aws_backoff_doubles_up_to_20_seconds_and_gives_up_after_max_attempts) {
    const struct answer answers[] = {SERVER_ERROR};
    struct fixture f;
    START(&f, answers);
    f.cfg.max_attempts = 8;
    struct sm_err err;
    SM_ASSERT_INT_EQ(get_value(&f, 0, &err), -1);
    const int64_t want[] = {500, 1000, 2000, 4000, 8000, 10000, 10000};
    assert_slept(&f, want, 7);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_AWS_SERVER);
    SM_ASSERT_INT_EQ(err.http_status, 500);
    SM_ASSERT_STR_EQ(err.msg, "GetSecretValue on secret s failed: InternalServiceError: oops "
                              "(after 8 attempts)");
    SM_ASSERT_INT_EQ(f.c.calls, 8);
    /* A draw out of [0,1) is clamped into it. */
    const double odd[] = {1.5, -1.0};
    draws(&f, odd, 2);
    f.cfg.max_attempts = 3;
    f.w.n_slept = 0;
    SM_ASSERT_INT_EQ(get_value(&f, 0, &err), -1);
    const int64_t clamped[] = {999, 0};
    assert_slept(&f, clamped, 2);
    aws_config_clean_up(&f.cfg);
}

/* The retry decision is the catalogue's transient column: every recorded Secrets Manager error
 * is retried exactly when the SDKs' standard mode retries it. */
SM_TEST(aws_every_recorded_error_is_retried_as_the_sdks_do) {
    size_t len = 0;
    char *text = sm_test_read_file(sm_test_path("data/secretsmanager/errors/index.json"), &len);
    cJSON *index = cJSON_ParseWithLength(text, len);
    SM_ASSERT(index != NULL);
    const cJSON *e;
    int n = 0;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(index, "errors")) {
        const char *code = sm_json_string(e, "code");
        long status = (long)cJSON_GetObjectItemCaseSensitive(e, "http_status")->valuedouble;
        bool retried =
            cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "retryable_in_sdk_standard_mode"));
        char path[512];
        snprintf(path, sizeof(path), "data/secretsmanager/errors/%s", sm_json_string(e, "file"));
        char *body = sm_test_read_file(sm_test_path(path), NULL);
        cJSON *doc = cJSON_Parse(body);
        const char *message = sm_json_string(doc, "Message");
        message = message != NULL ? message : sm_json_string(doc, "message");
        const struct answer answers[] = {{status, NULL, NULL, body, 0}};
        struct fixture f;
        START(&f, answers);
        f.cfg.max_attempts = 2;
        struct sm_err err;
        SM_ASSERT_INT_EQ(get_value(&f, 0, &err), -1);
        if (f.c.calls != (retried ? 2u : 1u) || sm_code_is_transient(err.code) != retried) {
            SM_FAIL("%s: %d attempts, class %s; want %s", code, (int)f.c.calls,
                    sm_code_name(err.code), retried ? "retried" : "not retried");
        }
        SM_ASSERT_STR_EQ(err.aws_type, code);
        SM_ASSERT_INT_EQ(err.http_status, status);
        char want[1200];
        snprintf(want, sizeof(want), "GetSecretValue on secret s failed: %s: %s%s", code, message,
                 retried ? " (after 2 attempts)" : "");
        SM_ASSERT_STR_EQ(err.msg, want);
        aws_config_clean_up(&f.cfg);
        cJSON_Delete(doc);
        free(body);
        n++;
    }
    SM_ASSERT_INT_EQ(n, 26);
    cJSON_Delete(index);
    free(text);
}

/* A lost connection and an attempt's own timeout are transient; what fails on our side is not. */
SM_TEST(aws_transport_failures_are_retried_and_local_ones_are_not) {
    const struct answer lost[] = {{0, SM_ERR_TRANSPORT, NULL, NULL, 0}, VALUE};
    const struct answer slow[] = {{0, NULL, NULL, NULL, 20000}, VALUE};
    const struct answer always_slow[] = {{0, NULL, NULL, NULL, 20000}};
    const struct answer nomem[] = {{0, SM_ERR_NOMEM, NULL, NULL, 0}};
    struct fixture f;
    struct sm_err err;
    START(&f, lost);
    SM_ASSERT_OK(get_value(&f, 0, &err), err);
    SM_ASSERT_INT_EQ(f.c.calls, 2);
    aws_config_clean_up(&f.cfg);

    START(&f, slow);
    f.cfg.attempt_timeout_ms = 3000;
    SM_ASSERT_OK(get_value(&f, T0 + 60000, &err), err);
    SM_ASSERT_INT_EQ(f.w.sent[0].timeout_ms, 3000);
    SM_ASSERT_INT_EQ(f.c.calls, 2);
    aws_config_clean_up(&f.cfg);

    START(&f, always_slow);
    f.cfg.max_attempts = 2;
    SM_ASSERT_INT_EQ(get_value(&f, T0 + 60000, &err), -1);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_TRANSPORT);
    SM_ASSERT_STR_EQ(err.msg, "GetSecretValue on secret s failed: POST http://127.0.0.1:8080/ "
                              "failed: timed out (after 2 attempts)");
    aws_config_clean_up(&f.cfg);

    START(&f, nomem);
    SM_ASSERT_INT_EQ(get_value(&f, 0, &err), -1);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_NOMEM);
    SM_ASSERT_INT_EQ(f.c.calls, 1);
    aws_config_clean_up(&f.cfg);

    /* An answer past AWS_LIMIT_RESPONSE is the service's fault, not a reason to retry. */
    char *big = malloc(AWS_LIMIT_RESPONSE + 2);
    SM_ASSERT(big != NULL);
    memset(big, ' ', AWS_LIMIT_RESPONSE + 1);
    big[AWS_LIMIT_RESPONSE + 1] = '\0';
    const struct answer too_large[] = {{200, NULL, NULL, big, 0}};
    START(&f, too_large);
    SM_ASSERT_INT_EQ(get_value(&f, 0, &err), -1);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_PROTOCOL);
    SM_ASSERT_INT_EQ(f.c.calls, 1);
    aws_config_clean_up(&f.cfg);
    free(big);
}

/* ------------------------------------------------------------------------------------------ */
/* The invocation deadline                                                                      */

/* The attempt's timeout is the time left, so the attempt ends at the deadline, not after. */
SM_TEST(aws_deadline_caps_a_slow_attempt) {
    const struct answer answers[] = {{0, NULL, NULL, NULL, 8000}};
    struct fixture f;
    START(&f, answers);
    struct sm_err err;
    SM_ASSERT_INT_EQ(get_value(&f, T0 + 3000, &err), -1);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_DEADLINE);
    SM_ASSERT_STR_EQ(err.msg, "GetSecretValue on secret s failed: the invocation deadline was "
                              "reached during attempt 1");
    SM_ASSERT_INT_EQ(f.w.sent[0].timeout_ms, 3000);
    SM_ASSERT_INT_EQ(f.c.calls, 1);
    SM_ASSERT_INT_EQ(f.w.now, T0 + 3000);
    aws_config_clean_up(&f.cfg);
}

/* When the next delay would reach the deadline, the last error is returned at once with a note:
 * five retries at once, then 0.75 of the 20 s cap of attempt 6 is 15 s, past 10 s. */
SM_TEST(aws_deadline_shorter_than_the_backoff_cuts_retries_short) {
    const struct answer answers[] = {THROTTLED};
    const double seq[] = {0, 0, 0, 0, 0, 0.75};
    struct fixture f;
    START(&f, answers);
    draws(&f, seq, 6);
    f.cfg.max_attempts = 10;
    struct sm_err err;
    SM_ASSERT_INT_EQ(get_value(&f, T0 + 10000, &err), -1);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_AWS_THROTTLED);
    SM_ASSERT_STR_EQ(err.msg, "GetSecretValue on secret s failed: ThrottlingException: Rate "
                              "exceeded (retries cut short by the invocation deadline after 6 "
                              "attempts: 10000 ms left, next retry due in 15000 ms)");
    SM_ASSERT_INT_EQ(f.c.calls, 6);
    SM_ASSERT_INT_EQ(f.w.now, T0); /* nothing slept past a zero delay */
    aws_config_clean_up(&f.cfg);
}

SM_TEST(aws_expired_deadline_sends_nothing) {
    const struct answer answers[] = {VALUE};
    struct fixture f;
    START(&f, answers);
    struct sm_err err;
    SM_ASSERT_INT_EQ(get_value(&f, T0 - 1, &err), -1);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_DEADLINE);
    SM_ASSERT_STR_EQ(err.msg,
                     "GetSecretValue on secret s not sent: the invocation deadline has passed");
    SM_ASSERT_INT_EQ(f.w.n_sent, 0);
    aws_config_clean_up(&f.cfg);
}

/* ------------------------------------------------------------------------------------------ */
/* Error answers                                                                                */

struct error_case {
    long status;
    const char *header;
    const char *body;
    const struct sm_code *cls;
    const char *type;
    const char *msg; /* after "GetSecretValue on secret s failed: " */
};

/* The code from the body, else the x-amzn-ErrorType header (moto's shape), else the status;
 * a known code decides over the status. */
static const struct error_case s_errors[] = {
    {404, "x-amzn-ErrorType: ResourceNotFoundException:http://internal.amazon.com/coral/",
     "{\"message\":\"gone\"}", SM_ERR_AWS_CLIENT, "ResourceNotFoundException",
     "ResourceNotFoundException: gone"},
    {400, "x-amzn-ErrorType: HeaderType",
     "{\"__type\":\"AccessDeniedException\",\"Message\":\"m\"}", SM_ERR_AWS_CLIENT,
     "AccessDeniedException", "AccessDeniedException: m"},
    {400, NULL,
     "{\"__type\":\"com.amazonaws.secretsmanager.v2017#InvalidRequestException:http://x/\","
     "\"Message\":\"m1\",\"message\":\"m2\"}",
     SM_ERR_AWS_CLIENT, "InvalidRequestException", "InvalidRequestException: m2"},
    {400, NULL, "{\"__type\":\"ns#UnrecognizedClientException\",\"message\":\"bad token\"}",
     SM_ERR_AWS_AUTH, "UnrecognizedClientException", "UnrecognizedClientException: bad token"},
    {400, NULL, "{\"__type\":\"LimitExceededException\",\"Message\":\"q\"}", SM_ERR_AWS_THROTTLED,
     "LimitExceededException", "LimitExceededException: q"},
    {400, NULL, "{\"__type\":\"TooManyRequestsException\"}", SM_ERR_AWS_THROTTLED,
     "TooManyRequestsException", "TooManyRequestsException: (no message)"},
    {503, NULL, "{\"__type\":\"ServiceUnavailable\",\"message\":\"x\"}", SM_ERR_AWS_SERVER,
     "ServiceUnavailable", "ServiceUnavailable: x"},
    {500, NULL, "{\"__type\":\"SomethingNew\",\"message\":\"x\"}", SM_ERR_AWS_SERVER,
     "SomethingNew", "SomethingNew: x"},
    {429, NULL, "{\"__type\":\"SomethingNew\",\"message\":\"x\"}", SM_ERR_AWS_CLIENT,
     "SomethingNew", "SomethingNew: x"},
    {400, NULL, "{\"__type\":\"X\",\"Message\":\"line1\\nline2\"}", SM_ERR_AWS_CLIENT, "X",
     "X: line1 line2"},
    {502, NULL, "<html>Bad Gateway</html>", SM_ERR_AWS_SERVER, "", "HTTP 502"},
    {429, NULL, NULL, SM_ERR_AWS_THROTTLED, "", "HTTP 429"},
    {403, NULL, NULL, SM_ERR_AWS_AUTH, "", "HTTP 403"},
    {401, NULL, "[\"__type\",\"X\"]", SM_ERR_AWS_AUTH, "", "HTTP 401"},
    {404, NULL, NULL, SM_ERR_AWS_CLIENT, "", "HTTP 404"},
    {400, NULL, "{\"message\":\"went wrong\"}", SM_ERR_AWS_CLIENT, "", "HTTP 400: went wrong"},
};

SM_TEST(aws_error_answers_are_read_and_classified_by_one_table) {
    for (size_t i = 0; i < sizeof(s_errors) / sizeof(s_errors[0]); i++) {
        const struct error_case *c = &s_errors[i];
        const struct answer answers[] = {{c->status, NULL, c->header, c->body, 0}};
        struct fixture f;
        START(&f, answers);
        f.cfg.max_attempts = 1;
        struct sm_err err;
        SM_ASSERT_INT_EQ(get_value(&f, 0, &err), -1);
        char want[600];
        snprintf(want, sizeof(want), "GetSecretValue on secret s failed: %s", c->msg);
        SM_ASSERT_STR_EQ(err.msg, want);
        SM_ASSERT_CODE_EQ(err.code, c->cls);
        SM_ASSERT_STR_EQ(err.aws_type, c->type);
        SM_ASSERT_STR_EQ(sm_err_type(&err), c->type[0] != '\0' ? c->type : sm_code_name(c->cls));
        SM_ASSERT_INT_EQ(err.http_status, c->status);
        aws_config_clean_up(&f.cfg);
    }
    struct aws_error_fields fields = {"ThrottlingException", "m"};
    SM_ASSERT_INT_EQ(aws_error_set(NULL, "X", NULL, 400, &fields), -1);
}

SM_TEST(aws_error_code_copy_keeps_the_bare_token) {
    char out[SM_ERR_TYPE_MAX];
    aws_error_code_copy(NULL, out, sizeof(out));
    SM_ASSERT_STR_EQ(out, "");
    aws_error_code_copy("com.amazon#AccessDeniedException", out, sizeof(out));
    SM_ASSERT_STR_EQ(out, "AccessDeniedException");
    aws_error_code_copy("a#b#c:d#e", out, sizeof(out)); /* '#' after the ':' does not count */
    SM_ASSERT_STR_EQ(out, "c");
    aws_error_code_copy("Bad Code\r\nX-Injected: 1", out, sizeof(out));
    SM_ASSERT_STR_EQ(out, "Bad");
    aws_error_code_copy("v1.2_ok-x", out, sizeof(out));
    SM_ASSERT_STR_EQ(out, "v1.2_ok-x");
    char small[6];
    aws_error_code_copy("ThrottlingException", small, sizeof(small));
    SM_ASSERT_STR_EQ(small, "Throt");
}

/* ------------------------------------------------------------------------------------------ */
/* What Secrets Manager's answers are made into                                                 */

SM_TEST(secrets_answers_with_null_or_absent_fields_parse_leniently) {
    const struct answer answers[] = {
        {200, NULL, NULL,
         "{\"ARN\":null,\"Name\":\"n\",\"RotationEnabled\":null,\"VersionIdsToStages\":{\"" TOKEN_A
         "\":[],\"" TOKEN_B "\":[\"AWSCURRENT\",null]},\"Tags\":[{\"Key\":\"k\"},"
         "{\"Value\":\"orphan\"},7]}",
         0},
        {200, NULL, NULL, "{\"VersionId\":\"" TOKEN_B "\",\"SecretBinary\":\"AAEC\"}", 0},
        {200, NULL, NULL, "{}", 0},
    };
    struct fixture f;
    START(&f, answers);
    struct sm_err err;
    struct secrets_description d;
    SM_ASSERT_OK(secrets_describe_secret(&f.c, "s", 0, &d, &err), err);
    SM_ASSERT(d.arn == NULL);
    SM_ASSERT_INT_EQ(d.rotation_enabled, -1);
    SM_ASSERT_INT_EQ(d.n_versions, 2);
    SM_ASSERT_INT_EQ(secrets_description_find(&d, TOKEN_A)->n_stages, 0);
    SM_ASSERT(secrets_description_holder(&d, "AWSCURRENT") ==
              secrets_description_find(&d, TOKEN_B));
    SM_ASSERT_INT_EQ(d.n_tags, 1);
    SM_ASSERT_STR_EQ(d.tags[0].key, "k");
    SM_ASSERT(d.tags[0].value == NULL);
    SM_ASSERT(secrets_description_tag(&d, "K") == NULL); /* a tag without a Value */
    secrets_description_clean_up(&d);
    struct secrets_value v;
    SM_ASSERT_OK(secrets_get_secret_value(&f.c, "s", NULL, NULL, 0, &v, &err), err);
    SM_ASSERT(v.secret_string == NULL && v.secret_string_len == 0 && v.has_binary);
    secrets_value_clean_up(&v);
    /* A 200 without RandomPassword is a protocol error, not an empty password. */
    struct sm_buf pw;
    sm_buf_init(&pw, 4096);
    SM_ASSERT_INT_EQ(secrets_get_random_password(&f.c, NULL, 0, &pw, &err), -1);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_PROTOCOL);
    SM_ASSERT_INT_EQ(pw.len, 0);
    sm_buf_clean_up(&pw);
    aws_config_clean_up(&f.cfg);
}

/* The decoded string with its length; past Secrets Manager's limit, a protocol error.
 * PutSecretValue sends nothing past the limit. */
SM_TEST(secrets_values_are_handed_over_within_the_limit) {
    char *bodies[2];
    for (size_t i = 0; i < 2; i++) {
        size_t n = SM_LIMIT_SECRET_STRING + i;
        bodies[i] = malloc(n + 32);
        SM_ASSERT(bodies[i] != NULL);
        int k = snprintf(bodies[i], 32, "{\"SecretString\":\"");
        memset(bodies[i] + k, 'y', n);
        snprintf(bodies[i] + (size_t)k + n, 32, "\"}");
    }
    const struct answer answers[] = {
        {200, NULL, NULL, "{\"SecretString\":\"p\\\"w\\n\\u00e9\\\\\"}", 0},
        {200, NULL, NULL, bodies[0], 0},
        {200, NULL, NULL, bodies[1], 0},
    };
    struct fixture f;
    START(&f, answers);
    struct sm_err err;
    struct secrets_value v;
    SM_ASSERT_OK(secrets_get_secret_value(&f.c, "s", NULL, NULL, 0, &v, &err), err);
    SM_ASSERT_INT_EQ(v.secret_string_len, 7);
    SM_ASSERT(memcmp(v.secret_string, "p\"w\n\xc3\xa9\\", 8) == 0);
    secrets_value_clean_up(&v);
    SM_ASSERT(v.secret_string == NULL && v.secret_string_len == 0);
    SM_ASSERT_OK(secrets_get_secret_value(&f.c, "s", NULL, NULL, 0, &v, &err), err);
    SM_ASSERT_INT_EQ(v.secret_string_len, SM_LIMIT_SECRET_STRING);
    secrets_value_clean_up(&v);
    SM_ASSERT_INT_EQ(secrets_get_secret_value(&f.c, "s", NULL, NULL, 0, &v, &err), -1);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_PROTOCOL);
    secrets_value_clean_up(&v);
    SM_ASSERT_INT_EQ(secrets_put_secret_value(&f.c, "s", TOKEN_A, bodies[1], strlen(bodies[1]),
                                              NULL, 0, NULL, 0, &err),
                     -1);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_TOO_LARGE);
    SM_ASSERT_INT_EQ(f.c.calls, 3);
    aws_config_clean_up(&f.cfg);
    free(bodies[0]);
    free(bodies[1]);
}

/* Each operation sends exactly the members it was given, in the service's names. */
SM_TEST(secrets_requests_carry_exactly_the_members_given) {
    const struct answer answers[] = {{200, NULL, NULL, "{\"RandomPassword\":\"pw\"}", 0}};
    struct fixture f;
    START(&f, answers);
    struct sm_err err;
    struct sm_buf pw;
    sm_buf_init(&pw, 4096);
    struct secrets_password_policy p = {.length = 40,
                                        .exclude_characters = "/@",
                                        .exclude_numbers = SECRETS_TRUE,
                                        .exclude_punctuation = SECRETS_FALSE,
                                        .exclude_uppercase = SECRETS_UNSET,
                                        .exclude_lowercase = SECRETS_UNSET,
                                        .include_space = SECRETS_TRUE,
                                        .require_each_included_type = SECRETS_FALSE};
    SM_ASSERT_OK(secrets_get_random_password(&f.c, &p, 0, &pw, &err), err);
    SM_ASSERT_OK(secrets_get_random_password(&f.c, NULL, 0, &pw, &err), err);
    const char *pending[] = {"AWSPENDING"};
    SM_ASSERT_OK(secrets_put_secret_value(&f.c, "s", TOKEN_A, "v", 1, pending, 1, "rt", 0, &err),
                 err);
    SM_ASSERT_OK(secrets_put_secret_value(&f.c, "s", TOKEN_A, "v", 1, NULL, 0, "", 0, &err), err);
    SM_ASSERT_OK(
        secrets_update_secret_version_stage(&f.c, "s", "AWSPENDING", NULL, TOKEN_B, 0, &err), err);
    struct secrets_value v;
    SM_ASSERT_OK(secrets_get_secret_value(&f.c, "s", TOKEN_A, "AWSPENDING", 0, &v, &err), err);
    secrets_value_clean_up(&v);
    const char *want[] = {
        "{\"PasswordLength\":40,\"ExcludeCharacters\":\"/@\",\"ExcludeNumbers\":true,"
        "\"ExcludePunctuation\":false,\"IncludeSpace\":true,\"RequireEachIncludedType\":false}",
        "{}",
        "{\"SecretId\":\"s\",\"SecretString\":\"v\",\"ClientRequestToken\":\"" TOKEN_A
        "\",\"VersionStages\":[\"AWSPENDING\"],\"RotationToken\":\"rt\"}",
        "{\"SecretId\":\"s\",\"SecretString\":\"v\",\"ClientRequestToken\":\"" TOKEN_A "\"}",
        "{\"SecretId\":\"s\",\"VersionStage\":\"AWSPENDING\",\"RemoveFromVersionId\":\"" TOKEN_B
        "\"}",
        "{\"SecretId\":\"s\",\"VersionId\":\"" TOKEN_A "\",\"VersionStage\":\"AWSPENDING\"}",
    };
    SM_ASSERT_INT_EQ(f.w.n_sent, 6);
    for (size_t i = 0; i < 6; i++) {
        SM_ASSERT_STR_EQ(f.w.sent[i].body, want[i]);
    }
    sm_buf_clean_up(&pw);
    aws_config_clean_up(&f.cfg);
}

SM_TEST(secrets_description_holder_tag_and_find) {
    char *current[] = {"AWSCURRENT", "custom"};
    char *pending[] = {"AWSPENDING"};
    struct secrets_version versions[] = {{TOKEN_A, current, 2}, {TOKEN_B, pending, 1}};
    struct secrets_tag tags[] = {{"Engine", "postgres"}, {"empty", NULL}};
    struct secrets_description d = {
        .versions = versions, .n_versions = 2, .tags = tags, .n_tags = 2};
    SM_ASSERT(secrets_description_holder(&d, "custom") == &versions[0]);
    SM_ASSERT(secrets_description_holder(&d, "AWSPENDING") == &versions[1]);
    SM_ASSERT(secrets_description_holder(&d, "awscurrent") == NULL); /* labels: exact case */
    SM_ASSERT(secrets_description_holder(NULL, "AWSCURRENT") == NULL);
    SM_ASSERT(secrets_description_find(&d, TOKEN_B) == &versions[1]);
    SM_ASSERT(secrets_description_find(&d, "nope") == NULL);
    SM_ASSERT(!secrets_version_has_stage(NULL, "AWSCURRENT"));
    SM_ASSERT(!secrets_version_has_stage(&versions[0], NULL));
    SM_ASSERT_STR_EQ(secrets_description_tag(&d, "ENGINE"), "postgres"); /* keys: any case */
    SM_ASSERT(secrets_description_tag(&d, "Engin") == NULL);
    SM_ASSERT(secrets_description_tag(&d, "empty") == NULL);
    SM_ASSERT(secrets_description_tag(NULL, "Engine") == NULL);
    secrets_description_clean_up(NULL);
    secrets_value_clean_up(NULL);
}

/* ------------------------------------------------------------------------------------------ */
/* Secrets stay out of errors and logs                                                          */

SM_TEST(aws_no_secret_in_errors_or_debug_logs) {
    const char *value = "{\"password\":\"SecretValueMustNotLeak\"}";
    const struct answer answers[] = {
        {400, NULL, NULL, "{\"__type\":\"ResourceExistsException\",\"Message\":\"in use\"}", 0},
        THROTTLED,
        THROTTLED,
        THROTTLED,
        {0, SM_ERR_TRANSPORT, NULL, NULL, 0},
    };
    struct fixture f;
    START(&f, answers);
    f.cfg.session_token = sm_strdup("SessionTokenMustNotLeak0123456789");
    char *log_text = NULL;
    size_t log_len = 0;
    FILE *log = open_memstream(&log_text, &log_len);
    SM_ASSERT(log != NULL);
    sm_log_configure(false, SM_LOG_TRACE);
    sm_log_set_stream(log);
    struct sm_err errors[3];
    const char *pending[] = {"AWSPENDING"};
    SM_ASSERT_INT_EQ(secrets_put_secret_value(&f.c, "s", TOKEN_A, value, strlen(value), pending, 1,
                                              "RotationTokenMustNotLeak", 0, &errors[0]),
                     -1);
    SM_ASSERT_INT_EQ(get_value(&f, 0, &errors[1]), -1);
    f.cfg.max_attempts = 1;
    SM_ASSERT_INT_EQ(get_value(&f, 0, &errors[2]), -1);
    sm_log_set_stream(NULL);
    fclose(log);
    SM_ASSERT(log_len > 0); /* DEBUG lines were written */
    SM_ASSERT_STR_CONTAINS(log_text, "GetSecretValue on secret s");
    const char *signature = strstr(f.w.sent[0].head, "Signature=") + strlen("Signature=");
    char sig[17];
    snprintf(sig, sizeof(sig), "%s", signature);
    const char *forbidden[] = {"SecretValueMustNotLeak",
                               SECRET_KEY,
                               f.cfg.session_token,
                               "RotationTokenMustNotLeak",
                               sig,
                               "Authorization",
                               "SecretString"};
    for (size_t i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++) {
        SM_ASSERT_STR_NOT_CONTAINS(log_text, forbidden[i]);
        for (size_t k = 0; k < sizeof(errors) / sizeof(errors[0]); k++) {
            SM_ASSERT_STR_NOT_CONTAINS(errors[k].msg, forbidden[i]);
        }
    }
    SM_ASSERT_STR_EQ(errors[0].aws_type, "ResourceExistsException");
    SM_ASSERT_CODE_EQ(errors[1].code, SM_ERR_AWS_THROTTLED);
    SM_ASSERT_CODE_EQ(errors[2].code, SM_ERR_TRANSPORT);
    free(log_text);
    aws_config_clean_up(&f.cfg);
}
