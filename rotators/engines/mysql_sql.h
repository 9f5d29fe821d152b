/*
 * mysql_sql: the MySQL / MariaDB / Aurora MySQL statements the engine sends, built as pure
 * functions for a server version (mysql_version.h), so they are unit-tested without a server.
 *
 * Builders never escape: every user name, host name, password or TLS attribute they take is the
 * body of a string literal already escaped with the connection's mysql_real_escape_string (which
 * honours NO_BACKSLASH_ESCAPES); the builder adds the surrounding single quotes. Statements are
 * appended to a struct sm_buf, whose memory is wiped on clean-up: a statement may hold a password.
 * Every builder returns 0 or -1 (SM_ERR_NOMEM, SM_ERR_TOO_LARGE).
 */
#ifndef ROT_MYSQL_SQL_H
#define ROT_MYSQL_SQL_H

#include "buf.h"
#include "engine.h"
#include "errors.h"
#include "mysql_version.h"

#include <stdbool.h>
#include <stddef.h>

/* Ceiling for one statement built here (SHOW GRANTS lines of MySQL 8 global grants are long). */
#define ROT_MYSQL_STMT_MAX (256u * 1024u)

/* Appends the strings of a NULL-terminated list. 0 or -1. */
int rot_mysql_append(struct sm_buf *out, struct sm_err *err, const char *first, ...)
    __attribute__((sentinel));

/* Appends the statement that changes the logged-in account's own password to pw, keeping the
 * account's authentication plugin:
 *   MySQL >= 5.7.6, 8.x, 9.x and later, Aurora 2/3:
 *       ALTER USER CURRENT_USER() IDENTIFIED BY '<pw>' [REPLACE '<current>']
 *           [RETAIN CURRENT PASSWORD] [PASSWORD EXPIRE INTERVAL <n> DAY]
 *       REPLACE when current is given and rot_mysql_has_replace_clause; RETAIN when
 *       opts->retain_current and rot_mysql_has_secondary_passwords; the interval when
 *       opts->lifetime_days > 0 (WL#11540's order: REPLACE, RETAIN, then the account's options)
 *   MySQL < 5.7.6, Aurora 1:                           SET PASSWORD = PASSWORD('<pw>')
 *   MariaDB (all versions):                            SET PASSWORD = PASSWORD('<pw>')
 * (MySQL's ALTER USER without IDENTIFIED WITH keeps the plugin, sql_user.cc
 * set_and_validate_user_attributes; MariaDB's ALTER USER needs the CREATE USER privilege even for
 * oneself and may change an account's plugin, while its SET PASSWORD keeps them all, e.g. ed25519
 * or "ed25519 OR unix_socket".) The caller refuses options the server lacks, and runs MariaDB's
 * lifetime as a statement of its own (rot_mysql_sql_expire). pw and current (may be NULL) are
 * escaped literal bodies. Returns 0 or -1 (SM_ERR_NOMEM / SM_ERR_TOO_LARGE). */
int rot_mysql_sql_set_own_password(struct sm_buf *out, const struct rot_mysql_version *v,
                                   const char *pw, const char *current,
                                   const struct rot_password_opts *opts, struct sm_err *err);

/* Appends the statement that gives accounts a password lifetime of days (> 0):
 *   ALTER USER CURRENT_USER() PASSWORD EXPIRE INTERVAL <days> DAY         (user NULL)
 *   ALTER USER 'u'@'h1', 'u'@'h2', ... PASSWORD EXPIRE INTERVAL <days> DAY  (n escaped hosts) */
int rot_mysql_sql_expire(struct sm_buf *out, const char *user, const char *const *hosts, size_t n,
                         long days, struct sm_err *err);

/* Appends the one statement with which an administrator sets the password of user's accounts at
 * the n >= 1 escaped hosts, on MySQL >= 5.7.6 and Aurora 2/3 (rot_mysql_has_alter_user, not
 * MariaDB: there SET PASSWORD FOR per account, rot_mysql_sql_set_password_for):
 *   ALTER USER ['u'@'h1' DISCARD OLD PASSWORD, ]'u'@'h1' IDENTIFIED BY '<pw>'[, ...]
 *       [PASSWORD EXPIRE INTERVAL <n> DAY]
 * IDENTIFIED BY without WITH keeps each account's plugin; DISCARD OLD PASSWORD where the server
 * has secondary passwords (an administrator never keeps one: opts->retain_current is not read);
 * the interval (it applies to every account listed) when
 * opts->lifetime_days > 0. MySQL 8 applies such a statement to every account or to none. */
int rot_mysql_sql_set_password(struct sm_buf *out, const struct rot_mysql_version *v,
                               const char *user, const char *const *hosts, size_t n, const char *pw,
                               const struct rot_password_opts *opts, struct sm_err *err);

/* The statements with which an administrator sets the password of user's accounts at the n >= 1
 * escaped hosts (set_password, and the sync when the original is the target): on MySQL >= 5.7.6
 * and Aurora 2/3 (rot_mysql_one_password_stmt) the one of rot_mysql_sql_set_password, with the
 * lifetime; elsewhere SET PASSWORD FOR each account (rot_mysql_sql_set_password_for without a
 * plugin, which keeps every authentication method of a MariaDB account), the lifetime then being a
 * statement of its own (rot_mysql_sql_expire). rot_mysql_sql_password_stmt appends the i-th.
 * (MariaDB 10.11's SET PASSWORD sets the first method's password only, and fails with
 * ER_SET_PASSWORD_AUTH_PLUGIN when that method takes none, e.g. "unix_socket OR ...".) */
bool rot_mysql_one_password_stmt(const struct rot_mysql_version *v);
int rot_mysql_sql_password_stmt(struct sm_buf *out, const struct rot_mysql_version *v,
                                const char *user, const char *const *hosts, size_t n, size_t i,
                                const char *pw, const struct rot_password_opts *opts,
                                struct sm_err *err);

/* Appends "'<user>'@'<host>'". */
int rot_mysql_sql_account(struct sm_buf *out, const char *user, const char *host,
                          struct sm_err *err);

/* Appends the CREATE USER for a new alternate account with password pw. plugin is the value of
 * rot_mysql_clone_plugin() or NULL (server default):
 *   MySQL >= 5.7.6:  CREATE USER 'u'@'h' IDENTIFIED [WITH <plugin>] BY '<pw>'
 *   MariaDB >= 10.4: CREATE USER 'u'@'h' IDENTIFIED VIA <plugin> USING PASSWORD('<pw>')
 *                    (without plugin: IDENTIFIED BY '<pw>')
 *   older:           CREATE USER 'u'@'h' IDENTIFIED BY '<pw>' */
int rot_mysql_sql_create_user(struct sm_buf *out, const struct rot_mysql_version *v,
                              const char *user, const char *host, const char *plugin,
                              const char *pw, struct sm_err *err);

/* Appends the statement that sets an existing account's password (as an administrator):
 *   MySQL >= 5.7.6:  ALTER USER 'u'@'h' IDENTIFIED [WITH <plugin>] BY '<pw>'
 *   MariaDB >= 10.4 with plugin: ALTER USER 'u'@'h' IDENTIFIED VIA <plugin> USING PASSWORD('<pw>')
 *   otherwise:       SET PASSWORD FOR 'u'@'h' = PASSWORD('<pw>') */
int rot_mysql_sql_set_password_for(struct sm_buf *out, const struct rot_mysql_version *v,
                                   const char *user, const char *host, const char *plugin,
                                   const char *pw, struct sm_err *err);

/* Appends the statement that gives account u@h the TLS requirement read from mysql.user
 * (ssl_type '' / ANY / X509 / SPECIFIED, and the escaped cipher, issuer, subject bodies):
 *   ALTER USER 'u'@'h' REQUIRE {NONE | SSL | X509 | CIPHER 'c' AND ISSUER 'i' AND SUBJECT 's'}
 * (only the non-empty parts of a SPECIFIED requirement), or on servers without ALTER USER
 *   GRANT USAGE ON *.* TO 'u'@'h' REQUIRE ...
 * Returns -1 with ROT_ERR_DB_QUERY for an unknown ssl_type. */
int rot_mysql_sql_require(struct sm_buf *out, const struct rot_mysql_version *v, const char *user,
                          const char *host, const char *ssl_type, const char *cipher,
                          const char *issuer, const char *subject, struct sm_err *err);

/* Appends the query listing every account of user: Host, plugin and its TLS requirement. */
int rot_mysql_sql_select_accounts(struct sm_buf *out, const char *user, struct sm_err *err);

/* Appends "SHOW GRANTS FOR 'u'@'h'". */
int rot_mysql_sql_show_grants(struct sm_buf *out, const char *user, const char *host,
                              struct sm_err *err);

/* Appends the query of u@h's default roles in mysql.default_roles (MySQL 8). */
int rot_mysql_sql_select_default_roles(struct sm_buf *out, const char *user, const char *host,
                                       struct sm_err *err);

/* Appends "SET DEFAULT ROLE {NONE | 'r1'@'h1', ...} TO 'u'@'h'" (MySQL 8); roles holds n pairs
 * of escaped bodies: roles[2i] the role's user, roles[2i+1] its host. */
int rot_mysql_sql_set_default_roles(struct sm_buf *out, const char *const *roles, size_t n,
                                    const char *user, const char *host, struct sm_err *err);

#endif
