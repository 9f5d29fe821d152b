#include "mysql_inspect.h"

#include "mem.h"
#include "mysql_conn.h"
#include "mysql_grant_plan.h"
#include "mysql_grants.h"
#include "mysql_sql.h"
#include "mysql_sync.h"
#include "str.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define MY_NAMES_MAX 128
#define MY_NAME_LEN 64
#define MY_NEW_PASSWORD "<new password>"
#define MY_UNKNOWN_PASSWORD "<a password no one knows>"

/* A grant line's privileges (upper case, words joined by one space, column lists dropped) or its
 * roles (as written). */
struct my_names {
    char v[MY_NAMES_MAX][MY_NAME_LEN];
    size_t n;
};

static void my_names_flush(struct my_names *out, char *cur, bool upper) {
    if (cur[0] != '\0' && out->n < MY_NAMES_MAX) {
        for (char *p = cur; upper && *p != '\0'; p++) {
            *p = (char)toupper((unsigned char)*p);
        }
        snprintf(out->v[out->n++], MY_NAME_LEN, "%s", cur);
    }
    cur[0] = '\0';
}

/* Splits a grant's list at its top-level commas. */
static int my_split(const char *what, bool roles, struct my_names *out, struct sm_err *err) {
    struct rot_mysql_toks t = {0};
    char cur[MY_NAME_LEN] = "";
    out->n = 0;
    if (rot_mysql_tokenize(what, strlen(what), &t, err) != 0) {
        rot_mysql_toks_clean_up(&t);
        return -1;
    }
    for (size_t i = 0; i < t.n; i++) {
        const struct rot_mysql_tok *tk = &t.v[i];
        size_t used = strlen(cur);
        if (tk->depth == 0 && rot_mysql_tok_punct(what, tk, ',')) {
            my_names_flush(out, cur, !roles);
        } else if (roles || (tk->depth == 0 && tk->type != ROT_MYSQL_TOK_PUNCT)) {
            snprintf(cur + used, sizeof(cur) - used, "%s%.*s", !roles && used > 0 ? " " : "",
                     (int)tk->len, what + tk->start);
        }
    }
    my_names_flush(out, cur, !roles);
    rot_mysql_toks_clean_up(&t);
    return 0;
}

/* ---- the master's grants ------------------------------------------------------------------- */

struct my_master {
    char shown[210]; /* 'user'@'host', printable */
    struct rot_mysql_grant_list grants;
    struct my_names *names; /* names[i]: grants.v[i]'s privileges or roles */
};

static void my_master_clean_up(struct my_master *m) {
    rot_mysql_grant_list_clean_up(&m->grants);
    sm_free(m->names);
    m->names = NULL;
}

/* Reads the session's own account (CURRENT_USER()) and its grants. */
static int my_master_read(struct rot_session *s, struct my_master *m, struct sm_err *err) {
    struct rot_mysql_rows rows = {0};
    char *user = NULL, *user_esc = NULL, *host_esc = NULL, *at = NULL;
    char u[100], h[100];
    int rc = -1;
    if (rot_mysql_query(s, "SELECT CURRENT_USER()", 1, "SELECT CURRENT_USER()", &rows, err) != 0) {
        goto out;
    }
    if (rows.nrows != 1 || (user = sm_strdup(rot_mysql_cell(&rows, 0, 0))) == NULL ||
        (at = strrchr(user, '@')) == NULL) {
        sm_err_set(err, user == NULL && rows.nrows == 1 ? SM_ERR_NOMEM : ROT_ERR_DB_QUERY,
                   "%s: CURRENT_USER() names no account", s->where);
        goto out;
    }
    *at = '\0';
    sm_str_printable(user, u, sizeof(u));
    sm_str_printable(at + 1, h, sizeof(h));
    snprintf(m->shown, sizeof(m->shown), "'%s'@'%s'", u, h);
    if ((user_esc = rot_mysql_escape(s, user, err)) == NULL ||
        (host_esc = rot_mysql_escape(s, at + 1, err)) == NULL ||
        rot_mysql_show_grants(s, user, at + 1, user_esc, host_esc, &m->grants, err) != 0) {
        goto out;
    }
    if ((m->names = sm_calloc(m->grants.n + 1, sizeof(*m->names))) == NULL) {
        sm_err_set(err, SM_ERR_NOMEM, "out of memory reading the master's grants");
        goto out;
    }
    for (size_t i = 0; i < m->grants.n; i++) {
        const struct rot_mysql_grant *g = &m->grants.v[i];
        if (my_split(g->what, g->kind == ROT_MYSQL_GRANT_ROLE, &m->names[i], err) != 0) {
            goto out;
        }
    }
    rc = 0;
out:
    sm_free(user);
    sm_free(user_esc);
    sm_free(host_esc);
    rot_mysql_rows_clean_up(&rows);
    return rc;
}

/* Whether a grant on held covers wanted: *.*, the object itself, or its database (`d`.* covers
 * `d`.`t` and the routines PROCEDURE `d`.`p`, FUNCTION `d`.`f`). */
static bool my_covers(const char *held, const char *wanted) {
    size_t n = strlen(held);
    if (strcmp(held, "*.*") == 0 || strcmp(held, wanted) == 0) {
        return true;
    }
    if (n < 3 || strcmp(held + n - 2, ".*") != 0) {
        return false;
    }
    if (strncasecmp(wanted, "PROCEDURE ", 10) == 0) {
        wanted += 10;
    } else if (strncasecmp(wanted, "FUNCTION ", 9) == 0) {
        wanted += 9;
    }
    return strncmp(wanted, held, n - 1) == 0 && wanted[n - 1] != '\0';
}

/* Whether the master holds priv on object (with its grant option). */
static bool my_holds(const struct my_master *m, const char *priv, const char *object,
                     bool grant_option) {
    for (size_t i = 0; i < m->grants.n; i++) {
        const struct rot_mysql_grant *g = &m->grants.v[i];
        if (g->kind != ROT_MYSQL_GRANT_PRIV || g->object == NULL || !my_covers(g->object, object) ||
            (grant_option && !g->grant_option)) {
            continue;
        }
        for (size_t k = 0; k < m->names[i].n; k++) {
            const char *n = m->names[i].v[k];
            if (strcmp(n, priv) == 0 || strcmp(n, "ALL") == 0 || strcmp(n, "ALL PRIVILEGES") == 0) {
                return true;
            }
        }
    }
    return false;
}

/* Whether the master may grant role: it holds it WITH ADMIN OPTION, or (MySQL) ROLE_ADMIN or
 * SUPER. */
static bool my_can_grant_role(const struct rot_session *s, const struct my_master *m,
                              const char *role) {
    for (size_t i = 0; i < m->grants.n; i++) {
        if (m->grants.v[i].kind != ROT_MYSQL_GRANT_ROLE || !m->grants.v[i].admin_option) {
            continue;
        }
        for (size_t k = 0; k < m->names[i].n; k++) {
            if (strcmp(m->names[i].v[k], role) == 0) {
                return true;
            }
        }
    }
    return s->version.flavor != ROT_MYSQL_FLAVOR_MARIADB &&
           (my_holds(m, "ROLE_ADMIN", "*.*", false) || my_holds(m, "SUPER", "*.*", false));
}

/* ---- what the master lacks ----------------------------------------------------------------- */

/* Appends one thing the master lacks to lacks, once. */
static int my_lack(struct sm_buf *lacks, struct sm_err *err, const char *fmt, ...) SM_PRINTF(3, 4);

static int my_lack(struct sm_buf *lacks, struct sm_err *err, const char *fmt, ...) {
    char item[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(item, sizeof(item), fmt, ap);
    va_end(ap);
    if (lacks->data != NULL && strstr(lacks->data, item) != NULL) {
        return 0;
    }
    return sm_buf_appendf(lacks, err, "%s%s", lacks->len > 0 ? "; " : "", item);
}

/* Lists user's accounts (Host, plugin, ssl_type, ssl_cipher, x509_issuer, x509_subject). */
static int my_accounts(struct rot_session *s, const char *user, struct rot_mysql_rows *rows,
                       struct sm_err *err) {
    struct sm_buf sql;
    char *esc = rot_mysql_escape(s, user, err);
    int rc = -1;
    sm_buf_init(&sql, ROT_MYSQL_STMT_MAX);
    if (esc != NULL && rot_mysql_sql_select_accounts(&sql, esc, err) == 0) {
        rc = rot_mysql_query(s, sql.data, 6, "listing accounts in mysql.user", rows, err);
    }
    sm_free(esc);
    sm_buf_clean_up(&sql);
    return rc;
}

/* What copying one grant line of the original needs that the master lacks. */
static int my_check_line(const struct rot_session *s, const struct my_master *m,
                         const struct rot_mysql_grant *g, struct sm_buf *lacks,
                         struct sm_err *err) {
    struct my_names names;
    char object[200], name[MY_NAME_LEN];
    bool role = g->kind == ROT_MYSQL_GRANT_ROLE;
    if ((g->kind != ROT_MYSQL_GRANT_PRIV && !role) || my_split(g->what, role, &names, err) != 0) {
        return g->kind != ROT_MYSQL_GRANT_PRIV && !role ? 0 : -1;
    }
    sm_str_printable(g->object, object, sizeof(object));
    for (size_t k = 0; k < names.n; k++) {
        sm_str_printable(names.v[k], name, sizeof(name));
        if (role && !my_can_grant_role(s, m, names.v[k]) &&
            my_lack(lacks, err, "the role %s WITH ADMIN OPTION", name) != 0) {
            return -1;
        }
        if (!role && strcmp(names.v[k], "USAGE") != 0 &&
            !my_holds(m, names.v[k], g->object, true) &&
            my_lack(lacks, err, "%s ON %s WITH GRANT OPTION", name, object) != 0) {
            return -1;
        }
    }
    return 0;
}

/* Alternating users over a clone: CREATE USER, and every grant of the original's accounts. */
static int my_rights_clone(struct rot_session *s, const struct my_master *m, const char *user,
                           struct sm_buf *lacks, struct sm_err *err) {
    struct rot_mysql_rows rows = {0};
    char *user_esc = NULL, shown[100];
    int rc = -1;
    sm_str_printable(user, shown, sizeof(shown));
    if (!my_holds(m, "CREATE USER", "*.*", false)) {
        /* Nothing else matters then (and such a master may not even read mysql.user). */
        return my_lack(lacks, err, "CREATE USER ON *.*");
    }
    if (my_accounts(s, user, &rows, err) != 0 ||
        (user_esc = rot_mysql_escape(s, user, err)) == NULL ||
        (rows.nrows == 0 && my_lack(lacks, err, "user '%s' has no account", shown) != 0)) {
        goto out;
    }
    for (size_t i = 0; i < rows.nrows; i++) {
        struct rot_mysql_grant_list grants = {0};
        const char *host = rot_mysql_cell(&rows, i, 0);
        char *host_esc = rot_mysql_escape(s, host, err);
        int line_rc = host_esc != NULL
                          ? rot_mysql_show_grants(s, user, host, user_esc, host_esc, &grants, err)
                          : -1;
        for (size_t k = 0; line_rc == 0 && k < grants.n; k++) {
            line_rc = my_check_line(s, m, &grants.v[k], lacks, err);
        }
        rot_mysql_grant_list_clean_up(&grants);
        sm_free(host_esc);
        if (line_rc != 0) {
            goto out;
        }
    }
    rc = 0;
out:
    sm_free(user_esc);
    rot_mysql_rows_clean_up(&rows);
    return rc;
}

/* Two pre-created users, or single user via the master: the right to set their passwords, and
 * that they exist. */
static int my_rights_passwords(struct rot_session *s, const struct my_master *m,
                               const char *const users[2], struct sm_buf *lacks,
                               struct sm_err *err) {
    if (!my_holds(m, "CREATE USER", "*.*", false) && !my_holds(m, "UPDATE", "`mysql`.*", false)) {
        return my_lack(lacks, err, "CREATE USER ON *.* (or UPDATE ON mysql.*)");
    }
    for (size_t i = 0; i < 2 && users[i] != NULL; i++) {
        struct rot_mysql_rows rows = {0};
        char shown[100];
        sm_str_printable(users[i], shown, sizeof(shown));
        int rc = my_accounts(s, users[i], &rows, err);
        if (rc == 0 && rows.nrows == 0) {
            rc = my_lack(lacks, err, "user '%s' has no account (create it first)", shown);
        }
        rot_mysql_rows_clean_up(&rows);
        if (rc != 0) {
            return -1;
        }
    }
    return 0;
}

static int my_read_only(struct rot_session *s, struct sm_err *err) {
    return rot_mysql_run(s, "START TRANSACTION READ ONLY", "START TRANSACTION READ ONLY", NULL,
                         err);
}

static void my_roll_back(struct rot_session *s) {
    struct sm_err ignored;
    (void)rot_mysql_run(s, "ROLLBACK", "ROLLBACK", NULL, &ignored);
}

/* The verdict: what the master may or cannot do, and what it lacks. */
static int my_rights_detail(const struct my_master *m, const struct rot_rights_request *req,
                            const struct sm_buf *lacks, struct sm_buf *detail, struct sm_err *err) {
    char a[100], b[100], what[300];
    if (req->clone != NULL) {
        sm_str_printable(req->clone->original, a, sizeof(a));
        sm_str_printable(req->clone->clone, b, sizeof(b));
        snprintf(what, sizeof(what), "create or update '%s' with the grants of '%s'", b, a);
    } else if (req->users[1] != NULL) {
        sm_str_printable(req->users[0], a, sizeof(a));
        sm_str_printable(req->users[1], b, sizeof(b));
        snprintf(what, sizeof(what), "set the passwords of '%s' and '%s'", a, b);
    } else {
        sm_str_printable(req->users[0], a, sizeof(a));
        snprintf(what, sizeof(what), "set the password of '%s'", a);
    }
    if (lacks->len == 0) {
        return sm_buf_appendf(detail, err, "the master %s may %s", m->shown, what);
    }
    return sm_buf_appendf(detail, err,
                          "the master %s cannot %s: it lacks %s; grant them to it (GRANT ... TO "
                          "%s WITH GRANT OPTION), or use a master that holds them (an RDS or "
                          "Aurora master user can grant only what it holds)",
                          m->shown, what, lacks->data, m->shown);
}

int rot_mysql_check_rights(struct rot_session *admin, const struct rot_rights_request *req,
                           bool *allowed, struct sm_buf *detail, struct sm_err *err) {
    struct my_master m;
    struct sm_buf lacks;
    int rc = -1;
    memset(&m, 0, sizeof(m));
    sm_buf_init(&lacks, 16384);
    *allowed = false;
    if (my_read_only(admin, err) != 0) {
        goto out;
    }
    if (my_master_read(admin, &m, err) == 0 &&
        (req->clone != NULL ? my_rights_clone(admin, &m, req->clone->original, &lacks, err)
                            : my_rights_passwords(admin, &m, req->users, &lacks, err)) == 0) {
        rc = 0;
    }
    my_roll_back(admin);
    if (rc == 0) {
        *allowed = lacks.len == 0;
        rc = my_rights_detail(&m, req, &lacks, detail, err);
    }
out:
    my_master_clean_up(&m);
    sm_buf_clean_up(&lacks);
    return rc;
}

/* ---- the plan ------------------------------------------------------------------------------ */

/* One host part of the original, as the sync sees it (mysql_sync.c). */
struct my_plan {
    struct rot_session *s;
    const struct rot_user_pair *users;
    const char *orig_esc, *clone_esc;
    const struct rot_mysql_rows *origs, *clones;
    size_t row;
    long clone_row; /* -1: no clone account at this host part yet */
    const char *host, *host_esc, *plugin;
    struct sm_buf *out;
};

/* Appends the statement in sql as one line of the plan, and empties sql. */
static int my_line(struct my_plan *p, struct sm_buf *sql, struct sm_err *err) {
    int rc = sm_buf_appendf(p->out, err, "%s\n", sql->data != NULL ? sql->data : "");
    sm_buf_reset(sql);
    return rc;
}

/* Whether the clone's account has the original's TLS requirement (ssl_type ... x509_subject). */
static bool my_same_require(const struct my_plan *p) {
    for (size_t col = 2; p->clone_row >= 0 && col <= 5; col++) {
        if (strcmp(rot_mysql_cell(p->origs, p->row, col),
                   rot_mysql_cell(p->clones, (size_t)p->clone_row, col)) != 0) {
            return false;
        }
    }
    return p->clone_row >= 0;
}

/* CREATE USER for a missing clone account, and the TLS requirement when it differs. */
static int my_plan_account(struct my_plan *p, bool target_is_clone, struct sm_buf *sql,
                           struct sm_err *err) {
    char *parts[3] = {NULL};
    int rc = -1;
    if (p->clone_row < 0 &&
        (rot_mysql_sql_create_user(sql, &p->s->version, p->clone_esc, p->host_esc, p->plugin,
                                   target_is_clone ? MY_NEW_PASSWORD : MY_UNKNOWN_PASSWORD,
                                   err) != 0 ||
         my_line(p, sql, err) != 0)) {
        goto out;
    }
    if (!my_same_require(p)) {
        for (size_t i = 0; i < 3; i++) {
            if ((parts[i] = rot_mysql_escape(p->s, rot_mysql_cell(p->origs, p->row, 3 + i), err)) ==
                NULL) {
                goto out;
            }
        }
        if (rot_mysql_sql_require(sql, &p->s->version, p->clone_esc, p->host_esc,
                                  rot_mysql_cell(p->origs, p->row, 2), parts[0], parts[1], parts[2],
                                  err) != 0 ||
            my_line(p, sql, err) != 0) {
            goto out;
        }
    }
    rc = 0;
out:
    for (size_t i = 0; i < 3; i++) {
        sm_free(parts[i]);
    }
    return rc;
}

/* The grants the clone's account gets or loses (the sync's own planner), its default roles. */
static int my_plan_grants(struct my_plan *p, struct sm_buf *sql, struct sm_err *err) {
    struct rot_mysql_grant_list og = {0}, cg = {0};
    struct rot_mysql_stmts plan = {0};
    int rc = -1;
    if (rot_mysql_show_grants(p->s, p->users->original, p->host, p->orig_esc, p->host_esc, &og,
                              err) != 0 ||
        (p->clone_row >= 0 && rot_mysql_show_grants(p->s, p->users->clone, p->host, p->clone_esc,
                                                    p->host_esc, &cg, err) != 0) ||
        rot_mysql_sql_account(sql, p->clone_esc, p->host_esc, err) != 0 ||
        rot_mysql_grant_plan(og.v, og.n, cg.v, cg.n, sql->data, &plan, err) != 0) {
        goto out;
    }
    sm_buf_reset(sql);
    for (size_t i = 0; i < plan.n; i++) {
        if (sm_buf_appendf(p->out, err, "%s\n", plan.items[i]) != 0) {
            goto out;
        }
    }
    if (rot_mysql_has_default_roles_table(&p->s->version) &&
        (rot_mysql_append(sql, err, "SET DEFAULT ROLE (the default roles of '", p->orig_esc, "'@'",
                          p->host_esc, "') TO ", NULL) != 0 ||
         rot_mysql_sql_account(sql, p->clone_esc, p->host_esc, err) != 0 ||
         my_line(p, sql, err) != 0)) {
        goto out;
    }
    rc = 0;
out:
    rot_mysql_grant_list_clean_up(&og);
    rot_mysql_grant_list_clean_up(&cg);
    rot_mysql_stmts_clean_up(&plan);
    return rc;
}

/* What the sync runs at one host part of the original. */
static int my_plan_host(struct my_plan *p, struct sm_err *err) {
    struct sm_buf sql;
    char *host_esc = NULL;
    bool target_is_clone = strcmp(p->users->target, p->users->clone) == 0;
    int rc = -1;
    sm_buf_init(&sql, ROT_MYSQL_STMT_MAX);
    p->host = rot_mysql_cell(p->origs, p->row, 0);
    p->plugin = rot_mysql_clone_plugin(&p->s->version, rot_mysql_cell(p->origs, p->row, 1));
    p->clone_row = -1;
    for (size_t k = 0; k < p->clones->nrows; k++) {
        if (strcmp(rot_mysql_cell(p->clones, k, 0), p->host) == 0) {
            p->clone_row = (long)k;
        }
    }
    if ((p->host_esc = host_esc = rot_mysql_escape(p->s, p->host, err)) == NULL ||
        my_plan_account(p, target_is_clone, &sql, err) != 0 || my_plan_grants(p, &sql, err) != 0) {
        goto out;
    }
    if (target_is_clone && p->clone_row >= 0 &&
        (rot_mysql_sql_set_password_for(&sql, &p->s->version, p->clone_esc, p->host_esc, p->plugin,
                                        MY_NEW_PASSWORD, err) != 0 ||
         my_line(p, &sql, err) != 0)) {
        goto out;
    }
    rc = 0;
out:
    sm_free(host_esc);
    sm_buf_clean_up(&sql);
    return rc;
}

/* The statements that set the original's password at every host part, after them all, as
 * set_password sets it (mysql_sql.h, rot_mysql_sql_password_stmt). */
static int my_plan_original_password(struct rot_session *s, const char *orig_esc,
                                     const struct rot_mysql_rows *origs, struct sm_buf *plan,
                                     struct sm_err *err) {
    const struct rot_password_opts none = {0};
    char **hosts = sm_calloc(origs->nrows + 1, sizeof(char *));
    struct sm_buf sql;
    int rc = -1;
    sm_buf_init(&sql, ROT_MYSQL_STMT_MAX);
    if (hosts == NULL) {
        sm_err_set(err, SM_ERR_NOMEM, "out of memory planning the password");
        goto out;
    }
    for (size_t i = 0; i < origs->nrows; i++) {
        if ((hosts[i] = rot_mysql_escape(s, rot_mysql_cell(origs, i, 0), err)) == NULL) {
            goto out;
        }
    }
    for (size_t i = 0; i < (rot_mysql_one_password_stmt(&s->version) ? 1 : origs->nrows); i++) {
        sm_buf_reset(&sql);
        if (rot_mysql_sql_password_stmt(&sql, &s->version, orig_esc, (const char *const *)hosts,
                                        origs->nrows, i, MY_NEW_PASSWORD, &none, err) != 0 ||
            sm_buf_appendf(plan, err, "%s\n", sql.data) != 0) {
            goto out;
        }
    }
    rc = 0;
out:
    for (size_t i = 0; hosts != NULL && hosts[i] != NULL; i++) {
        sm_free(hosts[i]);
    }
    sm_free(hosts);
    sm_buf_clean_up(&sql);
    return rc;
}

int rot_mysql_plan_alternate_user(struct rot_session *admin, const struct rot_user_pair *users,
                                  struct sm_buf *plan, struct sm_err *err) {
    struct rot_mysql_rows origs = {0}, clones = {0};
    char *orig_esc = NULL, *clone_esc = NULL, shown[100];
    int rc = -1;
    if ((orig_esc = rot_mysql_escape(admin, users->original, err)) == NULL ||
        (clone_esc = rot_mysql_escape(admin, users->clone, err)) == NULL ||
        my_read_only(admin, err) != 0) {
        goto out;
    }
    if (my_accounts(admin, users->original, &origs, err) == 0 &&
        my_accounts(admin, users->clone, &clones, err) == 0) {
        rc = 0;
        if (origs.nrows == 0) {
            sm_str_printable(users->original, shown, sizeof(shown));
            rc = sm_err_set(err, ROT_ERR_ROTATION, "user '%s' has no account in mysql.user on %s",
                            shown, admin->where);
        }
        for (size_t i = 0; rc == 0 && i < origs.nrows; i++) {
            struct my_plan p = {.s = admin,
                                .users = users,
                                .orig_esc = orig_esc,
                                .clone_esc = clone_esc,
                                .origs = &origs,
                                .clones = &clones,
                                .row = i,
                                .out = plan};
            rc = my_plan_host(&p, err);
        }
        if (rc == 0 && strcmp(users->target, users->clone) != 0) {
            rc = my_plan_original_password(admin, orig_esc, &origs, plan, err);
        }
    }
    my_roll_back(admin);
out:
    sm_free(orig_esc);
    sm_free(clone_esc);
    rot_mysql_rows_clean_up(&origs);
    rot_mysql_rows_clean_up(&clones);
    return rc;
}
