"""Database helpers for end-to-end tests: the fixture servers' settings and logins through the
real command-line clients (psql, mariadb, and MySQL's own mysql inside the MySQL fixture's root),
so assertions do not depend on our C code. SERVERS maps the short names tests use (pg, mariadb,
mysql) to the classes.

Credentials travel in environment variables (PGPASSWORD, MYSQL_PWD), never in argv or output.

literal() escapes for the session settings the admin sessions set themselves (PostgreSQL:
standard_conforming_strings=on; MariaDB: an explicit sql_mode without NO_BACKSLASH_ESCAPES), so it
does not depend on server-wide settings a test may change for a moment (test_engine_mysql.c's
mysql_set_own_password_under_no_backslash_escapes sets the global sql_mode).
"""
import copy
import os
import re
import subprocess


def fixture_env(engine):
    """KEY=value settings the fixture's start script wrote (tests/scripts/<engine>.sh)."""
    state = os.environ.get("SMR_STATE_DIR")
    if not state:
        raise RuntimeError("SMR_STATE_DIR is not set: run through ctest")
    path = os.path.join(state, engine, engine + ".env")
    settings = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                k, v = line.split("=", 1)
                settings[k] = v
    return settings


class Server:
    """What every fixture server offers: port, port_notls (the plain instance)."""

    def without_tls(self):
        """The same helpers on the fixture's plain instance (a server of its own)."""
        plain = copy.copy(self)
        plain.port = self.port_notls
        return plain


class Postgres(Server):
    def __init__(self):
        self.env = fixture_env("postgres")
        self.host = self.env["PG_HOST"]
        self.port = int(self.env["PG_PORT"])
        self.port_notls = int(self.env["PG_PORT_NOTLS"])
        self.ca_file = self.env["PG_CA_FILE"]
        self.admin_user = self.env["PG_ADMIN_USER"]
        self.admin_password = self.env["PG_ADMIN_PASSWORD"]
        self.version = self.env.get("PG_VERSION")
        bindir = self.env.get("PG_BINDIR")
        self.psql = os.path.join(bindir, "psql") if bindir else "psql"

    def _run(self, user, password, sql, dbname="postgres", port=None, sslmode="prefer"):
        env = dict(os.environ)
        env.update({"PGHOST": self.host, "PGPORT": str(port or self.port), "PGUSER": user,
                    "PGPASSWORD": password, "PGDATABASE": dbname, "PGSSLMODE": sslmode,
                    "PGCONNECT_TIMEOUT": "5", "PGAPPNAME": "smrotate-test",
                    # literal() doubles quotes only: right when backslashes are ordinary.
                    "PGOPTIONS": "-c standard_conforming_strings=on"})
        if sslmode.startswith("verify"):
            env["PGSSLROOTCERT"] = self.ca_file
        return subprocess.run([self.psql, "-X", "-v", "ON_ERROR_STOP=1", "-tA", "-c", sql],
                              env=env, capture_output=True, text=True, timeout=30)

    def admin(self, sql, dbname="postgres"):
        r = self._run(self.admin_user, self.admin_password, sql, dbname)
        if r.returncode != 0:
            raise RuntimeError("admin SQL failed: %s" % r.stderr.strip())
        return r.stdout.strip()

    def can_login(self, user, password, dbname="postgres", sslmode="prefer"):
        return self._run(user, password, "SELECT 1", dbname, sslmode=sslmode).returncode == 0

    def query_as(self, user, password, sql, dbname="postgres"):
        r = self._run(user, password, sql, dbname)
        if r.returncode != 0:
            raise RuntimeError("SQL as %s failed: %s" % (user, r.stderr.strip()))
        return r.stdout.strip()

    @staticmethod
    def ident(name):
        return '"' + name.replace('"', '""') + '"'

    @staticmethod
    def literal(value):
        return "'" + value.replace("'", "''") + "'"

    def create_user(self, name, password, superuser=False):
        self.admin("DROP ROLE IF EXISTS %s" % self.ident(name))
        self.admin("CREATE ROLE %s WITH LOGIN %s PASSWORD %s" % (
            self.ident(name), "SUPERUSER" if superuser else "", self.literal(password)))

    def drop_user(self, name):
        self.admin("DROP OWNED BY %s CASCADE" % self.ident(name)) if self.role_exists(name) else None
        self.admin("DROP ROLE IF EXISTS %s" % self.ident(name))

    def role_exists(self, name):
        return self.admin("SELECT count(*) FROM pg_roles WHERE rolname = %s"
                          % self.literal(name)) == "1"

    def statement_mark(self):
        """Where the statement log (log_statement=all, PG_LOG_FILE) ends now."""
        return os.path.getsize(self.env["PG_LOG_FILE"])

    def statements(self, mark, users):
        """[(user, statement)] the sessions of users ran since mark, from the statement log (its
        lines carry the session's user: tests/scripts/postgres.sh)."""
        with open(self.env["PG_LOG_FILE"], "rb") as f:
            f.seek(mark)
            text = f.read().decode("utf-8", "replace")
        found = []
        for m in re.finditer(r"^\S+ \S+ \S+ \[\d+\] \w+ (\S+) LOG:  (?:statement|execute [^:]*): "
                             r"(.*)$", text, re.M):
            if m.group(1) in users:
                found.append((m.group(1), m.group(2)))
        return found

    # --- the engine-neutral interface the end-to-end cases use ---
    engine = "postgres"
    name = "pg"
    max_username = 63

    def secret(self, user, password, **extra):
        s = {"engine": self.engine, "host": self.host, "username": user, "password": password,
             "dbname": "postgres", "port": self.port}
        s.update(extra)
        return s

    def set_password(self, user, password):
        self.admin("ALTER ROLE %s WITH PASSWORD %s" % (self.ident(user), self.literal(password)))

    def create_readable_table(self, user):
        """A table owned by the admin that user may read; returns the SELECT that proves it."""
        table = "t_" + user.encode().hex()[:20]
        self.admin("DROP TABLE IF EXISTS %s; CREATE TABLE %s (v int); INSERT INTO %s VALUES (42);"
                   " GRANT SELECT ON %s TO %s" % (table, table, table, table, self.ident(user)))
        return "SELECT v FROM %s" % table

    def drop_users(self, *names):
        for n in names:
            try:
                if self.role_exists(n):
                    self.admin("DROP OWNED BY %s CASCADE" % self.ident(n))
                    self.admin("DROP ROLE IF EXISTS %s" % self.ident(n))
            except RuntimeError:
                pass

    def create_superuser(self, name, password):
        self.create_user(name, password, superuser=True)


class MariaDB(Server):
    def __init__(self):
        self.env = fixture_env("mariadb")
        self.host = self.env["MARIADB_HOST"]
        self.port = int(self.env["MARIADB_PORT"])
        self.port_notls = int(self.env["MARIADB_PORT_NOTLS"])
        self.ca_file = self.env["MARIADB_CA_FILE"]
        self.admin_user = self.env["MARIADB_ADMIN_USER"]
        self.admin_password = self.env["MARIADB_ADMIN_PASSWORD"]
        self.version = self.env.get("MARIADB_VERSION")
        bindir = self.env.get("MARIADB_BINDIR")
        client = os.path.join(bindir, "mariadb") if bindir else "mariadb"
        self.client = client if os.path.exists(client) else "mariadb"

    # The session sql_mode of every admin session: MariaDB 10.11's default, spelled out, so that a
    # global sql_mode a test sets for a moment (NO_BACKSLASH_ESCAPES, ANSI_QUOTES) cannot change
    # how literal() and the admin SQL read.
    SESSION_SQL_MODE = "STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_AUTO_CREATE_USER,NO_ENGINE_SUBSTITUTION"

    def _run(self, user, password, sql, dbname=None, ssl=False, admin=False):
        env = dict(os.environ)
        env["MYSQL_PWD"] = password
        argv = [self.client, "--no-defaults", "-h", self.host, "-P", str(self.port),
                "--protocol=TCP", "-u", user, "-N", "-B", "--connect-timeout=5", "-e", sql]
        if admin:
            argv[2:2] = ["--init-command=SET SESSION sql_mode = '%s'" % self.SESSION_SQL_MODE]
        if ssl:
            argv[2:2] = ["--ssl", "--ssl-ca=" + self.ca_file]
        else:
            argv[2:2] = ["--skip-ssl"]
        if dbname:
            argv.append(dbname)
        return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30)

    def admin(self, sql, dbname=None):
        r = self._run(self.admin_user, self.admin_password, sql, dbname, admin=True)
        if r.returncode != 0:
            raise RuntimeError("admin SQL failed: %s" % r.stderr.strip())
        return r.stdout.strip()

    def can_login(self, user, password, dbname=None, ssl=False):
        return self._run(user, password, "SELECT 1", dbname, ssl).returncode == 0

    def query_as(self, user, password, sql, dbname=None, ssl=False):
        r = self._run(user, password, sql, dbname, ssl)
        if r.returncode != 0:
            raise RuntimeError("SQL as %s failed: %s" % (user, r.stderr.strip()))
        return r.stdout.strip()

    @staticmethod
    def literal(value):
        """A string literal for admin SQL (whose sessions have backslash escapes: SESSION_SQL_MODE)."""
        return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"

    def account(self, name, host="%"):
        return "%s@%s" % (self.literal(name), self.literal(host))

    def create_user(self, name, password, host="%", extra=""):
        self.admin("DROP USER IF EXISTS %s" % self.account(name, host))
        self.admin("CREATE USER %s IDENTIFIED BY %s %s" % (self.account(name, host),
                                                          self.literal(password), extra))

    def drop_user(self, name, host="%"):
        self.admin("DROP USER IF EXISTS %s" % self.account(name, host))

    def role_exists(self, name):
        return self.admin("SELECT count(*) FROM mysql.user WHERE User = %s"
                          % self.literal(name)) != "0"

    def statement_mark(self):
        """Turns the general log on, into mysql.general_log (it stays on: other tests may be
        reading it), and returns the server's time now."""
        self.admin("SET GLOBAL log_output = 'TABLE'")
        self.admin("SET GLOBAL general_log = 'ON'")
        return self.admin("SELECT NOW(6)")

    def statements(self, mark, users):
        """[(user, statement)] the sessions of users ran since mark, from the general log."""
        rows = self.admin("SELECT user_host, REPLACE(REPLACE(CONVERT(argument USING utf8mb4), "
                          "'\\n', ' '), '\\t', ' ') FROM mysql.general_log WHERE event_time >= %s "
                          "AND command_type = 'Query' ORDER BY event_time"
                          % self.literal(mark))
        found = []
        for line in rows.splitlines():
            host, _, statement = line.partition("\t")
            user = host.split("[", 1)[0]
            if user in users:
                found.append((user, statement))
        return found

    # --- the engine-neutral interface the end-to-end cases use ---
    engine = "mariadb"
    name = "mariadb"
    max_username = 80

    def secret(self, user, password, **extra):
        s = {"engine": self.engine, "host": self.host, "username": user, "password": password,
             "port": self.port}
        s.update(extra)
        return s

    def set_password(self, user, password, host="%"):
        self.admin("SET PASSWORD FOR %s = PASSWORD(%s)" % (self.account(user, host),
                                                           self.literal(password)))

    def create_readable_table(self, user, host="%"):
        table = "smr_e2e.t_" + user.encode().hex()[:20]
        self.admin("CREATE DATABASE IF NOT EXISTS smr_e2e")
        self.admin("DROP TABLE IF EXISTS %s; CREATE TABLE %s (v int); INSERT INTO %s VALUES (42);"
                   " GRANT SELECT ON %s TO %s" % (table, table, table, table,
                                                  self.account(user, host)))
        return "SELECT v FROM %s" % table

    def drop_users(self, *names):
        for n in names:
            hosts = self.admin("SELECT Host FROM mysql.user WHERE User = %s" % self.literal(n))
            for h in hosts.splitlines():
                self.drop_user(n, h)

    def create_superuser(self, name, password):
        self.create_user(name, password)
        self.admin("GRANT ALL PRIVILEGES ON *.* TO %s WITH GRANT OPTION" % self.account(name))


class MySQL(MariaDB):
    """MySQL 9.7 (tests/scripts/mysql.sh), through the mysql client of the fixture's own root:
    without TLS it asks the server for its RSA key (caching_sha2_password), with TLS it verifies
    the test CA."""

    # MySQL 9.7's default, spelled out (see MariaDB.SESSION_SQL_MODE).
    SESSION_SQL_MODE = ("ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,"
                        "ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION")

    def __init__(self):  # noqa: super().__init__ reads the MariaDB fixture
        self.env = fixture_env("mysql")
        self.host = self.env["MYSQL_HOST"]
        self.port = int(self.env["MYSQL_PORT"])
        self.port_notls = int(self.env["MYSQL_PORT_NOTLS"])
        self.ca_file = self.env["MYSQL_CA_FILE"]
        self.admin_user = self.env["MYSQL_ADMIN_USER"]
        self.admin_password = self.env["MYSQL_ADMIN_PASSWORD"]
        self.root = self.env["MYSQL_ROOT_DIR"]
        self.version = self.env["MYSQL_VERSION"]

    def _run(self, user, password, sql, dbname=None, ssl=False, admin=False):
        env = dict(os.environ)
        env["MYSQL_PWD"] = password
        argv = ["chroot", self.root, "/usr/bin/mysql", "--no-defaults", "-h", self.host,
                "-P", str(self.port), "--protocol=TCP", "-u", user, "-N", "-B",
                "--connect-timeout=5"]
        if admin:
            argv.append("--init-command=SET SESSION sql_mode = '%s'" % self.SESSION_SQL_MODE)
        if ssl:
            argv += ["--ssl-mode=VERIFY_CA", "--ssl-ca=" + self.env["MYSQL_CA_FILE_IN_ROOT"]]
        else:
            argv += ["--ssl-mode=DISABLED", "--get-server-public-key"]
        argv += ["-e", sql]
        if dbname:
            argv.append(dbname)
        return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30)

    engine = "mysql"
    name = "mysql"
    max_username = 32  # USERNAME_CHARACTER_LIMIT's default

    def set_password(self, user, password, host="%"):
        self.admin("ALTER USER %s IDENTIFIED BY %s" % (self.account(user, host),
                                                       self.literal(password)))


SERVERS = {"pg": Postgres, "mariadb": MariaDB, "mysql": MySQL}
