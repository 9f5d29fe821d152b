/*
 * Wiping proof (STYLE.md: "Buffers that held a secret are wiped before they are freed"), under
 * the checking allocator of SM_TORTURE builds (runtime/mem.h, sm_mem_check_*): between
 * sm_mem_check_begin and sm_mem_check_end every block freed with sm_free is wiped and kept in a
 * quarantine instead of going back to libc, and every live block stays listed. After an
 * operation that handled a password, the tests search
 *   (1) every live sm_ block and every quarantined (freed) block for the password bytes, and
 *       check that every quarantined block is all zeros;
 *   (2) in builds without AddressSanitizer, the whole writable memory of the process (heap,
 *       anonymous mappings, stack; /proc/self/maps) minus the test's own copies, which also
 *       covers memory the project does not allocate: libc's heap as used by libpq and OpenSSL.
 * tests/torture.cmake registers them only in SM_TORTURE builds (labels torture, wipe); the
 * PostgreSQL case needs the `postgres` fixture.
 *
 * What a pass shows and what it does not: sm_ memory (ours, cJSON's through the hooks, libcurl's
 * through curl_global_init_mem) never keeps a password once freed, and nothing live keeps it
 * after the step. Scan (2) reports where else a copy survives. It cannot see memory the kernel
 * holds (socket buffers) or another process (the emulator, the database server).
 */
#include "buf.h"
#include "clock.h"
#include "config.h"
#include "engine.h"
#include "fake_engine.h"
#include "fakes/fake_sm_process.h"
#include "harness.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "mem.h"
#include "rotation.h"
#include "secretsmanager.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define PROCESS_SCAN 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PROCESS_SCAN 0
#endif
#endif
#ifndef PROCESS_SCAN
#define PROCESS_SCAN 1
#endif

#define AKID "AKIDWIPETEST00000001"
#define SECRET_KEY "wipeSecretKey/For+Tests0123456789abcdefgh"
#define TOKEN "7d3b9f10-2c4e-4a8b-9f6d-5e1a2b3c4d5e"
#define INITIAL_PW "initial-Wipe-Password-Zq8"

/* ---- scans ----------------------------------------------------------------------------------- */

/* Scan (1): the password must be in no live and no freed sm_ block; freed blocks are all zero. */
static void assert_allocator_clean(const char *what, const char *password) {
    struct sm_mem_check c;
    sm_mem_check_scan(password, strlen(password), &c);
    printf("%s: %zu live blocks (%zu bytes), %zu freed blocks (%zu bytes) checked\n", what,
           c.live_blocks, c.live_bytes, c.freed_blocks, c.freed_bytes);
    SM_ASSERT(c.freed_blocks > 0); /* the quarantine was really in use */
    if (c.found_live != 0 || c.found_freed != 0 || c.freed_not_zero != 0) {
        SM_FAIL("%s: the password is in %zu live and %zu freed blocks; %zu freed blocks are not "
                "zero",
                what, c.found_live, c.found_freed, c.freed_not_zero);
    }
}

struct range {
    uintptr_t lo, hi;
};

/* Scan (2): occurrences of needle in the process's readable, writable private mappings outside
 * the skip ranges. Prints where each hit lies. Returns the count. */
static size_t scan_needle(const char *what, const char *needle, size_t n, const struct range *skip,
                          size_t n_skip) {
    size_t hits = 0;
    FILE *maps = fopen("/proc/self/maps", "r");
    SM_ASSERT(maps != NULL);
    char line[1024];
    while (fgets(line, sizeof(line), maps) != NULL) {
        unsigned long lo = 0, hi = 0;
        char perms[8] = "";
        int path_at = 0;
        if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %n", &lo, &hi, perms, &path_at) < 3) {
            continue;
        }
        const char *path = line + path_at;
        if (perms[0] != 'r' || perms[1] != 'w' || strncmp(path, "[vvar]", 6) == 0 ||
            strncmp(path, "[vsyscall]", 10) == 0) {
            continue;
        }
        for (uintptr_t p = lo; p + n <= hi; p++) {
            const unsigned char *b = (const unsigned char *)p;
            if (*b != (unsigned char)needle[0] || memcmp(b, needle, n) != 0) {
                continue;
            }
            bool skipped = false;
            for (size_t k = 0; k < n_skip && !skipped; k++) {
                skipped = p >= skip[k].lo && p < skip[k].hi;
            }
            if (!skipped) {
                hits++;
                printf("%s: a copy at %#lx in %#lx-%#lx %s", what, (unsigned long)p, lo, hi,
                       path[0] != '\0' ? path : "(anonymous)\n");
            }
        }
    }
    fclose(maps);
    return hits;
}

/* Scan (2) for a password: the whole of it, and also its last 12 bytes, because libc's free
 * overwrites the first 16 bytes of a chunk with its list pointers: a freed, unwiped copy shows
 * only as its tail. Returns the hits of both searches. */
static size_t process_hits(const char *what, const char *password, const struct range *skip,
                           size_t n_skip) {
    size_t n = strlen(password);
    SM_ASSERT(n >= 28); /* a tail of 12 that starts past the 16 clobbered bytes */
    char label[128];
    snprintf(label, sizeof(label), "%s (tail)", what);
    return scan_needle(what, password, n, skip, n_skip) +
           scan_needle(label, password + n - 12, 12, skip, n_skip);
}

static struct range range_of(const void *p, size_t n) {
    struct range r = {(uintptr_t)p, (uintptr_t)p + n};
    return r;
}

/* Scan (2) must find no copy of password outside skip (the test's own copies). A control copy
 * in libc's heap, found and then wiped first, shows the scan looks where it should. */
static void assert_process_clean(const char *what, const char *password, const struct range *skip,
                                 size_t n_skip) {
    if (!PROCESS_SCAN) {
        printf("%s: whole-process scan skipped (AddressSanitizer build)\n", what);
        return;
    }
    size_t n = strlen(password) + 1;
    char *probe = malloc(n);
    SM_ASSERT(probe != NULL);
    memcpy(probe, password, n);
    SM_ASSERT_INT_EQ(process_hits("control copy", password, skip, n_skip), 2);
    sm_wipe(probe, n);
    free(probe);
    SM_ASSERT_INT_EQ(process_hits(what, password, skip, n_skip), 0);
}

/* ---- the allocator itself ------------------------------------------------------------------ */

SM_TEST(wipe_freed_block_is_zero_and_kept_out_of_reuse) {
    SM_ASSERT(sm_mem_check_begin());
    static const char pw[] = "Fr3ed-Block-Password";
    char *p = sm_strdup(pw);
    SM_ASSERT(p != NULL);
    struct sm_mem_check c;
    sm_mem_check_scan(pw, strlen(pw), &c);
    SM_ASSERT_INT_EQ(c.found_live, 1); /* the scanner sees live blocks */
    sm_free(p);
    /* The block is quarantined, not returned to libc: it can be read, and it is all zeros. */
    for (size_t i = 0; i < sizeof(pw); i++) {
        SM_ASSERT_INT_EQ(((volatile unsigned char *)p)[i], 0);
    }
    sm_mem_check_scan(pw, strlen(pw), &c);
    SM_ASSERT_INT_EQ(c.found_live + c.found_freed, 0);
    SM_ASSERT_INT_EQ(c.freed_not_zero, 0);
    SM_ASSERT(c.freed_blocks >= 1);
    /* A write after free would show as a non-zero quarantined block. */
    ((volatile char *)p)[3] = 'x';
    sm_mem_check_scan(pw, strlen(pw), &c);
    SM_ASSERT_INT_EQ(c.freed_not_zero, 1);
    ((volatile char *)p)[3] = '\0';
    /* sm_realloc leaves no unwiped copy of the old block. */
    char *q = sm_strdup(pw);
    q = sm_realloc(q, 4096);
    SM_ASSERT(q != NULL);
    sm_mem_check_scan(pw, strlen(pw), &c);
    SM_ASSERT_INT_EQ(c.found_live, 1);
    SM_ASSERT_INT_EQ(c.found_freed, 0);
    sm_free(q);
    sm_mem_check_end();
}

SM_TEST(wipe_cjson_secret_string_leaves_no_copy) {
    sm_mem_install_hooks();
    SM_ASSERT(sm_mem_check_begin());
    static const char pw[] = "cJSON-Hook-Password-77";
    const char *text = "{\"engine\":\"postgres\",\"host\":\"h\",\"username\":\"u\","
                       "\"password\":\"cJSON-Hook-Password-77\",\"x\":[1,{\"y\":\"z\"}]}";
    char *copy = sm_strdup(text); /* the SecretString as the client would hold it */
    struct sm_err err;
    cJSON *j = sm_json_parse(copy, strlen(copy), SM_ERR_SECRET_INVALID, "the secret", &err);
    SM_ASSERT(j != NULL);
    SM_ASSERT_SECRET_EQ(sm_json_string(j, "password"), pw);
    struct sm_buf printed;
    sm_buf_init(&printed, SM_LIMIT_SECRET_STRING);
    SM_ASSERT_OK(sm_json_print(j, &printed, &err), err);
    struct sm_mem_check c;
    sm_mem_check_scan(pw, strlen(pw), &c);
    SM_ASSERT_INT_EQ(c.found_live, 3); /* the text, cJSON's value node, the printed copy */
    sm_buf_clean_up(&printed);
    cJSON_Delete(j);
    sm_free(copy);
    assert_allocator_clean("cJSON parse, print, delete", pw);
    sm_mem_check_end();
}

/* ---- a full rotation: emulator + fake engine ------------------------------------------------- */

SM_TEST(wipe_full_rotation_leaves_no_password_behind) {
    struct fake_sm sm;
    struct http_client http = {0};
    struct smc_config cfg;
    struct smc_client client;
    struct rot_config rcfg;
    struct sm_err err;
    sm_log_configure(false, SM_LOG_WARN);
    fake_db_reset();
    fake_db_set_user("app", INITIAL_PW);
    fake_sm_start(&sm, AKID, SECRET_KEY, NULL);
    setenv("AWS_REGION", "us-east-1", 1);
    setenv("AWS_ACCESS_KEY_ID", AKID, 1);
    setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY, 1);
    unsetenv("AWS_SESSION_TOKEN");
    setenv("SECRETS_MANAGER_ENDPOINT", sm.endpoint, 1);
    SM_ASSERT_OK(smc_config_from_env(&cfg, &err), err);
    SM_ASSERT_OK(http_client_init(&http, &err), err);
    smc_client_init(&client, &cfg, &http);
    SM_ASSERT_OK(rot_config_from_env("single-user", &rcfg, &err), err);
    struct rot_context ctx = {.sm = &client, .engines = fake_registry, .config = &rcfg};

    /* Setup through the emulator's API (the initial password passes through here, before the
     * check starts: only the new password is searched for). */
    const char *create = "{\"Name\":\"wipe/app\",\"ClientRequestToken\":"
                         "\"00000000-0000-4000-8000-000000000001\",\"SecretString\":"
                         "\"{\\\"engine\\\":\\\"fake\\\",\\\"host\\\":\\\"db\\\",\\\"username\\\":"
                         "\\\"app\\\",\\\"password\\\":\\\"" INITIAL_PW "\\\"}\"}";
    cJSON *out = NULL;
    SM_ASSERT_OK(smc_call(&client, "CreateSecret", NULL, create, strlen(create), 0, &out, &err),
                 err);
    char arn[512];
    snprintf(arn, sizeof(arn), "%s", sm_json_string(out, "ARN"));
    cJSON_Delete(out);
    char rotate[1024];
    snprintf(rotate, sizeof(rotate),
             "{\"SecretId\":\"%s\",\"ClientRequestToken\":\"" TOKEN "\",\"RotationLambdaARN\":"
             "\"arn:aws:lambda:us-east-1:123456789012:function:smrotate\"}",
             arn);
    SM_ASSERT_OK(smc_call(&client, "RotateSecret", NULL, rotate, strlen(rotate), 0, &out, &err),
                 err);
    cJSON_Delete(out);

    SM_ASSERT(sm_mem_check_begin());
    struct rot_event ev = {.secret_id = arn, .token = TOKEN};
    for (int s = ROT_STEP_CREATE; s <= ROT_STEP_FINISH; s++) {
        ev.step = (enum rot_step)s;
        SM_ASSERT_OK(rot_run_step(&ctx, &ev, sm_now_ms() + 30000, &err), err);
    }
    /* The new password, as the database got it (fake_db is static memory, not sm_). */
    char pw[512];
    snprintf(pw, sizeof(pw), "%s", fake_db_password("app"));
    SM_ASSERT(strcmp(pw, INITIAL_PW) != 0 && strlen(pw) >= 16);

    /* With the HTTP handle still open, libcurl's live receive buffer may hold the last bytes it
     * read; report it (it is live memory, wiped when the handle goes). */
    struct sm_mem_check c;
    sm_mem_check_scan(pw, strlen(pw), &c);
    printf("with the HTTP handle open: the new password is in %zu live block(s)\n", c.found_live);
    SM_ASSERT_INT_EQ(c.found_freed, 0);
    SM_ASSERT_INT_EQ(c.freed_not_zero, 0);
    http_client_clean_up(&http);
    assert_allocator_clean("after the four steps, handle closed (new password)", pw);
    assert_allocator_clean("after the four steps, handle closed (old password)", INITIAL_PW);
    struct range skip[] = {range_of(pw, sizeof(pw)), range_of(&fake_db, sizeof(fake_db))};
    assert_process_clean("new password, whole process", pw, skip, 2);
    sm_mem_check_end();
    rot_config_clean_up(&rcfg);
    smc_config_clean_up(&cfg);
    fake_sm_stop(&sm);
}

/* ---- the PostgreSQL engine ------------------------------------------------------------------- */

#define ENV_MAX 32
static char s_keys[ENV_MAX][64];
static char s_vals[ENV_MAX][512];
static int s_nenv = -1;

/* A value of the postgres fixture's postgres.env (see tests/scripts/postgres.sh). */
static const char *pg_env(const char *key) {
    if (s_nenv < 0) {
        char path[1024];
        const char *state = getenv("SMR_STATE_DIR");
        SM_ASSERT(state != NULL);
        snprintf(path, sizeof(path), "%s/postgres/postgres.env", state);
        FILE *f = fopen(path, "r");
        if (f == NULL) {
            SM_FAIL("cannot open %s: is the postgres fixture running?", path);
        }
        char line[700];
        s_nenv = 0;
        while (fgets(line, sizeof(line), f) != NULL && s_nenv < ENV_MAX) {
            line[strcspn(line, "\r\n")] = '\0';
            char *eq = strchr(line, '=');
            if (eq != NULL) {
                *eq = '\0';
                snprintf(s_keys[s_nenv], sizeof(s_keys[0]), "%.63s", line);
                snprintf(s_vals[s_nenv], sizeof(s_vals[0]), "%.511s", eq + 1);
                s_nenv++;
            }
        }
        fclose(f);
    }
    for (int i = 0; i < s_nenv; i++) {
        if (strcmp(s_keys[i], key) == 0) {
            return s_vals[i];
        }
    }
    SM_FAIL("%s missing from postgres.env", key);
}

/* Runs one admin statement in a child process, so that none of libpq's buffers holding it
 * (the query text may carry a password) ever exist in this process. */
static void admin_sql(const char *sql) {
    fflush(NULL);
    pid_t pid = fork();
    SM_ASSERT(pid >= 0);
    if (pid == 0) {
        const char *k[] = {"host",     "port",    "dbname",     "user",
                           "password", "sslmode", "gssencmode", NULL};
        const char *v[] = {
            pg_env("PG_HOST"),           pg_env("PG_PORT"), "postgres", pg_env("PG_ADMIN_USER"),
            pg_env("PG_ADMIN_PASSWORD"), "disable",         "disable",  NULL};
        PGconn *c = PQconnectdbParams(k, v, 0);
        int ok = PQstatus(c) == CONNECTION_OK;
        if (ok) {
            PGresult *r = PQexec(c, sql);
            ok = PQresultStatus(r) == PGRES_COMMAND_OK;
            if (!ok) {
                fprintf(stderr, "admin statement failed: %s\n",
                        PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY));
            }
            PQclear(r);
        } else {
            fprintf(stderr, "admin login failed: %s\n", PQerrorMessage(c));
        }
        PQfinish(c);
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    SM_ASSERT(waitpid(pid, &status, 0) == pid);
    SM_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

SM_TEST(wipe_postgres_login_and_password_change_leave_no_password_behind) {
    sm_log_configure(false, SM_LOG_WARN);
    char user[64], sql[512];
    snprintf(user, sizeof(user), "wipe_%ld", (long)getpid());
    /* Random-looking, distinct passwords; only this process and the server know them. */
    static char old_pw[48], new_pw[48];
    snprintf(old_pw, sizeof(old_pw), "Old-Wipe-%ld-Qx7Lp2Rv9-Tb5Nc1Wj6", (long)getpid());
    snprintf(new_pw, sizeof(new_pw), "New-Wipe-%ld-Hz4Kd8Mw3-Yg2Fs7Pe0", (long)getpid());
    snprintf(sql, sizeof(sql), "DROP ROLE IF EXISTS %s", user);
    admin_sql(sql);
    snprintf(sql, sizeof(sql), "CREATE ROLE %s LOGIN PASSWORD '%s'", user, old_pw);
    admin_sql(sql);
    sm_wipe(sql, sizeof(sql)); /* the test's own copy, not the engine's */

    const struct rot_engine *e = &rot_engine_postgres;
    struct sm_err err;
    if (e->init != NULL) {
        SM_ASSERT_OK(e->init(&err), err);
    }
    SM_ASSERT(sm_mem_check_begin());
    struct rot_login login = {.host = pg_env("PG_HOST"),
                              .port = (int)strtol(pg_env("PG_PORT"), NULL, 10),
                              .username = user,
                              .password = old_pw,
                              .tls = ROT_TLS_REQUIRED};
    struct rot_connect_opts opts = {.ca_file = pg_env("PG_CA_FILE"), .connect_timeout_ms = 5000};
    struct rot_conn *conn = NULL;
    SM_ASSERT_OK(e->connect(&login, &opts, &conn, &err), err);
    SM_ASSERT_OK(e->set_own_password(conn, user, new_pw, &err), err);
    e->disconnect(conn);
    /* The change took: a login with the new password works (then that connection goes too). */
    login.password = new_pw;
    SM_ASSERT_OK(e->connect(&login, &opts, &conn, &err), err);
    e->disconnect(conn);

    assert_allocator_clean("PostgreSQL engine (old password)", old_pw);
    assert_allocator_clean("PostgreSQL engine (new password)", new_pw);
    /* libpq and OpenSSL allocate with libc's malloc: this is where their copies would be. */
    struct range skip[] = {range_of(old_pw, sizeof(old_pw)), range_of(new_pw, sizeof(new_pw))};
    assert_process_clean("PostgreSQL old password, whole process", old_pw, skip, 2);
    assert_process_clean("PostgreSQL new password, whole process", new_pw, skip, 2);
    sm_mem_check_end();
    snprintf(sql, sizeof(sql), "DROP ROLE IF EXISTS %s", user);
    admin_sql(sql);
}
