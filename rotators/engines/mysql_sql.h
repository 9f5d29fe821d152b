/*
 * mysql_sql: the MySQL / MariaDB / Aurora MySQL SQL dialect, as pure functions.
 *
 * Owns everything the MySQL engine decides from text alone, so it can be unit-tested without a
 * server: parsing the server version string into {flavor, major, minor, patch}, choosing and
 * building the password, account and TLS-requirement statements for that version, and parsing
 * `SHOW GRANTS` lines and planning the statements that make an alternate account's grants equal
 * to the base account's.
 *
 * Builders never escape: every user name, host name, password or TLS attribute they take is the
 * body of a string literal already escaped with the connection's mysql_real_escape_string (which
 * honours NO_BACKSLASH_ESCAPES); the builder adds the surrounding single quotes. Grant lines are
 * copied from the server's own SHOW GRANTS output, so their privilege and object text is valid
 * SQL for that same session. Statements are appended to a struct sm_buf, whose memory is wiped on
 * clean-up: a statement may hold a password.
 */
#ifndef ROT_MYSQL_SQL_H
#define ROT_MYSQL_SQL_H

#include "buf.h"
#include "errors.h"

#include <stdbool.h>
#include <stddef.h>

/* Ceiling for one statement built here (SHOW GRANTS lines of MySQL 8 global grants are long). */
#define ROT_MYSQL_STMT_MAX (256u * 1024u)

enum rot_mysql_flavor {
    ROT_MYSQL_FLAVOR_MYSQL,   /* Oracle MySQL and compatible forks (Percona) */
    ROT_MYSQL_FLAVOR_MARIADB, /* the version string says "MariaDB" */
    ROT_MYSQL_FLAVOR_AURORA,  /* Aurora MySQL: "<major>.<minor>.mysql_aurora.<aurora version>" */
};

struct rot_mysql_version {
    enum rot_mysql_flavor flavor;
    int major;
    int minor;
    int patch; /* -1 when the string carries none (Aurora) */
};

/* Parses a server version string as returned by mysql_get_server_info() or SELECT VERSION():
 * "8.0.35", "5.7.44-log", "8.4.3", "9.1.0", "10.11.6-MariaDB-0+deb12u1",
 * "5.5.5-10.6.12-MariaDB-log" (the replication prefix some MariaDB servers send is skipped),
 * "8.0.mysql_aurora.3.05.2", "5.7.mysql_aurora.2.11.2". The flavor is MariaDB when the string
 * contains "MariaDB", Aurora when it contains "mysql_aurora", else MySQL (so a future MySQL 10.x
 * stays MySQL). Returns 0, or -1 with ROT_ERR_DB_QUERY when s does not start with
 * "<major>.<minor>". */
int rot_mysql_version_parse(const char *s, struct rot_mysql_version *out, struct sm_err *err);

/* "MySQL", "MariaDB" or "Aurora MySQL". */
const char *rot_mysql_flavor_name(enum rot_mysql_flavor flavor);

/* Whether v is at least major.minor.patch (an unknown patch counts as 0). */
bool rot_mysql_version_at_least(const struct rot_mysql_version *v, int major, int minor, int patch);

/* Whether the server has ALTER USER ... IDENTIFIED BY / REQUIRE: MySQL >= 5.7.6, Aurora >= 5.7
 * (Aurora MySQL 2 is 5.7.12-compatible), MariaDB >= 10.2. */
bool rot_mysql_has_alter_user(const struct rot_mysql_version *v);

/* Whether the server keeps default roles in mysql.default_roles: MySQL/Aurora >= 8.0. (MariaDB
 * lists its default role in SHOW GRANTS instead.) */
bool rot_mysql_has_default_roles_table(const struct rot_mysql_version *v);

/* The account's password plugin if a clone may be created with it by name, else NULL. Allowed:
 * MySQL/Aurora >= 5.7.6: mysql_native_password, caching_sha2_password, sha256_password;
 * MariaDB >= 10.4: mysql_native_password, ed25519. Returns a static string. */
const char *rot_mysql_clone_plugin(const struct rot_mysql_version *v, const char *plugin);

/* Whether ALTER USER / SET PASSWORD take REPLACE '<current password>' (MySQL 8.0.13, WL#11544;
 * needed when password_require_current or PASSWORD REQUIRE CURRENT applies): MySQL >= 8.0.13,
 * Aurora MySQL 3 (8.0.23-compatible and later). Never MariaDB, whose grammar has no such clause. */
bool rot_mysql_has_replace_clause(const struct rot_mysql_version *v);

/* Appends the statement that changes the logged-in account's own password to pw, keeping the
 * account's authentication plugin:
 *   MySQL >= 5.7.6, 8.x, 9.x and later, Aurora 2/3:  ALTER USER CURRENT_USER() IDENTIFIED BY '<pw>'
 *       followed by REPLACE '<current>' when current is given and rot_mysql_has_replace_clause
 *   MySQL < 5.7.6, Aurora 1:                           SET PASSWORD = PASSWORD('<pw>')
 *   MariaDB (all versions):                            SET PASSWORD = PASSWORD('<pw>')
 * (MySQL's ALTER USER without IDENTIFIED WITH keeps the plugin, sql_user.cc
 * set_and_validate_user_attributes; MariaDB's ALTER USER needs the CREATE USER privilege even for
 * oneself, and its SET PASSWORD keeps the plugin, e.g. ed25519.) pw and current (may be NULL) are
 * escaped literal bodies. Returns 0 or -1 (SM_ERR_NOMEM / SM_ERR_TOO_LARGE). */
int rot_mysql_sql_set_own_password(struct sm_buf *out, const struct rot_mysql_version *v,
                                   const char *pw, const char *current, struct sm_err *err);

/* Appends "'<user>'@'<host>'". */
int rot_mysql_sql_account(struct sm_buf *out, const char *user, const char *host,
                          struct sm_err *err);

/* Appends the CREATE USER for a new alternate account with password pw. plugin is the value of
 * rot_mysql_clone_plugin() or NULL (server default):
 *   MySQL >= 5.7.6:  CREATE USER 'u'@'h' IDENTIFIED [WITH <plugin>] BY '<pw>'
 *   MariaDB >= 10.4: CREATE USER 'u'@'h' IDENTIFIED VIA <plugin> USING PASSWORD('<pw>')
 *                    (without plugin: IDENTIFIED BY '<pw>')
 *   older:           CREATE USER 'u'@'h' IDENTIFIED BY '<pw>' */
int rot_mysql_sql_create_user(struct sm_buf *out, const struct rot_mysql_version *v,
                              const char *user, const char *host, const char *plugin,
                              const char *pw, struct sm_err *err);

/* Appends the statement that sets an existing account's password (as an administrator):
 *   MySQL >= 5.7.6:  ALTER USER 'u'@'h' IDENTIFIED [WITH <plugin>] BY '<pw>'
 *   MariaDB >= 10.4 with plugin: ALTER USER 'u'@'h' IDENTIFIED VIA <plugin> USING PASSWORD('<pw>')
 *   otherwise:       SET PASSWORD FOR 'u'@'h' = PASSWORD('<pw>') */
int rot_mysql_sql_set_password_for(struct sm_buf *out, const struct rot_mysql_version *v,
                                   const char *user, const char *host, const char *plugin,
                                   const char *pw, struct sm_err *err);

/* Appends the statement that gives account u@h the TLS requirement read from mysql.user
 * (ssl_type '' / ANY / X509 / SPECIFIED, and the escaped cipher, issuer, subject bodies):
 *   ALTER USER 'u'@'h' REQUIRE {NONE | SSL | X509 | CIPHER 'c' AND ISSUER 'i' AND SUBJECT 's'}
 * (only the non-empty parts of a SPECIFIED requirement), or on servers without ALTER USER
 *   GRANT USAGE ON *.* TO 'u'@'h' REQUIRE ...
 * Returns -1 with ROT_ERR_DB_QUERY for an unknown ssl_type. */
int rot_mysql_sql_require(struct sm_buf *out, const struct rot_mysql_version *v, const char *user,
                          const char *host, const char *ssl_type, const char *cipher,
                          const char *issuer, const char *subject, struct sm_err *err);

/* Appends the query listing every account of user: Host, plugin and its TLS requirement. */
int rot_mysql_sql_select_accounts(struct sm_buf *out, const char *user, struct sm_err *err);

/* Appends "SHOW GRANTS FOR 'u'@'h'". */
int rot_mysql_sql_show_grants(struct sm_buf *out, const char *user, const char *host,
                              struct sm_err *err);

/* Appends the query of u@h's default roles in mysql.default_roles (MySQL 8). */
int rot_mysql_sql_select_default_roles(struct sm_buf *out, const char *user, const char *host,
                                       struct sm_err *err);

/* Appends "SET DEFAULT ROLE {NONE | 'r1'@'h1', ...} TO 'u'@'h'" (MySQL 8); roles holds n pairs
 * of escaped bodies: roles[2i] the role's user, roles[2i+1] its host. */
int rot_mysql_sql_set_default_roles(struct sm_buf *out, const char *const *roles, size_t n,
                                    const char *user, const char *host, struct sm_err *err);

/* One line of SHOW GRANTS output, parsed. */
enum rot_mysql_grant_kind {
    ROT_MYSQL_GRANT_PRIV,           /* GRANT <privileges> ON <object> TO <grantee> [...] */
    ROT_MYSQL_GRANT_ROLE,           /* GRANT <roles> TO <grantee> [WITH ADMIN OPTION] */
    ROT_MYSQL_GRANT_PARTIAL_REVOKE, /* REVOKE <privileges> ON <object> FROM <grantee> (MySQL 8) */
    ROT_MYSQL_GRANT_DEFAULT_ROLE,   /* SET DEFAULT ROLE <role> FOR <grantee> (MariaDB) */
};

struct rot_mysql_grant {
    enum rot_mysql_grant_kind kind;
    char *what;         /* privilege or role list, verbatim from the line */
    char *object;       /* the ON target verbatim ("*.*", "`db`.*", "PROCEDURE `d`.`p`"), or NULL */
    char *grantee_user; /* the grantee as quoted in the line (`u`, 'u' or "u") */
    char *grantee_host; /* likewise, or NULL when the line has no @host */
    bool grant_option;  /* WITH GRANT OPTION */
    bool admin_option;  /* WITH ADMIN OPTION */
};

/* Parses one SHOW GRANTS line. Everything after the grantee except GRANT OPTION and ADMIN OPTION
 * is dropped: IDENTIFIED BY PASSWORD '<hash>' / IDENTIFIED VIA ..., REQUIRE ... (copied from
 * mysql.user instead) and WITH MAX_... resource limits. On success *out owns its strings (free
 * with rot_mysql_grant_clean_up). Returns -1 with ROT_ERR_DB_QUERY for a line it does not
 * understand (the message quotes at most the statement's first words, never a password hash). */
int rot_mysql_grant_parse(const char *line, struct rot_mysql_grant *out, struct sm_err *err);

/* Frees (wiping) the strings of g. Accepts a zeroed struct. */
void rot_mysql_grant_clean_up(struct rot_mysql_grant *g);

/* Whether g's grantee is the account user@host (raw, unescaped names). Quoted names are decoded
 * with doubled quotes and, for '...' and "...", also with backslash escapes, either of which may
 * match. */
bool rot_mysql_grant_is_for(const struct rot_mysql_grant *g, const char *user, const char *host);

/* A list of statements (each sm_malloc'd; clean-up wipes). */
struct rot_mysql_stmts {
    char **items;
    size_t n;
    size_t cap;
    /* Set by rot_mysql_grant_plan: items[corrections_from, corrections_to) take from the account
     * what the base lacks (the only statements that narrow an existing account). */
    size_t corrections_from, corrections_to;
};

/* Frees every statement and the list. Accepts a zeroed struct. */
void rot_mysql_stmts_clean_up(struct rot_mysql_stmts *s);

/* Plans the statements that make account (an "'u'@'h'" literal from rot_mysql_sql_account) hold
 * exactly the base account's grants, given the parsed SHOW GRANTS of both (alt may be empty for a
 * new account). Order: base privilege grants (with WITH GRANT OPTION), base role grants (with
 * WITH ADMIN OPTION); then the corrections: revocations of what the alternate holds and the base
 * does not (privileges down to single columns, roles, partial revokes, MariaDB's default role,
 * GRANT OPTION: per dynamic privilege by revoking and granting it again without, per object for
 * static privileges, last), so nothing the base holds is ever missing in between but a dynamic
 * privilege whose grant option goes; then the base's partial revokes and MariaDB default role.
 * When the alternate holds ALL PRIVILEGES on an object where the base holds fewer, ALL is revoked
 * and the base's grants on it re-applied. Not narrowed: WITH ADMIN OPTION on a role both hold.
 * Appends to out and sets its corrections range. Returns 0 or -1 (SM_ERR_NOMEM, SM_ERR_TOO_LARGE,
 * ROT_ERR_DB_QUERY for a list it cannot split). */
int rot_mysql_grant_plan(const struct rot_mysql_grant *base, size_t nbase,
                         const struct rot_mysql_grant *alt, size_t nalt, const char *account,
                         struct rot_mysql_stmts *out, struct sm_err *err);

#endif
