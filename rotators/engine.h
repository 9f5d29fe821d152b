/*
 * engine: the database engine plugin interface and its registry.
 *
 * An engine is a `const struct rot_engine` of function pointers (one per engine file, designated
 * initializers), listed in a NULL-terminated registry and found by the secret's `engine` field.
 * An engine speaks one wire protocol and SQL dialect: it makes one connection attempt exactly as
 * told, runs the test query, changes a password and syncs a clone. What every engine must do the
 * same way (TLS mode and fallback, CA trust, timeouts, which names may reach a server, the error
 * classes of a failed login) is db_connect.h's, and the steps reach engines only through it. An
 * engine knows nothing of Secrets Manager, staging labels or strategies; its arguments were
 * checked above it (a broken contract is an assert), and no message it writes holds a password.
 */
#ifndef ROT_ENGINE_H
#define ROT_ENGINE_H

#include "errors.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How to use TLS, from the secret's `ssl` key (see secret.h; db_connect.h applies it). */
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
    const char *engine_value; /* the secret's `engine` (name limits depend on it); NULL: any */
};

/* How much of the server's certificate TLS verifies (SMROTATE_DB_TLS_VERIFY, see db_tls.h). */
enum rot_tls_verify {
    ROT_TLS_VERIFY_FULL, /* the chain up to a trusted CA, and the host name (the default) */
    ROT_TLS_VERIFY_CA,   /* the chain only: for endpoints the certificate cannot name */
};

/* How PostgreSQL password verifiers are made (PASSWORD_ENCRYPTION). */
enum rot_pg_password_encryption {
    ROT_PG_PASSWORD_AS_SERVER, /* unset: the server's password_encryption, computed client-side */
    ROT_PG_PASSWORD_SCRAM,     /* scram-sha-256, computed client-side */
    ROT_PG_PASSWORD_MD5,       /* md5, computed client-side */
    ROT_PG_PASSWORD_PLAIN,     /* "server": the password itself, for the server to hash */
};

/* The engines' settings, read once by config.h (README lists them); the zero value is every
 * default. Strings borrowed. */
struct rot_engine_settings {
    enum rot_pg_password_encryption pg_password_encryption; /* PASSWORD_ENCRYPTION */
    const char *pg_owner_role;           /* PG_OWNER_ROLE: a role of its own, or NULL */
    size_t mysql_username_limit;         /* USERNAME_CHARACTER_LIMIT for mysql/aurora-mysql;
                                            0: 32 */
    const char *mysql_plugin_dir;        /* authentication plugins; NULL: Connector/C's own */
    const char *mysql_server_public_key; /* SMROTATE_MYSQL_SERVER_PUBLIC_KEY, or NULL */
};

/* One connection attempt, exactly as db_connect.c decided it. All borrowed. */
struct rot_attempt {
    const struct rot_login *login; /* who and where; its tls is already decided below */
    bool tls;                      /* verified TLS, or plaintext */
    const char *ca_file;           /* with tls: the only trust; the file may not exist, and the
                                      attempt then fails unless the server offers no TLS */
    enum rot_tls_verify verify;
    long connect_timeout_ms;   /* connecting, TLS and authentication (capped by the deadline) */
    long statement_timeout_ms; /* the bound of each statement */
    int64_t deadline_ms;       /* no statement starts after it (epoch ms, 0 = none) */
    const struct rot_engine_settings *settings;
};

/* Why an attempt failed, as the engine reads its library; db_connect.c turns it into an error
 * class and the operator's message. */
enum rot_attempt_failure {
    ROT_ATTEMPT_UNREACHABLE,     /* refused, no such host, connection lost, too many clients */
    ROT_ATTEMPT_TIMEOUT,         /* no answer within connect_timeout_ms */
    ROT_ATTEMPT_LOGIN,           /* the server refused the credentials */
    ROT_ATTEMPT_TLS_NOT_OFFERED, /* with tls: the server offers none (nothing was sent) */
    ROT_ATTEMPT_TLS_UNTRUSTED,   /* the certificate chain does not lead to the bundle */
    ROT_ATTEMPT_TLS_HOST,        /* the certificate does not name the host */
    ROT_ATTEMPT_TLS,             /* another TLS failure */
    ROT_ATTEMPT_TLS_REQUIRED,    /* without tls: the server requires TLS for this login */
    ROT_ATTEMPT_ERROR,           /* anything else (memory, a missing plugin, an unknown
                                    database): the engine set err */
};

struct rot_attempt_result {
    enum rot_attempt_failure failure;
    char text[512]; /* the library's or server's words, one line; never a password */
};

/* The alternating-users strategy's two users, decided by the rotation layer (rotation.c owns
 * the naming rule). All borrowed. */
struct rot_user_pair {
    const char *original; /* the user the secret was made for ("app") */
    const char *clone;    /* its alternate ("app_clone") */
    const char *target;   /* the one of the two whose password is set now (the pending user) */
};

/* How a new password is set, from the secret's settings (settings.h). NULL means the zero value. */
struct rot_password_opts {
    long lifetime_days;  /* > 0: the password stops working that many days after it is set
                            (PostgreSQL VALID UNTIL, MySQL/MariaDB PASSWORD EXPIRE INTERVAL);
                            0: it does not expire */
    bool retain_current; /* MySQL >= 8.0.14 own password: the current one stays valid as the
                            account's secondary password (RETAIN CURRENT PASSWORD); false: a
                            secondary password left by an earlier rotation is discarded */
};

/* What the preflight check asks of a master session (check_rights). All borrowed. */
struct rot_rights_request {
    /* Alternating users over a clone: the master creates the clone, gives it the original's
     * privileges and sets a password; NULL otherwise. */
    const struct rot_user_pair *clone;
    /* Otherwise: the existing users whose passwords the master sets (two pre-created users, or
     * single user via the master); the second may be NULL. */
    const char *users[2];
};

struct sm_buf;
struct rot_session; /* one logged-in connection, engine-defined */

/*
 * Error contract of check, set_own_password, set_password and sync_alternate_user: 0, or -1 with
 * err set to
 *   ROT_ERR_DB_QUERY        a statement failed (the message carries the server's text)
 *   ROT_ERR_DB_UNREACHABLE  the connection was lost, or the server stopped answering
 *   ROT_ERR_ROTATION        the database contradicts the request (no such user, a cycle)
 *   SM_ERR_DEADLINE, SM_ERR_NOMEM, SM_ERR_CONFIG (a setting the server contradicts)
 */
struct rot_engine {
    const char *name;         /* family, used in messages: "postgres", "mysql" */
    const char *display_name; /* "PostgreSQL", "MySQL/MariaDB" */
    /* Values of the secret's `engine` field this plugin serves; NULL-terminated. */
    const char *const *engine_values;
    int default_port;
    const char *default_exclude_characters; /* EXCLUDE_CHARACTERS default for this engine */

    /* Whether servers of this engine value can keep a secondary password
     * (rot_password_opts.retain_current). Optional: NULL means never. */
    bool (*has_secondary_passwords)(const char *engine_value);

    /* Prepares the client library and the process environment once, at start-up. Optional. */
    int (*init)(struct sm_err *err);

    /* Longest username the server accepts for the secret's engine value (NULL: any of them), in
     * bytes, or in UTF-8 characters when username_limit_counts_characters is set (MySQL counts
     * characters and takes only valid UTF-8 names and passwords; PostgreSQL counts bytes). */
    size_t (*max_username_length)(const char *engine_value,
                                  const struct rot_engine_settings *settings);
    bool username_limit_counts_characters;

    /* Makes one connection attempt exactly as `a` says. Returns 0 with *out a session (closed
     * with disconnect), or -1 with why->failure (ROT_ATTEMPT_ERROR: err set as well). */
    int (*connect)(const struct rot_attempt *a, struct rot_session **out,
                   struct rot_attempt_result *why, struct sm_err *err);

    /* Closes and frees a session, wiping anything secret it held. Accepts NULL. */
    void (*disconnect)(struct rot_session *s);

    /* Runs a trivial query (testSecret). */
    int (*check)(struct rot_session *s, struct sm_err *err);

    /* Changes the password of the logged-in user `username` to new_password, as opts says.
     * current_password (may be NULL) is the one the session logged in with, for servers that
     * require it (MySQL's password_require_current). Idempotent. An option the server cannot
     * honour is ROT_ERR_UNSUPPORTED, one the user may not use ROT_ERR_DB_QUERY naming what is
     * missing; nothing was changed then. */
    int (*set_own_password)(struct rot_session *s, const char *username,
                            const char *current_password, const char *new_password,
                            const struct rot_password_opts *opts, struct sm_err *err);

    /* As a superuser session: sets the password of the existing user `username`, as opts says,
     * and nothing else (no CREATE, GRANT, REVOKE, membership or attribute); MySQL: on every host
     * part of the user. A user that does not exist is ROT_ERR_ROTATION naming it. Idempotent. */
    int (*set_password)(struct rot_session *admin, const char *username, const char *password,
                        const struct rot_password_opts *opts, struct sm_err *err);

    /* As a superuser session: makes users->clone exist with the privileges of users->original
     * (created, or brought in line when it exists; the original never changes to match its
     * clone), then sets users->target's password as opts says. Changes to a clone that already
     * existed are announced by one WARN line naming them, before the first. Idempotent. */
    int (*sync_alternate_user)(struct rot_session *admin, const struct rot_user_pair *users,
                               const char *password, const struct rot_password_opts *opts,
                               struct sm_err *err);

    /* The preflight check's two questions, read-only (only reads, in a read-only transaction
     * where the engine has one; nothing is created, granted or changed). Optional: NULL means
     * the engine cannot tell. */

    /* Whether the session holds what req needs. Returns 0 with *allowed and, in detail, what it
     * holds or what it lacks and the statement that would grant it (names and privileges, never
     * a password); a user that must exist and does not makes *allowed false. */
    int (*check_rights)(struct rot_session *admin, const struct rot_rights_request *req,
                        bool *allowed, struct sm_buf *detail, struct sm_err *err);

    /* What sync_alternate_user would run now for users, one statement a line into plan, every
     * password shown as <new password>. Refuses as sync_alternate_user would (no original, a
     * membership cycle: ROT_ERR_ROTATION). */
    int (*plan_alternate_user)(struct rot_session *admin, const struct rot_user_pair *users,
                               struct sm_buf *plan, struct sm_err *err);
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
