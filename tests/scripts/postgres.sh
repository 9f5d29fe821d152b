#!/bin/bash
# postgres.sh start|stop STATE_DIR: a throwaway PostgreSQL for the integration tests.
#
# start: generates a test CA (and a second, unrelated CA that must fail verification) and a server
# certificate for DNS:localhost and IP:127.0.0.1, initialises one cluster with initdb (superuser
# with a random password, scram-sha-256 for TCP), copies it, and runs two postmasters on 127.0.0.1
# with random free ports and no Unix socket (also on 127.0.0.2, PG_HOST_MISMATCH, an address the
# certificate does not name):
#   - the TLS instance   (ssl=on, TLS optional per pg_hba `host`)   PG_PORT
#   - the plain instance (ssl=off: the server does not offer TLS)    PG_PORT_NOTLS
# Both log every statement (log_statement=all) to PG_LOG_FILE / PG_LOG_FILE_NOTLS so tests can
# check that no cleartext password reaches the server (and that a preflight check writes nothing);
# each line starts with its SQLSTATE and the session's user. Members of the role PG_TLS_ONLY_ROLE are
# refused without TLS on the TLS instance (pg_hba `hostnossl ... reject`). Waits until both accept
# logins, then writes STATE_DIR/postgres.env (KEY=value lines, shell-sourceable).
# stop: stops both postmasters and removes the data.
#
# PostgreSQL refuses to run as root: as root (CI) the cluster lives in a /tmp directory owned by
# the `postgres` user and every server command runs through `runuser -u postgres`; as any other
# user it lives under STATE_DIR and runs directly. Needs the Debian packages postgresql-15
# (initdb, pg_ctl, postgres), postgresql-client-15 (psql) and openssl. A missing binary fails
# start: the integration tests must never be skipped silently.
set -euo pipefail

cmd=${1:-}
state=${2:-}
if [[ -z $cmd || -z $state ]]; then
    echo "usage: $0 start|stop STATE_DIR" >&2
    exit 2
fi
if [[ $cmd == start ]]; then
    mkdir -p "$state"
fi
if [[ -d $state ]]; then
    state=$(cd "$state" && pwd)
fi

ADMIN_USER=smadmin
TLS_ONLY_ROLE=smrotate_tls_only
# Any environment libpq would read must not steer the fixture's own psql.
unset PGHOST PGHOSTADDR PGPORT PGDATABASE PGUSER PGPASSWORD PGPASSFILE PGSERVICE PGSERVICEFILE \
    PGSSLMODE PGREQUIRESSL PGSSLROOTCERT PGSSLCERT PGSSLKEY PGOPTIONS PGSYSCONFDIR PGDATA \
    PGGSSENCMODE PGCHANNELBINDING PGTARGETSESSIONATTRS PGCONNECT_TIMEOUT PGCLIENTENCODING

find_bindir() {
    local d
    # SMR_PG_BINDIR overrides the search (another PostgreSQL version).
    for d in ${SMR_PG_BINDIR:-/usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin}; do
        if [[ -x $d/initdb && -x $d/pg_ctl && -x $d/postgres ]]; then
            echo "$d"
            return 0
        fi
    done
    return 1
}

# as_server CMD...: runs CMD as the server's user.
as_server() {
    if [[ $(id -u) -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

stop_instance() {
    local data=$1
    [[ -f $data/postmaster.pid ]] || return 0
    as_server "$BINDIR/pg_ctl" -D "$data" -m immediate -w -t 20 stop >/dev/null 2>&1 || true
}

do_stop() {
    local run=""
    if [[ -f $state/run-dir ]]; then
        run=$(cat "$state/run-dir")
    fi
    if [[ -n $run && -d $run ]]; then
        BINDIR=$(find_bindir) || BINDIR=/usr/lib/postgresql/15/bin
        stop_instance "$run/tls"
        stop_instance "$run/notls"
        case $run in
        /tmp/smr-pg.* | "$state"/run) rm -rf -- "$run" ;;
        esac
    fi
    rm -rf -- "$state/run-dir" "$state/postgres.env" "$state/certs"
}

# make_certs, free_port.
# shellcheck source=tests/scripts/fixture_lib.sh
. "$(dirname "$0")/fixture_lib.sh"

# start_instance DATA LOG PORT [postgres -c options...]: one attempt; 0 when it accepts logins.
start_instance() {
    local data=$1 log=$2 port=$3
    shift 3
    # 127.0.0.2 (also loopback on Linux, not named in the certificate) serves the host-name
    # mismatch test; PostgreSQL only warns if it can't bind it.
    local opts="-c listen_addresses='127.0.0.1,127.0.0.2' -c port=$port -c unix_socket_directories='' "
    opts+="-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
    opts+="-c max_connections=100 -c shared_buffers=16MB -c log_statement=all "
    # Every log line starts with its SQLSTATE (%e): tests count errors by code, not by wording.
    opts+="-c password_encryption=scram-sha-256 -c lc_messages=C -c log_line_prefix='%m [%p] %e %u ' $*"
    as_server "$BINDIR/pg_ctl" -D "$data" -l "$log" -w -t 30 -o "$opts" start >/dev/null 2>&1 || {
        tail -n 20 "$log" >&2 || true
        return 1
    }
    local i
    for ((i = 0; i < 100; i++)); do
        if PGPASSWORD=$ADMIN_PASSWORD PGCONNECT_TIMEOUT=2 "$BINDIR/psql" -X -q -w \
            "host=127.0.0.1 port=$port dbname=postgres user=$ADMIN_USER sslmode=disable" \
            -c 'SELECT 1' >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.05
    done
    echo "postgres.sh: server in $data does not accept logins on port $port" >&2
    tail -n 20 "$log" >&2 || true
    return 1
}

# start_with_retry DATA LOG VAR [options...]: picks a free port (retrying if another process takes
# it first) and sets VAR to it.
start_with_retry() {
    local data=$1 log=$2 var=$3 try_port attempt
    shift 3
    for ((attempt = 0; attempt < 5; attempt++)); do
        try_port=$(free_port)
        if start_instance "$data" "$log" "$try_port" "$@"; then
            printf -v "$var" '%s' "$try_port"
            return 0
        fi
        stop_instance "$data"
    done
    echo "postgres.sh: could not start the server in $data" >&2
    return 1
}

do_start() {
    BINDIR=$(find_bindir) || {
        echo "postgres.sh: initdb/pg_ctl/postgres not found under ${SMR_PG_BINDIR:-/usr/lib/postgresql/*/bin}" \
            "(apt-get install postgresql-15)" >&2
        exit 1
    }
    if [[ ! -x $BINDIR/psql ]]; then
        echo "postgres.sh: $BINDIR/psql not found (apt-get install postgresql-client-15)" >&2
        exit 1
    fi
    command -v openssl >/dev/null || {
        echo "postgres.sh: openssl not found (apt-get install openssl)" >&2
        exit 1
    }
    do_stop

    local run
    if [[ $(id -u) -eq 0 ]]; then
        id postgres >/dev/null 2>&1 || {
            echo "postgres.sh: running as root needs the 'postgres' user (postgresql-common)" >&2
            exit 1
        }
        run=$(mktemp -d /tmp/smr-pg.XXXXXXXX)
    else
        run=$state/run
        mkdir -p "$run"
    fi
    echo "$run" >"$state/run-dir"
    chmod 0755 "$run"

    make_certs "$state/certs"
    ADMIN_PASSWORD=$(openssl rand -hex 16)

    # Server-side copies of the certificate and key, owned by the server's user.
    mkdir -p "$run/certs"
    cp "$state/certs/server.pem" "$state/certs/server.key" "$run/certs/"
    printf '%s\n' "$ADMIN_PASSWORD" >"$run/pwfile"
    chmod 0600 "$run/pwfile" "$run/certs/server.key"
    if [[ $(id -u) -eq 0 ]]; then
        chown -R postgres: "$run"
    fi

    as_server "$BINDIR/initdb" -D "$run/tls" -U "$ADMIN_USER" --pwfile="$run/pwfile" \
        -A scram-sha-256 --auth-local=reject --no-sync --no-instructions -E UTF8 --locale=C \
        >"$run/initdb.log" 2>&1 || {
        cat "$run/initdb.log" >&2
        exit 1
    }
    rm -f "$run/pwfile"
    # pg_hba: TLS optional for everyone, except members of TLS_ONLY_ROLE who need TLS.
    as_server tee "$run/tls/pg_hba.conf" >/dev/null <<EOF
hostnossl all +$TLS_ONLY_ROLE 127.0.0.1/32 reject
host all all 127.0.0.1/32 scram-sha-256
EOF
    as_server cp -a "$run/tls" "$run/notls"

    local port port_notls
    start_with_retry "$run/tls" "$run/tls.log" port -c ssl=on \
        -c "ssl_cert_file='$run/certs/server.pem'" -c "ssl_key_file='$run/certs/server.key'"
    start_with_retry "$run/notls" "$run/notls.log" port_notls -c ssl=off

    PGPASSWORD=$ADMIN_PASSWORD "$BINDIR/psql" -X -q -w \
        "host=127.0.0.1 port=$port dbname=postgres user=$ADMIN_USER sslmode=verify-full sslrootcert=$state/certs/ca.pem" \
        -c "CREATE ROLE $TLS_ONLY_ROLE NOLOGIN" >/dev/null || {
        echo "postgres.sh: TLS login to the TLS instance failed" >&2
        exit 1
    }

    local version
    version=$(PGPASSWORD=$ADMIN_PASSWORD "$BINDIR/psql" -X -q -w -tA \
        "host=127.0.0.1 port=$port dbname=postgres user=$ADMIN_USER sslmode=disable" \
        -c "SHOW server_version")

    local tmp=$state/postgres.env.tmp
    {
        echo "PG_HOST=127.0.0.1"
        echo "PG_HOST_MISMATCH=127.0.0.2"
        echo "PG_PORT=$port"
        echo "PG_PORT_NOTLS=$port_notls"
        echo "PG_ADMIN_USER=$ADMIN_USER"
        echo "PG_ADMIN_PASSWORD=$ADMIN_PASSWORD"
        echo "PG_CA_FILE=$state/certs/ca.pem"
        echo "PG_BAD_CA_FILE=$state/certs/bad-ca.pem"
        echo "PG_BINDIR=$BINDIR"
        echo "PG_LOG_FILE=$run/tls.log"
        echo "PG_LOG_FILE_NOTLS=$run/notls.log"
        echo "PG_TLS_ONLY_ROLE=$TLS_ONLY_ROLE"
        echo "PG_VERSION=$version"
    } >"$tmp"
    chmod 0600 "$tmp"
    mv -f "$tmp" "$state/postgres.env"
    echo "postgres.sh: PostgreSQL $version on 127.0.0.1:$port (TLS) and :$port_notls (no TLS), data in $run"
}

case $cmd in
start) do_start ;;
stop) do_stop ;;
*)
    echo "usage: $0 start|stop STATE_DIR" >&2
    exit 2
    ;;
esac
