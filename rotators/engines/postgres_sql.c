#include "postgres_sql.h"

#include "buf.h"
#include "mem.h"
#include "str.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

/*
 * libpq tells why a connection attempt failed only in words: PQerrorMessage holds libpq's own
 * messages and the server's (there is no SQLSTATE for a connection that never completed). bootstrap
 * never calls setlocale, so libpq's texts are its English ones; the server's follow its lc_messages
 * (English on RDS). This table is the one place that reads them: the first row whose needle occurs
 * in the text, with double-quoted names blanked out, decides; plaintext rows apply only to an
 * attempt without TLS. The order matters: "server does not support SSL" (which lets AUTO retry in
 * plaintext) counts only when no other TLS or login needle occurs. A wording that a libpq release
 * changes falls through to the last resort (a login failure when the server asked for a password,
 * else unreachable): it can misname an error, never turn a TLS failure into a plaintext retry.
 */
static const struct {
    const char *needle;
    bool plaintext_only;
    enum rot_attempt_failure failure;
} pg_failure_texts[] = {
    /* The peer went away, also in the middle of a TLS handshake. */
    {"SSL SYSCALL error", false, ROT_ATTEMPT_UNREACHABLE},
    {"server closed the connection unexpectedly", false, ROT_ATTEMPT_UNREACHABLE},
    {"SSL connection has been closed unexpectedly", false, ROT_ATTEMPT_UNREACHABLE},
    /* TLS: fe-secure-common.c (host name), fe-secure-openssl.c (chain, root file). */
    {"does not match host name", false, ROT_ATTEMPT_TLS_HOST},
    {"certificate verify failed", false, ROT_ATTEMPT_TLS_UNTRUSTED},
    {"root certificate file", false, ROT_ATTEMPT_TLS_UNTRUSTED},
    {"certificate", false, ROT_ATTEMPT_TLS},
    {"SSL error", false, ROT_ATTEMPT_TLS},
    {"sslrootcert", false, ROT_ATTEMPT_TLS},
    {"could not establish SSL", false, ROT_ATTEMPT_TLS},
    {"SSL library", false, ROT_ATTEMPT_TLS},
    /* pg_hba.conf: "... no encryption" when hostssl or hostnossl ... reject refuses plaintext. */
    {"no encryption", true, ROT_ATTEMPT_TLS_REQUIRED},
    {"SSL off", true, ROT_ATTEMPT_TLS_REQUIRED},
    {"pg_hba.conf", false, ROT_ATTEMPT_LOGIN},
    /* Authentication and authorisation. */
    {"password authentication failed", false, ROT_ATTEMPT_LOGIN},
    {"authentication failed", false, ROT_ATTEMPT_LOGIN},
    {"no password supplied", false, ROT_ATTEMPT_LOGIN},
    {"does not exist", false, ROT_ATTEMPT_LOGIN},
    {"not permitted to log in", false, ROT_ATTEMPT_LOGIN},
    {"SCRAM", false, ROT_ATTEMPT_LOGIN},
    {"permission denied for database", false, ROT_ATTEMPT_LOGIN},
    {"password", false, ROT_ATTEMPT_LOGIN},
    /* fe-connect.c: the answer to SSLRequest was "no". */
    {"server does not support SSL", false, ROT_ATTEMPT_TLS_NOT_OFFERED},
    /* The network and the server's availability. */
    {"Connection refused", false, ROT_ATTEMPT_UNREACHABLE},
    {"could not translate host name", false, ROT_ATTEMPT_UNREACHABLE},
    {"timeout expired", false, ROT_ATTEMPT_UNREACHABLE},
    {"No route to host", false, ROT_ATTEMPT_UNREACHABLE},
    {"Network is unreachable", false, ROT_ATTEMPT_UNREACHABLE},
    {"Connection reset", false, ROT_ATTEMPT_UNREACHABLE},
    {"could not connect", false, ROT_ATTEMPT_UNREACHABLE},
    {"the database system is", false, ROT_ATTEMPT_UNREACHABLE},
    {"too many clients", false, ROT_ATTEMPT_UNREACHABLE},
    {"connection slots", false, ROT_ATTEMPT_UNREACHABLE},
};

enum rot_attempt_failure rot_pg_failure(const char *text, bool tls, bool used_password) {
    char scan[512];
    size_t n = 0;
    bool quoted = false;
    /* Double-quoted names are blanked out first: a host called certificate-db or a user called
     * password must not steer the reading. */
    for (const char *p = text; *p != '\0' && n + 1 < sizeof(scan); p++) {
        quoted ^= *p == '"';
        scan[n++] = quoted && *p != '"' ? ' ' : *p;
    }
    scan[n] = '\0';
    for (size_t i = 0; i < sizeof(pg_failure_texts) / sizeof(pg_failure_texts[0]); i++) {
        if ((!pg_failure_texts[i].plaintext_only || !tls) &&
            strstr(scan, pg_failure_texts[i].needle) != NULL) {
            return pg_failure_texts[i].failure;
        }
    }
    /* The server asked for a password and then refused the session: a login failure. */
    return used_password ? ROT_ATTEMPT_LOGIN : ROT_ATTEMPT_UNREACHABLE;
}

/* ---- the alternate user's sync ------------------------------------------------------------ */

/* Hands the statement in b over to the plan, named what. */
static int pg_push(struct rot_pg_plan *p, const char *what, struct sm_buf *b, struct sm_err *err) {
    assert(p->n < ROT_PG_PLAN_MAX);
    if (sm_buf_ensure(b, err) != 0) {
        return -1;
    }
    p->steps[p->n].sql = sm_buf_take(b);
    p->steps[p->n].what = what;
    p->n++;
    return 0;
}

/* Appends clause to the clone's statement (when sql is not NULL) and to the changes. */
static int pg_change(struct sm_buf *sql, struct sm_buf *changes, const char *clause,
                     struct sm_err *err) {
    if (sql != NULL && sm_buf_appendf(sql, err, " %s", clause) != 0) {
        return -1;
    }
    return sm_buf_appendf(changes, err, "%s%s", changes->len > 0 ? ", " : "", clause);
}

/* Appends to sql the attribute clauses where the clone differs from the original, noting each
 * in changes; a clone without LOGIN is only noted (the statement always says LOGIN). */
static int pg_attributes(const struct rot_pg_catalog *cat, struct sm_buf *sql,
                         struct sm_buf *changes, struct sm_err *err) {
    const struct rot_pg_role *o = &cat->original, *c = &cat->clone;
    char limit[48];
    snprintf(limit, sizeof(limit), "CONNECTION LIMIT %ld", o->connlimit);
    if ((c->exists && !c->login && pg_change(NULL, changes, "LOGIN", err) != 0) ||
        (!c->inherit && pg_change(sql, changes, "INHERIT", err) != 0) ||
        (c->createdb != o->createdb &&
         pg_change(sql, changes, o->createdb ? "CREATEDB" : "NOCREATEDB", err) != 0) ||
        (c->createrole != o->createrole &&
         pg_change(sql, changes, o->createrole ? "CREATEROLE" : "NOCREATEROLE", err) != 0) ||
        (c->connlimit != o->connlimit && pg_change(sql, changes, limit, err) != 0)) {
        return -1;
    }
    return 0;
}

static const char *pg_until(const struct rot_pg_names *nm) {
    return nm->valid_until != NULL ? nm->valid_until : "";
}

/* The clone's own statement: CREATE ROLE, or ALTER ROLE when anything about it changes. */
static int pg_plan_clone(const struct rot_pg_catalog *cat, const struct rot_pg_names *nm,
                         struct rot_pg_plan *p, struct sm_buf *changes, struct sm_err *err) {
    struct sm_buf sql;
    int rc = -1;
    bool exists = cat->clone.exists;
    sm_buf_init(&sql, PG_SQL_MAX);
    if (sm_buf_appendf(&sql, err, "%s ROLE %s WITH LOGIN", exists ? "ALTER" : "CREATE",
                       nm->clone_ident) != 0 ||
        (nm->target_is_clone &&
         sm_buf_appendf(&sql, err, " PASSWORD %s%s", nm->password_literal, pg_until(nm)) != 0) ||
        pg_attributes(cat, &sql, changes, err) != 0) {
        goto out;
    }
    /* A new clone that is not the target gets no password (no password login) until its turn. */
    rc = !exists || nm->target_is_clone || changes->len > 0
             ? pg_push(p,
                       exists ? "ALTER ROLE <alternate> WITH LOGIN"
                              : "CREATE ROLE <alternate> WITH LOGIN",
                       &sql, err)
             : 0;
out:
    sm_buf_clean_up(&sql);
    return rc;
}

/* GRANT <group> TO <member> unless it is a member already; with noted, also in the changes. */
static int pg_plan_grant(struct rot_pg_plan *p, const char *what, const char *group,
                         const char *member, bool already, struct sm_buf *noted,
                         struct sm_err *err) {
    struct sm_buf sql;
    int rc = 0;
    if (already) {
        return 0;
    }
    sm_buf_init(&sql, PG_SQL_MAX);
    if (sm_buf_appendf(&sql, err, "GRANT %s TO %s", group, member) != 0 ||
        (noted != NULL && pg_change(NULL, noted, sql.data, err) != 0) ||
        pg_push(p, what, &sql, err) != 0) {
        rc = -1;
    }
    sm_buf_clean_up(&sql);
    return rc;
}

/* PG_OWNER_ROLE: role is a member of the owner and its sessions start as the owner. */
static int pg_plan_owner(const struct rot_pg_names *nm, const char *role_ident, bool member,
                         struct rot_pg_plan *p, struct sm_err *err) {
    struct sm_buf sql;
    int rc = -1;
    sm_buf_init(&sql, PG_SQL_MAX);
    if (pg_plan_grant(p, "GRANT <PG_OWNER_ROLE> TO <user>", nm->owner_ident, role_ident, member,
                      NULL, err) != 0 ||
        sm_buf_appendf(&sql, err, "ALTER ROLE %s SET role = %s", role_ident, nm->owner_literal) !=
            0 ||
        pg_push(p, "ALTER ROLE <user> SET role = <PG_OWNER_ROLE>", &sql, err) != 0) {
        goto out;
    }
    rc = 0;
out:
    sm_buf_clean_up(&sql);
    return rc;
}

/* The refusals that come before any statement. */
static int pg_plan_check(const struct rot_pg_catalog *cat, const struct rot_pg_names *nm,
                         struct sm_err *err) {
    char orig[80], clone[80], owner[80];
    sm_str_printable(nm->original, orig, sizeof(orig));
    sm_str_printable(nm->clone, clone, sizeof(clone));
    sm_str_printable(nm->owner, owner, sizeof(owner));
    if (nm->owner != NULL &&
        (strcmp(nm->owner, nm->original) == 0 || strcmp(nm->owner, nm->clone) == 0)) {
        return sm_err_set(err, SM_ERR_CONFIG,
                          "PG_OWNER_ROLE \"%s\" must be a role of its own, not one of the rotated "
                          "users",
                          owner);
    }
    if (nm->owner != NULL && !cat->owner_exists) {
        return sm_err_set(err, SM_ERR_CONFIG,
                          "PG_OWNER_ROLE \"%s\" does not exist (create it, typically NOLOGIN, "
                          "owning the application's schema)",
                          owner);
    }
    if (!cat->original.exists) {
        return sm_err_set(err, ROT_ERR_ROTATION, "role \"%s\" does not exist", orig);
    }
    if (cat->clone.exists && cat->original_in_clone) {
        return sm_err_set(err, ROT_ERR_ROTATION,
                          "role \"%s\" is a member of its alternate \"%s\"; alternating "
                          "users needs \"%s\" to be a member of \"%s\" instead (REVOKE the first)",
                          orig, clone, clone, orig);
    }
    return 0;
}

int rot_pg_sync_plan(const struct rot_pg_catalog *cat, const struct rot_pg_names *nm,
                     struct rot_pg_plan *out, struct sm_err *err) {
    struct sm_buf changes, none;
    bool exists = cat->clone.exists;
    int rc = -1;
    memset(out, 0, sizeof(*out));
    sm_buf_init(&changes, PG_SQL_MAX);
    sm_buf_init(&none, PG_SQL_MAX);
    if (pg_plan_check(cat, nm, err) != 0 ||
        pg_plan_clone(cat, nm, out, exists ? &changes : &none, err) != 0 ||
        pg_plan_grant(out, "GRANT <user> TO <alternate>", nm->original_ident, nm->clone_ident,
                      exists && cat->clone_in_original, exists ? &changes : NULL, err) != 0) {
        goto out;
    }
    if (nm->owner != NULL &&
        ((exists && !cat->clone_in_owner &&
          sm_buf_appendf(&changes, err, "%sGRANT %s TO %s", changes.len > 0 ? ", " : "",
                         nm->owner_ident, nm->clone_ident) != 0) ||
         pg_plan_owner(nm, nm->original_ident, cat->original_in_owner, out, err) != 0 ||
         pg_plan_owner(nm, nm->clone_ident, exists && cat->clone_in_owner, out, err) != 0)) {
        goto out;
    }
    if (!nm->target_is_clone) {
        struct sm_buf sql;
        sm_buf_init(&sql, PG_SQL_MAX);
        rc = sm_buf_appendf(&sql, err, "ALTER ROLE %s WITH LOGIN PASSWORD %s%s", nm->original_ident,
                            nm->password_literal, pg_until(nm)) == 0
                 ? pg_push(out, "ALTER ROLE <user> WITH LOGIN PASSWORD", &sql, err)
                 : -1;
        sm_buf_clean_up(&sql);
        if (rc != 0) {
            goto out;
        }
    }
    out->changes = changes.len > 0 ? sm_buf_take(&changes) : NULL;
    rc = 0;
out:
    sm_buf_clean_up(&changes);
    sm_buf_clean_up(&none);
    return rc;
}

void rot_pg_plan_clean_up(struct rot_pg_plan *plan) {
    if (plan == NULL) {
        return;
    }
    for (size_t i = 0; i < plan->n; i++) {
        sm_free(plan->steps[i].sql);
    }
    sm_free(plan->changes);
    memset(plan, 0, sizeof(*plan));
}
