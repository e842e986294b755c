"""Benchmark: the customer portal's home (``GET /portal/``) through the production server, against a peer.

Creates a fresh database (a temporary SQLite file, or with --database a PostgreSQL database that
is dropped and recreated), fills it through the CLI and the services: a plan with an add-on and
``--customers`` customers (default 200) subscribed three years ago, then ``assina clock advance``
bills them month by month, so each has 36 monthly invoices (and their receipts, events...). A
portal session per customer is written straight into the database (a ``PortalLink`` and
``PortalSession`` row and a Django session naming it), as opening a link would leave them; the
requests carry their cookies. Starts gunicorn with the project's settings
(``gunicorn -c python:assina.api.gunicorn_conf assina.wsgi``) on 127.0.0.1 and loads it from
another process: keep-alive connections, closed loop, each request a random customer's home
(the client of ``bench/api_reads.py``).

The peer, measured in the same run with the same gunicorn settings and client: a WSGI app that
answers the same bytes (one customer's home as served) without Django (``portal:peer_app``).
A second peer (``--django-peer``, on by default): a Django view that answers those bytes with no
database work of its own, through the project's settings and whole middleware (the mode check,
sessions, CSRF, CSP...) in the same gunicorn: the most a Django page can do here.

Prints JSON: requests/s, latency p50/p90/p99 (ms), errors, the server's CPU per request, the
load average before and after. Nothing changes during the run, so after the warm-up every home
is served from the account part its worker keeps (``assina.portal.home``); a home made afresh
costs about ten times more CPU (docs/performance.md). Target (issue 16): >= 500 requests/s with p99 < 50 ms on SQLite.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from api_reads import measure, run, start_server, stop_server
from fresh_database import recreate_postgres

ROOT = Path(__file__).resolve().parents[1]
PEER_BODY_ENV = "ASSINA_BENCH_PEER_BODY"
START = "2027-01-10T10:00:00Z"
NOW = "2029-12-15T10:00:00Z"  # 35 months later: the 36th monthly invoice is out


def peer_app(environ, start_response):
    """The peer: a customer's home page's bytes without Django, database or middleware."""
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(_PEER_BODY)))])
    return [_PEER_BODY]


_PEER_BODY = os.environ.get(PEER_BODY_ENV, "").encode()
DJANGO_PEER_ENV = "ASSINA_BENCH_DJANGO_PEER"


def _hello(request):
    from django.http import HttpResponse

    return HttpResponse(_PEER_BODY, content_type="text/html; charset=utf-8")


def _django_peer():
    """The project's Django (settings, middleware, database) with one URL, ``/``, answering the
    peer's bytes: set up at import, so that gunicorn's worker hook keeps its database connection."""
    import django
    from django.conf import settings

    django.setup()
    settings.ROOT_URLCONF = __name__
    from assina.wsgi import application

    return application


urlpatterns = []
if os.environ.get(DJANGO_PEER_ENV):
    from django.urls import path

    urlpatterns = [path("portal/", _hello), path("", _hello)]
    django_peer_app = _django_peer()


def _script(env: dict, code: str) -> str:
    proc = subprocess.run([sys.executable, "-c", "import django; django.setup()\n" + code],
                          env={**env, "DJANGO_SETTINGS_MODULE": "assina.settings"}, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    return proc.stdout.strip().splitlines()[-1]


def prepare(env: dict, customers: int) -> tuple[list[str], dict]:
    """The customers' session cookies, and what the database holds."""
    run(env, "migrate")
    run(env, "clock", "advance", "--to", START)
    run(env, "plan", "create", "--code", "pro", "--amount", "49.90", "--interval", "month", "--name", "Pro")
    run(env, "plan", "create", "--code", "seats", "--amount", "9.90", "--interval", "month", "--addon",
        "--pricing-model", "per_unit", "--name", "Extra seats")
    _script(env, f"""
from assina.time import now
from assina.payments.new_customer import create_customer
from assina.subscriptions.services import create_subscription
for i in range({customers}):
    c = create_customer(email=f"portal{{i}}@example.com", name=f"Cliente {{i}}", at=now(), card="4242424242424242",
                        locale="pt-BR" if i % 2 else "en")
    create_subscription(customer=c, plan_code="pro", addons=[("seats", 1 + i % 5)])
print("ok")
""")
    run(env, "clock", "advance", "--to", NOW)
    cookies = json.loads(_script(env, """
import json, secrets
from datetime import timedelta
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone
from assina.customers.models import Customer
from assina.portal.models import PortalLink, PortalSession
from assina.portal.views import SESSION_KEY
at = timezone.now()
cookies = []
for customer in Customer.objects.order_by("pk"):
    link = PortalLink.objects.create(customer=customer, nonce=secrets.token_hex(16), origin="api", created_at=at,
                                     expires_at=at + timedelta(hours=24), used_at=at)
    session = PortalSession.objects.create(customer=customer, link=link, key=secrets.token_urlsafe(32),
                                           created_at=at, last_seen_at=at)
    store = SessionStore()
    store[SESSION_KEY] = session.key
    store.create()
    cookies.append(store.session_key)
print(json.dumps(cookies))
"""))
    held = json.loads(_script(env, """
import json
from assina.invoices.models import Invoice
from assina.customers.models import Customer
from django.db.models import Count
per = list(Invoice.objects.exclude(status="draft").values("customer").annotate(n=Count("pk")).values_list("n", flat=True))
print(json.dumps({"customers": Customer.objects.count(), "invoices": sum(per), "invoices_per_customer_min": min(per),
                  "invoices_per_customer_max": max(per)}))
"""))
    return cookies, held


def request_bytes(port: int, cookie: str) -> bytes:
    return (f"GET /portal/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: sessionid={cookie}\r\n"
            f"Accept: text/html\r\nAccept-Language: en\r\n\r\n").encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="a PostgreSQL URL to (re)create; default: a temporary SQLite file")
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=15)
    # Long enough for each gunicorn worker to have made every customer's account part once (the
    # home keeps it until something it shows changes: assina.portal.home): the steady state.
    parser.add_argument("--warmup", type=float, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--client-processes", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-peer", action="store_true", help="skip the peers (the raw gunicorn and Django limits)")
    parser.add_argument("--port", type=int, default=18743)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="assina-portal-bench-"))
    url = recreate_postgres(args.database) if args.database else f"sqlite:///{tmp / 'bench.sqlite3'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASSINA_", "DJANGO_"))}
    env.update(ASSINA_DATABASE_URL=url, ASSINA_MODE="sandbox", PYTHONPATH=str(ROOT / "src"))
    try:
        cookies, held = prepare(env, args.customers)
        requests = [request_bytes(args.port, cookie) for cookie in cookies]
        server = start_server(env, args.port, args.workers, args.threads, "assina.wsgi", "/portal/login")
        try:
            import httpx

            answer = httpx.get(f"http://127.0.0.1:{args.port}/portal/", cookies={"sessionid": cookies[0]},
                               headers={"Accept-Language": "en"})
            if answer.status_code != 200:
                raise SystemExit(f"the portal's home answered {answer.status_code}")
            sample = answer.content
            result = measure(server, args.port, requests, args, args.database)
        finally:
            stop_server(server)
        peer = None
        if not args.no_peer:
            server = start_server({**env, PEER_BODY_ENV: sample.decode()}, args.port, args.workers, args.threads,
                                  "portal:peer_app", "/")
            try:
                peer = measure(server, args.port, requests, args)
            finally:
                stop_server(server)
            server = start_server({**env, PEER_BODY_ENV: sample.decode(), DJANGO_PEER_ENV: "1"}, args.port, args.workers,
                                  args.threads, "portal:django_peer_app", "/")
            try:
                django_peer = measure(server, args.port, requests, args)
            finally:
                stop_server(server)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report = {"benchmark": "portal", "endpoint": "GET /portal/ (a random customer's home, signed in)",
              "engine": "postgresql" if args.database else "sqlite",
              "server": f"gunicorn gthread, {args.workers} workers x {args.threads} threads",
              "client": f"{args.client_processes} process(es), {args.connections} keep-alive connections, closed loop",
              "seconds": args.seconds, **held, "response_bytes": len(sample), **result}
    if peer is not None:
        report["peer"] = {"what": "the same bytes from a bare WSGI app in the same gunicorn (no Django)", **peer}
        report["share_of_peer_requests_per_second"] = round(result["requests_per_second"] / peer["requests_per_second"], 3)
        report["django_peer"] = {"what": "the same bytes from a Django view doing nothing, through the project's settings "
                                         "and middleware in the same gunicorn", **django_peer}
        report["share_of_django_peer_requests_per_second"] = round(
            result["requests_per_second"] / django_peer["requests_per_second"], 3)
    report.update(target={"requests_per_second": 500, "p99_ms": 50},
                  meets_target=result["requests_per_second"] >= 500 and result["latency_ms"]["p99"] < 50,
                  cpus=os.cpu_count())
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
