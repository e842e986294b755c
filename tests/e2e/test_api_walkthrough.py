"""README's API section, step by step, as a new developer runs it.

A new sandbox database (``assina migrate``, the clock at real time), ``assina serve`` on
127.0.0.1, a write key from ``assina apikey create --json``, then the README's requests in its
order: a plan, the metric with a metered price (before anyone subscribes), a customer with a
test card, a webhook endpoint pointing at a real HTTP receiver on 127.0.0.1, a subscription
(first invoice paid), a change preview, a usage event. The embedded worker then POSTs the events
to the receiver, and each is verified with the ``standardwebhooks`` package, as the README shows.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from conftest import ASSINA
from email_support import free_port


class Receiver:
    """The developer's webhook endpoint: records what it is sent, answers 204."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append({"path": self.path, "headers": dict(self.headers), "body": body.decode()})
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fresh(scratch_assina, tmp_path):
    """A new database and nothing else: the README starts with ``assina migrate``."""
    with scratch_assina(tmp_path, migrate=False) as cli:
        yield cli


def test_the_readme_api_walkthrough_works_as_written(fresh):
    assert fresh.ok("migrate") == {"migrated": True}
    port = free_port()
    # The receiver listens on 127.0.0.1: a developer's setting (webhooks reach public addresses only).
    server = subprocess.Popen([str(ASSINA), "serve", "--port", str(port)], cwd=fresh.cwd,
                              env={**fresh.env, "ASSINA_WEBHOOK_ALLOW_PRIVATE": "1"},
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    api = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                httpx.get(f"{api}/openapi.json", timeout=2)
                break
            except httpx.HTTPError:
                assert server.poll() is None and time.monotonic() < deadline, server.stderr.read().decode()
                time.sleep(0.2)
        with Receiver() as receiver:
            _walk(fresh, api, receiver)
    finally:
        server.terminate()
        server.wait(timeout=30)


def _walk(cli, api: str, receiver: Receiver) -> None:
    key = cli.run("apikey", "create", "--scope", "write", "--name", "shop", "--json", json_output=False)
    assert key.returncode == 0, str(key)
    secret = json.loads(key.stdout)["secret"]
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}

    def post(path: str, idempotency_key: str, body: dict) -> dict:
        response = httpx.post(f"{api}{path}", headers={**headers, "Idempotency-Key": idempotency_key},
                              content=json.dumps(body), timeout=30)
        assert response.status_code in (200, 201), response.text
        return response.json()

    plan = post("/plans", "plan-pro", {"code": "pro", "name": "Pro", "amount": 4990, "currency": "BRL", "interval": "month"})
    assert plan["id"] == "pro"
    # The README's two commands, as written (plain output, not --json).
    for command in (("metric", "create", "--code", "api_calls", "--name", "API calls"),
                    ("plan", "meter", "--plan", "pro", "--metric", "api_calls", "--unit-amount", "0.02")):
        result = cli.run(*command, json_output=False)
        assert result.returncode == 0 and "Traceback" not in result.stderr, str(result)
    customer = post("/customers", "signup-ana",
                    {"email": "ana@example.com", "name": "Ana", "payment_method_token": "4242424242424242"})
    assert customer["id"] == "cus_1" and customer["default_payment_method"] == "pm_1"
    endpoint = post("/webhook_endpoints", "hook-1", {"url": receiver.url, "event_types": ["subscription.*", "invoice.*"]})
    assert endpoint["id"] == "we_1" and endpoint["secret"].startswith("whsec_")
    subscription = post("/subscriptions", "sub-ana-pro", {"customer": "cus_1", "plan": "pro"})
    assert subscription["id"] == "sub_1" and subscription["status"] == "active"
    preview = httpx.get(f"{api}/subscriptions/sub_1/change_preview", params={"quantity": 3}, headers=headers)
    assert preview.status_code == 200 and preview.json()["object"] == "change_preview", preview.text
    timestamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")  # the README's $(date -u +%FT%TZ)
    receipt = post("/usage", "use-1", {"id": "u-0001", "customer": "cus_1", "metric": "api_calls", "value": 3,
                                       "timestamp": timestamp})
    assert receipt == {"object": "usage_event_receipt", "id": "u-0001", "duplicate": False}

    # The embedded worker sends the events; each arrives signed and verifies with the secret.
    wanted = {"subscription.created", "invoice.paid"}
    deadline = time.monotonic() + 90
    events: dict[str, dict] = {}
    while not wanted <= set(events) and time.monotonic() < deadline:
        for delivery in list(receiver.received):
            event = Webhook(endpoint["secret"]).verify(delivery["body"], delivery["headers"])
            assert delivery["path"] == "/hooks" and delivery["headers"]["webhook-id"] == event["id"]
            events[event["type"]] = event
        time.sleep(0.3)
    assert wanted <= set(events), f"received only {sorted(events)}"
    assert events["invoice.paid"]["data"]["customer"] == "cus_1" and events["invoice.paid"]["data"]["total"] == 4990
    forged = receiver.received[0]
    with pytest.raises(WebhookVerificationError):
        Webhook(endpoint["secret"]).verify(forged["body"].replace("cus_1", "cus_2"), forged["headers"])
