/*
 * engine_mysql: the MySQL / MariaDB / Aurora MySQL engine plugin (MariaDB Connector/C 3.3+), for
 * the secret engine values `mysql`, `aurora-mysql` and `mariadb`. The SQL dialect (version
 * parsing, statement choice, SHOW GRANTS rewriting) lives in mysql_sql.c as pure functions.
 *
 * Connecting. mysql_init + mysql_optionsv + mysql_real_connect with every behaviour-changing
 * option set explicitly: TCP always (a host "localhost" never silently means the Unix socket),
 * utf8mb4, no LOAD DATA LOCAL, no auto-reconnect, no option files (Connector/C reads my.cnf only
 * when MYSQL_READ_DEFAULT_FILE/GROUP are set, which we never do), the plugin directory always
 * set (so MARIADB_PLUGIN_DIR is ignored), host, port, user, password and database always passed
 * (so MYSQL_HOST-style defaults, MYSQL_TCP_PORT and MYSQL_PWD are never consulted).
 * LIBMYSQL_PLUGINS (a list of .so files the library would load at start-up) is removed from the
 * environment by init, with a warning. Authentication is restricted to mysql_native_password,
 * caching_sha2_password, sha256_password and client_ed25519 (MARIADB_OPT_RESTRICTED_AUTH): a
 * server (or a man in the middle of a plaintext connection) asking for mysql_clear_password or
 * dialog would otherwise get the password in cleartext. Accounts with an expired password may
 * log in (MYSQL_OPT_CAN_HANDLE_EXPIRED_PASSWORDS) so single-user rotation can still reset them.
 *
 * Timeouts. Connector/C takes whole seconds. The connect timeout (opts->connect_timeout_ms,
 * default 5 s, rounded up) also bounds the wait for the server's greeting, so an endpoint that
 * accepts TCP and never answers fails after it with CR_SERVER_LOST ("handshake: reading initial
 * communication packet"), reported as ROT_ERR_DB_UNREACHABLE. Read and write timeouts (TLS
 * handshake, authentication and every statement) are the time left before the invocation
 * deadline, at most 60 s. Every timeout is capped by the whole seconds left before the deadline;
 * with less than one second left we fail with SM_ERR_DEADLINE before trying.
 *
 * TLS (engine.h policy). REQUIRED and AUTO: MYSQL_OPT_SSL_CA = opts->ca_file (the one bundle
 * db_tls.h resolved; without one a TLS attempt fails naming SMROTATE_DB_CA_FILE, never a library
 * default), TLS 1.2 or 1.3, and either MYSQL_OPT_SSL_VERIFY_SERVER_CERT (chain and host name or IP
 * address) or, with SMROTATE_DB_TLS_VERIFY=ca, an empty peer fingerprint (chain only): both make
 * Connector/C refuse a server that offers no TLS before any credential is sent, which
 * MYSQL_OPT_SSL_ENFORCE alone does not do in 3.3 (set_options has the details). After connecting
 * we also check that the session is encrypted. AUTO retries once without TLS only when the first
 * attempt failed because the server does not offer TLS at all, as its greeting's capability flags
 * say; never after a certificate, host-name, password or network failure. OFF: no TLS options
 * (VERIFY and ENFORCE explicitly off, which also keeps Connector/C 3.4's TLS-by-default out of
 * the way).
 *
 * caching_sha2_password (MySQL 8 default): over TLS the password is sent inside the TLS session;
 * over plaintext Connector/C encrypts it with the server's RSA public key, which it requests
 * from the server unless SMROTATE_MYSQL_SERVER_PUBLIC_KEY names a PEM file holding the key
 * (MYSQL_SERVER_PUBLIC_KEY), which protects that exchange against a man in the middle.
 *
 * Plugin directory. The authentication plugins other than mysql_native_password are .so files
 * Connector/C loads at run time. The directory is SMROTATE_MYSQL_PLUGIN_DIR when set (it must
 * exist), else <directory of /proc/self/exe>/lib/mariadb/plugin when that exists (the Lambda
 * package ships them there), else the library's compiled-in MARIADB_PLUGINDIR.
 *
 * Passwords. The new password is sent as a string literal escaped by mysql_real_escape_string
 * with the connection's character set (utf8mb4), which also honours NO_BACKSLASH_ESCAPES (the
 * library tracks the server status flag). Which statement is used depends on the server version
 * (mysql_sql.h): ALTER USER CURRENT_USER() IDENTIFIED BY on MySQL >= 5.7.6 and Aurora 2/3, with
 * REPLACE '<current password>' on MySQL >= 8.0.13 and Aurora 3 (password_require_current),
 * SET PASSWORD = PASSWORD(...) on MariaDB and older MySQL; each keeps the account's plugin. Error
 * messages of statements that carry a password withhold the server's text when it is a syntax
 * error or quotes a password. Names and passwords must be valid UTF-8; names longer than the limit
 * (MariaDB 80 characters, MySQL and Aurora USERNAME_CHARACTER_LIMIT, default 32) are refused before
 * any SQL is sent. Our copies of passwords and statements are wiped; on disconnect we also wipe
 * the library's copy of the login password (MYSQL.passwd) and its network buffer (the last
 * statements sent). What we cannot wipe: the password copy Connector/C frees itself when a login
 * fails, and OpenSSL's record buffers.
 *
 * Alternating users (sync_alternate_user, as an administrator). The caller says which user is the
 * original, which its clone and which one gets the new password. For every account of the
 * original in mysql.user (every host part, not only '%'), the clone's account with the same host
 * part is created when missing (CREATE USER, with the original's password plugin when it is a
 * known password plugin, and the new password when the clone is the target, else a random one no
 * one knows); it gets the original's TLS requirement (ssl_type, cipher, issuer, subject -> ALTER
 * USER ... REQUIRE) and exactly the original's grants from SHOW GRANTS FOR original@host,
 * rewritten for the clone with WITH GRANT OPTION / WITH ADMIN OPTION kept (role grants and MariaDB
 * default roles included; IDENTIFIED BY PASSWORD, REQUIRE and resource limits dropped), whatever
 * the clone holds beyond them revoked; MySQL 8 default roles are copied from mysql.default_roles.
 * A clone account that existed and is about to lose something is announced by one WARN naming the
 * revocations. The original is never changed but for its password when it is the target (with its
 * own plugin). Not copied: resource limits (MAX_QUERIES_PER_HOUR...), password expiry and lock
 * settings; a clone account whose host part the original no longer has is left alone.
 */
#include "buf.h"
#include "clock.h"
#include "db_tls.h"
#include "engine.h"
#include "log.h"
#include "mem.h"
#include "mysql_sql.h"
#include "paths.h"
#include "str.h"

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <openssl/rand.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MY_DEFAULT_PORT 3306
#define MY_DEFAULT_CONNECT_TIMEOUT_MS 5000
#define MY_MAX_IO_TIMEOUT_S 60
#define MY_MARIADB_USERNAME_LIMIT 80
#define MY_DEFAULT_USERNAME_LIMIT 32
#define MY_MAX_USERNAME_LIMIT 255
#define MY_PATH_MAX 400 /* Connector/C builds plugin paths in FN_REFLEN (512) bytes */
#define MY_AUTH_PLUGINS "mysql_native_password,caching_sha2_password,sha256_password,client_ed25519"
#define MY_TLS_VERSIONS "TLSv1.2,TLSv1.3"
#define MY_RESULT_MAX_ROWS 100000

/* MySQL's ER_ACCOUNT_HAS_BEEN_LOCKED (Connector/C's header has MariaDB's, 4151). */
#define MY_ER_MYSQL_ACCOUNT_LOCKED 3118

static const char *const s_engine_values[] = {"mysql", "aurora-mysql", "mariadb", NULL};

/* Settings read once by my_setup. */
static struct {
    bool ready;
    size_t username_limit; /* mysql / aurora-mysql */
    char plugin_dir[MY_PATH_MAX];
    char server_public_key[MY_PATH_MAX]; /* empty: ask the server */
} s_my;

struct rot_conn {
    MYSQL *mysql;
    struct rot_mysql_version version;
    int64_t deadline_ms;
    bool tls;
    char where[300]; /* "host:port" for messages */
    char user[100];  /* the login user, printable, for messages */
};

/* ---------------------------------------------------------------------------------------------
 * Small helpers
 */

static bool is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* ---------------------------------------------------------------------------------------------
 * Settings
 */

/* Parses USERNAME_CHARACTER_LIMIT (NULL or empty: the default). */
static int parse_username_limit(const char *v, size_t *out, struct sm_err *err) {
    char *end = NULL;
    long n;
    if (v == NULL || v[0] == '\0') {
        *out = MY_DEFAULT_USERNAME_LIMIT;
        return 0;
    }
    errno = 0;
    n = strtol(v, &end, 10);
    if (errno != 0 || !isdigit((unsigned char)v[0]) || *end != '\0' || n < 1 ||
        n > MY_MAX_USERNAME_LIMIT) {
        char shown[40];
        sm_str_printable(v, shown, sizeof(shown));
        return sm_err_set(err, SM_ERR_CONFIG,
                          "USERNAME_CHARACTER_LIMIT must be a whole number from 1 to %d, not "
                          "\"%s\"",
                          MY_MAX_USERNAME_LIMIT, shown);
    }
    *out = (size_t)n;
    return 0;
}

static int choose_plugin_dir(char *out, size_t cap, struct sm_err *err) {
    const char *env = getenv("SMROTATE_MYSQL_PLUGIN_DIR");
    if (env != NULL && env[0] != '\0') {
        if (strlen(env) >= cap || !is_dir(env)) {
            char shown[120];
            sm_str_printable(env, shown, sizeof(shown));
            return sm_err_set(err, SM_ERR_CONFIG,
                              "SMROTATE_MYSQL_PLUGIN_DIR \"%s\" is not a directory (or longer than "
                              "%zu bytes)",
                              shown, cap - 1);
        }
        snprintf(out, cap, "%s", env);
        return 0;
    }
    if (sm_exe_relative_path("lib/mariadb/plugin", out, cap) == 0 && is_dir(out)) {
        return 0;
    }
    snprintf(out, cap, "%s", MARIADB_PLUGINDIR);
    return 0;
}

static int my_setup(struct sm_err *err) {
    const char *key = getenv("SMROTATE_MYSQL_SERVER_PUBLIC_KEY");
    size_t limit = 0;
    if (parse_username_limit(getenv("USERNAME_CHARACTER_LIMIT"), &limit, err) != 0 ||
        choose_plugin_dir(s_my.plugin_dir, sizeof(s_my.plugin_dir), err) != 0) {
        return -1;
    }
    s_my.server_public_key[0] = '\0';
    if (key != NULL && key[0] != '\0') {
        if (strlen(key) >= sizeof(s_my.server_public_key) || access(key, R_OK) != 0) {
            char shown[120];
            sm_str_printable(key, shown, sizeof(shown));
            return sm_err_set(err, SM_ERR_CONFIG,
                              "SMROTATE_MYSQL_SERVER_PUBLIC_KEY \"%s\" is not a readable file",
                              shown);
        }
        snprintf(s_my.server_public_key, sizeof(s_my.server_public_key), "%s", key);
    }
    if (getenv("LIBMYSQL_PLUGINS") != NULL) {
        SM_WARN(
            "ignoring LIBMYSQL_PLUGINS: the MySQL client loads no plugins from the environment");
        unsetenv("LIBMYSQL_PLUGINS");
    }
    if (!s_my.ready && mysql_library_init(0, NULL, NULL) != 0) {
        return sm_err_set(err, SM_ERR_INTERNAL, "the MySQL client library failed to initialise");
    }
    s_my.username_limit = limit;
    s_my.ready = true;
    SM_DEBUG("MySQL client: Connector/C %s, plugin directory %s, username limit %zu",
             mysql_get_client_info(), s_my.plugin_dir, limit);
    return 0;
}

static int my_init(struct sm_err *err) {
    return my_setup(err);
}

static size_t my_max_username_length(const char *engine_value) {
    if (engine_value != NULL && strcmp(engine_value, "mariadb") == 0) {
        return MY_MARIADB_USERNAME_LIMIT;
    }
    if (s_my.ready) {
        return s_my.username_limit;
    }
    size_t limit = MY_DEFAULT_USERNAME_LIMIT;
    if (parse_username_limit(getenv("USERNAME_CHARACTER_LIMIT"), &limit, NULL) != 0) {
        limit = MY_DEFAULT_USERNAME_LIMIT;
    }
    return limit;
}

/* ---------------------------------------------------------------------------------------------
 * Errors
 */

static bool is_unreachable_errno(unsigned int e) {
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

static bool is_login_errno(unsigned int e) {
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

static const char *tls_words(enum rot_tls tls, bool attempt_tls) {
    if (!attempt_tls) {
        return tls == ROT_TLS_AUTO ? "without TLS: the server does not offer it" : "TLS off";
    }
    return tls == ROT_TLS_REQUIRED ? "TLS required" : "TLS verified when offered";
}

/* Why a server counts as unreachable, in words, for library error e; timed_out: the attempt
 * lasted the whole connect timeout (measured by us, not read from the library's text). */
static const char *unreachable_reason(unsigned int e, bool timed_out) {
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

/*
 * Connector/C 3.3 reports every TLS failure as CR_SSL_CONNECTION_ERROR (2026) and tells them apart
 * only in words (3.4.1 added MARIADB_TLS_VERIFY_* status flags). This table is the one place that
 * reads those words, and only to choose the advice of the message: the error is ROT_ERR_DB_TLS
 * whatever they say, and a wording a release changes gets the advice that names both settings.
 * Whether the server offers TLS at all is read from its capability flags instead (server_offers).
 */
static const struct {
    const char *needle;
    enum rot_tls_failure kind;
} s_tls_texts[] = {
    {"Validation of SSL server certificate failed", ROT_TLS_FAILURE_HOST}, /* 3.3, host name */
    {"Hostname verification failed", ROT_TLS_FAILURE_HOST},                /* 3.4 */
    /* OpenSSL's X509_verify_cert_error_string for a chain without a trusted root. */
    {"self-signed certificate", ROT_TLS_FAILURE_UNTRUSTED},
    {"self signed certificate", ROT_TLS_FAILURE_UNTRUSTED},
    {"unable to get local issuer certificate", ROT_TLS_FAILURE_UNTRUSTED},
    {"unable to get issuer certificate", ROT_TLS_FAILURE_UNTRUSTED},
    {"Peer certificate is not trusted", ROT_TLS_FAILURE_UNTRUSTED}, /* 3.4 */
};

static enum rot_tls_failure tls_failure_kind(const char *text) {
    for (size_t i = 0; i < sizeof(s_tls_texts) / sizeof(s_tls_texts[0]); i++) {
        if (strstr(text, s_tls_texts[i].needle) != NULL) {
            return s_tls_texts[i].kind;
        }
    }
    return ROT_TLS_FAILURE_OTHER;
}

/* After a failed mysql_real_connect: 1 when the server's greeting said it offers TLS, 0 when it
 * said it does not, -1 when no greeting was read. The flags survive the failure (MYSQL is ours). */
static int server_offers_tls(const MYSQL *m) {
    if (m->server_capabilities == 0) {
        return -1;
    }
    return (m->server_capabilities & CLIENT_SSL) != 0;
}

/* Sets err for a failed mysql_real_connect. */
static int connect_error(MYSQL *m, const struct rot_conn *c, const struct rot_login *login,
                         bool attempt_tls, const struct rot_connect_opts *opts,
                         unsigned int timeout_s, bool timed_out, struct sm_err *err) {
    unsigned int e = mysql_errno(m);
    char text[MYSQL_ERRMSG_SIZE + 1];
    sm_str_one_line(mysql_error(m), text, sizeof(text));
    if (e == CR_SSL_CONNECTION_ERROR && server_offers_tls(m) == 0) {
        return sm_err_set(err, ROT_ERR_DB_TLS,
                          "the MySQL/MariaDB server at %s does not offer TLS, which the secret "
                          "requires (\"ssl\": true; user '%s'): [%u] %s",
                          c->where, c->user, e, text);
    }
    if (e == CR_SSL_CONNECTION_ERROR) {
        char advice[512];
        rot_db_tls_advice(tls_failure_kind(text), opts, login->host, advice, sizeof(advice));
        return sm_err_set(err, ROT_ERR_DB_TLS,
                          "TLS with the MySQL/MariaDB server at %s failed (user '%s'; %s; %s; "
                          "never retried without TLS): [%u] %s; %s",
                          c->where, c->user, tls_words(login->tls, attempt_tls),
                          opts->tls_verify == ROT_TLS_VERIFY_CA
                              ? "certificate chain verified, host name not checked"
                              : "certificate chain and host name verified",
                          e, text, advice);
    }
    if (is_unreachable_errno(e)) {
        return sm_err_set(err, ROT_ERR_DB_UNREACHABLE,
                          "cannot reach the MySQL/MariaDB server at %s: %s (user '%s'; %s; "
                          "connect timeout %u s): [%u] %s",
                          c->where, unreachable_reason(e, timed_out), c->user,
                          tls_words(login->tls, attempt_tls), timeout_s, e, text);
    }
    /* A missing client plugin: CR_AUTH_PLUGIN_CANNOT_LOAD, or (Connector/C 3.3, which has no
     * code of its own for it) 1045 with the library's "Plugin X could not be loaded: ..." text. */
    if (e == CR_AUTH_PLUGIN_CANNOT_LOAD ||
        (e == ER_ACCESS_DENIED_ERROR && (strstr(text, "could not be loaded") != NULL ||
                                         strstr(text, "cannot be loaded") != NULL))) {
        return sm_err_set(err, SM_ERR_CONFIG,
                          "logging in to %s as '%s' needs a client authentication plugin that "
                          "could not be loaded from %s (set SMROTATE_MYSQL_PLUGIN_DIR): [%u] %s",
                          c->where, c->user, s_my.plugin_dir, e, text);
    }
    if (is_login_errno(e)) {
        return sm_err_set(err, ROT_ERR_DB_LOGIN,
                          "the MySQL/MariaDB server at %s refused the login of user '%s' (%s): "
                          "[%u] %s",
                          c->where, c->user, tls_words(login->tls, attempt_tls), e, text);
    }
    if (e == CR_PLUGIN_NOT_ALLOWED) {
        return sm_err_set(err, ROT_ERR_UNSUPPORTED,
                          "the MySQL/MariaDB server at %s asked user '%s' for an authentication "
                          "method that is not allowed (allowed: " MY_AUTH_PLUGINS "): [%u] %s",
                          c->where, c->user, e, text);
    }
    if (e == CR_OUT_OF_MEMORY) {
        return sm_err_set(err, SM_ERR_NOMEM, "out of memory connecting to %s", c->where);
    }
    return sm_err_set(err, ROT_ERR_DB_QUERY,
                      "logging in to the MySQL/MariaDB server at %s as user '%s' failed (%s): "
                      "[%u] %s",
                      c->where, c->user, tls_words(login->tls, attempt_tls), e, text);
}

/* Sets err for a failed statement. secrets (NULL-terminated, or NULL) are the passwords the
 * statement carried, raw and escaped: the server's text is withheld when it is a syntax error
 * (which quotes the statement) or contains one of them. */
static int statement_error(const struct rot_conn *c, const char *what, const char *const *secrets,
                           struct sm_err *err) {
    unsigned int e = mysql_errno(c->mysql);
    char text[MYSQL_ERRMSG_SIZE + 1];
    const char *raw = mysql_error(c->mysql);
    bool withhold = secrets != NULL && e == ER_PARSE_ERROR;
    for (size_t i = 0; secrets != NULL && secrets[i] != NULL; i++) {
        withhold |= secrets[i][0] != '\0' && strstr(raw, secrets[i]) != NULL;
    }
    if (withhold) {
        snprintf(text, sizeof(text), "(server message withheld: it may quote a password)");
    } else {
        sm_str_one_line(raw, text, sizeof(text));
    }
    const struct sm_code *code = ROT_ERR_DB_QUERY;
    if (e == CR_SERVER_GONE_ERROR || e == CR_SERVER_LOST || e == CR_SERVER_LOST_EXTENDED ||
        e == CR_ERR_NET_READ || e == CR_ERR_NET_WRITE) {
        code = ROT_ERR_DB_UNREACHABLE;
    } else if (e == CR_OUT_OF_MEMORY) {
        code = SM_ERR_NOMEM;
    }
    return sm_err_set(err, code, "%s failed on the %s server at %s (user '%s'): [%u] %s", what,
                      rot_mysql_flavor_name(c->version.flavor), c->where, c->user, e, text);
}

/* ---------------------------------------------------------------------------------------------
 * Connecting
 */

/* Wipes the library's network buffer (it still holds the last statements sent). */
static void wipe_net(MYSQL *m) {
    if (m != NULL && m->net.buff != NULL && m->net.buff_end > m->net.buff) {
        sm_wipe(m->net.buff, (size_t)(m->net.buff_end - m->net.buff));
    }
}

static void close_mysql(MYSQL *m) {
    if (m == NULL) {
        return;
    }
    if (m->passwd != NULL) {
        sm_wipe_str(m->passwd);
    }
    wipe_net(m);
    /* Connector/C 3.3 never frees its copy of the MYSQL_SERVER_PUBLIC_KEY option (neither
     * mysql_close nor a failed connect, which drops the options unless CLIENT_REMEMBER_OPTIONS
     * keeps them): one leak per login attempt. Setting the option again frees it. */
    mysql_optionsv(m, MYSQL_SERVER_PUBLIC_KEY, NULL);
    mysql_close(m);
}

/* Sets the options of one attempt. 0 or -1 (SM_ERR_INTERNAL naming the option).
 *
 * TLS with Connector/C 3.3 (plugins/auth/my_auth.c send_client_reply_packet, ma_pvio.c
 * ma_pvio_start_ssl, secure/openssl.c ma_tls_connect), pinned by the integration tests:
 *   - A server that offers no TLS is refused before any credential is sent only when
 *     MYSQL_OPT_SSL_VERIFY_SERVER_CERT is on or a peer fingerprint option is set (a non-NULL
 *     pointer); MYSQL_OPT_SSL_ENFORCE alone carries on in plaintext.
 *   - With MYSQL_OPT_SSL_CA set, the chain is verified (SSL_get_verify_result) in every case.
 *   - VERIFY_SERVER_CERT also checks the host name (X509_check_host / X509_check_ip_asc).
 * So full verification is VERIFY_SERVER_CERT + SSL_CA; chain-only (SMROTATE_DB_TLS_VERIFY=ca)
 * is SSL_CA + an empty MARIADB_OPT_TLS_PEER_FP: set, so plaintext is still refused, and empty,
 * so no fingerprint is compared. After connecting, attempt() also checks the session is
 * encrypted. */
static int set_options(MYSQL *m, bool tls, const struct rot_connect_opts *opts,
                       unsigned int connect_s, unsigned int io_s, struct sm_err *err) {
    unsigned int tcp = MYSQL_PROTOCOL_TCP, no_infile = 0;
    my_bool off = 0, on = 1, tls_on = tls ? 1 : 0;
    bool chain_only = tls && opts->tls_verify == ROT_TLS_VERIFY_CA;
    my_bool verify_host = tls && !chain_only ? 1 : 0;
    const char *failed = NULL;

    if (mysql_optionsv(m, MYSQL_OPT_PROTOCOL, &tcp) != 0) {
        failed = "MYSQL_OPT_PROTOCOL";
    } else if (mysql_optionsv(m, MYSQL_OPT_CONNECT_TIMEOUT, &connect_s) != 0) {
        failed = "MYSQL_OPT_CONNECT_TIMEOUT";
    } else if (mysql_optionsv(m, MYSQL_OPT_READ_TIMEOUT, &io_s) != 0) {
        failed = "MYSQL_OPT_READ_TIMEOUT";
    } else if (mysql_optionsv(m, MYSQL_OPT_WRITE_TIMEOUT, &io_s) != 0) {
        failed = "MYSQL_OPT_WRITE_TIMEOUT";
    } else if (mysql_optionsv(m, MYSQL_SET_CHARSET_NAME, "utf8mb4") != 0) {
        failed = "MYSQL_SET_CHARSET_NAME";
    } else if (mysql_optionsv(m, MYSQL_OPT_LOCAL_INFILE, &no_infile) != 0) {
        failed = "MYSQL_OPT_LOCAL_INFILE";
    } else if (mysql_optionsv(m, MYSQL_OPT_RECONNECT, &off) != 0) {
        failed = "MYSQL_OPT_RECONNECT";
    } else if (mysql_optionsv(m, MYSQL_PLUGIN_DIR, s_my.plugin_dir) != 0) {
        failed = "MYSQL_PLUGIN_DIR";
    } else if (mysql_optionsv(m, MARIADB_OPT_RESTRICTED_AUTH, MY_AUTH_PLUGINS) != 0) {
        failed = "MARIADB_OPT_RESTRICTED_AUTH";
    } else if (mysql_optionsv(m, MYSQL_OPT_CAN_HANDLE_EXPIRED_PASSWORDS, &on) != 0) {
        failed = "MYSQL_OPT_CAN_HANDLE_EXPIRED_PASSWORDS";
    } else if (mysql_optionsv(m, MYSQL_OPT_CONNECT_ATTR_ADD, "program_name", "smrotate") != 0) {
        failed = "MYSQL_OPT_CONNECT_ATTR_ADD";
    } else if (s_my.server_public_key[0] != '\0' &&
               mysql_optionsv(m, MYSQL_SERVER_PUBLIC_KEY, s_my.server_public_key) != 0) {
        failed = "MYSQL_SERVER_PUBLIC_KEY";
    } else if (mysql_optionsv(m, MYSQL_OPT_SSL_ENFORCE, &tls_on) != 0) {
        failed = "MYSQL_OPT_SSL_ENFORCE";
    } else if (mysql_optionsv(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify_host) != 0) {
        failed = "MYSQL_OPT_SSL_VERIFY_SERVER_CERT";
    } else if (chain_only && mysql_optionsv(m, MARIADB_OPT_TLS_PEER_FP, "") != 0) {
        failed = "MARIADB_OPT_TLS_PEER_FP";
    } else if (tls && mysql_optionsv(m, MARIADB_OPT_TLS_VERSION, MY_TLS_VERSIONS) != 0) {
        failed = "MARIADB_OPT_TLS_VERSION";
    } else if (tls && mysql_optionsv(m, MYSQL_OPT_SSL_CA, opts->ca_file) != 0) {
        failed = "MYSQL_OPT_SSL_CA";
    }
    if (failed != NULL) {
        return sm_err_set(err, SM_ERR_INTERNAL, "the MySQL client refused option %s", failed);
    }
    return 0;
}

/* One login attempt, with TLS (verified) or without. On failure *no_tls_offered says whether it
 * failed only because the server does not offer TLS (Connector/C reads the server's capability
 * flags, and refuses, before sending any credential). */
static int attempt(struct rot_conn *c, const struct rot_login *login,
                   const struct rot_connect_opts *opts, int port, bool tls, bool *no_tls_offered,
                   struct sm_err *err) {
    int64_t remaining = sm_remaining_ms(c->deadline_ms);
    long connect_ms =
        opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms : MY_DEFAULT_CONNECT_TIMEOUT_MS;
    int64_t cap_s = remaining / 1000;
    unsigned int connect_s, io_s;
    const char *db = login->dbname != NULL && login->dbname[0] != '\0' ? login->dbname : NULL;
    MYSQL *m = NULL;

    *no_tls_offered = false;
    if (cap_s < 1) {
        return sm_err_set(err, SM_ERR_DEADLINE,
                          "less than 1 s left before the invocation deadline: not connecting to "
                          "the MySQL/MariaDB server at %s",
                          c->where);
    }
    if (tls && opts->ca_file == NULL) {
        char advice[300];
        rot_db_tls_advice(ROT_TLS_FAILURE_NO_CA, opts, login->host, advice, sizeof(advice));
        return sm_err_set(err, ROT_ERR_DB_TLS,
                          "not connecting to the MySQL/MariaDB server at %s with TLS: %s", c->where,
                          advice);
    }
    connect_s = (unsigned int)((connect_ms + 999) / 1000);
    if ((int64_t)connect_s > cap_s) {
        connect_s = (unsigned int)cap_s;
    }
    io_s = cap_s > MY_MAX_IO_TIMEOUT_S ? MY_MAX_IO_TIMEOUT_S : (unsigned int)cap_s;

    m = mysql_init(NULL);
    if (m == NULL) {
        return sm_err_set(err, SM_ERR_NOMEM, "out of memory creating a MySQL connection");
    }
    if (set_options(m, tls, opts, connect_s, io_s, err) != 0) {
        close_mysql(m);
        return -1;
    }
    int64_t started = sm_monotonic_ms();
    /* CLIENT_REMEMBER_OPTIONS: a failed connect keeps the options for close_mysql to free. */
    if (mysql_real_connect(m, login->host, login->username, login->password, db, (unsigned int)port,
                           NULL, CLIENT_REMEMBER_OPTIONS) == NULL) {
        /* Connector/C gives up after connect_s (whole seconds) at the earliest. */
        bool timed_out = sm_monotonic_ms() - started >= (int64_t)connect_s * 1000 - 250;
        *no_tls_offered =
            tls && mysql_errno(m) == CR_SSL_CONNECTION_ERROR && server_offers_tls(m) == 0;
        connect_error(m, c, login, tls, opts, connect_s, timed_out, err);
        close_mysql(m);
        return -1;
    }
    if (tls && mysql_get_ssl_cipher(m) == NULL) {
        close_mysql(m);
        return sm_err_set(err, ROT_ERR_DB_TLS,
                          "the connection to the MySQL/MariaDB server at %s (user '%s') is not "
                          "encrypted although TLS was required",
                          c->where, c->user);
    }
    c->mysql = m;
    c->tls = tls;
    return 0;
}

static void my_disconnect(struct rot_conn *conn) {
    if (conn == NULL) {
        return;
    }
    close_mysql(conn->mysql);
    sm_free(conn);
}

static int my_connect(const struct rot_login *login, const struct rot_connect_opts *opts,
                      struct rot_conn **out, struct sm_err *err) {
    struct rot_conn *c = NULL;
    struct rot_connect_opts defaults = {0};
    bool no_tls_offered = false;
    char host[256];
    int port;
    int rc = -1;

    *out = NULL;
    if (opts == NULL) {
        opts = &defaults;
    }
    if (!s_my.ready && my_setup(err) != 0) {
        return -1;
    }
    if (login == NULL || login->host == NULL || login->host[0] == '\0' || login->username == NULL ||
        login->username[0] == '\0' || login->password == NULL) {
        return sm_err_set(err, ROT_ERR_ROTATION,
                          "a MySQL/MariaDB login needs a host, a username and a password");
    }
    port = login->port > 0 ? login->port : MY_DEFAULT_PORT;
    if (port > 65535) {
        return sm_err_set(err, ROT_ERR_ROTATION, "port %d is out of range", port);
    }
    c = sm_calloc(1, sizeof(*c));
    if (c == NULL) {
        return sm_err_set(err, SM_ERR_NOMEM, "out of memory connecting to MySQL/MariaDB");
    }
    c->deadline_ms = opts->deadline_ms;
    sm_str_printable(login->host, host, sizeof(host));
    snprintf(c->where, sizeof(c->where), "%s:%d", host, port);
    sm_str_printable(login->username, c->user, sizeof(c->user));

    if (attempt(c, login, opts, port, login->tls != ROT_TLS_OFF, &no_tls_offered, err) != 0) {
        /* AUTO: plaintext only when the server does not offer TLS at all; every other TLS
         * failure is final. */
        if (login->tls != ROT_TLS_AUTO || !no_tls_offered) {
            goto out;
        }
        SM_WARN("the MySQL/MariaDB server at %s does not offer TLS; connecting without TLS "
                "(the secret has no \"ssl\": true)",
                c->where);
        if (attempt(c, login, opts, port, false, &no_tls_offered, err) != 0) {
            goto out;
        }
    }
    if (rot_mysql_version_parse(mysql_get_server_info(c->mysql), &c->version, err) != 0) {
        sm_err_prefix(err, "MySQL/MariaDB server at %s", c->where);
        goto out;
    }
    SM_DEBUG("logged in to %s %d.%d at %s as '%s' (%s)", rot_mysql_flavor_name(c->version.flavor),
             c->version.major, c->version.minor, c->where, c->user,
             c->tls ? mysql_get_ssl_cipher(c->mysql) : "no TLS");
    *out = c;
    c = NULL;
    rc = 0;
out:
    my_disconnect(c);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * Statements
 */

static int before_statement(const struct rot_conn *c, struct sm_err *err) {
    if (c == NULL || c->mysql == NULL) {
        return sm_err_set(err, SM_ERR_INTERNAL, "no MySQL/MariaDB connection");
    }
    if (sm_remaining_ms(c->deadline_ms) <= 0) {
        return sm_err_set(err, SM_ERR_DEADLINE,
                          "invocation deadline reached before a statement on %s", c->where);
    }
    return 0;
}

/* Runs a statement that returns no rows we need. secrets: see statement_error. The network
 * buffer is wiped afterwards when the statement carried a secret. */
static int run(struct rot_conn *c, const char *sql, const char *what, const char *const *secrets,
               struct sm_err *err) {
    int rc = -1;
    if (before_statement(c, err) != 0) {
        return -1;
    }
    if (mysql_real_query(c->mysql, sql, strlen(sql)) != 0) {
        statement_error(c, what, secrets, err);
        goto out;
    }
    MYSQL_RES *res = mysql_store_result(c->mysql);
    if (res != NULL) {
        mysql_free_result(res);
    } else if (mysql_field_count(c->mysql) != 0) {
        statement_error(c, what, secrets, err);
        goto out;
    }
    rc = 0;
out:
    if (secrets != NULL) {
        wipe_net(c->mysql);
    }
    return rc;
}

/* Rows of a query: ncols columns per row, each a NUL-terminated sm_malloc'd copy ("" for NULL). */
struct rows {
    char **cells; /* ncells slots, unused ones NULL */
    size_t ncells;
    size_t nrows;
    size_t ncols;
};

static void rows_clean_up(struct rows *r) {
    for (size_t i = 0; r->cells != NULL && i < r->ncells; i++) {
        sm_free(r->cells[i]);
    }
    sm_free(r->cells);
    memset(r, 0, sizeof(*r));
}

static const char *cell(const struct rows *r, size_t row, size_t col) {
    return r->cells[row * r->ncols + col];
}

/* Runs a query and copies its rows; the library's copy is wiped before it is freed (SHOW GRANTS
 * may carry a password hash). */
static int query(struct rot_conn *c, const char *sql, size_t ncols, const char *what,
                 struct rows *out, struct sm_err *err) {
    MYSQL_RES *res = NULL;
    MYSQL_ROW row;
    int rc = -1;
    memset(out, 0, sizeof(*out));
    if (before_statement(c, err) != 0) {
        return -1;
    }
    if (mysql_real_query(c->mysql, sql, strlen(sql)) != 0 ||
        (res = mysql_store_result(c->mysql)) == NULL) {
        statement_error(c, what, NULL, err);
        goto out;
    }
    if (mysql_num_fields(res) < ncols) {
        sm_err_set(err, ROT_ERR_DB_QUERY, "%s on %s returned %u columns, expected %zu", what,
                   c->where, mysql_num_fields(res), ncols);
        goto out;
    }
    size_t nrows = (size_t)mysql_num_rows(res);
    if (nrows > MY_RESULT_MAX_ROWS) {
        sm_err_set(err, SM_ERR_TOO_LARGE, "%s on %s returned %zu rows (limit %d)", what, c->where,
                   nrows, MY_RESULT_MAX_ROWS);
        goto out;
    }
    out->ncols = ncols;
    out->cells = sm_calloc(nrows * ncols + 1, sizeof(char *));
    if (out->cells == NULL) {
        sm_err_set(err, SM_ERR_NOMEM, "out of memory reading %s", what);
        goto out;
    }
    out->ncells = nrows * ncols + 1;
    while ((row = mysql_fetch_row(res)) != NULL) {
        unsigned long *lengths = mysql_fetch_lengths(res);
        for (size_t k = 0; k < ncols; k++) {
            char *copy = row[k] != NULL ? sm_strndup(row[k], lengths[k]) : sm_strdup("");
            if (row[k] != NULL) {
                sm_wipe(row[k], lengths[k]);
            }
            if (copy == NULL) {
                sm_err_set(err, SM_ERR_NOMEM, "out of memory reading %s", what);
                goto out;
            }
            out->cells[out->nrows * ncols + k] = copy;
        }
        out->nrows++;
    }
    rc = 0;
out:
    if (res != NULL) {
        /* Wipe whatever rows we did not reach. */
        mysql_data_seek(res, 0);
        while ((row = mysql_fetch_row(res)) != NULL) {
            unsigned long *lengths = mysql_fetch_lengths(res);
            for (unsigned int k = 0; k < mysql_num_fields(res); k++) {
                if (row[k] != NULL) {
                    sm_wipe(row[k], lengths[k]);
                }
            }
        }
        mysql_free_result(res);
    }
    if (rc != 0) {
        rows_clean_up(out);
    }
    return rc;
}

/* An escaped literal body of s (sm_malloc'd, wiped on free), or NULL with err set. */
static char *escape(struct rot_conn *c, const char *s, struct sm_err *err) {
    size_t len = strlen(s);
    char *out;
    if (len > (SIZE_MAX - 1) / 2) {
        sm_err_set(err, SM_ERR_TOO_LARGE, "string too long to escape");
        return NULL;
    }
    out = sm_malloc(2 * len + 1);
    if (out == NULL) {
        sm_err_set(err, SM_ERR_NOMEM, "out of memory escaping a string");
        return NULL;
    }
    if (mysql_real_escape_string(c->mysql, out, s, (unsigned long)len) == (unsigned long)-1) {
        sm_free(out);
        sm_err_set(err, ROT_ERR_ROTATION, "a string could not be escaped for the server");
        return NULL;
    }
    return out;
}

/* The username limit for this connection's server. */
static size_t conn_username_limit(const struct rot_conn *c) {
    return c->version.flavor == ROT_MYSQL_FLAVOR_MARIADB ? MY_MARIADB_USERNAME_LIMIT
                                                         : my_max_username_length("mysql");
}

/* Refuses an empty, non-UTF-8 or too long name before any SQL is sent. */
static int check_name(const struct rot_conn *c, const char *name, const char *role,
                      struct sm_err *err) {
    size_t chars = 0, limit = conn_username_limit(c);
    char shown[100];
    if (name == NULL || name[0] == '\0') {
        return sm_err_set(err, ROT_ERR_ROTATION, "the %s is empty", role);
    }
    sm_str_printable(name, shown, sizeof(shown));
    if (!sm_utf8_valid(name, &chars)) {
        return sm_err_set(err, ROT_ERR_ROTATION, "the %s '%s' is not valid UTF-8", role, shown);
    }
    if (chars > limit) {
        return sm_err_set(
            err, ROT_ERR_ROTATION, "the %s '%s' has %zu characters; %s allows at most %zu%s", role,
            shown, chars, rot_mysql_flavor_name(c->version.flavor), limit,
            c->version.flavor == ROT_MYSQL_FLAVOR_MARIADB ? "" : " (USERNAME_CHARACTER_LIMIT)");
    }
    return 0;
}

static int check_password(const char *password, struct sm_err *err) {
    if (password == NULL || password[0] == '\0') {
        return sm_err_set(err, ROT_ERR_ROTATION, "refusing to set an empty password");
    }
    if (!sm_utf8_valid(password, NULL)) {
        return sm_err_set(err, ROT_ERR_ROTATION, "the new password is not valid UTF-8");
    }
    return 0;
}

static int my_check(struct rot_conn *conn, struct sm_err *err) {
    return run(conn, "SELECT 1", "the test query (SELECT 1)", NULL, err);
}

static int my_set_own_password(struct rot_conn *conn, const char *username,
                               const char *current_password, const char *new_password,
                               struct sm_err *err) {
    struct sm_buf sql;
    char *esc = NULL, *current_esc = NULL;
    int rc = -1;
    sm_buf_init(&sql, ROT_MYSQL_STMT_MAX);
    if (before_statement(conn, err) != 0 || check_name(conn, username, "username", err) != 0 ||
        check_password(new_password, err) != 0) {
        goto out;
    }
    /* REPLACE '<current>' where the server has it (rot_mysql_has_replace_clause): accepted for
     * one's own account whether or not password_require_current asks for it. */
    if ((esc = escape(conn, new_password, err)) == NULL ||
        (current_password != NULL && rot_mysql_has_replace_clause(&conn->version) &&
         (current_esc = escape(conn, current_password, err)) == NULL)) {
        goto out;
    }
    const char *secrets[] = {new_password, esc, current_password, current_esc, NULL};
    if (current_esc == NULL) {
        secrets[2] = NULL; /* not sent */
    }
    if (rot_mysql_sql_set_own_password(&sql, &conn->version, esc, current_esc, err) != 0 ||
        run(conn, sql.data, "changing the password", secrets, err) != 0) {
        goto out;
    }
    rc = 0;
out:
    sm_buf_clean_up(&sql);
    sm_free(esc);
    sm_free(current_esc);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * Alternating users
 */

/* Parsed SHOW GRANTS of user@host (escaped bodies), checked to be that account's. */
struct grants {
    struct rot_mysql_grant *v;
    size_t n;
};

static void grants_clean_up(struct grants *g) {
    for (size_t i = 0; i < g->n; i++) {
        rot_mysql_grant_clean_up(&g->v[i]);
    }
    sm_free(g->v);
    memset(g, 0, sizeof(*g));
}

static int show_grants(struct rot_conn *c, const char *user, const char *host, const char *user_esc,
                       const char *host_esc, struct grants *out, struct sm_err *err) {
    struct sm_buf sql;
    struct rows rows = {0};
    int rc = -1;
    memset(out, 0, sizeof(*out));
    sm_buf_init(&sql, ROT_MYSQL_STMT_MAX);
    if (rot_mysql_sql_show_grants(&sql, user_esc, host_esc, err) != 0 ||
        query(c, sql.data, 1, "SHOW GRANTS", &rows, err) != 0) {
        goto out;
    }
    out->v = sm_calloc(rows.nrows + 1, sizeof(*out->v));
    if (out->v == NULL) {
        sm_err_set(err, SM_ERR_NOMEM, "out of memory reading grants");
        goto out;
    }
    for (size_t i = 0; i < rows.nrows; i++) {
        if (rot_mysql_grant_parse(cell(&rows, i, 0), &out->v[i], err) != 0) {
            goto out;
        }
        out->n++;
        if (!rot_mysql_grant_is_for(&out->v[i], user, host)) {
            char u[100], h[100];
            sm_str_printable(user, u, sizeof(u));
            sm_str_printable(host, h, sizeof(h));
            sm_err_set(err, ROT_ERR_DB_QUERY,
                       "SHOW GRANTS FOR '%s'@'%s' on %s returned a grant for another account", u, h,
                       c->where);
            goto out;
        }
    }
    rc = 0;
out:
    sm_buf_clean_up(&sql);
    rows_clean_up(&rows);
    if (rc != 0) {
        grants_clean_up(out);
    }
    return rc;
}

/* Copies MySQL 8 default roles of base@host to the alternate account. */
static int sync_default_roles(struct rot_conn *c, const char *base_esc, const char *alt_esc,
                              const char *host_esc, struct sm_err *err) {
    struct sm_buf sql;
    struct rows rows = {0};
    char **roles = NULL;
    size_t nslots = 0;
    int rc = -1;
    sm_buf_init(&sql, ROT_MYSQL_STMT_MAX);
    if (rot_mysql_sql_select_default_roles(&sql, base_esc, host_esc, err) != 0 ||
        query(c, sql.data, 2, "reading mysql.default_roles", &rows, err) != 0) {
        goto out;
    }
    roles = sm_calloc(2 * rows.nrows + 1, sizeof(char *));
    if (roles == NULL) {
        sm_err_set(err, SM_ERR_NOMEM, "out of memory copying default roles");
        goto out;
    }
    nslots = 2 * rows.nrows;
    for (size_t i = 0; i < nslots; i++) {
        roles[i] = escape(c, cell(&rows, i / 2, i % 2), err);
        if (roles[i] == NULL) {
            goto out;
        }
    }
    sm_buf_reset(&sql);
    if (rot_mysql_sql_set_default_roles(&sql, (const char *const *)roles, rows.nrows, alt_esc,
                                        host_esc, err) != 0 ||
        run(c, sql.data, "SET DEFAULT ROLE", NULL, err) != 0) {
        goto out;
    }
    rc = 0;
out:
    for (size_t i = 0; roles != NULL && i < nslots; i++) {
        sm_free(roles[i]);
    }
    sm_free(roles);
    sm_buf_clean_up(&sql);
    rows_clean_up(&rows);
    return rc;
}

/* What syncing the alternate user's accounts shares. */
struct sync {
    struct rot_conn *c;
    const struct rot_user_pair *users;
    const char *orig_esc, *clone_esc; /* escaped bodies */
    const char *pw, *pw_esc;          /* the target's new password, raw and escaped */
    bool target_is_clone;
};

/* A password no one knows, for a clone created while the original is the one being set: 28
 * random letters and digits, then one of each class a password policy (validate_password) may
 * ask for. *out is sm_malloc'd (wiped on free). */
static int unknown_password(char **out, struct sm_err *err) {
    static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char bytes[28];
    char *pw = sm_malloc(sizeof(bytes) + 5);
    if (pw == NULL) {
        return sm_err_set(err, SM_ERR_NOMEM, "out of memory creating the alternate user");
    }
    if (RAND_bytes(bytes, (int)sizeof(bytes)) != 1) {
        sm_free(pw);
        return sm_err_set(err, SM_ERR_INTERNAL, "no random bytes for the alternate user");
    }
    for (size_t i = 0; i < sizeof(bytes); i++) {
        pw[i] = alnum[bytes[i] % (sizeof(alnum) - 1)];
    }
    memcpy(pw + sizeof(bytes), "aZ7-", 5);
    sm_wipe(bytes, sizeof(bytes));
    *out = pw;
    return 0;
}

/* Whether two mysql.user rows (Host, plugin, ssl_type, ssl_cipher, x509_issuer, x509_subject)
 * have the same TLS requirement. */
static bool same_require(const struct rows *a, size_t ra, const struct rows *b, size_t rb) {
    for (size_t col = 2; col <= 5; col++) {
        if (strcmp(cell(a, ra, col), cell(b, rb, col)) != 0) {
            return false;
        }
    }
    return true;
}

/* Logs the one warning about a clone account that existed and is about to change: the
 * statements that take from it what the original lacks (names and privileges only), and a change
 * of its TLS requirement to the original's ssl_type. */
static void warn_corrections(const struct sync *s, const char *host,
                             const struct rot_mysql_stmts *plan, bool require_changes,
                             const char *ssl_type) {
    struct sm_buf list;
    struct sm_err ignored;
    char clone[100], orig[100], h[100], line[SM_ERR_MSG_MAX], require[256] = "";
    size_t n = plan->corrections_to - plan->corrections_from;
    sm_buf_init(&list, 1024);
    for (size_t i = plan->corrections_from; i < plan->corrections_to; i++) {
        if (sm_buf_appendf(&list, &ignored, "%s%s", i > plan->corrections_from ? "; " : "",
                           plan->items[i]) != 0) {
            break; /* the ceiling: the count still says how many */
        }
    }
    sm_str_one_line(list.data, line, sizeof(line));
    sm_str_printable(s->users->clone, clone, sizeof(clone));
    sm_str_printable(s->users->original, orig, sizeof(orig));
    sm_str_printable(host, h, sizeof(h));
    if (require_changes) {
        char type[40];
        sm_str_printable(ssl_type[0] != '\0' ? ssl_type : "NONE", type, sizeof(type));
        snprintf(require, sizeof(require), "%schanging its TLS requirement to %s's (%s)",
                 n > 0 ? "; and " : "", orig, type);
    }
    if (n > 0) {
        SM_WARN("alternating users: user '%s'@'%s' already exists; revoking %zu grant(s) it has "
                "that '%s'@'%s' lacks: %s%s",
                clone, h, n, orig, h, line, require);
    } else {
        SM_WARN("alternating users: user '%s'@'%s' already exists; %s", clone, h, require);
    }
    sm_buf_clean_up(&list);
}

/* Makes the clone's account at the original's host part `row` hold the original's password
 * plugin, TLS requirement and grants (creating it when clones has no row for that host:
 * clone_row < 0), then sets the target's password there. */
static int sync_account(const struct sync *s, const struct rows *origs, size_t row,
                        const struct rows *clones, long clone_row, struct sm_err *err) {
    struct rot_conn *c = s->c;
    const char *host = cell(origs, row, 0), *plugin_raw = cell(origs, row, 1);
    const char *plugin = rot_mysql_clone_plugin(&c->version, plugin_raw);
    char *host_esc = NULL, *cipher = NULL, *issuer = NULL, *subject = NULL;
    char *unknown = NULL, *unknown_esc = NULL;
    struct sm_buf sql, account;
    struct grants og = {0}, cg = {0};
    struct rot_mysql_stmts plan = {0};
    char what[256], h[64];
    bool exists = clone_row >= 0;
    bool require_changes = !exists || !same_require(origs, row, clones, (size_t)clone_row);
    const char *secrets[] = {s->pw, s->pw_esc, NULL};
    int rc = -1;

    sm_buf_init(&sql, ROT_MYSQL_STMT_MAX);
    sm_buf_init(&account, ROT_MYSQL_STMT_MAX);
    sm_str_printable(host, h, sizeof(h));
    host_esc = escape(c, host, err);
    if (host_esc == NULL) {
        goto out;
    }
    if (plugin == NULL && plugin_raw[0] != '\0' &&
        strcmp(plugin_raw, "mysql_native_password") != 0 &&
        strcmp(plugin_raw, "caching_sha2_password") != 0 &&
        strcmp(plugin_raw, "sha256_password") != 0 && strcmp(plugin_raw, "ed25519") != 0) {
        SM_WARN("account @'%s' uses authentication plugin '%.40s', which a clone can't be given "
                "by name; the alternate account gets the server's default password plugin",
                h, plugin_raw);
    }
    /* 1. A missing clone account: with the new password when it is the target, else with one no
     * one knows (the original is the target; the clone's turn comes next rotation). */
    if (!exists) {
        const char *create_esc = s->pw_esc;
        const char *created[] = {NULL, NULL, NULL};
        if (!s->target_is_clone) {
            if (unknown_password(&unknown, err) != 0 ||
                (unknown_esc = escape(c, unknown, err)) == NULL) {
                goto out;
            }
            create_esc = unknown_esc;
        }
        created[0] = s->target_is_clone ? s->pw : unknown;
        created[1] = create_esc;
        snprintf(what, sizeof(what), "creating the alternate account @'%s'", h);
        if (rot_mysql_sql_create_user(&sql, &c->version, s->clone_esc, host_esc, plugin, create_esc,
                                      err) != 0 ||
            run(c, sql.data, what, created, err) != 0) {
            goto out;
        }
    }
    /* 2. What the clone has beyond the original, announced before the first change. */
    if (show_grants(c, s->users->original, host, s->orig_esc, host_esc, &og, err) != 0 ||
        show_grants(c, s->users->clone, host, s->clone_esc, host_esc, &cg, err) != 0 ||
        rot_mysql_sql_account(&account, s->clone_esc, host_esc, err) != 0 ||
        rot_mysql_grant_plan(og.v, og.n, cg.v, cg.n, account.data, &plan, err) != 0) {
        goto out;
    }
    if (exists && (plan.corrections_to > plan.corrections_from || require_changes)) {
        warn_corrections(s, host, &plan, require_changes, cell(origs, row, 2));
    }
    /* 3. The TLS requirement. */
    if (require_changes) {
        cipher = escape(c, cell(origs, row, 3), err);
        issuer = cipher != NULL ? escape(c, cell(origs, row, 4), err) : NULL;
        subject = issuer != NULL ? escape(c, cell(origs, row, 5), err) : NULL;
        sm_buf_reset(&sql);
        if (subject == NULL ||
            rot_mysql_sql_require(&sql, &c->version, s->clone_esc, host_esc, cell(origs, row, 2),
                                  cipher, issuer, subject, err) != 0 ||
            run(c, sql.data, "copying the TLS requirement (REQUIRE)", NULL, err) != 0) {
            goto out;
        }
    }
    /* 4. Grants. */
    for (size_t i = 0; i < plan.n; i++) {
        /* Name the statement by its position only: grant text can be long. */
        snprintf(what, sizeof(what), "copying grants to @'%s' (statement %zu of %zu)", h, i + 1,
                 plan.n);
        if (run(c, plan.items[i], what, NULL, err) != 0) {
            goto out;
        }
    }
    /* 5. MySQL 8 default roles. */
    if (rot_mysql_has_default_roles_table(&c->version) &&
        sync_default_roles(c, s->orig_esc, s->clone_esc, host_esc, err) != 0) {
        goto out;
    }
    /* 6. The target's password (a clone just created as the target already has it). The
     * original keeps its own plugin; the clone gets the original's. */
    if (exists || !s->target_is_clone) {
        sm_buf_reset(&sql);
        snprintf(what, sizeof(what), "setting the password of the %s account @'%s'",
                 s->target_is_clone ? "alternate" : "user's", h);
        if (rot_mysql_sql_set_password_for(&sql, &c->version,
                                           s->target_is_clone ? s->clone_esc : s->orig_esc,
                                           host_esc, plugin, s->pw_esc, err) != 0 ||
            run(c, sql.data, what, secrets, err) != 0) {
            goto out;
        }
    }
    rc = 0;
out:
    sm_free(host_esc);
    sm_free(cipher);
    sm_free(issuer);
    sm_free(subject);
    sm_free(unknown);
    sm_free(unknown_esc);
    sm_buf_clean_up(&sql);
    sm_buf_clean_up(&account);
    grants_clean_up(&og);
    grants_clean_up(&cg);
    rot_mysql_stmts_clean_up(&plan);
    return rc;
}

/* Checks the pair of users: valid names, two different ones, the target one of them. */
static int check_users(const struct rot_conn *c, const struct rot_user_pair *users,
                       const char *password, struct sm_err *err) {
    if (users == NULL || check_name(c, users->original, "username", err) != 0 ||
        check_name(c, users->clone, "alternate username", err) != 0 ||
        check_password(password, err) != 0) {
        return -1;
    }
    if (strcmp(users->original, users->clone) == 0) {
        return sm_err_set(err, ROT_ERR_ROTATION, "the alternate user must differ from the user");
    }
    if (users->target == NULL ||
        (strcmp(users->target, users->original) != 0 && strcmp(users->target, users->clone) != 0)) {
        return sm_err_set(err, ROT_ERR_ROTATION,
                          "the user whose password is set must be the user or its alternate");
    }
    return 0;
}

static int my_sync_alternate_user(struct rot_conn *admin, const struct rot_user_pair *users,
                                  const char *password, struct sm_err *err) {
    char *orig_esc = NULL, *clone_esc = NULL, *pw_esc = NULL;
    struct sm_buf sql;
    struct rows origs = {0}, clones = {0};
    char shown[100], clone_shown[100];
    int rc = -1;

    sm_buf_init(&sql, ROT_MYSQL_STMT_MAX);
    if (before_statement(admin, err) != 0 || check_users(admin, users, password, err) != 0) {
        goto out;
    }
    orig_esc = escape(admin, users->original, err);
    clone_esc = orig_esc != NULL ? escape(admin, users->clone, err) : NULL;
    pw_esc = clone_esc != NULL ? escape(admin, password, err) : NULL;
    if (pw_esc == NULL) {
        goto out;
    }
    if (rot_mysql_sql_select_accounts(&sql, orig_esc, err) != 0 ||
        query(admin, sql.data, 6, "listing the user's accounts in mysql.user", &origs, err) != 0) {
        goto out;
    }
    sm_buf_reset(&sql);
    if (rot_mysql_sql_select_accounts(&sql, clone_esc, err) != 0 ||
        query(admin, sql.data, 6, "listing the alternate user's accounts in mysql.user", &clones,
              err) != 0) {
        goto out;
    }
    sm_str_printable(users->original, shown, sizeof(shown));
    sm_str_printable(users->clone, clone_shown, sizeof(clone_shown));
    if (origs.nrows == 0) {
        sm_err_set(err, ROT_ERR_ROTATION, "user '%s' has no account in mysql.user on %s", shown,
                   admin->where);
        goto out;
    }
    struct sync sync = {
        .c = admin,
        .users = users,
        .orig_esc = orig_esc,
        .clone_esc = clone_esc,
        .pw = password,
        .pw_esc = pw_esc,
        .target_is_clone = strcmp(users->target, users->clone) == 0,
    };
    for (size_t i = 0; i < origs.nrows; i++) {
        long clone_row = -1;
        for (size_t k = 0; k < clones.nrows; k++) {
            if (strcmp(cell(&clones, k, 0), cell(&origs, i, 0)) == 0) {
                clone_row = (long)k;
            }
        }
        if (sync_account(&sync, &origs, i, &clones, clone_row, err) != 0) {
            goto out;
        }
    }
    SM_INFO("synchronised %zu account(s) of '%s' to '%s' on %s", origs.nrows, shown, clone_shown,
            admin->where);
    rc = 0;
out:
    sm_free(orig_esc);
    sm_free(clone_esc);
    sm_free(pw_esc);
    sm_buf_clean_up(&sql);
    rows_clean_up(&origs);
    rows_clean_up(&clones);
    return rc;
}

const struct rot_engine rot_engine_mysql = {
    .name = "mysql",
    .display_name = "MySQL/MariaDB",
    .engine_values = s_engine_values,
    .default_port = MY_DEFAULT_PORT,
    .default_exclude_characters = "/@\"'\\",
    .init = my_init,
    .max_username_length = my_max_username_length,
    .username_limit_counts_characters = true,
    .connect = my_connect,
    .disconnect = my_disconnect,
    .check = my_check,
    .set_own_password = my_set_own_password,
    .sync_alternate_user = my_sync_alternate_user,
};
