"""A real webhook receiver on 127.0.0.1 for the webhook tests, and a tarpit.

The receiver verifies every request with the ``standardwebhooks`` package (a client we did not
write), can be down (answering 503, or not listening at all: connection refused) and recover,
and records what it received in order. The tarpit accepts a connection and then answers one byte
at a time for far longer than any test, the way a slow or hostile endpoint holds a sender.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook


class Receiver:
    def __init__(self) -> None:
        self.secrets: list[str] = []
        self.mode = "up"  # "up", "503"
        self.received: list[dict] = []  # every request that verified and got a 2xx
        self.rejected: list[str] = []  # requests that failed verification
        self.hits = 0
        # Called on each request; what it returns is kept in ``witnessed`` (the state of another
        # server at the moment this one was reached).
        self.witness = None
        self.witnessed: list = []
        self._server: ThreadingHTTPServer | None = None
        self.port = 0
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                receiver.hits += 1
                if receiver.witness is not None:
                    receiver.witnessed.append(receiver.witness())
                if receiver.mode == "503":
                    self._answer(503, b"down for maintenance")
                    return
                headers = {k: v for k, v in self.headers.items()}
                for secret in receiver.secrets:
                    try:
                        Webhook(secret).verify(body, headers)
                        break
                    except Exception:  # noqa: BLE001 - try the next secret
                        continue
                else:
                    receiver.rejected.append(headers.get("webhook-id", "?"))
                    self._answer(400, b"bad signature")
                    return
                receiver.received.append({"id": headers["webhook-id"], "body": json.loads(body), "headers": headers})
                self._answer(200, b"ok")

            def _answer(self, status: int, text: bytes) -> None:
                self.send_response(status)
                self.send_header("content-length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Not listening at all: senders get 'connection refused'."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def ids(self) -> list[str]:
        return [r["id"] for r in self.received]


class Tarpit:
    """Accepts connections on 127.0.0.1, reads the request, then sends a status line and a header
    one byte every ``interval`` seconds for ``hold`` seconds (the headers never end). Each
    connection's end is recorded in ``endings``: "client_gone" when the sender hung up first,
    "held" when the tarpit held it to the end."""

    def __init__(self, hold: float = 60.0, interval: float = 0.05) -> None:
        self.hold, self.interval = hold, interval
        self.accepted = 0
        self.holding = 0
        self.endings: list[str] = []
        self._lock = threading.Lock()
        self._ended = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self.port = self._sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _addr = self._sock.accept()
            except OSError:
                return
            with self._lock:
                self.accepted += 1
                self.holding += 1
                self._ended.notify_all()
            threading.Thread(target=self._hold, args=(conn,), daemon=True).start()

    def _hold(self, conn: socket.socket) -> None:
        answer = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"z" * 100_000
        ending = "held"
        end = time.monotonic() + self.hold
        try:
            conn.settimeout(1)
            try:
                conn.recv(65536)  # the request (or its start)
            except OSError:
                pass
            for byte in answer:
                if self._stop.is_set() or time.monotonic() > end:
                    break
                try:
                    if conn.recv(1, socket.MSG_DONTWAIT | socket.MSG_PEEK) == b"":
                        ending = "client_gone"
                        break
                except BlockingIOError:
                    pass
                except OSError:
                    ending = "client_gone"
                    break
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    ending = "client_gone"
                    break
                time.sleep(self.interval)
        finally:
            conn.close()
            with self._lock:
                self.holding -= 1
                self.endings.append(ending)
                self._ended.notify_all()

    def held_now(self, wait: float = 10) -> int:
        """How many connections the tarpit holds, once it holds one (or after ``wait``)."""
        with self._lock:
            self._ended.wait_for(lambda: self.holding > 0, wait)
            return self.holding

    def wait_for_endings(self, count: int, timeout: float = 30) -> list[str]:
        """The endings once ``count`` connections ended (or what there is after ``timeout``)."""
        with self._lock:
            self._ended.wait_for(lambda: len(self.endings) >= count, timeout)
            return list(self.endings)

    def stop(self) -> None:
        self._stop.set()
        self._sock.close()


class Resolver:
    """Stands in for DNS (``assina.webhooks.egress.resolve``): names map to the addresses a test
    gives; other names resolve as the system does."""

    def __init__(self, real) -> None:
        self.real = real
        self.names: dict[str, list[str]] = {}

    def __call__(self, host: str, port: int):
        import ipaddress

        if host in self.names:
            return [ipaddress.ip_address(a) for a in self.names[host]]
        return self.real(host, port)
