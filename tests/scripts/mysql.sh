#!/bin/bash
# mysql.sh start|stop|root STATE_DIR: a throwaway MySQL 9.7 for the integration tests.
#
# Debian 12 has no MySQL server; Debian's unstable suite ("sid") packages the 9.7 LTS line. The
# fixture runs it from a root file system of its own:
#   - the root (SMR_MYSQL_ROOT, default /var/cache/smrotate/mysql-root, outside the clone) is
#     built once, with `debootstrap --variant=minbase sid` and, inside it, `apt-get install
#     --no-install-recommends mysql-server-core mysql-client`; it is rebuilt only when missing or
#     incomplete (its marker file is written last), so CI does not chase every upload to sid.
#     Builds are serialised by a lock next to it. A package the archive no longer serves fails the
#     build with a message naming it: the tests are never skipped silently.
#   - start: generates a test CA (and a second, unrelated CA that must fail verification) and a
#     server certificate for DNS:localhost and IP:127.0.0.1 (tests/scripts/fixture_lib.sh, as the
#     other fixtures), initialises one datadir (mysqld --initialize-insecure), copies it, and runs
#     two servers chrooted into the root, on 127.0.0.1 with random free ports and the X Protocol
#     off:
#       - the TLS instance  (ssl_ca/ssl_cert/ssl_key set)             MYSQL_PORT
#       - the plain instance (tls_version='': the server offers no TLS) MYSQL_PORT_NOTLS
#     both with skip-name-resolve and an admin user (all privileges, WITH GRANT OPTION) that logs in
#     over TCP with a random password. Each server's RSA key pair (caching_sha2_password's key
#     exchange without TLS) is copied out as MYSQL_PUBLIC_KEY(_NOTLS). Waits until both accept
#     logins, then writes STATE_DIR/mysql.env (KEY=value lines, shell-sourceable), with the
#     server version the tests run against (MYSQL_VERSION).
#   - stop: stops both servers (by their pid files) and removes their data.
#   - root: only builds (or checks) the root.
# The servers' files live inside the root (a chroot sees nothing else), in a directory named after
# STATE_DIR, so fixtures of several build trees run side by side. MYSQL_ROOT_DIR is the root (its
# own client is /usr/bin/mysql in it); MYSQL_CA_FILE_IN_ROOT is the test CA as the root sees it.
#
# Needs root (debootstrap, chroot), debootstrap, openssl and Debian's archive (first run only).
set -euo pipefail

cmd=${1:-}
state=${2:-}
if [[ -z $cmd || -z $state ]]; then
    echo "usage: $0 start|stop|root STATE_DIR" >&2
    exit 2
fi
if [[ $cmd == start || $cmd == root ]]; then
    mkdir -p "$state"
fi
if [[ -d $state ]]; then
    state=$(cd "$state" && pwd)
fi
here=$(cd "$(dirname "$0")" && pwd)
# make_certs, free_port, start_on_free_port.
# shellcheck source=tests/scripts/fixture_lib.sh
. "$here/fixture_lib.sh"

ROOT=${SMR_MYSQL_ROOT:-/var/cache/smrotate/mysql-root}
MIRROR=${SMR_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=sid
PACKAGES=(mysql-server-core mysql-client)
MARKER=.smrotate-mysql-root
# Changing how the root is built bumps RECIPE: a root built by an older recipe is rebuilt.
RECIPE=2
ADMIN_USER=function_admin
# The instances' directory inside the root, one per state directory.
RUN_REL=/var/lib/smrotate/$(printf '%s' "$state" | sha256sum | cut -c1-16)

fail() {
    echo "mysql.sh: $*" >&2
    exit 1
}

# root_complete DIR: the marker is there and the server and client run inside DIR.
root_complete() {
    local dir=$1
    [[ -f $dir/$MARKER && $(head -n 1 "$dir/$MARKER") == "recipe $RECIPE" ]] &&
        [[ -x $dir/usr/sbin/mysqld && -x $dir/usr/bin/mysql ]] &&
        chroot "$dir" /usr/sbin/mysqld --no-defaults --version >/dev/null 2>&1 &&
        chroot "$dir" /usr/bin/mysql --no-defaults --version >/dev/null 2>&1
}

# build_root: debootstrap sid into $ROOT.new, install the packages, move it into place.
build_root() {
    local tmp=$ROOT.new log=$ROOT.build.log p
    command -v debootstrap >/dev/null || fail "debootstrap not found (tests/setup.sh installs it)"
    # A root this script built has its marker from the start (it moves in complete), so anything
    # else at $ROOT is not ours to replace.
    if [[ -e $ROOT && ! -f $ROOT/$MARKER ]]; then
        fail "$ROOT exists and is no root this script built: remove it or set SMR_MYSQL_ROOT"
    fi
    rm -rf -- "$tmp"
    echo "mysql.sh: building the MySQL root $ROOT (debootstrap $SUITE from $MIRROR; once)" >&2
    if ! debootstrap --variant=minbase "$SUITE" "$tmp" "$MIRROR" >"$log" 2>&1; then
        tail -n 20 "$log" >&2
        fail "debootstrap --variant=minbase $SUITE $tmp $MIRROR failed (log: $log)"
    fi
    # The servers and clients inside reach each other on 127.0.0.1 by name too.
    printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$tmp/etc/hosts"
    # No service may start while packages install.
    printf '#!/bin/sh\nexit 101\n' >"$tmp/usr/sbin/policy-rc.d"
    chmod 0755 "$tmp/usr/sbin/policy-rc.d"
    for p in "${PACKAGES[@]}"; do
        if ! chroot "$tmp" apt-cache show "$p" >/dev/null 2>&1; then
            fail "Debian $SUITE ($MIRROR) no longer serves the package $p, which the MySQL" \
                "fixture installs: find the package that now ships MySQL's server and client" \
                "and update PACKAGES in tests/scripts/mysql.sh"
        fi
    done
    if ! chroot "$tmp" /usr/bin/env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        --no-install-recommends "${PACKAGES[@]}" >>"$log" 2>&1; then
        tail -n 20 "$log" >&2
        fail "apt-get install ${PACKAGES[*]} in the $SUITE root failed (log: $log)"
    fi
    chroot "$tmp" apt-get clean >/dev/null 2>&1 || true
    {
        echo "recipe $RECIPE"
        chroot "$tmp" dpkg-query -W -f='${Package} ${Version}\n' "${PACKAGES[@]}"
    } >"$tmp/$MARKER"
    root_complete "$tmp" || fail "the new root $tmp has no working mysqld and mysql (log: $log)"
    rm -rf -- "$ROOT"
    mv -- "$tmp" "$ROOT"
    echo "mysql.sh: built $ROOT: $(packages_built)" >&2
}

# The packages the root was built with, on one line.
packages_built() {
    tail -n +2 "$ROOT/$MARKER" | paste -sd ' ' -
}

ensure_root() {
    [[ $(id -u) -eq 0 ]] || fail "needs root: it builds a Debian root (debootstrap) and runs" \
        "mysqld chrooted into it"
    mkdir -p "$(dirname "$ROOT")"
    exec 9>"$ROOT.lock"
    flock 9
    if ! root_complete "$ROOT"; then
        build_root
    fi
    flock -u 9
    exec 9>&-
}

# in_root CMD...: runs CMD (paths inside the root) chrooted into it.
in_root() {
    chroot "$ROOT" "$@"
}

stop_instance() {
    local name=$1 dir=$ROOT$RUN_REL/$1 pid i
    [[ -f $dir/mysqld.pid ]] || return 0
    pid=$(cat "$dir/mysqld.pid" 2>/dev/null || true)
    [[ $pid =~ ^[0-9]+$ ]] || return 0
    # Only signal the process we started: its command line names our datadir.
    if [[ -r /proc/$pid/cmdline ]] &&
        tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "--datadir=$RUN_REL/$name/data"; then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 300; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    rm -f "$dir/mysqld.pid"
}

do_stop() {
    if [[ -d $ROOT$RUN_REL ]]; then
        stop_instance tls
        stop_instance notls
        rm -rf -- "${ROOT:?}$RUN_REL"
    fi
    rm -rf -- "$state/certs" "$state/mysql.env"
}

# client PORT [mysql options...]: the root's mysql client as the admin, over TCP.
client() {
    local port=$1
    shift
    MYSQL_PWD=$ADMIN_PASSWORD in_root /usr/bin/mysql --no-defaults --protocol=TCP -h127.0.0.1 \
        -P"$port" -u"$ADMIN_USER" --connect-timeout=2 -N -B "$@"
}

# start_instance NAME PORT [options...]: starts the server in the background; its pid goes to
# STARTED_PID.
start_instance() {
    local name=$1 port=$2 rel=$RUN_REL/$1
    shift 2
    in_root /usr/sbin/mysqld --no-defaults --user=root --datadir="$rel/data" \
        --pid-file="$rel/mysqld.pid" --socket="$rel/mysqld.sock" --bind-address=127.0.0.1 \
        --port="$port" --mysqlx=OFF --skip-name-resolve --secure-file-priv= \
        --log-error="$rel/error.log" --skip-log-bin --innodb-buffer-pool-size=32M \
        --innodb-redo-log-capacity=16M --innodb-flush-log-at-trx-commit=0 \
        --innodb-doublewrite=OFF --performance-schema=OFF --max-connections=200 \
        --character-set-server=utf8mb4 --collation-server=utf8mb4_0900_ai_ci \
        "$@" </dev/null >>"$ROOT$rel/error.log" 2>&1 &
    STARTED_PID=$!
}

# wait_ready NAME PORT PID: 0 once the server accepts logins; 1 when it exited (a port someone
# else took first ends it at once) or did not answer within two minutes.
wait_ready() {
    local name=$1 port=$2 pid=$3 i
    for ((i = 0; i < 1200; i++)); do
        if client "$port" --get-server-public-key -e 'SELECT 1' >/dev/null 2>&1; then
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            break
        fi
        sleep 0.1
    done
    echo "mysql.sh: server $name did not accept logins on port $port; error log:" >&2
    tail -n 40 "$ROOT$RUN_REL/$name/error.log" >&2 || true
    return 1
}

do_start() {
    command -v openssl >/dev/null || fail "openssl not found (apt-get install openssl)"
    ensure_root
    do_stop
    # A start that fails half-way leaves no server behind.
    trap 'do_stop' EXIT

    ADMIN_PASSWORD=$(openssl rand -hex 16)
    local run=$ROOT$RUN_REL
    mkdir -p "$run/tls" "$run/notls"
    make_certs "$state/certs"
    mkdir -p "$run/certs"
    cp "$state/certs/ca.pem" "$state/certs/server.pem" "$state/certs/server.key" "$run/certs/"

    # One initialisation, copied for the second instance.
    cat >"$run/init.sql" <<EOF
CREATE USER '$ADMIN_USER'@'%' IDENTIFIED BY '$ADMIN_PASSWORD';
GRANT ALL PRIVILEGES ON *.* TO '$ADMIN_USER'@'%' WITH GRANT OPTION;
EOF
    chmod 0600 "$run/init.sql"
    if ! in_root /usr/sbin/mysqld --no-defaults --user=root --initialize-insecure \
        --datadir="$RUN_REL/tls/data" --init-file="$RUN_REL/init.sql" \
        --innodb-redo-log-capacity=16M --log-error="$RUN_REL/init.log" >/dev/null 2>&1; then
        tail -n 40 "$run/init.log" >&2 || true
        fail "mysqld --initialize-insecure failed"
    fi
    rm -f "$run/init.sql"
    cp -a "$run/tls/data" "$run/notls/data"
    # Each server its own RSA key pair (generated at start-up when missing), so a test can tell
    # which key a client used.
    rm -f "$run/notls/data/private_key.pem" "$run/notls/data/public_key.pem"

    local port port_notls
    start_on_free_port tls port --ssl-ca="$RUN_REL/certs/ca.pem" \
        --ssl-cert="$RUN_REL/certs/server.pem" --ssl-key="$RUN_REL/certs/server.key"
    start_on_free_port notls port_notls --tls-version=

    # The TLS instance must offer TLS and the plain one must not: the tests depend on both.
    local have version
    have=$(client "$port" --ssl-mode=VERIFY_IDENTITY --ssl-ca="$RUN_REL/certs/ca.pem" \
        -hlocalhost -e "SHOW STATUS LIKE 'Ssl_version'") || fail "TLS login to the TLS instance failed"
    [[ $have == *TLSv1.[23] ]] || fail "the TLS instance did not negotiate TLS ('$have')"
    if client "$port_notls" --ssl-mode=REQUIRED -e 'SELECT 1' >/dev/null 2>&1; then
        fail "the plain instance unexpectedly offers TLS"
    fi
    version=$(client "$port" --get-server-public-key -e "SELECT VERSION()") ||
        fail "could not read the server version"
    cp "$run/tls/data/public_key.pem" "$state/certs/mysql-public-key.pem"
    cp "$run/notls/data/public_key.pem" "$state/certs/mysql-public-key-notls.pem"
    chmod 0644 "$state/certs"/mysql-public-key*.pem

    cat >"$state/mysql.env.tmp" <<EOF
MYSQL_HOST=127.0.0.1
MYSQL_PORT=$port
MYSQL_PORT_NOTLS=$port_notls
MYSQL_ADMIN_USER=$ADMIN_USER
MYSQL_ADMIN_PASSWORD=$ADMIN_PASSWORD
MYSQL_CA_FILE=$state/certs/ca.pem
MYSQL_BAD_CA_FILE=$state/certs/bad-ca.pem
MYSQL_CA_FILE_IN_ROOT=$RUN_REL/certs/ca.pem
MYSQL_PUBLIC_KEY=$state/certs/mysql-public-key.pem
MYSQL_PUBLIC_KEY_NOTLS=$state/certs/mysql-public-key-notls.pem
MYSQL_ROOT_DIR=$ROOT
MYSQL_VERSION=$version
EOF
    chmod 0600 "$state/mysql.env.tmp"
    mv "$state/mysql.env.tmp" "$state/mysql.env"
    trap - EXIT
    echo "mysql.sh: MySQL $version on 127.0.0.1:$port (TLS) and :$port_notls (no TLS)," \
        "root $ROOT ($(packages_built))"
}

case $cmd in
start) do_start ;;
stop) do_stop ;;
root) ensure_root ;;
*)
    echo "usage: $0 start|stop|root STATE_DIR" >&2
    exit 2
    ;;
esac
