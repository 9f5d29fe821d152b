#include "mysql_grants.h"

#include "mem.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- the tokenizer ------------------------------------------------------------------------- */

void rot_mysql_toks_clean_up(struct rot_mysql_toks *t) {
    sm_free(t->v);
    t->v = NULL;
    t->n = t->cap = 0;
}

static int my_toks_push(struct rot_mysql_toks *t, struct rot_mysql_tok tk, struct sm_err *err) {
    if (t->n == t->cap) {
        size_t cap = t->cap == 0 ? 32 : t->cap * 2;
        struct rot_mysql_tok *v = sm_realloc(t->v, cap * sizeof(*v));
        if (v == NULL) {
            return sm_err_set(err, SM_ERR_NOMEM, "out of memory parsing a grant");
        }
        t->v = v;
        t->cap = cap;
    }
    t->v[t->n++] = tk;
    return 0;
}

/* Word characters: what an unquoted identifier or keyword is made of (bytes >= 0x80 are parts of
 * UTF-8 names, which SHOW GRANTS prints unquoted when they need no quoting). */
static bool my_is_word_char(char c) {
    return isalnum((unsigned char)c) || c == '_' || c == '$' || (unsigned char)c >= 0x80;
}

/* Index just past the quoted token starting at s[i] (a quote character), or 0 if unterminated.
 * The server escapes a quote inside a name by doubling it, in all three quote styles; in '...'
 * and "..." it may also print a backslash escape (\' or \\), which backticks never have. */
static size_t my_skip_quoted(const char *s, size_t len, size_t i) {
    char q = s[i];
    size_t j = i + 1;
    while (j < len) {
        if (s[j] == '\\' && q != '`' && j + 1 < len) {
            j += 2; /* the escaped character, whatever it is, belongs to the token */
            continue;
        }
        if (s[j] == q) {
            if (j + 1 < len && s[j + 1] == q) {
                j += 2; /* a doubled quote: one quote character inside */
                continue;
            }
            return j + 1;
        }
        j++;
    }
    return 0;
}

/* Reads the token at s[i] into tk (start and depth already set); returns the index past it, or 0
 * for an unterminated quote. Parentheses change *depth: '(' sits at the depth outside it and ')'
 * closes back to that depth, so a list's parentheses and its closing one share a depth. */
static size_t my_read_token(const char *s, size_t len, size_t i, int *depth,
                            struct rot_mysql_tok *tk) {
    char c = s[i];
    size_t j = i + 1;
    if (c == '`' || c == '\'' || c == '"') {
        j = my_skip_quoted(s, len, i);
        tk->type = ROT_MYSQL_TOK_QUOTED;
    } else if (my_is_word_char(c)) {
        while (j < len && my_is_word_char(s[j])) {
            j++;
        }
        tk->type = ROT_MYSQL_TOK_WORD;
    } else {
        tk->type = ROT_MYSQL_TOK_PUNCT;
        *depth += c == '(' ? 1 : c == ')' ? -1 : 0;
        tk->depth = c == ')' ? *depth : tk->depth;
    }
    tk->len = j > i ? j - i : 0;
    return j;
}

int rot_mysql_tokenize(const char *s, size_t len, struct rot_mysql_toks *out, struct sm_err *err) {
    int depth = 0;
    size_t i = 0;
    while (i < len) {
        if (isspace((unsigned char)s[i])) {
            i++;
            continue;
        }
        struct rot_mysql_tok tk = {.start = i, .depth = depth};
        i = my_read_token(s, len, i, &depth, &tk);
        if (i == 0) {
            return sm_err_set(err, ROT_ERR_DB_QUERY, "unterminated quote in a grant");
        }
        if (depth < 0) {
            return sm_err_set(err, ROT_ERR_DB_QUERY, "unbalanced parenthesis in a grant");
        }
        if (my_toks_push(out, tk, err) != 0) {
            return -1;
        }
    }
    if (depth != 0) {
        return sm_err_set(err, ROT_ERR_DB_QUERY, "unbalanced parenthesis in a grant");
    }
    return 0;
}

bool rot_mysql_tok_is(const char *s, const struct rot_mysql_tok *t, const char *word) {
    size_t n = strlen(word);
    return t->type == ROT_MYSQL_TOK_WORD && t->len == n && strncasecmp(s + t->start, word, n) == 0;
}

bool rot_mysql_tok_punct(const char *s, const struct rot_mysql_tok *t, char c) {
    return t->type == ROT_MYSQL_TOK_PUNCT && s[t->start] == c;
}

/* ---- SHOW GRANTS lines --------------------------------------------------------------------- */

/* Index of the first word `word` outside parentheses in [from, to), or to. A keyword inside
 * parentheses is a column name (UPDATE (`to`)), and quoted names are never words. */
static size_t my_find_word(const char *s, const struct rot_mysql_toks *t, size_t from, size_t to,
                           const char *word) {
    for (size_t i = from; i < to; i++) {
        if (t->v[i].depth == 0 && rot_mysql_tok_is(s, &t->v[i], word)) {
            return i;
        }
    }
    return to;
}

/* Copies the source text spanning tokens [from, to) (to > from). */
static char *my_span_dup(const char *s, const struct rot_mysql_toks *t, size_t from, size_t to) {
    size_t a = t->v[from].start, b = t->v[to - 1].start + t->v[to - 1].len;
    return sm_strndup(s + a, b - a);
}

/* First words of a line for error messages: never past the first quote (a hash is quoted). */
static void my_line_head(const char *line, char *out, size_t cap) {
    size_t n = 0;
    while (line[n] != '\0' && line[n] != '\'' && line[n] != '"' && line[n] != '`' && n < 40) {
        n++;
    }
    snprintf(out, cap, "%.*s%s", (int)n, line, line[n] != '\0' ? "..." : "");
}

/* The statement's kind from its first words, and where its list starts and the keyword that ends
 * it (TO, FROM, FOR). -1 for a line that is none of the four kinds. */
static int my_line_kind(const char *s, const struct rot_mysql_toks *t, struct rot_mysql_grant *g,
                        size_t *from, const char **sep) {
    if (t->n >= 2 && rot_mysql_tok_is(s, &t->v[0], "GRANT")) {
        g->kind = ROT_MYSQL_GRANT_PRIV; /* or a role grant: no ON before TO */
        *from = 1;
        *sep = "TO";
    } else if (t->n >= 2 && rot_mysql_tok_is(s, &t->v[0], "REVOKE")) {
        g->kind = ROT_MYSQL_GRANT_PARTIAL_REVOKE;
        *from = 1;
        *sep = "FROM";
    } else if (t->n >= 4 && rot_mysql_tok_is(s, &t->v[0], "SET") &&
               rot_mysql_tok_is(s, &t->v[1], "DEFAULT") && rot_mysql_tok_is(s, &t->v[2], "ROLE")) {
        g->kind = ROT_MYSQL_GRANT_DEFAULT_ROLE;
        *from = 3;
        *sep = "FOR";
    } else {
        return -1;
    }
    return 0;
}

/* Splits the head, tokens [from, end), into `what` and (for privileges) `object` at ON. A GRANT
 * without ON grants roles. 1 when done, 0 for a malformed head, -1 out of memory. */
static int my_parse_head(const char *s, const struct rot_mysql_toks *t, size_t from, size_t end,
                         struct rot_mysql_grant *g) {
    size_t on = end;
    if (g->kind != ROT_MYSQL_GRANT_DEFAULT_ROLE) {
        on = my_find_word(s, t, from, end, "ON");
        if (on == end && g->kind == ROT_MYSQL_GRANT_PARTIAL_REVOKE) {
            return 0;
        }
        if (on == end) {
            g->kind = ROT_MYSQL_GRANT_ROLE;
        } else if (on == from || on + 1 == end) {
            return 0; /* nothing before or after ON */
        }
    }
    g->what = my_span_dup(s, t, from, on);
    if (g->what == NULL || (on < end && (g->object = my_span_dup(s, t, on + 1, end)) == NULL)) {
        return -1;
    }
    return 1;
}

/* Reads the grantee at token i (user[@host], each quoted or a bare word) and, after it, GRANT
 * OPTION and ADMIN OPTION; everything else there (IDENTIFIED ..., REQUIRE ..., resource limits)
 * is dropped. 1 when done, 0 for a malformed grantee, -1 out of memory. */
static int my_parse_tail(const char *s, const struct rot_mysql_toks *t, size_t i,
                         struct rot_mysql_grant *g) {
    if (i >= t->n || t->v[i].type == ROT_MYSQL_TOK_PUNCT) {
        return 0;
    }
    if ((g->grantee_user = my_span_dup(s, t, i, i + 1)) == NULL) {
        return -1;
    }
    i++;
    if (i + 1 < t->n && rot_mysql_tok_punct(s, &t->v[i], '@')) {
        if (t->v[i + 1].type == ROT_MYSQL_TOK_PUNCT) {
            return 0;
        }
        if ((g->grantee_host = my_span_dup(s, t, i + 1, i + 2)) == NULL) {
            return -1;
        }
        i += 2;
    }
    for (; i < t->n; i++) {
        if (t->v[i].depth == 0 && rot_mysql_tok_is(s, &t->v[i], "OPTION")) {
            g->grant_option |= rot_mysql_tok_is(s, &t->v[i - 1], "GRANT");
            g->admin_option |= rot_mysql_tok_is(s, &t->v[i - 1], "ADMIN");
        }
    }
    return 1;
}

int rot_mysql_grant_parse(const char *line, struct rot_mysql_grant *out, struct sm_err *err) {
    struct rot_mysql_toks t = {0};
    size_t from = 0, end = 0;
    const char *sep = NULL;
    char head[64];
    int rc = -1, ok = 0;

    memset(out, 0, sizeof(*out));
    if (rot_mysql_tokenize(line, strlen(line), &t, err) != 0) {
        goto out;
    }
    if (my_line_kind(line, &t, out, &from, &sep) == 0) {
        end = my_find_word(line, &t, from, t.n, sep);
        ok = end == t.n || end == from ? 0 : my_parse_head(line, &t, from, end, out);
        ok = ok == 1 ? my_parse_tail(line, &t, end + 1, out) : ok;
    }
    if (ok < 0) {
        sm_err_set(err, SM_ERR_NOMEM, "out of memory parsing a grant");
    } else if (ok == 0) {
        my_line_head(line, head, sizeof(head));
        sm_err_set(err, ROT_ERR_DB_QUERY, "unrecognised SHOW GRANTS line \"%s\"", head);
    } else {
        rc = 0;
    }
out:
    rot_mysql_toks_clean_up(&t);
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

/* Whether quoted (or bare) token q decodes to name: doubled quotes always, and backslash escapes
 * when backslash is set (the server may print either, depending on NO_BACKSLASH_ESCAPES). */
static bool my_quoted_equals(const char *q, const char *name, bool backslash) {
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
    bool u = my_quoted_equals(g->grantee_user, user, false) ||
             my_quoted_equals(g->grantee_user, user, true);
    bool h = g->grantee_host == NULL ? host[0] == '\0'
                                     : my_quoted_equals(g->grantee_host, host, false) ||
                                           my_quoted_equals(g->grantee_host, host, true);
    return u && h;
}
