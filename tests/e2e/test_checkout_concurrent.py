"""Two POSTs of one checkout form at the same moment, to gunicorn (two worker processes, four
threads each) over loopback, on SQLite and on PostgreSQL (issue 19): both answer with the same
thank-you page, and the database holds one customer, one subscription, one invoice and one
payment attempt."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

GUNICORN = Path(sys.executable).with_name("gunicorn")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(assina):
    assina.ok("plan", "create", "--code", "pro", "--name", "Pro", "--amount", "49.90", "--interval", "month")
    assina.ok("pricing", "publish", "pro")
    port = _free_port()
    env = {**assina.env, "ASSINA_API_BIND": f"127.0.0.1:{port}", "ASSINA_API_WORKERS": "2", "ASSINA_API_THREADS": "4",
           "PYTHONPATH": str(Path(__file__).parents[2] / "src")}
    proc = subprocess.Popen([str(GUNICORN), "-c", "python:assina.api.gunicorn_conf", "assina.wsgi"], env=env,
                            cwd=assina.cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90  # two workers importing Django on a loaded 2-core machine
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            httpx.get(f"{base}/pricing/", timeout=2)
            break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("gunicorn did not start: " + proc.stderr.read().decode())
    yield base
    proc.terminate()
    proc.wait(timeout=30)


def _rows(assina, table: str) -> int:
    return len(assina.db.snapshot()[table])


def test_two_posts_of_one_form_at_once_make_one_subscription_and_one_charge(assina, server):
    client = httpx.Client(base_url=server, timeout=60)
    page = client.get("/checkout/pro/").text
    form = {"csrfmiddlewaretoken": re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1),
            "token": re.search(r'name="token" value="([^"]+)"', page).group(1), "lang": "en",
            "email": "ana@example.com", "name": "Ana Souza", "tax_id": "529.982.247-25",
            "number": "4242424242424242", "exp_month": "12", "exp_year": "2031"}
    answers: list = []
    start = threading.Barrier(2)

    def post():
        with httpx.Client(base_url=server, cookies=client.cookies, timeout=60) as own:
            start.wait()
            answers.append(own.post("/checkout/pro/", data=form))

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a.status_code for a in answers] == [303, 303], [a.text[-500:] for a in answers]
    assert answers[0].headers["location"] == answers[1].headers["location"]
    assert "Thank you!" in client.get(answers[0].headers["location"]).text
    tables = assina.db.snapshot()
    counted = {t: len(tables[t]) for t in ("customers_customer", "subscriptions_subscription", "invoices_invoice",
                                          "payments_paymentattempt", "selling_checkoutsession")}
    assert counted == {"customers_customer": 1, "subscriptions_subscription": 1, "invoices_invoice": 1,
                       "payments_paymentattempt": 1, "selling_checkoutsession": 1}
