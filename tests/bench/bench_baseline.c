/*
 * bench_baseline: the "unavoidable cost" side of tests/bench/bench.py - what one database login
 * and one Secrets Manager round trip cost on this machine, measured with nothing else around them.
 *
 *   bench_baseline login N postgres|mysql
 *       env BENCH_DB_HOST, BENCH_DB_PORT, BENCH_DB_USER, BENCH_DB_PASSWORD, BENCH_DB_CA, and
 *       optionally BENCH_DB_ADMIN_USER, BENCH_DB_ADMIN_PASSWORD (a superuser)
 *       N rounds, each timed part by part:
 *         "library": the client library directly (libpq PQconnectdbParams / Connector/C
 *                    mysql_real_connect), verified TLS against BENCH_DB_CA, nothing else: the
 *                    floor any rotation function pays per login;
 *         "engine":  our login (rotators/db_connect.h over the engine), as a rotation step logs in
 *                    (TLS AUTO = verify-full);
 *         "check", "set_own_password": the engine's statements of testSecret and single-user
 *                    setSecret on that connection (the password is set to its own value);
 *         "sync_alternate_user": with an admin, alternating-users setSecret's statements
 *                    (USER_clone synchronised to USER, its password set), on the admin's
 *                    connection. The caller drops USER_clone afterwards.
 *   bench_baseline sm N SECRET_ID VERSION_A VERSION_B
 *       env: the Secrets Manager settings bootstrap reads (endpoint, region, credentials)
 *       N calls of each operation a rotation makes, through our client (SigV4, JSON, libcurl
 *       keep-alive - the same path bootstrap takes): DescribeSecret, GetSecretValue,
 *       GetRandomPassword, PutSecretValue (an idempotent repeat of VERSION_A's own value) and
 *       UpdateSecretVersionStage (a BENCH label moved between VERSION_A and VERSION_B).
 *
 * Prints one JSON object on stdout: {"<name>": [microseconds, ...], ...}. Passwords come from the
 * environment only and are never printed. Exit status 0, or 1 with a message on stderr.
 */
#include "clock.h"
#include "db_connect.h"
#include "engine.h"
#include "err.h"
#include "http.h"
#include "log.h"
#include "mem.h"
#include "secretsmanager_testing.h"

#include <libpq-fe.h>
#include <mysql.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t monotonic_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

#define MAX_RUNS 10000

struct series {
    const char *name;
    int64_t *us;
    size_t n;
};

static int series_init(struct series *s, const char *name, size_t cap) {
    s->name = name;
    s->n = 0;
    s->us = calloc(cap, sizeof(*s->us));
    return s->us == NULL ? -1 : 0;
}

static void print_series(const struct series *all, size_t count) {
    printf("{");
    for (size_t i = 0; i < count; i++) {
        printf("%s\"%s\": [", i == 0 ? "" : ", ", all[i].name);
        for (size_t j = 0; j < all[i].n; j++) {
            printf("%s%lld", j == 0 ? "" : ", ", (long long)all[i].us[j]);
        }
        printf("]");
    }
    printf("}\n");
}

static const char *need_env(const char *name) {
    const char *v = getenv(name);
    if (v == NULL || v[0] == '\0') {
        fprintf(stderr, "bench_baseline: %s is not set\n", name);
        return NULL;
    }
    return v;
}

/* --- logins ---------------------------------------------------------------------------------- */

static int login_library_pg(const struct rot_login *l, const char *ca, const char *port) {
    const char *keys[] = {
        "host",        "port",       "dbname",          "user", "password", "sslmode",
        "sslrootcert", "gssencmode", "connect_timeout", NULL};
    const char *vals[] = {l->host,       port, "postgres", l->username, l->password,
                          "verify-full", ca,   "disable",  "5",         NULL};
    PGconn *pg = PQconnectdbParams(keys, vals, 0);
    int ok = pg != NULL && PQstatus(pg) == CONNECTION_OK;
    if (!ok) {
        fprintf(stderr, "bench_baseline: libpq login failed: %s\n",
                pg != NULL ? PQerrorMessage(pg) : "out of memory");
    }
    PQfinish(pg);
    return ok ? 0 : -1;
}

static int login_library_mysql(const struct rot_login *l, const char *ca) {
    MYSQL *m = mysql_init(NULL);
    if (m == NULL) {
        return -1;
    }
    unsigned int tcp = MYSQL_PROTOCOL_TCP, timeout = 5;
    my_bool on = 1;
    mysql_optionsv(m, MYSQL_OPT_PROTOCOL, &tcp);
    mysql_optionsv(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    mysql_optionsv(m, MYSQL_OPT_SSL_ENFORCE, &on);
    mysql_optionsv(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &on);
    mysql_optionsv(m, MYSQL_OPT_SSL_CA, ca);
    int rc = 0;
    if (mysql_real_connect(m, l->host, l->username, l->password, NULL, (unsigned int)l->port, NULL,
                           0) == NULL) {
        fprintf(stderr, "bench_baseline: Connector/C login failed: %s\n", mysql_error(m));
        rc = -1;
    }
    mysql_close(m);
    return rc;
}

static int bench_login(const char *engine_name, long n) {
    enum { LIBRARY, ENGINE, CHECK, SET_PASSWORD, SYNC, N_SERIES };
    static const char *const names[N_SERIES] = {"library", "engine", "check", "set_own_password",
                                                "sync_alternate_user"};
    int result = 1;
    struct series s[N_SERIES] = {{0}};
    struct rot_conn *admin = NULL;
    char clone[256];
    const char *admin_user = getenv("BENCH_DB_ADMIN_USER");
    const char *admin_password = getenv("BENCH_DB_ADMIN_PASSWORD");
    int n_series = admin_user != NULL && admin_password != NULL ? N_SERIES : SYNC;
    const char *host = need_env("BENCH_DB_HOST"), *port = need_env("BENCH_DB_PORT");
    const char *user = need_env("BENCH_DB_USER"), *password = need_env("BENCH_DB_PASSWORD");
    const char *ca = need_env("BENCH_DB_CA");
    bool pg = strcmp(engine_name, "postgres") == 0;
    const struct rot_engine *engine = pg ? &rot_engine_postgres : &rot_engine_mysql;
    struct sm_err err;
    sm_err_clear(&err);

    if (host == NULL || port == NULL || user == NULL || password == NULL || ca == NULL) {
        goto out;
    }
    for (int k = 0; k < n_series; k++) {
        if (series_init(&s[k], names[k], (size_t)n) != 0) {
            goto out;
        }
    }
    if (snprintf(clone, sizeof(clone), "%s_clone", user) >= (int)sizeof(clone)) {
        goto out;
    }
    if (engine->init != NULL && engine->init(&err) != 0) {
        fprintf(stderr, "bench_baseline: engine init: %s\n", err.msg);
        goto out;
    }
    struct rot_login l = {.host = host,
                          .port = (int)strtol(port, NULL, 10),
                          .dbname = pg ? "postgres" : NULL,
                          .username = user,
                          .password = password,
                          .tls = ROT_TLS_AUTO,
                          .engine_value = engine_name};
    struct rot_connect_opts opts = {.ca_file = ca, .connect_timeout_ms = 5000, .deadline_ms = 0};
    struct rot_user_pair users = {.original = user, .clone = clone, .target = clone};
    if (n_series == N_SERIES) {
        struct rot_login a = l;
        a.username = admin_user;
        a.password = admin_password;
        if (rot_db_connect(engine, &a, &opts, &admin, &err) != 0) {
            fprintf(stderr, "bench_baseline: admin login failed: %s\n", err.msg);
            goto out;
        }
    }
    /* One untimed round first: the first TLS handshake loads the CA file and OpenSSL's tables,
     * which a warm rotation has already paid. The statements are the engine's own, as the steps
     * run them: testSecret's check, single-user setSecret's password change (to the same
     * password, so the next round still logs in) and, given an admin, alternating-users
     * setSecret's clone sync (the untimed round creates USER_clone; the caller drops it). */
    for (long i = -1; i < n; i++) {
        int64_t t[6];
        struct rot_conn *conn = NULL;
        t[0] = monotonic_us();
        int rc = pg ? login_library_pg(&l, ca, port) : login_library_mysql(&l, ca);
        t[1] = monotonic_us();
        if (rc == 0 && rot_db_connect(engine, &l, &opts, &conn, &err) != 0) {
            fprintf(stderr, "bench_baseline: engine login failed: %s\n", err.msg);
            rc = -1;
        }
        t[2] = monotonic_us();
        if (rc == 0 && rot_db_check(conn, &err) != 0) {
            fprintf(stderr, "bench_baseline: check failed: %s\n", err.msg);
            rc = -1;
        }
        t[3] = monotonic_us();
        if (rc == 0 && rot_db_set_own_password(conn, user, password, password, NULL, &err) != 0) {
            fprintf(stderr, "bench_baseline: set_own_password failed: %s\n", err.msg);
            rc = -1;
        }
        t[4] = monotonic_us();
        if (rc == 0 && admin != NULL &&
            rot_db_sync_alternate_user(admin, &users, password, NULL, &err) != 0) {
            fprintf(stderr, "bench_baseline: sync_alternate_user failed: %s\n", err.msg);
            rc = -1;
        }
        t[5] = monotonic_us();
        rot_db_disconnect(conn);
        if (rc != 0) {
            goto out;
        }
        if (i >= 0) {
            for (int k = 0; k < n_series; k++) {
                s[k].us[s[k].n++] = t[k + 1] - t[k];
            }
        }
    }
    print_series(s, (size_t)n_series);
    result = 0;
out:
    rot_db_disconnect(admin);
    for (int k = 0; k < N_SERIES; k++) {
        free(s[k].us);
    }
    return result;
}

/* --- Secrets Manager ------------------------------------------------------------------------- */

enum { OP_DESCRIBE, OP_GET, OP_RANDOM, OP_PUT, OP_STAGE, OP_COUNT };

static int one_call(struct aws_client *c, int op, long i, const char *id, const char *va,
                    const char *vb, const struct secrets_value *value, struct sm_err *err) {
    int rc = -1;
    switch (op) {
    case OP_DESCRIBE: {
        struct secrets_description d;
        memset(&d, 0, sizeof(d));
        rc = secrets_describe_secret(c, id, 0, &d, err);
        secrets_description_clean_up(&d);
        break;
    }
    case OP_GET: {
        struct secrets_value v = {0};
        rc = secrets_get_secret_value(c, id, NULL, "AWSCURRENT", 0, &v, err);
        secrets_value_clean_up(&v);
        break;
    }
    case OP_RANDOM: {
        struct secrets_password_policy p = {.length = 32,
                                            .exclude_characters = "/@\"'\\",
                                            .exclude_numbers = SECRETS_UNSET,
                                            .exclude_punctuation = SECRETS_UNSET,
                                            .exclude_uppercase = SECRETS_UNSET,
                                            .exclude_lowercase = SECRETS_UNSET,
                                            .include_space = SECRETS_UNSET,
                                            .require_each_included_type = SECRETS_TRUE};
        struct sm_buf out;
        sm_buf_init(&out, 4096);
        rc = secrets_get_random_password(c, &p, 0, &out, err);
        sm_buf_clean_up(&out);
        break;
    }
    case OP_PUT: {
        const char *stages[] = {"AWSCURRENT"};
        rc = secrets_put_secret_value(c, id, va, value->secret_string, value->secret_string_len,
                                      stages, 1, NULL, 0, err);
        break;
    }
    case OP_STAGE:
        rc = secrets_update_secret_version_stage(c, id, "BENCH", i % 2 == 0 ? vb : va,
                                                 i % 2 == 0 ? va : vb, 0, err);
        break;
    }
    return rc;
}

static int bench_sm(long n, const char *id, const char *va, const char *vb) {
    static const char *const names[OP_COUNT] = {"DescribeSecret", "GetSecretValue",
                                                "GetRandomPassword", "PutSecretValue",
                                                "UpdateSecretVersionStage"};
    int result = 1;
    struct sm_err err;
    struct aws_config cfg = {0};
    struct aws_client client;
    char *endpoint = NULL;
    struct http_client http = {0};
    struct series s[OP_COUNT] = {{0}};
    struct secrets_value a = {0};
    sm_err_clear(&err);

    if (http_global_init(&err) != 0 || http_client_init(&http, &err) != 0 ||
        aws_config_from_env(&cfg, &err) != 0 ||
        secrets_endpoint_from_env(&cfg, &endpoint, &err) != 0 ||
        secrets_client_init(&client, &cfg, endpoint, &http, &err) != 0) {
        fprintf(stderr, "bench_baseline: %s\n", err.msg);
        goto out;
    }
    /* VERSION_A's own value, for idempotent PutSecretValue repeats; BENCH starts on VERSION_A. */
    if (secrets_get_secret_value(&client, id, va, NULL, 0, &a, &err) != 0 ||
        secrets_update_secret_version_stage(&client, id, "BENCH", va, NULL, 0, &err) != 0) {
        fprintf(stderr, "bench_baseline: set-up: %s\n", err.msg);
        goto out;
    }
    for (int op = 0; op < OP_COUNT; op++) {
        if (series_init(&s[op], names[op], (size_t)n) != 0) {
            goto out;
        }
    }
    /* Interleaved, so a slow moment of the machine spreads over every operation. */
    for (long i = 0; i < n; i++) {
        for (int op = 0; op < OP_COUNT; op++) {
            int64_t t0 = monotonic_us();
            if (one_call(&client, op, i, id, va, vb, &a, &err) != 0) {
                fprintf(stderr, "bench_baseline: %s: %s\n", names[op], err.msg);
                goto out;
            }
            s[op].us[s[op].n++] = monotonic_us() - t0;
        }
    }
    print_series(s, OP_COUNT);
    result = 0;
out:
    secrets_value_clean_up(&a);
    for (int op = 0; op < OP_COUNT; op++) {
        free(s[op].us);
    }
    http_client_clean_up(&http);
    aws_config_clean_up(&cfg);
    sm_free(endpoint);
    return result;
}

int main(int argc, char **argv) {
    sm_mem_install_hooks();
    sm_log_configure(false, SM_LOG_ERROR);
    long n = argc > 2 ? strtol(argv[2], NULL, 10) : 0;
    if (n < 1 || n > MAX_RUNS) {
        n = 0;
    }
    if (n > 0 && argc == 4 && strcmp(argv[1], "login") == 0 &&
        (strcmp(argv[3], "postgres") == 0 || strcmp(argv[3], "mysql") == 0)) {
        return bench_login(argv[3], n);
    }
    if (n > 0 && argc == 6 && strcmp(argv[1], "sm") == 0) {
        return bench_sm(n, argv[3], argv[4], argv[5]);
    }
    fprintf(stderr, "usage: bench_baseline login N postgres|mysql\n"
                    "       bench_baseline sm N SECRET_ID VERSION_A VERSION_B\n");
    return 2;
}
