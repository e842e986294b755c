"""localstripe (a Stripe-compatible server that runs offline) for the tests, and what the
customer's browser does with Stripe.js: the card number goes from there to Stripe, never
through Assina, so these helpers talk to localstripe directly, as the browser would."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

LOCALSTRIPE = Path(sys.executable).with_name("localstripe")
SECRET_KEY = "sk_test_assina"
PUBLISHABLE_KEY = "pk_test_assina"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def localstripe_server() -> Iterator[str]:
    """A fresh server (its address), stopped at the end: keys (invoice ids) repeat between test databases."""
    port = free_port()
    process = subprocess.Popen([str(LOCALSTRIPE), "--port", str(port), "--from-scratch"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("localstripe did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def stripe_settings(url: str) -> dict:
    """The settings of an installation on the Stripe gateway, pointed at localstripe."""
    return {"ASSINA_GATEWAY": "stripe", "ASSINA_STRIPE_API_KEY": SECRET_KEY, "ASSINA_STRIPE_API_BASE": url,
            "ASSINA_STRIPE_PUBLISHABLE_KEY": PUBLISHABLE_KEY, "ASSINA_STRIPE_JS_URL": f"{url}/js.stripe.com/v3/"}


def _post(url: str, body: dict, *, secret: bool) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"}
    if secret:
        headers["Authorization"] = f"Bearer {SECRET_KEY}"
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def _card(number: str) -> dict:
    return {"number": number, "exp_month": 12, "exp_year": 2030, "cvc": "123"}


def browser_payment_method(url: str, number: str) -> str:
    """A payment method id as Stripe.js's createPaymentMethod gives one to an API client."""
    status, body = _post(f"{url}/v1/payment_methods", {"type": "card", "card": _card(number)}, secret=True)
    assert status == 200, body
    return body["id"]


def browser_confirm_setup(url: str, client_secret: str, number: str) -> tuple[int, dict]:
    """What Stripe.js's confirmCardSetup sends from the customer's browser (publishable key only)."""
    setup_id = client_secret.split("_secret_")[0]
    return _post(f"{url}/v1/setup_intents/{setup_id}/confirm",
                 {"key": PUBLISHABLE_KEY, "use_stripe_sdk": True, "client_secret": client_secret,
                  "payment_method_data": {"type": "card", "card": _card(number)}}, secret=False)


def listed(url: str, kind: str) -> list[dict]:
    """Every object of one kind at localstripe (``customers``, ``payment_intents``, ``charges``...),
    as the owner's Stripe dashboard would list them."""
    request = urllib.request.Request(f"{url}/v1/{kind}?limit=100", headers={"Authorization": f"Bearer {SECRET_KEY}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["data"]
