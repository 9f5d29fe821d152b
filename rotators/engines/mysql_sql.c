#include "mysql_sql.h"

#include <assert.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>

int rot_mysql_append(struct sm_buf *out, struct sm_err *err, const char *first, ...) {
    va_list ap;
    int rc = 0;
    va_start(ap, first);
    for (const char *s = first; s != NULL; s = va_arg(ap, const char *)) {
        if (sm_buf_append_str(out, s, err) != 0) {
            rc = -1;
            break;
        }
    }
    va_end(ap);
    return rc;
}

/* Appends " PASSWORD EXPIRE INTERVAL <days> DAY" for a lifetime, nothing without one. */
static int my_append_lifetime(struct sm_buf *out, long days, struct sm_err *err) {
    return days > 0 ? sm_buf_appendf(out, err, " PASSWORD EXPIRE INTERVAL %ld DAY", days) : 0;
}

int rot_mysql_sql_set_own_password(struct sm_buf *out, const struct rot_mysql_version *v,
                                   const char *pw, const char *current,
                                   const struct rot_password_opts *opts, struct sm_err *err) {
    if (v->flavor == ROT_MYSQL_FLAVOR_MARIADB || !rot_mysql_has_alter_user(v)) {
        return rot_mysql_append(out, err, "SET PASSWORD = PASSWORD('", pw, "')", NULL);
    }
    if (rot_mysql_append(out, err, "ALTER USER CURRENT_USER() IDENTIFIED BY '", pw, "'", NULL) !=
            0 ||
        (current != NULL && rot_mysql_has_replace_clause(v) &&
         rot_mysql_append(out, err, " REPLACE '", current, "'", NULL) != 0) ||
        (opts->retain_current && rot_mysql_has_secondary_passwords(v) &&
         rot_mysql_append(out, err, " RETAIN CURRENT PASSWORD", NULL) != 0)) {
        return -1;
    }
    return my_append_lifetime(out, opts->lifetime_days, err);
}

int rot_mysql_sql_expire(struct sm_buf *out, const char *user, const char *const *hosts, size_t n,
                         long days, struct sm_err *err) {
    if (rot_mysql_append(out, err, "ALTER USER ", user == NULL ? "CURRENT_USER()" : "", NULL) !=
        0) {
        return -1;
    }
    for (size_t i = 0; user != NULL && i < n; i++) {
        if ((i > 0 && rot_mysql_append(out, err, ", ", NULL) != 0) ||
            rot_mysql_sql_account(out, user, hosts[i], err) != 0) {
            return -1;
        }
    }
    return my_append_lifetime(out, days, err);
}

int rot_mysql_sql_set_password(struct sm_buf *out, const struct rot_mysql_version *v,
                               const char *user, const char *const *hosts, size_t n, const char *pw,
                               const struct rot_password_opts *opts, struct sm_err *err) {
    bool discard = rot_mysql_has_secondary_passwords(v);
    if (rot_mysql_append(out, err, "ALTER USER ", NULL) != 0) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if ((i > 0 && rot_mysql_append(out, err, ", ", NULL) != 0) ||
            (discard && (rot_mysql_sql_account(out, user, hosts[i], err) != 0 ||
                         rot_mysql_append(out, err, " DISCARD OLD PASSWORD, ", NULL) != 0)) ||
            rot_mysql_sql_account(out, user, hosts[i], err) != 0 ||
            rot_mysql_append(out, err, " IDENTIFIED BY '", pw, "'", NULL) != 0) {
            return -1;
        }
    }
    return my_append_lifetime(out, opts->lifetime_days, err);
}

bool rot_mysql_one_password_stmt(const struct rot_mysql_version *v) {
    return v->flavor != ROT_MYSQL_FLAVOR_MARIADB && rot_mysql_has_alter_user(v);
}

int rot_mysql_sql_password_stmt(struct sm_buf *out, const struct rot_mysql_version *v,
                                const char *user, const char *const *hosts, size_t n, size_t i,
                                const char *pw, const struct rot_password_opts *opts,
                                struct sm_err *err) {
    assert(i < (rot_mysql_one_password_stmt(v) ? 1 : n));
    return rot_mysql_one_password_stmt(v)
               ? rot_mysql_sql_set_password(out, v, user, hosts, n, pw, opts, err)
               : rot_mysql_sql_set_password_for(out, v, user, hosts[i], NULL, pw, err);
}

int rot_mysql_sql_account(struct sm_buf *out, const char *user, const char *host,
                          struct sm_err *err) {
    return rot_mysql_append(out, err, "'", user, "'@'", host, "'", NULL);
}

int rot_mysql_sql_create_user(struct sm_buf *out, const struct rot_mysql_version *v,
                              const char *user, const char *host, const char *plugin,
                              const char *pw, struct sm_err *err) {
    if (rot_mysql_append(out, err, "CREATE USER ", NULL) != 0 ||
        rot_mysql_sql_account(out, user, host, err) != 0) {
        return -1;
    }
    if (plugin != NULL && v->flavor == ROT_MYSQL_FLAVOR_MARIADB) {
        return rot_mysql_append(out, err, " IDENTIFIED VIA ", plugin, " USING PASSWORD('", pw, "')",
                                NULL);
    }
    if (plugin != NULL) {
        return rot_mysql_append(out, err, " IDENTIFIED WITH ", plugin, " BY '", pw, "'", NULL);
    }
    return rot_mysql_append(out, err, " IDENTIFIED BY '", pw, "'", NULL);
}

int rot_mysql_sql_set_password_for(struct sm_buf *out, const struct rot_mysql_version *v,
                                   const char *user, const char *host, const char *plugin,
                                   const char *pw, struct sm_err *err) {
    bool alter =
        v->flavor == ROT_MYSQL_FLAVOR_MARIADB ? plugin != NULL : rot_mysql_has_alter_user(v);
    if (!alter) {
        if (rot_mysql_append(out, err, "SET PASSWORD FOR ", NULL) != 0 ||
            rot_mysql_sql_account(out, user, host, err) != 0) {
            return -1;
        }
        return rot_mysql_append(out, err, " = PASSWORD('", pw, "')", NULL);
    }
    if (rot_mysql_append(out, err, "ALTER USER ", NULL) != 0 ||
        rot_mysql_sql_account(out, user, host, err) != 0) {
        return -1;
    }
    if (v->flavor == ROT_MYSQL_FLAVOR_MARIADB) {
        return rot_mysql_append(out, err, " IDENTIFIED VIA ", plugin, " USING PASSWORD('", pw, "')",
                                NULL);
    }
    if (plugin != NULL) {
        return rot_mysql_append(out, err, " IDENTIFIED WITH ", plugin, " BY '", pw, "'", NULL);
    }
    return rot_mysql_append(out, err, " IDENTIFIED BY '", pw, "'", NULL);
}

int rot_mysql_sql_require(struct sm_buf *out, const struct rot_mysql_version *v, const char *user,
                          const char *host, const char *ssl_type, const char *cipher,
                          const char *issuer, const char *subject, struct sm_err *err) {
    const char *kind = NULL;
    if (ssl_type == NULL || ssl_type[0] == '\0' || strcasecmp(ssl_type, "NONE") == 0) {
        kind = "NONE";
    } else if (strcasecmp(ssl_type, "ANY") == 0) {
        kind = "SSL";
    } else if (strcasecmp(ssl_type, "X509") == 0) {
        kind = "X509";
    } else if (strcasecmp(ssl_type, "SPECIFIED") != 0) {
        return sm_err_set(err, ROT_ERR_DB_QUERY, "unknown ssl_type \"%.32s\" in mysql.user",
                          ssl_type);
    }
    int rc = rot_mysql_has_alter_user(v)
                 ? rot_mysql_append(out, err, "ALTER USER ", NULL)
                 : rot_mysql_append(out, err, "GRANT USAGE ON *.* TO ", NULL);
    if (rc != 0 || rot_mysql_sql_account(out, user, host, err) != 0 ||
        rot_mysql_append(out, err, " REQUIRE", NULL) != 0) {
        return -1;
    }
    if (kind != NULL) {
        return rot_mysql_append(out, err, " ", kind, NULL);
    }
    const char *names[3] = {"CIPHER", "ISSUER", "SUBJECT"};
    const char *values[3] = {cipher, issuer, subject};
    bool any = false;
    for (int i = 0; i < 3; i++) {
        if (values[i] == NULL || values[i][0] == '\0') {
            continue;
        }
        if (rot_mysql_append(out, err, any ? " AND " : " ", names[i], " '", values[i], "'", NULL) !=
            0) {
            return -1;
        }
        any = true;
    }
    /* SPECIFIED with every part empty is what REQUIRE SSL means. */
    return any ? 0 : rot_mysql_append(out, err, " SSL", NULL);
}

int rot_mysql_sql_select_accounts(struct sm_buf *out, const char *user, struct sm_err *err) {
    return rot_mysql_append(out, err,
                            "SELECT Host, plugin, ssl_type, ssl_cipher, x509_issuer, x509_subject "
                            "FROM mysql.user WHERE User = '",
                            user, "' ORDER BY Host", NULL);
}

int rot_mysql_sql_show_grants(struct sm_buf *out, const char *user, const char *host,
                              struct sm_err *err) {
    if (rot_mysql_append(out, err, "SHOW GRANTS FOR ", NULL) != 0) {
        return -1;
    }
    return rot_mysql_sql_account(out, user, host, err);
}

int rot_mysql_sql_select_default_roles(struct sm_buf *out, const char *user, const char *host,
                                       struct sm_err *err) {
    return rot_mysql_append(out, err,
                            "SELECT DEFAULT_ROLE_USER, DEFAULT_ROLE_HOST FROM mysql.default_roles "
                            "WHERE USER = '",
                            user, "' AND HOST = '", host,
                            "' ORDER BY DEFAULT_ROLE_USER, DEFAULT_ROLE_HOST", NULL);
}

int rot_mysql_sql_set_default_roles(struct sm_buf *out, const char *const *roles, size_t n,
                                    const char *user, const char *host, struct sm_err *err) {
    if (rot_mysql_append(out, err, "SET DEFAULT ROLE ", NULL) != 0) {
        return -1;
    }
    if (n == 0 && rot_mysql_append(out, err, "NONE", NULL) != 0) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if ((i > 0 && rot_mysql_append(out, err, ", ", NULL) != 0) ||
            rot_mysql_sql_account(out, roles[2 * i], roles[2 * i + 1], err) != 0) {
            return -1;
        }
    }
    if (rot_mysql_append(out, err, " TO ", NULL) != 0) {
        return -1;
    }
    return rot_mysql_sql_account(out, user, host, err);
}
