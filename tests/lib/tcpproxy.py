"""A TCP proxy between bootstrap and a database server, for fault injection: the secret points
at the proxy, and the test switches it between

    up       forward every connection
    down     no listener: connections are refused (the database is unreachable)
    stall    accept and hold connections without forwarding (a server that never answers)

Byte-transparent, so TLS between bootstrap and the server is untouched.
"""
import socket
import threading


def pump(src, dst):
    """Copies src to dst until either side ends, then shuts both down."""
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def shut(listener, sockets):
    """Stops listener at once (shutdown() wakes the thread blocked in accept(); a bare close()
    would leave the socket listening until accept() returned) and closes sockets."""
    try:
        listener.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    listener.close()
    for s in sockets:
        try:
            s.close()
        except OSError:
            pass


def splice(client, target):
    """Connects to target and copies bytes both ways, each in a thread of its own. Returns the
    upstream socket, or None (client closed) when target cannot be reached."""
    try:
        upstream = socket.create_connection(target, timeout=5)
    except OSError:
        client.close()
        return None
    upstream.settimeout(None)
    for a, b in ((client, upstream), (upstream, client)):
        threading.Thread(target=pump, args=(a, b), daemon=True).start()
    return upstream


class TcpProxy:
    def __init__(self, target_host, target_port):
        self.target = (target_host, target_port)
        self.mode = "up"
        self.lock = threading.Lock()
        self.conns = []
        self.held = []
        self.listener = None
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self._listen()

    def _listen(self):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(64)
        self.listener = s
        threading.Thread(target=self._accept, args=(s,), daemon=True).start()

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            with self.lock:
                if self.mode == "stall":
                    self.held.append(client)
                    continue
            upstream = splice(client, self.target)
            if upstream is not None:
                with self.lock:
                    self.conns += [client, upstream]

    def set_mode(self, mode):
        with self.lock:
            old, self.mode = self.mode, mode
            held, self.held = self.held, []
        if mode == "down" and old != "down":
            with self.lock:
                shut(self.listener, self.conns)
                self.conns = []
        elif mode != "down" and old == "down":
            self._listen()
        for c in held:
            c.close()

    def close(self):
        self.set_mode("down")
