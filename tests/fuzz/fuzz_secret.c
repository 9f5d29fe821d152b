/*
 * Fuzz target: the SecretString parser, validator and renderer (rotators/secret.c).
 *
 * The input is a SecretString. rot_secret_is_bare_credentials must answer -1, 0 or 1. When
 * rot_secret_parse accepts it:
 *   1. rendering with passwords "a" and then "b" gives two texts that differ in exactly one
 *      byte; from that position the replaced span of the original is located, and every byte
 *      outside it must be the original's, byte for byte, while the span itself must be a JSON
 *      string that decodes to the parsed password (the renderer splices, it never re-serialises);
 *   2. rendering with awkward passwords and usernames (quotes, backslashes, control characters,
 *      non-ASCII, "\u0000"-free) must parse again with the same engine, host, port, dbname,
 *      masterarn and TLS setting, and exactly the new password and username (round trip).
 * No crash, no leak, every block back (sm_mem_live_count).
 */
#include "engine.h"
#include "fuzz_common.h"
#include "secret.h"

#include <cjson/cJSON.h>

FUZZ_INIT_HOOKS()

static int same(const char *a, const char *b) {
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static int render(const struct rot_secret *s, const char *user, const char *pw,
                  struct sm_buf *out) {
    struct sm_err err;
    int rc = rot_secret_render(s, user, pw, out, &err);
    /* The only acceptable failure: the longer text no longer fits the SecretString ceiling. */
    FUZZ_CHECK(rc == 0 || err.code == SM_ERR_TOO_LARGE);
    return rc;
}

/* Check 1: the renderer replaces exactly the password's value and keeps every other byte. */
static void check_splice(const struct rot_secret *s, const char *text, size_t len) {
    struct sm_buf ra, rb;
    sm_buf_init(&ra, SM_LIMIT_SECRET_STRING);
    sm_buf_init(&rb, SM_LIMIT_SECRET_STRING);
    if (render(s, NULL, "a", &ra) == 0 && render(s, NULL, "b", &rb) == 0) {
        FUZZ_CHECK(ra.len == rb.len);
        size_t k = 0, diffs = 0;
        for (size_t i = 0; i < ra.len; i++) {
            if (ra.data[i] != rb.data[i]) {
                k = i;
                diffs++;
            }
        }
        FUZZ_CHECK(diffs == 1);
        FUZZ_CHECK(k >= 1 && k + 1 < ra.len && ra.data[k] == 'a' && rb.data[k] == 'b');
        FUZZ_CHECK(ra.data[k - 1] == '"' && ra.data[k + 1] == '"');
        size_t vs = k - 1;              /* the value's first byte (its quote) */
        size_t tail = ra.len - (k + 2); /* bytes after the new value */
        FUZZ_CHECK(tail <= len && vs <= len - tail);
        size_t ve = len - tail; /* one past the old value */
        FUZZ_CHECK(memcmp(text, ra.data, vs) == 0);
        FUZZ_CHECK(memcmp(text + ve, ra.data + k + 2, tail) == 0);
        cJSON *old = cJSON_ParseWithLength(text + vs, ve - vs);
        FUZZ_CHECK(cJSON_IsString(old) && strcmp(old->valuestring, s->password) == 0);
        cJSON_Delete(old);
    }
    sm_buf_clean_up(&ra);
    sm_buf_clean_up(&rb);
}

/* Check 2: a rendered secret parses again, with the new credentials and nothing else changed. */
static void check_round_trip(const struct rot_secret *s, const char *user, const char *pw) {
    struct sm_buf r;
    sm_buf_init(&r, SM_LIMIT_SECRET_STRING);
    if (render(s, user, pw, &r) == 0) {
        struct rot_secret t;
        struct sm_err err;
        int rc = rot_secret_parse(r.data, r.len, rot_engines, &t, &err);
        FUZZ_CHECK(rc == 0);
        FUZZ_CHECK(strcmp(t.password, pw) == 0);
        FUZZ_CHECK(strcmp(t.username, user != NULL ? user : s->username) == 0);
        FUZZ_CHECK(t.engine == s->engine && same(t.engine_value, s->engine_value));
        FUZZ_CHECK(same(t.host, s->host) && t.port == s->port && t.tls == s->tls);
        FUZZ_CHECK(same(t.dbname, s->dbname) && same(t.masterarn, s->masterarn));
        rot_secret_clean_up(&t);
    }
    sm_buf_clean_up(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int64_t live = sm_mem_live_count();
    char *text = fuzz_copy(data, size, 0);

    int bare = rot_secret_is_bare_credentials(text, size);
    FUZZ_CHECK(bare == -1 || bare == 0 || bare == 1);

    struct rot_secret s;
    struct sm_err err;
    sm_err_clear(&err);
    if (rot_secret_parse(text, size, rot_engines, &s, &err) == 0) {
        FUZZ_CHECK(s.engine != NULL && s.engine_value != NULL);
        FUZZ_CHECK(s.host[0] != '\0' && s.username[0] != '\0' && s.password[0] != '\0');
        FUZZ_CHECK(s.port >= 1 && s.port <= 65535);
        FUZZ_CHECK(s.text_len == size && memcmp(s.text, text, size) == 0);
        check_splice(&s, text, size);
        check_round_trip(&s, NULL, "N3w\"pass\\word/\x01\t\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
        check_round_trip(&s, "app_clone", "plain");
        check_round_trip(&s, "u\"ser\\\n\x7f", "}\"],{\"password\":\"x\"");
    } else {
        FUZZ_CHECK(err.code == ROT_ERR_SECRET_INVALID || err.code == SM_ERR_NOMEM);
        for (const char *m = err.msg; *m != '\0'; m++) {
            FUZZ_CHECK((unsigned char)*m >= 0x20);
        }
    }
    rot_secret_clean_up(&s);
    free(text);
    FUZZ_CHECK(sm_mem_live_count() == live);
    return 0;
}
