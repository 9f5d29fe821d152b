#!/bin/bash
# mariadb.sh start|stop STATE_DIR: a throwaway MariaDB for the integration tests.
#
# start: generates a test CA (and a second, unrelated CA that must fail verification), a server
# certificate for DNS:localhost and IP:127.0.0.1, initialises one datadir with mariadb-install-db,
# copies it, and runs two servers on 127.0.0.1 with random free ports:
#   - the TLS instance  (ssl-ca/ssl-cert/ssl-key set)          MARIADB_PORT
#   - the plain instance (no TLS: the server does not offer it) MARIADB_PORT_NOTLS
# both with skip-name-resolve, the ed25519 authentication plugin loaded (--plugin-load-add: the
# tests only check it is there, so none of them races another to INSTALL it) and an admin user
# (all privileges, WITH GRANT OPTION) that logs in over TCP with a random password. A port another
# process takes between picking and binding it costs a retry with a new one. Waits until both
# accept logins, then writes STATE_DIR/mariadb.env (KEY=value lines, shell-sourceable).
# stop: stops both servers (by their pid files) and removes the data.
#
# Runs as root (CI) with --user=root, or as any other user directly. Needs the Debian packages
# mariadb-server (mariadbd, mariadb-install-db), mariadb-client (mariadb) and openssl.
# A missing binary fails start: the integration tests must never be skipped silently.
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

# The server binary: mariadbd (10.4+) or mysqld.
find_bin() {
    local b
    for b in "$@"; do
        if command -v "$b" >/dev/null 2>&1; then
            command -v "$b"
            return 0
        fi
        for d in /usr/sbin /usr/bin /usr/local/sbin /usr/local/bin; do
            if [[ -x $d/$b ]]; then
                echo "$d/$b"
                return 0
            fi
        done
    done
    return 1
}

stop_instance() {
    local dir=$1 pid i
    [[ -f $dir/mariadbd.pid ]] || return 0
    pid=$(cat "$dir/mariadbd.pid" 2>/dev/null || true)
    [[ $pid =~ ^[0-9]+$ ]] || return 0
    # Only signal the process we started: its command line names our datadir.
    if [[ -r /proc/$pid/cmdline ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "--datadir=$dir/data"; then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 200; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    rm -f "$dir/mariadbd.pid"
}

do_stop() {
    local sockdir
    stop_instance "$state/tls"
    stop_instance "$state/notls"
    if [[ -f $state/sockdir ]]; then
        sockdir=$(cat "$state/sockdir")
        if [[ $sockdir == /tmp/smr-mariadb.* ]]; then
            rm -rf -- "$sockdir"
        fi
    fi
    rm -rf -- "$state/tls" "$state/notls" "$state/seed" "$state/sockdir" "$state/mariadb.env"
}

# make_certs, free_port, start_on_free_port.
# shellcheck source=tests/scripts/fixture_lib.sh
. "$(dirname "$0")/fixture_lib.sh"

# start_instance DIR PORT SOCKET [TLS options...]: starts the server in the background; its pid
# goes to STARTED_PID.
start_instance() {
    local dir=$1 port=$2 sock=$3
    shift 3
    local userarg=()
    if [[ $(id -u) -eq 0 ]]; then
        userarg=(--user=root)
    fi
    "$MARIADBD" --no-defaults "${userarg[@]}" \
        --datadir="$dir/data" --pid-file="$dir/mariadbd.pid" --socket="$sock" \
        --bind-address=127.0.0.1 --port="$port" --skip-name-resolve \
        --log-error="$dir/error.log" --skip-log-bin --innodb-buffer-pool-size=16M \
        --innodb-log-file-size=16M --innodb-flush-log-at-trx-commit=0 --skip-innodb-doublewrite \
        --max-connections=200 --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
        --plugin-load-add=auth_ed25519 \
        "$@" </dev/null >>"$dir/error.log" 2>&1 &
    STARTED_PID=$!
}

# wait_ready DIR PORT PID: 0 once the server accepts logins; 1 when it exited (a port someone else
# took first ends it at once) or did not answer within a minute.
wait_ready() {
    local dir=$1 port=$2 pid=$3 i
    for ((i = 0; i < 600; i++)); do
        if "$CLIENT" --no-defaults --protocol=tcp -h127.0.0.1 -P"$port" -u"$ADMIN_USER" \
            --password="$ADMIN_PASSWORD" --connect-timeout=2 -N -e 'SELECT 1' >/dev/null 2>&1; then
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            break
        fi
        sleep 0.1
    done
    echo "mariadb.sh: server in $dir did not accept logins on port $port; error log:" >&2
    tail -n 40 "$dir/error.log" >&2 || true
    return 1
}

# assert_ed25519 PORT [client options...]: the server has the ed25519 plugin loaded.
assert_ed25519() {
    local port=$1 status
    shift
    status=$("$CLIENT" --no-defaults --protocol=tcp -h127.0.0.1 -P"$port" -u"$ADMIN_USER" \
        --password="$ADMIN_PASSWORD" "$@" -N -e \
        "SELECT PLUGIN_STATUS FROM information_schema.PLUGINS WHERE PLUGIN_NAME = 'ed25519'")
    if [[ $status != ACTIVE ]]; then
        echo "mariadb.sh: the server on port $port did not load auth_ed25519 (status '$status';" \
            "it ships with mariadb-server in its plugin directory)" >&2
        return 1
    fi
}

do_start() {
    MARIADBD=$(find_bin mariadbd mysqld) || {
        echo "mariadb.sh: mariadbd/mysqld not found (apt-get install mariadb-server)" >&2
        exit 1
    }
    INSTALL_DB=$(find_bin mariadb-install-db mysql_install_db) || {
        echo "mariadb.sh: mariadb-install-db not found (apt-get install mariadb-server)" >&2
        exit 1
    }
    CLIENT=$(find_bin mariadb mysql) || {
        echo "mariadb.sh: mariadb client not found (apt-get install mariadb-client)" >&2
        exit 1
    }
    command -v openssl >/dev/null || {
        echo "mariadb.sh: openssl not found (apt-get install openssl)" >&2
        exit 1
    }

    do_stop

    ADMIN_USER=function_admin
    ADMIN_PASSWORD=$(openssl rand -hex 16)
    local certs=$state/tls/certs
    mkdir -p "$state/tls" "$state/notls"
    make_certs "$certs"

    # Unix sockets have a 108-byte path limit: keep them short, under /tmp.
    local sockdir
    sockdir=$(mktemp -d /tmp/smr-mariadb.XXXXXX)
    echo "$sockdir" >"$state/sockdir"

    # One initialisation, copied for the second instance (saves a few seconds).
    cat >"$state/tls/bootstrap.sql" <<EOF
FLUSH PRIVILEGES;
DELETE FROM mysql.global_priv WHERE User = '';
CREATE USER '$ADMIN_USER'@'%' IDENTIFIED BY '$ADMIN_PASSWORD';
GRANT ALL PRIVILEGES ON *.* TO '$ADMIN_USER'@'%' WITH GRANT OPTION;
EOF
    local userarg=()
    if [[ $(id -u) -eq 0 ]]; then
        userarg=(--user=root)
    fi
    if ! "$INSTALL_DB" --no-defaults "${userarg[@]}" --datadir="$state/tls/data" \
        --auth-root-authentication-method=socket --skip-test-db --skip-name-resolve \
        --extra-file="$state/tls/bootstrap.sql" --innodb-log-file-size=16M \
        --innodb-buffer-pool-size=16M >"$state/tls/install.log" 2>&1; then
        echo "mariadb.sh: mariadb-install-db failed:" >&2
        tail -n 40 "$state/tls/install.log" >&2
        exit 1
    fi
    cp -a "$state/tls/data" "$state/notls/data"

    local port port_notls
    start_on_free_port "$state/tls" port "$sockdir/tls.sock" \
        --ssl-ca="$certs/ca.pem" --ssl-cert="$certs/server.pem" --ssl-key="$certs/server.key"
    start_on_free_port "$state/notls" port_notls "$sockdir/notls.sock" --skip-ssl
    assert_ed25519 "$port"
    assert_ed25519 "$port_notls" --skip-ssl

    # The TLS instance must offer TLS and the plain one must not: the tests depend on both.
    local have
    have=$("$CLIENT" --no-defaults --protocol=tcp -h127.0.0.1 -P"$port" -u"$ADMIN_USER" \
        --password="$ADMIN_PASSWORD" -N -e "SELECT @@have_ssl")
    if [[ $have != YES ]]; then
        echo "mariadb.sh: TLS instance reports have_ssl=$have" >&2
        exit 1
    fi
    have=$("$CLIENT" --no-defaults --protocol=tcp -h127.0.0.1 -P"$port_notls" -u"$ADMIN_USER" \
        --password="$ADMIN_PASSWORD" --skip-ssl -N -e "SELECT @@have_ssl")
    if [[ $have == YES ]]; then
        echo "mariadb.sh: plain instance unexpectedly offers TLS" >&2
        exit 1
    fi
    local version
    version=$("$CLIENT" --no-defaults --protocol=tcp -h127.0.0.1 -P"$port" -u"$ADMIN_USER" \
        --password="$ADMIN_PASSWORD" -N -e "SELECT VERSION()")

    cat >"$state/mariadb.env.tmp" <<EOF
MARIADB_HOST=127.0.0.1
MARIADB_PORT=$port
MARIADB_PORT_NOTLS=$port_notls
MARIADB_ADMIN_USER=$ADMIN_USER
MARIADB_ADMIN_PASSWORD=$ADMIN_PASSWORD
MARIADB_CA_FILE=$certs/ca.pem
MARIADB_BAD_CA_FILE=$certs/bad-ca.pem
MARIADB_BINDIR=$(dirname "$CLIENT")
MARIADB_CLIENT=$CLIENT
MARIADB_SOCKET=$sockdir/tls.sock
MARIADB_SOCKET_NOTLS=$sockdir/notls.sock
MARIADB_VERSION=$version
EOF
    mv "$state/mariadb.env.tmp" "$state/mariadb.env"
    echo "mariadb.sh: MariaDB $version on 127.0.0.1:$port (TLS) and :$port_notls (no TLS)"
}

case $cmd in
start) do_start ;;
stop) do_stop ;;
*)
    echo "usage: $0 start|stop STATE_DIR" >&2
    exit 2
    ;;
esac
