#include "mysql_sql.h"

#include "mem.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---------------------------------------------------------------------------------------------
 * Versions
 */

/* Reads a decimal number of at most 6 digits at *p; advances *p. -1 when there is none. */
static int read_number(const char **p) {
    const char *s = *p;
    int v = 0, digits = 0;
    while (isdigit((unsigned char)*s) && digits < 6) {
        v = v * 10 + (*s - '0');
        s++;
        digits++;
    }
    if (digits == 0 || isdigit((unsigned char)*s)) {
        return -1;
    }
    *p = s;
    return v;
}

int rot_mysql_version_parse(const char *s, struct rot_mysql_version *out, struct sm_err *err) {
    if (s == NULL) {
        return sm_err_set(err, ROT_ERR_DB_QUERY, "the server did not report a version");
    }
    const char *p = s;
    out->flavor = ROT_MYSQL_FLAVOR_MYSQL;
    if (strstr(s, "MariaDB") != NULL) {
        out->flavor = ROT_MYSQL_FLAVOR_MARIADB;
        /* MariaDB 10+ may prefix "5.5.5-" so that old replication clients accept it. */
        if (strncmp(p, "5.5.5-", 6) == 0 && isdigit((unsigned char)p[6])) {
            p += 6;
        }
    } else if (strstr(s, "mysql_aurora") != NULL) {
        out->flavor = ROT_MYSQL_FLAVOR_AURORA;
    }
    out->major = read_number(&p);
    if (out->major < 0 || *p != '.') {
        goto bad;
    }
    p++;
    out->minor = read_number(&p);
    if (out->minor < 0) {
        goto bad;
    }
    out->patch = -1;
    if (*p == '.' && isdigit((unsigned char)p[1])) {
        p++;
        out->patch = read_number(&p);
        if (out->patch < 0) {
            goto bad;
        }
    }
    return 0;
bad:
    return sm_err_set(err, ROT_ERR_DB_QUERY, "unrecognised server version string \"%.64s\"", s);
}

const char *rot_mysql_flavor_name(enum rot_mysql_flavor flavor) {
    switch (flavor) {
    case ROT_MYSQL_FLAVOR_MARIADB:
        return "MariaDB";
    case ROT_MYSQL_FLAVOR_AURORA:
        return "Aurora MySQL";
    case ROT_MYSQL_FLAVOR_MYSQL:
        break;
    }
    return "MySQL";
}

bool rot_mysql_version_at_least(const struct rot_mysql_version *v, int major, int minor,
                                int patch) {
    if (v->major != major) {
        return v->major > major;
    }
    if (v->minor != minor) {
        return v->minor > minor;
    }
    return (v->patch < 0 ? 0 : v->patch) >= patch;
}

bool rot_mysql_has_alter_user(const struct rot_mysql_version *v) {
    switch (v->flavor) {
    case ROT_MYSQL_FLAVOR_MARIADB:
        return rot_mysql_version_at_least(v, 10, 2, 0);
    case ROT_MYSQL_FLAVOR_AURORA:
        return rot_mysql_version_at_least(v, 5, 7, 0);
    case ROT_MYSQL_FLAVOR_MYSQL:
        break;
    }
    return rot_mysql_version_at_least(v, 5, 7, 6);
}

bool rot_mysql_has_default_roles_table(const struct rot_mysql_version *v) {
    return v->flavor != ROT_MYSQL_FLAVOR_MARIADB && v->major >= 8;
}

const char *rot_mysql_clone_plugin(const struct rot_mysql_version *v, const char *plugin) {
    static const char *const mysql_plugins[] = {"mysql_native_password", "caching_sha2_password",
                                                "sha256_password", NULL};
    static const char *const mariadb_plugins[] = {"mysql_native_password", "ed25519", NULL};
    const char *const *list = NULL;
    if (plugin == NULL) {
        return NULL;
    }
    if (v->flavor == ROT_MYSQL_FLAVOR_MARIADB) {
        if (rot_mysql_version_at_least(v, 10, 4, 0)) {
            list = mariadb_plugins;
        }
    } else if (rot_mysql_has_alter_user(v)) {
        list = mysql_plugins;
    }
    for (size_t i = 0; list != NULL && list[i] != NULL; i++) {
        if (strcmp(list[i], plugin) == 0) {
            return list[i];
        }
    }
    return NULL;
}

/* ---------------------------------------------------------------------------------------------
 * Statement builders
 */

/* Appends the strings of a NULL-terminated list. 0 or -1. */
static int append_all(struct sm_buf *out, struct sm_err *err, const char *first, ...)
    __attribute__((sentinel));
static int append_all(struct sm_buf *out, struct sm_err *err, const char *first, ...) {
    va_list ap;
    int rc = 0;
    va_start(ap, first);
    for (const char *s = first; s != NULL; s = va_arg(ap, const char *)) {
        if (sm_buf_append_str(out, s, err) != 0) {
            rc = -1;
            break;
        }
    }
    va_end(ap);
    return rc;
}

bool rot_mysql_has_replace_clause(const struct rot_mysql_version *v) {
    switch (v->flavor) {
    case ROT_MYSQL_FLAVOR_MARIADB:
        return false;
    case ROT_MYSQL_FLAVOR_AURORA:
        return v->major >= 8; /* the string has no MySQL patch level; 3.01 is 8.0.23 */
    case ROT_MYSQL_FLAVOR_MYSQL:
        break;
    }
    return rot_mysql_version_at_least(v, 8, 0, 13);
}

int rot_mysql_sql_set_own_password(struct sm_buf *out, const struct rot_mysql_version *v,
                                   const char *pw, const char *current, struct sm_err *err) {
    if (v->flavor == ROT_MYSQL_FLAVOR_MARIADB || !rot_mysql_has_alter_user(v)) {
        return append_all(out, err, "SET PASSWORD = PASSWORD('", pw, "')", NULL);
    }
    if (append_all(out, err, "ALTER USER CURRENT_USER() IDENTIFIED BY '", pw, "'", NULL) != 0) {
        return -1;
    }
    if (current != NULL && rot_mysql_has_replace_clause(v)) {
        return append_all(out, err, " REPLACE '", current, "'", NULL);
    }
    return 0;
}

int rot_mysql_sql_account(struct sm_buf *out, const char *user, const char *host,
                          struct sm_err *err) {
    return append_all(out, err, "'", user, "'@'", host, "'", NULL);
}

int rot_mysql_sql_create_user(struct sm_buf *out, const struct rot_mysql_version *v,
                              const char *user, const char *host, const char *plugin,
                              const char *pw, struct sm_err *err) {
    if (append_all(out, err, "CREATE USER ", NULL) != 0 ||
        rot_mysql_sql_account(out, user, host, err) != 0) {
        return -1;
    }
    if (plugin != NULL && v->flavor == ROT_MYSQL_FLAVOR_MARIADB) {
        return append_all(out, err, " IDENTIFIED VIA ", plugin, " USING PASSWORD('", pw, "')",
                          NULL);
    }
    if (plugin != NULL) {
        return append_all(out, err, " IDENTIFIED WITH ", plugin, " BY '", pw, "'", NULL);
    }
    return append_all(out, err, " IDENTIFIED BY '", pw, "'", NULL);
}

int rot_mysql_sql_set_password_for(struct sm_buf *out, const struct rot_mysql_version *v,
                                   const char *user, const char *host, const char *plugin,
                                   const char *pw, struct sm_err *err) {
    bool alter =
        v->flavor == ROT_MYSQL_FLAVOR_MARIADB ? plugin != NULL : rot_mysql_has_alter_user(v);
    if (!alter) {
        if (append_all(out, err, "SET PASSWORD FOR ", NULL) != 0 ||
            rot_mysql_sql_account(out, user, host, err) != 0) {
            return -1;
        }
        return append_all(out, err, " = PASSWORD('", pw, "')", NULL);
    }
    if (append_all(out, err, "ALTER USER ", NULL) != 0 ||
        rot_mysql_sql_account(out, user, host, err) != 0) {
        return -1;
    }
    if (v->flavor == ROT_MYSQL_FLAVOR_MARIADB) {
        return append_all(out, err, " IDENTIFIED VIA ", plugin, " USING PASSWORD('", pw, "')",
                          NULL);
    }
    if (plugin != NULL) {
        return append_all(out, err, " IDENTIFIED WITH ", plugin, " BY '", pw, "'", NULL);
    }
    return append_all(out, err, " IDENTIFIED BY '", pw, "'", NULL);
}

int rot_mysql_sql_require(struct sm_buf *out, const struct rot_mysql_version *v, const char *user,
                          const char *host, const char *ssl_type, const char *cipher,
                          const char *issuer, const char *subject, struct sm_err *err) {
    const char *kind = NULL;
    if (ssl_type == NULL || ssl_type[0] == '\0' || strcasecmp(ssl_type, "NONE") == 0) {
        kind = "NONE";
    } else if (strcasecmp(ssl_type, "ANY") == 0) {
        kind = "SSL";
    } else if (strcasecmp(ssl_type, "X509") == 0) {
        kind = "X509";
    } else if (strcasecmp(ssl_type, "SPECIFIED") != 0) {
        return sm_err_set(err, ROT_ERR_DB_QUERY, "unknown ssl_type \"%.32s\" in mysql.user",
                          ssl_type);
    }
    int rc = rot_mysql_has_alter_user(v) ? append_all(out, err, "ALTER USER ", NULL)
                                         : append_all(out, err, "GRANT USAGE ON *.* TO ", NULL);
    if (rc != 0 || rot_mysql_sql_account(out, user, host, err) != 0 ||
        append_all(out, err, " REQUIRE", NULL) != 0) {
        return -1;
    }
    if (kind != NULL) {
        return append_all(out, err, " ", kind, NULL);
    }
    const char *names[3] = {"CIPHER", "ISSUER", "SUBJECT"};
    const char *values[3] = {cipher, issuer, subject};
    bool any = false;
    for (int i = 0; i < 3; i++) {
        if (values[i] == NULL || values[i][0] == '\0') {
            continue;
        }
        if (append_all(out, err, any ? " AND " : " ", names[i], " '", values[i], "'", NULL) != 0) {
            return -1;
        }
        any = true;
    }
    /* SPECIFIED with every part empty is what REQUIRE SSL means. */
    return any ? 0 : append_all(out, err, " SSL", NULL);
}

int rot_mysql_sql_select_accounts(struct sm_buf *out, const char *user, struct sm_err *err) {
    return append_all(out, err,
                      "SELECT Host, plugin, ssl_type, ssl_cipher, x509_issuer, x509_subject "
                      "FROM mysql.user WHERE User = '",
                      user, "' ORDER BY Host", NULL);
}

int rot_mysql_sql_show_grants(struct sm_buf *out, const char *user, const char *host,
                              struct sm_err *err) {
    if (append_all(out, err, "SHOW GRANTS FOR ", NULL) != 0) {
        return -1;
    }
    return rot_mysql_sql_account(out, user, host, err);
}

int rot_mysql_sql_select_default_roles(struct sm_buf *out, const char *user, const char *host,
                                       struct sm_err *err) {
    return append_all(out, err,
                      "SELECT DEFAULT_ROLE_USER, DEFAULT_ROLE_HOST FROM mysql.default_roles "
                      "WHERE USER = '",
                      user, "' AND HOST = '", host,
                      "' ORDER BY DEFAULT_ROLE_USER, DEFAULT_ROLE_HOST", NULL);
}

int rot_mysql_sql_set_default_roles(struct sm_buf *out, const char *const *roles, size_t n,
                                    const char *user, const char *host, struct sm_err *err) {
    if (append_all(out, err, "SET DEFAULT ROLE ", NULL) != 0) {
        return -1;
    }
    if (n == 0 && append_all(out, err, "NONE", NULL) != 0) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if ((i > 0 && append_all(out, err, ", ", NULL) != 0) ||
            rot_mysql_sql_account(out, roles[2 * i], roles[2 * i + 1], err) != 0) {
            return -1;
        }
    }
    if (append_all(out, err, " TO ", NULL) != 0) {
        return -1;
    }
    return rot_mysql_sql_account(out, user, host, err);
}

/* ---------------------------------------------------------------------------------------------
 * SHOW GRANTS lines: a small tokenizer
 */

enum tok_type { TOK_WORD, TOK_QUOTED, TOK_PUNCT };

struct tok {
    enum tok_type type;
    size_t start;
    size_t len;
    int depth; /* parenthesis depth the token sits at ('(' itself at the outer depth) */
};

struct toks {
    struct tok *v;
    size_t n;
    size_t cap;
};

static void toks_clean_up(struct toks *t) {
    sm_free(t->v);
    t->v = NULL;
    t->n = t->cap = 0;
}

static int toks_push(struct toks *t, struct tok tk, struct sm_err *err) {
    if (t->n == t->cap) {
        size_t cap = t->cap == 0 ? 32 : t->cap * 2;
        struct tok *v = sm_realloc(t->v, cap * sizeof(*v));
        if (v == NULL) {
            return sm_err_set(err, SM_ERR_NOMEM, "out of memory parsing a grant");
        }
        t->v = v;
        t->cap = cap;
    }
    t->v[t->n++] = tk;
    return 0;
}

static bool is_word_char(char c) {
    return isalnum((unsigned char)c) || c == '_' || c == '$' || (unsigned char)c >= 0x80;
}

/* Index just past the quoted token starting at s[i] (a quote character), or 0 if unterminated.
 * '...' and "..." honour backslash escapes as the server prints them; all three close on a
 * doubled quote being an escaped quote. */
static size_t skip_quoted(const char *s, size_t len, size_t i) {
    char q = s[i];
    size_t j = i + 1;
    while (j < len) {
        if (s[j] == '\\' && q != '`' && j + 1 < len) {
            j += 2;
            continue;
        }
        if (s[j] == q) {
            if (j + 1 < len && s[j + 1] == q) {
                j += 2;
                continue;
            }
            return j + 1;
        }
        j++;
    }
    return 0;
}

static int tokenize(const char *s, size_t len, struct toks *out, struct sm_err *err) {
    int depth = 0;
    size_t i = 0;
    while (i < len) {
        char c = s[i];
        struct tok tk = {.start = i, .depth = depth};
        if (isspace((unsigned char)c)) {
            i++;
            continue;
        }
        if (c == '`' || c == '\'' || c == '"') {
            size_t end = skip_quoted(s, len, i);
            if (end == 0) {
                return sm_err_set(err, ROT_ERR_DB_QUERY, "unterminated quote in a grant");
            }
            tk.type = TOK_QUOTED;
            tk.len = end - i;
            i = end;
        } else if (is_word_char(c)) {
            size_t j = i;
            while (j < len && is_word_char(s[j])) {
                j++;
            }
            tk.type = TOK_WORD;
            tk.len = j - i;
            i = j;
        } else {
            tk.type = TOK_PUNCT;
            tk.len = 1;
            if (c == '(') {
                depth++;
            } else if (c == ')') {
                depth--;
                tk.depth = depth;
                if (depth < 0) {
                    return sm_err_set(err, ROT_ERR_DB_QUERY, "unbalanced parenthesis in a grant");
                }
            }
            i++;
        }
        if (toks_push(out, tk, err) != 0) {
            return -1;
        }
    }
    if (depth != 0) {
        return sm_err_set(err, ROT_ERR_DB_QUERY, "unbalanced parenthesis in a grant");
    }
    return 0;
}

static bool tok_is(const char *s, const struct tok *t, const char *word) {
    size_t n = strlen(word);
    return t->type == TOK_WORD && t->len == n && strncasecmp(s + t->start, word, n) == 0;
}

/* Index of the first depth-0 word `word` in [from, to), or to. */
static size_t find_word(const char *s, const struct toks *t, size_t from, size_t to,
                        const char *word) {
    for (size_t i = from; i < to; i++) {
        if (t->v[i].depth == 0 && tok_is(s, &t->v[i], word)) {
            return i;
        }
    }
    return to;
}

/* Copies the source text spanning tokens [from, to) (to > from). */
static char *span_dup(const char *s, const struct toks *t, size_t from, size_t to) {
    size_t a = t->v[from].start, b = t->v[to - 1].start + t->v[to - 1].len;
    return sm_strndup(s + a, b - a);
}

/* First words of a line for error messages: never past the first quote (a hash is quoted). */
static void line_head(const char *line, char *out, size_t cap) {
    size_t n = 0;
    while (line[n] != '\0' && line[n] != '\'' && line[n] != '"' && line[n] != '`' && n < 40) {
        n++;
    }
    snprintf(out, cap, "%.*s%s", (int)n, line, line[n] != '\0' ? "..." : "");
}

int rot_mysql_grant_parse(const char *line, struct rot_mysql_grant *out, struct sm_err *err) {
    struct toks t = {0};
    size_t len = strlen(line);
    size_t kw = 0, head_from = 0, head_end = 0, grantee = 0, i = 0;
    const char *sep = "TO";
    char head[64];
    int rc = -1;

    memset(out, 0, sizeof(*out));
    if (tokenize(line, len, &t, err) != 0) {
        goto out;
    }
    if (t.n >= 2 && tok_is(line, &t.v[0], "GRANT")) {
        out->kind = ROT_MYSQL_GRANT_PRIV;
        head_from = 1;
    } else if (t.n >= 2 && tok_is(line, &t.v[0], "REVOKE")) {
        out->kind = ROT_MYSQL_GRANT_PARTIAL_REVOKE;
        head_from = 1;
        sep = "FROM";
    } else if (t.n >= 4 && tok_is(line, &t.v[0], "SET") && tok_is(line, &t.v[1], "DEFAULT") &&
               tok_is(line, &t.v[2], "ROLE")) {
        out->kind = ROT_MYSQL_GRANT_DEFAULT_ROLE;
        head_from = 3;
        sep = "FOR";
    } else {
        goto bad;
    }
    head_end = find_word(line, &t, head_from, t.n, sep);
    if (head_end == t.n || head_end == head_from) {
        goto bad;
    }
    if (out->kind != ROT_MYSQL_GRANT_DEFAULT_ROLE) {
        kw = find_word(line, &t, head_from, head_end, "ON");
        if (kw == head_end) {
            if (out->kind == ROT_MYSQL_GRANT_PARTIAL_REVOKE) {
                goto bad;
            }
            out->kind = ROT_MYSQL_GRANT_ROLE;
        } else if (kw == head_from || kw + 1 == head_end) {
            goto bad;
        }
    }
    if (out->kind == ROT_MYSQL_GRANT_PRIV || out->kind == ROT_MYSQL_GRANT_PARTIAL_REVOKE) {
        out->what = span_dup(line, &t, head_from, kw);
        out->object = span_dup(line, &t, kw + 1, head_end);
        if (out->what == NULL || out->object == NULL) {
            goto nomem;
        }
    } else {
        out->what = span_dup(line, &t, head_from, head_end);
        if (out->what == NULL) {
            goto nomem;
        }
    }
    /* The grantee: user[@host], each quoted or a bare word. */
    grantee = head_end + 1;
    if (grantee >= t.n || t.v[grantee].type == TOK_PUNCT) {
        goto bad;
    }
    out->grantee_user = span_dup(line, &t, grantee, grantee + 1);
    if (out->grantee_user == NULL) {
        goto nomem;
    }
    i = grantee + 1;
    if (i + 1 < t.n && t.v[i].type == TOK_PUNCT && line[t.v[i].start] == '@') {
        if (t.v[i + 1].type == TOK_PUNCT) {
            goto bad;
        }
        out->grantee_host = span_dup(line, &t, i + 1, i + 2);
        if (out->grantee_host == NULL) {
            goto nomem;
        }
        i += 2;
    }
    /* The rest: keep GRANT OPTION / ADMIN OPTION, drop IDENTIFIED ..., REQUIRE ..., limits. */
    for (; i < t.n; i++) {
        if (t.v[i].depth == 0 && tok_is(line, &t.v[i], "OPTION") && i > 0) {
            if (tok_is(line, &t.v[i - 1], "GRANT")) {
                out->grant_option = true;
            } else if (tok_is(line, &t.v[i - 1], "ADMIN")) {
                out->admin_option = true;
            }
        }
    }
    rc = 0;
    goto out;
nomem:
    sm_err_set(err, SM_ERR_NOMEM, "out of memory parsing a grant");
    goto out;
bad:
    line_head(line, head, sizeof(head));
    sm_err_set(err, ROT_ERR_DB_QUERY, "unrecognised SHOW GRANTS line \"%s\"", head);
out:
    toks_clean_up(&t);
    if (rc != 0) {
        rot_mysql_grant_clean_up(out);
    }
    return rc;
}

void rot_mysql_grant_clean_up(struct rot_mysql_grant *g) {
    if (g == NULL) {
        return;
    }
    sm_free(g->what);
    sm_free(g->object);
    sm_free(g->grantee_user);
    sm_free(g->grantee_host);
    memset(g, 0, sizeof(*g));
}

/* Whether quoted (or bare) token q decodes to name. */
static bool quoted_equals(const char *q, const char *name, bool backslash) {
    size_t n = strlen(q);
    if (n == 0) {
        return name[0] == '\0';
    }
    char c = q[0];
    if (c != '`' && c != '\'' && c != '"') {
        return strcmp(q, name) == 0;
    }
    if (n < 2 || q[n - 1] != c) {
        return false;
    }
    size_t j = 0;
    for (size_t i = 1; i < n - 1; i++) {
        char d = q[i];
        if (backslash && c != '`' && d == '\\' && i + 1 < n - 1) {
            d = q[++i];
        } else if (d == c && i + 1 < n - 1 && q[i + 1] == c) {
            i++;
        }
        if (name[j] != d) {
            return false;
        }
        j++;
    }
    return name[j] == '\0';
}

bool rot_mysql_grant_is_for(const struct rot_mysql_grant *g, const char *user, const char *host) {
    if (g->grantee_user == NULL) {
        return false;
    }
    bool u =
        quoted_equals(g->grantee_user, user, false) || quoted_equals(g->grantee_user, user, true);
    bool h = g->grantee_host == NULL ? host[0] == '\0'
                                     : quoted_equals(g->grantee_host, host, false) ||
                                           quoted_equals(g->grantee_host, host, true);
    return u && h;
}

/* ---------------------------------------------------------------------------------------------
 * Grant plans
 */

void rot_mysql_stmts_clean_up(struct rot_mysql_stmts *s) {
    if (s == NULL) {
        return;
    }
    for (size_t i = 0; i < s->n; i++) {
        sm_free(s->items[i]);
    }
    sm_free(s->items);
    memset(s, 0, sizeof(*s));
}

/* Takes ownership of the buffer's text. */
static int stmts_push(struct rot_mysql_stmts *s, struct sm_buf *b, struct sm_err *err) {
    if (s->n == s->cap) {
        size_t cap = s->cap == 0 ? 16 : s->cap * 2;
        char **items = sm_realloc(s->items, cap * sizeof(*items));
        if (items == NULL) {
            return sm_err_set(err, SM_ERR_NOMEM, "out of memory planning grants");
        }
        s->items = items;
        s->cap = cap;
    }
    if (sm_buf_ensure(b, err) != 0) {
        return -1;
    }
    s->items[s->n++] = sm_buf_take(b);
    return 0;
}

/* A set of strings (privilege or role atoms). */
struct atoms {
    char **v;
    size_t n;
    size_t cap;
};

static void atoms_clean_up(struct atoms *a) {
    for (size_t i = 0; i < a->n; i++) {
        sm_free(a->v[i]);
    }
    sm_free(a->v);
    memset(a, 0, sizeof(*a));
}

static bool atoms_has(const struct atoms *a, const char *s) {
    for (size_t i = 0; i < a->n; i++) {
        if (strcmp(a->v[i], s) == 0) {
            return true;
        }
    }
    return false;
}

/* Adds (a copy of) s unless present. */
static int atoms_add(struct atoms *a, const char *s, size_t n, struct sm_err *err) {
    char *c = sm_strndup(s, n);
    if (c == NULL) {
        return sm_err_set(err, SM_ERR_NOMEM, "out of memory planning grants");
    }
    if (atoms_has(a, c)) {
        sm_free(c);
        return 0;
    }
    if (a->n == a->cap) {
        size_t cap = a->cap == 0 ? 16 : a->cap * 2;
        char **v = sm_realloc(a->v, cap * sizeof(*v));
        if (v == NULL) {
            sm_free(c);
            return sm_err_set(err, SM_ERR_NOMEM, "out of memory planning grants");
        }
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = c;
    return 0;
}

/* Splits a role list ("`r1`@`%`,`r2`@`%`" or "`r1`, `r2`") into atoms (verbatim, trimmed). */
static int role_atoms(const char *what, struct atoms *out, struct sm_err *err) {
    struct toks t = {0};
    int rc = -1;
    size_t len = strlen(what), from = 0;
    if (tokenize(what, len, &t, err) != 0) {
        goto out;
    }
    for (size_t i = 0; i <= t.n; i++) {
        if (i == t.n || (t.v[i].type == TOK_PUNCT && what[t.v[i].start] == ',')) {
            if (i > from) {
                size_t a = t.v[from].start, b = t.v[i - 1].start + t.v[i - 1].len;
                if (atoms_add(out, what + a, b - a, err) != 0) {
                    goto out;
                }
            }
            from = i + 1;
        }
    }
    rc = 0;
out:
    toks_clean_up(&t);
    return rc;
}

/* Appends a privilege name made of words [from, to): upper-case, single spaces. */
static int append_priv_name(struct sm_buf *b, const char *s, const struct toks *t, size_t from,
                            size_t to, struct sm_err *err) {
    for (size_t i = from; i < to; i++) {
        if (i > from && sm_buf_append_str(b, " ", err) != 0) {
            return -1;
        }
        for (size_t k = 0; k < t->v[i].len; k++) {
            char c = s[t->v[i].start + k];
            if (t->v[i].type == TOK_WORD) {
                c = (char)toupper((unsigned char)c);
            }
            if (sm_buf_append(b, &c, 1, err) != 0) {
                return -1;
            }
        }
    }
    return 0;
}

/* Splits a privilege list into atoms: "SELECT", "ALL PRIVILEGES" (also for "ALL"),
 * "UPDATE (`col`)" one per column. */
static int priv_atoms(const char *what, struct atoms *out, struct sm_err *err) {
    struct toks t = {0};
    struct sm_buf b;
    int rc = -1;
    size_t len = strlen(what), from = 0;
    sm_buf_init(&b, ROT_MYSQL_STMT_MAX);
    if (tokenize(what, len, &t, err) != 0) {
        goto out;
    }
    for (size_t i = 0; i <= t.n; i++) {
        bool end = i == t.n ||
                   (t.v[i].depth == 0 && t.v[i].type == TOK_PUNCT && what[t.v[i].start] == ',');
        if (!end) {
            continue;
        }
        if (i > from) {
            /* Privilege words up to an opening parenthesis, then the columns. */
            size_t paren = from;
            while (paren < i && !(t.v[paren].type == TOK_PUNCT && what[t.v[paren].start] == '(')) {
                paren++;
            }
            sm_buf_reset(&b);
            if (append_priv_name(&b, what, &t, from, paren, err) != 0) {
                goto out;
            }
            if (sm_buf_ensure(&b, err) != 0) {
                goto out;
            }
            if (strcmp(b.data, "ALL") == 0 && sm_buf_append_str(&b, " PRIVILEGES", err) != 0) {
                goto out;
            }
            if (paren == i) {
                if (atoms_add(out, b.data, b.len, err) != 0) {
                    goto out;
                }
            } else {
                size_t name_len = b.len, col_from = paren + 1;
                for (size_t k = paren + 1; k < i; k++) {
                    char c = what[t.v[k].start];
                    /* A column ends at a comma inside the parentheses or at the ')' that
                     * closes them (which sits at the outer depth). */
                    bool col_end = t.v[k].type == TOK_PUNCT && ((c == ',' && t.v[k].depth == 1) ||
                                                                (c == ')' && t.v[k].depth == 0));
                    if (!col_end) {
                        continue;
                    }
                    if (k > col_from) {
                        b.len = name_len;
                        b.data[name_len] = '\0';
                        if (sm_buf_append_str(&b, " (", err) != 0 ||
                            append_priv_name(&b, what, &t, col_from, k, err) != 0 ||
                            sm_buf_append_str(&b, ")", err) != 0 ||
                            atoms_add(out, b.data, b.len, err) != 0) {
                            goto out;
                        }
                    }
                    col_from = k + 1;
                }
            }
        }
        from = i + 1;
    }
    rc = 0;
out:
    sm_buf_clean_up(&b);
    toks_clean_up(&t);
    return rc;
}

/* Appends "<atoms joined by ', '>" for the atoms of a not in b (skipping USAGE). Returns the
 * number appended, or -1. */
static int append_difference(struct sm_buf *out, const struct atoms *a, const struct atoms *b,
                             struct sm_err *err) {
    int count = 0;
    for (size_t i = 0; i < a->n; i++) {
        if (strcmp(a->v[i], "USAGE") == 0 || atoms_has(b, a->v[i])) {
            continue;
        }
        if ((count > 0 && sm_buf_append_str(out, ", ", err) != 0) ||
            sm_buf_append_str(out, a->v[i], err) != 0) {
            return -1;
        }
        count++;
    }
    return count;
}

static int emit_grant(struct rot_mysql_stmts *s, const struct rot_mysql_grant *g,
                      const char *account, struct sm_err *err) {
    struct sm_buf b;
    int rc = -1;
    sm_buf_init(&b, ROT_MYSQL_STMT_MAX);
    if (g->kind == ROT_MYSQL_GRANT_PRIV) {
        rc = append_all(&b, err, "GRANT ", g->what, " ON ", g->object, " TO ", account,
                        g->grant_option ? " WITH GRANT OPTION" : "", NULL);
    } else {
        rc = append_all(&b, err, "GRANT ", g->what, " TO ", account,
                        g->admin_option ? " WITH ADMIN OPTION" : "", NULL);
    }
    if (rc == 0) {
        rc = stmts_push(s, &b, err);
    }
    sm_buf_clean_up(&b);
    return rc;
}

/* Emits one statement made of prefix + list + middle + object + " FROM " + account, where list
 * is the difference a \ b; nothing when the difference is empty. */
static int emit_difference(struct rot_mysql_stmts *s, const char *prefix, const struct atoms *a,
                           const struct atoms *b, const char *object, const char *to_from,
                           const char *account, struct sm_err *err) {
    struct sm_buf buf;
    int rc = -1, n;
    sm_buf_init(&buf, ROT_MYSQL_STMT_MAX);
    if (sm_buf_append_str(&buf, prefix, err) != 0) {
        goto out;
    }
    n = append_difference(&buf, a, b, err);
    if (n < 0) {
        goto out;
    }
    if (n == 0) {
        rc = 0;
        goto out;
    }
    if ((object != NULL && append_all(&buf, err, " ON ", object, NULL) != 0) ||
        append_all(&buf, err, to_from, account, NULL) != 0) {
        goto out;
    }
    rc = stmts_push(s, &buf, err);
out:
    sm_buf_clean_up(&buf);
    return rc;
}

static int emit_text(struct rot_mysql_stmts *s, struct sm_err *err, const char *first, ...)
    __attribute__((sentinel));
static int emit_text(struct rot_mysql_stmts *s, struct sm_err *err, const char *first, ...) {
    struct sm_buf b;
    va_list ap;
    int rc = 0;
    sm_buf_init(&b, ROT_MYSQL_STMT_MAX);
    va_start(ap, first);
    for (const char *p = first; p != NULL; p = va_arg(ap, const char *)) {
        if (sm_buf_append_str(&b, p, err) != 0) {
            rc = -1;
            break;
        }
    }
    va_end(ap);
    if (rc == 0) {
        rc = stmts_push(s, &b, err);
    }
    sm_buf_clean_up(&b);
    return rc;
}

/* Whether line g only grants USAGE (a no-op) without GRANT OPTION. */
static int is_usage_only(const struct rot_mysql_grant *g, bool *out, struct sm_err *err) {
    struct atoms a = {0};
    if (priv_atoms(g->what, &a, err) != 0) {
        atoms_clean_up(&a);
        return -1;
    }
    *out = !g->grant_option && a.n == 1 && strcmp(a.v[0], "USAGE") == 0;
    atoms_clean_up(&a);
    return 0;
}

/* The union of the atoms of every line of `kind` in lines (on object, when not NULL). */
static int union_atoms(const struct rot_mysql_grant *lines, size_t n,
                       enum rot_mysql_grant_kind kind, const char *object, struct atoms *out,
                       struct sm_err *err) {
    for (size_t i = 0; i < n; i++) {
        if (lines[i].kind != kind || (object != NULL && strcmp(lines[i].object, object) != 0)) {
            continue;
        }
        int rc = kind == ROT_MYSQL_GRANT_ROLE ? role_atoms(lines[i].what, out, err)
                                              : priv_atoms(lines[i].what, out, err);
        if (rc != 0) {
            return -1;
        }
    }
    return 0;
}

/* Whether atom is a dynamic privilege (MySQL 8: BACKUP_ADMIN), which carries a grant option of
 * its own: one word with an underscore. No static privilege of MySQL or MariaDB is one (MariaDB's
 * READ_ONLY ADMIN is two words). */
static bool is_dynamic(const char *atom) {
    return strchr(atom, '_') != NULL && strchr(atom, ' ') == NULL;
}

/* The atoms of lines' PRIV lines on object that carry GRANT OPTION, and whether one of them is a
 * static privilege (whose option, one per object, then covers them all). */
static int go_atoms(const struct rot_mysql_grant *lines, size_t n, const char *object,
                    struct atoms *out, bool *static_go, struct sm_err *err) {
    struct atoms line = {0};
    int rc = -1;
    *static_go = false;
    for (size_t i = 0; i < n; i++) {
        if (lines[i].kind != ROT_MYSQL_GRANT_PRIV || !lines[i].grant_option ||
            strcmp(lines[i].object, object) != 0) {
            continue;
        }
        atoms_clean_up(&line);
        if (priv_atoms(lines[i].what, &line, err) != 0) {
            goto out;
        }
        for (size_t k = 0; k < line.n; k++) {
            *static_go |= !is_dynamic(line.v[k]);
            if (atoms_add(out, line.v[k], strlen(line.v[k]), err) != 0) {
                goto out;
            }
        }
    }
    rc = 0;
out:
    atoms_clean_up(&line);
    return rc;
}

/* The alternate's line g (atoms a) carries GRANT OPTION; the base holds b on g's object. A
 * dynamic privilege the base holds without the option is revoked and granted again without it,
 * now. The object's static privileges share one option: when the base has it for none of them,
 * the object is added to go_objects, for the REVOKE GRANT OPTION that rot_mysql_grant_plan emits
 * after every other correction. */
static int narrow_grant_option(const struct rot_mysql_grant *base, size_t nbase,
                               const struct rot_mysql_grant *g, const struct atoms *a,
                               const struct atoms *b, const char *account,
                               struct rot_mysql_stmts *out, struct atoms *go_objects,
                               struct sm_err *err) {
    struct atoms go = {0}, dyn = {0}, none = {0};
    bool base_static_go = false, alt_static = false;
    int rc = -1;
    if (go_atoms(base, nbase, g->object, &go, &base_static_go, err) != 0) {
        goto out;
    }
    for (size_t k = 0; k < a->n; k++) {
        const char *p = a->v[k];
        alt_static |= !is_dynamic(p);
        if (is_dynamic(p) && atoms_has(b, p) && !atoms_has(&go, p) &&
            atoms_add(&dyn, p, strlen(p), err) != 0) {
            goto out;
        }
    }
    if (emit_difference(out, "REVOKE ", &dyn, &none, g->object, " FROM ", account, err) != 0 ||
        emit_difference(out, "GRANT ", &dyn, &none, g->object, " TO ", account, err) != 0 ||
        (alt_static && !base_static_go &&
         atoms_add(go_objects, g->object, strlen(g->object), err) != 0)) {
        goto out;
    }
    rc = 0;
out:
    atoms_clean_up(&go);
    atoms_clean_up(&dyn);
    return rc;
}

/* The base's line g on *.* when either account has partial revokes (MySQL's partial_revokes=ON),
 * where granting a global privilege again lifts its restrictions: grants only the privileges the
 * alternate lacks on *.* (with g's option), and g's option where the alternate lacks it (per
 * dynamic privilege by granting it again, for static ones by GRANT USAGE ... WITH GRANT OPTION),
 * so the restrictions the alternate has stay until the corrections lift exactly those the base
 * lacks. */
static int emit_global_grant(struct rot_mysql_stmts *out, const struct rot_mysql_grant *g,
                             const struct rot_mysql_grant *alt, size_t nalt, const char *account,
                             struct sm_err *err) {
    struct atoms a = {0}, held = {0}, held_go = {0}, go_missing = {0}, none = {0};
    struct sm_buf with_go;
    bool alt_static_go = false, static_go_missing = false;
    int rc = -1;
    sm_buf_init(&with_go, ROT_MYSQL_STMT_MAX);
    if (priv_atoms(g->what, &a, err) != 0 ||
        union_atoms(alt, nalt, ROT_MYSQL_GRANT_PRIV, g->object, &held, err) != 0 ||
        go_atoms(alt, nalt, g->object, &held_go, &alt_static_go, err) != 0 ||
        append_all(&with_go, err, account, " WITH GRANT OPTION", NULL) != 0) {
        goto out;
    }
    for (size_t k = 0; g->grant_option && k < a.n; k++) {
        const char *p = a.v[k];
        /* What the alternate lacks is granted with the option below; USAGE never is. */
        static_go_missing |=
            !is_dynamic(p) && !alt_static_go && (atoms_has(&held, p) || strcmp(p, "USAGE") == 0);
        if (is_dynamic(p) && atoms_has(&held, p) && !atoms_has(&held_go, p) &&
            atoms_add(&go_missing, p, strlen(p), err) != 0) {
            goto out;
        }
    }
    if (emit_difference(out, "GRANT ", &a, &held, g->object, " TO ",
                        g->grant_option ? with_go.data : account, err) != 0 ||
        emit_difference(out, "GRANT ", &go_missing, &none, g->object, " TO ", with_go.data, err) !=
            0 ||
        (static_go_missing &&
         emit_text(out, err, "GRANT USAGE ON *.* TO ", with_go.data, NULL) != 0)) {
        goto out;
    }
    rc = 0;
out:
    atoms_clean_up(&a);
    atoms_clean_up(&held);
    atoms_clean_up(&held_go);
    atoms_clean_up(&go_missing);
    sm_buf_clean_up(&with_go);
    return rc;
}

/* REVOKE GRANT OPTION on every object of go_objects, each followed by the base's lines on it that
 * carry the option (dynamic privileges only, since the base has it for no static one there):
 * MySQL 9.7's REVOKE GRANT OPTION ON *.* also clears the option of the account's dynamic
 * privileges in mysql.global_grants but not in the server's privilege cache, and granting them
 * again with the option makes the two agree. */
static int revoke_grant_options(const struct rot_mysql_grant *base, size_t nbase,
                                const struct atoms *go_objects, const char *account,
                                struct rot_mysql_stmts *out, struct sm_err *err) {
    for (size_t i = 0; i < go_objects->n; i++) {
        const char *object = go_objects->v[i];
        if (emit_text(out, err, "REVOKE GRANT OPTION ON ", object, " FROM ", account, NULL) != 0) {
            return -1;
        }
        for (size_t k = 0; k < nbase; k++) {
            if (base[k].kind == ROT_MYSQL_GRANT_PRIV && base[k].grant_option &&
                strcmp(base[k].object, object) == 0 &&
                emit_grant(out, &base[k], account, err) != 0) {
                return -1;
            }
        }
    }
    return 0;
}

static bool has_partial_revokes(const struct rot_mysql_grant *lines, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (lines[i].kind == ROT_MYSQL_GRANT_PARTIAL_REVOKE) {
            return true;
        }
    }
    return false;
}

/* Step 1 of rot_mysql_grant_plan: every privilege grant of the base, then every role grant. */
static int plan_base_grants(const struct rot_mysql_grant *base, size_t nbase,
                            const struct rot_mysql_grant *alt, size_t nalt, const char *account,
                            struct rot_mysql_stmts *out, struct sm_err *err) {
    bool partial = has_partial_revokes(base, nbase) || has_partial_revokes(alt, nalt);
    for (int pass = 0; pass < 2; pass++) {
        enum rot_mysql_grant_kind kind = pass == 0 ? ROT_MYSQL_GRANT_PRIV : ROT_MYSQL_GRANT_ROLE;
        for (size_t i = 0; i < nbase; i++) {
            bool skip = false;
            if (base[i].kind != kind) {
                continue;
            }
            if (kind == ROT_MYSQL_GRANT_PRIV && partial && strcmp(base[i].object, "*.*") == 0) {
                if (emit_global_grant(out, &base[i], alt, nalt, account, err) != 0) {
                    return -1;
                }
                continue;
            }
            if (kind == ROT_MYSQL_GRANT_PRIV && is_usage_only(&base[i], &skip, err) != 0) {
                return -1;
            }
            if (!skip && emit_grant(out, &base[i], account, err) != 0) {
                return -1;
            }
        }
    }
    return 0;
}

/* The alternate's partial revoke g (atoms a): lifts, by granting them on g's object, the
 * privileges it restricts that the base holds on *.* without that restriction. (One the base
 * does not hold on *.* is revoked there, and its restrictions go with it.) */
static int lift_partial_revoke(const struct rot_mysql_grant *base, size_t nbase,
                               const struct rot_mysql_grant *g, const struct atoms *a,
                               const char *account, struct rot_mysql_stmts *out,
                               struct sm_err *err) {
    struct atoms global = {0}, restricted = {0}, lift = {0};
    int rc = -1;
    if (union_atoms(base, nbase, ROT_MYSQL_GRANT_PRIV, "*.*", &global, err) != 0 ||
        union_atoms(base, nbase, ROT_MYSQL_GRANT_PARTIAL_REVOKE, g->object, &restricted, err) !=
            0) {
        goto out;
    }
    for (size_t k = 0; k < a->n; k++) {
        if (atoms_has(&global, a->v[k]) && atoms_add(&lift, a->v[k], strlen(a->v[k]), err) != 0) {
            goto out;
        }
    }
    rc = emit_difference(out, "GRANT ", &lift, &restricted, g->object, " TO ", account, err);
out:
    atoms_clean_up(&global);
    atoms_clean_up(&restricted);
    atoms_clean_up(&lift);
    return rc;
}

/* Step 2 of rot_mysql_grant_plan for the alternate's privilege line g: revokes what the base lacks
 * on g's object and narrows g's grant option (see narrow_grant_option). */
static int correct_priv_line(const struct rot_mysql_grant *base, size_t nbase,
                             const struct rot_mysql_grant *g, const char *account,
                             struct rot_mysql_stmts *out, struct atoms *go_objects,
                             struct sm_err *err) {
    struct atoms a = {0}, b = {0};
    int rc = -1;
    if (priv_atoms(g->what, &a, err) != 0 ||
        union_atoms(base, nbase, ROT_MYSQL_GRANT_PRIV, g->object, &b, err) != 0) {
        goto out;
    }
    if (!atoms_has(&b, "ALL PRIVILEGES")) {
        if (atoms_has(&a, "ALL PRIVILEGES")) {
            /* ALL cannot be narrowed: revoke it and re-grant the base's on this object. */
            if (emit_text(out, err, "REVOKE ALL PRIVILEGES ON ", g->object, " FROM ", account,
                          NULL) != 0) {
                goto out;
            }
            for (size_t k = 0; k < nbase; k++) {
                if (base[k].kind == ROT_MYSQL_GRANT_PRIV &&
                    strcmp(base[k].object, g->object) == 0 &&
                    emit_grant(out, &base[k], account, err) != 0) {
                    goto out;
                }
            }
            if (atoms_add(&b, "ALL PRIVILEGES", 14, err) != 0) {
                goto out;
            }
        }
        if (emit_difference(out, "REVOKE ", &a, &b, g->object, " FROM ", account, err) != 0) {
            goto out;
        }
    }
    if (g->grant_option &&
        narrow_grant_option(base, nbase, g, &a, &b, account, out, go_objects, err) != 0) {
        goto out;
    }
    rc = 0;
out:
    atoms_clean_up(&a);
    atoms_clean_up(&b);
    return rc;
}

int rot_mysql_grant_plan(const struct rot_mysql_grant *base, size_t nbase,
                         const struct rot_mysql_grant *alt, size_t nalt, const char *account,
                         struct rot_mysql_stmts *out, struct sm_err *err) {
    struct atoms a = {0}, b = {0}, go_objects = {0};
    int rc = -1;
    bool base_default_role = false;

    /* 1. Everything the base holds: privileges first, then roles. */
    if (plan_base_grants(base, nbase, alt, nalt, account, out, err) != 0) {
        goto out;
    }
    for (size_t i = 0; i < nbase; i++) {
        base_default_role |= base[i].kind == ROT_MYSQL_GRANT_DEFAULT_ROLE;
    }

    /* 2. What the alternate holds beyond the base. */
    out->corrections_from = out->n;
    for (size_t i = 0; i < nalt; i++) {
        const struct rot_mysql_grant *g = &alt[i];
        atoms_clean_up(&a);
        atoms_clean_up(&b);
        switch (g->kind) {
        case ROT_MYSQL_GRANT_PRIV:
            if (correct_priv_line(base, nbase, g, account, out, &go_objects, err) != 0) {
                goto out;
            }
            break;
        case ROT_MYSQL_GRANT_ROLE:
            if (role_atoms(g->what, &a, err) != 0 ||
                union_atoms(base, nbase, ROT_MYSQL_GRANT_ROLE, NULL, &b, err) != 0 ||
                emit_difference(out, "REVOKE ", &a, &b, NULL, " FROM ", account, err) != 0) {
                goto out;
            }
            break;
        case ROT_MYSQL_GRANT_PARTIAL_REVOKE:
            if (priv_atoms(g->what, &a, err) != 0 ||
                lift_partial_revoke(base, nbase, g, &a, account, out, err) != 0) {
                goto out;
            }
            break;
        case ROT_MYSQL_GRANT_DEFAULT_ROLE:
            if (!base_default_role &&
                emit_text(out, err, "SET DEFAULT ROLE NONE FOR ", account, NULL) != 0) {
                goto out;
            }
            break;
        }
    }

    if (revoke_grant_options(base, nbase, &go_objects, account, out, err) != 0) {
        goto out;
    }
    out->corrections_to = out->n;

    /* 3. The base's partial revokes and default role, now that its grants are in place. */
    for (size_t i = 0; i < nbase; i++) {
        if (base[i].kind == ROT_MYSQL_GRANT_PARTIAL_REVOKE &&
            emit_text(out, err, "REVOKE ", base[i].what, " ON ", base[i].object, " FROM ", account,
                      NULL) != 0) {
            goto out;
        }
    }
    for (size_t i = 0; i < nbase; i++) {
        if (base[i].kind == ROT_MYSQL_GRANT_DEFAULT_ROLE &&
            emit_text(out, err, "SET DEFAULT ROLE ", base[i].what, " FOR ", account, NULL) != 0) {
            goto out;
        }
    }
    rc = 0;
out:
    atoms_clean_up(&a);
    atoms_clean_up(&b);
    atoms_clean_up(&go_objects);
    return rc;
}
