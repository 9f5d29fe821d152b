/*
 * Fuzz target: the credential chain's readers of untrusted input (runtime/creds_*.c, for
 * `bootstrap check` from a shell). The first input byte picks the reader (its value modulo 5),
 * the rest is its input:
 *   0  the container endpoint's and instance metadata's JSON answer (creds_http_read_answer: what
 *      the network sends), with the IMDS error code asked for when the byte is below 128
 *   1  credential_process's JSON Version 1 answer (creds_process_read_answer)
 *   2  a shared config file (creds_ini_parse; config-file rules when the byte is below 128, else
 *      the credentials file's)
 *   3  a credential_process command line (creds_split_command)
 *   4  an Expiration time (creds_parse_time, then creds_format_time)
 *
 * Invariants: no crash or sanitizer report; each reader either succeeds with what its contract
 * promises (keys present, sections and entries consistent, at least one word, a time that formats)
 * or fails with its documented error class (SM_ERR_NOMEM always allowed) and a NUL-terminated
 * message; nothing is left allocated.
 */
#include "creds_testing.h"
#include "fuzz_common.h"
#include "mem.h"

FUZZ_INIT_HOOKS()

static void check_code(const struct sm_err *err, const struct sm_code *allowed) {
    FUZZ_CHECK(err->code == allowed || err->code == SM_ERR_NOMEM);
    FUZZ_CHECK(memchr(err->msg, '\0', sizeof(err->msg)) != NULL);
}

static void check_creds(const struct creds *c) {
    FUZZ_CHECK(c->access_key_id != NULL && c->secret_access_key != NULL);
    FUZZ_CHECK(c->session_token == NULL || c->session_token[0] != '\0');
}

static void http_answer(const char *text, size_t len, bool with_code) {
    struct creds c = {0};
    struct sm_err err;
    char code[320];
    code[0] = '\0';
    int rc = creds_http_read_answer(text, len, &c, with_code ? code : NULL, sizeof(code), &err);
    if (rc == 1) {
        check_creds(&c);
    } else if (rc == 0) {
        FUZZ_CHECK(c.access_key_id == NULL);
        FUZZ_CHECK(memchr(code, '\0', sizeof(code)) != NULL);
    } else {
        FUZZ_CHECK(rc == -1);
        check_code(&err, SM_ERR_PROTOCOL);
    }
    creds_clean_up(&c);
}

static void process_answer(const char *text, size_t len) {
    struct creds c = {0};
    struct sm_err err;
    if (creds_process_read_answer(text, len, &c, &err) == 0) {
        check_creds(&c);
    } else {
        check_code(&err, SM_ERR_CONFIG);
    }
    creds_clean_up(&c);
}

static void ini(const char *text, size_t len, bool config_file) {
    struct creds_ini f;
    struct sm_err err;
    if (creds_ini_parse("fuzz.ini", text, len, config_file, &f, &err) == 0) {
        for (size_t i = 0; i < f.n_sections; i++) {
            FUZZ_CHECK(f.sections[i].name != NULL);
            if (f.sections[i].profile != NULL) {
                FUZZ_CHECK(creds_ini_has_profile(&f, f.sections[i].profile));
            }
        }
        for (size_t i = 0; i < f.n_entries; i++) {
            FUZZ_CHECK(f.entries[i].section < f.n_sections);
            FUZZ_CHECK(f.entries[i].key != NULL && f.entries[i].value != NULL);
        }
    } else {
        check_code(&err, SM_ERR_CONFIG);
    }
    creds_ini_clean_up(&f);
}

static void command(const char *line) {
    char **argv = NULL;
    struct sm_err err;
    if (creds_split_command(line, &argv, &err) == 0) {
        FUZZ_CHECK(argv != NULL && argv[0] != NULL);
        for (char **w = argv; *w != NULL; w++) {
            FUZZ_CHECK(strlen(*w) <= strlen(line));
        }
    } else {
        check_code(&err, SM_ERR_CONFIG);
    }
    sm_free(argv);
}

static void time_text(const char *text) {
    int64_t ms = 0;
    char out[40];
    if (creds_parse_time(text, &ms) == 0) {
        creds_format_time(ms, out, sizeof(out));
        FUZZ_CHECK(memchr(out, '\0', sizeof(out)) != NULL);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) {
        return 0;
    }
    int64_t live = sm_mem_live_count();
    /* NUL-terminated for the readers that take C strings; the length-taking ones get size - 1 */
    char *text = fuzz_copy(data + 1, size - 1, 1);
    switch (data[0] % 5) {
    case 0:
        http_answer(text, size - 1, data[0] < 128);
        break;
    case 1:
        process_answer(text, size - 1);
        break;
    case 2:
        ini(text, size - 1, data[0] < 128);
        break;
    case 3:
        command(text);
        break;
    default:
        time_text(text);
        break;
    }
    free(text);
    FUZZ_CHECK(sm_mem_live_count() == live);
    return 0;
}
