"""A forward HTTP proxy for tests (standard library only) that counts what goes through it.

    proxy = EgressProxy()             # listens on 127.0.0.1:<random port>
    env["HTTP_PROXY"] = proxy.url     # http://127.0.0.1:<port>
    ...
    proxy.counts()                    # {"127.0.0.1:4567": 12, ...} requests (or tunnels) per target
    proxy.log()                       # [(method, "host:port", path), ...] in arrival order
    proxy.close()

What it serves, on persistent (keep-alive) client connections:
  - absolute-form requests for http:// URLs ("POST http://host:port/path HTTP/1.1"): forwarded to
    the target with every end-to-end header kept as sent (Host included, so a SigV4 signature
    stays valid), hop-by-hop headers dropped (Connection, Proxy-Connection, Keep-Alive,
    Proxy-Authorization, TE, Trailer, Upgrade, Expect); the answer is relayed with a
    Content-Length. "Expect: 100-continue" is answered by the proxy itself. One request = one
    count for its host:port.
  - CONNECT host:port: a byte tunnel to the target (what HTTPS through a proxy uses); one tunnel =
    one count for host:port, with method "CONNECT" in the log.
  - anything else (an origin-form request, an https:// absolute URL) gets 400 and is counted under
    "invalid".
"""
import http.client
import socket
import threading
import urllib.parse

import tcpproxy  # tests/lib, beside this file

HOP_BY_HOP = {"connection", "proxy-connection", "keep-alive", "proxy-authorization", "te",
              "trailer", "upgrade", "expect", "transfer-encoding", "content-length"}
MAX_LINE = 65536
MAX_BODY = 16 * 1024 * 1024


class EgressProxy:
    def __init__(self):
        self.lock = threading.Lock()
        self._counts = {}
        self._log = []
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self.sockets = []
        threading.Thread(target=self._accept, daemon=True).start()

    # --- what went through ---

    def counts(self):
        with self.lock:
            return dict(self._counts)

    def log(self):
        with self.lock:
            return list(self._log)

    def _count(self, method, target, path):
        with self.lock:
            self._counts[target] = self._counts.get(target, 0) + 1
            self._log.append((method, target, path))

    # --- serving ---

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                self.sockets.append(client)
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    @staticmethod
    def _read_head(rfile):
        """(request line, [(name, value)]) or None at the end of the connection."""
        line = rfile.readline(MAX_LINE)
        if not line:
            return None
        headers = []
        while True:
            h = rfile.readline(MAX_LINE)
            if not h or h in (b"\r\n", b"\n"):
                break
            name, _, value = h.decode("latin-1").partition(":")
            headers.append((name.strip(), value.strip()))
        return line.decode("latin-1").strip(), headers

    @staticmethod
    def _header(headers, name):
        for k, v in headers:
            if k.lower() == name:
                return v
        return None

    @staticmethod
    def _read_body(rfile, headers):
        te = EgressProxy._header(headers, "transfer-encoding")
        if te and te.lower() == "chunked":
            body = b""
            while True:
                size = int(rfile.readline(MAX_LINE).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while rfile.readline(MAX_LINE) not in (b"\r\n", b"\n", b""):
                        pass
                    return body
                body += rfile.read(size)
                rfile.readline(MAX_LINE)
                if len(body) > MAX_BODY:
                    raise ValueError("request body too large")
        length = int(EgressProxy._header(headers, "content-length") or 0)
        if length > MAX_BODY:
            raise ValueError("request body too large")
        return rfile.read(length) if length else b""

    @staticmethod
    def _reply(wfile, status, reason, headers, body, close):
        out = ["HTTP/1.1 %d %s" % (status, reason)]
        out += ["%s: %s" % (k, v) for k, v in headers if k.lower() not in HOP_BY_HOP]
        out.append("Content-Length: %d" % len(body))
        if close:
            out.append("Connection: close")
        wfile.write(("\r\n".join(out) + "\r\n\r\n").encode("latin-1") + body)
        wfile.flush()

    def _serve(self, client):
        rfile = client.makefile("rb")
        wfile = client.makefile("wb")
        upstreams = {}
        try:
            while True:
                head = self._read_head(rfile)
                if head is None:
                    return
                line, headers = head
                parts = line.split()
                if len(parts) != 3:
                    self._count("?", "invalid", line[:80])
                    self._reply(wfile, 400, "Bad Request", [], b"bad request line\n", True)
                    return
                method, target, _ = parts
                if method == "CONNECT":
                    self._tunnel(client, rfile, wfile, target)
                    return
                url = urllib.parse.urlsplit(target)
                if url.scheme != "http" or not url.hostname:
                    self._count(method, "invalid", target[:80])
                    self._reply(wfile, 400, "Bad Request", [],
                                b"this proxy forwards absolute http:// URLs and CONNECT only\n",
                                True)
                    return
                expect = self._header(headers, "expect")
                if expect and expect.lower() == "100-continue":
                    wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                    wfile.flush()
                body = self._read_body(rfile, headers)
                port = url.port or 80
                hostport = "%s:%d" % (url.hostname, port)
                path = (url.path or "/") + ("?" + url.query if url.query else "")
                self._count(method, hostport, path)
                conn = upstreams.get(hostport)
                if conn is None:
                    conn = upstreams[hostport] = http.client.HTTPConnection(url.hostname, port,
                                                                            timeout=120)
                try:
                    conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
                    for k, v in headers:
                        if k.lower() not in HOP_BY_HOP:
                            conn.putheader(k, v)
                    if body or method in ("POST", "PUT", "PATCH"):
                        conn.putheader("Content-Length", str(len(body)))
                    conn.endheaders(body or None)
                    resp = conn.getresponse()
                    data = resp.read()
                    if resp.will_close:
                        conn.close()
                        del upstreams[hostport]
                except (OSError, http.client.HTTPException) as e:
                    # The target dropped the connection without an answer (a fault the test
                    # injected): the client sees the same.
                    conn.close()
                    upstreams.pop(hostport, None)
                    self._reply(wfile, 502, "Bad Gateway", [], ("%s\n" % e).encode(), True)
                    return
                conn_hdr = (self._header(headers, "proxy-connection") or
                            self._header(headers, "connection") or "").lower()
                close = conn_hdr == "close"
                self._reply(wfile, resp.status, resp.reason, resp.getheaders(), data, close)
                if close:
                    return
        except (OSError, ValueError):
            return
        finally:
            for conn in upstreams.values():
                conn.close()
            for f in (rfile, wfile):
                try:
                    f.close()
                except OSError:
                    pass
            try:
                client.close()
            except OSError:
                pass

    def _tunnel(self, client, rfile, wfile, target):
        host, _, port = target.rpartition(":")
        self._count("CONNECT", target, "")
        try:
            upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=10)
        except (OSError, ValueError):
            self._reply(wfile, 502, "Bad Gateway", [], b"cannot reach the target\n", True)
            return
        upstream.settimeout(None)
        with self.lock:
            self.sockets.append(upstream)
        wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        wfile.flush()
        # A client waits for the 200 before it speaks TLS, so nothing is left in rfile's buffer.
        t = threading.Thread(target=tcpproxy.pump, args=(upstream, client), daemon=True)
        t.start()
        tcpproxy.pump(client, upstream)
        t.join(5)

    def close(self):
        with self.lock:
            tcpproxy.shut(self.listener, self.sockets)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
