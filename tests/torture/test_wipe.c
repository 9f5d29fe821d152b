/*
 * Wiping proof (STYLE.md: "Buffers that held a secret are wiped before they are freed"), under
 * the checking allocator of SM_TORTURE builds (runtime/mem.h, sm_mem_check_*): between
 * sm_mem_check_begin and sm_mem_check_end every block freed with sm_free is wiped and kept in a
 * quarantine instead of going back to libc, and every live block stays listed. After an
 * operation that handled a password, the tests search
 *   (1) every live sm_ block and every quarantined (freed) block for the password bytes, and
 *       check that every quarantined block is all zeros: memory we own, a hit fails;
 *   (2) in builds without AddressSanitizer, the whole writable memory of the process
 *       (/proc/self/maps) minus the test's own copies. A hit in the writable data of our own
 *       executable fails; a hit elsewhere (libc's heap as used by libpq, OpenSSL and libcurl,
 *       the stack, anonymous mappings) is reported with its place but does not fail, because
 *       that memory belongs to libraries we cannot wipe, and what it holds changes with their
 *       point releases.
 * tests/torture.cmake registers them only in SM_TORTURE builds (labels torture, wipe); the
 * PostgreSQL case needs the `postgres` fixture.
 *
 * Why (2) is not strict on the stack: on a fresh Debian 12 machine (libpq5 15.18) the old
 * password's tail showed up on the stack on every run. It was not a frame of ours nor of libpq:
 * glibc's lazy symbol resolution (_dl_runtime_resolve_xsavec) saves the vector registers on the
 * stack, and they still held bytes that memcmp/strlen had loaded - the scanner's own compares
 * among them. The scanner therefore compares byte by byte through volatile loads, the binary is
 * linked with -z now and run with LD_BIND_NOW=1 (tests/torture.cmake) so no lazy resolution
 * happens, and stack hits are reported, not failed: a register spill or a library's frame is
 * not memory we own.
 *
 * What a pass shows and what it does not: sm_ memory (ours, cJSON's through the hooks, libcurl's
 * through curl_global_init_mem) never keeps a password once freed, nothing live keeps it after
 * the step, and our static data holds no copy. Scan (2) reports where else a copy survives. It
 * cannot see memory the kernel holds (socket buffers) or another process (the emulator, the
 * database server).
 */
#include "buf.h"
#include "clock.h"
#include "config.h"
#include "db_connect.h"
#include "engine.h"
#include "fake_engine.h"
#include "fakes/fake_aws_process.h"
#include "harness.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "mem_testing.h"
#include "rotation.h"
#include "secretsmanager_testing.h"

#include <libpq-fe.h>
#include <link.h>
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

/* Whether needle[0..n) is at p. Byte by byte through volatile loads, so that the scanner never
 * holds the password in a vector register that something could later spill onto the stack. */
static bool equal_at(const volatile unsigned char *p, const volatile char *needle, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (p[i] != (unsigned char)needle[i]) {
            return false;
        }
    }
    return true;
}

struct hits {
    size_t ours;  /* in our executable's writable data: fails */
    size_t other; /* libc's heap, the stack, anonymous mappings: reported */
};

/* The writable segments (.data, .bss) of our executable: memory we own. */
struct own_data {
    struct range r[4];
    size_t n;
};

static int collect_own_data(struct dl_phdr_info *info, size_t size, void *arg) {
    (void)size;
    struct own_data *d = arg;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_W) != 0 && d->n < 4) {
            uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
            d->r[d->n].lo = lo;
            d->r[d->n].hi = lo + ph->p_memsz;
            d->n++;
        }
    }
    return 1; /* the first object is the executable itself */
}

/* Scan (2): occurrences of needle in the process's readable, writable private mappings outside
 * the skip ranges. Prints where each hit lies, and adds it to *h. */
static void scan_needle(const char *what, const char *needle, size_t n, const struct range *skip,
                        size_t n_skip, struct hits *h) {
    struct own_data own = {.n = 0};
    dl_iterate_phdr(collect_own_data, &own);
    SM_ASSERT(own.n > 0);
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
        char *path = line + path_at;
        path[strcspn(path, "\n")] = '\0';
        if (perms[0] != 'r' || perms[1] != 'w' || strncmp(path, "[vvar]", 6) == 0 ||
            strncmp(path, "[vsyscall]", 10) == 0) {
            continue;
        }
        for (uintptr_t p = lo; p + n <= hi; p++) {
            if (!equal_at((const volatile unsigned char *)p, needle, n)) {
                continue;
            }
            bool skipped = false;
            for (size_t k = 0; k < n_skip && !skipped; k++) {
                skipped = p >= skip[k].lo && p < skip[k].hi;
            }
            if (skipped) {
                continue;
            }
            bool ours = false;
            for (size_t k = 0; k < own.n && !ours; k++) {
                ours = p >= own.r[k].lo && p < own.r[k].hi;
            }
            *(ours ? &h->ours : &h->other) += 1;
            printf("%s: a copy at %#lx in %#lx-%#lx %s (%s)\n", what, (unsigned long)p, lo, hi,
                   path[0] != '\0' ? path : "(anonymous)",
                   ours ? "ours: our executable's data"
                        : "not ours: libc, a library or the stack; reported only");
        }
    }
    fclose(maps);
}

/* Scan (2) for a password: the whole of it, and also its last 12 bytes, because libc's free
 * overwrites the first 16 bytes of a chunk with its list pointers: a freed, unwiped copy shows
 * only as its tail. */
static struct hits process_hits(const char *what, const char *password, const struct range *skip,
                                size_t n_skip) {
    struct hits h = {0, 0};
    size_t n = strlen(password);
    SM_ASSERT(n >= 28); /* a tail of 12 that starts past the 16 clobbered bytes */
    char label[128];
    snprintf(label, sizeof(label), "%s (tail)", what);
    scan_needle(what, password, n, skip, n_skip, &h);
    scan_needle(label, password + n - 12, 12, skip, n_skip, &h);
    return h;
}

static struct range range_of(const void *p, size_t n) {
    struct range r = {(uintptr_t)p, (uintptr_t)p + n};
    return r;
}

/* A control copy in our executable's data, to show that such a copy is classed as ours. */
static volatile char s_control[128];

/* Scan (2): no copy of password in our executable's data outside skip (the test's own copies);
 * copies elsewhere are reported. Control copies in libc's heap and in our static data, found
 * where they are and then wiped, show that the scan looks where it should and classes what it
 * finds correctly. */
static void assert_process_clean(const char *what, const char *password, const struct range *skip,
                                 size_t n_skip) {
    if (!PROCESS_SCAN) {
        printf("%s: whole-process scan skipped (AddressSanitizer build)\n", what);
        return;
    }
    size_t n = strlen(password) + 1;
    SM_ASSERT(n <= sizeof(s_control));
    volatile char *probe = malloc(n);
    SM_ASSERT(probe != NULL);
    for (size_t i = 0; i < n; i++) {
        probe[i] = password[i];
        s_control[i] = password[i];
    }
    struct hits control = process_hits("control copies", password, skip, n_skip);
    SM_ASSERT_INT_EQ(control.ours, 2); /* s_control: the whole copy and its tail */
    SM_ASSERT(control.other >= 2);     /* the heap copy: the whole copy and its tail */
    sm_wipe((void *)probe, n);
    free((void *)probe);
    sm_wipe((void *)s_control, sizeof(s_control));
    struct hits h = process_hits(what, password, skip, n_skip);
    printf("%s: %zu copies in our executable's data, %zu elsewhere (reported)\n", what, h.ours,
           h.other);
    SM_ASSERT_INT_EQ(h.ours, 0);
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
    cJSON *j = sm_json_parse(copy, strlen(copy), ROT_ERR_SECRET_INVALID, "the secret", &err);
    SM_ASSERT(j != NULL);
    SM_ASSERT_SECRET_EQ(sm_json_string(j, "password"), pw);
    struct sm_buf printed;
    sm_buf_init(&printed, SM_LIMIT_SECRET_STRING);
    SM_ASSERT_OK(sm_json_print(j, &printed, &err), err);
    /* The three copies we know of live in sm_ blocks: the text, the value cJSON's parser
     * allocated through our hooks, and the printed buffer. Each is checked by its own pointer
     * (hiding one occurrence removes exactly one hit from the scan), not by a total count: how
     * many more blocks cJSON uses on the way is its business, and scan (1) after the delete
     * covers them all. */
    char *owners[] = {strstr(copy, pw), (char *)sm_json_string(j, "password"),
                      strstr(printed.data, pw)};
    struct sm_mem_check c;
    sm_mem_check_scan(pw, strlen(pw), &c);
    size_t all = c.found_live;
    for (size_t i = 0; i < sizeof(owners) / sizeof(owners[0]); i++) {
        SM_ASSERT(owners[i] != NULL && memcmp(owners[i], pw, strlen(pw)) == 0);
        owners[i][0] ^= 0x20; /* no longer the password */
        sm_mem_check_scan(pw, strlen(pw), &c);
        owners[i][0] ^= 0x20;
        if (c.found_live + 1 != all) {
            SM_FAIL(
                "copy %zu of the password is not in a live sm_ block (%zu hits, %zu without it)", i,
                all, c.found_live);
        }
    }
    sm_buf_clean_up(&printed);
    cJSON_Delete(j);
    sm_free(copy);
    assert_allocator_clean("cJSON parse, print, delete", pw);
    sm_mem_check_end();
}

/* ---- a full rotation: emulator + fake engine ------------------------------------------------- */

SM_TEST(wipe_full_rotation_leaves_no_password_behind) {
    struct fake_aws fake;
    struct http_client http = {0};
    struct aws_config cfg;
    char *endpoint = NULL;
    struct aws_client client;
    struct rot_config rcfg;
    struct sm_err err;
    sm_log_configure(false, SM_LOG_WARN);
    fake_db_reset();
    fake_db_set_user("app", INITIAL_PW);
    fake_aws_start_secretsmanager(&fake, AKID, SECRET_KEY, NULL);
    setenv("AWS_REGION", "us-east-1", 1);
    setenv("AWS_ACCESS_KEY_ID", AKID, 1);
    setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY, 1);
    unsetenv("AWS_SESSION_TOKEN");
    setenv("SECRETS_MANAGER_ENDPOINT", fake.endpoint, 1);
    SM_ASSERT_OK(aws_config_from_env(&cfg, &err), err);
    SM_ASSERT_OK(secrets_endpoint_from_env(&cfg, &endpoint, &err), err);
    SM_ASSERT_OK(http_client_init(&http, &err), err);
    SM_ASSERT_OK(secrets_client_init(&client, &cfg, endpoint, &http, &err), err);
    SM_ASSERT_OK(rot_config_from_env("single-user", &rcfg, &err), err);
    /* The real client over HTTP, not the in-process fake: its buffers are what this checks. */
    struct rot_context ctx = {
        .secrets = {&secrets_client_ops, &client}, .engines = fake_registry, .config = &rcfg};

    /* Setup through the emulator's API (the initial password passes through here, before the
     * check starts: only the new password is searched for). */
    const char *create = "{\"Name\":\"wipe/app\",\"ClientRequestToken\":"
                         "\"00000000-0000-4000-8000-000000000001\",\"SecretString\":"
                         "\"{\\\"engine\\\":\\\"fake\\\",\\\"host\\\":\\\"db\\\",\\\"username\\\":"
                         "\\\"app\\\",\\\"password\\\":\\\"" INITIAL_PW "\\\"}\"}";
    cJSON *out = NULL;
    SM_ASSERT_OK(secrets_call(&client, "CreateSecret", NULL, create, strlen(create), 0, &out, &err),
                 err);
    char arn[512];
    snprintf(arn, sizeof(arn), "%s", sm_json_string(out, "ARN"));
    cJSON_Delete(out);
    char rotate[1024];
    snprintf(rotate, sizeof(rotate),
             "{\"SecretId\":\"%s\",\"ClientRequestToken\":\"" TOKEN "\",\"RotationLambdaARN\":"
             "\"arn:aws:lambda:us-east-1:123456789012:function:smrotate\"}",
             arn);
    SM_ASSERT_OK(secrets_call(&client, "RotateSecret", NULL, rotate, strlen(rotate), 0, &out, &err),
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
    aws_config_clean_up(&cfg);
    sm_free(endpoint);
    fake_aws_stop(&fake);
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
    SM_ASSERT_OK(e->init(&err), err);
    SM_ASSERT(sm_mem_check_begin());
    struct rot_login login = {.host = pg_env("PG_HOST"),
                              .port = (int)strtol(pg_env("PG_PORT"), NULL, 10),
                              .username = user,
                              .password = old_pw,
                              .tls = ROT_TLS_REQUIRED};
    struct rot_connect_opts opts = {.ca_file = pg_env("PG_CA_FILE"), .connect_timeout_ms = 5000};
    struct rot_conn *conn = NULL;
    SM_ASSERT_OK(rot_db_connect(e, &login, &opts, &conn, &err), err);
    SM_ASSERT_OK(rot_db_set_own_password(conn, user, old_pw, new_pw, NULL, &err), err);
    rot_db_disconnect(conn);
    /* The change took: a login with the new password works (then that connection goes too). */
    login.password = new_pw;
    SM_ASSERT_OK(rot_db_connect(e, &login, &opts, &conn, &err), err);
    rot_db_disconnect(conn);

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
