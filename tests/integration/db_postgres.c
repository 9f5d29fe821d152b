#include "db_postgres.h"

#include "db_server.h"

#include <stdarg.h>

static PGconn *raw_connect(const char *user, const char *password, const char *sslmode) {
    char port[16];
    snprintf(port, sizeof(port), "%d", db_server()->port);
    const char *k[] = {"host",    "port",       "dbname",          "user", "password",
                       "sslmode", "gssencmode", "connect_timeout", NULL};
    const char *v[] = {db_server()->host, port,      "postgres", user, password,
                       sslmode,           "disable", "30",       NULL};
    return PQconnectdbParams(k, v, 0);
}

PGconn *db_pg_admin(void) {
    static PGconn *admin;
    if (admin == NULL) {
        admin = raw_connect(db_server()->admin_user, db_server()->admin_password, "disable");
        if (PQstatus(admin) != CONNECTION_OK) {
            SM_FAIL("admin login failed: %s", PQerrorMessage(admin));
        }
    }
    return admin;
}

static PGresult *sqlp(const char *sql, int n, const char *const *params) {
    PGresult *r = PQexecParams(db_pg_admin(), sql, n, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
        SM_FAIL("statement failed: %s", PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY));
    }
    return r;
}

void db_pg_sqlf(const char *fmt, ...) {
    char sql[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof(sql), fmt, ap);
    va_end(ap);
    PQclear(sqlp(sql, 0, NULL));
}

void db_pg_value(const char *sql, const char *param, char *out, size_t cap) {
    const char *params[1] = {param};
    PGresult *r = sqlp(sql, param != NULL ? 1 : 0, params);
    snprintf(out, cap, "%s", PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "");
    PQclear(r);
}

static const char *escaped(const char *s, bool literal) {
    static char ring[4][512];
    static int next;
    char *q = literal ? PQescapeLiteral(db_pg_admin(), s, strlen(s))
                      : PQescapeIdentifier(db_pg_admin(), s, strlen(s));
    char *out = ring[next++ % 4];
    snprintf(out, sizeof(ring[0]), "%s", q);
    PQfreemem(q);
    return out;
}

const char *db_pg_ident(const char *name) {
    return escaped(name, false);
}

const char *db_pg_literal(const char *value) {
    return escaped(value, true);
}

bool db_pg_can_login(const char *user, const char *password) {
    PGconn *c = raw_connect(user, password, "prefer");
    bool ok = PQstatus(c) == CONNECTION_OK;
    PQfinish(c);
    return ok;
}

bool db_pg_is_member(const char *member, const char *group) {
    const char *params[2] = {member, group};
    PGresult *r = sqlp("SELECT 1 FROM pg_auth_members m JOIN pg_roles u ON u.oid = m.member "
                       "JOIN pg_roles g ON g.oid = m.roleid WHERE u.rolname = $1 AND "
                       "g.rolname = $2",
                       2, params);
    bool yes = PQntuples(r) > 0;
    PQclear(r);
    return yes;
}

char *db_pg_log(void) {
    return sm_test_read_file(db_env("LOG_FILE"), NULL);
}

const char *db_pg_log_line_with(char *text, const char *a, const char *b) {
    for (char *line = text; line != NULL && *line != '\0';) {
        char *nl = strchr(line, '\n');
        if (nl != NULL) {
            *nl = '\0';
        }
        if (strstr(line, a) != NULL && strstr(line, b) != NULL) {
            return line;
        }
        line = nl != NULL ? nl + 1 : NULL;
    }
    return NULL;
}

/* ---- the conformance suite's access ------------------------------------------------------- */

static void drop_user(const char *user) {
    char found[8];
    db_pg_value("SELECT 1 FROM pg_roles WHERE rolname = $1", user, found, sizeof(found));
    if (found[0] != '\0') {
        db_pg_sqlf("DROP OWNED BY %s CASCADE", db_pg_ident(user));
        db_pg_sqlf("DROP ROLE %s", db_pg_ident(user));
    }
}

static void create_user(const char *user, const char *password, bool tls_only) {
    drop_user(user);
    db_pg_sqlf("CREATE ROLE %s LOGIN PASSWORD %s", db_pg_ident(user), db_pg_literal(password));
    if (tls_only) {
        db_pg_sqlf("GRANT %s TO %s", db_pg_ident(db_env("TLS_ONLY_ROLE")), db_pg_ident(user));
    }
}

static void create_table(const char *table, const char *reader) {
    db_pg_sqlf("CREATE TABLE %s (x int)", db_pg_ident(table));
    db_pg_sqlf("INSERT INTO %s VALUES (42)", db_pg_ident(table));
    db_pg_sqlf("GRANT SELECT ON %s TO %s", db_pg_ident(table), db_pg_ident(reader));
}

static void drop_table(const char *table) {
    db_pg_sqlf("DROP TABLE IF EXISTS %s", db_pg_ident(table));
}

static bool can_read(const char *user, const char *password, const char *table) {
    char sql[256];
    PGconn *c = raw_connect(user, password, "prefer");
    bool ok = false;
    snprintf(sql, sizeof(sql), "SELECT x FROM %s", db_pg_ident(table));
    if (PQstatus(c) == CONNECTION_OK) {
        PGresult *r = PQexec(c, sql);
        ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
             strcmp(PQgetvalue(r, 0, 0), "42") == 0;
        PQclear(r);
    }
    PQfinish(c);
    return ok;
}

const struct db_admin db_postgres_admin = {
    .create_user = create_user,
    .drop_user = drop_user,
    .can_login = db_pg_can_login,
    .create_table = create_table,
    .drop_table = drop_table,
    .can_read = can_read,
    .tls_only_refusal = ROT_ERR_DB_TLS, /* pg_hba.conf: hostnossl ... reject */
};
