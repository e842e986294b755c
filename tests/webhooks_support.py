"""A real webhook receiver on 127.0.0.1 for the webhook tests.

It verifies every request with the ``standardwebhooks`` package (a client we did not write),
can be down (answering 503, or not listening at all: connection refused) and recover, and
records what it received in order.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook


class Receiver:
    def __init__(self) -> None:
        self.secrets: list[str] = []
        self.mode = "up"  # "up", "503"
        self.received: list[dict] = []  # every request that verified and got a 2xx
        self.rejected: list[str] = []  # requests that failed verification
        self.hits = 0
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
