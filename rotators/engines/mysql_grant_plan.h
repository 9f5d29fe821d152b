/*
 * mysql_grant_plan: the statements that give an alternate account exactly the grants of its
 * base account, planned from both accounts' parsed SHOW GRANTS (mysql_grants.h). A pure function,
 * private to the MySQL engine and unit-tested without a server.
 *
 * The plan never leaves the alternate without something the base holds: it grants everything
 * first, then takes away what the alternate holds beyond the base (the corrections, which an
 * existing account is warned about), then applies the base's own restrictions.
 */
#ifndef ROT_MYSQL_GRANT_PLAN_H
#define ROT_MYSQL_GRANT_PLAN_H

#include "errors.h"
#include "mysql_grants.h"

#include <stddef.h>

/* A list of statements (each sm_malloc'd; clean-up wipes). */
struct rot_mysql_stmts {
    char **items;
    size_t n;
    size_t cap;
    /* Set by rot_mysql_grant_plan: items[corrections_from, corrections_to) take from the account
     * what the base lacks (the only statements that narrow an existing account). */
    size_t corrections_from, corrections_to;
};

/* Frees every statement and the list. Accepts a zeroed struct. */
void rot_mysql_stmts_clean_up(struct rot_mysql_stmts *s);

/* Plans the statements that make account (an "'u'@'h'" literal from rot_mysql_sql_account) hold
 * exactly the base account's grants, given the parsed SHOW GRANTS of both (alt may be empty for a
 * new account). Order: base privilege grants (with WITH GRANT OPTION), base role grants (with
 * WITH ADMIN OPTION); then the corrections: revocations of what the alternate holds and the base
 * does not (privileges down to single columns, roles, partial revokes, MariaDB's default role,
 * GRANT OPTION: per dynamic privilege by revoking and granting it again without, per object for
 * static privileges, last), so nothing the base holds is ever missing in between but a dynamic
 * privilege whose grant option goes; then the base's partial revokes and MariaDB default role.
 * When the alternate holds ALL PRIVILEGES on an object where the base holds fewer, ALL is revoked
 * and the base's grants on it re-applied. With partial revokes on either account, a base line on
 * *.* grants only what the alternate lacks there (granting again would lift its restrictions).
 * Not narrowed: WITH ADMIN OPTION on a role both hold. Appends to out and sets its corrections
 * range. Returns 0 or -1 (SM_ERR_NOMEM, SM_ERR_TOO_LARGE, ROT_ERR_DB_QUERY for a list it cannot
 * split). */
int rot_mysql_grant_plan(const struct rot_mysql_grant *base, size_t nbase,
                         const struct rot_mysql_grant *alt, size_t nalt, const char *account,
                         struct rot_mysql_stmts *out, struct sm_err *err);

#endif
