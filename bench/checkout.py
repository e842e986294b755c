"""Benchmark: completed checkouts per second through the production server, and the peer: the same
subscription made through the API, in the same run.

Creates a fresh database (a temporary SQLite file, or with --database a PostgreSQL database that
is dropped and recreated): a public monthly plan Pro (R$ 49,90) with a yearly twin, an add-on and
a promotion code (20 % off once), through the CLI. Starts gunicorn with the project's settings
(``gunicorn -c python:assina.api.gunicorn_conf assina.wsgi``) on 127.0.0.1 with the sandbox
gateway, and runs ``--clients`` client processes (closed loop, keep-alive) for ``--seconds``.

A checkout is what a visitor's browser does: GET /checkout/pro/ (the page, its CSRF cookie and
form token), then POST the form (e-mail, name, CPF, the sandbox test card, the add-on, the
promotion code) and get the 303 to the thank-you page. Each completes a new customer with a card,
a subscription with the add-on and the discount, its first invoice and its charge. Every visitor
comes from an address of its own (``X-Forwarded-For`` behind ``ASSINA_TRUSTED_PROXIES=1``), as
on the web, so the per-address limit of the checkout form does not stop the load.

The peer: the same customer, card and subscription through the API: POST /api/v1/customers
(with the test card) then POST /api/v1/subscriptions (plan, add-on, promotion code), API rate
limit off, same server and clients.

Afterwards the database is checked: one customer, one subscription, one paid invoice and one
payment attempt per completed checkout or API pair, and the invoice total 4792 (5990 less 20 %).
Prints JSON, with the CPU each completed purchase cost the server's workers and the client
processes (from /proc and the clients' own process time). Target (issue 19): >= 100 completed
checkouts/s on SQLite.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api_reads import run, start_server, stop_server  # noqa: E402
from fresh_database import recreate_postgres  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')
TOKEN = re.compile(rb'name="token" value="([^"]+)"')


def prepare(env: dict) -> str:
    run(env, "migrate")
    run(env, "clock", "advance", "--to", "2027-01-31T10:00:00Z")
    run(env, "plan", "create", "--code", "pro", "--amount", "49.90", "--interval", "month", "--name", "Pro")
    run(env, "plan", "create", "--code", "pro-annual", "--amount", "499.00", "--interval", "year", "--name", "Pro annual")
    run(env, "plan", "create", "--code", "seats", "--amount", "10.00", "--interval", "month", "--addon",
        "--name", "Extra seats")
    run(env, "pricing", "publish", "pro", "pro-annual")
    run(env, "coupon", "create", "--code", "welcome20", "--percent-off", "20", "--duration", "once",
        "--promo-code", "WELCOME")
    return run(env, "apikey", "create", "--scope", "write", "--name", "bench")["secret"]


def _checkout_client(port: int, seconds: float, number: int, keep: bool, out) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    cookie = ""
    done, errors, latencies = 0, 0, []
    deadline = time.monotonic() + seconds
    i = 0
    while time.monotonic() < deadline:
        i += 1
        visitor = f"10.{number}.{(i >> 8) & 255}.{i & 255}"
        started = time.perf_counter()
        if not keep:  # a new visitor: a browser of its own, its own connection (and no cookie yet)
            conn.close()
            cookie = ""
        try:
            headers = {"X-Forwarded-For": visitor, "Accept-Language": "pt-BR"}
            if cookie:
                headers["Cookie"] = cookie
            conn.request("GET", "/checkout/pro/", headers=headers)
            page = conn.getresponse()
            body = page.read()
            for name, value in page.getheaders():
                if name.lower() == "set-cookie" and value.startswith("csrftoken="):
                    cookie = value.split(";", 1)[0]
            form = urlencode({"csrfmiddlewaretoken": CSRF.search(body).group(1).decode(),
                              "token": TOKEN.search(body).group(1).decode(), "lang": "pt-br",
                              "email": f"c{number}-{i}@example.com", "name": "Ana Souza", "tax_id": "529.982.247-25",
                              "number": "4242424242424242", "exp_month": "12", "exp_year": "2031",
                              "addons": "seats", "promotion_code": "WELCOME"})
            conn.request("POST", "/checkout/pro/", body=form, headers={
                **headers, "Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded",
                "Origin": f"http://127.0.0.1:{port}"})
            answer = conn.getresponse()
            answer.read()
            if answer.status == 303 and answer.getheader("Location", "").startswith("/checkout/s/cs_"):
                done += 1
                latencies.append(time.perf_counter() - started)
            else:
                errors += 1
        except (OSError, http.client.HTTPException, AttributeError):
            errors += 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    out.put((done, errors, latencies, time.process_time()))


def _api_client(port: int, seconds: float, number: int, keep: bool, secret: str, out) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
    done, errors, latencies = 0, 0, []
    deadline = time.monotonic() + seconds
    i = 0
    while time.monotonic() < deadline:
        i += 1
        started = time.perf_counter()
        if not keep:  # the same connection policy as the checkout's clients: one per purchase
            conn.close()
        try:
            conn.request("POST", "/api/v1/customers", body=json.dumps({
                "email": f"a{number}-{i}@example.com", "name": "Ana Souza", "locale": "pt-BR", "tax_id": "529.982.247-25",
                "payment_method_token": "4242424242424242"}), headers=headers)
            made = conn.getresponse()
            customer = json.loads(made.read())
            if made.status != 201:
                errors += 1
                continue
            conn.request("POST", "/api/v1/subscriptions", body=json.dumps({
                "customer": customer["id"], "plan": "pro", "addons": [{"plan": "seats"}], "coupon": "WELCOME"}),
                headers=headers)
            answer = conn.getresponse()
            answer.read()
            if answer.status == 201:
                done += 1
                latencies.append(time.perf_counter() - started)
            else:
                errors += 1
        except (OSError, http.client.HTTPException):
            errors += 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    out.put((done, errors, latencies, time.process_time()))


def _server_cpu(server) -> float:
    """CPU seconds used so far by the gunicorn workers of ``server`` (Linux /proc)."""
    try:
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    except OSError:
        return 0.0
    total = 0
    for pid in children:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def _load(target, args, extra: tuple, server=None) -> dict:
    out = multiprocessing.Queue()
    load_before = os.getloadavg()[0]
    server_before = _server_cpu(server) if server else 0.0
    procs = [multiprocessing.Process(target=target, args=(args.port, args.seconds, n, args.keep_alive, *extra, out))
             for n in range(args.clients)]
    started = time.perf_counter()
    for proc in procs:
        proc.start()
    results = [out.get() for _ in procs]
    elapsed = time.perf_counter() - started
    for proc in procs:
        proc.join()
    server_cpu = (_server_cpu(server) - server_before) if server else 0.0
    done = sum(r[0] for r in results)
    latencies = sorted(x for r in results for x in r[2])
    client_cpu = sum(r[3] for r in results)

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 1) if latencies else 0.0

    return {"completed": done, "errors": sum(r[1] for r in results), "seconds": round(elapsed, 2),
            "per_second": round(done / elapsed, 1),
            "latency_ms": {"p50": pct(0.5), "p90": pct(0.9), "p99": pct(0.99)},
            # CPU per completed purchase: the server's workers (Python, SQLite) and the clients
            "cpu_ms_per_purchase": {"server": round(server_cpu * 1000 / done, 1) if done else None,
                                    "clients": round(client_cpu * 1000 / done, 1) if done else None},
            "load_before": round(load_before, 2), "load_after": round(os.getloadavg()[0], 2)}


CHECK = """
import json
from django.db.models import Count
from assina.customers.models import Customer
from assina.invoices.models import Invoice
from assina.payments.models import PaymentAttempt
from assina.subscriptions.models import Subscription
from assina.selling.models import CheckoutSession
print(json.dumps({"customers": Customer.objects.count(), "subscriptions": Subscription.objects.count(),
                  "subscriptions_active": Subscription.objects.filter(status="active").count(),
                  "invoices_paid_4792": Invoice.objects.filter(total=4792, status="paid").count(),
                  "invoices": Invoice.objects.count(), "payment_attempts": PaymentAttempt.objects.count(),
                  "checkouts_complete": CheckoutSession.objects.filter(status="complete").count()}))
"""


def check(env: dict) -> dict:
    import subprocess

    proc = subprocess.run([sys.executable, "-c", "import django; django.setup()\n" + CHECK],
                          env={**env, "DJANGO_SETTINGS_MODULE": "assina.settings"}, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="a PostgreSQL URL to (re)create; default: a temporary SQLite file")
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--clients", type=int, default=8, help="client processes, one connection each")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--port", type=int, default=18753)
    parser.add_argument("--keep-alive", action="store_true",
                        help="each client keeps one connection for the whole run (default: one per visitor)")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="assina-checkout-bench-"))
    url = recreate_postgres(args.database) if args.database else f"sqlite:///{tmp / 'bench.sqlite3'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASSINA_", "DJANGO_"))}
    env.update(ASSINA_DATABASE_URL=url, ASSINA_MODE="sandbox", PYTHONPATH=str(ROOT / "src"), ASSINA_TRUSTED_PROXIES="1",
               ASSINA_API_RATE_LIMIT="0", ASSINA_GATEWAY="sandbox")
    try:
        secret = prepare(env)
        server = start_server(env, args.port, args.workers, args.threads, "assina.wsgi", "/pricing/")
        try:
            checkouts = _load(_checkout_client, args, (), server)
            after_checkouts = check(env)
            api = _load(_api_client, args, (secret,), server)
        finally:
            stop_server(server)
        held = check(env)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    made = checkouts["completed"] + api["completed"]
    consistent = (held["customers"] == held["subscriptions"] == held["subscriptions_active"] == held["invoices"]
                  == held["invoices_paid_4792"] == held["payment_attempts"] == made
                  and after_checkouts["checkouts_complete"] == checkouts["completed"])
    report = {"benchmark": "checkout", "engine": "postgresql" if args.database else "sqlite",
              "server": f"gunicorn gthread, {args.workers} workers x {args.threads} threads, sandbox gateway",
              "client": f"{args.clients} processes, closed loop, "
                        + ("one keep-alive connection each for the whole run" if args.keep_alive
                           else "a new keep-alive connection per visitor (its GET and POST) or API pair"),
              "checkout": {"what": "GET /checkout/pro/ then POST the form (new customer, card, add-on, promotion code; "
                                   "subscription, invoice, charge); 303 to the thank-you page", **checkouts},
              "peer_api": {"what": "POST /api/v1/customers (with the test card) then POST /api/v1/subscriptions "
                                   "(add-on, promotion code): the same rows", **api},
              "checkout_share_of_api": round(checkouts["per_second"] / api["per_second"], 3) if api["per_second"] else None,
              "database_after": held, "one_of_each_per_purchase": consistent,
              "target": {"checkouts_per_second": 100}, "meets_target": checkouts["per_second"] >= 100,
              "cpus": os.cpu_count()}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
