/*
 * engine: the database engine plugin interface and its registry.
 *
 * An engine is a `const struct rot_engine` of function pointers (one per engine file, designated
 * initializers), listed in a NULL-terminated registry and found by the secret's `engine` field.
 * An engine knows how to log in, run a trivial query, change a password and clone a user; it knows
 * nothing of Secrets Manager, staging labels or rotation steps. Connection state is opaque above
 * this interface.
 *
 * Error contract for every function that takes a struct sm_err: return 0, or -1 with err set to
 *   ROT_ERR_DB_UNREACHABLE  the server could not be reached (refused, DNS, timeout, no answer)
 *   ROT_ERR_DB_TLS          TLS was required and failed (not offered, certificate, host name)
 *   ROT_ERR_DB_LOGIN        the server refused the credentials
 *   ROT_ERR_DB_QUERY        a statement failed (message carries the server's text)
 *   SM_ERR_NOMEM, SM_ERR_DEADLINE, ROT_ERR_ROTATION (refused input, e.g. a NUL in a name)
 * The message carries the database's own error text and never a password.
 */
#ifndef ROT_ENGINE_H
#define ROT_ENGINE_H

#include "errors.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How to use TLS, from the secret's `ssl` key (see secret.h). */
enum rot_tls {
    ROT_TLS_AUTO,     /* key absent or unrecognised: TLS with full verification when the server
                         offers it; plaintext only when the server does not offer TLS at all */
    ROT_TLS_REQUIRED, /* ssl true: TLS with full verification, or fail */
    ROT_TLS_OFF,      /* ssl false: plaintext */
};

/* One set of credentials to log in with. All strings borrowed. */
struct rot_login {
    const char *host;
    int port;
    const char *dbname; /* NULL: the engine's default (postgres: "postgres"; MySQL: none) */
    const char *username;
    const char *password;
    enum rot_tls tls;
};

/* Process-wide connection settings. */
struct rot_connect_opts {
    const char *ca_file;     /* CA bundle for verify-full; NULL: the engine library's default */
    long connect_timeout_ms; /* per attempt; default 5000 */
    int64_t deadline_ms;     /* invocation deadline (epoch ms), 0 = none: caps every timeout */
};

struct rot_conn; /* opaque, engine-defined */

struct rot_engine {
    const char *name;         /* family, used in messages: "postgres", "mysql" */
    const char *display_name; /* "PostgreSQL", "MySQL" */
    /* Values of the secret's `engine` field this plugin serves; NULL-terminated. */
    const char *const *engine_values;
    int default_port;
    const char *default_exclude_characters; /* EXCLUDE_CHARACTERS default for this engine */

    /* Reads engine settings from the environment at start-up. Optional (NULL). Returns 0 or -1
     * with SM_ERR_CONFIG naming the variable. */
    int (*init)(struct sm_err *err);

    /* Longest username the server accepts for the secret's engine value (alternating users
     * checks X_clone against it), in bytes, or in UTF-8 characters when
     * username_limit_counts_characters is set (MySQL counts characters, PostgreSQL bytes). */
    size_t (*max_username_length)(const char *engine_value);
    bool username_limit_counts_characters;

    /* Logs in. On success *out is a connection the caller closes with disconnect. */
    int (*connect)(const struct rot_login *login, const struct rot_connect_opts *opts,
                   struct rot_conn **out, struct sm_err *err);

    /* Closes and frees a connection, wiping anything secret it held. Accepts NULL. */
    void (*disconnect)(struct rot_conn *conn);

    /* Runs a trivial query (testSecret). */
    int (*check)(struct rot_conn *conn, struct sm_err *err);

    /* Changes the password of the logged-in user (single user). username is the secret's
     * username (for engines that need it to hash). Idempotent. */
    int (*set_own_password)(struct rot_conn *conn, const char *username, const char *password,
                            struct sm_err *err);

    /* As a superuser connection: make alt_user exist with the same privileges as base_user,
     * re-synchronising them when alt_user already exists, and set alt_user's password
     * (alternating users). Idempotent. */
    int (*sync_alternate_user)(struct rot_conn *admin, const char *base_user, const char *alt_user,
                               const char *password, struct sm_err *err);
};

extern const struct rot_engine rot_engine_postgres;
extern const struct rot_engine rot_engine_mysql;

/* The built-in engines, NULL-terminated. */
extern const struct rot_engine *const rot_engines[];

/* The engine serving engine_value in registry (NULL-terminated), or NULL. */
const struct rot_engine *rot_engine_find(const struct rot_engine *const *registry,
                                         const char *engine_value);

/* Writes "'a', 'b', ..." (every accepted engine value) into out. */
void rot_engine_list_values(const struct rot_engine *const *registry, char *out, size_t cap);

#endif
