#include "mysql_grant_plan.h"

#include "buf.h"
#include "mem.h"
#include "mysql_sql.h"

#include <ctype.h>
#include <stdarg.h>
#include <string.h>

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
static int my_stmts_push(struct rot_mysql_stmts *s, struct sm_buf *b, struct sm_err *err) {
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

/* ---- atoms: a grant line's list, one entry per privilege, column privilege or role ---------- */

/*
 * Lines can't be compared as text: the server folds a user's privileges on one object into one
 * line ("GRANT SELECT, INSERT ON `db`.*"), lists column privileges as "UPDATE (`a`, `b`)", and
 * writes ALL as "ALL PRIVILEGES". An atom is one thing a line grants, in one spelling: "SELECT",
 * "ALL PRIVILEGES", "UPDATE (`a`)" (a column privilege per column), or a role "`r`@`%`". The plan
 * compares the sets of atoms of the two accounts on each object.
 */
struct my_atoms {
    char **v;
    size_t n;
    size_t cap;
};

static void my_atoms_clean_up(struct my_atoms *a) {
    for (size_t i = 0; i < a->n; i++) {
        sm_free(a->v[i]);
    }
    sm_free(a->v);
    memset(a, 0, sizeof(*a));
}

static bool my_atoms_has(const struct my_atoms *a, const char *s) {
    for (size_t i = 0; i < a->n; i++) {
        if (strcmp(a->v[i], s) == 0) {
            return true;
        }
    }
    return false;
}

/* Adds (a copy of) s[0, n) unless present. */
static int my_atoms_add(struct my_atoms *a, const char *s, size_t n, struct sm_err *err) {
    char *c = sm_strndup(s, n);
    if (c == NULL) {
        return sm_err_set(err, SM_ERR_NOMEM, "out of memory planning grants");
    }
    if (my_atoms_has(a, c)) {
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
static int my_role_atoms(const char *what, struct my_atoms *out, struct sm_err *err) {
    struct rot_mysql_toks t = {0};
    int rc = -1;
    size_t from = 0;
    if (rot_mysql_tokenize(what, strlen(what), &t, err) != 0) {
        goto out;
    }
    for (size_t i = 0; i <= t.n; i++) {
        if (i < t.n && !rot_mysql_tok_punct(what, &t.v[i], ',')) {
            continue;
        }
        if (i > from) {
            size_t a = t.v[from].start, b = t.v[i - 1].start + t.v[i - 1].len;
            if (my_atoms_add(out, what + a, b - a, err) != 0) {
                goto out;
            }
        }
        from = i + 1;
    }
    rc = 0;
out:
    rot_mysql_toks_clean_up(&t);
    return rc;
}

/* Appends a privilege name made of tokens [from, to) in one spelling: words upper-case (the
 * server prints "Select" in some versions), single spaces; quoted column names verbatim. */
static int my_append_priv_name(struct sm_buf *b, const char *s, const struct rot_mysql_toks *t,
                               size_t from, size_t to, struct sm_err *err) {
    for (size_t i = from; i < to; i++) {
        if (i > from && sm_buf_append_str(b, " ", err) != 0) {
            return -1;
        }
        for (size_t k = 0; k < t->v[i].len; k++) {
            char c = s[t->v[i].start + k];
            if (t->v[i].type == ROT_MYSQL_TOK_WORD) {
                c = (char)toupper((unsigned char)c);
            }
            if (sm_buf_append(b, &c, 1, err) != 0) {
                return -1;
            }
        }
    }
    return 0;
}

/* Adds the atoms of one privilege, tokens [from, to): "NAME", or "NAME (`col`)" per column of a
 * column privilege "NAME (`a`, `b`)". A column ends at a comma inside the parentheses (depth 1)
 * or at the ')' that closes them (depth 0, see rot_mysql_tok). */
static int my_priv_atom(const char *what, const struct rot_mysql_toks *t, size_t from, size_t to,
                        struct sm_buf *b, struct my_atoms *out, struct sm_err *err) {
    size_t paren = from;
    while (paren < to && !rot_mysql_tok_punct(what, &t->v[paren], '(')) {
        paren++;
    }
    sm_buf_reset(b);
    if (my_append_priv_name(b, what, t, from, paren, err) != 0 || sm_buf_ensure(b, err) != 0 ||
        (strcmp(b->data, "ALL") == 0 && sm_buf_append_str(b, " PRIVILEGES", err) != 0)) {
        return -1;
    }
    if (paren == to) {
        return my_atoms_add(out, b->data, b->len, err);
    }
    size_t name_len = b->len, col_from = paren + 1;
    for (size_t k = paren + 1; k < to; k++) {
        bool col_end = (rot_mysql_tok_punct(what, &t->v[k], ',') && t->v[k].depth == 1) ||
                       (rot_mysql_tok_punct(what, &t->v[k], ')') && t->v[k].depth == 0);
        if (!col_end) {
            continue;
        }
        if (k > col_from) {
            b->len = name_len;
            b->data[name_len] = '\0';
            if (sm_buf_append_str(b, " (", err) != 0 ||
                my_append_priv_name(b, what, t, col_from, k, err) != 0 ||
                sm_buf_append_str(b, ")", err) != 0 ||
                my_atoms_add(out, b->data, b->len, err) != 0) {
                return -1;
            }
        }
        col_from = k + 1;
    }
    return 0;
}

/* Splits a privilege list ("SELECT, UPDATE (`a`, `b`), ALL") into atoms; only commas outside
 * parentheses separate privileges. */
static int my_priv_atoms(const char *what, struct my_atoms *out, struct sm_err *err) {
    struct rot_mysql_toks t = {0};
    struct sm_buf b;
    int rc = -1;
    size_t from = 0;
    sm_buf_init(&b, ROT_MYSQL_STMT_MAX);
    if (rot_mysql_tokenize(what, strlen(what), &t, err) != 0) {
        goto out;
    }
    for (size_t i = 0; i <= t.n; i++) {
        if (i < t.n && !(t.v[i].depth == 0 && rot_mysql_tok_punct(what, &t.v[i], ','))) {
            continue;
        }
        if (i > from && my_priv_atom(what, &t, from, i, &b, out, err) != 0) {
            goto out;
        }
        from = i + 1;
    }
    rc = 0;
out:
    sm_buf_clean_up(&b);
    rot_mysql_toks_clean_up(&t);
    return rc;
}

/* The union of the atoms of every line of `kind` (on object, when not NULL). */
static int my_union_atoms(const struct rot_mysql_grant *lines, size_t n,
                          enum rot_mysql_grant_kind kind, const char *object, struct my_atoms *out,
                          struct sm_err *err) {
    for (size_t i = 0; i < n; i++) {
        if (lines[i].kind != kind || (object != NULL && strcmp(lines[i].object, object) != 0)) {
            continue;
        }
        int rc = kind == ROT_MYSQL_GRANT_ROLE ? my_role_atoms(lines[i].what, out, err)
                                              : my_priv_atoms(lines[i].what, out, err);
        if (rc != 0) {
            return -1;
        }
    }
    return 0;
}

/* Whether atom is a dynamic privilege (MySQL 8: BACKUP_ADMIN), which carries a grant option of
 * its own: one word with an underscore. No static privilege of MySQL or MariaDB is one (MariaDB's
 * READ_ONLY ADMIN is two words). */
static bool my_is_dynamic(const char *atom) {
    return strchr(atom, '_') != NULL && strchr(atom, ' ') == NULL;
}

/* The atoms of lines' privilege lines on object that carry GRANT OPTION, and whether one of them
 * is a static privilege (whose option, one per object, then covers them all). */
static int my_go_atoms(const struct rot_mysql_grant *lines, size_t n, const char *object,
                       struct my_atoms *out, bool *static_go, struct sm_err *err) {
    struct my_atoms line = {0};
    int rc = -1;
    *static_go = false;
    for (size_t i = 0; i < n; i++) {
        if (lines[i].kind != ROT_MYSQL_GRANT_PRIV || !lines[i].grant_option ||
            strcmp(lines[i].object, object) != 0) {
            continue;
        }
        my_atoms_clean_up(&line);
        if (my_priv_atoms(lines[i].what, &line, err) != 0) {
            goto out;
        }
        for (size_t k = 0; k < line.n; k++) {
            *static_go |= !my_is_dynamic(line.v[k]);
            if (my_atoms_add(out, line.v[k], strlen(line.v[k]), err) != 0) {
                goto out;
            }
        }
    }
    rc = 0;
out:
    my_atoms_clean_up(&line);
    return rc;
}

static bool my_has_partial_revokes(const struct rot_mysql_grant *lines, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (lines[i].kind == ROT_MYSQL_GRANT_PARTIAL_REVOKE) {
            return true;
        }
    }
    return false;
}

/* ---- emitting statements ------------------------------------------------------------------- */

/* Emits the concatenation of a NULL-terminated list of strings as one statement. */
static int my_emit(struct rot_mysql_stmts *s, struct sm_err *err, const char *first, ...)
    __attribute__((sentinel));
static int my_emit(struct rot_mysql_stmts *s, struct sm_err *err, const char *first, ...) {
    struct sm_buf b;
    va_list ap;
    int rc = 0;
    sm_buf_init(&b, ROT_MYSQL_STMT_MAX);
    va_start(ap, first);
    for (const char *p = first; p != NULL && rc == 0; p = va_arg(ap, const char *)) {
        rc = sm_buf_append_str(&b, p, err);
    }
    va_end(ap);
    rc = rc == 0 ? my_stmts_push(s, &b, err) : -1;
    sm_buf_clean_up(&b);
    return rc;
}

/* Re-grants line g of the base to account, with its grant or admin option. */
static int my_emit_grant(struct rot_mysql_stmts *s, const struct rot_mysql_grant *g,
                         const char *account, struct sm_err *err) {
    if (g->kind == ROT_MYSQL_GRANT_PRIV) {
        return my_emit(s, err, "GRANT ", g->what, " ON ", g->object, " TO ", account,
                       g->grant_option ? " WITH GRANT OPTION" : "", NULL);
    }
    return my_emit(s, err, "GRANT ", g->what, " TO ", account,
                   g->admin_option ? " WITH ADMIN OPTION" : "", NULL);
}

/* Emits verb + (the atoms of a not in b, USAGE aside) [+ " ON " object] + to_from + account;
 * nothing when there are none. */
static int my_emit_difference(struct rot_mysql_stmts *s, const char *verb, const struct my_atoms *a,
                              const struct my_atoms *b, const char *object, const char *to_from,
                              const char *account, struct sm_err *err) {
    struct sm_buf buf;
    int rc = -1, count = 0;
    sm_buf_init(&buf, ROT_MYSQL_STMT_MAX);
    if (sm_buf_append_str(&buf, verb, err) != 0) {
        goto out;
    }
    for (size_t i = 0; i < a->n; i++) {
        if (strcmp(a->v[i], "USAGE") == 0 || my_atoms_has(b, a->v[i])) {
            continue;
        }
        if (sm_buf_append_str(&buf, count++ > 0 ? ", " : "", err) != 0 ||
            sm_buf_append_str(&buf, a->v[i], err) != 0) {
            goto out;
        }
    }
    if (count == 0) {
        rc = 0;
        goto out;
    }
    if ((object != NULL && rot_mysql_append(&buf, err, " ON ", object, NULL) != 0) ||
        rot_mysql_append(&buf, err, to_from, account, NULL) != 0) {
        goto out;
    }
    rc = my_stmts_push(s, &buf, err);
out:
    sm_buf_clean_up(&buf);
    return rc;
}

/* ---- the plan ------------------------------------------------------------------------------ */

/* What the plan works on: both accounts' lines and the alternate's "'u'@'h'" literal. */
struct my_plan {
    const struct rot_mysql_grant *base, *alt;
    size_t nbase, nalt;
    const char *account;
    struct rot_mysql_stmts *out;
    struct my_atoms *go_objects; /* objects whose static grant option the alternate loses */
};

/* 1. The base's line g on *.* when either account has partial revokes (MySQL's
 * partial_revokes=ON), where granting a global privilege again lifts its restrictions: grants
 * only the privileges the alternate lacks on *.* (with g's option), and g's option where the
 * alternate lacks it (per dynamic privilege by granting it again, for static ones by GRANT USAGE
 * ... WITH GRANT OPTION), so the restrictions the alternate has stay until the corrections lift
 * exactly those the base lacks. */
static int my_plan_global_grant(const struct my_plan *p, const struct rot_mysql_grant *g,
                                struct sm_err *err) {
    struct my_atoms a = {0}, held = {0}, held_go = {0}, go_missing = {0}, none = {0};
    struct sm_buf with_go;
    bool alt_static_go = false, static_go_missing = false;
    int rc = -1;
    sm_buf_init(&with_go, ROT_MYSQL_STMT_MAX);
    if (my_priv_atoms(g->what, &a, err) != 0 ||
        my_union_atoms(p->alt, p->nalt, ROT_MYSQL_GRANT_PRIV, g->object, &held, err) != 0 ||
        my_go_atoms(p->alt, p->nalt, g->object, &held_go, &alt_static_go, err) != 0 ||
        rot_mysql_append(&with_go, err, p->account, " WITH GRANT OPTION", NULL) != 0) {
        goto out;
    }
    for (size_t k = 0; g->grant_option && k < a.n; k++) {
        const char *v = a.v[k];
        /* What the alternate lacks is granted with the option below; USAGE never is. */
        static_go_missing |= !my_is_dynamic(v) && !alt_static_go &&
                             (my_atoms_has(&held, v) || strcmp(v, "USAGE") == 0);
        if (my_is_dynamic(v) && my_atoms_has(&held, v) && !my_atoms_has(&held_go, v) &&
            my_atoms_add(&go_missing, v, strlen(v), err) != 0) {
            goto out;
        }
    }
    if (my_emit_difference(p->out, "GRANT ", &a, &held, g->object, " TO ",
                           g->grant_option ? with_go.data : p->account, err) != 0 ||
        my_emit_difference(p->out, "GRANT ", &go_missing, &none, g->object, " TO ", with_go.data,
                           err) != 0 ||
        (static_go_missing &&
         my_emit(p->out, err, "GRANT USAGE ON *.* TO ", with_go.data, NULL) != 0)) {
        goto out;
    }
    rc = 0;
out:
    my_atoms_clean_up(&a);
    my_atoms_clean_up(&held);
    my_atoms_clean_up(&held_go);
    my_atoms_clean_up(&go_missing);
    sm_buf_clean_up(&with_go);
    return rc;
}

/* 1. Every grant the base holds, privileges before roles (a role's privileges never stand in for
 * the base's own); a line that grants only USAGE is no grant at all. */
static int my_plan_grants(const struct my_plan *p, struct sm_err *err) {
    bool partial =
        my_has_partial_revokes(p->base, p->nbase) || my_has_partial_revokes(p->alt, p->nalt);
    for (int pass = 0; pass < 2; pass++) {
        enum rot_mysql_grant_kind kind = pass == 0 ? ROT_MYSQL_GRANT_PRIV : ROT_MYSQL_GRANT_ROLE;
        for (size_t i = 0; i < p->nbase; i++) {
            const struct rot_mysql_grant *g = &p->base[i];
            struct my_atoms a = {0};
            if (g->kind != kind) {
                continue;
            }
            if (kind == ROT_MYSQL_GRANT_PRIV && partial && strcmp(g->object, "*.*") == 0) {
                if (my_plan_global_grant(p, g, err) != 0) {
                    return -1;
                }
                continue;
            }
            if (kind == ROT_MYSQL_GRANT_PRIV && my_priv_atoms(g->what, &a, err) != 0) {
                my_atoms_clean_up(&a);
                return -1;
            }
            bool usage_only = kind == ROT_MYSQL_GRANT_PRIV && !g->grant_option && a.n == 1 &&
                              strcmp(a.v[0], "USAGE") == 0;
            my_atoms_clean_up(&a);
            if (!usage_only && my_emit_grant(p->out, g, p->account, err) != 0) {
                return -1;
            }
        }
    }
    return 0;
}

/* 2. The alternate's line g (atoms a) carries GRANT OPTION; the base holds b on g's object. A
 * dynamic privilege the base holds without the option is revoked and granted again without it,
 * now (MySQL 8 keeps a grant option per dynamic privilege). The object's static privileges share
 * one option: when the base has it for none of them, the object joins go_objects, for the REVOKE
 * GRANT OPTION that comes after every other correction. */
static int my_narrow_grant_option(const struct my_plan *p, const struct rot_mysql_grant *g,
                                  const struct my_atoms *a, const struct my_atoms *b,
                                  struct sm_err *err) {
    struct my_atoms go = {0}, dyn = {0}, none = {0};
    bool base_static_go = false, alt_static = false;
    int rc = -1;
    if (my_go_atoms(p->base, p->nbase, g->object, &go, &base_static_go, err) != 0) {
        goto out;
    }
    for (size_t k = 0; k < a->n; k++) {
        const char *v = a->v[k];
        alt_static |= !my_is_dynamic(v);
        if (my_is_dynamic(v) && my_atoms_has(b, v) && !my_atoms_has(&go, v) &&
            my_atoms_add(&dyn, v, strlen(v), err) != 0) {
            goto out;
        }
    }
    if (my_emit_difference(p->out, "REVOKE ", &dyn, &none, g->object, " FROM ", p->account, err) !=
            0 ||
        my_emit_difference(p->out, "GRANT ", &dyn, &none, g->object, " TO ", p->account, err) !=
            0 ||
        (alt_static && !base_static_go &&
         my_atoms_add(p->go_objects, g->object, strlen(g->object), err) != 0)) {
        goto out;
    }
    rc = 0;
out:
    my_atoms_clean_up(&go);
    my_atoms_clean_up(&dyn);
    return rc;
}

/* 2. A privilege line of the alternate, narrowed to the base's on the same object. ALL
 * PRIVILEGES can't be narrowed by revoking single privileges (they are not listed apart), so an
 * alternate that holds ALL where the base holds less loses ALL and gets the base's grants on
 * that object again. Its grant option is narrowed by my_narrow_grant_option. */
static int my_plan_priv_line(const struct my_plan *p, const struct rot_mysql_grant *g,
                             struct my_atoms *a, struct my_atoms *b, struct sm_err *err) {
    const char *acct = p->account;
    if (my_priv_atoms(g->what, a, err) != 0 ||
        my_union_atoms(p->base, p->nbase, ROT_MYSQL_GRANT_PRIV, g->object, b, err) != 0) {
        return -1;
    }
    if (!my_atoms_has(b, "ALL PRIVILEGES")) {
        if (my_atoms_has(a, "ALL PRIVILEGES")) {
            if (my_emit(p->out, err, "REVOKE ALL PRIVILEGES ON ", g->object, " FROM ", acct,
                        NULL) != 0) {
                return -1;
            }
            for (size_t k = 0; k < p->nbase; k++) {
                if (p->base[k].kind == ROT_MYSQL_GRANT_PRIV &&
                    strcmp(p->base[k].object, g->object) == 0 &&
                    my_emit_grant(p->out, &p->base[k], acct, err) != 0) {
                    return -1;
                }
            }
            if (my_atoms_add(b, "ALL PRIVILEGES", 14, err) != 0) {
                return -1; /* so the difference below does not list ALL again */
            }
        }
        if (my_emit_difference(p->out, "REVOKE ", a, b, g->object, " FROM ", acct, err) != 0) {
            return -1;
        }
    }
    return g->grant_option ? my_narrow_grant_option(p, g, a, b, err) : 0;
}

/* 2. The alternate's partial revoke g (atoms a): lifts, by granting them on g's object, the
 * privileges it restricts that the base holds on *.* without that restriction. (One the base
 * does not hold on *.* is revoked there, and its restrictions go with it.) */
static int my_lift_partial_revoke(const struct my_plan *p, const struct rot_mysql_grant *g,
                                  const struct my_atoms *a, struct sm_err *err) {
    struct my_atoms global = {0}, restricted = {0}, lift = {0};
    int rc = -1;
    if (my_union_atoms(p->base, p->nbase, ROT_MYSQL_GRANT_PRIV, "*.*", &global, err) != 0 ||
        my_union_atoms(p->base, p->nbase, ROT_MYSQL_GRANT_PARTIAL_REVOKE, g->object, &restricted,
                       err) != 0) {
        goto out;
    }
    for (size_t k = 0; k < a->n; k++) {
        if (my_atoms_has(&global, a->v[k]) &&
            my_atoms_add(&lift, a->v[k], strlen(a->v[k]), err) != 0) {
            goto out;
        }
    }
    rc = my_emit_difference(p->out, "GRANT ", &lift, &restricted, g->object, " TO ", p->account,
                            err);
out:
    my_atoms_clean_up(&global);
    my_atoms_clean_up(&restricted);
    my_atoms_clean_up(&lift);
    return rc;
}

/* 2. A line of the alternate against the base: what the alternate holds beyond the base. */
static int my_plan_correction(const struct my_plan *p, const struct rot_mysql_grant *g,
                              bool base_default_role, struct sm_err *err) {
    struct my_atoms a = {0}, b = {0};
    int rc = -1;
    switch (g->kind) {
    case ROT_MYSQL_GRANT_PRIV:
        rc = my_plan_priv_line(p, g, &a, &b, err);
        break;
    case ROT_MYSQL_GRANT_ROLE:
        rc = my_role_atoms(g->what, &a, err) != 0 ||
                     my_union_atoms(p->base, p->nbase, ROT_MYSQL_GRANT_ROLE, NULL, &b, err) != 0 ||
                     my_emit_difference(p->out, "REVOKE ", &a, &b, NULL, " FROM ", p->account,
                                        err) != 0
                 ? -1
                 : 0;
        break;
    case ROT_MYSQL_GRANT_PARTIAL_REVOKE:
        rc = my_priv_atoms(g->what, &a, err) != 0 || my_lift_partial_revoke(p, g, &a, err) != 0 ? -1
                                                                                                : 0;
        break;
    case ROT_MYSQL_GRANT_DEFAULT_ROLE:
        rc = base_default_role
                 ? 0
                 : my_emit(p->out, err, "SET DEFAULT ROLE NONE FOR ", p->account, NULL);
        break;
    }
    my_atoms_clean_up(&a);
    my_atoms_clean_up(&b);
    return rc;
}

/* 2, last. REVOKE GRANT OPTION on every object of go_objects, each followed by the base's lines
 * on it that carry the option (dynamic privileges only, since the base has it for no static one
 * there): MySQL 9.7's REVOKE GRANT OPTION ON *.* also clears the option of the account's dynamic
 * privileges in mysql.global_grants but not in the server's privilege cache, and granting them
 * again with the option makes the two agree. */
static int my_revoke_grant_options(const struct my_plan *p, struct sm_err *err) {
    for (size_t i = 0; i < p->go_objects->n; i++) {
        const char *object = p->go_objects->v[i];
        if (my_emit(p->out, err, "REVOKE GRANT OPTION ON ", object, " FROM ", p->account, NULL) !=
            0) {
            return -1;
        }
        for (size_t k = 0; k < p->nbase; k++) {
            const struct rot_mysql_grant *g = &p->base[k];
            if (g->kind == ROT_MYSQL_GRANT_PRIV && g->grant_option &&
                strcmp(g->object, object) == 0 && my_emit_grant(p->out, g, p->account, err) != 0) {
                return -1;
            }
        }
    }
    return 0;
}

/* 3. The base's partial revokes and default role, now that its grants are in place. */
static int my_plan_restrictions(const struct my_plan *p, struct sm_err *err) {
    for (size_t i = 0; i < p->nbase; i++) {
        const struct rot_mysql_grant *g = &p->base[i];
        if (g->kind == ROT_MYSQL_GRANT_PARTIAL_REVOKE &&
            my_emit(p->out, err, "REVOKE ", g->what, " ON ", g->object, " FROM ", p->account,
                    NULL) != 0) {
            return -1;
        }
    }
    for (size_t i = 0; i < p->nbase; i++) {
        const struct rot_mysql_grant *g = &p->base[i];
        if (g->kind == ROT_MYSQL_GRANT_DEFAULT_ROLE &&
            my_emit(p->out, err, "SET DEFAULT ROLE ", g->what, " FOR ", p->account, NULL) != 0) {
            return -1;
        }
    }
    return 0;
}

int rot_mysql_grant_plan(const struct rot_mysql_grant *base, size_t nbase,
                         const struct rot_mysql_grant *alt, size_t nalt, const char *account,
                         struct rot_mysql_stmts *out, struct sm_err *err) {
    struct my_atoms go_objects = {0};
    struct my_plan p = {.base = base,
                        .nbase = nbase,
                        .alt = alt,
                        .nalt = nalt,
                        .account = account,
                        .out = out,
                        .go_objects = &go_objects};
    bool base_default_role = false;
    int rc = -1;
    for (size_t i = 0; i < nbase; i++) {
        base_default_role |= base[i].kind == ROT_MYSQL_GRANT_DEFAULT_ROLE;
    }
    if (my_plan_grants(&p, err) != 0) {
        goto out;
    }
    out->corrections_from = out->n;
    for (size_t i = 0; i < nalt; i++) {
        if (my_plan_correction(&p, &alt[i], base_default_role, err) != 0) {
            goto out;
        }
    }
    if (my_revoke_grant_options(&p, err) != 0) {
        goto out;
    }
    out->corrections_to = out->n;
    rc = my_plan_restrictions(&p, err);
out:
    my_atoms_clean_up(&go_objects);
    return rc;
}
