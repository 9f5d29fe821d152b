# fixture_lib.sh: what the server fixtures (tests/scripts/*.sh) share; sourced.

# make_certs DIR: writes a test CA (ca.pem, ca.key), a second, unrelated CA that must fail
# verification (bad-ca.pem) and a server certificate for DNS:localhost and IP:127.0.0.1 signed by
# the test CA (server.pem, server.key). P-256 keys: generating them is instant (RSA keys would
# cost a second or more).
make_certs() {
    local d=$1
    mkdir -p "$d"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
        -subj "/CN=smrotate test CA" -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
        -subj "/CN=smrotate unrelated CA" -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -keyout "$d/bad-ca.key" -out "$d/bad-ca.pem" 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=localhost" \
        -keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null
    printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" "basicConstraints=CA:FALSE" \
        "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" >"$d/server.ext"
    openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
        -days 3650 -extfile "$d/server.ext" -out "$d/server.pem" 2>/dev/null
    chmod 0644 "$d"/*.pem
    chmod 0600 "$d"/*.key
}

# free_port: a TCP port on 127.0.0.1 that was free a moment ago.
free_port() {
    /usr/bin/python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# start_on_free_port WHAT VAR [ARGS...]: starts a server on a free port with the calling script's
# start_instance WHAT PORT ARGS... (in the background, its pid in STARTED_PID) and waits for it
# with wait_ready WHAT PORT PID; when another process took the port first (or the server did not
# come up) stops it with stop_instance WHAT and tries a new port, five times at most. Sets VAR to
# the port.
start_on_free_port() {
    local what=$1 var=$2 try_port attempt
    shift 2
    for ((attempt = 0; attempt < 5; attempt++)); do
        try_port=$(free_port)
        start_instance "$what" "$try_port" "$@"
        if wait_ready "$what" "$try_port" "$STARTED_PID"; then
            printf -v "$var" '%s' "$try_port"
            return 0
        fi
        stop_instance "$what"
        if kill -0 "$STARTED_PID" 2>/dev/null; then
            kill -KILL "$STARTED_PID" 2>/dev/null || true
        fi
        wait "$STARTED_PID" 2>/dev/null || true
    done
    echo "$(basename "$0"): could not start the server $what" >&2
    return 1
}
