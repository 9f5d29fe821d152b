/*
 * db_server: the database server an integration test runs against, as its ctest fixture describes
 * it, and what the engine tests share (unique names, sockets that refuse or never answer, logins
 * through the connection policy, log capture).
 *
 * tests/CMakeLists.txt's sm_db_server() names the server in each test's environment: SMR_DB_SERVER
 * (its name), SMR_DB_ENGINE (the secret's engine value), SMR_DB_ENV_FILE (the KEY=value file the
 * fixture writes) and SMR_DB_PREFIX (its keys' prefix P). Every fixture writes PHOST, PPORT (a
 * TLS instance that also takes plaintext logins), PPORT_NOTLS (an instance that offers no TLS),
 * PADMIN_USER and PADMIN_PASSWORD (a superuser), PCA_FILE (the CA of the TLS instance's
 * certificate, which names PHOST and localhost) and PBAD_CA_FILE (an unrelated CA); PHOST_MISMATCH
 * (the TLS instance under a name its certificate lacks) is optional, 127.1 by default.
 */
#ifndef DB_SERVER_H
#define DB_SERVER_H

#include "db_connect.h"
#include "engine.h"
#include "harness.h"

#include <stdbool.h>
#include <stdint.h>

struct db_server;

/* What a test needs of a server beyond our engine, through the engine family's client library
 * (never our engine code): db_postgres.c and db_mysql.c. */
struct db_admin {
    /* Creates (or re-creates) a login user; tls_only: the server refuses it without TLS. */
    void (*create_user)(const char *user, const char *password, bool tls_only);
    void (*drop_user)(const char *user);
    /* Whether user logs in with password. */
    bool (*can_login)(const char *user, const char *password);
    /* Creates a table holding one row that reader may read; can_read: whether user reads it. */
    void (*create_table)(const char *table, const char *reader);
    void (*drop_table)(const char *table);
    bool (*can_read)(const char *user, const char *password, const char *table);
    /* The error class of a tls_only user's login with TLS off (the server's refusal). */
    const struct sm_code *tls_only_refusal;
};

extern const struct db_admin db_postgres_admin;
extern const struct db_admin db_mysql_admin;

struct db_server {
    const char *name;         /* SMR_DB_SERVER: "postgres", "mariadb" */
    const char *engine_value; /* SMR_DB_ENGINE */
    const struct rot_engine *engine;
    const struct db_admin *admin;
    const char *host, *host_mismatch, *admin_user, *admin_password, *ca_file, *bad_ca_file;
    int port, port_notls;
};

/* The server of this test, loaded once (the engine initialised); fails the test without one. */
const struct db_server *db_server(void);

/* The fixture's value of key (without the prefix); fails the test when it is missing. */
const char *db_env(const char *key);

/* "t<8 hex digits>_<tag>": a name unique to this process (the servers outlive processes), at
 * most 10 + strlen(tag) bytes. A ring of 8 static buffers. */
const char *db_uniq(const char *tag);

/* A login to the TLS instance as user, with the server's engine value. */
struct rot_login db_login(const char *user, const char *password, enum rot_tls tls);

/* Connection settings with ca_file as the bundle, a 30 s connect timeout (a hang guard, never a
 * limit a slow run reaches) and no deadline. */
struct rot_connect_opts db_opts(const char *ca_file);

/* Logs in through the connection policy; fails the test when it does not work. */
struct rot_conn *db_connect_ok(const struct rot_login *l, const struct rot_connect_opts *o);

/* Logs in, expecting failure with code; returns the elapsed ms. err gets the error. */
int64_t db_connect_fails(const struct rot_login *l, const struct rot_connect_opts *o,
                         const struct sm_code *code, struct sm_err *err);

/* Whether our engine logs in as user (with the server's CA) and runs its check. */
bool db_engine_can_login(const char *user, const char *password, enum rot_tls tls);

/* A superuser connection through our engine (TLS required). */
struct rot_conn *db_admin_conn(void);

/* Logs in as l says and sets new_pw as the user's own password with opts (NULL: none), twice
 * (idempotent; the second time as a rerun does, knowing new_pw as the current password); then
 * new_pw logs in where l does and l's password does not, unless opts retains it. */
void db_rotate_own(const struct rot_login *l, const char *new_pw,
                   const struct rot_password_opts *opts);

/* As the superuser: syncs clone to original and sets target's password with opts (NULL: none). */
void db_sync_to(const char *original, const char *clone, const char *target, const char *password,
                const struct rot_password_opts *opts);

/* A port on 127.0.0.1 that refuses connections, and a listener that completes the TCP handshake
 * and never says a word; both stay ours until the test closes *fd. */
int db_closed_port(int *fd);
int db_silent_listener(int *fd);

/* "Does not hang": far above the slowest run (valgrind, two loaded cores), far below the limits
 * the timing tests set aside (a 30 s connect timeout, ctest's own timeout). */
#define DB_HANG_GUARD_MS 15000

/* Captures the log (INFO and up, text format) from begin to end; end returns the lines
 * (malloc'd). */
void db_log_capture_begin(void);
char *db_log_capture_end(void);

/* How often needle occurs in text. */
int db_count(const char *text, const char *needle);

#endif
