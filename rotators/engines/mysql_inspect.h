/*
 * mysql_inspect: the MySQL engine's answers to the preflight check (engine.h's check_rights and
 * plan_alternate_user), private to the engine. Read-only: SELECT CURRENT_USER(), mysql.user and
 * SHOW GRANTS, in a READ ONLY transaction that is rolled back.
 *
 * What the master needs: for a clone, CREATE USER and, with the grant option, every privilege of
 * the original it must copy (held on *.*, on the same database, or on the object itself), and each
 * role the original holds with ADMIN OPTION (MySQL: or ROLE_ADMIN or SUPER); to set the password
 * of existing users, CREATE USER (or UPDATE on mysql.*), and the users must exist. Privileges
 * the master holds only through roles are not seen (SHOW GRANTS without USING), nor are its
 * partial revokes; RDS and Aurora master users hold theirs directly.
 */
#ifndef ROT_MYSQL_INSPECT_H
#define ROT_MYSQL_INSPECT_H

#include "buf.h"
#include "engine.h"

int rot_mysql_check_rights(struct rot_session *admin, const struct rot_rights_request *req,
                           bool *allowed, struct sm_buf *detail, struct sm_err *err);

int rot_mysql_plan_alternate_user(struct rot_session *admin, const struct rot_user_pair *users,
                                  struct sm_buf *plan, struct sm_err *err);

#endif
