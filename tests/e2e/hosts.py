"""Host names for end-to-end tests: lines a test adds to /etc/hosts, and loopback aliases that
count the connections made to each name.

RDS tells the rotation function where databases are by host name (pg-main.<hash>.<region>.rds...,
aur.cluster-<hash>..., aur.cluster-ro-<hash>...), and bootstrap resolves them like any client, so
the tests need names that resolve to the local servers. Each test gets its own namespace,
<label>.<uniq>.smrtest.internal, and each name its own loopback address (127.x.y.z, a random one:
Linux routes all of 127/8 to lo) with a forwarder on the database server's port. The server is
reached through every name, and counting connections per name tells which name bootstrap logged
in at, which no server log can (every connection arrives from 127.0.0.1).

/etc/hosts is shared by every test of every build tree, so:
  - every edit holds an exclusive fcntl.flock on LOCK_FILE and rewrites the file in place (no
    rename: in a container /etc/hosts is often a bind mount), keeping every other line byte for
    byte, and the file's final newline (or its absence) as it was;
  - each line we add ends with "# smrotate-test owner=<pid>:<start time> id=<uniq>", and
    remove() takes out exactly the lines of its id;
  - removal runs in `finally` (the context manager), at exit (atexit) and on SIGTERM (turned into
    SystemExit); a SIGKILLed test (ctest's timeout) cannot clean up, so every edit also drops
    marked lines whose owner process no longer exists (pid and start time, so a reused pid does
    not keep them).

Needs root (or write access to /etc/hosts); a test that cannot edit it fails, never skips.
"""
import atexit
import fcntl
import os
import random
import signal
import socket
import sys
import threading
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tcpproxy  # noqa: E402

HOSTS_FILE = os.environ.get("SMR_HOSTS_FILE", "/etc/hosts")
LOCK_FILE = os.environ.get("SMR_HOSTS_LOCK") or (
    "/run/lock/smrotate-etc-hosts.lock" if os.path.isdir("/run/lock")
    else "/tmp/smrotate-etc-hosts.lock")
MARK = "# smrotate-test"
DOMAIN = "smrtest.internal"


def _start_time(pid):
    """The process's start time in clock ticks since boot (/proc/<pid>/stat field 22), or None
    when it does not exist."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            stat = f.read().decode("ascii", "replace")
    except (FileNotFoundError, ProcessLookupError):
        return None
    except OSError:
        return "?"
    return stat[stat.rfind(")") + 2:].split()[19]


def _owner_alive(owner):
    pid, _, started = owner.partition(":")
    try:
        return _start_time(int(pid)) == started
    except ValueError:
        return True  # not ours to judge


def _marked(line):
    """The (owner, id) of a line we added, or None."""
    i = line.find(MARK + " ")
    if i < 0:
        return None
    fields = dict(f.split("=", 1) for f in line[i + len(MARK) + 1:].split() if "=" in f)
    if "owner" not in fields or "id" not in fields:
        return None
    return fields["owner"], fields["id"]


def _edit(change):
    """Runs change(lines) -> lines on /etc/hosts under the lock, in place. Lines are split on
    "\\n" so that the last element is "" exactly when the file ends with a newline."""
    fd = os.open(LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with open(HOSTS_FILE, "r+b") as f:
            text = f.read().decode("utf-8", "surrogateescape")
            lines = text.split("\n")
            lines = [l for l in lines if not ((m := _marked(l)) and not _owner_alive(m[0]))]
            new = "\n".join(change(lines))
            if new != text:
                f.seek(0)
                f.write(new.encode("utf-8", "surrogateescape"))
                f.truncate()
                f.flush()
                os.fsync(f.fileno())
    finally:
        os.close(fd)  # releases the lock


class Hosts:
    """/etc/hosts lines of one test. add() as often as needed; remove() (or leaving the `with`
    block, or the process exiting) takes exactly these lines out again."""

    _sigterm_installed = False

    def __init__(self):
        self.id = uuid.uuid4().hex[:12]
        self.owner = "%d:%s" % (os.getpid(), _start_time(os.getpid()))
        self.names = {}
        self.registered = False

    def add(self, address, name):
        tag = "%s owner=%s id=%s" % (MARK, self.owner, self.id)
        line = "%s %s %s" % (address, name, tag)

        def change(lines):
            if lines and lines[-1] == "":
                return lines[:-1] + [line, ""]
            return lines + [line]

        if not self.registered:
            atexit.register(self.remove)
            self._install_sigterm()
            self.registered = True
        _edit(change)
        self.names[name] = address

    def remove(self):
        if not self.names:
            return
        _edit(lambda lines: [l for l in lines if (_marked(l) or (None, None))[1] != self.id])
        self.names = {}

    @classmethod
    def _install_sigterm(cls):
        # SIGTERM (ctest's kill of a process group, a CI runner's cancel) unwinds like an
        # exception, so `finally` blocks and atexit run.
        if cls._sigterm_installed or threading.current_thread() is not threading.main_thread():
            return
        if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
            signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
        cls._sigterm_installed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
        return False


class Alias:
    """A loopback address of its own (127.x.y.z, x >= 1: 127.0.0.1 and .2 belong to the
    fixtures) listening on `port` and forwarding every connection, byte for byte (TLS passes
    through), to target. connections counts what arrived."""

    def __init__(self, target, port):
        self.target = target
        self.connections = 0
        self.lock = threading.Lock()
        self.sockets = []
        rng = random.SystemRandom()
        for _ in range(50):
            address = "127.%d.%d.%d" % (rng.randint(1, 254), rng.randint(0, 255),
                                        rng.randint(1, 254))
            s = socket.socket()
            try:
                s.bind((address, port))
            except OSError:
                s.close()
                continue
            s.listen(64)
            self.address, self.listener = address, s
            break
        else:
            raise RuntimeError("no free loopback address for port %d" % port)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
            upstream = tcpproxy.splice(client, self.target)
            if upstream is not None:
                with self.lock:
                    self.sockets += [client, upstream]

    def count(self):
        with self.lock:
            return self.connections

    def close(self):
        try:
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()
        with self.lock:
            for s in self.sockets:
                try:
                    s.close()
                except OSError:
                    pass
            self.sockets = []


class Names:
    """One test's host names, <first>.<second>.smrtest.internal with <second> unique to the test
    (the "account hash" label of a real RDS endpoint), each on its own Alias of the database
    server (db.host, db.port), reachable on db.port as RDS endpoints are on theirs."""

    def __init__(self, db):
        self.db = db
        self.uniq = "t" + uuid.uuid4().hex[:10]
        self.hosts = Hosts()
        self.aliases = {}

    def host(self, first, second=None):
        """A name in this test's namespace, made resolvable and counted."""
        name = "%s.%s.%s" % (first, second or self.uniq, DOMAIN)
        if name not in self.aliases:
            alias = Alias((self.db.host, self.db.port), self.db.port)
            self.aliases[name] = alias
            self.hosts.add(alias.address, name)
        return name

    def cluster(self, cluster_id):
        """An Aurora cluster's writer endpoint name: <id>.cluster-<uniq>.smrtest.internal."""
        return self.host(cluster_id, "cluster-" + self.uniq)

    def reader(self, cluster_id):
        """Its reader endpoint: <id>.cluster-ro-<uniq>.smrtest.internal."""
        return self.host(cluster_id, "cluster-ro-" + self.uniq)

    def logins(self):
        """{name: connections so far} for every name."""
        return {name: alias.count() for name, alias in self.aliases.items()}

    def close(self):
        try:
            self.hosts.remove()
        finally:
            for alias in self.aliases.values():
                alias.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
