#include "fake_creds.h"

#include "credentials.h"
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

/* Every variable the credential chain (and the clients the tests then make) reads. */
static const char *const s_vars[] = {"AWS_ACCESS_KEY_ID",
                                     "AWS_SECRET_ACCESS_KEY",
                                     "AWS_SESSION_TOKEN",
                                     "AWS_SECURITY_TOKEN",
                                     "AWS_CREDENTIAL_EXPIRATION",
                                     "AWS_PROFILE",
                                     "AWS_DEFAULT_PROFILE",
                                     "AWS_CONFIG_FILE",
                                     "AWS_SHARED_CREDENTIALS_FILE",
                                     "AWS_REGION",
                                     "AWS_DEFAULT_REGION",
                                     "AWS_WEB_IDENTITY_TOKEN_FILE",
                                     "AWS_ROLE_ARN",
                                     "AWS_ROLE_SESSION_NAME",
                                     "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                                     "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                                     "AWS_CONTAINER_AUTHORIZATION_TOKEN",
                                     "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                                     "AWS_EC2_METADATA_SERVICE_ENDPOINT",
                                     "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
                                     "AWS_EC2_METADATA_V1_DISABLED",
                                     "AWS_METADATA_SERVICE_TIMEOUT",
                                     "AWS_METADATA_SERVICE_NUM_ATTEMPTS",
                                     "AWS_ENDPOINT_URL",
                                     "AWS_ENDPOINT_URL_STS",
                                     "AWS_ENDPOINT_URL_SECRETS_MANAGER",
                                     "SECRETS_MANAGER_ENDPOINT",
                                     "AWS_USE_FIPS_ENDPOINT",
                                     "SMROTATE_CA_FILE",
                                     "HTTPS_PROXY",
                                     "https_proxy",
                                     "HTTP_PROXY",
                                     "http_proxy",
                                     "NO_PROXY",
                                     "no_proxy"};

static struct fake_home *s_live;
static bool s_atexit;

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static void remove_at_exit(void) {
    fake_home_stop(s_live);
}

void fake_home_start(struct fake_home *h) {
    const char *state = getenv("SMR_STATE_DIR");
    char base[400];
    snprintf(base, sizeof(base), "%s", state != NULL && state[0] != '\0' ? state : "/tmp");
    mkdir(base, 0700);
    snprintf(h->dir, sizeof(h->dir), "%s/creds-home-XXXXXX", base);
    if (mkdtemp(h->dir) == NULL) {
        SM_FAIL("mkdtemp %s: %s", h->dir, strerror(errno));
    }
    for (size_t i = 0; i < sizeof(s_vars) / sizeof(s_vars[0]); i++) {
        unsetenv(s_vars[i]);
    }
    setenv("HOME", h->dir, 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    s_live = h;
    if (!s_atexit) {
        atexit(remove_at_exit);
        s_atexit = true;
    }
}

/* The path of <home>/<rel> (a static buffer, valid until the next call). */
static const char *fake_home_path(struct fake_home *h, const char *rel) {
    static char path[1024];
    snprintf(path, sizeof(path), "%s/%s", h->dir, rel);
    return path;
}

const char *fake_home_write(struct fake_home *h, const char *rel, const char *text, int mode) {
    const char *path = fake_home_path(h, rel);
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s", path);
    for (char *p = dir + strlen(h->dir) + 1; *p != '\0'; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(dir, 0700);
            *p = '/';
        }
    }
    char tmp[1100];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
        SM_FAIL("cannot create %s: %s", tmp, strerror(errno));
    }
    size_t len = strlen(text);
    if (write(fd, text, len) != (ssize_t)len || fchmod(fd, (mode_t)mode) != 0 || close(fd) != 0) {
        SM_FAIL("cannot write %s", tmp);
    }
    /* Renamed into place, so a script is never executed while still open for writing
     * (ETXTBSY). */
    if (rename(tmp, path) != 0) {
        SM_FAIL("cannot rename %s: %s", tmp, strerror(errno));
    }
    return path;
}

void fake_home_stop(struct fake_home *h) {
    if (h == NULL || h->dir[0] == '\0') {
        return;
    }
    nftw(h->dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
    h->dir[0] = '\0';
    if (s_live == h) {
        s_live = NULL;
    }
}

/* ---- the scripted world ---------------------------------------------------------------------- */

static int world_perform(void *impl, const struct http_request *req, struct http_response *resp,
                         struct sm_err *err) {
    struct fake_world *w = impl;
    SM_ASSERT(w->n_sent < FAKE_WORLD_MAX_SENT);
    struct fake_sent *s = &w->sent[w->n_sent++];
    snprintf(s->method, sizeof(s->method), "%s", req->method);
    snprintf(s->url, sizeof(s->url), "%s", req->url);
    size_t off = 0;
    for (size_t i = 0; i < req->n_headers && off < sizeof(s->head); i++) {
        off += (size_t)snprintf(s->head + off, sizeof(s->head) - off, "%s\n", req->headers[i]);
    }
    snprintf(s->body, sizeof(s->body), "%.*s", (int)req->body_len, (const char *)req->body);
    s->timeout_ms = req->timeout_ms;
    s->ca_file = req->ca_file;
    s->proxy = req->proxy;
    resp->status = 0;
    sm_buf_reset(&resp->body);
    sm_buf_reset(&resp->headers);
    for (size_t i = 0; i < w->n_routes; i++) {
        const struct fake_route *r = &w->routes[i];
        if (strcmp(r->method, req->method) != 0 || strcmp(r->url, req->url) != 0 ||
            (r->times > 0 && w->used[i] >= r->times)) {
            continue;
        }
        w->used[i]++;
        if (r->fail != NULL) {
            return sm_err_set(err, r->fail, "%s %s failed: scripted", req->method, req->url);
        }
        resp->status = r->status;
        if (r->body != NULL && sm_buf_append_str(&resp->body, r->body, err) != 0) {
            return -1;
        }
        return sm_buf_ensure(&resp->body, err);
    }
    return sm_err_set(err, SM_ERR_TRANSPORT, "%s %s failed: Connection refused", req->method,
                      req->url);
}

static int64_t world_now_ms(void *impl) {
    return ((struct fake_world *)impl)->now;
}

static void world_sleep_ms(void *impl, int64_t ms) {
    struct fake_world *w = impl;
    w->slept_ms += ms;
    w->n_slept++;
    w->now += ms;
}

static double world_random01(void *impl) {
    (void)impl;
    return 0.0;
}

static const struct aws_system_ops s_world_ops = {world_perform, world_now_ms, world_sleep_ms,
                                                  world_random01};

/* The world as a system, answering from routes (n of them) with the clock at now. */
static struct aws_system fake_world_start(struct fake_world *w, const struct fake_route *routes,
                                          size_t n, int64_t now) {
    SM_ASSERT(n <= FAKE_WORLD_MAX_ROUTES);
    memset(w, 0, sizeof(*w));
    w->routes = routes;
    w->n_routes = n;
    w->now = now;
    return (struct aws_system){&s_world_ops, w};
}

size_t fake_world_count(const struct fake_world *w, const char *method, const char *url) {
    size_t n = 0;
    for (size_t i = 0; i < w->n_sent; i++) {
        n += strcmp(w->sent[i].method, method) == 0 && strcmp(w->sent[i].url, url) == 0;
    }
    return n;
}

const struct fake_sent *fake_world_last(const struct fake_world *w, const char *method,
                                        const char *url) {
    for (size_t i = w->n_sent; i > 0; i--) {
        if (strcmp(w->sent[i - 1].method, method) == 0 && strcmp(w->sent[i - 1].url, url) == 0) {
            return &w->sent[i - 1];
        }
    }
    SM_FAIL("no %s %s was sent", method, url);
}

/* ---- a chain --------------------------------------------------------------------------------- */

void fake_chain_start(struct fake_chain *c, const struct fake_route *routes, size_t n, int64_t now,
                      const char *const *secrets) {
    memset(c, 0, sizeof(*c));
    fake_home_start(&c->home);
    c->sys = fake_world_start(&c->world, routes, n, now);
    c->secrets = secrets;
}

int fake_chain_resolve(struct fake_chain *c, struct sm_err *err) {
    struct sm_err settings;
    aws_config_clean_up(&c->cfg);
    SM_ASSERT_OK(aws_config_settings_from_env(&c->cfg, &settings), settings);
    return creds_resolve(&c->cfg, &c->sys, 0, c->source, sizeof(c->source), err);
}

void fake_chain_expect(struct fake_chain *c, const char *akid, const char *secret,
                       const char *token) {
    struct sm_err err;
    SM_ASSERT_OK(fake_chain_resolve(c, &err), err);
    SM_ASSERT_STR_EQ(c->cfg.access_key_id, akid);
    SM_ASSERT_SECRET_EQ(c->cfg.secret_access_key, secret);
    if (token == NULL) {
        SM_ASSERT(c->cfg.session_token == NULL);
    } else {
        SM_ASSERT_SECRET_EQ(c->cfg.session_token, token);
    }
}

void fake_chain_expect_failure(struct fake_chain *c, const struct sm_code *code, const char *want) {
    struct sm_err err;
    SM_ASSERT_INT_EQ(fake_chain_resolve(c, &err), -1);
    /* The leak checks come first, so that a message holding a secret is never printed by the
     * STR_CONTAINS below. */
    for (size_t i = 0; c->secrets != NULL && c->secrets[i] != NULL; i++) {
        SM_ASSERT_STR_NOT_CONTAINS(err.msg, c->secrets[i]);
    }
    SM_ASSERT_CODE_EQ(err.code, code);
    SM_ASSERT_STR_CONTAINS(err.msg, want);
    SM_ASSERT(c->cfg.access_key_id == NULL && c->cfg.secret_access_key == NULL &&
              c->cfg.session_token == NULL);
}

void fake_chain_stop(struct fake_chain *c) {
    aws_config_clean_up(&c->cfg);
    fake_home_stop(&c->home);
}
