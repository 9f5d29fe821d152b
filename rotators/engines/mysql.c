/*
 * engine_mysql: the MySQL / MariaDB / Aurora MySQL engine plugin (MariaDB Connector/C 3.3+), for
 * the secret engine values `mysql`, `aurora-mysql` and `mariadb`.
 *
 * Every option that changes behaviour is set on each attempt (TCP always, utf8mb4, no LOAD DATA
 * LOCAL, no reconnect, the plugin directory, the authentication plugins that never send a
 * password in cleartext), host, port, user, password and database are always passed, and option
 * files are never read, so neither my.cnf nor MYSQL_* variables take part; LIBMYSQL_PLUGINS is
 * removed from the environment at init. Connector/C counts timeouts in whole seconds. What the
 * SQL looks like for each server is decided by pure functions: mysql_version.h, mysql_sql.h, and
 * for the alternate user mysql_grants.h and mysql_grant_plan.h (run by mysql_sync.c). Our copies
 * of passwords and statements are wiped, and so are the library's copy of the login password and
 * its network buffer on disconnect; not the copy Connector/C frees itself after a failed login,
 * nor OpenSSL's record buffers.
 */
#include "buf.h"
#include "clock.h"
#include "engine.h"
#include "log.h"
#include "mem.h"
#include "mysql_conn.h"
#include "mysql_inspect.h"
#include "mysql_sql.h"
#include "mysql_sync.h"
#include "str.h"

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>

#include <assert.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MY_MAX_IO_TIMEOUT_S 60
#define MY_MARIADB_USERNAME_LIMIT 80
#define MY_DEFAULT_USERNAME_LIMIT 32
#define MY_AUTH_PLUGINS "mysql_native_password,caching_sha2_password,sha256_password,client_ed25519"
#define MY_TLS_VERSIONS "TLSv1.2,TLSv1.3"

/* MySQL's ER_ACCOUNT_HAS_BEEN_LOCKED (Connector/C's header has MariaDB's, 4151). */
#define MY_ER_MYSQL_ACCOUNT_LOCKED 3118

static const char *const my_engine_values[] = {"mysql", "aurora-mysql", "mariadb", NULL};

/* ---- settings ------------------------------------------------------------------------------ */

/* Removes LIBMYSQL_PLUGINS (a list of .so files Connector/C would load at start-up) from the
 * environment, and prepares the library. */
static int my_init(struct sm_err *err) {
    for (char **e = environ; e != NULL && *e != NULL; e++) {
        if (strncmp(*e, "LIBMYSQL_PLUGINS=", 17) == 0) {
            SM_WARN("ignoring LIBMYSQL_PLUGINS: the MySQL client loads no plugins from the "
                    "environment");
            unsetenv("LIBMYSQL_PLUGINS");
            break;
        }
    }
    if (mysql_library_init(0, NULL, NULL) != 0) {
        return sm_err_set(err, SM_ERR_INTERNAL, "the MySQL client library failed to initialise");
    }
    SM_DEBUG("MySQL client: Connector/C %s", mysql_get_client_info());
    return 0;
}

static size_t my_max_username_length(const char *engine_value,
                                     const struct rot_engine_settings *settings) {
    size_t limit = settings->mysql_username_limit > 0 ? settings->mysql_username_limit
                                                      : MY_DEFAULT_USERNAME_LIMIT;
    if (engine_value == NULL) {
        return limit > MY_MARIADB_USERNAME_LIMIT ? limit : MY_MARIADB_USERNAME_LIMIT;
    }
    return strcmp(engine_value, "mariadb") == 0 ? MY_MARIADB_USERNAME_LIMIT : limit;
}

static const char *my_plugin_dir(const struct rot_engine_settings *settings) {
    return settings->mysql_plugin_dir != NULL ? settings->mysql_plugin_dir : MARIADB_PLUGINDIR;
}

/* ---- why an attempt failed ------------------------------------------------------------------ */

static bool my_is_unreachable(unsigned int e) {
    switch (e) {
    case CR_SOCKET_CREATE_ERROR:
    case CR_CONNECTION_ERROR:
    case CR_CONN_HOST_ERROR:
    case CR_IPSOCK_ERROR:
    case CR_UNKNOWN_HOST:
    case CR_SERVER_GONE_ERROR:
    case CR_SERVER_HANDSHAKE_ERR:
    case CR_SERVER_LOST:
    case CR_SERVER_LOST_EXTENDED:
    case CR_ERR_NET_READ:
    case CR_ERR_NET_WRITE:
    case ER_CON_COUNT_ERROR:
    case ER_TOO_MANY_USER_CONNECTIONS:
    case ER_HOST_IS_BLOCKED:
        return true;
    default:
        return false;
    }
}

static bool my_is_login(unsigned int e) {
    switch (e) {
    case ER_ACCESS_DENIED_ERROR:
    case ER_ACCESS_DENIED_NO_PASSWORD_ERROR:
    case ER_HOST_NOT_PRIVILEGED:
    case ER_MUST_CHANGE_PASSWORD_LOGIN:
    case ER_ACCOUNT_HAS_BEEN_LOCKED:
    case MY_ER_MYSQL_ACCOUNT_LOCKED:
    case ER_NOT_SUPPORTED_AUTH_MODE:
    case CR_AUTH_PLUGIN_ERR:
        return true;
    default:
        return false;
    }
}

/*
 * Connector/C 3.3 reports every TLS failure as CR_SSL_CONNECTION_ERROR (2026) and tells them apart
 * only in words (3.4.1 added MARIADB_TLS_VERIFY_* status flags). This table is the one place that
 * reads those words, and only to choose the advice of the message: the failure is TLS whatever
 * they say, and a wording a release changes gets the advice that names both settings. Whether
 * the server offers TLS at all is read from its greeting's capability flags instead.
 */
static const struct {
    const char *needle;
    enum rot_attempt_failure failure;
} my_tls_texts[] = {
    {"Validation of SSL server certificate failed", ROT_ATTEMPT_TLS_HOST}, /* 3.3, host name */
    {"Hostname verification failed", ROT_ATTEMPT_TLS_HOST},                /* 3.4 */
    /* OpenSSL's X509_verify_cert_error_string for a chain without a trusted root. */
    {"self-signed certificate", ROT_ATTEMPT_TLS_UNTRUSTED},
    {"self signed certificate", ROT_ATTEMPT_TLS_UNTRUSTED},
    {"unable to get local issuer certificate", ROT_ATTEMPT_TLS_UNTRUSTED},
    {"unable to get issuer certificate", ROT_ATTEMPT_TLS_UNTRUSTED},
    {"Peer certificate is not trusted", ROT_ATTEMPT_TLS_UNTRUSTED}, /* 3.4 */
};

static enum rot_attempt_failure my_tls_failure(const char *text) {
    for (size_t i = 0; i < sizeof(my_tls_texts) / sizeof(my_tls_texts[0]); i++) {
        if (strstr(text, my_tls_texts[i].needle) != NULL) {
            return my_tls_texts[i].failure;
        }
    }
    return ROT_ATTEMPT_TLS;
}

/* Why the server counts as unreachable, in words; timed_out: the attempt lasted the whole
 * connect timeout (measured by us, not read from the library's text). */
static const char *my_unreachable_reason(unsigned int e, bool timed_out) {
    switch (e) {
    case CR_UNKNOWN_HOST:
        return "the host name does not resolve";
    case CR_SERVER_LOST:
    case CR_SERVER_LOST_EXTENDED:
        return timed_out ? "the server accepted the connection but did not answer in time"
                         : "the server closed the connection";
    case ER_CON_COUNT_ERROR:
    case ER_TOO_MANY_USER_CONNECTIONS:
    case ER_HOST_IS_BLOCKED:
        return "the server refuses more connections";
    default:
        return "connection refused, or no answer in time";
    }
}

/* Reads a failed mysql_real_connect into why (or err, for ROT_ATTEMPT_ERROR). */
static void my_classify(MYSQL *m, const struct rot_attempt *a, bool timed_out,
                        struct rot_attempt_result *why, struct sm_err *err) {
    unsigned int e = mysql_errno(m);
    char text[400]; /* fits why->text with what is added below */
    sm_str_one_line(mysql_error(m), text, sizeof(text));
    snprintf(why->text, sizeof(why->text), "[%u] %s", e, text);
    why->failure = ROT_ATTEMPT_ERROR;
    if (e == CR_SSL_CONNECTION_ERROR) {
        /* The greeting's flags survive the failure (the MYSQL is ours): no CLIENT_SSL, no TLS. */
        bool greeted = m->server_capabilities != 0;
        why->failure = greeted && (m->server_capabilities & CLIENT_SSL) == 0
                           ? ROT_ATTEMPT_TLS_NOT_OFFERED
                           : my_tls_failure(text);
    } else if (my_is_unreachable(e)) {
        bool lost = e == CR_SERVER_LOST || e == CR_SERVER_LOST_EXTENDED;
        why->failure = lost && timed_out ? ROT_ATTEMPT_TIMEOUT : ROT_ATTEMPT_UNREACHABLE;
        snprintf(why->text, sizeof(why->text), "%s: [%u] %s", my_unreachable_reason(e, timed_out),
                 e, text);
    } else if (e == CR_AUTH_PLUGIN_CANNOT_LOAD ||
               (e == ER_ACCESS_DENIED_ERROR && (strstr(text, "could not be loaded") != NULL ||
                                                strstr(text, "cannot be loaded") != NULL))) {
        /* A missing client plugin: Connector/C 3.3 has no code of its own for it (1045). */
        sm_err_set(err, SM_ERR_CONFIG,
                   "the login needs a client authentication plugin that could not be loaded from "
                   "%s (set SMROTATE_MYSQL_PLUGIN_DIR): [%u] %s",
                   my_plugin_dir(a->settings), e, text);
    } else if (my_is_login(e)) {
        why->failure = ROT_ATTEMPT_LOGIN;
    } else if (e == CR_PLUGIN_NOT_ALLOWED) {
        sm_err_set(err, ROT_ERR_UNSUPPORTED,
                   "the server asked for an authentication method that is not allowed "
                   "(allowed: " MY_AUTH_PLUGINS "): [%u] %s",
                   e, text);
    } else if (e == CR_OUT_OF_MEMORY) {
        sm_err_set(err, SM_ERR_NOMEM, "out of memory");
    } else {
        sm_err_set(err, ROT_ERR_DB_QUERY, "the login failed: [%u] %s", e, text);
    }
}

/* ---- connecting ---------------------------------------------------------------------------- */

/*
 * The options of one attempt. TLS with Connector/C 3.3 (plugins/auth/my_auth.c
 * send_client_reply_packet, ma_pvio.c ma_pvio_start_ssl, secure/openssl.c ma_tls_connect), pinned
 * by the integration tests:
 *   - A server that offers no TLS is refused before any credential is sent only when
 *     MYSQL_OPT_SSL_VERIFY_SERVER_CERT is on or a peer fingerprint option is set (a non-NULL
 *     pointer); MYSQL_OPT_SSL_ENFORCE alone carries on in plaintext.
 *   - With MYSQL_OPT_SSL_CA set, the chain is verified (SSL_get_verify_result) in every case, and a
 *     CA file that does not exist fails the handshake.
 *   - VERIFY_SERVER_CERT also checks the host name (X509_check_host / X509_check_ip_asc).
 * So full verification is VERIFY_SERVER_CERT + SSL_CA; chain-only (SMROTATE_DB_TLS_VERIFY=ca)
 * is SSL_CA + an empty MARIADB_OPT_TLS_PEER_FP: set, so plaintext is still refused, and empty,
 * so no fingerprint is compared. Without TLS, VERIFY and ENFORCE are explicitly off, which also
 * keeps Connector/C 3.4's TLS-by-default out of the way.
 */
static int my_set_options(MYSQL *m, const struct rot_attempt *a, unsigned int connect_s,
                          unsigned int io_s, struct sm_err *err) {
    unsigned int tcp = MYSQL_PROTOCOL_TCP, no_infile = 0;
    my_bool off = 0, on = 1, tls_on = a->tls ? 1 : 0;
    bool chain_only = a->tls && a->verify == ROT_TLS_VERIFY_CA;
    my_bool verify_host = a->tls && !chain_only ? 1 : 0;
    const char *key = a->settings->mysql_server_public_key;
#define MY_OPT(set, option, value)                                                                 \
    { set, option, value, #option }
    const struct {
        bool set;
        enum mysql_option option;
        const void *value;
        const char *name;
    } opts[] = {
        MY_OPT(true, MYSQL_OPT_PROTOCOL, &tcp),
        MY_OPT(true, MYSQL_OPT_CONNECT_TIMEOUT, &connect_s),
        MY_OPT(true, MYSQL_OPT_READ_TIMEOUT, &io_s),
        MY_OPT(true, MYSQL_OPT_WRITE_TIMEOUT, &io_s),
        MY_OPT(true, MYSQL_SET_CHARSET_NAME, "utf8mb4"),
        MY_OPT(true, MYSQL_OPT_LOCAL_INFILE, &no_infile),
        MY_OPT(true, MYSQL_OPT_RECONNECT, &off),
        MY_OPT(true, MYSQL_PLUGIN_DIR, my_plugin_dir(a->settings)),
        MY_OPT(true, MARIADB_OPT_RESTRICTED_AUTH, MY_AUTH_PLUGINS),
        MY_OPT(true, MYSQL_OPT_CAN_HANDLE_EXPIRED_PASSWORDS, &on),
        MY_OPT(key != NULL, MYSQL_SERVER_PUBLIC_KEY, key),
        MY_OPT(true, MYSQL_OPT_SSL_ENFORCE, &tls_on),
        MY_OPT(true, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify_host),
        MY_OPT(chain_only, MARIADB_OPT_TLS_PEER_FP, ""),
        MY_OPT(a->tls, MARIADB_OPT_TLS_VERSION, MY_TLS_VERSIONS),
        MY_OPT(a->tls, MYSQL_OPT_SSL_CA, a->ca_file),
    };
#undef MY_OPT
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
        if (opts[i].set && mysql_optionsv(m, opts[i].option, opts[i].value) != 0) {
            return sm_err_set(err, SM_ERR_INTERNAL, "the MySQL client refused option %s",
                              opts[i].name);
        }
    }
    if (mysql_optionsv(m, MYSQL_OPT_CONNECT_ATTR_ADD, "program_name", "smrotate") != 0) {
        return sm_err_set(err, SM_ERR_INTERNAL,
                          "the MySQL client refused option MYSQL_OPT_CONNECT_ATTR_ADD");
    }
    return 0;
}

/* Logs in on m as a says; the session it makes is s's. */
static int my_login(MYSQL *m, const struct rot_attempt *a, struct rot_session *s,
                    struct rot_attempt_result *why, struct sm_err *err) {
    const struct rot_login *l = a->login;
    const char *db = l->dbname != NULL && l->dbname[0] != '\0' ? l->dbname : NULL;
    /* Connector/C takes whole seconds: round up, but never past the deadline. */
    int64_t connect_s = (a->connect_timeout_ms + 999) / 1000;
    int64_t cap_s = sm_remaining_ms(a->deadline_ms) / 1000;
    connect_s = connect_s > cap_s ? cap_s : connect_s;
    connect_s = connect_s < 1 ? 1 : connect_s;
    long io = a->statement_timeout_ms / 1000;
    unsigned int io_s = io < 1 ? 1 : io > MY_MAX_IO_TIMEOUT_S ? MY_MAX_IO_TIMEOUT_S : (unsigned)io;

    if (my_set_options(m, a, (unsigned int)connect_s, io_s, err) != 0) {
        return -1;
    }
    int64_t started = sm_monotonic_ms();
    /* CLIENT_REMEMBER_OPTIONS: a failed connect keeps the options for rot_mysql_close to free. */
    if (mysql_real_connect(m, l->host, l->username, l->password, db, (unsigned int)l->port, NULL,
                           CLIENT_REMEMBER_OPTIONS) == NULL) {
        /* Connector/C gives up after connect_s (whole seconds) at the earliest. */
        bool timed_out = sm_monotonic_ms() - started >= connect_s * 1000 - 250;
        my_classify(m, a, timed_out, why, err);
        return -1;
    }
    if (a->tls && mysql_get_ssl_cipher(m) == NULL) {
        why->failure = ROT_ATTEMPT_TLS;
        snprintf(why->text, sizeof(why->text), "the session is not encrypted");
        return -1;
    }
    if (rot_mysql_version_parse(mysql_get_server_info(m), &s->version, err) != 0) {
        return -1;
    }
    return 0;
}

static void my_disconnect(struct rot_session *s) {
    if (s == NULL) {
        return;
    }
    rot_mysql_close(s->mysql);
    sm_free(s);
}

static int my_connect(const struct rot_attempt *a, struct rot_session **out,
                      struct rot_attempt_result *why, struct sm_err *err) {
    struct rot_session *s = NULL;
    char host[256];
    int rc = -1;

    assert(a->login->password != NULL && (!a->tls || a->ca_file != NULL));
    *out = NULL;
    why->failure = ROT_ATTEMPT_ERROR;
    s = sm_calloc(1, sizeof(*s));
    if (s == NULL || (s->mysql = mysql_init(NULL)) == NULL) {
        sm_err_set(err, SM_ERR_NOMEM, "out of memory creating a MySQL connection");
        goto out;
    }
    if (my_login(s->mysql, a, s, why, err) != 0) {
        goto out;
    }
    s->deadline_ms = a->deadline_ms;
    s->tls = a->tls;
    sm_str_printable(a->login->host, host, sizeof(host));
    snprintf(s->where, sizeof(s->where), "%s:%d", host, a->login->port);
    sm_str_printable(a->login->username, s->user, sizeof(s->user));
    SM_DEBUG("logged in to %s %d.%d at %s as '%s' (%s)", rot_mysql_flavor_name(s->version.flavor),
             s->version.major, s->version.minor, s->where, s->user,
             s->tls ? mysql_get_ssl_cipher(s->mysql) : "no TLS");
    *out = s;
    s = NULL;
    rc = 0;
out:
    my_disconnect(s);
    return rc;
}

/* ---- single user --------------------------------------------------------------------------- */

static int my_check(struct rot_session *s, struct sm_err *err) {
    return rot_mysql_run(s, "SELECT 1", "the test query (SELECT 1)", NULL, err);
}

/* Runs a statement about one's own account that needs a privilege. 0 when it ran, or when it
 * was refused with *denied (ER_SPECIFIC_ACCESS_DENIED_ERROR: the account lacks the privilege) or
 * *sandbox (ER_MUST_CHANGE_PASSWORD: the session's password has expired, and nothing but the
 * password may change before it does), err then holding the refusal; -1 with err otherwise. */
static int my_run_privileged(struct rot_session *s, const char *sql, const char *what, bool *denied,
                             bool *sandbox, struct sm_err *err) {
    *denied = *sandbox = false;
    if (rot_mysql_run(s, sql, what, NULL, err) == 0) {
        return 0;
    }
    unsigned int code = mysql_errno(s->mysql);
    *denied = code == ER_SPECIFIC_ACCESS_DENIED_ERROR;
    *sandbox = code == ER_MUST_CHANGE_PASSWORD;
    return *denied || *sandbox ? 0 : -1;
}

/* What a refused own-password statement lacked, in the words of the settings that asked for it.
 * Returns -1. */
static int my_own_denied(const struct rot_password_opts *opts, struct sm_err *err) {
    if (!opts->retain_current && opts->lifetime_days == 0) {
        return -1;
    }
    if (opts->lifetime_days > 0) {
        return sm_err_prefix(err, "giving one's own password an expiry (password-lifetime-days: "
                                  "PASSWORD EXPIRE INTERVAL) needs the CREATE USER privilege: "
                                  "rotate with the strategy single-user-via-master, or without "
                                  "password-lifetime-days");
    }
    return sm_err_prefix(err, "keeping the current password as the secondary one "
                              "(mysql-dual-password) needs the APPLICATION_PASSWORD_ADMIN "
                              "privilege: grant it to the user, or turn mysql-dual-password off");
}

/*
 * With mysql-dual-password off, a secondary password an earlier rotation left must not stay
 * valid: DISCARD OLD PASSWORD, before the change, so that a rerun after it (which finds the new
 * password set and changes nothing) cannot leave one behind. Only an account with
 * APPLICATION_PASSWORD_ADMIN (or CREATE USER) may keep or discard its own secondary password, so
 * one without it kept none: its refusal means there is nothing of ours to discard. A session
 * whose password has expired may discard only after the change (*after).
 */
static int my_discard_old(struct rot_session *s, bool *after, struct sm_err *err) {
    bool denied;
    if (my_run_privileged(s, "ALTER USER CURRENT_USER() DISCARD OLD PASSWORD",
                          "discarding the secondary password (DISCARD OLD PASSWORD)", &denied,
                          after, err) != 0) {
        return -1;
    }
    if (denied) {
        SM_DEBUG("'%s' at %s may not keep a secondary password, so it has none of ours", s->user,
                 s->where);
    }
    return 0;
}

/* MariaDB: whether the account may give itself a lifetime, asked by a statement that changes
 * nothing (ALTER USER CURRENT_USER() needs what the lifetime's needs). A session whose password
 * has expired cannot ask; the lifetime's own statement answers after the change then. */
static int my_may_alter_self(struct rot_session *s, const struct rot_password_opts *opts,
                             struct sm_err *err) {
    bool denied, sandbox;
    if (my_run_privileged(s, "ALTER USER CURRENT_USER()", "checking the CREATE USER privilege",
                          &denied, &sandbox, err) != 0) {
        return -1;
    }
    return denied ? my_own_denied(opts, err) : 0;
}

/* The statement of mysql_sql.h that changes one's own password. */
static int my_change_own(struct rot_session *s, const char *current_password,
                         const char *new_password, const struct rot_password_opts *opts,
                         struct sm_err *err) {
    struct sm_buf sql;
    char *esc = NULL, *current_esc = NULL;
    int rc = -1;
    sm_buf_init(&sql, ROT_MYSQL_STMT_MAX);
    /* REPLACE '<current>' where the server has it (rot_mysql_has_replace_clause): accepted for
     * one's own account whether or not password_require_current asks for it. */
    if ((esc = rot_mysql_escape(s, new_password, err)) == NULL ||
        (current_password != NULL && rot_mysql_has_replace_clause(&s->version) &&
         (current_esc = rot_mysql_escape(s, current_password, err)) == NULL)) {
        goto out;
    }
    const char *secrets[] = {new_password, esc, current_esc != NULL ? current_password : NULL,
                             current_esc, NULL};
    if (rot_mysql_sql_set_own_password(&sql, &s->version, esc, current_esc, opts, err) != 0) {
        goto out;
    }
    if (rot_mysql_run(s, sql.data, "changing the password", secrets, err) != 0) {
        if (mysql_errno(s->mysql) == ER_SPECIFIC_ACCESS_DENIED_ERROR) {
            my_own_denied(opts, err);
        }
        goto out;
    }
    rc = 0;
out:
    sm_buf_clean_up(&sql);
    sm_free(esc);
    sm_free(current_esc);
    return rc;
}

/* MariaDB: the lifetime of one's own password, a statement of its own (mysql_sql.h). */
static int my_expire_self(struct rot_session *s, long days, struct sm_err *err) {
    int rc = rot_mysql_expire(s, NULL, NULL, 0, days, err);
    if (rc != 0 && mysql_errno(s->mysql) == ER_SPECIFIC_ACCESS_DENIED_ERROR) {
        const struct rot_password_opts opts = {.lifetime_days = days};
        my_own_denied(&opts, err);
    }
    return rc;
}

/* One's own password, as opts says. MariaDB sets a lifetime after the password (so that it
 * never expires the old one early) and asks first whether it may (so that a missing privilege
 * changes nothing). */
static int my_set_own_password(struct rot_session *s, const char *username,
                               const char *current_password, const char *new_password,
                               const struct rot_password_opts *opts, struct sm_err *err) {
    bool mariadb = s->version.flavor == ROT_MYSQL_FLAVOR_MARIADB;
    bool lifetime_after = mariadb && opts->lifetime_days > 0;
    bool discard = !opts->retain_current && rot_mysql_has_secondary_passwords(&s->version);
    bool discard_after = false;
    /* Set again (a rerun), the password the session logged in with is the primary one already:
     * retaining it would drop the old password, the secondary one now. */
    struct rot_password_opts o = *opts;
    o.retain_current &= current_password == NULL || strcmp(current_password, new_password) != 0;
    (void)username; /* the statements name CURRENT_USER() */
    if (rot_mysql_refuse_opts(s, opts, err) != 0 ||
        (lifetime_after && my_may_alter_self(s, opts, err) != 0) ||
        (discard && my_discard_old(s, &discard_after, err) != 0) ||
        my_change_own(s, current_password, new_password, &o, err) != 0 ||
        (discard_after && my_discard_old(s, &discard_after, err) != 0) ||
        (lifetime_after && my_expire_self(s, opts->lifetime_days, err) != 0)) {
        return -1;
    }
    return 0;
}

/* MySQL 8.0.14 and later and Aurora MySQL 3 (the version is checked when the password is set). */
static bool my_has_secondary_passwords(const char *engine_value) {
    return engine_value != NULL &&
           (strcmp(engine_value, "mysql") == 0 || strcmp(engine_value, "aurora-mysql") == 0);
}

const struct rot_engine rot_engine_mysql = {
    .name = "mysql",
    .display_name = "MySQL/MariaDB",
    .engine_values = my_engine_values,
    .has_secondary_passwords = my_has_secondary_passwords,
    .default_port = 3306,
    .default_exclude_characters = "/@\"'\\",
    .init = my_init,
    .max_username_length = my_max_username_length,
    .username_limit_counts_characters = true,
    .connect = my_connect,
    .disconnect = my_disconnect,
    .check = my_check,
    .set_own_password = my_set_own_password,
    .set_password = rot_mysql_set_password,
    .sync_alternate_user = rot_mysql_sync_alternate_user,
    .check_rights = rot_mysql_check_rights,
    .plan_alternate_user = rot_mysql_plan_alternate_user,
};
