/*
 * mysql_version: which MySQL a server is (MySQL, MariaDB or Aurora MySQL, and its version), read
 * from its version string, and what its SQL has as a consequence. Pure functions, private to the
 * MySQL engine; the statement builders (mysql_sql.h) choose their syntax by these predicates.
 */
#ifndef ROT_MYSQL_VERSION_H
#define ROT_MYSQL_VERSION_H

#include "errors.h"

#include <stdbool.h>

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

/* Whether an account's password can be given a lifetime of its own, in the statement that sets
 * it (PASSWORD EXPIRE INTERVAL N DAY; mysql.user.password_lifetime): MySQL >= 5.7.6 (where ALTER
 * USER takes IDENTIFIED BY too), Aurora MySQL 2 and 3, MariaDB >= 10.4.3 (a statement of its own
 * there: its ALTER USER may change an account's plugin, so its password is set by SET PASSWORD). */
bool rot_mysql_has_password_lifetime(const struct rot_mysql_version *v);

/* Whether an account can keep a secondary password (RETAIN CURRENT PASSWORD, DISCARD OLD
 * PASSWORD; WL#11540): MySQL >= 8.0.14, Aurora MySQL 3. Never MariaDB. */
bool rot_mysql_has_secondary_passwords(const struct rot_mysql_version *v);

#endif
