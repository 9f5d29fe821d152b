/*
 * postgres_session: the PostgreSQL engine's session and what its files share, private to the
 * engine: postgres.c (connecting, statements, passwords, the alternate user's sync) and
 * postgres_catalog.c (what the catalog says of roles, read for the sync and, read-only, for the
 * preflight check's check_rights and plan_alternate_user).
 */
#ifndef ROT_POSTGRES_SESSION_H
#define ROT_POSTGRES_SESSION_H

#include "engine.h"
#include "postgres_sql.h"

#include <libpq-fe.h>

#include <stdbool.h>
#include <stdint.h>

struct rot_session {
    PGconn *pg;
    char endpoint[300]; /* "host:port" for messages */
    char user[96];      /* login name, made printable, for messages */
    long statement_timeout_ms;
    int64_t deadline_ms;
    const struct rot_engine_settings *settings;
};

/* Runs one statement (with optional text parameters), bounded by the statement timeout and the
 * deadline; what names it in messages (never the SQL, which may hold a verifier). On success *out
 * (if not NULL) is the result, freed with PQclear. 0 or -1 with err: ROT_ERR_DB_QUERY,
 * ROT_ERR_DB_UNREACHABLE, SM_ERR_DEADLINE. */
int rot_pg_exec(struct rot_session *s, const char *sql, int nparams, const char *const *params,
                const char *what, PGresult **out, struct sm_err *err);

/* Runs a query with parameters and tells whether it returned at least one row. */
int rot_pg_exists(struct rot_session *s, const char *sql, int nparams, const char *const *params,
                  const char *what, bool *found, struct sm_err *err);

/* value escaped as an identifier (literal: as a literal) in our allocator (sm_free, which
 * wipes), or NULL with err. */
char *rot_pg_escape(struct rot_session *s, const char *value, bool literal, struct sm_err *err);

/* What the catalog says of the two users and of PG_OWNER_ROLE (owner, may be NULL). */
int rot_pg_read_catalog(struct rot_session *s, const struct rot_user_pair *u, const char *owner,
                        struct rot_pg_catalog *cat, struct sm_err *err);

/* The escaped names rot_pg_escape_names made, freed with rot_pg_idents_clean_up. */
struct rot_pg_idents {
    char *v[4];
};

/* Fills nm (every field but password_literal and valid_until) for users and the session's
 * PG_OWNER_ROLE, escaping the names into ids. 0 or -1 with err. */
int rot_pg_escape_names(struct rot_session *s, const struct rot_user_pair *users,
                        struct rot_pg_names *nm, struct rot_pg_idents *ids, struct sm_err *err);

void rot_pg_idents_clean_up(struct rot_pg_idents *ids);

/* engine.h's check_rights and plan_alternate_user. */
int rot_pg_check_rights(struct rot_session *admin, const struct rot_rights_request *req,
                        bool *allowed, struct sm_buf *detail, struct sm_err *err);
int rot_pg_plan_alternate_user(struct rot_session *admin, const struct rot_user_pair *users,
                               struct sm_buf *plan, struct sm_err *err);

#endif
