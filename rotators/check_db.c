/*
 * check_db: the preflight check's database checks (check.h), and the system resolver and sockets
 * its network checks use by default. A login here is the steps' login (db_connect.h), so TLS,
 * trust and timeouts are the rotation's; the master's inspection is the engines' read-only
 * check_rights and plan_alternate_user.
 */
#include "check_run.h"

#include "clock.h"
#include "db_connect.h"
#include "mem.h"
#include "str.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CHECK_DEFAULT_CONNECT_MS 5000
#define CHECK_PLAN_MAX (64u * 1024u)

/* ---- the system's resolver and sockets ----------------------------------------------------- */

static void numeric_address(const struct addrinfo *ai, char *out, size_t cap) {
    if (getnameinfo(ai->ai_addr, ai->ai_addrlen, out, (socklen_t)cap, NULL, 0, NI_NUMERICHOST) !=
        0) {
        snprintf(out, cap, "?");
    }
}

static int lookup(const char *host, const char *port, struct addrinfo **res, struct sm_err *err) {
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    char shown[256];
    hints.ai_flags = port != NULL ? AI_NUMERICSERV : 0;
    int rc = getaddrinfo(host, port, &hints, res);
    if (rc == 0) {
        return 0;
    }
    sm_str_printable(host, shown, sizeof(shown));
    return sm_err_set(err, ROT_ERR_DB_UNREACHABLE, "cannot resolve the host %s: %s", shown,
                      rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
}

/* getaddrinfo may give one address more than once (one entry per socket type or source). */
static bool listed_before(const struct addrinfo *res, const struct addrinfo *ai) {
    for (const struct addrinfo *p = res; p != ai; p = p->ai_next) {
        if (p->ai_addrlen == ai->ai_addrlen &&
            memcmp(p->ai_addr, ai->ai_addr, ai->ai_addrlen) == 0) {
            return true;
        }
    }
    return false;
}

static int sys_resolve(void *impl, const char *host, char *out, size_t cap, struct sm_err *err) {
    struct addrinfo *res = NULL;
    size_t used = 0;
    (void)impl;
    if (lookup(host, NULL, &res, err) != 0) {
        return -1;
    }
    out[0] = '\0';
    for (const struct addrinfo *ai = res; ai != NULL && used + 1 < cap; ai = ai->ai_next) {
        if (!listed_before(res, ai)) {
            char addr[64];
            numeric_address(ai, addr, sizeof(addr));
            int n = snprintf(out + used, cap - used, "%s%s", used > 0 ? ", " : "", addr);
            used = n < 0 ? cap : used + (size_t)n;
        }
    }
    freeaddrinfo(res);
    return 0;
}

/* One non-blocking connect to ai within ms. Returns 0, or an errno (ETIMEDOUT: no answer). */
static int connect_one(const struct addrinfo *ai, int64_t ms) {
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    int error = 0;
    socklen_t len = sizeof(error);
    if (fd < 0) {
        return errno;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int ready;
        error = errno;
        if (error == EINPROGRESS) {
            do {
                ready = poll(&p, 1, ms > 60000 ? 60000 : (int)ms);
            } while (ready < 0 && errno == EINTR);
            error = ready == 0                                                ? ETIMEDOUT
                    : ready < 0                                               ? errno
                    : getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0 ? errno
                                                                              : error;
        }
    }
    close(fd);
    return error;
}

static int sys_connect(void *impl, const char *host, int port, long timeout_ms, char *out,
                       size_t cap, struct sm_err *err) {
    struct addrinfo *res = NULL;
    char service[16], shown[256];
    int last = ETIMEDOUT;
    int64_t until = sm_monotonic_ms() + timeout_ms;
    (void)impl;
    snprintf(service, sizeof(service), "%d", port);
    if (lookup(host, service, &res, err) != 0) {
        return -1;
    }
    for (const struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        int64_t left = until - sm_monotonic_ms();
        if (left <= 0) {
            break;
        }
        if ((last = connect_one(ai, left)) == 0) {
            numeric_address(ai, out, cap);
            freeaddrinfo(res);
            return 0;
        }
    }
    freeaddrinfo(res);
    sm_str_printable(host, shown, sizeof(shown));
    if (last == ETIMEDOUT) {
        return sm_err_set(err, ROT_ERR_DB_UNREACHABLE, "no TCP answer from %s:%d within %ld ms",
                          shown, port, timeout_ms);
    }
    return sm_err_set(err, ROT_ERR_DB_UNREACHABLE, "cannot connect to %s:%d: %s", shown, port,
                      strerror(last));
}

const struct rot_check_net_ops rot_check_net_system = {
    .resolve = sys_resolve,
    .connect = sys_connect,
};

/* ---- the checks ---------------------------------------------------------------------------- */

/* The connection settings a step's login uses (rot_step_login). */
static struct rot_connect_opts connect_opts(const struct check *c) {
    const struct rot_config *cfg = c->run.ctx->config;
    return (struct rot_connect_opts){
        .ca_file = cfg->db_tls.ca_file,
        .ca_origin = cfg->db_tls.origin,
        .tls_verify = cfg->db_tls.verify,
        .connect_timeout_ms = cfg->db_connect_timeout_ms,
        .deadline_ms = c->run.deadline_ms,
        .settings = &cfg->engine_settings,
    };
}

/* dns and tcp: the host resolves and accepts TCP connections on the secret's port. */
static bool check_network(struct check *c) {
    const struct rot_check_net_ops *net =
        c->opts->net != NULL ? c->opts->net : &rot_check_net_system;
    const struct rot_secret *s = &c->current;
    long timeout = c->run.ctx->config->db_connect_timeout_ms;
    int64_t left = sm_remaining_ms(c->run.deadline_ms);
    char host[256], addresses[256], peer[80];
    struct sm_err e;
    sm_str_printable(s->host, host, sizeof(host));
    if (net->resolve(c->opts->net_impl, s->host, addresses, sizeof(addresses), &e) != 0) {
        rot_check_failed(c, "dns", &e,
                         "check the host in the secret, and that the function's VPC resolves it "
                         "(DNS resolution, private hosted zones)");
        return false;
    }
    rot_check_result(c, "dns", true, "%s resolves to %s", host, addresses);
    timeout = timeout > 0 ? timeout : CHECK_DEFAULT_CONNECT_MS;
    timeout = left < timeout ? (long)(left > 0 ? left : 1) : timeout;
    if (net->connect(c->opts->net_impl, s->host, s->port, timeout, peer, sizeof(peer), &e) != 0) {
        rot_check_failed(c, "tcp", &e,
                         "DatabaseUnreachable: the function cannot reach host:port (security "
                         "group, subnet routing, network ACL, wrong host or port)");
        return false;
    }
    rot_check_result(c, "tcp", true, "%s:%d accepts TCP connections (%s answered)", host, s->port,
                     peer);
    return true;
}

/* A failed login: a refused one in the template's words ("Unable to log into database using
 * <whose> <id>") and what to do; any other failure as it is. */
static void login_failed(struct check *c, const char *name, struct sm_err *e, const char *whose,
                         const char *id, const char *advice) {
    bool refused = e->code == ROT_ERR_DB_LOGIN;
    if (refused) {
        sm_err_prefix(e, "Unable to log into database using %s %s", whose, id);
    }
    rot_check_failed(c, name, e, refused ? advice : "");
}

/* tls and login: the current credentials log in (one login, as setSecret's first) and run the
 * test query; how TLS went is read from the same attempt. */
static bool check_login(struct check *c) {
    struct rot_login login = rot_secret_login(&c->current);
    struct rot_connect_opts opts = connect_opts(c);
    struct rot_conn *conn = NULL;
    struct sm_err e;
    bool over_tls = false;
    char tls[700], host[256], user[128];
    c->run.ctx->stats.db_logins++;
    int rc = rot_db_connect_tls(c->current.engine, &login, &opts, &conn, &over_tls, &e);
    rot_db_tls_summary(&login, &opts, over_tls, tls, sizeof(tls));
    if (rc != 0 && e.code == ROT_ERR_DB_TLS) {
        rot_check_failed(c, "tls", &e, "");
        return false;
    }
    if (rc == 0 || e.code == ROT_ERR_DB_LOGIN) {
        rot_check_result(c, "tls", true, "%s", tls);
    }
    if (rc == 0 && rot_db_check(conn, &e) != 0) {
        sm_err_prefix(&e, "logged in, but the test query failed");
        rc = -1;
    }
    rot_db_disconnect(conn);
    if (rc != 0) {
        login_failed(c, "login", &e, "current credentials for secret", c->ev.secret_id,
                     "the AWSCURRENT password does not log in: put the user's working password "
                     "into the secret, or set the database user's password to the secret's");
        return false;
    }
    sm_str_printable(c->current.host, host, sizeof(host));
    sm_str_printable(c->current.username, user, sizeof(user));
    rot_check_result(c, "login", true, "user %s logged in at %s:%d and ran the test query", user,
                     host, c->current.port);
    return true;
}

/* master-login: as setSecret, the master logs in on its host, in the user's database. */
static struct rot_conn *check_master_login(struct check *c) {
    struct rot_login l = rot_secret_login(&c->master);
    struct rot_conn *admin = NULL;
    struct sm_err e;
    char host[256], user[128];
    l.dbname = c->current.dbname;
    if (rot_step_login(&c->run, &c->master, &l, &admin, &e) != 0) {
        login_failed(c, "master-login", &e, "credentials in master secret", c->current.masterarn,
                     "fix the master secret's password (RDS rotates an RDS-managed one itself)");
        return NULL;
    }
    sm_str_printable(c->master.host, host, sizeof(host));
    sm_str_printable(c->master.username, user, sizeof(user));
    rot_check_result(c, "master-login", true, "the master user %s logged in at %s:%d", user, host,
                     c->master.port);
    return admin;
}

/* master-privileges: what the strategy needs of the master (engine.h's check_rights). users gets
 * the alternating users' pair (a clone's). */
static bool check_rights(struct check *c, struct rot_conn *admin, struct rot_user_pair *users) {
    const struct rot_settings *s = &c->run.settings;
    const char *current = c->current.username;
    struct rot_rights_request req = {.users = {current, NULL}};
    struct sm_buf detail;
    struct sm_err e;
    bool allowed = false;
    if (s->strategy->alternates_users && s->pair[0] != NULL) {
        req.users[0] = s->pair[0];
        req.users[1] = s->pair[1];
    } else if (s->strategy->alternates_users) {
        /* As setSecret names them: of the two names, the shorter is the original. */
        bool next_is_clone = strlen(c->alt) > strlen(current);
        *users = (struct rot_user_pair){.original = next_is_clone ? current : c->alt,
                                        .clone = next_is_clone ? c->alt : current,
                                        .target = c->alt};
        req.clone = users;
    }
    sm_buf_init(&detail, CHECK_PLAN_MAX);
    if (rot_db_check_rights(admin, &req, &allowed, &detail, &e) != 0) {
        rot_check_failed(c, "master-privileges", &e, "");
        allowed = false;
    } else {
        rot_check_result(c, "master-privileges", allowed, "%s",
                         detail.data != NULL ? detail.data : "");
    }
    sm_buf_clean_up(&detail);
    return allowed;
}

/* The plan's lines joined with "; " into out ("nothing" for none, or what fitted). */
static const char *one_line(const struct sm_buf *plan, struct sm_buf *out) {
    struct sm_err ignored;
    const char *p = plan->data != NULL ? plan->data : "";
    while (*p != '\0') {
        size_t n = strcspn(p, "\n");
        if (n > 0 &&
            sm_buf_appendf(out, &ignored, "%s%.*s", out->len > 0 ? "; " : "", (int)n, p) != 0) {
            break;
        }
        p += n + (p[n] == '\n');
    }
    return out->len > 0 ? out->data : "nothing";
}

/* alternate-user-plan: what the next rotation would create, grant or revoke (names and
 * privileges; passwords are <new password>). */
static void check_plan(struct check *c, struct rot_conn *admin, const struct rot_user_pair *users) {
    struct sm_buf plan, shown;
    struct sm_err e;
    char user[128];
    sm_buf_init(&shown, CHECK_PLAN_MAX);
    if (c->run.settings.pair[0] != NULL) {
        sm_str_printable(c->alt, user, sizeof(user));
        rot_check_result(c, "alternate-user-plan", true,
                         "the master sets only the password of %s: nothing is created, granted or "
                         "revoked",
                         user);
        return;
    }
    sm_buf_init(&plan, CHECK_PLAN_MAX);
    if (rot_db_plan_alternate_user(admin, users, &plan, &e) != 0) {
        rot_check_failed(c, "alternate-user-plan", &e, "");
    } else {
        rot_check_result(c, "alternate-user-plan", true, "the next rotation runs: %s",
                         one_line(&plan, &shown));
    }
    sm_buf_clean_up(&plan);
    sm_buf_clean_up(&shown);
}

void rot_check_database(struct check *c) {
    const struct rot_strategy *s = c->settings_ok ? c->run.settings.strategy : NULL;
    struct rot_user_pair users = {0};
    if (!check_network(c) || !check_login(c) || s == NULL || !s->set_by_master || !c->master_ok) {
        return;
    }
    struct rot_conn *admin = check_master_login(c);
    if (admin == NULL) {
        return;
    }
    if ((!s->alternates_users || c->alternate_ok) && check_rights(c, admin, &users) &&
        s->alternates_users) {
        check_plan(c, admin, &users);
    }
    rot_db_disconnect(admin);
}
