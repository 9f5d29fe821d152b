/*
 * mysql_sync: what the MySQL engine does as an administrator (engine.h): sync_alternate_user and
 * set_password. Private to the engine.
 *
 * For every account of the original in mysql.user (every host part, not only '%'), the clone's
 * account with the same host part is created when missing (with the original's password plugin
 * when a clone can be given it by name, and the new password when the clone is the target, else
 * a random one no one knows), gets the original's TLS requirement and exactly the original's
 * grants (mysql_grant_plan.h; MySQL 8 default roles from mysql.default_roles), and then the
 * clone's password is set when it is the target. The original's is set after every host part, as
 * set_password sets it (which keeps every authentication method of a MariaDB account). A clone
 * account that existed and is about to lose something is announced first, by one WARN. Not copied:
 * resource limits, password expiry and lock settings; a clone account whose host part the original
 * no longer has is left alone. A password lifetime is the target's, set on its accounts once their
 * passwords are.
 *
 * set_password changes only the password of every account of the user (every host part), with
 * its lifetime: on MySQL one ALTER USER for them all (each keeps its plugin, and a secondary
 * password left by an earlier rotation is discarded), on MariaDB SET PASSWORD FOR each (which
 * keeps every plugin of the account) and then one ALTER USER for the lifetime.
 */
#ifndef ROT_MYSQL_SYNC_H
#define ROT_MYSQL_SYNC_H

#include "engine.h"
#include "mysql_grants.h"

#include <stddef.h>

/* Parsed SHOW GRANTS of one account. */
struct rot_mysql_grant_list {
    struct rot_mysql_grant *v;
    size_t n;
};

void rot_mysql_grant_list_clean_up(struct rot_mysql_grant_list *g);

/* Reads SHOW GRANTS FOR user@host (raw names, and their escaped literal bodies) into out, checked
 * to be that account's (read-only; also for the preflight check, mysql_inspect.c). 0 or -1 with
 * err; out is then empty. */
int rot_mysql_show_grants(struct rot_session *s, const char *user, const char *host,
                          const char *user_esc, const char *host_esc,
                          struct rot_mysql_grant_list *out, struct sm_err *err);

int rot_mysql_sync_alternate_user(struct rot_session *admin, const struct rot_user_pair *users,
                                  const char *password, const struct rot_password_opts *opts,
                                  struct sm_err *err);

int rot_mysql_set_password(struct rot_session *admin, const char *username, const char *password,
                           const struct rot_password_opts *opts, struct sm_err *err);

#endif
