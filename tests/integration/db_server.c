#include "db_server.h"

#include "clock.h"
#include "log.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#define ENV_MAX 48

static struct {
    bool loaded;
    struct db_server server;
    char prefix[32];
    char keys[ENV_MAX][64];
    char vals[ENV_MAX][512];
    int n;
} s_fx;

static const char *need_env(const char *name) {
    const char *v = getenv(name);
    if (v == NULL || v[0] == '\0') {
        SM_FAIL("%s is not set: run through ctest (tests/CMakeLists.txt, sm_db_server)", name);
    }
    return v;
}

static void load_env_file(const char *path) {
    char line[700];
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        SM_FAIL("cannot open %s: is the server's fixture running?", path);
    }
    while (fgets(line, sizeof(line), f) != NULL && s_fx.n < ENV_MAX) {
        char *eq = strchr(line, '=');
        line[strcspn(line, "\r\n")] = '\0';
        if (eq != NULL) {
            *eq = '\0';
            snprintf(s_fx.keys[s_fx.n], sizeof(s_fx.keys[0]), "%.63s", line);
            snprintf(s_fx.vals[s_fx.n], sizeof(s_fx.vals[0]), "%.511s", eq + 1);
            s_fx.n++;
        }
    }
    fclose(f);
}

static const char *find_env(const char *key) {
    char full[128];
    snprintf(full, sizeof(full), "%s%s", s_fx.prefix, key);
    for (int i = 0; i < s_fx.n; i++) {
        if (strcmp(s_fx.keys[i], full) == 0) {
            return s_fx.vals[i];
        }
    }
    return NULL;
}

const char *db_env(const char *key) {
    (void)db_server();
    const char *v = find_env(key);
    if (v == NULL) {
        SM_FAIL("%s%s is missing from the fixture's file", s_fx.prefix, key);
    }
    return v;
}

const struct db_server *db_server(void) {
    struct db_server *s = &s_fx.server;
    struct sm_err err;
    if (s_fx.loaded) {
        return s;
    }
    s_fx.loaded = true;
    snprintf(s_fx.prefix, sizeof(s_fx.prefix), "%s", need_env("SMR_DB_PREFIX"));
    load_env_file(need_env("SMR_DB_ENV_FILE"));
    s->name = need_env("SMR_DB_SERVER");
    s->engine_value = need_env("SMR_DB_ENGINE");
    s->engine = rot_engine_find(rot_engines, s->engine_value);
    SM_ASSERT(s->engine != NULL);
    s->admin = strcmp(s->engine->name, "postgres") == 0 ? &db_postgres_admin : &db_mysql_admin;
    s->host = db_env("HOST");
    s->host_mismatch = find_env("HOST_MISMATCH") != NULL ? find_env("HOST_MISMATCH") : "127.1";
    s->port = (int)strtol(db_env("PORT"), NULL, 10);
    s->port_notls = (int)strtol(db_env("PORT_NOTLS"), NULL, 10);
    s->admin_user = db_env("ADMIN_USER");
    s->admin_password = db_env("ADMIN_PASSWORD");
    s->ca_file = db_env("CA_FILE");
    s->bad_ca_file = db_env("BAD_CA_FILE");
    sm_err_clear(&err);
    SM_ASSERT_OK(s->engine->init(&err), err);
    return s;
}

const char *db_uniq(const char *tag) {
    static char ring[8][96];
    static int next;
    static uint32_t token;
    while (token == 0) {
        if (getrandom(&token, sizeof(token), 0) != (ssize_t)sizeof(token)) {
            SM_FAIL("getrandom failed");
        }
    }
    char *out = ring[next++ % 8];
    snprintf(out, sizeof(ring[0]), "t%08" PRIx32 "_%s", token, tag);
    return out;
}

struct rot_login db_login(const char *user, const char *password, enum rot_tls tls) {
    const struct db_server *s = db_server();
    return (struct rot_login){.host = s->host,
                              .port = s->port,
                              .username = user,
                              .password = password,
                              .tls = tls,
                              .engine_value = s->engine_value};
}

struct rot_connect_opts db_opts(const char *ca_file) {
    return (struct rot_connect_opts){.ca_file = ca_file, .connect_timeout_ms = 30000};
}

struct rot_conn *db_connect_ok(const struct rot_login *l, const struct rot_connect_opts *o) {
    struct rot_conn *c = NULL;
    struct sm_err err;
    sm_err_clear(&err);
    SM_ASSERT_OK(rot_db_connect(db_server()->engine, l, o, &c, &err), err);
    return c;
}

int64_t db_connect_fails(const struct rot_login *l, const struct rot_connect_opts *o,
                         const struct sm_code *code, struct sm_err *err) {
    struct rot_conn *c = NULL;
    int64_t t0 = sm_monotonic_ms();
    sm_err_clear(err);
    int rc = rot_db_connect(db_server()->engine, l, o, &c, err);
    int64_t elapsed = sm_monotonic_ms() - t0;
    if (rc == 0) {
        rot_db_disconnect(c);
        SM_FAIL("the login worked, expected %s", sm_code_name(code));
    }
    SM_ASSERT(c == NULL);
    if (err->code != code) {
        SM_FAIL("expected %s, got [%s] %s", sm_code_name(code), sm_code_name(err->code), err->msg);
    }
    /* Never a password, never more than one line. */
    SM_ASSERT_STR_NOT_CONTAINS(err->msg, l->password[0] != '\0' ? l->password : "\x01");
    SM_ASSERT(strchr(err->msg, '\n') == NULL);
    return elapsed;
}

/* Whether our engine logs in as l says (with the server's CA) and runs its check. */
static bool can_login_as(const struct rot_login *l) {
    struct rot_connect_opts o = db_opts(db_server()->ca_file);
    struct rot_conn *c = NULL;
    struct sm_err err;
    bool ok =
        rot_db_connect(db_server()->engine, l, &o, &c, &err) == 0 && rot_db_check(c, &err) == 0;
    rot_db_disconnect(c);
    return ok;
}

bool db_engine_can_login(const char *user, const char *password, enum rot_tls tls) {
    struct rot_login l = db_login(user, password, tls);
    return can_login_as(&l);
}

void db_rotate_own(const struct rot_login *l, const char *new_pw,
                   const struct rot_password_opts *opts) {
    struct rot_connect_opts o = db_opts(db_server()->ca_file);
    struct rot_login fresh = *l;
    struct sm_err err;
    struct rot_conn *c = db_connect_ok(l, &o);
    sm_err_clear(&err);
    SM_ASSERT_OK(rot_db_set_own_password(c, l->username, l->password, new_pw, opts, &err), err);
    SM_ASSERT_OK(rot_db_set_own_password(c, l->username, new_pw, new_pw, opts, &err), err);
    SM_ASSERT_OK(rot_db_check(c, &err), err);
    rot_db_disconnect(c);
    SM_ASSERT(can_login_as(&fresh) == (opts != NULL && opts->retain_current));
    fresh.password = new_pw;
    SM_ASSERT(can_login_as(&fresh));
}

void db_sync_to(const char *original, const char *clone, const char *target, const char *password,
                const struct rot_password_opts *opts) {
    struct sm_err err;
    struct rot_conn *a = db_admin_conn();
    struct rot_user_pair users = {.original = original, .clone = clone, .target = target};
    sm_err_clear(&err);
    SM_ASSERT_OK(rot_db_sync_alternate_user(a, &users, password, opts, &err), err);
    rot_db_disconnect(a);
}

struct rot_conn *db_admin_conn(void) {
    const struct db_server *s = db_server();
    struct rot_login l = db_login(s->admin_user, s->admin_password, ROT_TLS_REQUIRED);
    struct rot_connect_opts o = db_opts(s->ca_file);
    return db_connect_ok(&l, &o);
}

static int bound_socket(bool listening, int *fd_out) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    socklen_t len = sizeof(sa);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    SM_ASSERT(fd >= 0);
    SM_ASSERT(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    SM_ASSERT(!listening || listen(fd, 16) == 0);
    SM_ASSERT(getsockname(fd, (struct sockaddr *)&sa, &len) == 0);
    *fd_out = fd;
    return ntohs(sa.sin_port);
}

/* Bound and not listening: the kernel answers a SYN with RST. */
int db_closed_port(int *fd) {
    return bound_socket(false, fd);
}

int db_silent_listener(int *fd) {
    return bound_socket(true, fd);
}

static FILE *s_log;

void db_log_capture_begin(void) {
    s_log = tmpfile();
    SM_ASSERT(s_log != NULL);
    sm_log_configure(false, SM_LOG_INFO);
    sm_log_set_stream(s_log);
}

char *db_log_capture_end(void) {
    sm_log_set_stream(NULL);
    long n = ftell(s_log);
    char *text = calloc(1, (size_t)n + 1);
    SM_ASSERT(text != NULL);
    rewind(s_log);
    SM_ASSERT(fread(text, 1, (size_t)n, s_log) == (size_t)n);
    fclose(s_log);
    return text;
}

int db_count(const char *text, const char *needle) {
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle)) {
        n++;
    }
    return n;
}
