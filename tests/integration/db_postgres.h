/*
 * db_postgres: direct libpq access to the PostgreSQL test server (db_server.h) for setting up and
 * checking what the engine did, never through our engine code; and the conformance suite's
 * db_postgres_admin. SQL given here may hold test passwords: it is never printed.
 */
#ifndef DB_POSTGRES_H
#define DB_POSTGRES_H

#include "err.h"

#include <libpq-fe.h>

#include <stdbool.h>
#include <stddef.h>

/* A superuser session on the TLS instance (opened once per process). */
PGconn *db_pg_admin(void);

/* Runs printf-formatted SQL as the superuser; fails the test on error. */
void db_pg_sqlf(const char *fmt, ...) SM_PRINTF(1, 2);

/* The first value of a query with one text parameter (NULL: none); "" without a row. */
void db_pg_value(const char *sql, const char *param, char *out, size_t cap);

/* Escaped identifier and literal for SQL (rings of 4 static buffers). */
const char *db_pg_ident(const char *name);
const char *db_pg_literal(const char *value);

/* Whether user logs in with password (sslmode prefer). */
bool db_pg_can_login(const char *user, const char *password);

/* Whether member is a direct member of group. */
bool db_pg_is_member(const char *member, const char *group);

/* The server log of the TLS instance (malloc'd). */
char *db_pg_log(void);

/* The first line of text holding both a and b, or NULL; splits text into lines. */
const char *db_pg_log_line_with(char *text, const char *a, const char *b);

#endif
