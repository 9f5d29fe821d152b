#include "mysql_conn.h"

#include "clock.h"
#include "mem.h"
#include "mysql_sql.h"
#include "str.h"

#include <errmsg.h>
#include <mysqld_error.h>

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define MY_RESULT_MAX_ROWS 100000

/* Wipes the library's network buffer (the last packets sent and received). Accepts NULL. */
static void my_wipe_net(MYSQL *m) {
    if (m != NULL && m->net.buff != NULL && m->net.buff_end > m->net.buff) {
        sm_wipe(m->net.buff, (size_t)(m->net.buff_end - m->net.buff));
    }
}

void rot_mysql_close(MYSQL *m) {
    if (m == NULL) {
        return;
    }
    if (m->passwd != NULL) {
        sm_wipe_str(m->passwd);
    }
    my_wipe_net(m);
    /* Connector/C 3.3 never frees its copy of the MYSQL_SERVER_PUBLIC_KEY option (neither
     * mysql_close nor a failed connect, which drops the options unless CLIENT_REMEMBER_OPTIONS
     * keeps them): one leak per login attempt. Setting the option again frees it. */
    mysql_optionsv(m, MYSQL_SERVER_PUBLIC_KEY, NULL);
    mysql_close(m);
}

/* Sets err for a failed statement (see rot_mysql_run for secrets). */
static int my_statement_error(const struct rot_session *s, const char *what,
                              const char *const *secrets, struct sm_err *err) {
    unsigned int e = mysql_errno(s->mysql);
    char text[MYSQL_ERRMSG_SIZE + 1];
    const char *raw = mysql_error(s->mysql);
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
                      rot_mysql_flavor_name(s->version.flavor), s->where, s->user, e, text);
}

/* The deadline passed: no statement starts. */
static int my_before_statement(const struct rot_session *s, struct sm_err *err) {
    assert(s != NULL && s->mysql != NULL);
    if (sm_remaining_ms(s->deadline_ms) <= 0) {
        return sm_err_set(err, SM_ERR_DEADLINE,
                          "invocation deadline reached before a statement on %s", s->where);
    }
    return 0;
}

int rot_mysql_run(struct rot_session *s, const char *sql, const char *what,
                  const char *const *secrets, struct sm_err *err) {
    int rc = -1;
    if (my_before_statement(s, err) != 0) {
        return -1;
    }
    if (mysql_real_query(s->mysql, sql, strlen(sql)) != 0) {
        my_statement_error(s, what, secrets, err);
        goto out;
    }
    MYSQL_RES *res = mysql_store_result(s->mysql);
    if (res != NULL) {
        mysql_free_result(res);
    } else if (mysql_field_count(s->mysql) != 0) {
        my_statement_error(s, what, secrets, err);
        goto out;
    }
    rc = 0;
out:
    if (secrets != NULL) {
        my_wipe_net(s->mysql);
    }
    return rc;
}

void rot_mysql_rows_clean_up(struct rot_mysql_rows *r) {
    for (size_t i = 0; r->cells != NULL && i < r->ncells; i++) {
        sm_free(r->cells[i]);
    }
    sm_free(r->cells);
    memset(r, 0, sizeof(*r));
}

const char *rot_mysql_cell(const struct rot_mysql_rows *r, size_t row, size_t col) {
    assert(row < r->nrows && col < r->ncols);
    return r->cells[row * r->ncols + col];
}

/* Copies the rows of res into out (see rot_mysql_query), wiping the library's copy of each. */
static int my_copy_rows(MYSQL_RES *res, size_t ncols, const char *what, struct rot_mysql_rows *out,
                        struct sm_err *err) {
    size_t nrows = (size_t)mysql_num_rows(res);
    MYSQL_ROW row;
    if (nrows > MY_RESULT_MAX_ROWS) {
        return sm_err_set(err, SM_ERR_TOO_LARGE, "%s returned %zu rows (limit %d)", what, nrows,
                          MY_RESULT_MAX_ROWS);
    }
    out->ncols = ncols;
    out->cells = sm_calloc(nrows * ncols + 1, sizeof(char *));
    if (out->cells == NULL) {
        return sm_err_set(err, SM_ERR_NOMEM, "out of memory reading %s", what);
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
                return sm_err_set(err, SM_ERR_NOMEM, "out of memory reading %s", what);
            }
            out->cells[out->nrows * ncols + k] = copy;
        }
        out->nrows++;
    }
    return 0;
}

int rot_mysql_query(struct rot_session *s, const char *sql, size_t ncols, const char *what,
                    struct rot_mysql_rows *out, struct sm_err *err) {
    MYSQL_RES *res = NULL;
    MYSQL_ROW row;
    int rc = -1;
    memset(out, 0, sizeof(*out));
    if (my_before_statement(s, err) != 0) {
        return -1;
    }
    if (mysql_real_query(s->mysql, sql, strlen(sql)) != 0 ||
        (res = mysql_store_result(s->mysql)) == NULL) {
        my_statement_error(s, what, NULL, err);
        goto out;
    }
    if (mysql_num_fields(res) < ncols) {
        sm_err_set(err, ROT_ERR_DB_QUERY, "%s on %s returned %u columns, expected %zu", what,
                   s->where, mysql_num_fields(res), ncols);
        goto out;
    }
    if (my_copy_rows(res, ncols, what, out, err) != 0) {
        goto out;
    }
    rc = 0;
out:
    if (res != NULL) {
        /* Wipe whatever rows were not reached (SHOW GRANTS may carry a password hash). */
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
    my_wipe_net(s->mysql); /* the packets those rows came in */
    if (rc != 0) {
        rot_mysql_rows_clean_up(out);
    }
    return rc;
}

int rot_mysql_expire(struct rot_session *s, const char *user_esc, const char *const *hosts,
                     size_t n, long days, struct sm_err *err) {
    struct sm_buf sql;
    sm_buf_init(&sql, ROT_MYSQL_STMT_MAX);
    int rc = rot_mysql_sql_expire(&sql, user_esc, hosts, n, days, err) == 0
                 ? rot_mysql_run(s, sql.data, "setting the password's lifetime", NULL, err)
                 : -1;
    sm_buf_clean_up(&sql);
    return rc;
}

int rot_mysql_refuse_opts(const struct rot_session *s, const struct rot_password_opts *opts,
                          struct sm_err *err) {
    const char *server = rot_mysql_flavor_name(s->version.flavor);
    int major = s->version.major, minor = s->version.minor;
    if (opts->retain_current && !rot_mysql_has_secondary_passwords(&s->version)) {
        return sm_err_set(err, ROT_ERR_UNSUPPORTED,
                          "%s %d.%d at %s has no secondary passwords: mysql-dual-password needs "
                          "MySQL 8.0.14 or later or Aurora MySQL 3",
                          server, major, minor, s->where);
    }
    if (opts->lifetime_days > 0 && !rot_mysql_has_password_lifetime(&s->version)) {
        return sm_err_set(err, ROT_ERR_UNSUPPORTED,
                          "%s %d.%d at %s has no per-account password lifetime: "
                          "password-lifetime-days needs MySQL 5.7 or later, Aurora MySQL 2 or 3, "
                          "or MariaDB 10.4.3 or later",
                          server, major, minor, s->where);
    }
    return 0;
}

char *rot_mysql_escape(struct rot_session *s, const char *str, struct sm_err *err) {
    size_t len = strlen(str);
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
    if (mysql_real_escape_string(s->mysql, out, str, (unsigned long)len) == (unsigned long)-1) {
        sm_free(out);
        sm_err_set(err, ROT_ERR_ROTATION, "a string could not be escaped for the server");
        return NULL;
    }
    return out;
}
