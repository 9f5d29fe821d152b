#include "mysql_sync.h"

#include "buf.h"
#include "log.h"
#include "mem.h"
#include "mysql_conn.h"
#include "mysql_grant_plan.h"
#include "mysql_grants.h"
#include "mysql_sql.h"
#include "str.h"

#include <openssl/rand.h>

#include <assert.h>
#include <stdio.h>
#include <string.h>

void rot_mysql_grant_list_clean_up(struct rot_mysql_grant_list *g) {
    for (size_t i = 0; i < g->n; i++) {
        rot_mysql_grant_clean_up(&g->v[i]);
    }
    sm_free(g->v);
    memset(g, 0, sizeof(*g));
}

int rot_mysql_show_grants(struct rot_session *s, const char *user, const char *host,
                          const char *user_esc, const char *host_esc,
                          struct rot_mysql_grant_list *out, struct sm_err *err) {
    struct sm_buf sql;
    struct rot_mysql_rows rows = {0};
    int rc = -1;
    memset(out, 0, sizeof(*out));
    sm_buf_init(&sql, ROT_MYSQL_STMT_MAX);
    if (rot_mysql_sql_show_grants(&sql, user_esc, host_esc, err) != 0 ||
        rot_mysql_query(s, sql.data, 1, "SHOW GRANTS", &rows, err) != 0) {
        goto out;
    }
    out->v = sm_calloc(rows.nrows + 1, sizeof(*out->v));
    if (out->v == NULL) {
        sm_err_set(err, SM_ERR_NOMEM, "out of memory reading grants");
        goto out;
    }
    for (size_t i = 0; i < rows.nrows; i++) {
        if (rot_mysql_grant_parse(rot_mysql_cell(&rows, i, 0), &out->v[i], err) != 0) {
            goto out;
        }
        out->n++;
        if (!rot_mysql_grant_is_for(&out->v[i], user, host)) {
            char u[100], h[100];
            sm_str_printable(user, u, sizeof(u));
            sm_str_printable(host, h, sizeof(h));
            sm_err_set(err, ROT_ERR_DB_QUERY,
                       "SHOW GRANTS FOR '%s'@'%s' on %s returned a grant for another account", u, h,
                       s->where);
            goto out;
        }
    }
    rc = 0;
out:
    sm_buf_clean_up(&sql);
    rot_mysql_rows_clean_up(&rows);
    if (rc != 0) {
        rot_mysql_grant_list_clean_up(out);
    }
    return rc;
}

/* Copies MySQL 8 default roles of base@host to the alternate account. */
static int my_sync_default_roles(struct rot_session *s, const char *base_esc, const char *alt_esc,
                                 const char *host_esc, struct sm_err *err) {
    struct sm_buf sql;
    struct rot_mysql_rows rows = {0};
    char **roles = NULL;
    size_t nslots = 0;
    int rc = -1;
    sm_buf_init(&sql, ROT_MYSQL_STMT_MAX);
    if (rot_mysql_sql_select_default_roles(&sql, base_esc, host_esc, err) != 0 ||
        rot_mysql_query(s, sql.data, 2, "reading mysql.default_roles", &rows, err) != 0) {
        goto out;
    }
    roles = sm_calloc(2 * rows.nrows + 1, sizeof(char *));
    if (roles == NULL) {
        sm_err_set(err, SM_ERR_NOMEM, "out of memory copying default roles");
        goto out;
    }
    nslots = 2 * rows.nrows;
    for (size_t i = 0; i < nslots; i++) {
        if ((roles[i] = rot_mysql_escape(s, rot_mysql_cell(&rows, i / 2, i % 2), err)) == NULL) {
            goto out;
        }
    }
    sm_buf_reset(&sql);
    if (rot_mysql_sql_set_default_roles(&sql, (const char *const *)roles, rows.nrows, alt_esc,
                                        host_esc, err) != 0 ||
        rot_mysql_run(s, sql.data, "SET DEFAULT ROLE", NULL, err) != 0) {
        goto out;
    }
    rc = 0;
out:
    for (size_t i = 0; roles != NULL && i < nslots; i++) {
        sm_free(roles[i]);
    }
    sm_free(roles);
    sm_buf_clean_up(&sql);
    rot_mysql_rows_clean_up(&rows);
    return rc;
}

/* What syncing the clone's accounts shares. */
struct my_sync {
    struct rot_session *s;
    const struct rot_user_pair *users;
    const char *orig_esc, *clone_esc; /* escaped bodies */
    const char *pw, *pw_esc;          /* the target's new password, raw and escaped */
    bool target_is_clone;
};

/* One host part of the original: its mysql.user row (Host, plugin, ssl_type, ssl_cipher,
 * x509_issuer, x509_subject) and, when the clone has an account there, the clone's. */
struct my_account {
    const struct rot_mysql_rows *origs, *clones;
    size_t row;
    long clone_row; /* -1: no clone account there yet */
    const char *host, *host_esc;
    const char *plugin; /* the original's plugin when a clone may be given it by name, or NULL */
    char shown[64];     /* the host, printable */
};

/* A password no one knows, for a clone created while the original is the one being set: 28
 * random letters and digits, then one of each class a password policy (validate_password) may
 * ask for. *out is sm_malloc'd (wiped on free). */
static int my_unknown_password(char **out, struct sm_err *err) {
    static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char bytes[28];
    char *pw = sm_malloc(sizeof(bytes) + 5);
    if (pw == NULL) {
        return sm_err_set(err, SM_ERR_NOMEM, "out of memory creating the alternate user");
    }
    if (RAND_bytes(bytes, (int)sizeof(bytes)) != 1) {
        sm_free(pw);
        return sm_err_set(err, SM_ERR_INTERNAL, "no random bytes for the alternate user");
    }
    for (size_t i = 0; i < sizeof(bytes); i++) {
        pw[i] = alnum[bytes[i] % (sizeof(alnum) - 1)];
    }
    memcpy(pw + sizeof(bytes), "aZ7-", 5);
    sm_wipe(bytes, sizeof(bytes));
    *out = pw;
    return 0;
}

/* Whether the clone's account has the original's TLS requirement (ssl_type ... x509_subject). */
static bool my_same_require(const struct my_account *a) {
    for (size_t col = 2; a->clone_row >= 0 && col <= 5; col++) {
        if (strcmp(rot_mysql_cell(a->origs, a->row, col),
                   rot_mysql_cell(a->clones, (size_t)a->clone_row, col)) != 0) {
            return false;
        }
    }
    return a->clone_row >= 0;
}

/* Creates the missing clone account: with the new password when the clone is the target, else
 * with one no one knows (the original is the target; the clone's turn comes next rotation). */
static int my_create_account(const struct my_sync *y, const struct my_account *a,
                             struct sm_err *err) {
    char *unknown = NULL, *unknown_esc = NULL, what[256];
    struct sm_buf sql;
    int rc = -1;
    sm_buf_init(&sql, ROT_MYSQL_STMT_MAX);
    if (!y->target_is_clone && (my_unknown_password(&unknown, err) != 0 ||
                                (unknown_esc = rot_mysql_escape(y->s, unknown, err)) == NULL)) {
        goto out;
    }
    const char *created[] = {y->target_is_clone ? y->pw : unknown,
                             y->target_is_clone ? y->pw_esc : unknown_esc, NULL};
    snprintf(what, sizeof(what), "creating the alternate account @'%s'", a->shown);
    if (rot_mysql_sql_create_user(&sql, &y->s->version, y->clone_esc, a->host_esc, a->plugin,
                                  created[1], err) != 0 ||
        rot_mysql_run(y->s, sql.data, what, created, err) != 0) {
        goto out;
    }
    rc = 0;
out:
    sm_free(unknown);
    sm_free(unknown_esc);
    sm_buf_clean_up(&sql);
    return rc;
}

/* Logs the one warning about a clone account that existed and is about to change: the
 * statements that take from it what the original lacks (names and privileges only), and a change
 * of its TLS requirement to the original's ssl_type. */
static void my_warn_corrections(const struct my_sync *y, const struct my_account *a,
                                const struct rot_mysql_stmts *plan, bool require_changes) {
    struct sm_buf list;
    struct sm_err ignored;
    char clone[100], orig[100], line[SM_ERR_MSG_MAX], require[256] = "", type[40];
    size_t n = plan->corrections_to - plan->corrections_from;
    sm_buf_init(&list, 1024);
    for (size_t i = plan->corrections_from; i < plan->corrections_to; i++) {
        if (sm_buf_appendf(&list, &ignored, "%s%s", i > plan->corrections_from ? "; " : "",
                           plan->items[i]) != 0) {
            break; /* the ceiling: the count still says how many */
        }
    }
    sm_str_one_line(list.data, line, sizeof(line));
    sm_str_printable(y->users->clone, clone, sizeof(clone));
    sm_str_printable(y->users->original, orig, sizeof(orig));
    if (require_changes) {
        const char *ssl_type = rot_mysql_cell(a->origs, a->row, 2);
        sm_str_printable(ssl_type[0] != '\0' ? ssl_type : "NONE", type, sizeof(type));
        snprintf(require, sizeof(require), "%schanging its TLS requirement to %s's (%s)",
                 n > 0 ? "; and " : "", orig, type);
    }
    if (n > 0) {
        SM_WARN("alternating users: user '%s'@'%s' already exists; revoking %zu grant(s) it has "
                "that '%s'@'%s' lacks: %s%s",
                clone, a->shown, n, orig, a->shown, line, require);
    } else {
        SM_WARN("alternating users: user '%s'@'%s' already exists; %s", clone, a->shown, require);
    }
    sm_buf_clean_up(&list);
}

/* Gives the clone's account the original's TLS requirement. */
static int my_copy_require(const struct my_sync *y, const struct my_account *a,
                           struct sm_err *err) {
    char *parts[3] = {NULL};
    struct sm_buf sql;
    int rc = -1;
    sm_buf_init(&sql, ROT_MYSQL_STMT_MAX);
    for (size_t i = 0; i < 3; i++) {
        if ((parts[i] = rot_mysql_escape(y->s, rot_mysql_cell(a->origs, a->row, 3 + i), err)) ==
            NULL) {
            goto out;
        }
    }
    if (rot_mysql_sql_require(&sql, &y->s->version, y->clone_esc, a->host_esc,
                              rot_mysql_cell(a->origs, a->row, 2), parts[0], parts[1], parts[2],
                              err) != 0 ||
        rot_mysql_run(y->s, sql.data, "copying the TLS requirement (REQUIRE)", NULL, err) != 0) {
        goto out;
    }
    rc = 0;
out:
    for (size_t i = 0; i < 3; i++) {
        sm_free(parts[i]);
    }
    sm_buf_clean_up(&sql);
    return rc;
}

/* Plans the clone account's grants from both accounts' SHOW GRANTS (announcing the corrections
 * of an account that existed), copies the TLS requirement, and runs the plan. */
static int my_sync_grants(const struct my_sync *y, const struct my_account *a, struct sm_err *err) {
    struct rot_mysql_grant_list og = {0}, cg = {0};
    struct rot_mysql_stmts plan = {0};
    struct sm_buf account;
    char what[256];
    bool exists = a->clone_row >= 0, require_changes = !my_same_require(a);
    int rc = -1;
    sm_buf_init(&account, ROT_MYSQL_STMT_MAX);
    if (rot_mysql_show_grants(y->s, y->users->original, a->host, y->orig_esc, a->host_esc, &og,
                              err) != 0 ||
        rot_mysql_show_grants(y->s, y->users->clone, a->host, y->clone_esc, a->host_esc, &cg,
                              err) != 0 ||
        rot_mysql_sql_account(&account, y->clone_esc, a->host_esc, err) != 0 ||
        rot_mysql_grant_plan(og.v, og.n, cg.v, cg.n, account.data, &plan, err) != 0) {
        goto out;
    }
    if (exists && (plan.corrections_to > plan.corrections_from || require_changes)) {
        my_warn_corrections(y, a, &plan, require_changes);
    }
    if (require_changes && my_copy_require(y, a, err) != 0) {
        goto out;
    }
    for (size_t i = 0; i < plan.n; i++) {
        /* Name the statement by its position only: grant text can be long. */
        snprintf(what, sizeof(what), "copying grants to @'%s' (statement %zu of %zu)", a->shown,
                 i + 1, plan.n);
        if (rot_mysql_run(y->s, plan.items[i], what, NULL, err) != 0) {
            goto out;
        }
    }
    rc = 0;
out:
    sm_buf_clean_up(&account);
    rot_mysql_grant_list_clean_up(&og);
    rot_mysql_grant_list_clean_up(&cg);
    rot_mysql_stmts_clean_up(&plan);
    return rc;
}

/* The clone's password at this host part when it is the target (a clone just created as the
 * target already has it): it gets the original's plugin. The original's password is set after
 * every host part, as set_password sets it (my_set_passwords), keeping its plugins. */
static int my_set_target_password(const struct my_sync *y, const struct my_account *a,
                                  struct sm_err *err) {
    const char *secrets[] = {y->pw, y->pw_esc, NULL};
    struct sm_buf sql;
    char what[256];
    int rc = 0;
    if (!y->target_is_clone || a->clone_row < 0) {
        return 0;
    }
    sm_buf_init(&sql, ROT_MYSQL_STMT_MAX);
    snprintf(what, sizeof(what), "setting the password of the alternate account @'%s'", a->shown);
    if (rot_mysql_sql_set_password_for(&sql, &y->s->version, y->clone_esc, a->host_esc, a->plugin,
                                       y->pw_esc, err) != 0 ||
        rot_mysql_run(y->s, sql.data, what, secrets, err) != 0) {
        rc = -1;
    }
    sm_buf_clean_up(&sql);
    return rc;
}

/* Brings the clone's account at one host part of the original (a->host_esc escaped once for
 * the whole sync) in line, then sets the clone's password there when it is the target. */
static int my_sync_account(const struct my_sync *y, struct my_account *a, struct sm_err *err) {
    const char *plugin_raw = rot_mysql_cell(a->origs, a->row, 1);
    a->host = rot_mysql_cell(a->origs, a->row, 0);
    a->plugin = rot_mysql_clone_plugin(&y->s->version, plugin_raw);
    sm_str_printable(a->host, a->shown, sizeof(a->shown));
    if (a->plugin == NULL && plugin_raw[0] != '\0' &&
        strcmp(plugin_raw, "mysql_native_password") != 0 &&
        strcmp(plugin_raw, "caching_sha2_password") != 0 &&
        strcmp(plugin_raw, "sha256_password") != 0 && strcmp(plugin_raw, "ed25519") != 0) {
        SM_WARN("account @'%s' uses authentication plugin '%.40s', which a clone can't be given "
                "by name; the alternate account gets the server's default password plugin",
                a->shown, plugin_raw);
    }
    if ((a->clone_row < 0 && my_create_account(y, a, err) != 0) || my_sync_grants(y, a, err) != 0 ||
        (rot_mysql_has_default_roles_table(&y->s->version) &&
         my_sync_default_roles(y->s, y->orig_esc, y->clone_esc, a->host_esc, err) != 0) ||
        my_set_target_password(y, a, err) != 0) {
        return -1;
    }
    return 0;
}

/* Lists user's accounts (escaped name esc) in mysql.user into rows. */
static int my_accounts(struct rot_session *s, const char *esc, const char *what,
                       struct rot_mysql_rows *rows, struct sm_err *err) {
    struct sm_buf sql;
    int rc;
    sm_buf_init(&sql, ROT_MYSQL_STMT_MAX);
    rc = rot_mysql_sql_select_accounts(&sql, esc, err) == 0
             ? rot_mysql_query(s, sql.data, 6, what, rows, err)
             : -1;
    sm_buf_clean_up(&sql);
    return rc;
}

/* The escaped Host of every row of accounts (my_accounts), freed with my_hosts_free. */
static int my_escape_hosts(struct rot_session *s, const struct rot_mysql_rows *accounts,
                           char ***out, struct sm_err *err) {
    char **hosts = sm_calloc(accounts->nrows + 1, sizeof(char *));
    if (hosts == NULL) {
        return sm_err_set(err, SM_ERR_NOMEM, "out of memory listing accounts");
    }
    *out = hosts;
    for (size_t i = 0; i < accounts->nrows; i++) {
        if ((hosts[i] = rot_mysql_escape(s, rot_mysql_cell(accounts, i, 0), err)) == NULL) {
            return -1;
        }
    }
    return 0;
}

static void my_hosts_free(char **hosts) {
    for (size_t i = 0; hosts != NULL && hosts[i] != NULL; i++) {
        sm_free(hosts[i]);
    }
    sm_free(hosts);
}

/* The passwords of user's accounts (escaped user_esc, hosts), as set_password says (mysql_sync.h).
 * MariaDB's lifetime comes after the passwords, so that it never expires an old one early. */
static int my_set_passwords(struct rot_session *s, const char *user_esc, char **hosts, size_t n,
                            const char *password, const char *pw_esc,
                            const struct rot_password_opts *opts, struct sm_err *err) {
    const char *secrets[] = {password, pw_esc, NULL};
    bool one = rot_mysql_one_password_stmt(&s->version);
    struct sm_buf sql;
    int rc = -1;
    sm_buf_init(&sql, ROT_MYSQL_STMT_MAX);
    for (size_t i = 0; i < (one ? 1 : n); i++) {
        sm_buf_reset(&sql);
        if (rot_mysql_sql_password_stmt(&sql, &s->version, user_esc, (const char *const *)hosts, n,
                                        i, pw_esc, opts, err) != 0 ||
            rot_mysql_run(s, sql.data, "setting the password", secrets, err) != 0) {
            goto out;
        }
    }
    if (!one && opts->lifetime_days > 0 &&
        rot_mysql_expire(s, user_esc, (const char *const *)hosts, n, opts->lifetime_days, err) !=
            0) {
        goto out;
    }
    rc = 0;
out:
    sm_buf_clean_up(&sql);
    return rc;
}

int rot_mysql_sync_alternate_user(struct rot_session *admin, const struct rot_user_pair *users,
                                  const char *password, const struct rot_password_opts *opts,
                                  struct sm_err *err) {
    char *orig_esc = NULL, *clone_esc = NULL, *pw_esc = NULL, **hosts = NULL;
    struct rot_mysql_rows origs = {0}, clones = {0};
    char shown[100], clone_shown[100];
    int rc = -1;

    assert(!opts->retain_current); /* another user's password: set_secret.c never keeps one */
    if (rot_mysql_refuse_opts(admin, opts, err) != 0) {
        return -1;
    }
    sm_str_printable(users->original, shown, sizeof(shown));
    sm_str_printable(users->clone, clone_shown, sizeof(clone_shown));
    if ((orig_esc = rot_mysql_escape(admin, users->original, err)) == NULL ||
        (clone_esc = rot_mysql_escape(admin, users->clone, err)) == NULL ||
        (pw_esc = rot_mysql_escape(admin, password, err)) == NULL ||
        my_accounts(admin, orig_esc, "listing the user's accounts in mysql.user", &origs, err) !=
            0 ||
        my_accounts(admin, clone_esc, "listing the alternate user's accounts in mysql.user",
                    &clones, err) != 0) {
        goto out;
    }
    if (origs.nrows == 0) {
        sm_err_set(err, ROT_ERR_ROTATION, "user '%s' has no account in mysql.user on %s", shown,
                   admin->where);
        goto out;
    }
    if (my_escape_hosts(admin, &origs, &hosts, err) != 0) {
        goto out;
    }
    struct my_sync sync = {.s = admin,
                           .users = users,
                           .orig_esc = orig_esc,
                           .clone_esc = clone_esc,
                           .pw = password,
                           .pw_esc = pw_esc,
                           .target_is_clone = strcmp(users->target, users->clone) == 0};
    for (size_t i = 0; i < origs.nrows; i++) {
        struct my_account a = {
            .origs = &origs, .clones = &clones, .row = i, .host_esc = hosts[i], .clone_row = -1};
        for (size_t k = 0; k < clones.nrows; k++) {
            if (strcmp(rot_mysql_cell(&clones, k, 0), rot_mysql_cell(&origs, i, 0)) == 0) {
                a.clone_row = (long)k;
            }
        }
        if (my_sync_account(&sync, &a, err) != 0) {
            goto out;
        }
    }
    /* The original's password as set_password sets it; the clone's lifetime once its passwords
     * are set. */
    if ((!sync.target_is_clone || opts->lifetime_days > 0) &&
        ((sync.target_is_clone ? rot_mysql_expire(admin, clone_esc, (const char *const *)hosts,
                                                  origs.nrows, opts->lifetime_days, err)
                               : my_set_passwords(admin, orig_esc, hosts, origs.nrows, password,
                                                  pw_esc, opts, err)) != 0)) {
        goto out;
    }
    SM_INFO("synchronised %zu account(s) of '%s' to '%s' on %s", origs.nrows, shown, clone_shown,
            admin->where);
    rc = 0;
out:
    sm_free(orig_esc);
    sm_free(clone_esc);
    sm_free(pw_esc);
    my_hosts_free(hosts);
    rot_mysql_rows_clean_up(&origs);
    rot_mysql_rows_clean_up(&clones);
    return rc;
}

int rot_mysql_set_password(struct rot_session *admin, const char *username, const char *password,
                           const struct rot_password_opts *opts, struct sm_err *err) {
    char *user_esc = NULL, *pw_esc = NULL, **hosts = NULL;
    struct rot_mysql_rows accounts = {0};
    char shown[100];
    int rc = -1;
    assert(!opts->retain_current); /* another user's password: set_secret.c never keeps one */
    if (rot_mysql_refuse_opts(admin, opts, err) != 0) {
        return -1;
    }
    sm_str_printable(username, shown, sizeof(shown));
    if ((user_esc = rot_mysql_escape(admin, username, err)) == NULL ||
        (pw_esc = rot_mysql_escape(admin, password, err)) == NULL ||
        my_accounts(admin, user_esc, "listing the user's accounts in mysql.user", &accounts, err) !=
            0) {
        goto out;
    }
    if (accounts.nrows == 0) {
        sm_err_set(err, ROT_ERR_ROTATION, "user '%s' has no account in mysql.user on %s", shown,
                   admin->where);
        goto out;
    }
    if (my_escape_hosts(admin, &accounts, &hosts, err) != 0 ||
        my_set_passwords(admin, user_esc, hosts, accounts.nrows, password, pw_esc, opts, err) !=
            0) {
        goto out;
    }
    SM_INFO("set the password of %zu account(s) of '%s' on %s", accounts.nrows, shown,
            admin->where);
    rc = 0;
out:
    sm_free(user_esc);
    sm_free(pw_esc);
    my_hosts_free(hosts);
    rot_mysql_rows_clean_up(&accounts);
    return rc;
}
