/*
 * Unit tests of what the engines share: the string helpers of runtime/str.h that make names and
 * server texts fit for a message, runtime/paths.h, and the database TLS trust of rotators/db_tls.h
 * (SMROTATE_DB_CA_FILE, SMROTATE_DB_TLS_VERIFY, the combined bundle, the advice of a TLS
 * failure). No server; files live under the test's state directory.
 */
#include "config.h"
#include "db_tls.h"
#include "harness.h"
#include "mem.h"
#include "paths.h"
#include "str.h"

#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- runtime/str.h --------------------------------------------------------------------------- */

SM_TEST(engine_support_utf8_validity_and_character_count) {
    static const struct {
        const char *s;
        bool valid;
        size_t chars;
    } cases[] = {
        {"", true, 0},
        {"app_clone", true, 9},
        {"\xc3\xbc"
         "n"
         "\xc3\xaf"
         "c"
         "\xc3\xb8"
         "d"
         "\xc3\xa9\xe2\x82\xac",
         true, 8},                     /* ünïcødé€ */
        {"\xf0\x9f\x98\x80", true, 1}, /* U+1F600 */
        {"\xff", false, 0},
        {"bad\xc3(", false, 0},         /* truncated sequence */
        {"\xc0\xaf", false, 0},         /* overlong '/' */
        {"\xed\xa0\x80", false, 0},     /* a surrogate */
        {"\xf4\x90\x80\x80", false, 0}, /* past U+10FFFF */
        {"\xe2\x82", false, 0},         /* cut at the end */
        {"ok\x80", false, 0},           /* stray continuation byte */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t chars = 12345;
        bool valid = sm_utf8_valid(cases[i].s, &chars);
        if (valid != cases[i].valid || (valid && chars != cases[i].chars)) {
            SM_FAIL("case %zu: expected valid=%d chars=%zu, got valid=%d chars=%zu", i,
                    cases[i].valid, cases[i].chars, valid, chars);
        }
    }
}

SM_TEST(engine_support_one_line_flattens_server_texts) {
    static const struct {
        const char *in;
        size_t cap;
        const char *out;
    } cases[] = {
        {"FATAL:  password authentication failed\nfor user \"a\"\n", 100,
         "FATAL: password authentication failed for user \"a\""},
        {"  \t lead and trail \r\n ", 100, "lead and trail"},
        {"ctl\x01\x7f"
         "char",
         100, "ctl char"},
        {NULL, 10, ""},
        {"abcdef", 4, "abc"},
        {"ab\xe2\x82\xac", 5, "ab"}, /* a cut never splits a UTF-8 sequence */
        {"\xc3\xbc\xc3\xbc", 4, "\xc3\xbc"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[128];
        sm_str_one_line(cases[i].in, out, cases[i].cap);
        SM_ASSERT_STR_EQ(out, cases[i].out);
    }
    sm_str_one_line("x", NULL, 0); /* cap 0 writes nothing */
}

SM_TEST(engine_support_printable_names_for_messages) {
    static const struct {
        const char *in;
        size_t cap;
        const char *out;
    } cases[] = {
        {"app_clone", 64, "app_clone"},
        {"new\nline\ttab", 64, "new?line?tab"},
        {"0123456789", 11, "0123456789"},
        {"0123456789", 10, "012345..."},
        {"ab\xe2\x82\xac\xe2\x82\xac", 8, "ab..."}, /* cut before a whole character */
        {NULL, 8, ""},
        {"abc", 3, ".."}, /* no room but for the dots */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[128];
        sm_str_printable(cases[i].in, out, cases[i].cap);
        SM_ASSERT_STR_EQ(out, cases[i].out);
    }
}

/* ---- runtime/paths.h ------------------------------------------------------------------------- */

SM_TEST(engine_support_paths_next_to_the_executable_and_system_store) {
    char exe[PATH_MAX], want[PATH_MAX + 64], got[PATH_MAX + 64];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    SM_ASSERT(n > 0);
    exe[n] = '\0';
    *strrchr(exe, '/') = '\0';
    snprintf(want, sizeof(want), "%s/certs/rds-global-bundle.pem", exe);
    SM_ASSERT_OK(sm_exe_relative_path("certs/rds-global-bundle.pem", got, sizeof(got)),
                 (struct sm_err){0});
    SM_ASSERT_STR_EQ(got, want);
    SM_ASSERT_INT_EQ(sm_exe_relative_path("x", got, 4), -1); /* does not fit */
    const char *system = sm_system_ca_bundle();
    SM_ASSERT(system != NULL && access(system, R_OK) == 0);
}

/* ---- rotators/db_tls.h ----------------------------------------------------------------------- */

static char s_files[4][PATH_MAX];
static int s_nfiles;

/* A file under the state directory with content text, removed by remove_state_files; returns its
 * path. */
static const char *state_file(const char *name, const char *text) {
    SM_ASSERT(s_nfiles < 4);
    char *path = s_files[s_nfiles++];
    const char *state = getenv("SMR_STATE_DIR");
    SM_ASSERT(state != NULL);
    mkdir(state, 0755);
    snprintf(path, PATH_MAX, "%s/%s.%ld", state, name, (long)getpid());
    FILE *f = fopen(path, "w");
    SM_ASSERT(f != NULL);
    fputs(text, f);
    fclose(f);
    return path;
}

static void remove_state_files(void) {
    while (s_nfiles > 0) {
        unlink(s_files[--s_nfiles]);
    }
}

#define PACKAGED_PEM "-----BEGIN CERTIFICATE-----\nPACKAGED\n-----END CERTIFICATE-----"
#define SYSTEM_PEM "-----BEGIN CERTIFICATE-----\nSYSTEM\n-----END CERTIFICATE-----\n"

SM_TEST(engine_support_trust_sources_decide_the_bundle) {
    const char *packaged = state_file("packaged.pem", PACKAGED_PEM);
    const char *system = state_file("system.pem", SYSTEM_PEM);
    const char *own = state_file("own.pem", SYSTEM_PEM);
    const char *tmp = getenv("SMR_STATE_DIR");
    static const struct {
        bool setting, with_packaged, with_system;
        const char *file;   /* "setting", "packaged", "system", "combined" or NULL */
        const char *origin; /* a part of the origin */
    } cases[] = {
        {true, true, true, "setting", "SMROTATE_DB_CA_FILE ("},
        {false, true, true, "combined", "the packaged RDS bundle ("},
        {false, true, false, "packaged", "the packaged RDS bundle ("},
        {false, false, true, "system", "the system store ("},
        {false, false, false, NULL, "no CA bundle"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct rot_db_trust t;
        struct sm_err err;
        struct rot_db_trust_sources src = {.ca_file_setting = cases[i].setting ? own : NULL,
                                           .packaged = cases[i].with_packaged ? packaged : NULL,
                                           .system = cases[i].with_system ? system : NULL,
                                           .tmp_dir = tmp};
        SM_ASSERT_OK(rot_db_trust_resolve(&src, &t, &err), err);
        SM_ASSERT_STR_CONTAINS(t.origin, cases[i].origin);
        SM_ASSERT_INT_EQ(t.verify, ROT_TLS_VERIFY_FULL);
        const char *file = cases[i].file;
        if (file == NULL) {
            SM_ASSERT(t.ca_file == NULL && t.temp_file == NULL);
        } else if (strcmp(file, "combined") == 0) {
            SM_ASSERT(t.temp_file != NULL);
            SM_ASSERT_STR_EQ(t.ca_file, t.temp_file);
            SM_ASSERT_STR_CONTAINS(t.origin, "and the system store (");
        } else {
            const char *want = strcmp(file, "setting") == 0    ? own
                               : strcmp(file, "packaged") == 0 ? packaged
                                                               : system;
            SM_ASSERT_STR_EQ(t.ca_file, want);
            SM_ASSERT(t.temp_file == NULL);
        }
        rot_db_trust_clean_up(&t);
        rot_db_trust_clean_up(NULL);
    }
    remove_state_files();
}

SM_TEST(engine_support_combined_bundle_is_private_whole_and_removed) {
    const char *packaged = state_file("packaged.pem", PACKAGED_PEM); /* no final newline */
    const char *system = state_file("system.pem", SYSTEM_PEM);
    struct rot_db_trust t;
    struct sm_err err;
    struct stat st;
    struct rot_db_trust_sources src = {
        .packaged = packaged, .system = system, .tmp_dir = getenv("SMR_STATE_DIR")};
    SM_ASSERT_OK(rot_db_trust_resolve(&src, &t, &err), err);
    SM_ASSERT(stat(t.temp_file, &st) == 0);
    SM_ASSERT_INT_EQ(st.st_mode & 0777, 0600);
    char *text = sm_test_read_file(t.temp_file, NULL);
    SM_ASSERT_STR_EQ(text, PACKAGED_PEM "\n" SYSTEM_PEM);
    free(text);
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s", t.temp_file);
    rot_db_trust_clean_up(&t);
    SM_ASSERT(access(path, F_OK) != 0);
    /* A directory it cannot write to: an init error naming what to set. */
    src.tmp_dir = "/nonexistent/smrotate";
    SM_ASSERT_INT_EQ(rot_db_trust_resolve(&src, &t, &err), -1);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_CONFIG);
    SM_ASSERT_STR_CONTAINS(err.msg, "SMROTATE_DB_CA_FILE");
    rot_db_trust_clean_up(&t);
    remove_state_files();
}

SM_TEST(engine_support_tls_verify_setting_values) {
    static const struct {
        const char *value;
        int rc;
        enum rot_tls_verify verify;
    } cases[] = {
        {NULL, 0, ROT_TLS_VERIFY_FULL},
        {"", 0, ROT_TLS_VERIFY_FULL},
        {"full", 0, ROT_TLS_VERIFY_FULL},
        {"FULL", 0, ROT_TLS_VERIFY_FULL},
        {"ca", 0, ROT_TLS_VERIFY_CA},
        {"Ca", 0, ROT_TLS_VERIFY_CA},
        {"none", -1, 0},
        {"verify-ca", -1, 0},
        {"ca ", -1, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct rot_db_trust t;
        struct sm_err err;
        struct rot_db_trust_sources src = {.verify_setting = cases[i].value};
        sm_err_clear(&err);
        SM_ASSERT_INT_EQ(rot_db_trust_resolve(&src, &t, &err), cases[i].rc);
        if (cases[i].rc == 0) {
            SM_ASSERT_INT_EQ(t.verify, cases[i].verify);
        } else {
            SM_ASSERT_CODE_EQ(err.code, SM_ERR_CONFIG);
            SM_ASSERT_STR_CONTAINS(err.msg, "SMROTATE_DB_TLS_VERIFY");
        }
        rot_db_trust_clean_up(&t);
    }
}

SM_TEST(engine_support_config_reads_the_database_tls_settings) {
    struct rot_config cfg;
    struct sm_err err;
    const char *own = state_file("own.pem", SYSTEM_PEM);
    setenv("SMROTATE_DB_CA_FILE", own, 1);
    setenv("SMROTATE_DB_TLS_VERIFY", "ca", 1);
    SM_ASSERT_OK(rot_config_from_env(NULL, &cfg, &err), err);
    SM_ASSERT_STR_EQ(cfg.db_tls.ca_file, own);
    SM_ASSERT_INT_EQ(cfg.db_tls.verify, ROT_TLS_VERIFY_CA);
    rot_config_clean_up(&cfg);
    setenv("SMROTATE_DB_TLS_VERIFY", "off", 1);
    SM_ASSERT_INT_EQ(rot_config_from_env(NULL, &cfg, &err), -1);
    SM_ASSERT_STR_CONTAINS(err.msg, "SMROTATE_DB_TLS_VERIFY");
    rot_config_clean_up(&cfg);
    unsetenv("SMROTATE_DB_TLS_VERIFY");
    setenv("SMROTATE_DB_CA_FILE", "/nonexistent/ca.pem", 1);
    SM_ASSERT_INT_EQ(rot_config_from_env(NULL, &cfg, &err), -1);
    SM_ASSERT_CODE_EQ(err.code, SM_ERR_CONFIG);
    SM_ASSERT_STR_CONTAINS(err.msg, "SMROTATE_DB_CA_FILE");
    rot_config_clean_up(&cfg);
    /* Unset: the default, here the system store (no bundle is packaged next to this test). */
    unsetenv("SMROTATE_DB_CA_FILE");
    SM_ASSERT_OK(rot_config_from_env(NULL, &cfg, &err), err);
    SM_ASSERT_STR_EQ(cfg.db_tls.ca_file, sm_system_ca_bundle());
    SM_ASSERT_STR_CONTAINS(cfg.db_tls.origin, "the system store");
    rot_config_clean_up(&cfg);
    remove_state_files();
}

SM_TEST(engine_support_tls_advice_names_the_setting_that_applies) {
    const char *origin = "the system store (y)";
    static const struct {
        enum rot_tls_failure kind;
        bool chain_only;
        const char *has, *has_not;
    } cases[] = {
        {ROT_TLS_FAILURE_UNTRUSTED, false,
         "not trusted by the system store (y): set "
         "SMROTATE_DB_CA_FILE",
         "SMROTATE_DB_TLS_VERIFY"},
        {ROT_TLS_FAILURE_HOST, false, "host name db.example does not match", "SMROTATE_DB_CA_FILE"},
        {ROT_TLS_FAILURE_HOST, false,
         "use the endpoint name in the secret or set "
         "SMROTATE_DB_TLS_VERIFY=ca",
         "SMROTATE_DB_CA_FILE"},
        {ROT_TLS_FAILURE_OTHER, false, "set SMROTATE_DB_CA_FILE; if it does not name db.example",
         "(none)"},
        {ROT_TLS_FAILURE_OTHER, true, "set SMROTATE_DB_CA_FILE", "SMROTATE_DB_TLS_VERIFY=ca,"},
        {ROT_TLS_FAILURE_NO_CA, false, "no CA bundle", "SMROTATE_DB_TLS_VERIFY"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[512];
        rot_db_tls_advice(cases[i].kind, origin,
                          cases[i].chain_only ? ROT_TLS_VERIFY_CA : ROT_TLS_VERIFY_FULL,
                          "db.example", out, sizeof(out));
        SM_ASSERT_STR_CONTAINS(out, cases[i].has);
        SM_ASSERT_STR_NOT_CONTAINS(out, cases[i].has_not);
    }
    char tiny[8];
    rot_db_tls_advice(ROT_TLS_FAILURE_OTHER, origin, ROT_TLS_VERIFY_FULL, NULL, tiny, sizeof(tiny));
    SM_ASSERT_INT_EQ(strlen(tiny), 7);
}
