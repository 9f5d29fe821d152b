/*
 * postgres_sql: what the PostgreSQL engine decides from text and data alone, as pure functions
 * (private to the engine, unit-tested without a server): what a failed connection attempt was,
 * read from libpq's words, and the alternate user's sync, planned.
 *
 * From what the catalog says of the two roles (and of PG_OWNER_ROLE), the plan lists the
 * statements that bring the clone in line with the original and set the target's password, and
 * the changes to announce for a clone that already existed; postgres.c reads the catalog and runs
 * the plan in one transaction. The clone is a member of the original (GRANT original TO clone) and
 * gets LOGIN, INHERIT and the original's CREATEDB, CREATEROLE and CONNECTION LIMIT; SUPERUSER,
 * REPLICATION, BYPASSRLS, VALID UNTIL and per-role settings are never copied, extra memberships
 * of the clone are left alone, and the original changes only in its password (and, with an owner
 * role, its membership of it and `SET role`). README says why.
 */
#ifndef ROT_POSTGRES_SQL_H
#define ROT_POSTGRES_SQL_H

#include "engine.h"
#include "errors.h"

#include <stdbool.h>
#include <stddef.h>

/* Ceiling of one statement the engine builds (two escaped names and a verifier fit many times
 * over). */
#define PG_SQL_MAX (16u * 1024u)

/* What a failed connection attempt was, from libpq's text (PQerrorMessage, one line): with tls,
 * whether it was a TLS attempt; used_password, whether the server asked for the password
 * (PQconnectionUsedPassword). */
enum rot_attempt_failure rot_pg_failure(const char *text, bool tls, bool used_password);

/* What pg_roles says of a role. */
struct rot_pg_role {
    bool exists;
    bool login, inherit, createdb, createrole;
    long connlimit; /* -1: no limit */
};

/* The catalog as the sync read it (memberships are direct ones). */
struct rot_pg_catalog {
    struct rot_pg_role original, clone;
    bool clone_in_original, original_in_clone;
    bool owner_exists; /* the owner role (when there is one) exists */
    bool original_in_owner, clone_in_owner;
};

/* The names as they go into statements. Borrowed. */
struct rot_pg_names {
    const char *original, *clone;             /* raw, for messages */
    const char *original_ident, *clone_ident; /* escaped identifiers (PQescapeIdentifier) */
    const char *owner;                        /* PG_OWNER_ROLE raw, or NULL: none */
    const char *owner_ident, *owner_literal;  /* ... as an identifier and as a literal */
    bool target_is_clone;                     /* else the original gets the password */
    const char *password_literal;             /* the target's verifier (or password), escaped */
    const char *valid_until; /* " VALID UNTIL '...'" after the target's password, or NULL */
};

#define ROT_PG_PLAN_MAX 8

/* Statements to run in order. sql is owned (wiped on clean-up: it may carry the verifier); what
 * names the statement in messages without its text. */
struct rot_pg_plan {
    struct {
        char *sql;
        const char *what;
    } steps[ROT_PG_PLAN_MAX];
    size_t n;
    char *changes; /* "LOGIN, INHERIT, GRANT ..." for a clone that existed, or NULL: none */
};

/* Plans the sync. Returns 0, or -1 with err: ROT_ERR_ROTATION (no original; an original that is
 * a member of its clone, which GRANT original TO clone would turn into a cycle), SM_ERR_CONFIG
 * (an owner role that does not exist or is one of the two users), SM_ERR_NOMEM. The caller
 * cleans out up, also after a failure. */
int rot_pg_sync_plan(const struct rot_pg_catalog *cat, const struct rot_pg_names *names,
                     struct rot_pg_plan *out, struct sm_err *err);

/* Frees (wiping) the plan. Accepts a zeroed struct. */
void rot_pg_plan_clean_up(struct rot_pg_plan *plan);

#endif
