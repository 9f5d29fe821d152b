/*
 * fake_creds: what the credential chain's tests (runtime/credentials.h) stand on.
 *
 * A home: a private directory that HOME points at (so ~/.aws is the test's), with every variable
 * the chain reads cleared and instance metadata turned off (AWS_EC2_METADATA_DISABLED=true: no
 * test may reach a real 169.254.169.254); files (config, credentials, tokens, small scripts) are
 * written into it, and it is removed by fake_home_stop or at exit.
 *
 * A world: a scripted system (aws.h's seam) that answers each request from a list of routes
 * (method and exact URL), records what was sent, and keeps a clock that moves only by what the
 * chain sleeps; a request no route answers fails as a refused connection.
 *
 * A chain: both, and creds_resolve's result checked. Test code: failures abort the test with
 * SM_FAIL.
 */
#ifndef SM_FAKE_CREDS_H
#define SM_FAKE_CREDS_H

#include "aws.h"

#include <stddef.h>
#include <stdint.h>

struct fake_home {
    char dir[512];
};

/* Creates the home and resets the environment as described above. */
void fake_home_start(struct fake_home *h);

/* Writes text to <home>/<rel> (directories created) with mode (0600 files, 0700 scripts) and
 * returns its path (a static buffer, valid until the next call). */
const char *fake_home_write(struct fake_home *h, const char *rel, const char *text, int mode);

/* Removes the home. Accepts a stopped one. */
void fake_home_stop(struct fake_home *h);

#define FAKE_WORLD_MAX_ROUTES 16
#define FAKE_WORLD_MAX_SENT 24

struct fake_route {
    const char *method;         /* "GET", "PUT", "POST" */
    const char *url;            /* exact */
    long status;                /* the answer's status (with fail NULL) */
    const char *body;           /* NULL: empty */
    const struct sm_code *fail; /* what the transport reports instead (SM_ERR_TRANSPORT,
                                   SM_ERR_DEADLINE), or NULL */
    int times;                  /* answers this many requests, then is used up; 0: every one */
};

struct fake_sent {
    char method[8];
    char url[512];
    char head[8192]; /* the header lines, each ended by '\n' */
    char body[8192];
    long timeout_ms;
    const char *ca_file, *proxy;
};

struct fake_world {
    const struct fake_route *routes;
    size_t n_routes;
    int used[FAKE_WORLD_MAX_ROUTES];
    int64_t now;
    struct fake_sent sent[FAKE_WORLD_MAX_SENT];
    size_t n_sent;
    int64_t slept_ms; /* total */
    size_t n_slept;
};

/* The number of requests sent with method to url. */
size_t fake_world_count(const struct fake_world *w, const char *method, const char *url);

/* The last request sent with method to url; fails the test when there is none. */
const struct fake_sent *fake_world_last(const struct fake_world *w, const char *method,
                                        const char *url);

/* A chain under test: a home, a world, and the configuration creds_resolve fills. */
struct fake_chain {
    struct fake_home home;
    struct fake_world world;
    struct aws_system sys;
    struct aws_config cfg;
    char source[600];
    const char *const *secrets; /* NULL-terminated: no failure message may hold one */
};

/* Starts the home and the world (routes, n, the clock at now); secrets is borrowed. */
void fake_chain_start(struct fake_chain *c, const struct fake_route *routes, size_t n, int64_t now,
                      const char *const *secrets);

/* Fills c->cfg afresh from the environment (aws_config_settings_from_env) and resolves the
 * credentials into it (no deadline): creds_resolve's result. */
int fake_chain_resolve(struct fake_chain *c, struct sm_err *err);

/* Resolves and checks the keys (token NULL: none). */
void fake_chain_expect(struct fake_chain *c, const char *akid, const char *secret,
                       const char *token);

/* Resolves and checks the failure: code, a message holding want and none of the secrets, and no
 * credentials left in c->cfg. */
void fake_chain_expect_failure(struct fake_chain *c, const struct sm_code *code, const char *want);

void fake_chain_stop(struct fake_chain *c);

#endif
