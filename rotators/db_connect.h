/*
 * db_connect: the connection policy every engine shares, and the steps' one door to an engine.
 *
 * Decides each connection attempt, so that an engine only makes it (engine.h): TLS as the
 * secret's `ssl` says, verified against the one CA bundle (db_tls.h) by chain and host name or by
 * the chain only; plaintext after TLS only when the secret has no `ssl` key and the server said
 * it offers no TLS, never after a certificate, host-name, password or network failure. With no
 * bundle at all an attempt still asks for TLS, so a server that offers it is refused (naming
 * SMROTATE_DB_CA_FILE) and one that does not gets plaintext. The connect timeout is capped by the
 * invocation deadline, and with less than a second left no attempt starts. Which host, names and
 * passwords may reach an engine is checked here, and every failed attempt becomes one error class
 * with one message shape, whatever the engine.
 */
#ifndef ROT_DB_CONNECT_H
#define ROT_DB_CONNECT_H

#include "engine.h"
#include "errors.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The process's connection settings (from rot_config) and the invocation's deadline. Borrowed;
 * settings for as long as any connection made with them. */
struct rot_connect_opts {
    const char *ca_file;   /* the CA bundle (PEM); NULL: none (see above) */
    const char *ca_origin; /* where its certificates come from, for messages; NULL: ca_file */
    enum rot_tls_verify tls_verify;
    long connect_timeout_ms;                    /* per attempt; 0: 5000 */
    int64_t deadline_ms;                        /* invocation deadline (epoch ms), 0 = none */
    const struct rot_engine_settings *settings; /* NULL: every default */
};

struct rot_conn; /* a logged-in connection: an engine session and what the policy knows of it */

/* Logs in to login's server with engine. Returns 0 with *out a connection (closed with
 * rot_db_disconnect), or -1 with err:
 *   ROT_ERR_ROTATION        refused input: not one TCP host, a port out of range, a name the
 *                           engine does not take
 *   ROT_ERR_DB_UNREACHABLE  refused, no such host, no answer within the connect timeout
 *   ROT_ERR_DB_TLS          TLS failed or was not offered when required (message: what to set)
 *   ROT_ERR_DB_LOGIN        the server refused the credentials
 *   SM_ERR_DEADLINE         less than a second left, or the deadline cut the attempt short
 *   or what the engine reported (SM_ERR_NOMEM, SM_ERR_CONFIG, ROT_ERR_DB_QUERY, ...).
 * No message holds a password. */
int rot_db_connect(const struct rot_engine *engine, const struct rot_login *login,
                   const struct rot_connect_opts *opts, struct rot_conn **out, struct sm_err *err);

/* rot_db_connect for the preflight check: also *over_tls, whether its last attempt asked for
 * verified TLS. With a connection or a refused login (ROT_ERR_DB_LOGIN) that is how the
 * credentials travelled: over TLS, or in plaintext (the secret's "ssl": false, or no "ssl" key
 * and a server that offers no TLS). */
int rot_db_connect_tls(const struct rot_engine *engine, const struct rot_login *login,
                       const struct rot_connect_opts *opts, struct rot_conn **out, bool *over_tls,
                       struct sm_err *err);

/* Writes how a login to login's server used TLS under opts, in the operator's words: the mode
 * (verified TLS, the chain only, or plaintext and why), the trust source, and whether the host
 * name was checked. over_tls as rot_db_connect_tls gave it. Truncates to cap. */
void rot_db_tls_summary(const struct rot_login *login, const struct rot_connect_opts *opts,
                        bool over_tls, char *out, size_t cap);

/* Closes and frees conn. Accepts NULL. */
void rot_db_disconnect(struct rot_conn *conn);

/* The engine's test query (engine.h's error contract). */
int rot_db_check(struct rot_conn *conn, struct sm_err *err);

/* Changes the logged-in user's password, after refusing (ROT_ERR_ROTATION, before any SQL) a name
 * the engine does not take or an empty new password. opts may be NULL. See engine.h. */
int rot_db_set_own_password(struct rot_conn *conn, const char *username,
                            const char *current_password, const char *new_password,
                            const struct rot_password_opts *opts, struct sm_err *err);

/* Sets an existing user's password as the superuser connection admin, and nothing else
 * (engine.h), after refusing (ROT_ERR_ROTATION, before any SQL) a name the engine does not take
 * or an empty password. opts may be NULL. */
int rot_db_set_password(struct rot_conn *admin, const char *username, const char *password,
                        const struct rot_password_opts *opts, struct sm_err *err);

/* Syncs the alternate user as the superuser connection admin (engine.h), after refusing
 * (ROT_ERR_ROTATION, before any SQL) a name the engine does not take, a clone that is the user
 * itself, a target that is neither of the two, or an empty password. opts may be NULL. */
int rot_db_sync_alternate_user(struct rot_conn *admin, const struct rot_user_pair *users,
                               const char *password, const struct rot_password_opts *opts,
                               struct sm_err *err);

/* The preflight check, read-only (engine.h): whether the master connection admin holds what req
 * needs (*allowed, and what it holds or lacks in detail), after refusing (ROT_ERR_ROTATION,
 * before any SQL) a name the engine does not take. An engine that cannot tell is
 * ROT_ERR_UNSUPPORTED. */
int rot_db_check_rights(struct rot_conn *admin, const struct rot_rights_request *req, bool *allowed,
                        struct sm_buf *detail, struct sm_err *err);

/* The preflight check, read-only (engine.h): the statements rot_db_sync_alternate_user would
 * run, passwords shown as <new password>, into plan; refused as that function refuses. An engine
 * that cannot tell is ROT_ERR_UNSUPPORTED. */
int rot_db_plan_alternate_user(struct rot_conn *admin, const struct rot_user_pair *users,
                               struct sm_buf *plan, struct sm_err *err);

#endif
