/*
 * Fuzz target: the SHOW GRANTS line parser and the grant planner (rotators/mysql_sql.c:
 * rot_mysql_grant_parse, rot_mysql_grant_is_for, rot_mysql_grant_plan).
 *
 * Input: SHOW GRANTS lines of the base account, one per '\n' (cut at NULs, as rows from the C
 * API), then a line "--", then the alternate account's lines (a new account when absent).
 * Invariants: a parsed line has a non-empty privilege/role list and grantee user, an object
 * exactly for privilege grants and partial revokes, and parsing is deterministic; errors are
 * ROT_ERR_DB_QUERY (or SM_ERR_NOMEM) and never quote the line past its first quote character (a
 * password hash is quoted); the planner either fails with a documented code or returns statements
 * that each start with GRANT, REVOKE or SET, name the target account and hold no NUL or line break
 * the lines did not have, its corrections range lying within them. No crash, no leak.
 */
#include "fuzz_common.h"
#include "mysql_grant_plan.h"
#include "mysql_grants.h"

#include <stdbool.h>

FUZZ_INIT_HOOKS()

#define MAX_LINES 64
#define ACCOUNT "'app_clone'@'%'"

struct side {
    struct rot_mysql_grant g[MAX_LINES];
    size_t n;
};

static void parse_line(const char *line, struct side *side) {
    struct rot_mysql_grant g, again;
    struct sm_err err;
    int rc = rot_mysql_grant_parse(line, &g, &err);
    if (rc != 0) {
        FUZZ_CHECK(err.code == ROT_ERR_DB_QUERY || err.code == SM_ERR_NOMEM);
        /* The message quotes at most the words before the first quote character. */
        const char *prefix = "unrecognised SHOW GRANTS line \"";
        if (strncmp(err.msg, prefix, strlen(prefix)) == 0) {
            const char *head = err.msg + strlen(prefix);
            size_t n = strlen(head);
            FUZZ_CHECK(n >= 1 && head[n - 1] == '"');
            n--;
            if (n >= 3 && memcmp(head + n - 3, "...", 3) == 0 && strncmp(head, line, n) != 0) {
                n -= 3;
            }
            FUZZ_CHECK(strncmp(head, line, n) == 0);
            FUZZ_CHECK(strcspn(line, "'\"`") >= n);
        }
        FUZZ_CHECK(g.what == NULL && g.grantee_user == NULL);
        return;
    }
    FUZZ_CHECK(g.what != NULL && g.what[0] != '\0');
    FUZZ_CHECK(g.grantee_user != NULL && g.grantee_user[0] != '\0');
    bool wants_object = g.kind == ROT_MYSQL_GRANT_PRIV || g.kind == ROT_MYSQL_GRANT_PARTIAL_REVOKE;
    FUZZ_CHECK(wants_object == (g.object != NULL));
    FUZZ_CHECK(rot_mysql_grant_parse(line, &again, &err) == 0);
    FUZZ_CHECK(again.kind == g.kind && strcmp(again.what, g.what) == 0 &&
               again.grant_option == g.grant_option && again.admin_option == g.admin_option);
    rot_mysql_grant_clean_up(&again);
    (void)rot_mysql_grant_is_for(&g, "app", "%");
    (void)rot_mysql_grant_is_for(&g, "", "");
    (void)rot_mysql_grant_is_for(&g, "a'b", "l\\h");
    if (side->n < MAX_LINES) {
        side->g[side->n++] = g;
    } else {
        rot_mysql_grant_clean_up(&g);
    }
}

static void plan(const struct side *base, const struct side *alt) {
    struct rot_mysql_stmts st = {0};
    struct sm_err err;
    if (rot_mysql_grant_plan(base->g, base->n, alt->g, alt->n, ACCOUNT, &st, &err) == 0) {
        FUZZ_CHECK(st.corrections_from <= st.corrections_to && st.corrections_to <= st.n);
        for (size_t i = 0; i < st.n; i++) {
            const char *s = st.items[i];
            FUZZ_CHECK(strncmp(s, "GRANT ", 6) == 0 || strncmp(s, "REVOKE ", 7) == 0 ||
                       strncmp(s, "SET ", 4) == 0);
            FUZZ_CHECK(strstr(s, ACCOUNT) != NULL);
            FUZZ_CHECK(strchr(s, '\n') == NULL);
        }
    } else {
        FUZZ_CHECK(err.code == ROT_ERR_DB_QUERY || err.code == SM_ERR_NOMEM ||
                   err.code == SM_ERR_TOO_LARGE);
    }
    rot_mysql_stmts_clean_up(&st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int64_t live = sm_mem_live_count();
    char *text = fuzz_copy(data, size, 1);
    struct side base = {.n = 0}, alt = {.n = 0};
    struct side *cur = &base;
    char *p = text, *end = text + size;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL) {
            nl = end;
        }
        *nl = '\0';
        if (strcmp(p, "--") == 0) {
            cur = &alt;
        } else if (p[0] != '\0') {
            parse_line(p, cur);
        }
        p = nl + 1;
    }
    plan(&base, &alt);
    for (size_t i = 0; i < base.n; i++) {
        rot_mysql_grant_clean_up(&base.g[i]);
    }
    for (size_t i = 0; i < alt.n; i++) {
        rot_mysql_grant_clean_up(&alt.g[i]);
    }
    free(text);
    FUZZ_CHECK(sm_mem_live_count() == live);
    return 0;
}
