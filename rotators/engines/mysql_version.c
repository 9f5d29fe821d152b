#include "mysql_version.h"

#include <ctype.h>
#include <string.h>

/* Reads a decimal number of at most 6 digits at *p; advances *p. -1 when there is none. */
static int my_read_number(const char **p) {
    const char *s = *p;
    int v = 0, digits = 0;
    while (isdigit((unsigned char)*s) && digits < 6) {
        v = v * 10 + (*s - '0');
        s++;
        digits++;
    }
    if (digits == 0 || isdigit((unsigned char)*s)) {
        return -1;
    }
    *p = s;
    return v;
}

int rot_mysql_version_parse(const char *s, struct rot_mysql_version *out, struct sm_err *err) {
    if (s == NULL) {
        return sm_err_set(err, ROT_ERR_DB_QUERY, "the server did not report a version");
    }
    const char *p = s;
    out->flavor = ROT_MYSQL_FLAVOR_MYSQL;
    if (strstr(s, "MariaDB") != NULL) {
        out->flavor = ROT_MYSQL_FLAVOR_MARIADB;
        /* MariaDB 10+ may prefix "5.5.5-" so that old replication clients accept it. */
        if (strncmp(p, "5.5.5-", 6) == 0 && isdigit((unsigned char)p[6])) {
            p += 6;
        }
    } else if (strstr(s, "mysql_aurora") != NULL) {
        out->flavor = ROT_MYSQL_FLAVOR_AURORA;
    }
    out->major = my_read_number(&p);
    if (out->major < 0 || *p != '.') {
        goto bad;
    }
    p++;
    out->minor = my_read_number(&p);
    if (out->minor < 0) {
        goto bad;
    }
    out->patch = -1;
    if (*p == '.' && isdigit((unsigned char)p[1])) {
        p++;
        out->patch = my_read_number(&p);
        if (out->patch < 0) {
            goto bad;
        }
    }
    return 0;
bad:
    return sm_err_set(err, ROT_ERR_DB_QUERY, "unrecognised server version string \"%.64s\"", s);
}

const char *rot_mysql_flavor_name(enum rot_mysql_flavor flavor) {
    switch (flavor) {
    case ROT_MYSQL_FLAVOR_MARIADB:
        return "MariaDB";
    case ROT_MYSQL_FLAVOR_AURORA:
        return "Aurora MySQL";
    case ROT_MYSQL_FLAVOR_MYSQL:
        break;
    }
    return "MySQL";
}

bool rot_mysql_version_at_least(const struct rot_mysql_version *v, int major, int minor,
                                int patch) {
    if (v->major != major) {
        return v->major > major;
    }
    if (v->minor != minor) {
        return v->minor > minor;
    }
    return (v->patch < 0 ? 0 : v->patch) >= patch;
}

bool rot_mysql_has_alter_user(const struct rot_mysql_version *v) {
    switch (v->flavor) {
    case ROT_MYSQL_FLAVOR_MARIADB:
        return rot_mysql_version_at_least(v, 10, 2, 0);
    case ROT_MYSQL_FLAVOR_AURORA:
        return rot_mysql_version_at_least(v, 5, 7, 0);
    case ROT_MYSQL_FLAVOR_MYSQL:
        break;
    }
    return rot_mysql_version_at_least(v, 5, 7, 6);
}

bool rot_mysql_has_default_roles_table(const struct rot_mysql_version *v) {
    return v->flavor != ROT_MYSQL_FLAVOR_MARIADB && v->major >= 8;
}

const char *rot_mysql_clone_plugin(const struct rot_mysql_version *v, const char *plugin) {
    static const char *const mysql_plugins[] = {"mysql_native_password", "caching_sha2_password",
                                                "sha256_password", NULL};
    static const char *const mariadb_plugins[] = {"mysql_native_password", "ed25519", NULL};
    const char *const *list = NULL;
    if (plugin == NULL) {
        return NULL;
    }
    if (v->flavor == ROT_MYSQL_FLAVOR_MARIADB) {
        if (rot_mysql_version_at_least(v, 10, 4, 0)) {
            list = mariadb_plugins;
        }
    } else if (rot_mysql_has_alter_user(v)) {
        list = mysql_plugins;
    }
    for (size_t i = 0; list != NULL && list[i] != NULL; i++) {
        if (strcmp(list[i], plugin) == 0) {
            return list[i];
        }
    }
    return NULL;
}

bool rot_mysql_has_replace_clause(const struct rot_mysql_version *v) {
    switch (v->flavor) {
    case ROT_MYSQL_FLAVOR_MARIADB:
        return false;
    case ROT_MYSQL_FLAVOR_AURORA:
        return v->major >= 8; /* the string has no MySQL patch level; 3.01 is 8.0.23 */
    case ROT_MYSQL_FLAVOR_MYSQL:
        break;
    }
    return rot_mysql_version_at_least(v, 8, 0, 13);
}

bool rot_mysql_has_password_lifetime(const struct rot_mysql_version *v) {
    if (v->flavor == ROT_MYSQL_FLAVOR_MARIADB) {
        return rot_mysql_version_at_least(v, 10, 4, 3);
    }
    return rot_mysql_has_alter_user(v);
}

bool rot_mysql_has_secondary_passwords(const struct rot_mysql_version *v) {
    switch (v->flavor) {
    case ROT_MYSQL_FLAVOR_MARIADB:
        return false;
    case ROT_MYSQL_FLAVOR_AURORA:
        return v->major >= 8; /* Aurora MySQL 3 is 8.0.23-compatible and later */
    case ROT_MYSQL_FLAVOR_MYSQL:
        break;
    }
    return rot_mysql_version_at_least(v, 8, 0, 14);
}
