/*
 * db_mysql: direct Connector/C access to the MySQL-family test server (db_server.h) for setting up
 * and checking what the engine did, never through our engine code; and the conformance suite's
 * db_mysql_admin. Accounts are user@'%' unless a test says otherwise. SQL given here may hold
 * test passwords: it is never printed on success.
 */
#ifndef DB_MYSQL_H
#define DB_MYSQL_H

#include "err.h"

#include <mysql.h>

#include <stdbool.h>

/* A superuser session on the TLS instance, in plaintext (opened once per process); the same on
 * the plain instance, a server with accounts of its own. */
MYSQL *db_my_admin(void);
MYSQL *db_my_admin_notls(void);

/* The first column of every row of a query run on m, joined by "\n" (a static buffer); fails the
 * test on error. */
const char *db_my_rows_on(MYSQL *m, const char *fmt, ...) SM_PRINTF(2, 3);

/* Runs printf-formatted SQL as the superuser; fails the test on error. */
void db_my_exec(const char *fmt, ...) SM_PRINTF(1, 2);

/* The first column of every row of a query, joined by "\n" (a static buffer). */
const char *db_my_rows(const char *fmt, ...) SM_PRINTF(1, 2);

/* A quoted, escaped string literal for admin SQL (a ring of 16 static buffers). */
const char *db_my_lit(const char *s);

/* A Connector/C login to port as user (tls: verified against the test CA), or NULL. */
MYSQL *db_my_raw_connect(const char *user, const char *password, int port, bool tls);

/* The first column of every row of sql run as user over TLS, joined by "\n" (a static buffer),
 * or NULL when the login or the query fails. */
const char *db_my_query_as(const char *user, const char *password, const char *sql);

/* SHOW GRANTS FOR user@host (my_rows' buffer). */
const char *db_my_grants_of(const char *user, const char *host);

#endif
