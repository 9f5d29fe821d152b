/*
 * postgres_catalog: what the PostgreSQL catalog says of roles (postgres_session.h): read by the
 * alternate user's sync, and read-only by the preflight check, which asks whether the master may
 * do what the strategy needs (SUPERUSER, or CREATEROLE on roles that are not superusers; from
 * PostgreSQL 16 also ADMIN OPTION on them) and what the sync would run. The check's statements run
 * in a READ ONLY transaction that is rolled back.
 */
#include "buf.h"
#include "mem.h"
#include "postgres_session.h"
#include "str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* PostgreSQL 16 made CREATEROLE act only on roles it holds ADMIN OPTION on. */
#define PG_VERSION_ADMIN_OPTION 160000

static int pg_role_get(struct rot_session *s, const char *name, struct rot_pg_role *r,
                       struct sm_err *err) {
    PGresult *res = NULL;
    const char *params[1] = {name};
    *r = (struct rot_pg_role){.connlimit = -1};
    if (rot_pg_exec(s,
                    "SELECT rolcanlogin, rolinherit, rolcreatedb, rolcreaterole, rolconnlimit "
                    "FROM pg_catalog.pg_roles WHERE rolname = $1",
                    1, params, "reading the role from pg_roles", &res, err) != 0) {
        return -1;
    }
    if (PQntuples(res) == 1) {
        r->exists = true;
        r->login = PQgetvalue(res, 0, 0)[0] == 't';
        r->inherit = PQgetvalue(res, 0, 1)[0] == 't';
        r->createdb = PQgetvalue(res, 0, 2)[0] == 't';
        r->createrole = PQgetvalue(res, 0, 3)[0] == 't';
        r->connlimit = strtol(PQgetvalue(res, 0, 4), NULL, 10);
    }
    PQclear(res);
    return 0;
}

/* Whether member is a direct member of group (false when either is NULL). */
static int pg_is_member(struct rot_session *s, const char *member, const char *group, bool *yes,
                        struct sm_err *err) {
    const char *params[2] = {member, group};
    *yes = false;
    if (member == NULL || group == NULL) {
        return 0;
    }
    return rot_pg_exists(s,
                         "SELECT 1 FROM pg_catalog.pg_auth_members m "
                         "JOIN pg_catalog.pg_roles u ON u.oid = m.member "
                         "JOIN pg_catalog.pg_roles g ON g.oid = m.roleid "
                         "WHERE u.rolname = $1 AND g.rolname = $2",
                         2, params, "reading role memberships", yes, err);
}

int rot_pg_read_catalog(struct rot_session *s, const struct rot_user_pair *u, const char *owner,
                        struct rot_pg_catalog *cat, struct sm_err *err) {
    const char *params[1] = {owner};
    memset(cat, 0, sizeof(*cat));
    if ((owner != NULL &&
         rot_pg_exists(s, "SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1", 1, params,
                       "looking up PG_OWNER_ROLE", &cat->owner_exists, err) != 0) ||
        pg_role_get(s, u->original, &cat->original, err) != 0 ||
        pg_role_get(s, u->clone, &cat->clone, err) != 0 ||
        pg_is_member(s, u->original, u->clone, &cat->original_in_clone, err) != 0 ||
        pg_is_member(s, u->clone, u->original, &cat->clone_in_original, err) != 0 ||
        pg_is_member(s, u->original, owner, &cat->original_in_owner, err) != 0 ||
        pg_is_member(s, u->clone, owner, &cat->clone_in_owner, err) != 0) {
        return -1;
    }
    return 0;
}

int rot_pg_escape_names(struct rot_session *s, const struct rot_user_pair *users,
                        struct rot_pg_names *nm, struct rot_pg_idents *ids, struct sm_err *err) {
    const char *owner = s->settings->pg_owner_role;
    *nm = (struct rot_pg_names){.original = users->original,
                                .clone = users->clone,
                                .owner = owner,
                                .target_is_clone = strcmp(users->target, users->clone) == 0};
    if ((nm->original_ident = ids->v[0] = rot_pg_escape(s, users->original, false, err)) == NULL ||
        (nm->clone_ident = ids->v[1] = rot_pg_escape(s, users->clone, false, err)) == NULL ||
        (owner != NULL &&
         ((nm->owner_ident = ids->v[2] = rot_pg_escape(s, owner, false, err)) == NULL ||
          (nm->owner_literal = ids->v[3] = rot_pg_escape(s, owner, true, err)) == NULL))) {
        return -1;
    }
    return 0;
}

void rot_pg_idents_clean_up(struct rot_pg_idents *ids) {
    for (size_t i = 0; i < sizeof(ids->v) / sizeof(ids->v[0]); i++) {
        sm_free(ids->v[i]);
        ids->v[i] = NULL;
    }
}

/* ---- the preflight check ------------------------------------------------------------------- */

/* The check's statements run in a transaction that is read only and rolled back. */
static int pg_read_only(struct rot_session *s, struct sm_err *err) {
    return rot_pg_exec(s, "BEGIN READ ONLY", 0, NULL, "BEGIN READ ONLY", NULL, err);
}

static void pg_roll_back(struct rot_session *s) {
    struct sm_err ignored;
    (void)rot_pg_exec(s, "ROLLBACK", 0, NULL, "ROLLBACK", NULL, &ignored);
}

/* The master's role: its name (printable), SUPERUSER, CREATEROLE, and the server's version. */
struct pg_master {
    char name[80];
    bool super, createrole;
    long version;
};

static int pg_master_get(struct rot_session *s, struct pg_master *m, struct sm_err *err) {
    PGresult *res = NULL;
    if (rot_pg_exec(s,
                    "SELECT current_user, rolsuper, rolcreaterole, "
                    "current_setting('server_version_num') FROM pg_catalog.pg_roles "
                    "WHERE rolname = current_user",
                    0, NULL, "reading the master's role", &res, err) != 0) {
        return -1;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        return sm_err_set(err, ROT_ERR_DB_QUERY, "PostgreSQL at %s: pg_roles has no row for %s",
                          s->endpoint, s->user);
    }
    sm_str_printable(PQgetvalue(res, 0, 0), m->name, sizeof(m->name));
    m->super = PQgetvalue(res, 0, 1)[0] == 't';
    m->createrole = PQgetvalue(res, 0, 2)[0] == 't';
    m->version = strtol(PQgetvalue(res, 0, 3), NULL, 10);
    PQclear(res);
    return 0;
}

/* Appends to lacks why the master cannot act on role (one the sync or the password change
 * touches): it does not exist (must_exist), or, for a master that is not a superuser, it is a
 * superuser or (from PostgreSQL 16) the master lacks ADMIN OPTION on it. */
static int pg_target(struct rot_session *s, const struct pg_master *m, const char *role,
                     bool must_exist, struct sm_buf *lacks, struct sm_err *err) {
    PGresult *res = NULL;
    const char *params[1] = {role};
    char shown[80];
    sm_str_printable(role, shown, sizeof(shown));
    if (rot_pg_exec(s,
                    "SELECT rolsuper, pg_catalog.pg_has_role(current_user, oid, "
                    "'MEMBER WITH ADMIN OPTION') FROM pg_catalog.pg_roles WHERE rolname = $1",
                    1, params, "reading a role the master must change", &res, err) != 0) {
        return -1;
    }
    int rc = 0;
    const char *sep = lacks->len > 0 ? "; " : "";
    if (PQntuples(res) != 1) {
        rc =
            must_exist ? sm_buf_appendf(lacks, err, "%srole \"%s\" does not exist", sep, shown) : 0;
    } else if (!m->super && PQgetvalue(res, 0, 0)[0] == 't') {
        rc = sm_buf_appendf(lacks, err,
                            "%srole \"%s\" is a superuser, which only a superuser may change", sep,
                            shown);
    } else if (!m->super && m->version >= PG_VERSION_ADMIN_OPTION &&
               PQgetvalue(res, 0, 1)[0] != 't') {
        rc = sm_buf_appendf(lacks, err,
                            "%sfrom PostgreSQL 16 CREATEROLE acts only on roles held WITH ADMIN "
                            "OPTION: GRANT \"%s\" TO \"%s\" WITH ADMIN OPTION",
                            sep, shown, m->name);
    }
    PQclear(res);
    return rc;
}

/* The roles the master acts on, checked into lacks; what says what it does with them. */
static int pg_targets(struct rot_session *s, const struct pg_master *m,
                      const struct rot_rights_request *req, struct sm_buf *lacks,
                      struct sm_buf *what, struct sm_err *err) {
    char a[80], b[80];
    if (req->clone != NULL) {
        const char *owner = s->settings->pg_owner_role;
        sm_str_printable(req->clone->original, a, sizeof(a));
        sm_str_printable(req->clone->clone, b, sizeof(b));
        return pg_target(s, m, req->clone->original, true, lacks, err) != 0 ||
                       pg_target(s, m, req->clone->clone, false, lacks, err) != 0 ||
                       (owner != NULL && pg_target(s, m, owner, true, lacks, err) != 0) ||
                       sm_buf_appendf(what, err,
                                      "create or alter \"%s\", grant \"%s\" to it and set "
                                      "passwords%s",
                                      b, a, owner != NULL ? ", and grant PG_OWNER_ROLE" : "") != 0
                   ? -1
                   : 0;
    }
    sm_str_printable(req->users[0], a, sizeof(a));
    sm_str_printable(req->users[1], b, sizeof(b));
    return pg_target(s, m, req->users[0], true, lacks, err) != 0 ||
                   (req->users[1] != NULL &&
                    pg_target(s, m, req->users[1], true, lacks, err) != 0) ||
                   sm_buf_appendf(
                       what, err, "set the password%s of \"%s\"%s%s%s",
                       req->users[1] != NULL ? "s" : "", a, req->users[1] != NULL ? " and \"" : "",
                       req->users[1] != NULL ? b : "", req->users[1] != NULL ? "\"" : "") != 0
               ? -1
               : 0;
}

/* Writes the verdict into detail. */
static int pg_rights_verdict(const struct pg_master *m, const struct sm_buf *lacks,
                             const struct sm_buf *what, bool *allowed, struct sm_buf *detail,
                             struct sm_err *err) {
    const char *is = m->super ? "is a superuser" : "has CREATEROLE";
    *allowed = (m->super || m->createrole) && lacks->len == 0;
    if (!m->super && !m->createrole) {
        return sm_buf_appendf(detail, err,
                              "the master role \"%s\" is neither SUPERUSER nor CREATEROLE, so it "
                              "cannot %s; as a superuser: ALTER ROLE \"%s\" CREATEROLE",
                              m->name, what->data, m->name);
    }
    if (lacks->len > 0) {
        return sm_buf_appendf(detail, err, "the master role \"%s\" %s but cannot %s: %s", m->name,
                              is, what->data, lacks->data);
    }
    return sm_buf_appendf(detail, err, "the master role \"%s\" %s: it may %s%s", m->name, is,
                          what->data, m->super ? "" : " (no superuser among them)");
}

int rot_pg_check_rights(struct rot_session *admin, const struct rot_rights_request *req,
                        bool *allowed, struct sm_buf *detail, struct sm_err *err) {
    struct pg_master m = {{0}, false, false, 0};
    struct sm_buf lacks, what;
    int rc = -1;
    sm_buf_init(&lacks, 4096);
    sm_buf_init(&what, 1024);
    *allowed = false;
    if (pg_read_only(admin, err) != 0) {
        goto out;
    }
    if (pg_master_get(admin, &m, err) == 0 && pg_targets(admin, &m, req, &lacks, &what, err) == 0 &&
        pg_rights_verdict(&m, &lacks, &what, allowed, detail, err) == 0) {
        rc = 0;
    }
    pg_roll_back(admin);
out:
    sm_buf_clean_up(&lacks);
    sm_buf_clean_up(&what);
    return rc;
}

int rot_pg_plan_alternate_user(struct rot_session *admin, const struct rot_user_pair *users,
                               struct sm_buf *plan, struct sm_err *err) {
    struct rot_pg_names nm;
    struct rot_pg_idents ids = {{NULL}};
    struct rot_pg_catalog cat;
    struct rot_pg_plan p = {0};
    int rc = -1;
    if (rot_pg_escape_names(admin, users, &nm, &ids, err) != 0 || pg_read_only(admin, err) != 0) {
        goto out;
    }
    nm.password_literal = "<new password>";
    if (rot_pg_read_catalog(admin, users, nm.owner, &cat, err) == 0) {
        if (rot_pg_sync_plan(&cat, &nm, &p, err) != 0) {
            sm_err_prefix(err, "PostgreSQL at %s", admin->endpoint);
        } else if (p.changes == NULL ||
                   sm_buf_appendf(plan, err, "(the existing alternate user changes: %s)\n",
                                  p.changes) == 0) {
            rc = 0;
            for (size_t i = 0; rc == 0 && i < p.n; i++) {
                rc = sm_buf_appendf(plan, err, "%s\n", p.steps[i].sql);
            }
        }
    }
    pg_roll_back(admin);
out:
    rot_pg_plan_clean_up(&p);
    rot_pg_idents_clean_up(&ids);
    return rc;
}
