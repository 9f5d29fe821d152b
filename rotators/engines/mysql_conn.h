/*
 * mysql_conn: the MySQL engine's session and its statements, shared by mysql.c (connecting, the
 * test query, one's own password) and mysql_sync.c (the alternate user). Private to the engine.
 *
 * Statements are bounded by the session's read and write timeouts and never start after the
 * deadline. Copies of what the server returns are ours (sm_malloc: wiped on free), and the
 * library's copies of rows and of statements that carried a password are wiped before the library
 * frees them; a message never quotes a statement, and withholds the server's text when it may
 * quote a password.
 */
#ifndef ROT_MYSQL_CONN_H
#define ROT_MYSQL_CONN_H

#include "engine.h"
#include "mysql_version.h"

#include <mysql.h>

#include <stdbool.h>
#include <stddef.h>

struct rot_session {
    MYSQL *mysql;
    struct rot_mysql_version version;
    int64_t deadline_ms;
    bool tls;
    char where[300]; /* "host:port" for messages */
    char user[100];  /* the login user, printable, for messages */
};

/* Wipes the library's copy of the login password and its network buffer (the last statements
 * sent), then closes m. Accepts NULL. */
void rot_mysql_close(MYSQL *m);

/* Runs a statement whose rows (if any) are not needed. what names it in messages. secrets
 * (NULL-terminated, or NULL) are the passwords it carries, raw and escaped: the server's text is
 * withheld when it is a syntax error (which quotes the statement) or holds one of them, and the
 * network buffer is wiped afterwards. 0 or -1 with err (ROT_ERR_DB_QUERY, ROT_ERR_DB_UNREACHABLE,
 * SM_ERR_DEADLINE, SM_ERR_NOMEM). */
int rot_mysql_run(struct rot_session *s, const char *sql, const char *what,
                  const char *const *secrets, struct sm_err *err);

/* Rows of a query: ncols columns per row, each a NUL-terminated sm_malloc'd copy ("" for NULL). */
struct rot_mysql_rows {
    char **cells; /* ncells slots, unused ones NULL */
    size_t ncells;
    size_t nrows;
    size_t ncols;
};

/* Runs a query and copies the first ncols columns of its rows into out (released with
 * rot_mysql_rows_clean_up, also after a failure); the library's copies, its rows and its network
 * buffer, are wiped (SHOW GRANTS may carry a password hash). Errors as rot_mysql_run, and
 * SM_ERR_TOO_LARGE past 100000 rows. */
int rot_mysql_query(struct rot_session *s, const char *sql, size_t ncols, const char *what,
                    struct rot_mysql_rows *out, struct sm_err *err);

void rot_mysql_rows_clean_up(struct rot_mysql_rows *r);

/* The cell at row, col (never NULL within bounds). */
const char *rot_mysql_cell(const struct rot_mysql_rows *r, size_t row, size_t col);

/* Gives the accounts of user (escaped) at the n escaped hosts, or with user_esc NULL the session's
 * own account, a password lifetime of days (rot_mysql_sql_expire). Errors as rot_mysql_run. */
int rot_mysql_expire(struct rot_session *s, const char *user_esc, const char *const *hosts,
                     size_t n, long days, struct sm_err *err);

/* Refuses (ROT_ERR_UNSUPPORTED, before anything changes) password options the session's server
 * cannot honour: a lifetime where it has none (rot_mysql_has_password_lifetime), a secondary
 * password where it has none. 0 or -1. */
int rot_mysql_refuse_opts(const struct rot_session *s, const struct rot_password_opts *opts,
                          struct sm_err *err);

/* The body of a string literal for s, escaped for the session's character set (sm_malloc'd,
 * freed with sm_free), or NULL with err set. */
char *rot_mysql_escape(struct rot_session *s, const char *str, struct sm_err *err);

#endif
