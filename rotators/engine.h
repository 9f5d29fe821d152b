/*
 * engine: the database engine plugin interface and its registry.
 *
 * An engine is a `const struct rot_engine` of function pointers (one per engine file, designated
 * initializers), listed in a NULL-terminated registry and found by the secret's `engine` field.
 * An engine knows how to log in, run a trivial query, change a password and clone a user; it knows
 * nothing of Secrets Manager, staging labels, rotation steps or strategies (which user is the
 * original and which its clone is the caller's to say). Connection state is opaque above this
 * interface.
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

/* How much of the server's certificate TLS verifies (SMROTATE_DB_TLS_VERIFY, see db_tls.h). */
enum rot_tls_verify {
    ROT_TLS_VERIFY_FULL, /* the chain up to a trusted CA, and the host name (the default) */
    ROT_TLS_VERIFY_CA,   /* the chain only: for endpoints the certificate cannot name */
};

/* Process-wide connection settings (db_tls.h resolves the trust once, at init). */
struct rot_connect_opts {
    const char *ca_file;   /* CA bundle (PEM) TLS is verified against; NULL: none, and every
                              TLS attempt fails with ROT_ERR_DB_TLS (never a library default) */
    const char *ca_origin; /* where ca_file's certificates come from, for messages; NULL: ca_file */
    enum rot_tls_verify tls_verify;
    long connect_timeout_ms; /* per attempt; default 5000 */
    int64_t deadline_ms;     /* invocation deadline (epoch ms), 0 = none: caps every timeout */
};

/* The two users of the alternating-users strategy, decided by the rotation layer (rotation.c
 * owns the naming rule). All borrowed. */
struct rot_user_pair {
    const char *original; /* the user the secret was made for ("app") */
    const char *clone;    /* its alternate ("app_clone") */
    const char *target;   /* the one of the two whose password is set now (the pending user) */
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

    /* Changes the password of the logged-in user to new_password (single user). username is
     * the secret's username (for engines that need it to hash); current_password is the password
     * conn logged in with (may be NULL), for servers that require it to change one's own
     * password (MySQL's password_require_current). Idempotent. */
    int (*set_own_password)(struct rot_conn *conn, const char *username,
                            const char *current_password, const char *new_password,
                            struct sm_err *err);

    /* As a superuser connection (alternating users): makes users->clone exist with the
     * privileges of users->original (created, or re-synchronised when it exists; the original
     * is never changed to match its clone), then sets users->target's password. Changes to a
     * clone that already existed are announced by one WARN line naming them, before the first.
     * Idempotent. */
    int (*sync_alternate_user)(struct rot_conn *admin, const struct rot_user_pair *users,
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
